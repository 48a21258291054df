"""The occstudio command: info, metrics mesh, plugins, and bad input (exit 2, one line)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from occstudio.cli import main
from occstudio.io.meshes import MeshData, write_ply


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "occstudio.cli", *args], capture_output=True, text=True, timeout=120)


def make_manifest(root: Path) -> Path:
    (root / "a").mkdir(parents=True)
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "a" / "img.png")
    entries = [
        {"id": "s/1", "image": "a/img.png", "mask": "a/missing_mask.png", "prior_text": "chair"},
        {"id": "s/2", "image": "a/img.png", "prior_text": "table"},
    ]
    (root / "manifest.json").write_text(json.dumps(entries, indent=2) + "\n")
    return root / "manifest.json"


def test_info_json_lists_samples_fields_and_missing(tmp_path, capsys):
    make_manifest(tmp_path)
    assert main(["info", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["format"] == "extremeocc" and out["n_samples"] == 2
    first = out["samples"][0]
    assert first["id"] == "s/1" and "image" in first["fields"] and "prior_text" in first["fields"]
    assert first["missing"] == ["mask: a/missing_mask.png"]
    assert out["samples"][1]["missing"] == []


def test_info_on_demo(demo_root, capsys):
    assert main(["info", str(demo_root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["format"] == "extremeocc" and out["n_samples"] >= 6
    assert all(not s["missing"] for s in out["samples"])
    assert {"image", "mask", "gt_mesh", "gt_images", "prior_text"} <= set(out["samples"][0]["fields"])


def _cube(offset=0.0, scale=1.0) -> MeshData:
    v = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float) * scale + offset
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return MeshData(vertices=v, faces=f)


def test_metrics_mesh_json_keys_and_identity(tmp_path, capsys):
    write_ply(tmp_path / "gt.ply", _cube())
    write_ply(tmp_path / "pred.ply", _cube())
    assert main(["metrics", "mesh", "--gt", str(tmp_path / "gt.ply"), "--pred", str(tmp_path / "pred.ply"),
                 "--n-points", "2000", "--thresholds", "0.01,0.05", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"chamfer_l1", "chamfer_l2", "fscore", "normal_consistency", "n_points_gt", "n_points_pred"}
    assert list(out["fscore"]) == ["0.01", "0.05"]
    assert out["n_points_gt"] == 2000
    # same mesh, same seed: identical samples, zero distance
    assert out["chamfer_l1"] == pytest.approx(0.0, abs=1e-12) and out["fscore"]["0.01"] == 1.0
    assert out["normal_consistency"] == pytest.approx(1.0)


def test_metrics_mesh_shifted_cube_point_clouds(tmp_path, capsys):
    # vertex-only point clouds: every nearest neighbour is exactly 0.5 away, both ways
    np.save(tmp_path / "gt.npy", _cube().vertices.astype(np.float32))
    np.save(tmp_path / "pred.npy", (_cube().vertices + [0.0, 0.0, 0.5]).astype(np.float32))
    assert main(["metrics", "mesh", "--gt", str(tmp_path / "gt.npy"), "--pred", str(tmp_path / "pred.npy"),
                 "--thresholds", "0.5,0.6", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["chamfer_l1"] == pytest.approx(1.0)  # sum of the two directional means: 0.5 + 0.5
    assert out["chamfer_l2"] == pytest.approx(0.5)  # 0.25 + 0.25
    assert out["fscore"]["0.5"] == 0.0  # strict d < tau: a point at exactly tau does not count
    assert out["fscore"]["0.6"] == 1.0
    assert out["normal_consistency"] is None


@pytest.mark.parametrize("args, needle", [
    (["info", "does/not/exist"], "not found"),
    (["metrics", "mesh", "--gt", "nope.ply", "--pred", "nope2.ply"], "nope.ply"),
])
def test_bad_input_exits_2_with_one_line(args, needle):
    result = run_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("occstudio: error:") and needle in lines[0]
    assert "Traceback" not in result.stderr


def test_malformed_manifest_names_file_line_and_column(tmp_path):
    bad = tmp_path / "manifest.json"
    bad.write_text('[\n  {"id": "a", "image": "x.png",}\n]\n')
    result = run_cli("info", str(bad))
    assert result.returncode == 2
    assert "manifest.json" in result.stderr and "line 2" in result.stderr and "column" in result.stderr


def test_corrupt_ply_is_a_clear_error(tmp_path):
    (tmp_path / "gt.ply").write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 100\n"
                                      b"property float x\nproperty float y\nproperty float z\nend_header\n\x00\x01")
    write_ply(tmp_path / "pred.ply", _cube())
    result = run_cli("metrics", "mesh", "--gt", str(tmp_path / "gt.ply"), "--pred", str(tmp_path / "pred.ply"))
    assert result.returncode == 2 and "gt.ply" in result.stderr and "Traceback" not in result.stderr


def test_debug_shows_traceback():
    result = run_cli("--debug", "info", "does/not/exist")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_plugins_list_json(capsys):
    assert main(["plugins", "list", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert any("loader:extremeocc" in p["contributions"] for p in out["plugins"])


def test_help_is_fast_and_lazy():
    code = "import sys; from occstudio.cli import build_parser; build_parser(); " \
           "print(','.join(m for m in ('torch','open3d','PySide6','pyvista') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_priors_export_command_writes_readable_manifest(tmp_path, capsys):
    from tests.factories import make_extremeocc_dataset

    root = make_extremeocc_dataset(tmp_path / "ds", n=2)
    out = root / "manifest_with_priors.json"
    assert main(["priors", "export", str(root / "manifest.json"), "--priors-root", str(root / "priors"),
                 "--output", str(out)]) == 0
    entries = json.loads(out.read_text())
    assert entries[0]["prior_images"] == ["priors/scene0/view_00/prior_0.png"]
    assert out.read_text().endswith("}\n]\n")
    capsys.readouterr()
    from occstudio.io.opening import open_dataset

    dataset = open_dataset(root)  # the folder now opens manifest_with_priors.json
    assert dataset.samples[1].path_list("prior_images") == [root / "priors/scene1/view_00/prior_0.png"]


def test_priors_export_missing_priors_exits_2(tmp_path):
    from tests.factories import make_extremeocc_dataset

    root = make_extremeocc_dataset(tmp_path / "ds", n=1)
    result = run_cli("priors", "export", str(root / "manifest.json"), "--priors-root", str(tmp_path / "none"),
                     "--output", str(tmp_path / "o.json"))
    assert result.returncode == 2 and "missing priors" in result.stderr and not (tmp_path / "o.json").exists()
