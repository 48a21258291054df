"""The compiled kernels of :mod:`occstudio.core.compute.confusion_jit`.

This module imports numba when it is imported, so only
:func:`occstudio.core.compute.confusion_jit._kernels` imports it, on first use. The
kernels are module-level functions so that numba's on-disk cache (``cache=True``) finds
them again in the next process instead of compiling them anew (several seconds).
"""

from __future__ import annotations

import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from occstudio.core.compute.numba_support import numba_module

numba = numba_module()
u64 = numba.uint64

# Indices are unsigned throughout: with signed ones numba adds a negative-index
# wrap-around to every access, which keeps LLVM from vectorising the live-word scan
# (measured: about 1.7x slower).


@numba.njit(inline="always")
def count_word(gg, pp, bits, shifts, counts, table):  # pragma: no cover (compiled)
    """Count the kept bytes of one word (``bits``: its 0 / 1 mask bytes)."""
    pattern = (bits * u64(0x8040201008040201)) >> u64(56)
    for q in range(u64(4)):  # up to four kept bytes, no branch: unused slots count in a dump row
        sh = shifts[pattern, q]
        used = sh != u64(64)
        sh &= u64(56)
        key = (((gg >> sh) & u64(31)) << u64(5)) | ((pp >> sh) & u64(31))
        table[(q << u64(11)) | (key if used else u64(1024))] += 1
    for q in range(u64(4), u64(counts[pattern])):
        sh = shifts[pattern, q]
        key = (((gg >> sh) & u64(31)) << u64(5)) | ((pp >> sh) & u64(31))
        table[((q & u64(3)) << u64(11)) | key] += 1


@numba.njit(inline="always")
def count_live_word(gw, pw, mw, w, shifts, counts, table):  # pragma: no cover (compiled)
    """Count word ``w``; returns its odd-mask bits (mask bytes other than 0 / 1) and its
    high-label bits (labels >= 32 of kept voxels)."""
    bits = mw[w]
    gg = gw[w]
    pp = pw[w]
    count_word(gg, pp, bits, shifts, counts, table)
    return bits & u64(0xFEFEFEFEFEFEFEFE), (gg | pp) & (bits * u64(0xFF)) & u64(0xE0E0E0E0E0E0E0E0)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def count_range(gw, pw, mw, g0, g1, shifts, counts, table):  # pragma: no cover (compiled)
    """Count the words of the groups of 64 ``g0..g1-1`` (all full); returns the
    odd-mask and high-label bits seen."""
    odd = u64(0)  # mask bits other than the lowest of a byte
    high = u64(0)  # label bits >= 32 of kept voxels
    for group in range(u64(g0), u64(g1)):
        base = group * u64(64)
        live = u64(0)
        for j in range(u64(64)):  # vectorised: which of the 64 words hold a kept voxel
            live |= u64(mw[base + j] != u64(0)) << j
        while live != u64(0):  # one well-predicted loop per 64 words, not a branch per word
            w = base + trailing_zeros(live)
            live &= live - u64(1)
            odd_w, high_w = count_live_word(gw, pw, mw, w, shifts, counts, table)
            odd |= odd_w
            high |= high_w
    return odd, high


@numba.njit(cache=True, nogil=True, boundscheck=False)
def count_tail(gw, pw, mw, w0, shifts, counts, table):  # pragma: no cover (compiled)
    """Count the words ``w0..`` after the last full group of 64."""
    odd = u64(0)
    high = u64(0)
    for w in range(u64(w0), u64(mw.size)):
        if mw[w] != u64(0):
            odd_w, high_w = count_live_word(gw, pw, mw, w, shifts, counts, table)
            odd |= odd_w
            high |= high_w
    return odd, high


@numba.njit(parallel=True, cache=True, nogil=True, boundscheck=False)
def count(gw, pw, mw, shifts, counts, n_chunks, n):  # pragma: no cover (compiled)
    """The ``(n, n)`` confusion matrix (``n <= 32``) of the kept voxels, the words split
    into ``n_chunks`` parts counted in parallel. Returns ``(hist, odd, high, bad)``:
    whether a mask byte is not 0 / 1, whether a kept voxel has a label >= 32 (``hist`` is
    then meaningless), and the smallest prediction >= n under a ground truth < n (-1: none)."""
    n_groups = mw.size // 64
    per_chunk = (n_groups + n_chunks - 1) // n_chunks
    tables = np.zeros((n_chunks, 4 * 2048), dtype=np.int32)
    flags = np.zeros((n_chunks, 2), dtype=np.uint64)
    for c in numba.prange(n_chunks):
        odd, high = count_range(gw, pw, mw, c * per_chunk, min(n_groups, (c + 1) * per_chunk), shifts, counts,
                                tables[c])
        flags[c, 0] = odd
        flags[c, 1] = high
    odd, high = count_tail(gw, pw, mw, n_groups * 64, shifts, counts, tables[0])
    for c in range(n_chunks):
        odd |= flags[c, 0]
        high |= flags[c, 1]
    hist = np.zeros((n, n), dtype=np.int64)
    bad = 32
    for c in range(n_chunks):
        for s in range(4):
            for g in range(n):
                row = (s << 11) | (g << 5)
                for p in range(n):
                    hist[g, p] += tables[c, row | p]
                for p in range(n, 32):
                    if tables[c, row | p] != 0 and p < bad:
                        bad = p
    return hist, odd != u64(0), high != u64(0), bad if bad < 32 else -1


@numba.njit(cache=True, nogil=True, error_model="numpy")
def pairwise_sum(a, n):  # pragma: no cover (compiled)
    """``numpy.add.reduce`` of the first ``n <= 128`` values of a contiguous float64 array,
    in numpy's order: a plain loop below 8 values, else 8 running sums combined as
    ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))`` and then the rest."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    r = a[:8].copy()
    i = 8
    end = n - n % 8
    while i < end:
        for j in range(8):
            r[j] += a[i + j]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        res += a[i]
        i += 1
    return res


@numba.njit(cache=True, nogil=True, error_model="numpy")
def frame_metrics(hist, free_id):  # pragma: no cover (compiled)
    """Per-class IoU x100, challenge mIoU, SelfOcc mIoU, geometric IoU and voxel count of
    one confusion matrix, with the float64 operations of the numpy implementation in the
    same order (so the same bits)."""
    n = hist.shape[0]
    rows = np.zeros(n, dtype=np.int64)
    cols = np.zeros(n, dtype=np.int64)
    for g in range(n):
        for p in range(n):
            rows[g] += hist[g, p]
            cols[p] += hist[g, p]
    iou = np.empty(n)
    for c in range(n):
        tp = hist[c, c]
        denom = rows[c] + cols[c] - tp
        iou[c] = tp / denom if denom != 0 else np.nan
    seen = np.empty(free_id)
    count = 0
    for c in range(free_id):
        if np.isnan(iou[c]):
            seen[c] = 0.0
        else:
            seen[c] = iou[c]
            count += 1
    miou = pairwise_sum(seen, free_id) / count * 100 if count else np.nan
    selfocc = np.empty(max(free_id - 1, 0))
    for c in range(1, free_id):
        selfocc[c - 1] = iou[c] if rows[c] > 0 else 1.0
    miou_selfocc = pairwise_sum(selfocc, selfocc.size) / selfocc.size * 100
    total = rows.sum()
    free_free = hist[free_id, free_id]
    denom = total - free_free
    tp = denom - rows[free_id] - cols[free_id] + 2 * free_free
    geometric = tp / denom * 100 if denom else np.nan
    return iou * 100, miou, miou_selfocc, geometric, total


__all__ = ["count", "frame_metrics", "pairwise_sum"]
