"""Solvers for the reduced AML objective D(M) over SPD matrices.

Both solvers work on a :class:`~spectral_ml.metric._objective._Problem`, whose every
evaluation costs O(d³), and share one stationarity measure, the relative Riemannian
gradient norm ‖M^{1/2} ∇D M^{1/2}‖_F / D(M) (scale free: multiplying the data by s
multiplies D and ∇D by s² and leaves the minimizer unchanged).

Stopping rules (both solvers): converged when the measure falls below ``tol``, or when
the best D of the last 10 iterations improves on the best before them by less than
``tol²`` relative to D. A gradient of relative size tol buys a decrease of order tol²,
so a smaller decrease means the iterations no longer make progress at that tolerance;
a line search that finds no decrease at all (round-off level) counts as such a stall.
Reaching ``max_iter`` first is reported (the estimators raise a
:class:`~sklearn.exceptions.ConvergenceWarning`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._backend import device_of, from_numpy, is_numpy_namespace, to_numpy
from ._objective import _Problem, _relative_stationarity

__all__ = ["SolverResult", "solve_pgd", "solve_riemannian"]

# Armijo sufficient-decrease constant and the longest backtracking sequence tried.
_ARMIJO = 1e-4
_MAX_BACKTRACK = 60
# Window of the non-monotone line search and of the relative-decrease stopping rule.
_NONMONOTONE = 10


def _stagnated(curve, tol):
    """Best D improved by at most tol² (relative) over the last window of iterations."""
    if len(curve) <= _NONMONOTONE:
        return False
    before = min(curve[: -_NONMONOTONE])
    now = min(curve[-_NONMONOTONE:])
    return 0 <= (before - now) <= tol**2 * abs(now)


@dataclass
class SolverResult:
    """Outcome of an AML solver.

    Attributes
    ----------
    M : array of shape (d, d)
        Final iterate (SPD).
    n_iter : int
        Iterations performed.
    loss_curve : list of float
        D at the starting point and after every iteration (length ``n_iter + 1``).
    grad_norm : float
        Relative stationarity measure at ``M``.
    converged : bool
        Whether a stopping rule other than ``max_iter`` ended the run.
    message : str
        Why the run stopped.
    """

    M: object
    n_iter: int
    loss_curve: list = field(default_factory=list)
    grad_norm: float = math.nan
    converged: bool = False
    message: str = ""


def _print_header(solver):
    print(f"[AML/{solver}] {'iter':>5s} {'D(M)':>22s} {'rel. grad':>10s} {'step':>10s}")


def _print_row(solver, it, D, g, step):
    print(f"[AML/{solver}] {it:5d} {D:22.14e} {g:10.3e} {step:10.3e}")


def _project(X, floor, xp):
    """Eigendecomposition of P_ε(X): eigenvalues clipped at ``floor``·λ_max."""
    w, U = xp.linalg.eigh((X + xp.linalg.matrix_transpose(X)) / 2)
    top = float(w[-1])
    eps = floor * top if top > 0 else floor
    active = w < eps
    w = xp.where(active, xp.full_like(w, eps), w)
    return w, U, active


def _assemble(w, U, xp):
    return (U * w[None, :]) @ xp.linalg.matrix_transpose(U)


def solve_pgd(
    problem: _Problem,
    M0,
    *,
    max_iter: int = 1000,
    tol: float = 1e-6,
    step_size: float | None = None,
    floor: float = 1e-10,
    verbose: bool = False,
) -> SolverResult:
    """Projected gradient descent (AML paper Alg. 1) with an eigenvalue floor.

    M ← P_ε(M − ρ∇D(M)), where P_ε clips eigenvalues at ε = ``floor``·λ_max (the paper
    clips at 0, but D needs M⁻¹). With ``step_size=None`` the step ρ is a
    Barzilai–Borwein guess refined by Armijo backtracking along the projection arc,
    which converges whatever the scale of the data; a float reproduces the paper's fixed
    step (it recommends 0.001, a value tied to the scale of its data).

    Parameters
    ----------
    problem : _Problem
        The objective.
    M0 : array of shape (d, d)
        SPD starting point, same namespace as the problem.
    max_iter : int, default=1000
        Maximum number of iterations.
    tol : float, default=1e-6
        Tolerance of the relative stationarity measure (see the module docstring).
    step_size : float, optional
        Fixed step ρ; None for the adaptive step.
    floor : float, default=1e-10
        Relative eigenvalue floor ε of the projection, in (0, 1).
    verbose : bool, default=False
        Print one line per iteration.

    Returns
    -------
    SolverResult
    """
    xp = problem.xp
    w, U, active = _project(M0, floor, xp)
    M = _assemble(w, U, xp)
    D, G, w, U, Gt = problem.value_and_grad(decomposition=(w, U))
    g = _relative_stationarity(D, w, Gt, xp, active=_pushed_down(active, Gt, xp))
    curve = [D]
    if verbose:
        _print_header("pgd")
        _print_row("pgd", 0, D, g, math.nan)
    if g <= tol:
        return SolverResult(M, 0, curve, g, True, "relative gradient norm below tol at the start")

    rho = None
    M_prev = G_prev = None
    message = f"max_iter={max_iter} reached"
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        if step_size is not None:
            rho = float(step_size)
            w_new, U_new, active = _project(M - rho * G, floor, xp)
            M_new = _assemble(w_new, U_new, xp)
        else:
            rho = _initial_step(M, G, M_prev, G_prev, rho, xp)
            # Non-monotone Armijo test against the worst of the last few values (Grippo
            # et al. 1986): it lets the Barzilai-Borwein steps through, which a monotone
            # test would cut in the narrow valleys that correlated features produce.
            ref = max(curve[-_NONMONOTONE:])
            for _ in range(_MAX_BACKTRACK):
                w_new, U_new, active = _project(M - rho * G, floor, xp)
                M_new = _assemble(w_new, U_new, xp)
                D_try = problem.value(decomposition=(w_new, U_new))
                decrease = float(xp.sum(G * (M_new - M)))
                if D_try <= ref + _ARMIJO * decrease and decrease < 0:
                    break
                rho *= 0.5
            else:
                # No decrease at all: the relative-decrease rule holds with decrease 0.
                message, converged = "the line search found no decrease (round-off level)", True
                it -= 1
                break
        D_new, G_new, w, U, Gt = problem.value_and_grad(decomposition=(w_new, U_new))
        M_prev, G_prev = M, G
        M, G, D = M_new, G_new, D_new
        g = _relative_stationarity(D, w, Gt, xp, active=_pushed_down(active, Gt, xp))
        curve.append(D)
        if verbose:
            _print_row("pgd", it, D, g, rho)
        if not math.isfinite(D):
            message = "D(M) is not finite: the fixed step is too large"
            break
        if g <= tol:
            message, converged = "relative gradient norm below tol", True
            break
        if _stagnated(curve, tol):
            message, converged = f"relative decrease over {_NONMONOTONE} iterations below tol**2", True
            break
    return SolverResult(M, it, curve, g, converged, message)


def _pushed_down(active, Gt, xp):
    """Floor-held eigen-directions whose gradient points further down (KKT-satisfied)."""
    if not bool(xp.any(active)):
        return None
    return active & (xp.linalg.diagonal(Gt) > 0)


def _initial_step(M, G, M_prev, G_prev, rho_prev, xp):
    """Barzilai–Borwein step from the last two iterates; a scale-aware guess at first."""
    if M_prev is None:
        # ρ‖G‖ = 10 % of ‖M‖ as a first trial: dimensionally consistent on any scale.
        return 0.1 * float(xp.linalg.vector_norm(M)) / max(float(xp.linalg.vector_norm(G)), 1e-300)
    S = M - M_prev
    Y = G - G_prev
    sy = float(xp.sum(S * Y))
    if sy > 0:
        ss = float(xp.sum(S * S))
        yy = float(xp.sum(Y * Y))
        # Adaptive BB (Zhou, Gao & Dai 2006): the short step sy/yy when the two BB steps
        # disagree a lot (a sign of ill-conditioning), the long step ss/sy otherwise.
        short, long = sy / yy, ss / sy
        return short if short / long < 0.5 else long
    return 2.0 * rho_prev


def solve_riemannian(
    problem: _Problem,
    M0,
    *,
    max_iter: int = 1000,
    tol: float = 1e-6,
    verbose: bool = False,
) -> SolverResult:
    """Riemannian conjugate gradient on the SPD manifold (pymanopt).

    Uses pymanopt's ``ConjugateGradient`` on ``SymmetricPositiveDefinite(d)`` (the
    affine-invariant metric, whose Riemannian gradient is sym(M ∇D M)) with the
    hand-derived Euclidean gradient. pymanopt works on NumPy arrays only: the
    statistics are copied to NumPy and the result is moved back to the caller's
    namespace and device.

    Parameters
    ----------
    problem : _Problem
        The objective.
    M0 : array of shape (d, d)
        SPD starting point.
    max_iter : int, default=1000
        Maximum number of iterations.
    tol : float, default=1e-6
        Tolerance of the relative stationarity measure.
    verbose : bool, default=False
        Let pymanopt print one line per iteration.

    Returns
    -------
    SolverResult
    """
    import pymanopt
    from pymanopt.manifolds import SymmetricPositiveDefinite
    from pymanopt.optimizers import ConjugateGradient
    from pymanopt.optimizers.line_search import BackTrackingLineSearcher

    xp_out = problem.xp
    device = device_of(M0)
    prob = problem
    if not is_numpy_namespace(problem.xp):
        prob = _numpy_problem(problem)
    xnp = prob.xp
    manifold = SymmetricPositiveDefinite(prob.d)
    M = np.asarray(to_numpy(M0), dtype=np.float64)
    M = (M + M.T) / 2

    # pymanopt evaluates the cost at a trial point, then the gradient and the
    # preconditioner at the accepted one: one eigendecomposition serves all three.
    dec_cache = {"X": None}
    cache = {"X": None}

    def decomposition(X):
        if dec_cache["X"] is None or not np.array_equal(dec_cache["X"], X):
            dec_cache.update(X=np.array(X, copy=True), dec=prob.decompose(xnp.asarray(X)))
        return dec_cache["dec"]

    def evaluate(X):
        if cache["X"] is None or not np.array_equal(cache["X"], X):
            D, G, w, U, Gt = prob.value_and_grad(decomposition=decomposition(X))
            cache.update(X=np.array(X, copy=True), D=D, G=np.asarray(G), w=w, U=U, Gt=Gt)
        return cache

    state = {"scale": 1.0, "curve": []}

    class _CG(ConjugateGradient):
        """pymanopt's CG with the relative-decrease rule added to its stopping tests."""

        def _check_stopping_criterion(self, **kwargs):
            reason = super()._check_stopping_criterion(**kwargs)
            if reason is None and _stagnated(state["curve"], tol):
                reason = f"Terminated - relative decrease over {_NONMONOTONE} iterations below tol**2."
            return reason

    @pymanopt.function.numpy(manifold)
    def cost(X):
        # Dividing by D at the start of each run makes pymanopt's absolute gradient
        # threshold a relative one.
        return prob.value(decomposition=decomposition(X)) / state["scale"]

    @pymanopt.function.numpy(manifold)
    def euclidean_gradient(X):
        c = evaluate(X)
        # pymanopt asks for the gradient once per iteration, at the new iterate (the
        # line search calls only the cost): record D there.
        state["curve"].append(c["D"])
        return c["G"] / state["scale"]

    def preconditioner(X, tangent):
        c = evaluate(X)
        return _lyapunov_preconditioner(prob, c["w"], c["U"], np.asarray(tangent)) * state["scale"]

    problem_pm = pymanopt.Problem(
        manifold, cost, euclidean_gradient=euclidean_gradient, preconditioner=preconditioner
    )
    total_iter = 0
    curve_all = []
    converged = False
    message = f"max_iter={max_iter} reached"
    stop_reason = None
    g = math.nan
    # The threshold is relative to D at the start of a run, while the criterion wants D
    # at the end: restart from the result until the two agree (usually one restart).
    for _ in range(50):
        c = evaluate(M)
        g = _relative_stationarity(c["D"], c["w"], c["Gt"], xnp)
        if not curve_all:
            curve_all.append(c["D"])
        if g <= tol:
            converged, message = True, "relative gradient norm below tol"
            break
        if stop_reason is not None:
            # A stall (minimal step: no decrease found) satisfies the relative-decrease
            # rule with decrease 0; running out of time or evaluations does not.
            converged = "relative decrease" in stop_reason or "step_size" in stop_reason
            message = stop_reason.replace("Terminated - ", "").rstrip(".")
            break
        remaining = max_iter - total_iter
        if remaining <= 0:
            break
        state.update(scale=abs(c["D"]), curve=[])
        optimizer = _CG(
            beta_rule="PolakRibiere",
            line_searcher=BackTrackingLineSearcher(),
            max_iterations=remaining + 1,
            min_gradient_norm=tol,
            verbosity=2 if verbose else 0,
            log_verbosity=0,
        )
        result = optimizer.run(problem_pm, initial_point=M)
        total_iter += max(result.iterations - 1, 0)
        curve_all.extend(state["curve"][1:])
        M = np.asarray(result.point)
        crit = result.stopping_criterion or ""
        if "min grad norm" not in crit and "max iterations" not in crit:
            # A stall (step size, time, evaluations) or our relative-decrease rule.
            stop_reason = crit or "stopped"
    M_out = from_numpy(M, xp_out, device)
    return SolverResult(M_out, total_iter, curve_all, g, converged, message)


def _numpy_problem(problem: _Problem) -> _Problem:
    """A copy of ``problem`` with its weight matrices moved to NumPy."""
    import array_api_compat.numpy as xnp

    new = object.__new__(_Problem)
    new.__dict__.update(problem.__dict__)
    new.xp = xnp
    new.A1 = np.asarray(to_numpy(problem.A1))
    new.B1 = np.asarray(to_numpy(problem.B1))
    new.A2 = np.asarray(to_numpy(problem.A2))
    new._stack = np.concatenate([new.A1, new.B1, new.A2], axis=0)
    return new


def _lyapunov_preconditioner(prob, w, U, tangent):
    """Inverse of the Riemannian Hessian of the GMML part of D, applied to ``tangent``.

    For f(M) = tr(M A₁) + tr(M⁻¹ B₁) the affine-invariant Hessian is
    ξ ↦ M^{1/2} ½(ηS + Sη) M^{1/2} with η = M^{-1/2} ξ M^{-1/2} and
    S = M^{-1/2} B₁ M^{-1/2} + M^{1/2} A₁ M^{1/2}: a Lyapunov operator, inverted in the
    eigenbasis of S at O(d³). Ignoring only the α·tr(h₊(M)A) term, it removes the
    ill-conditioning that correlated features give A and B, which plain conjugate
    gradient would otherwise crawl through.
    """
    s = np.sqrt(w)
    Ut = U.T
    At = Ut @ prob.A1 @ U
    Bt = Ut @ prob.B1 @ U
    S = Bt / np.outer(s, s) + At * np.outer(s, s)
    sig, V = np.linalg.eigh((S + S.T) / 2)
    theta = (Ut @ tangent @ U) / np.outer(s, s)
    eta = V @ ((V.T @ theta @ V) / ((sig[:, None] + sig[None, :]) / 2)) @ V.T
    out = U @ (eta * np.outer(s, s)) @ Ut
    return (out + out.T) / 2

