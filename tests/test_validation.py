"""The shared validators: values come back in computing form, bad ones raise naming the argument."""

import math

import numpy as np
import pytest

from spectral_ml import _validation as V
from spectral_ml._backend import get_namespace, to_numpy


def test_check_real_accepts_numbers_and_0d_arrays(xp):
    assert V.check_real(1, "a") == 1.0 and isinstance(V.check_real(1, "a"), float)
    assert V.check_real(np.float32(0.5), "a") == 0.5
    assert V.check_real(xp.asarray(2.5), "a") == 2.5
    assert V.check_real(0.0, "a", low=0.0) == 0.0


@pytest.mark.parametrize(
    "value, kwargs, match",
    [
        (True, {}, "flag must be a real number"),
        ("1.0", {}, "flag must be a real number"),
        (None, {}, "flag must be a real number"),
        (np.ones(2), {}, "flag must be a real number"),
        (math.nan, {}, "flag must be finite"),
        (math.inf, {}, "flag must be finite"),
        (0.0, {"low": 0.0, "low_open": True}, "flag must be finite and > 0.0"),
        (2.0, {"high": 1.0}, "<= 1.0"),
        (1.0, {"high": 1.0, "high_open": True}, "< 1.0"),
    ],
)
def test_check_real_rejects(value, kwargs, match):
    with pytest.raises(ValueError, match=match):
        V.check_real(value, "flag", **kwargs)


def test_check_positive():
    assert V.check_positive(1e-300, "sigma") == 1e-300
    assert V.check_positive(1.0, "theta", upper=1.0) == 1.0
    for bad in (0.0, -1.0, math.nan, math.inf, False):
        with pytest.raises(ValueError, match="sigma must be"):
            V.check_positive(bad, "sigma")
    with pytest.raises(ValueError, match=r"theta must lie in \(0, 1\]"):
        V.check_positive(1.5, "theta", upper=1.0)


def test_check_int():
    assert V.check_int(np.int64(3), "k", low=1) == 3
    with pytest.raises(ValueError, match="k must be a positive int"):
        V.check_int(2.0, "k", low=1)
    with pytest.raises(ValueError, match="k must be a positive int"):
        V.check_int(True, "k", low=1)
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        V.check_int(0, "k", low=1)
    with pytest.raises(ValueError, match="n must be <= 4"):
        V.check_int(5, "n", high=4)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        V.check_int("3", "seed", low=0)


def test_check_choice_and_grid():
    assert V.check_choice("exact", "method", ("auto", "exact")) == "exact"
    with pytest.raises(ValueError, match="method must be one of 'auto', 'exact'"):
        V.check_choice("fast", "method", ("auto", "exact"))
    np.testing.assert_array_equal(V.check_grid([10, 0.1, 10], "alphas", positive=False), [0.1, 10.0])
    np.testing.assert_array_equal(V.check_grid(0.0, "alphas", positive=False), [0.0])
    for bad, match in (([], "empty"), ([0.0], "positive"), ([[1.0]], "1-D"), (["x"], "numbers"), ([np.nan], "NaN")):
        with pytest.raises(ValueError, match=f"betas.*{match}|{match}"):
            V.check_grid(bad, "betas", positive=True)


def test_check_generator_reproducible():
    a = V.check_generator(3).standard_normal(3)
    np.testing.assert_array_equal(a, np.random.default_rng(3).standard_normal(3))
    g = np.random.default_rng(0)
    assert V.check_generator(g) is g
    r1 = V.check_generator(np.random.RandomState(5)).standard_normal(2)
    r2 = V.check_generator(np.random.RandomState(5)).standard_normal(2)
    np.testing.assert_array_equal(r1, r2)
    for bad in (True, -1, "seed"):
        with pytest.raises(ValueError, match="random_state must be"):
            V.check_generator(bad)


def test_check_samples(xp):
    X = V.check_samples(xp.asarray(np.ones((3, 2), dtype=np.int64)), min_samples=2)
    assert X.dtype == xp.float64
    with pytest.raises(ValueError, match="X must have at least 2 rows"):
        V.check_samples(xp.asarray(np.ones((1, 2))), min_samples=2)
    with pytest.raises(ValueError, match="F must have at least 1 column"):
        V.check_samples(xp.asarray(np.ones((3, 0))), "F")
    with pytest.raises(ValueError, match="X contains NaN"):
        V.check_samples(xp.asarray(np.array([[np.nan]])))


def test_check_labels(xp):
    y = V.check_labels(xp.asarray(np.array([1, 0, 1])), n_samples=3)
    assert isinstance(y, np.ndarray) and y.tolist() == [1, 0, 1]
    assert V.check_labels(["a", "b"]).tolist() == ["a", "b"]
    with pytest.raises(ValueError, match="y must be a 1-D array"):
        V.check_labels(np.ones((2, 2)))
    with pytest.raises(ValueError, match="y has 2 labels but F has 3 rows"):
        V.check_labels([0, 1], n_samples=3, rows_of="F")
    with pytest.raises(ValueError, match="y contains NaN"):
        V.check_labels([0.0, np.nan])


def test_as_float_array_validation(xp):
    x = xp.asarray(np.arange(6).reshape(2, 3))
    out = V.as_float_array(x, "X", ndim=2)
    assert out.dtype == xp.float64
    x32 = xp.asarray(np.ones((2, 2), dtype=np.float32))
    assert V.as_float_array(x32).dtype == xp.float32
    with pytest.raises(ValueError, match="X must be a 2-D"):
        V.as_float_array(xp.asarray(np.ones(3)), "X", ndim=2)
    with pytest.raises(ValueError, match="Z contains NaN"):
        V.as_float_array(xp.asarray(np.array([1.0, np.nan])), "Z")
    with pytest.raises(ValueError, match="inf"):
        V.as_float_array(xp.asarray(np.array([1.0, np.inf])))
    # finite=False leaves the values to the caller.
    assert V.as_float_array(xp.asarray(np.array([np.nan])), finite=False).shape == (1,)
    with pytest.raises(ValueError, match="square"):
        V.check_matrix(xp.asarray(np.ones((2, 3))), "M")
    with pytest.raises(ValueError, match="^L contains NaN or infinity"):
        V.check_finite(xp.asarray(np.array([[0.0, np.inf]])), "L")


def test_encode_labels_on_the_target_namespace(xp):
    y = np.array(["b", "a", "c", "a"])
    classes, codes = V.encode_labels(y)
    assert classes.tolist() == ["a", "b", "c"]
    assert codes.dtype == np.int64 and codes.tolist() == [1, 0, 2, 0]
    ns = get_namespace(xp.asarray(np.ones(1)))
    _, dev_codes = V.encode_labels(xp.asarray(np.array([5, 3, 5])), xp=ns)
    assert get_namespace(dev_codes) is ns
    assert to_numpy(dev_codes).tolist() == [1, 0, 1]
