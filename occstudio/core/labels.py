"""Class palettes: label id -> name and RGBA colour, per dataset family.

A :class:`LabelSet` is a small immutable table. Ids that are *free* (empty space, e.g.
Occ3D's 17) or *ignored* (unknown, e.g. 255) are never drawn: their colour has alpha 0.
Ids past the table (a prediction writing 42) get a neutral grey so they stay visible.

Presets
-------
:data:`OCC3D`
    Occ3D-nuScenes, 18 classes (free = 17), with the SurroundOcc/TPVFormer palette.
:data:`UNSCENES3D`
    UnScenes3D, 12 classes; its loader reads class 0 (background) as ignore 255.
:data:`OCCGEN`
    OccGen / L3ROcc binary occupancy (0 free, 1 occupied); views colour occupied voxels
    by height with :func:`height_colormap`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: Colour used for ids that are not in a label set's table.
UNKNOWN_RGBA = (128, 128, 128, 255)


def _rgba_table(rgb: Sequence[Sequence[int]], hidden: Sequence[int] = ()) -> np.ndarray:
    """An ``(C, 4)`` uint8 table from RGB triples; ``hidden`` rows get alpha 0."""
    table = np.full((len(rgb), 4), 255, dtype=np.uint8)
    table[:, :3] = np.asarray(rgb, dtype=np.uint8).reshape(-1, 3)
    for i in hidden:
        if 0 <= i < len(rgb):
            table[i, 3] = 0
    table.setflags(write=False)
    return table


@dataclass(frozen=True, eq=False)
class LabelSet:
    """Names and colours of a dataset's semantic classes.

    Attributes
    ----------
    name
        Short id of the palette (``"occ3d"``, ``"unscenes3d"``, ``"occgen"``).
    class_names
        Name of class ``i`` at position ``i``.
    colors
        ``(C, 4)`` uint8 RGBA, one row per class; free classes have alpha 0.
    free_ids
        Ids meaning empty space (not drawn, excluded from occupied-ness).
    ignore_ids
        Ids meaning unknown / not evaluated (not drawn); need not be in the table.
    read_as
        Ids a loader remaps on read (``{0: 255}`` for UnScenes3D background).
    """

    name: str
    class_names: tuple[str, ...]
    colors: np.ndarray
    free_ids: tuple[int, ...] = ()
    ignore_ids: tuple[int, ...] = (255,)
    read_as: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        colors = np.asarray(self.colors, dtype=np.uint8)
        if colors.ndim != 2 or colors.shape[1] != 4 or len(colors) != len(self.class_names):
            raise ValueError(
                f"label set {self.name!r}: colors must be ({len(self.class_names)}, 4) uint8, "
                f"got {colors.shape}"
            )

    @property
    def n_classes(self) -> int:
        """Number of classes in the table (free classes included)."""
        return len(self.class_names)

    def is_drawn(self, label: int) -> bool:
        """Whether voxels/pixels of ``label`` are drawn (not free, not ignored)."""
        return int(label) not in self.free_ids and int(label) not in self.ignore_ids

    def drawn_ids(self) -> list[int]:
        """The ids in the table that are drawn (e.g. 0..16 for Occ3D)."""
        return [i for i in range(self.n_classes) if self.is_drawn(i)]

    def color_of(self, label: int) -> tuple[int, int, int, int]:
        """RGBA of ``label``; alpha 0 for free/ignored ids, grey for unknown ids."""
        label = int(label)
        if label in self.ignore_ids:
            return (0, 0, 0, 0)
        if 0 <= label < self.n_classes:
            r, g, b, a = (int(v) for v in self.colors[label])
            return (r, g, b, a)
        return UNKNOWN_RGBA

    def name_of(self, label: int) -> str:
        """Name of ``label`` (``"ignore"`` for ignored ids, ``"class N"`` for unknown)."""
        label = int(label)
        if 0 <= label < self.n_classes:
            return self.class_names[label]
        if label in self.ignore_ids:
            return "ignore"
        return f"class {label}"

    def id_of(self, name: str) -> int:
        """The id of the class called ``name``; ``KeyError`` when absent."""
        try:
            return self.class_names.index(name)
        except ValueError:
            raise KeyError(name) from None

    def lut(self, size: int = 256) -> np.ndarray:
        """A ``(size, 4)`` uint8 lookup table: row ``i`` is :meth:`color_of` ``(i)``.

        Use it to colour a label array in one step: ``labelset.lut()[labels]``.
        """
        table = np.empty((size, 4), dtype=np.uint8)
        table[:] = UNKNOWN_RGBA
        n = min(size, self.n_classes)
        table[:n] = self.colors[:n]
        for i in self.free_ids:
            if 0 <= i < size:
                table[i, 3] = 0
        for i in self.ignore_ids:
            if 0 <= i < size:
                table[i] = (0, 0, 0, 0)
        return table

    def colors_for(self, labels: np.ndarray) -> np.ndarray:
        """RGBA (``labels.shape + (4,)``, uint8) of an integer label array."""
        labels = np.asarray(labels)
        if labels.size and labels.min() < 0:
            raise ValueError("labels must be non-negative")
        size = max(256, int(labels.max()) + 1) if labels.size else 256
        return self.lut(size)[labels]


OCC3D_CLASS_NAMES: tuple[str, ...] = (
    "others",
    "barrier",
    "bicycle",
    "bus",
    "car",
    "construction_vehicle",
    "motorcycle",
    "pedestrian",
    "traffic_cone",
    "trailer",
    "truck",
    "driveable_surface",
    "other_flat",
    "sidewalk",
    "terrain",
    "manmade",
    "vegetation",
    "free",
)

#: Id of the free class in Occ3D-nuScenes.
OCC3D_FREE = 17

OCC3D = LabelSet(
    name="occ3d",
    class_names=OCC3D_CLASS_NAMES,
    colors=_rgba_table(
        [
            (0, 0, 0),  # others
            (255, 120, 50),  # barrier
            (255, 192, 203),  # bicycle
            (255, 255, 0),  # bus
            (0, 150, 245),  # car
            (0, 255, 255),  # construction_vehicle
            (200, 180, 0),  # motorcycle
            (255, 0, 0),  # pedestrian
            (255, 240, 150),  # traffic_cone
            (135, 60, 0),  # trailer
            (160, 32, 240),  # truck
            (255, 0, 255),  # driveable_surface
            (139, 137, 137),  # other_flat
            (75, 0, 75),  # sidewalk
            (150, 240, 80),  # terrain
            (230, 230, 250),  # manmade
            (0, 175, 0),  # vegetation
            (255, 255, 255),  # free (never drawn)
        ],
        hidden=(OCC3D_FREE,),
    ),
    free_ids=(OCC3D_FREE,),
    ignore_ids=(255,),
)

UNSCENES3D = LabelSet(
    name="unscenes3d",
    class_names=(
        "background",
        "barrier",
        "truck",
        "widebody",
        "car",
        "excavator",
        "machinery",
        "pedestrian",
        "traffic_cone",
        "muddy",
        "terrain",
        "driveable_surface",
    ),
    colors=_rgba_table(
        [
            (0, 0, 0),  # background (read as ignore 255)
            (255, 120, 50),
            (160, 32, 240),
            (255, 192, 203),
            (0, 150, 245),
            (255, 255, 0),
            (0, 255, 255),
            (255, 0, 0),
            (255, 240, 150),
            (139, 137, 137),
            (150, 240, 80),
            (255, 0, 255),
        ],
        hidden=(0,),
    ),
    free_ids=(),
    ignore_ids=(255,),
    read_as={0: 255},
)

OCCGEN = LabelSet(
    name="occgen",
    class_names=("free", "occupied"),
    colors=_rgba_table([(255, 255, 255), (160, 160, 160)], hidden=(0,)),
    free_ids=(0,),
    ignore_ids=(255,),
)

#: The presets by name.
LABEL_SETS: dict[str, LabelSet] = {ls.name: ls for ls in (OCC3D, UNSCENES3D, OCCGEN)}

# Control points of the height colour ramp (blue -> cyan -> green -> yellow -> red).
_HEIGHT_STOPS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
_HEIGHT_RGB = np.array(
    [(48, 18, 200), (0, 190, 230), (40, 200, 60), (245, 220, 30), (220, 30, 30)], dtype=float
)


def height_colormap(
    z: np.ndarray,
    zmin: float | None = None,
    zmax: float | None = None,
    alpha: int = 255,
) -> np.ndarray:
    """Colour heights with a blue-to-red ramp (OccGen occupancy is coloured by height).

    Parameters
    ----------
    z
        Heights, any shape.
    zmin, zmax
        The heights mapped to the two ends of the ramp (default: the min and max of
        ``z``). Values outside are clipped.
    alpha
        Alpha of every colour.

    Returns
    -------
    numpy.ndarray
        ``z.shape + (4,)`` uint8 RGBA.
    """
    z = np.asarray(z, dtype=float)
    if z.size == 0:
        return np.zeros(z.shape + (4,), dtype=np.uint8)
    lo = float(np.nanmin(z)) if zmin is None else float(zmin)
    hi = float(np.nanmax(z)) if zmax is None else float(zmax)
    span = hi - lo
    t = np.zeros_like(z) if span <= 0 else np.clip((z - lo) / span, 0.0, 1.0)
    t = np.nan_to_num(t, nan=0.0)
    out = np.empty(z.shape + (4,), dtype=np.uint8)
    for c in range(3):
        out[..., c] = np.rint(np.interp(t, _HEIGHT_STOPS, _HEIGHT_RGB[:, c]))
    out[..., 3] = alpha
    return out


#: Categories of the GT-vs-prediction error view of occupancy grids.
ERRORS = LabelSet(
    name="errors",
    class_names=("correct", "wrong class", "false positive", "false negative"),
    colors=_rgba_table([(60, 180, 75), (245, 165, 35), (230, 40, 40), (40, 100, 230)]),
    free_ids=(),
    ignore_ids=(255,),
)
LABEL_SETS[ERRORS.name] = ERRORS
