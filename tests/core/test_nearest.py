"""Exact nearest neighbours: the torch grid search must give the cKDTree's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from occstudio.core.compute.backend import have_cuda, iter_chunks, rows_per_chunk, torch_device
from occstudio.core.compute.nearest import nearest_distances, resolve_device

torch = pytest.importorskip("torch")

TORCH_DEVICES = ["torch-cpu"] + (["cuda"] if have_cuda() else [])


def _sphere(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(42)
    return {
        # N·M above the brute-force cut-off, so the grid search runs
        "uniform": (rng.random((3000, 3)), rng.random((2500, 3))),
        "surface": (_sphere(rng, 3000) * 1.02, _sphere(rng, 2500)),
        # queries far outside the destination's grid, and a few distant outliers
        "far": (rng.random((2200, 3)) * 3 + 40.0, rng.random((2000, 3))),
        "outliers": (np.vstack([_sphere(rng, 2500), rng.normal(size=(100, 3)) * 20]), _sphere(rng, 2000)),
        # float32 input, anisotropic extent (a flat slab)
        "slab": ((rng.random((2600, 3)) * [10, 10, 0.01]).astype(np.float32), rng.random((2000, 3)) * [10, 10, 0.01]),
        # small: the brute-force path
        "small": (rng.random((50, 3)), rng.random((40, 3))),
    }


@pytest.mark.parametrize("device", TORCH_DEVICES)
@pytest.mark.parametrize("case", list(_cases()))
def test_torch_path_matches_ckdtree(case: str, device: str) -> None:
    src, dst = _cases()[case]
    d_ref, i_ref = nearest_distances(src, dst, device="cpu", return_index=True)
    d, i = nearest_distances(src, dst, device=device, return_index=True)
    assert d.dtype == np.float64 and i.dtype == np.int64
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_allclose(d, d_ref, rtol=1e-6, atol=0)
    # distances are exact differences in float64, far below float32 precision
    assert np.max(np.abs(d - d_ref)) <= 1e-12 * max(1.0, float(d_ref.max()))


def test_reference_values_by_hand() -> None:
    src = np.array([[0, 0, 0], [3, 4, 0], [10, 0, 0]], dtype=float)
    dst = np.array([[0, 0, 1], [3, 0, 0], [9, 0, 0]], dtype=float)
    for device in ["cpu", *TORCH_DEVICES]:
        d, i = nearest_distances(src, dst, device=device, return_index=True)
        np.testing.assert_allclose(d, [1, 4, 1])
        np.testing.assert_array_equal(i, [0, 1, 2])
        assert nearest_distances(src, dst, device=device).shape == (3,)


def test_ties_resolve_to_lowest_index_on_torch_path() -> None:
    # integer lattices: many exactly equal distances; grid path (N·M > cut-off)
    rng = np.random.default_rng(3)
    src = rng.integers(0, 6, (3000, 3)).astype(float) + 0.5
    dst = rng.integers(0, 6, (2000, 3)).astype(float)
    d_ref = nearest_distances(src, dst, device="cpu")
    d, i = nearest_distances(src, dst, device="torch-cpu", return_index=True)
    np.testing.assert_allclose(d, d_ref, rtol=1e-12)
    all_d = np.sqrt(((src[:, None, :] - dst[None, :, :]) ** 2).sum(axis=2))
    lowest = np.argmax(np.isclose(all_d, d_ref[:, None], rtol=0, atol=1e-12), axis=1)
    np.testing.assert_array_equal(i, lowest)


def test_degenerate_destinations() -> None:
    src = np.random.default_rng(0).random((2500, 3))
    one = np.array([[0.5, 0.5, 0.5]] * 2000)  # all points identical: zero extent
    for device in ["cpu", *TORCH_DEVICES]:
        d, i = nearest_distances(src, one, device=device, return_index=True)
        np.testing.assert_allclose(d, np.linalg.norm(src - 0.5, axis=1), rtol=1e-12)
        assert i.min() >= 0


def test_empty_and_bad_inputs() -> None:
    dst = np.zeros((3, 3))
    d, i = nearest_distances(np.zeros((0, 3)), dst, return_index=True)
    assert d.shape == (0,) and i.shape == (0,)
    with pytest.raises(ValueError, match="no points"):
        nearest_distances(np.zeros((2, 3)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="N×3"):
        nearest_distances(np.zeros((2, 2)), dst)
    with pytest.raises(ValueError, match="NaN"):
        nearest_distances(np.array([[np.nan, 0, 0]]), dst)
    with pytest.raises(ValueError, match="unknown device"):
        nearest_distances(np.zeros((2, 3)), dst, device="tpu")


@pytest.mark.skipif(have_cuda(), reason="this machine has CUDA")
def test_cuda_requested_without_cuda() -> None:
    assert resolve_device("auto") == "cpu"
    with pytest.raises(RuntimeError, match="CUDA"):
        nearest_distances(np.zeros((2, 3)), np.zeros((2, 3)), device="cuda")
    with pytest.raises(RuntimeError, match="CUDA"):
        torch_device("cuda")
    assert str(torch_device("auto")) == "cpu"


def test_chunk_helpers() -> None:
    assert [(s.start, s.stop) for s in iter_chunks(7, 3)] == [(0, 3), (3, 6), (6, 7)]
    assert list(iter_chunks(0, 3)) == []
    assert rows_per_chunk(100, 1000) == 10
    assert rows_per_chunk(10**9, 10) == 1
