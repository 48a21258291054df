"""Run a registered computation (``ComputationSpec``) over samples of a dataset.

A computation is ``func(sample, progress=None, **params) -> dict`` (plugins/README.md).
The GUI's Compute menu and ``occstudio compute`` both call :func:`run_computation`.
"""

from __future__ import annotations

from typing import Any

from occstudio.core.dataset import Dataset
from occstudio.core.errors import OccStudioError
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.plugins.registry import ComputationSpec, resolve


def run_computation(
    spec: ComputationSpec,
    dataset: Dataset,
    sample_ids: list[str],
    params: dict[str, Any],
    progress: Progress | None = None,
) -> dict[str, dict[str, Any]]:
    """``{sample id: result}`` for each sample; a sample that fails gets ``{"error": message}``.

    Raises
    ------
    Cancelled
        When the progress is cancelled (results so far are discarded).
    """
    progress = ensure_progress(progress)
    func = resolve(spec.func)
    progress.start(len(sample_ids), spec.name)
    results: dict[str, dict[str, Any]] = {}
    for i, sid in enumerate(sample_ids):
        progress.update(i, message=f"{spec.name}: {sid}")
        try:
            value = func(dataset.get(sid), progress=progress.child(i, i + 1), **params)
        except (OccStudioError, OSError, ValueError, KeyError, TypeError) as exc:
            results[sid] = {"error": f"{type(exc).__name__}: {exc}" if not isinstance(exc, OccStudioError) else str(exc)}
            continue
        results[sid] = value if isinstance(value, dict) else {"value": value}
    progress.update(len(sample_ids), message=f"{spec.name}: done")
    return results
