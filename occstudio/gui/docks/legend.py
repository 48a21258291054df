"""The class legend: a colour swatch, name and voxel count per class, with show/hide.

Toggling a class never rebuilds a mesh: the window applies the hidden set in place
(:func:`occstudio.render.voxels.apply_class_visibility`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from occstudio.core.labels import LabelSet


def _swatch(rgba: tuple[int, int, int, int]) -> QIcon:
    pix = QPixmap(14, 14)
    pix.fill(QColor(*rgba[:3]))
    return QIcon(pix)


class LegendWidget(QWidget):
    """Checkable class list.

    Signals
    -------
    hidden_changed(object)
        The set of hidden class ids.
    """

    hidden_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labelset: LabelSet | None = None
        self.title = QLabel("No classes")
        self.list = QListWidget()
        self.list.setToolTip("Untick a class to hide its voxels in the 3D view")
        self.list.itemChanged.connect(self._changed)
        show_all = QPushButton("Show all")
        show_all.setToolTip("Show every class")
        show_all.clicked.connect(lambda: self.set_hidden(set()))
        hide_all = QPushButton("Hide all")
        hide_all.setToolTip("Hide every class")
        hide_all.clicked.connect(lambda: self.set_hidden(set(self.class_ids())))
        buttons = QHBoxLayout()
        buttons.addWidget(show_all)
        buttons.addWidget(hide_all)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._hidden: set[int] = set()

    def set_classes(self, labelset: LabelSet | None, counts: dict[int, int]) -> None:
        """Show the classes in ``counts`` (id → voxel count); the hidden set is kept."""
        self.labelset = labelset
        self.list.blockSignals(True)
        self.list.clear()
        if labelset is None or not counts:
            self.title.setText("No classes")
        else:
            self.title.setText(f"{labelset.name}: {len(counts)} classes, {sum(counts.values()):,} voxels")
            for cid in sorted(counts):
                item = QListWidgetItem(_swatch(labelset.color_of(cid)), f"{cid:>3}  {labelset.name_of(cid)}  ({counts[cid]:,})")
                item.setData(Qt.ItemDataRole.UserRole, cid)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked if cid in self._hidden else Qt.CheckState.Checked)
                self.list.addItem(item)
        self.list.blockSignals(False)

    def class_ids(self) -> list[int]:
        """The listed class ids."""
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def hidden(self) -> set[int]:
        """The hidden class ids."""
        return set(self._hidden)

    def set_hidden(self, hidden: set[int]) -> None:
        """Hide exactly ``hidden`` (emits :attr:`hidden_changed`)."""
        self._hidden = set(hidden)
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            cid = item.data(Qt.ItemDataRole.UserRole)
            item.setCheckState(Qt.CheckState.Unchecked if cid in self._hidden else Qt.CheckState.Checked)
        self.list.blockSignals(False)
        self.hidden_changed.emit(self.hidden())

    def _changed(self, item: QListWidgetItem) -> None:
        cid = item.data(Qt.ItemDataRole.UserRole)
        if item.checkState() == Qt.CheckState.Checked:
            self._hidden.discard(cid)
        else:
            self._hidden.add(cid)
        self.hidden_changed.emit(self.hidden())
