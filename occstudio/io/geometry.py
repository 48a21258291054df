"""Read any supported geometry file (mesh or point cloud) as :class:`MeshData`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from occstudio.core.errors import DataError, MissingFileError
from occstudio.io.files import read_points_checked
from occstudio.io.meshes import MeshData, read_mesh

MESH_SUFFIXES = (".ply", ".obj", ".glb", ".gltf")
POINT_SUFFIXES = (".npy", ".bin")


def load_geometry(path: str | Path) -> MeshData:
    """A mesh (.ply/.obj/.glb/.gltf) or point cloud (.npy/.bin) as :class:`MeshData`.

    Point clouds have ``faces=None``; non-finite points are dropped.

    Raises
    ------
    MissingFileError, DataError
        The file is missing, of an unknown kind, or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path)
    suffix = path.suffix.lower()
    if suffix in MESH_SUFFIXES:
        return read_mesh(path)
    if suffix in POINT_SUFFIXES:
        points, _ = read_points_checked(path)
        return MeshData(vertices=np.ascontiguousarray(points[:, :3], dtype=np.float64), faces=None)
    raise DataError(path, f"unsupported geometry file type {suffix!r} (expected {', '.join(MESH_SUFFIXES + POINT_SUFFIXES)})")
