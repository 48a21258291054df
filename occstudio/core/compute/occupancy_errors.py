"""The GT-vs-prediction error view of semantic occupancy grids.

Each voxel occupied in the GT or the prediction gets one category of
:data:`occstudio.core.labels.ERRORS`: ``0`` correct (same class), ``1`` wrong class
(both occupied, classes differ), ``2`` false positive (predicted occupied, GT free),
``3`` false negative (GT occupied, predicted free); ``255`` elsewhere (not drawn).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

CORRECT, WRONG_CLASS, FALSE_POSITIVE, FALSE_NEGATIVE, EMPTY = 0, 1, 2, 3, 255


def error_categories(
    gt: np.ndarray,
    pred: np.ndarray,
    free_ids: Iterable[int] = (17, 255),
    visible: np.ndarray | None = None,
    classes: Iterable[int] | None = None,
) -> np.ndarray:
    """Per-voxel error category (uint8, same shape as the grids).

    Parameters
    ----------
    gt, pred
        Label grids of the same shape.
    free_ids
        Labels meaning empty space.
    visible
        Only voxels where this mask is set are categorised (e.g. ``mask_camera``).
    classes
        Only voxels whose GT or predicted class is in this set are categorised
        (per-class filtering).
    """
    gt, pred = np.asarray(gt), np.asarray(pred)
    if gt.shape != pred.shape:
        raise ValueError(f"GT {gt.shape} and prediction {pred.shape} differ in shape")
    free = tuple(free_ids)
    gt_occ, pred_occ = ~np.isin(gt, free), ~np.isin(pred, free)
    out = np.full(gt.shape, EMPTY, np.uint8)
    both = gt_occ & pred_occ
    out[both & (gt == pred)] = CORRECT
    out[both & (gt != pred)] = WRONG_CLASS
    out[pred_occ & ~gt_occ] = FALSE_POSITIVE
    out[gt_occ & ~pred_occ] = FALSE_NEGATIVE
    keep = np.ones(gt.shape, bool) if visible is None else np.asarray(visible).astype(bool)
    if classes is not None:
        wanted = list(classes)
        keep &= np.isin(gt, wanted) | np.isin(pred, wanted)
    out[~keep] = EMPTY
    return out
