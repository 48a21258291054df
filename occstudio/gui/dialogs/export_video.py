"""File > Export video…: options, a live preview of the first frame, progress with an
estimated time and Cancel.

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


LAYOUTS = (("gt-pred", "GT | Prediction"), ("image-pred-gt", "Image | Prediction | GT"))
CAMERAS = (("orbit", "Orbit / turntable"), ("fixed", "Fixed"))
SIZES = ("1280x720", "1920x1080", "800x800", "640x360")


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
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export video")
        self.dataset_path, self.sample_id, self.predictions = dataset_path, sample_id, predictions
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
        self.layout_box = QComboBox()
        for key, text in LAYOUTS:
            self.layout_box.addItem(text, key)
        self.camera = QComboBox()
        for key, text in CAMERAS:
            self.camera.addItem(text, key)
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
            (self.layout_box, "Which panels the video shows, left to right"),
            (self.camera, "Orbit turns the camera around the object; fixed keeps one view"),
            (self.frames, "Frames per sample"),
            (self.fps, "Frames per second of the video"),
            (self.size, "Video size in pixels, WxH (made even for H.264)"),
            (self.out, ".mp4 (H.264), .gif, or a folder for PNG frames"),
        ):
            widget.setToolTip(tip)

        form = QFormLayout()
        form.addRow("Samples", self.scope)
        form.addRow("Layout", self.layout_box)
        form.addRow("Camera", self.camera)
        form.addRow("Frames", self.frames)
        form.addRow("FPS", self.fps)
        form.addRow("Size", self.size)
        form.addRow("Output", out_row)

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
        self.size.currentTextChanged.connect(self.update_preview)
        self.update_preview()

    # command lines ---------------------------------------------------------
    def arguments(self, out: str, frames: int | None = None) -> list[str]:
        """The ``occstudio export-video`` arguments for the current options."""
        args = [*cli_prefix(), "export-video", str(self.dataset_path), "--out", out,
                "--layout", self.layout_box.currentData(), "--camera", self.camera.currentData(),
                "--frames", str(frames or self.frames.value()), "--fps", f"{self.fps.value():g}",
                "--size", self.size.currentText().strip(), "--json-progress"]
        if self.scope.currentData() == "all":
            args.append("--all")
        elif self.sample_id:
            args += ["--sample", self.sample_id]
        if self.predictions is not None:
            args += ["--predictions", str(self.predictions)]
        return args

    # preview ---------------------------------------------------------------
    def update_preview(self) -> None:
        """Render the first frame in a child process and show it."""
        if self.preview_process is not None:
            self.preview_process.kill()
            self.preview_process.waitForFinished(2000)
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
                           ("size", self.size.currentText()), ("out", self.out.text())):
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
        self.export_button.setEnabled(True)
        self.cancel_button.setText("Close")
        if code == 0 and self.result is not None:
            self.progress.setValue(1000)
            self.status.setText(f"Wrote {self.result['path']} ({self.result['frames']} frames)")
            self.finished_export.emit(self.result["path"])
        elif code == 130:
            self.status.setText("Cancelled: nothing was written")
        else:
            err = bytes(self.process.readAllStandardError()).decode(errors="replace").strip().splitlines()
            self.status.setText(err[-1] if err else f"Export failed (exit {code})")
        self.process = None

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
