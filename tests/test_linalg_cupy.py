"""Spectral calculus on CuPy arrays: runs only where CuPy and a GPU are present."""

import numpy as np
import pytest


def _cupy_or_skip():
    cp = pytest.importorskip("cupy", reason="CuPy is not installed (pip install spectral-ml[gpu])")
    try:
        if cp.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("CuPy is installed but no GPU is visible")
    except Exception as exc:  # CUDA driver missing or broken
        pytest.skip(f"CuPy cannot reach a GPU: {exc}")
    return cp


@pytest.fixture
def cp():
    return _cupy_or_skip()


def test_linalg_on_cupy_matches_numpy(cp):
    from spectral_ml import linalg

    rng = np.random.default_rng(0)
    G = rng.standard_normal((6, 6))
    M = G @ G.T + 6 * np.eye(6)
    A = rng.standard_normal((6, 6))
    Mc, Ac = cp.asarray(M), cp.asarray(A)
    pairs = [
        (linalg.spd_sqrt(Mc), linalg.spd_sqrt(M)),
        (linalg.geometric_mean(Mc, Ac @ Ac.T + cp.eye(6)), linalg.geometric_mean(M, A @ A.T + np.eye(6))),
        (
            linalg.spectral_function_grad(Mc, Ac, cp.log, lambda w: 1 / w),
            linalg.spectral_function_grad(M, A, np.log, lambda w: 1 / w),
        ),
        (linalg.project_spd(Mc - 7 * cp.eye(6)), linalg.project_spd(M - 7 * np.eye(6))),
    ]
    for got, ref in pairs:
        assert isinstance(got, cp.ndarray)
        np.testing.assert_allclose(cp.asnumpy(got), ref, rtol=1e-9, atol=1e-10)
    assert linalg.logdet_spd(Mc) == pytest.approx(np.linalg.slogdet(M)[1], rel=1e-12)
    with pytest.raises(ValueError):
        linalg.logdet_spd(-Mc)


def test_cholesky_failure_is_reported_on_cupy(cp):
    from spectral_ml._backend import cholesky

    rng = np.random.default_rng(1)
    G = rng.standard_normal((8, 8))
    M = G @ G.T + 8 * np.eye(8)
    C = cholesky(cp.asarray(M))
    assert isinstance(C, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(C), np.linalg.cholesky(M), rtol=1e-12, atol=1e-12)
    # Indefinite only at the last pivot: a partial factor with a positive diagonal would
    # pass for a factor if the failure were not read from the device.
    bad = M.copy()
    bad[-1, -1] = -1.0
    assert cholesky(cp.asarray(bad)) is None
    # Exactly singular: a repeated row and column.
    sing = M.copy()
    sing[5], sing[:, 5] = sing[2], sing[:, 2]
    assert cholesky(cp.asarray(sing)) is None


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-4)])
def test_cupy_factorization_keeps_its_failure_flag_on_the_device(cp, dtype, rtol):
    from spectral_ml._backend import cholesky_deferred as cholesky_with_flag
    from spectral_ml._backend.lapack import cusolver_potrf as _cupy_potrf

    rng = np.random.default_rng(2)
    G = rng.standard_normal((40, 40))
    M = (G @ G.T + 40 * np.eye(40)).astype(dtype)
    C, failed = _cupy_potrf(cp.asarray(M), cp)
    assert isinstance(failed, cp.ndarray) and failed.shape == ()
    assert not bool(failed)
    assert C.dtype == dtype and C.flags.c_contiguous
    np.testing.assert_allclose(cp.asnumpy(C), np.linalg.cholesky(M.astype(np.float64)), rtol=rtol, atol=rtol)
    assert not np.any(np.triu(cp.asnumpy(C), 1))
    bad = M.copy()
    bad[-1, -1] = -1.0
    _, failed = _cupy_potrf(cp.asarray(bad), cp)
    assert bool(failed)
    C, ok = cholesky_with_flag(cp.asarray(bad))
    assert isinstance(ok, cp.ndarray) and not bool(ok)
    C, ok = cholesky_with_flag(cp.asarray(M))
    assert isinstance(ok, cp.ndarray) and bool(ok)
