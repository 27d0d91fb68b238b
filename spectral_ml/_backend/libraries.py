"""One entry per array library: how it does each operation the array API leaves out or makes slow.

:class:`ArrayLibrary` is the portable entry: every operation written with the standard
functions of the namespace alone, which is what array-api-strict (and any library without
an entry of its own) gets. :class:`NumPyLibrary`, :class:`CuPyLibrary` and
:class:`TorchLibrary` override the operations their library does faster or differently,
and nothing else, so that each class reads as the list of that library's fast paths.

:func:`array_library` finds the entry of a namespace once (entries are cached per
namespace), :func:`array_library_of` the entry of an array's namespace and
:func:`library_of_array` the entry class of an array (for host copies, which need no
namespace), both once per type of array. The named functions of
:mod:`spectral_ml._backend.ops` and the algorithm modules (the Gaussian kernel of
:mod:`spectral_ml.dpp.kernel`) call these methods; none of them asks which library it has.

Adding a library is one new entry: a subclass that says how to recognise the library's
namespace and arrays (:meth:`ArrayLibrary.recognises`, :meth:`ArrayLibrary.owns`) and
overrides the operations it does better, appended to :data:`LIBRARIES`.
``tests/test_backend.py`` checks that every entry is found for its namespace and that the
operations of each give the portable results.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import array_api_compat
import numpy as np

from . import lapack

__all__ = [
    "ArrayLibrary",
    "NumPyLibrary",
    "CuPyLibrary",
    "TorchLibrary",
    "LIBRARIES",
    "array_library",
    "array_library_of",
    "library_of_array",
]

#: Entries of a namespace, found once: a namespace is a module, so this holds a handful.
_ENTRIES: dict[Any, ArrayLibrary] = {}
#: Entry classes by type of array (or of list, scalar...), for host copies: whether an entry
#: owns an object depends on its type alone, and a look-up by type costs less than asking
#: each entry (a copy of a small array costs a few microseconds).
_CLASSES_BY_TYPE: dict[type, type[ArrayLibrary]] = {}
#: Entries by type of array, for operations on one array: its namespace depends on its type
#: alone, and finding it again would cost more than some of the operations (a finiteness
#: test of a small NumPy array takes 2 µs).
_ENTRIES_BY_TYPE: dict[type, ArrayLibrary] = {}


class ArrayLibrary:
    """The portable entry: every operation written with the array API alone.

    An instance is bound to one namespace ``xp`` (as returned by
    :func:`spectral_ml._backend.get_namespace`); its methods take arrays of that namespace
    and return arrays of it, on the device of their inputs.

    Parameters
    ----------
    xp : module
        The array-API namespace.
    """

    #: Short name of the library, for messages and tests.
    name: ClassVar[str] = "array API"
    #: A module whose ufuncs take ``out=`` and ``where=`` (NumPy's API), for updates of n×n
    #: arrays in place, or None.
    ufuncs: Any = None

    def __init__(self, xp):
        self.xp = xp

    def __repr__(self) -> str:
        return f"<{type(self).__name__} for {getattr(self.xp, '__name__', self.xp)!r}>"

    # -- recognition and host copies (class-level: no namespace is needed) -----------------

    @classmethod
    def recognises(cls, xp: Any) -> bool:
        """Whether ``xp`` is this library's namespace (or its array-api-compat wrapper)."""
        return False

    @classmethod
    def owns(cls, x: Any) -> bool:
        """Whether ``x`` is an array of this library."""
        return False

    @staticmethod
    def to_numpy(x: Any) -> np.ndarray:
        """A NumPy copy (or view) of ``x``: lists and scalars as arrays, others through DLPack."""
        if isinstance(x, (list, tuple, int, float)) or np.isscalar(x):
            return np.asarray(x)
        try:
            return np.from_dlpack(x)
        except (TypeError, BufferError, RuntimeError, AttributeError):
            return np.asarray(x)

    def from_numpy(self, a: np.ndarray, device: Any = None) -> Any:
        """NumPy array ``a`` as an array of this namespace (on ``device`` when given)."""
        if device is None:
            return self.xp.asarray(a)
        return self.xp.asarray(a, device=device)

    # -- element-wise and indexing ----------------------------------------------------------

    def take_rows(self, X: Any, rows: Any) -> Any:
        """Rows ``rows`` (integer indices of this namespace, on X's device) of ``X``."""
        return self.xp.take(X, rows, axis=0)

    def masked(self, A: Any, mask: Any) -> Any:
        """``A`` where boolean ``mask`` holds, 0 elsewhere."""
        return self.xp.where(mask, A, 0.0)

    def zero_diagonal(self, M: Any) -> Any:
        """``M`` with a zero diagonal: in place where the library can, else a new array."""
        xp = self.xp
        n = int(M.shape[0])
        return xp.where(xp.eye(n, dtype=xp.bool, device=array_api_compat.device(M)), 0.0, M)

    def subtract_diagonal(self, M: Any, v: Any) -> Any:
        """``M − diag(v)``: in place where the library can (n entries updated), else a new array."""
        xp = self.xp
        return M - xp.eye(M.shape[0], dtype=M.dtype, device=array_api_compat.device(M)) * v[None, :]

    def subtract_outer_sum(self, G: Any, r: Any) -> Any:
        """``G − (r_i + r_j)`` in ``G``'s memory, each entry rounded once from r_i + r_j.

        The sum r_i + r_j is formed first, so that the result is exactly symmetric where
        ``G`` is ((g − r_i) − r_j and (g − r_j) − r_i round differently).
        """
        G -= r[:, None] + r[None, :]
        return G

    def all_finite(self, x: Any) -> bool:
        """Whether every entry of ``x`` is finite (no NaN, no infinity)."""
        xp = self.xp
        return bool(xp.all(xp.isfinite(x)))

    def exp_or_zero(self, E: Any, floor: float, *, upper: float | None = None, overwrite: bool = False) -> Any:
        """exp(min(E, upper)) where E ≥ ``floor``, and 0 below it.

        Entries within a few ulps of ``floor`` may come out either way (PyTorch's entry
        decides there by one threshold on the result). ``overwrite`` lets a library work
        in ``E``'s memory; this portable version never does.
        """
        xp = self.xp
        if upper is not None:
            E = xp.clip(E, max=upper)
        return xp.where(E >= floor, xp.exp(E), xp.zeros_like(E))

    # -- products ---------------------------------------------------------------------------

    def matmul(self, A: Any, B: Any) -> Any:
        """``A @ B``, in a wider dtype where the library has no product for the operands'."""
        return A @ B

    def matmul_into(self, A: Any, B: Any, out: Any) -> Any:
        """``A @ B`` written into ``out`` (a view of a larger array); returns ``out``."""
        out[...] = A @ B
        return out

    def inner_product(self, A: Any, B: Any) -> Any:
        """Σ A_ij B_ij over all entries, as a 0-d array or a scalar of the library."""
        xp = self.xp
        return xp.vecdot(xp.reshape(A, (-1,)), xp.reshape(B, (-1,)))

    def gram_in_strips(self, Y: Any) -> bool:
        """Whether Y Yᵀ is best computed as strips of its upper triangle, mirrored after.

        True where the library has no symmetric product (``syrk``) but a product written
        into slices that are views, and a pass over the strips costs less than one over
        the full matrix: PyTorch on the CPU. The portable answer is False: one product.
        """
        return False

    def mirror_upper_triangle(self, A: Any, block: int) -> Any:
        """``A`` with its strict lower triangle replaced by the upper one transposed.

        ``block`` is the side of the strips in which the upper triangle was computed; a
        library that works in place uses it for the order of its copies. Returns the
        result (``A`` itself where done in place).
        """
        xp = self.xp
        n = int(A.shape[0])
        index = xp.arange(n, device=array_api_compat.device(A))
        return xp.where(index[:, None] <= index[None, :], A, xp.linalg.matrix_transpose(A))

    # -- Cholesky ---------------------------------------------------------------------------

    def cholesky(self, M: Any, *, overwrite: bool = False) -> tuple[Any, Any]:
        """Lower Cholesky factor and the library's own failure flag, without a host read.

        Returns ``(C, failed)``: ``failed`` a 0-d boolean array on the device, or None
        where the library reports failure by raising (or by a factor that is not finite
        and positive on its diagonal, which the caller checks); ``C`` None when the
        library has said on the host that the factorization failed. ``overwrite`` lets a
        library factor in ``M``'s memory.
        """
        return self.xp.linalg.cholesky(M), None

    def cholesky_solve(self, C: Any, B: Any) -> Any:
        """Solve ``(C Cᵀ) X = B`` given the lower Cholesky factor ``C`` (two general solves)."""
        xp = self.xp
        Y = xp.linalg.solve(C, B)
        return xp.linalg.solve(xp.linalg.matrix_transpose(C), Y)

    def cholesky_inverse(self, C: Any, *, overwrite: bool = False, lower_only: bool = False) -> Any:
        """(C Cᵀ)⁻¹ from the lower factor ``C``: two solves against the identity, symmetrized.

        Needs ``C`` exactly triangular (zeros above the diagonal). ``overwrite`` and
        ``lower_only`` allow a library to work in ``C``'s memory and fill one triangle.
        """
        xp = self.xp
        eye = xp.eye(C.shape[0], dtype=C.dtype, device=array_api_compat.device(C))
        Linv = self.cholesky_solve(C, eye)
        return (Linv + xp.linalg.matrix_transpose(Linv)) / 2


class NumPyLibrary(ArrayLibrary):
    """NumPy: ufuncs in place, SciPy's LAPACK and BLAS called directly."""

    name = "numpy"
    ufuncs = np
    #: Entries of the temporary r_i + r_j built per row chunk (256 KiB in float64).
    OUTER_CHUNK = 32768

    @classmethod
    def recognises(cls, xp: Any) -> bool:
        return array_api_compat.is_numpy_namespace(xp)

    @classmethod
    def owns(cls, x: Any) -> bool:
        return isinstance(x, np.ndarray)

    @staticmethod
    def to_numpy(x: Any) -> Any:
        return x

    def from_numpy(self, a: Any, device: Any = None) -> Any:
        return np.asarray(a)

    def take_rows(self, X: Any, rows: Any) -> Any:
        return X[rows]

    def masked(self, A: Any, mask: Any) -> Any:
        # NumPy's where is several times slower than a multiplication by the boolean mask.
        return A * mask

    def zero_diagonal(self, M: Any) -> Any:
        np.fill_diagonal(M, 0)
        return M

    def subtract_diagonal(self, M: Any, v: Any) -> Any:
        idx = np.arange(M.shape[0])
        M[idx, idx] -= v
        return M

    def subtract_outer_sum(self, G: Any, r: Any) -> Any:
        # In row chunks, so that the temporary r_i + r_j stays small; each entry is still
        # rounded once from the same two terms.
        step = max(1, self.OUTER_CHUNK // G.shape[0])
        for i in range(0, G.shape[0], step):
            G[i : i + step] -= np.add.outer(r[i : i + step], r)
        return G

    def all_finite(self, x: Any) -> bool:
        # One reduction without the boolean temporary's namespace wrapper.
        return bool(np.isfinite(x).all())

    def exp_or_zero(self, E: Any, floor: float, *, upper: float | None = None, overwrite: bool = False) -> Any:
        if not overwrite:
            E = np.array(E, copy=True)
        if upper is not None:
            np.minimum(E, upper, out=E)
        keep = E >= floor
        np.exp(E, out=E, where=keep)
        # Entries left out keep their exponent, below floor < 0; clipping at 0 zeroes them.
        np.maximum(E, 0.0, out=E)
        return E

    def inner_product(self, A: Any, B: Any) -> Any:
        return np.vdot(A, B)

    def cholesky(self, M: Any, *, overwrite: bool = False) -> tuple[Any, Any]:
        return lapack.potrf_lower(np.asarray(M), overwrite=overwrite), None

    def cholesky_solve(self, C: Any, B: Any) -> Any:
        import scipy.linalg

        return scipy.linalg.cho_solve((np.asarray(C), True), np.asarray(B), check_finite=False)

    def cholesky_inverse(self, C: Any, *, overwrite: bool = False, lower_only: bool = False) -> Any:
        return lapack.inverse_from_lower_factor(C, overwrite=overwrite, lower_only=lower_only)


class CuPyLibrary(ArrayLibrary):
    """CuPy: NumPy's ufuncs and in-place indexing, cuSOLVER's factorization, cupyx's solves."""

    name = "cupy"

    def __init__(self, xp):
        import cupy

        super().__init__(xp)
        self.cupy = cupy
        self.ufuncs = cupy

    @classmethod
    def recognises(cls, xp: Any) -> bool:
        return array_api_compat.is_cupy_namespace(xp)

    @classmethod
    def owns(cls, x: Any) -> bool:
        return array_api_compat.is_cupy_array(x)

    @staticmethod
    def to_numpy(x: Any) -> Any:
        return x.get()

    def subtract_diagonal(self, M: Any, v: Any) -> Any:
        idx = self.cupy.arange(M.shape[0])
        M[idx, idx] -= v
        return M

    def cholesky(self, M: Any, *, overwrite: bool = False) -> Any:
        cupy = self.cupy
        if M.dtype in (cupy.float32, cupy.float64):
            return lapack.cusolver_potrf(M, cupy)
        import cupyx

        # CuPy's default leaves a failed factorization unreported (a partial factor);
        # "raise" reads potrf's info back and raises LinAlgError.
        with cupyx.errstate(linalg="raise"):
            return cupy.linalg.cholesky(M), None

    def cholesky_solve(self, C: Any, B: Any) -> Any:
        from cupyx.scipy.linalg import solve_triangular

        Y = solve_triangular(C, B, lower=True)
        return solve_triangular(C, Y, lower=True, trans="T")


class TorchLibrary(ArrayLibrary):
    """PyTorch: in-place tensor methods, ``cholesky_ex`` and its kin, blocked CPU products."""

    name = "torch"

    def __init__(self, xp):
        import torch

        super().__init__(xp)
        self.torch = torch

    @classmethod
    def recognises(cls, xp: Any) -> bool:
        return array_api_compat.is_torch_namespace(xp)

    @classmethod
    def owns(cls, x: Any) -> bool:
        return array_api_compat.is_torch_array(x)

    @staticmethod
    def to_numpy(x: Any) -> Any:
        return x.detach().cpu().numpy()

    def subtract_diagonal(self, M: Any, v: Any) -> Any:
        M.diagonal().sub_(v)
        return M

    def all_finite(self, x: Any) -> bool:
        torch = self.torch
        # One reduction pass: min and max propagate NaN, and infinities are extremes. PyTorch's
        # isfinite takes four passes (abs, two comparisons, and) and a boolean temporary.
        # Single and double precision only: PyTorch 2.1 has no CPU aminmax for half.
        if x.numel() > 0 and x.dtype in (torch.float32, torch.float64):
            return bool(torch.isfinite(torch.stack(torch.aminmax(x))).all())
        return super().all_finite(x)

    def exp_or_zero(self, E: Any, floor: float, *, upper: float | None = None, overwrite: bool = False) -> Any:
        import torch.nn.functional as F

        # The exponents are raised to ``floor`` first, so the exponential never runs into its
        # slow paths. The raised entries all come out as exp(floor), within a few ulps of the
        # bound, and one threshold pass zeroes them (with the few results in that same sliver
        # just above it), where a mask of E < floor and masked_fill would cost two passes.
        E = E.clamp_(min=floor, max=upper) if overwrite else E.clamp(min=floor, max=upper)
        sliver = math.exp(floor) * (1.0 + 64.0 * float(self.xp.finfo(E.dtype).eps))
        return F.threshold_(E.exp_(), sliver, 0.0)  # type: ignore[attr-defined]  # in torch at run time, missing from its stubs

    def matmul(self, A: Any, B: Any) -> Any:
        # PyTorch 2.1 has no CPU matrix product for float16 (later releases do); float32 holds
        # every value of both formats exactly, and the product is rounded back.
        torch = self.torch
        if A.device.type == "cpu" and A.dtype in (torch.float16, torch.bfloat16):
            return (A.float() @ B.float()).to(A.dtype)
        return A @ B

    def matmul_into(self, A: Any, B: Any, out: Any) -> Any:
        return self.torch.mm(A, B, out=out)

    def gram_in_strips(self, Y: Any) -> bool:
        # Strips write into views of one tensor, which autograd cannot follow; half precision
        # has no CPU product to write with (see matmul).
        torch = self.torch
        return (
            Y.device.type == "cpu"
            and Y.dtype in (torch.float32, torch.float64)
            and not (Y.requires_grad and torch.is_grad_enabled())
        )

    def mirror_upper_triangle(self, A: Any, block: int) -> Any:
        torch = self.torch
        n = int(A.shape[0])
        b = block
        # The blocks left of the diagonal are copied strip by strip, and within the diagonal
        # blocks (the full ones as one batch of views) the part below the diagonal.
        for i0 in range(b, n, b):
            i1 = min(i0 + b, n)
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
        return A

    def cholesky(self, M: Any, *, overwrite: bool = False) -> tuple[Any, Any]:
        C, info = self.torch.linalg.cholesky_ex(M)
        return C, self.torch.any(info != 0)

    def cholesky_solve(self, C: Any, B: Any) -> Any:
        return self.torch.cholesky_solve(B, C, upper=False)

    def cholesky_inverse(self, C: Any, *, overwrite: bool = False, lower_only: bool = False) -> Any:
        return self.torch.cholesky_inverse(C, upper=False)


#: The entries with fast paths of their own, in the order they are tried; a namespace none
#: of them recognises gets the portable :class:`ArrayLibrary`.
LIBRARIES: tuple[type[ArrayLibrary], ...] = (NumPyLibrary, CuPyLibrary, TorchLibrary)


def array_library(xp: Any) -> ArrayLibrary:
    """The entry of namespace ``xp``: its library's class, or the portable one.

    Parameters
    ----------
    xp : module
        An array-API namespace, as returned by :func:`spectral_ml._backend.get_namespace`.

    Returns
    -------
    ArrayLibrary
        The entry bound to ``xp``, the same object at every call.
    """
    try:
        return _ENTRIES[xp]
    except KeyError:
        pass
    cls = next((c for c in LIBRARIES if c.recognises(xp)), ArrayLibrary)
    entry = _ENTRIES[xp] = cls(xp)
    return entry


def array_library_of(x: Any) -> ArrayLibrary:
    """The entry of the namespace of array ``x``: ``array_library(array_namespace(x))``.

    Raises
    ------
    TypeError
        If ``x`` is not an array of a supported library.
    """
    try:
        return _ENTRIES_BY_TYPE[type(x)]
    except KeyError:
        pass
    entry = _ENTRIES_BY_TYPE[type(x)] = array_library(array_api_compat.array_namespace(x))
    return entry


def library_of_array(x: Any) -> type[ArrayLibrary]:
    """The entry class whose library ``x`` is an array of, or :class:`ArrayLibrary`."""
    try:
        return _CLASSES_BY_TYPE[type(x)]
    except KeyError:
        pass
    cls = _CLASSES_BY_TYPE[type(x)] = next((c for c in LIBRARIES if c.owns(x)), ArrayLibrary)
    return cls
