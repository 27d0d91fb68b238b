"""Plotting: every function returns a Figure with the expected content, saves headless."""

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from spectral_ml.datasets import make_aml_synthetic
from spectral_ml.plotting import (
    plot_embedding_2d,
    plot_feature_grid,
    plot_feature_scatter,
    plot_loss_curves,
    plot_overhead,
    plot_roc,
    plot_sensitivity,
)


def _panel(seed, n=60, n_classes=3):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(n, 2)), rng.integers(0, n_classes, n)


def _png_ok(fig, path):
    fig.savefig(path, dpi=40)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().texts]


def _scatters(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def test_module_does_not_touch_pyplot():
    code = "import spectral_ml.plotting, sys; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_feature_scatter(tmp_path, xp):
    X, y = _panel(0)
    fig = plot_feature_scatter(xp.asarray(X), xp.asarray(y), title="MNIST", limits=1.5,
                               reference_box=True, class_names=["zero", "one", "two"])
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(_scatters(ax)) == 3
    assert sum(len(c.get_offsets()) for c in _scatters(ax)) == 60
    assert _legend_texts(ax) == ["zero", "one", "two"]
    assert [p for p in ax.patches if isinstance(p, Rectangle)][0].get_width() == 2.0
    assert ax.get_xlim() == (-1.5, 1.5) and ax.get_title() == "MNIST"
    _png_ok(fig, tmp_path / "scatter.png")


def test_feature_scatter_into_existing_axes_and_without_labels():
    fig = Figure()
    ax = fig.add_subplot(1, 2, 2)
    X, _ = _panel(1)
    assert plot_feature_scatter(X, ax=ax, limits=((-2, 2), (-1, 1))) is fig
    assert len(_scatters(ax)) == 1 and ax.get_legend() is None
    assert ax.get_ylim() == (-1.0, 1.0)
    # Axes of a sub-figure: the root figure is returned.
    root = Figure()
    sub_ax = root.subfigures(1, 2)[0].add_subplot()
    assert plot_feature_scatter(X, ax=sub_ax) is root


@pytest.mark.parametrize(
    "features, labels, kwargs, match",
    [
        (np.zeros((5, 3)), None, {}, "2 columns"),
        (np.zeros(5), None, {}, "2-D"),
        (np.full((5, 2), np.nan), None, {}, "features"),
        (np.zeros((5, 2)), np.zeros(4), {}, "labels"),
        (np.zeros((5, 2)), None, {"limits": (1, -1)}, "limits"),
        (np.zeros((5, 2)), None, {"limits": -2.0}, "limits"),
        (np.zeros((5, 2)), None, {"limits": "wide"}, "limits"),
    ],
)
def test_feature_scatter_bad_input(features, labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_feature_scatter(features, labels, **kwargs)


def test_feature_grid_flat_and_nested(tmp_path):
    flat = plot_feature_grid({f"m{i}": _panel(i) for i in range(5)}, ncols=3, limits=1.2,
                             reference_box=True, title="Fig. 1")
    assert len(flat.axes) == 5
    assert [ax.get_title() for ax in flat.axes] == [f"m{i}" for i in range(5)]
    assert len(flat.legends) == 1 and len(flat.legends[0].texts) == 3
    _png_ok(flat, tmp_path / "flat.png")

    nested = plot_feature_grid({
        "DPPSG": {"train": _panel(0), "test": _panel(1)},
        "plain": {"train": _panel(2), "test": _panel(3)},
        "WGAN": {"test": _panel(4)},
    }, legend=False)
    assert len(nested.axes) == 5 and not nested.legends
    assert nested.axes[-1].get_title() == "WGAN (test)"
    # The lone "test" panel sits in the second column, under the other test panels.
    assert nested.axes[-1].get_subplotspec().colspan.start == 1
    _png_ok(nested, tmp_path / "nested.png")


@pytest.mark.parametrize(
    "panels, kwargs, match",
    [
        ({}, {}, "non-empty"),
        ([("a", None)], {}, "mapping"),
        ({"a": _panel(0), "b": {"train": _panel(1)}}, {}, "every name"),
        ({"a": (np.zeros((3, 2)),)}, {}, "pair"),
        ({"a": _panel(0)}, {"ncols": 0}, "ncols"),
        ({"a": {}}, {}, "empty"),
    ],
)
def test_feature_grid_bad_input(panels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_feature_grid(panels, **kwargs)


def test_roc(tmp_path):
    fpr = np.array([0.0, 0.1, 0.4, 1.0])
    tpr = np.array([0.0, 0.6, 0.9, 1.0])
    fig = plot_roc({"AML": (fpr, tpr), "GMML": (fpr, tpr ** 2, 0.75)}, title="LFW")
    ax = fig.axes[0]
    area = 0.1 * 0.3 + 0.3 * 0.75 + 0.6 * 0.95
    assert _legend_texts(ax) == [f"AML (AUC = {area:.3f})", "GMML (AUC = 0.750)"]
    assert len(ax.get_lines()) == 3  # two curves and the chance diagonal
    _png_ok(fig, tmp_path / "roc.png")
    assert len(plot_roc({"a": (fpr, tpr)}, chance=False).axes[0].get_lines()) == 1


@pytest.mark.parametrize(
    "curves, match",
    [
        ({}, "non-empty"),
        ({"a": (np.zeros(3),)}, "fpr, tpr"),
        ({"a": (np.zeros(3), np.zeros(4))}, "differ in length"),
        ({"a": (np.array([0, 2.0]), np.array([0, 1.0]))}, r"\[0, 1\]"),
        ({"a": (np.array([[0, 1.0]]), np.array([0, 1.0]))}, "1-D"),
    ],
)
def test_roc_bad_input(curves, match):
    with pytest.raises(ValueError, match=match):
        plot_roc(curves)


def test_sensitivity(tmp_path):
    grid = 10.0 ** np.arange(-3, 4)
    fig = plot_sensitivity(grid, np.linspace(0.1, 0.2, 7), np.linspace(0.3, 0.1, 7),
                           param_name="alpha", title="MNIST")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "alpha"
    assert _legend_texts(ax) == ["train", "test"] and len(ax.get_lines()) == 2
    _png_ok(fig, tmp_path / "sens.png")
    lin = plot_sensitivity([-1, 0, 1], [0, 0, 0], [1, 1, 1], log_x=False)
    assert lin.axes[0].get_xscale() == "linear"
    with pytest.raises(ValueError, match="positive"):
        plot_sensitivity([0, 1], [0, 0], [1, 1])
    with pytest.raises(ValueError, match="equal lengths"):
        plot_sensitivity([1, 2], [0, 0, 0], [1, 1])


def test_overhead(tmp_path):
    sizes = [100, 200, 250, 400, 500]
    fig = plot_overhead(sizes, [0.011, 0.029, 0.033, 0.042, 0.056], [0.175, 0.263, 0.308, 0.411, 0.493])
    ax = fig.axes[0]
    assert len(ax.containers) == 2 and all(len(c) == 5 for c in ax.containers)
    assert _legend_texts(ax) == ["overhead-all", "overhead-DPP"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["100", "200", "250", "400", "500"]
    assert ax.containers[1][4].get_height() == pytest.approx(0.056)
    _png_ok(fig, tmp_path / "overhead.png")
    with pytest.raises(ValueError, match="equal lengths"):
        plot_overhead([1, 2], [0.1], [0.2, 0.3])
    with pytest.raises(ValueError, match="non-negative"):
        plot_overhead([1], [-0.1], [0.2])


def test_loss_curves(tmp_path):
    fig = plot_loss_curves({"DPPSG": [3.0, 2.0, np.nan, 1.0], "plain": np.array([2.0, 1.5])}, log_y=True)
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2 and _legend_texts(ax) == ["DPPSG", "plain"]
    assert ax.get_yscale() == "log"
    assert len(ax.get_lines()[0].get_xdata()) == 4
    _png_ok(fig, tmp_path / "loss.png")
    with pytest.raises(ValueError, match="non-empty"):
        plot_loss_curves({})
    with pytest.raises(ValueError, match="positive"):
        plot_loss_curves({"a": [1.0, 0.0]}, log_y=True)
    with pytest.raises(ValueError, match="infinite"):
        plot_loss_curves({"a": [1.0, np.inf]})
    with pytest.raises(ValueError, match="no finite"):
        plot_loss_curves({"a": [np.nan]})


def test_embedding_2d_uses_principal_axes(tmp_path):
    data = make_aml_synthetic(random_state=0)
    fig = plot_embedding_2d(data.X_train, data.y_train, title="train", class_names=["a", "b"])
    ax = fig.axes[0]
    assert _legend_texts(ax) == ["a", "b"]
    pts = np.concatenate([c.get_offsets() for c in _scatters(ax)])
    # The first principal axis of the training set is the class direction e_1, so the first
    # coordinate carries most of the variance and separates the classes.
    assert pts[:, 0].var() > 5 * pts[:, 1].var()
    _png_ok(fig, tmp_path / "embedding.png")


def test_embedding_2d_transform_forms_agree():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), rng.integers(0, 2, 40)
    L = rng.normal(size=(3, 4))

    class Linear:
        def transform(self, A):
            return A @ L.T

    def offsets(fig):
        return np.concatenate([c.get_offsets() for c in _scatters(fig.axes[0])])

    by_matrix = offsets(plot_embedding_2d(X, y, transform=L, basis_from=X[:20]))
    by_callable = offsets(plot_embedding_2d(X, y, transform=lambda A: A @ L.T, basis_from=X[:20]))
    by_object = offsets(plot_embedding_2d(X, y, transform=Linear(), basis_from=X[:20]))
    np.testing.assert_allclose(by_matrix, by_callable)
    np.testing.assert_allclose(by_matrix, by_object)
    one_d = offsets(plot_embedding_2d(X, y, transform=L[:1]))
    np.testing.assert_array_equal(one_d[:, 1], 0.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"X": np.zeros(5)}, "X must be 2-D"),
        ({"y": np.zeros(3)}, "y must be 1-D"),
        ({"transform": np.zeros((2, 3))}, "transform"),
        ({"transform": lambda A: A[:3]}, "rows"),
        ({"basis_from": np.zeros((5, 2))}, "basis_from"),
    ],
)
def test_embedding_2d_bad_input(kwargs, match):
    args = {"X": np.random.default_rng(0).normal(size=(6, 4)), "y": np.zeros(6)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        plot_embedding_2d(args.pop("X"), args.pop("y"), **args)
