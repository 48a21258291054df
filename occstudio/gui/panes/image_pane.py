"""An image pane: one image with an optional boolean mask overlaid, zoomable and pannable.

The pane is a ``QGraphicsView`` showing two pixmap items: ``image_item`` (the image; RGBA
images are composited over a checkerboard) and ``overlay_item`` (the mask, as a coloured
fill or a contour, semi-transparent). A mask editor adds its brush tools on top by using
``view``, ``image_item`` and ``overlay_item`` directly.

Everything drawn is computed in numpy by the module-level functions
(:func:`composite_over_checkerboard`, :func:`overlay_rgba`, :func:`composite_overlay`), so
:meth:`ImagePane.rendered_overlay` returns exactly the RGB the user sees (at image
resolution) and tests can check pixels without grabbing the screen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStackedLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from occstudio.gui.qimage import array_to_qimage, to_display_uint8, to_rgb_uint8

OVERLAY_MODES = ("fill", "contour")
DEFAULT_OVERLAY_COLOR = (255, 64, 64)
DEFAULT_OVERLAY_OPACITY = 0.45

# ----------------------------------------------------------------------------- numpy helpers


def mask_to_bool(mask: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A mask array as a boolean ``H×W`` array, optionally resized to ``shape``.

    Parameters
    ----------
    mask
        ``H×W`` or ``H×W×C`` array; a pixel is "in" when non-zero. A multi-channel mask
        uses its last channel (alpha for RGBA, blue for RGB).
    shape
        ``(height, width)`` to resize to with nearest-neighbour sampling.

    Returns
    -------
    numpy.ndarray
        Boolean ``H×W`` array.
    """
    m = np.asarray(mask)
    if m.ndim == 3:
        m = m[:, :, -1]
    if m.ndim != 2:
        raise ValueError(f"not a mask array: shape {np.asarray(mask).shape}")
    m = m != 0
    if shape is not None and m.shape != tuple(shape):
        m = resize_nearest(m, shape)
    return m


def resize_nearest(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize the first two axes of ``a`` to ``shape`` with nearest-neighbour sampling."""
    h, w = a.shape[:2]
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * h / shape[0]).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(shape[1]) + 0.5) * w / shape[1]).astype(np.int64), w - 1)
    return a[rows[:, None], cols[None, :]]


def erode(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    """Binary erosion with the 4-neighbourhood; pixels outside the image count as out."""
    m = mask.astype(bool, copy=True)
    for _ in range(max(0, iterations)):
        inner = np.zeros_like(m)
        inner[1:-1, 1:-1] = (
            m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
        )
        m = inner
    return m


def mask_boundary(mask: np.ndarray, width: int = 1) -> np.ndarray:
    """The inner boundary of a mask: mask pixels within ``width`` px of an outside pixel.

    Parameters
    ----------
    mask
        Boolean ``H×W`` array.
    width
        Outline thickness in pixels (1 or 2 is typical).

    Returns
    -------
    numpy.ndarray
        Boolean ``H×W`` array, a subset of ``mask``.
    """
    m = np.asarray(mask, dtype=bool)
    return m & ~erode(m, width)


def checkerboard(height: int, width: int, cell: int | None = None) -> np.ndarray:
    """A light-grey checkerboard, uint8 ``H×W×3``, with square cells of ``cell`` px.

    ``cell`` defaults to about 1/32 of the shorter side (at least 4 px).
    """
    if cell is None:
        cell = max(4, min(height, width) // 32)
    yy = (np.arange(height) // cell)[:, None]
    xx = (np.arange(width) // cell)[None, :]
    dark = ((yy + xx) % 2).astype(bool)
    out = np.full((height, width, 3), 230, np.uint8)
    out[dark] = 190
    return out


def composite_over_checkerboard(image: np.ndarray) -> np.ndarray:
    """The RGB an image displays as: RGBA is blended over :func:`checkerboard`.

    Parameters
    ----------
    image
        Any displayable image array (see :func:`occstudio.gui.qimage.to_display_uint8`).

    Returns
    -------
    numpy.ndarray
        uint8 ``H×W×3``.
    """
    rgb = to_rgb_uint8(image)
    if rgb.shape[2] == 3:
        return rgb
    alpha = rgb[:, :, 3:4].astype(np.float32) / 255.0
    board = checkerboard(rgb.shape[0], rgb.shape[1]).astype(np.float32)
    out = rgb[:, :, :3].astype(np.float32) * alpha + board * (1.0 - alpha)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def overlay_region(mask: np.ndarray, mode: str, contour_width: int = 2) -> np.ndarray:
    """The pixels an overlay colours: the mask (``fill``) or its boundary (``contour``)."""
    if mode not in OVERLAY_MODES:
        raise ValueError(f"unknown overlay mode {mode!r} (expected one of {OVERLAY_MODES})")
    return mask_boundary(mask, contour_width) if mode == "contour" else np.asarray(mask, bool)


def overlay_rgba(
    mask: np.ndarray,
    color: tuple[int, int, int],
    opacity: float,
    mode: str = "fill",
    contour_width: int = 2,
) -> np.ndarray:
    """The overlay layer: ``color`` at ``opacity`` on the overlay region, transparent elsewhere.

    Returns
    -------
    numpy.ndarray
        uint8 ``H×W×4`` (straight alpha).
    """
    region = overlay_region(mask, mode, contour_width)
    out = np.zeros((*region.shape, 4), np.uint8)
    out[region, :3] = np.asarray(color, np.uint8)[:3]
    out[region, 3] = round(float(np.clip(opacity, 0.0, 1.0)) * 255)
    return out


def composite_overlay(base_rgb: np.ndarray, overlay: np.ndarray) -> np.ndarray:
    """Blend an ``H×W×4`` overlay over an ``H×W×3`` uint8 image (source-over)."""
    alpha = overlay[:, :, 3:4].astype(np.float32) / 255.0
    out = base_rgb.astype(np.float32) * (1.0 - alpha) + overlay[:, :, :3] * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _color_tuple(color: Any) -> tuple[int, int, int]:
    if isinstance(color, QColor):
        return (color.red(), color.green(), color.blue())
    if isinstance(color, str):
        q = QColor(color)
        if not q.isValid():
            raise ValueError(f"not a colour: {color!r}")
        return (q.red(), q.green(), q.blue())
    r, g, b = (int(v) for v in tuple(color)[:3])
    return (int(np.clip(r, 0, 255)), int(np.clip(g, 0, 255)), int(np.clip(b, 0, 255)))


# ----------------------------------------------------------------------------- the view


class ImageView(QGraphicsView):
    """A graphics view that fits its scene on resize, zooms with the wheel and pans by drag.

    Double-click returns to fit-to-window. Once the user zooms, resizing keeps the zoom.
    """

    zoom_changed = Signal(float)

    MAX_ZOOM = 64.0

    def __init__(self, scene: QGraphicsScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.auto_fit = True
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setBackgroundBrush(QColor(48, 48, 48))
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setMinimumSize(80, 60)
        self.setToolTip("Wheel: zoom · drag: pan · double-click: fit to window")

    def zoom(self) -> float:
        """The current scale (screen pixels per image pixel)."""
        return float(self.transform().m11())

    def fit(self) -> None:
        """Fit the scene into the viewport (keeping the aspect ratio) and re-enable auto-fit."""
        self.auto_fit = True
        rect = self.sceneRect()
        if rect.isEmpty():
            return
        self.resetTransform()
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.zoom())

    def set_zoom(self, factor: float) -> None:
        """Scale by ``factor`` around the mouse (clamped), turning auto-fit off."""
        current = self.zoom()
        target = float(np.clip(current * factor, self._min_zoom(), self.MAX_ZOOM))
        if current <= 0 or target == current:
            return
        self.auto_fit = False
        self.scale(target / current, target / current)
        self.zoom_changed.emit(self.zoom())

    def _min_zoom(self) -> float:
        rect = self.sceneRect()
        if rect.isEmpty():
            return 0.01
        vp = self.viewport().size()
        fit = min(vp.width() / rect.width(), vp.height() / rect.height())
        return max(1e-3, 0.5 * fit)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(1.25**steps)
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.auto_fit:
            self.fit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.auto_fit:
            self.fit()

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.fit()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)


# ----------------------------------------------------------------------------- the pane


class ElidedLabel(QLabel):
    """A one-line label that elides its text with "…" instead of clipping it."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(24)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                             rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(self.alignment()), text)
        painter.end()


def _swatch(color: tuple[int, int, int], size: int = 14) -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(QColor(*color))
    painter = QPainter(pix)
    painter.setPen(QColor(0, 0, 0))
    painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    return pix


class ImagePane(QWidget):
    """A titled image with an optional mask overlay and overlay controls.

    Parameters
    ----------
    title
        Text of the title label.
    controls
        Show the overlay toolbar (show/hide, fill/contour, colour, opacity). Panes that
        show images without masks pass ``False``.
    parent
        Parent widget.

    Attributes
    ----------
    view : ImageView
        The graphics view (zoom / pan); a mask editor installs its tools on it.
    scene : QGraphicsScene
        The scene holding ``image_item`` (z 0) and ``overlay_item`` (z 1).
    image_item, overlay_item : QGraphicsPixmapItem
        The displayed image and mask overlay, in image pixel coordinates.

    Signals
    -------
    overlay_changed()
        The overlay settings (mode, colour, opacity, visibility) changed.
    """

    overlay_changed = Signal()

    def __init__(self, title: str = "", controls: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: np.ndarray | None = None  # normalised uint8 (H×W, H×W×3 or H×W×4)
        self._base_rgb: np.ndarray | None = None  # what image_item shows, H×W×3
        self._mask: np.ndarray | None = None  # bool, aligned to the image when there is one
        self._mode = "fill"
        self._color = DEFAULT_OVERLAY_COLOR
        self._opacity = DEFAULT_OVERLAY_OPACITY
        self._visible = True
        self._contour_width = 2
        self._placeholder = "No image"

        self.scene = QGraphicsScene(self)
        self.image_item = QGraphicsPixmapItem()
        self.image_item.setZValue(0)
        self.overlay_item = QGraphicsPixmapItem()
        self.overlay_item.setZValue(1)
        self.scene.addItem(self.image_item)
        self.scene.addItem(self.overlay_item)
        self.view = ImageView(self.scene, self)
        self.view.zoom_changed.connect(self._update_transform_mode)

        # header: title, note, overlay controls
        self.title_label = ElidedLabel(title)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.title_label.setToolTip(title)
        self.note_label = QLabel()
        self.note_label.setStyleSheet("color: #c07000;")
        self.note_label.setVisible(False)

        self.show_check = QCheckBox("Mask")
        self.show_check.setChecked(True)
        self.show_check.setToolTip("Show or hide the mask overlay")
        self.show_check.toggled.connect(self.set_overlay_visible)

        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Fill", "fill")
        self.mode_combo.addItem("Contour", "contour")
        self.mode_combo.setToolTip("Draw the mask as a filled area or as its outline")
        self.mode_combo.currentIndexChanged.connect(
            lambda i: self.set_overlay_mode(self.mode_combo.itemData(i))
        )

        self.color_button = QToolButton()
        self.color_button.setToolTip("Overlay colour…")
        self.color_button.setAutoRaise(True)
        self.color_button.setIcon(_swatch(self._color))
        self.color_button.clicked.connect(self._choose_color)

        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(round(self._opacity * 100))
        self.opacity_slider.setFixedWidth(64)
        self.opacity_slider.setToolTip("Overlay opacity (0–100 %)")
        self.opacity_slider.valueChanged.connect(lambda v: self.set_overlay_opacity(v / 100.0))
        self.opacity_label = QLabel()
        self.opacity_label.setToolTip("Overlay opacity")
        self.opacity_label.setMinimumWidth(self.opacity_label.fontMetrics().horizontalAdvance("100%"))
        self._update_opacity_label()

        self.controls = QWidget()
        ctl = QHBoxLayout(self.controls)
        ctl.setContentsMargins(0, 0, 0, 0)
        ctl.setSpacing(4)
        for w in (self.show_check, self.mode_combo, self.color_button, self.opacity_slider,
                  self.opacity_label):
            ctl.addWidget(w)
        self.controls.setVisible(controls)

        header = QHBoxLayout()
        header.setContentsMargins(2, 0, 2, 0)
        header.setSpacing(6)
        header.addWidget(self.title_label, 1)
        header.addWidget(self.note_label)
        header.addWidget(self.controls)
        # Same header height with or without controls, so side-by-side panes line up.
        self.title_label.setMinimumHeight(self.controls.sizeHint().height())

        self.placeholder_label = QLabel(self._placeholder)
        self.placeholder_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder_label.setWordWrap(True)
        self.placeholder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.placeholder_label.setStyleSheet(
            "QLabel { background: #303030; color: #b0b0b0; padding: 8px; }"
        )
        self.placeholder_label.setMinimumSize(80, 60)
        self.placeholder_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

        self._stack = QStackedLayout()
        self._stack.addWidget(self.view)
        self._stack.addWidget(self.placeholder_label)
        self._stack.setCurrentWidget(self.placeholder_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addLayout(self._stack, 1)

    # -- title / note -----------------------------------------------------------------
    def set_title(self, title: str) -> None:
        """Set the title shown above the image."""
        self.title_label.setText(title)
        self.title_label.setToolTip(title)

    def title(self) -> str:
        """The title text."""
        return self.title_label.text()

    def set_note(self, text: str, tooltip: str = "") -> None:
        """Show a short warning beside the title (e.g. ``"mask missing"``); empty hides it."""
        self.note_label.setText(f"⚠ {text}" if text else "")
        self.note_label.setToolTip(tooltip or text)
        self.note_label.setVisible(bool(text))

    def note(self) -> str:
        """The note text without the warning sign ("" when none)."""
        return self.note_label.text().removeprefix("⚠ ")

    # -- content ----------------------------------------------------------------------
    def set_image(self, image: np.ndarray | None, placeholder: str = "") -> None:
        """Show ``image`` (grey, RGB or RGBA; uint16 is scaled), or a placeholder text.

        Parameters
        ----------
        image
            The image array, or ``None`` to show ``placeholder`` instead.
        placeholder
            Text shown when there is no image (default ``"No image"``), e.g. the reason
            such as ``"missing: assets/x.png"``. An array that is not an image also shows
            a placeholder naming the problem.
        """
        self._placeholder = placeholder or "No image"
        if image is None:
            self._clear_image()
            return
        try:
            display = to_display_uint8(np.asarray(image))
            base = composite_over_checkerboard(display)
        except ValueError as exc:
            self._placeholder = f"Cannot display image: {exc}"
            self._clear_image()
            return
        old_size = self._base_rgb.shape[:2] if self._base_rgb is not None else None
        self._image = display
        self._base_rgb = base
        h, w = base.shape[:2]
        self.image_item.setPixmap(QPixmap.fromImage(array_to_qimage(base)))
        self.scene.setSceneRect(QRectF(0, 0, w, h))
        if self._mask is not None and self._mask.shape != (h, w):
            self._mask = resize_nearest(self._mask, (h, w))
        self._refresh_overlay()
        self._stack.setCurrentWidget(self.view)
        if old_size != (h, w) or self.view.auto_fit:
            self.view.fit()

    def _clear_image(self) -> None:
        self._image = None
        self._base_rgb = None
        self.image_item.setPixmap(QPixmap())
        self.overlay_item.setPixmap(QPixmap())
        self.scene.setSceneRect(QRectF())
        self.placeholder_label.setText(self._placeholder)
        self.placeholder_label.setToolTip(self._placeholder)
        self._stack.setCurrentWidget(self.placeholder_label)

    def set_mask(self, mask: np.ndarray | None) -> None:
        """Overlay ``mask`` (non-zero = in; last channel of a multi-channel array).

        A mask whose size differs from the image is resized with nearest-neighbour
        sampling. ``None`` removes the overlay.
        """
        if mask is None:
            self._mask = None
        else:
            shape = self._base_rgb.shape[:2] if self._base_rgb is not None else None
            self._mask = mask_to_bool(mask, shape)
        self._refresh_overlay()

    def clear(self, placeholder: str = "") -> None:
        """Remove the image and the mask, showing ``placeholder``."""
        self._mask = None
        self.set_image(None, placeholder)

    def image(self) -> np.ndarray | None:
        """The displayed image as uint8 (grey, RGB or RGBA), or ``None``."""
        return self._image

    def mask(self) -> np.ndarray | None:
        """The overlaid mask (boolean, aligned to the image), or ``None``."""
        return self._mask

    def has_image(self) -> bool:
        """Whether an image is shown (rather than the placeholder)."""
        return self._base_rgb is not None

    def placeholder_text(self) -> str:
        """The text shown when there is no image."""
        return self.placeholder_label.text()

    # -- overlay settings -------------------------------------------------------------
    def set_overlay_mode(self, mode: str) -> None:
        """Draw the mask as ``"fill"`` or ``"contour"``."""
        if mode not in OVERLAY_MODES:
            raise ValueError(f"unknown overlay mode {mode!r} (expected one of {OVERLAY_MODES})")
        if mode == self._mode:
            return
        self._mode = mode
        self.mode_combo.blockSignals(True)
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(mode))
        self.mode_combo.blockSignals(False)
        self._settings_changed()

    def overlay_mode(self) -> str:
        """``"fill"`` or ``"contour"``."""
        return self._mode

    def set_overlay_color(self, color: QColor | str | tuple[int, int, int]) -> None:
        """Set the overlay colour (a ``QColor``, a name like ``"#ff0000"`` or an RGB tuple)."""
        rgb = _color_tuple(color)
        if rgb == self._color:
            return
        self._color = rgb
        self.color_button.setIcon(_swatch(rgb))
        self._settings_changed()

    def overlay_color(self) -> tuple[int, int, int]:
        """The overlay colour as an RGB tuple."""
        return self._color

    def set_overlay_opacity(self, opacity: float) -> None:
        """Set the overlay opacity in ``[0, 1]`` (clipped)."""
        value = float(np.clip(opacity, 0.0, 1.0))
        if value == self._opacity:
            return
        self._opacity = value
        self.opacity_slider.blockSignals(True)
        self.opacity_slider.setValue(round(value * 100))
        self.opacity_slider.blockSignals(False)
        self._update_opacity_label()
        self._settings_changed()

    def overlay_opacity(self) -> float:
        """The overlay opacity in ``[0, 1]``."""
        return self._opacity

    def set_overlay_visible(self, visible: bool) -> None:
        """Show or hide the mask overlay."""
        visible = bool(visible)
        if visible == self._visible:
            return
        self._visible = visible
        self.show_check.blockSignals(True)
        self.show_check.setChecked(visible)
        self.show_check.blockSignals(False)
        self._settings_changed()

    def overlay_visible(self) -> bool:
        """Whether the overlay is shown."""
        return self._visible

    def set_contour_width(self, width: int) -> None:
        """Set the contour thickness in image pixels (at least 1)."""
        width = max(1, int(width))
        if width == self._contour_width:
            return
        self._contour_width = width
        self._settings_changed()

    def contour_width(self) -> int:
        """The contour thickness in image pixels."""
        return self._contour_width

    def overlay_settings(self) -> dict[str, Any]:
        """The overlay settings as a plain dict (to store in preferences or sync panes)."""
        return {
            "mode": self._mode,
            "color": list(self._color),
            "opacity": self._opacity,
            "visible": self._visible,
            "contour_width": self._contour_width,
        }

    def set_overlay_settings(self, settings: dict[str, Any]) -> None:
        """Apply settings from :meth:`overlay_settings` (unknown or absent keys are ignored)."""
        before = self.overlay_settings()
        self.blockSignals(True)
        try:
            if "mode" in settings:
                self.set_overlay_mode(str(settings["mode"]))
            if "color" in settings:
                self.set_overlay_color(tuple(settings["color"]))
            if "opacity" in settings:
                self.set_overlay_opacity(float(settings["opacity"]))
            if "visible" in settings:
                self.set_overlay_visible(bool(settings["visible"]))
            if "contour_width" in settings:
                self.set_contour_width(int(settings["contour_width"]))
        finally:
            self.blockSignals(False)
        if self.overlay_settings() != before:
            self.overlay_changed.emit()

    # -- rendering --------------------------------------------------------------------
    def current_overlay(self) -> np.ndarray | None:
        """The overlay layer drawn over the image (``H×W×4``), or ``None`` when none is drawn."""
        if self._mask is None or self._base_rgb is None or not self._visible:
            return None
        return overlay_rgba(self._mask, self._color, self._opacity, self._mode,
                            self._contour_width)

    def rendered_overlay(self) -> np.ndarray:
        """The composited RGB that is displayed (image resolution), computed in numpy.

        Returns
        -------
        numpy.ndarray
            uint8 ``H×W×3``: the image (RGBA over the checkerboard) with the overlay
            blended on top; ``0×0×3`` when there is no image.
        """
        if self._base_rgb is None:
            return np.zeros((0, 0, 3), np.uint8)
        overlay = self.current_overlay()
        if overlay is None:
            return self._base_rgb.copy()
        return composite_overlay(self._base_rgb, overlay)

    def refresh_overlay(self) -> None:
        """Redraw the overlay (after the mask array was modified in place)."""
        self._refresh_overlay()

    def _refresh_overlay(self) -> None:
        overlay = self.current_overlay()
        if overlay is None:
            self.overlay_item.setPixmap(QPixmap())
            self.overlay_item.setVisible(False)
            return
        self.overlay_item.setPixmap(QPixmap.fromImage(array_to_qimage(overlay)))
        self.overlay_item.setVisible(True)

    def _settings_changed(self) -> None:
        self._refresh_overlay()
        self.overlay_changed.emit()

    def _update_opacity_label(self) -> None:
        self.opacity_label.setText(f"{round(self._opacity * 100)}%")

    def _update_transform_mode(self, zoom: float) -> None:
        # Smooth when shrinking (no aliasing), nearest when enlarging (pixels visible).
        mode = (Qt.TransformationMode.SmoothTransformation if zoom < 1.0
                else Qt.TransformationMode.FastTransformation)
        self.image_item.setTransformationMode(mode)
        self.overlay_item.setTransformationMode(mode)
        self.view.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoom < 1.0)

    def _choose_color(self) -> None:
        color = QColorDialog.getColor(QColor(*self._color), self, "Overlay colour")
        if color.isValid():
            self.set_overlay_color(color)
