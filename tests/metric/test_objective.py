"""Array-level AML objective: adversarial pairs, D(M), its gradient, GMML's closed form."""

import numpy as np
import pytest

from spectral_ml.linalg import spd_power
from spectral_ml.metric import (
    adversarial_pairs,
    adversarial_weight,
    aml_gradient,
    aml_objective,
    gmml_closed_form,
    gmml_gradient,
    gmml_loss,
    gmml_pair_loss,
    pair_statistics,
)
from spectral_ml.testing import taylor_test


def _spd(rng, d, spread=1.0):
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    w = np.exp(spread * rng.uniform(-1, 1, d))
    return (Q * w) @ Q.T


def _pairs(rng, n=40, d=5):
    pairs = rng.standard_normal((n, 2, d))
    y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    return pairs, y


# -- adversarial pairs (Eq. 8-9) -----------------------------------------------------


def test_adversarial_pairs_solve_the_confusion_stationarity_system_xp(xp, rng):
    """Eq. 9 zeroes the gradient of C_M (Eq. 8) for every pair."""
    d = 4
    M = _spd(rng, d)
    pairs, y = _pairs(rng, 12, d)
    beta = 0.7
    P = np.asarray(adversarial_pairs(xp.asarray(M), xp.asarray(pairs), xp.asarray(y), beta))
    assert P.shape == pairs.shape
    Minv = np.linalg.inv(M)
    for i in range(len(y)):
        My = Minv if y[i] > 0 else M  # M^{-y_i}
        pi, pip = P[i]
        x, xq = pairs[i]
        r1 = My @ (pi - pip) + beta * M @ (pi - x)
        r2 = My @ (pip - pi) + beta * M @ (pip - xq)
        scale = np.linalg.norm(M) * (np.linalg.norm(x) + np.linalg.norm(xq))
        assert np.linalg.norm(r1) < 1e-12 * scale
        assert np.linalg.norm(r2) < 1e-12 * scale


def test_adversarial_pairs_minimize_the_confusion_objective(rng):
    """Π* beats random perturbations of it in L_g(M, Π, −y) + β Dist_M(X, Π) (Eq. 3)."""
    d, beta = 3, 1.3
    M = _spd(rng, d)
    pairs, y = _pairs(rng, 6, d)
    P = adversarial_pairs(M, pairs, y, beta)

    def C(P):
        return gmml_pair_loss(M, P, -y) + beta * sum(
            (P[i, j] - pairs[i, j]) @ M @ (P[i, j] - pairs[i, j]) for i in range(len(y)) for j in range(2)
        )

    c0 = C(P)
    for _ in range(20):
        assert C(P + 1e-3 * rng.standard_normal(P.shape)) > c0


def test_adversarial_differences_closed_form(rng):
    """π̂ = U g_y(Λ) Uᵀ x̂ with g₊ = βλ²/(2+βλ²) and g₋ = β/(2+β)."""
    d, beta = 4, 0.8
    M = _spd(rng, d)
    pairs, y = _pairs(rng, 10, d)
    P = adversarial_pairs(M, pairs, y, beta)
    w, U = np.linalg.eigh(M)
    for i in range(len(y)):
        g = beta * w**2 / (2 + beta * w**2) if y[i] > 0 else np.full(d, beta / (2 + beta))
        expected = U @ (g * (U.T @ (pairs[i, 0] - pairs[i, 1])))
        np.testing.assert_allclose(P[i, 0] - P[i, 1], expected, rtol=1e-12, atol=1e-13)


def test_adversarial_pairs_rejects_bad_input(rng):
    M = _spd(rng, 3)
    pairs, y = _pairs(rng, 4, 3)
    with pytest.raises(ValueError, match="beta"):
        adversarial_pairs(M, pairs, y, beta=0.0)
    with pytest.raises(ValueError, match="positive definite"):
        adversarial_pairs(-M, pairs, y)
    with pytest.raises(ValueError, match=r"\+1"):
        adversarial_pairs(M, pairs, np.zeros(4))
    with pytest.raises(ValueError, match="dimension"):
        adversarial_pairs(_spd(rng, 2), pairs, y)
    with pytest.raises(ValueError, match="pairs"):
        adversarial_pairs(M, pairs[:, :1], y)


# -- D(M) against its definition (Eq. 7, 9, 11) -------------------------------------


@pytest.mark.parametrize("alpha, beta", [(1.0, 0.8), (0.3, 2.5), (5.0, 0.05)])
def test_objective_equals_direct_evaluation_at_adversarial_pairs_xp(xp, rng, alpha, beta):
    """D(M) from A and B = L_g(M, X) + α L_g(M, Π*(M)) evaluated pair by pair."""
    d = 5
    M = _spd(rng, d, spread=1.5)
    pairs, y = _pairs(rng, 60, d)
    Mx, Px, yx = xp.asarray(M), xp.asarray(pairs), xp.asarray(y)
    direct = gmml_pair_loss(Mx, Px, yx) + alpha * gmml_pair_loss(Mx, adversarial_pairs(Mx, Px, yx, beta), yx)
    A, B = pair_statistics(Px, yx)
    D = aml_objective(Mx, A, B, alpha=alpha, beta=beta)
    assert isinstance(D, float)
    assert D == pytest.approx(direct, rel=1e-12)


def test_papers_printed_eq12_does_not_match_the_direct_evaluation(rng):
    """The paper's Λ^{3+2y}/(2I + β²Λ^{1+y})² form is wrong (math.md errata)."""
    d, beta = 5, 0.8
    M = _spd(rng, d, spread=2.0)
    pairs, y = _pairs(rng, 60, d)
    direct = gmml_pair_loss(M, adversarial_pairs(M, pairs, y, beta), y)
    A, B = pair_statistics(pairs, y)
    ours = aml_objective(M, A, B, alpha=1.0, beta=beta) - gmml_loss(M, A, B)
    assert ours == pytest.approx(direct, rel=1e-12)
    w, U = np.linalg.eigh(M)
    printed = 0.0
    for i in range(len(y)):
        z = U.T @ (pairs[i, 0] - pairs[i, 1])
        printed += beta**2 * np.sum(w ** (3 + 2 * y[i]) / (2 + beta**2 * w ** (1 + y[i])) ** 2 * z**2)
    assert abs(printed - direct) > 0.1 * direct


def test_gmml_loss_from_statistics_equals_pairwise_loss_xp(xp, rng):
    M = _spd(rng, 4)
    pairs, y = _pairs(rng, 30, 4)
    A, B = pair_statistics(xp.asarray(pairs), xp.asarray(y))
    assert gmml_loss(xp.asarray(M), A, B) == pytest.approx(gmml_pair_loss(M, pairs, y), rel=1e-12)
    assert aml_objective(xp.asarray(M), A, B, alpha=0.0) == pytest.approx(gmml_loss(xp.asarray(M), A, B), rel=1e-14)


def test_regularizer_adds_symmetrized_logdet_terms(rng):
    d, lam = 4, 0.37
    M, A, B, P = (_spd(rng, d) for _ in range(4))
    base = aml_objective(M, A, B)
    reg = aml_objective(M, A, B, reg=lam, prior=P)
    expected = lam * (np.trace(M @ np.linalg.inv(P)) + np.trace(np.linalg.inv(M) @ P))
    assert reg - base == pytest.approx(expected, rel=1e-10)
    # Identity prior by default.
    expected_id = lam * (np.trace(M) + np.trace(np.linalg.inv(M)))
    assert aml_objective(M, A, B, reg=lam) - base == pytest.approx(expected_id, rel=1e-10)


def test_adversarial_weight():
    assert adversarial_weight(0.0, 0.8) == 1.0
    assert adversarial_weight(2.0, 1.0) == pytest.approx(1 + 2 / 9)


# -- gradients: Taylor tests ----------------------------------------------------------


def _stats(rng, d, n=50):
    pairs, y = _pairs(rng, n, d)
    return pair_statistics(pairs, y)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("alpha, beta, reg", [(1.0, 0.8, 0.0), (3.0, 0.2, 0.5), (0.5, 4.0, 0.0)])
def test_aml_gradient_taylor_order_two(seed, alpha, beta, reg):
    rng = np.random.default_rng(100 + seed)
    d = 6
    A, B = _stats(rng, d)
    M = _spd(rng, d, spread=1.0)
    prior = _spd(rng, d) if reg else None
    kw = dict(alpha=alpha, beta=beta, reg=reg, prior=prior)
    res = taylor_test(
        lambda X: aml_objective(X, A, B, **kw),
        aml_gradient(M, A, B, **kw),
        M,
        seed=seed,
        symmetric=True,
        steps=0.02 * 2.0 ** -np.arange(10),
    )
    assert abs(res.order - 2) < 0.2, str(res)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gmml_gradient_taylor_order_two(seed):
    rng = np.random.default_rng(seed)
    d = 5
    A, B = _stats(rng, d)
    M = _spd(rng, d)
    res = taylor_test(
        lambda X: gmml_loss(X, A, B),
        gmml_gradient(M, A, B),
        M,
        seed=seed,
        symmetric=True,
        steps=0.02 * 2.0 ** -np.arange(10),
    )
    assert abs(res.order - 2) < 0.2, str(res)


def test_gradient_taylor_with_nearly_repeated_eigenvalues():
    """Ties in the spectrum go through the Loewner matrix's derivative branch."""
    rng = np.random.default_rng(7)
    d = 5
    A, B = _stats(rng, d)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    M = (Q * np.array([1.0, 1.0, 1.0 + 1e-10, 2.0, 2.0])) @ Q.T
    for seed in range(3):
        res = taylor_test(
            lambda X: aml_objective(X, A, B),
            aml_gradient(M, A, B),
            M,
            seed=seed,
            symmetric=True,
            steps=0.02 * 2.0 ** -np.arange(10),
        )
        assert abs(res.order - 2) < 0.2, str(res)


def test_aml_gradient_xp_matches_numpy(xp, rng):
    d = 4
    A, B = _stats(rng, d)
    M = _spd(rng, d)
    G = aml_gradient(xp.asarray(M), xp.asarray(A), xp.asarray(B), alpha=2.0, beta=0.5, reg=0.1)
    assert type(G) is type(xp.asarray(M))
    np.testing.assert_allclose(np.asarray(G), aml_gradient(M, A, B, alpha=2.0, beta=0.5, reg=0.1), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(G), np.asarray(G).T)


def test_taylor_on_array_api_strict():
    xs = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(3)
    A, B = _stats(rng, 4)
    M = _spd(rng, 4)
    Ax, Bx, Mx = xs.asarray(A), xs.asarray(B), xs.asarray(M)
    res = taylor_test(
        lambda X: aml_objective(X, Ax, Bx),
        aml_gradient(Mx, Ax, Bx),
        Mx,
        symmetric=True,
        steps=0.02 * 2.0 ** -np.arange(10),
    )
    assert abs(res.order - 2) < 0.2, str(res)


# -- negative controls ------------------------------------------------------------------


def test_perturbed_gradient_gives_order_one():
    rng = np.random.default_rng(11)
    d = 5
    A, B = _stats(rng, d)
    M = _spd(rng, d)
    G = aml_gradient(M, A, B)
    E = rng.standard_normal((d, d))
    wrong = G + 1e-2 * np.linalg.norm(G) * (E + E.T) / np.linalg.norm(E + E.T)
    res = taylor_test(
        lambda X: aml_objective(X, A, B), wrong, M, symmetric=True, seed=1, steps=0.02 * 2.0 ** -np.arange(10)
    )
    assert abs(res.order - 1) < 0.2, str(res)


def _printed_h_gradient(M, A, B, alpha, beta):
    """Gradient built from the paper's printed Eq. 12 kernel h₊(λ) = λ⁵/(2 + β²λ²)² (× β²)."""
    w, U = np.linalg.eigh(M)
    h = lambda t: beta**2 * t**5 / (2 + beta**2 * t**2) ** 2
    hp = lambda t: beta**2 * (5 * t**4 * (2 + beta**2 * t**2) - 4 * beta**2 * t**6) / (2 + beta**2 * t**2) ** 3
    diff = w[:, None] - w[None, :]
    F = np.where(
        np.abs(diff) > 1e-9,
        (h(w)[:, None] - h(w)[None, :]) / np.where(diff == 0, 1, diff),
        (hp(w)[:, None] + hp(w)[None, :]) / 2,
    )
    Minv = np.linalg.inv(M)
    c = adversarial_weight(alpha, beta)
    return A - c * Minv @ B @ Minv + alpha * U @ (F * (U.T @ A @ U)) @ U.T


def test_gradient_of_printed_eq12_kernel_gives_order_one():
    rng = np.random.default_rng(12)
    d = 5
    A, B = _stats(rng, d)
    M = _spd(rng, d)
    res = taylor_test(
        lambda X: aml_objective(X, A, B, alpha=1.0, beta=0.8),
        _printed_h_gradient(M, A, B, 1.0, 0.8),
        M,
        symmetric=True,
        seed=2,
        steps=0.02 * 2.0 ** -np.arange(10),
    )
    assert abs(res.order - 1) < 0.2, str(res)


def _printed_eq14(M, A, beta):
    """Σ_i ∇H_i of the paper's Eq. 14 summed over similar pairs (x̂x̂ᵀ → A), correct h₊."""
    w, U = np.linalg.eigh(M)
    h = beta**2 * w**5 / (2 + beta * w**2) ** 2
    hp = beta**2 * w**4 * (10 + beta * w**2) / (2 + beta * w**2) ** 3
    d = len(w)
    G = np.zeros((d, d))
    for j in range(d):
        Pj = np.outer(U[:, j], U[:, j])
        G += hp[j] * (U[:, j] @ A @ U[:, j]) * Pj
        G += 2 * h[j] * np.linalg.pinv(w[j] * np.eye(d) - M, rcond=1e-10) @ A @ Pj
    return G


def test_papers_eq14_is_not_symmetric_and_its_symmetric_part_is_our_gradient():
    rng = np.random.default_rng(13)
    d, beta = 5, 0.8
    A, B = _stats(rng, d)
    M = _spd(rng, d)
    G14 = _printed_eq14(M, A, beta)
    assert np.linalg.norm(G14 - G14.T) > 1e-3 * np.linalg.norm(G14)
    # Our gradient of α·tr(h₊(M)A) alone: the difference of two objectives with α = 1, 0
    # at equal c is awkward, so build it from the full gradients.
    ours = aml_gradient(M, A, B, alpha=1.0, beta=beta) - (
        A - adversarial_weight(1.0, beta) * np.linalg.inv(M) @ B @ np.linalg.inv(M)
    )
    np.testing.assert_allclose((G14 + G14.T) / 2, ours, rtol=1e-8, atol=1e-10 * np.linalg.norm(ours))


def test_papers_eq14_fails_the_taylor_test_along_general_directions():
    """Along a non-symmetric direction only a symmetric gradient predicts the change."""
    rng = np.random.default_rng(14)
    d, beta = 5, 0.8
    A, B = _stats(rng, d)
    M = _spd(rng, d)
    Minv = np.linalg.inv(M)
    G14 = A - adversarial_weight(1.0, beta) * Minv @ B @ Minv + _printed_eq14(M, A, beta)
    f = lambda X: aml_objective((X + X.T) / 2, A, B, alpha=1.0, beta=beta)
    steps = 0.02 * 2.0 ** -np.arange(10)
    bad = taylor_test(f, G14, M, seed=3, steps=steps)
    good = taylor_test(f, aml_gradient(M, A, B, alpha=1.0, beta=beta), M, seed=3, steps=steps)
    assert abs(bad.order - 1) < 0.2, str(bad)
    assert abs(good.order - 2) < 0.2, str(good)


# -- GMML closed form ---------------------------------------------------------------------


def test_gmml_closed_form_is_the_stationary_point_xp(xp, rng):
    d = 5
    A, B = _stats(rng, d)
    M = gmml_closed_form(xp.asarray(A), xp.asarray(B))
    Mn = np.asarray(M)
    # Riccati equation M A M = B and zero gradient.
    np.testing.assert_allclose(Mn @ A @ Mn, B, rtol=1e-9, atol=1e-9 * np.linalg.norm(B))
    G = np.asarray(gmml_gradient(M, xp.asarray(A), xp.asarray(B)))
    assert np.linalg.norm(G) < 1e-9 * np.linalg.norm(A)


def test_gmml_closed_form_geodesic_endpoints_and_regularizer(rng):
    d, lam = 4, 0.3
    A, B = _stats(rng, d)
    P = _spd(rng, d)
    Ar, Br = A + lam * np.linalg.inv(P), B + lam * P
    np.testing.assert_allclose(
        gmml_closed_form(A, B, t=0.0, reg=lam, prior=P), np.linalg.inv(Ar), rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(gmml_closed_form(A, B, t=1.0, reg=lam, prior=P), Br, rtol=1e-9, atol=1e-12)
    # t = 1/4: A⁻¹ #_t B = A^{-1/2} (A^{1/2} B A^{1/2})^t A^{-1/2}
    Ah, Aih = spd_power(Ar, 0.5), spd_power(Ar, -0.5)
    expected = Aih @ spd_power(Ah @ Br @ Ah, 0.25) @ Aih
    np.testing.assert_allclose(gmml_closed_form(A, B, t=0.25, reg=lam, prior=P), expected, rtol=1e-8, atol=1e-10)
    # The regularized closed form zeroes the regularized gradient.
    M = gmml_closed_form(A, B, reg=lam, prior=P)
    assert np.linalg.norm(gmml_gradient(M, A, B, reg=lam, prior=P)) < 1e-9 * np.linalg.norm(Ar)


def test_gmml_closed_form_needs_reg_when_singular(rng):
    x = rng.standard_normal((3, 2, 4))  # 2 similar differences in 4-D: A has rank 2
    A, B = pair_statistics(np.concatenate([x, rng.standard_normal((6, 2, 4))]), np.r_[np.ones(3), -np.ones(6)])
    with pytest.raises(ValueError, match="reg > 0"):
        gmml_closed_form(A, B)
    M = gmml_closed_form(A, B, reg=1e-3)
    assert np.all(np.linalg.eigvalsh(M) > 0)
    with pytest.raises(ValueError, match="t must"):
        gmml_closed_form(A, B, t=1.5, reg=1e-3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alpha": -1.0}, "alpha"),
        ({"beta": 0.0}, "beta"),
        ({"beta": -2.0}, "beta"),
        ({"reg": -1.0}, "reg"),
        ({"alpha": float("nan")}, "alpha"),
    ],
)
def test_objective_rejects_bad_hyperparameters(rng, kwargs, match):
    A, B = _stats(rng, 3)
    with pytest.raises(ValueError, match=match):
        aml_objective(np.eye(3), A, B, **kwargs)
    with pytest.raises(ValueError, match=match):
        aml_gradient(np.eye(3), A, B, **kwargs)


def test_objective_rejects_bad_matrices(rng):
    A, B = _stats(rng, 3)
    with pytest.raises(ValueError, match="positive definite"):
        aml_objective(-np.eye(3), A, B)
    with pytest.raises(ValueError, match="M must be 3"):
        aml_objective(np.eye(2), A, B)
    with pytest.raises(ValueError, match="same shape"):
        aml_objective(np.eye(3), A, B[:2, :2])
    with pytest.raises(ValueError, match="NaN"):
        aml_objective(np.eye(3), A * np.nan, B)
    with pytest.raises(ValueError, match="prior"):
        aml_objective(np.eye(3), A, B, reg=1.0, prior=np.eye(2))
