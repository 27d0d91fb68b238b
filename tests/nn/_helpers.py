"""Taylor-test drivers for modules: gradients wrt the input and wrt each parameter.

The test objective is quadratic in the module output, f(Y) = Σ R∘Y + ½ Σ Y², so that even
a layer that is linear in its argument (a bias, an affine map) has a non-zero second-order
remainder and the observed order is well defined.
"""

import numpy as np

from spectral_ml._backend import to_numpy
from spectral_ml.testing import taylor_test


def objective(xp, Y, R):
    return float(xp.sum(R * Y) + 0.5 * xp.sum(Y * Y))


def input_taylor(module, X, R, xp, seed=0, perturb=0.0):
    """Taylor test of ``module.backward`` wrt the input at X."""

    def f(Xv):
        return objective(xp, module.forward(Xv), R)

    def g(Xv):
        Y = module.forward(Xv)
        G = module.backward(R + Y)
        if perturb:
            G = G + perturb
        return G

    return taylor_test(f, g, X, seed=seed)


def param_taylor(module, param, X, R, xp, seed=0, perturb=0.0):
    """Taylor test of the gradient accumulated in ``param.grad`` wrt ``param.data``."""
    saved = param.data

    def f(theta):
        param.data = theta
        return objective(xp, module.forward(X), R)

    def g(theta):
        param.data = theta
        module.zero_grad()
        Y = module.forward(X)
        module.backward(R + Y)
        G = param.grad
        if perturb:
            G = G + perturb
        return G

    try:
        return taylor_test(f, g, saved, seed=seed)
    finally:
        param.data = saved


def to_xp(xp, a):
    return xp.asarray(np.array(a, copy=True))


def np_of(a):
    return np.asarray(to_numpy(a))
