"""The DPP term's checks come back to the host in as few reads as they can.

On a GPU every read of a device value waits for the device, and at n = 500 such a wait
costs more than the kernel's arithmetic. The batch's finiteness, the squared norms'
overflow and the kernel's underflow are read back together, and so are the Cholesky
factorization's success, its pivot test and the log-determinant. These tests count the
reads on array-api-strict, whose arrays take the same (generic) code path as CuPy's and
CUDA tensors', and check that the deferred checks still raise what the eager ones did.
"""

import collections

import numpy as np
import pytest

from spectral_ml._backend import cholesky_deferred
from spectral_ml.dpp import dpp_diversity, gaussian_kernel
from spectral_ml.dpp.kernel import gaussian_affinity_deferred
from spectral_ml.linalg import cholesky_logdet

SIGMA = 0.2

# Every way an array-api-strict array can reach the host.
_READS = ("__bool__", "__float__", "__int__", "__index__", "__complex__", "__array__", "__dlpack__")


@pytest.fixture
def count_reads(monkeypatch):
    """A counter of the host reads of array-api-strict arrays while it is active."""
    strict = pytest.importorskip("array_api_strict")
    array_type = type(strict.asarray(0.0))
    counter = collections.Counter()
    for name in _READS:
        original = getattr(array_type, name, None)
        if original is None:
            continue

        def read(self, *args, _original=original, _name=name, **kwargs):
            counter[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(array_type, name, read)
    return strict, counter


def _spread(n=40, d=3, seed=0):
    # Far enough apart for a well-conditioned kernel: the exact path applies.
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (n, d))


def _reads(counter, func):
    counter.clear()
    func()
    return sum(counter.values())


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda X: gaussian_kernel(X, SIGMA), 1),
        (lambda X: dpp_diversity(X, SIGMA, method="dppsg*").grad, 1),
        (lambda X: dpp_diversity(X, SIGMA, method="exact").grad, 2),
        (lambda X: dpp_diversity(X, SIGMA).grad, 2),
        # The value too: the kernel again (its checks were read already) and a factorization.
        (lambda X: dpp_diversity(X, SIGMA, method="dppsg*").value, 2),
        # The eigenvalue count and the lifted log det in one read.
        (lambda X: dpp_diversity(X, SIGMA, method="dppsg").value, 2),
    ],
    ids=["kernel", "dppsg*", "exact", "auto", "dppsg*+value", "dppsg"],
)
def test_reads_per_call(count_reads, call, expected):
    strict, counter = count_reads
    X = strict.asarray(_spread())
    call(X)  # first call: nothing cached differs, but keep the count to a steady call
    assert _reads(counter, lambda: call(X)) == expected


def test_auto_on_a_singular_batch_reads_at_most_twice(count_reads):
    # The kernel's read, and the factorization's unless the library raised (NumPy's does here,
    # PyTorch's cholesky_ex reports through its flag); DPPSG* then needs none.
    strict, counter = count_reads
    Xn = _spread()
    Xn[1] = Xn[0]
    X = strict.asarray(Xn)
    assert 1 <= _reads(counter, lambda: dpp_diversity(X, SIGMA).grad) <= 2
    assert dpp_diversity(X, SIGMA).method == "dppsg*"


def test_cholesky_logdet_reads_at_most_once(count_reads):
    strict, counter = count_reads
    S = np.cov(np.random.default_rng(1).standard_normal((4, 30))) + np.eye(4)
    M = strict.asarray(S)
    assert _reads(counter, lambda: cholesky_logdet(M)) == 1
    C, logdet = cholesky_logdet(M)
    assert logdet == pytest.approx(np.linalg.slogdet(S)[1], rel=1e-12)
    indefinite = strict.asarray(np.diag([1.0, -1.0, 2.0]))
    assert _reads(counter, lambda: cholesky_logdet(indefinite)) <= 1  # none if the library raised
    assert cholesky_logdet(indefinite) == (None, None)
    # A factorization that succeeds with a pivot at round-off level: one read tells.
    a = 1.0 - 2.0**-52  # two rows equal but for the last bit: pivot² = 2⁻⁵¹ < 3ε
    duplicate = strict.asarray(np.array([[1.0, a, 0.0], [a, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    assert _reads(counter, lambda: cholesky_logdet(duplicate)) == 1
    assert cholesky_logdet(duplicate) == (None, None)


def test_the_deferred_variants_read_nothing_back(count_reads):
    # The naming rule: a *_deferred function returns what its caller must check, unread.
    strict, counter = count_reads
    X = strict.asarray(_spread())
    assert _reads(counter, lambda: gaussian_affinity_deferred(X)) == 0
    S = np.cov(np.random.default_rng(1).standard_normal((4, 30))) + np.eye(4)
    assert _reads(counter, lambda: cholesky_deferred(strict.asarray(S))) == 0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("method", ["auto", "exact", "dppsg", "dppsg*"])
@pytest.mark.parametrize("underflow", ["raise", "allow"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_non_finite_batch_names_X_whatever_the_path(xp, bad, method, underflow, dtype):
    Xn = _spread(n=6).astype(dtype)
    Xn[3, 1] = bad
    with pytest.raises(ValueError, match="^X contains NaN or infinity"):
        dpp_diversity(xp.asarray(Xn), SIGMA, method=method, underflow=underflow)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_batch_names_X_in_the_kernel(xp, bad):
    Xn = _spread(n=5)
    Xn[0, 0] = bad
    with pytest.raises(ValueError, match="^X contains NaN or infinity"):
        gaussian_kernel(xp.asarray(Xn), SIGMA)


def test_both_infinities_in_one_column_name_X(xp):
    # +inf and -inf in a column make its mean NaN, not infinite: still X's fault.
    Xn = _spread(n=5)
    Xn[0, 0], Xn[1, 0] = np.inf, -np.inf
    with pytest.raises(ValueError, match="^X contains NaN or infinity"):
        dpp_diversity(xp.asarray(Xn), SIGMA)


@pytest.mark.parametrize("method", ["auto", "exact", "dppsg", "dppsg*"])
@pytest.mark.parametrize("underflow", ["raise", "allow"])
def test_finite_batch_whose_norms_overflow_names_sigma(xp, method, underflow):
    X = xp.asarray(np.arange(8.0).reshape(4, 2) * 1e150)
    with pytest.raises(ValueError, match="^sigma=1e-10 is too small for the scale of X: the squared"):
        dpp_diversity(X, 1e-10, method=method, underflow=underflow)
