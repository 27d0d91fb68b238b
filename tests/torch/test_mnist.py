"""The DPP paper's MNIST network in PyTorch: architecture, settings, training, bad input."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="spectral_ml.torch needs the optional torch extra")

from spectral_ml.evaluation import mean_average_precision_at_k  # noqa: E402
from spectral_ml.torch import PaperCNNLearner, PaperMNISTNet, paper_cnn_variant_params  # noqa: E402
from spectral_ml.torch.mnist import PAPER_CNN_SETTINGS  # noqa: E402


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
    assert len([m for m in PaperMNISTNet(feature_batch_norm=True).modules()
                if isinstance(m, torch.nn.BatchNorm1d)]) == 2
    out = net.eval()(torch.zeros(3, 1, 28, 28))
    assert out.shape == (3, 2)


def test_variant_params_carry_the_papers_settings():
    assert PAPER_CNN_SETTINGS["dpp_weight"] == 1e3 and PAPER_CNN_SETTINGS["wgan_weight"] == 1e6
    base = paper_cnn_variant_params("baseline")
    assert base["dpp"] is None and base["wgan"] is None
    assert base["batch_size"] == 200 and base["learning_rate"] == 1e-4
    assert base["margin"] == 0.8 and base["contrastive_alpha"] == 5.0
    star = paper_cnn_variant_params("DPPSG*+WGAN")
    assert star["dpp"] == {"method": "dppsg*", "sigma": 0.2, "weight": 1e3, "objective": "det", "delta": 1e-7}
    assert star["wgan"] == {"weight": 1e6, "n_reference": 2000}
    assert paper_cnn_variant_params("DPPSG")["dpp"]["method"] == "dppsg"
    assert paper_cnn_variant_params("DPPSG+WGAN", quick=True)["wgan"]["n_reference"] == 500
    with pytest.raises(ValueError, match="variant"):
        paper_cnn_variant_params("DPP")


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
    if params["wgan"] is not None:
        params["wgan"] = dict(params["wgan"], n_reference=100)
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
        ({"dpp": {"method": "svd"}}, None, "method"),
        ({"dpp": {"lambda": 1.0}}, None, "unknown"),
        ({"dpp": "dppsg*"}, None, "dpp"),
        ({"wgan": {"n_critic": 0}}, None, "n_critic"),
        ({"epochs": 0}, None, "epochs"),
        ({"learning_rate": -1.0}, None, "learning_rate"),
        ({"batch_size": 2.5}, None, "batch_size"),
    ],
)
def test_bad_input_raises_value_error(kwargs, X, match):
    Xg, y = _toy_images(40)
    with pytest.raises(ValueError, match=match):
        PaperCNNLearner(**kwargs).fit(Xg if X is None else X, y[: (40 if X is None else X.shape[0])] if X is None
                                      else np.arange(X.shape[0]) % 2)


def test_transform_before_fit_raises():
    with pytest.raises(ValueError, match="fit"):
        PaperCNNLearner().transform(np.zeros((2, 784), np.float32))
