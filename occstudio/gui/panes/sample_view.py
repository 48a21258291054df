"""The 2D panes of one ExtremeOcc-3D style sample, with room for a 3D view on the right.

Layout (every boundary is a ``QSplitter`` the user can drag)::

    ┌ id · problems ───────────────────────────────────────────────┐
    │ ┌ scene + mask ─┬ visible object ┐ │                          │
    │ │  ImagePane    │  ImagePane     │ │   side widget            │
    │ ├───────────────┴────────────────┤ │   (the 3D view, given    │
    │ │ prior images (ImageStrip)      │ │    by the main window)   │
    │ │ prior text                     │ │                          │
    │ ├────────────────────────────────┤ │                          │
    │ │ GT renders (ImageStrip)        │ │                          │
    └─┴────────────────────────────────┴─┴──────────────────────────┘

The view only displays what :meth:`SampleView.set_content` receives (arrays and texts
read by a job); it never reads files itself.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from occstudio.gui.panes.image_pane import ElidedLabel, ImagePane
from occstudio.gui.panes.image_strip import ImageStrip

# Which pane a "missing" message belongs to, by the key it starts with ("image: a/b.png").
_KEY_TO_PANE = {
    "image": "image",
    "scene": "image",
    "mask": "mask",
    "obs_object_image": "object",
    "rendered": "object",
    "full_object_image": "object",
    "prior_images": "priors",
    "prior_image": "priors",
    "priors": "priors",
    "gt_images": "gt",
    "gt_render_dir": "gt",
    "gt_renders": "gt",
}


def missing_target(message: str) -> str | None:
    """The pane a human-readable "missing" message refers to, or ``None``.

    Messages of the form ``"<manifest key>: <path>"`` (e.g. ``"mask: assets/a/m.png"``)
    are matched by their key; others by typical ExtremeOcc-3D file names.

    Returns
    -------
    str or None
        One of ``"image"``, ``"mask"``, ``"object"``, ``"priors"``, ``"gt"``.
    """
    head, sep, _ = message.partition(":")
    if sep:
        key = head.strip().lower().removeprefix("missing").strip()
        if key in _KEY_TO_PANE:
            return _KEY_TO_PANE[key]
    text = message.lower().replace("\\", "/")
    if "gt_mesh" in text or "mesh.ply" in text or "prior_mask" in text:
        return None
    if "gt_render" in text or "gt_images" in text or "/view_" in text:
        return "gt"
    if "prior" in text:
        return "priors"
    if "occluded_mask" in text or "mask" in text:
        return "mask"
    if "rendered_scene" in text:
        return "image"
    if "obs_object" in text or "rendered.png" in text:
        return "object"
    return None


def missing_placeholder(message: str) -> str:
    """Placeholder text for a pane whose file is missing: ``"missing: <path>"``.

    ``message`` is one of ``Sample.missing``, e.g. ``"image: assets/x.png"`` (as the
    ExtremeOcc-3D loader writes them: ``"<field>: <path as written>"``).
    """
    head, sep, rest = message.partition(":")
    rest = rest.strip()
    if sep and head.strip().lower() in _KEY_TO_PANE and rest:
        # "gt_images: no images in gt_assets/x" reads best as is
        return rest if rest.lower().startswith("no ") else f"missing: {rest}"
    return message if message.lower().startswith("missing") else f"missing: {message}"


class SampleView(QWidget):
    """The panes of one sample: scene + mask, visible object, priors, GT renders, side view.

    Attributes
    ----------
    scene_pane : ImagePane
        The occluded scene image with the target mask overlaid (with overlay controls).
    object_pane : ImagePane
        The isolated render of the visible part (no overlay controls).
    priors_strip, gt_strip : ImageStrip
        The prior images and the multi-view GT renders.
    prior_text_edit : QLineEdit
        The prior text (read-only, selectable).
    splitter : QSplitter
        The horizontal splitter: 2D column on the left, side widget on the right.
    left_splitter, top_splitter : QSplitter
        The vertical splitter of the 2D column and the scene | object splitter.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._content_id = ""
        self._side: QWidget | None = None
        self._sizes_restored = False

        self.id_label = QLabel()
        font = self.id_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.id_label.setFont(font)
        self.id_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.id_label.setToolTip("The sample id (selectable)")
        self.problems_label = ElidedLabel()
        self.problems_label.setStyleSheet("color: #c07000;")
        self.problems_label.setVisible(False)

        header = QHBoxLayout()
        header.setContentsMargins(4, 2, 4, 2)
        header.setSpacing(12)
        header.addWidget(self.id_label)
        header.addWidget(self.problems_label, 1)

        self.scene_pane = ImagePane("Scene + mask", controls=True)
        self.scene_pane.title_label.setToolTip(
            "The occluded scene render with the target object's visible-part mask"
        )
        self.object_pane = ImagePane("Visible object", controls=False)
        self.object_pane.title_label.setToolTip("The isolated render of the object's visible part")
        self.top_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.top_splitter.addWidget(self.scene_pane)
        self.top_splitter.addWidget(self.object_pane)
        self.top_splitter.setChildrenCollapsible(False)
        self.top_splitter.setStretchFactor(0, 1)
        self.top_splitter.setStretchFactor(1, 1)
        self.top_splitter.setSizes([1000, 1000])  # equal halves (ratios are kept)

        self.priors_strip = ImageStrip("Prior images")
        self.priors_strip.setToolTip("Prior images of the target category (click to enlarge)")
        self.prior_text_edit = QLineEdit()
        self.prior_text_edit.setReadOnly(True)
        self.prior_text_edit.setPlaceholderText("no prior text")
        self.prior_text_edit.setToolTip("The prior text (category label) of this sample")
        prior_text_row = QHBoxLayout()
        prior_text_row.setContentsMargins(4, 0, 2, 2)
        prior_text_label = QLabel("Prior text:")
        prior_text_label.setBuddy(self.prior_text_edit)
        prior_text_row.addWidget(prior_text_label)
        prior_text_row.addWidget(self.prior_text_edit, 1)
        priors_box = QWidget()
        priors_layout = QVBoxLayout(priors_box)
        priors_layout.setContentsMargins(0, 0, 0, 0)
        priors_layout.setSpacing(2)
        priors_layout.addWidget(self.priors_strip)
        priors_layout.addLayout(prior_text_row)
        priors_box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.priors_box = priors_box

        self.gt_strip = ImageStrip("GT renders")
        self.gt_strip.setToolTip("Multi-view renders of the ground-truth object (click to enlarge)")

        self.left_splitter = QSplitter(Qt.Orientation.Vertical)
        self.left_splitter.addWidget(self.top_splitter)
        self.left_splitter.addWidget(priors_box)
        self.left_splitter.addWidget(self.gt_strip)
        self.left_splitter.setStretchFactor(0, 1)
        self.left_splitter.setStretchFactor(1, 0)
        self.left_splitter.setStretchFactor(2, 0)
        self.left_splitter.setCollapsible(0, False)

        self.side_container = QWidget()
        side_layout = QVBoxLayout(self.side_container)
        side_layout.setContentsMargins(0, 0, 0, 0)
        self.side_container.setVisible(False)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.left_splitter)
        self.splitter.addWidget(self.side_container)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setCollapsible(0, False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self.splitter, 1)
        self.clear()

    # -- side widget ------------------------------------------------------------------
    def set_side_widget(self, widget: QWidget | None) -> QWidget | None:
        """Embed ``widget`` (e.g. the 3D view) right of the 2D panes; ``None`` removes it.

        Returns
        -------
        QWidget or None
            The previous side widget, detached (the caller owns it again).
        """
        old = self._side
        layout = self.side_container.layout()
        if old is not None:
            layout.removeWidget(old)
            old.setParent(None)
        self._side = widget
        if widget is not None:
            layout.addWidget(widget)
            widget.show()
            if old is None and not self._sizes_restored:
                self.splitter.setSizes([3000, 2000])  # 2D column 60 %, side 40 %
        self.side_container.setVisible(widget is not None)
        return old

    def side_widget(self) -> QWidget | None:
        """The embedded side widget, or ``None``."""
        return self._side

    # -- content ----------------------------------------------------------------------
    def set_content(self, content: dict[str, Any]) -> None:
        """Show a sample's arrays and texts.

        Parameters
        ----------
        content
            Keys (all optional): ``"id"`` (str), ``"image"`` (array or None), ``"mask"``
            (bool array or None), ``"obs_object_image"`` (array or None),
            ``"prior_images"`` and ``"gt_images"`` (lists of ``(name, array | None)``;
            ``None``: the format has none, and the strip is hidden),
            ``"prior_text"`` (str), ``"missing"`` (human-readable missing files, ideally
            ``"<manifest key>: <path>"``; each is shown as the placeholder of the pane it
            belongs to and all are listed in the header) and ``"errors"`` (list of str).
        """
        sample_id = str(content.get("id") or "")
        missing = [str(m) for m in content.get("missing") or []]
        errors = [str(e) for e in content.get("errors") or []]
        by_target: dict[str, list[str]] = {}
        for message in missing:
            target = missing_target(message)
            if target is not None:
                by_target.setdefault(target, []).append(message)

        def placeholder(target: str, default: str) -> str:
            found = by_target.get(target)
            return missing_placeholder(found[0]) if found else default

        self._content_id = sample_id
        self.id_label.setText(sample_id or "(no id)")
        self.id_label.setToolTip(f"Sample id: {sample_id}" if sample_id else "No sample")

        self.scene_pane.set_image(content.get("image"), placeholder("image", "No scene image"))
        self.scene_pane.set_mask(content.get("mask"))
        if content.get("mask") is None and "mask" in by_target:
            self.scene_pane.set_note("mask missing", "\n".join(by_target["mask"]))
        elif content.get("mask") is None and content.get("image") is not None:
            self.scene_pane.set_note("no mask")
        else:
            self.scene_pane.set_note("")

        self.object_pane.set_image(
            content.get("obs_object_image"), placeholder("object", "No visible-object image")
        )
        self._show_strips(content.get("prior_images", []) is not None, content.get("gt_images", []) is not None)
        priors = list(content.get("prior_images") or [])
        self.priors_strip.set_images(priors, placeholder("priors", "No prior images"))
        self.prior_text_edit.setText(str(content.get("prior_text") or ""))
        self.prior_text_edit.setCursorPosition(0)
        gts = list(content.get("gt_images") or [])
        self.gt_strip.set_images(gts, placeholder("gt", "No GT renders"))

        problems = [*missing, *errors]
        if problems:
            summary = f"⚠ {len(problems)} problem{'s' if len(problems) != 1 else ''}: "
            self.problems_label.setText(summary + "; ".join(problems))
            self.problems_label.setToolTip("\n".join(problems))
        else:
            self.problems_label.setText("")
            self.problems_label.setToolTip("")
        self.problems_label.setVisible(bool(problems))

    def _show_strips(self, priors: bool, gts: bool) -> None:
        """Show or hide the prior-image and GT-render strips; hiding one gives its room to
        the images above, showing one takes at least its size hint back from them."""
        if priors == self.priors_strip.isVisibleTo(self) and gts == self.gt_strip.isVisibleTo(self):
            return
        self.priors_strip.setVisible(priors)
        self.gt_strip.setVisible(gts)
        sizes = self.left_splitter.sizes()
        total = sum(sizes)
        if total <= 0:
            return
        box_hint = self.priors_box.sizeHint().height()
        box = max(sizes[1], box_hint) if priors else min(sizes[1], box_hint)
        strip = max(sizes[2], self.gt_strip.sizeHint().height()) if gts else 0
        self.left_splitter.setSizes([max(0, total - box - strip), box, strip])

    def content_id(self) -> str:
        """The id of the shown sample ("" when cleared)."""
        return self._content_id

    def clear(self) -> None:
        """Show no sample (every pane shows its placeholder)."""
        self._content_id = ""
        self.id_label.setText("No sample")
        self.id_label.setToolTip("No sample selected")
        self.scene_pane.clear("No sample")
        self.scene_pane.set_note("")
        self.object_pane.clear("No sample")
        self.priors_strip.clear("No sample")
        self.prior_text_edit.clear()
        self.gt_strip.clear("No sample")
        self._show_strips(True, True)
        self.problems_label.clear()
        self.problems_label.setVisible(False)

    # -- state ------------------------------------------------------------------------
    def _splitters(self) -> dict[str, QSplitter]:
        return {
            "main": self.splitter,
            "left": self.left_splitter,
            "top": self.top_splitter,
        }

    def save_state(self) -> bytes:
        """The splitter sizes as bytes (store them in ``QSettings``)."""
        state = {
            name: base64.b64encode(bytes(splitter.saveState().data())).decode("ascii")
            for name, splitter in self._splitters().items()
        }
        return json.dumps({"version": 1, "splitters": state}).encode("utf-8")

    def restore_state(self, state: bytes | QByteArray | None) -> bool:
        """Restore splitter sizes saved by :meth:`save_state`.

        Returns
        -------
        bool
            ``False`` (and nothing changes) when ``state`` is empty or unreadable.
        """
        if not state:
            return False
        try:
            raw = bytes(state.data()) if isinstance(state, QByteArray) else bytes(state)
            splitters = json.loads(raw.decode("utf-8"))["splitters"]
            blobs = {name: base64.b64decode(splitters[name]) for name in self._splitters()}
        except (ValueError, KeyError, TypeError, AttributeError):
            return False
        ok = True
        for name, splitter in self._splitters().items():
            ok = splitter.restoreState(QByteArray(blobs[name])) and ok
        self._sizes_restored = self._sizes_restored or ok
        return ok
