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
from typing import Any, NoReturn

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import rankdata
from sklearn.base import _fit_context
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Interval, StrOptions

from .._backend import device_of, get_namespace, is_dask_array, is_foreign_array, take_rows, to_numpy
from .._dask import check_dask_rows
from .._validation import check_grid, check_labels
from ..evaluation import knn_error
from ._base import BasePairMetric
from ._class_statistics import all_pairs_fit_statistics, resolve_n_pairs
from ._objective import AMLProblem
from ._pairs import SingularStatisticsWarning, encode_class_labels, pair_statistics, pairs_of_codes
from ._solvers import SOLVERS, solve_aml, warn_host_copy, warn_not_converged

__all__ = ["AMLMetricCV"]

#: The AML paper's grid for α and for β: {10⁻³, 10⁻², …, 10³} (Sec. 3.2).
_PAPER_GRID = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)

# Mean validation errors closer than this count as tied (they are means of a few
# ratios of integers, which round differently depending on the order of the folds).
_TIE_TOL = 1e-12


def _search_fold(data, stats, *, alphas, betas, settings, search_tol, warm_path, n_neighbors, verbose, fold):
    """Solve and score the whole (α, β) grid on one fold.

    ``data`` is (X_train, codes_train, X_val, codes_val), ``stats`` the fold's problem
    inputs (A, B, λ, prior) and ``settings`` the keyword arguments of :func:`solve_aml`
    other than the tolerance. A grid point's score is the number of validation samples
    a k-NN classifier under its metric misclassifies (:func:`~spectral_ml.evaluation.knn_error`).

    Returns a dict of (n_alphas, n_betas) arrays: misclassified validation samples,
    solver iterations, convergence flags, solve and scoring times, plus the size of the
    validation part.
    """
    X_tr, codes_tr, X_va, codes_va = data
    A, B, lam, prior = stats
    t_start = time.perf_counter()

    def mistakes_of(M):
        return knn_error(X_tr, codes_tr, X_va, codes_va, metric=M, k=n_neighbors, algorithm="brute", normalize=False)

    shape = (alphas.shape[0], betas.shape[0])
    out = {
        "mistakes": np.zeros(shape, dtype=np.int64),
        "n_iter": np.zeros(shape, dtype=np.int64),
        "converged": np.ones(shape, dtype=bool),
        "fit_time": np.zeros(shape),
        "score_time": np.zeros(shape),
        "n_val": int(codes_va.shape[0]),
    }
    M_gmml = AMLProblem(A, B, alpha=0.0, beta=1.0, reg=lam, prior=prior).gmml_start() if warm_path else None
    gmml_mistakes = None
    for j, beta in enumerate(betas):
        M, M_mistakes = M_gmml, gmml_mistakes
        for i, alpha in enumerate(alphas):
            t0 = time.perf_counter()
            prob = AMLProblem(A, B, alpha=float(alpha), beta=float(beta), reg=lam, prior=prior)
            res = solve_aml(prob, M, tol=search_tol, verbose=verbose > 1, **settings)
            t1 = time.perf_counter()
            out["n_iter"][i, j] = res.n_iter
            out["converged"][i, j] = res.converged
            out["fit_time"][i, j] = t1 - t0
            if warm_path and res.n_iter == 0:
                # The previous solution already meets the tolerance here: keep it (exactly)
                # and its score, so that unchanged metrics are scored once.
                if M_mistakes is None:
                    M_mistakes = mistakes_of(M)
                    if M is M_gmml:
                        gmml_mistakes = M_mistakes
                    out["score_time"][i, j] = time.perf_counter() - t1
                out["mistakes"][i, j] = M_mistakes
                continue
            mistakes = mistakes_of(res.M)
            out["score_time"][i, j] = time.perf_counter() - t1
            out["mistakes"][i, j] = mistakes
            if warm_path:
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


class AMLMetricCV(BasePairMetric):
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
    n_pairs : int or "all", optional
        Pairs drawn from each fold's training part and for the refit, half similar and
        half dissimilar. Default 1000·c(c−1) for c classes, as :class:`AMLMetric`.
        ``"all"``: every pair of distinct samples, exactly, in one pass over the rows (one pass for all the folds and the refit)
        (O(N d²) time, O(d²) memory, no pair formed); A and B are then the mean scatter
        of a similar and of a dissimilar pair times half the default number of pairs,
        the expectation of the default sampled statistics, so that the other parameters
        mean the same with both pair sets. Dask input is always fitted on all pairs.
    reg : float, default=1e-3
        Relative weight of the regularizer toward the prior (see :class:`AMLMetric`),
        applied to each fold's statistics.
    solver : {"lbfgs", "pgd", "riemannian"}, default="lbfgs"
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
        ``Parallel``). With a Dask ``X`` keep ``None``: each fold's k-NN searches run on
        the Dask workers already.
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
        L = √M (symmetric square root) of the refitted metric, so that M = LᵀL.
    mahalanobis_matrix_ : ndarray of shape (n_features, n_features)
        The refitted metric M.
    n_iter_ : int
        Iterations of the final solve of the refit (at ``alpha_``, to ``tol``).
    loss_curve_ : list of float
        D along that final solve (length ``n_iter_ + 1``).
    grad_norm_ : float
        Relative Riemannian gradient norm of the refitted metric.
    converged_ : bool
        Whether the final solve reached ``grad_norm_ <= tol``; a ConvergenceWarning says
        so when it did not.
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
        When the refit stops above ``tol`` (see :class:`AMLMetric`). Grid points of the
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
    by c = 1 + αβ²/(2 + β)²) can lie far from the solution, and ``solver="pgd"`` may
    reach ``max_iter`` from it where the path converges in a few dozen iterations. The selected pair is the one with the lowest mean validation error;
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
        **BasePairMetric._parameter_constraints,
        "alphas": ["array-like"],
        "betas": ["array-like"],
        "cv": ["cv_object"],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "solver": [StrOptions(set(SOLVERS))],
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
        solver="lbfgs",
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
    def fit(self, X: Any, y: Any) -> AMLMetricCV:
        """Select α and β by inner cross-validation, then refit on all the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples (NumPy-compatible, or an array of another array-API
            library, which keeps the computation in that library). Nothing is
            standardized: put a ``StandardScaler`` first where features have different
            units. A ``dask.array`` chunked by rows is fitted on all pairs: the
            statistics of every training part and of the refit come from one Dask
            reduction over the row blocks, and each grid point is scored by the exact
            blockwise k-NN of :func:`~spectral_ml.evaluation.knn_error`.
        y : array-like of shape (n_samples,)
            Class labels: at least two classes, each with enough samples for every
            training part of ``cv`` to hold two of them. A Dask ``y`` is computed (the
            folds are drawn from the labels in memory).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        n_pairs = resolve_n_pairs(self.n_pairs, X)
        dask_input = is_dask_array(X)
        if dask_input:
            X = check_dask_rows(X)
            y = check_labels(to_numpy(y.compute() if is_dask_array(y) else y), n_samples=X.shape[0])
            xp = get_namespace()  # the statistics of a Dask array are NumPy arrays
        else:
            X, y = self._validate_labelled(X, y)
            xp = get_namespace(X)
            warn_host_copy(self.solver, X, stacklevel=3)
        alphas = check_grid(self.alphas, "alphas", positive=False)
        betas = check_grid(self.betas, "betas", positive=True)
        # The labels are encoded once; folds and refit draw their pairs from the codes.
        codes, counts, classes = encode_class_labels(y)
        splits = self._splits(X, y, codes, classes)
        # All pairs: the statistics of every training part and of the refit in one pass.
        exact = all_pairs_fit_statistics(X, y, train_parts=[tr for tr, _ in splits]) if n_pairs == "all" else None
        if dask_input:
            self._reset_features(X.shape[1])
        seed = self.random_state
        if isinstance(seed, np.random.RandomState):
            seed = int(seed.randint(np.iinfo(np.int32).max))
        prior = self._validated_prior(X.shape[1], xp, None if dask_input else device_of(X))
        search_tol = self.tol if self.search_tol is None else float(self.search_tol)
        n_classes = classes.shape[0]

        jobs = []
        rows_of = (lambda rows: X[rows]) if dask_input else (lambda rows: take_rows(X, rows))
        for k, (train, val) in enumerate(splits):
            X_tr = rows_of(train)
            fold_exact = None if exact is None else exact[k]
            A, B, lam, _ = self._statistics(X_tr, codes[train], n_classes, seed, prior, quiet=True, exact=fold_exact)
            data = (X_tr, codes[train], rows_of(val), codes[val])
            jobs.append((data, (A, B, lam, prior)))
        folds = Parallel(n_jobs=self.n_jobs)(
            delayed(_search_fold)(
                data,
                stats,
                alphas=alphas,
                betas=betas,
                settings=self._solver_settings(),
                search_tol=search_tol,
                warm_path=self.warm_path,
                n_neighbors=self.n_neighbors,
                verbose=int(self.verbose),
                fold=k,
            )
            for k, (data, stats) in enumerate(jobs)
        )
        self.alphas_, self.betas_ = alphas, betas
        self.n_splits_ = len(splits)
        self.cv_results_ = self._results(folds, alphas, betas)
        mean = self.cv_results_["mean_test_error"]
        # α-major order: the first of the best has the smallest α, then the smallest β.
        best = int(np.flatnonzero(self.cv_results_["rank_test_error"] == 1)[0])
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
        self._refit(X, codes, n_classes, seed, prior, alphas, search_tol, exact=None if exact is None else exact[-1])
        return self

    def fit_pairs(self, pairs: Any, y: Any) -> NoReturn:
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
        X_split = np.zeros((X.shape[0], 1)) if is_foreign_array(X) else X
        splits = [
            (np.asarray(tr, dtype=np.int64), np.asarray(va, dtype=np.int64)) for tr, va in splitter.split(X_split, y)
        ]
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
        flat = lambda a: np.stack([f[a].reshape(-1) for f in folds])
        errors = np.stack([f["mistakes"].reshape(-1) / f["n_val"] for f in folds])
        n_iter, converged = flat("n_iter"), flat("converged")
        fit_time, score_time = flat("fit_time"), flat("score_time")
        mean = errors.mean(axis=0)
        # Ranks as GridSearchCV gives them (ties share the lowest), with means closer
        # than the tolerance to the next smaller one counted as tied.
        order = np.argsort(mean, kind="stable")
        level = np.empty(mean.shape[0], dtype=np.int64)
        level[order] = np.cumsum(np.r_[0, np.diff(mean[order]) > _TIE_TOL])
        rank = rankdata(level, method="min").astype(np.int32)
        param_alpha = np.repeat(alphas, n_b)
        param_beta = np.tile(betas, n_a)
        results = {
            "params": [{"alpha": float(a), "beta": float(b)} for a, b in zip(param_alpha, param_beta, strict=True)],
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

    def _solver_settings(self):
        """Keyword arguments of :func:`solve_aml` shared by every solve of a fit."""
        return {"solver": self.solver, "max_iter": self.max_iter, "step_size": self.step_size, "floor": self.floor}

    def _statistics(self, X, codes, n_classes, seed, prior, *, quiet, exact=None):
        """Pairs of (X, codes) → (A, B, λ, number of pairs), as :class:`AMLMetric` draws them.

        ``exact``: the all-pairs (A, B, number of pairs) of these rows, computed already.
        """
        if exact is not None:
            A, B, n_pairs = exact
            xp = get_namespace(A)
        else:
            xp = get_namespace(X)
            counts = np.bincount(codes, minlength=n_classes)
            indices, labels = pairs_of_codes(codes, counts, self.n_pairs, random_state=seed)
            A, B = pair_statistics(X, labels, indices)
            n_pairs = int(labels.shape[0])
        lam = self._absolute_reg(A, B, prior, xp)
        with warnings.catch_warnings():
            if quiet:
                # Once per fit is enough: the refit on all the data says it if it applies.
                warnings.simplefilter("ignore", SingularStatisticsWarning)
            # fit → _refit → _statistics: one frame deeper than AMLMetric's, to name the caller of fit.
            self._check_singular(A, B, lam, xp, stacklevel=6)
        return A, B, lam, n_pairs

    def _refit(self, X, codes, n_classes, seed, prior, alphas, search_tol, exact=None):
        A, B, lam, n_pairs = self._statistics(X, codes, n_classes, seed, prior, quiet=False, exact=exact)
        self.regularization_ = lam
        self.n_pairs_ = n_pairs
        verbose = int(self.verbose) > 1
        settings = self._solver_settings()
        M = None
        if self.warm_path:
            # The path the search validated: α increasing up to the selection at the
            # search tolerance, then the selected α to the full tolerance.
            M = AMLProblem(A, B, alpha=0.0, beta=1.0, reg=lam, prior=prior).gmml_start()
            for alpha in alphas[alphas < self.alpha_]:
                prob = AMLProblem(A, B, alpha=float(alpha), beta=self.beta_, reg=lam, prior=prior)
                res = solve_aml(prob, M, tol=search_tol, verbose=verbose, **settings)
                if res.n_iter > 0:
                    M = res.M
        prob = AMLProblem(A, B, alpha=self.alpha_, beta=self.beta_, reg=lam, prior=prior)
        res = solve_aml(prob, M, tol=self.tol, verbose=verbose, **settings)
        self.n_iter_ = int(res.n_iter)
        self.loss_curve_ = [float(v) for v in res.loss_curve]
        self.grad_norm_ = float(res.grad_norm)
        self.converged_ = bool(res.converged)
        what = f"AMLMetricCV (solver={self.solver!r}) refit at alpha={self.alpha_:g}, beta={self.beta_:g}"
        warn_not_converged(res, what, self.tol, stacklevel=4)
        self._set_metric(res.M)
