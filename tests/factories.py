"""Small generated datasets for tests (no real data needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from occstudio.io.meshes import MeshData, write_ply


def box_mesh(center=(0.0, 0.0, 0.0), size=(1.0, 1.0, 1.0), color=(200, 80, 40)) -> MeshData:
    """A closed, coloured box as 12 triangles."""
    c, s = np.asarray(center, float), np.asarray(size, float) / 2
    v = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float) * s + c
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    colors = np.tile(np.asarray(color, np.uint8), (8, 1))
    return MeshData(vertices=v, faces=f, vertex_colors=colors)


def make_extremeocc_dataset(root: Path, n: int = 3, size: int = 48, predictions: bool = True) -> Path:
    """Write an ExtremeOcc-3D dataset with ``n`` samples under ``root``; return ``root``."""
    rng = np.random.default_rng(0)
    entries = []
    for i in range(n):
        sid = f"scene{i}/view_00"
        asset = root / "assets" / f"scene{i}" / "view_00"
        asset.mkdir(parents=True, exist_ok=True)
        img = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        Image.fromarray(img).save(asset / "rendered_scene.png")
        mask = np.zeros((size, size), np.uint8)
        mask[size // 4: size // 2, size // 4: 3 * size // 4] = 255
        Image.fromarray(mask, "L").save(asset / "occluded_mask.png")
        rgba = np.dstack([img, mask])
        Image.fromarray(rgba, "RGBA").save(asset / "rendered.png")
        gt_dir = root / "gt_assets" / f"hash{i}"
        gt_dir.mkdir(parents=True, exist_ok=True)
        for v in range(3):
            Image.fromarray(np.full((24, 24, 4), 60 * v, np.uint8), "RGBA").save(gt_dir / f"view_{v:04d}.png")
        write_ply(gt_dir / "mesh.ply", box_mesh(size=(1, 1 + i, 1)))
        prior_dir = root / "priors" / f"scene{i}" / "view_00"
        prior_dir.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((16, 16, 3), 200, np.uint8)).save(prior_dir / "prior_0.png")
        if predictions:
            pred_dir = root / "predictions" / f"scene{i}" / "view_00"
            pred_dir.mkdir(parents=True, exist_ok=True)
            write_ply(pred_dir / "mesh.ply", box_mesh(center=(0.05 * i, 0, 0), size=(1, 1 + i, 1), color=(40, 90, 200)))
        entries.append({
            "id": sid,
            "image": f"assets/scene{i}/view_00/rendered_scene.png",
            "mask": f"assets/scene{i}/view_00/occluded_mask.png",
            "obs_object_image": f"assets/scene{i}/view_00/rendered.png",
            "prior_text": ["chair", "table", "lamp"][i % 3],
            "prior_images": [f"priors/scene{i}/view_00/prior_0.png"],
            "gt_render_dir": f"gt_assets/hash{i}",
            "gt_mesh": f"gt_assets/hash{i}/mesh.ply",
        })
    (root / "manifest.json").write_text(json.dumps(entries, indent=2) + "\n")
    return root
