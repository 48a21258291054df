"""A horizontally scrollable strip of captioned thumbnails (prior images, GT renders...).

Clicking a thumbnail emits :attr:`ImageStrip.image_clicked` and, unless
``popup_on_click`` is off, opens the image large in a non-modal :class:`ImagePopup`
(Left/Right step through the strip's images, Escape closes).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from occstudio.gui.panes.image_pane import ImagePane, composite_over_checkerboard
from occstudio.gui.qimage import array_to_qimage, to_display_uint8

ImageItem = tuple[str, "np.ndarray | None"]


def thumbnail_pixmap(image: np.ndarray, height: int, max_aspect: float = 3.0) -> QPixmap:
    """A thumbnail ``height`` px tall (at most ``max_aspect``·height wide) of an image array.

    RGBA images are shown over a checkerboard. Large images are decimated in numpy
    before Qt's smooth scaling so that 1024² priors stay cheap.
    """
    a = to_display_uint8(np.asarray(image))
    step = max(1, min(a.shape[0], a.shape[1]) // (2 * height))
    if step > 1:
        a = np.ascontiguousarray(a[::step, ::step])
    pix = QPixmap.fromImage(array_to_qimage(composite_over_checkerboard(a)))
    return pix.scaled(
        QSize(int(height * max_aspect), height),
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


class ThumbnailTile(QFrame):
    """One captioned thumbnail (or a "missing" tile) of an :class:`ImageStrip`."""

    clicked = Signal(int)

    def __init__(
        self,
        index: int,
        caption: str,
        image: np.ndarray | None,
        height: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.index = index
        self.caption = caption
        self.missing = image is None
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

        self.image_label = QLabel()
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        error = ""
        if image is not None:
            try:
                pix = thumbnail_pixmap(image, height)
            except ValueError as exc:
                error = str(exc)
                self.missing = True
            else:
                self.image_label.setPixmap(pix)
                self.image_label.setFixedSize(pix.size())
        if self.missing:
            self.image_label.setText("unreadable" if error else "missing")
            self.image_label.setFixedSize(height, height)
            self.image_label.setStyleSheet(
                "QLabel { background: #3a3a3a; color: #e0a040; border: 1px dashed #888; }"
            )
            self.setCursor(Qt.CursorShape.ArrowCursor)

        width = self.image_label.width()
        self.caption_label = QLabel()
        self.caption_label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        metrics = self.caption_label.fontMetrics()
        self.caption_label.setText(
            metrics.elidedText(caption, Qt.TextElideMode.ElideMiddle, max(width, 40))
        )
        self.caption_label.setFixedWidth(max(width, 40))

        if self.missing:
            tip = f"{caption}\n{'cannot display: ' + error if error else 'missing file'}"
        else:
            h, w = np.shape(image)[:2]
            tip = f"{caption}\n{w}×{h} · click to view large"
        self.setToolTip(tip)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.image_label, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.caption_label, 0, Qt.AlignmentFlag.AlignHCenter)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.clicked.emit(self.index)
            event.accept()
            return
        super().mouseReleaseEvent(event)


class ImagePopup(QDialog):
    """A non-modal window showing one strip image large (zoom / pan as in :class:`ImagePane`).

    Left / Right show the previous / next image of the strip.
    """

    def __init__(self, strip: ImageStrip) -> None:
        super().__init__(strip)
        self._strip = strip
        self._index = -1
        self.setModal(False)
        self.resize(720, 600)
        self.pane = ImagePane(controls=False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.pane)

    def index(self) -> int:
        """The index of the shown image."""
        return self._index

    def show_index(self, index: int) -> None:
        """Show the strip's image ``index``."""
        items = self._strip.items()
        if not 0 <= index < len(items):
            return
        self._index = index
        caption, image = items[index]
        label = f"{caption}  ({index + 1}/{len(items)})"
        self.pane.set_title(label)
        self.setWindowTitle(f"{self._strip.title() or 'Image'} — {caption}")
        self.pane.set_image(image, "" if image is not None else f"missing: {caption}")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Right:
            self.show_index(self._index + 1)
        elif event.key() == Qt.Key.Key_Left:
            self.show_index(self._index - 1)
        else:
            super().keyPressEvent(event)


class ImageStrip(QWidget):
    """A titled, horizontally scrollable row of captioned thumbnails.

    Parameters
    ----------
    title
        Text of the title label (hidden when empty).
    thumb_height
        Thumbnail height in pixels.
    parent
        Parent widget.

    Attributes
    ----------
    tiles : list[ThumbnailTile]
        The current tiles, in order.
    popup_on_click : bool
        Open clicked images in an :class:`ImagePopup` (default ``True``).

    Signals
    -------
    image_clicked(int)
        A thumbnail was clicked (its index in the list given to :meth:`set_images`).
    """

    image_clicked = Signal(int)

    def __init__(self, title: str = "", thumb_height: int = 128, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._thumb_height = int(thumb_height)
        self._items: list[ImageItem] = []
        self._placeholder = "No images"
        self.tiles: list[ThumbnailTile] = []
        self.popup_on_click = True
        self.popup: ImagePopup | None = None

        self.title_label = QLabel(title)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.title_label.setVisible(bool(title))

        self.placeholder_label = QLabel(self._placeholder)
        self.placeholder_label.setStyleSheet("color: #909090;")
        self.placeholder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self._inner = QWidget()
        self._row = QHBoxLayout(self._inner)
        self._row.setContentsMargins(4, 4, 4, 4)
        self._row.setSpacing(8)
        self._row.addWidget(self.placeholder_label)
        self._row.addStretch(1)

        self.scroll = QScrollArea()
        self.scroll.setWidget(self._inner)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QFrame.Shape.StyledPanel)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.title_label)
        layout.addWidget(self.scroll)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._update_height()

    # -- configuration ----------------------------------------------------------------
    def set_title(self, title: str) -> None:
        """Set the title shown above the strip (hidden when empty)."""
        self.title_label.setText(title)
        self.title_label.setVisible(bool(title))

    def title(self) -> str:
        """The title text."""
        return self.title_label.text()

    def thumbnail_height(self) -> int:
        """The thumbnail height in pixels."""
        return self._thumb_height

    def set_thumbnail_height(self, height: int) -> None:
        """Change the thumbnail height (the tiles are rebuilt)."""
        self._thumb_height = max(16, int(height))
        self._update_height()
        self._rebuild()

    # -- content ----------------------------------------------------------------------
    def set_images(self, items: list[ImageItem], placeholder: str = "") -> None:
        """Show ``items`` as thumbnails.

        Parameters
        ----------
        items
            ``(caption, image)`` pairs; an image of ``None`` shows a "missing" tile.
        placeholder
            Text shown when ``items`` is empty (default ``"No images"``).
        """
        self._items = [(str(caption), image) for caption, image in items]
        self._placeholder = placeholder or "No images"
        self._rebuild()
        if self.popup is not None and self.popup.isVisible():
            if self._items:
                self.popup.show_index(min(self.popup.index(), len(self._items) - 1))
            else:
                self.popup.close()

    def clear(self, placeholder: str = "") -> None:
        """Remove every thumbnail and show ``placeholder``."""
        self.set_images([], placeholder)

    def items(self) -> list[ImageItem]:
        """The ``(caption, image)`` pairs shown."""
        return list(self._items)

    def count(self) -> int:
        """The number of tiles (missing ones included)."""
        return len(self.tiles)

    def captions(self) -> list[str]:
        """The captions in order."""
        return [caption for caption, _ in self._items]

    def is_missing(self, index: int) -> bool:
        """Whether tile ``index`` is a "missing" tile."""
        return self.tiles[index].missing

    def placeholder_text(self) -> str:
        """The text shown when there are no images ("" while tiles are shown)."""
        return self.placeholder_label.text() if not self.tiles else ""

    def open_popup(self, index: int) -> ImagePopup:
        """Open (or reuse) the large-view window on image ``index``."""
        if self.popup is None:
            self.popup = ImagePopup(self)
        self.popup.show_index(index)
        self.popup.show()
        self.popup.raise_()
        return self.popup

    # -- internals --------------------------------------------------------------------
    def _rebuild(self) -> None:
        for tile in self.tiles:
            self._row.removeWidget(tile)
            tile.deleteLater()
        self.tiles = []
        for i, (caption, image) in enumerate(self._items):
            tile = ThumbnailTile(i, caption, image, self._thumb_height)
            tile.clicked.connect(self._on_clicked)
            self._row.insertWidget(i, tile)
            self.tiles.append(tile)
        self.placeholder_label.setText(self._placeholder)
        self.placeholder_label.setVisible(not self.tiles)
        self.scroll.horizontalScrollBar().setValue(0)

    def _update_height(self) -> None:
        caption = self.fontMetrics().height()
        bar = self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
        self.scroll.setFixedHeight(self._thumb_height + caption + 2 + 8 + bar + 4)

    def _on_clicked(self, index: int) -> None:
        self.image_clicked.emit(index)
        if self.popup_on_click and not self.tiles[index].missing:
            self.open_popup(index)
