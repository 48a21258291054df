"""2-D composition of video frames: grid geometry, letterboxed images, mask overlays, text.

Everything here is numpy + Pillow (no VTK): a frame is a ``uint8`` ``H×W×3`` array, panels
are pasted into it by slicing, and text is drawn with :mod:`PIL.ImageDraw` on the slice
it belongs to. Fonts come from Pillow's bundled scalable default font, so output looks
the same on every machine (no system font lookup).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

RGB = tuple[int, int, int]

#: Frame background (around panels, title bars, footer).
CANVAS_BG: RGB = (255, 255, 255)
#: Panel background (3-D views, letterboxed images); the GUI's 3-D view colour.
PANEL_BG: RGB = (244, 245, 247)
#: Title text colour.
TITLE_FG: RGB = (40, 44, 52)
#: Secondary text colour (footer, placeholders).
MUTED_FG: RGB = (110, 116, 126)
#: Mask overlay colour.
MASK_COLOR: RGB = (255, 140, 0)


@dataclass(frozen=True)
class Rect:
    """A pixel rectangle: top-left ``(x, y)`` and size ``(w, h)``."""

    x: int
    y: int
    w: int
    h: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices selecting the rectangle in an ``H×W×C`` array."""
        return slice(self.y, self.y + self.h), slice(self.x, self.x + self.w)


@dataclass(frozen=True)
class PanelGeometry:
    """Where one panel goes: its title bar and its content area."""

    title: Rect
    content: Rect


@dataclass(frozen=True)
class FrameGeometry:
    """The geometry of a frame: panel rectangles (row by row) and the footer strip."""

    size: tuple[int, int]
    panels: list[list[PanelGeometry]]
    footer: Rect
    title_font: int
    footer_font: int


def parse_color(color: str | Sequence[int]) -> RGB:
    """``"#rrggbb"`` or an ``(r, g, b)`` sequence as an RGB tuple of ints."""
    if isinstance(color, str):
        text = color.strip().lstrip("#")
        if len(text) != 6:
            raise ValueError(f"colour must look like #rrggbb, got {color!r}")
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    r, g, b = (int(v) for v in color)
    return r, g, b


def even_size(size: Sequence[int]) -> tuple[int, int]:
    """``(width, height)`` rounded down to even numbers (H.264 with yuv420p needs them)."""
    w, h = (int(v) for v in size)
    return w - w % 2, h - h % 2


@functools.lru_cache(maxsize=32)
def get_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled scalable font at ``size`` px (the bitmap default on old Pillow)."""
    try:
        return ImageFont.load_default(size=max(6, int(size)))
    except TypeError:  # Pillow < 10.1: no sizes
        return ImageFont.load_default()


def text_width(text: str, size: int) -> int:
    """Rendered width of ``text`` in pixels at font ``size``."""
    box = get_font(size).getbbox(text)
    return int(box[2] - box[0])


def elide(text: str, size: int, max_width: int) -> str:
    """``text``, shortened with an ellipsis in the middle to fit ``max_width`` pixels."""
    if text_width(text, size) <= max_width or len(text) <= 3:
        return text
    lo, hi = 1, len(text)
    best = "…"
    while lo <= hi:
        keep = (lo + hi) // 2
        head = (keep + 1) // 2
        candidate = text[:head] + "…" + text[len(text) - (keep - head):] if keep - head else text[:head] + "…"
        if text_width(candidate, size) <= max_width:
            best, lo = candidate, keep + 1
        else:
            hi = keep - 1
    return best


def draw_text(
    canvas: np.ndarray,
    rect: Rect,
    text: str,
    size: int,
    color: RGB = TITLE_FG,
    align: str = "center",
    background: RGB | None = None,
    padding: int = 4,
) -> None:
    """Draw one line of ``text`` inside ``rect`` of ``canvas`` (in place).

    Parameters
    ----------
    canvas
        ``uint8`` ``H×W×3`` frame.
    rect
        Where the line goes; the text is centred vertically and elided to fit.
    text
        The text.
    size
        Font size in pixels.
    color
        Text colour.
    align
        ``"left"``, ``"center"`` or ``"right"``.
    background
        Fill ``rect`` with this colour first (``None``: draw over what is there).
    padding
        Horizontal margin in pixels.
    """
    if rect.w <= 0 or rect.h <= 0:
        return
    region = canvas[rect.slices]
    if background is not None:
        region[:] = background
    if not text:
        return
    image = Image.fromarray(region)
    draw = ImageDraw.Draw(image)
    font = get_font(size)
    text = elide(text, size, max(1, rect.w - 2 * padding))
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    tw = right - left
    if align == "left":
        x = padding - left
    elif align == "right":
        x = rect.w - padding - tw - left
    else:
        x = (rect.w - tw) // 2 - left
    # centre the font's line box (not the glyphs), so titles with and without
    # descenders share one baseline
    try:
        ascent, descent = font.getmetrics()  # type: ignore[union-attr]
    except AttributeError:
        ascent, descent = size, 0
    y = (rect.h - (ascent + descent)) // 2
    draw.text((x, y), text, font=font, fill=tuple(color))
    region[:] = np.asarray(image)


def draw_lines(
    canvas: np.ndarray,
    rect: Rect,
    lines: Sequence[str],
    size: int,
    color: RGB = TITLE_FG,
    align: str = "center",
    spacing: float = 1.5,
) -> None:
    """Draw several lines of text centred vertically as a block inside ``rect``."""
    if not lines or rect.h <= 0:
        return
    step = max(1, int(round(size * spacing)))
    total = step * len(lines)
    y = rect.y + max(0, (rect.h - total) // 2)
    for line in lines:
        if y + step > rect.y + rect.h:
            break
        draw_text(canvas, Rect(rect.x, y, rect.w, step), line, size, color, align)
        y += step


def draw_legend(
    canvas: np.ndarray,
    rect: Rect,
    entries: Sequence[tuple[str, RGB | None]],
    size: int,
    color: RGB = TITLE_FG,
    max_rows: int = 8,
) -> None:
    """Draw a small legend (a colour swatch and a name per entry) in the bottom-left corner
    of ``rect``, over a translucent backing, in place; an entry without a colour is a
    heading; at most ``max_rows`` entries (the rest are summarised as "+N more")."""
    if not entries or rect.w < 40 or rect.h < 30:
        return
    shown = list(entries[:max_rows])
    if len(entries) > max_rows:
        shown.append((f"+{len(entries) - max_rows} more", None))
    row_h = max(10, int(size * 1.35))
    width = min(rect.w - 8, max(text_width(name, size) for name, _ in shown) + row_h + 14)
    height = min(rect.h - 8, row_h * len(shown) + 6)
    x0, y0 = rect.x + 4, rect.y + rect.h - height - 4
    region = canvas[y0:y0 + height, x0:x0 + width]
    region[:] = (region.astype(np.uint16) * 2 // 5 + np.array(PANEL_BG, np.uint16) * 3 // 5).astype(np.uint8)
    for k, (name, swatch) in enumerate(shown):
        y = y0 + 3 + k * row_h
        if y + row_h > y0 + height:
            break
        if swatch is not None:
            pad = max(2, row_h // 5)
            canvas[y + pad:y + row_h - pad, x0 + 4:x0 + 4 + row_h - 2 * pad] = swatch
        draw_text(canvas, Rect(x0 + row_h + 2, y, width - row_h - 4, row_h), name, size, color, align="left", padding=2)


def grid_geometry(
    size: Sequence[int],
    row_counts: Sequence[int],
    title_bars: bool = True,
    footer: bool = True,
) -> FrameGeometry:
    """Split a frame into rows of equal height, each split into equal columns.

    Parameters
    ----------
    size
        ``(width, height)`` of the frame.
    row_counts
        Number of panels in each row.
    title_bars
        Reserve a title bar above each panel.
    footer
        Reserve a strip at the bottom for the sample id and frame number.
    """
    width, height = (int(v) for v in size)
    if not row_counts or min(row_counts) < 1:
        raise ValueError(f"every row needs at least one panel, got {list(row_counts)}")
    title_h = max(14, round(height * 0.055)) if title_bars else 0
    footer_h = max(12, round(height * 0.045)) if footer else 0
    gap = max(2, round(min(width, height) * 0.006))
    n_rows = len(row_counts)
    avail_h = height - footer_h - gap * (n_rows + 1)
    row_h = avail_h // n_rows
    if row_h - title_h < 8:
        raise ValueError(f"frame {width}×{height} is too small for {n_rows} row(s) of panels")
    panels: list[list[PanelGeometry]] = []
    y = gap
    for count in row_counts:
        col_w = (width - gap * (count + 1)) // count
        if col_w < 8:
            raise ValueError(f"frame {width}×{height} is too narrow for {count} panels in a row")
        row = []
        x = gap
        for _ in range(count):
            title = Rect(x, y, col_w, title_h)
            content = Rect(x, y + title_h, col_w, row_h - title_h)
            row.append(PanelGeometry(title, content))
            x += col_w + gap
        panels.append(row)
        y += row_h + gap
    footer_rect = Rect(0, height - footer_h, width, footer_h)
    return FrameGeometry(
        size=(width, height),
        panels=panels,
        footer=footer_rect,
        title_font=max(9, round(title_h * 0.62)),
        footer_font=max(8, round(footer_h * 0.6)),
    )


def fit_image(
    image: np.ndarray, width: int, height: int, background: RGB = PANEL_BG, resample: int = Image.BILINEAR
) -> np.ndarray:
    """``image`` scaled to fit ``width×height`` keeping its aspect, centred on ``background``.

    RGBA images are composited over ``background``; grey images are expanded to RGB.
    """
    out = np.empty((height, width, 3), np.uint8)
    out[:] = background
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.shape[2] == 4:
        alpha = img[:, :, 3:4].astype(np.float32) / 255.0
        bg = np.asarray(background, np.float32)
        img = (img[:, :, :3] * alpha + bg * (1 - alpha) + 0.5).astype(np.uint8)
    elif img.shape[2] != 3:
        img = img[:, :, :3]
    ih, iw = img.shape[:2]
    if ih == 0 or iw == 0 or width <= 0 or height <= 0:
        return out
    scale = min(width / iw, height / ih)
    nw, nh = max(1, int(round(iw * scale))), max(1, int(round(ih * scale)))
    if (nw, nh) != (iw, ih):
        img = np.asarray(Image.fromarray(np.ascontiguousarray(img)).resize((nw, nh), resample))
    x0, y0 = (width - nw) // 2, (height - nh) // 2
    out[y0:y0 + nh, x0:x0 + nw] = img
    return out


def overlay_mask(
    image: np.ndarray, mask: np.ndarray, color: RGB = MASK_COLOR, alpha: float = 0.45, outline: int = 2
) -> np.ndarray:
    """``image`` (RGB) with ``mask`` tinted in ``color`` and its boundary drawn solid.

    Parameters
    ----------
    image
        ``uint8`` ``H×W×3``.
    mask
        bool ``H×W`` (the same size).
    color
        Tint and outline colour.
    alpha
        Tint opacity inside the mask.
    outline
        Outline thickness in pixels (0: none).
    """
    out = image[:, :, :3].astype(np.float32)
    m = np.asarray(mask, bool)
    c = np.asarray(color, np.float32)
    out[m] = out[m] * (1 - alpha) + c * alpha
    if outline > 0 and m.any():
        edge = _boundary(m, outline)
        out[edge] = c
    return (out + 0.5).astype(np.uint8)


def _boundary(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels of ``mask`` within ``width`` pixels of its outside (4-neighbourhood erosion)."""
    inner = mask.copy()
    for _ in range(width):
        eroded = inner.copy()
        eroded[1:, :] &= inner[:-1, :]
        eroded[:-1, :] &= inner[1:, :]
        eroded[:, 1:] &= inner[:, :-1]
        eroded[:, :-1] &= inner[:, 1:]
        eroded[0, :] = eroded[-1, :] = False
        eroded[:, 0] = eroded[:, -1] = False
        inner = eroded
    return mask & ~inner


def placeholder(width: int, height: int, text: str, background: RGB = PANEL_BG) -> np.ndarray:
    """A panel-sized block of ``background`` with ``text`` centred in muted grey."""
    out = np.empty((height, width, 3), np.uint8)
    out[:] = background
    draw_text(out, Rect(0, 0, width, height), text, max(9, min(height // 10, width // 14)), MUTED_FG)
    return out


def image_grid(images: Sequence[np.ndarray], width: int, height: int, background: RGB = PANEL_BG) -> np.ndarray:
    """Tile ``images`` (letterboxed) in the most square grid that fills ``width×height``."""
    out = np.empty((height, width, 3), np.uint8)
    out[:] = background
    n = len(images)
    if n == 0:
        return out
    best = (1, n)
    best_cell = -1.0
    for cols in range(1, n + 1):
        rows = -(-n // cols)
        cw, ch = width / cols, height / rows
        cell = min(cw, ch)
        if cell > best_cell:
            best, best_cell = (rows, cols), cell
    rows, cols = best
    gap = 2
    cw = (width - gap * (cols - 1)) // cols
    ch = (height - gap * (rows - 1)) // rows
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        x, y = c * (cw + gap), r * (ch + gap)
        out[y:y + ch, x:x + cw] = fit_image(img, cw, ch, background)
    return out


def title_card(size: Sequence[int], lines: Sequence[str], background: RGB = CANVAS_BG) -> np.ndarray:
    """A full frame with ``lines`` centred: the first large, the rest smaller."""
    width, height = (int(v) for v in size)
    out = np.empty((height, width, 3), np.uint8)
    out[:] = background
    if not lines:
        return out
    big = max(12, height // 12)
    small = max(9, height // 22)
    block = [(lines[0], big, TITLE_FG)] + [(line, small, MUTED_FG) for line in lines[1:]]
    total = sum(int(s * 1.6) for _, s, _ in block)
    y = max(0, (height - total) // 2)
    for text, s, color in block:
        step = int(s * 1.6)
        draw_text(out, Rect(0, y, width, step), text, s, color)
        y += step
    return out


def sparkline(
    canvas: np.ndarray, rect: Rect, values: Sequence[float], current: int, color: RGB = (60, 110, 200)
) -> None:
    """Draw ``values`` as a polyline in ``rect`` with a dot at index ``current`` (in place)."""
    vals = np.asarray(values, dtype=float)
    finite = np.isfinite(vals)
    if rect.w < 4 or rect.h < 4 or len(vals) < 2 or not finite.any():
        return
    lo, hi = float(vals[finite].min()), float(vals[finite].max())
    span = hi - lo if hi > lo else 1.0
    xs = rect.x + 2 + (rect.w - 5) * np.arange(len(vals)) / (len(vals) - 1)
    ys = rect.y + rect.h - 3 - (rect.h - 6) * (np.where(finite, vals, lo) - lo) / span
    region = canvas[rect.slices]
    image = Image.fromarray(region)
    draw = ImageDraw.Draw(image)
    pts = [(float(x - rect.x), float(y - rect.y)) for x, y in zip(xs, ys)]
    draw.line(pts, fill=tuple(color), width=max(1, rect.h // 20))
    k = int(np.clip(current, 0, len(vals) - 1))
    r = max(2, rect.h // 12)
    cx, cy = pts[k]
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(220, 60, 40))
    region[:] = np.asarray(image)
