"""Hiding one class in the 3D view: in-place visibility edit vs rebuilding the surface.

On one 200×200×16 Occ3D grid (the real ground truth with ``--labels``, else the
synthetic street of ``bench_voxels``), the surface from
:func:`occstudio.render.voxels.voxel_surface` is drawn in an off-screen 1280×720 plotter
as the studio's 3D view draws it (``scalars="rgba"``, ``rgb=True``, cell colours). One
class is hidden (``--hide``, default ``vegetation``; the biggest class when that one is
absent) and shown again, each time until the frame is drawn:

* ``toggle``     :func:`~occstudio.render.voxels.apply_class_visibility` on the drawn
                 mesh (in place) + render;
* ``rebuild``    the reference: ``voxel_surface`` of the labels without that class (its
                 voxels set free) + replacing the actor (``add_mesh`` with the same
                 name) + render.

Each frame is ``Render()`` + ``WaitForCompletion()`` (glFinish); a redraw of the unchanged
view is timed too (the frame cost without buffer uploads). The three are interleaved; median of
``--repeat``.

Run::

    python benchmarks/bench_toggle.py [--labels .../labels.npz] [--hide vegetation] [--json out.json]
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
from bench_voxels import FREE, synthetic_street

from occstudio.core.geometry import GridSpec
from occstudio.core.labels import OCC3D
from occstudio.render.voxels import apply_class_visibility, voxel_surface

pv.global_theme.multi_samples = 0

WINDOW = (1280, 720)
MESH_KWARGS = {"scalars": "rgba", "rgb": True, "preference": "cell", "smooth_shading": False,
               "reset_camera": False, "render": False}


def draw(plotter: pv.Plotter) -> float:
    """Render one frame and wait for the GPU; seconds."""
    t0 = time.perf_counter()
    plotter.render_window.Render()
    plotter.render_window.WaitForCompletion()
    return time.perf_counter() - t0


def pick_class(labels: np.ndarray, wanted: str) -> int:
    """The id of class ``wanted`` when the grid has it, else of the biggest class."""
    counts = np.bincount(labels.ravel(), minlength=256)
    counts[FREE] = counts[255] = 0
    names = list(OCC3D.class_names)
    if wanted in names and counts[names.index(wanted)] > 0:
        return names.index(wanted)
    return int(np.argmax(counts))


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, help="an Occ3D labels.npz (default: synthetic street)")
    parser.add_argument("--hide", default="vegetation", help="class to hide (default: vegetation)")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args()

    grid = GridSpec.occ3d()
    if args.labels:
        from occstudio.io.occ3d import read_labels_npz

        labels = read_labels_npz(args.labels)["semantics"]
        source = str(args.labels)
    else:
        labels = synthetic_street()
        source = "synthetic street"
    cls = pick_class(labels, args.hide)
    cls_name = OCC3D.name_of(cls)
    without = np.where(labels == cls, FREE, labels).astype(labels.dtype)

    poly = voxel_surface(labels, grid, OCC3D)
    n_hidden_faces = int((np.asarray(poly.cell_data["label"]) == cls).sum())
    plotter = pv.Plotter(off_screen=True, window_size=list(WINDOW))
    plotter.render_window.SetMultiSamples(0)
    plotter.set_background("white")
    plotter.add_mesh(poly, name="gt", **MESH_KWARGS)
    plotter.view_isometric()
    plotter.reset_camera()
    draw(plotter)  # upload
    apply_class_visibility(poly, [cls])
    draw(plotter)  # warm-up of the toggle path
    apply_class_visibility(poly, [])
    draw(plotter)

    # The three are interleaved, so that load from other processes hits them alike.
    redraw: list[float] = []  # baseline: the unchanged view again (no buffers to rebuild)
    hide_edit, hide_draw, show_edit, show_draw = [], [], [], []  # in-place toggle
    reb_build, reb_actor, reb_draw, back_total = [], [], [], []  # reference: rebuild
    shown = poly  # the mesh in the actor, every class visible
    n_rebuilt_faces = 0
    for _ in range(args.repeat):
        redraw.append(draw(plotter))

        t0 = time.perf_counter()
        apply_class_visibility(shown, [cls])
        hide_edit.append(time.perf_counter() - t0)
        hide_draw.append(draw(plotter))
        t0 = time.perf_counter()
        apply_class_visibility(shown, [])
        show_edit.append(time.perf_counter() - t0)
        show_draw.append(draw(plotter))

        t0 = time.perf_counter()
        rebuilt = voxel_surface(without, grid, OCC3D)
        t1 = time.perf_counter()
        plotter.add_mesh(rebuilt, name="gt", **MESH_KWARGS)
        t2 = time.perf_counter()
        reb_draw.append(draw(plotter))
        reb_build.append(t1 - t0)
        reb_actor.append(t2 - t1)
        n_rebuilt_faces = rebuilt.n_cells
        t0 = time.perf_counter()  # and back: rebuild with every class
        shown = voxel_surface(labels, grid, OCC3D)
        plotter.add_mesh(shown, name="gt", **MESH_KWARGS)
        draw(plotter)
        back_total.append(time.perf_counter() - t0)
    hide_total = [a + b for a, b in zip(hide_edit, hide_draw)]
    show_total = [a + b for a, b in zip(show_edit, show_draw)]
    reb_total = [a + b + c for a, b, c in zip(reb_build, reb_actor, reb_draw)]
    plotter.close()

    toggle_ms, rebuild_ms = median_ms(hide_total), median_ms(reb_total)
    ratio = rebuild_ms / toggle_ms
    print(f"grid 200x200x16 from {source}; hiding class {cls} '{cls_name}' "
          f"({int((labels == cls).sum()):,} voxels, {n_hidden_faces:,} of {poly.n_cells:,} faces); "
          f"window {WINDOW[0]}x{WINDOW[1]}; median of {args.repeat}")
    print(f"{'method':34s} {'total ms':>9s} {'edit/build':>11s} {'actor':>8s} {'render':>8s}")
    print(f"{'toggle: apply_class_visibility':34s} {toggle_ms:9.1f} {median_ms(hide_edit):11.1f} "
          f"{'-':>8s} {median_ms(hide_draw):8.1f}")
    print(f"{'rebuild: voxel_surface + add_mesh':34s} {rebuild_ms:9.1f} {median_ms(reb_build):11.1f} "
          f"{median_ms(reb_actor):8.1f} {median_ms(reb_draw):8.1f}")
    print(f"{'redraw, nothing changed':34s} {median_ms(redraw):9.1f}")
    print(f"show again: toggle {median_ms(show_total):.1f} ms, rebuild {median_ms(back_total):.1f} ms")
    cpu_ratio = (median_ms(reb_build) + median_ms(reb_actor)) / median_ms(hide_edit)
    print(f"ratio rebuild / toggle (hide): {ratio:.1f}x with the render, {cpu_ratio:.1f}x without "
          f"(mesh work only: {median_ms(reb_build) + median_ms(reb_actor):.1f} vs {median_ms(hide_edit):.1f} ms)")

    result = {
        "source": source,
        "hidden_class": cls,
        "hidden_class_name": cls_name,
        "hidden_voxels": int((labels == cls).sum()),
        "faces": poly.n_cells,
        "hidden_faces": n_hidden_faces,
        "rebuilt_faces": n_rebuilt_faces,
        "window": list(WINDOW),
        "repeat": args.repeat,
        "redraw_unchanged_ms": median_ms(redraw),
        "toggle_hide_ms": toggle_ms,
        "toggle_hide_edit_ms": median_ms(hide_edit),
        "toggle_hide_render_ms": median_ms(hide_draw),
        "toggle_show_ms": median_ms(show_total),
        "rebuild_hide_ms": rebuild_ms,
        "rebuild_build_ms": median_ms(reb_build),
        "rebuild_add_mesh_ms": median_ms(reb_actor),
        "rebuild_render_ms": median_ms(reb_draw),
        "rebuild_show_ms": median_ms(back_total),
        "ratio_rebuild_over_toggle": ratio,
        "ratio_rebuild_over_toggle_without_render": cpu_ratio,
        "python": sys.version.split()[0],
        "pyvista": pv.__version__,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
