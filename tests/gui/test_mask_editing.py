"""Mask editing in the main window under Xvfb: tools, undo per stroke, per-sample stacks,
saving (encoding, atomicity, backup), revert, autosave and recovery, dirty markers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from occstudio.core.persistence import TEMP_SUFFIX, AutosaveJournal
from occstudio.gui.editing import install_editing
from occstudio.gui.panes.image_pane import overlay_rgba
from occstudio.gui.qimage import qimage_to_array
from occstudio.io.images import read_mask
from occstudio.io.mask_store import read_amodal3r_mask
from tests.factories import make_extremeocc_dataset

S0, S1 = "scene0/view_00", "scene1/view_00"
MASK0 = "assets/scene0/view_00/occluded_mask.png"


@pytest.fixture
def dataset(tmp_path):
    return make_extremeocc_dataset(tmp_path / "ds", n=3, size=64, predictions=False)


def open_and_wait(qtbot, window, path, sample_id=None):
    window.controller.content = None
    window.open_path(path, sample_id)
    qtbot.waitUntil(
        lambda: window.controller.content is not None
        and (sample_id is None or window.controller.content["id"] == sample_id)
        and not window.jobs.running(),
        timeout=30000,
    )


def select_and_wait(qtbot, window, sample_id):
    window.browser.select(sample_id)
    qtbot.waitUntil(lambda: window.controller.content is not None and window.controller.content["id"] == sample_id
                    and not window.jobs.running(), timeout=20000)


@pytest.fixture
def editor(qtbot, main_window, monkeypatch):
    monkeypatch.setenv("OCCSTUDIO_AUTOSAVE_MS", "150")
    editing = getattr(main_window, "editing", None) or install_editing(main_window)
    editing._autosave_timer.setInterval(150)
    editing.auto_answers.update({"unsaved": "discard", "revert": "yes", "recovery": "recover"})
    main_window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is main_window, timeout=5000)  # for window shortcuts
    return main_window, editing


def vpos(pane, y, x):
    """Viewport position of the centre of image pixel (row y, column x)."""
    return pane.view.mapFromScene(QPointF(x + 0.5, y + 0.5))


def stroke(qtbot, pane, points, modifier=Qt.KeyboardModifier.NoModifier):
    vp = pane.view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, modifier, vpos(pane, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(vp, vpos(pane, *p))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, modifier, vpos(pane, *points[-1]))


def click(qtbot, pane, y, x, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.mouseClick(pane.view.viewport(), Qt.MouseButton.LeftButton, modifier, vpos(pane, y, x))


def segment_distance(shape, a, b):
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = b - a
    t = np.clip(((yy - a[0]) * d[0] + (xx - a[1]) * d[1]) / (d @ d), 0, 1)
    return np.hypot(yy - a[0] - t * d[0], xx - a[1] - t * d[1])


def test_brush_stroke_is_local_and_one_undo_command(qtbot, editor, dataset):
    w, ed = editor
    open_and_wait(qtbot, w, dataset)
    pane = w.sample_view.scene_pane
    w.editing_ui.actions["tool_brush"].trigger()
    ed.tools.set_radius(2)
    before = pane.mask().copy()
    assert not before[50].any()
    stroke(qtbot, pane, [(50, x) for x in range(8, 57, 4)])
    after = pane.mask().copy()
    changed = after != before
    assert changed[50, 8:57].all(), "every pixel on the stroke's line is painted"
    dist = segment_distance(after.shape, (50, 8), (50, 56))
    assert not changed[dist > 2 + 1.0].any(), "nothing changes away from the stroke"
    assert after[changed].all()
    # one stroke = one command
    assert ed.stacks.get(S0).index == 1
    assert w.browser.model.is_dirty(S0) and w.windowTitle().startswith("* ")
    assert ed.controller.content["mask"] is pane.mask()
    # the overlay pixmap (updated by region only) shows exactly the edited mask
    shown = qimage_to_array(pane.overlay_item.pixmap().toImage())
    expected = overlay_rgba(pane.mask(), pane.overlay_color(), pane.overlay_opacity(), pane.overlay_mode())
    assert np.array_equal(shown[:, :, 3], expected[:, :, 3])
    # undo / redo through the actions
    w.editing_ui.actions["undo"].trigger()
    assert np.array_equal(pane.mask(), before)
    assert not w.browser.model.is_dirty(S0) and not w.windowTitle().startswith("*")
    assert np.array_equal(pane.rendered_overlay()[before], pane.rendered_overlay()[before])
    w.editing_ui.actions["redo"].trigger()
    assert np.array_equal(pane.mask(), after)
    assert w.windowTitle().startswith("* ")


def test_eraser_shift_and_keyboard_shortcuts(qtbot, editor, dataset):
    w, ed = editor
    open_and_wait(qtbot, w, dataset)
    pane = w.sample_view.scene_pane
    pane.view.setFocus()
    qtbot.keyClick(pane.view, Qt.Key.Key_E)
    assert ed.tools.tool == "eraser"
    ed.tools.set_radius(3)
    qtbot.keyClick(pane.view, Qt.Key.Key_BracketRight)
    assert ed.tools.radius == 4 and w.editing_ui.radius_spin.value() == 4
    qtbot.keyClick(pane.view, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(pane.view, Qt.Key.Key_BracketLeft)
    assert ed.tools.radius == 2
    before = pane.mask().copy()
    stroke(qtbot, pane, [(20, 20), (20, 30)])  # inside the mask rectangle (rows 16-31, cols 16-47)
    assert (before & ~pane.mask()).any() and not (~before & pane.mask()).any()
    # Shift inverts: the eraser paints
    before = pane.mask().copy()
    stroke(qtbot, pane, [(55, 20), (55, 30)], Qt.KeyboardModifier.ShiftModifier)
    assert (~before & pane.mask()).any() and not (before & ~pane.mask()).any()
    qtbot.keyClick(pane.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(pane.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not ed.is_dirty(S0)
    qtbot.keyClick(pane.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert ed.stacks.get(S0).index == 1


def test_pan_and_zoom_do_not_paint(qtbot, editor, dataset):
    w, ed = editor
    open_and_wait(qtbot, w, dataset)
    pane = w.sample_view.scene_pane
    ed.tools.set_tool("brush")
    pane.view.set_zoom(16.0)
    assert pane.view.horizontalScrollBar().maximum() > 100
    before = pane.mask().copy()
    vp = pane.view.viewport()
    h0 = pane.view.horizontalScrollBar().value()
    start = vp.rect().center()
    qtbot.mousePress(vp, Qt.MouseButton.MiddleButton, pos=start)
    qtbot.mouseMove(vp, start + type(start)(-60, 0))
    qtbot.mouseRelease(vp, Qt.MouseButton.MiddleButton, pos=start + type(start)(-60, 0))
    assert pane.view.horizontalScrollBar().value() != h0
    # space + left drag pans too
    pane.view.setFocus()
    qtbot.keyPress(pane.view, Qt.Key.Key_Space)
    h1 = pane.view.horizontalScrollBar().value()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(vp, start + type(start)(50, 0))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=start + type(start)(50, 0))
    qtbot.keyRelease(pane.view, Qt.Key.Key_Space)
    assert pane.view.horizontalScrollBar().value() != h1
    assert np.array_equal(pane.mask(), before) and not ed.is_dirty()


def test_switching_samples_keeps_edits_and_undo_stacks(qtbot, editor, dataset):
    w, ed = editor
    open_and_wait(qtbot, w, dataset)
    pane = w.sample_view.scene_pane
    ed.tools.set_tool("brush")
    ed.tools.set_radius(1)
    original = pane.mask().copy()
    stroke(qtbot, pane, [(5, 5), (5, 40)])
    stroke(qtbot, pane, [(58, 5), (58, 40)])
    edited = pane.mask().copy()
    select_and_wait(qtbot, w, S1)
    assert ed.current_id == S1 and np.array_equal(pane.mask(), original)  # scene1 has the same original
    assert w.browser.model.is_dirty(S0) and not w.browser.model.is_dirty(S1)
    assert w.windowTitle().startswith("* ")
    assert not ed.can_undo()
    select_and_wait(qtbot, w, S0)
    assert np.array_equal(pane.mask(), edited), "the working mask replaces the one read from disk"
    assert np.array_equal(read_mask(dataset / MASK0), original), "nothing was written"
    assert ed.stacks.get(S0).index == 2
    assert ed.undo() and ed.undo()
    assert np.array_equal(pane.mask(), original) and not ed.is_dirty()
    assert not ed.undo()


def test_save_writes_l_png_atomically_and_backs_up_once(qtbot, editor, dataset):
    w, ed = editor
    open_and_wait(qtbot, w, dataset)
    pane = w.sample_view.scene_pane
    path = dataset / MASK0
    original_bytes = path.read_bytes()
    ed.tools.set_tool("brush")
    ed.tools.set_radius(2)
    stroke(qtbot, pane, [(50, 10), (50, 50)])
    qtbot.waitUntil(lambda: ed.context.journal.path_for(S0).is_file(), timeout=5000)
    pane.view.setFocus()
    qtbot.keyClick(pane.view, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not ed.is_dirty(S0) and not w.windowTitle().startswith("*")
    with Image.open(path) as image:
        assert image.mode == "L"
        values = np.asarray(image)
    assert set(np.unique(values)) == {0, 255}
    assert np.array_equal(values == 255, pane.mask())
    backup = dataset / ".occstudio" / "originals" / MASK0
    assert backup.read_bytes() == original_bytes
    assert not list(path.parent.glob(f"*{TEMP_SUFFIX}"))
    ed.flush_autosave()
    assert not ed.context.journal.path_for(S0).exists(), "a saved sample has no autosave"
    # a second save keeps the first original
    stroke(qtbot, pane, [(58, 10), (58, 50)])
    assert ed.save()
    assert backup.read_bytes() == original_bytes
    assert np.array_equal(read_mask(path), pane.mask())
    # undo after a save: dirty again
    ed.undo()
    assert ed.is_dirty(S0)


def test_revert_to_original_restores_file_and_is_undoable(qtbot, editor, dataset):
    w, ed = editor
    open_and_wait(qtbot, w, dataset)
    pane = w.sample_view.scene_pane
    path = dataset / MASK0
    original_bytes = path.read_bytes()
    original = pane.mask().copy()
    ed.tools.set_tool("brush")
    stroke(qtbot, pane, [(50, 10), (50, 50)])
    assert ed.save()
    stroke(qtbot, pane, [(4, 10), (4, 50)])
    edited = pane.mask().copy()
    w.editing_ui.actions["revert_mask"].trigger()
    assert path.read_bytes() == original_bytes
    assert np.array_equal(pane.mask(), original)
    assert not ed.is_dirty(S0)
    ed.undo()
    assert np.array_equal(pane.mask(), edited) and ed.is_dirty(S0)


def test_polygon_tool(qtbot, editor, dataset):
    w, ed = editor
    open_and_wait(qtbot, w, dataset)
    pane = w.sample_view.scene_pane
    pane.view.setFocus()
    qtbot.keyClick(pane.view, Qt.Key.Key_P)
    assert ed.tools.tool == "polygon"
    before = pane.mask().copy()
    # vertices at pixel centres (40,4) (40,12) (52,12) and a wrong one removed by Backspace
    for y, x in ((40, 4), (40, 12), (52, 12), (60, 60)):
        click(qtbot, pane, y, x)
    assert len(ed.tools.polygon_vertices()) == 4
    qtbot.keyClick(pane.view, Qt.Key.Key_Backspace)
    click(qtbot, pane, 52, 4)
    qtbot.keyClick(pane.view, Qt.Key.Key_Return)
    changed = pane.mask() != before
    assert changed[41:52, 5:12].all() and not changed[:38].any() and not changed[:, 14:].any()
    assert ed.stacks.get(S0).index == 1 and ed.tools.polygon_vertices() == []
    # Escape cancels a pending polygon
    for y, x in ((2, 2), (2, 10), (10, 10)):
        click(qtbot, pane, y, x)
    qtbot.keyClick(pane.view, Qt.Key.Key_Escape)
    assert ed.tools.polygon_vertices() == [] and ed.stacks.get(S0).index == 1
    ed.undo()
    assert np.array_equal(pane.mask(), before)


def test_fill_tool(qtbot, editor, dataset):
    w, ed = editor
    open_and_wait(qtbot, w, dataset)
    pane = w.sample_view.scene_pane
    w.editing_ui.actions["tool_fill"].trigger()
    before = pane.mask().copy()
    click(qtbot, pane, 2, 2)  # the background is one region: everything becomes "in"
    assert pane.mask().all()
    ed.undo()
    click(qtbot, pane, 20, 20, Qt.KeyboardModifier.ShiftModifier)  # Shift clears the rectangle
    assert not pane.mask().any()
    ed.undo()
    assert np.array_equal(pane.mask(), before)


def test_autosave_and_in_process_recovery_with_the_dialog(qtbot, editor, dataset):
    w, ed = editor
    open_and_wait(qtbot, w, dataset)
    pane = w.sample_view.scene_pane
    ed.tools.set_tool("brush")
    stroke(qtbot, pane, [(50, 10), (50, 50)])
    edited = pane.mask().copy()
    journal = ed.context.journal
    qtbot.waitUntil(lambda: journal.path_for(S0).is_file(), timeout=5000)
    (entry,) = journal.pending()
    assert np.array_equal(journal.recover(entry)["mask"], edited)
    # reopen the dataset without saving, keeping the edits for recovery
    ed.auto_answers["unsaved"] = "keep"
    del ed.auto_answers["recovery"]

    def answer_dialog():
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.objectName() == "editing_prompt_recovery":
            assert S0 in box.informativeText()
            (button,) = [b for b in box.buttons() if b.text() == "Recover"]
            button.click()
        else:
            QTimer.singleShot(50, answer_dialog)

    QTimer.singleShot(50, answer_dialog)
    open_and_wait(qtbot, w, dataset, S0)
    qtbot.waitUntil(lambda: ed.is_dirty(S0), timeout=10000)
    qtbot.waitUntil(lambda: np.array_equal(pane.mask(), edited), timeout=10000)
    assert w.browser.model.is_dirty(S0) and w.windowTitle().startswith("* ")
    ed.undo()  # the recovery is one undoable command
    assert np.array_equal(pane.mask(), read_mask(dataset / MASK0))


def test_close_prompt(qtbot, editor, dataset):
    w, ed = editor
    open_and_wait(qtbot, w, dataset)
    ed.tools.set_tool("brush")
    stroke(qtbot, w.sample_view.scene_pane, [(50, 10), (50, 50)])
    ed.auto_answers["unsaved"] = "cancel"
    assert not w.close() and w.isVisible()
    ed.auto_answers["unsaved"] = "save"
    assert w.close()
    assert read_mask(dataset / MASK0)[50, 10:50].all()
    assert not (dataset / ".occstudio" / "autosave").is_dir() or not list((dataset / ".occstudio" / "autosave").glob("*.npz"))


def test_not_editable_sample_is_reported(qtbot, editor, tmp_path):
    w, ed = editor
    image = tmp_path / "single.png"
    Image.fromarray(np.zeros((32, 32, 4), np.uint8)).save(image)
    open_and_wait(qtbot, w, image)
    ed.tools.set_tool("brush")
    stroke(qtbot, w.sample_view.scene_pane, [(10, 10), (10, 20)])
    assert ed.current_state() is None and not ed.is_dirty()
    assert any("no mask file" in n.text for n in w.notifications.history)


def make_amodal3r_dataset(root):
    """One sample whose mask is an Amodal3R-style RGB mask (white / grey 188 / black)."""
    make_extremeocc_dataset(root, n=1, size=64, predictions=False)
    rgb = np.full((64, 64, 3), 235, np.uint8)
    rgb[10:40, 10:40] = 0  # occluded part
    rgb[10:40, 10:25] = 188  # visible part
    path = root / "assets/scene0/view_00/occluded_mask.png"
    Image.fromarray(rgb).save(path)
    return path


def test_amodal3r_two_layers_warning_and_save(qtbot, editor, tmp_path):
    w, ed = editor
    path = make_amodal3r_dataset(tmp_path / "am")
    open_and_wait(qtbot, w, tmp_path / "am")
    state = ed.current_state()
    assert state.kind == "amodal3r" and state.active == "visible"
    pane = w.sample_view.scene_pane
    visible, occluded = read_amodal3r_mask(path)
    assert np.array_equal(pane.mask(), visible)
    assert np.array_equal(ed.layer_overlay.mask(), visible | occluded)
    assert w.editing_ui.layer_combo.isEnabled()
    # paint visible outside the amodal mask: warned
    ed.tools.set_tool("brush")
    ed.tools.set_radius(1)
    stroke(qtbot, pane, [(50, 10), (50, 20)])
    assert state.outside_amodal > 0 and "outside amodal" in pane.note()
    # grow the amodal layer over it: the warning goes away
    qtbot.keyClick(pane.view, Qt.Key.Key_L)
    assert state.active == "amodal" and np.array_equal(pane.mask(), visible | occluded)
    ed.tools.set_radius(2)
    stroke(qtbot, pane, [(50, 10), (50, 20)])
    assert state.outside_amodal == 0 and not pane.note()
    assert ed.save()
    with Image.open(path) as image:
        assert image.mode == "RGB"
        pixels = np.asarray(image)
    v2, o2 = read_amodal3r_mask(path)
    assert np.array_equal(v2, state.layers["visible"])
    assert np.array_equal(v2 | o2, state.layers["amodal"])
    assert (pixels[5, 5] == 235).all(), "untouched background keeps its level"
    # undo over both layers
    ed.undo()
    ed.undo()
    assert np.array_equal(state.layers["visible"], visible)
    assert np.array_equal(state.layers["amodal"], visible | occluded)


def test_recovery_needs_matching_files(qtbot, editor, dataset):
    w, ed = editor
    journal = AutosaveJournal(dataset / ".occstudio")
    mask = read_mask(dataset / MASK0)
    mask[0, 0] = True
    journal.write(S0, {"mask": mask}, {"root": str(dataset.resolve()), "files": {"mask": str(dataset / "elsewhere.png")}})
    open_and_wait(qtbot, w, dataset, S0)
    qtbot.waitUntil(lambda: any("other mask files" in n.text for n in w.notifications.history), timeout=10000)
    assert not ed.is_dirty()
    assert journal.path_for(S0).is_file(), "an autosave that cannot be recovered is kept"
    meta = json.loads(bytes(np.load(journal.path_for(S0))["header"]).decode())
    assert meta["sample_id"] == S0


def test_real_amodal3r_views_edit_and_save_keep_other_pixels(qtbot, editor, shared_data, tmp_path):
    import shutil

    from occstudio.io.mask_store import amodal3r_classes

    w, ed = editor
    folder = tmp_path / "amodal3r" / "1"
    shutil.copytree(shared_data / "amodal3r_example" / "1", folder)
    mask_path = folder / "000000_mask.png"
    before_pixels = np.asarray(Image.open(mask_path)).copy()
    open_and_wait(qtbot, w, folder)
    state = ed.current_state()
    assert state is not None and state.kind == "amodal3r" and state.files["visible"] == mask_path
    visible, occluded = read_amodal3r_mask(mask_path)
    assert np.array_equal(state.layers["visible"], visible)
    assert np.array_equal(state.layers["amodal"], visible | occluded)
    # grow the amodal (occluded) part with a stroke on the amodal layer
    ed.set_active_layer("amodal")
    ed.tools.set_tool("brush")
    ed.tools.set_radius(6)
    pane = w.sample_view.scene_pane
    stroke(qtbot, pane, [(30, 30), (30, 120)])
    assert ed.is_dirty()
    assert ed.save()
    after_pixels = np.asarray(Image.open(mask_path))
    classes_before = amodal3r_classes(before_pixels)
    classes_after = amodal3r_classes(after_pixels)
    changed = classes_before != classes_after
    assert changed.any()
    assert np.array_equal(after_pixels[~changed], before_pixels[~changed]), "untouched pixels keep their exact values"
    v2, o2 = read_amodal3r_mask(mask_path)
    assert np.array_equal(v2, state.layers["visible"]) and np.array_equal(v2 | o2, state.layers["amodal"])
    assert (folder / ".occstudio" / "originals" / "000000_mask.png").is_file()


def test_autosave_interval_and_auto_answers_from_environment(monkeypatch):
    from occstudio.gui.editing import DEFAULT_AUTOSAVE_MS, autosave_interval_ms, parse_auto_answers

    monkeypatch.delenv("OCCSTUDIO_AUTOSAVE_MS", raising=False)
    assert autosave_interval_ms() == DEFAULT_AUTOSAVE_MS <= 5000
    monkeypatch.setenv("OCCSTUDIO_AUTOSAVE_MS", "60000")
    assert autosave_interval_ms() == 5000, "never later than 5 s after a change"
    monkeypatch.setenv("OCCSTUDIO_AUTOSAVE_MS", "oops")
    assert autosave_interval_ms() == DEFAULT_AUTOSAVE_MS
    assert parse_auto_answers(" Recovery=recover, unsaved = discard,bad") == {"recovery": "recover", "unsaved": "discard"}


def test_region_refresh_matches_full_overlay_in_contour_mode(qtbot, editor, dataset):
    w, ed = editor
    open_and_wait(qtbot, w, dataset)
    pane = w.sample_view.scene_pane
    pane.set_overlay_mode("contour")
    pane.set_contour_width(2)
    ed.tools.set_tool("brush")
    ed.tools.set_radius(3)
    stroke(qtbot, pane, [(14, 0), (20, 30), (1, 63)])  # over the mask edge and the image border
    ed.tools.set_tool("eraser")
    stroke(qtbot, pane, [(24, 20), (24, 40)])  # a hole inside the mask
    shown = qimage_to_array(pane.overlay_item.pixmap().toImage())[:, :, 3]
    expected = overlay_rgba(pane.mask(), pane.overlay_color(), pane.overlay_opacity(), "contour", 2)[:, :, 3]
    assert np.array_equal(shown, expected)
