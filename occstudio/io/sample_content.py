"""Read everything a sample's panes show: images, mask, priors, GT renders, meshes.

Runs on a worker thread and returns plain numpy / :class:`MeshData` objects. A file
that is missing or unreadable becomes ``None`` plus a message in ``content["errors"]``
or ``content["missing"]``: one bad file never hides the rest of the sample.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from occstudio.core.errors import OccStudioError
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.sample import Sample
from occstudio.io.geometry import load_geometry
from occstudio.io.images import mask_from_alpha, read_image, read_mask
from occstudio.io.meshes import MeshData


def _try(errors: list[str], func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except (OccStudioError, OSError, ValueError) as exc:
        errors.append(str(exc))
        return None


def load_sample_content(
    sample: Sample,
    prediction: Path | None = None,
    progress: Progress | None = None,
    max_strip_images: int = 32,
) -> dict[str, Any]:
    """Load the arrays a sample view shows.

    Parameters
    ----------
    sample
        The sample (ExtremeOcc-3D entry or a single opened file).
    prediction
        A prediction mesh to show beside the GT mesh.
    progress
        Progress / cancellation.
    max_strip_images
        At most this many prior / GT images are read.

    Returns
    -------
    dict
        Keys ``id``, ``image``, ``mask``, ``obs_object_image``, ``prior_images`` and
        ``gt_images`` (lists of ``(name, array | None)``), ``prior_text``, ``gt_mesh``,
        ``prediction_mesh`` (:class:`MeshData` or ``None``), ``prediction_path``,
        ``missing`` and ``errors`` (lists of strings).
    """
    progress = ensure_progress(progress)
    errors: list[str] = list(sample.errors)
    priors = sample.path_list("prior_images")[:max_strip_images]
    gts = sample.path_list("gt_images")[:max_strip_images]
    progress.start(6 + len(priors) + len(gts), "reading sample")

    def existing(key: str) -> Path | None:
        path = sample.path(key)
        return path if path is not None and path.is_file() else None

    image = None
    if (p := existing("image")) is not None:
        image = _try(errors, read_image, p)
    progress.advance()
    mask = None
    if (p := existing("mask")) is not None:
        shape = image.shape[:2] if image is not None else None
        mask = _try(errors, read_mask, p, shape)
    elif image is not None and "mask" not in sample.paths:
        mask = mask_from_alpha(image)
    progress.advance()
    obs = _try(errors, read_image, p) if (p := existing("obs_object_image")) is not None else None
    progress.advance()

    def strip(paths: list[Path]) -> list[tuple[str, np.ndarray | None]]:
        out = []
        for path in paths:
            out.append((path.name, _try(errors, read_image, path) if path.is_file() else None))
            progress.advance()
        return out

    prior_images = strip(priors)
    gt_images = strip(gts)

    gt_mesh: MeshData | None = None
    if (p := existing("gt_mesh") or existing("mesh") or existing("points") or existing("gt_pointcloud")) is not None:
        gt_mesh = _try(errors, load_geometry, p)
    progress.advance()
    pred_mesh = None
    if prediction is not None:
        pred_mesh = _try(errors, load_geometry, prediction)
    progress.advance()
    return {
        "id": sample.id,
        "image": image,
        "mask": mask,
        "obs_object_image": obs,
        "prior_images": prior_images,
        "prior_text": sample.text.get("prior_text", ""),
        "gt_images": gt_images,
        "gt_mesh": gt_mesh,
        "prediction_mesh": pred_mesh,
        "prediction_path": prediction,
        "missing": list(sample.missing),
        "errors": errors,
        "titles": {} if sample.path("gt_mesh") else {"gt": p.name if (p := sample.path("mesh") or sample.path("points")) else "GT"},
    }


