"""The jobs dock: one row per job with a progress bar, its state and a Cancel button."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from occstudio.gui.jobs import Job, JobManager

_STATE_STYLE = {
    "done": "color: #2e7d32;",
    "failed": "color: #c62828; font-weight: bold;",
    "cancelled": "color: #757575;",
    "running": "",
}


class JobRow(QWidget):
    """A job's title, progress bar, state text and Cancel button."""

    def __init__(self, job: Job, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = job
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.title = QLabel(job.title)
        self.title.setMinimumWidth(180)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(True)
        self.state = QLabel()
        self.state.setMinimumWidth(160)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this job at its next checkpoint")
        self.cancel_button.clicked.connect(job.cancel)
        for w in (self.title, self.bar, self.state, self.cancel_button):
            layout.addWidget(w)
        layout.setStretch(1, 1)
        job.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Show the job's current progress and state."""
        job = self.job
        if job.fraction is None and job.running:
            self.bar.setRange(0, 0)  # busy indicator
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * (job.fraction or 0.0)))
        elapsed = time.monotonic() - job.started
        if job.running:
            text = job.message or "running"
            if job.fraction:
                eta = elapsed * (1 - job.fraction) / max(job.fraction, 1e-6)
                text += f" · {eta:.0f} s left"
        elif job.state == "failed":
            text = f"failed: {job.error}"
            self.setToolTip(job.details)
        else:
            text = job.state
        self.state.setText(text)
        self.state.setStyleSheet(_STATE_STYLE.get(job.state, ""))
        self.cancel_button.setEnabled(job.running)


class JobsDock(QWidget):
    """Lists the jobs of a :class:`JobManager`, newest first, with a Clear button."""

    def __init__(self, manager: JobManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.rows: dict[int, JobRow] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        top = QHBoxLayout()
        self.summary = QLabel("No jobs")
        clear = QPushButton("Clear finished")
        clear.setToolTip("Remove finished, failed and cancelled jobs from the list")
        clear.clicked.connect(self.clear_finished)
        cancel_all = QPushButton("Cancel all")
        cancel_all.setToolTip("Stop every running job")
        cancel_all.clicked.connect(manager.cancel_all)
        top.addWidget(self.summary, 1)
        top.addWidget(cancel_all)
        top.addWidget(clear)
        outer.addLayout(top)
        self.container = QWidget()
        self.list_layout = QVBoxLayout(self.container)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.container)
        outer.addWidget(scroll)
        manager.job_added.connect(self.add_job)
        manager.running_count_changed.connect(self._update_summary)

    def add_job(self, job: Job) -> None:
        """Add a row for ``job`` at the top."""
        row = JobRow(job)
        self.rows[job.id] = row
        self.list_layout.insertWidget(0, row)

    def clear_finished(self) -> None:
        """Remove rows of finished jobs."""
        self.manager.clear_finished()
        for job_id, row in list(self.rows.items()):
            if not row.job.running:
                row.setParent(None)
                row.deleteLater()
                del self.rows[job_id]

    def _update_summary(self, running: int) -> None:
        self.summary.setText(f"{running} running" if running else "No running jobs")
        self.summary.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
