"""The contrastive loss of a feature batch, with its gradient wrt the features.

The feature network is trained on ``L = L_C − λ₁ L_D + λ₂ L_G`` (Yu, Li & Li, Sec. 3.3):
the contrastive loss ``L_C`` (:func:`contrastive_loss`, here), the DPP diversity term
``L_D`` (:func:`~spectral_ml.nn.dpp_loss`) and the WGAN generator loss ``L_G``
(:func:`~spectral_ml.nn.generator_loss`). Every loss returns ``(value, dF)``: a Python float
and the gradient wrt the feature batch ``F``, so a training step
(:mod:`spectral_ml.nn.training`) is a weighted sum of the ``dF`` fed to the network's
``backward``.
"""

from __future__ import annotations

from typing import Any

from .._backend import (
    all_finite,
    device_of,
    get_namespace,
    inner_product,
    is_foreign_array,
    to_namespace,
    zero_diagonal,
)
from .._validation import as_float_array, check_labels, check_real, encode_labels

__all__ = ["contrastive_loss"]


def _same_label_mask(y: Any, n: int, xp, device):
    """Boolean n×n matrix ``y_i == y_j`` in namespace ``xp``, for labels of any dtype and namespace.

    Integer labels are compared as they are, in the features' namespace: the codes a training
    loop encodes once are already there, so nothing is re-encoded or transferred. Arrays of
    other array libraries are validated where they are (no host copy); labels on the host
    (NumPy, lists) are validated there and encoded first unless they are signed integers
    (strings, floats and bools become codes every namespace holds).
    """
    if is_foreign_array(y):
        labels = to_namespace(y, xp, device)
        if labels.ndim != 1:
            raise ValueError(f"y must be a 1-D array of labels, got shape {tuple(labels.shape)}.")
        if int(labels.shape[0]) != n:
            raise ValueError(f"y has {int(labels.shape[0])} labels but F has {n} rows.")
        if xp.isdtype(labels.dtype, "real floating") and not all_finite(labels, xp=xp):
            raise ValueError("y contains NaN or infinity.")
    else:
        labels = check_labels(y, n_samples=n, rows_of="F")
        if labels.dtype.kind != "i":
            labels = encode_labels(labels)[1]
        labels = to_namespace(labels, xp, device)
    return labels[:, None] == labels[None, :]


def contrastive_loss(
    F: Any, y: Any, *, margin: float = 0.8, alpha: float = 5.0, reduction: str = "mean"
) -> tuple[Any, Any]:
    r"""Pairwise contrastive loss over all pairs of a batch, and its gradient wrt the features.

    For features :math:`f_i` (rows of ``F``) with labels :math:`y_i` and squared distances
    :math:`D_{ij} = \|f_i - f_j\|^2`,

    .. math::

        L_C = \frac1P\Bigl[\sum_{i<j,\ y_i = y_j} D_{ij}
              + \alpha\sum_{i<j,\ y_i\ne y_j}\max(\mu - D_{ij}, 0)\Bigr],

    the loss of Yu, Li & Li (Sec. 4.1) with :math:`P = n(n-1)/2`, the number of pairs
    (``reduction="mean"``), or :math:`P = 1` (``reduction="sum"``, the paper's literal
    sum). Dividing by the number of pairs keeps the scale (and a good learning rate)
    independent of the batch size.

    With :math:`W_{ij} = 1` for same-label pairs, :math:`-\alpha` for different-label pairs
    inside the margin and 0 otherwise (:math:`W_{ii} = 0`), the gradient is

    .. math::

        \frac{\partial L_C}{\partial F} = \frac2P\bigl(\operatorname{diag}(W\mathbf 1)F - WF\bigr),

    computed with one :math:`n\times n` Gram matrix and one matrix product:
    :math:`O(n^2d)` time, :math:`O(n^2)` memory, no :math:`n\times n\times d` tensor. The
    hinge has a kink at :math:`D_{ij} = \mu`; there the derivative of
    :math:`\max(\mu - D, 0)` is taken as 0.

    Parameters
    ----------
    F : array of shape (n_samples, n_features)
        Feature batch, n_samples >= 2 (any namespace; float32 stays float32).
    y : array_like of shape (n_samples,)
        Class labels (any dtype; NumPy or the namespace of ``F``).
    margin : float, default=0.8
        Margin µ on the squared distance of different-label pairs (paper: 0.8), >= 0.
    alpha : float, default=5.0
        Weight α of the different-label term (paper: 5 on MNIST, 1 on CIFAR-100), >= 0.
    reduction : {"mean", "sum"}, default="mean"
        Divide by the number of pairs :math:`n(n-1)/2`, or not.

    Returns
    -------
    value : float
        The loss.
    dF : array of shape (n_samples, n_features)
        Gradient wrt ``F``, in the namespace, device and dtype of ``F``.

    Raises
    ------
    ValueError
        If ``F`` is not 2-D, has fewer than 2 rows or non-finite values, if ``y`` does not
        match, or a hyper-parameter is invalid.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import contrastive_loss
    >>> F = np.array([[0.0, 0.0], [0.1, 0.0], [0.5, 0.0]])
    >>> value, dF = contrastive_loss(F, [0, 0, 1], margin=0.8, alpha=1.0, reduction="sum")
    >>> round(value, 4)  # 0.01 + (0.8 - 0.25) + (0.8 - 0.16)
    1.2
    >>> dF.shape
    (3, 2)
    """
    xp = get_namespace(F)
    F = as_float_array(F, "F", xp=xp, ndim=2)
    margin = check_real(margin, "margin", low=0.0)
    alpha = check_real(alpha, "alpha", low=0.0)
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}.")
    n = int(F.shape[0])
    if n < 2:
        raise ValueError(f"F must have at least 2 rows (pairs of samples), got {n}.")
    dev = device_of(F)
    same = _same_label_mask(y, n, xp, dev)
    dt = F.dtype
    sq = xp.sum(F * F, axis=1)[:, None]
    ones = xp.ones((n, 1), dtype=dt, device=dev)
    # D = sq 1ᵀ + 1 sqᵀ − 2 F Fᵀ as one product of (n, d+2) matrices.
    D = xp.concat([F, sq, ones], axis=1) @ xp.concat([-2.0 * F, ones, sq], axis=1).T
    # The product leaves rounding noise on the diagonal, which would leak into the same-label
    # sum. Off the diagonal a tiny negative D (cancellation) is harmless.
    D = zero_diagonal(D, xp=xp)
    S = xp.astype(same, dt)
    A = xp.astype(~same & (D < margin), dt)
    hinge = margin - D
    total = 0.5 * (inner_product(S, D, xp=xp) + alpha * inner_product(A, hinge, xp=xp))
    total = max(total, 0.0)
    A *= alpha
    W = zero_diagonal(S - A, xp=xp)
    scale = 2.0 / (n * (n - 1)) if reduction == "mean" else 1.0
    # W [F, 1] gives W F and the row sums W 1 in one product.
    WF1 = W @ xp.concat([F, ones], axis=1)
    d = int(F.shape[1])
    dF = WF1[:, d:] * F
    dF -= WF1[:, :d]
    dF *= 2.0 * scale
    return total * scale, dF
