"""AMLMetricCV: α and β of Adversarial Metric Learning chosen by inner cross-validation.

The search follows the idea of scikit-learn's ``LassoCV``: the expensive part of a fit
is shared along the grid. For each fold the pairs are drawn and reduced to the scatter
matrices A and B once; then, for each β, α runs through its grid in increasing order and
every solve starts from the solution at the previous α (the first from GMML's closed
form, the solution at α = 0). Each grid point is scored by the k-NN error of the
fold's validation part under the metric learned on its training part.
"""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import check_cv
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils._param_validation import Interval, StrOptions

from .._backend import device_of, from_numpy, get_namespace, is_numpy_namespace, to_numpy
from ._base import _BasePairMetric
from ._objective import _Problem, inverse_sharp
from ._pairs import SingularStatisticsWarning, make_pairs, pair_statistics
from ._solvers import solve_pgd, solve_riemannian

__all__ = ["AMLMetricCV"]

#: The AML paper's grid for α and for β: {10⁻³, 10⁻², …, 10³} (Sec. 3.2).
_PAPER_GRID = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)

# Mean validation errors closer than this count as tied (they are means of a few
# ratios of integers, which round differently depending on the order of the folds).
_TIE_TOL = 1e-12


def _check_grid(values, name, *, positive):
    """Sorted, de-duplicated float grid; ValueError naming ``name`` on bad values."""
    try:
        grid = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got {values!r}.") from None
    if grid.ndim == 0:
        grid = grid.reshape(1)
    if grid.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got shape {grid.shape}.")
    if grid.size == 0:
        raise ValueError(f"{name} is empty: give at least one value.")
    if not np.all(np.isfinite(grid)):
        raise ValueError(f"{name} contains NaN or infinity.")
    bad = grid[grid <= 0] if positive else grid[grid < 0]
    if bad.size:
        kind = "positive" if positive else "non-negative"
        raise ValueError(f"{name} must be {kind}, got {bad[:5].tolist()}.")
    return np.unique(grid)


def _take_rows(X, rows, xp):
    if is_numpy_namespace(xp):
        return X[rows]
    return xp.take(X, from_numpy(np.asarray(rows, dtype=np.int64), xp, device_of(X)), axis=0)


class _KNNScorer:
    """Number of validation samples a k-NN classifier under M misclassifies.

    Mahalanobis k-NN is Euclidean k-NN after x ↦ Fᵀx with F Fᵀ = M. NumPy data go through
    scikit-learn's brute-force ``KNeighborsClassifier`` (uniform votes, ties to the
    smallest class), the classifier a ``GridSearchCV`` over a pipeline would use; other
    namespaces through the exact search of :func:`spectral_ml.evaluation.knn_predict`.
    """

    def __init__(self, X_train, codes_train, X_val, codes_val, k):
        self.X_train, self.X_val = X_train, X_val
        self.codes_train, self.codes_val = codes_train, codes_val
        self.k = int(k)
        self.numpy = is_numpy_namespace(get_namespace(X_train))

    def __call__(self, M):
        if not self.numpy:
            from ..evaluation.knn import knn_predict

            pred = knn_predict(self.X_train, self.codes_train, self.X_val, metric=M, k=self.k, method="brute")
            return int(np.count_nonzero(np.asarray(to_numpy(pred)) != self.codes_val))
        w, U = np.linalg.eigh((M + M.T) / 2)
        F = U * np.sqrt(np.clip(w, 0.0, None))
        clf = KNeighborsClassifier(n_neighbors=self.k, algorithm="brute").fit(self.X_train @ F, self.codes_train)
        return int(np.count_nonzero(clf.predict(self.X_val @ F) != self.codes_val))


def _gmml_start(A, B, lam, prior):
    """GMML's closed form on the regularized statistics: the AML solution at α = 0."""
    prob = _Problem(A, B, alpha=0.0, beta=1.0, reg=lam, prior=prior)
    return inverse_sharp(prob.A1, prob.B1, 0.5)


def _solve_point(est, A, B, lam, prior, alpha, beta, M0, tol, verbose):
    """One AML solve; ``M0=None`` starts where :class:`AMLMetric` starts."""
    prob = _Problem(A, B, alpha=float(alpha), beta=float(beta), reg=lam, prior=prior)
    if M0 is None:
        M0 = inverse_sharp(prob.A1, prob.B1, 0.5)
    if est.solver == "pgd":
        return solve_pgd(
            prob, M0, max_iter=est.max_iter, tol=tol, step_size=est.step_size, floor=est.floor, verbose=verbose
        )
    return solve_riemannian(prob, M0, max_iter=est.max_iter, tol=tol, verbose=verbose)


def _statistics(est, X, y, seed, prior, *, quiet):
    """Pairs of (X, y) → (A, B, λ, number of pairs), as :class:`AMLMetric` draws them."""
    xp = get_namespace(X)
    indices, labels = make_pairs(y, est.n_pairs, random_state=seed)
    A, B = pair_statistics(X, labels, indices)
    lam = est._absolute_reg(A, B, prior, xp)
    with warnings.catch_warnings():
        if quiet:
            # Once per fit is enough: the refit on all the data says it if it applies.
            warnings.simplefilter("ignore", SingularStatisticsWarning)
        for name, S in (("A", A), ("B", B)):
            est._check_singular(name, S, lam, xp)
    return A, B, lam, int(labels.shape[0])


def _search_fold(est, X, y, codes, train, val, *, seed, prior, alphas, betas, search_tol, fold):
    """Solve and score the whole (α, β) grid on one fold.

    Returns a dict of (n_alphas, n_betas) arrays: misclassified validation samples,
    solver iterations, convergence flags, solve and scoring times, plus the size of the
    validation part.
    """
    xp = get_namespace(X)
    verbose = int(est.verbose)
    t_start = time.perf_counter()
    X_tr, X_va = _take_rows(X, train, xp), _take_rows(X, val, xp)
    A, B, lam, _ = _statistics(est, X_tr, y[train], seed, prior, quiet=True)
    scorer = _KNNScorer(X_tr, codes[train], X_va, codes[val], est.n_neighbors)
    shape = (alphas.shape[0], betas.shape[0])
    out = {
        "mistakes": np.zeros(shape, dtype=np.int64),
        "n_iter": np.zeros(shape, dtype=np.int64),
        "converged": np.ones(shape, dtype=bool),
        "fit_time": np.zeros(shape),
        "score_time": np.zeros(shape),
        "n_val": int(len(val)),
    }
    M_gmml = _gmml_start(A, B, lam, prior) if est.warm_path else None
    gmml_mistakes = None
    for j, beta in enumerate(betas):
        M, M_mistakes = M_gmml, gmml_mistakes
        for i, alpha in enumerate(alphas):
            t0 = time.perf_counter()
            res = _solve_point(est, A, B, lam, prior, alpha, beta, M, search_tol, verbose > 1)
            t1 = time.perf_counter()
            out["n_iter"][i, j] = res.n_iter
            out["converged"][i, j] = res.converged
            out["fit_time"][i, j] = t1 - t0
            if est.warm_path and res.n_iter == 0:
                # The previous solution already meets the tolerance here: keep it (exactly)
                # and its score, so that unchanged metrics are scored once.
                if M_mistakes is None:
                    M_mistakes = scorer(M)
                    if M is M_gmml:
                        gmml_mistakes = M_mistakes
                    out["score_time"][i, j] = time.perf_counter() - t1
                out["mistakes"][i, j] = M_mistakes
                continue
            mistakes = scorer(res.M)
            out["score_time"][i, j] = time.perf_counter() - t1
            out["mistakes"][i, j] = mistakes
            if est.warm_path:
                M, M_mistakes = res.M, mistakes
    if verbose:
        err = out["mistakes"] / out["n_val"]
        i, j = np.unravel_index(np.argmin(err), err.shape)
        print(
            f"[AMLMetricCV] fold {fold + 1}: {err.size} grid points, {int(out['n_iter'].sum())} solver "
            f"iterations, {time.perf_counter() - t_start:.2f} s; lowest error {err[i, j]:.4f} at "
            f"alpha={alphas[i]:g}, beta={betas[j]:g}"
        )
    return out


class AMLMetricCV(_BasePairMetric):
    """Adversarial Metric Learning with α and β chosen by inner cross-validation.

    For every fold of ``cv``, random pairs are drawn from the fold's training part and
    reduced once to the scatter matrices A and B; every (α, β) of the grid is then solved
    on those statistics and scored by the error of a ``n_neighbors``-NN classifier on the
    fold's validation part under the learned metric (the AML paper's criterion, Sec. 3.2).
    The pair with the lowest mean error is refitted on all the data. The result is a
    fitted :class:`AMLMetric` in all but name: same attributes, same Mahalanobis API.

    Solving the grid costs a few fits rather than ``len(alphas) × len(betas)`` of them:

    * **warm starts along α** (``warm_path=True``): for each β, α runs through its grid in
      increasing order, the first solve starting from GMML's closed form (the solution at
      α = 0, the same for every β) and each next one from the solution at the previous α.
      A grid point whose start already meets the tolerance costs one gradient evaluation
      and keeps that metric and its score;
    * **a looser tolerance during the search** (``search_tol``, default 1e-3 on the
      relative Riemannian gradient norm): enough to rank metrics by k-NN error; the
      refit then solves to ``tol``.

    Parameters
    ----------
    alphas : array-like of float, default=(1e-3, 1e-2, 1e-1, 1, 10, 100, 1000)
        Candidate weights α ≥ 0 of the adversarial pairs (the paper's grid). Sorted and
        de-duplicated before use; α = 0 is GMML.
    betas : array-like of float, default=(1e-3, 1e-2, 1e-1, 1, 10, 100, 1000)
        Candidate neighbourhood parameters β > 0.
    cv : int, cross-validation generator or iterable, default=3
        Inner splitting, as in scikit-learn's ``check_cv`` for a classifier: an int gives
        ``StratifiedKFold(cv)`` (no shuffling, as ``GridSearchCV`` would use); ``None``
        gives 5 folds. Every class needs at least 2 samples in each training part.
    n_neighbors : int, default=5
        k of the k-NN classifier that scores each candidate (the paper uses 5).
    n_pairs : int, optional
        Pairs drawn from each fold's training part and for the refit, half similar and
        half dissimilar. Default 1000·c(c−1) for c classes, as :class:`AMLMetric`.
    reg : float, default=1e-3
        Relative weight of the regularizer toward the prior (see :class:`AMLMetric`),
        applied to each fold's statistics.
    solver : {"pgd", "riemannian"}, default="pgd"
        Solver of every grid point and of the refit (see :class:`AMLMetric`).
    max_iter : int, default=1000
        Maximum iterations of each solve.
    tol : float, default=1e-6
        Tolerance of the refit on all the data (relative Riemannian gradient norm, see
        :class:`AMLMetric`).
    search_tol : float or None, default=1e-3
        Tolerance of the solves during the search. ``None`` uses ``tol``.
    warm_path : bool, default=True
        Warm-start each solve from the previous α's solution (see above). With ``False``
        every grid point starts where an independent :class:`AMLMetric` fit starts, and
        the refit too: with ``search_tol=None`` the search then reproduces a
        ``GridSearchCV`` over ``Pipeline(AMLMetric, KNeighborsClassifier)`` with the
        same folds and seed, at its cost.
    random_state : int, RandomState instance or None, default=None
        Seed of the pair sampling. An int seeds the pairs of every fold and of the refit
        (as ``GridSearchCV`` over ``AMLMetric(random_state=int)`` would); from a
        ``RandomState`` one integer seed is drawn per call to :meth:`fit` and used alike;
        ``None`` draws fresh pairs each time.
    verbose : int, default=0
        1: one line per fold and the selection; 2: also every solver iteration.
    n_jobs : int, optional
        Folds searched in parallel by joblib; ``None`` means 1 (see joblib's
        ``Parallel``).
    prior : array-like of shape (n_features, n_features), optional
        SPD prior M₀ of the regularizer; the identity when omitted.
    step_size : float, optional
        Fixed step of ``solver="pgd"``; adaptive by default.
    floor : float, default=1e-10
        Relative eigenvalue floor of the PGD projection.

    Attributes
    ----------
    alpha_ : float
        Selected α.
    beta_ : float
        Selected β.
    best_index_ : int
        Index of the selected pair in ``cv_results_``.
    best_error_ : float
        Mean validation k-NN error of the selected pair.
    best_score_ : float
        ``1 - best_error_``: the mean validation accuracy, as ``GridSearchCV`` reports it.
    cv_results_ : dict of ndarray
        One entry per grid point, α-major (the order of ``GridSearchCV`` with
        ``param_grid={"alpha": alphas, "beta": betas}``): ``params`` (list of dicts),
        ``param_alpha``, ``param_beta``, ``split{k}_test_error``, ``mean_test_error``,
        ``std_test_error``, ``rank_test_error`` (1 = best; ties share the lowest rank),
        ``split{k}_n_iter``, ``mean_n_iter``, ``split{k}_converged``, ``mean_fit_time``,
        ``std_fit_time``, ``mean_score_time``, ``std_score_time`` (seconds per fold; the
        fit time excludes the pair statistics, shared by the whole grid of a fold).
    alphas_ : ndarray
        The α grid used (sorted, unique).
    betas_ : ndarray
        The β grid used (sorted, unique).
    n_splits_ : int
        Number of inner folds.
    components_ : ndarray of shape (n_features, n_features)
        L = M^{1/2} of the refitted metric, so that M = LᵀL.
    mahalanobis_matrix_ : ndarray of shape (n_features, n_features)
        The refitted metric M.
    n_iter_ : int
        Iterations of the final solve of the refit (at ``alpha_``, to ``tol``).
    loss_curve_ : list of float
        D along that final solve (length ``n_iter_ + 1``).
    grad_norm_ : float
        Relative Riemannian gradient norm of the refitted metric.
    regularization_ : float
        Absolute weight λ of the regularizer in the refit.
    n_pairs_ : int
        Number of pairs of the refit.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when ``X`` has string column names.

    Warns
    -----
    ConvergenceWarning
        When the refit stops at ``max_iter`` before ``tol`` is met. Grid points of the
        search that stop early do not warn; ``cv_results_["split{k}_converged"]`` records
        them.
    SingularStatisticsWarning
        When the pairs of the refit leave A or B singular.

    See Also
    --------
    AMLMetric : The estimator with fixed α and β.
    GMMLMetric : The closed-form learner on the same loss (α = 0).

    Notes
    -----
    D(M) is not convex in general, so a warm-started solve may in principle settle in
    another local minimum than a solve started from GMML's closed form; the refit follows
    the same path (the selected β, α increasing up to the selected value at
    ``search_tol``, then the selected α to ``tol``) so that it reproduces the metric that
    was validated. Warm starts are also the more reliable route at large α: there the
    start :class:`AMLMetric` uses (GMML's closed form with the dissimilar term weighted
    by c = 1 + αβ²/(2 + β)²) can lie far from the solution, and projected gradient
    descent may reach ``max_iter`` from it where the path converges in a few dozen
    iterations. The selected pair is the one with the lowest mean validation error;
    ties (within 1e-12) go to the smallest α, then the smallest β: the metric closest to
    GMML's, and the first in ``GridSearchCV``'s order.

    References
    ----------
    .. [1] S. Chen, C. Gong, J. Yang, X. Li, Y. Wei, J. Li, "Adversarial Metric
       Learning", IJCAI 2018.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.preprocessing import StandardScaler
    >>> from spectral_ml.metric import AMLMetricCV
    >>> X, y = load_wine(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> model = AMLMetricCV(alphas=(0.1, 1.0, 10.0), betas=(0.5, 2.0), random_state=0).fit(X, y)
    >>> model.alpha_ in (0.1, 1.0, 10.0) and model.beta_ in (0.5, 2.0)
    True
    >>> model.cv_results_["mean_test_error"].shape
    (6,)
    >>> model.transform(X).shape
    (178, 13)
    """

    _parameter_constraints: dict = {
        **_BasePairMetric._parameter_constraints,
        "alphas": ["array-like"],
        "betas": ["array-like"],
        "cv": ["cv_object"],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "solver": [StrOptions({"pgd", "riemannian"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "search_tol": [Interval(Real, 0, None, closed="left"), None],
        "warm_path": ["boolean"],
        "verbose": ["verbose"],
        "n_jobs": [Integral, None],
        "step_size": [Interval(Real, 0, None, closed="neither"), None],
        "floor": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(
        self,
        alphas=_PAPER_GRID,
        betas=_PAPER_GRID,
        cv=3,
        n_neighbors=5,
        n_pairs=None,
        reg=1e-3,
        solver="pgd",
        max_iter=1000,
        tol=1e-6,
        search_tol=1e-3,
        warm_path=True,
        random_state=None,
        verbose=0,
        n_jobs=None,
        *,
        prior=None,
        step_size=None,
        floor=1e-10,
    ):
        self.alphas = alphas
        self.betas = betas
        self.cv = cv
        self.n_neighbors = n_neighbors
        self.n_pairs = n_pairs
        self.reg = reg
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.search_tol = search_tol
        self.warm_path = warm_path
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.prior = prior
        self.step_size = step_size
        self.floor = floor

    # -- fitting -----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Select α and β by inner cross-validation, then refit on all the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples (NumPy-compatible, or an array of another array-API
            library, which keeps the computation in that library). Nothing is
            standardized: put a ``StandardScaler`` first where features have different
            units.
        y : array-like of shape (n_samples,)
            Class labels: at least two classes, each with enough samples for every
            training part of ``cv`` to hold two of them.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = self._validate_labelled(X, y)
        xp = get_namespace(X)
        alphas = _check_grid(self.alphas, "alphas", positive=False)
        betas = _check_grid(self.betas, "betas", positive=True)
        classes, codes = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(f"y must contain at least 2 classes, got 1 class ({classes[0]!r}).")
        splits = self._splits(X, y, codes, classes)
        if self.solver == "riemannian" and not is_numpy_namespace(xp):
            warnings.warn(
                "solver='riemannian' runs pymanopt, which supports NumPy only: the d×d "
                "statistics are copied to NumPy and the results are moved back. Use "
                "solver='pgd' to stay on the device.",
                UserWarning,
                stacklevel=3,
            )
        seed = self.random_state
        if isinstance(seed, np.random.RandomState):
            seed = int(seed.randint(np.iinfo(np.int32).max))
        prior = self._validated_prior(X.shape[1], xp, device_of(X))
        search_tol = self.tol if self.search_tol is None else float(self.search_tol)

        folds = Parallel(n_jobs=self.n_jobs)(
            delayed(_search_fold)(
                self,
                X,
                y,
                codes,
                train,
                val,
                seed=seed,
                prior=prior,
                alphas=alphas,
                betas=betas,
                search_tol=search_tol,
                fold=k,
            )
            for k, (train, val) in enumerate(splits)
        )
        self.alphas_, self.betas_ = alphas, betas
        self.n_splits_ = len(splits)
        self.cv_results_ = self._results(folds, alphas, betas)
        mean = self.cv_results_["mean_test_error"]
        # α-major order: the first minimum has the smallest α, then the smallest β.
        best = int(np.flatnonzero(mean <= mean.min() + _TIE_TOL)[0])
        self.best_index_ = best
        self.alpha_ = float(self.cv_results_["param_alpha"][best])
        self.beta_ = float(self.cv_results_["param_beta"][best])
        self.best_error_ = float(mean[best])
        self.best_score_ = 1.0 - self.best_error_
        if self.verbose:
            print(
                f"[AMLMetricCV] selected alpha={self.alpha_:g}, beta={self.beta_:g} "
                f"(mean validation error {self.best_error_:.4f} over {self.n_splits_} folds)"
            )
        self._refit(X, y, seed, prior, alphas, search_tol)
        return self

    def fit_pairs(self, pairs, y):
        """Not available: the search scores candidates by k-NN error on labelled samples.

        Use :meth:`fit` with samples and class labels, or :meth:`AMLMetric.fit_pairs` with
        chosen α and β.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Unused.
        y : array-like of shape (n_pairs,)
            Unused.

        Raises
        ------
        NotImplementedError
            Always.
        """
        raise NotImplementedError(
            "AMLMetricCV selects alpha and beta by the k-NN error of held-out labelled samples, "
            "which pairs alone do not provide: use fit(X, y), or AMLMetric(alpha=..., beta=...)"
            ".fit_pairs(pairs, y)."
        )

    def _splits(self, X, y, codes, classes):
        """The folds as (train, validation) index arrays, checked for what a fold needs."""
        if isinstance(self.cv, Integral):
            counts = np.bincount(codes)
            if counts.min() < self.cv:
                c = int(np.argmin(counts))
                raise ValueError(
                    f"cv={self.cv}: class {classes[c].tolist()!r} has {counts[c]} sample(s), fewer than the "
                    f"number of folds; every class needs at least cv samples. Lower cv."
                )
        splitter = check_cv(self.cv, y, classifier=True)
        X_split = X if isinstance(X, np.ndarray) else np.zeros((X.shape[0], 1))
        splits = [(np.asarray(tr, dtype=np.int64), np.asarray(va, dtype=np.int64)) for tr, va in splitter.split(X_split, y)]
        if len(splits) < 2:
            raise ValueError(f"cv must give at least 2 splits, got {len(splits)}.")
        n_classes = classes.shape[0]
        for k, (train, val) in enumerate(splits):
            if val.shape[0] == 0:
                raise ValueError(f"cv: the validation part of fold {k} is empty.")
            counts = np.bincount(codes[train], minlength=n_classes)
            if counts.min() < 2:
                c = int(np.argmin(counts))
                raise ValueError(
                    f"cv: the training part of fold {k} holds {counts[c]} sample(s) of class "
                    f"{classes[c].tolist()!r}; every class needs at least 2 in each training part to form "
                    f"similar pairs. Use fewer folds."
                )
            if train.shape[0] < self.n_neighbors:
                raise ValueError(
                    f"n_neighbors={self.n_neighbors} exceeds the {train.shape[0]} samples of the "
                    f"training part of fold {k}."
                )
        return splits

    @staticmethod
    def _results(folds, alphas, betas):
        n_a, n_b = alphas.shape[0], betas.shape[0]
        # α-major flattening, the order of GridSearchCV's ParameterGrid.
        flat = lambda a: np.stack([f[a].reshape(-1) for f in folds])  # noqa: E731
        errors = np.stack([f["mistakes"].reshape(-1) / f["n_val"] for f in folds])
        n_iter, converged = flat("n_iter"), flat("converged")
        fit_time, score_time = flat("fit_time"), flat("score_time")
        mean = errors.mean(axis=0)
        order = np.argsort(mean, kind="stable")
        rank = np.empty(mean.shape[0], dtype=np.int32)
        # Ranks as GridSearchCV gives them: ties (within the tolerance) share the lowest.
        r = 0
        for pos, idx in enumerate(order):
            if pos == 0 or mean[idx] > mean[order[pos - 1]] + _TIE_TOL:
                r = pos + 1
            rank[idx] = r
        param_alpha = np.repeat(alphas, n_b)
        param_beta = np.tile(betas, n_a)
        results = {
            "params": [{"alpha": float(a), "beta": float(b)} for a, b in zip(param_alpha, param_beta)],
            "param_alpha": param_alpha,
            "param_beta": param_beta,
        }
        for k in range(errors.shape[0]):
            results[f"split{k}_test_error"] = errors[k]
        results["mean_test_error"] = mean
        results["std_test_error"] = errors.std(axis=0)
        results["rank_test_error"] = rank
        for k in range(errors.shape[0]):
            results[f"split{k}_n_iter"] = n_iter[k]
        results["mean_n_iter"] = n_iter.mean(axis=0)
        for k in range(errors.shape[0]):
            results[f"split{k}_converged"] = converged[k]
        results["mean_fit_time"] = fit_time.mean(axis=0)
        results["std_fit_time"] = fit_time.std(axis=0)
        results["mean_score_time"] = score_time.mean(axis=0)
        results["std_score_time"] = score_time.std(axis=0)
        return results

    def _refit(self, X, y, seed, prior, alphas, search_tol):
        A, B, lam, n_pairs = _statistics(self, X, y, seed, prior, quiet=False)
        self.regularization_ = lam
        self.n_pairs_ = n_pairs
        verbose = int(self.verbose) > 1
        if self.warm_path:
            # The path the search validated: α increasing up to the selection at the
            # search tolerance, then the selected α to the full tolerance.
            M = _gmml_start(A, B, lam, prior)
            for alpha in alphas[alphas < self.alpha_]:
                res = _solve_point(self, A, B, lam, prior, alpha, self.beta_, M, search_tol, verbose)
                if res.n_iter > 0:
                    M = res.M
        else:
            M = None
        res = _solve_point(self, A, B, lam, prior, self.alpha_, self.beta_, M, self.tol, verbose)
        self.n_iter_ = int(res.n_iter)
        self.loss_curve_ = [float(v) for v in res.loss_curve]
        self.grad_norm_ = float(res.grad_norm)
        if not res.converged:
            warnings.warn(
                f"AMLMetricCV (solver={self.solver!r}) refit at alpha={self.alpha_:g}, "
                f"beta={self.beta_:g} did not converge: {res.message} after {res.n_iter} "
                f"iterations, relative gradient norm {res.grad_norm:.3e} > tol={self.tol:g}. "
                f"Increase max_iter, or tol.",
                ConvergenceWarning,
                stacklevel=4,
            )
        self._set_metric(res.M)
