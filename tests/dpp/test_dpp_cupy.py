"""The DPP term on CuPy arrays: same results as NumPy, arrays stay on the GPU."""

import numpy as np
import pytest

cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
try:
    _N_DEVICES = cupy.cuda.runtime.getDeviceCount()
except Exception as exc:  # CUDA runtime errors have their own types
    pytest.skip(f"CuPy cannot reach a GPU: {exc}", allow_module_level=True)
if _N_DEVICES < 1:
    pytest.skip("CuPy finds no GPU", allow_module_level=True)

from spectral_ml.dpp import (  # noqa: E402 - after the optional dependency is found or skipped
    dpp_diversity,
    dppsg,
    dppsg_star,
    gaussian_kernel,
    kernel_backward,
    logdet_gradient,
)

pytestmark = pytest.mark.gpu

SIGMA = 0.2


def _spread(seed=0, n=30, d=3):
    return np.random.default_rng(seed).uniform(-0.5, 0.5, size=(n, d))


def _with_duplicate(seed=0, n=30, d=3):
    X = _spread(seed, n, d)
    X[11] = X[3]
    return X


def _on_gpu(a):
    assert isinstance(a, cupy.ndarray)
    return cupy.asnumpy(a)


def test_kernel_and_backward_match_numpy():
    X = _spread(1)
    G = np.random.default_rng(2).standard_normal((30, 30))
    L = gaussian_kernel(cupy.asarray(X), SIGMA)
    np.testing.assert_allclose(_on_gpu(L), gaussian_kernel(X, SIGMA), rtol=1e-10, atol=1e-14)
    g = kernel_backward(cupy.asarray(X), cupy.asarray(G), SIGMA)
    np.testing.assert_allclose(_on_gpu(g), kernel_backward(X, G, SIGMA), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", ["auto", "exact", "dppsg", "dppsg*"])
@pytest.mark.parametrize("objective", ["logdet", "det"])
def test_dpp_diversity_matches_numpy(method, objective):
    X = _spread(3)
    ref = dpp_diversity(X, SIGMA, method=method, objective=objective)
    res = dpp_diversity(cupy.asarray(X), SIGMA, method=method, objective=objective)
    assert res.method == ref.method
    np.testing.assert_allclose(_on_gpu(res.grad), ref.grad, rtol=1e-8, atol=1e-12)
    assert res.value == pytest.approx(ref.value, rel=1e-9)
    r32 = dpp_diversity(cupy.asarray(X, dtype=cupy.float32), SIGMA, method=method)
    assert r32.grad.dtype == cupy.float32 and isinstance(r32.grad, cupy.ndarray)


def test_auto_switch_on_gpu():
    assert dpp_diversity(cupy.asarray(_spread(4)), SIGMA).method == "exact"
    res = dpp_diversity(cupy.asarray(_with_duplicate(4)), SIGMA)
    assert res.method == "dppsg*"
    assert np.isfinite(res.value) and bool(cupy.all(cupy.isfinite(res.grad)))


def test_pieces_match_numpy():
    L = gaussian_kernel(_with_duplicate(5), SIGMA)
    Lc = cupy.asarray(L)
    np.testing.assert_allclose(_on_gpu(dppsg_star(Lc, 0.2)), dppsg_star(L, 0.2), atol=1e-15)
    np.testing.assert_allclose(_on_gpu(dppsg(Lc, 1e-4)), dppsg(L, 1e-4), atol=1e-10)
    M = L + 0.5 * np.eye(30)
    ld, G = logdet_gradient(cupy.asarray(M))
    assert ld == pytest.approx(np.linalg.slogdet(M)[1], rel=1e-10)
    np.testing.assert_allclose(_on_gpu(G), np.linalg.inv(M), rtol=1e-8, atol=1e-10)


def test_float32_batch_of_500_with_duplicates_is_finite():
    rng = np.random.default_rng(6)
    X = rng.uniform(-1, 1, size=(500, 16)).astype(np.float32)
    X[100:110] = X[:10]
    for method in ("auto", "dppsg", "dppsg*"):
        res = dpp_diversity(cupy.asarray(X), SIGMA, method=method)
        assert res.grad.dtype == cupy.float32
        assert bool(cupy.all(cupy.isfinite(res.grad))) and np.isfinite(res.value)
