"""``occstudio export-video``: argparse glue around :func:`occstudio.render.video.export_video`.

Usage::

    occstudio export-video PATH [--sample ID | --samples ID,ID... | --all | --range START:END]
        [--sequence] [--predictions DIR] [--layout PRESET]
        [--camera orbit|fixed|fixed:FILE|keyframes:FILE|trajectory]
        [--frames N] [--fps F] [--size WxH] [--elevation DEG] [--up z|y|x]
        [--radius-factor K] [--metrics FILE] --out FILE [--json-progress]

With ``--json-progress`` stdout carries one JSON object per line: progress updates
``{"done": d, "total": t, "message": m}``, then ``{"result": {...}}`` on success or
``{"cancelled": true}`` after a cancel. A parent process cancels the export by sending
SIGTERM (or SIGINT): the current frame finishes, the temporary output is removed and the
command exits with status 130, leaving nothing at ``--out``.

This module imports nothing heavy at import time (pyvista/VTK load when the command runs).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from occstudio.core.errors import DataError

#: Layout presets offered on the command line (custom layout strings are accepted too).
LAYOUT_CHOICES = ("gt-pred", "image-pred-gt", "gt-pred-error", "input-world-occupancy")


def _size(text: str) -> tuple[int, int]:
    from occstudio.render.video import parse_size

    try:
        return parse_size(text)
    except DataError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def add_export_video_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``export-video`` sub-command to an argparse ``subparsers`` object; return its parser."""
    p = subparsers.add_parser(
        "export-video",
        help="render a comparison video (GT | prediction, image | prediction | GT, input | world | "
             "occupancy...) off-screen",
        description="Render a comparison video of dataset samples off-screen (no window needed). "
        "The output type follows --out: .mp4 (H.264), .gif, a folder of PNG frames or a .png pattern.",
    )
    p.add_argument("path", help="dataset folder or manifest")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--sample", help="one sample id (default: the first sample)")
    which.add_argument("--samples", help="comma-separated sample ids, one clip each with a title card")
    which.add_argument("--all", action="store_true", help="every sample of the dataset")
    which.add_argument("--range", dest="frame_range", metavar="START:END",
                       help="play the samples START..END-1 (dataset order) as one clip, a frame each")
    p.add_argument("--sequence", action="store_true",
                   help="play the whole sequence of --sample (Occ3D scene, UnScenes3D clip, OccGen "
                        "trajectory) as one clip, a frame per sample")
    p.add_argument("--predictions", help="folder of prediction meshes <id>/<name>.glb|.ply|.obj "
                                         "(default: PATH/predictions when present)")
    p.add_argument("--layout", default="gt-pred",
                   help=f"panel layout: {', '.join(LAYOUT_CHOICES)} or a custom list such as "
                        "'image,gt;pred,metrics' (default gt-pred)")
    p.add_argument("--camera", default="orbit",
                   help="orbit (turntable), fixed, fixed:FILE, keyframes:FILE (JSON list of "
                        "{position, focal_point, view_up}) or trajectory (follow the sensor of a played "
                        "sequence); default orbit")
    p.add_argument("--frames", type=int, default=60,
                   help="frames per sample turntable (default 60; a played sequence has a frame per sample)")
    p.add_argument("--fps", type=float, default=15.0, help="frames per second (default 15)")
    p.add_argument("--size", type=_size, default=(1280, 720), help="frame size WxH (default 1280x720)")
    p.add_argument("--elevation", type=float, default=20.0, help="camera elevation in degrees (default 20)")
    p.add_argument("--up", default="z", help="up axis of the meshes: z (default), y, x, -z...")
    p.add_argument("--radius-factor", type=float, default=1.0,
                   help="camera distance relative to the tight fit (default 1.0; larger leaves more margin)")
    p.add_argument("--metrics", help="JSON file {sample_id: {name: value or [per-frame values]}} for metrics panels")
    p.add_argument("--out", required=True, help="output .mp4, .gif, folder, or .png pattern (frames/f_%%04d.png)")
    p.add_argument("--json-progress", action="store_true",
                   help="print progress as JSON lines on stdout, then the result")
    return p


def _read_metrics(path: str | None) -> dict | None:
    if path is None:
        return None
    file = Path(path)
    if not file.is_file():
        from occstudio.core.errors import MissingFileError

        raise MissingFileError(file, "metrics file")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(file, f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise DataError(file, "metrics must be a JSON object {sample_id: {name: value}}")
    return data


def prefer_egl_without_display() -> None:
    """On Linux with no X/Wayland display, ask VTK for its EGL window straight away.

    VTK would try X first, print "bad X server connection" and then fall back to EGL;
    this skips the attempt and the warning. A value already in the environment wins, and
    where VTK has no EGL it falls back to what it has (OSMesa). Call before vtk creates
    its first window; it is meant for the ``export-video`` process only.
    """
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


def run_export_video(args: argparse.Namespace) -> int:
    """Run ``export-video`` from parsed arguments; returns the exit status (130 when cancelled).

    User errors (:class:`~occstudio.core.errors.OccStudioError`) propagate to the caller,
    which prints them as one line.
    """
    prefer_egl_without_display()
    from occstudio.core.jobs import Cancelled, CancelToken, TqdmProgress
    from occstudio.render.video import JsonLinesProgress, export_video

    token = CancelToken()
    if args.json_progress:
        progress = JsonLinesProgress(sys.stdout, token=token)
    elif sys.stderr.isatty():
        progress = TqdmProgress(token=token)
    else:
        from occstudio.core.jobs import NullProgress

        progress = NullProgress(token)

    def _cancel(signum: int, frame: Any) -> None:
        token.cancel()

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[sig] = signal.signal(sig, _cancel)
        except ValueError:  # not the main thread
            pass
    ids = None
    if args.sample:
        ids = [args.sample]
    elif args.samples:
        ids = [s.strip() for s in args.samples.split(",") if s.strip()]
        if not ids:
            raise DataError(None, "--samples needs at least one sample id")
    try:
        result = export_video(
            args.path, args.out, sample_ids=ids, all_samples=args.all, predictions=args.predictions,
            layout=args.layout, camera=args.camera, frames=args.frames, fps=args.fps, size=args.size,
            elevation=args.elevation, progress=progress, up=args.up, radius_factor=args.radius_factor,
            metrics=_read_metrics(args.metrics), sequence=args.sequence, frame_range=args.frame_range,
        )
    except Cancelled:
        if args.json_progress:
            sys.stdout.write(json.dumps({"cancelled": True}) + "\n")
            sys.stdout.flush()
        else:
            sys.stderr.write("occstudio: export cancelled, nothing written\n")
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if args.json_progress:
        sys.stdout.write(json.dumps({"result": result}) + "\n")
        sys.stdout.flush()
    else:
        for w in result["warnings"]:
            sys.stderr.write(f"occstudio: warning: {w}\n")
        print(f"{result['path']}: {result['frames']} frames, {result['size'][0]}x{result['size'][1]}, "
              f"{result['fps']:g} fps ({result['seconds']:.1f} s)")
    return 0
