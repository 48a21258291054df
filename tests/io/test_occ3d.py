"""Occ3D-nuScenes reading: labels/predictions, sniffing, the challenge layout, annotations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from occstudio.core.errors import DataError, MissingFileError
from occstudio.io import occ3d
from occstudio.io.occ3d import (
    load_sample_arrays,
    open_occ3d,
    read_labels_npz,
    read_prediction_npz,
    sniff,
)

REAL_TOKEN = "29796060110c4163b07f06eff4af0753"
SHAPE = (200, 200, 16)


def write_labels(path: Path, seed: int = 0, **override) -> Path:
    rng = np.random.default_rng(seed)
    semantics = np.full(SHAPE, 17, np.uint8)
    semantics[:, :, :2] = 11  # a road
    semantics[tuple(rng.integers(0, 16, (3, 50)))] = rng.integers(0, 17, 50, dtype=np.uint8)
    mask = np.zeros(SHAPE, np.uint8)
    mask[40:160, 40:160] = 1
    arrays = {"semantics": semantics, "mask_lidar": mask, "mask_camera": mask.copy()}
    arrays.update(override)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def tok(i: int) -> str:
    return f"{i:032x}"


def camera_entry(i: int) -> dict:
    return {
        "img_path": f"imgs/CAM_FRONT/frame{i}.jpg",
        "intrinsic": [[1266.4, 0, 816.3], [0, 1266.4, 491.5], [0, 0, 1]],
        "extrinsic": {"translation": [1.7, 0.0, 1.5], "rotation": [0.5, -0.5, 0.5, -0.5]},
        "ego_pose": {"translation": [600.0, 1600.0, 0.0], "rotation": [1, 0, 0, 0]},
    }


@pytest.fixture
def challenge_root(tmp_path: Path) -> Path:
    """gts/<scene>/<token>/labels.npz for 2 scenes + annotations.json."""
    root = tmp_path / "trainval"
    layout = {"scene-0002": [tok(5), tok(4)], "scene-0001": [tok(3), tok(1), tok(2)]}
    for n, (scene, tokens) in enumerate(layout.items()):
        for k, t in enumerate(tokens):
            write_labels(root / "gts" / scene / t / "labels.npz", seed=10 * n + k)
    write_labels(root / "gts" / "scene-0009" / tok(9) / "labels.npz", seed=99)  # not annotated
    (root / "imgs" / "CAM_FRONT").mkdir(parents=True)
    (root / "imgs" / "CAM_FRONT" / "frame3.jpg").write_bytes(b"\xff\xd8\xff")
    scene_infos: dict = {}
    for scene, tokens in layout.items():
        frames = {}
        for k, t in enumerate(tokens):
            i = int(t, 16)
            frames[t] = {
                "timestamp": str(1000 + i),
                "camera_sensor": {"CAM_FRONT": camera_entry(i)},
                "ego_pose": {"translation": [1.0, 2.0, 0.0], "rotation": [1, 0, 0, 0]},
                "gt_path": f"gts/{scene}/{t}/labels.npz",
                "prev": tokens[k - 1] if k else "",
                "next": tokens[k + 1] if k + 1 < len(tokens) else "",
            }
        scene_infos[scene] = frames
    # malformed entries
    scene_infos["scene-0001"][tok(1)]["camera_sensor"]["CAM_BACK"] = {"intrinsic": [[1, 2], [3, 4]]}
    scene_infos["scene-0001"][tok(7)] = {"prev": tok(2), "next": ""}  # no labels.npz
    scene_infos["scene-0003"] = "not an object"
    doc = {"train_split": ["scene-0001"], "val_split": ["scene-0002"], "scene_infos": scene_infos}
    (root / "annotations.json").write_text(json.dumps(doc))
    return root


# ----------------------------------------------------------------- reading


def test_read_real_labels(shared_data):
    arrays = read_labels_npz(shared_data / "occ3d" / REAL_TOKEN / "labels.npz")
    assert set(arrays) == {"semantics", "mask_lidar", "mask_camera"}
    for arr in arrays.values():
        assert arr.shape == SHAPE and arr.dtype == np.uint8
    assert arrays["semantics"].max() == 17
    assert set(np.unique(arrays["mask_camera"])) <= {0, 1}
    raw = np.load(shared_data / "occ3d" / REAL_TOKEN / "labels.npz")
    for key in arrays:
        assert np.array_equal(arrays[key], raw[key])
    some = read_labels_npz(shared_data / "occ3d" / REAL_TOKEN / "labels.npz", keys=("semantics",))
    assert list(some) == ["semantics"]
    with pytest.raises(ValueError):
        read_labels_npz(shared_data / "occ3d" / REAL_TOKEN / "labels.npz", keys=("bogus",))


def test_fortran_order_and_writable(tmp_path):
    sem = np.asfortranarray(np.arange(np.prod(SHAPE)).reshape(SHAPE).astype(np.uint8))
    path = write_labels(tmp_path / "labels.npz", semantics=sem)
    out = read_labels_npz(path)["semantics"]
    assert np.array_equal(out, sem)
    out[0, 0, 0] = 3  # arrays are writable copies


@pytest.mark.parametrize(
    "override, problem",
    [
        ({"mask_camera": None}, "missing key(s) mask_camera"),
        ({"semantics": np.zeros((200, 200, 8), np.uint8)}, "shape (200, 200, 8)"),
        ({"mask_lidar": np.zeros(SHAPE, np.int64)}, "dtype int64"),
    ],
)
def test_bad_labels_name_file_and_problem(tmp_path, override, problem):
    path = write_labels(tmp_path / "labels.npz", **override)
    with pytest.raises(DataError) as err:
        read_labels_npz(path)
    assert problem in str(err.value)
    assert err.value.path == path


def test_truncated_and_corrupt_archives(tmp_path):
    good = write_labels(tmp_path / "good" / "labels.npz")
    data = good.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="not a readable .npz"):
        read_labels_npz(truncated)
    # flip bytes inside the first member's compressed data: the zip directory is intact
    corrupt = tmp_path / "corrupt.npz"
    raw = bytearray(data)
    for i in range(200, 400):
        raw[i] ^= 0x5A
    corrupt.write_bytes(bytes(raw))
    with pytest.raises(DataError) as err:
        read_labels_npz(corrupt)
    assert "corrupt" in str(err.value) and err.value.path == corrupt
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(DataError):
        read_labels_npz(text)
    with pytest.raises(MissingFileError):
        read_labels_npz(tmp_path / "absent.npz")


def test_read_predictions(tmp_path):
    pred = np.random.default_rng(0).integers(0, 18, SHAPE, dtype=np.uint8)
    np.savez(tmp_path / "a.npz", pred)
    assert np.array_equal(read_prediction_npz(tmp_path / "a.npz"), pred)
    np.savez(tmp_path / "b.npz", semantics=pred.astype(np.int64))
    out = read_prediction_npz(tmp_path / "b.npz")
    assert out.dtype == np.uint8 and np.array_equal(out, pred)
    np.savez(tmp_path / "c.npz", labels=pred)
    with pytest.raises(DataError, match="arr_0"):
        read_prediction_npz(tmp_path / "c.npz")
    np.savez(tmp_path / "d.npz", pred.astype(np.float32))
    with pytest.raises(DataError, match="float32"):
        read_prediction_npz(tmp_path / "d.npz")
    np.savez(tmp_path / "e.npz", pred[:, :, :8])
    with pytest.raises(DataError, match="shape"):
        read_prediction_npz(tmp_path / "e.npz")


# ----------------------------------------------------------------- sniffing


def test_sniff(tmp_path, challenge_root):
    assert sniff(challenge_root) == 0.9
    assert sniff(challenge_root / "gts") == 0.9
    assert sniff(challenge_root / "gts" / "scene-0001" / tok(3) / "labels.npz") == 0.9
    preds = tmp_path / "preds"
    preds.mkdir()
    np.savez_compressed(preds / f"{tok(3)}.npz", np.zeros(SHAPE, np.uint8))
    assert sniff(preds) == 0.9
    assert sniff(preds / f"{tok(3)}.npz") == 0.9
    other = tmp_path / "other"
    other.mkdir()
    np.savez(other / "weights.npz", w=np.zeros(3))
    (other / "notes.txt").write_text("x")
    assert sniff(other) == 0.0
    assert sniff(other / "weights.npz") == 0.0
    assert sniff(other / "notes.txt") == 0.0
    assert sniff(tmp_path / "does-not-exist") == 0.0
    assert sniff(None) == 0.0  # type: ignore[arg-type]  # never raises


def test_sniff_real_folder(shared_data):
    assert sniff(shared_data / "occ3d") == 0.9
    assert sniff(shared_data / "occgen" / "trajectory_1") == 0.0


# ----------------------------------------------------------------- opening


def test_open_challenge_layout_follows_annotations(challenge_root, monkeypatch):
    def no_load(*args, **kwargs):
        raise AssertionError("open_occ3d must not load arrays")

    monkeypatch.setattr(occ3d.np, "load", no_load)
    ds = open_occ3d(challenge_root)
    assert ds.format == "occ3d"
    assert ds.ids() == [
        f"scene-0002/{tok(5)}",
        f"scene-0002/{tok(4)}",
        f"scene-0001/{tok(3)}",
        f"scene-0001/{tok(1)}",
        f"scene-0001/{tok(2)}",
        f"scene-0009/{tok(9)}",  # not annotated: appended
    ]
    s = ds.get(f"scene-0001/{tok(1)}")
    assert s.path("labels") == challenge_root / "gts" / "scene-0001" / tok(1) / "labels.npz"
    assert s.meta["scene"] == "scene-0001" and s.meta["token"] == tok(1)
    assert s.meta["index"] == 1
    assert s.meta["prev"] == tok(3) and s.meta["next"] == tok(2)
    cams = s.meta["cameras"]
    assert list(cams) == ["CAM_FRONT"]  # the malformed CAM_BACK became a warning
    cam = cams["CAM_FRONT"]
    assert cam["intrinsic"].shape == (3, 3)
    assert cam["T_ego_from_cam"].shape == (4, 4)
    np.testing.assert_allclose(cam["T_ego_from_cam"][:3, 3], [1.7, 0.0, 1.5])
    assert cam["img_path"] == challenge_root / "imgs" / "CAM_FRONT" / "frame1.jpg"
    assert "images" not in s.paths  # frame1.jpg does not exist
    s3 = ds.get(f"scene-0001/{tok(3)}")
    assert s3.meta["prev"] is None
    assert s3.paths["images"] == [challenge_root / "imgs" / "CAM_FRONT" / "frame3.jpg"]
    assert ds.meta["train_split"] == ["scene-0001"]
    assert ds.meta["annotations"] == challenge_root / "annotations.json"
    text = "\n".join(ds.warnings)
    assert "CAM_BACK" in text
    assert "1 annotated frame(s) have no labels.npz" in text
    assert "1 labels.npz file(s) are not listed" in text
    assert "scene-0003" in text


def test_open_gts_folder_and_single_file(challenge_root):
    ds = open_occ3d(challenge_root / "gts")
    assert ds.ids()[0] == f"scene-0002/{tok(5)}"  # annotations found beside gts/
    one = open_occ3d(challenge_root / "gts" / "scene-0001" / tok(2) / "labels.npz")
    assert one.ids() == [f"scene-0001/{tok(2)}"]
    assert one.samples[0].meta["next"] is None and one.samples[0].meta["prev"] == tok(1)
    arrays = load_sample_arrays(one.samples[0])
    assert arrays["semantics"].shape == SHAPE


def test_open_without_annotations_sorted(tmp_path):
    for t in (tok(2), tok(1)):
        write_labels(tmp_path / "scene-a" / t / "labels.npz")
    ds = open_occ3d(tmp_path)
    assert ds.ids() == [f"scene-a/{tok(1)}", f"scene-a/{tok(2)}"]
    assert ds.warnings == []


def test_malformed_annotations_are_warnings(challenge_root):
    (challenge_root / "annotations.json").write_text('{"scene_infos": {,}')
    ds = open_occ3d(challenge_root)
    assert len(ds) == 6
    assert any("malformed JSON" in w for w in ds.warnings)


def test_open_predictions_folder(tmp_path):
    for t in (tok(2), tok(1)):
        np.savez_compressed(tmp_path / f"{t}.npz", np.zeros(SHAPE, np.uint8))
    ds = open_occ3d(tmp_path)
    assert ds.meta["kind"] == "predictions"
    assert ds.ids() == [tok(1), tok(2)]
    assert load_sample_arrays(ds.samples[0])["prediction"].shape == SHAPE


def test_open_real_folder(shared_data):
    ds = open_occ3d(shared_data / "occ3d")
    assert ds.ids() == [REAL_TOKEN]
    assert ds.meta["grid"].shape == SHAPE


def test_open_errors(tmp_path):
    with pytest.raises(MissingFileError):
        open_occ3d(tmp_path / "absent")
    with pytest.raises(DataError, match="no Occ3D"):
        open_occ3d(tmp_path)


def test_scenes_of_several_frames_are_a_sequence(tmp_path):
    root = tmp_path / "occ"
    for scene, tokens in (("scene-0001", ("a" * 32, "b" * 32)), ("scene-0002", ("c" * 32,))):
        for token in tokens:
            folder = root / "gts" / scene / token
            folder.mkdir(parents=True)
            np.savez_compressed(folder / "labels.npz", semantics=np.full((200, 200, 16), 17, np.uint8))
    assert open_occ3d(root).meta["sequence"] is True
    single = open_occ3d(root / "gts" / "scene-0002" / ("c" * 32) / "labels.npz")
    assert single.meta["sequence"] is False
