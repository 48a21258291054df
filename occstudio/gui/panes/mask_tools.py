"""Mask editing tools on an :class:`~occstudio.gui.panes.image_pane.ImagePane`.

:class:`MaskTools` is an event filter installed on the pane's ``view`` (keys) and its
viewport (mouse). It turns mouse input into calls of the Qt-free tools of
:mod:`occstudio.core.edits` on the array the pane shows (``pane.mask()``, modified in
place) and hands each finished command to an :class:`EditTarget` (the
:class:`~occstudio.gui.editing.EditingController`, which owns the undo stacks):

* **brush** / **eraser**: a round brush of radius :attr:`MaskTools.radius` (``[`` and
  ``]`` change it); every mouse move paints the segment from the previous position
  (:func:`~occstudio.core.edits.paint_stroke`, bbox-local), and a
  :class:`~occstudio.core.edits.StrokeRecorder` merges the dabs into **one** undo command
  on release. Escape during a stroke cancels it.
* **polygon**: click vertices, Backspace removes the last, Enter (or a double-click)
  fills it (:func:`~occstudio.core.edits.fill_polygon`), Escape cancels.
* **fill**: a click fills the contiguous region under the cursor
  (:func:`~occstudio.core.edits.flood_fill`).
* **navigate**: the view's own behaviour (left-drag pans, wheel zooms, double-click
  fits).

Shift inverts the value of any tool (brush erases, eraser paints, polygon and fill
clear). With every tool the wheel zooms (:class:`~occstudio.gui.panes.image_pane.ImageView`
does it) and the view pans with the middle button or with Space + left drag.

While painting, only the stroke's bounding box of the overlay is recomputed
(:func:`refresh_overlay_region`): a full overlay refresh of a 4096² mask costs about
100 ms per mouse move, the region update well under a millisecond per dab.

Coordinates: the scene is in image pixels, pixel column ``x`` spans ``[x, x+1)``; the
tools of :mod:`occstudio.core.edits` put pixel centres on integers, hence the
``-0.5`` in :func:`scene_to_pixel`.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsView

from occstudio.core.edits import MaskEdit, StrokeRecorder, fill_polygon, flood_fill, paint_stroke
from occstudio.gui.panes.image_pane import ImagePane, overlay_rgba
from occstudio.gui.qimage import array_to_qimage

#: Tool names, in toolbar order.
TOOLS = ("navigate", "brush", "eraser", "polygon", "fill")
#: Tools that change the mask.
PAINT_TOOLS = ("brush", "eraser", "polygon", "fill")
#: Brush radii offered by ``[`` / ``]`` (pixels; 0 is a single pixel).
RADII = (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256)
DEFAULT_RADIUS = 8

Bbox = tuple[int, int, int, int]


class EditTarget(Protocol):
    """What :class:`MaskTools` edits: the controller that owns the arrays and undo stacks."""

    def editable_array(self) -> tuple[np.ndarray, str | None] | None:
        """The array to edit in place (the one the pane shows) and its layer name, or
        ``None`` when the current sample cannot be edited (the target says why)."""

    def commit_edit(self, edit: MaskEdit) -> None:
        """Record a finished command (already applied to the array)."""


def scene_to_pixel(point: QPointF) -> tuple[float, float]:
    """``(y, x)`` in the pixel-centre convention of :mod:`occstudio.core.edits`."""
    return (point.y() - 0.5, point.x() - 0.5)


def next_radius(radius: float, step: int) -> int:
    """The next brush radius of :data:`RADII` above (``step > 0``) or below ``radius``."""
    if step > 0:
        bigger = [r for r in RADII if r > radius]
        return bigger[0] if bigger else RADII[-1]
    smaller = [r for r in RADII if r < radius]
    return smaller[-1] if smaller else RADII[0]


def refresh_overlay_region(pane: ImagePane, bbox: Bbox | None) -> bool:
    """Redraw only ``bbox`` of the pane's overlay after its mask changed in place there.

    Recomputes the overlay colours of the box (grown by the contour width in contour
    mode, with a margin so the erosion near the box edge is exact) and paints them into
    the overlay pixmap with ``CompositionMode_Source``. Falls back to the pane's full
    :meth:`~occstudio.gui.panes.image_pane.ImagePane.refresh_overlay` when there is no
    overlay pixmap of the mask's size yet.

    Parameters
    ----------
    pane
        The pane whose ``mask()`` was modified in place.
    bbox
        ``(y0, y1, x0, x1)`` half-open box of the changed pixels; ``None`` refreshes all.

    Returns
    -------
    bool
        ``True`` when the region path was used, ``False`` for a full refresh.
    """
    mask = pane.mask()
    if bbox is None or mask is None or not pane.has_image() or not pane.overlay_visible():
        pane.refresh_overlay()
        return False
    item = pane.overlay_item
    pixmap = item.pixmap()
    height, width = mask.shape
    if pixmap.isNull() or (pixmap.height(), pixmap.width()) != (height, width):
        pane.refresh_overlay()
        return False
    mode = pane.overlay_mode()
    grow = pane.contour_width() if mode == "contour" else 0
    y0, y1, x0, x1 = bbox
    uy0, uy1 = max(0, y0 - grow), min(height, y1 + grow)
    ux0, ux1 = max(0, x0 - grow), min(width, x1 + grow)
    if uy0 >= uy1 or ux0 >= ux1:
        return True
    margin = grow + 1 if grow else 0
    cy0, cy1 = max(0, uy0 - margin), min(height, uy1 + margin)
    cx0, cx1 = max(0, ux0 - margin), min(width, ux1 + margin)
    crop = overlay_rgba(mask[cy0:cy1, cx0:cx1], pane.overlay_color(), pane.overlay_opacity(), mode, pane.contour_width())
    patch = np.ascontiguousarray(crop[uy0 - cy0 : uy1 - cy0, ux0 - cx0 : ux1 - cx0])
    image = array_to_qimage(patch)
    item.setPixmap(QPixmap())  # drop the item's reference so painting does not copy the pixmap
    painter = QPainter(pixmap)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
    painter.drawImage(QPoint(ux0, uy0), image)
    painter.end()
    item.setPixmap(pixmap)
    item.setVisible(True)
    return True


class MaskTools(QObject):
    """Brush, eraser, polygon and fill tools on an image pane (an event filter).

    Parameters
    ----------
    pane
        The pane to edit (its ``view`` and ``view.viewport()`` get the filter).
    target
        Who supplies the array and receives the commands.
    parent
        Qt parent.

    Signals
    -------
    tool_changed(str)
    radius_changed(int)
    message(str)
        A short hint for the status bar (e.g. "polygon: 3 vertices, Enter fills").
    """

    tool_changed = Signal(str)
    radius_changed = Signal(int)
    message = Signal(str)

    CURSOR_Z = 20.0

    def __init__(self, pane: ImagePane, target: EditTarget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pane = pane
        self.view = pane.view
        self.target = target
        self._tool = "navigate"
        self._radius = DEFAULT_RADIUS
        self._recorder: StrokeRecorder | None = None
        self._stroke_array: np.ndarray | None = None
        self._stroke_layer: str | None = None
        self._stroke_value = True
        self._last: tuple[float, float] | None = None
        self._vertices: list[tuple[float, float]] = []  # scene coordinates (x, y)
        self._mouse_scene: QPointF | None = None
        self._space = False
        self._pan_from: QPoint | None = None
        self._default_drag_mode = self.view.dragMode()

        self.cursor_item = QGraphicsEllipseItem()
        pen = QPen(QColor(255, 255, 255, 230), 0)
        pen.setCosmetic(True)
        self.cursor_item.setPen(pen)
        self.cursor_item.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        self.cursor_item.setZValue(self.CURSOR_Z)
        self.cursor_item.setVisible(False)
        self.polygon_item = QGraphicsPathItem()
        ppen = QPen(QColor(255, 230, 0), 0)
        ppen.setCosmetic(True)
        self.polygon_item.setPen(ppen)
        self.polygon_item.setBrush(QBrush(QColor(255, 230, 0, 50)))
        self.polygon_item.setZValue(self.CURSOR_Z)
        self.polygon_item.setVisible(False)
        pane.scene.addItem(self.cursor_item)
        pane.scene.addItem(self.polygon_item)

        self._viewport = self.view.viewport()
        self.view.setMouseTracking(True)
        self._viewport.setMouseTracking(True)
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view.installEventFilter(self)
        self.view.viewport().installEventFilter(self)

    # -- state -----------------------------------------------------------------------
    @property
    def tool(self) -> str:
        """The active tool (one of :data:`TOOLS`)."""
        return self._tool

    def set_tool(self, tool: str) -> None:
        """Activate ``tool``; a pending polygon or stroke is cancelled."""
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r} (expected one of {', '.join(TOOLS)})")
        if tool == self._tool:
            return
        self.cancel()
        self._tool = tool
        if tool == "navigate":
            self.view.setDragMode(self._default_drag_mode)
            self.view.viewport().unsetCursor()
        else:
            self.view.setDragMode(QGraphicsView.DragMode.NoDrag)
            self.view.viewport().setCursor(Qt.CursorShape.CrossCursor)
        self._update_cursor_item()
        self.tool_changed.emit(tool)
        self.message.emit(self.hint())

    @property
    def radius(self) -> int:
        """The brush radius in image pixels."""
        return self._radius

    def set_radius(self, radius: float) -> None:
        """Set the brush radius (pixels, clipped to ``0..`` the largest of :data:`RADII`)."""
        value = int(np.clip(round(float(radius)), 0, RADII[-1]))
        if value == self._radius:
            return
        self._radius = value
        self._update_cursor_item()
        self.radius_changed.emit(value)
        if self._tool in ("brush", "eraser"):
            self.message.emit(self.hint())

    def grow_brush(self) -> None:
        """``]``: the next larger radius."""
        self.set_radius(next_radius(self._radius, +1))

    def shrink_brush(self) -> None:
        """``[``: the next smaller radius."""
        self.set_radius(next_radius(self._radius, -1))

    def polygon_vertices(self) -> list[tuple[float, float]]:
        """The pending polygon's vertices as scene ``(x, y)``."""
        return list(self._vertices)

    def is_stroking(self) -> bool:
        """Whether a brush stroke is in progress."""
        return self._recorder is not None

    def hint(self) -> str:
        """A one-line usage hint for the active tool."""
        return {
            "navigate": "Navigate: drag to pan, wheel to zoom, double-click to fit",
            "brush": f"Brush (radius {self._radius} px): drag to paint, Shift erases, [ ] size",
            "eraser": f"Eraser (radius {self._radius} px): drag to erase, Shift paints, [ ] size",
            "polygon": "Polygon: click vertices, Backspace removes the last, Enter fills, Esc cancels",
            "fill": "Fill: click a region to fill it (Shift clears it)",
        }[self._tool]

    def cancel(self) -> None:
        """Cancel a stroke in progress (reverting its dabs) and a pending polygon."""
        if self._recorder is not None and self._stroke_array is not None:
            bbox = _union_bbox(self._recorder.edits)
            self._recorder.revert(self._stroke_array)
            refresh_overlay_region(self.pane, bbox)
        self._recorder = None
        self._stroke_array = None
        self._last = None
        if self._vertices:
            self._vertices = []
            self._update_polygon_item()

    # -- event filter ----------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        try:
            return self._filter(watched, event)
        except RuntimeError:  # the view is being destroyed (window closing)
            return False

    def _filter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if watched is self.view:
            if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
                return self._key_press(event)
            if kind == QEvent.Type.KeyRelease and isinstance(event, QKeyEvent):
                return self._key_release(event)
            if kind == QEvent.Type.FocusOut:
                self._space = False
            return False
        if watched is not self._viewport:
            return False
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick) and isinstance(event, QMouseEvent):
            return self._mouse_press(event, double=kind == QEvent.Type.MouseButtonDblClick)
        if kind == QEvent.Type.MouseMove and isinstance(event, QMouseEvent):
            return self._mouse_move(event)
        if kind == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent):
            return self._mouse_release(event)
        if kind == QEvent.Type.Leave:
            self._mouse_scene = None
            self._update_cursor_item()
            self._update_polygon_item()
        return False

    # -- keys ------------------------------------------------------------------------
    def _key_press(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space = True
                if self._tool != "navigate":
                    self.view.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return True
        if key == Qt.Key.Key_BracketRight:
            self.grow_brush()
            return True
        if key == Qt.Key.Key_BracketLeft:
            self.shrink_brush()
            return True
        if key == Qt.Key.Key_Escape and (self._recorder is not None or self._vertices):
            self.cancel()
            self.message.emit("Cancelled")
            return True
        if self._tool == "polygon":
            if key == Qt.Key.Key_Backspace and self._vertices:
                self._vertices.pop()
                self._update_polygon_item()
                self.message.emit(self._polygon_hint())
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._vertices:
                self.commit_polygon(invert=bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
                return True
        return False

    def _key_release(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space = False
                self._pan_from = None
                if self._tool != "navigate":
                    self.view.viewport().setCursor(Qt.CursorShape.CrossCursor)
            return True
        return False

    # -- mouse -----------------------------------------------------------------------
    def _scene_pos(self, event: QMouseEvent) -> QPointF:
        return self.view.mapToScene(event.position().toPoint())

    def _mouse_press(self, event: QMouseEvent, double: bool = False) -> bool:
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space and self._tool != "navigate"
        ):
            self._pan_from = event.position().toPoint()
            self.view.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return True
        if self._tool == "navigate" or button != Qt.MouseButton.LeftButton:
            return False
        self.view.setFocus(Qt.FocusReason.MouseFocusReason)
        scene = self._scene_pos(event)
        self._mouse_scene = scene
        invert = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if self._tool in ("brush", "eraser"):
            self._begin_stroke(scene, invert)
        elif self._tool == "polygon":
            if double and self._vertices:
                self.commit_polygon(invert)
            else:
                self._vertices.append((scene.x(), scene.y()))
                self._update_polygon_item()
                self.message.emit(self._polygon_hint())
        elif self._tool == "fill":
            self.fill_at(scene, invert)
        return True

    def _mouse_move(self, event: QMouseEvent) -> bool:
        if self._pan_from is not None:
            pos = event.position().toPoint()
            delta = pos - self._pan_from
            self._pan_from = pos
            self.view.auto_fit = False
            hbar, vbar = self.view.horizontalScrollBar(), self.view.verticalScrollBar()
            hbar.setValue(hbar.value() - delta.x())
            vbar.setValue(vbar.value() - delta.y())
            return True
        scene = self._scene_pos(event)
        self._mouse_scene = scene
        self._update_cursor_item()
        if self._tool == "polygon" and self._vertices:
            self._update_polygon_item()
        if self._recorder is not None:
            self._continue_stroke(scene)
            return True
        return self._tool != "navigate"

    def _mouse_release(self, event: QMouseEvent) -> bool:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            if self._tool == "navigate":
                self.view.viewport().unsetCursor()
            else:
                shape = Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.CrossCursor
                self.view.viewport().setCursor(shape)
            return True
        if self._recorder is not None and event.button() == Qt.MouseButton.LeftButton:
            self._end_stroke()
            return True
        return self._tool != "navigate" and event.button() == Qt.MouseButton.LeftButton

    # -- brush -----------------------------------------------------------------------
    def _begin_stroke(self, scene: QPointF, invert: bool) -> None:
        found = self.target.editable_array()
        if found is None:
            return
        array, layer = found
        self._stroke_array, self._stroke_layer = array, layer
        value = self._tool == "brush"
        self._stroke_value = (not value) if invert else value
        self._recorder = StrokeRecorder()
        point = scene_to_pixel(scene)
        self._last = point
        self._dab([point])

    def _continue_stroke(self, scene: QPointF) -> None:
        point = scene_to_pixel(scene)
        if self._last is not None and point == self._last:
            return
        segment = [self._last, point] if self._last is not None else [point]
        self._last = point
        self._dab(segment)

    def _dab(self, points: list[tuple[float, float]]) -> None:
        assert self._recorder is not None and self._stroke_array is not None
        edit = paint_stroke(self._stroke_array, points, self._radius, self._stroke_value, layer=self._stroke_layer)
        if edit is not None:
            self._recorder.add(edit)
            refresh_overlay_region(self.pane, edit.bbox)

    def _end_stroke(self) -> None:
        recorder = self._recorder
        self._recorder = None
        self._stroke_array = None
        self._last = None
        if recorder is None:
            return
        edit = recorder.finish()
        if edit is not None:
            self.target.commit_edit(edit)

    # -- polygon and fill ------------------------------------------------------------
    def _polygon_hint(self) -> str:
        n = len(self._vertices)
        return f"Polygon: {n} vertex{'es' if n != 1 else ''}; Enter fills, Backspace removes the last, Esc cancels"

    def add_vertex(self, scene: QPointF) -> None:
        """Add a polygon vertex at a scene point (what a click does with the polygon tool)."""
        self._vertices.append((scene.x(), scene.y()))
        self._update_polygon_item()

    def commit_polygon(self, invert: bool = False) -> MaskEdit | None:
        """Fill the pending polygon (at least 3 vertices) and clear it.

        Returns
        -------
        MaskEdit or None
            The committed command (``None`` when nothing changed or too few vertices).
        """
        vertices = self._vertices
        self._vertices = []
        self._update_polygon_item()
        if len(vertices) < 3:
            self.message.emit("A polygon needs at least 3 vertices")
            return None
        found = self.target.editable_array()
        if found is None:
            return None
        array, layer = found
        # scene (x, y) polygon corners -> (y, x) in the pixel-centre convention
        pts = [(y - 0.5, x - 0.5) for x, y in vertices]
        edit = fill_polygon(array, pts, not invert, layer=layer)
        if edit is not None:
            refresh_overlay_region(self.pane, edit.bbox)
            self.target.commit_edit(edit)
        return edit

    def fill_at(self, scene: QPointF, invert: bool = False) -> MaskEdit | None:
        """Flood-fill the contiguous region under a scene point (True, or False with ``invert``)."""
        found = self.target.editable_array()
        if found is None:
            return None
        array, layer = found
        y, x = math.floor(scene.y()), math.floor(scene.x())
        if not (0 <= y < array.shape[0] and 0 <= x < array.shape[1]):
            return None
        edit = flood_fill(array, y, x, not invert, layer=layer)
        if edit is not None:
            refresh_overlay_region(self.pane, edit.bbox)
            self.target.commit_edit(edit)
        return edit

    # -- drawing helpers -------------------------------------------------------------
    def _update_cursor_item(self) -> None:
        show = self._tool in ("brush", "eraser") and self._mouse_scene is not None and self.pane.has_image()
        self.cursor_item.setVisible(show)
        if show:
            assert self._mouse_scene is not None
            r = self._radius + 0.5
            c = self._mouse_scene
            self.cursor_item.setRect(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r))

    def _update_polygon_item(self) -> None:
        if not self._vertices:
            self.polygon_item.setVisible(False)
            self.polygon_item.setPath(QPainterPath())
            return
        path = QPainterPath(QPointF(*self._vertices[0]))
        for x, y in self._vertices[1:]:
            path.lineTo(x, y)
        if self._mouse_scene is not None:
            path.lineTo(self._mouse_scene)
        path.closeSubpath()
        for x, y in self._vertices:
            path.addEllipse(QPointF(x, y), 0.75, 0.75)
        self.polygon_item.setPath(path)
        self.polygon_item.setVisible(True)

    def remove(self) -> None:
        """Uninstall the filter and remove the helper items from the scene."""
        self.cancel()
        self.view.removeEventFilter(self)
        self.view.viewport().removeEventFilter(self)
        self.view.setDragMode(self._default_drag_mode)
        for item in (self.cursor_item, self.polygon_item):
            if item.scene() is not None:
                item.scene().removeItem(item)


class LayerOverlay:
    """The outline of a second mask layer (e.g. the amodal mask) drawn over a pane.

    A pixmap item in the pane's scene above the main overlay, showing the boundary of
    ``mask`` in ``color``; :meth:`set_mask` with ``None`` hides it.
    """

    Z = 1.5

    def __init__(self, pane: ImagePane, color: tuple[int, int, int] = (0, 200, 255), width: int = 1) -> None:
        self.pane = pane
        self.color = color
        self.width = width
        self.item = QGraphicsPixmapItem()
        self.item.setZValue(self.Z)
        self.item.setVisible(False)
        pane.scene.addItem(self.item)
        self._mask: np.ndarray | None = None

    def set_mask(self, mask: np.ndarray | None) -> None:
        """Outline ``mask`` (bool, the pane image's size), or hide the outline."""
        self._mask = mask
        self.refresh()

    def mask(self) -> np.ndarray | None:
        """The outlined mask, or ``None``."""
        return self._mask

    def refresh(self) -> None:
        """Redraw after the mask changed in place."""
        if self._mask is None or not self.pane.has_image():
            self.item.setPixmap(QPixmap())
            self.item.setVisible(False)
            return
        rgba = overlay_rgba(self._mask, self.color, 0.95, "contour", self.width)
        self.item.setPixmap(QPixmap.fromImage(array_to_qimage(rgba)))
        self.item.setVisible(True)

    def rendered(self) -> np.ndarray | None:
        """The outline layer (``H×W×4``) as drawn, or ``None`` when hidden."""
        if self._mask is None:
            return None
        return overlay_rgba(self._mask, self.color, 0.95, "contour", self.width)


def _union_bbox(edits: list[MaskEdit]) -> Bbox | None:
    if not edits:
        return None
    return (
        min(e.bbox[0] for e in edits),
        max(e.bbox[1] for e in edits),
        min(e.bbox[2] for e in edits),
        max(e.bbox[3] for e in edits),
    )
