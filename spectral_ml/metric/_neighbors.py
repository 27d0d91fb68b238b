r"""Local pairs: target neighbours as similar pairs, impostors as dissimilar pairs.

The papers draw their pairs at random over each class. Local pairs instead join every
training sample :math:`x_i` to

* its ``k_target`` nearest samples of the same class (its *target neighbours*, as LMNN
  calls them): the similar pairs, and
* its ``k_impostor`` nearest samples of the other classes (its *impostors*): the
  dissimilar pairs,

nearest in the Euclidean distance, or in a learned metric :math:`M = L^\top L` (the
distance between rows of :math:`X L^\top`). The scatter matrices then become

.. math::

    A = \sum_i \sum_{j \in T_k(i)} (x_i - x_j)(x_i - x_j)^\top, \qquad
    B = \sum_i \sum_{l \in I_k(i)} (x_i - x_l)(x_i - x_l)^\top,

the *local* within-class and between-class scatters: :math:`A` measures the spread of a
class around each of its points, which is small for a class made of several tight
clusters even when the class as a whole is spread out, and :math:`B` the differences to
the nearest points of other classes, the only ones a k-NN vote can confuse. GMML and AML
see the pairs only through :math:`A` and :math:`B`, so everything else (closed form,
solvers, cross-validation) is unchanged.

The search is exact. For each class :math:`c`, its rows are compared, a block of rows at a
time, with the rows of :math:`c` (targets, the row itself left out) and with the rows of
the other classes (impostors): memory is :math:`O(\text{block} \times N)`, never
:math:`N \times N`. Ties are broken by row index, so that the pairs are the same on every
array library for the same data. A Dask array is searched block against block (every
pair of row blocks gives candidates, merged by distance then index: the same selection and
the same tie rule), and its scatter matrices are one reduction over the pairs of blocks
that hold the pairs' members. In memory, the scatters come from the index pairs as a
graph-Laplacian product (NumPy) or chunked differences, without forming an
``(n_pairs, 2, d)`` array.
"""

from __future__ import annotations

import functools
from numbers import Integral
from typing import Any

import numpy as np

from .._backend import device_of, from_numpy, get_namespace, is_dask_array, take_rows, to_namespace, to_numpy
from .._dask import block_pair_candidates, check_dask_rows, reduce_row_block_pairs
from .._validation import as_float_array, check_labels
from ..evaluation.retrieval import leading_indices
from ._class_statistics import sampled_scale
from ._pairs import difference_scatter, encode_class_labels

__all__ = ["neighbor_pairs", "neighbor_tables", "local_fit_statistics", "pair_scatters", "check_k"]

# Entries of one block of distances (32 MiB in float64): the search's memory, whatever N.
_BLOCK_ENTRIES = 1 << 22

# Differences stacked per product when a scatter is summed on a namespace other than NumPy.
_CHUNK_ELEMENTS = 1 << 20


def check_k(value: Any, name: str) -> int:
    """A number of neighbours: an integer of at least 1 (``ValueError`` naming ``name`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (Integral, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer of at least 1, got {value!r}.")
    return int(value)


def _features(X, components):
    """X in float64, or X Lᵀ: the features the neighbours are searched in."""
    xp = get_namespace(X)
    if X.dtype != xp.float64:
        X = xp.astype(X, xp.float64)
    if components is None:
        return X
    L = to_namespace(np.asarray(to_numpy(components), dtype=np.float64), xp, device_of(X))
    return X @ xp.linalg.matrix_transpose(L)


def _nearest(Q, D, k, *, own=None):
    """Columns (NumPy int64) of the ``k`` nearest rows of ``D`` for every row of ``Q``, ties by column.

    ``own[r]`` is the column of ``Q``'s row r in ``D`` (left out), or None. The squared
    distances are taken up to the per-row constant ‖q‖², which does not change the order.
    """
    xp = get_namespace(Q)
    dist = xp.sum(D**2, axis=1)[None, :] - 2.0 * (Q @ xp.linalg.matrix_transpose(D))
    if own is not None:
        cols = xp.arange(D.shape[0], device=device_of(D))
        mine = from_numpy(np.asarray(own, dtype=np.int64), xp, device_of(D))
        dist = xp.where(mine[:, None] == cols[None, :], xp.full_like(dist, xp.inf), dist)
    return np.asarray(to_numpy(leading_indices(dist, k)), dtype=np.int64)


def _class_neighbours(Z, codes, counts, k_target, k_impostor):
    """Target and impostor tables of in-memory features ``Z``, class by class.

    Returns ``(targets, impostors)``, NumPy int64 arrays of shape (n, k_target) and
    (n, k_impostor): row i lists the global indices of its min(k_target, n_c − 1) targets
    and min(k_impostor, N − n_c) impostors, nearest first, padded with −1.
    """
    n = Z.shape[0]
    targets = np.full((n, k_target), -1, dtype=np.int64)
    impostors = np.full((n, k_impostor), -1, dtype=np.int64)
    rows = max(1, _BLOCK_ENTRIES // max(n, 1))
    for c in range(counts.shape[0]):
        mine = np.flatnonzero(codes == c)
        others = np.flatnonzero(codes != c)
        kt = min(k_target, mine.shape[0] - 1)
        ki = min(k_impostor, others.shape[0])
        Zc, Zo = take_rows(Z, mine), take_rows(Z, others)
        for start in range(0, mine.shape[0], rows):
            stop = min(start + rows, mine.shape[0])
            Q = Zc[start:stop, :]
            t_cols = _nearest(Q, Zc, kt, own=np.arange(start, stop))
            i_cols = _nearest(Q, Zo, ki)
            targets[mine[start:stop], :kt] = mine[t_cols]
            impostors[mine[start:stop], :ki] = others[i_cols]
    return targets, impostors


# ---------------------------------------------------------------------------------------
# Dask: candidates of every (query block, database block), merged by (distance, index)
# ---------------------------------------------------------------------------------------
def _tile_candidates(Q, D, q_codes, d_codes, q0, d0, *, k_target, k_impostor, components):
    """Nearest same-class and other-class rows of one database block for one query block.

    Returns ``(targets, impostors)``, each ``(values, indices)`` of shape (n_q, k), padded
    with +inf and -1 where the block holds fewer candidates; indices are global rows. The
    query block is taken a few rows at a time, so that a distance tile holds at most
    ``_BLOCK_ENTRIES`` entries whatever the size of the blocks.
    """
    Zq = _features(_checked_block(Q, q0), components)
    Zd = _features(_checked_block(D, d0), components)
    q_codes, d_codes = np.asarray(q_codes), np.asarray(d_codes)
    sq_d = np.sum(Zd**2, axis=1)
    n_q, n_d = Zq.shape[0], Zd.shape[0]
    out = [(np.full((n_q, k), np.inf), np.full((n_q, k), -1, dtype=np.int64)) for k in (k_target, k_impostor)]
    rows = max(1, _BLOCK_ENTRIES // max(n_d, 1))
    for start in range(0, n_q, rows):
        stop = min(start + rows, n_q)
        dist = sq_d[None, :] - 2.0 * (Zq[start:stop] @ Zd.T)
        same = q_codes[start:stop, None] == d_codes[None, :]
        for kind, (k, keep) in enumerate(((k_target, same), (k_impostor, ~same))):
            masked = np.where(keep, dist, np.inf)
            if kind == 0:
                # The query itself, where it lies in this database block, is not its own target.
                own = np.arange(q0 + start, q0 + stop) - d0
                inside = np.flatnonzero((own >= 0) & (own < n_d))
                masked[inside, own[inside]] = np.inf
            kk = min(k, n_d)
            order = leading_indices(masked, kk)
            values = np.take_along_axis(masked, order, axis=1)
            out[kind][0][start:stop, :kk] = values
            out[kind][1][start:stop, :kk] = np.where(np.isfinite(values), order + d0, -1)
    return out[0], out[1]


def _checked_block(X, first_row):
    X = np.asarray(to_numpy(X), dtype=np.float64)
    if not np.isfinite(X).all():
        raise ValueError(f"X contains NaN or infinity (in rows {first_row} to {first_row + X.shape[0] - 1}).")
    return X


def _merge_candidates(*parts):
    """The k best of several candidate lists of one query block, by (distance, index)."""
    merged = []
    for kind in range(2):
        values = np.concatenate([p[kind][0] for p in parts], axis=1)
        index = np.concatenate([p[kind][1] for p in parts], axis=1)
        k = parts[0][kind][0].shape[1]
        # Padding (index −1, distance +inf) sorts last: its key is made larger than any row.
        key_index = np.where(index < 0, np.iinfo(np.int64).max, index)
        order = np.lexsort((key_index, values), axis=-1)[:, :k]
        merged.append((np.take_along_axis(values, order, axis=1), np.take_along_axis(index, order, axis=1)))
    return merged[0], merged[1]


def _dask_neighbours(X, codes, k_target, k_impostor, components):
    task = functools.partial(_tile_candidates, k_target=k_target, k_impostor=k_impostor, components=components)
    per_block = block_pair_candidates(X, codes, task, _merge_candidates)
    targets = np.concatenate([t[1] for _, (t, _) in per_block], axis=0)
    impostors = np.concatenate([i[1] for _, (_, i) in per_block], axis=0)
    return targets, impostors


def _block_pair_scatter(Xa, Xb, first, second, labels):
    """(A, B) of the pairs whose members are rows ``first`` of ``Xa`` and ``second`` of ``Xb``."""
    Xa = np.asarray(to_numpy(Xa), dtype=np.float64)
    Xb = np.asarray(to_numpy(Xb), dtype=np.float64)
    d = Xa.shape[1]
    out = []
    for sign in (1, -1):
        sel = np.flatnonzero(labels == sign)
        S = np.zeros((d, d))
        step = max(1, _CHUNK_ELEMENTS // max(d, 1))
        for start in range(0, sel.shape[0], step):
            part = sel[start : start + step]
            V = Xa[first[part]] - Xb[second[part]]
            S += V.T @ V
        out.append(S)
    return out[0], out[1]


def _sum_scatters(*parts):
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


# ---------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------
def _validated(X, y, k_target, k_impostor):
    k_target = check_k(k_target, "k_target")
    k_impostor = check_k(k_impostor, "k_impostor")
    if is_dask_array(X):
        X = check_dask_rows(X)
        if is_dask_array(y):
            y = y.compute()
    else:
        X = as_float_array(X, "X", ndim=2)
    y = check_labels(to_numpy(y), "y", n_samples=X.shape[0])
    codes, counts, _ = encode_class_labels(y)
    return X, codes, counts, k_target, k_impostor


def neighbor_tables(X: Any, y: Any, k_target: int, k_impostor: int, *, components: Any = None) -> tuple[Any, Any, int]:
    """Target and impostor tables of every row: (n, k_target) and (n, k_impostor) indices.

    Row i lists its neighbours nearest first, padded with −1 where its class (or the other
    classes) hold fewer; a table's first k columns are the tables of a smaller k, so one
    search serves several k. Also returns the number of classes.
    """
    X, codes, counts, k_target, k_impostor = _validated(X, y, k_target, k_impostor)
    if is_dask_array(X):
        targets, impostors = _dask_neighbours(X, codes, k_target, k_impostor, components)
    else:
        targets, impostors = _class_neighbours(_features(X, components), codes, counts, k_target, k_impostor)
    return targets, impostors, int(counts.shape[0])


def _pairs_of(table, k=None):
    """(first, second) row indices of the pairs of a neighbour table, or of its first k columns."""
    if k is not None:
        table = table[:, :k]
    first = np.repeat(np.arange(table.shape[0], dtype=np.int64), table.shape[1])
    second = table.reshape(-1)
    found = second >= 0
    return first[found], second[found]


def neighbor_pairs(
    X: Any, y: Any, k_target: int = 3, k_impostor: int = 10, *, components: Any = None
) -> tuple[Any, Any]:
    r"""Local pairs: every sample with its target neighbours and with its impostors.

    The similar pairs join every sample to its ``k_target`` nearest samples of the same
    class, the dissimilar pairs to its ``k_impostor`` nearest samples of other classes
    (exact search, ties broken by row index; see the module documentation for the
    mathematics). A class of :math:`n_c` samples gives each of them at most
    :math:`n_c - 1` targets and :math:`N - n_c` impostors.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Samples: NumPy, an array of another array-API library (the distances are computed
        there, e.g. on the GPU), or a ``dask.array`` chunked by rows (searched block
        against block; memory stays at a few blocks).
    y : array-like of shape (n_samples,)
        Class labels: at least two classes, each with at least two samples. A Dask ``y``
        is computed (one label per row).
    k_target : int, default=3
        Target neighbours per sample.
    k_impostor : int, default=10
        Impostors per sample.
    components : array-like of shape (n_components, n_features), optional
        Search in the metric :math:`M = L^\top L` of this factor :math:`L` (the distance
        between rows of :math:`X L^\top`), e.g. a fitted estimator's ``components_``.
        Euclidean when omitted.

    Returns
    -------
    indices : ndarray of shape (n_pairs, 2), dtype int64
        Row indices into ``X``: the sample, then its neighbour. Similar pairs come first,
        sample by sample, nearest neighbour first; then the dissimilar pairs alike.
    labels : ndarray of shape (n_pairs,), dtype int64
        +1 for the similar pairs, -1 for the dissimilar ones.

    Raises
    ------
    ValueError
        If ``X`` holds NaN or infinity, ``y`` has another length, fewer than two classes
        or a class of one sample, or ``k_target`` or ``k_impostor`` is not a positive
        integer.

    See Also
    --------
    make_pairs : The papers' random pairs.
    pair_statistics : Scatter matrices of pairs given as indices.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.metric import neighbor_pairs
    >>> X = np.array([[0.0], [1.0], [5.0], [2.0], [6.0], [9.0]])
    >>> idx, lab = neighbor_pairs(X, [0, 0, 0, 1, 1, 1], k_target=1, k_impostor=1)
    >>> idx[lab == 1].tolist()
    [[0, 1], [1, 0], [2, 1], [3, 4], [4, 5], [5, 4]]
    >>> idx[lab == -1].tolist()
    [[0, 3], [1, 3], [2, 4], [3, 1], [4, 2], [5, 2]]
    """
    targets, impostors, _ = neighbor_tables(X, y, k_target, k_impostor, components=components)
    similar = np.stack(_pairs_of(targets), axis=1)
    dissimilar = np.stack(_pairs_of(impostors), axis=1)
    indices = np.concatenate([similar, dissimilar], axis=0)
    labels = np.concatenate([np.ones(similar.shape[0], np.int64), -np.ones(dissimilar.shape[0], np.int64)])
    return indices, labels


def local_fit_statistics(
    X: Any, y: Any, k_target: int, k_impostor: int, *, components: Any = None
) -> tuple[Any, Any, int]:
    """(A, B, number of pairs) of the local pairs, scaled as the sampled pairs' statistics.

    A and B are the mean scatter of a similar and of a dissimilar local pair times half
    the default number of sampled pairs (as for ``n_pairs="all"``),
    so that ``t``, α, β and ``reg`` mean the same with local pairs as with the papers'
    random ones. ``X`` is an in-memory array (any namespace; A and B come back in it) or
    a Dask array (A and B in NumPy).
    """
    targets, impostors, n_classes = neighbor_tables(X, y, k_target, k_impostor, components=components)
    return pair_scatters(X, targets, impostors, n_classes)


def pair_scatters(
    X: Any, targets: Any, impostors: Any, n_classes: int, *, k_target: Any = None, k_impostor: Any = None
) -> tuple[Any, Any, int]:
    """Scaled (A, B, number of pairs) of the neighbour tables of ``X`` (or of their first k columns).

    ``X`` is an in-memory array (any namespace; A and B come back in it, float64) or a
    Dask array (A and B in NumPy); the scaling is :func:`local_fit_statistics`'s.
    """
    first_t, second_t = _pairs_of(targets, k_target)
    first_i, second_i = _pairs_of(impostors, k_impostor)
    n_sim, n_dis = first_t.shape[0], first_i.shape[0]
    if is_dask_array(X):
        first = np.concatenate([first_t, first_i])
        second = np.concatenate([second_t, second_i])
        labels = np.concatenate([np.ones(n_sim, np.int64), -np.ones(n_dis, np.int64)])
        A, B = reduce_row_block_pairs(X, first, second, labels, _block_pair_scatter, _sum_scatters)
        A, B = (A + A.T) / 2, (B + B.T) / 2
    else:
        xp = get_namespace(X)
        if X.dtype != xp.float64:
            X = xp.astype(X, xp.float64)
        chunk = max(1, _CHUNK_ELEMENTS // max(X.shape[1], 1))
        A = difference_scatter(X, first_t, second_t, chunk_size=chunk)
        B = difference_scatter(X, first_i, second_i, chunk_size=chunk)
    A, B = sampled_scale(A, B, n_sim, n_dis, n_classes)
    return A, B, n_sim + n_dis
