"""Off-screen comparison video export: outputs decoded back, panels, cancel, errors, CLI glue."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import imageio
import numpy as np
import pytest
from PIL import Image, ImageSequence

from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.jobs import Cancelled, RecordingProgress
from occstudio.io.meshes import MeshData, write_ply
from occstudio.render.compose import PANEL_BG, grid_geometry
from occstudio.render.panels import parse_layout
from occstudio.render.video import JsonLinesProgress, export_video, parse_size
from tests.factories import box_mesh, make_extremeocc_dataset

SIZE = (160, 96)


def _merge(*meshes: MeshData) -> MeshData:
    verts, faces, cols, offset = [], [], [], 0
    for m in meshes:
        verts.append(m.vertices)
        faces.append(m.faces + offset)
        cols.append(m.vertex_colors)
        offset += len(m.vertices)
    return MeshData(np.vstack(verts), np.vstack(faces), np.vstack(cols))


def _asymmetric(color) -> MeshData:
    """An L-shaped object: no turn of 180° about z looks the same."""
    return _merge(
        box_mesh(center=(0, 0, 0.5), size=(1.6, 0.5, 1.0), color=color),
        box_mesh(center=(0.55, 0.6, 0.3), size=(0.5, 0.8, 0.6), color=(230, 200, 40)),
    )


@pytest.fixture
def dataset(tmp_path) -> Path:
    root = make_extremeocc_dataset(tmp_path / "data", n=2, size=48)
    for i in range(2):
        write_ply(root / "gt_assets" / f"hash{i}" / "mesh.ply", _asymmetric((200, 80, 40)))
        write_ply(root / "predictions" / f"scene{i}" / "view_00" / "mesh.ply", _asymmetric((40, 90, 200)))
    return root


def _read_mp4(path: Path) -> tuple[list[np.ndarray], dict]:
    reader = imageio.get_reader(path, "ffmpeg")
    try:
        meta = reader.get_meta_data()
        frames = [np.asarray(f) for f in reader]
    finally:
        reader.close()
    return frames, meta


def _content_rects(size, layout):
    lay = parse_layout(layout)
    geometry = grid_geometry(size, [len(r) for r in lay.rows])
    return [cell.content for row in geometry.panels for cell in row]


def _region(frame: np.ndarray, rect) -> np.ndarray:
    return frame[rect.slices].astype(float)


def test_mp4_image_pred_gt_orbit(dataset, tmp_path):
    out = tmp_path / "out" / "clip.mp4"
    out.parent.mkdir()
    progress = RecordingProgress()
    result = export_video(dataset, out, sample_ids=["scene0/view_00"], layout="image-pred-gt",
                          frames=8, fps=12, size=SIZE, progress=progress)
    assert result["path"] == str(out) and result["frames"] == 8 and result["size"] == [160, 96]
    assert result["fps"] == 12 and result["format"] == "mp4" and result["warnings"] == []
    assert sorted(p.name for p in out.parent.iterdir()) == ["clip.mp4"]  # no temp file left
    frames, meta = _read_mp4(out)
    assert len(frames) == 8
    assert frames[0].shape == (96, 160, 3)
    assert meta["fps"] == pytest.approx(12)
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    # progress: start(total) then one advance per frame
    assert progress.records[0][:2] == (0, 8) and progress.records[-1][0] == 8 and len(progress.records) == 9

    image_rect, pred_rect, gt_rect = _content_rects((160, 96), "image-pred-gt")
    first, half = frames[0], frames[4]
    for rect in (image_rect, pred_rect, gt_rect):
        assert _region(first, rect).std() > 10  # every panel shows something
    # the 3-D panels turn with the orbit; the image panel stays put
    for rect in (pred_rect, gt_rect):
        assert np.abs(_region(first, rect) - _region(half, rect)).mean() > 8
    assert np.abs(_region(first, image_rect) - _region(half, image_rect)).mean() < 2.5


def test_object_centred_and_filling_its_panel(dataset, tmp_path):
    out = tmp_path / "frames"
    export_video(dataset, out, sample_ids=["scene1/view_00"], layout="gt-pred", frames=4, size=(240, 160))
    frame = np.asarray(Image.open(out / "frame_00001.png").convert("RGB")).astype(int)
    for rect in _content_rects((240, 160), "gt-pred"):
        panel = frame[rect.slices]
        fg = np.abs(panel - np.array(PANEL_BG)).sum(axis=2) > 30
        rows, cols = np.nonzero(fg)
        assert rows.size > 0
        fill = max((rows.max() - rows.min() + 1) / rect.h, (cols.max() - cols.min() + 1) / rect.w)
        assert fill > 0.7  # fills the limiting dimension
        assert abs((cols.min() + cols.max()) / 2 - rect.w / 2) < rect.w * 0.15
        assert abs((rows.min() + rows.max()) / 2 - rect.h / 2) < rect.h * 0.15
        assert rows.min() > 0 and cols.min() > 0 and rows.max() < rect.h - 1 and cols.max() < rect.w - 1


def test_gt_and_prediction_share_camera_and_lighting(dataset, tmp_path):
    # identical GT and prediction geometry and colours -> identical panels
    root = dataset
    write_ply(root / "predictions" / "scene0" / "view_00" / "mesh.ply", _asymmetric((200, 80, 40)))
    out = tmp_path / "same.png"
    export_video(root, out, sample_ids=["scene0/view_00"], frames=3, size=SIZE)
    frame = np.asarray(Image.open(tmp_path / "same_00002.png").convert("RGB")).astype(int)
    gt_rect, pred_rect = _content_rects(SIZE, "gt-pred")
    assert np.abs(frame[gt_rect.slices] - frame[pred_rect.slices]).max() <= 1


def test_odd_size_is_made_even(dataset, tmp_path):
    out = tmp_path / "odd.mp4"
    result = export_video(dataset, out, frames=2, size="161x97")
    assert result["size"] == [160, 96]
    frames, _ = _read_mp4(out)
    assert frames[0].shape == (96, 160, 3)


def test_gif_output(dataset, tmp_path):
    out = tmp_path / "clip.gif"
    result = export_video(dataset, out, layout="image-pred-gt", frames=6, fps=10, size=SIZE)
    assert result["format"] == "gif"
    with Image.open(out) as im:
        assert im.size == SIZE
        frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
        assert im.info["duration"] == 100 and im.info["loop"] == 0
    assert len(frames) == 6
    gt_rect = _content_rects(SIZE, "image-pred-gt")[2]
    assert np.abs(_region(frames[0], gt_rect) - _region(frames[3], gt_rect)).mean() > 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.gif", "data"]


def test_png_folder_and_pattern_outputs(dataset, tmp_path):
    folder = tmp_path / "frames"
    export_video(dataset, folder, frames=3, size=SIZE)
    assert sorted(p.name for p in folder.iterdir()) == ["frame_00000.png", "frame_00001.png", "frame_00002.png"]
    assert Image.open(folder / "frame_00000.png").size == SIZE
    # a pattern into an existing folder: frames replace older ones, stale extras go, others stay
    (folder / "notes.txt").write_text("keep me")
    export_video(dataset, folder / "f_%03d.png", frames=2, size=SIZE)
    export_video(dataset, folder / "frame_%05d.png", frames=2, size=SIZE)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["f_000.png", "f_001.png", "frame_00000.png", "frame_00001.png", "notes.txt"]


@pytest.mark.parametrize("name", ["clip.mp4", "clip.gif", "frames", "pat_%04d.png"])
def test_cancel_leaves_nothing_behind(dataset, tmp_path, name):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / name
    progress = RecordingProgress(cancel_after=3)
    with pytest.raises(Cancelled):
        export_video(dataset, out, frames=8, size=SIZE, progress=progress)
    assert list(out_dir.iterdir()) == []


def test_cancel_keeps_an_existing_output_untouched(dataset, tmp_path):
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"previous video")
    with pytest.raises(Cancelled):
        export_video(dataset, out, frames=8, size=SIZE, progress=RecordingProgress(cancel_after=4))
    assert out.read_bytes() == b"previous video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "data"]


def test_several_samples_with_title_cards_and_one_plotter(dataset, tmp_path, monkeypatch):
    import occstudio.render.offscreen as offscreen

    created = []
    real = offscreen.make_offscreen_plotter

    def counting(*args, **kwargs):
        created.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(offscreen, "make_offscreen_plotter", counting)
    out = tmp_path / "all.mp4"
    result = export_video(dataset, out, all_samples=True, frames=3, fps=4, size=SIZE)
    assert result["samples"] == ["scene0/view_00", "scene1/view_00"]
    assert result["frames"] == 2 * (3 + 4)  # 1-second title card (4 frames at 4 fps) before each clip
    assert len(created) == 1  # one plotter for every frame and panel
    frames, _ = _read_mp4(out)
    assert len(frames) == 14
    card = frames[0].astype(float)
    assert np.abs(card - frames[3]).mean() < 2  # the card holds for a second
    assert (card > 200).mean() > 0.9  # mostly white with text
    assert np.abs(card - frames[5]).mean() > 5  # then the clip


def test_keyframes_and_fixed_cameras(dataset, tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps([
        {"position": [4, 0, 1], "focal_point": [0, 0, 0.5], "view_up": [0, 0, 1]},
        {"position": [0, 4, 3], "focal_point": [0, 0, 0.5], "view_up": [0, 0, 1]},
    ]))
    out = tmp_path / "k"
    export_video(dataset, out, camera=f"keyframes:{keys}", frames=3, size=SIZE)
    a, b = (np.asarray(Image.open(out / f"frame_{i:05d}.png").convert("RGB")).astype(float) for i in (0, 2))
    gt_rect = _content_rects(SIZE, "gt-pred")[0]
    assert np.abs(a[gt_rect.slices] - b[gt_rect.slices]).mean() > 5
    out = tmp_path / "f"
    export_video(dataset, out, camera="fixed", frames=3, size=SIZE)
    a, b = (np.asarray(Image.open(out / f"frame_{i:05d}.png").convert("RGB")) for i in (0, 2))
    np.testing.assert_array_equal(a[gt_rect.slices], b[gt_rect.slices])


def test_custom_layout_with_text_priors_and_metrics_panels(dataset, tmp_path):
    out = tmp_path / "m"
    metrics = {"scene0/view_00": {"chamfer": 0.0123, "iou": [0.1, 0.5, 0.9, 0.4]}}
    export_video(dataset, out, layout="image,gt=Ground truth,pred;text,priors,metrics", frames=4,
                 size=(240, 160), metrics=metrics)
    rects = _content_rects((240, 160), "image,gt,pred;text,priors,metrics")
    a, b = (np.asarray(Image.open(out / f"frame_{i:05d}.png").convert("RGB")).astype(float) for i in (0, 3))
    for rect in rects:
        assert a[rect.slices].std() > 3
    metrics_rect = rects[5]
    assert np.abs(a[metrics_rect.slices] - b[metrics_rect.slices]).max() > 50  # the per-frame marker moves
    text_rect = rects[3]
    np.testing.assert_array_equal(a[text_rect.slices], b[text_rect.slices])


def test_missing_prediction_for_one_sample_shows_a_placeholder(dataset, tmp_path):
    (dataset / "predictions" / "scene1" / "view_00" / "mesh.ply").unlink()
    out = tmp_path / "p"
    result = export_video(dataset, out, all_samples=True, frames=2, size=SIZE, title_seconds=0)
    assert result["warnings"] == ["scene1/view_00: no prediction for this sample"]
    assert result["frames"] == 4  # no title cards
    pred_rect = _content_rects(SIZE, "gt-pred")[1]
    with_pred, without = (np.asarray(Image.open(out / f"frame_{i:05d}.png").convert("RGB")).astype(float)
                          for i in (1, 2))
    assert without[pred_rect.slices].std() > 1  # the placeholder text
    assert np.abs(with_pred[pred_rect.slices] - without[pred_rect.slices]).mean() > 5
    # a single sample without a prediction is an error, not an empty video
    with pytest.raises(DataError, match="no prediction mesh found"):
        export_video(dataset, tmp_path / "q", sample_ids=["scene1/view_00"], frames=2, size=SIZE)


def test_bad_inputs_raise_clear_errors(dataset, tmp_path):
    out = tmp_path / "x.mp4"
    with pytest.raises(DataError, match="unknown sample id 'nope'"):
        export_video(dataset, out, sample_ids=["nope"], size=SIZE)
    with pytest.raises(MissingFileError, match="prediction folder not found"):
        export_video(dataset, out, predictions=tmp_path / "missing", size=SIZE)
    with pytest.raises(DataError, match="size must look like 1280x720"):
        export_video(dataset, out, size="large")
    with pytest.raises(DataError, match="at least 64x48"):
        export_video(dataset, out, size=(10, 10))
    with pytest.raises(DataError, match="unsupported output type '.avi'"):
        export_video(dataset, tmp_path / "x.avi", size=SIZE)
    with pytest.raises(DataError, match="unknown layout"):
        export_video(dataset, out, layout="gt-banana", size=SIZE)
    with pytest.raises(DataError, match="frame range '3:x'"):
        export_video(dataset, out, frame_range="3:x", size=SIZE)
    with pytest.raises(DataError, match="selects no samples"):
        export_video(dataset, out, frame_range="50:60", size=SIZE)
    with pytest.raises(DataError, match="unknown camera"):
        export_video(dataset, out, camera="spiral", size=SIZE)
    with pytest.raises(DataError, match="frames must be at least 1"):
        export_video(dataset, out, frames=0, size=SIZE)
    with pytest.raises(MissingFileError, match="output folder not found"):
        export_video(dataset, tmp_path / "no" / "x.mp4", size=SIZE)
    assert not out.exists()


def test_missing_default_predictions_folder(tmp_path):
    root = make_extremeocc_dataset(tmp_path / "d", n=1, size=32, predictions=False)
    with pytest.raises(DataError, match="pass --predictions DIR"):
        export_video(root, tmp_path / "x.mp4", size=SIZE)
    # a layout without a prediction panel needs no predictions
    result = export_video(root, tmp_path / "gt", layout="image,gt", frames=1, size=SIZE)
    assert result["frames"] == 1


def test_parse_size():
    assert parse_size("640x360") == (640, 360)
    assert parse_size(" 640 X 360 ") == (640, 360)
    for bad in ("640", "axb", "640x360x2", None):
        with pytest.raises(DataError):
            parse_size(bad)


def test_json_lines_progress_is_throttled_and_ends_with_the_total():
    stream = io.StringIO()
    progress = JsonLinesProgress(stream, interval=3600)
    progress.start(5, "Exporting video")
    for _ in range(5):
        progress.advance(message="s")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines == [
        {"done": 0, "total": 5, "message": "Exporting video"},
        {"done": 5, "total": 5, "message": "s"},
    ]


def test_cli_glue_json_progress(dataset, tmp_path, capsys):
    from occstudio.render.video_cli import add_export_video_parser, run_export_video

    parser = argparse.ArgumentParser(prog="occstudio")
    add_export_video_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "cli.mp4"
    args = parser.parse_args(["export-video", str(dataset), "--samples", "scene1/view_00,scene0/view_00",
                              "--frames", "2", "--fps", "2", "--size", "160x96", "--out", str(out),
                              "--json-progress"])
    assert run_export_video(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["done"] == 0 and lines[0]["total"] == 8
    assert lines[-2]["done"] == 8
    assert lines[-1]["result"]["samples"] == ["scene1/view_00", "scene0/view_00"]
    assert out.is_file()
    with pytest.raises(SystemExit):
        parser.parse_args(["export-video", str(dataset), "--size", "big", "--out", str(out)])
    assert "size must look like" in capsys.readouterr().err


_CLI = """
import argparse, sys
from occstudio.render.video_cli import add_export_video_parser, run_export_video
parser = argparse.ArgumentParser(prog="occstudio")
add_export_video_parser(parser.add_subparsers(dest="command"))
sys.exit(run_export_video(parser.parse_args(sys.argv[1:])))
"""


def test_cli_process_cancelled_by_sigterm_removes_its_output(dataset, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLI, "export-video", str(dataset), "--frames", "400", "--size", "160x96",
         "--out", str(out_dir / "clip.mp4"), "--json-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    try:
        for line in proc.stdout:
            if json.loads(line).get("done", 0) >= 1:
                break
        proc.send_signal(signal.SIGTERM)
        rest = proc.stdout.read()
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    assert json.loads(rest.splitlines()[-1]) == {"cancelled": True}
    assert list(out_dir.iterdir()) == []


def test_offscreen_plotter_with_subplots_has_no_msaa():
    from occstudio.render.offscreen import make_offscreen_plotter

    plotter = make_offscreen_plotter((64, 32), shape=(1, 2))
    try:
        assert len(plotter.renderers) == 2
        assert plotter.render_window.GetMultiSamples() == 0
    finally:
        plotter.close()


def test_demo_sample_image_pred_gt(demo_root, tmp_path):
    out = tmp_path / "demo.mp4"
    result = export_video(demo_root, out, sample_ids=["living_room/view_00"], layout="image-pred-gt",
                          frames=6, fps=6, size=(192, 108))
    assert result["warnings"] == []
    frames, meta = _read_mp4(out)
    assert len(frames) == 6 and meta["fps"] == pytest.approx(6)
    image_rect, pred_rect, gt_rect = _content_rects((192, 108), "image-pred-gt")
    for rect in (image_rect, pred_rect, gt_rect):
        assert _region(frames[0], rect).std() > 10
    for rect in (pred_rect, gt_rect):
        assert np.abs(_region(frames[0], rect) - _region(frames[3], rect)).mean() > 5
    assert np.abs(_region(frames[0], image_rect) - _region(frames[3], image_rect)).mean() < 2.5
