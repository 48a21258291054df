"""UnScenes3D (UnsOcc) folders (formats.md §3).

Layout: one folder per modality, every file named by a float timestamp ``<stamp>``::

    images/<stamp>.jpg            camera image
    clouds/<stamp>.bin            float32 N×4 LiDAR (x, y, z, intensity), forward-looking
    localmap_clouds/<stamp>.bin   float32 N×3 accumulated local map
    calibs/<stamp>.txt            KITTI calibration (P2, R0_rect, Tr_velo_to_cam, Tr_velo_to_imu)
    occ/<stamp>.npy               sparse N×4 [ix, iy, iz, label] (int32, or float32: cast)
    depths/<stamp>.png            uint16 depth, metres × 256 (0 = empty)
    elevation/<stamp>.png         uint16 elevation, metres × 256 (0 = empty)
    imagesets/<name>.json         {clip: {"samples": [stamps], "sweeps": [stamps]}}
    vehicle_infos/<stamp>.txt     "<key> tx ty tz qx qy qz qw" / "<key> vx vy vz ax ay az"
    image_caption/<stamp>.txt     two lines of text

The occupancy grid is :meth:`GridSpec.unscenes` (256×256×32 voxels of 0.3 m over
[0, -38.4, -4, 76.8, 38.4, 5.6], LiDAR frame); class 0 (background) reads as ignore 255.

Opening is lazy: :func:`open_unscenes` lists the folders and reads the small text files
(imagesets, vehicle infos, captions); the arrays are read on demand with the ``read_*``
functions or :func:`load_sample_arrays`.

Stamps are matched by their float value, so ``1700000000.12`` in an imageset finds
``1700000000.120000.npy``; the file stem (a string) is kept as the stamp.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from occstudio.core.dataset import Dataset
from occstudio.core.errors import DataError, MissingFileError, OccStudioError
from occstudio.core.geometry import GridSpec, pose_from_quaternion
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.labels import UNSCENES3D
from occstudio.core.sample import Sample
from occstudio.io.calib import KittiCalib, lidar_to_image, read_calib
from occstudio.io.files import read_points_checked
from occstudio.io.images import read_image
from occstudio.io.jsonio import read_json

#: ``Sample.paths`` key -> (folder, accepted suffixes), in display order.
MODALITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "image": ("images", (".jpg", ".jpeg", ".png")),
    "cloud": ("clouds", (".bin",)),
    "localmap": ("localmap_clouds", (".bin",)),
    "calib": ("calibs", (".txt",)),
    "occ": ("occ", (".npy",)),
    "depth": ("depths", (".png",)),
    "elevation": ("elevation", (".png",)),
    "vehicle_info": ("vehicle_infos", (".txt",)),
    "caption": ("image_caption", (".txt",)),
}
#: Stored units per metre of the depth and elevation PNGs.
DEPTH_SCALE = 256.0
#: Depth labels keep points with ``DEPTH_MIN < z < DEPTH_MAX`` (metres).
DEPTH_MIN, DEPTH_MAX = 2.0, 80.0
#: The label that empty / ignored voxels get in dense grids.
IGNORE = 255
_IMAGESETS = "imagesets"


# ------------------------------------------------------------------------- stamps


def stamp_value(stamp: str | float | int) -> float | None:
    """The float value of a stamp (a file stem or an imageset entry), or ``None``."""
    try:
        value = float(stamp)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _list_folder(folder: Path, suffixes: tuple[str, ...]) -> dict[float, Path]:
    """``{stamp value: path}`` of the files in ``folder`` with one of ``suffixes``."""
    out: dict[float, Path] = {}
    if not folder.is_dir():
        return out
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            dot = name.rfind(".")
            if dot <= 0 or name[dot:].lower() not in suffixes:
                continue
            value = stamp_value(name[:dot])
            if value is None:
                continue
            path = Path(entry.path)
            previous = out.get(value)
            # prefer the first suffix listed (.jpg before .png) when both exist
            if previous is None or suffixes.index(name[dot:].lower()) < suffixes.index(previous.suffix.lower()):
                out[value] = path
    return out


# ------------------------------------------------------------------------ sniffing


def _root_of(path: Path) -> Path | None:
    """The UnScenes3D root ``path`` is (or is inside: an imageset file), else ``None``."""
    if path.is_file():
        if path.suffix.lower() == ".json" and path.parent.name == _IMAGESETS:
            return path.parent.parent
        return None
    return path if path.is_dir() else None


def _looks_like_root(root: Path) -> bool:
    has_data = (root / "occ").is_dir() or (root / "clouds").is_dir()
    has_meta = (root / "calibs").is_dir() or (root / _IMAGESETS).is_dir()
    return has_data and has_meta


def sniff(path: str | Path) -> float:
    """0.9 for a folder with ``occ/`` or ``clouds/`` plus ``calibs/`` or ``imagesets/``
    (or an ``imagesets/*.json`` inside such a folder), 0 otherwise. Never raises."""
    try:
        root = _root_of(Path(path))
        return 0.9 if root is not None and _looks_like_root(root) else 0.0
    except Exception:  # a sniffer must never raise
        return 0.0


# ------------------------------------------------------------------- small files


def read_vehicle_info(path: str | Path) -> dict[str, Any]:
    """Read ``vehicle_infos/<stamp>.txt``.

    Line 1 is ``<key> tx ty tz qx qy qz qw`` (translation and quaternion in x, y, z, w
    order), line 2 ``<key> vx vy vz ax ay az``. The leading key is optional.

    Returns
    -------
    dict
        ``pose`` (4×4 float64 from the translation and quaternion, as stored: the
        vehicle's pose in the map frame), ``translation`` (3,), ``quaternion_xyzw`` (4,),
        ``velocity`` (3,), ``acceleration`` (3,) and ``keys`` (the two line keys, or
        ``None``). ``velocity``/``acceleration`` are absent when the file has one line.

    Raises
    ------
    MissingFileError, DataError
        Missing file, wrong number of values, non-numeric or non-finite values, or an
        invalid quaternion.
    """
    path = Path(path)
    lines = _read_lines(path, "vehicle info")
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise DataError(path, "is empty; expected a pose line and a velocity line")
    if len(lines) > 2:
        raise DataError(path, f"has {len(lines)} lines, expected 2 (pose, velocity/acceleration)")
    out: dict[str, Any] = {"keys": []}
    pose_key, pose_values = _numbers(lines[0], 7, path, 1, "tx ty tz qx qy qz qw")
    out["keys"].append(pose_key)
    out["translation"] = pose_values[:3]
    out["quaternion_xyzw"] = pose_values[3:]
    qx, qy, qz, qw = pose_values[3:]
    try:
        out["pose"] = pose_from_quaternion(pose_values[:3], (qw, qx, qy, qz))
    except ValueError:
        raise DataError(path, "line 1: the quaternion is zero (no rotation)") from None
    if len(lines) == 2:
        motion_key, motion = _numbers(lines[1], 6, path, 2, "vx vy vz ax ay az")
        out["keys"].append(motion_key)
        out["velocity"] = motion[:3]
        out["acceleration"] = motion[3:]
    return out


def _read_lines(path: Path, what: str) -> list[str]:
    if not path.exists():
        raise MissingFileError(path, what)
    if path.is_dir():
        raise DataError(path, f"is a folder, not a {what} file")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataError(path, "is not UTF-8 text") from None
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror or exc})") from None


def _numbers(line: str, count: int, path: Path, number: int, names: str) -> tuple[str | None, np.ndarray]:
    tokens = line.split()
    key: str | None = None
    if len(tokens) == count + 1:
        key, tokens = tokens[0], tokens[1:]
    if len(tokens) != count:
        raise DataError(
            path, f"line {number}: expected [key] {names} ({count} numbers), got {len(line.split())} values"
        )
    try:
        values = np.array([float(t) for t in tokens])
    except ValueError:
        raise DataError(path, f"line {number}: non-numeric value in {line.strip()[:60]!r}") from None
    if not np.all(np.isfinite(values)):
        raise DataError(path, f"line {number}: non-finite value (NaN or inf)")
    return key, values


def read_caption(path: str | Path) -> str:
    """The caption of ``image_caption/<stamp>.txt``: its (two) lines joined by a newline,
    blank lines dropped, surrounding whitespace stripped."""
    path = Path(path)
    lines = _read_lines(path, "caption")
    return "\n".join(line.strip() for line in lines if line.strip())


def read_imageset(path: str | Path) -> dict[str, dict[str, list[Any]]]:
    """Read ``imagesets/<name>.json``: ``{clip: {"samples": [stamps], "sweeps": [stamps]}}``.

    A clip given directly as a list is read as its samples. Stamps may be strings or
    numbers.

    Raises
    ------
    DataError
        Malformed JSON (line and column named) or a structure other than the above.
    """
    path = Path(path)
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise DataError(
            path, f"expected an object {{clip: {{'samples': [...], 'sweeps': [...]}}}}, got {type(doc).__name__}"
        )
    clips: dict[str, dict[str, list[Any]]] = {}
    for clip, entry in doc.items():
        if isinstance(entry, list):
            entry = {"samples": entry}
        if not isinstance(entry, dict):
            raise DataError(path, f"clip {clip!r}: expected an object with 'samples', got {type(entry).__name__}")
        samples = entry.get("samples", [])
        sweeps = entry.get("sweeps", [])
        if not isinstance(samples, list) or not isinstance(sweeps, list):
            raise DataError(path, f"clip {clip!r}: 'samples' and 'sweeps' must be lists")
        clips[str(clip)] = {"samples": samples, "sweeps": sweeps}
    return clips


# ---------------------------------------------------------------------- arrays


def read_sparse_occ_raw(path: str | Path, grid: GridSpec | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read a sparse ``occ/<stamp>.npy`` and check it, without densifying.

    Parameters
    ----------
    path
        The ``.npy`` holding ``N×4`` rows ``[ix, iy, iz, label]`` (integers, or floats
        holding integers: they are cast).
    grid
        The grid the indices refer to (:meth:`GridSpec.unscenes` by default).

    Returns
    -------
    ijk, labels
        int64 ``(N, 3)`` voxel indices and uint8 ``(N,)`` labels as stored (class 0 is
        still 0 here).

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        Not a readable ``.npy``, not N×4, non-numeric, NaN/inf or non-integer values,
        labels outside 0..255, or indices outside the grid (the message counts the bad
        rows).
    """
    path = Path(path)
    grid = grid or GridSpec.unscenes()
    if not path.exists():
        raise MissingFileError(path, "occupancy file")
    if path.is_dir():
        raise DataError(path, "is a folder, not an .npy file")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(path, f"not a readable .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray):
        close = getattr(arr, "close", None)
        if close is not None:
            close()
        raise DataError(path, "expected a .npy array, got an .npz archive")
    if arr.size == 0:
        return np.zeros((0, 3), np.int64), np.zeros(0, np.uint8)
    if arr.dtype.names is not None or arr.dtype.kind not in "iuf":
        raise DataError(path, f"sparse occupancy must be numeric, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != 4:
        shape = "×".join(str(n) for n in arr.shape) or "scalar"
        raise DataError(path, f"sparse occupancy must be N×4 [ix, iy, iz, label], got shape {shape}")
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr).all(axis=1)
        if not finite.all():
            raise DataError(path, f"{int(np.count_nonzero(~finite))} row(s) hold NaN or inf values")
        rounded = np.rint(arr)
        off = np.abs(arr - rounded).max(axis=1) > 1e-3
        if off.any():
            raise DataError(path, f"{int(np.count_nonzero(off))} row(s) hold non-integer values")
        arr = rounded
    values = arr.astype(np.int64)
    ijk = values[:, :3]
    labels = values[:, 3]
    outside = ~grid.contains_index(ijk)
    if outside.any():
        raise DataError(
            path,
            f"{int(np.count_nonzero(outside))} of {len(values)} row(s) have voxel indices outside the "
            f"{grid.shape[0]}×{grid.shape[1]}×{grid.shape[2]} grid",
        )
    bad_label = (labels < 0) | (labels > 255)
    if bad_label.any():
        raise DataError(path, f"{int(np.count_nonzero(bad_label))} row(s) have labels outside 0..255")
    return np.ascontiguousarray(ijk), labels.astype(np.uint8)


def read_sparse_occ(path: str | Path, grid: GridSpec | None = None) -> np.ndarray:
    """Read a sparse ``occ/<stamp>.npy`` as a dense label grid.

    Parameters
    ----------
    path
        The ``.npy`` holding ``N×4`` rows ``[ix, iy, iz, label]``.
    grid
        The grid (:meth:`GridSpec.unscenes` by default: 256×256×32).

    Returns
    -------
    numpy.ndarray
        uint8 ``grid.shape`` labels; 255 for empty voxels, and class 0 (background) read
        as 255 (``UNSCENES3D.read_as``). When a voxel is listed twice the last row wins.

    Raises
    ------
    MissingFileError, DataError
        See :func:`read_sparse_occ_raw`.
    """
    ijk, labels = read_sparse_occ_raw(path, grid)
    grid = grid or GridSpec.unscenes()
    dense = np.full(grid.shape, IGNORE, dtype=np.uint8)
    if len(labels):
        labels = remap_labels(labels)
        dense[ijk[:, 0], ijk[:, 1], ijk[:, 2]] = labels
    return dense


def remap_labels(labels: np.ndarray) -> np.ndarray:
    """Apply ``UNSCENES3D.read_as`` (background 0 -> 255) to a uint8 label array."""
    out = np.asarray(labels, dtype=np.uint8).copy()
    for src, dst in UNSCENES3D.read_as.items():
        out[labels == src] = dst
    return out


def read_depth_map(path: str | Path, scale: float = DEPTH_SCALE) -> np.ndarray:
    """Read a ``depths/`` or ``elevation/`` PNG as metres.

    Parameters
    ----------
    path
        A single-channel 16-bit PNG holding metres × ``scale``.
    scale
        Stored units per metre (256 for UnScenes3D).

    Returns
    -------
    numpy.ndarray
        float32 ``(H, W)`` metres; 0 marks an empty pixel.

    Raises
    ------
    MissingFileError, DataError
        Missing or unreadable file, a colour image, or an 8-bit image.
    """
    path = Path(path)
    values = read_image(path, keep_depth=True)
    if values.ndim != 2:
        raise DataError(
            path, f"expected a single-channel 16-bit PNG (metres × {scale:g}), got {values.shape[2]} channels"
        )
    if values.dtype == np.uint8:
        raise DataError(path, f"is an 8-bit image; depth/elevation maps are 16-bit (metres × {scale:g})")
    if values.dtype.kind not in "iu":
        raise DataError(path, f"expected integer values (metres × {scale:g}), got {values.dtype}")
    return (values.astype(np.float32) / np.float32(scale)).astype(np.float32)


read_elevation_map = read_depth_map


def encode_depth_map(depth: np.ndarray, scale: float = DEPTH_SCALE) -> np.ndarray:
    """Metres -> the uint16 values of a depth/elevation PNG (``round(m × scale)``).

    Non-finite and non-positive values become 0 (empty); values past 65535/scale are
    clipped to 65535 and positive values that would round to 0 become 1.
    """
    depth = np.asarray(depth, dtype=np.float64)
    valid = np.isfinite(depth) & (depth > 0)
    out = np.zeros(depth.shape, np.uint16)
    out[valid] = np.clip(np.rint(depth[valid] * scale), 1, 65535).astype(np.uint16)
    return out


def write_depth_map(path: str | Path, depth: np.ndarray, scale: float = DEPTH_SCALE) -> None:
    """Write metres as a uint16 PNG (metres × ``scale``, 0 = empty); see :func:`encode_depth_map`."""
    from PIL import Image

    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise DataError(path, f"a depth map must be 2-D (H×W), got shape {depth.shape}")
    Image.fromarray(encode_depth_map(depth, scale)).save(Path(path), format="PNG")


def _read_cloud(path: str | Path, columns: int, drop_nonfinite: bool) -> np.ndarray:
    path = Path(path)
    points, dropped = read_points_checked(path, columns=columns)
    if points.shape[1] != columns:
        raise DataError(path, f"expected N×{columns} points, got N×{points.shape[1]}")
    if dropped:
        if not drop_nonfinite:
            raise DataError(path, f"{dropped} point(s) have NaN or infinite values")
        warnings.warn(f"{path}: dropped {dropped} non-finite point(s)", RuntimeWarning, stacklevel=3)
    return points.astype(np.float32, copy=False)


def read_lidar(path: str | Path, drop_nonfinite: bool = False) -> np.ndarray:
    """Read ``clouds/<stamp>.bin``: float32 ``(N, 4)`` x, y, z, intensity (LiDAR frame).

    Parameters
    ----------
    path
        The ``.bin`` (raw little-endian float32, 16 bytes per point) or an ``.npy``.
    drop_nonfinite
        Drop rows holding NaN/inf (with a :class:`RuntimeWarning`) instead of failing.

    Raises
    ------
    MissingFileError, DataError
        Missing file, size not a multiple of 16 bytes (truncated), wrong shape, or
        NaN/inf values (unless ``drop_nonfinite``).
    """
    return _read_cloud(path, 4, drop_nonfinite)


def read_localmap(path: str | Path, drop_nonfinite: bool = False) -> np.ndarray:
    """Read ``localmap_clouds/<stamp>.bin``: float32 ``(N, 3)`` (see :func:`read_lidar`)."""
    return _read_cloud(path, 3, drop_nonfinite)


def project_lidar_depth(
    points: np.ndarray,
    calib: KittiCalib,
    image_size: Sequence[int],
    z_range: tuple[float, float] = (DEPTH_MIN, DEPTH_MAX),
) -> np.ndarray:
    """A sparse depth image from LiDAR points, following UnScenes3D's depth-label rule.

    Parameters
    ----------
    points
        ``(N, ≥3)`` LiDAR points.
    calib
        The frame's calibration; points project with ``P2 · R0_rect · Tr_velo_to_cam``.
    image_size
        ``(width, height)`` of the image.
    z_range
        Points are kept when ``z_min < z < z_max`` (strict; 2 m and 80 m by default),
        ``z`` being the depth returned by :func:`~occstudio.io.calib.lidar_to_image`.

    Returns
    -------
    numpy.ndarray
        float32 ``(height, width)`` metres, 0 where no point lands. A point lands on
        the pixel whose centre is nearest (``round(u), round(v)``); when several land on
        one pixel the nearest one is kept.
    """
    width, height = int(image_size[0]), int(image_size[1])
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}×{height}")
    depth_img = np.zeros((height, width), np.float32)
    pts = np.asarray(points, dtype=float)
    if pts.size == 0:
        return depth_img
    uv, z = lidar_to_image(pts, calib)
    keep = np.isfinite(z) & (z > z_range[0]) & (z < z_range[1]) & np.isfinite(uv).all(axis=1)
    if not keep.any():
        return depth_img
    col = np.rint(uv[keep, 0]).astype(np.int64)
    row = np.rint(uv[keep, 1]).astype(np.int64)
    z = z[keep]
    inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    col, row, z = col[inside], row[inside], z[inside]
    # write far to near so that the nearest point of each pixel is written last
    order = np.argsort(-z, kind="stable")
    depth_img[row[order], col[order]] = z[order].astype(np.float32)
    return depth_img


# ------------------------------------------------------------------------ opening


def _imageset_files(root: Path) -> list[Path]:
    folder = root / _IMAGESETS
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def open_unscenes(path: str | Path, progress: Progress | None = None) -> Dataset:
    """Open an UnScenes3D folder (lazily: arrays are read on demand).

    Parameters
    ----------
    path
        The root folder (holding ``occ/``, ``clouds/``, ``calibs/``, ``imagesets/``...) or
        one ``imagesets/<name>.json`` (then only that imageset's clips are listed).
    progress
        Optional progress / cancellation.

    Returns
    -------
    Dataset
        Format ``"unscenes3d"``. Samples follow the imagesets: clip by clip (imagesets in
        name order, clips in file order), each clip's ``samples`` in order; id
        ``"<clip>/<stamp>"``. Without imagesets: one sample per stamp found in any
        modality folder, sorted by time, id ``"<stamp>"``.

        ``Sample.paths``: ``image``, ``cloud``, ``localmap``, ``calib``, ``occ``,
        ``depth``, ``elevation``, ``vehicle_info``, ``caption`` (those that exist; a
        modality whose folder exists but lacks this stamp is listed in
        ``Sample.missing``). ``Sample.text["caption"]``: the caption's lines joined by a
        newline. ``Sample.meta``: ``stamp`` (the file stem), ``time`` (its float),
        ``clip``, ``imageset``, ``index`` (position in the clip), ``pose`` (4×4),
        ``velocity``, ``acceleration`` (3,) when the vehicle info reads.

        ``Dataset.meta``: ``sequence`` (True), ``clips`` (clip -> ordered sample ids;
        empty without imagesets: the whole dataset is then one time-ordered sequence),
        ``sweeps`` (clip -> sweep stamps), ``imagesets`` (name -> clip names), ``grid``
        (:meth:`GridSpec.unscenes`), ``labelset`` (``"unscenes3d"``), ``modalities``
        (the folders found). Problems that do not stop loading (a malformed imageset,
        an unreadable vehicle info, a listed stamp without files) become warnings or
        per-sample errors.

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    DataError
        ``path`` is not an UnScenes3D folder or holds no frames.
    """
    path = Path(path)
    progress = ensure_progress(progress)
    if not path.exists():
        raise MissingFileError(path, "file or folder")
    root = _root_of(path)
    if root is None or not _looks_like_root(root):
        raise DataError(path, "not an UnScenes3D folder (expected occ/ or clouds/ plus calibs/ or imagesets/)")
    progress.start(None, "Listing UnScenes3D files")
    dataset = Dataset(format="unscenes3d", source=path, root=root)
    dataset.meta.update(grid=GridSpec.unscenes(), labelset=UNSCENES3D.name, sequence=True)

    files: dict[str, dict[float, Path]] = {}
    for key, (folder, suffixes) in MODALITIES.items():
        progress.check()
        if (root / folder).is_dir():
            files[key] = _list_folder(root / folder, suffixes)
    dataset.meta["modalities"] = {key: MODALITIES[key][0] for key in files}
    all_stamps: dict[float, str] = {}
    for key in files:
        for value, p in files[key].items():
            all_stamps.setdefault(value, p.stem)

    sets = [path] if path.is_file() else _imageset_files(root)
    order = _order_from_imagesets(sets, all_stamps, dataset)
    if order is None:  # no usable imageset: every stamp, by time
        order = [(None, None, value, all_stamps[value]) for value in sorted(all_stamps)]
    if not order:
        raise DataError(path, "no UnScenes3D frames found (the modality folders are empty)")

    progress.start(len(order), "Reading vehicle infos and captions")
    clips: dict[str, list[str]] = {}
    for position, (clip, imageset, value, stamp) in enumerate(order):
        sid = stamp if clip is None else f"{clip}/{stamp}"
        sample = Sample(id=sid, meta={"stamp": stamp, "time": value})
        if clip is not None:
            members = clips.setdefault(clip, [])
            sample.meta.update(clip=clip, imageset=imageset, index=len(members))
            members.append(sid)
        else:
            sample.meta["index"] = position
        _attach_files(sample, files, value, stamp)
        _read_small_files(sample, dataset)
        dataset.samples.append(sample)
        if position % 64 == 0:
            progress.update(position + 1, len(order))
    dataset.meta["clips"] = clips
    progress.update(len(order), len(order), "Listed UnScenes3D frames")
    return dataset


def _order_from_imagesets(
    sets: list[Path], all_stamps: dict[float, str], dataset: Dataset
) -> list[tuple[str | None, str | None, float, str]] | None:
    """``(clip, imageset, stamp value, stamp)`` in imageset order, or ``None`` without imagesets."""
    order: list[tuple[str | None, str | None, float, str]] = []
    read_any = False
    seen_clips: dict[str, str] = {}
    dataset.meta["imagesets"] = {}
    dataset.meta["sweeps"] = {}
    for set_path in sets:
        try:
            clips = read_imageset(set_path)
        except DataError as exc:
            dataset.warnings.append(f"imageset ignored: {exc}")
            continue
        read_any = True
        name = set_path.stem
        dataset.meta["imagesets"][name] = list(clips)
        for clip, entry in clips.items():
            if clip in seen_clips:
                dataset.warnings.append(f"{set_path.name}: clip {clip!r} is also in {seen_clips[clip]}; skipped here")
                continue
            seen_clips[clip] = set_path.name
            dataset.meta["sweeps"][clip] = [str(s) for s in entry["sweeps"]]
            absent: list[str] = []
            in_clip: set[float] = set()
            for raw in entry["samples"]:
                value = stamp_value(raw)
                if value is None:
                    dataset.warnings.append(f"{set_path.name}: clip {clip!r}: {raw!r} is not a timestamp; skipped")
                    continue
                if value in in_clip:
                    dataset.warnings.append(f"{set_path.name}: clip {clip!r}: stamp {raw} listed twice; kept once")
                    continue
                in_clip.add(value)
                stamp = all_stamps.get(value)
                if stamp is None:
                    absent.append(str(raw))
                    stamp = raw if isinstance(raw, str) else repr(float(raw))
                order.append((clip, name, value, stamp))
            if absent:
                shown = ", ".join(absent[:3]) + (" ..." if len(absent) > 3 else "")
                dataset.warnings.append(
                    f"{set_path.name}: clip {clip!r}: {len(absent)} listed sample(s) have no files ({shown})"
                )
    if not read_any:
        return None
    listed = {value for _, _, value, _ in order}
    unlisted = [v for v in all_stamps if v not in listed]
    if unlisted and sets:
        sweeps = {stamp_value(s) for stamps in dataset.meta["sweeps"].values() for s in stamps}
        extra = [v for v in unlisted if v not in sweeps]
        if extra:
            dataset.warnings.append(f"{len(extra)} stamp(s) with files are not listed in the imagesets (not shown)")
    return order


def _attach_files(sample: Sample, files: dict[str, dict[float, Path]], value: float, stamp: str) -> None:
    for key, found in files.items():
        p = found.get(value)
        if p is not None:
            sample.paths[key] = p
        else:
            folder, suffixes = MODALITIES[key]
            sample.missing.append(f"{key}: {folder}/{stamp}{suffixes[0]}")


def _read_small_files(sample: Sample, dataset: Dataset) -> None:
    """Vehicle info and caption into ``meta`` / ``text`` (problems -> sample errors)."""
    if (p := sample.path("vehicle_info")) is not None:
        try:
            info = read_vehicle_info(p)
        except OccStudioError as exc:
            sample.errors.append(str(exc))
        else:
            sample.meta["pose"] = info["pose"]
            for key in ("velocity", "acceleration"):
                if key in info:
                    sample.meta[key] = info[key]
            sample.meta["vehicle_keys"] = info["keys"]
    if (p := sample.path("caption")) is not None:
        try:
            sample.text["caption"] = read_caption(p)
        except OccStudioError as exc:
            sample.errors.append(str(exc))


# ----------------------------------------------------------------------- content


#: What :func:`load_sample_arrays` reads for each part.
_READERS = {
    "image": read_image,
    "cloud": read_lidar,
    "localmap": read_localmap,
    "calib": read_calib,
    "occ": read_sparse_occ,
    "depth": read_depth_map,
    "elevation": read_depth_map,
}


def load_sample_arrays(
    sample: Sample, parts: Iterable[str] | None = None, errors: list[str] | None = None
) -> dict[str, Any]:
    """Read the heavy content of an UnScenes3D sample.

    Parameters
    ----------
    sample
        A sample from :func:`open_unscenes`.
    parts
        Which of ``image`` (uint8 H×W×3), ``cloud`` (float32 N×4), ``localmap``
        (float32 N×3), ``calib`` (:class:`KittiCalib`), ``occ`` (dense uint8
        256×256×32, 255 empty), ``depth`` and ``elevation`` (float32 metres) to read;
        all by default.
    errors
        When given, a part that fails is left out and its message appended here (so one
        bad file never hides the rest); when ``None`` the first failure raises.

    Returns
    -------
    dict
        The parts read, by name.
    """
    wanted = list(_READERS) if parts is None else list(parts)
    out: dict[str, Any] = {}
    for part in wanted:
        reader = _READERS.get(part)
        if reader is None:
            raise ValueError(f"unknown UnScenes3D part {part!r} (known: {', '.join(_READERS)})")
        p = sample.path(part)
        if p is None:
            continue
        try:
            out[part] = reader(p)
        except OccStudioError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
    return out
