"""Background jobs for the GUI: a :class:`JobManager` running functions on worker threads.

``JobManager.submit(title, func, *args, key=..., on_result=...)`` runs
``func(*args, progress=...)`` on a thread pool. Results, errors and progress reach the
GUI thread through queued signals; widgets are only touched there. A new job with the
same ``key`` cancels the previous one (latest wins) and the old result is dropped.
:class:`~occstudio.core.jobs.Cancelled` is a cancellation, not an error.
"""

from __future__ import annotations

import itertools
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from occstudio.core.jobs import Cancelled, CancelToken, Progress


class _JobSignals(QObject):
    """Signals a worker emits; they are delivered on the GUI thread (queued)."""

    progressed = Signal(float, float, str)  # done, total (-1 unknown), message
    succeeded = Signal(object)
    failed = Signal(str, str)  # message, traceback
    cancelled = Signal()


class QtProgress(Progress):
    """A :class:`Progress` that emits throttled Qt signals from the worker thread."""

    def __init__(self, signals: _JobSignals, token: CancelToken, interval: float = 0.05) -> None:
        super().__init__(token)
        self._signals, self._interval, self._last = signals, interval, 0.0

    def emit(self) -> None:
        now = time.monotonic()
        final = self.total is not None and self.done >= self.total
        if final or now - self._last >= self._interval:
            self._last = now
            total = -1.0 if self.total is None else float(self.total)
            self._signals.progressed.emit(float(self.done), total, self.message)


class Job(QObject):
    """One submitted job, as seen from the GUI thread.

    Attributes
    ----------
    id, title, key
        Unique number, display title and latest-wins key (or ``None``).
    state
        ``running``, ``done``, ``failed`` or ``cancelled``.
    fraction, message
        Last reported progress (``fraction`` is ``None`` while unknown).
    error, details
        The error message and traceback when ``state == "failed"``.
    """

    changed = Signal()

    def __init__(self, job_id: int, title: str, key: str | None) -> None:
        super().__init__()
        self.id, self.title, self.key = job_id, title, key
        self.token = CancelToken()
        self.state = "running"
        self.fraction: float | None = None
        self.message = ""
        self.error = ""
        self.details = ""
        self.started = time.monotonic()
        self.result: Any = None

    @property
    def running(self) -> bool:
        """Whether the job has not finished yet."""
        return self.state == "running"

    def cancel(self) -> None:
        """Ask the job to stop at its next checkpoint."""
        self.token.cancel()


class _Runner(QRunnable):
    def __init__(self, func: Callable[..., Any], args: tuple, kwargs: dict, signals: _JobSignals, token: CancelToken) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self.func, self.args, self.kwargs = func, args, kwargs
        self.signals, self.token = signals, token

    def run(self) -> None:  # worker thread: never touch widgets here
        progress = QtProgress(self.signals, self.token)
        try:
            progress.check()
            result = self.func(*self.args, progress=progress, **self.kwargs)
            progress.check()
        except Cancelled:
            self.signals.cancelled.emit()
        except Exception as exc:  # reported in the window, never fatal
            self.signals.failed.emit(f"{exc}" or type(exc).__name__, traceback.format_exc())
        else:
            self.signals.succeeded.emit(result)


class JobManager(QObject):
    """Runs jobs on a private thread pool and tracks them for the jobs dock.

    Signals
    -------
    job_added(Job), job_finished(Job)
        A job was submitted / ended (in any state).
    running_count_changed(int)
        Number of running jobs (for the status bar).
    error(str, str, str)
        A job failed: title, message, traceback.
    """

    job_added = Signal(object)
    job_finished = Signal(object)
    running_count_changed = Signal(int)
    error = Signal(str, str, str)

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self.jobs: list[Job] = []
        self._latest: dict[str, Job] = {}
        self._ids = itertools.count(1)
        self._signals: dict[int, _JobSignals] = {}
        self._closed = False

    def running(self) -> list[Job]:
        """The jobs still running."""
        return [j for j in self.jobs if j.running]

    def submit(
        self,
        title: str,
        func: Callable[..., Any],
        *args: Any,
        key: str | None = None,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        **kwargs: Any,
    ) -> Job:
        """Run ``func(*args, progress=..., **kwargs)`` in the background.

        Parameters
        ----------
        title
            Shown in the jobs dock.
        func
            The function; it must accept ``progress=`` and must not touch widgets.
        key
            Latest-wins key: a running job with the same key is cancelled and its
            result dropped.
        on_result, on_error
            Called on the GUI thread with the result / the error message.
        """
        if self._closed:
            raise RuntimeError("the job manager is shut down")
        job = Job(next(self._ids), title, key)
        if key is not None:
            old = self._latest.get(key)
            if old is not None and old.running:
                old.cancel()
            self._latest[key] = job
        signals = _JobSignals()
        self._signals[job.id] = signals

        def progressed(done: float, total: float, message: str) -> None:
            if job.running:
                job.fraction = None if total <= 0 else max(0.0, min(1.0, done / total))
                job.message = message
                job.changed.emit()

        def succeeded(result: Any) -> None:
            stale = job.token.cancelled or (key is not None and self._latest.get(key) is not job)
            if stale:
                self._finish(job, "cancelled")
                return
            job.result = result
            job.fraction = 1.0
            self._finish(job, "done")
            if on_result is not None:
                on_result(result)

        def failed(message: str, details: str) -> None:
            job.error, job.details = message, details
            self._finish(job, "failed")
            self.error.emit(job.title, message, details)
            if on_error is not None:
                on_error(message)

        signals.progressed.connect(progressed)
        signals.succeeded.connect(succeeded)
        signals.failed.connect(failed)
        signals.cancelled.connect(lambda: self._finish(job, "cancelled"))
        self.jobs.append(job)
        self.job_added.emit(job)
        self.running_count_changed.emit(len(self.running()))
        self.pool.start(_Runner(func, args, kwargs, signals, job.token))
        return job

    def _finish(self, job: Job, state: str) -> None:
        if not job.running:
            return
        job.state = state
        self._signals.pop(job.id, None)
        if job.key is not None and self._latest.get(job.key) is job:
            del self._latest[job.key]
        job.changed.emit()
        self.job_finished.emit(job)
        self.running_count_changed.emit(len(self.running()))

    def cancel_key(self, key: str) -> None:
        """Cancel the running job submitted under ``key``, if any (its result is dropped)."""
        job = self._latest.get(key)
        if job is not None:
            job.cancel()

    def cancel_all(self) -> None:
        """Ask every running job to stop."""
        for job in self.running():
            job.cancel()

    def clear_finished(self) -> None:
        """Forget finished jobs (the dock removes their rows)."""
        self.jobs = [j for j in self.jobs if j.running]

    def wait(self, timeout_ms: int = -1) -> bool:
        """Wait for the workers to finish; ``True`` when none is left running."""
        return self.pool.waitForDone(timeout_ms)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything and wait for the worker threads (called on window close)."""
        self._closed = True
        self.cancel_all()
        self.pool.clear()
        done = self.pool.waitForDone(timeout_ms)
        for job in self.running():
            self._finish(job, "cancelled")
        return done
