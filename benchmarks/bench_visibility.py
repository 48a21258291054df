"""Camera visibility on a 400³ grid with 480×270 rays: exact DDA vs OccGen's fixed-step
marching, same run.

The reference is OccGen's method (L3ROcc ``check_visual_occ``) written out: unit pixel
rays from the camera origin, in voxel units, sampled at ``t = 0, 1, 2, …`` voxels up to
``int(sqrt(8² + 8² + 4²)) / 0.02 + 1`` = 601 samples; a sample is in the grid when its
floored index is; every in-grid sample up to and including the first occupied one is
visible. Like the original it evaluates every sample of every ray (no early exit); here
it runs in chunks of rays so that it fits in memory (numpy on the CPU; torch on CUDA too
when available, as the original).

occstudio's :func:`~occstudio.core.compute.occupancy.camera_visibility` walks each ray
voxel by voxel (Amanatides–Woo) and stops at the first occupied voxel. The two visible
sets differ where fixed steps skip voxels a ray only clips (and then may see past a
thin obstacle): the benchmark reports both differences.

Scene: the real OccGen example (``--trajectory``: its depth frames fused with their poses
and voxelized in frame 0's camera frame, OccGen's grid) or a synthetic room.

Run::

    python benchmarks/bench_visibility.py [--trajectory .../occgen/trajectory_1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from occstudio.core.compute.backend import have_cuda
from occstudio.core.compute.occupancy import camera_visibility, occupancy_grid
from occstudio.core.geometry import Camera, GridSpec

K_OCCGEN = np.array([[168.0498, 0.0, 240.0], [0.0, 192.79999, 135.0], [0.0, 0.0, 1.0]])
WIDTH, HEIGHT = 480, 270


# ----------------------------------------------------------------- the reference


def occgen_marching(occ: np.ndarray, grid: GridSpec, dirs: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """OccGen's fixed-step visibility (numpy), camera at the world origin."""
    shape = np.asarray(occ.shape)
    occ_flat = occ.reshape(-1)
    visible = np.zeros(occ_flat.size, dtype=bool)
    origin = (np.zeros(3) - np.asarray(grid.origin)) / np.asarray(grid.voxel_size)
    rng = np.asarray(grid.point_range)
    max_distance = int(np.sqrt((rng[3] - rng[0]) ** 2 + (rng[5] - rng[2]) ** 2 + (rng[4] - rng[1]) ** 2)) / grid.voxel_size[0] + 1
    steps = np.arange(0, max_distance, 1.0, dtype=np.float32)
    unit = (dirs / np.linalg.norm(dirs, axis=1, keepdims=True)).astype(np.float32)
    o = origin.astype(np.float32)
    for lo in range(0, len(unit), chunk):
        d = unit[lo : lo + chunk]
        pos = o[None, None, :] + d[:, None, :] * steps[None, :, None]
        c = np.floor(pos).astype(np.int64)
        valid = np.all((c >= 0) & (c < shape), axis=-1)
        flat = (c[..., 0] * shape[1] + c[..., 1]) * shape[2] + c[..., 2]
        sampled = np.where(valid, occ_flat[np.clip(flat, 0, occ_flat.size - 1)], False)
        hit = np.cumsum(sampled, axis=1) > 0
        hit[:, 1:] = hit[:, :-1].copy()  # the first occupied sample itself is visible (as L3ROcc)
        visible[flat[valid & ~hit]] = True
    return visible.reshape(occ.shape)


def occgen_marching_torch(occ: np.ndarray, grid: GridSpec, dirs: np.ndarray, device: str, chunk: int = 16384) -> np.ndarray:
    """The same on torch (as L3ROcc runs it), chunked."""
    import torch

    shape = torch.tensor(occ.shape, device=device)
    occ_flat = torch.from_numpy(occ.reshape(-1)).to(device)
    visible = torch.zeros(occ_flat.numel(), dtype=torch.bool, device=device)
    origin = torch.tensor((np.zeros(3) - np.asarray(grid.origin)) / np.asarray(grid.voxel_size), dtype=torch.float32, device=device)
    rng = np.asarray(grid.point_range)
    max_distance = int(np.sqrt((rng[3] - rng[0]) ** 2 + (rng[5] - rng[2]) ** 2 + (rng[4] - rng[1]) ** 2)) / grid.voxel_size[0] + 1
    steps = torch.arange(0, max_distance, 1.0, device=device)
    unit = torch.from_numpy(dirs / np.linalg.norm(dirs, axis=1, keepdims=True)).float().to(device)
    for lo in range(0, len(unit), chunk):
        d = unit[lo : lo + chunk]
        pos = origin[None, None, :] + d[:, None, :] * steps[None, :, None]
        c = torch.floor(pos).long()
        valid = ((c >= 0) & (c < shape)).all(-1)
        flat = (c[..., 0] * shape[1] + c[..., 1]) * shape[2] + c[..., 2]
        sampled = torch.where(valid, occ_flat[flat.clamp(0, occ_flat.numel() - 1)], torch.zeros((), dtype=torch.bool, device=device))
        hit = sampled.cumsum(dim=1) > 0
        hit[:, 1:] = hit[:, :-1].clone()
        visible.index_fill_(0, flat[valid & ~hit], True)
    return visible.reshape(occ.shape).cpu().numpy()


# ---------------------------------------------------------------------- scenes


def synthetic_room(grid: GridSpec, seed: int = 0) -> np.ndarray:
    """A 6 × 3 × 7 m room around the camera with furniture (OpenCV axes: y down, z forward)."""
    rng = np.random.default_rng(seed)
    occ = np.zeros(grid.shape, dtype=bool)
    xs, ys, zs = grid.axis_centers()

    def box(x0, x1, y0, y1, z0, z1):
        ix = np.flatnonzero((xs >= x0) & (xs < x1))
        iy = np.flatnonzero((ys >= y0) & (ys < y1))
        iz = np.flatnonzero((zs >= z0) & (zs < z1))
        if len(ix) and len(iy) and len(iz):
            occ[ix[0] : ix[-1] + 1, iy[0] : iy[-1] + 1, iz[0] : iz[-1] + 1] = True

    box(-3.0, 3.0, 1.4, 1.44, -2.0, 3.6)  # floor (y down)
    box(-3.0, 3.0, -1.64, -1.6, -2.0, 3.6)  # ceiling
    box(-3.04, -3.0, -1.6, 1.4, -2.0, 3.6)  # walls
    box(3.0, 3.04, -1.6, 1.4, -2.0, 3.6)
    box(-3.0, 3.0, -1.6, 1.4, 3.6, 3.64)
    box(-3.0, 3.0, -1.6, 1.4, -2.04, -2.0)
    for _ in range(25):
        x, z = rng.uniform(-2.8, 2.6), rng.uniform(0.4, 3.3)
        w, d, h = rng.uniform(0.1, 0.8), rng.uniform(0.1, 0.8), rng.uniform(0.2, 1.8)
        box(x, x + w, 1.4 - h, 1.4, z, z + d)
    return occ


def occgen_scene(trajectory: Path, grid: GridSpec, frame: int = 0) -> np.ndarray:
    """The real example's depth frames fused, in frame ``frame``'s camera frame."""
    from occstudio.core.compute.reconstruction import fuse_depth_frames
    from occstudio.io.condition import trajectory_frames

    frames, _ = trajectory_frames(trajectory, rgb=False)
    cloud = fuse_depth_frames(frames, stride=2, colors=False)
    pose = np.asarray(frames[frame].pose)
    local = (np.asarray(cloud.points, dtype=np.float64) - pose[:3, 3]) @ pose[:3, :3]
    return occupancy_grid(local, grid)


# ------------------------------------------------------------------------ main


def timed(func, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectory", type=Path, help="OccGen trajectory folder (default: a synthetic room)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of occstudio's DDA (median)")
    parser.add_argument("--reference-repeat", type=int, default=1, help="runs of the reference (median)")
    parser.add_argument("--torch-cpu", action="store_true", help="also time the torch path on the CPU")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args()

    grid = GridSpec.occgen()
    source = f"OccGen example {args.trajectory}" if args.trajectory else "synthetic room"
    occ = occgen_scene(args.trajectory, grid) if args.trajectory else synthetic_room(grid)
    camera = Camera(K_OCCGEN, np.eye(4), WIDTH, HEIGHT)  # at the grid's (0, 0, 0): a voxel corner
    from occstudio.core.compute.occupancy import camera_rays

    _, dirs, _ = camera_rays(camera)
    print(f"{source}: grid {grid.shape} of {grid.voxel_size[0]} m, {int(occ.sum()):,} occupied voxels, "
          f"{len(dirs):,} rays ({WIDTH}×{HEIGHT})")

    t_ref, ref = timed(lambda: occgen_marching(occ, grid, dirs), args.reference_repeat)
    t_dda, vis = timed(lambda: camera_visibility(occ, grid, camera, backend="numpy"), args.repeat)
    ours = vis.visible
    both = int((ours & ref).sum())
    result: dict = {
        "scene": source,
        "grid": list(grid.shape),
        "rays": len(dirs),
        "occupied": int(occ.sum()),
        "cpu": {
            "reference_fixed_step_numpy_s": t_ref,
            "dda_numpy_s": t_dda,
            "speedup": t_ref / t_dda,
        },
        "visible_dda": int(ours.sum()),
        "visible_reference": int(ref.sum()),
        "visible_both": both,
        "only_reference": int((ref & ~ours).sum()),
        "only_dda": int((ours & ~ref).sum()),
        "rays_hit": float((vis.first_hit >= 0).mean()),
    }
    print(f"CPU: fixed-step reference (numpy) {t_ref:.2f} s, exact DDA (numpy) {t_dda:.3f} s: {t_ref / t_dda:.1f}×")
    print(f"visible voxels: DDA {result['visible_dda']:,}, reference {result['visible_reference']:,}; "
          f"reference-only {result['only_reference']:,} (seen past a skipped voxel or marked beyond a hit), "
          f"DDA-only {result['only_dda']:,} (skipped by fixed steps)")
    from occstudio.core.compute import dda_jit

    if dda_jit.available():  # the compiled walk (occstudio[fast]); compiled once before timing
        camera_visibility(occ, grid, camera, backend="numba")
        t_jit, vis_jit = timed(lambda: camera_visibility(occ, grid, camera, backend="numba"), args.repeat)
        same = bool(np.array_equal(vis_jit.visible, ours) and np.array_equal(vis_jit.first_hit, vis.first_hit)
                    and np.array_equal(vis_jit.depth, vis.depth))
        result["cpu"]["dda_numba_s"] = t_jit
        result["cpu"]["speedup_numba"] = t_ref / t_jit
        result["cpu"]["numba_identical"] = same
        print(f"exact DDA compiled (numba, {os.cpu_count()} cores): {t_jit:.3f} s: {t_ref / t_jit:.1f}× the reference, "
              f"identical to numpy: {same}")
    if args.torch_cpu:
        t_tc, vis_tc = timed(lambda: camera_visibility(occ, grid, camera, backend="torch", device="cpu"), 1)
        same = bool(np.array_equal(vis_tc.visible, ours) and np.array_equal(vis_tc.first_hit, vis.first_hit))
        result["cpu"]["dda_torch_cpu_s"] = t_tc
        result["cpu"]["torch_cpu_identical"] = same
        print(f"torch on the CPU: {t_tc:.2f} s, identical to numpy: {same}")
    if have_cuda():
        import torch

        def sync(f):
            def run():
                out = f()
                torch.cuda.synchronize()
                return out

            return run

        sync(lambda: camera_visibility(occ, grid, camera, backend="torch", device="cuda"))()  # warm-up
        t_gpu, vis_gpu = timed(sync(lambda: camera_visibility(occ, grid, camera, backend="torch", device="cuda")), args.repeat)
        sync(lambda: occgen_marching_torch(occ, grid, dirs, "cuda"))()
        t_gref, ref_gpu = timed(sync(lambda: occgen_marching_torch(occ, grid, dirs, "cuda")), args.repeat)
        same = bool(np.array_equal(vis_gpu.visible, ours) and np.array_equal(vis_gpu.first_hit, vis.first_hit)
                    and np.array_equal(vis_gpu.depth, vis.depth))
        result["cuda"] = {
            "device": torch.cuda.get_device_name(0),
            "reference_fixed_step_torch_s": t_gref,
            "dda_torch_s": t_gpu,
            "speedup": t_gref / t_gpu,
            "identical_to_numpy": same,
            "reference_same_as_cpu_reference": bool(np.array_equal(ref_gpu, ref)),
        }
        print(f"CUDA ({result['cuda']['device']}): fixed-step reference {t_gref * 1e3:.1f} ms, DDA {t_gpu * 1e3:.1f} ms: "
              f"{t_gref / t_gpu:.1f}×; DDA identical to numpy: {same}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
