"""Figures of the papers' experiments, built on :class:`matplotlib.figure.Figure`.

Every function returns the ``Figure`` it drew on and never calls ``pyplot``: no global
figure state, no ``plt.show``, no backend selection, so the functions work headless (save
with ``fig.savefig(path)``) and in notebooks (a returned ``Figure`` displays itself). Pass
``ax=`` to draw into an existing axes instead; the figure that holds it is returned.

Array arguments may come from any array library (they are copied to NumPy for drawing).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._backend import to_numpy
from .linalg import eigh

__all__ = [
    "plot_feature_scatter",
    "plot_feature_grid",
    "plot_roc",
    "plot_sensitivity",
    "plot_overhead",
    "plot_loss_curves",
    "plot_embedding_2d",
    "plot_eigenvalue_spectrum",
]

#: Legend text of the dashed square ``[-1, 1]^2`` drawn by ``reference_box=True``.
REFERENCE_BOX_LABEL = "support of the uniform\nreference law, [-1, 1]²"


# --------------------------------------------------------------------------- helpers


def _figure_and_axes(ax, figsize):
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()
    fig = ax.figure
    # Axes inside a SubFigure: climb to the Figure that can be saved.
    while not isinstance(fig, Figure):
        fig = fig.figure
    return fig, ax


def _array(x, name: str, *, ndim: int | None = None, allow_nan: bool = False) -> np.ndarray:
    try:
        a = np.asarray(to_numpy(x))
    except Exception as exc:  # anything that cannot become an array is a bad argument
        raise ValueError(f"{name} could not be converted to an array: {exc}") from exc
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {a.dtype}.")
    a = a.astype(np.float64)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}.")
    if a.size == 0:
        raise ValueError(f"{name} must not be empty.")
    bad = np.isinf(a) if allow_nan else ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"{name} contains {'infinite' if allow_nan else 'NaN or infinite'} values.")
    if allow_nan and np.isnan(a).all():
        raise ValueError(f"{name} has no finite value.")
    return a


def _labels(labels, n: int, name: str = "labels") -> np.ndarray:
    if labels is None:
        return np.zeros(n, dtype=np.int64)
    y = np.asarray(to_numpy(labels))
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"{name} must be 1-D with {n} entries, got shape {y.shape}.")
    return y


def _class_colors(n_classes: int):
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n_classes <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n_classes)]


def _parse_limits(limits):
    """``None``, ``L`` (both axes ``[-L, L]``), ``(lo, hi)``, or ``((x0, x1), (y0, y1))``."""
    if limits is None:
        return None
    if isinstance(limits, str):
        raise ValueError(f"limits must be a number, (lo, hi) or ((x0, x1), (y0, y1)), got {limits!r}.")
    if isinstance(limits, numbers.Real):
        L = float(limits)
        if not np.isfinite(L) or L <= 0:
            raise ValueError(f"limits must be a positive number or pairs of bounds, got {limits!r}.")
        return (-L, L), (-L, L)
    try:
        arr = np.asarray(limits, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"limits must be a number, (lo, hi) or ((x0, x1), (y0, y1)), got {limits!r}."
        ) from None
    if arr.shape == (2,):
        arr = np.stack([arr, arr])
    if arr.shape != (2, 2) or not np.all(np.isfinite(arr)) or np.any(arr[:, 0] >= arr[:, 1]):
        raise ValueError(
            f"limits must be a number, (lo, hi) or ((x0, x1), (y0, y1)) with lo < hi, got {limits!r}."
        )
    return tuple(map(tuple, arr))


def _check_axis_labels(axis_labels) -> tuple[str, str]:
    if (isinstance(axis_labels, str) or not isinstance(axis_labels, Sequence) or len(axis_labels) != 2
            or not all(isinstance(a, str) for a in axis_labels)):
        raise ValueError(f"axis_labels must be a pair of strings (x label, y label), got {axis_labels!r}.")
    return axis_labels[0], axis_labels[1]


def _line_styles(n: int) -> list[dict]:
    """Keyword arguments of ``Axes.plot`` that keep ``n`` curves apart even where they coincide.

    Each curve gets its own colour, dash pattern and marker; earlier curves are drawn wider and
    lower, so a curve lying exactly on top of another still shows the other's edges and its
    markers (the markers of coinciding curves are staggered by ``_stagger_markers``).
    """
    import matplotlib

    colors = matplotlib.colormaps["tab10"].colors
    dashes = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1))]
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    widths = np.linspace(2.8, 1.2, n) if n > 1 else np.array([1.8])
    return [
        {"color": colors[i % len(colors)], "linestyle": dashes[i % len(dashes)],
         "marker": markers[i % len(markers)], "linewidth": float(widths[i]),
         "markersize": 4.0 + 2.0 * float(widths[i]) / 2.8, "zorder": 2.0 + i / max(n, 1)}
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
    step = 0.1
    return (i * step / max(n_series, 1), step)


def _scatter_classes(ax, Z, y, *, class_names=None, size=8.0, alpha=0.8, marker="o"):
    classes = np.unique(y)
    colors = _class_colors(len(classes))
    for color, c in zip(colors, classes):
        if class_names is not None and isinstance(c, (int, np.integer)) and 0 <= c < len(class_names):
            label = str(class_names[int(c)])
        else:
            label = str(c)
        mask = y == c
        ax.scatter(Z[mask, 0], Z[mask, 1], s=size, alpha=alpha, color=color, marker=marker,
                   label=label, linewidths=0)
    return classes


def _decorate_2d(ax, *, limits, reference_box, title, legend, axis_labels):
    from matplotlib.patches import Rectangle

    if reference_box:
        ax.add_patch(Rectangle((-1.0, -1.0), 2.0, 2.0, fill=False, linestyle="--",
                               linewidth=1.0, edgecolor="0.3", label=REFERENCE_BOX_LABEL))
    lims = _parse_limits(limits)
    if lims is not None:
        ax.set_xlim(*lims[0])
        ax.set_ylim(*lims[1])
    ax.set_aspect("equal", adjustable="datalim" if lims is None else "box")
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    if title is not None:
        ax.set_title(title)
    if legend:
        n_entries = len(ax.get_legend_handles_labels()[1])
        # Two columns keep a legend of many classes from covering half of the points.
        ax.legend(loc="best", fontsize="small", markerscale=2.0, ncols=2 if n_entries > 6 else 1)


# --------------------------------------------------------------------------- features


def plot_feature_scatter(
    features,
    labels=None,
    *,
    ax=None,
    title: str | None = None,
    limits=None,
    reference_box: bool = False,
    class_names: Sequence[str] | None = None,
    legend: bool = True,
    point_size: float = 8.0,
    axis_labels: Sequence[str] = ("feature 1", "feature 2"),
):
    """Scatter plot of 2-D features, one colour per class.

    Parameters
    ----------
    features : array of shape (n, 2)
        Two-dimensional features (e.g. the 2-D embedding of the DPP paper's MNIST runs).
    labels : array of shape (n,), optional
        Class of each point; one colour and legend entry per class. All points one class when
        omitted.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is made when omitted.
    title : str, optional
        Axes title.
    limits : float or (lo, hi) or ((x0, x1), (y0, y1)), optional
        Axis limits; a number ``L`` means ``[-L, L]`` on both axes.
    reference_box : bool, default=False
        Draw the square ``[-1, 1]^2`` (the support of the uniform reference law of the
        WGAN term) dashed, with a legend entry that says so.
    class_names : sequence of str, optional
        Legend names of integer labels ``0..c-1``.
    legend : bool, default=True
        Add a legend with one entry per class (and one for the reference square), inside
        the axes.
    point_size : float, default=8
        Marker area.
    axis_labels : pair of str, default=("feature 1", "feature 2")
        Labels of the x and y axes.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.

    Raises
    ------
    ValueError
        If ``features`` is not an (n, 2) finite array, ``labels`` has the wrong length or
        ``axis_labels`` is not a pair of strings.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> fig = plot_feature_scatter(rng.uniform(-1, 1, (100, 2)), rng.integers(0, 3, 100),
    ...                            reference_box=True, limits=1.2)
    >>> len(fig.axes[0].get_legend().texts)  # three classes and the reference square
    4
    >>> fig.axes[0].get_xlabel()
    'feature 1'
    """
    Z = _array(features, "features", ndim=2)
    if Z.shape[1] != 2:
        raise ValueError(f"features must have 2 columns, got shape {Z.shape}.")
    y = _labels(labels, Z.shape[0])
    axis_labels = _check_axis_labels(axis_labels)
    fig, ax = _figure_and_axes(ax, (4.5, 4.5))
    _scatter_classes(ax, Z, y, class_names=class_names, size=point_size)
    _decorate_2d(ax, limits=limits, reference_box=reference_box, title=title,
                 legend=legend and (labels is not None or reference_box), axis_labels=axis_labels)
    return fig


def plot_feature_grid(
    panels: Mapping[str, Any],
    *,
    ncols: int | None = None,
    limits=None,
    reference_box: bool = False,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    panel_size: float = 3.0,
    legend: bool = True,
    axis_labels: Sequence[str] = ("feature 1", "feature 2"),
):
    """Grid of 2-D feature scatter plots, one panel per method (and split).

    Two layouts, after the DPP paper's Fig. 1:

    * ``{name: (features, labels)}``: panels in reading order, ``ncols`` per row;
    * ``{name: {split: (features, labels)}}`` (e.g. ``{"DPPSG": {"train": ..., "test": ...}}``):
      one row per name, one column per split (the splits in order of first appearance; a
      split missing for a name leaves no axes there).

    Parameters
    ----------
    panels : mapping
        See above. Features are (n, 2) arrays, labels (n,) arrays.
    ncols : int, optional
        Columns of the flat layout (default: up to 4).
    limits : float or (lo, hi) or ((x0, x1), (y0, y1)), optional
        Axis limits of every panel.
    reference_box : bool, default=False
        Draw ``[-1, 1]^2`` (the support of the uniform reference law) dashed in every
        panel; the legend says what it is.
    class_names : sequence of str, optional
        Legend names of integer labels.
    title : str, optional
        Figure title.
    panel_size : float, default=3
        Width and height of one panel, in inches.
    legend : bool, default=True
        One legend for the whole grid, under the panels: the classes of the first panel
        and, with ``reference_box``, the dashed square.
    axis_labels : pair of str, default=("feature 1", "feature 2")
        Labels of the x and y axes of every panel (e.g. ``("PC 1", "PC 2")``).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per panel.

    Raises
    ------
    ValueError
        On an empty mapping, a malformed panel, invalid ``ncols`` or ``axis_labels``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> panel = (rng.normal(size=(50, 2)), rng.integers(0, 2, 50))
    >>> fig = plot_feature_grid({"DPP": {"train": panel, "test": panel},
    ...                          "plain": {"train": panel, "test": panel}})
    >>> len(fig.axes)
    4
    """
    from matplotlib.figure import Figure

    if not isinstance(panels, Mapping) or not panels:
        raise ValueError("panels must be a non-empty mapping name -> (features, labels).")
    nested = all(isinstance(v, Mapping) for v in panels.values())
    if not nested and any(isinstance(v, Mapping) for v in panels.values()):
        raise ValueError(
            "panels must map every name to (features, labels), or every name to a mapping of splits."
        )
    cells = []  # (row, col, title, panel)
    if nested:
        splits: list = []
        for sub in panels.values():
            for split in sub:
                if split not in splits:
                    splits.append(split)
        if not splits:
            raise ValueError("panels: every name maps to an empty mapping of splits.")
        nrows, n_cols = len(panels), len(splits)
        for r, (name, sub) in enumerate(panels.items()):
            for split, panel in sub.items():
                cells.append((r, splits.index(split), f"{name} ({split})", panel))
    else:
        if ncols is None:
            ncols = min(len(panels), 4)
        if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
            raise ValueError(f"ncols must be a positive int, got {ncols!r}.")
        n_cols = int(ncols)
        nrows = -(-len(panels) // n_cols)
        cells = [
            (i // n_cols, i % n_cols, str(name), panel) for i, (name, panel) in enumerate(panels.items())
        ]

    axis_labels = _check_axis_labels(axis_labels)
    # Room for the axis labels of every panel and for the legend under the grid.
    fig = Figure(figsize=(panel_size * n_cols + 0.4, panel_size * nrows + (0.7 if legend else 0.2)),
                 layout="constrained")
    grid = fig.add_gridspec(nrows, n_cols)
    first = None
    for r, c, name, panel in cells:
        if not isinstance(panel, (tuple, list)) or len(panel) != 2:
            raise ValueError(f"panels[{name!r}] must be a pair (features, labels).")
        ax = fig.add_subplot(grid[r, c])
        plot_feature_scatter(panel[0], panel[1], ax=ax, title=name, limits=limits,
                             reference_box=reference_box, class_names=class_names, legend=False,
                             axis_labels=axis_labels)
        first = ax if first is None else first
    if title is not None:
        fig.suptitle(title)
    if legend and first is not None:
        handles, names = first.get_legend_handles_labels()
        # Under the panels: one key for all of them, in as many columns as the figure's
        # width holds (long class names get fewer), so that it never sticks out of it.
        for n_legend_cols in range(len(names), 0, -1):
            key = fig.legend(handles, names, loc="outside lower center", ncols=n_legend_cols,
                             fontsize="small", markerscale=2.0, title="class", title_fontsize="small")
            if n_legend_cols == 1 or key.get_window_extent().width <= 0.95 * fig.bbox.width:
                break
            key.remove()
    return fig


def plot_embedding_2d(
    X,
    y=None,
    *,
    transform=None,
    basis_from=None,
    ax=None,
    title: str | None = None,
    class_names: Sequence[str] | None = None,
    legend: bool = True,
    point_size: float = 12.0,
):
    """Scatter plot of data on its first two principal components, optionally after a map.

    For the AML paper's synthetic figure: the data (or the data mapped by a learned metric,
    ``x -> L x`` with ``M = L^T L``) projected onto its two leading principal axes.

    Parameters
    ----------
    X : array of shape (n, d)
        Data.
    y : array of shape (n,), optional
        Class labels (one colour each).
    transform : array of shape (k, d), callable or transformer, optional
        Applied before the projection: a matrix ``L`` maps rows as ``X @ L.T``; a callable is
        called as ``transform(X)``; an object with a ``transform`` method (a fitted
        scikit-learn transformer) is used through it.
    basis_from : array of shape (m, d), optional
        Data (in the space of ``X``, before ``transform``) that defines the centre and the
        principal axes, e.g. the training set so that train and test panels share axes.
        Default: ``X`` itself.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    title : str, optional
        Axes title.
    class_names : sequence of str, optional
        Legend names of integer labels.
    legend : bool, default=True
        Legend with one entry per class (when ``y`` is given).
    point_size : float, default=12
        Marker area.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.

    Raises
    ------
    ValueError
        On non-finite data, mismatched shapes, or an invalid ``transform``.

    Examples
    --------
    >>> from spectral_ml.datasets import make_aml_synthetic
    >>> data = make_aml_synthetic(random_state=0)
    >>> fig = plot_embedding_2d(data.X_test, data.y_test, basis_from=data.X_train)
    >>> fig.axes[0].get_xlabel()
    'PC 1'
    """
    A = _array(X, "X", ndim=2)
    labels = _labels(y, A.shape[0], "y")
    B = A if basis_from is None else _array(basis_from, "basis_from", ndim=2)
    if B.shape[1] != A.shape[1]:
        raise ValueError(f"basis_from has {B.shape[1]} columns but X has {A.shape[1]}.")
    Z, ZB = _apply_transform(transform, A), _apply_transform(transform, B)
    mean = ZB.mean(axis=0)
    _, _, Vt = np.linalg.svd(ZB - mean, full_matrices=False)
    axes = Vt[:2]
    # Principal axes are defined up to sign; fixing it keeps figures reproducible.
    signs = np.sign(axes[np.arange(axes.shape[0]), np.argmax(np.abs(axes), axis=1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    P = (Z - mean) @ axes.T
    if P.shape[1] == 1:
        P = np.column_stack([P, np.zeros(P.shape[0])])
    fig, ax = _figure_and_axes(ax, (4.5, 4.5))
    _scatter_classes(ax, P, labels, class_names=class_names, size=point_size)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    if title is not None:
        ax.set_title(title)
    if legend and y is not None:
        ax.legend(loc="best", fontsize="small", markerscale=1.5)
    return fig


def _apply_transform(transform, A: np.ndarray) -> np.ndarray:
    if transform is None:
        return A
    if hasattr(transform, "transform") and callable(transform.transform):
        Z = transform.transform(A)
    elif callable(transform):
        Z = transform(A)
    else:
        L = _array(transform, "transform", ndim=2)
        if L.shape[1] != A.shape[1]:
            raise ValueError(f"transform must have {A.shape[1]} columns (shape (k, d)), got shape {L.shape}.")
        return A @ L.T
    Z = _array(Z, "transform(X)", ndim=2)
    if Z.shape[0] != A.shape[0]:
        raise ValueError(f"transform(X) must keep the {A.shape[0]} rows, got shape {Z.shape}.")
    return Z


# --------------------------------------------------------------------------- curves


def plot_roc(curves: Mapping[str, Sequence], *, ax=None, title: str | None = None, chance: bool = True):
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
    fig, ax = _figure_and_axes(ax, (4.5, 4.5))
    styles = _line_styles(len(curves))
    for i, (name, curve) in enumerate(curves.items()):
        if not isinstance(curve, (tuple, list)) or len(curve) not in (2, 3):
            raise ValueError(f"curves[{name!r}] must be (fpr, tpr) or (fpr, tpr, auc).")
        fpr = _array(curve[0], f"curves[{name!r}] fpr", ndim=1)
        tpr = _array(curve[1], f"curves[{name!r}] tpr", ndim=1)
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
        ax.plot(fpr, tpr, label=f"{name} (AUC = {auc:.3f})", **styles[i],
                markevery=_stagger_markers(i, len(curves), fpr.size))
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
    param_values,
    train_errors,
    test_errors,
    *,
    param_name: str = "parameter",
    log_x: bool = True,
    ax=None,
    title: str | None = None,
    ylabel: str = "error rate",
):
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
    x = _array(param_values, "param_values", ndim=1)
    train = _array(train_errors, "train_errors", ndim=1)
    test = _array(test_errors, "test_errors", ndim=1)
    if not (x.shape == train.shape == test.shape):
        raise ValueError(
            f"param_values, train_errors and test_errors must have equal lengths, got "
            f"{x.size}, {train.size}, {test.size}."
        )
    if log_x and np.any(x <= 0):
        raise ValueError("param_values must be positive with log_x=True.")
    fig, ax = _figure_and_axes(ax, (5.0, 3.5))
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


def plot_overhead(
    batch_sizes,
    dpp_times,
    total_times,
    *,
    ax=None,
    title: str | None = None,
    unit: str = "s",
):
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
    sizes = _array(batch_sizes, "batch_sizes", ndim=1)
    dpp = _array(dpp_times, "dpp_times", ndim=1)
    total = _array(total_times, "total_times", ndim=1)
    if not (sizes.shape == dpp.shape == total.shape):
        raise ValueError(
            f"batch_sizes, dpp_times and total_times must have equal lengths, got "
            f"{sizes.size}, {dpp.size}, {total.size}."
        )
    if np.any(dpp < 0) or np.any(total < 0):
        raise ValueError("dpp_times and total_times must be non-negative.")
    fig, ax = _figure_and_axes(ax, (5.0, 3.5))
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
    ax=None,
    title: str | None = None,
    log_y: bool = False,
    xlabel: str = "iteration",
    ylabel: str = "loss",
):
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
    fig, ax = _figure_and_axes(ax, (5.0, 3.5))
    styles = _line_styles(len(history))
    for i, (name, values) in enumerate(history.items()):
        v = _array(values, f"history[{name!r}]", ndim=1, allow_nan=True)
        if log_y and np.any(v[~np.isnan(v)] <= 0):
            raise ValueError(f"history[{name!r}] must be positive with log_y=True.")
        ax.plot(np.arange(v.size), v, label=str(name), **styles[i],
                markevery=_stagger_markers(i, len(history), v.size))
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
    ax=None,
    title: str | None = None,
    log_y: bool = True,
    ylabel: str = "eigenvalue",
):
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
    fig, ax = _figure_and_axes(ax, (5.0, 3.5))
    styles = _line_styles(len(spectra))
    for i, (name, values) in enumerate(spectra.items()):
        a = _array(values, f"spectra[{name!r}]")
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
