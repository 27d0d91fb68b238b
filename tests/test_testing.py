"""The Taylor test itself: it must tell right gradients from wrong ones."""

import numpy as np
import pytest

from spectral_ml.testing import taylor_test


def test_correct_gradient_order_two(xp):
    A = xp.asarray(np.array([[3.0, 1.0], [1.0, 2.0]]))
    x = xp.asarray(np.array([0.5, -1.0]))
    res = taylor_test(lambda v: xp.sum(xp.exp(v)) + xp.sum(v * (A @ v)), lambda v: xp.exp(v) + 2 * (A @ v), x)
    assert abs(res.order - 2) < 0.1


def test_wrong_gradient_order_one(xp):
    x = xp.asarray(np.array([0.5, -1.0, 2.0]))
    res = taylor_test(lambda v: xp.sum(xp.sin(v)), lambda v: xp.cos(v) * 1.01, x)
    assert abs(res.order - 1) < 0.1


def test_linear_function_has_no_usable_steps():
    res = taylor_test(lambda v: float(v.sum()), lambda v: np.ones_like(v), np.ones(4))
    assert np.isnan(res.order)
    assert "observed order" in str(res)


def test_shape_errors():
    with pytest.raises(ValueError, match="grad"):
        taylor_test(lambda v: float(v.sum()), np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="direction"):
        taylor_test(lambda v: float(v.sum()), np.ones(4), np.ones(4), direction=np.ones(2))


@pytest.mark.parametrize("steps", [[1e-2], [1e-2, 0.0], [1e-2, -1e-3], [1e-3, 1e-2], [1e-2, np.nan], [[1e-2, 1e-3]]])
def test_degenerate_steps_are_rejected(steps):
    with pytest.raises(ValueError, match="steps must"):
        taylor_test(lambda v: float(v @ v), lambda v: 2 * v, np.ones(3), steps=steps)
