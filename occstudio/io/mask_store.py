"""Saving edited masks back into a dataset without losing anything.

:func:`save_mask` is the one way occstudio overwrites a mask file:

1. the destination is checked with :class:`~occstudio.core.persistence.SafePaths`
   (inside the dataset root or the sidecar, whatever the manifest says);
2. nothing is written when the mask did not change;
3. the original is copied once to ``<sidecar>/originals/`` before the first overwrite;
4. the mask is written in the file's **own** encoding (:func:`~occstudio.io.images.mask_encoding`:
   a mode ``L`` 0/255 PNG stays ``L`` 0/255, an RGBA alpha mask keeps its RGB), and every
   pixel whose in/out state did not change keeps its exact original value (anti-aliased
   alpha, other labels of a palette file, the colour channels of an RGB mask);
5. the temporary file is read back and must give exactly the edited mask (a lossy
   format such as JPEG is refused here) before it atomically replaces the original.

Amodal3R masks (formats.md §5) are RGB pictures with three classes: background
(white, ≈235-255), visible part (grey ≈188) and occluded part (black 0), with
anti-aliased edges. :func:`read_amodal3r_mask` classifies each pixel by the nearest of
the file's three reference levels; :func:`write_amodal3r_mask` keeps every pixel whose
class did not change, so an unedited round trip is pixel-identical.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.persistence import SafePaths, atomic_write, backup_original
from occstudio.io.images import mask_encoding, read_mask, write_mask

#: Nominal grey levels of the Amodal3R classes: background, visible, occluded.
AMODAL3R_LEVELS = (255, 188, 0)
#: Class codes returned by :func:`amodal3r_classes`.
BACKGROUND, VISIBLE, OCCLUDED = 0, 1, 2
#: A reference level is re-estimated from the file when a class has at least this many pixels.
_MIN_CLASS_PIXELS = 16


# ---------------------------------------------------------------------- helpers


def _raw_pixels(path: Path) -> tuple[np.ndarray, str]:
    """The file's pixel array in its own mode (mode ``1`` as uint8 0/255) and the mode."""
    if not path.exists():
        raise MissingFileError(path, "mask")
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            values = np.asarray(image.convert("L") if mode == "1" else image).copy()
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(path, f"not a readable image ({exc})") from None
    return values, mode


def _format_of(path: Path) -> str:
    """Pillow's format name for a file suffix (PNG when unknown)."""
    return Image.registered_extensions().get(path.suffix.lower(), "PNG")


def _resave_with_pixels(temp: Path, values: np.ndarray, file_format: str) -> None:
    """Replace the pixels of an image just written at ``temp``, keeping its mode/palette."""
    with Image.open(temp) as written:
        written.load()
        mode = written.mode
        palette = written.getpalette() if mode == "P" else None
        info = dict(written.info)
    if mode == "1":
        image = Image.fromarray(values.astype(np.uint8)).convert("1", dither=Image.Dither.NONE)
    elif mode == "P":
        image = Image.frombytes("P", (values.shape[1], values.shape[0]), np.ascontiguousarray(values).tobytes())
        if palette:
            image.putpalette(palette)
    else:
        image = Image.fromarray(np.ascontiguousarray(values))
        if image.mode != mode:
            image = image.convert(mode)
    params: dict[str, Any] = {}
    if "transparency" in info:
        params["transparency"] = info["transparency"]
    image.save(temp, format=file_format, **params)


def _check_shape(path: Path, mask: np.ndarray, size: list[int] | tuple[int, int]) -> None:
    width, height = int(size[0]), int(size[1])
    if mask.shape != (height, width):
        raise DataError(
            path,
            f"the edited mask is {mask.shape[0]}×{mask.shape[1]} but the file is "
            f"{height}×{width} (resize it back to the file's size before saving)",
        )


# ---------------------------------------------------------------------- binary masks


def save_mask(
    path: str | Path,
    mask: np.ndarray,
    root: str | Path,
    sidecar: str | Path,
) -> Path:
    """Save an edited mask over its file, safely, in the file's own encoding.

    Parameters
    ----------
    path
        The mask file (absolute, or relative to ``root``). A new file is written as a
        mode ``L`` 0/255 image in the format of its suffix (PNG when unknown).
    mask
        bool H×W (non-zero is "in"), the size of the file.
    root
        The dataset root; writes outside it (and the sidecar) are refused.
    sidecar
        The sidecar folder (see :func:`~occstudio.core.persistence.sidecar_dir`);
        the original goes to ``<sidecar>/originals/`` before the first overwrite.

    Returns
    -------
    Path
        The file written (symlinks resolved). When the file already holds exactly this
        mask nothing is written (and no backup is made).

    Raises
    ------
    DataError
        The destination is outside the dataset, the mask has the wrong shape, the file
        cannot be read, or the written file would not read back as ``mask`` (e.g. a
        lossy JPEG mask). The original is untouched in every error case.
    """
    guard = SafePaths(root, sidecar)
    target = guard.resolve(path)
    new = np.asarray(mask)
    if new.ndim != 2:
        raise DataError(target, f"a mask must be 2-D (H×W), got shape {new.shape}")
    new = new.astype(bool)

    if target.exists():
        encoding = mask_encoding(target)
        _check_shape(target, new, encoding["size"])
        old_in = read_mask(target)
        changed = old_in != new
        if not changed.any():
            return target
        old_raw, mode = _raw_pixels(target)
        file_format = encoding.get("format") or _format_of(target)
        channels = int(encoding.get("channels", 1))
        # Alpha-like masks (LA/RGBA) keep their colour channels; for RGB masks (blue is
        # the mask) changed pixels get the full on/off colour and unchanged ones are
        # restored from the original below.
        original = target if mode in ("LA", "RGBA") else None
    else:
        encoding = {"format": _format_of(target), "mode": "L", "on_value": 255, "off_value": 0}
        old_raw, changed, original, channels = None, None, None, 1
        file_format = encoding["format"]

    def writer(temp: Path) -> None:
        write_mask(temp, new, encoding, original=original)
        if old_raw is not None:
            written, _ = _raw_pixels(temp)
            keep = ~changed
            if written.shape != old_raw.shape:
                raise DataError(target, f"re-encoding changed the pixel layout {old_raw.shape} -> {written.shape}")
            if channels > 1 and written.ndim == 3:
                differs = (written != old_raw).any(axis=2) & keep
            else:
                differs = (written != old_raw) & keep
            if differs.any():
                written[differs] = old_raw[differs]
                _resave_with_pixels(temp, written, file_format)
        check = read_mask(temp)
        if check.shape != new.shape or not np.array_equal(check, new):
            bad = int(np.count_nonzero(check != new)) if check.shape == new.shape else check.size
            raise DataError(
                target,
                f"cannot save this mask losslessly as {file_format} "
                f"({bad} pixels would read back differently); the original is unchanged",
            )

    if target.exists():
        backup_original(target, guard.root, sidecar)
    return atomic_write(target, writer)


# ---------------------------------------------------------------------- Amodal3R masks


def _grey(values: np.ndarray) -> np.ndarray:
    """Grey level of an L / RGB / RGBA pixel array (mean of the colour channels)."""
    if values.ndim == 2:
        return values.astype(np.float32)
    colour = values[:, :, :3] if values.shape[2] >= 3 else values[:, :, :1]
    return colour.astype(np.float32).mean(axis=2)


def _nearest(grey: np.ndarray, levels: np.ndarray) -> np.ndarray:
    distance = np.abs(grey[:, :, None] - levels[None, None, :].astype(np.float32))
    return np.argmin(distance, axis=2).astype(np.uint8)


def amodal3r_levels(values: np.ndarray) -> np.ndarray:
    """The reference grey levels (background, visible, occluded) of an Amodal3R mask.

    Pixels are first classified by the nominal levels (255, 188, 0); each class with
    enough pixels then takes its most frequent (rounded) grey level as its reference,
    so a file whose background is 235 rather than 255 (the real Amodal3R examples)
    splits its anti-aliased edges at the right place. Falls back to the nominal levels
    when the estimate is not strictly decreasing.
    """
    grey = _grey(values)
    nominal = np.asarray(AMODAL3R_LEVELS, np.float32)
    classes = _nearest(grey, nominal)
    levels = nominal.copy()
    rounded = np.rint(grey).astype(np.int64)
    for code in (BACKGROUND, VISIBLE, OCCLUDED):
        members = rounded[classes == code]
        if members.size >= _MIN_CLASS_PIXELS:
            levels[code] = float(np.argmax(np.bincount(members, minlength=256)))
    if not (levels[BACKGROUND] > levels[VISIBLE] > levels[OCCLUDED]):
        return nominal
    return levels


def amodal3r_classes(values: np.ndarray) -> np.ndarray:
    """Class per pixel (0 background, 1 visible, 2 occluded) of an Amodal3R mask array."""
    return _nearest(_grey(values), amodal3r_levels(values))


def _class_colours(values: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The most frequent pixel value of each class (nominal grey for absent classes)."""
    channels = 1 if values.ndim == 2 else values.shape[2]
    flat = values.reshape(-1, channels)
    colours = np.empty((3, channels), np.uint8)
    for code, level in zip((BACKGROUND, VISIBLE, OCCLUDED), AMODAL3R_LEVELS):
        members = flat[classes.reshape(-1) == code]
        if len(members):
            uniq, counts = np.unique(members, axis=0, return_counts=True)
            colours[code] = uniq[int(np.argmax(counts))]
        else:
            colours[code] = level
            if channels in (2, 4):
                colours[code, -1] = 255
    return colours


def read_amodal3r_mask(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an Amodal3R RGB mask as ``(visible, occluded)`` boolean arrays.

    Each pixel takes the class of the nearest reference grey level (see
    :func:`amodal3r_levels`); the amodal (full object) mask is ``visible | occluded``.

    Raises
    ------
    MissingFileError, DataError
        The file is missing or unreadable.
    """
    path = Path(path)
    values, _ = _raw_pixels(path)
    if values.ndim == 3 and values.shape[2] not in (3, 4):
        raise DataError(path, f"an Amodal3R mask must be grey, RGB or RGBA, got {values.shape[2]} channels")
    classes = amodal3r_classes(values)
    return classes == VISIBLE, classes == OCCLUDED


def _amodal3r_pixels(
    path: Path,
    visible: np.ndarray,
    occluded: np.ndarray,
    original: str | Path | np.ndarray | None,
    colours: np.ndarray | None,
) -> tuple[np.ndarray, str]:
    visible = np.asarray(visible).astype(bool)
    occluded = np.asarray(occluded).astype(bool)
    if visible.ndim != 2 or visible.shape != occluded.shape:
        raise DataError(
            path, f"visible and occluded masks must be 2-D of one shape, got {visible.shape} and {occluded.shape}"
        )
    both = int(np.count_nonzero(visible & occluded))
    if both:
        raise DataError(path, f"{both} pixels are marked both visible and occluded")
    target = np.full(visible.shape, BACKGROUND, np.uint8)
    target[visible] = VISIBLE
    target[occluded] = OCCLUDED
    if original is None:
        base = None
        mode = "RGB"
        palette = np.repeat(np.asarray(AMODAL3R_LEVELS, np.uint8)[:, None], 3, axis=1)
    else:
        if isinstance(original, (str, Path)):
            base, mode = _raw_pixels(Path(original))
        else:
            base = np.asarray(original)
            if base.dtype != np.uint8:
                raise DataError(path, f"the original pixels must be uint8, got {base.dtype}")
            mode = "L" if base.ndim == 2 else {3: "RGB", 4: "RGBA"}.get(base.shape[2], f"{base.shape[2]}-channel")
        if base.shape[:2] != visible.shape:
            raise DataError(
                path,
                f"the original is {base.shape[0]}×{base.shape[1]}, the masks {visible.shape[0]}×{visible.shape[1]}",
            )
        if mode not in ("L", "RGB", "RGBA"):
            raise DataError(path, f"cannot keep an Amodal3R mask of mode {mode}")
        palette = _class_colours(base, amodal3r_classes(base))
    if colours is not None:
        given = np.asarray(colours, np.uint8).reshape(3, -1)
        channels = palette.shape[1]
        palette = palette.copy()
        palette[:, : min(channels, given.shape[1], 3)] = given[:, : min(channels, given.shape[1], 3)]
    if base is None:
        return palette[target], mode
    out = base.copy()
    changed = amodal3r_classes(base) != target
    out[changed] = palette[target[changed]].reshape(out[changed].shape)
    return out, mode


def write_amodal3r_mask(
    path: str | Path,
    visible: np.ndarray,
    occluded: np.ndarray,
    original: str | Path | np.ndarray | None = None,
    colours: Any = None,
) -> None:
    """Write an Amodal3R mask (not atomic: :func:`save_amodal3r_mask` wraps it).

    Parameters
    ----------
    path
        Destination (PNG unless its suffix names another lossless format).
    visible, occluded
        bool H×W, disjoint.
    original
        The mask file (or its pixel array) this edit started from. Every pixel whose
        class is unchanged keeps its exact original value (anti-aliased edges
        included), and the original's mode (L / RGB / RGBA) is kept.
    colours
        Colours for changed pixels, one per class (background, visible, occluded), as
        grey levels or RGB triples. By default each class takes its most frequent
        colour in ``original`` (so edits match the file, e.g. a 235 background), or
        white 255 / grey 188 / black 0 without an original or for a class absent from it.

    Raises
    ------
    DataError
        Shapes differ, a pixel is both visible and occluded, or writing fails.
    """
    path = Path(path)
    given = None
    if colours is not None:
        given = np.asarray(colours, np.uint8)
        if given.ndim == 1:
            given = np.repeat(given[:, None], 3, axis=1)
    values, mode = _amodal3r_pixels(path, visible, occluded, original, given)
    file_format = Image.registered_extensions().get(path.suffix.lower())
    if file_format is None:
        file_format = "PNG"
    try:
        Image.fromarray(np.ascontiguousarray(values)).save(path, format=file_format)
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(path, f"cannot write mask ({exc})") from None


def save_amodal3r_mask(
    path: str | Path,
    visible: np.ndarray,
    occluded: np.ndarray,
    root: str | Path,
    sidecar: str | Path,
) -> Path:
    """Save an edited Amodal3R mask over its file: guard, backup once, atomic, verified.

    Returns
    -------
    Path
        The file written; nothing is written when the classes did not change.

    Raises
    ------
    DataError
        Outside the dataset, shapes differ, overlapping classes, or the written file
        would not read back as the edited classes. The original is then untouched.
    """
    guard = SafePaths(root, sidecar)
    target = guard.resolve(path)
    visible = np.asarray(visible).astype(bool)
    occluded = np.asarray(occluded).astype(bool)
    exists = target.exists()
    if exists:
        old_visible, old_occluded = read_amodal3r_mask(target)
        if old_visible.shape != visible.shape:
            _check_shape(target, visible, (old_visible.shape[1], old_visible.shape[0]))
        if np.array_equal(old_visible, visible) and np.array_equal(old_occluded, occluded):
            return target
    file_format = _format_of(target)

    def writer(temp: Path) -> None:
        values, mode = _amodal3r_pixels(target, visible, occluded, target if exists else None, None)
        try:
            Image.fromarray(np.ascontiguousarray(values)).save(temp, format=file_format)
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(target, f"cannot write mask ({exc})") from None
        check_visible, check_occluded = read_amodal3r_mask(temp)
        if not (np.array_equal(check_visible, visible) and np.array_equal(check_occluded, occluded)):
            raise DataError(
                target, f"cannot save this Amodal3R mask losslessly as {file_format}; the original is unchanged"
            )

    if exists:
        backup_original(target, guard.root, sidecar)
    return atomic_write(target, writer)
