"""Exact nearest neighbours of Dask arrays: blockwise top-k, then a merge.

For every (query block, database block) pair one task computes the squared distances of a
tile of queries to the database block and keeps, per query, the k nearest items of that
block (distance, global row index, label code). The candidates of one query block are then
merged across database blocks, a few at a time, by (distance, index): the result is the
exact k-nearest-neighbour list with ties in database order, as an in-memory stable sort
gives it. A task holds one query block, one database block and one distance tile of at
most ``_TILE_ENTRIES`` entries, so memory is bounded by a few blocks whatever the sizes.
"""

from __future__ import annotations

import numpy as np

from .._backend import get_namespace, to_numpy
from .._validation import check_labels

__all__ = [
    "dask_knn_predict",
    "dask_knn_error",
    "dask_mean_average_precision",
    "dask_precision_at_k",
    "dask_map_at_r",
    "smallest_k",
]

# Entries of one distance tile (16 MiB in float64), and its largest number of columns.
_TILE_ENTRIES = 1 << 21
_TILE_COLUMNS = 1 << 14


# ---------------------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------------------
def smallest_k(dist, k):
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
class _Transform:
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


def _check_block(X, name, first_row):
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinity (in rows {first_row} to {first_row + X.shape[0] - 1}).")


def _block_neighbours(Q, D, codes_D, q0, d0, k, transform, names, leave_one_out, with_norm):
    """k nearest rows of one database block for every row of one query block."""
    Q, D = np.asarray(to_numpy(Q)), np.asarray(to_numpy(D))
    _check_block(Q, names[0], q0)
    _check_block(D, names[1], d0)
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
                dist += sq_q[start:stop, None]
                np.maximum(dist, 0.0, out=dist)
            if leave_one_out:
                own = np.arange(q0 + start, q0 + stop) - (d0 + c0)
                inside = (own >= 0) & (own < c1 - c0)
                dist[np.flatnonzero(inside), own[inside]] = np.inf
            vals, at = smallest_k(dist, min(kk, c1 - c0))
            parts.append((vals, at + c0, codes_D[at + c0]))
        out.append(_merge_neighbours(kk, *parts) if len(parts) > 1 else parts[0])
    dist = np.concatenate([o[0] for o in out], axis=0)
    index = np.concatenate([o[1] for o in out], axis=0)
    return dist, index + d0, np.concatenate([o[2] for o in out], axis=0)


def _merge_neighbours(k, *parts):
    """Merge candidate lists of one query block: the k best by (distance, index)."""
    dist = np.concatenate([p[0] for p in parts], axis=1)
    index = np.concatenate([p[1] for p in parts], axis=1)
    codes = np.concatenate([p[2] for p in parts], axis=1)
    order = np.lexsort((index, dist), axis=-1)[:, :k]
    take = lambda a: np.take_along_axis(a, order, axis=1)  # noqa: E731
    return take(dist), take(index), take(codes)


# ---------------------------------------------------------------------------------------
# Graph construction
# ---------------------------------------------------------------------------------------
def as_dask_rows(X, name, *, chunk_like=None):
    """``X`` as a 2-D Dask array chunked by rows, validated (a NumPy array is wrapped)."""
    import dask.array as da

    from ..metric._class_statistics import check_dask_rows

    if not isinstance(X, da.Array):
        X = np.asarray(to_numpy(X))
        if X.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array, got an array of shape {X.shape}.")
        rows = chunk_like.chunks[0][0] if chunk_like is not None else max(1, _TILE_ENTRIES // max(X.shape[1], 1))
        X = da.from_array(X, chunks=(rows, -1))
    return check_dask_rows(X, name)


def _label_blocks(labels, chunks, name, rows_of):
    """Delayed label blocks aligned with row ``chunks`` (labels in memory or Dask)."""
    import dask.array as da

    n = int(sum(chunks))
    if isinstance(labels, da.Array):
        if labels.ndim != 1 or np.isnan(labels.shape[0]):
            raise ValueError(f"{name} must be a 1-D array of labels of known length, got shape {labels.shape}.")
        if labels.shape[0] != n:
            raise ValueError(f"{name} has {labels.shape[0]} labels but {rows_of} has {n} rows.")
        return labels.rechunk((chunks,)).to_delayed().reshape(-1)
    labels = check_labels(labels, name, n_samples=n, rows_of=rows_of)
    offsets = np.concatenate(([0], np.cumsum(chunks)))
    return [labels[offsets[i] : offsets[i + 1]] for i in range(len(chunks))]


def _classes_of(*labels):
    """Sorted distinct labels of several label arrays (NumPy or Dask)."""
    import dask
    import dask.array as da

    lazy = [da.unique(lab) for lab in labels if isinstance(lab, da.Array)]
    found = list(dask.compute(*lazy)) if lazy else []
    found += [np.unique(np.asarray(to_numpy(lab))) for lab in labels if not isinstance(lab, da.Array)]
    return np.unique(np.concatenate(found))


def _encode(labels, classes):
    labels = np.asarray(labels)
    return np.searchsorted(classes, labels).astype(np.int64)


def _row_blocks(X):
    """Delayed row blocks of a Dask array chunked by rows, and the first row of each block.

    ``to_delayed()`` optimizes the array's graph once: behind every block key stands the
    task graph any computation of the array gives it (for a slice of a ``from_array``
    array, one fused task ('array-getitem-…', i, 0) behind the key ('getitem-…', i, 0)).
    The graphs built on these blocks (and on ``_label_blocks``) are computed as they are,
    never optimized again: a second optimization would fuse that task anew, under another
    name, and the block key would stand for another task graph in them than in every other
    graph on the same array. The distributed scheduler warns of such a key ("Detected
    different `run_spec`") when it still holds it from an earlier graph, as it does when
    the next graph arrives before the client's release of the previous one.

    Parameters
    ----------
    X : dask.array.Array of shape (n, d)
        Validated by ``as_dask_rows`` (one column block).

    Returns
    -------
    blocks : ndarray of Delayed
        One per row block.
    offsets : ndarray of shape (n_blocks + 1,)
        First row of every block, then ``n``.
    """
    return X.to_delayed().reshape(-1), np.concatenate(([0], np.cumsum(X.chunks[0])))


def _neighbour_graph(q_blocks, q_off, d_blocks, d_off, d_codes, k, transform, names, leave_one_out, with_norm,
                     split_every=8):
    """One delayed (dist, index, code) neighbour list per query block.

    Parameters
    ----------
    q_blocks, q_off, d_blocks, d_off
        Query and database blocks and their offsets, from ``_row_blocks`` (or tasks that
        stand for those blocks).
    d_codes : list
        Class codes of every database block (delayed or in memory).
    k, transform, names, leave_one_out, with_norm
        As ``_block_neighbours`` takes them.
    split_every : int
        Candidate lists merged by one task.
    """
    import dask

    task = dask.delayed(_block_neighbours, pure=True)
    merge = dask.delayed(_merge_neighbours, pure=True)
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


def _vote(k, n_classes, neighbours):
    """Majority vote of the k neighbours' codes; ties go to the smallest class."""
    codes = neighbours[2]
    votes = np.zeros((codes.shape[0], n_classes), dtype=np.int64)
    rows = np.arange(codes.shape[0])
    for j in range(codes.shape[1]):
        votes[rows, codes[:, j]] += 1
    return np.argmax(votes, axis=1)


def _metric_for_blocks(metric, d):
    """The metric as something cheap to ship to every task: None, L (ndarray) or an estimator."""
    if metric is None:
        return _Transform(None)
    if hasattr(metric, "transform") and callable(metric.transform):
        return _Transform(metric)
    from .knn import metric_transform

    # L with LᵀL = M, once: metric_transform of the identity is I Lᵀ = Lᵀ.
    L = np.asarray(to_numpy(metric_transform(metric, np.eye(d)))).T
    return _Transform(np.ascontiguousarray(L))


def _returned_block(block):
    """An input block, unchanged: the one task through which ``knn_predict``'s graph reads it."""
    return block


def _prediction_graph(X_train, y_train, X_test, metric, k, *, returned=False):
    """Delayed k-NN votes of every query block, with the blocks' offsets and the classes.

    Parameters
    ----------
    X_train, y_train, X_test, metric, k
        As for ``knn_predict`` (at least one of them a Dask array).
    returned : bool
        Whether the graph goes into a lazy result that its caller computes, and so
        optimizes. Every input block is then reached through a ``_returned_block`` task
        of its own, which that optimization fuses the block into: the inputs' block keys
        do not remain in the optimized graph, to stand there for a task graph fused a
        second time (see ``_row_blocks``), and every other key of the graph is derived
        from the ``_returned_block`` keys, so that no graph computed unoptimized, as
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
    classes = _classes_of(y_train)
    d_labels = _label_blocks(y_train, D.chunks[0], "y_train", "X_train")
    (q_blocks, q_off), (d_blocks, d_off) = _row_blocks(Q), _row_blocks(D)
    if returned:
        own = dask.delayed(_returned_block, pure=True)
        q_blocks, d_blocks = [own(b) for b in q_blocks], [own(b) for b in d_blocks]
        d_labels = [own(lab) if isinstance(lab, Delayed) else lab for lab in d_labels]
    d_codes = [dask.delayed(_encode, pure=True)(lab, classes) for lab in d_labels]
    transform = _metric_for_blocks(metric, D.shape[1])
    neighbours = _neighbour_graph(q_blocks, q_off, d_blocks, d_off, d_codes, k, transform, ("X_test", "X_train"),
                                  False, False)
    vote = dask.delayed(_vote, pure=True)
    return [vote(k, classes.shape[0], nb) for nb in neighbours], q_off, classes


def dask_knn_predict(X_train, y_train, X_test, metric, k):
    """k-NN predictions for Dask inputs: a lazy Dask array of labels (see ``knn_predict``)."""
    import dask.array as da

    votes, q_off, classes = _prediction_graph(X_train, y_train, X_test, metric, k, returned=True)
    blocks = [
        da.from_delayed(v, shape=(int(q_off[i + 1] - q_off[i]),), dtype=np.int64) for i, v in enumerate(votes)
    ]
    return da.concatenate(blocks).map_blocks(lambda c: classes[c], dtype=classes.dtype)


def _mistakes(pred_codes, truth, classes):
    truth = np.asarray(truth)
    return int(np.count_nonzero(classes[pred_codes] != truth))


def dask_knn_error(X_train, y_train, X_test, y_test, metric, k, normalize=True):
    """k-NN error rate (or count) for Dask inputs (see ``knn_error``), computed blockwise."""
    import dask

    # The votes are counted as the delayed values they are: a Dask array of them would be
    # optimized on the way back to delayed blocks, the input blocks a second time (see
    # ``_row_blocks``).
    votes, q_off, classes = _prediction_graph(X_train, y_train, X_test, metric, k)
    n = int(q_off[-1])
    if n == 0:
        raise ValueError("X_test is empty.")
    truth = _label_blocks(y_test, tuple(np.diff(q_off).tolist()), "y_test", "X_test")
    count = dask.delayed(_mistakes, pure=True)
    wrong = sum(_one_query_block_at_a_time([count(v, truth[i], classes) for i, v in enumerate(votes)]))
    return wrong / n if normalize else wrong


def _one_query_block_at_a_time(parts):
    """Compute delayed per-query-block results one after the other.

    Each computation spans every database block of one query block (parallel over the
    workers); computing query blocks one at a time keeps at most one query block's
    candidates and a few database blocks alive, where one graph for all of them could keep
    every database block in memory until the last query block has used it.
    """
    import dask

    return [dask.compute(part)[0] for part in parts]


class _RetrievalGraph:
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
        q_labels = _label_blocks(query_labels, Q.chunks[0], "query_labels", "queries")
        d_labels = q_labels if loo else _label_blocks(database_labels, D.chunks[0], "database_labels", "database")
        self.query_classes = _classes_of(query_labels)
        self.classes = self.query_classes if loo else np.union1d(self.query_classes, _classes_of(database_labels))
        encode = dask.delayed(_encode, pure=True)
        self.q_codes = [encode(lab, self.classes) for lab in q_labels]
        self.d_codes = self.q_codes if loo else [encode(lab, self.classes) for lab in d_labels]

    def relevant_counts(self):
        """R of each class: its database items (one fewer leave-one-out), indexed by class code."""
        import dask
        import dask.array as da

        lab = self._d_lab_src
        lab = lab if isinstance(lab, da.Array) else np.asarray(to_numpy(lab))
        found, counts = dask.compute(*da.unique(da.asarray(lab), return_counts=True))
        relevant = np.zeros(self.classes.shape[0], dtype=np.int64)
        relevant[np.searchsorted(self.classes, np.asarray(found))] = np.asarray(counts)
        return relevant - 1 if self.loo else relevant

    def query_class_codes(self):
        """Codes of the classes that occur among the queries."""
        return np.searchsorted(self.classes, self.query_classes)

    def per_query_block(self, depth, summarize, *args):
        """``summarize(neighbours, q_codes, *args)`` of each query block's ``depth`` nearest items."""
        import dask

        names = ("queries", "queries" if self.loo else "database")
        (q_blocks, q_off), (d_blocks, d_off) = _row_blocks(self.Q), _row_blocks(self.D)
        neighbours = _neighbour_graph(q_blocks, q_off, d_blocks, d_off, self.d_codes, depth, _Transform(None), names,
                                      self.loo, True)
        task = dask.delayed(summarize, pure=True)
        return _one_query_block_at_a_time([task(nb, self.q_codes[i], *args) for i, nb in enumerate(neighbours)])


def _relevance(neighbours, q_codes):
    """0/1 (float64) relevance of each query's ranked items, from a block's neighbour lists."""
    return (neighbours[2] == np.asarray(q_codes)[:, None]).astype(np.float64)


# The in-memory sums are array-API code: they get NumPy's array-API namespace, which has
# cumulative_sum also on NumPy 1.x (plain NumPy has it from 2.1 on).
def _ap_sums(neighbours, q_codes, relevant, ks, divisor):
    """Σ over the queries of one block of AP@K for every K of ``ks``."""
    from .retrieval import _average_precision_sums

    rel = _relevance(neighbours, q_codes)
    R = None if relevant is None else relevant[np.asarray(q_codes)].astype(np.float64)
    return _average_precision_sums(get_namespace(rel), rel, R, ks, divisor)


def _precision_sums_of_block(neighbours, q_codes, ks):
    from .retrieval import _precision_at_sums

    rel = _relevance(neighbours, q_codes)
    return _precision_at_sums(get_namespace(rel), rel, ks)


def _map_at_r_sum_of_block(neighbours, q_codes, relevant):
    from .retrieval import _ap_at_r_sum

    rel = _relevance(neighbours, q_codes)
    return _ap_at_r_sum(get_namespace(rel), rel, relevant[np.asarray(q_codes)])


def dask_mean_average_precision(queries, query_labels, k, database, database_labels, divisor):
    """mAP@K for Dask inputs (see ``mean_average_precision_at_k``), computed blockwise."""
    from .retrieval import _check_ks

    graph = _RetrievalGraph(queries, query_labels, database, database_labels)
    ks, single = _check_ks(k, graph.n_retrievable)
    relevant = None if divisor == "hits" else graph.relevant_counts()
    parts = graph.per_query_block(max(ks), _ap_sums, relevant, ks, divisor)
    result = {kk: sum(p[j] for p in parts) / graph.Q.shape[0] for j, kk in enumerate(ks)}
    return result[ks[0]] if single else result


def dask_precision_at_k(queries, query_labels, k, database, database_labels):
    """P@K for Dask inputs (see ``precision_at_k``), computed blockwise."""
    from .retrieval import _check_ks

    graph = _RetrievalGraph(queries, query_labels, database, database_labels)
    ks, single = _check_ks(k, graph.n_retrievable)
    parts = graph.per_query_block(max(ks), _precision_sums_of_block, ks)
    result = {kk: sum(p[j] for p in parts) / graph.Q.shape[0] for j, kk in enumerate(ks)}
    return result[ks[0]] if single else result


def dask_map_at_r(queries, query_labels, database, database_labels):
    """MAP@R for Dask inputs (see ``map_at_r``), computed blockwise.

    Each query block keeps the nearest max R items of every query, R the largest number of
    relevant items of a class present among the queries.
    """
    graph = _RetrievalGraph(queries, query_labels, database, database_labels)
    relevant = graph.relevant_counts()
    depth = int(relevant[graph.query_class_codes()].max())
    if depth < 1:
        return 0.0
    parts = graph.per_query_block(depth, _map_at_r_sum_of_block, relevant)
    return sum(parts) / graph.Q.shape[0]
