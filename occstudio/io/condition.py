"""Reconstruction inputs as depth frames: Pi3-style ``condition.npz``, OccGen trajectories,
LiDAR sweep lists.

``condition.npz`` (the depth/camera conditions Pi3X-style pipelines pass beside the
images) holds ``intrinsics`` (N×3×3, or one 3×3 shared by all frames), ``poses``
(N×4×4 camera-to-world, OpenCV axes) and ``depths`` (N×H×W metres; 0 = no depth). A
leading batch axis of 1 (``1×N×…``, as the L3ROcc code builds them) is accepted. Colour
frames, when present, are ``rgb/<i>.png`` (or ``.jpg``) beside the file, ``i`` counting
from 0.

An OccGen trajectory gives one frame per parquet row: depth from
``observation.images.depth/<i>.png`` (uint16, stored value / ``depth_scale`` = metres,
10000 by default), intrinsics ``observation.camera_intrinsic`` and the pose
``action @ diag(1, -1, -1, 1)`` (``meta["pose_cv"]``, formats.md §4).

A LiDAR sweep list is a JSON file: a list (or ``{"sweeps": [...]}``) of
``{"path": "<sweep>.bin|.npy", "pose": 4×4 sensor-to-world}``, paths relative to the
JSON file's folder.

Frames are loaded lazily (:class:`~occstudio.core.compute.reconstruction.DepthFrame`
holds loaders), so a long sequence never sits in memory at once.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from occstudio.core.compute.reconstruction import DepthFrame
from occstudio.core.errors import DataError, MissingFileError
from occstudio.io.files import read_points
from occstudio.io.images import read_image
from occstudio.io.jsonio import read_json
from occstudio.io.npz import open_npz, read_member
from occstudio.io.occgen import open_trajectory, read_depth_png, trajectory_root

#: Stored units per metre of OccGen depth PNGs.
DEFAULT_DEPTH_SCALE = 10000.0

_RGB_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class ConditionData:
    """The arrays of a ``condition.npz``.

    Attributes
    ----------
    intrinsics
        float64 ``(N, 3, 3)``.
    poses
        float64 ``(N, 4, 4)`` camera-to-world, OpenCV axes.
    depths
        float32 ``(N, H, W)`` metres (0 = no depth).
    rgb_paths
        ``rgb/<i>.png`` per frame (``None`` where absent).
    path
        The file read.
    """

    intrinsics: np.ndarray
    poses: np.ndarray
    depths: np.ndarray
    rgb_paths: list[Path | None] = field(default_factory=list)
    path: Path | None = None

    def __len__(self) -> int:
        return int(self.depths.shape[0])


def is_condition_file(path: str | Path) -> bool:
    """Whether ``path`` is an ``.npz`` holding ``depths`` and ``poses`` (never raises)."""
    try:
        path = Path(path)
        if not (path.is_file() and path.suffix.lower() == ".npz"):
            return False
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
        return {"depths.npy", "poses.npy"} <= names
    except (zipfile.BadZipFile, OSError):
        return False


def _squeeze_batch(arr: np.ndarray, ndim: int) -> np.ndarray:
    if arr.ndim == ndim + 1 and arr.shape[0] == 1:
        return arr[0]
    return arr


def read_condition(path: str | Path) -> ConditionData:
    """Read a Pi3-style ``condition.npz``.

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        Not an ``.npz``, a missing key, inconsistent frame counts or shapes, or
        non-finite cameras.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(path, "is a folder, not a condition.npz file")
    data = open_npz(path)
    with data:
        missing = [k for k in ("intrinsics", "poses", "depths") if k not in data.files]
        if missing:
            raise DataError(path, f"missing key(s) {', '.join(missing)} (found: {', '.join(data.files) or 'none'})")
        K, poses, depths = (read_member(data, path, k) for k in ("intrinsics", "poses", "depths"))
    for name, arr in (("intrinsics", K), ("poses", poses), ("depths", depths)):
        if arr.dtype.kind not in "fiu":
            raise DataError(path, f"{name!r} must be numeric, got dtype {arr.dtype}")
    depths = _squeeze_batch(depths, 3)
    poses = _squeeze_batch(poses, 3)
    K = _squeeze_batch(K, 3)
    if depths.ndim == 2:
        depths = depths[None]
    if depths.ndim != 3:
        raise DataError(path, f"'depths' must be N×H×W, got shape {depths.shape}")
    n = depths.shape[0]
    if poses.shape == (4, 4):
        poses = poses[None]
    if poses.shape != (n, 4, 4):
        raise DataError(path, f"'poses' must be {n}×4×4 (one per depth map), got shape {poses.shape}")
    if K.shape == (3, 3):
        K = np.broadcast_to(K, (n, 3, 3))
    if K.shape != (n, 3, 3):
        raise DataError(path, f"'intrinsics' must be {n}×3×3 or 3×3, got shape {K.shape}")
    K = np.array(K, dtype=np.float64)
    poses = np.array(poses, dtype=np.float64)
    if not (np.all(np.isfinite(K)) and np.all(np.isfinite(poses))):
        raise DataError(path, "'intrinsics' or 'poses' hold non-finite values")
    if np.any(np.abs(np.linalg.det(K)) < 1e-12):
        raise DataError(path, "'intrinsics' holds a singular matrix")
    rgb_dir = path.parent / "rgb"
    rgb_paths: list[Path | None] = []
    for i in range(n):
        found = None
        for suffix in _RGB_SUFFIXES:
            cand = rgb_dir / f"{i}{suffix}"
            if cand.is_file():
                found = cand
                break
        rgb_paths.append(found)
    return ConditionData(K, poses, depths.astype(np.float32, copy=False), rgb_paths, path)


def _rgb_loader(path: Path) -> Any:
    def load() -> np.ndarray:
        return read_image(path)[:, :, :3]

    return load


def condition_frames(path: str | Path, rgb: bool = True) -> list[DepthFrame]:
    """The frames of a ``condition.npz``, with colours from ``rgb/<i>.png`` when every
    frame has one (and ``rgb`` is true)."""
    cond = read_condition(path)
    frames = []
    have_all = rgb and all(p is not None for p in cond.rgb_paths)
    for i in range(len(cond)):
        colour = _rgb_loader(cond.rgb_paths[i]) if have_all else None  # type: ignore[arg-type]
        frames.append(DepthFrame(K=cond.intrinsics[i], pose=cond.poses[i], depth=cond.depths[i], rgb=colour, id=str(i)))
    return frames


def _depth_loader(path: Path, scale: float) -> Any:
    def load() -> np.ndarray:
        return read_depth_png(path, scale=scale)

    return load


def trajectory_frames(
    path: str | Path, depth_scale: float = DEFAULT_DEPTH_SCALE, rgb: bool = True
) -> tuple[list[DepthFrame], list[str]]:
    """The depth frames of an OccGen trajectory.

    Parameters
    ----------
    path
        The trajectory folder.
    depth_scale
        Stored depth units per metre (10000 for OccGen).
    rgb
        Attach the colour frames (only when every used frame has one).

    Returns
    -------
    frames, warnings
        One frame per parquet row that has a depth image (rows without one are listed
        in the warnings, with the loader's own warnings).

    Raises
    ------
    DataError
        Not a trajectory, or no frame has a depth image.
    """
    if not depth_scale > 0:
        raise DataError(None, f"depth scale must be positive, got {depth_scale}")
    dataset = open_trajectory(path)
    warnings = list(dataset.warnings)
    usable = []
    for sample in dataset.samples:
        if sample.path("depth") is None:
            warnings.append(f"{sample.id}: no depth image; skipped")
            continue
        usable.append(sample)
    if not usable:
        raise DataError(Path(path), "no depth images (videos/chunk-*/observation.images.depth/<i>.png)")
    with_rgb = rgb and all(s.path("rgb") is not None for s in usable)
    frames = [
        DepthFrame(
            K=s.meta["intrinsic"],
            pose=s.meta["pose_cv"],
            depth=_depth_loader(s.path("depth"), depth_scale),  # type: ignore[arg-type]
            rgb=_rgb_loader(s.path("rgb")) if with_rgb else None,  # type: ignore[arg-type]
            id=s.id,
        )
        for s in usable
    ]
    return frames, warnings


def read_lidar_sweeps(path: str | Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """Read a LiDAR sweep list (JSON) and its sweeps.

    Returns
    -------
    list
        ``(points, pose)`` pairs: ``(N, ≥3)`` float32 sensor-frame points and the 4×4
        sensor-to-world pose.

    Raises
    ------
    DataError
        Malformed JSON, entries without ``path``/``pose``, a bad pose, or an unreadable
        sweep.
    """
    path = Path(path)
    doc = read_json(path)
    entries = doc.get("sweeps") if isinstance(doc, dict) else doc
    if not isinstance(entries, list) or not entries:
        raise DataError(path, "expected a non-empty list of {\"path\": ..., \"pose\": 4×4} (or {\"sweeps\": [...]})")
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "path" not in entry or "pose" not in entry:
            raise DataError(path, f"sweep {i}: expected an object with 'path' and 'pose'")
        try:
            pose = np.asarray(entry["pose"], dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(path, f"sweep {i}: 'pose' is not a 4×4 matrix of numbers") from None
        if pose.shape != (4, 4) or not np.all(np.isfinite(pose)):
            raise DataError(path, f"sweep {i}: 'pose' must be a finite 4×4 matrix, got shape {pose.shape}")
        sweep = Path(str(entry["path"]))
        if not sweep.is_absolute():
            sweep = path.parent / sweep
        out.append((read_points(sweep), pose))
    return out


def open_depth_frames(
    path: str | Path, depth_scale: float = DEFAULT_DEPTH_SCALE, rgb: bool = True
) -> tuple[list[DepthFrame], list[str]]:
    """Depth frames from an OccGen trajectory folder or a ``condition.npz``.

    Returns
    -------
    frames, warnings

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    DataError
        Neither a trajectory nor a condition file.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(path, "file or folder")
    if trajectory_root(path) is not None:
        return trajectory_frames(path, depth_scale=depth_scale, rgb=rgb)
    if path.suffix.lower() == ".npz":
        return condition_frames(path, rgb=rgb), []
    raise DataError(path, "not an OccGen trajectory folder or a condition.npz")
