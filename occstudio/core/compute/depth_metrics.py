"""Depth-map metrics and 2D mask metrics (formats.md §6).

Depth metrics (Eigen et al. 2014, as in Monodepth2 / most depth benchmarks), over the
*valid* pixels — ground truth finite and in ``(min_depth, max_depth]``, plus an optional
mask:

* ``abs_rel  = mean(|d − d*| / d*)``
* ``sq_rel   = mean((d − d*)² / d*)``
* ``rmse     = sqrt(mean((d − d*)²))``
* ``rmse_log = sqrt(mean((log d − log d*)²))``
* ``a1, a2, a3`` = share of pixels with ``max(d / d*, d* / d) < 1.25, 1.25², 1.25³``

with ``d`` the prediction and ``d*`` the ground truth. Predictions are clamped to
``[min_depth, max_depth]`` first (as Monodepth2 does) so that a missing prediction
(0) does not produce infinities; pass ``clamp=False`` to drop pixels whose prediction is
not positive instead. ``median_scaling`` multiplies the prediction by
``median(d*) / median(d)`` first (for scale-ambiguous methods).

Mask metrics: :func:`mask_iou` and the boundary F-score :func:`boundary_fscore`
(DAVIS-style): boundary pixels are mask pixels with a 4-neighbour outside the mask (or
on the image border); a predicted boundary pixel is correct when a ground-truth boundary
pixel lies within ``tolerance`` pixels (Euclidean, inclusive), and vice versa for recall;
``F = 2PR / (P + R)``. The default tolerance is DAVIS's ``0.008 ×`` image diagonal
(rounded up).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from occstudio.core.errors import DataError


def _check_pair(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape != b.shape:
        raise DataError(None, f"{what}: prediction {a.shape} and ground truth {b.shape} differ in shape")


def depth_metrics(
    pred: np.ndarray,
    gt: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    min_depth: float = 1e-3,
    max_depth: float | None = None,
    clamp: bool = True,
    median_scaling: bool = False,
) -> dict[str, Any]:
    """Depth metrics of a predicted depth map against ground truth.

    Parameters
    ----------
    pred, gt
        Depth maps of the same shape (metres).
    mask
        Extra pixels to keep (non-zero = keep).
    min_depth, max_depth
        Valid ground-truth range ``(min_depth, max_depth]``; also the clamp range.
    clamp
        Clamp predictions to the range (default) instead of dropping non-positive ones.
    median_scaling
        Scale the prediction by the ratio of medians first.

    Returns
    -------
    dict
        ``abs_rel, sq_rel, rmse, rmse_log, a1, a2, a3`` (floats, NaN when no pixel is
        valid), ``n_valid`` and ``scale`` (the median-scaling factor, 1 without it).
    """
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    _check_pair(p, g, "depth metrics")
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(g) & (g > min_depth)
        if max_depth is not None:
            valid &= g <= max_depth
        if mask is not None:
            m = np.asarray(mask)
            _check_pair(m, g, "depth metrics mask")
            valid &= m != 0
        if not clamp:
            valid &= np.isfinite(p) & (p > 0)
    p, g = p[valid], g[valid]
    keys = ("abs_rel", "sq_rel", "rmse", "rmse_log", "a1", "a2", "a3")
    if g.size == 0:
        return {**{k: float("nan") for k in keys}, "n_valid": 0, "scale": 1.0}
    scale = 1.0
    if median_scaling:
        med = np.median(p[np.isfinite(p)]) if np.isfinite(p).any() else 0.0
        if med > 0:
            scale = float(np.median(g) / med)
            p = p * scale
    if clamp:
        p = np.nan_to_num(p, nan=min_depth, posinf=max_depth if max_depth is not None else np.finfo(float).max)
        p = np.clip(p, min_depth, max_depth if max_depth is not None else None)
    diff = p - g
    ratio = np.maximum(p / g, g / p)
    return {
        "abs_rel": float(np.mean(np.abs(diff) / g)),
        "sq_rel": float(np.mean(diff**2 / g)),
        "rmse": float(np.sqrt(np.mean(diff**2))),
        "rmse_log": float(np.sqrt(np.mean((np.log(p) - np.log(g)) ** 2))),
        "a1": float(np.mean(ratio < 1.25)),
        "a2": float(np.mean(ratio < 1.25**2)),
        "a3": float(np.mean(ratio < 1.25**3)),
        "n_valid": int(g.size),
        "scale": scale,
    }


def _as_mask(mask: np.ndarray) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim == 3:
        m = m[..., -1]  # formats.md §1: a multi-channel mask uses its last channel
    if m.ndim != 2:
        raise DataError(None, f"a mask must be H×W (or H×W×C), got shape {m.shape}")
    return m != 0


def mask_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """IoU of two masks (non-zero = in); 1.0 when both are empty."""
    a, b = _as_mask(pred), _as_mask(gt)
    _check_pair(a, b, "mask IoU")
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else float(np.count_nonzero(a & b) / union)


def mask_boundary(mask: np.ndarray) -> np.ndarray:
    """Boundary pixels: in the mask with a 4-neighbour outside it or on the image border."""
    m = _as_mask(mask)
    padded = np.pad(m, 1, constant_values=False)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return m & ~interior


def boundary_fscore(pred: np.ndarray, gt: np.ndarray, tolerance: float | None = None) -> dict[str, float]:
    """DAVIS-style boundary F-score of two masks.

    Parameters
    ----------
    pred, gt
        Masks of the same size.
    tolerance
        Match distance in pixels (inclusive); default ``ceil(0.008 × diagonal)``.

    Returns
    -------
    dict
        ``fscore``, ``precision``, ``recall``, ``tolerance``. Both boundaries empty:
        all 1; one empty: the F-score 0.
    """
    from scipy.ndimage import distance_transform_edt

    a, b = _as_mask(pred), _as_mask(gt)
    _check_pair(a, b, "boundary F-score")
    if tolerance is None:
        tolerance = float(math.ceil(0.008 * math.hypot(*a.shape)))
    ba, bb = mask_boundary(a), mask_boundary(b)
    na, nb = int(ba.sum()), int(bb.sum())
    if na == 0 and nb == 0:
        return {"fscore": 1.0, "precision": 1.0, "recall": 1.0, "tolerance": tolerance}
    if na == 0 or nb == 0:
        return {"fscore": 0.0, "precision": 0.0 if na else 1.0, "recall": 0.0 if nb else 1.0, "tolerance": tolerance}
    dist_to_b = distance_transform_edt(~bb)
    dist_to_a = distance_transform_edt(~ba)
    precision = float(np.mean(dist_to_b[ba] <= tolerance))
    recall = float(np.mean(dist_to_a[bb] <= tolerance))
    f = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"fscore": f, "precision": precision, "recall": recall, "tolerance": tolerance}
