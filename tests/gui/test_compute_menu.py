"""Compute menu: a plugin's computation runs as a job and fills the metrics dock."""

from __future__ import annotations

import pytest

from tests.cli.test_compute_command import make_frames

pytest.importorskip("occstudio_semantickitti")


def test_plugin_computation_from_menu(qtbot, main_window, tmp_path):
    w = main_window
    compute = next(a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == "Compute")
    titles = [a.text() for a in compute.actions()]
    assert any("SemanticKITTI" in t or "occupancy" in t.lower() for t in titles), titles
    root = make_frames(tmp_path / "kitti")
    w.open_path(root)
    qtbot.waitUntil(lambda: w.controller.document.dataset is not None and not w.jobs.running(), timeout=30000)
    from occstudio.gui.dialogs.compute import ComputeDialog
    from occstudio.plugins.registry import get_registry

    spec = get_registry().computations["semantickitti.occupancy_stats"]
    dialog = ComputeDialog(spec, w.controller.document.current_id, w)
    params = dialog.values()
    assert set(params) == {p.name for p in spec.params}
    w.controller.run_computation(spec, params, "all")
    qtbot.waitUntil(lambda: len(w.metrics_dock_widget.model.rows) == 2 and not w.jobs.running(), timeout=30000)
    assert w.metrics_dock_widget.model.rows["000001"]["counts@occupied"] == 8
