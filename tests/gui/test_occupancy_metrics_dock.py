"""Occ3D metrics in the window: per-sample rows (per class), set totals, browser column."""

from __future__ import annotations

import json

import numpy as np
import pytest

from occstudio.builtins.evaluation import evaluate_dataset
from tests.gui.test_occupancy_view import wait_content, write_occ3d


@pytest.fixture
def occ3d_with_predictions(tmp_path):
    root = write_occ3d(tmp_path / "occ", n_frames=2)
    preds = tmp_path / "preds"
    preds.mkdir()
    for i in range(2):
        sem = np.load(root / f"gts/scene-0001/token{i}/labels.npz")["semantics"].copy()
        if i == 1:
            sem[150:200, :, 0] = 17  # half of the road in the camera-visible half is missed
        np.savez_compressed(preds / f"token{i}.npz", arr_0=sem)
    return root, preds


def test_occupancy_metrics_per_sample_and_per_set(qtbot, main_window, occ3d_with_predictions, tmp_path):
    root, preds = occ3d_with_predictions
    w = main_window
    w.open_path(root)
    wait_content(qtbot, w)
    w.controller.open_predictions(preds)
    qtbot.waitUntil(lambda: len(w.controller.document.predictions) == 2 and not w.jobs.running(), timeout=30000)
    w.actions["metrics_all"].trigger()
    qtbot.waitUntil(lambda: w.metrics_dock_widget.totals is not None, timeout=30000)
    expected = evaluate_dataset(root, preds)
    dock = w.metrics_dock_widget
    # per sample: every sample, with its mIoU and per-class IoU columns, to the digit
    for sid, values in expected["samples"].items():
        row = dock.model.rows[sid]
        assert row["miou"] == pytest.approx(values["miou"], abs=1e-12)
        assert row["iou@driveable_surface"] == pytest.approx(values["iou"]["driveable_surface"], abs=1e-12)
    ids = list(expected["samples"])
    assert dock.model.rows[ids[0]]["miou"] == pytest.approx(100.0)
    assert dock.model.rows[ids[1]]["miou"] < 100.0
    # per set: one confusion matrix over the set
    rows = dict(dock.totals_rows())
    assert rows["miou"] == pytest.approx(expected["totals"]["miou"], abs=1e-12)
    assert rows["iou@driveable_surface"] == pytest.approx(expected["totals"]["iou"]["driveable_surface"], abs=1e-12)
    assert dock.tabs.isTabEnabled(1) and "set mIoU" in dock.summary.text()
    # the sample list gets a sortable mIoU column (worst first on demand)
    assert "miou" in w.browser.model.extra_columns()
    assert w.browser.model.metric(ids[1], "miou") == pytest.approx(expected["samples"][ids[1]]["miou"])
    # the per-set table exports on its own
    dock.tabs.setCurrentIndex(1)
    out = tmp_path / "set.json"
    dock.export(out)
    assert json.loads(out.read_text())["miou"] == pytest.approx(expected["totals"]["miou"])
    dock.export(tmp_path / "set.csv")
    assert "iou@driveable_surface" in (tmp_path / "set.csv").read_text()


def test_current_sample_occupancy_metrics_leave_the_set_alone(qtbot, main_window, occ3d_with_predictions):
    root, preds = occ3d_with_predictions
    w = main_window
    w.open_path(root)
    wait_content(qtbot, w)
    w.controller.open_predictions(preds)
    qtbot.waitUntil(lambda: len(w.controller.document.predictions) == 2 and not w.jobs.running(), timeout=30000)
    w.actions["metrics_current"].trigger()
    qtbot.waitUntil(lambda: len(w.metrics_dock_widget.model.rows) == 1 and not w.jobs.running(), timeout=30000)
    assert w.metrics_dock_widget.totals is None and not w.metrics_dock_widget.tabs.isTabEnabled(1)
