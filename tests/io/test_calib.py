"""KITTI calibration files: parsing, malformed lines, projection P2 · R0_rect · Tr_velo_to_cam."""

from __future__ import annotations

import numpy as np
import pytest

from occstudio.core.errors import DataError, MissingFileError
from occstudio.io.calib import (
    KittiCalib,
    calib_camera,
    format_calib,
    lidar_to_image,
    parse_calib,
    read_calib,
)
from tests.fixtures_unscenes import calib_matrices, calib_text, project

# A calibration in the layout of KITTI object-detection files, with typical KITTI rig values.
KITTI_000000 = """\
P0: 7.070493000000e+02 0.000000000000e+00 6.040814000000e+02 0.000000000000e+00 0.000000000000e+00 7.070493000000e+02 1.805066000000e+02 0.000000000000e+00 0.000000000000e+00 0.000000000000e+00 1.000000000000e+00 0.000000000000e+00
P2: 7.070493000000e+02 0.000000000000e+00 6.040814000000e+02 4.575831000000e+01 0.000000000000e+00 7.070493000000e+02 1.805066000000e+02 -3.454157000000e-01 0.000000000000e+00 0.000000000000e+00 1.000000000000e+00 4.981016000000e-03
R0_rect: 9.999128000000e-01 1.009263000000e-02 -8.511932000000e-03 -1.012729000000e-02 9.999406000000e-01 -4.037671000000e-03 8.470675000000e-03 4.123522000000e-03 9.999556000000e-01
Tr_velo_to_cam: 6.927964000000e-03 -9.999722000000e-01 -2.757829000000e-03 -2.457729000000e-02 -1.162982000000e-03 2.749836000000e-03 -9.999955000000e-01 -6.127237000000e-02 9.999753000000e-01 6.931141000000e-03 -1.143899000000e-03 -3.321029000000e-01
Tr_imu_to_velo: 9.999976000000e-01 7.553071000000e-04 -2.035826000000e-03 -8.086759000000e-01 -7.854027000000e-04 9.998898000000e-01 -1.482298000000e-02 3.195559000000e-01 2.024406000000e-03 1.482454000000e-02 9.998881000000e-01 -7.997231000000e-01
"""


def test_parse_kitti_text_keeps_extra_keys():
    calib = parse_calib(KITTI_000000)
    assert calib.P2.shape == (3, 4) and calib.R0_rect.shape == (3, 3) and calib.Tr_velo_to_cam.shape == (3, 4)
    assert calib.P2[0, 0] == pytest.approx(707.0493) and calib.P2[2, 3] == pytest.approx(4.981016e-03)
    assert calib.Tr_velo_to_imu is None and calib.T_imu_from_velo is None
    assert set(calib.extra) == {"P0", "Tr_imu_to_velo"} and calib.extra["P0"].shape == (12,)
    # a LiDAR point 10 m ahead lands near the principal point, in front of the camera
    uv, depth = lidar_to_image(np.array([[10.0, 0.0, 0.0]]), calib)
    assert 9.5 < depth[0] < 10.5
    assert abs(uv[0, 0] - 604) < 30 and abs(uv[0, 1] - 180) < 30


def test_read_file_round_trip_and_matrix_product(tmp_path):
    m = calib_matrices((96, 64))
    path = tmp_path / "calib.txt"
    path.write_text(calib_text(m))
    calib = read_calib(path)
    assert calib.path == path
    for key in ("P2", "R0_rect", "Tr_velo_to_cam", "Tr_velo_to_imu"):
        np.testing.assert_allclose(getattr(calib, key), m[key], atol=1e-12)
    # P2 · R0_rect · Tr_velo_to_cam, with R0 and Tr padded to 4×4
    R0 = np.eye(4)
    R0[:3, :3] = m["R0_rect"]
    Tr = np.vstack([m["Tr_velo_to_cam"], [0, 0, 0, 1]])
    np.testing.assert_allclose(calib.lidar_to_image_matrix, m["P2"] @ R0 @ Tr, atol=1e-12)
    again = parse_calib(format_calib(calib))
    np.testing.assert_allclose(again.lidar_to_image_matrix, calib.lidar_to_image_matrix, atol=1e-9)


def test_lidar_to_image_matches_reference_and_camera(tmp_path):
    m = calib_matrices((96, 64))
    calib = parse_calib(calib_text(m))
    rng = np.random.default_rng(1)
    pts = np.c_[rng.uniform(-5, 60, 200), rng.uniform(-20, 20, 200), rng.uniform(-2, 2, 200), rng.uniform(0, 1, 200)]
    uv, depth = lidar_to_image(pts, calib)
    ref_uv, ref_z = project(pts, m)
    np.testing.assert_allclose(depth, ref_z, atol=1e-9)
    front = ref_z > 0
    np.testing.assert_allclose(uv[front], ref_uv[front], atol=1e-9)
    assert np.isnan(uv[~front]).all() and (~front).any()
    # the same projection through the generic Camera (world = LiDAR frame)
    cam = calib_camera(calib, 96, 64)
    cam_uv, cam_depth = cam.project(pts[:, :3])
    np.testing.assert_allclose(cam_depth, depth, atol=1e-9)
    np.testing.assert_allclose(cam_uv[front], uv[front], atol=1e-9)
    back = cam.unproject(uv[front][:5], depth[front][:5])
    np.testing.assert_allclose(back, pts[front][:5, :3], atol=1e-9)


def test_accepts_4x4_matrices_comments_and_non_numeric_extras():
    m = calib_matrices()
    r0 = np.eye(4)
    r0[:3, :3] = m["R0_rect"]
    tr = np.vstack([m["Tr_velo_to_cam"], [0, 0, 0, 1]])
    text = "\n".join(
        [
            "# generated",
            "calib_time: 09-Jan-2012 13:57:47",
            "P2: " + " ".join(map(str, m["P2"].ravel())),
            "",
            "R0_rect: " + " ".join(map(str, r0.ravel())),
            "Tr_velo_to_cam: " + " ".join(map(str, tr.ravel())),
        ]
    )
    calib = parse_calib(text)
    np.testing.assert_allclose(calib.R0_rect, m["R0_rect"])
    np.testing.assert_allclose(calib.Tr_velo_to_cam, m["Tr_velo_to_cam"])


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("P2 1 2 3\n", "line 1: expected 'KEY: values'"),
        ("P2: 1 2 3\nR0_rect: 1 0 0 0 1 0 0 0 1\nTr_velo_to_cam: " + "0 " * 12, "line 1: P2 has 3 values, expected 12"),
        ("P2: " + "1 " * 11 + "x\n", "line 1: P2 has non-numeric values"),
        ("P2: " + "1 " * 11 + "nan\n", "non-finite"),
        ("P2: " + "1 " * 12 + "\nR0_rect: 1 0 0 0 1 0 0 0 1\n", "missing calibration key(s) Tr_velo_to_cam"),
        ("P2: " + "1 " * 12 + "\nP2: " + "1 " * 12, "line 2: P2 appears twice"),
        ("R0_rect: " + "1 " * 16, "last row is not 0 0 0 1"),
    ],
)
def test_malformed_calibs_name_file_and_line(tmp_path, text, needle):
    path = tmp_path / "bad_calib.txt"
    path.write_text(text)
    with pytest.raises(DataError) as err:
        read_calib(path)
    assert needle in str(err.value) and "bad_calib.txt" in str(err.value)


def test_missing_binary_and_folder(tmp_path):
    with pytest.raises(MissingFileError):
        read_calib(tmp_path / "absent.txt")
    with pytest.raises(DataError, match="folder"):
        read_calib(tmp_path)
    binary = tmp_path / "calib.txt"
    binary.write_bytes(b"\xff\xfe\x00P2")
    with pytest.raises(DataError, match="not a text file"):
        read_calib(binary)


def test_singular_projection_is_a_data_error():
    calib = KittiCalib(P2=np.zeros((3, 4)), R0_rect=np.eye(3), Tr_velo_to_cam=np.eye(3, 4))
    with pytest.raises(DataError, match="singular"):
        calib_camera(calib, 10, 10)
    with pytest.raises(ValueError):
        lidar_to_image(np.zeros((3, 2)), calib)
