"""Gaussian kernel of Eq. 4 and its O(n²d) back-propagation."""

import numpy as np
import pytest

from spectral_ml._backend import to_numpy
from spectral_ml.dpp import gaussian_kernel, kernel_backward
from spectral_ml.dpp.kernel import exp_flushed, flush_bound, gaussian_affinity, gaussian_affinity_deferred
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
    np.testing.assert_allclose(to_numpy(L), _direct_kernel(to_numpy(X).astype(float), SIGMA), atol=1e-5)


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


# -- the Gaussian affinity and the flushed exponential behind the kernel ---------------------


def _affinity_reference(Y):
    """exp(−½‖y_i − y_j‖²) from explicit differences, in extended precision."""
    Y = np.asarray(Y, dtype=np.longdouble)
    D = ((Y[:, None, :] - Y[None, :, :]) ** 2).sum(axis=2)
    return np.exp(-D / 2).astype(np.float64)


def _affinity_rows(rng, n, d):
    # Spread on the scale of the kernel, with a near-duplicate and an exact duplicate.
    Y = rng.standard_normal((n, d)) * 1.5 + 3.0
    Y[1] = Y[0] + 1e-9
    Y[2] = Y[3]
    return Y


def test_exp_flushed_zeroes_below_twice_the_smallest_normal(xp):
    E = np.array([0.0, -1.0, -700.0, -708.0, -720.0, -1e4, 3.0])
    out = to_numpy(exp_flushed(xp.asarray(E), upper=0.0))
    expected = np.exp(np.minimum(E, 0.0))
    expected[expected < 2 * np.finfo(np.float64).tiny] = 0.0
    np.testing.assert_array_equal(out, expected)
    # exp(-708) = 3.3e-308 is normal but below the bound, exp(-720) subnormal: both flushed.
    assert flush_bound(np.float64, np) == 2 * np.finfo(np.float64).tiny
    assert out[3] == out[4] == 0.0 and np.exp(-708.0) > np.finfo(np.float64).tiny
    # Without overwrite the input is left alone.
    src = xp.asarray(E)
    exp_flushed(src)
    np.testing.assert_array_equal(to_numpy(src), E)


@pytest.mark.parametrize("overwrite", [False, True])
def test_exp_flushed_on_torch_matches_numpy(overwrite):
    torch = pytest.importorskip("torch")
    for dtype, low in [(np.float64, -800.0), (np.float32, -110.0)]:
        E = np.linspace(low, 3.0, 4001).astype(dtype)
        src = torch.from_numpy(E.copy())
        out = exp_flushed(src, upper=0.0, overwrite=overwrite)
        assert out.dtype == src.dtype
        expected = exp_flushed(E.copy(), upper=0.0)
        got = out.numpy()
        np.testing.assert_array_equal(got == 0, expected == 0)
        np.testing.assert_allclose(got, expected, rtol=4 * np.finfo(dtype).eps, atol=0)
        if not overwrite:
            np.testing.assert_array_equal(src.numpy(), E)


def test_gaussian_affinity_is_exactly_symmetric_with_unit_diagonal(xp, rng):
    Y = _affinity_rows(rng, 37, 3)
    A = to_numpy(gaussian_affinity(xp.asarray(Y)))
    np.testing.assert_array_equal(A, A.T)
    np.testing.assert_array_equal(np.diag(A), 1.0)
    assert A.max() <= 1.0
    # The Gram trick loses about ε·‖y‖² in the exponent, nothing more.
    np.testing.assert_allclose(A, _affinity_reference(Y), rtol=1e-12, atol=1e-14)


def test_gaussian_affinity_flushes_what_would_be_subnormal(xp):
    # exp(−½·38²) = exp(−722) is subnormal in float64; exp(−½·37²) = exp(−684.5) is not.
    Y = np.array([[0.0], [37.0], [75.0]])
    A = to_numpy(gaussian_affinity(xp.asarray(Y)))
    assert A[0, 1] == A[1, 0] > 0 and A[1, 2] == A[2, 1] == 0.0 and A[0, 2] == 0.0


def test_gaussian_affinity_reports_overflow(xp):
    Y = np.array([[0.0], [1e155]])
    with pytest.raises(FloatingPointError, match="overflow"):
        with np.errstate(over="ignore"):
            gaussian_affinity(xp.asarray(Y))


def test_deferred_affinity_leaves_the_overflow_to_its_caller(xp):
    # The same matrix, and the sum of the halved squared norms that tells whether it means
    # anything, as a 0-d array that nothing has read yet.
    Y = np.array([[0.0, 1.0], [2.0, 0.5], [1.0, 1.0]])
    A, half_norms = gaussian_affinity_deferred(xp.asarray(Y))
    assert half_norms.shape == ()
    assert float(half_norms) == pytest.approx(float(np.sum(Y * Y)) / 2, rel=1e-15)
    np.testing.assert_array_equal(to_numpy(A), to_numpy(gaussian_affinity(xp.asarray(Y))))
    with np.errstate(over="ignore"):
        _, half_norms = gaussian_affinity_deferred(xp.asarray(np.array([[0.0], [1e155]])))
    assert not np.isfinite(float(half_norms))


@pytest.mark.parametrize("dtype, big", [("float64", 1e155), ("float32", 1e20)])
def test_gaussian_affinity_torch_strips_report_overflow(dtype, big):
    torch = pytest.importorskip("torch")
    Y = torch.zeros((150, 2), dtype=getattr(torch, dtype))
    Y[140, 1] = big  # in the second strip
    with pytest.raises(FloatingPointError, match="overflow"):
        gaussian_affinity(Y)


@pytest.mark.parametrize("n", [1, 2, 127, 128, 129, 300, 501])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gaussian_affinity_torch_strips_match_numpy(n, dtype, rng):
    """The blocked upper triangle on PyTorch's CPU: symmetric bit for bit, same values as NumPy."""
    torch = pytest.importorskip("torch")
    Y = _affinity_rows(rng, max(n, 4), 5)[:n].astype(dtype)
    A = gaussian_affinity(torch.from_numpy(Y))
    assert A.dtype == getattr(torch, dtype) and A.shape == (n, n)
    A = A.numpy()
    np.testing.assert_array_equal(A, A.T)
    np.testing.assert_array_equal(np.diag(A), 1.0)
    eps = float(np.finfo(dtype).eps)
    # Exponent error about ε·‖y‖² (‖y‖² ≈ 60 here) on either side.
    np.testing.assert_allclose(A, gaussian_affinity(Y), rtol=0, atol=2e3 * eps)
    np.testing.assert_allclose(A, _affinity_reference(Y.astype(np.float64)), rtol=0, atol=2e3 * eps)


def test_gaussian_affinity_torch_tensor_that_requires_grad():
    """Autograd-tracked input takes the out-of-place path and keeps its graph."""
    torch = pytest.importorskip("torch")
    Y = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64, requires_grad=True)
    A = gaussian_affinity(Y)
    assert A.requires_grad
    np.testing.assert_allclose(A.detach().numpy(), _affinity_reference(Y.detach().numpy()), rtol=1e-14)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_gaussian_affinity_of_half_precision_torch_rows(dtype):
    """No CPU product in half precision: one product in float32, rounded back."""
    torch = pytest.importorskip("torch")
    Y = np.array([[0.0, 0.5], [1.0, 0.0], [0.25, 1.5]])
    A = gaussian_affinity(torch.asarray(Y, dtype=getattr(torch, dtype)))
    assert A.dtype == getattr(torch, dtype)
    np.testing.assert_allclose(A.float().numpy(), _affinity_reference(Y), rtol=0, atol=2e-2)
