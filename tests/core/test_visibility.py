"""Voxelization, majority vote, free-space carving and exact voxel traversal (3D DDA).

The traversal is checked against an independent brute-force reference: for one ray at a
time, every crossing with a grid plane is computed, the crossings are sorted, and the
voxel holding the midpoint of each piece between consecutive crossings is one the ray
passes through (in order).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from occstudio.core.compute import dda_jit
from occstudio.core.compute.backend import have_torch
from occstudio.core.compute.occupancy import (
    camera_rays,
    camera_visibility,
    carve_free_space,
    grid_for_points,
    majority_vote,
    occupancy_grid,
    traverse_rays,
    voxelize,
)
from occstudio.core.errors import DataError
from occstudio.core.geometry import Camera, GridSpec
from occstudio.core.jobs import Cancelled, RecordingProgress

needs_torch = pytest.mark.skipif(not have_torch(), reason="torch is not installed")


def brute_force_ray(grid: GridSpec, o: np.ndarray, d: np.ndarray, occ: np.ndarray, t_max: float = np.inf, stop: bool = True):
    """Voxels (flat, in order) one ray passes through, its first hit and the hit's entry t."""
    size = np.asarray(grid.voxel_size)
    ov = (o - np.asarray(grid.origin)) / size
    dv = d / size
    n = np.asarray(grid.shape)
    lo, hi = 0.0, t_max
    for a in range(3):
        if dv[a] == 0:
            if not 0 <= ov[a] < n[a]:
                return [], -1, np.inf
            continue
        t0, t1 = (0 - ov[a]) / dv[a], (n[a] - ov[a]) / dv[a]
        lo, hi = max(lo, min(t0, t1)), min(hi, max(t0, t1))
    if not lo < hi:
        return [], -1, np.inf
    ts = [lo, hi]
    for a in range(3):
        if dv[a] != 0:
            t = (np.arange(n[a] + 1) - ov[a]) / dv[a]
            ts.extend(t[(t > lo) & (t < hi)])
    ts = np.unique(ts)
    visited = []
    for t_a, t_b in zip(ts[:-1], ts[1:]):
        ijk = np.clip(np.floor(ov + 0.5 * (t_a + t_b) * dv).astype(int), 0, n - 1)
        f = int(np.ravel_multi_index(tuple(ijk), grid.shape))
        visited.append(f)
        if stop and occ.reshape(-1)[f]:
            return visited, f, t_a
    return visited, -1, np.inf


def random_case(seed: int, n_rays: int = 300):
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(3, 11, 3))
    grid = GridSpec(origin=tuple(rng.uniform(-2, 0, 3)), voxel_size=tuple(rng.uniform(0.1, 0.4, 3)), shape=shape)
    occ = rng.random(shape) < rng.uniform(0.02, 0.15)
    lo, hi = grid.range_min - 1.0, grid.range_max + 1.0
    o = rng.uniform(lo, hi, (n_rays, 3))
    d = rng.normal(size=(n_rays, 3))
    d[: n_rays // 10, rng.integers(0, 3)] = 0.0  # some rays parallel to a grid plane
    return grid, occ, o, d


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("stop", [True, False])
def test_dda_matches_brute_force(seed, stop):
    grid, occ, o, d = random_case(seed)
    rng = np.random.default_rng(100 + seed)
    t_max = np.inf if stop else rng.uniform(0.5, 8.0, len(o))
    tr = traverse_rays(grid, o, d, occ, t_max=t_max, stop_at_occupied=stop, backend="numpy")
    ref_vis = np.zeros(grid.n_voxels, dtype=bool)
    steps = 0
    for i in range(len(o)):
        tm = t_max if np.isscalar(t_max) else t_max[i]
        vs, f, t = brute_force_ray(grid, o[i], d[i], occ, t_max=tm, stop=stop)
        ref_vis[vs] = True
        steps += len(vs)
        if stop:
            assert tr.first_hit[i] == f, f"ray {i}"
            if f >= 0:
                assert tr.hit_t[i] == pytest.approx(t, rel=1e-9, abs=1e-12)
            else:
                assert np.isinf(tr.hit_t[i])
    np.testing.assert_array_equal(tr.visited, ref_vis.reshape(grid.shape))
    assert tr.n_steps == steps


def scalar_dda(grid: GridSpec, o, d, occ, t_min=0.0, t_max=np.inf, stop=True):
    """One ray at a time in plain Python floats: the module's rules (start on the side the
    ray moves towards, ties crossed x then y then z, t accumulated boundary by boundary),
    so it must agree to the bit, edge and corner ties included.

    Returns the visited flat indices in order, the first hit (-1) and its entry t (inf).
    """
    size = [float(s) for s in np.broadcast_to(grid.voxel_size, 3)]
    ov = [(float(o[a]) - grid.origin[a]) / size[a] for a in range(3)]
    dv = [float(d[a]) / size[a] for a in range(3)]
    n = grid.shape
    t_in, t_out = float(t_min), float(t_max)
    for a in range(3):
        if dv[a] == 0:
            if not 0 <= ov[a] < n[a]:
                return [], -1, np.inf
            continue
        t0, t1 = -ov[a] / dv[a], (n[a] - ov[a]) / dv[a]
        t_in, t_out = max(t_in, min(t0, t1)), min(t_out, max(t0, t1))
    if not t_in < t_out or dv == [0.0, 0.0, 0.0]:
        return [], -1, np.inf
    ijk, T, DT, step = [], [], [], []
    for a in range(3):
        p = ov[a] + t_in * dv[a]
        i = min(max(math.ceil(p) - 1 if dv[a] < 0 else math.floor(p), 0), n[a] - 1)
        ijk.append(i)
        T.append(np.inf if dv[a] == 0 else ((i + 1 if dv[a] > 0 else i) - ov[a]) / dv[a])
        DT.append(0.0 if dv[a] == 0 else abs(1.0 / dv[a]))
        step.append(-1 if dv[a] < 0 else 1)
    visited, t_cur, first, first_t = [], t_in, -1, np.inf
    flat_occ = occ.reshape(-1)
    while all(0 <= ijk[a] < n[a] for a in range(3)):
        f = int(np.ravel_multi_index(tuple(ijk), n))
        visited.append(f)
        if flat_occ[f] and first < 0:
            first, first_t = f, t_cur
            if stop:
                break
        t_next = min(T)
        if t_next >= t_max:  # the segment's end (leaving the box ends the loop above)
            break
        a = T.index(t_next)  # the first minimal axis: x, then y, then z
        ijk[a] += step[a]
        T[a] += DT[a]
        t_cur = t_next
    return visited, first, first_t


def edge_case_rays(grid: GridSpec, rng: np.random.Generator, n_random: int = 150):
    """Rays a DDA gets wrong easily, in world units: along the axes and the diagonals,
    through voxel corners and edges (exact ties), starting on boundaries, outside,
    missing the grid, with a zero direction, plus random ones."""
    size = np.broadcast_to(np.asarray(grid.voxel_size, float), 3)
    lo, hi = grid.range_min, grid.range_max
    o, d = [], []
    axes = np.eye(3)
    corner = lo + size * np.floor(np.asarray(grid.shape) / 2)  # a voxel corner inside
    for sign in (1.0, -1.0):
        for a in range(3):
            o += [corner, lo - size * 0.5 + axes[(a + 1) % 3] * size * 1.5 + axes[(a + 2) % 3] * size * 1.5]
            d += [sign * axes[a], sign * axes[a] + 0.0]
        for diag in ((1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1), (1, -1, 1), (2, 1, 0)):
            o.append(corner)
            d.append(sign * np.asarray(diag, float) * size)  # exact ties at edges and corners
    o += [lo, hi, lo + size * 0.5, hi - size * 0.25]  # starting on the box's corners
    d += [size * (1, 1, 1), -size * (1, 1, 1), size * (0.3, 0.2, 0.1), -size * (0.1, 0.7, 0.2)]
    o += [hi + 1.0, lo - 1.0, lo - 1.0]  # outside: one aimed at the grid, two missing it
    d += [lo - hi, -np.ones(3), np.array([1.0, 0.0, 0.0])]
    o.append(corner)
    d.append(np.zeros(3))  # no direction
    o = np.concatenate([np.asarray(o), rng.uniform(lo - 1.0, hi + 1.0, (n_random, 3))])
    rnd = rng.normal(size=(n_random, 3))
    rnd[: n_random // 5, rng.integers(0, 3)] = 0.0  # parallel to a grid plane
    d = np.concatenate([np.asarray(d), rnd])
    return o, d


def edge_case_scene(seed: int, stop: bool):
    """A small random grid, the edge-case rays and their segments."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(2, 9, 3))
    grid = GridSpec(origin=tuple(rng.uniform(-2, 0, 3)), voxel_size=0.25 if seed % 2 else (0.2, 0.25, 0.5), shape=shape)
    occ = rng.random(shape) < (0.0 if seed % 100 == 3 else 0.1)
    o, d = edge_case_rays(grid, rng)
    t_min = np.where(rng.random(len(o)) < 0.2, rng.uniform(0, 2, len(o)), 0.0)
    t_max = np.inf if stop else rng.uniform(0.5, 8.0, len(o))
    return grid, occ, o, d, t_min, t_max


def assert_walk_matches_scalar_dda(seed: int, stop: bool, **walk) -> None:
    """``traverse_rays(**walk)`` against the scalar DDA, ray by ray and bit for bit."""
    grid, occ, o, d, t_min, t_max = edge_case_scene(seed, stop)
    tr = traverse_rays(grid, o, d, occ, t_min=t_min, t_max=t_max, stop_at_occupied=stop, **walk)
    ref_vis = np.zeros(grid.n_voxels, dtype=bool)
    steps = 0
    for i in range(len(o)):
        tm = t_max if np.isscalar(t_max) else t_max[i]
        vs, f, t = scalar_dda(grid, o[i], d[i], occ, t_min[i], tm, stop)
        ref_vis[vs] = True
        steps += len(vs)
        assert tr.first_hit[i] == f, f"ray {i}"
        assert tr.hit_t[i] == t, f"ray {i}"  # bit for bit
    np.testing.assert_array_equal(tr.visited, ref_vis.reshape(grid.shape))
    assert tr.n_steps == steps
    # first hits alone
    fh = traverse_rays(grid, o, d, occ, t_min=t_min, t_max=t_max, stop_at_occupied=stop, mark_visited=False, **walk)
    np.testing.assert_array_equal(fh.first_hit, tr.first_hit)
    assert fh.visited is None


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("stop", [True, False])
@pytest.mark.parametrize("pool", [1, 3, 64, None])
def test_numpy_walk_matches_scalar_dda_on_edge_cases(seed, stop, pool):
    assert_walk_matches_scalar_dda(seed, stop, backend="numpy", chunk=pool)


@needs_torch
@pytest.mark.parametrize("stop", [True, False])
def test_torch_cpu_equals_numpy_on_edge_cases(stop):
    rng = np.random.default_rng(11)
    grid = GridSpec(origin=(-1.0, -0.5, -0.75), voxel_size=0.25, shape=(8, 5, 6))
    occ = rng.random(grid.shape) < 0.08
    o, d = edge_case_rays(grid, rng, n_random=400)
    t_max = np.inf if stop else rng.uniform(0.5, 8.0, len(o))
    a = traverse_rays(grid, o, d, occ, t_max=t_max, stop_at_occupied=stop, backend="numpy", chunk=37)
    b = traverse_rays(grid, o, d, occ, t_max=t_max, stop_at_occupied=stop, backend="torch", device="cpu", chunk=100)
    np.testing.assert_array_equal(a.visited, b.visited)
    np.testing.assert_array_equal(a.first_hit, b.first_hit)
    np.testing.assert_array_equal(a.hit_t, b.hit_t)
    assert a.n_steps == b.n_steps


def test_all_rays_missing_or_degenerate():
    grid = GridSpec(origin=(0, 0, 0), voxel_size=1.0, shape=(4, 4, 4))
    occ = np.ones(grid.shape, dtype=bool)
    o = np.array([[10.0, 10, 10], [-1, -1, -1], [2, 2, 2], [5.0, 2, 2]])
    d = np.array([[1.0, 0, 0], [0, 0, -1], [0, 0, 0], [1, 0, 0]])  # away, away, none, away along x
    tr = traverse_rays(grid, o, d, occ, backend="numpy")
    assert tr.n_steps == 0 and not tr.visited.any()
    np.testing.assert_array_equal(tr.first_hit, -1)
    assert np.isinf(tr.hit_t).all()
    empty = traverse_rays(grid, np.zeros(3), np.zeros((0, 3)), occ, backend="numpy")
    assert empty.first_hit.shape == (0,) and empty.n_steps == 0


def test_dda_visits_in_order_and_stops_at_first_hit():
    grid = GridSpec(origin=(0, 0, 0), voxel_size=1.0, shape=(10, 3, 3))
    occ = np.zeros(grid.shape, dtype=bool)
    occ[6, 1, 1] = True
    occ[8, 1, 1] = True
    tr = traverse_rays(grid, (-2.0, 1.5, 1.5), [[1.0, 0.0, 0.0]], occ, backend="numpy")
    assert tr.first_hit[0] == np.ravel_multi_index((6, 1, 1), grid.shape)
    assert tr.hit_t[0] == pytest.approx(8.0)  # enters voxel 6 at x = 6
    expected = np.zeros(grid.shape, dtype=bool)
    expected[0:7, 1, 1] = True  # 0..5 free, 6 hit (visible), 8 hidden behind it
    np.testing.assert_array_equal(tr.visited, expected)


def test_ray_starting_on_a_corner_does_not_see_behind_it():
    # OccGen's camera sits exactly on the corner shared by 8 voxels
    grid = GridSpec(origin=(-2, -2, -2), voxel_size=1.0, shape=(4, 4, 4))
    occ = np.zeros(grid.shape, dtype=bool)
    occ[1, 1, 1] = True  # the voxel "behind" a ray going to +x +y +z
    tr = traverse_rays(grid, (0.0, 0.0, 0.0), [[1.0, 0.7, 0.3], [-1.0, -0.7, -0.3]], occ, backend="numpy")
    assert tr.first_hit[0] == -1
    assert tr.first_hit[1] == np.ravel_multi_index((1, 1, 1), grid.shape)  # starts inside it
    assert tr.hit_t[1] == pytest.approx(0.0)
    forward = traverse_rays(grid, (0.0, 0.0, 0.0), [[1.0, 0.7, 0.3]], occ, backend="numpy")
    assert forward.visited[2, 2, 2] and not forward.visited[1, 1, 1]
    assert forward.visited.sum() == 3  # (2,2,2) (3,2,2) (3,3,2), then it leaves through x = 2


@needs_torch
@pytest.mark.parametrize("stop", [True, False])
def test_torch_cpu_equals_numpy(stop):
    grid, occ, o, d = random_case(7, n_rays=2000)
    t_max = np.inf if stop else np.random.default_rng(1).uniform(0.5, 8.0, len(o))
    a = traverse_rays(grid, o, d, occ, t_max=t_max, stop_at_occupied=stop, backend="numpy")
    b = traverse_rays(grid, o, d, occ, t_max=t_max, stop_at_occupied=stop, backend="torch", device="cpu")
    np.testing.assert_array_equal(a.visited, b.visited)
    np.testing.assert_array_equal(a.first_hit, b.first_hit)
    np.testing.assert_array_equal(a.hit_t, b.hit_t)  # bit for bit
    assert a.n_steps == b.n_steps


@needs_torch
def test_torch_cpu_equals_numpy_for_a_camera_in_a_room():
    grid, occ = room_grid()
    cam = room_camera()
    a = camera_visibility(occ, grid, cam, backend="numpy")
    b = camera_visibility(occ, grid, cam, backend="torch", device="cpu")
    np.testing.assert_array_equal(a.visible, b.visible)
    np.testing.assert_array_equal(a.first_hit, b.first_hit)
    np.testing.assert_array_equal(a.depth, b.depth)


def room_grid():
    grid = GridSpec(origin=(-2.0, -2.0, -1.0), voxel_size=0.1, shape=(40, 40, 30))
    occ = np.zeros(grid.shape, dtype=bool)
    occ[:, :, 0] = True  # floor at z in [-1, -0.9)
    occ[:, 39, :] = True  # wall at y in [1.9, 2.0)
    occ[25:28, 20:23, 1:8] = True  # a box
    return grid, occ


def room_camera(width: int = 32, height: int = 24) -> Camera:
    K = np.array([[20.0, 0, width / 2 - 0.5], [0, 20.0, height / 2 - 0.5], [0, 0, 1]])
    # camera at (0.03, -1.47, 0.21) looking along +y (OpenCV: x right, y down, z forward)
    pose = np.eye(4)
    pose[:3, :3] = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])
    pose[:3, 3] = (0.03, -1.47, 0.21)
    return Camera.from_pose(K, pose, width, height)


def test_camera_visibility_depth_of_a_wall_is_exact():
    grid, occ = room_grid()
    cam = room_camera()
    vis = camera_visibility(occ, grid, cam, backend="numpy")
    _, dirs, (h, w) = camera_rays(cam)
    assert (h, w) == (24, 32)
    # the central rays hit the wall face y = 1.9: camera depth = 1.9 - (-1.47)
    centre = vis.depth[10:14, 14:18]
    hit_wall = vis.first_hit[10:14, 14:18]
    ijk = grid.unravel(hit_wall.reshape(-1))
    assert np.all(ijk[:, 1] == 39)
    np.testing.assert_allclose(centre, 1.9 + 1.47, rtol=1e-6)
    assert vis.visible[ijk[:, 0], ijk[:, 1], ijk[:, 2]].all()
    # voxels behind the wall or under the floor are never visible
    assert not vis.visible[:, :, :0].any()
    # the box hides some of the wall
    assert vis.visible_occupied(occ).sum() < occ.sum()


def test_camera_visibility_stride_and_max_depth():
    grid, occ = room_grid()
    cam = room_camera()
    full = camera_visibility(occ, grid, cam, backend="numpy")
    sub = camera_visibility(occ, grid, cam, stride=4, backend="numpy")
    assert sub.first_hit.shape == (6, 8)
    np.testing.assert_array_equal(sub.first_hit, full.first_hit[::4, ::4])
    near = camera_visibility(occ, grid, cam, max_depth=1.0, backend="numpy")
    assert np.all(near.first_hit[near.depth > 1.0] == -1) and near.visible.sum() < full.visible.sum()


def test_traversal_is_cancellable():
    grid, occ = room_grid()
    o, d, _ = camera_rays(room_camera())
    with pytest.raises(Cancelled):
        traverse_rays(grid, o, d, occ, backend="numpy", chunk=100, progress=RecordingProgress(cancel_after=2))


def test_voxelize_occupancy_and_grid_for_points():
    grid = GridSpec(origin=(0, 0, 0), voxel_size=0.5, shape=(4, 4, 4))
    pts = np.array([[0.1, 0.1, 0.1], [0.2, 0.3, 0.4], [1.9, 1.9, 1.9], [2.0, 0.0, 0.0], [-0.01, 1, 1]])
    flat = voxelize(pts, grid)
    assert flat.tolist() == [0, 63]  # (0,0,0) and (3,3,3); x = 2.0 and x < 0 are outside
    occ = occupancy_grid(pts, grid)
    assert occ.sum() == 2 and occ[0, 0, 0] and occ[3, 3, 3]
    g = grid_for_points(pts, 0.5)
    assert g.origin == (-0.5, 0.0, 0.0) and g.shape == (6, 4, 4)  # x = 2.0 lies in cell [2.0, 2.5)
    assert grid_for_points(pts, 0.5).contains_index(g.point_to_index(pts)).all()
    with pytest.raises(DataError):
        grid_for_points(np.zeros((0, 3)), 0.5)


def test_majority_vote_counts_ties_and_ignore():
    grid = GridSpec(origin=(0, 0, 0), voxel_size=1.0, shape=(3, 1, 1))
    pts = np.array([[0.5, 0.5, 0.5]] * 5 + [[1.5, 0.5, 0.5]] * 4 + [[2.5, 0.5, 0.5]] * 2)
    labels = np.array([4, 4, 2, 2, 4] + [9, 3, 3, 9] + [255, 255])
    out = majority_vote(pts, labels, grid, free_label=17)
    assert out.dtype == np.uint8
    assert out[:, 0, 0].tolist() == [4, 3, 17]  # majority; tie -> smaller label; only ignored -> free
    shuffled = np.random.default_rng(0).permutation(len(pts))
    np.testing.assert_array_equal(majority_vote(pts[shuffled], labels[shuffled], grid), out)
    with pytest.raises(DataError):
        majority_vote(pts, labels[:-1], grid)
    with pytest.raises(DataError):
        majority_vote(pts, -labels, grid)


def test_majority_vote_matches_a_loop_on_random_data():
    rng = np.random.default_rng(3)
    grid = GridSpec(origin=(0, 0, 0), voxel_size=1.0, shape=(4, 3, 2))
    pts = rng.uniform(-0.5, 4.5, (400, 3)) * [1, 0.75, 0.5]
    labels = rng.integers(0, 5, 400)
    out = majority_vote(pts, labels, grid, free_label=17, ignore_labels=())
    ijk = grid.point_to_index(pts)
    inside = grid.contains_index(ijk)
    for idx in np.ndindex(*grid.shape):
        sel = inside & np.all(ijk == idx, axis=1)
        if not sel.any():
            assert out[idx] == 17
            continue
        counts = np.bincount(labels[sel], minlength=5)
        assert out[idx] == int(np.argmax(counts))


def test_free_space_carving_clears_voxels_between_sensor_and_points():
    grid = GridSpec(origin=(0, 0, 0), voxel_size=1.0, shape=(6, 3, 3))
    pts = np.array([[4.5, 1.5, 1.5], [2.5, 0.5, 1.5]])
    free = carve_free_space(grid, pts, np.array([[0.5, 1.5, 1.5]]), frame_index=np.array([0, 0]), backend="numpy")
    occ = occupancy_grid(pts, grid)
    assert not (free & occ).any()
    assert free[0:4, 1, 1].all() and not free[4, 1, 1] and not free[5, 1, 1]  # beyond the point: unknown
    assert free[1, 0, 1] and not free[2, 0, 1]  # the second ray: (0,1,1) (1,1,1) (1,0,1) then its point
    assert free.sum() == 5
    # per-point origins give the same result
    free2 = carve_free_space(grid, pts, np.array([[0.5, 1.5, 1.5]] * 2), backend="numpy")
    np.testing.assert_array_equal(free, free2)


needs_numba = pytest.mark.skipif(not dda_jit.available(), reason="numba not installed (the occstudio[fast] extra)")


@needs_numba
@pytest.mark.parametrize("seed", range(100, 104))
@pytest.mark.parametrize("stop", [True, False])
def test_compiled_walk_matches_scalar_dda_on_edge_cases(seed, stop):
    assert_walk_matches_scalar_dda(seed, stop, backend="numba")


@needs_numba
def test_compiled_walk_equals_numpy_for_a_camera_in_a_room():
    grid, occ = room_grid()
    a = camera_visibility(occ, grid, room_camera(), backend="numpy")
    b = camera_visibility(occ, grid, room_camera(), backend="numba")
    np.testing.assert_array_equal(a.visible, b.visible)
    np.testing.assert_array_equal(a.first_hit, b.first_hit)
    np.testing.assert_array_equal(a.depth, b.depth)


def test_numba_backend_without_numba_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(dda_jit, "available", lambda: False)
    grid, occ = room_grid()
    with pytest.raises(RuntimeError, match="occstudio\\[fast\\]"):
        traverse_rays(grid, np.zeros(3), np.ones((2, 3)), occ, backend="numba")
    # auto falls back to the numpy walk
    tr = traverse_rays(grid, np.zeros(3), np.ones((2, 3)), occ, backend="auto")
    assert tr.n_steps > 0
