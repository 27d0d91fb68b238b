"""Exact nearest neighbours of Dask arrays: blockwise top-k, then a merge.

The k-NN scorer and the retrieval measures of :mod:`spectral_ml.evaluation` run here on
Dask inputs; what they compute from the neighbour lists stays with them.


For every (query block, database block) pair one task computes the squared distances of a
tile of queries to the database block and keeps, per query, the k nearest items of that
block (distance, global row index, label code). The candidates of one query block are then
merged across database blocks, a few at a time, by (distance, index): the result is the
exact k-nearest-neighbour list with ties in database order, as an in-memory stable sort
gives it. A task holds one query block, one database block and one distance tile of at
most ``_TILE_ENTRIES`` entries, so memory is bounded by a few blocks whatever the sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._backend import to_numpy
from .rows import (
    check_dask_rows,
    classes_of,
    compute_in_turn,
    encode_labels_block,
    label_blocks,
    row_blocks,
    tree_reduce,
)

__all__ = [
    "block_pair_candidates",
    "smallest_k",
    "Transform",
    "transform_for_blocks",
    "as_dask_rows",
    "neighbour_graph",
    "knn_predict",
    "knn_error",
    "RetrievalGraph",
]

# Entries of one distance tile (16 MiB in float64), and its largest number of columns.
_TILE_ENTRIES = 1 << 21
_TILE_COLUMNS = 1 << 14


# ---------------------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------------------
def smallest_k(dist: Any, k: int) -> tuple[Any, Any]:
    """The ``k`` smallest entries of each row and their columns, ordered by (value, column).

    Exact, with ties in column order (the first ``k`` of a stable argsort), but without
    sorting or partitioning whole rows: split the columns into m interleaved segments
    (column j in segment j mod m); the k-th smallest of the m segment minima bounds the k-th
    smallest entry from above (k segment minima lie below it), and only the segments whose
    minimum is under that bound can hold a candidate. The minima are one elementwise pass
    over contiguous memory, and m ≈ n/32 leaves a few hundred candidates per row.

    Parameters
    ----------
    dist : ndarray of shape (n_rows, n)
    k : int
        At most ``n``.

    Returns
    -------
    values : ndarray of shape (n_rows, k)
    columns : ndarray of shape (n_rows, k), int64
    """
    r, n = dist.shape
    m = min(n // 2, max(4 * k, n // 32))
    if m <= k:
        order = np.argsort(dist, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(dist, order, axis=1), order.astype(np.int64)
    width = n // m
    head = width * m
    minima = dist[:, :head].reshape(r, width, m).min(axis=1)
    bound = np.partition(minima, k - 1, axis=1)[:, k - 1]
    seg_rows, segs = np.nonzero(minima <= bound[:, None])
    cols = (segs[:, None] + m * np.arange(width)[None, :]).reshape(-1)
    rows = np.repeat(seg_rows, width)
    if head < n:
        cols = np.concatenate([cols, np.tile(np.arange(head, n), r)])
        rows = np.concatenate([rows, np.repeat(np.arange(r), n - head)])
    vals = dist[rows, cols]
    keep = vals <= bound[rows]
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    order = np.lexsort((cols, vals, rows))
    cols, vals = cols[order], vals[order]
    starts = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=r))[:-1]))
    pick = starts[:, None] + np.arange(k)[None, :]
    return vals[pick], cols[pick].astype(np.int64)


# ---------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------
class Transform:
    """x ↦ the features the search runs on: identity, x Lᵀ, or an estimator's transform."""

    def __init__(self, metric):
        self.metric = metric

    def __call__(self, X):
        X = np.asarray(to_numpy(X), dtype=np.float64)
        if self.metric is None:
            return X
        if hasattr(self.metric, "transform"):
            return np.asarray(to_numpy(self.metric.transform(X)), dtype=np.float64)
        return X @ self.metric.T


def check_block(X: Any, name: str, first_row: int) -> None:
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinity (in rows {first_row} to {first_row + X.shape[0] - 1}).")


def block_neighbours(
    Q: Any,
    D: Any,
    codes_D: Any,
    q0: int,
    d0: int,
    k: int,
    transform: Callable[..., Any],
    names: Sequence[str],
    leave_one_out: bool,
    with_norm: bool,
) -> tuple[Any, Any, Any]:
    """k nearest rows of one database block for every row of one query block."""
    Q, D = np.asarray(to_numpy(Q)), np.asarray(to_numpy(D))
    check_block(Q, names[0], q0)
    check_block(D, names[1], d0)
    Q, D = transform(Q), transform(D)
    codes_D = np.asarray(codes_D)
    kk = min(k, D.shape[0])
    sq_d = np.einsum("ij,ij->i", D, D)
    # One product gives ‖d‖² − 2 q·d, the squared distance up to the per-query ‖q‖²:
    # [q, 1] · [−2d, ‖d‖²]. No elementwise pass over the tile, which would cost as much as
    # the product itself (the tile does not fit in cache).
    D_aug = np.empty((D.shape[1] + 1, D.shape[0]))
    D_aug[:-1] = -2.0 * D.T
    D_aug[-1] = sq_d
    Q_aug = np.concatenate([Q, np.ones((Q.shape[0], 1))], axis=1)
    sq_q = np.einsum("ij,ij->i", Q, Q) if with_norm else None
    # Tiles of at most _TILE_COLUMNS database rows: the distance tile stays small enough for
    # the selection to read it from cache right after the product wrote it.
    cols = min(D.shape[0], _TILE_COLUMNS)
    rows = max(1, _TILE_ENTRIES // cols)
    out = []
    for start in range(0, Q.shape[0], rows):
        stop = min(start + rows, Q.shape[0])
        parts = []
        for c0 in range(0, D.shape[0], cols):
            c1 = min(c0 + cols, D.shape[0])
            dist = Q_aug[start:stop] @ D_aug[:, c0:c1]
            if with_norm:
                # ‖q − d‖² in full, clipped at 0 as rounding can make it slightly negative.
                dist += sq_q[start:stop, None]  # type: ignore[index]  # sq_q is an array whenever with_norm is true
                np.maximum(dist, 0.0, out=dist)
            if leave_one_out:
                own = np.arange(q0 + start, q0 + stop) - (d0 + c0)
                inside = (own >= 0) & (own < c1 - c0)
                dist[np.flatnonzero(inside), own[inside]] = np.inf
            vals, at = smallest_k(dist, min(kk, c1 - c0))
            parts.append((vals, at + c0, codes_D[at + c0]))
        out.append(merge_neighbours(kk, *parts) if len(parts) > 1 else parts[0])
    dist = np.concatenate([o[0] for o in out], axis=0)
    index = np.concatenate([o[1] for o in out], axis=0)
    return dist, index + d0, np.concatenate([o[2] for o in out], axis=0)


def merge_neighbours(k: int, *parts: Any) -> tuple[Any, Any, Any]:
    """Merge candidate lists of one query block: the k best by (distance, index)."""
    dist = np.concatenate([p[0] for p in parts], axis=1)
    index = np.concatenate([p[1] for p in parts], axis=1)
    codes = np.concatenate([p[2] for p in parts], axis=1)
    order = np.lexsort((index, dist), axis=-1)[:, :k]
    take = lambda a: np.take_along_axis(a, order, axis=1)
    return take(dist), take(index), take(codes)


# ---------------------------------------------------------------------------------------
# Graph construction
# ---------------------------------------------------------------------------------------
def as_dask_rows(X: Any, name: str, *, chunk_like: Any = None) -> Any:
    """``X`` as a 2-D Dask array chunked by rows, validated (a NumPy array is wrapped)."""
    import dask.array as da

    if not isinstance(X, da.Array):
        X = np.asarray(to_numpy(X))
        if X.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array, got an array of shape {X.shape}.")
        rows = chunk_like.chunks[0][0] if chunk_like is not None else max(1, _TILE_ENTRIES // max(X.shape[1], 1))
        X = da.from_array(X, chunks=(rows, -1))
    return check_dask_rows(X, name)


def neighbour_graph(
    q_blocks: Any,
    q_off: Any,
    d_blocks: Any,
    d_off: Any,
    d_codes: Any,
    k: int,
    transform: Callable[..., Any],
    names: Sequence[str],
    leave_one_out: bool,
    with_norm: bool,
    split_every: int = 8,
) -> Any:
    """One delayed (dist, index, code) neighbour list per query block.

    Parameters
    ----------
    q_blocks, q_off, d_blocks, d_off
        Query and database blocks and their offsets, from ``row_blocks`` (or tasks that
        stand for those blocks).
    d_codes : list
        Class codes of every database block (delayed or in memory).
    k, transform, names, leave_one_out, with_norm
        As ``block_neighbours`` takes them.
    split_every : int
        Candidate lists merged by one task.
    """
    import dask

    task = dask.delayed(block_neighbours, pure=True)
    merge = dask.delayed(merge_neighbours, pure=True)
    results = []
    for i, qb in enumerate(q_blocks):
        parts = [
            task(qb, db, d_codes[j], int(q_off[i]), int(d_off[j]), k, transform, names, leave_one_out, with_norm)
            for j, db in enumerate(d_blocks)
        ]
        while len(parts) > 1:
            parts = [merge(k, *parts[s : s + split_every]) for s in range(0, len(parts), split_every)]
        results.append(parts[0])
    return results


def majority_vote(k: int, n_classes: int, neighbours: Any) -> Any:
    """Majority vote of the k neighbours' codes; ties go to the smallest class."""
    codes = neighbours[2]
    votes = np.zeros((codes.shape[0], n_classes), dtype=np.int64)
    rows = np.arange(codes.shape[0])
    for j in range(codes.shape[1]):
        votes[rows, codes[:, j]] += 1
    return np.argmax(votes, axis=1)


def transform_for_blocks(metric: Any, L: Any = None) -> Any:
    """The metric as something cheap to ship to every task: identity, ``x Lᵀ`` or an estimator.

    Parameters
    ----------
    metric : None or estimator
        None for the Euclidean distance, or a fitted estimator with ``transform``.
    L : ndarray, optional
        Otherwise the factor with ``LᵀL = M`` (the caller's metric, already factored).
    """
    if L is not None:
        return Transform(np.ascontiguousarray(L))
    return Transform(metric)


def returned_block(block: Any) -> Any:
    """An input block, unchanged: the one task through which ``knn_predict``'s graph reads it."""
    return block


def prediction_graph(
    X_train: Any, y_train: Any, X_test: Any, transform: Callable[..., Any], k: int, *, returned: bool = False
) -> tuple[Any, Any, Any]:
    """Delayed k-NN votes of every query block, with the blocks' offsets and the classes.

    Parameters
    ----------
    X_train, y_train, X_test, k
        As for ``knn_predict`` (at least one of them a Dask array).
    transform : Transform
        The features the search runs on (:func:`transform_for_blocks`).
    returned : bool
        Whether the graph goes into a lazy result that its caller computes, and so
        optimizes. Every input block is then reached through a ``returned_block`` task
        of its own, which that optimization fuses the block into: the inputs' block keys
        do not remain in the optimized graph, to stand there for a task graph fused a
        second time (see ``row_blocks``), and every other key of the graph is derived
        from the ``returned_block`` keys, so that no graph computed unoptimized, as
        ``knn_error``'s is, has one of them.

    Returns
    -------
    votes : list of Delayed
        Class codes (int64) of the predictions of each query block.
    offsets : ndarray of shape (n_blocks + 1,)
        First row of every query block, then the number of queries.
    classes : ndarray
        Sorted classes of ``y_train``; ``classes[votes[i]]`` are the predicted labels.
    """
    import dask
    from dask.delayed import Delayed

    D = as_dask_rows(X_train, "X_train")
    Q = as_dask_rows(X_test, "X_test", chunk_like=D)
    if Q.shape[1] != D.shape[1]:
        raise ValueError(f"X_test has {Q.shape[1]} features, X_train has {D.shape[1]}.")
    if k > D.shape[0]:
        raise ValueError(f"k={k} exceeds the number of training samples ({D.shape[0]}).")
    classes = classes_of(y_train)
    d_labels = label_blocks(y_train, D.chunks[0], "y_train", "X_train")
    (q_blocks, q_off), (d_blocks, d_off) = row_blocks(Q), row_blocks(D)
    if returned:
        own = dask.delayed(returned_block, pure=True)
        q_blocks, d_blocks = [own(b) for b in q_blocks], [own(b) for b in d_blocks]
        d_labels = [own(lab) if isinstance(lab, Delayed) else lab for lab in d_labels]
    d_codes = [dask.delayed(encode_labels_block, pure=True)(lab, classes) for lab in d_labels]
    neighbours = neighbour_graph(
        q_blocks, q_off, d_blocks, d_off, d_codes, k, transform, ("X_test", "X_train"), False, False
    )
    vote = dask.delayed(majority_vote, pure=True)
    return [vote(k, classes.shape[0], nb) for nb in neighbours], q_off, classes


def knn_predict(X_train: Any, y_train: Any, X_test: Any, transform: Callable[..., Any], k: int) -> Any:
    """k-NN predictions for Dask inputs: a lazy Dask array of labels (see ``knn_predict``)."""
    import dask.array as da

    votes, q_off, classes = prediction_graph(X_train, y_train, X_test, transform, k, returned=True)
    blocks = [da.from_delayed(v, shape=(int(q_off[i + 1] - q_off[i]),), dtype=np.int64) for i, v in enumerate(votes)]
    return da.concatenate(blocks).map_blocks(lambda c: classes[c], dtype=classes.dtype)


def count_mistakes(pred_codes: Any, truth: Any, classes: Any) -> Any:
    truth = np.asarray(truth)
    return int(np.count_nonzero(classes[pred_codes] != truth))


def knn_error(
    X_train: Any, y_train: Any, X_test: Any, y_test: Any, transform: Callable[..., Any], k: int, normalize: bool = True
) -> Any:
    """k-NN error rate (or count) for Dask inputs (see ``knn_error``), computed blockwise."""
    import dask

    # The votes are counted as the delayed values they are: a Dask array of them would be
    # optimized on the way back to delayed blocks, the input blocks a second time (see
    # ``row_blocks``).
    votes, q_off, classes = prediction_graph(X_train, y_train, X_test, transform, k)
    n = int(q_off[-1])
    if n == 0:
        raise ValueError("X_test is empty.")
    truth = label_blocks(y_test, tuple(np.diff(q_off).tolist()), "y_test", "X_test")
    count = dask.delayed(count_mistakes, pure=True)
    wrong = sum(compute_in_turn([count(v, truth[i], classes) for i, v in enumerate(votes)]))
    return wrong / n if normalize else wrong


class RetrievalGraph:
    """What every Dask retrieval measure needs: validated rows, label codes, relevant counts.

    ``database=None`` searches the queries among themselves, leave-one-out.
    """

    def __init__(self, queries, query_labels, database, database_labels):
        import dask

        if database is None and database_labels is not None:
            raise ValueError("database_labels was given without database.")
        if database is not None and database_labels is None:
            raise ValueError("database_labels is required when database is given.")
        self.loo = loo = database is None
        self.Q = Q = as_dask_rows(queries, "queries")
        self.D = D = Q if loo else as_dask_rows(database, "database", chunk_like=Q)
        if D.shape[1] != Q.shape[1]:
            raise ValueError(f"database has {D.shape[1]} features but queries have {Q.shape[1]}.")
        if Q.shape[0] < (2 if loo else 1) or D.shape[0] < 1:
            raise ValueError("queries and database need rows (2 queries at least for leave-one-out retrieval).")
        self.n_retrievable = D.shape[0] - 1 if loo else D.shape[0]
        self._d_lab_src = query_labels if loo else database_labels
        q_labels = label_blocks(query_labels, Q.chunks[0], "query_labels", "queries")
        d_labels = q_labels if loo else label_blocks(database_labels, D.chunks[0], "database_labels", "database")
        self.query_classes = classes_of(query_labels)
        self.classes = self.query_classes if loo else np.union1d(self.query_classes, classes_of(database_labels))
        encode = dask.delayed(encode_labels_block, pure=True)
        self.q_codes = [encode(lab, self.classes) for lab in q_labels]
        self.d_codes = self.q_codes if loo else [encode(lab, self.classes) for lab in d_labels]

    def relevant_counts(self) -> Any:
        """R of each class: its database items (one fewer leave-one-out), indexed by class code."""
        import dask
        import dask.array as da

        lab = self._d_lab_src
        lab = lab if isinstance(lab, da.Array) else np.asarray(to_numpy(lab))
        found, counts = dask.compute(*da.unique(da.asarray(lab), return_counts=True))
        relevant = np.zeros(self.classes.shape[0], dtype=np.int64)
        relevant[np.searchsorted(self.classes, np.asarray(found))] = np.asarray(counts)
        return relevant - 1 if self.loo else relevant

    def query_class_codes(self) -> Any:
        """Codes of the classes that occur among the queries."""
        return np.searchsorted(self.classes, self.query_classes)

    def per_query_block(self, depth: int, summarize: Callable[..., Any], *args: Any) -> Any:
        """``summarize(neighbours, q_codes, *args)`` of each query block's ``depth`` nearest items."""
        import dask

        names = ("queries", "queries" if self.loo else "database")
        (q_blocks, q_off), (d_blocks, d_off) = row_blocks(self.Q), row_blocks(self.D)
        neighbours = neighbour_graph(
            q_blocks, q_off, d_blocks, d_off, self.d_codes, depth, Transform(None), names, self.loo, True
        )
        task = dask.delayed(summarize, pure=True)
        return compute_in_turn([task(nb, self.q_codes[i], *args) for i, nb in enumerate(neighbours)])


def block_pair_candidates(
    X: Any, codes: Any, task: Callable[..., Any], merge: Callable[..., Any], *, split_every: int = 8
) -> list[tuple[Any, Any]]:
    """Neighbour candidates of every row of ``X`` among all its rows, block against block; computed.

    For every (query block, database block) one task computes ``task(Q, D, q_codes,
    d_codes, q0, d0)`` (the blocks, their rows' class codes and first rows); the results of
    one query block are merged ``split_every`` at a time by ``merge(*partials)``. Query
    blocks are computed one after the other (:func:`compute_in_turn`), so at most one query
    block's candidates and a few database blocks are alive at a time.

    Parameters
    ----------
    X : dask.array.Array of shape (n, d)
        Validated by :func:`check_dask_rows`.
    codes : ndarray of shape (n,)
        Class code of every row, in memory.
    task, merge : callable
        Picklable (module-level or partial) functions: they run on the workers.
    split_every : int, default=8
        Partials merged by one task.

    Returns
    -------
    list of (rows, candidates)
        For every query block, its global row indices and the merged result.
    """
    import dask

    blocks, offsets = row_blocks(X)
    codes = np.asarray(codes)
    block_codes = [codes[offsets[i] : offsets[i + 1]] for i in range(len(blocks))]
    apply = dask.delayed(task, pure=True)
    per_query = []
    for i, qb in enumerate(blocks):
        parts = [
            apply(qb, db, block_codes[i], block_codes[j], int(offsets[i]), int(offsets[j]))
            for j, db in enumerate(blocks)
        ]
        per_query.append(tree_reduce(parts, merge, split_every))
    results = compute_in_turn(per_query)
    return [(np.arange(offsets[i], offsets[i + 1]), r) for i, r in enumerate(results)]
