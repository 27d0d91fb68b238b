"""Mahalanobis k-NN classification error."""

import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.neighbors import KNeighborsClassifier, NeighborhoodComponentsAnalysis
from sklearn.preprocessing import StandardScaler

from spectral_ml.evaluation.knn import knn_error, knn_predict, metric_transform
from spectral_ml.metric import AMLMetric


@pytest.fixture(scope="module")
def split():
    X, y = load_wine(return_X_y=True)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(y))
    tr, te = perm[:140], perm[140:]
    sc = StandardScaler().fit(X[tr])
    return sc.transform(X[tr]), y[tr], sc.transform(X[te]), y[te]


def _spd(rng, d):
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (Q * np.exp(rng.uniform(-1, 1, d))) @ Q.T


def test_euclidean_matches_sklearn(split):
    Xtr, ytr, Xte, yte = split
    ref = np.mean(KNeighborsClassifier(5).fit(Xtr, ytr).predict(Xte) != yte)
    assert knn_error(Xtr, ytr, Xte, yte) == pytest.approx(ref)
    assert knn_error(Xtr, ytr, Xte, yte, k=1) == pytest.approx(
        np.mean(KNeighborsClassifier(1).fit(Xtr, ytr).predict(Xte) != yte)
    )


def test_matrix_metric_equals_mahalanobis_distance(split, rng):
    Xtr, ytr, Xte, yte = split
    M = _spd(rng, Xtr.shape[1])
    VI = M  # scikit-learn's "mahalanobis" takes the inverse covariance, i.e. M
    ref = KNeighborsClassifier(5, metric="mahalanobis", metric_params={"VI": VI}, algorithm="brute")
    pred_ref = ref.fit(Xtr, ytr).predict(Xte)
    np.testing.assert_array_equal(knn_predict(Xtr, ytr, Xte, metric=M), pred_ref)
    # Distances after the transform are the Mahalanobis distances.
    Z = metric_transform(M, Xtr[:3])
    diff = Xtr[0] - Xtr[1]
    assert np.linalg.norm(Z[0] - Z[1]) == pytest.approx(np.sqrt(diff @ M @ diff))


def test_estimator_metric_equals_its_matrix(split):
    Xtr, ytr, Xte, yte = split
    est = AMLMetric(random_state=0).fit(Xtr, ytr)
    e_est = knn_error(Xtr, ytr, Xte, yte, metric=est)
    e_mat = knn_error(Xtr, ytr, Xte, yte, metric=est.get_mahalanobis_matrix())
    assert e_est == e_mat
    assert e_est <= knn_error(Xtr, ytr, Xte, yte)


def test_accepts_other_learners_with_transform(split):
    Xtr, ytr, Xte, yte = split
    nca = NeighborhoodComponentsAnalysis(n_components=3, random_state=0, max_iter=20).fit(Xtr, ytr)
    ref = np.mean(KNeighborsClassifier(5).fit(nca.transform(Xtr), ytr).predict(nca.transform(Xte)) != yte)
    assert knn_error(Xtr, ytr, Xte, yte, metric=nca) == pytest.approx(ref)


def test_metric_with_only_a_mahalanobis_matrix(split, rng):
    Xtr, ytr, Xte, yte = split
    M = _spd(rng, Xtr.shape[1])

    class OnlyMatrix:
        def get_mahalanobis_matrix(self):
            return M

    assert knn_error(Xtr, ytr, Xte, yte, metric=OnlyMatrix()) == knn_error(Xtr, ytr, Xte, yte, metric=M)


@pytest.mark.parametrize("k", [1, 3, 5, 10])
def test_brute_force_matches_sklearn(rng, k):
    X = rng.standard_normal((150, 4))
    y = np.array(["a", "b", "c"])[rng.integers(0, 3, 150)]
    Xte = rng.standard_normal((60, 4))
    M = _spd(rng, 4)
    np.testing.assert_array_equal(
        knn_predict(X, y, Xte, metric=M, k=k, method="brute"),
        knn_predict(X, y, Xte, metric=M, k=k, method="sklearn"),
    )


def test_brute_force_vote_ties_go_to_the_smallest_label():
    X = np.array([[0.0], [1.0], [-1.0], [3.0]])
    y = np.array([2, 1, 1, 2])
    # Two neighbours of each class among the 4 nearest: label 1 wins the tie.
    assert knn_predict(X, y, np.array([[0.5]]), k=4, method="brute")[0] == 1


def test_array_level_on_xp(xp, rng, split):
    Xtr, ytr, Xte, yte = split
    M = _spd(rng, Xtr.shape[1])
    ref = knn_error(Xtr, ytr, Xte, yte, metric=M, method="sklearn")
    got = knn_error(xp.asarray(Xtr), xp.asarray(ytr), xp.asarray(Xte), xp.asarray(yte), metric=xp.asarray(M))
    assert got == pytest.approx(ref)
    pred = knn_predict(xp.asarray(Xtr), xp.asarray(ytr), xp.asarray(Xte), metric=M)
    assert type(pred) is type(xp.asarray(ytr))


def test_estimator_fitted_on_another_namespace(split):
    xs = pytest.importorskip("array_api_strict")
    Xtr, ytr, Xte, yte = split
    est = AMLMetric(random_state=0).fit(Xtr, ytr)
    ref = knn_error(Xtr, ytr, Xte, yte, metric=est)
    assert knn_error(xs.asarray(Xtr), xs.asarray(ytr), xs.asarray(Xte), xs.asarray(yte), metric=est) == pytest.approx(
        ref
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 0}, "k must"),
        ({"k": 2.5}, "k must"),
        ({"k": 1000}, "exceeds"),
        ({"method": "kd"}, "method"),
        ({"metric": np.eye(3)}, "metric must be"),
        ({"metric": -np.eye(13)}, "semi-definite"),
    ],
)
def test_bad_arguments(split, kwargs, match):
    Xtr, ytr, Xte, yte = split
    with pytest.raises(ValueError, match=match):
        knn_error(Xtr, ytr, Xte, yte, **kwargs)


def test_bad_arrays(split):
    Xtr, ytr, Xte, yte = split
    with pytest.raises(ValueError, match="features"):
        knn_error(Xtr, ytr, Xte[:, :5], yte)
    with pytest.raises(ValueError, match="y_train"):
        knn_error(Xtr, ytr[:-1], Xte, yte)
    with pytest.raises(ValueError, match="y_test"):
        knn_error(Xtr, ytr, Xte, yte[:-1])
    bad = Xte.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X_test contains NaN"):
        knn_error(Xtr, ytr, bad, yte)


def test_error_count_and_search_algorithm(split, rng):
    Xtr, ytr, Xte, yte = split
    M = _spd(rng, Xtr.shape[1])
    rate = knn_error(Xtr, ytr, Xte, yte, metric=M)
    count = knn_error(Xtr, ytr, Xte, yte, metric=M, normalize=False)
    assert isinstance(count, int) and count == round(rate * len(yte))
    # Mahalanobis k-NN is Euclidean k-NN after x ↦ Fᵀx with F Fᵀ = M (the AML grid search scorer).
    w, U = np.linalg.eigh(M)
    F = U * np.sqrt(w)
    ref = KNeighborsClassifier(5, algorithm="brute").fit(Xtr @ F, ytr).predict(Xte @ F)
    assert knn_error(Xtr, ytr, Xte, yte, metric=M, algorithm="brute", normalize=False) == int(np.sum(ref != yte))
    with pytest.raises(ValueError, match="algorithm"):
        knn_error(Xtr, ytr, Xte, yte, algorithm="fast")
    with pytest.raises(ValueError, match="normalize"):
        knn_error(Xtr, ytr, Xte, yte, normalize="no")


def test_error_count_on_the_brute_force_path(xp, split):
    Xtr, ytr, Xte, yte = split
    count = knn_error(xp.asarray(Xtr), xp.asarray(ytr), xp.asarray(Xte), xp.asarray(yte), normalize=False)
    assert count == int(np.sum(KNeighborsClassifier(5).fit(Xtr, ytr).predict(Xte) != yte))
