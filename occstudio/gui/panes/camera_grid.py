"""The camera panes: every camera image of a sample with projected LiDAR / voxel centres.

:class:`CameraGrid` shows the :class:`~occstudio.builtins.camera_views.CameraView` list of
a sample in a grid (2×3 for nuScenes' six cameras, 1×N otherwise) or in tabs. Each
camera pane is an :class:`~occstudio.gui.panes.image_pane.ImagePane` with two extra
pixmap items over the image, "LiDAR points" and "Voxel centres", coloured by depth (near =
red, far = blue). They are drawn once per sample, so toggling them only flips their
visibility. The "Depth" and "Elevation" tabs show the maps with a colormap, a colour bar
and the value under the cursor in the status line.

:func:`install_camera_grid` adds the grid as the "Cameras" dock of the main window and
loads the views of the current sample in a background job.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from occstudio.builtins.camera_views import CAMERA_FORMATS, CameraView, load_camera_views
from occstudio.core.compute.projection import colorize_map, depth_colors, readout, splat_points
from occstudio.gui.panes.image_pane import ImagePane, composite_overlay
from occstudio.gui.qimage import array_to_qimage

#: The overlays of a camera pane: key -> checkbox text.
OVERLAYS = {"lidar": "LiDAR points", "voxels": "Voxel centres"}
#: Layouts of the camera panes.
LAYOUTS = ("grid", "tabs")
#: Colour of map pixels without a value.
EMPTY_RGB = (28, 28, 28)
#: Opacity of the projected points (0-255): the image stays readable beneath them.
OVERLAY_ALPHA = 230
#: Width given to the "Cameras" dock when it first appears (pixels).
DOCK_WIDTH = 440
#: A press and release closer than this (screen pixels) is a click, not a pan.
CLICK_SLOP = 4


def splat_radius(width: int, height: int) -> int:
    """Half-size in pixels of a projected point, so points stay visible when scaled down."""
    return int(min(2, round(max(width, height) / 600)))


def grid_shape(n: int) -> tuple[int, int]:
    """``(rows, columns)`` of the camera grid: 2×3 for six cameras, 1×N otherwise."""
    return (2, 3) if n == 6 else (1, max(1, n))


def map_picture(values: np.ndarray, reverse: bool = False) -> tuple[np.ndarray, float, float]:
    """A map's displayed RGB (colormap over a dark background) and its colour range."""
    valid = np.isfinite(values) & (values != 0)
    lo = float(np.percentile(values[valid], 2)) if valid.any() else 0.0
    hi = float(np.percentile(values[valid], 98)) if valid.any() else 1.0
    rgba = colorize_map(values, lo, hi, reverse=reverse)
    base = np.empty(values.shape + (3,), np.uint8)
    base[:] = EMPTY_RGB
    return composite_overlay(base, rgba), lo, hi


class _MouseFilter(QObject):
    """Reports hover positions and clicks (not drags) on a graphics view's viewport."""

    def __init__(self, pane: ImagePane, on_move: Any, on_click: Any | None = None) -> None:
        super().__init__(pane)
        self._pane, self._on_move, self._on_click = pane, on_move, on_click
        self._press: QPointF | None = None
        pane.view.viewport().setMouseTracking(True)
        pane.view.viewport().installEventFilter(self)

    def _image_xy(self, event: QMouseEvent) -> tuple[float, float]:
        scene = self._pane.view.mapToScene(event.position().toPoint())
        # scene x spans [i, i+1) for pixel i; image coordinates put pixel centres at i
        return float(scene.x()) - 0.5, float(scene.y()) - 0.5

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.MouseMove:
            self._on_move(*self._image_xy(event))
        elif kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position()
        elif kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            press, self._press = self._press, None
            if press is not None and self._on_click is not None:
                delta = event.position() - press
                if abs(delta.x()) + abs(delta.y()) <= CLICK_SLOP:
                    self._on_click(*self._image_xy(event))
        elif kind == QEvent.Type.Leave:
            self._on_move(float("nan"), float("nan"))
        return False


#: Colour of the linked-view marks (a clicked pixel, a picked voxel's projection).
MARKER_COLOUR = "#ff2d55"


class CameraPane(ImagePane):
    """One camera image with its "LiDAR points" and "Voxel centres" overlay items.

    Attributes
    ----------
    camera_view : CameraView
        What the pane shows.
    overlay_items : dict[str, QGraphicsPixmapItem]
        ``"lidar"`` and ``"voxels"``: the projected points, above the image.
    layers : dict[str, numpy.ndarray | None]
        The RGBA layers drawn in those items (``None`` when nothing projects).
    """

    def __init__(self, view: CameraView, parent: QWidget | None = None) -> None:
        super().__init__(view.name, controls=False, parent=parent)
        self.camera_view = view
        self.overlay_items: dict[str, QGraphicsPixmapItem] = {}
        self.layers: dict[str, np.ndarray | None] = {}
        for z, key in enumerate(OVERLAYS, start=2):
            item = QGraphicsPixmapItem()
            item.setZValue(z)
            self.scene.addItem(item)
            self.overlay_items[key] = item
        placeholder = view.error or "No image"
        self.set_image(view.image, placeholder=placeholder)
        if view.image is not None and view.error:
            self.set_note("problem", view.error)
        counts = []
        if view.image is not None:
            h, w = view.image.shape[:2]
            radius = splat_radius(w, h)
            for key, uv, depth in (
                ("lidar", view.lidar_uv, view.lidar_depth),
                ("voxels", view.voxel_uv, view.voxel_depth),
            ):
                if len(uv) == 0:
                    self.layers[key] = None
                    continue
                # voxel centres are dense (one per visible voxel): draw them smaller
                r = radius if key == "lidar" else max(0, radius - 1)
                rgba = np.empty((len(uv), 4), np.uint8)
                rgba[:, :3] = depth_colors(depth)
                rgba[:, 3] = OVERLAY_ALPHA
                layer = splat_points((h, w), uv, rgba, radius=r, depth=depth)
                self.layers[key] = layer
                self.overlay_items[key].setPixmap(QPixmap.fromImage(array_to_qimage(layer)))
                counts.append(f"{len(uv):,} {OVERLAYS[key].split()[0].lower()}")
        tip = view.name + (f" — {', '.join(counts)} projected" if counts else "")
        self.title_label.setToolTip(tip)
        self.marker = QGraphicsPathItem()
        pen = QPen(QColor(MARKER_COLOUR), 2)
        pen.setCosmetic(True)  # the same width at every zoom
        self.marker.setPen(pen)
        self.marker.setZValue(10)
        self.marker.setVisible(False)
        self.scene.addItem(self.marker)

    def set_marker(self, uv: tuple[float, float] | None) -> None:
        """Mark image point ``uv`` (pixel centres at integers) with a ring and cross; ``None`` clears."""
        if uv is None or self.camera_view.image is None:
            self.marker.setVisible(False)
            return
        h, w = self.camera_view.image.shape[:2]
        r = max(4.0, 0.02 * max(w, h))
        x, y = uv[0] + 0.5, uv[1] + 0.5
        path = QPainterPath()
        path.addEllipse(QPointF(x, y), r, r)
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            path.moveTo(x + dx * r * 0.5, y + dy * r * 0.5)
            path.lineTo(x + dx * r * 1.8, y + dy * r * 1.8)
        self.marker.setPath(path)
        self.marker.setVisible(True)

    def marker_position(self) -> tuple[float, float] | None:
        """The marked image point, or ``None``."""
        if not self.marker.isVisible():
            return None
        centre = self.marker.path().boundingRect().center()
        return centre.x() - 0.5, centre.y() - 0.5

    def set_overlay_shown(self, key: str, shown: bool) -> None:
        """Show or hide one overlay (``"lidar"`` or ``"voxels"``)."""
        self.overlay_items[key].setVisible(bool(shown) and self.layers.get(key) is not None)

    def overlay_shown(self, key: str) -> bool:
        """Whether an overlay is drawn."""
        return self.overlay_items[key].isVisible() and self.layers.get(key) is not None

    def rendered(self) -> np.ndarray:
        """The displayed RGB at image resolution (image with the visible overlays), in numpy."""
        out = self.rendered_overlay()
        for key in OVERLAYS:
            layer = self.layers.get(key)
            if layer is not None and self.overlay_items[key].isVisible():
                out = composite_overlay(out, layer)
        return out


class MapPane(QWidget):
    """A depth or elevation map with a colormap, a colour bar and a value readout."""

    hovered = Signal(str)

    def __init__(self, title: str, reverse: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: np.ndarray | None = None
        self.reverse = reverse
        self.pane = ImagePane(title, controls=False)
        self.bar = QLabel()
        self.bar.setFixedHeight(14)
        self.bar.setScaledContents(True)
        self.low_label, self.high_label = QLabel(), QLabel()
        bar_row = QHBoxLayout()
        bar_row.setContentsMargins(4, 0, 4, 2)
        bar_row.addWidget(self.low_label)
        bar_row.addWidget(self.bar, 1)
        bar_row.addWidget(self.high_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.pane, 1)
        layout.addLayout(bar_row)
        self._filter = _MouseFilter(self.pane, self.show_value_at)
        self.text = ""

    def set_values(self, values: np.ndarray | None, placeholder: str = "") -> None:
        """Show a float map (metres, 0 = empty), or a placeholder when ``None``."""
        self.values = None if values is None else np.asarray(values, dtype=np.float32)
        if self.values is None:
            self.pane.set_image(None, placeholder or "No map")
            self.bar.clear()
            self.low_label.setText("")
            self.high_label.setText("")
            return
        picture, lo, hi = map_picture(self.values, self.reverse)
        self.pane.set_image(picture)
        ramp = np.linspace(lo, hi, 256, dtype=float)[None, :].repeat(2, axis=0)
        bar = colorize_map(ramp if hi > lo else np.full((2, 256), 1.0), lo, hi, reverse=self.reverse)
        self.bar.setPixmap(QPixmap.fromImage(array_to_qimage(np.ascontiguousarray(bar[:, :, :3]))))
        self.low_label.setText(f"{lo:.1f} m")
        self.high_label.setText(f"{hi:.1f} m")

    def show_value_at(self, x: float, y: float) -> str:
        """Read the value at image coordinates ``(x, y)`` and announce it (see :func:`readout`)."""
        self.text = readout(self.values, x, y)
        self.hovered.emit(self.text)
        return self.text


class CameraGrid(QWidget):
    """Camera images with toggleable projected overlays, plus depth and elevation maps.

    Signals
    -------
    pixel_clicked(str, float, float)
        A click (not a drag) on a camera image: camera name and image coordinates
        (pixel centres at integers).
    """

    pixel_clicked = Signal(str, float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.views: list[CameraView] = []
        self.panes: list[CameraPane] = []
        self._filters: list[_MouseFilter] = []
        self._layout_mode = "grid"

        self.checks: dict[str, QCheckBox] = {}
        toolbar = QHBoxLayout()
        toolbar.setContentsMargins(4, 2, 4, 0)
        for key, text in OVERLAYS.items():
            check = QCheckBox(text)
            check.setChecked(True)
            check.setToolTip(f"Show {text.lower()} projected into the images (near = red, far = blue)")
            check.toggled.connect(lambda on, k=key: self.set_overlay_shown(k, on))
            toolbar.addWidget(check)
            self.checks[key] = check
        toolbar.addStretch(1)
        toolbar.addWidget(QLabel("Layout"))
        self.layout_combo = QComboBox()
        self.layout_combo.addItem("Grid", "grid")
        self.layout_combo.addItem("Tabs", "tabs")
        self.layout_combo.setToolTip("Show the cameras side by side or one per tab")
        self.layout_combo.currentIndexChanged.connect(
            lambda _i: self.set_layout_mode(self.layout_combo.currentData())
        )
        toolbar.addWidget(self.layout_combo)

        self.tabs = QTabWidget()
        self.cameras_page = QWidget()
        self._cameras_layout = QVBoxLayout(self.cameras_page)
        self._cameras_layout.setContentsMargins(0, 0, 0, 0)
        self._container: QWidget | None = None
        self.depth_pane = MapPane("Depth (near = red)")
        self.elevation_pane = MapPane("Elevation (high = red)", reverse=True)
        self.tabs.addTab(self.cameras_page, "Cameras")
        self.tabs.addTab(self.depth_pane, "Depth")
        self.tabs.addTab(self.elevation_pane, "Elevation")
        self.status_label = QLabel("")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for pane in (self.depth_pane, self.elevation_pane):
            pane.hovered.connect(self.status_label.setText)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(toolbar)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status_label)
        self.set_views([], "No camera images")

    # -- content ------------------------------------------------------------------------
    def set_views(self, views: list[CameraView], placeholder: str = "") -> None:
        """Show the cameras of a sample (``[]`` shows ``placeholder``)."""
        self.views = list(views)
        self._build_panes(placeholder or "No camera images for this sample")
        depth = next((v for v in self.views if v.depth_map is not None), None)
        elevation = next((v for v in self.views if v.elevation_map is not None), None)
        self.depth_pane.set_values(None if depth is None else depth.depth_map, "No depth map")
        self.elevation_pane.set_values(None if elevation is None else elevation.elevation_map,
                                       "No elevation map")
        if depth is not None:
            self.depth_pane.pane.set_title(f"Depth of {depth.name} (near = red)")
        self.tabs.setTabEnabled(1, depth is not None)
        self.tabs.setTabEnabled(2, elevation is not None)
        if not self.tabs.isTabEnabled(self.tabs.currentIndex()):
            self.tabs.setCurrentIndex(0)
        for key, check in self.checks.items():
            check.setEnabled(any(p.layers.get(key) is not None for p in self.panes))
        self.status_label.setText("")

    def clear(self, placeholder: str = "") -> None:
        """Remove all views."""
        self.set_views([], placeholder)

    def _build_panes(self, placeholder: str) -> None:
        if self._container is not None:
            self._cameras_layout.removeWidget(self._container)
            self._container.deleteLater()
        self.panes, self._filters = [], []
        if not self.views:
            container: QWidget = QLabel(placeholder)
            container.setAlignment(Qt.AlignmentFlag.AlignCenter)
            container.setWordWrap(True)
        elif self._layout_mode == "tabs":
            container = QTabWidget()
            container.setDocumentMode(True)
        else:
            container = QWidget()
            grid = QGridLayout(container)
            grid.setContentsMargins(0, 0, 0, 0)
            grid.setSpacing(2)
        rows, cols = grid_shape(len(self.views))
        for i, view in enumerate(self.views):
            pane = CameraPane(view)
            for key, check in self.checks.items():
                pane.set_overlay_shown(key, check.isChecked())
            self._filters.append(_MouseFilter(
                pane,
                lambda x, y, p=pane: self._hover(p, x, y),
                lambda x, y, name=view.name: self.pixel_clicked.emit(name, x, y),
            ))
            if isinstance(container, QTabWidget):
                container.addTab(pane, view.name)
            else:
                container.layout().addWidget(pane, i // cols, i % cols)
            self.panes.append(pane)
        self._container = container
        self._cameras_layout.addWidget(container)

    def _hover(self, pane: CameraPane, x: float, y: float) -> None:
        view = pane.camera_view
        if view.image is None or not (np.isfinite(x) and np.isfinite(y)):
            self.status_label.setText("")
            return
        text = ""
        if view.depth_map is not None and view.depth_map.shape[:2] == view.image.shape[:2]:
            text = readout(view.depth_map, x, y)
        if not text:
            h, w = view.image.shape[:2]
            col, row = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
            text = f"x {col}, y {row}" if 0 <= col < w and 0 <= row < h else ""
        self.status_label.setText(f"{view.name}  {text}" if text else "")

    # -- settings -----------------------------------------------------------------------
    def set_overlay_shown(self, key: str, shown: bool) -> None:
        """Show or hide an overlay (``"lidar"`` or ``"voxels"``) in every camera pane."""
        check = self.checks[key]
        if check.isChecked() != bool(shown):
            check.setChecked(bool(shown))  # re-enters through toggled
            return
        for pane in self.panes:
            pane.set_overlay_shown(key, shown)

    def set_layout_mode(self, mode: str) -> None:
        """Show the camera panes in a ``"grid"`` or in ``"tabs"``."""
        if mode not in LAYOUTS:
            raise ValueError(f"unknown layout {mode!r} (expected one of {LAYOUTS})")
        if mode == self._layout_mode:
            return
        self._layout_mode = mode
        self.layout_combo.blockSignals(True)
        self.layout_combo.setCurrentIndex(self.layout_combo.findData(mode))
        self.layout_combo.blockSignals(False)
        self._build_panes("No camera images for this sample")

    def layout_mode(self) -> str:
        """``"grid"`` or ``"tabs"``."""
        return self._layout_mode

    def set_markers(self, points: dict[str, tuple[float, float] | None]) -> None:
        """Mark one image point per camera (name → ``(u, v)`` or ``None``); cameras not
        named lose their mark."""
        for pane in self.panes:
            pane.set_marker(points.get(pane.camera_view.name))

    def pane(self, name: str) -> CameraPane:
        """The pane of the camera called ``name``."""
        for pane in self.panes:
            if pane.camera_view.name == name:
                return pane
        raise KeyError(name)


class CameraGridInstaller(QObject):
    """Keeps the "Cameras" dock of a main window in step with the current sample."""

    def __init__(self, window: Any, grid: CameraGrid, dock: QDockWidget) -> None:
        super().__init__(window)
        self.window, self.grid, self.dock = window, grid, dock
        self._sized = False
        window.controller.content_ready.connect(self.on_content)
        window.controller.dataset_opened.connect(self.on_dataset)

    def on_dataset(self, dataset: Any) -> None:
        """A dataset was opened: clear the grid; show the dock for formats with cameras."""
        supported = getattr(dataset, "format", None) in CAMERA_FORMATS
        self.grid.clear("Loading…" if supported else "No camera images in this dataset")
        first = supported and not self.dock.isVisible() and not self._sized
        self.dock.setVisible(supported)
        if first and not self.dock.isFloating():
            self._sized = True
            self.window.resizeDocks([self.dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)

    def on_content(self, content: dict[str, Any]) -> Any:
        """A sample's content is shown: load its camera views in the background."""
        controller = self.window.controller
        dataset = controller.document.dataset
        if dataset is None or dataset.format not in CAMERA_FORMATS:
            self.grid.clear("No camera images in this dataset")
            return None
        sample_id = content.get("id")
        try:
            sample = dataset.get(sample_id)
        except KeyError:
            return None

        def show(views: list[CameraView], sid: str = sample_id) -> None:
            if controller.document.current_id in (None, sid):
                self.grid.set_views(views)

        return self.window.jobs.submit(
            f"Cameras of {sample_id}", load_camera_views, dataset, sample, controller.cache,
            key="cameras", on_result=show,
        )


def install_camera_grid(window: Any) -> CameraGridInstaller:
    """Add the "Cameras" dock (``window.docks["cameras"]``) and keep it loaded.

    Parameters
    ----------
    window
        The main window (needs ``controller``, ``jobs`` and ``docks``).

    Returns
    -------
    CameraGridInstaller
        Holds ``grid`` (the :class:`CameraGrid`) and ``dock``.
    """
    grid = CameraGrid()
    dock = QDockWidget("Cameras", window)
    dock.setObjectName("dock_cameras")
    dock.setWidget(grid)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.docks["cameras"] = dock
    dock.setVisible(False)
    return CameraGridInstaller(window, grid, dock)
