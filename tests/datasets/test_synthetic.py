"""The AML synthetic data set."""

import numpy as np
import pytest
from sklearn.svm import LinearSVC

from spectral_ml.datasets import make_aml_synthetic


def test_shapes_and_balance():
    data = make_aml_synthetic(random_state=0)
    assert data.X_train.shape == (200, 10) and data.X_test.shape == (200, 10)
    assert data.X_train.dtype == np.float64 and data.y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(data.y_train), [100, 100])
    np.testing.assert_array_equal(np.bincount(data.y_test), [100, 100])
    odd = make_aml_synthetic(n_train=7, n_test=5, n_features=3, random_state=0)
    assert odd.X_train.shape == (7, 3) and np.bincount(odd.y_train).tolist() == [3, 4]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_training_set_is_clean_and_test_set_overlaps(seed):
    data = make_aml_synthetic(random_state=seed)
    side = np.where(data.y_train == 1, 1.0, -1.0) * data.X_train[:, 0]
    assert side.min() >= 0.5
    assert LinearSVC(C=100.0).fit(data.X_train, data.y_train).score(data.X_train, data.y_train) == 1.0
    # Test points of both classes fall on the wrong side of the training gap.
    test_side = np.where(data.y_test == 1, 1.0, -1.0) * data.X_test[:, 0]
    assert (test_side < 0).sum() >= 2
    assert data.X_test.std() > 1.5 * data.X_train[:, 1:].std()


def test_reproducible_and_seed_dependent():
    a = make_aml_synthetic(random_state=5)
    b = make_aml_synthetic(random_state=np.random.default_rng(5))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, make_aml_synthetic(random_state=6).X_train)


def test_unshuffled_order_and_means():
    data = make_aml_synthetic(n_train=10, n_test=10, shuffle=False, separation=6.0, random_state=0)
    np.testing.assert_array_equal(data.y_train, [0] * 5 + [1] * 5)
    np.testing.assert_array_equal(data.means[:, 0], [-3.0, 3.0])
    assert np.all(data.means[:, 1:] == 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_train": 1}, "n_train"),
        ({"n_test": 2.5}, "n_test"),
        ({"n_features": 0}, "n_features"),
        ({"separation": 0.0}, "separation"),
        ({"train_std": -1.0}, "train_std"),
        ({"test_std": float("nan")}, "test_std"),
        ({"margin": 2.0}, "margin"),
        ({"margin": True}, "margin"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_aml_synthetic(**kwargs)
