"""The sample browser: a filterable, sortable list of a dataset's samples.

A :class:`SampleTableModel` (one row per :class:`~occstudio.core.sample.Sample`; columns
id, prior text and any number of numeric metric columns; it sorts itself, natural order
for text and numeric with blanks last for metrics) sits behind a
:class:`SampleFilterProxy` (case-insensitive filter on ``Sample.search_text()``) shown in
a ``QTreeView``. :class:`SampleBrowser` is the widget
the main window puts in a dock; it emits :attr:`SampleBrowser.current_sample_changed`
whenever the current row changes, by click or keyboard.

Typing in the filter never switches the sample: when the current sample is filtered out
the view simply has no current row until the user picks one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QFontMetrics, QIcon, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from occstudio.core.dataset import Dataset
from occstudio.core.sample import Sample

ID_ROLE = Qt.ItemDataRole.UserRole + 1
"""Item data role holding the sample id (any column)."""

DIRTY_MARK = "●"
PRIOR_TEXT_KEYS = ("prior_text", "text", "prompt")

_Index = QModelIndex | QPersistentModelIndex


def _natural_key(text: str) -> tuple:
    """Sort key that orders ``s2`` before ``s10``."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", text.lower())
        if part
    )


def prior_text_of(sample: Sample) -> str:
    """A sample's prior text (``prior_text``, or the ``text`` / ``prompt`` alias)."""
    for key in PRIOR_TEXT_KEYS:
        value = sample.text.get(key)
        if value:
            return value
    return ""


def format_metric(value: float) -> str:
    """How a metric value is displayed (4 significant digits; blank for NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.4g}"


class SampleTableModel(QAbstractTableModel):
    """A table of samples: id, prior text, then the extra (metric) columns.

    The warning icon (``DecorationRole`` of the id column) marks samples whose
    ``has_problems`` is true; their tooltip lists the missing files and errors. Dirty
    samples show :data:`DIRTY_MARK` before the id, in bold.

    The model sorts itself (:meth:`sort`: one Python sort and a layout change, fast for
    tens of thousands of rows, where per-comparison ``data()`` calls through a proxy
    would take seconds): ids and texts in natural order (``s2`` before ``s10``), metric
    columns numerically with blanks last in both orders, column ``-1`` the dataset order.
    """

    BASE_COLUMNS = ("id", "prior text")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.samples: list[Sample] = []  # in display (sorted) order
        self._dataset_order: list[Sample] = []
        self._row_of: dict[str, int] = {}
        self._search: dict[str, str] = {}
        self._prior: dict[str, str] = {}
        self._text_keys: dict[tuple[str, int], tuple] = {}  # cached natural sort keys
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._order_valid = False  # rows are in (sort column, order) order
        self._extra_names: list[str] = []
        self._extra: dict[str, dict[str, float]] = {}
        self._dirty: set[str] = set()
        self._warning_icon: QIcon | None = None

    # -- content ----------------------------------------------------------------------
    def set_samples(self, samples: list[Sample]) -> None:
        """Replace the rows (extra columns and the sort are kept, dirty marks cleared)."""
        self.beginResetModel()
        self._dataset_order = list(samples)
        self._search = {s.id: s.search_text() for s in self._dataset_order}
        self._prior = {s.id: prior_text_of(s) for s in self._dataset_order}
        self._text_keys.clear()
        self._dirty.clear()
        self.samples = self._sorted_samples(self._sort_column, self._sort_order)
        self._row_of = {s.id: i for i, s in enumerate(self.samples)}
        self._order_valid = True
        self.endResetModel()

    def row_of(self, sample_id: str) -> int:
        """The row of ``sample_id`` (-1 when absent)."""
        return self._row_of.get(sample_id, -1)

    def sample_id(self, row: int) -> str:
        """The id of ``row``."""
        return self.samples[row].id

    def search_text(self, row: int) -> str:
        """The lower-cased text the filter matches for ``row``."""
        return self._search[self.samples[row].id]

    def prior_text(self, row: int) -> str:
        """The prior text shown for ``row``."""
        return self._prior[self.samples[row].id]

    def refresh_sample(self, sample_id: str) -> None:
        """Re-read a sample's texts and problems (after it was edited)."""
        row = self.row_of(sample_id)
        if row < 0:
            return
        sample = self.samples[row]
        self._search[sample_id] = sample.search_text()
        self._prior[sample_id] = prior_text_of(sample)
        self._text_keys.pop((sample_id, 1), None)
        self._emit_row_changed(row)
        if self._sort_column in (0, 1):
            self._order_valid = False
            self.sort(self._sort_column, self._sort_order)

    def set_dirty(self, sample_id: str, dirty: bool) -> None:
        """Mark ``sample_id`` as having (or not) unsaved edits."""
        row = self.row_of(sample_id)
        if row < 0 or (sample_id in self._dirty) == bool(dirty):
            return
        if dirty:
            self._dirty.add(sample_id)
        else:
            self._dirty.discard(sample_id)
        self._emit_row_changed(row)

    def is_dirty(self, sample_id: str) -> bool:
        """Whether ``sample_id`` is marked as having unsaved edits."""
        return sample_id in self._dirty

    def extra_columns(self) -> list[str]:
        """The names of the extra (metric) columns, in order."""
        return list(self._extra_names)

    def set_extra_column(self, name: str, values: dict[str, float]) -> None:
        """Add (at the end) or replace a numeric column; samples absent from ``values`` are blank."""
        clean = {}
        for key, value in values.items():
            try:
                clean[str(key)] = float(value)
            except (TypeError, ValueError):
                continue
        if name in self._extra:
            self._extra[name] = clean
            col = len(self.BASE_COLUMNS) + self._extra_names.index(name)
            if self.samples:
                self.dataChanged.emit(self.index(0, col), self.index(len(self.samples) - 1, col))
            if self._sort_column == col:
                self._order_valid = False
                self.sort(col, self._sort_order)
            return
        col = self.columnCount()
        self.beginInsertColumns(QModelIndex(), col, col)
        self._extra_names.append(name)
        self._extra[name] = clean
        self.endInsertColumns()

    def remove_extra_column(self, name: str) -> None:
        """Remove an extra column (no-op when absent)."""
        if name not in self._extra:
            return
        col = len(self.BASE_COLUMNS) + self._extra_names.index(name)
        self.beginRemoveColumns(QModelIndex(), col, col)
        self._extra_names.remove(name)
        del self._extra[name]
        self.endRemoveColumns()
        if self._sort_column == col:
            self._order_valid = False
            self.sort(-1)
        elif self._sort_column > col:
            self._sort_column -= 1

    def metric(self, sample_id: str, name: str) -> float | None:
        """The value of extra column ``name`` for ``sample_id``, or ``None``."""
        return self._extra.get(name, {}).get(sample_id)

    # -- sorting ----------------------------------------------------------------------
    def sort_column(self) -> int:
        """The column the rows are sorted by (-1: dataset order)."""
        return self._sort_column

    def sort_key(self, sample: Sample, column: int) -> Any:
        """What sorting compares: a natural-order key (text columns) or a float
        (``None`` when blank)."""
        if column < len(self.BASE_COLUMNS):
            key = self._text_keys.get((sample.id, column))
            if key is None:
                key = _natural_key(sample.id if column == 0 else self._prior[sample.id])
                self._text_keys[(sample.id, column)] = key
            return key
        name = self._extra_names[column - len(self.BASE_COLUMNS)]
        value = self._extra[name].get(sample.id)
        return None if value is None or math.isnan(value) else value

    def _sorted_samples(self, column: int, order: Qt.SortOrder) -> list[Sample]:
        if not 0 <= column < self.columnCount():
            return list(self._dataset_order)
        keyed = [(self.sort_key(s, column), s) for s in self._dataset_order]
        present = [pair for pair in keyed if pair[0] is not None]
        blanks = [s for key, s in keyed if key is None]
        # stable in both directions: ties keep the dataset order
        present.sort(key=lambda pair: pair[0], reverse=order == Qt.SortOrder.DescendingOrder)
        return [s for _, s in present] + blanks

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the rows by ``column`` (-1: dataset order), keeping persistent indexes."""
        column = column if 0 <= column < self.columnCount() else -1
        if self._order_valid and (column, order) == (self._sort_column, self._sort_order):
            return
        self._sort_column = column
        self._sort_order = order
        self._order_valid = True
        new_samples = self._sorted_samples(self._sort_column, order)
        if [s.id for s in new_samples] == [s.id for s in self.samples]:
            return
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        ids = [self.samples[i.row()].id for i in old]
        self.samples = new_samples
        self._row_of = {s.id: i for i, s in enumerate(self.samples)}
        new = [self.index(self._row_of[sid], i.column()) for sid, i in zip(ids, old)]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    def _emit_row_changed(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def _warning(self) -> QIcon:
        if self._warning_icon is None:
            style = QApplication.style()
            self._warning_icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        return self._warning_icon

    # -- Qt model API -----------------------------------------------------------------
    def rowCount(self, parent: _Index | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.samples)

    def columnCount(self, parent: _Index | None = None) -> int:
        if parent is not None and parent.isValid():
            return 0
        return len(self.BASE_COLUMNS) + len(self._extra_names)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        names = [*self.BASE_COLUMNS, *self._extra_names]
        if not 0 <= section < len(names):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return names[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            if section == 0:
                return "Sample id (● = unsaved edits, ⚠ = missing files or errors)"
            if section == 1:
                return "Prior text (category label)"
            return f"Metric: {names[section]} (click to sort)"
        if role == Qt.ItemDataRole.TextAlignmentRole and section >= len(self.BASE_COLUMNS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.samples):
            return None
        row, col = index.row(), index.column()
        sample = self.samples[row]
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return f"{DIRTY_MARK} {sample.id}" if sample.id in self._dirty else sample.id
            if col == 1:
                return self._prior[sample.id]
            name = self._extra_names[col - len(self.BASE_COLUMNS)]
            value = self._extra[name].get(sample.id)
            return "" if value is None else format_metric(value)
        if role == ID_ROLE:
            return sample.id
        if role == Qt.ItemDataRole.DecorationRole and col == 0 and sample.has_problems:
            return self._warning()
        if role == Qt.ItemDataRole.FontRole and sample.id in self._dirty:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= len(self.BASE_COLUMNS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        return None

    def _tooltip(self, row: int) -> str:
        sample = self.samples[row]
        lines = [sample.id]
        if self._prior[sample.id]:
            lines.append(f"prior text: {self._prior[sample.id]}")
        if sample.id in self._dirty:
            lines.append("unsaved edits")
        if sample.missing:
            lines.append("Missing files:")
            lines += [f"  • {m}" for m in sample.missing]
        if sample.errors:
            lines.append("Errors:")
            lines += [f"  • {e}" for e in sample.errors]
        return "\n".join(lines)


class SampleFilterProxy(QSortFilterProxyModel):
    """Filters rows on ``Sample.search_text()``; sorting is delegated to the source model.

    The filter is split on whitespace and every word must occur (case-insensitive). The
    proxy itself never sorts (its rows keep the source order): :meth:`sort` asks the
    :class:`SampleTableModel` to reorder its rows.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._words: list[str] = []
        self._predicate: Callable[[str], bool] | None = None

    def _change_filter(self, apply: Callable[[], None]) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9
            self.beginFilterChange()
            apply()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            apply()
            self.invalidateRowsFilter()

    def set_filter_words(self, text: str) -> None:
        """Filter on the words of ``text``."""
        words = text.lower().split()
        if words == self._words:
            return
        self._change_filter(lambda: setattr(self, "_words", words))

    def set_predicate(self, predicate: Callable[[str], bool] | None) -> None:
        """Also keep only samples whose id satisfies ``predicate`` (``None``: all)."""
        self._change_filter(lambda: setattr(self, "_predicate", predicate))

    def filter_words(self) -> list[str]:
        """The current filter words (lower-case)."""
        return list(self._words)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        model = self.sourceModel()
        if self._predicate is not None and not self._predicate(model.sample_id(source_row)):
            return False
        if not self._words:
            return True
        text = model.search_text(source_row)
        return all(word in text for word in self._words)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        model = self.sourceModel()
        if model is not None:
            model.sort(column, order)


class _NavigationForwarder(QObject):
    """Forwards Up/Down/PageUp/PageDown from the filter field to the list."""

    KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)

    def __init__(self, target: QTreeView, parent: QObject) -> None:
        super().__init__(parent)
        self._target = target

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() in self.KEYS:
                QApplication.sendEvent(
                    self._target,
                    QKeyEvent(event.type(), event.key(), event.modifiers(), event.text()),
                )
                return True
            if event.key() == Qt.Key.Key_Escape and isinstance(watched, QLineEdit):
                watched.clear()
                return True
        return False


class SampleBrowser(QWidget):
    """The sample list: filter field, sortable table and a count label.

    Attributes
    ----------
    filter_edit : QLineEdit
        The filter field (Up/Down/PgUp/PgDn move in the list, Escape clears).
    view : QTreeView
        The list.
    model : SampleTableModel
        The source model.
    proxy : SampleFilterProxy
        The filtering / sorting proxy the view shows.
    count_label : QLabel
        ``"12 of 264 samples"``.

    Signals
    -------
    current_sample_changed(str)
        The current sample changed (click, keyboard, :meth:`select`, :meth:`next`...).
    sample_activated(str)
        A sample was double-clicked or Enter was pressed on it.
    """

    current_sample_changed = Signal(str)
    sample_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._dataset: Dataset | None = None
        self._current_id = ""
        self._filtering = False

        self.model = SampleTableModel(self)
        self.proxy = SampleFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setDynamicSortFilter(True)

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter samples…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip(
            "Show samples whose id or prior text contains every word typed "
            "(case-insensitive).\nUp/Down move in the list, Escape clears."
        )
        self.filter_edit.textChanged.connect(self.set_filter_text)

        self.view = QTreeView()
        self.view.setModel(self.proxy)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setAllColumnsShowFocus(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.header().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSortingEnabled(True)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setResizeContentsPrecision(200)  # metric columns fit a sample of the rows
        self.model.columnsInserted.connect(self._update_column_modes)
        self.model.modelReset.connect(self._update_column_modes)
        self.view.header().setSortIndicatorClearable(True)
        self.view.setToolTip("")
        self.view.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        self.view.activated.connect(self._on_activated)
        self._forwarder = _NavigationForwarder(self.view, self)
        self.filter_edit.installEventFilter(self._forwarder)

        self.count_label = QLabel()
        self.count_label.setToolTip("Samples shown (after the filter) and in the dataset")

        bottom = QHBoxLayout()
        bottom.setContentsMargins(2, 0, 2, 0)
        bottom.addWidget(self.count_label)
        bottom.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(3)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)
        self._update_count()

    # -- dataset ----------------------------------------------------------------------
    def set_dataset(self, dataset: Dataset | None) -> None:
        """Show ``dataset``'s samples (``None`` empties the list).

        No sample is made current (so nothing is emitted); call :meth:`select` for that.
        """
        self._dataset = dataset
        self._current_id = ""
        self.model.set_samples(dataset.samples if dataset is not None else [])
        if self.model.rowCount():
            # width of the longest ids (measured directly: resizeColumnToContents walks
            # the model through Python and is slow for large datasets)
            longest = sorted((s.id for s in self.model.samples), key=len)[-20:]
            bold = QFont(self.view.font())
            bold.setBold(True)
            metrics = QFontMetrics(bold)
            text = max(metrics.horizontalAdvance(f"{DIRTY_MARK} {i}") for i in longest)
            icon = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
            width = text + icon + 16
            self.view.setColumnWidth(0, min(max(width, 80), 360))
        self._update_count()

    def dataset(self) -> Dataset | None:
        """The dataset shown, or ``None``."""
        return self._dataset

    def refresh_sample(self, sample_id: str) -> None:
        """Redraw a sample's row after its texts or problems changed."""
        self.model.refresh_sample(sample_id)

    # -- filter -----------------------------------------------------------------------
    def set_filter_text(self, text: str) -> None:
        """Filter the list (also updates the filter field)."""
        if self.filter_edit.text() != text:
            self.filter_edit.setText(text)  # re-enters through textChanged
            return
        current = self._current_id
        self._filtering = True
        try:
            self.proxy.set_filter_words(text)
            self._restore_current(current)
        finally:
            self._filtering = False
        self._update_count()

    def set_sample_predicate(self, predicate: Callable[[str], bool] | None) -> None:
        """Show only samples whose id satisfies ``predicate`` (e.g. a review status filter)."""
        current = self._current_id
        self._filtering = True
        try:
            self.proxy.set_predicate(predicate)
            self._restore_current(current)
        finally:
            self._filtering = False
        self._update_count()

    def filter_text(self) -> str:
        """The filter field's text."""
        return self.filter_edit.text()

    def visible_ids(self) -> list[str]:
        """The ids of the rows shown, in display order (after filtering and sorting)."""
        return [
            self.proxy.index(r, 0).data(ID_ROLE) for r in range(self.proxy.rowCount())
        ]

    # -- extra columns / marks --------------------------------------------------------
    def set_extra_column(self, name: str, values: dict[str, float]) -> None:
        """Add or update a sortable numeric column (e.g. a metric) keyed by sample id."""
        self.model.set_extra_column(name, values)

    def _update_column_modes(self, *args: Any) -> None:
        # id: user-resizable; prior text takes the spare width; metrics fit their values.
        header = self.view.header()
        for col in range(self.model.columnCount()):
            if col == 0:
                mode = QHeaderView.ResizeMode.Interactive
            elif col == 1:
                mode = QHeaderView.ResizeMode.Stretch
            else:
                mode = QHeaderView.ResizeMode.ResizeToContents
            header.setSectionResizeMode(col, mode)

    def remove_extra_column(self, name: str) -> None:
        """Remove an extra column."""
        self.model.remove_extra_column(name)

    def set_dirty(self, sample_id: str, dirty: bool) -> None:
        """Show (or clear) the unsaved-edits marker ● and bold on a sample."""
        self.model.set_dirty(sample_id, dirty)

    # -- current sample ---------------------------------------------------------------
    def current_id(self) -> str:
        """The current sample id ("" when none). It stays set while filtered out."""
        return self._current_id

    def select(self, sample_id: str) -> bool:
        """Make ``sample_id`` current (clearing the filter if it hides it).

        Returns
        -------
        bool
            ``False`` when the dataset has no such sample.
        """
        row = self.model.row_of(sample_id)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            self.filter_edit.clear()
            index = self.proxy.mapFromSource(self.model.index(row, 0))
        self._set_current(index)
        return True

    def next(self) -> str | None:
        """Move to the next visible sample; returns its id (``None`` at the end)."""
        return self._step(+1)

    def previous(self) -> str | None:
        """Move to the previous visible sample; returns its id (``None`` at the start)."""
        return self._step(-1)

    def _step(self, delta: int) -> str | None:
        n = self.proxy.rowCount()
        if n == 0:
            return None
        current = self.view.currentIndex()
        if current.isValid():
            target = current.row() + delta
        else:
            target = 0 if delta > 0 else n - 1
        if not 0 <= target < n:
            return None
        self._set_current(self.proxy.index(target, 0))
        return self._current_id

    def _set_current(self, index: QModelIndex) -> None:
        self.view.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.view.scrollTo(index)

    def _restore_current(self, sample_id: str) -> None:
        """After a filter change: keep ``sample_id`` current if shown, else no current row."""
        selection = self.view.selectionModel()
        row = self.model.row_of(sample_id) if sample_id else -1
        index = self.proxy.mapFromSource(self.model.index(row, 0)) if row >= 0 else QModelIndex()
        if index.isValid():
            if self.view.currentIndex().row() != index.row():
                self._set_current(index)
            self.view.scrollTo(index)
        else:
            selection.clearSelection()
            selection.setCurrentIndex(QModelIndex(), QItemSelectionModel.SelectionFlag.NoUpdate)

    def _on_current_row_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if self._filtering or not current.isValid():
            return
        sample_id = current.data(ID_ROLE)
        if sample_id and sample_id != self._current_id:
            self._current_id = sample_id
            self.current_sample_changed.emit(sample_id)

    def _on_activated(self, index: QModelIndex) -> None:
        sample_id = index.data(ID_ROLE)
        if sample_id:
            self.sample_activated.emit(sample_id)

    def _update_count(self) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        if self._dataset is None:
            self.count_label.setText("No dataset")
        elif shown == total:
            self.count_label.setText(f"{total} sample{'s' if total != 1 else ''}")
        else:
            self.count_label.setText(f"{shown} of {total} samples")
