"""dpp_diversity: the switch between exact gradient and sub-gradient, results, bad input."""

import math

import numpy as np
import pytest

from spectral_ml._backend import get_namespace, to_numpy
from spectral_ml.dpp import DPPResult, dpp_diversity, gaussian_kernel
from spectral_ml.dpp.kernel import centre_batch, centred_backward, centred_kernel

SIGMA = 0.2


def _spread(seed=0, n=30, d=3):
    """A batch whose kernel matrix is well conditioned but far from the identity."""
    return np.random.default_rng(seed).uniform(-0.5, 0.5, size=(n, d))


def _with_duplicate(seed=0, n=30, d=3):
    X = _spread(seed, n, d)
    X[11] = X[3]
    return X


@pytest.mark.parametrize("seed", range(12))
def test_test_batches_are_well_conditioned_but_not_diagonal(seed):
    L = gaussian_kernel(_spread(seed), SIGMA)
    assert np.linalg.eigvalsh(L)[0] > 1e-2
    assert np.sum(L > 1e-2) > 4 * L.shape[0]


def test_auto_picks_exact_on_well_spread_batch(xp):
    res = dpp_diversity(xp.asarray(_spread()), SIGMA)
    assert isinstance(res, DPPResult)
    assert res.method == "exact" and res.is_gradient
    assert res.logdet >= math.log(1e-7)


@pytest.mark.parametrize("subgradient", ["dppsg", "dppsg*"])
def test_auto_picks_subgradient_on_batch_with_duplicates(xp, subgradient):
    res = dpp_diversity(xp.asarray(_with_duplicate()), SIGMA, subgradient=subgradient)
    assert res.method == subgradient and not res.is_gradient
    assert math.isfinite(res.value)
    assert not res.logdet_exact
    assert np.all(np.isfinite(to_numpy(res.grad)))


def test_auto_default_subgradient_is_dppsg_star():
    assert dpp_diversity(_with_duplicate(), SIGMA).method == "dppsg*"


def test_beta_threshold_decides_between_paths():
    X = _spread(1)
    X[1] = X[0] + np.array([0.0004, 0, 0])  # 0.002σ apart: λ_min ≈ 4e-6, L still PD
    logdet = np.linalg.slogdet(gaussian_kernel(X, SIGMA))[1]
    assert logdet < math.log(1e-7)
    below = dpp_diversity(X, SIGMA)
    assert below.method == "dppsg*"
    # The factorization succeeded, so the value is still the exact log det.
    assert below.logdet_exact and below.logdet == pytest.approx(logdet, rel=1e-10)
    assert dpp_diversity(X, SIGMA, beta=math.exp(logdet - 0.5)).method == "exact"
    assert dpp_diversity(X, SIGMA, beta=math.exp(logdet + 0.5)).method == "dppsg*"
    well = _spread(2)
    assert dpp_diversity(well, SIGMA).method == "exact"
    assert dpp_diversity(well, SIGMA, beta=2.0).method == "dppsg*"  # det L ≤ 1 < β


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("subgradient", ["dppsg", "dppsg*"])
@pytest.mark.parametrize("case", ["factor fails", "det below beta"])
def test_auto_subgradient_sees_the_kernel_after_the_factorization(dtype, subgradient, case):
    # The automatic switch factors the kernel in its own memory; when it then leaves the exact
    # path, the sub-gradient must see the kernel itself, bit for bit.
    X = _spread(9, n=150, d=3).astype(dtype)
    beta = 1e-7
    if case == "factor fails":
        X[11] = X[3]
    else:
        beta = 2.0  # det L ≤ 1 < β: the factorization succeeds and is not used
    auto = dpp_diversity(X, SIGMA, subgradient=subgradient, beta=beta)
    forced = dpp_diversity(X, SIGMA, method=subgradient)
    assert auto.method == subgradient
    if subgradient == "dppsg":
        np.testing.assert_array_equal(auto.grad, forced.grad)
    else:
        # Forced DPPSG* takes L∘L from the kernel at σ/√2; the switch squares L itself.
        xp = get_namespace(X)
        Xc = centre_batch(X, xp)
        L = centred_kernel(Xc, SIGMA, xp)
        np.testing.assert_array_equal(auto.grad, centred_backward(L * L, Xc, SIGMA, xp, coef=-0.1))
    assert auto.logdet == pytest.approx(forced.logdet, rel=1e-10)
    assert auto.logdet_exact == (case != "factor fails")


@pytest.mark.parametrize("method", ["exact", "dppsg", "dppsg*"])
def test_forced_method_is_taken(method):
    res = dpp_diversity(_spread(2), SIGMA, method=method)
    assert res.method == method


def test_values_agree_across_methods_on_positive_definite_batch():
    X = _spread(3)
    ref = np.linalg.slogdet(gaussian_kernel(X, SIGMA))[1]
    for method in ("auto", "exact", "dppsg", "dppsg*"):
        res = dpp_diversity(X, SIGMA, method=method)
        assert res.logdet == pytest.approx(ref, rel=1e-9)
        assert res.logdet_exact
        det = dpp_diversity(X, SIGMA, method=method, objective="det")
        assert det.value == pytest.approx(math.exp(ref), rel=1e-9)


def test_singular_value_is_lifted_logdet():
    X = _with_duplicate(4)
    w = np.linalg.eigvalsh(gaussian_kernel(X, SIGMA))
    for delta in (1e-7, 1e-4):
        expected = np.sum(np.log(np.maximum(w, delta)))
        for method in ("auto", "dppsg", "dppsg*"):
            res = dpp_diversity(X, SIGMA, method=method, delta=delta)
            assert res.logdet == pytest.approx(expected, rel=1e-8)
            assert res.value == res.logdet
            assert dpp_diversity(X, SIGMA, method=method, objective="det", delta=delta).value == (
                pytest.approx(math.exp(expected), rel=1e-8)
            )


def test_dppsg_star_value_is_lazy():
    res = dpp_diversity(_spread(5), SIGMA, method="dppsg*")
    assert "not computed" in repr(res)
    value = res.value
    assert f"{value:.6g}" in repr(res)
    assert res.value == value  # cached


def test_det_objective_scales_exact_gradient():
    X = _spread(6, n=10, d=3)
    lg = dpp_diversity(X, SIGMA, method="exact")
    dt = dpp_diversity(X, SIGMA, method="exact", objective="det")
    assert dt.value == pytest.approx(math.exp(lg.value))
    np.testing.assert_allclose(dt.grad, dt.value * lg.grad, rtol=1e-12)


def test_subgradient_is_independent_of_objective():
    X = _with_duplicate(7)
    for method in ("dppsg", "dppsg*"):
        a = dpp_diversity(X, SIGMA, method=method, objective="det").grad
        b = dpp_diversity(X, SIGMA, method=method, objective="logdet").grad
        np.testing.assert_array_equal(a, b)


def test_theta_scales_dppsg_star_linearly():
    X = _with_duplicate(8)
    a = dpp_diversity(X, SIGMA, method="dppsg*", theta=0.1).grad
    b = dpp_diversity(X, SIGMA, method="dppsg*", theta=0.4).grad
    np.testing.assert_allclose(b, 4 * a, rtol=1e-12)


@pytest.mark.parametrize("method", ["auto", "exact", "dppsg", "dppsg*"])
def test_namespace_and_dtype_preserved(xp, method):
    Xn = _spread(9, n=20, d=4)
    assert np.linalg.norm(dpp_diversity(Xn, SIGMA).grad) > 1
    ref = dpp_diversity(Xn, SIGMA, method=method)
    for dtype, tol in ((xp.float64, 1e-9), (xp.float32, 2e-3)):
        X = xp.asarray(Xn, dtype=dtype)
        res = dpp_diversity(X, SIGMA, method=method)
        assert type(res.grad) is type(X)
        assert res.grad.dtype == dtype and tuple(res.grad.shape) == (20, 4)
        assert isinstance(res.value, float) and isinstance(res.logdet, float)
        g = to_numpy(res.grad).astype(float)
        assert np.linalg.norm(g - ref.grad) <= tol * np.linalg.norm(ref.grad) + 1e-30
        assert res.logdet == pytest.approx(ref.logdet, rel=tol, abs=tol)


def test_integer_input_becomes_float64():
    X = np.arange(12).reshape(6, 2)
    res = dpp_diversity(X, sigma=1.0)
    assert res.grad.dtype == np.float64


def test_input_is_not_modified():
    X = _spread(10)
    X0 = X.copy()
    for method in ("auto", "exact", "dppsg", "dppsg*"):
        dpp_diversity(X, SIGMA, method=method)
    np.testing.assert_array_equal(X, X0)


def test_torch_tensors_round_trip():
    torch = pytest.importorskip("torch")
    Xn = _spread(11)
    for method in ("exact", "dppsg", "dppsg*"):
        ref = dpp_diversity(Xn, SIGMA, method=method)
        res = dpp_diversity(torch.asarray(Xn), SIGMA, method=method)
        assert isinstance(res.grad, torch.Tensor) and res.grad.dtype == torch.float64
        np.testing.assert_allclose(res.grad.numpy(), ref.grad, rtol=1e-8, atol=1e-12)
        assert res.logdet == pytest.approx(ref.logdet, rel=1e-9)
        r32 = dpp_diversity(torch.asarray(Xn, dtype=torch.float32), SIGMA, method=method)
        assert r32.grad.dtype == torch.float32


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"X": np.array([[0.0, np.nan], [1.0, 2.0]])}, "X"),
        ({"X": np.array([[0.0, -np.inf], [1.0, 2.0]])}, "X"),
        ({"X": np.zeros(5)}, "X"),
        ({"X": np.zeros((2, 2, 2))}, "X"),
        ({"X": np.zeros((1, 4))}, "X"),
        ({"X": np.zeros((0, 4))}, "X"),
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": -0.2}, "sigma"),
        ({"sigma": float("inf")}, "sigma"),
        ({"delta": 0.0}, "delta"),
        ({"delta": -1e-7}, "delta"),
        ({"theta": 0.0}, "theta"),
        ({"theta": 1.01}, "theta"),
        ({"theta": -0.5}, "theta"),
        ({"beta": 0.0}, "beta"),
        ({"beta": -1.0}, "beta"),
        ({"beta": float("nan")}, "beta"),
        ({"method": "newton"}, "method"),
        ({"method": None}, "method"),
        ({"objective": "trace"}, "objective"),
        ({"subgradient": "pinv"}, "subgradient"),
        ({"subgradient": "exact"}, "subgradient"),
    ],
)
def test_bad_input_raises_value_error_naming_argument(kwargs, match):
    args = {"X": _spread(12, n=5, d=2), **kwargs}
    X = args.pop("X")
    with pytest.raises(ValueError, match=match):
        dpp_diversity(X, **args)


def test_theta_one_is_allowed():
    res = dpp_diversity(_with_duplicate(13), SIGMA, method="dppsg*", theta=1.0)
    assert np.all(np.isfinite(res.grad))


@pytest.mark.parametrize("method", ["auto", "exact", "dppsg", "dppsg*"])
@pytest.mark.parametrize("sigma", [1e-300, 1e-160, 1e300])
def test_sigma_outside_float64_range_raises_naming_sigma(method, sigma):
    # 1/σ² or 4/σ² over- or underflows whatever the data (1e-300 used to divide by zero).
    with pytest.raises(ValueError, match="sigma"):
        dpp_diversity(_spread(12, n=5, d=2), sigma, method=method)


@pytest.mark.parametrize("method", ["auto", "exact", "dppsg", "dppsg*"])
def test_sigma_too_small_for_the_batch_raises_naming_sigma(xp, method):
    # Rows 0.283 apart or more: at σ = 1e-3 every off-diagonal entry of L underflows, L = I
    # and the diversity has no gradient at all.
    X = xp.asarray(np.arange(10.0).reshape(5, 2) / 10.0)
    with pytest.raises(ValueError, match=r"sigma=0\.001 is too small for X.*closest two rows are 0\.283"):
        dpp_diversity(X, 1e-3, method=method)
    # Just above the bound the kernel resolves the closest pairs and the term works.
    res = dpp_diversity(X, np.sqrt(0.08 / 700.0), method=method)
    assert np.all(np.isfinite(to_numpy(res.grad)))


def test_sigma_check_looks_at_the_kernel_not_its_square():
    # The fused DPPSG* path builds L∘L, which underflows before L does: at a σ where L_01 is
    # a normal number and L_01² is not, the batch is resolved and nothing is raised.
    X = np.array([[0.0], [1.0]])
    sigma = 1.0 / np.sqrt(500.0)  # L_01 = e^-500 (normal), L_01² = e^-1000 (zero)
    res = dpp_diversity(X, sigma, method="dppsg*")
    assert np.all(res.grad == 0.0)  # a true zero, not a degenerate kernel
    assert res.logdet == pytest.approx(np.log1p(-np.exp(-1000.0)), abs=1e-300)


def test_float32_batch_overflow_raises_naming_sigma():
    X = (np.arange(8.0).reshape(4, 2) * 1e30).astype(np.float32)
    with pytest.raises(ValueError, match="sigma=1e-10 is too small for the scale of X"):
        dpp_diversity(X, 1e-10)


def test_duplicate_only_batch_is_not_an_underflow():
    # Every distance 0: the kernel is all ones, whatever σ; the sub-gradient handles it.
    res = dpp_diversity(np.zeros((4, 2)), 1e-100)
    assert res.method == "dppsg*"


@pytest.mark.parametrize("method", ["auto", "exact", "dppsg", "dppsg*"])
def test_underflow_allow_returns_the_identity_kernel_result(xp, method):
    # Training loops: a batch spread far apart at width σ is as diverse as the kernel can
    # tell; the term is then log det I = 0 with a zero direction, not an error.
    X = xp.asarray(np.arange(10.0).reshape(5, 2) / 10.0)
    res = dpp_diversity(X, 1e-3, method=method, underflow="allow")
    assert np.all(to_numpy(res.grad) == 0.0)
    assert res.logdet == 0.0
    with pytest.raises(ValueError, match="underflow must be one of 'raise', 'allow'"):
        dpp_diversity(X, 1e-3, method=method, underflow="ignore")
    # The float64 range of σ is still checked.
    with pytest.raises(ValueError, match="sigma"):
        dpp_diversity(X, 1e-300, method=method, underflow="allow")
