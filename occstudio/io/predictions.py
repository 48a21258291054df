"""Prediction folders: one mesh per sample at ``<root>/<id>/<anything>.glb|.ply|.obj``.

Ids with slashes are nested folders. A folder holding several meshes prefers, in order,
``.glb``, ``.ply``, ``.obj``, then the first by name, so the choice is reproducible.
"""

from __future__ import annotations

from pathlib import Path

from occstudio.core.errors import DataError, MissingFileError

MESH_SUFFIXES = (".glb", ".ply", ".obj")


def find_prediction(root: Path, sample_id: str) -> Path | None:
    """The prediction mesh of ``sample_id`` under ``root``, or ``None``."""
    folder = root.joinpath(*sample_id.split("/"))
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in MESH_SUFFIXES)
    if not files:
        return None
    files.sort(key=lambda p: (MESH_SUFFIXES.index(p.suffix.lower()), p.name))
    return files[0]


def match_predictions(root: str | Path, sample_ids: list[str]) -> dict[str, Path]:
    """Map each sample id that has a prediction mesh under ``root`` to that file.

    Raises
    ------
    MissingFileError
        ``root`` does not exist.
    DataError
        ``root`` holds no prediction for any of the ids.
    """
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(root, "prediction folder")
    matches = {sid: p for sid in sample_ids if (p := find_prediction(root, sid)) is not None}
    if sample_ids and not matches:
        raise DataError(root, "no prediction mesh found for any sample (expected <id>/<name>.glb|.ply|.obj)")
    return matches


def find_occupancy_prediction(root: Path, sample_id: str) -> Path | None:
    """An Occ3D prediction for ``sample_id`` (``<scene>/<token>`` or ``<token>``) under ``root``.

    Accepts ``<token>.npz``, ``<scene>/<token>.npz``, ``<token>/labels.npz`` and
    ``<scene>/<token>/labels.npz`` (the first that exists).
    """
    token = sample_id.split("/")[-1]
    for candidate in (
        root / f"{token}.npz",
        root.joinpath(*sample_id.split("/")).with_suffix(".npz"),
        root / token / "labels.npz",
        root.joinpath(*sample_id.split("/")) / "labels.npz",
    ):
        if candidate.is_file():
            return candidate
    return None


def match_occupancy_predictions(root: str | Path, sample_ids: list[str]) -> dict[str, Path]:
    """Map Occ3D sample ids to prediction files under ``root`` (see :func:`find_occupancy_prediction`).

    Raises
    ------
    MissingFileError, DataError
        ``root`` is missing or holds no prediction for any sample.
    """
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(root, "prediction folder")
    matches = {sid: p for sid in sample_ids if (p := find_occupancy_prediction(root, sid)) is not None}
    if sample_ids and not matches:
        raise DataError(root, "no occupancy prediction found for any sample (expected <token>.npz)")
    return matches
