"""Exact gradients of det L and log det L, and their back-propagation to X."""

import math

import numpy as np
import pytest

from spectral_ml._backend import to_numpy
from spectral_ml.dpp import (
    det_gradient,
    dpp_diversity,
    gaussian_kernel,
    kernel_backward,
    logdet_gradient,
)
from spectral_ml.testing import taylor_test

SIGMA = 0.2


def _random_batch(seed, n=8, d=3):
    return np.random.default_rng(seed).standard_normal((n, d)) * SIGMA


def _near_singular_batch(seed, n=8, d=3, gap=1e-3):
    """Two points ``gap·σ`` apart: L is positive definite with λ_min ≈ gap² ≈ 1e-6."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * SIGMA
    X[1] = X[0] + gap * SIGMA * rng.standard_normal(d) / np.sqrt(d)
    return X


def _spd(rng, n=6):
    A = rng.standard_normal((n, n))
    return A @ A.T / n + 0.5 * np.eye(n)


def test_logdet_gradient_matches_numpy(xp, rng):
    M = _spd(rng)
    for dtype, tol in ((xp.float64, 1e-10), (xp.float32, 1e-5)):
        logdet, G = logdet_gradient(xp.asarray(M, dtype=dtype))
        assert G.dtype == dtype
        assert logdet == pytest.approx(np.linalg.slogdet(M)[1], rel=tol)
        np.testing.assert_allclose(to_numpy(G), np.linalg.inv(M), rtol=tol, atol=tol)
        assert np.array_equal(to_numpy(G), to_numpy(G).T)


def test_det_gradient_matches_numpy(xp, rng):
    M = _spd(rng)
    det, G = det_gradient(xp.asarray(M))
    assert det == pytest.approx(np.linalg.det(M), rel=1e-10)
    np.testing.assert_allclose(to_numpy(G), np.linalg.det(M) * np.linalg.inv(M), rtol=1e-10)


def test_det_underflows_to_zero_gradient():
    M = np.eye(400) * 0.1  # det = 1e-400 underflows
    det, G = det_gradient(M)
    assert det == 0.0 and not np.any(G)
    logdet, _ = logdet_gradient(M)
    assert logdet == pytest.approx(400 * math.log(0.1))


def test_exact_gradients_raise_on_singular():
    L = np.ones((3, 3))
    with pytest.raises(np.linalg.LinAlgError, match="positive definite"):
        logdet_gradient(L)
    with pytest.raises(ValueError):  # LinAlgError is a ValueError
        det_gradient(L)
    with pytest.raises(ValueError, match="L"):
        logdet_gradient(np.zeros((2, 3)))


@pytest.mark.parametrize("objective", ["logdet", "det"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dpp_gradient_taylor_random(objective, seed):
    X = _random_batch(seed)
    res = dpp_diversity(X, SIGMA, objective=objective, method="exact")
    assert res.method == "exact"

    def f(Y):
        return dpp_diversity(Y, SIGMA, objective=objective, method="exact").value

    taylor = taylor_test(f, res.grad, X, seed=10 + seed)
    assert abs(taylor.order - 2) < 0.2, str(taylor)


@pytest.mark.parametrize("seed", [0, 1])
def test_dpp_gradient_taylor_large_batch(seed):
    # n = 150 takes the NumPy inverse by halves (blocks of 64) and the in-place weights.
    X = np.random.default_rng(seed).uniform(-0.5, 0.5, size=(150, 3))
    res = dpp_diversity(X, SIGMA, method="exact")

    def f(Y):
        return dpp_diversity(Y, SIGMA, method="exact").value

    taylor = taylor_test(f, res.grad, X, seed=30 + seed)
    assert abs(taylor.order - 2) < 0.2, str(taylor)


@pytest.mark.parametrize("objective", ["logdet", "det"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dpp_gradient_taylor_near_singular(objective, seed):
    X = _near_singular_batch(seed)
    assert np.linalg.eigvalsh(gaussian_kernel(X, SIGMA))[0] < 1e-5
    res = dpp_diversity(X, SIGMA, objective=objective, method="exact")

    def f(Y):
        return dpp_diversity(Y, SIGMA, objective=objective, method="exact").value

    # Steps small against the 2e-4 gap between the close pair, and above the round-off of
    # the Gram-trick distances (which puts a floor near 1e-11 under the remainder).
    direction = np.random.default_rng(20 + seed).standard_normal(X.shape) * 1e-4
    steps = 1e-2 * 2.0 ** -np.arange(8)
    taylor = taylor_test(f, res.grad, X, direction, steps=steps)
    assert abs(taylor.order - 2) < 0.2, str(taylor)


def test_dpp_gradient_negative_control():
    X = _random_batch(5)
    res = dpp_diversity(X, SIGMA, method="exact")
    rng = np.random.default_rng(0)
    bad = res.grad + 0.05 * np.linalg.norm(res.grad) * rng.standard_normal(X.shape) / np.sqrt(X.size)

    def f(Y):
        return dpp_diversity(Y, SIGMA, method="exact").value

    taylor = taylor_test(f, bad, X, seed=4)
    assert abs(taylor.order - 1) < 0.2, str(taylor)


@pytest.mark.parametrize("n", [12, 150])  # 150: NumPy forms L⁻¹ in the kernel's memory, by halves
def test_exact_path_is_backprop_of_inverse(xp, n):
    Xn = _random_batch(3, n=n, d=4)
    L = gaussian_kernel(Xn, SIGMA)
    expected = kernel_backward(Xn, np.linalg.inv(L), SIGMA)
    res = dpp_diversity(xp.asarray(Xn), SIGMA, method="exact")
    np.testing.assert_allclose(to_numpy(res.grad), expected, rtol=1e-8, atol=1e-10)
    assert res.logdet == pytest.approx(np.linalg.slogdet(L)[1], rel=1e-10)
    assert res.logdet_exact
    det = dpp_diversity(xp.asarray(Xn), SIGMA, objective="det", method="exact")
    assert det.value == pytest.approx(math.exp(res.logdet), rel=1e-12)
    np.testing.assert_allclose(to_numpy(det.grad), det.value * expected, rtol=1e-8, atol=1e-12)


def test_exact_float32_factors_in_float64(xp):
    Xn = _near_singular_batch(4, gap=3e-3)  # λ_min ≈ 1e-5: a float32 solve would lose it
    ref = dpp_diversity(Xn, SIGMA, method="exact")
    res = dpp_diversity(xp.asarray(Xn, dtype=xp.float32), SIGMA, method="exact")
    assert res.grad.dtype == xp.float32
    g = to_numpy(res.grad).astype(float)
    assert np.all(np.isfinite(g))
    # The float32 kernel itself is perturbed at ~1e-7, which moves λ_min ≈ 1e-5 by ~1%.
    assert np.linalg.norm(g - ref.grad) < 0.1 * np.linalg.norm(ref.grad)


def test_method_exact_raises_on_duplicates(rng):
    X = rng.standard_normal((6, 2)) * SIGMA
    X[3] = X[0]
    with pytest.raises(np.linalg.LinAlgError, match="positive definite"):
        dpp_diversity(X, SIGMA, method="exact")
