"""Writing Occ3D-nuScenes files: ground truth ``labels.npz`` and predictions (formats.md §2).

``labels.npz`` is a compressed archive with ``semantics``, ``mask_lidar`` and
``mask_camera``, all uint8 with axis order x, y, z (200×200×16 for Occ3D-nuScenes; masks
0/1). A prediction is ``<sample_token>.npz`` with the labels under ``arr_0``. Files are
written atomically (temporary file, then rename).

occstudio's reader (:func:`occstudio.io.occ3d.read_labels_npz`) accepts only the
Occ3D-nuScenes shape; other shapes are written (the format itself does not fix it) but
read back only with ``numpy.load``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from occstudio.core.errors import DataError
from occstudio.core.persistence import atomic_savez


def _as_labels(values: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 3:
        raise DataError(None, f"{name} must be a 3-D (x, y, z) array, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype.kind not in "biu":
        raise DataError(None, f"{name} must hold integer labels, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise DataError(None, f"{name} holds values outside 0..255")
    return np.ascontiguousarray(arr.astype(np.uint8))


def _as_mask(values: np.ndarray | None, shape: tuple[int, ...], name: str) -> np.ndarray:
    if values is None:
        return np.ones(shape, dtype=np.uint8)
    arr = np.asarray(values)
    if arr.shape != shape:
        raise DataError(None, f"{name} has shape {arr.shape}, expected {shape}")
    return np.ascontiguousarray((arr != 0).astype(np.uint8))


def write_occ3d_labels(
    path: str | Path,
    semantics: np.ndarray,
    mask_lidar: np.ndarray | None = None,
    mask_camera: np.ndarray | None = None,
) -> Path:
    """Write an Occ3D ground-truth ``labels.npz``.

    Parameters
    ----------
    path
        Output file (``labels.npz`` by convention), written atomically.
    semantics
        ``(X, Y, Z)`` labels 0..255 (Occ3D: 0..16 classes, 17 free).
    mask_lidar, mask_camera
        ``(X, Y, Z)`` masks (non-zero = 1); all ones when omitted.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    DataError
        Wrong shapes, non-integer labels or labels outside 0..255.
    """
    sem = _as_labels(semantics, "semantics")
    lidar = _as_mask(mask_lidar, sem.shape, "mask_lidar")
    camera = _as_mask(mask_camera, sem.shape, "mask_camera")
    path = Path(path)
    atomic_savez(path, semantics=sem, mask_lidar=lidar, mask_camera=camera)
    return path


def write_occ3d_prediction(path: str | Path, semantics: np.ndarray) -> Path:
    """Write an Occ3D prediction ``<token>.npz`` (labels under ``arr_0``), atomically."""
    sem = _as_labels(semantics, "prediction")
    path = Path(path)
    atomic_savez(path, arr_0=sem)
    return path
