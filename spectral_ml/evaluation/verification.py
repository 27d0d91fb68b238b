"""Pair verification: ROC curve, AUC and FPR at a target TPR from pair distances.

A verification system declares a pair "same" when its distance is at most a threshold.
Sweeping the threshold traces the ROC curve (false positive rate against true positive
rate, positives being the similar pairs); the AML paper (Sec. 3.3, Fig. 4) reports it
with its area. The false positive rate at 95 % true positive rate is the usual single
number of patch matching (Brown et al. 2011). The curve and its area come from
:mod:`sklearn.metrics` (distances enter as negated scores); the equal error rate and the
FPR at a target TPR are read off that curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import auc, roc_curve

from .._backend import to_numpy
from .._validation import check_positive

__all__ = [
    "roc_curve_from_distances",
    "roc_auc_from_distances",
    "fpr_at_tpr",
    "VerificationReport",
    "pair_verification_report",
]


def _check(distances, labels):
    d = np.asarray(to_numpy(distances))
    lab = np.asarray(to_numpy(labels))
    if d.ndim != 1:
        raise ValueError(f"distances must be a 1-D array, got shape {d.shape}.")
    if d.dtype.kind not in "biuf":
        raise ValueError(f"distances must be numeric, got dtype {d.dtype}.")
    d = d.astype(np.float64)
    if not np.all(np.isfinite(d)):
        raise ValueError("distances contains NaN or infinity.")
    if lab.ndim != 1 or lab.shape[0] != d.shape[0]:
        raise ValueError(
            f"labels must be a 1-D array with one label per distance ({d.shape[0]}), got shape {lab.shape}."
        )
    if lab.dtype.kind == "b":
        pos = lab
    elif lab.dtype.kind in "iuf":
        values = set(np.unique(lab).tolist())
        if not values <= {-1, 1} and not values <= {0, 1}:
            raise ValueError(
                f"labels must be +1/-1, 1/0 or booleans (similar = +1, 1 or True), found {sorted(values)[:5]}."
            )
        pos = lab == 1
    else:
        raise ValueError(f"labels must be numeric or boolean, got dtype {lab.dtype}.")
    if pos.all() or not pos.any():
        raise ValueError("labels must contain both similar and dissimilar pairs.")
    return d, pos


def roc_curve_from_distances(distances: Any, labels: Any) -> tuple[Any, Any, Any]:
    """ROC curve of the rule "similar if distance ≤ threshold".

    Parameters
    ----------
    distances : array-like of shape (n_pairs,)
        Pair distances (any array-API namespace); smaller means more likely similar.
    labels : array-like of shape (n_pairs,)
        True relation: +1 / 1 / True for similar pairs, -1 / 0 / False for dissimilar.

    Returns
    -------
    fpr : ndarray
        False positive rates, increasing, from 0 to 1.
    tpr : ndarray
        True positive rates, increasing, from 0 to 1.
    thresholds : ndarray
        Distance thresholds, increasing; ``thresholds[0] = -inf`` (nothing accepted).
        Point i accepts the pairs with distance ≤ ``thresholds[i]``; tied distances are
        accepted together.

    Examples
    --------
    >>> from spectral_ml.evaluation.verification import roc_curve_from_distances
    >>> fpr, tpr, thr = roc_curve_from_distances([0.1, 0.4, 0.35, 0.8], [1, -1, 1, -1])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.0, 0.5, 1.0], [0.0, 0.5, 1.0, 1.0, 1.0])
    """
    d, pos = _check(distances, labels)
    # Scores are negated distances; keeping every point gives one per distinct distance,
    # tied distances entering together.
    fpr, tpr, thresholds = roc_curve(pos, -d, drop_intermediate=False)
    return fpr, tpr, -thresholds


def roc_auc_from_distances(distances: Any, labels: Any) -> float:
    """Area under the ROC curve of pair distances (ties count one half).

    Equals the probability that a random similar pair is closer than a random
    dissimilar pair.

    Parameters
    ----------
    distances, labels
        As in :func:`roc_curve_from_distances`.

    Returns
    -------
    float
        AUC in [0, 1]; 0.5 is chance.

    Examples
    --------
    >>> from spectral_ml.evaluation.verification import roc_auc_from_distances
    >>> roc_auc_from_distances([0.1, 0.2, 0.3, 0.4], [1, 1, -1, -1])
    1.0
    """
    fpr, tpr, _ = roc_curve_from_distances(distances, labels)
    return float(auc(fpr, tpr))


def fpr_at_tpr(distances: Any, labels: Any, tpr: float = 0.95) -> float:
    """False positive rate at the smallest threshold reaching a target true positive rate.

    Parameters
    ----------
    distances, labels
        As in :func:`roc_curve_from_distances`.
    tpr : float, default=0.95
        Target true positive rate, in (0, 1].

    Returns
    -------
    float
        The FPR of the first ROC point whose TPR is at least ``tpr`` (FPR95 for the
        default).

    Examples
    --------
    >>> from spectral_ml.evaluation.verification import fpr_at_tpr
    >>> fpr_at_tpr([0.1, 0.2, 0.3, 0.4], [1, -1, 1, -1])
    0.5
    """
    tpr = _check_tpr(tpr)
    fpr, tprs, _ = roc_curve_from_distances(distances, labels)
    return _fpr_at(fpr, tprs, tpr)


def _check_tpr(tpr) -> float:
    return check_positive(tpr, "tpr", upper=1.0)


def _fpr_at(fpr, tprs, tpr: float) -> float:
    # Guard the comparison against round-off in tp / n_pos (e.g. 19/20 vs 0.95).
    i = int(np.argmax(tprs >= tpr - 1e-12))
    return float(fpr[i])


@dataclass
class VerificationReport:
    r"""Summary of a pair-verification evaluation.

    Attributes
    ----------
    auc : float
        Area under the ROC curve.
    fpr_at_tpr : float
        False positive rate at ``tpr_target`` true positive rate.
    tpr_target : float
        The target true positive rate (0.95 by default).
    eer : float
        Equal error rate: the error where :math:`\mathrm{FPR} = 1 - \mathrm{TPR}` (linear
        interpolation).
    fpr, tpr, thresholds : ndarray
        The ROC curve (see :func:`roc_curve_from_distances`).
    n_similar, n_dissimilar : int
        Number of pairs of each kind.
    """

    auc: float
    fpr_at_tpr: float
    tpr_target: float
    eer: float
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    n_similar: int
    n_dissimilar: int

    def __str__(self) -> str:
        pct = round(100 * self.tpr_target)
        return (
            f"AUC = {self.auc:.4f}, FPR@{pct}%TPR = {self.fpr_at_tpr:.4f}, EER = {self.eer:.4f} "
            f"({self.n_similar} similar / {self.n_dissimilar} dissimilar pairs)"
        )


def _equal_error_rate(fpr, tpr):
    fnr = 1.0 - tpr
    diff = fpr - fnr  # increases from -1 to 1 along the curve
    j = int(np.argmax(diff >= 0))
    if j == 0:
        return float(fpr[0])
    d0, d1 = diff[j - 1], diff[j]
    s = 0.0 if d1 == d0 else -d0 / (d1 - d0)
    return float(fpr[j - 1] + s * (fpr[j] - fpr[j - 1]))


def pair_verification_report(distances: Any, labels: Any, *, tpr: float = 0.95) -> VerificationReport:
    """ROC curve, AUC, FPR at a target TPR and equal error rate of pair distances.

    Parameters
    ----------
    distances : array-like of shape (n_pairs,)
        Pair distances, e.g. ``estimator.pair_distance(pairs)``; smaller means more
        likely similar.
    labels : array-like of shape (n_pairs,)
        +1 / 1 / True for similar pairs, -1 / 0 / False for dissimilar ones.
    tpr : float, default=0.95
        Target true positive rate of the reported FPR.

    Returns
    -------
    VerificationReport

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.evaluation.verification import pair_verification_report
    >>> rng = np.random.default_rng(0)
    >>> d = np.r_[rng.normal(1.0, 0.3, 200), rng.normal(2.0, 0.3, 200)]
    >>> rep = pair_verification_report(d, np.r_[np.ones(200), -np.ones(200)])
    >>> rep.auc > 0.95 and rep.fpr_at_tpr < 0.2
    True
    """
    tpr = _check_tpr(tpr)
    d, pos = _check(distances, labels)
    fpr, tprs, thr = roc_curve_from_distances(d, pos)
    return VerificationReport(
        auc=float(auc(fpr, tprs)),
        fpr_at_tpr=_fpr_at(fpr, tprs, tpr),
        tpr_target=float(tpr),
        eer=_equal_error_rate(fpr, tprs),
        fpr=fpr,
        tpr=tprs,
        thresholds=thr,
        n_similar=int(pos.sum()),
        n_dissimilar=int((~pos).sum()),
    )
