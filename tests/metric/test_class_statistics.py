"""Exact all-pairs statistics from class moments, against brute-force enumeration."""

import itertools

import numpy as np
import pytest

from spectral_ml.metric._class_statistics import (
    _labelled_moments,
    all_pair_statistics,
    sampled_scale,
)
from spectral_ml.metric._pairs import default_n_pairs


def _brute_force(X, y):
    """Σ over every unordered pair of distinct rows, split by label agreement (float64)."""
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    A, B = np.zeros((d, d)), np.zeros((d, d))
    n_sim = n_dis = 0
    for i, j in itertools.combinations(range(X.shape[0]), 2):
        v = X[i] - X[j]
        if y[i] == y[j]:
            A += np.outer(v, v)
            n_sim += 1
        else:
            B += np.outer(v, v)
            n_dis += 1
    return A, B, n_sim, n_dis


def _relative(a, b):
    return float(np.abs(np.asarray(a) - b).max() / np.abs(b).max())


def _mixture(rng, counts, d, offset=0.0, spread=1.0):
    y = np.repeat(np.arange(len(counts)), counts)
    centres = rng.normal(size=(len(counts), d)) * 3.0
    X = offset + centres[y] + spread * rng.normal(size=(y.shape[0], d)) @ rng.normal(size=(d, d))
    perm = rng.permutation(y.shape[0])
    return X[perm], y[perm]


@pytest.mark.parametrize("chunk_size", [None, 1, 7, 40])
def test_all_pairs_equal_brute_force_float64_xp(xp, rng, chunk_size):
    X, y = _mixture(rng, (23, 9, 14, 2), d=5, offset=2.0)
    A0, B0, s0, d0 = _brute_force(X, y)
    A, B, n_sim, n_dis = all_pair_statistics(xp.asarray(X), y, chunk_size=chunk_size)
    assert type(A) is type(xp.asarray(X)) and A.dtype == xp.float64
    assert (n_sim, n_dis) == (s0, d0)
    assert _relative(A, A0) < 1e-10
    assert _relative(B, B0) < 1e-10


def test_all_pairs_float32_input_is_exact_for_its_values_xp(xp, rng):
    """Moments accumulate in float64: float32 input loses nothing beyond its own rounding.

    The reference is the brute force over the very same float32 values, in float64, so the
    float64 tolerance applies. (A float32 accumulation would not meet it: the sums of
    N² outer products carry a relative error of order N·eps32 ≈ 1e-5 here.)
    """
    X, y = _mixture(rng, (40, 25, 31), d=4, offset=5.0)
    X32 = X.astype(np.float32)
    A0, B0, _, _ = _brute_force(X32.astype(np.float64), y)
    A, B, _, _ = all_pair_statistics(xp.asarray(X32), y, chunk_size=16)
    assert A.dtype == xp.float64
    assert _relative(A, A0) < 1e-10
    assert _relative(B, B0) < 1e-10


def test_all_pairs_accurate_with_large_offset(rng):
    """Features far from zero against their spread: raw moments would cancel, centred ones do not."""
    X, y = _mixture(rng, (30, 20, 25), d=3, offset=1e6, spread=1e-2)
    A0, B0, _, _ = _brute_force(X, y)
    A, B, _, _ = all_pair_statistics(X, y, chunk_size=11)
    assert _relative(A, A0) < 1e-10
    assert _relative(B, B0) < 1e-10
    # The same data defeat the raw-moment formula Σ_c (n_c S_c − s_c s_cᵀ): the test is a
    # real test of the centring.
    naive = sum(
        (y == c).sum() * X[y == c].T @ X[y == c] - np.outer(X[y == c].sum(0), X[y == c].sum(0)) for c in np.unique(y)
    )
    assert _relative(naive, A0) > 1e-6


def test_issue_formula_counts_ordered_pairs(rng):
    """Σ_c 2(n_c S_c − s_c s_cᵀ) and 2(N S − s sᵀ) − A sum over *ordered* pairs: twice ours."""
    X, y = _mixture(rng, (12, 8, 10), d=3)
    A, B, _, _ = all_pair_statistics(X, y)
    A_ordered = sum(
        2 * ((y == c).sum() * X[y == c].T @ X[y == c] - np.outer(X[y == c].sum(0), X[y == c].sum(0)))
        for c in np.unique(y)
    )
    s = X.sum(0)
    B_ordered = 2 * (X.shape[0] * X.T @ X - np.outer(s, s)) - A_ordered
    assert _relative(2 * A, A_ordered) < 1e-10
    assert _relative(2 * B, B_ordered) < 1e-10


def test_all_pairs_string_labels_and_chunk_invariance(rng):
    X, y = _mixture(rng, (15, 6, 9), d=4)
    labels = np.array(["cat", "dog", "eel"])[y]
    ref = all_pair_statistics(X, y)
    for chunk in (1, 5, 29, 1000):
        A, B, n_sim, n_dis = all_pair_statistics(X, labels, chunk_size=chunk)
        assert (n_sim, n_dis) == ref[2:]
        assert _relative(A, ref[0]) < 1e-12 and _relative(B, ref[1]) < 1e-12


def test_training_parts_from_one_pass_equal_separate_statistics(rng):
    """Statistics of every fold's training part and of the whole set from a single pass."""
    X, y = _mixture(rng, (20, 14, 17), d=4)
    parts = [np.flatnonzero(np.arange(X.shape[0]) % 3 != k) for k in range(3)]
    parts.append(np.arange(0, X.shape[0], 2))  # an arbitrary overlapping subset
    moments = _labelled_moments(X, y, chunk_size=13, train_parts=parts)
    assert len(moments) == len(parts) + 1
    for rows, m in zip(parts + [np.arange(X.shape[0])], moments, strict=True):
        A0, B0, s0, d0 = all_pair_statistics(X[rows], y[rows])
        A, B, n_sim, n_dis = m.statistics()
        assert (n_sim, n_dis) == (s0, d0)
        assert _relative(A, A0) < 1e-12 and _relative(B, B0) < 1e-12


def test_sampled_scale_is_the_expectation_of_default_sampled_statistics(rng):
    """Scaled all-pairs sums = (pairs drawn per kind) × (mean over all pairs of that kind)."""
    X, y = _mixture(rng, (10, 7, 5), d=3)
    A0, B0, s0, d0 = _brute_force(X, y)
    A, B = sampled_scale(*all_pair_statistics(X, y), n_classes=3)
    half = default_n_pairs(3) // 2
    assert _relative(A, half * A0 / s0) < 1e-12
    assert _relative(B, half * B0 / d0) < 1e-12


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.zeros((4, 2)), np.zeros(4), "at least 2 classes"),
        (np.zeros((4, 2)), np.array([0, 0, 0, 1]), "only one sample"),
        (np.zeros((4, 2)), np.array([0, 0, 1]), "labels but X has"),
        (np.zeros(4), np.array([0, 0, 1, 1]), "2-D"),
        (np.array([[0.0, 1.0], [np.nan, 1.0], [2.0, 0.0], [1.0, 1.0]]), np.array([0, 0, 1, 1]), "X contains NaN"),
        (np.zeros((4, 2)), np.array([0.0, np.nan, 1.0, 1.0]), "y contains NaN"),
    ],
)
def test_all_pairs_rejects_bad_input(X, y, match):
    with pytest.raises(ValueError, match=match):
        all_pair_statistics(X, y)


@pytest.mark.parametrize("chunk_size", [0, -3, 2.5, True])
def test_all_pairs_rejects_bad_chunk_size(chunk_size):
    with pytest.raises(ValueError, match="chunk_size"):
        all_pair_statistics(np.eye(4), np.array([0, 0, 1, 1]), chunk_size=chunk_size)


# ---------------------------------------------------------------------------------------
# Estimators with n_pairs="all"
# ---------------------------------------------------------------------------------------
def _enumerated_pairs(X, y):
    idx = np.array(list(itertools.combinations(range(X.shape[0]), 2)))
    labels = np.where(y[idx[:, 0]] == y[idx[:, 1]], 1, -1)
    return X[idx], labels


def _balanced_classes(rng, d=3):
    """Class sizes 15 and 10: 105 + 45 = 150 similar pairs and 15·10 = 150 dissimilar ones.

    With as many pairs of each kind, the scaled all-pairs statistics are a common multiple
    of the plain sums over the enumerated pairs, which leaves every minimizer unchanged.
    """
    return _mixture(rng, (15, 10), d=d, offset=1.0)


def test_gmml_all_pairs_equals_fit_on_enumerated_pairs(rng):
    from spectral_ml.metric import GMMLMetric

    X, y = _balanced_classes(rng)
    pairs, labels = _enumerated_pairs(X, y)
    assert (labels == 1).sum() == (labels == -1).sum() == 150
    est = GMMLMetric(n_pairs="all").fit(X, y)
    ref = GMMLMetric().fit_pairs(pairs, labels)
    assert est.n_pairs_ == ref.n_pairs_ == 300
    assert _relative(est.mahalanobis_matrix_, ref.mahalanobis_matrix_) < 1e-10


def test_aml_all_pairs_equals_fit_on_enumerated_pairs(rng):
    from spectral_ml.metric import AMLMetric

    X, y = _balanced_classes(rng)
    pairs, labels = _enumerated_pairs(X, y)
    est = AMLMetric(alpha=2.0, beta=0.5, n_pairs="all", tol=1e-10, max_iter=5000).fit(X, y)
    ref = AMLMetric(alpha=2.0, beta=0.5, tol=1e-10, max_iter=5000).fit_pairs(pairs, labels)
    assert _relative(est.mahalanobis_matrix_, ref.mahalanobis_matrix_) < 1e-7


def test_all_pairs_fit_uses_the_scaled_exact_statistics_xp(xp, rng):
    """Any class sizes: the fit is the closed form on the scaled all-pairs statistics."""
    from spectral_ml.linalg import inverse_sharp
    from spectral_ml.metric import GMMLMetric

    X, y = _mixture(rng, (30, 12, 21), d=4)
    A0, B0, s0, d0 = _brute_force(X, y)
    half = default_n_pairs(3) // 2
    A, B = half * A0 / s0, half * B0 / d0
    est = GMMLMetric(n_pairs="all", reg=0.0).fit(xp.asarray(X), y)
    assert est.n_pairs_ == X.shape[0] * (X.shape[0] - 1) // 2
    M = np.asarray(est.mahalanobis_matrix_)
    assert _relative(M, inverse_sharp(A, B, 0.5)) < 1e-9


def test_aml_cv_all_pairs_folds_match_separate_fits(rng):
    """AMLMetricCV with all pairs: the refit is AMLMetric on all pairs at the chosen α, β."""
    from spectral_ml.metric import AMLMetric, AMLMetricCV

    X, y = _mixture(rng, (40, 30, 35), d=3)
    cv = AMLMetricCV(alphas=(0.0,), betas=(1.0,), cv=3, n_pairs="all", pairs="random", ts=None).fit(X, y)
    ref = AMLMetric(alpha=0.0, beta=1.0, n_pairs="all").fit(X, y)
    assert cv.n_pairs_ == ref.n_pairs_
    assert _relative(cv.mahalanobis_matrix_, ref.mahalanobis_matrix_) < 1e-8


def test_n_pairs_rejects_other_strings():
    from sklearn.utils._param_validation import InvalidParameterError

    from spectral_ml.metric import GMMLMetric

    with pytest.raises(InvalidParameterError, match="n_pairs"):
        GMMLMetric(n_pairs="every").fit(np.eye(4), np.array([0, 0, 1, 1]))
