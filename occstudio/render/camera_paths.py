"""Camera paths for video export: orbit (turntable), fixed, interpolated keyframes, and a
chase camera that follows a sensor's trajectory.

A path is a list of :class:`CameraPose` (position, focal point, view-up), one per frame,
computed with numpy only; the renderer copies each pose onto its (shared) VTK camera.

Keyframe files are JSON: a list of poses, or ``{"keyframes": [...]}``, each pose an
object ``{"position": [x, y, z], "focal_point": [x, y, z], "view_up": [x, y, z]}`` in
world coordinates (``view_up`` may be left out: the path's up axis is used). Keyframes
are spread evenly over the frames; positions and focal points are interpolated
linearly, view-up vectors linearly and then normalised.

A camera specification string (the CLI's ``--camera``) is one of ``orbit``, ``fixed``,
``fixed:FILE`` (the first pose of a keyframe file), ``keyframes:FILE`` or ``trajectory``
(for sequences: per frame, :func:`follow_pose` places the camera behind and above the
frame's sensor, looking where the sensor looks).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from occstudio.core.errors import DataError, MissingFileError

#: pyvista's default vertical view angle, degrees.
DEFAULT_VIEW_ANGLE = 30.0
#: Azimuth (degrees, counter-clockwise about the up axis from the +x side) of the first frame.
DEFAULT_AZIMUTH = 30.0


@dataclass(frozen=True)
class CameraPose:
    """One camera: where it is, what it looks at, which way is up (world coordinates)."""

    position: tuple[float, float, float]
    focal_point: tuple[float, float, float]
    view_up: tuple[float, float, float]

    def as_dict(self) -> dict[str, list[float]]:
        """The pose as the JSON object keyframe files use."""
        return {
            "position": [float(v) for v in self.position],
            "focal_point": [float(v) for v in self.focal_point],
            "view_up": [float(v) for v in self.view_up],
        }


@dataclass(frozen=True)
class CameraSpec:
    """A parsed ``--camera`` value: ``kind`` is ``orbit``, ``fixed``, ``keyframes`` or ``trajectory``."""

    kind: str
    path: Path | None = None


def up_vector(up: str | Sequence[float]) -> np.ndarray:
    """The unit up vector for ``"x"``, ``"y"``, ``"z"`` (optionally signed, ``"-y"``) or a 3-vector."""
    if isinstance(up, str):
        text = up.strip().lower()
        sign = -1.0 if text.startswith("-") else 1.0
        axis = text.lstrip("+-")
        if axis not in ("x", "y", "z"):
            raise ValueError(f"up axis must be x, y or z (optionally signed), got {up!r}")
        vec = np.zeros(3)
        vec["xyz".index(axis)] = sign
        return vec
    vec = np.asarray(up, dtype=float).reshape(-1)
    if vec.shape != (3,) or not np.all(np.isfinite(vec)) or np.linalg.norm(vec) == 0:
        raise ValueError(f"up must be a non-zero 3-vector, got {up!r}")
    return vec / np.linalg.norm(vec)


def parse_camera_spec(spec: str) -> CameraSpec:
    """Parse ``orbit``, ``fixed``, ``fixed:FILE``, ``keyframes:FILE`` or ``trajectory``.

    Raises
    ------
    DataError
        Unknown kind, or a ``keyframes`` spec without a file.
    """
    text = str(spec).strip()
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind in ("orbit", "trajectory") and not rest:
        return CameraSpec(kind)
    if kind == "fixed":
        return CameraSpec("fixed", Path(rest).expanduser() if rest else None)
    if kind == "keyframes":
        if not rest:
            raise DataError(None, "camera 'keyframes' needs a file: keyframes:PATH.json")
        return CameraSpec("keyframes", Path(rest).expanduser())
    raise DataError(None, f"unknown camera {spec!r} (expected orbit, fixed, fixed:FILE, keyframes:FILE or trajectory)")


def fit_distance(radius: float, view_angle: float = DEFAULT_VIEW_ANGLE, aspect: float = 1.0) -> float:
    """Distance at which a sphere of ``radius`` just fills a view.

    Parameters
    ----------
    radius
        Bounding-sphere radius of what must be seen.
    view_angle
        Vertical view angle in degrees.
    aspect
        Viewport width / height; a narrow view (aspect < 1) needs a larger distance.
    """
    half_v = math.radians(view_angle) / 2
    half_h = math.atan(math.tan(half_v) * aspect)
    half = min(half_v, half_h)
    return max(float(radius), 1e-9) / math.sin(half)


def fit_distance_to_points(
    points: np.ndarray,
    center: Sequence[float],
    view_dirs: np.ndarray,
    view_ups: np.ndarray,
    view_angle: float = DEFAULT_VIEW_ANGLE,
    aspect: float = 1.0,
) -> float:
    """The smallest camera distance from ``center`` at which every point is in view in every pose.

    Parameters
    ----------
    points
        N×3 points that must stay visible (mesh vertices, bounding-box corners).
    center
        The focal point.
    view_dirs
        F×3 unit vectors from ``center`` towards the camera, one per pose.
    view_ups
        F×3 view-up vectors.
    view_angle
        Vertical view angle, degrees.
    aspect
        Viewport width / height.

    Notes
    -----
    A point at offset ``q`` from the centre, seen from ``center + d·v``, lies at depth
    ``d − q·v`` and at lateral offsets ``q·r`` and ``q·u``; it is inside the frustum when
    both offsets are within ``depth·tan(half-angle)``, which gives a lower bound on ``d``
    per point and pose. Using one distance for all poses keeps an orbit from "breathing".
    """
    tan_v = math.tan(math.radians(view_angle) / 2)
    tan_h = tan_v * aspect
    q = np.asarray(points, dtype=float).reshape(-1, 3) - np.asarray(center, dtype=float)
    v = np.asarray(view_dirs, dtype=float).reshape(-1, 3)
    up = np.asarray(view_ups, dtype=float).reshape(-1, 3)
    right = np.cross(up, v)
    right /= np.maximum(np.linalg.norm(right, axis=1, keepdims=True), 1e-12)
    true_up = np.cross(v, right)
    depth = q @ v.T  # (N, F): how far towards the camera each point sits
    need = depth + np.maximum(np.abs(q @ right.T) / tan_h, np.abs(q @ true_up.T) / tan_v)
    return float(max(need.max(), 1e-9))


def _basis(up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors spanning the plane normal to ``up`` (the orbit's ground plane)."""
    # z-up: azimuth 0 on +x, turning towards +y; y-up: 0 on +z, turning towards +x
    if abs(up[2]) > 0.9:
        helper = np.array([1.0, 0.0, 0.0])
    elif abs(up[1]) > 0.9:
        helper = np.array([0.0, 0.0, 1.0])
    else:
        helper = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = helper - up * np.dot(helper, up)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(up, e1)
    return e1, e2


def orbit_path(
    center: Sequence[float],
    distance: float,
    frames: int,
    elevation: float = 20.0,
    up: str | Sequence[float] = "z",
    start_azimuth: float = DEFAULT_AZIMUTH,
    turns: float = 1.0,
) -> list[CameraPose]:
    """A turntable: ``frames`` poses on a circle around ``center``.

    The camera looks at ``center`` from ``distance``, ``elevation`` degrees above the
    plane normal to ``up``; the azimuth advances by ``360·turns/frames`` degrees per
    frame, so a looping video does not repeat its first frame at the end.

    Raises
    ------
    ValueError
        ``frames`` < 1, a non-positive distance or an elevation outside (-90, 90).
    """
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if not distance > 0:
        raise ValueError(f"distance must be positive, got {distance}")
    if not -90.0 < elevation < 90.0:
        raise ValueError(f"elevation must be between -90 and 90 degrees, got {elevation}")
    c = np.asarray(center, dtype=float)
    u = up_vector(up)
    e1, e2 = _basis(u)
    el = math.radians(elevation)
    az = np.radians(start_azimuth + 360.0 * turns * np.arange(frames) / frames)
    dirs = (np.cos(el) * (np.cos(az)[:, None] * e1 + np.sin(az)[:, None] * e2)) + np.sin(el) * u
    positions = c + distance * dirs
    up_t = tuple(float(v) for v in u)
    focal = tuple(float(v) for v in c)
    return [CameraPose(tuple(float(v) for v in p), focal, up_t) for p in positions]


def follow_pose(
    sensor_from_local: np.ndarray,
    size: float,
    forward: Sequence[float] = (0.0, 0.0, 1.0),
    up: Sequence[float] = (0.0, -1.0, 0.0),
    back: float = 0.35,
    height: float = 0.18,
    ahead: float = 0.2,
) -> CameraPose:
    """A chase camera behind and above a sensor, looking where it looks.

    Parameters
    ----------
    sensor_from_local
        4×4 pose of the sensor (camera or ego) in the scene's frame: its rotation maps
        the sensor's axes into the scene, its translation is the sensor's position.
    size
        The scene's size (e.g. the diagonal of what is shown); the offsets scale with it.
    forward, up
        The sensor's forward and up axes in its own frame: OpenCV cameras look along
        ``+z`` with ``-y`` up (the defaults); an ego frame looks along ``+x`` with ``+z`` up.
    back, height, ahead
        Camera position behind and above the sensor, and the focal point ahead of it, as
        fractions of ``size``.
    """
    T = np.asarray(sensor_from_local, dtype=float).reshape(4, 4)
    R, t = T[:3, :3], T[:3, 3]
    f = R @ np.asarray(forward, dtype=float)
    u = R @ np.asarray(up, dtype=float)
    f /= max(float(np.linalg.norm(f)), 1e-12)
    u /= max(float(np.linalg.norm(u)), 1e-12)
    s = max(float(size), 1e-6)
    position = t - f * back * s + u * height * s
    focal = t + f * ahead * s
    return CameraPose(tuple(position.tolist()), tuple(focal.tolist()), tuple(u.tolist()))


def fixed_path(pose: CameraPose, frames: int) -> list[CameraPose]:
    """The same pose ``frames`` times."""
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    return [pose] * frames


def _vector(path: Path | None, index: int, entry: dict, key: str) -> np.ndarray:
    value = entry.get(key)
    try:
        vec = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        vec = np.zeros(0)
    if vec.shape != (3,) or not np.all(np.isfinite(vec)):
        raise DataError(path, f"keyframe {index}: {key!r} must be a list of three numbers, got {value!r}")
    return vec


def keyframes_from_json(data: object, path: Path | None = None, up: str | Sequence[float] = "z") -> list[CameraPose]:
    """Validate parsed keyframe JSON (a list of poses or ``{"keyframes": [...]}``).

    Raises
    ------
    DataError
        Not a non-empty list of pose objects, or a pose with a bad or degenerate vector.
    """
    if isinstance(data, dict) and "keyframes" in data:
        data = data["keyframes"]
    if not isinstance(data, list) or not data:
        raise DataError(path, "keyframes must be a non-empty JSON list of {position, focal_point, view_up} objects")
    default_up = up_vector(up)
    poses = []
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise DataError(path, f"keyframe {i} is not a JSON object")
        pos = _vector(path, i, entry, "position")
        focal = _vector(path, i, entry, "focal_point")
        vup = _vector(path, i, entry, "view_up") if "view_up" in entry else default_up
        if np.linalg.norm(pos - focal) == 0:
            raise DataError(path, f"keyframe {i}: position and focal_point are the same point")
        if np.linalg.norm(vup) == 0:
            raise DataError(path, f"keyframe {i}: view_up is the zero vector")
        vup = vup / np.linalg.norm(vup)
        poses.append(CameraPose(tuple(pos.tolist()), tuple(focal.tolist()), tuple(vup.tolist())))
    return poses


def load_keyframes(path: str | Path, up: str | Sequence[float] = "z") -> list[CameraPose]:
    """Read a keyframe JSON file (see the module docstring).

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        The file is not valid JSON or not a valid keyframe list.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, "keyframe file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(path, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, f"cannot read keyframe file ({exc})") from None
    return keyframes_from_json(data, path, up)


def interpolate_keyframes(keyframes: Sequence[CameraPose], frames: int) -> list[CameraPose]:
    """``frames`` poses through ``keyframes``, which are spread evenly (first and last included).

    Positions and focal points are interpolated linearly; view-up vectors linearly, then
    normalised (where two keyframes' ups cancel out, the earlier keyframe's up is kept).
    """
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if not keyframes:
        raise ValueError("no keyframes")
    pos = np.array([k.position for k in keyframes], dtype=float)
    foc = np.array([k.focal_point for k in keyframes], dtype=float)
    ups = np.array([k.view_up for k in keyframes], dtype=float)
    n = len(keyframes)
    if n == 1 or frames == 1:
        return [keyframes[0]] * frames
    t = np.linspace(0.0, n - 1, frames)
    i0 = np.minimum(np.floor(t).astype(int), n - 2)
    w = (t - i0)[:, None]
    p = pos[i0] * (1 - w) + pos[i0 + 1] * w
    f = foc[i0] * (1 - w) + foc[i0 + 1] * w
    u = ups[i0] * (1 - w) + ups[i0 + 1] * w
    norms = np.linalg.norm(u, axis=1)
    bad = norms < 1e-9
    u[bad] = ups[i0[bad]]
    norms[bad] = np.linalg.norm(u[bad], axis=1)
    u = u / norms[:, None]
    return [
        CameraPose(tuple(p[k].tolist()), tuple(f[k].tolist()), tuple(u[k].tolist())) for k in range(frames)
    ]


def bounding_sphere(bounds: Sequence[float]) -> tuple[np.ndarray, float]:
    """Centre and radius of the sphere around a VTK bounds tuple ``(x0, x1, y0, y1, z0, z1)``."""
    b = np.asarray(bounds, dtype=float).reshape(3, 2)
    center = b.mean(axis=1)
    radius = float(np.linalg.norm(b[:, 1] - b[:, 0]) / 2)
    return center, radius if radius > 0 else 1.0


def camera_path(
    spec: str | CameraSpec | CameraPose | Sequence[CameraPose],
    bounds: Sequence[float],
    frames: int,
    elevation: float = 20.0,
    aspect: float = 1.0,
    up: str | Sequence[float] = "z",
    radius_factor: float = 1.0,
    view_angle: float = DEFAULT_VIEW_ANGLE,
    points: np.ndarray | None = None,
    margin: float = 1.08,
) -> list[CameraPose]:
    """The poses of one clip.

    Parameters
    ----------
    spec
        ``"orbit"``, ``"fixed"``, ``"fixed:FILE"``, ``"keyframes:FILE"`` (or a parsed
        :class:`CameraSpec`), a single :class:`CameraPose` (fixed) or a list of poses
        (keyframes). ``"trajectory"`` gives the plain fixed path here: the video exporter
        replaces it frame by frame with :func:`follow_pose` where the scene has a sensor pose.
    bounds
        ``(x0, x1, y0, y1, z0, z1)`` of everything shown; orbit and plain fixed cameras
        look at its centre from the distance that fits its bounding sphere.
    frames
        Number of poses.
    elevation
        Degrees above the ground plane (orbit and plain fixed).
    aspect
        Panel width / height, so that the object fills narrow panels too.
    up
        The world's up axis (``"z"`` for the ExtremeOcc GT meshes, ``"y"`` for Y-up glTF).
    radius_factor
        Multiplies the fitting distance (> 1 leaves more margin).
    view_angle
        Vertical view angle in degrees.
    points
        Points that must stay in view (e.g. a subsample of the mesh vertices). With
        them, orbit and plain fixed cameras use the tightest distance that keeps every
        point inside the view in every frame, times ``margin``; without them, the
        distance that fits the bounding sphere of ``bounds``.
    margin
        Extra distance factor over the tight fit (only with ``points``).
    """
    if isinstance(spec, CameraPose):
        return fixed_path(spec, frames)
    if not isinstance(spec, (str, CameraSpec)):
        return interpolate_keyframes(list(spec), frames)
    parsed = parse_camera_spec(spec) if isinstance(spec, str) else spec
    if parsed.kind == "keyframes":
        return interpolate_keyframes(load_keyframes(parsed.path, up), frames)
    if parsed.kind == "fixed" and parsed.path is not None:
        return fixed_path(load_keyframes(parsed.path, up)[0], frames)
    if not radius_factor > 0:
        raise ValueError(f"radius factor must be positive, got {radius_factor}")
    center, radius = bounding_sphere(bounds)
    n = frames if parsed.kind == "orbit" else 1
    if points is not None and len(points):
        unit = orbit_path(center, 1.0, n, elevation, up)
        dirs = np.array([p.position for p in unit]) - center
        ups = np.array([p.view_up for p in unit])
        distance = fit_distance_to_points(points, center, dirs, ups, view_angle, aspect) * margin
    else:
        distance = fit_distance(radius, view_angle, aspect)
    path = orbit_path(center, distance * radius_factor, n, elevation, up)
    return path if parsed.kind == "orbit" else fixed_path(path[0], frames)
