"""Gaussian L-ensemble kernel of a feature batch and its backward pass.

The kernel of Yu et al. (paper Eq. 4) is

    L_ij = exp(-‖x_i − x_j‖² / σ²)        (σ², no factor 2),

so L_ii = 1, 0 < L_ij ≤ 1 and 0 ≤ det L ≤ 1. For any scalar J(L) with symmetric
G = ∂J/∂L the chain rule through the kernel collapses to two O(n²d) products,

    ∂J/∂X = (4/σ²) (W X − diag(W 1) X),      W = G ∘ L,

because ∂L_ij/∂x_i = −(2/σ²) L_ij (x_i − x_j): row i of the result is
(4/σ²) Σ_j W_ij (x_j − x_i). The n×n×d tensor ∂L/∂X is never formed, and the diagonal
of W drops out (x_i − x_i = 0).

Both directions are translation invariant, so the batch is centred first: the squared
distances come from the Gram trick ‖x_i‖² + ‖x_j‖² − 2 x_iᵀx_j, whose cancellation error
grows with ‖x‖², and centring keeps ‖x‖ as small as the batch's spread allows.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .._backend import (
    as_float_array,
    cast,
    check_finite,
    flush_bound,
    gaussian_affinity_unchecked,
    get_namespace,
    matmul,
    subtract_diagonal,
    to_numpy,
    to_python_float,
)
from .._validation import check_positive, check_samples

__all__ = ["gaussian_kernel", "kernel_backward"]

#: Paper value of the kernel width for MNIST and CIFAR-100 (Appendix A.1).
DEFAULT_SIGMA = 0.2


def _check_sigma(sigma) -> float:
    """σ as a float: positive, finite, and with 1/σ² and 4/σ² normal float64 numbers.

    Outside that range (σ below about 1.5e-154 or above about 6.7e153) the kernel's scale
    1/σ² or the gradient's factor 4/σ² overflows or underflows, whatever the data.
    """
    sigma = check_positive(sigma, "sigma")
    s2 = sigma * sigma
    if not (s2 >= sys.float_info.min and math.isfinite(4.0 / s2)):
        raise ValueError(f"sigma={sigma!r} is too small: 1/sigma² overflows float64.")
    if not (math.isfinite(s2) and 1.0 / s2 >= sys.float_info.min):
        raise ValueError(f"sigma={sigma!r} is too large: 1/sigma² underflows float64.")
    return sigma


def _check_batch(X, name: str = "X", *, finite: bool = True):
    """Validate a feature batch: 2-D, finite, at least two rows and one column.

    ``finite=False`` leaves the values to :func:`_kernel` (its ``X``), which reads that check
    back with its own.
    """
    return check_samples(X, name, min_samples=2, finite=finite)


def _center(X, xp):
    # Unchecked values (see _check_batch) make the result non-finite, which _kernel reports.
    with np.errstate(over="ignore", invalid="ignore"):
        return X - xp.mean(X, axis=0)[None, :]


def _kernel(Xc, sigma: float, xp, *, power: float = 1.0, allow_identity: bool = False, X=None,
            checked: bool = False):
    """exp(−power·‖x_i − x_j‖²/σ²) for a centred batch, with an exactly unit diagonal.

    This is :func:`spectral_ml._backend.gaussian_affinity` of Y = Xc·√(2·power/σ²): one
    product Y Yᵀ (symmetric, or in strips of its upper triangle), the norms from its own
    diagonal, so that the diagonal exponent is exactly zero, the exponent clipped at 0, and
    the entries below twice the smallest normal number set to exactly 0.

    Raises ``ValueError`` naming ``sigma`` when σ is too small for the batch: the scaled
    squared norms overflow the dtype, or (unless ``allow_identity``) every off-diagonal
    entry of the kernel (at power 1) underflows, which leaves the identity matrix and a
    zero gradient.

    ``X`` is the uncentred batch when its values were not checked
    (``check_samples(..., finite=False)``): NaN or infinity in it makes the squared norms
    non-finite, and it is then told apart from overflow, with the error ``check_samples``
    would have raised. Both checks come back to the host in one read: on a GPU each read
    waits for the device.
    ``checked``: the batch passed these checks already, at this power or a higher one (the
    squared norms grow with it); nothing is read back.
    """
    scale = power * (1.0 / (sigma * sigma))
    with np.errstate(over="ignore"):  # reported through the squared norms below
        Y = Xc * math.sqrt(2.0 * scale)
    K, half_norms = gaussian_affinity_unchecked(Y)
    n = K.shape[0]
    if checked:
        return K
    if allow_identity:
        half_norms = to_python_float(half_norms)
    else:
        # K ≥ 0 with a unit diagonal, so a sum above n proves an off-diagonal entry survived:
        # one cheap reduction decides the usual case; the count confirms a sum of exactly n.
        sums = xp.astype(xp.stack([half_norms, xp.sum(K)]), xp.float64)  # NumPy has no bfloat16
        half_norms, total = (float(v) for v in to_numpy(sums))
    if not math.isfinite(half_norms):
        if X is not None:
            check_finite(X, "X", xp=xp)
        raise ValueError(
            f"sigma={sigma!r} is too small for the scale of X: the squared distances divided by "
            f"sigma² overflow {Xc.dtype}. Choose sigma on the scale of the distances between rows."
        )
    if allow_identity or total > n or int(xp.count_nonzero(K)) != n:
        return K
    if power == 1.0 or int(xp.count_nonzero(_kernel(Xc, sigma, xp))) == n:
        _raise_underflow(Xc, sigma)
    return K


def _raise_underflow(Xc, sigma: float):
    from scipy.spatial.distance import pdist

    Xn = np.asarray(to_numpy(Xc))
    closest = float(pdist(Xn.astype(np.float64)).min())
    bound = closest / math.sqrt(-math.log(flush_bound(Xn.dtype, np)))
    raise ValueError(
        f"sigma={sigma!r} is too small for X: the closest two rows are {closest:.3g} apart, so "
        "every off-diagonal entry of the Gaussian kernel exp(-‖x_i − x_j‖²/sigma²) underflows "
        "to 0, the kernel is the identity matrix and the diversity has no gradient. Choose "
        f"sigma on the scale of the distances between rows (above {bound:.3g} here)."
    )


def _backprop(W, Xc, sigma: float, xp, coef: float = 1.0):
    """coef·(4/σ²)(W Xc − diag(W 1) Xc) for symmetric W (any diagonal); overwrites W's diagonal.

    W Xc − diag(W 1) Xc = (W − diag(W 1)) Xc: the row sums go onto W's diagonal, which
    drops out of the result anyway, and one product remains. It is taken as (Xcᵀ W')ᵀ
    (W' is symmetric): with the n×n operand on the right, MKL multiplies a thin Xc 1.1 to
    3.7 times faster (d = 128 down to 2, n = 500), and other libraries as fast. The result
    is that product's transpose, a view.
    """
    W = subtract_diagonal(W, xp.sum(W, axis=1), xp=xp)
    grad = xp.linalg.matrix_transpose(matmul(xp.linalg.matrix_transpose(Xc), W))
    grad *= coef * 4.0 / (sigma * sigma)
    return grad


def gaussian_kernel(X, sigma: float = DEFAULT_SIGMA):
    """Gaussian L-ensemble kernel L_ij = exp(−‖x_i − x_j‖² / σ²) of a feature batch.

    This is Eq. 4 of Yu et al.: the width enters as σ², without the factor 2 of the usual
    RBF convention. The diagonal is exactly 1.

    Parameters
    ----------
    X : array of shape (n, d)
        Feature batch (any array-API namespace), n ≥ 2. Integer input becomes float64;
        float32 stays float32.
    sigma : float, default=0.2
        Kernel width σ > 0. The paper uses σ = 0.2 for MNIST and CIFAR-100 (features in
        [−1, 1]^d) and σ = 2 for CIFAR-10 hashing: σ must match the scale of the features,
        since points much closer than σ are seen as near-duplicates.

    Returns
    -------
    L : array of shape (n, n)
        Symmetric positive semi-definite kernel matrix in the namespace, device and dtype
        of ``X``.

    Raises
    ------
    ValueError
        If ``X`` is not a finite 2-D array with at least 2 rows, or ``sigma`` is not a
        positive finite number, or is so small for ``X`` that every off-diagonal entry
        underflows (the kernel would be the identity whatever the batch).

    Notes
    -----
    Squared distances are computed as ‖x_i‖² + ‖x_j‖² − 2 x_iᵀx_j on the centred batch
    (one symmetric matrix product, O(n²d), or on PyTorch's CPU backend the strips of its
    upper triangle) and clipped at 0. Their absolute error is about
    ε·‖x‖², so distances far below √ε·‖x − mean‖ (≈ 3e-4 relative in float32) are not
    resolved. Entries below twice the smallest normal number of the dtype (4.5e-308 in
    float64, 2.4e-38 in float32) are set to exactly 0: arithmetic at the bottom of the
    normal range and below it is slow, and such entries are negligible next to the unit
    diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.dpp import gaussian_kernel
    >>> L = gaussian_kernel(np.array([[0.0, 0.0], [0.2, 0.0]]), sigma=0.2)
    >>> np.round(L, 6)
    array([[1.      , 0.367879],
           [0.367879, 1.      ]])
    """
    sigma = _check_sigma(sigma)
    X = _check_batch(X, finite=False)
    xp = get_namespace(X)
    return _kernel(_center(X, xp), sigma, xp, X=X)


def kernel_backward(X, G, sigma: float = DEFAULT_SIGMA, *, L=None):
    """Back-propagate ∂J/∂L through the Gaussian kernel to ∂J/∂X in O(n²d).

    Parameters
    ----------
    X : array of shape (n, d)
        The feature batch the kernel was built from.
    G : array of shape (n, n)
        ∂J/∂L, the gradient of a scalar J with respect to the n² entries of L (or any
        direction in the space of symmetric matrices, such as a DPP sub-gradient). Only its
        symmetric part matters, because L is symmetric.
    sigma : float, default=0.2
        Kernel width σ > 0 used to build L.
    L : array of shape (n, n), optional
        ``gaussian_kernel(X, sigma)`` when already at hand; recomputed otherwise.

    Returns
    -------
    grad : array of shape (n, d)
        ∂J/∂X = (4/σ²)(W X − diag(W 1) X) with W = sym(G) ∘ L, in the namespace, device and
        dtype of ``X``.

    Raises
    ------
    ValueError
        If ``X``, ``G`` or ``L`` have the wrong shape or non-finite values, or ``sigma`` is
        not positive or so small for ``X`` that the kernel underflows to the identity.

    Examples
    --------
    The gradient of J(L) = Σ_ij L_ij pulls the two points together:

    >>> import numpy as np
    >>> from spectral_ml.dpp import kernel_backward
    >>> X = np.array([[0.0], [0.2]])
    >>> g = kernel_backward(X, np.ones((2, 2)), sigma=0.2)
    >>> bool(g[0, 0] > 0 and g[1, 0] < 0)
    True
    """
    sigma = _check_sigma(sigma)
    X = _check_batch(X)
    xp = get_namespace(X)
    n = X.shape[0]
    G = as_float_array(G, "G", ndim=2)
    if tuple(G.shape) != (n, n):
        raise ValueError(f"G must have shape ({n}, {n}) to match X, got {tuple(G.shape)}.")
    G = cast(G, X.dtype, xp=xp)
    Xc = _center(X, xp)
    if L is None:
        L = _kernel(Xc, sigma, xp)
    else:
        L = as_float_array(L, "L", ndim=2)
        if tuple(L.shape) != (n, n):
            raise ValueError(f"L must have shape ({n}, {n}) to match X, got {tuple(L.shape)}.")
        check_finite(L, "L", xp=xp)
        L = cast(L, X.dtype, xp=xp)
    W = (G + xp.linalg.matrix_transpose(G)) / 2 * L
    return _backprop(W, Xc, sigma, xp)
