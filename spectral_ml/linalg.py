"""Spectral calculus of symmetric matrices, shared by the DPP term and by GMML/AML.

A spectral function of a symmetric matrix M = U diag(λ) Uᵀ applies a scalar function to the
eigenvalues: f(M) = U diag(f(λ)) Uᵀ. Its derivative is given by the Daleckii–Krein theorem:
for symmetric M and any A,

    ∂/∂M tr(f(M) A) = U (F ∘ (Uᵀ sym(A) U)) Uᵀ,

where F is the Loewner matrix of first divided differences, F_jk = (f(λ_j) − f(λ_k)) /
(λ_j − λ_k) for λ_j ≠ λ_k and F_jj = f'(λ_j) (Bhatia, *Matrix Analysis*, Thm. V.3.3).
Every function takes arrays of any array-API namespace and returns arrays of the same
namespace and device; float32 inputs are computed in float32.

References
----------
.. [1] R. Bhatia, *Matrix Analysis*, Springer GTM 169, 1997, Ch. V.
.. [2] R. Bhatia, *Positive Definite Matrices*, Princeton, 2007, Ch. 4 (matrix means).
.. [3] P. Zadeh, R. Hosseini, S. Sra, "Geometric Mean Metric Learning", ICML 2016.
"""

from __future__ import annotations

import math
from typing import Callable

from ._backend import check_matrix, cholesky, get_namespace

__all__ = [
    "sym",
    "eigh",
    "spectral_function",
    "loewner_matrix",
    "spectral_function_grad",
    "project_spd",
    "spd_power",
    "spd_inv",
    "spd_sqrt",
    "spd_inv_sqrt",
    "geometric_mean",
    "logdet_spd",
]


def _mT(M, xp):
    return xp.linalg.matrix_transpose(M)


def sym(M):
    """Symmetric part (M + Mᵀ) / 2 of a square matrix.

    Parameters
    ----------
    M : array of shape (d, d)

    Returns
    -------
    array of shape (d, d)
    """
    xp = get_namespace(M)
    return (M + _mT(M, xp)) / 2


def eigh(M, *, check: bool = True):
    """Eigendecomposition of the symmetric part of ``M``.

    Round-off makes computed matrices slightly asymmetric; decomposing sym(M) keeps the
    eigenvectors orthogonal and the eigenvalues real.

    Parameters
    ----------
    M : array of shape (d, d)
        Square matrix, any namespace.
    check : bool, default=True
        Validate shape and finiteness (raises ``ValueError`` naming ``M``).

    Returns
    -------
    w : array of shape (d,)
        Eigenvalues in ascending order.
    U : array of shape (d, d)
        Orthonormal eigenvectors in columns, ``M ≈ U diag(w) Uᵀ``.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.linalg import eigh
    >>> w, U = eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> np.round(w, 12)
    array([1., 3.])
    """
    if check:
        M = check_matrix(M, "M")
    xp = get_namespace(M)
    w, U = xp.linalg.eigh(sym(M))
    return w, U


def _reconstruct(U, values, xp):
    return (U * values[None, :]) @ _mT(U, xp)


def spectral_function(M, f: Callable, *, decomposition=None):
    """Spectral function f(M) = U diag(f(λ)) Uᵀ of a symmetric matrix.

    Parameters
    ----------
    M : array of shape (d, d)
        Symmetric matrix (its symmetric part is used).
    f : callable
        Maps the eigenvalue array (same namespace) to an array of the same shape.
    decomposition : tuple (w, U), optional
        A precomputed :func:`eigh` of ``M``, to share one decomposition across calls.

    Returns
    -------
    array of shape (d, d)

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.linalg import spectral_function
    >>> M = np.array([[4.0, 0.0], [0.0, 9.0]])
    >>> spectral_function(M, np.sqrt)
    array([[2., 0.],
           [0., 3.]])
    """
    xp = get_namespace(M)
    w, U = eigh(M) if decomposition is None else decomposition
    return _reconstruct(U, f(w), xp)


def loewner_matrix(w, f: Callable, fprime: Callable, *, rtol: float | None = None):
    """Loewner matrix of first divided differences of ``f`` at eigenvalues ``w``.

    F_jk = (f(w_j) − f(w_k)) / (w_j − w_k) where the eigenvalues differ, and the derivative
    where they coincide. For near-ties the divided difference loses all its digits to
    cancellation, so pairs closer than ``rtol·max|w|`` use the mean of the two derivatives
    instead, whose error is O((w_j − w_k)²) — below the cancellation error it replaces.

    Parameters
    ----------
    w : array of shape (d,)
        Eigenvalues.
    f, fprime : callable
        The scalar function and its derivative, applied elementwise to arrays.
    rtol : float, optional
        Relative closeness treated as a tie. Default: the square root of the dtype's epsilon
        (about 1.5e-8 in float64), balancing the two error terms.

    Returns
    -------
    F : array of shape (d, d)
        Symmetric Loewner matrix.
    """
    xp = get_namespace(w)
    if rtol is None:
        rtol = math.sqrt(float(xp.finfo(w.dtype).eps))
    fw = f(w)
    dfw = fprime(w)
    diff = w[:, None] - w[None, :]
    scale = float(xp.max(xp.abs(w))) if w.shape[0] else 1.0
    tie = xp.abs(diff) <= rtol * max(scale, float(xp.finfo(w.dtype).smallest_normal))
    safe = xp.where(tie, xp.ones_like(diff), diff)
    dd = (fw[:, None] - fw[None, :]) / safe
    mean_deriv = (dfw[:, None] + dfw[None, :]) / 2
    return xp.where(tie, mean_deriv, dd)


def spectral_function_grad(M, A, f: Callable, fprime: Callable, *, decomposition=None):
    """Gradient of φ(M) = tr(f(M) A) with respect to symmetric ``M`` (Daleckii–Krein).

    Parameters
    ----------
    M : array of shape (d, d)
        Symmetric matrix.
    A : array of shape (d, d)
        Weight matrix; only its symmetric part matters.
    f, fprime : callable
        The spectral function and its derivative.
    decomposition : tuple (w, U), optional
        A precomputed :func:`eigh` of ``M``.

    Returns
    -------
    G : array of shape (d, d)
        Symmetric gradient U (F ∘ (Uᵀ sym(A) U)) Uᵀ, so that
        φ(M + E) = φ(M) + tr(G E) + O(‖E‖²) for symmetric E.

    Examples
    --------
    For f(λ) = λ² the gradient of tr(M² A) is MA + AM:

    >>> import numpy as np
    >>> from spectral_ml.linalg import spectral_function_grad
    >>> M = np.array([[2.0, 1.0], [1.0, 3.0]]); A = np.eye(2)
    >>> G = spectral_function_grad(M, A, lambda w: w**2, lambda w: 2 * w)
    >>> np.allclose(G, 2 * M)
    True
    """
    xp = get_namespace(M, A)
    A = check_matrix(A, "A")
    if tuple(A.shape) != tuple(M.shape):
        raise ValueError(f"A must have the shape of M {tuple(M.shape)}, got {tuple(A.shape)}.")
    w, U = eigh(M) if decomposition is None else decomposition
    F = loewner_matrix(w, f, fprime)
    inner = _mT(U, xp) @ sym(A) @ U
    return U @ (F * inner) @ _mT(U, xp)


def project_spd(M, floor: float = 1e-10, *, relative: bool = True):
    """Nearest symmetric matrix (Frobenius) with eigenvalues at least a floor.

    Parameters
    ----------
    M : array of shape (d, d)
        Square matrix; its symmetric part is projected.
    floor : float, default=1e-10
        Eigenvalue floor ε > 0. With ``relative=True`` the floor is ε·max(λ_max, tiny),
        so the projection is scale invariant and the result stays invertible.
    relative : bool, default=True
        Interpret ``floor`` relative to the largest eigenvalue.

    Returns
    -------
    array of shape (d, d)
        U diag(max(λ, ε)) Uᵀ.

    Raises
    ------
    ValueError
        If ``floor`` is not positive, or ``M`` is not a finite square matrix.
    """
    if not (floor > 0 and math.isfinite(floor)):
        raise ValueError(f"floor must be a positive finite number, got {floor!r}.")
    xp = get_namespace(M)
    w, U = eigh(M)
    eps = floor
    if relative:
        top = float(xp.max(w)) if w.shape[0] else 1.0
        eps = floor * max(top, float(xp.finfo(w.dtype).smallest_normal) / floor)
    return _reconstruct(U, xp.clip(w, min=eps), xp)


def _spd_eigh(M, name):
    M = check_matrix(M, name)
    xp = get_namespace(M)
    w, U = eigh(M, check=False)
    if not bool(xp.all(w > 0)):
        raise ValueError(
            f"{name} must be symmetric positive definite; its smallest eigenvalue is "
            f"{float(xp.min(w)):.3e}."
        )
    return w, U, xp


def spd_power(M, p: float):
    """Real power M^p of a symmetric positive definite matrix.

    Parameters
    ----------
    M : array of shape (d, d)
        Symmetric positive definite.
    p : float
        Exponent.

    Returns
    -------
    array of shape (d, d)

    Raises
    ------
    ValueError
        If ``M`` has a non-positive eigenvalue.
    """
    w, U, xp = _spd_eigh(M, "M")
    return _reconstruct(U, w**p, xp)


def spd_inv(M):
    """Inverse of a symmetric positive definite matrix, symmetric by construction."""
    return spd_power(M, -1.0)


def spd_sqrt(M):
    """Principal square root of a symmetric positive definite matrix."""
    return spd_power(M, 0.5)


def spd_inv_sqrt(M):
    """Inverse principal square root M^{-1/2} of a symmetric positive definite matrix."""
    return spd_power(M, -0.5)


def geometric_mean(A, B, t: float = 0.5):
    """Weighted matrix geometric mean A #_t B of two SPD matrices.

    A #_t B = A^{1/2} (A^{-1/2} B A^{-1/2})^t A^{1/2}, the point at parameter t on the
    affine-invariant geodesic from A (t = 0) to B (t = 1). The identity
    A #_t B = B #_{1−t} A lets us take the square roots of the better-conditioned argument,
    which keeps the congruence accurate when one of the two is nearly singular.

    Parameters
    ----------
    A, B : array of shape (d, d)
        Symmetric positive definite.
    t : float, default=0.5
        Weight in [0, 1].

    Returns
    -------
    array of shape (d, d)
        Symmetric positive definite mean.

    Raises
    ------
    ValueError
        If ``t`` is outside [0, 1] or ``A``, ``B`` are not SPD of equal shape.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.linalg import geometric_mean
    >>> np.round(geometric_mean(np.diag([1.0, 4.0]), np.diag([9.0, 16.0])), 12)
    array([[3., 0.],
           [0., 8.]])
    """
    if not (0.0 <= t <= 1.0):
        raise ValueError(f"t must lie in [0, 1], got {t!r}.")
    wa, Ua, xp = _spd_eigh(A, "A")
    wb, Ub, _ = _spd_eigh(B, "B")
    if tuple(A.shape) != tuple(B.shape):
        raise ValueError(f"A and B must have the same shape, got {tuple(A.shape)} and {tuple(B.shape)}.")
    cond_a = float(xp.max(wa) / xp.min(wa))
    cond_b = float(xp.max(wb) / xp.min(wb))
    if cond_b < cond_a:
        A, B, wa, Ua, t = B, A, wb, Ub, 1.0 - t
    half = _reconstruct(Ua, xp.sqrt(wa), xp)
    inv_half = _reconstruct(Ua, 1.0 / xp.sqrt(wa), xp)
    C = inv_half @ B @ inv_half
    wc, Uc = eigh(C, check=False)
    wc = xp.clip(wc, min=0.0)
    return sym(half @ _reconstruct(Uc, wc**t, xp) @ half)


def logdet_spd(M):
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
    xp = get_namespace(M)
    C = cholesky(sym(M), xp=xp)
    if C is None:
        raise ValueError("M must be symmetric positive definite: its Cholesky factorization failed.")
    return 2.0 * float(xp.sum(xp.log(xp.linalg.diagonal(C))))
