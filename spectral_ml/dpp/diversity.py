"""The DPP diversity term: value and ascent direction of det L or log det L of a batch."""

from __future__ import annotations

import math
from typing import Any

from .._backend import cast, get_namespace, to_numpy
from .exact import kernel_cholesky, kernel_weights, not_pd_error, restore_kernel
from .kernel import DEFAULT_SIGMA, centre_batch, centred_backward, centred_kernel, check_batch
from .settings import DEFAULT_BETA, DPPSettings
from .subgradient import DEFAULT_DELTA, DEFAULT_THETA, eigh64, lift_direction

__all__ = ["DPPResult", "dpp_diversity", "DEFAULT_BETA"]


class _LazyLogdet:
    """What is needed to compute log det L after the fact, and nothing once it is known."""

    __slots__ = ("xp", "Xc", "sigma", "delta", "L", "factor_tried")

    def __init__(self, xp, Xc, sigma, delta, L=None, factor_tried=False):
        self.xp = xp
        self.Xc = Xc
        self.sigma = sigma
        self.delta = delta
        self.L = L
        self.factor_tried = factor_tried

    def compute(self) -> tuple[float, bool]:
        xp = self.xp
        L = self.L
        if L is None:
            # The batch passed centred_kernel's checks at power 2, so it passes them at power 1.
            L = centred_kernel(self.Xc, self.sigma, xp, checked=True)
        L64 = cast(L, xp.float64, xp=xp)
        if not self.factor_tried:
            # L64 is a kernel matrix of this result's own (L is not used after this).
            C, logdet = kernel_cholesky(L64, xp, overwrite=True)
            if C is not None:
                return logdet, True
            restore_kernel(L64, xp)
        w = xp.linalg.eigvalsh(L64)
        return _clipped_logdet(w, self.delta, xp), False


def _clipped_logdet(w, delta: float, xp, *, with_count: bool = False):
    """Σ log max(λ_i, Δ): log det of DPPSG's lifted matrix L̄, finite for any PSD L.

    ``with_count``: also the number of eigenvalues below Δ, as ``(count, logdet)`` from one
    read (on a GPU each read waits for the device).
    """
    logdet = xp.sum(xp.log(xp.clip(w, min=delta)))
    if not with_count:
        return float(logdet)
    count = xp.astype(xp.sum(xp.astype(w < delta, xp.int64)), logdet.dtype)  # exact below 2⁵³
    count, logdet = to_numpy(xp.stack([count, logdet]))
    return int(count), float(logdet)


class DPPResult:
    r"""Value and ascent direction of the DPP diversity term, from :func:`dpp_diversity`.

    Attributes
    ----------
    grad : array of shape (n, d)
        Ascent direction for the diversity in the namespace, device and dtype of ``X``.
        With ``method == "exact"`` it is the gradient :math:`\partial\,\mathrm{value}/\partial X`;
        on the sub-gradient paths it is the kernel back-propagation of the proper
        sub-gradient :math:`\hat L` (DPPSG or DPPSG*),
        which is not the gradient of anything but increases det L (see
        :func:`dpp_diversity`). To *minimise* a loss that rewards diversity, subtract a
        multiple of it (or add ``-weight * grad`` to the loss gradient).
    method : {"exact", "dppsg", "dppsg*"}
        The path taken.
    objective : {"logdet", "det"}
        The objective requested.
    value : float
        ``logdet`` for ``objective="logdet"``, ``exp(logdet)`` for ``objective="det"``
        (underflows to 0.0 for large batches; always finite).
    logdet : float
        log det L, always finite:

        * from the Cholesky factor (in float64) when one was computed and succeeded
          (``"exact"``, and ``"auto"`` whatever the path);
        * on the ``"dppsg"`` path otherwise, :math:`\sum_i\log\max(\lambda_i, \Delta)` over
          the eigenvalues of L already computed: log det L when no eigenvalue is below Δ,
          else the log-determinant of DPPSG's lifted matrix
          :math:`\bar L = U\operatorname{diag}(\max(\lambda, \Delta))U^\top`, an upper
          bound of log det L that stays finite when L is singular;
        * on the ``"dppsg*"`` path computed on first access, so that training loops that
          only need ``grad`` do not pay for it: a Cholesky factorization if it was not
          tried yet, and if it fails (L singular) :math:`\sum_i\log\max(\lambda_i, \Delta)`
          over the eigenvalues.
    logdet_exact : bool
        Whether ``logdet`` is log det L itself or the lifted surrogate
        :math:`\log\det\bar L`.
        Accessing it computes ``logdet``.
    is_gradient : bool
        ``method == "exact"``.
    """

    __slots__ = ("grad", "method", "objective", "_logdet", "_logdet_exact", "_lazy")

    def __init__(self, grad, method, objective, *, logdet=None, logdet_exact=None, lazy=None):
        self.grad = grad
        self.method = method
        self.objective = objective
        self._logdet = logdet
        self._logdet_exact = logdet_exact
        self._lazy = lazy

    def _resolve(self) -> None:
        if self._logdet is None:
            self._logdet, self._logdet_exact = self._lazy.compute()
            self._lazy = None  # drop the batch and the n×n matrices it holds

    @property
    def logdet(self) -> float:
        """log det L, or log det L̄ when L is singular (see the class notes); a float."""
        self._resolve()
        return self._logdet

    @property
    def logdet_exact(self) -> bool:
        """Whether :attr:`logdet` is log det L itself rather than the lifted log det L̄."""
        self._resolve()
        return self._logdet_exact

    @property
    def value(self) -> float:
        """The objective: :attr:`logdet`, or its exponential for ``objective="det"``."""
        logdet = self.logdet
        return logdet if self.objective == "logdet" else math.exp(logdet)

    @property
    def is_gradient(self) -> bool:
        """Whether :attr:`grad` is the true gradient (exact path) or a sub-gradient."""
        return self.method == "exact"

    def __repr__(self) -> str:
        shape = tuple(self.grad.shape)
        if self._logdet is None:
            val = "not computed yet"
        else:
            val = f"{self.value:.6g}"
        return f"DPPResult(objective={self.objective!r}, method={self.method!r}, value={val}, grad shape={shape})"


def dpp_diversity(
    X: Any,
    sigma: float = DEFAULT_SIGMA,
    *,
    objective: str = "logdet",
    method: str = "auto",
    subgradient: str = "dppsg*",
    beta: float = DEFAULT_BETA,
    delta: float = DEFAULT_DELTA,
    theta: float = DEFAULT_THETA,
    underflow: str = "raise",
    settings: DPPSettings | None = None,
) -> DPPResult:
    r"""DPP diversity of a feature batch, det L or log det L, with an ascent direction.

    L is the Gaussian kernel matrix of the batch (Yu et al., Eq. 4),

    .. math::

        L_{ij} = \exp\bigl(-\|x_i - x_j\|^2/\sigma^2\bigr).

    Where L is safely invertible the exact gradient is back-propagated; where it is singular
    or nearly so, a *proper sub-gradient* :math:`\hat L` is used instead (Yu et al.,
    Sec. 3.2): a direction along which det L becomes positive, which neither the gradient
    nor the pseudo-inverse provides at :math:`\det L = 0`.

    Parameters
    ----------
    X : array of shape (n, d)
        Feature batch, n ≥ 2, any array-API namespace (NumPy, CuPy, PyTorch,
        array-api-strict). Integer input becomes float64, float32 stays float32.
    sigma : float, default=0.2
        Kernel width σ > 0, the paper's value for MNIST and CIFAR-100 features in
        [−1, 1]^d (Appendix A.1; CIFAR-10 hashing used σ = 2). Choose it on the scale of
        the distances you want to keep apart: points much closer than σ look like
        duplicates, points much farther than σ do not interact.
    objective : {"logdet", "det"}, default="logdet"
        ``"det"`` is the paper's objective (their loss term is :math:`-\lambda_1\det L`);
        its gradient :math:`\det(L)\,L^{-1}` vanishes as det L underflows, which happens for
        batches of a few hundred points even in float64. ``"logdet"`` has gradient
        :math:`L^{-1}`, the same direction without the vanishing scale.
    method : {"auto", "exact", "dppsg", "dppsg*"}, default="auto"
        ``"auto"``: one Cholesky factorization of L; exact gradient if it succeeds (every
        pivot above its rounding error, see Raises) and :math:`\log\det L\ge\log\beta`,
        otherwise the sub-gradient chosen by ``subgradient``.
        ``"exact"``: always the exact gradient; raises if L is not numerically positive
        definite. ``"dppsg"``/``"dppsg*"``: always that sub-gradient.
    subgradient : {"dppsg", "dppsg*"}, default="dppsg*"
        The sub-gradient of ``method="auto"``. DPPSG* is the default: the paper found it
        slightly better, and it needs no eigendecomposition.
    beta : float, default=1e-7
        Threshold β > 0 on det L for ``method="auto"``, compared in log space
        (:math:`\log\det L\ge\log\beta`), since det L itself underflows. Because the n
        eigenvalues of a Gaussian kernel matrix sum to n, the other n − 1 have a product
        below e, so :math:`\det L\ge\beta` guarantees :math:`\lambda_{\min}(L) > \beta/e`
        and a condition number below :math:`en/\beta`: for the default (the paper's Δ) and
        n = 500, :math:`\kappa(L) < 1.4\cdot 10^{10}` and the float64 Cholesky solve keeps
        about six correct digits. A batch with a duplicated point has det L at round-off
        level (below 1e-15) and always takes the sub-gradient. A batch of many moderately
        close points can have :math:`\det L < \beta` with all eigenvalues well above Δ; it
        then gets the sub-gradient too (DPPSG* is a useful direction there, DPPSG is zero).
        Values above 1 disable the exact path, since :math:`\det L\le 1`.
    delta : float, default=1e-7
        DPPSG's eigenvalue floor Δ > 0 (the paper's value for MNIST; 1e-6 for CIFAR-100).
        Also the floor of the lifted log-determinant reported when L is singular.
    theta : float, default=0.1
        DPPSG*'s step θ ∈ (0, 1] toward the identity. The paper gives no value, only "a
        small value". It scales the sub-gradient linearly. For comparison, near L = I the
        off-diagonal of L⁻¹ is about that of I − L, so θ = 1 would match the scale of the
        log det gradient there.
    underflow : {"raise", "allow"}, default="raise"
        What to do when ``sigma`` is so small for ``X`` that every off-diagonal entry of L
        underflows, so that L is the identity matrix and ``grad`` is zero. ``"raise"``: a
        ``ValueError`` naming ``sigma`` (a width on the wrong scale for the data).
        ``"allow"``: return that result (log det L = 0, zero direction), for training loops,
        where a batch whose features lie far apart at width σ is a legitimate state: as
        diverse as the kernel can tell.
    settings : DPPSettings, optional
        All of the above as one object, checked when it was made (its ``weight`` is not
        used: the term is returned unweighted). The separate keywords must then be left at
        their defaults.

    Returns
    -------
    DPPResult
        ``.value``, ``.logdet``, ``.grad``, ``.method`` (see :class:`DPPResult`).

    Raises
    ------
    ValueError
        For NaN or infinity in ``X``, ``X`` not 2-D or with fewer than 2 rows, ``sigma``,
        ``beta`` or ``delta`` not positive, ``theta`` outside (0, 1], an unknown
        ``objective``, ``method`` or ``subgradient``, or a keyword changed from its default
        together with ``settings``; the message names the argument. Also
        for a ``sigma`` so small for ``X`` that every off-diagonal entry of L underflows
        (L would be the identity and the term would have no gradient: the closest two rows
        must be within about 26.6·σ in float64, 9.3·σ in float32) unless
        ``underflow="allow"``, or so extreme that :math:`1/\sigma^2` leaves the float64
        range.
    numpy.linalg.LinAlgError
        With ``method="exact"`` when L is not numerically positive definite: its Cholesky
        factorization fails or leaves a pivot :math:`C_{jj}^2\le n\varepsilon`
        (:math:`\varepsilon` of float64), within the factorization's rounding error. It is
        a subclass of ``ValueError``.

    Notes
    -----
    *Exact path.* One Cholesky factorization :math:`L = CC^\top` gives
    :math:`\log\det L = 2\sum_i\log C_{ii}` and :math:`L^{-1}` (:math:`C^{-1}` by halves
    and LAPACK ``lauum`` on NumPy, in the kernel's own memory; ``cholesky_inverse`` on
    PyTorch; two triangular solves elsewhere); ``grad`` is the kernel back-propagation of
    :math:`L^{-1}` (``"logdet"``) or of :math:`\det(L)\,L^{-1}` (``"det"``). The
    factorization and :math:`L^{-1}` are computed in float64 also for float32 batches: the
    condition numbers the exact path accepts (above) leave a float32 solve with no correct
    digit. :math:`W = L^{-1}\circ L` is cast back before the back-propagation.

    *Sub-gradient paths.* ``grad`` is the kernel back-propagation of :math:`\hat L` used in
    place of :math:`\partial J/\partial L`, as the paper does, with the algorithm's own
    scale and whatever the objective:

    * DPPSG: :math:`\hat L = U\operatorname{diag}(\max(\lambda, \Delta) - \lambda)U^\top`
      (one ``eigh``, in float64). Its entries are of order Δ and it is zero when
      :math:`\lambda_{\min}\ge\Delta`.
    * DPPSG*: :math:`\hat L = \theta(I - L)`, so :math:`W = \hat L\circ L` has off-diagonal
      :math:`-\theta L_{ij}^2`. With ``method="dppsg*"`` the back-propagation is fused:
      :math:`W_{ij} = -\theta\exp(-2\|x_i - x_j\|^2/\sigma^2)` is formed directly (its
      diagonal does not matter), two :math:`O(n^2d)` matrix products and one exponential,
      no factorization; ``value`` is computed only when read.

    Exactly duplicated rows receive identical directions
    (:math:`\partial L_{ij}/\partial x_i\propto x_i - x_j = 0`), so the sub-gradient
    cannot separate them by itself; in a network they separate through their different
    inputs. Near-duplicates are pushed apart directly.

    Cost for n points in d dimensions: exact :math:`O(n^3/3 + 2n^3/3 + n^2d)`; DPPSG
    :math:`O(n^3)` (``eigh``); DPPSG* :math:`O(n^2d)`.

    References
    ----------
    .. [1] T. Yu, Y. Li, B. Li, "Deep Learning of Determinantal Point Processes via Proper
       Spectral Sub-gradient", ICLR 2020 (DPPSG and DPPSG*, Algs. 1-2; Def. 3.1).

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.dpp import dpp_diversity
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(50, 8))
    >>> res = dpp_diversity(X, sigma=0.2)
    >>> res.method, res.grad.shape
    ('exact', (50, 8))
    >>> X[1] = X[0]  # a duplicate makes L singular: proper sub-gradient instead
    >>> dpp_diversity(X, sigma=0.2).method
    'dppsg*'

    The same settings as one object, for instance to share them between calls:

    >>> from spectral_ml.dpp import DPPSettings
    >>> dpp_diversity(X, settings=DPPSettings(sigma=0.2, method="dppsg")).method
    'dppsg'
    """
    s = DPPSettings.from_keywords(
        settings,
        sigma=sigma,
        objective=objective,
        method=method,
        subgradient=subgradient,
        beta=beta,
        delta=delta,
        theta=theta,
        underflow=underflow,
    )
    objective, method, subgradient, sigma = s.objective, s.method, s.subgradient, s.sigma
    beta, delta, theta = s.beta, s.delta, s.theta
    allow_identity = s.underflow == "allow"
    X = check_batch(X, finite=False)  # checked by centred_kernel, in the same read-back as its own checks
    xp = get_namespace(X)
    Xc = centre_batch(X, xp)

    if method == "dppsg*":
        # W = θ(I − L) ∘ L = −θ L∘L off the diagonal, and L∘L is the kernel at σ/√2.
        E = centred_kernel(Xc, sigma, xp, power=2.0, allow_identity=allow_identity, X=X)
        grad = centred_backward(E, Xc, sigma, xp, coef=-theta)
        lazy: _LazyLogdet | None = _LazyLogdet(xp, Xc, sigma, delta)
        return DPPResult(grad, "dppsg*", objective, lazy=lazy)

    L = centred_kernel(Xc, sigma, xp, allow_identity=allow_identity, X=X)
    C = logdet = None
    if method in ("auto", "exact"):
        # L64 is this call's own: the kernel, or its float64 copy. It is factored in place
        # and given back as the kernel if a sub-gradient path needs it.
        L64 = cast(L, xp.float64, xp=xp)
        C, logdet = kernel_cholesky(L64, xp, overwrite=True)
        if C is None and method == "exact":
            raise not_pd_error("The kernel matrix L of X")
        if C is not None and (method == "exact" or logdet >= math.log(beta)):
            W = cast(kernel_weights(C, L64, xp), X.dtype, xp=xp)
            coef = 1.0 if objective == "logdet" else math.exp(logdet)
            grad = centred_backward(W, Xc, sigma, xp, coef=coef)
            return DPPResult(grad, "exact", objective, logdet=logdet, logdet_exact=True)
        if L64 is L:  # a float32 kernel was copied, not factored: nothing to give back
            restore_kernel(L64, xp)
        path = subgradient
    else:
        path = "dppsg"

    known = {} if C is None else {"logdet": logdet, "logdet_exact": True}
    if path == "dppsg":
        w, U = eigh64(L, xp)
        k = None
        if not known:
            # The eigenvalues are at hand: no factorization is needed for the value, and
            # it comes back with the number of lifted eigenvalues.
            k, clipped = _clipped_logdet(w, delta, xp, with_count=True)
            known = {"logdet": clipped, "logdet_exact": k == 0}
        D = lift_direction(w, U, delta, xp, k=k)
        W = cast(D * cast(L, xp.float64, xp=xp), X.dtype, xp=xp)
        grad = centred_backward(W, Xc, sigma, xp)
        return DPPResult(grad, "dppsg", objective, **known)

    grad = centred_backward(L * L, Xc, sigma, xp, coef=-theta)
    # method == "auto" here, so the factorization was tried already.
    lazy = None if known else _LazyLogdet(xp, Xc, sigma, delta, L=L, factor_tried=True)
    return DPPResult(grad, "dppsg*", objective, lazy=lazy, **known)
