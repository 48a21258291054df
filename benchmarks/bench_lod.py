"""Rotating a big point cloud: every point every frame vs the level-of-detail scheme.

A synthetic LiDAR-style street map (ground with kerbs, building façades, trees, parked
cars, poles; denser near the sensor path; coloured by height with the studio's ramp),
5,000,000 points by default, in an off-screen 1280×720 plotter with the studio's point
size. The camera turns a few degrees per frame.

* ``all points``: one actor with the whole cloud, redrawn each frame (what a plain
  ``add_mesh`` does);
* ``LOD``: :class:`occstudio.render.lod.PointCloudLOD` (400,000 points while moving),
  switched by ``StartInteractionEvent`` / ``EndInteractionEvent`` on the plotter's
  interactor, as a mouse drag does; the ``still`` frame is the full-cloud frame drawn
  when the motion ends.

Each frame is ``Render()`` + ``WaitForCompletion()`` (glFinish), after a warm-up frame
that uploads the points to the GPU.

Run::

    python benchmarks/bench_lod.py [--points 5000000] [--frames 6] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyvista as pv

from occstudio.core.labels import height_colormap
from occstudio.render.lod import DEFAULT_MAX_MOVING_POINTS, PointCloudLOD

pv.global_theme.multi_samples = 0

WINDOW = (1280, 720)


# ---------------------------------------------------------------------- the scene


def _box_surface(rng: np.random.Generator, n: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``n`` points on the side and top faces of the box ``lo``–``hi`` (area-weighted)."""
    size = hi - lo
    areas = np.array([size[1] * size[2]] * 2 + [size[0] * size[2]] * 2 + [size[0] * size[1]])
    face = rng.choice(5, size=n, p=areas / areas.sum())
    pts = lo + rng.random((n, 3)) * size
    pts[face == 0, 0], pts[face == 1, 0] = lo[0], hi[0]
    pts[face == 2, 1], pts[face == 3, 1] = lo[1], hi[1]
    pts[face == 4, 2] = hi[2]
    return pts


def city_scan(n: int, seed: int = 0) -> pv.PolyData:
    """A LiDAR-like street map of ``n`` points with ``rgb`` coloured by height.

    A 240 m street along x: road and sidewalks (kerbs 15 cm high), building façades on
    both sides, trees, parked cars and poles; ground density falls off with the
    distance from the sensor path (y = 0), as in accumulated scans.
    """
    rng = np.random.default_rng(seed)
    shares = {"ground": 0.42, "buildings": 0.30, "trees": 0.12, "cars": 0.09, "poles": 0.03}
    counts = {k: int(v * n) for k, v in shares.items()}
    counts["noise"] = n - sum(counts.values())
    parts = []

    # ground: |y| drawn from an exponential fall-off, sidewalk + kerb beyond 7 m
    m = counts["ground"]
    x = rng.uniform(-120, 120, m)
    y = np.minimum(rng.exponential(9.0, m), 30.0) * rng.choice([-1.0, 1.0], m)
    z = rng.normal(0.0, 0.02, m) + np.where(np.abs(y) > 7.0, 0.15, 0.0)
    parts.append(np.column_stack([x, y, z]))

    # building façades: blocks of 10–30 m behind the sidewalks, 6–30 m high
    m = counts["buildings"]
    blocks = []
    for side in (-1.0, 1.0):
        x0 = -120.0
        while x0 < 120.0:
            w = rng.uniform(10, 30)
            depth, h = rng.uniform(10, 20), rng.uniform(6, 30)
            y0 = side * rng.uniform(12, 16)
            ylo, yhi = (y0, y0 + depth) if side > 0 else (y0 - depth, y0)
            blocks.append((np.array([x0, ylo, 0.15]), np.array([x0 + w - 1.0, yhi, h])))
            x0 += w
    areas = np.array([(hi[0] - lo[0]) * (hi[2] - lo[2]) for lo, hi in blocks])
    per_block = rng.multinomial(m, areas / areas.sum())
    parts += [_box_surface(rng, k, lo, hi) for k, (lo, hi) in zip(per_block, blocks) if k]

    # trees: trunk + noisy crown along the sidewalks
    m = counts["trees"]
    n_trees = 80
    centres = np.column_stack([rng.uniform(-118, 118, n_trees), rng.choice([-9.5, 9.5], n_trees)])
    crown_r = rng.uniform(1.5, 3.0, n_trees)
    crown_z = rng.uniform(4.0, 7.0, n_trees)
    tree = rng.integers(0, n_trees, m)
    trunk = rng.random(m) < 0.15
    d = rng.normal(size=(m, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    r = crown_r[tree] * rng.uniform(0.7, 1.0, m)
    pts = np.column_stack([centres[tree], crown_z[tree]]) + d * r[:, None]
    pts[trunk, :2] = centres[tree[trunk]] + rng.normal(0, 0.12, (int(trunk.sum()), 2))
    pts[trunk, 2] = rng.uniform(0.15, crown_z[tree[trunk]] - crown_r[tree[trunk]] * 0.7)
    parts.append(pts)

    # parked cars along both kerbs
    m = counts["cars"]
    n_cars = 60
    cx = rng.uniform(-115, 115, n_cars)
    cy = rng.choice([-5.5, 5.5], n_cars)
    per_car = rng.multinomial(m, np.full(n_cars, 1.0 / n_cars))
    for k, x0, y0 in zip(per_car, cx, cy):
        lo, hi = np.array([x0 - 2.2, y0 - 0.9, 0.2]), np.array([x0 + 2.2, y0 + 0.9, 1.5])
        parts.append(_box_surface(rng, int(k), lo, hi))

    # poles every 25 m
    m = counts["poles"]
    px = np.arange(-110, 111, 25.0)
    pole = rng.integers(0, 2 * len(px), m)
    parts.append(np.column_stack([
        px[pole % len(px)] + rng.normal(0, 0.05, m),
        np.where(pole < len(px), -8.0, 8.0) + rng.normal(0, 0.05, m),
        rng.uniform(0.15, 8.0, m),
    ]))

    # stray returns
    m = counts["noise"]
    parts.append(np.column_stack([rng.uniform(-120, 120, m), rng.uniform(-35, 35, m), rng.uniform(0, 25, m)]))

    points = np.concatenate(parts).astype(np.float32)
    cloud = pv.PolyData(points)
    z = points[:, 2]
    cloud.point_data["rgb"] = height_colormap(z, 0.0, float(np.percentile(z, 99)))[:, :3]
    return cloud


# ------------------------------------------------------------------------ timing


def make_plotter() -> pv.Plotter:
    plotter = pv.Plotter(off_screen=True, window_size=list(WINDOW))
    plotter.render_window.SetMultiSamples(0)
    plotter.set_background("#20242a")
    return plotter


def set_view(plotter: pv.Plotter) -> None:
    plotter.camera_position = [(-90.0, -110.0, 70.0), (0.0, 0.0, 3.0), (0.0, 0.0, 1.0)]
    plotter.reset_camera()  # the whole street, seen from that direction...
    plotter.camera.Zoom(1.7)  # ...filling the window's width


def draw(plotter: pv.Plotter) -> float:
    """Render one frame and wait for the GPU; seconds."""
    t0 = time.perf_counter()
    plotter.render_window.Render()
    plotter.render_window.WaitForCompletion()
    return time.perf_counter() - t0


def turn(plotter: pv.Plotter, degrees: float) -> None:
    plotter.camera.Azimuth(degrees)
    plotter.renderer.ResetCameraClippingRange()


def gl_renderer(plotter: pv.Plotter) -> str:
    for line in plotter.render_window.ReportCapabilities().splitlines():
        if "renderer string" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=5_000_000, help="size of the cloud")
    parser.add_argument("--moving-points", type=int, default=DEFAULT_MAX_MOVING_POINTS,
                        help="size of the decimated cloud drawn while moving")
    parser.add_argument("--frames", type=int, default=6, help="timed frames of motion per method")
    parser.add_argument("--degrees", type=float, default=3.0, help="camera turn per frame")
    parser.add_argument("--point-size", type=float, default=2.0)
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args()

    t0 = time.perf_counter()
    cloud = city_scan(args.points)
    t_gen = time.perf_counter() - t0
    mesh_kwargs = {"scalars": "rgb", "rgb": True, "point_size": args.point_size, "style": "points"}
    print(f"{cloud.n_points:,} points (synthetic street scan, generated in {t_gen:.1f} s), "
          f"window {WINDOW[0]}x{WINDOW[1]}, point size {args.point_size:g}, "
          f"{args.frames} frames of {args.degrees:g} deg", flush=True)

    # (a) every point every frame
    plotter = make_plotter()
    plotter.add_mesh(cloud, name="cloud", render=False, **mesh_kwargs)
    set_view(plotter)
    first_full = draw(plotter)  # uploads the points
    renderer_name = gl_renderer(plotter)
    turn(plotter, args.degrees)
    draw(plotter)  # warm-up
    full_frames = []
    for _ in range(args.frames):
        turn(plotter, args.degrees)
        full_frames.append(draw(plotter))
    plotter.close()
    full_ms = statistics.median(full_frames) * 1e3
    print(f"all points:  {full_ms:8.1f} ms/frame (median of {args.frames}; first frame with upload "
          f"{first_full * 1e3:.0f} ms)", flush=True)

    # (b) level of detail, switched by the interactor's interaction events
    plotter = make_plotter()
    lod = PointCloudLOD(cloud, max_moving_points=args.moving_points)
    lod.attach(plotter, "cloud", render=False, **mesh_kwargs)
    set_view(plotter)
    iren = plotter.iren.interactor
    lod.watch(iren)
    draw(plotter)  # the still view before the drag (uploads the full cloud)
    iren.InvokeEvent("StartInteractionEvent")
    turn(plotter, args.degrees)
    first_lod = draw(plotter)  # uploads the decimated cloud
    lod_frames = []
    for _ in range(args.frames):
        turn(plotter, args.degrees)
        lod_frames.append(draw(plotter))
    assert lod.is_moving
    t_end = time.perf_counter()
    iren.InvokeEvent("EndInteractionEvent")  # switches back and renders the full cloud
    plotter.render_window.WaitForCompletion()
    still = time.perf_counter() - t_end
    assert not lod.is_moving
    lod.detach()
    plotter.close()
    lod_ms = statistics.median(lod_frames) * 1e3
    ratio = full_ms / lod_ms
    print(f"LOD moving:  {lod_ms:8.1f} ms/frame ({lod.n_moving:,} points; median of {args.frames}; "
          f"first frame with upload {first_lod * 1e3:.0f} ms)")
    print(f"LOD still:   {still * 1e3:8.1f} ms (the full frame when the motion ends)")
    print(f"ratio all points / LOD while moving: {ratio:.1f}x; "
          f"{1e3 / full_ms:.2f} vs {1e3 / lod_ms:.2f} frames/s; renderer {renderer_name}")

    result = {
        "points": cloud.n_points,
        "moving_points": lod.n_moving,
        "window": list(WINDOW),
        "point_size": args.point_size,
        "frames": args.frames,
        "degrees_per_frame": args.degrees,
        "all_points_ms_per_frame": full_ms,
        "all_points_frames_ms": [t * 1e3 for t in full_frames],
        "all_points_first_frame_ms": first_full * 1e3,
        "lod_moving_ms_per_frame": lod_ms,
        "lod_moving_frames_ms": [t * 1e3 for t in lod_frames],
        "lod_first_moving_frame_ms": first_lod * 1e3,
        "lod_still_frame_ms": still * 1e3,
        "ratio_all_points_over_lod": ratio,
        "generate_s": t_gen,
        "gl_renderer": renderer_name,
        "python": sys.version.split()[0],
        "pyvista": pv.__version__,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
