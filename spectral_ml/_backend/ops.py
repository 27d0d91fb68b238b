"""Array operations under one name each, done the way the array's own library does them best.

Each function looks up the entry of its inputs' library
(:func:`spectral_ml._backend.libraries.array_library`) and calls the method of the same
name: the portable array-API version, or the library's fast path (NumPy's ufuncs in
place, PyTorch's in-place tensor methods, LAPACK and cuSOLVER factorizations). What is
common to every library (argument defaults, the checks of a Cholesky factor, the
conversion of a result to a Python float) is written here once.

Only generic helpers live here. Algorithms that need a fast path of their own (the
Gaussian affinity of :mod:`spectral_ml.dpp.kernel`) call the entry's methods directly, in
the module that owns their mathematics.
"""

from __future__ import annotations

from typing import Any

from .libraries import array_library, array_library_of
from .namespace import device_of, get_namespace, to_namespace, to_python_float

__all__ = [
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
]


def cast(x: Any, dtype: Any, *, xp: Any = None) -> Any:
    """``x`` converted to ``dtype``; ``x`` itself (no copy) when it has that dtype already."""
    if x.dtype == dtype:
        return x
    if xp is None:
        xp = get_namespace(x)
    return xp.astype(x, dtype)


def eye_like(M: Any) -> Any:
    """Identity matrix with the size, dtype, namespace and device of square ``M``."""
    xp = get_namespace(M)
    return xp.eye(M.shape[0], dtype=M.dtype, device=device_of(M))


def take_rows(X: Any, rows: Any) -> Any:
    """Rows ``rows`` (integer indices: NumPy, list, or an array of X's namespace) of ``X``.

    The indices are moved to X's namespace and device first; NumPy then indexes directly,
    other libraries use ``take``.
    """
    xp = get_namespace(X)
    return array_library(xp).take_rows(X, to_namespace(rows, xp, device_of(X)))


def ufunc_module(xp: Any) -> Any:
    """NumPy or CuPy when ``xp`` is one of them (ufuncs with ``out=`` and ``where=``), else None.

    Callers use the module to update n×n arrays in place instead of allocating
    temporaries; other namespaces take the out-of-place array-API expression.
    """
    return array_library(xp).ufuncs


def masked(A: Any, mask: Any, *, xp: Any = None) -> Any:
    """``A`` where boolean ``mask`` holds, 0 elsewhere."""
    library = array_library_of(A) if xp is None else array_library(xp)
    return library.masked(A, mask)


def zero_diagonal(M: Any, *, xp: Any = None) -> Any:
    """``M`` with a zero diagonal: in place on NumPy, a new array elsewhere."""
    library = array_library_of(M) if xp is None else array_library(xp)
    return library.zero_diagonal(M)


def subtract_diagonal(M: Any, v: Any, *, xp: Any = None) -> Any:
    """``M − diag(v)``: in place on NumPy, CuPy and PyTorch (n entries updated), a new array elsewhere."""
    library = array_library_of(M) if xp is None else array_library(xp)
    return library.subtract_diagonal(M, v)


def matmul(A: Any, B: Any, *, xp: Any = None) -> Any:
    """``A @ B``, with PyTorch's float16 and bfloat16 CPU tensors multiplied in float32.

    PyTorch 2.1 has no CPU matrix product for float16 (later releases do); float32 holds
    every value of both formats exactly, and the product is rounded back to the operands'
    dtype.
    """
    library = array_library_of(A) if xp is None else array_library(xp)
    return library.matmul(A, B)


def inner_product(A: Any, B: Any, *, xp: Any = None) -> float:
    """Σ A_ij B_ij over all entries of two arrays of the same shape, as a Python float."""
    if xp is None:
        xp = get_namespace(A, B)
    return to_python_float(array_library(xp).inner_product(A, B))


def all_finite(x: Any, *, xp: Any = None) -> bool:
    """Whether every entry of ``x`` is finite (no NaN, no infinity).

    One reduction where the library has one (NumPy, PyTorch's min and max); the caller
    decides what a non-finite entry means (:func:`spectral_ml._validation.check_finite`
    raises).
    """
    library = array_library_of(x) if xp is None else array_library(xp)
    return library.all_finite(x)


def cholesky(M: Any, *, overwrite: bool = False, xp: Any = None) -> Any:
    """Lower Cholesky factor of symmetric ``M``, or ``None`` when ``M`` is not positive definite.

    Unlike the libraries' own routines this never raises on an indefinite or singular matrix
    and never returns NaNs silently (CuPy does): failure is reported as ``None``. Only the
    lower triangle of ``M`` is read.

    On NumPy, LAPACK's ``potrf`` is called directly on Mᵀ's memory in Fortran order
    (:func:`spectral_ml._backend.lapack.potrf_lower`): the factor then comes out in the
    layout :func:`cholesky_inverse` works in, and the layout copies of
    ``numpy.linalg.cholesky`` are skipped. On CuPy, cuSOLVER's ``potrf`` is called directly
    too, so that its failure flag stays on the GPU until :func:`cholesky_deferred`'s caller
    reads it.

    Parameters
    ----------
    M : array
        Symmetric matrix, any supported namespace.
    overwrite : bool, default=False
        NumPy only: factor in ``M``'s own memory (for a C-contiguous ``M``), which saves an
        n×n array. ``M``'s lower triangle then holds the factor, also when the
        factorization fails, and its strict upper triangle keeps ``M``'s entries: the
        returned ``C`` is that memory, lower-triangular only in the part that
        :func:`cholesky_inverse` reads. Ignored by other namespaces.
    xp : module, optional
        Namespace of ``M``.

    Returns
    -------
    C : array or None
        Lower-triangular ``C`` with ``C @ C.T == M`` (zero above the diagonal unless
        ``overwrite``), or ``None``.
    """
    C, ok = cholesky_deferred(M, overwrite=overwrite, xp=xp)
    return C if C is not None and bool(ok) else None


def cholesky_deferred(M: Any, *, overwrite: bool = False, xp: Any = None) -> tuple[Any, Any]:
    """:func:`cholesky` with its success left unread: the factor and a flag.

    Returns ``(C, ok)``: ``ok`` is a 0-d boolean array on ``C``'s device (a NumPy bool on
    NumPy), true when the factorization succeeded with finite, positive pivots; ``C`` is
    meaningless where it is false, and ``None`` when the library raised or reported the
    failure on the host. A caller that reads ``ok`` back together with its own results
    saves a read: on a GPU each one waits for the device. Parameters as for
    :func:`cholesky`.
    """
    if xp is None:
        xp = get_namespace(M)
    try:
        C, failed = array_library(xp).cholesky(M, overwrite=overwrite)
    except Exception as exc:  # each library raises its own LinAlgError type
        if "LinAlgError" in type(exc).__name__ or isinstance(exc, (ValueError, RuntimeError)):
            return None, False
        raise
    if C is None:
        return None, False
    diag = xp.linalg.diagonal(C)
    ok = xp.all(xp.isfinite(diag) & (diag > 0))
    if failed is not None:
        ok = ok & ~failed
    return C, ok


def cholesky_solve(C: Any, B: Any, *, xp: Any = None) -> Any:
    """Solve ``(C Cᵀ) X = B`` given the lower Cholesky factor ``C``.

    Uses the library's triangular solver (SciPy, CuPy, PyTorch) and falls back to two
    general solves for other namespaces.
    """
    if xp is None:
        xp = get_namespace(C, B)
    return array_library(xp).cholesky_solve(C, B)


def cholesky_inverse(C: Any, *, overwrite: bool = False, lower_only: bool = False, xp: Any = None) -> Any:
    """Symmetric inverse of ``C Cᵀ`` from its lower Cholesky factor ``C``.

    Forming the inverse from the factor takes n³/3 + n³/3 flops (the inverse V = C⁻¹, then
    VᵀV), a third of the 2n³ of two triangular solves against the identity. On NumPy the
    triangular inverse is computed by halves and VᵀV by LAPACK's ``lauum``, both in one n×n
    array (:func:`spectral_ml._backend.lapack.inverse_from_lower_factor`); PyTorch has
    ``torch.cholesky_inverse``; other libraries get the two solves, which need ``C``
    exactly triangular (zeros above the diagonal, as :func:`cholesky` returns it without
    ``overwrite``). NumPy and PyTorch read only the lower triangle.

    Parameters
    ----------
    C : array of shape (n, n)
        Lower Cholesky factor.
    overwrite : bool, default=False
        NumPy only: work in ``C``'s memory (``C`` is then destroyed) instead of a copy.
    lower_only : bool, default=False
        NumPy only: fill only the lower triangle (diagonal included) of the result and
        leave the strict upper triangle as it was in ``C``. The full matrix is returned by
        other namespaces.
    xp : module, optional
        Namespace of ``C``.

    Returns
    -------
    array of shape (n, n)
        (C Cᵀ)⁻¹, exactly symmetric (unless ``lower_only``).

    Raises
    ------
    numpy.linalg.LinAlgError
        On NumPy, if ``C`` has a zero on its diagonal.
    """
    if xp is None:
        xp = get_namespace(C)
    return array_library(xp).cholesky_inverse(C, overwrite=overwrite, lower_only=lower_only)
