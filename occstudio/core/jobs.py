"""Progress reporting and cooperative cancellation for long computations.

Every long function in occstudio takes ``progress=`` (any :class:`Progress`, or ``None``)
and calls :meth:`Progress.check` at checkpoints. The same object works headless
(:class:`TqdmProgress`), in tests (:class:`RecordingProgress`, which can cancel after N
updates) and in the GUI (a Qt subclass that emits throttled signals).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO


class Cancelled(Exception):
    """Raised at a checkpoint when the job was cancelled. A cancellation, not an error."""


class CancelToken:
    """A thread-safe flag a caller sets to ask a running job to stop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next checkpoint."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`Cancelled` when cancelled."""
        if self._event.is_set():
            raise Cancelled()


class Progress:
    """Progress of one job: ``done`` out of ``total`` steps plus a message.

    Subclasses override :meth:`emit`; :meth:`check` raises :class:`Cancelled` once the
    token is cancelled.

    Parameters
    ----------
    token
        The cancel token to honour; a fresh one when omitted.
    """

    def __init__(self, token: CancelToken | None = None) -> None:
        self.token = token if token is not None else CancelToken()
        self.done = 0.0
        self.total: float | None = None
        self.message = ""

    def start(self, total: float | None, message: str = "") -> None:
        """Begin a phase of ``total`` steps (``None``: unknown length)."""
        self.total, self.done, self.message = total, 0.0, message
        self.emit()
        self.check()

    def advance(self, steps: float = 1, message: str | None = None) -> None:
        """Add ``steps`` to the count, report, and check for cancellation."""
        self.done += steps
        if message is not None:
            self.message = message
        self.emit()
        self.check()

    def update(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """Set the absolute count (and optionally the total), report, check."""
        self.done = done
        if total is not None:
            self.total = total
        if message is not None:
            self.message = message
        self.emit()
        self.check()

    def check(self) -> None:
        """Raise :class:`Cancelled` if the job was cancelled."""
        self.token.raise_if_cancelled()

    @property
    def fraction(self) -> float | None:
        """``done / total`` clipped to [0, 1], or ``None`` when the total is unknown."""
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))

    def emit(self) -> None:
        """Report the current state. The base class reports nothing."""

    def child(self, start: float, stop: float) -> SubProgress:
        """A progress that maps its own 0..1 onto ``[start, stop]`` of this one's total."""
        return SubProgress(self, start, stop)


class SubProgress(Progress):
    """Progress of a sub-task mapped onto a slice of a parent's range."""

    def __init__(self, parent: Progress, start: float, stop: float) -> None:
        super().__init__(parent.token)
        self.parent, self.lo, self.hi = parent, start, stop

    def emit(self) -> None:
        frac = self.fraction or 0.0
        self.parent.update(self.lo + (self.hi - self.lo) * frac, message=self.message or None)


class NullProgress(Progress):
    """Reports nothing; still honours cancellation."""


class RecordingProgress(Progress):
    """Records every update; optionally cancels itself after ``cancel_after`` updates.

    Parameters
    ----------
    cancel_after
        Cancel once this many updates were emitted (for tests of cancellation).
    """

    def __init__(self, cancel_after: int | None = None, token: CancelToken | None = None) -> None:
        super().__init__(token)
        self.records: list[tuple[float, float | None, str]] = []
        self.cancel_after = cancel_after

    def emit(self) -> None:
        self.records.append((self.done, self.total, self.message))
        if self.cancel_after is not None and len(self.records) >= self.cancel_after:
            self.token.cancel()


class CallbackProgress(Progress):
    """Calls ``callback(done, total, message)``, at most every ``interval`` seconds.

    The final update (``done >= total``) is always delivered.
    """

    def __init__(
        self,
        callback: Callable[[float, float | None, str], None],
        interval: float = 0.05,
        token: CancelToken | None = None,
    ) -> None:
        super().__init__(token)
        self.callback, self.interval = callback, interval
        self._last = 0.0

    def emit(self) -> None:
        now = time.monotonic()
        final = self.total is not None and self.done >= self.total
        if final or now - self._last >= self.interval:
            self._last = now
            self.callback(self.done, self.total, self.message)


class TqdmProgress(Progress):
    """A plain-text progress line on a stream (stderr by default), for the command line."""

    def __init__(self, stream: TextIO | None = None, token: CancelToken | None = None) -> None:
        super().__init__(token)
        self.stream = stream if stream is not None else sys.stderr
        self._last = 0.0

    def emit(self) -> None:
        now = time.monotonic()
        final = self.total is not None and self.done >= self.total
        if not (final or now - self._last >= 0.2):
            return
        self._last = now
        if self.total:
            text = f"\r{self.message} {int(self.done)}/{int(self.total)}"
        else:
            text = f"\r{self.message} {int(self.done)}"
        self.stream.write(text + ("\n" if final else ""))
        self.stream.flush()


def ensure_progress(progress: Progress | None) -> Progress:
    """Return ``progress``, or a :class:`NullProgress` when it is ``None``."""
    return progress if progress is not None else NullProgress()
