"""Matrix geometric means of two SPD matrices: A #ₜ B and A⁻¹ #ₜ B.

Each mean is a congruence of a spectral power, computed from the eigendecomposition of the
better-conditioned of the two matrices and checked against the other factorization, which
is equivalent in exact arithmetic: their difference bounds the error, and a warning says
when it exceeds 1e-3 (:func:`inverse_sharp_deferred` leaves that warning to its caller).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from .._backend import get_namespace
from .._validation import check_real
from ._spectral import eigh, spd_eigh, sym, transpose

__all__ = ["geometric_mean", "inverse_sharp", "inverse_sharp_deferred", "ratio_power"]


def geometric_mean(A: Any, B: Any, t: float = 0.5) -> Any:
    r"""Weighted matrix geometric mean A #ₜ B of two SPD matrices.

    .. math::

        A \#_t B = A^{1/2} \bigl(A^{-1/2} B A^{-1/2}\bigr)^t A^{1/2},

    the point at parameter :math:`t` on the affine-invariant geodesic from :math:`A`
    (:math:`t = 0`) to :math:`B` (:math:`t = 1`), where :math:`A^{1/2}` is the principal
    square root and :math:`A^{-1/2}` its inverse. The identity
    :math:`A \#_t B = B \#_{1-t} A` lets us take the square roots of the
    better-conditioned argument, which keeps the congruence accurate when one of the two is
    nearly singular.

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
    wa, Ua = spd_eigh(A, name="A")
    wb, Ub = spd_eigh(B, name="B")
    xp = get_namespace(wa)
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


class _PowerOutOfRange(ArithmeticError):
    """The power p of the inner congruence's eigenvalues leaves floating point's range."""

    def __init__(self, decades: float):
        super().__init__(decades)
        self.decades = decades


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
    Ut = transpose(U, xp)
    inner_m = (U * _power(w, inner, xp)[None, :]) @ Ut
    outer_m = (U * _power(w, outer, xp)[None, :]) @ Ut
    wc, Uc = eigh(inner_m @ T @ inner_m, check=False)
    if p != 0 and not bool(wc[0] >= float(xp.finfo(wc.dtype).smallest_normal)):
        raise _UndeterminedCongruence(float(wc[0]))
    if p != 0:
        # Far from t ∈ [0, 1] (e.g. GMML extrapolated past B), wcᵖ can leave the range of the
        # dtype; half its range in decades leaves room for the outer congruence.
        decades = abs(p) * float(xp.max(xp.abs(xp.log10(wc))))
        if decades > 0.5 * math.log10(float(xp.finfo(wc.dtype).max)):
            raise _PowerOutOfRange(decades)
    core = (Uc * (wc**p)[None, :]) @ transpose(Uc, xp)
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
    except _PowerOutOfRange as err:
        raise ValueError(
            f"{what} is out of floating point's range here: the power of the congruence's eigenvalues it is "
            f"computed from spans about 1e±{err.decades:.0f}. Use a weight t closer to [0, 1], or regularize "
            f"A and B (add a small multiple of the identity)."
        ) from None
    try:
        gap = float(xp.max(xp.abs(M - _congruence_power(*second(), xp=xp)))) / float(xp.max(xp.abs(M)))
    except (_UndeterminedCongruence, _PowerOutOfRange):
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


def inverse_sharp(A: Any, B: Any, t: float = 0.5) -> Any:
    r"""A⁻¹ #ₜ B for SPD A and B, by eigendecompositions, without forming an inverse.

    .. math::

        A^{-1} \#_t B = A^{-1/2} \bigl(A^{1/2} B A^{1/2}\bigr)^t A^{-1/2}
        = B^{1/2} \bigl(B^{1/2} A B^{1/2}\bigr)^{t-1} B^{1/2}

    (powers of SPD matrices are principal), the point at :math:`t` on the affine-invariant
    geodesic from :math:`A^{-1}` (:math:`t = 0`) to :math:`B` (:math:`t = 1`). With
    :math:`t = 1/2` it is GMML's closed form, the minimizer of
    :math:`\operatorname{tr}(MA) + \operatorname{tr}(M^{-1}B)` (Zadeh et al., ICML 2016). The
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
    M, problem = inverse_sharp_deferred(A, B, t)
    _warn_inaccurate(problem)
    return M


def inverse_sharp_deferred(A: Any, B: Any, t: float = 0.5) -> Any:
    """:func:`inverse_sharp` with its accuracy warning left to the caller.

    Returns ``(M, problem)``: ``problem`` is None, or the text of the warning
    :func:`inverse_sharp` would give (why ``M`` is inaccurate). A caller with a remedy of
    its own (the metric learners refuse the result and name their regularizer) decides what
    an inaccurate result means.
    """
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


def ratio_power(A: Any, B: Any, t: float = 1.0) -> Any:
    r"""A^{-1/2} (A^{-1/2} B A^{-1/2})^t A^{-1/2}: whitening by A, directions weighted by their ratio to the power t.

    With :math:`B v_j = \mu_j A v_j` and :math:`V^\top A V = I` (the generalized eigenvectors
    of the pair), the result is :math:`V \operatorname{diag}(\mu^t) V^\top`: in the
    coordinates :math:`z = V^\top x`, where A is the identity, the squared norm
    :math:`x^\top M x = \sum_j \mu_j^t z_j^2` weighs each direction by the ratio
    :math:`\mu_j` of its B-scatter to its A-scatter, raised to t. It is the geodesic of the
    affine-invariant metric that leaves :math:`A^{-1}` (t = 0) along the logarithm of the
    ratios, through :math:`A^{-1} B A^{-1}` at t = 1; unlike :math:`A^{-1} \#_t B`, whose
    weights grow with the product of the two scatters, a direction with :math:`\mu = 1`
    keeps its whitened weight 1 for every t, so a larger t sharpens the contrast between
    directions where B dominates and the others.

    Parameters
    ----------
    A, B : arrays of shape (d, d)
        Symmetric positive definite.
    t : float, default=1.0
        Power of the ratios; any finite value (0 gives :math:`A^{-1}`).

    Returns
    -------
    array of shape (d, d)
        Symmetric positive definite.

    Raises
    ------
    ValueError
        If ``A`` or ``B`` is not positive definite, ``t`` is not finite, rounding leaves the
        inner congruence without a positive eigenvalue, or the powers leave floating point's
        range (a large t on widely spread ratios).

    Notes
    -----
    Computed from the eigendecomposition of A: its accuracy is that of
    :math:`A^{-1/2}`, about cond(A)·eps relative, and there is no second factorization to
    check it against as for :func:`inverse_sharp`.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.linalg import ratio_power
    >>> np.round(ratio_power(np.diag([4.0, 1.0]), np.diag([16.0, 1.0]), 2.0), 12)
    array([[4., 0.],
           [0., 1.]])
    """
    t = check_real(t, "t")
    xp = get_namespace(A, B)
    wa, Ua = eigh(sym(A), check=False)
    wb = xp.linalg.eigvalsh(sym(B))
    if not (bool(wa[0] > 0) and bool(wb[0] > 0)):
        raise ValueError("A and B must be positive definite.")
    cond_a = float(wa[-1] / wa[0])
    try:
        return _congruence_power(wa, Ua, B, -0.5, -0.5, t, xp=xp)
    except _UndeterminedCongruence as err:
        raise ValueError(
            f"A (condition number {cond_a:.1e}) is too ill-conditioned for the ratios to B in floating point: "
            f"after rounding, the congruence A^(-1/2) B A^(-1/2) has an eigenvalue of {err.eigenvalue:.1e}. "
            f"Regularize A and B (add a small multiple of the identity) or rescale the problem."
        ) from None
    except _PowerOutOfRange as err:
        raise ValueError(
            f"The ratio power is out of floating point's range here: the ratios to the power t span about "
            f"1e±{err.decades:.0f}. Use a smaller t, or regularize A and B (add a small multiple of the identity)."
        ) from None
