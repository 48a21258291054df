"""The ``occstudio`` command line.

``occstudio [PATH]`` opens the window; the other commands run headless through the same
functions the GUI uses. Bad input exits with status 2 and one line on stderr (no
traceback unless ``--debug``). The GUI, torch and open3d are imported only when needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from occstudio import __version__
from occstudio.core.errors import OccStudioError

COMMANDS = ("gui", "info", "metrics", "compute", "reconstruct", "occupancy", "eval", "screenshot", "export-video",
            "priors", "plugins")


class UsageError(OccStudioError):
    """Bad arguments (reported like any other user error)."""


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1600x1000, got {text!r}") from None
    if w < 64 or h < 64:
        raise argparse.ArgumentTypeError("size must be at least 64x64")
    return w, h


def _parse_thresholds(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    for t in items:
        try:
            if float(t) <= 0:
                raise ValueError
        except ValueError:
            raise argparse.ArgumentTypeError(f"thresholds must be positive numbers, got {t!r}") from None
    if not items:
        raise argparse.ArgumentTypeError("give at least one threshold")
    return items


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="occstudio", description="A studio for 3D occupancy and amodal-3D research data.")
    parser.add_argument("--version", action="version", version=f"occstudio {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("gui", help="open the window (the default command)")
    p.add_argument("path", nargs="?", help="dataset folder, manifest or file to open")
    p.add_argument("--sample", help="sample id to show first")

    p = sub.add_parser("info", help="describe a dataset: format, samples, fields, missing files")
    p.add_argument("path")
    p.add_argument("--format", help="loader id to use instead of detection")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("metrics", help="compute metrics")
    msub = p.add_subparsers(dest="metrics_kind", metavar="KIND")
    m = msub.add_parser("mesh", help="Chamfer-L1/L2, F-score and normal consistency of two meshes or point clouds")
    m.add_argument("--gt", required=True, help="GT mesh or point cloud (.ply/.obj/.glb/.npy/.bin)")
    m.add_argument("--pred", required=True, help="predicted mesh or point cloud")
    m.add_argument("--n-points", type=int, default=100_000, help="surface samples per mesh (default 100000)")
    m.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    m.add_argument("--normalize", choices=("none", "bbox", "cube"), default="none",
                   help="none, bbox (unit GT bounding-box diagonal) or cube (unit GT longest side)")
    m.add_argument("--sampling", choices=("surface", "vertices"), default="surface")
    m.add_argument("--thresholds", type=_parse_thresholds, default=["0.01", "0.02", "0.05"],
                   help="F-score thresholds, comma-separated (default 0.01,0.02,0.05)")
    m.add_argument("--icp", action="store_true", help="align the prediction to the GT with ICP first")
    m.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    m.add_argument("--json", action="store_true")

    from occstudio.builtins.compute_cli import add_compute_parsers

    add_compute_parsers(sub, msub)

    p = sub.add_parser("compute", help="run a registered computation (see 'occstudio plugins list') on samples")
    p.add_argument("computation", help="computation id, e.g. semantickitti.occupancy_stats")
    p.add_argument("path", help="dataset to run it on")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--sample", help="one sample id (default: every sample)")
    which.add_argument("--all", action="store_true", help="every sample (the default)")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="a parameter value (repeatable)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("screenshot", help="open the window on a sample and save a PNG of it (needs a display)")
    p.add_argument("path")
    p.add_argument("--sample", help="sample id to show")
    p.add_argument("--predictions", help="prediction folder to show beside the GT")
    p.add_argument("--error-view", action="store_true", help="occupancy: show GT-vs-prediction errors")
    p.add_argument("--size", type=_parse_size, default=(1600, 1000), help="window size WxH (default 1600x1000)")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--json", action="store_true", help="print the shown sample and pane regions as JSON")

    p = sub.add_parser("priors", help="prior images of ExtremeOcc-3D samples")
    prsub = p.add_subparsers(dest="priors_command", metavar="ACTION")
    pe = prsub.add_parser(
        "export", help="write a manifest with prior_images (byte-compatible with RelaxFlow's prepare_manifest_with_priors.py)"
    )
    pe.add_argument("manifest", help="input manifest (.json list, {\"samples\": [...]}, or .jsonl)")
    pe.add_argument("--priors-root", required=True, help="folder holding <sample id>/ prior folders")
    pe.add_argument("--output", required=True, help="manifest to write; prior paths are relative to its folder")
    pe.add_argument("--allow-missing", action="store_true",
                    help="keep samples without priors (no prior_images key) instead of failing")
    pe.add_argument("--prior-text-overrides", help="JSON file {id: text} that replaces prior_text")

    from occstudio.render.video_cli import add_export_video_parser

    add_export_video_parser(sub)

    p = sub.add_parser("plugins", help="installed plugins")
    psub = p.add_subparsers(dest="plugins_command", metavar="ACTION")
    pl = psub.add_parser("list", help="list plugins with version, status and contributions")
    pl.add_argument("--json", action="store_true")
    return parser


def _normalise_argv(argv: list[str]) -> list[str]:
    """``occstudio [PATH]`` means ``occstudio gui [PATH]``."""
    globals_ = [a for a in argv if a == "--debug"]
    rest = [a for a in argv if a != "--debug"]
    if not rest or (rest[0] not in COMMANDS and rest[0] not in {"-h", "--help", "--version"}):
        rest = ["gui", *rest]
    return [*globals_, *rest]


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, allow_nan=False) + "\n")


def cmd_info(args: argparse.Namespace) -> int:
    from occstudio.io.opening import open_dataset

    dataset = open_dataset(args.path, format=args.format)
    samples = []
    for s in dataset.samples:
        fields = sorted({*s.paths, *(k for k, v in s.text.items() if v)})
        samples.append({"id": s.id, "fields": fields, "missing": list(s.missing), "errors": list(s.errors)})
    result = {
        "format": dataset.format,
        "source": str(dataset.source),
        "n_samples": len(dataset),
        "samples": samples,
        "warnings": list(dataset.warnings),
    }
    if args.json:
        _print_json(result)
        return 0
    print(f"{dataset.source}: {dataset.format}, {len(dataset)} samples")
    for w in dataset.warnings:
        print(f"  warning: {w}")
    for s in samples:
        flag = "  !" if s["missing"] or s["errors"] else "   "
        print(f"{flag} {s['id']}  [{', '.join(s['fields'])}]")
        for m in s["missing"]:
            print(f"      missing {m}")
        for e in s["errors"]:
            print(f"      error {e}")
    return 0


def cmd_metrics(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.metrics_kind == "occupancy":
        from occstudio.builtins.compute_cli import run_metrics_occupancy

        return run_metrics_occupancy(args)
    if args.metrics_kind != "mesh":
        raise UsageError("metrics: choose a kind: 'occstudio metrics mesh --gt A --pred B' or 'metrics occupancy'")
    from occstudio.core.compute.metrics import mesh_metrics
    from occstudio.core.jobs import TqdmProgress
    from occstudio.io.geometry import load_geometry

    if args.n_points <= 0:
        raise UsageError("--n-points must be positive")
    gt, pred = load_geometry(args.gt), load_geometry(args.pred)
    progress = None if args.json or not sys.stderr.isatty() else TqdmProgress()
    result = mesh_metrics(
        gt, pred, n_points=args.n_points, seed=args.seed, normalize=args.normalize,
        thresholds=tuple(args.thresholds), sampling=args.sampling, icp=args.icp,
        device=args.device, progress=progress,
    )
    if args.json:
        _print_json(result)
    else:
        for key, value in result.items():
            if isinstance(value, dict):
                for t, v in value.items():
                    print(f"{key}@{t}: {v:.6f}")
            else:
                print(f"{key}: {value}")
    return 0


def cmd_screenshot(args: argparse.Namespace) -> int:
    from occstudio.gui.app import take_screenshot

    if not Path(args.path).exists():
        raise OccStudioError(f"{args.path}: file or folder not found")
    result = take_screenshot(args.path, args.out, args.sample, args.size, args.predictions, args.error_view)
    if args.json:
        _print_json(result)
    else:
        print(result["path"])
    return 0


def cmd_compute(args: argparse.Namespace) -> int:
    from occstudio.builtins.computations import run_computation
    from occstudio.core.jobs import TqdmProgress
    from occstudio.io.opening import open_dataset
    from occstudio.plugins.registry import get_registry

    reg = get_registry()
    spec = reg.computations.get(args.computation)
    if spec is None:
        known = ", ".join(sorted(reg.computations)) or "none installed"
        raise UsageError(f"unknown computation {args.computation!r} (known: {known})")
    params = spec.parse_params(args.param)
    dataset = open_dataset(args.path)
    ids = [args.sample] if args.sample else dataset.ids()
    unknown = [sid for sid in ids if sid not in set(dataset.ids())]
    if unknown:
        raise UsageError(f"{args.path}: unknown sample id {unknown[0]!r}")
    progress = None if args.json or not sys.stderr.isatty() else TqdmProgress()
    results = run_computation(spec, dataset, ids, params, progress)
    if args.json:
        _print_json({"computation": spec.id, "params": params, "results": results})
    else:
        for sid, values in results.items():
            print(f"{sid}: {json.dumps(values)}")
    if results and all("error" in v for v in results.values()):
        raise OccStudioError(f"{spec.id} failed on every sample: {next(iter(results.values()))['error']}")
    return 0


def cmd_priors(args: argparse.Namespace) -> int:
    if args.priors_command != "export":
        raise UsageError("priors: choose an action, e.g. 'occstudio priors export MANIFEST --priors-root DIR --output OUT'")
    from occstudio.io.priors import export_manifest_with_priors

    out = export_manifest_with_priors(
        args.manifest, args.priors_root, args.output,
        allow_missing=args.allow_missing, prior_text_overrides=args.prior_text_overrides,
    )
    print(f"wrote {out}")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from occstudio.plugins.registry import get_registry

    reg = get_registry()
    rows = [
        {"name": p.name, "version": p.version, "status": p.status, "error": p.error, "contributions": p.contributions}
        for p in reg.plugins
    ]
    if getattr(args, "json", False):
        _print_json({"api_version": reg.api_version, "plugins": rows})
        return 0
    for r in rows:
        detail = r["error"] if r["status"] == "failed" else ", ".join(r["contributions"])
        print(f"{r['name']} {r['version']} [{r['status']}] {detail}")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    if args.path is not None and not Path(args.path).exists():
        raise OccStudioError(f"{args.path}: file or folder not found")
    from occstudio.gui.app import run_gui

    return run_gui(args.path, args.sample)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``occstudio`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(_normalise_argv(argv))
    try:
        if args.command == "info":
            return cmd_info(args)
        if args.command in ("reconstruct", "occupancy", "eval"):
            from occstudio.builtins.compute_cli import run_compute

            return run_compute(args)
        if args.command == "metrics":
            return cmd_metrics(args, parser)
        if args.command == "screenshot":
            return cmd_screenshot(args)
        if args.command == "plugins":
            return cmd_plugins(args)
        if args.command == "priors":
            return cmd_priors(args)
        if args.command == "compute":
            return cmd_compute(args)
        if args.command == "export-video":
            from occstudio.render.video_cli import run_export_video

            return run_export_video(args)
        return cmd_gui(args)
    except (OccStudioError, OSError, ValueError) as exc:
        if args.debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"occstudio: error: {message}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("occstudio: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
