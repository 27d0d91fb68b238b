"""GMMLMetric: closed form, regularization toward a prior, singular statistics."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from spectral_ml.linalg import spd_power
from spectral_ml.metric import GMMLMetric, SingularStatisticsWarning, gmml_gradient, make_pairs, pair_statistics


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _stats(est, X, y):
    idx, lab = make_pairs(y, est.n_pairs, random_state=est.random_state)
    return pair_statistics(X, lab, idx)


def test_closed_form_solves_the_riccati_equation(wine):
    X, y = wine
    est = GMMLMetric(reg=0.0, random_state=0).fit(X, y)
    A, B = _stats(est, X, y)
    M = est.get_mahalanobis_matrix()
    np.testing.assert_allclose(M @ A @ M, B, rtol=1e-8, atol=1e-8 * np.linalg.norm(B))
    assert np.linalg.norm(gmml_gradient(M, A, B)) < 1e-9 * np.linalg.norm(A)


@pytest.mark.parametrize("t", [0.0, 0.3, 0.5, 0.9, 1.0])
def test_geodesic_parameter(wine, t):
    X, y = wine
    est = GMMLMetric(t=t, reg=1e-2, random_state=0).fit(X, y)
    A, B = _stats(est, X, y)
    lam = est.regularization_
    Ar, Br = A + lam * np.eye(len(A)), B + lam * np.eye(len(A))
    Ah, Aih = spd_power(Ar, 0.5), spd_power(Ar, -0.5)
    expected = Aih @ spd_power(Ah @ Br @ Ah, t) @ Aih
    np.testing.assert_allclose(est.get_mahalanobis_matrix(), expected, rtol=1e-7, atol=1e-9 * np.linalg.norm(expected))


def test_regularization_is_relative_to_the_pairs(wine):
    X, y = wine
    d = X.shape[1]
    est = GMMLMetric(reg=0.05, random_state=0).fit(X, y)
    A, B = _stats(est, X, y)
    assert est.regularization_ == pytest.approx(0.05 * (np.trace(A) + np.trace(B)) / (2 * d))
    # Doubling the number of pairs roughly doubles A and B; the relative reg follows.
    est2 = GMMLMetric(reg=0.05, n_pairs=2 * est.n_pairs_, random_state=0).fit(X, y)
    assert 1.7 < est2.regularization_ / est.regularization_ < 2.3


def test_prior_attracts_the_metric(wine):
    X, y = wine
    d = X.shape[1]
    P = np.diag(np.linspace(0.2, 5.0, d))
    far = GMMLMetric(reg=1e8, prior=P, random_state=0).fit(X, y).get_mahalanobis_matrix()
    np.testing.assert_allclose(far, P, rtol=1e-4, atol=1e-6)


def test_warns_when_only_the_regularizer_makes_the_statistics_spd(rng):
    X = rng.standard_normal((10, 25))
    y = np.arange(10) % 2
    with pytest.warns(SingularStatisticsWarning, match="only the regularizer|Only the regularizer"):
        est = GMMLMetric(n_pairs=8, random_state=0).fit(X, y)
    assert np.all(np.linalg.eigvalsh(est.get_mahalanobis_matrix()) > 0)
    with pytest.raises(ValueError, match="reg > 0"):
        GMMLMetric(n_pairs=8, reg=0, random_state=0).fit(X, y)


def test_constant_feature_is_handled_by_the_regularizer(wine):
    X, y = wine
    X = np.c_[X, np.ones(len(X))]
    with pytest.warns(SingularStatisticsWarning):
        est = GMMLMetric(random_state=0).fit(X, y)
    M = est.get_mahalanobis_matrix()
    # The constant direction is decoupled from the rest and set by the prior alone.
    assert M[-1, -1] == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(M[-1, :-1], 0.0, atol=1e-8)


def test_no_warning_for_well_posed_data(wine):
    X, y = wine
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GMMLMetric(random_state=0).fit(X, y)


def test_improves_knn_on_data_with_noisy_features(rng):
    n = 300
    y = rng.integers(0, 3, n)
    X = np.c_[2.0 * y[:, None] + 0.3 * rng.standard_normal((n, 2)), 3.0 * rng.standard_normal((n, 6))]
    Xtr, ytr, Xte, yte = X[:200], y[:200], X[200:], y[200:]
    est = GMMLMetric(random_state=0).fit(Xtr, ytr)
    err = lambda Ztr, Zte: np.mean(KNeighborsClassifier(5).fit(Ztr, ytr).predict(Zte) != yte)
    assert err(est.transform(Xtr), est.transform(Xte)) < 0.5 * err(Xtr, Xte)


@pytest.mark.parametrize(
    "params, match",
    [({"t": "half"}, "t"), ({"t": -0.1}, "t"), ({"n_pairs": 0}, "n_pairs"), ({"reg": -1.0}, "reg")],
)
def test_invalid_hyperparameters(wine, params, match):
    X, y = wine
    with pytest.raises(ValueError, match=match):
        GMMLMetric(**params).fit(X, y)


def test_fit_pairs_and_api(rng):
    pairs = rng.standard_normal((200, 2, 4))
    lab = np.where(np.arange(200) % 2 == 0, 1, -1)
    pairs[lab == 1, 1] = pairs[lab == 1, 0] + 0.1 * rng.standard_normal((100, 4))
    est = GMMLMetric().fit_pairs(pairs, lab)
    L = est.components_
    np.testing.assert_allclose(L.T @ L, est.get_mahalanobis_matrix(), rtol=1e-10, atol=1e-12)
    d = est.pair_distance(pairs)
    # Similar pairs end up much closer than dissimilar ones.
    assert np.median(d[lab == 1]) < 0.5 * np.median(d[lab == -1])
    assert est.get_feature_names_out().tolist() == [f"gmmlmetric{i}" for i in range(4)]
