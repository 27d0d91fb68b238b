"""Proper spectral sub-gradients (DPPSG, DPPSG*) at singular kernel matrices."""

import numpy as np
import pytest

from spectral_ml._backend import to_numpy
from spectral_ml.dpp import dpp_diversity, dppsg, dppsg_star, gaussian_kernel, kernel_backward

SIGMA = 0.2


def _batch_with_duplicate(seed=0, n=10, d=3):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, d))
    X[7] = X[2]
    return X


def _near_duplicate_batch(seed, gap, n=10, d=3):
    """Well-spread points, except x_1 = x_0 + gap (a unit direction times ``gap``)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, d))
    u = rng.standard_normal(d)
    X[1] = X[0] + gap * u / np.linalg.norm(u)
    return X


def test_duplicate_makes_L_singular():
    L = gaussian_kernel(_batch_with_duplicate(), SIGMA)
    w = np.linalg.eigvalsh(L)
    assert abs(w[0]) < 1e-14
    assert abs(np.linalg.det(L)) < 1e-15


@pytest.mark.parametrize("a", [1e-1, 1e-2, 1e-3])
def test_proper_subgradients_make_det_positive_pinv_does_not(a):
    """Def. 3.1: det(L + aL̂) > 0 for small a > 0; the pseudo-inverse keeps det at 0."""
    X = _batch_with_duplicate()
    L = gaussian_kernel(X, SIGMA)
    n = L.shape[0]
    v = np.zeros(n)
    v[2], v[7] = 1 / np.sqrt(2), -1 / np.sqrt(2)  # null vector of L: rows 2 and 7 agree
    delta, theta = 1e-7, 0.1
    for direction, floor in ((dppsg(L, delta), a * delta), (dppsg_star(L, theta), a * theta)):
        M = L + a * direction
        w = np.linalg.eigvalsh(M)
        # Every eigenvalue is lifted to at least a·Δ (DPPSG) or a·θ (DPPSG*): far above
        # the 1e-16 round-off, so det > 0 is not an accident of rounding.
        assert w[0] >= 0.5 * floor
        assert np.sum(np.log(w)) > -np.inf and np.linalg.slogdet(M)[0] == 1
        assert v @ M @ v >= 0.5 * floor
    P = np.linalg.pinv(L, rcond=1e-10, hermitian=True)
    M = L + a * P
    assert abs(np.linalg.eigvalsh(M)[0]) < 1e-12
    assert abs(v @ M @ v) < 1e-12
    assert abs(np.linalg.det(M)) < 1e-10 * abs(np.linalg.det(L + a * dppsg_star(L, theta)))


def test_dppsg_lifts_eigenvalues_below_delta(xp):
    X = _batch_with_duplicate(1)
    X[4] = X[3] + 1e-6  # a second, near-duplicate pair: λ ≈ 7.5e-11 < Δ
    Ln = gaussian_kernel(X, SIGMA)
    for delta in (1e-7, 1e-3):
        D, w = dppsg(xp.asarray(Ln), delta, return_eigenvalues=True)
        assert type(D) is type(xp.asarray(Ln))
        D = to_numpy(D)
        w = to_numpy(w)
        assert np.sum(w < delta) >= 2
        np.testing.assert_allclose(np.linalg.eigvalsh(Ln + D), np.maximum(w, delta), atol=1e-12)
        # Eigenvectors whose eigenvalue is already above Δ are untouched.
        assert np.allclose(D @ np.linalg.eigh(Ln)[1][:, w >= delta], 0, atol=1e-12)
        assert np.array_equal(D, D.T) or np.allclose(D, D.T, atol=1e-15)


def test_dppsg_is_zero_above_delta(rng):
    X = rng.uniform(-3, 3, size=(6, 2))
    L = gaussian_kernel(X, SIGMA)
    assert np.linalg.eigvalsh(L)[0] > 1e-3
    assert not np.any(dppsg(L, 1e-7))


@pytest.mark.parametrize("theta", [0.05, 0.1, 1.0])
def test_dppsg_star_equals_theta_identity_minus_L_and_spectral_form(xp, theta):
    Ln = gaussian_kernel(_batch_with_duplicate(2), SIGMA)
    L = xp.asarray(Ln)
    D = dppsg_star(L, theta)
    assert type(D) is type(L)
    np.testing.assert_array_equal(to_numpy(D), theta * (np.eye(Ln.shape[0]) - Ln))
    # Algorithm 2 as written in the paper's text: U diag(b − λ) Uᵀ, b = (1 − θ)λ + θ·1.
    w, U = np.linalg.eigh(Ln)
    b = (1 - theta) * w + theta
    np.testing.assert_allclose(to_numpy(D), (U * (b - w)) @ U.T, atol=1e-13)


def test_dppsg_star_increases_product_of_eigenvalues_under_trace_constraint(rng):
    L = gaussian_kernel(rng.uniform(-0.3, 0.3, size=(12, 2)), SIGMA)
    logdet = np.linalg.slogdet(L)[1]
    M = L + dppsg_star(L, 0.1)
    assert np.trace(M) == pytest.approx(np.trace(L))
    assert np.linalg.slogdet(M)[1] > logdet


def test_subgradient_grads_are_backprop_of_directions(xp):
    Xn = _batch_with_duplicate(3)
    Xn[5] = Xn[4] + 1e-5
    L = gaussian_kernel(Xn, SIGMA)
    X = xp.asarray(Xn)
    star = dpp_diversity(X, SIGMA, method="dppsg*", theta=0.3)
    np.testing.assert_allclose(
        to_numpy(star.grad), kernel_backward(Xn, dppsg_star(L, 0.3), SIGMA), rtol=1e-10, atol=1e-13
    )
    auto_star = dpp_diversity(X, SIGMA, theta=0.3)
    assert auto_star.method == "dppsg*"
    np.testing.assert_allclose(to_numpy(auto_star.grad), to_numpy(star.grad), rtol=1e-10, atol=1e-13)
    plain = dpp_diversity(X, SIGMA, method="dppsg", delta=1e-6)
    expected = kernel_backward(Xn, dppsg(L, 1e-6), SIGMA)
    assert np.linalg.norm(expected) > 0
    np.testing.assert_allclose(to_numpy(plain.grad), expected, rtol=1e-8, atol=1e-15)


@pytest.mark.parametrize(
    "method, gap",
    [("exact", 1e-3), ("auto", 1e-3), ("dppsg", 1e-5), ("dppsg*", 1e-3), ("dppsg*", 1e-5)],
)
def test_ascent_step_separates_near_duplicates(method, gap):
    X = _near_duplicate_batch(4, gap)
    res = dpp_diversity(X, SIGMA, method=method)
    if method == "auto":
        assert res.method == "exact"
    g = res.grad
    diff = X[1] - X[0]
    # First order: d/dt ‖x_1 − x_0 + t(g_1 − g_0)‖² = 2⟨x_1 − x_0, g_1 − g_0⟩ > 0.
    assert diff @ (g[1] - g[0]) > 0
    t = 0.1 * gap / np.linalg.norm(g[1] - g[0])
    Y = X + t * g
    assert np.linalg.norm(Y[1] - Y[0]) > np.linalg.norm(diff)
    if method in ("exact", "auto"):
        assert dpp_diversity(Y, SIGMA, method="exact").value > res.value


def test_exact_duplicates_get_identical_directions():
    X = _batch_with_duplicate(5)
    for method in ("dppsg", "dppsg*"):
        g = dpp_diversity(X, SIGMA, method=method, delta=1e-3).grad
        np.testing.assert_allclose(g[2], g[7], atol=1e-12)


@pytest.mark.parametrize("objective", ["logdet", "det"])
def test_float32_batch_of_500_with_duplicates_is_finite_on_every_path(objective):
    rng = np.random.default_rng(6)
    X = rng.uniform(-1, 1, size=(500, 16)).astype(np.float32)
    X[100:110] = X[0:10]  # ten duplicated points
    X[200] = X[201] + np.float32(1e-4)
    results = {}
    for method in ("auto", "dppsg", "dppsg*"):
        res = dpp_diversity(X, SIGMA, objective=objective, method=method)
        assert res.grad.dtype == np.float32 and res.grad.shape == X.shape
        assert np.all(np.isfinite(res.grad))
        assert np.isfinite(res.value) and np.isfinite(res.logdet)
        results[method] = res
    assert results["auto"].method in ("dppsg*", "exact")
    try:
        res = dpp_diversity(X, SIGMA, objective=objective, method="exact")
    except np.linalg.LinAlgError:
        pass  # singular to working precision: the exact path refuses, as documented
    else:
        assert np.all(np.isfinite(res.grad)) and np.isfinite(res.value)


def test_float32_batch_in_two_dimensions_is_finite():
    # The MNIST setting: 2-D features, σ = 0.2, batches of 200, far denser than σ.
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, size=(200, 2)).astype(np.float32)
    X[10:20] = X[:10]
    for method in ("auto", "dppsg", "dppsg*"):
        res = dpp_diversity(X, SIGMA, method=method, subgradient="dppsg")
        assert res.method != "exact"
        assert np.all(np.isfinite(res.grad)) and np.isfinite(res.value)
        assert not res.logdet_exact


@pytest.mark.parametrize(
    "func, kwargs, match",
    [
        (dppsg, {"delta": 0.0}, "delta"),
        (dppsg, {"delta": -1e-7}, "delta"),
        (dppsg, {"delta": float("nan")}, "delta"),
        (dppsg_star, {"theta": 0.0}, "theta"),
        (dppsg_star, {"theta": 1.5}, "theta"),
        (dppsg_star, {"theta": -0.1}, "theta"),
    ],
)
def test_subgradient_bad_parameters(func, kwargs, match):
    with pytest.raises(ValueError, match=match):
        func(np.eye(3), **kwargs)


@pytest.mark.parametrize("func", [dppsg, dppsg_star])
def test_subgradient_bad_matrix(func):
    with pytest.raises(ValueError, match="L"):
        func(np.ones((2, 3)))
    with pytest.raises(ValueError, match="L"):
        func(np.full((2, 2), np.nan))
