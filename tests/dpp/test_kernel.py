"""Gaussian kernel of Eq. 4 and its O(n²d) back-propagation."""

import numpy as np
import pytest

from spectral_ml._backend import to_numpy
from spectral_ml.dpp import gaussian_kernel, kernel_backward
from spectral_ml.testing import taylor_test

SIGMA = 0.2


def _direct_kernel(X, sigma):
    diff = X[:, None, :] - X[None, :, :]
    return np.exp(-np.sum(diff**2, axis=-1) / sigma**2)


def _batch(rng, n=9, d=3, scale=SIGMA):
    return rng.standard_normal((n, d)) * scale


def test_kernel_matches_definition(xp, rng):
    X = _batch(rng) + 5.0  # an offset: the Gram trick must not depend on it
    L = gaussian_kernel(xp.asarray(X), sigma=SIGMA)
    assert type(L) is type(xp.asarray(X))
    L = to_numpy(L)
    np.testing.assert_allclose(L, _direct_kernel(X, SIGMA), rtol=1e-11, atol=1e-14)
    assert np.array_equal(np.diag(L), np.ones(9))
    assert np.array_equal(L, L.T)
    assert L.min() > 0 and L.max() <= 1


def test_kernel_sigma_squared_without_factor_two():
    L = gaussian_kernel(np.array([[0.0], [0.5]]), sigma=0.5)
    assert L[0, 1] == pytest.approx(np.exp(-1.0), rel=1e-14)


def test_kernel_float32_stays_float32(xp, rng):
    X = xp.asarray(_batch(rng), dtype=xp.float32)
    L = gaussian_kernel(X, sigma=SIGMA)
    assert L.dtype == xp.float32
    np.testing.assert_allclose(
        to_numpy(L), _direct_kernel(to_numpy(X).astype(float), SIGMA), atol=1e-5
    )


def test_kernel_underflow_is_exact_zero():
    X = np.array([[0.0], [1.0], [100.0]])
    L = gaussian_kernel(X, sigma=0.2)
    assert L[0, 2] == 0.0 and L[1, 2] == 0.0
    assert L[0, 1] == pytest.approx(np.exp(-25.0), rel=1e-12)


def test_kernel_exact_duplicates_give_identical_rows(rng):
    X = _batch(rng)
    X[4] = X[1]
    L = gaussian_kernel(X, sigma=SIGMA)
    assert L[1, 4] == 1.0
    np.testing.assert_allclose(L[1], L[4], rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_kernel_backward_taylor(seed):
    rng = np.random.default_rng(100 + seed)
    X = _batch(rng, n=10, d=4)
    G = rng.standard_normal((10, 10))
    G = G + G.T

    def f(Y):
        return float(np.sum(G * gaussian_kernel(Y, sigma=SIGMA)))

    res = taylor_test(f, kernel_backward(X, G, sigma=SIGMA), X, seed=seed)
    assert abs(res.order - 2) < 0.2, str(res)


def test_kernel_backward_nonsymmetric_G_uses_symmetric_part(rng):
    X = _batch(rng)
    G = rng.standard_normal((9, 9))

    def f(Y):
        return float(np.sum(G * gaussian_kernel(Y, sigma=SIGMA)))

    grad = kernel_backward(X, G, sigma=SIGMA)
    res = taylor_test(f, grad, X, seed=7)
    assert abs(res.order - 2) < 0.2, str(res)
    np.testing.assert_allclose(grad, kernel_backward(X, (G + G.T) / 2, sigma=SIGMA), rtol=1e-12)


@pytest.mark.parametrize("wrong", ["sign", "factor"])
def test_kernel_backward_negative_control(rng, wrong):
    X = _batch(rng, n=10, d=4)
    G = rng.standard_normal((10, 10))
    G = G + G.T
    grad = kernel_backward(X, G, sigma=SIGMA)
    # The paper's 2/σ² per entry without the symmetric counterpart is the classic slip.
    bad = -grad if wrong == "sign" else grad / 2

    def f(Y):
        return float(np.sum(G * gaussian_kernel(Y, sigma=SIGMA)))

    res = taylor_test(f, bad, X, seed=3)
    assert abs(res.order - 1) < 0.2, str(res)


def test_kernel_backward_against_dense_chain_rule(rng):
    X = _batch(rng, n=6, d=2)
    G = rng.standard_normal((6, 6))
    G = G + G.T
    L = _direct_kernel(X, SIGMA)
    # ∂L_ij/∂x_il written out entry by entry (paper Eqs. 6-7), contracted with G.
    dense = np.zeros_like(X)
    for i in range(6):
        for j in range(6):
            dLij = -2.0 / SIGMA**2 * L[i, j] * (X[i] - X[j])
            dense[i] += G[i, j] * dLij + G[j, i] * dLij
    np.testing.assert_allclose(kernel_backward(X, G, sigma=SIGMA), dense, rtol=1e-10, atol=1e-12)


def test_kernel_backward_namespaces_and_given_L(xp, rng):
    Xn = _batch(rng)
    Gn = rng.standard_normal((9, 9))
    ref = kernel_backward(Xn, Gn, sigma=SIGMA)
    for dtype, tol in ((xp.float64, 1e-12), (xp.float32, 1e-4)):
        X = xp.asarray(Xn, dtype=dtype)
        G = xp.asarray(Gn, dtype=dtype)
        out = kernel_backward(X, G, sigma=SIGMA)
        assert type(out) is type(X) and out.dtype == dtype
        np.testing.assert_allclose(to_numpy(out), ref, rtol=tol, atol=tol)
        L = gaussian_kernel(X, sigma=SIGMA)
        out2 = kernel_backward(X, G, sigma=SIGMA, L=L)
        np.testing.assert_allclose(to_numpy(out2), to_numpy(out), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"X": np.array([[0.0, np.nan], [1.0, 2.0]])}, "X"),
        ({"X": np.array([[0.0, np.inf], [1.0, 2.0]])}, "X"),
        ({"X": np.zeros(4)}, "X"),
        ({"X": np.zeros((2, 2, 2))}, "X"),
        ({"X": np.zeros((1, 3))}, "X"),
        ({"X": np.zeros((3, 0))}, "X"),
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": -1.0}, "sigma"),
        ({"sigma": float("nan")}, "sigma"),
        ({"sigma": float("inf")}, "sigma"),
        ({"sigma": "wide"}, "sigma"),
    ],
)
def test_kernel_bad_input(kwargs, match):
    args = {"X": np.zeros((3, 2)), "sigma": 0.2, **kwargs}
    with pytest.raises(ValueError, match=match):
        gaussian_kernel(args["X"], args["sigma"])
    with pytest.raises(ValueError, match=match):
        kernel_backward(
            args["X"],
            np.eye(args["X"].shape[0]) if args["X"].ndim == 2 else np.eye(2),
            args["sigma"],
        )


def test_kernel_backward_bad_G_and_L():
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match="G"):
        kernel_backward(X, np.eye(4))
    with pytest.raises(ValueError, match="G"):
        kernel_backward(X, np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="L"):
        kernel_backward(X, np.eye(3), L=np.eye(2))
    with pytest.raises(ValueError, match="L"):
        kernel_backward(X, np.eye(3), L=np.full((3, 3), np.inf))


@pytest.mark.parametrize("sigma", [1e-300, 1e-3])
def test_kernel_rejects_a_sigma_that_underflows_every_pair(xp, sigma):
    X = xp.asarray(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="sigma"):
        gaussian_kernel(X, sigma)
    with pytest.raises(ValueError, match="sigma"):
        kernel_backward(X, xp.asarray(np.ones((3, 3))), sigma)


def test_kernel_backward_with_given_L_checks_only_the_scale():
    X = np.array([[0.0], [1.0]])
    g = kernel_backward(X, np.ones((2, 2)), 1e-3, L=np.eye(2))
    assert np.all(g == 0.0)
    with pytest.raises(ValueError, match="sigma"):
        kernel_backward(X, np.ones((2, 2)), 1e-300, L=np.eye(2))


def test_kernel_keeps_off_diagonal_entries_too_small_to_change_the_sum(xp):
    # exp(−690) ≈ 3e-300 is a normal number: det L still sees the pair as distinct, but
    # n + 3e-300 rounds to n, so the sum alone cannot tell this kernel from the identity.
    sigma = 0.2
    X = xp.asarray(np.array([[0.0], [sigma * np.sqrt(690.0)]]))
    L = np.asarray(gaussian_kernel(X, sigma))
    assert L[0, 1] == L[1, 0] > 0 and L[0, 1] < 1e-299
    assert L.sum() == 2.0
