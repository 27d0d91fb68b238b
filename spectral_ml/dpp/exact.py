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
from typing import Any

import numpy as np

from .._backend import (
    cast,
    cholesky_inverse,
    get_namespace,
    is_numpy_namespace,
    mirror_lower_triangle,
    multiply_triangles,
)
from .._validation import check_matrix
from ..linalg import cholesky_logdet

__all__ = ["logdet_gradient", "det_gradient"]


def kernel_cholesky(L: Any, xp: Any, *, overwrite: bool = False) -> tuple[Any, Any]:
    """Cholesky factor (float64) and log det of L, or ``(None, None)`` if L is singular.

    Singular means singular to working precision (see :func:`spectral_ml.linalg.cholesky_logdet`).
    With ``overwrite`` a float64 NumPy ``L`` is factored in its own memory: pass the result
    to :func:`kernel_weights`, or give ``L`` back with :func:`restore_kernel`.
    """
    return cholesky_logdet(cast(L, xp.float64, xp=xp), overwrite=overwrite)


def kernel_weights(C: Any, L64: Any, xp: Any) -> Any:
    """W = L⁻¹ ∘ L in float64, from the factor C of the kernel matrix L = L64.

    W is what the kernel back-propagation needs for ∂ log det L/∂L = L⁻¹. When C came from
    ``kernel_cholesky(L64, xp, overwrite=True)`` on NumPy, C *is* L64's memory, with the factor in
    its lower triangle and L in its strict upper one: the inverse is formed in the lower
    triangle alone and multiplied with the upper one in place, so the exact path allocates
    no n×n array besides the kernel (in float64), where each fresh one costs its page faults
    (about 500, or 1 ms, for 2 MB on Linux). The kernel's diagonal is exactly 1, so W's is
    that of L⁻¹.
    """
    if is_numpy_namespace(xp):
        return multiply_triangles(cholesky_inverse(C, overwrite=True, lower_only=True, xp=xp))
    W = cholesky_inverse(C, overwrite=True, xp=xp)
    W *= L64
    return W


def restore_kernel(L64: Any, xp: Any) -> None:
    """Make L64 the kernel matrix again after ``kernel_cholesky(L64, xp, overwrite=True)``.

    The factorization wrote only L64's lower triangle; the strict upper one is intact and
    the kernel's diagonal is exactly 1.
    """
    if is_numpy_namespace(xp):
        mirror_lower_triangle(L64.T)
        np.fill_diagonal(L64, 1.0)


class NotPositiveDefiniteError(np.linalg.LinAlgError, ValueError):
    """Raised where a matrix must be numerically positive definite and is not.

    A :class:`numpy.linalg.LinAlgError` that is also a :class:`ValueError` on every NumPy
    release (``LinAlgError`` itself derives from ``ValueError`` only from NumPy 2.0 on).
    """


def not_pd_error(name: str) -> NotPositiveDefiniteError:
    return NotPositiveDefiniteError(
        f"{name} is not numerically positive definite (its Cholesky factorization failed or "
        "left a pivot at round-off level), "
        "so det and log det have no gradient there; use a proper sub-gradient "
        "(spectral_ml.dpp.dppsg or dppsg_star, or dpp_diversity(method='auto'))."
    )


def logdet_gradient(L: Any) -> tuple[Any, Any]:
    r"""log det L and its gradient, from one Cholesky factorization.

    For :math:`L = CC^\top`, :math:`\log\det L = 2\sum_i\log C_{ii}` and
    :math:`\partial\log\det L/\partial L = L^{-1}`.

    Parameters
    ----------
    L : array of shape (n, n)
        Symmetric positive definite matrix (any array-API namespace).

    Returns
    -------
    logdet : float
        :math:`\log\det L`.
    grad : array of shape (n, n)
        :math:`L^{-1}`, symmetric, in the namespace and dtype of ``L``. Computed in float64
        (see the module notes) and cast back.

    Raises
    ------
    ValueError
        If ``L`` is not a finite square matrix.
    numpy.linalg.LinAlgError
        If ``L`` is not numerically positive definite: the factorization fails or a pivot
        :math:`C_{jj}^2` is below its rounding error :math:`n\varepsilon L_{jj}` (float64
        :math:`\varepsilon`). It is a subclass of ``ValueError``.

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
    C, logdet = kernel_cholesky(L, xp)
    if C is None:
        raise not_pd_error("L")
    return logdet, cast(cholesky_inverse(C, overwrite=True, xp=xp), L.dtype, xp=xp)


def det_gradient(L: Any) -> tuple[Any, Any]:
    r"""det L and its gradient :math:`\det(L)\,L^{-1}`, from one Cholesky factorization.

    Parameters
    ----------
    L : array of shape (n, n)
        Symmetric positive definite matrix.

    Returns
    -------
    det : float
        :math:`\det L = \exp(\log\det L)`. Underflows to 0.0 for large ill-conditioned matrices (a
        Gaussian kernel matrix of a few hundred clustered points), in which case the
        gradient is exactly zero too: prefer :func:`logdet_gradient` there.
    grad : array of shape (n, n)
        :math:`\det(L)\,L^{-1}` in the namespace and dtype of ``L``.

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
