"""Class-balanced mini-batches: every batch follows the class proportions of the training set.

The DPP term measures the diversity of a batch, so a batch should hold the classes in the
proportions of the whole training set (Yu, Li & Li, Sec. 3.2). With ``n_c`` samples of class
``c`` among ``n`` and batch size ``B``, the share of class ``c`` is ``q_c = B n_c / n``. Every
batch gives each class ``⌊q_c⌋`` samples, and the ``B − Σ_c ⌊q_c⌋`` remaining places go to the
classes with the largest remainders — remainders that are carried over from batch to batch
(a class that got an extra place gives up one unit of remainder). So every batch has exactly
``B`` samples, each class gets ``⌊q_c⌋`` or ``⌈q_c⌉`` of them, and over many batches each
class is drawn in its exact proportion (the carried remainder stays bounded), where plain
largest-remainder rounding would give the same classes the extra places in every batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .._validation import check_generator, check_int, check_labels, encode_labels

__all__ = ["BalancedBatchSampler"]


class BalancedBatchSampler:
    """Iterate over mini-batches of sample indices in the class proportions of ``y``.

    Within each class the samples are drawn without replacement from a random permutation;
    when a class's permutation is used up a new one starts (never repeating an index within
    a batch), and unfinished permutations carry over to the next epoch. So every sample is
    used about once per epoch, and exactly once per pass through its class.

    Parameters
    ----------
    y : array_like of shape (n_samples,)
        Class labels (any dtype, any array namespace).
    batch_size : int, default=200
        Samples per batch (the paper uses 200 on MNIST); between the number of classes and
        ``n_samples``.
    random_state : None, int or numpy.random.Generator, optional
        Seed: two samplers with the same seed yield the same batches.
    drop_last : bool, default=True
        An epoch has ``n_samples // batch_size`` batches; the samples it leaves out are the
        first of the next epoch. With ``drop_last=False`` it has
        ``ceil(n_samples / batch_size)`` batches, so every sample appears in every epoch (the
        last batch is completed with samples of the next pass, which then repeat). Every
        batch has exactly ``batch_size`` samples either way.

    Attributes
    ----------
    classes_ : ndarray
        The distinct labels, sorted.
    class_counts_ : ndarray of int
        Number of samples of each class.
    n_batches : int
        Batches per epoch (also ``len(sampler)``).

    Raises
    ------
    ValueError
        If ``y`` is not 1-D, is empty or has non-finite values, or ``batch_size`` is not an
        integer between the number of classes and ``n_samples``.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import BalancedBatchSampler
    >>> y = np.repeat([0, 1, 2], [50, 30, 20])
    >>> sampler = BalancedBatchSampler(y, batch_size=10, random_state=0)
    >>> batches = list(sampler)
    >>> len(batches), [np.bincount(y[b], minlength=3).tolist() for b in batches[:2]]
    (10, [[5, 3, 2], [5, 3, 2]])
    """

    def __init__(self, y: Any, batch_size: int = 200, *, random_state: Any = None, drop_last: bool = True):
        y_np = check_labels(y)
        n = int(y_np.shape[0])
        if n == 0:
            raise ValueError("y is empty.")
        classes, codes = encode_labels(y_np)
        n_classes = int(classes.shape[0])
        batch_size = check_int(batch_size, "batch_size")
        if batch_size < n_classes:
            raise ValueError(
                f"batch_size={batch_size} is smaller than the number of classes ({n_classes}): "
                "a batch could not hold every class."
            )
        if batch_size > n:
            raise ValueError(f"batch_size={batch_size} exceeds the number of samples ({n}).")
        if not isinstance(drop_last, (bool, np.bool_)):
            raise ValueError(f"drop_last must be a bool, got {drop_last!r}.")
        self.batch_size = batch_size
        self.drop_last = bool(drop_last)
        self.classes_ = classes
        self.n_samples = n
        self._rng = check_generator(random_state)
        order = np.argsort(codes, kind="stable")
        counts = np.bincount(codes, minlength=n_classes)
        self.class_counts_ = counts
        self._members = np.split(order, np.cumsum(counts)[:-1])
        # Shares in exact integer arithmetic: q_c = B n_c / n = base_c + rem_c / n.
        self._base = (batch_size * counts) // n
        self._rem = (batch_size * counts) % n
        self._n_extra = int(batch_size - self._base.sum())
        self._credit = np.zeros(n_classes, dtype=np.int64)
        self._pools = [self._rng.permutation(m) for m in self._members]
        self._pos = np.zeros(n_classes, dtype=np.int64)
        self.n_batches = n // batch_size if self.drop_last else -(-n // batch_size)

    def __len__(self) -> int:
        return self.n_batches

    def next_counts(self) -> np.ndarray:
        """Per-class counts of the next batch (advances the carried remainders).

        Each count is ``⌊q_c⌋`` or ``⌈q_c⌉`` and the counts sum to ``batch_size``.
        """
        counts = self._base.copy()
        if self._n_extra:
            self._credit += self._rem
            eligible = np.flatnonzero(self._rem > 0)
            # Largest carried remainder first; random tie-breaking so no class is favoured.
            tiebreak = self._rng.random(eligible.size)
            order = np.lexsort((tiebreak, -self._credit[eligible]))
            chosen = eligible[order[: self._n_extra]]
            counts[chosen] += 1
            self._credit[chosen] -= self.n_samples
        return counts

    def _draw(self, c: int, k: int) -> np.ndarray:
        """Next ``k`` indices of class ``c`` from its running permutation."""
        pool, pos = self._pools[c], int(self._pos[c])
        if pos + k <= pool.size:
            self._pos[c] = pos + k
            return pool[pos : pos + k]
        head = pool[pos:]
        fresh = self._rng.permutation(self._members[c])
        # Indices still in this batch go last in the new pass so the batch has no duplicates
        # (possible because k <= n_c).
        if head.size:
            fresh = np.concatenate([fresh[~np.isin(fresh, head)], fresh[np.isin(fresh, head)]])
        need = k - head.size
        self._pools[c] = fresh
        self._pos[c] = need
        return np.concatenate([head, fresh[:need]])

    def next_batch(self) -> np.ndarray:
        """Indices of the next batch (int64 array of length ``batch_size``, shuffled)."""
        counts = self.next_counts()
        parts = [self._draw(c, int(k)) for c, k in enumerate(counts) if k > 0]
        batch = np.concatenate(parts)
        return batch[self._rng.permutation(batch.size)].astype(np.int64, copy=False)

    def __iter__(self) -> Iterator[np.ndarray]:
        for _ in range(self.n_batches):
            yield self.next_batch()

    def __repr__(self) -> str:
        return (
            f"BalancedBatchSampler(n_samples={self.n_samples}, n_classes={self.classes_.size}, "
            f"batch_size={self.batch_size}, drop_last={self.drop_last})"
        )
