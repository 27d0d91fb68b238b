"""AMLMetric: solvers, optimality, the GMML limit, the Mahalanobis API, bad input."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from spectral_ml.metric import (
    AMLMetric,
    GMMLMetric,
    SingularStatisticsWarning,
    adversarial_pairs,
    aml_gradient,
    aml_objective,
    gmml_pair_loss,
    make_pairs,
    pair_statistics,
)


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _blobs(rng, n=120, d=5, n_classes=3):
    """Classes separated along two directions, with correlated nuisance features."""
    y = np.arange(n) % n_classes
    X = rng.standard_normal((n, d))
    X[:, 0] += 2.0 * y
    X[:, 1] -= 1.5 * (y == 1)
    X[:, 2:] += 0.5 * X[:, :1]
    return X, y


def _stats_of(est, X, y):
    idx, lab = make_pairs(y, est.n_pairs, random_state=est.random_state)
    return pair_statistics(X, lab, idx)


def _relative_riemannian_grad(M, G, D):
    w, U = np.linalg.eigh(M)
    half = (U * np.sqrt(w)) @ U.T
    return np.linalg.norm(half @ G @ half) / D


@pytest.mark.parametrize("solver", ["lbfgs", "pgd", "riemannian"])
def test_alpha_zero_equals_gmml_closed_form(wine, solver):
    X, y = wine
    aml = AMLMetric(alpha=0.0, solver=solver, random_state=0).fit(X, y)
    gmml = GMMLMetric(random_state=0).fit(X, y)
    M, Mg = aml.get_mahalanobis_matrix(), gmml.get_mahalanobis_matrix()
    assert np.linalg.norm(M - Mg) <= 1e-6 * np.linalg.norm(Mg)
    assert aml.n_iter_ == 0


@pytest.mark.parametrize("solver", ["lbfgs", "pgd", "riemannian"])
@pytest.mark.parametrize("alpha, beta", [(1.0, 0.8), (0.1, 3.0), (5.0, 0.3)])
def test_first_order_optimality_at_the_solution(rng, solver, alpha, beta):
    X, y = _blobs(rng)
    tol = 1e-7
    est = AMLMetric(alpha=alpha, beta=beta, solver=solver, tol=tol, random_state=0, max_iter=3000).fit(X, y)
    A, B = _stats_of(est, X, y)
    M = est.get_mahalanobis_matrix()
    kw = dict(alpha=alpha, beta=beta, reg=est.regularization_)
    D = aml_objective(M, A, B, **kw)
    g = _relative_riemannian_grad(M, aml_gradient(M, A, B, **kw), D)
    assert g <= tol * 1.01, (g, est.n_iter_)
    assert g == pytest.approx(est.grad_norm_, rel=1e-3, abs=1e-12)
    assert est.loss_curve_[-1] == pytest.approx(D, rel=1e-12)
    # The adversarial term moved the solution away from the GMML start.
    assert est.n_iter_ > 0 and est.loss_curve_[-1] < est.loss_curve_[0]
    assert len(est.loss_curve_) == est.n_iter_ + 1


@pytest.mark.parametrize("alpha, beta", [(1.0, 0.8), (3.0, 2.0)])
def test_solvers_agree_on_the_minimum(wine, alpha, beta):
    X, y = wine
    kw = dict(alpha=alpha, beta=beta, random_state=0, tol=1e-8, max_iter=5000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fits = {s: AMLMetric(solver=s, **kw).fit(X, y) for s in ("lbfgs", "pgd", "riemannian")}
    ref = fits["lbfgs"]
    for est in fits.values():
        # At a relative stationarity of 1e-8, D is within about tol² / μ of the minimum.
        assert est.loss_curve_[-1] == pytest.approx(ref.loss_curve_[-1], rel=1e-10)
        M, Mr = est.get_mahalanobis_matrix(), ref.get_mahalanobis_matrix()
        assert np.linalg.norm(M - Mr) <= 1e-4 * np.linalg.norm(Mr)


def test_objective_matches_an_independent_evaluation_of_eq7_and_eq9(rng):
    """D at the fitted M equals L_g(M, X) + α L_g(M, Π*(M)) computed pair by pair."""
    X, y = _blobs(rng, n=60, d=4)
    idx, lab = make_pairs(y, 500, random_state=1)
    pairs = X[idx]
    est = AMLMetric(alpha=2.0, beta=0.5, reg=0.0).fit_pairs(pairs, lab)
    M = est.get_mahalanobis_matrix()
    direct = gmml_pair_loss(M, pairs, lab) + 2.0 * gmml_pair_loss(M, adversarial_pairs(M, pairs, lab, 0.5), lab)
    assert est.loss_curve_[-1] == pytest.approx(direct, rel=1e-11)
    # No nearby SPD matrix does better: the solution is a local minimum of Eq. 11.
    for k in range(10):
        E = np.random.default_rng(k).standard_normal(M.shape)
        Mk = M + 1e-3 * np.linalg.norm(M) * (E + E.T) / np.linalg.norm(E + E.T)
        other = gmml_pair_loss(Mk, pairs, lab) + 2.0 * gmml_pair_loss(Mk, adversarial_pairs(Mk, pairs, lab, 0.5), lab)
        assert other >= direct * (1 - 1e-12)


def test_fit_pairs_equals_fit_on_the_same_pairs(rng):
    X, y = _blobs(rng)
    est = AMLMetric(n_pairs=400, random_state=3).fit(X, y)
    idx, lab = make_pairs(y, 400, random_state=3)
    est_pairs = AMLMetric().fit_pairs(X[idx], lab)
    np.testing.assert_allclose(est_pairs.get_mahalanobis_matrix(), est.get_mahalanobis_matrix(), rtol=1e-8, atol=1e-10)
    assert est_pairs.n_features_in_ == X.shape[1] and est_pairs.n_pairs_ == 400


def test_fixed_step_reproduces_the_papers_iteration(rng):
    """step_size= gives plain M ← P(M − ρ∇D); small data where 0.001 is a sane step."""
    X, y = _blobs(rng, n=30, d=3)
    kw = dict(n_pairs=60, random_state=0, tol=1e-6, max_iter=20000, solver="pgd")
    fixed = AMLMetric(step_size=1e-3, **kw).fit(X, y)
    adaptive = AMLMetric(**kw).fit(X, y)
    assert fixed.loss_curve_[-1] == pytest.approx(adaptive.loss_curve_[-1], rel=1e-9)
    assert fixed.n_iter_ > adaptive.n_iter_
    # Each step of the fixed-step run decreases D (the step is below 2/L here).
    assert np.all(np.diff(fixed.loss_curve_) <= 1e-12 * fixed.loss_curve_[0])


@pytest.mark.parametrize("solver", ["lbfgs", "pgd", "riemannian"])
def test_convergence_warning_at_max_iter(wine, solver):
    X, y = wine
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        est = AMLMetric(solver=solver, max_iter=2, random_state=0).fit(X, y)
    assert est.n_iter_ == 2


@pytest.mark.parametrize("solver", ["lbfgs", "pgd", "riemannian"])
def test_verbose_prints_progress(wine, capsys, solver):
    X, y = wine
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        AMLMetric(solver=solver, verbose=True, random_state=0, max_iter=5).fit(X, y)
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) >= 5
    AMLMetric(solver=solver, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


def test_learned_metric_is_invariant_to_the_scale_of_the_data(wine):
    """Nothing is standardized implicitly, and the optimum does not depend on units."""
    X, y = wine
    a = AMLMetric(random_state=0, tol=1e-9).fit(X, y)
    b = AMLMetric(random_state=0, tol=1e-9).fit(100.0 * X, y)
    np.testing.assert_allclose(b.get_mahalanobis_matrix(), a.get_mahalanobis_matrix(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.transform(100.0 * X), 100.0 * a.transform(X), rtol=1e-5, atol=1e-4)


def test_mahalanobis_api(wine):
    X, y = wine
    est = AMLMetric(random_state=0).fit(X, y)
    L, M = est.components_, est.get_mahalanobis_matrix()
    np.testing.assert_allclose(L.T @ L, M, rtol=1e-10, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(M) > 0)
    Z = est.transform(X)
    np.testing.assert_allclose(Z, X @ L.T)
    pairs = np.stack([X[:20], X[20:40]], axis=1)
    dist = est.pair_distance(pairs)
    diff = pairs[:, 0] - pairs[:, 1]
    np.testing.assert_allclose(dist, np.sqrt(np.einsum("ij,jk,ik->i", diff, M, diff)), rtol=1e-10)
    np.testing.assert_allclose(dist, np.linalg.norm(Z[:20] - Z[20:40], axis=1), rtol=1e-10)
    np.testing.assert_array_equal(est.pair_score(pairs), -dist)
    metric = est.get_metric()
    assert metric(X[0], X[20]) == pytest.approx(dist[0], rel=1e-12)
    # get_mahalanobis_matrix returns a copy.
    M[0, 0] += 1.0
    assert est.get_mahalanobis_matrix()[0, 0] != M[0, 0]


def test_get_metric_in_kneighbors_classifier(wine):
    X, y = wine
    Xtr, ytr, Xte = X[::2], y[::2], X[1::2]
    est = AMLMetric(random_state=0).fit(Xtr, ytr)
    knn_metric = KNeighborsClassifier(n_neighbors=5, metric=est.get_metric()).fit(Xtr, ytr)
    knn_transform = KNeighborsClassifier(n_neighbors=5).fit(est.transform(Xtr), ytr)
    np.testing.assert_array_equal(knn_metric.predict(Xte), knn_transform.predict(est.transform(Xte)))


def test_pickle_round_trip_keeps_predictions(wine):
    X, y = wine
    pipe = make_pipeline(AMLMetric(random_state=0), KNeighborsClassifier(n_neighbors=5)).fit(X, y)
    clone = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(clone.predict(X), pipe.predict(X))
    np.testing.assert_array_equal(clone[0].transform(X), pipe[0].transform(X))
    metric = pickle.loads(pickle.dumps(pipe[0].get_metric()))
    assert metric(X[0], X[1]) == pipe[0].get_metric()(X[0], X[1])


def test_pipeline_and_grid_search(wine):
    X, y = wine
    pipe = make_pipeline(StandardScaler(), AMLMetric(n_pairs=2000, random_state=0), KNeighborsClassifier(5))
    grid = GridSearchCV(pipe, {"amlmetric__alpha": [0.1, 1.0], "amlmetric__beta": [0.8, 2.0]}, cv=3)
    grid.fit(X, y)
    assert grid.best_score_ > 0.9
    assert set(grid.best_params_) == {"amlmetric__alpha", "amlmetric__beta"}


def test_improves_knn_on_data_with_noisy_features(rng):
    """Large uninformative features swamp the Euclidean 5-NN; the learned metric does not."""
    n = 300
    y = rng.integers(0, 3, n)
    X = np.c_[2.0 * y[:, None] + 0.3 * rng.standard_normal((n, 2)), 3.0 * rng.standard_normal((n, 6))]
    Xtr, ytr, Xte, yte = X[:200], y[:200], X[200:], y[200:]
    est = AMLMetric(random_state=0).fit(Xtr, ytr)
    err = lambda Ztr, Zte: np.mean(KNeighborsClassifier(5).fit(Ztr, ytr).predict(Zte) != yte)
    e_euc, e_aml = err(Xtr, Xte), err(est.transform(Xtr), est.transform(Xte))
    assert e_aml < 0.5 * e_euc, (e_aml, e_euc)


@pytest.mark.parametrize("solver, reg", [("lbfgs", 1e-3), ("riemannian", 1e-3), ("pgd", 0.1)])
def test_more_features_than_pairs_works_through_the_regularizer(rng, solver, reg):
    X = rng.standard_normal((12, 30))
    y = np.arange(12) % 2
    with pytest.warns(SingularStatisticsWarning, match="singular"):
        est = AMLMetric(n_pairs=10, reg=reg, solver=solver, tol=1e-5, random_state=0).fit(X, y)
    M = est.get_mahalanobis_matrix()
    assert np.all(np.isfinite(M)) and np.all(np.linalg.eigvalsh(M) > 0)
    assert est.grad_norm_ <= 1e-5 and est.converged_
    with pytest.raises(ValueError, match="reg > 0"):
        AMLMetric(n_pairs=10, reg=0.0, random_state=0).fit(X, y)


def test_more_features_than_pairs_pgd_makes_progress_with_small_reg(rng):
    # Euclidean PGD crawls on this badly conditioned problem (the other solvers do not);
    # it still returns an SPD metric better than its GMML start and says so.
    X = rng.standard_normal((12, 30))
    y = np.arange(12) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularStatisticsWarning)
        with pytest.warns(ConvergenceWarning):
            est = AMLMetric(n_pairs=10, max_iter=50, solver="pgd", random_state=0).fit(X, y)
    assert np.all(np.linalg.eigvalsh(est.get_mahalanobis_matrix()) > 0)
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    assert not est.converged_ and est.grad_norm_ > est.tol
    # The quasi-Newton solver's coordinates absorb that conditioning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularStatisticsWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        fast = AMLMetric(n_pairs=10, max_iter=50, solver="lbfgs", random_state=0).fit(X, y)
    assert fast.grad_norm_ <= fast.tol and fast.loss_curve_[-1] < est.loss_curve_[-1]


def test_reg_zero_allowed_when_statistics_are_spd(wine):
    X, y = wine
    with warnings.catch_warnings():
        warnings.simplefilter("error", SingularStatisticsWarning)
        est = AMLMetric(reg=0.0, random_state=0).fit(X, y)
    assert est.regularization_ == 0.0


def test_relative_regularization_and_prior(wine):
    X, y = wine
    d = X.shape[1]
    est = AMLMetric(reg=0.1, random_state=0).fit(X, y)
    A, B = _stats_of(est, X, y)
    assert est.regularization_ == pytest.approx(0.1 * (np.trace(A) + np.trace(B)) / (2 * d))
    # A strong regularizer pulls M to (a multiple of) the prior's geometry.
    P = np.diag(np.linspace(0.5, 2.0, d))
    strong = AMLMetric(reg=1e6, prior=P, alpha=0.0, random_state=0).fit(X, y)
    np.testing.assert_allclose(strong.get_mahalanobis_matrix(), P, rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="prior"):
        AMLMetric(prior=np.eye(d + 1)).fit(X, y)
    with pytest.raises(ValueError, match="prior"):
        AMLMetric(prior=-np.eye(d)).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": -1.0}, "alpha"),
        ({"beta": 0.0}, "beta"),
        ({"beta": -0.5}, "beta"),
        ({"n_pairs": 0}, "n_pairs"),
        ({"n_pairs": -10}, "n_pairs"),
        ({"reg": -1e-3}, "reg"),
        ({"solver": "newton"}, "solver"),
        ({"tol": -1.0}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"step_size": 0.0}, "step_size"),
        ({"floor": 0.0}, "floor"),
    ],
)
def test_invalid_hyperparameters_raise_clear_errors(wine, params, match):
    X, y = wine
    with pytest.raises(ValueError, match=match):
        AMLMetric(**params).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_input_raises(wine, bad):
    X, y = wine
    X = X.copy()
    X[3, 2] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        AMLMetric().fit(X, y)
    pairs = np.stack([X[:10], X[10:20]], axis=1)
    with pytest.raises(ValueError, match="NaN|infinity"):
        AMLMetric().fit_pairs(pairs, np.r_[np.ones(5), -np.ones(5)])


def test_label_problems_raise_clear_errors(wine):
    X, y = wine
    with pytest.raises(ValueError, match="class"):
        AMLMetric().fit(X, np.zeros_like(y))
    y1 = y.copy()
    y1[0] = 99
    with pytest.raises(ValueError, match="only one sample"):
        AMLMetric().fit(X, y1)
    with pytest.raises(ValueError, match="Unknown label type"):
        AMLMetric().fit(X, X[:, 0])


def test_fit_pairs_rejects_bad_pairs(rng):
    pairs = rng.standard_normal((10, 2, 3))
    lab = np.r_[np.ones(5), -np.ones(5)]
    with pytest.raises(ValueError, match="shape"):
        AMLMetric().fit_pairs(rng.standard_normal((10, 3, 3)), lab)
    with pytest.raises(ValueError, match="3-D"):
        AMLMetric().fit_pairs(rng.standard_normal((10, 3)), lab)
    with pytest.raises(ValueError, match=r"\+1"):
        AMLMetric().fit_pairs(pairs, np.r_[np.ones(5), np.zeros(5)])
    with pytest.raises(ValueError, match="dissimilar"):
        AMLMetric().fit_pairs(pairs, np.ones(10))
    with pytest.raises(ValueError, match="one label per pair"):
        AMLMetric().fit_pairs(pairs, lab[:-1])
    est = AMLMetric().fit_pairs(pairs, lab)
    with pytest.raises(ValueError, match="features"):
        est.transform(rng.standard_normal((4, 5)))
    with pytest.raises(ValueError, match="features"):
        est.pair_distance(rng.standard_normal((4, 2, 5)))


def test_array_api_strict_fit_stays_in_namespace(wine):
    xs = pytest.importorskip("array_api_strict")
    X, y = wine
    Xs = xs.asarray(X)
    est = AMLMetric(random_state=0).fit(Xs, y)
    ref = AMLMetric(random_state=0).fit(X, y)
    assert isinstance(est.components_, type(Xs))
    np.testing.assert_allclose(
        np.asarray(est.get_mahalanobis_matrix()), ref.get_mahalanobis_matrix(), rtol=1e-9, atol=1e-12
    )
    Z = est.transform(Xs)
    assert isinstance(Z, type(Xs))
    np.testing.assert_allclose(np.asarray(Z), ref.transform(X), rtol=1e-9, atol=1e-12)
    pairs = xs.stack([Xs[:5, ...], Xs[5:10, ...]], axis=1)
    np.testing.assert_allclose(
        np.asarray(est.pair_distance(pairs)), ref.pair_distance(np.stack([X[:5], X[5:10]], axis=1)), rtol=1e-9
    )
    with pytest.warns(UserWarning, match="NumPy only"):
        rie = AMLMetric(solver="riemannian", random_state=0).fit(Xs, y)
    assert isinstance(rie.components_, type(Xs))


def test_riemannian_warns_about_a_host_copy_only_off_numpy(wine):
    X, y = wine
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*NumPy only")
        AMLMetric(solver="riemannian", random_state=0).fit(X, y)
