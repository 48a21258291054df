"""Projecting 3D points into camera images and drawing them as 2D overlays (Qt-free).

The camera panes show LiDAR points and occupied voxel centres over each camera image,
coloured by depth, and depth / elevation maps with a colormap and a value readout. The
arithmetic lives here so it can be tested without a display:

* :func:`project_points` projects world points with a :class:`~occstudio.core.geometry.Camera`
  and keeps those in front of the camera and inside the image;
* :func:`depth_colors` / :func:`colorize_map` map metres to colours (near = red, far = blue);
* :func:`splat_points` draws coloured points into a transparent RGBA layer;
* :func:`voxel_centres` lists the centres of the occupied voxels of a dense label grid;
* :func:`readout` formats the value of a depth / elevation map under the cursor.

Pixel ``(u, v)`` with integer coordinates is the *centre* of a pixel (as in
:class:`~occstudio.core.geometry.Camera`), so a projected point lands on pixel
``(round(u), round(v))``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from occstudio.core.geometry import Camera, GridSpec

# Control points of the depth ramp (near -> far: red, yellow, green, cyan, blue).
_DEPTH_STOPS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
_DEPTH_RGB = np.array(
    [(220, 30, 30), (245, 220, 30), (40, 200, 60), (0, 190, 230), (48, 18, 200)], dtype=float
)


def project_points(
    camera: Camera,
    points_world: np.ndarray,
    min_depth: float = 0.0,
    max_depth: float = np.inf,
    return_index: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project world points and keep those that land in the image in front of the camera.

    Parameters
    ----------
    camera
        The pinhole camera (its ``width`` and ``height`` bound the image).
    points_world
        ``(N, ≥3)`` points in the camera's world frame (extra columns are ignored);
        non-finite points are dropped.
    min_depth, max_depth
        Points are kept when ``min_depth < depth < max_depth`` (camera z, metres).
    return_index
        Also return the indices (into ``points_world``) of the kept points.

    Returns
    -------
    uv, depth[, index]
        float64 ``(M, 2)`` pixel coordinates inside
        ``[-0.5, width-0.5) × [-0.5, height-0.5)``, float64 ``(M,)`` depths (> 0), and
        with ``return_index`` the int64 ``(M,)`` indices of those points.
    """
    pts = np.asarray(points_world, dtype=float)
    if pts.ndim != 2 or pts.shape[1] < 3:
        if pts.size == 0:
            pts = pts.reshape(0, 3)
        else:
            raise ValueError(f"points must be (N, 3) or wider, got shape {pts.shape}")
    pts = pts[:, :3]
    uv, depth = camera.project(pts)
    with np.errstate(invalid="ignore"):
        keep = (
            np.isfinite(depth)
            & (depth > max(0.0, float(min_depth)))
            & (depth < float(max_depth))
            & camera.in_image(uv)
        )
    index = np.flatnonzero(keep).astype(np.int64)
    if return_index:
        return uv[index], depth[index], index
    return uv[index], depth[index]


def depth_colors(depth: np.ndarray, near: float | None = None, far: float | None = None) -> np.ndarray:
    """Colour depths with a red (near) to blue (far) ramp.

    Parameters
    ----------
    depth
        Depths, any shape.
    near, far
        The depths at the two ends of the ramp (default: the 2nd and 98th percentile
        of the finite depths); values outside are clipped.

    Returns
    -------
    numpy.ndarray
        uint8 ``depth.shape + (3,)`` RGB; non-finite depths get the far colour.
    """
    d = np.asarray(depth, dtype=float)
    out = np.empty(d.shape + (3,), np.uint8)
    if d.size == 0:
        return out
    finite = d[np.isfinite(d)]
    if near is None:
        near = float(np.percentile(finite, 2)) if finite.size else 0.0
    if far is None:
        far = float(np.percentile(finite, 98)) if finite.size else 1.0
    span = float(far) - float(near)
    with np.errstate(invalid="ignore"):
        t = np.zeros_like(d) if span <= 0 else np.clip((d - float(near)) / span, 0.0, 1.0)
    t = np.nan_to_num(t, nan=1.0)
    for c in range(3):
        out[..., c] = np.rint(np.interp(t, _DEPTH_STOPS, _DEPTH_RGB[:, c]))
    return out


def colorize_map(
    values: np.ndarray,
    vmin: float | None = None,
    vmax: float | None = None,
    reverse: bool = False,
) -> np.ndarray:
    """A depth or elevation map as an RGBA picture: 0 / non-finite pixels are transparent.

    Parameters
    ----------
    values
        float ``(H, W)`` map (metres; 0 = empty).
    vmin, vmax
        The range of the ramp (default: the 2nd and 98th percentile of the valid pixels).
    reverse
        ``False``: low = red, high = blue (depth: near is red). ``True``: low = blue,
        high = red (elevation: high is red).

    Returns
    -------
    numpy.ndarray
        uint8 ``(H, W, 4)``.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 2:
        raise ValueError(f"a map must be 2-D, got shape {v.shape}")
    valid = np.isfinite(v) & (v != 0)
    out = np.zeros(v.shape + (4,), np.uint8)
    if not valid.any():
        return out
    vals = v[valid]
    lo = float(np.percentile(vals, 2)) if vmin is None else float(vmin)
    hi = float(np.percentile(vals, 98)) if vmax is None else float(vmax)
    if reverse:
        rgb = depth_colors(-vals, -hi, -lo)
    else:
        rgb = depth_colors(vals, lo, hi)
    out[valid, :3] = rgb
    out[valid, 3] = 255
    return out


def splat_points(
    image_shape: tuple[int, ...],
    uv: np.ndarray,
    colors: np.ndarray,
    radius: int = 1,
    depth: np.ndarray | None = None,
) -> np.ndarray:
    """Draw points as small opaque squares into a transparent RGBA layer.

    Parameters
    ----------
    image_shape
        ``(H, W[, ...])`` of the image the layer goes over.
    uv
        ``(N, 2)`` pixel coordinates; a point covers the pixels within ``radius`` of
        ``(round(u), round(v))`` (a ``(2·radius+1)²`` square); parts outside are clipped.
    colors
        ``(N, 3)`` or ``(N, 4)`` uint8 colours, or one colour for all points.
    radius
        Half-size of the square in pixels (0: one pixel per point).
    depth
        Optional ``(N,)`` depths: nearer points are drawn over farther ones.

    Returns
    -------
    numpy.ndarray
        uint8 ``(H, W, 4)``: the points' colours with alpha 255 (or their own alpha),
        zero elsewhere.
    """
    h, w = int(image_shape[0]), int(image_shape[1])
    layer = np.zeros((h, w, 4), np.uint8)
    uv = np.asarray(uv, dtype=float).reshape(-1, 2)
    if len(uv) == 0 or h == 0 or w == 0:
        return layer
    cols = np.asarray(colors)
    if cols.ndim == 1:
        cols = np.broadcast_to(cols, (len(uv), cols.shape[0]))
    if cols.shape[0] != len(uv) or cols.shape[1] not in (3, 4):
        raise ValueError(f"colors must be (N, 3) or (N, 4) for {len(uv)} points, got {cols.shape}")
    rgba = np.empty((len(uv), 4), np.uint8)
    rgba[:, :3] = cols[:, :3]
    rgba[:, 3] = cols[:, 3] if cols.shape[1] == 4 else 255
    ok = np.isfinite(uv).all(axis=1)
    col = np.rint(uv[ok, 0]).astype(np.int64)
    row = np.rint(uv[ok, 1]).astype(np.int64)
    rgba = rgba[ok]
    if depth is not None:
        order = np.argsort(-np.asarray(depth, dtype=float).reshape(-1)[ok], kind="stable")
        col, row, rgba = col[order], row[order], rgba[order]
    r = max(0, int(radius))
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            rr, cc = row + dy, col + dx
            inside = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            # numpy fancy assignment keeps the last write: the nearest point wins
            layer[rr[inside], cc[inside]] = rgba[inside]
    return layer


def voxel_centres(labels: np.ndarray, grid: GridSpec, free_ids: Iterable[int] = ()) -> np.ndarray:
    """Centres of the occupied voxels of a dense label grid.

    Parameters
    ----------
    labels
        Integer array of ``grid.shape``.
    grid
        The grid the labels live on.
    free_ids
        Labels that are not occupied (free space, ignore / unknown such as 255).

    Returns
    -------
    numpy.ndarray
        float64 ``(N, 3)`` centres in the grid's frame, in C order of the voxels.
    """
    arr = np.asarray(labels)
    if arr.shape != tuple(grid.shape):
        raise ValueError(f"labels have shape {arr.shape}, the grid is {tuple(grid.shape)}")
    occupied = ~np.isin(arr, np.asarray(list(free_ids), dtype=np.int64))
    return grid.index_to_center(np.argwhere(occupied))


def readout(depth_map: np.ndarray | None, x: float, y: float, unit: str = "m") -> str:
    """The text shown for the map value under the cursor.

    Parameters
    ----------
    depth_map
        float ``(H, W)`` map (metres, 0 = empty), or ``None``.
    x, y
        Image coordinates of the cursor (pixel ``(i, j)`` spans ``[i-0.5, i+0.5)``).
    unit
        Unit written after the value.

    Returns
    -------
    str
        ``"x 12, y 34: 5.67 m"``, ``"x 12, y 34: empty"`` for 0, ``"… no value"`` for
        a non-finite value, or ``""`` when the cursor is outside the map (or no map).
    """
    if depth_map is None or not (np.isfinite(x) and np.isfinite(y)):
        return ""
    col, row = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
    h, w = np.shape(depth_map)[:2]
    if not (0 <= row < h and 0 <= col < w):
        return ""
    value = float(depth_map[row, col])
    where = f"x {col}, y {row}"
    if not np.isfinite(value):
        return f"{where}: no value"
    if value == 0:
        return f"{where}: empty"
    return f"{where}: {value:.2f} {unit}"
