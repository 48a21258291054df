"""SemanticKITTI classes: the 20 learning-map classes, their palette and the raw-id map.

SemanticKITTI ``.label`` files of the voxel (SSC) release store *raw* semantic ids
(10 = car, 40 = road, 252 = moving car...). Training code maps them to 20 contiguous
*learning* ids with the dataset's ``learning_map``; :data:`LEARNING_MAP` is that table and
:func:`to_learning_ids` applies it. Learning id 0 means empty / unlabeled; 255 marks
voxels to ignore (e.g. those in ``<frame>.invalid``).
"""

from __future__ import annotations

import numpy as np
from occstudio.core.labels import LabelSet

#: Names of the 20 learning classes, index = learning id.
CLASS_NAMES: tuple[str, ...] = (
    "unlabeled",
    "car",
    "bicycle",
    "motorcycle",
    "truck",
    "other-vehicle",
    "person",
    "bicyclist",
    "motorcyclist",
    "road",
    "parking",
    "sidewalk",
    "other-ground",
    "building",
    "fence",
    "vegetation",
    "trunk",
    "terrain",
    "pole",
    "traffic-sign",
)

#: RGB colour of each learning class (the palette SSC papers draw with).
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0),  # unlabeled (empty, never drawn)
    (100, 150, 245),  # car
    (100, 230, 245),  # bicycle
    (30, 60, 150),  # motorcycle
    (80, 30, 180),  # truck
    (100, 80, 250),  # other-vehicle
    (255, 30, 30),  # person
    (255, 40, 200),  # bicyclist
    (150, 30, 90),  # motorcyclist
    (255, 0, 255),  # road
    (255, 150, 255),  # parking
    (75, 0, 75),  # sidewalk
    (175, 0, 75),  # other-ground
    (255, 200, 0),  # building
    (255, 120, 50),  # fence
    (0, 175, 0),  # vegetation
    (135, 60, 0),  # trunk
    (150, 240, 80),  # terrain
    (255, 240, 150),  # pole
    (255, 0, 0),  # traffic-sign
)

#: Learning id meaning "do not evaluate".
IGNORE_ID = 255

#: Raw SemanticKITTI id -> learning id (the dataset's ``learning_map``).
LEARNING_MAP: dict[int, int] = {
    0: 0,  # unlabeled
    1: 0,  # outlier
    10: 1,  # car
    11: 2,  # bicycle
    13: 5,  # bus -> other-vehicle
    15: 3,  # motorcycle
    16: 5,  # on-rails -> other-vehicle
    18: 4,  # truck
    20: 5,  # other-vehicle
    30: 6,  # person
    31: 7,  # bicyclist
    32: 8,  # motorcyclist
    40: 9,  # road
    44: 10,  # parking
    48: 11,  # sidewalk
    49: 12,  # other-ground
    50: 13,  # building
    51: 14,  # fence
    52: 0,  # other-structure -> unlabeled
    60: 9,  # lane-marking -> road
    70: 15,  # vegetation
    71: 16,  # trunk
    72: 17,  # terrain
    80: 18,  # pole
    81: 19,  # traffic-sign
    99: 0,  # other-object -> unlabeled
    252: 1,  # moving-car
    253: 7,  # moving-bicyclist
    254: 6,  # moving-person
    255: 8,  # moving-motorcyclist
    256: 5,  # moving-on-rails
    257: 5,  # moving-bus
    258: 4,  # moving-truck
    259: 5,  # moving-other-vehicle
}

#: The palette as an occstudio label set (0 = empty is free, 255 ignored).
SEMANTICKITTI = LabelSet(
    name="semantickitti",
    class_names=CLASS_NAMES,
    colors=np.array([(*rgb, 0 if i == 0 else 255) for i, rgb in enumerate(PALETTE)], dtype=np.uint8),
    free_ids=(0,),
    ignore_ids=(IGNORE_ID,),
)


def learning_lut() -> np.ndarray:
    """A ``(65536,)`` int32 table raw id -> learning id; ids not in the map give -1."""
    lut = np.full(1 << 16, -1, dtype=np.int32)
    for raw, learned in LEARNING_MAP.items():
        lut[raw] = learned
    return lut


def to_learning_ids(raw: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Map raw SemanticKITTI ids to learning ids.

    Parameters
    ----------
    raw
        Integer array of raw ids (uint16).

    Returns
    -------
    labels : numpy.ndarray
        uint16 learning ids, same shape; raw ids that are not in the map become
        :data:`IGNORE_ID`.
    unknown : list of int
        The raw ids that were not in the map (sorted; empty when all were known).
    """
    raw = np.asarray(raw)
    mapped = learning_lut()[raw.astype(np.int64)]
    unknown = sorted(int(v) for v in np.unique(raw[mapped < 0])) if np.any(mapped < 0) else []
    mapped[mapped < 0] = IGNORE_ID
    return mapped.astype(np.uint16), unknown
