"""Occ3D metrics against hand-computed tables and independent reference implementations.

The references below are written out straightforwardly (per-class loops over boolean
masks; brute-force distances) and share no code with the module under test.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from occstudio.core.compute import confusion_jit
from occstudio.core.compute import occupancy_metrics as metrics_module
from occstudio.core.compute.occupancy_metrics import (
    OccupancyMetricAccumulator,
    challenge_fscore,
    confusion_matrix,
    evaluate_set,
    geometric_iou_from_hist,
    miou_from_hist,
    occupancy_metrics,
    per_class_iou,
)
from occstudio.core.jobs import Cancelled, RecordingProgress
from occstudio.io.occ3d import read_labels_npz

REAL_GT = "occ3d/29796060110c4163b07f06eff4af0753/labels.npz"


# ----------------------------------------------------------------- references


def reference_counts(frames):
    """TP/FP/FN per class summed over ``(gt, pred, mask)`` frames, with loops."""
    tp = np.zeros(18, dtype=np.int64)
    fp = np.zeros(18, dtype=np.int64)
    fn = np.zeros(18, dtype=np.int64)
    for gt, pred, mask in frames:
        keep = np.ones(gt.shape, bool) if mask is None else mask.astype(bool)
        g = gt[keep].astype(int)
        p = pred[keep].astype(int)
        for c in range(18):
            tp[c] += int(np.sum((g == c) & (p == c)))
            fp[c] += int(np.sum((g != c) & (p == c)))
            fn[c] += int(np.sum((g == c) & (p != c)))
    return tp, fp, fn


def reference_class_iou(frames):
    """The challenge's IoU_c = TP / (TP + FP + FN) (NaN when the class never occurs)."""
    tp, fp, fn = reference_counts(frames)
    out = []
    for c in range(18):
        denom = tp[c] + fp[c] + fn[c]
        out.append(tp[c] / denom if denom else math.nan)
    return np.array(out)


def reference_miou(frames):
    """Challenge mIoU: nan-mean over classes 0..16, x100."""
    iou = reference_class_iou(frames)[:17]
    present = [v for v in iou if not math.isnan(v)]
    return sum(present) / len(present) * 100


def reference_selfocc_miou(frames):
    """SelfOcc: classes 1..16, a class with no ground-truth voxel scores 1."""
    tp, fp, fn = reference_counts(frames)
    ious = []
    for c in range(1, 17):
        seen = tp[c] + fn[c]
        ious.append(1.0 if seen == 0 else tp[c] / (tp[c] + fp[c] + fn[c]))
    return sum(ious) / len(ious) * 100


def reference_geometric_iou(frames):
    tp = fp = fn = 0
    for gt, pred, mask in frames:
        keep = np.ones(gt.shape, bool) if mask is None else mask.astype(bool)
        g = gt[keep] != 17
        p = pred[keep] != 17
        tp += int(np.sum(g & p))
        fp += int(np.sum(~g & p))
        fn += int(np.sum(g & ~p))
    return tp / (tp + fp + fn) * 100


def reference_fscore(gt, pred, mask, size=0.4, origin=(-40.0, -40.0, -1.0), threshold=0.4):
    """The devkit's recipe with brute-force distances; returns (P, R, F) with eps=1e-8."""

    def points(labels):
        keep = mask.astype(bool) & (labels != 17) & (labels != 255)
        ijk = np.argwhere(keep)
        return np.stack([ijk[:, a] * size + size / 2 + origin[a] for a in range(3)], axis=1)

    g, p = points(gt), points(pred)
    if len(p) == 0:
        return 0.0, 0.0, 0.0
    d = cdist(g, p)
    completeness = float(np.mean(d.min(axis=1) < threshold))
    accuracy = float(np.mean(d.min(axis=0) < threshold))
    eps = 1e-8
    return accuracy, completeness, 2.0 / (1 / (accuracy + eps) + 1 / (completeness + eps))


def perturb(gt, rate, rng):
    pred = gt.copy()
    flip = rng.random(gt.shape) < rate
    pred[flip] = rng.integers(0, 18, size=int(flip.sum()), dtype=np.uint8)
    return pred


def assert_same_iou(a, b, tol=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=0, atol=tol)


# ---------------------------------------------------------- confusion matrix


def test_confusion_matrix_hand_computed():
    gt = np.array([0, 0, 1, 1, 2, 17])
    pred = np.array([0, 1, 1, 1, 17, 17])
    hist = confusion_matrix(gt, pred, n_classes=18)
    assert hist.dtype == np.int64 and hist.shape == (18, 18)
    assert hist[0, 0] == 1 and hist[0, 1] == 1 and hist[1, 1] == 2
    assert hist[2, 17] == 1 and hist[17, 17] == 1 and hist.sum() == 6
    iou = per_class_iou(hist)
    assert iou[0] == pytest.approx(1 / 2)  # TP 1, FN 1
    assert iou[1] == pytest.approx(2 / 3)  # TP 2, FP 1
    assert iou[2] == 0.0
    assert math.isnan(iou[5])
    # mIoU over the classes that occur among 0..16: (1/2 + 2/3 + 0) / 3
    assert miou_from_hist(hist) == pytest.approx((0.5 + 2 / 3 + 0) / 3 * 100, abs=1e-12)


def test_confusion_matrix_mask_and_ignore():
    gt = np.array([3, 3, 255, 4])
    pred = np.array([3, 4, 4, 4])
    mask = np.array([1, 0, 1, 1], dtype=np.uint8)
    hist = confusion_matrix(gt, pred, mask)
    assert hist.sum() == 2  # masked-out voxel and gt 255 skipped
    assert hist[3, 3] == 1 and hist[4, 4] == 1
    with pytest.raises(ValueError, match="predicted label 42"):
        confusion_matrix(np.array([1]), np.array([42]))
    with pytest.raises(ValueError):
        confusion_matrix(np.zeros(3, int), np.zeros(4, int))
    with pytest.raises(ValueError, match="integers"):
        confusion_matrix(np.zeros(3), np.zeros(3))
    # signed ground truth with a negative ignore value is skipped too
    hist = confusion_matrix(np.array([-1, 2], np.int16), np.array([5, 2], np.int16))
    assert hist.sum() == 1 and hist[2, 2] == 1


def slow_confusion(gt, pred, mask, n):
    """Confusion matrix by ``np.add.at`` over the kept voxels with a valid ground truth."""
    g = np.asarray(gt).astype(np.int64).reshape(-1)
    p = np.asarray(pred).astype(np.int64).reshape(-1)
    keep = np.ones(g.size, bool) if mask is None else np.asarray(mask).reshape(-1) != 0
    keep &= (g >= 0) & (g < n)
    out = np.zeros((n, n), dtype=np.int64)
    np.add.at(out, (g[keep], p[keep]), 1)
    return out


@pytest.fixture(params=["sort", "bincount", "compiled"])
def counting(request, monkeypatch):
    """Run a test with each way byte labels are counted: the numpy fast path sorting or
    bincounting its keys, and the numba kernel (masked frames, when numba is installed)."""
    if request.param == "compiled":
        if not confusion_jit.available():
            pytest.skip("numba not installed (the occstudio[fast] extra)")
    else:
        monkeypatch.setattr(confusion_jit, "available", lambda: False)
        monkeypatch.setattr(metrics_module, "_COUNT_BY_SORT", request.param == "sort")
    return request.param


@pytest.mark.parametrize("seed", range(12))
def test_byte_fast_path_matches_slow_reference(seed, counting):
    rng = np.random.default_rng(seed)
    n = int(rng.choice([1, 2, 18, 18, 40, 255]))
    # multiples of 8 voxels (the mask's 8-byte words are filtered) and odd sizes
    shape = tuple(int(v) for v in rng.integers(1, 9, 3)) if seed % 3 == 0 else (int(rng.integers(2, 9)), 8, 4)
    gt = rng.integers(0, n, shape).astype(np.uint8)
    gt[rng.random(shape) < 0.1] = 255  # ignored
    if n < 250:
        gt[rng.random(shape) < 0.05] = n + 3  # outside 0..n-1 (skipped too)
    pred = rng.integers(0, n, shape).astype(np.uint8)
    density = float(rng.choice([0.0, 0.02, 0.3, 0.9, 1.0]))
    masks = [
        None,
        rng.random(shape) < density,  # bool
        np.where(rng.random(shape) < density, rng.integers(1, 256, shape), 0).astype(np.uint8),  # any non-zero keeps
        np.zeros(shape, bool),  # all masked out
        np.ones(shape, bool),
    ]
    for mask in masks:
        ref = slow_confusion(gt, pred, mask, n)
        got = confusion_matrix(gt, pred, mask, n)
        assert got.dtype == np.int64 and got.shape == (n, n)
        np.testing.assert_array_equal(got, ref)
        # the general bincount path (int16 labels) counts the same
        np.testing.assert_array_equal(confusion_matrix(gt.astype(np.int16), pred.astype(np.int16), mask, n), ref)
        # non-contiguous views
        mask_t = None if mask is None else mask.T
        np.testing.assert_array_equal(confusion_matrix(gt.T, pred.T, mask_t, n), slow_confusion(gt.T, pred.T, mask_t, n))


def test_byte_fast_path_sparse_camera_like_mask(counting):
    # an Occ3D-sized grid whose mask keeps a few short runs per column: the word filter applies
    rng = np.random.default_rng(3)
    gt = np.full((200, 200, 16), 17, np.uint8)
    gt[:, :, :3] = rng.integers(0, 17, (200, 200, 3))
    gt[rng.random(gt.shape) < 0.01] = 255
    pred = gt.copy()
    flip = rng.random(gt.shape) < 0.2
    pred[flip] = rng.integers(0, 18, int(flip.sum()))
    mask = np.zeros(gt.shape, bool)
    mask[20:180:3, 20:180, 2:5] = True
    mask[rng.random(gt.shape) < 0.01] = True
    np.testing.assert_array_equal(confusion_matrix(gt, pred, mask), slow_confusion(gt, pred, mask, 18))
    assert confusion_matrix(gt, pred, np.zeros(gt.shape, bool)).sum() == 0


def test_byte_fast_path_bad_predictions(counting):
    gt = np.array([[1, 2, 255, 3], [4, 5, 6, 7]], np.uint8)
    pred = np.array([[1, 2, 200, 3], [4, 5, 6, 99]], np.uint8)
    mask = np.array([[1, 1, 1, 1], [1, 1, 1, 0]], bool)
    # 200 sits under an ignored ground truth, 99 in a masked-out voxel: both skipped
    hist = confusion_matrix(gt, pred, mask)
    assert hist.sum() == 6 and np.all(np.diag(hist)[[1, 2, 3, 4, 5, 6]] == 1)
    with pytest.raises(ValueError, match="predicted label 99 outside 0..17"):
        confusion_matrix(gt, pred, None)
    with pytest.raises(ValueError, match="predicted label 18 outside"):
        confusion_matrix(np.zeros(16, np.uint8), np.full(16, 18, np.uint8), np.ones(16, bool))
    assert confusion_matrix(np.zeros(0, np.uint8), np.zeros(0, np.uint8)).sum() == 0
    # bool labels are bytes too
    hist = confusion_matrix(np.array([True, False, True]), np.array([True, True, False]), n_classes=2)
    np.testing.assert_array_equal(hist, [[0, 1], [1, 1]])


needs_numba = pytest.mark.skipif(not confusion_jit.available(), reason="numba not installed (the occstudio[fast] extra)")


@needs_numba
@pytest.mark.parametrize("n_chunks", [1, 2, 3])
def test_compiled_counts_every_kept_voxel_once(n_chunks):
    rng = np.random.default_rng(n_chunks)
    size = 8 * 30_000
    gt = rng.integers(0, 32, size).astype(np.uint8)
    pred = rng.integers(0, 32, size).astype(np.uint8)
    gt[: size // 2] = 17  # long runs of one pair
    pred[: size // 2] = 17
    mask = np.zeros(size, np.uint8)
    # words with every count of kept bytes, 0..8 (more than four takes the loop)
    for kept in range(9):
        words = np.arange(kept, size // 8, 9)
        for j in rng.permutation(8)[:kept]:
            mask[words * 8 + j] = 1
    table = confusion_jit.confusion_counts(gt, pred, mask, 32, n_chunks=n_chunks)
    ref = np.zeros((32, 32), np.int64)
    np.add.at(ref, (gt[mask == 1], pred[mask == 1]), 1)
    np.testing.assert_array_equal(table, ref)
    # mask bytes other than 0 / 1 keep their voxels as well
    np.testing.assert_array_equal(confusion_jit.confusion_counts(gt, pred, mask * np.uint8(7), 32, n_chunks=n_chunks), ref)
    # a kept label of 32 or more: left to the general path
    gt[np.flatnonzero(mask)[5]] = 255
    assert confusion_jit.confusion_counts(gt, pred, mask, 32, n_chunks=n_chunks) is None


@needs_numba
def test_compiled_path_falls_back_and_checks_like_numpy():
    rng = np.random.default_rng(7)
    gt = rng.integers(0, 18, (40, 40, 16)).astype(np.uint8)
    pred = rng.integers(0, 18, gt.shape).astype(np.uint8)
    mask = rng.random(gt.shape) < 0.1
    gt[rng.random(gt.shape) < 0.05] = 255  # ignored ground truth: counted by the numpy path
    np.testing.assert_array_equal(confusion_matrix(gt, pred, mask), slow_confusion(gt, pred, mask, 18))
    gt[gt == 255] = 20  # 18..31: skipped rows inside the kernel
    np.testing.assert_array_equal(confusion_matrix(gt, pred, mask), slow_confusion(gt, pred, mask, 18))
    bad = np.flatnonzero(mask.reshape(-1) & (gt.reshape(-1) < 18))[3]
    pred.reshape(-1)[bad] = 25
    with pytest.raises(ValueError, match="predicted label 25 outside 0..17"):
        confusion_matrix(gt, pred, mask)
    # more than 32 classes, or a length not a multiple of 8: the numpy path
    np.testing.assert_array_equal(confusion_matrix(gt, pred, mask, 40), slow_confusion(gt, pred, mask, 40))
    odd = (slice(0, 39), slice(None), slice(0, 15))
    pred.reshape(-1)[bad] = 1
    np.testing.assert_array_equal(confusion_matrix(gt[odd], pred[odd], mask[odd]), slow_confusion(gt[odd], pred[odd], mask[odd], 18))


@needs_numba
def test_compiled_counts_from_several_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(5)
    frames = []
    for _ in range(8):
        gt = rng.integers(0, 18, 8 * 40_000).astype(np.uint8)
        pred = rng.integers(0, 18, gt.size).astype(np.uint8)
        mask = (rng.random(gt.size) < 0.1).view(np.uint8)
        frames.append((gt, pred, mask, slow_confusion(gt, pred, mask, 18)))
    with ThreadPoolExecutor(4) as pool:  # parallel kernels launched from several threads take turns
        results = list(pool.map(lambda f: [confusion_jit.confusion_counts(*f[:3], 18) for _ in range(5)], frames))
    for (_, _, _, ref), got in zip(frames, results):
        for hist in got:
            np.testing.assert_array_equal(hist, ref)


@needs_numba
def test_compiled_frame_metrics_are_the_numpy_bits():
    rng = np.random.default_rng(11)
    for _ in range(400):
        n = int(rng.choice([2, 9, 18, 18, 32, 100]))
        free_id = int(rng.integers(0, n))
        scale = 10 ** int(rng.integers(1, 9))
        hist = (rng.integers(0, scale, (n, n)) * (rng.random((n, n)) < rng.random())).astype(np.int64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 of an empty SelfOcc class list
            ref = metrics_module._frame_metrics_numpy(hist, free_id)
        got = confusion_jit.frame_metrics(hist, free_id)
        np.testing.assert_array_equal(got[0], ref[0])  # NaNs in the same places, other values equal
        for a, b in zip(got[1:], ref[1:]):
            assert a == b or (math.isnan(a) and math.isnan(b))


def test_metrics_equal_the_reference_formulas_bit_for_bit():
    """mIoU (numpy's nanmean), SelfOcc mIoU, geometric IoU: per frame and per set, exactly."""

    def reference(h):
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.diag(h) / (h.sum(1) + h.sum(0) - np.diag(h))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            miou = float(np.nanmean(iou[:17]) * 100)
        selfocc = float(np.mean([1.0 if h[c].sum() == 0 else iou[c] for c in range(1, 17)]) * 100)
        occ = np.arange(18) != 17
        tp = h[np.ix_(occ, occ)].sum()
        denom = tp + h[occ, 17].sum() + h[17, occ].sum()
        geo = float(tp / denom * 100) if denom else math.nan
        return iou, miou, selfocc, geo

    def same(a, b):
        return a == b or (math.isnan(a) and math.isnan(b))

    rng = np.random.default_rng(0)
    cells_g = np.repeat(np.arange(18), 18).astype(np.uint8)
    cells_p = np.tile(np.arange(18), 18).astype(np.uint8)
    for i in range(300):
        big = i % 2 == 0
        hist = rng.integers(0, 10**9 if big else 30, (18, 18))
        absent = rng.random(18) < rng.random()
        hist[absent] = 0
        hist[:, absent] = 0
        if i % 9 == 0:
            hist[:] = 0
        iou, miou, selfocc, geo = reference(hist)
        np.testing.assert_array_equal(per_class_iou(hist), iou)
        assert same(miou_from_hist(hist), miou) and miou_from_hist(hist, "selfocc") == selfocc
        assert same(geometric_iou_from_hist(hist), geo)
        acc = OccupancyMetricAccumulator()
        if big:
            acc.hist += hist
        else:  # a sample whose confusion matrix is ``hist``
            frame = acc.add(np.repeat(cells_g, hist.reshape(-1)), np.repeat(cells_p, hist.reshape(-1)))
            np.testing.assert_array_equal(acc.hist, hist)
            np.testing.assert_array_equal(frame.per_class_iou, iou * 100)
            assert same(frame.miou, miou) and frame.miou_selfocc == selfocc and same(frame.geometric_iou, geo)
            assert frame.n_voxels == hist.sum()
        assert same(acc.miou(), miou) and acc.miou("selfocc") == selfocc and same(acc.geometric_iou(), geo)


def test_geometric_iou_hand_computed():
    gt = np.array([1, 1, 17, 17, 5])
    pred = np.array([2, 17, 3, 17, 5])
    hist = confusion_matrix(gt, pred)
    # occupied: gt {0,1,4}, pred {0,2,4} -> TP 2, FP 1, FN 1
    assert geometric_iou_from_hist(hist) == pytest.approx(50.0)
    assert math.isnan(geometric_iou_from_hist(confusion_matrix(np.array([17]), np.array([17]))))


def test_selfocc_variant_rules():
    # class 0 'others' is excluded; class 3 is predicted but never in the GT -> scores 1
    gt = np.array([0, 1, 1, 17])
    pred = np.array([1, 1, 3, 17])
    hist = confusion_matrix(gt, pred)
    # class 1: TP 1, FP 1 (from gt 0), FN 1 -> 1/3; classes 2..16 unseen -> 1 each
    expected = (1 / 3 + 15 * 1.0) / 16 * 100
    assert miou_from_hist(hist, "selfocc") == pytest.approx(expected, abs=1e-12)
    # the challenge variant: class 0 IoU 0, class 1 1/3, class 3 0 -> mean of three
    assert miou_from_hist(hist, "occ3d") == pytest.approx((0 + 1 / 3 + 0) / 3 * 100, abs=1e-12)
    with pytest.raises(ValueError):
        miou_from_hist(hist, "semantickitti")  # type: ignore[arg-type]


# ---------------------------------------------------- against the references


def test_random_frames_match_reference():
    rng = np.random.default_rng(1)
    frames = []
    acc = OccupancyMetricAccumulator()
    for i in range(3):
        gt = rng.integers(0, 18, size=(30, 30, 8), dtype=np.uint8)
        gt[gt == 6] = 17  # a class that never occurs in the GT
        pred = perturb(gt, 0.3, rng)
        mask = (rng.random(gt.shape) < 0.7).astype(np.uint8)
        frames.append((gt, pred, mask))
        res = acc.add(gt, pred, mask, sample_id=f"f{i}")
        assert res.miou == pytest.approx(reference_miou([frames[-1]]), abs=1e-12)
    assert_same_iou(acc.per_class_iou() / 100, reference_class_iou(frames))
    assert abs(acc.miou() - reference_miou(frames)) < 1e-12
    assert abs(acc.miou("selfocc") - reference_selfocc_miou(frames)) < 1e-12
    assert abs(acc.geometric_iou() - reference_geometric_iou(frames)) < 1e-12
    assert [f.id for f in acc.frames] == ["f0", "f1", "f2"]
    assert np.array_equal(acc.hist, sum(confusion_matrix(g, p, m) for g, p, m in frames))


def test_real_gt_against_itself_scores_100(shared_data):
    gt = read_labels_npz(shared_data / REAL_GT)
    sem, cam = gt["semantics"], gt["mask_camera"]
    res = occupancy_metrics(gt, sem.copy(), mask="camera", fscore=True)
    present = set(np.unique(sem[cam.astype(bool)]).tolist()) - {17}
    for cid, name in enumerate(res["per_class_iou"]):
        value = res["per_class_iou"][name]
        if cid in present:
            assert value == 100.0
        else:
            assert math.isnan(value)
    assert res["miou"] == 100.0
    assert res["miou_selfocc"] == 100.0
    assert res["geometric_iou"] == 100.0
    assert res["precision"] == 1.0 and res["recall"] == 1.0
    assert res["fscore"] == pytest.approx(1.0, abs=1e-7)


@pytest.mark.parametrize("mask", ["camera", "lidar", "none"])
def test_real_gt_perturbed_matches_reference(shared_data, mask):
    gt = read_labels_npz(shared_data / REAL_GT)
    sem = gt["semantics"]
    rng = np.random.default_rng(7)
    pred = perturb(sem, 0.15, rng)
    m = {"camera": gt["mask_camera"], "lidar": gt["mask_lidar"], "none": None}[mask]
    frames = [(sem, pred, m)]
    res = occupancy_metrics(gt, pred, mask=mask, fscore=False)
    ref_iou = reference_class_iou(frames) * 100
    names = list(res["per_class_iou"])
    assert_same_iou([res["per_class_iou"][n] for n in names], ref_iou[:17])
    assert abs(res["miou"] - reference_miou(frames)) < 1e-12
    assert abs(res["miou_selfocc"] - reference_selfocc_miou(frames)) < 1e-12
    assert abs(res["geometric_iou"] - reference_geometric_iou(frames)) < 1e-12
    assert 0 < res["miou"] < 100


def test_accumulated_set_is_not_the_mean_of_frames(shared_data):
    gt = read_labels_npz(shared_data / REAL_GT)
    sem, cam = gt["semantics"], gt["mask_camera"]
    rng = np.random.default_rng(3)
    acc = OccupancyMetricAccumulator(compute_fscore=True)
    frames = []
    for rate in (0.05, 0.4):
        pred = perturb(sem, rate, rng)
        frames.append((sem, pred, cam))
        acc.add(sem, pred, cam)
    assert abs(acc.miou() - reference_miou(frames)) < 1e-12
    summary = acc.summary()
    assert summary["n_samples"] == 2 and "free" not in summary["per_class_iou"]
    assert summary["fscore"] == pytest.approx(np.mean([f.fscore.fscore for f in acc.frames]))


def test_evaluate_set_overlapped_equals_sequential():
    rng = np.random.default_rng(5)
    frames = []
    for _ in range(7):
        gt = rng.integers(0, 18, size=(20, 20, 4), dtype=np.uint8)
        frames.append((gt, perturb(gt, 0.2, rng), rng.random(gt.shape) < 0.8))
    seq = evaluate_set(range(7), lambda i: frames[i], workers=0)
    par = evaluate_set(range(7), lambda i: frames[i], workers=2, ids=[f"s{i}" for i in range(7)])
    assert np.array_equal(seq.hist, par.hist)
    assert [f.id for f in par.frames] == [f"s{i}" for i in range(7)]
    assert [f.miou for f in seq.frames] == [f.miou for f in par.frames]
    assert abs(par.miou() - reference_miou(frames)) < 1e-12
    progress = RecordingProgress(cancel_after=3)
    with pytest.raises(Cancelled):
        evaluate_set(range(7), lambda i: frames[i], workers=2, progress=progress)


@needs_numba
def test_overlapped_evaluation_scores_on_one_kernel_thread(monkeypatch):
    from occstudio.core.compute.numba_support import numba_module

    numba = numba_module()
    before = numba.get_num_threads()
    rng = np.random.default_rng(6)
    frames = [(g, perturb(g, 0.2, rng), rng.random(g.shape) < 0.5)
              for g in (rng.integers(0, 18, (16, 16, 8), dtype=np.uint8) for _ in range(4))]
    seen = []
    counted = metrics_module.confusion_matrix

    def recording(*args, **kwargs):
        seen.append(numba.get_num_threads())
        return counted(*args, **kwargs)

    monkeypatch.setattr(metrics_module, "confusion_matrix", recording)
    evaluate_set(range(4), lambda i: frames[i], workers=2)
    assert seen == [1, 1, 1, 1]  # the loader threads have the other cores
    assert numba.get_num_threads() == before
    with pytest.raises(Cancelled):
        evaluate_set(range(4), lambda i: frames[i], workers=2, progress=RecordingProgress(cancel_after=1))
    assert numba.get_num_threads() == before  # restored after a cancel too
    evaluate_set(range(4), lambda i: frames[i], workers=0)
    assert seen[-1] == before  # sequential scoring keeps every kernel thread


# -------------------------------------------------------------------- F-score


def test_fscore_threshold_is_strict():
    gt = np.full((3, 1, 1), 17, np.uint8)
    pred = gt.copy()
    gt[0] = 4
    pred[1] = 4  # centres 0.5 and 1.5: exactly 1.0 apart
    fs = challenge_fscore(gt, pred, None, voxel_size=1.0, threshold=1.0, origin=(0, 0, 0), eps=0.0)
    assert (fs.precision, fs.recall, fs.fscore) == (0.0, 0.0, 0.0)
    fs = challenge_fscore(gt, pred, None, voxel_size=1.0, threshold=1.0 + 1e-9, origin=(0, 0, 0), eps=0.0)
    assert (fs.precision, fs.recall, fs.fscore) == (1.0, 1.0, 1.0)


def test_fscore_harmonic_mean_and_empty_sets():
    gt = np.full((4, 1, 1), 17, np.uint8)
    pred = gt.copy()
    gt[[0, 1]] = 4
    pred[[0, 3]] = 4  # P = 1/2 (voxel 3 is 2 m from any GT), R = 1/2 (voxel 1 is 1 m away)
    fs = challenge_fscore(gt, pred, None, voxel_size=1.0, threshold=0.5, origin=(0, 0, 0), eps=0.0)
    assert fs.precision == 0.5 and fs.recall == 0.5
    assert fs.fscore == 2 * 0.5 * 0.5 / (0.5 + 0.5)
    devkit = challenge_fscore(gt, pred, None, voxel_size=1.0, threshold=0.5, origin=(0, 0, 0))
    assert devkit.fscore == 2.0 / (1 / (0.5 + 1e-8) + 1 / (0.5 + 1e-8))
    empty = np.full_like(gt, 17)
    assert challenge_fscore(gt, empty, None).fscore == 0.0  # no prediction
    assert challenge_fscore(empty, pred, None).fscore == 0.0  # no ground truth
    assert challenge_fscore(empty, empty, None).fscore == 0.0  # the devkit's answer


def test_fscore_matches_brute_force_reference_on_real_crop(shared_data):
    gt = read_labels_npz(shared_data / REAL_GT)
    # a 50x50 crop around the ego vehicle keeps the brute force small
    sl = (slice(75, 125), slice(75, 125), slice(None))
    sem = np.full((200, 200, 16), 17, np.uint8)
    sem[sl] = gt["semantics"][sl]
    cam = np.zeros((200, 200, 16), np.uint8)
    cam[sl] = gt["mask_camera"][sl]
    rng = np.random.default_rng(11)
    pred = sem.copy()
    region = pred[sl]
    region[rng.random(region.shape) < 0.05] = 4  # spurious car voxels
    region[(region != 17) & (rng.random(region.shape) < 0.2)] = 17  # missed voxels
    pred[sl] = region
    fs = challenge_fscore(sem, pred, cam)
    p, r, f = reference_fscore(sem, pred, cam)
    assert (fs.precision, fs.recall, fs.fscore) == (p, r, f)
    assert 0 < fs.fscore < 1
