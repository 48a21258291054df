"""The log dock: every notification with its time, level and details (tracebacks)."""

from __future__ import annotations

import time

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from occstudio.gui.notifications import Notification, Notifications

_COLORS = {"error": QColor("#c62828"), "warning": QColor("#ef6c00"), "info": QColor("#37474f")}


class LogDock(QWidget):
    """Shows notifications; an entry's details (e.g. a traceback) are its child row."""

    def __init__(self, notifications: Notifications, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Time", "Level", "Message"])
        self.tree.setColumnWidth(0, 70)
        self.tree.setColumnWidth(1, 70)
        layout.addWidget(self.tree)
        for note in notifications.history:
            self.add(note)
        notifications.posted.connect(self.add)

    def add(self, note: Notification) -> None:
        """Append one notification."""
        stamp = time.strftime("%H:%M:%S", time.localtime(note.time))
        item = QTreeWidgetItem([stamp, note.level, note.text])
        item.setForeground(2, QBrush(_COLORS.get(note.level, QColor("black"))))
        item.setToolTip(2, note.text)
        if note.details:
            child = QTreeWidgetItem(["", "", note.details])
            item.addChild(child)
        self.tree.addTopLevelItem(item)
        self.tree.scrollToItem(item)

    def messages(self) -> list[str]:
        """The message texts shown, oldest first (for tests)."""
        return [self.tree.topLevelItem(i).text(2) for i in range(self.tree.topLevelItemCount())]
