"""Camera paths for video export: orbit geometry, keyframe files and interpolation, framing."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from occstudio.core.errors import DataError, MissingFileError
from occstudio.render.camera_paths import (
    CameraPose,
    camera_path,
    fit_distance,
    fit_distance_to_points,
    interpolate_keyframes,
    keyframes_from_json,
    load_keyframes,
    orbit_path,
    parse_camera_spec,
    up_vector,
)


def _pose(p, f=(0, 0, 0), u=(0, 0, 1)) -> CameraPose:
    return CameraPose(tuple(map(float, p)), tuple(map(float, f)), tuple(map(float, u)))


def test_orbit_distance_elevation_and_even_azimuth_steps():
    center = np.array([1.0, -2.0, 0.5])
    poses = orbit_path(center, 3.0, 8, elevation=30.0, up="z", start_azimuth=0.0)
    assert len(poses) == 8
    pos = np.array([p.position for p in poses]) - center
    np.testing.assert_allclose(np.linalg.norm(pos, axis=1), 3.0)
    np.testing.assert_allclose(pos[:, 2], 3.0 * math.sin(math.radians(30)))  # height above the centre
    az = np.degrees(np.arctan2(pos[:, 1], pos[:, 0])) % 360
    np.testing.assert_allclose(az, np.arange(8) * 45.0, atol=1e-9)  # no repeated last frame
    assert all(p.focal_point == tuple(center) for p in poses)
    assert all(p.view_up == (0.0, 0.0, 1.0) for p in poses)


def test_orbit_y_up_circles_in_the_xz_plane():
    poses = orbit_path((0, 0, 0), 2.0, 4, elevation=0.0, up="y", start_azimuth=0.0)
    pos = np.array([p.position for p in poses])
    np.testing.assert_allclose(pos[:, 1], 0.0, atol=1e-12)
    np.testing.assert_allclose(pos[0], [0, 0, 2], atol=1e-12)
    np.testing.assert_allclose(pos[1], [2, 0, 0], atol=1e-12)


@pytest.mark.parametrize("kwargs", [{"frames": 0}, {"elevation": 90.0}, {"distance": 0.0}])
def test_orbit_rejects_bad_arguments(kwargs):
    args = {"center": (0, 0, 0), "distance": 1.0, "frames": 4, "elevation": 10.0} | kwargs
    with pytest.raises(ValueError):
        orbit_path(**args)


def test_up_vector_parsing():
    np.testing.assert_array_equal(up_vector("-y"), [0, -1, 0])
    np.testing.assert_allclose(up_vector((0, 0, 5)), [0, 0, 1])
    with pytest.raises(ValueError):
        up_vector("w")


def test_interpolation_is_linear_with_normalised_up():
    keys = [_pose((0, 0, 0), (1, 0, 0), (0, 0, 1)), _pose((4, 0, 0), (1, 2, 0), (0, 1, 0))]
    poses = interpolate_keyframes(keys, 5)
    assert poses[0] == keys[0] and poses[-1] == keys[-1]
    np.testing.assert_allclose(poses[1].position, (1, 0, 0))
    np.testing.assert_allclose(poses[2].focal_point, (1, 1, 0))
    np.testing.assert_allclose(poses[2].view_up, (0, math.sqrt(0.5), math.sqrt(0.5)))
    for p in poses:
        assert np.linalg.norm(p.view_up) == pytest.approx(1.0)


def test_interpolation_through_three_keyframes_and_edge_cases():
    keys = [_pose((0, 0, 0), (0, 1, 0)), _pose((2, 0, 0), (0, 1, 0)), _pose((2, 2, 0), (0, 1, 0))]
    poses = interpolate_keyframes(keys, 5)  # keyframes land on frames 0, 2, 4
    np.testing.assert_allclose([p.position for p in poses], [(0, 0, 0), (1, 0, 0), (2, 0, 0), (2, 1, 0), (2, 2, 0)])
    assert interpolate_keyframes(keys, 1) == [keys[0]]
    assert interpolate_keyframes(keys[:1], 3) == [keys[0]] * 3
    # opposite ups cancel at the midpoint: the earlier keyframe's up is kept, never NaN
    flip = [_pose((0, 0, 0), (1, 0, 0), (0, 0, 1)), _pose((0, 0, 0), (1, 0, 0), (0, 0, -1))]
    mid = interpolate_keyframes(flip, 3)[1]
    assert np.all(np.isfinite(mid.view_up))
    np.testing.assert_allclose(mid.view_up, (0, 0, 1))


def test_keyframe_file_round_trip_and_wrapper(tmp_path):
    keys = [_pose((3, 0, 1)), _pose((0, 3, 1), (0, 0, 0.5), (0, 0, 2))]
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([k.as_dict() for k in keys]))
    loaded = load_keyframes(path)
    assert loaded[0] == keys[0]
    np.testing.assert_allclose(loaded[1].view_up, (0, 0, 1))  # normalised on load
    path.write_text(json.dumps({"keyframes": [{"position": [1, 2, 3], "focal_point": [0, 0, 0]}]}))
    assert load_keyframes(path, up="y")[0].view_up == (0.0, 1.0, 0.0)  # missing view_up: the up axis


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[{\"position\": [1, 2, 3],", "not valid JSON"),
        ("[]", "non-empty JSON list"),
        ("{\"a\": 1}", "non-empty JSON list"),
        ("[{\"position\": [1, 2], \"focal_point\": [0, 0, 0]}]", "keyframe 0: 'position'"),
        ("[{\"position\": [1, 2, 3], \"focal_point\": [0, 0, 0]}, 5]", "keyframe 1 is not a JSON object"),
        ("[{\"position\": [1, 2, 3], \"focal_point\": [1, 2, 3]}]", "same point"),
        ("[{\"position\": [1, 2, 3], \"focal_point\": [0, 0, 0], \"view_up\": [0, 0, 0]}]", "zero vector"),
    ],
)
def test_bad_keyframe_files_raise_clear_errors(tmp_path, content, message):
    path = tmp_path / "keys.json"
    path.write_text(content)
    with pytest.raises(DataError) as info:
        load_keyframes(path)
    assert message in str(info.value)
    assert info.value.path == path


def test_missing_keyframe_file(tmp_path):
    with pytest.raises(MissingFileError, match="keyframe file not found"):
        load_keyframes(tmp_path / "nope.json")


def test_camera_spec_parsing(tmp_path):
    assert parse_camera_spec("orbit").kind == "orbit"
    assert parse_camera_spec("fixed").path is None
    spec = parse_camera_spec(f"keyframes:{tmp_path / 'k.json'}")
    assert spec.kind == "keyframes" and spec.path == tmp_path / "k.json"
    with pytest.raises(DataError, match="needs a file"):
        parse_camera_spec("keyframes")
    with pytest.raises(DataError, match="unknown camera"):
        parse_camera_spec("spiral")


def _project(points, pose: CameraPose, view_angle: float, aspect: float) -> np.ndarray:
    """Normalised image coordinates (|x|, |y| <= 1 inside the view) of points seen from ``pose``."""
    pos, foc, up = (np.asarray(v, float) for v in (pose.position, pose.focal_point, pose.view_up))
    fwd = (foc - pos) / np.linalg.norm(foc - pos)
    right = np.cross(fwd, up)
    right /= np.linalg.norm(right)
    true_up = np.cross(right, fwd)
    rel = np.asarray(points, float) - pos
    depth = rel @ fwd
    t = math.tan(math.radians(view_angle) / 2)
    return np.stack([(rel @ right) / (depth * t * aspect), (rel @ true_up) / (depth * t)], axis=1)


def test_tight_fit_keeps_every_point_in_view_and_touches_the_edge():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(300, 3)) * [2.0, 0.5, 0.8]
    bounds = np.stack([pts.min(0), pts.max(0)], axis=1).ravel()
    for aspect in (0.6, 1.0, 1.8):
        poses = camera_path("orbit", bounds, 12, 25.0, aspect, "z", points=pts, margin=1.0)
        dist = [np.linalg.norm(np.subtract(p.position, p.focal_point)) for p in poses]
        np.testing.assert_allclose(dist, dist[0])  # one distance: no "breathing"
        worst = max(np.abs(_project(pts, p, 30.0, aspect)).max() for p in poses)
        assert worst == pytest.approx(1.0, abs=1e-6)  # inside, and tight in the worst frame


def test_fit_distance_of_a_sphere():
    assert fit_distance(1.0, 60.0, 1.0) == pytest.approx(2.0)
    assert fit_distance(1.0, 60.0, 0.5) > fit_distance(1.0, 60.0, 1.0)  # narrow views back off
    d = fit_distance_to_points(np.array([[0, 0, 1.0], [0, 0, -1.0]]), (0, 0, 0), np.array([[1.0, 0, 0]]),
                               np.array([[0, 0, 1.0]]), 90.0, 1.0)
    assert d == pytest.approx(1.0)


def test_camera_path_kinds(tmp_path):
    bounds = (-1, 1, -1, 1, 0, 2)
    fixed = camera_path("fixed", bounds, 4, 20.0)
    assert len(fixed) == 4 and len(set(fixed)) == 1
    assert fixed[0] == camera_path("orbit", bounds, 4, 20.0)[0]
    path = tmp_path / "k.json"
    path.write_text(json.dumps([_pose((5, 0, 0)).as_dict(), _pose((0, 5, 0)).as_dict()]))
    keyed = camera_path(f"keyframes:{path}", bounds, 3)
    np.testing.assert_allclose(keyed[1].position, (2.5, 2.5, 0))
    assert camera_path(f"fixed:{path}", bounds, 2) == [_pose((5, 0, 0))] * 2
    assert camera_path(_pose((1, 1, 1)), bounds, 2) == [_pose((1, 1, 1))] * 2


def test_keyframes_from_json_accepts_parsed_data():
    poses = keyframes_from_json([{"position": [0, 0, 5], "focal_point": [0, 0, 0], "view_up": [0, 1, 0]}])
    assert poses == [_pose((0, 0, 5), (0, 0, 0), (0, 1, 0))]
