"""Shared fixtures: every array-level test runs on NumPy and on array-api-strict."""

import os

import numpy as np
import pytest


def _namespaces():
    params = [pytest.param("numpy", id="numpy")]
    params.append(pytest.param("array_api_strict", id="array_api_strict"))
    return params


@pytest.fixture(params=_namespaces())
def xp(request):
    """The array namespace under test (NumPy or array-api-strict)."""
    if request.param == "numpy":
        import array_api_compat.numpy as xnp

        return xnp
    strict = pytest.importorskip("array_api_strict")
    return strict


@pytest.fixture
def data_dir():
    """The data directory from SPECTRAL_ML_DATA, or skip with the reason."""
    path = os.environ.get("SPECTRAL_ML_DATA")
    if not path:
        pytest.skip("SPECTRAL_ML_DATA is not set: the shared datasets are not available")
    if not os.path.isdir(path):
        pytest.skip(f"SPECTRAL_ML_DATA={path!r} is not a directory")
    return path


@pytest.fixture
def rng():
    """A seeded NumPy generator."""
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True, scope="session")
def _single_blas_thread():
    """Run the tests with one BLAS thread.

    The test matrices are small and gain nothing from threads, while on a busy machine the
    threads' spin waits can turn a millisecond product into tens of milliseconds.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
