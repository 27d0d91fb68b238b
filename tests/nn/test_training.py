"""The training objective, step and loop: the sum of the terms, the update, the history."""

import dataclasses
import math

import numpy as np
import pytest

from spectral_ml.nn import (
    MLP,
    BalancedBatchSampler,
    FeatureObjective,
    RMSprop,
    TrainingStep,
    WassersteinCritic,
    contrastive_loss,
    dpp_loss,
    evaluate_batch,
    generator_loss,
    train_epochs,
)
from spectral_ml.testing import taylor_test

from ._helpers import np_of, to_xp


def _batch(n=24, d=3, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((n, d)), np.arange(n) % 3


def test_objective_is_the_weighted_sum_of_the_terms():
    F, y = _batch()
    critic = WassersteinCritic(3, hidden=(5,), random_state=0)
    objective = FeatureObjective(
        margin=0.5, contrastive_alpha=2.0, dpp="dppsg", dpp_sigma=0.7, dpp_weight=0.4, wgan_weight=3.0
    )
    terms, dF = objective(F, y, critic)
    c, dc = contrastive_loss(F, y, margin=0.5, alpha=2.0)
    d, dd, info = dpp_loss(F, sigma=0.7, weight=0.4, method="auto", subgradient="dppsg")
    g, dg = generator_loss(critic, F)
    assert terms["contrastive"] == c and terms["generator"] == g
    assert terms["diversity"] == info["diversity"] and terms["path"] == info["method"]
    assert terms["loss"] == pytest.approx(c + d + 3.0 * g, rel=1e-12)
    np.testing.assert_allclose(dF, dc + dd + 3.0 * dg, rtol=1e-12, atol=1e-15)


def test_objective_dpp_methods_and_default_weights():
    assert FeatureObjective().dpp_args is None
    exact = FeatureObjective(dpp="exact").dpp_args
    assert exact["method"] == "exact" and exact["weight"] == 3e-4
    sub = FeatureObjective(dpp="dppsg", dpp_weight=2.0).dpp_args
    assert sub["method"] == "auto" and sub["subgradient"] == "dppsg" and sub["weight"] == 2.0
    assert FeatureObjective(dpp="dppsg").dpp_args["weight"] == 1e5
    with pytest.raises(ValueError, match="dpp must be None or one of"):
        FeatureObjective(dpp="svd")
    with pytest.raises(ValueError, match="wgan_weight"):
        FeatureObjective(wgan_weight=-1.0)
    with pytest.raises(ValueError, match="critic"):
        FeatureObjective(wgan_weight=1.0)(*_batch())


@pytest.mark.parametrize("seed", [0, 1])
def test_objective_gradient_taylor_wrt_features(xp, seed):
    # Spread features keep L well conditioned: the exact DPP path is a true gradient.
    F, y = _batch(n=10, seed=seed, scale=2.0)
    critic = WassersteinCritic(3, hidden=(6,), activation="tanh", clip_value=None, random_state=seed, xp=xp)
    objective = FeatureObjective(dpp="exact", dpp_sigma=0.5, dpp_weight=0.3, wgan_weight=5.0)
    labels = to_xp(xp, y)

    def f(Fv):
        return objective(Fv, labels, critic)[0]["loss"]

    def g(Fv):
        return objective(Fv, labels, critic)[1]

    assert objective(to_xp(xp, F), labels, critic)[0]["path"] == "exact"
    res = taylor_test(f, g, to_xp(xp, F), seed=seed)
    assert abs(res.order - 2) < 0.2, str(res)
    # Negative control: without the generator's share the first-order term is wrong.
    res = taylor_test(f, lambda Fv: g(Fv) - 5.0 * generator_loss(critic, Fv)[1], to_xp(xp, F), seed=seed)
    assert abs(res.order - 1) < 0.2, str(res)


def test_step_is_forward_objective_backward_update():
    X, y = _batch(n=30, d=4, seed=2)
    net_a = MLP([4, 6, 2], random_state=0)
    net_b = MLP([4, 6, 2], random_state=0)
    objective = FeatureObjective(dpp="dppsg*")
    step = TrainingStep(net_a, RMSprop(net_a, lr=1e-2), objective)
    opt_b = RMSprop(net_b, lr=1e-2)
    for _ in range(3):
        times = {}
        terms = step(X, y, times=times)
        assert set(times) == {"forward", "contrastive", "dpp", "backward"} and min(times.values()) >= 0
        # The same step written out by hand.
        F = net_b.forward(X)
        c, dF = contrastive_loss(F, y)
        d, dd, info = dpp_loss(F, **objective.dpp_args)
        opt_b.zero_grad()
        net_b.backward(dF + dd, input_grad=False)
        opt_b.step()
        assert terms["contrastive"] == c and terms["loss"] == c + d and terms["path"] == info["method"]
    for pa, pb in zip(net_a.parameters(), net_b.parameters(), strict=False):
        np.testing.assert_array_equal(pa.data, pb.data)


def test_step_with_a_critic_trains_it_first():
    X, y = _batch(n=20, d=4)
    net = MLP([4, 5, 2], random_state=0)
    critic = WassersteinCritic(2, hidden=(4,), n_critic=3, random_state=1)
    twin = WassersteinCritic(2, hidden=(4,), n_critic=3, random_state=1)
    step = TrainingStep(net, RMSprop(net, lr=1e-3), FeatureObjective(wgan_weight=2.0), critic)
    F = net.forward(X)
    terms = step(X, y)
    # The critic took its three steps on the features before the network moved.
    assert terms["critic"] == twin.fit_steps(F)[-1]
    assert terms["generator"] == generator_loss(twin, F)[0]
    with pytest.raises(ValueError, match="critic"):
        TrainingStep(net, RMSprop(net, lr=1e-3), FeatureObjective(wgan_weight=2.0))


def test_step_reports_non_finite_features():
    net = MLP([2, 3, 2], random_state=0)
    step = TrainingStep(net, RMSprop(net, lr=1e-3), FeatureObjective())
    with pytest.raises(FloatingPointError, match="features"):
        step(np.array([[np.inf, 0.0], [0.0, 1.0]]), [0, 1])


def test_train_epochs_history_and_steps(xp):
    X, y = _batch(n=60, d=4, seed=3)
    net = MLP([4, 8, 2], random_state=0, xp=xp)
    Xx, codes = to_xp(xp, X), xp.asarray(np.asarray(y, dtype=np.int64))
    step = TrainingStep(net, RMSprop(net, lr=1e-2), FeatureObjective(dpp="dppsg*"))
    sampler = BalancedBatchSampler(y, batch_size=20, random_state=0)
    history, n_steps = train_epochs(step, Xx, codes, sampler, 4)
    assert n_steps == 4 * 3
    assert set(history) == {"loss", "contrastive", "diversity", "path_exact", "path_dppsg", "path_dppsg*", "time"}
    assert all(len(v) == 4 for v in history.values())
    for e in range(4):
        assert history["path_exact"][e] + history["path_dppsg"][e] + history["path_dppsg*"][e] == pytest.approx(1)
    assert all(math.isfinite(v) for vals in history.values() for v in vals)
    # The loop takes the sampler's batches in order: replaying them by hand gives the same network.
    replay = MLP([4, 8, 2], random_state=0, xp=xp)
    replay_step = TrainingStep(replay, RMSprop(replay, lr=1e-2), FeatureObjective(dpp="dppsg*"))
    again = BalancedBatchSampler(y, batch_size=20, random_state=0)
    for _ in range(n_steps):
        idx = again.next_batch()
        replay_step(to_xp(xp, X[idx]), xp.asarray(np.asarray(y[idx], dtype=np.int64)))
    for pa, pb in zip(net.parameters(), replay.parameters(), strict=False):
        np.testing.assert_array_equal(np_of(pa.data), np_of(pb.data))


def test_train_epochs_reports_epoch_and_batch_of_a_divergence():
    X, y = _batch(n=40, d=4)
    net = MLP([4, 8, 2], random_state=0)
    step = TrainingStep(net, RMSprop(net, lr=1e-2), FeatureObjective(dpp="exact"))
    sampler = BalancedBatchSampler(y, batch_size=20, random_state=0)
    X = np.ones_like(X)  # identical features: the exact path meets a singular kernel matrix
    with pytest.raises(np.linalg.LinAlgError, match="epoch 1, batch 1"):
        train_epochs(step, X, np.asarray(y), sampler, 2)


def test_evaluate_batch_changes_nothing():
    X, y = _batch(n=20, d=4)
    net = MLP([4, 6, 2], batch_norm=True, random_state=0).eval()
    before = net.state_dict()
    terms, grad = evaluate_batch(net, FeatureObjective(dpp="dppsg*"), X, y, return_gradient=True)
    assert math.isfinite(terms["loss"]) and grad.shape == (sum(p.size for p in net.parameters()),)
    assert not net.training
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    assert all(p.grad is None for p in net.parameters())


def test_objective_builds_its_dpp_settings_once_naming_the_parameter():
    from spectral_ml.dpp import DPPSettings

    objective = FeatureObjective(dpp="dppsg", dpp_sigma=0.5, dpp_theta=0.3)
    assert objective.dpp_settings == DPPSettings(
        method="auto", subgradient="dppsg", sigma=0.5, theta=0.3, weight=1e5, underflow="allow"
    )
    assert objective.dpp_args == dataclasses.asdict(objective.dpp_settings)
    for name, value in (
        ("dpp_sigma", 0.0),
        ("dpp_theta", 2.0),
        ("dpp_weight", -1.0),
        ("dpp_objective", "trace"),
        ("dpp_beta", 0.0),
        ("dpp_delta", -1.0),
    ):
        with pytest.raises(ValueError, match=f"^{name}"):
            FeatureObjective(dpp="dppsg*", **{name: value})
    assert FeatureObjective(dpp_theta=2.0).dpp_settings is None  # no DPP term: its settings are unused


def test_objective_takes_a_settings_object_as_it_is():
    from spectral_ml.dpp import DPPSettings

    F, y = _batch()
    settings = DPPSettings(method="dppsg", sigma=0.7, weight=0.4)  # always DPPSG: no learner name for it
    objective = FeatureObjective(dpp=settings)
    assert objective.dpp_settings is settings
    terms, dF = objective(F, y)
    c, dc = contrastive_loss(F, y)
    d, dd, info = dpp_loss(F, sigma=0.7, weight=0.4, method="dppsg")
    assert terms["path"] == "dppsg" and terms["loss"] == c + d
    np.testing.assert_array_equal(dF, dc + dd)
    with pytest.raises(ValueError, match="dpp_sigma=0.5 was given with dpp=DPPSettings"):
        FeatureObjective(dpp=settings, dpp_sigma=0.5)


def test_step_history_keys_follow_the_terms():
    net = MLP([3, 4, 2], random_state=0)
    opt = RMSprop(net, lr=1e-3)
    assert TrainingStep(net, opt, FeatureObjective()).history_keys == ("loss", "contrastive")
    critic = WassersteinCritic(2, hidden=(4,), random_state=0)
    step = TrainingStep(net, opt, FeatureObjective(dpp="dppsg*", wgan_weight=1.0), critic)
    assert step.history_keys == ("loss", "contrastive", "diversity", "path", "generator", "critic")


def test_train_epochs_runs_any_step_with_history_keys():
    # A step of another framework: called on a batch, it reports its terms; the loop averages
    # those of history_keys and counts the DPP paths.
    X, y = _batch(n=40, d=4)
    net = MLP([4, 3], random_state=0)

    class Step:
        history_keys = ("loss", "path")

        def __init__(self):
            self.net, self.calls = net, 0

        def __call__(self, Xb, yb):
            self.calls += 1
            return {"loss": float(self.calls), "path": "exact" if self.calls % 2 else "dppsg*", "unused": 0.0}

    step = Step()
    history, n_steps = train_epochs(step, X, np.asarray(y), BalancedBatchSampler(y, batch_size=10, random_state=0), 2)
    assert n_steps == 8 and step.calls == 8
    assert history["loss"] == [2.5, 6.5]
    assert history["path_exact"] == [0.5, 0.5] and history["path_dppsg*"] == [0.5, 0.5]
    assert list(history) == ["loss", "path_exact", "path_dppsg", "path_dppsg*", "time"]
