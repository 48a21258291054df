"""The example plugin (plugins/occstudio-semantickitti), installed as a real distribution, is
found through its entry point by discovery, the CLI and ``open_dataset``."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest

from occstudio.plugins.registry import ENTRY_POINT_GROUP, Registry

DIST = "occstudio-semantickitti"

try:
    metadata.distribution(DIST)
except metadata.PackageNotFoundError:  # `make test` installs it; a bare checkout may not have
    pytest.skip(f"{DIST} is not installed (pip install -e plugins/{DIST})", allow_module_level=True)

pytest_plugins = ["occstudio.testing"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "occstudio.cli", *args], capture_output=True, text=True, check=False, timeout=120
    )


def test_entry_point_is_declared():
    eps = {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert eps["semantickitti"].value == "occstudio_semantickitti:register"
    assert eps["semantickitti"].dist.name == DIST


def test_real_discovery_loads_it_beside_the_builtins():
    reg = Registry()
    reg.discover()
    status = {p.name: p for p in reg.plugins}
    assert status[DIST].status == "loaded", status[DIST].error
    assert status[DIST].version == metadata.version(DIST)
    assert reg.loaders["semantickitti"].plugin == DIST
    assert "semantickitti.occupancy_stats" in reg.computations
    assert "extremeocc" in reg.loaders  # a plugin adds to the builtins, never replaces them


def test_isolated_registry_can_select_the_installed_plugin():
    from occstudio.testing import registry_isolation

    with registry_isolation(builtins=False, plugins=("semantickitti",)) as reg:
        assert [p.name for p in reg.plugins] == [DIST]
        assert set(reg.loaders) == {"semantickitti"}


def test_cli_lists_the_plugin_and_opens_its_format(tmp_path):
    from occstudio_semantickitti.voxels import GRID_SHAPE, write_frame

    listed = _cli("plugins", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)["plugins"]}
    assert rows[DIST]["status"] == "loaded"
    assert "loader:semantickitti" in rows[DIST]["contributions"]

    occ = np.zeros(GRID_SHAPE, dtype=bool)
    occ[5, 6, 7] = True
    write_frame(tmp_path / "00" / "voxels", "000000", occ, np.zeros(GRID_SHAPE, np.uint16))
    info = _cli("info", str(tmp_path / "00"), "--json")
    assert info.returncode == 0, info.stderr
    result = json.loads(info.stdout)
    assert result["format"] == "semantickitti" and result["n_samples"] == 1
    assert result["samples"][0]["fields"] == ["bin", "label"]
