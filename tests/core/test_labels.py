"""Class palettes: names, colours, free/ignore handling and the height ramp."""

from __future__ import annotations

import numpy as np
import pytest

from occstudio.core.labels import (
    LABEL_SETS,
    OCC3D,
    OCCGEN,
    UNKNOWN_RGBA,
    UNSCENES3D,
    LabelSet,
    height_colormap,
)


def test_occ3d_table_matches_formats_md():
    assert OCC3D.n_classes == 18
    assert OCC3D.name_of(0) == "others"
    assert OCC3D.name_of(4) == "car"
    assert OCC3D.name_of(11) == "driveable_surface"
    assert OCC3D.name_of(17) == "free"
    assert OCC3D.free_ids == (17,)
    expected = {
        0: (0, 0, 0),
        1: (255, 120, 50),
        2: (255, 192, 203),
        3: (255, 255, 0),
        4: (0, 150, 245),
        5: (0, 255, 255),
        6: (200, 180, 0),
        7: (255, 0, 0),
        8: (255, 240, 150),
        9: (135, 60, 0),
        10: (160, 32, 240),
        11: (255, 0, 255),
        12: (139, 137, 137),
        13: (75, 0, 75),
        14: (150, 240, 80),
        15: (230, 230, 250),
        16: (0, 175, 0),
    }
    for cid, rgb in expected.items():
        assert OCC3D.color_of(cid) == (*rgb, 255)
    assert OCC3D.color_of(17)[3] == 0  # free is never drawn
    assert OCC3D.drawn_ids() == list(range(17))


def test_unscenes_and_occgen_presets():
    assert UNSCENES3D.n_classes == 12
    assert UNSCENES3D.name_of(2) == "truck"
    assert UNSCENES3D.color_of(2) == (160, 32, 240, 255)
    assert UNSCENES3D.color_of(11) == (255, 0, 255, 255)
    assert UNSCENES3D.read_as == {0: 255}
    assert UNSCENES3D.name_of(255) == "ignore"
    assert not UNSCENES3D.is_drawn(255)
    assert OCCGEN.class_names == ("free", "occupied")
    assert OCCGEN.is_drawn(1) and not OCCGEN.is_drawn(0)
    assert set(LABEL_SETS) == {"occ3d", "unscenes3d", "occgen", "errors"}


def test_unknown_and_ignored_ids():
    assert OCC3D.color_of(42) == UNKNOWN_RGBA
    assert OCC3D.name_of(42) == "class 42"
    assert OCC3D.color_of(255) == (0, 0, 0, 0)
    assert OCC3D.id_of("car") == 4
    with pytest.raises(KeyError):
        OCC3D.id_of("spaceship")


def test_lut_and_vectorised_colours_agree_with_color_of():
    lut = OCC3D.lut()
    assert lut.shape == (256, 4) and lut.dtype == np.uint8
    for i in (0, 4, 16, 17, 18, 200, 255):
        assert tuple(int(v) for v in lut[i]) == OCC3D.color_of(i)
    labels = np.array([[0, 4], [17, 300]])
    rgba = OCC3D.colors_for(labels)
    assert rgba.shape == (2, 2, 4)
    assert tuple(rgba[0, 1]) == (0, 150, 245, 255)
    assert rgba[1, 0, 3] == 0
    assert tuple(rgba[1, 1]) == UNKNOWN_RGBA
    with pytest.raises(ValueError):
        OCC3D.colors_for(np.array([-1]))


def test_bad_table_shape_is_rejected():
    with pytest.raises(ValueError):
        LabelSet(name="x", class_names=("a", "b"), colors=np.zeros((3, 4), dtype=np.uint8))


def test_height_colormap_ends_and_clipping():
    z = np.array([0.0, 0.5, 1.0, 2.0])
    rgba = height_colormap(z, zmin=0.0, zmax=1.0)
    assert rgba.shape == (4, 4) and rgba.dtype == np.uint8
    assert tuple(rgba[0, :3]) == (48, 18, 200)  # low = blue
    assert tuple(rgba[2, :3]) == (220, 30, 30)  # high = red
    assert np.array_equal(rgba[2], rgba[3])  # clipped
    assert np.all(rgba[:, 3] == 255)
    flat = height_colormap(np.full(3, 7.0))
    assert np.all(flat == flat[0])
    assert height_colormap(np.zeros((0,))).shape == (0, 4)
