"""The generic loader for a single file: an image, a mesh, or a point cloud.

It sniffs with a low confidence (0.1) so that any format-specific loader wins. The
sample's ``paths`` has one key: ``image``, ``mesh`` (``.ply``/``.obj``/``.glb``/``.gltf``;
a PLY without faces is still ``mesh``, the mesh reader decides) or ``points``
(``.npy``/``.bin``). Also here: :func:`read_points` for ``.npy`` and KITTI-style ``.bin``
point clouds.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from occstudio.core.dataset import Dataset
from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.sample import Sample

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
MESH_SUFFIXES = (".ply", ".obj", ".glb", ".gltf")
POINT_SUFFIXES = (".npy", ".bin")
#: Confidence of this fallback loader: specific loaders score higher.
SNIFF_SCORE = 0.1


def file_kind(path: str | Path) -> str | None:
    """The ``paths`` key for a file by suffix: ``image``, ``mesh``, ``points`` or ``None``."""
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in MESH_SUFFIXES:
        return "mesh"
    if suffix in POINT_SUFFIXES:
        return "points"
    return None


def sniff(path: str | Path) -> float:
    """0.1 for an image, mesh or point-cloud file, 0 for anything else (folders, JSON).

    Never raises.
    """
    try:
        path = Path(path)
        return SNIFF_SCORE if path.is_file() and file_kind(path) is not None else 0.0
    except Exception:  # noqa: BLE001 (a sniffer must never raise)
        return 0.0


def open_file(path: str | Path, progress: Progress | None = None) -> Dataset:
    """Open one file as a dataset of one sample.

    Parameters
    ----------
    path
        An image (.png/.jpg/.jpeg/.webp/.bmp), mesh (.ply/.obj/.glb/.gltf) or point
        cloud (.npy/.bin).
    progress
        Optional progress / cancellation.

    Returns
    -------
    Dataset
        Format ``files``, root the file's folder, one sample whose id is the file name
        and whose ``paths`` has one key (``image``, ``mesh`` or ``points``).

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        ``path`` is a folder or not a supported file type.
    """
    progress = ensure_progress(progress)
    path = Path(path).expanduser()
    if not path.exists():
        raise MissingFileError(path)
    if path.is_dir():
        raise DataError(path, "is a folder; open a single image, mesh or point-cloud file")
    kind = file_kind(path)
    if kind is None:
        known = ", ".join(IMAGE_SUFFIXES + MESH_SUFFIXES + POINT_SUFFIXES)
        raise DataError(path, f"unsupported file type {path.suffix or '(none)'} (known: {known})")
    progress.start(1, f"Opening {path.name}")
    sample = Sample(id=path.name, paths={kind: path}, meta={"kind": kind})
    dataset = Dataset(format="files", source=path, root=path.parent, samples=[sample])
    progress.advance(1)
    return dataset


def _check_shape(path: Path, points: np.ndarray) -> np.ndarray:
    if points.dtype.names is not None or points.dtype.kind not in "fiub":
        raise DataError(path, f"points must be a numeric array, got dtype {points.dtype}")
    if points.ndim != 2 or points.shape[1] < 3:
        shape = "×".join(str(n) for n in points.shape) or "scalar"
        raise DataError(path, f"points must be an N×3 or N×4 array, got shape {shape}")
    if points.dtype.kind != "f":
        points = points.astype(np.float64)
    return points


def _read_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(path, f"not a readable .npy array ({exc})") from None
    if not isinstance(array, np.ndarray):
        close = getattr(array, "close", None)
        if close is not None:
            close()
        raise DataError(path, "expected a .npy array, got an .npz archive")
    return array


def _read_bin(path: Path, columns: int | None) -> np.ndarray:
    size = path.stat().st_size
    if columns is None:
        if size % 16 == 0:
            columns = 4
        elif size % 12 == 0:
            columns = 3
        else:
            raise DataError(path, f"size {size} bytes is not a multiple of 16 (N×4 float32)")
    elif columns < 3:
        raise DataError(path, f"points need at least 3 columns, asked for {columns}")
    elif size % (4 * columns):
        raise DataError(
            path, f"size {size} bytes is not a multiple of {4 * columns} (N×{columns} float32)"
        )
    data = np.fromfile(path, dtype="<f4")
    return data.reshape(-1, columns)


def read_points_checked(path: str | Path, columns: int | None = None) -> tuple[np.ndarray, int]:
    """Read a point cloud and drop non-finite rows.

    Parameters
    ----------
    path
        ``.npy`` (N×3 or N×4; more columns are kept) or ``.bin`` (raw little-endian
        float32, N×4 KITTI style ``x, y, z, intensity``; N×3 when the size is not a
        multiple of 16 bytes but is of 12).
    columns
        For ``.bin``: the number of float32 columns, when it is known (e.g. 3 for
        UnScenes3D ``localmap_clouds``, whose size may also be a multiple of 16).

    Returns
    -------
    points, n_dropped
        Float array N×C (xyz first, extra columns such as intensity kept; ``.bin`` is
        float32, ``.npy`` keeps its float type and turns integers into float64), and
        the number of rows dropped because a value was NaN or infinite.

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        Unreadable file, unsupported suffix, wrong size or shape (the message names it).
    """
    path = Path(path)
    if not path.is_file():
        if path.is_dir():
            raise DataError(path, "is a folder, not a point-cloud file")
        raise MissingFileError(path, "point cloud")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        points = _read_npy(path)
    elif suffix == ".bin":
        points = _read_bin(path, columns)
    else:
        raise DataError(
            path, f"unsupported point-cloud file type {suffix or '(none)'} (use .npy or .bin)"
        )
    points = _check_shape(path, points)
    finite = np.isfinite(points).all(axis=1)
    n_dropped = int(points.shape[0] - np.count_nonzero(finite))
    if n_dropped:
        points = points[finite]
    return points, n_dropped


def read_points(path: str | Path, columns: int | None = None) -> np.ndarray:
    """Read a point cloud (see :func:`read_points_checked`), dropping non-finite rows.

    A :class:`RuntimeWarning` naming the file and count is issued when rows are dropped.
    """
    points, n_dropped = read_points_checked(path, columns=columns)
    if n_dropped:
        warnings.warn(
            f"{path}: dropped {n_dropped} non-finite point(s)", RuntimeWarning, stacklevel=2
        )
    return points
