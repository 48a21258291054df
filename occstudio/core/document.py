"""The open document: dataset, current sample, prediction sets and computed metrics.

Qt-free. Views subscribe with :meth:`Document.subscribe` and redraw on events; the GUI
controller turns user input into calls on this object.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from occstudio.core.dataset import Dataset
from occstudio.core.sample import Sample

Listener = Callable[[str, Any], None]


class Document:
    """State of one studio window.

    Events (``name``, ``payload``)
    ------------------------------
    ``dataset`` (Dataset | None), ``current`` (sample id | None),
    ``predictions`` (root Path | None), ``metrics`` (sample id).
    """

    def __init__(self) -> None:
        self.dataset: Dataset | None = None
        self.current_id: str | None = None
        self.predictions_root: Path | None = None
        self.predictions: dict[str, Path] = {}
        self.metrics: dict[str, dict[str, Any]] = {}
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(event, payload)`` on every change."""
        self._listeners.append(listener)

    def _emit(self, event: str, payload: Any) -> None:
        for listener in list(self._listeners):
            listener(event, payload)

    def set_dataset(self, dataset: Dataset | None) -> None:
        """Replace the dataset; clears predictions, metrics and the current sample."""
        self.dataset = dataset
        self.predictions_root, self.predictions = None, {}
        self.metrics = {}
        self.current_id = None
        self._emit("dataset", dataset)

    def set_current(self, sample_id: str | None) -> None:
        """Make ``sample_id`` the current sample (no event when unchanged)."""
        if sample_id == self.current_id:
            return
        if sample_id is not None and (self.dataset is None or sample_id not in self.dataset.ids()):
            raise KeyError(sample_id)
        self.current_id = sample_id
        self._emit("current", sample_id)

    @property
    def current(self) -> Sample | None:
        """The current sample, or ``None``."""
        if self.dataset is None or self.current_id is None:
            return None
        return self.dataset.get(self.current_id)

    def set_predictions(self, root: Path | None, matches: dict[str, Path]) -> None:
        """Attach a prediction folder: ``matches`` maps sample ids to mesh files."""
        self.predictions_root, self.predictions = root, dict(matches)
        self.metrics = {}
        self._emit("predictions", root)

    def set_metrics(self, sample_id: str, values: dict[str, Any]) -> None:
        """Store metrics computed for ``sample_id``."""
        self.metrics[sample_id] = values
        self._emit("metrics", sample_id)
