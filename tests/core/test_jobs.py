"""Progress and cancellation (no Qt)."""

import io

import pytest

from occstudio.core.jobs import (
    CallbackProgress,
    Cancelled,
    CancelToken,
    RecordingProgress,
    TqdmProgress,
    ensure_progress,
)


def count_to(n, progress=None):
    progress = ensure_progress(progress)
    progress.start(n, "counting")
    for _ in range(n):
        progress.advance()
    return n


def test_recording_progress_records_each_step():
    rec = RecordingProgress()
    assert count_to(4, rec) == 4
    assert [r[0] for r in rec.records] == [0, 1, 2, 3, 4]
    assert rec.records[-1][1] == 4 and rec.fraction == 1.0


def test_cancel_after_n_updates_raises_cancelled():
    rec = RecordingProgress(cancel_after=3)
    with pytest.raises(Cancelled):
        count_to(100, rec)
    assert len(rec.records) == 3


def test_token_cancel_before_start():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        count_to(2, RecordingProgress(token=token))


def test_sub_progress_maps_into_parent_range():
    parent = RecordingProgress()
    parent.start(10)
    child = parent.child(2, 4)
    child.start(4)
    child.advance(2)
    assert parent.done == pytest.approx(3.0)


def test_callback_progress_always_delivers_final_update():
    seen = []
    count_to(1000, CallbackProgress(lambda d, t, m: seen.append(d), interval=3600))
    assert seen[-1] == 1000 and len(seen) < 10


def test_tqdm_progress_writes_a_line():
    out = io.StringIO()
    count_to(3, TqdmProgress(stream=out))
    assert "3/3" in out.getvalue()
