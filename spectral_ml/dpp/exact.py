"""Exact gradients of det L and log det L through one Cholesky factorization.

For symmetric positive definite L,

    ∂ log det L / ∂L = L⁻¹,        ∂ det L / ∂L = det(L) · L⁻¹,

and log det L = 2 Σ_i log C_ii for the Cholesky factor L = C Cᵀ. The determinant of a
Gaussian kernel matrix of a few hundred points underflows even in float64, so everything
is carried in log space and det L = exp(log det L) is formed last (it may be 0.0).

The factorization and the inverse are computed in float64 whatever the input dtype: the
exact path is taken for condition numbers up to about e·n/β (see
:func:`spectral_ml.dpp.dpp_diversity`), around 1e10 for the defaults, where a float32
Cholesky solve would have no correct digit left.
"""

from __future__ import annotations

import math

import array_api_compat
import numpy as np

from .._backend import check_matrix, cholesky, cholesky_solve, get_namespace

__all__ = ["logdet_gradient", "det_gradient"]


def _as_float64(A, xp):
    return A if A.dtype == xp.float64 else xp.astype(A, xp.float64)


def _cholesky_lower(L, xp):
    """Lower Cholesky factor of symmetric float64 L, or None when the factorization fails.

    On NumPy, LAPACK's potrf is called directly on the upper triangle of L stored in
    Fortran order (Lᵀ's memory, since L is symmetric): the factor then comes out in the
    layout potri takes in :func:`_inverse_from_cholesky`, and this skips the layout copies
    of ``numpy.linalg.cholesky``, which costs 2 to 5 times more at n = 500.
    """
    if array_api_compat.is_numpy_namespace(xp):
        from scipy.linalg import lapack

        U, info = lapack.dpotrf(L.T, lower=0, clean=1)
        if info != 0:
            return None
        return U.T
    return cholesky(L, xp=xp)


def _factor(L, xp):
    """Cholesky factor (float64) and log det of L, or ``(None, None)`` if L is singular.

    Singular means singular to working precision: the factorization fails, or a pivot
    C_jj² is within its rounding error n·ε·L_jj. A matrix with two identical rows can
    factor "successfully" with a pivot of 1e-17 either sign, and its computed inverse is
    then noise of size 1e16.
    """
    L = _as_float64(L, xp)
    C = _cholesky_lower(L, xp)
    if C is None:
        return None, None
    d = xp.linalg.diagonal(C)
    n = L.shape[0]
    tol = n * float(xp.finfo(xp.float64).eps)
    if bool(xp.any(d * d <= tol * xp.linalg.diagonal(L))):
        return None, None
    logdet = 2.0 * float(xp.sum(xp.log(d)))
    return C, logdet


def _inverse_from_cholesky(C, xp):
    """Symmetric L⁻¹ from the lower factor C (float64), consuming C where the library allows.

    LAPACK's potri forms the inverse from the factor in n³/3 + n³/3 flops, a third of the
    2n³ of two triangular solves against the identity; PyTorch exposes the same routine.
    Other libraries get the two solves. C must be exactly triangular (zeros above the
    diagonal), as :func:`_cholesky_lower` returns it.
    """
    if array_api_compat.is_numpy_namespace(xp):
        from scipy.linalg import lapack

        # Cᵀ is the upper factor stored in Fortran order, so potri works in place on it.
        inv, info = lapack.dpotri(C.T, lower=0, overwrite_c=1)
        if info == 0:
            # potri fills the upper triangle and leaves the strictly lower one as it was:
            # zero, since C is triangular. Mirroring is then one addition; the diagonal
            # counted twice is halved.
            full = inv + inv.T
            diag = full.reshape(-1)[:: full.shape[0] + 1]
            diag *= 0.5
            return full
    elif array_api_compat.is_torch_namespace(xp):
        import torch

        return torch.cholesky_inverse(C, upper=False)
    eye = xp.eye(C.shape[0], dtype=C.dtype, device=array_api_compat.device(C))
    Linv = cholesky_solve(C, eye, xp=xp)
    return (Linv + xp.linalg.matrix_transpose(Linv)) / 2


def _not_pd_error(name: str) -> np.linalg.LinAlgError:
    return np.linalg.LinAlgError(
        f"{name} is not numerically positive definite (its Cholesky factorization failed or "
        "left a pivot at round-off level), "
        "so det and log det have no gradient there; use a proper sub-gradient "
        "(spectral_ml.dpp.dppsg or dppsg_star, or dpp_diversity(method='auto'))."
    )


def logdet_gradient(L):
    """log det L and its gradient L⁻¹, from one Cholesky factorization.

    Parameters
    ----------
    L : array of shape (n, n)
        Symmetric positive definite matrix (any array-API namespace).

    Returns
    -------
    logdet : float
        log det L = 2 Σ log C_ii.
    grad : array of shape (n, n)
        L⁻¹ = ∂ log det L / ∂L, symmetric, in the namespace and dtype of ``L``. Computed in
        float64 (see the module notes) and cast back.

    Raises
    ------
    ValueError
        If ``L`` is not a finite square matrix.
    numpy.linalg.LinAlgError
        If ``L`` is not numerically positive definite: the factorization fails or a pivot
        C_jj² is below its rounding error n·ε·L_jj (float64 ε). It is a subclass of
        ``ValueError``.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.dpp import logdet_gradient
    >>> ld, G = logdet_gradient(np.diag([1.0, 4.0]))
    >>> round(ld, 6), np.diag(G)
    (1.386294, array([1.  , 0.25]))
    """
    L = check_matrix(L, "L")
    xp = get_namespace(L)
    C, logdet = _factor(L, xp)
    if C is None:
        raise _not_pd_error("L")
    Linv = _inverse_from_cholesky(C, xp)
    return logdet, xp.astype(Linv, L.dtype) if Linv.dtype != L.dtype else Linv


def det_gradient(L):
    """det L and its gradient det(L)·L⁻¹, from one Cholesky factorization.

    Parameters
    ----------
    L : array of shape (n, n)
        Symmetric positive definite matrix.

    Returns
    -------
    det : float
        det L = exp(log det L). Underflows to 0.0 for large ill-conditioned matrices (a
        Gaussian kernel matrix of a few hundred clustered points), in which case the
        gradient is exactly zero too: prefer :func:`logdet_gradient` there.
    grad : array of shape (n, n)
        det(L)·L⁻¹ in the namespace and dtype of ``L``.

    Raises
    ------
    ValueError
        If ``L`` is not a finite square matrix.
    numpy.linalg.LinAlgError
        If ``L`` is not numerically positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.dpp import det_gradient
    >>> d, G = det_gradient(np.diag([1.0, 4.0]))
    >>> round(d, 12), np.diag(G)
    (4.0, array([4., 1.]))
    """
    logdet, Linv = logdet_gradient(L)
    det = math.exp(logdet)
    return det, Linv * det
