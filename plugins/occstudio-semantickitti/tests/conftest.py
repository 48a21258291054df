"""Fixtures for the SemanticKITTI plugin tests: occstudio's plugin-testing helpers and a
tiny generated sequence (real 256×256×32 grid, two frames)."""

from __future__ import annotations

from pathlib import Path

import pytest

from occstudio_semantickitti.voxels import write_frame

from kitti_frames import make_frame

pytest_plugins = ["occstudio.testing"]


@pytest.fixture
def kitti_sequence(tmp_path: Path) -> Path:
    """``<tmp>/08/voxels/000000.{bin,label,invalid}`` and ``000005.bin`` (no labels)."""
    seq = tmp_path / "08"
    f = make_frame(0)
    write_frame(seq / "voxels", "000000", f["occupancy"], f["labels"], invalid=f["invalid"])
    write_frame(seq / "voxels", "000005", make_frame(1)["occupancy"])
    return seq
