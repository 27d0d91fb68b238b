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

The kernel matrix itself is :func:`gaussian_affinity` of the scaled batch, and its entries
too small to matter are set to zero by :func:`exp_flushed`. Both are written here, where
their numerics are decided; what each array library does its own way (a product into
strips of one matrix, an exponential in place) they ask of the library's entry in
:mod:`spectral_ml._backend`.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from .._backend import (
    array_library,
    array_library_of,
    cast,
    device_of,
    get_namespace,
    matmul,
    subtract_diagonal,
    to_numpy,
    to_python_float,
)
from .._validation import as_float_array, check_finite, check_positive, check_samples

__all__ = ["gaussian_kernel", "kernel_backward"]

#: Paper value of the kernel width for MNIST and CIFAR-100 (Appendix A.1).
DEFAULT_SIGMA = 0.2


#: Rows per strip of the blocked Gaussian affinity (where the library's entry asks for
#: strips: PyTorch's CPU backend). Strips of 64 to 128 rows run within 10 % of each other
#: on one core (100 the fastest at n = 500), and the n/100 strips skip (n/100 − 1)/(2n/100)
#: of the full product's multiplications.
STRIP_ROWS = 100


def flush_bound(dtype: Any, xp: Any) -> float:
    """Twice the smallest normal number of a floating dtype: :func:`exp_flushed` zeroes results below it."""
    return 2.0 * float(xp.finfo(dtype).smallest_normal)


def exp_flushed(E: Any, *, upper: float | None = None, overwrite: bool = False) -> Any:
    """exp(min(E, upper)) with every result below twice the dtype's smallest normal number set to 0.

    Exponentials at the bottom of the normal range are slow: libm's is several times
    slower where the result is subnormal, PyTorch's vectorized one 6 (float64) to 37
    (float32) times slower for exponents within about 1e-3 of log(smallest normal), and
    subnormal entries slow every later product (Cholesky, inverse) as well, while an exact
    zero costs nothing. With the bound at twice the smallest normal number (4.5e-308 in
    float64, 2.4e-38 in float32, log 2 above those slow paths) no exponential that is
    evaluated comes near them. The library's entry computes it
    (:meth:`~spectral_ml._backend.ArrayLibrary.exp_or_zero`): NumPy in place with a mask,
    PyTorch with the exponents raised to the bound and one threshold.

    Parameters
    ----------
    E : array
        Exponents, floating.
    upper : float, optional
        Clip the exponents at this value first.
    overwrite : bool, default=False
        Let NumPy and PyTorch work in place in ``E``'s memory (``E`` is then the result).

    Returns
    -------
    array
        Same shape, dtype, namespace and device as ``E``.
    """
    library = array_library_of(E)
    floor = math.log(flush_bound(E.dtype, library.xp))
    return library.exp_or_zero(E, floor, upper=upper, overwrite=overwrite)


def gaussian_affinity(Y: Any) -> Any:
    """The matrix A_ij = exp(−½‖y_i − y_j‖²) of the rows of ``Y``, with a unit diagonal.

    The exponent comes from one Gram matrix, −½‖y_i − y_j‖² = G_ij − r_i − r_j with
    G = Y Yᵀ and r = diag(G)/2. Taking r from G's own diagonal makes the diagonal exponent
    exactly 0 (a − a/2 − a/2 is exact in IEEE arithmetic), and clipping the exponent at 0
    removes the small positive values that cancellation leaves for near-duplicate rows.
    Results below twice the dtype's smallest normal number are 0 (:func:`exp_flushed`).

    On the CPU (NumPy and PyTorch) the result is exactly symmetric, and no n×n array is
    allocated besides the result: a fresh n×n temporary costs its page faults as well as its
    pass.

    * NumPy computes G with a symmetric rank-k product (``syrk``, half the multiplications)
      and subtracts r_i + r_j in row chunks, each entry rounded once from the same two terms.
    * PyTorch has no symmetric product, so on the CPU the upper triangle is computed in
      strips of :data:`STRIP_ROWS` rows (for n = 500, 15 of the 25 blocks of the full
      product), the exponential is taken on the strips alone, and the lower triangle is
      their mirror image.
    * Elsewhere (CuPy, CUDA tensors, other namespaces) it is one product, one broadcast
      subtraction and one exponential; the result is symmetric up to the product's rounding.

    Parameters
    ----------
    Y : array of shape (n, d)
        Rows, floating, already scaled (a Gaussian kernel exp(−‖x_i − x_j‖²/σ²) is
        ``gaussian_affinity(X * sqrt(2)/σ)``).

    Returns
    -------
    A : array of shape (n, n)
        In the namespace, device and dtype of ``Y``.

    Raises
    ------
    FloatingPointError
        When a squared norm ‖y_i‖²/2 overflows the dtype (or ``Y`` holds NaN or infinity).
    """
    A, half_norms = gaussian_affinity_deferred(Y)
    # r ≥ 0, so the sum is finite exactly when every r_i is: one reduction instead of a
    # finiteness test of every entry.
    if not math.isfinite(to_python_float(half_norms)):
        raise FloatingPointError(f"the squared norms of the rows overflow {A.dtype}")
    return A


def gaussian_affinity_deferred(Y: Any) -> Any:
    """:func:`gaussian_affinity` with its check left to the caller: the matrix and Σ_i ‖y_i‖²/2.

    The sum, a 0-d array, is finite exactly when no squared norm overflows and ``Y`` holds
    no NaN or infinity (short of norms within a factor n of the largest float, where the
    exponent's rounding error alone would exceed exp's range), as :func:`gaussian_affinity`
    checks. It stays on the array's device, so that a caller can read it back together with
    its own checks: on a GPU each read-back waits for the device. Where it is not finite
    the matrix is meaningless (but no exception or warning is raised).
    """
    xp = get_namespace(Y)
    library = array_library(xp)
    if library.gram_in_strips(Y):
        return _affinity_in_strips(Y, xp, library)
    # Overflow and NaN are reported through the sum, not as NumPy warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        G = library.matmul(Y, xp.linalg.matrix_transpose(Y))
        r = xp.linalg.diagonal(G) / 2  # a copy: G is overwritten next
        G = library.subtract_outer_sum(G, r)
        return exp_flushed(G, upper=0.0, overwrite=True), xp.sum(r)


def _affinity_in_strips(Y, xp, library):
    """:func:`gaussian_affinity_deferred` from strips of the upper triangle of Y Yᵀ."""
    n = int(Y.shape[0])
    b = min(n, STRIP_ROWS)
    strips = [(i, min(i + b, n)) for i in range(0, n, b)]
    A = xp.empty((n, n), dtype=Y.dtype, device=device_of(Y))
    # Rows i0:i1 from column i0 on: the diagonal block and everything right of it.
    for i0, i1 in strips:
        library.matmul_into(Y[i0:i1, :], Y[i0:, :].mT, A[i0:i1, i0:])
    r = xp.linalg.diagonal(A) / 2
    for i0, i1 in strips:
        S = A[i0:i1, i0:]
        S -= r[i0:i1, None]
        S -= r[None, i0:]
        exp_flushed(S, upper=0.0, overwrite=True)
    # The lower triangle is the upper one transposed, so A is symmetric bit for bit whatever
    # the order of the two subtractions or of the product's sums.
    return library.mirror_upper_triangle(A, b), xp.sum(r)


def check_sigma(sigma: Any, name: str = "sigma") -> float:
    """The kernel width σ as a float: positive, finite, with 1/σ² and 4/σ² normal float64 numbers.

    Outside that range (σ below about 1.5e-154 or above about 6.7e153) the kernel's scale
    1/σ² or the gradient's factor 4/σ² overflows or underflows, whatever the data.

    Raises
    ------
    ValueError
        Naming ``name`` otherwise.
    """
    sigma = check_positive(sigma, name)
    s2 = sigma * sigma
    if not (s2 >= sys.float_info.min and math.isfinite(4.0 / s2)):
        raise ValueError(f"{name}={sigma!r} is too small: 1/sigma² overflows float64.")
    if not (math.isfinite(s2) and 1.0 / s2 >= sys.float_info.min):
        raise ValueError(f"{name}={sigma!r} is too large: 1/sigma² underflows float64.")
    return sigma


def check_batch(X: Any, name: str = "X", *, finite: bool = True) -> Any:
    """Validate a feature batch: 2-D, finite, at least two rows and one column.

    ``finite=False`` leaves the values to :func:`centred_kernel` (its ``X``), which reads
    that check back with its own.
    """
    return check_samples(X, name, min_samples=2, finite=finite)


def centre_batch(X: Any, xp: Any) -> Any:
    """``X`` minus the mean of its rows, on which the kernel and its gradient are computed.

    Both are translation invariant, and the Gram trick's cancellation error, which grows
    with ‖x‖², shrinks to the batch's spread.
    """
    # Unchecked values (see check_batch) make the result non-finite, which centred_kernel reports.
    with np.errstate(over="ignore", invalid="ignore"):
        return X - xp.mean(X, axis=0)[None, :]


def centred_kernel(
    Xc: Any,
    sigma: float,
    xp: Any,
    *,
    power: float = 1.0,
    allow_identity: bool = False,
    X: Any = None,
    checked: bool = False,
) -> Any:
    """exp(−power·‖x_i − x_j‖²/σ²) for a centred batch, with an exactly unit diagonal.

    This is :func:`gaussian_affinity` of Y = Xc·√(2·power/σ²): one product Y Yᵀ (symmetric,
    or in strips of its upper triangle), the norms from its own diagonal, so that the
    diagonal exponent is exactly zero, the exponent clipped at 0, and the entries below
    twice the smallest normal number set to exactly 0.

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
    K, half_norms = gaussian_affinity_deferred(Y)
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
    if power == 1.0 or int(xp.count_nonzero(centred_kernel(Xc, sigma, xp))) == n:
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


def centred_backward(W: Any, Xc: Any, sigma: float, xp: Any, coef: float = 1.0) -> Any:
    """coef·(4/σ²)(W Xc − diag(W 1) Xc) for symmetric W (any diagonal); overwrites W's diagonal.

    W Xc − diag(W 1) Xc = (W − diag(W 1)) Xc: the row sums go onto W's diagonal, which
    drops out of the result anyway, and one product remains. It is taken as (Xcᵀ W')ᵀ
    (W' is symmetric): with the n×n operand on the right, MKL multiplies a thin Xc 1.1 to
    3.7 times faster (d = 128 down to 2, n = 500), and other libraries as fast. The result
    is that product's transpose, a view.
    """
    W = subtract_diagonal(W, xp.sum(W, axis=1), xp=xp)
    grad = xp.linalg.matrix_transpose(matmul(xp.linalg.matrix_transpose(Xc), W, xp=xp))
    grad *= coef * 4.0 / (sigma * sigma)
    return grad


def gaussian_kernel(X: Any, sigma: float = DEFAULT_SIGMA) -> Any:
    r"""Gaussian L-ensemble kernel of a feature batch.

    .. math::

        L_{ij} = \exp\bigl(-\|x_i - x_j\|^2 / \sigma^2\bigr).

    This is Eq. 4 of Yu et al.: the width enters as :math:`\sigma^2`, without the factor 2
    of the usual RBF convention. The diagonal is exactly 1.

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
    Squared distances are computed as :math:`\|x_i\|^2 + \|x_j\|^2 - 2x_i^\top x_j` on the
    centred batch (one symmetric matrix product, :math:`O(n^2d)`, or on PyTorch's CPU
    backend the strips of its upper triangle) and clipped at 0. Their absolute error is
    about :math:`\varepsilon\|x\|^2`, so distances far below
    :math:`\sqrt{\varepsilon}\,\|x - \bar x\|` (about 3e-4 relative in float32) are not
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
    sigma = check_sigma(sigma)
    X = check_batch(X, finite=False)
    xp = get_namespace(X)
    return centred_kernel(centre_batch(X, xp), sigma, xp, X=X)


def kernel_backward(X: Any, G: Any, sigma: float = DEFAULT_SIGMA, *, L: Any = None) -> Any:
    r"""Back-propagate a gradient with respect to the kernel matrix to the feature batch.

    Given :math:`G = \partial J/\partial L` it returns :math:`\partial J/\partial X` in
    :math:`O(n^2d)`: the :math:`n\times n\times d` tensor :math:`\partial L/\partial X` is
    never formed.

    Parameters
    ----------
    X : array of shape (n, d)
        The feature batch the kernel was built from.
    G : array of shape (n, n)
        :math:`\partial J/\partial L`, the gradient of a scalar J with respect to the
        :math:`n^2` entries of L (or any direction in the space of symmetric matrices, such
        as a DPP sub-gradient). Only its symmetric part matters, because L is symmetric.
    sigma : float, default=0.2
        Kernel width σ > 0 used to build L.
    L : array of shape (n, n), optional
        ``gaussian_kernel(X, sigma)`` when already at hand; recomputed otherwise.

    Returns
    -------
    grad : array of shape (n, d)
        :math:`\partial J/\partial X = \frac{4}{\sigma^2}\bigl(WX - \operatorname{diag}(W\mathbf 1)X\bigr)`
        with :math:`W = \operatorname{sym}(G)\circ L`, in the namespace, device and dtype
        of ``X``.

    Raises
    ------
    ValueError
        If ``X``, ``G`` or ``L`` have the wrong shape or non-finite values, or ``sigma`` is
        not positive or so small for ``X`` that the kernel underflows to the identity.

    Examples
    --------
    The gradient of :math:`J(L) = \sum_{ij} L_{ij}` pulls the two points together:

    >>> import numpy as np
    >>> from spectral_ml.dpp import kernel_backward
    >>> X = np.array([[0.0], [0.2]])
    >>> g = kernel_backward(X, np.ones((2, 2)), sigma=0.2)
    >>> bool(g[0, 0] > 0 and g[1, 0] < 0)
    True
    """
    sigma = check_sigma(sigma)
    X = check_batch(X)
    xp = get_namespace(X)
    n = X.shape[0]
    G = as_float_array(G, "G", ndim=2)
    if tuple(G.shape) != (n, n):
        raise ValueError(f"G must have shape ({n}, {n}) to match X, got {tuple(G.shape)}.")
    G = cast(G, X.dtype, xp=xp)
    Xc = centre_batch(X, xp)
    if L is None:
        L = centred_kernel(Xc, sigma, xp)
    else:
        L = as_float_array(L, "L", ndim=2)
        if tuple(L.shape) != (n, n):
            raise ValueError(f"L must have shape ({n}, {n}) to match X, got {tuple(L.shape)}.")
        check_finite(L, "L", xp=xp)
        L = cast(L, X.dtype, xp=xp)
    W = (G + xp.linalg.matrix_transpose(G)) / 2 * L
    return centred_backward(W, Xc, sigma, xp)


# The names these helpers had while they were private, for the modules that still import
# them so (spectral_ml/dpp/diversity.py, tests/dpp/test_diversity.py); remove once they
# import the names above.
