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
    REFERENCE_BOX_LABEL,
    plot_eigenvalue_spectrum,
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


def _legend_texts(ax_or_fig):
    legend = ax_or_fig.legends[0] if isinstance(ax_or_fig, Figure) else ax_or_fig.get_legend()
    return [t.get_text() for t in legend.texts]


def _scatters(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def _render(fig):
    """Draw ``fig`` on an Agg canvas; returns the renderer and the RGBA pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer(), np.asarray(canvas.buffer_rgba()).copy()


def _inside(inner, outer, tol=1.0):
    return (
        inner.x0 >= outer.x0 - tol
        and inner.y0 >= outer.y0 - tol
        and inner.x1 <= outer.x1 + tol
        and inner.y1 <= outer.y1 + tol
    )


def assert_readable(fig):
    """Every axes has x and y labels; legends, labels and titles lie inside the figure.

    Checked on the drawn figure, as saved without ``bbox_inches="tight"``: a legend or label
    outside ``fig.bbox`` would be cut off.
    """
    renderer, _ = _render(fig)
    assert fig.axes
    for ax in fig.axes:
        assert ax.get_xlabel().strip() and ax.get_ylabel().strip(), f"axes {ax.get_title()!r} lacks a label"
        for text in (ax.xaxis.label, ax.yaxis.label, ax.title):
            if text.get_text():
                assert _inside(text.get_window_extent(renderer), fig.bbox), text.get_text()
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    for legend in legends:
        assert _inside(legend.get_window_extent(renderer), fig.bbox), [t.get_text() for t in legend.texts]
    return legends, renderer


def assert_every_line_visible(fig, ax, min_pixels=25):
    """Hiding any labelled line clearly changes at least ``min_pixels`` pixels: none is covered.

    A line drawn exactly under another of the same width still tints the antialiased edge
    pixels of the line above (by at most a quarter of the colour difference); a pixel counts
    only if some channel changes by more than 40 % of its range, i.e. where the line shows
    itself. Rendered at 50 dpi to keep the test fast.
    """
    dpi = fig.get_dpi()
    fig.set_dpi(50)
    try:
        _, full = _render(fig)
        for line in ax.get_lines():
            if line.get_label().startswith("_"):
                continue
            line.set_visible(False)
            _, without = _render(fig)
            line.set_visible(True)
            change = np.abs(full[..., :3].astype(int) - without[..., :3].astype(int)).max(axis=-1)
            shown = np.count_nonzero(change > 0.4 * 255)
            assert shown >= min_pixels, f"line {line.get_label()!r} is hidden ({shown} pixels of its own)"
    finally:
        fig.set_dpi(dpi)


def test_module_does_not_touch_pyplot():
    code = "import spectral_ml.plotting, sys; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_feature_scatter(tmp_path, xp):
    X, y = _panel(0)
    fig = plot_feature_scatter(
        xp.asarray(X), xp.asarray(y), title="MNIST", limits=1.5, reference_box=True, class_names=["zero", "one", "two"]
    )
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(_scatters(ax)) == 3
    assert sum(len(c.get_offsets()) for c in _scatters(ax)) == 60
    # The dashed square has a legend entry that says what it is.
    assert _legend_texts(ax) == ["zero", "one", "two", REFERENCE_BOX_LABEL]
    assert [p for p in ax.patches if isinstance(p, Rectangle)][0].get_width() == 2.0
    assert ax.get_xlim() == (-1.5, 1.5) and ax.get_title() == "MNIST"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("feature 1", "feature 2")
    assert_readable(fig)
    _png_ok(fig, tmp_path / "scatter.png")
    pcs = plot_feature_scatter(X, y, axis_labels=("PC 1", "PC 2"), legend=True)
    assert (pcs.axes[0].get_xlabel(), pcs.axes[0].get_ylabel()) == ("PC 1", "PC 2")
    assert _legend_texts(pcs.axes[0]) == ["0", "1", "2"]  # no square, no entry for it


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
        (np.zeros((5, 2)), None, {"axis_labels": "x"}, "axis_labels"),
        (np.zeros((5, 2)), None, {"axis_labels": ("x", "y", "z")}, "axis_labels"),
    ],
)
def test_feature_scatter_bad_input(features, labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_feature_scatter(features, labels, **kwargs)


def test_feature_grid_flat_and_nested(tmp_path):
    flat = plot_feature_grid(
        {f"m{i}": _panel(i) for i in range(5)}, ncols=3, limits=1.2, reference_box=True, title="Fig. 1"
    )
    assert len(flat.axes) == 5
    assert [ax.get_title() for ax in flat.axes] == [f"m{i}" for i in range(5)]
    assert len(flat.legends) == 1
    assert _legend_texts(flat) == ["0", "1", "2", REFERENCE_BOX_LABEL]
    (legend,), renderer = assert_readable(flat)
    # One key for the grid, under the panels, not beside the figure title.
    lowest_panel = min(ax.get_window_extent(renderer).y0 for ax in flat.axes)
    assert legend.get_window_extent(renderer).y1 <= lowest_panel
    _png_ok(flat, tmp_path / "flat.png")
    # Long class names: the key wraps into more rows instead of running off the figure.
    long_names = plot_feature_grid(
        {"a": _panel(0, n_classes=10), "b": _panel(1, n_classes=10)},
        reference_box=True,
        class_names=[f"handwritten digit {k}" for k in range(10)],
    )
    assert len(long_names.legends[0].texts) == 11
    assert_readable(long_names)

    nested = plot_feature_grid(
        {
            "DPPSG": {"train": _panel(0), "test": _panel(1)},
            "plain": {"train": _panel(2), "test": _panel(3)},
            "WGAN": {"test": _panel(4)},
        },
        legend=False,
    )
    assert len(nested.axes) == 5 and not nested.legends
    assert_readable(nested)
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
        ({"a": _panel(0)}, {"axis_labels": None}, "axis_labels"),
    ],
)
def test_feature_grid_bad_input(panels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_feature_grid(panels, **kwargs)


def test_roc(tmp_path):
    fpr = np.array([0.0, 0.1, 0.4, 1.0])
    tpr = np.array([0.0, 0.6, 0.9, 1.0])
    fig = plot_roc({"AML": (fpr, tpr), "GMML": (fpr, tpr**2, 0.75)}, title="LFW")
    ax = fig.axes[0]
    area = 0.1 * 0.3 + 0.3 * 0.75 + 0.6 * 0.95
    assert _legend_texts(ax) == [f"AML (AUC = {area:.3f})", "GMML (AUC = 0.750)"]
    assert len(ax.get_lines()) == 3  # two curves and the chance diagonal
    assert_readable(fig)
    _png_ok(fig, tmp_path / "roc.png")
    # Methods with the same curve stay apart (the area comes from sklearn.metrics.auc).
    same = plot_roc({"Euclidean": (fpr, tpr), "GMML": (fpr, tpr), "AML": (fpr[::-1], tpr[::-1])})
    assert {t.get_text().split(" (")[1] for t in same.axes[0].get_legend().texts} == {f"AUC = {area:.3f})"}
    assert_every_line_visible(same, same.axes[0])
    assert len(plot_roc({"a": (fpr, tpr)}, chance=False).axes[0].get_lines()) == 1


@pytest.mark.parametrize(
    "curves, match",
    [
        ({}, "non-empty"),
        ({"a": (np.zeros(3),)}, "fpr, tpr"),
        ({"a": (np.zeros(3), np.zeros(4))}, "differ in length"),
        ({"a": (np.array([0, 2.0]), np.array([0, 1.0]))}, r"\[0, 1\]"),
        ({"a": (np.array([[0, 1.0]]), np.array([0, 1.0]))}, "1-D"),
        ({"a": (np.array([0, 0.5, 0.2, 1.0]), np.array([0, 0.6, 0.7, 1.0]))}, "monotonic"),
    ],
)
def test_roc_bad_input(curves, match):
    with pytest.raises(ValueError, match=match):
        plot_roc(curves)


def test_sensitivity(tmp_path):
    grid = 10.0 ** np.arange(-3, 4)
    fig = plot_sensitivity(grid, np.linspace(0.1, 0.2, 7), np.linspace(0.3, 0.1, 7), param_name="alpha", title="MNIST")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "alpha"
    assert _legend_texts(ax) == ["train", "test"] and len(ax.get_lines()) == 2
    assert_readable(fig)
    _png_ok(fig, tmp_path / "sens.png")
    equal = plot_sensitivity(grid, np.full(7, 0.1), np.full(7, 0.1))
    assert_every_line_visible(equal, equal.axes[0])
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
    assert_readable(fig)
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
    assert_readable(fig)
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
    assert_readable(fig)
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


@pytest.mark.parametrize("n_points", [5, 200])
def test_loss_curves_that_coincide_all_show(n_points):
    # The DPP retrieval figure: a DPP term that barely acts leaves its curve on the
    # baseline's. Five series, three of them equal: all five must be seen, and told apart.
    curve = np.exp(-np.arange(n_points) / (n_points / 4)) + 0.1
    history = {
        "baseline": curve,
        "DPPSG": curve,
        "DPPSG*": curve,
        "DPPSG+WGAN": curve + 0.05,
        "DPPSG*+WGAN": curve + 0.1,
    }
    fig = plot_loss_curves(history, xlabel="epoch", ylabel="contrastive loss")
    ax = fig.axes[0]
    assert _legend_texts(ax) == list(history)
    lines = ax.get_lines()
    assert len({(ln.get_linestyle(), ln.get_marker()) for ln in lines}) == len(lines)
    assert_readable(fig)
    assert_every_line_visible(fig, ax)


def test_eigenvalue_spectrum(tmp_path):
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    M = Q @ np.diag([8.0, 2.0, 1.0, 0.5]) @ Q.T
    fig = plot_eigenvalue_spectrum({"GMML": M, "AML": [0.5, 8.0, 2.0, 1.0], "prior": np.ones(4)}, title="spectrum")
    ax = fig.axes[0]
    assert _legend_texts(ax) == ["GMML", "AML", "prior"]
    gmml, aml, _ = ax.get_lines()
    np.testing.assert_allclose(gmml.get_ydata(), [8.0, 2.0, 1.0, 0.5])
    np.testing.assert_array_equal(aml.get_ydata(), [8.0, 2.0, 1.0, 0.5])  # sorted, largest first
    np.testing.assert_array_equal(gmml.get_xdata(), [1, 2, 3, 4])
    assert ax.get_yscale() == "log"
    assert_readable(fig)
    assert_every_line_visible(fig, ax)  # GMML and AML coincide
    _png_ok(fig, tmp_path / "spectrum.png")
    assert plot_eigenvalue_spectrum({"a": [-1.0, 1.0]}, log_y=False).axes[0].get_yscale() == "linear"


@pytest.mark.parametrize(
    "spectra, kwargs, match",
    [
        ({}, {}, "non-empty"),
        ({"a": np.zeros((2, 3))}, {}, "symmetric"),
        ({"a": np.array([[1.0, 2.0], [0.0, 1.0]])}, {}, "symmetric"),
        ({"a": np.zeros((2, 2, 2))}, {}, "1-D eigenvalues or a 2-D matrix"),
        ({"a": [1.0, 0.0]}, {}, "positive"),
        ({"a": [1.0, np.nan]}, {}, "NaN"),
    ],
)
def test_eigenvalue_spectrum_bad_input(spectra, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_eigenvalue_spectrum(spectra, **kwargs)


def test_the_package_keeps_the_public_names_of_the_module():
    # plotting became a package of private modules; what users import stays where it was.
    import spectral_ml.plotting as plotting

    assert set(plotting.__all__) == {
        "plot_feature_scatter",
        "plot_feature_grid",
        "plot_roc",
        "plot_sensitivity",
        "plot_overhead",
        "plot_sweep",
        "plot_loss_curves",
        "plot_embedding_2d",
        "plot_eigenvalue_spectrum",
    }
    assert all(callable(getattr(plotting, name)) for name in plotting.__all__)
    assert plotting.REFERENCE_BOX_LABEL == "support of the uniform\nreference law, [-1, 1]²"
