"""The Scene dock: what the 3D view shows around the occupancy of the current sample.

Lists the sample's scene overlays (LiDAR and local-map clouds, depth points, camera
frustums with image thumbnails, the trajectory; see
:mod:`occstudio.builtins.scene_overlays`) with a show/hide tick each, the point colour
mode (height, intensity, RGB, label, one colour) and point size, and the camera tools:
look through a chosen camera, orbit. Overlays load in a background job when a sample is
shown; colour, size and visibility changes only restyle actors. Choices persist.
"""

from __future__ import annotations

from typing import Any

import pyvista as pv
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from occstudio.builtins.camera_views import CAMERA_FORMATS
from occstudio.builtins.scene_overlays import MODE_ARRAYS, POINT_COLOR_MODES, SceneOverlay, load_scene_overlays
from occstudio.gui import settings as app_settings

_MODE_TEXT = {"auto": "Auto (RGB, else height)", "height": "Height", "intensity": "Intensity", "rgb": "RGB", "label": "Label", "solid": "One colour"}
_CAMERA_COLOUR = "#d9480f"
_TRAJECTORY_COLOUR = "#1971c2"
_SOLID_POINTS = "#495057"
#: Overlays hidden until the user ticks them (they cover the voxels).
HIDDEN_BY_DEFAULT = ("Local map",)


def overlay_style(overlay: SceneOverlay, color_mode: str, point_size: int) -> dict[str, Any]:
    """The ``add_mesh`` keyword arguments that draw ``overlay`` in the chosen style.

    Parameters
    ----------
    overlay
        The overlay.
    color_mode
        One of :data:`~occstudio.builtins.scene_overlays.POINT_COLOR_MODES` or ``auto``
        (RGB when the cloud has colours, else height); a mode the cloud cannot show falls
        back to height.
    point_size
        Point size in pixels.
    """
    if overlay.kind == "points":
        if color_mode == "auto":
            color_mode = "rgb" if "rgb" in overlay.color_modes else "height"
        mode = color_mode if color_mode in overlay.color_modes else "height"
        style: dict[str, Any] = {"style": "points", "point_size": point_size}
        if mode == "solid":
            style["color"] = _SOLID_POINTS
        elif mode in ("rgb", "label"):
            style.update(scalars=MODE_ARRAYS[mode], rgb=True)
        else:
            style.update(scalars=MODE_ARRAYS[mode], cmap="turbo" if mode == "height" else "inferno")
            values = overlay.mesh.point_data[MODE_ARRAYS[mode]]
            if len(values):
                lo, hi = float(values.min()), float(values.max())
                style["clim"] = (lo, hi if hi > lo else lo + 1.0)
        return style
    if overlay.kind == "cameras":
        return {"color": _CAMERA_COLOUR, "line_width": 2}
    return {"color": _TRAJECTORY_COLOUR, "line_width": 3, "point_size": max(point_size + 4, 8),
            "render_points_as_spheres": True}


class SceneDock(QWidget):
    """Scene overlay list, point style and camera tools.

    Parameters
    ----------
    view3d
        The 3D view (:class:`~occstudio.gui.panes.view3d.View3D`).

    Signals
    -------
    changed()
        The overlays or their style changed (after the view was redrawn).
    """

    changed = Signal()

    def __init__(self, view3d: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view3d = view3d
        self.overlays: dict[str, SceneOverlay] = {}
        self._drawn: list[str] = []
        settings = app_settings.app_settings()
        self._hidden = set(_as_list(settings.value("scene/hidden", list(HIDDEN_BY_DEFAULT))))

        self.list = QListWidget()
        self.list.setToolTip("Scene overlays of the current sample: tick to show in the 3D view")
        self.list.itemChanged.connect(self._item_changed)
        self.color_combo = QComboBox()
        self.color_combo.setToolTip("What colours the points: height, LiDAR intensity, RGB, voxel class or one colour")
        for mode in ("auto", *POINT_COLOR_MODES):
            self.color_combo.addItem(_MODE_TEXT[mode], mode)
        mode = str(settings.value("scene/color_mode", "auto"))
        self.color_combo.setCurrentIndex(max(0, self.color_combo.findData(mode)))
        self.color_combo.currentIndexChanged.connect(lambda _i: self._style_changed())
        self.size_spin = QSpinBox()
        self.size_spin.setRange(1, 12)
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Point size of the clouds")
        self.size_spin.setValue(int(settings.value("scene/point_size", 2)))
        self.size_spin.valueChanged.connect(lambda _v: self._style_changed())
        self.camera_combo = QComboBox()
        self.camera_combo.setToolTip("The camera to look through")
        self.look_button = QPushButton("Look through")
        self.look_button.setToolTip("Put the 3D camera where the chosen camera is (View > Camera > Look through camera, 5)")
        self.look_button.clicked.connect(self.look_through)
        self.orbit_button = QPushButton("Orbit")
        self.orbit_button.setCheckable(True)
        self.orbit_button.setToolTip("Turn the 3D camera around the scene (View > Camera > Orbit, 6); any click stops it")
        self.orbit_button.toggled.connect(self.view3d.set_orbiting)
        self.view3d.orbiting_changed.connect(self._sync_orbit_button)

        form = QFormLayout()
        form.addRow("Colour points by", self.color_combo)
        form.addRow("Point size", self.size_spin)
        cameras = QHBoxLayout()
        cameras.addWidget(self.camera_combo, 1)
        cameras.addWidget(self.look_button)
        cameras.addWidget(self.orbit_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list, 1)
        layout.addLayout(form)
        layout.addLayout(cameras)
        self._update_controls()

    # state --------------------------------------------------------------------------
    @property
    def color_mode(self) -> str:
        """The chosen point colour mode."""
        return str(self.color_combo.currentData())

    def set_color_mode(self, mode: str) -> None:
        """Choose the point colour mode (one of ``POINT_COLOR_MODES``)."""
        self.color_combo.setCurrentIndex(self.color_combo.findData(mode))

    def is_shown(self, name: str) -> bool:
        """Whether overlay ``name`` is ticked."""
        return name not in self._hidden

    def set_shown(self, name: str, shown: bool) -> None:
        """Tick or untick overlay ``name`` (remembered for the next samples)."""
        item = self._item(name)
        if item is not None:
            item.setCheckState(Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)
        else:
            self._set_hidden(name, not shown)

    def _item(self, name: str) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == name:
                return item
        return None

    def _set_hidden(self, name: str, hidden: bool) -> None:
        (self._hidden.add if hidden else self._hidden.discard)(name)
        settings = app_settings.app_settings()
        settings.setValue("scene/hidden", sorted(self._hidden))

    # content ------------------------------------------------------------------------
    def set_overlays(self, overlays: list[SceneOverlay]) -> None:
        """Replace the overlays (a new sample) and draw the ticked ones."""
        self.overlays = {o.name: o for o in overlays}
        self.list.blockSignals(True)
        self.list.clear()
        for overlay in overlays:
            item = QListWidgetItem(f"{overlay.name} — {overlay.summary}" if overlay.summary else overlay.name)
            item.setData(Qt.ItemDataRole.UserRole, overlay.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if self.is_shown(overlay.name) else Qt.CheckState.Unchecked)
            tip = f"{overlay.name}: {overlay.summary}"
            if overlay.color_modes:
                tip += f" · colours: {', '.join(_MODE_TEXT[m] for m in overlay.color_modes)}"
            item.setToolTip(tip)
            self.list.addItem(item)
        self.list.blockSignals(False)
        cameras = [name for o in overlays for name in o.cameras]
        previous = self.camera_combo.currentText()
        self.camera_combo.clear()
        self.camera_combo.addItems(cameras)
        if previous in cameras:
            self.camera_combo.setCurrentText(previous)
        self._redraw()

    def clear(self) -> None:
        """No sample: no overlays."""
        self.set_overlays([])

    def _item_changed(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        self._set_hidden(name, item.checkState() != Qt.CheckState.Checked)
        self._redraw()

    def _style_changed(self) -> None:
        settings = app_settings.app_settings()
        settings.setValue("scene/color_mode", self.color_mode)
        settings.setValue("scene/point_size", self.size_spin.value())
        self._redraw()

    def _redraw(self) -> None:
        view = self.view3d
        for name in self._drawn:  # only what this dock drew: other overlays stay
            view.remove_overlay(name)
        self._drawn = []
        size = self.size_spin.value()

        def draw(name: str, mesh: Any, **style: Any) -> None:
            view.set_overlay(name, mesh, **style)
            self._drawn.append(name)

        for name, overlay in self.overlays.items():
            if not self.is_shown(name):
                continue
            if overlay.kind != "images":
                draw(name, overlay.mesh, **overlay_style(overlay, self.color_mode, size))
            if overlay.kind == "lines" and "current" in overlay.mesh.point_data:
                current = overlay.mesh.points[overlay.mesh.point_data["current"] > 0]
                if len(current):
                    draw(f"{name}:current", pv.PolyData(current), color="#e03131",
                         point_size=max(size + 8, 12), render_points_as_spheres=True, style="points")
            for k, (quad, image) in enumerate(overlay.thumbnails):
                draw(f"{name}:thumbnail{k}", quad, texture=image, lighting=False, opacity=0.9)
        self._update_controls()
        view.render()
        self.changed.emit()

    def _update_controls(self) -> None:
        modes = {m for o in self.overlays.values() for m in o.color_modes}
        model = self.color_combo.model()
        for row in range(self.color_combo.count()):
            enabled = not modes or self.color_combo.itemData(row) in modes | {"auto"}
            model.item(row).setEnabled(enabled)
        has_cameras = self.camera_combo.count() > 0
        self.camera_combo.setEnabled(has_cameras)
        self.look_button.setEnabled(has_cameras)

    # camera tools -------------------------------------------------------------------
    def camera(self, name: str | None = None) -> Any:
        """The :class:`~occstudio.core.geometry.Camera` called ``name`` (default: the chosen one)."""
        name = name or self.camera_combo.currentText()
        for overlay in self.overlays.values():
            if name in overlay.cameras:
                return overlay.cameras[name]
        return None

    def look_through(self) -> bool:
        """Look through the chosen camera (hiding the camera images, which would cover the
        view); ``False`` when the sample has none."""
        camera = self.camera()
        if camera is None:
            return False
        if "Camera images" in self.overlays:
            self.set_shown("Camera images", False)  # the chosen camera's image would fill the view
        self.view3d.look_through(camera)
        return True

    def _sync_orbit_button(self, orbiting: bool) -> None:
        if self.orbit_button.isChecked() != orbiting:
            self.orbit_button.setChecked(orbiting)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]


class SceneInstaller(QObject):
    """Keeps the Scene dock in step with the current sample (one background job each)."""

    def __init__(self, window: Any, dock_widget: SceneDock, dock: QDockWidget) -> None:
        super().__init__(window)
        self.window, self.widget, self.dock = window, dock_widget, dock
        self.actions: dict[str, QAction] = {}
        window.controller.content_ready.connect(self.on_content)
        window.controller.dataset_opened.connect(self.on_dataset)

    def on_dataset(self, dataset: Any) -> None:
        """A dataset was opened: no overlays yet; show the dock for formats that have some."""
        self.widget.clear()
        self.dock.setVisible(getattr(dataset, "format", None) in CAMERA_FORMATS)

    def on_content(self, content: dict[str, Any]) -> Any:
        """A sample is shown: load its overlays (cameras, clouds, trajectory) in the background."""
        controller = self.window.controller
        dataset = controller.document.dataset
        try:
            sample = dataset.get(content.get("id")) if dataset is not None else None
        except KeyError:
            sample = None
        if sample is None:
            self.widget.clear()
            return None

        def show(result: dict[str, Any]) -> None:
            if controller.document.current_id not in (None, result["id"]):
                return
            for error in result["errors"]:
                self.window.notifications.warning(error)
            self.widget.set_overlays(result["overlays"])

        return self.window.jobs.submit(
            f"Scene of {sample.id}", load_scene_overlays, dataset, sample, controller.cache,
            key="scene", on_result=show,
        )


def install_scene(window: Any) -> SceneInstaller:
    """Add the "Scene" dock (``window.docks["scene"]``) and its camera actions.

    Parameters
    ----------
    window
        The main window (needs ``controller``, ``jobs``, ``notifications``, ``view3d``
        and ``docks``).

    Returns
    -------
    SceneInstaller
        Holds ``widget`` (the :class:`SceneDock`), ``dock`` and ``actions``:
        "look_through" (5) and "orbit" (6), for the window's View > Camera menu.
    """
    widget = SceneDock(window.view3d)
    dock = QDockWidget("Scene", window)
    dock.setObjectName("dock_scene")
    dock.setWidget(widget)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.docks["scene"] = dock
    dock.setVisible(False)
    installer = SceneInstaller(window, widget, dock)
    look = QAction("Look through camera", window)
    look.setShortcut("5")
    look.setStatusTip("Put the 3D camera where the camera chosen in the Scene dock is")
    look.triggered.connect(widget.look_through)
    orbit = QAction("Orbit", window)
    orbit.setShortcut("6")
    orbit.setCheckable(True)
    orbit.setStatusTip("Turn the 3D camera around the scene until you click in the view")
    orbit.toggled.connect(widget.orbit_button.setChecked)
    widget.orbit_button.toggled.connect(orbit.setChecked)
    installer.actions = {"look_through": look, "orbit": orbit}
    return installer
