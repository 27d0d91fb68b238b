"""Small matrices gain nothing from BLAS threads, and on a busy machine the threads' spin
waits can make a millisecond product take tens of milliseconds: run these tests on one."""

import pytest


@pytest.fixture(autouse=True, scope="module")
def _single_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
