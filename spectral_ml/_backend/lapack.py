"""Raw LAPACK (through SciPy) and cuSOLVER (through CuPy) kernels of the Cholesky path.

The libraries' own ``cholesky`` and ``inv`` cost layout copies and, on a GPU, a read-back
of the failure flag; at the sizes of a DPP batch (n = 500) those copies cost two to five
times the factorization itself. The kernels here call the routines directly, on memory
laid out the way the routine wants it:

* :func:`potrf_lower`: LAPACK ``potrf`` on a NumPy matrix's transpose in Fortran order;
* :func:`cusolver_potrf`: cuSOLVER ``potrf`` on a CuPy matrix, with its failure flag left
  on the device;
* :func:`inverse_from_lower_factor`: (C Cᵀ)⁻¹ from the factor in one n×n array, by the
  triangular inverse (:func:`invert_upper_triangle`, by halves) and LAPACK ``lauum``;
* :func:`mirror_lower_triangle` and :func:`multiply_triangles`: in-place passes over the
  two triangles of a NumPy matrix, as the in-place factorization leaves them.

Only the NumPy and CuPy entries of :mod:`spectral_ml._backend.libraries` call the
factorization kernels; the triangle passes are also called by the exact DPP gradient on
NumPy arrays. SciPy and CuPy are imported inside the functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "potrf_lower",
    "cusolver_potrf",
    "inverse_from_lower_factor",
    "invert_upper_triangle",
    "mirror_lower_triangle",
    "multiply_triangles",
]

#: Order of the diagonal blocks that :func:`invert_upper_triangle` leaves to LAPACK's
#: ``trtri``: from 32 to 96 the time is the same within 2 % at n = 500.
TRTRI_BLOCK = 64
#: Side of the square tiles of in-place passes that read one triangle transposed: a tile
#: and its mirror image (2 × 80 KiB in float64) stay in the core's cache together.
TILE = 100


def potrf_lower(M: np.ndarray, *, overwrite: bool = False) -> np.ndarray | None:
    """Lower Cholesky factor of a NumPy matrix by LAPACK's ``potrf``, or ``None`` on failure.

    ``potrf`` is called on Mᵀ's memory in Fortran order (the upper factor of Mᵀ = M is the
    lower factor's transpose): the factor then comes out in the layout
    :func:`inverse_from_lower_factor` works in, and the layout copies of
    ``numpy.linalg.cholesky`` (2 to 5 times its cost at n = 500) are skipped. Only the
    lower triangle of ``M`` is read.

    Parameters
    ----------
    M : ndarray of shape (n, n)
        Symmetric matrix, float32 or float64.
    overwrite : bool, default=False
        Factor in ``M``'s own memory (for a C-contiguous ``M``): its lower triangle then
        holds the factor, also when the factorization fails, and its strict upper triangle
        keeps ``M``'s entries. Without it the factor is a new array, zero above the diagonal.

    Returns
    -------
    ndarray of shape (n, n) or None
        The factor, ``None`` when ``potrf`` reports that ``M`` is not positive definite.
    """
    from scipy.linalg import lapack

    (potrf,) = lapack.get_lapack_funcs(("potrf",), (M,))
    if overwrite:
        U, info = potrf(M.T, lower=0, clean=0, overwrite_a=1)
    else:
        U, info = potrf(M.T, lower=0, clean=1)
    if info != 0:
        return None
    return U.T


def cusolver_potrf(M: Any, cupy: Any) -> tuple[Any, Any]:
    """Lower Cholesky factor of a float32 or float64 CuPy matrix, and potrf's failure flag.

    ``cupy.linalg.cholesky`` reports a failed factorization only by reading cuSOLVER's info
    back to the host (under ``cupyx.errstate(linalg="raise")``), a wait for the GPU; here
    the flag ``info != 0`` stays on the device for the caller's own read. cuSOLVER is
    column-major, so it sees a C-ordered copy of the symmetric M as Mᵀ = M; the upper factor
    U (M = UᵀU) it leaves there is, read in C order, the lower factor Uᵀ in the lower
    triangle.

    Parameters
    ----------
    M : cupy.ndarray of shape (n, n)
        Symmetric matrix, float32 or float64.
    cupy : module
        The ``cupy`` module.

    Returns
    -------
    C : cupy.ndarray of shape (n, n)
        The factor, zero above the diagonal; meaningless where ``failed`` holds.
    failed : cupy.ndarray of shape ()
        Boolean, on the device.
    """
    from cupy.cuda import device
    from cupy_backends.cuda.libs import cublas, cusolver

    A = cupy.array(M, order="C", copy=True)  # potrf factors in place
    n = int(A.shape[0])
    prefix = "s" if A.dtype == cupy.float32 else "d"
    potrf = getattr(cusolver, prefix + "potrf")
    buffer_size = getattr(cusolver, prefix + "potrf_bufferSize")
    handle = device.get_cusolver_handle()
    upper = cublas.CUBLAS_FILL_MODE_UPPER
    work = cupy.empty(buffer_size(handle, upper, n, A.data.ptr, n), dtype=A.dtype)
    info = cupy.zeros((), dtype=cupy.int32)
    potrf(handle, upper, n, A.data.ptr, n, work.data.ptr, work.size, info.data.ptr)
    return cupy.tril(A), info != 0


def inverse_from_lower_factor(C: np.ndarray, *, overwrite: bool = False, lower_only: bool = False) -> np.ndarray:
    """(C Cᵀ)⁻¹ of a NumPy lower Cholesky factor ``C``, in one n×n array.

    Cᵀ's memory in Fortran order is the upper factor U: U⁻¹ is formed in place
    (:func:`invert_upper_triangle`), then LAPACK's ``lauum`` writes U⁻¹U⁻ᵀ = (UᵀU)⁻¹ over it,
    upper triangle of U (lower triangle of ``C``) only. Only the lower triangle of ``C`` is
    read.

    Parameters
    ----------
    C : ndarray of shape (n, n)
        Lower Cholesky factor.
    overwrite : bool, default=False
        Work in ``C``'s memory (``C`` is then destroyed) instead of a copy.
    lower_only : bool, default=False
        Fill only the lower triangle (diagonal included) of the result and leave its strict
        upper triangle as it was in ``C``.

    Returns
    -------
    ndarray of shape (n, n)
        The inverse, exactly symmetric unless ``lower_only``.

    Raises
    ------
    numpy.linalg.LinAlgError
        If ``C`` has a zero on its diagonal.
    """
    from scipy.linalg import lapack

    A = C if overwrite else np.array(C, copy=True)
    U = A.T
    invert_upper_triangle(U)
    (lauum,) = lapack.get_lapack_funcs(("lauum",), (U,))
    inv, info = lauum(U, lower=0, overwrite_c=1)
    if info != 0:  # only for an illegal argument
        raise np.linalg.LinAlgError(f"lauum failed (info={info})")
    if not np.shares_memory(inv, U):  # a copy was made for a non-contiguous U
        U[...] = inv
    if not lower_only:
        mirror_lower_triangle(A)
    return A


def invert_upper_triangle(U: np.ndarray) -> None:
    """Invert a NumPy upper-triangular matrix in place (its strict lower triangle is not read).

    By halves: with U = [A B; 0 D], U⁻¹ = [A⁻¹ −A⁻¹BD⁻¹; 0 D⁻¹], recursively down to blocks
    of :data:`TRTRI_BLOCK` rows inverted by LAPACK's ``trtri``, and the two triangular
    products by BLAS ``trmm``. The flops are those of ``trtri`` (n³/3), but nearly all of
    them run in ``trmm``: OpenBLAS's ``trtri`` runs at about half the rate of its matrix
    products, 2.0 ms against 1.2 ms for this at n = 500 on one core.

    Raises
    ------
    numpy.linalg.LinAlgError
        If a diagonal entry is zero.
    """
    from scipy.linalg import blas, lapack

    (trtri,) = lapack.get_lapack_funcs(("trtri",), (U,))
    (trmm,) = blas.get_blas_funcs(("trmm",), (U,))
    _invert_upper_block(U, 0, int(U.shape[0]), trtri, trmm)


def _invert_upper_block(U, lo: int, hi: int, trtri, trmm) -> None:
    # A module-level function, not a closure: a recursive closure refers to itself, and the
    # reference cycle would keep U (an n×n array) alive until the garbage collector runs.
    if hi - lo <= TRTRI_BLOCK:
        inv, info = trtri(U[lo:hi, lo:hi], lower=0)
        if info != 0:
            raise np.linalg.LinAlgError("the triangular factor has a zero on its diagonal")
        U[lo:hi, lo:hi] = inv
        return
    mid = (lo + hi) // 2
    _invert_upper_block(U, lo, mid, trtri, trmm)
    _invert_upper_block(U, mid, hi, trtri, trmm)
    B = trmm(-1.0, U[lo:mid, lo:mid], U[lo:mid, mid:hi], side=0, lower=0)
    U[lo:mid, mid:hi] = trmm(1.0, U[mid:hi, mid:hi], B, side=1, lower=0, overwrite_b=1)


def mirror_lower_triangle(A: np.ndarray) -> np.ndarray:
    """Copy a NumPy square matrix's strict lower triangle onto its upper one, in place.

    In tiles of :data:`TILE` rows, so that the transposed reads stay in cache and no n×n
    temporary is made (``np.tril(A) + np.tril(A, -1).T`` would make three). Returns ``A``.
    """
    n = int(A.shape[0])
    for i0 in range(0, n, TILE):
        i1 = min(i0 + TILE, n)
        for j0 in range(0, i0, TILE):
            A[j0 : j0 + TILE, i0:i1] = A[i0:i1, j0 : j0 + TILE].T
        D = A[i0:i1, i0:i1]
        m = i1 - i0
        np.copyto(D, D.T.copy(), where=np.tri(m, m, -1, dtype=bool).T)
    return A


def multiply_triangles(A: np.ndarray) -> np.ndarray:
    """Replace a NumPy square matrix by the product of its two triangles, in place.

    Off the diagonal both A_ij and A_ji become A_ij·A_ji, so the result is symmetric; the
    diagonal is kept. When A holds one symmetric matrix P in its lower triangle and another,
    Q, in its strict upper one (as a factorization in place leaves them), this is the
    Hadamard product P ∘ Q off the diagonal without an n×n temporary. In tiles, as
    :func:`mirror_lower_triangle`. Returns ``A``.
    """
    n = int(A.shape[0])
    for i0 in range(0, n, TILE):
        i1 = min(i0 + TILE, n)
        for j0 in range(0, i0, TILE):
            lower = A[i0:i1, j0 : j0 + TILE]
            upper = A[j0 : j0 + TILE, i0:i1]
            lower *= upper.T
            upper[...] = lower.T
        D = A[i0:i1, i0:i1]
        diagonal = np.diagonal(D).copy()
        D *= D.T.copy()
        np.fill_diagonal(D, diagonal)
    return A
