"""Dataset, SampleCache and Document (no Qt)."""

from pathlib import Path

import numpy as np
import pytest

from occstudio.core.dataset import Dataset, SampleCache
from occstudio.core.document import Document
from occstudio.core.sample import Sample


def make_dataset(n=3):
    samples = [Sample(id=f"s/{i}", text={"prior_text": f"chair {i}"}) for i in range(n)]
    samples[1].missing.append("mask: m.png")
    return Dataset(format="test", source=Path("x"), root=Path("."), samples=samples)


def test_dataset_lookup_and_problems():
    ds = make_dataset()
    assert ds.ids() == ["s/0", "s/1", "s/2"]
    assert ds.index_of("s/2") == 2
    assert ds.get("s/1").has_problems and not ds.get("s/0").has_problems
    assert "chair 1" in ds.get("s/1").search_text()
    with pytest.raises(KeyError):
        ds.get("nope")


def test_sample_cache_evicts_least_recently_used_by_bytes():
    cache = SampleCache(max_bytes=250)
    for k in "abc":
        cache.put(k, np.zeros(100, np.uint8))
    assert "a" not in cache and "b" in cache and "c" in cache
    cache.get("b")
    cache.put("d", np.zeros(100, np.uint8))
    assert "c" not in cache and "b" in cache and cache.nbytes <= 250


def test_sample_cache_get_or_load_loads_once():
    cache = SampleCache()
    calls = []
    for _ in range(3):
        cache.get_or_load("k", lambda: calls.append(1) or np.ones(3))
    assert len(calls) == 1


def test_document_events():
    doc = Document()
    events = []
    doc.subscribe(lambda e, p: events.append((e, p)))
    doc.set_dataset(make_dataset())
    doc.set_current("s/1")
    doc.set_current("s/1")  # unchanged: no event
    assert doc.current.id == "s/1"
    with pytest.raises(KeyError):
        doc.set_current("missing")
    doc.set_metrics("s/1", {"chamfer_l1": 0.1})
    assert [e for e, _ in events] == ["dataset", "current", "metrics"]


def test_nbytes_of_counts_objects_meshes_and_nesting():
    from dataclasses import dataclass

    from occstudio.core.dataset import nbytes_of

    @dataclass
    class Holder:
        a: np.ndarray
        b: dict

    class Mesh:  # what pyvista datasets report: KiB
        actual_memory_size = 10

    holder = Holder(np.zeros(1000, np.uint8), {"m": Mesh(), "x": [np.zeros(10, np.float64)]})
    assert nbytes_of(holder) >= 1000 + 10 * 1024 + 80
    loop: dict = {}
    loop["self"] = loop  # a cycle must not recurse forever
    assert nbytes_of(loop) > 0


def test_cache_resize_evicts_oldest():
    cache = SampleCache(10_000)
    for i in range(5):
        cache.put(i, np.zeros(1000, np.uint8))
    cache.get(0)  # recently used: survives
    cache.resize(2_500)
    assert 0 in cache and 4 in cache and 1 not in cache and cache.nbytes <= 2_500
