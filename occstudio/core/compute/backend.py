"""Compute backend choice (torch device, CUDA availability) and chunking helpers.

torch is imported lazily inside the functions: importing this module costs nothing, and
everything works (on the CPU paths) when torch is not installed at all.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch

DEFAULT_CPU_BUDGET = 256 * 1024**2
"""Bytes of temporaries a chunked CPU computation may allocate at once."""


def have_torch() -> bool:
    """Whether torch can be imported."""
    try:
        import torch  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def cuda_driver_present() -> bool:
    """Whether a CUDA device may exist, without importing torch (2–3 s).

    On Linux the NVIDIA driver shows in ``/proc/driver/nvidia``; elsewhere ``True``
    (ask torch).
    """
    if sys.platform.startswith("linux"):
        return os.path.exists("/proc/driver/nvidia/version")
    return True


def have_cuda() -> bool:
    """Whether torch is installed and sees a CUDA device (``False`` when torch is missing).

    Without an NVIDIA driver this answers at once, without importing torch.
    """
    if not cuda_driver_present():
        return False
    try:
        import torch
    except (ImportError, OSError):
        return False
    try:
        return bool(torch.cuda.is_available())
    except (RuntimeError, AssertionError, OSError):
        return False


def torch_device(prefer: str = "auto") -> torch.device:
    """The torch device to compute on.

    Parameters
    ----------
    prefer
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Returns
    -------
    torch.device

    Raises
    ------
    RuntimeError
        CUDA was asked for but is not available, or torch is not installed.
    """
    try:
        import torch
    except (ImportError, OSError) as exc:
        raise RuntimeError("torch is not installed") from exc
    if prefer in ("auto", "", None):
        return torch.device("cuda" if have_cuda() else "cpu")
    if str(prefer).startswith("cuda") and not have_cuda():
        raise RuntimeError(f"device {prefer!r} was requested but torch sees no CUDA device")
    return torch.device(prefer)


def memory_budget(device: torch.device | str | None = None, fraction: float = 0.25) -> int:
    """Bytes of temporaries a chunked computation on ``device`` may allocate at once.

    On CUDA, ``fraction`` of the currently free memory (at most 8 GiB); on the CPU,
    :data:`DEFAULT_CPU_BUDGET`.
    """
    if device is not None and str(device).startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(max(64 * 1024**2, min(8 * 1024**3, free * fraction)))
    return DEFAULT_CPU_BUDGET


def rows_per_chunk(row_bytes: int, budget_bytes: int, minimum: int = 1) -> int:
    """How many rows of ``row_bytes`` each fit in ``budget_bytes`` (at least ``minimum``)."""
    return max(minimum, int(budget_bytes // max(1, row_bytes)))


def iter_chunks(n: int, size: int) -> Iterator[slice]:
    """Slices ``[0:size], [size:2·size], …`` covering ``range(n)``."""
    size = max(1, int(size))
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))
