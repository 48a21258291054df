"""Voxel grids as surface meshes: only the exposed faces, with per-class show/hide.

:func:`exposed_faces` (numpy only) finds, for each of the six directions, the faces
between an occupied voxel and a non-occupied neighbour or the grid border, with one
vectorised pass per direction (no Python loop over voxels). A 200×200×16 Occ3D frame
becomes ~10^5 quads instead of the 6 faces per voxel of a cube glyph.

:func:`voxel_surface` turns them into a :class:`pyvista.PolyData` whose cells carry
``label``, ``voxel_id`` (flat C-order index) and ``rgba`` (uint8, from the label set).
:func:`sparse_voxel_surface` builds the same mesh from flat voxel indices (OccGen
frames: ~10^4 voxels in a 400³ grid) without a dense array; :func:`apply_palette`
recolours a mesh in place.

Show/hide per class without rebuilding
--------------------------------------
By default the surface also holds the faces *between voxels of different classes*
(``class_boundaries=True``; both sides, each coloured by its own voxel). Those faces are
inside the solid and invisible while every class is shown, but when a class is hidden
the neighbouring class's face is already there, so no hole opens. To hide classes, call
:func:`apply_class_visibility`: it edits the mesh's arrays *in place* and marks them
modified, so the view only re-renders (no new mesh, no new actor):

* ``mode="collapse"`` (default): hidden quads get all four corners on one point (zero
  area, nothing is rasterised or picked); the original corners are kept in the cell
  array ``corners`` and restored when the class is shown again. The actor stays on
  VTK's opaque path, so occlusion stays exact and rendering fast.
* ``mode="alpha"``: sets the alpha of hidden cells' ``rgba`` to 0. Any alpha < 255 puts
  the actor on VTK's translucent path: enable depth peeling in the plotter, or faces
  may be drawn in the wrong order. Use it when a consumer needs the full connectivity.

(VTK's ``vtkGhostType`` ``HIDDENCELL`` bit would be the natural tool, but VTK 9.7's
surface mappers draw hidden polygon cells anyway — measured — so it is not used.)

The view adds the mesh once with ``plotter.add_mesh(poly, scalars="rgba", rgb=True)``
and calls ``apply_class_visibility(poly, hidden)`` + ``plotter.render()`` on toggles.
:func:`class_visibility_mask` gives the per-cell boolean for other uses
(e.g. ``poly.extract_cells(np.flatnonzero(mask))`` for an export of the visible part).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pyvista as pv
from vtkmodules.util.numpy_support import vtk_to_numpy

from occstudio.core.geometry import GridSpec
from occstudio.core.labels import OCCGEN, LabelSet, height_colormap

# Corner offsets of a face in the (u, v) plane of axis a, u = (a+1)%3, v = (a+2)%3:
# counter-clockwise seen from +a, so (e_u × e_v) = +e_a is the outward normal.
_POS_UV = np.array([(0, 0), (1, 0), (1, 1), (0, 1)])
_NEG_UV = _POS_UV[::-1]


def _face_templates() -> np.ndarray:
    """Integer corner offsets ``(6, 4, 3)`` of the faces -x, +x, -y, +y, -z, +z."""
    out = np.zeros((6, 4, 3), dtype=np.int64)
    for a in range(3):
        u, v = (a + 1) % 3, (a + 2) % 3
        for s, uv in ((0, _NEG_UV), (1, _POS_UV)):
            d = 2 * a + s
            out[d, :, a] = s  # the face lies at i (negative side) or i+1 (positive side)
            out[d, :, u] = uv[:, 0]
            out[d, :, v] = uv[:, 1]
    return out


_TEMPLATES = _face_templates()


def _occupied(labels: np.ndarray, visible: np.ndarray | None, free_ids: Sequence[int]) -> np.ndarray:
    """Boolean grid of drawn voxels (not free, inside ``visible``)."""
    if labels.dtype in (np.uint8, np.uint16):
        lut = np.ones(int(np.iinfo(labels.dtype).max) + 1, dtype=bool)
        ids = [int(f) for f in free_ids if 0 <= int(f) < len(lut)]
        lut[ids] = False
        occ = lut[labels]  # a table lookup beats np.isin on small integer labels
    elif len(free_ids):
        occ = ~np.isin(labels, list(free_ids))
    else:
        occ = np.ones(labels.shape, dtype=bool)
    if visible is not None:
        visible = np.asarray(visible)
        if visible.shape != labels.shape:
            raise ValueError(f"visible mask {visible.shape} and labels {labels.shape} differ in shape")
        occ &= visible.astype(bool, copy=False)
    return occ


def _exposed(
    labels: np.ndarray,
    visible: np.ndarray | None,
    free_ids: Sequence[int],
    class_boundaries: bool,
) -> list[np.ndarray]:
    """Flat C-order indices of the voxels with an exposed face, one array per direction
    (-x, +x, -y, +y, -z, +z)."""
    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise ValueError(f"labels must be a 3-D (X, Y, Z) array, got shape {labels.shape}")
    occ = _occupied(labels, visible, free_ids)
    out: list[np.ndarray] = []
    for a in range(3):
        for positive in (False, True):
            cur = [slice(None)] * 3
            nb = [slice(None)] * 3
            cur[a], nb[a] = (slice(None, -1), slice(1, None)) if positive else (slice(1, None), slice(None, -1))
            cur_t, nb_t = tuple(cur), tuple(nb)
            exposed = occ.copy()  # faces on the grid border are exposed
            inner = ~occ[nb_t]
            if class_boundaries:
                inner |= labels[nb_t] != labels[cur_t]
            exposed[cur_t] &= inner
            out.append(np.flatnonzero(exposed))
    return out


def _unravel32(flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.stack(np.unravel_index(flat, shape), axis=1).astype(np.int32)


def exposed_faces(
    labels: np.ndarray,
    grid: GridSpec,
    visible: np.ndarray | None = None,
    free_ids: Sequence[int] = (17,),
    class_boundaries: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exposed faces of the occupied voxels of a label grid.

    Parameters
    ----------
    labels
        Integer ``(X, Y, Z)`` labels.
    grid
        Where the grid lies in the world (its shape should match ``labels``).
    visible
        Optional boolean ``(X, Y, Z)``; voxels outside it count as empty.
    free_ids
        Labels that are empty space.
    class_boundaries
        Also emit faces between occupied voxels of different labels (one per side),
        so hiding a class later leaves no hole. ``False``: the surface of the union.

    Returns
    -------
    quads_vertices, quad_labels, quad_voxel_index
        float32 ``(F, 4, 3)`` world coordinates of each quad's corners in
        counter-clockwise order seen from outside (outward normals), the label of the
        voxel each quad belongs to ``(F,)``, and that voxel's flat C-order index ``(F,)``.
    """
    labels = np.asarray(labels)
    if tuple(labels.shape) != tuple(grid.shape):
        raise ValueError(f"labels {labels.shape} do not match the grid {grid.shape}")
    per_dir = _exposed(labels, visible, free_ids, class_boundaries)
    size = np.asarray(grid.voxel_size, dtype=np.float64)
    origin = np.asarray(grid.origin, dtype=np.float64)
    verts = []
    for d, flat in enumerate(per_dir):
        ijk = _unravel32(flat, labels.shape)
        corners = ijk[:, None, :] + _TEMPLATES[d].astype(np.int32)[None]
        verts.append((corners * size + origin).astype(np.float32))
    voxel = np.concatenate(per_dir).astype(np.int64)
    return np.concatenate(verts), labels.reshape(-1)[voxel], voxel


#: Lattices up to this many corners are de-duplicated with a lookup table, larger ones
#: (e.g. OccGen's 401³) with a sort.
_LUT_LATTICE_MAX = 1 << 24


def _shared_corners(per_dir: list[np.ndarray], grid: GridSpec) -> tuple[np.ndarray, np.ndarray]:
    """De-duplicated corner points (float32 ``(P, 3)``) and quads ``(F, 4)`` of point ids."""
    nx, ny, nz = grid.shape
    dims = (nx + 1, ny + 1, nz + 1)
    stride = np.array([dims[1] * dims[2], dims[2], 1], dtype=np.int64)
    keys = []
    for d, flat in enumerate(per_dir):
        i, rem = np.divmod(flat, ny * nz)
        j, k = np.divmod(rem, nz)
        base = i * stride[0] + j * stride[1] + k
        offsets = _TEMPLATES[d] @ stride  # lattice-key offsets of the 4 corners
        keys.append(base[:, None] + offsets[None, :])
    key = np.concatenate(keys)
    n_lattice = dims[0] * dims[1] * dims[2]
    if n_lattice <= _LUT_LATTICE_MAX:
        used = np.zeros(n_lattice, dtype=bool)
        used[key.reshape(-1)] = True
        unique = np.flatnonzero(used)
        remap = np.empty(n_lattice, dtype=np.int64)
        remap[unique] = np.arange(len(unique))
        faces = remap[key]
    else:
        unique, inverse = np.unique(key.reshape(-1), return_inverse=True)
        faces = inverse.reshape(key.shape)
    corner = np.stack(np.unravel_index(unique, dims), axis=1)
    points = grid.corner_to_world(corner).astype(np.float32)
    return points, faces


def voxel_surface(
    labels: np.ndarray,
    grid: GridSpec,
    labelset: LabelSet,
    visible: np.ndarray | None = None,
    free_ids: Sequence[int] | None = None,
    class_boundaries: bool = True,
    hidden_classes: Iterable[int] = (),
) -> pv.PolyData:
    """A quad mesh of the exposed voxel faces, coloured by class.

    Parameters
    ----------
    labels, grid, visible
        As for :func:`exposed_faces`.
    labelset
        Colours (``rgba`` cell array) come from ``labelset.lut()``.
    free_ids
        Labels not drawn; default: the label set's free and ignore ids.
    class_boundaries
        Keep faces between classes (default) so :func:`apply_class_visibility` can
        hide classes without holes. ``False`` gives the smallest mesh.
    hidden_classes
        Classes hidden from the start (see :func:`apply_class_visibility`).

    Returns
    -------
    pyvista.PolyData
        Shared corner points, one quad per face; cell arrays ``label`` (int32),
        ``voxel_id`` (int64), ``rgba`` (uint8 ``(F, 4)``) and ``corners`` (int64
        ``(F, 4)``, each quad's point ids, used to restore hidden quads); field array
        ``label_lut`` (``(256, 4)`` uint8, the palette used). A mesh without faces (no
        occupied voxel) has only ``label`` and ``voxel_id``: check ``n_cells`` before
        adding it with ``scalars="rgba"``.
    """
    labels = np.asarray(labels)
    if free_ids is None:
        free_ids = tuple(labelset.free_ids) + tuple(labelset.ignore_ids)
    if tuple(labels.shape) != tuple(grid.shape):
        raise ValueError(f"labels {labels.shape} do not match the grid {grid.shape}")
    per_dir = _exposed(labels, visible, free_ids, class_boundaries)
    voxel = np.concatenate(per_dir).astype(np.int64)
    quad_labels = labels.reshape(-1)[voxel].astype(np.int32)
    return _build_surface(per_dir, voxel, quad_labels, grid, labelset, None, hidden_classes)


def _build_surface(
    per_dir: list[np.ndarray],
    voxel: np.ndarray,
    quad_labels: np.ndarray,
    grid: GridSpec,
    labelset: LabelSet,
    rgba: np.ndarray | None,
    hidden_classes: Iterable[int],
) -> pv.PolyData:
    """The PolyData of exposed faces given per direction as flat voxel indices."""
    n_faces = len(voxel)
    if n_faces:
        points, faces = _shared_corners(per_dir, grid)
        poly = pv.PolyData.from_regular_faces(points, faces)
    else:
        poly = pv.PolyData()
    lut_size = max(256, int(quad_labels.max()) + 1 if n_faces else 0)
    lut = labelset.lut(lut_size)
    poly.cell_data["label"] = quad_labels
    poly.cell_data["voxel_id"] = voxel
    poly.field_data["label_lut"] = lut
    if not n_faces:
        return poly  # pyvista refuses (0, 4) arrays: an empty mesh has no rgba / corners
    poly.cell_data["rgba"] = lut[quad_labels] if rgba is None else rgba
    # a separate copy: the cell array may share memory with `faces`
    poly.cell_data["corners"] = faces.copy()
    poly.cell_data.active_scalars_name = "rgba"
    hidden = list(hidden_classes)
    if hidden:
        apply_class_visibility(poly, hidden)
    return poly


def _exposed_sparse(
    flat: np.ndarray, voxel_labels: np.ndarray | None, shape: tuple[int, int, int], class_boundaries: bool
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per direction: flat indices of voxels with an exposed face, and their positions
    in ``flat`` (which must be sorted and unique)."""
    n = len(flat)
    strides = (shape[1] * shape[2], shape[2], 1)
    coords = np.unravel_index(flat, shape)
    out_flat: list[np.ndarray] = []
    out_pos: list[np.ndarray] = []
    for a in range(3):
        for positive in (False, True):
            step = strides[a] if positive else -strides[a]
            border = coords[a] == (shape[a] - 1 if positive else 0)
            nb = flat + step
            pos = np.searchsorted(flat, nb)
            pos_c = np.minimum(pos, n - 1)
            present = (pos < n) & (flat[pos_c] == nb) & ~border
            if class_boundaries and voxel_labels is not None:
                present &= voxel_labels[pos_c] == voxel_labels
            sel = np.flatnonzero(~present)
            out_pos.append(sel)
            out_flat.append(flat[sel])
    return out_flat, out_pos


def sparse_voxel_surface(
    flat_indices: np.ndarray,
    grid: GridSpec,
    labels: np.ndarray | None = None,
    labelset: LabelSet = OCCGEN,
    color_by_height: bool = True,
    class_boundaries: bool = True,
) -> pv.PolyData:
    """The exposed-face mesh of voxels given as flat C-order indices (no dense grid).

    Made for OccGen frames (~10^4 voxels in a 400³ grid, where a dense array would be
    64 MB per frame). Same arrays and show/hide support as :func:`voxel_surface`.

    Parameters
    ----------
    flat_indices
        Flat C-order indices into ``grid`` (duplicates are merged).
    grid
        The grid the indices refer to.
    labels
        Optional label per index (default: 1 = occupied).
    labelset
        Palette for ``label`` colours (OccGen's by default).
    color_by_height
        Colour faces by their voxel's centre height (z) with
        :func:`~occstudio.core.labels.height_colormap` instead of by class.
    class_boundaries
        Keep faces between voxels of different labels.
    """
    flat = np.asarray(flat_indices, dtype=np.int64).reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= grid.n_voxels):
        raise ValueError(f"voxel indices must lie in 0..{grid.n_voxels - 1}")
    if labels is None:
        flat = np.unique(flat)
        vlab = np.ones(len(flat), dtype=np.int32)
    else:
        lab = np.asarray(labels).reshape(-1)
        if lab.shape != np.asarray(flat_indices).reshape(-1).shape:
            raise ValueError("labels must have one entry per index")
        flat, first = np.unique(flat, return_index=True)
        vlab = lab[first].astype(np.int32)
    per_dir, per_pos = _exposed_sparse(flat, vlab, grid.shape, class_boundaries)
    voxel = np.concatenate(per_dir) if per_dir else np.zeros(0, np.int64)
    quad_labels = vlab[np.concatenate(per_pos)] if per_pos else np.zeros(0, np.int32)
    rgba = None
    if color_by_height and len(voxel):
        z = grid.flat_to_center(voxel)[:, 2]
        lo, hi = grid.range_min[2], grid.range_max[2]
        if len(flat):
            zs = grid.flat_to_center(flat)[:, 2]
            lo, hi = float(zs.min()), float(zs.max())
        rgba = height_colormap(z, lo, hi)
    return _build_surface(per_dir, voxel.astype(np.int64), quad_labels, grid, labelset, rgba, ())


def class_visibility_mask(poly: pv.PolyData, hidden_classes: Iterable[int]) -> np.ndarray:
    """Boolean per cell: ``True`` where the cell's ``label`` is not in ``hidden_classes``."""
    labels = np.asarray(poly.cell_data["label"])
    hidden = np.fromiter((int(c) for c in hidden_classes), dtype=np.int64)
    if hidden.size == 0:
        return np.ones(labels.shape, dtype=bool)
    return ~np.isin(labels, hidden)


def _mark_modified(poly: pv.PolyData, name: str) -> None:
    arr = poly.GetCellData().GetArray(name)
    if arr is not None:
        arr.Modified()
    poly.Modified()


def _connectivity(poly: pv.PolyData) -> np.ndarray:
    """A writable numpy view of the quads' connectivity (``(F, 4)``)."""
    polys = poly.GetPolys()
    conn = vtk_to_numpy(polys.GetConnectivityArray())
    n = poly.n_cells
    if conn.size != 4 * n or (n and not np.array_equal(vtk_to_numpy(polys.GetOffsetsArray())[-1:], [4 * n])):
        raise ValueError("apply_class_visibility needs a quad mesh made by voxel_surface")
    return conn.reshape(n, 4)


def apply_class_visibility(
    poly: pv.PolyData,
    hidden_classes: Iterable[int],
    mode: Literal["collapse", "alpha"] = "collapse",
) -> np.ndarray:
    """Hide the cells of ``hidden_classes`` (and show all others), in place.

    Parameters
    ----------
    poly
        A mesh from :func:`voxel_surface`.
    hidden_classes
        Labels to hide; an empty list shows everything.
    mode
        ``"collapse"``: hidden quads collapse to a point (zero area), visible quads get
        their corners back; ``rgba`` keeps the palette alpha. ``"alpha"``: hidden cells
        get ``rgba`` alpha 0, visible ones the palette alpha; all quads keep their corners.

    Returns
    -------
    numpy.ndarray
        The per-cell visibility mask that was applied.
    """
    if mode not in ("collapse", "alpha"):
        raise ValueError(f"mode must be 'collapse' or 'alpha', got {mode!r}")
    visible = class_visibility_mask(poly, hidden_classes)
    if poly.n_cells == 0:
        return visible
    labels = np.asarray(poly.cell_data["label"])
    lut = np.asarray(poly.field_data["label_lut"]).reshape(-1, 4) if "label_lut" in poly.field_data else None
    base_alpha = lut[labels, 3] if lut is not None else np.full(len(labels), 255, dtype=np.uint8)
    rgba = poly.cell_data["rgba"]
    corners = np.asarray(poly.cell_data["corners"])
    conn = _connectivity(poly)
    if mode == "collapse":
        new = corners.copy()
        new[~visible] = corners[~visible, :1]
        rgba[:, 3] = base_alpha
    else:
        new = corners
        rgba[:, 3] = np.where(visible, base_alpha, 0)
    conn[:] = new
    polys = poly.GetPolys()
    polys.GetConnectivityArray().Modified()
    polys.Modified()
    _mark_modified(poly, "rgba")
    return visible


def apply_palette(poly: pv.PolyData, labelset: LabelSet) -> None:
    """Recolour a :func:`voxel_surface` mesh in place with another label set's colours
    (cells hidden with ``mode="alpha"`` stay hidden)."""
    labels = np.asarray(poly.cell_data["label"])
    size = max(256, int(labels.max()) + 1 if labels.size else 0)
    lut = labelset.lut(size)
    rgba = poly.cell_data["rgba"]
    hidden_by_alpha = np.asarray(rgba)[:, 3] == 0
    rgba[:] = lut[labels]
    rgba[hidden_by_alpha, 3] = 0
    poly.field_data["label_lut"] = lut
    _mark_modified(poly, "rgba")
