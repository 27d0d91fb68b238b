"""scikit-learn API compliance of the metric learners (check_estimator)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from spectral_ml.metric import AMLMetric, GMMLMetric


@parametrize_with_checks(
    [AMLMetric(), GMMLMetric(), AMLMetric(solver="pgd", n_pairs=500), AMLMetric(solver="riemannian", n_pairs=500)]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
