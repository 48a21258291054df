"""Occupancy → depth and semantic images for a camera (RenderOcc-style, formats.md §2).

Two renderers:

* :func:`render_labels` — a hard label grid. Each pixel ray is walked voxel by voxel
  (exact DDA, :func:`occstudio.core.compute.occupancy.camera_visibility`); the first
  occupied voxel gives the label, and the depth at which the ray enters it is the
  exact surface depth of the voxel grid.
* :func:`render_alpha` — RenderOcc's volume rendering of a density (and semantics) grid:
  samples at a fixed metric step along each ray (≤ half a voxel by default),
  ``alpha_i = 1 − exp(−σ_i · δ)`` with ``σ = softplus(density)`` (RenderOcc's raw
  network output) or the density as given (``activation="identity"``), weights
  ``w_i = alpha_i · Π_{j<i}(1 − alpha_j)``, ``depth = Σ w_i · t_i``, semantics
  ``Σ w_i · logits_i`` (one-hot labels when a label grid is given) and opacity ``Σ w_i``.
  Each sample reads the voxel containing it (nearest, no trilinear blending). A hard
  grid is :func:`hard_density` (a large σ in occupied voxels, 0 in free ones) with
  ``activation="identity"``; both renderers then agree to within the step, except on
  rays that clip an occupied voxel for less than one step.

Depths are camera-frame z (metres), 0 where a ray hits nothing; labels are ``no_label``
(255) there. Rays go through pixel centres, every ``stride``-th pixel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from occstudio.core.compute.occupancy import Backend, camera_rays, camera_visibility
from occstudio.core.errors import DataError
from occstudio.core.geometry import Camera, GridSpec
from occstudio.core.jobs import Progress, ensure_progress

NO_LABEL = 255


@dataclass
class RenderedView:
    """A rendered depth / semantic image.

    Attributes
    ----------
    depth
        float32 ``(h, w)`` camera-frame depth, 0 where nothing is hit.
    semantics
        uint8 ``(h, w)`` labels (``NO_LABEL`` where nothing is hit) — int32 when a label
        exceeds 254.
    opacity
        float32 ``(h, w)``: 1/0 for :func:`render_labels`, ``Σ w`` for :func:`render_alpha`.
    first_hit
        int64 ``(h, w)`` flat voxel index of the hit (:func:`render_labels` only).
    stride
        Pixel stride.
    """

    depth: np.ndarray
    semantics: np.ndarray
    opacity: np.ndarray
    first_hit: np.ndarray | None
    stride: int


def occupied_mask(labels: np.ndarray, free_labels: Sequence[int] = (17,), ignore_labels: Sequence[int] = (255,)) -> np.ndarray:
    """Boolean occupancy of a label grid: labels that are neither free nor ignored."""
    lab = np.asarray(labels)
    skip = [*free_labels, *ignore_labels]
    return ~np.isin(lab, skip) if skip else np.ones(lab.shape, dtype=bool)


def _label_image(values: np.ndarray, hit: np.ndarray) -> np.ndarray:
    top = int(values.max()) if values.size else 0
    dtype = np.uint8 if top < NO_LABEL else np.int32
    out = np.full(hit.shape, NO_LABEL, dtype=dtype)
    out[hit] = values.astype(dtype)
    return out


def render_labels(
    labels: np.ndarray,
    grid: GridSpec,
    camera: Camera,
    *,
    free_labels: Sequence[int] = (17,),
    ignore_labels: Sequence[int] = (255,),
    stride: int = 1,
    max_depth: float | None = None,
    backend: Backend = "auto",
    device: str | None = None,
    progress: Progress | None = None,
) -> RenderedView:
    """Render a hard label grid by exact voxel traversal (first hit per pixel).

    Parameters
    ----------
    labels
        ``(X, Y, Z)`` integer labels, or a boolean occupancy grid.
    grid
        The grid, in the camera's world frame.
    camera
        The camera (OpenCV axes).
    free_labels, ignore_labels
        Labels that do not stop rays (ignored for boolean grids).
    stride
        Every ``stride``-th pixel.
    max_depth
        Ignore hits beyond this depth.
    backend, device, progress
        See :func:`occstudio.core.compute.occupancy.traverse_rays`.
    """
    lab = np.asarray(labels)
    if lab.shape != tuple(grid.shape):
        raise DataError(None, f"label grid has shape {lab.shape}, expected {tuple(grid.shape)}")
    occ = lab if lab.dtype == bool else occupied_mask(lab, free_labels, ignore_labels)
    vis = camera_visibility(
        occ, grid, camera, stride=stride, max_depth=max_depth, mark_visited=False,
        backend=backend, device=device, progress=progress,
    )
    hit = vis.first_hit >= 0
    values = lab.reshape(-1)[vis.first_hit[hit]]
    sem = _label_image(values.astype(np.int64) if lab.dtype != bool else np.ones(values.shape, np.int64), hit)
    return RenderedView(
        depth=vis.depth, semantics=sem, opacity=hit.astype(np.float32), first_hit=vis.first_hit, stride=vis.stride
    )


def hard_density(
    labels: np.ndarray,
    free_labels: Sequence[int] = (17,),
    ignore_labels: Sequence[int] = (255,),
    value: float = 1e4,
) -> np.ndarray:
    """Density σ of a hard grid: ``value`` in occupied voxels, 0 elsewhere (float32).

    Render it with ``activation="identity"``.
    """
    lab = np.asarray(labels)
    occ = lab if lab.dtype == bool else occupied_mask(lab, free_labels, ignore_labels)
    return np.where(occ, np.float32(value), np.float32(0)).astype(np.float32)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def render_alpha(
    density: np.ndarray,
    grid: GridSpec,
    camera: Camera,
    *,
    semantics: np.ndarray | None = None,
    activation: Literal["softplus", "identity"] = "softplus",
    step: float | None = None,
    stride: int = 1,
    near: float = 0.0,
    far: float | None = None,
    n_classes: int | None = None,
    rays_per_chunk: int = 4096,
    samples_per_block: int = 64,
    progress: Progress | None = None,
) -> RenderedView:
    """RenderOcc-style volume rendering (alpha compositing along pixel rays).

    Parameters
    ----------
    density
        ``(X, Y, Z)`` density: raw network output (``activation="softplus"``) or σ ≥ 0
        (``"identity"``, e.g. :func:`hard_density`).
    grid
        The grid, in the camera's world frame.
    camera
        The camera.
    semantics
        ``(X, Y, Z)`` integer labels (composited as one-hot vectors) or ``(X, Y, Z, C)``
        logits; ``None``: no semantic image (all ``NO_LABEL``).
    activation
        How density becomes σ.
    step
        Metric distance between samples along a ray (default: half the smallest voxel
        edge; at most half a voxel is recommended).
    stride
        Every ``stride``-th pixel.
    near, far
        Depth range (camera z) sampled; ``far`` defaults to where rays leave the grid.
    n_classes
        Number of classes of a label grid (default: its maximum + 1).
    rays_per_chunk, samples_per_block
        Work sizes (memory ≈ rays × samples × 40 bytes). A ray whose transmittance
        reaches exactly 0 stops early; no approximation is made.
    progress
        Advanced per chunk of rays.

    Returns
    -------
    RenderedView
        ``depth = Σ w t`` (not normalised by the opacity, as RenderOcc), ``semantics``
        the argmax of the composited vector where the opacity is at least 0.5,
        ``opacity = Σ w``.
    """
    progress = ensure_progress(progress)
    dens = np.asarray(density)
    if dens.shape != tuple(grid.shape):
        raise DataError(None, f"density grid has shape {dens.shape}, expected {tuple(grid.shape)}")
    if activation not in ("softplus", "identity"):
        raise ValueError(f"activation must be 'softplus' or 'identity', got {activation!r}")
    sigma = _softplus(dens.astype(np.float64)) if activation == "softplus" else dens.astype(np.float64)
    if np.any(sigma < 0) or not np.all(np.isfinite(sigma)):
        raise DataError(None, "densities must be finite and non-negative after the activation")
    sigma_flat = np.concatenate([sigma.reshape(-1), [0.0]])  # last entry: outside the grid
    sem_mode = None
    if semantics is not None:
        sem = np.asarray(semantics)
        if sem.shape == tuple(grid.shape):
            if sem.dtype.kind not in "iub":
                raise DataError(None, "a semantic label grid must hold integers")
            sem_mode = "labels"
            n_cls = int(n_classes) if n_classes is not None else int(sem.max()) + 1
            sem_flat = np.concatenate([sem.reshape(-1).astype(np.int64), [0]])
        elif sem.ndim == 4 and sem.shape[:3] == tuple(grid.shape):
            sem_mode = "logits"
            n_cls = sem.shape[3]
            sem_flat = np.concatenate([sem.reshape(-1, n_cls).astype(np.float64), np.zeros((1, n_cls))])
        else:
            raise DataError(None, f"semantics must be {tuple(grid.shape)} labels or {tuple(grid.shape)}×C logits")
    size = np.asarray(grid.voxel_size)
    if step is None:
        step = 0.5 * float(size.min())
    if not step > 0:
        raise DataError(None, f"step must be positive, got {step}")
    origin, dirs, (h, w) = camera_rays(camera, stride)
    n_rays = len(dirs)
    norms = np.linalg.norm(dirs, axis=1)
    dt = step / norms  # z-parameter increment per metric step
    # slab test in world units
    lo, hi = grid.range_min, grid.range_max
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = (lo - origin) / dirs
        t1 = (hi - origin) / dirs
    zero = dirs == 0
    inside_axis = (origin >= lo) & (origin < hi)
    t_near = np.where(zero, np.where(inside_axis, -np.inf, np.inf), np.minimum(t0, t1))
    t_far = np.where(zero, np.where(inside_axis, np.inf, -np.inf), np.maximum(t0, t1))
    t_in = np.maximum(t_near.max(axis=1), near)
    t_out = t_far.min(axis=1)
    if far is not None:
        t_out = np.minimum(t_out, far)
    n_samples = np.where(t_out > t_in, np.ceil((t_out - t_in) / dt), 0).astype(np.int64)

    depth = np.zeros(n_rays)
    opacity = np.zeros(n_rays)
    acc = np.zeros((n_rays, n_cls)) if sem_mode is not None else None
    g_origin = np.asarray(grid.origin)
    shape = np.asarray(grid.shape)
    nyz = grid.shape[1] * grid.shape[2]
    nz = grid.shape[2]
    progress.start(n_rays, "Rendering")
    for lo_r in range(0, n_rays, rays_per_chunk):
        hi_r = min(n_rays, lo_r + rays_per_chunk)
        rays = np.arange(lo_r, hi_r)
        rays = rays[n_samples[rays] > 0]
        T = np.ones(len(rays))
        k0 = 0
        while len(rays):
            ks = k0 + np.arange(samples_per_block)
            t = t_in[rays, None] + (ks[None, :] + 0.5) * dt[rays, None]  # (R, B)
            valid = ks[None, :] < n_samples[rays, None]
            pos = origin + t[:, :, None] * dirs[rays, None, :]
            ijk = np.floor((pos - g_origin) / size).astype(np.int64)
            inside = valid & np.all((ijk >= 0) & (ijk < shape), axis=2)
            flat = np.where(inside, ijk[:, :, 0] * nyz + ijk[:, :, 1] * nz + ijk[:, :, 2], len(sigma_flat) - 1)
            alpha = 1.0 - np.exp(-sigma_flat[flat] * step)
            trans = np.cumprod(np.concatenate([np.ones((len(rays), 1)), 1.0 - alpha], axis=1), axis=1)
            wts = alpha * (T[:, None] * trans[:, :-1])
            depth[rays] += (wts * t).sum(axis=1)
            opacity[rays] += wts.sum(axis=1)
            if sem_mode == "labels":
                lab = sem_flat[flat]
                local = np.broadcast_to(np.arange(len(rays))[:, None], lab.shape)
                sums = np.bincount((local * n_cls + lab).reshape(-1), weights=wts.reshape(-1), minlength=len(rays) * n_cls)
                acc[rays] += sums.reshape(len(rays), n_cls)  # type: ignore[index]
            elif sem_mode == "logits":
                acc[rays] += np.einsum("rb,rbc->rc", wts, sem_flat[flat])  # type: ignore[index]
            T = T * trans[:, -1]
            k0 += samples_per_block
            keep = (T > 0) & (k0 < n_samples[rays])
            rays, T = rays[keep], T[keep]
            progress.check()
        progress.update(hi_r)
    if acc is not None:
        labels = np.argmax(acc, axis=1)
        has = opacity >= 0.5
        sem_img = _label_image(labels[has], has).reshape(h, w)
    else:
        sem_img = np.full((h, w), NO_LABEL, dtype=np.uint8)
    return RenderedView(
        depth=depth.astype(np.float32).reshape(h, w),
        semantics=sem_img,
        opacity=opacity.astype(np.float32).reshape(h, w),
        first_hit=None,
        stride=max(1, int(stride)),
    )
