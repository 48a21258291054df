"""What a video shows, frame by frame: 3-D scenes per panel, and clips of frames.

A video is a list of **clips** (one per sample for a turntable export, one for a played
sequence). A clip has ``n_frames`` frames and gives the :class:`~occstudio.render.panels.
SampleContent` of each: a static clip (a sample turning on a turntable) gives the same
content object for every frame, a sequence clip a new one per frame (its sample at that
time). The exporter re-composes the 2-D panels and re-adds the 3-D actors only when the
content object changes.

A 3-D panel draws a :class:`Scene3D`: meshes with their drawing style, the coordinate
``frame`` they live in (panels in the same frame share one camera, so GT, prediction and
error are always seen from the same view), the box the camera frames (stable over a
clip, so a played sequence does not jump), the sensor pose for the trajectory camera and
a class legend.

Video sources for dataset formats other than meshes (occupancy grids...) are plugins
(:class:`occstudio.plugins.registry.VideoSourceSpec`): ``func(dataset, samples, layout,
*, predictions, frames, playback, metrics) -> list[Clip]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyvista as pv

from occstudio.render.compose import RGB

if TYPE_CHECKING:
    from occstudio.render.panels import SampleContent

Bounds = tuple[float, float, float, float, float, float]


@dataclass
class SceneItem:
    """One mesh of a scene and how to draw it.

    Attributes
    ----------
    mesh
        A pyvista dataset (voxel surface, point cloud, polyline...).
    style
        ``add_mesh`` keyword arguments; ``None`` picks colours and point size from the
        mesh (:func:`occstudio.render.panels.mesh_add_kwargs`).
    """

    mesh: pv.DataSet
    style: dict[str, Any] | None = None


@dataclass
class Scene3D:
    """What one 3-D panel shows in one frame.

    Attributes
    ----------
    items
        The meshes, drawn in order.
    frame
        Name of the coordinate frame; panels with the same frame share one camera.
    bounds
        ``(x0, x1, y0, y1, z0, z1)`` the orbit and fixed cameras frame; ``None``: the
        items' bounds.
    up
        The scene's up axis (``"z"``, ``"-y"``...), for orbit and fixed cameras.
    follow
        4×4 pose of the sensor in this frame, for the trajectory camera; ``None`` when the
        scene has no sensor.
    follow_axes
        The sensor's forward and up axes in its own frame (OpenCV camera: ``+z``, ``-y``;
        ego: ``+x``, ``+z``).
    legend
        ``(name, rgb)`` entries drawn in the panel's corner (classes shown, error kinds);
        an entry without a colour is a heading.
    user_camera
        Whether cameras given as poses (``fixed:FILE``, keyframes, recorded in the studio's
        3D view, which shows the sample's own frame) apply to this scene; a scene in
        another frame (the world) gets the fitted fixed camera instead.
    """

    items: list[SceneItem] = field(default_factory=list)
    frame: str = "object"
    bounds: Bounds | None = None
    up: str | Sequence[float] = "z"
    follow: np.ndarray | None = None
    follow_axes: tuple[tuple[float, float, float], tuple[float, float, float]] = ((0.0, 0.0, 1.0), (0.0, -1.0, 0.0))
    legend: list[tuple[str, RGB | None]] = field(default_factory=list)
    user_camera: bool = True

    @property
    def empty(self) -> bool:
        """Whether nothing is drawn."""
        return not any(item.mesh is not None and item.mesh.n_points for item in self.items)

    def item_bounds(self) -> Bounds | None:
        """Union of the items' bounds, or ``None`` when empty."""
        return union_bounds([item.mesh.bounds for item in self.items if item.mesh is not None and item.mesh.n_points])

    def framing_bounds(self) -> Bounds | None:
        """:attr:`bounds` when set, else :meth:`item_bounds`."""
        return self.bounds if self.bounds is not None else self.item_bounds()

    def fit_points(self, limit: int = 8192) -> np.ndarray | None:
        """Up to ``limit`` points of the items (evenly strided), for framing the camera."""
        arrays = [np.asarray(i.mesh.points, float) for i in self.items if i.mesh is not None and i.mesh.n_points]
        if not arrays:
            return None
        per = max(1, limit // len(arrays))
        return np.concatenate([a[:: max(1, len(a) // per)] for a in arrays])


def union_bounds(boxes: Sequence[Sequence[float]]) -> Bounds | None:
    """Union of VTK bounds tuples ``(x0, x1, y0, y1, z0, z1)``; ``None`` for none."""
    if not boxes:
        return None
    b = np.asarray(boxes, dtype=float).reshape(-1, 6)
    return (float(b[:, 0].min()), float(b[:, 1].max()), float(b[:, 2].min()),
            float(b[:, 3].max()), float(b[:, 4].min()), float(b[:, 5].max()))


class Clip:
    """A run of frames with a title card.

    Parameters
    ----------
    title_lines
        Lines of the title card shown before the clip in multi-clip exports.
    label
        Progress message while the clip renders.
    n_frames
        Number of frames.
    loader
        ``loader(index) -> SampleContent`` for frame ``index``.
    static
        Whether every frame shows the same content (a turntable): the content is loaded
        once and the same object returned for every frame.
    """

    def __init__(self, title_lines: Sequence[str], label: str, n_frames: int,
                 loader: Callable[[int], SampleContent], static: bool = False) -> None:
        if n_frames < 1:
            raise ValueError(f"a clip needs at least one frame, got {n_frames}")
        self.title_lines, self.label, self.n_frames = list(title_lines), label, int(n_frames)
        self.static = static
        self._loader = loader
        self._last: tuple[int, SampleContent] | None = None

    @classmethod
    def of_content(cls, content: SampleContent, n_frames: int, title_lines: Sequence[str], label: str) -> Clip:
        """A static clip showing ``content`` for ``n_frames`` frames."""
        return cls(title_lines, label, n_frames, lambda _index: content, static=True)

    def content(self, index: int) -> SampleContent:
        """The content of frame ``index`` (the same object for every frame of a static clip)."""
        key = 0 if self.static else int(index)
        if self._last is None or self._last[0] != key:
            self._last = (key, self._loader(key))
        return self._last[1]


__all__ = ["Bounds", "Clip", "Scene3D", "SceneItem", "union_bounds"]
