"""Pair sampling and the sufficient statistics A, B."""

import numpy as np
import pytest

from spectral_ml._backend import get_namespace, to_numpy
from spectral_ml.metric import SingularStatisticsWarning, default_n_pairs, make_pairs, pair_statistics
from spectral_ml.metric._pairs import check_pair_labels, difference_scatter


def _labels(rng, counts=(30, 20, 10)):
    y = np.concatenate([np.full(c, k) for k, c in enumerate(counts)])
    return rng.permutation(y)


def test_default_number_of_pairs_is_1000_c_c_minus_1(rng):
    y = _labels(rng)
    idx, lab = make_pairs(y, random_state=0)
    assert default_n_pairs(3) == 6000
    assert idx.shape == (6000, 2) and lab.shape == (6000,)


@pytest.mark.parametrize("n_pairs", [2, 3, 101, 1000])
def test_pairs_are_balanced_and_correctly_labelled(rng, n_pairs):
    y = _labels(rng)
    idx, lab = make_pairs(y, n_pairs, random_state=1)
    assert idx.shape == (n_pairs, 2)
    assert set(np.unique(lab)) == {-1, 1}
    assert (lab == 1).sum() == n_pairs // 2
    assert (lab == -1).sum() == n_pairs - n_pairs // 2
    same = y[idx[:, 0]] == y[idx[:, 1]]
    np.testing.assert_array_equal(same, lab == 1)
    # A similar pair never pairs a sample with itself.
    assert np.all(idx[lab == 1, 0] != idx[lab == 1, 1])
    assert idx.min() >= 0 and idx.max() < y.shape[0]


def test_pairs_reproducible_with_random_state(rng):
    y = _labels(rng)
    a = make_pairs(y, 500, random_state=3)
    b = make_pairs(y, 500, random_state=3)
    c = make_pairs(y, 500, random_state=4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_pairs_uniform_over_pairs(rng):
    # Similar pairs are uniform over same-class pairs: class k is drawn with probability
    # ∝ n_k (n_k − 1); each dissimilar pair's classes follow ∝ n_k n_l.
    counts = np.array([40, 20, 10])
    y = np.repeat(np.arange(3), counts)
    idx, lab = make_pairs(y, 60000, random_state=0)
    sim_class = y[idx[lab == 1, 0]]
    p_sim = counts * (counts - 1) / np.sum(counts * (counts - 1))
    np.testing.assert_allclose(np.bincount(sim_class) / sim_class.size, p_sim, atol=0.01)
    dis = np.sort(y[idx[lab == -1]], axis=1)
    pairs_kl = {(0, 1): 40 * 20, (0, 2): 40 * 10, (1, 2): 20 * 10}
    total = sum(pairs_kl.values())
    for (k, m), w in pairs_kl.items():
        frac = np.mean((dis[:, 0] == k) & (dis[:, 1] == m))
        assert abs(frac - w / total) < 0.01
    # Within a class, every sample is used about equally often.
    members = idx[lab == 1][sim_class == 2].ravel()
    freq = np.bincount(members, minlength=70)[60:70] / members.size
    np.testing.assert_allclose(freq, 0.1, atol=0.02)


def test_pairs_work_with_string_labels():
    y = np.array(["a", "b", "a", "b", "c", "c"])
    idx, lab = make_pairs(y, 50, random_state=0)
    np.testing.assert_array_equal(y[idx[:, 0]] == y[idx[:, 1]], lab == 1)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.zeros(5), "at least 2 classes"),
        (np.array([0, 0, 0, 1]), "only one sample"),
        (np.array([[0, 1], [1, 0]]), "1-D"),
        (np.array([0.0, 1.0, np.nan, 1.0]), "NaN"),
        (np.array([], dtype=int), "empty"),
    ],
)
def test_make_pairs_rejects_bad_labels(y, match):
    with pytest.raises(ValueError, match=match):
        make_pairs(y, 10, random_state=0)


@pytest.mark.parametrize("n_pairs", [0, -5, 1, 2.5, True])
def test_make_pairs_rejects_bad_n_pairs(n_pairs):
    with pytest.raises(ValueError, match="n_pairs"):
        make_pairs(np.array([0, 0, 1, 1]), n_pairs)


def _direct(pairs, lab):
    diff = pairs[:, 0] - pairs[:, 1]
    return diff[lab == 1].T @ diff[lab == 1], diff[lab == -1].T @ diff[lab == -1]


def test_pair_statistics_matches_direct_sum_xp(xp, rng):
    pairs = rng.standard_normal((57, 2, 4))
    lab = np.where(rng.random(57) < 0.4, 1, -1)
    A_ref, B_ref = _direct(pairs, lab)
    A, B = pair_statistics(xp.asarray(pairs), xp.asarray(lab), chunk_size=5)
    assert type(A) is type(xp.asarray(pairs))
    np.testing.assert_allclose(np.asarray(A), A_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(B), B_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk_size", [None, 1, 7])
def test_indexed_statistics_match_explicit_pairs_xp(xp, rng, chunk_size):
    X = rng.standard_normal((40, 5))
    y = rng.integers(0, 3, 40)
    idx, lab = make_pairs(y, 301, random_state=0)
    A_ref, B_ref = _direct(X[idx], lab)
    A, B = pair_statistics(xp.asarray(X), lab, idx, chunk_size=chunk_size)
    np.testing.assert_allclose(np.asarray(A), A_ref, rtol=1e-11, atol=1e-10)
    np.testing.assert_allclose(np.asarray(B), B_ref, rtol=1e-11, atol=1e-10)
    # Symmetric by construction.
    np.testing.assert_array_equal(np.asarray(A), np.asarray(A).T)


def test_indexed_statistics_accurate_with_large_offset(rng):
    # The NumPy path uses Xᵀ L X; centring keeps it accurate when features sit far
    # from zero (a naive Σ deg·x xᵀ − Σ x x'ᵀ would lose ~12 digits here).
    X = rng.standard_normal((200, 3)) + 1e6
    idx, lab = make_pairs(rng.integers(0, 2, 200), 1000, random_state=0)
    A_ref, B_ref = _direct(X[idx] - 1e6, lab)
    A, B = pair_statistics(X, lab, idx)
    np.testing.assert_allclose(A, A_ref, rtol=1e-7)
    np.testing.assert_allclose(B, B_ref, rtol=1e-7)


def test_pair_statistics_float32_input_accumulates_in_float64(rng):
    pairs = rng.standard_normal((100, 2, 3)).astype(np.float32)
    lab = np.r_[np.ones(50), -np.ones(50)]
    A, B = pair_statistics(pairs, lab)
    assert A.dtype == np.float64
    A_ref, _ = _direct(pairs.astype(np.float64), lab)
    np.testing.assert_allclose(A, A_ref, rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"X": np.zeros((4, 3, 2)), "y": [1, -1, 1, -1]}, "shape"),
        ({"X": np.zeros((4, 2)), "y": [1, -1, 1, -1]}, "3-D"),
        ({"X": np.full((2, 2, 2), np.nan), "y": [1, -1]}, "NaN"),
        ({"X": np.zeros((2, 2, 2)), "y": [1, 0]}, r"\+1"),
        ({"X": np.zeros((2, 2, 2)), "y": [1, 1]}, "dissimilar"),
        ({"X": np.zeros((2, 2, 2)), "y": [1, -1, 1]}, "one label per pair"),
        ({"X": np.zeros((5, 2)), "y": [1, -1], "indices": np.array([[0, 1], [2, 5]])}, "indices"),
        ({"X": np.zeros((5, 2)), "y": [1, -1], "indices": np.array([[0.0, 1.0], [2.0, 3.0]])}, "integers"),
        ({"X": np.zeros((2, 2, 2)), "y": [1, -1], "chunk_size": 0}, "chunk_size"),
    ],
)
def test_pair_statistics_rejects_bad_input(kwargs, match):
    X = kwargs.pop("X")
    y = kwargs.pop("y")
    with pytest.raises(ValueError, match=match):
        pair_statistics(X, np.asarray(y), **kwargs)


def test_check_pair_labels_rejects_booleans():
    with pytest.raises(ValueError, match="booleans"):
        check_pair_labels(np.array([True, False]), 2)


def test_singular_statistics_warning_is_a_user_warning():
    assert issubclass(SingularStatisticsWarning, UserWarning)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_difference_scatter_is_the_sum_of_outer_products(xp, rng, dtype):
    X = (rng.standard_normal((9, 4)) + 100.0).astype(dtype)  # an offset the NumPy path centres away
    first = rng.integers(0, 9, size=25)
    second = rng.integers(0, 9, size=25)
    first[:3] = second[:3]  # zero differences and repeated pairs are allowed
    D = X[first].astype(np.float64) - X[second]
    expected = D.T @ D
    S = difference_scatter(xp.asarray(X), first, second, chunk_size=4)
    assert get_namespace(S) is get_namespace(xp.asarray(X)) and S.dtype == xp.asarray(X).dtype
    S = to_numpy(S)
    np.testing.assert_array_equal(S, S.T)
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(S, expected, rtol=rtol, atol=rtol * np.abs(expected).max())
    empty = np.zeros(0, dtype=np.int64)
    np.testing.assert_array_equal(to_numpy(difference_scatter(xp.asarray(X), empty, empty, chunk_size=4)), 0)
