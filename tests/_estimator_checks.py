"""scikit-learn's estimator checks as a pytest parametrization on every supported release."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks


def sklearn_checks(estimators, **kwargs):
    """``parametrize_with_checks(estimators)`` with its cases in a list.

    scikit-learn 1.6 passes the cases to ``pytest.mark.parametrize`` as a generator, which
    pytest deprecates (an error from pytest 10); later releases pass a list.
    """
    mark = parametrize_with_checks(estimators, **kwargs).mark
    names, cases, *rest = mark.args
    return pytest.mark.parametrize(names, list(cases), *rest, **mark.kwargs)
