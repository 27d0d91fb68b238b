"""Retrieval metrics on embeddings: precision@K, mAP@K (several divisors) and MAP@R.

Every query ranks the database by squared Euclidean distance (smallest first); items at
exactly the same distance keep their database order (a stable sort), so results are
deterministic. An item is *relevant* to a query when it carries the query's label. Without a
database the queries are searched among themselves, leave-one-out: a query never retrieves
itself.

Distances are computed brute force, one block of queries at a time, so memory stays bounded
by ``batch_size x n_database`` whatever the number of queries; all the functions take the
array namespace of their inputs (NumPy, CuPy, PyTorch, array-api-strict) and return Python
floats.

Definitions, for one query with relevance indicators ``rel_1, rel_2, ...`` along its ranking,
``P@i = (rel_1 + ... + rel_i) / i`` and ``R`` relevant items in the database:

* precision@K = ``(rel_1 + ... + rel_K) / K``;
* AP@K = ``sum_{i<=K} rel_i * P@i / divisor`` with divisor

  - ``"hits"``: the number of relevant items within the top K (Yu et al., ICLR 2020,
    Appendix A.2, Eq. 13, which calls this quantity "Precision@K"); 0 hits give AP 0;
  - ``"R"``: all relevant items of the database (with K = database size this is the usual
    non-interpolated average precision);
  - ``"min(K,R)"``: the largest number of hits the top K can hold;

* mAP@K = the mean of AP@K over the queries;
* MAP@R (Musgrave et al., "A metric learning reality check", ECCV 2020) = the mean over the
  queries of AP@R with divisor R, i.e. K set to each query's own R.

A query with no relevant item at all (R = 0) contributes 0 to every mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._backend import (
    any_dask_array,
    as_float_array,
    device_of,
    get_namespace,
    leading_indices,
    to_namespace,
    to_python_float,
)
from .._validation import check_int

__all__ = [
    "mean_average_precision_at_k",
    "precision_at_k",
    "precision_at_1",
    "map_at_r",
]

_DIVISORS = ("hits", "R", "min(K,R)")

# Bounds one block of the distance matrix (and of its argsort) to about 4 M entries.
_BLOCK_ENTRIES = 2**22


def _as_labels(labels: Any, name: str, xp, device, n: int):
    if isinstance(labels, (list, tuple)) or hasattr(labels, "shape"):
        labels = to_namespace(labels, xp, device)
    if labels is None or not hasattr(labels, "shape"):
        raise ValueError(f"{name} must be a 1-D array of labels, got {type(labels).__name__}.")
    if labels.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got an array of shape {tuple(labels.shape)}.")
    if labels.shape[0] != n:
        raise ValueError(f"{name} has {labels.shape[0]} entries but there are {n} rows of features.")
    return labels


def _check_inputs(queries, query_labels, database, database_labels):
    """Validate the inputs; return ``(xp, Q, q_labels, D, d_labels, leave_one_out)``."""
    if database is None and database_labels is not None:
        raise ValueError("database_labels was given without database.")
    if database is not None and database_labels is None:
        raise ValueError("database_labels is required when database is given.")
    if isinstance(queries, (list, tuple)):
        queries = np.asarray(queries)
    if isinstance(database, (list, tuple)):
        database = np.asarray(database)
    xp = get_namespace(queries, database)
    Q = as_float_array(queries, "queries", xp=xp, ndim=2)
    if Q.shape[0] < 1:
        raise ValueError("queries must contain at least one row.")
    q_labels = _as_labels(query_labels, "query_labels", xp, device_of(Q), Q.shape[0])
    if database is None:
        if Q.shape[0] < 2:
            raise ValueError("queries needs at least 2 rows for leave-one-out retrieval.")
        return xp, Q, q_labels, Q, q_labels, True
    D = as_float_array(database, "database", xp=xp, ndim=2)
    if D.shape[0] < 1:
        raise ValueError("database must contain at least one row.")
    if D.shape[1] != Q.shape[1]:
        raise ValueError(
            f"database has {D.shape[1]} features but queries have {Q.shape[1]}."
        )
    if Q.dtype != D.dtype:
        # Promote both to the wider floating type instead of failing on mixed precision.
        Q = xp.astype(Q, xp.float64)
        D = xp.astype(D, xp.float64)
    d_labels = _as_labels(database_labels, "database_labels", xp, device_of(D), D.shape[0])
    return xp, Q, q_labels, D, d_labels, False


def _check_ks(k: Any, n_database: int) -> tuple[list[int], bool]:
    """Return the list of cut-offs and whether a single int was given."""
    single = not isinstance(k, Sequence) or isinstance(k, (str, bytes))
    values = [k] if single else list(k)
    if not values:
        raise ValueError("k must be a positive int or a non-empty sequence of ints.")
    ks = []
    for value in values:
        value = check_int(value, "k", low=1)
        if value > n_database:
            raise ValueError(
                f"k={value} exceeds the number of database items a query can retrieve "
                f"({n_database})."
            )
        ks.append(value)
    return ks, single


def _check_batch_size(batch_size: Any, n_queries: int, n_database: int) -> int:
    if batch_size is None:
        return max(1, min(n_queries, _BLOCK_ENTRIES // max(n_database, 1)))
    return check_int(batch_size, "batch_size", low=1)


def _relevant_counts(xp, q_labels, d_labels, leave_one_out: bool, batch_size: int):
    """Number R of database items sharing each query's label (self excluded when leave-one-out)."""
    n = q_labels.shape[0]
    counts = []
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        same = q_labels[start:stop, None] == d_labels[None, :]
        counts.append(xp.sum(xp.astype(same, xp.int64), axis=1))
    R = xp.concat(counts) if len(counts) > 1 else counts[0]
    if leave_one_out:
        R = R - 1
    return R


def _ranked_relevance(xp, Q, q_labels, D, d_labels, leave_one_out, depth, batch_size):
    """Yield ``(start, stop, rel)``: relevance (float64, 0/1) of each query's top ``depth`` items."""
    n, m = Q.shape[0], D.shape[0]
    sq_d = xp.sum(D * D, axis=1)
    sq_q = sq_d if leave_one_out else xp.sum(Q * Q, axis=1)
    D_t = xp.linalg.matrix_transpose(D)
    db_index = xp.arange(m, dtype=xp.int64)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        block = Q[start:stop, :]
        # ||q - d||^2 through one matrix product; rounding can make it slightly negative.
        dist = sq_q[start:stop, None] + sq_d[None, :] - 2.0 * (block @ D_t)
        dist = xp.where(dist < 0, xp.zeros_like(dist), dist)
        if leave_one_out:
            own = xp.arange(start, stop, dtype=xp.int64)[:, None] == db_index[None, :]
            # Pushing the query itself to +inf puts it after every finite distance.
            dist = xp.where(own, xp.full_like(dist, xp.inf), dist)
        order = leading_indices(dist, depth)
        ranked = xp.reshape(xp.take(d_labels, xp.reshape(order, (-1,))), order.shape)
        rel = xp.astype(ranked == q_labels[start:stop, None], xp.float64)
        yield start, stop, rel


def _precision_sums(xp, rel):
    """Cumulative hits and cumulative ``rel_i * P@i`` along each ranking."""
    depth = rel.shape[1]
    hits = xp.cumulative_sum(rel, axis=1)
    ranks = xp.arange(1, depth + 1, dtype=xp.float64)
    weighted = xp.cumulative_sum(rel * (hits / ranks[None, :]), axis=1)
    return hits, weighted


def _safe_ratio(xp, num, den):
    positive = den > 0
    return xp.where(positive, num / xp.where(positive, den, xp.ones_like(den)), xp.zeros_like(num))


def _average_precision_sums(xp, rel, R_block, ks, divisor):
    """Σ over a block of queries of AP@K for each K of ``ks`` (``R_block``: float R, or None)."""
    hits, weighted = _precision_sums(xp, rel)
    sums = []
    for kk in ks:
        if divisor == "hits":
            den = hits[:, kk - 1]
        elif divisor == "R":
            den = R_block
        else:
            den = xp.where(R_block < kk, R_block, xp.full_like(R_block, float(kk)))
        sums.append(to_python_float(xp.sum(_safe_ratio(xp, weighted[:, kk - 1], den))))
    return sums


def _precision_at_sums(xp, rel, ks):
    """Σ over a block of queries of P@K for each K of ``ks``."""
    hits = xp.cumulative_sum(rel, axis=1)
    return [to_python_float(xp.sum(hits[:, kk - 1])) / kk for kk in ks]


def _ap_at_r_sum(xp, rel, R_block):
    """Σ over a block of queries of AP@R, each at its own R (integer; ``rel`` at least max R deep)."""
    _, weighted = _precision_sums(xp, rel)
    depth = rel.shape[1]
    rows = xp.arange(rel.shape[0], dtype=xp.int64)
    column = xp.where(R_block > 0, R_block - 1, xp.zeros_like(R_block))
    at_r = xp.take(xp.reshape(weighted, (-1,)), rows * depth + column)
    return to_python_float(xp.sum(_safe_ratio(xp, at_r, xp.astype(R_block, xp.float64))))


def mean_average_precision_at_k(
    queries,
    query_labels,
    k,
    database=None,
    database_labels=None,
    divisor: str = "hits",
    *,
    batch_size: int | None = None,
):
    """Mean average precision of the top ``k`` retrieved items (mAP@K).

    Each query ranks the database by squared Euclidean distance (ties kept in database
    order). For one query, with ``rel_i`` = 1 when the i-th retrieved item has the query's
    label and ``P@i`` the precision of the top i::

        AP@K = sum_{i <= K} rel_i * P@i / divisor

    and mAP@K is the mean of AP@K over the queries.

    Parameters
    ----------
    queries : array of shape (n_queries, n_features)
        Query embeddings; their namespace decides where the computation runs. Dask arrays
        (here, in ``database`` or in the labels) are searched exactly, block by block: each
        task holds one query block, one database block and a distance tile, and the top K
        of the blocks are merged (``batch_size`` does not apply).
    query_labels : array of shape (n_queries,)
        Class label of each query.
    k : int or sequence of int
        Cut-off(s) K, each between 1 and the number of items a query can retrieve
        (``n_database``, or ``n_queries - 1`` leave-one-out). All cut-offs reuse one ranking.
    database : array of shape (n_database, n_features), optional
        Items to retrieve from. When omitted the queries are searched among themselves,
        leave-one-out: a query never retrieves itself.
    database_labels : array of shape (n_database,), optional
        Labels of ``database``; required with it.
    divisor : {"hits", "R", "min(K,R)"}, default="hits"
        Normaliser of AP@K: the number of relevant items within the top K (the definition of
        Yu et al., ICLR 2020, Appendix A.2; 0 hits give 0), the number R of relevant items in
        the whole database, or ``min(K, R)``. With ``"R"`` and K equal to the database size
        AP@K is the usual average precision. A query with R = 0 scores 0 in every case.
    batch_size : int, optional
        Queries per block of the distance matrix (default: about 4 M distances per block).

    Returns
    -------
    float or dict
        mAP@K as a Python float when ``k`` is an int; a dict ``{K: mAP@K}`` (Python floats,
        in the order of ``k``) when ``k`` is a sequence.

    Raises
    ------
    ValueError
        On features that are not 2-D or not finite, mismatched shapes or label lengths,
        ``k`` outside ``[1, n_database]``, or an unknown ``divisor``.

    See Also
    --------
    precision_at_k, map_at_r

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1]])
    >>> y = np.array([0, 0, 1, 1])
    >>> mean_average_precision_at_k(X, y, k=1)
    1.0
    >>> mean_average_precision_at_k(X, y, k=[1, 3], divisor="R")
    {1: 1.0, 3: 1.0}
    """
    if divisor not in _DIVISORS:
        raise ValueError(f"divisor must be one of {_DIVISORS}, got {divisor!r}.")
    if any_dask_array(queries, query_labels, database, database_labels):
        from ._blockwise import dask_mean_average_precision

        return dask_mean_average_precision(queries, query_labels, k, database, database_labels, divisor)
    xp, Q, q_labels, D, d_labels, loo = _check_inputs(queries, query_labels, database, database_labels)
    n, m = Q.shape[0], D.shape[0]
    ks, single = _check_ks(k, m - 1 if loo else m)
    batch = _check_batch_size(batch_size, n, m)
    R = _relevant_counts(xp, q_labels, d_labels, loo, batch) if divisor != "hits" else None
    totals = {kk: 0.0 for kk in ks}
    for start, stop, rel in _ranked_relevance(xp, Q, q_labels, D, d_labels, loo, max(ks), batch):
        R_block = None if R is None else xp.astype(R[start:stop], xp.float64)
        for kk, value in zip(ks, _average_precision_sums(xp, rel, R_block, ks, divisor)):
            totals[kk] += value
    result = {kk: totals[kk] / n for kk in ks}
    return result[ks[0]] if single else result


def precision_at_k(
    queries,
    query_labels,
    k,
    database=None,
    database_labels=None,
    *,
    batch_size: int | None = None,
):
    """Mean precision of the top ``k`` retrieved items (P@K).

    For one query P@K is the fraction of its K nearest database items (squared Euclidean
    distance, ties kept in database order) that share its label; the result is the mean over
    the queries. This is the plain precision at K; what Yu et al. (ICLR 2020, Eq. 13) call
    "Precision@K" is the per-query average precision returned, averaged, by
    :func:`mean_average_precision_at_k` with ``divisor="hits"``.

    Parameters
    ----------
    queries : array of shape (n_queries, n_features)
        Query embeddings; their namespace decides where the computation runs. Dask arrays
        (here, in ``database`` or in the labels) are searched exactly, block by block, as
        in :func:`mean_average_precision_at_k` (``batch_size`` does not apply).
    query_labels : array of shape (n_queries,)
        Class label of each query.
    k : int or sequence of int
        Cut-off(s), each between 1 and the number of items a query can retrieve.
    database : array of shape (n_database, n_features), optional
        Items to retrieve from; leave-one-out among the queries when omitted.
    database_labels : array of shape (n_database,), optional
        Labels of ``database``; required with it.
    batch_size : int, optional
        Queries per block of the distance matrix.

    Returns
    -------
    float or dict
        P@K as a Python float for an int ``k``; ``{K: P@K}`` for a sequence.

    Raises
    ------
    ValueError
        On invalid features, labels or ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1]])
    >>> y = np.array([0, 0, 1, 1])
    >>> precision_at_k(X, y, k=[1, 2])
    {1: 1.0, 2: 0.5}
    """
    if any_dask_array(queries, query_labels, database, database_labels):
        from ._blockwise import dask_precision_at_k

        return dask_precision_at_k(queries, query_labels, k, database, database_labels)
    xp, Q, q_labels, D, d_labels, loo = _check_inputs(queries, query_labels, database, database_labels)
    n, m = Q.shape[0], D.shape[0]
    ks, single = _check_ks(k, m - 1 if loo else m)
    batch = _check_batch_size(batch_size, n, m)
    totals = {kk: 0.0 for kk in ks}
    for _, _, rel in _ranked_relevance(xp, Q, q_labels, D, d_labels, loo, max(ks), batch):
        for kk, value in zip(ks, _precision_at_sums(xp, rel, ks)):
            totals[kk] += value
    result = {kk: totals[kk] / n for kk in ks}
    return result[ks[0]] if single else result


def precision_at_1(queries, query_labels, database=None, database_labels=None, *, batch_size=None):
    """Fraction of queries whose nearest database item shares their label (P@1).

    Equivalent to the accuracy of a 1-nearest-neighbour classifier (leave-one-out when no
    database is given). See :func:`precision_at_k` for the parameters.

    Returns
    -------
    float
        P@1.

    Examples
    --------
    >>> import numpy as np
    >>> precision_at_1(np.array([[0.0], [0.1], [1.0], [5.0]]), np.array([0, 0, 1, 1]))
    0.75
    """
    return precision_at_k(queries, query_labels, 1, database, database_labels, batch_size=batch_size)


def map_at_r(queries, query_labels, database=None, database_labels=None, *, batch_size=None):
    """MAP@R: mean average precision with each query's cut-off set to its own R.

    For a query with R relevant database items (same label; itself excluded leave-one-out)
    ``AP@R = sum_{i <= R} rel_i * P@i / R`` (Musgrave, Belongie and Lim, "A metric learning
    reality check", ECCV 2020). It equals 1 exactly when the R nearest items are all the
    relevant ones. Queries with R = 0 contribute 0.

    Parameters
    ----------
    queries : array of shape (n_queries, n_features)
        Query embeddings; their namespace decides where the computation runs. Dask arrays
        (here, in ``database`` or in the labels) are searched exactly, block by block, as
        in :func:`mean_average_precision_at_k` (``batch_size`` does not apply); every
        query then keeps its max R nearest items, R of the largest class, so a block of
        b queries holds b · max R neighbours.
    query_labels : array of shape (n_queries,)
        Class label of each query.
    database : array of shape (n_database, n_features), optional
        Items to retrieve from; leave-one-out among the queries when omitted.
    database_labels : array of shape (n_database,), optional
        Labels of ``database``; required with it.
    batch_size : int, optional
        Queries per block of the distance matrix.

    Returns
    -------
    float
        MAP@R.

    Raises
    ------
    ValueError
        On invalid features or labels.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1]])
    >>> map_at_r(X, np.array([0, 0, 1, 1]))
    1.0
    """
    if any_dask_array(queries, query_labels, database, database_labels):
        from ._blockwise import dask_map_at_r

        return dask_map_at_r(queries, query_labels, database, database_labels)
    xp, Q, q_labels, D, d_labels, loo = _check_inputs(queries, query_labels, database, database_labels)
    n, m = Q.shape[0], D.shape[0]
    batch = _check_batch_size(batch_size, n, m)
    R = _relevant_counts(xp, q_labels, d_labels, loo, batch)
    depth = int(to_python_float(xp.max(R)))
    if depth < 1:
        return 0.0
    total = 0.0
    for start, stop, rel in _ranked_relevance(xp, Q, q_labels, D, d_labels, loo, depth, batch):
        total += _ap_at_r_sum(xp, rel, R[start:stop])
    return total / n
