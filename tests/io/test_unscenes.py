"""UnScenes3D folders: generated fixture (from formats.md §3), malformed variants, depth rule."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.geometry import GridSpec
from occstudio.core.labels import UNSCENES3D
from occstudio.io.calib import KittiCalib
from occstudio.io.unscenes import (
    encode_depth_map,
    load_sample_arrays,
    open_unscenes,
    project_lidar_depth,
    read_caption,
    read_depth_map,
    read_imageset,
    read_lidar,
    read_localmap,
    read_sparse_occ,
    read_sparse_occ_raw,
    read_vehicle_info,
    sniff,
    write_depth_map,
)
from occstudio.plugins.registry import Registry
from tests.fixtures_unscenes import make_unscenes_dataset, project


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory):
    """Two clips of three frames (plus one sweep each), written once for the module."""
    return make_unscenes_dataset(tmp_path_factory.mktemp("unscenes"), n_frames=3, clips=2)


@pytest.fixture
def fx(tmp_path, fixture_root):
    """A private copy (tests that break files)."""
    dst = tmp_path / "ds"
    shutil.copytree(fixture_root.root, dst)
    fixture_root_copy = type(fixture_root)(**{**fixture_root.__dict__, "root": dst})
    return fixture_root_copy


# ------------------------------------------------------------------- sniffing


def test_sniff(fixture_root, tmp_path):
    root = fixture_root.root
    assert sniff(root) == 0.9
    assert sniff(root / "imagesets" / "train.json") == 0.9
    assert sniff(root / "occ") == 0.0
    assert sniff(root / "calibs" / f"{fixture_root.stamps[0]}.txt") == 0.0
    assert sniff(tmp_path) == 0.0
    assert sniff(tmp_path / "absent") == 0.0
    assert sniff(None) == 0.0  # type: ignore[arg-type]  # never raises
    only_clouds = tmp_path / "clouds_only"
    (only_clouds / "clouds").mkdir(parents=True)
    assert sniff(only_clouds) == 0.0  # data without calibs/ or imagesets/
    (only_clouds / "calibs").mkdir()
    assert sniff(only_clouds) == 0.9


def test_registry_picks_unscenes_over_other_loaders(fixture_root):
    from occstudio.builtins import register

    reg = Registry()
    register(reg)  # the built-in registration (unscenes3d included)
    assert reg.find_loader(fixture_root.root).id == "unscenes3d"
    assert reg.find_loader(fixture_root.root / "imagesets" / "train.json").id == "unscenes3d"


# -------------------------------------------------------------------- opening


def test_open_orders_samples_by_imageset_clips(fixture_root):
    ds = open_unscenes(fixture_root.root)
    assert ds.format == "unscenes3d" and ds.warnings == []
    expected = [f"{clip}/{s}" for clip, stamps in fixture_root.clips.items() for s in stamps]
    assert ds.ids() == expected
    assert ds.meta["sequence"] is True
    assert ds.meta["clips"] == {clip: [f"{clip}/{s}" for s in stamps] for clip, stamps in fixture_root.clips.items()}
    assert ds.meta["sweeps"] == fixture_root.sweeps
    assert ds.meta["imagesets"] == {"train": ["clip_000", "clip_001"]}
    assert ds.meta["grid"] == GridSpec.unscenes() and ds.meta["labelset"] == "unscenes3d"
    sample = ds.samples[4]
    stamp = fixture_root.clips["clip_001"][1]
    assert sample.meta["stamp"] == stamp and sample.meta["clip"] == "clip_001" and sample.meta["index"] == 1
    assert sample.meta["time"] == pytest.approx(float(stamp))
    assert set(sample.paths) == {
        "image",
        "cloud",
        "localmap",
        "calib",
        "occ",
        "depth",
        "elevation",
        "vehicle_info",
        "caption",
    }
    assert sample.paths["occ"].name == f"{stamp}.npy" and sample.paths["image"].suffix == ".jpg"
    assert not sample.missing and not sample.errors
    lines = sample.text["caption"].split("\n")
    assert len(lines) == 2 and lines[0].startswith("A truck and a car") and lines[1].startswith("Weather")
    # pose from line 1 (t, quaternion x y z w), velocity/acceleration from line 2
    translation, quat = fixture_root.poses[stamp]
    pose = sample.meta["pose"]
    np.testing.assert_allclose(pose[:3, 3], translation, atol=1e-6)
    yaw = 2 * np.arctan2(quat[2], quat[3])
    np.testing.assert_allclose(
        pose[:3, :3], [[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]], atol=1e-6
    )
    np.testing.assert_allclose(sample.meta["velocity"], [5.0, 0.1, 0.0])
    np.testing.assert_allclose(sample.meta["acceleration"], [0.2, 0.0, 0.0])


def test_open_imageset_file_and_numeric_stamps(tmp_path):
    fx = make_unscenes_dataset(tmp_path / "ds", n_frames=2, clips=1, numeric_stamps=True, imageset_name="val")
    ds = open_unscenes(fx.root / "imagesets" / "val.json")
    # numbers in JSON are matched to the files by value; ids keep the file stems
    assert ds.ids() == [f"clip_000/{s}" for s in fx.clips["clip_000"]]
    assert ds.samples[0].path("occ").is_file() and ds.warnings == []


def test_without_imagesets_samples_are_sorted_by_time(tmp_path):
    fx = make_unscenes_dataset(tmp_path / "ds", n_frames=3, clips=1, sweeps=1, imagesets=False)
    ds = open_unscenes(fx.root)
    stamps = fx.clips["clip_000"] + fx.sweeps["clip_000"]
    assert ds.ids() == sorted(stamps, key=float)
    assert ds.meta["clips"] == {} and ds.meta["sequence"] is True
    sweep = ds.get(fx.sweeps["clip_000"][0])
    # a sweep has only image, cloud and calib: the rest is listed as missing, it still loads
    assert {"image", "cloud", "calib"} <= set(sweep.paths) and "occ" not in sweep.paths
    assert any(m.startswith("occ: occ/") for m in sweep.missing)


def test_missing_modality_for_one_stamp(fx):
    stamp = fx.clips["clip_000"][1]
    (fx.root / "occ" / f"{stamp}.npy").unlink()
    (fx.root / "image_caption" / f"{stamp}.txt").unlink()
    ds = open_unscenes(fx.root)
    sample = ds.get(f"clip_000/{stamp}")
    assert "occ" not in sample.paths and f"occ: occ/{stamp}.npy" in sample.missing
    assert any(m.startswith("caption:") for m in sample.missing) and "caption" not in sample.text
    others = [s for s in ds.samples if s is not sample]
    assert all(not s.missing for s in others)
    assert len(load_sample_arrays(sample, ["occ", "cloud"])) == 1  # what exists still reads


def test_listed_stamp_without_files_and_bad_imagesets(fx):
    imageset = json.loads((fx.root / "imagesets" / "train.json").read_text())
    imageset["clip_000"]["samples"].append("1699999999.000000")
    imageset["clip_000"]["samples"].append("not-a-stamp")
    (fx.root / "imagesets" / "train.json").write_text(json.dumps(imageset))
    (fx.root / "imagesets" / "broken.json").write_text('{"clip_x": {"samples": [1, 2],}}')
    ds = open_unscenes(fx.root)
    text = "\n".join(ds.warnings)
    assert "broken.json" in text and "line 1" in text  # malformed JSON named with its position
    assert "1 listed sample(s) have no files (1699999999.000000)" in text
    assert "'not-a-stamp' is not a timestamp" in text
    ghost = ds.get("clip_000/1699999999.000000")
    assert not ghost.paths and len(ghost.missing) == 9


def test_bad_vehicle_info_is_a_sample_error(fx):
    stamp = fx.clips["clip_000"][0]
    (fx.root / "vehicle_infos" / f"{stamp}.txt").write_text("pose 1 2 3 0 0 0\n")
    ds = open_unscenes(fx.root)
    sample = ds.samples[0]
    assert "pose" not in sample.meta and sample.errors
    assert f"{stamp}.txt" in sample.errors[0] and "line 1" in sample.errors[0]
    assert "pose" in ds.samples[1].meta


def test_open_rejects_other_folders(tmp_path):
    with pytest.raises(MissingFileError):
        open_unscenes(tmp_path / "absent")
    with pytest.raises(DataError, match="not an UnScenes3D folder"):
        open_unscenes(tmp_path)
    (tmp_path / "occ").mkdir()
    (tmp_path / "calibs").mkdir()
    with pytest.raises(DataError, match="no UnScenes3D frames"):
        open_unscenes(tmp_path)


# --------------------------------------------------------------------- arrays


def test_sparse_occ_int_and_float_read_the_same_grid(fixture_root):
    ds = open_unscenes(fixture_root.root)
    dtypes = set()
    for sample in ds.samples:
        stamp = sample.meta["stamp"]
        rows = fixture_root.occ[stamp]
        dtypes.add(np.load(sample.path("occ")).dtype)
        dense = read_sparse_occ(sample.path("occ"))
        assert dense.shape == (256, 256, 32) and dense.dtype == np.uint8
        expected = np.full((256, 256, 32), 255, np.uint8)
        labels = np.where(rows[:, 3] == 0, 255, rows[:, 3])  # background reads as ignore
        expected[rows[:, 0], rows[:, 1], rows[:, 2]] = labels
        np.testing.assert_array_equal(dense, expected)
        assert (rows[:, 3] == 0).any() and 0 not in np.unique(dense)
    assert dtypes == {np.dtype(np.int32), np.dtype(np.float32)}
    ijk, labels = read_sparse_occ_raw(ds.samples[0].path("occ"))
    assert ijk.dtype == np.int64 and labels.dtype == np.uint8 and 0 in labels  # raw keeps class 0
    assert UNSCENES3D.read_as == {0: 255}


def test_voxel_centres_follow_the_spec(fixture_root):
    """A voxel's centre = (index + 0.5) · 0.3 + [0, -38.4, -4]: the LiDAR points are inside it."""
    stamp = fixture_root.stamps[0]
    rows = fixture_root.occ[stamp]
    grid = GridSpec.unscenes()
    centres = grid.index_to_center(rows[:, :3])
    pts = fixture_root.points[stamp][:, :3].astype(np.float64)
    # every occupied voxel holds at least one point within half a voxel of its centre on each axis
    for c in centres[:50]:
        assert (np.abs(pts - c) <= 0.15 + 1e-6).all(axis=1).any()


@pytest.mark.parametrize(
    ("array", "needle"),
    [
        (np.zeros((5, 3), np.int32), "N×4"),
        (np.zeros((2, 4, 1), np.int32), "N×4"),
        (np.array([[1, 2, 3, 4], [300, 2, 3, 4], [1, -1, 3, 4]], np.int32), "2 of 3 row(s) have voxel indices outside"),
        (np.array([[1, 2, 40, 4]], np.int64), "1 of 1 row(s) have voxel indices outside the 256×256×32 grid"),
        (np.array([[1, 2, 3, np.nan]], np.float32), "1 row(s) hold NaN or inf"),
        (np.array([[1.5, 2, 3, 4]], np.float32), "non-integer"),
        (np.array([[1, 2, 3, 256]], np.int32), "labels outside 0..255"),
        (np.array([["a", "b", "c", "d"]]), "numeric"),
    ],
)
def test_malformed_sparse_occ(tmp_path, array, needle):
    path = tmp_path / "1700000000.000000.npy"
    np.save(path, array)
    with pytest.raises(DataError) as err:
        read_sparse_occ(path)
    assert needle in str(err.value) and path.name in str(err.value)


def test_sparse_occ_unreadable_empty_and_custom_grid(tmp_path):
    truncated = tmp_path / "t.npy"
    np.save(truncated, np.zeros((100, 4), np.int32))
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(DataError, match="not a readable .npy"):
        read_sparse_occ(truncated)
    with pytest.raises(MissingFileError):
        read_sparse_occ(tmp_path / "absent.npy")
    empty = tmp_path / "e.npy"
    np.save(empty, np.zeros((0, 4), np.int32))
    assert (read_sparse_occ(empty) == 255).all()
    small = tmp_path / "s.npy"
    np.save(small, np.array([[1, 1, 1, 3], [1, 1, 1, 5]], np.int32))  # a voxel listed twice: last wins
    dense = read_sparse_occ(small, GridSpec(origin=(0, 0, 0), voxel_size=1.0, shape=(2, 2, 2)))
    assert dense.shape == (2, 2, 2) and dense[1, 1, 1] == 5 and (dense == 255).sum() == 7


def test_clouds_read_and_malformed(fixture_root, tmp_path):
    stamp = fixture_root.stamps[0]
    cloud = read_lidar(fixture_root.path("clouds", stamp, ".bin"))
    np.testing.assert_array_equal(cloud, fixture_root.points[stamp])
    assert cloud.dtype == np.float32 and cloud.shape[1] == 4
    local = read_localmap(fixture_root.path("localmap_clouds", stamp, ".bin"))
    assert local.shape == (len(cloud), 3)
    truncated = tmp_path / "trunc.bin"
    truncated.write_bytes(cloud.tobytes()[:-6])
    with pytest.raises(DataError, match="not a multiple of 16") as err:
        read_lidar(truncated)
    assert "trunc.bin" in str(err.value)
    wrong = tmp_path / "local.bin"
    wrong.write_bytes(np.zeros((5, 4), np.float32).tobytes()[:-4])  # 76 bytes: not N×3
    with pytest.raises(DataError, match="multiple of 12"):
        read_localmap(wrong)
    nan = tmp_path / "nan.bin"
    bad = cloud[:10].copy()
    bad[3, 1] = np.nan
    bad.tofile(nan)
    with pytest.raises(DataError, match="1 point\\(s\\) have NaN") as err:
        read_lidar(nan)
    assert "nan.bin" in str(err.value)
    with pytest.warns(RuntimeWarning, match="dropped 1"):
        assert len(read_lidar(nan, drop_nonfinite=True)) == 9


def test_depth_and_elevation_maps(fixture_root, tmp_path):
    stamp = fixture_root.stamps[0]
    depth = read_depth_map(fixture_root.path("depths", stamp, ".png"))
    raw = np.asarray(Image.open(fixture_root.path("depths", stamp, ".png")))
    assert depth.dtype == np.float32 and depth.shape == (64, 96)
    np.testing.assert_allclose(depth, raw / 256.0)
    assert (depth == 0).any() and ((depth[depth > 0] > 2) & (depth[depth > 0] < 80)).all()
    elevation = read_depth_map(fixture_root.path("elevation", stamp, ".png"))
    assert elevation.shape == (256, 256) and elevation.max() > 0
    eight = tmp_path / "d8.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(eight)
    with pytest.raises(DataError, match="8-bit"):
        read_depth_map(eight)
    rgb = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(rgb)
    with pytest.raises(DataError, match="single-channel"):
        read_depth_map(rgb)
    # writer round trip, metres × 256 with 0 = empty
    values = np.array([[0.0, 1.0, 2.5], [np.nan, -3.0, 300.0]])
    assert encode_depth_map(values).tolist() == [[0, 256, 640], [0, 0, 65535]]
    write_depth_map(tmp_path / "w.png", values[:1])
    np.testing.assert_allclose(read_depth_map(tmp_path / "w.png"), values[:1])


def test_project_lidar_depth_matches_the_depth_labels(fixture_root):
    """The fixture's depth PNGs (reference code) equal the projection, up to 1/256 m."""
    ds = open_unscenes(fixture_root.root)
    for sample in ds.samples[:3]:
        arrays = load_sample_arrays(sample, ["cloud", "calib", "depth"])
        sparse = project_lidar_depth(arrays["cloud"], arrays["calib"], (96, 64))
        assert sparse.shape == (64, 96) and sparse.dtype == np.float32
        np.testing.assert_array_equal(sparse > 0, arrays["depth"] > 0)
        np.testing.assert_allclose(sparse, arrays["depth"], atol=0.5 / 256 + 1e-6)


def test_project_lidar_depth_rules(fixture_root):
    m = fixture_root.matrices
    calib = KittiCalib(P2=m["P2"], R0_rect=m["R0_rect"], Tr_velo_to_cam=m["Tr_velo_to_cam"])
    # on the optical axis at several distances: 1.9 m and 80.5 m are out; nearest wins per pixel
    pts = np.array([[1.9, 0, 0], [50.0, 0.0, 0.0], [10.0, 0.0, 0.0], [80.5, 0.0, 0.0], [-5.0, 0.0, 0.0]])
    img = project_lidar_depth(pts, calib, (96, 64))
    uv, z = project(pts, m)
    assert np.count_nonzero(img) == 1
    row, col = np.argwhere(img > 0)[0]
    assert (col, row) == (int(np.rint(uv[2, 0])), int(np.rint(uv[2, 1])))
    assert img[row, col] == pytest.approx(z[2])
    far_only = project_lidar_depth(pts[[1]], calib, (96, 64))
    assert far_only.max() == pytest.approx(z[1])
    assert not project_lidar_depth(pts[[0, 3, 4]], calib, (96, 64)).any()
    assert not project_lidar_depth(np.zeros((0, 4)), calib, (96, 64)).any()
    with pytest.raises(ValueError):
        project_lidar_depth(pts, calib, (0, 10))


def test_load_sample_arrays_collects_errors(fx):
    stamp = fx.clips["clip_000"][0]
    (fx.root / "calibs" / f"{stamp}.txt").write_text("P2: 1 2 3\n")
    np.save(fx.root / "occ" / f"{stamp}.npy", np.zeros((3, 3), np.int32))
    ds = open_unscenes(fx.root)
    errors: list[str] = []
    arrays = load_sample_arrays(ds.samples[0], errors=errors)
    assert set(arrays) == {"image", "cloud", "localmap", "depth", "elevation"}
    assert len(errors) == 2 and any("P2 has 3 values" in e for e in errors) and any("N×4" in e for e in errors)
    with pytest.raises(DataError):
        load_sample_arrays(ds.samples[0], ["calib"])
    with pytest.raises(ValueError):
        load_sample_arrays(ds.samples[0], ["nothing"])


# ---------------------------------------------------------------- small files


def test_small_file_readers(tmp_path):
    info = tmp_path / "v.txt"
    info.write_text("1 2 3 0 0 0 1\n4 5 6 7 8 9\n")  # no keys
    out = read_vehicle_info(info)
    np.testing.assert_allclose(out["pose"], [[1, 0, 0, 1], [0, 1, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1]])
    assert out["keys"] == [None, None] and out["acceleration"].tolist() == [7, 8, 9]
    info.write_text("k 1 2 3 0 0 0 0\nk 1 2 3 4 5 6\n")
    with pytest.raises(DataError, match="quaternion is zero"):
        read_vehicle_info(info)
    info.write_text("k 1 2 3 0 0 0 1\nk 1 2 3 4 5 x\n")
    with pytest.raises(DataError, match="line 2: non-numeric"):
        read_vehicle_info(info)
    info.write_text("")
    with pytest.raises(DataError, match="empty"):
        read_vehicle_info(info)
    caption = tmp_path / "c.txt"
    caption.write_text("  first line \n\nsecond line\n")
    assert read_caption(caption) == "first line\nsecond line"
    imageset = tmp_path / "set.json"
    imageset.write_text('{"a": [1, 2], "b": {"samples": ["3"], "sweeps": []}}')
    assert read_imageset(imageset) == {"a": {"samples": [1, 2], "sweeps": []}, "b": {"samples": ["3"], "sweeps": []}}
    imageset.write_text('{"a": 3}')
    with pytest.raises(DataError, match="clip 'a'"):
        read_imageset(imageset)
    imageset.write_text("[1, 2]")
    with pytest.raises(DataError, match="expected an object"):
        read_imageset(imageset)


def test_open_reports_progress_and_can_be_cancelled(fixture_root):
    from occstudio.core.jobs import Cancelled, RecordingProgress

    progress = RecordingProgress()
    open_unscenes(fixture_root.root, progress=progress)
    assert progress.records[-1] == (6, 6, "Listed UnScenes3D frames")
    with pytest.raises(Cancelled):
        open_unscenes(fixture_root.root, progress=RecordingProgress(cancel_after=2))
