"""Exact nearest-neighbour distances between 3-D point sets, on the CPU or a CUDA GPU.

CPU
    ``scipy.spatial.cKDTree`` with ``workers=-1`` (the fastest exact CPU method measured;
    ``torch.cdist`` on the CPU is ~100× slower and must never be used there).

GPU (torch)
    An exact uniform-grid search. The destination points are sorted by grid cell; each
    query scans the cells in growing Chebyshev shells around its own cell. After the
    shells up to radius ``r`` have been scanned, every unscanned point is at least
    ``r·h + δ`` away (``h`` the cell size, ``δ`` the query's distance to the nearest wall
    of its own cell), so a query whose best squared distance is below that bound is done.
    Queries still open after a few shells go to a grid with 4× and 16× larger cells and
    finally to a chunked brute force; all stages compute squared distances from exact
    coordinate differences in float64 (never the ``|a|² + |b|² − 2a·b`` expansion, whose
    float32 cancellation costs up to 2e-4), so results equal the cKDTree ones to float64
    rounding. Ties (equal distances) resolve to the smallest destination index.

``device="torch-cpu"`` runs the torch algorithm on CPU tensors: slow, but it lets the
"same numbers on CPU and GPU" property be tested on machines without a GPU.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal, overload

import numpy as np

from occstudio.core.compute.backend import have_cuda, iter_chunks, memory_budget

_SHELL_PASSES = 3
"""Scans per grid level: the 3×3×3 block around the query cell, then shells 2 and 3."""
_LEVEL_FACTORS = (1.0, 4.0, 16.0)
_TARGET_PER_CELL = 6.0


def _as_points(a: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{name} must be an N×3 array, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    return arr


def resolve_device(device: str = "auto") -> str:
    """Map a ``device`` argument to ``"cpu"`` (cKDTree), ``"torch-cpu"`` or a CUDA device name.

    Raises
    ------
    RuntimeError
        A CUDA device was requested but is not available.
    ValueError
        Unknown device name.
    """
    device = (device or "auto").lower()
    if device == "auto":
        return "cuda" if have_cuda() else "cpu"
    if device in ("cpu", "torch-cpu"):
        return device
    if device.startswith("cuda"):
        if not have_cuda():
            raise RuntimeError(f"device {device!r} was requested but torch sees no CUDA device")
        return device
    raise ValueError(f"unknown device {device!r} (expected auto, cpu, cuda or torch-cpu)")


@overload
def nearest_distances(
    src: np.ndarray, dst: np.ndarray, device: str = ..., return_index: Literal[False] = ...
) -> np.ndarray: ...


@overload
def nearest_distances(
    src: np.ndarray, dst: np.ndarray, device: str = ..., return_index: Literal[True] = ...
) -> tuple[np.ndarray, np.ndarray]: ...


def nearest_distances(
    src: np.ndarray,
    dst: np.ndarray,
    device: str = "auto",
    return_index: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Distance from every ``src`` point to its nearest ``dst`` point (exact).

    Parameters
    ----------
    src, dst
        N×3 and M×3 point arrays (any float type; computed in float64). ``dst`` must not
        be empty.
    device
        ``"auto"`` (CUDA when torch sees one, else CPU), ``"cpu"`` (scipy cKDTree),
        ``"cuda"``/``"cuda:N"`` (torch grid search), ``"torch-cpu"`` (the torch algorithm
        on CPU tensors, for testing).
    return_index
        Also return the index into ``dst`` of each nearest point.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, numpy.ndarray)
        float64 distances of shape (N,), and with ``return_index`` int64 indices (N,).

    Raises
    ------
    ValueError
        Bad shapes, non-finite coordinates, or an empty ``dst``.
    """
    src = _as_points(src, "src")
    dst = _as_points(dst, "dst")
    if len(dst) == 0:
        raise ValueError("dst has no points: nearest distances are undefined")
    mode = resolve_device(device)
    if len(src) == 0:
        dist, idx = np.zeros(0), np.zeros(0, dtype=np.int64)
    elif mode == "cpu":
        from scipy.spatial import cKDTree

        dist, idx = cKDTree(dst).query(src, k=1, workers=-1)
        idx = idx.astype(np.int64)
    else:
        dist, idx = _torch_nearest(src, dst, "cpu" if mode == "torch-cpu" else mode)
    return (dist, idx) if return_index else dist


# --------------------------------------------------------------------------- torch path


def _torch_nearest(src: np.ndarray, dst: np.ndarray, device: str) -> tuple[np.ndarray, np.ndarray]:
    import torch

    dev = torch.device(device)
    q = torch.as_tensor(src, dtype=torch.float64, device=dev)
    p = torch.as_tensor(dst, dtype=torch.float64, device=dev)
    budget = memory_budget(dev)
    best_d2 = torch.full((len(q),), float("inf"), dtype=torch.float64, device=dev)
    best_i = torch.full((len(q),), -1, dtype=torch.int64, device=dev)
    pending = torch.arange(len(q), device=dev)
    if len(q) * len(p) > 4_000_000:
        h0 = _choose_cell_size(p)
        for factor in _LEVEL_FACTORS:
            grid = _Grid(p, h0 * factor)
            pending = grid.search(q, pending, best_d2, best_i, budget)
            if pending.numel() == 0:
                break
    if pending.numel():
        _brute_force(q, p, pending, best_d2, best_i, budget)
    return torch.sqrt(best_d2).cpu().numpy(), best_i.cpu().numpy()


def _update_best(
    best_d2: Any, best_i: Any, which: Any, d2: Any, idx: Any
) -> None:
    """Keep ``(d2, idx)`` for queries ``which`` where it beats the current best (ties: lower index)."""
    cur_d, cur_i = best_d2[which], best_i[which]
    better = (d2 < cur_d) | ((d2 == cur_d) & (idx < cur_i) & (cur_i >= 0)) | (cur_i < 0)
    better &= idx >= 0
    best_d2[which] = _where(better, d2, cur_d)
    best_i[which] = _where(better, idx, cur_i)


def _where(cond: Any, a: Any, b: Any) -> Any:
    import torch

    return torch.where(cond, a, b)


def _brute_force(q: Any, p: Any, which: Any, best_d2: Any, best_i: Any, budget: int) -> None:
    """Exact all-pairs search for the queries ``which`` (chunked, exact differences)."""
    import torch

    m = len(p)
    rows = max(1, budget // (8 * 4 * m))
    ar = torch.arange(m, device=p.device)
    for sl in iter_chunks(len(which), rows):
        w = which[sl]
        qq = q[w]
        d2 = (qq[:, None, 0] - p[None, :, 0]) ** 2
        d2 += (qq[:, None, 1] - p[None, :, 1]) ** 2
        d2 += (qq[:, None, 2] - p[None, :, 2]) ** 2
        mins = d2.min(dim=1).values
        idx = torch.where(d2 == mins[:, None], ar[None, :], m).min(dim=1).values
        _update_best(best_d2, best_i, w, mins, idx)


def _choose_cell_size(p: Any) -> float:
    """A cell size giving about :data:`_TARGET_PER_CELL` points per occupied cell."""
    import torch

    lo = p.min(dim=0).values
    ext = (p.max(dim=0).values - lo).clamp_min(0.0)
    span = float(ext.max())
    if span <= 0.0:
        return 1.0
    ext = ext.clamp_min(span * 1e-3)
    h = float((torch.prod(ext) * _TARGET_PER_CELL / len(p)) ** (1.0 / 3.0))
    h = max(h, span / 2**20)
    for _ in range(4):
        cells = torch.floor((p - lo) / h).to(torch.int64)
        dims = cells.max(dim=0).values + 1
        keys = cells[:, 0] + dims[0] * (cells[:, 1] + dims[1] * cells[:, 2])
        mean = len(p) / int(torch.unique(keys).numel())
        if mean <= 2.0 * _TARGET_PER_CELL:
            break
        # Points on surfaces: occupancy per cell grows with h², so shrink by the square root.
        h = max(h * (_TARGET_PER_CELL / mean) ** 0.5, span / 2**20)
    return h


def _shell_offsets(r_lo: int, r_hi: int, device: Any) -> Any:
    """Integer offsets with Chebyshev norm in ``[r_lo, r_hi]``, as a (K, 3) int64 tensor."""
    import torch

    ax = torch.arange(-r_hi, r_hi + 1, device=device)
    off = torch.cartesian_prod(ax, ax, ax)
    cheb = off.abs().max(dim=1).values
    return off[(cheb >= r_lo) & (cheb <= r_hi)]


class _Grid:
    """Destination points sorted into a uniform grid of cell size ``h``."""

    def __init__(self, p: Any, h: float) -> None:
        import torch

        self.h = float(h)
        self.origin = p.min(dim=0).values
        cells = torch.floor((p - self.origin) / self.h).to(torch.int64)
        self.dims = cells.max(dim=0).values + 1
        keys = self._keys(cells)
        keys, order = torch.sort(keys, stable=True)
        self.perm = order  # sorted position -> original dst index
        self.points = p[order]
        self.cell_keys, counts = torch.unique_consecutive(keys, return_counts=True)
        self.cell_counts = counts
        self.cell_starts = torch.cumsum(counts, 0) - counts

    def _keys(self, cells: Any) -> Any:
        d = self.dims
        return cells[..., 0] + d[0] * (cells[..., 1] + d[1] * cells[..., 2])

    def search(self, q: Any, pending: Any, best_d2: Any, best_i: Any, budget: int) -> Any:
        """Scan shells for the ``pending`` queries; return the ones still unresolved."""
        import torch

        dev = q.device
        t = (q[pending] - self.origin) / self.h
        f = torch.floor(t)
        wall = torch.minimum(t - f, f + 1.0 - t).min(dim=1).values * self.h
        lo = torch.full((3,), -_SHELL_PASSES - 2, dtype=torch.int64, device=dev)
        cell = torch.maximum(torch.minimum(f, (self.dims + _SHELL_PASSES + 1).to(f.dtype)), lo.to(f.dtype))
        cell = cell.to(torch.int64)
        for k in range(_SHELL_PASSES):
            r_lo, r_hi = (0, 1) if k == 0 else (k + 1, k + 1)
            offsets = _shell_offsets(r_lo, r_hi, dev)
            self._scan(q, pending, cell, offsets, best_d2, best_i, budget)
            bound = (r_hi * self.h + wall) * (1.0 - 1e-12)
            done = best_d2[pending] <= bound * bound
            keep = ~done
            pending, cell, wall = pending[keep], cell[keep], wall[keep]
            if pending.numel() == 0:
                break
        return pending

    def _scan(
        self, q: Any, pending: Any, cell: Any, offsets: Any, best_d2: Any, best_i: Any, budget: int
    ) -> None:
        import torch

        n_off = len(offsets)
        # Cell lookups first (cheap), then candidate pairs in groups of queries whose pair
        # count fits the budget (~160 bytes of temporaries per pair).
        pair_limit = max(1, budget // 160)
        rows = max(1, budget // (n_off * 64))
        for sl in iter_chunks(len(pending), rows):
            which = pending[sl]
            nb = cell[sl][:, None, :] + offsets[None, :, :]  # (K, O, 3)
            inside = ((nb >= 0) & (nb < self.dims)).all(dim=2)
            keys = torch.where(inside, self._keys(nb), -1).reshape(-1)
            pos = torch.searchsorted(self.cell_keys, keys).clamp_max(len(self.cell_keys) - 1)
            found = self.cell_keys[pos] == keys
            counts = torch.where(found, self.cell_counts[pos], 0).reshape(len(which), n_off)
            starts = self.cell_starts[pos].reshape(len(which), n_off)
            per_query = counts.sum(dim=1)
            cum = torch.cumsum(per_query, 0).cpu().numpy()
            if len(cum) == 0 or cum[-1] == 0:
                continue
            limit = max(pair_limit, int(per_query.max()))
            cuts = np.searchsorted(cum, np.arange(limit, cum[-1], limit), side="right")
            bounds = [0, *sorted({int(c) for c in cuts} - {0, len(cum)}), len(cum)]
            for a, b in itertools.pairwise(bounds):
                self._pairs(q, which[a:b], counts[a:b], starts[a:b], best_d2, best_i)

    def _pairs(self, q: Any, which: Any, counts: Any, starts: Any, best_d2: Any, best_i: Any) -> None:
        """Exact squared distances of every candidate pair; keep each query's minimum."""
        import torch

        n_off = counts.shape[1]
        counts = counts.reshape(-1)
        total = int(counts.sum())
        if total == 0:
            return
        dev = q.device
        slot = torch.repeat_interleave(torch.arange(len(counts), device=dev), counts, output_size=total)
        first = torch.cumsum(counts, 0) - counts
        pidx = starts.reshape(-1)[slot] + (torch.arange(total, device=dev) - first[slot])
        qk = slot // n_off  # local query of each pair
        diff = q[which][qk] - self.points[pidx]
        d2 = (diff * diff).sum(dim=1)
        k = len(which)
        mins = torch.full((k,), float("inf"), dtype=d2.dtype, device=dev)
        mins = mins.scatter_reduce(0, qk, d2, reduce="amin", include_self=True)
        big = torch.iinfo(torch.int64).max
        cand = torch.where(d2 == mins[qk], self.perm[pidx], big)
        idx = torch.full((k,), big, dtype=torch.int64, device=dev)
        idx = idx.scatter_reduce(0, qk, cand, reduce="amin", include_self=True)
        idx = torch.where(idx == big, -1, idx)
        _update_best(best_d2, best_i, which, mins, idx)
