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


def make_occ3d_scene(root: Path, n_frames: int = 4, predictions: bool = True) -> Path:
    """An annotated Occ3D-nuScenes scene of ``n_frames`` frames (``gts/scene-0001/<token>/``).

    Each frame has a driveable surface (class 11), a car (class 4) ahead of the ego and a
    traffic cone (class 8) that the moving ego passes; the ego drives 2 m along +x per frame
    (``ego_pose`` in ``annotations.json``); ``CAM_FRONT`` has an image. With
    ``predictions``, ``predictions/<token>.npz`` (key ``arr_0``) hold the GT with the car
    shifted one voxel and the cone called a pedestrian (7): every error kind occurs.
    """
    import json

    from PIL import Image

    root = Path(root)
    (root / "imgs").mkdir(parents=True, exist_ok=True)
    if predictions:
        (root / "predictions").mkdir(exist_ok=True)
    K = [[126.6, 0.0, 80.0], [0.0, 126.6, 45.0], [0.0, 0.0, 1.0]]
    infos = {}
    tokens = [f"{i:032x}" for i in range(1, n_frames + 1)]
    for i, token in enumerate(tokens):
        sem = np.full((200, 200, 16), 17, np.uint8)
        sem[:, 80:120, 0:2] = 11  # road
        sem[125 + 2 * i:130 + 2 * i, 95:105, 2:6] = 4  # car, moving ahead with the ego
        cone_x = 140 - 5 * i  # a static cone: 2 m per frame = 5 voxels closer
        if 0 <= cone_x < 198:
            sem[cone_x:cone_x + 2, 122:124, 2:10] = 8
        mask = np.ones_like(sem)
        folder = root / "gts" / "scene-0001" / token
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / "labels.npz", semantics=sem, mask_lidar=mask, mask_camera=mask)
        if predictions:
            pred = sem.copy()
            pred[sem == 4] = 17
            pred[np.roll(sem == 4, 1, axis=0)] = 4
            pred[sem == 8] = 7
            np.savez_compressed(root / "predictions" / f"{token}.npz", arr_0=pred)
        img = np.zeros((90, 160, 3), np.uint8)
        img[:, :, 0] = np.linspace(60, 200, 160, dtype=np.uint8)[None, :]
        img[:, :, 1] = np.linspace(80, 160, 90, dtype=np.uint8)[:, None]
        img[:, :, 2] = 30 + 40 * i
        Image.fromarray(img).save(root / "imgs" / f"front_{i}.jpg")
        cameras = {"CAM_FRONT": {"img_path": f"imgs/front_{i}.jpg", "intrinsic": K,
                                 "extrinsic": {"translation": [1.7, 0.0, 1.5], "rotation": [0.5, -0.5, 0.5, -0.5]}}}
        infos[token] = {
            "camera_sensor": cameras,
            "prev": tokens[i - 1] if i else "", "next": tokens[i + 1] if i + 1 < n_frames else "",
            "timestamp": 1_000_000 * i,
            "ego_pose": {"translation": [100.0 + 2.0 * i, 50.0, 0.0], "rotation": [1.0, 0.0, 0.0, 0.0]},
            "gt_path": f"gts/scene-0001/{token}/labels.npz",
        }
    doc = {"train_split": [], "val_split": ["scene-0001"], "scene_infos": {"scene-0001": infos}}
    (root / "annotations.json").write_text(json.dumps(doc))
    return root
