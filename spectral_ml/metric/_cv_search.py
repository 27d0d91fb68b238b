"""The search behind :class:`~spectral_ml.metric.AMLMetricCV`: one fold, one pair set.

A *pair set* is a strategy (random pairs, or local pairs with given ``k_target`` and
``k_impostor``) reduced to the scatter matrices A and B of a fold's training part. On it,
every candidate is solved and scored by the k-NN error of the fold's validation part:

* GMML's closed forms at every ``t`` of the grid, A⁻¹ #ₜ B and the ratio power (one or
  two eigendecompositions each);
* AML at every (α, β), α in increasing order for each β, each solve warm-started from the
  solution at the previous α (the first from GMML's closed form at t = 1/2, the solution at
  α = 0).

:func:`cv_results` then lays the scores of all pair sets and folds out as
``GridSearchCV``'s ``cv_results_``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from scipy.stats import rankdata

from ..evaluation import knn_error
from ._objective import AMLProblem
from ._solvers import solve_aml

__all__ = ["search_fold", "cv_results", "candidate_params"]

# Mean validation errors closer than this count as tied (they are means of a few
# ratios of integers, which round differently depending on the order of the folds).
_TIE_TOL = 1e-12


def search_fold(
    data: Any,
    stats: Any,
    *,
    ts: Any,
    paths: Any,
    alphas: Any,
    betas: Any,
    settings: dict,
    search_tol: float,
    warm_path: bool,
    n_neighbors: int,
    verbose: bool = False,
) -> dict:
    """Solve and score the GMML points and the (α, β) grid on one fold and pair set.

    ``data`` is (X_train, codes_train, X_val, codes_val), ``stats`` the pair set's problem
    inputs (A, B, λ, prior) and ``settings`` the keyword arguments of :func:`solve_aml`
    other than the tolerance (``verbose`` prints every solver iteration). A candidate's score is the number of validation samples a
    k-NN classifier under its metric misclassifies (:func:`~spectral_ml.evaluation.knn_error`).

    A GMML point whose closed form is out of floating point's range (a large t on
    ill-conditioned statistics) counts as misclassifying every validation sample, with
    ``"converged"`` False.

    Returns
    -------
    dict
        ``"mistakes"``, ``"n_iter"``, ``"converged"``, ``"fit_time"``, ``"score_time"``:
        arrays of n_paths·n_ts + n_alphas·n_betas entries (the t points path by path, then
        the (α, β) grid α-major), and
        ``"n_val"``, the size of the validation part.
    """
    X_tr, codes_tr, X_va, codes_va = data
    A, B, lam, prior = stats

    def mistakes_of(M):
        return knn_error(X_tr, codes_tr, X_va, codes_va, metric=M, k=n_neighbors, algorithm="brute", normalize=False)

    points = [(path, float(t)) for path in paths for t in ts]
    n_ts, shape = len(points), (alphas.shape[0], betas.shape[0])
    n = n_ts + shape[0] * shape[1]
    out: dict[str, Any] = {
        "mistakes": np.zeros(n, dtype=np.int64),
        "n_iter": np.zeros(n, dtype=np.int64),
        "converged": np.ones(n, dtype=bool),
        "fit_time": np.zeros(n),
        "score_time": np.zeros(n),
        "n_val": int(codes_va.shape[0]),
    }
    gmml = AMLProblem(A, B, alpha=0.0, beta=1.0, reg=lam, prior=prior)
    for i, (path, t) in enumerate(points):
        t0 = time.perf_counter()
        try:
            M = gmml.gmml_start(t, path)
        except ValueError:
            # Out of floating point's range (a large t on ill-conditioned statistics): the
            # candidate counts as misclassifying every validation sample, and as not converged.
            out["mistakes"][i], out["converged"][i] = out["n_val"], False
            out["fit_time"][i] = time.perf_counter() - t0
            continue
        t1 = time.perf_counter()
        out["mistakes"][i] = mistakes_of(M)
        out["fit_time"][i] = t1 - t0
        out["score_time"][i] = time.perf_counter() - t1

    M_gmml = gmml.gmml_start() if warm_path else None
    gmml_mistakes = None
    for j, beta in enumerate(betas):
        M, M_mistakes = M_gmml, gmml_mistakes
        for i, alpha in enumerate(alphas):
            at = n_ts + i * shape[1] + j
            t0 = time.perf_counter()
            prob = AMLProblem(A, B, alpha=float(alpha), beta=float(beta), reg=lam, prior=prior)
            res = solve_aml(prob, M, tol=search_tol, verbose=verbose, **settings)
            t1 = time.perf_counter()
            out["n_iter"][at] = res.n_iter
            out["converged"][at] = res.converged
            out["fit_time"][at] = t1 - t0
            if warm_path and res.n_iter == 0:
                # The previous solution already meets the tolerance here: keep it (exactly)
                # and its score, so that unchanged metrics are scored once.
                if M_mistakes is None:
                    M_mistakes = mistakes_of(M)
                    if M is M_gmml:
                        gmml_mistakes = M_mistakes
                    out["score_time"][at] = time.perf_counter() - t1
                out["mistakes"][at] = M_mistakes
                continue
            mistakes = mistakes_of(res.M)
            out["score_time"][at] = time.perf_counter() - t1
            out["mistakes"][at] = mistakes
            if warm_path:
                M, M_mistakes = res.M, mistakes
    return out


def candidate_params(pair_sets: Any, ts: Any, paths: Any, alphas: Any, betas: Any, *, name_pairs: bool) -> list[dict]:
    """The ``params`` of every candidate, in the order of :func:`search_fold`'s arrays.

    Pair set by pair set, the t points path by path, then (α, β) α-major. A candidate's
    dict names what sets it apart: ``pairs`` when several strategies are searched
    (``name_pairs``), ``k_target`` and ``k_impostor`` for local pairs, then ``t`` (and
    ``path`` when there are several), or ``alpha`` and ``beta``.
    """
    params = []
    for pair_set in pair_sets:
        head = {"pairs": pair_set["pairs"]} if name_pairs else {}
        if pair_set["pairs"] == "neighbors":
            head.update(k_target=pair_set["k_target"], k_impostor=pair_set["k_impostor"])
        named = len(paths) > 1
        params += [{**head, **({"path": path} if named else {}), "t": float(t)} for path in paths for t in ts]
        params += [{**head, "alpha": float(a), "beta": float(b)} for a in alphas for b in betas]
    return params


def _masked_column(params, key):
    """``param_<key>`` as GridSearchCV gives it: a masked array, masked where a candidate lacks key."""
    values = np.empty(len(params), dtype=object)
    mask = np.ones(len(params), dtype=bool)
    for i, p in enumerate(params):
        if key in p:
            values[i], mask[i] = p[key], False
    if all(isinstance(v, float) for v in values[~mask]):
        values = np.where(mask, 0.0, values).astype(np.float64)
    return np.ma.MaskedArray(values, mask=mask)


def cv_results(folds: Any, params: list[dict]) -> dict:
    """``cv_results_`` from the per-fold outputs of every pair set.

    ``folds[k]`` is the list over pair sets of :func:`search_fold`'s outputs on fold k;
    candidates are laid out as in :func:`candidate_params`.
    """
    keys = ("mistakes", "n_iter", "converged", "fit_time", "score_time")
    joined = [{key: np.concatenate([part[key] for part in fold]) for key in keys} for fold in folds]
    n_val = [fold[0]["n_val"] for fold in folds]
    errors = np.stack([f["mistakes"] / n for f, n in zip(joined, n_val, strict=True)])
    stack = lambda key: np.stack([f[key] for f in joined])
    n_iter, converged, fit_time, score_time = (
        stack("n_iter"),
        stack("converged"),
        stack("fit_time"),
        stack("score_time"),
    )
    mean = errors.mean(axis=0)
    # Ranks as GridSearchCV gives them (ties share the lowest), with means closer than the
    # tolerance to the next smaller one counted as tied.
    order = np.argsort(mean, kind="stable")
    level = np.empty(mean.shape[0], dtype=np.int64)
    level[order] = np.cumsum(np.r_[0, np.diff(mean[order]) > _TIE_TOL])
    results: dict[str, Any] = {"params": params}
    for key in dict.fromkeys(k for p in params for k in p):
        column = _masked_column(params, key)
        results[f"param_{key}"] = column if column.mask.any() else column.data
    n_folds = errors.shape[0]
    for k in range(n_folds):
        results[f"split{k}_test_error"] = errors[k]
    results["mean_test_error"] = mean
    results["std_test_error"] = errors.std(axis=0)
    results["rank_test_error"] = rankdata(level, method="min").astype(np.int32)
    for k in range(n_folds):
        results[f"split{k}_n_iter"] = n_iter[k]
    results["mean_n_iter"] = n_iter.mean(axis=0)
    for k in range(n_folds):
        results[f"split{k}_converged"] = converged[k]
    results["mean_fit_time"] = fit_time.mean(axis=0)
    results["std_fit_time"] = fit_time.std(axis=0)
    results["mean_score_time"] = score_time.mean(axis=0)
    results["std_score_time"] = score_time.std(axis=0)
    return results
