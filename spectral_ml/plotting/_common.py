"""What every figure of :mod:`spectral_ml.plotting` starts from: its ``Figure`` and its arrays.

Each plotting function draws on a new ``Figure`` or on the axes it is given
(:func:`figure_and_axes`), and turns its array arguments, of any array library, into
finite float64 NumPy arrays with errors that name the argument (:func:`numeric_array`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._backend import to_numpy

__all__ = ["figure_and_axes", "numeric_array"]


def figure_and_axes(ax: Any, figsize: Any) -> tuple[Any, Any]:
    """The ``Figure`` to return and the axes to draw on: new ones of ``figsize``, or ``ax``'s."""
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()
    fig = ax.figure
    # Axes inside a SubFigure: climb to the Figure that can be saved.
    while not isinstance(fig, Figure):
        fig = fig.figure
    return fig, ax


def numeric_array(x: Any, name: str, *, ndim: int | None = None, allow_nan: bool = False) -> np.ndarray:
    """``x`` (any array library, a list, a scalar) as a non-empty float64 NumPy array.

    Raises ``ValueError`` naming ``name`` unless ``x`` is numeric, has ``ndim`` dimensions
    (when given) and is finite; with ``allow_nan`` NaN entries (gaps in a curve) pass, as
    long as one entry is finite.
    """
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
