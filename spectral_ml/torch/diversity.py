"""The DPP diversity term as a PyTorch autograd function and module.

:func:`dpp_diversity_loss` wraps :func:`spectral_ml.dpp.dpp_diversity` in a
:class:`torch.autograd.Function`: the forward pass returns the diversity ``L_D`` (``log det L``
or ``det L`` of the batch's Gaussian kernel matrix), and the backward pass hands autograd the
direction that :func:`~spectral_ml.dpp.dpp_diversity` selects (the exact gradient, DPPSG,
DPPSG* or the automatic switch between them) as the gradient of ``L_D`` with respect to the
features. Nothing of the mathematics is repeated here.

Sign convention: ``L_D`` is a diversity to *maximize*. Autograd sees the ascent direction of
``L_D`` as its gradient, so a loss to minimize subtracts it::

    loss = task_loss - weight * dpp_diversity_loss(features, sigma=0.2)
"""

from __future__ import annotations

from typing import Any

import torch

from ..dpp import DEFAULT_BETA, DEFAULT_DELTA, DEFAULT_SIGMA, DEFAULT_THETA, DPPSettings, dpp_diversity
from ..nn.dpp_loss import result_info

__all__ = ["dpp_diversity_loss", "DPPDiversity"]

_DTYPES = (torch.float32, torch.float64)


class _NoSecondDerivative(torch.autograd.Function):
    """Identity on the first derivative, tied to the input X, that refuses to be differentiated."""

    @staticmethod
    def forward(ctx, grad, X):
        return grad.clone()

    @staticmethod
    def backward(ctx, *_):
        raise RuntimeError(
            "dpp_diversity_loss has no second derivative: its backward pass returns the "
            "direction chosen by spectral_ml.dpp.dpp_diversity (a proper sub-gradient on "
            "singular batches), which is not differentiable itself. Do not differentiate "
            "through the gradient of the DPP term (create_graph=True, torch.autograd.grad "
            "of a gradient, Hessian-vector products)."
        )


class _DPPDiversityFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, X, settings, compute_value, record):
        res = dpp_diversity(X.detach(), settings=settings)
        # The same record as dpp_loss's, which also decides which values a DPPSG* step
        # without its value leaves out.
        info = result_info(res, compute_value)
        ctx.direction = res.grad
        ctx.save_for_backward(X)
        value = info["diversity"]
        if record is not None:
            record.update(method=info["method"], is_gradient=info["is_gradient"], value=value, logdet=info["logdet"])
        # torch.full fills on X's device (the scalar is a kernel argument): no array is copied.
        return torch.full((), value, dtype=X.dtype, device=X.device)

    @staticmethod
    def backward(ctx, grad_value):
        grad = grad_value * ctx.direction
        if torch.is_grad_enabled():
            # create_graph=True: the gradient depends on X, but not differentiably; tie it to X
            # through a node that raises if a second backward reaches it.
            (X,) = ctx.saved_tensors
            grad = _NoSecondDerivative.apply(grad, X)
        return grad, None, None, None


def _check_tensor(X):
    if not isinstance(X, torch.Tensor):
        raise ValueError(f"X must be a torch.Tensor, got {type(X).__name__}.")
    if X.dtype not in _DTYPES:
        raise ValueError(f"X must be float32 or float64, got dtype {X.dtype}.")


def dpp_diversity_loss(
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
    compute_value: bool = True,
    info: dict | None = None,
    settings: DPPSettings | None = None,
) -> Any:
    r"""DPP diversity ``L_D`` of a feature batch, differentiable by autograd through proper sub-gradients.

    The forward pass is :func:`spectral_ml.dpp.dpp_diversity` on the batch; the backward pass
    multiplies the incoming gradient by the direction it selected. The keywords are those of
    :func:`~spectral_ml.dpp.dpp_diversity`, with the same meaning and defaults, and like it
    the function takes them as one :class:`~spectral_ml.dpp.DPPSettings`.

    Parameters
    ----------
    X : torch.Tensor of shape (n, d)
        Feature batch, n ≥ 2, float32 or float64, on any device (CPU or CUDA).
    sigma : float, default=0.2
        Kernel width σ > 0 of :math:`L_{ij} = \exp(-\|x_i - x_j\|^2/\sigma^2)`.
    objective : {"logdet", "det"}, default="logdet"
        :math:`L_D = \log\det L` or the paper's :math:`\det L` (which underflows to 0 for
        batches of a few hundred points, and its exact gradient with it).
    method : {"auto", "exact", "dppsg", "dppsg*"}, default="auto"
        ``"auto"``: the exact gradient while L factors and ``det L ≥ beta``, the
        sub-gradient ``subgradient`` otherwise. ``"exact"`` always differentiates (and
        raises where L is not numerically positive definite); ``"dppsg"`` and ``"dppsg*"``
        always take that proper sub-gradient.
    subgradient : {"dppsg", "dppsg*"}, default="dppsg*"
        Sub-gradient of ``method="auto"``.
    beta : float, default=1e-7
        Threshold on ``det L`` of the automatic switch (compared in log space).
    delta : float, default=1e-7
        DPPSG's eigenvalue floor Δ.
    theta : float, default=0.1
        DPPSG*'s step θ ∈ (0, 1] toward the identity.
    underflow : {"raise", "allow"}, default="raise"
        What to do when σ is so small for the batch that every off-diagonal entry of L
        underflows (L = I, zero gradient): ``"raise"`` a ValueError naming ``sigma``, or
        ``"allow"`` it (value 0, zero gradient), as a training loop should, since a batch
        spread far apart at width σ is a legitimate state.
    compute_value : bool, default=True
        Compute ``L_D``. On the DPPSG* path the value is not a by-product of the direction
        and costs a Cholesky factorization (an eigendecomposition when L is singular),
        several times the direction itself; with ``False`` the returned value is NaN on
        that path (the gradient is unchanged), for training loops that do not record it.
    info : dict, optional
        Filled with ``"method"`` (the path taken), ``"is_gradient"``, ``"value"`` and
        ``"logdet"`` (Python floats, NaN when not computed).
    settings : DPPSettings, optional
        ``sigma``, ``objective``, ``method``, ``subgradient``, ``beta``, ``delta``,
        ``theta`` and ``underflow`` as one object, checked when it was made (its ``weight``
        is not used: the term is returned unweighted); those keywords must then be left at
        their defaults.

    Returns
    -------
    torch.Tensor
        0-d tensor ``L_D`` in the dtype and on the device of ``X``: ``log det L`` or
        ``det L``; where L is singular, the log-determinant of DPPSG's lifted matrix (see
        :class:`spectral_ml.dpp.DPPResult`). It is a value to **maximize**. Its gradient,
        as autograd sees it, is the ascent direction of
        :attr:`spectral_ml.dpp.DPPResult.grad`: the exact gradient
        :math:`\partial L_D/\partial X` on the exact
        path, the kernel back-propagation of the proper sub-gradient otherwise (it raises
        det L but is the gradient of nothing, and it keeps the algorithm's own scale
        whatever ``objective``). To use the term in a loss that is minimized, subtract it:
        ``loss = task_loss − λ₁ · dpp_diversity_loss(F)``.

    Raises
    ------
    ValueError
        For ``X`` not a float32/float64 tensor, not 2-D, with fewer than 2 rows or with NaN
        or infinity, an invalid hyper-parameter, or a keyword changed from its default
        together with ``settings``; the message names the argument.
    numpy.linalg.LinAlgError
        With ``method="exact"`` when L is not numerically positive definite (a subclass of
        ``ValueError``).
    RuntimeError
        When the gradient of the term is differentiated again (double backward): the
        sub-gradient paths have no second derivative.

    Notes
    -----
    CUDA tensors stay on the device: the kernel matrix, its factorization and the direction
    are computed there (in float64 for the factorization, as the array-level term does), and
    no array is copied to the host, and the backward pass is one multiplication on the device.
    The scalars the computation branches on (the finiteness check of ``X``, the Cholesky pivot
    test and ``log det L ≥ log β`` of the switch) and the value itself are Python floats read
    by :func:`~spectral_ml.dpp.dpp_diversity`, which synchronizes the stream; the returned
    0-d tensor is filled on the device from that float.

    Examples
    --------
    >>> import torch
    >>> from spectral_ml.torch import dpp_diversity_loss
    >>> X = torch.rand(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> X.requires_grad_()  # doctest: +ELLIPSIS
    tensor(...)
    >>> value = dpp_diversity_loss(X, sigma=0.2)
    >>> value.backward()  # X.grad: the ascent direction of log det L
    >>> X.grad.shape
    torch.Size([50, 2])
    """
    _check_tensor(X)
    if not isinstance(compute_value, bool):
        raise ValueError(f"compute_value must be a bool, got {compute_value!r}.")
    if info is not None and not isinstance(info, dict):
        raise ValueError(f"info must be a dict or None, got {type(info).__name__}.")
    settings = DPPSettings.from_keywords(
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
    return _DPPDiversityFunction.apply(X, settings, compute_value, info)


class DPPDiversity(torch.nn.Module):
    r"""The DPP diversity term :func:`dpp_diversity_loss` as a module with fixed settings.

    ``module(F)`` returns the diversity ``L_D`` of the batch ``F`` (a value to maximize;
    subtract it, weighted, from the loss that is minimized). The parameters are those of
    :func:`dpp_diversity_loss`, or the same as one :class:`~spectral_ml.dpp.DPPSettings`;
    they are checked at construction.

    Parameters
    ----------
    sigma : float, default=0.2
        Kernel width σ > 0 of :math:`L_{ij} = \exp(-\|x_i - x_j\|^2/\sigma^2)`.
    objective : {"logdet", "det"}, default="logdet"
        The term :math:`L_D`: :math:`\log\det L` or the paper's :math:`\det L`.
    method : {"auto", "exact", "dppsg", "dppsg*"}, default="auto"
        ``"auto"``: the exact gradient while L factors and ``det L ≥ beta``, the
        sub-gradient ``subgradient`` otherwise; the other values always take that path.
    subgradient : {"dppsg", "dppsg*"}, default="dppsg*"
        Sub-gradient of ``method="auto"``.
    beta : float, default=1e-7
        Threshold on ``det L`` of the automatic switch (compared in log space).
    delta : float, default=1e-7
        DPPSG's eigenvalue floor Δ.
    theta : float, default=0.1
        DPPSG*'s step θ ∈ (0, 1] toward the identity.
    underflow : {"raise", "allow"}, default="raise"
        When every off-diagonal entry of L underflows at width σ: ``"raise"`` a
        ValueError naming ``sigma``, or ``"allow"`` it (value 0, zero gradient).
    compute_value : bool, default=True
        Compute ``L_D`` on the DPPSG* path too, where it costs a factorization of its own;
        with ``False`` the value is NaN there and the gradient unchanged.
    settings : DPPSettings, optional
        All but ``compute_value`` as one object (the separate keywords then keep their
        defaults).

    Attributes
    ----------
    settings : DPPSettings
        The settings of the term.
    last_info : dict
        What :func:`dpp_diversity_loss` reported for the last batch: the path taken
        (``"method"``), ``"is_gradient"``, ``"value"`` and ``"logdet"``; empty before the
        first call.

    Examples
    --------
    >>> import torch
    >>> from spectral_ml.torch import DPPDiversity
    >>> term = DPPDiversity(sigma=0.2, method="auto", subgradient="dppsg*")
    >>> F = torch.zeros(10, 2, requires_grad=True)  # ten identical features: L singular
    >>> (-1e3 * term(F)).backward()
    >>> term.last_info["method"]
    'dppsg*'
    """

    def __init__(
        self,
        sigma: float = DEFAULT_SIGMA,
        *,
        objective: str = "logdet",
        method: str = "auto",
        subgradient: str = "dppsg*",
        beta: float = DEFAULT_BETA,
        delta: float = DEFAULT_DELTA,
        theta: float = DEFAULT_THETA,
        underflow: str = "raise",
        compute_value: bool = True,
        settings: DPPSettings | None = None,
    ):
        super().__init__()
        if not isinstance(compute_value, bool):
            raise ValueError(f"compute_value must be a bool, got {compute_value!r}.")
        self.compute_value = compute_value
        self.settings = DPPSettings.from_keywords(
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
        self.last_info: dict = {}

    @property
    def sigma(self) -> float:
        """The kernel width σ of :attr:`settings`."""
        return self.settings.sigma

    def forward(self, F: Any) -> Any:
        """Diversity ``L_D`` of the batch ``F`` (0-d tensor, differentiable as documented)."""
        info: dict = {}
        out = dpp_diversity_loss(F, compute_value=self.compute_value, info=info, settings=self.settings)
        self.last_info = info
        return out

    def extra_repr(self) -> str:
        s = self.settings
        return (
            f"sigma={s.sigma}, objective={s.objective!r}, method={s.method!r}, subgradient={s.subgradient!r}, "
            f"theta={s.theta}, beta={s.beta}, delta={s.delta}, underflow={s.underflow!r}"
        )
