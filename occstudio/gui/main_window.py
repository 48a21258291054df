"""The main window: builds the widgets and wires them to the controller. No logic here."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from occstudio import __version__
from occstudio.builtins.occupancy_view import OCCUPANCY_FORMATS, labelset_named
from occstudio.gui import settings as app_settings
from occstudio.gui.actions import build_actions
from occstudio.gui.compute_panel import install_compute_layers
from occstudio.gui.controller import StudioController
from occstudio.gui.dialogs.compute import ComputeDialog
from occstudio.gui.dialogs.export_video import ExportVideoDialog
from occstudio.gui.dialogs.plugins import PluginsDialog
from occstudio.gui.dialogs.preferences import PreferencesDialog, apply_preferences
from occstudio.gui.docks.jobs import JobsDock
from occstudio.gui.docks.legend import LegendWidget
from occstudio.gui.docks.log import LogDock
from occstudio.gui.docks.metrics import MetricsDock
from occstudio.gui.docks.sample_browser import SampleBrowser
from occstudio.gui.docks.scene import install_scene
from occstudio.gui.editing import install_editing
from occstudio.gui.jobs import JobManager
from occstudio.gui.linked_views import install_linked_views
from occstudio.gui.notifications import Notification, Notifications
from occstudio.gui.panes.camera_grid import install_camera_grid
from occstudio.gui.panes.sample_view import SampleView
from occstudio.gui.panes.timeline import Timeline
from occstudio.gui.panes.view3d import View3D
from occstudio.plugins.registry import get_registry, resolve
from occstudio.render.voxels import apply_class_visibility

#: Metrics shown as sample-list columns when computed (meshes, occupancy).
BROWSER_METRICS = ("chamfer_l1", "miou", "geometric_iou")

OPEN_FILTER = (
    "Datasets and files (*.json *.jsonl *.png *.jpg *.jpeg *.ply *.obj *.glb *.npy *.bin *.npz);;All files (*)"
)


class MainWindow(QMainWindow):
    """occstudio's window: sample browser, sample panes, 3D view, jobs, metrics and log."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("occstudio")
        self.setAcceptDrops(True)
        self.resize(1600, 1000)
        self.notifications = Notifications(self)
        self.jobs = JobManager(self)
        self.controller = StudioController(self.jobs, self.notifications, self)
        self._build_widgets()
        self.cameras = install_camera_grid(self)
        self.scene = install_scene(self)
        self._build_menus()
        self._wire()
        self.linked_views = install_linked_views(self)
        self._add_plugin_docks()
        self.editing = install_editing(self)
        self.compute_layers = install_compute_layers(self)
        apply_preferences(self)
        self._restore_layout()

    # construction -------------------------------------------------------
    def _build_widgets(self) -> None:
        self.sample_view = SampleView()
        self.view3d = View3D()
        self.sample_view.set_side_widget(self.view3d)
        self.timeline = Timeline()
        self.timeline.setVisible(False)
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.addWidget(self.sample_view, 1)
        central_layout.addWidget(self.timeline)
        self.setCentralWidget(central)
        self.browser = SampleBrowser()
        self.legend = LegendWidget()
        self.jobs_dock_widget = JobsDock(self.jobs)
        self.metrics_dock_widget = MetricsDock()
        self.log_dock_widget = LogDock(self.notifications)
        self.docks: dict[str, QDockWidget] = {}
        for name, title, widget, area in (
            ("samples", "Samples", self.browser, Qt.DockWidgetArea.LeftDockWidgetArea),
            ("classes", "Classes", self.legend, Qt.DockWidgetArea.LeftDockWidgetArea),
            ("jobs", "Jobs", self.jobs_dock_widget, Qt.DockWidgetArea.BottomDockWidgetArea),
            ("metrics", "Metrics", self.metrics_dock_widget, Qt.DockWidgetArea.BottomDockWidgetArea),
            ("log", "Log", self.log_dock_widget, Qt.DockWidgetArea.BottomDockWidgetArea),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock_{name}")
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        self.tabifyDockWidget(self.docks["jobs"], self.docks["metrics"])
        self.tabifyDockWidget(self.docks["metrics"], self.docks["log"])
        self.docks["jobs"].raise_()
        self.resizeDocks([self.docks["samples"]], [320], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["jobs"]], [170], Qt.Orientation.Vertical)
        self.status_message = QLabel("Ready")
        self.jobs_label = QLabel("")
        self.jobs_label.setToolTip("Background jobs running (see the Jobs dock)")
        self.statusBar().addWidget(self.status_message, 1)
        self.statusBar().addPermanentWidget(self.jobs_label)

    def _build_menus(self) -> None:
        c = self.controller
        self.actions = build_actions(self, {
            "open": self.open_dialog,
            "open_folder": self.open_folder_dialog,
            "open_predictions": self.open_predictions_dialog,
            "export_metrics": self.metrics_dock_widget.export_dialog,
            "export_video": self.show_export_video,
            "quit": self.close,
            "preferences": self.show_preferences,
            "next_sample": self.browser.next,
            "previous_sample": self.browser.previous,
            "reset_camera": self.view3d.reset_camera,
            "metrics_current": lambda: c.compute_metrics("current"),
            "metrics_all": lambda: c.compute_metrics("all"),
            "cancel_jobs": self.jobs.cancel_all,
            "about": self.show_about,
            "plugins": self.show_plugins,
        })
        a = self.actions
        a["toggle_axes"].toggled.connect(self.view3d.axes_box.setChecked)
        self.view3d.axes_box.toggled.connect(a["toggle_axes"].setChecked)
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([a["open"], a["open_folder"]])
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(a["open_predictions"])
        file_menu.addSeparator()
        file_menu.addActions([a["export_video"], a["export_metrics"]])
        exporters = get_registry().exporters
        if exporters:
            export_menu = file_menu.addMenu("Export &with")
            for spec in exporters.values():
                action = export_menu.addAction(f"{spec.name}…")
                action.setStatusTip(f"{spec.id} ({spec.plugin}): writes the current {'/'.join(spec.accepts) or 'sample'}")
                action.triggered.connect(lambda _=False, sp=spec: self.export_with(sp))
        file_menu.addSeparator()
        file_menu.addActions([a["preferences"], a["quit"]])
        view_menu = bar.addMenu("&View")
        view_menu.addActions([a["next_sample"], a["previous_sample"]])
        view_menu.addSeparator()
        view_menu.addActions([a["reset_camera"], a["toggle_axes"]])
        voxel_menu = view_menu.addMenu("&Voxels")
        self.visibility_group = QActionGroup(self)
        for key, text, tip in (
            ("all", "All occupied voxels", "Show every occupied voxel"),
            ("camera", "Camera-visible only", "Show only voxels the cameras see (mask_camera)"),
            ("lidar", "LiDAR-visible only", "Show only voxels the LiDAR sees (mask_lidar)"),
        ):
            action = voxel_menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(key == "all")
            action.setStatusTip(tip)
            action.triggered.connect(lambda _=False, k=key: self.controller.set_visibility_filter(k))
            self.visibility_group.addAction(action)
        voxel_menu.addSeparator()
        self.error_view_action = voxel_menu.addAction("Error view (GT vs prediction)")
        self.error_view_action.setCheckable(True)
        self.error_view_action.setStatusTip(
            "Colour the prediction side by correct / wrong class / false positive / false negative"
        )
        self.error_view_action.toggled.connect(self.controller.set_error_view)
        camera_menu = view_menu.addMenu("&Camera")
        for preset, text, shortcut in (
            ("bev", "Bird's eye", "1"), ("driving", "Driving view", "2"),
            ("side", "Side", "3"), ("iso", "Isometric", "4"),
        ):
            action = camera_menu.addAction(text)
            action.setShortcut(shortcut)
            action.setStatusTip(f"Camera preset: {text.lower()}")
            action.triggered.connect(lambda _=False, p=preset: self.view3d.camera_preset(p))
        camera_menu.addActions(list(self.scene.actions.values()))
        view_menu.addSeparator()
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        compute_menu = bar.addMenu("&Compute")
        compute_menu.addActions([a["metrics_current"], a["metrics_all"]])
        computations = get_registry().computations
        if computations:
            compute_menu.addSeparator()
        for spec in computations.values():
            action = compute_menu.addAction(f"{spec.name}…")
            action.setStatusTip(spec.description or f"Run {spec.id} ({spec.plugin})")
            action.triggered.connect(lambda _=False, sp=spec: self.show_compute_dialog(sp))
        compute_menu.addSeparator()
        compute_menu.addAction(a["cancel_jobs"])
        help_menu = bar.addMenu("&Help")
        help_menu.addActions([a["plugins"], a["about"]])

    def _wire(self) -> None:
        c = self.controller
        self.browser.current_sample_changed.connect(c.select_sample)
        c.dataset_opened.connect(self._show_dataset)
        c.content_ready.connect(self._show_content)
        c.metrics_ready.connect(self._show_metrics)
        c.set_metrics_ready.connect(self.metrics_dock_widget.set_totals)
        self.metrics_dock_widget.sample_activated.connect(self.browser.select)
        self.legend.hidden_changed.connect(self._apply_hidden_classes)
        self.legend.hidden_changed.connect(self.controller.set_hidden_classes)
        self.view3d.picked.connect(self._show_pick)
        self.view3d.hovered.connect(lambda info: self._show_pick(info, "Under the cursor"))
        self.timeline.frame_changed.connect(self._timeline_moved)
        self.jobs.running_count_changed.connect(self._show_job_count)
        self.jobs.error.connect(lambda title, msg, details: self.notifications.error(f"{title}: {msg}", details))
        self.notifications.posted.connect(self._show_notification)

    # slots ----------------------------------------------------------------
    def _show_dataset(self, dataset: Any) -> None:
        self.sample_view.clear()
        self.metrics_dock_widget.clear()
        self.browser.set_dataset(dataset)
        sequence = dataset.format == "occgen" or bool(dataset.meta.get("sequence"))
        self.timeline.set_playing(False)
        self.timeline.set_length(len(dataset) if sequence else 0)
        self.timeline.setVisible(sequence)
        self.docks["classes"].setVisible(dataset.format in OCCUPANCY_FORMATS)
        self.setWindowTitle(f"{dataset.source.name} — occstudio")
        app_settings.add_recent_file(dataset.source)
        if dataset.samples and self._pending_sample is None:
            self.browser.select(dataset.samples[0].id)
        elif self._pending_sample is not None:
            self.browser.select(self._pending_sample)
            self._pending_sample = None

    def _show_content(self, content: dict[str, Any]) -> None:
        titles = content.get("titles", {})
        self.sample_view.scene_pane.set_title(titles.get("image", "Scene + mask"))
        self.sample_view.object_pane.set_title(titles.get("object", "Visible object"))
        self.sample_view.priors_strip.set_title(titles.get("priors", "Prior images"))
        self.sample_view.set_content(content)
        pred_title = titles.get("prediction", "Prediction")
        if content.get("prediction_path") is not None:
            pred_title = f"{pred_title} ({Path(content['prediction_path']).name})"
        labelset = labelset_named(content.get("voxel_labelset"))
        self.legend.set_classes(labelset, content.get("voxel_classes", {}))
        self._apply_hidden_classes(self.legend.hidden(), render=False, content=content)
        # keep the camera while stepping through a sequence; fit it to each new object otherwise
        split = content.get("prediction_poly") is not None
        keep_camera = self.timeline.isVisible() and self._shown_kind == (self.controller.document.dataset, split)
        self.view3d.set_meshes(
            content.get("gt_poly"), content.get("prediction_poly"), titles.get("gt", "GT"), pred_title,
            reset_camera=not keep_camera, prediction_legend=content.get("prediction_legend"),
        )
        self._fit_panes_to_content(content)
        self._shown_kind = (self.controller.document.dataset, split)
        self.view3d.title.setText(f"3D · {content['id']}")
        if self.timeline.isVisible():
            dataset = self.controller.document.dataset
            self.timeline.set_frame(dataset.index_of(content["id"]))
            self.timeline.frame_shown()

    _shown_kind: tuple = (None, None)
    _pane_mode: str | None = None  # set on the first sample shown

    def _fit_panes_to_content(self, content: dict[str, Any]) -> None:
        """Give most of the room to the 3D view or to the 2D panes when only one has content
        (the 2D column is hidden while it has nothing to show)."""
        has_2d = any(content.get(k) is not None for k in ("image", "obs_object_image")) or bool(
            content.get("prior_images") or content.get("gt_images"))
        has_3d = content.get("gt_poly") is not None or content.get("prediction_poly") is not None
        mode = "both" if has_2d == has_3d else ("2d" if has_2d else "3d")
        if mode == self._pane_mode:
            return
        self._pane_mode = mode
        self.sample_view.left_splitter.setVisible(mode != "3d")  # 3D only: the empty 2D column goes
        if mode == "3d":
            return
        total = sum(self.sample_view.splitter.sizes())
        share = {"both": 0.6, "2d": 0.8}[mode]
        self.sample_view.splitter.setSizes([int(total * share), total - int(total * share)])

    def _apply_hidden_classes(self, hidden: set, render: bool = True, content: dict | None = None) -> None:
        content = content if content is not None else self.controller.content
        if not content or content.get("voxel_labelset") is None:
            return
        keys = ["gt_poly"] if content.get("prediction_labelset") else ["gt_poly", "prediction_poly"]
        for key in keys:
            poly = content.get(key)
            if poly is not None and poly.n_cells and "label" in poly.cell_data:
                apply_class_visibility(poly, hidden)
        if render:
            self.view3d.render()

    def _show_pick(self, info: dict, verb: str = "Picked") -> None:
        content = self.controller.content or {}
        name = content.get("prediction_labelset") if info.get("view") == 1 else None
        labelset = labelset_named(name or content.get("voxel_labelset"))
        x, y, z = info["position"]
        parts = []
        if "point_id" in info:
            parts.append(f"point {info['point_id']}")
        if "label" in info and labelset is not None and 0 <= info["label"] < labelset.n_classes:
            parts.append(f"{labelset.name_of(info['label'])} (class {info['label']})")
        if info.get("voxel_index") is not None and content.get("grid_shape"):
            voxel = tuple(int(v) for v in np.unravel_index(info["voxel_index"], content["grid_shape"]))
            parts.append(f"voxel {voxel}")
        if "intensity" in info:
            parts.append(f"intensity {info['intensity']:.3g}")
        parts.append(f"({x:.2f}, {y:.2f}, {z:.2f})")
        self.status_message.setStyleSheet("")
        self.status_message.setText(f"{verb}: {' · '.join(parts)}")

    def _timeline_moved(self, index: int) -> None:
        dataset = self.controller.document.dataset
        if dataset is not None and 0 <= index < len(dataset):
            self.browser.select(dataset.samples[index].id)

    def _show_metrics(self, sample_id: str, values: dict[str, Any]) -> None:
        self.metrics_dock_widget.set_metrics(sample_id, values)
        metrics = self.controller.document.metrics
        for name in BROWSER_METRICS:  # the headline metrics become sortable sample-list columns
            column = {sid: v.get(name) for sid, v in metrics.items() if isinstance(v.get(name), (int, float))}
            if column:
                self.browser.set_extra_column(name, column)

    def _show_job_count(self, running: int) -> None:
        self.jobs_label.setText(f"{running} job{'s' if running != 1 else ''} running" if running else "")

    def _show_notification(self, note: Notification) -> None:
        prefix = {"error": "Error: ", "warning": "Warning: "}.get(note.level, "")
        self.status_message.setText(prefix + note.text)
        self.status_message.setToolTip(note.details or note.text)
        color = {"error": "#c62828", "warning": "#ef6c00"}.get(note.level, "")
        self.status_message.setStyleSheet(f"color: {color};" if color else "")
        if note.level == "error":
            self.docks["log"].raise_()

    # opening ----------------------------------------------------------------
    _pending_sample: str | None = None

    def open_path(self, path: str | Path, sample_id: str | None = None) -> None:
        """Open ``path`` and show ``sample_id`` (default: the first sample)."""
        self._pending_sample = sample_id
        self.controller.open_path(path)

    def open_dialog(self) -> None:
        """File > Open…"""
        name, _ = QFileDialog.getOpenFileName(self, "Open dataset or file", self._last_dir(), OPEN_FILTER)
        if name:
            self._remember_dir(name)
            self.open_path(name)

    def open_folder_dialog(self) -> None:
        """File > Open folder…"""
        name = QFileDialog.getExistingDirectory(self, "Open dataset folder", self._last_dir())
        if name:
            self._remember_dir(name)
            self.open_path(name)

    def open_predictions_dialog(self) -> None:
        """File > Open predictions…"""
        name = QFileDialog.getExistingDirectory(self, "Open prediction folder", self._last_dir())
        if name:
            self.controller.open_predictions(name)

    def _last_dir(self) -> str:
        return str(app_settings.app_settings().value("last_dir", str(Path.home())))

    def _remember_dir(self, path: str) -> None:
        s = app_settings.app_settings()
        s.setValue("last_dir", str(Path(path).parent if Path(path).is_file() else path))

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = app_settings.recent_files()
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        if not recent:
            self.recent_menu.addAction("(no recent files)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear recent files", app_settings.clear_recent_files)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.open_path(urls[0])

    # help -------------------------------------------------------------------
    def show_preferences(self) -> None:
        """File > Preferences…"""
        PreferencesDialog(self).exec()

    def show_about(self) -> None:
        """Help > About."""
        QMessageBox.about(
            self, "About occstudio",
            f"<b>occstudio {__version__}</b><br>A studio for 3D occupancy and amodal-3D research data.",
        )

    def show_export_video(self) -> None:
        """File > Export video…"""
        doc = self.controller.document
        if doc.dataset is None:
            self.notifications.error("Open a dataset before exporting a video")
            return
        dataset = doc.dataset
        index = dataset.index_of(doc.current_id) if doc.current_id in dataset.ids() else 0
        dialog = ExportVideoDialog(
            dataset.source, doc.current_id, doc.predictions_root, self,
            dataset_format=dataset.format, n_samples=len(dataset), sample_index=index,
            sequence=dataset.format in ("occgen", "unscenes3d") or bool(dataset.meta.get("sequence")),
            current_view=self.view3d.camera_pose,
        )
        dialog.finished_export.connect(lambda path: self.notifications.info(f"Video written: {path}"))
        dialog.show()
        self.export_dialog = dialog

    def show_compute_dialog(self, spec: Any) -> None:
        """Compute > <a registered computation>…: ask for parameters, then run it as a job."""
        dialog = ComputeDialog(spec, self.controller.document.current_id, self)
        if dialog.exec() != ComputeDialog.DialogCode.Accepted:
            return
        try:
            params = dialog.values()
        except ValueError as exc:
            self.notifications.error(f"{spec.name}: {exc}")
            return
        self.controller.run_computation(spec, params, dialog.scope_value())

    def _add_plugin_docks(self) -> None:
        """Docks contributed by plugins; one that fails to build is reported, never fatal."""
        areas = {"left": Qt.DockWidgetArea.LeftDockWidgetArea, "right": Qt.DockWidgetArea.RightDockWidgetArea,
                 "bottom": Qt.DockWidgetArea.BottomDockWidgetArea}
        for spec in get_registry().docks.values():
            try:
                widget = resolve(spec.factory)(self)
            except Exception as exc:  # a broken plugin dock must not stop the window
                self.notifications.error(f"Plugin dock {spec.id} ({spec.plugin}) failed: {exc}", traceback.format_exc())
                continue
            dock = QDockWidget(spec.name, self)
            dock.setObjectName(f"dock_plugin_{spec.id}")
            dock.setWidget(widget)
            self.addDockWidget(areas.get(spec.area, Qt.DockWidgetArea.RightDockWidgetArea), dock)
            self.docks[f"plugin:{spec.id}"] = dock

    def export_with(self, spec: Any, path: str | None = None) -> None:
        """File > Export with > <plugin exporter>: write the current sample (or dataset) in a job."""
        doc = self.controller.document
        target = doc.dataset if "dataset" in spec.accepts else doc.current
        if target is None:
            self.notifications.error(f"{spec.name}: open a dataset and select a sample first")
            return
        if path is None:
            patterns = " ".join(f"*{e}" for e in spec.extensions) or "*"
            path, _ = QFileDialog.getSaveFileName(self, spec.name, self._last_dir(), f"{spec.name} ({patterns})")
            if not path:
                return
        func = resolve(spec.func)
        self.jobs.submit(f"{spec.name} → {Path(path).name}", func, target, path,
                         on_result=lambda _r: self.notifications.info(f"Wrote {path}"))

    def show_plugins(self) -> None:
        """Help > Plugins."""
        PluginsDialog(get_registry(), self).exec()

    # layout persistence -----------------------------------------------------
    def _restore_layout(self) -> None:
        s = app_settings.app_settings()
        geometry, state = s.value("window/geometry"), s.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        panes = s.value("window/panes")
        if panes is not None:
            self.sample_view.restore_state(panes)

    def save_layout(self) -> None:
        """Store geometry, dock layout and pane sizes in the settings."""
        s = app_settings.app_settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/panes", self.sample_view.save_state())
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.save_layout()
        self.jobs.shutdown()
        self.view3d.close_view()
        super().closeEvent(event)
