"""The main window end to end under Xvfb: open, browse, overlay, predictions, metrics jobs."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from occstudio.core.jobs import ensure_progress
from tests.factories import make_extremeocc_dataset


def open_and_wait(qtbot, window, path, sample_id=None):
    window.open_path(path, sample_id)
    qtbot.waitUntil(lambda: window.controller.content is not None and not window.jobs.running(), timeout=30000)


@pytest.fixture
def dataset(tmp_path):
    return make_extremeocc_dataset(tmp_path / "ds", n=3)


def test_open_browse_and_switch_samples(qtbot, main_window, dataset):
    w = main_window
    open_and_wait(qtbot, w, dataset)
    assert w.browser.visible_ids() == ["scene0/view_00", "scene1/view_00", "scene2/view_00"]
    assert w.controller.content["id"] == "scene0/view_00"
    assert w.sample_view.scene_pane.has_image()
    assert w.sample_view.gt_strip.count() == 3
    # keyboard navigation in the sample list switches the sample
    w.browser.view.setFocus()
    qtbot.keyClick(w.browser.view, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: w.controller.content["id"] == "scene1/view_00" and not w.jobs.running(), timeout=20000)
    assert w.windowTitle().startswith("ds")
    # the 3D view shows the GT mesh only (no predictions yet)
    assert not w.view3d.has_prediction


def test_overlay_opacity_changes_pixels_under_mask(qtbot, main_window, dataset):
    w = main_window
    open_and_wait(qtbot, w, dataset)
    pane = w.sample_view.scene_pane
    pane.set_overlay_opacity(0.0)
    before = pane.rendered_overlay().copy()
    pane.set_overlay_opacity(0.8)
    after = pane.rendered_overlay()
    changed = np.any(before != after, axis=2)
    mask = pane.mask()
    assert changed.any() and not changed[~mask].any()


def test_predictions_side_by_side_and_metrics_job(qtbot, main_window, dataset):
    w = main_window
    open_and_wait(qtbot, w, dataset)
    w.controller.content = None
    w.controller.open_predictions(dataset / "predictions")
    qtbot.waitUntil(lambda: w.controller.content is not None and not w.jobs.running(), timeout=20000)
    assert w.view3d.has_prediction and len(w.controller.document.predictions) == 3
    w.controller.compute_mesh_metrics("all")
    qtbot.waitUntil(lambda: len(w.controller.document.metrics) == 3 and not w.jobs.running(), timeout=60000)
    model = w.metrics_dock_widget.model
    assert set(model.rows) == {"scene0/view_00", "scene1/view_00", "scene2/view_00"}
    # sample 0 is identical geometry -> zero chamfer; others shifted -> positive
    assert model.rows["scene0/view_00"]["chamfer_l1"] == pytest.approx(0.0, abs=1e-9)
    assert model.rows["scene2/view_00"]["chamfer_l1"] > 0
    assert "1 job" not in w.jobs_label.text()


def slow_job(progress=None):
    progress = ensure_progress(progress)
    progress.start(100000, "slow")
    for _ in range(100000):
        time.sleep(0.001)
        progress.advance()


def test_cancel_from_jobs_dock(qtbot, main_window):
    w = main_window
    job = w.jobs.submit("slow", slow_job)
    qtbot.waitUntil(lambda: job.id in w.jobs_dock_widget.rows, timeout=5000)
    assert "1 job running" in w.jobs_label.text()
    row = w.jobs_dock_widget.rows[job.id]
    qtbot.mouseClick(row.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not job.running, timeout=10000)
    assert job.state == "cancelled" and w.jobs_label.text() == ""


def test_error_in_job_shows_in_window(qtbot, main_window, tmp_path):
    w = main_window
    bad = tmp_path / "manifest.json"
    bad.write_text("[{\"id\": \"a\",, }]")
    w.open_path(bad)
    qtbot.waitUntil(lambda: bool(w.notifications.errors()) and not w.jobs.running(), timeout=20000)
    assert "manifest.json" in w.status_message.text() and "line 1" in w.status_message.text()
    assert any("manifest.json" in m for m in w.log_dock_widget.messages())
    failed = [j for j in w.jobs.jobs if j.state == "failed"]
    assert failed and "manifest.json" in failed[0].error


def test_drop_opens_dataset_and_recent_files_persist(qtbot, main_window, dataset):
    from occstudio.gui import settings

    w = main_window
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dataset))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    w.dropEvent(event)
    qtbot.waitUntil(lambda: w.controller.content is not None and not w.jobs.running(), timeout=30000)
    assert settings.recent_files()[0] == str(dataset.resolve())


def test_layout_persists_between_windows(qtbot, main_window):
    from occstudio.gui.main_window import MainWindow

    main_window.docks["log"].hide()
    main_window.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.docks["log"].isHidden()
    second.close()


def test_metrics_job_can_be_cancelled(qtbot, main_window, dataset):
    w = main_window
    open_and_wait(qtbot, w, dataset)
    w.controller.content = None
    w.controller.open_predictions(dataset / "predictions")
    qtbot.waitUntil(lambda: w.controller.content is not None and not w.jobs.running(), timeout=20000)
    w.controller.metric_params["n_points"] = 3_000_000  # slow enough to cancel midway
    job = w.controller.compute_mesh_metrics("all")
    qtbot.waitUntil(lambda: job.id in w.jobs_dock_widget.rows, timeout=5000)
    qtbot.mouseClick(w.jobs_dock_widget.rows[job.id].cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not job.running, timeout=60000)
    assert job.state == "cancelled"
    assert w.controller.document.metrics == {} and not w.notifications.errors()
