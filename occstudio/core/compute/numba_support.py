"""Access to numba, the optional extra ``occstudio[fast]`` behind the compiled kernels
(:mod:`~occstudio.core.compute.dda_jit`, :mod:`~occstudio.core.compute.confusion_jit`).

numba is imported on first use only, so the core and the GUI start without it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from types import ModuleType

#: Held around every call of a parallel kernel: numba's own work queue (its threading
#: layer where neither OpenMP nor TBB is available) aborts the process when two threads
#: launch parallel kernels at once, as two GUI jobs could. The kernels are short, so
#: taking turns costs little.
PARALLEL_LAUNCH = threading.Lock()


@cache
def available() -> bool:
    """Whether numba can be imported."""
    try:
        import numba  # noqa: F401
    except Exception:  # not installed, or broken against this numpy
        return False
    return True


@cache
def numba_module() -> ModuleType:
    """The numba module, set to prefer OpenMP or its own work queue to TBB (an old system
    TBB only earns a warning on stderr).

    Raises
    ------
    ImportError
        numba is not installed.
    """
    import numba

    numba.config.THREADING_LAYER_PRIORITY = ["omp", "workqueue", "tbb"]
    return numba


@contextmanager
def one_thread_per_kernel() -> Iterator[None]:
    """Run the calling thread's parallel kernels on one thread while inside.

    For callers that already keep the cores busy with threads of their own (loading the
    next samples while one is scored): the kernels' own threads would only compete with
    them, and OpenMP's spinning workers steal their time. numba's thread count is per
    calling thread, so other threads are not affected. Does nothing without numba.
    """
    if not available():
        yield
        return
    numba = numba_module()
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


__all__ = ["PARALLEL_LAUNCH", "available", "numba_module", "one_thread_per_kernel"]
