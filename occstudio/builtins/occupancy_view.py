"""What the studio shows for occupancy samples (Occ3D frames, OccGen trajectory frames).

Runs on a worker thread: reads the arrays and builds detached pyvista meshes (voxel
surfaces, trajectory polyline) that the GUI thread only adds to its plotter. The
result uses the same keys as :func:`occstudio.io.sample_content.load_sample_content`
plus ``voxel_labelset``, ``voxel_classes`` (class id → voxel count) and ``layers``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from occstudio.core.compute.occupancy_errors import error_categories
from occstudio.core.dataset import Dataset, SampleCache
from occstudio.core.errors import OccStudioError
from occstudio.core.geometry import GridSpec
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.labels import ERRORS, LABEL_SETS, OCC3D, OCCGEN, UNSCENES3D, height_colormap
from occstudio.core.sample import Sample
from occstudio.io.images import read_image
from occstudio.io.occ3d import read_labels_npz, read_prediction_npz
from occstudio.io.occgen import read_depth_png, read_occ_sequence
from occstudio.io.unscenes import load_sample_arrays as load_unscenes_arrays
from occstudio.render.voxels import sparse_voxel_surface, voxel_surface

#: Formats whose samples this module shows.
OCCUPANCY_FORMATS = ("occ3d", "occgen", "unscenes3d")

VISIBILITY_FILTERS = ("all", "camera", "lidar")


def _base_content(sample: Sample) -> dict[str, Any]:
    return {
        "id": sample.id, "image": None, "mask": None, "obs_object_image": None,
        # no prior images or GT renders in occupancy formats: None hides those strips
        "prior_images": None, "prior_text": sample.text.get("task", "") or sample.text.get("prior_text", ""),
        "gt_images": None, "gt_mesh": None, "prediction_mesh": None, "prediction_path": None,
        "missing": list(sample.missing), "errors": list(sample.errors),
        "gt_poly": None, "prediction_poly": None, "voxel_labelset": None, "voxel_classes": {},
        "titles": {},
    }


def _class_counts(labels: np.ndarray, keep: np.ndarray) -> dict[int, int]:
    counts = np.bincount(labels[keep].ravel(), minlength=1)
    return {int(c): int(n) for c, n in enumerate(counts) if n}


def load_occ3d_view(
    sample: Sample,
    visibility: str = "all",
    progress: Progress | None = None,
    prediction: Path | None = None,
    error_view: bool = False,
    hidden_classes: frozenset[int] = frozenset(),
) -> dict[str, Any]:
    """Voxel surfaces of an Occ3D sample's GT and its prediction when there is one.

    With ``error_view`` (and a prediction), the right view shows the error categories
    of :mod:`occstudio.core.compute.occupancy_errors` instead of the prediction.
    """
    progress = ensure_progress(progress)
    progress.start(3, "reading labels")
    content = _base_content(sample)
    content["voxel_labelset"] = OCC3D.name
    grid = GridSpec.occ3d()
    content["grid_shape"] = tuple(grid.shape)
    arrays: dict[str, np.ndarray] = {}
    if (path := sample.path("labels")) is not None:
        arrays = read_labels_npz(path)
    pred_path = prediction if prediction is not None else sample.path("prediction")
    pred = read_prediction_npz(pred_path) if pred_path is not None else None
    progress.advance(message="building voxel surfaces")
    visible = None
    if visibility != "all" and f"mask_{visibility}" in arrays:
        visible = arrays[f"mask_{visibility}"].astype(bool)
    free = np.isin(arrays["semantics"], (17, 255)) if "semantics" in arrays else None
    if "semantics" in arrays:
        keep = ~free if visible is None else (~free & visible)
        content["voxel_classes"] = _class_counts(arrays["semantics"], keep)
        content["gt_poly"] = voxel_surface(arrays["semantics"], grid, OCC3D, visible=visible)
        content["titles"]["gt"] = "GT occupancy" + ("" if visible is None else f" ({visibility}-visible)")
    if pred is not None and error_view and "semantics" in arrays:
        shown = [c for c in range(OCC3D.n_classes) if c not in hidden_classes] if hidden_classes else None
        errors = error_categories(arrays["semantics"], pred, visible=visible, classes=shown)
        content["prediction_labelset"] = ERRORS.name
        content["prediction_poly"] = voxel_surface(errors, grid, ERRORS, visible=None)
        content["prediction_path"] = pred_path
        content["titles"]["prediction"] = "Errors"
        content["prediction_legend"] = [(name, tuple(int(v) for v in ERRORS.color_of(i)[:3]))
                                        for i, name in enumerate(ERRORS.class_names)]
        content["error_counts"] = {ERRORS.name_of(c): int(n) for c, n in enumerate(np.bincount(errors[errors != 255], minlength=4))}
    elif pred is not None:
        content["prediction_poly"] = voxel_surface(pred, grid, OCC3D, visible=visible)
        content["prediction_path"] = pred_path
        if not content["voxel_classes"]:
            content["voxel_classes"] = _class_counts(pred, ~np.isin(pred, (17, 255)))
        content["titles"]["prediction"] = "Prediction"
        if content["gt_poly"] is None:  # a prediction folder opened on its own
            content["gt_poly"], content["prediction_poly"] = content["prediction_poly"], None
            content["titles"]["gt"] = "Prediction"
    progress.advance()
    return content


def colorize_depth(depth: np.ndarray) -> np.ndarray:
    """A depth map (metres, 0 = empty) as RGB: near red, far blue, empty black."""
    valid = depth > 0
    norm = np.zeros(depth.shape, np.float32)
    if valid.any():
        lo, hi = np.percentile(depth[valid], [1, 99])
        norm[valid] = np.clip((depth[valid] - lo) / max(hi - lo, 1e-6), 0, 1)
    rgb = height_colormap(1.0 - norm, 0.0, 1.0)[..., :3]
    rgb[~valid] = 0
    return rgb


def load_unscenes_view(sample: Sample, progress: Progress | None = None) -> dict[str, Any]:
    """Camera image, projected-LiDAR depth and the semantic voxels of an UnScenes3D sample."""
    progress = ensure_progress(progress)
    progress.start(2, "reading sample")
    content = _base_content(sample)
    content["prior_text"] = sample.text.get("caption", "")
    content["voxel_labelset"] = UNSCENES3D.name
    arrays = load_unscenes_arrays(sample, ("image", "depth", "occ"), errors=content["errors"])
    content["image"] = arrays.get("image")
    if arrays.get("depth") is not None:
        content["obs_object_image"] = colorize_depth(arrays["depth"])
    content["titles"] = {"image": "Camera", "object": "Depth (near = red)"}
    progress.advance(message="building voxels")
    if arrays.get("occ") is not None:
        grid = GridSpec.unscenes()
        content["grid_shape"] = tuple(grid.shape)
        content["gt_poly"] = voxel_surface(arrays["occ"], grid, UNSCENES3D)
        content["voxel_classes"] = _class_counts(arrays["occ"], arrays["occ"] != 255)
        content["titles"]["gt"] = "Occupancy (LiDAR frame)"
    progress.advance()
    return content


def occgen_sequence(dataset: Dataset, cache: SampleCache | None = None) -> Any:
    """An OccGen trajectory's ``occ_sequence.npz`` (``None`` without one), read once per
    cache under ``("occ_sequence", path)``.

    Raises
    ------
    OccStudioError
        The file cannot be read.
    """
    path = dataset.meta.get("paths", {}).get("occ_sequence")
    if path is None:
        return None
    if cache is None:
        return read_occ_sequence(path)[0]
    return cache.get_or_load(("occ_sequence", str(path)), lambda: read_occ_sequence(path)[0])


def load_occgen_view(
    dataset: Dataset, sample: Sample, cache: SampleCache, progress: Progress | None = None
) -> dict[str, Any]:
    """RGB and depth frames plus the frame's visible occupied voxels (OccGen)."""
    progress = ensure_progress(progress)
    progress.start(3, "reading frame")
    content = _base_content(sample)
    content["voxel_labelset"] = OCCGEN.name
    if (p := sample.path("rgb")) is not None and p.is_file():
        content["image"] = read_image(p)
    if (p := sample.path("depth")) is not None and p.is_file():
        content["obs_object_image"] = colorize_depth(read_depth_png(p))
    content["titles"] = {"image": "RGB frame", "object": "Depth (near = red)"}
    progress.advance(message="building voxels")
    seq = occgen_sequence(dataset, cache)
    frame = int(sample.meta.get("index", dataset.index_of(sample.id)))
    if seq is not None and frame < seq.n_frames:
        grid: GridSpec = dataset.meta.get("grid") or GridSpec.occgen()
        content["grid_shape"] = tuple(grid.shape)
        flat = seq.frame(frame)
        content["gt_poly"] = sparse_voxel_surface(flat, grid)
        content["voxel_classes"] = {1: int(len(flat))}
        content["titles"]["gt"] = f"Occupancy, frame {frame} (camera frame)"
    elif seq is not None:
        content["errors"].append(f"occ_sequence.npz has {seq.n_frames} frames: no occupancy for frame {frame}")
    progress.advance()
    return content


def load_occupancy_content(
    dataset: Dataset,
    sample: Sample,
    cache: SampleCache,
    visibility: str = "all",
    progress: Progress | None = None,
    prediction: Path | None = None,
    error_view: bool = False,
    hidden_classes: frozenset[int] = frozenset(),
) -> dict[str, Any]:
    """The content of an occupancy sample, dispatched on the dataset's format."""
    if dataset.format == "occ3d":
        return load_occ3d_view(sample, visibility, progress, prediction, error_view, hidden_classes)
    if dataset.format == "occgen":
        return load_occgen_view(dataset, sample, cache, progress)
    if dataset.format == "unscenes3d":
        return load_unscenes_view(sample, progress)
    raise OccStudioError(f"{dataset.format}: not an occupancy format")


def labelset_named(name: str | None):  # -> LabelSet | None
    """The :class:`LabelSet` called ``name``."""
    return LABEL_SETS.get(name) if name else None


__all__ = ["OCCUPANCY_FORMATS", "VISIBILITY_FILTERS", "load_occupancy_content", "occgen_sequence",
           "labelset_named"]
