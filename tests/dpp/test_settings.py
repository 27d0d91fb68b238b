"""DPPSettings: one checked object for the DPP term's settings; the table of the paper's variants."""

import copy
import dataclasses
import pickle

import numpy as np
import pytest

from spectral_ml.dpp import (
    DEFAULT_BETA,
    DEFAULT_DELTA,
    DEFAULT_SIGMA,
    DEFAULT_THETA,
    PAPER_VARIANTS,
    TRAINING_METHODS,
    DPPSettings,
    dpp_diversity,
)

SIGMA = 0.2


def _spread(seed=0, n=30, d=2):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n, d))


def _with_duplicate(seed=0):
    X = _spread(seed)
    X[1] = X[0]
    return X


def test_defaults_are_those_of_dpp_diversity():
    s = DPPSettings()
    assert (s.method, s.subgradient, s.objective, s.underflow) == ("auto", "dppsg*", "logdet", "raise")
    assert (s.sigma, s.beta, s.delta, s.theta, s.weight) == (
        DEFAULT_SIGMA,
        DEFAULT_BETA,
        DEFAULT_DELTA,
        DEFAULT_THETA,
        1.0,
    )


def test_numbers_are_stored_as_python_floats():
    s = DPPSettings(sigma=np.float32(0.5), theta=np.array(0.25), weight=3)
    assert type(s.sigma) is float and type(s.theta) is float and type(s.weight) is float
    assert (s.sigma, s.theta, s.weight) == (0.5, 0.25, 3.0)


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("method", "newton", "method must be one of"),
        ("method", None, "method must be one of"),
        ("subgradient", "exact", "subgradient must be one of"),
        ("objective", "trace", "objective must be one of"),
        ("underflow", "ignore", "underflow must be one of 'raise', 'allow'"),
        ("sigma", 0.0, "sigma must be a positive finite number"),
        ("sigma", "wide", "sigma must be a real number"),
        ("sigma", 1e-300, r"sigma=1e-300 is too small: 1/sigma² overflows float64"),
        ("sigma", 1e300, r"sigma=1e\+300 is too large"),
        ("beta", 0.0, "beta must be a positive finite number"),
        ("beta", float("nan"), "beta"),
        ("delta", -1e-7, "delta must be a positive finite number"),
        ("theta", 0.0, "theta must be a positive finite number"),
        ("theta", 1.5, r"theta must lie in \(0, 1\]"),
        ("weight", -1.0, "weight"),
        ("weight", float("inf"), "weight"),
        ("weight", True, "weight"),
    ],
)
def test_each_field_is_checked_once_naming_it(field, value, match):
    with pytest.raises(ValueError, match=match):
        DPPSettings(**{field: value})
    with pytest.raises(ValueError, match=match):
        DPPSettings().replace(**{field: value})


def test_immutable_hashable_and_copied_as_a_value():
    s = DPPSettings(method="dppsg", sigma=0.3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.sigma = 0.5
    assert s == DPPSettings(method="dppsg", sigma=0.3) and hash(s) == hash(DPPSettings(method="dppsg", sigma=0.3))
    assert copy.deepcopy(s) == s and pickle.loads(pickle.dumps(s)) == s
    assert s.replace(theta=0.5) == DPPSettings(method="dppsg", sigma=0.3, theta=0.5) and s.theta == DEFAULT_THETA
    with pytest.raises(TypeError):
        DPPSettings("auto")  # keyword-only: no field is set by its position
    with pytest.raises(TypeError):
        s.replace(lambda_=1.0)


@pytest.mark.parametrize("method", ["auto", "exact", "dppsg", "dppsg*"])
@pytest.mark.parametrize(
    "kwargs", [{}, {"objective": "det"}, {"subgradient": "dppsg", "delta": 1e-5}, {"theta": 0.3, "beta": 1e-30}]
)
def test_dpp_diversity_with_settings_is_bit_for_bit_the_keywords(method, kwargs):
    for X in (_spread(1, n=40, d=8), _spread(2), _with_duplicate(3)):
        try:
            ref = dpp_diversity(X, SIGMA, method=method, **kwargs)
        except ValueError:  # the exact path on a singular kernel
            with pytest.raises(ValueError):
                dpp_diversity(X, settings=DPPSettings(sigma=SIGMA, method=method, **kwargs))
            continue
        res = dpp_diversity(X, settings=DPPSettings(sigma=SIGMA, method=method, **kwargs))
        assert res.method == ref.method and res.logdet == ref.logdet and res.logdet_exact == ref.logdet_exact
        np.testing.assert_array_equal(res.grad, ref.grad)


def test_dpp_diversity_ignores_the_weight_of_the_settings():
    X = _with_duplicate()
    np.testing.assert_array_equal(dpp_diversity(X, settings=DPPSettings(weight=100.0)).grad, dpp_diversity(X).grad)


def test_underflow_setting_reaches_dpp_diversity():
    X = np.arange(10.0).reshape(5, 2) / 10.0
    with pytest.raises(ValueError, match="sigma=0.001 is too small for X"):
        dpp_diversity(X, settings=DPPSettings(sigma=1e-3))
    assert dpp_diversity(X, settings=DPPSettings(sigma=1e-3, underflow="allow")).logdet == 0.0


@pytest.mark.parametrize(
    "keyword,value", [("theta", 0.3), ("method", "exact"), ("sigma", 0.5), ("underflow", "allow"), ("beta", 1e-3)]
)
def test_a_keyword_changed_beside_settings_is_refused_naming_it(keyword, value):
    X = _spread()
    args = (value,) if keyword == "sigma" else ()
    kwargs = {} if keyword == "sigma" else {keyword: value}
    with pytest.raises(ValueError, match=f"{keyword}={value!r} was given with settings"):
        dpp_diversity(X, *args, settings=DPPSettings(), **kwargs)
    # Left at their defaults (even spelled out), the keywords do not compete with the settings.
    s = DPPSettings(theta=0.5, method="dppsg*")
    ref = dpp_diversity(X, settings=s)
    np.testing.assert_array_equal(dpp_diversity(X, SIGMA, theta=DEFAULT_THETA, settings=s).grad, ref.grad)


def test_settings_must_be_a_dpp_settings():
    with pytest.raises(ValueError, match="settings must be a DPPSettings or None, got dict"):
        dpp_diversity(_spread(), settings={"sigma": 0.2})


@pytest.mark.parametrize(
    "dpp,method,subgradient",
    [("dppsg", "auto", "dppsg"), ("dppsg*", "auto", "dppsg*"), ("exact", "exact", "dppsg*")],
)
def test_from_params_is_the_one_remapping_of_the_learners_names(dpp, method, subgradient):
    s = DPPSettings.from_params(
        {
            "dpp": dpp,
            "dpp_sigma": 0.5,
            "dpp_theta": 0.2,
            "dpp_weight": 3.0,
            "dpp_objective": "det",
            "dpp_beta": 1e-3,
            "dpp_delta": 1e-5,
        }
    )
    assert s == DPPSettings(
        method=method,
        subgradient=subgradient,
        sigma=0.5,
        theta=0.2,
        weight=3.0,
        objective="det",
        beta=1e-3,
        delta=1e-5,
        underflow="allow",
    )
    assert TRAINING_METHODS == ("dppsg", "dppsg*", "exact")


def test_from_params_defaults_none_and_passthrough():
    assert DPPSettings.from_params({"dpp": None, "dpp_theta": 5.0}) is None  # no term, nothing to check
    # Missing flat parameters take the field defaults; other keys (an estimator's) are ignored.
    s = DPPSettings.from_params({"dpp": "dppsg*", "epochs": 3})
    assert s == DPPSettings(underflow="allow")
    # dpp_weight=None: the default weight, one for all or one per method.
    assert DPPSettings.from_params({"dpp": "dppsg", "dpp_weight": None}, default_weight=7.0).weight == 7.0
    weights = {"dppsg": 1e5, "dppsg*": 3e-4, "exact": 3e-4}
    assert DPPSettings.from_params({"dpp": "dppsg", "dpp_weight": None}, default_weight=weights).weight == 1e5
    given = DPPSettings(method="dppsg", theta=0.7)
    assert DPPSettings.from_params({"dpp": given, "dpp_theta": DEFAULT_THETA}) is given


@pytest.mark.parametrize(
    "params,match",
    [
        ({"dpp": "auto"}, r"dpp must be None or one of \('dppsg', 'dppsg\*', 'exact'\) or a DPPSettings"),
        ({"dpp": 1}, "dpp must be None or one of"),
        ({"dpp": "dppsg*", "dpp_sigma": 0.0}, "dpp_sigma must be a positive finite number"),
        ({"dpp": "dppsg*", "dpp_sigma": 1e-300}, "dpp_sigma=1e-300 is too small"),
        ({"dpp": "dppsg*", "dpp_theta": 2.0}, r"dpp_theta must lie in \(0, 1\]"),
        ({"dpp": "dppsg*", "dpp_weight": -1.0}, "dpp_weight"),
        ({"dpp": "dppsg*", "dpp_objective": "trace"}, "dpp_objective must be one of"),
        ({"dpp": "dppsg*", "dpp_beta": 0.0}, "dpp_beta"),
        ({"dpp": "dppsg", "dpp_delta": -1.0}, "dpp_delta"),
        ({"dpp": DPPSettings(), "dpp_theta": 0.3}, r"dpp_theta=0.3 was given with dpp=DPPSettings"),
        ({"dpp": DPPSettings(), "dpp_weight": 2.0}, r"dpp_weight=2.0 was given with dpp=DPPSettings"),
    ],
)
def test_from_params_names_the_flat_parameter(params, match):
    with pytest.raises(ValueError, match=match):
        DPPSettings.from_params(params)


def test_from_params_compares_with_the_learners_own_defaults():
    defaults = {"dpp_weight": 1e3, "dpp_objective": "det"}
    s = DPPSettings(weight=5.0)
    assert DPPSettings.from_params({"dpp": s, "dpp_weight": 1e3, "dpp_objective": "det"}, defaults=defaults) is s
    with pytest.raises(ValueError, match="dpp_objective='logdet' was given"):
        DPPSettings.from_params({"dpp": s, "dpp_objective": "logdet"}, defaults=defaults)


def test_the_paper_variants_are_one_table():
    assert list(PAPER_VARIANTS) == ["baseline", "DPPSG", "DPPSG*", "DPPSG+WGAN", "DPPSG*+WGAN", "WGAN"]
    for name, variant in PAPER_VARIANTS.items():
        assert variant.dpp in (None, *TRAINING_METHODS)
        assert variant.wgan == name.endswith("WGAN")
        assert variant.dpp == (None if "DPPSG" not in name else "dppsg*" if "DPPSG*" in name else "dppsg")
    dpp, wgan = PAPER_VARIANTS["DPPSG*+WGAN"]
    assert (dpp, wgan) == ("dppsg*", True)


def test_importable_from_the_package():
    import spectral_ml

    assert spectral_ml.DPPSettings is DPPSettings


def test_the_papers_settings_are_kept_by_variant_name():
    from spectral_ml.dpp.settings import PAPER_NETWORK_THETA, PAPER_SETTINGS

    assert set(PAPER_SETTINGS) == {v for v, (dpp, _) in PAPER_VARIANTS.items() if dpp is not None and "+" not in v}
    for name, s in PAPER_SETTINGS.items():
        assert s.subgradient == PAPER_VARIANTS[name].dpp and s.method == "auto" and s.underflow == "allow"
        assert (s.objective, s.weight, s.sigma, s.delta, s.beta) == ("det", 1e3, 0.2, 1e-7, 1e-7)
        # The learners read it as they read their flat parameters (λ₁ and all).
        assert DPPSettings.from_params({"dpp": s}) is s
    # The paper gives no θ: its settings keep 0.1, a hundred times the trained default of its network.
    assert PAPER_SETTINGS["DPPSG*"].theta == 0.1 == 100 * PAPER_NETWORK_THETA
    # A point of the sweep where the sub-gradient pushes with λ₁θ(I − L): the product is what counts.
    X = _with_duplicate(3)
    paper = dpp_diversity(X, settings=PAPER_SETTINGS["DPPSG*"])
    default = dpp_diversity(X, settings=PAPER_SETTINGS["DPPSG*"].replace(theta=PAPER_NETWORK_THETA))
    assert paper.method == default.method == "dppsg*"
    np.testing.assert_allclose(paper.grad, 100 * default.grad, rtol=1e-12)
