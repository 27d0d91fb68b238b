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

from .._backend import any_dask_array, device_of, get_namespace, is_numpy_namespace, to_namespace, to_python_float
from .._validation import as_float_array, check_int
from ._ranking import (
    ap_at_r_sum,
    average_precision_sums,
    check_ks,
    dask_map_at_r,
    dask_mean_average_precision,
    dask_precision_at_k,
    precision_at_sums,
)

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
        raise ValueError(f"database has {D.shape[1]} features but queries have {Q.shape[1]}.")
    if Q.dtype != D.dtype:
        # Promote both to the wider floating type instead of failing on mixed precision.
        Q = xp.astype(Q, xp.float64)
        D = xp.astype(D, xp.float64)
    d_labels = _as_labels(database_labels, "database_labels", xp, device_of(D), D.shape[0])
    return xp, Q, q_labels, D, d_labels, False


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


def leading_indices(dist: Any, depth: int) -> Any:
    """Column indices of the ``depth`` smallest entries of each row, ties in column order.

    The same result as ``argsort(dist, axis=1, stable=True)[:, :depth]``; on NumPy, when
    ``depth`` is small next to the row length, a partial selection replaces the full sort.
    """
    xp = get_namespace(dist)
    if is_numpy_namespace(xp) and 4 * depth < dist.shape[1]:
        return _leading_indices_by_selection(np.asarray(dist), depth)
    return xp.argsort(dist, axis=1, stable=True)[:, :depth]


def _leading_indices_by_selection(dist: np.ndarray, depth: int) -> np.ndarray:
    # A full stable sort of every row dominates the cost when depth << n_columns; select
    # first, then sort only the candidates. argpartition breaks ties arbitrarily, so every
    # item tied with the depth-th distance is kept as a candidate and the order is decided
    # by (distance, index) among the candidates. NumPy alone has these selections (and
    # lexsort); other libraries sort.
    part = np.argpartition(dist, depth - 1, axis=1)[:, :depth]
    threshold = np.take_along_axis(dist, part, axis=1).max(axis=1)
    rows, cols = np.nonzero(dist <= threshold[:, None])
    order = np.lexsort((cols, dist[rows, cols], rows))
    cols = cols[order]
    counts = np.bincount(rows, minlength=dist.shape[0])
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return cols[starts[:, None] + np.arange(depth)[None, :]]


def mean_average_precision_at_k(
    queries: Any,
    query_labels: Any,
    k: int | Sequence[int],
    database: Any = None,
    database_labels: Any = None,
    divisor: str = "hits",
    *,
    batch_size: int | None = None,
) -> Any:
    r"""Mean average precision of the top ``k`` retrieved items (mAP@K).

    Each query ranks the database by squared Euclidean distance (ties kept in database
    order). For one query, with :math:`\mathrm{rel}_i = 1` when the i-th retrieved item has
    the query's label (0 otherwise) and :math:`P@i` the precision of the top i,

    .. math::

        \mathrm{AP@K} = \frac{1}{\mathrm{divisor}}\sum_{i\le K}\mathrm{rel}_i\,P@i,

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
        return dask_mean_average_precision(queries, query_labels, k, database, database_labels, divisor)
    xp, Q, q_labels, D, d_labels, loo = _check_inputs(queries, query_labels, database, database_labels)
    n, m = Q.shape[0], D.shape[0]
    ks, single = check_ks(k, m - 1 if loo else m)
    batch = _check_batch_size(batch_size, n, m)
    R = _relevant_counts(xp, q_labels, d_labels, loo, batch) if divisor != "hits" else None
    totals = {kk: 0.0 for kk in ks}
    for start, stop, rel in _ranked_relevance(xp, Q, q_labels, D, d_labels, loo, max(ks), batch):
        R_block = None if R is None else xp.astype(R[start:stop], xp.float64)
        for kk, value in zip(ks, average_precision_sums(xp, rel, R_block, ks, divisor), strict=False):
            totals[kk] += value
    result = {kk: totals[kk] / n for kk in ks}
    return result[ks[0]] if single else result


def precision_at_k(
    queries: Any,
    query_labels: Any,
    k: int | Sequence[int],
    database: Any = None,
    database_labels: Any = None,
    *,
    batch_size: int | None = None,
) -> Any:
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
        return dask_precision_at_k(queries, query_labels, k, database, database_labels)
    xp, Q, q_labels, D, d_labels, loo = _check_inputs(queries, query_labels, database, database_labels)
    n, m = Q.shape[0], D.shape[0]
    ks, single = check_ks(k, m - 1 if loo else m)
    batch = _check_batch_size(batch_size, n, m)
    totals = {kk: 0.0 for kk in ks}
    for _, _, rel in _ranked_relevance(xp, Q, q_labels, D, d_labels, loo, max(ks), batch):
        for kk, value in zip(ks, precision_at_sums(xp, rel, ks), strict=False):
            totals[kk] += value
    result = {kk: totals[kk] / n for kk in ks}
    return result[ks[0]] if single else result


def precision_at_1(
    queries: Any, query_labels: Any, database: Any = None, database_labels: Any = None, *, batch_size: int | None = None
) -> Any:
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


def map_at_r(
    queries: Any, query_labels: Any, database: Any = None, database_labels: Any = None, *, batch_size: int | None = None
) -> Any:
    r"""MAP@R: mean average precision with each query's cut-off set to its own R.

    For a query with R relevant database items (same label; itself excluded leave-one-out)
    :math:`\mathrm{AP@R} = \frac1R\sum_{i\le R}\mathrm{rel}_i\,P@i` (Musgrave, Belongie and
    Lim, "A metric learning reality check", ECCV 2020). It equals 1 exactly when the R
    nearest items are all the relevant ones. Queries with R = 0 contribute 0.

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
        total += ap_at_r_sum(xp, rel, R[start:stop])
    return total / n
