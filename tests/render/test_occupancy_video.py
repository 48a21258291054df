"""Comparison videos of occupancy data: played sequences, error and world panels, the
trajectory camera, the OccGen "Input | World | Occupancy" preset, the mesh error view."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from occstudio.builtins.occupancy_video import occupancy_clips
from occstudio.core.errors import DataError
from occstudio.io.occ3d import open_occ3d
from occstudio.plugins.registry import get_registry
from occstudio.render.camera_paths import follow_pose, parse_camera_spec
from occstudio.render.compose import PANEL_BG, grid_geometry
from occstudio.render.panels import PRESETS, parse_layout
from occstudio.render.video import export_video, sequence_samples
from tests.factories import make_extremeocc_dataset, make_occ3d_scene


def _frames(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))]


def _rects(size, layout):
    lay = parse_layout(layout)
    geometry = grid_geometry(size, [len(r) for r in lay.rows])
    return [cell.content for row in geometry.panels for cell in row]


def _not_blank(region: np.ndarray) -> bool:
    return float(np.abs(region.astype(float) - np.array(PANEL_BG)).sum(axis=2).mean()) > 2.0


@pytest.fixture
def scene(tmp_path) -> Path:
    return make_occ3d_scene(tmp_path / "occ3d", n_frames=4)


def test_occupancy_presets_are_known():
    assert parse_layout("input-world-occupancy").panels[1].kind == "world"
    assert [p.kind for p in parse_layout("gt-pred-error").panels] == ["gt", "pred", "error"]
    assert "input-world-occupancy" in PRESETS
    assert parse_camera_spec("trajectory").kind == "trajectory"
    spec = get_registry().video_sources["occupancy"]
    assert set(spec.formats) == {"occ3d", "occgen", "unscenes3d"}


def test_sequence_samples_follow_the_scene(scene):
    dataset = open_occ3d(scene)
    members = sequence_samples(dataset, dataset.samples[2])
    assert [s.meta["index"] for s in members] == [0, 1, 2, 3]


def test_played_occ3d_sequence_with_image_gt_prediction_and_errors(scene, tmp_path):
    out = tmp_path / "frames"
    size, layout = (480, 320), "image,gt;pred,error"
    result = export_video(scene / "gts", out, sequence=True, layout=layout, camera="trajectory",
                          predictions=scene / "predictions", size=size)
    assert result["playback"] and result["frames"] == 4 and len(result["samples"]) == 4
    frames = _frames(out)
    assert len(frames) == 4 and frames[0].shape == (320, 480, 3)
    rects = _rects(size, layout)
    for frame in frames:
        for rect in rects:
            assert _not_blank(frame[rect.slices]), rect
    # the car drives ahead and the cone comes closer: the GT panel changes from frame to frame
    gt = rects[1]
    assert np.abs(frames[0][gt.slices].astype(int) - frames[3][gt.slices].astype(int)).mean() > 0.5
    # the camera image carries the projected voxels (coloured by depth), not the plain image
    plain = np.asarray(Image.open(scene / "imgs" / "front_0.jpg").convert("RGB").resize((rects[0].w, rects[0].h)))
    assert not np.allclose(frames[0][rects[0].slices].astype(int), plain, atol=25)


def test_error_scene_has_every_error_kind_and_metrics_series(scene):
    dataset = open_occ3d(scene)
    layout = parse_layout("gt,error,metrics")
    [clip] = occupancy_clips(dataset, dataset.samples, layout, predictions=scene / "predictions", playback=True)
    assert clip.n_frames == 4
    content = clip.content(1)
    error = content.scene("error")
    labels = set(np.unique(error.items[0].mesh.cell_data["label"]).tolist())
    assert labels == {0, 1, 2, 3}  # correct, wrong class, false positive, false negative
    assert [name for name, _ in error.legend] == ["correct", "wrong class", "false positive", "false negative"]
    assert {name for name, _ in content.scene("gt").legend} == {"car", "traffic_cone", "driveable_surface"}
    assert len(content.metrics["mIoU"]) == 4 and all(0 < v < 100 for v in content.metrics["mIoU"])
    assert content.metrics["IoU"][0] > 90  # the car moved by one voxel, the rest is right


def test_world_panel_places_the_grid_along_the_ego_trajectory(scene):
    dataset = open_occ3d(scene)
    [clip] = occupancy_clips(dataset, dataset.samples, parse_layout("gt,world"), playback=True)
    first, last = clip.content(0).scene("world"), clip.content(3).scene("world")
    assert first.frame == "world" and clip.content(0).scene("gt").frame == "ego"
    assert first.bounds == last.bounds  # one framing for the whole clip
    # the ego drove 6 m along +x between the first and the last frame
    assert np.allclose(last.follow[:3, 3] - first.follow[:3, 3], [6.0, 0.0, 0.0])
    grid_first = np.asarray(first.items[0].mesh.bounds)
    grid_last = np.asarray(last.items[0].mesh.bounds)
    assert grid_last[0] > grid_first[0]  # the voxels moved with the ego in the world
    assert any("current" in item.mesh.point_data for item in first.items)  # the trajectory line


def test_follow_pose_sits_behind_and_above_the_sensor():
    pose = follow_pose(np.eye(4), 10.0)  # OpenCV camera: looks along +z, up is -y
    assert pose.position[2] < 0 and pose.position[1] < 0 and pose.focal_point[2] > 0
    assert np.allclose(pose.view_up, (0, -1, 0))
    T = np.eye(4)
    T[:3, 3] = (5.0, 2.0, 0.0)
    ego = follow_pose(T, 10.0, forward=(1, 0, 0), up=(0, 0, 1))
    assert ego.position[0] < 5.0 and ego.position[2] > 0 and ego.focal_point[0] > 5.0


def test_trajectory_camera_moves_the_world_view_with_the_ego(scene, tmp_path):
    size, layout = (320, 160), "world"
    out = tmp_path / "traj"
    export_video(scene, out, sequence=True, layout=layout, camera="trajectory", size=size)
    frames = _frames(out)
    fixed_out = tmp_path / "fixed"
    export_video(scene, fixed_out, sequence=True, layout=layout, camera="fixed", size=size)
    fixed = _frames(fixed_out)
    rect = _rects(size, layout)[0]
    # a chase camera keeps the ego's surroundings in the same place: the static cone moves
    # through the view, while the fixed camera sees the ego's grid slide along the road
    assert all(_not_blank(f[rect.slices]) for f in frames + fixed)
    assert not np.array_equal(frames[0][rect.slices], fixed[0][rect.slices])


def test_range_plays_dataset_samples_and_bad_ranges_are_clear(scene, tmp_path):
    result = export_video(scene, tmp_path / "r", frame_range="1:3", layout="gt", size=(160, 96))
    assert result["samples"] == [s.id for s in open_occ3d(scene).samples[1:3]] and result["frames"] == 2
    with pytest.raises(DataError, match="expected START:END"):
        export_video(scene, tmp_path / "x", frame_range="7", layout="gt", size=(160, 96))


def test_turntable_of_occupancy_samples_one_clip_each(scene, tmp_path):
    result = export_video(scene, tmp_path / "t", all_samples=True, frames=2, layout="gt-pred-error",
                          size=(240, 96), title_seconds=0)
    assert result["frames"] == 8 and not result["playback"]
    assert not any("no prediction" in w for w in result["warnings"])  # predictions/ beside the dataset


def test_mesh_error_view(tmp_path):
    root = make_extremeocc_dataset(tmp_path / "d", n=1, size=32)
    out = tmp_path / "e"
    size, layout = (360, 120), "gt-pred-error"
    result = export_video(root, out, layout=layout, frames=2, size=size)
    assert result["frames"] == 2
    frame = _frames(out)[0]
    for rect in _rects(size, layout):
        assert _not_blank(frame[rect.slices])


def test_cli_sequence_and_trajectory(scene, tmp_path, capsys):
    from occstudio.render.video_cli import add_export_video_parser, run_export_video

    parser = argparse.ArgumentParser()
    add_export_video_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "cli.gif"
    args = parser.parse_args(["export-video", str(scene), "--sequence", "--camera", "trajectory",
                              "--layout", "gt-pred-error", "--size", "240x96", "--out", str(out), "--json-progress"])
    assert run_export_video(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[-1]["result"]["frames"] == 4 and lines[-1]["result"]["playback"] is True
    assert out.is_file()


def test_occgen_input_world_occupancy(shared_data, tmp_path):
    trajectory = shared_data / "occgen" / "trajectory_1"
    if not trajectory.is_dir():
        pytest.skip("OccGen example trajectory not in the shared data")
    size, layout = (480, 160), "input-world-occupancy"
    out = tmp_path / "occgen"
    result = export_video(trajectory, out, frame_range="20:23", layout=layout, camera="trajectory", size=size)
    assert result["frames"] == 3
    frames = _frames(out)
    rects = _rects(size, layout)
    for frame in frames:
        for rect in rects:
            assert _not_blank(frame[rect.slices])
    # the chase camera follows the moving camera: the world view changes between frames
    world = rects[1]
    assert np.abs(frames[0][world.slices].astype(int) - frames[2][world.slices].astype(int)).mean() > 1.0


def test_a_view_recorded_in_the_sample_frame_does_not_blank_the_world_panel(scene, tmp_path):
    from occstudio.render.camera_paths import CameraPose

    size, layout = (320, 120), "gt,world"
    out = tmp_path / "posed"
    # a camera in the ego frame (as the studio's 3D view records it): the scene's world
    # lies 100 m away from the global origin, so that camera would see nothing there
    view = CameraPose((-40.0, -40.0, 30.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0))
    export_video(scene, out, sequence=True, layout=layout, camera=view, size=size)
    frame = _frames(out)[0]
    gt, world = _rects(size, layout)
    assert _not_blank(frame[gt.slices]) and _not_blank(frame[world.slices])


def test_unscenes_clip_with_camera_image_voxels_and_world(tmp_path):
    from tests.fixtures_unscenes import make_unscenes_dataset

    make_unscenes_dataset(tmp_path / "uns", n_frames=3)
    size, layout = (360, 120), "image,gt,world"
    out = tmp_path / "frames"
    result = export_video(tmp_path / "uns", out, sequence=True, layout=layout, camera="trajectory", size=size)
    assert result["frames"] == 3 and not result["warnings"]
    frames = _frames(out)
    for rect in _rects(size, layout):
        assert all(_not_blank(f[rect.slices]) for f in frames)
