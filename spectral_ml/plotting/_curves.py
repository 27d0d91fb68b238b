"""Line plots: ROC curves, sensitivity, sweep and overhead curves, losses, eigenvalue spectra.

Several methods are often drawn on one axes and some of their curves coincide; every curve
gets its own colour, dash pattern and marker (:func:`_line_styles`), and coinciding curves
show each one's markers (:func:`_stagger_markers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..linalg import eigh
from ._common import figure_and_axes, numeric_array

__all__ = [
    "plot_roc",
    "plot_sensitivity",
    "plot_sweep",
    "plot_overhead",
    "plot_loss_curves",
    "plot_eigenvalue_spectrum",
]


def _line_styles(n: int) -> list[dict]:
    """Keyword arguments of ``Axes.plot`` that keep ``n`` curves apart even where they coincide.

    Each curve gets its own colour, dash pattern and marker; earlier curves are drawn wider and
    lower, so a curve lying exactly on top of another still shows the other's edges and its
    markers (the markers of coinciding curves are staggered by ``_stagger_markers``).
    """
    import matplotlib

    colors = matplotlib.colormaps["tab10"].colors  # type: ignore[attr-defined]  # a ListedColormap
    dashes = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1))]
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    widths = np.linspace(2.8, 1.2, n) if n > 1 else np.array([1.8])
    return [
        {
            "color": colors[i % len(colors)],
            "linestyle": dashes[i % len(dashes)],
            "marker": markers[i % len(markers)],
            "linewidth": float(widths[i]),
            "markersize": 4.0 + 2.0 * float(widths[i]) / 2.8,
            "zorder": 2.0 + i / max(n, 1),
        }
        for i in range(n)
    ]


def _stagger_markers(i: int, n_series: int, n_points: int):
    """``markevery`` of series ``i`` of ``n_series``, each with ``n_points`` points.

    The markers of different series never share a point where that is possible, so curves
    that coincide still show every series' marker. Short series get a marker every
    ``n_series``-th point at least, shifted by one per series; long ones (e.g. ROC curves)
    markers evenly spaced along the drawn curve (a tenth of the axes diagonal apart), which
    keeps them apart on steep stretches too, shifted by a fraction of that spacing.
    """
    if n_points <= 40:
        step = max(n_series, n_points // 10, 1)
        return (i % max(n_points, 1), step)
    fraction = 0.1
    return (i * fraction / max(n_series, 1), fraction)


def plot_roc(curves: Mapping[str, Sequence], *, ax: Any = None, title: str | None = None, chance: bool = True) -> Any:
    """ROC curves of several methods, with the area under each curve in the legend.

    Parameters
    ----------
    curves : mapping
        ``{name: (fpr, tpr)}`` or ``{name: (fpr, tpr, auc)}``; fpr and tpr are 1-D arrays of
        equal length with values in [0, 1]. Without ``auc`` the area is computed by the
        trapezoidal rule (:func:`sklearn.metrics.auc`), which needs ``fpr`` monotonic, as
        the false positive rates of a ROC curve are.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    title : str, optional
        Axes title.
    chance : bool, default=True
        Draw the diagonal of a random classifier (not in the legend).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on; legend entries read ``"name (AUC = 0.912)"``. Each curve has
        its own colour, dash pattern and markers, so coinciding curves stay visible.

    Raises
    ------
    ValueError
        On an empty mapping or a malformed curve (rates outside [0, 1], lengths that
        differ, ``fpr`` not monotonic when the area is to be computed).

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_roc({"AML": (np.array([0, 0.1, 1]), np.array([0, 0.8, 1]))})
    >>> fig.axes[0].get_legend().texts[0].get_text()
    'AML (AUC = 0.850)'
    """
    from sklearn.metrics import auc as trapezoidal_auc

    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty mapping name -> (fpr, tpr[, auc]).")
    fig, ax = figure_and_axes(ax, (4.5, 4.5))
    styles = _line_styles(len(curves))
    for i, (name, curve) in enumerate(curves.items()):
        if not isinstance(curve, (tuple, list)) or len(curve) not in (2, 3):
            raise ValueError(f"curves[{name!r}] must be (fpr, tpr) or (fpr, tpr, auc).")
        fpr = numeric_array(curve[0], f"curves[{name!r}] fpr", ndim=1)
        tpr = numeric_array(curve[1], f"curves[{name!r}] tpr", ndim=1)
        if fpr.shape != tpr.shape:
            raise ValueError(f"curves[{name!r}]: fpr and tpr differ in length ({fpr.size} vs {tpr.size}).")
        if fpr.min() < 0 or fpr.max() > 1 or tpr.min() < 0 or tpr.max() > 1:
            raise ValueError(f"curves[{name!r}]: rates must lie in [0, 1].")
        if len(curve) == 3:
            auc = float(curve[2])
        elif np.all(np.diff(fpr) >= 0) or np.all(np.diff(fpr) <= 0):
            auc = float(trapezoidal_auc(fpr, tpr))
        else:
            raise ValueError(f"curves[{name!r}]: fpr must be monotonic to compute the area; pass (fpr, tpr, auc).")
        ax.plot(
            fpr,
            tpr,
            label=f"{name} (AUC = {auc:.3f})",
            **styles[i],
            markevery=_stagger_markers(i, len(curves), fpr.size),
        )
    if chance:
        ax.plot([0, 1], [0, 1], linestyle=":", color="0.5", label="_nolegend_")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    return fig


def plot_sensitivity(
    param_values: Any,
    train_errors: Any,
    test_errors: Any,
    *,
    param_name: str = "parameter",
    log_x: bool = True,
    ax: Any = None,
    title: str | None = None,
    ylabel: str = "error rate",
) -> Any:
    """Training and test error against a hyper-parameter (AML paper, Fig. 5).

    Parameters
    ----------
    param_values : array of shape (n,)
        Values of the hyper-parameter (positive when ``log_x``).
    train_errors, test_errors : array of shape (n,)
        Errors at each value.
    param_name : str, default="parameter"
        x-axis label, e.g. ``r"$\\alpha$"``.
    log_x : bool, default=True
        Logarithmic x axis (for grids like ``10^-3 .. 10^3``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    title : str, optional
        Axes title.
    ylabel : str, default="error rate"
        y-axis label.

    Returns
    -------
    matplotlib.figure.Figure
        Two lines ("train", "test"), each with its own dash pattern and markers.

    Raises
    ------
    ValueError
        On lengths that differ, non-finite values, or non-positive values with ``log_x``.

    Examples
    --------
    >>> fig = plot_sensitivity([1e-2, 1, 1e2], [0.1, 0.12, 0.2], [0.2, 0.15, 0.18],
    ...                        param_name="alpha")
    >>> [t.get_text() for t in fig.axes[0].get_legend().texts]
    ['train', 'test']
    """
    x = numeric_array(param_values, "param_values", ndim=1)
    train = numeric_array(train_errors, "train_errors", ndim=1)
    test = numeric_array(test_errors, "test_errors", ndim=1)
    if not (x.shape == train.shape == test.shape):
        raise ValueError(
            f"param_values, train_errors and test_errors must have equal lengths, got "
            f"{x.size}, {train.size}, {test.size}."
        )
    if log_x and np.any(x <= 0):
        raise ValueError("param_values must be positive with log_x=True.")
    fig, ax = figure_and_axes(ax, (5.0, 3.5))
    train_style, test_style = _line_styles(2)
    ax.plot(x, train, label="train", **train_style)
    ax.plot(x, test, label="test", **test_style)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(param_name)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return fig


def plot_sweep(
    param_values: Any,
    panels: Mapping[str, Mapping[str, Sequence]],
    *,
    references: Mapping[str, Sequence[float]] | None = None,
    reference_label: str = "reference",
    xlabel: str = "parameter",
    log_x: bool = True,
    title: str | None = None,
) -> Any:
    """Measures against a hyper-parameter, one panel per measure and one curve per setting.

    Drawn for the sweep of DPPSG*'s θ (one curve per DPP weight λ₁; mAP@10 and the gap to P
    in two panels), against a reference measured without the parameter (the contrastive
    baseline) drawn as a horizontal line with its band of ± one standard deviation.

    Parameters
    ----------
    param_values : array of shape (n,)
        The values of the parameter (positive when ``log_x``).
    panels : mapping of str to mapping of str to (means, stds)
        y-axis label → curve label → the means at each value and their standard
        deviations (``None`` or zeros for a single run: no error bars).
    references : mapping of str to (mean, std), optional
        Per panel (by its y-axis label), the reference level and its spread.
    reference_label : str, default="reference"
        Legend label of the reference lines.
    xlabel : str, default="parameter"
        x-axis label of every panel.
    log_x : bool, default=True
        Logarithmic x axis.
    title : str, optional
        Title of the figure.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per panel, side by side, each with its curves (mean with error bars) and
        its reference.

    Raises
    ------
    ValueError
        For no panel or a panel without curves, a curve whose length differs from
        ``param_values``, non-finite values, or non-positive values with ``log_x``.

    Examples
    --------
    >>> from spectral_ml.plotting import plot_sweep
    >>> fig = plot_sweep(
    ...     [1e-3, 1e-2, 1e-1],
    ...     {"mAP@10 (%)": {"λ₁ = 1e3": ([88.9, 85.8, 64.2], [0.3, 0.5, 2.0])}},
    ...     references={"mAP@10 (%)": (88.6, 0.4)},
    ...     reference_label="baseline",
    ...     xlabel="θ",
    ... )
    >>> [t.get_text() for t in fig.axes[0].get_legend().texts]
    ['baseline', 'λ₁ = 1e3']
    """
    from matplotlib.figure import Figure

    x = numeric_array(param_values, "param_values", ndim=1)
    if log_x and np.any(x <= 0):
        raise ValueError("param_values must be positive with log_x=True.")
    if not panels or any(not curves for curves in panels.values()):
        raise ValueError("panels must hold at least one panel, each with at least one curve.")
    references = dict(references or {})
    fig = Figure(figsize=(4.6 * len(panels), 3.6), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (ylabel, curves) in zip(axes, panels.items(), strict=True):
        if ylabel in references:
            level, spread = (float(v) for v in references[ylabel])
            ax.axhline(level, color="0.3", linestyle="--", linewidth=1.2, label=reference_label, zorder=1)
            ax.axhspan(level - spread, level + spread, color="0.85", zorder=0)
        for style, (name, (means, stds)) in zip(_line_styles(len(curves)), curves.items(), strict=True):
            y = numeric_array(means, f"the means of {name!r}", ndim=1)
            err = np.zeros_like(y) if stds is None else numeric_array(stds, f"the stds of {name!r}", ndim=1)
            if not (y.shape == err.shape == x.shape):
                raise ValueError(
                    f"curve {name!r} of panel {ylabel!r} has {y.size} means and {err.size} stds for "
                    f"{x.size} parameter values."
                )
            ax.errorbar(x, y, yerr=err if np.any(err > 0) else None, label=name, capsize=3, **style)
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(loc="best", fontsize="small")
    if title is not None:
        fig.suptitle(title)
    return fig


def plot_overhead(
    batch_sizes: Any,
    dpp_times: Any,
    total_times: Any,
    *,
    ax: Any = None,
    title: str | None = None,
    unit: str = "s",
) -> Any:
    """Grouped bars of the time per batch, all computation vs the DPP term (DPP paper, Table 6).

    Parameters
    ----------
    batch_sizes : array of shape (n,)
        Batch sizes (tick labels).
    dpp_times : array of shape (n,)
        Time of the DPP term (forward and backward) per batch.
    total_times : array of shape (n,)
        Time of all the computation per batch.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    title : str, optional
        Axes title.
    unit : str, default="s"
        Time unit for the y label.

    Returns
    -------
    matplotlib.figure.Figure
        Two bar groups ("overhead-all", "overhead-DPP").

    Raises
    ------
    ValueError
        On lengths that differ or negative / non-finite times.

    Examples
    --------
    >>> fig = plot_overhead([100, 200, 500], [0.011, 0.029, 0.056], [0.175, 0.263, 0.493])
    >>> len(fig.axes[0].containers)
    2
    """
    sizes = numeric_array(batch_sizes, "batch_sizes", ndim=1)
    dpp = numeric_array(dpp_times, "dpp_times", ndim=1)
    total = numeric_array(total_times, "total_times", ndim=1)
    if not (sizes.shape == dpp.shape == total.shape):
        raise ValueError(
            f"batch_sizes, dpp_times and total_times must have equal lengths, got "
            f"{sizes.size}, {dpp.size}, {total.size}."
        )
    if np.any(dpp < 0) or np.any(total < 0):
        raise ValueError("dpp_times and total_times must be non-negative.")
    fig, ax = figure_and_axes(ax, (5.0, 3.5))
    pos = np.arange(sizes.size)
    width = 0.38
    ax.bar(pos - width / 2, total, width, label="overhead-all")
    ax.bar(pos + width / 2, dpp, width, label="overhead-DPP")
    ax.set_xticks(pos)
    ax.set_xticklabels([f"{s:g}" for s in sizes])
    ax.set_xlabel("batch size")
    ax.set_ylabel(f"time per batch ({unit})")
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return fig


def plot_loss_curves(
    history: Mapping[str, Sequence[float]],
    *,
    ax: Any = None,
    title: str | None = None,
    log_y: bool = False,
    xlabel: str = "iteration",
    ylabel: str = "loss",
) -> Any:
    """One line per recorded series (loss, objective, gap...) against the iteration.

    Parameters
    ----------
    history : mapping
        ``{name: sequence of values}``; NaN entries leave gaps, infinite ones are refused.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    title : str, optional
        Axes title.
    log_y : bool, default=False
        Logarithmic y axis (values must then be positive).
    xlabel, ylabel : str
        Axis labels.

    Returns
    -------
    matplotlib.figure.Figure
        One line and legend entry per series. Each line has its own colour, dash pattern
        and (staggered) markers, and earlier series are drawn wider and lower, so series
        that coincide (e.g. a baseline and a variant whose extra term barely acts) all
        stay visible.

    Raises
    ------
    ValueError
        On an empty mapping, a series that is not 1-D or has no finite value, or non-positive
        values with ``log_y``.

    Examples
    --------
    >>> fig = plot_loss_curves({"DPPSG": [3.0, 2.0, 1.5], "plain": [3.0, 2.5, 2.4]})
    >>> len(fig.axes[0].get_lines())
    2
    """
    if not isinstance(history, Mapping) or not history:
        raise ValueError("history must be a non-empty mapping name -> sequence of values.")
    fig, ax = figure_and_axes(ax, (5.0, 3.5))
    styles = _line_styles(len(history))
    for i, (name, values) in enumerate(history.items()):
        v = numeric_array(values, f"history[{name!r}]", ndim=1, allow_nan=True)
        if log_y and np.any(v[~np.isnan(v)] <= 0):
            raise ValueError(f"history[{name!r}] must be positive with log_y=True.")
        ax.plot(np.arange(v.size), v, label=str(name), **styles[i], markevery=_stagger_markers(i, len(history), v.size))
    ax.xaxis.get_major_locator().set_params(integer=True)  # epochs or iterations
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return fig


def plot_eigenvalue_spectrum(
    spectra: Mapping[str, Any],
    *,
    ax: Any = None,
    title: str | None = None,
    log_y: bool = True,
    ylabel: str = "eigenvalue",
) -> Any:
    """Eigenvalues of one or more symmetric matrices (e.g. learned metrics M), largest first.

    Parameters
    ----------
    spectra : mapping
        ``{name: values}``: either the eigenvalues (1-D) or a symmetric matrix (2-D, its
        eigenvalues are computed).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    title : str, optional
        Axes title.
    log_y : bool, default=True
        Logarithmic y axis (eigenvalues must then be positive): the spread of a metric's
        eigenvalues is its conditioning.
    ylabel : str, default="eigenvalue"
        y-axis label.

    Returns
    -------
    matplotlib.figure.Figure
        One line with markers and a legend entry per matrix, the x axis counting
        eigenvalues from the largest (1) down.

    Raises
    ------
    ValueError
        On an empty mapping, a matrix that is not square and symmetric, non-finite values,
        or non-positive eigenvalues with ``log_y``.

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_eigenvalue_spectrum({"GMML": np.diag([4.0, 1.0, 0.5]), "AML": [3.0, 2.0, 0.1]})
    >>> [t.get_text() for t in fig.axes[0].get_legend().texts]
    ['GMML', 'AML']
    >>> fig.axes[0].get_lines()[0].get_ydata().tolist()
    [4.0, 1.0, 0.5]
    """
    if not isinstance(spectra, Mapping) or not spectra:
        raise ValueError("spectra must be a non-empty mapping name -> eigenvalues or symmetric matrix.")
    fig, ax = figure_and_axes(ax, (5.0, 3.5))
    styles = _line_styles(len(spectra))
    for i, (name, values) in enumerate(spectra.items()):
        a = numeric_array(values, f"spectra[{name!r}]")
        if a.ndim == 2:
            if a.shape[0] != a.shape[1] or not np.allclose(a, a.T, rtol=1e-8, atol=1e-12 * np.abs(a).max()):
                raise ValueError(f"spectra[{name!r}] must be a symmetric square matrix, got shape {a.shape}.")
            a = np.asarray(eigh(a, check=False)[0])
        elif a.ndim != 1:
            raise ValueError(f"spectra[{name!r}] must be 1-D eigenvalues or a 2-D matrix, got shape {a.shape}.")
        w = np.sort(a)[::-1]
        if log_y and np.any(w <= 0):
            raise ValueError(f"spectra[{name!r}] must have positive eigenvalues with log_y=True.")
        ax.plot(np.arange(1, w.size + 1), w, label=str(name), **styles[i])
    if log_y:
        from matplotlib.ticker import FuncFormatter

        ax.set_yscale("log")
        lo, hi = ax.dataLim.intervaly
        if hi < 100 * lo:
            # Within two decades the log axis has few major ticks: label the minor ones too,
            # as plain numbers rather than powers of ten.
            plain = FuncFormatter(lambda v, _: f"{v:g}")
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("index (largest eigenvalue first)")
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return fig
