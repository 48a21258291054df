"""Saving without losing data: atomic writes, path guards, backups, autosave, review state.

* :func:`atomic_write` writes a temporary file in the destination's folder, flushes and
  fsyncs it, renames it over the destination with :func:`os.replace` (atomic on POSIX
  and Windows) and fsyncs the folder. A crash at any moment leaves either the old file
  or the new one, never a truncated mix; a failing writer leaves the original untouched
  and removes its temporary file. A crash (``kill -9``) between writing and renaming
  leaves a stale ``*.occtmp`` file beside the destination, listed by
  :func:`stale_temp_files`.
* :class:`SafePaths` refuses any write outside the dataset root and the sidecar folder,
  whatever ``..``, absolute paths or symlinks a manifest holds.
* The **sidecar** (:func:`sidecar_dir`, ``<root>/.occstudio`` by default) holds
  ``originals/`` (the first version of every file occstudio overwrote,
  :func:`backup_original`), ``autosave/`` (:class:`AutosaveJournal`), ``trash/``
  (removed priors) and ``review.json`` (:class:`ReviewStore`).

Qt-free; standard library and numpy only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from occstudio.core.errors import DataError, MissingFileError

#: Suffix of the temporary files :func:`atomic_write` creates.
TEMP_SUFFIX = ".occtmp"
#: Name of the sidecar folder inside a dataset root.
SIDECAR_NAME = ".occstudio"
#: Review states of a sample.
REVIEW_STATUSES = ("unreviewed", "ok", "needs_fix", "fixed")

_UMASK = os.umask(0)
os.umask(_UMASK)


# ---------------------------------------------------------------------- atomic writes


def _fsync_file(path: Path) -> None:
    flags = os.O_RDWR if os.name == "nt" else os.O_RDONLY
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Write a file atomically: ``writer(temp_path)`` then fsync and rename over ``path``.

    Parameters
    ----------
    path
        Destination. A symlink is followed (its target is replaced, the link kept).
        Missing parent folders are created. An existing file's permission bits are
        kept; a new file gets the usual ``0o666 & ~umask``.
    writer
        Called with the temporary path (same folder, name ``.<name>.<random>.occtmp``);
        it must write the complete file there (it may reopen or replace it).

    Returns
    -------
    Path
        The destination written.

    Raises
    ------
    Exception
        Whatever ``writer`` raised; the temporary file is removed and the destination
        is untouched. An ``OSError`` of the write or rename is re-raised as
        :class:`DataError` naming the destination.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name[:100]}.", suffix=TEMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise DataError(path, f"cannot write here ({exc.strerror or exc})") from None
    os.close(fd)
    temp = Path(name)
    try:
        writer(temp)
        if not temp.is_file():
            raise DataError(path, "the writer did not produce a file")
        try:
            if path.exists():
                shutil.copymode(path, temp)
            else:
                os.chmod(temp, 0o666 & ~_UMASK)
            _fsync_file(temp)
            os.replace(temp, path)
        except OSError as exc:
            raise DataError(path, f"cannot write ({exc.strerror or exc})") from None
    except BaseException:
        try:
            temp.unlink()
        except OSError:
            pass
        raise
    _fsync_dir(folder)
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""

    def write(temp: Path) -> None:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()

    return atomic_write(path, write)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically, without newline translation."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | Path, data: Any, indent: int | None = 2) -> Path:
    """Write ``json.dumps(data, indent=indent) + "\\n"`` (UTF-8) atomically."""
    return atomic_write_text(path, json.dumps(data, indent=indent, ensure_ascii=False) + "\n")


def stale_temp_files(folder: str | Path) -> list[Path]:
    """Temporary files left in ``folder`` by an :func:`atomic_write` that was killed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(TEMP_SUFFIX))


# ---------------------------------------------------------------------- safe paths


class SafePaths:
    """Resolves write destinations and refuses those outside the dataset root or sidecar.

    Parameters
    ----------
    root
        The dataset root (must exist). Relative paths are taken relative to it.
    sidecar
        The sidecar folder (may lie outside the root), or ``None``.

    Notes
    -----
    Paths are resolved with :func:`os.path.realpath`: symlinks are followed before
    ``..`` is applied, as the operating system would when opening the file. A symlink
    inside the root that points inside the root is allowed (the target is written);
    one that points outside is refused.
    """

    def __init__(self, root: str | Path, sidecar: str | Path | None = None) -> None:
        root_path = Path(root).expanduser()
        if not root_path.is_dir():
            raise MissingFileError(root_path, "dataset folder")
        self.root = Path(os.path.realpath(root_path))
        self.sidecar = Path(os.path.realpath(Path(sidecar).expanduser())) if sidecar is not None else None

    @property
    def bases(self) -> list[Path]:
        """The folders writes may go into."""
        return [self.root] + ([self.sidecar] if self.sidecar is not None else [])

    def real(self, path: str | Path) -> Path:
        """``path`` (relative to the root when relative) with symlinks and ``..`` resolved."""
        candidate = Path(path).expanduser()
        if not candidate.is_absolute():
            candidate = self.root / candidate
        return Path(os.path.realpath(candidate))

    def is_allowed(self, path: str | Path) -> bool:
        """Whether writing ``path`` is allowed."""
        real = self.real(path)
        return any(real != base and real.is_relative_to(base) for base in self.bases)

    def resolve(self, path: str | Path) -> Path:
        """The real destination of ``path``, checked.

        Raises
        ------
        DataError
            The destination lies outside the dataset root and the sidecar (or is one
            of those folders itself).
        """
        real = self.real(path)
        if any(real != base and real.is_relative_to(base) for base in self.bases):
            return real
        where = f"the dataset folder {self.root}"
        if self.sidecar is not None:
            where += f" or the sidecar {self.sidecar}"
        raise DataError(path, f"refusing to write outside {where} (resolves to {real})")


# ---------------------------------------------------------------------- sidecar & backups


def _user_data_dir() -> Path:
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "occstudio" / "sidecars"


def sidecar_dir(root: str | Path, override: str | Path | None = None, create: bool = True) -> Path:
    """The folder where occstudio keeps backups, autosaves, trash and review state.

    Parameters
    ----------
    root
        The dataset root.
    override
        A folder chosen by the user (e.g. when the dataset is on read-only storage);
        used as is.
    create
        Create the folder.

    Returns
    -------
    Path
        ``override`` if given; else ``<root>/.occstudio`` when the root is writable;
        else a per-user folder ``<user data>/occstudio/sidecars/<root name>-<hash>``
        (``$XDG_DATA_HOME`` or ``~/.local/share``; ``%LOCALAPPDATA%`` on Windows), one
        per dataset root.
    """
    root = Path(root).expanduser()
    if override is not None:
        folder = Path(override).expanduser()
    elif os.access(root, os.W_OK | os.X_OK) and (
        not (root / SIDECAR_NAME).exists() or os.access(root / SIDECAR_NAME, os.W_OK | os.X_OK)
    ):
        folder = root / SIDECAR_NAME
    else:
        real = os.path.realpath(root)
        digest = hashlib.sha1(real.encode("utf-8", "surrogateescape")).hexdigest()[:12]
        folder = _user_data_dir() / f"{_slug(Path(real).name or 'root', 40)}-{digest}"
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(folder, f"cannot create the sidecar folder ({exc.strerror or exc})") from None
    return folder


def backup_path(path: str | Path, root: str | Path, sidecar: str | Path) -> Path:
    """Where :func:`backup_original` keeps the original of ``path``.

    ``<sidecar>/originals/<path relative to root>`` (the real path, symlinks resolved).

    Raises
    ------
    DataError
        ``path`` is not inside the dataset root.
    """
    guard = SafePaths(root, sidecar)
    real = guard.real(path)
    if real == guard.root or not real.is_relative_to(guard.root):
        raise DataError(path, f"is not inside the dataset folder {guard.root}; no backup location")
    return Path(sidecar) / "originals" / real.relative_to(guard.root)


def backup_original(path: str | Path, root: str | Path, sidecar: str | Path) -> Path | None:
    """Copy ``path`` to the sidecar before occstudio first overwrites it.

    The copy (bytes and timestamps) goes to ``<sidecar>/originals/<relative path>``
    atomically and is made once: an existing backup is never overwritten, so it
    always holds the file as it was before occstudio's first save.

    Returns
    -------
    Path or None
        The backup (existing or new); ``None`` when ``path`` does not exist yet (a new
        file has no original).

    Raises
    ------
    DataError
        ``path`` is outside the dataset root, or the copy failed.
    """
    guard = SafePaths(root, sidecar)
    real = guard.resolve(path)
    dest = backup_path(real, root, sidecar)
    if dest.exists():
        return dest
    if not real.is_file():
        return None

    def copy(temp: Path) -> None:
        shutil.copy2(real, temp)

    return atomic_write(dest, copy)


def restore_original(path: str | Path, root: str | Path, sidecar: str | Path) -> Path:
    """Put the backed-up original of ``path`` back (atomically); the backup is kept.

    Returns
    -------
    Path
        The restored file.

    Raises
    ------
    MissingFileError
        No backup exists for ``path``.
    DataError
        ``path`` is outside the dataset root.
    """
    guard = SafePaths(root, sidecar)
    real = guard.resolve(path)
    source = backup_path(real, root, sidecar)
    if not source.is_file():
        raise MissingFileError(source, "backup of the original")

    def copy(temp: Path) -> None:
        shutil.copy2(source, temp)

    return atomic_write(real, copy)


# ---------------------------------------------------------------------- autosave journal


def _slug(text: str, limit: int = 80) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return slug[:limit] or "sample"


def safe_sample_name(sample_id: str) -> str:
    """A file-name-safe, collision-free name for a sample id (slug + short hash)."""
    digest = hashlib.sha1(sample_id.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"{_slug(sample_id)}-{digest}"


@dataclass
class JournalEntry:
    """One autosaved sample found by :meth:`AutosaveJournal.pending`.

    Attributes
    ----------
    sample_id
        The sample.
    path
        The ``.npz`` file.
    saved_at
        Seconds since the epoch when it was written.
    layers
        Names of the saved arrays.
    meta
        The caller's metadata (dataset source, file paths...).
    """

    sample_id: str
    path: Path
    saved_at: float
    layers: list[str]
    meta: dict[str, Any] = field(default_factory=dict)


class AutosaveJournal:
    """Crash recovery: the current masks of samples with unsaved edits.

    Each sample has one file ``<sidecar>/autosave/<safe id>.npz`` (written atomically,
    compressed, no pickles) holding its layers and a JSON header (format version,
    sample id, time, layer names, the caller's ``meta``). The caller writes every few
    seconds while a sample is dirty (a GUI timer) and calls :meth:`discard` after a
    successful save; on start, :meth:`pending` lists what a crash left behind.
    """

    VERSION = 1

    def __init__(self, sidecar: str | Path) -> None:
        self.folder = Path(sidecar) / "autosave"
        #: Unreadable journal files met by :meth:`pending` (kept, never deleted).
        self.problems: list[str] = []

    def path_for(self, sample_id: str) -> Path:
        """The journal file of ``sample_id``."""
        return self.folder / f"{safe_sample_name(sample_id)}.npz"

    def write(
        self,
        sample_id: str,
        layers: Mapping[str, np.ndarray],
        meta: Mapping[str, Any] | None = None,
    ) -> Path:
        """Save the current arrays of ``sample_id`` (replacing its previous autosave).

        Parameters
        ----------
        sample_id
            The sample.
        layers
            Arrays by layer name (e.g. ``{"mask": bool H×W}``); saved exactly.
        meta
            JSON-serialisable information to find the sample again: dataset source,
            file paths, … (paths are stored as strings).

        Returns
        -------
        Path
            The journal file.
        """
        names = list(layers)
        header = {
            "version": self.VERSION,
            "sample_id": sample_id,
            "saved_at": time.time(),
            "saved_at_iso": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "layers": names,
            "meta": dict(meta or {}),
        }
        blob = json.dumps(header, default=str, ensure_ascii=False).encode("utf-8")
        arrays = {f"layer_{i}": np.asarray(layers[name]) for i, name in enumerate(names)}
        arrays["header"] = np.frombuffer(blob, dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return atomic_write_bytes(self.path_for(sample_id), buffer.getvalue())

    @staticmethod
    def _header(path: Path) -> dict[str, Any]:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode("utf-8"))
        if not isinstance(header, dict) or "sample_id" not in header:
            raise ValueError("no sample id in the header")
        return header

    def pending(self, dataset_source: str | Path | None = None) -> list[JournalEntry]:
        """Autosaved samples, oldest first.

        Parameters
        ----------
        dataset_source
            Keep only entries whose ``meta["dataset"]`` equals this (as a string).

        Unreadable files are skipped and described in :attr:`problems`.
        """
        self.problems = []
        entries: list[JournalEntry] = []
        if not self.folder.is_dir():
            return entries
        for path in sorted(self.folder.glob("*.npz")):
            try:
                header = self._header(path)
            except Exception as exc:  # noqa: BLE001 (a corrupt journal must not stop recovery)
                self.problems.append(f"{path}: unreadable autosave ({exc})")
                continue
            meta = header.get("meta") or {}
            if dataset_source is not None and str(meta.get("dataset")) != str(dataset_source):
                continue
            entries.append(
                JournalEntry(
                    sample_id=str(header["sample_id"]),
                    path=path,
                    saved_at=float(header.get("saved_at", path.stat().st_mtime)),
                    layers=[str(n) for n in header.get("layers", [])],
                    meta=meta,
                )
            )
        entries.sort(key=lambda e: e.saved_at)
        return entries

    def recover(self, entry: JournalEntry) -> dict[str, np.ndarray]:
        """The arrays saved in ``entry``, by layer name.

        Raises
        ------
        DataError
            The file is missing or unreadable.
        """
        try:
            with np.load(entry.path, allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode("utf-8"))
                names = header["layers"]
                return {name: np.array(data[f"layer_{i}"]) for i, name in enumerate(names)}
        except FileNotFoundError:
            raise MissingFileError(entry.path, "autosave") from None
        except Exception as exc:  # noqa: BLE001
            raise DataError(entry.path, f"unreadable autosave ({exc})") from None

    def discard(self, sample_id: str) -> bool:
        """Remove the autosave of ``sample_id`` (after a save); returns whether one existed."""
        try:
            self.path_for(sample_id).unlink()
        except FileNotFoundError:
            return False
        return True


# ---------------------------------------------------------------------- review state


class ReviewStore:
    """Per-sample review status and prior-text overrides, kept in ``<sidecar>/review.json``.

    Status is one of :data:`REVIEW_STATUSES` (``unreviewed`` is the default and is not
    stored). Every change is written at once, atomically. The file looks like::

        {"version": 1, "status": {"id": "ok", ...}, "prior_text": {"id": "chair", ...}}

    Raises
    ------
    DataError
        (on construction) ``review.json`` exists but is not a valid review file; it is
        never overwritten in that case.
    """

    FILE_NAME = "review.json"

    def __init__(self, sidecar: str | Path) -> None:
        self.path = Path(sidecar) / self.FILE_NAME
        self._status: dict[str, str] = {}
        self._prior_text: dict[str, str] = {}
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            document = json.loads(self.path.read_bytes().decode("utf-8-sig"))
        except OSError as exc:
            raise DataError(self.path, f"cannot be read ({exc.strerror or exc})") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(self.path, f"not a valid review file ({exc})") from None
        if not isinstance(document, dict):
            raise DataError(self.path, f"not a valid review file (a {type(document).__name__}, not an object)")
        status = document.get("status", {})
        prior_text = document.get("prior_text", {})
        if not isinstance(status, dict) or not isinstance(prior_text, dict):
            raise DataError(self.path, 'not a valid review file ("status" and "prior_text" must be objects)')
        bad = [f"{k}: {v!r}" for k, v in status.items() if v not in REVIEW_STATUSES]
        if bad:
            raise DataError(self.path, f"unknown review status {bad[0]}")
        self._status = {str(k): str(v) for k, v in status.items() if v != "unreviewed"}
        self._prior_text = {str(k): str(v) for k, v in prior_text.items()}

    def _save(self) -> None:
        atomic_write_json(
            self.path,
            {"version": 1, "status": self._status, "prior_text": self._prior_text},
        )

    def status(self, sample_id: str) -> str:
        """The review status of ``sample_id``."""
        return self._status.get(sample_id, "unreviewed")

    def set_status(self, sample_id: str, status: str) -> None:
        """Set the review status (``unreviewed`` clears it).

        Raises
        ------
        ValueError
            ``status`` is not one of :data:`REVIEW_STATUSES`.
        """
        if status not in REVIEW_STATUSES:
            raise ValueError(f"unknown review status {status!r} (use one of {', '.join(REVIEW_STATUSES)})")
        if status == "unreviewed":
            if self._status.pop(sample_id, None) is None:
                return
        elif self._status.get(sample_id) == status:
            return
        else:
            self._status[sample_id] = status
        self._save()

    def statuses(self) -> dict[str, str]:
        """Stored statuses by sample id (samples not listed are ``unreviewed``)."""
        return dict(self._status)

    def counts(self, sample_ids: list[str] | None = None) -> dict[str, int]:
        """How many samples have each status (over ``sample_ids`` when given)."""
        ids = sample_ids if sample_ids is not None else list(self._status)
        counts = dict.fromkeys(REVIEW_STATUSES, 0)
        for sid in ids:
            counts[self.status(sid)] += 1
        return counts

    def prior_text(self, sample_id: str) -> str | None:
        """The overriding prior text of ``sample_id``, or ``None``."""
        return self._prior_text.get(sample_id)

    def set_prior_text(self, sample_id: str, text: str | None) -> None:
        """Override the prior text of ``sample_id`` (``None`` removes the override)."""
        if text is None:
            if self._prior_text.pop(sample_id, None) is None:
                return
        elif self._prior_text.get(sample_id) == text:
            return
        else:
            self._prior_text[sample_id] = str(text)
        self._save()

    def prior_text_overrides(self) -> dict[str, str]:
        """All prior-text overrides ``{id: text}`` (what a priors export takes)."""
        return dict(self._prior_text)


def atomic_savez(path: str | Path, compressed: bool = True, **arrays: Any) -> Path:
    """Write arrays to an ``.npz`` atomically (``np.savez_compressed`` or ``np.savez``)."""
    import numpy as np

    def write(temp: Path) -> None:
        with open(temp, "wb") as handle:
            (np.savez_compressed if compressed else np.savez)(handle, **arrays)

    return atomic_write(path, write)
