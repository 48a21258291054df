"""The masked confusion matrix of byte labels compiled with numba (the optional extra
``occstudio[fast]``), used by :func:`occstudio.core.compute.occupancy_metrics.confusion_matrix`.

Occ3D's camera mask keeps about 7 % of the 640,000 voxels of a frame, scattered so that
one 8-byte word in five holds a kept voxel, with 2 to 3 kept voxels in it. The kernel
reads the mask 8 voxels at a time: for 64 words at once it builds one bit per word that
holds a kept voxel (a vectorised loop) and walks those bits, so empty words cost no
mispredicted branch. In a live word it turns the kept bytes into an 8-bit pattern (one
multiplication) whose byte positions come from a 256-entry table, so the usual case of
up to four kept voxels is counted with no data-dependent branch. Each count goes to one
of four sub-tables in turn, which keeps runs of the same pair (free space predicted
free) from waiting on each other, and the words are split among the CPU cores, one set
of sub-tables each. The per-frame metrics of the matrix are compiled too
(:func:`frame_metrics`).

Every kept voxel with labels below 32 is counted exactly once, so the result is the
exact confusion matrix; a kept voxel with a label of 32 or more, or a mask byte other
than 0 or 1, is reported instead of counted so the caller can take its exact general
path. numba is imported on first use; :func:`available` says whether it can be.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from occstudio.core.compute.numba_support import PARALLEL_LAUNCH, available, numba_module

#: Labels (ground truth and prediction) the kernel counts: ``0..LABEL_LIMIT-1``.
LABEL_LIMIT = 32

_PATTERN = 0x8040201008040201  # (word of 0/1 bytes * _PATTERN) >> 56: one bit per byte
_NO_BYTE = 64  # shift of an unused slot in the position table


@cache
def _pattern_tables() -> tuple[np.ndarray, np.ndarray]:
    """For each 8-bit pattern of :data:`_PATTERN`: the bit shifts of its set bytes, in
    order (``_NO_BYTE`` after the last), and how many there are."""
    shifts = np.full((256, 8), _NO_BYTE, dtype=np.uint64)
    counts = np.zeros(256, dtype=np.int64)
    for kept in range(256):
        word = sum(1 << (8 * j) for j in range(8) if kept >> j & 1)
        pattern = ((word * _PATTERN) & 0xFFFFFFFFFFFFFFFF) >> 56
        positions = [8 * j for j in range(8) if kept >> j & 1]
        counts[pattern] = len(positions)
        shifts[pattern, : len(positions)] = positions
    return shifts, counts


@cache
def _kernels() -> Any:
    from occstudio.core.compute import _confusion_kernels

    return _confusion_kernels


def confusion_counts(
    gt: np.ndarray, pred: np.ndarray, mask: np.ndarray, n: int, n_chunks: int | None = None
) -> np.ndarray | None:
    """The ``(n, n)`` confusion matrix of the kept voxels, rows ground truth.

    Parameters
    ----------
    gt, pred
        Flat, C-contiguous uint8 labels, the same length, a multiple of 8.
    mask
        Flat, C-contiguous uint8 or bool mask of that length (non-zero = keep).
    n
        Number of classes, ``1..32``; ground truths ``n..31`` are skipped.
    n_chunks
        Number of parts the words are split into, one per thread (default: the number of
        numba threads, at most one part per 16384 words).

    Returns
    -------
    numpy.ndarray or None
        int64 ``(n, n)``; ``None`` when a kept voxel has a label of 32 or more (the
        caller counts those frames its general way).

    Raises
    ------
    ValueError
        A kept voxel with a ground truth below ``n`` has a prediction of ``n`` or more.
    """
    if not (gt.size == pred.size == mask.size and gt.size % 8 == 0):
        raise ValueError("gt, pred and mask must be flat arrays of one length, a multiple of 8")
    if not 1 <= n <= LABEL_LIMIT:
        raise ValueError(f"the compiled count takes 1..{LABEL_LIMIT} classes, not {n}")
    mw = mask.view(np.uint64)
    if n_chunks is None:
        n_chunks = min(numba_module().get_num_threads(), mw.size // 16384)
    n_chunks = max(1, n_chunks)
    shifts, counts = _pattern_tables()
    kernel = _kernels().count
    with PARALLEL_LAUNCH:
        hist, odd_mask, high_label, bad = kernel(gt.view(np.uint64), pred.view(np.uint64), mw, shifts, counts,
                                                 n_chunks, n)
    if odd_mask:  # mask bytes other than 0 / 1: count again with a 0 / 1 mask
        return confusion_counts(gt, pred, (mask != 0).view(np.uint8), n, n_chunks)
    if high_label:
        return None
    if bad >= 0:
        raise ValueError(f"predicted label {bad} outside 0..{n - 1}")
    return hist


def frame_metrics(hist: np.ndarray, free_id: int) -> tuple[np.ndarray, float, float, float, int]:
    """The per-frame metrics of a confusion matrix, compiled: the same bits as
    :func:`occstudio.core.compute.occupancy_metrics._frame_metrics` (its float64
    operations in the same order, numpy's pairwise summation included).

    Parameters
    ----------
    hist
        C-contiguous int64 ``(n, n)`` confusion matrix, ``free_id < n <= 128``.
    free_id
        The free class.

    Returns
    -------
    tuple
        Per-class IoU x100, challenge mIoU, SelfOcc mIoU, geometric IoU, voxel count.
    """
    iou, miou, selfocc, geometric, total = _kernels().frame_metrics(hist, free_id)
    return iou, float(miou), float(selfocc), float(geometric), int(total)


__all__ = ["LABEL_LIMIT", "available", "confusion_counts", "frame_metrics"]
