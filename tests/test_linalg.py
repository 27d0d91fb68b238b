"""Spectral calculus: values against closed forms, gradients by Taylor tests."""

import math
import warnings

import numpy as np
import pytest

from spectral_ml import linalg
from spectral_ml._backend import to_numpy
from spectral_ml.testing import taylor_test


def _spd(rng, d, cond=10.0):
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    w = np.geomspace(1.0, cond, d)
    return (Q * w) @ Q.T


def _as(xp, a):
    return xp.asarray(a)


def test_eigh_symmetrizes_and_reconstructs(xp, rng):
    M = rng.standard_normal((6, 6))
    w, U = linalg.eigh(_as(xp, M))
    w, U = to_numpy(w), to_numpy(U)
    S = (M + M.T) / 2
    np.testing.assert_allclose((U * w) @ U.T, S, atol=1e-12)
    assert np.all(np.diff(w) >= 0)


def test_spectral_function_matches_closed_forms(xp, rng):
    M = _spd(rng, 5)
    R = to_numpy(linalg.spectral_function(_as(xp, M), xp.sqrt))
    np.testing.assert_allclose(R @ R, M, atol=1e-10)
    inv = to_numpy(linalg.spd_inv(_as(xp, M)))
    np.testing.assert_allclose(inv @ M, np.eye(5), atol=1e-10)
    isq = to_numpy(linalg.spd_inv_sqrt(_as(xp, M)))
    np.testing.assert_allclose(isq @ M @ isq, np.eye(5), atol=1e-10)
    sq = to_numpy(linalg.spd_sqrt(_as(xp, M)))
    np.testing.assert_allclose(sq, R, atol=1e-12)


FUNCS = {
    "log": (np.log, lambda w: 1 / w),
    "power3": (lambda w: w**3, lambda w: 3 * w**2),
    "h_plus": (
        lambda w: 0.64 * w**5 / (2 + 0.8 * w**2) ** 2,
        lambda w: 0.64 * w**4 * (10 + 0.8 * w**2) / (2 + 0.8 * w**2) ** 3,
    ),
}


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spectral_function_grad_taylor(name, seed):
    f, fp = FUNCS[name]
    rng = np.random.default_rng(seed)
    M = _spd(rng, 6, cond=5.0)
    A = rng.standard_normal((6, 6))

    def phi(X):
        return float(np.trace(linalg.spectral_function(X, f) @ A))

    G = linalg.spectral_function_grad(M, A, f, fp)
    res = taylor_test(phi, G, M, symmetric=True, seed=seed)
    assert abs(res.order - 2) < 0.2, str(res)
    wrong = taylor_test(phi, G + 0.01 * np.eye(6), M, symmetric=True, seed=seed)
    assert wrong.order < 1.3


def test_spectral_function_grad_with_repeated_eigenvalues():
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    M = (Q * np.array([1.0, 1.0, 1.0, 2.0, 2.0])) @ Q.T
    A = rng.standard_normal((5, 5))
    f, fp = FUNCS["power3"]
    G = linalg.spectral_function_grad(M, A, f, fp)
    # tr(M^3 A) has gradient M²S + MSM + SM² with S = sym(A): a closed form at ties.
    S = (A + A.T) / 2
    np.testing.assert_allclose(G, M @ M @ S + M @ S @ M + S @ M @ M, atol=1e-9)
    res = taylor_test(lambda X: float(np.trace(linalg.spectral_function(X, f) @ A)), G, M, symmetric=True)
    assert abs(res.order - 2) < 0.2


def test_loewner_matrix_near_ties_is_accurate():
    w = np.array([1.0, 1.0 + 1e-12, 2.0])
    F = linalg.loewner_matrix(w, np.exp, np.exp)
    assert F[0, 1] == pytest.approx(math.exp(1.0), rel=1e-10)
    assert F[0, 2] == pytest.approx((math.exp(1) - math.exp(2)) / (1 - 2), rel=1e-14)


def test_spectral_function_grad_namespaces(xp, rng):
    M = _spd(rng, 4)
    A = rng.standard_normal((4, 4))
    G = linalg.spectral_function_grad(_as(xp, M), _as(xp, A), xp.log, lambda w: 1 / w)
    assert type(G) is type(_as(xp, M))
    # d/dM tr(log(M) A) = M^{-1}-weighted Loewner form; compare against NumPy's result
    G_ref = linalg.spectral_function_grad(M, A, np.log, lambda w: 1 / w)
    np.testing.assert_allclose(to_numpy(G), G_ref, atol=1e-12)


def test_project_spd_floor_and_identity_on_spd(xp, rng):
    M = rng.standard_normal((5, 5))
    M = M + M.T
    P = to_numpy(linalg.project_spd(_as(xp, M), floor=1e-3))
    w = np.linalg.eigvalsh(P)
    top = np.linalg.eigvalsh(M).max()
    assert w.min() >= 1e-3 * top * (1 - 1e-12)
    S = _spd(rng, 5)
    np.testing.assert_allclose(to_numpy(linalg.project_spd(_as(xp, S), floor=1e-6)), S, atol=1e-12)
    with pytest.raises(ValueError, match="floor"):
        linalg.project_spd(_as(xp, M), floor=0.0)


def test_geometric_mean_properties(xp, rng):
    A, B = _spd(rng, 5, 100.0), _spd(rng, 5, 1e4)
    G = to_numpy(linalg.geometric_mean(_as(xp, A), _as(xp, B), 0.5))
    # Riccati characterisation: G A⁻¹ G = B, and symmetry A # B = B # A.
    np.testing.assert_allclose(G @ np.linalg.solve(A, G), B, rtol=1e-8, atol=1e-8 * np.abs(B).max())
    np.testing.assert_allclose(to_numpy(linalg.geometric_mean(_as(xp, B), _as(xp, A))), G, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(to_numpy(linalg.geometric_mean(_as(xp, A), _as(xp, B), 0.0)), A, atol=1e-9)
    np.testing.assert_allclose(
        to_numpy(linalg.geometric_mean(_as(xp, A), _as(xp, B), 1.0)), B, atol=1e-7 * np.abs(B).max()
    )
    # Commuting case: scalar geometric mean of the eigenvalues.
    D = to_numpy(linalg.geometric_mean(_as(xp, np.diag([1.0, 4.0])), _as(xp, np.diag([9.0, 1.0])), 0.25))
    np.testing.assert_allclose(np.diag(D), [9.0**0.25, 4.0**0.75], rtol=1e-12)


@pytest.mark.parametrize("t", [0.2, 0.5, 0.8])
def test_gmml_gradient_vanishes_at_geometric_mean(t):
    """The weighted GMML loss (1−t)δ(M, A⁻¹) + tδ(M, B) has its minimum at A⁻¹ #_t B; for
    t = 1/2 this is the loss tr(MA) + tr(M⁻¹B) with gradient A − M⁻¹BM⁻¹."""
    rng = np.random.default_rng(7)
    A, B = _spd(rng, 6, 50.0), _spd(rng, 6, 20.0)
    M = linalg.geometric_mean(np.linalg.inv(A), B, 0.5)
    Minv = np.linalg.inv(M)
    grad = A - Minv @ B @ Minv
    assert np.linalg.norm(grad) < 1e-8 * np.linalg.norm(A)

    def loss(X):
        return float(np.trace(X @ A) + np.trace(np.linalg.solve(X, B)))

    def loss_grad(X):
        Xi = np.linalg.inv(X)
        return A - Xi @ B @ Xi

    M0 = _spd(rng, 6, 3.0)
    for seed in range(3):
        res = taylor_test(loss, loss_grad, M0, symmetric=True, seed=seed)
        assert abs(res.order - 2) < 0.2, str(res)
    # The weighted mean is the point at parameter t on the geodesic: Riemannian midpoints compose.
    Mt = linalg.geometric_mean(np.linalg.inv(A), B, t)
    w = np.linalg.eigvalsh(Mt)
    assert np.all(w > 0)


def test_logdet_no_underflow_and_errors(xp, rng):
    assert linalg.logdet_spd(_as(xp, np.eye(600) * 0.1)) == pytest.approx(600 * math.log(0.1), rel=1e-12)
    S = _spd(rng, 7, 1e3)
    assert linalg.logdet_spd(_as(xp, S)) == pytest.approx(np.linalg.slogdet(S)[1], rel=1e-12)
    with pytest.raises(ValueError, match="positive definite"):
        linalg.logdet_spd(_as(xp, -np.eye(3)))
    with pytest.raises(ValueError, match="M"):
        linalg.logdet_spd(_as(xp, np.ones((2, 3))))
    with pytest.raises(ValueError, match="NaN"):
        linalg.logdet_spd(_as(xp, np.full((2, 2), np.nan)))


def test_logdet_gradient_taylor():
    rng = np.random.default_rng(11)
    M = _spd(rng, 8, 30.0)
    for seed in range(3):
        res = taylor_test(linalg.logdet_spd, np.linalg.inv(M), M, symmetric=True, seed=seed)
        assert abs(res.order - 2) < 0.2, str(res)


def test_float32_stays_float32():
    M = np.diag(np.array([1.0, 2.0, 3.0], dtype=np.float32))
    assert linalg.spd_sqrt(M).dtype == np.float32
    assert linalg.geometric_mean(M, M).dtype == np.float32
    assert linalg.spectral_function_grad(M, M, np.log, lambda w: 1 / w).dtype == np.float32


def test_spd_power_rejects_indefinite(xp):
    with pytest.raises(ValueError, match="positive definite"):
        linalg.spd_power(_as(xp, np.diag([1.0, -1.0])), 0.5)
    with pytest.raises(ValueError, match="t must"):
        linalg.geometric_mean(_as(xp, np.eye(2)), _as(xp, np.eye(2)), 1.5)


def test_from_eigh_and_spd_eigh(xp, rng):
    S = _spd(rng, 5, cond=1e3)
    w, U = linalg.spd_eigh(_as(xp, S))
    assert float(to_numpy(w).min()) > 0
    np.testing.assert_allclose(to_numpy(linalg.from_eigh(w, U)), S, rtol=1e-12, atol=1e-12 * np.abs(S).max())
    with pytest.raises(ValueError, match="prior must be symmetric positive definite; its smallest eigenvalue is -1"):
        linalg.spd_eigh(_as(xp, np.diag([1.0, -1.0])), name="prior")


def test_numerical_rank_matches_matrix_rank(xp, rng):
    for k in range(6):
        G = rng.standard_normal((5, k)) * np.geomspace(1.0, 1e6, k)
        M = G @ G.T  # rank k, with round-off in the other 5 - k eigenvalues
        assert linalg.numerical_rank(_as(xp, M)) == k == np.linalg.matrix_rank(M, hermitian=True)
    assert linalg.numerical_rank(_as(xp, -np.eye(3))) == 0
    assert linalg.numerical_rank(_as(xp, np.diag([1.0, 1e-17]))) == 1


def test_project_spd_eigh_floors_relative_to_the_top_eigenvalue(xp, rng):
    M = rng.standard_normal((6, 6))
    M = M + M.T
    lam = np.linalg.eigvalsh(M)
    w, U, active = linalg.project_spd_eigh(_as(xp, M), 1e-2)
    w, active = to_numpy(w), to_numpy(active)
    eps = 1e-2 * lam[-1]
    np.testing.assert_array_equal(active, lam < eps)
    np.testing.assert_allclose(w, np.maximum(lam, eps), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        to_numpy(linalg.from_eigh(_as(xp, w), U)), to_numpy(linalg.project_spd(_as(xp, M), 1e-2)), atol=1e-12
    )
    # Nothing positive to be relative to: the floor is absolute.
    w_neg, _, active = linalg.project_spd_eigh(_as(xp, -_spd(rng, 4)), 1e-3)
    np.testing.assert_allclose(to_numpy(w_neg), np.full(4, 1e-3))
    assert bool(np.all(to_numpy(active)))
    # Absolute floor.
    w_abs, _, _ = linalg.project_spd_eigh(_as(xp, np.diag([1e-9, 5.0])), 1e-4, relative=False)
    np.testing.assert_allclose(to_numpy(w_abs), [1e-4, 5.0])


@pytest.mark.parametrize("floor", [1.0, 2.0, -1e-3, math.nan, math.inf])
def test_project_spd_rejects_degenerate_floors(xp, floor):
    with pytest.raises(ValueError, match="floor"):
        linalg.project_spd(_as(xp, np.eye(2)), floor=floor)


def test_project_spd_accepts_a_large_absolute_floor(xp):
    np.testing.assert_allclose(to_numpy(linalg.project_spd(_as(xp, np.eye(2)), 3.0, relative=False)), 3 * np.eye(2))


def test_psd_sqrt_and_factor(xp, rng):
    G = rng.standard_normal((5, 3))
    M = G @ G.T  # rank 3: two eigenvalues at round-off, possibly negative
    R = to_numpy(linalg.psd_sqrt(_as(xp, M)))
    np.testing.assert_allclose(R, R.T, atol=1e-14)
    np.testing.assert_allclose(R @ R, M, atol=1e-10)
    F = to_numpy(linalg.psd_factor(_as(xp, M)))
    np.testing.assert_allclose(F @ F.T, M, atol=1e-10)
    # x ↦ Fᵀx turns the Mahalanobis distance of M into the Euclidean one.
    x, y = rng.standard_normal(5), rng.standard_normal(5)
    assert np.sum((F.T @ (x - y)) ** 2) == pytest.approx((x - y) @ M @ (x - y), rel=1e-10)
    with pytest.raises(ValueError, match="metric must be positive semi-definite"):
        linalg.psd_factor(_as(xp, np.diag([1.0, -0.5])), name="metric")
    with pytest.raises(ValueError, match="rtol"):
        linalg.psd_factor(_as(xp, M), rtol=-1.0)


@pytest.mark.parametrize("t", [0.0, 0.3, 0.5, 1.0])
def test_inverse_sharp_is_the_geodesic_from_the_inverse(xp, rng, t):
    A = _spd(rng, 4, cond=1e4)
    B = _spd(rng, 4, cond=30.0)
    expected = to_numpy(linalg.geometric_mean(_as(xp, np.linalg.inv(A)), _as(xp, B), t))
    for S, T in ((A, B), (B, A)):  # both branches of the conditioning choice
        got = to_numpy(linalg.inverse_sharp(_as(xp, S), _as(xp, T), t))
        ref = expected if S is A else to_numpy(linalg.geometric_mean(_as(xp, np.linalg.inv(B)), _as(xp, A), t))
        np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-10 * np.abs(ref).max())
    with pytest.raises(ValueError, match="positive definite"):
        linalg.inverse_sharp(_as(xp, -A), _as(xp, B))
    with pytest.raises(ValueError, match="t must be finite"):
        linalg.inverse_sharp(_as(xp, A), _as(xp, B), math.nan)


def _graded_pair(seed, reg):
    # Scatter matrices of features on scales 10, 100, 1000 and 1e-4, regularized by reg
    # (relative to the mean eigenvalue) as the metric learners do: cond(A)·cond(B) ≈ 1e28.
    rng = np.random.default_rng(seed)
    S = np.diag(10.0 ** np.array([1, 2, 3, -4]))
    G, H = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    A = S @ (G @ G.T + 0.1 * np.eye(4)) @ S
    B = 1.1 * S @ (H @ H.T + 0.1 * np.eye(4)) @ S
    lam = reg * (np.trace(A) + np.trace(B)) / 8
    return A + lam * np.eye(4), B + lam * np.eye(4)


@pytest.mark.parametrize("seed", [3, 4])
def test_inverse_sharp_refuses_a_result_rounding_leaves_undetermined(xp, seed):
    # The inner congruence rounds to a non-positive eigenvalue: its power -1/2 used to give
    # eigenvalues near 1e145 (seed 3), a positive power an indefinite matrix (seed 4).
    A, B = _graded_pair(seed, 1e-15)
    with pytest.raises(ValueError, match="A and B are too ill-conditioned together for A⁻¹ #ₜ B"):
        linalg.inverse_sharp(_as(xp, A), _as(xp, B))


def test_inverse_sharp_warns_when_inaccurate(xp):
    from scipy.linalg import LinAlgWarning

    # Finite and SPD, but far from the exact mean. Seed 5 is inaccurate at every regularization
    # up to 1e-12 whatever the BLAS kernels' rounding; seed 0 sits on the edge where an older
    # OpenBLAS on some processors rounds the congruence to an indefinite one (a refusal, which
    # test_inverse_sharp_refuses_a_result_rounding_leaves_undetermined covers).
    A, B = _graded_pair(5, 1e-15)
    with pytest.warns(LinAlgWarning, match="factorizations of the result differ by"):
        linalg.inverse_sharp(_as(xp, A), _as(xp, B))
    A, B = _graded_pair(5, 1e-8)  # the same matrices, regularized enough to be solved
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        M = to_numpy(linalg.inverse_sharp(_as(xp, A), _as(xp, B)))
        linalg.geometric_mean(_as(xp, A), _as(xp, B))
    np.testing.assert_allclose(M @ A @ M, B, rtol=1e-6, atol=1e-6 * np.abs(B).max())


def test_inverse_sharp_deferred_returns_the_warning_instead_of_giving_it(xp):
    from spectral_ml.linalg._means import inverse_sharp_deferred

    A, B = _graded_pair(5, 1e-15)  # inaccurate whatever the rounding (see above)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        M, problem = inverse_sharp_deferred(_as(xp, A), _as(xp, B))
    assert "factorizations of the result differ by" in problem
    A, B = _graded_pair(5, 1e-8)
    M, problem = inverse_sharp_deferred(_as(xp, A), _as(xp, B))
    assert problem is None
    np.testing.assert_array_equal(to_numpy(M), to_numpy(linalg.inverse_sharp(_as(xp, A), _as(xp, B))))


def test_the_package_keeps_the_public_names_of_the_module():
    # linalg became a package of private modules; what users import stays where it was.
    expected = {
        "sym",
        "eigh",
        "spectral_function",
        "loewner_matrix",
        "spectral_function_grad",
        "from_eigh",
        "spd_eigh",
        "numerical_rank",
        "project_spd",
        "project_spd_eigh",
        "psd_sqrt",
        "psd_factor",
        "spd_power",
        "spd_inv",
        "spd_sqrt",
        "spd_inv_sqrt",
        "geometric_mean",
        "inverse_sharp",
        "ratio_power",
        "cholesky_logdet",
        "logdet_spd",
    }
    assert set(linalg.__all__) == expected
    assert all(callable(getattr(linalg, name)) for name in expected)


def test_inverse_sharp_minimizes_the_gmml_cost(rng):
    # M = A⁻¹ #_{1/2} B solves M A M = B (the stationarity condition of tr(MA) + tr(M⁻¹B)).
    A, B = _spd(rng, 5, cond=1e3), _spd(rng, 5, cond=1e2)
    M = linalg.inverse_sharp(A, B)
    np.testing.assert_allclose(M @ A @ M, B, rtol=1e-8, atol=1e-8 * np.abs(B).max())


def test_cholesky_logdet_flags_round_off_pivots(xp, rng):
    S = _spd(rng, 6, cond=1e3)
    C, logdet = linalg.cholesky_logdet(_as(xp, S))
    assert logdet == pytest.approx(np.linalg.slogdet(S)[1], rel=1e-12)
    np.testing.assert_allclose(to_numpy(C) @ to_numpy(C).T, S, rtol=1e-12, atol=1e-12)
    assert np.all(np.triu(to_numpy(C), 1) == 0)
    # Two identical rows: the factorization may "succeed" with a pivot at round-off level.
    x = rng.standard_normal((5, 2))
    x[1] = x[0]
    K = np.exp(-((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    assert linalg.cholesky_logdet(_as(xp, K)) == (None, None)
    assert linalg.cholesky_logdet(_as(xp, -S)) == (None, None)
    with pytest.raises(ValueError, match="pivot_rtol"):
        linalg.cholesky_logdet(_as(xp, S), pivot_rtol=-1.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0])
def test_degenerate_scalars_are_rejected(xp, bad):
    S = _as(xp, np.eye(3))
    with pytest.raises(ValueError, match="p must be"):
        linalg.spd_power(S, bad if bad != -1.0 else math.nan)
    with pytest.raises(ValueError, match="t must be"):
        linalg.geometric_mean(S, S, bad)
    with pytest.raises(ValueError, match="rtol must be"):
        linalg.loewner_matrix(xp.asarray(np.array([1.0, 2.0])), xp.exp, xp.exp, rtol=bad)


@pytest.mark.parametrize("n", [6, 150])
def test_cholesky_logdet_in_place_keeps_the_pivot_test(rng, n):
    S = _spd(rng, n, cond=1e3)
    M = S.copy()
    C, logdet = linalg.cholesky_logdet(M, overwrite=True)
    assert np.shares_memory(C, M)
    assert logdet == pytest.approx(np.linalg.slogdet(S)[1], rel=1e-12)
    np.testing.assert_allclose(np.tril(C), np.linalg.cholesky(S), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(np.triu(M, 1), np.triu(S, 1))
    # The pivots are compared with M's diagonal as it was, not with the factor's.
    x = rng.standard_normal((n, 2))
    x[1] = x[0]
    K = np.exp(-((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    assert linalg.cholesky_logdet(K.copy(), overwrite=True) == (None, None)


@pytest.mark.parametrize("t", [0.0, 0.5, 1.0, 3.0])
def test_ratio_power_is_the_generalized_eigenvector_form(xp, t):
    """A^(-1/2) (A^(-1/2) B A^(-1/2))^t A^(-1/2) = V diag(μ^t) Vᵀ with B V = A V diag(μ), VᵀAV = I."""
    import scipy.linalg

    rng = np.random.default_rng(7)
    G, H = rng.normal(size=(2, 6, 6))
    A, B = G @ G.T + np.eye(6), H @ H.T + 0.5 * np.eye(6)
    mu, V = scipy.linalg.eigh(B, A)
    M = linalg.ratio_power(xp.asarray(A), xp.asarray(B), t)
    np.testing.assert_allclose(np.asarray(M), V @ np.diag(mu**t) @ V.T, rtol=1e-10, atol=1e-12)
    # A direction with equal scatters keeps weight 1 whatever t.
    D = linalg.ratio_power(xp.asarray(np.diag([2.0, 5.0])), xp.asarray(np.diag([2.0, 20.0])), t)
    np.testing.assert_allclose(np.asarray(D), np.diag([0.5, 0.2 * 4.0**t]), rtol=1e-12)
