"""Projection of points into camera images, depth colours, splatting and map readout."""

from __future__ import annotations

import numpy as np
import pytest

from occstudio.core.compute.projection import (
    colorize_map,
    depth_colors,
    project_points,
    readout,
    splat_points,
    voxel_centres,
)
from occstudio.core.geometry import Camera, GridSpec


def _camera(T=None) -> Camera:
    K = np.array([[100.0, 0.0, 50.0], [0.0, 80.0, 40.0], [0.0, 0.0, 1.0]])
    return Camera(K, np.eye(4) if T is None else T, width=100, height=80)


def test_project_points_hand_computed_pinhole():
    cam = _camera()
    pts = np.array([[0.0, 0.0, 2.0], [1.0, -0.5, 4.0], [0.2, 0.3, 1.0]])
    uv, depth = project_points(cam, pts)
    expected = np.array([[50.0, 40.0], [50 + 100 * 1 / 4, 40 - 80 * 0.5 / 4], [50 + 100 * 0.2, 40 + 80 * 0.3]])
    np.testing.assert_allclose(uv, expected)
    np.testing.assert_allclose(depth, [2.0, 4.0, 1.0])


def test_project_points_with_pose_and_extra_columns():
    # camera 3 m behind the world origin along z: world z=0 is at depth 3
    T = np.eye(4)
    T[2, 3] = 3.0
    cam = _camera(T)
    uv, depth, index = project_points(cam, np.array([[0.3, 0.0, 0.0, 7.0]]), return_index=True)
    np.testing.assert_allclose(uv, [[50 + 100 * 0.3 / 3, 40.0]])
    np.testing.assert_allclose(depth, [3.0])
    assert index.tolist() == [0]


def test_points_behind_outside_or_nonfinite_are_removed():
    cam = _camera()
    pts = np.array(
        [
            [0.0, 0.0, -2.0],  # behind
            [0.0, 0.0, 0.0],  # on the camera plane
            [10.0, 0.0, 1.0],  # right of the image (u = 1050)
            [0.0, 0.0, 5.0],  # kept
            [np.nan, 0.0, 5.0],  # not finite
            [-0.5051, 0.0, 1.0],  # u = -0.51: just outside the first pixel
        ]
    )
    uv, depth, index = project_points(cam, pts, return_index=True)
    assert index.tolist() == [3]
    assert np.all(depth > 0)
    uv, depth, index = project_points(cam, np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 9.0]]), max_depth=5.0,
                                      return_index=True)
    assert index.tolist() == [0]
    uv, depth = project_points(cam, np.zeros((0, 3)))
    assert uv.shape == (0, 2) and depth.shape == (0,)


def test_depth_colors_ramp_ends_and_clipping():
    colors = depth_colors(np.array([1.0, 10.0, 0.0, 20.0, np.nan]), near=1.0, far=10.0)
    assert colors.dtype == np.uint8 and colors.shape == (5, 3)
    assert tuple(colors[0]) == (220, 30, 30)  # near: red
    assert tuple(colors[1]) == (48, 18, 200)  # far: blue
    assert tuple(colors[2]) == tuple(colors[0])  # clipped
    assert tuple(colors[3]) == tuple(colors[1])
    assert tuple(colors[4]) == tuple(colors[1])  # NaN: far colour


def test_colorize_map_transparent_where_empty():
    m = np.array([[0.0, 1.0], [2.0, np.nan]])
    rgba = colorize_map(m, 1.0, 2.0)
    assert rgba[0, 0, 3] == 0 and rgba[1, 1, 3] == 0
    assert rgba[0, 1, 3] == 255 and tuple(rgba[0, 1, :3]) == (220, 30, 30)
    assert tuple(colorize_map(m, 1.0, 2.0, reverse=True)[0, 1, :3]) == (48, 18, 200)


def test_splat_writes_only_at_given_pixels():
    uv = np.array([[2.2, 3.4], [7.6, 0.0], [-5.0, 2.0]])  # the last is outside
    colors = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)
    layer = splat_points((6, 10, 3), uv, colors, radius=0)
    assert layer.shape == (6, 10, 4)
    written = np.argwhere(layer[:, :, 3] > 0).tolist()
    assert written == [[0, 8], [3, 2]]
    assert tuple(layer[3, 2]) == (255, 0, 0, 255)
    assert tuple(layer[0, 8]) == (0, 255, 0, 255)


def test_splat_radius_and_nearest_wins():
    uv = np.array([[5.0, 5.0], [6.0, 5.0]])
    colors = np.array([[255, 0, 0], [0, 0, 255]], np.uint8)
    layer = splat_points((10, 12), uv, colors, radius=1, depth=np.array([1.0, 9.0]))
    covered = layer[:, :, 3] > 0
    expected = np.zeros((10, 12), bool)
    expected[4:7, 4:8] = True
    np.testing.assert_array_equal(covered, expected)
    assert tuple(layer[5, 6, :3]) == (255, 0, 0)  # the near (red) point is on top
    assert tuple(layer[5, 7, :3]) == (0, 0, 255)
    with pytest.raises(ValueError):
        splat_points((4, 4), uv, np.zeros((3, 3), np.uint8))


def test_voxel_centres_skip_free_ids():
    grid = GridSpec(origin=(0.0, 0.0, 0.0), voxel_size=0.5, shape=(2, 3, 2))
    labels = np.full(grid.shape, 17, np.uint8)
    labels[1, 2, 0] = 4
    labels[0, 0, 1] = 255
    centres = voxel_centres(labels, grid, free_ids=(17, 255))
    np.testing.assert_allclose(centres, [[0.75, 1.25, 0.25]])
    assert len(voxel_centres(labels, grid, free_ids=(17,))) == 2
    with pytest.raises(ValueError):
        voxel_centres(labels[:1], grid, (17,))


def test_readout_text():
    m = np.array([[0.0, 12.345], [np.nan, 3.0]], np.float32)
    assert readout(m, 1.2, -0.3) == "x 1, y 0: 12.35 m"
    assert readout(m, 0.0, 0.0) == "x 0, y 0: empty"
    assert readout(m, 0.0, 1.0) == "x 0, y 1: no value"
    assert readout(m, 5.0, 0.0) == ""
    assert readout(None, 0.0, 0.0) == ""
