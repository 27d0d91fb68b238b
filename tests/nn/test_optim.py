"""Optimizers: hand-computed first steps, convergence on small problems, schedules, validation."""

import math

import numpy as np
import pytest

from spectral_ml.nn import (
    MLP,
    OPTIMIZERS,
    SGD,
    Adam,
    BalancedBatchSampler,
    Linear,
    Parameter,
    RMSprop,
    StepLR,
    contrastive_loss,
    make_optimizer,
)

from ._helpers import np_of, to_xp


def _param(xp, values, grad):
    p = Parameter(to_xp(xp, values))
    p.grad = to_xp(xp, grad)
    return p


P0 = np.array([1.0, -2.0, 0.5])
G1 = np.array([0.3, -0.1, 2.0])
G2 = np.array([-0.5, 0.4, 1.0])


def _two_steps(opt_factory, xp):
    p = _param(xp, P0, G1)
    opt = opt_factory([p])
    opt.step()
    first = np_of(p.data).copy()
    p.grad = to_xp(xp, G2)
    opt.step()
    return first, np_of(p.data)


def test_sgd_plain_and_weight_decay(xp):
    first, second = _two_steps(lambda ps: SGD(ps, lr=0.1), xp)
    np.testing.assert_allclose(first, P0 - 0.1 * G1)
    np.testing.assert_allclose(second, P0 - 0.1 * G1 - 0.1 * G2)
    first, _ = _two_steps(lambda ps: SGD(ps, lr=0.1, weight_decay=0.5), xp)
    np.testing.assert_allclose(first, P0 - 0.1 * (G1 + 0.5 * P0))


def test_sgd_momentum_and_nesterov(xp):
    lr, mu = 0.1, 0.9
    first, second = _two_steps(lambda ps: SGD(ps, lr=lr, momentum=mu), xp)
    p1 = P0 - lr * G1  # the buffer starts at the first gradient
    b2 = mu * G1 + G2
    np.testing.assert_allclose(first, p1)
    np.testing.assert_allclose(second, p1 - lr * b2)
    first, second = _two_steps(lambda ps: SGD(ps, lr=lr, momentum=mu, nesterov=True), xp)
    p1 = P0 - lr * (G1 + mu * G1)
    np.testing.assert_allclose(first, p1)
    np.testing.assert_allclose(second, p1 - lr * (G2 + mu * b2))


def test_rmsprop_first_steps(xp):
    lr, a, eps = 0.01, 0.9, 1e-8
    first, second = _two_steps(lambda ps: RMSprop(ps, lr=lr, alpha=a, eps=eps), xp)
    v1 = (1 - a) * G1**2
    p1 = P0 - lr * G1 / (np.sqrt(v1) + eps)
    v2 = a * v1 + (1 - a) * G2**2
    np.testing.assert_allclose(first, p1, rtol=1e-14)
    np.testing.assert_allclose(second, p1 - lr * G2 / (np.sqrt(v2) + eps), rtol=1e-14)
    opt = RMSprop([Parameter(np.zeros(1))])
    assert opt.lr == 1e-4 and opt.alpha == 0.99 and opt.eps == 1e-8


def test_adam_first_steps(xp):
    lr, b1, b2, eps = 0.01, 0.8, 0.95, 1e-8
    first, second = _two_steps(lambda ps: Adam(ps, lr=lr, betas=(b1, b2), eps=eps), xp)
    m1, v1 = (1 - b1) * G1, (1 - b2) * G1**2
    p1 = P0 - lr * (m1 / (1 - b1)) / (np.sqrt(v1 / (1 - b2)) + eps)
    m2, v2 = b1 * m1 + (1 - b1) * G2, b2 * v1 + (1 - b2) * G2**2
    p2 = p1 - lr * (m2 / (1 - b1**2)) / (np.sqrt(v2 / (1 - b2**2)) + eps)
    np.testing.assert_allclose(first, p1, rtol=1e-12)
    np.testing.assert_allclose(second, p2, rtol=1e-12)
    # The first Adam step moves every coordinate by about lr, whatever the gradient's scale.
    np.testing.assert_allclose(np.abs(first - P0), lr, rtol=1e-6)


def test_updates_are_in_place_and_keep_dtype():
    data = np.ones(3, dtype=np.float32)
    p = Parameter(data)
    p.grad = np.full(3, 0.5, dtype=np.float32)
    for opt in (SGD([p], lr=0.1, momentum=0.5), RMSprop([p], lr=0.1), Adam([p], lr=0.1)):
        opt.step()
        opt.step()
    assert p.data is data  # anything holding the array sees the update
    assert p.data.dtype == np.float32 and np.all(p.data < 1)


def test_parameters_without_gradient_or_frozen_are_skipped():
    a = Parameter(np.ones(2))
    b = Parameter(np.ones(2), requires_grad=False)
    b.grad = np.ones(2)
    opt = Adam([a, b], lr=0.1)
    opt.step()
    np.testing.assert_array_equal(a.data, 1)
    np.testing.assert_array_equal(b.data, 1)
    a.grad = np.ones(2)
    opt.zero_grad()
    assert a.grad is None


def test_optimizer_accepts_module_and_zero_grad():
    net = Linear(3, 2, random_state=0)
    opt = SGD(net, lr=0.1)
    assert opt.params == net.parameters()
    net.forward(np.ones((2, 3)))
    net.backward(np.ones((2, 2)))
    opt.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def _quadratic_descent(opt_factory, steps):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 6))
    H = A @ A.T / 6 + 0.5 * np.eye(6)
    target = rng.standard_normal(6)
    p = Parameter(np.zeros(6))
    opt = opt_factory([p])

    def loss():
        r = p.data - target
        return 0.5 * r @ H @ r

    start = loss()
    for _ in range(steps):
        p.grad = H @ (p.data - target)
        opt.step()
    return start, loss()


@pytest.mark.parametrize(
    "factory",
    [
        lambda ps: SGD(ps, lr=0.2),
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
        lambda ps: RMSprop(ps, lr=0.01),
        lambda ps: Adam(ps, lr=0.05),
    ],
    ids=["sgd", "nesterov", "rmsprop", "adam"],
)
def test_optimizers_minimize_a_quadratic(factory):
    start, end = _quadratic_descent(factory, 300)
    assert end < 1e-2 * start


@pytest.mark.parametrize(
    "factory",
    [
        lambda ps: SGD(ps, lr=0.05, momentum=0.9),
        lambda ps: RMSprop(ps, lr=3e-3),
        lambda ps: Adam(ps, lr=1e-2),
    ],
    ids=["sgd", "rmsprop", "adam"],
)
def test_a_few_epochs_lower_the_contrastive_loss(factory):
    """Train a small MLP on three Gaussian blobs with balanced batches."""
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 8)) * 1.5
    y = np.repeat([0, 1, 2], [60, 40, 20])
    X = centers[y] + rng.standard_normal((y.size, 8))
    net = MLP([8, 16, 2], random_state=1)
    opt = factory(net)
    sampler = BalancedBatchSampler(y, batch_size=30, random_state=2)

    def full_loss():
        return contrastive_loss(net.forward(X), y, margin=1.0, alpha=1.0)[0]

    start = full_loss()
    for _ in range(15):
        for idx in sampler:
            opt.zero_grad()
            F = net.forward(X[idx])
            _, dF = contrastive_loss(F, y[idx], margin=1.0, alpha=1.0)
            net.backward(dF, input_grad=False)
            opt.step()
    assert full_loss() < 0.5 * start


def test_training_step_on_array_api_strict():
    strict = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(0)
    X = strict.asarray(rng.standard_normal((12, 4)))
    y = np.repeat([0, 1], 6)
    net = MLP([4, 6, 2], batch_norm=True, random_state=0, xp=strict)
    opt = Adam(net, lr=1e-2)
    values = []
    for _ in range(20):
        opt.zero_grad()
        value, dF = contrastive_loss(net.forward(X), y)
        values.append(value)
        net.backward(dF, input_grad=False)
        opt.step()
    assert values[-1] < values[0]
    assert all(isinstance(p.data, type(X)) for p in net.parameters())


def test_step_lr_schedule():
    opt = Adam([Parameter(np.zeros(1))], lr=0.01)
    sched = StepLR(opt, step_size=150, gamma=0.1)
    rates = []
    for _ in range(350):
        sched.step()
        rates.append(opt.lr)
    assert rates[148] == 0.01 and math.isclose(rates[149], 1e-3) and math.isclose(rates[299], 1e-4)
    assert sched.get_last_lr() == opt.lr


@pytest.mark.parametrize(
    "factory, match",
    [
        (lambda p: SGD(p, lr=0.0), "lr"),
        (lambda p: SGD(p, lr=float("nan")), "lr"),
        (lambda p: SGD(p, lr="0.1"), "lr"),
        (lambda p: SGD(p, lr=0.1, momentum=1.0), "momentum"),
        (lambda p: SGD(p, lr=0.1, momentum=-0.1), "momentum"),
        (lambda p: SGD(p, lr=0.1, weight_decay=-1.0), "weight_decay"),
        (lambda p: SGD(p, lr=0.1, nesterov=True), "nesterov"),
        (lambda p: RMSprop(p, lr=-1e-4), "lr"),
        (lambda p: RMSprop(p, alpha=1.0), "alpha"),
        (lambda p: RMSprop(p, eps=0.0), "eps"),
        (lambda p: Adam(p, betas=(0.9, 1.0)), r"betas\[1\]"),
        (lambda p: Adam(p, betas=(-0.1, 0.9)), r"betas\[0\]"),
        (lambda p: Adam(p, betas=0.9), "betas"),
        (lambda p: Adam(p, eps=-1.0), "eps"),
        (lambda p: SGD([], lr=0.1), "params"),
        (lambda p: SGD([np.zeros(2)], lr=0.1), "params"),
        (lambda p: SGD(3, lr=0.1), "params"),
        (lambda p: StepLR(SGD(p, lr=0.1), step_size=0), "step_size"),
        (lambda p: StepLR(SGD(p, lr=0.1), step_size=2, gamma=0.0), "gamma"),
        (lambda p: StepLR("opt", step_size=2), "optimizer"),
    ],
)
def test_invalid_hyper_parameters(factory, match):
    with pytest.raises(ValueError, match=match):
        factory([Parameter(np.zeros(2))])


def test_lr_setter_validates():
    opt = SGD([Parameter(np.zeros(1))], lr=0.1)
    opt.lr = 0.5
    assert opt.lr == 0.5
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0


def test_make_optimizer_by_name_or_callable():
    net = Linear(3, 2, random_state=0)
    for name, cls in OPTIMIZERS.items():
        opt = make_optimizer(name, net, lr=0.25)
        assert type(opt) is cls and opt.lr == 0.25 and opt.params == net.parameters()
    opt = make_optimizer(lambda ps: SGD(ps, lr=0.5, momentum=0.9), net, lr=1.0)
    assert isinstance(opt, SGD) and opt.lr == 0.5 and opt.momentum == 0.9
    with pytest.raises(ValueError, match="wgan_optimizer must be one of"):
        make_optimizer("lbfgs", net, lr=0.1, name="wgan_optimizer")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer(3, net, lr=0.1)
    with pytest.raises(ValueError, match="must return an Optimizer"):
        make_optimizer(lambda ps: "sgd", net, lr=0.1)
