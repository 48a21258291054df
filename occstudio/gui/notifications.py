"""User-visible messages: the status bar line and the log dock with details."""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal


@dataclass
class Notification:
    """One message: level (``info``, ``warning``, ``error``), text and optional details."""

    level: str
    text: str
    details: str = ""
    time: float = 0.0


class Notifications(QObject):
    """The window's message hub. Errors from jobs and loaders land here, never in a terminal.

    Signals
    -------
    posted(Notification)
    """

    posted = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history: list[Notification] = []

    def post(self, level: str, text: str, details: str = "") -> Notification:
        """Record and broadcast a message."""
        note = Notification(level, text, details, time.time())
        self.history.append(note)
        self.posted.emit(note)
        return note

    def info(self, text: str, details: str = "") -> Notification:
        """Post an informational message."""
        return self.post("info", text, details)

    def warning(self, text: str, details: str = "") -> Notification:
        """Post a warning."""
        return self.post("warning", text, details)

    def error(self, text: str, details: str = "") -> Notification:
        """Post an error (shown in the status bar and the log dock)."""
        return self.post("error", text, details)

    def errors(self) -> list[Notification]:
        """Every error posted so far."""
        return [n for n in self.history if n.level == "error"]
