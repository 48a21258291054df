"""occstudio's own loaders, computations and exporters, registered like any plugin.

Every callable is given as an import string so that nothing heavy loads at discovery.
"""

from __future__ import annotations

from occstudio.plugins.registry import Registry


def register(registry: Registry) -> None:
    """Add occstudio's built-in specs to ``registry``."""
    registry.add_loader(
        id="extremeocc",
        name="ExtremeOcc-3D manifest",
        sniff="occstudio.io.extremeocc:sniff",
        open="occstudio.io.extremeocc:open_manifest",
        patterns=("*.json", "*.jsonl"),
    )
    registry.add_loader(
        id="files",
        name="Single image, mesh or point cloud",
        sniff="occstudio.io.files:sniff",
        open="occstudio.io.files:open_file",
        patterns=("*.png", "*.jpg", "*.jpeg", "*.ply", "*.obj", "*.glb", "*.npy", "*.bin"),
    )
    registry.add_loader(
        id="occ3d",
        name="Occ3D-nuScenes ground truth / predictions",
        sniff="occstudio.io.occ3d:sniff",
        open="occstudio.io.occ3d:open_occ3d",
        patterns=("labels.npz", "*.npz"),
    )
    registry.add_loader(
        id="occgen",
        name="OccGen / LeRobot trajectory",
        sniff="occstudio.io.occgen:sniff",
        open="occstudio.io.occgen:open_trajectory",
        patterns=("info.json", "*.parquet"),
    )
    registry.add_loader(
        id="unscenes3d",
        name="UnScenes3D folder",
        sniff="occstudio.io.unscenes:sniff",
        open="occstudio.io.unscenes:open_unscenes",
        patterns=("*.json",),
    )
    registry.add_loader(
        id="amodal",
        name="Open-world amodal completion (inputs / outputs)",
        sniff="occstudio.io.amodal:sniff",
        open="occstudio.io.amodal:open_amodal",
        patterns=("*.json",),
    )
    registry.add_loader(
        id="amodal3r",
        name="Amodal3R example views",
        sniff="occstudio.io.amodal:sniff_amodal3r",
        open="occstudio.io.amodal:open_amodal3r",
        patterns=("*.png",),
    )
    registry.add_video_source(
        id="occupancy",
        name="Occupancy videos (voxels, errors, world, camera image)",
        formats=("occ3d", "occgen", "unscenes3d"),
        func="occstudio.builtins.occupancy_video:occupancy_clips",
    )
