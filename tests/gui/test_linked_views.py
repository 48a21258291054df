"""Linked 2D↔3D in the window: a camera click casts a ray into the voxels; a 3D pick is
marked in every camera pane."""

from __future__ import annotations

import numpy as np

from occstudio.gui.panes.view3d import pick_info
from tests.gui.test_occupancy_view import wait_content
from tests.render.test_camera_views import _occ3d_tree


def _open(qtbot, w, tmp_path):
    w.open_path(_occ3d_tree(tmp_path / "occ3d"))
    wait_content(qtbot, w)
    qtbot.waitUntil(lambda: bool(w.cameras.grid.views) and not w.jobs.running(), timeout=30000)


def test_click_in_a_camera_casts_a_ray_to_the_first_voxel(qtbot, main_window, tmp_path):
    w = main_window
    _open(qtbot, w, tmp_path)
    front = w.cameras.grid.pane("CAM_FRONT")
    ((u, v),), _ = front.camera_view.camera.project(np.array([[10.4, 0.1, 0.6]]))
    w.cameras.grid.pixel_clicked.emit("CAM_FRONT", float(u), float(v))
    qtbot.waitUntil(lambda: w.linked_views.last_cast is not None, timeout=15000)
    names = set(w.view3d.overlay_names())
    assert {"link:line", "link:path", "link:hit"} <= names
    hit = w.view3d.plotter.renderers[0].actors["overlay:link:hit"].GetBounds()
    np.testing.assert_allclose(hit[:2], [10.0, 10.4], atol=1e-4)  # voxel 125 along x
    assert "car" in w.status_message.text() and "CAM_FRONT" in w.status_message.text()
    np.testing.assert_allclose(front.marker_position(), (u, v), atol=1e-6)
    # another sample (or the same one again) clears the ray
    w.linked_views.clear()
    assert not any(n.startswith("link:") for n in w.view3d.overlay_names())
    assert front.marker_position() is None


def test_picking_a_voxel_marks_it_in_the_cameras(qtbot, main_window, tmp_path):
    w = main_window
    _open(qtbot, w, tmp_path)
    poly = w.controller.content["gt_poly"]
    cell = int(np.flatnonzero(poly.cell_data["label"] == 4)[0])
    info = pick_info(poly, cell, poly.cell_centers().points[cell], 0)
    w.view3d.picked.emit(info)
    front = w.cameras.grid.pane("CAM_FRONT")
    assert front.marker_position() is not None
    assert w.cameras.grid.pane("CAM_BACK").marker_position() is None
    grid = w.controller.document.dataset.meta["grid"]
    centre = grid.index_to_center(np.array(np.unravel_index(info["voxel_index"], grid.shape))[None])
    ((u, v),), _ = front.camera_view.camera.project(centre)
    np.testing.assert_allclose(front.marker_position(), (u, v), atol=1e-6)
    assert "overlay:link:picked" in w.view3d.plotter.renderers[0].actors
    assert "in CAM_FRONT" in w.status_message.text()
