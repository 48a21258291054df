"""The plugin as occstudio sees it: registration, discovery, opening, the computation."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest
from occstudio.io.opening import open_dataset
from occstudio.plugins.registry import Registry, resolve
from occstudio.testing import load_plugin_for_test

import occstudio_semantickitti
from occstudio_semantickitti.stats import occupancy_stats
from occstudio_semantickitti.voxels import N_VOXELS, open_voxels

from kitti_frames import make_frame

PLUGIN = "occstudio-semantickitti"


def test_register_adds_a_loader_and_a_computation():
    reg = load_plugin_for_test(occstudio_semantickitti.register, name=PLUGIN)
    info = {p.name: p for p in reg.plugins}[PLUGIN]
    assert info.status == "loaded"
    assert info.contributions == ["loader:semantickitti", "computation:semantickitti.occupancy_stats"]
    spec = reg.computations["semantickitti.occupancy_stats"]
    assert [p.name for p in spec.params] == ["ignore_invalid", "include_empty"]
    assert spec.parse_params(["ignore_invalid=false"]) == {"ignore_invalid": False, "include_empty": False}
    with pytest.raises(ValueError, match="unknown parameter"):
        spec.parse_params(["voxel=0.1"])


def test_register_is_lazy():
    code = (
        "import sys\n"
        "from occstudio.plugins.registry import Registry\n"
        "import occstudio_semantickitti\n"
        "reg = Registry(); reg.load_plugin('p', occstudio_semantickitti.register)\n"
        "assert reg.plugins[0].status == 'loaded', reg.plugins[0].error\n"
        "heavy = [m for m in ('occstudio_semantickitti.voxels', 'occstudio_semantickitti.stats', 'numpy')"
        " if m in sys.modules]\n"
        "print(heavy); sys.exit(1 if heavy else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_incompatible_api_version_is_reported_not_fatal():
    class FutureRegistry(Registry):
        api_version = "2.0"

    reg = FutureRegistry()
    info = reg.load_plugin(PLUGIN, occstudio_semantickitti.register)
    assert info.status == "failed" and "plugin API 1.0" in info.error and "2.0" in info.error
    assert "semantickitti" not in reg.loaders


def test_open_dataset_picks_the_plugin_over_the_builtin_file_loader(isolated_registry, kitti_sequence):
    isolated_registry.load_plugin(PLUGIN, occstudio_semantickitti.register)
    ds = open_dataset(kitti_sequence)  # the fixture's registry is the process-wide one
    assert ds.format == "semantickitti" and len(ds) == 2
    single = open_dataset(kitti_sequence / "voxels" / "000000.bin")
    assert single.format == "semantickitti" and single.ids() == ["000000"]
    # without the plugin the same .bin is a point-cloud file for the builtins
    assert open_dataset(kitti_sequence / "voxels" / "000005.bin").format == "files"


def _installed() -> bool:
    try:
        metadata.distribution(PLUGIN)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not _installed(), reason=f"{PLUGIN} is not installed (pip install -e .)")
@pytest.mark.occstudio_registry(plugins=("semantickitti",))
def test_installed_entry_point_is_discovered(isolated_registry):
    """Checks the pyproject declaration of the installed package (pip install -e)."""
    info = {p.name: p for p in isolated_registry.plugins}[PLUGIN]
    assert info.status == "loaded" and info.version == occstudio_semantickitti.__version__
    assert isolated_registry.loaders["semantickitti"].plugin == PLUGIN
    assert "extremeocc" in isolated_registry.loaders


def test_occupancy_stats_counts_classes(kitti_sequence):
    ds = open_voxels(kitti_sequence)
    labelled, unlabelled = ds.samples
    stats = occupancy_stats(labelled)
    assert stats["source"] == "labels" and stats["total"] == N_VOXELS
    assert stats["counts"]["road"] == 100 and stats["counts"]["car"] == 30  # 100 road voxels are invalid
    assert "unlabeled" not in stats["counts"] and next(iter(stats["counts"])) == "car"
    assert stats["occupied"] == 130 and stats["ignored"] == 101
    everything = occupancy_stats(labelled, ignore_invalid=False, include_empty=True)
    assert everything["counts"]["road"] == 200 and everything["ignored"] == 1
    assert everything["counts"]["unlabeled"] == N_VOXELS - 230 - 1
    scan = occupancy_stats(unlabelled, include_empty=True)
    expected = int(np.count_nonzero(make_frame(1)["occupancy"]))
    assert scan["source"] == "occupancy" and scan["counts"] == {"occupied": expected, "empty": N_VOXELS - expected}


def test_computation_runs_through_its_spec_like_the_cli(kitti_sequence):
    reg = load_plugin_for_test(occstudio_semantickitti.register, name=PLUGIN, builtins=False)
    spec = reg.computations["semantickitti.occupancy_stats"]
    sample = open_voxels(kitti_sequence).samples[0]
    result = resolve(spec.func)(sample, progress=None, **spec.parse_params(["ignore_invalid=no"]))
    assert result["counts"]["road"] == 200
