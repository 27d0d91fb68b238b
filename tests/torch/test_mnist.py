"""The DPP paper's MNIST network in PyTorch: architecture, settings, training, bad input."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="spectral_ml.torch needs the optional torch extra")

from spectral_ml.evaluation import mean_average_precision_at_k  # noqa: E402 - after the optional dependency is found or skipped
from spectral_ml.torch import PaperCNNLearner, PaperMNISTNet, paper_cnn_variant_params  # noqa: E402 - after the optional dependency is found or skipped
from spectral_ml.torch.mnist import PAPER_CNN_SETTINGS  # noqa: E402 - after the optional dependency is found or skipped


def _toy_images(n=120, seed=0):
    """Two classes of 28 × 28 images: a bright upper or lower half, plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = 0.2 * rng.random((n, 28, 28), dtype=np.float32)
    X[y == 0, :14] += 0.8
    X[y == 1, 14:] += 0.8
    return X.reshape(n, 784), y


def test_architecture_is_the_papers():
    net = PaperMNISTNet()
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64]
    assert all(c.kernel_size == (5, 5) for c in convs)
    pools = [type(m).__name__ for m in net.modules() if isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d))]
    assert pools == ["MaxPool2d", "AvgPool2d", "AvgPool2d"]
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [lin.out_features for lin in linears] == [200, 2]
    norms = [m for m in net.modules() if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))]
    assert len(norms) == 4  # every convolution and the 200-unit layer
    assert (
        len([m for m in PaperMNISTNet(feature_batch_norm=True).modules() if isinstance(m, torch.nn.BatchNorm1d)]) == 2
    )
    out = net.eval()(torch.zeros(3, 1, 28, 28))
    assert out.shape == (3, 2)


def test_variant_params_carry_the_papers_settings():
    assert PAPER_CNN_SETTINGS["dpp_weight"] == 1e3 and PAPER_CNN_SETTINGS["wgan_weight"] == 1e6
    base = paper_cnn_variant_params("baseline")
    assert base["dpp"] is None and base["wgan"] is False
    assert not any(k.startswith(("dpp_", "wgan_")) for k in base)
    assert base["batch_size"] == 200 and base["learning_rate"] == 1e-4
    assert base["margin"] == 0.8 and base["contrastive_alpha"] == 5.0
    star = paper_cnn_variant_params("DPPSG*+WGAN")
    assert {k: v for k, v in star.items() if k.startswith("dpp")} == {
        "dpp": "dppsg*",
        "dpp_sigma": 0.2,
        "dpp_weight": 1e3,
        "dpp_objective": "det",
        "dpp_delta": 1e-7,
        "dpp_theta": 1e-3,  # the paper gives no θ; 0.1 costs 14 to 16 points of mAP@10
    }
    assert {k: v for k, v in star.items() if k.startswith("wgan")} == {
        "wgan": True,
        "wgan_weight": 1e6,
        "wgan_n_reference": 2000,
    }
    assert paper_cnn_variant_params("DPPSG")["dpp"] == "dppsg"
    assert paper_cnn_variant_params("DPPSG+WGAN", quick=True)["wgan_n_reference"] == 500
    with pytest.raises(ValueError, match="variant"):
        paper_cnn_variant_params("DPP")


def test_variant_params_follow_the_one_table_of_variants():
    from spectral_ml.dpp import PAPER_VARIANTS
    from spectral_ml.experiments.dpp import ALL_VARIANTS, dpp_variant_params

    assert tuple(PAPER_VARIANTS) == ALL_VARIANTS
    for variant, (dpp, wgan) in PAPER_VARIANTS.items():
        cnn, perceptron = paper_cnn_variant_params(variant), dpp_variant_params(variant)
        assert cnn["dpp"] == perceptron["dpp"] == dpp and cnn["wgan"] is perceptron["wgan"] is wgan
        # Every setting is a parameter of the learner.
        assert PaperCNNLearner(**cnn).get_params()["epochs"] == cnn["epochs"]


def test_training_separates_two_easy_classes():
    X, y = _toy_images()
    model = PaperCNNLearner(batch_size=40, epochs=3, learning_rate=1e-3, random_state=0).fit(X, y)
    Z = model.transform(X)
    assert Z.shape == (120, 2) and Z.dtype == np.float32
    assert model.history_["contrastive"][-1] < model.history_["contrastive"][0]
    maps = mean_average_precision_at_k(Z, y, [10], Z, y)
    assert maps[10] > 0.9


@pytest.mark.parametrize("variant", ["DPPSG", "DPPSG*", "DPPSG*+WGAN"])
def test_dpp_and_wgan_variants_record_paths_and_critic(variant):
    X, y = _toy_images(80, seed=1)
    params = dict(paper_cnn_variant_params(variant, quick=True), batch_size=40)
    if params["wgan"]:
        params["wgan_n_reference"] = 100
    model = PaperCNNLearner(**params, random_state=0).fit(X, y)
    h = model.history_
    assert sum(h[f"path_{p}"][0] for p in ("exact", "dppsg", "dppsg*")) == pytest.approx(1.0)
    assert ("critic" in h) == variant.endswith("WGAN")
    assert model.n_steps_ == 2 and len(model.step_times_) == 2
    assert np.all(np.isfinite(model.transform(X)))
    if model.critic_ is not None:
        assert all(float(p.detach().abs().max()) <= 0.01 for p in model.critic_.parameters())


def test_same_seed_same_features():
    X, y = _toy_images(80, seed=2)
    params = dict(paper_cnn_variant_params("DPPSG*", quick=True), batch_size=40)
    Z1 = PaperCNNLearner(**params, random_state=3).fit(X, y).transform(X)
    Z2 = PaperCNNLearner(**params, random_state=3).fit(X, y).transform(X)
    np.testing.assert_array_equal(Z1, Z2)


@pytest.mark.parametrize(
    "kwargs,X,match",
    [
        ({}, np.zeros((10, 100), np.float32), "X"),
        ({}, np.full((10, 784), np.nan, np.float32), "X"),
        ({"dpp": "svd"}, None, "'dpp'"),
        ({"dpp": 3}, None, "'dpp'"),
        ({"dpp": "dppsg*", "dpp_weight": -1.0}, None, "'dpp_weight'"),
        ({"dpp": "dppsg*", "dpp_sigma": 0.0}, None, "'dpp_sigma'"),
        ({"dpp": "dppsg*", "dpp_sigma": 1e-300}, None, "dpp_sigma=1e-300 is too small"),
        ({"dpp": "dppsg*", "dpp_objective": "trace"}, None, "'dpp_objective'"),
        ({"dpp": "dppsg*", "dpp_beta": 0.0}, None, "'dpp_beta'"),
        ({"dpp": "dppsg", "dpp_delta": -1e-7}, None, "'dpp_delta'"),
        ({"dpp": "dppsg*", "dpp_theta": 1.5}, None, "'dpp_theta'"),
        ({"dpp": "dppsg*", "dpp_theta": 0.0}, None, "'dpp_theta'"),
        ({"wgan": "yes"}, None, "'wgan'"),
        ({"wgan": True, "wgan_weight": -1.0}, None, "'wgan_weight'"),
        ({"wgan": True, "wgan_n_critic": 0}, None, "'wgan_n_critic'"),
        ({"wgan": True, "wgan_clip_value": 0.0}, None, "'wgan_clip_value'"),
        ({"wgan": True, "wgan_hidden": (4, 0)}, None, "wgan_hidden"),
        ({"wgan": True, "wgan_n_reference": 0}, None, "'wgan_n_reference'"),
        ({"wgan": True, "wgan_learning_rate": 0.0}, None, "'wgan_learning_rate'"),
        ({"margin": -0.1}, None, "'margin'"),
        ({"contrastive_alpha": float("inf")}, None, "'contrastive_alpha'"),
        ({"contrastive_reduction": "max"}, None, "'contrastive_reduction'"),
        ({"epochs": 0}, None, "'epochs'"),
        ({"learning_rate": -1.0}, None, "'learning_rate'"),
        ({"batch_size": 2.5}, None, "'batch_size'"),
        ({"batch_size": 1}, None, "'batch_size'"),
        ({"random_state": -1}, None, "'random_state'"),
        ({"random_state": "seed"}, None, "'random_state'"),
        ({"device": 3}, None, "'device'"),
        ({"verbose": -1}, None, "'verbose'"),
    ],
)
def test_bad_input_raises_value_error(kwargs, X, match):
    Xg, y = _toy_images(40)
    with pytest.raises(ValueError, match=match):
        PaperCNNLearner(**{"batch_size": 20, "epochs": 1, **kwargs}).fit(
            Xg if X is None else X, y if X is None else np.arange(X.shape[0]) % 2
        )


def test_transform_before_fit_raises():
    with pytest.raises(ValueError, match="fit"):
        PaperCNNLearner().transform(np.zeros((2, 784), np.float32))


TINY = {"dpp": "dppsg*", "batch_size": 20, "epochs": 1, "learning_rate": 1e-3, "random_state": 0}


def _fit_features(X, y, **params):
    model = PaperCNNLearner(**{**TINY, **params}).fit(X, y)
    return model.transform(X), model.history_


def test_clone_and_get_params_round_trip():
    from sklearn.base import clone

    from spectral_ml.dpp import DPPSettings

    for learner in (
        PaperCNNLearner(**TINY, dpp_theta=0.05, wgan=True, wgan_hidden=(8,)),
        PaperCNNLearner(dpp=DPPSettings(sigma=0.3, weight=2.0), epochs=1),
    ):
        params = learner.get_params()
        twin = clone(learner)
        assert twin is not learner and twin.get_params() == params
        assert PaperCNNLearner(**params).get_params() == params
        assert twin.set_params(dpp_theta=0.2).dpp_theta == 0.2 and learner.get_params() == params
    assert "dpp_theta=0.05" in repr(PaperCNNLearner(dpp_theta=0.05))


def test_grid_search_over_a_dpp_parameter():
    from sklearn.model_selection import GridSearchCV

    X, y = _toy_images(40, seed=4)
    thetas = [1e-3, 1e-2]
    search = GridSearchCV(PaperCNNLearner(**TINY), {"dpp_theta": thetas}, cv=2).fit(X, y)
    results = search.cv_results_
    assert list(results["param_dpp_theta"]) == thetas
    assert np.all(np.isfinite(results["mean_test_score"])) and np.all(results["mean_test_score"] <= 1.0)
    assert search.best_params_["dpp_theta"] in thetas
    assert search.best_estimator_.dpp_theta == search.best_params_["dpp_theta"]
    assert search.best_estimator_.transform(X).shape == (40, 2)


def test_the_dpp_parameters_reach_the_training():
    # θ scales the DPPSG* direction, σ shapes it, λ₁ weighs it: each changes the features.
    X, y = _toy_images(40, seed=5)
    Z, hist = _fit_features(X, y, dpp_weight=1e6)
    assert hist["path_dppsg*"] == [1.0]
    for change in ({"dpp_theta": 0.5}, {"dpp_sigma": 0.5}, {"dpp_weight": 1e3}):
        assert not np.array_equal(_fit_features(X, y, **{"dpp_weight": 1e6, **change})[0], Z)
    assert np.array_equal(_fit_features(X, y, dpp_weight=1e6)[0], Z)


def test_settings_object_trains_like_the_flat_parameters():
    from spectral_ml.dpp import DPPSettings

    X, y = _toy_images(40, seed=6)
    flat = {"dpp": "dppsg", "dpp_weight": 1e5, "dpp_delta": 1e-5, "dpp_objective": "logdet"}
    settings = DPPSettings.from_params(flat)
    assert (settings.method, settings.subgradient, settings.underflow) == ("auto", "dppsg", "allow")
    Z_flat, h_flat = _fit_features(X, y, **flat)
    Z_obj, h_obj = _fit_features(X, y, dpp=settings)
    np.testing.assert_array_equal(Z_obj, Z_flat)
    assert h_obj["path_dppsg"] == h_flat["path_dppsg"]
    # The object holds every DPP setting: a flat one changed beside it is refused, by name.
    with pytest.raises(ValueError, match="dpp_theta=0.5 was given with dpp=DPPSettings"):
        PaperCNNLearner(**{**TINY, "dpp": settings, "dpp_theta": 0.5}).fit(X, y)


def test_the_papers_settings_by_name_train_like_its_flat_parameters_with_theta_0_1():
    from spectral_ml.dpp.settings import PAPER_NETWORK_THETA, PAPER_SETTINGS

    assert PaperCNNLearner().get_params()["dpp_theta"] == PAPER_NETWORK_THETA == 1e-3
    X, y = _toy_images(40, seed=8)
    paper = {k: v for k, v in paper_cnn_variant_params("DPPSG*").items() if k.startswith("dpp")}
    Z_flat, h_flat = _fit_features(X, y, **{**paper, "dpp_theta": 0.1})
    Z_named, h_named = _fit_features(X, y, dpp=PAPER_SETTINGS["DPPSG*"])
    np.testing.assert_array_equal(Z_named, Z_flat)
    assert h_named["path_dppsg*"] == h_flat["path_dppsg*"]
    # The new default takes a hundredth of that push: other features.
    assert not np.array_equal(_fit_features(X, y, **paper)[0], Z_flat)


def test_old_dict_parameters_train_the_same_with_a_future_warning():
    X, y = _toy_images(40, seed=7)
    Z, hist = _fit_features(
        X,
        y,
        dpp="dppsg",
        dpp_theta=0.3,
        dpp_weight=10.0,
        wgan=True,
        wgan_n_critic=2,
        wgan_n_reference=64,
        wgan_hidden=(8,),
    )
    old = {
        **TINY,
        "dpp": {"method": "dppsg", "theta": 0.3, "weight": 10.0},
        "wgan": {"n_critic": 2, "n_reference": 64, "hidden": (8,)},
    }
    with pytest.warns(FutureWarning) as record:
        model = PaperCNNLearner(**old).fit(X, y)
    assert [str(w.message).split(" as a dict")[0] for w in record] == ["dpp", "wgan"]
    assert all("deprecated" in str(w.message) for w in record)
    assert {w.filename for w in record} == {__file__}  # the warnings point at the caller of fit
    np.testing.assert_array_equal(model.transform(X), Z)
    assert {k: v for k, v in model.history_.items() if k != "time"} == {k: v for k, v in hist.items() if k != "time"}
    # None, the former default of wgan, still means no WGAN term (without a warning).
    model = PaperCNNLearner(**TINY, wgan=None).fit(X, y)
    assert model.critic_ is None and "critic" not in model.history_


@pytest.mark.parametrize(
    "legacy,match",
    [
        ({"dpp": {"method": "svd"}}, "'dpp'"),
        ({"dpp": {"lambda": 1.0}}, r"dpp has unknown keys \['lambda'\]"),
        ({"dpp": {"theta": 2.0}}, "'dpp_theta'"),
        ({"wgan": {"n_critic": 0}}, "'wgan_n_critic'"),
    ],
)
def test_old_dict_parameters_are_checked_under_their_new_names(legacy, match):
    X, y = _toy_images(40)
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match=match):
        PaperCNNLearner(**{**TINY, **legacy}).fit(X, y)


def test_score_is_the_retrieval_map():
    X, y = _toy_images(40, seed=8)
    model = PaperCNNLearner(**TINY).fit(X, y)
    Z = model.transform(X)
    assert model.score(X, y) == mean_average_precision_at_k(Z, y, 10)
    assert model.score(X[:3], y[:3]) == mean_average_precision_at_k(Z[:3], y[:3], 2)
    with pytest.raises(ValueError, match="at least 2 images"):
        model.score(X[:1], y[:1])
