"""Conversions between numpy arrays and ``QImage`` for display.

Arrays are normalised to 8 bits per channel first (:func:`to_display_uint8`): uint16
images (depth, elevation) are stretched so that their maximum maps to 255, float images
in ``[0, 1]`` are scaled by 255, booleans become 0/255. The ``QImage`` returned by
:func:`array_to_qimage` owns a copy of the pixels, so the array may be freed afterwards.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def to_display_uint8(a: np.ndarray) -> np.ndarray:
    """Normalise an image array to uint8 ``H×W``, ``H×W×3`` or ``H×W×4`` for display.

    Parameters
    ----------
    a
        ``H×W`` (grey), ``H×W×1``, ``H×W×2`` (grey + alpha), ``H×W×3`` (RGB) or
        ``H×W×4`` (RGBA) array of dtype bool, uint8, uint16, other integers or float.
        Integers wider than 8 bits are scaled linearly from 0 to the array maximum;
        floats are taken as ``[0, 1]`` when their maximum is at most 1, else as
        ``[0, 255]``; the result is clipped.

    Returns
    -------
    numpy.ndarray
        A C-contiguous uint8 array with 2 dimensions (grey) or 3 with 3 or 4 channels.

    Raises
    ------
    ValueError
        The array does not have an image shape.
    """
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (2, 3, 4)):
        raise ValueError(f"not an image array: shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"empty image array: shape {a.shape}")
    if a.dtype == np.bool_:
        out = a.astype(np.uint8) * 255
    elif a.dtype == np.uint8:
        out = a
    elif np.issubdtype(a.dtype, np.integer):
        top = float(a.max())
        scale = 255.0 / top if top > 0 else 0.0
        out = np.clip(a.astype(np.float64) * scale, 0, 255).round().astype(np.uint8)
    elif np.issubdtype(a.dtype, np.floating):
        finite = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if finite.size and finite.max() <= 1.0 else 1.0
        out = np.clip(finite * scale, 0, 255).round().astype(np.uint8)
    else:
        raise ValueError(f"unsupported image dtype {a.dtype}")
    if out.ndim == 3 and out.shape[2] == 2:  # grey + alpha -> RGBA
        out = np.dstack([out[:, :, 0]] * 3 + [out[:, :, 1]])
    return np.ascontiguousarray(out)


def to_rgb_uint8(a: np.ndarray) -> np.ndarray:
    """Any displayable image as uint8 ``H×W×3`` or ``H×W×4`` (grey is replicated)."""
    out = to_display_uint8(a)
    if out.ndim == 2:
        out = np.repeat(out[:, :, None], 3, axis=2)
    return out


def array_to_qimage(a: np.ndarray) -> QImage:
    """Convert an image array to a ``QImage`` that owns its pixels.

    Parameters
    ----------
    a
        Any array :func:`to_display_uint8` accepts (uint8 grey / RGB / RGBA, uint16
        scaled for display, bool, float).

    Returns
    -------
    QImage
        ``Format_Grayscale8``, ``Format_RGB888`` or ``Format_RGBA8888`` (not
        premultiplied), independent of ``a``'s memory.
    """
    data = to_display_uint8(a)
    h, w = data.shape[:2]
    if data.ndim == 2:
        fmt = QImage.Format.Format_Grayscale8
    elif data.shape[2] == 3:
        fmt = QImage.Format.Format_RGB888
    else:
        fmt = QImage.Format.Format_RGBA8888
    img = QImage(data.data, w, h, int(data.strides[0]), fmt)
    return img.copy()  # detach from the numpy buffer


def qimage_to_array(img: QImage) -> np.ndarray:
    """Convert a ``QImage`` to a uint8 numpy array (a copy).

    Parameters
    ----------
    img
        Any ``QImage``.

    Returns
    -------
    numpy.ndarray
        ``H×W`` for grey formats, ``H×W×4`` (RGBA, not premultiplied) for formats with
        an alpha channel, ``H×W×3`` (RGB) otherwise.
    """
    if img.isNull():
        return np.zeros((0, 0, 3), np.uint8)
    if img.format() in (QImage.Format.Format_Grayscale8, QImage.Format.Format_Grayscale16):
        conv, channels = img.convertToFormat(QImage.Format.Format_Grayscale8), 1
    elif img.hasAlphaChannel():
        conv, channels = img.convertToFormat(QImage.Format.Format_RGBA8888), 4
    else:
        conv, channels = img.convertToFormat(QImage.Format.Format_RGB888), 3
    h, w, bpl = conv.height(), conv.width(), conv.bytesPerLine()
    buf = np.frombuffer(conv.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    arr = buf[:, : w * channels].reshape(h, w, channels).copy()
    return arr[:, :, 0] if channels == 1 else arr
