"""The window's actions (menu entries with shortcuts, tooltips and status tips)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


@dataclass
class ActionDef:
    """How to build one QAction."""

    name: str
    text: str
    tip: str
    shortcut: QKeySequence.StandardKey | str | None = None


ACTIONS: tuple[ActionDef, ...] = (
    ActionDef("open", "&Open…", "Open a dataset folder, manifest or single file", QKeySequence.StandardKey.Open),
    ActionDef("open_folder", "Open &folder…", "Open a dataset folder", "Ctrl+Shift+O"),
    ActionDef("open_predictions", "Open &predictions…", "Open a folder with one predicted mesh per sample", "Ctrl+P"),
    ActionDef("export_video", "Export &video…", "Render a comparison video (GT | prediction, orbit) in the background", "Ctrl+Shift+E"),
    ActionDef("export_metrics", "&Export metrics…", "Save the metrics table as CSV or JSON", "Ctrl+E"),
    ActionDef("preferences", "Pr&eferences…", "Sample cache size, read-ahead, point-cloud level of detail",
              "Ctrl+,"),
    ActionDef("quit", "&Quit", "Quit occstudio", QKeySequence.StandardKey.Quit),
    ActionDef("next_sample", "&Next sample", "Show the next sample in the list", "Ctrl+Down"),
    ActionDef("previous_sample", "&Previous sample", "Show the previous sample in the list", "Ctrl+Up"),
    ActionDef("reset_camera", "&Reset camera", "Fit the 3D camera to the shown meshes", "R"),
    ActionDef("toggle_axes", "Show &axes", "Show the orientation axes in the 3D view", None),
    ActionDef("metrics_current", "Compute metrics (current sample)", "Meshes: Chamfer, F-score, normal consistency; Occ3D occupancy: mIoU, geometric and per-class IoU — of the current sample vs its prediction", "Ctrl+M"),
    ActionDef("metrics_all", "Compute metrics (all samples)", "Metrics of every sample with a prediction; for Occ3D also the set totals (one confusion matrix over the set)", "Ctrl+Shift+M"),
    ActionDef("cancel_jobs", "&Cancel all jobs", "Stop every running background job", "Ctrl+."),
    ActionDef("about", "&About occstudio", "Version and credits", None),
    ActionDef("plugins", "&Plugins", "Installed plugins with their version, status and errors", None),
)


def build_actions(parent: QWidget, handlers: dict[str, Callable[[], None]]) -> dict[str, QAction]:
    """Create every action in :data:`ACTIONS`, connected to ``handlers[name]`` when given."""
    actions: dict[str, QAction] = {}
    for spec in ACTIONS:
        action = QAction(spec.text, parent)
        action.setObjectName(f"action_{spec.name}")
        tip = spec.tip
        if spec.shortcut is not None:
            seq = QKeySequence(spec.shortcut)
            action.setShortcut(seq)
            tip = f"{tip} ({seq.toString(QKeySequence.SequenceFormat.NativeText)})"
        action.setToolTip(tip)
        action.setStatusTip(spec.tip)
        if spec.name in handlers:
            action.triggered.connect(handlers[spec.name])
        actions[spec.name] = action
    actions["toggle_axes"].setCheckable(True)
    actions["toggle_axes"].setChecked(True)
    return actions
