"""Occ3D mIoU: occstudio's accumulator vs the challenge devkit's numpy implementation, same run.

The reference below is the devkit's ``Metric_mIoU`` written out step by step: per frame
its evaluation loop turns both stored masks to bool (``labels.npz`` keeps them as uint8),
then ``add_batch`` keeps the camera-visible voxels (boolean indexing), and
``compute_mIoU`` builds a float64 ``hist`` from
``bincount(n * gt[k] + pred[k])`` with ``k = (gt >= 0) & (gt < n)``, also counting the
labelled and correctly predicted voxels, and rounds the frame's
``nanmean(diag / (hist.sum(1) + hist.sum(0) - diag)) * 100``; the set's per-class IoU
and mIoU (``nanmean(IoU[:17]) * 100``) come from the summed ``hist``.

It reports (1) per-frame timings of both from the arrays as stored (uint8 masks), and of
the devkit's ``add_batch`` alone on bool masks, (2) that every per-class IoU and the
mIoU are *identical* (bit for bit), and (3) whole-set throughput from ``.npz`` files:
loading and scoring one after the other vs. loading on a thread pool overlapped with
scoring (:func:`occstudio.core.compute.occupancy_metrics.evaluate_set`).

Frames are the real ground truth (``--labels``) or a synthetic street, with predictions
made by relabelling a random share of voxels (a different seed per frame). With numba
installed (``occstudio[fast]``) the confusion matrix is counted by the compiled kernel;
``--no-jit`` times the numpy path instead.

Run::

    python benchmarks/bench_miou.py [--labels .../labels.npz] [--frames 40] [--no-jit] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from occstudio.core.compute import confusion_jit
from occstudio.core.compute.occupancy_metrics import (
    OccupancyMetricAccumulator,
    confusion_matrix,
    evaluate_set,
)
from occstudio.io.occ3d import read_labels_npz, read_prediction_npz

N = 18


# ------------------------------------------------------------ the devkit recipe


def devkit_hist(n_cl: int, pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, int, int]:
    """``hist_info``: the frame's counts, and how many voxels are labelled / correct."""
    k = (gt >= 0) & (gt < n_cl)
    labeled = np.sum(k)
    correct = np.sum(pred[k] == gt[k])
    hist = np.bincount(n_cl * gt[k].astype(int) + pred[k].astype(int), minlength=n_cl**2).reshape(n_cl, n_cl)
    return hist, correct, labeled


def devkit_per_class_iu(hist: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.diag(hist) / (hist.sum(1) + hist.sum(0) - np.diag(hist))


class DevkitMIoU:
    """The challenge's accumulation (float64 hist, camera mask)."""

    def __init__(self) -> None:
        self.hist = np.zeros((N, N))
        self.frame_iou: list[np.ndarray] = []
        self.frame_miou: list[float] = []

    def add_batch(self, pred: np.ndarray, gt: np.ndarray, mask_lidar: np.ndarray, mask_camera: np.ndarray) -> None:
        masked_gt = gt[mask_camera]
        masked_pred = pred[mask_camera]
        hist = np.zeros((N, N))
        new_hist, _correct, _labeled = devkit_hist(N, masked_pred.flatten(), masked_gt.flatten())
        hist += new_hist
        iou = devkit_per_class_iu(hist)
        self.frame_miou.append(round(np.nanmean(iou) * 100, 2))
        self.frame_iou.append(iou)
        self.hist += hist

    def add_stored(self, pred: np.ndarray, gt: np.ndarray, mask_lidar: np.ndarray, mask_camera: np.ndarray) -> None:
        """One step of the devkit's evaluation loop, from the arrays as ``labels.npz`` stores them."""
        self.add_batch(pred, gt, mask_lidar.astype(bool), mask_camera.astype(bool))

    def miou(self) -> float:
        return float(np.nanmean(devkit_per_class_iu(self.hist)[: N - 1]) * 100)


# ---------------------------------------------------------------------- data


def synthetic_gt(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sem = np.full((200, 200, 16), 17, np.uint8)
    sem[:, :, 2] = 14
    sem[:, 80:120, 2] = 11
    for _ in range(40):
        x, y = rng.integers(0, 190), rng.integers(82, 114)
        sem[x : x + 11, y : y + 5, 3:7] = 4
    for _ in range(25):
        x, y = rng.integers(0, 180), rng.integers(126, 160)
        sem[x : x + 18, y : y + 10, 3 : 3 + rng.integers(6, 14)] = 15
    cam = np.zeros_like(sem)
    cam[20:180, 20:180, :12] = 1
    return {"semantics": sem, "mask_lidar": cam.copy(), "mask_camera": cam}


def make_prediction(gt: np.ndarray, seed: int, rate: float = 0.2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pred = gt.copy()
    flip = rng.random(gt.shape) < rate
    pred[flip] = rng.integers(0, N, size=int(flip.sum()), dtype=np.uint8)
    return pred


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ---------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, help="an Occ3D labels.npz (default: synthetic)")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--workers", type=int, default=4, help="loader threads for the overlapped run")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--no-jit", action="store_true", help="count with numpy even when numba is installed")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args()
    if args.no_jit:
        confusion_jit.available = lambda: False  # type: ignore[method-assign]
    jit = confusion_jit.available()

    gt = read_labels_npz(args.labels) if args.labels else synthetic_gt()
    source = str(args.labels) if args.labels else "synthetic street"
    sem = gt["semantics"]
    cam_stored, lidar_stored = gt["mask_camera"], gt["mask_lidar"]  # uint8, as labels.npz keeps them
    cam, lidar = cam_stored.astype(bool), lidar_stored.astype(bool)
    preds = [make_prediction(sem, seed) for seed in range(args.frames)]
    t0 = time.perf_counter()
    OccupancyMetricAccumulator().add(sem, preds[0], cam_stored)  # compiles the kernels, or loads them from numba's cache
    t_first = time.perf_counter() - t0

    # 1. per-frame timings (in memory), from the arrays as stored; one accumulator per pass over the frames
    def ours_pass() -> None:
        acc = OccupancyMetricAccumulator()
        for p in preds:
            acc.add(sem, p, cam_stored)

    def ref_pass(stored: bool) -> None:
        acc = DevkitMIoU()
        for p in preds:
            if stored:
                acc.add_stored(p, sem, lidar_stored, cam_stored)
            else:
                acc.add_batch(p, sem, lidar, cam)

    # the four runs take turns in every repeat, so a busy spell of the machine hits them alike
    runs = {
        "ours": ours_pass,
        "hist": lambda: [confusion_matrix(sem, p, cam_stored) for p in preds],
        "ref": lambda: ref_pass(True),
        "ref_batch": lambda: ref_pass(False),
    }
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeat):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    t_ours, t_hist, t_ref, t_ref_batch = (statistics.median(samples[k]) for k in runs)
    best = {k: min(v) for k, v in samples.items()}

    # 2. identical numbers
    ours = OccupancyMetricAccumulator()
    ref = DevkitMIoU()
    for i, p in enumerate(preds):
        ours.add(sem, p, cam_stored, sample_id=str(i))
        ref.add_stored(p, sem, lidar_stored, cam_stored)
    ref_iou = devkit_per_class_iu(ref.hist) * 100
    ours_iou = ours.per_class_iou()
    same_set = bool(np.array_equal(ours_iou, ref_iou, equal_nan=True)) and ours.miou() == ref.miou()
    same_frames = all(
        np.array_equal(f.per_class_iou, r * 100, equal_nan=True) for f, r in zip(ours.frames, ref.frame_iou)
    )

    # 3. whole-set throughput from files
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        np.savez_compressed(root / "labels.npz", **gt)
        pairs = []
        for i, p in enumerate(preds):
            gt_path = root / f"gt_{i:04d}.npz"
            gt_path.write_bytes((root / "labels.npz").read_bytes())
            pred_path = root / f"{i:032x}.npz"
            np.savez_compressed(pred_path, p)
            pairs.append((gt_path, pred_path))

        def load(pair):
            g = read_labels_npz(pair[0], keys=("semantics", "mask_camera"))
            return g["semantics"], read_prediction_npz(pair[1]), g["mask_camera"].astype(bool)

        def ref_sequential():
            r = DevkitMIoU()
            for gp, pp in pairs:
                g = np.load(gp)
                r.add_stored(np.load(pp)["arr_0"], g["semantics"], g["mask_lidar"], g["mask_camera"])
            return r.miou()

        t_seq_ref = median_time(ref_sequential, args.repeat)
        t_seq = median_time(lambda: evaluate_set(pairs, load, workers=0), args.repeat)
        t_par = median_time(lambda: evaluate_set(pairs, load, workers=args.workers), args.repeat)
        par = evaluate_set(pairs, load, workers=args.workers)
        same_files = par.miou() == ref_sequential()

    n = args.frames
    print(f"{n} frames from {source}; camera mask; median of {args.repeat}")
    print(f"per frame, in memory, from the stored arrays: occstudio accumulator {t_ours / n * 1e3:.2f} ms "
          f"({'compiled' if jit else 'numpy'} confusion matrix only {t_hist / n * 1e3:.2f} ms), "
          f"devkit {t_ref / n * 1e3:.2f} ms -> ratio devkit/ours {t_ref / t_ours:.2f}")
    print(f"best of {args.repeat}: occstudio {best['ours'] / n * 1e3:.2f} ms, devkit {best['ref'] / n * 1e3:.2f} ms "
          f"-> ratio {best['ref'] / best['ours']:.2f}")
    print(f"devkit add_batch alone (bool masks given) {t_ref_batch / n * 1e3:.2f} ms -> ratio {t_ref_batch / t_ours:.2f}; "
          f"first call of occstudio's counting (compile or cache load) {t_first * 1e3:.0f} ms")
    print(f"identical: set per-class IoU and mIoU {same_set}; every per-frame IoU {same_frames}; "
          f"from files {same_files}")
    print(f"mIoU {ours.miou():.6f} (devkit {ref.miou():.6f}); SelfOcc variant {ours.miou('selfocc'):.6f}; "
          f"geometric IoU {ours.geometric_iou():.6f}")
    print(f"whole set from .npz: devkit-style sequential {n / t_seq_ref:.1f} frames/s, "
          f"occstudio sequential {n / t_seq:.1f} frames/s, overlapped ({args.workers} loader threads) "
          f"{n / t_par:.1f} frames/s -> speed-up {t_seq / t_par:.2f}x")
    result = {
        "source": source,
        "frames": n,
        "repeat": args.repeat,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "compiled": jit,
        "first_call_ms": t_first * 1e3,
        "per_frame_ms": {
            "occstudio_accumulator": t_ours / n * 1e3,
            "occstudio_confusion_matrix": t_hist / n * 1e3,
            "devkit": t_ref / n * 1e3,
            "devkit_add_batch_only": t_ref_batch / n * 1e3,
        },
        "ratio_devkit_over_occstudio": t_ref / t_ours,
        "best_per_frame_ms": {k: v / n * 1e3 for k, v in best.items()},
        "ratio_best": best["ref"] / best["ours"],
        "identical": {"set": same_set, "per_frame": same_frames, "from_files": same_files},
        "miou": ours.miou(),
        "miou_devkit": ref.miou(),
        "miou_selfocc": ours.miou("selfocc"),
        "geometric_iou": ours.geometric_iou(),
        "frames_per_s": {
            "devkit_sequential": n / t_seq_ref,
            "occstudio_sequential": n / t_seq,
            "occstudio_overlapped": n / t_par,
        },
        "workers": args.workers,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if not (same_set and same_frames and same_files):
        raise SystemExit("numbers differ from the devkit recipe")


if __name__ == "__main__":
    main()
