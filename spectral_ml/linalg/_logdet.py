"""Log-determinants of symmetric positive definite matrices, from a Cholesky factor.

det M under- and overflows long before log det M does; the factor gives
log det M = 2 Σ log C_jj directly, and its pivots say whether M is positive definite to
working precision. The factorization itself is the array backend's
(:func:`spectral_ml._backend.cholesky_deferred`), whose success flag is read back here
together with the pivot test and the log-determinant.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._backend import cholesky_deferred, get_namespace, to_numpy
from .._validation import check_matrix, check_real
from ._spectral import sym

__all__ = ["cholesky_logdet", "logdet_spd"]


def cholesky_logdet(M: Any, *, pivot_rtol: float | None = None, overwrite: bool = False) -> tuple[Any, Any]:
    """Lower Cholesky factor and log-determinant of a symmetric positive definite matrix.

    Positive definite is judged to working precision: the factorization must succeed and
    every pivot must stand above its rounding error, C_jj² > ``pivot_rtol``·M_jj. A matrix
    with two identical rows can factor "successfully" with a pivot of 1e-17 either sign,
    and whatever is computed from that factor (its inverse, its log-determinant) is noise.

    Parameters
    ----------
    M : array of shape (n, n)
        Symmetric matrix; only its lower triangle is read. Not validated: callers pass a
        finite square matrix.
    pivot_rtol : float, optional
        Relative size below which a squared pivot counts as round-off. Default n·ε (ε of
        the dtype of ``M``); 0 accepts every factorization that succeeds.
    overwrite : bool, default=False
        NumPy only: factor in ``M``'s memory (see :func:`spectral_ml._backend.cholesky`):
        its lower triangle is then the factor, or destroyed if the result is ``None``, and
        its strict upper triangle keeps ``M``'s entries.

    Returns
    -------
    C : array of shape (n, n) or None
        Lower-triangular factor, C Cᵀ = M, exactly zero above the diagonal (unless
        ``overwrite``); ``None`` when ``M`` is not numerically positive definite.
    logdet : float or None
        log det M = 2 Σ log C_jj; ``None`` with ``C``.
    """
    xp = get_namespace(M)
    if pivot_rtol is None:
        pivot_rtol = M.shape[0] * float(xp.finfo(M.dtype).eps)
    pivot_rtol = check_real(pivot_rtol, "pivot_rtol", low=0.0)
    scale = None
    if pivot_rtol != 0:
        scale = xp.linalg.diagonal(M)
        if overwrite:
            scale = xp.asarray(scale, copy=True)  # the factor is about to take its place
    C, ok = cholesky_deferred(M, overwrite=overwrite, xp=xp)
    if C is None:
        return None, None
    d = xp.linalg.diagonal(C)
    with np.errstate(invalid="ignore", divide="ignore"):  # a failed factor's pivots: ok says so
        logdet = 2.0 * xp.sum(xp.log(d))
    if pivot_rtol != 0 and scale is not None:
        ok = ok & ~xp.any(d * d <= pivot_rtol * scale)
    # The success flag, the pivot test and the log-determinant come back to the host in one
    # read (on a GPU each read waits for the device).
    ok, logdet = (float(v) for v in to_numpy(xp.stack([xp.astype(ok, logdet.dtype), logdet])))
    if not ok:
        return None, None
    return C, logdet


def logdet_spd(M: Any) -> Any:
    """Log-determinant of a symmetric positive definite matrix, without underflow.

    det M is a product of d eigenvalues and under- or overflows long before its logarithm
    does (a 500×500 Gaussian-kernel matrix has det far below 1e-308); the Cholesky factor
    gives log det M = 2 Σ log C_ii directly.

    Parameters
    ----------
    M : array of shape (d, d)
        Symmetric positive definite (its symmetric part is used).

    Returns
    -------
    float
        log det M.

    Raises
    ------
    ValueError
        If ``M`` is not positive definite (the factorization fails).

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.linalg import logdet_spd
    >>> round(logdet_spd(np.eye(500) * 1e-3), 6)
    -3453.877639
    """
    M = check_matrix(M, "M")
    C, logdet = cholesky_logdet(sym(M), pivot_rtol=0.0)
    if C is None:
        raise ValueError("M must be symmetric positive definite: its Cholesky factorization failed.")
    return logdet
