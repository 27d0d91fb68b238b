"""Smoke test of benchmarks/bench_scale.py's pieces on tiny sizes (they must stay right)."""

import numpy as np
import pytest

from tests._scripts import load_script

da = pytest.importorskip("dask.array", reason="Dask is an optional extra: pip install 'spectral-ml[dask]'")


@pytest.fixture(scope="module")
def bench():
    return load_script("benchmarks/bench_scale.py")


def test_lazy_mixture_is_deterministic_and_blockwise(bench):
    X, y = bench.lazy_mixture(2500, 4, 3, 1000, seed=7)
    assert X.chunks == ((1000, 1000, 500), (4,)) and y.chunks == ((1000, 1000, 500),)
    X1, y1 = da.compute(X, y, scheduler="threads")
    X2, y2 = da.compute(X, y, scheduler="threads")
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    # Another stream of the same seed: new draws from the same class centres.
    Xs, ys = da.compute(*bench.lazy_mixture(2500, 4, 3, 1000, seed=7, stream=1), scheduler="threads")
    assert not np.array_equal(ys, y1)
    for c in range(3):
        np.testing.assert_allclose(Xs[ys == c].mean(0), X1[y1 == c].mean(0), atol=0.2)


def test_numpy_baseline_computes_the_fit_statistics(bench):
    from spectral_ml.metric import all_pair_statistics

    X, y = da.compute(*bench.lazy_mixture(2500, 4, 3, 1000, seed=3), scheduler="threads")
    A, B, n_sim, n_dis = bench.numpy_loop(2500, 4, 3, 1000, seed=3)
    A0, B0, s0, d0 = all_pair_statistics(X, y)
    assert (n_sim, n_dis) == (s0, d0)
    np.testing.assert_allclose(A, A0, rtol=1e-12)
    np.testing.assert_allclose(B, B0, rtol=1e-12)


def test_peak_memory_sees_an_allocation(bench):
    monitor = bench.PeakMemory(interval=0.005)
    with monitor:
        base = monitor.peak
        block = np.ones(40_000_000 // 8)  # 40 MB, touched
        block[::512] = 2.0
    assert monitor.peak - base > 30e6
    del block
