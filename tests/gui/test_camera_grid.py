"""CameraGrid: camera panes with toggleable projected overlays, depth / elevation readout."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QTabWidget

from occstudio.builtins.camera_views import CameraView
from occstudio.gui.panes.camera_grid import CameraGrid, grid_shape


def _view(name: str, with_maps: bool = False) -> CameraView:
    h, w = 40, 60
    image = np.full((h, w, 3), 90, np.uint8)
    view = CameraView(name=name, image=image)
    view.lidar_uv = np.array([[10.0, 10.0], [30.0, 20.0]])
    view.lidar_depth = np.array([5.0, 20.0])
    view.voxel_uv = np.array([[50.0, 30.0]])
    view.voxel_depth = np.array([8.0])
    if with_maps:
        depth = np.zeros((h, w), np.float32)
        depth[20, 30] = 12.5
        view.depth_map = depth
        view.elevation_map = np.full((8, 8), 1.25, np.float32)
    return view


def _screen_point(pane, x: float, y: float):
    """Viewport position of image coordinates (x, y) (pixel centres at integers)."""
    return pane.view.mapFromScene(QPointF(x + 0.5, y + 0.5))


def _send(widget, kind, pos, button=Qt.MouseButton.NoButton):
    buttons = Qt.MouseButton.LeftButton if kind == QEvent.Type.MouseButtonPress else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


@pytest.fixture
def grid(qtbot):
    widget = CameraGrid()
    widget.resize(900, 500)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_grid_shape():
    assert grid_shape(6) == (2, 3)
    assert grid_shape(1) == (1, 1)
    assert grid_shape(4) == (1, 4)


def test_six_cameras_in_a_two_by_three_grid(grid):
    names = [f"CAM_{i}" for i in range(6)]
    grid.set_views([_view(n) for n in names])
    assert [p.camera_view.name for p in grid.panes] == names
    layout = grid._container.layout()
    assert layout.rowCount() == 2 and layout.columnCount() == 3
    grid.set_layout_mode("tabs")
    assert isinstance(grid._container, QTabWidget) and grid._container.count() == 6
    assert len(grid.panes) == 6


def test_overlay_toggles_change_what_is_drawn(grid):
    grid.set_views([_view("front")])
    pane = grid.panes[0]
    lidar = pane.layers["lidar"]
    assert lidar is not None and lidar.shape == (40, 60, 4)
    # small images: one pixel per point, coloured by depth (near red)
    assert np.argwhere(lidar[:, :, 3] > 0).tolist() == [[10, 10], [20, 30]]
    assert lidar[10, 10, 0] > lidar[10, 10, 2]
    shown = pane.rendered()
    assert not np.array_equal(shown[10, 10], [90, 90, 90])
    grid.checks["lidar"].setChecked(False)
    assert not pane.overlay_items["lidar"].isVisible()
    hidden = pane.rendered()
    np.testing.assert_array_equal(hidden[10, 10], [90, 90, 90])
    assert not np.array_equal(hidden[30, 50], [90, 90, 90])  # voxel centres still shown
    grid.set_overlay_shown("voxels", False)
    assert not grid.checks["voxels"].isChecked()
    np.testing.assert_array_equal(pane.rendered(), np.full((40, 60, 3), 90, np.uint8))
    grid.set_overlay_shown("lidar", True)
    assert pane.overlay_shown("lidar") and not pane.overlay_shown("voxels")
    # new views keep the toggles
    grid.set_views([_view("front")])
    assert grid.panes[0].overlay_shown("lidar") and not grid.panes[0].overlay_shown("voxels")


def test_missing_image_shows_the_error(grid):
    grid.set_views([CameraView(name="CAM_BACK", error="image not found: back.jpg")])
    pane = grid.panes[0]
    assert not pane.has_image()
    assert "back.jpg" in pane.placeholder_text()
    assert not grid.checks["lidar"].isEnabled()
    assert not grid.tabs.isTabEnabled(1)


def test_depth_readout_under_the_cursor(grid, qtbot):
    grid.set_views([_view("front", with_maps=True)])
    assert grid.tabs.isTabEnabled(1) and grid.tabs.isTabEnabled(2)
    grid.tabs.setCurrentIndex(1)
    pane = grid.depth_pane
    qtbot.waitExposed(pane.pane.view)
    viewport = pane.pane.view.viewport()
    _send(viewport, QEvent.Type.MouseMove, _screen_point(pane.pane, 30, 20))
    assert grid.status_label.text() == "x 30, y 20: 12.50 m"
    _send(viewport, QEvent.Type.MouseMove, _screen_point(pane.pane, 5, 5))
    assert grid.status_label.text() == "x 5, y 5: empty"
    assert pane.show_value_at(100.0, 5.0) == ""
    grid.tabs.setCurrentIndex(2)
    assert grid.elevation_pane.show_value_at(3.0, 4.0) == "x 3, y 4: 1.25 m"
    assert grid.elevation_pane.high_label.text().endswith(" m")


def test_hover_and_click_on_a_camera(grid, qtbot):
    grid.set_views([_view("front", with_maps=True)])
    pane = grid.panes[0]
    viewport = pane.view.viewport()
    pos = _screen_point(pane, 30, 20)
    _send(viewport, QEvent.Type.MouseMove, pos)
    assert grid.status_label.text() == "front  x 30, y 20: 12.50 m"
    with qtbot.waitSignal(grid.pixel_clicked, timeout=1000) as blocker:
        _send(viewport, QEvent.Type.MouseButtonPress, pos, Qt.MouseButton.LeftButton)
        _send(viewport, QEvent.Type.MouseButtonRelease, pos, Qt.MouseButton.LeftButton)
    name, x, y = blocker.args
    assert name == "front"
    assert abs(x - 30) < 1.0 and abs(y - 20) < 1.0


def test_install_in_main_window_loads_the_cameras(main_window, qtbot, tmp_path):
    from occstudio.gui.panes.camera_grid import install_camera_grid
    from tests.fixtures_unscenes import make_unscenes_dataset

    fixture = make_unscenes_dataset(tmp_path / "u", n_frames=1, sweeps=0, n_points=400)
    installed = main_window.docks.get("cameras") and getattr(main_window, "cameras", None)
    cams = installed or install_camera_grid(main_window)
    assert main_window.docks["cameras"] is cams.dock
    main_window.open_path(fixture.root, None)
    qtbot.waitUntil(lambda: bool(cams.grid.panes) and not main_window.jobs.running(), timeout=30000)
    assert cams.dock.isVisible()
    pane = cams.grid.panes[0]
    assert pane.has_image() and pane.layers["lidar"] is not None
    assert cams.grid.tabs.isTabEnabled(1) and cams.grid.tabs.isTabEnabled(2)
