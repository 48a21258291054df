"""Painting through the GUI on a large mask: ms per dab, overlay refresh and repaint included.

A real :class:`~occstudio.gui.panes.image_pane.ImagePane` shows a ``--size``² image and
mask; :class:`~occstudio.gui.panes.mask_tools.MaskTools` receives a QTest mouse stroke
of ``--dabs`` moves (press, moves, release). Each dab is timed from the mouse event to
the end of a synchronous repaint of the view (``viewport().repaint()``), so the figure is
what a user waits for per mouse move: ``paint_stroke`` on the bbox, the overlay update,
and Qt drawing the visible part of the scene.

Two overlay strategies are compared in the same run:

* ``region``: :func:`~occstudio.gui.panes.mask_tools.refresh_overlay_region`, what the
  tools use: only the stroke's bounding box of the overlay is recomputed and painted
  into the overlay pixmap;
* ``full``: :meth:`ImagePane.refresh_overlay` per dab (recompute and upload the whole
  ``size``² overlay), the naive approach.

Both must leave the same mask and the same overlay pixels; the script exits with status
1 if not. Needs a display (or ``QT_QPA_PLATFORM=offscreen``)::

    xvfb-run -a python benchmarks/bench_paint_gui.py --size 4096 --dabs 100 --json paint_gui.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

try:
    import occstudio  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from occstudio.core.edits import EditStack, MaskEdit  # noqa: E402
from occstudio.gui.panes import mask_tools  # noqa: E402
from occstudio.gui.panes.image_pane import ImagePane, overlay_rgba  # noqa: E402
from occstudio.gui.qimage import qimage_to_array  # noqa: E402


class Target:
    """A minimal edit target: the pane's mask and one undo stack."""

    def __init__(self, pane: ImagePane) -> None:
        self.pane = pane
        self.stack = EditStack()

    def editable_array(self) -> tuple[np.ndarray, str | None] | None:
        return self.pane.mask(), None

    def commit_edit(self, edit: MaskEdit) -> None:
        self.stack.push(edit)


def make_stroke(size: int, dabs: int, seed: int) -> np.ndarray:
    """``dabs`` (y, x) positions of a wandering stroke, 6-14 px apart."""
    rng = np.random.default_rng(seed)
    angle = np.cumsum(rng.normal(0, 0.2, dabs))
    step = rng.uniform(6, 14, dabs)
    pts = np.cumsum(np.stack([np.sin(angle) * step, np.cos(angle) * step], axis=1), axis=0)
    pts += np.array([size * 0.5, size * 0.3])
    return np.clip(pts, 0, size - 1)


def run_stroke(pane: ImagePane, tools: mask_tools.MaskTools, pts: np.ndarray, zoom: float) -> list[float]:
    """Paint the stroke with QTest events; seconds per dab (event + synchronous repaint)."""
    view = pane.view
    view.resetTransform()
    view.scale(zoom, zoom)
    view.auto_fit = False
    view.centerOn(QPointF(pts[len(pts) // 2, 1], pts[len(pts) // 2, 0]))
    viewport = view.viewport()

    def pos(p: np.ndarray):
        return view.mapFromScene(QPointF(p[1] + 0.5, p[0] + 0.5))

    times = []
    QApplication.processEvents()
    t0 = time.perf_counter()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos(pts[0]))
    viewport.repaint()
    times.append(time.perf_counter() - t0)
    for p in pts[1:]:
        t0 = time.perf_counter()
        QTest.mouseMove(viewport, pos(p))
        viewport.repaint()
        times.append(time.perf_counter() - t0)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos(pts[-1]))
    QApplication.processEvents()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=4096, help="image and mask side in pixels")
    parser.add_argument("--dabs", type=int, default=100, help="mouse moves in the stroke")
    parser.add_argument("--radius", type=int, default=12, help="brush radius in pixels")
    parser.add_argument("--zoom", type=float, default=1.0, help="view scale (screen px per image px)")
    parser.add_argument("--full-dabs", type=int, default=20, help="dabs the full-refresh variant is timed on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    rng = np.random.default_rng(args.seed)
    image = rng.integers(0, 255, (args.size, args.size, 3), dtype=np.uint8)
    base_mask = np.zeros((args.size, args.size), bool)
    base_mask[args.size // 4 : args.size // 2, args.size // 4 : 3 * args.size // 4] = True
    pts = make_stroke(args.size, args.dabs, args.seed)

    pane = ImagePane("bench")
    pane.resize(1200, 900)
    pane.show()
    pane.set_image(image)
    app.processEvents()
    target = Target(pane)
    tools = mask_tools.MaskTools(pane, target)
    tools.set_tool("brush")
    tools.set_radius(args.radius)

    results: dict[str, Any] = {}
    masks = {}
    overlays = {}
    region_refresh = mask_tools.refresh_overlay_region

    def full_refresh(p: ImagePane, bbox: Any) -> bool:
        p.refresh_overlay()
        return False

    for name, refresh, n in (("region", region_refresh, args.dabs), ("full", full_refresh, args.full_dabs)):
        pane.set_mask(base_mask)
        app.processEvents()
        mask_tools.refresh_overlay_region = refresh
        try:
            times = run_stroke(pane, tools, pts[: max(2, n)], args.zoom)
        finally:
            mask_tools.refresh_overlay_region = region_refresh
        results[name] = times
        masks[name] = pane.mask().copy()
        shown = qimage_to_array(pane.overlay_item.pixmap().toImage())
        overlays[name] = shown[:, :, 3].copy()
        edits_ok = target.stack.index >= 1
        target.stack = EditStack()
    # same pixels: compare the region variant on the dabs the full variant painted
    pane.set_mask(base_mask)
    run_stroke(pane, tools, pts[: max(2, args.full_dabs)], args.zoom)
    expected_alpha = overlay_rgba(pane.mask(), pane.overlay_color(), pane.overlay_opacity(), pane.overlay_mode())[:, :, 3]
    region_alpha = qimage_to_array(pane.overlay_item.pixmap().toImage())[:, :, 3]
    identical = bool(
        np.array_equal(pane.mask(), masks["full"])
        and np.array_equal(region_alpha, overlays["full"])
        and np.array_equal(region_alpha, expected_alpha)
        and edits_ok
    )

    def summary(times: list[float]) -> dict[str, float]:
        ms = np.asarray(times[1:] or times) * 1e3
        return {"median_ms": round(float(statistics.median(ms)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3),
                "dabs": len(times)}

    out = {
        "size": args.size,
        "radius": args.radius,
        "zoom": args.zoom,
        "region": summary(results["region"]),
        "full": summary(results["full"]),
        "identical": identical,
        "qt_platform": app.platformName(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    out["speedup"] = round(out["full"]["median_ms"] / out["region"]["median_ms"], 1) if out["region"]["median_ms"] else None
    print(
        f"{args.size}² image and mask, brush radius {args.radius}, view zoom {args.zoom:g} ({app.platformName()}):\n"
        f"  region overlay refresh (occstudio): {out['region']['median_ms']:8.2f} ms/dab median, "
        f"{out['region']['p95_ms']:.2f} p95 ({out['region']['dabs']} dabs)\n"
        f"  full overlay refresh per dab:       {out['full']['median_ms']:8.2f} ms/dab median, "
        f"{out['full']['p95_ms']:.2f} p95 ({out['full']['dabs']} dabs)\n"
        f"  speed-up {out['speedup']}×; identical mask and overlay: {identical}"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    tools.remove()
    pane.close()
    pane.deleteLater()
    app.processEvents()
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
