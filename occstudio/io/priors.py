"""Prior images of ExtremeOcc-3D samples: the RelaxFlow-compatible export and prior folders.

Layout (formats.md §1): the priors of sample ``id`` are the image files of
``<priors_root>/<id>/`` (an id with slashes is a nested folder), in name order.

:func:`export_manifest_with_priors` writes the same bytes as RelaxFlow's
``scripts/prepare_manifest_with_priors.py`` (viridityzhu/RelaxFlow, 08c6a28); the
behaviour was checked against that script's published source (facts only):

* the manifest is a JSON list or ``{"samples": [...]}``; the output keeps the form, and a
  wrapped manifest is written as ``{"samples": [...]}`` **only** (other top-level keys
  are dropped, as RelaxFlow does; ``keep_extra_keys=True`` keeps them, which is then no
  longer byte-identical). JSON Lines input (an occstudio extension) is written back as
  JSON Lines;
* every entry must be an object with an ``"id"``; the id is ``str(entry["id"])``;
* the priors of an entry are the files (``is_file``, symlinks followed) of
  ``<resolved priors_root>/<id>`` whose ``Path.suffix.lower()`` is ``.png``, ``.jpg``,
  ``.jpeg`` or ``.webp``, sorted as ``sorted(folder.iterdir())`` sorts them;
* each entry is copied (``dict(entry)``, key order kept) and ``"prior_images"`` is set:
  replacing an existing key in place, else appended as the last key. Paths are
  ``Path.relative_to(<resolved output folder>).as_posix()`` when every prior lies under
  the output manifest's folder, else absolute POSIX paths (note: **not**
  ``os.path.relpath``; a prior beside the output folder is written absolute);
* an entry without priors is left as it was (no ``prior_images`` added; an existing one
  is kept). Without ``allow_missing`` any such entry is an error and nothing is written;
* a prior-text override (``{id: text}``; keys and values converted with ``str``) then sets
  ``"prior_text"`` (in place, or appended after ``prior_images``), also for entries
  without priors;
* output: ``json.dump(payload, f, indent=2)`` (``ensure_ascii`` left at its default
  ``True``) followed by ``"\\n"``; missing output folders are created. occstudio writes
  it atomically.

The prior-folder helpers (:func:`add_prior`, :func:`remove_prior`, :func:`reorder_priors`)
never delete or overwrite an image: removed priors go to ``<sidecar>/trash/``, and a
reorder is a two-phase rename journalled in the folder so an interrupted one is finished
by the next call (:func:`recover_reorder`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.persistence import SafePaths, atomic_write, atomic_write_json, atomic_write_text
from occstudio.io.extremeocc import read_manifest_entries
from occstudio.io.images import image_size
from occstudio.io.jsonio import read_json

#: Suffixes (lower case) of prior images, as RelaxFlow's script accepts them.
PRIOR_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})
#: Name of the reorder journal inside a sample's prior folder.
REORDER_PLAN = ".occstudio-reorder.json"
_PRIOR_NAME = re.compile(r"^prior_(\d+)$")


# ---------------------------------------------------------------------- listing


def _find_priors(priors_root: Path, sample_id: str) -> list[Path]:
    folder = priors_root / sample_id
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in PRIOR_SUFFIXES]


def list_priors(priors_root: str | Path, sample_id: str) -> list[Path]:
    """The prior images of ``sample_id``, in the order RelaxFlow uses them.

    Parameters
    ----------
    priors_root
        The priors folder.
    sample_id
        The sample id; slashes are nested folders.

    Returns
    -------
    list of Path
        Files of ``<priors_root>/<id>/`` with a .png/.jpg/.jpeg/.webp suffix (any case),
        sorted by name; empty when the folder does not exist.
    """
    return _find_priors(Path(priors_root), str(sample_id))


# ---------------------------------------------------------------------- export


def _load_overrides(overrides: str | Path | Mapping[str, Any] | None) -> dict[str, str]:
    if overrides is None:
        return {}
    if isinstance(overrides, Mapping):
        return {str(k): str(v) for k, v in overrides.items()}
    path = Path(overrides)
    document = read_json(path)
    if not isinstance(document, dict):
        raise DataError(
            path, f'prior-text overrides must be a JSON object {{"id": "text"}}, got {type(document).__name__}'
        )
    return {str(k): str(v) for k, v in document.items()}


def _manifest_file(manifest: Path) -> Path:
    if not manifest.exists():
        raise MissingFileError(manifest, "manifest")
    if manifest.is_dir():
        for name in ("manifest.json", "manifest.jsonl"):
            if (manifest / name).is_file():
                return manifest / name
        raise DataError(manifest, "no manifest.json in this folder (give the manifest file)")
    return manifest


def _relative_posix(files: list[Path], output_dir: Path) -> list[str]:
    try:
        return [p.relative_to(output_dir).as_posix() for p in files]
    except ValueError:
        return [p.as_posix() for p in files]


def export_manifest_with_priors(
    manifest: str | Path,
    priors_root: str | Path,
    output: str | Path,
    allow_missing: bool = False,
    prior_text_overrides: str | Path | Mapping[str, Any] | None = None,
    *,
    keep_extra_keys: bool = False,
) -> Path:
    """Write a manifest with ``prior_images``, byte-compatible with RelaxFlow's script.

    Parameters
    ----------
    manifest
        The input manifest (JSON list, ``{"samples": [...]}`` or JSON Lines), or a
        folder holding ``manifest.json``.
    priors_root
        Folder of ``<id>/`` prior folders.
    output
        The manifest to write (e.g. ``manifest_with_priors.json``); prior paths are
        relative to its folder. Other paths of the entries are copied unchanged (they
        stay relative to the input manifest's folder, as in RelaxFlow).
    allow_missing
        Write entries without priors unchanged instead of failing.
    prior_text_overrides
        A JSON file ``{id: text}`` or a mapping; sets ``prior_text`` of those ids.
    keep_extra_keys
        Keep the other top-level keys of a ``{"samples": ...}`` manifest (RelaxFlow
        drops them; the output is then no longer byte-identical to RelaxFlow's).

    Returns
    -------
    Path
        The output file (resolved).

    Raises
    ------
    MissingFileError, DataError
        The manifest or overrides file is missing or malformed, an entry has no
        ``id``, or (without ``allow_missing``) samples have no priors; the message
        names the ids and their folders. Nothing is written then.
    """
    manifest = _manifest_file(Path(manifest).expanduser())
    entries, wrapper, extra, warnings = read_manifest_entries(manifest)
    if warnings:
        raise DataError(manifest, f"malformed JSON Lines ({len(warnings)} bad lines; first: {warnings[0]})")
    overrides = _load_overrides(prior_text_overrides)
    output_path = Path(output).expanduser().resolve()
    output_dir = output_path.parent
    root = Path(priors_root).expanduser().resolve()

    out_entries: list[Any] = []
    missing: list[str] = []
    for position, row in enumerate(entries, start=1):
        if not isinstance(row, dict) or "id" not in row:
            what = "an object" if isinstance(row, dict) else type(row).__name__
            raise DataError(manifest, f'entry #{position} ({what}) has no "id"')
        sample_id = str(row["id"])
        new_entry = dict(row)
        files = _find_priors(root, sample_id)
        if files:
            new_entry["prior_images"] = _relative_posix(files, output_dir)
        else:
            missing.append(sample_id)
        if sample_id in overrides:
            new_entry["prior_text"] = overrides[sample_id]
        out_entries.append(new_entry)

    if missing and not allow_missing:
        shown = "; ".join(f"{sid!r} (no images in {root / sid})" for sid in missing[:10])
        more = f"; and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise DataError(
            root,
            f"missing priors for {len(missing)}/{len(entries)} samples: {shown}{more}. "
            "Add the missing priors, or allow missing priors.",
        )

    if wrapper == "jsonl":
        text = "".join(json.dumps(entry) + "\n" for entry in out_entries)
    else:
        payload: Any
        if wrapper == "samples":
            payload = {"samples": out_entries}
            if keep_extra_keys and extra:
                document = read_json(manifest)
                payload = {k: (out_entries if k == "samples" else v) for k, v in document.items()}
        else:
            payload = out_entries
        text = json.dumps(payload, indent=2) + "\n"
    return atomic_write_text(output_path, text)


# ---------------------------------------------------------------------- prior folders


def _sample_folder(priors_root: str | Path, sample_id: str) -> Path:
    """``<priors_root>/<id>`` checked to stay inside ``priors_root`` (no ``..`` escapes)."""
    root = Path(priors_root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    sid = str(sample_id)
    if not sid.strip() or Path(sid).is_absolute():
        raise DataError(root, f"invalid sample id {sid!r} for a prior folder")
    return SafePaths(root).resolve(sid)


def _sorts_last(name: str, names: list[str]) -> bool:
    return all(name > other for other in names)


def add_prior(priors_root: str | Path, sample_id: str, src: str | Path) -> Path:
    """Copy an image into a sample's prior folder, as its last prior.

    The copy is named ``prior_N<suffix of src>``, N one more than the largest
    ``prior_N`` index in the folder (0 for an empty folder, RelaxFlow's convention),
    zero-padded like the existing names. If that name would not sort after every
    existing prior (e.g. ``prior_10`` after ``prior_9``), the existing priors are first
    renamed ``prior_00``, ``prior_01``… in their current order (see
    :func:`reorder_priors`). Nothing is ever overwritten.

    Returns
    -------
    Path
        The new prior file.

    Raises
    ------
    MissingFileError
        ``src`` does not exist.
    DataError
        ``src`` is not a .png/.jpg/.jpeg/.webp image, or the sample id escapes the
        priors folder.
    """
    src = Path(src).expanduser()
    if not src.is_file():
        raise MissingFileError(src, "prior image")
    suffix = src.suffix
    if suffix.lower() not in PRIOR_SUFFIXES:
        raise DataError(src, f"a prior must be a .png, .jpg, .jpeg or .webp image (got {suffix or 'no suffix'})")
    image_size(src)  # a readable image, else DataError
    folder = _sample_folder(priors_root, sample_id)
    folder.mkdir(parents=True, exist_ok=True)
    recover_reorder(folder)
    existing = _find_priors(folder.parent, folder.name)
    names = [p.name for p in existing]
    matches = [_PRIOR_NAME.match(Path(n).stem) for n in names]
    numbers = [m.group(1) for m in matches if m]
    index = max((int(n) for n in numbers), default=-1) + 1
    width = max((len(n) for n in numbers), default=1)
    name = f"prior_{index:0{width}d}{suffix}"
    if not _sorts_last(name, names) or (folder / name).exists():
        width = max(len(str(len(names))), 2)
        reorder_priors(folder.parent, folder.name, existing, width=width)
        names = [p.name for p in _find_priors(folder.parent, folder.name)]
        index = len(names)
        name = f"prior_{index:0{width}d}{suffix}"
        while (folder / name).exists() or not _sorts_last(name, names):
            index += 1
            name = f"prior_{index:0{width}d}{suffix}"
    dest = folder / name

    def copy(temp: Path) -> None:
        shutil.copy2(src, temp)

    if dest.exists():  # pragma: no cover (checked above; a concurrent writer)
        raise DataError(dest, "already exists; not overwriting")
    return atomic_write(dest, copy)


def remove_prior(path: str | Path, sidecar: str | Path) -> Path:
    """Move a prior image to ``<sidecar>/trash/<stamp>/`` (never deletes it).

    The trash folder also gets ``origin.json`` (original path, time) so that
    :func:`restore_prior` can put it back.

    Returns
    -------
    Path
        Where the file now is.

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingFileError(path, "prior image")
    stamp = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:8]
    folder = Path(sidecar) / "trash" / stamp
    folder.mkdir(parents=True, exist_ok=False)
    original = Path(os.path.abspath(path))
    atomic_write_json(
        folder / "origin.json",
        {"original": str(original), "removed_at": time.time(), "name": path.name},
    )
    dest = folder / path.name
    shutil.move(str(path), str(dest))
    return dest


def restore_prior(trashed: str | Path) -> Path:
    """Move a prior removed by :func:`remove_prior` back to where it was.

    Raises
    ------
    MissingFileError
        The trashed file or its ``origin.json`` is missing.
    DataError
        A file already exists at the original place (nothing is overwritten).
    """
    trashed = Path(trashed)
    info_path = trashed.parent / "origin.json"
    if not trashed.is_file():
        raise MissingFileError(trashed, "trashed prior")
    info = read_json(info_path)
    original = Path(info["original"])
    if original.exists():
        raise DataError(original, "already exists; not overwriting it with the trashed prior")
    original.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(trashed), str(original))
    return original


def _run_plan(folder: Path, plan: dict[str, Any]) -> list[Path]:
    """Carry out (or finish) a reorder plan; idempotent."""
    plan_path = folder / REORDER_PLAN
    moves = plan["moves"]
    if plan.get("phase", 1) == 1:
        for move in moves:
            source, temp = folder / move["from"], folder / move["temp"]
            if source.exists() and not temp.exists():
                os.rename(source, temp)
        plan["phase"] = 2
        atomic_write_json(plan_path, plan)
    for move in moves:
        temp, dest = folder / move["temp"], folder / move["to"]
        if temp.exists():
            if dest.exists():
                raise DataError(
                    dest, f"exists; cannot finish reordering priors (nothing was lost: the file is at {temp})"
                )
            os.rename(temp, dest)
    plan_path.unlink()
    return [folder / move["to"] for move in moves]


def recover_reorder(folder: str | Path) -> bool:
    """Finish a reorder of ``folder`` that was interrupted (e.g. by a crash).

    Returns
    -------
    bool
        Whether an unfinished reorder was found and completed.
    """
    folder = Path(folder)
    plan_path = folder / REORDER_PLAN
    if not plan_path.is_file():
        return False
    plan = read_json(plan_path)
    if not isinstance(plan, dict) or not isinstance(plan.get("moves"), list):
        raise DataError(plan_path, "unreadable reorder journal (files named in it are untouched)")
    _run_plan(folder, plan)
    return True


def reorder_priors(
    priors_root: str | Path,
    sample_id: str,
    new_order: Sequence[str | Path],
    width: int | None = None,
) -> list[Path]:
    """Rename a sample's priors so that name order is ``new_order``.

    Files become ``prior_0``, ``prior_1``… (zero-padded to ``width`` digits, by default
    as many as the largest index needs), each keeping its suffix. Renaming goes through
    hidden temporary names in two phases recorded in ``.occstudio-reorder.json``; if
    interrupted, :func:`recover_reorder` (called by every prior helper) finishes it.

    Parameters
    ----------
    priors_root, sample_id
        The sample's prior folder.
    new_order
        Every current prior (paths or names), each once, in the wanted order.
    width
        Minimum digits of the index.

    Returns
    -------
    list of Path
        The priors in their new order.

    Raises
    ------
    DataError
        ``new_order`` is not a permutation of the current priors, or a target name is
        taken by a file that is not a prior.
    """
    folder = _sample_folder(priors_root, sample_id)
    recover_reorder(folder)
    current = _find_priors(folder.parent, folder.name)
    current_names = [p.name for p in current]
    wanted = [Path(p).name for p in new_order]
    if sorted(wanted) != sorted(current_names) or len(set(wanted)) != len(wanted):
        raise DataError(
            folder,
            f"new order must list each current prior once: have {current_names}, got {wanted}",
        )
    count = len(wanted)
    digits = max(len(str(max(count - 1, 0))), width or 1)
    targets = [f"prior_{i:0{digits}d}{Path(name).suffix}" for i, name in enumerate(wanted)]
    if targets == wanted:
        return [folder / n for n in wanted]
    for target in targets:
        if (folder / target).exists() and target not in current_names:
            raise DataError(folder / target, "exists and is not a prior; not overwriting it")
    token = uuid.uuid4().hex[:8]
    plan = {
        "version": 1,
        "phase": 1,
        "moves": [
            {"from": name, "temp": f".reorder-{token}-{i}.tmp", "to": target}
            for i, (name, target) in enumerate(zip(wanted, targets))
        ],
    }
    atomic_write_json(folder / REORDER_PLAN, plan)
    return _run_plan(folder, plan)
