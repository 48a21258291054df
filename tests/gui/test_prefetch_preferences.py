"""Read-ahead of the next occupancy samples, and File > Preferences."""

from __future__ import annotations

from occstudio.gui import settings as app_settings
from tests.gui.test_occupancy_view import wait_content, write_occ3d


def test_next_frames_are_read_ahead_and_shown_without_a_job(qtbot, main_window, tmp_path):
    w = main_window
    w.open_path(write_occ3d(tmp_path / "occ", n_frames=3))
    wait_content(qtbot, w)
    qtbot.waitUntil(lambda: not w.jobs.running(), timeout=30000)
    dataset = w.controller.document.dataset
    first, second, third = (s.id for s in dataset.samples)
    assert any(j.title == f"Prefetch after {first}" and j.state == "done" for j in w.jobs.jobs)
    for sid in (second, third):
        assert w.controller._content_key(dataset, sid)[0] in w.controller.cache
    reads = sum(j.title.startswith("Read ") for j in w.jobs.jobs)
    w.browser.select(second)
    # shown at once from the cache: no new read job, the content is the prefetched one
    assert w.controller.content["id"] == second
    assert sum(j.title.startswith("Read ") for j in w.jobs.jobs) == reads
    assert w.controller.content["gt_poly"].n_cells > 0
    # a different view of the same sample is another cache entry: it is read again
    w.controller.set_visibility_filter("camera")
    assert sum(j.title.startswith("Read ") for j in w.jobs.jobs) == reads + 1
    wait_content(qtbot, w, second)
    qtbot.waitUntil(lambda: not w.jobs.running(), timeout=30000)


def test_preferences_are_stored_and_applied(qtbot, main_window):
    from occstudio.gui.dialogs.preferences import PreferencesDialog, apply_preferences

    w = main_window
    assert w.controller.cache.max_bytes == 2 << 30 and w.controller.prefetch_count == 2
    dialog = PreferencesDialog(w)
    dialog.cache_spin.setValue(0.5)
    dialog.prefetch_spin.setValue(0)
    dialog.lod_spin.setValue(123_000)
    dialog.accept()
    assert w.controller.cache.max_bytes == 1 << 29
    assert w.controller.prefetch_count == 0 and w.view3d.lod_threshold == 123_000
    assert app_settings.preferences() == {"cache_gib": 0.5, "prefetch": 0, "lod_points": 123_000}
    # a new session starts with them; a garbled value falls back to its default
    app_settings.app_settings().setValue("preferences/prefetch", "lots")
    applied = apply_preferences(w)
    assert applied["prefetch"] == 2 and applied["cache_gib"] == 0.5
    assert w.actions["preferences"].shortcut().toString() == "Ctrl+,"
