"""The prior gallery (add / drop / remove / restore / reorder, prior text override, export)
and the review dock (status per sample, shortcuts, filter), in the main window."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QModelIndex, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from occstudio.core.errors import DataError
from occstudio.core.persistence import ReviewStore
from occstudio.gui.editing import install_editing
from occstudio.io.opening import open_dataset
from tests.factories import make_extremeocc_dataset

S0, S1, S2 = "scene0/view_00", "scene1/view_00", "scene2/view_00"


@pytest.fixture
def dataset(tmp_path):
    return make_extremeocc_dataset(tmp_path / "ds", n=3, size=32, predictions=False)


@pytest.fixture
def window(qtbot, main_window, dataset):
    editing = getattr(main_window, "editing", None) or install_editing(main_window)
    editing.auto_answers.update({"unsaved": "discard"})
    main_window.open_path(dataset)
    qtbot.waitUntil(lambda: main_window.controller.content is not None and not main_window.jobs.running(),
                    timeout=30000)
    main_window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is main_window, timeout=5000)
    return main_window


def colour_image(path, rgb):
    Image.fromarray(np.full((12, 12, 3), rgb, np.uint8)).save(path)
    return path


def colours(paths):
    return [tuple(np.asarray(Image.open(p).convert("RGB"))[0, 0]) for p in paths]


def drop_files(widget, files):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(f)) for f in files])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)
    return event


def test_add_drop_reorder_remove_restore(qtbot, window, dataset, tmp_path):
    g = window.prior_gallery
    folder = dataset / "priors" / "scene0" / "view_00"
    assert g.sample_id == S0 and g.priors_root == dataset / "priors"
    assert [p.name for p in g.priors()] == ["prior_0.png"] and g.list.count() == 1
    red = colour_image(tmp_path / "red.png", (255, 0, 0))
    blue = colour_image(tmp_path / "blue.jpg", (0, 0, 255))
    grey = (200, 200, 200)

    added = g.add_files([red])
    assert added == [folder / "prior_1.png"] and red.is_file(), "the source is copied, not moved"
    event = drop_files(g.list, [blue, tmp_path / "notes.txt"])
    assert event.isAccepted()
    assert [p.name for p in g.priors()] == ["prior_0.png", "prior_1.png", "prior_2.jpg"]
    assert g.list.count() == 3 and window.sample_view.priors_strip.count() == 3
    assert g.title.text().startswith("3 priors")

    # ◀ on the last prior: it becomes second (files are renamed so name order is use order)
    g.list.setCurrentRow(2)
    qtbot.mouseClick(g.left_button, Qt.MouseButton.LeftButton)
    files = g.priors()
    assert [p.name for p in files] == ["prior_0.png", "prior_1.jpg", "prior_2.png"]
    assert colours(files)[0] == grey and colours(files)[2] == (255, 0, 0)
    assert abs(int(colours(files)[1][2]) - 255) < 8  # the blue JPEG
    assert g.list.currentRow() == 1

    # a drag inside the list (simulated: the rows move, then the list reports the new order)
    g.list.model().moveRows(QModelIndex(), 0, 1, QModelIndex(), 3)
    g.list.order_changed.emit()
    files = g.priors()
    assert [p.name for p in files] == ["prior_0.jpg", "prior_1.png", "prior_2.png"]
    assert colours(files)[1:] == [(255, 0, 0), grey]

    # remove: moved to the sidecar trash, never deleted; Restore brings it back
    g.list.setCurrentRow(1)
    qtbot.mouseClick(g.remove_button, Qt.MouseButton.LeftButton)
    trashed = g.trashed[-1]
    assert trashed.is_file() and (dataset / ".occstudio" / "trash") in trashed.parents
    assert colours([trashed]) == [(255, 0, 0)]
    assert [p.name for p in g.priors()] == ["prior_0.jpg", "prior_2.png"] and g.list.count() == 2
    qtbot.mouseClick(g.restore_button, Qt.MouseButton.LeftButton)
    assert [p.name for p in g.priors()] == ["prior_0.jpg", "prior_1.png", "prior_2.png"]
    assert not trashed.exists()


def test_prior_text_override_and_export(qtbot, window, dataset):
    g = window.prior_gallery
    assert g.text_edit.text() == "chair" and not g.reset_text_button.isEnabled()
    g.text_edit.setText("armchair")
    g.text_edit.editingFinished.emit()
    store = ReviewStore(dataset / ".occstudio")
    assert store.prior_text(S0) == "armchair"
    assert window.sample_view.prior_text_edit.text() == "armchair" and g.text_note.text() == "override"
    manifest_before = (dataset / "manifest.json").read_bytes()

    action = window.editing_ui.actions["export_priors_manifest"]
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "File")
    assert action in file_menu.actions()
    out = g.export_manifest()
    assert out == (dataset / "manifest_with_priors.json").resolve()
    entries = json.loads(manifest_before)
    for entry in entries:
        entry["prior_images"] = [f"priors/{entry['id']}/prior_0.png"]
    entries[0]["prior_text"] = "armchair"
    assert out.read_bytes() == (json.dumps(entries, indent=2) + "\n").encode()
    assert (dataset / "manifest.json").read_bytes() == manifest_before
    reread = open_dataset(out)
    assert reread.get(S0).text["prior_text"] == "armchair"
    assert reread.get(S1).path_list("prior_images") == [dataset / "priors" / S1 / "prior_0.png"]

    # resetting the text removes the override
    qtbot.mouseClick(g.reset_text_button, Qt.MouseButton.LeftButton)
    assert ReviewStore(dataset / ".occstudio").prior_text(S0) is None and g.text_edit.text() == "chair"

    # a sample without priors: refused unless missing priors are allowed
    window.browser.select(S1)
    qtbot.waitUntil(lambda: g.sample_id == S1 and not window.jobs.running(), timeout=20000)
    g.list.setCurrentRow(0)
    g.remove_selected()
    assert g.priors() == []
    with pytest.raises(DataError, match="missing priors"):
        g.export_manifest(dataset / "out" / "m.json")
    out2 = g.export_manifest(dataset / "out" / "m.json", allow_missing=True)
    written = json.loads(out2.read_text())
    assert written[1] == json.loads(manifest_before)[1], "an entry without priors is left as it was"
    # priors outside the output's folder are written as absolute paths (RelaxFlow's behaviour)
    assert written[0]["prior_images"] == [(dataset / "priors" / S0 / "prior_0.png").resolve().as_posix()]


def test_review_status_shortcuts_and_filter(qtbot, window, dataset):
    r = window.review_panel
    assert r.status() == "unreviewed"
    qtbot.keyClick(window.sample_view.scene_pane.view, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert r.status(S0) == "needs_fix"
    assert r.status_combo.currentData() == "needs_fix"
    assert ReviewStore(dataset / ".occstudio").status(S0) == "needs_fix"

    window.browser.select(S1)
    qtbot.waitUntil(lambda: r.sample_id == S1 and not window.jobs.running(), timeout=20000)
    assert r.status_combo.currentData() == "unreviewed"
    r.status_combo.activated.emit(r.status_combo.findData("ok"))
    assert r.status(S1) == "ok"

    r.set_filter("needs_fix")
    assert r.filtered_ids() == [S0] and r.list.count() == 1 and r.list.isVisible()
    assert "1 shown" in r.counts_label.text() and "1 ok" in r.counts_label.text()
    r.list.itemClicked.emit(r.list.item(0))
    qtbot.waitUntil(lambda: window.controller.content["id"] == S0 and not window.jobs.running(), timeout=20000)
    r.set_filter("unreviewed")
    assert r.filtered_ids() == [S2]
    if hasattr(window.browser, "set_sample_predicate"):
        assert window.browser.visible_ids() == [S2]
    r.set_filter("all")
    assert not r.list.isVisible() and window.browser.visible_ids() == [S0, S1, S2]

    # stored in the sidecar: a new window on the same dataset sees the statuses
    window.open_path(dataset)
    qtbot.waitUntil(lambda: r.dataset is not None and not window.jobs.running(), timeout=20000)
    assert r.status(S0) == "needs_fix" and r.status(S1) == "ok" and r.status(S2) == "unreviewed"
