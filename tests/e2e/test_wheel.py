"""The wheel: ``python -m build`` packs the code, the entry points and resources/ (icons and
the demo dataset), and the installed wheel opens its own demo with ``occstudio info``.

Building takes a while (isolated build environments), so the end-to-end test runs only
with ``OCCSTUDIO_SLOW_TESTS=1``. The wheel is installed with ``--no-deps`` into a fresh
virtual environment whose only other entry on ``sys.path`` is the project environment's
site-packages (for numpy, PySide6, ...): the ``occstudio`` package, its resources and its
console script all come from the wheel, since the project's editable install hook is
not activated there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SLOW = os.environ.get("OCCSTUDIO_SLOW_TESTS") == "1"

# what a source copy for building leaves out: at the top level, virtual environments, build
# outputs and folders the wheel does not use; anywhere, caches and egg-info
_TOP_LEVEL_SKIP = {".git", ".venv", "build", "dist", "plugins", "benchmarks", "tests", ".gl", ".whl"}
_ANYWHERE_SKIP = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", ".import_linter_cache")


def _ignore(folder: str, names: list[str]) -> set[str]:
    skipped = set(_ANYWHERE_SKIP(folder, names))
    if Path(folder).resolve() == REPO:
        skipped |= _TOP_LEVEL_SKIP & set(names)
    return skipped


def _run(cmd: list[str], cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _packages_setting() -> object:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        pytest.skip("tomllib needs Python 3.11")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    return config.get("tool", {}).get("setuptools", {}).get("packages")


def test_explicit_package_list_is_complete():
    """When pyproject lists packages explicitly (to map resources/ into the wheel), every
    occstudio package in the tree must be listed or it would silently miss from the wheel."""
    packages = _packages_setting()
    if not isinstance(packages, list):
        pytest.skip("pyproject discovers packages automatically")
    in_tree = {
        ".".join(p.parent.relative_to(REPO).parts)
        for p in (REPO / "occstudio").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    missing = sorted(in_tree - set(packages))
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.skipif(not SLOW, reason="builds a wheel (slow): set OCCSTUDIO_SLOW_TESTS=1")
def test_wheel_contains_resources_and_opens_its_demo(tmp_path):
    pytest.importorskip("build", reason="pip install build")
    if not (REPO / "resources" / "demo" / "manifest.json").is_file():
        pytest.skip("demo dataset not generated (python resources/make_demo.py)")

    # 1. build sdist and wheel (from the sdist) out of a clean copy of the source tree
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=_ignore)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(src)])
    wheels = sorted(dist.glob("occstudio-*.whl"))
    assert len(wheels) == 1, sorted(p.name for p in dist.iterdir())

    with zipfile.ZipFile(wheels[0]) as whl:
        names = set(whl.namelist())
        entry_points = next(whl.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "occstudio/cli.py" in names
    assert "occstudio/resources/icons/occstudio.png" in names
    assert "occstudio/resources/demo/manifest.json" in names
    demo_files = {
        str(p.relative_to(REPO / "resources")).replace(os.sep, "/")
        for p in (REPO / "resources" / "demo").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    missing = sorted(f for f in demo_files if f"occstudio/resources/{f}" not in names)
    assert not missing, f"demo files not in the wheel: {missing[:10]}"
    assert "occstudio = occstudio.cli:main" in entry_points
    assert "builtins = occstudio.builtins:register" in entry_points

    # 2. a fresh venv that sees the project's dependencies but not its editable occstudio
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    vpy = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = Path(_run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_occstudio_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(vpy), "install", "-q", "--no-deps", str(wheels[0])])

    where = _run([str(vpy), "-c", "import occstudio; print(occstudio.__file__)"], cwd=tmp_path).stdout.strip()
    assert Path(where).resolve().is_relative_to(site.resolve()), where
    installed_demo = site / "occstudio" / "resources" / "demo"
    assert (installed_demo / "manifest.json").is_file()

    # 3. the installed console script opens the installed demo like the source one
    script = venv / ("Scripts/occstudio.exe" if os.name == "nt" else "bin/occstudio")
    installed = json.loads(_run([str(script), "info", str(installed_demo), "--json"], cwd=tmp_path).stdout)
    source = json.loads(_run([sys.executable, "-m", "occstudio.cli", "info", str(REPO / "resources" / "demo"), "--json"]).stdout)
    assert installed["format"] == source["format"] == "extremeocc"
    assert installed["n_samples"] == source["n_samples"] > 0
    assert [(s["id"], s["fields"], s["missing"]) for s in installed["samples"]] == [
        (s["id"], s["fields"], s["missing"]) for s in source["samples"]
    ]
    assert all(not s["missing"] for s in installed["samples"]), "the installed demo references files not in the wheel"

    # 4. where the code looks for resources (once occstudio.paths exists)
    probe = "import importlib.util as u; print(u.find_spec('occstudio.paths') is not None)"
    if _run([str(vpy), "-c", probe], cwd=tmp_path).stdout.strip() == "True":
        found = _run([str(vpy), "-c", "from occstudio.paths import resources_dir; print(resources_dir())"], cwd=tmp_path)
        assert Path(found.stdout.strip()).resolve() == (site / "occstudio" / "resources").resolve()
