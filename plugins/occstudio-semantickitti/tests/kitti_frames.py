"""Generated SemanticKITTI frames with known content (used by the tests and conftest)."""

from __future__ import annotations

import numpy as np

from occstudio_semantickitti.voxels import GRID_SHAPE


def make_frame(seed: int) -> dict[str, np.ndarray]:
    """Occupancy, learning-id labels and an invalid mask with known content."""
    rng = np.random.default_rng(seed)
    occupancy = np.zeros(GRID_SHAPE, dtype=bool)
    occupancy[rng.integers(0, 256, 50), rng.integers(0, 256, 50), rng.integers(0, 32, 50)] = True
    labels = np.zeros(GRID_SHAPE, dtype=np.uint16)
    labels[10:20, 10:20, 0:2] = 9  # 200 road voxels
    labels[30:32, 30:35, 3:6] = 1  # 30 car voxels
    labels[100, 100, 10] = 255  # one ignored voxel
    invalid = np.zeros(GRID_SHAPE, dtype=bool)
    invalid[10:20, 10:20, 1] = True  # hides 100 of the road voxels
    return {"occupancy": occupancy, "labels": labels, "invalid": invalid}
