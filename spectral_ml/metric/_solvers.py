"""Solvers for the reduced AML objective D(M) over SPD matrices.

The three solvers work on a :class:`~spectral_ml.metric._objective.AMLProblem`, whose every
evaluation costs O(d³), and share one stationarity measure, the relative Riemannian
gradient norm ‖M^{1/2} ∇D M^{1/2}‖_F / D(M) (scale free: multiplying the data by s
multiplies D and ∇D by s² and leaves the minimizer unchanged).

Stopping rule (every solver): converged means the measure is at most ``tol``, nothing
else. A run that ends above it (``max_iter`` reached, or a line search that finds no
decrease at round-off level) is reported as not converged (the estimators raise a
:class:`~sklearn.exceptions.ConvergenceWarning`). A rule on the decrease of D cannot
stand in for the measure: on ill-conditioned problems a step limited by the largest
curvature decreases D by far less than the squared gradient norm suggests.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._backend import device_of, get_namespace, inner_product, is_foreign_array, to_namespace
from ..linalg import eigh, from_eigh, project_spd_eigh, sym
from ._objective import AMLProblem, relative_stationarity

__all__ = ["SOLVERS", "SolverResult", "solve_aml", "solve_lbfgs", "solve_pgd", "solve_riemannian"]

#: The solvers :func:`solve_aml` dispatches to.
SOLVERS = ("lbfgs", "pgd", "riemannian")

# Armijo sufficient-decrease constant and the longest backtracking sequence tried.
_ARMIJO = 1e-4
_MAX_BACKTRACK = 60
# Window of the non-monotone line search.
_NONMONOTONE = 10
# Curvature pairs kept by the limited-memory BFGS solver.
_MEMORY = 10
# Approximate Wolfe conditions (Hager & Zhang 2005) where D changes at round-off level:
# a trial within _ROUNDOFF·|D| of D is accepted when its slope lies in
# [σ φ'(0), (2δ − 1) φ'(0)].
_ROUNDOFF = 1e-10
_WOLFE_DELTA = 0.1
_WOLFE_SIGMA = 0.9
# Runs of pymanopt's optimizer within one Riemannian solve.
_MAX_RESTARTS = 50


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
        Whether the relative stationarity measure is at most ``tol``.
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


def solve_aml(
    problem: AMLProblem,
    M0: Any = None,
    *,
    solver: str = "lbfgs",
    max_iter: int = 1000,
    tol: float = 1e-6,
    step_size: float | None = None,
    floor: float = 1e-10,
    verbose: bool = False,
) -> SolverResult:
    """Minimize the reduced AML objective: the one solve behind every AML estimator.

    Parameters
    ----------
    problem : AMLProblem
        The objective D(M) on the pair statistics.
    M0 : array of shape (d, d), optional
        SPD starting point; by default the minimizer of D without its spectral term
        (:meth:`AMLProblem.gmml_start`), the exact answer when α = 0.
    solver : {"lbfgs", "pgd", "riemannian"}, default="lbfgs"
        Which solver runs (see :func:`solve_lbfgs`, :func:`solve_pgd`,
        :func:`solve_riemannian`).
    max_iter : int, default=1000
        Maximum number of iterations.
    tol : float, default=1e-6
        Tolerance of the relative stationarity measure.
    step_size : float, optional
        Fixed step of ``"pgd"``; adaptive when None.
    floor : float, default=1e-10
        Relative eigenvalue floor of the ``"pgd"`` projection.
    verbose : bool, default=False
        Print one line per iteration.

    Returns
    -------
    SolverResult
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}.")
    if step_size is not None and solver != "pgd":
        raise ValueError(
            f"step_size={step_size!r} is the fixed step of solver='pgd', which solver={solver!r} "
            f"does not take: set solver='pgd', or leave step_size=None."
        )
    if M0 is None:
        M0 = problem.gmml_start()
    if solver == "lbfgs":
        return solve_lbfgs(problem, M0, max_iter=max_iter, tol=tol, verbose=verbose)
    if solver == "pgd":
        return solve_pgd(problem, M0, max_iter=max_iter, tol=tol, step_size=step_size, floor=floor, verbose=verbose)
    return solve_riemannian(problem, M0, max_iter=max_iter, tol=tol, verbose=verbose)


def warn_host_copy(solver: str, X: Any, *, stacklevel: int = 2) -> None:
    """Say that ``solver="riemannian"`` copies the statistics of a non-NumPy ``X`` to NumPy."""
    if solver == "riemannian" and is_foreign_array(X):
        warnings.warn(
            "solver='riemannian' runs pymanopt, which supports NumPy only: the d×d "
            "statistics are copied to NumPy and the result is moved back. Use "
            "solver='lbfgs' or 'pgd' to stay on the device.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )


def warn_not_converged(result: SolverResult, what: str, tol: float, *, stacklevel: int = 2) -> None:
    """ConvergenceWarning for a solve that ended above ``tol``; ``what`` names the fit."""
    if not result.converged:
        warnings.warn(
            f"{what} did not converge: {result.message} after {result.n_iter} iterations, "
            f"relative gradient norm {result.grad_norm:.3e} > tol={tol:g}. Increase max_iter, or tol.",
            ConvergenceWarning,
            stacklevel=stacklevel + 1,
        )


def solve_pgd(
    problem: AMLProblem,
    M0: Any,
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
    problem : AMLProblem
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
    w, U, active = project_spd_eigh(M0, floor, check=False)
    M = from_eigh(w, U)
    D, G, w, U, Gt = problem.value_and_grad(decomposition=(w, U))
    g = relative_stationarity(D, w, Gt, xp, active=_pushed_down(active, Gt, xp))
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
            w_new, U_new, active = project_spd_eigh(M - rho * G, floor, check=False)
            M_new = from_eigh(w_new, U_new)
        else:
            rho = _initial_step(M, G, M_prev, G_prev, rho, xp)
            # Non-monotone Armijo test against the worst of the last few values (Grippo
            # et al. 1986): it lets the Barzilai-Borwein steps through, which a monotone
            # test would cut in the narrow valleys that correlated features produce.
            ref = max(curve[-_NONMONOTONE:])
            for _ in range(_MAX_BACKTRACK):
                w_new, U_new, active = project_spd_eigh(M - rho * G, floor, check=False)
                M_new = from_eigh(w_new, U_new)
                D_try = problem.value(decomposition=(w_new, U_new))
                decrease = float(xp.sum(G * (M_new - M)))
                if D_try <= ref + _ARMIJO * decrease and decrease < 0:
                    break
                rho *= 0.5
            else:
                message = "the line search found no decrease (round-off level)"
                it -= 1
                break
        D_new, G_new, w, U, Gt = problem.value_and_grad(decomposition=(w_new, U_new))
        M_prev, G_prev = M, G
        M, G, D = M_new, G_new, D_new
        g = relative_stationarity(D, w, Gt, xp, active=_pushed_down(active, Gt, xp))
        curve.append(D)
        if verbose:
            _print_row("pgd", it, D, g, rho)
        if not math.isfinite(D):
            message = "D(M) is not finite: the fixed step is too large"
            break
        if g <= tol:
            message, converged = "relative gradient norm below tol", True
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


def solve_lbfgs(
    problem: AMLProblem,
    M0: Any,
    *,
    max_iter: int = 1000,
    tol: float = 1e-6,
    memory: int = _MEMORY,
    verbose: bool = False,
) -> SolverResult:
    """Limited-memory BFGS in coordinates where the GMML part of D is well conditioned.

    With T = M₀^{1/2} V from :func:`_gmml_curvature` at the start M₀, the iterates are
    M = M₀ + T Y Tᵀ and the solver minimizes φ(Y) = D(M₀ + T Y Tᵀ), whose gradient is
    Tᵀ ∇D(M) T.
    In Y the Hessian of the GMML part tr(M A₁) + tr(M⁻¹ B₁) at M₀ is diagonal,
    entry (j, k) scaled by (σ_j + σ_k)/2: its inverse is the starting inverse Hessian of
    the two-loop recursion (exact Newton on the GMML part, so on D when α = 0), rescaled
    at every iteration by sᵀy / yᵀH₀y (Nocedal & Wright, Eq. 7.20) to take in the
    curvature of the α·tr(h₊(M)A) term. The line search backtracks from the unit step
    (Armijo) and rejects trial points that are not positive definite, where D is +∞.
    Every trial point costs one eigendecomposition, which also gives D, the gradient and
    the stationarity measure there; the unit step is accepted nearly always, so an
    iteration costs one ``eigh`` and about ten d×d products, in the namespace of the
    problem.

    Parameters
    ----------
    problem : AMLProblem
        The objective.
    M0 : array of shape (d, d)
        SPD starting point, same namespace as the problem.
    max_iter : int, default=1000
        Maximum number of iterations.
    tol : float, default=1e-6
        Tolerance of the relative stationarity measure (see the module docstring).
    memory : int, default=10
        Curvature pairs kept by the two-loop recursion.
    verbose : bool, default=False
        Print one line per iteration.

    Returns
    -------
    SolverResult
    """
    xp = problem.xp
    M = sym(M0)
    w, U = problem.decompose(M)
    if not bool(xp.all(w > 0)):
        raise ValueError("M0 must be positive definite.")
    D, Gt = problem.value_and_eigenbasis_grad(w, U)
    T, curvature = _gmml_coordinates(problem, w, U)
    Tt = xp.linalg.matrix_transpose(T)
    inverse_curvature = 1.0 / curvature
    G = _coordinate_gradient(T, U, Gt)
    g = relative_stationarity(D, w, Gt, xp)
    curve = [D]
    if verbose:
        _print_header("lbfgs")
        _print_row("lbfgs", 0, D, g, math.nan)
    if g <= tol:
        return SolverResult(M, 0, curve, g, True, "relative gradient norm below tol at the start")

    history: list[tuple] = []  # (s, y, 1 / sᵀy), oldest first
    scale = 1.0
    message = f"max_iter={max_iter} reached"
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        P = -_two_loop(G, history, scale * inverse_curvature, xp)
        slope = inner_product(G, P, xp=xp)
        if not slope < 0:
            # Round-off made the quasi-Newton direction useless: restart from H₀.
            history.clear()
            P = -inverse_curvature * G
            slope = inner_product(G, P, xp=xp)
        step = sym(T @ P @ Tt)
        t = 1.0
        for _ in range(_MAX_BACKTRACK):
            M_try = M + t * step
            w_try, U_try = problem.decompose(M_try)
            if bool(xp.all(w_try > 0)):
                D_try, Gt_try = problem.value_and_eigenbasis_grad(w_try, U_try)
                G_try = None
                if D_try <= D + _ARMIJO * t * slope:
                    break
                if D_try <= D + _ROUNDOFF * abs(D):
                    # Near the minimum the decrease falls below the round-off of D and
                    # the Armijo test says nothing: the approximate Wolfe conditions of
                    # Hager & Zhang (2005) judge the step by the slope at the trial point.
                    G_try = _coordinate_gradient(T, U_try, Gt_try)
                    slope_try = inner_product(G_try, P, xp=xp)
                    if (2 * _WOLFE_DELTA - 1) * slope >= slope_try >= _WOLFE_SIGMA * slope:
                        break
            t *= 0.5
        else:
            message = "the line search found no decrease (round-off level)"
            it -= 1
            break
        if G_try is None:
            G_try = _coordinate_gradient(T, U_try, Gt_try)
        s_k, y_k = t * P, G_try - G
        sy = inner_product(s_k, y_k, xp=xp)
        # BFGS needs positive curvature along the step; D is not convex everywhere.
        if sy > 1e-12 * math.sqrt(inner_product(s_k, s_k, xp=xp) * inner_product(y_k, y_k, xp=xp)):
            history.append((s_k, y_k, 1.0 / sy))
            del history[:-memory]
            scale = sy / inner_product(y_k, inverse_curvature * y_k, xp=xp)
        M, D, G, w, Gt = M_try, D_try, G_try, w_try, Gt_try
        g = relative_stationarity(D, w, Gt, xp)
        curve.append(D)
        if verbose:
            _print_row("lbfgs", it, D, g, t)
        if g <= tol:
            message, converged = "relative gradient norm below tol", True
            break
    return SolverResult(M, it, curve, g, converged, message)


def _gmml_coordinates(problem, w, U):
    """(T, curvature): M = M₀ + T Y Tᵀ makes the GMML Hessian at M₀ = U diag(w) Uᵀ diagonal.

    T = M₀^{1/2} V with V the eigenvectors of :func:`_gmml_curvature`'s S, so that
    Tᵀ M₀⁻¹ T = I; in Y the Hessian of the GMML part is Y ↦ curvature ∘ Y (exactly at
    GMML's minimizer).
    """
    _, V, curvature = _gmml_curvature(problem, w, U)
    return U @ (problem.xp.sqrt(w)[:, None] * V), curvature


def _coordinate_gradient(T, U, Gt):
    """Tᵀ ∇D T, the gradient of Y ↦ D(M₀ + T Y Tᵀ), from ∇D in the eigenbasis U of M."""
    xp = get_namespace(T)
    K = xp.linalg.matrix_transpose(U) @ T
    return xp.linalg.matrix_transpose(K) @ Gt @ K


def _two_loop(G, history, h0, xp):
    """H G for the L-BFGS inverse Hessian H built on the diagonal (elementwise) ``h0``."""
    q = G
    coefficients = []
    for s, y, rho in reversed(history):
        a = rho * inner_product(s, q, xp=xp)
        coefficients.append(a)
        q = q - a * y
    r = h0 * q
    for (s, y, rho), a in zip(history, reversed(coefficients), strict=True):
        b = rho * inner_product(y, r, xp=xp)
        r = r + (a - b) * s
    return r


def solve_riemannian(
    problem: AMLProblem,
    M0: Any,
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
    problem : AMLProblem
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
    xnp = get_namespace()
    prob = problem.in_namespace(xnp)
    manifold = SymmetricPositiveDefinite(prob.d)
    M = np.asarray(to_namespace(M0, xnp), dtype=np.float64)
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

    state: dict[str, Any] = {"scale": 1.0, "curve": []}

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

    problem_pm = pymanopt.Problem(manifold, cost, euclidean_gradient=euclidean_gradient, preconditioner=preconditioner)
    total_iter = 0
    curve_all: list[float] = []
    converged = False
    message = f"max_iter={max_iter} reached"
    stalled = None
    D_run = math.inf
    g = math.nan
    # The threshold is relative to D at the start of a run, while the criterion wants D
    # at the end: restart from the result until the two agree (usually one restart).
    # A run that stalls (pymanopt's line search reaches its minimal step) is restarted
    # too, which resets the conjugate directions, as long as it decreased D.
    for _ in range(_MAX_RESTARTS):
        c = evaluate(M)
        g = relative_stationarity(c["D"], c["w"], c["Gt"], xnp)
        if not curve_all:
            curve_all.append(c["D"])
        if g <= tol:
            converged, message = True, "relative gradient norm below tol"
            break
        if stalled is not None and not c["D"] < D_run:
            # pymanopt's reason, without its own iteration count and time.
            message = stalled.replace("Terminated - ", "").split(" after ")[0].rstrip(".")
            break
        remaining = max_iter - total_iter
        if remaining <= 0:
            break
        D_run = c["D"]
        state.update(scale=abs(c["D"]), curve=[])
        optimizer = ConjugateGradient(
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
        # Anything but the gradient threshold or max_iter is a stall (minimal step size,
        # time, evaluations): not converged unless a restart gets below tol.
        stalled = None if ("min grad norm" in crit or "max iterations" in crit) else (crit or "stopped")
    else:
        message = f"no convergence after {_MAX_RESTARTS} restarts"
    M_out = to_namespace(M, xp_out, device)
    return SolverResult(M_out, total_iter, curve_all, g, converged, message)


def _gmml_curvature(prob, w, U):
    """The Hessian of the GMML part of D at M = U diag(w) Uᵀ, diagonalized.

    For f(M) = tr(M A₁) + tr(M⁻¹ B₁), write E = M^{1/2} Ẽ M^{1/2}; the second derivative
    is, up to the terms that vanish where M A₁ M = B₁ (at GMML's minimizer),
    Ẽ ↦ ½(ẼS + SẼ) with S = M^{1/2} A₁ M^{1/2} + M^{-1/2} B₁ M^{-1/2}. In the eigenbasis
    V of S (computed in the eigenbasis U of M) it is diagonal: entry (j, k) of Ẽ is
    multiplied by (σ_j + σ_k)/2.

    Returns
    -------
    ss : array of shape (d, d)
        √w_j √w_k, the congruence by M^{1/2} in the eigenbasis of M.
    V : array of shape (d, d)
        Eigenvectors of S in the eigenbasis of M.
    curvature : array of shape (d, d)
        (σ_j + σ_k)/2, all positive.
    """
    xp = prob.xp
    s = xp.sqrt(w)
    ss = s[:, None] * s[None, :]
    Ut = xp.linalg.matrix_transpose(U)
    S = (Ut @ prob.B1 @ U) / ss + (Ut @ prob.A1 @ U) * ss
    sig, V = eigh(S, check=False)
    return ss, V, (sig[:, None] + sig[None, :]) / 2


def _lyapunov_preconditioner(prob, w, U, tangent):
    """Inverse of the Riemannian Hessian of the GMML part of D, applied to ``tangent``.

    The affine-invariant Hessian of f(M) = tr(M A₁) + tr(M⁻¹ B₁) is the Lyapunov operator
    of :func:`_gmml_curvature` (η ↦ ½(ηS + Sη) on η = M^{-1/2} ξ M^{-1/2}), inverted in
    the eigenbasis of S at O(d³). Ignoring only the α·tr(h₊(M)A) term, it removes the
    ill-conditioning that correlated features give A and B, which plain conjugate
    gradient would otherwise crawl through.
    """
    ss, V, curvature = _gmml_curvature(prob, w, U)
    Ut = U.T
    theta = (Ut @ tangent @ U) / ss
    eta = V @ ((V.T @ theta @ V) / curvature) @ V.T
    out = U @ (eta * ss) @ Ut
    return (out + out.T) / 2
