"""Sample content for the views of every format (worker side, no Qt)."""

from __future__ import annotations

from occstudio.builtins.amodal_view import load_amodal_view
from occstudio.builtins.occupancy_view import load_occupancy_content
from occstudio.core.dataset import SampleCache
from occstudio.io.opening import open_dataset
from tests.fixtures_unscenes import make_unscenes_dataset


def test_amodal3r_view(shared_data):
    ds = open_dataset(shared_data / "amodal3r_example")
    content = load_amodal_view(ds, ds.samples[0])
    assert content["image"].shape[:2] == content["mask"].shape
    assert content["mask"].any() and content["obs_object_image"].shape[2] == 4
    # the amodal extent covers the visible part
    assert (content["obs_object_image"][..., 3][content["mask"]] == 255).all()


def test_amodal_openworld_view_without_outputs(shared_data):
    ds = open_dataset(shared_data / "amodal_openworld")
    content = load_amodal_view(ds, ds.samples[0])
    assert content["image"] is not None and content["prior_text"]


def test_unscenes_view_builds_voxels(tmp_path):
    make_unscenes_dataset(tmp_path / "u", n_frames=2)
    ds = open_dataset(tmp_path / "u")
    assert ds.format == "unscenes3d"
    content = load_occupancy_content(ds, ds.samples[0], SampleCache())
    assert content["gt_poly"].n_cells > 0 and content["voxel_classes"]
    assert 0 not in content["voxel_classes"]  # background is read as ignore
    assert content["image"] is not None and content["obs_object_image"] is not None


def test_occ3d_view_real_sample(shared_data):
    ds = open_dataset(shared_data / "occ3d")
    content = load_occupancy_content(ds, ds.samples[0], SampleCache())
    assert content["gt_poly"].n_cells > 50_000
    assert sum(content["voxel_classes"].values()) == 39_092
