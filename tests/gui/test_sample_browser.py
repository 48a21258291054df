"""SampleBrowser: filtering, keyboard navigation, problem icons, metric columns."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon

from occstudio.core.dataset import Dataset
from occstudio.core.sample import Sample
from occstudio.gui.docks.sample_browser import ID_ROLE, SampleBrowser

CATEGORIES = ["chair", "table", "lamp", "sofa"]


def _dataset(n: int = 12) -> Dataset:
    samples = [
        Sample(id=f"scene{i:02d}/view0", text={"prior_text": CATEGORIES[i % 4]}) for i in range(n)
    ]
    if n > 5:
        samples[3].missing = ["mask: assets/scene03/view0/occluded_mask.png"]
        samples[5].errors = ["image has shape (3, 4); expected H×W×3"]
    return Dataset(format="extremeocc", source=Path("manifest.json"), root=Path("."),
                   samples=samples)


@pytest.fixture
def browser(qtbot):
    widget = SampleBrowser()
    qtbot.addWidget(widget)
    widget.set_dataset(_dataset())
    widget.resize(400, 500)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_lists_samples_and_count(browser):
    assert browser.proxy.rowCount() == 12
    assert browser.visible_ids()[:2] == ["scene00/view0", "scene01/view0"]
    assert browser.count_label.text() == "12 samples"
    assert browser.model.headerData(1, Qt.Orientation.Horizontal) == "prior text"
    assert browser.current_id() == ""


def test_filter_reduces_rows_and_count(browser, qtbot):
    qtbot.keyClicks(browser.filter_edit, "LAMP")
    assert browser.visible_ids() == ["scene02/view0", "scene06/view0", "scene10/view0"]
    assert browser.count_label.text() == "3 of 12 samples"
    browser.set_filter_text("scene1 lamp")  # every word must match
    assert browser.visible_ids() == ["scene10/view0"]
    assert browser.filter_edit.text() == "scene1 lamp"
    browser.set_filter_text("")
    assert browser.proxy.rowCount() == 12
    assert browser.count_label.text() == "12 samples"


def test_keyboard_down_moves_current_and_emits(browser, qtbot):
    with qtbot.waitSignal(browser.current_sample_changed) as first:
        browser.select("scene00/view0")
    assert first.args == ["scene00/view0"]
    browser.view.setFocus()
    with qtbot.waitSignal(browser.current_sample_changed) as blocker:
        qtbot.keyClick(browser.view, Qt.Key.Key_Down)
    assert blocker.args == ["scene01/view0"]
    assert browser.current_id() == "scene01/view0"
    with qtbot.waitSignal(browser.current_sample_changed) as blocker:
        qtbot.keyClick(browser.view, Qt.Key.Key_PageDown)
    assert browser.current_id() == blocker.args[0] != "scene01/view0"
    with qtbot.waitSignal(browser.current_sample_changed) as blocker:
        qtbot.keyClick(browser.filter_edit, Qt.Key.Key_Up)  # forwarded from the filter
    assert browser.current_id() == blocker.args[0]


def test_click_emits(browser, qtbot):
    index = browser.proxy.index(4, 0)
    rect = browser.view.visualRect(index)
    with qtbot.waitSignal(browser.current_sample_changed) as blocker:
        qtbot.mouseClick(browser.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == ["scene04/view0"]


def test_next_previous_and_filter_does_not_switch(browser, qtbot):
    assert browser.next() == "scene00/view0"
    assert browser.next() == "scene01/view0"
    assert browser.previous() == "scene00/view0"
    assert browser.previous() is None
    emitted = []
    browser.current_sample_changed.connect(emitted.append)
    browser.set_filter_text("sofa")  # hides the current sample: nothing is emitted
    assert emitted == []
    assert browser.current_id() == "scene00/view0"
    assert browser.next() == "scene03/view0"
    assert emitted == ["scene03/view0"]
    browser.set_filter_text("")  # the current sample stays current
    assert browser.view.currentIndex().data(ID_ROLE) == "scene03/view0"
    assert emitted == ["scene03/view0"]
    browser.set_filter_text("table")
    assert browser.select("scene00/view0")  # clears the filter that hides it
    assert browser.filter_text() == ""
    assert not browser.select("nope")


def test_warning_icon_and_tooltip_for_problems(browser):
    model = browser.model
    icon = model.data(model.index(3, 0), Qt.ItemDataRole.DecorationRole)
    assert isinstance(icon, QIcon) and not icon.isNull()
    assert "occluded_mask.png" in model.data(model.index(3, 0), Qt.ItemDataRole.ToolTipRole)
    assert isinstance(model.data(model.index(5, 0), Qt.ItemDataRole.DecorationRole), QIcon)
    assert "expected" in model.data(model.index(5, 1), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(0, 0), Qt.ItemDataRole.DecorationRole) is None


def test_dirty_marker(browser):
    model = browser.model
    browser.set_dirty("scene02/view0", True)
    assert model.data(model.index(2, 0)) == "● scene02/view0"
    assert model.data(model.index(2, 0), Qt.ItemDataRole.FontRole).bold()
    assert browser.visible_ids()[2] == "scene02/view0"  # ids are unaffected
    browser.set_dirty("scene02/view0", False)
    assert model.data(model.index(2, 0)) == "scene02/view0"
    assert model.data(model.index(2, 0), Qt.ItemDataRole.FontRole) is None


def test_extra_metric_column_sorts_numerically(browser):
    # 9 > 10 as text but not as numbers; one sample has no value (sorts last).
    values = {f"scene{i:02d}/view0": float(v) for i, v in enumerate([9, 10, 2.5, 100, 0.5])}
    values.update({f"scene{i:02d}/view0": 50.0 + i for i in range(5, 11)})
    browser.set_extra_column("IoU", values)
    col = browser.model.columnCount() - 1
    assert browser.model.headerData(col, Qt.Orientation.Horizontal) == "IoU"
    browser.view.sortByColumn(col, Qt.SortOrder.AscendingOrder)
    ids = browser.visible_ids()
    assert ids[:4] == ["scene04/view0", "scene02/view0", "scene00/view0", "scene01/view0"]
    assert ids[-1] == "scene11/view0"  # blank last
    browser.view.sortByColumn(col, Qt.SortOrder.DescendingOrder)
    ids = browser.visible_ids()
    assert ids[0] == "scene03/view0" and ids[-1] == "scene11/view0"
    # updating the column re-sorts
    browser.set_extra_column("IoU", {"scene11/view0": 1000.0})
    assert browser.model.columnCount() == col + 1
    assert browser.visible_ids()[0] == "scene11/view0"
    assert browser.proxy.index(0, col).data() == "1000"


def test_empty_and_none_dataset(qtbot):
    widget = SampleBrowser()
    qtbot.addWidget(widget)
    assert widget.count_label.text() == "No dataset"
    assert widget.next() is None
    widget.set_dataset(_dataset(3))
    assert widget.count_label.text() == "3 samples"
    widget.set_dataset(None)
    assert widget.visible_ids() == []


def test_sorting_keeps_current_sample_and_uses_natural_order(qtbot):
    samples = [Sample(id=i, text={"prior_text": t}) for i, t in
               [("s10", "b"), ("s2", "a"), ("s1", "c")]]
    widget = SampleBrowser()
    qtbot.addWidget(widget)
    widget.set_dataset(Dataset("x", Path("m.json"), Path("."), samples))
    assert widget.visible_ids() == ["s10", "s2", "s1"]  # dataset order until sorted
    widget.select("s2")
    emitted = []
    widget.current_sample_changed.connect(emitted.append)
    widget.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert widget.visible_ids() == ["s1", "s2", "s10"]
    assert widget.view.currentIndex().data(ID_ROLE) == "s2"
    widget.view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    assert widget.visible_ids() == ["s1", "s10", "s2"]
    widget.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # cleared: dataset order
    assert widget.visible_ids() == ["s10", "s2", "s1"]
    assert widget.view.currentIndex().data(ID_ROLE) == "s2"
    assert emitted == []
    assert widget.next() == "s1"
