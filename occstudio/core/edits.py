"""Undoable mask edits: bounding-box deltas, brush / polygon / flood-fill tools, undo stacks.

A :class:`MaskEdit` stores only the bounding box of what changed: the values before
(``old``) and after (``new``) inside the box, and ``region``, the pixels of the box the
edit defines. Pixels of the box outside ``region`` are never written by :meth:`apply`
or :meth:`revert`, which is what makes :meth:`MaskEdit.merge` exact: the union box of
two edits contains pixels neither touched, whose values the merged edit does not know
and must leave alone.

The tools (:func:`paint_disk`, :func:`paint_stroke`, :func:`fill_polygon`,
:func:`flood_fill`) modify the array in place, work only inside the bounding box of
what they touch (never a full-array copy per dab), and return the edit (``None`` when
nothing changed). Coordinates are ``(y, x)`` = (row, column); pixel ``(y, x)`` has its
centre at ``(y, x)``.

One stroke = one undo command: collect the per-dab edits in a :class:`StrokeRecorder`
(or call :meth:`MaskEdit.combine`) and push the result onto the sample's
:class:`EditStack`. :class:`EditStacks` keeps one stack per sample.

Qt-free; numpy only (scipy for :func:`flood_fill`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

#: Slack on squared distances so that exact ties (integer centres) are inside.
_EPS = 1e-9
#: Longest sub-segment of a stroke evaluated in one block, in multiples of the radius.
_SUBSEGMENT_RADII = 2.0
#: Upper bound on the rows × edges block evaluated at once by :func:`fill_polygon`.
_POLY_BLOCK = 1 << 22

Bbox = tuple[int, int, int, int]


def _check_bbox(bbox: Bbox, shape: tuple[int, ...]) -> None:
    y0, y1, x0, x1 = bbox
    if not (0 <= y0 < y1 <= shape[0] and 0 <= x0 < x1 <= shape[1]):
        raise ValueError(f"edit bbox {bbox} does not fit an array of shape {shape}")


@dataclass(eq=False)
class MaskEdit:
    """A reversible change of a 2-D array (bool mask or integer label image).

    Attributes
    ----------
    bbox
        ``(y0, y1, x0, x1)``, half-open: rows ``y0..y1-1``, columns ``x0..x1-1``.
    old, new
        The values inside the box before and after the edit (shape ``(y1-y0, x1-x0)``,
        the array's dtype). Only pixels in ``region`` are meaningful.
    region
        bool, same shape: the pixels this edit writes.
    layer
        Optional name of the layer the edit belongs to (e.g. ``"visible"``), used when
        an :class:`EditStack` is given a mapping of arrays.
    """

    bbox: Bbox
    old: np.ndarray
    new: np.ndarray
    region: np.ndarray
    layer: str | None = None

    def __post_init__(self) -> None:
        y0, y1, x0, x1 = (int(v) for v in self.bbox)
        self.bbox = (y0, y1, x0, x1)
        shape = (y1 - y0, x1 - x0)
        if y1 <= y0 or x1 <= x0:
            raise ValueError(f"empty edit bbox {self.bbox}")
        for name in ("old", "new", "region"):
            value = getattr(self, name)
            if value.shape != shape:
                raise ValueError(f"edit {name} has shape {value.shape}, bbox needs {shape}")
        if self.region.dtype != np.bool_:
            raise ValueError("edit region must be a bool array")
        if self.old.dtype != self.new.dtype:
            raise ValueError(f"edit old/new dtypes differ ({self.old.dtype} vs {self.new.dtype})")

    # ------------------------------------------------------------------ building

    @classmethod
    def from_change(cls, before: np.ndarray, after: np.ndarray, layer: str | None = None) -> MaskEdit | None:
        """The minimal edit turning ``before`` into ``after``.

        Parameters
        ----------
        before, after
            2-D arrays of the same shape and dtype.
        layer
            Optional layer name stored on the edit.

        Returns
        -------
        MaskEdit or None
            Bounding box of the changed pixels, ``region`` = the changed pixels;
            ``None`` when the arrays are equal.
        """
        before = np.asarray(before)
        after = np.asarray(after)
        if before.shape != after.shape or before.ndim != 2:
            raise ValueError(f"need two 2-D arrays of one shape, got {before.shape} and {after.shape}")
        if before.dtype != after.dtype:
            raise ValueError(f"dtypes differ ({before.dtype} vs {after.dtype})")
        return _edit_from_diff(before, after, before != after, 0, 0, layer)

    @classmethod
    def combine(cls, edits: Iterable[MaskEdit | None]) -> MaskEdit | None:
        """One edit equivalent to applying ``edits`` in order (``None`` items are skipped).

        Reverting the result restores the state before the first edit; applying it
        gives the state after the last. Costs one pass over each edit plus the union
        box, so a long stroke of many dabs is combined in linear time.

        Raises
        ------
        ValueError
            The edits belong to different layers or have different dtypes.
        """
        items = [e for e in edits if e is not None]
        if not items:
            return None
        if len(items) == 1:
            return items[0].copy()
        layers = {e.layer for e in items}
        dtypes = {e.old.dtype for e in items}
        if len(layers) > 1:
            raise ValueError(f"cannot merge edits of different layers {sorted(map(str, layers))}")
        if len(dtypes) > 1:
            raise ValueError(f"cannot merge edits of different dtypes {sorted(map(str, dtypes))}")
        y0 = min(e.bbox[0] for e in items)
        y1 = max(e.bbox[1] for e in items)
        x0 = min(e.bbox[2] for e in items)
        x1 = max(e.bbox[3] for e in items)
        shape = (y1 - y0, x1 - x0)
        dtype = items[0].old.dtype
        old = np.zeros(shape, dtype)
        new = np.zeros(shape, dtype)
        region = np.zeros(shape, bool)
        for e in items:  # later edits win for the final values
            sl = e._local(y0, x0)
            np.copyto(new[sl], e.new, where=e.region)
            region[sl] |= e.region
        for e in reversed(items):  # earlier edits win for the original values
            np.copyto(old[e._local(y0, x0)], e.old, where=e.region)
        return cls((y0, y1, x0, x1), old, new, region, items[0].layer)

    def merge(self, other: MaskEdit) -> MaskEdit:
        """This edit followed by ``other`` (applied to the same array) as one edit.

        The union box; ``old`` from this edit where it wrote, else ``other.old``;
        ``new`` from ``other`` where it wrote, else this edit's ``new``; ``region`` the
        union. Exact for any pair of consecutive edits.
        """
        merged = MaskEdit.combine([self, other])
        assert merged is not None
        return merged

    def _local(self, y0: int, x0: int) -> tuple[slice, slice]:
        """This edit's box as slices of a box starting at ``(y0, x0)``."""
        return (
            slice(self.bbox[0] - y0, self.bbox[1] - y0),
            slice(self.bbox[2] - x0, self.bbox[3] - x0),
        )

    # ------------------------------------------------------------------ using

    def _view(self, array: np.ndarray) -> np.ndarray:
        if array.ndim != 2:
            raise ValueError(f"edits apply to 2-D arrays, got shape {array.shape}")
        _check_bbox(self.bbox, array.shape)
        y0, y1, x0, x1 = self.bbox
        return array[y0:y1, x0:x1]

    def apply(self, array: np.ndarray) -> None:
        """Write the edit's ``new`` values into ``array`` (in place, region only)."""
        np.copyto(self._view(array), self.new, where=self.region, casting="same_kind")

    def revert(self, array: np.ndarray) -> None:
        """Write the edit's ``old`` values back into ``array`` (in place, region only)."""
        np.copyto(self._view(array), self.old, where=self.region, casting="same_kind")

    def inverse(self) -> MaskEdit:
        """The edit that undoes this one."""
        return MaskEdit(self.bbox, self.new.copy(), self.old.copy(), self.region.copy(), self.layer)

    def copy(self) -> MaskEdit:
        """An independent copy."""
        return MaskEdit(self.bbox, self.old.copy(), self.new.copy(), self.region.copy(), self.layer)

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` of the box."""
        return (self.bbox[1] - self.bbox[0], self.bbox[3] - self.bbox[2])

    @property
    def count(self) -> int:
        """Number of pixels the edit writes."""
        return int(np.count_nonzero(self.region))

    @property
    def nbytes(self) -> int:
        """Memory held by the edit's arrays."""
        return int(self.old.nbytes + self.new.nbytes + self.region.nbytes)


def _edit_from_diff(
    before_box: np.ndarray,
    after_box: np.ndarray,
    changed: np.ndarray,
    oy: int,
    ox: int,
    layer: str | None,
) -> MaskEdit | None:
    """An edit from a box's before/after values and changed pixels, tightened to them."""
    rows = np.flatnonzero(changed.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(changed.any(axis=0))
    ty0, ty1, tx0, tx1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return MaskEdit(
        (oy + ty0, oy + ty1, ox + tx0, ox + tx1),
        np.array(before_box[ty0:ty1, tx0:tx1], copy=True),
        np.array(after_box[ty0:ty1, tx0:tx1], copy=True),
        np.array(changed[ty0:ty1, tx0:tx1], copy=True),
        layer,
    )


def _paint_footprint(
    array: np.ndarray,
    box: Bbox,
    footprint: np.ndarray,
    value: Any,
    layer: str | None,
) -> MaskEdit | None:
    """Set ``footprint`` pixels of ``array[box]`` to ``value``; return the edit or None."""
    y0, y1, x0, x1 = box
    view = array[y0:y1, x0:x1]
    changed = footprint & (view != value)
    rows = np.flatnonzero(changed.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(changed.any(axis=0))
    ty0, ty1, tx0, tx1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    region = np.array(changed[ty0:ty1, tx0:tx1], copy=True)
    old = np.array(view[ty0:ty1, tx0:tx1], copy=True)
    new = old.copy()
    new[region] = value
    edit = MaskEdit((y0 + ty0, y0 + ty1, x0 + tx0, x0 + tx1), old, new, region, layer)
    edit.apply(array)
    return edit


# ---------------------------------------------------------------------- brush


@lru_cache(maxsize=64)
def _disk_stamp_cached(radius: float) -> np.ndarray:
    r = int(math.floor(radius))
    offsets = np.arange(-r, r + 1, dtype=np.float64)
    stamp = offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius * radius + _EPS
    stamp.setflags(write=False)
    return stamp


def disk_stamp(radius: float) -> np.ndarray:
    """The pixels within ``radius`` of a pixel centre.

    Parameters
    ----------
    radius
        Brush radius in pixels (``>= 0``; ``0`` is a single pixel).

    Returns
    -------
    numpy.ndarray
        Read-only bool array of shape ``(2·⌊r⌋+1, 2·⌊r⌋+1)``; ``stamp[r + dy, r + dx]``
        is ``dy² + dx² <= r²``. Cached per radius.
    """
    radius = float(radius)
    if not math.isfinite(radius) or radius < 0:
        raise ValueError(f"brush radius must be a finite number >= 0, got {radius}")
    return _disk_stamp_cached(radius)


def _as_points(points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim == 1 and pts.size == 2:
        pts = pts[None, :]
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] == 0:
        raise ValueError(f"points must be a non-empty sequence of (y, x), got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise ValueError("points must be finite")
    return pts


def _stroke_footprint(shape: tuple[int, int], pts: np.ndarray, radius: float) -> tuple[Bbox, np.ndarray] | None:
    """Pixels within ``radius`` of the polyline ``pts``, as (box, footprint) clipped to shape."""
    height, width = shape
    r2 = float(radius) ** 2 + _EPS
    r = math.sqrt(r2)  # the radius the squared-distance test really uses
    y0 = max(0, math.ceil(pts[:, 0].min() - r))
    y1 = min(height, math.floor(pts[:, 0].max() + r) + 1)
    x0 = max(0, math.ceil(pts[:, 1].min() - r))
    x1 = min(width, math.floor(pts[:, 1].max() + r) + 1)
    if y0 >= y1 or x0 >= x1:
        return None
    footprint = np.zeros((y1 - y0, x1 - x0), bool)
    step = max(_SUBSEGMENT_RADII * r, 8.0)
    # (segment start, segment end, piece start, piece end): a long segment is scanned
    # piece by piece (small boxes), but distances are always to the whole segment, so
    # the result is exactly "within r of the polyline".
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    if len(pts) == 1:
        blocks.append((pts[0], pts[0], pts[0], pts[0]))
    for a, b in zip(pts[:-1], pts[1:]):
        length = float(np.hypot(*(b - a)))
        pieces = max(1, math.ceil(length / step))
        ts = np.linspace(0.0, 1.0, pieces + 1)
        stops = a[None, :] + ts[:, None] * (b - a)[None, :]
        stops[0], stops[-1] = a, b
        blocks.extend((a, b, p, q) for p, q in zip(stops[:-1], stops[1:]))
    for a, b, p, q in blocks:
        sy0 = max(y0, math.ceil(min(p[0], q[0]) - r))
        sy1 = min(y1, math.floor(max(p[0], q[0]) + r) + 1)
        sx0 = max(x0, math.ceil(min(p[1], q[1]) - r))
        sx1 = min(x1, math.floor(max(p[1], q[1]) + r) + 1)
        if sy0 >= sy1 or sx0 >= sx1:
            continue
        yy = np.arange(sy0, sy1, dtype=np.float64)[:, None] - a[0]
        xx = np.arange(sx0, sx1, dtype=np.float64)[None, :] - a[1]
        dy, dx = float(b[0] - a[0]), float(b[1] - a[1])
        seg2 = dy * dy + dx * dx
        if seg2 == 0.0:
            inside = yy * yy + xx * xx <= r2
        else:
            t = np.clip((yy * dy + xx * dx) / seg2, 0.0, 1.0)
            ey = yy - t * dy
            ex = xx - t * dx
            inside = ey * ey + ex * ex <= r2
        footprint[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] |= inside
    return (y0, y1, x0, x1), footprint


def paint_disk(
    mask: np.ndarray,
    cy: float,
    cx: float,
    radius: float,
    value: Any,
    layer: str | None = None,
) -> MaskEdit | None:
    """Set every pixel within ``radius`` of ``(cy, cx)`` to ``value`` (in place).

    Parameters
    ----------
    mask
        2-D bool mask or integer label image, modified in place.
    cy, cx
        Centre (row, column); may be fractional.
    radius
        Radius in pixels (``>= 0``).
    value
        ``True``/``False`` for masks, a label for label images.
    layer
        Optional layer name stored on the edit.

    Returns
    -------
    MaskEdit or None
        The change (box tightened to the changed pixels), ``None`` if nothing changed.
    """
    return paint_stroke(mask, [(cy, cx)], radius, value, layer=layer)


def paint_stroke(
    mask: np.ndarray,
    points: Sequence[Sequence[float]] | np.ndarray,
    radius: float,
    value: Any,
    layer: str | None = None,
) -> MaskEdit | None:
    """Paint a round brush along a polyline (in place).

    Every pixel whose centre lies within ``radius`` of the polyline (the union of
    capsules around its segments, exact, no gaps whatever the spacing of the points)
    is set to ``value``. Only the stroke's bounding box is read or written; long
    segments are evaluated in pieces of about two radii so the work is proportional to
    the painted area, not to the image or the box.

    Parameters
    ----------
    mask
        2-D bool mask or integer label image, modified in place.
    points
        ``(y, x)`` points of the stroke; one point paints a disk.
    radius
        Brush radius in pixels (``>= 0``).
    value
        The value to paint.
    layer
        Optional layer name stored on the edit.

    Returns
    -------
    MaskEdit or None
        The change, ``None`` when nothing changed (outside the image, or already
        painted).
    """
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    radius = float(radius)
    if not math.isfinite(radius) or radius < 0:
        raise ValueError(f"brush radius must be a finite number >= 0, got {radius}")
    pts = _as_points(points)
    found = _stroke_footprint(mask.shape, pts, radius)
    if found is None:
        return None
    box, footprint = found
    return _paint_footprint(mask, box, footprint, value, layer)


class StrokeRecorder:
    """Collects the edits of one stroke and combines them into one undo command.

    Examples
    --------
    >>> rec = StrokeRecorder()
    >>> rec.add(paint_stroke(mask, [p0, p1], 5, True))   # on every mouse move
    >>> stack.push(rec.finish())                         # on mouse release
    """

    def __init__(self) -> None:
        self.edits: list[MaskEdit] = []

    def add(self, edit: MaskEdit | None) -> None:
        """Record one dab's edit (``None`` is ignored)."""
        if edit is not None:
            self.edits.append(edit)

    def revert(self, array: np.ndarray) -> None:
        """Undo everything recorded so far (e.g. a stroke cancelled with Escape)."""
        for edit in reversed(self.edits):
            edit.revert(array)
        self.edits.clear()

    def finish(self) -> MaskEdit | None:
        """The stroke as one edit (``None`` if it changed nothing); clears the recorder."""
        edit = MaskEdit.combine(self.edits)
        self.edits = []
        return edit


# ---------------------------------------------------------------------- polygon


def fill_polygon(
    mask: np.ndarray,
    vertices: Sequence[Sequence[float]] | np.ndarray,
    value: Any,
    layer: str | None = None,
) -> MaskEdit | None:
    """Fill a polygon with the even-odd rule (in place).

    Pixel ``(y, x)`` is inside when a ray from its centre towards +x crosses the
    polygon's edges an odd number of times, with half-open edges (an edge from
    ``ya`` to ``yb`` covers rows ``min <= y < max``; a crossing at ``xi`` counts for
    pixels with ``x >= xi``). So the square with corners ``(0, 0)`` and ``(4, 4)``
    fills exactly rows 0-3 and columns 0-3, and self-intersecting polygons get holes.

    Parameters
    ----------
    mask
        2-D bool mask or label image, modified in place.
    vertices
        ``(y, x)`` vertices, at least 3; the polygon closes itself.
    value
        The value to fill with.
    layer
        Optional layer name stored on the edit.

    Returns
    -------
    MaskEdit or None
        The change, ``None`` when nothing changed.
    """
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    pts = _as_points(vertices)
    if len(pts) < 3:
        raise ValueError(f"a polygon needs at least 3 vertices, got {len(pts)}")
    height, width = mask.shape
    y0 = max(0, math.ceil(pts[:, 0].min()))
    y1 = min(height, math.ceil(pts[:, 0].max()))
    # One column of margin: interpolated crossings may round just outside the vertices.
    x0 = max(0, math.floor(pts[:, 1].min()))
    x1 = min(width, math.ceil(pts[:, 1].max()) + 1)
    if y0 >= y1 or x0 >= x1:
        return None
    ya, xa = pts[:, 0], pts[:, 1]
    yb, xb = np.roll(ya, -1), np.roll(xa, -1)
    keep = ya != yb  # horizontal edges never cross a row
    ya, xa, yb, xb = ya[keep], xa[keep], yb[keep], xb[keep]
    lo, hi = np.minimum(ya, yb), np.maximum(ya, yb)
    dx_edge, dy_edge = xb - xa, yb - ya
    box_w = x1 - x0
    footprint = np.zeros((y1 - y0, box_w), bool)
    rows_per_block = max(1, _POLY_BLOCK // max(1, len(ya)))
    for start in range(y0, y1, rows_per_block):
        stop = min(y1, start + rows_per_block)
        ys = np.arange(start, stop, dtype=np.float64)[:, None]
        crosses = (lo[None, :] <= ys) & (ys < hi[None, :])
        r_idx, e_idx = np.nonzero(crosses)
        if r_idx.size == 0:
            continue
        xi = xa[e_idx] + (ys[r_idx, 0] - ya[e_idx]) * dx_edge[e_idx] / dy_edge[e_idx]
        col = np.clip(np.ceil(xi) - x0, 0, box_w).astype(np.int64)
        toggles = np.bincount(r_idx * (box_w + 1) + col, minlength=(stop - start) * (box_w + 1))
        parity = np.cumsum(toggles.reshape(stop - start, box_w + 1)[:, :box_w], axis=1) & 1
        footprint[start - y0 : stop - y0] = parity.astype(bool)
    return _paint_footprint(mask, (y0, y1, x0, x1), footprint, value, layer)


# ---------------------------------------------------------------------- flood fill


def flood_fill(mask: np.ndarray, y: int, x: int, value: Any, layer: str | None = None) -> MaskEdit | None:
    """Set the 4-connected region of pixels equal to ``mask[y, x]`` to ``value`` (in place).

    Parameters
    ----------
    mask
        2-D bool mask or label image, modified in place.
    y, x
        Seed pixel (row, column).
    value
        The value to fill with.
    layer
        Optional layer name stored on the edit.

    Returns
    -------
    MaskEdit or None
        The change, ``None`` when the seed already has ``value``.

    Raises
    ------
    IndexError
        The seed is outside the array.
    """
    from scipy import ndimage

    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    y, x = int(y), int(x)
    if not (0 <= y < mask.shape[0] and 0 <= x < mask.shape[1]):
        raise IndexError(f"seed ({y}, {x}) is outside the {mask.shape[0]}×{mask.shape[1]} mask")
    seed = mask[y, x]
    if seed == value:
        return None
    structure = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)
    labels, _ = ndimage.label(mask == seed, structure=structure)
    label = int(labels[y, x])
    sl = ndimage.find_objects(labels, max_label=label)[label - 1]
    footprint = labels[sl] == label
    box = (sl[0].start, sl[0].stop, sl[1].start, sl[1].stop)
    return _paint_footprint(mask, box, footprint, value, layer)


# ---------------------------------------------------------------------- checks


def check_visible_inside_amodal(visible: np.ndarray, amodal: np.ndarray) -> int:
    """Number of visible pixels outside the amodal (full-object) mask.

    The visible part of an object must lie inside its amodal mask; a non-zero count
    flags an inconsistent pair (values are read as "non-zero is in").

    Raises
    ------
    ValueError
        The masks have different shapes.
    """
    visible = np.asarray(visible)
    amodal = np.asarray(amodal)
    if visible.shape != amodal.shape:
        raise ValueError(f"mask shapes differ: visible {visible.shape}, amodal {amodal.shape}")
    return int(np.count_nonzero(visible.astype(bool) & ~amodal.astype(bool)))


# ---------------------------------------------------------------------- undo stacks


def _target(target: np.ndarray | Mapping[str, np.ndarray], edit: MaskEdit) -> np.ndarray:
    if isinstance(target, Mapping):
        if edit.layer not in target:
            raise KeyError(f"no array for layer {edit.layer!r} (have {sorted(target)})")
        return target[edit.layer]
    return target


class EditStack:
    """Undo / redo history of one sample, with a clean (saved) marker.

    ``index`` counts the edits currently applied (``0`` = the loaded state); undo and
    redo move it. ``clean_index`` is the index of the saved state, or ``None`` when that
    state can no longer be reached (its edits were dropped by the cap or replaced
    after an undo): then the sample stays dirty until saved again.

    Parameters
    ----------
    cap
        Most edits kept; the oldest are dropped beyond it.
    max_bytes
        Optional memory cap on the edits kept (the newest edit is always kept).
    """

    def __init__(self, cap: int = 100, max_bytes: int | None = None) -> None:
        if cap < 1:
            raise ValueError(f"cap must be >= 1, got {cap}")
        self.cap = int(cap)
        self.max_bytes = max_bytes
        self.edits: list[MaskEdit] = []
        self.index = 0
        self.clean_index: int | None = 0

    def __len__(self) -> int:
        return len(self.edits)

    @property
    def nbytes(self) -> int:
        """Memory held by the stored edits."""
        return sum(e.nbytes for e in self.edits)

    @property
    def can_undo(self) -> bool:
        """Whether there is an edit to undo."""
        return self.index > 0

    @property
    def can_redo(self) -> bool:
        """Whether there is an undone edit to redo."""
        return self.index < len(self.edits)

    @property
    def is_clean(self) -> bool:
        """Whether the current state is the saved one."""
        return self.clean_index == self.index

    def mark_clean(self) -> None:
        """Record the current state as saved."""
        self.clean_index = self.index

    def push(self, edit: MaskEdit | None) -> bool:
        """Record an edit that has already been applied to the array.

        Undone edits after the current position are discarded. Returns whether an
        edit was recorded (``None`` is ignored).
        """
        if edit is None:
            return False
        del self.edits[self.index :]
        if self.clean_index is not None and self.clean_index > self.index:
            self.clean_index = None
        self.edits.append(edit)
        self.index += 1
        self._trim()
        return True

    def _trim(self) -> None:
        def over() -> bool:
            if len(self.edits) > self.cap:
                return True
            return self.max_bytes is not None and len(self.edits) > 1 and self.nbytes > self.max_bytes

        while over():
            self.edits.pop(0)
            self.index -= 1
            if self.clean_index is not None:
                self.clean_index -= 1
                if self.clean_index < 0:
                    self.clean_index = None

    def undo(self, target: np.ndarray | Mapping[str, np.ndarray]) -> MaskEdit | None:
        """Revert the last applied edit on ``target`` (an array, or arrays by layer).

        Returns the edit undone, or ``None`` when there is nothing to undo.
        """
        if not self.can_undo:
            return None
        edit = self.edits[self.index - 1]
        edit.revert(_target(target, edit))
        self.index -= 1
        return edit

    def redo(self, target: np.ndarray | Mapping[str, np.ndarray]) -> MaskEdit | None:
        """Re-apply the next undone edit on ``target``; ``None`` when there is none."""
        if not self.can_redo:
            return None
        edit = self.edits[self.index]
        edit.apply(_target(target, edit))
        self.index += 1
        return edit

    def clear(self) -> None:
        """Forget the history; the current state stays clean only if it was."""
        was_clean = self.is_clean
        self.edits.clear()
        self.index = 0
        self.clean_index = 0 if was_clean else None


@dataclass
class EditStacks:
    """One :class:`EditStack` per sample id, created on demand and kept when switching."""

    cap: int = 100
    max_bytes: int | None = None
    stacks: dict[str, EditStack] = field(default_factory=dict)

    def get(self, sample_id: str) -> EditStack:
        """The stack of ``sample_id`` (created empty and clean on first use)."""
        stack = self.stacks.get(sample_id)
        if stack is None:
            stack = self.stacks[sample_id] = EditStack(self.cap, self.max_bytes)
        return stack

    def dirty_ids(self) -> list[str]:
        """Sample ids with unsaved edits."""
        return [sid for sid, stack in self.stacks.items() if not stack.is_clean]

    def discard(self, sample_id: str) -> None:
        """Forget the history of ``sample_id``."""
        self.stacks.pop(sample_id, None)
