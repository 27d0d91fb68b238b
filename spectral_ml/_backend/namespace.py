"""Which library and device an array lives on, and moving arrays between them.

Every array-level function of spectral_ml calls :func:`get_namespace` on its inputs and
then uses only the array-API functions of that namespace, so that the same code runs on
NumPy, CuPy, PyTorch and array-api-strict arrays and returns results in the caller's
namespace and on the caller's device. Copies between libraries go through host memory,
the one route every pair of libraries shares; each library's way of making a host copy is
its entry's (:mod:`spectral_ml._backend.libraries`).

Dask arrays are recognised without importing Dask: an object can only be a Dask array if
the program imported Dask already, so the core package never pays for (or needs) it.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

from .libraries import array_library, library_of_array

__all__ = [
    "get_namespace",
    "device_of",
    "is_numpy_namespace",
    "is_foreign_array",
    "to_python_float",
    "to_numpy",
    "from_numpy",
    "to_namespace",
    "match_namespace",
    "is_dask_array",
    "any_dask_array",
]


def get_namespace(*arrays: Any) -> Any:
    """Return the array-API namespace shared by ``arrays``.

    Parameters
    ----------
    *arrays : array_like
        Arrays of one library (NumPy, CuPy, PyTorch, array-api-strict). Python scalars and
        ``None`` are ignored.

    Returns
    -------
    xp : module
        The array-API compatible namespace (``array_api_compat`` wrapper where needed).

    Raises
    ------
    TypeError
        If the arrays come from different libraries.
    """
    present = [a for a in arrays if a is not None and not isinstance(a, (int, float, complex, bool))]
    if not present:
        return array_api_compat.array_namespace(np.empty(0))
    return array_api_compat.array_namespace(*present)


def device_of(x: Any) -> Any:
    """Return the device of array ``x`` (what ``xp.asarray(..., device=...)`` accepts)."""
    return array_api_compat.device(x)


def is_numpy_namespace(xp: Any) -> bool:
    """Whether ``xp`` is NumPy (or its array-api-compat wrapper).

    Algorithms that only NumPy and SciPy offer (a sparse product, a partial sort) ask this
    before taking their NumPy route; what every library does its own way is a method of
    its entry instead (:func:`spectral_ml._backend.array_library`).
    """
    return array_api_compat.is_numpy_namespace(xp)


def is_foreign_array(x: Any) -> bool:
    """Whether ``x`` is an array of an array-API library other than NumPy.

    True for CuPy, PyTorch, array-api-strict (and other array-API) arrays; False for NumPy
    arrays and scalars, lists, tuples, Python scalars and containers such as pandas
    frames. Estimators use it to choose between scikit-learn's validation (NumPy-like
    input) and validation that keeps the array in its own namespace and on its device.
    """
    if isinstance(x, (np.ndarray, np.generic, list, tuple)) or not array_api_compat.is_array_api_obj(x):
        return False
    try:
        xp = array_api_compat.array_namespace(x)
    except TypeError:
        return False
    return not is_numpy_namespace(xp)


def to_python_float(x: Any) -> float:
    """Return a 0-d array (of any namespace) or scalar as a Python float."""
    if hasattr(x, "item"):
        return float(x.item())
    return float(x)


def to_numpy(x: Any) -> np.ndarray:
    """Return a NumPy copy (or view) of array ``x`` from any supported library.

    Used only where a step has no array-API equivalent (scikit-learn, pymanopt, SciPy's
    assignment solver); callers convert back with :func:`from_numpy`. Lists and scalars
    become arrays; arrays of a library without an entry go through DLPack.
    """
    return library_of_array(x).to_numpy(x)


def from_numpy(a: np.ndarray, xp: Any, device: Any = None) -> Any:
    """Move NumPy array ``a`` into namespace ``xp`` (on ``device`` when given)."""
    return array_library(xp).from_numpy(a, device)


def to_namespace(a: Any, xp: Any, device: Any = None) -> Any:
    """``a`` (an array of any supported library, a list or a scalar) as an array of ``xp``.

    Returns ``a`` itself when it already belongs to ``xp`` (and to ``device``, when given);
    otherwise copies it through host memory, the one route every pair of libraries shares.

    Parameters
    ----------
    a : array_like
        Array of NumPy, CuPy, PyTorch or array-api-strict, or a list, tuple or scalar.
    xp : module
        Target namespace (as returned by :func:`get_namespace`).
    device : device, optional
        Target device (as returned by :func:`device_of`); the namespace's default when
        omitted.

    Returns
    -------
    array
        An array of ``xp``.
    """
    if isinstance(a, (list, tuple)) or np.isscalar(a):
        a = np.asarray(a)
    try:
        # A NumPy array is not "there" yet for other namespaces; for NumPy itself the copy
        # below gives it back unchanged.
        same = not isinstance(a, np.ndarray) and array_api_compat.array_namespace(a) is xp
    except TypeError:
        same = False
    if same and (device is None or device_of(a) == device):
        return a
    return from_numpy(np.asarray(to_numpy(a)), xp, device)


def match_namespace(a: Any, like: Any) -> Any:
    """``a`` as an array of the namespace and on the device of array ``like``."""
    return to_namespace(a, get_namespace(like), device_of(like))


def is_dask_array(x: Any) -> bool:
    """Whether ``x`` is a ``dask.array.Array`` (never imports Dask)."""
    return array_api_compat.is_dask_array(x)


def any_dask_array(*arrays: Any) -> bool:
    """Whether any of ``arrays`` is a ``dask.array.Array`` (``None`` entries are skipped)."""
    return any(a is not None and is_dask_array(a) for a in arrays)
