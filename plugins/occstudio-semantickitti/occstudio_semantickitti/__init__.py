"""occstudio plugin for SemanticKITTI semantic scene completion voxels.

Declared in ``pyproject.toml`` as::

    [project.entry-points."occstudio.plugins"]
    semantickitti = "occstudio_semantickitti:register"

:func:`register` adds one loader (``semantickitti``) and one computation
(``semantickitti.occupancy_stats``). Every callable is an import string, so importing
this package at start-up costs nothing: numpy and the readers load on first use.
"""

from __future__ import annotations

from occstudio.plugins.registry import ParamSpec, Registry

__version__ = "0.1.0"

#: The occstudio plugin API version this plugin was written against.
API_VERSION = "1.0"


def register(registry: Registry) -> None:
    """Add the SemanticKITTI loader and computation to ``registry``.

    Parameters
    ----------
    registry
        The registry occstudio passes in during discovery.

    Raises
    ------
    RuntimeError
        The running occstudio has an incompatible plugin API (major version differs);
        occstudio reports this in Help > Plugins and ``occstudio plugins list``.
    """
    major = str(getattr(registry, "api_version", "0")).split(".")[0]
    if major != API_VERSION.split(".")[0]:
        raise RuntimeError(
            f"occstudio-semantickitti needs occstudio plugin API {API_VERSION}, "
            f"this occstudio has {getattr(registry, 'api_version', '?')}"
        )
    registry.add_loader(
        id="semantickitti",
        name="SemanticKITTI voxels (SSC)",
        sniff="occstudio_semantickitti.voxels:sniff",
        open="occstudio_semantickitti.voxels:open_voxels",
        patterns=("*.bin", "*.label"),
    )
    registry.add_computation(
        id="semantickitti.occupancy_stats",
        name="SemanticKITTI voxel counts per class",
        func="occstudio_semantickitti.stats:occupancy_stats",
        params=(
            ParamSpec(
                "ignore_invalid",
                "bool",
                True,
                help="leave out voxels marked in <frame>.invalid (as the SSC benchmark does)",
            ),
            ParamSpec(
                "include_empty",
                "bool",
                False,
                help="also count class 0 (empty / unlabeled)",
            ),
        ),
        description="Counts the voxels of each SemanticKITTI class in one frame's .label file "
        "(occupied input voxels from the .bin when the frame has no labels).",
    )
