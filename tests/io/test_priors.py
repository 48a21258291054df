"""The RelaxFlow-compatible prior export (byte comparison with an independent, literal
implementation of formats.md §1) and the prior-folder helpers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import occstudio.io.priors as priors_mod
from occstudio.core.errors import DataError, MissingFileError
from occstudio.io.extremeocc import open_manifest
from occstudio.io.priors import (
    REORDER_PLAN,
    add_prior,
    export_manifest_with_priors,
    list_priors,
    recover_reorder,
    remove_prior,
    reorder_priors,
    restore_prior,
)

# ---------------------------------------------------------------------- the reference


def reference_export(manifest, priors_root, output, allow_missing=False, overrides_file=None):
    """formats.md §1, read literally, written without looking at occstudio's code.

    For each entry list <priors_root>/<id>/ for files whose extension is
    .png/.jpg/.jpeg/.webp in any case, sorted by name; write the entry plus
    "prior_images" relative to the output manifest's folder (absolute POSIX paths
    when the prior is not under it); json.dump(indent=2) then a newline. Without
    allow_missing a sample with no priors is an error; with it no key is added.
    Overrides set prior_text. A {"samples": [...]} manifest is written as
    {"samples": [...]}; a list stays a list.
    """
    with open(manifest, encoding="utf-8") as f:
        data = json.load(f)
    wrapped = isinstance(data, dict)
    rows = data["samples"] if wrapped else data
    overrides = {}
    if overrides_file is not None:
        with open(overrides_file, encoding="utf-8") as f:
            overrides = {str(k): str(v) for k, v in json.load(f).items()}
    out_dir = os.path.dirname(os.path.realpath(output))
    root = os.path.realpath(priors_root)
    result, missing = [], []
    for row in rows:
        sid = str(row["id"])
        entry = dict(row)
        folder = os.path.join(root, sid)
        names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        found = [
            os.path.join(folder, n)
            for n in names
            if os.path.isfile(os.path.join(folder, n))
            and os.path.splitext(n)[1].lower() in (".png", ".jpg", ".jpeg", ".webp")
        ]
        if found:
            if all(os.path.commonpath([p, out_dir]) == out_dir for p in found):
                entry["prior_images"] = [os.path.relpath(p, out_dir).replace(os.sep, "/") for p in found]
            else:
                entry["prior_images"] = [p.replace(os.sep, "/") for p in found]
        else:
            missing.append(sid)
        if sid in overrides:
            entry["prior_text"] = overrides[sid]
        result.append(entry)
    if missing and not allow_missing:
        raise RuntimeError(f"missing priors: {missing}")
    payload = {"samples": result} if wrapped else result
    os.makedirs(out_dir, exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2)
        f.write("\n")


# ---------------------------------------------------------------------- fixtures


def _png(path: Path, value: int = 128) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4, 3), value, np.uint8)).save(path, format="PNG")
    return path


def make_dataset(root: Path, wrapped: bool = False, extra_key: bool = False) -> Path:
    """A manifest with nested ids, mixed-case extensions, junk files and missing priors."""
    entries = [
        {"id": "living_room/view_00", "image": "assets/a.png", "prior_text": "sofa"},
        {
            "id": "kitchen/view_01",
            "image": "assets/b.png",
            "prior_text": "chaise à porteurs ☕",
            "prior_images": ["stale/old.png"],
            "mask": "assets/b_mask.png",
        },
        {"id": "office/view_00", "image": "assets/c.png"},
        {"id": 7, "image": "assets/d.png", "prior_text": "lamp"},
    ]
    pr = root / "priors"
    _png(pr / "living_room" / "view_00" / "prior_1.png")
    _png(pr / "living_room" / "view_00" / "prior_0.PNG")
    _png(pr / "living_room" / "view_00" / "B.webp")
    _png(pr / "living_room" / "view_00" / "a.Jpeg")
    (pr / "living_room" / "view_00" / "notes.txt").write_text("not an image")
    (pr / "living_room" / "view_00" / "prior_2.png.bak").write_text("backup")
    (pr / "living_room" / "view_00" / ".png").write_text("no suffix, only a name")
    (pr / "living_room" / "view_00" / "folder.png").mkdir()
    _png(pr / "kitchen" / "view_01" / "x.jpg")
    # office/view_00: folder exists but only junk -> missing; 7: no folder -> missing
    (pr / "office" / "view_00").mkdir(parents=True)
    (pr / "office" / "view_00" / "readme.md").write_text("x")
    root.mkdir(parents=True, exist_ok=True)
    if wrapped:
        document = {"samples": entries}
        if extra_key:
            document = {"name": "ExtremeOcc-3D", "samples": entries, "version": 2}
    else:
        document = entries
    manifest = root / "manifest.json"
    manifest.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    return manifest


# ---------------------------------------------------------------------- export


@pytest.mark.parametrize("wrapped,extra_key", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("with_overrides", [False, True])
def test_export_bytes_match_reference_same_folder(tmp_path, wrapped, extra_key, with_overrides):
    root = tmp_path / "ds"
    manifest = make_dataset(root, wrapped, extra_key)
    overrides = None
    if with_overrides:
        overrides = tmp_path / "overrides.json"
        overrides.write_text(json.dumps({"office/view_00": "desk", "living_room/view_00": "couch ✓", "nope": "x"}))
    ours = root / "manifest_with_priors.json"
    ref = root / "reference_with_priors.json"
    result = export_manifest_with_priors(
        manifest, root / "priors", ours, allow_missing=True, prior_text_overrides=overrides
    )
    reference_export(manifest, root / "priors", ref, allow_missing=True, overrides_file=overrides)
    assert result == ours.resolve()
    assert ours.read_bytes() == ref.read_bytes()
    data = json.loads(ours.read_text())
    rows = data["samples"] if wrapped else data
    assert rows[0]["prior_images"] == [
        "priors/living_room/view_00/B.webp",
        "priors/living_room/view_00/a.Jpeg",
        "priors/living_room/view_00/prior_0.PNG",
        "priors/living_room/view_00/prior_1.png",
    ]
    # replaced in place (key order kept); appended last when new
    assert list(rows[1]) == ["id", "image", "prior_text", "prior_images", "mask"]
    assert rows[1]["prior_images"] == ["priors/kitchen/view_01/x.jpg"]
    assert "prior_images" not in rows[2] and "prior_images" not in rows[3]
    if with_overrides:
        assert list(rows[2]) == ["id", "image", "prior_text"] and rows[2]["prior_text"] == "desk"
        assert list(rows[0])[-2:] == ["prior_text", "prior_images"]  # existing key replaced in place
    if wrapped:
        assert list(data) == ["samples"]  # RelaxFlow drops other top-level keys
    assert b"\\u00e0" in ours.read_bytes() and ours.read_bytes().endswith(b"]\n" if not wrapped else b"}\n")


def test_export_output_elsewhere_gives_absolute_paths(tmp_path):
    root = tmp_path / "ds"
    manifest = make_dataset(root)
    ours = tmp_path / "exports" / "deep" / "ours.json"
    ref = tmp_path / "exports" / "deep" / "ref.json"
    export_manifest_with_priors(manifest, root / "priors", ours, allow_missing=True)
    reference_export(manifest, root / "priors", ref, allow_missing=True)
    assert ours.read_bytes() == ref.read_bytes()
    first = json.loads(ours.read_text())[0]["prior_images"][0]
    assert first == (root / "priors" / "living_room" / "view_00" / "B.webp").resolve().as_posix()


def test_export_through_symlinked_folder_and_relative_args(tmp_path, monkeypatch):
    root = tmp_path / "ds"
    manifest = make_dataset(root)
    link = tmp_path / "link"
    link.symlink_to(root, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    export_manifest_with_priors("link/manifest.json", "ds/priors", "link/out.json", allow_missing=True)
    reference_export("link/manifest.json", "ds/priors", "link/ref.json", allow_missing=True)
    assert (root / "out.json").read_bytes() == (root / "ref.json").read_bytes()
    assert json.loads((root / "out.json").read_text())[1]["prior_images"] == ["priors/kitchen/view_01/x.jpg"]
    assert manifest.is_file()


def test_missing_priors_error_names_ids_and_folders(tmp_path):
    root = tmp_path / "ds"
    manifest = make_dataset(root)
    out = root / "manifest_with_priors.json"
    with pytest.raises(DataError) as info:
        export_manifest_with_priors(manifest, root / "priors", out)
    text = str(info.value)
    assert "2/4" in text and "'office/view_00'" in text and "'7'" in text
    assert str((root / "priors").resolve() / "office" / "view_00") in text
    assert not out.exists()
    with pytest.raises(RuntimeError):
        reference_export(manifest, root / "priors", out)


def test_complete_priors_without_allow_missing(tmp_path):
    root = tmp_path / "ds"
    manifest = make_dataset(root)
    _png(root / "priors" / "office" / "view_00" / "p.png")
    _png(root / "priors" / "7" / "p.jpg")
    ours, ref = root / "a.json", root / "b.json"
    export_manifest_with_priors(manifest, root / "priors", ours, prior_text_overrides={"7": 42})
    reference_export(manifest, root / "priors", ref)
    assert json.loads(ours.read_text())[3]["prior_text"] == "42"
    data = json.loads(ours.read_text())
    data[3]["prior_text"] = "lamp"
    assert data == json.loads(ref.read_text())


def test_export_reads_back_with_open_manifest(tmp_path):
    root = tmp_path / "ds"
    manifest = make_dataset(root, wrapped=True)
    out = export_manifest_with_priors(manifest, root / "priors", root / "manifest_with_priors.json", allow_missing=True)
    dataset = open_manifest(root)  # prefers manifest_with_priors.json
    assert dataset.meta["manifest"] == out and dataset.meta["wrapper"] == "samples"
    living = dataset.get("living_room/view_00")
    assert [p.name for p in living.paths["prior_images"]] == ["B.webp", "a.Jpeg", "prior_0.PNG", "prior_1.png"]
    assert all(p.is_file() for p in living.paths["prior_images"])
    assert "prior_images" not in dataset.get("office/view_00").paths


def test_export_jsonl_and_bad_input(tmp_path):
    root = tmp_path / "ds"
    make_dataset(root)
    rows = json.loads((root / "manifest.json").read_text())
    jsonl = root / "manifest.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = export_manifest_with_priors(jsonl, root / "priors", root / "with_priors.jsonl", allow_missing=True)
    lines = out.read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[1])["prior_images"] == ["priors/kitchen/view_01/x.jpg"]
    assert len(open_manifest(out).samples) == 4

    bad = root / "bad.json"
    bad.write_text(json.dumps([{"image": "x.png"}]))
    with pytest.raises(DataError, match='no "id"'):
        export_manifest_with_priors(bad, root / "priors", root / "o.json", allow_missing=True)
    overrides = root / "ov.json"
    overrides.write_text("[1, 2]")
    with pytest.raises(DataError, match="JSON object"):
        export_manifest_with_priors(
            root / "manifest.json", root / "priors", root / "o.json", allow_missing=True, prior_text_overrides=overrides
        )
    with pytest.raises(MissingFileError):
        export_manifest_with_priors(root / "nope.json", root / "priors", root / "o.json")


def test_keep_extra_keys_option(tmp_path):
    root = tmp_path / "ds"
    manifest = make_dataset(root, wrapped=True, extra_key=True)
    out = export_manifest_with_priors(
        manifest, root / "priors", root / "o.json", allow_missing=True, keep_extra_keys=True
    )
    assert list(json.loads(out.read_text())) == ["name", "samples", "version"]


# ---------------------------------------------------------------------- prior folders


def _contents(paths):
    return [np.asarray(Image.open(p)).mean() for p in paths]


def test_list_and_add_priors(tmp_path):
    root = tmp_path / "priors"
    assert list_priors(root, "a/b") == []
    srcs = [_png(tmp_path / f"src{i}.png", 10 * i) for i in range(3)]
    first = add_prior(root, "a/b", srcs[0])
    assert first.name == "prior_0.png" and first.parent == (root / "a" / "b").resolve()
    jpg = tmp_path / "photo.JPG"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(jpg, format="JPEG")
    second = add_prior(root, "a/b", jpg)
    assert second.name == "prior_1.JPG"
    assert [p.name for p in list_priors(root, "a/b")] == ["prior_0.png", "prior_1.JPG"]
    with pytest.raises(DataError):
        add_prior(root, "a/b", _txt(tmp_path))
    with pytest.raises(DataError):
        add_prior(root, "../escape", srcs[1])
    with pytest.raises(MissingFileError):
        add_prior(root, "a/b", tmp_path / "missing.png")


def _txt(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("x")
    return path


def test_add_prior_keeps_sorted_order_past_ten(tmp_path):
    root = tmp_path / "priors"
    for i in range(10):
        add_prior(root, "s", _png(tmp_path / f"s{i}.png", i * 20))
    names = [p.name for p in list_priors(root, "s")]
    assert names[-1] == "prior_9.png"
    eleventh = add_prior(root, "s", _png(tmp_path / "s10.png", 250))
    after = list_priors(root, "s")
    assert after[-1] == eleventh
    assert [round(v) for v in _contents(after)] == [i * 20 for i in range(10)] + [250]
    assert [p.name for p in after] == [f"prior_{i:02d}.png" for i in range(11)]


def test_remove_and_restore_prior(tmp_path):
    root = tmp_path / "priors"
    side = tmp_path / "side"
    p0 = add_prior(root, "s", _png(tmp_path / "a.png", 10))
    p1 = add_prior(root, "s", _png(tmp_path / "b.png", 20))
    trashed = remove_prior(p0, side)
    assert not p0.exists() and trashed.is_file() and trashed.is_relative_to(side / "trash")
    assert list_priors(root, "s") == [p1]
    assert restore_prior(trashed) == p0 and p0.is_file()
    assert round(_contents([p0])[0]) == 10


def test_reorder_priors(tmp_path):
    root = tmp_path / "priors"
    paths = [add_prior(root, "s", _png(tmp_path / f"{i}.png", 30 * i)) for i in range(4)]
    new = reorder_priors(root, "s", [paths[2], paths[0], paths[3], paths[1]])
    assert [p.name for p in new] == ["prior_0.png", "prior_1.png", "prior_2.png", "prior_3.png"]
    assert list_priors(root, "s") == new
    assert [round(v) for v in _contents(new)] == [60, 0, 90, 30]
    with pytest.raises(DataError, match="each current prior once"):
        reorder_priors(root, "s", new[:3])
    assert not (new[0].parent / REORDER_PLAN).exists()


@pytest.mark.parametrize("fail_after", [0, 1, 2, 3, 4, 5, 6, 7])
def test_interrupted_reorder_loses_nothing(tmp_path, monkeypatch, fail_after):
    root = tmp_path / "priors"
    paths = [add_prior(root, "s", _png(tmp_path / f"{i}.png", 40 * i)) for i in range(4)]
    order = [paths[3], paths[1], paths[0], paths[2]]
    real_rename = os.rename
    calls = {"n": 0}

    def flaky(src, dst):
        if calls["n"] >= fail_after:
            raise KeyboardInterrupt("power cut")
        calls["n"] += 1
        real_rename(src, dst)

    monkeypatch.setattr(priors_mod.os, "rename", flaky)
    try:
        reorder_priors(root, "s", order)
        interrupted = False
    except KeyboardInterrupt:
        interrupted = True
    monkeypatch.setattr(priors_mod.os, "rename", real_rename)
    folder = paths[0].parent
    every_image = [p for p in folder.iterdir() if p.name != REORDER_PLAN]
    assert len(every_image) == 4  # all files still there, whatever their names
    if interrupted:
        assert recover_reorder(folder)
    final = list_priors(root, "s")
    assert [round(v) for v in _contents(final)] == [120, 40, 0, 80]
    assert not (folder / REORDER_PLAN).exists()
