"""Command-line glue of the compute engine: ``reconstruct``, ``occupancy``, ``metrics
occupancy`` and ``eval``.

:func:`add_compute_parsers` adds the sub-commands to the ``occstudio`` parser (and the
``occupancy`` kind to ``occstudio metrics``); ``run_*`` execute them and return the exit
status. Bad input raises :class:`~occstudio.core.errors.DataError` /
:class:`~occstudio.core.errors.MissingFileError`, which ``occstudio.cli.main`` reports
as one line with exit status 2. ``--json`` prints one JSON object on stdout (NaN as
``null``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from occstudio.builtins.evaluation import jsonable
from occstudio.core.compute.occupancy import BACKENDS
from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.geometry import Camera, GridSpec
from occstudio.core.jobs import Progress, TqdmProgress, ensure_progress

#: Top-level commands added by :func:`add_compute_parsers`.
COMPUTE_COMMANDS = ("reconstruct", "occupancy", "eval")


# ------------------------------------------------------------------------- arguments


def _voxel_size_arg(text: str) -> float | str:
    if text.strip().lower() == "dynamic":
        return "dynamic"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"voxel size must be a number or 'dynamic', got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"voxel size must be positive, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_compute_parsers(
    subparsers: argparse._SubParsersAction,
    metrics_subparsers: argparse._SubParsersAction | None = None,
) -> None:
    """Add ``reconstruct``, ``occupancy`` and ``eval`` to ``subparsers``, and the
    ``occupancy`` kind to ``metrics_subparsers`` (the ``occstudio metrics`` kinds).

    Each parser sets ``compute_handler`` (the ``run_*`` function to call).
    """
    p = subparsers.add_parser(
        "reconstruct", help="fuse depth frames (OccGen trajectory, condition.npz) or LiDAR sweeps into a point cloud"
    )
    p.add_argument("input", help="trajectory folder, condition.npz, or a LiDAR sweep list (.json)")
    p.add_argument("--out", required=True, help="PLY file to write (xyz, + rgb when colour frames exist)")
    p.add_argument("--voxel-size", type=_voxel_size_arg, default=None,
                   help="downsampling voxel size in metres, or 'dynamic' (OccGen's rule); default: keep every point")
    p.add_argument("--min-depth", type=float, default=0.0, help="keep depths above this (metres; default 0)")
    p.add_argument("--max-depth", type=_positive_float, default=None, help="keep depths up to this (metres)")
    p.add_argument("--depth-scale", type=_positive_float, default=10000.0,
                   help="stored depth units per metre of 16-bit depth PNGs (default 10000, OccGen)")
    p.add_argument("--stride", type=_positive_int, default=1, help="use every K-th pixel (default 1)")
    p.add_argument("--no-color", action="store_true", help="do not read colour frames")
    p.add_argument("--mesh", help="also write a TSDF-fused mesh (PLY) here (open3d)")
    p.add_argument("--tsdf-voxel", type=_positive_float, default=0.02, help="TSDF voxel size in metres (default 0.02)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(compute_handler=run_reconstruct)

    p = subparsers.add_parser("occupancy", help="voxelize a reconstruction into Occ3D or OccGen occupancy files")
    p.add_argument("input", help="trajectory folder, condition.npz, or a point cloud (.ply/.npy/.bin)")
    p.add_argument("--out", required=True,
                   help="occ3d: a labels.npz (or a folder for it); occgen: a folder for occ_sequence.npz / mask_sequence.npz")
    p.add_argument("--format", choices=("occ3d", "occgen"), default="occ3d")
    p.add_argument("--voxel-size", type=_positive_float, default=None,
                   help="voxel size (default: the format's grid, 0.4 for occ3d, 0.02 for occgen)")
    p.add_argument("--range", type=float, nargs=6, metavar=("XMIN", "YMIN", "ZMIN", "XMAX", "YMAX", "ZMAX"),
                   help="grid range (occ3d: world frame; occgen: each camera's frame, OpenCV axes)")
    p.add_argument("--visibility", action="store_true",
                   help="camera visibility by exact voxel traversal (occ3d: mask_camera; occgen: mask_sequence)")
    p.add_argument("--carve", action="store_true", help="occ3d: free-space carving along depth rays for mask_lidar")
    p.add_argument("--label", type=int, default=0, help="occ3d label of occupied voxels from unlabelled points (default 0)")
    p.add_argument("--label-column", type=int, default=None,
                   help="point clouds: column holding semantic labels (majority vote per voxel)")
    p.add_argument("--depth-scale", type=_positive_float, default=10000.0, help="16-bit depth PNG units per metre")
    p.add_argument("--max-depth", type=_positive_float, default=None, help="keep depths up to this (metres)")
    p.add_argument("--stride", type=_positive_int, default=1, help="pixel stride of back-projection and visibility rays")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="voxel traversal backend (auto: torch on CUDA, else numba when installed, else numpy)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(compute_handler=run_occupancy)

    p = subparsers.add_parser("eval", help="evaluate a dataset against a prediction folder (per sample and set totals)")
    p.add_argument("dataset", help="Occ3D ground truth or an ExtremeOcc-3D manifest")
    p.add_argument("--pred-root", required=True, help="prediction folder")
    p.add_argument("--out", required=True, help="results JSON file to write")
    p.add_argument("--engine", choices=("local", "ray"), default="local")
    p.add_argument("--workers", type=_positive_int, default=2, help="local workers or Ray CPUs (default 2)")
    p.add_argument("--pool", choices=("thread", "process"), default="thread", help="local pool kind (default thread)")
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: start a local instance)")
    p.add_argument("--chunk-size", type=_positive_int, default=None, help="samples per task")
    p.add_argument("--mask", choices=("camera", "lidar", "none"), default="camera", help="occupancy: voxels evaluated")
    p.add_argument("--variant", choices=("occ3d", "selfocc"), default="occ3d", help="occupancy: mIoU definition")
    p.add_argument("--fscore", action="store_true", help="occupancy: also the challenge F-score")
    p.add_argument("--json", action="store_true", help="print the totals as one JSON object")
    p.set_defaults(compute_handler=run_eval)

    if metrics_subparsers is not None:
        m = metrics_subparsers.add_parser(
            "occupancy", help="Occ3D mIoU (one confusion matrix over the set), per-class and geometric IoU"
        )
        m.add_argument("--gt", required=True, help="labels.npz, or a folder of Occ3D ground truth")
        m.add_argument("--pred", required=True, help="prediction .npz (arr_0 or semantics), or a folder of them")
        m.add_argument("--mask", choices=("camera", "lidar", "none"), default="camera")
        m.add_argument("--variant", choices=("occ3d", "selfocc"), default="occ3d")
        m.add_argument("--fscore", action="store_true", help="also the challenge F-score (0.4 m)")
        m.add_argument("--workers", type=int, default=2, help="loader threads (default 2)")
        m.add_argument("--json", action="store_true")
        m.set_defaults(compute_handler=run_metrics_occupancy)


def run_compute(args: argparse.Namespace) -> int:
    """Run the handler :func:`add_compute_parsers` attached to ``args``."""
    handler = getattr(args, "compute_handler", None)
    if handler is None:
        raise DataError(None, "no compute command given")
    return int(handler(args))


# --------------------------------------------------------------------------- helpers


def _progress(args: argparse.Namespace) -> Progress | None:
    return None if getattr(args, "json", False) or not sys.stderr.isatty() else TqdmProgress()


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n")


def _warn(lines: list[str]) -> None:
    for line in lines:
        sys.stderr.write(f"occstudio: warning: {line}\n")


def _load_frames(path: Path, depth_scale: float, colors: bool) -> tuple[list[Any], list[str]]:
    from occstudio.io.condition import open_depth_frames

    return open_depth_frames(path, depth_scale=depth_scale, rgb=colors)


def _is_frames_input(path: Path) -> bool:
    from occstudio.io.condition import is_condition_file
    from occstudio.io.occgen import trajectory_root

    return trajectory_root(path) is not None or is_condition_file(path)


# ------------------------------------------------------------------------ reconstruct


def run_reconstruct(args: argparse.Namespace) -> int:
    """``occstudio reconstruct``: fuse frames into a PLY; JSON keys ``n_points``, ``bounds``."""
    from occstudio.core.compute.reconstruction import fuse_depth_frames, fuse_lidar_sweeps, tsdf_mesh
    from occstudio.io.condition import read_lidar_sweeps
    from occstudio.io.meshes import MeshData, write_ply

    src = Path(args.input)
    if not src.exists():
        raise MissingFileError(src, "input")
    progress = _progress(args)
    warnings: list[str] = []
    if src.suffix.lower() == ".json":
        if args.mesh:
            raise DataError(src, "--mesh needs depth frames, not LiDAR sweeps")
        if args.voxel_size == "dynamic":
            raise DataError(src, "a dynamic voxel size needs depth frames")
        sweeps = read_lidar_sweeps(src)
        cloud = fuse_lidar_sweeps(
            sweeps, min_range=args.min_depth, max_range=args.max_depth, voxel_size=args.voxel_size, progress=progress
        )
        kind, n_frames = "lidar", len(sweeps)
    else:
        frames, warnings = _load_frames(src, args.depth_scale, not args.no_color)
        cloud = fuse_depth_frames(
            frames, min_depth=args.min_depth, max_depth=args.max_depth, stride=args.stride,
            voxel_size=args.voxel_size, colors=not args.no_color, progress=progress,
        )
        warnings += cloud.meta.get("warnings", [])
        kind, n_frames = "depth", len(frames)
    if len(cloud) == 0:
        raise DataError(src, "no valid depth in range: the cloud is empty")
    out = Path(args.out)
    write_ply(out, cloud.points, colors=cloud.colors)
    lo, hi = cloud.bounds
    result: dict[str, Any] = {
        "n_points": len(cloud),
        "bounds": {"min": lo, "max": hi},
        "n_raw_points": cloud.n_raw,
        "n_frames": n_frames,
        "input_kind": kind,
        "voxel_size": cloud.voxel_size,
        "colors": cloud.colors is not None,
        "out": str(out),
        "warnings": warnings,
    }
    if args.mesh:
        mesh = tsdf_mesh(frames, voxel_length=args.tsdf_voxel, max_depth=args.max_depth or 10.0,
                         colors=not args.no_color, progress=progress)
        write_ply(args.mesh, MeshData(vertices=mesh.vertices, faces=mesh.faces, vertex_colors=mesh.vertex_colors))
        result["mesh"] = {"path": str(args.mesh), "n_vertices": len(mesh.vertices), "n_faces": len(mesh.faces)}
    if args.json:
        _print_json(result)
    else:
        _warn(warnings)
        print(f"wrote {out}: {len(cloud)} points from {n_frames} frames")
        print(f"bounds: min {np.round(lo, 4).tolist()} max {np.round(hi, 4).tolist()}")
        if args.mesh:
            print(f"wrote {args.mesh}: {result['mesh']['n_faces']} triangles")
    return 0


# -------------------------------------------------------------------------- occupancy


def _grid_from_args(args: argparse.Namespace, points: np.ndarray | None) -> GridSpec:
    from occstudio.core.compute.occupancy import grid_for_points

    if args.range is not None:
        rng = np.asarray(args.range, dtype=float)
        if np.any(rng[3:] <= rng[:3]):
            raise DataError(None, f"--range max must exceed min on every axis, got {args.range}")
        size = args.voxel_size or (0.4 if args.format == "occ3d" else 0.02)
        grid = GridSpec.from_range(rng, size)
        if min(grid.shape) < 1:
            raise DataError(None, f"--range {args.range} holds no voxel of size {size}")
        return grid
    if args.format == "occgen":
        if args.voxel_size is None:
            return GridSpec.occgen()
        return GridSpec.from_range((-4.0, -2.0, -4.0, 4.0, 2.0, 4.0), args.voxel_size)
    if args.voxel_size is None:
        return GridSpec.occ3d()
    if points is None or len(points) == 0:
        raise DataError(None, "no points to size the grid: give --range")
    return grid_for_points(points, args.voxel_size)


def _check_grid_size(grid: GridSpec, frames: int = 1) -> None:
    if grid.n_voxels > 1_000_000_000:
        raise DataError(None, f"grid {grid.shape} has {grid.n_voxels:,} voxels; use a larger voxel size or a smaller range")


def _read_point_input(path: Path, label_column: int | None) -> tuple[np.ndarray, np.ndarray | None]:
    from occstudio.io.files import read_points
    from occstudio.io.meshes import read_mesh

    suffix = path.suffix.lower()
    if suffix in (".npy", ".bin"):
        pts = read_points(path)
    elif suffix == ".ply":
        pts = np.asarray(read_mesh(path).vertices, dtype=np.float64)
    else:
        raise DataError(path, "not a trajectory folder, condition.npz or point cloud (.ply/.npy/.bin)")
    labels = None
    if label_column is not None:
        if not 3 <= label_column < pts.shape[1]:
            raise DataError(path, f"--label-column {label_column} is not a column of this {pts.shape[1]}-column cloud")
        labels = pts[:, label_column]
    return pts[:, :3], labels


def run_occupancy(args: argparse.Namespace) -> int:
    """``occstudio occupancy``: write Occ3D ``labels.npz`` or OccGen sequences."""
    from occstudio.core.compute.occupancy import (
        camera_visibility,
        carve_free_space,
        majority_vote,
        occupancy_grid,
    )
    from occstudio.core.compute.reconstruction import fuse_depth_frames
    from occstudio.io.occ3d_writer import write_occ3d_labels
    from occstudio.io.occgen import write_mask_sequence, write_occ_sequence

    src = Path(args.input)
    if not src.exists():
        raise MissingFileError(src, "input")
    progress = _progress(args)
    warnings: list[str] = []
    frames: list[Any] = []
    labels = None
    cloud = None
    if src.is_dir() or _is_frames_input(src):
        frames, warnings = _load_frames(src, args.depth_scale, False)
        cloud = fuse_depth_frames(frames, max_depth=args.max_depth, stride=args.stride, colors=False, progress=progress)
        points = np.asarray(cloud.points, dtype=np.float64)
    else:
        points, labels = _read_point_input(src, args.label_column)
    if (args.visibility or args.carve or args.format == "occgen") and not frames:
        raise DataError(src, "--visibility, --carve and --format occgen need cameras: give a trajectory or condition.npz")
    grid = _grid_from_args(args, points)
    _check_grid_size(grid)
    out = Path(args.out)
    result: dict[str, Any] = {
        "format": args.format,
        "grid": {"origin": list(grid.origin), "voxel_size": list(grid.voxel_size), "shape": list(grid.shape)},
        "n_points": int(len(points)),
        "n_frames": len(frames),
    }
    sizes = cloud.meta.get("image_sizes", []) if cloud is not None else []

    if args.format == "occ3d":
        if labels is not None:
            semantics = majority_vote(points, labels, grid, free_label=17)
            occupied = semantics != 17
        else:
            occupied = occupancy_grid(points, grid)
            if not 0 <= args.label <= 255:
                raise DataError(None, f"--label must be in 0..255, got {args.label}")
            semantics = np.where(occupied, np.uint8(args.label), np.uint8(17)).astype(np.uint8)
        mask_camera = mask_lidar = None
        if args.visibility:
            mask_camera = np.zeros(grid.shape, dtype=bool)
            steps = ensure_progress(progress)
            steps.start(len(frames), "Camera visibility")
            for i, frame in enumerate(frames):
                w, h = sizes[i]
                cam = Camera.from_pose(frame.K, frame.pose, w, h)
                vis = camera_visibility(occupied, grid, cam, stride=args.stride, backend=args.backend)
                mask_camera |= vis.visible
                steps.advance(1)
            result["n_visible"] = int(mask_camera.sum())
        if args.carve:
            assert cloud is not None and cloud.frame_index is not None
            free = carve_free_space(grid, points, cloud.origins, cloud.frame_index, occupied, backend=args.backend,
                                    progress=progress)
            mask_lidar = free | occupied
            result["n_free"] = int(free.sum())
        target = out / "labels.npz" if (out.is_dir() or out.suffix.lower() != ".npz") else out
        write_occ3d_labels(target, semantics, mask_lidar=mask_lidar, mask_camera=mask_camera)
        result["n_occupied"] = int(occupied.sum())
        result["outputs"] = [str(target)]
    else:
        out.mkdir(parents=True, exist_ok=True)
        rows: list[np.ndarray] = []
        n_occ = []

        steps = ensure_progress(progress)
        steps.start(len(frames), "Per-frame occupancy")

        def masks() -> Any:
            for i, frame in enumerate(frames):
                pose = np.asarray(frame.pose, dtype=np.float64)
                local = (points - pose[:3, 3]) @ pose[:3, :3]  # world -> camera (OpenCV axes)
                occ = occupancy_grid(local, grid)
                if args.visibility:
                    w, h = sizes[i]
                    cam = Camera(frame.K, np.eye(4), w, h)
                    vis = camera_visibility(occ, grid, cam, stride=args.stride, backend=args.backend)
                    occ &= vis.visible
                    yield vis.visible
                rows.append(np.flatnonzero(occ.reshape(-1)))
                n_occ.append(len(rows[-1]))
                steps.advance(1)

        outputs = []
        if args.visibility:
            mask_path = out / "mask_sequence.npz"
            write_mask_sequence(mask_path, masks())
        else:
            for _ in masks():
                pass
        occ_path = out / "occ_sequence.npz"
        write_occ_sequence(occ_path, rows, grid.n_voxels)
        outputs.append(str(occ_path))
        if args.visibility:
            outputs.append(str(mask_path))
        result["n_occupied_per_frame"] = n_occ
        result["outputs"] = outputs
    result["warnings"] = warnings
    if args.json:
        _print_json(result)
    else:
        _warn(warnings)
        for path in result["outputs"]:
            print(f"wrote {path}")
        print(f"grid {tuple(grid.shape)} voxel {grid.voxel_size[0]:g} from {len(points)} points")
    return 0


# ---------------------------------------------------------------- metrics occupancy


def run_metrics_occupancy(args: argparse.Namespace) -> int:
    """``occstudio metrics occupancy``: JSON keys ``miou``, ``iou``, ``geometric_iou``, ``n_samples``."""
    from occstudio.builtins.evaluation import (
        OccupancyParams,
        combine_occupancy,
        evaluate_occupancy_chunk,
        occupancy_items,
    )
    from occstudio.io.occ3d import open_occ3d

    gt, pred = Path(args.gt), Path(args.pred)
    if not gt.exists():
        raise MissingFileError(gt, "ground truth")
    if not pred.exists():
        raise MissingFileError(pred, "prediction")
    dataset = open_occ3d(gt)
    if dataset.meta.get("kind") != "ground_truth":
        raise DataError(gt, "holds predictions, not ground truth (labels.npz with masks)")
    items, missing = occupancy_items(dataset, pred)
    params = OccupancyParams(mask=args.mask, variant=args.variant, fscore=args.fscore,
                             loader_threads=max(0, args.workers))
    chunk = evaluate_occupancy_chunk(items, params)
    if chunk["errors"] and not chunk["samples"]:
        raise DataError(None, next(iter(chunk["errors"].values())))
    totals = combine_occupancy([chunk], params)
    result = {**totals, "missing_predictions": missing, "errors": chunk["errors"]}
    if len(items) > 1 or missing:
        result["samples"] = chunk["samples"]
    if args.json:
        _print_json(result)
        return 0
    _warn([f"{len(missing)} sample(s) have no prediction"] if missing else [])
    _warn([f"{sid}: {msg}" for sid, msg in chunk["errors"].items()])
    print(f"samples: {totals['n_samples']}  mask: {args.mask}  variant: {args.variant}")
    print(f"mIoU: {_fmt(totals['miou'])}")
    print(f"geometric IoU: {_fmt(totals['geometric_iou'])}")
    if args.fscore:
        print(f"F-score: {_fmt(totals['fscore'])}")
    for name, value in totals["iou"].items():
        print(f"  {name:22s} {_fmt(value)}")
    return 0


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    return f"{float(value):.2f}"


# ------------------------------------------------------------------------------- eval


def run_eval(args: argparse.Namespace) -> int:
    """``occstudio eval``: per-sample metrics and set totals written to ``--out``."""
    from occstudio.builtins.evaluation import evaluate_dataset
    from occstudio.core.persistence import atomic_write_bytes

    src = Path(args.dataset)
    if not src.exists():
        raise MissingFileError(src, "dataset")
    result = evaluate_dataset(
        src, args.pred_root, engine=args.engine, workers=args.workers, pool=args.pool,
        ray_address=args.ray_address, chunk_size=args.chunk_size, mask=args.mask, variant=args.variant,
        fscore=args.fscore, progress=_progress(args),
    )
    out = Path(args.out)
    text = json.dumps(jsonable(result), indent=2, allow_nan=False) + "\n"
    atomic_write_bytes(out, text.encode("utf-8"))
    if args.json:
        _print_json({**result["totals"], "out": str(out), "engine": args.engine,
                     "n_errors": len(result["errors"]), "n_missing": len(result["missing_predictions"])})
        return 0
    totals = result["totals"]
    print(f"wrote {out}: {result['n_samples']} samples ({result['metric']}, engine {args.engine})")
    if result["missing_predictions"]:
        _warn([f"{len(result['missing_predictions'])} sample(s) have no prediction"])
    if result["errors"]:
        _warn([f"{sid}: {msg}" for sid, msg in result["errors"].items()])
    for key in ("miou", "geometric_iou", "chamfer_l1", "chamfer_l2", "fscore"):
        if key in totals:
            print(f"{key}: {totals[key]}")
    return 0
