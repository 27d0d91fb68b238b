"""Exact scatter matrices over all pairs of labelled samples, from class moments.

With the constraint set "every pair of distinct samples of one class is similar, every
pair of samples of different classes is dissimilar", the scatter matrices

    A = Σ_{similar {i,j}} (x_i − x_j)(x_i − x_j)ᵀ,   B = Σ_{dissimilar {i,j}} (x_i − x_j)(x_i − x_j)ᵀ

(sums over unordered pairs) depend on the samples only through the count n_c, the mean
m_c and the centred scatter W_c = Σ_{i∈c} (x_i − m_c)(x_i − m_c)ᵀ of each class c:

    A = Σ_c n_c W_c,
    B = Σ_c (N − n_c) W_c + N Σ_c n_c (m_c − m)(m_c − m)ᵀ,   m = Σ_c n_c m_c / N.

Every term is positive semi-definite, so nothing cancels. The moments are accumulated in
one pass over row chunks, in float64: each chunk is split by class, every piece is centred
at its own mean, and pieces are merged by the parallel-variance update

    W = W_a + W_b + (n_a n_b / (n_a + n_b)) (m_b − m_a)(m_b − m_a)ᵀ,

which never forms raw second moments Σ x xᵀ: those would cancel catastrophically when the
features carry an offset large against their spread. Means are kept relative to one row of
their class (a pivot), so that the offset does not even enter their rounding errors. Only the weighted sums Σ_c n_c W_c and
Σ_c (N − n_c) W_c are kept (the final counts are known from the labels beforehand), so
memory is O(d² + c·d) for c classes, whatever N.

The same partial results merge across the blocks of a Dask array, so the statistics of a
Dask array are one tree reduction over its row blocks (:func:`dask_class_moments`), and
statistics of several row subsets (the training parts of cross-validation folds and the whole
set) come out of the same single pass.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np

from .._backend import all_finite, device_of, from_numpy, get_namespace, is_dask_array, to_numpy
from .._dask import check_dask_rows, label_counts, map_row_blocks, reduce_row_blocks
from .._validation import check_labels
from ._pairs import check_class_counts, check_pair_labels, default_n_pairs, encode_class_labels

__all__ = ["all_pair_statistics"]

# Elements of one float64 chunk of rows (8 MiB), as for the sampled pairs' statistics.
_CHUNK_ELEMENTS = 1 << 20


# ---------------------------------------------------------------------------------------
# Labels and row subsets
# ---------------------------------------------------------------------------------------
@dataclass
class _Plan:
    """What one pass accumulates: the class counts of every row subset and its groups.

    Rows are partitioned into groups (one group when there is a single subset); subset ``s``
    is the union of the groups ``g`` with ``member[s, g]``. ``counts[s, c]`` is the final
    number of rows of class ``c`` in subset ``s``: the weights n_c and N − n_c of the scatter
    sums are known before the pass.
    """

    member: np.ndarray  # (n_subsets, n_groups) bool
    counts: np.ndarray  # (n_subsets, n_classes) int64


def _single_plan(counts):
    return _Plan(member=np.ones((1, 1), dtype=bool), counts=np.asarray(counts, dtype=np.int64)[None, :])


def fold_plan(codes: Any, n_classes: int, train_parts: Any) -> tuple[Any, Any]:
    """Plan for the training parts of cross-validation folds plus the whole set.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,)
        Class codes in ``[0, n_classes)``.
    n_classes : int
        Number of classes.
    train_parts : sequence of ndarray
        Row indices of each training part (any subsets, overlapping or not).

    Returns
    -------
    groups : ndarray of shape (n_samples,), int64
        Group of every row: rows with the same membership in the training parts.
    plan : _Plan
        Subsets ``0 … len(train_parts) − 1`` are the training parts, the last one all rows.
    """
    k = len(train_parts)
    # Membership of every row as a bit pattern (bit j: in training part j); distinct
    # patterns are the groups.
    pattern = np.zeros(codes.shape[0], dtype=object if k > 62 else np.int64)
    for j, rows in enumerate(train_parts):
        pattern[np.asarray(rows, dtype=np.int64)] += 1 << j
    patterns, groups = np.unique(pattern, return_inverse=True)
    member = np.array([[(int(p) >> j) & 1 for p in patterns] for j in range(k)] + [[1] * len(patterns)], dtype=bool)
    groups = groups.reshape(-1).astype(np.int64)
    per_group = np.bincount(groups * n_classes + codes, minlength=len(patterns) * n_classes)
    counts = member.astype(np.int64) @ per_group.reshape(len(patterns), n_classes)
    return groups, _Plan(member=member, counts=counts)


# ---------------------------------------------------------------------------------------
# Moments of one subset: accumulation, merging, final statistics
# ---------------------------------------------------------------------------------------
class _Moments:
    """Running class counts and means, and the weighted scatter sums of one row subset.

    ``A = Σ_c n_c W_c`` and ``Bw = Σ_c (N − n_c) W_c`` with the subset's *final* counts n_c
    and size N as weights; ``W_c`` grows as rows of class c arrive. The mean of class c is
    kept as ``pivot[c] + offset[c]``, the pivot being one row of the class: differences of
    rows and pivots are exact or nearly (they are close), so an offset common to the
    features never enters a rounding error; only the spread of the class does.
    """

    def __init__(self, final_counts, d, xp, device):
        self.final = np.asarray(final_counts, dtype=np.int64)
        self.total = int(self.final.sum())
        self.count = np.zeros(self.final.shape[0], dtype=np.int64)
        self.pivot = [None] * self.final.shape[0]
        self.offset = [None] * self.final.shape[0]
        self.A = xp.zeros((d, d), dtype=xp.float64, device=device)
        self.Bw = xp.zeros((d, d), dtype=xp.float64, device=device)
        self.xp = xp

    def _add_scatter(self, c, S):
        """Add a scatter S of class c's rows with the weights n_c and N − n_c."""
        self.A = self.A + float(self.final[c]) * S
        self.Bw = self.Bw + float(self.total - self.final[c]) * S

    def absorb(self, c, n, pivot, offset, scatter=None):
        """Merge n rows of class c, with mean pivot + offset (and centred scatter), into the moments."""
        if n == 0:
            return
        if scatter is not None:
            self._add_scatter(c, scatter)
        if self.count[c] == 0:
            self.pivot[c], self.offset[c] = pivot, offset
        else:
            n_old = int(self.count[c])
            delta = (pivot - self.pivot[c]) + (offset - self.offset[c])
            self._add_scatter(c, (n_old * n / (n_old + n)) * (delta[:, None] * delta[None, :]))
            self.offset[c] = self.offset[c] + (n / (n_old + n)) * delta
        self.count[c] += n

    def merge(self, other):
        """Add the moments of disjoint rows of the same subset (``other`` is unchanged)."""
        self.A = self.A + other.A
        self.Bw = self.Bw + other.Bw
        for c in np.flatnonzero(other.count):
            self.absorb(int(c), int(other.count[c]), other.pivot[c], other.offset[c])
        return self

    def statistics(self):
        """Scatter sums over all unordered similar and dissimilar pairs, and their numbers."""
        xp = self.xp
        if not np.array_equal(self.count, self.final):
            raise ValueError(
                "X and y disagree: the rows seen per class differ from the labels' counts "
                "(are the blocks of y aligned with the rows of X?)."
            )
        n = self.count.astype(np.float64)
        base = self.pivot[0]
        means = xp.stack([(p - base) + r for p, r in zip(self.pivot, self.offset, strict=True)], axis=0)
        weights = from_numpy(n, xp, device_of(means))
        centre = xp.sum(weights[:, None] * means, axis=0) / self.total
        dev = means - centre[None, :]
        between = xp.linalg.matrix_transpose(dev) @ (weights[:, None] * dev)
        A = self.A
        B = self.Bw + float(self.total) * between
        A = (A + xp.linalg.matrix_transpose(A)) / 2
        B = (B + xp.linalg.matrix_transpose(B)) / 2
        counts = [int(v) for v in self.count]
        n_similar = sum(v * (v - 1) // 2 for v in counts)
        n_dissimilar = (self.total**2 - sum(v * v for v in counts)) // 2
        return A, B, n_similar, n_dissimilar


def _block_moments(X, codes, groups, plan, *, name="X", first_row=0):
    """Moments of every subset of ``plan`` over one block of rows.

    The block is cast to float64, sorted by (class, group), and every piece is centred at
    its own mean before its scatter is formed.
    """
    xp = get_namespace(X)
    device = device_of(X)
    if not all_finite(X, xp=xp):
        raise ValueError(f"{name} contains NaN or infinity (in rows {first_row} to {first_row + X.shape[0] - 1}).")
    if X.dtype != xp.float64:
        X = xp.astype(X, xp.float64)
    d = X.shape[1]
    moments = [_Moments(plan.counts[s], d, xp, device) for s in range(plan.counts.shape[0])]
    if X.shape[0] == 0:
        return moments
    n_groups = plan.member.shape[1]
    key = codes.astype(np.int64) * n_groups + (0 if groups is None else groups.astype(np.int64))
    order = np.argsort(key, kind="stable")
    key = key[order]
    if not np.array_equal(order, np.arange(order.shape[0])):
        X = xp.take(X, from_numpy(order, xp, device), axis=0)
    cuts = np.concatenate(([0], np.flatnonzero(np.diff(key)) + 1, [key.shape[0]]))
    for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
        c, g = divmod(int(key[lo]), n_groups)
        # A copy: a view would keep the whole block alive in the moments.
        pivot = xp.asarray(X[lo, :], copy=True)
        dev = X[lo:hi, :] - pivot[None, :]
        offset = xp.mean(dev, axis=0)
        dev = dev - offset[None, :]
        scatter = xp.linalg.matrix_transpose(dev) @ dev
        for s in np.flatnonzero(plan.member[:, g]):
            moments[s].absorb(c, hi - lo, pivot, offset, scatter)
    return moments


def _merge_all(parts):
    """Merge lists of per-subset moments of disjoint row blocks (the first list is updated)."""
    first = parts[0]
    for other in parts[1:]:
        for mine, theirs in zip(first, other, strict=True):
            mine.merge(theirs)
    return first


def _rows_per_chunk(d, chunk_size):
    if chunk_size is None:
        return max(1, _CHUNK_ELEMENTS // max(d, 1))
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (Integral, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}.")
    return int(chunk_size)


def class_moments(X: Any, codes: Any, plan: Any, *, groups: Any = None, chunk_size: Any = None, name: str = "X") -> Any:
    """One streaming pass over the rows of an in-memory array (any namespace).

    Returns the list of :class:`_Moments`, one per subset of ``plan``.
    """
    rows = _rows_per_chunk(X.shape[1], chunk_size)
    parts = []
    for start in range(0, X.shape[0], rows):
        stop = min(start + rows, X.shape[0])
        g = None if groups is None else groups[start:stop]
        parts.append(_block_moments(X[start:stop, :], codes[start:stop], g, plan, name=name, first_row=start))
        if len(parts) == 2:
            parts = [_merge_all(parts)]
    return parts[0]


# ---------------------------------------------------------------------------------------
# Dask: one tree reduction over row blocks
# ---------------------------------------------------------------------------------------
def _dask_block_codes(labels, classes):
    """Class codes of a block of labels (every label is one of ``classes``)."""
    labels = np.asarray(labels)
    codes = np.searchsorted(classes, labels)
    codes = np.minimum(codes, classes.shape[0] - 1)
    if not np.array_equal(classes[codes], labels):
        raise ValueError("y holds a label that was not among its classes when the counts were taken.")
    return codes


def _dask_block_task(X, labels, codes, groups, first_row, *, classes, plan, name):
    if codes is None:
        codes = _dask_block_codes(labels, classes)
    return _block_moments(X, codes, groups, plan, name=name, first_row=first_row)


def _dask_merge_task(*parts):
    return _merge_all(list(parts))


def dask_class_moments(
    X: Any,
    plan: Any,
    *,
    codes: Any = None,
    labels: Any = None,
    classes: Any = None,
    groups: Any = None,
    name: str = "X",
    split_every: int = 8,
) -> Any:
    """The moments of every subset of ``plan`` as one Dask reduction over X's row blocks.

    Every row block gives partial moments; partials are merged ``split_every`` at a time
    in a tree, so no block is ever concatenated with another and the graph runs on the
    active scheduler (a ``dask.distributed`` Client when one is set as default).

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, d)
        Validated by :func:`check_dask_rows`.
    plan : _Plan
    codes : ndarray, optional
        Class codes of the rows, in memory. Otherwise ``labels`` (a Dask array with the row
        chunks of X) and the sorted ``classes`` give the codes block by block.
    groups : ndarray, optional
        Group of every row (for several subsets), in memory.
    """
    task = functools.partial(_dask_block_task, classes=classes, plan=plan, name=name)
    return reduce_row_blocks(
        X,
        task,
        _dask_merge_task,
        labels=None if codes is not None else labels,
        row_arrays=(codes, groups),
        split_every=split_every,
    )


def _pair_block_scatter(P, labels, first_pair):
    """(A, B) of one block of explicit pairs, in float64."""
    P = np.asarray(to_numpy(P))
    if not np.isfinite(P).all():
        raise ValueError(f"pairs contains NaN or infinity (in pairs {first_pair} to {first_pair + P.shape[0] - 1}).")
    diff = P[:, 0, :].astype(np.float64) - P[:, 1, :]
    similar, dissimilar = diff[labels == 1], diff[labels == -1]
    return similar.T @ similar, dissimilar.T @ dissimilar


def _pair_block_task(P, _no_labels, labels, first_pair):
    return _pair_block_scatter(P, labels, first_pair)


def _sum_scatters(*parts):
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


def dask_pair_statistics(pairs: Any, y: Any, *, split_every: int = 8) -> tuple[Any, Any]:
    """A and B of explicit pairs held in a Dask array, as one reduction over its blocks.

    Parameters
    ----------
    pairs : dask.array.Array of shape (n_pairs, 2, d)
        Chunked along the pairs (other chunks are joined per block of pairs).
    y : array-like of shape (n_pairs,)
        +1 (similar) and -1 (dissimilar); a Dask ``y`` is computed (one number per pair).

    Returns
    -------
    A, B : ndarray of shape (d, d)
        float64 sums of x̂x̂ᵀ over the similar and the dissimilar pairs.
    """
    if pairs.ndim != 3 or pairs.shape[1] != 2:
        raise ValueError(f"pairs must have shape (n_pairs, 2, n_features), got {pairs.shape}.")
    if any(np.isnan(c) for c in pairs.chunks[0]):
        raise ValueError("pairs has chunks of unknown size; call pairs.compute_chunk_sizes() first.")
    if pairs.dtype.kind not in "biuf":
        raise ValueError(f"pairs must be numeric, got dtype {pairs.dtype}.")
    pairs = pairs.rechunk({1: -1, 2: -1})
    labels = check_pair_labels(y.compute() if is_dask_array(y) else y, pairs.shape[0])
    A, B = reduce_row_blocks(pairs, _pair_block_task, _sum_scatters, row_arrays=(labels,), split_every=split_every)
    return (A + A.T) / 2, (B + B.T) / 2


# ---------------------------------------------------------------------------------------
# Public entry point and the scaling used by the estimators
# ---------------------------------------------------------------------------------------
def class_labels(y: Any, n_samples: int, *, name: str = "y") -> tuple[Any, Any, Any]:
    """Classes, per-row codes (or ``None`` for Dask labels) and class counts of ``y``.

    A Dask ``y`` stays lazy: its classes and counts are one small reduction over the labels,
    and the codes are computed block by block during the pass over X.
    """
    if is_dask_array(y):
        if y.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array of labels, got shape {y.shape}.")
        classes, counts = label_counts(y, n_samples, name)
        check_class_counts(classes, counts, name=name)
        return classes, None, counts
    y = check_labels(y, name, n_samples=n_samples)
    codes, counts, classes = encode_class_labels(y, name=name)
    return classes, codes, counts


def all_pair_statistics(X: Any, y: Any, *, chunk_size: Any = None) -> Any:
    """Scatter matrices of the differences of *all* pairs of labelled samples.

    Every unordered pair {i, j} of distinct rows is similar when y_i = y_j and dissimilar
    otherwise, and

        A = Σ_{similar} (x_i − x_j)(x_i − x_j)ᵀ,    B = Σ_{dissimilar} (x_i − x_j)(x_i − x_j)ᵀ,

    computed exactly from the class moments in one pass over the rows (no pair is formed):
    O(N d²) time and O(d² + c·d) memory for N rows and c classes.

    Parameters
    ----------
    X : array of shape (n_samples, d)
        Samples: an in-memory array of any array-API namespace, read in chunks of rows, or
        a ``dask.array`` chunked by rows, reduced in one Dask reduction over its blocks.
        Moments are accumulated in float64 whatever the dtype of ``X``.
    y : array-like of shape (n_samples,)
        Class labels (NumPy-compatible or Dask): at least two classes, each with at least
        two samples.
    chunk_size : int, optional
        Rows per chunk of an in-memory ``X`` (default about 2²⁰ / d, 8 MiB of float64).
        A Dask array is read by its own blocks.

    Returns
    -------
    A, B : arrays of shape (d, d)
        float64 sums over the N_s similar and N_d dissimilar pairs (unordered), in the
        namespace of ``X`` (NumPy for a Dask array).
    n_similar, n_dissimilar : int
        N_s = Σ_c n_c(n_c − 1)/2 and N_d = (N² − Σ_c n_c²)/2.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, holds NaN or infinity (for a Dask array, raised when the
        block is computed), has chunks of unknown size, or if ``y`` has another length,
        fewer than two classes or a class with a single sample.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.metric import all_pair_statistics
    >>> X = np.array([[0.0], [1.0], [3.0], [4.0]])
    >>> A, B, n_sim, n_dis = all_pair_statistics(X, np.array([0, 0, 1, 1]))
    >>> float(A[0, 0]), float(B[0, 0]), n_sim, n_dis
    (2.0, 38.0, 2, 4)
    """
    moments = _labelled_moments(X, y, chunk_size=chunk_size)[0]
    return moments.statistics()


def _labelled_moments(X, y, *, chunk_size=None, train_parts=None):
    """Validate ``(X, y)`` and return the moments of the whole set (or of the training
    parts followed by the whole set when ``train_parts`` is given)."""
    dask_input = is_dask_array(X)
    if dask_input:
        X = check_dask_rows(X)
    elif X.ndim != 2:
        raise ValueError(f"X must be a 2-D array, got an array of shape {tuple(X.shape)}.")
    classes, codes, counts = class_labels(y, X.shape[0])
    groups = None
    if train_parts is None:
        plan = _single_plan(counts)
    else:
        if codes is None:
            raise ValueError("training parts need the labels in memory.")
        groups, plan = fold_plan(codes, classes.shape[0], train_parts)
        for j in range(len(train_parts)):
            check_class_counts(classes, plan.counts[j], name=f"the training part of fold {j}")
    if dask_input:
        return dask_class_moments(
            X, plan, codes=codes, labels=None if codes is not None else y, classes=classes, groups=groups
        )
    return class_moments(X, codes, plan, groups=groups, chunk_size=chunk_size)


def sampled_scale(A: Any, B: Any, n_similar: int, n_dissimilar: int, n_classes: int) -> tuple[Any, Any]:
    """All-pairs sums rescaled to the expected statistics of the default sampled pairs.

    The sampled protocol draws ``default_n_pairs(c) / 2`` similar and as many dissimilar
    pairs uniformly (with replacement); the expectation of its scatter matrices is the mean
    over all similar (dissimilar) pairs times that number. Rescaling the exact sums the same
    way keeps the relative weight of A and B, and so α, β, t and ``reg``, meaning the same
    with ``n_pairs="all"`` as with sampled pairs.
    """
    n = default_n_pairs(n_classes)
    n_sim, n_dis = n // 2, n - n // 2
    return A * (n_sim / n_similar), B * (n_dis / n_dissimilar)


# ---------------------------------------------------------------------------------------
# What the estimators call
# ---------------------------------------------------------------------------------------
def resolve_n_pairs(n_pairs: Any, X: Any) -> Any:
    """The pair set a fit uses: ``"all"``, a number of sampled pairs, or ``None`` (default).

    Sampled pairs need random rows: on a Dask array that reads every block, as all pairs
    do, and gives noisier statistics, so a Dask ``X`` is always fitted on all pairs. The
    default switches with a warning (pass ``n_pairs="all"`` to say it); an explicit number
    of pairs is refused rather than silently ignored.
    """
    if not is_dask_array(X) or n_pairs == "all":
        return n_pairs
    if n_pairs is None:
        import warnings

        warnings.warn(
            "X is a Dask array: the statistics are computed exactly over all pairs in one pass "
            "over its blocks instead of from sampled pairs (which would read every block too). "
            "Pass n_pairs='all' to silence this warning.",
            UserWarning,
            stacklevel=4,
        )
        return "all"
    raise ValueError(
        f"n_pairs={n_pairs!r} samples random pairs, which a Dask array X does not support "
        f"(random rows would read every block, as all pairs do): use n_pairs='all'."
    )


def all_pairs_fit_statistics(X: Any, y: Any, *, train_parts: Any = None) -> Any:
    """(A, B, number of pairs) over all pairs, scaled as the sampled pairs' statistics.

    ``X`` is an in-memory array (any namespace) or a Dask array; ``y`` labels. With
    ``train_parts``, returns one triple per training part and then one for all rows, all
    from a single pass. A and B are scaled by :func:`sampled_scale`; the number of pairs
    is N(N − 1)/2, every pair of distinct rows.
    """
    moments = _labelled_moments(X, y, train_parts=train_parts)
    out = []
    for m in moments:
        A, B, n_sim, n_dis = m.statistics()
        A, B = sampled_scale(A, B, n_sim, n_dis, m.final.shape[0])
        out.append((A, B, n_sim + n_dis))
    return out if train_parts is not None else out[0]


def _transform_block(X, L):
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity.")
    return np.asarray(X, dtype=np.float64) @ L.T


def dask_transform(X: Any, L: Any) -> Any:
    """``X Lᵀ`` of a Dask array as a lazy Dask array, block by block (rows keep their chunks).

    NaN or infinity in ``X`` raise ``ValueError`` naming X when the block is computed.
    """
    L = np.asarray(to_numpy(L), dtype=np.float64)
    return map_row_blocks(X, _transform_block, L, n_columns=L.shape[0])
