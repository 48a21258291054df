"""The prior gallery: a sample's prior images, with add / remove / reorder and its prior text.

The gallery shows the files of ``<priors root>/<id>/`` in name order, which is the order
RelaxFlow uses them (:func:`~occstudio.io.priors.list_priors`), and changes them only
through :mod:`occstudio.io.priors`:

* **add** (button, or drop image files on the list): :func:`~occstudio.io.priors.add_prior`
  copies each file into the folder as the last prior (renaming the others when needed
  so that name order stays the display order);
* **remove**: :func:`~occstudio.io.priors.remove_prior` moves the file to the sidecar
  trash (*Restore* puts the last removed one back);
* **reorder** (drag within the list, or the ◀ ▶ buttons):
  :func:`~occstudio.io.priors.reorder_priors` renames the files so that name order is
  the new order;
* the **prior text** is stored as an override in the
  :class:`~occstudio.core.persistence.ReviewStore` (the manifest is never rewritten);
  *Export manifest with priors…* writes ``manifest_with_priors.json`` with
  :func:`~occstudio.io.priors.export_manifest_with_priors` and those overrides.

The priors root is ``dataset.meta["priors_root"]`` when a loader sets it, else it is
derived from the manifest's ``prior_images`` paths (``<root>/<id>/<file>``), else
``<dataset root>/priors``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from occstudio.core.dataset import Dataset
from occstudio.core.errors import DataError, OccStudioError
from occstudio.gui.panes.image_strip import thumbnail_pixmap
from occstudio.io.images import read_image
from occstudio.io.priors import (
    PRIOR_SUFFIXES,
    add_prior,
    export_manifest_with_priors,
    list_priors,
    remove_prior,
    reorder_priors,
    restore_prior,
)

if TYPE_CHECKING:  # pragma: no cover
    from occstudio.gui.editing import EditingController
    from occstudio.gui.main_window import MainWindow

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
THUMB_HEIGHT = 72
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.PNG *.JPG *.JPEG *.WEBP)"
MANIFEST_WITH_PRIORS = "manifest_with_priors.json"
#: The dataset format whose samples have prior folders.
PRIOR_FORMAT = "extremeocc"


def priors_root_for(dataset: Dataset, sample_id: str | None = None) -> Path:
    """The folder holding ``<id>/`` prior folders for ``dataset``.

    ``dataset.meta["priors_root"]`` if set; else derived from a sample's
    ``prior_images`` (``<root>/<id parts>/<file>``, the current sample first); else
    ``<dataset root>/priors``.
    """
    explicit = dataset.meta.get("priors_root")
    if explicit:
        return Path(explicit)
    samples = list(dataset.samples[:500])
    if sample_id is not None:
        samples = [s for s in dataset.samples if s.id == sample_id] + samples
    for sample in samples:
        parts = Path(sample.id).parts
        for path in sample.path_list("prior_images"):
            parent = Path(path).parent
            if parts and len(parent.parts) > len(parts) and tuple(parent.parts[-len(parts):]) == parts:
                return Path(*parent.parts[: -len(parts)])
    return Path(dataset.root) / "priors"


def _local_image_files(event: QDropEvent | QDragEnterEvent | QDragMoveEvent) -> list[Path]:
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    files = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
    return [p for p in files if p.suffix.lower() in PRIOR_SUFFIXES]


class PriorList(QListWidget):
    """The thumbnails; internal drags reorder, dropped image files are added.

    Signals
    -------
    files_dropped(list)
        Image files (``Path``) dropped from outside.
    order_changed()
        The user reordered the items by dragging.
    """

    files_dropped = Signal(list)
    order_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)  # drops reorder rows (no free placement)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setIconSize(QSize(THUMB_HEIGHT, THUMB_HEIGHT))
        self.setGridSize(QSize(THUMB_HEIGHT + 24, THUMB_HEIGHT + 28))
        self.setSpacing(2)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMinimumHeight(THUMB_HEIGHT + 36)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        if event.source() is not self and _local_image_files(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            return
        super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if event.source() is not self and _local_image_files(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            return
        super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        if event.source() is not self:
            files = _local_image_files(event)
            if files:
                event.setDropAction(Qt.DropAction.CopyAction)
                event.accept()
                self.files_dropped.emit(files)
            else:
                event.ignore()
            return
        before = self.paths()
        super().dropEvent(event)
        if self.paths() != before:
            self.order_changed.emit()

    def paths(self) -> list[Path]:
        """The items' files in display order."""
        return [Path(self.item(i).data(PATH_ROLE)) for i in range(self.count())]


class PriorGallery(QWidget):
    """The *Priors* dock: the current sample's prior images and prior text.

    Parameters
    ----------
    window
        The main window (its controller's ``dataset_opened`` / ``content_ready`` are
        followed; its sample view's prior strip and text are kept in step).
    editing
        The editing controller (its ``context`` has the sidecar and review store).

    Signals
    -------
    priors_changed(str)
        The priors of a sample were added, removed or reordered.
    prior_text_changed(str, str)
        A sample's prior-text override changed (id, effective text).
    """

    priors_changed = Signal(str)
    prior_text_changed = Signal(str, str)

    def __init__(self, window: MainWindow, editing: EditingController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.editing = editing
        self.dataset: Dataset | None = None
        self.sample_id: str | None = None
        self.priors_root: Path | None = None
        self.trashed: list[Path] = []

        self.title = QLabel("No sample")
        self.title.setToolTip("The prior images of the shown sample, in the order they are used")
        self.list = PriorList()
        self.list.setToolTip(
            "Prior images in use order (file-name order). Drag to reorder; drop image files here to add."
        )
        self.list.files_dropped.connect(self.add_files)
        self.list.order_changed.connect(self._apply_list_order)
        self.list.itemSelectionChanged.connect(self._update_buttons)

        def button(text: str, tip: str, slot: Any, icon: QIcon | None = None) -> QToolButton:
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.clicked.connect(lambda _checked=False: slot())
            return b

        self.add_button = button("Add…", "Copy image files into this sample's prior folder (as the last priors)",
                                 self.add_dialog)
        self.remove_button = button("Remove", "Move the selected prior to the sidecar trash (Delete)",
                                    self.remove_selected)
        self.restore_button = button("Restore", "Put the last removed prior back", self.restore_last)
        self.left_button = button("◀", "Use the selected prior earlier (renames files)", lambda: self.move_selected(-1))
        self.right_button = button("▶", "Use the selected prior later (renames files)", lambda: self.move_selected(+1))
        QShortcut(QKeySequence.StandardKey.Delete, self.list, self.remove_selected)

        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText("prior text")
        self.text_edit.setToolTip(
            "The prior text (category label) of this sample. Edits are stored as an override in "
            "the sidecar and used by File > Export manifest with priors."
        )
        self.text_edit.editingFinished.connect(lambda: self.set_prior_text(self.text_edit.text()))
        self.reset_text_button = button("Reset", "Drop the override and use the manifest's prior text",
                                        lambda: self.set_prior_text(None))
        self.text_note = QLabel()
        self.text_note.setStyleSheet("color: #c07000;")

        header = QHBoxLayout()
        header.setContentsMargins(2, 0, 2, 0)
        header.addWidget(self.title, 1)
        for b in (self.left_button, self.right_button, self.add_button, self.remove_button, self.restore_button):
            header.addWidget(b)
        text_row = QHBoxLayout()
        text_row.setContentsMargins(2, 0, 2, 0)
        label = QLabel("Prior text:")
        label.setBuddy(self.text_edit)
        text_row.addWidget(label)
        text_row.addWidget(self.text_edit, 1)
        text_row.addWidget(self.text_note)
        text_row.addWidget(self.reset_text_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.list, 1)
        layout.addLayout(text_row)
        self.setAcceptDrops(True)

        window.controller.dataset_opened.connect(self.set_dataset)
        window.controller.content_ready.connect(lambda content: self.set_sample(str(content.get("id") or "")))
        self._update_buttons()

    # -- model ------------------------------------------------------------------------
    def set_dataset(self, dataset: Dataset | None) -> None:
        """Follow a newly opened dataset (no sample shown until :meth:`set_sample`)."""
        self.dataset = dataset
        self.priors_root = priors_root_for(dataset) if dataset is not None else None
        self.trashed = []
        self.set_sample(None)

    def supported(self) -> bool:
        """Whether the open dataset has prior folders (ExtremeOcc-3D manifests)."""
        return self.dataset is not None and self.dataset.format == PRIOR_FORMAT

    def set_sample(self, sample_id: str | None) -> None:
        """Show the priors and prior text of ``sample_id`` (``None``: nothing)."""
        if self.supported() and sample_id and sample_id in set(self.dataset.ids()):
            self.sample_id = sample_id
            self.priors_root = priors_root_for(self.dataset, sample_id)
        else:
            self.sample_id = None
        self._reload()

    def priors(self) -> list[Path]:
        """The shown sample's prior files, in use order."""
        if self.sample_id is None or self.priors_root is None:
            return []
        return list_priors(self.priors_root, self.sample_id)

    def _sidecar(self) -> Path | None:
        ctx = self.editing.context
        return ctx.sidecar if ctx is not None else None

    def _review(self) -> Any:
        ctx = self.editing.context
        return ctx.review if ctx is not None else None

    def manifest_text(self) -> str:
        """The prior text the manifest gives the shown sample."""
        if self.dataset is None or self.sample_id is None:
            return ""
        sample = self.dataset.get(self.sample_id)
        return str(sample.text.get("prior_text") or "")

    def prior_text(self) -> str:
        """The effective prior text of the shown sample (the override, else the manifest's)."""
        review = self._review()
        override = review.prior_text(self.sample_id) if review is not None and self.sample_id else None
        return override if override is not None else self.manifest_text()

    # -- view -------------------------------------------------------------------------
    def _reload(self, select: Path | None = None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        files = self.priors()
        for path in files:
            item = QListWidgetItem(path.name)
            item.setData(PATH_ROLE, str(path))
            item.setToolTip(str(path))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsDragEnabled)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDropEnabled)
            try:
                item.setIcon(QIcon(thumbnail_pixmap(read_image(path), THUMB_HEIGHT)))
            except (OccStudioError, OSError, ValueError):
                item.setText(f"{path.name} (unreadable)")
            self.list.addItem(item)
            if select is not None and path == select:
                item.setSelected(True)
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        if self.dataset is not None and not self.supported():
            self.title.setText(f"No prior folders in {self.dataset.format} datasets")
        elif self.sample_id is None:
            self.title.setText("No sample")
        else:
            where = self.priors_root / self.sample_id if self.priors_root is not None else None
            self.title.setText(f"{len(files)} prior{'s' if len(files) != 1 else ''} of {self.sample_id}")
            self.title.setToolTip(f"Prior folder: {where}")
        self.text_edit.blockSignals(True)
        self.text_edit.setText(self.prior_text())
        self.text_edit.setCursorPosition(0)
        self.text_edit.blockSignals(False)
        self._update_text_note()
        self._update_buttons()

    def _update_text_note(self) -> None:
        review = self._review()
        overridden = review is not None and self.sample_id is not None and review.prior_text(self.sample_id) is not None
        self.text_note.setText("override" if overridden else "")
        self.text_note.setToolTip(f"The manifest says: {self.manifest_text()!r}" if overridden else "")
        self.reset_text_button.setEnabled(overridden)
        self.text_edit.setEnabled(self.sample_id is not None and review is not None)

    def _update_buttons(self) -> None:
        has_sample = self.sample_id is not None
        row = self.list.currentRow() if self.list.selectedItems() else -1
        self.add_button.setEnabled(has_sample)
        self.remove_button.setEnabled(has_sample and row >= 0)
        self.restore_button.setEnabled(bool(self.trashed))
        self.left_button.setEnabled(has_sample and row > 0)
        self.right_button.setEnabled(has_sample and 0 <= row < self.list.count() - 1)

    def _changed(self, select: Path | None = None) -> None:
        self._reload(select)
        self._sync_sample_view()
        if self.sample_id is not None:
            self.priors_changed.emit(self.sample_id)

    def _sync_sample_view(self) -> None:
        """Show the folder's priors in the sample view's prior strip too."""
        view = getattr(self.window, "sample_view", None)
        if view is None or self.sample_id is None or view.content_id() != self.sample_id:
            return
        images = []
        for path in self.priors():
            try:
                images.append((path.name, read_image(path)))
            except (OccStudioError, OSError):
                images.append((path.name, None))
        view.priors_strip.set_images(images, "No prior images")

    def _error(self, text: str) -> None:
        self.window.notifications.error(text)

    # -- actions ----------------------------------------------------------------------
    def add_dialog(self) -> list[Path]:
        """Ask for image files and add them as priors."""
        if self.sample_id is None:
            return []
        names, _ = QFileDialog.getOpenFileNames(self, f"Add priors to {self.sample_id}", "", IMAGE_FILTER)
        return self.add_files([Path(n) for n in names])

    def add_files(self, files: list[Path] | list[str]) -> list[Path]:
        """Copy ``files`` into the shown sample's prior folder, in order, as its last priors.

        Returns
        -------
        list of Path
            The new prior files (unreadable or non-image files are reported and skipped).
        """
        if self.sample_id is None or self.priors_root is None:
            return []
        added: list[Path] = []
        for src in files:
            try:
                added.append(add_prior(self.priors_root, self.sample_id, src))
            except (OccStudioError, OSError) as exc:
                self._error(f"Could not add a prior to {self.sample_id}: {exc}")
        if added:
            self.window.notifications.info(f"Added {len(added)} prior(s) to {self.sample_id}")
            self._changed(added[-1])
        return added

    def remove_selected(self) -> Path | None:
        """Move the selected prior to the sidecar trash; returns where it went."""
        row = self.list.currentRow() if self.list.selectedItems() else -1
        return self.remove_at(row) if row >= 0 else None

    def remove_at(self, row: int) -> Path | None:
        """Move the prior at ``row`` to the sidecar trash; returns where it went."""
        files = self.list.paths()
        sidecar = self._sidecar()
        if not 0 <= row < len(files) or sidecar is None:
            return None
        try:
            trashed = remove_prior(files[row], sidecar)
        except (OccStudioError, OSError) as exc:
            self._error(f"Could not remove {files[row].name}: {exc}")
            return None
        self.trashed.append(trashed)
        self.window.notifications.info(f"Moved {files[row].name} to {trashed.parent} (Restore puts it back)")
        self._changed()
        return trashed

    def restore_last(self) -> Path | None:
        """Put the last removed prior back where it was."""
        if not self.trashed:
            return None
        trashed = self.trashed[-1]
        try:
            restored = restore_prior(trashed)
        except (OccStudioError, OSError) as exc:
            self._error(f"Could not restore {trashed.name}: {exc}")
            return None
        self.trashed.pop()
        self._changed(restored)
        return restored

    def move_selected(self, delta: int) -> bool:
        """Move the selected prior ``delta`` places (renaming files)."""
        row = self.list.currentRow() if self.list.selectedItems() else -1
        return self.move(row, row + delta) if row >= 0 else False

    def move(self, row: int, new_row: int) -> bool:
        """Move the prior at ``row`` to position ``new_row``; renames files so name order follows."""
        files = self.list.paths()
        if not (0 <= row < len(files) and 0 <= new_row < len(files)) or row == new_row:
            return False
        moved = files.pop(row)
        files.insert(new_row, moved)
        return self.apply_order(files, moved)

    def apply_order(self, order: list[Path], select: Path | None = None) -> bool:
        """Rename the shown sample's priors so that name order is ``order``."""
        if self.sample_id is None or self.priors_root is None:
            return False
        index = [p.name for p in order].index(select.name) if select is not None else -1
        try:
            new_files = reorder_priors(self.priors_root, self.sample_id, order)
        except (OccStudioError, OSError) as exc:
            self._error(f"Could not reorder the priors of {self.sample_id}: {exc}")
            self._reload()
            return False
        self._changed(new_files[index] if index >= 0 else None)
        return True

    def _apply_list_order(self) -> None:
        current = self.list.currentItem()
        select = Path(current.data(PATH_ROLE)) if current is not None else None
        self.apply_order(self.list.paths(), select)

    def set_prior_text(self, text: str | None) -> None:
        """Override the shown sample's prior text (``None`` or the manifest's text: no override)."""
        review = self._review()
        if review is None or self.sample_id is None:
            return
        if text is not None and text == self.manifest_text():
            text = None
        try:
            review.set_prior_text(self.sample_id, text)
        except (OccStudioError, OSError) as exc:
            self._error(f"Could not store the prior text of {self.sample_id}: {exc}")
            return
        effective = self.prior_text()
        if self.text_edit.text() != effective:
            self.text_edit.setText(effective)
        self._update_text_note()
        view = getattr(self.window, "sample_view", None)
        if view is not None and view.content_id() == self.sample_id:
            view.prior_text_edit.setText(effective)
        self.prior_text_changed.emit(self.sample_id, effective)

    # -- export -----------------------------------------------------------------------
    def export_manifest(self, output: str | Path | None = None, allow_missing: bool = False) -> Path:
        """Write ``manifest_with_priors.json`` for the open dataset (RelaxFlow format).

        Parameters
        ----------
        output
            The file to write (default ``<dataset root>/manifest_with_priors.json``).
        allow_missing
            Keep samples without priors (unchanged) instead of failing.

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        DataError
            No ExtremeOcc-3D dataset is open, or the export failed (e.g. missing priors).
        """
        dataset = self.dataset
        if dataset is None or dataset.format != PRIOR_FORMAT:
            raise DataError(None, "open an ExtremeOcc-3D manifest to export a manifest with priors")
        priors_root = self.priors_root or priors_root_for(dataset)
        out = Path(output) if output is not None else Path(dataset.root) / MANIFEST_WITH_PRIORS
        review = self._review()
        overrides = review.prior_text_overrides() if review is not None else None
        return export_manifest_with_priors(dataset.source, priors_root, out, allow_missing, overrides)

    def export_dialog(self) -> Path | None:
        """File > Export manifest with priors…: choose the file, export, report."""
        dataset = self.dataset
        if dataset is None:
            self._error("Open a dataset before exporting a manifest with priors")
            return None
        default = str(Path(dataset.root) / MANIFEST_WITH_PRIORS)
        name, _ = QFileDialog.getSaveFileName(self.window, "Export manifest with priors", default,
                                              "JSON manifest (*.json);;JSON Lines (*.jsonl)")
        if not name:
            return None
        try:
            path = self.export_manifest(name)
        except DataError as exc:
            if "missing priors" not in str(exc):
                self._error(f"Export failed: {exc}")
                return None
            answer = QMessageBox.question(
                self.window, "Samples without priors",
                f"{exc}\n\nExport anyway, leaving those samples without prior_images?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return None
            try:
                path = self.export_manifest(name, allow_missing=True)
            except DataError as exc2:
                self._error(f"Export failed: {exc2}")
                return None
        self.window.notifications.info(f"Wrote {path}")
        return path

    # -- drops on the whole dock ------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        if _local_image_files(event) and self.sample_id is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        files = _local_image_files(event)
        if files:
            event.acceptProposedAction()
            self.add_files(files)
