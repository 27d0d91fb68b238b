"""Training pairs and their sufficient statistics.

GMML and AML see the pairs only through two d×d scatter matrices,

    A = Σ_{similar} x̂ x̂ᵀ,      B = Σ_{dissimilar} x̂ x̂ᵀ,      x̂ = x − x',

so the pairs are reduced once, in O(N d²), and every solver iteration afterwards costs
O(d³) whatever the number of pairs N. The reduction is a matrix product over stacked
differences, done in chunks so that memory stays bounded for any N; for NumPy samples
indexed by pairs it is a sparse graph-Laplacian product instead
(:func:`difference_scatter`), whose cost does not grow with N d².
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from .._backend import device_of, get_namespace, is_numpy_namespace, take_rows, to_numpy
from .._validation import as_float_array, check_labels, encode_labels

__all__ = [
    "SingularStatisticsWarning",
    "default_n_pairs",
    "make_pairs",
    "pair_statistics",
    "check_pair_labels",
    "difference_scatter",
    "encode_class_labels",
]

# Elements of one chunk of stacked differences (8 MiB in float64): large enough for
# BLAS to run at full speed, small enough to be harmless next to the data itself.
_CHUNK_ELEMENTS = 1 << 20


class SingularStatisticsWarning(UserWarning):
    """The pairs leave a scatter matrix singular and only the regularizer makes it SPD.

    Emitted when the similar or dissimilar differences span fewer than d directions, for
    instance with constant features, features that are combinations of others, or fewer
    pairs than features; with ``reg=0`` the same finding is a ``ValueError`` instead. A fit
    emits it at most once, for A and B together. The message gives their ranks and names
    the features at fault (by ``feature_names_in_`` when the estimator has it, else by
    index): those constant over the pairs, and those with large weight in the other null
    directions. It suggests dropping such features (e.g. with
    ``sklearn.feature_selection.VarianceThreshold``) or a larger ``reg``.
    """


def default_n_pairs(n_classes: int) -> int:
    """Number of random pairs drawn by default: 1000·c(c−1) (Zadeh et al. 2016).

    Parameters
    ----------
    n_classes : int
        Number of classes c.

    Returns
    -------
    int
    """
    return 1000 * n_classes * (n_classes - 1)


def encode_class_labels(y: Any, *, name: str = "y") -> tuple[Any, Any, Any]:
    """Validate class labels for pair generation; return (codes, counts, classes)."""
    y = check_labels(y, name)
    if y.shape[0] == 0:
        raise ValueError(f"{name} is empty.")
    classes, codes = encode_labels(y)
    counts = np.bincount(codes, minlength=classes.shape[0])
    check_class_counts(classes, counts, name=name)
    return codes, counts.astype(np.int64), classes


def check_class_counts(classes: Any, counts: Any, *, name: str = "y") -> None:
    """Raise ``ValueError`` naming ``name`` unless there are 2 classes, each with 2 samples or more."""
    if classes.shape[0] < 2:
        raise ValueError(
            f"{name} must contain at least 2 classes to form dissimilar pairs, "
            f"got 1 class ({classes[0]!r}) in {int(counts.sum())} sample(s)."
        )
    lonely = classes[counts < 2]
    if lonely.shape[0]:
        shown = ", ".join(repr(c) for c in lonely[:5].tolist())
        more = "" if lonely.shape[0] <= 5 else f" and {lonely.shape[0] - 5} more"
        raise ValueError(
            f"{name}: every class needs at least 2 samples to form similar pairs; "
            f"class(es) {shown}{more} have only one sample."
        )


def make_pairs(y: Any, n_pairs: Any = None, *, random_state: Any = None) -> tuple[Any, Any]:
    """Draw random similar and dissimilar pairs from class labels.

    Half of the pairs (rounded down) are similar, drawn uniformly among the pairs of
    distinct samples sharing a class; the others are dissimilar, drawn uniformly among
    the pairs of samples from different classes. Pairs are drawn with replacement, as in
    the protocol of Zadeh et al. (2016) that the AML paper follows (Sec. 3.2).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (any sortable type). At least two classes, each with at least two
        samples.
    n_pairs : int, optional
        Total number of pairs, at least 2. Default: 1000·c(c−1) for c classes.
    random_state : int, RandomState instance or None, default=None
        Seed or generator, for reproducible pairs.

    Returns
    -------
    indices : ndarray of shape (n_pairs, 2), dtype int64
        Row indices into ``X`` of the two members of each pair.
    labels : ndarray of shape (n_pairs,), dtype int64
        +1 for similar pairs, -1 for dissimilar pairs, in shuffled order.

    Raises
    ------
    ValueError
        If ``y`` has fewer than two classes or a class with a single sample, or
        ``n_pairs`` is not an integer of at least 2.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.metric import make_pairs
    >>> idx, lab = make_pairs(np.array([0, 0, 1, 1, 2, 2]), n_pairs=10, random_state=0)
    >>> idx.shape, int((lab == 1).sum()), int((lab == -1).sum())
    ((10, 2), 5, 5)
    """
    codes, counts, _ = encode_class_labels(y)
    return pairs_of_codes(codes, counts, n_pairs, random_state=random_state)


def pairs_of_codes(codes: Any, counts: Any, n_pairs: Any = None, *, random_state: Any = None) -> tuple[Any, Any]:
    """:func:`make_pairs` on labels already encoded as ``codes`` in [0, c), with class sizes ``counts``.

    For estimators that encode their labels once per fit; every class needs at least two
    samples (as :func:`make_pairs` checks).
    """
    n_classes = counts.shape[0]
    if n_pairs is None:
        n_pairs = default_n_pairs(n_classes)
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, (Integral, np.integer)) or n_pairs < 2:
        raise ValueError(f"n_pairs must be an integer of at least 2, got {n_pairs!r}.")
    n_pairs = int(n_pairs)
    rng = check_random_state(random_state)
    n = codes.shape[0]

    order = np.argsort(codes, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))

    n_sim = n_pairs // 2
    n_dis = n_pairs - n_sim

    # Similar pairs, uniform over unordered pairs of distinct same-class samples: pick the
    # class with probability ∝ n_k(n_k − 1), then two distinct positions inside it.
    w = counts * (counts - 1.0)
    k = rng.choice(n_classes, size=n_sim, p=w / w.sum())
    nk = counts[k]
    pos_a = np.minimum((rng.random_sample(n_sim) * nk).astype(np.int64), nk - 1)
    pos_b = np.minimum((rng.random_sample(n_sim) * (nk - 1)).astype(np.int64), nk - 2)
    pos_b += pos_b >= pos_a
    sim = np.stack([order[starts[k] + pos_a], order[starts[k] + pos_b]], axis=1)

    # Dissimilar pairs, uniform over pairs from different classes: pick the first sample
    # with probability ∝ (n − n_{y_i}), then one position among the other classes in the
    # class-sorted order (the positions outside the block of its own class).
    p_first = (n - counts[codes]).astype(float)
    a = rng.choice(n, size=n_dis, p=p_first / p_first.sum())
    ka = codes[a]
    n_other = n - counts[ka]
    r = np.minimum((rng.random_sample(n_dis) * n_other).astype(np.int64), n_other - 1)
    r += counts[ka] * (r >= starts[ka])
    dis = np.stack([a, order[r]], axis=1)

    indices = np.concatenate([sim, dis], axis=0).astype(np.int64)
    labels = np.concatenate([np.ones(n_sim, np.int64), -np.ones(n_dis, np.int64)])
    perm = rng.permutation(n_pairs)
    return indices[perm], labels[perm]


def check_pair_labels(y: Any, n_pairs: int, *, name: str = "y") -> np.ndarray:
    """Validate pair labels: a 1-D array of +1 (similar) and -1 (dissimilar).

    Parameters
    ----------
    y : array-like of shape (n_pairs,)
        Pair labels, any namespace.
    n_pairs : int
        Expected length.
    name : str, default="y"
        Argument name used in error messages.

    Returns
    -------
    ndarray of shape (n_pairs,), dtype int64
        The labels as a NumPy array of ±1.

    Raises
    ------
    ValueError
        If the length is wrong, a label is not ±1, or one of the two kinds is missing.
    """
    y = check_labels(y, name)
    if y.shape[0] != n_pairs:
        raise ValueError(f"{name} must be a 1-D array with one label per pair ({n_pairs}), got shape {y.shape}.")
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold the numbers +1 and -1, got dtype {y.dtype}.")
    if y.dtype.kind == "b":
        raise ValueError(f"{name} must hold +1 (similar) and -1 (dissimilar), got booleans.")
    if not np.all((y == 1) | (y == -1)):
        bad = np.unique(y[(y != 1) & (y != -1)])[:5]
        raise ValueError(f"{name} must hold +1 (similar) and -1 (dissimilar) only, found {bad.tolist()}.")
    if not np.any(y == 1) or not np.any(y == -1):
        kind = "similar (+1)" if not np.any(y == 1) else "dissimilar (-1)"
        raise ValueError(f"{name} has no {kind} pair; both kinds are needed.")
    return y.astype(np.int64)


def pair_statistics(X: Any, y: Any, indices: Any = None, *, chunk_size: Any = None) -> tuple[Any, Any]:
    """Scatter matrices A = Σ_{y=+1} x̂x̂ᵀ and B = Σ_{y=−1} x̂x̂ᵀ of the pair differences.

    The sums are matrix products over stacked differences, computed chunk by chunk, so
    memory stays at ``chunk_size × d`` whatever the number of pairs, and the N×d matrix
    of differences is never formed when pairs are given as indices. For NumPy samples
    with indices, the sum is instead the graph-Laplacian product Xᵀ(diag(W1) − W)X with
    the sparse pair-count matrix W, which costs O(N d + n d²) rather than O(N d²).

    Parameters
    ----------
    X : array of shape (n_pairs, 2, d) or (n_samples, d)
        Explicit pairs, or samples indexed by ``indices``. Any array-API namespace; the
        statistics are accumulated in float64 (sums of many outer products lose digits
        in float32).
    y : array-like of shape (n_pairs,)
        Pair labels, +1 similar and -1 dissimilar.
    indices : array-like of shape (n_pairs, 2), optional
        Integer row indices into ``X`` (as returned by :func:`make_pairs`); when given,
        ``X`` holds samples.
    chunk_size : int, optional
        Pairs per chunk. Default: about 2²⁰ / d, i.e. 8 MiB of float64 differences.
        Unused on the NumPy index path, which needs no chunks.

    Returns
    -------
    A, B : arrays of shape (d, d)
        Symmetric positive semi-definite scatter matrices, float64, in the namespace and
        on the device of ``X``.

    Raises
    ------
    ValueError
        On shape mismatches, NaN or infinity in ``X``, out-of-range indices, or labels
        other than ±1.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.metric import pair_statistics
    >>> pairs = np.array([[[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 2.0]]])
    >>> A, B = pair_statistics(pairs, np.array([1, -1]))
    >>> A
    array([[1., 0.],
           [0., 0.]])
    >>> B
    array([[0., 0.],
           [0., 4.]])
    """
    xp = get_namespace(X)
    device = device_of(X)
    if indices is None:
        X = as_float_array(X, "pairs", ndim=3)
        if X.shape[1] != 2:
            raise ValueError(f"pairs must have shape (n_pairs, 2, d), got {tuple(X.shape)}.")
        n_pairs, d = X.shape[0], X.shape[2]
    else:
        X = as_float_array(X, "X", ndim=2)
        idx = np.asarray(to_numpy(indices))
        if idx.ndim != 2 or idx.shape[1] != 2:
            raise ValueError(f"indices must have shape (n_pairs, 2), got {idx.shape}.")
        if idx.dtype.kind not in "iu":
            raise ValueError(f"indices must be integers, got dtype {idx.dtype}.")
        if idx.size and (idx.min() < 0 or idx.max() >= X.shape[0]):
            raise ValueError(f"indices must lie in [0, {X.shape[0]}), the rows of X.")
        n_pairs, d = idx.shape[0], X.shape[1]
    if n_pairs == 0:
        raise ValueError("pairs is empty: at least one similar and one dissimilar pair are needed.")
    labels = check_pair_labels(y, n_pairs)
    dtype = xp.float64
    if X.dtype != dtype:
        X = xp.astype(X, dtype)
    if chunk_size is None:
        chunk_size = max(1, _CHUNK_ELEMENTS // max(d, 1))
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, (Integral, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}.")
    chunk_size = int(chunk_size)

    out = []
    for sign in (1, -1):
        sel = np.flatnonzero(labels == sign)
        if indices is not None:
            out.append(difference_scatter(X, idx[sel, 0], idx[sel, 1], chunk_size=chunk_size))
            continue
        S = xp.zeros((d, d), dtype=dtype, device=device)
        for start in range(0, sel.shape[0], chunk_size):
            P = take_rows(X, sel[start : start + chunk_size])
            V = P[:, 0, :] - P[:, 1, :]
            S = S + xp.linalg.matrix_transpose(V) @ V
        out.append((S + xp.linalg.matrix_transpose(S)) / 2)
    return out[0], out[1]


def difference_scatter(X: Any, first: Any, second: Any, *, chunk_size: int) -> Any:
    """Σ_p (x_{first_p} − x_{second_p})(x_{first_p} − x_{second_p})ᵀ over rows of ``X``, symmetrized.

    Parameters
    ----------
    X : array of shape (n, d)
        Floating samples, any namespace; the result has X's dtype, namespace and device.
    first, second : ndarray of shape (N,)
        Integer row indices (NumPy) of the two members of each difference.
    chunk_size : int
        Differences stacked per matrix product on the array-API path, which bounds its
        memory at ``chunk_size × d``; the NumPy path forms no differences.

    Returns
    -------
    array of shape (d, d)
        The symmetric positive semi-definite scatter matrix.
    """
    xp = get_namespace(X)
    if is_numpy_namespace(xp):
        return _laplacian_scatter(X, first, second)
    S = xp.zeros((X.shape[1], X.shape[1]), dtype=X.dtype, device=device_of(X))
    for start in range(0, first.shape[0], chunk_size):
        stop = min(start + chunk_size, first.shape[0])
        V = take_rows(X, first[start:stop]) - take_rows(X, second[start:stop])
        S = S + xp.linalg.matrix_transpose(V) @ V
    return (S + xp.linalg.matrix_transpose(S)) / 2


def _laplacian_scatter(X, a, b):
    """:func:`difference_scatter` of NumPy ``X`` as the graph-Laplacian product Xᵀ L X.

    With W the symmetric pair-count matrix, the sum equals Xᵀ(diag(W1) − W)X. W is
    sparse, so this costs O(N d + n d²) instead of the O(N d²) of stacking the N
    differences: the number of pairs enters only through a sparse-dense product.
    Centring X first changes no difference and keeps the two terms of the subtraction
    small, avoiding cancellation when the features have a large offset. SciPy's sparse
    matrices hold NumPy arrays only, so other libraries stack the differences.
    """
    import scipy.sparse

    n = X.shape[0]
    Xc = X - X.mean(axis=0)
    ones = np.ones(a.shape[0], dtype=X.dtype)
    C = scipy.sparse.csr_array((ones, (a, b)), shape=(n, n))
    deg = (np.bincount(a, minlength=n) + np.bincount(b, minlength=n)).astype(X.dtype)
    WX = C @ Xc + C.T @ Xc
    S = Xc.T @ (deg[:, None] * Xc) - Xc.T @ WX
    return (S + S.T) / 2


# The name encode_class_labels had while it was private, for the modules that still import
# it so (spectral_ml/metric/_aml_cv.py, _class_statistics.py); remove once they import the
# name above.
