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
import warnings
from typing import Callable

import numpy as np

from ._backend import check_matrix, cholesky_with_flag, get_namespace, to_numpy
from ._validation import check_real

__all__ = [
    "sym",
    "eigh",
    "spectral_function",
    "loewner_matrix",
    "spectral_function_grad",
    "from_eigh",
    "spd_eigh",
    "numerical_rank",
    "project_spd",
    "project_spd_eigh",
    "psd_sqrt",
    "psd_factor",
    "spd_power",
    "spd_inv",
    "spd_sqrt",
    "spd_inv_sqrt",
    "geometric_mean",
    "inverse_sharp",
    "cholesky_logdet",
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


def from_eigh(w, U):
    """The symmetric matrix U diag(w) Uᵀ with eigenvalues ``w`` and eigenvectors ``U``.

    Parameters
    ----------
    w : array of shape (d,)
        Eigenvalues.
    U : array of shape (d, d)
        Orthonormal eigenvectors in columns, as :func:`eigh` returns them.

    Returns
    -------
    array of shape (d, d)
    """
    return _reconstruct(U, w, get_namespace(w, U))


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
    rtol = check_real(rtol, "rtol", low=0.0)
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


def project_spd_eigh(M, floor: float = 1e-10, *, relative: bool = True, check: bool = True):
    """Eigendecomposition of the projection of ``M`` onto {eigenvalues ≥ ε}.

    The nearest symmetric matrix (Frobenius) to sym(M) with every eigenvalue at least ε is
    U diag(max(λ, ε)) Uᵀ; this returns its eigenvalues and eigenvectors, and which
    eigenvalues were raised, for callers that go on working in the eigenbasis (projected
    gradient solvers).

    Parameters
    ----------
    M : array of shape (d, d)
        Square matrix; its symmetric part is projected.
    floor : float, default=1e-10
        Eigenvalue floor. With ``relative=True`` the floor is ε = ``floor``·λ_max, so the
        projection is scale invariant and the result stays invertible; ``floor`` must then
        lie in (0, 1), and when λ_max ≤ 0 (nothing to be relative to) ε = ``floor``.
        With ``relative=False``, ε = ``floor`` > 0.
    relative : bool, default=True
        Interpret ``floor`` relative to the largest eigenvalue.
    check : bool, default=True
        Validate ``M`` (shape, finite values). Solvers that built ``M`` themselves skip it.

    Returns
    -------
    w : array of shape (d,)
        Eigenvalues of the projection, max(λ, ε), ascending.
    U : array of shape (d, d)
        Eigenvectors of sym(M).
    active : array of bool, shape (d,)
        Where the floor was applied (λ < ε).

    Raises
    ------
    ValueError
        If ``floor`` is out of range, or ``M`` is not a finite square matrix.
    """
    floor = check_real(floor, "floor", low=0.0, low_open=True, high=1.0 if relative else None, high_open=True)
    if check:
        M = check_matrix(M, "M")
    xp = get_namespace(M)
    w, U = xp.linalg.eigh(sym(M))
    eps = floor
    if relative and w.shape[0]:
        top = float(w[-1])
        eps = floor * top if top > 0 else floor
    eps = max(eps, float(xp.finfo(w.dtype).smallest_normal))
    active = w < eps
    return xp.where(active, xp.full_like(w, eps), w), U, active


def project_spd(M, floor: float = 1e-10, *, relative: bool = True):
    """Nearest symmetric matrix (Frobenius) with eigenvalues at least a floor.

    Parameters
    ----------
    M : array of shape (d, d)
        Square matrix; its symmetric part is projected.
    floor : float, default=1e-10
        Eigenvalue floor. With ``relative=True`` the floor is ε = ``floor``·λ_max (``floor``
        in (0, 1); ε = ``floor`` when λ_max ≤ 0), so the projection is scale invariant and
        the result stays invertible.
    relative : bool, default=True
        Interpret ``floor`` relative to the largest eigenvalue.

    Returns
    -------
    array of shape (d, d)
        U diag(max(λ, ε)) Uᵀ.

    Raises
    ------
    ValueError
        If ``floor`` is not positive (or not below 1 with ``relative=True``), or ``M`` is
        not a finite square matrix.

    See Also
    --------
    project_spd_eigh : the same projection, returned as an eigendecomposition.
    """
    w, U, _ = project_spd_eigh(M, floor, relative=relative)
    return _reconstruct(U, w, get_namespace(w))


def spd_eigh(M, *, name: str = "M"):
    """Eigendecomposition of a symmetric positive definite matrix, checking definiteness.

    Parameters
    ----------
    M : array of shape (d, d)
        Symmetric positive definite matrix (its symmetric part is used).
    name : str, default="M"
        Argument name used in error messages.

    Returns
    -------
    w : array of shape (d,)
        Eigenvalues, ascending, all positive.
    U : array of shape (d, d)
        Orthonormal eigenvectors in columns.

    Raises
    ------
    ValueError
        If ``M`` is not a finite square matrix or has an eigenvalue ≤ 0 (the message names
        ``name`` and gives the smallest eigenvalue).
    """
    M = check_matrix(M, name)
    xp = get_namespace(M)
    w, U = eigh(M, check=False)
    if not bool(xp.all(w > 0)):
        raise ValueError(
            f"{name} must be symmetric positive definite; its smallest eigenvalue is "
            f"{float(xp.min(w)):.3e}."
        )
    return w, U


def numerical_rank(S) -> int:
    """Numerical rank of a symmetric positive semi-definite matrix.

    The number of eigenvalues of sym(S) above d·eps·λ_max, the tolerance of
    ``numpy.linalg.matrix_rank`` (eps of S's dtype), computed from the eigenvalues only.

    Parameters
    ----------
    S : array of shape (d, d)
        Symmetric positive semi-definite matrix, any namespace.

    Returns
    -------
    int
        The rank, 0 when no eigenvalue is positive.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.linalg import numerical_rank
    >>> numerical_rank(np.diag([1.0, 1e-20, 3.0]))
    2
    """
    xp = get_namespace(S)
    w = xp.linalg.eigvalsh(sym(S))
    top = float(w[-1]) if w.shape[0] else 0.0
    if not top > 0:
        return 0
    eps = float(xp.finfo(w.dtype).eps)
    return int(xp.sum(xp.astype(w > float(S.shape[0] * eps * top), xp.int64)))


def psd_sqrt(M):
    """Principal square root of a symmetric positive semi-definite matrix.

    Eigenvalues below zero (round-off of a semi-definite matrix) count as zero, so the
    result is defined for any symmetric input: U diag(√max(λ, 0)) Uᵀ.

    Parameters
    ----------
    M : array of shape (d, d)
        Symmetric positive semi-definite (its symmetric part is used).

    Returns
    -------
    array of shape (d, d)
        Symmetric L with L L = M (and Lᵀ L = M).
    """
    xp = get_namespace(M)
    w, U = eigh(M, check=False)
    return _reconstruct(U, xp.sqrt(xp.clip(w, min=0.0)), xp)


def psd_factor(M, *, name: str = "M", rtol: float = 1e-8):
    """Factor F with F Fᵀ = M of a symmetric positive semi-definite matrix.

    F = U diag(√λ) has orthogonal columns; x ↦ Fᵀx maps the Mahalanobis distance of M to
    the Euclidean one, ‖Fᵀ(x − y)‖² = (x − y)ᵀ M (x − y), so a batch ``X`` (rows) maps to
    ``X @ F``.

    Parameters
    ----------
    M : array of shape (d, d)
        Symmetric positive semi-definite matrix (its symmetric part is used).
    name : str, default="M"
        Argument name used in error messages.
    rtol : float, default=1e-8
        Negative eigenvalues down to −rtol·max|λ| are round-off and count as zero.

    Returns
    -------
    F : array of shape (d, d)

    Raises
    ------
    ValueError
        If ``M`` has an eigenvalue below −rtol·max|λ| (naming ``name``).
    """
    rtol = check_real(rtol, "rtol", low=0.0)
    xp = get_namespace(M)
    w, U = eigh(M, check=False)
    top = float(xp.max(xp.abs(w))) if w.shape[0] else 0.0
    if w.shape[0] and float(xp.min(w)) < -rtol * max(top, 1e-300):
        raise ValueError(
            f"{name} must be positive semi-definite; its smallest eigenvalue is {float(xp.min(w)):.3e}."
        )
    return U * xp.sqrt(xp.clip(w, min=0.0))[None, :]


def _spd_eigh(M, name):
    w, U = spd_eigh(M, name=name)
    return w, U, get_namespace(w)


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
    p = check_real(p, "p")
    w, U, xp = _spd_eigh(M, "M")
    return _reconstruct(U, w**p, xp)


def spd_inv(M):
    """Inverse of a symmetric positive definite matrix, symmetric by construction."""
    return spd_power(M, -1.0)


def spd_sqrt(M):
    """Principal square root of a symmetric positive definite matrix."""
    return spd_power(M, 0.5)


def spd_inv_sqrt(M):
    """Inverse principal square root (√M)⁻¹ of a symmetric positive definite matrix."""
    return spd_power(M, -0.5)


def geometric_mean(A, B, t: float = 0.5):
    """Weighted matrix geometric mean A #ₜ B of two SPD matrices.

    A #ₜ B = √A (√A⁻¹ B √A⁻¹)ᵗ √A, the point at parameter t on the
    affine-invariant geodesic from A (t = 0) to B (t = 1), where √A is the principal square
    root and √A⁻¹ its inverse. The identity A #ₜ B = B #₁₋ₜ A lets us take the square roots of the better-conditioned argument,
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
        If ``t`` is outside [0, 1] or ``A``, ``B`` are not SPD of equal shape, or they are
        too ill-conditioned together for floating point (as in :func:`inverse_sharp`).

    Warns
    -----
    scipy.linalg.LinAlgWarning
        When the result is inaccurate by more than 1e-3 relative to its largest entry,
        judged by comparing the two factorizations (as in :func:`inverse_sharp`).

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.linalg import geometric_mean
    >>> np.round(geometric_mean(np.diag([1.0, 4.0]), np.diag([9.0, 16.0])), 12)
    array([[3., 0.],
           [0., 8.]])
    """
    t = check_real(t, "t", low=0.0, high=1.0)
    wa, Ua, xp = _spd_eigh(A, "A")
    wb, Ub, _ = _spd_eigh(B, "B")
    if tuple(A.shape) != tuple(B.shape):
        raise ValueError(f"A and B must have the same shape, got {tuple(A.shape)} and {tuple(B.shape)}.")
    cond_a = float(xp.max(wa) / xp.min(wa))
    cond_b = float(xp.max(wb) / xp.min(wb))
    # A^{1/2} (A^{-1/2} B A^{-1/2})^t A^{1/2} = B^{1/2} (B^{-1/2} A B^{-1/2})^{1-t} B^{1/2}
    via_a = (wa, Ua, B, 0.5, -0.5, t)
    via_b = (wb, Ub, A, 0.5, -0.5, 1.0 - t)
    first, second = (via_b, via_a) if cond_b < cond_a else (via_a, via_b)
    M, problem = _cross_checked(first, lambda: second, xp=xp, what="A #ₜ B", conds=(cond_a, cond_b))
    _warn_inaccurate(problem)
    return M


def _power(w, p: float, xp):
    return xp.sqrt(w) if p == 0.5 else w**p


# Relative (max-abs) difference between the two factorizations of a matrix mean above which
# the result is reported as inaccurate: fewer than about three digits are then certain.
_MEAN_AGREEMENT_RTOL = 1e-3


class _UndeterminedCongruence(ArithmeticError):
    """Rounding left the inner congruence of a matrix mean without a positive eigenvalue."""

    def __init__(self, eigenvalue: float):
        super().__init__(eigenvalue)
        self.eigenvalue = eigenvalue


def _congruence_power(w, U, T, outer: float, inner: float, p: float, *, xp):
    """S^outer (S^inner T S^inner)^p S^outer for S = U diag(w) Uᵀ, symmetrized.

    The inner congruence is positive definite in exact arithmetic. When rounding leaves it
    an eigenvalue that is not a positive normal number, that eigenvalue's true value is
    lost: a negative power of it is arbitrarily large (clipped at the smallest normal
    number it gave eigenvalues near 1e154) and a positive power leaves the result singular
    or indefinite. Unless p = 0, this raises :class:`_UndeterminedCongruence` then.
    """
    Ut = _mT(U, xp)
    inner_m = (U * _power(w, inner, xp)[None, :]) @ Ut
    outer_m = (U * _power(w, outer, xp)[None, :]) @ Ut
    wc, Uc = eigh(inner_m @ T @ inner_m, check=False)
    if p != 0 and not bool(wc[0] >= float(xp.finfo(wc.dtype).smallest_normal)):
        raise _UndeterminedCongruence(float(wc[0]))
    core = (Uc * (wc**p)[None, :]) @ _mT(Uc, xp)
    return sym(outer_m @ core @ outer_m)


def _cross_checked(first, second, *, xp, what: str, conds):
    """The mean ``what`` of A and B by the factorization ``first``, checked against ``second()``.

    Each factorization is the argument tuple ``(w, U, T, outer, inner, p)`` of
    :func:`_congruence_power`; both give the same matrix in exact arithmetic, ``first``
    the more accurate one in floating point. Returns ``(M, problem)``: ``problem`` is None,
    or says how far the two differ when that is more than ``_MEAN_AGREEMENT_RTOL``
    (relative to the largest entry): the difference is a lower bound on the error of one
    of them, and in practice of the order of the error of ``first``. Raises ``ValueError``
    when rounding leaves ``first`` undetermined.
    """
    summary = (
        f"A and B are too ill-conditioned together for {what} in floating point (condition numbers "
        f"{conds[0]:.1e} and {conds[1]:.1e})"
    )
    advice = "Regularize A and B (add a small multiple of the identity) or rescale the problem."
    try:
        M = _congruence_power(*first, xp=xp)
    except _UndeterminedCongruence as err:
        raise ValueError(
            f"{summary}: after rounding, the congruence the result is computed from has an eigenvalue "
            f"of {err.eigenvalue:.1e}, so the result is not determined in this precision. {advice}"
        ) from None
    try:
        gap = float(xp.max(xp.abs(M - _congruence_power(*second(), xp=xp)))) / float(xp.max(xp.abs(M)))
    except _UndeterminedCongruence:
        gap = math.inf
    if gap <= _MEAN_AGREEMENT_RTOL:
        return M, None
    return M, (
        f"{summary}: two equivalent factorizations of the result differ by {gap:.1e} relative to its "
        f"largest entry, so it is accurate to about that much at best. {advice}"
    )


def _warn_inaccurate(problem):
    if problem is not None:
        from scipy.linalg import LinAlgWarning

        warnings.warn(problem, LinAlgWarning, stacklevel=3)


def inverse_sharp(A, B, t: float = 0.5):
    """A⁻¹ #ₜ B for SPD A and B, by eigendecompositions, without forming an inverse.

    A⁻¹ #ₜ B = √A⁻¹ (√A B √A)ᵗ √A⁻¹ = √B (√B A √B)ᵗ⁻¹ √B (√ the principal square root),
    the point at t on the affine-invariant geodesic from A⁻¹ (t = 0) to B (t = 1). With
    t = 1/2 it is GMML's closed form, the minimizer of tr(MA) + tr(M⁻¹B) (Zadeh et al., ICML 2016). The
    congruence is taken with the better-conditioned of A and B (condition numbers from
    eigenvalues only), which keeps it accurate when the other is nearly singular; A⁻¹
    itself is never formed. The other factorization is computed too, as a check of the
    accuracy (see Warns).

    Parameters
    ----------
    A, B : arrays of shape (d, d)
        Symmetric positive definite (their symmetric parts are used).
    t : float, default=0.5
        Position on the geodesic: 0 gives A⁻¹, 1 gives B; values outside [0, 1]
        extrapolate along it.

    Returns
    -------
    array of shape (d, d)
        Symmetric positive definite.

    Raises
    ------
    ValueError
        If ``A`` or ``B`` is not positive definite, or ``t`` is not a finite number; or if
        A and B are too ill-conditioned together for floating point (typically
        cond(A)·cond(B) far beyond 1/eps): rounding then leaves the congruence the result
        is computed from with a non-positive eigenvalue, whose negative power would be
        arbitrarily large.

    Warns
    -----
    scipy.linalg.LinAlgWarning
        When the result is inaccurate: it is checked against the other factorization
        above, and a warning says by how much the two differ when that exceeds 1e-3
        relative to the largest entry (the accuracy of the result is then about that at
        best). Well-conditioned inputs pass the check without any change to the result.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.linalg import inverse_sharp
    >>> np.round(inverse_sharp(np.diag([4.0, 1.0]), np.diag([1.0, 9.0])), 12)
    array([[0.5, 0. ],
           [0. , 3. ]])
    """
    M, problem = _inverse_sharp(A, B, t)
    _warn_inaccurate(problem)
    return M


def _inverse_sharp(A, B, t: float = 0.5):
    """:func:`inverse_sharp` returning ``(M, problem)``: ``problem`` None, or why M is inaccurate."""
    t = check_real(t, "t")
    xp = get_namespace(A, B)
    wa = xp.linalg.eigvalsh(sym(A))
    wb = xp.linalg.eigvalsh(sym(B))
    if not (bool(wa[0] > 0) and bool(wb[0] > 0)):
        raise ValueError("A and B must be positive definite.")
    cond_a = float(wa[-1] / wa[0])
    cond_b = float(wb[-1] / wb[0])
    # A^{-1/2} (A^{1/2} B A^{1/2})^t A^{-1/2} = B^{1/2} (B^{1/2} A B^{1/2})^{t-1} B^{1/2}
    via_a = (A, B, -0.5, 0.5, t)
    via_b = (B, A, 0.5, 0.5, t - 1.0)
    first, second = (via_a, via_b) if cond_a <= cond_b else (via_b, via_a)

    def factorization(S, T, outer, inner, p):
        w, U = eigh(S, check=False)
        return w, U, T, outer, inner, p

    return _cross_checked(
        factorization(*first), lambda: factorization(*second), xp=xp, what="A⁻¹ #ₜ B", conds=(cond_a, cond_b)
    )


def cholesky_logdet(M, *, pivot_rtol: float | None = None, overwrite: bool = False):
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
    C, ok = cholesky_with_flag(M, overwrite=overwrite, xp=xp)
    if C is None:
        return None, None
    d = xp.linalg.diagonal(C)
    with np.errstate(invalid="ignore", divide="ignore"):  # a failed factor's pivots: ok says so
        logdet = 2.0 * xp.sum(xp.log(d))
    if pivot_rtol != 0:
        ok = ok & ~xp.any(d * d <= pivot_rtol * scale)
    # The success flag, the pivot test and the log-determinant come back to the host in one
    # read (on a GPU each read waits for the device).
    ok, logdet = (float(v) for v in to_numpy(xp.stack([xp.astype(ok, logdet.dtype), logdet])))
    if not ok:
        return None, None
    return C, logdet


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
    C, logdet = cholesky_logdet(sym(M), pivot_rtol=0.0)
    if C is None:
        raise ValueError("M must be symmetric positive definite: its Cholesky factorization failed.")
    return logdet
