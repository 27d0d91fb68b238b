"""Ranking sums: AP@K, P@K and AP@R of the ranked relevance of a batch of queries.

The retrieval measures of :mod:`spectral_ml.evaluation.retrieval` add these sums over
batches of queries in memory, and over query blocks of Dask arrays, whose nearest items
:class:`spectral_ml._dask.RetrievalGraph` finds blockwise; dividing by the number of
queries gives the measures. The in-memory sums are array-API code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._backend import get_namespace, to_python_float
from .._dask import RetrievalGraph
from .._validation import check_int

__all__ = [
    "check_ks",
    "average_precision_sums",
    "precision_at_sums",
    "ap_at_r_sum",
    "dask_mean_average_precision",
    "dask_precision_at_k",
    "dask_map_at_r",
]


def check_ks(k: Any, n_database: int) -> tuple[list[int], bool]:
    """Return the list of cut-offs and whether a single int was given."""
    single = not isinstance(k, Sequence) or isinstance(k, (str, bytes))
    values = [k] if single else list(k)
    if not values:
        raise ValueError("k must be a positive int or a non-empty sequence of ints.")
    ks = []
    for value in values:
        value = check_int(value, "k", low=1)
        if value > n_database:
            raise ValueError(f"k={value} exceeds the number of database items a query can retrieve ({n_database}).")
        ks.append(value)
    return ks, single


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


def average_precision_sums(xp: Any, rel: Any, R_block: Any, ks: Sequence[int], divisor: str) -> Any:
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


def precision_at_sums(xp: Any, rel: Any, ks: Sequence[int]) -> list[float]:
    """Σ over a block of queries of P@K for each K of ``ks``."""
    hits = xp.cumulative_sum(rel, axis=1)
    return [to_python_float(xp.sum(hits[:, kk - 1])) / kk for kk in ks]


def ap_at_r_sum(xp: Any, rel: Any, R_block: Any) -> Any:
    """Σ over a block of queries of AP@R, each at its own R (integer; ``rel`` at least max R deep)."""
    _, weighted = _precision_sums(xp, rel)
    depth = rel.shape[1]
    rows = xp.arange(rel.shape[0], dtype=xp.int64)
    column = xp.where(R_block > 0, R_block - 1, xp.zeros_like(R_block))
    at_r = xp.take(xp.reshape(weighted, (-1,)), rows * depth + column)
    return to_python_float(xp.sum(_safe_ratio(xp, at_r, xp.astype(R_block, xp.float64))))


def neighbour_relevance(neighbours: Any, q_codes: Any) -> Any:
    """0/1 (float64) relevance of each query's ranked items, from a block's neighbour lists."""
    return (neighbours[2] == np.asarray(q_codes)[:, None]).astype(np.float64)


# The in-memory sums are array-API code: they get NumPy's array-API namespace, which has
# cumulative_sum also on NumPy 1.x (plain NumPy has it from 2.1 on).
def block_ap_sums(neighbours: Any, q_codes: Any, relevant: Any, ks: Sequence[int], divisor: str) -> Any:
    """Σ over the queries of one block of AP@K for every K of ``ks``."""

    rel = neighbour_relevance(neighbours, q_codes)
    R = None if relevant is None else relevant[np.asarray(q_codes)].astype(np.float64)
    return average_precision_sums(get_namespace(rel), rel, R, ks, divisor)


def block_precision_sums(neighbours: Any, q_codes: Any, ks: Sequence[int]) -> Any:

    rel = neighbour_relevance(neighbours, q_codes)
    return precision_at_sums(get_namespace(rel), rel, ks)


def block_map_at_r_sum(neighbours: Any, q_codes: Any, relevant: Any) -> Any:

    rel = neighbour_relevance(neighbours, q_codes)
    return ap_at_r_sum(get_namespace(rel), rel, relevant[np.asarray(q_codes)])


def dask_mean_average_precision(
    queries: Any, query_labels: Any, k: int | Sequence[int], database: Any, database_labels: Any, divisor: str
) -> Any:
    """mAP@K for Dask inputs (see ``mean_average_precision_at_k``), computed blockwise."""

    graph = RetrievalGraph(queries, query_labels, database, database_labels)
    ks, single = check_ks(k, graph.n_retrievable)
    relevant = None if divisor == "hits" else graph.relevant_counts()
    parts = graph.per_query_block(max(ks), block_ap_sums, relevant, ks, divisor)
    result = {kk: sum(p[j] for p in parts) / graph.Q.shape[0] for j, kk in enumerate(ks)}
    return result[ks[0]] if single else result


def dask_precision_at_k(
    queries: Any, query_labels: Any, k: int | Sequence[int], database: Any, database_labels: Any
) -> Any:
    """P@K for Dask inputs (see ``precision_at_k``), computed blockwise."""

    graph = RetrievalGraph(queries, query_labels, database, database_labels)
    ks, single = check_ks(k, graph.n_retrievable)
    parts = graph.per_query_block(max(ks), block_precision_sums, ks)
    result = {kk: sum(p[j] for p in parts) / graph.Q.shape[0] for j, kk in enumerate(ks)}
    return result[ks[0]] if single else result


def dask_map_at_r(queries: Any, query_labels: Any, database: Any, database_labels: Any) -> Any:
    """MAP@R for Dask inputs (see ``map_at_r``), computed blockwise.

    Each query block keeps the nearest max R items of every query, R the largest number of
    relevant items of a class present among the queries.
    """
    graph = RetrievalGraph(queries, query_labels, database, database_labels)
    relevant = graph.relevant_counts()
    depth = int(relevant[graph.query_class_codes()].max())
    if depth < 1:
        return 0.0
    parts = graph.per_query_block(depth, block_map_at_r_sum, relevant)
    return sum(parts) / graph.Q.shape[0]
