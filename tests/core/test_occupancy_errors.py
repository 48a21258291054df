"""Error view categories of GT vs prediction grids."""

import numpy as np

from occstudio.core.compute.occupancy_errors import (
    CORRECT,
    EMPTY,
    FALSE_NEGATIVE,
    FALSE_POSITIVE,
    WRONG_CLASS,
    error_categories,
)


def test_each_category_by_hand():
    gt = np.array([4, 4, 17, 11, 17, 4], np.uint8)
    pred = np.array([4, 11, 4, 17, 17, 4], np.uint8)
    out = error_categories(gt, pred)
    assert out.tolist() == [CORRECT, WRONG_CLASS, FALSE_POSITIVE, FALSE_NEGATIVE, EMPTY, CORRECT]


def test_visibility_and_class_filter():
    gt = np.array([4, 4, 11, 11], np.uint8)
    pred = np.array([4, 17, 11, 17], np.uint8)
    visible = np.array([1, 1, 1, 0], bool)
    assert error_categories(gt, pred, visible=visible).tolist() == [CORRECT, FALSE_NEGATIVE, CORRECT, EMPTY]
    assert error_categories(gt, pred, classes=[11]).tolist() == [EMPTY, EMPTY, CORRECT, FALSE_NEGATIVE]


def test_counts_match_confusion_totals():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 18, (20, 20, 4)).astype(np.uint8)
    pred = rng.integers(0, 18, (20, 20, 4)).astype(np.uint8)
    out = error_categories(gt, pred)
    gt_occ, pred_occ = gt != 17, pred != 17
    assert (out == FALSE_POSITIVE).sum() == (pred_occ & ~gt_occ).sum()
    assert (out == CORRECT).sum() == (gt_occ & (gt == pred)).sum()
