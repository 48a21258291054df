"""Shared fixtures: where the real sample data lives, and small generated data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """The real sample files (``../shared/data`` beside the checkout, or $OCCSTUDIO_SHARED_DATA)."""
    env = os.environ.get("OCCSTUDIO_SHARED_DATA")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "data")


@pytest.fixture
def shared_data() -> Path:
    """The real sample data folder; the test is skipped when it is absent."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real sample data not found at {path} (set OCCSTUDIO_SHARED_DATA)")
    return path


@pytest.fixture
def demo_root() -> Path:
    """The bundled demo dataset (resources/demo)."""
    path = REPO_ROOT / "resources" / "demo"
    if not (path / "manifest.json").is_file():
        pytest.skip("demo dataset not generated (run: python resources/make_demo.py)")
    return path
