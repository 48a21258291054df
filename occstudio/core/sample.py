"""Samples: one browsable unit of a dataset (an ExtremeOcc-3D entry, an Occ3D frame...).

A :class:`Sample` holds resolved references (paths, texts, small metadata), never the
heavy arrays: those are read on demand through the dataset's adapter so that opening a
264-sample manifest is instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Sample:
    """One sample of a dataset.

    Attributes
    ----------
    id
        Stable identifier (may contain slashes, e.g. ``scene/view``).
    paths
        Named files of the sample: a path, or a list of paths for multi-file items
        (``prior_images``, ``gt_images``).
    text
        Named texts (``prior_text``, captions, query text).
    fields
        The raw entry as read from the source (for display and for writing back).
    missing
        Human-readable descriptions of referenced files that do not exist.
    errors
        Problems with this sample only (bad shape, unreadable file...).
    meta
        Small format-specific metadata (cameras, frame index, scene...).
    """

    id: str
    paths: dict[str, Path | list[Path]] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def has_problems(self) -> bool:
        """Whether the sample lacks files or had errors (shown with a warning icon)."""
        return bool(self.missing or self.errors)

    def path(self, key: str) -> Path | None:
        """The single path stored under ``key``, or ``None``."""
        value = self.paths.get(key)
        if isinstance(value, list):
            return value[0] if value else None
        return value

    def path_list(self, key: str) -> list[Path]:
        """The paths stored under ``key`` as a list (empty when absent)."""
        value = self.paths.get(key)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]

    def search_text(self) -> str:
        """Lower-cased text a sample-list filter matches against."""
        return " ".join([self.id, *self.text.values()]).lower()
