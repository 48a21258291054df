"""Plugin registry: discovery, isolation of broken plugins, duplicate ids (no Qt)."""

from pathlib import Path

import pytest

from occstudio.plugins.registry import ComputationSpec, LoaderSpec, ParamSpec, Registry, RegistryError


class FakeDist:
    def __init__(self, name, version):
        self.name, self.version = name, version


class FakeEntryPoint:
    def __init__(self, name, value, target, dist=None):
        self.name, self.value, self._target, self.dist = name, value, target, dist

    def load(self):
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def good(reg):
    reg.add_loader(id="good", name="Good", sniff=lambda p: 0.5, open=lambda p, progress=None: p)


def broken(reg):
    reg.add_loader(id="half", name="Half", sniff=lambda p: 1.0, open=lambda p: p)
    raise RuntimeError("boom")


def duplicate(reg):
    reg.add_loader(id="good", name="Other", sniff=lambda p: 1.0, open=lambda p: p)


def test_discovery_isolates_failures_and_rejects_duplicates():
    reg = Registry()
    reg.discover([
        FakeEntryPoint("good", "good_pkg:register", good, FakeDist("good-pkg", "1.2")),
        FakeEntryPoint("broken", "broken_pkg:register", broken, FakeDist("broken-pkg", "0.1")),
        FakeEntryPoint("zdup", "dup_pkg:register", duplicate, FakeDist("dup-pkg", "2.0")),
        FakeEntryPoint("noimport", "missing_pkg:register", ImportError("No module named missing_pkg")),
    ])
    status = {p.name: p for p in reg.plugins}
    assert status["good-pkg"].status == "loaded" and status["good-pkg"].version == "1.2"
    assert status["broken-pkg"].status == "failed" and "boom" in status["broken-pkg"].error
    assert "half" not in reg.loaders  # a failing plugin leaves nothing behind
    assert status["dup-pkg"].status == "failed"
    assert "good-pkg" in status["dup-pkg"].error and "dup-pkg" in status["dup-pkg"].error
    assert status["noimport"].status == "failed"
    assert reg.loaders["good"].name == "Good"


def test_find_loader_picks_highest_score_and_ignores_raising_sniffers():
    reg = Registry()
    reg.add(LoaderSpec(id="a", name="A", sniff=lambda p: 0.2, open=lambda p: "a"))
    reg.add(LoaderSpec(id="b", name="B", sniff=lambda p: 1 / 0, open=lambda p: "b"))
    reg.add(LoaderSpec(id="c", name="C", sniff=lambda p: 0.7, open=lambda p: "c"))
    assert reg.find_loader(Path("x")).id == "c"


def test_lazy_import_string_resolves():
    reg = Registry()
    reg.add(LoaderSpec(id="j", name="J", sniff="os.path:isdir", open="json:loads"))
    assert reg.loaders["j"].score(Path(".")) == 1.0


def test_duplicate_add_raises_naming_both():
    reg = Registry()
    reg.load_plugin("first", lambda r: r.add_computation(id="x", name="X", func=print))
    with pytest.raises(RegistryError, match="first"):
        reg.add(ComputationSpec(id="x", name="X2", func=print, plugin="second"))


def test_param_parsing():
    spec = ComputationSpec(id="v", name="V", func=print, params=(
        ParamSpec("voxel", "float", 0.4, minimum=0.0),
        ParamSpec("mode", "choice", "a", choices=("a", "b")),
        ParamSpec("flag", "bool", False),
    ))
    assert spec.parse_params(["voxel=0.2", "mode=b", "flag=yes"]) == {"voxel": 0.2, "mode": "b", "flag": True}
    with pytest.raises(ValueError, match="unknown parameter"):
        spec.parse_params(["nope=1"])
    with pytest.raises(ValueError):
        spec.parse_params(["voxel=-1"])
    with pytest.raises(ValueError):
        spec.parse_params(["mode=c"])


def test_builtins_are_registered_through_entry_points():
    reg = Registry()
    reg.discover()
    assert "extremeocc" in reg.loaders and "files" in reg.loaders
    assert any(p.status == "loaded" and "loader:extremeocc" in p.contributions for p in reg.plugins)
