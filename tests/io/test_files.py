"""Tests of the single-file loader and point-cloud reading."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from occstudio.core.errors import DataError, MissingFileError
from occstudio.io.files import open_file, read_points, read_points_checked, sniff


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("a.png", "image"),
        ("a.JPG", "image"),
        ("a.webp", "image"),
        ("a.bmp", "image"),
        ("m.ply", "mesh"),
        ("m.obj", "mesh"),
        ("m.glb", "mesh"),
        ("m.gltf", "mesh"),
        ("p.npy", "points"),
        ("p.bin", "points"),
    ],
)
def test_sniff_and_open(tmp_path, name, key):
    path = tmp_path / name
    path.write_bytes(b"x")
    assert sniff(path) == pytest.approx(0.1)
    dataset = open_file(path)
    assert dataset.format == "files"
    assert dataset.root == tmp_path and dataset.source == path
    assert dataset.ids() == [name]
    assert dataset.samples[0].paths == {key: path}


def test_sniff_rejects_other_things(tmp_path):
    (tmp_path / "a.json").write_text("[]")
    (tmp_path / "a.txt").write_text("")
    assert sniff(tmp_path) == 0.0
    assert sniff(tmp_path / "a.json") == 0.0
    assert sniff(tmp_path / "a.txt") == 0.0
    assert sniff(tmp_path / "absent.png") == 0.0


def test_open_errors(tmp_path):
    with pytest.raises(MissingFileError):
        open_file(tmp_path / "absent.png")
    with pytest.raises(DataError, match="folder"):
        open_file(tmp_path)
    (tmp_path / "a.txt").write_text("")
    with pytest.raises(DataError, match="unsupported file type .txt"):
        open_file(tmp_path / "a.txt")


def test_open_real_image(shared_data):
    path = shared_data / "relaxflow_test_data" / "dressing_table" / "prior1.png"
    dataset = open_file(path)
    assert dataset.samples[0].path("image") == path


# ---------------------------------------------------------------- points


def test_npy_n3_and_n4(tmp_path):
    xyz = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "a.npy", xyz)
    out = read_points(tmp_path / "a.npy")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, xyz)
    xyzi = np.arange(16, dtype=np.float64).reshape(4, 4)
    np.save(tmp_path / "b.npy", xyzi)
    out = read_points(tmp_path / "b.npy")
    assert out.shape == (4, 4) and out.dtype == np.float64
    np.testing.assert_array_equal(out[:, 3], xyzi[:, 3])
    np.save(tmp_path / "c.npy", np.ones((2, 3), np.int32))
    assert read_points(tmp_path / "c.npy").dtype.kind == "f"


@pytest.mark.parametrize("shape", [(5, 2), (2, 3, 3), (6,)])
def test_npy_wrong_shapes(tmp_path, shape):
    np.save(tmp_path / "bad.npy", np.zeros(shape, np.float32))
    expected = "×".join(str(n) for n in shape)
    with pytest.raises(DataError, match=f"got shape {expected}"):
        read_points(tmp_path / "bad.npy")


def test_npy_corrupt_and_object(tmp_path):
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(DataError, match="not a readable .npy"):
        read_points(tmp_path / "junk.npy")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError):
        read_points(tmp_path / "obj.npy")
    with pytest.raises(MissingFileError):
        read_points(tmp_path / "absent.npy")
    (tmp_path / "junk.txt").write_text("1 2 3")
    with pytest.raises(DataError, match="unsupported"):
        read_points(tmp_path / "junk.txt")


def test_bin_kitti_n4(tmp_path):
    points = np.arange(20, dtype=np.float32).reshape(5, 4)
    points.tofile(tmp_path / "c.bin")
    out = read_points(tmp_path / "c.bin")
    assert out.shape == (5, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out, points)


def test_bin_n3_fallback_and_forced_columns(tmp_path):
    points = np.arange(9, dtype=np.float32).reshape(3, 3)  # 36 bytes: not a multiple of 16
    points.tofile(tmp_path / "l.bin")
    np.testing.assert_array_equal(read_points(tmp_path / "l.bin"), points)
    four = np.arange(12, dtype=np.float32).reshape(4, 3)  # 48 bytes: ambiguous
    four.tofile(tmp_path / "amb.bin")
    assert read_points(tmp_path / "amb.bin").shape == (3, 4)
    np.testing.assert_array_equal(read_points(tmp_path / "amb.bin", columns=3), four)
    with pytest.raises(DataError, match="multiple of 16"):
        read_points(tmp_path / "l.bin", columns=4)


def test_bin_bad_size(tmp_path):
    (tmp_path / "bad.bin").write_bytes(b"\0" * 10)
    with pytest.raises(DataError, match=r"size 10 bytes is not a multiple of 16 \(N×4 float32\)"):
        read_points(tmp_path / "bad.bin")


def test_empty_bin(tmp_path):
    (tmp_path / "e.bin").write_bytes(b"")
    assert read_points(tmp_path / "e.bin").shape == (0, 4)


def test_non_finite_points_are_dropped(tmp_path):
    points = np.arange(20, dtype=np.float32).reshape(5, 4)
    points[1, 0] = np.nan
    points[3, 3] = np.inf
    points.tofile(tmp_path / "n.bin")
    kept, dropped = read_points_checked(tmp_path / "n.bin")
    assert dropped == 2
    np.testing.assert_array_equal(kept, points[[0, 2, 4]])
    with pytest.warns(RuntimeWarning, match="dropped 2 non-finite"):
        read_points(tmp_path / "n.bin")


def test_read_points_of_an_image_is_an_error(tmp_path):
    Image.new("RGB", (2, 2)).save(tmp_path / "a.png")
    with pytest.raises(DataError, match="unsupported"):
        read_points(tmp_path / "a.png")
