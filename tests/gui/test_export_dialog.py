"""File > Export video…: preview, export in a child process, cancel leaves nothing."""

from __future__ import annotations

import imageio.v2 as iio
import numpy as np
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


def test_occupancy_sequence_with_recorded_keyframes(qtbot, tmp_path):
    import json
    from pathlib import Path

    from PIL import Image

    from tests.factories import make_occ3d_scene

    root = make_occ3d_scene(tmp_path / "occ3d", n_frames=3)
    views = iter([
        {"position": [-30.0, -30.0, 25.0], "focal_point": [0.0, 0.0, 0.0], "view_up": [0.0, 0.0, 1.0]},
        {"position": [30.0, -30.0, 25.0], "focal_point": [0.0, 0.0, 0.0], "view_up": [0.0, 0.0, 1.0]},
    ])
    dlg = ExportVideoDialog(root, "scene-0001/" + "0" * 31 + "1", None, dataset_format="occ3d", n_samples=3,
                            sequence=True, current_view=lambda: next(views))
    qtbot.addWidget(dlg)
    try:
        layouts = [dlg.layout_box.itemData(i) for i in range(dlg.layout_box.count())]
        assert "gt-pred-error" in layouts and "input-world-occupancy" in layouts
        dlg.size.setCurrentText("240x96")
        dlg.layout_box.setCurrentIndex(layouts.index("gt-pred-error"))
        dlg.scope.setCurrentIndex(dlg.scope.findData("sequence"))
        assert not dlg.frames.isEnabled()  # a played sequence has one frame per sample
        dlg.camera.setCurrentIndex(dlg.camera.findData("keyframes"))
        assert not dlg.export_button.isEnabled() and "0" not in dlg.keyframe_label.text()
        qtbot.mouseClick(dlg.add_keyframe, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(dlg.add_keyframe, Qt.MouseButton.LeftButton)
        assert dlg.keyframe_label.text() == "2 keyframes" and dlg.export_button.isEnabled()
        out = tmp_path / "frames"
        args = dlg.arguments(str(out))
        assert "--sequence" in args
        camera = args[args.index("--camera") + 1]
        assert camera.startswith("keyframes:")
        recorded = json.loads(Path(camera.split(":", 1)[1]).read_text())["keyframes"]
        assert [k["position"][0] for k in recorded] == [-30.0, 30.0]
        dlg.out.setText(str(out))
        dlg.start_export()
        qtbot.waitUntil(lambda: not dlg.is_running(), timeout=60000)
        assert dlg.status.text().startswith("Wrote"), dlg.status.text()
        frames = sorted(out.glob("*.png"))
        assert len(frames) == 3
        first, last = (np.asarray(Image.open(f).convert("RGB"), int) for f in (frames[0], frames[-1]))
        assert np.abs(first - last).mean() > 1.0  # the camera moved between the keyframes
        qtbot.mouseClick(dlg.clear_keyframes, Qt.MouseButton.LeftButton)
        assert not dlg.keyframes and not dlg.export_button.isEnabled()
    finally:
        dlg.done(0)


def test_fixed_camera_is_the_3d_views_current_view(qtbot, main_window, tmp_path):
    import json
    from pathlib import Path

    from tests.factories import make_occ3d_scene

    w = main_window
    w.open_path(make_occ3d_scene(tmp_path / "occ3d", n_frames=2))
    qtbot.waitUntil(lambda: w.controller.content is not None and not w.jobs.running(), timeout=30000)
    w.view3d.camera_preset("bev")
    w.show_export_video()
    dlg = w.export_dialog
    try:
        assert dlg.scope.findData("sequence") >= 0 and dlg.scope.findData("range") >= 0
        dlg.camera.setCurrentIndex(dlg.camera.findData("fixed"))
        args = dlg.arguments(str(tmp_path / "x.mp4"))
        camera = args[args.index("--camera") + 1]
        saved = json.loads(Path(camera.split(":", 1)[1]).read_text())[0]
        assert np.allclose(saved["position"], w.view3d.camera_pose()["position"])
        assert abs(saved["view_up"][1]) > 0.9  # the bird's-eye preset looks down with +y up
    finally:
        dlg.done(0)
