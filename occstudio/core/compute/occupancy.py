"""Points → voxel occupancy: voxelization, semantic majority vote, free space, visibility.

Conventions
-----------
Grids are :class:`~occstudio.core.geometry.GridSpec` (voxel ``i`` spans
``[origin + i·size, origin + (i+1)·size)``, arrays indexed ``[x, y, z]``, flat indices in
C order). Occupancy grids are boolean ``(X, Y, Z)`` arrays.

Exact voxel traversal (:func:`traverse_rays`)
---------------------------------------------
Every ray ``p(t) = o + t·d`` is walked through the grid with the Amanatides–Woo 3D DDA
("A Fast Voxel Traversal Algorithm for Ray Tracing", 1987): starting in the voxel the ray
enters first (``t ≥ t_min``), it repeatedly steps into the neighbour across the nearest of
the three next voxel boundaries, so it visits **every** voxel whose interior the ray passes
through, in order, and no other. Rules, identical in the numpy and torch paths:

* A ray starting exactly on a voxel boundary starts in the voxel on the side it moves
  towards (so a camera sitting on a voxel corner, as in OccGen's grid, does not "see" the
  voxels behind it).
* When two boundaries are crossed at the same ``t`` (an edge or a corner), the axes step
  one after the other in the order x, y, z; the in-between voxel, touched only along an
  edge, is reported too. With real-valued rays this happens with probability zero.
* A voxel is visited when its entry ``t`` is below ``t_max`` (segments end there).
* With ``stop_at_occupied`` a ray ends in its first occupied voxel, which is visited; it
  is the ray's *first hit*, with ``hit_t`` the ``t`` at which the ray enters it.

Rays step together (vectorised): each iteration advances every still-active ray by one
voxel. torch (CUDA when available, or CPU for testing) walks a whole batch and drops
finished rays from the working arrays now and then; numpy walks a cache-sized pool of
rays that is topped up with new ones as rays finish (:func:`_traverse_numpy`). Both set
rays up with the same code (:func:`_ray_setup`) and run the same float64 operations, so
they give identical visited sets, first hits and ``hit_t``.

Camera visibility (:func:`camera_visibility`) casts one ray per pixel centre (optionally
every ``stride``-th pixel) with the direction ``R · K⁻¹ · (u, v, 1)``, so ``t`` is the
camera-frame depth (z). OccGen's own visibility marches a fixed step of one voxel instead,
which can skip voxels that a ray only clips (formats.md §4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from occstudio.core.compute.backend import cuda_driver_present, have_torch, torch_device
from occstudio.core.errors import DataError
from occstudio.core.geometry import Camera, GridSpec
from occstudio.core.jobs import Progress, ensure_progress

Backend = Literal["auto", "numpy", "numba", "torch"]
#: The traversal backends, for option lists (CLI, GUI forms).
BACKENDS: tuple[str, ...] = get_args(Backend)

#: Rays per batch of :func:`traverse_rays` on torch (bounds the working memory, ~200 B per ray).
DEFAULT_RAY_CHUNK = 1 << 20
#: Rays walking together on numpy (a pool topped up as rays finish): small enough for the
#: working arrays to stay in the CPU caches.
NUMPY_RAY_CHUNK = 1 << 14


# ----------------------------------------------------------------------- voxelization


def grid_for_points(
    points: np.ndarray, voxel_size: float, padding: int = 0
) -> GridSpec:
    """A grid that covers ``points``, its corners snapped to multiples of ``voxel_size``.

    Parameters
    ----------
    points
        ``(N, 3)`` coordinates (N ≥ 1).
    voxel_size
        Edge length of a voxel.
    padding
        Extra voxels on every side.

    Raises
    ------
    DataError
        No points, or non-finite coordinates.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if len(pts) == 0:
        raise DataError(None, "no points to build a grid around")
    if not np.all(np.isfinite(pts)):
        raise DataError(None, "points hold non-finite coordinates")
    if not voxel_size > 0:
        raise DataError(None, f"voxel size must be positive, got {voxel_size}")
    lo = np.floor(pts.min(axis=0) / voxel_size) - padding
    hi = np.floor(pts.max(axis=0) / voxel_size) + 1 + padding
    shape = (hi - lo).astype(np.int64)
    return GridSpec(origin=tuple(lo * voxel_size), voxel_size=voxel_size, shape=tuple(shape))


def point_voxels(points: np.ndarray, grid: GridSpec) -> tuple[np.ndarray, np.ndarray]:
    """Flat voxel index of every point inside ``grid``.

    Returns
    -------
    flat, inside
        int64 flat C-order indices of the points inside the grid, and the boolean
        ``(N,)`` mask of those points.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    ijk = grid.point_to_index(pts)
    inside = grid.contains_index(ijk)
    ijk = ijk[inside]
    nx, ny, nz = grid.shape
    flat = (ijk[:, 0] * ny + ijk[:, 1]) * nz + ijk[:, 2]
    return flat, inside


def voxelize(points: np.ndarray, grid: GridSpec) -> np.ndarray:
    """Sorted unique flat indices (int64) of the voxels holding at least one point.

    Points outside ``grid`` are ignored.
    """
    flat, _ = point_voxels(points, grid)
    return np.unique(flat)


def occupancy_grid(points: np.ndarray, grid: GridSpec) -> np.ndarray:
    """Boolean ``(X, Y, Z)`` grid: ``True`` where a voxel holds at least one point."""
    occ = np.zeros(grid.n_voxels, dtype=bool)
    flat, _ = point_voxels(points, grid)
    occ[flat] = True
    return occ.reshape(grid.shape)


def majority_vote(
    points: np.ndarray,
    labels: np.ndarray,
    grid: GridSpec,
    free_label: int = 17,
    ignore_labels: Sequence[int] = (255,),
) -> np.ndarray:
    """Semantic occupancy from labelled points: each voxel takes its most frequent label.

    Parameters
    ----------
    points
        ``(N, 3)`` coordinates.
    labels
        ``(N,)`` non-negative integer labels.
    grid
        The voxel grid; points outside are ignored.
    free_label
        Label of voxels that hold no (counted) point.
    ignore_labels
        Labels that do not vote (e.g. 255, unknown). A voxel holding only such points is
        free.

    Returns
    -------
    numpy.ndarray
        ``(X, Y, Z)`` labels, uint8 when every label fits, else int32. Ties go to the
        smallest label, so the result does not depend on the order of the points.

    Raises
    ------
    DataError
        Lengths differ, or labels are negative or not integers.
    """
    pts = np.asarray(points).reshape(-1, 3)
    lab = np.asarray(labels).reshape(-1)
    if len(lab) != len(pts):
        raise DataError(None, f"{len(pts)} points but {len(lab)} labels")
    if lab.dtype.kind == "f":
        if not np.all(np.isfinite(lab)) or np.any(lab != np.round(lab)):
            raise DataError(None, "labels must be integers")
        lab = lab.astype(np.int64)
    elif lab.dtype.kind not in "iub":
        raise DataError(None, f"labels must be integers, got dtype {lab.dtype}")
    lab = lab.astype(np.int64, copy=False)
    if lab.size and lab.min() < 0:
        raise DataError(None, "labels must be non-negative")
    top = max(int(lab.max()) if lab.size else 0, int(free_label))
    dtype = np.uint8 if top <= 255 else np.int32
    out = np.full(grid.n_voxels, free_label, dtype=dtype)
    flat, inside = point_voxels(pts, grid)
    lab = lab[inside]
    if len(ignore_labels):
        keep = ~np.isin(lab, np.asarray(list(ignore_labels), dtype=np.int64))
        flat, lab = flat[keep], lab[keep]
    if flat.size == 0:
        return out.reshape(grid.shape)
    n_labels = top + 1
    keys, counts = np.unique(flat * n_labels + lab, return_counts=True)
    voxel = keys // n_labels
    label = keys - voxel * n_labels
    # keys are sorted by (voxel, label): groups of one voxel are contiguous
    starts = np.flatnonzero(np.r_[True, voxel[1:] != voxel[:-1]])
    best = np.maximum.reduceat(counts, starts)
    group = np.cumsum(np.r_[False, voxel[1:] != voxel[:-1]])
    # the first winner of each group has the smallest label
    first = np.flatnonzero(counts == best[group])
    _, pick = np.unique(group[first], return_index=True)
    chosen = first[pick]
    out[voxel[chosen]] = label[chosen].astype(dtype)
    return out.reshape(grid.shape)


# --------------------------------------------------------------- the DDA core (shared)


class _NumpyOps:
    """The few array operations the traversal needs, on numpy."""

    name = "numpy"

    def __init__(self) -> None:
        self.xp = np

    def asarray(self, a: Any, dtype: str) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(a, dtype=getattr(np, dtype)))

    def zeros(self, n: int, dtype: str) -> np.ndarray:
        return np.zeros(n, dtype=getattr(np, dtype))

    def full(self, n: int, value: float, dtype: str) -> np.ndarray:
        return np.full(n, value, dtype=getattr(np, dtype))

    def to(self, a: np.ndarray, dtype: str) -> np.ndarray:
        return a.astype(getattr(np, dtype))

    def nonzero(self, mask: np.ndarray) -> np.ndarray:
        return np.flatnonzero(mask)

    def clip(self, a: np.ndarray, lo: float, hi: float) -> np.ndarray:
        return np.clip(a, lo, hi)

    def mark(self, flags: np.ndarray, index: np.ndarray) -> None:
        np.put(flags, index, True)

    def eq(self, a: Any, b: Any, out: Any) -> None:
        np.equal(a, b, out=out)

    def minimum(self, a: Any, b: Any, out: Any) -> None:
        np.minimum(a, b, out=out)

    def mul(self, a: Any, b: Any, out: Any) -> None:
        np.multiply(a, b, out=out)

    def lnot(self, a: Any, out: Any) -> None:
        np.logical_not(a, out=out)

    def lor(self, a: Any, b: Any, out: Any) -> None:
        np.logical_or(a, b, out=out)

    def put_where(self, dst: np.ndarray, src: np.ndarray, mask: np.ndarray) -> None:
        """``dst[mask] = src[mask]`` (cheap when the mask is sparse)."""
        if mask.any():
            idx = np.flatnonzero(mask)
            dst[idx] = src[idx]

    def divide(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / b

    def numpy(self, a: np.ndarray) -> np.ndarray:
        return a


class _TorchOps:
    """The same operations on torch tensors (any device)."""

    name = "torch"

    def __init__(self, device: Any) -> None:
        import torch

        self.xp = torch
        self.torch = torch
        self.device = device

    def _dt(self, dtype: str) -> Any:
        t = self.torch
        return {"float64": t.float64, "int64": t.int64, "bool": t.bool, "uint8": t.uint8}[dtype]

    def asarray(self, a: Any, dtype: str) -> Any:
        if isinstance(a, np.ndarray):
            return self.torch.from_numpy(np.array(a, copy=True)).to(self.device, self._dt(dtype))
        return self.torch.as_tensor(a, dtype=self._dt(dtype), device=self.device)

    def zeros(self, n: int, dtype: str) -> Any:
        return self.torch.zeros(n, dtype=self._dt(dtype), device=self.device)

    def full(self, n: int, value: float, dtype: str) -> Any:
        return self.torch.full((n,), value, dtype=self._dt(dtype), device=self.device)

    def to(self, a: Any, dtype: str) -> Any:
        return a.to(self._dt(dtype))

    def nonzero(self, mask: Any) -> Any:
        return self.torch.nonzero(mask, as_tuple=True)[0]

    def clip(self, a: Any, lo: float, hi: float) -> Any:
        return self.torch.clamp(a, lo, hi)

    def mark(self, flags: Any, index: Any) -> None:
        flags[index] = True

    def eq(self, a: Any, b: Any, out: Any) -> None:
        self.torch.eq(a, b, out=out)

    def minimum(self, a: Any, b: Any, out: Any) -> None:
        self.torch.minimum(a, b, out=out)

    def mul(self, a: Any, b: Any, out: Any) -> None:
        self.torch.mul(a, b, out=out)

    def lnot(self, a: Any, out: Any) -> None:
        self.torch.logical_not(a, out=out)

    def lor(self, a: Any, b: Any, out: Any) -> None:
        self.torch.logical_or(a, b, out=out)

    def put_where(self, dst: Any, src: Any, mask: Any) -> None:
        """``dst[mask] = src[mask]`` without a host synchronisation."""
        dst.copy_(self.torch.where(mask, src, dst))

    def divide(self, a: Any, b: Any) -> Any:
        return a / b

    def numpy(self, a: Any) -> np.ndarray:
        return a.detach().cpu().numpy()


def _resolve_backend(backend: str, device: str | None) -> _NumpyOps | _TorchOps:
    if backend not in ("auto", "numpy", "numba", "torch"):
        raise ValueError(f"backend must be 'auto', 'numpy', 'numba' or 'torch', got {backend!r}")
    if backend in ("numpy", "numba"):
        return _NumpyOps()
    if backend == "auto":
        if device is None:
            from occstudio.core.compute.backend import have_cuda

            if not cuda_driver_present() or not have_cuda():
                return _NumpyOps()
            device = "cuda"
        elif device == "cpu":
            return _NumpyOps()
    if not have_torch():
        raise RuntimeError("the torch backend was requested but torch is not installed")
    return _TorchOps(torch_device(device or "auto"))


@dataclass
class Traversal:
    """Result of :func:`traverse_rays`.

    Attributes
    ----------
    visited
        Boolean ``(X, Y, Z)``: voxels visited by at least one ray (``None`` when not
        asked for). A view into a padded working grid (not C-contiguous); copy it with
        ``numpy.ascontiguousarray`` when that matters.
    first_hit
        int64 ``(R,)``: flat index of each ray's first occupied voxel, -1 when none.
    hit_t
        float64 ``(R,)``: ray parameter at which the ray enters that voxel (``inf`` when
        no hit).
    n_steps
        Total number of voxel visits over all rays.
    """

    visited: np.ndarray | None
    first_hit: np.ndarray
    hit_t: np.ndarray
    n_steps: int


_FREE, _OCCUPIED, _OUTSIDE = 0, 1, 2
#: Rays set up and walked at a time by the compiled walk.
_JIT_BATCH = 1 << 20


def _padded_codes(occupied: np.ndarray) -> np.ndarray:
    """uint8 grid one voxel larger on every side: 0 free, 1 occupied, 2 outside (the pad).

    Rays end when they step into the pad, so leaving the grid is an exact integer test.
    """
    codes = np.full(tuple(s + 2 for s in occupied.shape), _OUTSIDE, dtype=np.uint8)
    codes[1:-1, 1:-1, 1:-1] = occupied
    return codes


def _ray_setup(
    ops: _NumpyOps | _TorchOps,
    shape: tuple[int, int, int],
    pstrides: tuple[int, int, int],
    o: np.ndarray,
    d: np.ndarray,
    t_min: np.ndarray,
    t_max: np.ndarray,
) -> tuple[Any, ...] | None:
    """DDA state of a batch of rays, in voxel units (voxel = unit cube).

    Shared by the numpy and torch walks, so that both start from the same float64 values.

    Returns
    -------
    tuple or None
        ``None`` when no ray meets the grid, else ``(ray, flat, T, DT, SF, t_cur, t_end)``:
        the rays (indices into the batch) that meet the box ``[0, n]^3`` within their
        segment, the flat index (in the padded grid whose grid axis ``a`` has the flat
        stride ``pstrides[a]``) of the voxel each starts in, per axis the lists of the
        ``t`` of the next boundary, the ``t`` between boundaries (0 on axes the ray never
        crosses, whose next boundary stays at +inf) and the flat-index step, the entry
        ``t`` and the end of the segment.
    """
    xp = ops.xp
    n_rays = len(o)
    dims = shape
    # one contiguous row per axis
    ov = ops.asarray(np.asarray(o, dtype=np.float64).T, "float64")
    dv = ops.asarray(np.asarray(d, dtype=np.float64).T, "float64")
    t_lo = ops.asarray(t_min, "float64")
    t_hi = ops.asarray(t_max, "float64")

    # slab test: where does each ray meet the box [0, n]^3 ?
    t_in = t_lo
    ok = ops.full(n_rays, True, "bool")
    t_out = t_hi
    for a in range(3):
        oa, da = ov[a], dv[a]
        zero = da == 0
        t0 = ops.divide(-oa, da)
        t1 = ops.divide(dims[a] - oa, da)
        near = xp.where(zero, -np.inf, xp.minimum(t0, t1))
        far = xp.where(zero, np.inf, xp.maximum(t0, t1))
        ok = ok & ~(zero & ((oa < 0) | (oa >= dims[a])))
        t_in = xp.maximum(t_in, near)
        t_out = xp.minimum(t_out, far)
    ok = ok & (t_in < t_out) & ~((dv[0] == 0) & (dv[1] == 0) & (dv[2] == 0))

    ray = ops.nonzero(ok)
    n = int(ray.shape[0])
    if n == 0:
        return None
    ov = ov[:, ray]
    dv = dv[:, ray]
    t_cur = t_in[ray].clone() if ops.name == "torch" else t_in[ray]
    t_end = t_hi[ray]

    # starting voxel: on a boundary, the voxel on the side the ray moves towards
    P = ov + t_cur[None, :] * dv
    neg = dv < 0
    start = xp.where(neg, xp.ceil(P) - 1, xp.floor(P))
    for a in range(3):
        start[a] = ops.clip(start[a], 0, dims[a] - 1)
    pos = dv > 0
    zero = dv == 0
    bound = xp.where(pos, start + 1, start)
    flat = ops.to((start[0] + 1) * pstrides[0] + (start[1] + 1) * pstrides[1] + (start[2] + 1) * pstrides[2], "int64")
    T, DT, SF = [], [], []
    for a in range(3):
        z = zero[a]
        T.append(xp.where(z, np.inf, ops.divide(bound[a] - ov[a], dv[a])))
        DT.append(xp.where(z, 0.0, xp.abs(ops.divide(ops.full(n, 1.0, "float64"), dv[a]))))
        SF.append(xp.where(neg[a], -pstrides[a], pstrides[a]) * ops.to(~z, "int64"))
    return ray, flat, T, DT, SF, t_cur, t_end


def _traverse_chunk(
    ops: _NumpyOps | _TorchOps,
    shape: tuple[int, int, int],
    pstrides: tuple[int, int, int],
    codes: Any,
    visited: Any,
    o: np.ndarray,
    d: np.ndarray,
    t_min: np.ndarray,
    t_max: np.ndarray,
    stop_at_occupied: bool,
    progress: Progress,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Amanatides–Woo on one batch of rays, all in lockstep (the torch walk).

    ``codes`` and ``visited`` are flat views of the padded grid (:func:`_padded_codes`)
    whose grid axis ``a`` has the flat stride ``pstrides[a]``.
    """
    n_rays = len(o)
    dims = shape
    bounded = bool(np.isfinite(t_max).any())
    first_hit = ops.full(n_rays, -1, "int64")
    hit_t = ops.full(n_rays, np.inf, "float64")
    state = _ray_setup(ops, shape, pstrides, o, d, t_min, t_max)
    if state is None:
        return ops.numpy(first_hit), ops.numpy(hit_t), 0
    ray, flat, T, DT, SF, t_cur, t_end = state
    n = int(ray.shape[0])

    # All rays step together. A ray that ends is parked (it no longer moves and its
    # results are already recorded); parked rays are dropped from the working arrays
    # once they are an eighth of them, which keeps copying rare. The torch path looks at
    # the count of parked rays only every few steps, so a GPU rarely waits for the host.
    check_every = 1 if ops.name == "numpy" else 8
    alive = ops.full(n, True, "bool")
    fh = ops.full(n, -1, "int64")  # first hit of each working ray
    ht = ops.full(n, np.inf, "float64")
    dead = ops.zeros(1, "int64")[0]
    steps = ops.zeros(1, "int64")[0]
    # work buffers (sliced to the working size): no temporaries in the loop
    B = {k: ops.zeros(n, "bool") for k in ("outside", "occ", "ends", "go", "e0", "e1", "e2", "tmp")}
    t_next_buf = ops.zeros(n, "float64")
    ftmp_buf = ops.zeros(n, "float64")
    itmp_buf = ops.zeros(n, "int64")
    for it in range(sum(dims) + 4):
        outside, occ, ends, go = B["outside"][:n], B["occ"][:n], B["ends"][:n], B["go"][:n]
        e0, e1, e2, tmp = B["e0"][:n], B["e1"][:n], B["e2"][:n], B["tmp"][:n]
        t_next, ftmp, itmp = t_next_buf[:n], ftmp_buf[:n], itmp_buf[:n]
        code = codes[flat]
        if visited is not None:
            ops.mark(visited, flat)  # parked rays re-mark a voxel they visited: harmless
        ops.eq(code, _OUTSIDE, outside)
        ops.eq(code, _OCCUPIED, occ)
        occ &= alive
        ops.lnot(outside, tmp)
        tmp &= alive
        steps = steps + tmp.sum()
        if stop_at_occupied:
            hit = occ
            ops.lor(outside, occ, ends)
        else:
            hit = occ & (fh < 0)
            ends[...] = outside
        ops.put_where(fh, flat, hit)
        ops.put_where(ht, t_cur, hit)
        # cross the nearest boundary (ties: x, then y, then z)
        ops.minimum(T[0], T[1], t_next)
        ops.minimum(t_next, T[2], t_next)
        if bounded:
            ends |= t_next >= t_end
        ops.lnot(ends, go)
        go &= alive
        ops.eq(T[0], t_next, e0)
        e0 &= go
        ops.eq(T[1], t_next, e1)
        e1 &= go
        ops.lnot(e0, tmp)
        e1 &= tmp
        ops.lor(e0, e1, e2)
        ops.lnot(e2, e2)
        e2 &= go
        for a, e in enumerate((e0, e1, e2)):
            ops.mul(DT[a], e, ftmp)
            T[a] += ftmp
            ops.mul(SF[a], e, itmp)
            flat += itmp
        t_cur[...] = t_next  # only read for live rays
        ends &= alive
        dead = dead + ends.sum()
        alive[...] = go
        if it % check_every == check_every - 1 or it % 64 == 63:
            n_dead = int(dead)
            if n_dead == n:
                break
            if n_dead * 8 >= n:
                first_hit[ray] = fh
                hit_t[ray] = ht
                keep = ops.nonzero(alive)
                ray, flat, t_cur, t_end, alive = ray[keep], flat[keep], t_cur[keep], t_end[keep], alive[keep]
                fh, ht = fh[keep], ht[keep]
                T = [c[keep] for c in T]
                DT = [c[keep] for c in DT]
                SF = [c[keep] for c in SF]
                n = int(keep.shape[0])
                dead = ops.zeros(1, "int64")[0]
        if it % 64 == 63:
            progress.check()
    first_hit[ray] = fh
    hit_t[ray] = ht
    n_steps = int(steps)
    return ops.numpy(first_hit), ops.numpy(hit_t), n_steps


#: Flat index where the numpy walk parks finished rays: the padded grid's corner (0, 0, 0),
#: which no ray reaches (a ray leaves the grid through a face, one axis at a time); it is
#: given the code "free", so a parked ray never ends again.
_PARK = 0
#: Rays set up at a time for the numpy walk (its temporaries stay small).
_SETUP_BATCH = 8192


class _RayFeed:
    """Rays set up for the numpy walk (:func:`_ray_setup`), handed out in input order.

    Rays are set up ``batch`` at a time and given out in slices; rays that miss the grid
    are dropped there. The slices of one call are ``(ray ids, flat, T0, T1, T2, DT0, DT1,
    DT2, SF0, SF1 - SF0, SF2 - SF0, t_cur, t_end)``, the flat steps along y and z stored
    relative to the step along x (one multiply fewer per step).
    """

    def __init__(
        self,
        shape: tuple[int, int, int],
        pstrides: tuple[int, int, int],
        o: np.ndarray,
        d: np.ndarray,
        t_min: np.ndarray,
        t_max: np.ndarray,
        batch: int,
    ) -> None:
        self.shape, self.pstrides = shape, pstrides
        self.o, self.d, self.t_min, self.t_max = o, d, t_min, t_max
        self.batch = max(1, int(batch))
        self.n_rays = len(o)
        self.fed = 0  # rays set up so far
        self.handed = 0  # rays handed out or dropped so far
        self._buf: tuple[np.ndarray, ...] = ()
        self._pos = 0

    def take(self, m: int) -> list[tuple[np.ndarray, ...]]:
        """Up to ``m`` set-up rays, as a list of slices (empty when all were handed out)."""
        out = []
        while m > 0:
            if not self._buf or self._pos >= len(self._buf[0]):
                if self.fed >= self.n_rays:
                    break
                lo, hi = self.fed, min(self.n_rays, self.fed + self.batch)
                self.fed = hi
                state = _ray_setup(_NumpyOps(), self.shape, self.pstrides, self.o[lo:hi], self.d[lo:hi],
                                   self.t_min[lo:hi], self.t_max[lo:hi])
                self.handed += hi - lo
                if state is None:
                    self._buf = ()
                    continue
                ray, flat, t, dt, sf, t_cur, t_end = state
                self.handed -= len(ray)
                self._buf = (ray + lo, flat, *t, *dt, sf[0], sf[1] - sf[0], sf[2] - sf[0], t_cur, t_end)
                self._pos = 0
            k = min(m, len(self._buf[0]) - self._pos)
            out.append(tuple(a[self._pos : self._pos + k] for a in self._buf))
            self._pos += k
            self.handed += k
            m -= k
        return out

    @property
    def done(self) -> bool:
        """Whether every ray was handed out."""
        return self.handed >= self.n_rays


def _traverse_numpy(
    shape: tuple[int, int, int],
    pstrides: tuple[int, int, int],
    codes: np.ndarray,
    visited: np.ndarray | None,
    o: np.ndarray,
    d: np.ndarray,
    t_min: np.ndarray,
    t_max: np.ndarray,
    stop_at_occupied: bool,
    pool: int,
    progress: Progress,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Amanatides–Woo on numpy: a pool of ``pool`` rays walks in lockstep, topped up.

    Same rules and float64 arithmetic as :func:`_traverse_chunk` (hence the same
    results), arranged for the CPU:

    * the pool is small enough for its working arrays to stay in the CPU caches, and it
      is refilled (in input order, so neighbouring pixels walk together and touch nearby
      memory) whenever a quarter of it has finished, rather than every ray of a chunk
      waiting for the longest one;
    * a ray that ends is parked on :data:`_PARK` (a free voxel of the pad) with its next
      boundaries at +inf, so it stops moving without any per-step "alive" mask; what it
      found (voxel, entry ``t``, code) is recorded in bulk at the end;
    * one step is 17 in-place array operations on preallocated buffers (two minima,
      four comparisons to pick the axis, three masked ``t`` increments, the flat-index
      increment) besides the code lookup and the visited mark.

    ``codes`` must hold the code "free" at :data:`_PARK`. Returns the first hit (flat
    index in the padded grid, -1 when none), its entry ``t`` and the number of voxel
    visits.
    """
    n_rays = len(o)
    first_hit = np.full(n_rays, -1, dtype=np.int64)
    hit_t = np.full(n_rays, np.inf)
    bounded = bool(np.isfinite(t_max).any())
    feed = _RayFeed(shape, pstrides, o, d, t_min, t_max, _SETUP_BATCH)
    # the pool: ray ids, flat index, T0..T2, DT0..DT2, SF0, SF1 - SF0, SF2 - SF0, t_cur, t_end
    cols: list[np.ndarray] = [np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)]
    cols += [np.empty(0) for _ in range(6)] + [np.empty(0, dtype=np.int64) for _ in range(3)] + [np.empty(0)] * 2
    n = parked = live = visits = 0
    events: list[tuple[np.ndarray, ...]] = []  # (ray, flat, t, code) of rays that ended or hit
    step = 0
    while True:
        if parked * 4 >= n:
            # drop the parked rays, top the pool up
            if parked:
                keep = np.flatnonzero(cols[1] != _PARK)
                cols = [c.take(keep) for c in cols]
                n, parked = len(keep), 0
            parts = feed.take(pool - n)
            if parts:
                cols = [np.concatenate((c, *p)) for c, p in zip(cols, zip(*parts))]
                live += len(cols[0]) - n
                n = len(cols[0])
            progress.update(feed.handed - live)
            if n == 0:
                break
            rid, flat, T0, T1, T2, DT0, DT1, DT2, SF0, D1, D2, t_cur, t_end = cols
            m01, t_next, prod = np.empty(n), np.empty(n), np.empty(n)
            iprod = np.empty(n, dtype=np.int64)
            nz, sx, sy, sz = (np.empty(n, dtype=bool) for _ in range(4))
        # visit the current voxels
        code = codes.take(flat)
        if visited is not None:
            visited[flat] = True  # parked rays mark the pad's corner: harmless
        visits += live
        np.not_equal(code, _FREE, out=nz)
        if nz.any():
            e = np.flatnonzero(nz)
            c = code.take(e)
            if not stop_at_occupied:
                hits = e[c == _OCCUPIED]
                if len(hits):  # walk on; the first of these per ray is its first hit
                    events.append((rid.take(hits), flat.take(hits), t_cur.take(hits), c[c == _OCCUPIED]))
                e = e[c == _OUTSIDE]
                c = c[c == _OUTSIDE]
            if len(e):
                events.append((rid.take(e), flat.take(e), t_cur.take(e), c))
                flat[e] = _PARK
                SF0[e] = 0
                T0[e] = T1[e] = T2[e] = np.inf
                if bounded:
                    t_end[e] = np.nan
                live -= len(e)
                parked += len(e)
        # the nearest boundary; ties cross x, then y, then z
        np.minimum(T0, T1, out=m01)
        np.minimum(m01, T2, out=t_next)
        if bounded:
            ends = t_next >= t_end  # NaN for parked rays: never
            if ends.any():
                e = np.flatnonzero(ends)
                flat[e] = _PARK
                SF0[e] = 0
                T0[e] = T1[e] = T2[e] = np.inf
                t_end[e] = np.nan
                live -= len(e)
                parked += len(e)
        if live == 0 and feed.done:
            break
        np.less(T2, m01, out=sz)
        np.less(T1, T0, out=sy)
        np.greater(sy, sz, out=sy)
        np.equal(sy, sz, out=sx)  # neither y nor z
        np.multiply(DT0, sx, out=prod)
        T0 += prod
        np.multiply(DT1, sy, out=prod)
        T1 += prod
        np.multiply(DT2, sz, out=prod)
        T2 += prod
        flat += SF0
        np.multiply(D1, sy, out=iprod)
        flat += iprod
        np.multiply(D2, sz, out=iprod)
        flat += iprod
        t_cur, t_next = t_next, t_cur  # the entry t of the voxels now current
        cols[11] = t_cur
        step += 1
        if step % 64 == 0:
            progress.check()
    if events:
        ray, fl, tt, cc = (np.concatenate(p) for p in zip(*events))
        visits -= int(np.count_nonzero(cc == _OUTSIDE))  # stepping out of the grid is no visit
        hit = np.flatnonzero(cc == _OCCUPIED)
        first = np.unique(ray[hit], return_index=True)[1]  # each ray's earliest
        hit = hit[first]
        first_hit[ray[hit]] = fl[hit]
        hit_t[ray[hit]] = tt[hit]
    return first_hit, hit_t, visits


def traverse_rays(
    grid: GridSpec,
    origins: np.ndarray,
    directions: np.ndarray,
    occupied: np.ndarray | None = None,
    *,
    t_min: float | np.ndarray = 0.0,
    t_max: float | np.ndarray = np.inf,
    stop_at_occupied: bool = True,
    mark_visited: bool = True,
    backend: Backend = "auto",
    device: str | None = None,
    chunk: int | None = None,
    progress: Progress | None = None,
) -> Traversal:
    """Walk rays through ``grid`` voxel by voxel (exact 3D DDA; see the module docstring).

    Parameters
    ----------
    grid
        The voxel grid (world units).
    origins
        ``(3,)`` one origin for all rays, or ``(R, 3)``.
    directions
        ``(R, 3)`` ray directions (any length; ``t`` is measured in multiples of it).
    occupied
        Boolean ``(X, Y, Z)`` occupancy (or anything whose non-zero means occupied);
        ``None``: all free.
    t_min, t_max
        The segment of each ray to walk (scalars or ``(R,)``): voxels entered at
        ``t < t_max`` are visited, starting where the ray is at ``t_min``.
    stop_at_occupied
        End each ray in its first occupied voxel (visibility). ``False``: walk the whole
        segment (free-space carving); ``first_hit`` still reports the first occupied
        voxel met.
    mark_visited
        Build the ``visited`` grid (skip it when only first hits are needed).
    backend
        ``"numpy"``, ``"numba"`` (the walk compiled, :mod:`occstudio.core.compute.dda_jit`;
        needs the ``occstudio[fast]`` extra), ``"torch"`` or ``"auto"`` (torch on CUDA
        when available, else numba when installed, else numpy). All give the same results.
    device
        torch device for the torch backend (``"cpu"``, ``"cuda"``...; default: CUDA when
        available).
    chunk
        On torch, rays per batch (default about a million); on numpy, rays walking together
        in a pool topped up as they finish (default 16384).
    progress
        Advanced per batch or pool refill (in rays); cancellation is checked there and
        every 64 steps.

    Returns
    -------
    Traversal
    """
    progress = ensure_progress(progress)
    dirs = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
    n = len(dirs)
    orig = np.asarray(origins, dtype=np.float64)
    orig = np.broadcast_to(orig.reshape(-1, 3) if orig.ndim == 2 else orig.reshape(1, 3), (n, 3))
    if not (np.all(np.isfinite(dirs)) and np.all(np.isfinite(orig))):
        raise DataError(None, "ray origins and directions must be finite")
    t_lo = np.broadcast_to(np.asarray(t_min, dtype=np.float64), (n,))
    t_hi = np.broadcast_to(np.asarray(t_max, dtype=np.float64), (n,))
    size = np.asarray(grid.voxel_size)
    o_vox = (orig - np.asarray(grid.origin)) / size
    d_vox = dirs / size
    ops = _resolve_backend(backend, device)
    if occupied is None:
        occ_np = np.zeros(grid.shape, dtype=bool)
    else:
        occ_np = np.asarray(occupied)
        if occ_np.shape != tuple(grid.shape):
            raise DataError(None, f"occupancy grid has shape {occ_np.shape}, expected {tuple(grid.shape)}")
        occ_np = occ_np.astype(bool, copy=False)
    codes = ops.asarray(_padded_codes(occ_np).reshape(-1), "uint8")
    del occ_np
    padded = tuple(s + 2 for s in grid.shape)
    pstrides = (padded[1] * padded[2], padded[2], 1)  # flat step per grid axis
    visited = ops.zeros(int(np.prod(padded)), "bool") if mark_visited else None
    if chunk is None:
        chunk = DEFAULT_RAY_CHUNK if ops.name == "torch" else NUMPY_RAY_CHUNK
    chunk = max(1, int(chunk))
    first_hit = np.full(n, -1, dtype=np.int64)
    hit_t = np.full(n, np.inf)
    n_steps = 0
    progress.start(n, "Tracing rays")
    from occstudio.core.compute import dda_jit

    jit = ops.name == "numpy" and (backend == "numba" or (backend == "auto" and dda_jit.available()))
    if jit and not dda_jit.available():
        raise RuntimeError("the numba backend was requested but numba is not installed (pip install occstudio[fast])")
    if jit:
        for lo in range(0, n, _JIT_BATCH):
            hi = min(n, lo + _JIT_BATCH)
            setup = _ray_setup(ops, grid.shape, pstrides, o_vox[lo:hi], d_vox[lo:hi], t_lo[lo:hi], t_hi[lo:hi])
            if setup is not None:
                first_hit[lo:hi], hit_t[lo:hi], steps = dda_jit.traverse(setup, codes, visited, hi - lo,
                                                                         stop_at_occupied)
                n_steps += steps
            progress.update(hi)
    elif ops.name == "numpy":
        codes[_PARK] = _FREE
        first_hit, hit_t, n_steps = _traverse_numpy(
            grid.shape, pstrides, codes, visited, o_vox, d_vox, t_lo, t_hi, stop_at_occupied, chunk, progress
        )
        progress.update(n)
    for lo in range(0, n if ops.name == "torch" else 0, chunk):
        hi = min(n, lo + chunk)
        fh, ht, steps = _traverse_chunk(
            ops, grid.shape, pstrides, codes, visited, o_vox[lo:hi], d_vox[lo:hi], t_lo[lo:hi], t_hi[lo:hi],
            stop_at_occupied, progress,
        )
        first_hit[lo:hi] = fh
        hit_t[lo:hi] = ht
        n_steps += steps
        progress.update(hi)
    hit = first_hit >= 0
    if hit.any():
        ijk = np.unravel_index(first_hit[hit], padded)
        first_hit[hit] = np.ravel_multi_index((ijk[0] - 1, ijk[1] - 1, ijk[2] - 1), grid.shape)
    vis = None
    if visited is not None:
        vis = ops.numpy(visited).reshape(padded)[1:-1, 1:-1, 1:-1]  # a view: no copy
    return Traversal(visited=vis, first_hit=first_hit, hit_t=hit_t, n_steps=n_steps)


# ------------------------------------------------------------------ cameras and visibility


def pixel_grid(width: int, height: int, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(u, v)`` (float64 ``(h, w)`` each) of every ``stride``-th pixel."""
    stride = max(1, int(stride))
    v, u = np.mgrid[0:height:stride, 0:width:stride]
    return u.astype(np.float64), v.astype(np.float64)


def camera_rays(camera: Camera, stride: int = 1) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """World-space rays through pixel centres.

    Returns
    -------
    origin, directions, (h, w)
        The camera centre ``(3,)``, ``(h·w, 3)`` directions ``R · K⁻¹ · (u, v, 1)`` (so a
        ray's parameter ``t`` is the camera-frame depth z) in row-major pixel order, and
        the ray image size.
    """
    u, v = pixel_grid(camera.width, camera.height, stride)
    h, w = u.shape
    homo = np.stack([u.reshape(-1), v.reshape(-1), np.ones(u.size)], axis=0)
    cam_dirs = np.linalg.solve(camera.K, homo)  # (3, N), z = 1
    pose = camera.T_world_from_cam
    dirs = (pose[:3, :3] @ cam_dirs).T
    return pose[:3, 3].copy(), np.ascontiguousarray(dirs), (h, w)


@dataclass
class Visibility:
    """What a camera sees of an occupancy grid (:func:`camera_visibility`).

    Attributes
    ----------
    visible
        Boolean ``(X, Y, Z)``: every voxel some pixel ray traversed (free or hit).
    first_hit
        int64 ``(h, w)``: flat index of the voxel each pixel ray stopped in, -1 when none.
    depth
        float32 ``(h, w)``: camera-frame depth at which the ray enters that voxel, 0 when
        no hit.
    stride
        The pixel stride used (``h, w`` = image size / stride, rounded up).
    """

    visible: np.ndarray
    first_hit: np.ndarray
    depth: np.ndarray
    stride: int

    def visible_occupied(self, occupied: np.ndarray) -> np.ndarray:
        """Occupied voxels that are visible (``occupied & visible``)."""
        return np.asarray(occupied, dtype=bool) & self.visible


def camera_visibility(
    occupied: np.ndarray,
    grid: GridSpec,
    camera: Camera,
    *,
    stride: int = 1,
    max_depth: float | None = None,
    mark_visited: bool = True,
    backend: Backend = "auto",
    device: str | None = None,
    progress: Progress | None = None,
) -> Visibility:
    """Visibility of a voxel grid from a pinhole camera by exact voxel traversal.

    Each pixel ray (through the pixel centre) visits voxels in order; every voxel visited
    is visible and the ray stops at its first occupied voxel, which is visible too.

    Parameters
    ----------
    occupied
        Boolean ``(X, Y, Z)`` occupancy.
    grid
        Its grid, in the camera's world frame.
    camera
        The camera (OpenCV axes).
    stride
        Cast a ray for every ``stride``-th pixel in both directions.
    max_depth
        Stop rays at this camera depth (z).
    mark_visited
        Also build ``visible`` (``False``: first hits and depths only).
    backend, device
        See :func:`traverse_rays`.
    progress
        Progress and cancellation.
    """
    origin, dirs, (h, w) = camera_rays(camera, stride)
    t_max = np.inf if max_depth is None else float(max_depth)
    tr = traverse_rays(
        grid, origin, dirs, occupied, t_min=0.0, t_max=t_max, stop_at_occupied=True,
        mark_visited=mark_visited, backend=backend, device=device, progress=progress,
    )
    depth = np.where(tr.first_hit >= 0, tr.hit_t, 0.0).astype(np.float32).reshape(h, w)
    visible = tr.visited if tr.visited is not None else np.zeros(grid.shape, dtype=bool)
    return Visibility(visible=visible, first_hit=tr.first_hit.reshape(h, w), depth=depth, stride=max(1, int(stride)))


def carve_free_space(
    grid: GridSpec,
    points: np.ndarray,
    origins: np.ndarray,
    frame_index: np.ndarray | None = None,
    occupied: np.ndarray | None = None,
    *,
    backend: Backend = "auto",
    device: str | None = None,
    chunk: int | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Free space along sensor rays: voxels a ray from its sensor to its point crosses.

    Parameters
    ----------
    grid
        The voxel grid.
    points
        ``(N, 3)`` measured points (ray ends).
    origins
        ``(3,)`` one sensor position, or ``(F, 3)`` one per frame with ``frame_index``,
        or ``(N, 3)`` one per point.
    frame_index
        ``(N,)`` frame of each point when ``origins`` is per frame.
    occupied
        Occupied voxels (default: :func:`occupancy_grid` of ``points``); they are never
        free ("occupied wins"), even when another ray crosses them.

    Returns
    -------
    numpy.ndarray
        Boolean ``(X, Y, Z)``: free voxels.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    orig = np.asarray(origins, dtype=np.float64)
    if orig.ndim == 1:
        ray_o = np.broadcast_to(orig.reshape(1, 3), pts.shape)
    elif frame_index is not None:
        ray_o = orig.reshape(-1, 3)[np.asarray(frame_index, dtype=np.int64)]
    else:
        ray_o = orig.reshape(-1, 3)
        if len(ray_o) != len(pts):
            raise DataError(None, f"{len(pts)} points but {len(ray_o)} ray origins")
    occ = occupancy_grid(pts, grid) if occupied is None else np.asarray(occupied, dtype=bool)
    tr = traverse_rays(
        grid, ray_o, pts - ray_o, occ, t_min=0.0, t_max=1.0, stop_at_occupied=False,
        mark_visited=True, backend=backend, device=device, chunk=chunk, progress=progress,
    )
    assert tr.visited is not None
    return tr.visited & ~occ
