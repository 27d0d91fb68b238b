"""scikit-learn's output API: set_output governs transform and fit_transform alike."""

import numpy as np
import pytest
from sklearn import config_context
from sklearn.datasets import load_wine
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_global_output_transform_pandas,
    check_set_output_transform_pandas,
)

from spectral_ml.metric import AMLMetric, AMLMetricCV, GMMLMetric

pd = pytest.importorskip("pandas")

# scikit-learn's two checks fit on arrays and transform frames (and the reverse); the
# feature-name warnings this gives come from the checks, and scikit-learn's own
# transformers give them too.
_CHECK_WARNINGS = [
    pytest.mark.filterwarnings("ignore:X does not have valid feature names"),
    pytest.mark.filterwarnings("ignore:X has feature names"),
]

ESTIMATORS = [
    lambda: GMMLMetric(n_pairs=200, random_state=0),
    lambda: AMLMetric(n_pairs=200, random_state=0),
    lambda: AMLMetricCV(alphas=(0.1, 1.0), betas=(0.8,), n_pairs=200, random_state=0),
]


def _ids(make):
    return type(make()).__name__


@pytest.mark.parametrize("make", ESTIMATORS, ids=_ids)
@_CHECK_WARNINGS[0]
@_CHECK_WARNINGS[1]
def test_sklearn_set_output_check(make):
    check_set_output_transform_pandas(type(make()).__name__, make())


@pytest.mark.parametrize("make", ESTIMATORS, ids=_ids)
@_CHECK_WARNINGS[0]
@_CHECK_WARNINGS[1]
def test_sklearn_global_output_check(make):
    check_global_output_transform_pandas(type(make()).__name__, make())


@pytest.fixture(scope="module")
def wine_frame():
    data = load_wine(as_frame=True)
    return data.data, data.target


@pytest.mark.parametrize("make", ESTIMATORS, ids=_ids)
def test_transform_and_fit_transform_return_the_same_frame(wine_frame, make):
    X, y = wine_frame
    estimator = make()
    est = make_pipeline(StandardScaler(), estimator).set_output(transform="pandas")
    Z_fit = est.fit_transform(X, y)
    Z = est.transform(X)
    prefix = type(estimator).__name__.lower()
    for out in (Z_fit, Z):
        assert isinstance(out, pd.DataFrame)
        assert list(out.columns) == [f"{prefix}{i}" for i in range(X.shape[1])]
        assert out.index.equals(X.index)
    np.testing.assert_allclose(Z.to_numpy(), Z_fit.to_numpy(), rtol=1e-12, atol=1e-12)
    # The default output stays an ndarray, equal to the frame's values.
    plain = make_pipeline(StandardScaler(), make()).fit(X.to_numpy(), y.to_numpy())
    Z_plain = plain.transform(X.to_numpy())
    assert type(Z_plain) is np.ndarray
    np.testing.assert_allclose(Z_plain, Z.to_numpy(), rtol=1e-12, atol=1e-12)


def test_global_pandas_output_applies_to_a_bare_estimator(wine_frame):
    X, y = wine_frame
    with config_context(transform_output="pandas"):
        est = GMMLMetric(random_state=0).fit(X, y)
        out = est.transform(X)
    assert isinstance(out, pd.DataFrame)
    assert isinstance(est.transform(X), np.ndarray)
