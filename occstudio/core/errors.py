"""Error types that carry a user-facing message naming the file and the problem."""

from __future__ import annotations

from pathlib import Path


class OccStudioError(Exception):
    """Base class of every error occstudio reports to a user (no traceback needed)."""


class DataError(OccStudioError):
    """A file exists but its content is unusable (corrupt, wrong shape, malformed JSON...).

    Parameters
    ----------
    path
        The file the problem is in (``None`` when not tied to one file).
    problem
        What is wrong, in words a user understands.
    """

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = Path(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


class MissingFileError(DataError):
    """A file that a dataset or command refers to does not exist."""

    def __init__(self, path: str | Path, what: str = "file") -> None:
        super().__init__(path, f"{what} not found")


class UnknownFormatError(OccStudioError):
    """No registered loader recognises a path."""
