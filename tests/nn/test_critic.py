"""WGAN critic and generator loss: clipping, training, feature gradients, input checks."""

import pickle

import numpy as np
import pytest

from spectral_ml.evaluation import uniform_box_sampler
from spectral_ml.nn import MLP, SGD, Adam, WassersteinCritic, generator_loss
from spectral_ml.testing import taylor_test

from ._helpers import np_of, to_xp


def _after_init_rng(seed):
    """A generator in the state a critic's generator is in after its initialization."""
    rng = np.random.default_rng(seed)
    MLP([2, 4, 1], random_state=rng)
    return rng


def test_default_reference_is_the_uniform_box_and_a_custom_sampler_replaces_it():
    critic = WassersteinCritic(2, hidden=(4,), random_state=0)
    Z = np_of(critic.sample_reference(5000))
    assert Z.shape == (5000, 2) and Z.min() >= -1.0 and Z.max() <= 1.0
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=0.05)
    # The same draws as the evaluation's sampler from the same generator state.
    np.testing.assert_array_equal(
        np_of(WassersteinCritic(2, hidden=(4,), random_state=np.random.default_rng(7)).sample_reference(5)),
        uniform_box_sampler()(5, 2, _after_init_rng(7)),
    )
    critic = WassersteinCritic(2, hidden=(4,), sampler=lambda n, d, r: np.full((n, d), 7.0), random_state=0)
    assert np.all(critic.sample_reference(3) == 7.0)


def test_critic_weights_are_clipped():
    critic = WassersteinCritic(2, hidden=(8, 8), clip_value=0.05, lr=0.1, random_state=0)
    for p in critic.parameters():
        assert np.abs(p.data).max() <= 0.05
    F = np.random.default_rng(0).normal(2.0, 0.1, size=(30, 2))
    critic.fit_steps(F, n_steps=3)
    assert max(np.abs(p.data).max() for p in critic.parameters()) == pytest.approx(0.05)
    unclipped = WassersteinCritic(2, hidden=(8,), clip_value=None, random_state=0)
    assert max(np.abs(p.data).max() for p in unclipped.parameters()) > 0.05


def test_critic_learns_to_separate_distributions():
    rng = np.random.default_rng(0)
    F = rng.normal(0.0, 0.05, size=(200, 2)) + np.array([0.8, 0.8])
    critic = WassersteinCritic(2, hidden=(32, 32), optimizer="adam", lr=1e-3, clip_value=0.1, random_state=1)
    before = critic.wasserstein_estimate(F, uniform_box_sampler()(2000, 2, np.random.default_rng(5)))
    estimates = critic.fit_steps(F, n_steps=150)
    Z = uniform_box_sampler()(2000, 2, np.random.default_rng(5))
    after = critic.wasserstein_estimate(F, Z)
    assert len(estimates) == 150
    assert after > before + 1e-3 and after > 0
    # Features at the reference distribution itself give a much smaller estimate.
    assert critic.wasserstein_estimate(uniform_box_sampler()(2000, 2, np.random.default_rng(6)), Z) < 0.2 * after


def test_generator_loss_gradient_taylor(xp):
    rng = np.random.default_rng(0)
    critic = WassersteinCritic(3, hidden=(16, 16), activation="tanh", clip_value=None, random_state=2, xp=xp)
    F = to_xp(xp, rng.standard_normal((10, 3)))

    def f(Fv):
        return generator_loss(critic, Fv)[0]

    def g(Fv):
        return generator_loss(critic, Fv)[1]

    for seed in (0, 1):
        res = taylor_test(f, g, F, seed=seed)
        assert abs(res.order - 2) < 0.2, str(res)
    res = taylor_test(f, lambda Fv: g(Fv) * 1.01, F)
    assert abs(res.order - 1) < 0.2, str(res)


def test_generator_loss_relu_critic_matches_finite_differences():
    """With the paper's ReLU critic h is piecewise linear in F: away from the kinks a central
    difference is exact up to round-off (and a Taylor remainder would be pure round-off)."""
    rng = np.random.default_rng(1)
    critic = WassersteinCritic(2, random_state=3)  # ReLU MLP, clipping at 0.01
    F = rng.standard_normal((12, 2))
    _, dF = generator_loss(critic, F)
    assert np.abs(dF).max() > 0
    for seed in range(3):
        d = np.random.default_rng(seed).standard_normal(F.shape)
        t = 1e-6
        fd = (generator_loss(critic, F + t * d)[0] - generator_loss(critic, F - t * d)[0]) / (2 * t)
        assert fd == pytest.approx(float(np.sum(dF * d)), rel=1e-6, abs=1e-14)


def test_generator_loss_leaves_critic_untouched():
    critic = WassersteinCritic(2, hidden=(8,), random_state=0)
    F = np.random.default_rng(0).standard_normal((6, 2))
    state = critic.state_dict()
    critic.zero_grad()
    value, dF = generator_loss(critic, F)
    assert value == pytest.approx(-float(np.mean(critic.forward(F))))
    assert all(p.grad is None for p in critic.parameters())
    for k, v in critic.state_dict().items():
        np.testing.assert_array_equal(v, state[k])


def test_generator_step_moves_features_toward_reference():
    """A few alternations of critic steps and feature steps bring outlying features inward."""
    rng = np.random.default_rng(0)
    F = rng.normal(0.0, 0.1, size=(100, 2)) + np.array([3.0, 3.0])
    critic = WassersteinCritic(
        2, hidden=(16, 16), optimizer="adam", lr=1e-3, clip_value=0.1, random_state=0, n_critic=3, n_reference=300
    )
    start = np.linalg.norm(F.mean(axis=0))
    for _ in range(30):
        critic.fit_steps(F)
        _, dF = generator_loss(critic, F)
        F = F - 0.1 * dF / np.abs(dF).max()
    assert np.linalg.norm(F.mean(axis=0)) < start - 0.5


def test_critic_step_returns_estimate_and_uses_own_optimizer(xp):
    critic = WassersteinCritic(2, hidden=(4,), optimizer=lambda ps: SGD(ps, lr=0.5), random_state=0, xp=xp)
    assert isinstance(critic.optimizer, SGD)
    F = to_xp(xp, np.full((5, 2), 0.5))
    Z = to_xp(xp, np.full((7, 2), -0.5))
    expected = critic.wasserstein_estimate(F, Z)
    before = [np_of(p.data).copy() for p in critic.parameters()]
    got = critic.critic_step(F, Z)
    assert got == pytest.approx(expected, rel=1e-12)
    after = [np_of(p.data) for p in critic.parameters()]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=False))
    assert isinstance(WassersteinCritic(2, optimizer="adam").optimizer, Adam)


def test_critic_float32(xp):
    critic = WassersteinCritic(2, hidden=(4,), random_state=0, xp=xp, dtype="float32")
    F = to_xp(xp, np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32))
    critic.fit_steps(F, n_steps=2)
    _, dF = generator_loss(critic, F)
    assert dF.dtype == xp.float32
    assert all(p.data.dtype == xp.float32 for p in critic.parameters())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_features=0), "n_features"),
        (dict(n_features=2, hidden=(0,)), "hidden"),
        (dict(n_features=2, clip_value=0.0), "clip_value"),
        (dict(n_features=2, optimizer="lbfgs"), "optimizer"),
        (dict(n_features=2, lr=-1.0), "lr"),
        (dict(n_features=2, n_critic=0), "n_critic"),
        (dict(n_features=2, n_reference=0), "n_reference"),
        (dict(n_features=2, sampler="uniform"), "sampler"),
    ],
)
def test_critic_invalid_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        WassersteinCritic(**kwargs)


def test_critic_invalid_inputs():
    critic = WassersteinCritic(2, hidden=(4,), random_state=0)
    with pytest.raises(ValueError, match="features"):
        critic.critic_step(np.ones((3, 3)))
    with pytest.raises(ValueError, match="reference_samples"):
        critic.critic_step(np.ones((3, 2)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="n_steps"):
        critic.fit_steps(np.ones((3, 2)), n_steps=0)
    with pytest.raises(ValueError, match="F"):
        generator_loss(critic, np.ones((3, 5)))
    with pytest.raises(ValueError, match="critic"):
        generator_loss(object(), np.ones((3, 2)))
    bad = WassersteinCritic(2, sampler=lambda n, d, r: np.zeros((n, d + 1)), random_state=0)
    with pytest.raises(ValueError, match="sampler"):
        bad.critic_step(np.ones((3, 2)))


def test_critic_with_the_default_sampler_pickles():
    critic = WassersteinCritic(2, hidden=(4,), random_state=0)
    twin = pickle.loads(pickle.dumps(critic))
    np.testing.assert_array_equal(twin.sample_reference(3), critic.sample_reference(3))
    F = np.random.default_rng(1).normal(size=(6, 2))
    assert twin.wasserstein_estimate(F, np.zeros((4, 2))) == critic.wasserstein_estimate(F, np.zeros((4, 2)))
