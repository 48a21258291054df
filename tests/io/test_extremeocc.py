"""Tests of the ExtremeOcc-3D manifest loader (formats.md §1)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.jobs import Cancelled, RecordingProgress
from occstudio.io.extremeocc import open_manifest, sample_summary, sniff
from occstudio.io.images import mask_from_alpha, read_image, read_mask


def _png(path: Path, channels: int = 3, size: int = 4) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (size, size, channels) if channels > 1 else (size, size)
    Image.fromarray(np.full(shape, 255, np.uint8)).save(path)
    return path


def _make_dataset(root: Path) -> list[dict]:
    """Two complete entries laid out like ExtremeOcc-3D, relative to ``root``."""
    entries = []
    for scene, obj in (("scene_a/view_0", "h1"), ("scene_b/view_3", "h2")):
        base = f"assets/{scene}"
        _png(root / base / "rendered_scene.png")
        _png(root / base / "occluded_mask.png", channels=1)
        _png(root / base / "rendered.png", channels=4)
        for name in ("view_0001.png", "view_0000.png", "notes.txt", "view_0002.JPG"):
            target = root / "gt_assets" / obj / "renders" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"x")
        (root / "gt_assets" / obj / "mesh.ply").write_text("ply\n")
        entries.append(
            {
                "id": scene,
                "image": f"{base}/rendered_scene.png",
                "mask": f"{base}/occluded_mask.png",
                "obs_object_image": f"{base}/rendered.png",
                "prior_text": "chair",
                "gt_render_dir": f"gt_assets/{obj}/renders",
                "gt_mesh": f"gt_assets/{obj}/mesh.ply",
            }
        )
    return entries


def _write(path: Path, document) -> Path:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- layouts


@pytest.mark.parametrize("wrapper", ["list", "samples", "jsonl"])
def test_three_manifest_layouts(tmp_path, wrapper):
    entries = _make_dataset(tmp_path)
    if wrapper == "list":
        manifest = _write(tmp_path / "manifest.json", entries)
    elif wrapper == "samples":
        manifest = _write(tmp_path / "manifest.json", {"version": 2, "samples": entries})
    else:
        manifest = tmp_path / "manifest.jsonl"
        manifest.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    dataset = open_manifest(manifest)
    assert dataset.format == "extremeocc"
    assert dataset.meta["wrapper"] == wrapper
    assert dataset.ids() == ["scene_a/view_0", "scene_b/view_3"]
    assert dataset.root == tmp_path
    assert dataset.warnings == []
    if wrapper == "samples":
        assert dataset.meta["extra"] == {"version": 2}
    sample = dataset.samples[0]
    assert not sample.has_problems, (sample.missing, sample.errors)
    assert sample.path("image") == tmp_path / "assets/scene_a/view_0/rendered_scene.png"
    assert sample.path("mask") == tmp_path / "assets/scene_a/view_0/occluded_mask.png"
    assert sample.path("obs_object_image") == tmp_path / "assets/scene_a/view_0/rendered.png"
    assert sample.path("gt_mesh") == tmp_path / "gt_assets/h1/mesh.ply"
    assert sample.path("gt_render_dir") == tmp_path / "gt_assets/h1/renders"
    assert [p.name for p in sample.path_list("gt_images")] == [
        "view_0000.png",
        "view_0001.png",
        "view_0002.JPG",
    ]
    assert sample.text == {"prior_text": "chair"}
    assert sample.fields == entries[0]
    assert sample.meta["index"] == 0


def test_folder_prefers_manifest_with_priors(tmp_path):
    entries = _make_dataset(tmp_path)
    _write(tmp_path / "manifest.json", entries)
    dataset = open_manifest(tmp_path)
    assert dataset.meta["manifest_name"] == "manifest.json"
    assert dataset.source == tmp_path
    _write(tmp_path / "manifest_with_priors.json", entries[:1])
    dataset = open_manifest(tmp_path)
    assert dataset.meta["manifest_name"] == "manifest_with_priors.json"
    assert dataset.meta["manifest"] == tmp_path / "manifest_with_priors.json"
    assert len(dataset) == 1


def test_folder_without_manifest(tmp_path):
    with pytest.raises(DataError, match="no manifest"):
        open_manifest(tmp_path)
    with pytest.raises(MissingFileError):
        open_manifest(tmp_path / "absent.json")


# ---------------------------------------------------------------- aliases


def test_aliases_and_prior_strings(tmp_path):
    for name in ("p1.png", "p2.jpg", "p3.webp", "m1.png", "m2.png", "obj.png", "pc.npy"):
        (tmp_path / name).write_bytes(b"x")
    entries = [
        {
            "id": "a",
            "prior_image": "p1.png, p2.jpg  p3.webp",
            "prior_mask": "m1.png,m2.png",
            "text": "a lamp",
            "rendered": "obj.png",
            "gt_pointcloud": "pc.npy",
            "gt_images": ["p2.jpg", "p1.png"],
        },
        {
            "id": "b",
            "prior_images": ["p1.png"],
            "prior_image": "ignored.png",
            "prompt": "a stool",
            "full_object_image": "obj.png",
        },
    ]
    dataset = open_manifest(_write(tmp_path / "m.json", entries))
    a, b = dataset.samples
    assert [p.name for p in a.path_list("prior_images")] == ["p1.png", "p2.jpg", "p3.webp"]
    assert [p.name for p in a.path_list("prior_masks")] == ["m1.png", "m2.png"]
    assert a.text["prior_text"] == "a lamp"
    assert a.path("obs_object_image") == tmp_path / "obj.png"
    assert a.path("gt_pointcloud") == tmp_path / "pc.npy"
    assert [p.name for p in a.path_list("gt_images")] == ["p2.jpg", "p1.png"]  # list order kept
    assert a.meta["keys"]["prior_images"] == "prior_image"
    assert a.meta["keys"]["obs_object_image"] == "rendered"
    assert not a.has_problems
    assert b.path_list("prior_images") == [tmp_path / "p1.png"]
    assert b.text["prior_text"] == "a stool"
    assert b.meta["keys"]["obs_object_image"] == "full_object_image"
    assert not b.has_problems


def test_gt_images_as_folder_string(tmp_path):
    renders = tmp_path / "r"
    renders.mkdir()
    for name in ("b.png", "a.png"):
        (renders / name).write_bytes(b"x")
    dataset = open_manifest(_write(tmp_path / "m.json", [{"id": "x", "gt_images": "r"}]))
    sample = dataset.samples[0]
    assert sample.path("gt_render_dir") == renders
    assert [p.name for p in sample.path_list("gt_images")] == ["a.png", "b.png"]


# ---------------------------------------------------------------- paths


def test_relative_paths_with_and_without_data_root(tmp_path):
    data = tmp_path / "data"
    _png(data / "img.png")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    manifest = _write(manifests / "m.json", [{"id": "s", "image": "img.png"}])

    plain = open_manifest(manifest)
    assert plain.root == manifests
    assert plain.samples[0].path("image") == manifests / "img.png"
    assert plain.samples[0].missing == ["image: img.png"]

    rooted = open_manifest(manifest, data_root=data)
    assert rooted.root == data
    assert rooted.meta["data_root"] == data
    assert rooted.samples[0].path("image") == data / "img.png"
    assert rooted.samples[0].missing == []

    absolute = _write(manifests / "abs.json", [{"id": "s", "image": str(data / "img.png")}])
    assert open_manifest(absolute).samples[0].missing == []

    with pytest.raises(MissingFileError):
        open_manifest(manifest, data_root=tmp_path / "nowhere")


def test_missing_files_are_listed_as_written(tmp_path):
    _png(tmp_path / "assets/x/rendered_scene.png")
    entry = {
        "id": "x",
        "image": "assets/x/rendered_scene.png",
        "mask": "assets/x/occluded_mask.png",
        "prior_images": ["priors/x/1.png"],
        "gt_render_dir": "gt_assets/none/renders",
        "gt_mesh": "gt_assets/none/mesh.ply",
    }
    sample = open_manifest(_write(tmp_path / "m.json", [entry])).samples[0]
    assert sample.has_problems
    assert sample.missing == [
        "mask: assets/x/occluded_mask.png",
        "gt_mesh: gt_assets/none/mesh.ply",
        "prior_images: priors/x/1.png",
        "gt_render_dir: gt_assets/none/renders",
    ]
    summary = sample_summary(sample)
    assert summary["id"] == "x"
    assert summary["fields"] == ["gt_mesh", "gt_render_dir", "image", "mask", "prior_images"]
    assert summary["missing"] == sample.missing
    json.dumps(summary)


def test_empty_gt_render_dir_is_reported(tmp_path):
    (tmp_path / "empty").mkdir()
    sample = open_manifest(
        _write(tmp_path / "m.json", [{"id": "x", "gt_render_dir": "empty"}])
    ).samples[0]
    assert sample.path_list("gt_images") == []
    assert sample.missing == ["gt_images: no images in empty"]


# ---------------------------------------------------------------- bad input


def test_malformed_entries_do_not_stop_the_others(tmp_path):
    entries = _make_dataset(tmp_path)
    document = [
        entries[0],
        "not an entry",
        {"image": entries[1]["image"]},
        entries[1],
        {"id": "z", "image": 5},
    ]
    dataset = open_manifest(_write(tmp_path / "m.json", document))
    assert dataset.ids() == ["scene_a/view_0", "#2", "#3", "scene_b/view_3", "z"]
    assert not dataset.samples[0].has_problems and not dataset.samples[3].has_problems
    assert "not an object" in dataset.samples[1].errors[0]
    assert dataset.samples[2].errors == ['entry #3 has no "id"']
    assert dataset.samples[2].path("image") == tmp_path / entries[1]["image"]
    assert "image: expected a path" in dataset.samples[4].errors[0]
    assert len(dataset.warnings) == 2


def test_duplicate_ids_are_made_unique(tmp_path):
    document = [{"id": "a"}, {"id": "a"}, {"id": "b"}, {"id": "a"}]
    dataset = open_manifest(_write(tmp_path / "m.json", document))
    assert dataset.ids() == ["a", "a (2)", "b", "a (3)"]
    assert len(dataset.warnings) == 2
    assert "duplicate id 'a'" in dataset.warnings[0]


def test_malformed_json_names_line_and_column(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text('[\n  {"id": "a"},\n  {"id": "b", "image": }\n]\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"line 3, column 24"):
        open_manifest(path)
    with pytest.raises(DataError, match=r"line 3"):
        open_manifest(tmp_path)


def test_not_a_manifest_object(tmp_path):
    with pytest.raises(DataError, match="samples"):
        open_manifest(_write(tmp_path / "m.json", {"train_split": [], "val_split": []}))
    with pytest.raises(DataError, match="must be a list"):
        open_manifest(_write(tmp_path / "s.json", {"samples": {"a": 1}}))


def test_jsonl_with_a_bad_line(tmp_path):
    path = tmp_path / "manifest.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b",\n{"id": "c"}\n', encoding="utf-8")
    dataset = open_manifest(path)
    assert dataset.ids() == ["a", "c"]
    assert dataset.meta["wrapper"] == "jsonl"
    assert len(dataset.warnings) == 1 and "line 2" in dataset.warnings[0]


def test_json_lines_saved_as_json(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text('{"id": "a", "image": "x.png"}\n{"id": "b"}\n', encoding="utf-8")
    dataset = open_manifest(path)
    assert dataset.ids() == ["a", "b"] and dataset.meta["wrapper"] == "jsonl"


# ---------------------------------------------------------------- progress


def test_progress_and_cancel(tmp_path):
    path = _write(tmp_path / "m.json", [{"id": str(i)} for i in range(5)])
    progress = RecordingProgress()
    open_manifest(path, progress=progress)
    assert progress.records[0][:2] == (0.0, 5)
    assert progress.records[-1][:2] == (5.0, 5)
    with pytest.raises(Cancelled):
        open_manifest(path, progress=RecordingProgress(cancel_after=3))


# ---------------------------------------------------------------- sniffing


def test_sniff(tmp_path):
    entries = _make_dataset(tmp_path)
    assert sniff(tmp_path) == 0.0  # no manifest yet
    list_path = _write(tmp_path / "manifest.json", entries)
    assert sniff(list_path) >= 0.9
    assert sniff(tmp_path) >= 0.9
    assert sniff(_write(tmp_path / "wrapped.json", {"samples": entries})) >= 0.9
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text("".join(json.dumps(e) + "\n" for e in entries))
    assert sniff(jsonl) >= 0.9

    occ3d = {"train_split": ["scene-0001"], "val_split": [], "scene_infos": {"scene-0001": {}}}
    assert sniff(_write(tmp_path / "annotations.json", occ3d)) == 0.0
    info = {"codebase_version": "v2.1", "fps": 30, "features": {}}
    meta = tmp_path / "meta"
    meta.mkdir()
    assert sniff(_write(meta / "info.json", info)) == 0.0
    episodes = meta / "episodes.jsonl"
    episodes.write_text('{"episode_index": 0, "tasks": ["x"], "length": 52}\n')
    assert sniff(episodes) == 0.0
    assert sniff(_write(tmp_path / "list_of_numbers.json", [1, 2, 3])) == 0.0


def test_sniff_never_raises(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe{[[")
    assert sniff(bad) == 0.0
    assert sniff(tmp_path / "absent.json") == 0.0
    assert sniff(tmp_path / "x.png") == 0.0
    assert sniff("") == 0.0


# ---------------------------------------------------------------- real files


def test_end_to_end_on_real_relaxflow_files(shared_data, tmp_path):
    real = shared_data / "relaxflow_test_data"
    entries = [
        {
            "id": "bike_three_wheels",
            "image": str(real / "bike_three_wheels" / "input.png"),
            "mask": str(real / "bike_three_wheels" / "mask.png"),
            "prior_image": str(real / "bike_three_wheels" / "prior.jpg"),
            "prompt": "tricycle",
        },
        {
            "id": "dressing_table",
            "image": "dressing_table/input.png",
            "prior_images": ",".join(f"dressing_table/prior{i}.png" for i in (1, 2, 3)),
            "prior_text": "dressing table",
        },
    ]
    manifest = _write(tmp_path / "manifest.json", entries)
    assert sniff(manifest) >= 0.9
    dataset = open_manifest(manifest, data_root=real)
    assert dataset.ids() == ["bike_three_wheels", "dressing_table"]
    bike, table = dataset.samples
    assert not bike.has_problems and not table.has_problems
    assert [p.name for p in table.path_list("prior_images")] == [
        "prior1.png",
        "prior2.png",
        "prior3.png",
    ]

    image = read_image(bike.path("image"))
    mask = read_mask(bike.path("mask"), shape=image.shape[:2])
    assert mask.dtype == bool and mask.any()
    assert read_image(bike.path_list("prior_images")[0]).shape == (559, 1024, 3)
    # No mask file for the dressing table: the image's alpha is the mask.
    assert "mask" not in table.paths
    fallback = mask_from_alpha(read_image(table.path("image")))
    assert fallback is not None and fallback.any()

    # The same manifest copied next to the data resolves without data_root.
    local = tmp_path / "local"
    shutil.copytree(real / "dressing_table", local / "dressing_table")
    _write(local / "manifest.json", entries[1:])
    assert not open_manifest(local).samples[0].has_problems
