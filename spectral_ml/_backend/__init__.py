"""The array backend: where an array lives, and how its library does what the array API lacks.

Every array-level function of spectral_ml calls :func:`get_namespace` on its inputs and then
uses only the array-API functions of that namespace. This package is the only place that
knows which libraries exist; the rest of the package imports the names below from
``spectral_ml._backend``. Its modules, bottom up:

* :mod:`~spectral_ml._backend.lapack`: the raw LAPACK (SciPy) and cuSOLVER (CuPy) kernels
  of the Cholesky path, and in-place passes over a NumPy matrix's two triangles
  (:func:`mirror_lower_triangle`, :func:`multiply_triangles`);
* :mod:`~spectral_ml._backend.libraries`: one entry per array library (NumPy, CuPy,
  PyTorch, and the portable array-API entry for the others), each saying how its library
  does every operation with a fast path; :func:`array_library` finds a namespace's entry
  (:func:`array_library_of`, an array's);
* :mod:`~spectral_ml._backend.namespace`: the namespace and device of arrays, and moving
  arrays between libraries and devices (:func:`to_numpy`, :func:`to_namespace`,
  :func:`match_namespace`);
* :mod:`~spectral_ml._backend.ops`: the named array operations (row selection, masks and
  in-place diagonal updates, products, finiteness, Cholesky factor, solve and inverse),
  each one look-up of the entry and one call.

A new array library is one new entry in :mod:`~spectral_ml._backend.libraries`.
"""

from __future__ import annotations

from .lapack import mirror_lower_triangle, multiply_triangles
from .libraries import LIBRARIES, ArrayLibrary, array_library, array_library_of
from .namespace import (
    any_dask_array,
    device_of,
    from_numpy,
    get_namespace,
    is_dask_array,
    is_foreign_array,
    is_numpy_namespace,
    match_namespace,
    to_namespace,
    to_numpy,
    to_python_float,
)
from .ops import (
    all_finite,
    cast,
    cholesky,
    cholesky_deferred,
    cholesky_inverse,
    cholesky_solve,
    eye_like,
    inner_product,
    masked,
    matmul,
    subtract_diagonal,
    take_rows,
    ufunc_module,
    zero_diagonal,
)

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
    "ArrayLibrary",
    "LIBRARIES",
    "array_library",
    "array_library_of",
    "cast",
    "eye_like",
    "take_rows",
    "ufunc_module",
    "masked",
    "zero_diagonal",
    "subtract_diagonal",
    "matmul",
    "inner_product",
    "all_finite",
    "cholesky",
    "cholesky_deferred",
    "cholesky_solve",
    "cholesky_inverse",
    "mirror_lower_triangle",
    "multiply_triangles",
]
