"""Contrastive loss and the WGAN critic / generator loss: values, feature gradients, training."""

import numpy as np
import pytest

from spectral_ml.nn import (
    SGD,
    Adam,
    WassersteinCritic,
    contrastive_loss,
    generator_loss,
    uniform_sampler,
)
from spectral_ml.testing import taylor_test

from ._helpers import np_of, to_xp


def _brute_force_contrastive(F, y, margin, alpha):
    """Direct double loop over the pairs i < j (the definition)."""
    n = F.shape[0]
    total = 0.0
    grad = np.zeros_like(F)
    for i in range(n):
        for j in range(i + 1, n):
            diff = F[i] - F[j]
            D = diff @ diff
            if y[i] == y[j]:
                total += D
                grad[i] += 2 * diff
                grad[j] -= 2 * diff
            elif D < margin:
                total += alpha * (margin - D)
                grad[i] -= 2 * alpha * diff
                grad[j] += 2 * alpha * diff
    return total, grad


def _features(n=14, d=3, seed=0, classes=3):
    rng = np.random.default_rng(seed)
    F = 0.5 * rng.standard_normal((n, d))
    y = rng.integers(0, classes, size=n)
    return F, y


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_contrastive_matches_pairwise_definition(xp, reduction):
    F, y = _features()
    margin, alpha = 0.8, 5.0
    ref_value, ref_grad = _brute_force_contrastive(F, y, margin, alpha)
    P = F.shape[0] * (F.shape[0] - 1) / 2 if reduction == "mean" else 1.0
    # The margin must matter for this check to mean something.
    D = ((F[:, None] - F[None]) ** 2).sum(-1)
    diff = y[:, None] != y[None, :]
    assert (diff & (D < margin)).any() and (diff & (D > margin)).any()
    value, dF = contrastive_loss(to_xp(xp, F), y, margin=margin, alpha=alpha, reduction=reduction)
    assert isinstance(value, float)
    assert type(dF) is type(to_xp(xp, F))
    assert value == pytest.approx(ref_value / P, rel=1e-12)
    np.testing.assert_allclose(np_of(dF), ref_grad / P, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_contrastive_gradient_taylor(xp, seed):
    F, y = _features(seed=seed)
    F_x = to_xp(xp, F)

    def f(Fv):
        return contrastive_loss(Fv, y, margin=0.8, alpha=5.0)[0]

    def g(Fv):
        return contrastive_loss(Fv, y, margin=0.8, alpha=5.0)[1]

    res = taylor_test(f, g, F_x, seed=seed, steps=0.02 * 2.0 ** -np.arange(10))
    assert abs(res.order - 2) < 0.2, str(res)


def test_contrastive_gradient_taylor_negative_control():
    F, y = _features(seed=3)

    def f(Fv):
        return contrastive_loss(Fv, y)[0]

    def g(Fv):
        return contrastive_loss(Fv, y)[1] * 1.01

    res = taylor_test(f, g, F, steps=0.02 * 2.0 ** -np.arange(10))
    assert abs(res.order - 1) < 0.2, str(res)


def test_contrastive_small_example_by_hand():
    F = np.array([[0.0, 0.0], [0.1, 0.0], [0.5, 0.0], [3.0, 0.0]])
    y = np.array(["a", "a", "b", "b"])
    value, dF = contrastive_loss(F, y, margin=0.8, alpha=2.0, reduction="sum")
    # same pairs: (0,1) 0.01, (2,3) 6.25; different pairs inside the margin: (0,2) 0.25, (1,2) 0.16.
    assert value == pytest.approx(0.01 + 6.25 + 2.0 * (0.55 + 0.64))
    # Feature 3 is pulled only toward its same-label partner 2.
    np.testing.assert_allclose(dF[3], [2 * 2.5, 0.0])


def test_contrastive_float32_and_label_types(xp):
    F, y = _features()
    v64, g64 = contrastive_loss(to_xp(xp, F), y)
    v32, g32 = contrastive_loss(to_xp(xp, F.astype(np.float32)), y.astype(str))
    assert g32.dtype == xp.float32
    assert v32 == pytest.approx(v64, rel=1e-5)
    np.testing.assert_allclose(np_of(g32), np_of(g64), rtol=1e-4, atol=1e-6)
    v_list, _ = contrastive_loss(to_xp(xp, F), y.tolist())
    v_ns, _ = contrastive_loss(to_xp(xp, F), to_xp(xp, y))
    assert v_list == v64 and v_ns == pytest.approx(v64, rel=1e-14)


def test_contrastive_label_validation_in_features_namespace(xp):
    F = to_xp(xp, np.ones((3, 2)))
    with pytest.raises(ValueError, match="y"):
        contrastive_loss(F, to_xp(xp, np.zeros(2)))
    with pytest.raises(ValueError, match="y"):
        contrastive_loss(F, to_xp(xp, np.zeros((3, 1))))
    with pytest.raises(ValueError, match="y"):
        contrastive_loss(F, to_xp(xp, np.array([0.0, np.nan, 1.0])))


def test_contrastive_all_same_label_gradient_is_centering():
    F, _ = _features(n=6)
    y = np.zeros(6)
    value, dF = contrastive_loss(F, y, reduction="sum")
    n = F.shape[0]
    # Σ_{i<j} ‖f_i − f_j‖² = n Σ ‖f_i − mean‖², gradient 2n (f_i − mean).
    centered = F - F.mean(axis=0)
    assert value == pytest.approx(n * (centered**2).sum())
    np.testing.assert_allclose(dF, 2 * n * centered, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(F=np.ones(3), y=[0, 1, 0]), "F"),
        (dict(F=np.ones((1, 2)), y=[0]), "F"),
        (dict(F=np.array([[0.0, np.nan], [1.0, 1.0]]), y=[0, 1]), "F"),
        (dict(F=np.ones((3, 2)), y=[0, 1]), "y"),
        (dict(F=np.ones((3, 2)), y=np.zeros((3, 1))), "y"),
        (dict(F=np.ones((2, 2)), y=[0.0, np.nan]), "y"),
        (dict(F=np.ones((2, 2)), y=[[0, 1]]), "y"),
        (dict(F=np.ones((2, 2)), y=[0, 1], margin=-1.0), "margin"),
        (dict(F=np.ones((2, 2)), y=[0, 1], alpha=float("inf")), "alpha"),
        (dict(F=np.ones((2, 2)), y=[0, 1], reduction="avg"), "reduction"),
    ],
)
def test_contrastive_invalid_input(kwargs, match):
    F = kwargs.pop("F")
    y = kwargs.pop("y")
    with pytest.raises(ValueError, match=match):
        contrastive_loss(F, y, **kwargs)


# --- WGAN ------------------------------------------------------------------------------


def test_uniform_sampler_box_and_custom_sampler():
    rng = np.random.default_rng(0)
    Z = uniform_sampler(-2.0, 3.0)(5000, 3, rng)
    assert Z.shape == (5000, 3) and Z.min() >= -2.0 and Z.max() <= 3.0
    np.testing.assert_allclose(Z.mean(axis=0), 0.5, atol=0.1)
    with pytest.raises(ValueError, match="low"):
        uniform_sampler(1.0, 1.0)
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
    before = critic.wasserstein_estimate(F, uniform_sampler()(2000, 2, np.random.default_rng(5)))
    estimates = critic.fit_steps(F, n_steps=150)
    Z = uniform_sampler()(2000, 2, np.random.default_rng(5))
    after = critic.wasserstein_estimate(F, Z)
    assert len(estimates) == 150
    assert after > before + 1e-3 and after > 0
    # Features at the reference distribution itself give a much smaller estimate.
    assert critic.wasserstein_estimate(uniform_sampler()(2000, 2, np.random.default_rng(6)), Z) < 0.2 * after


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
    critic = WassersteinCritic(2, hidden=(16, 16), optimizer="adam", lr=1e-3, clip_value=0.1, random_state=0,
                               n_critic=3, n_reference=300)
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
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
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
