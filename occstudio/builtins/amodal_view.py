"""What the studio shows for amodal-completion samples (open-world outputs, Amodal3R views).

Adapts :func:`occstudio.io.amodal.load_amodal_content` / ``load_amodal3r_content`` to
the sample view's content keys: the image with the visible mask, the completion placed
back in the image, the RGBA crops in the strip, and the query text.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from occstudio.core.dataset import Dataset
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.sample import Sample
from occstudio.io.amodal import load_amodal3r_content, load_amodal_content

AMODAL_FORMATS = ("amodal", "amodal3r")


def _masked(image: np.ndarray, mask: np.ndarray | None) -> np.ndarray | None:
    """``image`` as RGBA with ``mask`` as alpha (``None`` without a mask)."""
    if mask is None or image is None or mask.shape != image.shape[:2]:
        return None
    return np.dstack([image[..., :3], (mask.astype(np.uint8) * 255)])


def load_amodal_view(dataset: Dataset, sample: Sample, progress: Progress | None = None) -> dict[str, Any]:
    """Content for the sample view of an ``amodal`` or ``amodal3r`` sample."""
    progress = ensure_progress(progress)
    progress.start(1, "reading sample")
    empty: dict[str, Any] = {
        "gt_images": [], "prior_images": [], "gt_mesh": None, "prediction_mesh": None,
        "prediction_path": None, "gt_poly": None, "prediction_poly": None,
    }
    if dataset.format == "amodal3r":
        raw = load_amodal3r_content(sample)
        content = {
            **empty, "id": raw["id"], "image": raw["image"], "mask": raw["visible"],
            "obs_object_image": _masked(raw["image"], raw["amodal"]),
            "prior_text": "", "missing": raw["missing"], "errors": raw["errors"],
            "titles": {"image": "View + visible mask", "object": "Amodal extent (visible ∪ occluded)"},
        }
    else:
        raw = load_amodal_content(sample)
        strip = [(name, raw[key]) for key, name in (("completion", "amodal_completion.png"),
                                                     ("sd_cut", "sd_img_cut.png")) if raw.get(key) is not None]
        content = {
            **empty, "id": raw["id"], "image": raw["image"], "mask": raw["visible"],
            "obs_object_image": raw["composite"], "prior_images": strip,
            "prior_text": raw["prompt"] or raw["query"], "missing": raw["missing"], "errors": raw["errors"],
            "titles": {"image": "Image + visible mask", "object": "Completion placed back",
                       "priors": "Completion outputs"},
        }
    progress.advance()
    return content
