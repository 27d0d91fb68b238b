"""Adversarial Metric Learning (Chen et al., IJCAI 2018) on GMML's geometric-mean loss."""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BasePairMetric, with_pair_parameters
from ._objective import AMLProblem
from ._solvers import SOLVERS, solve_aml, warn_host_copy, warn_not_converged

__all__ = ["AMLMetric"]


@with_pair_parameters
class AMLMetric(BasePairMetric):
    """Adversarial Metric Learning with the geometric-mean loss.

    AML plays the learned metric M against adversarial pairs Π that sit near the
    training pairs but are as misleading as possible for M (the confusion stage, paper
    Eq. 3); M must then separate both the original and the adversarial pairs (the
    distinguishment stage, Eq. 4). With GMML's loss the adversarial pairs have a closed
    form (Eq. 9) and the bi-level problem reduces to minimizing, over SPD M,

        D(M) = tr(MA) + c·tr(M⁻¹B) + α·tr(h₊(M)A),    c = 1 + αβ²/(2 + β)²,
        h₊(λ) = β²λ⁵ / (2 + βλ²)²,

    where A and B are the scatter matrices of the similar and dissimilar differences
    (the paper's printed Eq. 12 is wrong; this is the verified form). Each solver
    iteration costs O(d³), whatever the number of pairs. With ``alpha=0`` the problem is
    GMML's and the result is its closed form.

    Parameters
    ----------
    alpha : float, default=1.0
        Weight α ≥ 0 of the adversarial pairs.
    beta : float, default=0.8
        β > 0, the weight of the distance between original and adversarial pairs in the
        confusion stage: larger β keeps the adversarial pairs closer to the originals.
    n_pairs : int or "all", optional
        Number of random pairs drawn by :meth:`fit`, half similar and half dissimilar.
        Default 1000·c(c−1) for c classes (the paper's protocol).
        ``"all"``: every pair of distinct samples, exactly, in one pass over the rows
        (O(N d²) time, O(d²) memory, no pair formed); A and B are then the mean scatter
        of a similar and of a dissimilar pair times half the default number of pairs,
        the expectation of the default sampled statistics, so that the other parameters
        mean the same with both pair sets. Dask input is always fitted on all pairs.
    reg : float, default=1e-3
        Relative weight of the regularizer λ·(tr(M M₀⁻¹) + tr(M⁻¹ M₀)) toward the prior
        M₀ (Zadeh et al. 2016), with λ = reg · (tr(A M₀) + tr(B M₀⁻¹)) / (2d). ``reg=0``
        is allowed when A and B are SPD.
    solver : {"lbfgs", "pgd", "riemannian"}, default="lbfgs"
        ``"lbfgs"``: limited-memory BFGS in coordinates where the GMML part of D has a
        diagonal Hessian (exact Newton on it), with one eigendecomposition per
        iteration; the fastest, above all at large d or on ill-conditioned data.
        ``"pgd"``: projected gradient descent (paper Alg. 1) with an eigenvalue floor,
        Barzilai–Borwein steps and non-monotone Armijo backtracking; with
        ``step_size`` it is the paper's fixed-step iteration. ``"riemannian"``:
        pymanopt's conjugate gradient on the SPD manifold with the same hand-derived
        gradient, preconditioned by the inverse Riemannian Hessian of the GMML part of
        D. ``"lbfgs"`` and ``"pgd"`` run in the namespace of the data (e.g. on the GPU
        with CuPy); pymanopt works on NumPy only, so the d×d statistics of other
        libraries are copied to the host for ``"riemannian"`` (a ``UserWarning`` says
        so).
    max_iter : int, default=1000
        Maximum number of iterations.
    tol : float, default=1e-6
        Stopping tolerance on the relative Riemannian gradient norm
        ‖√M ∇D √M‖_F / D(M), a scale-free stationarity measure: the fit has converged
        when it is at most ``tol``, and a ``ConvergenceWarning`` says when it is not.
    random_state : int, RandomState instance or None, default=None
        Seed of the pair sampling.
    verbose : bool, default=False
        Print one line per iteration.
    prior : array-like of shape (n_features, n_features), optional
        SPD prior M₀ of the regularizer; the identity when omitted.
    step_size : float, optional
        Fixed step of ``solver="pgd"`` (the paper uses 0.001 on its data); other
        solvers refuse it. By default the step is chosen by Barzilai–Borwein guesses
        and Armijo backtracking.
    floor : float, default=1e-10
        Eigenvalue floor of the PGD projection, relative to the largest eigenvalue (the
        paper clips at 0, but D needs M⁻¹).
    {pair_parameters}

    Attributes
    ----------
    components_ : ndarray of shape (n_features, n_features)
        L = √M (symmetric square root), so that M = LᵀL.
    mahalanobis_matrix_ : ndarray of shape (n_features, n_features)
        The learned metric M.
    n_iter_ : int
        Solver iterations.
    loss_curve_ : list of float
        D at the GMML starting point, then after every iteration (length ``n_iter_ + 1``).
    grad_norm_ : float
        Relative Riemannian gradient norm at the solution.
    converged_ : bool
        Whether the final solve reached ``grad_norm_ <= tol``; a ConvergenceWarning says
        so when it did not.
    regularization_ : float
        The absolute weight λ used.
    n_pairs_ : int
        Number of pairs the metric was learned from (N(N − 1)/2 with ``n_pairs="all"``;
        about N·(k_target + k_impostor) with ``pairs="neighbors"``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when ``X`` has string column names.

    Warns
    -----
    ConvergenceWarning
        When the solver stops above the tolerance: at ``max_iter``, or when its line
        search finds no decrease (round-off level).
    SingularStatisticsWarning
        When the pairs leave A or B singular and only the regularizer makes them SPD.

    See Also
    --------
    GMMLMetric : The closed-form learner on the same loss (AML with alpha=0).

    References
    ----------
    .. [1] Chen, S., Gong, C., Yang, J., Li, X., Wei, Y. and Li, J., "Adversarial
       Metric Learning", IJCAI 2018.
    .. [2] Zadeh, P., Hosseini, R. and Sra, S., "Geometric Mean Metric Learning",
       ICML 2016.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from spectral_ml.metric import AMLMetric
    >>> X, y = load_wine(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), AMLMetric(random_state=0),
    ...                       KNeighborsClassifier(n_neighbors=5)).fit(X, y)
    >>> model.score(X, y) > 0.95
    True
    >>> aml = model[1]
    >>> aml.n_iter_ < aml.max_iter
    True
    """

    _parameter_constraints: dict = {
        **BasePairMetric._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="neither")],
        "solver": [StrOptions(set(SOLVERS))],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "step_size": [Interval(Real, 0, None, closed="neither"), None],
        "floor": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(
        self,
        alpha=1.0,
        beta=0.8,
        n_pairs=None,
        reg=1e-3,
        solver="lbfgs",
        max_iter=1000,
        tol=1e-6,
        random_state=None,
        verbose=False,
        *,
        prior=None,
        step_size=None,
        floor=1e-10,
        pairs="random",
        k_target=3,
        k_impostor=10,
        n_refine=0,
    ):
        self.alpha = alpha
        self.beta = beta
        self.n_pairs = n_pairs
        self.reg = reg
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.prior = prior
        self.step_size = step_size
        self.floor = floor
        self.pairs = pairs
        self.k_target = k_target
        self.k_impostor = k_impostor
        self.n_refine = n_refine

    def _solve(self, A, B, lam, prior):
        prob = AMLProblem(A, B, alpha=self.alpha, beta=self.beta, reg=lam, prior=prior)
        warn_host_copy(self.solver, A, stacklevel=5)
        res = solve_aml(
            prob,
            solver=self.solver,
            max_iter=self.max_iter,
            tol=self.tol,
            step_size=self.step_size,
            floor=self.floor,
            verbose=bool(self.verbose),
        )
        self.n_iter_ = int(res.n_iter)
        self.loss_curve_ = [float(v) for v in res.loss_curve]
        self.grad_norm_ = float(res.grad_norm)
        self.converged_ = bool(res.converged)
        warn_not_converged(res, f"AMLMetric (solver={self.solver!r})", self.tol, stacklevel=5)
        return res.M
