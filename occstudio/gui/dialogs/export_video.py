"""File > Export video…: options, a live preview of the first frame, progress with an
estimated time and Cancel.

What it offers follows the dataset: occupancy datasets get the error and OccGen "Input |
World | Occupancy" layouts; sequences (OccGen trajectories, Occ3D scenes, UnScenes3D
clips) can be played whole or over a range of frames, with the trajectory (chase)
camera. The fixed camera is the 3D view's current camera, and keyframes are recorded from
the 3D view while the dialog stays open (it is not modal): move the view, press "Add
current view", repeat; the export interpolates between them.

The export (and the preview) run in a child process (``occstudio export-video …
--json-progress``) that renders off-screen, so no second GL context opens beside the
3D view and the window stays usable. Cancel sends SIGTERM; the child removes its
temporary file, so nothing half-written is left at the output path.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QProcess, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from occstudio.gui import settings as app_settings


def cli_prefix() -> list[str]:
    """Arguments before the sub-command: ``-m occstudio.cli``, or none in a frozen app
    (where ``sys.executable`` is the occstudio program itself)."""
    return [] if getattr(sys, "frozen", False) else ["-m", "occstudio.cli"]


#: Layout presets offered for mesh datasets and for occupancy datasets.
MESH_LAYOUTS = ("gt-pred", "image-pred-gt", "gt-pred-error")
OCCUPANCY_LAYOUTS = ("gt-pred", "image-pred-gt", "gt-pred-error", "input-world-occupancy")
OCCUPANCY_FORMATS = ("occ3d", "occgen", "unscenes3d")
LAYOUT_NAMES = {
    "gt-pred": "GT | Prediction",
    "image-pred-gt": "Image | Prediction | GT",
    "gt-pred-error": "GT | Prediction | Error",
    "input-world-occupancy": "Input | World | Occupancy (OccGen)",
}
CAMERAS = (
    ("orbit", "Orbit / turntable"),
    ("fixed", "Fixed: the 3D view's current camera"),
    ("keyframes", "Keyframes recorded from the 3D view"),
    ("trajectory", "Follow the trajectory (sequences)"),
)
SIZES = ("1280x720", "1920x1080", "800x800", "640x360")
#: Scopes that play samples one per frame.
PLAYBACK_SCOPES = ("sequence", "range")


class ExportVideoDialog(QDialog):
    """Options and progress of one video export.

    Signals
    -------
    finished_export(str)
        The written file, when an export completed.
    """

    finished_export = Signal(str)

    def __init__(
        self,
        dataset_path: Path,
        sample_id: str | None,
        predictions: Path | None,
        parent: QWidget | None = None,
        *,
        dataset_format: str = "",
        n_samples: int = 0,
        sample_index: int = 0,
        sequence: bool = False,
        current_view: Callable[[], dict] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export video")
        self.dataset_path, self.sample_id, self.predictions = dataset_path, sample_id, predictions
        self.current_view = current_view
        self.keyframes: list[dict] = []
        self.process: QProcess | None = None
        self.preview_process: QProcess | None = None
        self._preview_dir = tempfile.TemporaryDirectory(prefix="occstudio-preview-")
        self._started = 0.0
        self._buffer = b""
        self.result: dict | None = None
        saved = app_settings.app_settings()

        self.scope = QComboBox()
        self.scope.addItem(f"Current sample ({sample_id})" if sample_id else "First sample", "current")
        self.scope.addItem("All samples (one clip each, with title cards)", "all")
        if sequence:
            self.scope.addItem("Play the sequence of the current sample", "sequence")
        if n_samples > 1:
            self.scope.addItem("Play a range of samples", "range")
        self.range_start = QSpinBox()
        self.range_end = QSpinBox()
        for box in (self.range_start, self.range_end):
            box.setRange(0, max(0, n_samples))
        self.range_start.setValue(min(sample_index, max(0, n_samples - 1)))
        self.range_end.setValue(n_samples)
        self.range_row = QWidget()
        range_layout = QHBoxLayout(self.range_row)
        range_layout.setContentsMargins(0, 0, 0, 0)
        range_layout.addWidget(QLabel("from"))
        range_layout.addWidget(self.range_start)
        range_layout.addWidget(QLabel("to (excluded)"))
        range_layout.addWidget(self.range_end)
        self.layout_box = QComboBox()
        layouts = OCCUPANCY_LAYOUTS if dataset_format in OCCUPANCY_FORMATS else MESH_LAYOUTS
        for key in layouts:
            self.layout_box.addItem(LAYOUT_NAMES[key], key)
        default_layout = "input-world-occupancy" if dataset_format == "occgen" else str(saved.value("export/layout", "gt-pred"))
        self.layout_box.setCurrentIndex(max(0, self.layout_box.findData(default_layout)))
        self.camera = QComboBox()
        for key, text in CAMERAS:
            if key in ("fixed", "keyframes") and current_view is None:
                text = "Fixed" if key == "fixed" else text
                if key == "keyframes":
                    continue
            self.camera.addItem(text, key)
        self.add_keyframe = QPushButton("Add current view")
        self.add_keyframe.clicked.connect(self.record_keyframe)
        self.clear_keyframes = QPushButton("Clear")
        self.clear_keyframes.clicked.connect(self.reset_keyframes)
        self.keyframe_label = QLabel("")
        self.keyframe_row = QWidget()
        key_layout = QHBoxLayout(self.keyframe_row)
        key_layout.setContentsMargins(0, 0, 0, 0)
        key_layout.addWidget(self.keyframe_label, 1)
        key_layout.addWidget(self.add_keyframe)
        key_layout.addWidget(self.clear_keyframes)
        self.frames = QSpinBox()
        self.frames.setRange(1, 3600)
        self.frames.setValue(int(saved.value("export/frames", 60)))
        self.fps = QDoubleSpinBox()
        self.fps.setRange(1, 120)
        self.fps.setValue(float(saved.value("export/fps", 15)))
        self.size = QComboBox()
        self.size.setEditable(True)
        self.size.addItems(SIZES)
        self.size.setCurrentText(str(saved.value("export/size", "1280x720")))
        self.out = QLineEdit(str(saved.value("export/out", str(Path.home() / "occstudio_export.mp4"))))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        for widget, tip in (
            (self.scope, "One turntable clip per sample, or a sequence played one sample per frame"),
            (self.range_row, "Samples played, in the dataset's order (the end is not included)"),
            (self.layout_box, "Which panels the video shows, left to right"),
            (self.camera, "Orbit turns the camera around; fixed keeps the 3D view's camera; keyframes "
                          "interpolate the views you recorded; trajectory follows the sensor of a sequence"),
            (self.add_keyframe, "Record the 3D view's current camera as the next keyframe"),
            (self.frames, "Frames per sample turntable (a played sequence has one frame per sample)"),
            (self.fps, "Frames per second of the video"),
            (self.size, "Video size in pixels, WxH (made even for H.264)"),
            (self.out, ".mp4 (H.264), .gif, or a folder for PNG frames"),
        ):
            widget.setToolTip(tip)

        form = QFormLayout()
        form.addRow("Samples", self.scope)
        form.addRow("Range", self.range_row)
        form.addRow("Layout", self.layout_box)
        form.addRow("Camera", self.camera)
        form.addRow("Keyframes", self.keyframe_row)
        form.addRow("Frames", self.frames)
        form.addRow("FPS", self.fps)
        form.addRow("Size", self.size)
        form.addRow("Output", out_row)
        self.form = form

        self.preview = QLabel("Preview of the first frame…")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(480, 270)
        self.preview.setStyleSheet("background: #e8eaed; color: #555;")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("")
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button = QPushButton("Close")
        self.cancel_button.clicked.connect(self.cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addLayout(form)
        top.addWidget(self.preview, 1)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)
        for box in (self.layout_box, self.camera, self.scope):
            box.currentIndexChanged.connect(self.update_preview)
        for box in (self.range_start, self.range_end):
            box.valueChanged.connect(self.update_preview)
        self.size.currentTextChanged.connect(self.update_preview)
        self.scope.currentIndexChanged.connect(self._update_rows)
        self.camera.currentIndexChanged.connect(self._update_rows)
        self._update_rows()
        self.update_preview()

    # option rows -------------------------------------------------------------
    def _update_rows(self) -> None:
        scope, camera = self.scope.currentData(), self.camera.currentData()
        playback = scope in PLAYBACK_SCOPES
        self.form.setRowVisible(self.range_row, scope == "range")
        self.form.setRowVisible(self.keyframe_row, camera == "keyframes")
        self.frames.setEnabled(not playback)
        n = len(self.keyframes)
        self.keyframe_label.setText("none yet: move the 3D view, then add it" if n == 0 else
                                    f"{n} keyframe{'s' if n != 1 else ''}")
        self.clear_keyframes.setEnabled(n > 0)
        ready = camera != "keyframes" or n > 0
        self.export_button.setEnabled(ready and not self.is_running())
        self.export_button.setToolTip("" if ready else "Record at least one keyframe first")

    def record_keyframe(self) -> None:
        """Add the 3D view's current camera as a keyframe."""
        if self.current_view is None:
            return
        self.keyframes.append(self.current_view())
        self._update_rows()
        self.update_preview()

    def reset_keyframes(self) -> None:
        """Forget the recorded keyframes."""
        self.keyframes.clear()
        self._update_rows()

    def _camera_argument(self) -> str:
        """``--camera`` for the current choice; the fixed view and the keyframes are
        written to JSON files beside the preview."""
        camera = self.camera.currentData()
        folder = Path(self._preview_dir.name)
        if camera == "fixed" and self.current_view is not None:
            path = folder / "fixed_view.json"
            path.write_text(json.dumps([self.current_view()]), encoding="utf-8")
            return f"fixed:{path}"
        if camera == "keyframes":
            path = folder / "keyframes.json"
            path.write_text(json.dumps({"keyframes": self.keyframes}, indent=1), encoding="utf-8")
            return f"keyframes:{path}"
        return camera

    # command lines ---------------------------------------------------------
    def arguments(self, out: str, frames: int | None = None) -> list[str]:
        """The ``occstudio export-video`` arguments for the current options."""
        args = [*cli_prefix(), "export-video", str(self.dataset_path), "--out", out,
                "--layout", self.layout_box.currentData(), "--camera", self._camera_argument(),
                "--frames", str(frames or self.frames.value()), "--fps", f"{self.fps.value():g}",
                "--size", self.size.currentText().strip(), "--json-progress"]
        scope = self.scope.currentData()
        if scope == "all":
            args.append("--all")
        elif scope == "range":
            start = self.range_start.value()
            end = max(start + 1, self.range_end.value())
            args += ["--range", f"{start}:{end if frames is None else start + 1}"]
        elif self.sample_id:
            args += ["--sample", self.sample_id]
            if scope == "sequence" and frames is None:
                args.append("--sequence")
        if self.predictions is not None:
            args += ["--predictions", str(self.predictions)]
        return args

    # preview ---------------------------------------------------------------
    def update_preview(self) -> None:
        """Render the first frame in a child process and show it."""
        if self.preview_process is not None:
            self.preview_process.kill()
            self.preview_process.waitForFinished(2000)
            self.preview_process = None
        if self.camera.currentData() == "keyframes" and not self.keyframes:
            self.preview.setText("Record a keyframe: move the 3D view, then press “Add current view”")
            return
        target = Path(self._preview_dir.name) / "preview.png"
        for old in Path(self._preview_dir.name).glob("preview*.png"):
            old.unlink()
        proc = QProcess(self)
        proc.setProgram(sys.executable)
        args = self.arguments(str(target), frames=1)
        if "--all" in args:  # preview the first clip only
            args.remove("--all")
        proc.setArguments(args)
        proc.finished.connect(lambda code, _status, p=proc: self._preview_done(p, code))
        self.preview_process = proc
        self.preview.setText("Rendering preview…")
        proc.start()

    def _preview_done(self, proc: QProcess, code: int) -> None:
        if proc is not self.preview_process:
            return
        frames = sorted(Path(self._preview_dir.name).glob("preview*.png"))
        if code == 0 and frames:
            pix = QPixmap(str(frames[0]))
            self.preview.setPixmap(pix.scaled(self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation))
        else:
            err = bytes(proc.readAllStandardError()).decode(errors="replace").strip().splitlines()
            self.preview.setText(err[-1] if err else "No preview")

    # export ------------------------------------------------------------------
    def _browse(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export video", self.out.text(),
                                              "MP4 video (*.mp4);;Animated GIF (*.gif);;All files (*)")
        if name:
            self.out.setText(name)

    def start_export(self) -> None:
        """Start the child process that writes the video."""
        s = app_settings.app_settings()
        for key, value in (("frames", self.frames.value()), ("fps", self.fps.value()),
                           ("size", self.size.currentText()), ("out", self.out.text()),
                           ("layout", self.layout_box.currentData())):
            s.setValue(f"export/{key}", value)
        self.process = QProcess(self)
        self.process.setProgram(sys.executable)
        self.process.setArguments(self.arguments(self.out.text().strip()))
        self.process.readyReadStandardOutput.connect(self._read_progress)
        self.process.finished.connect(self._export_done)
        self._buffer = b""
        self._started = time.monotonic()
        self.progress.setValue(0)
        self.status.setText("Starting…")
        self.export_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.process.start()

    def _read_progress(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "result" in msg:
                self.result = msg["result"]
            elif msg.get("total"):
                frac = msg["done"] / msg["total"]
                self.progress.setValue(int(1000 * frac))
                elapsed = time.monotonic() - self._started
                eta = elapsed * (1 - frac) / frac if frac > 0 else 0
                self.status.setText(f"{msg['done']}/{msg['total']} frames · about {eta:.0f} s left")

    def _export_done(self, code: int, _status: QProcess.ExitStatus) -> None:
        self._read_progress()
        proc, self.process = self.process, None
        self._update_rows()
        self.cancel_button.setText("Close")
        if code == 0 and self.result is not None:
            self.progress.setValue(1000)
            self.status.setText(f"Wrote {self.result['path']} ({self.result['frames']} frames)")
            self.finished_export.emit(self.result["path"])
        elif code == 130:
            self.status.setText("Cancelled: nothing was written")
        else:
            err = bytes(proc.readAllStandardError()).decode(errors="replace").strip().splitlines()
            self.status.setText(err[-1] if err else f"Export failed (exit {code})")

    def is_running(self) -> bool:
        """Whether an export is in progress."""
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def cancel_or_close(self) -> None:
        """Cancel a running export, or close the dialog."""
        if self.is_running():
            self.status.setText("Cancelling…")
            self.process.terminate()
        else:
            self.close()

    def done(self, result: int) -> None:  # closing the dialog stops its processes
        for proc in (self.process, self.preview_process):
            if proc is not None and proc.state() != QProcess.ProcessState.NotRunning:
                proc.terminate()
                if not proc.waitForFinished(5000):
                    proc.kill()
        super().done(result)
