"""Camera views: LiDAR and voxel centres projected with each format's calibration."""

from __future__ import annotations

import numpy as np
import pytest

from occstudio.builtins.camera_views import CameraView, load_camera_views
from occstudio.core.dataset import SampleCache
from occstudio.io.occ3d import open_occ3d
from occstudio.io.occgen import open_trajectory, read_depth_png
from occstudio.io.unscenes import open_unscenes
from tests.fixtures_unscenes import IMAGE_SIZE, make_unscenes_dataset


def _nearest_per_pixel(uv: np.ndarray, depth: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Depth image of the nearest projected point per pixel (0 where none)."""
    out = np.zeros(shape)
    col = np.rint(uv[:, 0]).astype(int)
    row = np.rint(uv[:, 1]).astype(int)
    order = np.argsort(-depth)
    out[row[order], col[order]] = depth[order]
    return out


def test_unscenes_lidar_lands_in_image_and_matches_depth_map(tmp_path):
    fixture = make_unscenes_dataset(tmp_path / "u", n_frames=1, sweeps=0, n_points=800)
    dataset = open_unscenes(fixture.root)
    sample = dataset.samples[0]
    views = load_camera_views(dataset, sample)
    assert len(views) == 1
    view = views[0]
    assert isinstance(view, CameraView) and view.error == ""
    width, height = IMAGE_SIZE
    assert view.image.shape == (height, width, 3)
    assert view.camera is not None
    assert len(view.lidar_uv) > 50
    assert np.all(view.lidar_depth > 0)
    assert np.all((view.lidar_uv >= -0.5) & (view.lidar_uv < [width - 0.5, height - 0.5]))
    # the fixture's depth PNG keeps the nearest point with 2 m < z < 80 m per pixel
    keep = (view.lidar_depth > 2.0) & (view.lidar_depth < 80.0)
    ours = _nearest_per_pixel(view.lidar_uv[keep], view.lidar_depth[keep], (height, width))
    both = (ours > 0) & (view.depth_map > 0)
    assert both.sum() > 50
    np.testing.assert_allclose(ours[both], view.depth_map[both], atol=1.0 / 256)
    # and no pixel has a depth label without a LiDAR point
    assert not np.any((view.depth_map > 0) & (ours == 0))
    # occupied voxel centres project too, with plausible depths
    assert len(view.voxel_uv) > 10
    assert view.voxel_depth.min() > 0 and view.voxel_depth.max() < 80
    assert view.elevation_map is not None and view.elevation_map.shape == (256, 256)


def test_unscenes_missing_calibration_is_reported(tmp_path):
    fixture = make_unscenes_dataset(tmp_path / "u", n_frames=1, sweeps=0, n_points=300)
    for calib in (fixture.root / "calibs").iterdir():
        calib.write_text("P2: 1 2 3\n")
    dataset = open_unscenes(fixture.root)
    view = load_camera_views(dataset, dataset.samples[0])[0]
    assert view.image is not None
    assert "P2" in view.error
    assert len(view.lidar_uv) == 0 and view.camera is None


def test_views_are_cached(tmp_path):
    fixture = make_unscenes_dataset(tmp_path / "u", n_frames=1, sweeps=0, n_points=300)
    dataset = open_unscenes(fixture.root)
    cache = SampleCache(64 << 20)
    first = load_camera_views(dataset, dataset.samples[0], cache)
    assert load_camera_views(dataset, dataset.samples[0], cache) is first


@pytest.mark.parametrize("frame", [0, 30])
def test_occgen_voxel_depths_agree_with_depth_png(shared_data, frame):
    root = shared_data / "occgen" / "trajectory_1"
    if not root.is_dir():
        pytest.skip("no OccGen example")
    dataset = open_trajectory(root)
    sample = dataset.samples[frame]
    view = load_camera_views(dataset, sample)[0]
    assert view.image is not None and view.depth_map is not None
    depth = read_depth_png(sample.path("depth"), 10000.0)
    np.testing.assert_array_equal(view.depth_map, depth)
    assert len(view.voxel_uv) > 1000
    col = np.rint(view.voxel_uv[:, 0]).astype(int)
    row = np.rint(view.voxel_uv[:, 1]).astype(int)
    measured = depth[row, col]
    valid = measured > 0
    assert valid.mean() > 0.9
    diff = np.abs(view.voxel_depth[valid] - measured[valid])
    # voxels are 0.02 relative units (about 3 cm after the Sim3 scale): the centres sit
    # within a few centimetres of the measured surface; unscaled they would be ~1 m off
    assert np.median(diff) < 0.1
    assert np.mean(diff < 0.2) > 0.8


def test_occ3d_without_annotations_gives_an_explanation(shared_data):
    folder = shared_data / "occ3d"
    if not folder.is_dir():
        pytest.skip("no Occ3D example")
    dataset = open_occ3d(folder)
    views = load_camera_views(dataset, dataset.samples[0])
    assert len(views) == 1 and views[0].image is None
    assert "annotations" in views[0].error


def _occ3d_tree(root):
    """One annotated Occ3D sample: a block 10 m ahead, CAM_FRONT with an image, CAM_BACK without."""
    import json

    from PIL import Image

    token = "a" * 32
    folder = root / "gts" / "scene-0001" / token
    folder.mkdir(parents=True)
    semantics = np.full((200, 200, 16), 17, np.uint8)
    semantics[125:127, 99:101, 3:5] = 4  # x 10..10.8 m, y -0.4..0.4 m, z 0.2..1.0 m
    ones = np.ones_like(semantics)
    np.savez_compressed(folder / "labels.npz", semantics=semantics, mask_lidar=ones, mask_camera=ones)
    (root / "imgs").mkdir()
    Image.fromarray(np.full((90, 160, 3), 100, np.uint8)).save(root / "imgs" / "front.jpg")
    K = [[126.6, 0.0, 80.0], [0.0, 126.6, 45.0], [0.0, 0.0, 1.0]]
    cameras = {
        "CAM_BACK": {"img_path": "imgs/back.jpg", "intrinsic": K,
                     "extrinsic": {"translation": [-1.0, 0.0, 1.5], "rotation": [0.5, -0.5, -0.5, 0.5]}},
        "CAM_FRONT": {"img_path": "imgs/front.jpg", "intrinsic": K,
                      "extrinsic": {"translation": [1.7, 0.0, 1.5], "rotation": [0.5, -0.5, 0.5, -0.5]}},
    }
    doc = {"train_split": ["scene-0001"], "val_split": [],
           "scene_infos": {"scene-0001": {token: {"camera_sensor": cameras, "prev": "", "next": "",
                                                   "gt_path": f"gts/scene-0001/{token}/labels.npz"}}}}
    (root / "annotations.json").write_text(json.dumps(doc))
    return root


def test_occ3d_cameras_from_annotations(tmp_path):
    dataset = open_occ3d(_occ3d_tree(tmp_path / "occ3d"))
    views = load_camera_views(dataset, dataset.samples[0])
    assert [v.name for v in views] == ["CAM_FRONT", "CAM_BACK"]  # nuScenes order
    front, back = views
    assert front.error == "" and front.image.shape == (90, 160, 3)
    assert len(front.voxel_uv) == 8
    # the block is 10.2-10.6 m ahead of the ego origin, the camera 1.7 m ahead of it
    assert np.all((front.voxel_depth > 8.4) & (front.voxel_depth < 9.0))
    assert np.all(np.abs(front.voxel_uv[:, 0] - 80.0) < 10)  # straight ahead
    assert np.all(front.voxel_uv[:, 1] > 45.0)  # below the horizon (camera 1.5 m up)
    assert back.image is None and "back.jpg" in back.error
    assert len(back.voxel_uv) == 0
