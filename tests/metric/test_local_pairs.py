"""Local pairs: the exact target/impostor search, its backends, the estimators and the CV search."""

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from spectral_ml.linalg import inverse_sharp
from spectral_ml.metric import AMLMetric, AMLMetricCV, GMMLMetric, neighbor_pairs, pair_statistics
from spectral_ml.metric import _neighbors as nb
from spectral_ml.metric._aml_cv import GridEdgeWarning
from spectral_ml.metric._class_statistics import sampled_scale


def _brute_force(X, y, k_target, k_impostor):
    """Reference pairs: a full stable sort of every row's distances, class by class."""
    n = X.shape[0]
    similar, dissimilar = [], []
    for i in range(n):
        dist = ((X - X[i]) ** 2).sum(axis=1)
        same = np.flatnonzero((y == y[i]) & (np.arange(n) != i))
        other = np.flatnonzero(y != y[i])
        similar += [[i, j] for j in same[np.argsort(dist[same], kind="stable")[:k_target]]]
        dissimilar += [[i, j] for j in other[np.argsort(dist[other], kind="stable")[:k_impostor]]]
    return np.array(similar), np.array(dissimilar)


def _mixture(seed=0, n=400, d=4, n_classes=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    X = 3.0 * rng.normal(size=(n_classes, d))[y] + rng.normal(size=(n, d))
    return X, y


@pytest.mark.parametrize("k_target, k_impostor", [(1, 1), (3, 10), (7, 2)])
def test_pairs_are_the_exact_nearest_neighbours(k_target, k_impostor):
    X, y = _mixture()
    idx, lab = neighbor_pairs(X, y, k_target, k_impostor)
    similar, dissimilar = _brute_force(X, y, k_target, k_impostor)
    np.testing.assert_array_equal(idx[lab == 1], similar)
    np.testing.assert_array_equal(idx[lab == -1], dissimilar)
    assert idx.dtype == np.int64 and lab.dtype == np.int64
    assert np.all(y[idx[lab == 1, 0]] == y[idx[lab == 1, 1]])
    assert np.all(y[idx[lab == -1, 0]] != y[idx[lab == -1, 1]])


def test_ties_are_broken_by_row_index():
    # Every row has the same coordinates: all distances tie, so neighbours come in row order.
    X = np.zeros((8, 2))
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    idx, lab = neighbor_pairs(X, y, k_target=2, k_impostor=2)
    assert idx[lab == 1].tolist()[:2] == [[0, 2], [0, 4]]
    assert idx[lab == -1].tolist()[:2] == [[0, 1], [0, 3]]
    assert idx[lab == 1].tolist()[2:4] == [[1, 3], [1, 5]]


def test_small_classes_give_what_they_have():
    X = np.arange(7.0)[:, None] ** 1.5
    y = np.array([0, 0, 1, 1, 1, 1, 1])
    idx, lab = neighbor_pairs(X, y, k_target=10, k_impostor=10)
    similar = idx[lab == 1]
    # A class of two samples gives each one target; the other class four each.
    assert np.bincount(similar[:, 0], minlength=7).tolist() == [1, 1, 4, 4, 4, 4, 4]
    assert np.bincount(idx[lab == -1, 0], minlength=7).tolist() == [5, 5, 2, 2, 2, 2, 2]


def test_search_in_a_learned_metric_is_the_search_in_transformed_features():
    X, y = _mixture(seed=1)
    L = np.random.default_rng(2).normal(size=(4, 4))
    a = neighbor_pairs(X, y, 3, 5, components=L)
    b = neighbor_pairs(X @ L.T, y, 3, 5)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], neighbor_pairs(X, y, 3, 5)[0])


def test_memory_is_bounded_by_blocks(monkeypatch):
    """The search never holds an N×N distance matrix: blocks of rows × N only."""
    X, y = _mixture(seed=3, n=2000, d=2)
    full = nb.neighbor_tables(X, y, 3, 10)
    monkeypatch.setattr(nb, "_BLOCK_ENTRIES", 20_000)
    tracemalloc.start()
    blocked = nb.neighbor_tables(X, y, 3, 10)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    n_by_n = 2000 * 2000 * 8
    assert peak < n_by_n / 8, peak
    np.testing.assert_array_equal(blocked[0], full[0])
    np.testing.assert_array_equal(blocked[1], full[1])


def test_statistics_from_index_pairs_match_explicit_pairs(xp):
    X, y = _mixture(seed=4, n=300)
    idx, lab = neighbor_pairs(X, y, 3, 6)
    A, B, count = nb.local_fit_statistics(xp.asarray(X), y, 3, 6)
    assert count == idx.shape[0]
    A_ref, B_ref = pair_statistics(X[idx], lab)
    A_ref, B_ref = sampled_scale(A_ref, B_ref, int((lab == 1).sum()), int((lab == -1).sum()), 3)
    np.testing.assert_allclose(np.asarray(A), A_ref, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(B), B_ref, rtol=1e-10)


def test_same_pairs_on_array_api_strict_and_torch():
    strict = pytest.importorskip("array_api_strict")
    X, y = _mixture(seed=5, n=350, d=6)
    ref = neighbor_pairs(X, y, 3, 8)
    got = neighbor_pairs(strict.asarray(X), y, 3, 8)
    np.testing.assert_array_equal(got[0], ref[0])
    torch = pytest.importorskip("torch", reason="PyTorch is an optional extra")
    got = neighbor_pairs(torch.tensor(X), y, 3, 8)
    np.testing.assert_array_equal(got[0], ref[0])
    est = GMMLMetric(pairs="neighbors").fit(torch.tensor(X), y)
    assert isinstance(est.components_, torch.Tensor)
    ref_est = GMMLMetric(pairs="neighbors").fit(X, y)
    np.testing.assert_allclose(est.components_.numpy(), ref_est.components_, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k_target": 0}, "k_target"),
        ({"k_impostor": 2.5}, "k_impostor"),
        ({"k_target": True}, "k_target"),
    ],
)
def test_bad_numbers_of_neighbours_are_refused(kwargs, match):
    X, y = _mixture()
    with pytest.raises(ValueError, match=match):
        neighbor_pairs(X, y, **kwargs)


def test_bad_input_is_refused():
    X, y = _mixture()
    X_nan = X.copy()
    X_nan[5, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        neighbor_pairs(X_nan, y)
    with pytest.raises(ValueError, match="y"):
        neighbor_pairs(X, y[:-1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        neighbor_pairs(X, np.zeros(X.shape[0]))


# ---------------------------------------------------------------------------------------
# Estimators
# ---------------------------------------------------------------------------------------
def test_gmml_with_local_pairs_is_the_closed_form_of_their_statistics():
    X, y = _mixture(seed=6)
    est = GMMLMetric(pairs="neighbors", k_target=4, k_impostor=7, t=0.7, reg=0.0).fit(X, y)
    A, B, count = nb.local_fit_statistics(X, y, 4, 7)
    np.testing.assert_allclose(est.mahalanobis_matrix_, inverse_sharp(A, B, 0.7), rtol=1e-10)
    assert est.n_pairs_ == count == X.shape[0] * 11


def test_fit_pairs_on_neighbor_pairs_gives_the_same_metric_up_to_scale():
    X, y = _mixture(seed=7)
    idx, lab = neighbor_pairs(X, y)
    a = GMMLMetric(pairs="neighbors", reg=0.0).fit(X, y).mahalanobis_matrix_
    b = GMMLMetric(reg=0.0).fit_pairs(X[idx], lab).mahalanobis_matrix_
    # A and B are scaled by different constants; GMML's midpoint then scales by their ratio's root.
    ratio = a / b
    np.testing.assert_allclose(ratio, ratio[0, 0], rtol=1e-8)


def test_refinement_searches_again_in_the_learned_metric():
    X, y = _mixture(seed=8)
    once = GMMLMetric(pairs="neighbors").fit(X, y)
    twice = GMMLMetric(pairs="neighbors", n_refine=1).fit(X, y)
    A, B, _ = nb.local_fit_statistics(X, y, 3, 10, components=once.components_)
    expected = GMMLMetric(reg=1e-3)._solve(A, B, 1e-3 * (np.trace(A) + np.trace(B)) / 8, None)
    np.testing.assert_allclose(twice.mahalanobis_matrix_, expected, rtol=1e-9)


def test_n_pairs_is_refused_with_local_pairs():
    X, y = _mixture()
    with pytest.raises(ValueError, match="leave n_pairs at None"):
        GMMLMetric(pairs="neighbors", n_pairs=100).fit(X, y)


@pytest.mark.parametrize(
    "params", [{"pairs": "nearest"}, {"k_target": 0}, {"k_impostor": -1}, {"n_refine": -1}, {"t": -1.0}]
)
def test_invalid_strategy_parameters_are_refused(params):
    X, y = _mixture()
    for cls in (GMMLMetric, AMLMetric):
        if "t" in params and cls is AMLMetric:
            continue
        with pytest.raises(InvalidParameterError, match=next(iter(params))):
            cls(**params).fit(X, y)


def _noisy_multimodal(n=3000, seed=0):
    X, y = make_classification(
        n_samples=n,
        n_features=20,
        n_informative=10,
        n_redundant=0,
        n_repeated=0,
        n_classes=4,
        n_clusters_per_class=2,
        random_state=seed,
    )
    X = StandardScaler().fit_transform(X)
    return X[: n // 2], y[: n // 2], X[n // 2 :], y[n // 2 :]


def _error(est, X_tr, y_tr, X_te, y_te):
    knn = KNeighborsClassifier(5).fit(est.transform(X_tr), y_tr)
    return float(np.mean(knn.predict(est.transform(X_te)) != y_te))


def test_local_pairs_and_the_ratio_power_help_on_multimodal_classes_with_noise_features():
    """Half of the features are noise: local pairs and the ratio power weigh them down."""
    X_tr, y_tr, X_te, y_te = _noisy_multimodal()
    euclidean = float(np.mean(KNeighborsClassifier(5).fit(X_tr, y_tr).predict(X_te) != y_te))
    random = _error(GMMLMetric(random_state=0).fit(X_tr, y_tr), X_tr, y_tr, X_te, y_te)
    local = _error(GMMLMetric(pairs="neighbors").fit(X_tr, y_tr), X_tr, y_tr, X_te, y_te)
    ratio = _error(GMMLMetric(pairs="neighbors", path="ratio", t=2.0).fit(X_tr, y_tr), X_tr, y_tr, X_te, y_te)
    assert local < random < euclidean + 0.01, (euclidean, random, local)
    assert ratio < 0.8 * local, (local, ratio)


def test_ratio_power_weighs_directions_by_their_ratio():
    """A noise direction (equal scatters) keeps weight 1 at every t; the others go as μᵗ."""
    from spectral_ml.linalg import ratio_power

    A, B = np.diag([1.0, 2.0, 4.0]), np.diag([3.0, 2.0, 1.0])
    for t in (0.0, 0.5, 2.0, 5.0):
        np.testing.assert_allclose(np.diag(ratio_power(A, B, t)), [3.0**t, 0.5, 0.25 * 0.25**t], rtol=1e-12)
    X, y = _mixture(seed=11)
    est = GMMLMetric(path="ratio", t=2.0, reg=0.0, pairs="neighbors").fit(X, y)
    A, B, _ = nb.local_fit_statistics(X, y, 3, 10)
    np.testing.assert_allclose(est.mahalanobis_matrix_, ratio_power(A, B, 2.0), rtol=1e-10)


def test_large_t_out_of_range_is_a_clear_error():
    X, y = _mixture()
    X = X * np.array([1e6, 1.0, 1.0, 1e-6])
    with pytest.raises(ValueError, match="out of floating point's range"):
        GMMLMetric(t=60.0, reg=1e-12).fit(X, y)


def test_grid_search_over_the_pair_strategy():
    X_tr, y_tr, _, _ = _noisy_multimodal(n=1200)
    pipe = make_pipeline(GMMLMetric(random_state=0), KNeighborsClassifier(5))
    grid = {"gmmlmetric__pairs": ["random", "neighbors"], "gmmlmetric__k_target": [3, 6]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X_tr, y_tr)
    assert len(search.cv_results_["params"]) == 4
    # Random pairs ignore k_target: their two candidates score the same.
    random = search.cv_results_["mean_test_score"][search.cv_results_["param_gmmlmetric__pairs"] == "random"]
    assert random[0] == random[1]
    assert search.best_params_["gmmlmetric__pairs"] in ("random", "neighbors")


def test_aml_with_local_pairs_solves_the_same_problem_on_local_statistics():
    """AMLMetric(pairs="neighbors") is AMLMetric on the local pairs, scaled as documented."""
    from spectral_ml.metric import default_n_pairs

    X, y = _mixture(seed=9)
    est = AMLMetric(pairs="neighbors", alpha=1.0, beta=0.8, tol=1e-9).fit(X, y)
    idx, lab = neighbor_pairs(X, y)
    half = default_n_pairs(3) // 2
    # Differences stretched by √s scale their scatter by s, the documented scaling of A and B.
    stretch = np.where(lab == 1, np.sqrt(half / np.sum(lab == 1)), np.sqrt(half / np.sum(lab == -1)))
    first, second = X[idx[:, 0]], X[idx[:, 1]]
    pairs = np.stack([first, first - stretch[:, None] * (first - second)], axis=1)
    ref = AMLMetric(alpha=1.0, beta=0.8, tol=1e-9).fit_pairs(pairs, lab)
    np.testing.assert_allclose(est.mahalanobis_matrix_, ref.mahalanobis_matrix_, rtol=1e-6)
    assert est.converged_ and est.n_pairs_ == idx.shape[0]


# ---------------------------------------------------------------------------------------
# Cross-validation over strategies, k and t
# ---------------------------------------------------------------------------------------
def test_cv_searches_strategies_ks_and_ts():
    X_tr, y_tr, X_te, y_te = _noisy_multimodal(n=1500)
    cv = AMLMetricCV(alphas=(0.1, 1.0), betas=(1.0,), k_target=(2, 4), ts=(0.5, 2.0, 4.0), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridEdgeWarning)
        cv.fit(X_tr, y_tr)
    res = cv.cv_results_
    # 3 pair sets (random, k_target 2 and 4) × (2 paths × 3 t + 2 (α, β)).
    assert len(res["params"]) == 24
    assert res["params"][0] == {"pairs": "random", "path": "gmml", "t": 0.5}
    assert res["params"][3] == {"pairs": "random", "path": "ratio", "t": 0.5}
    assert res["params"][8] == {"pairs": "neighbors", "k_target": 2, "k_impostor": 10, "path": "gmml", "t": 0.5}
    assert bool(res["param_t"].mask[6]) and not bool(res["param_t"].mask[0])
    assert bool(res["param_k_target"].mask[0])
    best = res["params"][cv.best_index_]
    assert cv.pairs_ == best.get("pairs")
    assert cv.t_ == best.get("t") and cv.k_target_ == best.get("k_target")
    assert cv.best_error_ == res["mean_test_error"].min()
    # The refit reproduces the estimator with the chosen settings.
    if cv.t_ is not None:
        ref = GMMLMetric(t=cv.t_, path=cv.path_, pairs=cv.pairs_, k_target=cv.k_target_ or 3, random_state=0)
        ref.fit(X_tr, y_tr)
        np.testing.assert_allclose(cv.mahalanobis_matrix_, ref.mahalanobis_matrix_, rtol=1e-8)
    assert _error(cv, X_tr, y_tr, X_te, y_te) < _error(
        GMMLMetric(random_state=0).fit(X_tr, y_tr), X_tr, y_tr, X_te, y_te
    )


def test_local_pair_sets_share_one_search_per_fold(monkeypatch):
    from spectral_ml.metric import _aml_cv

    calls = []
    tables = _aml_cv.neighbor_tables

    def counting(*args, **kwargs):
        calls.append(args[2:4])
        return tables(*args, **kwargs)

    monkeypatch.setattr(_aml_cv, "neighbor_tables", counting)
    X, y = _mixture(seed=10, n=240)
    AMLMetricCV(alphas=(1.0,), betas=(1.0,), pairs="neighbors", k_target=(1, 3), k_impostor=(2, 5), ts=None).fit(X, y)
    # One search per fold, at the largest k, for the 4 pair sets; then one for the refit.
    assert calls[:3] == [(3, 5)] * 3 and len(calls) == 4


def test_edge_warning_when_the_error_still_improves_at_the_edge():
    X_tr, y_tr, _, _ = _noisy_multimodal(n=1500)
    with pytest.warns(GridEdgeWarning, match=r"t=2 is the largest value of ts"):
        AMLMetricCV(alphas=(0.1,), betas=(1.0,), pairs="neighbors", ts=(0.5, 2.0), paths="ratio").fit(X_tr, y_tr)


def test_no_edge_warning_when_the_error_is_flat():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 30)
    X = rng.standard_normal((90, 4)) + 10.0 * y[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridEdgeWarning)
        cv = AMLMetricCV(alphas=(0.01, 1.0, 10.0), betas=(0.3, 3.0), random_state=0).fit(X, y)
    assert np.all(cv.cv_results_["mean_test_error"] == 0)
    # Ties go to the first candidate: random pairs, the smallest t.
    assert (cv.pairs_, cv.path_, cv.t_) == ("random", "gmml", 0.5)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"pairs": ()}, "pairs"),
        ({"pairs": ("random", "random")}, "pairs lists a value twice"),
        ({"pairs": ("random", "nearest")}, "pairs"),
        ({"k_target": (3, 0)}, "k_target"),
        ({"k_impostor": ()}, "k_impostor"),
        ({"ts": (0.5, -1.0)}, "ts must be non-negative"),
        ({"paths": ("gmml", "gmml")}, "paths lists a value twice"),
        ({"paths": "sharp"}, "paths"),
    ],
)
def test_cv_strategy_parameters_are_validated(params, match):
    X, y = _mixture()
    with pytest.raises(ValueError, match=match):
        AMLMetricCV(alphas=(1.0,), betas=(1.0,), **params).fit(X, y)
