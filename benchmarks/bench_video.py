"""Video export speed: occstudio's ``export_video`` against the naive loop, in the same run.

Both make the same 1280×720 three-panel video (image with mask | prediction | GT, orbit
camera, the same poses) of one sample:

* **occstudio**: one off-screen plotter for all frames, meshes added once, one render and
  one pixel readback per frame, 2-D panels composed once, frames piped to ffmpeg
  (H.264 ``-preset veryfast -crf 23``).
* **naive**: per frame a new ``pyvista.Plotter(off_screen=True, shape=(1, 3))`` with the
  image as a background, both meshes and the titles added, ``screenshot()`` to a PNG, the
  plotter closed; then every PNG read back and encoded with ``imageio``'s ffmpeg writer
  (its defaults). Meshes are read from disk once, not per frame.

Run from the repository root (uses resources/demo, or a generated dataset when absent)::

    python benchmarks/bench_video.py [--frames 30] [--size 1280x720] [--sample ID] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

try:
    from occstudio.render.video import export_video, parse_size
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from occstudio.render.video import export_video, parse_size

REPO = Path(__file__).resolve().parents[1]


def dataset_root(tmp: Path) -> tuple[Path, str]:
    """The demo dataset (or a generated one) and a sample id of it."""
    demo = REPO / "resources" / "demo"
    if (demo / "manifest.json").is_file() and (demo / "predictions").is_dir():
        return demo, "living_room/view_00"
    sys.path.insert(0, str(REPO))
    from tests.factories import make_extremeocc_dataset

    return make_extremeocc_dataset(tmp / "data", n=1, size=256), "scene0/view_00"


def naive_export(root: Path, sample_id: str, out: Path, frames: int, fps: float, size: tuple[int, int],
                 frame_dir: Path) -> float:
    """The naive loop; returns its wall time in seconds."""
    import imageio.v2 as imageio
    import pyvista as pv
    from PIL import Image

    from occstudio.io.geometry import load_geometry
    from occstudio.io.images import read_image, read_mask
    from occstudio.io.opening import open_dataset
    from occstudio.io.predictions import match_predictions
    from occstudio.render.camera_paths import camera_path
    from occstudio.render.compose import overlay_mask
    from occstudio.render.meshes import mesh_to_polydata

    t0 = time.perf_counter()
    sample = open_dataset(root).get(sample_id)
    pred_path = match_predictions(root / "predictions", [sample_id])[sample_id]
    gt = mesh_to_polydata(load_geometry(sample.path("gt_mesh")))
    pred = mesh_to_polydata(load_geometry(pred_path))
    image = read_image(sample.path("image"))[:, :, :3]
    image = overlay_mask(image, read_mask(sample.path("mask"), image.shape[:2]))
    image_png = frame_dir / "image.png"
    Image.fromarray(image).save(image_png)
    b = np.array([gt.bounds, pred.bounds])
    bounds = (b[:, 0].min(), b[:, 1].max(), b[:, 2].min(), b[:, 3].max(), b[:, 4].min(), b[:, 5].max())
    aspect = (size[0] / 3) / size[1]
    points = np.vstack([gt.points, pred.points])
    poses = camera_path("orbit", bounds, frames, 20.0, aspect, "z", points=points)
    pngs = []
    for i, pose in enumerate(poses):
        pl = pv.Plotter(off_screen=True, window_size=list(size), shape=(1, 3), border=False)
        pl.subplot(0, 0)
        pl.add_background_image(str(image_png), as_global=False)
        pl.add_text("Image", font_size=12, color="black")
        for col, (mesh, title) in ((1, (pred, "Prediction")), (2, (gt, "GT"))):
            pl.subplot(0, col)
            pl.add_mesh(mesh, scalars="rgb", rgb=True)
            pl.add_text(title, font_size=12, color="black")
            pl.camera.position, pl.camera.focal_point, pl.camera.up = pose.position, pose.focal_point, pose.view_up
            pl.set_background("#f4f5f7")
        path = frame_dir / f"frame_{i:05d}.png"
        pl.screenshot(str(path))
        pl.close()
        pngs.append(path)
    writer = imageio.get_writer(out, fps=fps)
    for path in pngs:
        writer.append_data(imageio.imread(path))
    writer.close()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30, help="frames per run (default 30)")
    parser.add_argument("--size", default="1280x720", help="frame size (default 1280x720)")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--sample", help="sample id (default: the demo's sofa)")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args()
    size = parse_size(args.size)

    import pyvista  # noqa: F401  (import cost is not part of either measurement)

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        root, sample_id = dataset_root(tmp)
        sample_id = args.sample or sample_id
        # warm-up: first GL context, font cache
        export_video(root, tmp / "warm.mp4", sample_ids=[sample_id], layout="image-pred-gt", frames=2, size=(320, 180))

        t0 = time.perf_counter()
        result = export_video(root, tmp / "fast.mp4", sample_ids=[sample_id], layout="image-pred-gt",
                              frames=args.frames, fps=args.fps, size=size)
        t_fast = time.perf_counter() - t0
        fast_bytes = (tmp / "fast.mp4").stat().st_size

        frame_dir = tmp / "naive_frames"
        frame_dir.mkdir()
        t_naive = naive_export(root, sample_id, tmp / "naive.mp4", args.frames, args.fps, size, frame_dir)
        naive_bytes = (tmp / "naive.mp4").stat().st_size

    out: dict[str, Any] = {
        "benchmark": "video export, image-pred-gt",
        "machine": platform.platform(),
        "python": platform.python_version(),
        "sample": sample_id,
        "frames": args.frames,
        "size": list(result["size"]),
        "occstudio": {"seconds": round(t_fast, 3), "fps": round(args.frames / t_fast, 2), "bytes": fast_bytes},
        "naive": {"seconds": round(t_naive, 3), "fps": round(args.frames / t_naive, 2), "bytes": naive_bytes},
        "speedup": round(t_naive / t_fast, 2),
    }
    print(f"video export {out['size'][0]}x{out['size'][1]}, {args.frames} frames, image | prediction | GT ({sample_id})")
    print(f"  occstudio export_video : {t_fast:6.2f} s  {out['occstudio']['fps']:6.2f} frames/s  {fast_bytes / 1e3:8.0f} kB")
    print(f"  naive loop             : {t_naive:6.2f} s  {out['naive']['fps']:6.2f} frames/s  {naive_bytes / 1e3:8.0f} kB")
    print(f"  speed-up               : {out['speedup']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
