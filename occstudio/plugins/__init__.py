"""occstudio's plugin API (version :data:`API_VERSION`).

A plugin is a distribution that declares an entry point in the group ``occstudio.plugins``
pointing at a ``register(registry)`` function. ``register`` adds specs to the
:class:`Registry`: loaders, computations, exporters, video sources and GUI docks. occstudio's own
formats register the same way (``occstudio.builtins:register``).

Heavy modules load lazily: every callable in a spec may be given as an import string
``"package.module:function"`` that is imported on first use.
"""

from occstudio.plugins.registry import (
    API_VERSION,
    ComputationSpec,
    DockSpec,
    ExporterSpec,
    LoaderSpec,
    ParamSpec,
    PluginInfo,
    Registry,
    RegistryError,
    VideoSourceSpec,
    get_registry,
    reset_registry,
)

__all__ = [
    "API_VERSION",
    "ComputationSpec",
    "DockSpec",
    "ExporterSpec",
    "LoaderSpec",
    "ParamSpec",
    "PluginInfo",
    "Registry",
    "RegistryError",
    "VideoSourceSpec",
    "get_registry",
    "reset_registry",
]
