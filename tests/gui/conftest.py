"""GUI test setup: isolated settings, no MSAA, a shared main-window fixture that checks
that no job thread leaks.

Run under Xvfb for real rendering (``xvfb-run -a -s "-screen 0 1600x1000x24" ...``);
without a ``DISPLAY`` the Qt-only widget tests still run on the offscreen platform
(tests that need the 3D view skip there: QtInteractor needs a real display).
"""

from __future__ import annotations

import os

import pytest

HAS_DISPLAY = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
if not HAS_DISPLAY:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

needs_display = pytest.mark.skipif(not HAS_DISPLAY, reason="needs an X display for the 3D view: run under xvfb-run")


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Each GUI test gets its own settings file."""
    monkeypatch.setenv("OCCSTUDIO_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(scope="session")
def fast_rendering():
    """Software rendering with MSAA is 3-5x slower: switch it off."""
    import pyvista as pv

    pv.global_theme.multi_samples = 0
    yield


@pytest.fixture
def main_window(qtbot, fast_rendering):
    """A shown main window, closed (jobs shut down) after the test."""
    if not HAS_DISPLAY:
        pytest.skip("needs an X display for the 3D view: run under xvfb-run")
    from occstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.resize(1280, 800)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    assert not window.jobs.running(), "a job was still running after close"
    assert window.jobs.pool.activeThreadCount() == 0, "a worker thread leaked"
