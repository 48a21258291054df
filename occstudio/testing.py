"""Test helpers for plugin authors: an isolated plugin registry and fake entry points.

Enable them in the ``conftest.py`` of your tests folder (or with ``pytest -p
occstudio.testing``)::

    pytest_plugins = ["occstudio.testing"]

and use them in a test::

    def test_my_loader(isolated_registry):
        isolated_registry.load_plugin("my-plugin", my_plugin.register)
        assert "my-format" in isolated_registry.loaders

What is provided
----------------
``isolated_registry`` (fixture)
    A fresh :class:`~occstudio.plugins.registry.Registry` holding occstudio's builtins
    only. While the test runs it is also the process-wide registry (so
    ``open_dataset(path)`` and ``get_registry()`` use it), and entry-point discovery
    (``Registry().discover()``) sees only the selected plugins, never the other plugins
    installed in the environment. Select what it loads with the marker
    ``@pytest.mark.occstudio_registry(builtins=False, plugins=("my-entry-point",))``:
    ``builtins`` loads occstudio's own specs (default ``True``), ``plugins`` names
    *installed* entry points of the group ``occstudio.plugins`` to load as well (to
    check a package's real entry-point declaration).
``empty_registry`` (fixture)
    The same with nothing loaded, not even occstudio's builtins.
:func:`make_isolated_registry`, :func:`registry_isolation`
    The same registry without pytest (a plain registry, and a ``with`` block that makes
    it the process-wide one).
:func:`load_plugin_for_test`
    Load one ``register`` function through the real discovery path and fail loudly
    (with the plugin's traceback) when it does not load.
:func:`fake_entry_point`
    An object that behaves like an ``importlib.metadata.EntryPoint`` for
    :meth:`Registry.discover`.

A ``pytest_plugins`` line in a test module works too, but then the
``occstudio_registry`` marker is registered only after that module is imported (pytest
warns about an unknown mark). This module imports neither Qt nor VTK.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pytest

from occstudio.plugins import registry as _registry_module
from occstudio.plugins.registry import ENTRY_POINT_GROUP, Registry, reset_registry, resolve

__all__ = [
    "FakeEntryPoint",
    "PluginLoadError",
    "builtins_entry_point",
    "empty_registry",
    "fake_entry_point",
    "installed_entry_points",
    "isolated_registry",
    "load_plugin_for_test",
    "make_isolated_registry",
    "registry_isolation",
]

#: Name of the marker that selects what ``isolated_registry`` loads.
MARKER = "occstudio_registry"

_counter = itertools.count()


class PluginLoadError(AssertionError):
    """A plugin loaded in a test did not load (the message carries its traceback)."""


@dataclass(frozen=True)
class FakeDistribution:
    """The two attributes of a distribution that discovery reads."""

    name: str
    version: str


class FakeEntryPoint:
    """Stands in for an ``importlib.metadata.EntryPoint`` of the group ``occstudio.plugins``.

    Attributes
    ----------
    name, value, group
        As in a real entry point; ``value`` is ``"module:attr"``.
    dist
        A :class:`FakeDistribution` with ``name`` and ``version``.
    """

    def __init__(self, name: str, value: str, target: Any, dist: FakeDistribution) -> None:
        self.name = name
        self.value = value
        self.group = ENTRY_POINT_GROUP
        self.dist = dist
        self._target = target

    def load(self) -> Any:
        """The ``register`` function (importing it for an import string; raising a
        given exception, to simulate a plugin that fails to import)."""
        if isinstance(self._target, BaseException):
            raise self._target
        return resolve(self._target)

    def __repr__(self) -> str:
        return f"FakeEntryPoint(name={self.name!r}, value={self.value!r}, dist={self.dist.name!r})"


def fake_entry_point(
    name: str,
    register: Callable[[Registry], Any] | str | BaseException,
    dist_name: str | None = None,
    version: str = "0.0.0",
) -> FakeEntryPoint:
    """An entry point for :meth:`Registry.discover` that needs no installed package.

    Parameters
    ----------
    name
        The entry point's name (left of ``=`` in ``pyproject.toml``).
    register
        The plugin's ``register(registry)`` function, an import string
        ``"package.module:register"`` (imported on load, like a real entry point), or an
        exception instance that ``load()`` raises (a plugin whose import fails).
    dist_name
        The distribution name reported in ``occstudio plugins list`` (default ``name``).
    version
        The distribution version.

    Returns
    -------
    FakeEntryPoint
        Pass it (in a list) to ``Registry.discover``.
    """
    if isinstance(register, str):
        value = register
    elif isinstance(register, BaseException):
        value = f"{name}:register"
    else:
        module = getattr(register, "__module__", None) or "unknown"
        qualname = getattr(register, "__qualname__", None) or "register"
        value = f"{module}:{qualname}"
        if "<" in qualname:  # lambdas and local functions: keep values unique (discovery dedups by value)
            value = f"{module}:{name}_{next(_counter)}"
    return FakeEntryPoint(name, value, register, FakeDistribution(dist_name or name, version))


def builtins_entry_point() -> FakeEntryPoint:
    """An entry point for occstudio's own builtins that does not depend on installed metadata."""
    from occstudio import __version__

    return fake_entry_point("builtins", "occstudio.builtins:register", "occstudio", __version__)


def installed_entry_points(names: Iterable[str] | None = None) -> list[Any]:
    """The installed entry points of the group ``occstudio.plugins``.

    Parameters
    ----------
    names
        Keep only entry points with these names (all when ``None``).

    Raises
    ------
    LookupError
        One of ``names`` is not installed (the message lists what is).
    """
    eps = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    if names is None:
        return eps
    wanted = list(names)
    by_name = {ep.name: ep for ep in eps}
    absent = [n for n in wanted if n not in by_name]
    if absent:
        raise LookupError(
            f"entry point(s) {', '.join(map(repr, absent))} not installed in group {ENTRY_POINT_GROUP!r} "
            f"(installed: {', '.join(sorted(by_name)) or 'none'}); did you `pip install -e` the plugin?"
        )
    return [by_name[n] for n in wanted]


def _selected_entry_points(builtins: bool, plugins: Sequence[str]) -> list[Any]:
    eps: list[Any] = [builtins_entry_point()] if builtins else []
    eps += [ep for ep in installed_entry_points(plugins) if ep.value.split(":")[0] != "occstudio.builtins"]
    return eps


def make_isolated_registry(builtins: bool = True, plugins: Sequence[str] = ()) -> Registry:
    """A fresh registry that ignores the plugins installed in the environment.

    Parameters
    ----------
    builtins
        Load occstudio's own loaders, computations and exporters.
    plugins
        Names of installed entry points (group ``occstudio.plugins``) to load as well.

    Returns
    -------
    Registry
        Not installed as the process-wide registry (the fixture does that).
    """
    reg = Registry()
    reg.discover(_selected_entry_points(builtins, plugins))
    return reg


def load_plugin_for_test(
    register_func: Callable[[Registry], Any] | str,
    name: str = "test-plugin",
    *,
    builtins: bool = True,
    version: str = "0.0.0",
    strict: bool = True,
) -> Registry:
    """Load one plugin into a fresh registry through the same path discovery uses.

    Parameters
    ----------
    register_func
        The plugin's ``register(registry)`` function or its import string.
    name
        The plugin (distribution) name it is reported under.
    builtins
        Load occstudio's builtins first, so an id clashing with a builtin is caught.
    version
        The version reported for the plugin.
    strict
        Raise :class:`PluginLoadError` when the plugin fails to load (default). With
        ``False`` the failure is only recorded in ``registry.plugins``.

    Returns
    -------
    Registry
        The registry with the plugin (and the builtins) loaded.

    Raises
    ------
    PluginLoadError
        ``strict`` and the plugin failed to import or to register.
    """
    eps: list[Any] = [builtins_entry_point()] if builtins else []
    eps.append(fake_entry_point(name, register_func, name, version))
    reg = Registry()
    reg.discover(eps)
    if strict:
        info = next((p for p in reg.plugins if p.name == name), None)
        if info is None or info.status != "loaded":
            error = info.error if info is not None else "not loaded"
            tb = getattr(reg, "_traceback", "")
            raise PluginLoadError(f"plugin {name!r} failed to load: {error}" + (f"\n{tb}" if tb else ""))
    return reg


class _IsolatedMetadata:
    """Replaces ``importlib.metadata`` inside the registry module: discovery sees only
    the given entry points."""

    def __init__(self, eps: list[Any]) -> None:
        self._eps = eps

    def entry_points(self, *, group: str | None = None, **_: Any) -> list[Any]:
        return list(self._eps) if group in (None, ENTRY_POINT_GROUP) else []


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``occstudio_registry`` marker."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(builtins=True, plugins=()): what the isolated_registry fixture loads "
        "(occstudio's builtins; names of installed occstudio.plugins entry points)",
    )


@contextmanager
def registry_isolation(builtins: bool = True, plugins: Sequence[str] = ()) -> Iterator[Registry]:
    """Within the ``with`` block, a fresh registry is the process-wide one and discovery
    sees only the selected entry points; both are restored on exit.

    Parameters
    ----------
    builtins
        Load occstudio's own loaders, computations and exporters.
    plugins
        Names of installed entry points (group ``occstudio.plugins``) to load as well.

    Yields
    ------
    Registry
        The registry that :func:`~occstudio.plugins.registry.get_registry` returns
        inside the block.
    """
    eps = _selected_entry_points(builtins, plugins)
    saved_metadata = _registry_module.metadata
    previous = _registry_module._registry
    _registry_module.metadata = _IsolatedMetadata(eps)  # type: ignore[assignment]
    try:
        reg = Registry()
        reg.discover()
        reset_registry(reg)
        yield reg
    finally:
        _registry_module.metadata = saved_metadata
        reset_registry(previous)


@pytest.fixture
def isolated_registry(request: pytest.FixtureRequest) -> Iterator[Registry]:
    """A fresh registry, installed as the process-wide one for the duration of the test.

    Loads occstudio's builtins unless the test is marked
    ``@pytest.mark.occstudio_registry(builtins=False)``; ``plugins=("name", ...)`` in the
    marker loads those installed entry points too. Discovery during the test sees only
    the selected entry points; the previous process-wide registry is restored afterwards.
    """
    marker = request.node.get_closest_marker(MARKER)
    kwargs = dict(marker.kwargs) if marker is not None else {}
    unknown = set(kwargs) - {"builtins", "plugins"}
    if unknown:
        raise TypeError(f"{MARKER}: unknown argument(s) {', '.join(sorted(unknown))}")
    with registry_isolation(bool(kwargs.get("builtins", True)), tuple(kwargs.get("plugins", ()))) as reg:
        yield reg


@pytest.fixture
def empty_registry() -> Iterator[Registry]:
    """Like ``isolated_registry`` but with nothing loaded, not even occstudio's builtins."""
    with registry_isolation(builtins=False) as reg:
        yield reg
