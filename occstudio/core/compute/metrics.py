"""Geometry metrics between a ground-truth and a predicted mesh or point cloud.

The protocol (what :func:`mesh_metrics` does, in order)
-------------------------------------------------------
1. **Normalisation** (``normalize``), computed from the GT vertices only and applied to both
   inputs: ``"none"`` leaves them as they are; ``"bbox"`` translates both by minus the centre
   of the GT axis-aligned bounding box and scales both so that the GT box diagonal is 1;
   ``"cube"`` does the same but scales so that the longest GT box side is 1.
2. **Point sets** (``sampling``), ``n_points`` per side, deterministic for ``seed``:
   ``"surface"`` samples triangles with probability proportional to their area and a point
   uniformly inside each (barycentric ``u, v``; ``u + v > 1`` folded back), with the face
   normal; a side without faces (a point cloud) uses its vertices as they are. Both sides
   use the same ``seed``.
   ``"vertices"`` uses all vertices as they are. ``"fps"`` farthest-point-samples
   ``n_points`` vertices (the RelaxFlow paper's protocol used 4096). Vertex normals are the
   file's when present, else area-weighted face normals, else none.
3. **Alignment** (``icp=True``): rigid point-to-point ICP of the predicted points onto the GT
   points (:func:`icp_point_to_point`), pred normals rotated with it.
4. **Nearest neighbours** both ways, exact (:func:`~occstudio.core.compute.nearest.nearest_distances`,
   cKDTree on the CPU or an exact grid search on a GPU). With ``d(x, S)`` the Euclidean
   distance from ``x`` to the nearest point of ``S``, P the predicted and Q the GT points:

   - ``chamfer_l1 = mean_{p∈P} d(p, Q) + mean_{q∈Q} d(q, P)`` — the **sum** of the two
     directional means (not their average);
   - ``chamfer_l2`` — the same with squared distances (sum of the two means of d²);
   - ``fscore[τ] = 2·P_τ·R_τ / (P_τ + R_τ)`` (0 when both are 0), with precision
     ``P_τ`` = share of predicted points with ``d(p, Q) < τ`` and recall ``R_τ`` = share of
     GT points with ``d(q, P) < τ``; the comparison is **strict**: a point exactly at τ does
     not count;
   - ``normal_consistency = ½ (mean_p |n_p · n_{NN_Q(p)}| + mean_q |n_q · n_{NN_P(q)}|)``
     with unit normals (orientation-free); ``None`` when either side has no normals.

Distances are in the units of the (normalised) inputs. The result dict has exactly the keys
``chamfer_l1, chamfer_l2, fscore, normal_consistency, n_points_gt, n_points_pred`` (plus
``voxel_iou`` when ``voxel_size`` is given). ``fscore`` is keyed by each threshold as the
user wrote it (strings kept verbatim, floats formatted with ``f"{t:g}"``).

This module never imports occstudio.io: meshes are anything with ``vertices``, ``faces``
and ``vertex_normals`` attributes (:class:`MeshLike`, e.g. ``occstudio.io.meshes.MeshData``),
or plain N×3 arrays.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from occstudio.core.compute.nearest import nearest_distances
from occstudio.core.errors import DataError
from occstudio.core.jobs import Progress, ensure_progress

DEFAULT_THRESHOLDS: tuple[str, ...] = ("0.01", "0.02", "0.05")
NORMALIZE_MODES = ("none", "bbox", "cube")
SAMPLING_MODES = ("surface", "vertices", "fps")


@runtime_checkable
class MeshLike(Protocol):
    """What the metrics need of a mesh (``occstudio.io.meshes.MeshData`` fits)."""

    vertices: np.ndarray
    faces: np.ndarray | None
    vertex_normals: np.ndarray | None


Geometry = MeshLike | np.ndarray


@dataclass
class MeshMetrics:
    """The metrics of one GT/prediction pair (see the module docstring for definitions).

    ``precision``/``recall`` (per threshold key) and ``transform`` (the 4×4 ICP transform
    applied to the prediction, or ``None``) are extra detail, not part of :meth:`to_dict`.
    """

    chamfer_l1: float
    chamfer_l2: float
    fscore: dict[str, float]
    normal_consistency: float | None
    n_points_gt: int
    n_points_pred: int
    precision: dict[str, float] = field(default_factory=dict)
    recall: dict[str, float] = field(default_factory=dict)
    transform: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        """The plain result: ``chamfer_l1, chamfer_l2, fscore, normal_consistency, n_points_gt, n_points_pred``."""
        return {
            "chamfer_l1": self.chamfer_l1,
            "chamfer_l2": self.chamfer_l2,
            "fscore": dict(self.fscore),
            "normal_consistency": self.normal_consistency,
            "n_points_gt": self.n_points_gt,
            "n_points_pred": self.n_points_pred,
        }


# --------------------------------------------------------------------------- point sets


def _vertices(mesh: Geometry) -> np.ndarray:
    v = mesh if isinstance(mesh, np.ndarray) else mesh.vertices
    v = np.asarray(v)
    if v.ndim != 2 or v.shape[1] < 3:
        raise DataError(None, f"expected N×3 vertices, got shape {v.shape}")
    return np.asarray(v[:, :3], dtype=np.float64)


def _faces(mesh: Geometry) -> np.ndarray | None:
    if isinstance(mesh, np.ndarray):
        return None
    f = getattr(mesh, "faces", None)
    if f is None or len(f) == 0:
        return None
    return np.asarray(f, dtype=np.int64).reshape(-1, 3)


def _unit(v: np.ndarray) -> np.ndarray:
    length = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, length, out=np.zeros_like(v, dtype=np.float64), where=length > 0)


def sample_surface(mesh: MeshLike, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``n`` points uniformly on the surface of a triangle mesh.

    Triangles are chosen with probability proportional to their area, points placed with
    uniform barycentric coordinates. Deterministic for a given ``seed``.

    Parameters
    ----------
    mesh
        A mesh with ``vertices`` (N×3) and ``faces`` (M×3).
    n
        Number of points.
    seed
        Seed of the random generator (``numpy.random.default_rng``).

    Returns
    -------
    points, normals
        float64 (n, 3) points and the unit normals of the faces they lie on.

    Raises
    ------
    DataError
        The mesh has no faces or no surface area.
    """
    v = _vertices(mesh)
    f = _faces(mesh)
    if f is None:
        raise DataError(None, "cannot sample a surface: the mesh has no faces")
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    cross = np.cross(b - a, c - a)
    double_area = np.linalg.norm(cross, axis=1)
    cum = np.cumsum(double_area)
    if len(cum) == 0 or not cum[-1] > 0:
        raise DataError(None, "cannot sample a surface: the mesh has zero area")
    rng = np.random.default_rng(seed)
    pick = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
    pick = np.minimum(pick, len(f) - 1)
    u, w = rng.random((2, n))
    fold = u + w > 1.0
    u[fold], w[fold] = 1.0 - u[fold], 1.0 - w[fold]
    pa = a[pick]
    points = pa + u[:, None] * (b[pick] - pa) + w[:, None] * (c[pick] - pa)
    normals = cross[pick] / double_area[pick][:, None]
    return points, normals


def vertex_normals_from_faces(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (zero for vertices in no face)."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    cross = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    acc = np.zeros_like(v)
    for k in range(3):
        np.add.at(acc, f[:, k], cross)
    return _unit(acc)


def farthest_point_sample(
    points: np.ndarray, n: int, seed: int = 0, progress: Progress | None = None
) -> np.ndarray:
    """Indices of ``n`` points chosen by farthest-point sampling (all of them when fewer).

    The first point is drawn with ``seed``; each next one is the point farthest from those
    already chosen (ties: lowest index).
    """
    pts = np.asarray(points, dtype=np.float64)
    total = len(pts)
    if n >= total:
        return np.arange(total)
    progress = ensure_progress(progress)
    rng = np.random.default_rng(seed)
    out = np.empty(n, dtype=np.int64)
    out[0] = rng.integers(total)
    d2 = ((pts - pts[out[0]]) ** 2).sum(axis=1)
    for k in range(1, n):
        i = int(np.argmax(d2))
        out[k] = i
        np.minimum(d2, ((pts - pts[i]) ** 2).sum(axis=1), out=d2)
        if k % 256 == 0:
            progress.check()
    return out


def points_for_metrics(
    mesh: Geometry,
    n_points: int,
    seed: int = 0,
    sampling: str = "surface",
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The point set (and normals) one side of :func:`mesh_metrics` is computed on.

    Parameters
    ----------
    mesh
        A :class:`MeshLike` or an N×3 array (a point cloud without normals).
    n_points
        Number of points for ``"surface"`` and ``"fps"``.
    seed
        Random seed (sampling is deterministic for a seed).
    sampling
        ``"surface"`` (area-weighted surface samples when the mesh has faces, else the
        vertices as they are), ``"vertices"`` (the vertices as they are) or ``"fps"``
        (farthest-point sample of ``n_points`` vertices).

    Returns
    -------
    points, normals
        float64 (K, 3) points and unit normals (or ``None`` when the input has none).
    """
    if sampling not in SAMPLING_MODES:
        raise ValueError(f"unknown sampling {sampling!r} (expected one of {', '.join(SAMPLING_MODES)})")
    v = _vertices(mesh)
    f = _faces(mesh)
    if sampling == "surface" and f is not None:
        return sample_surface(mesh, n_points, seed)  # type: ignore[arg-type]
    normals = None
    if not isinstance(mesh, np.ndarray):
        vn = getattr(mesh, "vertex_normals", None)
        if vn is not None and len(vn) == len(v):
            normals = _unit(np.asarray(vn, dtype=np.float64).reshape(-1, 3))
        elif f is not None:
            normals = vertex_normals_from_faces(v, f)
    if sampling == "fps":
        idx = farthest_point_sample(v, n_points, seed, progress)
        return v[idx], (normals[idx] if normals is not None else None)
    return v, normals


# --------------------------------------------------------------------------- normalisation


def normalization_transform(gt_points: np.ndarray, mode: str = "bbox") -> tuple[np.ndarray, float]:
    """``(centre, scale)`` such that ``(x - centre) * scale`` normalises the GT as ``mode`` says.

    Raises
    ------
    DataError
        The GT is empty or has zero extent (cannot be normalised).
    """
    if mode not in NORMALIZE_MODES:
        raise ValueError(f"unknown normalize mode {mode!r} (expected one of {', '.join(NORMALIZE_MODES)})")
    pts = np.asarray(gt_points, dtype=np.float64)
    if mode == "none":
        return np.zeros(3), 1.0
    if len(pts) == 0:
        raise DataError(None, "cannot normalise: the ground truth has no points")
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    size = float(np.linalg.norm(hi - lo)) if mode == "bbox" else float((hi - lo).max())
    if not size > 0:
        raise DataError(None, "cannot normalise: the ground truth has zero extent")
    return (lo + hi) / 2.0, 1.0 / size


def _apply(geom: Geometry, centre: np.ndarray, scale: float) -> Geometry:
    if isinstance(geom, np.ndarray):
        return (_vertices(geom) - centre) * scale
    new_vertices = (_vertices(geom) - centre) * scale
    if dataclasses.is_dataclass(geom) and not isinstance(geom, type):
        return dataclasses.replace(geom, vertices=new_vertices)
    out = copy.copy(geom)
    out.vertices = new_vertices
    return out


def normalize_pair(gt: Geometry, pred: Geometry, mode: str = "none") -> tuple[Geometry, Geometry]:
    """Normalise GT and prediction together, from the GT's bounding box.

    Parameters
    ----------
    gt, pred
        Meshes (:class:`MeshLike`; a copy with new vertices is returned) or N×3 arrays.
    mode
        ``"none"``; ``"bbox"``: translate both by minus the GT bbox centre and scale both so
        the GT bbox diagonal is 1; ``"cube"``: the same with the longest GT bbox side 1.

    Returns
    -------
    gt, pred
        The normalised inputs (same kinds as given). Normals are unchanged (uniform scale).
    """
    centre, scale = normalization_transform(_vertices(gt), mode)
    if mode == "none":
        return gt, pred
    return _apply(gt, centre, scale), _apply(pred, centre, scale)


# --------------------------------------------------------------------------- ICP


def _kabsch(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation R and translation t minimising ``|R src + t - dst|²`` (no reflection)."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    h = (src - cs).T @ (dst - cd)
    u, _s, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return r, cd - r @ cs


def icp_point_to_point(
    source: np.ndarray,
    target: np.ndarray,
    max_iterations: int = 30,
    tolerance: float = 1e-7,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rigidly align ``source`` to ``target`` with point-to-point ICP.

    Each iteration pairs every source point with its nearest target point (cKDTree) and
    applies the best rigid transform of those pairs (Kabsch). It stops after
    ``max_iterations`` or when the mean pair distance improves by less than ``tolerance``
    (relative).

    Returns
    -------
    aligned, transform
        The transformed source points and the 4×4 transform applied to them.
    """
    from scipy.spatial import cKDTree

    progress = ensure_progress(progress)
    src = np.asarray(source, dtype=np.float64)
    tgt = np.asarray(target, dtype=np.float64)
    tree = cKDTree(tgt)
    transform = np.eye(4)
    current = src.copy()
    previous = np.inf
    for _ in range(max_iterations):
        progress.check()
        dist, idx = tree.query(current, k=1, workers=-1)
        err = float(dist.mean())
        if previous - err <= tolerance * max(previous, 1e-300) and np.isfinite(previous):
            break
        previous = err
        r, t = _kabsch(current, tgt[idx])
        current = current @ r.T + t
        step = np.eye(4)
        step[:3, :3], step[:3, 3] = r, t
        transform = step @ transform
    return current, transform


# --------------------------------------------------------------------------- metrics


def threshold_keys(thresholds: Sequence[float | str] | float | str) -> list[tuple[str, float]]:
    """``(key, value)`` of each F-score threshold: strings kept verbatim, numbers as ``f"{t:g}"``."""
    if isinstance(thresholds, (str, int, float)):
        thresholds = [thresholds]
    out = []
    for t in thresholds:
        if isinstance(t, str):
            key = t
            try:
                value = float(t.strip())
            except ValueError:
                raise ValueError(f"F-score threshold {t!r} is not a number") from None
        else:
            value = float(t)
            key = f"{value:g}"
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"F-score threshold {key!r} must be a non-negative number")
        out.append((key, value))
    return out


def _check_points(points: np.ndarray, what: str) -> None:
    if len(points) == 0:
        raise DataError(None, f"the {what} has no points")
    if not np.all(np.isfinite(points)):
        raise DataError(None, f"the {what} has NaN or infinite coordinates")


def point_metrics(
    gt_points: np.ndarray,
    pred_points: np.ndarray,
    gt_normals: np.ndarray | None = None,
    pred_normals: np.ndarray | None = None,
    thresholds: Sequence[float | str] = DEFAULT_THRESHOLDS,
    device: str = "auto",
    progress: Progress | None = None,
) -> MeshMetrics:
    """Chamfer-L1/L2, F-scores and normal consistency of two point sets (as given, no sampling).

    See the module docstring for the exact definitions. ``progress`` is only checked (it
    is not started), so callers can fold this into their own stages.
    """
    progress = ensure_progress(progress)
    gt = np.asarray(gt_points, dtype=np.float64)
    pred = np.asarray(pred_points, dtype=np.float64)
    _check_points(gt, "ground truth")
    _check_points(pred, "prediction")
    items = threshold_keys(thresholds)
    d_pred, i_pred = nearest_distances(pred, gt, device=device, return_index=True)
    progress.check()
    d_gt, i_gt = nearest_distances(gt, pred, device=device, return_index=True)
    progress.check()
    fscore, precision, recall = {}, {}, {}
    for key, tau in items:
        p = float(np.count_nonzero(d_pred < tau)) / len(pred)
        r = float(np.count_nonzero(d_gt < tau)) / len(gt)
        precision[key], recall[key] = p, r
        fscore[key] = 2.0 * p * r / (p + r) if p + r > 0 else 0.0
    nc = None
    if gt_normals is not None and pred_normals is not None:
        ng = _unit(np.asarray(gt_normals, dtype=np.float64).reshape(-1, 3))
        npd = _unit(np.asarray(pred_normals, dtype=np.float64).reshape(-1, 3))
        if len(ng) != len(gt) or len(npd) != len(pred):
            raise ValueError("normals must have one row per point")
        a = np.abs((npd * ng[i_pred]).sum(axis=1)).mean()
        b = np.abs((ng * npd[i_gt]).sum(axis=1)).mean()
        nc = float((a + b) / 2.0)
    return MeshMetrics(
        chamfer_l1=float(d_pred.mean() + d_gt.mean()),
        chamfer_l2=float((d_pred**2).mean() + (d_gt**2).mean()),
        fscore=fscore,
        normal_consistency=nc,
        n_points_gt=len(gt),
        n_points_pred=len(pred),
        precision=precision,
        recall=recall,
    )


def mesh_metrics(
    gt: Geometry,
    pred: Geometry,
    n_points: int = 100_000,
    seed: int = 0,
    normalize: str = "none",
    thresholds: Sequence[float | str] = DEFAULT_THRESHOLDS,
    sampling: str = "surface",
    icp: bool = False,
    device: str = "auto",
    progress: Progress | None = None,
    voxel_size: float | None = None,
) -> dict[str, Any]:
    """Compare a predicted mesh/point cloud with the ground truth (protocol in the module docstring).

    Parameters
    ----------
    gt, pred
        :class:`MeshLike` meshes (e.g. ``MeshData``) or N×3 point arrays.
    n_points
        Points per side for ``sampling="surface"``/``"fps"``.
    seed
        Sampling seed, used for both sides (so a mesh compared with itself scores a
        Chamfer distance of 0 and an F-score of 1).
    normalize
        ``"none"``, ``"bbox"`` (GT bbox diagonal 1, centred) or ``"cube"`` (longest GT side 1).
    thresholds
        F-score thresholds, as strings (kept as keys) or numbers (keys ``f"{t:g}"``).
    sampling
        ``"surface"``, ``"vertices"`` or ``"fps"``.
    icp
        Rigidly align the predicted points to the GT points first.
    device
        Nearest-neighbour backend: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"torch-cpu"``.
    progress
        Started with one step per stage and checked between stages.
    voxel_size
        When given, also report ``voxel_iou`` of the two point sets at this voxel size.

    Returns
    -------
    dict
        ``chamfer_l1``, ``chamfer_l2`` (floats), ``fscore`` (threshold key → F),
        ``normal_consistency`` (float or ``None``), ``n_points_gt``, ``n_points_pred``
        (plus ``voxel_iou`` when ``voxel_size`` is given).

    Raises
    ------
    DataError
        An input has no points, no area to sample, or a degenerate GT for normalisation.
    Cancelled
        The progress was cancelled.
    """
    progress = ensure_progress(progress)
    if normalize not in NORMALIZE_MODES:
        raise ValueError(f"unknown normalize mode {normalize!r} (expected one of {', '.join(NORMALIZE_MODES)})")
    if sampling not in SAMPLING_MODES:
        raise ValueError(f"unknown sampling {sampling!r} (expected one of {', '.join(SAMPLING_MODES)})")
    threshold_keys(thresholds)  # validate before any work
    if n_points < 1:
        raise ValueError(f"n_points must be at least 1, got {n_points}")
    stages = 5 + int(icp)
    progress.start(stages, "mesh metrics: normalising")
    _check_points(_vertices(gt), "ground truth")
    _check_points(_vertices(pred), "prediction")
    gt_n, pred_n = normalize_pair(gt, pred, normalize)
    progress.advance(1, "mesh metrics: sampling the ground truth")
    gt_pts, gt_nrm = points_for_metrics(gt_n, n_points, seed, sampling, progress)
    progress.advance(1, "mesh metrics: sampling the prediction")
    pred_pts, pred_nrm = points_for_metrics(pred_n, n_points, seed, sampling, progress)
    transform = None
    if icp:
        progress.advance(1, "mesh metrics: ICP alignment")
        pred_pts, transform = icp_point_to_point(pred_pts, gt_pts, progress=progress)
        if pred_nrm is not None:
            pred_nrm = pred_nrm @ transform[:3, :3].T
    progress.advance(1, "mesh metrics: nearest neighbours")
    result = point_metrics(gt_pts, pred_pts, gt_nrm, pred_nrm, thresholds, device, progress)
    result.transform = transform
    progress.advance(1, "mesh metrics: scores")
    out = result.to_dict()
    if voxel_size is not None:
        out["voxel_iou"] = voxel_iou(gt_pts, pred_pts, voxel_size)
    progress.advance(1, "mesh metrics: done")
    return out


def voxel_iou(gt_points: np.ndarray, pred_points: np.ndarray, voxel_size: float) -> float:
    """IoU of the sets of voxels (a grid anchored at the origin) that hold at least one point.

    Returns
    -------
    float
        ``|A ∩ B| / |A ∪ B|``; NaN when both point sets are empty.
    """
    if not voxel_size > 0:
        raise ValueError(f"voxel_size must be positive, got {voxel_size}")

    def cells(points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        if len(pts) == 0:
            return np.zeros((0, 3), dtype=np.int64)
        return np.unique(np.floor(pts / voxel_size).astype(np.int64), axis=0)

    a, b = cells(gt_points), cells(pred_points)
    if len(a) + len(b) == 0:
        return float("nan")
    _, counts = np.unique(np.concatenate([a, b]), axis=0, return_counts=True)
    inter = int(np.count_nonzero(counts == 2))
    return inter / (len(a) + len(b) - inter)
