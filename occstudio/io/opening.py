"""Open any path with the loader the plugin registry finds for it."""

from __future__ import annotations

from pathlib import Path

from occstudio.core.dataset import Dataset
from occstudio.core.errors import MissingFileError, UnknownFormatError
from occstudio.core.jobs import Progress
from occstudio.plugins.registry import Registry, get_registry, resolve


def open_dataset(
    path: str | Path,
    registry: Registry | None = None,
    progress: Progress | None = None,
    format: str | None = None,
) -> Dataset:
    """Open ``path`` (a folder, manifest, or single file) as a :class:`Dataset`.

    Parameters
    ----------
    path
        What the user opened.
    registry
        The plugin registry to use (the process-wide one by default).
    progress
        Optional progress / cancellation.
    format
        A loader id to use instead of sniffing.

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    UnknownFormatError
        No loader recognises ``path``.
    DataError
        The loader found the format but the content is unusable.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise MissingFileError(path, "file or folder")
    reg = registry if registry is not None else get_registry()
    if format is not None:
        if format not in reg.loaders:
            raise UnknownFormatError(f"unknown format {format!r} (known: {', '.join(sorted(reg.loaders))})")
        spec = reg.loaders[format]
    else:
        spec = reg.find_loader(path)
    if spec is None:
        raise UnknownFormatError(f"{path}: no loader recognises this file or folder")
    dataset = resolve(spec.open)(path, progress=progress)
    dataset.format = dataset.format or spec.id
    return dataset
