"""Dask arrays chunked by rows: their checks, their blocks, and reductions over them.

The machinery every Dask path of the package shares; what is computed on each block (the
moments of a class, a block's nearest neighbours) belongs to the module that owns the
mathematics, which hands it here as a function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._backend import to_numpy
from .._validation import check_labels

__all__ = [
    "check_dask_rows",
    "label_blocks",
    "classes_of",
    "encode_labels_block",
    "row_blocks",
    "tree_reduce",
    "compute_in_turn",
    "reduce_row_blocks",
    "map_row_blocks",
    "label_counts",
    "reduce_row_block_pairs",
]


def check_dask_rows(X: Any, name: str = "X") -> Any:
    """Validate a Dask array for a pass over its rows; return it with one column block.

    Raises ``ValueError`` naming ``name`` on unknown chunk sizes or a wrong number of
    dimensions. Column blocks of the same rows are joined (each row block stays apart).
    """
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got an array of shape {X.shape}.")
    if any(np.isnan(c) for c in X.chunks[0]) or any(np.isnan(c) for c in X.chunks[1]):
        raise ValueError(
            f"{name} has chunks of unknown size (e.g. after boolean indexing); call {name}.compute_chunk_sizes() first."
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {X.dtype}.")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X


def label_blocks(labels: Any, chunks: Any, name: str, rows_of: Any) -> Any:
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


def classes_of(*labels: Any) -> Any:
    """Sorted distinct labels of several label arrays (NumPy or Dask)."""
    import dask
    import dask.array as da

    lazy = [da.unique(lab) for lab in labels if isinstance(lab, da.Array)]
    found = list(dask.compute(*lazy)) if lazy else []
    found += [np.unique(np.asarray(to_numpy(lab))) for lab in labels if not isinstance(lab, da.Array)]
    return np.unique(np.concatenate(found))


def encode_labels_block(labels: Any, classes: Any) -> Any:
    """Class codes (int64) of a block of labels, by their place in the sorted ``classes``."""
    labels = np.asarray(labels)
    return np.searchsorted(classes, labels).astype(np.int64)


def row_blocks(X: Any) -> tuple[Any, Any]:
    """Delayed row blocks of a Dask array chunked by rows, and the first row of each block.

    ``to_delayed()`` optimizes the array's graph once: behind every block key stands the
    task graph any computation of the array gives it (for a slice of a ``from_array``
    array, one fused task ('array-getitem-…', i, 0) behind the key ('getitem-…', i, 0)).
    The graphs built on these blocks (and on ``label_blocks``) are computed as they are,
    never optimized again: a second optimization would fuse that task anew, under another
    name, and the block key would stand for another task graph in them than in every other
    graph on the same array. The distributed scheduler warns of such a key ("Detected
    different `run_spec`") when it still holds it from an earlier graph, as it does when
    the next graph arrives before the client's release of the previous one.

    Parameters
    ----------
    X : dask.array.Array of shape (n, d)
        Validated by ``neighbours.as_dask_rows`` (one column block).

    Returns
    -------
    blocks : ndarray of Delayed
        One per row block.
    offsets : ndarray of shape (n_blocks + 1,)
        First row of every block, then ``n``.
    """
    return X.to_delayed().reshape(-1), np.concatenate(([0], np.cumsum(X.chunks[0])))


def tree_reduce(parts: Any, merge: Callable[..., Any], split_every: int) -> Any:
    """Delayed partial results merged ``split_every`` at a time, down to one."""
    import dask

    while len(parts) > 1:
        parts = [dask.delayed(merge, pure=True)(*parts[i : i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0]


def compute_in_turn(parts: Any) -> Any:
    """Compute delayed per-query-block results one after the other.

    Each computation spans every database block of one query block (parallel over the
    workers); computing query blocks one at a time keeps at most one query block's
    candidates and a few database blocks alive, where one graph for all of them could keep
    every database block in memory until the last query block has used it.
    """
    import dask

    return [dask.compute(part)[0] for part in parts]


def reduce_row_blocks(
    X: Any,
    task: Callable[..., Any],
    merge: Callable[..., Any],
    *,
    labels: Any = None,
    row_arrays: Any = (),
    split_every: int = 8,
) -> Any:
    """``task`` on every row block of ``X``, the results merged in a tree; computed.

    Every row block gives a partial result, ``task(block, label_block, *row_slices,
    first_row)``; partials are merged ``split_every`` at a time by ``merge(*partials)``,
    so no block is ever concatenated with another, and the graph runs on the active
    scheduler (a ``dask.distributed`` Client when one is set as default).

    Parameters
    ----------
    X : dask.array.Array of shape (n, d)
        Validated by :func:`check_dask_rows`.
    task, merge : callable
        Picklable (module-level) functions: they run on the workers.
    labels : dask.array.Array of shape (n,), optional
        Rechunked like the rows of ``X``; its block is ``label_block`` (None otherwise).
    row_arrays : sequence of ndarray or None
        In-memory arrays with one entry per row of ``X``; their slices for the block
        follow ``label_block`` (None stays None).
    split_every : int, default=8
        Partials merged by one task.
    """
    import dask

    offsets = np.concatenate(([0], np.cumsum(X.chunks[0])))
    blocks = X.to_delayed().reshape(-1)
    lab = None if labels is None else labels.rechunk((X.chunks[0],)).to_delayed().reshape(-1)
    apply = dask.delayed(task, pure=True)
    parts = []
    for i, block in enumerate(blocks):
        lo, hi = int(offsets[i]), int(offsets[i + 1])
        slices = [None if a is None else a[lo:hi] for a in row_arrays]
        parts.append(apply(block, None if lab is None else lab[i], *slices, lo))
    (result,) = dask.compute(tree_reduce(parts, merge, split_every))
    return result


def map_row_blocks(X: Any, fn: Callable[..., Any], *args: Any, n_columns: int, dtype: Any = np.float64) -> Any:
    """``fn(block, *args)`` of every row block of ``X``, as a lazy Dask array of ``n_columns`` columns."""
    X = check_dask_rows(X)
    return X.map_blocks(fn, *args, dtype=dtype, chunks=(X.chunks[0], (int(n_columns),)))


def label_counts(y: Any, n_samples: int, name: str = "y") -> tuple[Any, Any]:
    """Sorted classes and their counts of a 1-D Dask array of labels, in one pass.

    Raises ``ValueError`` naming ``name`` when the length differs from ``n_samples``, is
    unknown, or (float labels) a label is NaN or infinite.
    """
    import dask
    import dask.array as da

    if not np.isnan(y.shape[0]) and y.shape[0] != n_samples:
        raise ValueError(f"{name} has {y.shape[0]} labels but X has {n_samples} rows.")
    if np.isnan(y.shape[0]):
        raise ValueError(f"{name} has chunks of unknown size; call {name}.compute_chunk_sizes() first.")
    if y.dtype.kind == "f":
        (finite,) = dask.compute(da.isfinite(y).all())
        if not finite:
            raise ValueError(f"{name} contains NaN or infinity.")
    classes, counts = dask.compute(*da.unique(y, return_counts=True))
    return np.asarray(classes), np.asarray(counts, dtype=np.int64)


def reduce_row_block_pairs(
    X: Any,
    first: Any,
    second: Any,
    labels: Any,
    task: Callable[..., Any],
    merge: Callable[..., Any],
    *,
    split_every: int = 8,
) -> Any:
    """``task`` on every pair of row blocks that holds pairs of rows, merged in a tree; computed.

    The pairs (``first[p]``, ``second[p]``) of global row indices are grouped by the blocks
    their two members lie in; each group is one task, ``task(block_a, block_b,
    first_local, second_local, labels_of_group)``, with the members' indices within their
    blocks. Only the blocks of pairs that exist meet in a task, two at a time, so memory
    stays at a few blocks whatever the number of rows.

    Parameters
    ----------
    X : dask.array.Array of shape (n, d)
        Validated by :func:`check_dask_rows`.
    first, second : ndarray of shape (n_pairs,)
        Integer row indices of the two members of each pair, in memory.
    labels : ndarray of shape (n_pairs,)
        A value per pair handed to the task with its group (e.g. ±1).
    task, merge : callable
        Picklable (module-level) functions: they run on the workers.
    split_every : int, default=8
        Partials merged by one task.
    """
    import dask

    blocks, offsets = row_blocks(X)
    first, second, labels = np.asarray(first), np.asarray(second), np.asarray(labels)
    block_a = np.searchsorted(offsets, first, side="right") - 1
    block_b = np.searchsorted(offsets, second, side="right") - 1
    n_blocks = len(blocks)
    group = block_a * n_blocks + block_b
    order = np.argsort(group, kind="stable")
    group = group[order]
    cuts = np.concatenate(([0], np.flatnonzero(np.diff(group)) + 1, [group.shape[0]]))
    apply = dask.delayed(task, pure=True)
    parts = []
    for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
        if lo == hi:
            continue
        a, b = divmod(int(group[lo]), n_blocks)
        sel = order[lo:hi]
        parts.append(apply(blocks[a], blocks[b], first[sel] - offsets[a], second[sel] - offsets[b], labels[sel]))
    (result,) = dask.compute(tree_reduce(parts, merge, split_every))
    return result
