"""The 3D view: a pyvistaqt ``QtInteractor`` showing GT and prediction side by side.

Two renderers share one camera (linked views). With no prediction the GT renderer
takes the whole viewport. Actors are only touched on the GUI thread: callers hand in
ready ``pv.PolyData`` built by workers.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from pyvista.plotting.tools import create_axes_marker
from pyvistaqt import QtInteractor
from vtkmodules.vtkInteractionWidgets import vtkOrientationMarkerWidget
from vtkmodules.vtkRenderingCore import vtkCellPicker

from occstudio.render.lod import DEFAULT_MAX_MOVING_POINTS, PointCloudLOD

_BACKGROUND = "#f4f5f7"


class View3D(QWidget):
    """GT | prediction 3D viewer with linked cameras, camera reset and axes.

    Signals
    -------
    drawn()
        Emitted after the view rendered new content.
    picked(dict)
        A right click hit something (see :func:`pick_info`).
    hovered(dict)
        The mouse rests over something (no button pressed; debounced).
    orbiting_changed(bool)
        The orbit animation started or stopped.
    """

    drawn = Signal()
    picked = Signal(object)
    hovered = Signal(object)
    orbiting_changed = Signal(bool)

    #: Prefix of the names of scene overlay actors (kept across samples, not fitted).
    OVERLAY_PREFIX = "overlay:"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        self.title = QLabel("3D view")
        self.reset_button = QPushButton("Reset camera")
        self.reset_button.setToolTip("Fit the camera to the shown meshes (R)")
        self.reset_button.clicked.connect(self.reset_camera)
        self.axes_box = QCheckBox("Axes")
        self.axes_box.setToolTip("Show the orientation axes")
        self.axes_box.setChecked(True)
        self.axes_box.toggled.connect(self.set_axes_visible)
        bar.addWidget(self.title, 1)
        bar.addWidget(self.axes_box)
        bar.addWidget(self.reset_button)
        layout.addLayout(bar)
        self.plotter = QtInteractor(self, shape=(1, 2), border=False)
        self.plotter.set_background(_BACKGROUND)
        self.plotter.link_views()
        layout.addWidget(self.plotter.interactor, 1)
        self._has_gt = False
        self._has_pred = False
        self._axes_visible = True
        self._axes_marker = self._make_axes_marker()
        self._picker = vtkCellPicker()
        self._picker.SetTolerance(0.002)
        self.plotter.iren.interactor.AddObserver("RightButtonPressEvent", self._on_right_click)
        for event in ("LeftButtonPressEvent", "MiddleButtonPressEvent", "MouseWheelForwardEvent",
                      "MouseWheelBackwardEvent"):
            self.plotter.iren.interactor.AddObserver(event, self._user_moved_camera)
        self.plotter.iren.interactor.AddObserver("MouseMoveEvent", self._on_mouse_move)
        self.hover_picking = True
        self._hover_timer = QTimer(self)
        self._hover_timer.setSingleShot(True)
        self._hover_timer.setInterval(120)
        self._hover_timer.timeout.connect(self._hover_pick)
        self._orbit_timer = QTimer(self)
        self._orbit_timer.setInterval(40)
        self._orbit_timer.timeout.connect(self._orbit_step)
        self.orbit_degrees_per_step = 1.0
        #: Point overlays bigger than this are drawn decimated while the camera moves.
        self.lod_threshold = DEFAULT_MAX_MOVING_POINTS
        self._lods: dict[str, PointCloudLOD] = {}
        self.plotter.interactor.setToolTip(
            "Left drag: rotate · wheel: zoom · middle drag: pan · hover or right click: pick")
        self._set_split(False)
        self._show_empty_text()

    # layout -------------------------------------------------------------
    def _set_split(self, split: bool) -> None:
        left, right = self.plotter.renderers[0], self.plotter.renderers[1]
        if split:
            left.SetViewport(0.0, 0.0, 0.5, 1.0)
            right.SetViewport(0.5, 0.0, 1.0, 1.0)
            right.SetDraw(True)
        else:
            left.SetViewport(0.0, 0.0, 1.0, 1.0)
            right.SetViewport(0.999, 0.999, 1.0, 1.0)
            right.SetDraw(False)
        self.split = split
        self._place_axes()

    def _make_axes_marker(self) -> vtkOrientationMarkerWidget:
        """One orientation marker tied to the left renderer (the cameras are linked).

        Made by hand so that its renderer is set before it is enabled (VTK places it
        relative to the renderer it had when enabled).
        """
        widget = vtkOrientationMarkerWidget()
        widget.SetOrientationMarker(create_axes_marker(line_width=2))
        widget.SetInteractor(self.plotter.iren.interactor)
        widget.SetCurrentRenderer(self.plotter.renderers[0])
        return widget

    def _place_axes(self) -> None:
        """Re-seat the marker in the left renderer's corner after a layout change."""
        widget = self._axes_marker
        widget.SetEnabled(0)
        widget.SetViewport(0.0, 0.0, 0.3 if self.split else 0.16, 0.22)
        if self._axes_visible:
            widget.SetEnabled(1)
            widget.SetInteractive(0)

    def _show_empty_text(self) -> None:
        self.plotter.subplot(0, 0)
        self.plotter.add_text("No 3D data for this sample", name="empty", font_size=10, color="#555555")

    # content ------------------------------------------------------------
    def set_meshes(
        self,
        gt: pv.DataSet | None,
        prediction: pv.DataSet | None = None,
        gt_title: str = "GT",
        prediction_title: str = "Prediction",
        reset_camera: bool = True,
        prediction_legend: list[tuple[str, tuple[int, int, int]]] | None = None,
    ) -> None:
        """Show ``gt`` (left) and ``prediction`` (right; hidden when ``None``).

        ``prediction_legend`` (name, RGB) entries are drawn as a legend in the right view.
        """
        for i, (mesh, title) in enumerate(((gt, gt_title), (prediction, prediction_title))):
            self.plotter.subplot(0, i)
            renderer = self.plotter.renderer
            for name in ("mesh", "title", "empty"):
                renderer.remove_actor(name, render=False)
            for k in range(8):
                renderer.remove_actor(f"legend{k}", render=False)
            if mesh is not None:
                self._add(mesh)
                self.plotter.add_text(title, name="title", font_size=10, color="#333333")
            if i == 1 and mesh is not None and prediction_legend:
                for k, (name, rgb) in enumerate(reversed(prediction_legend[:8])):
                    self.plotter.add_text(name, position=(12, 10 + 20 * k), font_size=10,
                                          color=[c / 255 for c in rgb], name=f"legend{k}")
        self._has_gt, self._has_pred = gt is not None, prediction is not None
        if gt is None and prediction is None:
            self._show_empty_text()
        self._set_split(prediction is not None)
        if reset_camera:
            self.reset_camera()
        else:
            self.render()

    def _add(self, mesh: pv.DataSet) -> None:
        kwargs: dict = {"name": "mesh", "reset_camera": False, "render": False}
        if "rgba" in mesh.cell_data:  # voxel surfaces coloured by class
            kwargs.update(scalars="rgba", rgb=True, preference="cell")
        elif "rgb" in mesh.point_data:
            kwargs.update(scalars="rgb", rgb=True)
        else:
            kwargs.update(color="#9fb3c8")
        if isinstance(mesh, pv.PolyData) and mesh.n_cells and mesh.n_verts == mesh.n_cells:
            kwargs.update(point_size=3)  # a point cloud
        self.plotter.add_mesh(mesh, smooth_shading=False, **kwargs)

    def pick_at(self, x: int, y: int) -> dict | None:
        """What lies under display position ``(x, y)`` (VTK coordinates, origin bottom-left)."""
        interactor = self.plotter.iren.interactor
        renderer = interactor.FindPokedRenderer(x, y)
        if renderer is None or not self._picker.Pick(x, y, 0, renderer):
            return None
        view = 0 if renderer is self.plotter.renderers[0] else 1
        return pick_info(self._picker.GetDataSet(), self._picker.GetCellId(), self._picker.GetPickPosition(), view)

    def _on_right_click(self, interactor, _event) -> None:
        info = self.pick_at(*interactor.GetEventPosition())
        if info is not None:
            self.picked.emit(info)

    def _on_mouse_move(self, interactor, _event) -> None:
        if self.hover_picking and not self._orbit_timer.isActive():
            self._hover_pos = interactor.GetEventPosition()
            self._hover_timer.start()

    def _hover_pick(self) -> None:
        info = self.pick_at(*self._hover_pos)
        if info is not None:
            self.hovered.emit(info)

    # scene overlays -------------------------------------------------------
    def set_overlay(self, name: str, mesh: pv.DataSet, texture: np.ndarray | None = None, **style) -> None:
        """Show ``mesh`` as scene overlay ``name`` in the left view (replacing one of that name).

        ``style`` goes to ``add_mesh`` (``scalars``, ``rgb``, ``color``, ``point_size``...);
        ``texture`` is an RGB image mapped with the mesh's texture coordinates. A point
        cloud (``style="points"``) of more than :attr:`lod_threshold` points is drawn
        from a decimated copy while the camera moves
        (:class:`~occstudio.render.lod.PointCloudLOD`) and is not pickable (picking
        millions of points under the cursor would stall the view). The view is not
        redrawn: call :meth:`render`.
        """
        self.remove_overlay(name)
        kwargs = {"reset_camera": False, "render": False, "show_scalar_bar": False, "pickable": True}
        kwargs.update(style)
        if texture is not None:
            kwargs["texture"] = pv.Texture(np.ascontiguousarray(texture))
        self.plotter.subplot(0, 0)
        if kwargs.get("style") == "points" and mesh.n_points > self.lod_threshold:
            kwargs["pickable"] = False
            lod = PointCloudLOD(mesh, self.lod_threshold)
            lod.attach(self.plotter, self.OVERLAY_PREFIX + name, renderer=self.plotter.renderers[0], **kwargs)
            lod.watch(self.plotter.iren.interactor)
            self._lods[name] = lod
            return
        self.plotter.add_mesh(mesh, name=self.OVERLAY_PREFIX + name, **kwargs)

    def remove_overlays(self, prefix: str = "") -> None:
        """Remove the overlays whose name starts with ``prefix`` (all by default). Not redrawn."""
        for name in [n for n in self._lods if n.startswith(prefix)]:
            self._lods.pop(name).detach()
        renderer = self.plotter.renderers[0]
        for name in [n for n in renderer.actors if n.startswith(self.OVERLAY_PREFIX + prefix)]:
            renderer.remove_actor(name, render=False)

    def remove_overlay(self, name: str) -> None:
        """Remove overlay ``name`` if shown. Not redrawn."""
        if name in self._lods:
            self._lods.pop(name).detach()
        self.plotter.renderers[0].remove_actor(self.OVERLAY_PREFIX + name, render=False)

    def overlay_names(self) -> list[str]:
        """Names of the scene overlays shown (without the prefix)."""
        n = len(self.OVERLAY_PREFIX)
        return [name[n:] for name in self.plotter.renderers[0].actors
                if name.startswith(self.OVERLAY_PREFIX) and not name.endswith(":lod")]

    def overlay_lod(self, name: str) -> PointCloudLOD | None:
        """The level-of-detail pair of point overlay ``name`` (``None``: drawn whole)."""
        return self._lods.get(name)

    def look_through(self, camera) -> None:  # camera: occstudio.core.geometry.Camera
        """Put the shared 3D camera where ``camera`` is, looking along its optical axis
        with its vertical field of view (the world is the frame the view shows)."""
        self.set_orbiting(False)
        self._auto_fit = False
        pose = np.linalg.inv(np.asarray(camera.T_cam_from_world, float))
        axes = pose[:3, :3] / np.linalg.norm(pose[:3, :3], axis=0)  # undo a similarity's scale
        centre = pose[:3, 3]
        fy = float(camera.K[1, 1])
        cam = self.plotter.renderers[0].GetActiveCamera()
        cam.SetPosition(*centre)
        cam.SetFocalPoint(*(centre + axes[:, 2]))
        cam.SetViewUp(*(-axes[:, 1]))
        cam.SetViewAngle(float(np.degrees(2 * np.arctan2(camera.height / 2, fy))))
        self.plotter.renderers[0].ResetCameraClippingRange()
        self.render()

    def set_orbiting(self, on: bool) -> None:
        """Turn the camera about the scene's vertical axis continuously (``False`` stops)."""
        if bool(on) == self._orbit_timer.isActive():
            return
        if on:
            self._auto_fit = False
            self._orbit_timer.start()
        else:
            self._orbit_timer.stop()
        self.orbiting_changed.emit(bool(on))

    @property
    def orbiting(self) -> bool:
        """Whether the orbit animation runs."""
        return self._orbit_timer.isActive()

    def _orbit_step(self) -> None:
        cam = self.plotter.renderers[0].GetActiveCamera()
        cam.Azimuth(self.orbit_degrees_per_step)
        self.plotter.renderers[0].ResetCameraClippingRange()
        self.render()

    def _content_bounds(self) -> list[float] | None:
        """Bounds of what both views show, leaving out scene overlays (a 100 m LiDAR sweep
        or a long trajectory must not shrink the voxels) unless nothing else is shown."""
        def union(keep) -> list[float] | None:
            bounds = None
            for renderer in self.plotter.renderers:
                for name, actor in renderer.actors.items():
                    if not keep(name) or not actor.GetVisibility():
                        continue
                    b = actor.GetBounds()
                    if b is None or b[0] > b[1]:
                        continue
                    bounds = list(b) if bounds is None else [
                        min(bounds[0], b[0]), max(bounds[1], b[1]), min(bounds[2], b[2]),
                        max(bounds[3], b[3]), min(bounds[4], b[4]), max(bounds[5], b[5]),
                    ]
            return bounds

        content = union(lambda name: name not in ("title", "empty") and not name.startswith(self.OVERLAY_PREFIX))
        return content if content is not None else union(lambda name: name.startswith(self.OVERLAY_PREFIX))

    def camera_preset(self, preset: str) -> None:
        """Move the shared camera to a preset: ``bev``, ``driving``, ``side`` or ``iso``."""
        self.set_orbiting(False)
        self._auto_fit = False
        renderer = self.plotter.renderers[0]
        bounds = self._content_bounds()
        if bounds is None:
            return
        renderer.GetActiveCamera().SetViewAngle(30.0)
        lo = np.array(bounds[0::2])
        hi = np.array(bounds[1::2])
        centre, size = (lo + hi) / 2, float(np.linalg.norm(hi - lo))
        cam = renderer.GetActiveCamera()
        if preset == "driving":  # from behind the ego origin, looking along +x, eye height ~2 m
            eye = np.array([min(lo[0], 0.0) - 0.05 * size, 0.0, max(lo[2], 0.0) + 2.0])
            cam.SetPosition(*eye)
            cam.SetFocalPoint(eye[0] + 10.0, 0.0, eye[2] - 1.0)
            cam.SetViewUp(0, 0, 1)
            renderer.ResetCameraClippingRange()
            self.render()
            return
        direction = {"bev": (0, 0, 1), "side": (0, -1, 0), "iso": (1, -1, 1)}.get(preset, (1, -1, 1))
        cam.SetFocalPoint(*centre)
        cam.SetPosition(*(centre + np.asarray(direction, float) * size))
        cam.SetViewUp(*((0, 1, 0) if preset == "bev" else (0, 0, 1)))
        renderer.ResetCamera(bounds)
        self.render()

    def camera_pose(self) -> dict[str, list[float]]:
        """The (shared) camera as a keyframe object: ``position``, ``focal_point`` and
        ``view_up`` in the coordinates of what the view shows."""
        cam = self.plotter.renderers[0].GetActiveCamera()
        return {
            "position": [float(v) for v in cam.GetPosition()],
            "focal_point": [float(v) for v in cam.GetFocalPoint()],
            "view_up": [float(v) for v in cam.GetViewUp()],
        }

    def reset_camera(self) -> None:
        """Fit the (shared) camera to everything shown."""
        self.plotter.subplot(0, 0)
        self.set_orbiting(False)
        bounds = self._content_bounds()
        if bounds is not None:
            self.plotter.renderers[0].ResetCamera(bounds)
            cam = self.plotter.renderers[0].camera
            cam.view_angle = 30.0
            cam.elevation = 20
            cam.azimuth = 30
            renderer = self.plotter.renderers[0]
            renderer.ResetCamera(bounds)
            # VTK fits the bounding sphere to the vertical view angle: in a view narrower
            # than tall, zoom out by the aspect so the object is not cut at the sides
            x0, y0, x1, y1 = renderer.GetViewport()
            width, height = self.plotter.window_size
            aspect = ((x1 - x0) * max(width, 1)) / ((y1 - y0) * max(height, 1))
            cam.zoom(min(1.4, 1.8 * aspect))
        self._auto_fit = True
        self.render()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if getattr(self, "_auto_fit", False) and (self._has_gt or self._has_pred):
            self.reset_camera()  # keep the fit until the user moves the camera

    def _user_moved_camera(self, *_args) -> None:
        self._auto_fit = False
        self.set_orbiting(False)

    def set_axes_visible(self, visible: bool) -> None:
        """Show or hide the orientation axes in both views."""
        self._axes_visible = bool(visible)
        self._place_axes()
        self.render()

    def render(self) -> None:
        """Redraw now and emit :attr:`drawn`."""
        self.plotter.render()
        self.drawn.emit()

    @property
    def has_prediction(self) -> bool:
        """Whether a prediction is shown beside the GT."""
        return self._has_pred

    def screenshot(self):  # -> np.ndarray
        """The current frame as an RGB array (for tests and the screenshot command)."""
        return self.plotter.screenshot(return_img=True)

    def close_view(self) -> None:
        """Release the render window (call before the widget is destroyed)."""
        self._orbit_timer.stop()
        self._hover_timer.stop()
        self.remove_overlays()
        self._axes_marker.SetEnabled(0)
        self._axes_marker.SetInteractor(None)
        self.plotter.close()


def pick_info(dataset, cell_id: int, position, view: int) -> dict | None:
    """What a pick hit: world position, and the voxel's class and index or the point id."""
    if dataset is None or cell_id < 0:
        return None
    info: dict = {"position": tuple(float(v) for v in position), "view": view, "cell_id": int(cell_id)}
    cell_data = dataset.GetCellData()
    for name, key in (("label", "label"), ("voxel_id", "voxel_index")):
        array = cell_data.GetArray(name)
        if array is not None:
            info[key] = int(array.GetTuple1(cell_id))
    if "label" not in info and dataset.GetNumberOfCells() == dataset.GetNumberOfPoints():
        info["point_id"] = int(cell_id)
        point_data = dataset.GetPointData()
        for name in ("label", "intensity"):
            array = point_data.GetArray(name)
            if array is not None:
                value = array.GetTuple1(cell_id)
                info[name] = int(value) if name == "label" else float(value)
    return info
