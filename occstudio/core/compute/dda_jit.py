"""The voxel walk of :func:`occstudio.core.compute.occupancy.traverse_rays` compiled with
numba (the optional extra ``occstudio[fast]``), one ray per loop iteration, rays spread
over the CPU cores.

It starts from the same float64 ray setup as the numpy and torch walks
(:func:`~occstudio.core.compute.occupancy._ray_setup`) and applies the same rules in the
same order (the nearest boundary is crossed; ties cross x, then y, then z; a ray ends
when it steps into the pad around the grid, when its next boundary lies beyond its
segment, or in its first occupied voxel when asked), so its results are identical to
theirs. numba is imported on first use; :func:`available` says whether it can be.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from occstudio.core.compute.numba_support import PARALLEL_LAUNCH, available, numba_module


@cache
def _kernel() -> Any:
    numba = numba_module()

    @numba.njit(parallel=True, cache=True, nogil=True)
    def walk(codes, visited, mark, flat, T0, T1, T2, DT0, DT1, DT2, S0, S1, S2, t_cur, t_end,
             stop_at_occupied, first_hit, hit_t):  # pragma: no cover (compiled)
        n = flat.shape[0]
        visits = 0
        for r in numba.prange(n):
            f = flat[r]
            t0, t1, t2 = T0[r], T1[r], T2[r]
            tc, te = t_cur[r], t_end[r]
            fh, ht = -1, np.inf
            count = 0
            while True:
                c = codes[f]
                if c == 2:  # stepped into the pad: left the grid, no visit
                    break
                if mark:
                    visited[f] = True
                count += 1
                if c == 1:
                    if fh < 0:
                        fh, ht = f, tc
                    if stop_at_occupied:
                        break
                m01 = min(t0, t1)
                tn = min(m01, t2)
                if tn >= te:
                    break
                if t2 < m01:
                    t2 += DT2[r]
                    f += S2[r]
                elif t1 < t0:
                    t1 += DT1[r]
                    f += S1[r]
                else:
                    t0 += DT0[r]
                    f += S0[r]
                tc = tn
            first_hit[r] = fh
            hit_t[r] = ht
            visits += count
        return visits

    return walk


def traverse(
    setup: tuple[Any, ...],
    codes: np.ndarray,
    visited: np.ndarray | None,
    n_rays: int,
    stop_at_occupied: bool,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Walk the rays of one ``_ray_setup`` result.

    Parameters
    ----------
    setup
        ``(ray, flat, T, DT, SF, t_cur, t_end)`` from ``_ray_setup`` (numpy arrays).
    codes
        Flat uint8 codes of the padded grid (0 free, 1 occupied, 2 pad).
    visited
        Flat bool array of the padded grid to mark, or ``None``.
    n_rays
        Number of rays of the batch (the length of the results).
    stop_at_occupied
        End each ray in its first occupied voxel.

    Returns
    -------
    first_hit, hit_t, visits
        Per ray of the batch: flat index (padded grid) of the first occupied voxel (-1:
        none) and its entry ``t``; the number of voxel visits.
    """
    ray, flat, T, DT, SF, t_cur, t_end = setup
    hits = np.full(len(ray), -1, dtype=np.int64)
    times = np.full(len(ray), np.inf)
    mark = visited is not None
    target = visited if mark else np.zeros(1, dtype=bool)
    args = (
        codes, target, mark, np.ascontiguousarray(flat, dtype=np.int64),
        *(np.ascontiguousarray(a, dtype=np.float64) for a in (*T, *DT)),
        *(np.ascontiguousarray(a, dtype=np.int64) for a in SF),
        np.ascontiguousarray(t_cur, dtype=np.float64), np.ascontiguousarray(t_end, dtype=np.float64),
        bool(stop_at_occupied), hits, times,
    )
    kernel = _kernel()
    with PARALLEL_LAUNCH:
        visits = kernel(*args)
    first_hit = np.full(n_rays, -1, dtype=np.int64)
    hit_t = np.full(n_rays, np.inf)
    first_hit[ray] = hits
    hit_t[ray] = times
    return first_hit, hit_t, int(visits)


__all__ = ["available", "traverse"]
