"""Reading JSON and JSON Lines files with messages that name the file, line and column.

Writing (atomically) belongs to :mod:`occstudio.core.persistence`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from occstudio.core.errors import DataError, MissingFileError


def _read_text(path: Path) -> str:
    """The file's text (UTF-8, a leading BOM tolerated), with clear errors."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MissingFileError(path) from None
    except IsADirectoryError:
        raise DataError(path, "is a folder, not a JSON file") from None
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(path, f"is not UTF-8 text (bad byte at line {line})") from None


def _decode_problem(text: str, exc: json.JSONDecodeError, where: str | None = None) -> str:
    """A user-facing description of a JSON syntax error, with a trailing-comma hint."""
    if where is None:
        where = f"line {exc.lineno}, column {exc.colno}"
    message = f"malformed JSON at {where}: {exc.msg}"
    before = text[: exc.pos].rstrip()
    if before.endswith(",") and exc.msg.startswith(("Expecting value", "Expecting property name")):
        following = text[exc.pos : exc.pos + 1]
        if following in ("]", "}"):
            message += " (a trailing comma before the closing bracket?)"
    return message


def read_json(path: str | Path) -> Any:
    """Read one JSON document.

    Parameters
    ----------
    path
        The JSON file.

    Returns
    -------
    Any
        The decoded document.

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        The file is not UTF-8 or not valid JSON; the message names the line and column.
    """
    path = Path(path)
    text = _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, _decode_problem(text, exc)) from None


def read_json_lines(path: str | Path) -> tuple[list[Any], list[str]]:
    """Read a JSON Lines file (one JSON value per line; blank lines are skipped).

    Parameters
    ----------
    path
        The ``.jsonl`` file.

    Returns
    -------
    objects, warnings
        The decoded values of the good lines in order, and one warning per malformed
        line, formatted ``"<file>:line N: <message>"``.

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        The file cannot be read or is not UTF-8.
    """
    path = Path(path)
    text = _read_text(path)
    objects: list[Any] = []
    warnings: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            objects.append(json.loads(line))
        except json.JSONDecodeError as exc:
            problem = _decode_problem(line, exc, where=f"column {exc.colno}")
            warnings.append(f"{path.name}:line {number}: {problem}")
    return objects, warnings
