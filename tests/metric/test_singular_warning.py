"""SingularStatisticsWarning: at most one per fit, naming the features that leave A and B singular."""

import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_wine
from sklearn.preprocessing import StandardScaler

from spectral_ml.metric import AMLMetric, AMLMetricCV, GMMLMetric, SingularStatisticsWarning, make_pairs

ESTIMATORS = [GMMLMetric(random_state=0), AMLMetric(random_state=0)]
REMEDY = "drop such features (e.g. sklearn.feature_selection.VarianceThreshold) or set a larger reg"


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _fit_recording(estimator, X, y):
    """Fit and return the SingularStatisticsWarnings it emitted (every one, no deduplication)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(X, y)
    return [w for w in caught if issubclass(w.category, SingularStatisticsWarning)]


def _constant_over_pairs(X, y, random_state):
    """Features with no nonzero difference over the pairs the estimators draw from (X, y)."""
    indices, _ = make_pairs(y, None, random_state=random_state)
    differences = X[indices[:, 0]] - X[indices[:, 1]]
    return np.flatnonzero(np.all(differences == 0, axis=0))


def _listed(labels):
    labels = [str(label) for label in labels]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=["gmml", "aml"])
def test_one_warning_names_the_constant_features_of_digits(digits, estimator):
    X, y = digits
    constant = _constant_over_pairs(X, y, random_state=0)
    assert constant.size >= 2  # digits has blank border pixels: the case the message is for
    caught = _fit_recording(estimator, X, y)
    assert len(caught) == 1
    message = str(caught[0].message)
    rank = X.shape[1] - constant.size
    assert message.startswith(
        "The similar and dissimilar pairs leave A and B singular "
        f"(rank {rank} and {rank} of {X.shape[1]}): features {_listed(constant)} are constant over the pairs."
    )
    assert "combination" not in message
    assert f"Only the regularizer (reg={estimator.reg}) makes them positive definite" in message
    assert message.endswith(REMEDY + ".")
    # Attributed to the caller of fit, not to the library's internals.
    assert caught[0].filename == __file__


def test_the_warning_names_features_by_their_column_names(digits):
    pd = pytest.importorskip("pandas")
    X, y = digits
    columns = [f"pixel_{i // 8}_{i % 8}" for i in range(X.shape[1])]
    constant = _constant_over_pairs(X, y, random_state=0)
    est = GMMLMetric(random_state=0)
    caught = _fit_recording(est, pd.DataFrame(X, columns=columns), y)
    assert len(caught) == 1
    assert list(est.feature_names_in_) == columns
    names = [repr(columns[i]) for i in constant]
    assert f"features {_listed(names)} are constant over the pairs" in str(caught[0].message)


def test_reg_zero_refuses_naming_the_constant_features(digits):
    X, y = digits
    constant = _constant_over_pairs(X, y, random_state=0)
    expected = f"features {_listed(constant)} are constant over the pairs"
    for estimator in (GMMLMetric(reg=0.0, random_state=0), AMLMetric(reg=0.0, random_state=0)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", SingularStatisticsWarning)
            with pytest.raises(ValueError, match=re.escape(expected) + r".*set reg > 0"):
                estimator.fit(X, y)


@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_a_collinear_feature_is_reported_as_a_combination(wine, scale):
    X, y = wine
    # Not constant, but a combination of features 3 and 7; whatever its units, all three
    # features carry the relation.
    X = np.c_[X, scale * (X[:, 3] - 2.0 * X[:, 7])]
    assert np.ptp(X[:, -1]) > 0
    for estimator in (GMMLMetric(random_state=0), AMLMetric(random_state=0)):
        caught = _fit_recording(estimator, X, y)
        assert len(caught) == 1
        message = str(caught[0].message)
        assert message.startswith(
            "The similar and dissimilar pairs leave A and B singular (rank 13 and 13 of 14): "
            "null directions: 1 combination of features 3, 7 and 13."
        )
        assert "constant" not in message


def test_a_feature_constant_within_classes_leaves_only_A_singular(wine):
    X, y = wine
    X = np.c_[X, y.astype(float)]  # varies between classes, never within one
    caught = _fit_recording(GMMLMetric(random_state=0), X, y)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith(
        "The similar pairs leave A singular (rank 13 of 14): feature 13 is constant over the similar pairs."
    )
    assert "makes it positive definite" in message


def test_long_lists_are_cut_short(rng):
    # Fewer pairs than features: every feature is in the null directions, A's and B's differ.
    X = rng.standard_normal((10, 25))
    y = np.arange(10) % 2
    caught = _fit_recording(GMMLMetric(n_pairs=8, random_state=0), X, y)
    assert len(caught) == 1
    message = str(caught[0].message)
    first_ten = "features 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 15 more"
    pattern = rf"null directions in A: \d+ combinations of {first_ten}; in B: \d+ combinations of {first_ten}\."
    assert re.search(pattern, message)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=["gmml", "aml"])
def test_no_warning_on_full_rank_data(wine, estimator):
    X, y = wine
    with warnings.catch_warnings():
        warnings.simplefilter("error", SingularStatisticsWarning)
        estimator.fit(X, y)


def test_aml_cv_warns_at_most_once_per_fit(digits):
    X, y = digits
    # Every fold's statistics and the refit's are singular; only the refit speaks.
    caught = _fit_recording(AMLMetricCV(alphas=(0.1, 1.0), betas=(1.0,), cv=3, random_state=0), X, y)
    assert len(caught) == 1 and "constant over the pairs" in str(caught[0].message)
    assert caught[0].filename == __file__


def _backend_array(name, X):
    if name == "array_api_strict":
        xs = pytest.importorskip("array_api_strict")
        return xs.asarray(X)
    torch = pytest.importorskip("torch")
    return torch.asarray(X)


@pytest.mark.parametrize("backend", ["array_api_strict", "torch"])
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=["gmml", "aml"])
def test_one_warning_with_the_same_text_on_other_backends(digits, backend, estimator):
    X, y = digits
    expected = _fit_recording(estimator, X, y)
    caught = _fit_recording(estimator, _backend_array(backend, X), y)
    assert len(caught) == len(expected) == 1
    assert str(caught[0].message) == str(expected[0].message)
