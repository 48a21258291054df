"""End to end: the ``occstudio`` command opens the real window and saves a screenshot."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.factories import make_extremeocc_dataset

pytestmark = pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs a display: run under xvfb-run")


def screenshot(path, out, *extra):
    cmd = [sys.executable, "-m", "occstudio.cli", "screenshot", str(path), "--out", str(out), "--size", "1280x900",
           "--json", *extra]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def region(img: np.ndarray, box) -> np.ndarray:
    x, y, w, h = box
    return img[y:y + h, x:x + w, :3].astype(float)


def assert_not_blank(pixels: np.ndarray, what: str) -> None:
    assert pixels.size and pixels.std() > 8, f"{what} looks blank (std {pixels.std():.1f})"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50, f"{what} has too few colours"


def test_screenshot_of_demo_shows_image_and_3d(demo_root, tmp_path):
    out = tmp_path / "shot.png"
    info = screenshot(demo_root, out, "--predictions", str(demo_root / "predictions"))
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape[:2] == (900, 1280)
    assert_not_blank(region(img, info["regions"]["scene_image"]), "image pane")
    view = region(img, info["regions"]["view3d"])
    assert_not_blank(view, "3D view")
    # GT (left half) and prediction (right half) are both drawn: pixels unlike the background
    background = np.array([0xF4, 0xF5, 0xF7], float)
    drawn = np.abs(view - background).sum(axis=2) > 30
    half = drawn.shape[1] // 2
    assert drawn[:, :half].mean() > 0.01 and drawn[:, half:].mean() > 0.01


def test_screenshot_of_generated_dataset_selects_sample(tmp_path):
    ds = make_extremeocc_dataset(tmp_path / "ds", n=2)
    info = screenshot(ds, tmp_path / "s.png", "--sample", "scene1/view_00")
    assert info["sample"] == "scene1/view_00"
    img = np.asarray(Image.open(tmp_path / "s.png").convert("RGB"))
    assert_not_blank(region(img, info["regions"]["view3d"]), "3D view")


def test_screenshot_bad_path_exits_2(tmp_path):
    result = subprocess.run([sys.executable, "-m", "occstudio.cli", "screenshot", str(tmp_path / "nope"),
                             "--out", str(tmp_path / "x.png")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not found" in result.stderr and "Traceback" not in result.stderr
