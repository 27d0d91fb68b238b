"""GMML and AML objectives on the pairs' sufficient statistics (array level).

Notation: pairs (x_i, x'_i) with labels y_i = ±1, differences x̂_i = x_i − x'_i,
A = Σ_{y=+1} x̂x̂ᵀ, B = Σ_{y=−1} x̂x̂ᵀ, and an SPD metric M = U Λ Uᵀ.

GMML's geometric-mean loss (AML paper Eq. 7) is

    L_g(M) = tr(M A) + tr(M⁻¹ B),

minimized by A⁻¹ #_{1/2} B. AML's adversarial pairs (Eq. 9) have, in closed form, the
differences π̂_i = U g_{y_i}(Λ) Uᵀ x̂_i with g₊(λ) = βλ²/(2 + βλ²) and g₋ = β/(2 + β), so
the loss on them is Σ_i x̂_iᵀ U h_{y_i}(Λ) Uᵀ x̂_i with

    h₊(λ) = β² λ⁵ / (2 + βλ²)²,        h₋(λ) = β² / ((2 + β)² λ).

(The paper's Eq. 12 prints a different, incorrect h.) The reduced AML objective (Eq. 11)
therefore depends on the pairs only through A and B:

    D(M) = tr(M A) + c·tr(M⁻¹ B) + α·tr(h₊(M) A),        c = 1 + αβ²/(2 + β)²,

and its gradient over symmetric matrices is, by the Daleckii–Krein theorem,

    ∇D(M) = A − c·M⁻¹ B M⁻¹ + α·U (H ∘ (Uᵀ A U)) Uᵀ,

where H is the Loewner matrix of h₊ (divided differences, h₊' on the diagonal, with
h₊'(λ) = β²λ⁴(10 + βλ²)/(2 + βλ²)³). The paper's Eq. 14 is not symmetric; its symmetric
part is this gradient. The regularizer of Zadeh et al. (2016) toward a prior M₀,
λ·(tr(M M₀⁻¹) + tr(M⁻¹ M₀)) (their symmetrized LogDet divergence up to a constant), is
added to D; it keeps the problem well posed when A or B is singular.
"""

from __future__ import annotations

import math
from typing import Any

from .._backend import device_of, get_namespace, to_namespace
from .._validation import as_float_array, check_matrix, check_positive, check_real
from ..linalg import eigh, loewner_matrix, numerical_rank, spd_eigh, spd_inv, sym
from ..linalg._means import inverse_sharp_deferred, ratio_power
from ..linalg._spectral import transpose

__all__ = [
    "adversarial_pairs",
    "gmml_pair_loss",
    "gmml_loss",
    "gmml_gradient",
    "gmml_closed_form",
    "aml_objective",
    "aml_gradient",
    "adversarial_weight",
    "AMLProblem",
    "relative_stationarity",
]


def _check_beta(beta):
    return check_positive(beta, "beta")


def _check_alpha(alpha):
    return check_real(alpha, "alpha", low=0.0)


def _check_reg(reg):
    return check_real(reg, "reg", low=0.0)


def _h_plus(beta):
    def h(w):
        return beta**2 * w**5 / (2.0 + beta * w**2) ** 2

    return h


def _h_plus_prime(beta):
    def hp(w):
        return beta**2 * w**4 * (10.0 + beta * w**2) / (2.0 + beta * w**2) ** 3

    return hp


def adversarial_weight(alpha: float, beta: float) -> float:
    """The factor c = 1 + αβ²/(2 + β)² that multiplies tr(M⁻¹B) in D(M).

    The dissimilar adversarial pairs are the original differences shrunk by the scalar
    β/(2 + β), so their loss is a fixed multiple of the dissimilar part of GMML's loss.

    Parameters
    ----------
    alpha : float
        Weight α ≥ 0 of the adversarial pairs.
    beta : float
        Neighbourhood parameter β > 0.

    Returns
    -------
    float
    """
    alpha, beta = _check_alpha(alpha), _check_beta(beta)
    return 1.0 + alpha * beta**2 / (2.0 + beta) ** 2


def _check_pairs_labels(pairs, y, xp):
    pairs = as_float_array(pairs, "pairs", xp=xp, ndim=3)
    if pairs.shape[1] != 2:
        raise ValueError(f"pairs must have shape (n_pairs, 2, d), got {tuple(pairs.shape)}.")
    y = as_float_array(y, "y", xp=xp, ndim=1)
    if y.shape[0] != pairs.shape[0]:
        raise ValueError(f"y must have one label per pair ({pairs.shape[0]}), got {y.shape[0]}.")
    if not bool(xp.all((y == 1) | (y == -1))):
        raise ValueError("y must hold +1 (similar) and -1 (dissimilar) only.")
    return pairs, y


def adversarial_pairs(M: Any, pairs: Any, y: Any, beta: float = 0.8) -> Any:
    """Optimal adversarial pairs Π* = F(M) of the confusion stage (AML paper Eq. 9).

    For each pair (x_i, x'_i) with label y_i,

        π_i  = (2M⁻ʸⁱ + βM)⁻¹ (M⁻ʸⁱ(x_i + x'_i) + βM x_i),
        π'_i = (2M⁻ʸⁱ + βM)⁻¹ (M⁻ʸⁱ(x_i + x'_i) + βM x'_i),

    the unique minimizer of L_g(M, Π, −y) + β·Dist_M(X, Π) (Eq. 3). Computed in the
    eigenbasis of M, where every matrix of the formula is diagonal.

    Parameters
    ----------
    M : array of shape (d, d)
        Symmetric positive definite metric.
    pairs : array of shape (n_pairs, 2, d)
        Original pairs, same namespace as ``M``.
    y : array of shape (n_pairs,)
        Labels, +1 similar and -1 dissimilar.
    beta : float, default=0.8
        Neighbourhood parameter β > 0 (the weight of Dist_M(X, Π) in Eq. 3).

    Returns
    -------
    array of shape (n_pairs, 2, d)
        The adversarial pairs (π_i, π'_i), in the namespace of ``M``.

    Raises
    ------
    ValueError
        If ``M`` is not SPD, shapes disagree, labels are not ±1, or ``beta`` ≤ 0.

    Examples
    --------
    Dissimilar pairs move toward their midpoint by the factor 2/(2 + β):

    >>> import numpy as np
    >>> from spectral_ml.metric import adversarial_pairs
    >>> P = adversarial_pairs(np.eye(1), np.array([[[0.0], [3.0]]]), np.array([-1.0]), beta=1.0)
    >>> P[0, :, 0]
    array([1., 2.])
    """
    beta = _check_beta(beta)
    M = check_matrix(M, "M")
    w, U = spd_eigh(M)
    xp = get_namespace(M)
    pairs, y = _check_pairs_labels(pairs, y, xp)
    if pairs.shape[2] != M.shape[0]:
        raise ValueError(f"pairs have dimension {pairs.shape[2]}, M is {M.shape[0]}×{M.shape[0]}.")
    z = pairs[:, 0, :] @ U
    zp = pairs[:, 1, :] @ U
    # Eigenvalues of M^{-y_i}, one row per pair.
    p = xp.where(y[:, None] > 0, 1.0 / w[None, :], w[None, :] * xp.ones_like(z))
    bw = beta * w[None, :]
    denom = 2.0 * p + bw
    s = p * (z + zp)
    pi = (s + bw * z) / denom
    pip = (s + bw * zp) / denom
    Ut = transpose(U, xp)
    return xp.stack([pi @ Ut, pip @ Ut], axis=1)


def gmml_pair_loss(M: Any, pairs: Any, y: Any) -> float:
    """Geometric-mean loss evaluated pair by pair (AML paper Eq. 7).

    L_g(M) = Σ_{y=+1} x̂ᵀ M x̂ + Σ_{y=−1} x̂ᵀ M⁻¹ x̂ with x̂ = x − x'. This direct form costs
    O(N d²); :func:`gmml_loss` gives the same value from the scatter matrices.

    Parameters
    ----------
    M : array of shape (d, d)
        Symmetric positive definite metric.
    pairs : array of shape (n_pairs, 2, d)
        Pairs, same namespace as ``M``.
    y : array of shape (n_pairs,)
        Labels, +1 similar and -1 dissimilar.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.metric import gmml_pair_loss
    >>> pairs = np.array([[[0.0], [1.0]], [[0.0], [2.0]]])
    >>> gmml_pair_loss(2 * np.eye(1), pairs, np.array([1.0, -1.0]))
    4.0
    """
    M = check_matrix(M, "M")
    w, U = spd_eigh(M)
    xp = get_namespace(M)
    pairs, y = _check_pairs_labels(pairs, y, xp)
    Z = (pairs[:, 0, :] - pairs[:, 1, :]) @ U
    p = xp.where(y[:, None] > 0, w[None, :] * xp.ones_like(Z), 1.0 / w[None, :])
    return float(xp.sum(p * Z**2))


def _resolve_prior(prior, d, xp, dtype, device):
    """(P, P⁻¹) for the regularizer; identity when ``prior`` is None."""
    if prior is None:
        eye = xp.eye(d, dtype=dtype, device=device)
        return eye, eye
    P = check_matrix(prior, "prior", xp=xp)
    if P.shape[0] != d:
        raise ValueError(f"prior must be {d}×{d} like A and B, got {tuple(P.shape)}.")
    P = xp.astype(sym(P), dtype)
    return P, spd_inv(P)


class AMLProblem:
    """D(M) = tr(M A₁) + tr(M⁻¹ B₁) + tr(h₊(M) A₂) with precomputed weights.

    A₁ = A + λP⁻¹, B₁ = cB + λP, A₂ = αA. Every evaluation is one eigendecomposition
    and a few d×d products: O(d³), independent of the number of pairs.
    """

    def __init__(self, A, B, *, alpha, beta, reg, prior):
        xp = get_namespace(A, B)
        A = check_matrix(A, "A")
        B = check_matrix(B, "B", xp=xp)
        if tuple(A.shape) != tuple(B.shape):
            raise ValueError(f"A and B must have the same shape, got {tuple(A.shape)} and {tuple(B.shape)}.")
        self.alpha = _check_alpha(alpha)
        self.beta = _check_beta(beta)
        reg = _check_reg(reg)
        # The inputs, to build the same problem in another namespace (in_namespace).
        self._inputs = (A, B, reg, prior)
        self.xp = xp
        self.d = A.shape[0]
        A, B = sym(A), sym(B)
        P, Pinv = _resolve_prior(prior, self.d, xp, A.dtype, device_of(A))
        c = 1.0 + self.alpha * self.beta**2 / (2.0 + self.beta) ** 2
        self.A1 = A + reg * Pinv if reg > 0 else A
        self.B1 = c * B + reg * P if reg > 0 else c * B
        self.A2 = self.alpha * A
        self.h = _h_plus(self.beta)
        self.hp = _h_plus_prime(self.beta)
        self._stack = xp.concat([self.A1, self.B1, self.A2], axis=0)

    def in_namespace(self, xp: Any, device: Any = None) -> AMLProblem:
        """The same problem with its matrices in namespace ``xp`` (self when already there)."""
        if xp is self.xp:
            return self
        A, B, reg, prior = self._inputs
        moved = [None if S is None else to_namespace(S, xp, device) for S in (A, B, prior)]
        return AMLProblem(moved[0], moved[1], alpha=self.alpha, beta=self.beta, reg=reg, prior=moved[2])

    def gmml_start(self, t: float = 0.5, path: str = "gmml") -> Any:
        """A₁⁻¹ #_t B₁: for t = 1/2 the minimizer of D without its spectral term.

        With ``path="ratio"``, the ratio power A₁^{-1/2} (A₁^{-1/2} B₁ A₁^{-1/2})^t A₁^{-1/2}
        instead (:func:`spectral_ml.linalg.ratio_power`), the closed form of
        ``GMMLMetric(path="ratio")``.

        That is GMML's closed form with the dissimilar pairs weighted by c: the exact
        answer when α = 0, and the optimum of every direction the h₊ term does not see
        (e.g. constant features, where only the regularizer acts).

        Raises
        ------
        ValueError
            Naming ``reg`` when A₁ and B₁ are too ill-conditioned together for the closed
            form in floating point (see :func:`spectral_ml.linalg.inverse_sharp`).
        """
        regularized = self._inputs[2] > 0
        advice = (
            f"Here A and B are the pair statistics{' with the regularizer' if regularized else ''}: "
            f"{'increase reg' if regularized else 'set reg > 0'}, or standardize the features "
            f"(e.g. StandardScaler)."
        )
        try:
            if path == "ratio":
                M, problem = ratio_power(self.A1, self.B1, float(t)), None
            else:
                M, problem = inverse_sharp_deferred(self.A1, self.B1, float(t))
        except ValueError as err:
            raise ValueError(f"{err} {advice}") from err
        # An inaccurate closed form is refused, not warned about: reg is the estimators' remedy.
        if problem is not None:
            raise ValueError(f"{problem} {advice}")
        return M

    def decompose(self, M: Any) -> Any:
        return eigh(M, check=False)

    def value(self, M: Any = None, *, decomposition: Any = None) -> float:
        """D at M (or at the matrix with the given eigendecomposition); inf if not PD."""
        xp = self.xp
        w, U = self.decompose(M) if decomposition is None else decomposition
        if not bool(xp.all(w > 0)):
            return math.inf
        d = self.d
        # diag(Uᵀ S U) for the three weight matrices S at the cost of one product.
        diag = xp.sum(xp.reshape(self._stack @ U, (3, d, d)) * U[None, :, :], axis=1)
        val = xp.sum(w * diag[0, :]) + xp.sum(diag[1, :] / w)
        if self.alpha > 0:
            val = val + xp.sum(self.h(w) * diag[2, :])
        return float(val)

    def value_and_grad(self, M: Any = None, *, decomposition: Any = None) -> tuple[Any, Any, Any, Any, Any]:
        """(D, ∇D, w, U, Uᵀ∇D U) at M; the eigenbasis form gives the stationarity measure."""
        w, U = self.decompose(M) if decomposition is None else decomposition
        val, Gt = self.value_and_eigenbasis_grad(w, U)
        return val, U @ Gt @ transpose(U, self.xp), w, U, Gt

    def value_and_eigenbasis_grad(self, w: Any, U: Any) -> tuple[Any, Any]:
        """(D, Uᵀ∇D U) at the matrix U diag(w) Uᵀ: the gradient in its eigenbasis."""
        xp = self.xp
        if not bool(xp.all(w > 0)):
            raise ValueError("M must be positive definite.")
        Ut = transpose(U, xp)
        At1 = Ut @ self.A1 @ U
        Bt1 = Ut @ self.B1 @ U
        val = xp.sum(w * xp.linalg.diagonal(At1)) + xp.sum(xp.linalg.diagonal(Bt1) / w)
        Gt = At1 - Bt1 / (w[:, None] * w[None, :])
        if self.alpha > 0:
            At2 = Ut @ self.A2 @ U
            val = val + xp.sum(self.h(w) * xp.linalg.diagonal(At2))
            Gt = Gt + loewner_matrix(w, self.h, self.hp) * At2
        Gt = (Gt + transpose(Gt, xp)) / 2
        return float(val), Gt


def relative_stationarity(D: Any, w: Any, Gt: Any, xp: Any, *, active: Any = None) -> float:
    """‖M^{1/2} ∇D M^{1/2}‖_F / |D|: the Riemannian gradient norm, made scale free.

    ‖M^{1/2} G M^{1/2}‖_F is the norm of the Riemannian gradient of D under the
    affine-invariant metric, which does not depend on how M is parametrized; dividing
    by D removes the scale of the data (D and ∇D both scale with it). ``active`` marks eigenvalues held at the projection
    floor whose gradient pushes them further down (they satisfy the KKT conditions).
    """
    s = xp.sqrt(w)
    R = s[:, None] * Gt * s[None, :]
    if active is not None:
        keep = xp.where(active, xp.zeros_like(w), xp.ones_like(w))
        R = R * (keep[:, None] * keep[None, :])
    return float(xp.linalg.vector_norm(R)) / max(abs(D), 1e-300)


def gmml_loss(M: Any, A: Any, B: Any, *, reg: float = 0.0, prior: Any = None) -> float:
    """Geometric-mean loss tr(MA) + tr(M⁻¹B), plus the optional regularizer.

    Parameters
    ----------
    M : array of shape (d, d)
        Symmetric positive definite metric.
    A, B : arrays of shape (d, d)
        Scatter matrices of the similar and dissimilar differences
        (:func:`pair_statistics`).
    reg : float, default=0.0
        Absolute weight λ ≥ 0 of λ·(tr(M M₀⁻¹) + tr(M⁻¹ M₀)).
    prior : array of shape (d, d), optional
        SPD prior M₀; identity when omitted.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.metric import gmml_loss
    >>> gmml_loss(2 * np.eye(2), np.eye(2), 4 * np.eye(2))
    8.0
    """
    return aml_objective(M, A, B, alpha=0.0, reg=reg, prior=prior)


def gmml_gradient(M: Any, A: Any, B: Any, *, reg: float = 0.0, prior: Any = None) -> Any:
    """Gradient A − M⁻¹BM⁻¹ (+ regularizer) of :func:`gmml_loss` over symmetric matrices.

    Parameters
    ----------
    M, A, B, reg, prior
        As in :func:`gmml_loss`.

    Returns
    -------
    array of shape (d, d)
        Symmetric gradient, in the namespace of ``M``.
    """
    return aml_gradient(M, A, B, alpha=0.0, reg=reg, prior=prior)


def aml_objective(
    M: Any, A: Any, B: Any, *, alpha: float = 1.0, beta: float = 0.8, reg: float = 0.0, prior: Any = None
) -> float:
    """Reduced AML objective D(M) = L_g(M, X) + α·L_g(M, F(M)) (paper Eq. 11).

    D(M) = tr(MA) + c·tr(M⁻¹B) + α·tr(h₊(M)A) with c = 1 + αβ²/(2+β)² and
    h₊(λ) = β²λ⁵/(2+βλ²)² (see the module docstring), plus
    λ·(tr(M M₀⁻¹) + tr(M⁻¹ M₀)) when ``reg`` = λ > 0.

    Parameters
    ----------
    M : array of shape (d, d)
        Symmetric positive definite metric.
    A, B : arrays of shape (d, d)
        Scatter matrices of the similar and dissimilar differences, same namespace.
    alpha : float, default=1.0
        Weight α ≥ 0 of the adversarial pairs. ``alpha=0`` gives GMML's loss.
    beta : float, default=0.8
        Neighbourhood parameter β > 0 of the confusion stage.
    reg : float, default=0.0
        Absolute weight λ ≥ 0 of the regularizer toward ``prior``.
    prior : array of shape (d, d), optional
        SPD prior M₀; identity when omitted.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``M`` is not SPD, shapes disagree, or a hyper-parameter is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.metric import aml_objective, gmml_loss
    >>> A, B, M = np.eye(2), 4 * np.eye(2), 2 * np.eye(2)
    >>> aml_objective(M, A, B, alpha=0.0) == gmml_loss(M, A, B)
    True
    """
    prob = AMLProblem(A, B, alpha=alpha, beta=beta, reg=reg, prior=prior)
    M = check_matrix(M, "M")
    w, U = spd_eigh(M)
    if tuple(M.shape) != (prob.d, prob.d):
        raise ValueError(f"M must be {prob.d}×{prob.d} like A and B, got {tuple(M.shape)}.")
    return prob.value(decomposition=(w, U))


def aml_gradient(
    M: Any, A: Any, B: Any, *, alpha: float = 1.0, beta: float = 0.8, reg: float = 0.0, prior: Any = None
) -> Any:
    """Gradient of :func:`aml_objective` over symmetric matrices (Daleckii–Krein).

    ∇D(M) = A − c·M⁻¹BM⁻¹ + α·U(H ∘ UᵀAU)Uᵀ (+ λ(M₀⁻¹ − M⁻¹M₀M⁻¹)), where H is the
    Loewner matrix of h₊ at the eigenvalues of M. Symmetric, so that
    D(M + E) = D(M) + tr(∇D(M) E) + O(‖E‖²) for symmetric E.

    Parameters
    ----------
    M, A, B, alpha, beta, reg, prior
        As in :func:`aml_objective`.

    Returns
    -------
    array of shape (d, d)
        Symmetric gradient, in the namespace of ``M``.

    Examples
    --------
    At GMML's minimizer A⁻¹ #½ B the gradient with α = 0 vanishes:

    >>> import numpy as np
    >>> from spectral_ml.metric import aml_gradient
    >>> A, B = np.eye(2), 4 * np.eye(2)
    >>> np.allclose(aml_gradient(2 * np.eye(2), A, B, alpha=0.0), 0)
    True
    """
    prob = AMLProblem(A, B, alpha=alpha, beta=beta, reg=reg, prior=prior)
    M = check_matrix(M, "M")
    w, U = spd_eigh(M)
    if tuple(M.shape) != (prob.d, prob.d):
        raise ValueError(f"M must be {prob.d}×{prob.d} like A and B, got {tuple(M.shape)}.")
    return prob.value_and_grad(decomposition=(w, U))[1]


def gmml_closed_form(A: Any, B: Any, *, t: float = 0.5, reg: float = 0.0, prior: Any = None) -> Any:
    """GMML's minimizer (A + λM₀⁻¹)⁻¹ #ₜ (B + λM₀) (Zadeh et al. 2016).

    With t = 1/2 and λ = 0 this is the unique minimizer of tr(MA) + tr(M⁻¹B); t weights
    the similar against the dissimilar pairs along the geodesic from A⁻¹ (t = 0) to B
    (t = 1). The regularizer λ·(tr(M M₀⁻¹) + tr(M⁻¹M₀)) adds λM₀⁻¹ to A and λM₀ to B.

    Parameters
    ----------
    A, B : arrays of shape (d, d)
        Scatter matrices of the similar and dissimilar differences.
    t : float, default=0.5
        Position on the geodesic, in [0, 1].
    reg : float, default=0.0
        Absolute weight λ ≥ 0 of the regularizer.
    prior : array of shape (d, d), optional
        SPD prior M₀; identity when omitted.

    Returns
    -------
    array of shape (d, d)
        The SPD metric, in the namespace of ``A``.

    Raises
    ------
    ValueError
        If the regularized A or B is not positive definite (set ``reg`` > 0), ``t`` is
        outside [0, 1], or A and B are too ill-conditioned together for the closed form to
        be accurate in floating point (increase ``reg``; see
        :func:`spectral_ml.linalg.inverse_sharp`).

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.metric import gmml_closed_form
    >>> gmml_closed_form(np.diag([1.0, 4.0]), np.diag([4.0, 1.0]))
    array([[2. , 0. ],
           [0. , 0.5]])
    """
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not (0.0 <= t <= 1.0):
        raise ValueError(f"t must lie in [0, 1], got {t!r}.")
    prob = AMLProblem(A, B, alpha=0.0, beta=1.0, reg=reg, prior=prior)
    for name, S in (("A", prob.A1), ("B", prob.B1)):
        rank = numerical_rank(S)
        if rank < prob.d:
            raise ValueError(
                f"The {'regularized ' if reg > 0 else ''}{name} is singular (numerical rank "
                f"{rank} of {prob.d}); use reg > 0."
            )
    return prob.gmml_start(t)
