"""Wasserstein distance between point clouds, and the "gap to the uniform distribution".

Yu et al. (ICLR 2020, Appendix A.1) measure how evenly learned 2-D features fill the square
``[-1, 1]^2``: draw 2000 uniform points, compute the Wasserstein distance to the test
features, repeat 10 times and report the mean. :func:`gap_to_reference` implements that
protocol on top of :func:`wasserstein_distance`, which is exact for two samples of equal size
(an optimal assignment, solved by :func:`scipy.optimize.linear_sum_assignment`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from .._backend import to_numpy
from .._validation import as_float_array, check_generator, check_int, check_real

__all__ = ["wasserstein_distance", "gap_to_reference", "uniform_box_sampler", "UniformBoxSampler"]


def _as_points(x, name: str) -> np.ndarray:
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    x = as_float_array(x, name)
    out = np.asarray(to_numpy(x), dtype=np.float64)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of points, got shape {tuple(x.shape)}.")
    if out.shape[0] < 1:
        raise ValueError(f"{name} must contain at least one point.")
    return out


def _check_p(p) -> float:
    return check_real(p, "p", low=1.0)


def _assignment_distance(x: np.ndarray, y: np.ndarray, p: float) -> float:
    cost = cdist(x, y, metric="euclidean")
    if p != 1.0:
        top = float(cost.max())
        with np.errstate(over="ignore", under="ignore"):
            cost = cost**p
        if not np.isfinite(cost).all() or (top > 0 and not cost.max() > 0):
            raise ValueError(
                f"p={p:g} is too large for distances up to {top:.3g}: their p-th powers "
                f"{'overflow' if top > 1 else 'underflow'} in float64. Use a smaller p or "
                "rescale the points."
            )
    rows, cols = linear_sum_assignment(cost)
    return float(np.mean(cost[rows, cols]) ** (1.0 / p))


def wasserstein_distance(features: Any, samples: Any, p: float = 2) -> float:
    """Exact p-Wasserstein distance between two equally sized point clouds.

    For empirical measures with ``n`` equally weighted points each, an optimal transport
    plan is a permutation (Birkhoff-von Neumann), so::

        W_p = ( min_sigma (1/n) sum_i ||x_i - y_sigma(i)||^p )^(1/p)

    which is solved exactly as a linear assignment problem (O(n^3) time, an n x n cost
    matrix in memory: a few seconds for n = 2000).

    Parameters
    ----------
    features : array of shape (n, d)
        First point cloud (any array namespace; the computation runs on the CPU with
        SciPy). A 1-D array is read as ``n`` points on the line.
    samples : array of shape (n, d)
        Second point cloud, with as many points as ``features``.
    p : float, default=2
        Order, ``p >= 1``; ``p=1`` gives the earth mover's distance W1.

    Returns
    -------
    float
        ``W_p(features, samples)``.

    Raises
    ------
    ValueError
        If a cloud is not finite, the dimensions differ, ``p < 1``, or the two clouds have
        different numbers of points: the exact assignment needs equal sizes; subsample the
        larger cloud first (as :func:`gap_to_reference` does).

    Examples
    --------
    >>> import numpy as np
    >>> wasserstein_distance(np.array([[0.0], [1.0]]), np.array([[3.0], [2.0]]), p=1)
    2.0
    """
    x = _as_points(features, "features")
    y = _as_points(samples, "samples")
    p = _check_p(p)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"samples has dimension {y.shape[1]} but features have {x.shape[1]}.")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"samples has {y.shape[0]} points but features have {x.shape[0]}: the exact "
            f"distance needs equal sizes; subsample the larger cloud first."
        )
    return _assignment_distance(x, y, p)


class UniformBoxSampler:
    """Sampler of the uniform distribution on the box ``[low, high]^d``.

    ``sampler(n, d, rng)`` returns ``rng.uniform(low, high, size=(n, d))``, the signature
    :func:`gap_to_reference` and the WGAN critic of :mod:`spectral_ml.nn` expect. A
    module-level class rather than a closure, so that estimators holding one pickle.

    Parameters
    ----------
    low, high : float, default=-1, 1
        Bounds of every coordinate, ``low < high``, both finite.

    Raises
    ------
    ValueError
        If the bounds are not finite or ``low >= high``.
    """

    def __init__(self, low: float = -1.0, high: float = 1.0):
        low, high = check_real(low, "low"), check_real(high, "high")
        if not low < high:
            raise ValueError(f"low must be < high (both finite), got low={low}, high={high}.")
        self.low, self.high = low, high

    def __call__(self, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.low, self.high, size=(n, d))

    def __repr__(self) -> str:
        return f"UniformBoxSampler(low={self.low!r}, high={self.high!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, UniformBoxSampler) and (self.low, self.high) == (other.low, other.high)

    def __hash__(self) -> int:
        return hash((UniformBoxSampler, self.low, self.high))


def uniform_box_sampler(low: float = -1.0, high: float = 1.0) -> UniformBoxSampler:
    """Return a sampler of the uniform distribution on the box ``[low, high]^d``.

    Parameters
    ----------
    low, high : float, default=-1, 1
        Bounds of every coordinate, ``low < high``.

    Returns
    -------
    UniformBoxSampler
        ``sampler(n, d, rng) -> ndarray of shape (n, d)``, the signature
        :func:`gap_to_reference` expects; it pickles.

    Raises
    ------
    ValueError
        If the bounds are not finite or ``low >= high``.
    """
    return UniformBoxSampler(low, high)


def gap_to_reference(
    features: Any,
    sampler: Callable | None = None,
    n_samples: int = 2000,
    n_repeats: int = 10,
    random_state: int | np.random.Generator | None = None,
    *,
    p: float = 2,
    return_all: bool = False,
) -> Any:
    """Mean Wasserstein distance between features and fresh samples of a reference law.

    The "gap to P" protocol of Yu et al. (ICLR 2020, Appendix A.1), with P uniform on
    ``[-1, 1]^d`` by default. Each repeat draws ``m = min(n_samples, n_features)`` points
    from the reference and, when the features are more numerous, a random subset of ``m``
    features (without replacement); the exact :func:`wasserstein_distance` of the two equal
    clouds is recorded. The paper samples 2000 reference points against all test features;
    an exact distance needs equal sizes, hence the subsampling (which adds a little variance
    and bias that the averaging over repeats reduces).

    Parameters
    ----------
    features : array of shape (n_features, d)
        Learned features (any array namespace; the computation runs on the CPU).
    sampler : callable, optional
        ``sampler(n, d, rng) -> array (n, d)`` drawing from the reference law with the NumPy
        Generator ``rng``. Default: uniform on ``[-1, 1]^d`` (:func:`uniform_box_sampler`).
    n_samples : int, default=2000
        Reference points per repeat (fewer when there are fewer features).
    n_repeats : int, default=10
        Number of repeats averaged.
    random_state : int, numpy.random.Generator or None, optional
        Seed (``numpy.random.default_rng`` semantics).
    p : float, default=2
        Order of the Wasserstein distance.
    return_all : bool, default=False
        Also return the distance of every repeat.

    Returns
    -------
    gap : float
        Mean distance over the repeats.
    distances : ndarray of shape (n_repeats,)
        Only when ``return_all`` is true.

    Raises
    ------
    ValueError
        On invalid features, counts, ``p``, or a sampler that returns the wrong shape or
        non-finite values.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> uniform = rng.uniform(-1, 1, size=(300, 2))
    >>> collapsed = np.zeros((300, 2))
    >>> near = gap_to_reference(uniform, n_samples=300, n_repeats=3, random_state=0)
    >>> far = gap_to_reference(collapsed, n_samples=300, n_repeats=3, random_state=0)
    >>> bool(near < 0.2 < 0.7 < far)
    True
    """
    x = _as_points(features, "features")
    n_samples = check_int(n_samples, "n_samples", low=1)
    n_repeats = check_int(n_repeats, "n_repeats", low=1)
    p = _check_p(p)
    if sampler is None:
        sampler = uniform_box_sampler()
    elif not callable(sampler):
        raise ValueError(f"sampler must be callable as sampler(n, d, rng), got {sampler!r}.")
    rng = check_generator(random_state)
    n, d = x.shape
    m = min(n_samples, n)
    distances = np.empty(n_repeats)
    for r in range(n_repeats):
        reference = np.asarray(to_numpy(sampler(m, d, rng)), dtype=np.float64)
        if reference.shape != (m, d) or not np.all(np.isfinite(reference)):
            raise ValueError(
                f"sampler must return {m} finite points of dimension {d}, got an array of shape {reference.shape}."
            )
        subset = x if m == n else x[rng.choice(n, size=m, replace=False)]
        distances[r] = _assignment_distance(subset, reference, p)
    gap = float(np.mean(distances))
    return (gap, distances) if return_all else gap
