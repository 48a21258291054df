"""Depth metrics against hand-computed values; mask IoU and boundary F-score."""

from __future__ import annotations

import math

import numpy as np
import pytest

from occstudio.core.compute.depth_metrics import boundary_fscore, depth_metrics, mask_boundary, mask_iou
from occstudio.core.errors import DataError


def test_depth_metrics_hand_computed():
    gt = np.array([[1.0, 2.0], [4.0, 0.0]])  # the 0 is invalid
    pred = np.array([[1.5, 2.0], [2.0, 7.0]])
    m = depth_metrics(pred, gt)
    # valid pairs (1.5, 1), (2, 2), (2, 4)
    assert m["n_valid"] == 3
    assert m["abs_rel"] == pytest.approx((0.5 / 1 + 0 + 2 / 4) / 3)
    assert m["sq_rel"] == pytest.approx((0.25 / 1 + 0 + 4 / 4) / 3)
    assert m["rmse"] == pytest.approx(math.sqrt((0.25 + 0 + 4) / 3))
    assert m["rmse_log"] == pytest.approx(math.sqrt((math.log(1.5) ** 2 + 0 + math.log(0.5) ** 2) / 3))
    # ratios 1.5, 1, 2: < 1.25 -> 1/3; < 1.5625 -> 2/3; < 1.953 -> 2/3
    assert m["a1"] == pytest.approx(1 / 3) and m["a2"] == pytest.approx(2 / 3) and m["a3"] == pytest.approx(2 / 3)
    assert m["scale"] == 1.0


def test_depth_metrics_perfect_range_mask_clamp_and_median_scaling():
    rng = np.random.default_rng(0)
    gt = rng.uniform(1, 80, (20, 30))
    perfect = depth_metrics(gt.copy(), gt)
    assert perfect["abs_rel"] == 0 and perfect["rmse"] == 0 and perfect["a1"] == 1
    limited = depth_metrics(gt, gt, max_depth=40.0)
    assert limited["n_valid"] == int(np.count_nonzero(gt <= 40))
    mask = np.zeros_like(gt, dtype=bool)
    mask[:5] = True
    assert depth_metrics(gt, gt, mask)["n_valid"] == 5 * 30
    pred = gt.copy()
    pred[0, 0] = 0.0  # a missing prediction: clamped to min_depth, or dropped
    clamped = depth_metrics(pred, gt)
    assert clamped["n_valid"] == gt.size and np.isfinite(clamped["rmse_log"])
    dropped = depth_metrics(pred, gt, clamp=False)
    assert dropped["n_valid"] == gt.size - 1 and dropped["abs_rel"] == 0
    scaled = depth_metrics(gt * 0.37, gt, median_scaling=True)
    assert scaled["scale"] == pytest.approx(1 / 0.37) and scaled["abs_rel"] == pytest.approx(0, abs=1e-12)
    empty = depth_metrics(gt, np.zeros_like(gt))
    assert empty["n_valid"] == 0 and math.isnan(empty["rmse"])
    with pytest.raises(DataError):
        depth_metrics(gt, gt[:-1])


def test_mask_iou():
    a = np.zeros((10, 10), np.uint8)
    b = np.zeros((10, 10), np.uint8)
    a[0:4, 0:5] = 255  # 20 px
    b[2:6, 0:5] = 1  # 20 px, overlap 10
    assert mask_iou(a, b) == pytest.approx(10 / 30)
    assert mask_iou(a, a) == 1.0
    assert mask_iou(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 3] = a  # last channel is the mask
    assert mask_iou(rgba, a) == 1.0


def test_boundary_of_a_square():
    m = np.zeros((7, 7), bool)
    m[1:6, 1:6] = True
    edge = mask_boundary(m)
    assert edge.sum() == 16 and not edge[2:5, 2:5].any()
    full = np.ones((4, 4), bool)
    assert mask_boundary(full).sum() == 12  # the image border counts as outside


def test_boundary_fscore_tolerance():
    gt = np.zeros((50, 50), bool)
    gt[10:40, 10:40] = True
    shifted = np.roll(gt, 2, axis=1)
    exact = boundary_fscore(gt, gt)
    assert exact["fscore"] == 1.0 and exact["tolerance"] == math.ceil(0.008 * math.hypot(50, 50))
    loose = boundary_fscore(shifted, gt, tolerance=2)
    assert loose["fscore"] == 1.0
    strict = boundary_fscore(shifted, gt, tolerance=1)
    # the left and right edges moved by 2 px (30 px of the 116 each side), top/bottom overlap
    assert 0.4 < strict["fscore"] < 1.0
    assert strict["precision"] == pytest.approx(strict["recall"], abs=0.02)
    assert boundary_fscore(np.zeros((5, 5)), np.zeros((5, 5)))["fscore"] == 1.0
    assert boundary_fscore(gt, np.zeros_like(gt))["fscore"] == 0.0
