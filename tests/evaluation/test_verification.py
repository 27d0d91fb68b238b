"""Pair verification: ROC, AUC, FPR at 95 % TPR."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from spectral_ml.evaluation.verification import (
    VerificationReport,
    fpr_at_tpr,
    pair_verification_report,
    roc_auc_from_distances,
    roc_curve_from_distances,
)
from spectral_ml.metric import AMLMetric


def test_roc_matches_sklearn_with_ties(rng):
    d = np.round(rng.random(400), 2)  # many ties
    lab = np.where(rng.random(400) < 0.4 + 0.3 * (d < 0.5), 1, -1)
    fpr, tpr, thr = roc_curve_from_distances(d, lab)
    f_ref, t_ref, th_ref = roc_curve(lab, -d, drop_intermediate=False)
    np.testing.assert_allclose(fpr, f_ref)
    np.testing.assert_allclose(tpr, t_ref)
    np.testing.assert_allclose(thr[1:], -th_ref[1:])
    assert thr[0] == -np.inf
    assert roc_auc_from_distances(d, lab) == pytest.approx(roc_auc_score(lab, -d))


def test_smaller_distance_means_similar():
    assert roc_auc_from_distances([0.1, 0.2, 0.8, 0.9], [1, 1, -1, -1]) == 1.0
    assert roc_auc_from_distances([0.1, 0.2, 0.8, 0.9], [-1, -1, 1, 1]) == 0.0
    assert roc_auc_from_distances([0.5, 0.5, 0.5, 0.5], [-1, 1, -1, 1]) == 0.5


def test_fpr_at_95_tpr_by_hand():
    # 20 similar pairs at distances 1..20, 10 dissimilar ones at 10.5, 11.5, ... 19.5.
    d = np.r_[np.arange(1, 21), np.arange(10, 20) + 0.5]
    lab = np.r_[np.ones(20), -np.ones(10)]
    # TPR reaches 19/20 = 0.95 at distance 19, accepting dissimilar 10.5 ... 18.5 (9 of 10).
    assert fpr_at_tpr(d, lab) == pytest.approx(0.9)
    assert fpr_at_tpr(d, lab, tpr=0.5) == 0.0  # 10 similar pairs at ≤ 10
    assert fpr_at_tpr(d, lab, tpr=1.0) == pytest.approx(1.0)


@pytest.mark.parametrize("labels", [[1, -1, 1, -1, 1], [1, 0, 1, 0, 1], [True, False, True, False, True]])
def test_label_encodings_are_equivalent(labels):
    d = [0.1, 0.5, 0.3, 0.2, 0.9]
    assert roc_auc_from_distances(d, np.asarray(labels)) == pytest.approx(roc_auc_from_distances(d, [1, -1, 1, -1, 1]))


def test_report_fields(rng):
    d = np.r_[rng.normal(1.0, 0.3, 300), rng.normal(2.0, 0.3, 200)]
    lab = np.r_[np.ones(300), -np.ones(200)]
    rep = pair_verification_report(d, lab)
    assert isinstance(rep, VerificationReport)
    assert rep.auc == pytest.approx(roc_auc_score(lab, -d))
    assert rep.fpr_at_tpr == fpr_at_tpr(d, lab, 0.95)
    assert rep.n_similar == 300 and rep.n_dissimilar == 200
    # Two unit-variance-ish Gaussians 1/0.3 apart: EER ≈ Φ(−0.5/0.3) ≈ 0.048.
    assert 0.02 < rep.eer < 0.08
    assert "AUC" in str(rep) and "FPR@95%TPR" in str(rep)


def test_accepts_xp_arrays(xp, rng):
    d = rng.random(50)
    lab = np.where(rng.random(50) < 0.5, 1.0, -1.0)
    assert roc_auc_from_distances(xp.asarray(d), xp.asarray(lab)) == pytest.approx(roc_auc_from_distances(d, lab))


def test_learned_metric_verifies_better_than_euclidean(rng):
    # Two informative coordinates (similar pairs nearly coincide there) and four noisy
    # ones that are unrelated within every pair.
    n = 400
    a = rng.standard_normal((n, 6))
    b = rng.standard_normal((n, 6))
    same = rng.random(n) < 0.5
    b[same, :2] = a[same, :2] + 0.1 * rng.standard_normal((same.sum(), 2))
    pairs = np.stack([a, b], axis=1)
    lab = np.where(same, 1, -1)
    est = AMLMetric(random_state=0).fit_pairs(pairs[:300], lab[:300])
    auc_aml = pair_verification_report(est.pair_distance(pairs[300:]), lab[300:]).auc
    auc_euc = roc_auc_from_distances(np.linalg.norm(a[300:] - b[300:], axis=1), lab[300:])
    assert auc_aml > 0.85
    assert auc_aml > auc_euc + 0.1


@pytest.mark.parametrize(
    "d, lab, match",
    [
        ([0.1, np.nan], [1, -1], "NaN"),
        ([0.1, 0.2], [1, 1], "both"),
        ([0.1, 0.2], [1, 2], "labels must be"),
        ([0.1, 0.2, 0.3], [1, -1], "one label per distance"),
        ([[0.1, 0.2]], [1, -1], "1-D"),
        ([0.1, 0.2], ["a", "b"], "numeric or boolean"),
    ],
)
def test_bad_input(d, lab, match):
    with pytest.raises(ValueError, match=match):
        roc_curve_from_distances(np.asarray(d), np.asarray(lab))


@pytest.mark.parametrize("tpr", [0.0, 1.5, -0.1])
def test_bad_target_tpr(tpr):
    with pytest.raises(ValueError, match="tpr"):
        fpr_at_tpr([0.1, 0.2], [1, -1], tpr=tpr)


def test_roc_points_count_pairs_at_each_distinct_threshold(rng):
    d = np.round(rng.uniform(0, 1, 60), 1)  # many ties
    lab = rng.integers(0, 2, 60)
    lab[:2] = [0, 1]
    fpr, tpr, thr = roc_curve_from_distances(d, lab)
    assert thr[0] == -np.inf and np.all(np.diff(thr[1:]) > 0)
    np.testing.assert_array_equal(thr[1:], np.unique(d))
    for f, t, h in zip(fpr, tpr, thr, strict=True):
        assert t == pytest.approx(np.mean(d[lab == 1] <= h), abs=1e-15)
        assert f == pytest.approx(np.mean(d[lab == 0] <= h), abs=1e-15)
    auc = roc_auc_from_distances(d, lab)
    pos, neg = d[lab == 1], d[lab == 0]
    mann_whitney = np.mean((pos[:, None] < neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))
    assert auc == pytest.approx(mann_whitney, abs=1e-12)
