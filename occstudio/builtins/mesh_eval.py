"""Mesh metrics of a dataset's samples against a prediction folder (GUI job and CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from occstudio.core.compute.metrics import mesh_metrics
from occstudio.core.dataset import Dataset
from occstudio.core.errors import DataError
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.sample import Sample
from occstudio.io.meshes import read_mesh

DEFAULT_PARAMS: dict[str, Any] = {
    "n_points": 20_000,
    "seed": 0,
    "normalize": "bbox",
    "thresholds": ("0.01", "0.02", "0.05"),
}


def evaluate_sample(
    sample: Sample,
    prediction: Path,
    params: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Mesh metrics of one sample's ``gt_mesh`` against ``prediction``.

    Raises
    ------
    DataError
        The sample has no readable GT mesh, or a mesh file is unusable.
    """
    params = {**DEFAULT_PARAMS, **(params or {})}
    gt_path = sample.path("gt_mesh") or sample.path("mesh")
    if gt_path is None:
        raise DataError(None, f"sample {sample.id}: no gt_mesh")
    gt = read_mesh(gt_path)
    pred = read_mesh(prediction)
    return mesh_metrics(gt, pred, progress=progress, **params)


def evaluate_samples(
    dataset: Dataset,
    predictions: dict[str, Path],
    sample_ids: list[str] | None = None,
    params: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, dict[str, Any]]:
    """Mesh metrics for ``sample_ids`` (default: all with a prediction).

    A sample that fails gets ``{"error": message}`` and the others go on.
    """
    progress = ensure_progress(progress)
    ids = [sid for sid in (sample_ids or dataset.ids()) if sid in predictions]
    progress.start(len(ids), "mesh metrics")
    results: dict[str, dict[str, Any]] = {}
    for i, sid in enumerate(ids):
        progress.update(i, message=f"mesh metrics {sid}")
        try:
            results[sid] = evaluate_sample(dataset.get(sid), predictions[sid], params, progress.child(i, i + 1))
        except DataError as exc:
            results[sid] = {"error": str(exc)}
    progress.update(len(ids), message="mesh metrics done")
    return results
