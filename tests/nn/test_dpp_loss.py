"""The DPP loss term −λ₁ L_D: value, direction, path record, validation."""

import math

import numpy as np
import pytest

from spectral_ml.dpp import dpp_diversity
from spectral_ml.nn import dpp_loss
from spectral_ml.testing import taylor_test

from ._helpers import np_of, to_xp


def _spread(rng, n=15, d=2):
    """Points far enough apart (σ = 0.2) for a well-conditioned kernel matrix."""
    return rng.uniform(-1.0, 1.0, size=(n, d))


@pytest.mark.parametrize("objective", ["logdet", "det"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_path_taylor(xp, objective, seed):
    rng = np.random.default_rng(seed)
    F = to_xp(xp, _spread(rng))
    weight = 3.0

    def f(Fv):
        return dpp_loss(Fv, sigma=0.2, weight=weight, objective=objective, method="exact")[0]

    def g(Fv):
        return dpp_loss(Fv, sigma=0.2, weight=weight, objective=objective, method="exact")[1]

    res = taylor_test(f, g, F, seed=seed)
    assert abs(res.order - 2) < 0.2, str(res)


def test_exact_path_taylor_negative_control(rng):
    F = _spread(rng)
    _, dF, _ = dpp_loss(F, weight=2.0, method="exact")
    wrong = dF * 1.05

    res = taylor_test(lambda Fv: dpp_loss(Fv, weight=2.0, method="exact")[0], wrong, F)
    assert abs(res.order - 1) < 0.2, str(res)


def test_value_and_direction_are_minus_weight_times_diversity(xp, rng):
    F = to_xp(xp, _spread(rng, n=12, d=3))
    for method in ("auto", "dppsg", "dppsg*"):
        value, dF, info = dpp_loss(F, sigma=0.3, weight=7.5, method=method)
        ref = dpp_diversity(F, 0.3, method=method)
        assert type(dF) is type(F)
        np.testing.assert_allclose(np_of(dF), -7.5 * np_of(ref.grad), rtol=1e-12, atol=1e-300)
        assert value == pytest.approx(-7.5 * ref.value, rel=1e-12)
        assert info["method"] == ref.method
        assert info["diversity"] == pytest.approx(ref.value, rel=1e-12)
        assert info["logdet"] == pytest.approx(ref.logdet, rel=1e-12)


def test_path_record_switches_on_a_duplicate(rng):
    F = _spread(rng)
    _, _, info = dpp_loss(F, weight=1.0)
    assert info["method"] == "exact" and info["is_gradient"] and info["logdet_exact"]
    F[3] = F[7]
    value, dF, info = dpp_loss(F, weight=1.0)
    assert info["method"] == "dppsg*" and not info["is_gradient"]
    assert math.isfinite(value) and np.all(np.isfinite(dF))
    _, _, info = dpp_loss(F, weight=1.0, subgradient="dppsg")
    assert info["method"] == "dppsg"
    # The lifted log-determinant stands in for log det L = -inf.
    assert info["logdet_exact"] is False and math.isfinite(info["logdet"])


def test_descent_direction_increases_diversity_near_collapse(rng):
    # A near-collapsed batch: det L ≈ 0, the sub-gradient path. Moving against dF (a descent
    # step on the loss) must raise log det L: a proper sub-gradient.
    F = _spread(rng, n=10) * 0.01
    value, dF, info = dpp_loss(F, sigma=0.2, weight=1.0)
    assert info["method"] == "dppsg*"
    before = dpp_diversity(F, 0.2).logdet
    step = 1e-3 / float(np.abs(dF).max())
    after = dpp_diversity(F - step * dF, 0.2).logdet
    assert after > before


def test_compute_value_false_skips_only_the_dppsg_star_value(rng):
    F = _spread(rng)
    value, _, info = dpp_loss(F, compute_value=False)
    assert info["method"] == "exact" and math.isfinite(value)
    F[1] = F[0]
    value, dF, info = dpp_loss(F, compute_value=False)
    assert info["method"] == "dppsg*"
    assert math.isnan(value) and math.isnan(info["diversity"]) and info["logdet_exact"] is None
    np.testing.assert_allclose(dF, dpp_loss(F)[1])


def test_float32_stays_float32(xp, rng):
    F = xp.asarray(_spread(rng), dtype=xp.float32)
    value, dF, _ = dpp_loss(F, weight=2.0)
    assert dF.dtype == xp.float32
    assert math.isfinite(value)


def test_zero_weight_gives_zero_direction(rng):
    value, dF, info = dpp_loss(_spread(rng), weight=0.0)
    assert value == 0.0 and not np.any(dF)
    assert math.isfinite(info["diversity"])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"weight": -1.0}, "weight"),
        ({"weight": float("nan")}, "weight"),
        ({"weight": True}, "weight"),
        ({"sigma": 0.0}, "sigma"),
        ({"theta": 2.0}, "theta"),
        ({"delta": -1.0}, "delta"),
        ({"method": "svd"}, "method"),
        ({"objective": "trace"}, "objective"),
        ({"compute_value": "yes"}, "compute_value"),
    ],
)
def test_bad_hyper_parameters(rng, kwargs, name):
    with pytest.raises(ValueError, match=name):
        dpp_loss(_spread(rng), **kwargs)


def test_bad_features(rng):
    F = _spread(rng)
    F[2, 1] = np.nan
    with pytest.raises(ValueError, match="F|X"):
        dpp_loss(F)
    with pytest.raises(ValueError):
        dpp_loss(np.zeros((1, 2)))


def test_exact_method_raises_on_singular_kernel(rng):
    F = _spread(rng)
    F[1] = F[0]
    with pytest.raises(np.linalg.LinAlgError):
        dpp_loss(F, method="exact")


def test_underflowing_kernel_raises_or_is_the_identity_in_training():
    F = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]])  # 500 σ apart: every L_ij underflows
    with pytest.raises(ValueError, match="sigma"):
        dpp_loss(F, sigma=0.2, weight=2.0)
    value, dF, info = dpp_loss(F, sigma=0.2, weight=2.0, underflow="allow")
    assert value == 0.0 and info["diversity"] == 0.0 and info["method"] == "exact"
    assert np.all(dF == 0.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"method": "dppsg", "delta": 1e-5},
        {"objective": "det", "sigma": 0.5},
        {"method": "dppsg*", "theta": 0.3},
        {"subgradient": "dppsg"},
    ],
)
def test_settings_object_gives_the_keywords_result_bit_for_bit(rng, kwargs):
    from spectral_ml.dpp import DPPSettings

    for F in (_spread(rng), np.repeat(_spread(rng, n=5), 3, axis=0)):
        for compute_value in (True, False):
            ref = dpp_loss(F, weight=4.0, compute_value=compute_value, **kwargs)
            got = dpp_loss(F, compute_value=compute_value, settings=DPPSettings(weight=4.0, **kwargs))
            assert got[2] == ref[2] or (math.isnan(got[0]) and got[2]["method"] == ref[2]["method"])
            assert got[0] == ref[0] or (math.isnan(got[0]) and math.isnan(ref[0]))
            np.testing.assert_array_equal(got[1], ref[1])


def test_keyword_beside_settings_is_refused_naming_it(rng):
    from spectral_ml.dpp import DPPSettings

    with pytest.raises(ValueError, match="weight=2.0 was given with settings"):
        dpp_loss(_spread(rng), weight=2.0, settings=DPPSettings())
    with pytest.raises(ValueError, match="compute_value"):
        dpp_loss(_spread(rng), compute_value="no", settings=DPPSettings())
