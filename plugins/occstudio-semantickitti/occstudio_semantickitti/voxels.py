"""SemanticKITTI semantic-scene-completion voxel files: sniff, open, read, write.

Layout (one sequence)::

    <sequence>/voxels/<frame>.bin       input occupancy of one scan, packed bits
    <sequence>/voxels/<frame>.label     completed scene, uint16 per voxel (optional)
    <sequence>/voxels/<frame>.invalid   voxels the benchmark ignores, packed bits (optional)
    <sequence>/voxels/<frame>.occluded  voxels occluded in the scan, packed bits (optional)

The grid is 256 × 256 × 32 voxels of 0.2 m over x ∈ [0, 51.2], y ∈ [-25.6, 25.6],
z ∈ [-2, 4.4] m (LiDAR frame, x forward). Packed files hold 256·256·32 bits written with
``numpy.packbits`` (most significant bit first); ``np.unpackbits(data).reshape(256, 256, 32)``
gives ``[x, y, z]``. ``.label`` files hold 256·256·32 little-endian uint16 values in the
same order.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

import numpy as np
from occstudio.core.dataset import Dataset
from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.geometry import GridSpec
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.sample import Sample

from occstudio_semantickitti.labels import CLASS_NAMES, IGNORE_ID, SEMANTICKITTI, to_learning_ids

#: Voxels along x, y, z.
GRID_SHAPE: tuple[int, int, int] = (256, 256, 32)
#: Edge length of a voxel in metres.
VOXEL_SIZE = 0.2
#: ``[xmin, ymin, zmin, xmax, ymax, zmax]`` in metres, LiDAR frame.
POINT_RANGE: tuple[float, ...] = (0.0, -25.6, -2.0, 51.2, 25.6, 4.4)
#: The grid as an occstudio :class:`~occstudio.core.geometry.GridSpec`.
GRID = GridSpec.from_range(POINT_RANGE, VOXEL_SIZE)
#: Number of voxels in a frame.
N_VOXELS = GRID_SHAPE[0] * GRID_SHAPE[1] * GRID_SHAPE[2]
#: Size of a packed-bit file (.bin, .invalid, .occluded) in bytes.
PACKED_BYTES = N_VOXELS // 8
#: Size of a .label file in bytes.
LABEL_BYTES = N_VOXELS * 2

#: Optional files of a frame, by sample path key.
COMPANIONS: tuple[str, ...] = ("label", "invalid", "occluded")

_SHAPE_TEXT = "256×256×32"


# --------------------------------------------------------------------------- finding


def voxel_folder(path: str | Path) -> Path | None:
    """The folder holding ``<frame>.bin`` files for ``path``: ``path/voxels`` of a
    sequence folder, or ``path`` itself when it is a ``voxels`` folder; ``None`` otherwise."""
    path = Path(path)
    candidates = [path / "voxels"] + ([path] if path.name == "voxels" else [])
    for folder in candidates:
        if folder.is_dir() and next(folder.glob("*.bin"), None) is not None:
            return folder
    return None


def sniff(path: str | Path) -> float:
    """Confidence that ``path`` is SemanticKITTI voxel data. Never raises.

    Returns
    -------
    float
        0.9 for a folder with ``voxels/*.bin`` (or a ``voxels`` folder itself); 0.95 for a
        ``.bin`` of exactly 262144 bytes beside a ``.label`` of the same frame (or that
        ``.label`` / ``.invalid`` / ``.occluded``); 0 otherwise.
    """
    try:
        path = Path(path)
        if path.is_dir():
            return 0.9 if voxel_folder(path) is not None else 0.0
        if path.is_file() and path.suffix in {".bin", *(f".{k}" for k in COMPANIONS)}:
            bin_path = path.with_suffix(".bin")
            if (
                bin_path.is_file()
                and bin_path.stat().st_size == PACKED_BYTES
                and path.with_suffix(".label").is_file()
            ):
                return 0.95
        return 0.0
    except Exception:  # noqa: BLE001 (a sniffer must never raise)
        return 0.0


def _size_problem(path: Path, expected: int, what: str) -> str | None:
    size = path.stat().st_size
    if size == expected:
        return None
    return f"{path.name}: {size} bytes, expected {expected} ({what})"


def _frame_sample(bin_path: Path) -> Sample:
    frame = bin_path.stem
    sample = Sample(
        id=frame,
        paths={"bin": bin_path},
        meta={
            "frame": int(frame) if frame.isdigit() else frame,
            "grid": GRID,
            "voxel_size": VOXEL_SIZE,
            "point_range": POINT_RANGE,
            "grid_shape": GRID_SHAPE,
        },
    )
    packed = f"{_SHAPE_TEXT} packed bits"
    problem = _size_problem(bin_path, PACKED_BYTES, packed)
    if problem:
        sample.errors.append(problem)
    for key in COMPANIONS:
        companion = bin_path.with_suffix(f".{key}")
        if not companion.is_file():
            continue
        sample.paths[key] = companion
        expected, what = (LABEL_BYTES, f"{_SHAPE_TEXT} uint16") if key == "label" else (PACKED_BYTES, packed)
        problem = _size_problem(companion, expected, what)
        if problem:
            sample.errors.append(problem)
    return sample


def open_voxels(path: str | Path, progress: Progress | None = None) -> Dataset:
    """Open a SemanticKITTI sequence folder, a ``voxels`` folder or one frame's file.

    Parameters
    ----------
    path
        A folder with ``voxels/<frame>.bin``, a ``voxels`` folder, or one frame's
        ``.bin`` / ``.label`` / ``.invalid`` / ``.occluded`` file.
    progress
        Optional progress / cancellation (one step per frame).

    Returns
    -------
    Dataset
        Format ``semantickitti``, one :class:`~occstudio.core.sample.Sample` per frame
        (id = frame name) with ``paths`` ``bin`` and, when present, ``label``,
        ``invalid``, ``occluded``; ``meta`` holds the grid (``grid``, ``voxel_size``,
        ``point_range``, ``grid_shape``). Files of the wrong size are listed in the
        sample's ``errors`` (the others still open). ``dataset.meta`` has ``grid``,
        ``labelset`` (``"semantickitti"``), ``label_set`` (the
        :class:`~occstudio.core.labels.LabelSet`) and ``class_names``.

    Raises
    ------
    MissingFileError
        ``path`` or the frame's ``.bin`` does not exist.
    DataError
        ``path`` is a folder without ``*.bin`` voxel files.
    """
    path = Path(path)
    progress = ensure_progress(progress)
    if not path.exists():
        raise MissingFileError(path, "file or folder")
    if path.is_dir():
        folder = voxel_folder(path)
        if folder is None:
            raise DataError(path, "no SemanticKITTI voxel files here (expected voxels/<frame>.bin)")
        bins = sorted(folder.glob("*.bin"))
        root = path
    else:
        bin_path = path.with_suffix(".bin")
        if not bin_path.is_file():
            raise MissingFileError(bin_path, f"voxel file of frame {path.stem}")
        folder, bins, root = path.parent, [bin_path], path.parent
    dataset = Dataset(
        format="semantickitti",
        source=path,
        root=root,
        meta={
            "grid": GRID,
            "labelset": SEMANTICKITTI.name,
            "label_set": SEMANTICKITTI,
            "class_names": CLASS_NAMES,
            "voxel_folder": folder,
        },
    )
    if folder.parent.name.isdigit():
        dataset.meta["sequence"] = folder.parent.name
    progress.start(len(bins), "reading SemanticKITTI frames")
    for bin_path in bins:
        dataset.samples.append(_frame_sample(bin_path))
        progress.advance()
    if path.is_dir():
        frames = {b.stem for b in bins}
        orphans = sorted(p.name for p in folder.glob("*.label") if p.stem not in frames)
        if orphans:
            more = f" (and {len(orphans) - 3} more)" if len(orphans) > 3 else ""
            dataset.warnings.append(
                f"{folder}: {len(orphans)} .label file(s) without a .bin skipped: {', '.join(orphans[:3])}{more}"
            )
    return dataset


# --------------------------------------------------------------------------- reading


def _read_exact(path: Path, nbytes: int, what: str) -> np.ndarray:
    if not path.is_file():
        raise MissingFileError(path, what)
    data = np.fromfile(path, dtype=np.uint8)
    if data.size != nbytes:
        raise DataError(
            path,
            f"{data.size} bytes; a SemanticKITTI {what} holds {_SHAPE_TEXT} voxels = {nbytes} bytes",
        )
    return data


def read_packed(path: str | Path, what: str = "packed voxel file") -> np.ndarray:
    """Read one packed-bit file (``.bin``, ``.invalid``, ``.occluded``).

    Returns
    -------
    numpy.ndarray
        bool ``(256, 256, 32)`` indexed ``[x, y, z]``.

    Raises
    ------
    MissingFileError, DataError
        The file is absent or not 262144 bytes long.
    """
    data = _read_exact(Path(path), PACKED_BYTES, what)
    return np.unpackbits(data).reshape(GRID_SHAPE).astype(bool)


def read_labels(
    path: str | Path, ids: Literal["auto", "raw", "learning"] = "auto"
) -> np.ndarray:
    """Read a ``.label`` file as learning ids 0..19 (255 = ignore).

    Parameters
    ----------
    path
        The ``.label`` file (256·256·32 little-endian uint16).
    ids
        What the file stores: ``raw`` SemanticKITTI ids (the dataset release, mapped with
        the learning map), ``learning`` ids (0..19 and 255, e.g. a method's output), or
        ``auto``: learning ids when every value is in 0..19 or 255, raw ids otherwise.

    Returns
    -------
    numpy.ndarray
        uint16 ``(256, 256, 32)`` learning ids indexed ``[x, y, z]``.

    Raises
    ------
    DataError
        Wrong size, learning ids out of range, or raw ids not in the learning map.
    """
    path = Path(path)
    raw = _read_exact(path, LABEL_BYTES, "label file (uint16 per voxel)").view("<u2").reshape(GRID_SHAPE)
    n_classes = len(CLASS_NAMES)
    values = np.unique(raw)
    is_learning = bool(np.all((values < n_classes) | (values == IGNORE_ID)))
    if ids == "learning" or (ids == "auto" and is_learning):
        if not is_learning:
            bad = [int(v) for v in values if v >= n_classes and v != IGNORE_ID]
            raise DataError(path, f"learning ids must be 0..{n_classes - 1} or {IGNORE_ID}, found {_few(bad)}")
        return raw.astype(np.uint16)
    if ids not in ("auto", "raw"):
        raise ValueError(f"ids must be 'auto', 'raw' or 'learning', got {ids!r}")
    labels, unknown = to_learning_ids(raw)
    if unknown:
        raise DataError(path, f"raw SemanticKITTI ids not in the learning map: {_few(unknown)}")
    return labels


def _few(values: list[int], n: int = 8) -> str:
    text = ", ".join(map(str, values[:n]))
    return text + (f" (and {len(values) - n} more)" if len(values) > n else "")


def read_voxels(
    sample: Sample, ids: Literal["auto", "raw", "learning"] = "auto"
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read one frame: its input occupancy and, when it has a ``.label``, its labels.

    Parameters
    ----------
    sample
        A sample opened by :func:`open_voxels` (``paths["bin"]``, optional
        ``paths["label"]``).
    ids
        How to read the ``.label`` file (see :func:`read_labels`).

    Returns
    -------
    occupancy : numpy.ndarray
        bool ``(256, 256, 32)``, ``[x, y, z]``: voxels hit by the scan.
    labels : numpy.ndarray or None
        uint16 ``(256, 256, 32)`` learning ids 0..19 (0 empty, 255 ignore) of the
        completed scene, or ``None`` when the frame has no ``.label``.

    Raises
    ------
    MissingFileError, DataError
        The sample has no ``.bin``, or a file is missing or has the wrong size or ids.
    """
    bin_path = sample.path("bin")
    if bin_path is None:
        raise DataError(None, f"sample {sample.id}: no SemanticKITTI .bin voxel file")
    occupancy = read_packed(bin_path, "voxel file (.bin, packed bits)")
    label_path = sample.path("label")
    labels = read_labels(label_path, ids) if label_path is not None else None
    return occupancy, labels


def read_mask(sample: Sample, kind: Literal["invalid", "occluded"]) -> np.ndarray | None:
    """The frame's ``.invalid`` or ``.occluded`` mask, ``None`` when the file is absent.

    Returns
    -------
    numpy.ndarray or None
        bool ``(256, 256, 32)``, ``[x, y, z]``.

    Raises
    ------
    DataError
        The file has the wrong size.
    """
    if kind not in ("invalid", "occluded"):
        raise ValueError(f"kind must be 'invalid' or 'occluded', got {kind!r}")
    path = sample.path(kind)
    return None if path is None else read_packed(path, f"{kind} mask (.{kind}, packed bits)")


# --------------------------------------------------------------------------- writing


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_shape(name: str, array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.shape != GRID_SHAPE:
        raise ValueError(f"{name} must have shape {GRID_SHAPE}, got {array.shape}")
    return array


def write_frame(
    folder: str | Path,
    frame: str,
    occupancy: np.ndarray,
    labels: np.ndarray | None = None,
    invalid: np.ndarray | None = None,
    occluded: np.ndarray | None = None,
) -> Path:
    """Write one frame in the SemanticKITTI voxel layout (each file atomically).

    Parameters
    ----------
    folder
        The ``voxels`` folder to write into (created if needed).
    frame
        The frame name, e.g. ``"000000"``.
    occupancy
        bool ``(256, 256, 32)`` -> ``<frame>.bin``.
    labels
        Integer ``(256, 256, 32)`` ids (written as uint16 as given) -> ``<frame>.label``.
    invalid, occluded
        bool ``(256, 256, 32)`` -> ``<frame>.invalid`` / ``<frame>.occluded``.

    Returns
    -------
    Path
        The ``.bin`` file written.
    """
    folder = Path(folder)
    bin_path = folder / f"{frame}.bin"
    _atomic_write(bin_path, np.packbits(_check_shape("occupancy", occupancy).astype(bool)).tobytes())
    if labels is not None:
        lab = _check_shape("labels", labels)
        if lab.size and (lab.min() < 0 or lab.max() > 0xFFFF):
            raise ValueError("labels must fit in uint16")
        _atomic_write(folder / f"{frame}.label", lab.astype("<u2").tobytes())
    for key, mask in (("invalid", invalid), ("occluded", occluded)):
        if mask is not None:
            _atomic_write(folder / f"{frame}.{key}", np.packbits(_check_shape(key, mask).astype(bool)).tobytes())
    return bin_path
