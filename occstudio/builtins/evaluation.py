"""Dataset evaluation: every sample's metrics plus the set totals, locally or on Ray.

* **Occ3D-nuScenes** ground truth against a folder of predictions: the occupancy metrics
  of :mod:`occstudio.core.compute.occupancy_metrics` per sample, and for the set **one
  confusion matrix summed over all samples** (the challenge's definition — not the mean
  of per-sample mIoUs). Predictions are matched by relative path or sample token
  (:func:`find_occ3d_prediction`).
* **ExtremeOcc-3D** manifests against a folder of predicted meshes: the mesh metrics of
  :mod:`occstudio.builtins.mesh_eval` per sample, and their means over the samples.

Work is split into chunks of samples. Each chunk is evaluated by a plain, picklable
function (:func:`evaluate_occupancy_chunk`, :func:`evaluate_mesh_chunk`) on a local
thread or process pool (``engine="local"``) or as one Ray task per chunk
(``engine="ray"``: ``ray.init(address=...)`` or a local instance). Chunk results are
combined in dataset order, so every engine gives the same numbers. Ray is the optional
extra ``occstudio[cluster]``; with a remote cluster, the data paths must be readable from
the workers and occstudio must be installed there.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from occstudio.core.compute.backend import cuda_driver_present
from occstudio.core.compute.occupancy_metrics import (
    FREE_ID,
    N_CLASSES,
    OccupancyMetricAccumulator,
    geometric_iou_from_hist,
    miou_from_hist,
    per_class_iou,
    selfocc_class_iou,
)
from occstudio.core.dataset import Dataset
from occstudio.core.errors import DataError, OccStudioError
from occstudio.core.jobs import Cancelled, Progress, ensure_progress
from occstudio.core.labels import OCC3D_CLASS_NAMES
from occstudio.core.sample import Sample

Engine = Literal["local", "ray"]
Pool = Literal["thread", "process"]

_MASK_KEYS = {"camera": "mask_camera", "lidar": "mask_lidar"}


class EngineError(OccStudioError):
    """The requested engine cannot run (Ray missing, cluster unreachable)."""


# ------------------------------------------------------------------------- JSON helper


def jsonable(value: Any) -> Any:
    """``value`` with numpy types turned into Python ones and NaN/inf into ``None``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, Path):
        return str(value)
    return value


# -------------------------------------------------------------------- Occ3D matching


def find_occ3d_prediction(pred_root: Path, sample: Sample, gt_roots: Sequence[Path] = ()) -> Path | None:
    """The prediction file of an Occ3D ground-truth sample, or ``None``.

    Looked for, in order, under ``pred_root``: the ground truth's path relative to a GT
    root (``<scene>/<token>/labels.npz``), the same folder as a file
    (``<scene>/<token>.npz``), ``<token>.npz``, ``<token>/labels.npz``.
    """
    labels = sample.path("labels")
    token = str(sample.meta.get("token") or (labels.parent.name if labels else sample.id))
    candidates: list[Path] = []
    if labels is not None:
        for root in gt_roots:
            try:
                rel = labels.relative_to(root)
            except ValueError:
                continue
            candidates.append(pred_root / rel)
            if len(rel.parts) > 1:
                candidates.append(pred_root / rel.parent.with_suffix(".npz"))
    candidates += [pred_root / f"{token}.npz", pred_root / token / "labels.npz"]
    return next((c for c in candidates if c.is_file()), None)


def occupancy_items(dataset: Dataset, pred_root: str | Path) -> tuple[list[tuple[str, str, str]], list[str]]:
    """``(id, gt_path, pred_path)`` of every Occ3D sample with a prediction, and the ids
    without one.

    Raises
    ------
    MissingFileError, DataError
        ``pred_root`` does not exist, or no sample has a prediction.
    """
    from occstudio.core.errors import MissingFileError

    pred_root = Path(pred_root)
    if not pred_root.exists():
        raise MissingFileError(pred_root, "prediction folder")
    gt_samples = [s for s in dataset.samples if s.path("labels") is not None]
    if not gt_samples:
        raise DataError(dataset.source, "holds no Occ3D ground truth (labels.npz)")
    if pred_root.is_file():
        if len(gt_samples) != 1:
            raise DataError(pred_root, f"is one file but the ground truth has {len(gt_samples)} samples; give a folder")
        s = gt_samples[0]
        return [(s.id, str(s.path("labels")), str(pred_root))], []
    roots = [dataset.root / "gts", dataset.root] if (dataset.root / "gts").is_dir() else [dataset.root]
    items, missing = [], []
    for s in gt_samples:
        found = find_occ3d_prediction(pred_root, s, roots)
        if found is None:
            missing.append(s.id)
        else:
            items.append((s.id, str(s.path("labels")), str(found)))
    if not items:
        raise DataError(pred_root, "no prediction found for any sample (expected <token>.npz or <scene>/<token>/labels.npz)")
    return items, missing


# ------------------------------------------------------------------------ chunk work


@dataclass
class OccupancyParams:
    """What the occupancy metrics of a chunk need (picklable)."""

    mask: str = "camera"
    variant: str = "occ3d"
    fscore: bool = False
    loader_threads: int = 2
    class_names: tuple[str, ...] = OCC3D_CLASS_NAMES


def _iou_dict(hist: np.ndarray, variant: str, names: Sequence[str]) -> dict[str, float | None]:
    """Per-class IoU (percent) as reported for ``variant``: classes 0..16 for the
    challenge, 1..16 (unseen = 100) for SelfOcc."""
    if variant == "selfocc":
        vals = selfocc_class_iou(hist, FREE_ID) * 100
        return {names[c]: float(vals[c - 1]) for c in range(1, FREE_ID)}
    vals = per_class_iou(hist) * 100
    return {names[c]: (None if math.isnan(vals[c]) else float(vals[c])) for c in range(FREE_ID)}


def _occupancy_summary(hist: np.ndarray, params: OccupancyParams) -> dict[str, Any]:
    occ3d = miou_from_hist(hist, "occ3d")
    selfocc = miou_from_hist(hist, "selfocc")
    return {
        "miou": occ3d if params.variant == "occ3d" else selfocc,
        "miou_occ3d": occ3d,
        "miou_selfocc": selfocc,
        "iou": _iou_dict(hist, params.variant, params.class_names),
        "geometric_iou": geometric_iou_from_hist(hist),
        "n_voxels": int(hist.sum()),
    }


def _load_pair(item: tuple[str, str, str], mask: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    from occstudio.io.occ3d import read_labels_npz, read_prediction_npz

    _, gt_path, pred_path = item
    keys = ("semantics",) if mask == "none" else ("semantics", _MASK_KEYS[mask])
    gt = read_labels_npz(gt_path, keys=keys)
    pred = read_prediction_npz(pred_path)
    return gt["semantics"], pred, None if mask == "none" else gt[_MASK_KEYS[mask]]


def evaluate_occupancy_chunk(items: Sequence[tuple[str, str, str]], params: OccupancyParams) -> dict[str, Any]:
    """Occupancy metrics of a chunk of samples.

    Files are read on ``params.loader_threads`` threads while the previous sample is
    scored. A sample whose files are unusable gets an error entry and is left out of
    the confusion matrix.

    Returns
    -------
    dict
        ``hist`` (18×18 int64 confusion matrix of the chunk), ``samples`` (id ->
        metrics), ``errors`` (id -> message).
    """
    if params.mask not in ("camera", "lidar", "none"):
        raise DataError(None, f"mask must be camera, lidar or none, got {params.mask!r}")
    if params.variant not in ("occ3d", "selfocc"):
        raise DataError(None, f"variant must be occ3d or selfocc, got {params.variant!r}")
    acc = OccupancyMetricAccumulator(compute_fscore=params.fscore)
    samples: dict[str, Any] = {}
    errors: dict[str, str] = {}

    def load(item: tuple[str, str, str]) -> Any:
        try:
            return _load_pair(item, params.mask)
        except (OccStudioError, ValueError) as exc:
            return exc

    def score(item: tuple[str, str, str], loaded: Any) -> None:
        sid = item[0]
        if isinstance(loaded, Exception):
            errors[sid] = str(loaded)
            return
        gt, pred, mask = loaded
        try:
            before = acc.hist.copy()
            frame = acc.add(gt, pred, mask, sample_id=sid)
        except ValueError as exc:
            errors[sid] = f"{item[2]}: {exc}"
            return
        one = _occupancy_summary(acc.hist - before, params)
        if frame.fscore is not None:
            one.update(fscore=frame.fscore.fscore, precision=frame.fscore.precision, recall=frame.fscore.recall)
        samples[sid] = one

    threads = max(0, int(params.loader_threads))
    if threads == 0:
        for item in items:
            score(item, load(item))
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="occ-eval") as pool:
            for item, loaded in zip(items, pool.map(load, items)):
                score(item, loaded)
    return {"hist": acc.hist, "samples": samples, "errors": errors}


def combine_occupancy(chunks: Sequence[dict[str, Any]], params: OccupancyParams) -> dict[str, Any]:
    """Set totals from chunk results: one summed confusion matrix."""
    hist = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    fscores = []
    n = 0
    for ch in chunks:
        hist += np.asarray(ch["hist"], dtype=np.int64)
        n += len(ch["samples"])
        fscores += [m["fscore"] for m in ch["samples"].values() if "fscore" in m]
    out = _occupancy_summary(hist, params)
    out.update(n_samples=n, variant=params.variant, mask=params.mask)
    if params.fscore:
        out["fscore"] = float(np.mean(fscores)) if fscores else float("nan")
    return out


@dataclass
class MeshParams:
    """Mesh-metric parameters (see :data:`occstudio.builtins.mesh_eval.DEFAULT_PARAMS`)."""

    values: dict[str, Any] = field(default_factory=dict)


def evaluate_mesh_chunk(items: Sequence[tuple[str, str, str]], params: MeshParams) -> dict[str, Any]:
    """Mesh metrics of a chunk of ``(id, gt_mesh, prediction)`` samples."""
    from occstudio.builtins.mesh_eval import evaluate_sample

    samples: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for sid, gt, pred in items:
        try:
            samples[sid] = evaluate_sample(Sample(id=sid, paths={"gt_mesh": Path(gt)}), Path(pred), params.values)
        except (OccStudioError, ValueError) as exc:
            errors[sid] = str(exc)
    return {"samples": samples, "errors": errors}


def combine_mesh(chunks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Means of every numeric mesh metric over the evaluated samples."""
    rows = [m for ch in chunks for m in ch["samples"].values()]
    out: dict[str, Any] = {"n_samples": len(rows)}
    for key in ("chamfer_l1", "chamfer_l2", "normal_consistency"):
        vals = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
        out[key] = float(np.mean(vals)) if vals else None
    keys = sorted({k for r in rows for k in (r.get("fscore") or {})})
    out["fscore"] = {k: float(np.mean([r["fscore"][k] for r in rows if k in (r.get("fscore") or {})])) for k in keys}
    return out


# ---------------------------------------------------------------------------- engines


def _chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    size = max(1, int(size))
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def run_local(
    func: Callable[..., dict[str, Any]],
    chunks: Sequence[Sequence[Any]],
    params: Any,
    workers: int = 2,
    pool: Pool = "thread",
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Evaluate chunks on a local pool; results in chunk order."""
    progress = ensure_progress(progress)
    workers = max(1, int(workers))
    if pool not in ("thread", "process"):
        raise DataError(None, f"pool must be thread or process, got {pool!r}")
    results: list[dict[str, Any] | None] = [None] * len(chunks)
    if workers == 1 and pool == "thread":
        for i, ch in enumerate(chunks):
            results[i] = func(ch, params)
            progress.advance(len(ch))
        return results  # type: ignore[return-value]
    if pool == "process":
        import multiprocessing

        executor: Any = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    else:
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval")
    with executor:
        futures: dict[Future, int] = {executor.submit(func, ch, params): i for i, ch in enumerate(chunks)}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = futures[fut]
                    results[i] = fut.result()
                    progress.advance(len(chunks[i]))
                progress.check()
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
    return results  # type: ignore[return-value]


def run_ray(
    func: Callable[..., dict[str, Any]],
    chunks: Sequence[Sequence[Any]],
    params: Any,
    address: str | None = None,
    num_cpus: int = 2,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Evaluate chunks as Ray tasks (one per chunk); results in chunk order.

    Connects to ``address`` when given (``"auto"``, ``"ray://host:10001"``...), else
    starts a local instance with ``num_cpus`` CPUs that is shut down afterwards.

    Raises
    ------
    EngineError
        Ray is not installed or the cluster cannot be reached.
    """
    progress = ensure_progress(progress)
    try:
        import ray
    except ImportError:
        raise EngineError("the Ray engine needs the optional extra: pip install 'occstudio[cluster]'") from None
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started = False
    if not ray.is_initialized():
        try:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=max(1, int(num_cpus)), include_dashboard=False, log_to_driver=False)
                started = True
        except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError...
            where = address or "a local instance"
            raise EngineError(f"cannot start Ray on {where}: {type(exc).__name__}: {exc}") from None
    try:
        task = ray.remote(num_cpus=1)(func)
        refs = [task.remote(list(ch), params) for ch in chunks]
        index = {ref: i for i, ref in enumerate(refs)}
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=0.2)
                for ref in done:
                    progress.advance(len(chunks[index[ref]]))
                progress.check()
        except Cancelled:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        return list(ray.get(refs))
    finally:
        if started:
            ray.shutdown()


# -------------------------------------------------------------------------- datasets


def evaluate_dataset(
    dataset: Dataset | str | Path,
    pred_root: str | Path,
    *,
    engine: Engine = "local",
    workers: int = 2,
    pool: Pool = "thread",
    ray_address: str | None = None,
    chunk_size: int | None = None,
    mask: str = "camera",
    variant: str = "occ3d",
    fscore: bool = False,
    mesh_params: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Every sample's metrics plus the set totals.

    Parameters
    ----------
    dataset
        An open dataset, or a path opened with :func:`occstudio.io.opening.open_dataset`
        (Occ3D ground truth or an ExtremeOcc-3D manifest).
    pred_root
        Prediction folder (Occ3D: ``<token>.npz`` or ``<scene>/<token>/labels.npz``;
        ExtremeOcc: ``<id>/<mesh>.glb|.ply|.obj``).
    engine
        ``"local"`` (a thread or process pool of ``workers``) or ``"ray"`` (one task per
        chunk; ``ray_address`` or a local instance with ``workers`` CPUs).
    chunk_size
        Samples per task (default: about four chunks per worker).
    mask, variant, fscore
        Occupancy options (camera/lidar/none, occ3d/selfocc, the challenge F-score).
    mesh_params
        Mesh-metric options (ExtremeOcc).
    progress
        Advanced per finished chunk (in samples); cancellation between chunks.

    Returns
    -------
    dict
        ``dataset``, ``format``, ``metric`` (``occupancy`` or ``mesh``), ``engine``,
        ``n_samples``, ``samples`` (id -> metrics, dataset order), ``totals``,
        ``errors`` (id -> message), ``missing_predictions`` (ids), ``warnings``.
    """
    progress = ensure_progress(progress)
    if isinstance(dataset, (str, Path)):
        from occstudio.io.opening import open_dataset

        dataset = open_dataset(dataset)
    if engine not in ("local", "ray"):
        raise DataError(None, f"engine must be local or ray, got {engine!r}")
    workers = max(1, int(workers))
    if dataset.format == "occ3d":
        items, missing = occupancy_items(dataset, pred_root)
        func: Callable[..., dict[str, Any]] = evaluate_occupancy_chunk
        params: Any = OccupancyParams(mask=mask, variant=variant, fscore=fscore)
        metric = "occupancy"
    elif dataset.format == "extremeocc":
        from occstudio.io.predictions import match_predictions

        matches = match_predictions(pred_root, dataset.ids())
        items, missing = [], []
        for s in dataset.samples:
            gt = s.path("gt_mesh") or s.path("mesh")
            if s.id not in matches:
                missing.append(s.id)
            elif gt is None:
                missing.append(s.id)
            else:
                items.append((s.id, str(gt), str(matches[s.id])))
        if not items:
            raise DataError(Path(pred_root), "no sample has both a GT mesh and a prediction")
        func = evaluate_mesh_chunk
        values = dict(mesh_params or {})
        if "device" not in values and not cuda_driver_present():
            values["device"] = "cpu"  # skip importing torch just to learn there is no GPU
        params = MeshParams(values)
        metric = "mesh"
    else:
        raise DataError(dataset.source, f"eval supports Occ3D and ExtremeOcc-3D datasets, not {dataset.format!r}")
    size = chunk_size or max(1, math.ceil(len(items) / (4 * workers)))
    chunks = _chunks(items, size)
    progress.start(len(items), f"Evaluating {len(items)} samples ({engine})")
    if engine == "ray":
        results = run_ray(func, chunks, params, address=ray_address, num_cpus=workers, progress=progress)
    else:
        results = run_local(func, chunks, params, workers=workers, pool=pool, progress=progress)
    samples: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for r in results:
        samples.update(r["samples"])
        errors.update(r["errors"])
    order = [sid for sid, _, _ in items if sid in samples]
    totals = combine_occupancy(results, params) if metric == "occupancy" else combine_mesh(results)
    return {
        "dataset": str(dataset.source),
        "format": dataset.format,
        "metric": metric,
        "engine": engine,
        "n_samples": len(order),
        "samples": {sid: samples[sid] for sid in order},
        "totals": totals,
        "errors": errors,
        "missing_predictions": missing,
        "warnings": list(dataset.warnings),
    }
