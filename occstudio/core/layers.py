"""Computed layers: named results of a computation (a fused cloud, an occupancy grid, a
visibility mask, a rendered depth image) that the views show and File > Export layer
writes.

A :class:`Layer` is Qt- and VTK-free: its ``data`` are numpy arrays. ``display`` may hold
a ready-to-draw object built by the worker that computed the layer (a detached pyvista
dataset for 3D layers, an RGB array for image layers); the model never looks inside it.

Writing a layer needs the format writers of :mod:`occstudio.io`, which this layer of the
package must not import (core → nothing above it). A layer therefore carries its
``writer`` (``writer(layer, path) -> Path``), set by whoever built it (the built-in layer
computations use :func:`occstudio.builtins.compute_layers.export_layer`).

Data conventions by ``kind``
----------------------------
``points``
    ``points`` float32 ``(N, 3)``; optional ``colors`` uint8 ``(N, 3)``.
``voxels``
    ``occupied`` bool ``(X, Y, Z)``; optional ``visible`` bool ``(X, Y, Z)`` (voxels a
    camera sees); ``metadata["grid"]`` is the :class:`~occstudio.core.geometry.GridSpec`.
``image``
    ``depth`` float32 ``(H, W)`` metres (0 = nothing), optional ``semantics``.
``mesh``
    ``vertices`` float32 ``(N, 3)``, ``faces`` int ``(F, 3)``, optional ``vertex_colors``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from occstudio.core.errors import DataError

LayerKind = Literal["points", "voxels", "image", "mesh"]

#: File suffixes a layer of each kind can be exported to (the first is the default).
EXPORT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "points": (".ply",),
    "voxels": (".npz", ".ply"),
    "image": (".png", ".npy"),
    "mesh": (".ply",),
}

_REQUIRED: dict[str, tuple[str, ...]] = {
    "points": ("points",),
    "voxels": ("occupied",),
    "image": ("depth",),
    "mesh": ("vertices", "faces"),
}


@dataclass(eq=False)
class Layer:
    """A named computed result.

    Attributes
    ----------
    name
        Display name, unique in a :class:`LayerList` (``"fused cloud"``).
    kind
        ``points``, ``voxels``, ``image`` or ``mesh``.
    data
        The arrays (see the module docstring for the keys of each kind).
    metadata
        Parameters, sizes, the grid, the sample the layer was computed for, ...
    display
        Something ready to draw, built off the GUI thread (or ``None``).
    writer
        ``writer(layer, path) -> Path`` used by :meth:`export`.
    """

    name: str
    kind: LayerKind
    data: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    display: Any = field(default=None, repr=False)
    writer: Callable[[Layer, Path], Path] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in _REQUIRED:
            raise ValueError(f"layer kind must be one of {', '.join(_REQUIRED)}, got {self.kind!r}")
        missing = [k for k in _REQUIRED[self.kind] if k not in self.data]
        if missing:
            raise ValueError(f"a {self.kind} layer needs data {', '.join(missing)}")

    @property
    def export_suffixes(self) -> tuple[str, ...]:
        """File suffixes :meth:`export` accepts for this kind."""
        return EXPORT_SUFFIXES[self.kind]

    def export(self, path: str | Path) -> Path:
        """Write the layer to ``path`` (the format follows the suffix).

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        DataError
            The suffix does not suit this kind of layer, or the layer has no writer.
        """
        path = Path(path)
        if path.suffix.lower() not in self.export_suffixes:
            raise DataError(path, f"a {self.kind} layer is written as {' or '.join(self.export_suffixes)}")
        if self.writer is None:
            raise DataError(path, f"layer {self.name!r} has no writer")
        return self.writer(self, path)

    def summary(self) -> str:
        """One line describing the layer (for lists and tooltips)."""
        if self.kind == "points":
            return f"{len(self.data['points']):,} points"
        if self.kind == "voxels":
            n = int(self.data["occupied"].sum())
            return f"{n:,} voxels in {'×'.join(map(str, self.data['occupied'].shape))}"
        if self.kind == "image":
            h, w = self.data["depth"].shape[:2]
            return f"{w}×{h} depth image"
        return f"{len(self.data['vertices']):,} vertices, {len(self.data['faces']):,} faces"


class LayerList:
    """An ordered set of layers keyed by name; adding a name again replaces the layer."""

    def __init__(self) -> None:
        self._layers: dict[str, Layer] = {}

    def add(self, layer: Layer) -> Layer | None:
        """Add ``layer``; returns the layer it replaced (same name), or ``None``."""
        old = self._layers.pop(layer.name, None)
        self._layers[layer.name] = layer
        return old

    def remove(self, name: str) -> Layer:
        """Remove and return the layer called ``name`` (``KeyError`` when absent)."""
        return self._layers.pop(name)

    def get(self, name: str) -> Layer | None:
        """The layer called ``name``, or ``None``."""
        return self._layers.get(name)

    def names(self) -> list[str]:
        """Layer names in the order they were added."""
        return list(self._layers)

    def __contains__(self, name: object) -> bool:
        return name in self._layers

    def __iter__(self) -> Iterator[Layer]:
        return iter(list(self._layers.values()))

    def __len__(self) -> int:
        return len(self._layers)
