"""The array backend: namespaces and conversions, the library entries, operations, LAPACK kernels."""

import inspect
import re
import types
from pathlib import Path

import numpy as np
import pytest

from spectral_ml import _backend as B
from spectral_ml._backend import lapack
from spectral_ml._backend.libraries import (
    LIBRARIES,
    ArrayLibrary,
    CuPyLibrary,
    NumPyLibrary,
    TorchLibrary,
    array_library_of,
    library_of_array,
)


def test_cholesky_deferred_reports_failure_without_reading_it(xp, rng):
    G = rng.standard_normal((6, 6))
    S = G @ G.T + 6 * np.eye(6)
    C, ok = B.cholesky_deferred(xp.asarray(S))
    assert bool(ok)
    np.testing.assert_allclose(B.to_numpy(C), np.linalg.cholesky(S), rtol=1e-12, atol=1e-12)
    bad = S.copy()
    bad[-1, -1] = -1.0
    C, ok = B.cholesky_deferred(xp.asarray(bad))
    assert C is None or not bool(ok)  # the library raised, or the flag says so


def test_cholesky_deferred_keeps_a_torch_flag_on_the_tensor_side(rng):
    torch = pytest.importorskip("torch")
    G = rng.standard_normal((5, 5))
    S = G @ G.T + 5 * np.eye(5)
    C, ok = B.cholesky_deferred(torch.from_numpy(S))
    assert isinstance(ok, torch.Tensor) and bool(ok)
    bad = S.copy()
    bad[2, 2] = -3.0
    C, ok = B.cholesky_deferred(torch.from_numpy(bad))
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
    lapack.invert_upper_triangle(U)
    np.testing.assert_allclose(np.triu(U), expected, rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(np.tril(U, -1), below)  # never read, never written


def test_triangular_inverse_raises_on_zero_pivot(rng):
    U = _upper_triangular(rng, 150)
    U[100, 100] = 0.0
    with pytest.raises(np.linalg.LinAlgError, match="zero on its diagonal"):
        lapack.invert_upper_triangle(U)


def test_triangular_inverse_leaves_no_reference_cycle(rng):
    # A cycle would keep the n×n array alive until the collector runs, so that every call of
    # the exact DPP path took fresh memory (and its page faults).
    import gc
    import weakref

    U = _upper_triangular(rng, 200)
    ref = weakref.ref(U)
    gc.disable()
    try:
        lapack.invert_upper_triangle(U)
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


# -- the library entries ----------------------------------------------------------------------

#: The operations of an entry: every public method of the portable one.
OPERATIONS = sorted(
    name
    for name, value in vars(ArrayLibrary).items()
    if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, (classmethod, staticmethod)))
)


def _signature(cls, name):
    return [p.name for p in inspect.signature(getattr(cls, name)).parameters.values() if p.name not in ("self", "cls")]


@pytest.mark.parametrize("entry", LIBRARIES, ids=lambda c: c.name)
def test_every_entry_implements_every_operation_with_the_portable_signature(entry):
    assert issubclass(entry, ArrayLibrary)
    for name in OPERATIONS:
        assert callable(getattr(entry, name)), name
        assert _signature(entry, name) == _signature(ArrayLibrary, name), name
    # Nothing public that the portable entry lacks: callers only use the common operations.
    extra = {n for n, v in vars(entry).items() if not n.startswith("_") and callable(v)} - set(OPERATIONS)
    assert not extra, f"{entry.__name__} has operations the portable entry lacks: {sorted(extra)}"


def test_each_entry_is_found_for_its_namespace(xp):
    import array_api_compat

    entry = B.array_library(B.get_namespace(xp.asarray(np.ones(2))))
    expected = NumPyLibrary if array_api_compat.is_numpy_namespace(entry.xp) else ArrayLibrary
    assert type(entry) is expected
    # Found once: the same object at every look-up.
    assert B.array_library(entry.xp) is entry
    assert B.array_library(np) is B.array_library(np) and type(B.array_library(np)) is NumPyLibrary


def test_the_torch_entry_is_found_for_torch_tensors():
    torch = pytest.importorskip("torch")
    t = torch.ones(2)
    assert type(B.array_library(B.get_namespace(t))) is TorchLibrary
    assert library_of_array(t) is TorchLibrary


def test_an_arrays_entry_is_its_namespaces(xp):
    x = xp.asarray(np.ones(3))
    assert array_library_of(x) is B.array_library(B.get_namespace(x))
    assert array_library_of(xp.asarray(np.ones((2, 2)))) is array_library_of(x)
    with pytest.raises(TypeError):
        array_library_of("not an array")


def test_the_cupy_entry_recognises_cupy_without_cupy_installed():
    # Recognition reads the module's name only; CuPy itself is imported when an entry is made.
    fake = types.ModuleType("cupy")
    assert CuPyLibrary.recognises(fake)
    assert not any(cls.recognises(fake) for cls in LIBRARIES if cls is not CuPyLibrary)
    assert not CuPyLibrary.recognises(np) and not CuPyLibrary.owns(np.ones(2))


def test_arrays_are_copied_to_the_host_by_their_own_entry():
    assert library_of_array(np.ones(2)) is NumPyLibrary
    for other in ([1.0, 2.0], (1.0,), 3.0, np.float64(2.0)):
        assert library_of_array(other) is ArrayLibrary
        np.testing.assert_array_equal(B.to_numpy(other), np.asarray(other))
    strict = pytest.importorskip("array_api_strict")
    assert library_of_array(strict.ones(2)) is ArrayLibrary  # through DLPack
    np.testing.assert_array_equal(B.to_numpy(strict.ones(2)), np.ones(2))


def _entries_under_test():
    """(id, specialised entry, the portable entry on the same namespace, to_array)."""
    cases = []
    import array_api_compat.numpy as xnp

    cases.append(("numpy", B.array_library(xnp), ArrayLibrary(xnp), np.asarray))
    try:
        import torch
    except ImportError:
        return cases
    tns = B.get_namespace(torch.ones(1))
    cases.append(("torch", B.array_library(tns), ArrayLibrary(tns), torch.from_numpy))
    return cases


ENTRIES = _entries_under_test()


@pytest.mark.parametrize("name, entry, portable, asarray", ENTRIES, ids=[c[0] for c in ENTRIES])
def test_each_fast_path_gives_the_portable_result(name, entry, portable, asarray, rng):
    """The specialised operations agree with the array-API versions they replace."""
    M = rng.standard_normal((7, 7))
    v = rng.standard_normal(7)

    def same(a, b, exact=True):
        a, b = B.to_numpy(a), B.to_numpy(b)
        assert a.shape == b.shape and a.dtype == b.dtype
        if exact:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)

    same(
        entry.take_rows(asarray(M), asarray(np.array([3, 0, 3]))),
        portable.take_rows(asarray(M), asarray(np.array([3, 0, 3]))),
    )
    mask = asarray(M > 0)
    same(entry.masked(asarray(M), mask), portable.masked(asarray(M), mask))
    same(entry.zero_diagonal(asarray(M.copy())), portable.zero_diagonal(asarray(M.copy())))
    same(
        entry.subtract_diagonal(asarray(M.copy()), asarray(v)),
        portable.subtract_diagonal(asarray(M.copy()), asarray(v)),
    )
    G = M @ M.T
    r = np.diagonal(G) / 2
    same(
        entry.subtract_outer_sum(asarray(G.copy()), asarray(r)),
        portable.subtract_outer_sum(asarray(G.copy()), asarray(r)),
    )
    for x in (M, np.array([1.0, np.nan]), np.array([np.inf]), np.zeros(0)):
        assert entry.all_finite(asarray(x)) == portable.all_finite(asarray(x))
    same(entry.matmul(asarray(M), asarray(M.T.copy())), portable.matmul(asarray(M), asarray(M.T.copy())))
    assert float(entry.inner_product(asarray(M), asarray(G))) == pytest.approx(
        float(portable.inner_product(asarray(M), asarray(G))), rel=1e-13
    )
    out_a, out_b = asarray(np.zeros((9, 9))), asarray(np.zeros((9, 9)))
    entry.matmul_into(asarray(M[:3]), asarray(M.T.copy()), out_a[2:5, 1:8])
    portable.matmul_into(asarray(M[:3]), asarray(M.T.copy()), out_b[2:5, 1:8])
    same(out_a, out_b, exact=False)
    for n, block in ((7, 7), (7, 3), (10, 4), (1, 1)):
        T = rng.standard_normal((n, n))
        same(
            entry.mirror_upper_triangle(asarray(T.copy()), block),
            portable.mirror_upper_triangle(asarray(T.copy()), block),
        )
    E = np.concatenate([np.linspace(-800.0, 3.0, 50), [-708.39, -708.4, -1e4, 0.0]])
    floor = float(np.log(2 * np.finfo(np.float64).tiny))
    for upper in (None, 0.0):
        for overwrite in (False, True):
            got = B.to_numpy(entry.exp_or_zero(asarray(E.copy()), floor, upper=upper, overwrite=overwrite))
            ref = B.to_numpy(portable.exp_or_zero(asarray(E.copy()), floor, upper=upper))
            # Within a few ulps of the floor an entry may come out either way.
            near = np.abs(np.minimum(E, np.inf if upper is None else upper) - floor) < 1e-9
            np.testing.assert_allclose(got[~near], ref[~near], rtol=4 * np.finfo(np.float64).eps, atol=0)
    S = G + 7 * np.eye(7)
    C, failed = entry.cholesky(asarray(S))
    C_ref, _ = portable.cholesky(asarray(S))
    assert failed is None or not bool(failed)
    same(np.tril(B.to_numpy(C)), C_ref, exact=False)
    rhs = rng.standard_normal((7, 2))
    same(entry.cholesky_solve(C_ref, asarray(rhs)), portable.cholesky_solve(C_ref, asarray(rhs)), exact=False)
    same(entry.cholesky_inverse(C_ref), portable.cholesky_inverse(C_ref), exact=False)
    # from_numpy and to_numpy are inverse to each other.
    np.testing.assert_array_equal(entry.to_numpy(entry.from_numpy(M)), M)


def test_only_the_torch_cpu_entry_computes_gram_matrices_in_strips():
    import array_api_compat.numpy as xnp

    assert not B.array_library(xnp).gram_in_strips(np.ones((3, 2)))
    torch = pytest.importorskip("torch")
    entry = B.array_library(B.get_namespace(torch.ones(1)))
    assert entry.gram_in_strips(torch.ones((3, 2), dtype=torch.float64))
    assert entry.gram_in_strips(torch.ones((3, 2), dtype=torch.float32))
    assert not entry.gram_in_strips(torch.ones((3, 2), dtype=torch.float16))
    assert not entry.gram_in_strips(torch.ones((3, 2), dtype=torch.float64, requires_grad=True))
    with torch.no_grad():
        assert entry.gram_in_strips(torch.ones((3, 2), dtype=torch.float64, requires_grad=True))


#: Modules that may name an array library: its entry, its raw kernels, the optional PyTorch
#: layer and the command line's checks (which ask whether PyTorch is installed).
_MAY_NAME_LIBRARIES = {"_backend/libraries.py", "_backend/lapack.py", "_cli_data.py"}


def test_only_the_library_entries_know_which_libraries_exist():
    root = Path(B.__file__).resolve().parents[1]
    pattern = re.compile(
        r"^\s*(import|from)\s+(torch|cupy|cupyx|cupy_backends)\b|is_(torch|cupy)_(namespace|array)", re.MULTILINE
    )
    offenders = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in _MAY_NAME_LIBRARIES or rel.startswith("torch/"):
            continue
        if pattern.search(path.read_text(encoding="utf-8")):
            offenders.append(rel)
    assert not offenders, f"modules that name an array library outside its entry: {offenders}"
