"""Chamfer distance N×N: occstudio's ``nearest_distances`` (CPU, and CUDA when present) against
the reference, scipy ``cKDTree`` both directions (``workers=-1``), in the same run.

Imports only numpy, scipy, torch (lazily, for the GPU path) and ``occstudio.core``, so it runs
on a GPU machine without Qt/VTK. It checks that every backend gives the reference's numbers
(indices equal, distances equal to float64 rounding) and exits with status 1 if not::

    python benchmarks/bench_chamfer.py --n 100000 --json chamfer.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

try:
    from occstudio.core.compute.backend import have_cuda
    from occstudio.core.compute.nearest import nearest_distances
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from occstudio.core.compute.backend import have_cuda
    from occstudio.core.compute.nearest import nearest_distances


def make_points(n: int, distribution: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two point sets of ``n`` points: GT and a perturbed "prediction" with 1 % outliers."""
    rng = np.random.default_rng(seed)
    if distribution == "uniform":
        return rng.random((n, 3)), rng.random((n, 3))

    def torus(m: int) -> np.ndarray:  # a surface, like sampled meshes
        u, v = rng.random((2, m)) * 2 * np.pi
        r, big = 0.15, 0.35
        return np.stack([(big + r * np.cos(v)) * np.cos(u), (big + r * np.cos(v)) * np.sin(u), r * np.sin(v)], 1)

    gt = torus(n)
    pred = torus(n) * [1.03, 0.98, 1.0] + rng.normal(scale=0.003, size=(n, 3))
    k = max(1, n // 100)
    pred[:k] = rng.uniform(-0.6, 0.6, size=(k, 3))  # floaters
    return gt, pred


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of ``repeat`` calls and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def reference(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from scipy.spatial import cKDTree

    d_p, i_p = cKDTree(gt).query(pred, k=1, workers=-1)
    d_g, i_g = cKDTree(pred).query(gt, k=1, workers=-1)
    return d_p, i_p, d_g, i_g


def ours(gt: np.ndarray, pred: np.ndarray, device: str) -> tuple[np.ndarray, ...]:
    d_p, i_p = nearest_distances(pred, gt, device=device, return_index=True)
    d_g, i_g = nearest_distances(gt, pred, device=device, return_index=True)
    return d_p, i_p, d_g, i_g


def chamfer(d_p: np.ndarray, d_g: np.ndarray) -> tuple[float, float]:
    return float(d_p.mean() + d_g.mean()), float((d_p**2).mean() + (d_g**2).mean())


def compare(ref: tuple[np.ndarray, ...], got: tuple[np.ndarray, ...]) -> dict[str, Any]:
    d_ref = np.concatenate([ref[0], ref[2]])
    d_got = np.concatenate([got[0], got[2]])
    i_ref = np.concatenate([ref[1], ref[3]])
    i_got = np.concatenate([got[1], got[3]])
    same_index = i_ref == i_got
    # a differing index is acceptable only for an exact tie (equal distance)
    tie_ok = bool(np.all(same_index | (np.abs(d_ref - d_got) <= 1e-12 * max(1.0, float(d_ref.max())))))
    max_abs = float(np.max(np.abs(d_ref - d_got))) if len(d_ref) else 0.0
    max_rel = float(np.max(np.abs(d_ref - d_got) / np.maximum(d_ref, 1e-300))) if len(d_ref) else 0.0
    c_ref, c_got = chamfer(ref[0], ref[2]), chamfer(got[0], got[2])
    agree = tie_ok and max_abs <= 1e-9 and all(abs(a - b) <= 1e-9 * abs(a) for a, b in zip(c_ref, c_got))
    return {
        "index_agreement": float(same_index.mean()),
        "max_abs_distance_diff": max_abs,
        "max_rel_distance_diff": max_rel,
        "chamfer_l1": c_got[0],
        "chamfer_l2": c_got[1],
        "agree": bool(agree),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="points per set (default 100000)")
    parser.add_argument("--distribution", choices=("surface", "uniform"), default="surface")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch-cpu", action="store_true", help="also time the torch path on CPU (slow)")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()

    gt, pred = make_points(args.n, args.distribution, args.seed)
    reference(gt[:1000], pred[:1000])  # warm up scipy's thread pool
    t_ref, ref = timed(lambda: reference(gt, pred), args.repeat)
    c_ref = chamfer(ref[0], ref[2])
    result: dict[str, Any] = {
        "benchmark": "chamfer",
        "n": args.n,
        "distribution": args.distribution,
        "repeat": args.repeat,
        "machine": platform.platform(),
        "reference": "scipy cKDTree, both directions, workers=-1",
        "reference_s": t_ref,
        "reference_chamfer_l1": c_ref[0],
        "reference_chamfer_l2": c_ref[1],
        "backends": {},
    }
    print(f"Chamfer {args.n:,} × {args.n:,} ({args.distribution}), median of {args.repeat}")
    print(f"  reference cKDTree (both directions): {t_ref:.4f} s   chamfer_l1={c_ref[0]:.9g}")
    devices = ["cpu"] + (["torch-cpu"] if args.torch_cpu else []) + (["cuda"] if have_cuda() else [])
    if not have_cuda():
        print("  (no CUDA device: GPU path not timed)")
    ok = True
    for device in devices:
        ours(gt[:2000], pred[:2000], device)  # warm-up (CUDA context, kernels)
        t, got = timed(lambda d=device: ours(gt, pred, d), args.repeat)
        cmp = compare(ref, got)
        ok &= cmp["agree"]
        entry = {"seconds": t, "speedup_vs_reference": t_ref / t if t > 0 else None, **cmp}
        if device == "cuda":
            import torch

            entry["gpu"] = torch.cuda.get_device_name(0)
        result["backends"][device] = entry
        print(
            f"  occstudio nearest_distances[{device}]: {t:.4f} s   ratio reference/ours = {t_ref / t:.2f}×   "
            f"max |Δd| = {cmp['max_abs_distance_diff']:.3g}   same index {100 * cmp['index_agreement']:.4f} %   "
            f"{'AGREE' if cmp['agree'] else 'MISMATCH'}"
        )
    result["agree"] = bool(ok)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
