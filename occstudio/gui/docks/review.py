"""The *Review* dock: a review status per sample and a filter of the samples by status.

Statuses are those of :data:`~occstudio.core.persistence.REVIEW_STATUSES` (unreviewed,
ok, needs fix, fixed), stored at once in the sidecar's ``review.json``
(:class:`~occstudio.core.persistence.ReviewStore`, through the editing controller's
dataset context). The dock has:

* a combo with the shown sample's status (Ctrl+0 … Ctrl+3 set it from anywhere in the
  window);
* a *Show* filter (all, or one status) listing the matching samples (click one to show
  it) with the counts per status. When the sample browser offers
  ``set_sample_predicate(predicate | None)``, the same filter also applies to the sample
  list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from occstudio.core.dataset import Dataset
from occstudio.core.errors import OccStudioError
from occstudio.core.persistence import REVIEW_STATUSES, ReviewStore

if TYPE_CHECKING:  # pragma: no cover
    from occstudio.gui.editing import EditingController
    from occstudio.gui.main_window import MainWindow

#: Display names of the statuses.
STATUS_LABELS = {"unreviewed": "Unreviewed", "ok": "OK", "needs_fix": "Needs fix", "fixed": "Fixed"}
#: Shortcuts setting the shown sample's status.
STATUS_SHORTCUTS = {"unreviewed": "Ctrl+0", "ok": "Ctrl+1", "needs_fix": "Ctrl+2", "fixed": "Ctrl+3"}
ALL = "all"


class ReviewPanel(QWidget):
    """Review status of the shown sample and a status filter.

    Parameters
    ----------
    window
        The main window (controller signals, browser, notifications).
    editing
        The editing controller (its ``context.review`` is the store).

    Signals
    -------
    status_changed(str, str)
        A sample's status changed (id, status).
    """

    status_changed = Signal(str, str)

    def __init__(self, window: MainWindow, editing: EditingController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.editing = editing
        self.dataset: Dataset | None = None
        self.sample_id: str | None = None
        self._filter = ALL

        self.status_combo = QComboBox()
        for status in REVIEW_STATUSES:
            self.status_combo.addItem(f"{STATUS_LABELS[status]}  ({STATUS_SHORTCUTS[status]})", status)
        self.status_combo.setToolTip("Review status of the shown sample (stored in the dataset's sidecar)")
        self.status_combo.activated.connect(lambda i: self.set_status(self.status_combo.itemData(i)))

        self.filter_combo = QComboBox()
        self.filter_combo.addItem("All samples", ALL)
        for status in REVIEW_STATUSES:
            self.filter_combo.addItem(STATUS_LABELS[status], status)
        self.filter_combo.setToolTip("Show only the samples with this review status")
        self.filter_combo.currentIndexChanged.connect(lambda i: self.set_filter(self.filter_combo.itemData(i)))

        self.list = QListWidget()
        self.list.setToolTip("Samples with the chosen status; click one to show it")
        self.list.itemClicked.connect(self._item_clicked)
        self.list.itemActivated.connect(self._item_clicked)
        self.counts_label = QLabel()
        self.counts_label.setWordWrap(True)

        form = QFormLayout()
        form.setContentsMargins(2, 2, 2, 2)
        form.addRow("Status:", self.status_combo)
        form.addRow("Show:", self.filter_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(form)
        layout.addWidget(self.counts_label)
        layout.addWidget(self.list, 1)
        layout.addStretch(0)  # takes the space while the list is hidden

        self.actions: dict[str, QAction] = {}
        for status in REVIEW_STATUSES:
            action = QAction(f"Mark {STATUS_LABELS[status].lower()}", window)
            action.setObjectName(f"action_review_{status}")
            action.setShortcut(QKeySequence(STATUS_SHORTCUTS[status]))
            action.setToolTip(f"Set the shown sample's review status to {STATUS_LABELS[status]}")
            action.triggered.connect(lambda _checked=False, s=status: self.set_status(s))
            window.addAction(action)
            self.actions[status] = action

        window.controller.dataset_opened.connect(self.set_dataset)
        window.controller.content_ready.connect(lambda content: self.set_sample(str(content.get("id") or "")))
        self._refresh()

    # -- state ------------------------------------------------------------------------
    def store(self) -> ReviewStore | None:
        """The open dataset's review store (``None`` without a dataset or when unreadable)."""
        ctx = self.editing.context
        return ctx.review if ctx is not None else None

    def set_dataset(self, dataset: Dataset | None) -> None:
        """Follow a newly opened dataset (the filter is kept)."""
        self.dataset = dataset
        self.sample_id = None
        self._apply_browser_filter()
        self._refresh()

    def set_sample(self, sample_id: str | None) -> None:
        """Show the status of ``sample_id``."""
        self.sample_id = sample_id or None
        self._refresh()

    def status(self, sample_id: str | None = None) -> str:
        """The status of ``sample_id`` (default: the shown sample)."""
        sid = sample_id if sample_id is not None else self.sample_id
        store = self.store()
        return store.status(sid) if store is not None and sid else "unreviewed"

    def set_status(self, status: str, sample_id: str | None = None) -> bool:
        """Set the status of ``sample_id`` (default: the shown sample); stored at once."""
        sid = sample_id if sample_id is not None else self.sample_id
        store = self.store()
        if store is None or not sid:
            return False
        try:
            store.set_status(sid, status)
        except (OccStudioError, OSError, ValueError) as exc:
            self.window.notifications.error(f"Could not store the review status of {sid}: {exc}")
            return False
        self.window.notifications.info(f"{sid}: {STATUS_LABELS[status]}")
        self.status_changed.emit(sid, status)
        self._apply_browser_filter()
        self._refresh()
        return True

    # -- filter -----------------------------------------------------------------------
    def filter(self) -> str:
        """The status shown (``"all"`` or a status)."""
        return self._filter

    def set_filter(self, status: str) -> None:
        """Show only samples with ``status`` (``"all"``: every sample)."""
        if status != ALL and status not in REVIEW_STATUSES:
            raise ValueError(f"unknown review status {status!r}")
        self._filter = status
        index = self.filter_combo.findData(status)
        if self.filter_combo.currentIndex() != index:
            self.filter_combo.blockSignals(True)
            self.filter_combo.setCurrentIndex(index)
            self.filter_combo.blockSignals(False)
        self._apply_browser_filter()
        self._refresh()

    def predicate(self) -> Callable[[str], bool] | None:
        """``sample_id -> bool`` for the current filter (``None`` when showing all)."""
        if self._filter == ALL:
            return None
        wanted = self._filter
        return lambda sid: self.status(sid) == wanted

    def filtered_ids(self) -> list[str]:
        """The dataset's samples that pass the filter, in dataset order."""
        if self.dataset is None:
            return []
        keep = self.predicate()
        ids = self.dataset.ids()
        return ids if keep is None else [sid for sid in ids if keep(sid)]

    def _apply_browser_filter(self) -> None:
        setter = getattr(self.window.browser, "set_sample_predicate", None)
        if setter is not None:
            setter(self.predicate())

    # -- view -------------------------------------------------------------------------
    def _refresh(self) -> None:
        store = self.store()
        enabled = store is not None and self.sample_id is not None
        self.status_combo.setEnabled(enabled)
        for action in self.actions.values():
            action.setEnabled(enabled)
        self.status_combo.blockSignals(True)
        self.status_combo.setCurrentIndex(self.status_combo.findData(self.status()))
        self.status_combo.blockSignals(False)
        self.list.clear()
        ids = self.filtered_ids() if self._filter != ALL else []
        for sid in ids[:5000]:
            item = QListWidgetItem(sid)
            item.setData(Qt.ItemDataRole.UserRole, sid)
            self.list.addItem(item)
        self.list.setVisible(self._filter != ALL)
        if self.dataset is None:
            self.counts_label.setText("No dataset")
            return
        if store is None:
            self.counts_label.setText("Review status unavailable (see the log)")
            return
        counts = store.counts(self.dataset.ids())
        text = " · ".join(f"{counts[s]} {STATUS_LABELS[s].lower()}" for s in REVIEW_STATUSES)
        if self._filter != ALL:
            text = f"{len(ids)} shown — {text}"
        self.counts_label.setText(text)

    def _item_clicked(self, item: QListWidgetItem) -> None:
        sid = item.data(Qt.ItemDataRole.UserRole)
        if sid:
            self.window.browser.select(sid)
