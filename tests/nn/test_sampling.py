"""Balanced mini-batches: exact size, proportional class counts, coverage, determinism."""

import numpy as np
import pytest

from spectral_ml.nn import BalancedBatchSampler

from ._helpers import to_xp


def _labels(counts, seed=0):
    y = np.repeat(np.arange(len(counts)), counts)
    return np.random.default_rng(seed).permutation(y)


@pytest.mark.parametrize(
    "counts, batch_size",
    [([50, 30, 20], 10), ([500, 130, 77, 3], 200), ([7, 7, 7], 5), ([120, 80], 200), ([999, 1], 37)],
)
def test_every_batch_has_floor_or_ceil_of_each_share(counts, batch_size):
    y = _labels(counts)
    n = y.size
    share = batch_size * np.asarray(counts) / n
    sampler = BalancedBatchSampler(y, batch_size=batch_size, random_state=0)
    total = np.zeros(len(counts))
    n_batches = 0
    for _ in range(4):
        for batch in sampler:
            assert batch.shape == (batch_size,) and batch.dtype == np.int64
            assert np.unique(batch).size == batch_size  # no repeats inside a batch
            c = np.bincount(y[batch], minlength=len(counts))
            assert np.all((c == np.floor(share)) | (c == np.ceil(share))), (c, share)
            total += c
            n_batches += 1
            # The carried remainders keep every class within one sample of its exact share.
            assert np.all(np.abs(total - n_batches * share) < 1)


def test_extra_places_rotate_between_classes():
    """Plain largest-remainder rounding would always favour the same classes."""
    y = _labels([5] * 6)
    sampler = BalancedBatchSampler(y, batch_size=8, random_state=0)  # share 4/3 per class
    per_class = np.zeros(6)
    for _ in range(30):
        per_class += np.bincount(y[sampler.next_batch()], minlength=6)
    np.testing.assert_array_equal(per_class, 40)


def test_epoch_uses_every_sample_about_once():
    counts = [40, 25, 15]
    y = _labels(counts, seed=1)
    # n divisible by the batch size: each sample exactly once per epoch.
    sampler = BalancedBatchSampler(y, batch_size=20, random_state=3)
    for _ in range(3):
        seen = np.concatenate(list(sampler))
        np.testing.assert_array_equal(np.sort(seen), np.arange(y.size))
    # Not divisible, drop_last=False: the first epoch covers every sample.
    sampler = BalancedBatchSampler(y, batch_size=30, random_state=3, drop_last=False)
    assert len(sampler) == 3
    seen = np.concatenate(list(sampler))
    assert seen.size == 90 and np.unique(seen).size == y.size
    # drop_last=True: n // batch_size batches, no sample twice in the first epoch.
    sampler = BalancedBatchSampler(y, batch_size=30, random_state=3)
    assert len(sampler) == 2
    seen = np.concatenate(list(sampler))
    assert np.unique(seen).size == seen.size == 60


def test_determinism_and_seed_dependence():
    y = _labels([30, 20, 10])
    a = list(BalancedBatchSampler(y, 12, random_state=42))
    b = list(BalancedBatchSampler(y, 12, random_state=42))
    c = list(BalancedBatchSampler(y, 12, random_state=43))
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=False))
    assert not all(np.array_equal(u, v) for u, v in zip(a, c, strict=False))
    gen = np.random.default_rng(7)
    d = list(BalancedBatchSampler(y, 12, random_state=gen))
    e = list(BalancedBatchSampler(y, 12, random_state=np.random.default_rng(7)))
    assert all(np.array_equal(u, v) for u, v in zip(d, e, strict=False))


def test_labels_of_any_type_and_namespace(xp):
    y = np.array(["cat", "dog", "dog", "bird", "cat", "dog"] * 5)
    sampler = BalancedBatchSampler(y, batch_size=6, random_state=0)
    assert list(sampler.classes_) == ["bird", "cat", "dog"]
    assert list(sampler.class_counts_) == [5, 10, 15]
    assert sorted(y[sampler.next_batch()].tolist()) == ["bird", "cat", "cat", "dog", "dog", "dog"]
    ints = to_xp(xp, np.repeat([3, 9], [10, 5]))
    batch = BalancedBatchSampler(ints, batch_size=3, random_state=0).next_batch()
    assert np.bincount(np.repeat([3, 9], [10, 5])[batch], minlength=10)[[3, 9]].tolist() == [2, 1]
    assert "batch_size=3" in repr(BalancedBatchSampler(ints, batch_size=3))


@pytest.mark.parametrize(
    "y, kwargs, match",
    [
        (np.zeros((4, 2)), {}, "y"),
        (np.array([]), {}, "y"),
        (np.array([0.0, np.nan, 1.0]), dict(batch_size=2), "y"),
        (np.array([0, 1, 2, 0, 1, 2]), dict(batch_size=2), "batch_size"),
        (np.array([0, 1, 0, 1]), dict(batch_size=5), "batch_size"),
        (np.array([0, 1, 0, 1]), dict(batch_size=2.0), "batch_size"),
        (np.array([0, 1, 0, 1]), dict(batch_size=True), "batch_size"),
        (np.array([0, 1, 0, 1]), dict(batch_size=2, drop_last="no"), "drop_last"),
        (np.array([0, 1, 0, 1]), dict(batch_size=2, random_state="x"), "random_state"),
    ],
)
def test_invalid_input(y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        BalancedBatchSampler(y, **kwargs)
