"""Reading images and masks, and writing masks back in their file's own encoding.

Mask rules (formats.md §1): a pixel is "in" when non-zero; a multi-channel mask uses its
**last** channel (alpha of RGBA/LA, blue of RGB); a mask is resized to its image with
nearest neighbour; with no mask file, the image's alpha is the mask.

Palette (mode ``P``) masks are read by palette index (index 0 is "out"), as in VOC-style
label PNGs. Only Pillow and numpy are used here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from occstudio.core.errors import DataError, MissingFileError

#: Pillow modes holding one integer channel wider than 8 bits.
_WIDE_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N")
#: Exceptions Pillow raises for unreadable, corrupt or truncated files.
_PIL_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)
#: File suffixes Pillow writes, mapped to its format names.
_SUFFIX_FORMATS = {
    ".png": "PNG",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
}


def _open(path: Path) -> Image.Image:
    """Open ``path`` with Pillow (header only), turning failures into clear errors."""
    if not path.exists():
        raise MissingFileError(path, "image")
    if path.is_dir():
        raise DataError(path, "is a folder, not an image")
    try:
        return Image.open(path)
    except UnidentifiedImageError:
        raise DataError(path, "not a readable image (unknown or corrupt format)") from None
    except _PIL_ERRORS as exc:
        raise DataError(path, f"not a readable image ({exc})") from None


def _load(path: str | Path) -> Image.Image:
    """Open and fully decode ``path``; truncated or corrupt data is a :class:`DataError`."""
    path = Path(path)
    image = _open(path)
    try:
        image.load()
    except _PIL_ERRORS as exc:
        kind = image.format or "image"
        text = str(exc)
        if "truncated" in text.lower() or isinstance(exc, EOFError):
            reason = f"truncated {kind}"
        else:
            reason = f"corrupt {kind}: {text}" if text else f"corrupt {kind}"
        image.close()
        raise DataError(path, f"not a readable image ({reason})") from None
    return image


def _wide_to_uint8(values: np.ndarray) -> np.ndarray:
    """Map a 16/32-bit integer or float channel to uint8 for display."""
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        if not finite.any():
            return np.zeros(values.shape, np.uint8)
        lo, hi = float(values[finite].min()), float(values[finite].max())
        scaled = (np.where(finite, values, lo) - lo) / (hi - lo if hi > lo else 1.0)
        return np.round(scaled * 255).astype(np.uint8)
    return (np.clip(values.astype(np.int64), 0, 65535) >> 8).astype(np.uint8)


def _wide_array(image: Image.Image) -> np.ndarray:
    """A single wide channel as uint16 when it fits, else its native integer/float type."""
    values = np.asarray(image)
    if values.dtype.kind in "iu" and values.size and values.min() >= 0 and values.max() <= 65535:
        return values.astype(np.uint16)
    if values.dtype.kind in "iu" and not values.size:
        return values.astype(np.uint16)
    return values


def read_image(path: str | Path, keep_depth: bool = False) -> np.ndarray:
    """Read an image as an array.

    Parameters
    ----------
    path
        Any image file Pillow reads (PNG, JPEG, WebP, BMP, TIFF...).
    keep_depth
        For single-channel images (depth and elevation PNGs), return the raw values as
        an H×W array in their own type (uint16 for 16-bit PNGs, uint8 for 8-bit ones,
        float32 for float TIFFs) instead of an RGB picture. Colour images are unaffected.

    Returns
    -------
    numpy.ndarray
        uint8 H×W×3 (RGB) or H×W×4 (RGBA; images with alpha or palette transparency);
        grayscale is expanded to RGB and 16-bit grayscale is scaled to 8 bits. With
        ``keep_depth`` a single-channel image is returned as H×W raw values.

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        The file is not a readable image (unknown format, corrupt or truncated).
    """
    path = Path(path)
    image = _load(path)
    try:
        mode = image.mode
        if keep_depth and mode in (*_WIDE_MODES, "F", "L", "1"):
            if mode in _WIDE_MODES:
                return _wide_array(image)
            if mode == "1":
                return np.asarray(image.convert("L"))
            return np.asarray(image).copy()
        if mode in _WIDE_MODES or mode == "F":
            gray = _wide_to_uint8(np.asarray(image))
            return np.repeat(gray[:, :, None], 3, axis=2)
        if mode in ("L", "1"):
            gray = np.asarray(image.convert("L"))
            return np.repeat(gray[:, :, None], 3, axis=2)
        if mode in ("LA", "La", "PA", "RGBa", "RGBA"):
            return np.asarray(image.convert("RGBA") if mode != "RGBA" else image).copy()
        if mode == "P":
            has_alpha = "transparency" in image.info
            return np.asarray(image.convert("RGBA" if has_alpha else "RGB")).copy()
        if mode == "RGB":
            return np.asarray(image).copy()
        return np.asarray(image.convert("RGB")).copy()
    except _PIL_ERRORS as exc:
        raise DataError(path, f"not a readable image ({exc})") from None
    finally:
        image.close()


def image_size(path: str | Path) -> tuple[int, int]:
    """The image's ``(width, height)`` from its header, without decoding pixels.

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        The file is not a readable image.
    """
    path = Path(path)
    image = _open(path)
    try:
        return int(image.size[0]), int(image.size[1])
    finally:
        image.close()


def _mask_channel(image: Image.Image) -> np.ndarray:
    """The 2-D channel that carries the mask (the last channel of multi-channel modes)."""
    if image.mode == "1":
        return np.asarray(image.convert("L"))
    values = np.asarray(image)
    if values.ndim == 3:
        return values[:, :, -1]
    return values


def resize_mask_nearest(mask: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Resize a 2-D mask to ``shape = (H, W)`` with nearest neighbour (pixel centres).

    Output pixel ``(i, j)`` takes input pixel ``(floor((i + 0.5)·H_in/H), floor((j +
    0.5)·W_in/W))``, the rule Pillow's ``NEAREST`` uses; values are never blended.
    """
    height, width = int(shape[0]), int(shape[1])
    if height <= 0 or width <= 0:
        raise ValueError(f"mask size must be positive, got {height}×{width}")
    in_h, in_w = mask.shape[:2]
    if (in_h, in_w) == (height, width):
        return mask.copy()
    rows = np.minimum(((np.arange(height) + 0.5) * in_h / height).astype(np.int64), in_h - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * in_w / width).astype(np.int64), in_w - 1)
    return mask[rows[:, None], cols[None, :]]


def read_mask(path: str | Path, shape: Sequence[int] | None = None) -> np.ndarray:
    """Read a mask file as a boolean array.

    Parameters
    ----------
    path
        The mask image. Non-zero pixels are "in"; a multi-channel file uses its last
        channel (alpha of RGBA, blue of RGB); a palette file uses the palette index.
    shape
        ``(H, W)`` to resize to (nearest neighbour), normally the image's size.

    Returns
    -------
    numpy.ndarray
        bool H×W.

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        The file is not a readable image.
    """
    path = Path(path)
    image = _load(path)
    try:
        mask = _mask_channel(image) != 0
    finally:
        image.close()
    if shape is not None:
        try:
            mask = resize_mask_nearest(mask, shape)
        except ValueError as exc:
            raise DataError(path, str(exc)) from None
    return mask


def mask_from_alpha(image: np.ndarray) -> np.ndarray | None:
    """The mask carried by an image's alpha channel (alpha non-zero), or ``None``.

    Parameters
    ----------
    image
        An H×W×C array as returned by :func:`read_image`.

    Returns
    -------
    numpy.ndarray or None
        bool H×W when the image has an alpha channel (C is 2 or 4), else ``None``.
    """
    if image.ndim == 3 and image.shape[2] in (2, 4):
        return image[:, :, -1] != 0
    return None


def _most_frequent(values: np.ndarray) -> Any:
    """The most frequent row of an (N, C) array, or the most frequent scalar of (N,)."""
    if values.ndim == 1:
        uniq, counts = np.unique(values, return_counts=True)
        return uniq[int(np.argmax(counts))].item()
    uniq, counts = np.unique(values, axis=0, return_counts=True)
    return [int(v) for v in uniq[int(np.argmax(counts))]]


def mask_encoding(path: str | Path) -> dict[str, Any]:
    """Describe how a mask file encodes "in" and "out", for writing it back the same way.

    Parameters
    ----------
    path
        An existing mask file.

    Returns
    -------
    dict
        JSON-serialisable description with keys:

        ``format``
            Pillow's format name (``PNG``...).
        ``mode``
            Pillow's mode (``L``, ``1``, ``RGB``, ``RGBA``, ``P``, ``I;16``...).
        ``channels``
            Number of channels; the mask is read from the last one.
        ``size``
            ``[width, height]``.
        ``on_value`` / ``off_value``
            The most frequent pixel value among "in" / "out" pixels: an int for
            single-channel modes, a list of channel values for multi-channel ones.
            Defaults (all-"out" or all-"in" files) are the channel maximum and 0.
        ``values``
            The distinct values of the mask channel (at most 16, else ``None``).
        ``binary``
            Whether the mask channel holds at most two distinct values.
        ``palette``, ``transparency``
            Only for mode ``P``: the palette (flat RGB list) and transparency info.

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        The file is not a readable image.
    """
    path = Path(path)
    image = _load(path)
    try:
        mode = image.mode
        channel = _mask_channel(image)
        full = np.asarray(image.convert("L")) if mode == "1" else np.asarray(image)
        channels = 1 if full.ndim == 2 else int(full.shape[2])
        encoding: dict[str, Any] = {
            "format": image.format or "PNG",
            "mode": mode,
            "channels": channels,
            "size": [int(image.size[0]), int(image.size[1])],
        }
        if mode == "P":
            encoding["palette"] = list(image.getpalette() or [])
            if "transparency" in image.info:
                transparency = image.info["transparency"]
                if isinstance(transparency, bytes):
                    transparency = list(transparency)
                encoding["transparency"] = transparency
    finally:
        image.close()
    inside = channel != 0
    if mode == "1":
        top = 1
    elif mode in _WIDE_MODES:
        top = 65535 if channel.size == 0 or channel.max() <= 65535 else int(channel.max())
    elif mode == "P":
        top = 1
    else:
        top = 255
    pixels = full.reshape(-1, channels) if channels > 1 else full.reshape(-1)
    flat_in = inside.reshape(-1)
    if flat_in.any():
        on_value = _most_frequent(pixels[flat_in])
    else:
        on_value = [top] * channels if channels > 1 else top
    if (~flat_in).any():
        off_value = _most_frequent(pixels[~flat_in])
    else:
        off_value = [0] * channels if channels > 1 else 0
    if mode == "1":
        on_value, off_value = 1, 0
    distinct = np.unique(channel)
    encoding.update(
        on_value=on_value,
        off_value=off_value,
        values=[v.item() for v in distinct] if distinct.size <= 16 else None,
        binary=bool(distinct.size <= 2),
    )
    return encoding


def _as_pixels(value: Any, channels: int, dtype: np.dtype) -> np.ndarray:
    """An encoding value as an array broadcastable over (H, W) or (H, W, C)."""
    array = np.asarray(value, dtype=np.int64)
    if channels > 1 and array.ndim == 0:
        array = np.full(channels, int(array))
    return array.astype(dtype)


def write_mask(
    path: str | Path,
    mask: np.ndarray,
    encoding: dict[str, Any] | None = None,
    original: str | Path | np.ndarray | None = None,
) -> None:
    """Write a boolean mask in a given encoding (see :func:`mask_encoding`).

    ``True`` pixels get the encoding's ``on_value``, ``False`` pixels its ``off_value``.
    For a multi-channel encoding with ``original`` given (an image path or array of the
    same size and channel count), only the last (mask) channel is replaced and the other
    channels keep the original's values, e.g. the RGB of an RGBA alpha mask. The write
    is not atomic; :mod:`occstudio.core.persistence` wraps it.

    Parameters
    ----------
    path
        Destination. Its suffix picks the file format when Pillow knows it; otherwise
        the encoding's ``format`` is used (so temporary names like ``x.png.tmp`` work).
    mask
        bool H×W (any array; non-zero is "in").
    encoding
        A dict from :func:`mask_encoding`; ``None`` writes mode ``L`` 0/255 PNG.
    original
        For multi-channel encodings: the pixels whose other channels to keep.

    Raises
    ------
    DataError
        ``mask`` is not 2-D, ``original`` does not match it, or writing failed.
    """
    path = Path(path)
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise DataError(path, f"a mask must be 2-D (H×W), got shape {mask.shape}")
    inside = mask.astype(bool)
    enc = dict(encoding) if encoding is not None else {"mode": "L", "on_value": 255, "off_value": 0}
    mode = enc.get("mode", "L")
    channels = int(enc.get("channels", 1))
    on_value = enc.get("on_value", 255)
    off_value = enc.get("off_value", 0)
    height, width = inside.shape

    if mode == "1":
        image = Image.fromarray(inside.astype(np.uint8) * 255).convert(
            "1", dither=Image.Dither.NONE
        )
    elif mode in _WIDE_MODES:
        dtype = np.uint16 if max(int(on_value), int(off_value)) <= 65535 else np.int32
        values = np.where(inside, int(on_value), int(off_value)).astype(dtype)
        image = Image.fromarray(values)
    elif channels == 1:
        values = np.where(inside, int(on_value), int(off_value)).astype(np.uint8)
        if mode == "P":
            image = Image.frombytes("P", (width, height), np.ascontiguousarray(values).tobytes())
            palette = enc.get("palette")
            if palette:
                image.putpalette(list(palette))
            if "transparency" in enc:
                transparency = enc["transparency"]
                image.info["transparency"] = (
                    bytes(transparency) if isinstance(transparency, list) else transparency
                )
        else:
            image = Image.fromarray(values)
    else:
        on_px = _as_pixels(on_value, channels, np.uint8)
        off_px = _as_pixels(off_value, channels, np.uint8)
        values = np.where(inside[:, :, None], on_px, off_px).astype(np.uint8)
        if original is not None:
            base = (
                read_image(original) if isinstance(original, (str, Path)) else np.asarray(original)
            )
            if base.shape[:2] != (height, width) or base.ndim != 3 or base.shape[2] < channels - 1:
                raise DataError(
                    path,
                    f"original image of shape {base.shape} does not match the "
                    f"{height}×{width}×{channels} mask encoding",
                )
            values[:, :, : channels - 1] = base[:, :, : channels - 1]
        if channels not in (2, 3, 4):
            raise DataError(path, f"cannot write a {channels}-channel mask")
        image = Image.fromarray(values)

    file_format = _SUFFIX_FORMATS.get(path.suffix.lower()) or enc.get("format") or "PNG"
    params: dict[str, Any] = {}
    if "transparency" in image.info:
        params["transparency"] = image.info["transparency"]
    try:
        image.save(path, format=file_format, **params)
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(path, f"cannot write mask ({exc})") from None
