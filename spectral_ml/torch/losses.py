"""The contrastive loss of :mod:`spectral_ml.nn` as a PyTorch autograd function.

:func:`spectral_ml.nn.contrastive_loss` computes the value and the gradient with respect to the
features in one O(n²d) pass; this wraps it so that autograd back-propagates that gradient.
"""

from __future__ import annotations

from typing import Any

import torch

from ..nn import contrastive_loss as _contrastive_array

__all__ = ["contrastive_loss"]


class _ContrastiveFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, F, y, margin, alpha, reduction):
        value, dF = _contrastive_array(F.detach(), y, margin=margin, alpha=alpha, reduction=reduction)
        ctx.dF = dF
        return torch.full((), value, dtype=F.dtype, device=F.device)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_value):
        return grad_value * ctx.dF, None, None, None, None


def contrastive_loss(F: Any, y: Any, *, margin: float = 0.8, alpha: float = 5.0, reduction: str = "mean") -> Any:
    """Pairwise contrastive loss of a feature batch (Yu, Li & Li, Sec. 4.1), differentiable by autograd.

    Same definition, parameters and checks as :func:`spectral_ml.nn.contrastive_loss`:
    ``L_C = (1/P)[Σ_{same label, i<j} D_ij + α Σ_{different label, i<j} max(µ − D_ij, 0)]``
    with ``D_ij = ‖f_i − f_j‖²`` and ``P`` the number of pairs (``"mean"``) or 1 (``"sum"``).

    Parameters
    ----------
    F : torch.Tensor of shape (n, d)
        Feature batch, float32 or float64.
    y : torch.Tensor or array_like of shape (n,)
        Labels.
    margin, alpha : float
        µ (default 0.8) and α (default 5), the paper's MNIST values.
    reduction : {"mean", "sum"}, default="mean"

    Returns
    -------
    torch.Tensor
        0-d loss tensor (to minimize) in the dtype and on the device of ``F``.

    Examples
    --------
    >>> import torch
    >>> from spectral_ml.torch import contrastive_loss
    >>> F = torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.5, 0.0]], requires_grad=True)
    >>> loss = contrastive_loss(F, torch.tensor([0, 0, 1]), alpha=1.0, reduction="sum")
    >>> round(float(loss.detach()), 4)
    1.2
    """
    if not isinstance(F, torch.Tensor):
        raise ValueError(f"F must be a torch.Tensor, got {type(F).__name__}.")
    return _ContrastiveFunction.apply(F, y, margin, alpha, reduction)
