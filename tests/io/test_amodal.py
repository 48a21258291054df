"""Open-world amodal completion inputs/outputs and Amodal3R example folders (formats.md §5)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from occstudio.core.errors import DataError, MissingFileError
from occstudio.io.amodal import (
    choose_offset,
    image_basename,
    load_amodal3r_content,
    load_amodal_content,
    open_amodal,
    open_amodal3r,
    parse_offsets,
    place_completion,
    place_mask,
    read_annotation_json,
    read_annotations,
    read_file_list,
    read_offsets,
    read_visible_seg,
    sniff,
    sniff_amodal3r,
    strip_trailing_commas,
)
from occstudio.plugins.registry import Registry

OPENWORLD = "amodal_openworld"
AMODAL3R = "amodal3r_example"


# ------------------------------------------------------------ fixture generator


def lisa_overlay(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """What LISA saves as visible_seg.png: masked pixels tinted, 0.5·pixel + (127.5, 0, 0), truncated."""
    out = image.copy()
    tinted = image * 0.5 + mask[:, :, None].astype(np.uint8) * np.array([255, 0, 0]) * 0.5
    out[mask] = tinted[mask]
    return out


def make_amodal_example(
    root: Path,
    names: tuple[str, ...] = ("dog-1_640_dog", "mug-2_640_mug", "car-3_640_car"),
    size: tuple[int, int] = (80, 60),  # width, height
    trailing_comma: bool = True,
    outputs: str | None = "output",
    offset_form: str = "pipeline",
) -> dict:
    """Write amodal-completion inputs (images, file list, annotation JSON) and outputs.

    Each image shows a disc (the object) partly hidden by a bar. Outputs follow the
    pipeline: ``<outputs>/<basename>/`` with the LISA overlay, the amodal mask and RGBA
    completion in crop coordinates, the RGBA visible cut, ``offsets.json`` in the
    pipeline's ``{"<prompt>_<n>": [row, col]}`` form (or ``offset_form="xy"``) and
    ``prompt.txt``. The last image's crop runs past the top-left image corner.

    Returns
    -------
    dict
        ``root``, ``truth``: basename -> (image, visible, amodal in image coordinates,
        completion RGBA, offset (x, y)).
    """
    width, height = size
    rng = np.random.default_rng(3)
    (root / "images_example").mkdir(parents=True, exist_ok=True)
    truth = {}
    annotations = []
    for i, base in enumerate(names):
        query = base.split("_")[-1]
        img = rng.integers(30, 200, (height, width, 3), dtype=np.uint8)
        yy, xx = np.mgrid[:height, :width]
        cx, cy, r = (40, 30, 14) if i < len(names) - 1 else (8, 6, 12)
        amodal = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        bar = (xx >= cx - 3) & (xx <= cx + 5)
        visible = amodal & ~bar
        colour = np.array([230, 40 + 60 * i, 20], np.uint8)
        img[visible] = colour
        Image.fromarray(img).save(root / "images_example" / f"{base}.jpg", quality=92)
        img = np.asarray(Image.open(root / "images_example" / f"{base}.jpg").convert("RGB"))  # as decoded
        # crop: the amodal bounding box with a margin (may start before the image)
        rows, cols = np.nonzero(amodal)
        top, left = rows.min() - 10, cols.min() - 10
        crop_h, crop_w = rows.max() + 10 - top, cols.max() + 10 - left
        crop_amodal = np.zeros((crop_h, crop_w), bool)
        crop_visible = np.zeros((crop_h, crop_w), bool)
        for r_img, c_img in zip(*np.nonzero(amodal)):
            crop_amodal[r_img - top, c_img - left] = True
            crop_visible[r_img - top, c_img - left] = visible[r_img, c_img]
        completion = np.zeros((crop_h, crop_w, 4), np.uint8)
        completion[crop_amodal, :3] = colour
        completion[crop_amodal, 3] = 255
        truth[base] = (img, visible, amodal, completion, (int(left), int(top)))
        annotations.append({"filename": f"images_example/{base}.jpg", "labels": [query]})
        if outputs is None:
            continue
        out = root / outputs / base
        out.mkdir(parents=True, exist_ok=True)
        Image.fromarray(lisa_overlay(img, visible)).save(out / "visible_seg.png")
        Image.fromarray(crop_amodal.astype(np.uint8) * 255).convert("RGB").save(out / "amodal_segmentation.png")
        cut = np.zeros((crop_h, crop_w, 4), np.uint8)
        cut[crop_visible, :3] = colour
        cut[crop_visible, 3] = 255
        Image.fromarray(cut, "RGBA").save(out / "sd_img_cut.png")
        Image.fromarray(completion, "RGBA").save(out / "amodal_completion.png")
        if offset_form == "pipeline":  # the pipeline's x is the numpy row
            offsets = {f"{query}_{3 + i}": [int(top), int(left)]}
        else:
            offsets = {"x": int(left), "y": int(top)}
        (out / "offsets.json").write_text(json.dumps(offsets, sort_keys=True, indent=4))
        (out / "prompt.txt").write_text(query)
    text = json.dumps({"annotations": annotations, "statistics": {"total_labels": len(names)}}, indent=4)
    if trailing_comma:
        text = text.replace("}\n    ],\n", "},\n    ],\n")
    (root / "example_annotation.json").write_text(text)
    (root / "img_filenames_example.txt").write_text("\n".join(a["filename"] for a in annotations))
    return {"root": root, "truth": truth}


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    return make_amodal_example(tmp_path_factory.mktemp("amodal"))


@pytest.fixture
def example_copy(tmp_path, example):
    dst = tmp_path / "copy"
    shutil.copytree(example["root"], dst)
    return {"root": dst, "truth": example["truth"]}


# ------------------------------------------------------------ real example


@pytest.fixture
def openworld(shared_data) -> Path:
    path = shared_data / OPENWORLD
    if not path.is_dir():
        pytest.skip("open-world amodal example not present")
    return path


def test_real_annotation_trailing_comma_strict_and_tolerant(openworld):
    path = openworld / "example_annotation.json"
    with pytest.raises(DataError) as err:
        read_annotations(path)
    message = str(err.value)
    assert "example_annotation.json" in message and "line 45, column 5" in message and "trailing comma" in message
    entries, warnings = read_annotations(path, tolerant=True)
    assert len(entries) == 7 and entries[1] == ("images_example/bird-8951872_640_bird.jpg", ["bird"])
    comma = [w for w in warnings if "trailing comma" in w]
    assert comma == [
        "example_annotation.json: trailing comma at line 44, column 10 is not valid JSON "
        "(read tolerantly; remove it for other tools)"
    ]
    assert path.read_text().splitlines()[43][9] == ","  # the named position is the comma
    # the file's statistics disagree with its content: reported, not fatal
    assert any("total_filenames = 6 but the annotations hold 7" in w for w in warnings)


def test_real_open_world_example(openworld):
    assert sniff(openworld) == 0.9 and sniff(openworld / "example_annotation.json") == 0.9
    assert sniff(openworld / "images_example") == 0.0 and sniff_amodal3r(openworld) == 0.0
    ds = open_amodal(openworld)
    assert ds.format == "amodal" and len(ds) == 7
    assert ds.ids()[0] == "activity-8122959_640_spraypaintcan/spray paint can"
    assert ds.ids()[-1] == "coins-1015125_640_potato/potato"
    assert ds.meta["file_list"].name == "img_filenames_example.txt" and ds.meta["outputs"] is None
    assert any("line 44, column 10" in w for w in ds.warnings)
    for sample in ds.samples:
        assert sample.path("image").is_file() and not sample.missing and not sample.errors
        assert sample.text["query"]
    content = load_amodal_content(ds.get("cat-7875506_640_cat/cat"))
    assert content["image"].shape == (388, 640, 3) and content["composite"] is None and not content["errors"]
    # opening the JSON itself gives the same samples
    assert open_amodal(openworld / "example_annotation.json").ids() == ds.ids()


def test_registry_routes_real_folders(shared_data):
    from occstudio.builtins import register

    reg = Registry()
    register(reg)  # the built-in registration (amodal and amodal3r included)
    if (shared_data / OPENWORLD).is_dir():
        assert reg.find_loader(shared_data / OPENWORLD).id == "amodal"
        assert reg.find_loader(shared_data / OPENWORLD / "example_annotation.json").id == "amodal"
    if (shared_data / AMODAL3R).is_dir():
        assert reg.find_loader(shared_data / AMODAL3R / "1").id == "amodal3r"
        assert reg.find_loader(shared_data / AMODAL3R).id == "amodal3r"
        assert reg.find_loader(shared_data / AMODAL3R / "1" / "000000.png").id == "files"


# ------------------------------------------------------------ generated outputs


def test_open_generated_outputs_and_content(example):
    root = example["root"]
    assert sniff(root) == 0.9 and sniff(root / "output") == 0.9 and sniff(root / "output" / "dog-1_640_dog") == 0.9
    ds = open_amodal(root)
    assert ds.ids() == ["dog-1_640_dog/dog", "mug-2_640_mug/mug", "car-3_640_car/car"]
    assert ds.meta["outputs"] == root / "output"
    assert [w for w in ds.warnings if "trailing comma" in w]
    for sample in ds.samples:
        base = sample.meta["basename"]
        img, visible, amodal, completion, offset = example["truth"][base]
        assert set(sample.paths) == {"image", "visible", "amodal", "sd_cut", "completion", "offsets", "prompt"}
        assert not sample.missing and not sample.errors
        assert sample.text == {"query": base.split("_")[-1], "prompt": base.split("_")[-1]}
        assert sample.meta["offset"] == offset  # pipeline [row, col] read as (x, y)
        content = load_amodal_content(sample)
        assert not content["errors"]
        np.testing.assert_array_equal(content["visible"], visible)
        np.testing.assert_array_equal(content["amodal"], amodal)
        assert content["completion"].shape[2] == 4 and content["sd_cut"].shape[2] == 4
        expected = img.copy()
        expected[amodal] = completion[amodal.nonzero()[0] - offset[1], amodal.nonzero()[1] - offset[0], :3]
        np.testing.assert_array_equal(content["composite"], expected)
    # the last crop starts before the image corner: negative offset, clipped on placement
    assert min(ds.samples[-1].meta["offset"]) < 0


def test_open_outputs_folder_and_single_output_folder(example):
    root = example["root"]
    from_outputs = open_amodal(root / "output")
    assert from_outputs.ids() == open_amodal(root).ids()
    assert from_outputs.samples[0].path("image").is_file()  # inputs found in the parent
    single = open_amodal(root / "output" / "mug-2_640_mug")
    assert single.ids() == ["mug-2_640_mug/mug"] and single.samples[0].path("completion").is_file()
    assert single.samples[0].path("image").name == "mug-2_640_mug.jpg"


def test_outputs_only_without_inputs(tmp_path, example):
    shutil.copytree(example["root"] / "output", tmp_path / "runs")
    ds = open_amodal(tmp_path / "runs")
    assert ds.ids() == ["car-3_640_car/car", "dog-1_640_dog/dog", "mug-2_640_mug/mug"]  # prompts from prompt.txt
    sample = ds.samples[0]
    assert "image" not in sample.paths and not sample.missing and sample.path("completion").is_file()
    content = load_amodal_content(sample)
    assert content["image"] is None and content["composite"] is None and content["amodal_crop"] is not None


def test_missing_and_malformed_outputs(example_copy):
    root = example_copy["root"]
    (root / "output" / "dog-1_640_dog" / "amodal_completion.png").unlink()
    (root / "output" / "mug-2_640_mug" / "offsets.json").write_text('{"mug_4": [1, 2],}')
    shutil.rmtree(root / "output" / "car-3_640_car")
    ds = open_amodal(root)
    dog, mug, car = ds.samples
    assert dog.missing == ["completion: dog-1_640_dog/amodal_completion.png"]
    content = load_amodal_content(dog)
    assert content["completion"] is None and content["composite"] is None and content["visible"].any()
    assert "offset" not in mug.meta and "offsets.json" in mug.errors[0] and "line 1, column 18" in mug.errors[0]
    mug_content = load_amodal_content(mug)
    assert mug_content["amodal"] is None and mug_content["visible"] is not None and mug_content["errors"]
    assert car.missing and car.missing[0].startswith("outputs: car-3_640_car/")
    corrupt = root / "output" / "dog-1_640_dog" / "visible_seg.png"
    corrupt.write_bytes(corrupt.read_bytes()[:60])
    content = load_amodal_content(open_amodal(root).samples[0])
    assert content["visible"] is None and any("visible_seg.png" in e for e in content["errors"])


def test_file_list_and_annotation_disagreements(tmp_path):
    ex = make_amodal_example(tmp_path / "ex", outputs=None, trailing_comma=False)
    root = ex["root"]
    ann = json.loads((root / "example_annotation.json").read_text())
    ann["annotations"][0]["labels"] = ["dog", "ball"]  # two queries for one image
    ann["annotations"].append({"filename": "images_example/extra.jpg", "labels": ["x"]})  # not in the list
    ann["annotations"].append({"labels": ["no filename"]})
    (root / "example_annotation.json").write_text(json.dumps(ann))
    with (root / "img_filenames_example.txt").open("a") as fh:
        fh.write("\nimages_example/unlabelled.jpg\n")
    ds = open_amodal(root)
    assert ds.ids() == [
        "dog-1_640_dog/dog",
        "dog-1_640_dog/ball",
        "mug-2_640_mug/mug",
        "car-3_640_car/car",
        "unlabelled",
        "extra/x",
    ]
    text = "\n".join(ds.warnings)
    assert 'annotation 4 has no "filename" string; skipped' in text
    assert (
        "1 image(s) have no annotation" in text and "1 annotated image(s) are not in img_filenames_example.txt" in text
    )
    assert ds.get("dog-1_640_dog/ball").meta["label_index"] == 1 and "note" in ds.get("dog-1_640_dog/ball").meta
    assert ds.get("unlabelled").errors and ds.get("unlabelled").missing == ["image: images_example/unlabelled.jpg"]
    assert ds.meta["outputs"] is None and not ds.get("dog-1_640_dog/dog").missing
    with pytest.raises(DataError, match="annotation 4"):
        read_annotations(root / "example_annotation.json")  # strict mode


def test_offsets_json_forms(tmp_path, example):
    assert parse_offsets({"x": 3, "y": -5}) == {"offset": (3, -5)}
    assert parse_offsets({"row": -5, "col": 3}) == {"offset": (3, -5)}
    assert parse_offsets({"offset": [3, -5]}) == {"offset": (3, -5)}
    assert parse_offsets([3, -5]) == {"offset": (3, -5)}
    assert parse_offsets({"cat_4": [-5, 3]}) == {"cat_4": (3, -5)}  # the pipeline's [row, col]
    assert parse_offsets({"cat_4": {"x": 3, "y": -5}}) == {"cat_4": (3, -5)}
    assert parse_offsets({"x": 2.9999, "y": 1}) == {"offset": (3, 1)}
    for bad in ({"cat_1": "a"}, {"x": "3", "y": 1}, {"cat_1": [1, 2, 3]}, {}, "text", {"x": True, "y": 1}):
        with pytest.raises(DataError):
            parse_offsets(bad, "o.json")
    several = {"cat_4": (1, 2), "ice cream cone_7": (3, 4)}
    assert choose_offset(several, "ice cream cone") == ("ice cream cone_7", (3, 4))
    assert choose_offset(several, "dog") == ("cat_4", (1, 2))
    assert choose_offset(several) == ("cat_4", (1, 2))
    path = tmp_path / "offsets.json"
    path.write_text("[1, 2")
    with pytest.raises(DataError, match="offsets.json: malformed JSON at line 1"):
        read_offsets(path)
    with pytest.raises(MissingFileError):
        read_offsets(tmp_path / "absent.json")
    # a dataset whose offsets use {"x", "y"} reads the same placement
    ex = make_amodal_example(tmp_path / "xy", offset_form="xy")
    ds = open_amodal(ex["root"])
    assert [s.meta["offset"] for s in ds.samples] == [t[4] for t in ex["truth"].values()]
    assert all(s.meta["offset_key"] == "offset" for s in ds.samples)


def test_place_completion_alpha_and_clipping():
    image = np.full((4, 5, 3), 100, np.uint8)
    comp = np.zeros((2, 3, 4), np.uint8)
    comp[..., :3] = 200
    comp[..., 3] = [[255, 0, 51], [255, 255, 255]]
    out = place_completion(image, comp, (1, 2))
    assert out.shape == (4, 5, 3) and out.dtype == np.uint8
    assert out[2, 1, 0] == 200 and out[2, 2, 0] == 100 and out[2, 3, 0] == 120  # 100·0.8 + 200·0.2
    assert (out[3, 1:4] == 200).all() and (out[:2] == 100).all() and (out[:, 0] == 100).all()
    clipped = place_completion(image, comp, (-2, -1))  # only the bottom-right crop pixel lands
    assert clipped[0, 0, 0] == 200 and np.count_nonzero(clipped != 100) == 3
    past = place_completion(image, comp, (4, 3))  # only the top-left crop pixel lands
    assert past[3, 4, 0] == 200 and np.count_nonzero(past != 100) == 3
    assert np.array_equal(place_completion(image, comp, (10, 10)), image)
    opaque = place_completion(image[..., 0], comp[..., :3], (0, 0))  # grey image, RGB completion
    assert (opaque[:2, :3] == 200).all() and opaque.shape == (4, 5, 3)
    with pytest.raises(ValueError):
        place_completion(image, comp[..., 0], (0, 0))
    mask = place_mask(np.ones((2, 2), bool), (-1, 3), (4, 5))
    assert mask.sum() == 1 and mask[3, 0]


def test_visible_seg_forms(tmp_path, example):
    img, visible, *_ = example["truth"]["dog-1_640_dog"]
    path = example["root"] / "output" / "dog-1_640_dog" / "visible_seg.png"
    np.testing.assert_array_equal(read_visible_seg(path, img), visible)
    guess = read_visible_seg(path)  # without the image: a tint heuristic, catches the visible part
    assert guess[visible].all()
    binary = tmp_path / "binary.png"
    Image.fromarray(visible.astype(np.uint8) * 255).convert("RGB").save(binary)
    np.testing.assert_array_equal(read_visible_seg(binary, img), visible)


def test_strip_trailing_commas_respects_strings():
    text = '{"a": "x,]", "b": [1, 2 ,\n ],\n "c": {"d": "\\",}",},}'
    fixed, removed = strip_trailing_commas(text)
    assert json.loads(fixed) == {"a": "x,]", "b": [1, 2], "c": {"d": '",}'}}
    assert removed == [(1, 25), (3, 19), (3, 21)]
    assert strip_trailing_commas("[1, 2]") == ("[1, 2]", [])


def test_tolerant_read_still_reports_other_errors(tmp_path):
    path = tmp_path / "ann.json"
    path.write_text('{"annotations": [{"filename" "a.jpg"},]}')
    with pytest.raises(DataError, match="line 1, column 30"):
        read_annotation_json(path, tolerant=True)
    path.write_text('{"annotations": 3}')
    with pytest.raises(DataError, match='"annotations" list'):
        read_annotations(path, tolerant=True)
    with pytest.raises(MissingFileError):
        read_annotation_json(tmp_path / "absent.json", tolerant=True)
    listing = tmp_path / "list.txt"
    listing.write_text("# comment\n a.jpg \n\nb.png\n")
    assert read_file_list(listing) == ["a.jpg", "b.png"]
    assert image_basename("images/x/cat-1.640.jpg") == "cat-1" and image_basename("a\\b.png") == "b"


def test_open_amodal_rejects_unrelated_paths(tmp_path):
    with pytest.raises(MissingFileError):
        open_amodal(tmp_path / "absent")
    with pytest.raises(DataError, match="no amodal annotation"):
        open_amodal(tmp_path)
    other = tmp_path / "other.json"
    other.write_text('{"samples": []}')
    assert sniff(other) == 0.0
    with pytest.raises(DataError, match="not an amodal annotation JSON"):
        open_amodal(other)
    assert sniff(None) == 0.0  # type: ignore[arg-type]  # never raises


# ------------------------------------------------------------------ Amodal3R


def test_real_amodal3r_example(shared_data):
    folder = shared_data / AMODAL3R / "1"
    if not folder.is_dir():
        pytest.skip("Amodal3R example not present")
    assert sniff_amodal3r(folder) == 0.8 and sniff_amodal3r(folder.parent) == 0.8 and sniff(folder) == 0.0
    ds = open_amodal3r(folder)
    assert ds.format == "amodal3r" and ds.ids() == ["000000", "000001", "000002", "000003"]
    assert ds.meta["layers"] == ("visible", "occluded")
    sample = ds.samples[0]
    assert sample.path("mask").name == "000000_mask.png" and sample.meta["layers"] == ("visible", "occluded")
    content = load_amodal3r_content(sample)
    assert not content["errors"] and content["image"].shape == (512, 512, 3)
    visible, occluded = content["visible"], content["occluded"]
    assert visible.any() and occluded.any() and not (visible & occluded).any()
    np.testing.assert_array_equal(content["amodal"], visible | occluded)
    # grey ≈188 where visible, black where occluded (anti-aliased edges aside)
    mask = np.asarray(Image.open(sample.path("mask")).convert("L")).astype(int)
    assert abs(np.median(mask[visible]) - 188) < 10 and np.median(mask[occluded]) < 20
    nested = open_amodal3r(folder.parent)
    assert nested.ids()[0] == "1/000000" and len(nested) == 4


def test_generated_amodal3r_folder_with_gaps(tmp_path):
    folder = tmp_path / "views"
    folder.mkdir()
    mask = np.full((16, 16, 3), 255, np.uint8)
    mask[4:8, 4:12] = 188
    mask[8:12, 4:12] = 0
    for stem in ("000000", "000001"):
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(folder / f"{stem}.png")
    Image.fromarray(mask).save(folder / "000000_mask.png")
    Image.fromarray(mask[:8]).save(folder / "000002_mask.png")
    assert sniff_amodal3r(folder) == 0.8 and sniff_amodal3r(tmp_path / "nothing") == 0.0
    ds = open_amodal3r(folder)
    assert ds.ids() == ["000000", "000001", "000002"]
    assert ds.get("000001").missing == ["mask: 000001_mask.png"] and ds.get("000002").missing == ["image: 000002.png"]
    content = load_amodal3r_content(ds.get("000000"))
    assert content["visible"].sum() == 32 and content["occluded"].sum() == 32 and not content["errors"]
    (folder / "000001_mask.png").write_bytes(b"not a png")
    broken = load_amodal3r_content(open_amodal3r(folder).get("000001"))
    assert broken["visible"] is None and broken["image"] is not None and "000001_mask.png" in broken["errors"][0]
    Image.fromarray(mask[:8]).save(folder / "000001_mask.png")
    wrong = load_amodal3r_content(open_amodal3r(folder).get("000001"))
    assert "mask is 16×8 but the view is 16×16" in wrong["errors"][0]
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    Image.fromarray(mask).save(lonely / "a.png")
    with pytest.raises(DataError, match="no <view>.png"):
        open_amodal3r(lonely)
    with pytest.raises(DataError, match="is a file"):
        open_amodal3r(lonely / "a.png")


def test_open_amodal_can_be_cancelled(example, tmp_path):
    from occstudio.core.jobs import Cancelled, RecordingProgress

    with pytest.raises(Cancelled):
        open_amodal(example["root"], progress=RecordingProgress(cancel_after=1))
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "000000.png")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "000000_mask.png")
    assert len(open_amodal3r(tmp_path, progress=RecordingProgress())) == 1
    with pytest.raises(Cancelled):
        open_amodal3r(tmp_path, progress=RecordingProgress(cancel_after=1))


def test_outputs_beside_the_inputs(example_copy):
    root = example_copy["root"]
    for folder in sorted((root / "output").iterdir()):
        folder.rename(root / folder.name)
    (root / "output").rmdir()
    ds = open_amodal(root)
    assert ds.meta["outputs"] == root and len(ds) == 3
    assert all(s.path("completion").is_file() and s.path("image").is_file() for s in ds.samples)
    elsewhere = open_amodal(root / "example_annotation.json", output_dir=root)
    assert elsewhere.samples[1].meta["offset"] == example_copy["truth"]["mug-2_640_mug"][4]
