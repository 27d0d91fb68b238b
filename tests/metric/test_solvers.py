"""The AML solvers: one entry point, the stopping rule, the L-BFGS coordinates."""

import numpy as np
import pytest

from spectral_ml.metric import AMLMetric, pair_statistics
from spectral_ml.metric._objective import AMLProblem
from spectral_ml.metric._solvers import SOLVERS, _coordinate_gradient, _gmml_coordinates, solve_aml
from spectral_ml.testing import taylor_test


def _problem(seed, d=6, n=80, alpha=1.0, beta=0.8, reg=1e-2):
    """Pair statistics of correlated features: an ill-conditioned A and B."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d)) * np.geomspace(1.0, 0.05, d)
    pairs = rng.standard_normal((n, 2, d)) @ mix
    y = np.where(np.arange(n) % 2 == 0, 1, -1)
    A, B = pair_statistics(pairs, y)
    return AMLProblem(A, B, alpha=alpha, beta=beta, reg=reg * np.trace(A + B) / (2 * d), prior=None)


def _decomposition(M):
    w, U = np.linalg.eigh(M)
    return w, U


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coordinate_gradient_taylor_order_two(seed):
    """Y ↦ D(M₀ + T Y Tᵀ) has the gradient Tᵀ ∇D T the L-BFGS solver uses."""
    prob = _problem(seed)
    M0 = prob.gmml_start()
    w, U = _decomposition(M0)
    T, _ = _gmml_coordinates(prob, w, U)
    # A point away from the start, where the spectral term matters.
    rng = np.random.default_rng(10 + seed)
    E = rng.standard_normal(M0.shape)
    Y = 0.1 * (E + E.T)
    M = M0 + T @ Y @ T.T
    wm, Um = _decomposition(M)
    _, Gt = prob.value_and_eigenbasis_grad(wm, Um)
    res = taylor_test(
        lambda Z: prob.value(M0 + T @ Z @ T.T),
        _coordinate_gradient(T, Um, Gt),
        Y,
        seed=seed,
        symmetric=True,
        steps=0.05 * 2.0 ** -np.arange(10),
    )
    assert abs(res.order - 2) < 0.2, str(res)


@pytest.mark.parametrize("seed", [0, 1])
def test_coordinates_diagonalize_the_gmml_hessian_at_its_minimizer(seed):
    """With α = 0, at A₁⁻¹ # B₁ the Hessian in Y is Y ↦ curvature ∘ Y."""
    prob = _problem(seed, alpha=0.0)
    M0 = prob.gmml_start()
    w, U = _decomposition(M0)
    T, curvature = _gmml_coordinates(prob, w, U)
    np.testing.assert_allclose(T.T @ np.linalg.inv(M0) @ T, np.eye(prob.d), atol=1e-8)
    rng = np.random.default_rng(seed)
    E = rng.standard_normal(M0.shape)
    E = (E + E.T) / np.linalg.norm(E + E.T)

    def coordinate_gradient(Y):
        wy, Uy = _decomposition(M0 + T @ Y @ T.T)
        return _coordinate_gradient(T, Uy, prob.value_and_eigenbasis_grad(wy, Uy)[1])

    eps = 1e-5
    # Central difference of the gradient: O(eps²) away from the Hessian-vector product.
    hv = (coordinate_gradient(eps * E) - coordinate_gradient(-eps * E)) / (2 * eps)
    expected = curvature * E
    assert np.linalg.norm(hv - expected) <= 1e-6 * np.linalg.norm(expected)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("seed", [0, 1])
def test_converged_means_stationarity_below_tol(solver, seed):
    prob = _problem(seed, d=8, alpha=2.0, beta=0.5)
    tol = 1e-7
    res = solve_aml(prob, solver=solver, tol=tol, max_iter=5000)
    assert res.converged and res.grad_norm <= tol
    # The measure recomputed from its definition, ‖M^{1/2} ∇D M^{1/2}‖_F / D.
    D, G, w, U, _ = prob.value_and_grad(res.M)
    half = (U * np.sqrt(w)) @ U.T
    assert np.linalg.norm(half @ G @ half) / D == pytest.approx(res.grad_norm, rel=1e-6, abs=1e-14)
    assert res.loss_curve[-1] == pytest.approx(D, rel=1e-12)


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_run_that_stops_above_tol_is_not_converged(solver):
    prob = _problem(3, d=8, alpha=2.0, beta=0.5)
    res = solve_aml(prob, solver=solver, tol=1e-12, max_iter=3)
    assert not res.converged and res.grad_norm > 1e-12 and "max_iter" in res.message


def test_solvers_reach_the_same_minimum():
    """An objective where the tolerance bounds D − D* by about tol² / μ: 1e-10 is loose."""
    prob = _problem(4, d=10, alpha=1.0, beta=0.8)
    results = {s: solve_aml(prob, solver=s, tol=1e-8, max_iter=20000) for s in ("lbfgs", "pgd")}
    D = {s: r.loss_curve[-1] for s, r in results.items()}
    assert D["lbfgs"] == pytest.approx(D["pgd"], rel=1e-10)
    # The quasi-Newton coordinates pay off: far fewer iterations than projected gradient.
    assert results["lbfgs"].n_iter * 5 < results["pgd"].n_iter


def test_lbfgs_starts_with_a_newton_step_on_the_gmml_part():
    """With α = 0 the start is the solution; a small α needs only a few iterations."""
    prob = _problem(5, d=12, alpha=0.0)
    assert solve_aml(prob, solver="lbfgs").n_iter == 0
    prob = _problem(5, d=12, alpha=0.05)
    res = solve_aml(prob, solver="lbfgs", tol=1e-8)
    assert res.converged and res.n_iter <= 10, res.n_iter


def test_solve_aml_rejects_what_a_solver_does_not_take():
    prob = _problem(0)
    with pytest.raises(ValueError, match="solver"):
        solve_aml(prob, solver="newton")
    with pytest.raises(ValueError, match="step_size"):
        solve_aml(prob, solver="lbfgs", step_size=1e-3)
    with pytest.raises(ValueError, match="step_size"):
        AMLMetric(step_size=1e-3).fit(np.random.default_rng(0).standard_normal((20, 3)), np.arange(20) % 2)


def test_lbfgs_runs_on_array_api_strict():
    xs = pytest.importorskip("array_api_strict")
    prob = _problem(6, d=7, alpha=1.5, beta=0.6)
    ref = solve_aml(prob, solver="lbfgs", tol=1e-9)
    A, B, reg, _ = prob._inputs
    strict = AMLProblem(xs.asarray(A), xs.asarray(B), alpha=1.5, beta=0.6, reg=reg, prior=None)
    res = solve_aml(strict, solver="lbfgs", tol=1e-9)
    assert isinstance(res.M, type(xs.asarray(A)))
    assert res.n_iter == ref.n_iter
    np.testing.assert_allclose(np.asarray(res.M), ref.M, rtol=1e-9, atol=1e-12 * np.abs(ref.M).max())
