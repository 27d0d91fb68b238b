"""AMLMetricCV: agreement with a brute-force grid search, warm starts, refit, bad input."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from spectral_ml.metric import AMLMetric, AMLMetricCV, GMMLMetric
from tests._estimator_checks import sklearn_checks

# The papers' search: random pairs and the (α, β) grid only, which GridSearchCV over
# AMLMetric reproduces; tests/metric/test_local_pairs.py covers the strategies and t.
PAPER = {"pairs": "random", "ts": None}
ALPHAS = (0.1, 1.0, 10.0)
BETAS = (0.5, 2.0)


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _grid_search(X, y, alphas, betas, seed, **aml):
    pipe = make_pipeline(AMLMetric(random_state=seed, **aml), KNeighborsClassifier(n_neighbors=5))
    grid = {"amlmetric__alpha": list(alphas), "amlmetric__beta": list(betas)}
    return GridSearchCV(pipe, grid, cv=3).fit(X, y)


def _split_errors(model):
    return np.stack([model.cv_results_[f"split{k}_test_error"] for k in range(model.n_splits_)])


def _total_iterations(model):
    return int(sum(model.cv_results_[f"split{k}_n_iter"].sum() for k in range(model.n_splits_)))


@pytest.fixture(scope="module")
def wine_grid_search(wine):
    X, y = wine
    return _grid_search(X, y, ALPHAS, BETAS, seed=0)


def test_cold_search_reproduces_grid_search_exactly(wine, wine_grid_search):
    """Without warm starts and at the full tolerance, every grid point is an AMLMetric fit."""
    X, y = wine
    gs = wine_grid_search
    cv = AMLMetricCV(**PAPER, alphas=ALPHAS, betas=BETAS, warm_path=False, search_tol=None, random_state=0).fit(X, y)
    assert [p for p in cv.cv_results_["params"]] == [
        {"alpha": p["amlmetric__alpha"], "beta": p["amlmetric__beta"]} for p in gs.cv_results_["params"]
    ]
    for k in range(3):
        np.testing.assert_allclose(
            cv.cv_results_[f"split{k}_test_error"], 1 - gs.cv_results_[f"split{k}_test_score"], atol=1e-12
        )
    np.testing.assert_allclose(cv.cv_results_["mean_test_error"], 1 - gs.cv_results_["mean_test_score"], atol=1e-12)
    np.testing.assert_array_equal(cv.cv_results_["rank_test_error"], gs.cv_results_["rank_test_score"])
    assert cv.best_index_ == gs.best_index_
    assert (cv.alpha_, cv.beta_) == (gs.best_params_["amlmetric__alpha"], gs.best_params_["amlmetric__beta"])
    assert cv.best_score_ == pytest.approx(gs.best_score_, abs=1e-12)
    # The refit is the AMLMetric fit GridSearchCV refits.
    np.testing.assert_allclose(
        cv.get_mahalanobis_matrix(), gs.best_estimator_[0].get_mahalanobis_matrix(), rtol=1e-12, atol=1e-12
    )
    assert cv.n_iter_ == gs.best_estimator_[0].n_iter_


def test_warm_path_selects_what_grid_search_selects(wine, wine_grid_search):
    """Warm starts reach the same minima here: same errors and the same selection."""
    X, y = wine
    gs = wine_grid_search
    cv = AMLMetricCV(**PAPER, alphas=ALPHAS, betas=BETAS, search_tol=None, random_state=0).fit(X, y)
    np.testing.assert_allclose(cv.cv_results_["mean_test_error"], 1 - gs.cv_results_["mean_test_score"], atol=1e-12)
    assert (cv.alpha_, cv.beta_) == (gs.best_params_["amlmetric__alpha"], gs.best_params_["amlmetric__beta"])
    ref = gs.best_estimator_[0].get_mahalanobis_matrix()
    assert np.linalg.norm(cv.get_mahalanobis_matrix() - ref) <= 1e-5 * np.linalg.norm(ref)


def test_default_search_tolerance_stays_close_to_grid_search(wine, wine_grid_search):
    """At search_tol=1e-3 each grid point's error moves by at most a sample or two."""
    X, y = wine
    gs = wine_grid_search
    cv = AMLMetricCV(**PAPER, alphas=ALPHAS, betas=BETAS, random_state=0).fit(X, y)
    n_val = np.array([len(va) for _, va in StratifiedKFold(3).split(X, y)])
    diff = np.abs(_split_errors(cv) - (1 - np.stack([gs.cv_results_[f"split{k}_test_score"] for k in range(3)])))
    assert np.all(diff * n_val[:, None] <= 2 + 1e-9)
    assert cv.best_error_ <= 1 - gs.best_score_ + 2 / n_val.min()
    # The refit still meets the full tolerance.
    assert cv.grad_norm_ <= cv.tol and cv.converged_


# The saving depends on how good the cold start is for the solver: L-BFGS's first step
# is already a Newton step on the GMML part of D, projected gradient's is not.
@pytest.mark.parametrize(
    "solver, search_tol, ratio",
    [("pgd", 1e-3, 0.6), ("pgd", None, 0.8), ("lbfgs", 1e-3, 0.7), ("lbfgs", None, 0.8)],
)
def test_warm_starts_need_fewer_iterations_than_cold_starts(wine, solver, search_tol, ratio):
    X, y = wine
    kw = dict(
        alphas=(0.01, 0.1, 1.0, 10.0, 100.0),
        betas=(0.3, 1.0, 3.0),
        random_state=0,
        search_tol=search_tol,
        solver=solver,
    )
    warm = AMLMetricCV(**PAPER, **kw).fit(X, y)
    cold = AMLMetricCV(**PAPER, warm_path=False, **kw).fit(X, y)
    n_warm, n_cold = _total_iterations(warm), _total_iterations(cold)
    assert n_warm < ratio * n_cold, (n_warm, n_cold)


def test_refit_equals_a_converged_aml_fit_at_the_selection(wine):
    X, y = wine
    cv = AMLMetricCV(**PAPER, alphas=ALPHAS, betas=BETAS, random_state=0, tol=1e-9).fit(X, y)
    ref = AMLMetric(alpha=cv.alpha_, beta=cv.beta_, random_state=0, tol=1e-9).fit(X, y)
    assert cv.loss_curve_[-1] == pytest.approx(ref.loss_curve_[-1], rel=1e-12)
    M, Mr = cv.get_mahalanobis_matrix(), ref.get_mahalanobis_matrix()
    assert np.linalg.norm(M - Mr) <= 1e-6 * np.linalg.norm(Mr)
    assert cv.regularization_ == ref.regularization_ and cv.n_pairs_ == ref.n_pairs_


def test_fitted_attributes_and_cv_results_layout(wine):
    X, y = wine
    alphas, betas = (10.0, 0.1, 1.0, 1.0), (2.0, 0.5)
    cv = AMLMetricCV(**PAPER, alphas=alphas, betas=betas, cv=4, random_state=0).fit(X, y)
    np.testing.assert_array_equal(cv.alphas_, [0.1, 1.0, 10.0])
    np.testing.assert_array_equal(cv.betas_, [0.5, 2.0])
    res = cv.cv_results_
    n = 6
    np.testing.assert_array_equal(res["param_alpha"], np.repeat([0.1, 1.0, 10.0], 2))
    np.testing.assert_array_equal(res["param_beta"], np.tile([0.5, 2.0], 3))
    assert res["params"][1] == {"alpha": 0.1, "beta": 2.0}
    assert cv.n_splits_ == 4
    for key in (
        "mean_test_error",
        "std_test_error",
        "rank_test_error",
        "mean_n_iter",
        "mean_fit_time",
        "mean_score_time",
    ):
        assert res[key].shape == (n,)
    errors = _split_errors(cv)
    assert errors.shape == (4, n) and np.all((errors >= 0) & (errors <= 1))
    np.testing.assert_allclose(res["mean_test_error"], errors.mean(axis=0))
    np.testing.assert_allclose(res["std_test_error"], errors.std(axis=0))
    assert res["rank_test_error"][cv.best_index_] == 1
    assert cv.best_error_ == res["mean_test_error"].min()
    assert cv.best_score_ == 1 - cv.best_error_
    assert (cv.alpha_, cv.beta_) == (res["param_alpha"][cv.best_index_], res["param_beta"][cv.best_index_])
    assert all(res[f"split{k}_converged"].dtype == bool for k in range(4))
    # Everything AMLMetric exposes.
    for name in (
        "components_",
        "mahalanobis_matrix_",
        "n_iter_",
        "loss_curve_",
        "grad_norm_",
        "converged_",
        "regularization_",
        "n_pairs_",
        "n_features_in_",
    ):
        assert hasattr(cv, name), name
    assert len(cv.loss_curve_) == cv.n_iter_ + 1
    L, M = cv.components_, cv.get_mahalanobis_matrix()
    np.testing.assert_allclose(L.T @ L, M, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cv.transform(X), X @ L.T)
    pairs = np.stack([X[:10], X[10:20]], axis=1)
    np.testing.assert_allclose(
        cv.pair_distance(pairs), np.linalg.norm(cv.transform(X[:10]) - cv.transform(X[10:20]), axis=1)
    )
    assert cv.get_metric()(X[0], X[10]) == pytest.approx(cv.pair_distance(pairs)[0])
    assert list(cv.get_feature_names_out()) == [f"amlmetriccv{i}" for i in range(X.shape[1])]


def test_ties_go_to_the_smallest_alpha_then_beta(rng):
    """Well-separated classes: every candidate is perfect and the first one is chosen."""
    y = np.repeat([0, 1, 2], 30)
    X = rng.standard_normal((90, 4)) + 10.0 * y[:, None]
    cv = AMLMetricCV(**PAPER, alphas=(10.0, 0.01, 1.0), betas=(3.0, 0.3), random_state=0).fit(X, y)
    assert np.all(cv.cv_results_["mean_test_error"] == 0)
    assert np.all(cv.cv_results_["rank_test_error"] == 1)
    assert (cv.alpha_, cv.beta_, cv.best_index_) == (0.01, 0.3, 0)


def test_alpha_zero_in_the_grid_is_gmml(wine):
    X, y = wine
    cv = AMLMetricCV(**PAPER, alphas=(0.0,), betas=(1.0,), random_state=0).fit(X, y)
    gmml = GMMLMetric(random_state=0).fit(X, y)
    np.testing.assert_allclose(cv.get_mahalanobis_matrix(), gmml.get_mahalanobis_matrix(), rtol=1e-8, atol=1e-10)
    assert cv.n_iter_ == 0


def test_deterministic_with_random_state(wine):
    X, y = wine
    kw = dict(alphas=ALPHAS, betas=BETAS)
    a = AMLMetricCV(**PAPER, random_state=3, **kw).fit(X, y)
    b = AMLMetricCV(**PAPER, random_state=3, **kw).fit(X, y)
    np.testing.assert_array_equal(_split_errors(a), _split_errors(b))
    np.testing.assert_array_equal(a.get_mahalanobis_matrix(), b.get_mahalanobis_matrix())
    c = AMLMetricCV(**PAPER, random_state=np.random.RandomState(5), **kw).fit(X, y)
    d = AMLMetricCV(**PAPER, random_state=np.random.RandomState(5), **kw).fit(X, y)
    np.testing.assert_array_equal(c.get_mahalanobis_matrix(), d.get_mahalanobis_matrix())
    # Other pairs give another metric.
    e = AMLMetricCV(**PAPER, random_state=4, **kw).fit(X, y)
    assert not np.allclose(e.get_mahalanobis_matrix(), a.get_mahalanobis_matrix())


def test_parallel_folds_give_identical_results(wine):
    X, y = wine
    kw = dict(alphas=(0.1, 10.0), betas=(1.0,), random_state=0)
    serial = AMLMetricCV(**PAPER, **kw).fit(X, y)
    parallel = AMLMetricCV(**PAPER, n_jobs=2, **kw).fit(X, y)
    np.testing.assert_array_equal(_split_errors(serial), _split_errors(parallel))
    np.testing.assert_array_equal(serial.get_mahalanobis_matrix(), parallel.get_mahalanobis_matrix())


def test_cv_splitters_and_iterables(wine):
    X, y = wine
    kw = dict(alphas=(0.1, 10.0), betas=(1.0,), random_state=0)
    skf = StratifiedKFold(3, shuffle=True, random_state=1)
    a = AMLMetricCV(**PAPER, cv=skf, **kw).fit(X, y)
    b = AMLMetricCV(**PAPER, cv=list(skf.split(X, y)), **kw).fit(X, y)
    np.testing.assert_array_equal(_split_errors(a), _split_errors(b))
    assert a.n_splits_ == 3


def test_refit_warns_but_the_search_does_not(wine):
    X, y = wine
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cv = AMLMetricCV(**PAPER, alphas=(1.0, 100.0), betas=(1.0,), max_iter=2, random_state=0).fit(X, y)
    conv = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(conv) == 1 and "refit" in str(conv[0].message)
    assert not all(cv.cv_results_[f"split{k}_converged"].all() for k in range(3))
    assert cv.n_iter_ == 2


def test_verbose_reports_folds_and_selection(wine, capsys):
    X, y = wine
    AMLMetricCV(**PAPER, alphas=(0.1,), betas=(1.0,), random_state=0, verbose=1).fit(X, y)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 4 and "selected pairs='random', alpha=0.1, beta=1" in out[-1]
    AMLMetricCV(**PAPER, alphas=(0.1,), betas=(1.0,), random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


def test_in_a_pipeline(wine):
    X, y = load_wine(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(),
        AMLMetricCV(**PAPER, alphas=(0.1, 10.0), betas=(1.0,), random_state=0),
        KNeighborsClassifier(5),
    )
    pipe.fit(X[::2], y[::2])
    assert pipe.score(X[1::2], y[1::2]) > 0.9
    assert clone(pipe)[1].get_params()["alphas"] == (0.1, 10.0)


def test_riemannian_solver(wine):
    X, y = wine
    kw = dict(alphas=(0.1, 10.0), betas=(1.0,), random_state=0, search_tol=None, tol=1e-8)
    pgd = AMLMetricCV(**PAPER, **kw).fit(X, y)
    rie = AMLMetricCV(**PAPER, solver="riemannian", **kw).fit(X, y)
    np.testing.assert_array_equal(_split_errors(pgd), _split_errors(rie))
    assert rie.loss_curve_[-1] == pytest.approx(pgd.loss_curve_[-1], rel=1e-10)


def test_array_api_strict_stays_in_namespace(wine):
    xs = pytest.importorskip("array_api_strict")
    X, y = wine
    kw = dict(alphas=(0.1, 10.0), betas=(1.0,), random_state=0)
    ref = AMLMetricCV(**PAPER, **kw).fit(X, y)
    est = AMLMetricCV(**PAPER, **kw).fit(xs.asarray(X), y)
    np.testing.assert_array_equal(_split_errors(est), _split_errors(ref))
    assert isinstance(est.components_, type(xs.asarray(X)))
    np.testing.assert_allclose(
        np.asarray(est.get_mahalanobis_matrix()), ref.get_mahalanobis_matrix(), rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alphas": ()}, "alphas is empty"),
        ({"betas": []}, "betas is empty"),
        ({"alphas": (1.0, -0.1)}, "alphas must be non-negative"),
        ({"betas": (0.0, 1.0)}, "betas must be positive"),
        ({"betas": (-1.0,)}, "betas must be positive"),
        ({"alphas": (1.0, np.nan)}, "alphas contains NaN"),
        ({"betas": [[1.0, 2.0]]}, "betas must be a 1-D"),
        ({"alphas": ("a", "b")}, "alphas must be a 1-D"),
        ({"cv": 1}, "cv"),
        ({"cv": 0}, "cv"),
        ({"n_neighbors": 0}, "n_neighbors"),
        ({"search_tol": -1.0}, "search_tol"),
        ({"tol": -1.0}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"solver": "newton"}, "solver"),
        ({"warm_path": "yes"}, "warm_path"),
        ({"n_pairs": 1}, "n_pairs"),
        ({"reg": -1.0}, "reg"),
    ],
)
def test_invalid_hyperparameters_raise_clear_errors(wine, params, match):
    X, y = wine
    with pytest.raises(ValueError, match=match):
        AMLMetricCV(**PAPER, **params).fit(X, y)


def test_data_problems_raise_clear_errors(wine):
    X, y = wine
    small = dict(alphas=(1.0,), betas=(1.0,))
    y_few = y.copy()
    y_few[:2] = 7  # a class of two samples
    with pytest.raises(ValueError, match=r"cv=3: class 7 has 2 sample"):
        AMLMetricCV(**PAPER, **small).fit(X, y_few)
    # Three samples of a class suffice for three folds, not for two (a training part gets 1).
    y_three = y.copy()
    y_three[:3] = 7
    AMLMetricCV(**PAPER, cv=3, **small).fit(X, y_three)
    with pytest.raises(ValueError, match="training part of fold"):
        AMLMetricCV(**PAPER, cv=2, **small).fit(X, y_three)
    # Unstratified folds that leave a class out of a training part.
    order = np.argsort(y, kind="stable")
    with pytest.raises(ValueError, match="cv: the training part"):
        AMLMetricCV(**PAPER, cv=KFold(3), **small).fit(X[order], y[order])
    with pytest.raises(ValueError, match="n_neighbors"):
        AMLMetricCV(**PAPER, n_neighbors=500, **small).fit(X, y)
    with pytest.raises(ValueError, match="2 classes"):
        AMLMetricCV(**PAPER, **small).fit(X, np.zeros_like(y))
    X_bad = X.copy()
    X_bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        AMLMetricCV(**PAPER, **small).fit(X_bad, y)
    with pytest.raises(NotImplementedError, match="fit\\(X, y\\)"):
        AMLMetricCV(**PAPER).fit_pairs(np.stack([X[:4], X[4:8]], axis=1), np.array([1, 1, -1, -1]))


@sklearn_checks(
    [
        AMLMetricCV(**PAPER, alphas=(0.1, 10.0), betas=(1.0,), n_pairs=300),
        AMLMetricCV(**PAPER, alphas=(1.0,), betas=(0.5, 2.0), solver="riemannian", warm_path=False, n_pairs=300),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
