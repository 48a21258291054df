"""occstudio.testing: the isolated registry fixture and the helpers plugin authors use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from occstudio.io.opening import open_dataset
from occstudio.plugins.registry import Registry, get_registry, reset_registry
from occstudio.testing import (
    PluginLoadError,
    fake_entry_point,
    installed_entry_points,
    load_plugin_for_test,
    make_isolated_registry,
    registry_isolation,
)

pytest_plugins = ["occstudio.testing"]


def _txt_plugin(reg: Registry) -> None:
    reg.add_loader(
        id="txt-lines",
        name="Text lines",
        sniff=lambda p: 0.95 if Path(p).suffix == ".txt" else 0.0,
        open=_open_txt,
    )


def _open_txt(path, progress=None):
    from occstudio.core.dataset import Dataset
    from occstudio.core.sample import Sample

    path = Path(path)
    lines = path.read_text().splitlines()
    return Dataset(format="", source=path, root=path.parent, samples=[Sample(id=s) for s in lines])


def _broken_plugin(reg: Registry) -> None:
    reg.add_computation(id="half-done", name="Half", func=print)
    raise RuntimeError("cannot find my model weights")


def _clashing_plugin(reg: Registry) -> None:
    reg.add_loader(id="extremeocc", name="Mine", sniff=lambda p: 1.0, open=lambda p, progress=None: None)


def test_fixture_holds_builtins_and_is_the_process_registry(isolated_registry):
    assert "extremeocc" in isolated_registry.loaders
    assert [p.name for p in isolated_registry.plugins] == ["occstudio"]
    assert get_registry() is isolated_registry


def test_discovery_inside_the_fixture_ignores_installed_plugins(isolated_registry):
    fresh = Registry()
    fresh.discover()
    assert [p.name for p in fresh.plugins] == ["occstudio"]


def test_empty_registry_has_nothing(empty_registry):
    assert empty_registry.loaders == {} and empty_registry.plugins == []
    assert get_registry() is empty_registry


def test_isolation_restores_the_previous_registry_and_discovery():
    outer = Registry()
    reset_registry(outer)
    try:
        with registry_isolation(builtins=False) as inner:
            assert get_registry() is inner
            probe = Registry()
            probe.discover()
            assert probe.plugins == []
        assert get_registry() is outer
        probe = Registry()
        probe.discover()  # the real installed entry points again
        assert any(p.name == "occstudio" for p in probe.plugins)
    finally:
        reset_registry(None)


def test_plugin_loaded_into_the_fixture_opens_files(isolated_registry, tmp_path):
    isolated_registry.load_plugin("txt-plugin", _txt_plugin, "1.0")
    f = tmp_path / "ids.txt"
    f.write_text("a\nb\n")
    ds = open_dataset(f)  # no registry argument: the fixture's registry is the process-wide one
    assert ds.format == "txt-lines" and ds.ids() == ["a", "b"]


def test_load_plugin_for_test_reports_contributions():
    reg = load_plugin_for_test(_txt_plugin, name="txt-plugin")
    info = {p.name: p for p in reg.plugins}["txt-plugin"]
    assert info.status == "loaded" and info.contributions == ["loader:txt-lines"]
    assert reg.loaders["txt-lines"].plugin == "txt-plugin"
    assert "extremeocc" in reg.loaders  # builtins loaded first by default


def test_load_plugin_for_test_accepts_import_strings():
    reg = load_plugin_for_test("occstudio.builtins:register", name="again", builtins=False)
    assert "files" in reg.loaders


def test_load_plugin_for_test_fails_loudly_with_the_traceback():
    with pytest.raises(PluginLoadError, match="cannot find my model weights") as err:
        load_plugin_for_test(_broken_plugin, name="broken")
    assert "Traceback" in str(err.value) and "_broken_plugin" in str(err.value)


def test_load_plugin_for_test_catches_ids_clashing_with_builtins():
    with pytest.raises(PluginLoadError, match="duplicate loader id 'extremeocc'"):
        load_plugin_for_test(_clashing_plugin, name="clash")
    reg = load_plugin_for_test(_clashing_plugin, name="clash", strict=False)
    info = {p.name: p for p in reg.plugins}["clash"]
    assert info.status == "failed" and "occstudio" in info.error and "clash" in info.error
    assert reg.loaders["extremeocc"].plugin == "occstudio"


def test_fake_entry_points_go_through_discovery():
    reg = Registry()
    reg.discover([
        fake_entry_point("one", lambda r: r.add_computation(id="c1", name="C1", func=print), "pkg-one", "1.0"),
        fake_entry_point("two", lambda r: r.add_computation(id="c2", name="C2", func=print), "pkg-two", "2.0"),
        fake_entry_point("gone", ImportError("No module named 'gone'"), "pkg-gone"),
    ])
    status = {p.name: (p.status, p.version) for p in reg.plugins}
    assert status["pkg-one"] == ("loaded", "1.0") and status["pkg-two"] == ("loaded", "2.0")
    assert status["pkg-gone"][0] == "failed"
    assert set(reg.computations) == {"c1", "c2"}  # two lambdas are two plugins, not duplicates


def test_installed_entry_points_names_what_is_missing():
    with pytest.raises(LookupError, match="no-such-plugin"):
        installed_entry_points(["no-such-plugin"])


def test_make_isolated_registry_without_builtins():
    assert make_isolated_registry(builtins=False).loaders == {}
    assert "extremeocc" in make_isolated_registry().loaders


def test_testing_module_does_not_import_qt_or_vtk():
    code = (
        "import sys, occstudio.testing\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in {'PySide6', 'pyvista', 'vtk', 'vtkmodules', 'torch'}]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
