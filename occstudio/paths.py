"""Where occstudio's bundled resources (icons, the demo dataset) are.

In a source checkout (editable install or ``PYTHONPATH``) they are the top-level
``resources/`` folder; in an installed wheel they are the package data
``occstudio/resources`` (pyproject maps the package ``occstudio.resources`` onto the
top-level folder); in the PyInstaller app they are ``_internal/occstudio/resources``.
``$OCCSTUDIO_RESOURCES`` overrides all three.
"""

from __future__ import annotations

import os
from pathlib import Path


def resources_dir() -> Path:
    """The folder holding ``icons/`` and ``demo/``.

    Raises
    ------
    FileNotFoundError
        No resources folder was found (a broken installation).
    """
    env = os.environ.get("OCCSTUDIO_RESOURCES")
    here = Path(__file__).resolve().parent
    candidates = [Path(env)] if env else []
    candidates += [here / "resources", here.parent / "resources"]
    for candidate in candidates:
        if (candidate / "icons").is_dir():
            return candidate
    raise FileNotFoundError(
        "occstudio resources not found (looked in " + ", ".join(map(str, candidates)) + ")"
    )


def demo_dir() -> Path:
    """The bundled demo dataset (``<resources>/demo``; may be absent in a fresh checkout)."""
    return resources_dir() / "demo"


def icon_path(name: str = "occstudio.png") -> Path:
    """An icon file of ``<resources>/icons``."""
    return resources_dir() / "icons" / name
