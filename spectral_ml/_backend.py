"""Array-backend plumbing: the namespace and device of the inputs decide where work runs.

Every array-level function of spectral_ml calls :func:`get_namespace` on its inputs and
then uses only the array-API functions of that namespace, so the same code runs on NumPy,
CuPy, PyTorch and array-api-strict arrays and returns results in the caller's namespace and
on the caller's device.

This is the only module that knows which library an array belongs to. Everything that
depends on it lives here, under a name that says what it does:

* moving arrays between libraries and devices (:func:`to_numpy`, :func:`to_namespace`,
  :func:`match_namespace`) and telling NumPy-like input from arrays of other libraries
  (:func:`is_foreign_array`);
* operations the array API does not define, dispatched to each library's native routine
  with a portable fallback (:func:`cholesky`, :func:`cholesky_solve`,
  :func:`cholesky_inverse`);
* NumPy (and CuPy) fast paths of common steps: row selection (:func:`take_rows`), scatter
  matrices of row differences (:func:`difference_scatter`), masks, in-place updates
  (:func:`ufunc_module`), partial sorts (:func:`leading_indices`), exponentials flushed
  to zero (:func:`exp_flushed`) and the Gaussian affinity of a batch's rows
  (:func:`gaussian_affinity`); on NumPy alone, passes over a matrix's two triangles in
  place (:func:`mirror_lower_triangle`, :func:`multiply_triangles`);
* label encoding done once (:func:`encode_labels`).
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "get_namespace",
    "device_of",
    "is_numpy_namespace",
    "is_foreign_array",
    "floating_dtype",
    "cast",
    "as_float_array",
    "all_finite",
    "check_finite",
    "check_matrix",
    "to_numpy",
    "from_numpy",
    "to_namespace",
    "match_namespace",
    "take_rows",
    "difference_scatter",
    "encode_labels",
    "eye_like",
    "ufunc_module",
    "masked",
    "zero_diagonal",
    "subtract_diagonal",
    "matmul",
    "inner_product",
    "gaussian_affinity",
    "gaussian_affinity_unchecked",
    "exp_flushed",
    "flush_bound",
    "leading_indices",
    "cholesky",
    "cholesky_with_flag",
    "cholesky_solve",
    "cholesky_inverse",
    "mirror_lower_triangle",
    "multiply_triangles",
    "to_python_float",
    "is_dask_array",
    "any_dask_array",
]


def get_namespace(*arrays: Any):
    """Return the array-API namespace shared by ``arrays``.

    Parameters
    ----------
    *arrays : array_like
        Arrays of one library (NumPy, CuPy, PyTorch, array-api-strict). Python scalars and
        ``None`` are ignored.

    Returns
    -------
    xp : module
        The array-API compatible namespace (``array_api_compat`` wrapper where needed).

    Raises
    ------
    TypeError
        If the arrays come from different libraries.
    """
    arrays = [a for a in arrays if a is not None and not isinstance(a, (int, float, complex, bool))]
    if not arrays:
        return array_api_compat.array_namespace(np.empty(0))
    return array_api_compat.array_namespace(*arrays)


def device_of(x: Any):
    """Return the device of array ``x`` (what ``xp.asarray(..., device=...)`` accepts)."""
    return array_api_compat.device(x)


def is_numpy_namespace(xp) -> bool:
    """Whether ``xp`` is NumPy (or its array-api-compat wrapper)."""
    return array_api_compat.is_numpy_namespace(xp)


def is_foreign_array(x: Any) -> bool:
    """Whether ``x`` is an array of an array-API library other than NumPy.

    True for CuPy, PyTorch, array-api-strict (and other array-API) arrays; False for NumPy
    arrays and scalars, lists, tuples, Python scalars and containers such as pandas
    frames. Estimators use it to choose between scikit-learn's validation (NumPy-like
    input) and validation that keeps the array in its own namespace and on its device.
    """
    if isinstance(x, (np.ndarray, np.generic, list, tuple)) or not array_api_compat.is_array_api_obj(x):
        return False
    try:
        xp = array_api_compat.array_namespace(x)
    except TypeError:
        return False
    return not is_numpy_namespace(xp)


def floating_dtype(x: Any, xp):
    """Return the floating dtype computations on ``x`` use: its own, or float64 for integers."""
    if xp.isdtype(x.dtype, "real floating"):
        return x.dtype
    return xp.float64


def cast(x: Any, dtype, *, xp=None):
    """``x`` converted to ``dtype``; ``x`` itself (no copy) when it has that dtype already."""
    if x.dtype == dtype:
        return x
    if xp is None:
        xp = get_namespace(x)
    return xp.astype(x, dtype)


def as_float_array(x: Any, name: str = "X", *, xp=None, ndim: int | None = None, finite: bool = True):
    """Convert ``x`` to a floating array of its own namespace, validating shape and values.

    Integer and boolean inputs become float64; float32 stays float32. Lists and tuples
    become NumPy arrays.

    Parameters
    ----------
    x : array_like
        Input array.
    name : str, default="X"
        Argument name used in error messages.
    xp : module, optional
        Namespace to use; inferred from ``x`` when omitted.
    ndim : int, optional
        Required number of dimensions.
    finite : bool, default=True
        Check that every entry is finite. ``False`` leaves that to a caller that reads its
        own checks back in one go (on a GPU each read-back waits for the device).

    Returns
    -------
    array
        Floating array in the namespace of ``x``.

    Raises
    ------
    ValueError
        If ``x`` has the wrong number of dimensions, is complex, or contains NaN or inf.
    """
    if isinstance(x, (list, tuple)) or np.isscalar(x):
        x = np.asarray(x)
    if xp is None:
        xp = get_namespace(x)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got an array of shape {tuple(x.shape)}.")
    if xp.isdtype(x.dtype, "complex floating"):
        raise ValueError(f"{name} must be real, got dtype {x.dtype}.")
    if not xp.isdtype(x.dtype, "real floating"):
        x = xp.astype(x, xp.float64)
    if finite:
        check_finite(x, name, xp=xp)
    return x


def all_finite(x: Any, *, xp=None) -> bool:
    """Whether every entry of ``x`` is finite (no NaN, no infinity)."""
    if isinstance(x, np.ndarray):
        # One reduction without the boolean temporary's namespace wrapper.
        return bool(np.isfinite(x).all())
    if xp is None:
        xp = get_namespace(x)
    if array_api_compat.is_torch_namespace(xp) and x.numel() > 0:
        import torch

        # One reduction pass: min and max propagate NaN, and infinities are extremes. PyTorch's
        # isfinite takes four passes (abs, two comparisons, and) and a boolean temporary.
        # Single and double precision only: PyTorch 2.1 has no CPU aminmax for half.
        if x.dtype in (torch.float32, torch.float64):
            return bool(torch.isfinite(torch.stack(torch.aminmax(x))).all())
    return bool(xp.all(xp.isfinite(x)))


def check_finite(x: Any, name: str = "X", *, xp=None) -> None:
    """Raise ``ValueError`` naming ``name`` if ``x`` contains NaN or infinity."""
    if not all_finite(x, xp=xp):
        raise ValueError(f"{name} contains NaN or infinity.")


def check_matrix(M: Any, name: str = "M", *, xp=None, square: bool = True):
    """Validate a (square) floating matrix and return it as a floating array."""
    M = as_float_array(M, name, xp=xp, ndim=2)
    if square and M.shape[0] != M.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {tuple(M.shape)}.")
    return M


def to_python_float(x: Any) -> float:
    """Return a 0-d array (of any namespace) or scalar as a Python float."""
    if hasattr(x, "item"):
        return float(x.item())
    return float(x)


def to_numpy(x: Any) -> np.ndarray:
    """Return a NumPy copy (or view) of array ``x`` from any supported library.

    Used only where a step has no array-API equivalent (scikit-learn, pymanopt, SciPy's
    assignment solver); callers convert back with :func:`from_numpy`.
    """
    if isinstance(x, np.ndarray):
        return x
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    if isinstance(x, (list, tuple, int, float)) or np.isscalar(x):
        return np.asarray(x)
    try:
        return np.from_dlpack(x)
    except (TypeError, BufferError, RuntimeError, AttributeError):
        return np.asarray(x)


def from_numpy(a: np.ndarray, xp, device=None):
    """Move NumPy array ``a`` into namespace ``xp`` (on ``device`` when given)."""
    if is_numpy_namespace(xp):
        return np.asarray(a)
    if device is None:
        return xp.asarray(a)
    return xp.asarray(a, device=device)


def to_namespace(a: Any, xp, device=None):
    """``a`` (an array of any supported library, a list or a scalar) as an array of ``xp``.

    Returns ``a`` itself when it already belongs to ``xp`` (and to ``device``, when given);
    otherwise copies it through host memory, the one route every pair of libraries shares.

    Parameters
    ----------
    a : array_like
        Array of NumPy, CuPy, PyTorch or array-api-strict, or a list, tuple or scalar.
    xp : module
        Target namespace (as returned by :func:`get_namespace`).
    device : device, optional
        Target device (as returned by :func:`device_of`); the namespace's default when
        omitted.

    Returns
    -------
    array
        An array of ``xp``.
    """
    if isinstance(a, (list, tuple)) or np.isscalar(a):
        a = np.asarray(a)
    if is_numpy_namespace(xp):
        return a if isinstance(a, np.ndarray) else np.asarray(to_numpy(a))
    try:
        same = not isinstance(a, np.ndarray) and array_api_compat.array_namespace(a) is xp
    except TypeError:
        same = False
    if same and (device is None or device_of(a) == device):
        return a
    return from_numpy(np.asarray(to_numpy(a)), xp, device)


def match_namespace(a: Any, like: Any):
    """``a`` as an array of the namespace and on the device of array ``like``."""
    return to_namespace(a, get_namespace(like), device_of(like))


def take_rows(X: Any, rows: Any):
    """Rows ``rows`` (integer indices: NumPy, list, or an array of X's namespace) of ``X``.

    NumPy arrays are indexed directly; other libraries get the indices on X's device and
    use ``take``.
    """
    xp = get_namespace(X)
    if is_numpy_namespace(xp):
        return X[np.asarray(to_numpy(rows))]
    return xp.take(X, to_namespace(rows, xp, device_of(X)), axis=0)


def difference_scatter(X: Any, first: Any, second: Any, *, chunk_size: int):
    """Σ_p (x_{first_p} − x_{second_p})(x_{first_p} − x_{second_p})ᵀ over rows of ``X``, symmetrized.

    Parameters
    ----------
    X : array of shape (n, d)
        Floating samples, any namespace; the result has X's dtype, namespace and device.
    first, second : ndarray of shape (N,)
        Integer row indices (NumPy) of the two members of each difference.
    chunk_size : int
        Differences stacked per matrix product on the array-API path, which bounds its
        memory at ``chunk_size × d``; the NumPy path forms no differences.

    Returns
    -------
    array of shape (d, d)
        The symmetric positive semi-definite scatter matrix.
    """
    xp = get_namespace(X)
    if is_numpy_namespace(xp):
        return _laplacian_scatter_numpy(X, first, second)
    S = xp.zeros((X.shape[1], X.shape[1]), dtype=X.dtype, device=device_of(X))
    for start in range(0, first.shape[0], chunk_size):
        stop = min(start + chunk_size, first.shape[0])
        V = take_rows(X, first[start:stop]) - take_rows(X, second[start:stop])
        S = S + xp.linalg.matrix_transpose(V) @ V
    return (S + xp.linalg.matrix_transpose(S)) / 2


def _laplacian_scatter_numpy(X, a, b):
    """:func:`difference_scatter` of NumPy ``X`` as the graph-Laplacian product Xᵀ L X.

    With W the symmetric pair-count matrix, the sum equals Xᵀ(diag(W1) − W)X. W is
    sparse, so this costs O(N d + n d²) instead of the O(N d²) of stacking the N
    differences: the number of pairs enters only through a sparse-dense product.
    Centring X first changes no difference and keeps the two terms of the subtraction
    small, avoiding cancellation when the features have a large offset.
    """
    import scipy.sparse

    n = X.shape[0]
    Xc = X - X.mean(axis=0)
    ones = np.ones(a.shape[0], dtype=X.dtype)
    C = scipy.sparse.csr_array((ones, (a, b)), shape=(n, n))
    deg = (np.bincount(a, minlength=n) + np.bincount(b, minlength=n)).astype(X.dtype)
    WX = C @ Xc + C.T @ Xc
    S = Xc.T @ (deg[:, None] * Xc) - Xc.T @ WX
    return (S + S.T) / 2


def encode_labels(y: Any, *, xp=None, device=None):
    """Sorted distinct labels and the integer code of every label, computed once.

    Parameters
    ----------
    y : array_like of shape (n,)
        Labels of any dtype (numbers, strings) and any supported library.
    xp : module, optional
        Namespace of the returned codes; NumPy when omitted.
    device : device, optional
        Device of the returned codes.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        The distinct labels, sorted (NumPy, since labels may be strings).
    codes : array of shape (n,)
        ``int64`` codes in ``[0, n_classes)`` with ``classes[codes] == y``, in ``xp`` on
        ``device``.
    """
    classes, codes = np.unique(np.asarray(to_numpy(y)), return_inverse=True)
    codes = codes.reshape(-1).astype(np.int64, copy=False)
    if xp is not None:
        codes = to_namespace(codes, xp, device)
    return classes, codes


def eye_like(M: Any):
    """Identity matrix with the size, dtype, namespace and device of square ``M``."""
    xp = get_namespace(M)
    return xp.eye(M.shape[0], dtype=M.dtype, device=device_of(M))


def ufunc_module(xp):
    """NumPy or CuPy when ``xp`` is one of them (ufuncs with ``out=`` and ``where=``), else None.

    Callers use the module to update n×n arrays in place instead of allocating
    temporaries; other namespaces take the out-of-place array-API expression.
    """
    kind, lib = _native(xp)
    return lib if kind in ("numpy", "cupy") else None


def masked(A: Any, mask: Any, *, xp=None):
    """``A`` where boolean ``mask`` holds, 0 elsewhere."""
    if xp is None:
        xp = get_namespace(A)
    if is_numpy_namespace(xp):
        # NumPy's where is several times slower than a multiplication by the boolean mask.
        return A * mask
    return xp.where(mask, A, 0.0)


def zero_diagonal(M: Any, *, xp=None):
    """``M`` with a zero diagonal: in place on NumPy, a new array elsewhere."""
    if xp is None:
        xp = get_namespace(M)
    if is_numpy_namespace(xp):
        np.fill_diagonal(M, 0)
        return M
    n = int(M.shape[0])
    return xp.where(xp.eye(n, dtype=xp.bool, device=device_of(M)), 0.0, M)


def subtract_diagonal(M: Any, v: Any, *, xp=None):
    """``M − diag(v)``: in place on NumPy, CuPy and PyTorch (n entries updated), a new array elsewhere."""
    if xp is None:
        xp = get_namespace(M)
    kind, lib = _native(xp)
    if kind == "torch":
        M.diagonal().sub_(v)
        return M
    if kind in ("numpy", "cupy"):
        idx = lib.arange(M.shape[0])
        M[idx, idx] -= v
        return M
    return M - xp.eye(M.shape[0], dtype=M.dtype, device=device_of(M)) * v[None, :]


def matmul(A: Any, B: Any):
    """``A @ B``, with PyTorch's float16 and bfloat16 CPU tensors multiplied in float32.

    PyTorch 2.1 has no CPU matrix product for float16 (later releases do); float32 holds
    every value of both formats exactly, and the product is rounded back to the operands'
    dtype.
    """
    if array_api_compat.is_torch_array(A) and A.device.type == "cpu":
        import torch

        if A.dtype in (torch.float16, torch.bfloat16):
            return (A.float() @ B.float()).to(A.dtype)
    return A @ B


def inner_product(A: Any, B: Any, *, xp=None) -> float:
    """Σ A_ij B_ij over all entries of two arrays of the same shape, as a Python float."""
    if xp is None:
        xp = get_namespace(A, B)
    if is_numpy_namespace(xp):
        return float(np.vdot(A, B))
    return to_python_float(xp.vecdot(xp.reshape(A, (-1,)), xp.reshape(B, (-1,))))


#: Rows per strip of the blocked Gaussian affinity on PyTorch's CPU backend. Strips of 64 to
#: 128 rows run within 10 % of each other on one core (100 the fastest at n = 500), and
#: the n/100 strips skip (n/100 − 1)/(2n/100) of the full product's multiplications.
_STRIP_ROWS = 100
#: Entries of the temporary r_i + r_j built per row chunk on NumPy (256 KiB in float64).
_OUTER_CHUNK = 32768


def gaussian_affinity(Y: Any):
    """The matrix A_ij = exp(−½‖y_i − y_j‖²) of the rows of ``Y``, with a unit diagonal.

    The exponent comes from one Gram matrix, −½‖y_i − y_j‖² = G_ij − r_i − r_j with
    G = Y Yᵀ and r = diag(G)/2. Taking r from G's own diagonal makes the diagonal exponent
    exactly 0 (a − a/2 − a/2 is exact in IEEE arithmetic), and clipping the exponent at 0
    removes the small positive values that cancellation leaves for near-duplicate rows.
    Results below twice the dtype's smallest normal number are 0 (:func:`exp_flushed`).

    On the CPU (NumPy and PyTorch) the result is exactly symmetric, and no n×n array is
    allocated besides the result: a fresh n×n temporary costs its page faults as well as its
    pass.

    * NumPy computes G with a symmetric rank-k product (``syrk``, half the multiplications)
      and subtracts r_i + r_j in row chunks, each entry rounded once from the same two terms.
    * PyTorch has no symmetric product, so on the CPU the upper triangle is computed in
      strips of 100 rows (for n = 500, 15 of the 25 blocks of the full product), the
      exponential is taken on the strips alone, and the lower triangle is their mirror image.
    * Elsewhere (CuPy, CUDA tensors, other namespaces) it is one product, one broadcast
      subtraction and one exponential; the result is symmetric up to the product's rounding.

    Parameters
    ----------
    Y : array of shape (n, d)
        Rows, floating, already scaled (a Gaussian kernel exp(−‖x_i − x_j‖²/σ²) is
        ``gaussian_affinity(X * sqrt(2)/σ)``).

    Returns
    -------
    A : array of shape (n, n)
        In the namespace, device and dtype of ``Y``.

    Raises
    ------
    FloatingPointError
        When a squared norm ‖y_i‖²/2 overflows the dtype (or ``Y`` holds NaN or infinity).
    """
    A, half_norms = gaussian_affinity_unchecked(Y)
    # r ≥ 0, so the sum is finite exactly when every r_i is: one reduction instead of a
    # finiteness test of every entry.
    if not math.isfinite(to_python_float(half_norms)):
        raise FloatingPointError(f"the squared norms of the rows overflow {A.dtype}")
    return A


def gaussian_affinity_unchecked(Y: Any):
    """:func:`gaussian_affinity` and Σ_i ‖y_i‖²/2 as a 0-d array, before any check.

    The sum is finite exactly when no squared norm overflows and ``Y`` holds no NaN or
    infinity (short of norms within a factor n of the largest float, where the exponent's
    rounding error alone would exceed exp's range), as :func:`gaussian_affinity` checks. It stays
    on the array's device, so that a caller can read it back together with its own checks:
    on a GPU each read-back waits for the device. Where it is not finite the matrix is
    meaningless (but no exception or warning is raised).
    """
    xp = get_namespace(Y)
    kind, lib = _native(xp)
    if kind == "torch" and Y.device.type == "cpu" and Y.dtype in (lib.float32, lib.float64) \
            and not (Y.requires_grad and lib.is_grad_enabled()):
        return _gaussian_affinity_torch_cpu(Y, lib)
    # Overflow and NaN are reported through the sum, not as NumPy warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        G = matmul(Y, xp.linalg.matrix_transpose(Y))
        r = xp.linalg.diagonal(G) / 2  # a copy: G is overwritten next
        if kind == "numpy":
            step = max(1, _OUTER_CHUNK // G.shape[0])
            for i in range(0, G.shape[0], step):
                G[i:i + step] -= np.add.outer(r[i:i + step], r)
        else:
            # r_i + r_j in one addition keeps the exponent exactly symmetric where G is
            # ((g − r_i) − r_j and (g − r_j) − r_i round differently).
            G -= r[:, None] + r[None, :]
        return exp_flushed(G, upper=0.0, overwrite=True), xp.sum(r)


def _gaussian_affinity_torch_cpu(Y, torch):
    n = int(Y.shape[0])
    b = min(n, _STRIP_ROWS)
    strips = [(i, min(i + b, n)) for i in range(0, n, b)]
    A = torch.empty((n, n), dtype=Y.dtype)
    # Rows i0:i1 from column i0 on: the diagonal block and everything right of it.
    for i0, i1 in strips:
        torch.mm(Y[i0:i1], Y[i0:].mT, out=A[i0:i1, i0:])
    r = torch.diagonal(A) / 2
    for i0, i1 in strips:
        S = A[i0:i1, i0:]
        S -= r[i0:i1, None]
        S -= r[None, i0:]
        exp_flushed(S, upper=0.0, overwrite=True)
    # The lower triangle is the upper one transposed, so A is symmetric bit for bit whatever
    # the order of the two subtractions or of the product's sums: the blocks left of the
    # diagonal are copied, and within the diagonal blocks (the full ones as one batch of
    # views) the part below the diagonal.
    for i0, i1 in strips[1:]:
        A[i0:i1, :i0] = A[:i0, i0:i1].mT
    upper = torch.ones((b, b), dtype=torch.bool).triu_()
    full = n // b
    D = A.as_strided((full, b, b), (b * (n + 1), n, 1))
    D.copy_(torch.where(upper, D, D.mT))
    if n % b:
        i0 = full * b
        D = A[i0:, i0:]
        m = n - i0
        D.copy_(torch.where(upper[:m, :m], D, D.mT))
    return A, r.sum()


def flush_bound(dtype, xp) -> float:
    """Twice the smallest normal number of a floating dtype: :func:`exp_flushed` zeroes results below it."""
    return 2.0 * float(xp.finfo(dtype).smallest_normal)


def exp_flushed(E: Any, *, upper: float | None = None, overwrite: bool = False):
    """exp(min(E, upper)) with every result below twice the dtype's smallest normal number set to 0.

    Exponentials at the bottom of the normal range are slow: libm's is several times
    slower where the result is subnormal, PyTorch's vectorized one 6 (float64) to 37
    (float32) times slower for exponents within about 1e-3 of log(smallest normal), and
    subnormal entries slow every later product (Cholesky, inverse) as well, while an exact
    zero costs nothing.
    With the bound at twice the smallest normal number (4.5e-308 in float64, 2.4e-38 in
    float32, log 2 above those slow paths) no exponential that is evaluated comes near them.

    Parameters
    ----------
    E : array
        Exponents, floating.
    upper : float, optional
        Clip the exponents at this value first.
    overwrite : bool, default=False
        Let NumPy and PyTorch work in place in ``E``'s memory (``E`` is then the result).

    Returns
    -------
    array
        Same shape, dtype, namespace and device as ``E``.
    """
    xp = get_namespace(E)
    floor = math.log(flush_bound(E.dtype, xp))
    if is_numpy_namespace(xp):
        if not overwrite:
            E = np.array(E, copy=True)
        if upper is not None:
            np.minimum(E, upper, out=E)
        keep = E >= floor
        np.exp(E, out=E, where=keep)
        # Entries left out keep their exponent, below floor < 0; clipping at 0 zeroes them.
        np.maximum(E, 0.0, out=E)
        return E
    if array_api_compat.is_torch_namespace(xp):
        import torch.nn.functional as F

        # The exponents are raised to ``floor`` first, so the exponential never runs into its
        # slow paths. The raised entries all come out as exp(floor), within a few ulps of the
        # bound, and one threshold pass zeroes them (with the few results in that same sliver
        # just above it), where a mask of E < floor and masked_fill would cost two passes.
        E = E.clamp_(min=floor, max=upper) if overwrite else E.clamp(min=floor, max=upper)
        sliver = math.exp(floor) * (1.0 + 64.0 * float(xp.finfo(E.dtype).eps))
        return F.threshold_(E.exp_(), sliver, 0.0)
    if upper is not None:
        E = xp.clip(E, max=upper)
    return xp.where(E >= floor, xp.exp(E), xp.zeros_like(E))


def leading_indices(dist: Any, depth: int):
    """Column indices of the ``depth`` smallest entries of each row, ties in column order.

    The same result as ``argsort(dist, axis=1, stable=True)[:, :depth]``; on NumPy, when
    ``depth`` is small next to the row length, a partial selection replaces the full sort.
    """
    xp = get_namespace(dist)
    if is_numpy_namespace(xp) and 4 * depth < dist.shape[1]:
        return _leading_indices_numpy(np.asarray(dist), depth)
    return xp.argsort(dist, axis=1, stable=True)[:, :depth]


def _leading_indices_numpy(dist: np.ndarray, depth: int) -> np.ndarray:
    # A full stable sort of every row dominates the cost when depth << n_columns; select
    # first, then sort only the candidates. argpartition breaks ties arbitrarily, so every
    # item tied with the depth-th distance is kept as a candidate and the order is decided
    # by (distance, index) among the candidates.
    part = np.argpartition(dist, depth - 1, axis=1)[:, :depth]
    threshold = np.take_along_axis(dist, part, axis=1).max(axis=1)
    rows, cols = np.nonzero(dist <= threshold[:, None])
    order = np.lexsort((cols, dist[rows, cols], rows))
    cols = cols[order]
    counts = np.bincount(rows, minlength=dist.shape[0])
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return cols[starts[:, None] + np.arange(depth)[None, :]]


def _native(xp):
    """Return the library module behind an array-api-compat namespace (best effort)."""
    if array_api_compat.is_cupy_namespace(xp):
        import cupy

        return "cupy", cupy
    if array_api_compat.is_torch_namespace(xp):
        import torch

        return "torch", torch
    if is_numpy_namespace(xp):
        return "numpy", np
    return "generic", xp


def cholesky(M: Any, *, overwrite: bool = False, xp=None):
    """Lower Cholesky factor of symmetric ``M``, or ``None`` when ``M`` is not positive definite.

    Unlike the libraries' own routines this never raises on an indefinite or singular matrix
    and never returns NaNs silently (CuPy does): failure is reported as ``None``. Only the
    lower triangle of ``M`` is read.

    On NumPy, LAPACK's ``potrf`` is called directly on Mᵀ's memory in Fortran order: the
    factor then comes out in the layout :func:`cholesky_inverse` works in, and the layout
    copies of ``numpy.linalg.cholesky`` (2 to 5 times its cost at n = 500) are skipped. On
    CuPy, cuSOLVER's ``potrf`` is called directly too, so that its failure flag stays on
    the GPU until :func:`cholesky_with_flag`'s caller reads it.

    Parameters
    ----------
    M : array
        Symmetric matrix, any supported namespace.
    overwrite : bool, default=False
        NumPy only: factor in ``M``'s own memory (for a C-contiguous ``M``), which saves an
        n×n array. ``M``'s lower triangle then holds the factor, also when the
        factorization fails, and its strict upper triangle keeps ``M``'s entries: the
        returned ``C`` is that memory, lower-triangular only in the part that
        :func:`cholesky_inverse` reads. Ignored by other namespaces.
    xp : module, optional
        Namespace of ``M``.

    Returns
    -------
    C : array or None
        Lower-triangular ``C`` with ``C @ C.T == M`` (zero above the diagonal unless
        ``overwrite``), or ``None``.
    """
    C, ok = cholesky_with_flag(M, overwrite=overwrite, xp=xp)
    return C if C is not None and bool(ok) else None


def cholesky_with_flag(M: Any, *, overwrite: bool = False, xp=None):
    """:func:`cholesky` without reading its success back: the factor and a flag.

    Returns ``(C, ok)``: ``ok`` is a 0-d boolean array on ``C``'s device (a NumPy bool on
    NumPy), true when the factorization succeeded with finite, positive pivots; ``C`` is
    meaningless where it is false, and ``None`` when the library raised. A caller that
    reads ``ok`` back together with its own results saves a read: on a GPU each one waits
    for the device. Parameters as for :func:`cholesky`.
    """
    if xp is None:
        xp = get_namespace(M)
    kind, lib = _native(xp)
    failed = None  # the library's own failure flag, where it returns one
    try:
        if kind == "numpy":
            from scipy.linalg import lapack

            M = np.asarray(M)
            (potrf,) = lapack.get_lapack_funcs(("potrf",), (M,))
            if overwrite:
                U, info = potrf(M.T, lower=0, clean=0, overwrite_a=1)
            else:
                U, info = potrf(M.T, lower=0, clean=1)
            if info != 0:
                return None, False
            C = U.T
        elif kind == "torch":
            C, info = lib.linalg.cholesky_ex(M)
            failed = lib.any(info != 0)
        elif kind == "cupy" and M.dtype in (lib.float32, lib.float64):
            C, failed = _cupy_potrf(M, lib)
        elif kind == "cupy":
            import cupyx

            # CuPy's default leaves a failed factorization unreported (a partial factor);
            # "raise" reads potrf's info back and raises LinAlgError.
            with cupyx.errstate(linalg="raise"):
                C = lib.linalg.cholesky(M)
        else:
            C = xp.linalg.cholesky(M)
    except Exception as exc:  # each library raises its own LinAlgError type
        if "LinAlgError" in type(exc).__name__ or isinstance(exc, (ValueError, RuntimeError)):
            return None, False
        raise
    diag = xp.linalg.diagonal(C)
    ok = xp.all(xp.isfinite(diag) & (diag > 0))
    if failed is not None:
        ok = ok & ~failed
    return C, ok


def _cupy_potrf(M: Any, cupy):
    """Lower Cholesky factor of a float32 or float64 CuPy matrix, and potrf's failure flag.

    ``cupy.linalg.cholesky`` reports a failed factorization only by reading cuSOLVER's info
    back to the host (under ``cupyx.errstate(linalg="raise")``), a wait for the GPU; here
    the flag ``info != 0`` stays on the device for the caller's own read. cuSOLVER is
    column-major, so it sees a C-ordered copy of the symmetric M as Mᵀ = M; the upper factor
    U (M = UᵀU) it leaves there is, read in C order, the lower factor Uᵀ in the lower
    triangle.
    """
    from cupy.cuda import device
    from cupy_backends.cuda.libs import cublas, cusolver

    A = cupy.array(M, order="C", copy=True)  # potrf factors in place
    n = int(A.shape[0])
    prefix = "s" if A.dtype == cupy.float32 else "d"
    potrf = getattr(cusolver, prefix + "potrf")
    buffer_size = getattr(cusolver, prefix + "potrf_bufferSize")
    handle = device.get_cusolver_handle()
    upper = cublas.CUBLAS_FILL_MODE_UPPER
    work = cupy.empty(buffer_size(handle, upper, n, A.data.ptr, n), dtype=A.dtype)
    info = cupy.zeros((), dtype=cupy.int32)
    potrf(handle, upper, n, A.data.ptr, n, work.data.ptr, work.size, info.data.ptr)
    return cupy.tril(A), info != 0


def cholesky_solve(C: Any, B: Any, *, xp=None):
    """Solve ``(C Cᵀ) X = B`` given the lower Cholesky factor ``C``.

    Uses the library's triangular solver (SciPy, CuPy, PyTorch) and falls back to two
    general solves for other namespaces.
    """
    if xp is None:
        xp = get_namespace(C, B)
    kind, lib = _native(xp)
    if kind == "numpy":
        import scipy.linalg

        return scipy.linalg.cho_solve((np.asarray(C), True), np.asarray(B), check_finite=False)
    if kind == "cupy":
        from cupyx.scipy.linalg import solve_triangular

        Y = solve_triangular(C, B, lower=True)
        return solve_triangular(C, Y, lower=True, trans="T")
    if kind == "torch":
        return lib.cholesky_solve(B, C, upper=False)
    Y = xp.linalg.solve(C, B)
    return xp.linalg.solve(xp.linalg.matrix_transpose(C), Y)


def cholesky_inverse(C: Any, *, overwrite: bool = False, lower_only: bool = False, xp=None):
    """Symmetric inverse of ``C Cᵀ`` from its lower Cholesky factor ``C``.

    Forming the inverse from the factor takes n³/3 + n³/3 flops (the inverse V = C⁻¹, then
    VᵀV), a third of the 2n³ of two triangular solves against the identity. On NumPy the
    triangular inverse is computed by halves (:func:`_invert_upper_triangle`) and VᵀV by
    LAPACK's ``lauum``, both in one n×n array; PyTorch has ``torch.cholesky_inverse``;
    other libraries get the two solves, which need ``C`` exactly triangular (zeros above
    the diagonal, as :func:`cholesky` returns it without ``overwrite``). NumPy and PyTorch
    read only the lower triangle.

    Parameters
    ----------
    C : array of shape (n, n)
        Lower Cholesky factor.
    overwrite : bool, default=False
        NumPy only: work in ``C``'s memory (``C`` is then destroyed) instead of a copy.
    lower_only : bool, default=False
        NumPy only: fill only the lower triangle (diagonal included) of the result and
        leave the strict upper triangle as it was in ``C``. The full matrix is returned by
        other namespaces.
    xp : module, optional
        Namespace of ``C``.

    Returns
    -------
    array of shape (n, n)
        (C Cᵀ)⁻¹, exactly symmetric (unless ``lower_only``).

    Raises
    ------
    numpy.linalg.LinAlgError
        On NumPy, if ``C`` has a zero on its diagonal.
    """
    if xp is None:
        xp = get_namespace(C)
    kind, lib = _native(xp)
    if kind == "numpy":
        from scipy.linalg import lapack

        A = C if overwrite else np.array(C, copy=True)
        # Aᵀ is the upper factor U = Cᵀ in Fortran order: U⁻¹ is formed in place, then lauum
        # writes U⁻¹U⁻ᵀ = (UᵀU)⁻¹ over it, upper triangle only.
        U = A.T
        _invert_upper_triangle(U)
        (lauum,) = lapack.get_lapack_funcs(("lauum",), (U,))
        inv, info = lauum(U, lower=0, overwrite_c=1)
        if info != 0:  # only for an illegal argument
            raise np.linalg.LinAlgError(f"lauum failed (info={info})")
        if not np.shares_memory(inv, U):  # a copy was made for a non-contiguous U
            U[...] = inv
        if not lower_only:
            mirror_lower_triangle(A)
        return A
    if kind == "torch":
        return lib.cholesky_inverse(C, upper=False)
    Linv = cholesky_solve(C, eye_like(C), xp=xp)
    return (Linv + xp.linalg.matrix_transpose(Linv)) / 2


#: Order of the diagonal blocks that :func:`_invert_upper_triangle` leaves to LAPACK's
#: ``trtri``: from 32 to 96 the time is the same within 2 % at n = 500.
_TRTRI_BLOCK = 64
#: Side of the square tiles of in-place passes that read one triangle transposed: a tile
#: and its mirror image (2 × 80 KiB in float64) stay in the core's cache together.
_TILE = 100


def _invert_upper_triangle(U: np.ndarray) -> None:
    """Invert a NumPy upper-triangular matrix in place (its strict lower triangle is not read).

    By halves: with U = [A B; 0 D], U⁻¹ = [A⁻¹ −A⁻¹BD⁻¹; 0 D⁻¹], recursively down to blocks
    of :data:`_TRTRI_BLOCK` rows inverted by LAPACK's ``trtri``, and the two triangular
    products by BLAS ``trmm``. The flops are those of ``trtri`` (n³/3), but nearly all of
    them run in ``trmm``: OpenBLAS's ``trtri`` runs at about half the rate of its matrix
    products, 2.0 ms against 1.2 ms for this at n = 500 on one core.

    Raises ``numpy.linalg.LinAlgError`` if a diagonal entry is zero.
    """
    from scipy.linalg import blas, lapack

    (trtri,) = lapack.get_lapack_funcs(("trtri",), (U,))
    (trmm,) = blas.get_blas_funcs(("trmm",), (U,))
    _invert_upper_block(U, 0, int(U.shape[0]), trtri, trmm)


def _invert_upper_block(U, lo: int, hi: int, trtri, trmm) -> None:
    # A module-level function, not a closure: a recursive closure refers to itself, and the
    # reference cycle would keep U (an n×n array) alive until the garbage collector runs.
    if hi - lo <= _TRTRI_BLOCK:
        inv, info = trtri(U[lo:hi, lo:hi], lower=0)
        if info != 0:
            raise np.linalg.LinAlgError("the triangular factor has a zero on its diagonal")
        U[lo:hi, lo:hi] = inv
        return
    mid = (lo + hi) // 2
    _invert_upper_block(U, lo, mid, trtri, trmm)
    _invert_upper_block(U, mid, hi, trtri, trmm)
    B = trmm(-1.0, U[lo:mid, lo:mid], U[lo:mid, mid:hi], side=0, lower=0)
    U[lo:mid, mid:hi] = trmm(1.0, U[mid:hi, mid:hi], B, side=1, lower=0, overwrite_b=1)


def mirror_lower_triangle(A: np.ndarray) -> np.ndarray:
    """Copy a NumPy square matrix's strict lower triangle onto its upper one, in place.

    In tiles of :data:`_TILE` rows, so that the transposed reads stay in cache and no n×n
    temporary is made (``np.tril(A) + np.tril(A, -1).T`` would make three). Returns ``A``.
    """
    n = int(A.shape[0])
    for i0 in range(0, n, _TILE):
        i1 = min(i0 + _TILE, n)
        for j0 in range(0, i0, _TILE):
            A[j0:j0 + _TILE, i0:i1] = A[i0:i1, j0:j0 + _TILE].T
        D = A[i0:i1, i0:i1]
        m = i1 - i0
        np.copyto(D, D.T.copy(), where=np.tri(m, m, -1, dtype=bool).T)
    return A


def multiply_triangles(A: np.ndarray) -> np.ndarray:
    """Replace a NumPy square matrix by the product of its two triangles, in place.

    Off the diagonal both A_ij and A_ji become A_ij·A_ji, so the result is symmetric; the
    diagonal is kept. When A holds one symmetric matrix P in its lower triangle and another,
    Q, in its strict upper one (as a factorization in place leaves them), this is the
    Hadamard product P ∘ Q off the diagonal without an n×n temporary. In tiles, as
    :func:`mirror_lower_triangle`. Returns ``A``.
    """
    n = int(A.shape[0])
    for i0 in range(0, n, _TILE):
        i1 = min(i0 + _TILE, n)
        for j0 in range(0, i0, _TILE):
            lower = A[i0:i1, j0:j0 + _TILE]
            upper = A[j0:j0 + _TILE, i0:i1]
            lower *= upper.T
            upper[...] = lower.T
        D = A[i0:i1, i0:i1]
        diagonal = np.diagonal(D).copy()
        D *= D.T.copy()
        np.fill_diagonal(D, diagonal)
    return A


# -- Dask ---------------------------------------------------------------------------------
# Dask arrays are recognized without importing Dask: an object can only be a Dask array if
# the program imported Dask already, so the core package never pays for (or needs) it.


def is_dask_array(x: Any) -> bool:
    """Whether ``x`` is a ``dask.array.Array`` (never imports Dask)."""
    return array_api_compat.is_dask_array(x)


def any_dask_array(*arrays: Any) -> bool:
    """Whether any of ``arrays`` is a ``dask.array.Array`` (``None`` entries are skipped)."""
    return any(a is not None and is_dask_array(a) for a in arrays)
