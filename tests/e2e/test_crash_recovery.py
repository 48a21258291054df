"""End to end: paint in a real occstudio window, kill -9 it, restart, recover the pixels.

The first window runs in a child process under the same display; after it has painted
with QTest and its autosave journal is on disk, it is killed with SIGKILL (no close
handler runs). A second window, in this process, opens the dataset, accepts the recovery
offer and must show exactly the painted mask, unsaved; saving it then writes exactly
those pixels.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from occstudio.io.images import read_mask
from tests.factories import make_extremeocc_dataset

pytestmark = pytest.mark.skipif(
    not os.environ.get("DISPLAY") or os.name != "posix", reason="needs a display (run under xvfb-run) and kill -9"
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = "scene0/view_00"
MASK = "assets/scene0/view_00/occluded_mask.png"

CHILD = r"""
import sys
import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from occstudio.gui.app import create_application, wait_until_idle
from occstudio.gui.editing import install_editing
from occstudio.gui.main_window import MainWindow

root, expected = sys.argv[1], sys.argv[2]
app = create_application()
window = MainWindow()
editing = getattr(window, "editing", None) or install_editing(window)
window.resize(1280, 800)
window.show()
window.open_path(root)
wait_until_idle(window, None)
pane = window.sample_view.scene_pane
editing.tools.set_tool("brush")
editing.tools.set_radius(3)
viewport = pane.view.viewport()

def pos(y, x):
    return pane.view.mapFromScene(QPointF(x + 0.5, y + 0.5))

QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos(50, 4))
for x in range(4, 60, 3):
    QTest.mouseMove(viewport, pos(50 + (x % 7) - 3, x))
QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos(52, 60))
np.save(expected, pane.mask())
print("PAINTED", editing.stacks.get(editing.current_id).index, flush=True)
app.exec()
"""


def wait_for_line(proc: subprocess.Popen, prefix: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return line
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"the child never printed {prefix!r}: {proc.stderr.read()[-3000:]}")


def test_kill_9_then_recover_exact_pixels(qtbot, tmp_path, monkeypatch):
    import pyvista as pv

    from occstudio.gui.editing import install_editing
    from occstudio.gui.main_window import MainWindow

    pv.global_theme.multi_samples = 0
    root = make_extremeocc_dataset(tmp_path / "ds", n=2, size=64, predictions=False)
    original = read_mask(root / MASK)
    original_bytes = (root / MASK).read_bytes()
    expected_path = tmp_path / "expected.npy"
    env = dict(os.environ, OCCSTUDIO_CONFIG_DIR=str(tmp_path / "config"), OCCSTUDIO_AUTOSAVE_MS="300",
               PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), str(expected_path)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert wait_for_line(proc, "PAINTED", 120).split() == ["PAINTED", "1"]
        journal_dir = root / ".occstudio" / "autosave"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list(journal_dir.glob("*.npz")):
            time.sleep(0.05)
        assert list(journal_dir.glob("*.npz")), "no autosave journal was written"
        time.sleep(0.3)  # past one more autosave interval
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    expected = np.load(expected_path)
    assert (expected != original).sum() > 50
    assert (root / MASK).read_bytes() == original_bytes, "the crash left the mask file untouched"

    # restart in this process and accept the recovery offer
    monkeypatch.setenv("OCCSTUDIO_CONFIG_DIR", str(tmp_path / "config2"))
    monkeypatch.setenv("OCCSTUDIO_AUTO_ANSWER", "recovery=recover,unsaved=discard")
    window = MainWindow()
    editing = getattr(window, "editing", None) or install_editing(window)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    try:
        window.open_path(root, SAMPLE)
        qtbot.waitUntil(lambda: editing.is_dirty(SAMPLE), timeout=30000)
        qtbot.waitUntil(
            lambda: window.controller.content is not None and window.controller.content["id"] == SAMPLE
            and not window.jobs.running() and editing.current_id == SAMPLE,
            timeout=30000,
        )
        pane = window.sample_view.scene_pane
        assert np.array_equal(pane.mask(), expected), "recovered pixels differ from the painted ones"
        assert window.browser.model.is_dirty(SAMPLE) and window.windowTitle().startswith("* ")
        assert editing.save()
        assert np.array_equal(read_mask(root / MASK), expected)
        assert (root / ".occstudio" / "originals" / MASK).read_bytes() == original_bytes
        editing.flush_autosave()
        assert not list((root / ".occstudio" / "autosave").glob("*.npz"))
    finally:
        window.close()
