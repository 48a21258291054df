"""Mask editing in the window: working masks, undo, save, autosave and crash recovery.

:class:`EditingController` is the glue between the Qt-free editing model
(:mod:`occstudio.core.edits`, :mod:`occstudio.core.persistence`,
:mod:`occstudio.io.mask_store`) and the window:

* **Working masks.** The first time a sample's content is shown, its editable mask
  layers (:class:`SampleMasks`) are taken from the scene pane (the array the pane shows
  *is* the working array, edited in place by :class:`~occstudio.gui.panes.mask_tools.MaskTools`).
  They are kept, keyed by sample id, together with the sample's
  :class:`~occstudio.core.edits.EditStack` while the sample has any history, so switching
  away and back keeps both the edit and its undo stack: the content loader delivers the
  original mask from disk, and :meth:`EditingController._on_content` substitutes the
  working one.
* **Layers.** A plain mask file is one layer, ``"mask"``. Amodal3R RGB masks (white
  background, grey visible part, black occluded part; see :func:`detect_mask_files`)
  and samples with a separate ``amodal_mask`` file have two layers, ``"visible"`` and
  ``"amodal"``: the active one is the pane's overlay, the other is outlined
  (:class:`~occstudio.gui.panes.mask_tools.LayerOverlay`), and a visible pixel outside
  the amodal mask is reported (:func:`~occstudio.core.edits.check_visible_inside_amodal`).
* **Saving** (Ctrl+S) goes through :func:`~occstudio.io.mask_store.save_mask` /
  :func:`~occstudio.io.mask_store.save_amodal3r_mask`: the file's own encoding, atomic,
  the original backed up once to ``<sidecar>/originals/``. *Revert to original* puts the
  backup back (or, before any save, the file as it is) as one undoable command.
* **Autosave.** Every change schedules a journal write
  (:class:`~occstudio.core.persistence.AutosaveJournal`) at most
  :func:`autosave_interval_ms` later (default 2 s, ``$OCCSTUDIO_AUTOSAVE_MS``); writes
  run on one background thread, in order, from copies taken on the GUI thread. A sample
  that becomes clean (saved, or undone back to its saved state) has its journal removed.
  When a dataset opens, journals left by a crash are offered for recovery; recovered
  masks come back as one undoable command each, dirty.
* **Dirty state** drives the ``*`` in the window title, the ● marker of the sample list
  and the save prompt on close (an event filter on the window) and on a dataset switch.

Prompts can be answered without a dialog (tests, scripts) through
:attr:`EditingController.auto_answers` or ``$OCCSTUDIO_AUTO_ANSWER``, e.g.
``"recovery=recover,unsaved=discard,revert=yes"``.

:func:`install_editing` builds all of it into a :class:`~occstudio.gui.main_window.MainWindow`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QLabel,
    QMenu,
    QMessageBox,
    QSpinBox,
    QToolBar,
    QWidget,
)

from occstudio.core.dataset import Dataset
from occstudio.core.edits import EditStacks, MaskEdit, check_visible_inside_amodal
from occstudio.core.errors import DataError, OccStudioError
from occstudio.core.persistence import (
    AutosaveJournal,
    JournalEntry,
    ReviewStore,
    backup_path,
    restore_original,
    sidecar_dir,
)
from occstudio.core.sample import Sample
from occstudio.gui import settings as app_settings
from occstudio.gui.panes.image_pane import ImagePane
from occstudio.gui.panes.mask_tools import RADII, LayerOverlay, MaskTools, refresh_overlay_region
from occstudio.io.images import image_size, read_image, read_mask
from occstudio.io.mask_store import (
    BACKGROUND,
    VISIBLE,
    amodal3r_classes,
    amodal3r_levels,
    read_amodal3r_mask,
    save_amodal3r_mask,
    save_mask,
)

if TYPE_CHECKING:  # pragma: no cover
    from occstudio.gui.main_window import MainWindow
    from occstudio.gui.panes.prior_gallery import PriorGallery

#: Environment variable: the autosave delay in milliseconds (tests use a short one).
AUTOSAVE_ENV = "OCCSTUDIO_AUTOSAVE_MS"
#: Environment variable: answers to prompts, ``"recovery=recover,unsaved=discard"``.
AUTO_ANSWER_ENV = "OCCSTUDIO_AUTO_ANSWER"
#: Default autosave delay (the journal is written at most this long after a change).
DEFAULT_AUTOSAVE_MS = 2000
#: Upper bound on the delay: the promise is "within 5 seconds of every change".
MAX_AUTOSAVE_MS = 5000
#: Undo commands kept per sample.
UNDO_CAP = 100
#: Memory the undo history of one sample may hold (the newest command is always kept).
UNDO_MAX_BYTES = 256 << 20
#: Layer names.
SINGLE_LAYER, VISIBLE_LAYER, AMODAL_LAYER = "mask", "visible", "amodal"
#: Keys of a sample's ``paths`` that hold a separate amodal (full-object) mask.
AMODAL_MASK_KEYS = ("amodal_mask", "amodal_segmentation")


def autosave_interval_ms() -> int:
    """The autosave delay: ``$OCCSTUDIO_AUTOSAVE_MS`` (clipped to 20..5000) or 2000."""
    text = os.environ.get(AUTOSAVE_ENV, "").strip()
    try:
        value = int(float(text)) if text else DEFAULT_AUTOSAVE_MS
    except ValueError:
        value = DEFAULT_AUTOSAVE_MS
    return int(np.clip(value, 20, MAX_AUTOSAVE_MS))


def parse_auto_answers(text: str | None) -> dict[str, str]:
    """``"recovery=recover, unsaved=discard"`` → ``{"recovery": "recover", "unsaved": "discard"}``."""
    answers: dict[str, str] = {}
    for part in (text or "").split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip() and value.strip():
            answers[key.strip().lower()] = value.strip().lower()
    return answers


# ---------------------------------------------------------------------- mask files


def looks_like_amodal3r(values: np.ndarray) -> bool:
    """Whether an RGB / grey pixel array is an Amodal3R-style three-class mask.

    The test: at least 99 % of the pixels are neutral grey (channels within 8 of each
    other), the background level is light (≥ 200) and at least 0.5 % (and 16) of the
    pixels are of the visible (grey ≈ 188) class. A 0/255 binary mask has no grey class
    and is not taken for one.
    """
    values = np.asarray(values)
    if values.dtype != np.uint8 or values.ndim not in (2, 3):
        return False
    if values.ndim == 3:
        if values.shape[2] not in (3, 4):
            return False
        colour = values[:, :, :3].astype(np.int16)
        neutral = (colour.max(axis=2) - colour.min(axis=2)) <= 8
        if neutral.mean() < 0.99:
            return False
    levels = amodal3r_levels(values)
    if levels[BACKGROUND] < 200:
        return False
    visible = int(np.count_nonzero(amodal3r_classes(values) == VISIBLE))
    return visible >= max(16, 0.005 * values.shape[0] * values.shape[1])


def detect_mask_files(sample: Sample, dataset: Dataset | None = None) -> tuple[str, dict[str, Path]]:
    """How a sample's mask is stored: the kind and the file of each layer.

    Returns
    -------
    tuple
        ``(kind, files)``: ``("binary", {"mask": path})`` for an ordinary mask file,
        ``("amodal3r", {"visible": path, "amodal": path})`` for an Amodal3R RGB mask
        (``mask_format == "amodal3r"`` in the sample's or the dataset's ``meta``, or an RGB file that
        :func:`looks_like_amodal3r`), ``("pair", {"visible": mask, "amodal": amodal})``
        when the sample has an ``amodal_mask`` file besides its ``mask``.

    Raises
    ------
    DataError
        The sample has no mask file to edit (the message says why).
    """
    path = sample.path("mask")
    if path is None:
        if dataset is not None and dataset.format == "amodal":
            raise DataError(None, f"{sample.id}: open-world amodal outputs are not editable (visible_seg.png is a "
                            "visualisation and amodal_segmentation.png is in crop coordinates)")
        raise DataError(None, f"sample {sample.id} has no mask file to edit")
    if not path.is_file():
        raise DataError(path, "the mask file does not exist; nothing to edit")
    for key in AMODAL_MASK_KEYS:
        amodal = sample.path(key)
        if amodal is not None and amodal.is_file():
            return "pair", {VISIBLE_LAYER: path, AMODAL_LAYER: amodal}
    dataset_meta = dataset.meta if dataset is not None else {}
    declared = str(
        sample.meta.get("mask_format") or sample.fields.get("mask_format") or dataset_meta.get("mask_format") or ""
    ).lower()
    if declared == "amodal3r":
        return "amodal3r", {VISIBLE_LAYER: path, AMODAL_LAYER: path}
    if declared in ("", "auto"):
        from PIL import Image

        try:
            with Image.open(path) as image:
                mode = image.mode
        except OSError:
            mode = ""
        if mode == "RGB" and looks_like_amodal3r(read_image(path)):
            return "amodal3r", {VISIBLE_LAYER: path, AMODAL_LAYER: path}
    return "binary", {SINGLE_LAYER: path}


def read_layers(kind: str, files: dict[str, Path]) -> dict[str, np.ndarray]:
    """The layers of a mask as stored on disk (bool arrays at the file's size).

    ``amodal3r``: ``visible`` and ``amodal = visible | occluded``; ``binary`` / ``pair``:
    :func:`~occstudio.io.images.read_mask` of each file.
    """
    if kind == "amodal3r":
        visible, occluded = read_amodal3r_mask(files[VISIBLE_LAYER])
        return {VISIBLE_LAYER: visible, AMODAL_LAYER: visible | occluded}
    return {name: read_mask(path) for name, path in files.items()}


def write_layers(kind: str, files: dict[str, Path], layers: dict[str, np.ndarray], root: Path, sidecar: Path) -> list[Path]:
    """Save the layers over their files (atomic, original backed up once, own encoding).

    An Amodal3R mask is written as ``visible`` and ``occluded = amodal & ~visible`` (a
    visible pixel outside the amodal mask stays visible).

    Returns
    -------
    list of Path
        The files (written, or already identical).

    Raises
    ------
    DataError
        Saving failed; the file on disk is unchanged.
    """
    if kind == "amodal3r":
        visible = layers[VISIBLE_LAYER]
        occluded = layers[AMODAL_LAYER] & ~visible
        return [save_amodal3r_mask(files[VISIBLE_LAYER], visible, occluded, root, sidecar)]
    return [save_mask(files[name], layers[name], root, sidecar) for name in files]


@dataclass
class DatasetContext:
    """Where one dataset's edits go: its root, sidecar, journal and review store."""

    dataset: Dataset
    root: Path
    sidecar: Path
    journal: AutosaveJournal
    review: ReviewStore | None

    @property
    def key(self) -> str:
        """The resolved root, which journal entries are matched on."""
        return str(self.root.resolve())


@dataclass
class SampleMasks:
    """The working mask layers of one sample.

    Attributes
    ----------
    sample_id
        The sample.
    kind
        ``binary``, ``amodal3r`` or ``pair`` (see :func:`detect_mask_files`).
    files
        The file of each layer.
    layers
        The working bool arrays by layer name (the active one is the array the pane shows).
    active
        The layer being edited.
    context
        The dataset the sample belongs to.
    """

    sample_id: str
    kind: str
    files: dict[str, Path]
    layers: dict[str, np.ndarray]
    active: str
    context: DatasetContext
    outside_amodal: int = 0

    @property
    def two_layers(self) -> bool:
        """Whether the sample has a visible and an amodal layer."""
        return VISIBLE_LAYER in self.layers and AMODAL_LAYER in self.layers

    def meta(self) -> dict[str, Any]:
        """What the autosave journal stores to find the sample again."""
        return {
            "dataset": str(self.context.dataset.source),
            "root": self.context.key,
            "kind": self.kind,
            "files": {name: str(path) for name, path in self.files.items()},
            "active": self.active,
        }


class EditingController(QObject):
    """Working masks, undo stacks, saving, autosave and recovery of one window.

    Parameters
    ----------
    window
        The main window (``controller``, ``sample_view.scene_pane``, ``browser``,
        ``notifications`` are used).

    Signals
    -------
    dirty_changed(str, bool)
        A sample became dirty (unsaved edits) or clean.
    mask_changed(str)
        A sample's working mask changed (edit, undo, redo, revert, recovery).
    state_changed()
        Something the actions' enabled state depends on changed.
    """

    dirty_changed = Signal(str, bool)
    mask_changed = Signal(str)
    state_changed = Signal()
    _background_error = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.controller = window.controller
        self.notifications = window.notifications
        self.browser = window.browser
        self.pane: ImagePane = window.sample_view.scene_pane
        self.stacks = EditStacks(cap=UNDO_CAP, max_bytes=UNDO_MAX_BYTES)
        self.states: dict[str, SampleMasks] = {}
        self.context: DatasetContext | None = None
        self.current_id: str | None = None
        self.not_editable_reason = ""
        self.auto_answers: dict[str, str] = parse_auto_answers(os.environ.get(AUTO_ANSWER_ENV))
        self.tools: MaskTools | None = None
        self.layer_overlay = LayerOverlay(self.pane)
        self._reason_shown = ""
        self._title_guard = False
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        self._autosave_pending: set[str] = set()
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(autosave_interval_ms())
        self._autosave_timer.timeout.connect(self.autosave_now)
        self._background_error.connect(lambda text: self.notifications.error(text))
        self._closing = False

        self.controller.dataset_opened.connect(self._on_dataset_opened)
        self.controller.content_ready.connect(self._on_content)
        window.windowTitleChanged.connect(self._title_changed)
        window.installEventFilter(self)

    # ------------------------------------------------------------------ queries
    def current_state(self) -> SampleMasks | None:
        """The working masks of the shown sample, or ``None`` when it is not editable."""
        return self.states.get(self.current_id) if self.current_id is not None else None

    def working_mask(self, sample_id: str | None = None, layer: str | None = None) -> np.ndarray | None:
        """A sample's working array of ``layer`` (default: its active layer), or ``None``."""
        sid = sample_id if sample_id is not None else self.current_id
        state = self.states.get(sid) if sid is not None else None
        if state is None:
            return None
        return state.layers.get(layer or state.active)

    def is_dirty(self, sample_id: str | None = None) -> bool:
        """Whether ``sample_id`` (default: any sample) has unsaved edits."""
        if sample_id is None:
            return bool(self.dirty_ids())
        stack = self.stacks.stacks.get(sample_id)
        return stack is not None and not stack.is_clean

    def dirty_ids(self) -> list[str]:
        """Samples with unsaved edits."""
        return [sid for sid in self.stacks.dirty_ids() if sid in self.states]

    def can_undo(self) -> bool:
        """Whether the shown sample has an edit to undo."""
        return self.current_id is not None and self.stacks.get(self.current_id).can_undo and self.current_id in self.states

    def can_redo(self) -> bool:
        """Whether the shown sample has an undone edit to redo."""
        return self.current_id is not None and self.stacks.get(self.current_id).can_redo and self.current_id in self.states

    # ------------------------------------------------------------------ EditTarget
    def editable_array(self) -> tuple[np.ndarray, str | None] | None:
        """The array the tools edit: the shown sample's active layer (see :class:`MaskTools`)."""
        state = self.current_state()
        if state is None:
            reason = self.not_editable_reason or "No editable mask is shown"
            if reason != self._reason_shown:
                self._reason_shown = reason
                self.notifications.warning(reason)
            return None
        self._ensure_shown(state)
        return state.layers[state.active], state.active

    def commit_edit(self, edit: MaskEdit) -> None:
        """Record a finished tool command on the shown sample's undo stack."""
        if self.current_id is None or self.current_id not in self.states:
            return
        self.stacks.get(self.current_id).push(edit)
        self._after_change(self.current_id)

    # ------------------------------------------------------------------ dataset / content
    def _on_dataset_opened(self, dataset: Dataset) -> None:
        if self.tools is not None:
            self.tools.cancel()
        leftover = self.dirty_ids()
        if leftover:
            self._resolve_leftovers(leftover)
        self.flush_autosave()
        self.states.clear()
        self.stacks = EditStacks(cap=UNDO_CAP, max_bytes=UNDO_MAX_BYTES)
        self.current_id = None
        self.not_editable_reason = ""
        self._reason_shown = ""
        self.layer_overlay.set_mask(None)
        root = Path(dataset.root)
        try:
            sidecar = sidecar_dir(root, create=False)
        except OccStudioError as exc:  # pragma: no cover (create=False does not touch disk)
            self.notifications.error(str(exc))
            self.context = None
            return
        review: ReviewStore | None
        try:
            review = ReviewStore(sidecar)
        except DataError as exc:
            self.notifications.error(f"Review status unavailable: {exc}")
            review = None
        self.context = DatasetContext(dataset, root, sidecar, AutosaveJournal(sidecar), review)
        self._update_title()
        self.state_changed.emit()
        QTimer.singleShot(0, self.offer_recovery)

    def _resolve_leftovers(self, ids: list[str]) -> None:
        """The previous dataset still has unsaved edits (its opening was not guarded)."""
        answer = self._ask(
            "unsaved",
            "Unsaved mask edits",
            f"The previous dataset has unsaved mask edits in {len(ids)} sample(s).",
            "Save them now, discard them, or keep them in the autosave journal "
            "(offered for recovery when that dataset is opened again).",
            [("save", "Save", QMessageBox.ButtonRole.AcceptRole),
             ("discard", "Discard", QMessageBox.ButtonRole.DestructiveRole),
             ("keep", "Keep for recovery", QMessageBox.ButtonRole.RejectRole)],
            default="keep",
        )
        if answer == "save":
            for sid in ids:
                self.save(sid)
        elif answer == "discard":
            self._discard(ids)
        else:
            self._autosave_pending.update(ids)

    def _on_content(self, content: dict[str, Any]) -> None:
        sample_id = str(content.get("id") or "")
        if self.tools is not None:
            self.tools.cancel()
        previous = self.current_id
        if previous is not None and previous != sample_id:
            self._release(previous)
        self.current_id = sample_id or None
        self.not_editable_reason = ""
        self._reason_shown = ""
        state = self.states.get(sample_id)
        if state is None:
            state = self._build_state(sample_id, content)
        if state is not None:
            self._show_state(state, content)
        else:
            self.layer_overlay.set_mask(None)
        self.state_changed.emit()

    def _release(self, sample_id: str) -> None:
        """Forget a sample's working mask when it has no history (reloading gives the same)."""
        stack = self.stacks.stacks.get(sample_id)
        if stack is not None and (len(stack) or not stack.is_clean):
            return
        self.states.pop(sample_id, None)
        self.stacks.discard(sample_id)

    def _build_state(self, sample_id: str, content: dict[str, Any]) -> SampleMasks | None:
        ctx = self.context
        dataset = self.controller.document.dataset
        if ctx is None or dataset is None or sample_id not in set(dataset.ids()):
            self.not_editable_reason = "No dataset is open"
            return None
        sample = dataset.get(sample_id)
        if content.get("image") is None or not self.pane.has_image():
            self.not_editable_reason = f"{sample_id}: no image to paint on"
            return None
        try:
            kind, files = detect_mask_files(sample, dataset)
            shape = self.pane.image().shape[:2]
            if kind == "binary":
                width, height = image_size(files[SINGLE_LAYER])
                if (height, width) != shape:
                    raise DataError(
                        files[SINGLE_LAYER],
                        f"the mask is {width}×{height} but the image is {shape[1]}×{shape[0]}; "
                        "masks can only be edited at the image's size",
                    )
                # the ExtremeOcc content loader shows read_mask(file) itself: adopt the pane's
                # array; for other formats read the file (what is shown may be derived)
                shown = self.pane.mask()
                trusted = shown is not None and dataset.format == "extremeocc"
                layers = {SINGLE_LAYER: shown if trusted else read_mask(files[SINGLE_LAYER])}
            else:
                layers = read_layers(kind, files)
                for name, array in layers.items():
                    if array.shape != shape:
                        raise DataError(
                            files[name],
                            f"the {name} mask is {array.shape[1]}×{array.shape[0]} but the image is "
                            f"{shape[1]}×{shape[0]}; masks can only be edited at the image's size",
                        )
        except OccStudioError as exc:
            self.not_editable_reason = f"Cannot edit the mask of {sample_id}: {exc}"
            return None
        active = SINGLE_LAYER if kind == "binary" else VISIBLE_LAYER
        state = SampleMasks(sample_id, kind, files, layers, active, ctx)
        self.states[sample_id] = state
        return state

    def _show_state(self, state: SampleMasks, content: dict[str, Any] | None = None) -> None:
        """Make the pane show (and thereby edit) the state's active layer."""
        array = state.layers[state.active]
        if self.pane.mask() is not array:
            self.pane.set_mask(array)
            shown = self.pane.mask()
            if shown is not None and shown.shape == array.shape:
                state.layers[state.active] = shown
        # (a dict sent through a Qt signal arrives as a copy: update both)
        for shown_content in (content, self.controller.content):
            if shown_content is not None and shown_content.get("id") == state.sample_id:
                shown_content["mask"] = state.layers[state.active]
        other = [name for name in state.layers if name != state.active]
        self.layer_overlay.set_mask(state.layers[other[0]] if other else None)
        self._check_layers(state, notify=False)

    def _ensure_shown(self, state: SampleMasks) -> None:
        if self.pane.mask() is not state.layers[state.active]:
            self._show_state(state)

    # ------------------------------------------------------------------ layers
    def set_active_layer(self, name: str) -> bool:
        """Edit layer ``name`` (``visible`` / ``amodal``) of the shown sample.

        Returns
        -------
        bool
            ``False`` when the shown sample has no such layer.
        """
        state = self.current_state()
        if state is None or name not in state.layers:
            return False
        if self.tools is not None:
            self.tools.cancel()
        if state.active != name:
            self._ensure_shown(state)
            state.active = name
            self._show_state(state)
            self.state_changed.emit()
        return True

    def _check_layers(self, state: SampleMasks, notify: bool = True) -> int:
        """Count visible pixels outside the amodal mask and show the warning."""
        if not state.two_layers:
            return 0
        count = check_visible_inside_amodal(state.layers[VISIBLE_LAYER], state.layers[AMODAL_LAYER])
        if count and notify and not state.outside_amodal:
            self.notifications.warning(
                f"{state.sample_id}: {count} visible pixel(s) lie outside the amodal mask"
            )
        state.outside_amodal = count
        if state.sample_id == self.current_id:
            if count:
                self.pane.set_note(
                    f"{count} visible px outside amodal",
                    "The visible part of an object must lie inside its amodal (full-object) mask",
                )
            elif self.pane.note().endswith("outside amodal"):
                self.pane.set_note("")
        return count

    # ------------------------------------------------------------------ undo / redo
    def undo(self) -> bool:
        """Undo the last command of the shown sample. Returns whether one was undone."""
        return self._step(undo=True)

    def redo(self) -> bool:
        """Redo the last undone command of the shown sample."""
        return self._step(undo=False)

    def _step(self, undo: bool) -> bool:
        state = self.current_state()
        if state is None:
            return False
        if self.tools is not None:
            self.tools.cancel()
        self._ensure_shown(state)
        stack = self.stacks.get(state.sample_id)
        edit = stack.undo(state.layers) if undo else stack.redo(state.layers)
        if edit is None:
            return False
        self._refresh(state, edit)
        self._after_change(state.sample_id)
        return True

    def _refresh(self, state: SampleMasks, edit: MaskEdit | None) -> None:
        if state.sample_id != self.current_id:
            return
        if edit is None:
            self.pane.refresh_overlay()
            self.layer_overlay.refresh()
        elif edit.layer in (None, state.active):
            refresh_overlay_region(self.pane, edit.bbox)
        else:
            self.layer_overlay.refresh()

    def _after_change(self, sample_id: str) -> None:
        state = self.states.get(sample_id)
        if state is not None:
            self._check_layers(state)
        self._update_dirty(sample_id)
        self._schedule_autosave(sample_id)
        self.mask_changed.emit(sample_id)
        self.state_changed.emit()

    # ------------------------------------------------------------------ dirty state
    def _update_dirty(self, sample_id: str) -> None:
        dirty = self.is_dirty(sample_id)
        self.browser.set_dirty(sample_id, dirty)
        self._update_title()
        self.dirty_changed.emit(sample_id, dirty)

    def _update_title(self) -> None:
        title = self.window.windowTitle()
        base = title[2:] if title.startswith("* ") else title
        wanted = f"* {base}" if self.dirty_ids() else base
        if wanted != title:
            self._title_guard = True
            try:
                self.window.setWindowTitle(wanted)
            finally:
                self._title_guard = False

    def _title_changed(self, _title: str) -> None:
        if not self._title_guard:
            self._update_title()

    # ------------------------------------------------------------------ saving
    def save(self, sample_id: str | None = None) -> bool:
        """Save a sample's mask (default: the shown sample) over its file.

        Returns
        -------
        bool
            ``True`` when saved (or nothing to save), ``False`` when saving failed (the
            error is shown; the file is unchanged).
        """
        sid = sample_id if sample_id is not None else self.current_id
        state = self.states.get(sid) if sid is not None else None
        if state is None:
            return True
        if self.tools is not None and sid == self.current_id:
            self.tools.cancel()
        stack = self.stacks.get(state.sample_id)
        if stack.is_clean:
            return True
        if state.two_layers and self._check_layers(state, notify=False):
            self.notifications.warning(
                f"{sid}: saved with {state.outside_amodal} visible pixel(s) outside the amodal mask"
            )
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            written = write_layers(state.kind, state.files, state.layers, state.context.root, state.context.sidecar)
        except (OccStudioError, OSError) as exc:
            self.notifications.error(f"Could not save the mask of {sid}: {exc}")
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        stack.mark_clean()
        self._autosave_pending.discard(state.sample_id)
        self._submit(state.context.journal.discard, state.sample_id)
        self._update_dirty(state.sample_id)
        self.state_changed.emit()
        names = ", ".join(p.name for p in written)
        self.notifications.info(f"Saved {names} ({sid}); the original is kept in {state.context.sidecar / 'originals'}")
        return True

    def save_all(self) -> bool:
        """Save every sample with unsaved edits; ``False`` if any failed."""
        ok = True
        for sid in list(self.dirty_ids()):
            ok = self.save(sid) and ok
        return ok

    def revert_to_original(self, sample_id: str | None = None, confirm: bool = True) -> bool:
        """Put a sample's mask back as it was before occstudio first saved it.

        The file is restored from ``<sidecar>/originals/`` when a backup exists; the
        working mask becomes the file's content as one undoable command, and the sample
        is clean.

        Returns
        -------
        bool
            Whether the revert was done.
        """
        sid = sample_id if sample_id is not None else self.current_id
        state = self.states.get(sid) if sid is not None else None
        if state is None:
            if sid is not None:
                self.notifications.warning(self.not_editable_reason or f"{sid} has no editable mask")
            return False
        ctx = state.context
        files = sorted(set(state.files.values()))
        backups = [p for p in files if _has_backup(p, ctx)]
        if confirm:
            where = "restored from the backup made before the first save" if backups else "re-read from disk"
            answer = self._ask(
                "revert", "Revert to original",
                f"Revert the mask of {sid} to the original?",
                f"The file is {where}. Unsaved edits are dropped (Undo brings them back).",
                [("yes", "Revert", QMessageBox.ButtonRole.DestructiveRole),
                 ("no", "Cancel", QMessageBox.ButtonRole.RejectRole)],
                default="no",
            )
            if answer != "yes":
                return False
        if self.tools is not None and sid == self.current_id:
            self.tools.cancel()
        if sid == self.current_id:
            self._ensure_shown(state)
        try:
            for path in backups:
                restore_original(path, ctx.root, ctx.sidecar)
            disk = read_layers(state.kind, state.files)
        except (OccStudioError, OSError) as exc:
            self.notifications.error(f"Could not revert {sid}: {exc}")
            return False
        stack = self.stacks.get(state.sample_id)
        edits = []
        for name, original in disk.items():
            current = state.layers[name]
            if original.shape != current.shape:
                self.notifications.error(f"Could not revert {sid}: the {name} mask on disk has another size")
                return False
            edit = MaskEdit.from_change(current, original, layer=name)
            if edit is not None:
                edit.apply(current)
                edits.append(edit)
        for edit in edits:
            stack.push(edit)
        stack.mark_clean()
        self._autosave_pending.discard(state.sample_id)
        self._submit(ctx.journal.discard, state.sample_id)
        self._refresh(state, None)
        self._after_change(state.sample_id)
        self._autosave_pending.discard(state.sample_id)
        self.notifications.info(
            f"Reverted {sid} to the original" + (" (file restored from the backup)" if backups else "")
        )
        return True

    # ------------------------------------------------------------------ prompts
    def _ask(
        self,
        key: str,
        title: str,
        text: str,
        informative: str,
        buttons: list[tuple[str, str, QMessageBox.ButtonRole]],
        default: str,
        details: str = "",
    ) -> str:
        """Ask the user (or take :attr:`auto_answers` ``[key]``); returns the answer key."""
        if key in self.auto_answers:
            return self.auto_answers[key]
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(title)
        box.setText(text)
        box.setInformativeText(informative)
        if details:
            box.setDetailedText(details)
        mapping = {}
        for answer, label, role in buttons:
            button = box.addButton(label, role)
            mapping[button] = answer
            if answer == default:
                box.setDefaultButton(button)
            if role == QMessageBox.ButtonRole.RejectRole:
                box.setEscapeButton(button)
        box.setObjectName(f"editing_prompt_{key}")
        box.exec()
        return mapping.get(box.clickedButton(), default)

    def maybe_save(self, reason: str = "continue") -> bool:
        """Ask to save unsaved edits before ``reason`` (closing, opening another dataset).

        Returns
        -------
        bool
            ``True`` to go on (saved or discarded), ``False`` to stop (cancelled, or a
            save failed).
        """
        ids = self.dirty_ids()
        if not ids:
            return True
        shown = "\n".join(f"• {sid}" for sid in ids[:15]) + (f"\n… and {len(ids) - 15} more" if len(ids) > 15 else "")
        answer = self._ask(
            "unsaved", "Unsaved mask edits",
            f"{len(ids)} sample(s) have unsaved mask edits. Save them before you {reason}?",
            shown,
            [("save", "Save all", QMessageBox.ButtonRole.AcceptRole),
             ("discard", "Discard", QMessageBox.ButtonRole.DestructiveRole),
             ("cancel", "Cancel", QMessageBox.ButtonRole.RejectRole)],
            default="cancel",
        )
        if answer == "save":
            return self.save_all()
        if answer == "discard":
            self._discard(ids)
            return True
        return False

    def _discard(self, ids: list[str]) -> None:
        """Drop the unsaved edits (and autosaves) of ``ids``; the files are untouched."""
        for sid in ids:
            state = self.states.get(sid)
            self._autosave_pending.discard(sid)
            if state is not None:
                self._submit(state.context.journal.discard, sid)
                if sid == self.current_id:
                    try:
                        disk = read_layers(state.kind, state.files)
                    except (OccStudioError, OSError):
                        disk = {}
                    for name, array in disk.items():
                        if array.shape == state.layers[name].shape:
                            state.layers[name][...] = array
                    self._refresh(state, None)
            self.stacks.discard(sid)
            if sid != self.current_id:
                self.states.pop(sid, None)
            self.browser.set_dirty(sid, False)
        self._update_title()
        self.state_changed.emit()

    # ------------------------------------------------------------------ recovery
    def pending_recovery(self) -> list[JournalEntry]:
        """Autosaves of the open dataset left behind by a crash (or kept on purpose)."""
        ctx = self.context
        if ctx is None or not ctx.journal.folder.is_dir():
            return []
        ids = set(ctx.dataset.ids())
        entries = [
            e for e in ctx.journal.pending()
            if e.meta.get("root") == ctx.key and e.sample_id in ids
        ]
        for problem in ctx.journal.problems:
            self.notifications.warning(problem)
        return entries

    def offer_recovery(self) -> int:
        """Offer to recover the open dataset's autosaved edits. Returns how many were recovered."""
        entries = self.pending_recovery()
        if not entries:
            return 0
        lines = [
            f"• {e.sample_id} (autosaved {datetime.fromtimestamp(e.saved_at):%Y-%m-%d %H:%M:%S})" for e in entries
        ]
        answer = self._ask(
            "recovery", "Recover unsaved edits",
            f"occstudio found unsaved mask edits of {len(entries)} sample(s) from a previous session "
            "that did not end normally.",
            "Recover them (they come back as unsaved edits), discard them, or decide later.\n\n"
            + "\n".join(lines[:12]) + (f"\n… and {len(lines) - 12} more" if len(lines) > 12 else ""),
            [("recover", "Recover", QMessageBox.ButtonRole.AcceptRole),
             ("discard", "Discard", QMessageBox.ButtonRole.DestructiveRole),
             ("later", "Later", QMessageBox.ButtonRole.RejectRole)],
            default="later",
            details="\n".join(lines),
        )
        if answer == "discard":
            for entry in entries:
                self._submit(self.context.journal.discard, entry.sample_id)  # type: ignore[union-attr]
            return 0
        if answer != "recover":
            return 0
        recovered = sum(1 for entry in entries if self.recover_entry(entry))
        if recovered:
            self.notifications.info(f"Recovered unsaved edits of {recovered} sample(s); save them with Ctrl+S")
        return recovered

    def recover_entry(self, entry: JournalEntry) -> bool:
        """Bring one autosave back as an unsaved (undoable) change of its sample."""
        ctx = self.context
        if ctx is None:
            return False
        sid = entry.sample_id
        try:
            sample = ctx.dataset.get(sid)
            kind, files = detect_mask_files(sample, ctx.dataset)
            saved_files = entry.meta.get("files") or {}
            if {k: Path(v).resolve() for k, v in files.items()} != {k: Path(v).resolve() for k, v in saved_files.items()}:
                raise DataError(entry.path, f"the autosave of {sid} is for other mask files ({saved_files})")
            disk = read_layers(kind, files)
            arrays = ctx.journal.recover(entry)
            for name, array in disk.items():
                if name not in arrays or arrays[name].shape != array.shape:
                    raise DataError(entry.path, f"the autosave of {sid} does not match its {name} mask's size")
        except (OccStudioError, OSError, KeyError) as exc:
            self.notifications.error(f"Could not recover {sid}: {exc}")
            return False
        existing = self.states.get(sid)
        stack = self.stacks.get(sid)
        if existing is not None and len(stack):
            self.notifications.warning(f"{sid} was edited already; its autosave was not recovered")
            return False
        active = str(entry.meta.get("active") or "")
        if active not in disk:
            active = SINGLE_LAYER if kind == "binary" else VISIBLE_LAYER
        state = SampleMasks(sid, kind, files, {k: v.copy() for k, v in disk.items()}, active, ctx)
        edits = []
        for name, working in state.layers.items():
            edit = MaskEdit.from_change(working, np.asarray(arrays[name]).astype(bool), layer=name)
            if edit is not None:
                edit.apply(working)
                edits.append(edit)
        if not edits:
            self._submit(ctx.journal.discard, sid)
            return False
        for edit in edits:
            stack.push(edit)
        self.states[sid] = state
        if sid == self.current_id:
            self._show_state(state)
        self._check_layers(state, notify=False)
        self._update_dirty(sid)
        self.mask_changed.emit(sid)
        self.state_changed.emit()
        return True

    # ------------------------------------------------------------------ autosave
    def _schedule_autosave(self, sample_id: str) -> None:
        self._autosave_pending.add(sample_id)
        if not self._autosave_timer.isActive():
            self._autosave_timer.start()

    def autosave_now(self) -> int:
        """Write the journal of every sample changed since the last autosave (in the
        background); clean samples have theirs removed. Returns how many were queued."""
        pending = sorted(self._autosave_pending)
        self._autosave_pending.clear()
        queued = 0
        for sid in pending:
            state = self.states.get(sid)
            if state is None:
                continue
            journal = state.context.journal
            if self.is_dirty(sid):
                snapshot = {name: array.copy() for name, array in state.layers.items()}
                self._submit(journal.write, sid, snapshot, state.meta())
            else:
                self._submit(journal.discard, sid)
            queued += 1
        return queued

    def flush_autosave(self, timeout: float = 30.0) -> None:
        """Write pending autosaves now and wait until every queued write is done."""
        self._autosave_timer.stop()
        self.autosave_now()
        self._wait_background(timeout)

    def _submit(self, func: Callable[..., Any], *args: Any) -> Future | None:
        with self._executor_lock:
            if self._executor is None:
                if self._closing:
                    try:
                        func(*args)
                    except Exception as exc:  # noqa: BLE001
                        self.notifications.error(f"Autosave failed: {exc}")
                    return None
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="occstudio-autosave")
            return self._executor.submit(self._run_background, func, *args)

    def _run_background(self, func: Callable[..., Any], *args: Any) -> Any:
        try:
            return func(*args)
        except Exception as exc:  # noqa: BLE001 (reported in the window, never lost silently)
            self._background_error.emit(f"Autosave failed: {exc}")
            return None

    def _wait_background(self, timeout: float = 30.0) -> None:
        with self._executor_lock:
            executor = self._executor
        if executor is not None:
            executor.submit(lambda: None).result(timeout=timeout)

    def shutdown(self) -> None:
        """Finish queued autosave work and stop the background thread."""
        self._autosave_timer.stop()
        if self.dirty_ids():
            self.autosave_now()
        with self._executor_lock:
            executor, self._executor = self._executor, None
            self._closing = True
        if executor is not None:
            executor.shutdown(wait=True)

    # ------------------------------------------------------------------ close guard
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if watched is self.window and event.type() == QEvent.Type.Close:
            if self.tools is not None:
                self.tools.cancel()
            if not self.maybe_save("quit"):
                event.ignore()
                return True
            self.shutdown()
        return False


def _has_backup(path: Path, ctx: DatasetContext) -> bool:
    try:
        return backup_path(path, ctx.root, ctx.sidecar).is_file()
    except OccStudioError:
        return False


# ---------------------------------------------------------------------- installation


@dataclass
class EditingUi:
    """The widgets and actions :func:`install_editing` created (for tests and the window)."""

    actions: dict[str, QAction]
    toolbar: QToolBar
    edit_menu: QMenu
    tools_menu: QMenu
    radius_spin: QSpinBox
    layer_combo: QComboBox
    status_label: QLabel
    docks: dict[str, QDockWidget]


def _menu_named(window: QWidget, text: str) -> QMenu | None:
    for action in window.menuBar().actions():
        menu = action.menu()
        if menu is not None and action.text().replace("&", "") == text:
            return menu
    return None


def _action(parent: QObject, name: str, text: str, tip: str, shortcut: Any = None,
            slot: Callable[[], Any] | None = None) -> QAction:
    action = QAction(text, parent)
    action.setObjectName(f"action_{name}")
    if shortcut is not None:
        seq = QKeySequence(shortcut)
        action.setShortcut(seq)
        tip = f"{tip} ({seq.toString(QKeySequence.SequenceFormat.NativeText)})"
    action.setToolTip(tip)
    action.setStatusTip(tip)
    if slot is not None:
        action.triggered.connect(lambda _checked=False: slot())
    return action


def install_editing(window: MainWindow) -> EditingController:
    """Add mask editing, the prior gallery and review status to a main window.

    Creates the :class:`EditingController` (``window.editing_ui`` holds the widgets), the
    mask tools on the scene pane, the *Mask editing* toolbar, the **Edit** menu (Undo
    Ctrl+Z, Redo Ctrl+Shift+Z, Save mask Ctrl+S, Save all masks, Revert to original),
    the **Tools** menu (Navigate H, Brush B, Eraser E, Polygon P, Fill F, brush size
    ``[`` / ``]``, switch layer L), *File > Export manifest with priors…*, and the
    *Priors* and *Review* docks. The save prompt on close is an event filter on the
    window.

    Returns
    -------
    EditingController
    """
    from occstudio.gui.docks.review import ReviewPanel
    from occstudio.gui.panes.prior_gallery import PriorGallery

    editing = EditingController(window)
    tools = MaskTools(editing.pane, editing, editing)
    editing.tools = tools

    a: dict[str, QAction] = {}
    a["undo"] = _action(window, "undo", "&Undo", "Undo the last mask edit of this sample",
                        QKeySequence.StandardKey.Undo, editing.undo)
    a["redo"] = _action(window, "redo", "&Redo", "Redo the last undone mask edit", "Ctrl+Shift+Z", editing.redo)
    a["save_mask"] = _action(window, "save_mask", "&Save mask", "Save this sample's mask over its file "
                             "(the original is backed up once)", QKeySequence.StandardKey.Save, editing.save)
    a["save_all_masks"] = _action(window, "save_all_masks", "Save &all masks", "Save every sample with unsaved edits",
                                  "Ctrl+Alt+S", editing.save_all)
    a["revert_mask"] = _action(window, "revert_mask", "Re&vert to original",
                               "Put this sample's mask back as it was before occstudio first saved it",
                               None, editing.revert_to_original)
    group = QActionGroup(window)
    group.setExclusive(True)
    for name, text, key, tip in (
        ("navigate", "&Navigate", "H", "Pan and zoom only"),
        ("brush", "&Brush", "B", "Paint the mask (Shift erases)"),
        ("eraser", "&Eraser", "E", "Erase the mask (Shift paints)"),
        ("polygon", "&Polygon", "P", "Click vertices, Enter fills, Backspace removes the last, Esc cancels"),
        ("fill", "&Fill", "F", "Fill the contiguous region under the cursor (Shift clears it)"),
    ):
        action = _action(window, f"tool_{name}", text, tip, key, lambda n=name: tools.set_tool(n))
        action.setCheckable(True)
        action.setChecked(name == "navigate")
        group.addAction(action)
        a[f"tool_{name}"] = action
    a["brush_larger"] = _action(window, "brush_larger", "Larger brush", "Brush radius up", "]", tools.grow_brush)
    a["brush_smaller"] = _action(window, "brush_smaller", "Smaller brush", "Brush radius down", "[", tools.shrink_brush)
    a["switch_layer"] = _action(window, "switch_layer", "Switch &layer", "Edit the other layer (visible / amodal)",
                                "L", lambda: _toggle_layer(editing))
    for action in a.values():
        window.addAction(action)  # shortcuts work even when the menus are hidden

    edit_menu = QMenu("&Edit", window)
    edit_menu.addActions([a["undo"], a["redo"]])
    edit_menu.addSeparator()
    edit_menu.addActions([a["save_mask"], a["save_all_masks"], a["revert_mask"]])
    tools_menu = QMenu("&Tools", window)
    tools_menu.addActions([a[f"tool_{n}"] for n in ("navigate", "brush", "eraser", "polygon", "fill")])
    tools_menu.addSeparator()
    tools_menu.addActions([a["brush_larger"], a["brush_smaller"], a["switch_layer"]])
    bar = window.menuBar()
    view_menu = _menu_named(window, "View")
    before = view_menu.menuAction() if view_menu is not None else None
    if before is not None:
        bar.insertMenu(before, edit_menu)
        bar.insertMenu(before, tools_menu)
    else:
        bar.addMenu(edit_menu)
        bar.addMenu(tools_menu)

    toolbar = QToolBar("Mask editing", window)
    toolbar.setObjectName("toolbar_mask_editing")
    toolbar.addActions([a[f"tool_{n}"] for n in ("navigate", "brush", "eraser", "polygon", "fill")])
    toolbar.addSeparator()
    toolbar.addWidget(QLabel(" Radius "))
    radius_spin = QSpinBox()
    radius_spin.setRange(0, RADII[-1])
    radius_spin.setSuffix(" px")
    radius_spin.setValue(tools.radius)
    radius_spin.setToolTip("Brush radius in image pixels ([ and ] change it)")
    radius_spin.valueChanged.connect(tools.set_radius)
    tools.radius_changed.connect(radius_spin.setValue)
    toolbar.addWidget(radius_spin)
    toolbar.addWidget(QLabel(" Layer "))
    layer_combo = QComboBox()
    layer_combo.setToolTip("The mask layer being edited (L switches)")
    layer_combo.activated.connect(lambda i: editing.set_active_layer(layer_combo.itemData(i)))
    toolbar.addWidget(layer_combo)
    toolbar.addSeparator()
    toolbar.addActions([a["undo"], a["redo"], a["save_mask"]])
    status_label = QLabel()
    status_label.setObjectName("editing_status")
    status_label.setContentsMargins(8, 0, 0, 0)
    toolbar.addWidget(status_label)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

    docks: dict[str, QDockWidget] = {}
    gallery = PriorGallery(window, editing)
    review = ReviewPanel(window, editing)
    for name, title, widget, area in (
        ("priors", "Priors", gallery, Qt.DockWidgetArea.BottomDockWidgetArea),
        ("review", "Review", review, Qt.DockWidgetArea.LeftDockWidgetArea),
    ):
        dock = QDockWidget(title, window)
        dock.setObjectName(f"dock_{name}")
        dock.setWidget(widget)
        window.addDockWidget(area, dock)
        docks[name] = dock
        window.docks[name] = dock
    if "log" in window.docks:
        window.tabifyDockWidget(window.docks["log"], docks["priors"])
    if "samples" in window.docks:
        window.splitDockWidget(window.docks["samples"], docks["review"], Qt.Orientation.Vertical)
    docks["priors"].raise_()

    a["export_priors_manifest"] = _action(window, "export_priors_manifest", "Export manifest with &priors…",
                                          "Write manifest_with_priors.json (RelaxFlow format) with the priors "
                                          "and prior-text overrides", None, gallery.export_dialog)
    file_menu = _menu_named(window, "File")
    if file_menu is not None:
        anchor = getattr(window, "actions", {}).get("export_metrics")
        items = file_menu.actions()
        if anchor in items and items.index(anchor) + 1 < len(items):
            file_menu.insertAction(items[items.index(anchor) + 1], a["export_priors_manifest"])
        else:
            file_menu.addAction(a["export_priors_manifest"])
    if view_menu is not None:
        view_menu.addSeparator()
        view_menu.addAction(toolbar.toggleViewAction())
        for dock in docks.values():
            view_menu.addAction(dock.toggleViewAction())
    state = app_settings.app_settings().value("window/state")
    if state is not None:
        window.restoreState(state)  # place the new docks and toolbar as the user left them
    _hide_priors_dock_without_priors(window, docks["priors"], gallery)

    def refresh_ui() -> None:
        a["undo"].setEnabled(editing.can_undo())
        a["redo"].setEnabled(editing.can_redo())
        current = editing.current_state()
        a["save_mask"].setEnabled(current is not None and editing.is_dirty(current.sample_id))
        a["save_all_masks"].setEnabled(editing.is_dirty())
        a["revert_mask"].setEnabled(current is not None)
        layer_combo.blockSignals(True)
        layer_combo.clear()
        if current is not None:
            for name in current.layers:
                layer_combo.addItem(name, name)
            layer_combo.setCurrentIndex(layer_combo.findData(current.active))
        layer_combo.setEnabled(current is not None and current.two_layers)
        layer_combo.blockSignals(False)
        a["switch_layer"].setEnabled(current is not None and current.two_layers)
        if current is None:
            status_label.setText(editing.not_editable_reason and "not editable")
            status_label.setToolTip(editing.not_editable_reason)
        else:
            stack = editing.stacks.get(current.sample_id)
            dirty = " · unsaved" if not stack.is_clean else ""
            status_label.setText(f"{stack.index} edit{'s' if stack.index != 1 else ''}{dirty}")
            status_label.setToolTip(f"Undo history of {current.sample_id}: {stack.index} of {len(stack)} applied")

    editing.state_changed.connect(refresh_ui)
    tools.message.connect(lambda text: window.statusBar().showMessage(text, 4000))
    refresh_ui()
    window.editing_ui = EditingUi(a, toolbar, edit_menu, tools_menu, radius_spin, layer_combo, status_label, docks)
    window.prior_gallery = gallery
    window.review_panel = review
    return editing


def _hide_priors_dock_without_priors(window: MainWindow, dock: QDockWidget, gallery: PriorGallery) -> None:
    """Hide the Priors dock while a dataset without prior folders is open, and bring it
    back (as the user last left it) when one with priors is opened. View > Priors still
    shows it at any time."""
    settings = app_settings.app_settings()
    key = "window/priors_dock_auto_hidden"  # survives the restart: the saved layout has it hidden

    def on_dataset_opened(_dataset: object) -> None:
        auto_hidden = settings.value(key, False, type=bool)
        if gallery.supported():
            if auto_hidden:
                dock.show()
            settings.setValue(key, False)
        elif dock.isVisible():
            dock.hide()
            settings.setValue(key, True)

    window.controller.dataset_opened.connect(on_dataset_opened)  # after the gallery's own slot


def _toggle_layer(editing: EditingController) -> None:
    state = editing.current_state()
    if state is None or not state.two_layers:
        return
    editing.set_active_layer(AMODAL_LAYER if state.active == VISIBLE_LAYER else VISIBLE_LAYER)
