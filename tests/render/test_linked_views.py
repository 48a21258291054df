"""Linked 2D↔3D geometry: a pixel's ray through the voxels, a voxel in every camera."""

from __future__ import annotations

import numpy as np
import pytest

from occstudio.builtins.camera_views import load_camera_views
from occstudio.builtins.linked_views import cast_pixel, pixel_ray, project_to_cameras, sample_grid
from occstudio.core.dataset import SampleCache
from occstudio.core.geometry import Camera
from occstudio.io.occ3d import open_occ3d
from occstudio.io.occgen import open_trajectory
from occstudio.io.unscenes import open_unscenes
from tests.fixtures_unscenes import make_unscenes_dataset
from tests.render.test_camera_views import _occ3d_tree


@pytest.fixture
def occ3d(tmp_path):
    dataset = open_occ3d(_occ3d_tree(tmp_path / "occ3d"))
    sample = dataset.samples[0]
    views = {v.name: v for v in load_camera_views(dataset, sample)}
    return dataset, sample, views


def test_ray_through_the_block_stops_at_its_front_face(occ3d):
    dataset, sample, views = occ3d
    camera = views["CAM_FRONT"].camera
    grid = sample_grid(dataset, sample)
    (uv,), _ = camera.project(np.array([[10.4, 0.1, 0.6]]))
    cast = cast_pixel(camera, *uv, grid, "CAM_FRONT")
    assert cast.hit is not None and cast.hit[0] == 125  # the block spans x 10..10.8 m: voxels 125, 126
    assert cast.hit_label == 4 and "car" in cast.description
    np.testing.assert_allclose(cast.end[0], 10.0, atol=1e-6)  # enters the block's front face
    np.testing.assert_allclose(cast.hit_distance, np.linalg.norm(cast.end - camera.center), atol=1e-9)
    # the path runs from the camera outwards, every step a face neighbour, ending at the hit
    steps = np.abs(np.diff(cast.path, axis=0)).sum(axis=1)
    assert (steps == 1).all() and tuple(cast.path[-1]) == cast.hit
    assert not grid.occupied[tuple(cast.path[:-1].T)].any()
    assert set(cast.meshes) == {"line", "path", "hit"}


def test_ray_into_the_sky_hits_nothing(occ3d):
    dataset, sample, views = occ3d
    cast = cast_pixel(views["CAM_FRONT"].camera, 80, 0, sample_grid(dataset, sample), "CAM_FRONT")
    assert cast.hit is None and "no occupied voxel" in cast.description
    assert "hit" not in cast.meshes and len(cast.path) > 0


def test_pixel_ray_of_a_scaled_camera_frame():
    # OccGen cameras map the grid frame to metres with a scale: the ray must not depend on it
    K = np.array([[100.0, 0, 50], [0, 100.0, 40], [0, 0, 1]])
    cam = Camera(K, np.diag([3.0, 3.0, 3.0, 1.0]), 100, 80)
    origin, direction = pixel_ray(cam, 50, 40)
    np.testing.assert_allclose(origin, 0, atol=1e-12)
    np.testing.assert_allclose(direction, [0, 0, 1], atol=1e-12)


def test_voxel_projects_into_the_cameras_that_see_it(occ3d):
    _, _, views = occ3d
    cameras = {name: v.camera for name, v in views.items()}
    marks = project_to_cameras(np.array([10.4, 0.0, 0.6]), cameras)
    assert marks["CAM_BACK"] is None  # behind the rear camera
    u, v = marks["CAM_FRONT"]
    assert 0 <= u < 160 and 0 <= v < 90


def test_unscenes_pixel_of_a_projected_lidar_point_hits_near_it(tmp_path):
    fixture = make_unscenes_dataset(tmp_path / "u", n_frames=1, sweeps=0, n_points=3000)
    dataset = open_unscenes(fixture.root)
    sample = dataset.samples[0]
    view = load_camera_views(dataset, sample)[0]
    grid = sample_grid(dataset, sample, SampleCache())
    near = np.argsort(view.lidar_depth)[len(view.lidar_depth) // 2]
    cast = cast_pixel(view.camera, *view.lidar_uv[near], grid, "camera")
    assert cast.hit is not None
    # the ray stops no further than the LiDAR point (plus a voxel diagonal): it hits what the LiDAR saw
    point_distance = view.lidar_depth[near] * np.linalg.norm(np.linalg.solve(view.camera.K, [*view.lidar_uv[near], 1]))
    assert cast.hit_distance <= point_distance + np.linalg.norm(grid.grid.voxel_size) + 1e-6


def test_occgen_grid_from_the_sequence(shared_data):
    root = shared_data / "occgen" / "trajectory_1"
    if not root.is_dir():
        pytest.skip(f"{root} not present")
    dataset = open_trajectory(root)
    cache = SampleCache()
    sample = dataset.samples[0]
    grid = sample_grid(dataset, sample, cache)
    assert grid.occupied.shape == tuple(dataset.meta["grid"].shape) and grid.occupied.any()
    view = load_camera_views(dataset, sample, cache)[0]
    # the depth image says how far each pixel's surface is (metres; grid units × Sim3 scale)
    scale = dataset.meta["scale"]
    diffs = []
    for v in range(30, view.camera.height, 60):
        for u in range(30, view.camera.width, 60):
            measured = view.depth_map[v, u]
            cast = cast_pixel(view.camera, u, v, grid, "rgb")
            if measured > 0 and cast.hit is not None:
                diffs.append(abs(cast.end[2] * scale - measured))
    assert len(diffs) > 20
    # rays stop at the surface the depth camera saw (a few stray voxels stop some early)
    assert np.median(diffs) < 0.1 and np.mean(np.array(diffs) < 0.2) > 0.75, np.percentile(diffs, [50, 75, 90])


@pytest.mark.parametrize("uv", [(10.3, 40.2), (320.1, 180.4), (600.7, 300.1), (200.4, 250.6)])
def test_cropped_walk_matches_the_whole_grid(tmp_path, uv):
    from occstudio.core.compute.occupancy import traverse_rays

    fixture = make_unscenes_dataset(tmp_path / "u", n_frames=1, sweeps=0, n_points=3000, image_size=(640, 360))
    dataset = open_unscenes(fixture.root)
    sample = dataset.samples[0]
    camera = load_camera_views(dataset, sample)[0].camera
    grid = sample_grid(dataset, sample)
    cast = cast_pixel(camera, *uv, grid, "camera")
    origin, direction = pixel_ray(camera, *uv)
    whole = traverse_rays(grid.grid, origin, direction[None], grid.occupied, backend="numpy")
    assert {tuple(v) for v in np.argwhere(whole.visited)} == {tuple(int(i) for i in v) for v in cast.path}
    if whole.first_hit[0] >= 0:
        assert np.ravel_multi_index(cast.hit, grid.grid.shape) == whole.first_hit[0]
        assert cast.hit_distance == pytest.approx(whole.hit_t[0])
    else:
        assert cast.hit is None
