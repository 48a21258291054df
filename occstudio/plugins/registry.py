"""The plugin registry and entry-point discovery with isolation.

A broken plugin (import error, exception in ``register``, duplicate id) is recorded in
:attr:`Registry.plugins` with its error and never stops the application.
"""

from __future__ import annotations

import importlib
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from occstudio.core.errors import OccStudioError

API_VERSION = "1.0"
ENTRY_POINT_GROUP = "occstudio.plugins"


class RegistryError(OccStudioError):
    """A spec could not be registered (e.g. its id is taken)."""


def resolve(target: Any) -> Any:
    """Return ``target``, importing it first when it is a ``"module:attr"`` string."""
    if isinstance(target, str):
        module_name, _, attr = target.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in attr.split(".") if attr else []:
            obj = getattr(obj, part)
        return obj
    return target


@dataclass
class ParamSpec:
    """One parameter of a computation, described so the GUI builds a form and the CLI
    takes ``--param name=value``.

    Attributes
    ----------
    name, kind
        Parameter name and type: ``int``, ``float``, ``str``, ``bool``, ``choice``, ``path``.
    default
        Default value.
    choices
        Allowed values for ``choice``.
    minimum, maximum
        Bounds for numbers.
    help
        A tooltip / ``--help`` line.
    """

    name: str
    kind: Literal["int", "float", "str", "bool", "choice", "path"] = "float"
    default: Any = None
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""

    def parse(self, text: str) -> Any:
        """Convert a command-line string to this parameter's type (``ValueError`` if bad)."""
        if self.kind == "int":
            value: Any = int(text)
        elif self.kind == "float":
            value = float(text)
        elif self.kind == "bool":
            low = text.strip().lower()
            if low not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                raise ValueError(f"{self.name}: expected true/false, got {text!r}")
            value = low in {"1", "true", "yes", "on"}
        else:
            value = text
        if self.kind == "choice" and value not in self.choices:
            raise ValueError(f"{self.name}: expected one of {', '.join(map(str, self.choices))}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{self.name}: must be >= {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{self.name}: must be <= {self.maximum}")
        return value


@dataclass
class LoaderSpec:
    """A dataset format.

    Attributes
    ----------
    id, name
        Unique id (``extremeocc``) and display name.
    sniff
        ``sniff(path) -> float``: confidence in [0, 1] that this loader reads ``path``
        (callable or import string). Must be cheap and must not raise.
    open
        ``open(path, progress=None) -> Dataset`` (callable or import string).
    patterns
        File-dialog patterns (``*.json``), for display.
    """

    id: str
    name: str
    sniff: Callable[[Path], float] | str
    open: Callable[..., Any] | str
    patterns: tuple[str, ...] = ()
    plugin: str = ""

    def score(self, path: Path) -> float:
        """This loader's confidence for ``path`` (0 when its sniffer fails)."""
        try:
            return float(resolve(self.sniff)(path))
        except Exception:  # a sniffer must never break opening
            return 0.0


@dataclass
class ComputationSpec:
    """A computation the GUI offers in its Compute menu and the CLI runs.

    ``func(inputs..., progress=None, **params)``.
    """

    id: str
    name: str
    func: Callable[..., Any] | str
    params: tuple[ParamSpec, ...] = ()
    description: str = ""
    plugin: str = ""

    def parse_params(self, pairs: Iterable[str]) -> dict[str, Any]:
        """Parse ``k=v`` strings against :attr:`params` (``ValueError`` for bad ones)."""
        by_name = {p.name: p for p in self.params}
        values = {p.name: p.default for p in self.params}
        for pair in pairs:
            key, sep, text = pair.partition("=")
            if not sep or key not in by_name:
                known = ", ".join(by_name) or "none"
                raise ValueError(f"unknown parameter {key!r} for {self.id} (known: {known})")
            values[key] = by_name[key].parse(text)
        return values


@dataclass
class ExporterSpec:
    """A writer of layers or datasets: ``func(obj, path, progress=None, **options)``."""

    id: str
    name: str
    func: Callable[..., Any] | str
    extensions: tuple[str, ...] = ()
    accepts: tuple[str, ...] = ()
    plugin: str = ""


@dataclass
class VideoSourceSpec:
    """What comparison videos show for datasets of some formats.

    ``func(dataset, samples, layout, *, predictions, frames, playback, metrics)`` returns
    the video's clips (:class:`occstudio.render.clips.Clip`): with ``playback`` one clip
    playing ``samples`` one per frame, else one turntable clip of ``frames`` frames per
    sample. Formats without a source are shown as meshes (GT and prediction files).
    """

    id: str
    name: str
    formats: tuple[str, ...]
    func: Callable[..., Any] | str
    plugin: str = ""


@dataclass
class DockSpec:
    """A GUI dock widget: ``factory(window) -> QWidget`` (import string keeps Qt lazy)."""

    id: str
    name: str
    factory: Callable[..., Any] | str
    area: Literal["left", "right", "bottom"] = "right"
    plugin: str = ""


@dataclass
class PluginInfo:
    """What discovery learnt about one plugin (listed in Help > Plugins)."""

    name: str
    version: str = ""
    status: Literal["loaded", "failed"] = "loaded"
    error: str = ""
    contributions: list[str] = field(default_factory=list)


_KINDS = {
    LoaderSpec: "loaders",
    ComputationSpec: "computations",
    ExporterSpec: "exporters",
    DockSpec: "docks",
    VideoSourceSpec: "video_sources",
}


class Registry:
    """Holds every registered spec, keyed by kind and id."""

    api_version = API_VERSION

    def __init__(self) -> None:
        self.loaders: dict[str, LoaderSpec] = {}
        self.computations: dict[str, ComputationSpec] = {}
        self.exporters: dict[str, ExporterSpec] = {}
        self.docks: dict[str, DockSpec] = {}
        self.video_sources: dict[str, VideoSourceSpec] = {}
        self.plugins: list[PluginInfo] = []
        self._current_plugin = ""

    def add(self, spec: LoaderSpec | ComputationSpec | ExporterSpec | DockSpec | VideoSourceSpec) -> None:
        """Register ``spec``; raises :class:`RegistryError` when its id is taken."""
        kind = _KINDS.get(type(spec))
        if kind is None:
            raise RegistryError(f"unknown spec type {type(spec).__name__}")
        table: dict[str, Any] = getattr(self, kind)
        if not spec.plugin:
            spec.plugin = self._current_plugin
        if spec.id in table:
            other = table[spec.id]
            raise RegistryError(
                f"duplicate {kind[:-1]} id {spec.id!r}: registered by plugin "
                f"{other.plugin or '?'!r} and again by plugin {spec.plugin or '?'!r}"
            )
        table[spec.id] = spec

    # convenience wrappers used by register() functions
    def add_loader(self, **kw: Any) -> LoaderSpec:
        """Register a :class:`LoaderSpec` built from keyword arguments."""
        spec = LoaderSpec(**kw)
        self.add(spec)
        return spec

    def add_computation(self, **kw: Any) -> ComputationSpec:
        """Register a :class:`ComputationSpec` built from keyword arguments."""
        spec = ComputationSpec(**kw)
        self.add(spec)
        return spec

    def add_exporter(self, **kw: Any) -> ExporterSpec:
        """Register an :class:`ExporterSpec` built from keyword arguments."""
        spec = ExporterSpec(**kw)
        self.add(spec)
        return spec

    def add_dock(self, **kw: Any) -> DockSpec:
        """Register a :class:`DockSpec` built from keyword arguments."""
        spec = DockSpec(**kw)
        self.add(spec)
        return spec

    def add_video_source(self, **kw: Any) -> VideoSourceSpec:
        """Register a :class:`VideoSourceSpec` built from keyword arguments."""
        spec = VideoSourceSpec(**kw)
        self.add(spec)
        return spec

    def load_plugin(self, name: str, register: Callable[[Registry], Any], version: str = "") -> PluginInfo:
        """Run one plugin's ``register`` in isolation: on failure nothing it added stays."""
        info = PluginInfo(name=name, version=version)
        snapshot = {kind: dict(getattr(self, kind)) for kind in _KINDS.values()}
        self._current_plugin = name
        try:
            register(self)
        except Exception as exc:  # a broken plugin is reported, never fatal
            for kind, table in snapshot.items():
                setattr(self, kind, table)
            info.status = "failed"
            info.error = f"{type(exc).__name__}: {exc}"
            info.contributions = []
            self._traceback = traceback.format_exc()
        else:
            for kind in _KINDS.values():
                before = snapshot[kind]
                info.contributions += [f"{kind[:-1]}:{k}" for k in getattr(self, kind) if k not in before]
        finally:
            self._current_plugin = ""
        self.plugins.append(info)
        return info

    def discover(self, entry_points: Iterable[Any] | None = None) -> None:
        """Load every entry point of the group ``occstudio.plugins``.

        Parameters
        ----------
        entry_points
            The entry points to load (for tests); the installed ones when ``None``.
        """
        eps = list(metadata.entry_points(group=ENTRY_POINT_GROUP)) if entry_points is None else list(entry_points)
        # occstudio's own builtins first, so third-party duplicates are the ones rejected
        eps.sort(key=lambda ep: (ep.value.split(":")[0] != "occstudio.builtins", ep.name))
        seen: set[str] = set()
        for ep in eps:
            if ep.value in seen:
                continue  # the same distribution found twice on sys.path
            seen.add(ep.value)
            dist = getattr(ep, "dist", None)
            version = getattr(dist, "version", "") if dist is not None else ""
            name = getattr(dist, "name", None) or ep.name
            try:
                register = ep.load()
            except Exception as exc:
                self.plugins.append(
                    PluginInfo(name=name, version=version, status="failed", error=f"{type(exc).__name__}: {exc}")
                )
                continue
            self.load_plugin(name, register, version)

    def find_loader(self, path: Path) -> LoaderSpec | None:
        """The loader most confident about ``path`` (``None`` when none scores above 0)."""
        best, best_score = None, 0.0
        for spec in self.loaders.values():
            score = spec.score(path)
            if score > best_score:
                best, best_score = spec, score
        return best


_registry: Registry | None = None
_lock = threading.Lock()


def get_registry() -> Registry:
    """The process-wide registry, discovering plugins on first use."""
    global _registry
    with _lock:
        if _registry is None:
            reg = Registry()
            reg.discover()
            if not any(p.name in {"occstudio", "builtins"} for p in reg.plugins) and "extremeocc" not in reg.loaders:
                # running from a source tree without installed metadata
                from importlib import import_module

                reg.load_plugin("occstudio", import_module("occstudio.builtins").register)
            _registry = reg
        return _registry


def reset_registry(registry: Registry | None = None) -> None:
    """Replace the process-wide registry (``None``: rediscover on next use). For tests."""
    global _registry
    with _lock:
        _registry = registry
