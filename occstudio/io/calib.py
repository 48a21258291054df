"""KITTI-style calibration files (UnScenes3D ``calibs/<stamp>.txt``, formats.md §3).

A calibration file holds one ``KEY: values`` line per matrix, values separated by
spaces, row-major::

    P2: fx 0 cx tx 0 fy cy ty 0 0 1 tz         (3×4, camera-2 projection, rectified)
    R0_rect: r11 r12 ... r33                   (3×3, rectifying rotation)
    Tr_velo_to_cam: ...                        (3×4, LiDAR -> camera 0)
    Tr_velo_to_imu: ...                        (3×4, LiDAR -> IMU / vehicle)

A LiDAR point projects to the image as ``x = P2 · R0_rect · Tr_velo_to_cam · X`` (with
``R0_rect`` and ``Tr_velo_to_cam`` padded to 4×4), pixel ``(u, v) = (x0/x2, x1/x2)``.

Conventions
-----------
* Blank lines and lines starting with ``#`` are skipped. Other keys (``P0``, ``P1``,
  ``P3``, ``Tr_imu_to_velo``...) are kept in :attr:`KittiCalib.extra` when numeric and
  ignored otherwise (KITTI raw files have ``calib_time: 09-Jan-2012 13:57:47``).
* ``P2``, ``R0_rect`` and ``Tr_velo_to_cam`` are required; ``Tr_velo_to_imu`` is
  optional. ``R0_rect`` accepts 9 or 16 values, the ``Tr_*`` matrices 12 or 16 (a 4×4
  whose last row is ``0 0 0 1``).
* The depth returned by :func:`lidar_to_image` is the third homogeneous coordinate of
  ``P2 · R0 · Tr · X``: the z of the point in camera 2's frame (it differs from the
  rectified camera-0 z by ``P2[2, 3]``, millimetres on KITTI rigs).
* Pixel ``(u, v)`` with integer coordinates is the *centre* of a pixel, as in
  :class:`~occstudio.core.geometry.Camera`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.geometry import Camera

#: Keys a calibration file must have, with the shape each is read as.
REQUIRED_KEYS: dict[str, tuple[int, int]] = {"P2": (3, 4), "R0_rect": (3, 3), "Tr_velo_to_cam": (3, 4)}
#: Keys read when present.
OPTIONAL_KEYS: dict[str, tuple[int, int]] = {"Tr_velo_to_imu": (3, 4)}


@dataclass
class KittiCalib:
    """The matrices of a KITTI-style calibration file.

    Attributes
    ----------
    P2
        3×4 projection matrix of the (rectified) camera 2.
    R0_rect
        3×3 rectifying rotation.
    Tr_velo_to_cam
        3×4 rigid transform from the LiDAR to camera 0.
    Tr_velo_to_imu
        3×4 rigid transform from the LiDAR to the IMU / vehicle, or ``None``.
    extra
        Other numeric entries, flat float64 arrays keyed by name.
    path
        The file read (``None`` when parsed from text).
    """

    P2: np.ndarray
    R0_rect: np.ndarray
    Tr_velo_to_cam: np.ndarray
    Tr_velo_to_imu: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None

    @property
    def T_cam_from_velo(self) -> np.ndarray:
        """4×4 transform from LiDAR to the rectified camera frame: ``R0_rect · Tr_velo_to_cam``."""
        return pad44(self.R0_rect) @ pad44(self.Tr_velo_to_cam)

    @property
    def lidar_to_image_matrix(self) -> np.ndarray:
        """3×4 ``P2 · R0_rect · Tr_velo_to_cam``: homogeneous LiDAR point -> homogeneous pixel."""
        return self.P2 @ self.T_cam_from_velo

    @property
    def T_imu_from_velo(self) -> np.ndarray | None:
        """4×4 ``Tr_velo_to_imu`` (``None`` when the file has none)."""
        return None if self.Tr_velo_to_imu is None else pad44(self.Tr_velo_to_imu)


def pad44(matrix: np.ndarray) -> np.ndarray:
    """A 3×3 or 3×4 matrix padded to a 4×4 homogeneous transform (4×4 returned as is)."""
    matrix = np.asarray(matrix, dtype=float)
    out = np.eye(4)
    rows, cols = matrix.shape
    out[:rows, :cols] = matrix
    return out


def _as_matrix(values: np.ndarray, shape: tuple[int, int], key: str, where: str, path: Path | None) -> np.ndarray:
    rows, cols = shape
    n = values.size
    if n == rows * cols:
        return values.reshape(shape)
    if n == 16 and rows == 3:
        full = values.reshape(4, 4)
        if not np.allclose(full[3], [0.0, 0.0, 0.0, 1.0]):
            raise DataError(path, f"{where}: {key} is 4×4 but its last row is not 0 0 0 1")
        return full[:3, :cols]
    raise DataError(path, f"{where}: {key} has {n} values, expected {rows * cols} ({rows}×{cols})")


def parse_calib(text: str, path: str | Path | None = None) -> KittiCalib:
    """Parse the text of a KITTI-style calibration file.

    Parameters
    ----------
    text
        The file's content.
    path
        The file, for error messages.

    Returns
    -------
    KittiCalib

    Raises
    ------
    DataError
        A line without ``KEY:``, a required matrix missing, with non-numeric or
        non-finite values, or with the wrong number of values; the message names the
        file and the line.
    """
    path = Path(path) if path is not None else None
    found: dict[str, tuple[np.ndarray, str]] = {}
    extra: dict[str, np.ndarray] = {}
    wanted = {**REQUIRED_KEYS, **OPTIONAL_KEYS}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"line {number}"
        key, sep, rest = line.partition(":")
        key = key.strip()
        if not sep or not key or " " in key:
            raise DataError(path, f"{where}: expected 'KEY: values', got {raw.strip()[:60]!r}")
        try:
            values = np.array([float(v) for v in rest.split()], dtype=float)
        except ValueError:
            if key in wanted:
                raise DataError(path, f"{where}: {key} has non-numeric values") from None
            continue  # e.g. calib_time: 09-Jan-2012 13:57:47
        if key in wanted:
            if not np.all(np.isfinite(values)):
                raise DataError(path, f"{where}: {key} has non-finite values (NaN or inf)")
            if key in found:
                raise DataError(path, f"{where}: {key} appears twice (first at {found[key][1]})")
            found[key] = (_as_matrix(values, wanted[key], key, where, path), where)
        else:
            extra[key] = values
    missing = [k for k in REQUIRED_KEYS if k not in found]
    if missing:
        raise DataError(path, f"missing calibration key(s) {', '.join(missing)} (found: {', '.join(found) or 'none'})")
    imu = found.get("Tr_velo_to_imu")
    return KittiCalib(
        P2=found["P2"][0],
        R0_rect=found["R0_rect"][0],
        Tr_velo_to_cam=found["Tr_velo_to_cam"][0],
        Tr_velo_to_imu=None if imu is None else imu[0],
        extra=extra,
        path=path,
    )


def read_calib(path: str | Path) -> KittiCalib:
    """Read a KITTI-style calibration file (see :func:`parse_calib`).

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        The file cannot be read as text or is malformed (the message names the line).
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(path, "calibration file")
    if path.is_dir():
        raise DataError(path, "is a folder, not a calibration file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(path, "is not a text file") from None
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror or exc})") from None
    return parse_calib(text, path)


def format_calib(calib: KittiCalib) -> str:
    """The text of a calibration file for ``calib`` (the inverse of :func:`parse_calib`)."""
    entries: list[tuple[str, np.ndarray]] = [
        ("P2", calib.P2),
        ("R0_rect", calib.R0_rect),
        ("Tr_velo_to_cam", calib.Tr_velo_to_cam),
    ]
    if calib.Tr_velo_to_imu is not None:
        entries.append(("Tr_velo_to_imu", calib.Tr_velo_to_imu))
    entries.extend(calib.extra.items())
    lines = [f"{key}: " + " ".join(f"{float(v):.12e}" for v in np.asarray(m).ravel()) for key, m in entries]
    return "\n".join(lines) + "\n"


def lidar_to_image(points: np.ndarray, calib: KittiCalib) -> tuple[np.ndarray, np.ndarray]:
    """Project LiDAR points into the camera-2 image: ``P2 · R0_rect · Tr_velo_to_cam · X``.

    Parameters
    ----------
    points
        ``(N, 3)`` or ``(N, ≥3)`` LiDAR points (extra columns such as intensity ignored).
    calib
        The calibration.

    Returns
    -------
    uv, depth
        ``(N, 2)`` float64 pixel coordinates and ``(N,)`` depth (z in camera 2's frame).
        Points with ``depth <= 0`` (behind the camera) get ``uv = NaN``.
    """
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points must be (N, 3) or wider, got shape {pts.shape}")
    proj = calib.lidar_to_image_matrix
    homo = pts[:, :3] @ proj[:, :3].T + proj[:, 3]
    depth = homo[:, 2].copy()
    uv = np.full((len(pts), 2), np.nan)
    front = depth > 0
    uv[front] = homo[front, :2] / depth[front, None]
    return uv, depth


def calib_camera(calib: KittiCalib, width: int, height: int) -> Camera:
    """The camera-2 pinhole as a :class:`~occstudio.core.geometry.Camera` in the LiDAR frame.

    ``P2 = K · [I | b]`` with ``K = P2[:, :3]`` (upper triangular for KITTI rigs) and
    ``b = K⁻¹ · P2[:, 3]``; the camera's world is the LiDAR frame (the frame of the
    UnScenes3D occupancy grid), so ``Camera.project`` agrees with :func:`lidar_to_image`.

    Raises
    ------
    DataError
        ``P2``'s left 3×3 block is singular.
    """
    K = np.asarray(calib.P2[:, :3], dtype=float)
    try:
        b = np.linalg.solve(K, calib.P2[:, 3])
    except np.linalg.LinAlgError:
        raise DataError(calib.path, "P2's left 3×3 block is singular (not a pinhole projection)") from None
    T = np.eye(4)
    T[:3, 3] = b
    return Camera(K=K, T_cam_from_world=T @ calib.T_cam_from_velo, width=width, height=height)
