"""DPPFeatureLearner: training, the objective's gradient, the DPP paths, the scikit-learn API."""

import math
import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from spectral_ml.nn import DPPFeatureLearner, parameters_to_vector, vector_to_parameters
from spectral_ml.testing import taylor_test
from tests._estimator_checks import sklearn_checks

from ._helpers import np_of


def _blobs(n_per_class=30, n_classes=3, d=5, seed=0, spread=1.0):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, 1, size=(n_classes, d))
    X = np.concatenate([c + 0.1 * spread * rng.standard_normal((n_per_class, d)) for c in centers])
    y = np.repeat(np.arange(n_classes), n_per_class)
    return X, y


FAST = dict(hidden=(16,), batch_size=30, learning_rate=1e-2, epochs=5)


def test_fit_transform_shapes_and_history():
    X, y = _blobs()
    est = DPPFeatureLearner(**FAST, dpp="dppsg*", wgan=True, wgan_hidden=(8,), wgan_n_reference=50, random_state=0)
    Z = est.fit(X, y).transform(X)
    assert Z.shape == (90, 2) and np.all(np.isfinite(Z))
    assert est.n_features_in_ == 5 and est.n_iter_ == 5 and est.n_steps_ == 5 * 3
    assert est.batch_size_ == 30 and est.train_time_ > 0
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    h = est.history_
    assert set(h) == {
        "loss",
        "contrastive",
        "diversity",
        "path_exact",
        "path_dppsg",
        "path_dppsg*",
        "generator",
        "critic",
        "time",
    }
    assert all(len(v) == 5 for v in h.values())
    assert all(math.isfinite(v) for vals in h.values() for v in vals)
    for e in range(5):
        assert h["path_exact"][e] + h["path_dppsg"][e] + h["path_dppsg*"][e] == pytest.approx(1.0)
    assert h["path_dppsg"] == [0.0] * 5  # the DPPSG* learner never takes DPPSG
    assert np.all(np.diff(h["time"]) > 0)
    assert list(est.get_feature_names_out()) == ["dppfeaturelearner0", "dppfeaturelearner1"]


def test_history_keys_follow_the_terms():
    X, y = _blobs()
    assert set(DPPFeatureLearner(**FAST, random_state=0).fit(X, y).history_) == {"loss", "contrastive", "time"}
    h = DPPFeatureLearner(**FAST, dpp="dppsg", random_state=0).fit(X, y).history_
    assert "diversity" in h and "generator" not in h
    h = DPPFeatureLearner(**FAST, wgan=True, random_state=0).fit(X, y).history_
    assert "generator" in h and "diversity" not in h


@pytest.mark.parametrize("dpp", [None, "dppsg", "dppsg*"])
def test_a_few_epochs_lower_the_loss(dpp):
    X, y = _blobs(spread=3.0)
    est = DPPFeatureLearner(**{**FAST, "epochs": 8}, dpp=dpp, dpp_weight=1e-3, random_state=1).fit(X, y)
    c = est.history_["contrastive"]
    assert c[-1] < 0.7 * c[0], c


def test_collapsing_features_still_train_through_the_subgradient():
    # Without its different-class term (α = 0) the contrastive loss pulls every batch
    # together until the features nearly coincide and det L ≈ 0.
    X, y = _blobs()
    kw = dict(hidden=(16,), batch_size=30, learning_rate=1e-2, epochs=10, contrastive_alpha=0.0, random_state=0)
    Z0 = DPPFeatureLearner(**kw).fit(X, y).transform(X)
    assert np.ptp(Z0, axis=0).max() < 0.3
    est = DPPFeatureLearner(**kw, dpp="dppsg*", dpp_weight=1e-2).fit(X, y)
    h = est.history_
    assert h["path_dppsg*"] == [1.0] * 10
    assert all(math.isfinite(v) for vals in h.values() for v in vals)
    Z = est.transform(X)
    assert np.all(np.isfinite(Z))
    assert np.ptp(Z, axis=0).max() > 5 * np.ptp(Z0, axis=0).max()
    # A larger weight spreads the features until det L >= β: the switch goes back to the
    # exact gradient.
    h = DPPFeatureLearner(**kw, dpp="dppsg*", dpp_weight=1.0).fit(X, y).history_
    assert h["path_dppsg*"][0] == 1.0 and h["path_exact"][-1] == 1.0


@pytest.mark.parametrize("sub", ["dppsg", "dppsg*"])
def test_exactly_collapsed_features_give_no_nan(sub):
    X = np.ones((40, 4))  # every feature identical: L is the all-ones matrix
    y = np.repeat([0, 1], 20)
    est = DPPFeatureLearner(hidden=(8,), batch_size=40, epochs=2, dpp=sub, random_state=0).fit(X, y)
    assert est.history_[f"path_{sub}"] == [1.0, 1.0]
    assert all(math.isfinite(v) for vals in est.history_.values() for v in vals)


def test_exact_method_on_a_singular_batch_raises_clearly():
    X = np.ones((40, 4))
    y = np.repeat([0, 1], 20)
    with pytest.raises(np.linalg.LinAlgError, match="epoch 1, batch 1"):
        DPPFeatureLearner(hidden=(8,), batch_size=40, epochs=1, dpp="exact", random_state=0).fit(X, y)


def _taylor_problem(batch_norm):
    X, y = _blobs(n_per_class=6, n_classes=3, d=4, seed=3, spread=4.0)
    est = DPPFeatureLearner(
        hidden=(7,),
        n_components=2,
        activation="tanh",
        batch_norm=batch_norm,
        batch_size=18,
        epochs=1,
        dpp="exact",
        dpp_sigma=0.05,
        dpp_weight=0.3,
        wgan=True,
        wgan_weight=50.0,
        wgan_hidden=(6,),
        wgan_activation="tanh",
        wgan_clip_value=None,
        wgan_n_reference=20,
        learning_rate=1e-3,
        dtype="float64",
        random_state=0,
    ).fit(X, y)
    return est, X, y


@pytest.mark.parametrize("batch_norm", [False, True])
def test_total_training_loss_taylor_wrt_parameters(batch_norm):
    est, X, y = _taylor_problem(batch_norm)
    params = est.net_.parameters()
    theta0 = parameters_to_vector(params)
    _, terms = est.batch_loss(X, y)
    assert terms["path"] == "exact"
    assert set(terms) == {"contrastive", "diversity", "path", "generator"}

    def f(theta):
        vector_to_parameters(theta, params)
        return est.batch_loss(X, y)[0]

    def g(theta):
        vector_to_parameters(theta, params)
        return est.batch_loss(X, y, return_gradient=True)[2]

    try:
        for seed in (0, 1, 2):
            res = taylor_test(f, g, theta0, seed=seed, steps=0.01 * 2.0 ** -np.arange(10))
            assert abs(res.order - 2) < 0.2, str(res)
        # Negative control: dropping the generator term's share of the gradient breaks the order.
        vector_to_parameters(theta0, params)
        grad_full = est.batch_loss(X, y, return_gradient=True)[2]
        est._objective_.wgan_weight = 0.0
        grad_wrong = est.batch_loss(X, y, return_gradient=True)[2]
        est._objective_.wgan_weight = est.wgan_weight
        assert not np.allclose(grad_full, grad_wrong)
        res = taylor_test(f, grad_wrong, theta0, steps=0.01 * 2.0 ** -np.arange(10))
        assert abs(res.order - 1) < 0.2, str(res)
    finally:
        vector_to_parameters(theta0, params)


def test_batch_loss_changes_nothing():
    est, X, y = _taylor_problem(batch_norm=True)
    state = est.net_.state_dict()
    critic_state = est.critic_.state_dict()
    Z = est.transform(X)
    loss, terms, grad = est.batch_loss(X, y, return_gradient=True)
    assert math.isfinite(loss) and grad.shape == parameters_to_vector(est.net_).shape
    for k, v in est.net_.state_dict().items():
        np.testing.assert_array_equal(v, state[k])
    for k, v in est.critic_.state_dict().items():
        np.testing.assert_array_equal(v, critic_state[k])
    np.testing.assert_array_equal(est.transform(X), Z)
    assert not est.net_.training


def test_get_params_set_params_clone():
    est = DPPFeatureLearner(hidden=(32, 16), dpp="dppsg", dpp_weight=2.0, wgan=True, epochs=3)
    params = est.get_params()
    assert params["hidden"] == (32, 16) and params["dpp"] == "dppsg" and params["dpp_weight"] == 2.0
    assert params["wgan"] is True and params["wgan_weight"] == 1e3 and params["dpp_sigma"] == 0.2
    assert params["contrastive_alpha"] == 5.0 and params["margin"] == 0.8 and params["batch_size"] == 200
    est.set_params(epochs=7, learning_rate=1e-3, dpp_sigma=0.3, wgan_n_critic=2)
    assert est.epochs == 7 and est.learning_rate == 1e-3 and est.dpp_sigma == 0.3 and est.wgan_n_critic == 2
    twin = clone(est)
    assert twin.get_params() == est.get_params() and twin is not est
    X, y = _blobs()
    est.set_params(**FAST).fit(X, y)
    assert not hasattr(clone(est), "net_")


def test_determinism_with_random_state():
    X, y = _blobs()
    kw = dict(**FAST, dpp="dppsg*", wgan=True, wgan_hidden=(8,), wgan_n_reference=40)
    a = DPPFeatureLearner(**kw, random_state=3).fit(X, y)
    b = DPPFeatureLearner(**kw, random_state=3).fit(X, y)
    c = DPPFeatureLearner(**kw, random_state=4).fit(X, y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert {k: v for k, v in a.history_.items() if k != "time"} == {k: v for k, v in b.history_.items() if k != "time"}
    assert not np.allclose(a.transform(X), c.transform(X))


def test_float32_option():
    X, y = _blobs()
    est = DPPFeatureLearner(**FAST, dpp="dppsg*", dtype="float32", random_state=0).fit(X, y)
    assert est.net_.parameters()[0].data.dtype == np.float32
    assert est.transform(X).dtype == np.float32
    # dtype=None follows the data.
    est = DPPFeatureLearner(**FAST, random_state=0).fit(X.astype(np.float32), y)
    assert est.transform(X).dtype == np.float32


def test_array_api_namespaces(xp):
    X, y = _blobs()
    Xx = xp.asarray(X)
    est = DPPFeatureLearner(**{**FAST, "epochs": 2}, dpp="dppsg*", random_state=0).fit(Xx, xp.asarray(y))
    Z = est.transform(Xx)
    assert type(Z) is type(Xx) and tuple(Z.shape) == (90, 2)
    ref = DPPFeatureLearner(**{**FAST, "epochs": 2}, dpp="dppsg*", random_state=0).fit(X, y)
    np.testing.assert_allclose(np_of(Z), ref.transform(X), rtol=1e-6, atol=1e-8)


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = _blobs()
    DPPFeatureLearner(**{**FAST, "epochs": 3}, dpp="dppsg*", verbose=True, random_state=0).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if "epoch" in line]
    assert len(lines) == 3
    assert "L_C" in lines[0] and "L_D" in lines[0] and "dppsg*" in lines[0]


def test_batch_size_larger_than_the_data_warns():
    X, y = _blobs(n_per_class=10)
    with pytest.warns(UserWarning, match="batch_size"):
        est = DPPFeatureLearner(hidden=(8,), epochs=2, random_state=0).fit(X, y)
    assert est.batch_size_ == 30


def test_diverging_training_raises_floating_point_error():
    X, y = _blobs()
    est = DPPFeatureLearner(**{**FAST, "epochs": 50, "learning_rate": 1e30}, optimizer="sgd", random_state=0)
    with pytest.raises(FloatingPointError, match="epoch"):
        est.fit(X, y)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"hidden": (0,)}, "hidden"),
        ({"hidden": "big"}, "hidden"),
        ({"n_components": 0}, "n_components"),
        ({"activation": "swish"}, "activation"),
        ({"final_activation": "swish"}, "final_activation"),
        ({"batch_norm": "yes"}, "batch_norm"),
        ({"dpp": "svd"}, "dpp"),
        ({"dpp": 3}, "dpp"),
        ({"dpp": {"method": "dppsg"}}, "dpp"),
        ({"dpp_sigma": -1.0}, "dpp_sigma"),
        ({"dpp_sigma": float("inf")}, "dpp_sigma"),
        ({"dpp_weight": float("nan")}, "dpp_weight"),
        ({"dpp_theta": 1.5}, "dpp_theta"),
        ({"dpp_theta": 0.0}, "dpp_theta"),
        ({"dpp_delta": 0.0}, "dpp_delta"),
        ({"dpp_beta": -1.0}, "dpp_beta"),
        ({"dpp_objective": "trace"}, "dpp_objective"),
        ({"wgan": "yes"}, "wgan"),
        ({"wgan": {"weight": 1.0}}, "wgan"),
        ({"wgan_n_critic": 0}, "wgan_n_critic"),
        ({"wgan_weight": -1.0}, "wgan_weight"),
        ({"wgan_clip_value": 0.0}, "wgan_clip_value"),
        ({"wgan_sampler": 3}, "wgan_sampler"),
        ({"wgan_n_reference": 0}, "wgan_n_reference"),
        ({"wgan_hidden": (4, 0)}, "wgan_hidden"),
        ({"wgan_activation": "swish"}, "wgan_activation"),
        ({"wgan_optimizer": "lbfgs"}, "wgan_optimizer"),
        ({"wgan_learning_rate": 0.0}, "wgan_learning_rate"),
        ({"margin": -0.1}, "margin"),
        ({"contrastive_alpha": float("inf")}, "contrastive_alpha"),
        ({"contrastive_reduction": "max"}, "contrastive_reduction"),
        ({"batch_size": 1}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"dtype": "int8"}, "dtype"),
        ({"verbose": -1}, "verbose"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_bad_hyper_parameters(params, name):
    X, y = _blobs()
    # The WGAN settings are checked with the term on, like every other setting.
    est = DPPFeatureLearner(**{"wgan": True, "epochs": 1, "batch_size": 30, **params})
    with pytest.raises(ValueError, match=f"\\b{re.escape(name)}\\b"):
        est.fit(X, y)


def test_bad_input():
    X, y = _blobs()
    est = DPPFeatureLearner(**FAST)
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="X"):
        est.fit(Xn, y)
    Xn[3, 2] = np.inf
    with pytest.raises(ValueError, match="X"):
        est.fit(Xn, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(X, y[:-1])
    with pytest.raises(ValueError, match="2 classes"):
        est.fit(X, np.zeros(90))
    with pytest.raises(ValueError, match="2D array"):
        est.fit(X[:, 0], y)
    with pytest.raises(ValueError, match="requires y"):
        est.fit(X, None)
    with pytest.raises(ValueError, match="Unknown label type"):
        est.fit(X, np.linspace(0, 1, 90))
    with pytest.raises(ValueError, match="batch_size"):
        DPPFeatureLearner(hidden=(4,), batch_size=2, epochs=1).fit(X, y)  # 3 classes
    est.fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.transform(X[:, :4])
    with pytest.raises(ValueError, match="X"):
        est.transform(Xn)


def test_transform_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        DPPFeatureLearner().transform(np.zeros((3, 2)))


def test_importable_from_the_package():
    import spectral_ml

    assert spectral_ml.DPPFeatureLearner is DPPFeatureLearner


@sklearn_checks([DPPFeatureLearner(hidden=(8,), epochs=2, batch_size=20, dpp="dppsg*", random_state=0)])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="batch_size=", category=UserWarning)
        check(estimator)


def test_grid_search_over_a_dpp_hyper_parameter():
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    X, y = _blobs(n_per_class=20, spread=3.0)
    pipe = make_pipeline(
        DPPFeatureLearner(
            hidden=(8,), batch_size=20, epochs=3, learning_rate=1e-2, dpp="dppsg*", dpp_weight=0.1, random_state=0
        ),
        KNeighborsClassifier(n_neighbors=3),
    )
    sigmas = [0.02, 0.5, 2.0]
    search = GridSearchCV(pipe, {"dppfeaturelearner__dpp_sigma": sigmas}, cv=2).fit(X, y)
    results = search.cv_results_
    assert list(results["param_dppfeaturelearner__dpp_sigma"]) == sigmas
    assert results["mean_test_score"].shape == (3,) and np.all(np.isfinite(results["mean_test_score"]))
    best = search.best_params_["dppfeaturelearner__dpp_sigma"]
    assert best in sigmas and results["rank_test_score"][sigmas.index(best)] == 1
    # The refitted learner trained with the chosen σ, and σ reaches the training.
    learner = search.best_estimator_[0]
    assert learner.dpp_sigma == best and learner._objective_.dpp_args["sigma"] == best
    other = clone(learner).set_params(dpp_sigma=next(s for s in sigmas if s != best)).fit(X, y)
    assert not np.allclose(other.transform(X), learner.transform(X))


def test_set_params_reaches_every_dpp_and_wgan_setting():
    X, y = _blobs()
    est = DPPFeatureLearner(**FAST, dpp="dppsg*", wgan=True, wgan_hidden=(4,), wgan_n_reference=10, random_state=0)
    est.set_params(
        dpp="exact",
        dpp_sigma=0.5,
        dpp_weight=0.2,
        dpp_objective="det",
        dpp_beta=1e-3,
        dpp_delta=1e-5,
        dpp_theta=0.3,
        wgan_weight=7.0,
        wgan_n_critic=2,
    ).fit(X, y)
    assert est._objective_.dpp_args == {
        "sigma": 0.5,
        "weight": 0.2,
        "objective": "det",
        "method": "exact",
        "subgradient": "dppsg*",
        "beta": 1e-3,
        "delta": 1e-5,
        "theta": 0.3,
        "underflow": "allow",
    }
    assert est._objective_.wgan_weight == 7.0 and est.critic_.n_critic == 2
    assert est.critic_.n_reference == 10 and est.critic_.net.sizes == [2, 4, 1]
    # dpp_weight=None takes the method's default; wgan=False drops the term and the critic.
    est.set_params(dpp="dppsg", dpp_weight=None, wgan=False).fit(X, y)
    assert est._objective_.dpp_args["weight"] == 1e5 and est._objective_.dpp_args["subgradient"] == "dppsg"
    assert est.critic_ is None and est._objective_.wgan_weight is None and "generator" not in est.history_


def test_labels_reach_every_batch_as_codes_in_the_namespace_of_the_data(xp, monkeypatch):
    from spectral_ml.nn import training

    seen = []
    original = training.FeatureObjective.__call__

    def spy(self, F, labels, critic=None, **kwargs):
        seen.append(labels)
        return original(self, F, labels, critic, **kwargs)

    monkeypatch.setattr(training.FeatureObjective, "__call__", spy)
    X, y = _blobs()
    labels = np.array(["b", "a", "c"])[y]  # strings: encoded once per fit
    Xx = xp.asarray(X)
    DPPFeatureLearner(**{**FAST, "epochs": 2}, dpp="dppsg*", random_state=0).fit(Xx, labels)
    assert len(seen) == 2 * 3
    for codes in seen:
        assert type(codes) is type(Xx) and codes.dtype == xp.int64 and tuple(codes.shape) == (30,)
    # Codes follow the sorted classes: "a" -> 0, "b" -> 1, "c" -> 2.
    assert sorted(np.unique(np_of(seen[0])).tolist()) == [0, 1, 2]


@pytest.mark.parametrize("check_name", ["check_set_output_transform_pandas", "check_global_output_transform_pandas"])
def test_set_output_pandas_governs_transform_and_fit_transform(check_name):
    pytest.importorskip("pandas")
    from sklearn.utils import estimator_checks

    est = DPPFeatureLearner(hidden=(8,), epochs=2, batch_size=20, dpp="dppsg*", random_state=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="batch_size=", category=UserWarning)
        # The checks themselves transform with and without column names.
        warnings.filterwarnings("ignore", message=".*feature names", category=UserWarning)
        getattr(estimator_checks, check_name)("DPPFeatureLearner", est)


def test_set_output_pandas_in_a_pipeline():
    pd = pytest.importorskip("pandas")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _blobs()

    def pipeline():
        return make_pipeline(StandardScaler(), DPPFeatureLearner(**FAST, random_state=0))

    pipe = pipeline().set_output(transform="pandas")
    Z_fit = pipe.fit_transform(X, y)
    Z = pipe.transform(X)
    for frame in (Z_fit, Z):
        assert isinstance(frame, pd.DataFrame)
        assert list(frame.columns) == ["dppfeaturelearner0", "dppfeaturelearner1"]
    np.testing.assert_allclose(Z.to_numpy(), pipeline().fit(X, y).transform(X))


def test_fitted_learner_with_the_wgan_term_pickles():
    import pickle

    X, y = _blobs()
    est = DPPFeatureLearner(**FAST, dpp="dppsg*", wgan=True, wgan_hidden=(4,), wgan_n_reference=20, random_state=0).fit(
        X, y
    )
    twin = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(twin.transform(X), est.transform(X))
    assert twin.batch_loss(X[:30], y[:30])[0] == est.batch_loss(X[:30], y[:30])[0]


def test_features_spread_beyond_the_kernel_width_do_not_stop_training():
    # Unscaled inputs: the features of a batch lie far apart at σ = 0.2, every kernel entry
    # off the diagonal underflows, and the DPP term is zero there instead of an error.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 2)) * 1e4, np.arange(20) % 2
    est = DPPFeatureLearner(hidden=(8,), epochs=2, dpp="dppsg*", batch_size=8, random_state=0).fit(X, y)
    h = est.history_
    assert est.n_steps_ == 2 * 2 and all(math.isfinite(v) for vals in h.values() for v in vals)
    # log det L <= 0 (unit diagonal), = 0 on the batches whose kernel is the identity.
    assert all(v <= 0.0 for v in h["diversity"])


def test_dpp_settings_object_trains_like_the_flat_parameters():
    from spectral_ml.dpp import DPPSettings

    X, y = _blobs()
    flat = dict(dpp="dppsg", dpp_sigma=0.3, dpp_weight=1e4, dpp_delta=1e-5)
    ref = DPPFeatureLearner(**FAST, **flat, random_state=0).fit(X, y)
    settings = DPPSettings.from_params(flat)
    est = DPPFeatureLearner(**FAST, dpp=settings, random_state=0).fit(X, y)
    np.testing.assert_array_equal(est.transform(X), ref.transform(X))
    assert est._objective_.dpp_settings == ref._objective_.dpp_settings == settings
    # It is a parameter like any other: cloned by value, and the flat ones beside it stay at
    # their defaults.
    twin = clone(est)
    assert twin.dpp == settings and twin.get_params()["dpp"] == settings
    with pytest.raises(ValueError, match="dpp_theta=0.5 was given with dpp=DPPSettings"):
        twin.set_params(dpp_theta=0.5).fit(X, y)
    with pytest.raises(ValueError, match="'dpp' parameter"):
        DPPFeatureLearner(**FAST, dpp={"method": "dppsg*"}).fit(X, y)
