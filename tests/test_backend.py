"""Backend plumbing: namespaces, validation, and the Cholesky helpers."""

import numpy as np
import pytest

from spectral_ml import _backend as B


def test_as_float_array_validation(xp):
    x = xp.asarray(np.arange(6).reshape(2, 3))
    out = B.as_float_array(x, "X", ndim=2)
    assert out.dtype == xp.float64
    x32 = xp.asarray(np.ones((2, 2), dtype=np.float32))
    assert B.as_float_array(x32).dtype == xp.float32
    with pytest.raises(ValueError, match="X must be a 2-D"):
        B.as_float_array(xp.asarray(np.ones(3)), "X", ndim=2)
    with pytest.raises(ValueError, match="Z contains NaN"):
        B.as_float_array(xp.asarray(np.array([1.0, np.nan])), "Z")
    with pytest.raises(ValueError, match="inf"):
        B.as_float_array(xp.asarray(np.array([1.0, np.inf])))
    with pytest.raises(ValueError, match="square"):
        B.check_matrix(xp.asarray(np.ones((2, 3))), "M")


def test_round_trip_numpy(xp):
    a = np.random.default_rng(0).standard_normal((3, 4))
    x = B.from_numpy(a, xp)
    assert B.get_namespace(x) is B.get_namespace(xp.asarray(a))
    np.testing.assert_array_equal(B.to_numpy(x), a)


def test_cholesky_and_solve(xp, rng):
    G = rng.standard_normal((5, 5))
    S = G @ G.T + 5 * np.eye(5)
    C = B.cholesky(xp.asarray(S))
    assert C is not None
    rhs = rng.standard_normal((5, 2))
    X = B.to_numpy(B.cholesky_solve(C, xp.asarray(rhs)))
    np.testing.assert_allclose(S @ X, rhs, atol=1e-10)
    assert B.cholesky(xp.asarray(np.diag([1.0, -1.0]))) is None
    assert B.cholesky(xp.asarray(np.zeros((3, 3)))) is None


def test_mixed_namespaces_rejected():
    strict = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError):
        B.get_namespace(np.ones(2), strict.ones(2))
