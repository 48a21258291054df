"""Saving edited masks: own encoding, unchanged pixels kept, backup once, atomic, guarded;
Amodal3R RGB masks read and written without changing unedited pixels."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import occstudio.io.mask_store as mask_store
from occstudio.core.errors import DataError
from occstudio.core.persistence import sidecar_dir, stale_temp_files
from occstudio.io.images import read_mask
from occstudio.io.mask_store import (
    AMODAL3R_LEVELS,
    amodal3r_levels,
    read_amodal3r_mask,
    save_amodal3r_mask,
    save_mask,
    write_amodal3r_mask,
)


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image).copy()


def mode_of(path: Path) -> str:
    with Image.open(path) as image:
        return image.mode


@pytest.fixture
def root(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    return folder


# ---------------------------------------------------------------------- real 0/255 L mask


def test_real_l_mask_round_trip_backup_once(shared_data, root):
    source = shared_data / "relaxflow_test_data" / "bike_three_wheels" / "mask.png"
    target = root / "assets" / "mask.png"
    target.parent.mkdir()
    shutil.copy2(source, target)
    original_bytes = target.read_bytes()
    original = pixels(target)
    assert mode_of(target) == "L" and set(np.unique(original)) == {0, 255}
    side = sidecar_dir(root)

    mask = read_mask(target)
    # unchanged: nothing written, no backup needed
    save_mask(target, mask, root, side)
    assert target.read_bytes() == original_bytes
    assert not (side / "originals").exists()

    edited = mask.copy()
    edited[10:40, 20:60] = True
    edited[300:310, :] = False
    written = save_mask(target, edited, root, side)
    assert written == target.resolve()
    assert mode_of(target) == "L"
    out = pixels(target)
    assert set(np.unique(out)) <= {0, 255}
    assert np.array_equal(out != 0, edited)
    assert np.array_equal(out[edited == mask], original[edited == mask])
    backup = side / "originals" / "assets" / "mask.png"
    assert backup.read_bytes() == original_bytes

    edited[100:120, 100:120] = ~edited[100:120, 100:120]
    save_mask(target, edited, root, side)
    assert np.array_equal(read_mask(target), edited)
    assert backup.read_bytes() == original_bytes  # the backup is made once
    assert stale_temp_files(target.parent) == []


def test_failed_save_leaves_original(shared_data, root, monkeypatch):
    target = root / "mask.png"
    shutil.copy2(shared_data / "relaxflow_test_data" / "bike_three_wheels" / "mask.png", target)
    before = target.read_bytes()

    def broken(path, mask, encoding=None, original=None):
        Path(path).write_bytes(b"\x89PNG partial")
        raise OSError("device full")

    monkeypatch.setattr(mask_store, "write_mask", broken)
    with pytest.raises(OSError):
        save_mask(target, ~read_mask(target), root, sidecar_dir(root))
    assert target.read_bytes() == before
    assert stale_temp_files(root) == []


# ---------------------------------------------------------------------- generated encodings


def test_rgba_alpha_mask_keeps_rgb(root):
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(rng.random((20, 30)) < 0.5, 255, 0)
    target = root / "obj.png"
    Image.fromarray(rgba).save(target)
    edited = rgba[..., 3] != 0
    edited[5:10, 5:10] = True
    save_mask(target, edited, root, sidecar_dir(root))
    out = pixels(target)
    assert mode_of(target) == "RGBA"
    assert np.array_equal(out[..., :3], rgba[..., :3])
    assert np.array_equal(out[..., 3] != 0, edited)


def test_unchanged_pixels_keep_exact_values(root):
    # anti-aliased L mask: 0 / 128 / 255
    values = np.zeros((16, 16), np.uint8)
    values[4:12, 4:12] = 255
    values[4, 4:12] = 128
    target = root / "soft.png"
    Image.fromarray(values).save(target)
    edited = values != 0
    edited[14, 14] = True
    save_mask(target, edited, root, sidecar_dir(root))
    out = pixels(target)
    expected = values.copy()
    expected[14, 14] = 255
    assert np.array_equal(out, expected)


def test_rgb_mask_uses_full_colour_for_changed_pixels(root):
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[2:6, 2:6] = (255, 255, 255)
    rgb[7, 7] = (10, 200, 255)  # another "in" colour, kept as is
    target = root / "rgb.png"
    Image.fromarray(rgb).save(target)
    edited = rgb[..., 2] != 0
    edited[0, 0] = True
    edited[2, 2] = False
    save_mask(target, edited, root, sidecar_dir(root))
    out = pixels(target)
    assert out[0, 0].tolist() == [255, 255, 255] and out[2, 2].tolist() == [0, 0, 0]
    assert out[7, 7].tolist() == [10, 200, 255]
    unchanged = np.ones((10, 10), bool)
    unchanged[0, 0] = unchanged[2, 2] = False
    assert np.array_equal(out[unchanged], rgb[unchanged])


def test_palette_mask_keeps_other_labels(root):
    labels = np.zeros((12, 12), np.uint8)
    labels[1:5, 1:5] = 1
    labels[6:10, 6:10] = 2
    image = Image.frombytes("P", (12, 12), labels.tobytes())
    image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
    target = root / "labels.png"
    image.save(target)
    edited = labels != 0
    edited[0, 11] = True
    save_mask(target, edited, root, sidecar_dir(root))
    assert mode_of(target) == "P"
    out = pixels(target)
    assert out[7, 7] == 2 and out[2, 2] == 1 and out[0, 11] != 0
    assert np.array_equal(read_mask(target), edited)


def test_lossy_jpeg_mask_is_refused(root):
    values = np.zeros((32, 32), np.uint8)
    values[8:24, 8:24] = 255
    target = root / "mask.jpg"
    Image.fromarray(values).save(target, quality=95)
    before = target.read_bytes()
    edited = read_mask(target)
    edited[0:3, 0:3] = True
    edited[16, 16] = False
    with pytest.raises(DataError, match="losslessly"):
        save_mask(target, edited, root, sidecar_dir(root))
    assert target.read_bytes() == before
    assert stale_temp_files(root) == []


def test_new_file_shape_check_and_guard(root, tmp_path):
    side = sidecar_dir(root)
    mask = np.zeros((6, 7), bool)
    mask[1, 2] = True
    new = save_mask("assets/new_mask.png", mask, root, side)
    assert new == (root / "assets" / "new_mask.png").resolve()
    assert mode_of(new) == "L" and pixels(new).max() == 255
    assert np.array_equal(read_mask(new), mask)
    with pytest.raises(DataError, match="resize"):
        save_mask(new, np.zeros((3, 3), bool), root, side)
    with pytest.raises(DataError, match="outside"):
        save_mask(tmp_path / "elsewhere.png", mask, root, side)
    assert not (tmp_path / "elsewhere.png").exists()


# ---------------------------------------------------------------------- Amodal3R


def test_real_amodal3r_levels_and_classes(shared_data):
    path = shared_data / "amodal3r_example" / "1" / "000000_mask.png"
    values = pixels(path)
    # the real file: RGB, background ≈235 (not 255), visible 188, occluded 0, soft edges
    assert values.ndim == 3 and values.shape[2] == 3
    assert amodal3r_levels(values).tolist() == [235.0, 188.0, 0.0]
    visible, occluded = read_amodal3r_mask(path)
    assert not (visible & occluded).any()
    grey = values.mean(axis=2)
    assert visible[grey == 188].all() and occluded[grey == 0].all()
    assert not (visible | occluded)[grey >= 230].any()
    assert visible.sum() > 1000 and occluded.sum() > 1000


def test_real_amodal3r_round_trip_keeps_every_pixel(shared_data, tmp_path):
    path = shared_data / "amodal3r_example" / "1" / "000000_mask.png"
    original = pixels(path)
    visible, occluded = read_amodal3r_mask(path)
    out = tmp_path / "copy.png"
    write_amodal3r_mask(out, visible, occluded, original=path)
    assert mode_of(out) == "RGB"
    assert np.array_equal(pixels(out), original)


def test_real_amodal3r_edit_changes_only_edited_pixels(shared_data, root):
    target = root / "1" / "000000_mask.png"
    target.parent.mkdir()
    shutil.copy2(shared_data / "amodal3r_example" / "1" / "000000_mask.png", target)
    original_bytes = target.read_bytes()
    original = pixels(target)
    side = sidecar_dir(root)
    visible, occluded = read_amodal3r_mask(target)

    assert save_amodal3r_mask(target, visible, occluded, root, side) == target.resolve()
    assert target.read_bytes() == original_bytes  # unchanged: not rewritten

    ys, xs = np.nonzero(occluded)
    cy, cx = int(ys.mean()), int(xs.mean())
    new_visible = visible.copy()
    new_visible[cy - 3 : cy + 3, cx - 3 : cx + 3] = True  # occluded -> visible
    new_occluded = occluded & ~new_visible
    new_occluded[0:2, 0:2] = True  # background -> occluded
    save_amodal3r_mask(target, new_visible, new_occluded, root, side)
    out = pixels(target)
    changed_class = (new_visible != visible) | (new_occluded != occluded)
    assert np.array_equal(out[~changed_class], original[~changed_class])
    assert (out[new_visible & ~visible] == 188).all()
    assert (out[0:2, 0:2] == 0).all()
    again = read_amodal3r_mask(target)
    assert np.array_equal(again[0], new_visible) and np.array_equal(again[1], new_occluded)
    assert (side / "originals" / "1" / "000000_mask.png").read_bytes() == original_bytes


def test_amodal3r_without_original_uses_nominal_colours(tmp_path):
    visible = np.zeros((8, 8), bool)
    occluded = np.zeros((8, 8), bool)
    visible[2:4, 2:4] = True
    occluded[5:7, 5:7] = True
    path = tmp_path / "m.png"
    write_amodal3r_mask(path, visible, occluded)
    out = pixels(path)
    assert out[0, 0].tolist() == [AMODAL3R_LEVELS[0]] * 3
    assert out[2, 2].tolist() == [188] * 3 and out[5, 5].tolist() == [0, 0, 0]
    v, o = read_amodal3r_mask(path)
    assert np.array_equal(v, visible) and np.array_equal(o, occluded)
    with pytest.raises(DataError, match="both visible and occluded"):
        write_amodal3r_mask(path, visible, visible)
