"""Eigendecompositions of symmetric matrices and the functions defined through them.

Spectral functions f(M) = U diag(f(λ)) Uᵀ and their Daleckii–Krein derivatives, SPD
projections, powers, square roots and factors: everything that is one eigendecomposition
away from its result. The matrix means (:mod:`spectral_ml.linalg._means`) build on these.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .._backend import get_namespace
from .._validation import check_matrix, check_real

__all__ = [
    "transpose",
    "sym",
    "eigh",
    "from_eigh",
    "spectral_function",
    "loewner_matrix",
    "spectral_function_grad",
    "project_spd_eigh",
    "project_spd",
    "spd_eigh",
    "numerical_rank",
    "psd_sqrt",
    "psd_factor",
    "spd_power",
    "spd_inv",
    "spd_sqrt",
    "spd_inv_sqrt",
]


def transpose(M: Any, xp: Any) -> Any:
    """Mᵀ (the last two axes swapped) in namespace ``xp``."""
    return xp.linalg.matrix_transpose(M)


def sym(M: Any) -> Any:
    """Symmetric part (M + Mᵀ) / 2 of a square matrix.

    Parameters
    ----------
    M : array of shape (d, d)

    Returns
    -------
    array of shape (d, d)
    """
    xp = get_namespace(M)
    return (M + transpose(M, xp)) / 2


def eigh(M: Any, *, check: bool = True) -> tuple[Any, Any]:
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
    return (U * values[None, :]) @ transpose(U, xp)


def from_eigh(w: Any, U: Any) -> Any:
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


def spectral_function(M: Any, f: Callable, *, decomposition: tuple[Any, Any] | None = None) -> Any:
    r"""Spectral function f(M) = U diag(f(λ)) Uᵀ of a symmetric matrix.

    .. math::

        f(M) = U \operatorname{diag}\bigl(f(\lambda_1), \dots, f(\lambda_d)\bigr) U^\top
        \quad \text{for} \quad M = U \operatorname{diag}(\lambda) U^\top.

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


def loewner_matrix(w: Any, f: Callable, fprime: Callable, *, rtol: float | None = None) -> Any:
    r"""Loewner matrix of first divided differences of ``f`` at eigenvalues ``w``.

    .. math::

        F_{jk} = \frac{f(w_j) - f(w_k)}{w_j - w_k} \quad (w_j \ne w_k), \qquad
        F_{jk} = f'(w_j) \quad (w_j = w_k).

    For near-ties the divided difference loses all its digits to
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


def spectral_function_grad(
    M: Any, A: Any, f: Callable, fprime: Callable, *, decomposition: tuple[Any, Any] | None = None
) -> Any:
    r"""Gradient of φ(M) = tr(f(M) A) with respect to symmetric ``M`` (Daleckii–Krein).

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
        Symmetric gradient :math:`G = U \bigl(F \circ (U^\top \operatorname{sym}(A)\, U)\bigr) U^\top`
        (:math:`F` the :func:`loewner_matrix`), so that
        :math:`\varphi(M + E) = \varphi(M) + \operatorname{tr}(G E) + O(\|E\|^2)` for symmetric
        :math:`E`.

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
    inner = transpose(U, xp) @ sym(A) @ U
    return U @ (F * inner) @ transpose(U, xp)


def project_spd_eigh(
    M: Any, floor: float = 1e-10, *, relative: bool = True, check: bool = True
) -> tuple[Any, Any, Any]:
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


def project_spd(M: Any, floor: float = 1e-10, *, relative: bool = True) -> Any:
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


def spd_eigh(M: Any, *, name: str = "M") -> tuple[Any, Any]:
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
            f"{name} must be symmetric positive definite; its smallest eigenvalue is {float(xp.min(w)):.3e}."
        )
    return w, U


def numerical_rank(S: Any) -> int:
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


def psd_sqrt(M: Any) -> Any:
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


def psd_factor(M: Any, *, name: str = "M", rtol: float = 1e-8) -> Any:
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
        raise ValueError(f"{name} must be positive semi-definite; its smallest eigenvalue is {float(xp.min(w)):.3e}.")
    return U * xp.sqrt(xp.clip(w, min=0.0))[None, :]


def spd_power(M: Any, p: float) -> Any:
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
    w, U = spd_eigh(M)
    return _reconstruct(U, w**p, get_namespace(w))


def spd_inv(M: Any) -> Any:
    """Inverse of a symmetric positive definite matrix, symmetric by construction."""
    return spd_power(M, -1.0)


def spd_sqrt(M: Any) -> Any:
    """Principal square root of a symmetric positive definite matrix."""
    return spd_power(M, 0.5)


def spd_inv_sqrt(M: Any) -> Any:
    """Inverse principal square root (√M)⁻¹ of a symmetric positive definite matrix."""
    return spd_power(M, -0.5)
