"""Occupancy samples in the window: voxel surfaces, class legend show/hide, timeline."""

from __future__ import annotations

import numpy as np
import pytest

from occstudio.io.occgen import write_occ_sequence


def write_occ3d(root, n_frames=2):
    rng = np.random.default_rng(1)
    for i in range(n_frames):
        sem = np.full((200, 200, 16), 17, np.uint8)
        sem[:, :, 0] = 11  # driveable surface
        sem[90:100, 90:95, 1:3] = 4  # a car
        sem[rng.integers(0, 200, 50), rng.integers(0, 200, 50), 3] = 16
        folder = root / "gts" / "scene-0001" / f"token{i}"
        folder.mkdir(parents=True)
        cam = np.ones_like(sem)
        cam[:100] = 0
        np.savez_compressed(folder / "labels.npz", semantics=sem, mask_lidar=np.ones_like(sem), mask_camera=cam)
    return root


def wait_content(qtbot, w, sample_id=None):
    qtbot.waitUntil(lambda: w.controller.content is not None and not w.jobs.running()
                    and (sample_id is None or w.controller.content["id"] == sample_id), timeout=30000)


def test_occ3d_voxels_legend_toggle_without_rebuild(qtbot, main_window, tmp_path):
    w = main_window
    w.open_path(write_occ3d(tmp_path / "occ"))
    wait_content(qtbot, w)
    poly = w.controller.content["gt_poly"]
    assert poly is not None and poly.n_cells > 0
    assert set(w.legend.class_ids()) == {4, 11, 16}
    n_cells = poly.n_cells
    w.legend.set_hidden({11})
    # same mesh object, same cell count: hidden cells are collapsed in place, not rebuilt
    assert w.controller.content["gt_poly"] is poly and poly.n_cells == n_cells
    pts = poly.points[poly.cell_data["corners"][poly.cell_data["label"] == 11]]
    ids = np.asarray(poly.faces).reshape(-1, 5)[poly.cell_data["label"] == 11, 1:]
    assert (ids == ids[:, :1]).all(), "hidden quads must collapse to one point"
    assert pts.size  # the original corners are kept to restore them
    w.legend.set_hidden(set())
    ids = np.asarray(poly.faces).reshape(-1, 5)[poly.cell_data["label"] == 11, 1:]
    assert not (ids == ids[:, :1]).all()


def test_camera_visible_filter_reduces_voxels(qtbot, main_window, tmp_path):
    w = main_window
    w.open_path(write_occ3d(tmp_path / "occ"))
    wait_content(qtbot, w)
    all_count = sum(w.controller.content["voxel_classes"].values())
    w.controller.content = None
    w.controller.set_visibility_filter("camera")
    wait_content(qtbot, w)
    cam_count = sum(w.controller.content["voxel_classes"].values())
    assert 0 < cam_count < all_count


@pytest.fixture
def occgen_root(tmp_path, shared_data):
    """The real OccGen trajectory (read-only; nothing is written to it)."""
    return shared_data / "occgen" / "trajectory_1"


def test_occgen_timeline_steps_frames(qtbot, main_window, occgen_root):
    w = main_window
    w.open_path(occgen_root)
    wait_content(qtbot, w, "frame_000000")
    assert w.timeline.isVisible() and w.timeline.slider.maximum() == 51
    assert w.controller.content["gt_poly"].n_cells > 0
    assert w.sample_view.scene_pane.has_image()
    w.timeline.step(1)
    wait_content(qtbot, w, "frame_000001")
    assert w.browser.current_id() == "frame_000001"
    w.timeline.set_playing(True)
    qtbot.waitUntil(lambda: w.controller.content["id"] >= "frame_000003", timeout=30000)
    w.timeline.set_playing(False)


def test_occ_sequence_written_by_us_is_shown(qtbot, main_window, occgen_root, tmp_path):
    import shutil

    root = tmp_path / "traj"
    shutil.copytree(occgen_root, root, ignore=shutil.ignore_patterns("*.mp4", "observation.images.*"))
    seq = root / "videos" / "chunk-000" / "observation.occ.view" / "occ_sequence.npz"
    frames = [np.arange(1000, 1000 + 50 * (t + 1), dtype=np.int64) for t in range(52)]
    write_occ_sequence(seq, frames, 400 ** 3)
    w = main_window
    w.open_path(root)
    wait_content(qtbot, w, "frame_000000")
    assert w.legend.title.text().endswith("50 voxels")


def test_occ3d_predictions_error_view_and_pick(qtbot, main_window, tmp_path):
    w = main_window
    root = write_occ3d(tmp_path / "occ", n_frames=1)
    preds = tmp_path / "preds"
    preds.mkdir()
    sem = np.load(root / "gts/scene-0001/token0/labels.npz")["semantics"].copy()
    sem[90:100, 90:95, 1:3] = 17  # the car is missed -> false negatives
    sem[10:12, 10:12, 5] = 1  # a spurious barrier -> false positives
    np.savez_compressed(preds / "token0.npz", arr_0=sem)
    w.open_path(root)
    wait_content(qtbot, w)
    w.controller.content = None
    w.controller.open_predictions(preds)
    wait_content(qtbot, w)
    assert w.view3d.has_prediction
    w.controller.content = None
    w.error_view_action.setChecked(True)
    wait_content(qtbot, w)
    counts = w.controller.content["error_counts"]
    assert counts["false negative"] == 10 * 5 * 2 and counts["false positive"] == 4
    assert counts["wrong class"] == 0 and counts["correct"] > 0
    # a pick reports class, voxel index and position in the status bar
    cell = int(np.flatnonzero(w.controller.content["gt_poly"].cell_data["label"] == 4)[0])
    from occstudio.gui.panes.view3d import pick_info

    info = pick_info(w.controller.content["gt_poly"], cell, (1.0, 2.0, 3.0), 0)
    w._show_pick(info)
    assert "car (class 4)" in w.status_message.text() and "voxel (" in w.status_message.text()
    for preset in ("bev", "driving", "side", "iso"):
        w.view3d.camera_preset(preset)


def test_occ3d_scene_plays_on_the_timeline(qtbot, main_window, tmp_path):
    w = main_window
    w.open_path(write_occ3d(tmp_path / "occ", n_frames=3))
    wait_content(qtbot, w)
    assert w.timeline.isVisible()
    second = w.controller.document.dataset.samples[1].id
    w.timeline.frame_changed.emit(1)
    wait_content(qtbot, w, second)
    assert w.browser.current_id() == second


def test_occupancy_dataset_hides_the_empty_2d_column_and_the_priors_dock(qtbot, main_window, tmp_path):
    from tests.factories import make_extremeocc_dataset

    w = main_window
    priors = w.docks["priors"]
    assert priors.isVisible()
    w.open_path(write_occ3d(tmp_path / "occ"))
    wait_content(qtbot, w)
    # nothing 2D to show: the 3D view takes the room, and no Priors dock for a format without priors
    assert not w.sample_view.left_splitter.isVisible()
    assert not priors.isVisible()
    # an ExtremeOcc-3D dataset brings both back
    w.open_path(make_extremeocc_dataset(tmp_path / "eo"))
    qtbot.waitUntil(lambda: w.controller.content is not None and w.controller.content.get("image") is not None
                    and not w.jobs.running(), timeout=30000)
    assert w.sample_view.left_splitter.isVisible()
    assert priors.isVisible()
    # a dock the user closed stays closed
    priors.hide()
    w.open_path(write_occ3d(tmp_path / "occ2"))
    wait_content(qtbot, w)
    w.open_path(make_extremeocc_dataset(tmp_path / "eo2"))
    qtbot.waitUntil(lambda: w.controller.document.dataset.format == "extremeocc" and not w.jobs.running(),
                    timeout=30000)
    assert not priors.isVisible()
