"""Reconstruction inputs (condition.npz, trajectories, LiDAR sweep lists) and the Occ3D
writer (round trips through the loaders)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from occstudio.core.compute.reconstruction import fuse_depth_frames
from occstudio.core.errors import DataError, MissingFileError
from occstudio.io.condition import (
    condition_frames,
    is_condition_file,
    open_depth_frames,
    read_condition,
    read_lidar_sweeps,
    trajectory_frames,
)
from occstudio.io.occ3d import open_occ3d, read_labels_npz, read_prediction_npz
from occstudio.io.occ3d_writer import write_occ3d_labels, write_occ3d_prediction

K = np.array([[20.0, 0, 7.5], [0, 20.0, 5.5], [0, 0, 1]])


def make_condition(folder, n=3, h=12, w=16, batch=False, rgb=True):
    folder.mkdir(parents=True, exist_ok=True)
    poses = np.tile(np.eye(4), (n, 1, 1))
    poses[:, 0, 3] = np.arange(n) * 0.1
    depths = np.full((n, h, w), 2.0, np.float32)
    depths[:, 0, 0] = 0.0
    intr = np.tile(K, (n, 1, 1))
    if batch:
        poses, depths, intr = poses[None], depths[None], intr[None]
    np.savez(folder / "condition.npz", intrinsics=intr, poses=poses, depths=depths)
    if rgb:
        (folder / "rgb").mkdir(exist_ok=True)
        for i in range(n):
            Image.fromarray(np.full((h, w, 3), 40 * (i + 1), np.uint8)).save(folder / "rgb" / f"{i}.png")
    return folder / "condition.npz"


@pytest.mark.parametrize("batch", [False, True])
def test_read_condition_and_frames(tmp_path, batch):
    path = make_condition(tmp_path, batch=batch)
    assert is_condition_file(path)
    cond = read_condition(path)
    assert len(cond) == 3 and cond.depths.dtype == np.float32 and cond.intrinsics.shape == (3, 3, 3)
    assert [p.name for p in cond.rgb_paths] == ["0.png", "1.png", "2.png"]
    frames = condition_frames(path)
    cloud = fuse_depth_frames(frames)
    assert len(cloud) == 3 * (12 * 16 - 1)
    np.testing.assert_allclose(cloud.points[:, 2], 2.0)
    assert cloud.colors is not None and set(np.unique(cloud.colors)) == {40, 80, 120}
    frames2, warnings = open_depth_frames(path)
    assert len(frames2) == 3 and warnings == []


def test_condition_without_rgb_and_shared_intrinsics(tmp_path):
    np.savez(tmp_path / "c.npz", intrinsics=K, poses=np.eye(4)[None], depths=np.ones((1, 4, 5), np.float32))
    frames = condition_frames(tmp_path / "c.npz")
    assert len(frames) == 1 and frames[0].rgb is None
    assert fuse_depth_frames(frames).colors is None


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"intrinsics": K, "poses": np.eye(4)[None]}, "missing key(s) depths"),
        ({"intrinsics": K, "poses": np.tile(np.eye(4), (2, 1, 1)), "depths": np.ones((3, 4, 4))}, "'poses' must be 3×4×4"),
        ({"intrinsics": np.zeros((3, 3)), "poses": np.eye(4)[None], "depths": np.ones((1, 4, 4))}, "singular"),
        ({"intrinsics": K, "poses": np.full((1, 4, 4), np.nan), "depths": np.ones((1, 4, 4))}, "non-finite"),
        ({"intrinsics": K, "poses": np.eye(4)[None], "depths": np.ones((1, 1, 4, 4, 1))}, "N×H×W"),
    ],
)
def test_bad_condition_files(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError) as err:
        read_condition(tmp_path / "bad.npz")
    assert message in str(err.value) and "bad.npz" in str(err.value)


def test_missing_and_corrupt_inputs(tmp_path):
    with pytest.raises(MissingFileError):
        read_condition(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        read_condition(tmp_path / "junk.npz")
    assert not is_condition_file(tmp_path / "junk.npz")
    with pytest.raises(DataError, match="not an OccGen trajectory folder or a condition.npz"):
        open_depth_frames(tmp_path)


def test_real_trajectory_frames(shared_data):
    frames, warnings = trajectory_frames(shared_data / "occgen" / "trajectory_1")
    assert len(frames) == 52 and any("104" in w for w in warnings)
    depth = frames[0].load_depth()
    assert depth.shape == (270, 480) and 0.5 < depth[depth > 0].min() and depth.max() < 4.2
    rgb = frames[0].load_rgb()
    assert rgb.shape == (270, 480, 3) and rgb.dtype == np.uint8
    # a different depth scale scales the depths
    half, _ = trajectory_frames(shared_data / "occgen" / "trajectory_1", depth_scale=5000.0, rgb=False)
    np.testing.assert_allclose(half[0].load_depth(), 2 * depth, rtol=1e-6)
    assert half[0].rgb is None


def test_lidar_sweep_list(tmp_path):
    pts = np.array([[1, 0, 0, 0.3], [0, 2, 0, 0.4]], np.float32)
    pts.tofile(tmp_path / "a.bin")
    pose = np.eye(4)
    pose[:3, 3] = (5, 0, 0)
    (tmp_path / "sweeps.json").write_text(json.dumps({"sweeps": [{"path": "a.bin", "pose": pose.tolist()}]}))
    sweeps = read_lidar_sweeps(tmp_path / "sweeps.json")
    assert len(sweeps) == 1
    np.testing.assert_array_equal(sweeps[0][0], pts)
    np.testing.assert_array_equal(sweeps[0][1], pose)
    (tmp_path / "bad.json").write_text(json.dumps([{"path": "a.bin", "pose": [[1, 2], [3, 4]]}]))
    with pytest.raises(DataError, match="sweep 0: 'pose' must be a finite 4×4"):
        read_lidar_sweeps(tmp_path / "bad.json")


def test_occ3d_writer_round_trips_through_the_loader(tmp_path):
    rng = np.random.default_rng(0)
    sem = rng.integers(0, 18, (200, 200, 16)).astype(np.int64)
    cam = rng.random((200, 200, 16)) < 0.5
    path = write_occ3d_labels(tmp_path / "gts" / "scene-1" / ("a" * 32) / "labels.npz", sem, mask_camera=cam)
    back = read_labels_npz(path)
    np.testing.assert_array_equal(back["semantics"], sem)
    np.testing.assert_array_equal(back["mask_camera"], cam.astype(np.uint8))
    np.testing.assert_array_equal(back["mask_lidar"], np.ones_like(cam, np.uint8))
    with np.load(path) as raw:
        assert raw.zip.getinfo("semantics.npy").compress_type != 0  # compressed
        assert all(raw[k].dtype == np.uint8 for k in ("semantics", "mask_lidar", "mask_camera"))
    ds = open_occ3d(tmp_path)
    assert ds.ids() == ["scene-1/" + "a" * 32]
    pred = write_occ3d_prediction(tmp_path / "preds" / ("a" * 32 + ".npz"), sem)
    np.testing.assert_array_equal(read_prediction_npz(pred), sem)
    with pytest.raises(DataError, match="outside 0..255"):
        write_occ3d_labels(tmp_path / "x.npz", sem - 1)
    with pytest.raises(DataError, match="mask_camera has shape"):
        write_occ3d_labels(tmp_path / "x.npz", sem, mask_camera=cam[:-1])
