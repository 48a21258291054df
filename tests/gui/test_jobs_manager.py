"""JobManager: results on the GUI thread, latest wins, cancel, errors, shutdown."""

from __future__ import annotations

import threading
import time

import pytest

from occstudio.gui.jobs import JobManager


def slow_count(n, delay=0.01, progress=None):
    progress.start(n, "counting")
    for _ in range(n):
        time.sleep(delay)
        progress.advance()
    return threading.current_thread().name


def failing(progress=None):
    raise ValueError("bad input file")


@pytest.fixture
def manager(qtbot):
    m = JobManager()
    yield m
    assert m.shutdown(5000)


def test_result_arrives_on_gui_thread(qtbot, manager):
    seen = []
    job = manager.submit("count", slow_count, 5, on_result=lambda r: seen.append((r, threading.current_thread())))
    qtbot.waitUntil(lambda: not job.running, timeout=5000)
    assert job.state == "done" and job.fraction == 1.0
    worker_name, thread = seen[0]
    assert thread is threading.main_thread() and worker_name != threading.main_thread().name


def test_cancel_stops_job(qtbot, manager):
    results = []
    job = manager.submit("long", slow_count, 10_000, 0.001, on_result=results.append)
    qtbot.waitUntil(lambda: job.fraction is not None and job.fraction > 0, timeout=5000)
    job.cancel()
    qtbot.waitUntil(lambda: not job.running, timeout=5000)
    assert job.state == "cancelled" and results == []


def test_latest_wins_for_same_key(qtbot, manager):
    results = []
    first = manager.submit("a", slow_count, 2000, 0.001, key="k", on_result=results.append)
    second = manager.submit("b", slow_count, 3, key="k", on_result=lambda r: results.append("second"))
    qtbot.waitUntil(lambda: not first.running and not second.running, timeout=10000)
    assert first.state == "cancelled" and second.state == "done"
    assert results == ["second"]


def test_error_is_reported_not_raised(qtbot, manager):
    errors = []
    manager.error.connect(lambda title, msg, tb: errors.append((title, msg, tb)))
    job = manager.submit("broken", failing)
    qtbot.waitUntil(lambda: not job.running, timeout=5000)
    assert job.state == "failed" and job.error == "bad input file"
    assert errors[0][0] == "broken" and "ValueError" in errors[0][2]


def test_shutdown_cancels_running_jobs(qtbot):
    m = JobManager()
    job = m.submit("long", slow_count, 100_000, 0.001)
    qtbot.waitUntil(lambda: job.fraction is not None, timeout=5000)
    assert m.shutdown(5000)
    assert not job.running and m.pool.activeThreadCount() == 0
