"""Persistent settings: window layout, recent files, last folders (QSettings, INI file).

The file lives in ``$OCCSTUDIO_CONFIG_DIR/occstudio.ini`` when that variable is set (tests
use it to isolate themselves), else in the platform's user config folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

MAX_RECENT = 10


def settings_path() -> Path:
    """Where the settings file lives."""
    env = os.environ.get("OCCSTUDIO_CONFIG_DIR")
    if env:
        base = Path(env)
    else:
        base = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)) / "occstudio"
    return base / "occstudio.ini"


def app_settings() -> QSettings:
    """A QSettings object on :func:`settings_path`."""
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return QSettings(str(path), QSettings.Format.IniFormat)


def recent_files() -> list[str]:
    """Recently opened paths, newest first (only those that still exist)."""
    value = app_settings().value("recent_files", [])
    if isinstance(value, str):
        value = [value]
    return [p for p in (value or []) if Path(p).exists()]


def add_recent_file(path: str | Path) -> list[str]:
    """Put ``path`` first in the recent list and return the new list."""
    text = str(Path(path).resolve())
    items = [text] + [p for p in recent_files() if p != text]
    items = items[:MAX_RECENT]
    settings = app_settings()
    settings.setValue("recent_files", items)
    settings.sync()
    return items


def clear_recent_files() -> None:
    """Forget every recent file."""
    settings = app_settings()
    settings.setValue("recent_files", [])
    settings.sync()


#: Preference defaults: sample cache budget (GiB), samples read ahead, LOD point threshold.
PREFERENCE_DEFAULTS: dict[str, float | int] = {
    "cache_gib": 2.0,
    "prefetch": 2,
    "lod_points": 400_000,
}


def preferences() -> dict[str, float | int]:
    """The user's preferences (see :data:`PREFERENCE_DEFAULTS`), defaults where unset or unreadable."""
    settings = app_settings()
    out: dict[str, float | int] = {}
    for key, default in PREFERENCE_DEFAULTS.items():
        value = settings.value(f"preferences/{key}", default)
        try:
            out[key] = type(default)(float(value))
        except (TypeError, ValueError):
            out[key] = default
    return out


def save_preferences(values: dict[str, float | int]) -> None:
    """Store preferences (unknown keys are ignored)."""
    settings = app_settings()
    for key in PREFERENCE_DEFAULTS:
        if key in values:
            settings.setValue(f"preferences/{key}", values[key])
    settings.sync()
