"""The studio controller: turns user intents into jobs and document changes.

It owns the :class:`~occstudio.core.document.Document`, submits background jobs
(opening datasets, reading samples, computing metrics) and emits Qt signals with
results that the main window wires to its widgets. No widget is touched here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from occstudio.builtins.amodal_view import AMODAL_FORMATS, load_amodal_view
from occstudio.builtins.camera_views import CAMERA_FORMATS, load_camera_views
from occstudio.builtins.computations import run_computation
from occstudio.builtins.evaluation import evaluate_dataset
from occstudio.builtins.mesh_eval import DEFAULT_PARAMS, evaluate_samples
from occstudio.builtins.occupancy_view import OCCUPANCY_FORMATS, load_occupancy_content
from occstudio.core.dataset import Dataset, SampleCache
from occstudio.core.document import Document
from occstudio.gui.jobs import Job, JobManager
from occstudio.gui.notifications import Notifications
from occstudio.io.opening import open_dataset
from occstudio.io.predictions import match_occupancy_predictions, match_predictions
from occstudio.io.sample_content import load_sample_content
from occstudio.render.meshes import mesh_to_polydata


def _match(root: Path, ids: list[str], occupancy: bool = False, progress: Any = None) -> dict[str, Path]:
    return match_occupancy_predictions(root, ids) if occupancy else match_predictions(root, ids)


def _load_into_cache(cache: SampleCache, key: tuple, dataset: Dataset, sample: Any, options: dict[str, Any],
                     progress: Any = None) -> dict[str, Any]:
    """Read an occupancy sample's content and keep it in ``cache`` under ``key``."""
    content = load_occupancy_content(dataset, sample, cache, progress=progress, **options)
    cache.put(key, content)
    return content


def _prefetch(cache: SampleCache, dataset: Dataset, items: list[tuple[tuple, Any, dict[str, Any]]],
              progress: Any = None) -> int:
    """Read the content (and camera views) of the next samples into ``cache``; how many were read."""
    progress.start(len(items), f"Prefetching {len(items)} sample{'s' if len(items) != 1 else ''}")
    done = 0
    for key, sample, options in items:
        progress.check()
        if key not in cache:
            cache.put(key, load_occupancy_content(dataset, sample, cache, **options))
            done += 1
        if dataset.format in CAMERA_FORMATS:
            load_camera_views(dataset, sample, cache)
        progress.advance()
    return done


class StudioController(QObject):
    """Application logic of one window.

    Signals
    -------
    dataset_opened(Dataset)
    content_ready(dict)
        A sample's content; ``gt_poly`` / ``prediction_poly`` hold pyvista meshes.
    predictions_changed(object)
        The prediction root (or ``None``).
    metrics_ready(str, dict)
        Metrics of one sample.
    set_metrics_ready(dict)
        Set totals of an occupancy evaluation (``miou``, ``geometric_iou``, per-class
        ``iou``, ``n_samples``...; see :func:`occstudio.builtins.evaluation.evaluate_dataset`).
    """

    dataset_opened = Signal(object)
    content_ready = Signal(object)
    predictions_changed = Signal(object)
    metrics_ready = Signal(str, object)
    set_metrics_ready = Signal(object)

    def __init__(self, jobs: JobManager, notifications: Notifications, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs, self.notifications = jobs, notifications
        self.document = Document()
        self.metric_params: dict[str, Any] = dict(DEFAULT_PARAMS)
        self.content: dict[str, Any] | None = None
        self.cache = SampleCache(2 << 30)
        #: How many of the following samples of an occupancy dataset to read ahead.
        self.prefetch_count = 2
        self.visibility = "all"
        self.error_view = False
        self.hidden_classes: frozenset[int] = frozenset()
        #: Occupancy evaluation options (the Occ3D challenge: camera mask, occ3d mIoU).
        self.occupancy_params: dict[str, Any] = {"mask": "camera", "variant": "occ3d"}

    # datasets -----------------------------------------------------------
    def open_path(self, path: str | Path) -> Job:
        """Open a dataset, manifest or single file in the background."""
        path = Path(path)
        return self.jobs.submit(
            f"Open {path.name}", open_dataset, path, key="open", on_result=self._dataset_loaded
        )

    def _dataset_loaded(self, dataset: Dataset) -> None:
        self.cache.clear()
        self.document.set_dataset(dataset)
        for warning in dataset.warnings:
            self.notifications.warning(warning)
        n_bad = sum(1 for s in dataset.samples if s.has_problems)
        text = f"Opened {dataset.source.name}: {len(dataset)} samples ({dataset.format})"
        if n_bad:
            text += f", {n_bad} with missing files or errors"
        self.notifications.info(text)
        self.dataset_opened.emit(dataset)

    # samples ------------------------------------------------------------
    def select_sample(self, sample_id: str | None) -> Job | None:
        """Make ``sample_id`` current and read its content in the background."""
        if sample_id is None or self.document.dataset is None:
            return None
        self.document.set_current(sample_id)
        dataset = self.document.dataset
        sample = dataset.get(sample_id)
        if dataset.format in OCCUPANCY_FORMATS:
            key, options = self._content_key(dataset, sample_id)
            cached = self.cache.get(key)
            if cached is not None:  # read ahead (or seen before): no job at all
                self.jobs.cancel_key("content")
                self._content_loaded(cached)
                return None
            return self.jobs.submit(
                f"Read {sample_id}", _load_into_cache, self.cache, key, dataset, sample, options,
                key="content", on_result=self._content_loaded,
            )
        if dataset.format in AMODAL_FORMATS:
            return self.jobs.submit(
                f"Read {sample_id}", load_amodal_view, dataset, sample, key="content", on_result=self._content_loaded
            )
        prediction = self.document.predictions.get(sample_id)
        return self.jobs.submit(
            f"Read {sample_id}", load_sample_content, sample, prediction,
            key="content", on_result=self._content_loaded,
        )

    def _content_key(self, dataset: Dataset, sample_id: str) -> tuple[tuple, dict[str, Any]]:
        """The cache key of an occupancy sample's content as currently shown, and the
        loader options that make it."""
        prediction = self.document.predictions.get(sample_id)
        hidden = self.hidden_classes if self.error_view else frozenset()
        options = {"visibility": self.visibility, "prediction": prediction, "error_view": self.error_view,
                   "hidden_classes": hidden}
        key = ("content", str(dataset.root), sample_id, self.visibility, str(prediction), self.error_view,
               tuple(sorted(hidden)))
        return key, options

    def prefetch_after(self, sample_id: str) -> Job | None:
        """Read the :attr:`prefetch_count` samples after ``sample_id`` into the cache in
        the background (occupancy datasets; the next frames of a sequence)."""
        dataset = self.document.dataset
        if dataset is None or dataset.format not in OCCUPANCY_FORMATS or self.prefetch_count <= 0:
            return None
        start = dataset.index_of(sample_id) + 1
        items = []
        for sample in dataset.samples[start:start + self.prefetch_count]:
            key, options = self._content_key(dataset, sample.id)
            if key not in self.cache:
                items.append((key, sample, options))
        if not items:
            return None
        return self.jobs.submit(f"Prefetch after {sample_id}", _prefetch, self.cache, dataset, items, key="prefetch")

    def set_visibility_filter(self, visibility: str) -> None:
        """Show all voxels, or only camera- / LiDAR-visible ones, and reload."""
        self.visibility = visibility
        self.reload_current()

    def set_hidden_classes(self, hidden: set[int]) -> None:
        """Remember hidden classes; the error view is recomputed for the shown ones."""
        self.hidden_classes = frozenset(hidden)
        if self.error_view and self.content and self.content.get("prediction_labelset") == "errors":
            self.reload_current()

    def set_error_view(self, enabled: bool) -> None:
        """Show the GT-vs-prediction error categories instead of the prediction, and reload."""
        self.error_view = bool(enabled)
        self.reload_current()

    def _content_loaded(self, content: dict[str, Any]) -> None:
        if content["id"] != self.document.current_id:
            return
        if content.get("gt_poly") is None and content["gt_mesh"] is not None:
            content["gt_poly"] = mesh_to_polydata(content["gt_mesh"])
        if content.get("prediction_poly") is None and content["prediction_mesh"] is not None:
            content["prediction_poly"] = mesh_to_polydata(content["prediction_mesh"])
        for error in content["errors"]:
            self.notifications.error(error)
        self.content = content
        self.content_ready.emit(content)
        self.prefetch_after(content["id"])

    def reload_current(self) -> Job | None:
        """Read the current sample again (e.g. after predictions changed)."""
        current = self.document.current_id
        return self.select_sample(current) if current is not None else None

    # predictions and metrics -------------------------------------------
    def open_predictions(self, root: str | Path) -> Job | None:
        """Attach a prediction folder (one mesh per sample id)."""
        if self.document.dataset is None:
            self.notifications.error("Open a dataset before opening predictions")
            return None
        root = Path(root)
        ids = self.document.dataset.ids()
        occupancy = self.document.dataset.format == "occ3d"
        return self.jobs.submit(
            f"Match predictions in {root.name}", _match, root, ids, occupancy, key="predictions",
            on_result=lambda matches: self._predictions_matched(root, matches),
        )

    def _predictions_matched(self, root: Path, matches: dict[str, Path]) -> None:
        self.document.set_predictions(root, matches)
        n = len(self.document.dataset.samples) if self.document.dataset else 0
        self.notifications.info(f"Predictions from {root.name}: {len(matches)} of {n} samples matched")
        self.predictions_changed.emit(root)
        self.reload_current()

    def compute_metrics(self, scope: str = "current") -> Job | None:
        """The metrics of the open dataset's kind: occupancy (Occ3D) or mesh metrics."""
        dataset = self.document.dataset
        if dataset is not None and dataset.format == "occ3d":
            return self.compute_occupancy_metrics(scope)
        return self.compute_mesh_metrics(scope)

    def compute_occupancy_metrics(self, scope: str = "current") -> Job | None:
        """Occ3D mIoU, geometric IoU and per-class IoU of the current sample or the whole
        set (one confusion matrix over the set, as the challenge computes it)."""
        doc = self.document
        if doc.dataset is None:
            self.notifications.error("Open a dataset first")
            return None
        if doc.predictions_root is None or not doc.predictions:
            self.notifications.error("Open a prediction folder first (File > Open predictions…)")
            return None
        dataset = doc.dataset
        if scope == "current":
            if doc.current_id not in doc.predictions:
                self.notifications.error(f"No prediction for sample {doc.current_id}")
                return None
            dataset = replace(dataset, samples=[dataset.get(doc.current_id)])
            title = f"Occupancy metrics: {doc.current_id}"
        else:
            title = f"Occupancy metrics: {len(doc.predictions)} samples"
        return self.jobs.submit(
            title, evaluate_dataset, dataset, doc.predictions_root, workers=1, **self.occupancy_params,
            key=f"metrics:{scope}", on_result=lambda result: self._evaluation_done(result, scope),
        )

    def _evaluation_done(self, result: dict[str, Any], scope: str) -> None:
        self._metrics_computed({**result["samples"], **{sid: {"error": msg} for sid, msg in result["errors"].items()}})
        if scope != "current":
            self.set_metrics_ready.emit(result["totals"])
            totals = result["totals"]
            self.notifications.info(f"Set mIoU {totals['miou']:.2f} over {totals['n_samples']} samples "
                                    f"({totals['mask']} mask, {totals['variant']})")

    def compute_mesh_metrics(self, scope: str = "current") -> Job | None:
        """Run mesh metrics for the current sample (``scope="current"``) or all samples."""
        doc = self.document
        if doc.dataset is None:
            self.notifications.error("Open a dataset first")
            return None
        if not doc.predictions:
            self.notifications.error("Open a prediction folder first (File > Open predictions…)")
            return None
        if scope == "current":
            if doc.current_id is None or doc.current_id not in doc.predictions:
                self.notifications.error(f"No prediction for sample {doc.current_id}")
                return None
            ids = [doc.current_id]
            title = f"Mesh metrics: {doc.current_id}"
        else:
            ids = [sid for sid in doc.dataset.ids() if sid in doc.predictions]
            title = f"Mesh metrics: {len(ids)} samples"
        return self.jobs.submit(
            title, evaluate_samples, doc.dataset, dict(doc.predictions), ids, dict(self.metric_params),
            key=f"metrics:{scope}", on_result=self._metrics_computed,
        )

    def run_computation(self, spec: Any, params: dict[str, Any], scope: str = "current") -> Job | None:
        """Run a registered computation on the current sample or all samples."""
        doc = self.document
        if doc.dataset is None:
            self.notifications.error("Open a dataset first")
            return None
        ids = [doc.current_id] if scope == "current" and doc.current_id else doc.dataset.ids()
        return self.jobs.submit(
            f"{spec.name}: {ids[0] if len(ids) == 1 else f'{len(ids)} samples'}",
            run_computation, spec, doc.dataset, ids, params, key=f"compute:{spec.id}",
            on_result=self._metrics_computed,
        )

    def _metrics_computed(self, results: dict[str, dict[str, Any]]) -> None:
        for sid, values in results.items():
            if "error" in values:
                self.notifications.error(f"{sid}: {values['error']}")
                continue
            self.document.set_metrics(sid, values)
            self.metrics_ready.emit(sid, values)
        ok = sum(1 for v in results.values() if "error" not in v)
        self.notifications.info(f"Results computed for {ok} sample{'s' if ok != 1 else ''}")
