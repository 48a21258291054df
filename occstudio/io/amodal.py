"""Open-world amodal appearance completion outputs, and Amodal3R example folders (formats.md §5).

Open-world amodal completion (format ``"amodal"``)
--------------------------------------------------
Inputs: an image folder, a file list (one image name per line, relative to the input
folder) and an annotation JSON ``{"annotations": [{"filename": ..., "labels": [query,
...]}]}``. The pipeline maps each image to an output folder named by its *basename*
(the file name up to its first dot: ``a/b/cat-1_640.jpg`` -> ``cat-1_640``) and completes
only the **first** label of an image. Outputs per image, in ``<out>/<basename>/``:

``visible_seg.png``
    The visible part found by the VLM (LISA), full image size. LISA saves a
    *visualisation*: the image with the mask tinted red, ``pixel · 0.5 + (127.5, 0, 0)``;
    :func:`read_visible_seg` recovers the mask by comparing with the input image (a
    plain grey/binary mask file is read as "non-zero is in").
``amodal_segmentation.png``
    The amodal (whole-object) mask, RGB 0/255, in **crop** coordinates.
``sd_img_cut.png``
    RGBA crop of the input with the (eroded) visible part opaque.
``amodal_completion.png``
    The completed object, RGBA, in crop coordinates.
``offsets.json``
    Where the crop lies in the image (see below).
``prompt.txt``
    The inpainting prompt (the class the pipeline settled on).

Offsets
-------
Everywhere in occstudio an offset is ``(x, y)`` = (column, row) of the crop's top-left
pixel in the image; it may be negative (the pipeline crops from a padded canvas, so a
completion may extend past the image and is clipped when placed). ``offsets.json`` is
read in any of these forms:

* the pipeline's own ``{"<query>_<n>": [x_offset, y_offset]}``: a list under any other
  key is in the **pipeline's order** ``[row, column]`` (its ``x`` is the numpy row
  axis, from ``np.where`` on the mask) and is swapped into ``(x, y)``;
* ``{"x": X, "y": Y}`` or ``{"row": R, "col": C}`` (also as the value of such a key);
* ``{"offset": [X, Y]}`` or a bare ``[X, Y]``: image order, ``X`` the column.

With several entries, the one whose key starts with the sample's ``prompt.txt`` is used.

Annotation JSON with a trailing comma
-------------------------------------
The shipped example has a trailing comma. :func:`read_annotations` in strict mode raises
a :class:`DataError` naming the file, line and column; in tolerant mode (what
:func:`open_amodal` uses) it removes trailing commas before ``]``/``}`` (outside strings),
reads the result and reports each removed comma (line, column) as a warning.

Amodal3R folders (format ``"amodal3r"``)
----------------------------------------
``NNNNNN.png`` views with ``NNNNNN_mask.png`` RGB masks (white background, grey ≈188
visible part, black occluded part); one sample per view, masks read with
:func:`occstudio.io.mask_store.read_amodal3r_mask` as the layers visible / occluded.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from occstudio.core.dataset import Dataset
from occstudio.core.errors import DataError, MissingFileError, OccStudioError
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.sample import Sample
from occstudio.io.images import read_image, read_mask
from occstudio.io.jsonio import read_json
from occstudio.io.mask_store import read_amodal3r_mask

#: ``Sample.paths`` key -> output file name, per image output folder.
OUTPUT_FILES: dict[str, str] = {
    "visible": "visible_seg.png",
    "amodal": "amodal_segmentation.png",
    "sd_cut": "sd_img_cut.png",
    "completion": "amodal_completion.png",
    "offsets": "offsets.json",
    "prompt": "prompt.txt",
}
#: Output files whose presence marks a folder as one image's outputs.
_MARKERS = ("visible_seg.png", "amodal_completion.png", "amodal_segmentation.png")
#: Sub-folders of an input folder searched for outputs (besides the folder itself).
OUTPUT_DIR_NAMES = ("output", "outputs", "amodal_output", "amodal_outputs", "results")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
_SNIFF_BYTES = 65536
_SNIFF_LIMIT = 64


# ------------------------------------------------------------------ small helpers


def image_basename(filename: str) -> str:
    """The pipeline's output-folder name of an image: its file name up to the first dot."""
    name = PurePosixPath(str(filename).replace("\\", "/")).name
    return name.split(".")[0]


def strip_trailing_commas(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Remove commas that directly precede ``]`` or ``}`` (whitespace between), outside strings.

    Returns
    -------
    text, removed
        The repaired text and the ``(line, column)`` (1-based) of every removed comma.
    """
    out: list[str] = []
    removed: list[tuple[int, int]] = []
    in_string = escaped = False
    line, col = 1, 0
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        col += 1
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == ",":
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j < n and text[j] in "]}":
                removed.append((line, col))
                i += 1
                continue
        if ch == "\n":
            line, col = line + 1, 0
        out.append(ch)
        i += 1
    return "".join(out), removed


def read_annotation_json(path: str | Path, tolerant: bool = False) -> tuple[Any, list[str]]:
    """Read an annotation JSON, optionally tolerating trailing commas.

    Parameters
    ----------
    path
        The JSON file.
    tolerant
        When the file is not valid JSON only because of trailing commas, read it anyway
        and report each comma as a warning.

    Returns
    -------
    doc, warnings
        The decoded document and the warnings (``"<file>: trailing comma at line L,
        column C ..."``).

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        Not UTF-8, or not valid JSON (in tolerant mode: not even without trailing
        commas); the message names the line and column and hints at a trailing comma.
    """
    path = Path(path)
    try:
        return read_json(path), []
    except MissingFileError:
        raise
    except DataError as exc:
        error = exc
    if not tolerant:
        raise error
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise error from None
    fixed, removed = strip_trailing_commas(text)
    if not removed:
        raise error
    try:
        doc = json.loads(fixed)
    except json.JSONDecodeError:
        raise error from None
    warnings = [
        f"{path.name}: trailing comma at line {line}, column {col} is not valid JSON "
        f"(read tolerantly; remove it for other tools)"
        for line, col in removed
    ]
    return doc, warnings


def read_annotations(path: str | Path, tolerant: bool = False) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """Read ``{"annotations": [{"filename": ..., "labels": [...]}, ...]}``.

    Parameters
    ----------
    path
        The annotation JSON.
    tolerant
        Tolerate trailing commas (see :func:`read_annotation_json`) and skip malformed
        entries with a warning instead of failing.

    Returns
    -------
    entries, warnings
        ``(filename, labels)`` in file order (labels as strings; an entry may have
        none), and the warnings.

    Raises
    ------
    MissingFileError, DataError
        Missing or malformed file; no ``annotations`` list; in strict mode also a
        malformed entry (the entry's index is named).
    """
    path = Path(path)
    doc, warnings = read_annotation_json(path, tolerant=tolerant)
    if not isinstance(doc, dict) or not isinstance(doc.get("annotations"), list):
        raise DataError(path, 'expected an object with an "annotations" list')
    entries: list[tuple[str, list[str]]] = []
    for index, entry in enumerate(doc["annotations"]):
        problem = None
        if not isinstance(entry, dict):
            problem = "is not an object"
        elif not isinstance(entry.get("filename"), str) or not entry["filename"].strip():
            problem = 'has no "filename" string'
        elif not isinstance(entry.get("labels", []), list):
            problem = '"labels" is not a list'
        if problem is not None:
            message = f"annotation {index} {problem}"
            if not tolerant:
                raise DataError(path, message)
            warnings.append(f"{path.name}: {message}; skipped")
            continue
        labels = [str(label).strip() for label in entry.get("labels", []) if str(label).strip()]
        entries.append((entry["filename"].strip(), labels))
    stats = doc.get("statistics")
    if isinstance(stats, dict):
        counts = {
            "total_filenames": len({name for name, _ in entries}),
            "total_labels": sum(len(labels) for _, labels in entries),
        }
        for key, actual in counts.items():
            stated = stats.get(key)
            if isinstance(stated, int) and not isinstance(stated, bool) and stated != actual:
                warnings.append(f"{path.name}: statistics say {key} = {stated} but the annotations hold {actual}")
    return entries, warnings


def read_file_list(path: str | Path) -> list[str]:
    """Read an image file list: one name per line; blank lines and ``#`` comments skipped."""
    path = Path(path)
    if not path.exists():
        raise MissingFileError(path, "file list")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(path, "is not UTF-8 text") from None
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror or exc})") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


# ------------------------------------------------------------------------ offsets


def _number(value: Any, path: Path, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise DataError(path, f"{what} must be a finite number, got {value!r}")
    return int(round(float(value)))


def _pair(value: Any, path: Path, what: str, pipeline_order: bool) -> tuple[int, int]:
    """``(x, y)`` from a list or an object value."""
    if isinstance(value, dict):
        if "x" in value and "y" in value:
            return _number(value["x"], path, f"{what}.x"), _number(value["y"], path, f"{what}.y")
        if "row" in value and "col" in value:
            return _number(value["col"], path, f"{what}.col"), _number(value["row"], path, f"{what}.row")
        if "offset" in value:
            return _pair(value["offset"], path, f"{what}.offset", pipeline_order=False)
        raise DataError(
            path, f"{what}: expected keys x/y, row/col or offset, got {', '.join(map(str, value)) or 'none'}"
        )
    if isinstance(value, (list, tuple)) and len(value) == 2:
        a, b = _number(value[0], path, what), _number(value[1], path, what)
        return (b, a) if pipeline_order else (a, b)
    raise DataError(path, f"{what}: expected two numbers, got {value!r}")


def parse_offsets(doc: Any, path: str | Path = "offsets.json") -> dict[str, tuple[int, int]]:
    """Every offset of a decoded ``offsets.json`` as ``{key: (x, y)}`` (see the module notes).

    Generic forms (``{"x", "y"}``, ``{"row", "col"}``, ``{"offset": [...]}``, a bare list)
    come back under the key ``"offset"``.

    Raises
    ------
    DataError
        An unrecognised structure or non-numeric values.
    """
    path = Path(path)
    if isinstance(doc, (list, tuple)):
        return {"offset": _pair(doc, path, "offset", pipeline_order=False)}
    if not isinstance(doc, dict) or not doc:
        raise DataError(path, f"expected an object or [x, y], got {json.dumps(doc)[:60]}")
    if {"x", "y"} <= doc.keys() or {"row", "col"} <= doc.keys() or "offset" in doc:
        return {"offset": _pair(doc, path, "offset", pipeline_order=False)}
    return {str(key): _pair(value, path, str(key), pipeline_order=True) for key, value in doc.items()}


def read_offsets(path: str | Path) -> dict[str, tuple[int, int]]:
    """Read ``offsets.json`` as ``{key: (x, y)}`` (see :func:`parse_offsets`).

    Raises
    ------
    MissingFileError, DataError
        Missing file, malformed JSON (line and column named) or an unknown structure.
    """
    path = Path(path)
    doc, _ = read_annotation_json(path)
    return parse_offsets(doc, path)


def choose_offset(offsets: dict[str, tuple[int, int]], prompt: str | None = None) -> tuple[str, tuple[int, int]]:
    """The entry to use: the one whose key is ``<prompt>_<n>`` (or ``<prompt>``), else the first."""
    if not offsets:
        raise ValueError("no offsets")
    if prompt:
        pattern = re.compile(re.escape(prompt.strip()) + r"(_\d+)?$")
        for key, value in offsets.items():
            if pattern.match(key):
                return key, value
    key = next(iter(offsets))
    return key, offsets[key]


# --------------------------------------------------------------------- compositing


def _region(
    offset: Sequence[int], size: tuple[int, int], shape: tuple[int, int]
) -> tuple[slice, slice, slice, slice] | None:
    """Image and crop slices ``(img_rows, img_cols, crop_rows, crop_cols)`` of the overlap."""
    x, y = int(offset[0]), int(offset[1])
    crop_h, crop_w = size
    height, width = shape
    r0, r1 = max(y, 0), min(y + crop_h, height)
    c0, c1 = max(x, 0), min(x + crop_w, width)
    if r0 >= r1 or c0 >= c1:
        return None
    return slice(r0, r1), slice(c0, c1), slice(r0 - y, r1 - y), slice(c0 - x, c1 - x)


def place_completion(image: np.ndarray, completion_rgba: np.ndarray, offset: Sequence[int]) -> np.ndarray:
    """Composite an RGBA completion over the image at ``offset``.

    Parameters
    ----------
    image
        uint8 H×W×3 (or ×4: the alpha is ignored; or H×W grey).
    completion_rgba
        uint8 h×w×4 in crop coordinates (h×w×3 is pasted opaque).
    offset
        ``(x, y)``: column and row of the completion's top-left pixel in the image; may
        be negative or run past the image (the completion is clipped at the borders).

    Returns
    -------
    numpy.ndarray
        uint8 H×W×3: ``image · (1 − α) + completion · α`` with ``α = alpha / 255``.
    """
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    out = img[:, :, :3].astype(np.float32)
    comp = np.asarray(completion_rgba)
    if comp.ndim != 3 or comp.shape[2] not in (3, 4):
        raise ValueError(f"the completion must be h×w×3 or h×w×4, got shape {comp.shape}")
    region = _region(offset, comp.shape[:2], out.shape[:2])
    if region is not None:
        rows, cols, crows, ccols = region
        patch = comp[crows, ccols]
        colour = patch[:, :, :3].astype(np.float32)
        if comp.shape[2] == 4:
            alpha = patch[:, :, 3:4].astype(np.float32) / 255.0
            out[rows, cols] = out[rows, cols] * (1.0 - alpha) + colour * alpha
        else:
            out[rows, cols] = colour
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def place_mask(mask: np.ndarray, offset: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """A crop-coordinate mask placed in an image of ``shape = (H, W)`` at ``offset = (x, y)``.

    Parts past the image borders are dropped. Returns bool ``(H, W)``.
    """
    mask = np.asarray(mask).astype(bool)
    out = np.zeros((int(shape[0]), int(shape[1])), bool)
    region = _region(offset, mask.shape[:2], out.shape)
    if region is not None:
        rows, cols, crows, ccols = region
        out[rows, cols] = mask[crows, ccols]
    return out


# ------------------------------------------------------------------ visible masks


def read_visible_seg(path: str | Path, image: np.ndarray | None = None) -> np.ndarray:
    """Read ``visible_seg.png`` as a boolean mask of the visible part (image size).

    LISA's file is the image with the mask tinted, ``floor(pixel · 0.5 + (127.5, 0, 0))``.
    With the input ``image`` (same size) each pixel is "in" when it matches the tinted
    value better than the untinted one. Without it, a pixel is "in" when it could be
    tinted (red ≥ 127, green and blue ≤ 127): a heuristic that also catches red
    objects. A grey file (all channels equal) is read as a plain mask, non-zero "in".

    Raises
    ------
    MissingFileError, DataError
        Missing or unreadable file.
    """
    path = Path(path)
    values = read_image(path)
    rgb = values[:, :, :3]
    if np.array_equal(rgb[:, :, 0], rgb[:, :, 1]) and np.array_equal(rgb[:, :, 1], rgb[:, :, 2]):
        return read_mask(path)  # a plain (grey / binary / alpha) mask
    rgb = rgb.astype(np.int16)
    if image is not None:
        img = np.asarray(image)
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        if img.shape[:2] == rgb.shape[:2]:
            base = img[:, :, :3].astype(np.float32)
            tinted = np.floor(base * 0.5 + np.array([127.5, 0.0, 0.0], np.float32)).astype(np.int16)
            d_tinted = np.abs(rgb - tinted).max(axis=2)
            d_plain = np.abs(rgb - base.astype(np.int16)).max(axis=2)
            return d_tinted < d_plain
    return (rgb[:, :, 0] >= 127) & (rgb[:, :, 1] <= 127) & (rgb[:, :, 2] <= 127)


# ------------------------------------------------------------------------ sniffing


def _is_annotation_json(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES).decode("utf-8", "ignore")
    except OSError:
        return False
    return '"annotations"' in head and '"filename"' in head


def _annotation_files(folder: Path) -> list[Path]:
    found = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.lower().endswith(".json") and entry.is_file():
                    path = Path(entry.path)
                    if _is_annotation_json(path):
                        found.append(path)
                    if len(found) >= _SNIFF_LIMIT:
                        break
    except OSError:
        return []
    return sorted(found, key=lambda p: ("annotation" not in p.name.lower(), p.name))


def _is_output_folder(folder: Path) -> bool:
    return any((folder / name).is_file() for name in _MARKERS)


def _output_subfolders(folder: Path, limit: int | None = _SNIFF_LIMIT) -> list[Path]:
    found = []
    try:
        with os.scandir(folder) as entries:
            for i, entry in enumerate(entries):
                if limit is not None and i >= limit * 4:
                    break
                if entry.is_dir() and _is_output_folder(Path(entry.path)):
                    found.append(Path(entry.path))
    except OSError:
        return []
    return sorted(found)


def sniff(path: str | Path) -> float:
    """0.9 for amodal-completion inputs or outputs, 0 otherwise. Never raises.

    Recognised: an annotation JSON (``"annotations"`` with ``"filename"`` entries), a
    folder holding one, an outputs folder (sub-folders with ``visible_seg.png`` /
    ``amodal_completion.png`` / ``amodal_segmentation.png``), or one image's output folder.
    """
    try:
        path = Path(path)
        if path.is_file():
            return 0.9 if path.suffix.lower() == ".json" and _is_annotation_json(path) else 0.0
        if not path.is_dir():
            return 0.0
        if _is_output_folder(path) or _annotation_files(path) or _output_subfolders(path):
            return 0.9
        return 0.0
    except Exception:  # a sniffer must never raise
        return 0.0


# ------------------------------------------------------------------------ opening


def _file_lists(folder: Path) -> list[Path]:
    lists = []
    for p in sorted(folder.glob("*.txt")):
        try:
            names = read_file_list(p)[:8]
        except OccStudioError:
            continue
        if names and all(n.lower().endswith(IMAGE_SUFFIXES) for n in names):
            lists.append(p)
    return sorted(lists, key=lambda p: ("filename" not in p.name.lower() and "list" not in p.name.lower(), p.name))


class _ImageIndex:
    """Resolves image names against the input folder (direct paths, then by file name)."""

    def __init__(self, bases: list[Path]) -> None:
        self.bases = [b for i, b in enumerate(bases) if b not in bases[:i]]
        self._by_name: dict[str, Path] | None = None

    def _index(self) -> dict[str, Path]:
        if self._by_name is None:
            self._by_name = {}
            for base in self.bases:
                for folder in [base, *sorted(p for p in base.iterdir() if p.is_dir())] if base.is_dir() else []:
                    for p in sorted(folder.iterdir()) if folder.is_dir() else []:
                        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
                            self._by_name.setdefault(p.name, p)
                            self._by_name.setdefault(p.name.split(".")[0], p)
        return self._by_name

    def find(self, name: str) -> Path | None:
        rel = name.replace("\\", "/")
        for base in self.bases:
            candidate = base / rel
            if candidate.is_file():
                return candidate
        index = self._index()
        return index.get(PurePosixPath(rel).name) or index.get(image_basename(rel))


def _find_outputs(root: Path, basenames: list[str]) -> Path | None:
    for name in OUTPUT_DIR_NAMES:
        candidate = root / name
        if candidate.is_dir() and (_output_subfolders(candidate, limit=None) or not basenames):
            return candidate
    if any(_is_output_folder(root / b) for b in basenames):
        return root
    return None


def open_amodal(path: str | Path, progress: Progress | None = None, output_dir: str | Path | None = None) -> Dataset:
    """Open open-world amodal completion inputs and/or outputs.

    Parameters
    ----------
    path
        The input folder (annotation JSON, file list, images; outputs in one of
        :data:`OUTPUT_DIR_NAMES` or in ``<basename>/`` folders beside), the annotation
        JSON itself, an outputs folder (``<basename>/`` sub-folders; inputs are looked
        for in its parent), or one image's output folder.
    progress
        Optional progress / cancellation.
    output_dir
        The outputs folder, when it is elsewhere.

    Returns
    -------
    Dataset
        Format ``"amodal"``: one sample per (image, query), in file-list order (then
        annotated images missing from the list), id ``"<basename>/<query>"``.
        ``paths``: ``image``, and from the output folder ``visible``, ``amodal``,
        ``sd_cut``, ``completion``, ``offsets``, ``prompt`` (those present; the others
        are listed in ``missing`` once the dataset has outputs). ``text``: ``query`` and
        ``prompt``. ``meta``: ``basename``, ``filename``, ``label_index``, ``offset``
        (``(x, y)``) and ``offset_key`` when ``offsets.json`` reads, ``output_dir``.
        Only the first label of an image has outputs (the pipeline completes only it).
        ``Dataset.meta``: ``annotations``, ``file_list``, ``outputs`` (paths or None).
        A trailing comma in the annotation JSON becomes a dataset warning naming the
        line and column.

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    DataError
        Nothing recognisable, or an annotation JSON that is malformed beyond trailing
        commas.
    """
    path = Path(path)
    progress = ensure_progress(progress)
    if not path.exists():
        raise MissingFileError(path, "file or folder")
    progress.start(None, "Listing amodal completion files")
    annotation: Path | None = None
    outputs: Path | None = Path(output_dir) if output_dir is not None else None
    only: str | None = None
    if path.is_file():
        if not _is_annotation_json(path):
            raise DataError(path, 'not an amodal annotation JSON (expected {"annotations": [{"filename": ...}]})')
        annotation, input_root = path, path.parent
    elif _is_output_folder(path):
        only, outputs = path.name, outputs or path.parent
        input_root = next((d for d in (path.parent.parent, path.parent) if _annotation_files(d)), path.parent.parent)
    elif _annotation_files(path):
        input_root = path
    elif _output_subfolders(path):
        outputs = outputs or path
        input_root = path.parent
    else:
        raise DataError(path, "no amodal annotation JSON, file list or output folders found")
    if annotation is None:
        candidates = _annotation_files(input_root)
        annotation = candidates[0] if candidates else None
    lists = _file_lists(input_root) if annotation is not None else []
    file_list = lists[0] if lists else None

    dataset = Dataset(format="amodal", source=path, root=input_root if annotation is not None else (outputs or path))
    entries: list[tuple[str, list[str]]] = []
    if annotation is not None:
        entries, warnings = read_annotations(annotation, tolerant=True)
        dataset.warnings.extend(warnings)
    order = _order_entries(entries, file_list, annotation, dataset)
    if outputs is None and annotation is not None:
        outputs = _find_outputs(input_root, [image_basename(name) for name, _ in order])
    if annotation is None and outputs is not None:
        order = [(folder.name, []) for folder in _output_subfolders(outputs, limit=None)]
    if only is not None:
        order = [(n, labels) for n, labels in order if image_basename(n) == only] or [(only, [])]
    dataset.meta.update(annotations=annotation, file_list=file_list, outputs=outputs, layers=("visible", "amodal"))

    bases = [input_root] + ([file_list.parent] if file_list else []) + ([annotation.parent] if annotation else [])
    images = _ImageIndex(bases)
    taken: set[str] = set()
    for name, labels in order:
        progress.check()
        _add_samples(dataset, name, labels, images, outputs, annotation is not None, taken)
    if not dataset.samples:
        raise DataError(path, "no amodal completion samples found")
    progress.update(len(dataset.samples), len(dataset.samples), "Listed amodal completion samples")
    return dataset


def _order_entries(
    entries: list[tuple[str, list[str]]], file_list: Path | None, annotation: Path | None, dataset: Dataset
) -> list[tuple[str, list[str] | None]]:
    """``(image name, labels)`` in file-list order, then annotated images not listed.

    ``labels`` is ``None`` for a listed image without annotation. A basename annotated
    twice keeps its last entry, as the pipeline does.
    """
    by_base: dict[str, tuple[str, list[str]]] = {}
    for name, labels in entries:
        base = image_basename(name)
        if base in by_base and annotation is not None:
            dataset.warnings.append(f"{annotation.name}: image {base!r} is annotated twice; the last entry is used")
        by_base[base] = (name, labels)
    if file_list is None:
        seen: set[str] = set()
        ordered: list[tuple[str, list[str] | None]] = []
        for name, _ in entries:
            base = image_basename(name)
            if base not in seen:
                seen.add(base)
                ordered.append(by_base[base])
        return ordered
    try:
        names = read_file_list(file_list)
    except OccStudioError as exc:
        dataset.warnings.append(f"file list ignored: {exc}")
        return [by_base[b] for b in dict.fromkeys(image_basename(n) for n, _ in entries)]
    ordered = []
    used: set[str] = set()
    unannotated = 0
    for name in names:
        base = image_basename(name)
        if base in used:
            continue
        used.add(base)
        if base in by_base:
            ordered.append((name, by_base[base][1]))
        else:
            unannotated += 1
            ordered.append((name, None))
    if unannotated and annotation is not None:
        dataset.warnings.append(
            f"{file_list.name}: {unannotated} image(s) have no annotation in {annotation.name} (the pipeline skips them)"
        )
    rest = [by_base[b] for b in dict.fromkeys(image_basename(n) for n, _ in entries) if b not in used]
    if rest:
        dataset.warnings.append(f"{len(rest)} annotated image(s) are not in {file_list.name} (the pipeline skips them)")
    return ordered + rest


def _read_prompt(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror or exc})") from None


def _add_samples(
    dataset: Dataset,
    name: str,
    labels: list[str] | None,
    images: _ImageIndex,
    outputs: Path | None,
    has_inputs: bool,
    taken: set[str],
) -> None:
    base = image_basename(name)
    out_dir = outputs / base if outputs is not None else None
    has_out = out_dir is not None and out_dir.is_dir()
    prompt = ""
    if has_out and (out_dir / OUTPUT_FILES["prompt"]).is_file():
        prompt = _read_prompt(out_dir / OUTPUT_FILES["prompt"])
    queries: list[str] = list(labels) if labels else [prompt or ""]
    image = images.find(name) if has_inputs else None
    for k, query in enumerate(queries):
        sid = f"{base}/{query}" if query else base
        if sid in taken:
            sid = f"{sid}#{k + 1}"
        taken.add(sid)
        sample = Sample(id=sid, text={"query": query}, meta={"basename": base, "filename": name, "label_index": k})
        if image is not None:
            sample.paths["image"] = image
        elif has_inputs:
            sample.missing.append(f"image: {name}")
        if labels is None and has_inputs:
            sample.errors.append(f"{name}: no annotation (the pipeline skips this image)")
        if k == 0 and outputs is not None:
            _attach_outputs(sample, out_dir, has_out, prompt)
        elif k > 0:
            sample.meta["note"] = "the pipeline completes only the first label of an image"
        dataset.samples.append(sample)


def _attach_outputs(sample: Sample, out_dir: Path | None, has_out: bool, prompt: str) -> None:
    assert out_dir is not None
    sample.meta["output_dir"] = out_dir
    if not has_out:
        sample.missing.append(f"outputs: {out_dir.name}/ (not completed: skipped, not occluded, or not run yet)")
        return
    for key, filename in OUTPUT_FILES.items():
        p = out_dir / filename
        if p.is_file():
            sample.paths[key] = p
        else:
            sample.missing.append(f"{key}: {out_dir.name}/{filename}")
    if prompt:
        sample.text["prompt"] = prompt
    if (p := sample.path("offsets")) is not None:
        try:
            key, offset = choose_offset(read_offsets(p), prompt)
        except OccStudioError as exc:
            sample.errors.append(str(exc))
        else:
            sample.meta["offset"] = offset
            sample.meta["offset_key"] = key


# ----------------------------------------------------------------------- content


def load_amodal_content(sample: Sample) -> dict[str, Any]:
    """Read what an amodal-completion sample shows; one bad file never hides the rest.

    Returns
    -------
    dict
        ``image`` (uint8 H×W×3), ``visible`` (bool H×W, from ``visible_seg.png``),
        ``amodal_crop`` (bool, crop coordinates), ``amodal`` (bool H×W: the amodal mask
        placed at the offset, clipped), ``completion`` and ``sd_cut`` (uint8 RGBA crops),
        ``composite`` (uint8 H×W×3: the completion placed over the image), ``offset``
        (``(x, y)`` or ``None``), ``query``, ``prompt``, ``missing`` and ``errors``
        (lists of strings). Absent items are ``None``.
    """
    errors: list[str] = list(sample.errors)

    def attempt(func: Any, *args: Any) -> Any:
        try:
            return func(*args)
        except (OccStudioError, OSError, ValueError) as exc:
            errors.append(str(exc))
            return None

    def existing(key: str) -> Path | None:
        p = sample.path(key)
        return p if p is not None and p.is_file() else None

    image = attempt(read_image, p) if (p := existing("image")) is not None else None
    if image is not None and image.shape[2] == 4:
        image = image[:, :, :3]
    visible = attempt(read_visible_seg, p, image) if (p := existing("visible")) is not None else None
    amodal_crop = attempt(read_mask, p) if (p := existing("amodal")) is not None else None
    completion = attempt(read_image, p) if (p := existing("completion")) is not None else None
    sd_cut = attempt(read_image, p) if (p := existing("sd_cut")) is not None else None
    offset = sample.meta.get("offset")
    amodal = composite = None
    if offset is not None and image is not None:
        if amodal_crop is not None:
            amodal = place_mask(amodal_crop, offset, image.shape[:2])
        if completion is not None:
            composite = attempt(place_completion, image, completion, offset)
    return {
        "id": sample.id,
        "image": image,
        "visible": visible,
        "amodal_crop": amodal_crop,
        "amodal": amodal,
        "completion": completion,
        "sd_cut": sd_cut,
        "composite": composite,
        "offset": offset,
        "query": sample.text.get("query", ""),
        "prompt": sample.text.get("prompt", ""),
        "missing": list(sample.missing),
        "errors": errors,
    }


# ---------------------------------------------------------------------- Amodal3R

_MASK_SUFFIX = "_mask"


def _amodal3r_pairs(folder: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """``({stem: image}, {stem: mask})`` of a folder (PNG/JPEG, ``<stem>_mask.<ext>`` masks)."""
    images: dict[str, Path] = {}
    masks: dict[str, Path] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            dot = entry.name.rfind(".")
            if dot <= 0 or entry.name[dot:].lower() not in (".png", ".jpg", ".jpeg"):
                continue
            stem = entry.name[:dot]
            if stem.endswith(_MASK_SUFFIX):
                masks[stem[: -len(_MASK_SUFFIX)]] = Path(entry.path)
            else:
                images[stem] = Path(entry.path)
    return images, masks


def _has_pairs(folder: Path) -> bool:
    try:
        images, masks = _amodal3r_pairs(folder)
    except OSError:
        return False
    return any(stem in images for stem in masks)


def _amodal3r_folders(path: Path) -> list[Path]:
    """``[path]`` when it holds view/mask pairs, else its sub-folders that do (bounded look)."""
    if _has_pairs(path):
        return [path]
    subs = []
    with os.scandir(path) as entries:
        for i, entry in enumerate(entries):
            if i >= _SNIFF_LIMIT * 4:
                break
            if entry.is_dir() and _has_pairs(Path(entry.path)):
                subs.append(Path(entry.path))
    return sorted(subs, key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name))


def sniff_amodal3r(path: str | Path) -> float:
    """0.8 for a folder of ``<view>.png`` + ``<view>_mask.png`` pairs (or a folder of such
    folders), 0 otherwise. Never raises."""
    try:
        path = Path(path)
        return 0.8 if path.is_dir() and _amodal3r_folders(path) else 0.0
    except Exception:  # a sniffer must never raise
        return 0.0


def open_amodal3r(path: str | Path, progress: Progress | None = None) -> Dataset:
    """Open an Amodal3R example folder (or a folder of them).

    Returns
    -------
    Dataset
        Format ``"amodal3r"``; one sample per view, id ``"<view>"`` (``"<folder>/<view>"``
        when ``path`` holds several example folders), ``paths`` ``image`` and ``mask``,
        ``meta["layers"] = ("visible", "occluded")``, ``meta["view"]``. A view without a
        mask (or a mask without its view) is listed in ``missing``.

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    DataError
        No ``<view>.png`` + ``<view>_mask.png`` pair found.
    """
    path = Path(path)
    progress = ensure_progress(progress)
    if not path.exists():
        raise MissingFileError(path, "folder")
    if not path.is_dir():
        raise DataError(path, "is a file; open the Amodal3R example folder")
    folders = _amodal3r_folders(path)
    if not folders:
        raise DataError(path, "no <view>.png + <view>_mask.png pairs found")
    progress.start(len(folders), "Listing Amodal3R views")
    dataset = Dataset(format="amodal3r", source=path, root=path)
    dataset.meta.update(layers=("visible", "occluded"), mask_format="amodal3r")
    nested = folders != [path]
    for folder in folders:
        images, masks = _amodal3r_pairs(folder)
        for stem in sorted(set(images) | set(masks)):
            sid = f"{folder.name}/{stem}" if nested else stem
            sample = Sample(id=sid, meta={"view": stem, "layers": ("visible", "occluded"), "folder": folder.name})
            if stem in images:
                sample.paths["image"] = images[stem]
            else:
                sample.missing.append(f"image: {stem}.png")
            if stem in masks:
                sample.paths["mask"] = masks[stem]
            else:
                sample.missing.append(f"mask: {stem}{_MASK_SUFFIX}.png")
            dataset.samples.append(sample)
        progress.advance()
    return dataset


def load_amodal3r_content(sample: Sample) -> dict[str, Any]:
    """Read an Amodal3R view: ``image`` (uint8 RGB), ``visible``, ``occluded`` and ``amodal``
    (bool H×W; ``amodal = visible | occluded``), ``missing`` and ``errors``.

    A mask of another size than its image is reported in ``errors`` (and still returned).
    """
    errors: list[str] = list(sample.errors)
    image = visible = occluded = amodal = None
    if (p := sample.path("image")) is not None:
        try:
            image = read_image(p)[:, :, :3]
        except OccStudioError as exc:
            errors.append(str(exc))
    if (p := sample.path("mask")) is not None:
        try:
            visible, occluded = read_amodal3r_mask(p)
        except OccStudioError as exc:
            errors.append(str(exc))
        else:
            amodal = visible | occluded
            if image is not None and visible.shape != image.shape[:2]:
                errors.append(
                    f"{p}: mask is {visible.shape[1]}×{visible.shape[0]} but the view is "
                    f"{image.shape[1]}×{image.shape[0]}"
                )
    return {
        "id": sample.id,
        "image": image,
        "visible": visible,
        "occluded": occluded,
        "amodal": amodal,
        "missing": list(sample.missing),
        "errors": errors,
    }
