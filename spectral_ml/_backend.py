"""Array-backend plumbing: the namespace and device of the inputs decide where work runs.

Every array-level function of spectral_ml calls :func:`get_namespace` on its inputs and
then uses only the array-API functions of that namespace, so the same code runs on NumPy,
CuPy, PyTorch and array-api-strict arrays and returns results in the caller's namespace and
on the caller's device. The few operations the array API does not define (triangular and
Cholesky solves) are dispatched here to the native routine of each library, with a portable
fallback.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "get_namespace",
    "device_of",
    "is_numpy_namespace",
    "floating_dtype",
    "as_float_array",
    "check_finite",
    "check_matrix",
    "to_numpy",
    "from_numpy",
    "cholesky",
    "cholesky_solve",
    "to_python_float",
]


def get_namespace(*arrays: Any):
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
    arrays = [a for a in arrays if a is not None and not isinstance(a, (int, float, complex, bool))]
    if not arrays:
        return array_api_compat.array_namespace(np.empty(0))
    return array_api_compat.array_namespace(*arrays)


def device_of(x: Any):
    """Return the device of array ``x`` (what ``xp.asarray(..., device=...)`` accepts)."""
    return array_api_compat.device(x)


def is_numpy_namespace(xp) -> bool:
    """Whether ``xp`` is NumPy (or its array-api-compat wrapper)."""
    return array_api_compat.is_numpy_namespace(xp)


def floating_dtype(x: Any, xp):
    """Return the floating dtype computations on ``x`` use: its own, or float64 for integers."""
    if xp.isdtype(x.dtype, "real floating"):
        return x.dtype
    return xp.float64


def as_float_array(x: Any, name: str = "X", *, xp=None, ndim: int | None = None):
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
    check_finite(x, name, xp=xp)
    return x


def check_finite(x: Any, name: str = "X", *, xp=None) -> None:
    """Raise ``ValueError`` naming ``name`` if ``x`` contains NaN or infinity."""
    if xp is None:
        xp = get_namespace(x)
    if not bool(xp.all(xp.isfinite(x))):
        raise ValueError(f"{name} contains NaN or infinity.")


def check_matrix(M: Any, name: str = "M", *, xp=None, square: bool = True):
    """Validate a (square) floating matrix and return it as a floating array."""
    M = as_float_array(M, name, xp=xp, ndim=2)
    if square and M.shape[0] != M.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {tuple(M.shape)}.")
    return M


def to_python_float(x: Any) -> float:
    """Return a 0-d array (of any namespace) or scalar as a Python float."""
    if hasattr(x, "item"):
        return float(x.item())
    return float(x)


def to_numpy(x: Any) -> np.ndarray:
    """Return a NumPy copy (or view) of array ``x`` from any supported library.

    Used only where a step has no array-API equivalent (scikit-learn, pymanopt, SciPy's
    assignment solver); callers convert back with :func:`from_numpy`.
    """
    if isinstance(x, np.ndarray):
        return x
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    if isinstance(x, (list, tuple, int, float)) or np.isscalar(x):
        return np.asarray(x)
    try:
        return np.from_dlpack(x)
    except (TypeError, BufferError, RuntimeError, AttributeError):
        return np.asarray(x)


def from_numpy(a: np.ndarray, xp, device=None):
    """Move NumPy array ``a`` into namespace ``xp`` (on ``device`` when given)."""
    if is_numpy_namespace(xp):
        return np.asarray(a)
    if device is None:
        return xp.asarray(a)
    return xp.asarray(a, device=device)


def _native(xp):
    """Return the library module behind an array-api-compat namespace (best effort)."""
    if array_api_compat.is_cupy_namespace(xp):
        import cupy

        return "cupy", cupy
    if array_api_compat.is_torch_namespace(xp):
        import torch

        return "torch", torch
    if is_numpy_namespace(xp):
        return "numpy", np
    return "generic", xp


def cholesky(M: Any, *, xp=None):
    """Lower Cholesky factor of symmetric ``M``, or ``None`` when ``M`` is not positive definite.

    Unlike the libraries' own routines this never raises on an indefinite or singular matrix
    and never returns NaNs silently (CuPy does): failure is reported as ``None``.

    Parameters
    ----------
    M : array
        Symmetric matrix, any supported namespace.
    xp : module, optional
        Namespace of ``M``.

    Returns
    -------
    C : array or None
        Lower-triangular ``C`` with ``C @ C.T == M``, or ``None``.
    """
    if xp is None:
        xp = get_namespace(M)
    kind, lib = _native(xp)
    try:
        if kind == "torch":
            C, info = lib.linalg.cholesky_ex(M)
            if int(info.max()) != 0:
                return None
        else:
            C = xp.linalg.cholesky(M)
    except Exception as exc:  # each library raises its own LinAlgError type
        if "LinAlgError" in type(exc).__name__ or isinstance(exc, (ValueError, RuntimeError)):
            return None
        raise
    diag = xp.linalg.diagonal(C)
    if not bool(xp.all(xp.isfinite(diag))) or not bool(xp.all(diag > 0)):
        return None
    return C


def cholesky_solve(C: Any, B: Any, *, xp=None):
    """Solve ``(C Cᵀ) X = B`` given the lower Cholesky factor ``C``.

    Uses the library's triangular solver (SciPy, CuPy, PyTorch) and falls back to two
    general solves for other namespaces.
    """
    if xp is None:
        xp = get_namespace(C, B)
    kind, lib = _native(xp)
    if kind == "numpy":
        import scipy.linalg

        return scipy.linalg.cho_solve((np.asarray(C), True), np.asarray(B), check_finite=False)
    if kind == "cupy":
        from cupyx.scipy.linalg import solve_triangular

        Y = solve_triangular(C, B, lower=True)
        return solve_triangular(C, Y, lower=True, trans="T")
    if kind == "torch":
        return lib.cholesky_solve(B, C, upper=False)
    Y = xp.linalg.solve(C, B)
    return xp.linalg.solve(xp.linalg.matrix_transpose(C), Y)


def machine_epsilon(dtype, xp) -> float:
    """Machine epsilon of a floating dtype."""
    return float(xp.finfo(dtype).eps)


def log_of(x: float) -> float:
    """``math.log`` that maps 0 to ``-inf`` instead of raising."""
    return math.log(x) if x > 0 else -math.inf
