"""Mask edits: exact deltas, merging, brush/polygon/flood tools, undo stacks (hypothesis)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from occstudio.core.edits import (
    EditStack,
    EditStacks,
    MaskEdit,
    StrokeRecorder,
    check_visible_inside_amodal,
    disk_stamp,
    fill_polygon,
    flood_fill,
    paint_disk,
    paint_stroke,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------- strategies


@st.composite
def arrays(draw, shape=None, kind=None):
    """A small bool mask or uint8 label image."""
    if shape is None:
        shape = (draw(st.integers(1, 10)), draw(st.integers(1, 10)))
    kind = kind or draw(st.sampled_from(["bool", "label"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "bool":
        return rng.random(shape) < draw(st.floats(0, 1))
    return rng.integers(0, 4, shape).astype(np.uint8)


@st.composite
def modified(draw, base):
    """``base`` with a random rectangle / scattered pixels changed (may be unchanged)."""
    out = base.copy()
    h, w = base.shape
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    how = draw(st.sampled_from(["rect", "scatter", "none"]))
    if how == "rect":
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        y1, x1 = rng.integers(y0 + 1, h + 1), rng.integers(x0 + 1, w + 1)
        region = out[y0:y1, x0:x1]
        if out.dtype == bool:
            region[...] = rng.random(region.shape) < 0.5
        else:
            region[...] = rng.integers(0, 4, region.shape)
    elif how == "scatter":
        pick = rng.random((h, w)) < 0.2
        if out.dtype == bool:
            out[pick] = ~out[pick]
        else:
            out[pick] = rng.integers(0, 4, int(pick.sum()))
    return out


@st.composite
def three_states(draw):
    s0 = draw(arrays())
    s1 = draw(modified(s0))
    s2 = draw(modified(s1))
    return s0, s1, s2


# ---------------------------------------------------------------------- MaskEdit


@SETTINGS
@given(st.data())
def test_apply_then_revert_is_identity(data):
    before = data.draw(arrays())
    after = data.draw(modified(before))
    edit = MaskEdit.from_change(before, after)
    if np.array_equal(before, after):
        assert edit is None
        return
    work = before.copy()
    edit.apply(work)
    assert np.array_equal(work, after)
    edit.revert(work)
    assert np.array_equal(work, before)
    # minimal: the bbox is tight around the changed pixels and region is exactly them
    y0, y1, x0, x1 = edit.bbox
    changed = before != after
    ys, xs = np.nonzero(changed)
    assert (y0, y1, x0, x1) == (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1)
    assert np.array_equal(edit.region, changed[y0:y1, x0:x1])
    assert edit.count == int(changed.sum())
    assert edit.nbytes == edit.old.nbytes + edit.new.nbytes + edit.region.nbytes


@SETTINGS
@given(three_states(), st.integers(0, 2**32 - 1))
def test_merge_equals_sequence_and_reverts_exactly(states, seed):
    s0, s1, s2 = states
    e1 = MaskEdit.from_change(s0, s1)
    e2 = MaskEdit.from_change(s1, s2)
    if e1 is None or e2 is None:
        return
    merged = e1.merge(e2)
    work = s0.copy()
    merged.apply(work)
    assert np.array_equal(work, s2)
    merged.revert(work)
    assert np.array_equal(work, s0)
    # The merged edit writes only pixels one of the two edits wrote: pixels of the union
    # box that neither touched keep whatever value they have.
    rng = np.random.default_rng(seed)
    noisy = s0.copy()
    untouched = np.ones(s0.shape, bool)
    y0, y1, x0, x1 = merged.bbox
    untouched[y0:y1, x0:x1] = ~merged.region
    noise = rng.integers(0, 4, s0.shape).astype(s0.dtype) if s0.dtype != bool else rng.random(s0.shape) < 0.5
    noisy[untouched] = noise[untouched]
    snapshot = noisy.copy()
    merged.apply(noisy)
    assert np.array_equal(noisy[untouched], snapshot[untouched])
    merged.revert(noisy)
    assert np.array_equal(noisy, snapshot)


@SETTINGS
@given(st.data())
def test_combine_many_equals_sequence(data):
    states = [data.draw(arrays())]
    for _ in range(data.draw(st.integers(1, 6))):
        states.append(data.draw(modified(states[-1])))
    edits = [MaskEdit.from_change(a, b) for a, b in zip(states[:-1], states[1:])]
    combined = MaskEdit.combine(edits)
    if all(e is None for e in edits):
        assert combined is None
        return
    work = states[0].copy()
    combined.apply(work)
    assert np.array_equal(work, states[-1])
    combined.revert(work)
    assert np.array_equal(work, states[0])
    # pairwise merging gives the same result
    pairwise = None
    for e in edits:
        if e is not None:
            pairwise = e if pairwise is None else pairwise.merge(e)
    assert pairwise.bbox == combined.bbox
    assert np.array_equal(pairwise.region, combined.region)
    assert np.array_equal(pairwise.old[pairwise.region], combined.old[combined.region])
    assert np.array_equal(pairwise.new[pairwise.region], combined.new[combined.region])


def test_merge_hand_example():
    a = np.zeros((4, 6), np.uint8)
    b = a.copy()
    b[0, 0] = 1
    c = b.copy()
    c[3, 5] = 2
    c[0, 0] = 3
    m = MaskEdit.from_change(a, b).merge(MaskEdit.from_change(b, c))
    assert m.bbox == (0, 4, 0, 6)
    assert m.old[0, 0] == 0 and m.new[0, 0] == 3 and m.new[3, 5] == 2
    assert m.region.sum() == 2  # the 22 pixels between are not part of the edit


def test_edit_validation_and_layers():
    with pytest.raises(ValueError):
        MaskEdit.from_change(np.zeros((2, 2), bool), np.zeros((3, 2), bool))
    e = MaskEdit.from_change(np.zeros((3, 3), bool), np.eye(3, dtype=bool), layer="visible")
    with pytest.raises(ValueError):
        e.apply(np.zeros((2, 2), bool))  # bbox does not fit
    other = MaskEdit.from_change(np.zeros((3, 3), bool), np.eye(3, dtype=bool), layer="occluded")
    with pytest.raises(ValueError):
        e.merge(other)
    inv = e.inverse()
    work = np.eye(3, dtype=bool)
    inv.apply(work)
    assert not work.any()


# ---------------------------------------------------------------------- brush


def _distance_to_polyline(shape, pts, r):
    """Brute force: pixels within r of the polyline (full-array reference)."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    inside = np.zeros(shape, bool)
    pts = np.asarray(pts, float)
    segs = [(pts[0], pts[0])] if len(pts) == 1 else list(zip(pts[:-1], pts[1:]))
    for a, b in segs:
        d = b - a
        L2 = float(d @ d)
        if L2 == 0:
            dist2 = (yy - a[0]) ** 2 + (xx - a[1]) ** 2
        else:
            t = np.clip(((yy - a[0]) * d[0] + (xx - a[1]) * d[1]) / L2, 0, 1)
            dist2 = (yy - a[0] - t * d[0]) ** 2 + (xx - a[1] - t * d[1]) ** 2
        inside |= dist2 <= r * r + 1e-9
    return inside


def test_disk_stamp():
    assert disk_stamp(0).tolist() == [[True]]
    s = disk_stamp(1)
    assert s.tolist() == [[False, True, False], [True, True, True], [False, True, False]]
    s2 = disk_stamp(2.5)
    assert s2.shape == (5, 5) and s2.sum() == 21
    with pytest.raises(ValueError):
        disk_stamp(-1)
    assert not disk_stamp(3).flags.writeable


@SETTINGS
@given(
    st.integers(1, 30),
    st.integers(1, 30),
    st.lists(st.tuples(st.floats(-5, 35), st.floats(-5, 35)), min_size=1, max_size=5),
    st.floats(0, 6),
    st.booleans(),
)
def test_paint_stroke_matches_brute_force(h, w, pts, radius, value):
    mask = np.zeros((h, w), bool) if value else np.ones((h, w), bool)
    before = mask.copy()
    edit = paint_stroke(mask, pts, radius, value)
    expected = before.copy()
    expected[_distance_to_polyline((h, w), pts, radius)] = value
    assert np.array_equal(mask, expected)
    if edit is None:
        assert np.array_equal(before, expected)
    else:
        edit.revert(mask)
        assert np.array_equal(mask, before)


def test_paint_disk_integer_centre_is_the_stamp():
    mask = np.zeros((20, 20), bool)
    edit = paint_disk(mask, 10, 7, 3, True)
    expected = np.zeros((20, 20), bool)
    expected[7:14, 4:11] = disk_stamp(3)
    assert np.array_equal(mask, expected)
    assert edit.bbox == (7, 14, 4, 11)
    assert paint_disk(mask, 10, 7, 3, True) is None  # already painted
    assert paint_disk(mask, -50, -50, 3, True) is None  # outside


def test_paint_labels():
    labels = np.zeros((10, 10), np.uint8)
    edit = paint_disk(labels, 5, 5, 2, 7)
    assert set(np.unique(labels)) == {0, 7}
    edit.revert(labels)
    assert not labels.any()


def test_stroke_on_4096_touches_only_its_bbox():
    size = 4096
    rng = np.random.default_rng(1)
    mask = np.zeros((size, size), bool)
    mask[::7, ::5] = True  # a pattern to detect stray writes
    reference = mask.copy()
    pts = np.cumsum(rng.normal(0, 6, (120, 2)), axis=0) + [1000, 3000]
    radius = 9
    tracemalloc.start()
    rec = StrokeRecorder()
    for a, b in zip(pts[:-1], pts[1:]):
        rec.add(paint_stroke(mask, [a, b], radius, True))
    stroke = rec.finish()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # never a full-array temporary: the peak is far below one 16 MiB copy
    assert peak < mask.nbytes // 4
    y0 = int(np.ceil(pts[:, 0].min() - radius))
    y1 = int(np.floor(pts[:, 0].max() + radius)) + 1
    x0 = int(np.ceil(pts[:, 1].min() - radius))
    x1 = int(np.floor(pts[:, 1].max() + radius)) + 1
    ey0, ey1, ex0, ex1 = stroke.bbox
    assert y0 <= ey0 and ey1 <= y1 and x0 <= ex0 and ex1 <= x1
    outside = np.ones_like(mask)
    outside[ey0:ey1, ex0:ex1] = False
    assert np.array_equal(mask[outside], reference[outside])
    assert stroke.nbytes < mask.nbytes // 10
    # one stroke = one undo command
    stack = EditStack()
    stack.push(stroke)
    stack.undo(mask)
    assert np.array_equal(mask, reference)


def test_stroke_recorder_cancel():
    mask = np.zeros((30, 30), bool)
    rec = StrokeRecorder()
    rec.add(paint_stroke(mask, [(5, 5), (20, 20)], 2, True))
    rec.add(paint_stroke(mask, [(20, 20), (5, 25)], 2, True))
    rec.revert(mask)
    assert not mask.any() and rec.finish() is None


# ---------------------------------------------------------------------- polygon & flood


def _even_odd_reference(shape, verts):
    """Per-pixel crossing count (slow, literal)."""
    out = np.zeros(shape, bool)
    n = len(verts)
    for y in range(shape[0]):
        for x in range(shape[1]):
            count = 0
            for i in range(n):
                (ya, xa), (yb, xb) = verts[i], verts[(i + 1) % n]
                if ya == yb:
                    continue
                if min(ya, yb) <= y < max(ya, yb):
                    xi = xa + (y - ya) * (xb - xa) / (yb - ya)
                    if xi <= x:
                        count += 1
            out[y, x] = count % 2 == 1
    return out


def test_fill_polygon_square_half_open():
    mask = np.zeros((8, 8), bool)
    edit = fill_polygon(mask, [(0, 0), (0, 4), (4, 4), (4, 0)], True)
    expected = np.zeros((8, 8), bool)
    expected[0:4, 0:4] = True
    assert np.array_equal(mask, expected)
    assert edit.count == 16


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 14),
    st.integers(1, 14),
    st.lists(st.tuples(st.floats(-3, 17), st.floats(-3, 17)), min_size=3, max_size=7),
)
def test_fill_polygon_matches_even_odd_reference(h, w, verts):
    mask = np.zeros((h, w), np.uint8)
    edit = fill_polygon(mask, verts, 5)
    expected = _even_odd_reference((h, w), verts)
    assert np.array_equal(mask == 5, expected)
    if edit is not None:
        edit.revert(mask)
        assert not mask.any()


def test_fill_polygon_self_intersecting_has_hole():
    mask = np.zeros((20, 20), bool)
    star = [(1, 10), (18, 16), (7, 1), (7, 19), (18, 4)]  # a pentagram
    fill_polygon(mask, star, True)
    assert mask[5, 10] and not mask[10, 10]  # tip filled, centre is a hole (even-odd)


def _bfs(mask, y, x):
    seed = mask[y, x]
    seen = np.zeros(mask.shape, bool)
    todo = [(y, x)]
    seen[y, x] = True
    while todo:
        cy, cx = todo.pop()
        for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
            if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and not seen[ny, nx] and mask[ny, nx] == seed:
                seen[ny, nx] = True
                todo.append((ny, nx))
    return seen


@SETTINGS
@given(st.data())
def test_flood_fill_matches_bfs(data):
    mask = data.draw(arrays())
    y = data.draw(st.integers(0, mask.shape[0] - 1))
    x = data.draw(st.integers(0, mask.shape[1] - 1))
    value = data.draw(st.booleans()) if mask.dtype == bool else data.draw(st.integers(0, 4))
    before = mask.copy()
    region = _bfs(before, y, x)
    edit = flood_fill(mask, y, x, value)
    expected = before.copy()
    expected[region] = value
    assert np.array_equal(mask, expected)
    if edit is None:
        assert before[y, x] == value
    else:
        edit.revert(mask)
        assert np.array_equal(mask, before)


def test_flood_fill_is_4_connected():
    mask = np.eye(4, dtype=bool)
    flood_fill(mask, 0, 0, False)
    assert mask.sum() == 3  # diagonal neighbours are not connected
    with pytest.raises(IndexError):
        flood_fill(mask, 9, 0, True)


def test_check_visible_inside_amodal():
    amodal = np.zeros((5, 5), bool)
    amodal[1:4, 1:4] = True
    visible = np.zeros((5, 5), bool)
    visible[2:5, 2] = True
    assert check_visible_inside_amodal(visible, amodal) == 1
    assert check_visible_inside_amodal(visible & amodal, amodal) == 0
    with pytest.raises(ValueError):
        check_visible_inside_amodal(visible, amodal[:2])


# ---------------------------------------------------------------------- EditStack


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_edit_stack_matches_snapshot_model(data):
    cap = data.draw(st.integers(1, 5))
    array = data.draw(arrays(kind="label"))
    stack = EditStack(cap=cap)
    # reference: snapshots of reachable states, current position, clean position
    states = [array.copy()]
    pos = 0
    clean: int | None = 0
    ops = data.draw(st.lists(st.sampled_from(["edit", "undo", "redo", "save"]), max_size=25))
    for op in ops:
        if op == "edit":
            after = data.draw(modified(array))
            edit = MaskEdit.from_change(array, after)
            if edit is None:
                assert not stack.push(edit)
                continue
            edit.apply(array)
            assert stack.push(edit)
            del states[pos + 1 :]
            if clean is not None and clean > pos:
                clean = None
            states.append(array.copy())
            pos += 1
            while len(states) - 1 > cap:
                states.pop(0)
                pos -= 1
                clean = None if clean is None or clean == 0 else clean - 1
        elif op == "undo":
            result = stack.undo(array)
            assert (result is None) == (pos == 0)
            pos = max(0, pos - 1)
        elif op == "redo":
            result = stack.redo(array)
            assert (result is None) == (pos == len(states) - 1)
            pos = min(len(states) - 1, pos + 1)
        else:
            stack.mark_clean()
            clean = pos
        assert np.array_equal(array, states[pos])
        assert stack.is_clean == (clean == pos)
        assert stack.can_undo == (pos > 0)
        assert stack.can_redo == (pos < len(states) - 1)
        assert len(stack) == len(states) - 1 <= cap


def test_edit_stack_layers_and_memory_cap():
    arrays_by_layer = {"visible": np.zeros((8, 8), bool), "occluded": np.zeros((8, 8), bool)}
    stack = EditStack()
    stack.push(paint_disk(arrays_by_layer["visible"], 3, 3, 2, True, layer="visible"))
    stack.push(paint_disk(arrays_by_layer["occluded"], 5, 5, 1, True, layer="occluded"))
    assert not stack.is_clean
    stack.undo(arrays_by_layer)
    assert not arrays_by_layer["occluded"].any() and arrays_by_layer["visible"].any()
    stack.undo(arrays_by_layer)
    assert stack.is_clean
    # memory cap keeps at least the newest edit
    small = EditStack(cap=100, max_bytes=1)
    m = np.zeros((10, 10), bool)
    small.push(paint_disk(m, 2, 2, 1, True))
    small.push(paint_disk(m, 7, 7, 1, True))
    assert len(small) == 1 and small.clean_index is None and not small.is_clean


def test_edit_stacks_per_sample():
    stacks = EditStacks(cap=10)
    a = stacks.get("scene/view_00")
    assert stacks.get("scene/view_00") is a
    m = np.zeros((4, 4), bool)
    a.push(paint_disk(m, 1, 1, 0, True))
    stacks.get("other")
    assert stacks.dirty_ids() == ["scene/view_00"]
    a.mark_clean()
    assert stacks.dirty_ids() == []
