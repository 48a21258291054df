"""GridSpec index/world conversions and pinhole Camera projection."""

from __future__ import annotations

import numpy as np
import pytest

from occstudio.core.geometry import (
    OPENGL_TO_OPENCV,
    Camera,
    GridSpec,
    pose_from_quaternion,
)


def test_presets():
    occ3d = GridSpec.occ3d()
    assert occ3d.shape == (200, 200, 16)
    assert occ3d.voxel_size == (0.4, 0.4, 0.4)
    np.testing.assert_allclose(occ3d.point_range, [-40, -40, -1, 40, 40, 5.4])
    assert occ3d.n_voxels == 640_000
    occgen = GridSpec.occgen()
    assert occgen.shape == (400, 400, 400) and occgen.voxel_size == (0.02,) * 3
    assert occgen.origin == (-4.0, -2.0, -4.0)
    assert occgen.n_voxels == 64_000_000
    uns = GridSpec.unscenes()
    assert uns.shape == (256, 256, 32)
    np.testing.assert_allclose(uns.point_range, [0, -38.4, -4, 76.8, 38.4, 5.6])


def test_from_range_matches_preset():
    g = GridSpec.from_range([-40, -40, -1, 40, 40, 5.4], 0.4)
    assert g.shape == (200, 200, 16)
    g2 = GridSpec.from_range([0, -38.4, -4, 76.8, 38.4, 5.6], 0.3)
    assert g2.shape == (256, 256, 32)


def test_index_centre_roundtrip_occ3d_formula():
    g = GridSpec.occ3d()
    ijk = np.array([[0, 0, 0], [199, 199, 15], [100, 37, 3]])
    centres = g.index_to_center(ijk)
    # formats.md: centre = index * 0.4 + 0.2 + [-40, -40, -1]
    np.testing.assert_allclose(centres, ijk * 0.4 + 0.2 + np.array([-40, -40, -1]), atol=1e-12)
    assert np.array_equal(g.point_to_index(centres), ijk)
    flat = g.ravel(ijk)
    assert np.array_equal(flat, np.ravel_multi_index(ijk.T, (200, 200, 16)))
    assert np.array_equal(g.unravel(flat), ijk)
    np.testing.assert_allclose(g.flat_to_center(flat), centres)
    assert list(g.contains_index(np.array([[0, 0, 0], [200, 0, 0], [-1, 5, 5]]))) == [True, False, False]


def test_axis_centres_and_corners():
    g = GridSpec((0, 0, 0), (1.0, 2.0, 0.5), (2, 3, 4))
    xs, ys, zs = g.axis_centers()
    np.testing.assert_allclose(xs, [0.5, 1.5])
    np.testing.assert_allclose(ys, [1, 3, 5])
    np.testing.assert_allclose(zs, [0.25, 0.75, 1.25, 1.75])
    np.testing.assert_allclose(g.corner_to_world(np.array([2, 3, 4])), g.range_max)


def test_invalid_grids():
    with pytest.raises(ValueError):
        GridSpec((0, 0, 0), 0.0, (1, 1, 1))
    with pytest.raises(ValueError):
        GridSpec((0, 0, 0), 1.0, (0, 1, 1))


def _camera() -> Camera:
    K = np.array([[100.0, 0, 64], [0, 120.0, 48], [0, 0, 1]])
    pose = pose_from_quaternion([1.0, 2.0, 3.0], [np.cos(0.3), 0.0, np.sin(0.3), 0.0])
    return Camera.from_pose(K, pose, 128, 96)


def test_project_unproject_roundtrip():
    cam = _camera()
    rng = np.random.default_rng(0)
    uv = rng.uniform([-0.5, -0.5], [127.4, 95.4], size=(50, 2))
    depth = rng.uniform(0.5, 20, size=50)
    world = cam.unproject(uv, depth)
    uv2, depth2 = cam.project(world)
    np.testing.assert_allclose(uv2, uv, atol=1e-9)
    np.testing.assert_allclose(depth2, depth, atol=1e-9)
    assert cam.in_image(uv2).all()


def test_principal_point_and_behind_camera():
    K = np.array([[100.0, 0, 64], [0, 100.0, 48], [0, 0, 1]])
    cam = Camera(K, np.eye(4), 128, 96)
    uv, depth = cam.project(np.array([[0.0, 0.0, 5.0], [0.0, 0.0, -1.0], [1.0, 0.0, 2.0]]))
    np.testing.assert_allclose(uv[0], [64, 48])
    assert np.isnan(uv[1]).all() and depth[1] == -1
    np.testing.assert_allclose(uv[2], [64 + 50, 48])
    np.testing.assert_allclose(cam.center, [0, 0, 0])
    assert list(cam.in_image(uv)) == [True, False, True]
    assert not cam.in_image(np.array([[128.0, 10.0]]))[0]


def test_quaternion_rotation_and_opengl_axes():
    # 90 degrees about z: x -> y
    pose = pose_from_quaternion([0, 0, 0], [np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)])
    np.testing.assert_allclose(pose[:3, :3] @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    # an OpenGL camera looks down -z; after the conversion, OpenCV z points the same way
    gl_pose = np.eye(4)
    cv_pose = gl_pose @ OPENGL_TO_OPENCV
    np.testing.assert_allclose(cv_pose[:3, 2], [0, 0, -1])
    with pytest.raises(ValueError):
        pose_from_quaternion([0, 0, 0], [0, 0, 0, 0])
