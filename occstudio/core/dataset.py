"""Datasets: an ordered list of samples read by one loader, plus a bounded sample cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from occstudio.core.sample import Sample


@dataclass
class Dataset:
    """A dataset opened by a loader.

    Attributes
    ----------
    format
        The id of the loader that read it (``extremeocc``, ``occ3d``...).
    source
        The path the user opened (manifest file or folder).
    root
        The folder relative paths resolve against; saves never write outside it.
    samples
        The samples in display order.
    warnings
        Problems that did not stop loading (malformed lines, inconsistent metadata).
    meta
        Format-specific information (the manifest wrapper, sequence info...).
    """

    format: str
    source: Path
    root: Path
    samples: list[Sample] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.samples)

    def ids(self) -> list[str]:
        """The sample ids in order."""
        return [s.id for s in self.samples]

    def index_of(self, sample_id: str) -> int:
        """Position of ``sample_id``; raises ``KeyError`` when absent."""
        for i, s in enumerate(self.samples):
            if s.id == sample_id:
                return i
        raise KeyError(sample_id)

    def get(self, sample_id: str) -> Sample:
        """The sample called ``sample_id``; raises ``KeyError`` when absent."""
        return self.samples[self.index_of(sample_id)]


def nbytes_of(value: Any, _depth: int = 0) -> int:
    """Approximate memory held by ``value``.

    Counts numpy arrays, containers of them, objects with an integer ``nbytes``,
    VTK / pyvista datasets (their ``actual_memory_size``, in KiB) and dataclass-like
    objects through their attributes (six levels deep at most); anything else counts
    64 bytes.
    """
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if _depth > 6:
        return 64
    if isinstance(value, dict):
        return sum(nbytes_of(v, _depth + 1) for v in value.values()) + 64
    if isinstance(value, (list, tuple)):
        return sum(nbytes_of(v, _depth + 1) for v in value) + 64
    size = getattr(value, "nbytes", None)
    if isinstance(size, (int, np.integer)):
        return int(size)
    kib = getattr(value, "actual_memory_size", None)  # pyvista datasets (no import here)
    if isinstance(kib, (int, np.integer)):
        return int(kib) * 1024
    fields = getattr(value, "__dict__", None)
    if isinstance(fields, dict) and fields:
        return sum(nbytes_of(v, _depth + 1) for v in fields.values()) + 64
    return 64


class SampleCache:
    """A thread-safe LRU cache bounded in bytes.

    Parameters
    ----------
    max_bytes
        Entries are evicted, least recently used first, while the total exceeds this.
    """

    def __init__(self, max_bytes: int = 2 << 30) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.nbytes = 0

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The cached value for ``key`` (marking it recently used), or ``default``."""
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key][0]

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` and evict old entries past the byte budget."""
        size = nbytes_of(value)
        with self._lock:
            if key in self._items:
                self.nbytes -= self._items.pop(key)[1]
            self._items[key] = (value, size)
            self.nbytes += size
            self._evict()

    def _evict(self) -> None:
        while self.nbytes > self.max_bytes and len(self._items) > 1:
            _, (_, old) = self._items.popitem(last=False)
            self.nbytes -= old

    def resize(self, max_bytes: int) -> None:
        """Change the byte budget, evicting least recently used entries past it."""
        with self._lock:
            self.max_bytes = int(max_bytes)
            self._evict()

    def get_or_load(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        """The cached value for ``key``, loading and storing it on a miss."""
        sentinel = object()
        value = self.get(key, sentinel)
        if value is sentinel:
            value = loader()
            self.put(key, value)
        return value

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._items.clear()
            self.nbytes = 0
