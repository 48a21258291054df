"""Linked 2D↔3D: a pixel of a camera image as a ray through the voxels, and a voxel as
a point in every camera image.

Qt-free; the GUI runs :func:`cast_pixel` in a background job and adds the meshes of
:func:`ray_meshes` to the 3D view, and marks the points of :func:`project_to_cameras` in
the camera panes. The *world* is the frame the 3D view shows (the one the cameras of
:mod:`occstudio.builtins.camera_views` are expressed in).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyvista as pv

from occstudio.builtins.occupancy_view import occgen_sequence
from occstudio.core.compute.occupancy import traverse_rays
from occstudio.core.dataset import Dataset, SampleCache
from occstudio.core.geometry import Camera, GridSpec
from occstudio.core.labels import OCC3D, OCCGEN, UNSCENES3D, LabelSet
from occstudio.core.sample import Sample


@dataclass
class SampleGrid:
    """A sample's occupancy as the linked views need it.

    Attributes
    ----------
    labels
        uint8 ``grid.shape`` classes (OccGen: 1 occupied, 0 free).
    occupied
        bool ``grid.shape``: voxels a ray stops at.
    grid
        The grid (world = the 3D view's frame).
    labelset
        The classes' names and colours.
    """

    labels: np.ndarray
    occupied: np.ndarray
    grid: GridSpec
    labelset: LabelSet


@dataclass
class RayCast:
    """A camera pixel cast through a sample's voxels (see :func:`cast_pixel`).

    Attributes
    ----------
    camera_name
        The camera clicked.
    pixel
        ``(u, v)`` image coordinates.
    origin, direction
        The ray in the world (``direction`` unit length).
    path
        int64 ``(M, 3)`` indices of the voxels the ray passes through before it stops,
        nearest first (the hit voxel last when there is one).
    hit
        ``(3,)`` index of the first occupied voxel, or ``None``.
    hit_label
        Its class (``None`` without a hit).
    hit_distance
        Distance from the camera to where the ray enters the hit voxel (``inf`` without).
    end
        Where the drawn ray ends: the hit point, or where it leaves the grid.
    meshes
        What the 3D view draws (:func:`ray_meshes`).
    description
        One line for the status bar (:func:`describe_cast`).
    """

    camera_name: str
    pixel: tuple[float, float]
    origin: np.ndarray
    direction: np.ndarray
    path: np.ndarray
    hit: tuple[int, int, int] | None
    hit_label: int | None
    hit_distance: float
    end: np.ndarray
    meshes: dict[str, pv.PolyData] = field(default_factory=dict)
    description: str = ""


def default_grid(dataset: Dataset) -> GridSpec | None:
    """The voxel grid of a dataset's samples (its ``meta["grid"]`` or the format's)."""
    grid = dataset.meta.get("grid")
    if isinstance(grid, GridSpec):
        return grid
    return {"occ3d": GridSpec.occ3d, "unscenes3d": GridSpec.unscenes, "occgen": GridSpec.occgen}.get(
        dataset.format, lambda: None)()


def sample_grid(dataset: Dataset, sample: Sample, cache: SampleCache | None = None) -> SampleGrid | None:
    """The occupancy of ``sample`` on its grid (``None`` for formats without voxels).

    Parameters
    ----------
    dataset, sample
        An Occ3D, UnScenes3D or OccGen dataset and one of its samples.
    cache
        Optional cache (the grid is kept under ``("sample_grid", root, id)``).

    Raises
    ------
    OccStudioError
        The sample's occupancy file cannot be read.
    """
    key = ("sample_grid", str(dataset.root), sample.id)
    if cache is not None and (hit := cache.get(key)) is not None:
        return hit
    result: SampleGrid | None = None
    if dataset.format == "occ3d":
        from occstudio.io.occ3d import load_sample_arrays

        arrays = load_sample_arrays(sample)
        labels = arrays.get("semantics")
        if labels is None and (p := sample.path("prediction")) is not None:
            from occstudio.io.occ3d import read_prediction_npz

            labels = read_prediction_npz(p)
        if labels is not None:
            labels = np.asarray(labels, np.uint8)
            occupied = ~np.isin(labels, (*OCC3D.free_ids, *OCC3D.ignore_ids, 255))
            result = SampleGrid(labels, occupied, GridSpec.occ3d(), OCC3D)
    elif dataset.format == "unscenes3d":
        from occstudio.io.unscenes import load_sample_arrays

        occ = load_sample_arrays(sample, ("occ",)).get("occ")
        if occ is not None:
            occupied = ~np.isin(occ, (*UNSCENES3D.free_ids, *UNSCENES3D.ignore_ids, 255))
            result = SampleGrid(np.asarray(occ, np.uint8), occupied, default_grid(dataset), UNSCENES3D)
    elif dataset.format == "occgen":
        seq = occgen_sequence(dataset, cache)
        if seq is not None:
            frame = int(sample.meta.get("index", dataset.index_of(sample.id)))
            if frame < seq.n_frames:
                grid = default_grid(dataset)
                occupied = np.zeros(grid.shape, bool)
                occupied.reshape(-1)[seq.frame(frame)] = True
                result = SampleGrid(occupied.astype(np.uint8), occupied, grid, OCCGEN)
    if result is not None and cache is not None:
        cache.put(key, result)
    return result


def pixel_ray(camera: Camera, u: float, v: float) -> tuple[np.ndarray, np.ndarray]:
    """The world ray through pixel ``(u, v)``: origin (the camera centre) and unit direction."""
    pose = np.linalg.inv(np.asarray(camera.T_cam_from_world, float))  # any similarity
    d_cam = np.linalg.solve(camera.K, np.array([u, v, 1.0]))
    direction = pose[:3, :3] @ d_cam
    return pose[:3, 3].copy(), direction / np.linalg.norm(direction)


def cast_pixel(camera: Camera, u: float, v: float, occupancy: SampleGrid, camera_name: str = "") -> RayCast:
    """Walk the ray of pixel ``(u, v)`` through the voxels until the first occupied one.

    Parameters
    ----------
    camera
        The camera (world = the occupancy grid's frame).
    u, v
        Image coordinates (pixel centres at integers).
    occupancy
        The sample's grid (:func:`sample_grid`).
    camera_name
        Kept in the result for messages.

    Returns
    -------
    RayCast
        With ``meshes`` and ``description``.
    """
    grid = occupancy.grid
    origin, direction = pixel_ray(camera, u, v)
    # walk only the box of voxels the ray's segment inside the grid can touch: one click
    # must not copy a whole 400³ grid
    lo, hi = _segment_box(grid, origin, direction)
    visited = np.zeros((0, 3), np.int64)
    hit = None
    label = None
    distance = float("inf")
    if lo is not None:
        sub = GridSpec(shape=tuple(int(n) for n in hi - lo), voxel_size=grid.voxel_size,
                       origin=tuple(np.asarray(grid.origin) + lo * np.asarray(grid.voxel_size)))
        box = occupancy.occupied[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        trav = traverse_rays(sub, origin, direction[None], box, backend="numpy")
        visited = np.argwhere(trav.visited) + lo
        distance = float(trav.hit_t[0])
        if trav.first_hit[0] >= 0:
            hit = tuple(int(i) + int(o) for i, o in zip(np.unravel_index(int(trav.first_hit[0]), sub.shape), lo))
            visited = visited[(visited != np.asarray(hit)).any(axis=1)]
    centres = grid.index_to_center(visited)
    order = np.argsort((centres - origin) @ direction, kind="stable")
    path = visited[order]
    if hit is not None:
        path = np.vstack([path, np.asarray(hit)[None]]).astype(np.int64)
        label = int(occupancy.labels[hit])
        end = origin + direction * distance
    else:
        extent = float(np.linalg.norm(grid.range_max - grid.range_min))
        far = float(((centres - origin) @ direction).max()) if len(centres) else extent
        end = origin + direction * far
    cast = RayCast(camera_name, (float(u), float(v)), origin, direction, path, hit, label, distance, end)
    cast.meshes = ray_meshes(cast, grid)
    cast.description = describe_cast(cast, occupancy.labelset)
    return cast


def _segment_box(grid: GridSpec, origin: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """Index bounds ``[lo, hi)`` of the voxels the ray (from ``origin``, ``t >= 0``) can
    cross inside ``grid``, padded by one voxel; ``(None, _)`` when it misses the grid."""
    lo_w, hi_w = np.asarray(grid.range_min, float), np.asarray(grid.range_max, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (lo_w - origin) / direction
        t2 = (hi_w - origin) / direction
    inside = (origin >= lo_w) & (origin <= hi_w)
    t_near = np.where(direction == 0, np.where(inside, -np.inf, np.inf), np.minimum(t1, t2))
    t_far = np.where(direction == 0, np.where(inside, np.inf, -np.inf), np.maximum(t1, t2))
    t0, t_end = max(float(t_near.max()), 0.0), float(t_far.min())
    if not t0 <= t_end:
        return None, np.zeros(3, np.int64)
    ends = np.stack([origin + direction * t0, origin + direction * t_end])
    ijk = grid.point_to_index(ends)
    shape = np.asarray(grid.shape)
    lo = np.clip(ijk.min(axis=0) - 1, 0, shape)
    hi = np.clip(ijk.max(axis=0) + 2, 0, shape)
    if (hi <= lo).any():
        return None, hi
    return lo, hi


def _boxes(indices: np.ndarray, grid: GridSpec) -> pv.PolyData:
    """Cube outlines (12 edges each) of the voxels ``indices``."""
    corners = np.array(list(np.ndindex(2, 2, 2)), float)  # (8, 3) unit cube corners
    edges = [(a, b) for a in range(8) for b in range(a + 1, 8) if np.abs(corners[a] - corners[b]).sum() == 1]
    pts = (np.asarray(indices, float)[:, None, :] + corners[None]) * np.asarray(grid.voxel_size) + np.asarray(grid.origin)
    lines = np.array([[2, 8 * k + a, 8 * k + b] for k in range(len(indices)) for a, b in edges], np.int64)
    return pv.PolyData(pts.reshape(-1, 3).astype(np.float32), lines=lines.reshape(-1) if len(lines) else None)


def ray_meshes(cast: RayCast, grid: GridSpec) -> dict[str, pv.PolyData]:
    """What the 3D view draws for a cast: ``line`` (camera to hit / exit), ``path`` (outlines
    of the voxels passed) and ``hit`` (the first occupied voxel as a solid box)."""
    meshes = {"line": pv.lines_from_points(np.stack([cast.origin, cast.end]).astype(np.float32))}
    passed = cast.path[:-1] if cast.hit is not None else cast.path
    if len(passed):
        meshes["path"] = _boxes(passed, grid)
    if cast.hit is not None:
        lo = grid.index_to_center(np.asarray([cast.hit]))[0] - np.asarray(grid.voxel_size) / 2
        hi = lo + np.asarray(grid.voxel_size)
        meshes["hit"] = pv.Box(bounds=(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]))
    return meshes


def project_to_cameras(point: np.ndarray, cameras: dict[str, Camera]) -> dict[str, tuple[float, float] | None]:
    """Where a world point lands in each camera image (``None``: behind or outside it)."""
    out: dict[str, tuple[float, float] | None] = {}
    for name, camera in cameras.items():
        uv, depth = camera.project(np.asarray(point, float).reshape(1, 3))
        inside = depth[0] > 0 and bool(camera.in_image(uv)[0])
        out[name] = (float(uv[0, 0]), float(uv[0, 1])) if inside else None
    return out


def describe_cast(cast: RayCast, labelset: LabelSet | None = None) -> str:
    """One status-bar line about a cast."""
    where = f"{cast.camera_name} ({cast.pixel[0]:.0f}, {cast.pixel[1]:.0f})"
    n = len(cast.path) - (1 if cast.hit is not None else 0)
    if cast.hit is None:
        return f"Ray from {where}: {n} free voxels, no occupied voxel hit"
    name = labelset.name_of(cast.hit_label) if labelset is not None else f"class {cast.hit_label}"
    x, y, z = cast.end
    return (f"Ray from {where}: {n} free voxels, then {name} at voxel {cast.hit} "
            f"({x:.2f}, {y:.2f}, {z:.2f}), {cast.hit_distance:.2f} from the camera")


__all__ = ["RayCast", "SampleGrid", "cast_pixel", "default_grid", "describe_cast", "pixel_ray", "project_to_cameras",
           "ray_meshes", "sample_grid"]
