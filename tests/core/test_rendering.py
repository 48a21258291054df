"""Occupancy → depth / semantic images: exact hard rendering and RenderOcc alpha compositing."""

from __future__ import annotations

import numpy as np
import pytest

from occstudio.core.compute.occupancy import camera_rays
from occstudio.core.compute.rendering import NO_LABEL, hard_density, render_alpha, render_labels
from occstudio.core.errors import DataError
from occstudio.core.geometry import Camera, GridSpec


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Camera-to-world pose (OpenCV axes) looking from ``eye`` at ``target``."""
    eye = np.asarray(eye, float)
    f = np.asarray(target, float) - eye
    f /= np.linalg.norm(f)
    r = np.cross(f, up)
    r /= np.linalg.norm(r)
    d = np.cross(f, r)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = r, d, f, eye
    return pose


def scene(seed: int = 1):
    rng = np.random.default_rng(seed)
    grid = GridSpec(origin=(-2.0, -2.0, 0.0), voxel_size=0.1, shape=(40, 40, 30))
    labels = np.full(grid.shape, 17, np.uint8)
    labels[:, :, 0:2] = 11  # ground
    for _ in range(15):
        x, y = rng.integers(0, 35, 2)
        z = rng.integers(2, 25)
        sx, sy, sz = rng.integers(2, 6, 3)
        labels[x : x + sx, y : y + sy, z : z + sz] = rng.integers(0, 17)
    K = np.array([[60.0, 0, 39.5], [0, 60.0, 29.5], [0, 0, 1]])
    cam = Camera.from_pose(K, look_at((0.31, -3.53, 2.62), (0.0, 0.0, 0.5)), 80, 60)
    return grid, labels, cam


def test_hard_rendering_of_a_floor_is_the_exact_plane_depth():
    grid = GridSpec(origin=(-5.0, -5.0, -1.0), voxel_size=0.25, shape=(40, 40, 8))
    labels = np.full(grid.shape, 17, np.uint8)
    labels[:, :, 0:2] = 11  # top face at z = -0.5
    K = np.array([[30.0, 0, 15.5], [0, 30.0, 11.5], [0, 0, 1]])
    pose = look_at((0.1, -2.0, 1.0), (0.1, 2.0, -0.5))
    cam = Camera.from_pose(K, pose, 32, 24)
    view = render_labels(labels, grid, cam, backend="numpy")
    origin, dirs, _ = camera_rays(cam)
    t_plane = (-0.5 - origin[2]) / dirs[:, 2]
    hits = grid.point_to_index(origin + t_plane[:, None] * dirs)
    on_floor = (dirs[:, 2] < 0) & grid.contains_index(hits)
    np.testing.assert_allclose(view.depth.reshape(-1)[on_floor], t_plane[on_floor], rtol=1e-6)
    assert np.all(view.semantics.reshape(-1)[on_floor] == 11)
    assert np.all(view.semantics.reshape(-1)[dirs[:, 2] >= 0] == NO_LABEL)
    assert np.all(view.depth.reshape(-1)[dirs[:, 2] >= 0] == 0)


def chord_length(grid: GridSpec, origin, d, flat) -> float:
    """Metric length of the ray inside voxel ``flat`` (0 when it misses)."""
    lo = grid.index_to_center(grid.unravel(np.array([flat])))[0] - 0.5 * np.asarray(grid.voxel_size)
    hi = lo + np.asarray(grid.voxel_size)
    with np.errstate(divide="ignore"):
        t0, t1 = (lo - origin) / d, (hi - origin) / d
    t_in = np.max(np.minimum(t0, t1))
    t_out = np.min(np.maximum(t0, t1))
    return max(0.0, t_out - t_in) * float(np.linalg.norm(d))


def test_alpha_compositing_agrees_with_the_exact_hard_rendering():
    grid, labels, cam = scene()
    hard = render_labels(labels, grid, cam, backend="numpy")
    step = 0.05
    soft = render_alpha(hard_density(labels), grid, cam, semantics=labels, activation="identity", step=step, n_classes=18)
    hit = hard.first_hit >= 0
    assert hit.mean() > 0.5
    assert not (soft.opacity[~hit] > 0).any()  # nothing where the exact traversal sees nothing
    origin, dirs, _ = camera_rays(cam)
    dirs = dirs.reshape(60, 80, 3)
    cos = 1.0 / np.linalg.norm(dirs, axis=2)  # camera z per metre along the ray
    diff = soft.depth - hard.depth
    # compositing never sees an occupied voxel before the exact first hit
    seen = hit & (soft.opacity > 0.5)
    assert np.all(diff[seen] >= -1e-5)
    close = hit & (soft.opacity > 0.5) & (diff <= step * cos + 1e-6)
    # within one step everywhere, except rays that clip the hit voxel for less than a step
    for r, c in zip(*np.nonzero(hit & ~close)):
        assert chord_length(grid, origin, dirs[r, c], hard.first_hit[r, c]) < step
    assert close.sum() >= 0.97 * hit.sum()
    same = hard.semantics[close] == soft.semantics[close]
    assert same.mean() > 0.99


def test_softplus_activation_and_logits():
    grid = GridSpec(origin=(0, 0, 0), voxel_size=1.0, shape=(1, 1, 10))
    cam = Camera.from_pose(np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1]]), np.eye(4) @ _translate(0.5, 0.5, -1.0), 1, 1)
    density = np.full(grid.shape, -50.0)  # softplus ≈ 0: transparent
    density[0, 0, 4] = np.log(np.expm1(2.0))  # softplus = 2 exactly
    logits = np.zeros((*grid.shape, 3))
    logits[0, 0, 4] = [0.0, 5.0, 1.0]
    view = render_alpha(density, grid, cam, semantics=logits, step=0.5)
    # the ray enters the grid at depth 1; samples at depths 1.25, 1.75, ...; voxel 4
    # (world z in [4, 5)) spans depths [5, 6): samples 5.25 and 5.75
    a = 1 - np.exp(-2.0 * 0.5)
    w1, w2 = a, a * (1 - a)
    assert view.opacity[0, 0] == pytest.approx(w1 + w2, rel=1e-6)  # float32 image
    assert view.depth[0, 0] == pytest.approx(w1 * 5.25 + w2 * 5.75, rel=1e-6)
    assert view.semantics[0, 0] == 1
    with pytest.raises(DataError):
        render_alpha(np.full((2, 2, 2), -1.0), grid, cam, activation="identity")


def _translate(x, y, z):
    p = np.eye(4)
    p[:3, 3] = (x, y, z)
    return p


def test_render_labels_with_a_boolean_grid_and_bad_shapes():
    grid, labels, cam = scene(2)
    occ = (labels != 17)
    a = render_labels(occ, grid, cam, backend="numpy", stride=2)
    b = render_labels(labels, grid, cam, backend="numpy", stride=2)
    np.testing.assert_array_equal(a.depth, b.depth)
    assert set(np.unique(a.semantics)) <= {1, NO_LABEL}
    with pytest.raises(DataError):
        render_labels(labels[:-1], grid, cam)
