"""Tests of image and mask reading/writing (mask rules of formats.md §1)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from occstudio.core.errors import DataError, MissingFileError
from occstudio.io.images import (
    image_size,
    mask_encoding,
    mask_from_alpha,
    read_image,
    read_mask,
    resize_mask_nearest,
    write_mask,
)


def _save(path, array, **kwargs):
    Image.fromarray(array).save(path, **kwargs)
    return path


def _pattern(h=6, w=8):
    mask = np.zeros((h, w), bool)
    mask[1:4, 2:7] = True
    mask[5, 0] = True
    return mask


# ---------------------------------------------------------------- read_image


def test_read_rgb_and_rgba(tmp_path):
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    rgba = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    out_rgb = read_image(_save(tmp_path / "rgb.png", rgb))
    out_rgba = read_image(_save(tmp_path / "rgba.png", rgba))
    assert out_rgb.dtype == np.uint8 and out_rgb.shape == (2, 3, 3)
    np.testing.assert_array_equal(out_rgb, rgb)
    np.testing.assert_array_equal(out_rgba, rgba)


def test_grayscale_expands_to_rgb(tmp_path):
    gray = np.array([[0, 10], [200, 255]], np.uint8)
    out = read_image(_save(tmp_path / "g.png", gray))
    assert out.shape == (2, 2, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], gray)


def test_16bit_depth_kept_or_scaled(tmp_path):
    depth = np.array([[0, 256], [5307, 65535]], np.uint16)
    path = _save(tmp_path / "depth.png", depth)
    raw = read_image(path, keep_depth=True)
    assert raw.dtype == np.uint16 and raw.shape == (2, 2)
    np.testing.assert_array_equal(raw, depth)
    shown = read_image(path)
    assert shown.dtype == np.uint8 and shown.shape == (2, 2, 3)
    np.testing.assert_array_equal(shown[:, :, 0], depth >> 8)


def test_palette_with_transparency_gives_rgba(tmp_path):
    image = Image.new("P", (3, 2), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.putpixel((1, 1), 1)
    path = tmp_path / "p.png"
    image.save(path, transparency=0)
    out = read_image(path)
    assert out.shape == (2, 3, 4)
    assert tuple(out[1, 1]) == (255, 0, 0, 255)
    assert out[0, 0, 3] == 0


def test_missing_image(tmp_path):
    with pytest.raises(MissingFileError):
        read_image(tmp_path / "nope.png")


def test_truncated_png_is_a_clear_error(tmp_path):
    rng = np.random.default_rng(0)
    full = _save(tmp_path / "full.png", rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    data = full.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"not a readable image \(truncated PNG\)") as info:
        read_image(cut)
    assert info.value.path == cut


def test_not_an_image(tmp_path):
    path = tmp_path / "text.png"
    path.write_text("hello")
    with pytest.raises(DataError, match="not a readable image"):
        read_image(path)
    with pytest.raises(DataError, match="not a readable image"):
        read_mask(path)
    with pytest.raises(DataError):
        image_size(path)


def test_image_size_is_width_height(tmp_path):
    path = _save(tmp_path / "wide.png", np.zeros((5, 9, 3), np.uint8))
    assert image_size(path) == (9, 5)


# ---------------------------------------------------------------- masks


def test_mask_mode_l_0_255(tmp_path):
    mask = _pattern()
    path = _save(tmp_path / "m.png", mask.astype(np.uint8) * 255)
    out = read_mask(path)
    assert out.dtype == bool
    np.testing.assert_array_equal(out, mask)


def test_mask_any_nonzero_is_in(tmp_path):
    values = np.array([[0, 1], [128, 255]], np.uint8)
    out = read_mask(_save(tmp_path / "soft.png", values))
    np.testing.assert_array_equal(out, [[False, True], [True, True]])


def test_rgba_mask_uses_alpha(tmp_path):
    mask = _pattern()
    rgba = np.zeros(mask.shape + (4,), np.uint8)
    rgba[..., :3] = 255  # colour everywhere: must be ignored
    rgba[..., 3] = mask * 200
    np.testing.assert_array_equal(read_mask(_save(tmp_path / "a.png", rgba)), mask)


def test_rgb_mask_uses_blue(tmp_path):
    mask = _pattern()
    rgb = np.zeros(mask.shape + (3,), np.uint8)
    rgb[..., 0] = 255  # red everywhere: ignored
    rgb[..., 2] = mask * 188
    np.testing.assert_array_equal(read_mask(_save(tmp_path / "b.png", rgb)), mask)


def test_nearest_resize_keeps_binary_values(tmp_path):
    mask = _pattern(6, 8)
    path = _save(tmp_path / "m.png", mask.astype(np.uint8) * 255)
    big = read_mask(path, shape=(12, 16))
    assert big.shape == (12, 16) and big.dtype == bool
    np.testing.assert_array_equal(big, np.repeat(np.repeat(mask, 2, 0), 2, 1))
    small = read_mask(path, shape=(3, 4))
    np.testing.assert_array_equal(small, mask[1::2, 1::2])  # pixel-centre rule
    # Agrees with Pillow's nearest neighbour on an uneven ratio.
    odd = resize_mask_nearest(mask, (5, 11))
    pil = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((11, 5), Image.NEAREST))
    np.testing.assert_array_equal(odd, pil > 0)


def test_mask_from_alpha():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 1, 3] = 7
    np.testing.assert_array_equal(mask_from_alpha(rgba), [[False, True], [False, False]])
    assert mask_from_alpha(np.zeros((2, 2, 3), np.uint8)) is None
    assert mask_from_alpha(np.zeros((2, 2), np.uint8)) is None


# ---------------------------------------------------------------- encoding + writing


def test_write_mask_l_round_trip_exact(tmp_path):
    mask = _pattern()
    src = _save(tmp_path / "m.png", mask.astype(np.uint8) * 255)
    enc = mask_encoding(src)
    assert enc["mode"] == "L" and enc["channels"] == 1
    assert enc["on_value"] == 255 and enc["off_value"] == 0 and enc["binary"]
    assert enc["values"] == [0, 255] and enc["size"] == [8, 6]
    edited = mask.copy()
    edited[0, 0] = True
    out = tmp_path / "out.png"
    write_mask(out, edited, enc)
    with Image.open(out) as image:
        assert image.mode == "L"
        pixels = np.asarray(image)
    np.testing.assert_array_equal(pixels, edited.astype(np.uint8) * 255)
    np.testing.assert_array_equal(read_mask(out), edited)


def test_write_mask_rgba_keeps_original_rgb(tmp_path):
    mask = _pattern()
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 255, mask.shape + (4,), dtype=np.uint8)
    rgba[..., 3] = np.where(mask, 255, 0)
    src = _save(tmp_path / "a.png", rgba)
    enc = mask_encoding(src)
    assert enc["mode"] == "RGBA" and enc["channels"] == 4
    edited = ~mask
    out = tmp_path / "a_out.png"
    write_mask(out, edited, enc, original=src)
    with Image.open(out) as image:
        assert image.mode == "RGBA"
        pixels = np.asarray(image)
    np.testing.assert_array_equal(pixels[..., :3], rgba[..., :3])
    np.testing.assert_array_equal(pixels[..., 3], np.where(edited, 255, 0))


def test_write_mask_unchanged_rgba_is_identical(tmp_path):
    mask = _pattern()
    rgba = np.zeros(mask.shape + (4,), np.uint8)
    rgba[..., 0] = 40
    rgba[..., 3] = mask * 255
    src = _save(tmp_path / "a.png", rgba)
    out = tmp_path / "same.png"
    write_mask(out, read_mask(src), mask_encoding(src), original=read_image(src))
    with Image.open(out) as image:
        np.testing.assert_array_equal(np.asarray(image), rgba)


def test_write_mask_mode_1_and_palette(tmp_path):
    mask = _pattern()
    one = tmp_path / "one.png"
    Image.fromarray(mask).save(one)  # bool array -> mode "1"
    enc = mask_encoding(one)
    assert enc["mode"] == "1"
    out = tmp_path / "one_out.png"
    write_mask(out, mask, enc)
    with Image.open(out) as image:
        assert image.mode == "1"
    np.testing.assert_array_equal(read_mask(out), mask)

    pal = Image.frombytes("P", (8, 6), (mask.astype(np.uint8) * 3).tobytes())
    pal.putpalette([0, 0, 0] * 3 + [0, 255, 0] + [0] * 756)
    pal_path = tmp_path / "pal.png"
    pal.save(pal_path)
    enc = mask_encoding(pal_path)
    assert enc["mode"] == "P" and enc["on_value"] == 3
    out = tmp_path / "pal_out.png"
    write_mask(out, mask, enc)
    with Image.open(out) as image:
        assert image.mode == "P"
        np.testing.assert_array_equal(np.asarray(image), mask.astype(np.uint8) * 3)
        assert image.getpalette()[9:12] == [0, 255, 0]


def test_write_mask_temp_name_uses_encoding_format(tmp_path):
    mask = _pattern()
    src = _save(tmp_path / "m.png", mask.astype(np.uint8) * 255)
    out = tmp_path / "m.png.tmp"
    write_mask(out, mask, mask_encoding(src))
    with Image.open(out) as image:
        assert image.format == "PNG"


def test_write_mask_rejects_bad_shapes(tmp_path):
    with pytest.raises(DataError, match="2-D"):
        write_mask(tmp_path / "x.png", np.zeros((2, 2, 2), bool))
    src = _save(tmp_path / "a.png", np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(DataError, match="does not match"):
        write_mask(
            tmp_path / "y.png",
            np.zeros((4, 4), bool),
            mask_encoding(src),
            original=np.zeros((3, 3, 4), np.uint8),
        )


# ---------------------------------------------------------------- real files


def test_real_relaxflow_input_alpha_is_the_mask(shared_data):
    path = shared_data / "relaxflow_test_data" / "bike_three_wheels" / "input.png"
    image = read_image(path)
    assert image.shape == (512, 512, 4) and image.dtype == np.uint8
    assert image_size(path) == (512, 512)
    alpha = mask_from_alpha(image)
    assert alpha is not None and alpha.dtype == bool
    assert 0 < alpha.sum() < alpha.size
    # read_mask on an RGBA file reads the same alpha.
    np.testing.assert_array_equal(read_mask(path), alpha)


def test_real_relaxflow_mask_l_0_255(shared_data):
    path = shared_data / "relaxflow_test_data" / "bike_three_wheels" / "mask.png"
    with Image.open(path) as image:
        assert image.mode == "L"
        raw = np.asarray(image)
    assert set(np.unique(raw).tolist()) == {0, 255}
    mask = read_mask(path)
    assert mask.dtype == bool and mask.shape == (512, 512)
    assert mask.any() and not mask.all()
    np.testing.assert_array_equal(mask, raw == 255)
    # The visible part lies inside the object's alpha.
    alpha = mask_from_alpha(read_image(path.parent / "input.png"))
    assert (mask & ~alpha).sum() <= 0.01 * mask.sum()


def test_real_relaxflow_mask_write_round_trip(shared_data, tmp_path):
    path = shared_data / "relaxflow_test_data" / "bike_three_wheels" / "mask.png"
    enc = mask_encoding(path)
    assert enc["mode"] == "L" and enc["on_value"] == 255 and enc["off_value"] == 0
    out = tmp_path / "mask.png"
    write_mask(out, read_mask(path), enc)
    with Image.open(path) as a, Image.open(out) as b:
        assert a.mode == b.mode and a.size == b.size
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_real_amodal3r_rgb_mask(shared_data):
    path = shared_data / "amodal3r_example" / "1" / "000000_mask.png"
    rgb = read_image(path)
    mask = read_mask(path)
    assert mask.dtype == bool and mask.shape == rgb.shape[:2]
    np.testing.assert_array_equal(mask, rgb[..., 2] != 0)
    assert mask.any() and not mask.all()
    assert read_mask(path, shape=(128, 128)).shape == (128, 128)
