"""OccGen / LeRobot trajectories: the real example, CSR and packed-mask round trips, depth."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse
from PIL import Image
from scipy.spatial import cKDTree

from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.geometry import Camera
from occstudio.io.occgen import (
    occ_frame_indices,
    open_trajectory,
    read_all_occ,
    read_depth_png,
    read_mask_sequence,
    read_occ_sequence,
    sniff,
    write_mask_sequence,
    write_occ_sequence,
)

TRAJ = "occgen/trajectory_1"


# ---------------------------------------------------------------- real example


@pytest.fixture
def real_traj(shared_data) -> Path:
    path = shared_data / TRAJ
    if not path.is_dir():
        pytest.skip("OccGen example not present")
    return path


def test_sniff(real_traj, tmp_path):
    assert sniff(real_traj) == 0.9
    assert sniff(real_traj / "meta" / "info.json") == 0.9
    assert sniff(real_traj / "data" / "chunk-000" / "episode_000000.parquet") == 0.9
    assert sniff(real_traj / "data") == 0.0
    assert sniff(real_traj.parent.parent / "occ3d") == 0.0
    assert sniff(tmp_path) == 0.0
    assert sniff(tmp_path / "absent") == 0.0
    assert sniff(None) == 0.0  # type: ignore[arg-type]  # never raises


def test_open_real_trajectory(real_traj):
    ds = open_trajectory(real_traj)
    assert ds.format == "occgen" and len(ds) == 52
    assert ds.ids()[:2] == ["frame_000000", "frame_000001"] and ds.ids()[-1] == "frame_000051"
    # info.json says 104 frames, the parquet has 52 rows: reported, not fatal
    assert any("104" in w and "52" in w and "info.json" in w for w in ds.warnings)
    s = ds.get("frame_000006")
    assert s.path("rgb").name == "6.jpg" and s.path("depth").name == "6.png"
    assert not s.missing
    np.testing.assert_allclose(
        s.meta["intrinsic"], [[168.0498046875, 0, 240], [0, 192.79998779296875, 135], [0, 0, 1]]
    )
    np.testing.assert_allclose(s.meta["pose_cv"], s.meta["pose"] @ np.diag([1, -1, -1, 1]))
    assert s.meta["index"] == 6 and s.meta["frame"] == 6
    assert s.meta["extrinsic"].shape == (4, 4) and s.meta["intrinsic_occ"].shape == (3, 3)
    cam = s.meta["camera"]
    assert (cam.width, cam.height) == (480, 270)
    meta = ds.meta
    assert meta["fps"] == 30.0
    assert meta["scale"] == pytest.approx(1.5403079117080667)
    assert meta["info"]["codebase_version"] == "v2.1"
    assert len(meta["tasks"]) == 2 and meta["tasks"][0]["parsed"]["sum_indexes"] == [0, 51]
    assert s.text["task"].startswith("Gliding forward")
    paths = meta["paths"]
    assert paths["all_occ"].name == "all_occ.npz"
    assert paths["occ_sequence"].name == "occ_sequence.npz"
    assert paths["point_cloud"].name == "path.ply"
    assert paths["trajectory_video"].name == "episode_000000.mp4"
    assert "mask_sequence" not in paths  # not published


def test_real_poses_fuse_depth_consistently(real_traj):
    """formats.md §4: with pose_cv, frames 0 and 6 agree (97.5 % within 5 cm)."""
    ds = open_trajectory(real_traj)

    def cloud(sample_id, opengl=False):
        s = ds.get(sample_id)
        depth = read_depth_png(s.path("depth"))
        v, u = np.mgrid[0 : depth.shape[0] : 3, 0 : depth.shape[1] : 3]
        d = depth[v, u]
        ok = d > 0
        uv = np.stack([u[ok], v[ok]], axis=1).astype(float)
        cam = s.meta["camera"]
        if opengl:  # the raw OpenGL-axes pose used as if it had OpenCV axes
            cam = Camera.from_pose(s.meta["intrinsic"], s.meta["pose"], cam.width, cam.height)
        return cam.unproject(uv, d[ok])

    p0, p6 = cloud("frame_000000"), cloud("frame_000006")
    dist, _ = cKDTree(p0).query(p6)
    assert np.mean(dist < 0.05) > 0.9
    dist_gl, _ = cKDTree(cloud("frame_000000", True)).query(cloud("frame_000006", True))
    assert np.mean(dist_gl < 0.05) < 0.6  # the wrong axes do not fuse


def test_read_real_voxel_files(real_traj):
    ds = open_trajectory(real_traj)
    occ = read_all_occ(ds.meta["paths"]["all_occ"])
    assert occ.shape == (31422, 3) and occ.dtype == np.float32
    seq, shape = read_occ_sequence(ds.meta["paths"]["occ_sequence"])
    assert shape == (52, 64_000_000) and seq.n_frames == 52
    ref = scipy.sparse.load_npz(ds.meta["paths"]["occ_sequence"]).tocsr()
    for t in (0, 25, 51):
        got = occ_frame_indices(seq, t)
        assert got.dtype == np.int64
        assert np.array_equal(got, ref[t].indices)
    assert len(occ_frame_indices(seq, 0)) == 17233
    assert np.array_equal(occ_frame_indices(seq, -1), occ_frame_indices(seq, 51))
    with pytest.raises(IndexError):
        occ_frame_indices(seq, 52)


def test_read_real_depth(real_traj):
    path = real_traj / "videos/chunk-000/observation.images.depth/0.png"
    depth = read_depth_png(path)
    raw = np.array(Image.open(path))
    assert depth.dtype == np.float32 and depth.shape == (270, 480)
    np.testing.assert_allclose(depth, raw / 10000.0, rtol=1e-6)
    assert 0.5 < depth[depth > 0].min() and depth.max() < 4.1


# ------------------------------------------------------------- round trips


def test_occ_sequence_roundtrip_is_scipy_compatible(tmp_path):
    frames = [np.array([5, 1, 1, 99]), np.array([], dtype=np.int64), np.array([0, 42])]
    path = tmp_path / "occ_sequence.npz"
    write_occ_sequence(path, frames, n_voxels=100)
    seq, shape = read_occ_sequence(path)
    assert shape == (3, 100)
    assert occ_frame_indices(seq, 0).tolist() == [1, 5, 99]
    assert occ_frame_indices(seq, 1).tolist() == []
    assert occ_frame_indices(seq, 2).tolist() == [0, 42]
    mat = scipy.sparse.load_npz(path)
    assert mat.shape == (3, 100) and mat.format == "csr"
    assert mat[0].indices.tolist() == [1, 5, 99]
    with np.load(path) as z:
        assert set(z.files) == {"data", "indices", "indptr", "format", "shape"}
    with pytest.raises(ValueError):
        write_occ_sequence(tmp_path / "bad.npz", [np.array([100])], n_voxels=100)


def test_scipy_written_csr_reads_and_explicit_zeros_skip(tmp_path):
    mat = scipy.sparse.csr_matrix(
        (np.array([1, 0, 1], np.uint8), np.array([3, 4, 7]), np.array([0, 2, 3])), shape=(2, 10)
    )
    path = tmp_path / "s.npz"
    scipy.sparse.save_npz(path, mat)
    seq, shape = read_occ_sequence(path)
    assert shape == (2, 10)
    assert occ_frame_indices(seq, 0).tolist() == [3]  # the stored 0 is not occupied
    assert occ_frame_indices(seq, 1).tolist() == [7]


def test_bad_csr_files(tmp_path):
    base = dict(
        data=np.ones(2, np.uint8),
        indices=np.array([1, 2], np.int32),
        indptr=np.array([0, 2], np.int32),
        format=np.array(b"csr"),
        shape=np.array([1, 10]),
    )
    cases = {
        "csc": dict(base, format=np.array(b"csc")),
        "indptr": dict(base, indptr=np.array([0, 3], np.int32)),
        "range": dict(base, indices=np.array([1, 10], np.int32)),
    }
    for name, arrays in cases.items():
        np.savez(tmp_path / f"{name}.npz", **arrays)
        with pytest.raises(DataError):
            read_occ_sequence(tmp_path / f"{name}.npz")
    np.savez(tmp_path / "missing.npz", **{k: v for k, v in base.items() if k != "indptr"})
    with pytest.raises(DataError, match="indptr"):
        read_occ_sequence(tmp_path / "missing.npz")
    with pytest.raises(MissingFileError):
        read_occ_sequence(tmp_path / "absent.npz")


def test_mask_sequence_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    masks = rng.random((3, 5, 6, 7)) < 0.3  # 210 voxels: not a multiple of 8
    path = tmp_path / "mask_sequence.npz"
    write_mask_sequence(path, masks)
    with np.load(path) as z:
        assert z["data"].dtype == np.uint8 and z["data"].shape == (3, math.ceil(210 / 8))
        assert z["shape"].tolist() == [5, 6, 7]
        assert str(z["mode"]) == "packed"
        # decoding as the OccGen tools do: unpackbits, truncate, reshape
        frame1 = np.unpackbits(z["data"][1])[:210].reshape(5, 6, 7)
        assert np.array_equal(frame1.astype(bool), masks[1])
    seq = read_mask_sequence(path)
    assert len(seq) == 3 and seq.grid_shape == (5, 6, 7)
    for t in range(3):
        assert np.array_equal(seq.frame(t), masks[t])
    assert np.array_equal(seq.to_array(), masks)
    # an iterable of frames writes the same file content
    write_mask_sequence(tmp_path / "iter.npz", (m for m in masks))
    assert np.array_equal(read_mask_sequence(tmp_path / "iter.npz").to_array(), masks)


def test_bad_mask_sequences(tmp_path):
    np.savez(tmp_path / "mode.npz", data=np.zeros((1, 1), np.uint8), shape=np.array([2, 2, 2]), mode=np.array("dense"))
    with pytest.raises(DataError, match="mode"):
        read_mask_sequence(tmp_path / "mode.npz")
    np.savez(tmp_path / "size.npz", data=np.zeros((1, 5), np.uint8), shape=np.array([2, 2, 2]), mode=np.array("packed"))
    with pytest.raises(DataError, match="frames, 1"):
        read_mask_sequence(tmp_path / "size.npz")
    with pytest.raises(ValueError):
        write_mask_sequence(tmp_path / "x.npz", [np.zeros((2, 2, 2), bool), np.zeros((2, 2, 3), bool)])


def test_depth_png_units_and_errors(tmp_path):
    raw = np.array([[0, 5307], [10000, 40858]], dtype=np.uint16)
    Image.fromarray(raw).save(tmp_path / "d.png")
    depth = read_depth_png(tmp_path / "d.png")
    np.testing.assert_allclose(depth, [[0, 0.5307], [1.0, 4.0858]], rtol=1e-6)
    assert depth[0, 0] == 0
    np.testing.assert_allclose(read_depth_png(tmp_path / "d.png", scale=256.0)[1, 0], 10000 / 256)
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(tmp_path / "g.png")
    with pytest.raises(DataError, match="8-bit"):
        read_depth_png(tmp_path / "g.png")
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(DataError):
        read_depth_png(tmp_path / "rgb.png")
    (tmp_path / "junk.png").write_text("nope")
    with pytest.raises(DataError):
        read_depth_png(tmp_path / "junk.png")


def test_read_all_occ_errors(tmp_path):
    np.savez(tmp_path / "a.npz", data=np.zeros((4, 2), np.float32))
    with pytest.raises(DataError, match=r"\(M, 3\)"):
        read_all_occ(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", points=np.zeros((4, 3), np.float32))
    with pytest.raises(DataError, match="'data'"):
        read_all_occ(tmp_path / "b.npz")


# --------------------------------------------------------- synthetic layouts


def make_trajectory(root: Path, rows: int = 3, info: object | None = None, columns: dict | None = None) -> Path:
    (root / "meta").mkdir(parents=True)
    (root / "data" / "chunk-000").mkdir(parents=True)
    rgb = root / "videos" / "chunk-000" / "observation.images.rgb"
    rgb.mkdir(parents=True)
    for i in range(rows - 1):  # the last frame's image is missing
        Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(rgb / f"{i}.jpg")
    info_doc = {"fps": 15, "total_frames": rows} if info is None else info
    (root / "meta" / "info.json").write_text(info_doc if isinstance(info_doc, str) else json.dumps(info_doc))
    K = [[5.0, 0.0, 3.0], [0.0, 5.0, 2.0], [0.0, 0.0, 1.0]]
    pose = np.eye(4).tolist()
    cols = {
        "index": list(range(rows)),
        "observation.camera_intrinsic": [K] * rows,
        "action": [pose] * rows,
    }
    if columns:
        cols.update(columns)
    pq.write_table(pa.table(cols), root / "data" / "chunk-000" / "episode_000000.parquet")
    return root


def test_synthetic_trajectory_missing_frames_and_sequence_mismatch(tmp_path):
    root = make_trajectory(tmp_path / "t")
    view = root / "videos" / "chunk-000" / "observation.occ.view"
    view.mkdir(parents=True)
    write_occ_sequence(view / "occ_sequence.npz", [np.array([1])] * 5, n_voxels=8)
    ds = open_trajectory(root)
    assert ds.ids() == ["frame_000000", "frame_000001", "frame_000002"]
    assert ds.meta["fps"] == 15.0
    assert ds.samples[2].missing and "rgb" not in ds.samples[2].paths
    assert ds.samples[0].meta["camera"].width == 6  # from the first image
    assert any("occ_sequence.npz has 5 frames" in w for w in ds.warnings)


def test_synthetic_trajectory_bad_metadata_is_a_warning(tmp_path):
    root = make_trajectory(tmp_path / "t", info='{"fps": 30,}')
    ds = open_trajectory(root)
    assert len(ds) == 3
    assert any("info.json" in w and "malformed JSON" in w for w in ds.warnings)


def test_synthetic_trajectory_bad_columns_raise(tmp_path):
    root = make_trajectory(tmp_path / "a", columns={"action": [[[1.0, 0.0], [0.0, 1.0]]] * 3})
    with pytest.raises(DataError, match="'action'"):
        open_trajectory(root)
    root = tmp_path / "b"
    make_trajectory(root)
    pq.write_table(pa.table({"index": [0]}), root / "data" / "chunk-000" / "episode_000000.parquet")
    with pytest.raises(DataError, match="missing column"):
        open_trajectory(root)
    (root / "data" / "chunk-000" / "episode_000000.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="parquet"):
        open_trajectory(root)
    with pytest.raises(DataError, match="not an OccGen trajectory"):
        open_trajectory(tmp_path)
