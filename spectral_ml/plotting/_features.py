"""Scatter plots of features and embeddings, coloured by class.

The learned features of the DPP experiments (against the uniform reference law on
[-1, 1]², drawn with ``reference_box=True``) and 2-D projections of metric-learning
embeddings share one way of drawing classes (:func:`_scatter_classes`) and of framing the
axes (:func:`_decorate_2d`).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._backend import to_numpy
from ._common import figure_and_axes, numeric_array

__all__ = ["plot_feature_scatter", "plot_feature_grid", "plot_embedding_2d", "REFERENCE_BOX_LABEL"]

#: Legend text of the dashed square ``[-1, 1]^2`` drawn by ``reference_box=True``.
REFERENCE_BOX_LABEL = "support of the uniform\nreference law, [-1, 1]²"


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
        raise ValueError(f"limits must be a number, (lo, hi) or ((x0, x1), (y0, y1)), got {limits!r}.") from None
    if arr.shape == (2,):
        arr = np.stack([arr, arr])
    if arr.shape != (2, 2) or not np.all(np.isfinite(arr)) or np.any(arr[:, 0] >= arr[:, 1]):
        raise ValueError(f"limits must be a number, (lo, hi) or ((x0, x1), (y0, y1)) with lo < hi, got {limits!r}.")
    return tuple(map(tuple, arr))


def _check_axis_labels(axis_labels) -> tuple[str, str]:
    if (
        isinstance(axis_labels, str)
        or not isinstance(axis_labels, Sequence)
        or len(axis_labels) != 2
        or not all(isinstance(a, str) for a in axis_labels)
    ):
        raise ValueError(f"axis_labels must be a pair of strings (x label, y label), got {axis_labels!r}.")
    return axis_labels[0], axis_labels[1]


def _scatter_classes(ax, Z, y, *, class_names=None, size=8.0, alpha=0.8, marker="o"):
    classes = np.unique(y)
    colors = _class_colors(len(classes))
    for color, c in zip(colors, classes, strict=True):
        if class_names is not None and isinstance(c, (int, np.integer)) and 0 <= c < len(class_names):
            label = str(class_names[int(c)])
        else:
            label = str(c)
        mask = y == c
        ax.scatter(Z[mask, 0], Z[mask, 1], s=size, alpha=alpha, color=color, marker=marker, label=label, linewidths=0)
    return classes


def _decorate_2d(ax, *, limits, reference_box, title, legend, axis_labels):
    from matplotlib.patches import Rectangle

    if reference_box:
        ax.add_patch(
            Rectangle(
                (-1.0, -1.0),
                2.0,
                2.0,
                fill=False,
                linestyle="--",
                linewidth=1.0,
                edgecolor="0.3",
                label=REFERENCE_BOX_LABEL,
            )
        )
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


def plot_feature_scatter(
    features: Any,
    labels: Any = None,
    *,
    ax: Any = None,
    title: str | None = None,
    limits: Any = None,
    reference_box: bool = False,
    class_names: Sequence[str] | None = None,
    legend: bool = True,
    point_size: float = 8.0,
    axis_labels: Sequence[str] = ("feature 1", "feature 2"),
) -> Any:
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
    Z = numeric_array(features, "features", ndim=2)
    if Z.shape[1] != 2:
        raise ValueError(f"features must have 2 columns, got shape {Z.shape}.")
    y = _labels(labels, Z.shape[0])
    axis_labels = _check_axis_labels(axis_labels)
    fig, ax = figure_and_axes(ax, (4.5, 4.5))
    _scatter_classes(ax, Z, y, class_names=class_names, size=point_size)
    _decorate_2d(
        ax,
        limits=limits,
        reference_box=reference_box,
        title=title,
        legend=legend and (labels is not None or reference_box),
        axis_labels=axis_labels,
    )
    return fig


def plot_feature_grid(
    panels: Mapping[str, Any],
    *,
    ncols: int | None = None,
    limits: Any = None,
    reference_box: bool = False,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    panel_size: float = 3.0,
    legend: bool = True,
    axis_labels: Sequence[str] = ("feature 1", "feature 2"),
) -> Any:
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
        raise ValueError("panels must map every name to (features, labels), or every name to a mapping of splits.")
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
        cells = [(i // n_cols, i % n_cols, str(name), panel) for i, (name, panel) in enumerate(panels.items())]

    axis_labels = _check_axis_labels(axis_labels)
    # Room for the axis labels of every panel and for the legend under the grid.
    fig = Figure(
        figsize=(panel_size * n_cols + 0.4, panel_size * nrows + (0.7 if legend else 0.2)), layout="constrained"
    )
    grid = fig.add_gridspec(nrows, n_cols)
    first = None
    for r, c, name, panel in cells:
        if not isinstance(panel, (tuple, list)) or len(panel) != 2:
            raise ValueError(f"panels[{name!r}] must be a pair (features, labels).")
        ax = fig.add_subplot(grid[r, c])
        plot_feature_scatter(
            panel[0],
            panel[1],
            ax=ax,
            title=name,
            limits=limits,
            reference_box=reference_box,
            class_names=class_names,
            legend=False,
            axis_labels=axis_labels,
        )
        first = ax if first is None else first
    if title is not None:
        fig.suptitle(title)
    if legend and first is not None:
        handles, names = first.get_legend_handles_labels()
        # Under the panels: one key for all of them, in as many columns as the figure's
        # width holds (long class names get fewer), so that it never sticks out of it.
        for n_legend_cols in range(len(names), 0, -1):
            key = fig.legend(
                handles,
                names,
                loc="outside lower center",
                ncols=n_legend_cols,
                fontsize="small",
                markerscale=2.0,
                title="class",
                title_fontsize="small",
            )
            if n_legend_cols == 1 or key.get_window_extent().width <= 0.95 * fig.bbox.width:
                break
            key.remove()
    return fig


def plot_embedding_2d(
    X: Any,
    y: Any = None,
    *,
    transform: Any = None,
    basis_from: Any = None,
    ax: Any = None,
    title: str | None = None,
    class_names: Sequence[str] | None = None,
    legend: bool = True,
    point_size: float = 12.0,
) -> Any:
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
    A = numeric_array(X, "X", ndim=2)
    labels = _labels(y, A.shape[0], "y")
    B = A if basis_from is None else numeric_array(basis_from, "basis_from", ndim=2)
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
    fig, ax = figure_and_axes(ax, (4.5, 4.5))
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
        L = numeric_array(transform, "transform", ndim=2)
        if L.shape[1] != A.shape[1]:
            raise ValueError(f"transform must have {A.shape[1]} columns (shape (k, d)), got shape {L.shape}.")
        return A @ L.T
    Z = numeric_array(Z, "transform(X)", ndim=2)
    if Z.shape[0] != A.shape[0]:
        raise ValueError(f"transform(X) must keep the {A.shape[0]} rows, got shape {Z.shape}.")
    return Z
