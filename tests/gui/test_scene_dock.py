"""The Scene dock in the window: overlays in the 3D view, colour modes, point size,
look through a camera, orbit, hover picking."""

from __future__ import annotations

import numpy as np

from tests.fixtures_unscenes import make_unscenes_dataset
from tests.gui.test_occupancy_view import wait_content


def _open(qtbot, w, tmp_path):
    fixture = make_unscenes_dataset(tmp_path / "u", n_frames=2, sweeps=0, n_points=600)
    w.open_path(fixture.root)
    wait_content(qtbot, w)
    qtbot.waitUntil(lambda: bool(w.scene.widget.overlays) and not w.jobs.running(), timeout=30000)
    return w.scene.widget


def _actor(w, name):
    return w.view3d.plotter.renderers[0].actors.get("overlay:" + name)


def test_overlays_drawn_toggled_and_restyled(qtbot, main_window, tmp_path):
    w = main_window
    dock = _open(qtbot, w, tmp_path)
    assert w.docks["scene"].isVisible()
    shown = set(w.view3d.overlay_names())
    assert {"LiDAR", "Cameras", "Camera images:thumbnail0", "Trajectory", "Trajectory:current"} <= shown
    assert "Local map" not in shown  # hidden by default: it covers the voxels
    # colour modes only restyle: the cloud's arrays are already there
    dock.set_color_mode("intensity")
    assert _actor(w, "LiDAR").mapper.array_name == "intensity"
    dock.set_color_mode("label")
    assert _actor(w, "LiDAR").mapper.array_name == "label_rgb"
    dock.size_spin.setValue(6)
    assert _actor(w, "LiDAR").prop.point_size == 6
    dock.set_shown("LiDAR", False)
    assert _actor(w, "LiDAR") is None
    # the choices persist for the next sample and the next session
    w.browser.select(w.controller.document.dataset.samples[1].id)
    wait_content(qtbot, w, w.controller.document.dataset.samples[1].id)
    qtbot.waitUntil(lambda: not w.jobs.running(), timeout=30000)
    assert _actor(w, "LiDAR") is None and _actor(w, "Cameras") is not None
    from occstudio.gui.docks.scene import SceneDock

    again = SceneDock(w.view3d)
    assert again.color_mode == "label" and again.size_spin.value() == 6 and not again.is_shown("LiDAR")


def test_fit_ignores_the_wide_lidar_sweep(qtbot, main_window, tmp_path):
    w = main_window
    _open(qtbot, w, tmp_path)
    bounds = w.view3d._content_bounds()
    gt = w.controller.content["gt_poly"].bounds
    np.testing.assert_allclose(bounds, gt, atol=1e-4)


def test_look_through_camera_and_orbit(qtbot, main_window, tmp_path):
    w = main_window
    dock = _open(qtbot, w, tmp_path)
    camera = dock.camera("camera")
    assert w.scene.actions["look_through"].isEnabled()
    w.scene.actions["look_through"].trigger()
    cam = w.view3d.plotter.renderers[0].GetActiveCamera()
    np.testing.assert_allclose(cam.GetPosition(), camera.center, atol=1e-6)
    forward = np.asarray(cam.GetFocalPoint()) - np.asarray(cam.GetPosition())
    # the camera's optical axis in the world: the third row of its rotation
    axis = camera.T_cam_from_world[2, :3]
    np.testing.assert_allclose(forward / np.linalg.norm(forward), axis / np.linalg.norm(axis), atol=1e-6)
    assert abs(cam.GetViewAngle() - np.degrees(2 * np.arctan2(camera.height / 2, camera.K[1, 1]))) < 1e-6
    assert not dock.is_shown("Camera images")
    w.view3d.reset_camera()
    before = np.asarray(cam.GetPosition())
    w.scene.actions["orbit"].setChecked(True)
    assert w.view3d.orbiting and dock.orbit_button.isChecked()
    qtbot.waitUntil(lambda: np.linalg.norm(np.asarray(cam.GetPosition()) - before) > 1e-3, timeout=5000)
    # a click in the view stops it, and the button and the menu follow
    w.view3d._user_moved_camera()
    assert not w.view3d.orbiting and not dock.orbit_button.isChecked()
    assert not w.scene.actions["orbit"].isChecked()


def test_hovering_a_voxel_names_it_in_the_status_bar(qtbot, main_window, tmp_path):
    w = main_window
    dock = _open(qtbot, w, tmp_path)
    for name in list(dock.overlays):
        dock.set_shown(name, False)
    qtbot.wait(300)  # let the docks settle: the 3D view's size must not change under the search
    w.view3d.camera_preset("bev")
    width, height = w.view3d.plotter.window_size
    spot = next(((x, y) for x in range(0, width, 8) for y in range(0, height, 8)
                 if (w.view3d.pick_at(x, y) or {}).get("label") is not None), None)
    assert spot is not None, "no voxel anywhere in the bird's-eye view"
    hits = []
    w.view3d.hovered.connect(lambda info: hits.append(info))
    w.view3d._on_mouse_move(type("Interactor", (), {"GetEventPosition": lambda self: spot})(), "MouseMoveEvent")
    qtbot.waitUntil(lambda: bool(hits), timeout=3000)
    assert hits and "label" in hits[-1]
    assert w.status_message.text().startswith("Under the cursor:")
    assert "class" in w.status_message.text()


def test_big_clouds_are_drawn_decimated_while_the_camera_moves(qtbot, main_window, tmp_path):
    w = main_window
    w.view3d.lod_threshold = 200  # the fixture's sweep has 600 points
    _open(qtbot, w, tmp_path)
    lod = w.view3d.overlay_lod("LiDAR")
    assert lod is not None and lod.n_moving == 200 and lod.n_full == 600
    interactor = w.view3d.plotter.iren.interactor
    interactor.InvokeEvent("StartInteractionEvent")
    assert lod.lod_actor.GetVisibility() and not lod.full_actor.GetVisibility()
    interactor.InvokeEvent("EndInteractionEvent")
    assert lod.full_actor.GetVisibility() and not lod.lod_actor.GetVisibility()
    assert "LiDAR:lod" not in w.view3d.overlay_names()
    # restyling or hiding detaches the pair: no actor or observer is left behind
    w.scene.widget.set_shown("LiDAR", False)
    assert w.view3d.overlay_lod("LiDAR") is None and lod.full_actor is None
    assert not any(n.startswith("overlay:LiDAR") for n in w.view3d.plotter.renderers[0].actors)
