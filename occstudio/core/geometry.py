"""Voxel grids and pinhole cameras: index <-> world conversion, projection.

Conventions
-----------
* A :class:`GridSpec` is axis-aligned. ``origin`` is the *corner* of voxel ``(0, 0, 0)``
  (the range minimum), so voxel ``i`` spans ``[origin + i*size, origin + (i+1)*size)`` and
  its centre is ``origin + (i + 0.5) * size``. Arrays are indexed ``[x, y, z]`` and flat
  indices are C order (``np.ravel_multi_index``), as in Occ3D, OccGen and UnScenes3D.
* A :class:`Camera` uses OpenCV axes (x right, y down, z forward); pixel ``(u, v)`` with
  integer coordinates is the *centre* of a pixel. ``T_cam_from_world`` maps homogeneous
  world points to camera coordinates. OpenGL-axis poses (x right, y up, z backward, as
  in OccGen's ``action``) convert with :data:`OPENGL_TO_OPENCV`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Right-multiply an OpenGL-axes camera-to-world pose by this to get OpenCV axes.
OPENGL_TO_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])


def _triple(value: float | Sequence[float], what: str) -> tuple[float, float, float]:
    arr = np.broadcast_to(np.asarray(value, dtype=float), (3,))
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return (float(arr[0]), float(arr[1]), float(arr[2]))


@dataclass(frozen=True)
class GridSpec:
    """An axis-aligned voxel grid.

    Parameters
    ----------
    origin
        World coordinates of the grid's minimum corner (the range minimum).
    voxel_size
        Edge length of a voxel, one number or one per axis.
    shape
        Number of voxels along x, y, z.
    """

    origin: tuple[float, float, float]
    voxel_size: tuple[float, float, float]
    shape: tuple[int, int, int]

    def __post_init__(self) -> None:
        object.__setattr__(self, "origin", _triple(self.origin, "origin"))
        size = _triple(self.voxel_size, "voxel_size")
        if min(size) <= 0:
            raise ValueError(f"voxel_size must be positive, got {self.voxel_size!r}")
        object.__setattr__(self, "voxel_size", size)
        shape = tuple(int(s) for s in np.broadcast_to(np.asarray(self.shape), (3,)))
        if min(shape) <= 0:
            raise ValueError(f"shape must be positive, got {self.shape!r}")
        object.__setattr__(self, "shape", shape)

    # construction -----------------------------------------------------------------
    @classmethod
    def from_range(cls, point_range: Sequence[float], voxel_size: float | Sequence[float]) -> GridSpec:
        """A grid covering ``[xmin, ymin, zmin, xmax, ymax, zmax]`` with the given voxel size.

        The shape is ``round((max - min) / voxel_size)`` per axis.
        """
        rng = np.asarray(point_range, dtype=float).reshape(6)
        size = np.asarray(_triple(voxel_size, "voxel_size"))
        shape = np.rint((rng[3:] - rng[:3]) / size).astype(int)
        return cls(origin=tuple(rng[:3]), voxel_size=tuple(size), shape=tuple(shape))

    @classmethod
    def occ3d(cls) -> GridSpec:
        """Occ3D-nuScenes: 200×200×16 voxels of 0.4 m over [-40, -40, -1, 40, 40, 5.4]."""
        return cls(origin=(-40.0, -40.0, -1.0), voxel_size=0.4, shape=(200, 200, 16))

    @classmethod
    def occgen(cls) -> GridSpec:
        """OccGen / L3ROcc: 400³ voxels of 0.02 over [-4, -2, -4, 4, 2, 4] (camera frame).

        The configured range spans 8 × 4 × 8 units, i.e. 400 × 200 × 400 voxels of 0.02;
        the published ``occ_sequence.npz`` nevertheless stores 400³ = 64,000,000 columns,
        so the grid is 400³ with the configured minimum corner.
        """
        return cls(origin=(-4.0, -2.0, -4.0), voxel_size=0.02, shape=(400, 400, 400))

    @classmethod
    def unscenes(cls) -> GridSpec:
        """UnScenes3D: 256×256×32 voxels of 0.3 m over [0, -38.4, -4, 76.8, 38.4, 5.6]."""
        return cls(origin=(0.0, -38.4, -4.0), voxel_size=0.3, shape=(256, 256, 32))

    # properties ---------------------------------------------------------------------
    @property
    def n_voxels(self) -> int:
        """Total number of voxels."""
        return int(np.prod(self.shape))

    @property
    def range_min(self) -> np.ndarray:
        """The minimum corner (same as ``origin``), float64 (3,)."""
        return np.array(self.origin)

    @property
    def range_max(self) -> np.ndarray:
        """The maximum corner ``origin + shape * voxel_size``, float64 (3,)."""
        return np.array(self.origin) + np.array(self.shape) * np.array(self.voxel_size)

    @property
    def point_range(self) -> tuple[float, ...]:
        """``(xmin, ymin, zmin, xmax, ymax, zmax)``."""
        return (*self.origin, *(float(v) for v in self.range_max))

    # conversions --------------------------------------------------------------------
    def index_to_center(self, ijk: np.ndarray) -> np.ndarray:
        """Centres (float64 ``(N, 3)``) of voxels given as integer ``(N, 3)`` indices."""
        ijk = np.asarray(ijk)
        return (ijk + 0.5) * np.asarray(self.voxel_size) + np.asarray(self.origin)

    def flat_to_center(self, flat: np.ndarray) -> np.ndarray:
        """Centres (float64 ``(N, 3)``) of voxels given as flat C-order indices."""
        return self.index_to_center(self.unravel(flat))

    def point_to_index(self, points: np.ndarray) -> np.ndarray:
        """Integer ``(N, 3)`` index of the voxel containing each point (may be outside)."""
        points = np.asarray(points, dtype=float)
        return np.floor((points - np.asarray(self.origin)) / np.asarray(self.voxel_size)).astype(np.int64)

    def corner_to_world(self, corners: np.ndarray) -> np.ndarray:
        """World coordinates of integer lattice corners (``origin + corner * size``)."""
        return np.asarray(corners) * np.asarray(self.voxel_size) + np.asarray(self.origin)

    def contains_index(self, ijk: np.ndarray) -> np.ndarray:
        """Boolean ``(N,)``: whether each ``(N, 3)`` index lies inside the grid."""
        ijk = np.asarray(ijk)
        return np.all((ijk >= 0) & (ijk < np.asarray(self.shape)), axis=-1)

    def ravel(self, ijk: np.ndarray) -> np.ndarray:
        """Flat C-order indices (int64) of in-grid ``(N, 3)`` indices."""
        ijk = np.asarray(ijk, dtype=np.int64).reshape(-1, 3)
        return np.ravel_multi_index((ijk[:, 0], ijk[:, 1], ijk[:, 2]), self.shape)

    def unravel(self, flat: np.ndarray) -> np.ndarray:
        """``(N, 3)`` int64 indices of flat C-order indices."""
        flat = np.asarray(flat, dtype=np.int64).reshape(-1)
        return np.stack(np.unravel_index(flat, self.shape), axis=1).astype(np.int64)

    def axis_centers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Voxel-centre coordinates along x, y and z (three 1-D float64 arrays)."""
        return tuple(  # type: ignore[return-value]
            (np.arange(n) + 0.5) * s + o for n, s, o in zip(self.shape, self.voxel_size, self.origin)
        )


def pose_from_quaternion(translation: Sequence[float], rotation_wxyz: Sequence[float]) -> np.ndarray:
    """A 4×4 rigid transform from a translation and a unit quaternion ``(w, x, y, z)``.

    nuScenes and Occ3D's ``annotations.json`` store rotations in this order.
    """
    t = np.asarray(translation, dtype=float).reshape(3)
    q = np.asarray(rotation_wxyz, dtype=float).reshape(4)
    norm = np.linalg.norm(q)
    if not np.isfinite(norm) or norm == 0:
        raise ValueError(f"invalid quaternion {list(rotation_wxyz)!r}")
    w, x, y, z = q / norm
    rot = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    pose = np.eye(4)
    pose[:3, :3] = rot
    pose[:3, 3] = t
    return pose


def invert_rigid(transform: np.ndarray) -> np.ndarray:
    """Inverse of a 4×4 rigid (or similarity) transform, computed stably."""
    transform = np.asarray(transform, dtype=float)
    return np.linalg.inv(transform)


@dataclass
class Camera:
    """A pinhole camera with OpenCV axes.

    Attributes
    ----------
    K
        3×3 intrinsic matrix.
    T_cam_from_world
        4×4 transform from world to camera coordinates.
    width, height
        Image size in pixels.
    """

    K: np.ndarray
    T_cam_from_world: np.ndarray
    width: int
    height: int

    def __post_init__(self) -> None:
        self.K = np.asarray(self.K, dtype=float).reshape(3, 3)
        self.T_cam_from_world = np.asarray(self.T_cam_from_world, dtype=float).reshape(4, 4)
        self.width, self.height = int(self.width), int(self.height)

    @classmethod
    def from_pose(cls, K: np.ndarray, T_world_from_cam: np.ndarray, width: int, height: int) -> Camera:
        """A camera from its camera-to-world pose (OpenCV axes)."""
        return cls(K, invert_rigid(T_world_from_cam), width, height)

    @property
    def T_world_from_cam(self) -> np.ndarray:
        """The camera-to-world pose (4×4)."""
        return invert_rigid(self.T_cam_from_world)

    @property
    def center(self) -> np.ndarray:
        """The camera centre in world coordinates (3,)."""
        return self.T_world_from_cam[:3, 3].copy()

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points ``(N, 3)`` in camera coordinates ``(N, 3)``."""
        points = np.asarray(points, dtype=float).reshape(-1, 3)
        return points @ self.T_cam_from_world[:3, :3].T + self.T_cam_from_world[:3, 3]

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project world points into the image.

        Parameters
        ----------
        points
            ``(N, 3)`` world coordinates.

        Returns
        -------
        uv, depth
            ``(N, 2)`` pixel coordinates and ``(N,)`` depth (camera z). Points with
            ``depth <= 0`` (behind the camera) get ``uv = NaN``.
        """
        cam = self.world_to_camera(points)
        depth = cam[:, 2].copy()
        pix = cam @ self.K.T
        uv = np.full((len(cam), 2), np.nan)
        front = depth > 0
        uv[front] = pix[front, :2] / depth[front, None]
        return uv, depth

    def unproject(self, uv: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """World points at ``depth`` (camera z, not ray length) along pixels ``uv``.

        Parameters
        ----------
        uv
            ``(N, 2)`` pixel coordinates.
        depth
            ``(N,)`` depths (or a scalar).

        Returns
        -------
        numpy.ndarray
            ``(N, 3)`` world coordinates.
        """
        uv = np.asarray(uv, dtype=float).reshape(-1, 2)
        depth = np.broadcast_to(np.asarray(depth, dtype=float), (len(uv),))
        homo = np.concatenate([uv, np.ones((len(uv), 1))], axis=1)
        rays = np.linalg.solve(self.K, homo.T).T
        cam = rays * depth[:, None]
        pose = self.T_world_from_cam
        return cam @ pose[:3, :3].T + pose[:3, 3]

    def in_image(self, uv: np.ndarray) -> np.ndarray:
        """Boolean ``(N,)``: pixel coordinates inside ``[-0.5, width-0.5) × [-0.5, height-0.5)``."""
        uv = np.asarray(uv, dtype=float).reshape(-1, 2)
        with np.errstate(invalid="ignore"):
            return (
                (uv[:, 0] >= -0.5)
                & (uv[:, 0] < self.width - 0.5)
                & (uv[:, 1] >= -0.5)
                & (uv[:, 1] < self.height - 0.5)
            )
