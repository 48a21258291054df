"""Scene overlays: point clouds with colour arrays, frustums, thumbnails, trajectories."""

from __future__ import annotations

import numpy as np
import pytest

from occstudio.builtins.scene_overlays import (
    frustum_corners,
    frustum_lines,
    load_scene_overlays,
    point_cloud,
    thumbnail_quad,
    trajectory_line,
    voxel_labels_at,
)
from occstudio.core.dataset import SampleCache
from occstudio.core.geometry import Camera, GridSpec
from occstudio.core.labels import UNSCENES3D
from occstudio.io.occ3d import open_occ3d
from occstudio.io.occgen import open_trajectory
from occstudio.io.unscenes import open_unscenes
from tests.fixtures_unscenes import make_unscenes_dataset
from tests.render.test_camera_views import _occ3d_tree

K = np.array([[100.0, 0, 80], [0, 100.0, 45], [0, 0, 1]])


def _forward_camera(scale: float = 1.0) -> Camera:
    # OpenCV camera at (1, 2, 3) looking along world +x (z_cam = +x, x_cam = -y, y_cam = -z)
    R = np.array([[0.0, 0, 1], [-1, 0, 0], [0, -1, 0]])
    pose = np.eye(4)
    pose[:3, :3] = R
    pose[:3, 3] = (1, 2, 3)
    cam = Camera.from_pose(K, pose, 160, 90)
    cam.T_cam_from_world = np.diag([scale, scale, scale, 1.0]) @ cam.T_cam_from_world
    return cam


def test_point_cloud_carries_every_colour_array_and_drops_nan():
    pts = np.array([[0, 0, 1.0], [1, 1, 2], [np.nan, 0, 0], [5, 5, 5]], np.float32)
    cloud = point_cloud(pts, intensity=np.array([1, 2, 3, 4.0]), rgb=np.full((4, 3), 7, np.uint8),
                        labels=np.array([1, 255, 2, 4]), labelset=UNSCENES3D)
    assert cloud.n_points == 3
    np.testing.assert_allclose(cloud.point_data["height"], [1, 2, 5])
    np.testing.assert_allclose(cloud.point_data["intensity"], [1, 2, 4])
    np.testing.assert_array_equal(cloud.point_data["label"], [1, 255, 4])
    np.testing.assert_array_equal(cloud.point_data["label_rgb"][0], UNSCENES3D.colors[1][:3])
    np.testing.assert_array_equal(cloud.point_data["label_rgb"][1], [160, 160, 160])
    # height along another up axis (OpenCV camera frames: up is -y)
    np.testing.assert_allclose(point_cloud(pts, up=(0, -1, 0)).point_data["height"], [0, -1, -5])


@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_frustum_apex_and_far_corners_project_onto_the_image_corners(scale):
    cam = _forward_camera(scale)
    corners = frustum_corners(cam, 2.0)
    np.testing.assert_allclose(corners[0], [1, 2, 3], atol=1e-9)  # scaling the camera frame keeps the centre
    uv, depth = cam.project(corners[1:])
    np.testing.assert_allclose(uv, [[-0.5, -0.5], [159.5, -0.5], [159.5, 89.5], [-0.5, 89.5]], atol=1e-6)
    np.testing.assert_allclose(depth, 2.0)
    lines = frustum_lines([cam, _forward_camera()], 2.0)
    assert lines.n_points == 10 and lines.n_lines == 16
    assert set(lines.cell_data["camera"]) == {0, 1}


def test_thumbnail_is_small_and_oriented():
    image = np.zeros((900, 1600, 3), np.uint8)
    image[:10] = 255  # a white top row
    quad, thumb = thumbnail_quad(_forward_camera(), image, 1.0)
    assert max(thumb.shape[:2]) <= 192 and thumb[0].min() == 255
    tc = quad.active_texture_coordinates
    # the top-left image corner (first corner) maps to texture (0, 1): the image's top row
    np.testing.assert_array_equal(tc[0], [0, 1])
    assert quad.points[0][2] > quad.points[3][2]  # top corners above the bottom ones


def test_trajectory_marks_the_current_frame():
    line = trajectory_line(np.arange(12.0).reshape(4, 3), current=2)
    assert line.n_points == 4 and line.point_data["current"].tolist() == [0, 0, 1, 0]


def test_voxel_labels_at_points():
    grid = GridSpec(shape=(4, 4, 2), voxel_size=1.0, origin=(0.0, 0.0, 0.0))
    labels = np.full(grid.shape, 255, np.uint8)
    labels[1, 2, 0] = 7
    out = voxel_labels_at(np.array([[1.5, 2.5, 0.5], [9, 9, 9], [0.1, 0.1, 0.1]]), labels, grid)
    assert out.tolist() == [7, 255, 255]


def test_unscenes_overlays_lidar_labels_cameras_trajectory(tmp_path):
    fixture = make_unscenes_dataset(tmp_path / "u", n_frames=3, sweeps=0, n_points=500)
    dataset = open_unscenes(fixture.root)
    result = load_scene_overlays(dataset, dataset.samples[1], SampleCache())
    by_name = {o.name: o for o in result["overlays"]}
    assert {"LiDAR", "Local map", "Cameras", "Camera images", "Trajectory"} <= set(by_name), result
    lidar = by_name["LiDAR"]
    assert set(lidar.color_modes) == {"height", "intensity", "label", "solid"}
    # points of the generated scene fall in labelled voxels (the occupancy was voxelised from them)
    assert (lidar.mesh.point_data["label"] != 255).mean() > 0.5
    traj = by_name["Trajectory"].mesh
    assert traj.n_points == 3 and traj.point_data["current"].tolist() == [0, 1, 0]
    # in the current frame's own coordinates, its own centre is the origin
    np.testing.assert_allclose(traj.points[1], 0, atol=1e-5)
    assert "camera" in by_name["Cameras"].cameras
    assert by_name["Camera images"].thumbnails


def test_occ3d_overlays_one_frustum_per_calibrated_camera(tmp_path):
    dataset = open_occ3d(_occ3d_tree(tmp_path / "occ3d"))
    result = load_scene_overlays(dataset, dataset.samples[0])
    by_name = {o.name: o for o in result["overlays"]}
    assert set(by_name["Cameras"].cameras) == {"CAM_FRONT", "CAM_BACK"}
    assert len(by_name["Camera images"].thumbnails) == 1  # CAM_BACK's image is missing
    front = by_name["Cameras"].cameras["CAM_FRONT"]
    np.testing.assert_allclose(front.center, [1.7, 0.0, 1.5], atol=1e-9)


def test_non_occupancy_dataset_has_no_overlays(demo_root):
    from occstudio.io.extremeocc import open_manifest

    dataset = open_manifest(demo_root / "manifest.json")
    assert load_scene_overlays(dataset, dataset.samples[0])["overlays"] == []


def test_occgen_depth_points_match_the_voxels(shared_data):
    root = shared_data / "occgen" / "trajectory_1"
    if not root.is_dir():
        pytest.skip(f"{root} not present")
    dataset = open_trajectory(root)
    sample = dataset.samples[6]
    result = load_scene_overlays(dataset, sample, SampleCache())
    by_name = {o.name: o for o in result["overlays"]}
    cloud = by_name["Depth points"].mesh
    assert "rgb" in by_name["Depth points"].color_modes
    # the frame's own camera sits at the origin of the frame's grid
    np.testing.assert_allclose(by_name["Cameras"].cameras["rgb"].center, 0, atol=1e-9)
    traj = by_name["Trajectory"].mesh
    assert traj.n_points == len(dataset) and traj.point_data["current"][6] == 1
    np.testing.assert_allclose(traj.points[6], 0, atol=1e-5)
    # depth points land in or next to the frame's occupied voxels (same frame, same scale)
    from occstudio.io.occgen import read_occ_sequence

    grid = dataset.meta["grid"]
    seq = read_occ_sequence(dataset.meta["paths"]["occ_sequence"])[0]
    occupied = np.zeros(grid.shape, bool)
    occupied.ravel()[seq.frame(6)] = True
    ijk = grid.point_to_index(np.asarray(cloud.points)[::50])
    inside = grid.contains_index(ijk)
    near = np.zeros(int(inside.sum()), bool)
    for d in np.ndindex(3, 3, 3):
        nb = np.clip(ijk[inside] + np.array(d) - 1, 0, np.array(grid.shape) - 1)
        near |= occupied[nb[:, 0], nb[:, 1], nb[:, 2]]
    assert inside.mean() > 0.8 and near.mean() > 0.8, (inside.mean(), near.mean())
