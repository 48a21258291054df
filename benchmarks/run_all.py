"""Run every benchmark, each against its reference in the same run, and collect results.

Results go to ``benchmarks/results/<name>.json``; the printed lines are the figures to
report. Real Occ3D labels are used when ``../shared/data`` (or $OCCSTUDIO_SHARED_DATA) is
present. ``bench_startup`` needs a display: ``make bench`` runs this under Xvfb.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def shared_data() -> Path | None:
    env = os.environ.get("OCCSTUDIO_SHARED_DATA")
    path = Path(env) if env else HERE.parents[1] / "shared" / "data"
    return path if path.is_dir() else None


def main() -> int:
    RESULTS.mkdir(exist_ok=True)
    data = shared_data()
    labels = data / "occ3d" / "29796060110c4163b07f06eff4af0753" / "labels.npz" if data else None
    label_args = ["--labels", str(labels)] if labels is not None and labels.is_file() else []
    traj = data / "occgen" / "trajectory_1" if data else None
    traj_args = ["--trajectory", str(traj)] if traj is not None and traj.is_dir() else []
    runs: list[tuple[str, list[str]]] = [
        ("bench_startup", []),
        ("bench_chamfer", []),
        ("bench_voxels", label_args),
        ("bench_miou", label_args),
        ("bench_brush", []),
        ("bench_visibility", traj_args),
        ("bench_video", []),
        ("bench_paint_gui", []),
        ("bench_lod", []),
        ("bench_toggle", label_args),
        ("bench_cache", traj_args),
    ]
    failed = 0
    for name, extra in runs:
        script = HERE / f"{name}.py"
        if not script.is_file():
            continue
        if name == "bench_startup" and not os.environ.get("DISPLAY"):
            print(f"== {name}: skipped (needs a display; run under xvfb-run)")
            continue
        print(f"== {name}", flush=True)
        t0 = time.monotonic()
        result = subprocess.run([sys.executable, str(script), *extra, "--json", str(RESULTS / f"{name}.json")])
        print(f"   ({time.monotonic() - t0:.0f} s, exit {result.returncode})", flush=True)
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
