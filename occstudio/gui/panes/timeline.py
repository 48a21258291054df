"""A timeline for sequences: slider, play/pause, step and frames per second."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QStyle, QWidget


class Timeline(QWidget):
    """Frame slider with playback. Emits :attr:`frame_changed` with the frame index.

    During playback the next frame is requested only once the previous one was shown
    (:meth:`frame_shown`), so a slow frame never queues a backlog.
    """

    frame_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style = self.style()
        self.play_button = QPushButton()
        self.play_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self.set_playing)
        self.back_button = QPushButton()
        self.back_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward))
        self.back_button.setToolTip("Previous frame")
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QPushButton()
        self.next_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward))
        self.next_button.setToolTip("Next frame")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Drag to move through the sequence")
        self.slider.valueChanged.connect(self._slider_moved)
        self.label = QLabel("0 / 0")
        self.fps = QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(10)
        self.fps.setSuffix(" fps")
        self.fps.setToolTip("Playback speed")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        for w in (self.back_button, self.play_button, self.next_button):
            layout.addWidget(w)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        layout.addWidget(self.fps)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: self.step(1, wrap=True))
        self._waiting = False
        self.set_length(0)

    def set_length(self, n: int) -> None:
        """Number of frames (0 hides nothing but disables the controls)."""
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, n - 1))
        self.slider.blockSignals(False)
        for w in (self.slider, self.play_button, self.back_button, self.next_button):
            w.setEnabled(n > 1)
        self._update_label()

    def frame(self) -> int:
        """The current frame index."""
        return self.slider.value()

    def set_frame(self, index: int, emit: bool = False) -> None:
        """Move the slider to ``index`` (without emitting unless ``emit``)."""
        self.slider.blockSignals(not emit)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self._update_label()

    def step(self, delta: int, wrap: bool = False) -> None:
        """Move ``delta`` frames (wrapping around at the end when ``wrap``)."""
        n = self.slider.maximum() + 1
        target = self.slider.value() + delta
        if wrap:
            target %= n
        self.slider.setValue(max(0, min(n - 1, target)))

    def set_playing(self, playing: bool) -> None:
        """Start or stop playback."""
        style = self.style()
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(style.standardIcon(icon))
        if self.play_button.isChecked() != playing:
            self.play_button.setChecked(playing)
        if playing:
            self._timer.start(int(1000 / self.fps.value()))
        else:
            self._timer.stop()

    def frame_shown(self) -> None:
        """Tell the timeline the requested frame is on screen (schedules the next one)."""
        if self.play_button.isChecked() and not self._timer.isActive():
            self._timer.start(int(1000 / self.fps.value()))

    def _slider_moved(self, value: int) -> None:
        self._update_label()
        self.frame_changed.emit(value)

    def _update_label(self) -> None:
        self.label.setText(f"{self.slider.value()} / {self.slider.maximum()}")
