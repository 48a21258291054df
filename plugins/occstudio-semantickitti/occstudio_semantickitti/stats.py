"""Per-class voxel counts of a SemanticKITTI frame (the ``semantickitti.occupancy_stats``
computation; the GUI builds its form and the CLI its ``--param`` options from the
:class:`~occstudio.plugins.registry.ParamSpec` list in :func:`occstudio_semantickitti.register`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from occstudio.core.jobs import Progress, ensure_progress
from occstudio.core.sample import Sample

from occstudio_semantickitti.labels import CLASS_NAMES, IGNORE_ID
from occstudio_semantickitti.voxels import N_VOXELS, read_mask, read_voxels


def occupancy_stats(
    sample: Sample,
    progress: Progress | None = None,
    ignore_invalid: bool = True,
    include_empty: bool = False,
) -> dict[str, Any]:
    """Count the voxels of each class in one frame.

    Parameters
    ----------
    sample
        A frame opened by the ``semantickitti`` loader.
    progress
        Optional progress / cancellation.
    ignore_invalid
        Leave out the voxels set in ``<frame>.invalid`` (when the frame has one).
    include_empty
        Also report class 0 (``unlabeled``: empty space in the completed scene).

    Returns
    -------
    dict
        ``frame``; ``source`` (``"labels"`` when the frame has a ``.label`` file, else
        ``"occupancy"``: the scan's ``.bin``); ``counts`` (class name -> voxels, in class
        order; with ``source == "occupancy"`` the single key ``occupied``, plus ``empty``
        with ``include_empty``); ``occupied`` (voxels of classes 1..19, or set bits);
        ``ignored`` (voxels with label 255 or left out as invalid); ``total`` (256·256·32).

    Raises
    ------
    DataError
        A file of the frame is unusable (see :func:`~occstudio_semantickitti.voxels.read_voxels`).
    """
    progress = ensure_progress(progress)
    progress.start(3, f"voxel counts {sample.id}")
    occupancy, labels = read_voxels(sample)
    progress.advance()
    keep = np.ones(occupancy.shape, dtype=bool)
    if ignore_invalid:
        invalid = read_mask(sample, "invalid")
        if invalid is not None:
            keep &= ~invalid
    progress.advance()
    counts: dict[str, int] = {}
    if labels is not None:
        ignored = int(np.count_nonzero(~keep | (labels == IGNORE_ID)))
        per_class = np.bincount(labels[keep & (labels != IGNORE_ID)].ravel(), minlength=len(CLASS_NAMES))
        first = 0 if include_empty else 1
        counts = {CLASS_NAMES[i]: int(per_class[i]) for i in range(first, len(CLASS_NAMES))}
        occupied = int(per_class[1:].sum())
        source = "labels"
    else:
        ignored = int(np.count_nonzero(~keep))
        occupied = int(np.count_nonzero(occupancy & keep))
        counts["occupied"] = occupied
        if include_empty:
            counts["empty"] = int(np.count_nonzero(~occupancy & keep))
        source = "occupancy"
    progress.advance()
    return {
        "frame": sample.id,
        "source": source,
        "counts": counts,
        "occupied": occupied,
        "ignored": ignored,
        "total": N_VOXELS,
    }
