"""Plugin docks and exporters appear in the window; a broken dock is reported, not fatal."""

from __future__ import annotations

import json

from occstudio.plugins.registry import Registry, reset_registry
from tests.factories import make_extremeocc_dataset


def write_sample_json(sample, path, progress=None):
    with open(path, "w") as fh:
        json.dump({"id": sample.id, "fields": sorted(sample.paths)}, fh)
    return path


def broken_dock(window):
    raise RuntimeError("no GPU for my dock")


def label_dock(window):
    from PySide6.QtWidgets import QLabel

    return QLabel("hello from a plugin")


def register(reg):
    reg.add_exporter(id="test.json", name="Sample as JSON", func=write_sample_json, extensions=(".json",),
                     accepts=("sample",))
    reg.add_dock(id="test.label", name="Plugin label", factory=label_dock, area="right")
    reg.add_dock(id="test.broken", name="Broken", factory=broken_dock)


def test_plugin_dock_and_exporter(qtbot, tmp_path, fast_rendering):
    import occstudio.builtins
    from occstudio.gui.main_window import MainWindow

    reg = Registry()
    reg.load_plugin("occstudio", occstudio.builtins.register)
    reg.load_plugin("test-plugin", register)
    reset_registry(reg)
    try:
        w = MainWindow()
        qtbot.addWidget(w)
        w.show()
        assert "plugin:test.label" in w.docks and "plugin:test.broken" not in w.docks
        assert any("test.broken" in n.text for n in w.notifications.errors())
        ds = make_extremeocc_dataset(tmp_path / "ds", n=1, predictions=False)
        w.open_path(ds)
        qtbot.waitUntil(lambda: w.controller.content is not None and not w.jobs.running(), timeout=30000)
        out = tmp_path / "sample.json"
        w.export_with(reg.exporters["test.json"], str(out))
        qtbot.waitUntil(lambda: out.is_file() and not w.jobs.running(), timeout=10000)
        assert json.loads(out.read_text())["id"] == "scene0/view_00"
        w.close()
    finally:
        reset_registry(None)
