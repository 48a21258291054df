"""Mesh and point data (:class:`~occstudio.io.meshes.MeshData`, arrays) → pyvista datasets."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from occstudio.io.meshes import MeshData


def mesh_to_polydata(mesh: MeshData) -> pv.PolyData:
    """Convert a :class:`MeshData` to ``pv.PolyData``.

    Vertex colours become a point array ``"rgb"`` (uint8, N×3 or N×4) so that
    ``add_mesh(..., scalars="rgb", rgb=True)`` shows them.
    """
    points = np.asarray(mesh.vertices, dtype=np.float32)
    if mesh.faces is not None and len(mesh.faces):
        faces = np.asarray(mesh.faces, dtype=np.int64)
        cells = np.hstack([np.full((len(faces), 1), 3, dtype=np.int64), faces]).ravel()
        poly = pv.PolyData(points, cells)
    else:
        poly = pv.PolyData(points)  # a point cloud: one vertex cell per point
    if mesh.vertex_colors is not None:
        poly.point_data["rgb"] = np.ascontiguousarray(mesh.vertex_colors, dtype=np.uint8)
    if mesh.vertex_normals is not None:
        poly.point_data["Normals"] = np.asarray(mesh.vertex_normals, dtype=np.float32)
    return poly


def points_to_polydata(points: np.ndarray, colors: np.ndarray | None = None) -> pv.PolyData:
    """A point cloud (N×3, extra columns ignored) as ``pv.PolyData`` with optional ``rgb``."""
    poly = pv.PolyData(np.ascontiguousarray(np.asarray(points)[:, :3], dtype=np.float32))
    if colors is not None:
        poly.point_data["rgb"] = np.ascontiguousarray(colors, dtype=np.uint8)
    return poly
