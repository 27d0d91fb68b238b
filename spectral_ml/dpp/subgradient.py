"""Proper spectral sub-gradients of det L at (near-)singular kernel matrices.

When L is singular, det L = 0 has no useful gradient: ∂ det L / ∂L = adj(L) has rank
n − 1 at best, and the pseudo-inverse L⁺ (the obvious stand-in for L⁻¹) vanishes on the
null space of L, so moving along it keeps the zero eigenvalues at zero and det L at 0.
Yu et al. call L̂ a *proper sub-gradient* at a singular PSD L when det(L + aL̂) > 0 for all
small a > 0 (their Def. 3.1), and give two:

* DPPSG (their Alg. 1): with L = U diag(λ) Uᵀ, lift the eigenvalues below Δ to Δ,
  L̄ = U diag(max(λ, Δ)) Uᵀ, and take L̂ = L̄ − L = U diag(max(λ, Δ) − λ) Uᵀ. L + aL̂ has
  eigenvalues λ_i + a·max(Δ − λ_i, 0) > 0. (Alg. 1 writes diag(K) where it means the
  eigenvalues.)
* DPPSG* (their Alg. 2): move the whole spectrum toward the maximiser of Π λ_i under the
  trace constraint Σ λ_i = n that L_ii = 1 imposes, b = (1 − θ)λ + θ·1, and take
  L̂ = U diag(b − λ) Uᵀ = θ U (I − diag(λ)) Uᵀ = θ (I − L). (The algorithm box writes
  −θ·1; the text's +θ·1 is the one that increases the product.) No eigendecomposition is
  needed: L + aL̂ = (1 − aθ) L + aθ I has every eigenvalue at least aθ.
"""

from __future__ import annotations

from typing import Any

from .._backend import cast, device_of, eye_like, get_namespace
from .._validation import check_matrix, check_positive
from ..linalg import eigh

__all__ = ["dppsg", "dppsg_star"]

#: Eigenvalue floor Δ of DPPSG; the paper's value for MNIST (Appendix A.1).
DEFAULT_DELTA = 1e-7
#: Step θ of DPPSG* toward the identity; the paper only asks for "a small value".
DEFAULT_THETA = 0.1


def lift_direction(w: Any, U: Any, delta: float, xp: Any, *, k: int | None = None) -> Any:
    """U diag(max(w, Δ) − w) Uᵀ using only the eigenvectors whose eigenvalue is below Δ.

    ``k``, the number of eigenvalues below Δ, when the caller has read it back already.
    """
    if k is None:
        k = int(xp.sum(xp.astype(w < delta, xp.int64)))
    n = w.shape[0]
    if k == 0:
        return xp.zeros((n, n), dtype=U.dtype, device=device_of(U))
    # eigh returns ascending eigenvalues, so the lifted ones are the first k.
    Uk = U[:, :k]
    return (Uk * (delta - w[:k])[None, :]) @ xp.linalg.matrix_transpose(Uk)


def eigh64(L: Any, xp: Any) -> tuple[Any, Any]:
    """Eigendecomposition of L in float64.

    The eigenvalues of an n×n kernel matrix computed in float32 carry an absolute error of
    about 6e-8·λ_max, which is above the paper's Δ = 1e-7 as soon as λ_max > 2: in float32
    the test λ < Δ would read round-off.
    """
    return eigh(cast(L, xp.float64, xp=xp), check=False)


def dppsg(L: Any, delta: float = DEFAULT_DELTA, *, return_eigenvalues: bool = False) -> Any:
    r"""DPPSG proper sub-gradient of det at L (Yu et al., Alg. 1).

    With the eigendecomposition :math:`L = U\operatorname{diag}(\lambda)U^\top`, the
    direction lifts the eigenvalues below :math:`\Delta` to :math:`\Delta`:

    .. math::

        \hat L = U\operatorname{diag}\bigl(\max(\lambda, \Delta) - \lambda\bigr)U^\top.

    Parameters
    ----------
    L : array of shape (n, n)
        Symmetric positive semi-definite matrix (a Gaussian kernel matrix), any namespace.
    delta : float, default=1e-7
        Eigenvalue floor Δ > 0; the paper uses 1e-7 (MNIST) and 1e-6 (CIFAR-100).
        :math:`\det(L + \hat L) \ge \Delta^k\prod_{\lambda_i\ge\Delta}\lambda_i > 0` for
        :math:`k` lifted eigenvalues, and the smaller Δ the closer :math:`L + \hat L` stays
        to L.
    return_eigenvalues : bool, default=False
        Also return the eigenvalues of L (float64, ascending).

    Returns
    -------
    direction : array of shape (n, n)
        :math:`\hat L = \bar L - L`, symmetric positive semi-definite, in the namespace and
        dtype of ``L``.
        It is zero when every eigenvalue is at least Δ, and its entries are of order Δ: it
        is an ascent direction, not a gradient, and its scale is the algorithm's.
    eigenvalues : array of shape (n,)
        Only with ``return_eigenvalues=True``.

    Raises
    ------
    ValueError
        If ``L`` is not a finite square matrix or ``delta`` is not positive.

    Notes
    -----
    The eigendecomposition is computed in float64 whatever the dtype of ``L``: float32
    eigenvalues of a kernel matrix are not accurate to Δ. Cost: one ``eigh``
    (:math:`O(n^3)`) plus :math:`O(n^2k)` for the :math:`k` lifted eigenvalues.

    Examples
    --------
    Two identical points give a singular kernel matrix; DPPSG lifts its zero eigenvalue:

    >>> import numpy as np
    >>> from spectral_ml.dpp import dppsg
    >>> L = np.ones((2, 2))
    >>> D = dppsg(L, delta=1e-3)
    >>> [round(float(v), 6) for v in np.linalg.eigvalsh(L + D)]
    [0.001, 2.0]
    """
    delta = check_positive(delta, "delta")
    L = check_matrix(L, "L")
    xp = get_namespace(L)
    w, U = eigh64(L, xp)
    D = cast(lift_direction(w, U, delta, xp), L.dtype, xp=xp)
    return (D, w) if return_eigenvalues else D


def dppsg_star(L: Any, theta: float = DEFAULT_THETA) -> Any:
    r"""DPPSG* proper sub-gradient :math:`\theta(I - L)` of det at a Gaussian kernel matrix (Alg. 2).

    Parameters
    ----------
    L : array of shape (n, n)
        Symmetric positive semi-definite matrix with unit diagonal (a Gaussian kernel
        matrix), any namespace.
    theta : float, default=0.1
        Fraction θ ∈ (0, 1] of the way from the spectrum λ toward the all-ones spectrum
        (the maximiser of det under :math:`\operatorname{tr}L = n`). The paper only asks
        for "a small value"; θ = 1 jumps to :math:`L + \hat L = I`.

    Returns
    -------
    direction : array of shape (n, n)
        :math:`\theta(I - L) = U\operatorname{diag}(b - \lambda)U^\top` with
        :math:`b = (1 - \theta)\lambda + \theta\mathbf 1`, in the namespace and dtype of
        ``L``. An ascent direction, not a gradient.

    Raises
    ------
    ValueError
        If ``L`` is not a finite square matrix or ``theta`` is outside (0, 1].

    Notes
    -----
    Costs one pass over L: the eigendecomposition of Alg. 2 cancels out, because
    :math:`U\operatorname{diag}(\lambda)U^\top = L` and :math:`UU^\top = I`.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.dpp import dppsg_star
    >>> dppsg_star(np.ones((2, 2)), theta=0.5)
    array([[ 0. , -0.5],
           [-0.5,  0. ]])
    """
    theta = check_positive(theta, "theta", upper=1.0)
    L = check_matrix(L, "L")
    return theta * (eye_like(L) - L)
