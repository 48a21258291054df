"""Atomic writes (including a process killed before the rename), path guards, backups,
the autosave journal and the review store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from occstudio.core.errors import DataError, MissingFileError
from occstudio.core.persistence import (
    TEMP_SUFFIX,
    AutosaveJournal,
    ReviewStore,
    SafePaths,
    atomic_write,
    atomic_write_bytes,
    backup_original,
    backup_path,
    restore_original,
    safe_sample_name,
    sidecar_dir,
    stale_temp_files,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------- atomic writes


def test_atomic_write_bytes_replaces_and_keeps_mode(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert (target.stat().st_mode & 0o777) == 0o640
    assert stale_temp_files(tmp_path) == []
    fresh = atomic_write_bytes(tmp_path / "sub" / "b.bin", b"x")
    assert fresh.read_bytes() == b"x"


def test_failing_writer_leaves_original_and_no_temp(tmp_path):
    target = tmp_path / "mask.png"
    target.write_bytes(b"original bytes")
    seen = []

    def writer(temp: Path) -> None:
        seen.append(temp)
        assert temp.parent == tmp_path and temp.name.endswith(TEMP_SUFFIX)
        temp.write_bytes(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(target, writer)
    assert target.read_bytes() == b"original bytes"
    assert not seen[0].exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.png"]


def test_atomic_write_through_symlink_keeps_link(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("a")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    atomic_write_bytes(link, b"b")
    assert link.is_symlink() and real.read_text() == "b"


_CHILD = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {repo!r})
    from occstudio.core import persistence

    def stall(src, dst):
        print("RENAMING", flush=True)
        time.sleep(60)

    os.replace = stall   # persistence looks os.replace up at call time

    def writer(temp):
        with open(temp, "wb") as handle:
            chunk = b"N" * (1 << 20)
            for _ in range({mib}):
                handle.write(chunk)

    persistence.atomic_write({target!r}, writer)
    """
)


def test_killed_between_write_and_rename_keeps_original(tmp_path):
    target = tmp_path / "big.bin"
    original = os.urandom(1 << 16) * 16  # 1 MiB
    target.write_bytes(original)
    script = _CHILD.format(repo=str(REPO_ROOT), mib=24, target=str(target))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        sizes = set()
        # watch the original while the child writes: never truncated, never changed
        os.set_blocking(child.stdout.fileno(), False)
        line = b""
        deadline = time.monotonic() + 60
        while b"RENAMING" not in line:
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "child never reached the rename"
            sizes.add(target.stat().st_size)
            line += child.stdout.read() or b""
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert sizes == {len(original)}
    assert target.read_bytes() == original
    stale = stale_temp_files(tmp_path)
    assert len(stale) == 1 and stale[0].stat().st_size == 24 << 20  # fully written, never renamed


# ---------------------------------------------------------------------- SafePaths


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "ds"
    (root / "assets").mkdir(parents=True)
    (root / "assets" / "m.png").write_bytes(b"mask")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("keep me")
    return root, outside


def test_safe_paths_accepts_inside(dataset):
    root, _ = dataset
    guard = SafePaths(root)
    assert guard.resolve("assets/m.png") == (root / "assets" / "m.png").resolve()
    assert guard.resolve(root / "assets" / ".." / "assets" / "new.png").name == "new.png"
    inner_link = root / "assets" / "alias.png"
    inner_link.symlink_to(root / "assets" / "m.png")
    assert guard.resolve(inner_link) == (root / "assets" / "m.png").resolve()


@pytest.mark.parametrize(
    "bad",
    ["../outside/secret.txt", "assets/../../outside/secret.txt", "ABS", "", "."],
)
def test_safe_paths_rejects_escapes(dataset, bad):
    root, outside = dataset
    if bad == "ABS":
        bad = str(outside / "secret.txt")
    with pytest.raises(DataError, match="refusing to write outside"):
        SafePaths(root).resolve(bad)
    assert (outside / "secret.txt").read_text() == "keep me"


def test_safe_paths_rejects_symlinks_pointing_outside(dataset):
    root, outside = dataset
    (root / "assets" / "evil.png").symlink_to(outside / "secret.txt")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    guard = SafePaths(root)
    for path in ("assets/evil.png", "linkdir/secret.txt", "linkdir/new.png", root / "linkdir" / "x" / ".." / "y"):
        with pytest.raises(DataError):
            guard.resolve(path)
        assert not guard.is_allowed(path)
    # lexically "linkdir/../outside/x" stays inside the root; physically ".." leaves the
    # symlink's target, so the write would land outside: refused
    with pytest.raises(DataError):
        guard.resolve("linkdir/../outside/secret.txt")


def test_safe_paths_allows_sidecar_outside_root(dataset, tmp_path):
    root, _ = dataset
    side = tmp_path / "side"
    side.mkdir()
    guard = SafePaths(root, side)
    assert guard.resolve(side / "autosave" / "x.npz").parent.name == "autosave"
    with pytest.raises(DataError):
        SafePaths(root).resolve(side / "x")
    with pytest.raises(MissingFileError):
        SafePaths(tmp_path / "nope")


# ---------------------------------------------------------------------- sidecar & backups


def test_sidecar_dir(dataset, tmp_path, monkeypatch):
    root, _ = dataset
    assert sidecar_dir(root) == root / ".occstudio" and (root / ".occstudio").is_dir()
    chosen = tmp_path / "chosen"
    assert sidecar_dir(root, chosen) == chosen and chosen.is_dir()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # a read-only dataset
    fallback = sidecar_dir(root)
    assert fallback.is_relative_to(tmp_path / "xdg") and fallback.is_dir()
    assert fallback == sidecar_dir(root)  # stable per dataset


def test_backup_made_once_and_restore(dataset):
    root, _ = dataset
    side = sidecar_dir(root)
    mask = root / "assets" / "m.png"
    backup = backup_original(mask, root, side)
    assert backup == side / "originals" / "assets" / "m.png" == backup_path(mask, root, side)
    assert backup.read_bytes() == b"mask"
    mask.write_bytes(b"edited once")
    again = backup_original(mask, root, side)
    assert again == backup and backup.read_bytes() == b"mask"  # never overwritten
    restore_original(mask, root, side)
    assert mask.read_bytes() == b"mask" and backup.exists()
    assert backup_original(root / "assets" / "new.png", root, side) is None
    with pytest.raises(MissingFileError):
        restore_original(root / "assets" / "new.png", root, side)
    with pytest.raises(DataError):
        backup_original(root / ".." / "outside" / "secret.txt", root, side)


# ---------------------------------------------------------------------- autosave journal


def test_journal_round_trip(tmp_path):
    journal = AutosaveJournal(tmp_path / "side")
    rng = np.random.default_rng(0)
    layers = {
        "visible": rng.random((37, 53)) < 0.5,
        "labels": rng.integers(0, 255, (37, 53)).astype(np.uint8),
    }
    meta = {"dataset": "/data/ds/manifest.json", "file": Path("/data/ds/assets/m.png")}
    path = journal.write("living/room/ünï code", layers, meta)
    assert path.parent == tmp_path / "side" / "autosave" and path.suffix == ".npz"
    journal.write("other", {"mask": np.zeros((2, 2), bool)}, {"dataset": "elsewhere"})
    pending = journal.pending()
    assert [e.sample_id for e in pending] == ["living/room/ünï code", "other"]
    entry = pending[0]
    assert entry.layers == ["visible", "labels"]
    assert entry.meta == {"dataset": "/data/ds/manifest.json", "file": "/data/ds/assets/m.png"}
    recovered = journal.recover(entry)
    for name, array in layers.items():
        assert recovered[name].dtype == array.dtype and np.array_equal(recovered[name], array)
    assert [e.sample_id for e in journal.pending(dataset_source="elsewhere")] == ["other"]
    # rewriting replaces, discard removes
    journal.write("other", {"mask": np.ones((2, 2), bool)}, {"dataset": "elsewhere"})
    assert journal.recover(journal.pending("elsewhere")[0])["mask"].all()
    assert journal.discard("other") and not journal.discard("other")
    assert [e.sample_id for e in journal.pending()] == ["living/room/ünï code"]


def test_journal_skips_corrupt_files(tmp_path):
    journal = AutosaveJournal(tmp_path)
    journal.write("good", {"m": np.zeros((3, 3), bool)})
    (tmp_path / "autosave" / "bad.npz").write_bytes(b"not a zip")
    assert [e.sample_id for e in journal.pending()] == ["good"]
    assert len(journal.problems) == 1 and "bad.npz" in journal.problems[0]


def test_safe_sample_name_unique():
    assert safe_sample_name("a/b") != safe_sample_name("a_b")
    assert "/" not in safe_sample_name("../../etc/passwd")
    assert len(safe_sample_name("x" * 1000)) < 120


# ---------------------------------------------------------------------- review store


def test_review_store(tmp_path):
    store = ReviewStore(tmp_path)
    assert store.status("a") == "unreviewed"
    store.set_status("a", "needs_fix")
    store.set_status("b", "ok")
    store.set_prior_text("a", "chair")
    with pytest.raises(ValueError):
        store.set_status("a", "great")
    reopened = ReviewStore(tmp_path)
    assert reopened.status("a") == "needs_fix" and reopened.prior_text("a") == "chair"
    assert reopened.counts(["a", "b", "c"]) == {"unreviewed": 1, "ok": 1, "needs_fix": 1, "fixed": 0}
    reopened.set_status("a", "unreviewed")
    reopened.set_prior_text("a", None)
    data = json.loads((tmp_path / "review.json").read_text())
    assert data == {"version": 1, "status": {"b": "ok"}, "prior_text": {}}
    assert reopened.prior_text_overrides() == {}
    assert stale_temp_files(tmp_path) == []


def test_review_store_refuses_corrupt_file(tmp_path):
    (tmp_path / "review.json").write_text("{broken")
    with pytest.raises(DataError, match="review"):
        ReviewStore(tmp_path)
    assert (tmp_path / "review.json").read_text() == "{broken"
