"""OccGen / L3ROcc trajectories in the LeRobot v2.1 layout (formats.md §4).

A trajectory folder holds ``meta/info.json`` (+ ``episodes.jsonl``, ``tasks.jsonl``),
``data/chunk-000/episode_000000.parquet`` (per-frame intrinsics and poses),
``data/chunk-000/all_occ.npz`` (world-frame occupied voxel centres), and under
``videos/chunk-000/``: ``observation.images.rgb/<i>.jpg``, ``observation.images.depth/<i>.png``
(uint16, 1/10000 m), ``observation.occ.view/occ_sequence.npz`` (scipy CSR, frames × X·Y·Z),
``observation.occ.mask/mask_sequence.npz`` (packbits) and mp4 videos.

Poses: the parquet's ``action`` is the camera-to-world pose with OpenGL camera axes; each
sample also stores ``pose_cv = action @ diag(1, -1, -1, 1)`` (OpenCV axes) and a
:class:`~occstudio.core.geometry.Camera` built from it. ``observation.camera_extrinsic``
is a fixed mount transform, kept as ``extrinsic``.

Every reader here uses numpy only (no scipy needed); files written by
:func:`write_occ_sequence` load with ``scipy.sparse.load_npz``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from occstudio.core.dataset import Dataset
from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.geometry import OPENGL_TO_OPENCV, Camera, GridSpec
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.persistence import atomic_savez
from occstudio.core.sample import Sample
from occstudio.io.jsonio import read_json, read_json_lines
from occstudio.io.npz import NPZ_ERRORS, open_npz, read_member

#: Scale of OccGen depth PNGs: stored value / 10000 = metres (verified on real data).
DEPTH_SCALE = 10000.0

_RGB_DIR = "observation.images.rgb"
_DEPTH_DIR = "observation.images.depth"
_OCC_VIEW = ("observation.occ.view", "occ_sequence.npz")
_OCC_MASK = ("observation.occ.mask", "mask_sequence.npz")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


# ---------------------------------------------------------------------------- layout


def trajectory_root(path: str | Path) -> Path | None:
    """The trajectory folder ``path`` is in (the folder itself, its ``meta/info.json``
    or one of its parquet files), or ``None``."""
    path = Path(path)
    if path.is_file():
        if path.name == "info.json" and path.parent.name == "meta":
            return path.parent.parent
        if path.suffix == ".parquet" and path.parent.parent.name == "data":
            return path.parents[2]
        return None
    if path.is_dir() and (path / "meta" / "info.json").is_file():
        return path
    return None


def _parquets(root: Path) -> list[Path]:
    return sorted((root / "data").glob("chunk-*/*.parquet"))


def sniff(path: str | Path) -> float:
    """0.9 for a folder with ``meta/info.json`` and ``data/chunk-*/*.parquet`` (or one of
    those files), 0 otherwise. Never raises."""
    try:
        root = trajectory_root(path)
        if root is None:
            return 0.0
        return 0.9 if _parquets(root) else 0.0
    except Exception:  # a sniffer must never raise
        return 0.0


# --------------------------------------------------------------------------- parquet


def _matrices(table: Any, column: str, shape: tuple[int, int], path: Path) -> np.ndarray:
    """A list-of-rows matrix column as float64 ``(N, r, c)``."""
    try:
        values = table.column(column).to_pylist()
        arr = np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise DataError(path, f"column {column!r} does not hold {shape[0]}×{shape[1]} matrices ({exc})") from None
    n = len(values)
    if n == 0:
        return np.zeros((0, *shape))
    if arr.ndim == 2 and arr.shape[1] == shape[0] * shape[1]:
        arr = arr.reshape(n, *shape)  # flattened matrices
    if arr.shape[1:] != shape:
        raise DataError(path, f"column {column!r} has shape {arr.shape[1:]}, expected {shape}")
    if not np.all(np.isfinite(arr)):
        raise DataError(path, f"column {column!r} holds non-finite values")
    return arr


def _read_parquet(path: Path) -> Any:
    import pyarrow.parquet as pq  # lazy: pyarrow is only needed to open trajectories

    try:
        return pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise DataError(path, f"cannot be read as a parquet table ({type(exc).__name__}: {exc})") from None


def _list_frames(folder: Path) -> dict[int, Path]:
    """``{i: path}`` for ``<i>.jpg|png`` files in ``folder`` (one directory listing)."""
    out: dict[int, Path] = {}
    if not folder.is_dir():
        return out
    for entry in os.scandir(folder):
        stem, ext = os.path.splitext(entry.name)
        if ext.lower() in _IMAGE_SUFFIXES and stem.isdigit():
            out.setdefault(int(stem), folder / entry.name)
    return out


def _image_size(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        from PIL import Image

        with Image.open(path) as im:
            return int(im.size[0]), int(im.size[1])
    except Exception:
        return None


def _parse_task(text: Any) -> dict[str, Any] | None:
    if isinstance(text, dict):
        return text
    if isinstance(text, str):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None
    return None


def _task_label(task: dict[str, Any]) -> tuple[str, tuple[int, int] | None]:
    """Human text and inclusive frame range of a parsed task."""
    parsed = task.get("parsed") or {}
    text = ""
    for key in ("sum_instruction", "revised_sub_instruction", "sub_instruction", "instruction"):
        if isinstance(parsed.get(key), str):
            text = parsed[key]
            break
    if not text and isinstance(task.get("task"), str):
        text = task["task"]
    span = None
    for key in ("sum_indexes", "sub_indexes"):
        value = parsed.get(key)
        if isinstance(value, (list, tuple)) and len(value) == 2:
            try:
                span = (int(value[0]), int(value[1]))
            except (TypeError, ValueError):
                span = None
            break
    return text, span


def _first_file(folder: Path, pattern: str) -> Path | None:
    return next(iter(sorted(folder.glob(pattern))), None) if folder.is_dir() else None


def _sequence_frames(path: Path) -> int | None:
    """Number of rows stored in a CSR / packed npz, reading only its small members."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if "indptr" in data.files:
                return int(len(data["indptr"]) - 1)
            if "data" in data.files:
                return None
    except NPZ_ERRORS:
        return None
    return None


def open_trajectory(path: str | Path, progress: Progress | None = None) -> Dataset:
    """Open an OccGen / LeRobot trajectory folder.

    Parameters
    ----------
    path
        The trajectory folder (or its ``meta/info.json`` or a parquet file in it).
    progress
        Optional progress / cancellation.

    Returns
    -------
    Dataset
        Format ``"occgen"``: one sample per parquet row, id ``"frame_000000"`` …
        (``"episode_000001/frame_000000"`` when there are several episodes), with
        ``paths["rgb"]``, ``paths["depth"]`` and ``meta``: ``intrinsic`` (3×3),
        ``pose`` (camera-to-world, OpenGL axes, from ``action``), ``pose_cv``
        (OpenCV axes), ``extrinsic`` (mount), ``intrinsic_occ`` / ``extrinsic_occ``
        when present, ``index``, ``frame``, ``episode``, ``camera`` (:class:`Camera`).
        ``Dataset.meta`` holds ``info``, ``tasks``, ``episodes``, ``fps``, ``scale``
        (Sim3 scale of the first episode), ``grid`` and ``paths`` (``all_occ``,
        ``occ_sequence``, ``mask_sequence``, ``point_cloud``, ``trajectory_video``,
        ``depth_video`` when present). Inconsistent metadata becomes warnings.

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    DataError
        Not a trajectory, or a parquet file that cannot be read.
    """
    path = Path(path)
    progress = ensure_progress(progress)
    if not path.exists():
        raise MissingFileError(path, "file or folder")
    root = trajectory_root(path)
    if root is None:
        raise DataError(path, "not an OccGen trajectory (no meta/info.json)")
    parquets = _parquets(root)
    if not parquets:
        raise DataError(root, "no data/chunk-*/*.parquet file")
    progress.start(len(parquets), "Reading OccGen trajectory")

    dataset = Dataset(format="occgen", source=path, root=root)
    warnings = dataset.warnings
    meta = dataset.meta
    meta["grid"] = GridSpec.occgen()
    meta["labelset"] = "occgen"

    info: dict[str, Any] = {}
    try:
        doc = read_json(root / "meta" / "info.json")
        if isinstance(doc, dict):
            info = doc
        else:
            warnings.append("meta/info.json: expected a JSON object; ignored")
    except DataError as exc:
        warnings.append(f"info ignored: {exc}")
    meta["info"] = info
    fps = info.get("fps", 30)
    meta["fps"] = float(fps) if isinstance(fps, (int, float)) else 30.0

    episodes: list[dict[str, Any]] = []
    ep_path = root / "meta" / "episodes.jsonl"
    if ep_path.is_file():
        objs, bad = read_json_lines(ep_path)
        warnings.extend(bad)
        episodes = [o for o in objs if isinstance(o, dict)]
    meta["episodes"] = episodes
    scale = episodes[0].get("scale") if episodes else None
    meta["scale"] = float(scale) if isinstance(scale, (int, float)) else None

    tasks: list[dict[str, Any]] = []
    task_path = root / "meta" / "tasks.jsonl"
    if task_path.is_file():
        objs, bad = read_json_lines(task_path)
        warnings.extend(bad)
        for obj in objs:
            if isinstance(obj, dict):
                tasks.append({**obj, "parsed": _parse_task(obj.get("task"))})
    meta["tasks"] = tasks
    task_labels = [_task_label(t) for t in tasks]

    chunk = parquets[0].parent.name
    videos = root / "videos" / chunk
    paths: dict[str, Path] = {}
    for key, candidate in (
        ("all_occ", root / "data" / chunk / "all_occ.npz"),
        ("occ_sequence", videos.joinpath(*_OCC_VIEW)),
        ("mask_sequence", videos.joinpath(*_OCC_MASK)),
        ("point_cloud", root / "data" / chunk / "origin_pcd.ply"),
        ("path_ply", root / "data" / chunk / "path.ply"),
    ):
        if candidate.is_file():
            paths[key] = candidate
    if "point_cloud" not in paths and "path_ply" in paths:
        paths["point_cloud"] = paths["path_ply"]
    for key, folder in (("trajectory_video", "observation.video.trajectory"), ("depth_video", "observation.video.depth")):
        found = _first_file(videos / folder, "*.mp4")
        if found is not None:
            paths[key] = found
    meta["paths"] = paths

    rgb_files = _list_frames(videos / _RGB_DIR)
    depth_files = _list_frames(videos / _DEPTH_DIR)
    size = _image_size(rgb_files.get(min(rgb_files))) if rgb_files else None

    multi = len(parquets) > 1
    total_rows = 0
    for n, pq_path in enumerate(parquets):
        table = _read_parquet(pq_path)
        columns = set(table.column_names)
        rows = table.num_rows
        total_rows += rows
        for required in ("observation.camera_intrinsic", "action"):
            if required not in columns:
                raise DataError(pq_path, f"missing column {required!r}")
        K = _matrices(table, "observation.camera_intrinsic", (3, 3), pq_path)
        action = _matrices(table, "action", (4, 4), pq_path)
        optional = {
            "extrinsic": ("observation.camera_extrinsic", (4, 4)),
            "intrinsic_occ": ("observation.camera_intrinsic_occ", (3, 3)),
            "extrinsic_occ": ("observation.camera_extrinsic_occ", (4, 4)),
        }
        extra = {
            key: _matrices(table, col, shape, pq_path)
            for key, (col, shape) in optional.items()
            if col in columns
        }
        index = (
            np.asarray(table.column("index").to_pylist()) if "index" in columns else np.arange(rows)
        )
        frame_col = (
            np.asarray(table.column("frame_index").to_pylist()) if "frame_index" in columns else np.arange(rows)
        )
        stamps = table.column("timestamp").to_pylist() if "timestamp" in columns else None
        episode = n
        stem = pq_path.stem
        if stem.startswith("episode_") and stem[8:].isdigit():
            episode = int(stem[8:])
        for r in range(rows):
            frame = int(frame_col[r])
            sid = f"frame_{frame:06d}"
            if multi:
                sid = f"{stem}/{sid}"
            pose = action[r]
            pose_cv = pose @ OPENGL_TO_OPENCV
            sample_meta: dict[str, Any] = {
                "index": int(index[r]),
                "frame": frame,
                "row": r,
                "episode": episode,
                "intrinsic": K[r],
                "pose": pose,
                "pose_cv": pose_cv,
            }
            for key, arr in extra.items():
                sample_meta[key] = arr[r]
            if stamps is not None:
                sample_meta["timestamp"] = stamps[r]
            w, h = size if size else (int(round(2 * K[r][0, 2])), int(round(2 * K[r][1, 2])))
            try:
                sample_meta["camera"] = Camera.from_pose(K[r], pose_cv, w, h)
            except np.linalg.LinAlgError:
                warnings.append(f"{sid}: singular pose; no camera")
            sample = Sample(id=sid, meta=sample_meta)
            for key, files, folder in (("rgb", rgb_files, _RGB_DIR), ("depth", depth_files, _DEPTH_DIR)):
                if multi:
                    continue  # frame files of several episodes share one folder: ambiguous
                found = files.get(frame)
                if found is not None:
                    sample.paths[key] = found
                elif files or (videos / folder).is_dir():
                    sample.missing.append(f"{key} frame {frame} ({folder}/{frame}.*)")
            for text, span in task_labels:
                if text and (span is None or span[0] <= frame <= span[1]):
                    sample.text["task"] = text
                    break
            dataset.samples.append(sample)
        progress.advance(1)

    _check_consistency(dataset, info, episodes, total_rows, paths, len(parquets))
    return dataset


def _check_consistency(
    dataset: Dataset,
    info: dict[str, Any],
    episodes: list[dict[str, Any]],
    rows: int,
    paths: dict[str, Path],
    n_parquets: int,
) -> None:
    """Warn about metadata that disagrees with the data (never raises)."""
    warnings = dataset.warnings
    total = info.get("total_frames")
    if isinstance(total, int) and total != rows:
        warnings.append(f"meta/info.json says total_frames = {total} but the parquet data has {rows} rows")
    lengths = [e.get("length") for e in episodes]
    if n_parquets == 1 and len(lengths) == 1 and isinstance(lengths[0], int) and lengths[0] != rows:
        warnings.append(f"meta/episodes.jsonl says length = {lengths[0]} but the parquet data has {rows} rows")
    seq = paths.get("occ_sequence")
    if seq is not None:
        frames = _sequence_frames(seq)
        if frames is None:
            warnings.append(f"{seq.name}: cannot read its row count")
        elif frames != rows:
            warnings.append(f"{seq.name} has {frames} frames but the parquet data has {rows} rows")


# --------------------------------------------------------------------- voxel files


def read_all_occ(path: str | Path) -> np.ndarray:
    """Read ``all_occ.npz``: the world-frame occupied voxel centres.

    Returns
    -------
    numpy.ndarray
        float32 ``(M, 3)``.
    """
    path = Path(path)
    data = open_npz(path)
    with data:
        arr = read_member(data, path, "data")
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise DataError(path, f"'data' has shape {arr.shape}, expected (M, 3) voxel centres")
    if not np.issubdtype(arr.dtype, np.number):
        raise DataError(path, f"'data' has dtype {arr.dtype}, expected float32")
    return arr.astype(np.float32, copy=False)


@dataclass
class OccSequence:
    """Per-frame visible occupied voxels, stored as a CSR matrix (frames × n_voxels).

    Attributes
    ----------
    indptr, indices, data
        The CSR arrays: row ``t`` is ``indices[indptr[t]:indptr[t+1]]``.
    shape
        ``(frames, n_voxels)``.
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]

    @property
    def n_frames(self) -> int:
        """Number of frames (rows)."""
        return self.shape[0]

    @property
    def n_voxels(self) -> int:
        """Number of voxels of the flattened grid (columns)."""
        return self.shape[1]

    def __len__(self) -> int:
        return self.shape[0]

    def frame(self, t: int) -> np.ndarray:
        """Flat C-order indices (int64) of the voxels occupied in frame ``t``."""
        return occ_frame_indices(self, t)


def _text_member(value: np.ndarray) -> str:
    item = value.item() if value.shape == () else value.tolist()
    if isinstance(item, bytes):
        return item.decode("ascii", "replace")
    return str(item)


def read_occ_sequence(path: str | Path) -> tuple[OccSequence, tuple[int, int]]:
    """Read ``occ_sequence.npz`` (a scipy CSR matrix) with numpy only.

    Parameters
    ----------
    path
        The ``.npz`` with members ``data``, ``indices``, ``indptr``, ``format``, ``shape``.

    Returns
    -------
    frames, shape_flat
        The :class:`OccSequence` (use :func:`occ_frame_indices`) and its
        ``(frames, X·Y·Z)`` shape.

    Raises
    ------
    DataError
        Missing members, a format other than ``csr``, or inconsistent CSR arrays.
    """
    path = Path(path)
    data = open_npz(path)
    with data:
        fmt = _text_member(read_member(data, path, "format"))
        if fmt != "csr":
            raise DataError(path, f"sparse format is {fmt!r}, expected 'csr'")
        shape_arr = read_member(data, path, "shape")
        indptr = read_member(data, path, "indptr")
        indices = read_member(data, path, "indices")
        values = read_member(data, path, "data")
    if shape_arr.shape != (2,) or not np.issubdtype(shape_arr.dtype, np.integer):
        raise DataError(path, f"'shape' must be two integers, got {shape_arr.tolist()!r}")
    shape = (int(shape_arr[0]), int(shape_arr[1]))
    if shape[0] < 0 or shape[1] < 0:
        raise DataError(path, f"negative shape {shape}")
    if indptr.ndim != 1 or len(indptr) != shape[0] + 1 or not np.issubdtype(indptr.dtype, np.integer):
        raise DataError(path, f"'indptr' must hold {shape[0] + 1} integers, has {indptr.shape}")
    if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
        raise DataError(path, "'indices' must be a 1-D integer array")
    if values.shape != indices.shape:
        raise DataError(path, f"'data' has {values.size} entries but 'indices' has {indices.size}")
    if indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
        raise DataError(path, "'indptr' is not a valid CSR row pointer")
    if indices.size and (indices.min() < 0 or indices.max() >= shape[1]):
        raise DataError(path, f"voxel indices outside 0..{shape[1] - 1}")
    seq = OccSequence(indptr=indptr, indices=indices, data=values, shape=shape)
    return seq, shape


def occ_frame_indices(seq: OccSequence, t: int) -> np.ndarray:
    """Flat C-order voxel indices (int64) of frame ``t`` (negative ``t`` counts from the end).

    Explicitly stored zeros are not occupied and are left out.
    """
    n = seq.shape[0]
    if not -n <= t < n:
        raise IndexError(f"frame {t} out of range for {n} frames")
    t = t % n
    lo, hi = int(seq.indptr[t]), int(seq.indptr[t + 1])
    idx = seq.indices[lo:hi]
    vals = seq.data[lo:hi]
    if vals.size and not np.all(vals):
        idx = idx[vals != 0]
    return idx.astype(np.int64)


def write_occ_sequence(path: str | Path, frames: Sequence[np.ndarray], n_voxels: int) -> None:
    """Write per-frame flat voxel indices as a scipy-compatible CSR ``.npz``.

    Parameters
    ----------
    path
        Output file (written atomically).
    frames
        One 1-D array of flat C-order voxel indices per frame (sorted and de-duplicated
        on write).
    n_voxels
        Number of voxels of the flattened grid (columns).

    Raises
    ------
    ValueError
        An index lies outside ``0..n_voxels-1``.
    """
    path = Path(path)
    n_voxels = int(n_voxels)
    big = n_voxels > np.iinfo(np.int32).max
    itype = np.int64 if big else np.int32
    rows = []
    for t, frame in enumerate(frames):
        idx = np.unique(np.asarray(frame, dtype=np.int64).reshape(-1))
        if idx.size and (idx[0] < 0 or idx[-1] >= n_voxels):
            raise ValueError(f"frame {t}: voxel indices must lie in 0..{n_voxels - 1}")
        rows.append(idx.astype(itype))
    counts = np.array([len(r) for r in rows], dtype=np.int64)
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    if not big and indptr[-1] <= np.iinfo(np.int32).max:
        indptr = indptr.astype(np.int32)
    indices = np.concatenate(rows) if rows else np.zeros(0, dtype=itype)
    atomic_savez(
        path,
        indices=indices,
        indptr=indptr,
        format=np.array(b"csr"),
        shape=np.array([len(rows), n_voxels], dtype=np.int64),
        data=np.ones(len(indices), dtype=np.uint8),
    )


@dataclass
class MaskSequence:
    """Per-frame boolean voxel masks stored bit-packed (numpy ``packbits``, C order).

    Attributes
    ----------
    packed
        uint8 ``(frames, ceil(X·Y·Z / 8))``.
    grid_shape
        ``(X, Y, Z)``.
    """

    packed: np.ndarray
    grid_shape: tuple[int, int, int]

    def __len__(self) -> int:
        return int(self.packed.shape[0])

    @property
    def n_voxels(self) -> int:
        """``X·Y·Z``."""
        return int(np.prod(self.grid_shape))

    def frame(self, t: int) -> np.ndarray:
        """The boolean ``(X, Y, Z)`` mask of frame ``t`` (unpacked on demand)."""
        bits = np.unpackbits(self.packed[t], count=self.n_voxels)
        return bits.view(bool).reshape(self.grid_shape)

    def __getitem__(self, t: int) -> np.ndarray:
        return self.frame(t)

    def to_array(self) -> np.ndarray:
        """All frames as one boolean ``(T, X, Y, Z)`` array (mind the memory)."""
        return np.stack([self.frame(t) for t in range(len(self))]) if len(self) else np.zeros(
            (0, *self.grid_shape), dtype=bool
        )


def read_mask_sequence(path: str | Path) -> MaskSequence:
    """Read ``mask_sequence.npz`` (keys ``data``, ``shape``, ``mode`` = ``"packed"``).

    Frames are unpacked lazily with :meth:`MaskSequence.frame`: a 400³ frame is 64 MB.
    """
    path = Path(path)
    data = open_npz(path)
    with data:
        mode = _text_member(read_member(data, path, "mode"))
        if mode != "packed":
            raise DataError(path, f"mode is {mode!r}, expected 'packed'")
        shape_arr = read_member(data, path, "shape")
        packed = read_member(data, path, "data")
    if shape_arr.shape != (3,) or not np.issubdtype(shape_arr.dtype, np.integer) or np.any(shape_arr <= 0):
        raise DataError(path, f"'shape' must be three positive integers, got {shape_arr.tolist()!r}")
    grid_shape = (int(shape_arr[0]), int(shape_arr[1]), int(shape_arr[2]))
    n_bytes = math.ceil(int(np.prod(grid_shape)) / 8)
    if packed.dtype != np.uint8 or packed.ndim != 2 or packed.shape[1] != n_bytes:
        raise DataError(
            path, f"'data' must be uint8 (frames, {n_bytes}), got {packed.dtype} {packed.shape}"
        )
    return MaskSequence(packed=packed, grid_shape=grid_shape)


def write_mask_sequence(path: str | Path, masks: np.ndarray | Iterable[np.ndarray]) -> None:
    """Write boolean voxel masks as ``mask_sequence.npz`` (bit-packed, C order).

    Parameters
    ----------
    path
        Output file (written atomically).
    masks
        A boolean ``(T, X, Y, Z)`` array, or an iterable of ``(X, Y, Z)`` arrays
        (packed one at a time, so the full sequence never needs to be in memory).
    """
    path = Path(path)
    packed_rows: list[np.ndarray] = []
    grid_shape: tuple[int, ...] | None = None
    for t, mask in enumerate(masks):
        mask = np.asarray(mask)
        if mask.ndim != 3:
            raise ValueError(f"mask {t} must be 3-D (X, Y, Z), got shape {mask.shape}")
        if grid_shape is None:
            grid_shape = mask.shape
        elif mask.shape != grid_shape:
            raise ValueError(f"mask {t} has shape {mask.shape}, expected {grid_shape}")
        packed_rows.append(np.packbits(mask.reshape(-1).astype(bool, copy=False)))
    if grid_shape is None:
        if isinstance(masks, np.ndarray) and masks.ndim == 4:
            grid_shape = masks.shape[1:]
        else:
            raise ValueError("no masks to write (pass a (0, X, Y, Z) array for an empty sequence)")
    n_bytes = math.ceil(int(np.prod(grid_shape)) / 8)
    packed = np.stack(packed_rows) if packed_rows else np.zeros((0, n_bytes), dtype=np.uint8)
    atomic_savez(
        path,
        data=packed,
        shape=np.array(grid_shape, dtype=np.int64),
        mode=np.array("packed"),
    )


def read_depth_png(path: str | Path, scale: float = DEPTH_SCALE) -> np.ndarray:
    """Read a 16-bit depth PNG as metres.

    Parameters
    ----------
    path
        The PNG (uint16; OccGen stores metres × 10000).
    scale
        Stored units per metre (10000 for OccGen, 256 for UnScenes3D).

    Returns
    -------
    numpy.ndarray
        float32 ``(H, W)`` depth in metres; 0 marks an invalid pixel.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise MissingFileError(path)
    try:
        with Image.open(path) as im:
            mode = im.mode
            arr = np.array(im)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(path, f"cannot be read as an image ({exc})") from None
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise DataError(path, f"is not a single-channel integer depth image (mode {mode})")
    if arr.dtype == np.uint8:
        raise DataError(path, "is an 8-bit image; depth PNGs are 16-bit")
    return (arr.astype(np.float32) / np.float32(scale)).astype(np.float32)
