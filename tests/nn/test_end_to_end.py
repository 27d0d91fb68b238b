"""Whole network + loss: Taylor tests wrt the flattened parameters, parameter vectors."""

import numpy as np
import pytest

from spectral_ml.nn import (
    MLP,
    WassersteinCritic,
    contrastive_loss,
    generator_loss,
    gradients_to_vector,
    parameters_to_vector,
    vector_to_parameters,
)
from spectral_ml.testing import taylor_test

from ._helpers import np_of, to_xp


def _problem(xp, n=16, d_in=5, seed=0):
    rng = np.random.default_rng(seed)
    X = to_xp(xp, rng.standard_normal((n, d_in)))
    y = rng.integers(0, 3, size=n)
    return X, y


def _loss_and_grad(net, X, y, theta, critic=None, lam=0.0):
    params = net.parameters()
    vector_to_parameters(theta, params)
    net.zero_grad()
    F = net.forward(X)
    value, dF = contrastive_loss(F, y, margin=0.8, alpha=5.0)
    if critic is not None:
        g_value, g_dF = generator_loss(critic, F)
        value += lam * g_value
        dF = dF + lam * g_dF
    net.backward(dF, input_grad=False)
    return value, gradients_to_vector(params)


@pytest.mark.parametrize(
    "activation, batch_norm, final",
    [("relu", False, None), ("tanh", True, None), ("leaky_relu", True, "tanh"), ("sigmoid", False, None)],
)
def test_mlp_plus_contrastive_taylor_wrt_parameters(xp, activation, batch_norm, final):
    X, y = _problem(xp)
    net = MLP([5, 8, 6, 3], activation=activation, batch_norm=batch_norm, final_activation=final, random_state=1, xp=xp)
    theta0 = parameters_to_vector(net)
    # Features on the scale of the margin, so both hinge regimes occur.
    F = np_of(net.forward(X))
    D = ((F[:, None] - F[None]) ** 2).sum(-1)
    diff = y[:, None] != y[None, :]
    assert (diff & (D < 0.8)).any()

    def f(theta):
        return _loss_and_grad(net, X, y, theta)[0]

    def g(theta):
        return _loss_and_grad(net, X, y, theta)[1]

    for seed in (0, 1):
        res = taylor_test(f, g, theta0, seed=seed, steps=0.01 * 2.0 ** -np.arange(10))
        assert abs(res.order - 2) < 0.2, str(res)


def test_mlp_plus_contrastive_and_generator_loss_taylor():
    X, y = _problem(np, seed=2)
    net = MLP([5, 8, 3], activation="tanh", batch_norm=True, random_state=3)
    critic = WassersteinCritic(3, hidden=(8,), activation="tanh", clip_value=None, random_state=4)
    theta0 = parameters_to_vector(net)
    res = taylor_test(
        lambda t: _loss_and_grad(net, X, y, t, critic, lam=10.0)[0],
        lambda t: _loss_and_grad(net, X, y, t, critic, lam=10.0)[1],
        theta0,
        steps=0.01 * 2.0 ** -np.arange(10),
    )
    assert abs(res.order - 2) < 0.2, str(res)
    # Negative control: dropping the generator term's gradient breaks the order.
    res = taylor_test(
        lambda t: _loss_and_grad(net, X, y, t, critic, lam=10.0)[0],
        lambda t: _loss_and_grad(net, X, y, t, critic, lam=0.0)[1],
        theta0,
        steps=0.01 * 2.0 ** -np.arange(10),
    )
    assert abs(res.order - 1) < 0.2, str(res)


def test_parameter_vector_round_trip(xp):
    net = MLP([4, 3, 2], batch_norm=True, random_state=0, xp=xp, dtype="float32")
    vec = parameters_to_vector(net)
    assert vec.shape == (net.num_parameters(),) and vec.dtype == xp.float32
    new = to_xp(xp, np.arange(net.num_parameters(), dtype=np.float64))
    vector_to_parameters(new, net)
    assert all(p.data.dtype == xp.float32 for p in net.parameters())
    np.testing.assert_array_equal(np_of(parameters_to_vector(net)), np.arange(net.num_parameters()))
    # The parameters own their values: changing them does not write into the vector.
    first = net.parameters()[0]
    first.data[...] = -1.0
    assert float(np_of(new)[0]) == 0.0
    grads = gradients_to_vector(net)
    assert np.all(np_of(grads) == 0)


def test_parameter_vector_invalid_input():
    net = MLP([3, 2], random_state=0)
    with pytest.raises(ValueError, match="vec"):
        vector_to_parameters(np.zeros(3), net)
    with pytest.raises(ValueError, match="vec"):
        vector_to_parameters(np.zeros((8, 1)), net)
    with pytest.raises(ValueError, match="params"):
        parameters_to_vector([])
    with pytest.raises(ValueError, match="params"):
        parameters_to_vector([np.zeros(2)])
