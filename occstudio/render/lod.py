"""Level of detail for big point clouds: a decimated copy is drawn while the camera moves.

A LiDAR sweep or a fused depth cloud easily has millions of points; with software OpenGL
every frame of a rotation then takes seconds. :class:`PointCloudLOD` adds two actors for
one cloud: the full cloud, shown while the view is still, and a fixed random subset
(``max_moving_points``, 400k by default), shown only while the user drags the camera.
:meth:`PointCloudLOD.watch` switches between them on the interactor's
``StartInteractionEvent`` / ``EndInteractionEvent`` (VTK's interactor styles send these
when a mouse drag starts and ends), so the motion is drawn from the subset and the frame
after the button is released from every point.

The subset is chosen once (:func:`decimate_indices`, deterministic for a seed) and keeps
the cloud's point arrays, so the same ``scalars=`` / ``rgb=`` options colour both actors;
with mapped scalars the decimated actor shares the full actor's lookup table and scalar
range, so colours do not shift when the actors swap.

Nothing here imports Qt: it works on any pyvista plotter (off-screen, pyvistaqt).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyvista as pv

#: The default size of the decimated cloud drawn while the camera moves.
DEFAULT_MAX_MOVING_POINTS = 400_000


def decimate_indices(n: int, max_points: int, seed: int = 0) -> np.ndarray:
    """A sorted, deterministic random subset of ``range(n)``.

    Parameters
    ----------
    n
        Number of points to choose from.
    max_points
        Size of the subset when ``n`` is larger; otherwise all of ``range(n)``.
    seed
        Seed of the random choice: the same arguments give the same subset.

    Returns
    -------
    numpy.ndarray
        int64 indices, strictly increasing, ``min(n, max_points)`` of them.

    Raises
    ------
    ValueError
        ``n`` or ``max_points`` is negative.
    """
    n, max_points = int(n), int(max_points)
    if n < 0 or max_points < 0:
        raise ValueError(f"n and max_points must be >= 0, got {n} and {max_points}")
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    if max_points * 4 < n:
        # Sparse subset: draw with replacement and top up the duplicates (no O(n) permutation).
        chosen = np.unique(rng.integers(0, n, size=max_points, dtype=np.int64))
        while len(chosen) < max_points:
            extra = rng.integers(0, n, size=max_points - len(chosen), dtype=np.int64)
            chosen = np.union1d(chosen, extra)
        return chosen
    # Dense subset: a partial permutation is simplest.
    return np.sort(rng.permutation(n)[:max_points]).astype(np.int64, copy=False)


def _subset_cloud(cloud: pv.PolyData, indices: np.ndarray) -> pv.PolyData:
    """The points ``indices`` of ``cloud`` as a vertex cloud with the same point arrays."""
    sub = pv.PolyData(np.asarray(cloud.points)[indices])
    for name in cloud.point_data.keys():
        sub.point_data[name] = np.asarray(cloud.point_data[name])[indices]
    active = cloud.point_data.active_scalars_name
    if active is not None and active in sub.point_data:
        sub.point_data.active_scalars_name = active
    return sub


class PointCloudLOD:
    """A point cloud drawn in full when the view is still and decimated while it moves.

    Parameters
    ----------
    cloud
        The points (a :class:`pyvista.PolyData`; its point arrays are kept).
    max_moving_points
        Size of the cloud drawn while moving. A cloud not bigger than this gets no
        decimated copy (one actor, nothing switches).
    seed
        Seed of the random subset (see :func:`decimate_indices`).

    Examples
    --------
    >>> lod = PointCloudLOD(cloud)                                     # doctest: +SKIP
    >>> lod.attach(plotter, "lidar", scalars="rgb", rgb=True, point_size=2)  # doctest: +SKIP
    >>> lod.watch(plotter.iren.interactor)                             # doctest: +SKIP
    """

    def __init__(
        self, cloud: pv.PolyData, max_moving_points: int = DEFAULT_MAX_MOVING_POINTS, seed: int = 0
    ) -> None:
        if int(max_moving_points) < 1:
            raise ValueError(f"max_moving_points must be >= 1, got {max_moving_points}")
        self.cloud = cloud
        self.max_moving_points = int(max_moving_points)
        self.decimated: pv.PolyData | None = None
        if cloud.n_points > self.max_moving_points:
            self.decimated = _subset_cloud(cloud, decimate_indices(cloud.n_points, self.max_moving_points, seed))
        self.full_actor: Any = None
        self.lod_actor: Any = None
        self.name: str | None = None
        self._renderer: Any = None
        self._moving = False
        self._visible = True
        self._interactor: Any = None
        self._observers: list[int] = []
        self._render_on_end: bool | None = None
        self._style: Any = None
        self._style_tag: int | None = None
        self._style_ending = False

    # ------------------------------------------------------------------ properties

    @property
    def n_full(self) -> int:
        """Number of points drawn while still."""
        return int(self.cloud.n_points)

    @property
    def n_moving(self) -> int:
        """Number of points drawn while moving (``n_full`` without a decimated copy)."""
        return int(self.decimated.n_points) if self.decimated is not None else self.n_full

    @property
    def is_moving(self) -> bool:
        """Whether the decimated cloud is in use (the last :meth:`set_moving`)."""
        return self._moving

    @property
    def attached(self) -> bool:
        """Whether the actors are in a renderer."""
        return self.full_actor is not None

    @property
    def visible(self) -> bool:
        """Whether the cloud is shown at all; ``False`` hides both actors.

        Use this rather than the actors' own visibility: :meth:`set_moving` sets those.
        """
        return self._visible

    @visible.setter
    def visible(self, value: bool) -> None:
        self._visible = bool(value)
        self._apply()

    # -------------------------------------------------------------------- actors

    def attach(self, plotter: Any, name: str, renderer: Any = None, **add_mesh_kwargs: Any) -> None:
        """Add the cloud's actors to a pyvista plotter.

        Parameters
        ----------
        plotter
            A :class:`pyvista.Plotter` (or any pyvista plotter, e.g. pyvistaqt's).
        name
            Actor name of the full cloud; the decimated one is ``name + ":lod"``
            (pyvista replaces actors of the same name).
        renderer
            One of ``plotter.renderers``; default: the plotter's current renderer.
        **add_mesh_kwargs
            Passed to ``plotter.add_mesh`` for both actors (``scalars=``, ``rgb=``,
            ``point_size=``...). ``render`` (default ``True``) renders once after both
            actors are added. The decimated actor gets no scalar bar of its own.

        Raises
        ------
        RuntimeError
            Already attached (call :meth:`detach` first).
        ValueError
            ``renderer`` is not one of the plotter's renderers.
        """
        if self.attached:
            raise RuntimeError(f"point cloud {self.name!r} is already attached; detach() it first")
        render = bool(add_mesh_kwargs.pop("render", True))
        add_mesh_kwargs["render"] = False
        renderers = plotter.renderers
        previous = renderers.active_index
        if renderer is not None:
            index = next((i for i, r in enumerate(renderers) if r is renderer), None)
            if index is None:
                raise ValueError("renderer is not one of the plotter's renderers")
            renderers.set_active_renderer(*np.atleast_1d(renderers.index_to_loc(index)))
        try:
            self._renderer = plotter.renderer
            self.full_actor = plotter.add_mesh(self.cloud, name=name, **add_mesh_kwargs)
            if self.decimated is not None:
                lod_kwargs = dict(add_mesh_kwargs, show_scalar_bar=False)
                lod_kwargs.setdefault("reset_camera", False)
                self.lod_actor = plotter.add_mesh(self.decimated, name=name + ":lod", **lod_kwargs)
                self._share_colors()
        finally:
            if renderer is not None:
                renderers.set_active_renderer(*np.atleast_1d(renderers.index_to_loc(previous)))
        self.name = name
        self._apply()
        if render:
            plotter.render()

    def _share_colors(self) -> None:
        """Give the decimated actor the full actor's colour mapping (no shift on swap)."""
        full, lod = self.full_actor.GetMapper(), self.lod_actor.GetMapper()
        if full.GetScalarVisibility() and lod.GetScalarVisibility():
            lod.SetLookupTable(full.GetLookupTable())
            lod.SetScalarRange(full.GetScalarRange())
            lod.SetUseLookupTableScalarRange(full.GetUseLookupTableScalarRange())

    def _apply(self) -> bool:
        """Set the actors' visibility from the state; whether any changed."""
        changed = False
        use_lod = self._moving and self.lod_actor is not None
        for actor, show in ((self.full_actor, not use_lod), (self.lod_actor, use_lod)):
            if actor is None:
                continue
            want = bool(show and self._visible)
            if bool(actor.GetVisibility()) != want:
                actor.SetVisibility(want)
                changed = True
        return changed

    def set_moving(self, moving: bool) -> bool:
        """Draw the decimated cloud (``True``) or the full one (``False``).

        Does not render.

        Parameters
        ----------
        moving
            Whether the camera is moving.

        Returns
        -------
        bool
            Whether an actor's visibility changed (a render is needed).
        """
        self._moving = bool(moving)
        return self._apply()

    def detach(self) -> None:
        """Remove the interactor observers and both actors (no render)."""
        self.unwatch()
        if self._renderer is not None:
            for actor in (self.full_actor, self.lod_actor):
                if actor is not None:
                    self._renderer.remove_actor(actor, reset_camera=False, render=False)
        self.full_actor = self.lod_actor = None
        self._renderer = None
        self.name = None
        self._moving = False

    # ---------------------------------------------------------------- interaction

    def watch(self, interactor: Any, render_on_end: bool | None = None) -> None:
        """Switch to the decimated cloud while the user moves the camera.

        Adds observers to ``interactor``: ``StartInteractionEvent`` calls
        ``set_moving(True)``, ``EndInteractionEvent`` calls ``set_moving(False)`` and
        renders the render window when that changed something. VTK forwards the
        interactor style's interaction events (mouse drags, wheel) to the interactor,
        whichever style is set. A previous :meth:`watch` is undone first.

        Parameters
        ----------
        interactor
            A :vtk:`vtkRenderWindowInteractor` (``plotter.iren.interactor``).
        render_on_end
            Whether to render after switching back. ``None`` (default): unless the
            event comes from the interactor style of an enabled interactor, which
            renders by itself right after ``EndInteractionEvent`` (a second render of
            the full cloud would double the cost of the still frame). ``True``:
            always; ``False``: never (the caller renders).
        """
        self.unwatch()
        self._interactor = interactor
        self._render_on_end = render_on_end
        self._observers = [
            interactor.AddObserver("StartInteractionEvent", self._on_start),
            interactor.AddObserver("EndInteractionEvent", self._on_end),
        ]
        self._bind_style()

    def unwatch(self) -> None:
        """Remove the observers added by :meth:`watch` (if any)."""
        if self._interactor is not None:
            for tag in self._observers:
                self._interactor.RemoveObserver(tag)
        self._unbind_style()
        self._interactor = None
        self._observers = []

    def _bind_style(self) -> None:
        """Observe the interactor style's own end event (see :meth:`_on_end`)."""
        style = self._interactor.GetInteractorStyle() if self._interactor is not None else None
        if style is self._style:
            return
        self._unbind_style()
        if style is not None:
            # runs before VTK forwards the event to the interactor (priority 0)
            self._style_tag = style.AddObserver("EndInteractionEvent", self._on_style_end, 1.0)
            self._style = style

    def _unbind_style(self) -> None:
        if self._style is not None and self._style_tag is not None:
            self._style.RemoveObserver(self._style_tag)
        self._style = None
        self._style_tag = None
        self._style_ending = False

    def _on_style_end(self, _obj: Any = None, _event: str | None = None) -> None:
        self._style_ending = True

    def _on_start(self, _obj: Any = None, _event: str | None = None) -> None:
        self._bind_style()  # the style may have been replaced since watch()
        self.set_moving(True)

    def _on_end(self, _obj: Any = None, _event: str | None = None) -> None:
        from_style, self._style_ending = self._style_ending, False
        if not self.set_moving(False):
            return
        interactor = self._interactor
        if interactor is None:
            return
        render = self._render_on_end
        if render is None:
            # vtkInteractorStyle::StopState renders through the interactor right after
            # the event when the interactor is enabled: leave the still frame to it.
            render = not (from_style and interactor.GetEnabled() and interactor.GetEnableRender())
        window = interactor.GetRenderWindow()
        if render and window is not None:
            window.Render()


__all__ = ["DEFAULT_MAX_MOVING_POINTS", "PointCloudLOD", "decimate_indices"]
