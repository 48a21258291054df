"""Voxel surface building: occstudio's exposed-face mesh vs pyvista's usual routes.

On one realistic 200×200×16 Occ3D grid (the real ground truth with ``--labels``, else a
synthetic street: ground plane, kerbs, cars, buildings, trees) it times and counts

* ``exposed_faces``   occstudio, numpy only (the quads);
* ``voxel_surface``   occstudio, the finished PolyData, with and without class-boundary
                       faces (the default keeps them for per-class hiding);
* ``sparse_voxel_surface``  the same from flat voxel indices (OccGen frames);
* ``glyph``           pyvista's cube glyphs: occupied centres -> ``glyph(geom=pv.Cube())``;
* ``threshold``       pyvista's ``ImageData.threshold().extract_surface()``.

Run::

    python benchmarks/bench_voxels.py [--labels .../labels.npz] [--mask camera] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyvista as pv

from occstudio.core.geometry import GridSpec
from occstudio.core.labels import OCC3D
from occstudio.render.voxels import exposed_faces, sparse_voxel_surface, voxel_surface

FREE = 17


def synthetic_street(seed: int = 0) -> np.ndarray:
    """A street scene on the Occ3D grid (about as many occupied voxels as real GT)."""
    rng = np.random.default_rng(seed)
    labels = np.full((200, 200, 16), FREE, dtype=np.uint8)
    labels[:, :, 2] = 14  # terrain
    labels[:, 80:120, 2] = 11  # driveable surface
    labels[:, 76:80, 2:4] = 13  # sidewalks with a kerb
    labels[:, 120:124, 2:4] = 13
    for _ in range(40):  # cars on the road
        x, y = rng.integers(0, 190), rng.integers(82, 114)
        labels[x : x + 11, y : y + 5, 3:7] = 4
    for _ in range(25):  # buildings behind the sidewalks
        x = rng.integers(0, 180)
        side = rng.integers(0, 2)
        y0 = rng.integers(126, 160) if side else rng.integers(40, 70)
        h = rng.integers(6, 14)
        labels[x : x + 18, y0 : y0 + 10, 3 : 3 + h] = 15
    for _ in range(120):  # trees: trunk + crown
        x, y = rng.integers(2, 198), rng.choice([rng.integers(2, 74), rng.integers(126, 198)])
        labels[x, y, 3:8] = 16
        labels[x - 2 : x + 3, y - 2 : y + 3, 8:11] = 16
    return labels


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def glyph_mesh(labels: np.ndarray, keep: np.ndarray, grid: GridSpec) -> pv.PolyData:
    image = pv.ImageData(dimensions=np.array(labels.shape) + 1, spacing=grid.voxel_size, origin=grid.origin)
    centres = image.cell_centers().points[keep.ravel(order="F")]
    cloud = pv.PolyData(centres)
    cloud["label"] = labels.ravel(order="F")[keep.ravel(order="F")]
    size = grid.voxel_size
    return cloud.glyph(geom=pv.Cube(x_length=size[0], y_length=size[1], z_length=size[2]), scale=False, orient=False)


def threshold_mesh(labels: np.ndarray, keep: np.ndarray, grid: GridSpec) -> pv.PolyData:
    image = pv.ImageData(dimensions=np.array(labels.shape) + 1, spacing=grid.voxel_size, origin=grid.origin)
    image.cell_data["label"] = labels.ravel(order="F")
    image.cell_data["keep"] = keep.ravel(order="F").astype(np.uint8)
    solid = image.threshold(value=(1, 1), scalars="keep")
    try:
        return solid.extract_surface(algorithm="dataset_surface")
    except TypeError:
        return solid.extract_surface()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, help="an Occ3D labels.npz (default: synthetic)")
    parser.add_argument("--mask", choices=["none", "camera", "lidar"], default="none")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args()

    grid = GridSpec.occ3d()
    visible = None
    if args.labels:
        from occstudio.io.occ3d import read_labels_npz

        gt = read_labels_npz(args.labels)
        labels = gt["semantics"]
        if args.mask != "none":
            visible = gt[f"mask_{args.mask}"].astype(bool)
        source = str(args.labels)
    else:
        labels = synthetic_street()
        source = "synthetic street"
    keep = labels != FREE
    if visible is not None:
        keep &= visible
    n_occ = int(keep.sum())

    rows: dict[str, dict[str, float]] = {}
    t, out = timed(lambda: exposed_faces(labels, grid, visible), args.repeat)
    rows["exposed_faces (numpy)"] = {"seconds": t, "cells": len(out[0])}
    t, out = timed(lambda: voxel_surface(labels, grid, OCC3D, visible, class_boundaries=False), args.repeat)
    rows["voxel_surface"] = {"seconds": t, "cells": out.n_cells, "points": out.n_points}
    t, out = timed(lambda: voxel_surface(labels, grid, OCC3D, visible, class_boundaries=True), args.repeat)
    rows["voxel_surface +class faces"] = {"seconds": t, "cells": out.n_cells, "points": out.n_points}
    flat = np.flatnonzero(keep)
    flat_labels = labels.reshape(-1)[flat]
    t, out = timed(
        lambda: sparse_voxel_surface(flat, grid, flat_labels, OCC3D, color_by_height=False), args.repeat
    )
    rows["sparse_voxel_surface +class"] = {"seconds": t, "cells": out.n_cells, "points": out.n_points}
    t, out = timed(lambda: glyph_mesh(labels, keep, grid), args.repeat)
    rows["pyvista glyph(Cube)"] = {"seconds": t, "cells": out.n_cells, "points": out.n_points}
    t, out = timed(lambda: threshold_mesh(labels, keep, grid), args.repeat)
    rows["pyvista threshold+surface"] = {"seconds": t, "cells": out.n_cells, "points": out.n_points}

    ours = rows["voxel_surface"]
    print(f"grid 200x200x16 from {source}; mask {args.mask}; {n_occ} occupied voxels; median of {args.repeat}")
    print(f"{'method':30s} {'ms':>9s} {'cells':>9s} {'points':>9s} {'time/ours':>10s} {'cells/ours':>11s}")
    for name, r in rows.items():
        print(
            f"{name:30s} {r['seconds'] * 1e3:9.1f} {int(r['cells']):9d} {int(r.get('points', 0)):9d} "
            f"{r['seconds'] / ours['seconds']:10.2f} {r['cells'] / ours['cells']:11.2f}"
        )
    result = {
        "source": source,
        "mask": args.mask,
        "occupied_voxels": n_occ,
        "repeat": args.repeat,
        "python": sys.version.split()[0],
        "pyvista": pv.__version__,
        "methods": rows,
        "glyph_time_ratio": rows["pyvista glyph(Cube)"]["seconds"] / ours["seconds"],
        "glyph_cell_ratio": rows["pyvista glyph(Cube)"]["cells"] / ours["cells"],
        "threshold_time_ratio": rows["pyvista threshold+surface"]["seconds"] / ours["seconds"],
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
