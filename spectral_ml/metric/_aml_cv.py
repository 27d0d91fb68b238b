"""AMLMetricCV: the pair strategy, t, α and β of GMML and AML chosen by inner cross-validation.

The search follows the idea of scikit-learn's ``LassoCV``: the expensive part of a fit
is shared along the grid. For each fold and each pair set (random pairs, or local pairs
with given ``k_target`` and ``k_impostor``), the pairs are reduced to the scatter matrices
A and B once (local pairs of several k from one neighbour search); then GMML's closed form
is taken at every t, and for each β, α runs through its grid in increasing order, every
solve starting from the solution at the previous α (the first from GMML's closed form, the
solution at α = 0). Each candidate is scored by the k-NN error of the fold's validation
part under the metric learned on its training part (:mod:`._cv_search`).
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import Any, NoReturn

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import _fit_context
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Interval, StrOptions

from .._backend import device_of, get_namespace, is_dask_array, is_foreign_array, take_rows, to_numpy
from .._dask import check_dask_rows
from .._validation import check_grid, check_labels
from ..linalg import psd_sqrt
from ._base import CLOSED_FORM_PATHS, PAIR_STRATEGIES, BasePairMetric
from ._class_statistics import all_pairs_fit_statistics, resolve_n_pairs
from ._cv_search import candidate_params, cv_results, search_fold
from ._neighbors import check_k, neighbor_tables, pair_scatters
from ._objective import AMLProblem
from ._pairs import SingularStatisticsWarning, encode_class_labels, pair_statistics, pairs_of_codes
from ._solvers import SOLVERS, solve_aml, warn_host_copy, warn_not_converged

__all__ = ["AMLMetricCV", "GridEdgeWarning"]

#: The AML paper's grid for α and for β: {10⁻³, 10⁻², …, 10³} (Sec. 3.2).
_PAPER_GRID = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)

#: GMML's positions on the geodesic searched by default: the papers' midpoint and
#: extrapolations past B, which sharpen the contrast between directions.
_DEFAULT_TS = (0.5, 1.0, 2.0, 4.0)

# Mean validation errors closer than this count as tied (as in ._cv_search).
_TIE_TOL = 1e-12


class GridEdgeWarning(UserWarning):
    """The value chosen by cross-validation lies at the edge of its grid.

    The error was still lower there than at the next value inside the grid, so a better
    value may lie beyond it: extend the grid in that direction. Not emitted when the
    error is flat at the edge (the next value inside ties), nor at natural bounds
    (α = 0, t = 0, k = 1).
    """


def _choices(value, name, allowed):
    """``value`` as a tuple of distinct choices among ``allowed`` (a single string is one)."""
    values = (value,) if isinstance(value, str) else tuple(value)
    if not values or any(not isinstance(v, str) or v not in allowed for v in values):
        raise ValueError(f"{name} must be one of {allowed} or a non-empty sequence of them, got {value!r}.")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} lists a value twice: {value!r}.")
    return values


def _k_grid(value, name):
    """A number of neighbours or a sequence of them, as a sorted tuple of distinct ints."""
    values = [value] if isinstance(value, (Integral, np.integer)) else list(np.asarray(value).reshape(-1))
    if not values:
        raise ValueError(f"{name} is empty: give at least one value.")
    try:
        return tuple(sorted({check_k(v.item() if isinstance(v, np.generic) else v, name) for v in values}))
    except ValueError:
        raise ValueError(f"{name} must be an integer of at least 1 or a sequence of them, got {value!r}.") from None


class AMLMetricCV(BasePairMetric):
    """GMML and Adversarial Metric Learning with pairs, t, α and β chosen by inner cross-validation.

    For every fold of ``cv`` and every pair set (random pairs, and local pairs for every
    ``k_target`` and ``k_impostor``; see ``pairs``), the pairs of the fold's training part
    are reduced once to the scatter matrices A and B; GMML's closed form at every ``t`` of
    ``ts`` and AML at every (α, β) of the grid are then solved on those statistics and
    scored by the error of a ``n_neighbors``-NN classifier on the fold's validation part
    under the learned metric (the AML paper's criterion, Sec. 3.2). The candidate with the
    lowest mean error is refitted on all the data. The result is a fitted
    :class:`AMLMetric` in all but name: same attributes, same Mahalanobis API.

    Solving the grid costs a few fits rather than ``len(alphas) × len(betas)`` of them:

    * **warm starts along α** (``warm_path=True``): for each β, α runs through its grid in
      increasing order, the first solve starting from GMML's closed form (the solution at
      α = 0, the same for every β) and each next one from the solution at the previous α.
      A grid point whose start already meets the tolerance costs one gradient evaluation
      and keeps that metric and its score;
    * **a looser tolerance during the search** (``search_tol``, default 1e-3 on the
      relative Riemannian gradient norm): enough to rank metrics by k-NN error; the
      refit then solves to ``tol``.

    Local pairs cost one neighbour search per fold (for the largest k; smaller k take the
    first neighbours of the same lists) and the GMML points one eigendecomposition
    and one scoring each, so the default grid (both strategies, four t on both closed forms
    and the 7×7 (α, β) grid) costs two to three times the search over random pairs and the
    (α, β) grid alone.

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
    pairs : {"random", "neighbors"} or sequence of them, default=("random", "neighbors")
        Pair strategies searched (see :class:`GMMLMetric`): the papers' random pairs,
        local pairs (every sample with its target neighbours and impostors), or both.
    k_target : int or sequence of int, default=3
        Target neighbours per sample of the local pair sets searched.
    k_impostor : int or sequence of int, default=10
        Impostors per sample of the local pair sets searched; every (``k_target``,
        ``k_impostor``) combination is a pair set.
    ts : array-like of float or None, default=(0.5, 1, 2, 4)
        Values t ≥ 0 of GMML's closed forms searched beside the (α, β) grid, on every pair
        set and every path of ``paths`` (see :class:`GMMLMetric`). ``None`` or empty: AML
        candidates only.
    paths : {"gmml", "ratio"} or sequence of them, default=("gmml", "ratio")
        GMML's closed forms searched at every t: A⁻¹ #ₜ B, and the ratio power, which
        weighs directions by their ratio of dissimilar to similar scatter to the power t
        (see :class:`GMMLMetric`).
    n_refine : int, default=0
        Rounds of local pairs recomputed in a learned metric: GMML's closed form at
        t = 1/2 on the current local pairs, shared by every candidate of the pair set (a
        per-candidate refinement would cost a neighbour search per candidate).

    Attributes
    ----------
    pairs_ : str
        Selected pair strategy.
    k_target_, k_impostor_ : int or None
        Selected numbers of neighbours (None with random pairs).
    t_ : float or None
        Selected t when a GMML point wins, else None.
    path_ : str or None
        Selected closed form when a GMML point wins, else None.
    alpha_ : float
        Selected α (0.0 when a GMML point wins).
    beta_ : float or None
        Selected β (None when a GMML point wins).
    best_index_ : int
        Index of the selected pair in ``cv_results_``.
    best_error_ : float
        Mean validation k-NN error of the selected pair.
    best_score_ : float
        ``1 - best_error_``: the mean validation accuracy, as ``GridSearchCV`` reports it.
    cv_results_ : dict of ndarray
        One entry per candidate: pair set by pair set, the t points, then the (α, β)
        grid α-major (with a single pair set and no t, the order of ``GridSearchCV`` with
        ``param_grid={"alpha": alphas, "beta": betas}``): ``params`` (list of dicts naming
        ``pairs`` when several strategies are searched, ``k_target`` and ``k_impostor``
        for local pairs, and ``t`` or ``alpha`` and ``beta``), ``param_<name>`` for each
        of these names (masked arrays where a candidate has no such value, as in
        ``GridSearchCV``), ``split{k}_test_error``, ``mean_test_error``,
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
    GridEdgeWarning
        When a chosen value lies at the edge of its grid and the error there is lower
        than at the next value inside: a better value may lie beyond.

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
    was validated. A GMML point is refitted in closed form (``n_iter_`` is 0,
    ``loss_curve_`` holds D at that metric with α = 0, ``grad_norm_`` is NaN: away from
    t = 1/2 the closed form is not a stationary point of D). Warm starts are also the more reliable route at large α: there the
    start :class:`AMLMetric` uses (GMML's closed form with the dissimilar term weighted
    by c = 1 + αβ²/(2 + β)²) can lie far from the solution, and ``solver="pgd"`` may
    reach ``max_iter`` from it where the path converges in a few dozen iterations. The selected pair is the one with the lowest mean validation error;
    ties (within 1e-12) go to the smallest α, then the smallest β: the metric closest to
    GMML's, and the first in ``GridSearchCV``'s order; candidates come in the order
    of ``cv_results_``, so ties go to the first pair set, then to a GMML point (smallest
    t first) over an AML one.

    References
    ----------
    .. [1] Chen, S., Gong, C., Yang, J., Li, X., Wei, Y. and Li, J., "Adversarial
       Metric Learning", IJCAI 2018.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.preprocessing import StandardScaler
    >>> from spectral_ml.metric import AMLMetricCV
    >>> X, y = load_wine(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> model = AMLMetricCV(alphas=(0.1, 1.0, 10.0), betas=(0.5, 2.0), ts=(0.5, 1.0),
    ...                     random_state=0).fit(X, y)
    >>> model.pairs_ in ("random", "neighbors")
    True
    >>> model.cv_results_["mean_test_error"].shape  # 2 pair sets × (2 paths × 2 t + 3 × 2 (α, β))
    (20,)
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
        "pairs": [StrOptions(set(PAIR_STRATEGIES)), "array-like"],
        "k_target": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "k_impostor": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "ts": ["array-like", None],
        "paths": [StrOptions(set(CLOSED_FORM_PATHS)), "array-like"],
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
        pairs=PAIR_STRATEGIES,
        k_target=3,
        k_impostor=10,
        ts=_DEFAULT_TS,
        n_refine=0,
        paths=CLOSED_FORM_PATHS,
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
        self.pairs = pairs
        self.k_target = k_target
        self.k_impostor = k_impostor
        self.ts = ts
        self.n_refine = n_refine
        self.paths = paths

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
        strategies = _choices(self.pairs, "pairs", PAIR_STRATEGIES)
        k_targets, k_impostors = _k_grid(self.k_target, "k_target"), _k_grid(self.k_impostor, "k_impostor")
        ts = np.zeros(0) if self.ts is None or np.size(self.ts) == 0 else check_grid(self.ts, "ts", positive=False)
        paths = _choices(self.paths, "paths", CLOSED_FORM_PATHS)
        n_pairs = resolve_n_pairs(self.n_pairs, X) if "random" in strategies else None
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
        exact = None
        if n_pairs == "all":
            exact = all_pairs_fit_statistics(X, y, train_parts=[tr for tr, _ in splits])
        if dask_input:
            self._reset_features(X.shape[1])
        seed = self.random_state
        if isinstance(seed, np.random.RandomState):
            seed = int(seed.randint(np.iinfo(np.int32).max))
        prior = self._validated_prior(X.shape[1], xp, None if dask_input else device_of(X))
        search_tol = self.tol if self.search_tol is None else float(self.search_tol)
        pair_sets = [{"pairs": "random"}] if "random" in strategies else []
        if "neighbors" in strategies:
            pair_sets += [
                {"pairs": "neighbors", "k_target": kt, "k_impostor": ki} for kt in k_targets for ki in k_impostors
            ]
        if strategies[0] == "neighbors" and len(strategies) > 1:
            pair_sets = pair_sets[1:] + pair_sets[:1]
        self._context = (n_pairs, seed, prior, classes.shape[0])

        rows_of = (lambda rows: X[rows]) if dask_input else (lambda rows: take_rows(X, rows))
        jobs = []
        for k, (train, val) in enumerate(splits):
            X_tr = rows_of(train)
            data = (X_tr, codes[train], rows_of(val), codes[val])
            stats = self._pair_set_statistics(X_tr, codes[train], pair_sets, None if exact is None else exact[k])
            jobs += [(k, data, st) for st in stats]
        outputs = Parallel(n_jobs=self.n_jobs)(
            delayed(search_fold)(
                data,
                (A, B, lam, prior),
                ts=ts,
                paths=paths,
                alphas=alphas,
                betas=betas,
                settings=self._solver_settings(),
                search_tol=search_tol,
                warm_path=self.warm_path,
                n_neighbors=self.n_neighbors,
                verbose=int(self.verbose) > 1,
            )
            for _, data, (A, B, lam, _) in jobs
        )
        folds = [
            [out for (k, _, _), out in zip(jobs, outputs, strict=True) if k == fold] for fold in range(len(splits))
        ]
        self.alphas_, self.betas_, self.ts_ = alphas, betas, ts
        self.n_splits_ = len(splits)
        params = candidate_params(pair_sets, ts, paths, alphas, betas, name_pairs=len(strategies) > 1)
        self.cv_results_ = cv_results(folds, params)
        if self.verbose:
            self._report_folds(folds, params)
        mean = self.cv_results_["mean_test_error"]
        best = int(np.flatnonzero(self.cv_results_["rank_test_error"] == 1)[0])
        self.best_index_ = best
        per_set = len(paths) * ts.shape[0] + alphas.shape[0] * betas.shape[0]
        chosen_set = pair_sets[best // per_set]
        choice = params[best]
        self.pairs_ = chosen_set["pairs"]
        self.k_target_ = chosen_set.get("k_target")
        self.k_impostor_ = chosen_set.get("k_impostor")
        self.t_ = choice.get("t")
        self.path_ = (choice.get("path") or paths[0]) if self.t_ is not None else None
        self.alpha_ = float(choice.get("alpha", 0.0))
        self.beta_ = choice.get("beta")
        self.best_error_ = float(mean[best])
        self.best_score_ = 1.0 - self.best_error_
        if self.verbose:
            print(
                f"[AMLMetricCV] selected {self._describe_choice()} (mean validation error "
                f"{self.best_error_:.4f} over {self.n_splits_} folds, {len(params)} candidates)"
            )
        self._warn_grid_edges(params, mean, {"ts": ts, "alphas": alphas, "betas": betas}, k_targets, k_impostors)
        whole = None if exact is None else exact[-1]
        (A, B, lam, n_pairs_) = self._pair_set_statistics(X, codes, [chosen_set], whole, quiet=False)[0]
        self._refit(A, B, lam, n_pairs_, prior, alphas, search_tol)
        del self._context
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

    def _solver_settings(self):
        """Keyword arguments of :func:`solve_aml` shared by every solve of a fit."""
        return {"solver": self.solver, "max_iter": self.max_iter, "step_size": self.step_size, "floor": self.floor}

    def _report_folds(self, folds, params):
        """One line per fold: candidates, solver iterations, time and the best candidate."""
        for k, fold in enumerate(folds):
            mistakes = np.concatenate([part["mistakes"] for part in fold])
            seconds = sum(float(part["fit_time"].sum() + part["score_time"].sum()) for part in fold)
            iterations = sum(int(part["n_iter"].sum()) for part in fold)
            i = int(np.argmin(mistakes))
            best = ", ".join(
                f"{key}={value!r}" if isinstance(value, str) else f"{key}={value:g}" for key, value in params[i].items()
            )
            print(
                f"[AMLMetricCV] fold {k + 1}: {mistakes.shape[0]} candidates, {iterations} solver iterations, "
                f"{seconds:.2f} s; lowest error {mistakes[i] / fold[0]['n_val']:.4f} at {best}"
            )

    def _describe_choice(self):
        head = f"pairs={self.pairs_!r}"
        if self.pairs_ == "neighbors":
            head += f", k_target={self.k_target_}, k_impostor={self.k_impostor_}"
        if self.t_ is not None:
            return f"{head}, GMML ({self.path_}) at t={self.t_:g}"
        return f"{head}, alpha={self.alpha_:g}, beta={self.beta_:g}"

    def _pair_set_statistics(self, X, codes, pair_sets, exact, *, quiet=True):
        """(A, B, λ, number of pairs) of every pair set of ``(X, codes)``.

        Random pairs are drawn as :class:`AMLMetric` draws them (or are ``exact``, the
        all-pairs statistics of these rows computed already); local pairs of every k come
        from one neighbour search for the largest k, refined ``n_refine`` times in GMML's
        metric at t = 1/2.
        """
        n_pairs, seed, prior, n_classes = self._context
        local = [ps for ps in pair_sets if ps["pairs"] == "neighbors"]
        tables = None
        if local:
            k_t = max(ps["k_target"] for ps in local)
            k_i = max(ps["k_impostor"] for ps in local)
            tables = neighbor_tables(X, codes, k_t, k_i)
        out = []
        for ps in pair_sets:
            if ps["pairs"] == "random":
                if exact is not None:
                    A, B, count = exact
                else:
                    counts = np.bincount(codes, minlength=n_classes)
                    indices, labels = pairs_of_codes(codes, counts, n_pairs, random_state=seed)
                    A, B = pair_statistics(X, labels, indices)
                    count = int(labels.shape[0])
            else:
                A, B, count = self._local_statistics(X, codes, tables, ps, prior)
            out.append(self._regularized(A, B, count, prior, quiet=quiet))
        return out

    def _local_statistics(self, X, codes, tables, pair_set, prior):
        targets, impostors, n_classes = tables
        kt, ki = pair_set["k_target"], pair_set["k_impostor"]
        A, B, count = pair_scatters(X, targets, impostors, n_classes, k_target=kt, k_impostor=ki)
        for _ in range(int(self.n_refine)):
            A_, B_, lam, _ = self._regularized(A, B, count, prior, quiet=True)
            M = AMLProblem(A_, B_, alpha=0.0, beta=1.0, reg=lam, prior=prior).gmml_start()
            t_, i_, _ = neighbor_tables(X, codes, kt, ki, components=to_numpy(psd_sqrt(M)))
            A, B, count = pair_scatters(X, t_, i_, n_classes)
        return A, B, count

    def _regularized(self, A, B, count, prior, *, quiet):
        """(A, B, λ, count) with the absolute regularization weight, singularity checked."""
        xp = get_namespace(A)
        lam = self._absolute_reg(A, B, prior, xp)
        with warnings.catch_warnings():
            if quiet:
                # Once per fit is enough: the refit on all the data says it if it applies.
                warnings.simplefilter("ignore", SingularStatisticsWarning)
            # fit → _pair_set_statistics → _regularized → _check_singular: to name the caller of fit.
            self._check_singular(A, B, lam, xp, stacklevel=7)
        return A, B, lam, count

    def _warn_grid_edges(self, params, mean, grids, k_targets, k_impostors):
        """One :class:`GridEdgeWarning` naming every chosen value at an edge its error still improves at."""
        best = params[self.best_index_]
        index = {tuple(sorted(p.items())): i for i, p in enumerate(params)}
        values = {"t": ("ts", 0.0), "alpha": ("alphas", 0.0), "beta": ("betas", None)}
        values.update(k_target=("k_target", 1), k_impostor=("k_impostor", 1))
        grid_of = {**grids, "k_target": np.asarray(k_targets, float), "k_impostor": np.asarray(k_impostors, float)}
        found = []
        for key, (grid_name, bound) in values.items():
            if key not in best:
                continue
            grid = np.sort(np.asarray(grid_of[grid_name], dtype=float))
            if grid.shape[0] < 2:
                continue
            value = float(best[key])
            for edge, inner, side in ((grid[0], grid[1], "smallest"), (grid[-1], grid[-2], "largest")):
                if value != edge or (side == "smallest" and bound is not None and edge <= bound):
                    continue
                inner_value = int(inner) if key.startswith("k_") else float(inner)
                neighbour = index.get(tuple(sorted({**best, key: inner_value}.items())))
                if neighbour is not None and mean[neighbour] - mean[self.best_index_] <= _TIE_TOL:
                    continue  # flat toward the edge: nothing suggests a better value beyond
                direction = "below" if side == "smallest" else "above"
                found.append(f"{key}={value:g} is the {side} value of {grid_name} (try values {direction} it)")
        if found:
            warnings.warn(
                f"AMLMetricCV chose {self._describe_choice()}, where "
                f"{'; '.join(found)}: the validation error is lower there than at the next value inside "
                f"the grid, so a better value may lie beyond; extend the grid.",
                GridEdgeWarning,
                stacklevel=4,
            )

    def _refit(self, A, B, lam, n_pairs, prior, alphas, search_tol):
        self.regularization_ = lam
        self.n_pairs_ = n_pairs
        if self.t_ is not None:
            # A GMML point: its closed form, which the search validated.
            prob = AMLProblem(A, B, alpha=0.0, beta=1.0, reg=lam, prior=prior)
            M = prob.gmml_start(self.t_, self.path_)
            self.n_iter_ = 0
            self.loss_curve_ = [float(prob.value(M))]
            self.grad_norm_ = math.nan
            self.converged_ = True
            self._set_metric(M)
            return
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
