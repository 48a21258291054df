"""Occ3D-nuScenes occupancy metrics: challenge mIoU, SelfOcc mIoU, geometric IoU, F-score.

Definitions (formats.md §2), reproduced from the reference code
----------------------------------------------------------------
*Challenge mIoU* (CVPR 2023 occupancy challenge devkit, ``Metric_mIoU``): keep the
voxels where ``mask_camera`` is set; accumulate one 18×18 confusion matrix over the
whole set (rows ground truth, columns prediction, ``hist[g, p] += 1``); per class
``IoU_c = TP / (TP + FP + FN) = diag / (row_sum + col_sum - diag)``; a class with
``TP + FP + FN == 0`` has IoU NaN; mIoU = ``nanmean(IoU[0:17]) * 100`` (free = 17
excluded, "others" = 0 included). Ground-truth labels outside 0..17 (e.g. 255) are
skipped like the devkit does. A per-frame mIoU is the same formula on one sample.

*SelfOcc / UnsOcc mIoU* (SelfOcc ``utils/metric_util.py``, ``MeanIoU``): classes 1..16
only ("others" excluded) and a class never *seen* in the ground truth
(``TP + FN == 0``, i.e. its ground-truth count is 0) scores 1 (100 %) whatever the
prediction; mIoU is the plain mean ×100. Notes: SelfOcc's rule tests the ground-truth
count only, so a class predicted but absent from the ground truth still scores 1; its
evaluation script also clears predictions above/below the ground truth's occupied
height range before scoring, which is a pre-processing step not done here; and it
accumulates in float32 tensors, so totals beyond 2^24 voxels can differ from our exact
int64 counts in the last digits.

*Geometric IoU*: occupied = label != 17 inside the mask; IoU of occupied ×100,
computed from the same confusion matrix.

*Challenge F-score* (devkit ``Metric_FScore``): :func:`challenge_fscore`.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np

from occstudio.core.compute import confusion_jit, numba_support
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.labels import OCC3D_CLASS_NAMES

T = TypeVar("T")
_END = object()

N_CLASSES = 18
FREE_ID = 17

Variant = Literal["occ3d", "selfocc"]
MaskChoice = Literal["camera", "lidar", "none"]


def confusion_matrix(
    gt: np.ndarray,
    pred: np.ndarray,
    mask: np.ndarray | None = None,
    n_classes: int = N_CLASSES,
) -> np.ndarray:
    """The ``(n, n)`` confusion matrix ``hist[gt, pred]``, the counts of ``bincount(n * gt + pred)``.

    Parameters
    ----------
    gt, pred
        Integer label arrays of the same shape.
    mask
        Voxels to keep (non-zero = keep); all voxels when ``None``.
    n_classes
        Number of classes ``n``.

    Returns
    -------
    numpy.ndarray
        int64 ``(n, n)``: rows ground truth, columns prediction.

    Raises
    ------
    ValueError
        Shapes differ, labels are not integers, or a kept voxel has a predicted label
        outside ``0..n-1``.
        Voxels whose ground truth is outside ``0..n-1`` (e.g. 255) are skipped.

    Notes
    -----
    uint8 (or bool) labels with ``n <= 255``, the Occ3D case, take a fast path
    (:func:`_confusion_matrix_u8`); with a mask, ``n <= 32`` and numba installed
    (``occstudio[fast]``), a compiled one (:mod:`~occstudio.core.compute.confusion_jit`);
    other integer types go through ``bincount``. All count exactly the same voxels.
    """
    gt = np.asarray(gt)
    pred = np.asarray(pred)
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth {gt.shape} and prediction {pred.shape} differ in shape")
    for what, arr in (("ground truth", gt), ("prediction", pred)):
        if arr.dtype.kind not in "uib":
            raise ValueError(f"{what} labels must be integers, got dtype {arr.dtype}")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != gt.shape:
            raise ValueError(f"mask {mask.shape} and labels {gt.shape} differ in shape")
    if 1 <= n_classes <= 255 and gt.dtype in _BYTE_DTYPES and pred.dtype in _BYTE_DTYPES:
        if mask is not None and n_classes <= confusion_jit.LABEL_LIMIT and confusion_jit.available():
            hist = _confusion_matrix_jit(gt, pred, mask, n_classes)
            if hist is not None:
                return hist
        return _confusion_matrix_u8(gt, pred, mask, n_classes)
    if mask is not None:
        keep = np.flatnonzero(mask)  # gather by index: faster than boolean indexing twice
        g = gt.reshape(-1).take(keep)
        p = pred.reshape(-1).take(keep)
    else:
        g = gt.reshape(-1)
        p = pred.reshape(-1)
    n2 = n_classes * n_classes
    if g.size == 0:
        return np.zeros((n_classes, n_classes), dtype=np.int64)
    unsigned = g.dtype.kind in "ub"
    if g.max() >= n_classes or (not unsigned and g.min() < 0):
        valid = (g >= 0) & (g < n_classes)
        g = g[valid]
        p = p[valid]
    if p.size and (p.max() >= n_classes or (p.dtype.kind not in "ub" and p.min() < 0)):
        bad = int(p[(p < 0) | (p >= n_classes)][0])
        raise ValueError(f"predicted label {bad} outside 0..{n_classes - 1}")
    index_type = np.uint16 if n2 <= 1 << 16 else np.int64
    idx = g.astype(index_type)
    idx *= index_type(n_classes)
    idx += p.astype(index_type, copy=False)
    return np.bincount(idx, minlength=n2).astype(np.int64, copy=False).reshape(n_classes, n_classes)


_BYTE_DTYPES = (np.dtype(np.uint8), np.dtype(np.bool_))

#: Below this share of non-zero 8-byte mask words, :func:`_confusion_matrix_u8` first
#: gathers those words (Occ3D's camera mask: about one word in five).
_WORD_FILTER_SHARE = 0.5

_COUNT_BY_SORT: bool | None = None


def _count_by_sort() -> bool:
    """Whether sorting 16-bit keys counts them faster than ``np.bincount`` here.

    numpy sorts 16-bit integers with SIMD (AVX-512) kernels where the CPU has them, which
    beats ``bincount``'s one-increment-at-a-time loop, above all when one bin dominates
    (free space); without them ``bincount`` wins. Both count exactly, so only the speed
    depends on this one-off measurement (a few milliseconds, on first use).
    """
    global _COUNT_BY_SORT
    if _COUNT_BY_SORT is None:
        import time

        rng = np.random.default_rng(0)
        keys = np.where(rng.random(1 << 16) < 0.5, 0x1111, rng.integers(0, 0x1212, 1 << 16)).astype(np.uint16)
        best = {True: np.inf, False: np.inf}
        for _ in range(7):  # the best of several: a busy machine only adds time
            for by_sort in (True, False):
                t0 = time.perf_counter()
                if by_sort:
                    np.sort(keys).searchsorted(np.arange(0, 0x1300, 0x100, dtype=np.uint16))
                else:
                    np.bincount(keys, minlength=1 << 16)
                best[by_sort] = min(best[by_sort], time.perf_counter() - t0)
        # bincount only when clearly faster (sorting wins by 2-3x where SIMD sorts exist)
        _COUNT_BY_SORT = best[False] > 0.7 * best[True]
    return _COUNT_BY_SORT


@functools.lru_cache(maxsize=8)
def _key_edges(n: int) -> np.ndarray:
    """Sorted-key bin edges of :func:`_confusion_matrix_u8`: per ground-truth class ``g``,
    ``g << 8 | 0..n`` then ``(g + 1) << 8`` (uint16: ``n << 8 < 2**16``), read-only."""
    edges = (np.arange(n, dtype=np.uint32)[:, None] << 8) + np.r_[np.arange(n + 1), 256].astype(np.uint32)
    edges = edges.reshape(-1).astype(np.uint16)
    edges.flags.writeable = False
    return edges


def _confusion_matrix_u8(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray | None, n: int) -> np.ndarray:
    """:func:`confusion_matrix` of byte labels (``n <= 255``), without per-voxel gathers.

    Every kept voxel becomes the 16-bit key ``gt << 8 | pred``; a masked-out voxel becomes
    0xFFFF (ground truth 255, like an ignored label), so nothing is gathered voxel by voxel.
    With a sparse mask only its non-zero 8-byte words are looked at. The keys are counted
    by sorting them and finding the ``n × (n + 1)`` bin edges
    (``searchsorted``), or by one ``bincount`` over the 65536 keys (:func:`_count_by_sort`);
    keys whose ground truth is ``>= n`` fall outside the bins (skipped), and keys with a
    valid ground truth and a prediction ``>= n`` are counted to raise the error.
    """
    g = np.ascontiguousarray(gt).reshape(-1).view(np.uint8)
    p = np.ascontiguousarray(pred).reshape(-1).view(np.uint8)
    if mask is not None:
        m = mask if mask.dtype == np.bool_ else mask != 0
        m = np.ascontiguousarray(m).reshape(-1).view(np.uint8)
        if m.size and m.size % 8 == 0:
            words = m.view(np.uint64)
            live = np.flatnonzero(words != 0)
            if live.size <= _WORD_FILTER_SHARE * words.size:
                m = words.take(live).view(np.uint8)
                g = g.view(np.uint64).take(live).view(np.uint8)
                p = p.view(np.uint64).take(live).view(np.uint8)
        drop = m - np.uint8(1)  # 0 where kept, 255 where masked out
        hi = drop | g
    else:
        drop, hi = None, g
    key = np.left_shift(hi, 8, dtype=np.uint16)
    np.bitwise_or(key, p, out=key)
    if drop is not None:
        np.bitwise_or(key, drop, out=key)  # every masked-out voxel is 0xFFFF: one long run sorts fast
    if _count_by_sort():
        key.sort()
        cuts = key.searchsorted(_key_edges(n)).reshape(n, n + 2)
        hist = (cuts[:, 1 : n + 1] - cuts[:, :n]).astype(np.int64, copy=False)
        if not np.array_equal(cuts[:, n], cuts[:, n + 1]):
            c = int(np.flatnonzero(cuts[:, n + 1] - cuts[:, n])[0])
            raise ValueError(f"predicted label {int(key[cuts[c, n]]) & 0xFF} outside 0..{n - 1}")
        return hist
    else:
        table = np.bincount(key, minlength=1 << 16).reshape(256, 256)[:n]
        hist, over = table[:, :n], table[:, n:]
        if over.any():
            raise ValueError(f"predicted label {n + int(np.flatnonzero(over.any(axis=0))[0])} outside 0..{n - 1}")
    return np.ascontiguousarray(hist, dtype=np.int64)


def _confusion_matrix_jit(gt: np.ndarray, pred: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray | None:
    """:func:`confusion_matrix` of byte labels under a mask by the compiled kernel;
    ``None`` when it cannot count this frame (a length not a multiple of 8, or a kept
    voxel with a label of 32 or more), for the general path to count."""
    if gt.size % 8:
        return None
    g = np.ascontiguousarray(gt).reshape(-1).view(np.uint8)
    p = np.ascontiguousarray(pred).reshape(-1).view(np.uint8)
    m = np.ascontiguousarray(mask).reshape(-1)
    m = m.view(np.uint8) if m.dtype in _BYTE_DTYPES else (m != 0).view(np.uint8)
    return confusion_jit.confusion_counts(g, p, m, n)


def per_class_iou(hist: np.ndarray) -> np.ndarray:
    """IoU per class, ``diag / (row_sum + col_sum - diag)``; NaN when the class is absent
    from both ground truth and prediction. Fractions in [0, 1], float64."""
    hist = np.asarray(hist)
    tp = hist.diagonal()
    return _iou(tp, hist.sum(1), hist.sum(0))


def _iou(tp: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``tp / (rows + cols - tp)`` in float64, NaN where the denominator is 0 (no warning)."""
    denom = rows + cols - tp
    out = np.full(tp.shape, np.nan)
    np.true_divide(tp, denom, out=out, where=denom != 0)
    return out


def _nanmean(values: np.ndarray) -> float:
    """``numpy.nanmean`` of a 1-D float64 array, bit for bit (NaNs count as 0 in the same
    pairwise sum, divided by the number of non-NaN values), without its overhead; NaN
    when every value is NaN."""
    nan = np.isnan(values)
    count = values.size - int(np.count_nonzero(nan))
    if count == 0:
        return float("nan")
    return float(np.add.reduce(np.where(nan, 0.0, values)) / count)


def miou_from_hist(hist: np.ndarray, variant: Variant = "occ3d", free_id: int = FREE_ID) -> float:
    """mIoU ×100 of a confusion matrix.

    Parameters
    ----------
    hist
        ``(n, n)`` confusion matrix (rows ground truth).
    variant
        ``"occ3d"``: the challenge's nan-mean over classes ``0..free_id-1``.
        ``"selfocc"``: SelfOcc's mean over classes ``1..free_id-1`` where a class with no
        ground-truth voxel scores 1.
    free_id
        The free class (excluded).

    Returns
    -------
    float
        The mIoU in percent (NaN for ``"occ3d"`` when no class occurs at all).
    """
    hist = np.asarray(hist)
    if variant == "occ3d":
        return _nanmean(per_class_iou(hist)[:free_id]) * 100
    if variant == "selfocc":
        return float(np.mean(selfocc_class_iou(hist, free_id)) * 100)
    raise ValueError(f"unknown mIoU variant {variant!r} (use 'occ3d' or 'selfocc')")


def selfocc_class_iou(hist: np.ndarray, free_id: int = FREE_ID) -> np.ndarray:
    """SelfOcc's per-class IoU for classes ``1..free_id-1`` (fractions; 1 when unseen)."""
    hist = np.asarray(hist)
    rows = hist.sum(1)
    return _selfocc_iou(_iou(hist.diagonal(), rows, hist.sum(0)), rows, free_id)


def _selfocc_iou(iou: np.ndarray, rows: np.ndarray, free_id: int) -> np.ndarray:
    """SelfOcc's rule on the challenge's per-class IoU: classes ``1..free_id-1``, 1 where
    the class has no ground-truth voxel (the same float64 quotient elsewhere)."""
    return np.where(rows[1:free_id] > 0, iou[1:free_id], 1.0)


def geometric_iou_from_hist(hist: np.ndarray, free_id: int = FREE_ID) -> float:
    """Occupied-vs-free IoU ×100 of a confusion matrix (occupied = label != free_id).

    NaN when neither ground truth nor prediction has an occupied voxel.
    """
    hist = np.asarray(hist)
    return _geometric_iou(hist.sum(1), hist.sum(0), hist[free_id, free_id])


def _geometric_iou(rows: np.ndarray, cols: np.ndarray, free_free: Any, free_id: int = FREE_ID) -> float:
    """Geometric IoU ×100 from the row and column sums: with ``f`` the free class,
    TP = total - rows[f] - cols[f] + hist[f, f], TP + FP + FN = total - hist[f, f]."""
    total = rows.sum()
    denom = total - free_free
    tp = denom - rows[free_id] - cols[free_id] + 2 * free_free
    return float(tp / denom * 100) if denom else float("nan")


def _frame_metrics(hist: np.ndarray, free_id: int) -> tuple[np.ndarray, float, float, float, int]:
    """Per-class IoU ×100, challenge mIoU, SelfOcc mIoU, geometric IoU and voxel count of
    one confusion matrix, from one set of row / column sums (equal, bit for bit, to
    :func:`per_class_iou`, :func:`miou_from_hist` and :func:`geometric_iou_from_hist`).
    With numba, compiled (:func:`~occstudio.core.compute.confusion_jit.frame_metrics`,
    the same bits)."""
    if 0 <= free_id < hist.shape[0] <= 128 and hist.dtype == np.int64 and confusion_jit.available():
        return confusion_jit.frame_metrics(np.ascontiguousarray(hist), free_id)
    return _frame_metrics_numpy(hist, free_id)


def _frame_metrics_numpy(hist: np.ndarray, free_id: int) -> tuple[np.ndarray, float, float, float, int]:
    """:func:`_frame_metrics` with numpy."""
    tp = hist.diagonal()
    rows = hist.sum(1)
    cols = hist.sum(0)
    iou = _iou(tp, rows, cols)
    selfocc = _selfocc_iou(iou, rows, free_id)
    return (
        iou * 100,
        _nanmean(iou[:free_id]) * 100,
        float(np.add.reduce(selfocc) / selfocc.size * 100),
        _geometric_iou(rows, cols, hist[free_id, free_id], free_id),
        int(rows.sum()),
    )


def _voxel_centres(labels: np.ndarray, keep: np.ndarray, voxel_size: Sequence[float], origin: Sequence[float]) -> np.ndarray:
    """Centres of kept voxels computed exactly as the devkit does:
    ``index * size + size / 2 + range_min`` in float64."""
    idx = np.nonzero(keep)
    cols = [idx[a][:, None] * voxel_size[a] + voxel_size[a] / 2 + origin[a] for a in range(3)]
    return np.concatenate(cols, axis=1) if cols[0].size else np.zeros((0, 3))


@dataclass
class FScore:
    """One sample's challenge F-score.

    Attributes
    ----------
    precision
        The devkit's *accuracy*: share of predicted points closer than the threshold
        to a ground-truth point.
    recall
        The devkit's *completeness*: share of ground-truth points closer than the
        threshold to a predicted point.
    fscore
        Harmonic mean of the two.
    n_gt, n_pred
        Number of ground-truth and predicted points.
    """

    precision: float
    recall: float
    fscore: float
    n_gt: int
    n_pred: int


def challenge_fscore(
    gt: np.ndarray,
    pred: np.ndarray,
    mask: np.ndarray | None,
    voxel_size: float | Sequence[float] = 0.4,
    threshold: float = 0.4,
    origin: Sequence[float] = (-40.0, -40.0, -1.0),
    void: Sequence[int] = (FREE_ID, 255),
    eps: float = 1e-8,
) -> FScore:
    """The occupancy challenge's F-score of one sample.

    Points are the centres of voxels that are not void (free 17 or 255) and inside the
    mask, for ground truth and prediction separately, computed as the devkit does
    (``index * size + size / 2 + range_min``, float64). Nearest-neighbour distances go
    both ways (scipy ``cKDTree``); accuracy (precision) and completeness (recall) count
    distances strictly below ``threshold`` (``dist < threshold``, as the devkit's
    ``Metric_FScore``). ``F = 2 / (1/(P + eps) + 1/(R + eps))`` as in the devkit; with
    ``eps=0`` this is exactly ``2PR / (P + R)`` (0 when both are 0); the default
    ``eps=1e-8`` reproduces the devkit bit for bit and differs from the exact harmonic
    mean by less than 1e-7.

    Notes
    -----
    * The threshold is 0.4 m as in the devkit's evaluation (``NuSceneOcc.evaluate_miou``
      builds ``Metric_FScore(threshold_acc=0.4, threshold_complete=0.4, ...)``; the
      class's own default, 0.6, is not what the challenge used).
    * At a threshold equal to the voxel size, face-adjacent centres lie at 0.4 m only up
      to float rounding of the centre coordinates (along x about 130 of the 199
      neighbour gaps come out below 0.4), so whether a neighbour counts depends on that
      rounding. We reproduce the devkit's float64 arithmetic so the outcome is the same
      as the devkit's; do not "fix" it with integer distances or the numbers change.
    * Empty sets: no predicted point gives P = R = F = 0 (as the devkit, even when the
      ground truth is empty too); predictions with an empty ground truth give P = 0,
      R = 0, F = 0 (the devkit crashes there).

    Parameters
    ----------
    gt, pred
        ``(X, Y, Z)`` label arrays.
    mask
        Voxels to evaluate (``mask_camera`` in the challenge); all when ``None``.
    voxel_size, origin
        The grid (Occ3D by default).
    threshold
        Distance threshold in metres (strict ``<``).
    void
        Labels that are not points.
    eps
        The devkit's epsilon in the harmonic mean.
    """
    from scipy.spatial import cKDTree

    gt = np.asarray(gt)
    pred = np.asarray(pred)
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth {gt.shape} and prediction {pred.shape} differ in shape")
    size = tuple(float(v) for v in np.broadcast_to(np.asarray(voxel_size, dtype=float), (3,)))
    origin = tuple(float(v) for v in origin)
    keep = np.ones(gt.shape, dtype=bool) if mask is None else np.asarray(mask).astype(bool)
    gt_keep = keep & ~np.isin(gt, list(void))
    pred_keep = keep & ~np.isin(pred, list(void))
    gt_pts = _voxel_centres(gt, gt_keep, size, origin)
    pred_pts = _voxel_centres(pred, pred_keep, size, origin)
    if len(pred_pts) == 0 or len(gt_pts) == 0:
        return FScore(0.0, 0.0, 0.0, len(gt_pts), len(pred_pts))
    complete_dist, _ = cKDTree(pred_pts).query(gt_pts, k=1)
    accuracy_dist, _ = cKDTree(gt_pts).query(pred_pts, k=1)
    recall = float(np.mean(complete_dist < threshold))
    precision = float(np.mean(accuracy_dist < threshold))
    if eps > 0:
        f = 2.0 / (1.0 / (precision + eps) + 1.0 / (recall + eps))
    else:
        f = 2.0 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return FScore(precision, recall, float(f), len(gt_pts), len(pred_pts))


@dataclass
class FrameResult:
    """Metrics of one sample (percentages)."""

    id: str | None
    miou: float
    miou_selfocc: float
    geometric_iou: float
    per_class_iou: np.ndarray
    n_voxels: int
    fscore: FScore | None = None


@dataclass
class OccupancyMetricAccumulator:
    """Accumulates the challenge's confusion matrix over a set of samples.

    Call :meth:`add` once per sample; the set's metrics come from the summed matrix
    (not the mean of per-frame values), exactly as the devkit. Per-frame results are
    kept in :attr:`frames`.

    Parameters
    ----------
    n_classes, free_id
        18 and 17 for Occ3D-nuScenes.
    class_names
        Names for :meth:`summary`.
    compute_fscore
        Also compute :func:`challenge_fscore` per sample (its set value is the mean of
        the per-sample F-scores, as in the devkit).
    fscore_kwargs
        Extra arguments of :func:`challenge_fscore` (threshold, grid...).
    """

    n_classes: int = N_CLASSES
    free_id: int = FREE_ID
    class_names: Sequence[str] = OCC3D_CLASS_NAMES
    compute_fscore: bool = False
    fscore_kwargs: dict[str, Any] = field(default_factory=dict)
    hist: np.ndarray = field(init=False)
    frames: list[FrameResult] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.hist = np.zeros((self.n_classes, self.n_classes), dtype=np.int64)

    def add(
        self,
        gt: np.ndarray,
        pred: np.ndarray,
        mask: np.ndarray | None = None,
        sample_id: str | None = None,
    ) -> FrameResult:
        """Add one sample; returns (and stores) its per-frame metrics."""
        hist = confusion_matrix(gt, pred, mask, self.n_classes)
        self.hist += hist
        fs = None
        if self.compute_fscore:
            fs = challenge_fscore(gt, pred, mask, **self.fscore_kwargs)
        iou, miou, miou_selfocc, geo, n_voxels = _frame_metrics(hist, self.free_id)
        result = FrameResult(
            id=sample_id,
            miou=miou,
            miou_selfocc=miou_selfocc,
            geometric_iou=geo,
            per_class_iou=iou,
            n_voxels=n_voxels,
            fscore=fs,
        )
        self.frames.append(result)
        return result

    def __len__(self) -> int:
        return len(self.frames)

    def per_class_iou(self) -> np.ndarray:
        """IoU per class ×100 over the set (all ``n_classes`` entries, free included)."""
        return per_class_iou(self.hist) * 100

    def miou(self, variant: Variant = "occ3d") -> float:
        """The set's mIoU ×100 (``"occ3d"`` challenge or ``"selfocc"`` variant)."""
        return miou_from_hist(self.hist, variant, self.free_id)

    def geometric_iou(self) -> float:
        """The set's occupied-vs-free IoU ×100."""
        return geometric_iou_from_hist(self.hist, self.free_id)

    def fscore(self) -> float:
        """Mean per-sample challenge F-score (NaN when none was computed)."""
        values = [f.fscore.fscore for f in self.frames if f.fscore is not None]
        return float(np.mean(values)) if values else float("nan")

    def summary(self) -> dict[str, Any]:
        """Everything as plain Python values (for JSON, the metrics dock, the CLI)."""
        iou = self.per_class_iou()
        names = list(self.class_names) + [f"class {i}" for i in range(len(self.class_names), self.n_classes)]
        out: dict[str, Any] = {
            "n_samples": len(self.frames),
            "miou": self.miou("occ3d"),
            "miou_selfocc": self.miou("selfocc"),
            "geometric_iou": self.geometric_iou(),
            "per_class_iou": {names[c]: float(iou[c]) for c in range(self.n_classes) if c != self.free_id},
        }
        if self.compute_fscore:
            out["fscore"] = self.fscore()
        return out


_MASK_KEYS = {"camera": "mask_camera", "lidar": "mask_lidar"}


def occupancy_metrics(
    gt_dict: Mapping[str, np.ndarray],
    pred_labels: np.ndarray,
    mask: MaskChoice = "camera",
    variant: Variant = "occ3d",
    fscore: bool = True,
    class_names: Sequence[str] = OCC3D_CLASS_NAMES,
) -> dict[str, Any]:
    """All occupancy metrics of one sample.

    Parameters
    ----------
    gt_dict
        Ground truth as read by :func:`occstudio.io.occ3d.read_labels_npz`
        (``semantics``, ``mask_lidar``, ``mask_camera``).
    pred_labels
        Predicted labels, same shape.
    mask
        ``"camera"`` (the challenge), ``"lidar"`` or ``"none"``.
    variant
        Which mIoU is reported as ``miou`` (both are always in the result).
    fscore
        Also compute the challenge F-score.

    Returns
    -------
    dict
        ``miou``, ``miou_occ3d``, ``miou_selfocc``, ``geometric_iou``, ``per_class_iou``
        (name -> percent; NaN for absent classes), ``variant``, ``mask``, ``n_voxels``,
        and with ``fscore``: ``fscore``, ``precision``, ``recall``.
    """
    if mask not in ("camera", "lidar", "none"):
        raise ValueError(f"mask must be 'camera', 'lidar' or 'none', got {mask!r}")
    if variant not in ("occ3d", "selfocc"):
        raise ValueError(f"unknown mIoU variant {variant!r} (use 'occ3d' or 'selfocc')")
    gt = np.asarray(gt_dict["semantics"])
    m = None if mask == "none" else np.asarray(gt_dict[_MASK_KEYS[mask]]).astype(bool)
    hist = confusion_matrix(gt, pred_labels, m, N_CLASSES)
    iou = per_class_iou(hist) * 100
    out: dict[str, Any] = {
        "variant": variant,
        "mask": mask,
        "miou_occ3d": miou_from_hist(hist, "occ3d"),
        "miou_selfocc": miou_from_hist(hist, "selfocc"),
        "geometric_iou": geometric_iou_from_hist(hist),
        "per_class_iou": {class_names[c]: float(iou[c]) for c in range(N_CLASSES) if c != FREE_ID},
        "n_voxels": int(hist.sum()),
    }
    out["miou"] = out["miou_occ3d"] if variant == "occ3d" else out["miou_selfocc"]
    if fscore:
        fs = challenge_fscore(gt, pred_labels, m)
        out.update(fscore=fs.fscore, precision=fs.precision, recall=fs.recall)
    return out


def evaluate_set(
    items: Sequence[T],
    load: Callable[[T], tuple[np.ndarray, np.ndarray, np.ndarray | None]],
    *,
    ids: Sequence[str] | None = None,
    workers: int = 4,
    compute_fscore: bool = False,
    progress: Progress | None = None,
) -> OccupancyMetricAccumulator:
    """Evaluate a whole set, loading the next samples on a thread pool meanwhile.

    Loading (``np.load`` of compressed ``.npz``: zlib releases the GIL) overlaps with
    the metric computation of the current sample; results are added in item order.

    Parameters
    ----------
    items
        What ``load`` takes (sample ids, path pairs...).
    load
        ``load(item) -> (gt_labels, pred_labels, mask_or_None)``.
    ids
        Per-frame ids for :attr:`OccupancyMetricAccumulator.frames` (default ``str(item)``).
    workers
        Loader threads (0: load in the calling thread, no overlap). At most
        ``2 * workers`` samples are in memory ahead of the one being scored.
    compute_fscore
        Also compute the challenge F-score per sample.
    progress
        Advanced once per sample; cancellation stops between samples.

    Returns
    -------
    OccupancyMetricAccumulator
        The filled accumulator.
    """
    progress = ensure_progress(progress)
    acc = OccupancyMetricAccumulator(compute_fscore=compute_fscore)
    names = [str(i) for i in items] if ids is None else list(ids)
    progress.start(len(items), "Evaluating occupancy")
    if workers <= 0:
        for item, name in zip(items, names):
            gt, pred, mask = load(item)
            acc.add(gt, pred, mask, sample_id=name)
            progress.advance(1)
        return acc
    pending: deque[Future] = deque()
    it = iter(items)
    with (
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="occ-eval-load") as pool,
        numba_support.one_thread_per_kernel(),  # the loaders have the other cores
    ):
        try:
            for item in it:
                pending.append(pool.submit(load, item))
                if len(pending) >= 2 * workers:
                    break
            for name in names:
                gt, pred, mask = pending.popleft().result()
                nxt = next(it, _END)
                if nxt is not _END:
                    pending.append(pool.submit(load, nxt))
                acc.add(gt, pred, mask, sample_id=name)
                progress.advance(1)
        finally:
            for fut in pending:
                fut.cancel()
    return acc
