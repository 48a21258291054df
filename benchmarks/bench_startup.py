"""Time to first window: a cold ``occstudio`` process until the main window (with its
3D view) has drawn, vs. the same with torch and open3d imported eagerly at start-up
(what occstudio would cost without lazy imports). Run under a display (Xvfb)::

    xvfb-run -a python benchmarks/bench_startup.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CHILD = r"""
import os, sys, time
t0 = float(os.environ["BENCH_T0"])
if os.environ.get("BENCH_EAGER") == "1":
    import torch, open3d  # noqa: F401  (the reference: heavy imports at start-up)
import pyvista as pv
pv.global_theme.multi_samples = 0
from PySide6.QtWidgets import QApplication
from occstudio.gui.app import create_application
from occstudio.gui.main_window import MainWindow
app = create_application()
w = MainWindow(); w.show()
for _ in range(20):
    app.processEvents()
w.view3d.render()
app.processEvents()
t1 = time.time()
heavy = [m for m in ("torch", "open3d") if m in sys.modules]
print(f"{t1 - t0:.3f} {','.join(heavy) or '-'}")
w.close()
"""


def run_once(eager: bool) -> tuple[float, str]:
    env = dict(os.environ, BENCH_T0=repr(time.time()), BENCH_EAGER="1" if eager else "0")
    env["BENCH_T0"] = repr(time.time())
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    secs, heavy = out.stdout.strip().splitlines()[-1].split()
    return float(secs), heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write results to this file")
    args = parser.parse_args()
    run_once(False)  # warm the OS file cache once for both variants alike
    lazy = [run_once(False) for _ in range(args.repeat)]
    eager = [run_once(True) for _ in range(args.repeat)]
    result = {
        "lazy_s": statistics.median(t for t, _ in lazy),
        "eager_s": statistics.median(t for t, _ in eager),
        "heavy_modules_loaded_lazy": lazy[0][1],
    }
    result["ratio_eager_over_lazy"] = result["eager_s"] / result["lazy_s"]
    print(f"time to first window (median of {args.repeat}): occstudio {result['lazy_s']:.2f} s, "
          f"with eager torch+open3d {result['eager_s']:.2f} s -> {result['ratio_eager_over_lazy']:.2f}x faster; "
          f"heavy modules loaded at start: {result['heavy_modules_loaded_lazy']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
