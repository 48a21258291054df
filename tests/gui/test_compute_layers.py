"""Compute > Layers: layer computations as jobs, the Layers dock, File > Export layer."""

from __future__ import annotations

import numpy as np
import pytest

from occstudio.gui.compute_panel import install_compute_layers
from occstudio.io.meshes import read_mesh
from tests.core.test_layers import write_condition


def _menu(window, title):
    return next(a.menu() for a in window.menuBar().actions() if a.menu() and a.text().replace("&", "") == title)


def _wait_idle(qtbot, w, timeout=30000):
    qtbot.waitUntil(lambda: not w.jobs.running(), timeout=timeout)


def _no_failures(w):
    failed = [(j.title, j.error) for j in w.jobs.jobs if j.state == "failed"]
    assert not failed, failed


def test_menus_and_dock_are_installed(qtbot, main_window):
    w = main_window
    panel = install_compute_layers(w)
    assert w.docks["layers"].widget() is panel.dock
    layers_menu = next(a.menu() for a in _menu(w, "Compute").actions() if a.menu() is not None)
    assert [a.text() for a in layers_menu.actions()] == [
        "Fused cloud…", "Occupancy (computed)…", "Visibility…", "Rendered depth…"]
    file_actions = _menu(w, "File").actions()
    assert panel.actions["export_layer"] in file_actions
    assert file_actions.index(panel.actions["export_layer"]) < file_actions.index(w.actions["quit"])
    # nothing open and no source: a clear message, no job
    assert panel.run("layers.fused_cloud", {}) is None
    assert not w.jobs.jobs


def test_layers_from_a_synthetic_condition_file(qtbot, main_window, tmp_path):
    w = main_window
    panel = install_compute_layers(w)
    cond = str(write_condition(tmp_path / "condition.npz"))
    panel.run("layers.fused_cloud", {"source": cond, "voxel_size": 0.0, "stride": 1})
    _wait_idle(qtbot, w)
    _no_failures(w)
    dock = panel.dock
    cloud = dock.layer("fused cloud")
    assert cloud is not None and len(cloud.data["points"]) == 3 * 14 * 24
    assert dock.is_visible("fused cloud") and "layer:fused cloud" in dock.actor_names()
    panel.run("layers.occupancy", {"source": cond, "voxel_size": 0.1})
    _wait_idle(qtbot, w)
    _no_failures(w)
    occ = dock.layer("occupancy (computed)")
    assert occ.data["occupied"].any() and occ.metadata["source"] == cond  # made from the shown cloud
    panel.run("layers.visibility", {"source": cond, "frame": 0, "stride": 1})
    _wait_idle(qtbot, w)
    _no_failures(w)
    vis = dock.layer("visibility")
    assert vis.data["occupied"].any() and vis.data["visible"].sum() > vis.data["occupied"].sum()
    assert "layer:visibility" in dock.actor_names()
    panel.run("layers.rendered_depth", {"source": cond, "frame": 1, "stride": 1})
    _wait_idle(qtbot, w)
    _no_failures(w)
    depth = dock.layer("rendered depth")
    assert depth.kind == "image" and depth.data["depth"].shape == (16, 24)
    pane = w.sample_view.object_pane
    assert pane.image() is not None and "rendered depth" in pane.title()
    dock.set_visible("rendered depth", False)
    assert pane.image() is None  # the pane's own (empty) content is back
    out = tmp_path / "depth.png"
    dock.export("rendered depth", out)
    _wait_idle(qtbot, w)
    _no_failures(w)
    assert out.is_file()
    dock.remove("fused cloud")
    assert "layer:fused cloud" not in dock.actor_names() and dock.names() == ["occupancy (computed)", "visibility", "rendered depth"]


def test_cancel_a_layer_job(qtbot, main_window, tmp_path):
    w = main_window
    panel = install_compute_layers(w)
    cond = str(write_condition(tmp_path / "condition.npz", n=40, size=(64, 48)))
    job = panel.run("layers.fused_cloud", {"source": cond})
    job.cancel()
    _wait_idle(qtbot, w)
    assert job.state == "cancelled" and panel.dock.layer("fused cloud") is None


def test_fused_cloud_and_occupancy_on_the_real_trajectory(qtbot, main_window, shared_data, tmp_path):
    root = shared_data / "occgen" / "trajectory_1"
    if not root.is_dir():
        pytest.skip(f"OccGen example not found at {root}")
    w = main_window
    panel = install_compute_layers(w)
    w.open_path(root)
    qtbot.waitUntil(lambda: w.controller.content is not None and not w.jobs.running(), timeout=30000)
    panel.run("layers.fused_cloud", {"stride": 12, "voxel_size": 0.02})
    _wait_idle(qtbot, w)
    _no_failures(w)
    cloud = panel.dock.layer("fused cloud")
    assert cloud.metadata["n_frames"] == 52 and len(cloud.data["points"]) > 5000
    assert cloud.data["colors"].shape == cloud.data["points"].shape  # RGB frames exist
    panel.run("layers.occupancy", {"voxel_size": 0.1})
    _wait_idle(qtbot, w)
    _no_failures(w)
    occ = panel.dock.layer("occupancy (computed)")
    assert occ.data["occupied"].sum() > 1000
    assert set(panel.dock.actor_names()) == {"layer:fused cloud", "layer:occupancy (computed)"}
    panel.dock.set_visible("fused cloud", False)
    assert panel.dock.actor_names() == ["layer:occupancy (computed)"]
    item = panel.dock._item("fused cloud")
    assert item.checkState().name == "Unchecked"
    panel.dock.set_visible("fused cloud", True)
    assert "layer:fused cloud" in panel.dock.actor_names()
    out = tmp_path / "cloud.ply"
    panel.dock.export("fused cloud", out)
    _wait_idle(qtbot, w)
    _no_failures(w)
    mesh = read_mesh(out)
    np.testing.assert_allclose(mesh.vertices, cloud.data["points"], atol=1e-5)


def test_parameter_form_values_persist(qtbot, main_window, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from occstudio.builtins.compute_layers import layer_computation
    from occstudio.gui.dialogs.compute import ComputeDialog

    w = main_window
    panel = install_compute_layers(w)
    cond = str(write_condition(tmp_path / "condition.npz"))
    seen = {}

    def fill_and_accept():
        dialog = QApplication.activeModalWidget()
        seen["scope_hidden"] = not dialog.scope.isVisibleTo(dialog)
        dialog.widgets["voxel_size"].setValue(0.05)
        dialog.widgets["stride"].setValue(2)
        dialog.widgets["source"].setText(cond)
        dialog.accept()

    QTimer.singleShot(0, fill_and_accept)
    job = panel.run("layers.fused_cloud")
    assert job is not None and seen["scope_hidden"]
    _wait_idle(qtbot, w)
    _no_failures(w)
    cloud = panel.dock.layer("fused cloud")
    assert cloud.metadata["params"]["stride"] == 2 and cloud.metadata["voxel_size"] == pytest.approx(0.05)
    again = ComputeDialog(layer_computation("layers.fused_cloud"), None, w)
    assert again.widgets["voxel_size"].value() == pytest.approx(0.05)
    assert again.widgets["stride"].value() == 2 and again.widgets["source"].text() == cond
    again.deleteLater()
