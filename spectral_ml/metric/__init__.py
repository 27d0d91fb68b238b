"""Mahalanobis metric learning: GMML and Adversarial Metric Learning (AML).

Estimators (scikit-learn transformers): :class:`GMMLMetric`, :class:`AMLMetric` and
:class:`AMLMetricCV` (pairs, t, α and β chosen by inner cross-validation), sharing the
:class:`MahalanobisMixin` API. Array-level pieces (any array-API namespace): pair
sampling (random or local pairs) and sufficient statistics, the adversarial pairs of AML's Eq. 9, the reduced
objective D(M) and its gradient.
"""

from ._aml import AMLMetric
from ._aml_cv import AMLMetricCV, GridEdgeWarning
from ._base import MahalanobisMixin
from ._class_statistics import all_pair_statistics
from ._gmml import GMMLMetric
from ._neighbors import neighbor_pairs
from ._objective import (
    adversarial_pairs,
    adversarial_weight,
    aml_gradient,
    aml_objective,
    gmml_closed_form,
    gmml_gradient,
    gmml_loss,
    gmml_pair_loss,
)
from ._pairs import SingularStatisticsWarning, default_n_pairs, make_pairs, pair_statistics

__all__ = [
    "AMLMetric",
    "AMLMetricCV",
    "GMMLMetric",
    "GridEdgeWarning",
    "MahalanobisMixin",
    "SingularStatisticsWarning",
    "adversarial_pairs",
    "adversarial_weight",
    "all_pair_statistics",
    "aml_gradient",
    "aml_objective",
    "default_n_pairs",
    "gmml_closed_form",
    "gmml_gradient",
    "gmml_loss",
    "gmml_pair_loss",
    "make_pairs",
    "neighbor_pairs",
    "pair_statistics",
]
