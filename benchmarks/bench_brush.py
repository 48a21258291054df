"""Brush painting on a large mask: occstudio's bbox-local ``paint_stroke`` against a naive brush.

A stroke of ``--dabs`` mouse positions (a wandering curve) is painted on a
``--size``² bool mask the way the GUI paints it: one ``paint_stroke(mask, [prev, cur])``
call per mouse move (each returns an undoable edit), and one ``MaskEdit.combine`` at
mouse release (one undo command). The naive reference computes, for every dab, the
distance of **every pixel of the image** to the same segment and writes the pixels
within the radius (no undo data at all, so the comparison favours it). Both must give
the identical mask (checked on the dabs the naive brush is timed on); the script exits
with status 1 if not::

    python benchmarks/bench_brush.py --size 4096 --dabs 200 --radius 12 --json brush.json

The naive brush is slow (a full-image distance field per dab), so by default it is
timed on the first ``--naive-dabs`` dabs only; per-dab times are compared.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

try:
    from occstudio.core.edits import MaskEdit, paint_stroke
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from occstudio.core.edits import MaskEdit, paint_stroke


def make_stroke(size: int, dabs: int, seed: int) -> np.ndarray:
    """``dabs`` (y, x) mouse positions: a smooth random walk, 4-12 px apart, inside the image."""
    rng = np.random.default_rng(seed)
    angle = np.cumsum(rng.normal(0, 0.25, dabs))
    step = rng.uniform(4, 12, dabs)
    pts = np.cumsum(np.stack([np.sin(angle) * step, np.cos(angle) * step], axis=1), axis=0)
    pts += np.array([size * 0.3, size * 0.2])
    return np.clip(pts, 0, size - 1)


def occstudio_stroke(mask: np.ndarray, pts: np.ndarray, radius: float) -> tuple[float, MaskEdit | None]:
    """Paint dab by dab (GUI pattern) and combine into one undo edit; returns (seconds, edit)."""
    start = time.perf_counter()
    edits = [paint_stroke(mask, pts[:1], radius, True)]
    for i in range(1, len(pts)):
        edits.append(paint_stroke(mask, pts[i - 1 : i + 1], radius, True))
    stroke = MaskEdit.combine(edits)
    return time.perf_counter() - start, stroke


def naive_stroke(mask: np.ndarray, pts: np.ndarray, radius: float) -> float:
    """Full-image distance-to-segment mask per dab (the approach to avoid); returns seconds."""
    yy = np.arange(mask.shape[0], dtype=np.float64)[:, None]
    xx = np.arange(mask.shape[1], dtype=np.float64)[None, :]
    r2 = radius * radius + 1e-9
    start = time.perf_counter()
    segments = [(pts[0], pts[0])] + [(pts[i - 1], pts[i]) for i in range(1, len(pts))]
    for a, b in segments:
        ay, ax = yy - a[0], xx - a[1]
        dy, dx = float(b[0] - a[0]), float(b[1] - a[1])
        seg2 = dy * dy + dx * dx
        if seg2 == 0.0:
            inside = ay * ay + ax * ax <= r2
        else:
            t = np.clip((ay * dy + ax * dx) / seg2, 0.0, 1.0)
            ey, ex = ay - t * dy, ax - t * dx
            inside = ey * ey + ex * ex <= r2
        mask[inside] = True
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=4096, help="mask side in pixels")
    parser.add_argument("--dabs", type=int, default=200, help="mouse positions in the stroke")
    parser.add_argument("--radius", type=float, default=12.0, help="brush radius in pixels")
    parser.add_argument("--naive-dabs", type=int, default=10, help="dabs the naive brush is timed on")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions (median reported)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    pts = make_stroke(args.size, args.dabs, args.seed)
    naive_n = max(1, min(args.naive_dabs, args.dabs))

    ours_times, naive_times = [], []
    exact = True
    stroke = None
    for _ in range(args.repeat):
        mask = np.zeros((args.size, args.size), bool)
        seconds, stroke = occstudio_stroke(mask, pts, args.radius)
        ours_times.append(seconds / args.dabs)
        # correctness on the naive subset: identical masks
        part = np.zeros_like(mask)
        occstudio_stroke(part, pts[:naive_n], args.radius)
        naive = np.zeros_like(mask)
        naive_times.append(naive_stroke(naive, pts[:naive_n], args.radius) / naive_n)
        exact &= bool(np.array_equal(part, naive))
        # the combined edit undoes the whole stroke
        stroke.revert(mask)
        exact &= not mask.any()

    ours_ms = statistics.median(ours_times) * 1e3
    naive_ms = statistics.median(naive_times) * 1e3
    result: dict[str, Any] = {
        "size": args.size,
        "dabs": args.dabs,
        "radius": args.radius,
        "naive_dabs_timed": naive_n,
        "occstudio_ms_per_dab": round(ours_ms, 4),
        "naive_ms_per_dab": round(naive_ms, 3),
        "speedup": round(naive_ms / ours_ms, 1) if ours_ms > 0 else None,
        "stroke_ms_total": round(ours_ms * args.dabs, 2),
        "undo_edit_bytes": stroke.nbytes if stroke is not None else 0,
        "full_mask_bytes": args.size * args.size,
        "identical_masks": exact,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
    }
    print(
        f"{args.size}² mask, {args.dabs}-dab stroke, radius {args.radius:g}:\n"
        f"  occstudio paint_stroke (bbox-local): {ours_ms:8.3f} ms/dab "
        f"({ours_ms * args.dabs:.1f} ms for the stroke incl. the undo merge)\n"
        f"  naive full-image distance per dab:   {naive_ms:8.3f} ms/dab (timed on {naive_n} dabs)\n"
        f"  speed-up: {result['speedup']}×; undo data {result['undo_edit_bytes'] / 1e6:.2f} MB "
        f"vs {result['full_mask_bytes'] / 1e6:.1f} MB per full snapshot; identical: {exact}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
