"""Memory of a whole OccGen sequence (52 frames) held in the studio's sample cache.

Every frame's view content is loaded as the studio loads it
(:func:`occstudio.builtins.occupancy_view.load_occupancy_content`: RGB frame, coloured
depth, the frame's occupied voxels as a surface mesh) and stored in a
:class:`~occstudio.core.dataset.SampleCache` under one key per frame (the loader also
caches the sequence's voxel file under its own key). Reported:

* ``SampleCache.nbytes``: the cache's own count (``nbytes_of``);
* the same entries measured independently here: numpy arrays by the buffer they keep
  alive (a view keeps its whole base), pyvista meshes by ``actual_memory_size``;
* the process's resident memory growth (``VmRSS`` of ``/proc/self/status``);
* references for the same frames: dense per-frame occupancy grids (one bool per voxel
  of the dataset's grid) and the raw frames (RGB uint8 + 16-bit depth).

The real example with ``--trajectory``; otherwise a synthetic 52-frame trajectory
(480×270 RGB + depth, ~10^4 voxels per frame in OccGen's 400³ grid) written to a
temporary folder.

Run::

    python benchmarks/bench_cache.py [--trajectory .../occgen/trajectory_1] [--json out.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyvista as pv

from occstudio.builtins.occupancy_view import load_occupancy_content
from occstudio.core.dataset import SampleCache, nbytes_of
from occstudio.core.geometry import GridSpec
from occstudio.io.occgen import open_trajectory, read_occ_sequence, write_occ_sequence

MB = 1 << 20
STUDIO_BUDGET = 2 << 30  # the budget of the GUI's cache (occstudio.gui.controller)


# ------------------------------------------------------------ synthetic trajectory


def _visible_voxels(grid: GridSpec, t: int, rng: np.random.Generator) -> np.ndarray:
    """Flat indices of a frame's visible surfaces (camera frame, OpenCV axes: y down,
    z forward): the floor ahead, a wall that comes closer, the faces of two boxes."""
    centres = grid.axis_centers()
    vx = float(grid.voxel_size[0])
    wall = 3.6 - 0.03 * t

    def index(axis: int, values: np.ndarray) -> np.ndarray:
        c = centres[axis]
        return np.clip(np.round((np.asarray(values) - c[0]) / vx).astype(np.int64), 0, len(c) - 1)

    def ix(v: np.ndarray) -> np.ndarray:
        return index(0, v)

    def iy(v: np.ndarray) -> np.ndarray:
        return index(1, v)

    def iz(v: np.ndarray) -> np.ndarray:
        return index(2, v)

    parts = []
    # floor (y = 1.2 m below the camera) inside the 90° frustum, up to the wall
    z = np.arange(0.5, wall, vx)
    zz, xx = np.meshgrid(z, np.arange(-wall, wall, vx), indexing="ij")
    keep = np.abs(xx) < zz * 0.9
    parts.append(np.column_stack([ix(xx[keep]), iy(np.full(keep.sum(), 1.2)), iz(zz[keep])]))
    # wall, the part the camera sees
    half = 0.9 * wall
    x, y = np.meshgrid(np.arange(-half, half, vx), np.arange(-0.6, 1.2, vx), indexing="ij")
    parts.append(np.column_stack([ix(x.ravel()), iy(y.ravel()), iz(np.full(x.size, wall))]))
    # two boxes on the floor: front and top faces
    for bx, bz, size in ((-0.8, 1.6 + 0.2 * np.sin(t / 9), 0.4), (0.6, 2.2, 0.5)):
        bz -= 0.02 * t
        if bz < 0.6:
            continue
        x, y = np.meshgrid(np.arange(bx, bx + size, vx), np.arange(1.2 - size, 1.2, vx), indexing="ij")
        parts.append(np.column_stack([ix(x.ravel()), iy(y.ravel()), iz(np.full(x.size, bz))]))
        x, z = np.meshgrid(np.arange(bx, bx + size, vx), np.arange(bz, bz + size, vx), indexing="ij")
        parts.append(np.column_stack([ix(x.ravel()), iy(np.full(x.size, 1.2 - size)), iz(z.ravel())]))
    ijk = np.concatenate(parts)
    ijk = ijk[rng.random(len(ijk)) < 0.33]  # what the depth rays actually hit
    return np.unique(np.ravel_multi_index(ijk.T, grid.shape))


def write_synthetic_trajectory(root: Path, n_frames: int = 52, width: int = 480, height: int = 270,
                               seed: int = 0) -> Path:
    """Write a small OccGen / LeRobot trajectory folder (the layout ``open_trajectory`` reads).

    Parameters
    ----------
    root
        The trajectory folder to create.
    n_frames
        Number of frames (parquet rows, RGB and depth images, occupancy rows).
    width, height
        Image size.
    seed
        Seed of the image noise and voxel sampling.

    Returns
    -------
    pathlib.Path
        ``root``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    rng = np.random.default_rng(seed)
    grid = GridSpec.occgen()
    videos = root / "videos" / "chunk-000"
    rgb_dir, depth_dir = videos / "observation.images.rgb", videos / "observation.images.depth"
    for folder in (root / "meta", root / "data" / "chunk-000", rgb_dir, depth_dir, videos / "observation.occ.view"):
        folder.mkdir(parents=True, exist_ok=True)
    (root / "meta" / "info.json").write_text(json.dumps(
        {"codebase_version": "v2.1", "fps": 30, "total_frames": n_frames, "total_episodes": 1}))
    fx = width / 2 / np.tan(np.radians(45))
    K = [[fx, 0.0, width / 2], [0.0, fx, height / 2], [0.0, 0.0, 1.0]]
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    poses, frames = [], []
    for t in range(n_frames):
        pose = np.eye(4)
        pose[:3, 3] = (0.0, 0.0, -0.03 * t)  # OpenGL camera axes: looking along -z
        poses.append(pose.tolist())
        shade = (u / width * 180 + v / height * 60 + 4 * t) % 256
        rgb = np.stack([shade, 255 - shade, np.full_like(shade, 90 + t)], axis=-1)
        rgb = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
        Image.fromarray(rgb).save(rgb_dir / f"{t}.jpg", quality=90)
        ray_y = (v - height / 2) / fx
        floor = np.where(ray_y > 1e-3, 1.2 / np.maximum(ray_y, 1e-3), np.inf)
        depth = np.minimum(floor, 3.6 - 0.03 * t)
        Image.fromarray((depth * 10000).astype(np.uint16)).save(depth_dir / f"{t}.png")
        frames.append(_visible_voxels(grid, t, rng))
    write_occ_sequence(videos / "observation.occ.view" / "occ_sequence.npz", frames, grid.n_voxels)
    table = pa.table({
        "index": list(range(n_frames)),
        "frame_index": list(range(n_frames)),
        "observation.camera_intrinsic": [K] * n_frames,
        "action": poses,
    })
    pq.write_table(table, root / "data" / "chunk-000" / "episode_000000.parquet")
    return root


# ---------------------------------------------------------------------- measuring


def rss_bytes() -> int:
    """The resident set size of this process (``VmRSS``), bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure(value: Any, seen: set[int]) -> tuple[int, int]:
    """``(array bytes, mesh bytes)`` held by ``value``; buffers in ``seen`` count once."""
    if isinstance(value, pv.DataSet):
        if id(value) in seen:
            return 0, 0
        seen.add(id(value))
        return 0, int(value.actual_memory_size) * 1024
    if isinstance(value, np.ndarray):
        base = value
        while isinstance(base.base, np.ndarray):
            base = base.base
        if id(base) in seen:
            return 0, 0
        seen.add(id(base))
        return int(base.nbytes), 0
    if isinstance(value, dict):
        value = list(value.values())
    elif hasattr(value, "__dataclass_fields__"):
        value = [getattr(value, name) for name in value.__dataclass_fields__]
    if isinstance(value, (list, tuple)):
        arrays = meshes = 0
        for item in value:
            a, m = measure(item, seen)
            arrays += a
            meshes += m
        return arrays, meshes
    return 0, 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectory", type=Path, help="OccGen trajectory folder (default: synthetic)")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args()

    tmp = None
    if args.trajectory:
        root, source = args.trajectory, str(args.trajectory)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="occstudio-bench-cache-")
        root = write_synthetic_trajectory(Path(tmp.name) / "trajectory")
        source = "synthetic trajectory"
    dataset = open_trajectory(root)
    grid: GridSpec = dataset.meta.get("grid") or GridSpec.occgen()
    n = len(dataset)

    # warm the imports and code paths on one frame, outside the measured cache
    load_occupancy_content(dataset, dataset.samples[0], SampleCache())
    gc.collect()
    rss0 = rss_bytes()
    cache = SampleCache(max_bytes=1 << 40)  # large: nothing is evicted, all frames stay
    t0 = time.perf_counter()
    contents = []
    for sample in dataset.samples:
        content = load_occupancy_content(dataset, sample, cache)
        cache.put(("content", sample.id), content)
        contents.append(content)
    t_load = time.perf_counter() - t0
    gc.collect()
    rss1 = rss_bytes()

    seen: set[int] = set()
    arrays = meshes = 0
    n_voxels = 0
    for content in contents:
        a, m = measure(content, seen)
        arrays += a
        meshes += m
        n_voxels += sum(content.get("voxel_classes", {}).values())
    counted_frames = sum(nbytes_of(content) for content in contents)
    seq_counted = cache.nbytes - counted_frames  # what the loader cached itself: the voxel sequence
    seq_path = dataset.meta.get("paths", {}).get("occ_sequence")
    seq_arrays = measure(read_occ_sequence(seq_path)[0], seen)[0] if seq_path is not None else 0
    measured = arrays + meshes + seq_arrays
    mesh_kib = [int(c["gt_poly"].actual_memory_size) for c in contents if c.get("gt_poly") is not None]

    first = contents[0]
    h, w = first["image"].shape[:2] if first.get("image") is not None else (0, 0)
    dense = n * int(np.prod(grid.shape))  # one bool per voxel per frame
    raw = n * h * w * (3 + 2)  # RGB uint8 + depth uint16
    growth = rss1 - rss0

    print(f"{source}: {n} frames, grid {tuple(grid.shape)}, images {w}x{h}, "
          f"{n_voxels / max(n, 1):,.0f} occupied voxels per frame; loaded in {t_load:.1f} s")
    print(f"SampleCache.nbytes:               {cache.nbytes / MB:9.1f} MB "
          f"(frames {counted_frames / MB:.1f} MB + voxel sequence {seq_counted:,} B)")
    print(f"measured: arrays {arrays / MB:.1f} MB + meshes {meshes / MB:.1f} MB "
          f"({len(mesh_kib)} meshes, {np.mean(mesh_kib) if mesh_kib else 0:.0f} KiB each) "
          f"+ voxel sequence {seq_arrays / MB:.1f} MB = {measured / MB:.1f} MB")
    print(f"cache count / measured:           {cache.nbytes / max(measured, 1):9.2f}")
    print(f"process RSS growth:               {growth / MB:9.1f} MB ({rss0 / MB:.0f} -> {rss1 / MB:.0f} MB)")
    print(f"reference, dense bool grids:      {dense / MB:9.1f} MB ({dense / max(measured, 1):.0f}x measured)")
    print(f"reference, raw RGB + depth:       {raw / MB:9.1f} MB ({raw / max(measured, 1):.2f}x measured)")
    print(f"studio budget {STUDIO_BUDGET / MB:.0f} MB: by its own count the cache holds "
          f"{'all' if cache.nbytes <= STUDIO_BUDGET else 'not all'} frames; "
          f"by the measured size {'all' if measured <= STUDIO_BUDGET else 'not all'}")

    result = {
        "source": source,
        "frames": n,
        "grid": list(grid.shape),
        "image_size": [w, h],
        "voxels_per_frame": n_voxels / max(n, 1),
        "load_s": t_load,
        "cache_nbytes": cache.nbytes,
        "cache_nbytes_frames": counted_frames,
        "cache_nbytes_sequence": seq_counted,
        "measured_array_bytes": arrays,
        "measured_mesh_bytes": meshes,
        "measured_sequence_bytes": seq_arrays,
        "measured_total_bytes": measured,
        "mesh_actual_memory_kib": {"total": sum(mesh_kib), "mean": float(np.mean(mesh_kib)) if mesh_kib else 0.0,
                                   "max": max(mesh_kib, default=0)},
        "rss_before_bytes": rss0,
        "rss_after_bytes": rss1,
        "rss_growth_bytes": growth,
        "dense_bool_grids_bytes": dense,
        "raw_rgb_depth_bytes": raw,
        "studio_budget_bytes": STUDIO_BUDGET,
        "python": sys.version.split()[0],
        "pyvista": pv.__version__,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
