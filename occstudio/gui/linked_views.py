"""Linked 2D↔3D views in the main window.

* Click a pixel in a camera pane (Cameras dock): its ray is cast through the sample's
  voxels in a background job; the 3D view shows the ray, outlines of the voxels it
  passes and the first occupied voxel it hits (solid), the pane marks the pixel and the
  status bar names the hit.
* Right-click a voxel or point in the 3D view: every camera pane marks where it
  projects (panes it does not project into lose their mark), and the voxel is outlined.

Everything is cleared when another sample is shown. The geometry lives in
:mod:`occstudio.builtins.linked_views`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyvista as pv
from PySide6.QtCore import QObject

from occstudio.builtins.linked_views import cast_pixel, default_grid, project_to_cameras, sample_grid
from occstudio.core.errors import OccStudioError

#: Overlay name prefix of everything drawn here.
PREFIX = "link:"
_STYLES = {
    "line": {"color": "#f08c00", "line_width": 3},
    "path": {"color": "#f59f00", "line_width": 1, "opacity": 0.8},
    "hit": {"color": "#ff2d55", "opacity": 0.85},
    "picked": {"color": "#ff2d55", "line_width": 3},
}


def _cast_job(dataset: Any, sample: Any, cache: Any, camera: Any, name: str, u: float, v: float,
              progress: Any = None) -> Any:
    occupancy = sample_grid(dataset, sample, cache)
    if occupancy is None:
        raise OccStudioError(f"{sample.id}: no voxels to cast the ray through")
    return cast_pixel(camera, u, v, occupancy, name)


class LinkedViews(QObject):
    """Wires the Cameras dock and the 3D view of a main window together."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.grid = window.cameras.grid
        self.last_cast: Any = None
        self.grid.pixel_clicked.connect(self.cast)
        window.view3d.picked.connect(self.mark_pick)
        window.controller.content_ready.connect(lambda _content: self.clear())

    def _cameras(self) -> dict[str, Any]:
        return {v.name: v.camera for v in self.grid.views if v.camera is not None}

    def clear(self) -> None:
        """Forget the ray and the marks (a new sample is shown)."""
        self.last_cast = None
        self.window.view3d.remove_overlays(PREFIX)
        self.grid.set_markers({})

    def cast(self, name: str, u: float, v: float) -> Any:
        """Cast the ray of pixel ``(u, v)`` of camera ``name`` in the background."""
        controller = self.window.controller
        dataset = controller.document.dataset
        camera = self._cameras().get(name)
        if dataset is None or controller.document.current_id is None:
            return None
        if camera is None:
            self.window.notifications.warning(f"{name}: no calibration, the click cannot be cast into 3D")
            return None
        sample = dataset.get(controller.document.current_id)
        self.grid.set_markers({name: (u, v)})
        return self.window.jobs.submit(
            f"Ray from {name} ({u:.0f}, {v:.0f})", _cast_job, dataset, sample, controller.cache, camera, name,
            u, v, key="ray", on_result=self._show_cast,
        )

    def _show_cast(self, cast: Any) -> None:
        view = self.window.view3d
        view.remove_overlays(PREFIX)
        for key, mesh in cast.meshes.items():
            view.set_overlay(PREFIX + key, mesh, pickable=False, **_STYLES[key])
        view.render()
        self.last_cast = cast
        self.window.status_message.setStyleSheet("")
        self.window.status_message.setText(cast.description)

    def mark_pick(self, info: dict[str, Any]) -> dict[str, tuple[float, float] | None]:
        """Mark a 3D pick (voxel centre, else the picked point) in every camera pane."""
        point = np.asarray(info["position"], float)
        view = self.window.view3d
        view.remove_overlay(PREFIX + "picked")
        content = self.window.controller.content or {}
        dataset = self.window.controller.document.dataset
        grid = default_grid(dataset) if dataset is not None else None
        if info.get("voxel_index") is not None and grid is not None and content.get("grid_shape") == tuple(grid.shape):
            ijk = np.array(np.unravel_index(int(info["voxel_index"]), grid.shape))
            point = grid.index_to_center(ijk[None])[0]
            lo = point - np.asarray(grid.voxel_size) / 2
            hi = lo + np.asarray(grid.voxel_size)
            box = pv.Box(bounds=(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])).extract_all_edges()
            view.set_overlay(PREFIX + "picked", box, pickable=False, **_STYLES["picked"])
            view.render()
        marks = project_to_cameras(point, self._cameras())
        self.grid.set_markers(marks)
        seen = [name for name, uv in marks.items() if uv is not None]
        if self.grid.views:
            text = self.window.status_message.text()
            where = f"in {', '.join(seen)}" if seen else "in no camera image"
            self.window.status_message.setText(f"{text} · {where}" if text else where)
        return marks


def install_linked_views(window: Any) -> LinkedViews:
    """Link the main window's camera panes and 3D view (see the module docstring).

    Parameters
    ----------
    window
        The main window (needs ``cameras`` from
        :func:`~occstudio.gui.panes.camera_grid.install_camera_grid`, ``view3d``,
        ``controller``, ``jobs``, ``notifications`` and ``status_message``).
    """
    return LinkedViews(window)
