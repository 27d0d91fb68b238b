"""scikit-learn API compliance of the metric learners (check_estimator)."""

from spectral_ml.metric import AMLMetric, GMMLMetric
from tests._estimator_checks import sklearn_checks


@sklearn_checks(
    [
        AMLMetric(),
        GMMLMetric(),
        AMLMetric(solver="pgd", n_pairs=500),
        AMLMetric(solver="riemannian", n_pairs=500),
        GMMLMetric(pairs="neighbors", path="ratio", t=2.0),
        AMLMetric(pairs="neighbors", n_refine=1),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
