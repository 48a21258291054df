"""The bundled demo dataset (resources/demo, ExtremeOcc-3D layout) and its generator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
GENERATOR = REPO_ROOT / "resources" / "make_demo.py"
FIELDS = ("id", "image", "mask", "obs_object_image", "prior_text", "gt_render_dir", "gt_mesh")
PATH_FIELDS = ("image", "mask", "obs_object_image", "gt_render_dir", "gt_mesh")


def _entries(root: Path) -> list[dict]:
    document = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    assert isinstance(document, list)
    return document


def _array(path: Path, mode: str) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == mode, f"{path}: {image.mode}, expected {mode}"
        return np.asarray(image)


def _ply_header(path: Path) -> tuple[list[str], int]:
    """Header lines of a PLY file and the byte offset where its body starts."""
    raw = path.read_bytes()
    end = raw.find(b"end_header\n")
    assert raw.startswith(b"ply\n") and end > 0, f"{path}: not a PLY file"
    return raw[:end].decode("ascii").splitlines(), end + len(b"end_header\n")


def _check_ply(path: Path) -> tuple[int, int]:
    """Check a demo PLY (binary, xyz float, uchar rgb, triangle list); return (vertices, faces)."""
    lines, body = _ply_header(path)
    assert "format binary_little_endian 1.0" in lines
    for prop in ("x", "y", "z"):
        assert f"property float {prop}" in lines
    for prop in ("red", "green", "blue"):
        assert f"property uchar {prop}" in lines, f"{path}: no vertex colour {prop}"
    assert "property list uchar int vertex_indices" in lines
    counts = {ln.split()[1]: int(ln.split()[2]) for ln in lines if ln.startswith("element ")}
    n_vertices, n_faces = counts["vertex"], counts["face"]
    assert n_vertices > 0 and n_faces > 0
    # 3 floats + 3 bytes per vertex, 1 count byte + 3 ints per triangle
    assert path.stat().st_size == body + 15 * n_vertices + 13 * n_faces
    return n_vertices, n_faces


def _check_layout(
    root: Path, entries: list[dict], scene_size: tuple[int, int], object_size: int
) -> None:
    for entry in entries:
        assert set(FIELDS) <= set(entry), entry
        sid = entry["id"]
        assert sid.count("/") == 1, sid
        assert entry["prior_text"] and isinstance(entry["prior_text"], str)
        for name in PATH_FIELDS:
            rel = entry[name]
            assert not Path(rel).is_absolute() and ".." not in Path(rel).parts, rel
            assert (root / rel).exists(), f"{sid}: {name} {rel} missing"

        image = _array(root / entry["image"], "RGB")
        assert image.shape[1::-1] == scene_size
        mask = _array(root / entry["mask"], "L")
        assert mask.shape == image.shape[:2]
        assert set(np.unique(mask).tolist()) <= {0, 255}
        visible = mask > 0
        assert visible.any(), f"{sid}: empty mask"

        obs = _array(root / entry["obs_object_image"], "RGBA")
        assert obs.shape[:2] == mask.shape
        np.testing.assert_array_equal(obs[..., 3], mask)
        np.testing.assert_array_equal(obs[visible][:, :3], image[visible])

        # the visible part is a proper part of the whole silhouette (the generator's extra file)
        amodal = _array(root / Path(entry["mask"]).parent / "amodal_mask.png", "L") > 0
        assert not (visible & ~amodal).any(), f"{sid}: visible pixels outside the object"
        assert visible.sum() < amodal.sum(), f"{sid}: the target is not occluded at all"

        renders = sorted((root / entry["gt_render_dir"]).glob("view_*.png"))
        assert [p.name for p in renders] == [f"view_{k:04d}.png" for k in range(8)]
        for path in renders:
            rgba = _array(path, "RGBA")
            assert rgba.shape == (object_size, object_size, 4)
            assert rgba[0, 0, 3] == 0 and rgba[..., 3].max() == 255

        priors = root / "priors" / Path(*sid.split("/"))
        assert sorted(p.name for p in priors.iterdir()) == ["prior_0.png", "prior_1.png"]
        for path in priors.iterdir():
            rgb = _array(path, "RGB")
            assert rgb.shape == (object_size, object_size, 3)
            assert tuple(rgb[0, 0]) == (255, 255, 255)

        gt_mesh = root / entry["gt_mesh"]
        prediction = root / "predictions" / Path(*sid.split("/")) / "mesh.ply"
        assert prediction.is_file(), f"{sid}: no prediction"
        _check_ply(gt_mesh)
        _check_ply(prediction)
        assert prediction.read_bytes() != gt_mesh.read_bytes()


def test_manifest_is_a_list_of_complete_entries(demo_root: Path) -> None:
    text = (demo_root / "manifest.json").read_text(encoding="utf-8")
    entries = json.loads(text)
    assert isinstance(entries, list) and len(entries) >= 6
    assert text == json.dumps(entries, indent=2) + "\n"  # the RelaxFlow tools' own formatting
    ids = [e["id"] for e in entries]
    assert len(set(ids)) == len(ids)
    assert len({e["prior_text"] for e in entries}) >= 6  # distinct categories
    assert all(set(FIELDS) <= set(e) for e in entries)


def test_demo_layout(demo_root: Path) -> None:
    _check_layout(demo_root, _entries(demo_root), (384, 288), 256)


def test_views_of_one_scene_share_the_gt_asset(demo_root: Path) -> None:
    by_scene: dict[str, set[str]] = {}
    for entry in _entries(demo_root):
        by_scene.setdefault(entry["id"].split("/")[0], set()).add(entry["gt_mesh"])
    assert all(len(meshes) == 1 for meshes in by_scene.values())
    assert len({next(iter(m)) for m in by_scene.values()}) == len(by_scene)


def test_predictions_differ_per_sample(demo_root: Path) -> None:
    """Each prediction is a different perturbation; some lack a part (fewer vertices)."""
    predictions, dropped = set(), 0
    for entry in _entries(demo_root):
        sid = entry["id"]
        path = demo_root / "predictions" / Path(*sid.split("/")) / "mesh.ply"
        predictions.add(path.read_bytes())
        n_pred, _ = _check_ply(path)
        n_gt, _ = _check_ply(demo_root / entry["gt_mesh"])
        assert 0.5 * n_gt < n_pred <= n_gt
        dropped += n_pred < n_gt
    assert len(predictions) == len(_entries(demo_root))
    assert dropped >= 1


def test_offscreen_plotter_has_no_msaa() -> None:
    pv = pytest.importorskip("pyvista")
    from occstudio.render.offscreen import make_offscreen_plotter

    plotter = make_offscreen_plotter((40, 30), lighting=None)
    try:
        assert plotter.off_screen
        assert plotter.render_window.GetMultiSamples() == 0
        plotter.set_background("black")
        plotter.add_mesh(pv.Sphere(radius=0.5), color="white", lighting=False)
        image = np.asarray(plotter.screenshot(return_img=True))
        assert image.shape == (30, 40, 3)
        # no anti-aliasing: a flat colour stays exact along the edges
        assert set(np.unique(image).tolist()) == {0, 255}
    finally:
        plotter.close()
    with pytest.raises(ValueError):
        make_offscreen_plotter((0, 10))


@pytest.mark.slow
def test_generator_writes_the_layout(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(out), "--size", "96", "--limit", "2"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wrote 2 samples" in result.stdout
    entries = _entries(out)
    assert [e["id"] for e in entries] == ["living_room/view_00", "dining_room/view_00"]
    _check_layout(out, entries, (96, 72), 64)
