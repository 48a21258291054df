"""A small, faithful UnScenes3D dataset generated from the spec (formats.md §3).

No real UnScenes3D release can be shipped, so tests build one: a forward-looking LiDAR
sweep of a ground plane with a few boxes (vehicles, a barrier) in front of the sensor,
its voxelisation on the 256×256×32 grid, a KITTI calibration of a forward camera, the
depth image those points give (2 m < z < 80 m), a bird's-eye elevation map, imagesets,
vehicle infos and captions. Everything is computed here with plain numpy, independently
of the reader under test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

#: Grid of UnScenes3D: origin, voxel size, shape (formats.md §3).
GRID_MIN = np.array([0.0, -38.4, -4.0])
VOXEL = 0.3
GRID_SHAPE = (256, 256, 32)
#: Camera intrinsics / size of the generated images (small, for fast tests).
IMAGE_SIZE = (96, 64)  # width, height
FOCAL = 60.0

# LiDAR (x forward, y left, z up) -> camera (x right, y down, z forward), KITTI-like offsets.
_R_VELO_TO_CAM = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])
_T_VELO_TO_CAM = np.array([0.0, -0.08, -0.27])


@dataclass
class UnscenesFixture:
    """What :func:`make_unscenes_dataset` wrote.

    Attributes
    ----------
    root
        The dataset folder.
    clips
        Clip name -> ordered sample stamps (file stems).
    sweeps
        Clip name -> sweep stamps (listed in the imageset; they have image/cloud files
        but no occupancy).
    occ
        Stamp -> the sparse ``N×4`` rows written (before the dtype cast).
    occ_dtype
        Stamp -> the dtype the ``.npy`` was written with (int32 or float32).
    points
        Stamp -> the float32 ``N×4`` LiDAR points written.
    matrices
        ``P2`` (3×4), ``R0_rect`` (3×3), ``Tr_velo_to_cam`` (3×4), ``Tr_velo_to_imu`` (3×4).
    poses
        Stamp -> (translation (3,), quaternion x, y, z, w (4,)).
    """

    root: Path
    clips: dict[str, list[str]] = field(default_factory=dict)
    sweeps: dict[str, list[str]] = field(default_factory=dict)
    occ: dict[str, np.ndarray] = field(default_factory=dict)
    occ_dtype: dict[str, np.dtype] = field(default_factory=dict)
    points: dict[str, np.ndarray] = field(default_factory=dict)
    matrices: dict[str, np.ndarray] = field(default_factory=dict)
    poses: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def stamps(self) -> list[str]:
        """Every sample stamp, clip by clip."""
        return [s for stamps in self.clips.values() for s in stamps]

    def path(self, folder: str, stamp: str, suffix: str) -> Path:
        """``<root>/<folder>/<stamp><suffix>``."""
        return self.root / folder / f"{stamp}{suffix}"


def calib_matrices(image_size: tuple[int, int] = IMAGE_SIZE) -> dict[str, np.ndarray]:
    """The KITTI matrices of the generated rig (camera 2 a few cm right of camera 0)."""
    width, height = image_size
    P2 = np.array(
        [
            [FOCAL, 0.0, width / 2 - 0.5, FOCAL * 0.06],
            [0.0, FOCAL, height / 2 - 0.5, 0.0],
            [0.0, 0.0, 1.0, 0.003],
        ]
    )
    angle = np.deg2rad(0.5)  # a small rectifying rotation about the camera y axis
    c, s = np.cos(angle), np.sin(angle)
    R0 = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    Tr = np.hstack([_R_VELO_TO_CAM, _T_VELO_TO_CAM[:, None]])
    Tr_imu = np.hstack([np.eye(3), np.array([[-0.8], [0.0], [1.7]])])
    return {"P2": P2, "R0_rect": R0, "Tr_velo_to_cam": Tr, "Tr_velo_to_imu": Tr_imu}


def calib_text(matrices: dict[str, np.ndarray]) -> str:
    """A KITTI calibration file for ``matrices`` (``KEY: values`` rows)."""
    lines = []
    for key in ("P2", "R0_rect", "Tr_velo_to_cam", "Tr_velo_to_imu"):
        lines.append(f"{key}: " + " ".join(f"{v:.12e}" for v in matrices[key].ravel()))
    return "\n".join(lines) + "\n"


def project(points: np.ndarray, matrices: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(u, v), z`` of LiDAR points with ``P2 · R0_rect · Tr_velo_to_cam`` (reference code)."""
    R0 = np.eye(4)
    R0[:3, :3] = matrices["R0_rect"]
    Tr = np.eye(4)
    Tr[:3, :] = matrices["Tr_velo_to_cam"]
    homo = np.c_[points[:, :3], np.ones(len(points))].T  # 4×N
    x = matrices["P2"] @ R0 @ Tr @ homo
    z = x[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (x[:2] / z).T
    return uv, z


def _scene_points(rng: np.random.Generator, n_points: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """LiDAR points (N×4) and their class (0..11): ground, boxes, a few close/behind points."""
    n_ground = n_points // 2
    ground = np.c_[
        rng.uniform(0.5, 70.0, n_ground), rng.uniform(-25.0, 25.0, n_ground), rng.normal(-1.7, 0.03, n_ground)
    ]
    ground_cls = np.where(np.abs(ground[:, 1]) < 6.0, 11, 10)  # driveable surface / terrain
    ground_cls[(ground[:, 0] > 40) & (ground[:, 1] > 10)] = 9  # muddy patch
    boxes = [  # (centre x, y, z), size, class
        ((12.0 - shift, 2.0, -0.9), (4.5, 2.0, 1.6), 4),  # car
        ((25.0 - shift, -5.0, 0.0), (9.0, 3.0, 3.5), 2),  # truck
        ((8.0, -7.0, -1.2), (3.0, 0.3, 1.0), 1),  # barrier
        ((40.0, 8.0, -0.6), (1.0, 1.0, 2.2), 0),  # unlabelled clutter (background)
    ]
    n_box = (n_points - n_ground - 24) // len(boxes)
    parts, classes = [ground], [ground_cls]
    for centre, size, cls in boxes:
        pts = rng.uniform(-0.5, 0.5, (n_box, 3)) * np.asarray(size) + np.asarray(centre)
        parts.append(pts)
        classes.append(np.full(n_box, cls))
    close = np.c_[rng.uniform(0.3, 1.5, 12), rng.uniform(-0.5, 0.5, 12), rng.uniform(-1.0, 0.0, 12)]  # z < 2 m
    behind = np.c_[rng.uniform(-10.0, -2.0, 12), rng.uniform(-3.0, 3.0, 12), rng.uniform(-1.5, 0.5, 12)]
    parts += [close, behind]
    classes += [np.full(12, 11), np.full(12, 11)]
    xyz = np.concatenate(parts)
    cls = np.concatenate(classes)
    intensity = rng.uniform(0.0, 1.0, len(xyz))
    return np.c_[xyz, intensity].astype(np.float32), cls.astype(np.int64)


def _voxelise(points: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Sparse ``[ix, iy, iz, label]`` rows of the voxels the points fall in (one per voxel)."""
    ijk = np.floor((points[:, :3].astype(np.float64) - GRID_MIN) / VOXEL).astype(np.int64)
    inside = np.all((ijk >= 0) & (ijk < np.asarray(GRID_SHAPE)), axis=1)
    ijk, classes = ijk[inside], classes[inside]
    flat = np.ravel_multi_index(ijk.T, GRID_SHAPE)
    _, first = np.unique(flat, return_index=True)
    return np.c_[ijk[first], classes[first]].astype(np.int64)


def _depth_png(points: np.ndarray, matrices: dict[str, np.ndarray], image_size: tuple[int, int]) -> np.ndarray:
    """uint16 depth (m × 256) of the points with 2 < z < 80 m, nearest point per pixel."""
    width, height = image_size
    uv, z = project(points, matrices)
    depth = np.zeros((height, width), np.float64)
    for (u, v), zi in zip(uv, z):
        if not (2.0 < zi < 80.0):
            continue
        col, row = int(np.rint(u)), int(np.rint(v))
        if 0 <= col < width and 0 <= row < height and (depth[row, col] == 0 or zi < depth[row, col]):
            depth[row, col] = zi
    return np.clip(np.rint(depth * 256.0), 0, 65535).astype(np.uint16)


def _elevation_png(points: np.ndarray) -> np.ndarray:
    """uint16 bird's-eye elevation on the occupancy x/y grid: (highest z + 4 m) × 256, 0 empty."""
    ij = np.floor((points[:, :2].astype(np.float64) - GRID_MIN[:2]) / VOXEL).astype(np.int64)
    inside = np.all((ij >= 0) & (ij < np.asarray(GRID_SHAPE[:2])), axis=1)
    height = np.zeros(GRID_SHAPE[:2], np.float64)
    np.maximum.at(height, (ij[inside, 0], ij[inside, 1]), points[inside, 2] - GRID_MIN[2])
    return np.clip(np.rint(height * 256.0), 0, 65535).astype(np.uint16)


def _image(points: np.ndarray, classes: np.ndarray, matrices, image_size, rng) -> np.ndarray:
    """A plausible RGB frame: sky over ground, projected points tinted by class."""
    width, height = image_size
    img = np.zeros((height, width, 3), np.uint8)
    img[: height // 2] = (150, 190, 230)
    img[height // 2 :] = (120, 100, 80)
    uv, z = project(points, matrices)
    ok = (z > 0) & np.isfinite(uv).all(axis=1)
    col = np.rint(uv[ok, 0]).astype(int)
    row = np.rint(uv[ok, 1]).astype(int)
    inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    tint = (np.asarray(classes)[ok][inside] * 20 % 255).astype(np.uint8)
    img[row[inside], col[inside]] = np.stack([tint, 255 - tint, tint // 2], axis=1)
    noise = rng.integers(0, 8, img.shape, dtype=np.uint8)
    return img + noise


def _stamp(t: float) -> str:
    return f"{t:.6f}"


def make_unscenes_dataset(
    root: str | Path,
    n_frames: int = 3,
    clips: int = 1,
    sweeps: int = 1,
    n_points: int = 1200,
    image_size: tuple[int, int] = IMAGE_SIZE,
    imagesets: bool = True,
    imageset_name: str = "train",
    numeric_stamps: bool = False,
    seed: int = 0,
) -> UnscenesFixture:
    """Write a small UnScenes3D dataset under ``root``.

    Parameters
    ----------
    root
        Destination folder (created).
    n_frames
        Annotated samples per clip (10 Hz stamps like ``1700000000.123456``).
    clips
        Number of clips (``clip_000``, ``clip_001``...).
    sweeps
        Unannotated sweep frames per clip (image, cloud and calib only) listed under
        ``"sweeps"``.
    n_points
        LiDAR points per frame.
    image_size
        ``(width, height)`` of images and depth maps.
    imagesets
        Write ``imagesets/<imageset_name>.json``.
    numeric_stamps
        Write the imageset stamps as JSON numbers instead of strings.
    seed
        Random seed.

    Notes
    -----
    Occupancy files alternate dtypes: even frames are written as int32, odd frames as
    float32 (as some releases do). Each frame's occupancy holds a few background
    (class 0) voxels, which a reader turns into 255.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    fixture = UnscenesFixture(root=root, matrices=calib_matrices(image_size))
    folders = (
        "images",
        "clouds",
        "localmap_clouds",
        "calibs",
        "occ",
        "depths",
        "elevation",
        "vehicle_infos",
        "image_caption",
    )
    for folder in folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
    calib = calib_text(fixture.matrices)
    imageset: dict[str, dict[str, list]] = {}
    frame = 0
    for c in range(clips):
        clip = f"clip_{c:03d}"
        t0 = 1700000000.123456 + 3600.0 * c
        stamps, sweep_stamps = [], []
        for k in range(n_frames + sweeps):
            t = t0 + 0.1 * k
            stamp = _stamp(t)
            points, classes = _scene_points(rng, n_points, shift=0.4 * k)
            Image.fromarray(_image(points, classes, fixture.matrices, image_size, rng)).save(
                root / "images" / f"{stamp}.jpg", quality=90
            )
            points.astype("<f4").tofile(root / "clouds" / f"{stamp}.bin")
            (root / "calibs" / f"{stamp}.txt").write_text(calib)
            if k >= n_frames:  # a sweep: no annotations
                sweep_stamps.append(stamp)
                continue
            stamps.append(stamp)
            fixture.points[stamp] = points
            localmap = (points[:, :3] + rng.normal(0.0, 0.02, (len(points), 3))).astype("<f4")
            localmap.tofile(root / "localmap_clouds" / f"{stamp}.bin")
            occ = _voxelise(points, classes)
            dtype = np.dtype(np.int32) if frame % 2 == 0 else np.dtype(np.float32)
            np.save(root / "occ" / f"{stamp}.npy", occ.astype(dtype))
            fixture.occ[stamp], fixture.occ_dtype[stamp] = occ, dtype
            Image.fromarray(_depth_png(points, fixture.matrices, image_size)).save(root / "depths" / f"{stamp}.png")
            Image.fromarray(_elevation_png(points)).save(root / "elevation" / f"{stamp}.png")
            translation = np.array([5.0 * k + 100.0 * c, 0.2 * k, 0.0])
            yaw = 0.05 * k
            quat = np.array([0.0, 0.0, np.sin(yaw / 2), np.cos(yaw / 2)])  # x, y, z, w
            fixture.poses[stamp] = (translation, quat)
            (root / "vehicle_infos" / f"{stamp}.txt").write_text(
                f"{stamp} "
                + " ".join(f"{v:.6f}" for v in (*translation, *quat))
                + "\n"
                + f"{stamp} "
                + " ".join(f"{v:.6f}" for v in (5.0, 0.1 * k, 0.0, 0.2, 0.0, 0.0))
                + "\n"
            )
            (root / "image_caption" / f"{stamp}.txt").write_text(
                f"A truck and a car ahead on a muddy mine road (frame {k}).\nWeather: overcast; lighting: daytime.\n"
            )
            frame += 1
        fixture.clips[clip] = stamps
        fixture.sweeps[clip] = sweep_stamps
        listed = [float(s) for s in stamps] if numeric_stamps else stamps
        listed_sweeps = [float(s) for s in sweep_stamps] if numeric_stamps else sweep_stamps
        imageset[clip] = {"samples": listed, "sweeps": listed_sweeps}
    if imagesets:
        (root / "imagesets").mkdir(exist_ok=True)
        (root / "imagesets" / f"{imageset_name}.json").write_text(json.dumps(imageset, indent=2))
    return fixture
