"""The ExtremeOcc-3D manifest loader (RelaxFlow's amodal 3D benchmark, formats.md §1).

A manifest is a JSON list of entries, ``{"samples": [...]}`` or JSON Lines; each entry
names an occluded scene ``image``, the visible-part ``mask``, an isolated
``obs_object_image``, priors, a category text and ground truth (multi-view renders, a
mesh, a point cloud). The RelaxFlow runner's field aliases are accepted and normalised
into :attr:`Sample.paths` keys:

=================  ===============================================================
key                read from (first present wins)
=================  ===============================================================
image              ``image``
mask               ``mask``
obs_object_image   ``obs_object_image``, ``rendered``, ``full_object_image``
prior_images       ``prior_images``, ``prior_image`` (list, or a string split on
                   commas / whitespace)
prior_masks        ``prior_masks``, ``prior_mask`` (same)
gt_render_dir      ``gt_render_dir`` (or ``gt_images`` given as a folder)
gt_images          ``gt_images`` as a list of files, else the images in
                   ``gt_render_dir`` (.png/.jpg/.jpeg/.webp) sorted by name
gt_mesh            ``gt_mesh``
gt_pointcloud      ``gt_pointcloud``
=================  ===============================================================

``Sample.text["prior_text"]`` comes from ``prior_text``, ``text`` or ``prompt``. The
raw key each value came from is kept in ``Sample.meta["keys"]`` so a writer can put
edits back under the same name. Only references are resolved here; pixels and meshes
are read on demand.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from occstudio.core.dataset import Dataset
from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.sample import Sample
from occstudio.io.jsonio import read_json, read_json_lines

#: Manifest file names looked for in a dataset folder, in order of preference.
MANIFEST_NAMES = ("manifest_with_priors.json", "manifest.json", "manifest.jsonl")
#: Image suffixes of GT render folders and prior folders.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")

#: Single-path fields: normalised key -> raw keys (aliases), first present wins.
SINGLE_FIELDS: dict[str, tuple[str, ...]] = {
    "image": ("image",),
    "mask": ("mask",),
    "obs_object_image": ("obs_object_image", "rendered", "full_object_image"),
    "gt_mesh": ("gt_mesh",),
    "gt_pointcloud": ("gt_pointcloud",),
}
#: Multi-path fields: normalised key -> raw keys.
LIST_FIELDS: dict[str, tuple[str, ...]] = {
    "prior_images": ("prior_images", "prior_image"),
    "prior_masks": ("prior_masks", "prior_mask"),
}
#: Text fields: normalised key -> raw keys.
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "prior_text": ("prior_text", "text", "prompt"),
}
#: Raw keys that mark a JSON object as an ExtremeOcc entry (for sniffing).
ENTRY_KEYS = frozenset(
    {
        "image",
        "mask",
        "obs_object_image",
        "rendered",
        "full_object_image",
        "prior_images",
        "prior_image",
        "prior_masks",
        "prior_mask",
        "prior_text",
        "gt_render_dir",
        "gt_images",
        "gt_mesh",
        "gt_pointcloud",
    }
)
#: Files larger than this are sniffed from their beginning only.
_SNIFF_FULL_PARSE_BYTES = 16 << 20
_SNIFF_HEAD_BYTES = 64 << 10


# --------------------------------------------------------------------------- sniffing


def _entry_score(entries: list[Any]) -> float:
    """How much the first entries of a list look like ExtremeOcc entries."""
    probe = [e for e in entries[:5]]
    if not probe:
        return 0.0
    dicts = [e for e in probe if isinstance(e, dict)]
    if not dicts:
        return 0.0
    known = [e for e in dicts if ENTRY_KEYS & set(e)]
    if not known:
        return 0.0
    with_id = [e for e in known if "id" in e]
    if len(with_id) == len(probe):
        return 0.9
    if with_id:
        return 0.7
    return 0.5


def _entries_of(document: Any) -> list[Any] | None:
    """The entry list of a parsed manifest document, or ``None`` if it has none."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("samples"), list):
        return document["samples"]
    return None


def _sniff_jsonl(path: Path) -> float:
    entries: list[Any] = []
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_HEAD_BYTES)
    lines = head.decode("utf-8-sig", errors="replace").splitlines()
    if len(head) == _SNIFF_HEAD_BYTES and lines:
        lines = lines[:-1]  # the last line may be cut
    for line in lines:
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
        if len(entries) >= 5:
            break
    return _entry_score(entries)


_HEAD_KEY = re.compile('"(' + "|".join(sorted(ENTRY_KEYS)) + r')"\s*:')


def _sniff_json(path: Path) -> float:
    size = path.stat().st_size
    if size <= _SNIFF_FULL_PARSE_BYTES:
        try:
            document = json.loads(path.read_bytes().decode("utf-8-sig"))
        except ValueError:
            # Possibly JSON Lines saved as .json, or malformed: judge the first line.
            score = _sniff_jsonl(path)
            if score:
                return score
            head = path.read_bytes()[:_SNIFF_HEAD_BYTES].decode("utf-8", errors="replace")
            return 0.3 if head.lstrip()[:1] in "[{" and _HEAD_KEY.search(head) else 0.0
        entries = _entries_of(document)
        return _entry_score(entries) if entries is not None else 0.0
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_HEAD_BYTES).decode("utf-8-sig", errors="replace").lstrip()
    if head.startswith("[") and '"id"' in head and _HEAD_KEY.search(head):
        return 0.6
    if (
        head.startswith("{")
        and re.match(r'\{\s*"samples"\s*:\s*\[', head)
        and _HEAD_KEY.search(head)
    ):
        return 0.6
    return 0.0


def sniff(path: str | Path) -> float:
    """Confidence in [0, 1] that ``path`` is an ExtremeOcc-3D manifest or dataset folder.

    A folder scores when it holds ``manifest_with_priors.json`` / ``manifest.json`` /
    ``manifest.jsonl`` whose entries look like ExtremeOcc entries; a ``.json`` /
    ``.jsonl`` file scores when its first entries have ``id`` and keys such as
    ``image``, ``mask``, ``gt_mesh`` or ``prior_text``. Other JSON (an Occ3D
    ``annotations.json``, a LeRobot ``meta/info.json``) scores 0. Never raises.
    """
    try:
        path = Path(path)
        if path.is_dir():
            for name in MANIFEST_NAMES:
                candidate = path / name
                if candidate.is_file():
                    score = sniff(candidate)
                    # A folder with a manifest that cannot be judged is still likely ours.
                    return max(score, 0.5) if score > 0 else 0.2
            return 0.0
        if not path.is_file():
            return 0.0
        suffix = path.suffix.lower()
        if suffix in (".jsonl", ".ndjson"):
            score = _sniff_jsonl(path)
        elif suffix == ".json":
            score = _sniff_json(path)
        else:
            return 0.0
        # A file named like a manifest that cannot be judged (e.g. malformed JSON) is
        # still ours, so that opening it reports the parse error with line and column.
        if score == 0.0 and path.name in MANIFEST_NAMES:
            return 0.2
        return score
    except Exception:  # noqa: BLE001 (a sniffer must never raise)
        return 0.0


# --------------------------------------------------------------------------- reading


def find_manifest(folder: Path) -> Path:
    """The manifest of a dataset folder: ``manifest_with_priors.json`` first.

    Raises
    ------
    DataError
        The folder holds none of :data:`MANIFEST_NAMES`.
    """
    for name in MANIFEST_NAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise DataError(folder, f"no manifest in this folder (looked for {', '.join(MANIFEST_NAMES)})")


def _looks_like_jsonl(path: Path) -> bool:
    """Whether a file that failed to parse as one JSON document is JSON Lines."""
    try:
        with path.open("rb") as handle:
            first = handle.readline().decode("utf-8-sig").strip()
        value = json.loads(first)
    except (OSError, ValueError):
        return False
    return isinstance(value, dict) and "samples" not in value


def read_manifest_entries(path: Path) -> tuple[list[Any], str, dict[str, Any], list[str]]:
    """Read a manifest file's entries.

    Returns
    -------
    entries, wrapper, extra, warnings
        The raw entries; the wrapper (``"list"``, ``"samples"`` or ``"jsonl"``); the other
        top-level keys of a ``{"samples": [...]}`` document (to keep on write); warnings
        (malformed JSON Lines).

    Raises
    ------
    MissingFileError, DataError
        The file is missing, malformed, or not a manifest.
    """
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        entries, warnings = read_json_lines(path)
        return entries, "jsonl", {}, warnings
    try:
        document = read_json(path)
    except MissingFileError:
        raise
    except DataError:
        if _looks_like_jsonl(path):
            entries, warnings = read_json_lines(path)
            return entries, "jsonl", {}, warnings
        raise
    if isinstance(document, list):
        return document, "list", {}, []
    if isinstance(document, dict) and "samples" in document:
        if not isinstance(document["samples"], list):
            kind = type(document["samples"]).__name__
            raise DataError(path, f'"samples" must be a list of entries, got {kind}')
        extra = {k: v for k, v in document.items() if k != "samples"}
        return document["samples"], "samples", extra, []
    if isinstance(document, dict):
        keys = ", ".join(list(document)[:8]) or "none"
        raise DataError(
            path,
            f'expected a list of entries or {{"samples": [...]}}, got an object with keys {keys}',
        )
    raise DataError(path, f"expected a list of entries, got {type(document).__name__}")


def split_path_list(value: str) -> list[str]:
    """Split a string of paths on commas and whitespace, as RelaxFlow's runner does."""
    return [part for part in re.split(r"[,\s]+", value.strip()) if part]


def _resolve(root: Path, text: str) -> Path:
    path = Path(os.path.expanduser(text))
    return path if path.is_absolute() else root / path


def _list_images(folder: Path) -> list[Path]:
    """Image files of ``folder`` sorted by name (empty if it is not a folder)."""
    try:
        names = [e.name for e in os.scandir(folder) if e.is_file()]
    except OSError:
        return []
    return [folder / n for n in sorted(names) if n.lower().endswith(IMAGE_SUFFIXES)]


def _first_key(entry: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if key in entry and entry[key] is not None:
            return key
    return None


class _EntryReader:
    """Normalises one raw entry into a :class:`Sample` (paths, texts, problems)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, sample: Sample, entry: dict[str, Any]) -> None:
        keys: dict[str, str] = {}
        for name, aliases in SINGLE_FIELDS.items():
            key = _first_key(entry, aliases)
            if key is None:
                continue
            keys[name] = key
            value = entry[key]
            if not isinstance(value, str) or not value.strip():
                sample.errors.append(f"{key}: expected a path, got {json.dumps(value)[:60]}")
                continue
            sample.paths[name] = self._path(sample, name, value.strip())

        for name, aliases in LIST_FIELDS.items():
            key = _first_key(entry, aliases)
            if key is None:
                continue
            keys[name] = key
            items = self._path_list(sample, key, entry[key])
            if items is not None:
                sample.paths[name] = [self._path(sample, name, item) for item in items]

        self._read_gt_images(sample, entry, keys)

        for name, aliases in TEXT_FIELDS.items():
            key = _first_key(entry, aliases)
            if key is None:
                continue
            keys[name] = key
            value = entry[key]
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            sample.text[name] = value if isinstance(value, str) else str(value)
        sample.meta["keys"] = keys

    def _path(self, sample: Sample, name: str, text: str) -> Path:
        path = _resolve(self.root, text)
        if not path.exists():
            sample.missing.append(f"{name}: {text}")
        return path

    def _path_list(self, sample: Sample, key: str, value: Any) -> list[str] | None:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return []
            # A single path containing spaces is kept whole when it exists as written.
            if "," not in text and _resolve(self.root, text).exists():
                return [text]
            return split_path_list(text)
        if isinstance(value, list):
            bad = [v for v in value if not isinstance(v, str) or not v.strip()]
            if bad:
                sample.errors.append(f"{key}: expected paths, found {json.dumps(bad[0])[:60]}")
            return [v.strip() for v in value if isinstance(v, str) and v.strip()]
        sample.errors.append(
            f"{key}: expected a list of paths or a string, got {type(value).__name__}"
        )
        return None

    def _read_gt_images(self, sample: Sample, entry: dict[str, Any], keys: dict[str, str]) -> None:
        render_dir = entry.get("gt_render_dir")
        gt_images = entry.get("gt_images")
        if isinstance(gt_images, list):
            keys["gt_images"] = "gt_images"
            items = self._path_list(sample, "gt_images", gt_images) or []
            sample.paths["gt_images"] = [self._path(sample, "gt_images", i) for i in items]
        elif isinstance(gt_images, str) and render_dir is None:
            text = gt_images.strip()
            as_dir = _resolve(self.root, text)
            if as_dir.is_dir() or not text.lower().endswith(IMAGE_SUFFIXES):
                render_dir = gt_images
                keys["gt_render_dir"] = "gt_images"
            else:
                keys["gt_images"] = "gt_images"
                items = self._path_list(sample, "gt_images", text) or []
                sample.paths["gt_images"] = [self._path(sample, "gt_images", i) for i in items]
        elif gt_images is not None and not isinstance(gt_images, str):
            sample.errors.append(
                f"gt_images: expected a list of paths or a folder, got {type(gt_images).__name__}"
            )
        if render_dir is None:
            return
        keys.setdefault("gt_render_dir", "gt_render_dir")
        if not isinstance(render_dir, str) or not render_dir.strip():
            sample.errors.append(
                f"gt_render_dir: expected a folder path, got {json.dumps(render_dir)[:60]}"
            )
            return
        text = render_dir.strip()
        folder = self._path(sample, "gt_render_dir", text)
        sample.paths["gt_render_dir"] = folder
        if "gt_images" in sample.paths or not folder.exists():
            return
        if not folder.is_dir():
            sample.errors.append(f"gt_render_dir: {text} is not a folder")
            return
        images = _list_images(folder)
        sample.paths["gt_images"] = images
        if not images:
            sample.missing.append(f"gt_images: no images in {text}")


def _entry_id(entry: dict[str, Any]) -> str | None:
    value = entry.get("id")
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text or None


def open_manifest(
    path: str | Path,
    progress: Progress | None = None,
    data_root: str | Path | None = None,
) -> Dataset:
    """Open an ExtremeOcc-3D manifest (or a dataset folder holding one).

    Parameters
    ----------
    path
        A manifest file (JSON list, ``{"samples": [...]}`` or JSON Lines) or a folder
        holding ``manifest_with_priors.json`` (preferred) or ``manifest.json``.
    progress
        Optional progress / cancellation, advanced once per entry.
    data_root
        Folder that relative paths resolve against; the manifest's folder by default.

    Returns
    -------
    Dataset
        Format ``extremeocc``; one :class:`Sample` per entry, in manifest order.
        ``dataset.meta`` holds ``manifest`` (the file read), ``manifest_name``,
        ``wrapper`` (``list`` / ``samples`` / ``jsonl``), ``extra`` (other top-level keys
        of a ``samples`` document) and ``data_root`` (when given). Each sample's
        ``meta`` holds ``index`` (0-based position in the manifest) and ``keys`` (raw
        key per normalised field). Entries that are not objects or lack an ``id`` get
        the id ``#N`` (1-based position) and an error; duplicate ids are renamed
        ``id (2)``... with a dataset warning. The other entries always load.

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    DataError
        The manifest is malformed (the message names line and column) or is not a list
        of entries.
    Cancelled
        ``progress`` was cancelled.
    """
    progress = ensure_progress(progress)
    source = Path(path).expanduser()
    if not source.exists():
        raise MissingFileError(source, "manifest")
    manifest = find_manifest(source) if source.is_dir() else source
    entries, wrapper, extra, warnings = read_manifest_entries(manifest)
    root = Path(data_root).expanduser() if data_root is not None else manifest.parent
    if data_root is not None and not root.is_dir():
        raise MissingFileError(root, "data root folder")

    dataset = Dataset(format="extremeocc", source=source, root=root, warnings=list(warnings))
    dataset.meta.update(
        manifest=manifest,
        manifest_name=manifest.name,
        wrapper=wrapper,
        extra=extra,
    )
    if data_root is not None:
        dataset.meta["data_root"] = root

    reader = _EntryReader(root)
    seen: dict[str, int] = {}
    progress.start(len(entries), f"Reading {manifest.name}")
    for index, entry in enumerate(entries):
        position = f"#{index + 1}"
        if not isinstance(entry, dict):
            kind = type(entry).__name__
            sample = Sample(id=position, errors=[f"entry {position} is a {kind}, not an object"])
            dataset.warnings.append(f"{manifest.name}: entry {position} is a {kind}, not an object")
        else:
            sample_id = _entry_id(entry)
            sample = Sample(id=sample_id or position, fields=entry)
            if sample_id is None:
                sample.errors.append(f'entry {position} has no "id"')
                dataset.warnings.append(f'{manifest.name}: entry {position} has no "id"')
            reader.read(sample, entry)
        sample.meta["index"] = index
        base = sample.id
        if base in seen:
            seen[base] += 1
            new_id = f"{base} ({seen[base]})"
            while new_id in seen:
                seen[base] += 1
                new_id = f"{base} ({seen[base]})"
            dataset.warnings.append(
                f"{manifest.name}: duplicate id {base!r} at entry {position}, shown as {new_id!r}"
            )
            sample.id = new_id
            seen[new_id] = 1
        else:
            seen[base] = 1
        dataset.samples.append(sample)
        progress.advance(1)
    return dataset


def sample_summary(sample: Sample) -> dict[str, Any]:
    """A JSON-ready summary of one sample (for ``occstudio info --json``).

    Returns
    -------
    dict
        ``{"id": str, "fields": sorted normalised field names present (paths and texts),
        "missing": [...], "errors": [...]}``.
    """
    present = {k for k, v in sample.paths.items() if v not in (None, [])}
    present |= {k for k, v in sample.text.items() if v}
    return {
        "id": sample.id,
        "fields": sorted(present),
        "missing": list(sample.missing),
        "errors": list(sample.errors),
    }
