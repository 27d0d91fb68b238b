"""Evaluation of learned metrics and embeddings.

* Mahalanobis k-NN classification error (:func:`knn_error`, :func:`knn_predict`);
* pair verification from pair distances: ROC curve, AUC, FPR at a target TPR
  (:func:`pair_verification_report` and its pieces);
* retrieval: Precision@k, mAP@k with a selectable divisor, MAP@R, precision@1;
* the Wasserstein gap between features and a reference distribution ("Gap to P").
"""

from .knn import knn_error, knn_predict, metric_transform
from .retrieval import map_at_r, mean_average_precision_at_k, precision_at_1, precision_at_k
from .verification import (
    VerificationReport,
    fpr_at_tpr,
    pair_verification_report,
    roc_auc_from_distances,
    roc_curve_from_distances,
)
from .wasserstein import UniformBoxSampler, gap_to_reference, uniform_box_sampler, wasserstein_distance

__all__ = [
    "knn_error",
    "knn_predict",
    "metric_transform",
    "VerificationReport",
    "fpr_at_tpr",
    "pair_verification_report",
    "roc_auc_from_distances",
    "roc_curve_from_distances",
    "mean_average_precision_at_k",
    "precision_at_k",
    "precision_at_1",
    "map_at_r",
    "wasserstein_distance",
    "gap_to_reference",
    "uniform_box_sampler",
    "UniformBoxSampler",
]
