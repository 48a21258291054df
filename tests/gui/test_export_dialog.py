"""File > Export video…: preview, export in a child process, cancel leaves nothing."""

from __future__ import annotations

import imageio.v2 as iio
import pytest
from PySide6.QtCore import Qt

from occstudio.gui.dialogs.export_video import ExportVideoDialog
from tests.factories import make_extremeocc_dataset


@pytest.fixture
def dialog(qtbot, tmp_path):
    ds = make_extremeocc_dataset(tmp_path / "ds", n=2)
    dlg = ExportVideoDialog(ds, "scene0/view_00", ds / "predictions")
    qtbot.addWidget(dlg)
    dlg.size.setCurrentText("160x96")
    yield dlg
    dlg.done(0)


def test_preview_and_export(qtbot, dialog, tmp_path):
    qtbot.waitUntil(lambda: dialog.preview.pixmap() is not None and not dialog.preview.pixmap().isNull(), timeout=60000)
    out = tmp_path / "clip.mp4"
    dialog.out.setText(str(out))
    dialog.frames.setValue(6)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.is_running(), timeout=60000)
    assert dialog.status.text().startswith("Wrote"), dialog.status.text()
    reader = iio.get_reader(str(out), "ffmpeg")
    assert reader.count_frames() == 6


def test_cancel_leaves_no_file(qtbot, dialog, tmp_path):
    out = tmp_path / "long.mp4"
    dialog.out.setText(str(out))
    dialog.frames.setValue(3000)
    dialog.start_export()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=60000)
    dialog.cancel_or_close()
    qtbot.waitUntil(lambda: not dialog.is_running(), timeout=30000)
    assert "Cancelled" in dialog.status.text()
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".long")]
