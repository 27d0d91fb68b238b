"""Validation of hyper-parameters and of the common array arguments.

Every check raises ``ValueError`` with a message that names the argument and says what was
expected, and returns the value in the form the caller computes with (a Python ``float`` or
``int``, a NumPy label vector, a floating array of the input's own namespace). Estimators
validate their constructor parameters through scikit-learn's ``_parameter_constraints``;
these functions serve the public functions and the settings that scikit-learn does not see.

The array checks (:func:`as_float_array`, :func:`check_matrix`, :func:`check_finite`) keep
the array in its own namespace and on its device, and :func:`encode_labels` turns labels
into integer codes once, on the device that needs them; the array operations they use
come from :mod:`spectral_ml._backend`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._backend import all_finite, get_namespace, to_namespace, to_numpy

__all__ = [
    "as_float_array",
    "check_finite",
    "check_matrix",
    "encode_labels",
    "check_real",
    "check_positive",
    "check_int",
    "check_choice",
    "check_grid",
    "check_generator",
    "check_samples",
    "check_labels",
]


def _as_real(value: Any, name: str) -> float:
    """``value`` as a Python float: real numbers, NumPy scalars and 0-d arrays; not bools."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a real number, got {value!r}.")
    if isinstance(value, numbers.Real):
        return float(value)
    if getattr(value, "shape", None) == ():
        try:
            real = get_namespace(value).isdtype(value.dtype, ("integral", "real floating"))
        except (TypeError, AttributeError):
            real = False
        if real:
            return float(value)  # 0-d arrays of any library
    raise ValueError(f"{name} must be a real number, got {value!r}.")


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number within optional bounds, as a Python float.

    Parameters
    ----------
    value : real number or 0-d array
        The value to check. Booleans are rejected.
    name : str
        Argument name used in error messages.
    low, high : float, optional
        Bounds; ``None`` leaves that side open.
    low_open, high_open : bool, default=False
        Exclude the bound itself.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``value`` is not a real number, is NaN or infinite, or lies outside the bounds.

    Examples
    --------
    >>> from spectral_ml._validation import check_real
    >>> check_real(0.5, "t", low=0.0, high=1.0)
    0.5
    """
    v = _as_real(value, name)
    ok = math.isfinite(v)
    if ok and low is not None:
        ok = v > low if low_open else v >= low
    if ok and high is not None:
        ok = v < high if high_open else v <= high
    if not ok:
        parts = ["finite"]
        if low is not None:
            parts.append(f"{'>' if low_open else '>='} {low}")
        if high is not None:
            parts.append(f"{'<' if high_open else '<='} {high}")
        raise ValueError(f"{name} must be {' and '.join(parts)}, got {value!r}.")
    return v


def check_positive(value: Any, name: str, *, upper: float | None = None) -> float:
    """A finite real number in (0, ``upper``] (or (0, ∞)), as a Python float.

    Raises
    ------
    ValueError
        Naming ``name`` otherwise.
    """
    v = _as_real(value, name)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    if upper is not None and v > upper:
        raise ValueError(f"{name} must lie in (0, {upper:g}], got {value!r}.")
    return v


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """An integer (Python or NumPy, not bool) within optional bounds, as a Python int.

    Raises
    ------
    ValueError
        If ``value`` is not an integer or lies outside [``low``, ``high``].
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        kind = {1: "a positive int", 0: "a non-negative int"}.get(low, "an int") if low is not None else "an int"
        raise ValueError(f"{name} must be {kind}, got {value!r}.")
    v = int(value)
    if low is not None and v < low:
        raise ValueError(f"{name} must be >= {low}, got {v}.")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}, got {v}.")
    return v


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """One of the strings ``choices``.

    Raises
    ------
    ValueError
        Listing the choices, otherwise.
    """
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")
    return value


def check_grid(values: Any, name: str, *, positive: bool) -> np.ndarray:
    """A grid of candidate values: finite, (strictly) positive, sorted and de-duplicated.

    Parameters
    ----------
    values : number or 1-D sequence of numbers
    name : str
        Argument name used in error messages.
    positive : bool
        Require values > 0 (otherwise ≥ 0).

    Returns
    -------
    ndarray of float64, shape (n_values,)

    Raises
    ------
    ValueError
        If ``values`` is empty, not 1-D, non-numeric, non-finite or has values out of range.
    """
    try:
        grid = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got {values!r}.") from None
    if grid.ndim == 0:
        grid = grid.reshape(1)
    if grid.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got shape {grid.shape}.")
    if grid.size == 0:
        raise ValueError(f"{name} is empty: give at least one value.")
    if not np.all(np.isfinite(grid)):
        raise ValueError(f"{name} contains NaN or infinity.")
    bad = grid[grid <= 0] if positive else grid[grid < 0]
    if bad.size:
        kind = "positive" if positive else "non-negative"
        raise ValueError(f"{name} must be {kind}, got {bad[:5].tolist()}.")
    return np.unique(grid)


def check_generator(random_state: Any, name: str = "random_state") -> np.random.Generator:
    """A NumPy ``Generator`` from None, an int, a ``SeedSequence``, a ``Generator`` or a ``RandomState``.

    A ``RandomState`` seeds a new Generator from its stream (and advances it), so a seeded
    ``RandomState`` still gives reproducible results.

    Raises
    ------
    ValueError
        If ``random_state`` is none of these (a bool, a negative int, a string...).
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, (bool, np.bool_)):
        raise ValueError(f"{name} must be None, an int or a Generator, got {random_state!r}.")
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be None, an int or a Generator, got {random_state!r}.") from exc


def check_samples(
    X: Any, name: str = "X", *, min_samples: int = 1, min_features: int = 1, xp: Any = None, finite: bool = True
) -> Any:
    """A finite 2-D floating array with enough rows and columns, in its own namespace.

    Lists become NumPy arrays, integers float64; float32 stays float32. With
    ``finite=False`` the values are not checked (see :func:`as_float_array`): the caller
    does.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, has NaN or infinity, or fewer than ``min_samples`` rows or
        ``min_features`` columns.
    """
    X = as_float_array(X, name, xp=xp, ndim=2, finite=finite)
    if X.shape[0] < min_samples:
        raise ValueError(f"{name} must have at least {min_samples} rows (samples), got {X.shape[0]}.")
    if X.shape[1] < min_features:
        raise ValueError(f"{name} must have at least {min_features} column (feature), got {X.shape[1]}.")
    return X


def check_labels(y: Any, name: str = "y", *, n_samples: int | None = None, rows_of: str = "X") -> np.ndarray:
    """A 1-D NumPy vector of labels (any dtype), one per row of ``rows_of`` when ``n_samples`` is given.

    Labels of any array library are copied to NumPy: they are small, and label logic
    (sorting, strings) runs on the host. Encode them with :func:`encode_labels` to get
    integer codes on a device.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D, has the wrong length, or holds NaN or infinity.
    """
    y_np = np.asarray(to_numpy(y))
    if y_np.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of labels, got shape {tuple(y_np.shape)}.")
    if n_samples is not None and y_np.shape[0] != n_samples:
        raise ValueError(f"{name} has {y_np.shape[0]} labels but {rows_of} has {n_samples} rows.")
    if y_np.dtype.kind in "fc" and not np.all(np.isfinite(y_np)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return y_np


def as_float_array(x: Any, name: str = "X", *, xp: Any = None, ndim: int | None = None, finite: bool = True) -> Any:
    """Convert ``x`` to a floating array of its own namespace, validating shape and values.

    Integer and boolean inputs become float64; float32 stays float32. Lists and tuples
    become NumPy arrays.

    Parameters
    ----------
    x : array_like
        Input array.
    name : str, default="X"
        Argument name used in error messages.
    xp : module, optional
        Namespace to use; inferred from ``x`` when omitted.
    ndim : int, optional
        Required number of dimensions.
    finite : bool, default=True
        Check that every entry is finite. ``False`` leaves that to a caller that reads its
        own checks back in one go (on a GPU each read-back waits for the device).

    Returns
    -------
    array
        Floating array in the namespace of ``x``.

    Raises
    ------
    ValueError
        If ``x`` has the wrong number of dimensions, is complex, or contains NaN or inf.
    """
    if isinstance(x, (list, tuple)) or np.isscalar(x):
        x = np.asarray(x)
    if xp is None:
        xp = get_namespace(x)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got an array of shape {tuple(x.shape)}.")
    if xp.isdtype(x.dtype, "complex floating"):
        raise ValueError(f"{name} must be real, got dtype {x.dtype}.")
    if not xp.isdtype(x.dtype, "real floating"):
        x = xp.astype(x, xp.float64)
    if finite:
        check_finite(x, name, xp=xp)
    return x


def check_finite(x: Any, name: str = "X", *, xp: Any = None) -> None:
    """Raise ``ValueError`` naming ``name`` if ``x`` contains NaN or infinity."""
    if not all_finite(x, xp=xp):
        raise ValueError(f"{name} contains NaN or infinity.")


def check_matrix(M: Any, name: str = "M", *, xp: Any = None, square: bool = True) -> Any:
    """Validate a (square) floating matrix and return it as a floating array."""
    M = as_float_array(M, name, xp=xp, ndim=2)
    if square and M.shape[0] != M.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {tuple(M.shape)}.")
    return M


def encode_labels(y: Any, *, xp: Any = None, device: Any = None) -> tuple[Any, Any]:
    """Sorted distinct labels and the integer code of every label, computed once.

    Parameters
    ----------
    y : array_like of shape (n,)
        Labels of any dtype (numbers, strings) and any supported library.
    xp : module, optional
        Namespace of the returned codes; NumPy when omitted.
    device : device, optional
        Device of the returned codes.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        The distinct labels, sorted (NumPy, since labels may be strings).
    codes : array of shape (n,)
        ``int64`` codes in ``[0, n_classes)`` with ``classes[codes] == y``, in ``xp`` on
        ``device``.
    """
    classes, codes = np.unique(np.asarray(to_numpy(y)), return_inverse=True)
    codes = codes.reshape(-1).astype(np.int64, copy=False)
    if xp is not None:
        codes = to_namespace(codes, xp, device)
    return classes, codes
