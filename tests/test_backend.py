"""Backend plumbing: namespaces, validation, and the Cholesky helpers."""

import numpy as np
import pytest

from spectral_ml import _backend as B


def test_as_float_array_validation(xp):
    x = xp.asarray(np.arange(6).reshape(2, 3))
    out = B.as_float_array(x, "X", ndim=2)
    assert out.dtype == xp.float64
    x32 = xp.asarray(np.ones((2, 2), dtype=np.float32))
    assert B.as_float_array(x32).dtype == xp.float32
    with pytest.raises(ValueError, match="X must be a 2-D"):
        B.as_float_array(xp.asarray(np.ones(3)), "X", ndim=2)
    with pytest.raises(ValueError, match="Z contains NaN"):
        B.as_float_array(xp.asarray(np.array([1.0, np.nan])), "Z")
    with pytest.raises(ValueError, match="inf"):
        B.as_float_array(xp.asarray(np.array([1.0, np.inf])))
    with pytest.raises(ValueError, match="square"):
        B.check_matrix(xp.asarray(np.ones((2, 3))), "M")



def test_cholesky_with_flag_reports_failure_without_reading_it(xp, rng):
    G = rng.standard_normal((6, 6))
    S = G @ G.T + 6 * np.eye(6)
    C, ok = B.cholesky_with_flag(xp.asarray(S))
    assert bool(ok)
    np.testing.assert_allclose(B.to_numpy(C), np.linalg.cholesky(S), rtol=1e-12, atol=1e-12)
    bad = S.copy()
    bad[-1, -1] = -1.0
    C, ok = B.cholesky_with_flag(xp.asarray(bad))
    assert C is None or not bool(ok)  # the library raised, or the flag says so


def test_cholesky_with_flag_keeps_a_torch_flag_on_the_tensor_side(rng):
    torch = pytest.importorskip("torch")
    G = rng.standard_normal((5, 5))
    S = G @ G.T + 5 * np.eye(5)
    C, ok = B.cholesky_with_flag(torch.from_numpy(S))
    assert isinstance(ok, torch.Tensor) and bool(ok)
    bad = S.copy()
    bad[2, 2] = -3.0
    C, ok = B.cholesky_with_flag(torch.from_numpy(bad))
    assert isinstance(ok, torch.Tensor) and not bool(ok)
    assert B.cholesky(torch.from_numpy(bad)) is None

def test_round_trip_numpy(xp):
    a = np.random.default_rng(0).standard_normal((3, 4))
    x = B.from_numpy(a, xp)
    assert B.get_namespace(x) is B.get_namespace(xp.asarray(a))
    np.testing.assert_array_equal(B.to_numpy(x), a)


def test_cholesky_and_solve(xp, rng):
    G = rng.standard_normal((5, 5))
    S = G @ G.T + 5 * np.eye(5)
    C = B.cholesky(xp.asarray(S))
    assert C is not None
    rhs = rng.standard_normal((5, 2))
    X = B.to_numpy(B.cholesky_solve(C, xp.asarray(rhs)))
    np.testing.assert_allclose(S @ X, rhs, atol=1e-10)
    assert B.cholesky(xp.asarray(np.diag([1.0, -1.0]))) is None
    assert B.cholesky(xp.asarray(np.zeros((3, 3)))) is None


def test_mixed_namespaces_rejected():
    strict = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError):
        B.get_namespace(np.ones(2), strict.ones(2))


def test_is_foreign_array():
    assert not B.is_foreign_array(np.ones(2))
    assert not B.is_foreign_array(np.float64(1.0))
    assert not B.is_foreign_array([1.0, 2.0])
    assert not B.is_foreign_array((1.0,))
    assert not B.is_foreign_array(3.0)
    assert not B.is_foreign_array("abc")
    strict = pytest.importorskip("array_api_strict")
    assert B.is_foreign_array(strict.ones(2))


def test_to_namespace_moves_only_what_is_elsewhere(xp):
    a = np.arange(6.0).reshape(2, 3)
    target = B.get_namespace(xp.asarray(a))
    moved = B.to_namespace(a, target)
    assert B.get_namespace(moved) is target
    np.testing.assert_array_equal(B.to_numpy(moved), a)
    # Already there: the same object, no copy.
    assert B.to_namespace(moved, target) is moved
    assert B.match_namespace(moved, moved) is moved
    # Lists and scalars are accepted too.
    np.testing.assert_array_equal(B.to_numpy(B.to_namespace([1.0, 2.0], target)), [1.0, 2.0])
    # Back to NumPy.
    back = B.to_namespace(moved, B.get_namespace(a))
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, a)


def test_take_rows_matches_numpy_indexing(xp, rng):
    X = rng.standard_normal((7, 3))
    rows = np.array([4, 0, 4, 6])
    out = B.take_rows(xp.asarray(X), rows)
    np.testing.assert_array_equal(B.to_numpy(out), X[rows])
    np.testing.assert_array_equal(B.to_numpy(B.take_rows(xp.asarray(X), [1, 2])), X[[1, 2]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_difference_scatter_is_the_sum_of_outer_products(xp, rng, dtype):
    X = (rng.standard_normal((9, 4)) + 100.0).astype(dtype)  # an offset the NumPy path centres away
    first = rng.integers(0, 9, size=25)
    second = rng.integers(0, 9, size=25)
    first[:3] = second[:3]  # zero differences and repeated pairs are allowed
    D = X[first].astype(np.float64) - X[second]
    expected = D.T @ D
    S = B.difference_scatter(xp.asarray(X), first, second, chunk_size=4)
    assert B.get_namespace(S) is B.get_namespace(xp.asarray(X)) and S.dtype == xp.asarray(X).dtype
    S = B.to_numpy(S)
    np.testing.assert_array_equal(S, S.T)
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(S, expected, rtol=rtol, atol=rtol * np.abs(expected).max())
    empty = np.zeros(0, dtype=np.int64)
    np.testing.assert_array_equal(B.to_numpy(B.difference_scatter(xp.asarray(X), empty, empty, chunk_size=4)), 0)


def test_encode_labels_on_the_target_namespace(xp):
    y = np.array(["b", "a", "c", "a"])
    classes, codes = B.encode_labels(y)
    assert classes.tolist() == ["a", "b", "c"]
    assert codes.dtype == np.int64 and codes.tolist() == [1, 0, 2, 0]
    ns = B.get_namespace(xp.asarray(np.ones(1)))
    _, dev_codes = B.encode_labels(xp.asarray(np.array([5, 3, 5])), xp=ns)
    assert B.get_namespace(dev_codes) is ns
    assert B.to_numpy(dev_codes).tolist() == [1, 0, 1]


def test_cast_eye_like_and_all_finite(xp):
    x = xp.asarray(np.ones((3, 3), dtype=np.float32))
    assert B.cast(x, xp.float32) is x
    assert B.cast(x, xp.float64).dtype == xp.float64
    eye = B.eye_like(x)
    assert eye.dtype == xp.float32
    np.testing.assert_array_equal(B.to_numpy(eye), np.eye(3))
    assert B.all_finite(x)
    assert not B.all_finite(xp.asarray(np.array([1.0, np.inf])))
    assert not B.all_finite(xp.asarray(np.array([np.nan])))


def test_masked_zero_diagonal_inner_product(xp, rng):
    A = rng.standard_normal((4, 4))
    mask = A > 0
    np.testing.assert_array_equal(B.to_numpy(B.masked(xp.asarray(A), xp.asarray(mask))), np.where(mask, A, 0.0))
    Z = B.to_numpy(B.zero_diagonal(xp.asarray(A.copy())))
    np.testing.assert_array_equal(Z, A - np.diag(np.diag(A)))
    C = rng.standard_normal((4, 4))
    assert B.inner_product(xp.asarray(A), xp.asarray(C)) == pytest.approx(float(np.sum(A * C)), rel=1e-13)


@pytest.mark.parametrize("depth", [1, 3, 12])
def test_leading_indices_equals_a_stable_argsort(xp, depth):
    rng = np.random.default_rng(depth)
    # Many ties: the order among equal distances must be the column order.
    dist = rng.integers(0, 4, size=(6, 40)).astype(np.float64)
    expected = np.argsort(dist, axis=1, kind="stable")[:, :depth]
    np.testing.assert_array_equal(B.to_numpy(B.leading_indices(xp.asarray(dist), depth)), expected)


def test_exp_flushed_zeroes_below_twice_the_smallest_normal(xp):
    E = np.array([0.0, -1.0, -700.0, -708.0, -720.0, -1e4, 3.0])
    out = B.to_numpy(B.exp_flushed(xp.asarray(E), upper=0.0))
    expected = np.exp(np.minimum(E, 0.0))
    expected[expected < 2 * np.finfo(np.float64).tiny] = 0.0
    np.testing.assert_array_equal(out, expected)
    # exp(-708) = 3.3e-308 is normal but below the bound, exp(-720) subnormal: both flushed.
    assert B.flush_bound(np.float64, np) == 2 * np.finfo(np.float64).tiny
    assert out[3] == out[4] == 0.0 and np.exp(-708.0) > np.finfo(np.float64).tiny
    # Without overwrite the input is left alone.
    src = xp.asarray(E)
    B.exp_flushed(src)
    np.testing.assert_array_equal(B.to_numpy(src), E)


def test_subtract_diagonal(xp, rng):
    M = rng.standard_normal((5, 5))
    v = rng.standard_normal(5)
    out = B.to_numpy(B.subtract_diagonal(xp.asarray(M.copy()), xp.asarray(v)))
    np.testing.assert_array_equal(out, M - np.diag(v))


def test_subtract_diagonal_on_torch_is_in_place(rng):
    torch = pytest.importorskip("torch")
    M = torch.from_numpy(rng.standard_normal((5, 5)))
    expected = M.numpy() - np.diag(np.arange(5.0))
    out = B.subtract_diagonal(M, torch.arange(5.0, dtype=torch.float64))
    assert out.data_ptr() == M.data_ptr()
    np.testing.assert_array_equal(out.numpy(), expected)


def _affinity_reference(Y):
    """exp(−½‖y_i − y_j‖²) from explicit differences, in extended precision."""
    Y = np.asarray(Y, dtype=np.longdouble)
    D = ((Y[:, None, :] - Y[None, :, :]) ** 2).sum(axis=2)
    return np.exp(-D / 2).astype(np.float64)


def _affinity_rows(rng, n, d):
    # Spread on the scale of the kernel, with a near-duplicate and an exact duplicate.
    Y = rng.standard_normal((n, d)) * 1.5 + 3.0
    Y[1] = Y[0] + 1e-9
    Y[2] = Y[3]
    return Y


def test_gaussian_affinity_is_exactly_symmetric_with_unit_diagonal(xp, rng):
    Y = _affinity_rows(rng, 37, 3)
    A = B.to_numpy(B.gaussian_affinity(xp.asarray(Y)))
    np.testing.assert_array_equal(A, A.T)
    np.testing.assert_array_equal(np.diag(A), 1.0)
    assert A.max() <= 1.0
    # The Gram trick loses about ε·‖y‖² in the exponent, nothing more.
    np.testing.assert_allclose(A, _affinity_reference(Y), rtol=1e-12, atol=1e-14)


def test_gaussian_affinity_flushes_what_would_be_subnormal(xp):
    # exp(−½·38²) = exp(−722) is subnormal in float64; exp(−½·37²) = exp(−684.5) is not.
    Y = np.array([[0.0], [37.0], [75.0]])
    A = B.to_numpy(B.gaussian_affinity(xp.asarray(Y)))
    assert A[0, 1] == A[1, 0] > 0 and A[1, 2] == A[2, 1] == 0.0 and A[0, 2] == 0.0


def test_gaussian_affinity_reports_overflow(xp):
    Y = np.array([[0.0], [1e155]])
    with pytest.raises(FloatingPointError, match="overflow"):
        with np.errstate(over="ignore"):
            B.gaussian_affinity(xp.asarray(Y))


@pytest.mark.parametrize("dtype, big", [("float64", 1e155), ("float32", 1e20)])
def test_gaussian_affinity_torch_strips_report_overflow(dtype, big):
    torch = pytest.importorskip("torch")
    Y = torch.zeros((150, 2), dtype=getattr(torch, dtype))
    Y[140, 1] = big  # in the second strip
    with pytest.raises(FloatingPointError, match="overflow"):
        B.gaussian_affinity(Y)


@pytest.mark.parametrize("n", [1, 2, 127, 128, 129, 300, 501])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gaussian_affinity_torch_strips_match_numpy(n, dtype, rng):
    """The blocked upper triangle on PyTorch's CPU: symmetric bit for bit, same values as NumPy."""
    torch = pytest.importorskip("torch")
    Y = _affinity_rows(rng, max(n, 4), 5)[:n].astype(dtype)
    A = B.gaussian_affinity(torch.from_numpy(Y))
    assert A.dtype == getattr(torch, dtype) and A.shape == (n, n)
    A = A.numpy()
    np.testing.assert_array_equal(A, A.T)
    np.testing.assert_array_equal(np.diag(A), 1.0)
    eps = float(np.finfo(dtype).eps)
    # Exponent error about ε·‖y‖² (‖y‖² ≈ 60 here) on either side.
    np.testing.assert_allclose(A, B.gaussian_affinity(Y), rtol=0, atol=2e3 * eps)
    np.testing.assert_allclose(A, _affinity_reference(Y.astype(np.float64)), rtol=0, atol=2e3 * eps)


def test_gaussian_affinity_torch_tensor_that_requires_grad():
    """Autograd-tracked input takes the out-of-place path and keeps its graph."""
    torch = pytest.importorskip("torch")
    Y = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64, requires_grad=True)
    A = B.gaussian_affinity(Y)
    assert A.requires_grad
    np.testing.assert_allclose(A.detach().numpy(), _affinity_reference(Y.detach().numpy()), rtol=1e-14)


@pytest.mark.parametrize("overwrite", [False, True])
def test_exp_flushed_on_torch_matches_numpy(overwrite):
    torch = pytest.importorskip("torch")
    for dtype, low in [(np.float64, -800.0), (np.float32, -110.0)]:
        E = np.linspace(low, 3.0, 4001).astype(dtype)
        src = torch.from_numpy(E.copy())
        out = B.exp_flushed(src, upper=0.0, overwrite=overwrite)
        assert out.dtype == src.dtype
        expected = B.exp_flushed(E.copy(), upper=0.0)
        got = out.numpy()
        np.testing.assert_array_equal(got == 0, expected == 0)
        np.testing.assert_allclose(got, expected, rtol=4 * np.finfo(dtype).eps, atol=0)
        if not overwrite:
            np.testing.assert_array_equal(src.numpy(), E)


@pytest.mark.parametrize("n", [6, 150])  # 150: the NumPy triangular inverse recurses twice
def test_cholesky_inverse_is_the_symmetric_inverse(xp, rng, n):
    G = rng.standard_normal((n, n))
    S = G @ G.T + n * np.eye(n)
    C = B.cholesky(xp.asarray(S))
    inv = B.to_numpy(B.cholesky_inverse(C))
    expected = np.linalg.inv(S)
    np.testing.assert_allclose(inv, expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())
    np.testing.assert_array_equal(inv, inv.T)
    # The factor survives unless overwriting is asked for.
    np.testing.assert_allclose(B.to_numpy(C) @ B.to_numpy(C).T, S, rtol=1e-12, atol=1e-12 * n)


def _upper_triangular(rng, n):
    """Well-conditioned upper-triangular matrix with garbage below the diagonal."""
    U = np.triu(rng.standard_normal((n, n)) / np.sqrt(n)) + np.diag(rng.uniform(1.0, 2.0, n))
    return U + np.tril(rng.standard_normal((n, n)), -1)


@pytest.mark.parametrize("n", [1, 5, 64, 65, 150, 257])
@pytest.mark.parametrize("order", ["C", "F"])
def test_triangular_inverse_by_halves(rng, n, order):
    U = np.array(_upper_triangular(rng, n), order=order)
    expected = np.linalg.inv(np.triu(U))
    below = np.tril(U, -1)
    B._invert_upper_triangle(U)
    np.testing.assert_allclose(np.triu(U), expected, rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(np.tril(U, -1), below)  # never read, never written


def test_triangular_inverse_raises_on_zero_pivot(rng):
    U = _upper_triangular(rng, 150)
    U[100, 100] = 0.0
    with pytest.raises(np.linalg.LinAlgError, match="zero on its diagonal"):
        B._invert_upper_triangle(U)


def test_triangular_inverse_leaves_no_reference_cycle(rng):
    # A cycle would keep the n×n array alive until the collector runs, so that every call of
    # the exact DPP path took fresh memory (and its page faults).
    import gc
    import weakref

    U = _upper_triangular(rng, 200)
    ref = weakref.ref(U)
    gc.disable()
    try:
        B._invert_upper_triangle(U)
        del U
        assert ref() is None
    finally:
        gc.enable()


def test_cholesky_overwrite_factors_in_place(rng):
    G = rng.standard_normal((150, 150))
    S = G @ G.T + 150 * np.eye(150)
    M = S.copy()
    C = B.cholesky(M, overwrite=True)
    assert np.shares_memory(C, M)
    np.testing.assert_allclose(np.tril(C), np.linalg.cholesky(S), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.triu(M, 1), np.triu(S, 1))  # the upper triangle is kept
    M = S.copy()
    assert B.cholesky(M) is not None
    np.testing.assert_array_equal(M, S)  # without overwrite, untouched


@pytest.mark.parametrize("n", [6, 150])
def test_cholesky_inverse_in_place_lower_triangle_only(rng, n):
    G = rng.standard_normal((n, n))
    S = G @ G.T + n * np.eye(n)
    M = S.copy()
    C = B.cholesky(M, overwrite=True)  # S's entries stay above the diagonal
    inv = B.cholesky_inverse(C, overwrite=True, lower_only=True)
    assert np.shares_memory(inv, M)
    np.testing.assert_allclose(np.tril(inv), np.tril(np.linalg.inv(S)), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(np.triu(inv, 1), np.triu(S, 1))
    # The full inverse, from a factor with garbage above its diagonal, is exactly symmetric.
    M = S.copy()
    full = B.cholesky_inverse(B.cholesky(M, overwrite=True))
    np.testing.assert_allclose(full, np.linalg.inv(S), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(full, full.T)
    np.testing.assert_array_equal(np.triu(M, 1), np.triu(S, 1))  # not overwritten


@pytest.mark.parametrize("n", [1, 7, 100, 101, 257])
def test_triangle_passes_in_tiles(rng, n):
    A = rng.standard_normal((n, n))
    mirrored = np.tril(A) + np.tril(A, -1).T
    np.testing.assert_array_equal(B.mirror_lower_triangle(A.copy()), mirrored)
    product = np.tril(A, -1) * np.triu(A, 1).T
    expected = product + product.T + np.diag(np.diagonal(A))
    np.testing.assert_array_equal(B.multiply_triangles(A.copy()), expected)
