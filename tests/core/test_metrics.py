"""Geometry metrics against hand-computed values and their defining properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from occstudio.core.compute.metrics import (
    MeshMetrics,
    farthest_point_sample,
    icp_point_to_point,
    mesh_metrics,
    normalize_pair,
    point_metrics,
    points_for_metrics,
    sample_surface,
    threshold_keys,
    voxel_iou,
)
from occstudio.core.errors import DataError
from occstudio.core.jobs import Cancelled, RecordingProgress
from occstudio.io.meshes import MeshData, read_mesh

KEYS = {"chamfer_l1", "chamfer_l2", "fscore", "normal_consistency", "n_points_gt", "n_points_pred"}


def box(size: tuple[float, float, float] = (1, 1, 1), offset: tuple[float, float, float] = (0, 0, 0)) -> MeshData:
    """An axis-aligned box [offset, offset + size] as 12 triangles (outward winding)."""
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=np.float64)
    v = corners * np.asarray(size) + np.asarray(offset)
    # index = 4x + 2y + z
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    f = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    return MeshData(vertices=v, faces=np.array(f))


# --------------------------------------------------------------------------- hand-computed values


def test_chamfer_by_hand_is_sum_of_directional_means() -> None:
    pred = np.array([[0, 0, 0], [1, 0, 0]], dtype=float)
    gt = np.array([[0, 0, 0]], dtype=float)
    out = mesh_metrics(gt, pred, device="cpu")
    assert set(out) == KEYS
    assert out["chamfer_l1"] == pytest.approx(0.5)  # (0 + 1)/2 + 0
    assert out["chamfer_l2"] == pytest.approx(0.5)  # (0 + 1)/2 + 0
    assert out["n_points_gt"] == 1 and out["n_points_pred"] == 2
    assert out["normal_consistency"] is None
    # distances 0 and 2: L1 = 1, L2 = (0 + 4)/2 = 2; symmetric in its arguments
    far = np.array([[0, 0, 0], [2, 0, 0]], dtype=float)
    for a, b in ((gt, far), (far, gt)):
        out = mesh_metrics(a, b, device="cpu")
        assert out["chamfer_l1"] == pytest.approx(1.0)
        assert out["chamfer_l2"] == pytest.approx(2.0)
    # both directions non-zero: P={0, 3}, Q={1}: P->Q 1, 2; Q->P 1 → 1.5 + 1; L2 2.5 + 1
    out = mesh_metrics(np.array([[1.0, 0, 0]]), np.array([[0.0, 0, 0], [3, 0, 0]]), device="cpu")
    assert out["chamfer_l1"] == pytest.approx(2.5)
    assert out["chamfer_l2"] == pytest.approx(3.5)


def test_fscore_strict_threshold_and_keys() -> None:
    gt = np.array([[0, 0, 0]], dtype=float)
    pred = np.array([[0, 0, 0], [0.5, 0, 0]], dtype=float)  # second point exactly at τ = 0.5
    out = mesh_metrics(gt, pred, thresholds=("0.5", 0.75, "0.50", 0.25), device="cpu")
    assert list(out["fscore"]) == ["0.5", "0.75", "0.50", "0.25"]
    # τ = 0.5: precision 1/2 (the point at τ does not count), recall 1 → F = 2/3
    assert out["fscore"]["0.5"] == pytest.approx(2 / 3)
    assert out["fscore"]["0.50"] == pytest.approx(2 / 3)
    assert out["fscore"]["0.75"] == pytest.approx(1.0)
    assert out["fscore"]["0.25"] == pytest.approx(2 / 3)
    # nothing within τ on either side → 0, not NaN
    out = mesh_metrics(gt, np.array([[5.0, 0, 0]]), thresholds=[1.0], device="cpu")
    assert out["fscore"] == {"1": 0.0}


def test_threshold_keys() -> None:
    assert threshold_keys([0.01, "0.020", 1e-3, 2]) == [("0.01", 0.01), ("0.020", 0.02), ("0.001", 1e-3), ("2", 2.0)]
    assert threshold_keys(0.05) == [("0.05", 0.05)]
    with pytest.raises(ValueError):
        threshold_keys(["abc"])
    with pytest.raises(ValueError):
        threshold_keys([-1.0])


def test_point_metrics_precision_recall_and_normals() -> None:
    gt = np.array([[0, 0, 0], [1, 0, 0]], dtype=float)
    pred = np.array([[0, 0, 0.1], [5, 0, 0]], dtype=float)
    n_up = np.array([[0, 0, 1], [0, 0, 2]], dtype=float)  # non-unit: normalised
    n_side = np.array([[0, 0, -1], [1, 0, 0]], dtype=float)
    m = point_metrics(gt, pred, n_up, n_side, thresholds=["0.2"], device="cpu")
    assert isinstance(m, MeshMetrics)
    assert m.precision["0.2"] == pytest.approx(0.5) and m.recall["0.2"] == pytest.approx(0.5)
    # pred→gt pairs: (0,0,-1)·(0,0,1) → 1, (1,0,0)·(0,0,1) → 0; gt→pred: both pair pred[0] → 1, 1
    assert m.normal_consistency == pytest.approx((0.5 + 1.0) / 2)
    assert set(m.to_dict()) == KEYS


def test_voxel_iou_by_hand() -> None:
    a = np.array([[0.1, 0.1, 0.1], [0.2, 0.2, 0.2], [1.5, 0.1, 0.1]])  # voxels (0,0,0), (1,0,0)
    b = np.array([[0.9, 0.9, 0.9], [-0.5, 0.1, 0.1]])  # voxels (0,0,0), (-1,0,0)
    assert voxel_iou(a, b, 1.0) == pytest.approx(1 / 3)
    assert voxel_iou(a, a, 1.0) == 1.0
    assert np.isnan(voxel_iou(np.zeros((0, 3)), np.zeros((0, 3)), 1.0))
    out = mesh_metrics(a, a, voxel_size=0.5, device="cpu")
    assert out["voxel_iou"] == 1.0
    with pytest.raises(ValueError):
        voxel_iou(a, b, 0.0)


# --------------------------------------------------------------------------- sampling


def test_surface_sampling_box() -> None:
    mesh = box((2, 1, 1))  # faces of area 2 (x-long sides, 4 of them) and 1 (2 ends)
    pts, nrm = sample_surface(mesh, 20_000, seed=5)
    assert pts.shape == (20_000, 3) and nrm.shape == (20_000, 3)
    # on the surface: inside the box and on at least one of its planes
    lo, hi = np.array([0, 0, 0]), np.array([2, 1, 1])
    assert np.all(pts >= lo - 1e-12) and np.all(pts <= hi + 1e-12)
    on_plane = np.isclose(pts, lo, atol=1e-12) | np.isclose(pts, hi, atol=1e-12)
    assert np.all(on_plane.any(axis=1))
    # unit, axis-aligned face normals
    np.testing.assert_allclose(np.linalg.norm(nrm, axis=1), 1.0, atol=1e-12)
    assert np.all(np.isclose(np.abs(nrm).max(axis=1), 1.0))
    # area-weighted: the two x = const ends (area 1 each) get 2/10 of the points
    ends = np.isclose(pts[:, 0], 0, atol=1e-12) | np.isclose(pts[:, 0], 2, atol=1e-12)
    assert ends.mean() == pytest.approx(0.2, abs=0.015)
    # and uniform within a face: mean of the points ≈ box centre
    np.testing.assert_allclose(pts.mean(axis=0), [1, 0.5, 0.5], atol=0.02)
    # deterministic per seed
    again, _ = sample_surface(mesh, 20_000, seed=5)
    np.testing.assert_array_equal(pts, again)
    other, _ = sample_surface(mesh, 20_000, seed=6)
    assert not np.array_equal(pts, other)


def test_sampling_skips_degenerate_faces_and_rejects_no_area() -> None:
    mesh = box()
    faces = np.vstack([mesh.faces, [[0, 0, 1], [2, 2, 2]]])  # zero-area faces appended
    _pts, nrm = sample_surface(MeshData(mesh.vertices, faces), 2000, seed=0)
    assert np.all(np.isfinite(nrm))
    with pytest.raises(DataError, match="zero area"):
        sample_surface(MeshData(mesh.vertices, np.array([[0, 0, 1]])), 10, seed=0)
    with pytest.raises(DataError, match="no faces"):
        sample_surface(MeshData(mesh.vertices), 10, seed=0)


def test_points_for_metrics_modes() -> None:
    mesh = box()
    pts, nrm = points_for_metrics(mesh, 500, seed=0, sampling="surface")
    assert pts.shape == (500, 3) and nrm is not None
    verts, vn = points_for_metrics(mesh, 500, seed=0, sampling="vertices")
    np.testing.assert_array_equal(verts, mesh.vertices)  # as they are, n_points ignored
    np.testing.assert_allclose(np.linalg.norm(vn, axis=1), 1.0)  # computed from the faces
    assert np.all((vn * (mesh.vertices - 0.5)).sum(axis=1) > 0.5)  # outward at every corner
    cloud = MeshData(vertices=np.random.default_rng(0).random((40, 3)))
    cpts, cn = points_for_metrics(cloud, 500, seed=0, sampling="surface")  # no faces: vertices
    assert len(cpts) == 40 and cn is None
    fp, _ = points_for_metrics(cloud, 10, seed=0, sampling="fps")
    assert fp.shape == (10, 3)
    with pytest.raises(ValueError):
        points_for_metrics(mesh, 10, sampling="poisson")


def test_farthest_point_sampling() -> None:
    line = np.array([[x, 0, 0] for x in range(11)], dtype=float)
    idx = farthest_point_sample(line, 3, seed=0)
    assert len(set(idx.tolist())) == 3
    # after the first point, the extremes come next; with 3 points from a line the set
    # always contains an end point and the spread is at least half the line
    chosen = line[idx, 0]
    assert chosen.max() - chosen.min() >= 5
    np.testing.assert_array_equal(idx, farthest_point_sample(line, 3, seed=0))
    np.testing.assert_array_equal(farthest_point_sample(line, 50), np.arange(11))


# --------------------------------------------------------------------------- invariances


def test_normalisation_invariance() -> None:
    gt = box((1.0, 0.5, 0.8))
    pred = box((1.1, 0.45, 0.8), offset=(0.02, -0.01, 0.03))
    kw = {"n_points": 3000, "seed": 1, "thresholds": ("0.01", "0.05"), "device": "cpu"}
    base = mesh_metrics(gt, pred, normalize="bbox", **kw)
    scaled = [MeshData(m.vertices * 7.0 + [3, -2, 1], m.faces) for m in (gt, pred)]
    other = mesh_metrics(*scaled, normalize="bbox", **kw)
    for key in ("chamfer_l1", "chamfer_l2", "normal_consistency"):
        assert other[key] == pytest.approx(base[key], rel=1e-9)
    assert other["fscore"] == pytest.approx(base["fscore"], rel=1e-9)
    # without normalisation distances scale by 7
    raw = mesh_metrics(*scaled, normalize="none", **kw)
    plain = mesh_metrics(gt, pred, normalize="none", **kw)
    assert raw["chamfer_l1"] == pytest.approx(7 * plain["chamfer_l1"], rel=1e-9)


def test_normalize_pair_modes() -> None:
    gt = box((4, 2, 1), offset=(1, 1, 1))
    pred = np.array([[3.0, 2.0, 1.5], [5.0, 3.0, 2.0]])
    g, p = normalize_pair(gt, pred, "bbox")
    lo, hi = g.vertices.min(axis=0), g.vertices.max(axis=0)
    assert np.linalg.norm(hi - lo) == pytest.approx(1.0)
    np.testing.assert_allclose((lo + hi) / 2, 0, atol=1e-12)
    np.testing.assert_allclose(p[0], 0, atol=1e-12)  # pred moved with the GT (centre (3,2,1.5))
    assert gt.vertices.max() == 5  # input untouched
    g, p = normalize_pair(gt, pred, "cube")
    assert (g.vertices.max(axis=0) - g.vertices.min(axis=0)).max() == pytest.approx(1.0)
    np.testing.assert_allclose(p[1], [0.5, 0.25, 0.125])
    assert normalize_pair(gt, pred, "none") == (gt, pred)
    with pytest.raises(DataError, match="zero extent"):
        normalize_pair(np.zeros((3, 3)), pred, "bbox")
    with pytest.raises(ValueError):
        normalize_pair(gt, pred, "sphere")


def test_identical_meshes_score_perfectly() -> None:
    mesh = box((1, 2, 3))
    out = mesh_metrics(mesh, mesh, n_points=2000, seed=3, device="cpu")
    assert out["normal_consistency"] == pytest.approx(1.0)
    assert out["chamfer_l1"] == 0.0 and out["chamfer_l2"] == 0.0
    assert all(v == 1.0 for v in out["fscore"].values())
    assert out["n_points_gt"] == out["n_points_pred"] == 2000
    # vertex sampling with file normals
    normals = mesh.vertices - mesh.vertices.mean(axis=0)
    with_n = MeshData(mesh.vertices, mesh.faces, vertex_normals=normals)
    out = mesh_metrics(with_n, with_n, sampling="vertices", device="cpu")
    assert out["normal_consistency"] == pytest.approx(1.0) and out["n_points_gt"] == 8


def test_torch_backend_gives_the_same_metrics() -> None:
    pytest.importorskip("torch")
    gt = box()
    pred = box((1.05, 1, 0.97), offset=(0.01, 0, 0))
    kw = {"n_points": 2500, "seed": 0, "normalize": "bbox"}
    a = mesh_metrics(gt, pred, device="cpu", **kw)
    b = mesh_metrics(gt, pred, device="torch-cpu", **kw)
    for key in ("chamfer_l1", "chamfer_l2", "normal_consistency"):
        assert b[key] == pytest.approx(a[key], rel=1e-9)
    assert b["fscore"] == a["fscore"]


def test_icp_recovers_a_rigid_motion() -> None:
    rng = np.random.default_rng(0)
    gt = rng.random((600, 3)) * [1.0, 0.6, 0.3]  # an asymmetric blob
    angle = np.deg2rad(6)
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    pred = gt @ rot.T + [0.03, -0.02, 0.01]
    aligned, transform = icp_point_to_point(pred, gt, max_iterations=60)
    np.testing.assert_allclose(aligned, gt, atol=1e-6)
    np.testing.assert_allclose(transform[:3, :3], rot.T, atol=1e-6)
    before = mesh_metrics(gt, pred, sampling="vertices", device="cpu")
    after = mesh_metrics(gt, pred, sampling="vertices", icp=True, device="cpu")
    assert before["chamfer_l1"] > 0.01
    assert after["chamfer_l1"] < 1e-5


# --------------------------------------------------------------------------- progress and errors


def test_cancellation_and_progress() -> None:
    gt, pred = box(), box((1.1, 1, 1))
    with pytest.raises(Cancelled):
        mesh_metrics(gt, pred, n_points=500, progress=RecordingProgress(cancel_after=1), device="cpu")
    with pytest.raises(Cancelled):
        mesh_metrics(gt, pred, n_points=500, progress=RecordingProgress(cancel_after=4), device="cpu")
    rec = RecordingProgress()
    mesh_metrics(gt, pred, n_points=500, progress=rec, icp=True, device="cpu")
    done, total, _ = rec.records[-1]
    assert total == 6 and done == total
    assert [r[0] for r in rec.records] == sorted(r[0] for r in rec.records)


def test_bad_inputs() -> None:
    pts = np.random.default_rng(0).random((10, 3))
    with pytest.raises(DataError, match="prediction has no points"):
        mesh_metrics(pts, np.zeros((0, 3)), device="cpu")
    with pytest.raises(DataError, match="NaN"):
        mesh_metrics(pts, np.array([[np.nan, 0, 0]]), device="cpu")
    with pytest.raises(ValueError):
        mesh_metrics(pts, pts, normalize="unit", device="cpu")
    with pytest.raises(ValueError):
        mesh_metrics(pts, pts, thresholds=["x"], device="cpu")


def test_real_point_cloud_against_itself(shared_data: Path) -> None:
    path = shared_data / "occgen" / "trajectory_1" / "data" / "chunk-000" / "path.ply"
    if not path.is_file():
        pytest.skip("occgen path.ply not in the shared data")
    cloud = read_mesh(path)
    sub = MeshData(vertices=cloud.vertices[::7])
    out = mesh_metrics(cloud, sub, normalize="bbox", device="cpu")
    assert out["n_points_gt"] == 72445 and out["n_points_pred"] == len(sub.vertices)
    assert out["fscore"]["0.05"] > 0.99  # every pred point is a GT point: precision 1
    assert 0 < out["chamfer_l1"] < 0.02
