"""The DPP term of the feature-learning objective, as a loss to minimize.

The feature network minimizes ``L = L_C − λ₁ L_D + λ₂ L_G`` (see :mod:`spectral_ml.nn.losses`),
where ``L_D`` is the DPP diversity of the batch, ``log det L`` or ``det L`` of its Gaussian
kernel matrix (:func:`spectral_ml.dpp.dpp_diversity`). :func:`dpp_loss` returns the term
``−λ₁ L_D`` and the matching direction ``−λ₁ ∂L_D/∂F`` in the ``(value, dF)`` convention of
the other losses, so that a training step adds it to the contrastive and generator
gradients, plus a record of the path taken (exact gradient or proper sub-gradient).
"""

from __future__ import annotations

import math
from typing import Any

from ..dpp import DEFAULT_BETA, DEFAULT_DELTA, DEFAULT_SIGMA, DEFAULT_THETA, DPPSettings, dpp_diversity

__all__ = ["dpp_loss"]


def dpp_loss(
    F: Any,
    *,
    sigma: float = DEFAULT_SIGMA,
    weight: float = 1.0,
    objective: str = "logdet",
    method: str = "auto",
    subgradient: str = "dppsg*",
    beta: float = DEFAULT_BETA,
    delta: float = DEFAULT_DELTA,
    theta: float = DEFAULT_THETA,
    compute_value: bool = True,
    underflow: str = "raise",
    settings: DPPSettings | None = None,
) -> tuple[Any, Any, Any]:
    r"""DPP loss term of a feature batch and its descent direction wrt the features.

    The term is :math:`-\lambda_1 L_D`, where :math:`L_D` is the diversity
    :math:`\log\det L` (default) or :math:`\det L` of the Gaussian kernel matrix
    :math:`L_{ij} = \exp(-\|f_i - f_j\|^2/\sigma^2)` of the batch (Yu, Li & Li, Eq. 4), and
    the direction is :math:`-\lambda_1` times the ascent direction of
    :func:`spectral_ml.dpp.dpp_diversity`: the exact gradient where ``L`` is safely
    invertible, a proper spectral sub-gradient (DPPSG or DPPSG*) where it is singular or
    nearly so. Minimizing the returned value maximizes the diversity; ``weight`` is the
    paper's :math:`\lambda_1`.

    Parameters
    ----------
    F : array of shape (n_samples, n_features)
        Feature batch, n_samples >= 2, any array namespace (float32 stays float32).
    sigma : float, default=0.2
        Kernel width σ > 0 (the paper's value for 2-D MNIST features).
    weight : float, default=1.0
        λ₁ >= 0, the weight of the diversity in the total loss.
    objective : {"logdet", "det"}, default="logdet"
        ``L_D = log det L`` or the paper's ``det L`` (which underflows to 0, with a zero
        exact gradient, for batches of a few hundred points).
    method : {"auto", "exact", "dppsg", "dppsg*"}, default="auto"
        Path selection of :func:`~spectral_ml.dpp.dpp_diversity`: ``"auto"`` takes the
        exact gradient while ``det L >= beta`` and the sub-gradient ``subgradient``
        otherwise; ``"exact"`` always differentiates (and raises when ``L`` is not
        numerically positive definite); ``"dppsg"``/``"dppsg*"`` always take that
        sub-gradient.
    subgradient : {"dppsg", "dppsg*"}, default="dppsg*"
        Sub-gradient of ``method="auto"``.
    beta : float, default=1e-7
        Threshold β on ``det L`` of the automatic switch (compared in log space).
    delta : float, default=1e-7
        DPPSG's eigenvalue floor Δ (the paper's MNIST value).
    theta : float, default=0.1
        DPPSG*'s step θ ∈ (0, 1] toward the identity.
    compute_value : bool, default=True
        Compute ``L_D``. On the DPPSG* path it is not a by-product of the direction and
        costs a factorization (an eigendecomposition when ``L`` is singular); with
        ``False`` the value is NaN on that path and known on the others.
    underflow : {"raise", "allow"}, default="raise"
        When every off-diagonal kernel entry underflows (features far apart at width σ):
        a ``ValueError`` naming ``sigma``, or (``"allow"``, what a training loop wants) the
        identity kernel's result, ``L_D = 0`` and a zero direction
        (:func:`~spectral_ml.dpp.dpp_diversity`).
    settings : DPPSettings, optional
        ``sigma``, ``weight``, ``objective``, ``method``, ``subgradient``, ``beta``,
        ``delta``, ``theta`` and ``underflow`` as one object, checked when it was made; those
        keywords must then be left at their defaults.

    Returns
    -------
    value : float
        :math:`-\mathrm{weight}\cdot L_D` (NaN when not computed). Where ``L`` is singular,
        :math:`L_D` is the log-determinant of DPPSG's lifted matrix,
        :math:`\sum_i\log\max(\lambda_i, \Delta)` (finite; see
        :class:`~spectral_ml.dpp.DPPResult`).
    dF : array of shape (n_samples, n_features)
        ``−weight`` times the ascent direction, in the namespace, device and dtype of
        ``F``: the gradient of ``value`` on the exact path, a proper sub-gradient
        direction otherwise.
    info : dict
        ``"method"``: the path taken (``"exact"``, ``"dppsg"`` or ``"dppsg*"``);
        ``"is_gradient"``: whether ``dF`` is a true gradient; ``"diversity"``: ``L_D``
        (NaN when not computed); ``"logdet"``: ``log det L`` or its lifted surrogate (NaN
        when not computed); ``"logdet_exact"``: whether ``"logdet"`` is ``log det L``
        itself (None when not computed).

    Raises
    ------
    ValueError
        For an invalid ``F`` (not 2-D, fewer than 2 rows, NaN or infinity), an invalid
        hyper-parameter, or a keyword changed from its default together with ``settings``;
        the message names the argument.
    numpy.linalg.LinAlgError
        With ``method="exact"`` when ``L`` is not numerically positive definite (a
        subclass of ``ValueError``).

    See Also
    --------
    spectral_ml.dpp.dpp_diversity : the diversity term and its paths.
    contrastive_loss, generator_loss : the other terms of the objective.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import dpp_loss
    >>> F = np.random.default_rng(0).uniform(-1, 1, size=(20, 2))
    >>> value, dF, info = dpp_loss(F, sigma=0.2, weight=10.0)
    >>> info["method"], dF.shape
    ('exact', (20, 2))
    >>> bool(np.isclose(value, -10.0 * info["logdet"]))
    True
    >>> F[1] = F[0]  # a duplicated feature: L is singular, the sub-gradient takes over
    >>> dpp_loss(F, weight=10.0)[2]["method"]
    'dppsg*'
    >>> from spectral_ml.dpp import DPPSettings
    >>> dpp_loss(F, settings=DPPSettings(weight=10.0, method="dppsg"))[2]["method"]
    'dppsg'
    """
    settings = DPPSettings.from_keywords(
        settings,
        sigma=sigma,
        weight=weight,
        objective=objective,
        method=method,
        subgradient=subgradient,
        beta=beta,
        delta=delta,
        theta=theta,
        underflow=underflow,
    )
    if not isinstance(compute_value, bool):
        raise ValueError(f"compute_value must be a bool, got {compute_value!r}.")
    res = dpp_diversity(F, settings=settings)
    info = result_info(res, compute_value)
    weight = settings.weight
    value = -weight * info["diversity"]
    return value, res.grad * (-weight), info


def result_info(res: Any, compute_value: bool = True) -> dict:
    """The record of a :class:`~spectral_ml.dpp.DPPResult` that :func:`dpp_loss` returns as ``info``.

    On the DPPSG* path the value is computed only when ``compute_value`` is true (it costs a
    factorization there); on the other paths it is a by-product and always reported.
    """
    if compute_value or res.method != "dppsg*":
        diversity, logdet, logdet_exact = res.value, res.logdet, res.logdet_exact
    else:
        diversity = logdet = math.nan
        logdet_exact = None
    return {
        "method": res.method,
        "is_gradient": res.is_gradient,
        "diversity": diversity,
        "logdet": logdet,
        "logdet_exact": logdet_exact,
    }
