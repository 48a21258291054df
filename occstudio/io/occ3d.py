"""Occ3D-nuScenes ground truth and predictions (formats.md §2).

Layouts recognised
------------------
* one ``labels.npz`` (keys ``semantics``, ``mask_lidar``, ``mask_camera``, uint8 200×200×16);
* a folder holding ``gts/<scene>/<token>/labels.npz`` (the challenge layout, usually with
  ``annotations.json`` beside ``gts/``), the ``gts`` folder itself, or any folder holding
  ``<token>/labels.npz`` or ``<scene>/<token>/labels.npz``;
* a folder of predictions ``<token>.npz`` (key ``arr_0``, or ``semantics``).

Opening is lazy: :func:`open_occ3d` lists files and reads ``annotations.json`` only; the
arrays are read on demand with :func:`read_labels_npz` / :func:`read_prediction_npz`.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from occstudio.core.dataset import Dataset
from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.geometry import GridSpec, pose_from_quaternion
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.sample import Sample
from occstudio.io.jsonio import read_json
from occstudio.io.npz import open_npz, read_member

#: Shape of every Occ3D-nuScenes array (x, y, z).
OCC3D_SHAPE = (200, 200, 16)
#: Keys of a ground-truth ``labels.npz``.
LABEL_KEYS = ("semantics", "mask_lidar", "mask_camera")
#: Keys accepted for a prediction, in order of preference.
PREDICTION_KEYS = ("arr_0", "semantics")

_TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
def read_labels_npz(path: str | Path, keys: Sequence[str] = LABEL_KEYS) -> dict[str, np.ndarray]:
    """Read an Occ3D ground-truth ``labels.npz``.

    Parameters
    ----------
    path
        The ``labels.npz`` file.
    keys
        The arrays to read (all three by default); e.g. ``("semantics", "mask_camera")``
        for the challenge metrics, which skips decompressing ``mask_lidar``.

    Returns
    -------
    dict
        ``semantics``, ``mask_lidar`` and ``mask_camera`` (those asked for), each uint8
        (200, 200, 16).

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        Not a zip archive, truncated/corrupt member, missing key, wrong shape or dtype.
    """
    path = Path(path)
    unknown = [k for k in keys if k not in LABEL_KEYS]
    if unknown:
        raise ValueError(f"unknown Occ3D label key(s) {unknown} (known: {', '.join(LABEL_KEYS)})")
    data = open_npz(path)
    with data:
        missing = [k for k in keys if k not in data.files]
        if missing:
            raise DataError(
                path,
                f"missing key(s) {', '.join(missing)} (found: {', '.join(data.files) or 'none'})",
            )
        out: dict[str, np.ndarray] = {}
        for key in keys:
            arr = read_member(data, path, key)
            if arr.shape != OCC3D_SHAPE:
                raise DataError(path, f"{key!r} has shape {arr.shape}, expected {OCC3D_SHAPE}")
            if arr.dtype != np.uint8:
                raise DataError(path, f"{key!r} has dtype {arr.dtype}, expected uint8")
            out[key] = arr
    return out


def read_prediction_npz(path: str | Path) -> np.ndarray:
    """Read an Occ3D prediction ``<token>.npz`` (key ``arr_0``, or ``semantics``).

    Integer arrays of another dtype are accepted when their values fit in 0..255 and
    are returned as uint8.

    Raises
    ------
    MissingFileError
        The file does not exist.
    DataError
        Not an archive, no ``arr_0``/``semantics`` key, wrong shape, or non-integer data.
    """
    path = Path(path)
    data = open_npz(path)
    with data:
        key = next((k for k in PREDICTION_KEYS if k in data.files), None)
        if key is None:
            raise DataError(
                path,
                f"no prediction array: expected key 'arr_0' or 'semantics' "
                f"(found: {', '.join(data.files) or 'none'})",
            )
        arr = read_member(data, path, key)
    if arr.shape != OCC3D_SHAPE:
        raise DataError(path, f"{key!r} has shape {arr.shape}, expected {OCC3D_SHAPE}")
    if arr.dtype == np.uint8:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise DataError(path, f"{key!r} has dtype {arr.dtype}, expected integer labels (uint8)")
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise DataError(path, f"{key!r} has labels outside 0..255")
    return arr.astype(np.uint8)


# sniffing ---------------------------------------------------------------------------


def _first(iterator: Any) -> Any:
    return next(iter(iterator), None)


_SNIFF_DIRS = 64  # sub-folders looked at per level: sniffing stays cheap on big folders


def _subdirs(folder: Path, limit: int) -> list[Path]:
    out: list[Path] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir():
                out.append(Path(entry.path))
                if len(out) >= limit:
                    break
    return out


def _has_labels_below(folder: Path) -> bool:
    """Whether ``*/labels.npz`` or ``*/*/labels.npz`` exists (a bounded look)."""
    level1 = _subdirs(folder, _SNIFF_DIRS)
    if any((d / "labels.npz").is_file() for d in level1):
        return True
    for d in level1[:4]:
        if any((dd / "labels.npz").is_file() for dd in _subdirs(d, _SNIFF_DIRS)):
            return True
    return False


def _looks_like_prediction(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return bool({"arr_0.npy", "semantics.npy"} & names) and "mask_camera.npy" not in names


def _prediction_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.npz") if p.is_file())


def sniff(path: str | Path) -> float:
    """Confidence that ``path`` is Occ3D data: 0.9 for a clear match, else 0. Never raises."""
    try:
        path = Path(path)
        if path.is_file():
            if path.name == "labels.npz":
                return 0.9
            if path.suffix == ".npz" and _TOKEN_RE.match(path.stem) and _looks_like_prediction(path):
                return 0.9
            return 0.0
        if not path.is_dir():
            return 0.0
        if (path / "gts").is_dir() or _has_labels_below(path):
            return 0.9
        first = _first(p for p in path.glob("*.npz") if _TOKEN_RE.match(p.stem))
        if first is not None and _looks_like_prediction(first):
            return 0.9
        return 0.0
    except Exception:  # a sniffer must never raise
        return 0.0


# opening ----------------------------------------------------------------------------


def _find_annotations(root: Path) -> Path | None:
    candidates = [root / "annotations.json"]
    if root.name == "gts":
        candidates.append(root.parent / "annotations.json")
    if (root / "gts").is_dir():
        candidates.append(root / "gts" / "annotations.json")
    return next((c for c in candidates if c.is_file()), None)


def _matrix(value: Any, shape: tuple[int, int], what: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.shape != shape or not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be a finite {shape[0]}×{shape[1]} matrix")
    return arr


def _pose(value: Any, what: str) -> np.ndarray:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object with translation and rotation")
    return pose_from_quaternion(value["translation"], value["rotation"])


def _parse_cameras(info: dict[str, Any], base: Path, where: str, warnings: list[str]) -> dict[str, Any]:
    """Camera infos of one frame (malformed cameras become warnings)."""
    cameras: dict[str, Any] = {}
    sensors = info.get("camera_sensor", {})
    if not isinstance(sensors, dict):
        warnings.append(f"{where}: 'camera_sensor' is not an object; cameras ignored")
        return cameras
    for name, cam in sensors.items():
        try:
            if not isinstance(cam, dict):
                raise ValueError("not an object")
            entry: dict[str, Any] = {"name": str(name)}
            if "img_path" in cam:
                entry["img_path"] = base / str(cam["img_path"])
            entry["intrinsic"] = _matrix(cam["intrinsic"], (3, 3), "intrinsic")
            entry["T_ego_from_cam"] = _pose(cam["extrinsic"], "extrinsic")
            if "ego_pose" in cam:
                entry["T_global_from_ego"] = _pose(cam["ego_pose"], "ego_pose")
            entry["raw"] = cam
            cameras[str(name)] = entry
        except (KeyError, TypeError, ValueError) as exc:
            problem = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            warnings.append(f"{where}: camera {name!r} ignored ({problem})")
    return cameras


def _read_annotations(path: Path, warnings: list[str]) -> tuple[dict[str, Any], list[tuple[str, str, dict[str, Any]]]]:
    """Splits and the ``(scene, token, info)`` list of ``annotations.json`` in file order."""
    try:
        doc = read_json(path)
    except DataError as exc:
        warnings.append(f"annotations ignored: {exc}")
        return {}, []
    if not isinstance(doc, dict):
        warnings.append(f"{path.name}: expected a JSON object; annotations ignored")
        return {}, []
    splits = {k: doc[k] for k in ("train_split", "val_split") if isinstance(doc.get(k), list)}
    scene_infos = doc.get("scene_infos", {})
    frames: list[tuple[str, str, dict[str, Any]]] = []
    if not isinstance(scene_infos, dict):
        warnings.append(f"{path.name}: 'scene_infos' is not an object; annotations ignored")
        return splits, frames
    for scene, infos in scene_infos.items():
        if not isinstance(infos, dict):
            warnings.append(f"{path.name}: scene {scene!r} is not an object; ignored")
            continue
        for token, info in infos.items():
            if not isinstance(info, dict):
                warnings.append(f"{path.name}: frame {scene}/{token} is not an object; ignored")
                continue
            frames.append((str(scene), str(token), info))
    return splits, frames


def _scan_labels(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    base = root / "gts" if (root / "gts").is_dir() else root
    found = set(base.glob("*/labels.npz")) | set(base.glob("*/*/labels.npz"))
    return sorted(found)


def _id_of(labels: Path, base: Path) -> tuple[str, str | None, str]:
    """``(id, scene, token)`` of a ``labels.npz`` relative to the folder scanned."""
    folder = labels.parent
    token = folder.name
    try:
        rel = folder.relative_to(base)
        parts = rel.parts
    except ValueError:
        parts = (token,)
    if len(parts) >= 2:
        return f"{parts[-2]}/{token}", parts[-2], token
    if folder.parent.parent.name == "gts":  # a single labels.npz inside gts/<scene>/<token>/
        scene = folder.parent.name
        return f"{scene}/{token}", scene, token
    return token, None, token


def open_occ3d(path: str | Path, progress: Progress | None = None) -> Dataset:
    """Open Occ3D-nuScenes ground truth (or a folder of predictions) lazily.

    Parameters
    ----------
    path
        A ``labels.npz``, a folder with ``gts/``, a ``gts`` folder, a folder of
        ``<token>/labels.npz`` or ``<scene>/<token>/labels.npz``, or a folder of
        ``<token>.npz`` predictions.
    progress
        Optional progress / cancellation.

    Returns
    -------
    Dataset
        Format ``"occ3d"``. One sample per ``labels.npz`` with id ``"<scene>/<token>"``
        (or ``"<token>"`` when there is no scene folder) and ``paths["labels"]``; for a
        prediction folder one sample per ``.npz`` with ``paths["prediction"]``.
        With an ``annotations.json`` (at the root or beside ``gts/``) samples follow its
        scene/frame order and ``meta`` holds ``scene``, ``token``, ``index`` (frame index
        in its scene), ``prev``, ``next``, ``timestamp``, ``T_global_from_ego`` and
        ``cameras`` (name -> ``img_path``, ``intrinsic`` 3×3, ``T_ego_from_cam`` 4×4,
        ``T_global_from_ego`` 4×4, ``raw``). Malformed entries become warnings.
        ``Dataset.meta["sequence"]`` is true when a scene has several frames.

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    DataError
        ``path`` holds no Occ3D files.
    """
    path = Path(path)
    progress = ensure_progress(progress)
    if not path.exists():
        raise MissingFileError(path, "file or folder")
    progress.start(None, "Listing Occ3D files")
    root = path.parent if path.is_file() else path
    dataset = Dataset(format="occ3d", source=path, root=root)
    dataset.meta["grid"] = GridSpec.occ3d()
    dataset.meta["labelset"] = "occ3d"

    labels = [] if path.is_file() and path.name != "labels.npz" else _scan_labels(path)
    if not labels:
        preds = [path] if path.is_file() else _prediction_files(path)
        if not preds:
            raise DataError(path, "no Occ3D labels.npz or <token>.npz predictions found")
        dataset.meta["kind"] = "predictions"
        for p in preds:
            dataset.samples.append(Sample(id=p.stem, paths={"prediction": p}, meta={"token": p.stem}))
        progress.update(len(preds), len(preds), "Listed Occ3D predictions")
        return dataset

    dataset.meta["kind"] = "ground_truth"
    base = root / "gts" if (root / "gts").is_dir() else root
    by_token: dict[str, Sample] = {}
    order: list[Sample] = []
    for i, lab in enumerate(labels):
        sid, scene, token = _id_of(lab, base)
        sample = Sample(id=sid, paths={"labels": lab}, meta={"scene": scene, "token": token})
        if token in by_token:
            dataset.warnings.append(f"token {token} appears twice ({by_token[token].id} and {sid})")
        else:
            by_token[token] = sample
        order.append(sample)
        if i % 256 == 0:
            progress.check()

    ann_root = root
    if path.is_file():
        # a single labels.npz: look for annotations next to an enclosing gts/ folder
        for parent in path.parents:
            if parent.name == "gts":
                ann_root = parent
                break
    ann_path = _find_annotations(ann_root)
    if ann_path is not None:
        dataset.meta["annotations"] = ann_path
        order = _apply_annotations(ann_path, order, by_token, dataset)
    dataset.samples = order
    scenes = Counter(s.meta["scene"] for s in order if s.meta.get("scene"))
    # scenes of several frames play as a sequence (timeline; frames in annotation order)
    dataset.meta["sequence"] = any(n > 1 for n in scenes.values())
    progress.update(len(order), len(order), "Listed Occ3D samples")
    return dataset


def _apply_annotations(
    ann_path: Path, order: list[Sample], by_token: dict[str, Sample], dataset: Dataset
) -> list[Sample]:
    """Order samples as in ``annotations.json`` and attach its metadata."""
    splits, frames = _read_annotations(ann_path, dataset.warnings)
    dataset.meta.update(splits)
    base = ann_path.parent
    ordered: list[Sample] = []
    seen: set[int] = set()
    scene_index: dict[str, int] = {}
    absent = 0
    for scene, token, info in frames:
        index = scene_index.get(scene, 0)
        scene_index[scene] = index + 1
        sample = by_token.get(token)
        if sample is None:
            absent += 1
            continue
        where = f"{ann_path.name}: {scene}/{token}"
        meta = sample.meta
        if meta.get("scene") is None:
            meta["scene"] = scene
            sample.id = f"{scene}/{token}"
        elif meta["scene"] != scene:
            dataset.warnings.append(f"{where}: listed under scene {scene!r} but found in {meta['scene']!r}")
        meta["index"] = index
        meta["prev"] = str(info.get("prev") or "") or None
        meta["next"] = str(info.get("next") or "") or None
        if "timestamp" in info:
            meta["timestamp"] = info["timestamp"]
        if "ego_pose" in info:
            try:
                meta["T_global_from_ego"] = _pose(info["ego_pose"], "ego_pose")
            except (KeyError, TypeError, ValueError) as exc:
                dataset.warnings.append(f"{where}: ego_pose ignored ({exc})")
        cameras = _parse_cameras(info, base, where, dataset.warnings)
        if cameras:
            meta["cameras"] = cameras
            images = [c["img_path"] for c in cameras.values() if "img_path" in c and c["img_path"].is_file()]
            if images:
                sample.paths["images"] = images
        if id(sample) not in seen:
            seen.add(id(sample))
            ordered.append(sample)
    if absent:
        dataset.warnings.append(f"{ann_path.name}: {absent} annotated frame(s) have no labels.npz")
    rest = [s for s in order if id(s) not in seen]
    if rest and frames:
        dataset.warnings.append(f"{len(rest)} labels.npz file(s) are not listed in {ann_path.name}")
    return ordered + rest


def load_sample_arrays(sample: Sample) -> dict[str, np.ndarray]:
    """The arrays of an Occ3D sample: ground-truth keys and/or ``prediction``."""
    out: dict[str, np.ndarray] = {}
    labels = sample.path("labels")
    if labels is not None:
        out.update(read_labels_npz(labels))
    pred = sample.path("prediction")
    if pred is not None:
        out["prediction"] = read_prediction_npz(pred)
    return out
