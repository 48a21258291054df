"""``occstudio compute``: registered computations (here the example plugin's) from the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from occstudio.cli import main

voxels = pytest.importorskip("occstudio_semantickitti.voxels", reason="example plugin not installed")


def make_frames(root, n=2):
    folder = root / "voxels"
    folder.mkdir(parents=True)
    for i in range(n):
        occ = np.zeros((256, 256, 32), bool)
        occ[10:12, 10:13, 0] = True
        occ[100, 100, : i + 1] = True
        voxels.write_frame(folder, f"{i:06d}", occ)
    return root


def test_compute_runs_plugin_computation(tmp_path, capsys):
    root = make_frames(tmp_path / "kitti")
    assert main(["compute", "semantickitti.occupancy_stats", str(root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["computation"] == "semantickitti.occupancy_stats"
    counts = [r["counts"]["occupied"] for r in out["results"].values()]
    assert counts == [7, 8]


def test_compute_bad_param_and_unknown_id_exit_2(tmp_path):
    root = make_frames(tmp_path / "kitti", n=1)
    for args, needle in ((["nope.stats", str(root)], "unknown computation"),
                         (["semantickitti.occupancy_stats", str(root), "--param", "bogus=1"], "unknown parameter")):
        result = subprocess.run([sys.executable, "-m", "occstudio.cli", "compute", *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and needle in result.stderr and "Traceback" not in result.stderr
