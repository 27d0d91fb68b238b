"""Numerical checks of hand-derived gradients.

The check is the Taylor-remainder argument: for a differentiable f with gradient g,

    r(t) = | f(x + t δ) − f(x) − t ⟨g(x), δ⟩ | = O(t²),

so on a log-log scale r(t) has slope 2 as t shrinks, while a wrong gradient leaves a
remainder of order 1 (slope 1). A tolerance on a finite difference cannot tell a slightly
wrong gradient from round-off; the observed order can.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._backend import get_namespace, match_namespace, to_numpy, to_python_float

__all__ = ["TaylorTestResult", "taylor_test"]


@dataclass
class TaylorTestResult:
    """Outcome of :func:`taylor_test`.

    Attributes
    ----------
    order : float
        Observed convergence order of the Taylor remainder: the median slope of
        ``log r(t)`` against ``log t`` between consecutive steps, over the smaller half of
        the steps whose remainder is above round-off (the asymptotic regime, where a wrong
        gradient's linear term dominates). About 2 for a correct gradient, about 1 for a
        wrong one. ``nan`` when too few
        steps are usable (for example when f is linear along δ).
    steps : ndarray
        The step sizes t, decreasing.
    remainders : ndarray
        ``|f(x + tδ) − f(x) − t⟨∇f(x), δ⟩|`` for each step.
    first_order_remainders : ndarray
        ``|f(x + tδ) − f(x)|`` for each step (order 1 when the directional derivative
        is non-zero), for reference.
    local_orders : ndarray
        Slopes between consecutive steps.
    used : ndarray of bool
        Steps whose remainder is above the round-off floor and enter ``order``.
    """

    order: float
    steps: np.ndarray
    remainders: np.ndarray
    first_order_remainders: np.ndarray
    local_orders: np.ndarray
    used: np.ndarray = field(repr=False)

    def __str__(self) -> str:
        rows = [f"{'t':>10s} {'|f(x+td)-f(x)|':>16s} {'remainder':>12s} {'order':>6s}"]
        for i, t in enumerate(self.steps):
            lo = self.local_orders[i - 1] if i > 0 else float("nan")
            rows.append(f"{t:10.3e} {self.first_order_remainders[i]:16.6e} {self.remainders[i]:12.4e} {lo:6.2f}")
        rows.append(f"observed order: {self.order:.3f}")
        return "\n".join(rows)


def taylor_test(
    f: Callable[[Any], Any],
    grad: Callable[[Any], Any] | Any,
    x: Any,
    direction: Any | None = None,
    *,
    steps: Any | None = None,
    seed: int | None = 0,
    symmetric: bool = False,
) -> TaylorTestResult:
    """Observed convergence order of the first-order Taylor remainder of ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        Scalar function of an array shaped like ``x`` (returns a float or 0-d array).
    grad : callable or array
        Gradient of ``f`` at ``x`` (an array shaped like ``x``), or a callable returning it.
    x : array
        Point of evaluation, any supported namespace. Use float64: in float32 round-off
        swamps the remainder before the quadratic regime shows.
    direction : array, optional
        Direction δ. Default: a standard normal direction (symmetrized when
        ``symmetric=True``), scaled to the norm of ``x`` (or to 1 when ``x = 0``).
    steps : sequence of float, optional
        Step sizes t, decreasing. Default: 14 values from 1e-2 down to 1e-2·2⁻¹³
        (the direction has the norm of ``x``, so the largest step moves 1% of it).
    seed : int or None, default=0
        Seed of the random direction.
    symmetric : bool, default=False
        Draw a symmetric random direction (for functions of symmetric matrices).

    Returns
    -------
    TaylorTestResult
        ``result.order`` is about 2 when ``grad`` is right.

    Raises
    ------
    ValueError
        If ``grad`` or ``direction`` does not have the shape of ``x``, ``f`` is not finite
        at ``x``, or ``steps`` is not a strictly decreasing sequence of positive numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.testing import taylor_test
    >>> A = np.diag([1.0, 2.0, 3.0])
    >>> res = taylor_test(lambda x: float(x @ A @ x), lambda x: 2 * A @ x, np.ones(3))
    >>> abs(res.order - 2) < 0.1
    True
    """
    xp = get_namespace(x)
    g = grad(x) if callable(grad) else grad
    if tuple(g.shape) != tuple(x.shape):
        raise ValueError(f"grad must have the shape of x {tuple(x.shape)}, got {tuple(g.shape)}.")
    if direction is None:
        rng = np.random.default_rng(seed)
        d = rng.standard_normal(tuple(x.shape))
        if symmetric:
            if d.ndim != 2 or d.shape[0] != d.shape[1]:
                raise ValueError("symmetric=True needs a square x.")
            d = (d + d.T) / 2
        xn = float(np.linalg.norm(to_numpy(x)))
        d *= (xn if xn > 0 else 1.0) / np.linalg.norm(d)
        direction = match_namespace(d.astype(to_numpy(x).dtype, copy=False), x)
    if tuple(direction.shape) != tuple(x.shape):
        raise ValueError(f"direction must have the shape of x {tuple(x.shape)}, got {tuple(direction.shape)}.")
    if steps is None:
        steps = 1e-2 * 2.0 ** -np.arange(14)
    steps = np.asarray(steps, dtype=float)
    if steps.ndim != 1 or steps.size < 2 or not np.all(np.isfinite(steps) & (steps > 0)):
        raise ValueError(f"steps must be a 1-D sequence of at least 2 positive finite step sizes, got {steps!r}.")
    if np.any(np.diff(steps) >= 0):
        raise ValueError("steps must be strictly decreasing.")
    f0 = to_python_float(f(x))
    if not math.isfinite(f0):
        raise ValueError("f(x) is not finite.")
    slope = to_python_float(xp.sum(g * direction))
    rem = np.empty(steps.size)
    first = np.empty(steps.size)
    for i, t in enumerate(steps.tolist()):
        ft = to_python_float(f(x + t * direction))
        first[i] = abs(ft - f0)
        rem[i] = abs(ft - f0 - t * slope)
    eps = float(np.finfo(to_numpy(x).dtype).eps) if xp.isdtype(x.dtype, "real floating") else 2.2e-16
    floor = 100.0 * eps * max(abs(f0), abs(slope) * float(steps.max()), 1e-300)
    used = rem > floor
    with np.errstate(divide="ignore", invalid="ignore"):
        local = np.log(rem[:-1] / rem[1:]) / np.log(steps[:-1] / steps[1:])
    idx = np.flatnonzero(used)
    if idx.size >= 3:
        slopes = np.log(rem[idx[:-1]] / rem[idx[1:]]) / np.log(steps[idx[:-1]] / steps[idx[1:]])
        tail = max(2, (slopes.size + 1) // 2)
        order = float(np.median(slopes[-tail:]))
    else:
        order = float("nan")
    return TaylorTestResult(order, steps, rem, first, local, used)
