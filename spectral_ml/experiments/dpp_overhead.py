"""The DPP paper's Table 6: time of the DPP term against the whole training step.

:func:`run_dpp_overhead` times training steps of a perceptron on synthetic batches of the
paper's sizes, one batch size at a time: these units are timings, so they never run beside
another unit. Also importable from :mod:`spectral_ml.experiments.dpp`.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import report
from ._records import Records
from ._units import Protocol, check_blas_threads, run_protocol, unit_store

__all__ = ["overhead_protocol", "overhead_records", "run_dpp_overhead"]


def run_dpp_overhead(out_dir: str | os.PathLike[str], **settings: Any) -> dict:
    """DPP paper Table 6: measure with :func:`overhead_records` and write table and figure.

    Parameters
    ----------
    out_dir : str or path-like
        Directory for ``dpp_overhead.csv`` / ``.md`` and ``dpp_overhead.png``.
    **settings
        Keyword arguments of :func:`overhead_records` (batch sizes, repeats, network, ...).

    Returns
    -------
    dict
        ``"table"`` (per batch size: overhead-all and overhead-DPP in ms, the DPP share, the
        path taken, the DPP term without its value, the stand-alone times of the three
        paths, and the paper's DPP share on its GPU), ``"files"``, ``"figure"`` (the
        :func:`~spectral_ml.plotting.plot_overhead` bars), ``"results"`` (the raw
        timings, in seconds), ``"notes"`` and ``"records"``.

    Examples
    --------
    >>> import tempfile
    >>> from spectral_ml.experiments.dpp import run_dpp_overhead
    >>> out = run_dpp_overhead(tempfile.mkdtemp(), batch_sizes=(100, 200), quick=True,
    ...                        progress=False)  # doctest: +SKIP
    >>> len(out["table"].rows)  # doctest: +SKIP
    2
    """
    return report.write_dpp_overhead(overhead_records(**settings), out_dir)


def overhead_records(
    *,
    batch_sizes: Sequence[int] = (100, 200, 250, 400, 500),
    quick: bool = False,
    n_repeats: int | None = None,
    n_features: int = 784,
    hidden: Sequence[int] = (200,),
    n_components: int = 2,
    method: str = "dppsg*",
    dtype: str = "float32",
    random_state: int = 0,
    blas_threads: int = 1,
    progress: bool = True,
    checkpoints: Any = None,
) -> Records:
    """DPP paper Table 6: time of the DPP term against the whole training step, per batch size.

    For every batch size, a perceptron ``n_features → hidden → n_components`` (784-200-2 by
    default) takes training steps on a class-balanced batch of synthetic inputs (uniform in
    [0, 1], 10 classes): forward pass, contrastive loss, DPP term (:func:`~spectral_ml.nn.dpp_loss`
    with the learner's switch: exact gradient while ``det L >= β``, ``method``'s
    sub-gradient otherwise, value included), backward pass and RMSprop update.
    "overhead-all" is the median time of a step and "overhead-DPP" the median time of the
    DPP term in it (forward and backward, as in the paper); "DPP without value" times the
    same call with ``compute_value=False`` (on a singular batch the value, the lifted
    log-determinant, costs an eigendecomposition that the DPPSG* direction does not need,
    and a training loop that does not record the value can skip it). The three paths of
    the term are also timed on their own on batches of that size: the DPPSG* direction
    (O(n²d)), the DPPSG direction (an eigendecomposition) and the exact gradient (Cholesky
    factorization and inverse), on features spread so that the kernel matrix is well
    conditioned.

    Parameters
    ----------
    batch_sizes : sequence of int, default=(100, 200, 250, 400, 500)
        The paper's batch sizes.
    quick : bool, default=False
        Fewer repeats (and batch sizes 100, 200 and 500 only when ``batch_sizes`` is the
        default).
    n_repeats : int, optional
        Timed steps per batch size (default 30, 8 with ``quick``), after 3 warm-up steps.
    n_features, hidden, n_components : int, tuple, int
        Network sizes (784-200-2 by default: MNIST pixels to 2-D features).
    method : {"dppsg*", "dppsg", "exact"}, default="dppsg*"
        DPP setting of the training step (as in :class:`~spectral_ml.nn.DPPFeatureLearner`).
    dtype : {"float32", "float64"}, default="float32"
        Precision of the network.
    random_state : int, default=0
        Seed of the data and the network.
    blas_threads : int or None, default=1
        BLAS threads during the timings (None: leave the setting alone).
    progress : bool, default=True
        Progress bar on standard error (drawn only on a terminal).
    checkpoints : path-like or UnitStore, optional
        Directory where every finished batch size is kept (in ``dpp-overhead/``). The batch
        sizes are always timed one after the other: two at once would time each other.

    Returns
    -------
    Records
        One row per batch size: ``batch size`` and the raw timings in seconds, ``all``
        (training steps), ``dpp`` (the DPP term in them), ``dpp_no_value``, ``alone`` (dict
        path → times) and ``paths`` (dict path → number of steps that took it).
    """
    protocol = overhead_protocol(
        batch_sizes=batch_sizes,
        quick=quick,
        n_repeats=n_repeats,
        n_features=n_features,
        hidden=hidden,
        n_components=n_components,
        method=method,
        dtype=dtype,
        random_state=random_state,
        blas_threads=blas_threads,
    )
    return run_protocol(protocol, store=unit_store(checkpoints, "dpp-overhead"), progress=progress)


def _overhead_unit(key, *, sizes, n_repeats, n_features, hidden, n_components, method, dtype, random_state):
    """The timings of one batch size (see :func:`overhead_records`)."""
    from ..dpp import dpp_diversity
    from ..nn import MLP, BalancedBatchSampler, FeatureObjective, RMSprop, TrainingStep, dpp_loss

    (n,) = key
    # The learner's objective (its defaults), contrastive + DPP.
    objective = FeatureObjective(dpp=method)
    np_dtype = np.float32 if dtype == "float32" else np.float64
    n_pool = 10 * max(sizes)
    X = np.random.default_rng(random_state).random((n_pool, n_features)).astype(np_dtype)
    y = np.arange(n_pool) % 10
    rng = np.random.default_rng([random_state, n])
    net = MLP([n_features, *hidden, n_components], random_state=random_state, dtype=dtype)
    step = TrainingStep(net, RMSprop(net, lr=1e-4), objective)
    sampler = BalancedBatchSampler(y, batch_size=n, random_state=random_state)
    all_t, dpp_t, bare_t, paths = [], [], [], []
    for rep in range(n_repeats + 3):
        idx = sampler.next_batch()
        # The features the step will see, for timing the DPP term without its value.
        F = net.forward(X[idx])
        times = {}
        t0 = time.perf_counter()
        terms = step(X[idx], y[idx], times=times)
        t3 = time.perf_counter()
        if rep >= 3:
            all_t.append(t3 - t0)
            dpp_t.append(times["dpp"])
            paths.append(terms["path"])
            # The same term without its value, which on a singular batch costs an
            # eigendecomposition that the direction does not need.
            t4 = time.perf_counter()
            dpp_loss(F, compute_value=False, **objective.dpp_args)
            bare_t.append(time.perf_counter() - t4)
    # Stand-alone paths: features on a grid of spacing 3σ keep L well conditioned.
    side = int(math.ceil(math.sqrt(n)))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:n]
    spread = (0.6 * grid + 0.01 * rng.standard_normal((n, 2))).astype(np_dtype)
    alone = {}
    for name, kw in (("dppsg*", {"method": "dppsg*"}), ("dppsg", {"method": "dppsg"}), ("exact", {"method": "exact"})):
        times = []
        for rep in range(max(3, n_repeats // 2) + 1):
            t0 = time.perf_counter()
            dpp_diversity(spread, 0.2, **kw).grad  # noqa: B018 - the timed work
            if rep:
                times.append(time.perf_counter() - t0)
        alone[name] = times
    counts = {p: paths.count(p) for p in set(paths)}
    return {"batch size": n, "all": all_t, "dpp": dpp_t, "dpp_no_value": bare_t, "paths": counts, "alone": alone}


def _assemble_overhead(results, *, settings, notes):
    return Records("dpp-overhead", rows=list(results.values()), settings=settings, notes=list(notes))


def overhead_protocol(
    *,
    batch_sizes: Sequence[int] = (100, 200, 250, 400, 500),
    quick: bool = False,
    n_repeats: int | None = None,
    n_features: int = 784,
    hidden: Sequence[int] = (200,),
    n_components: int = 2,
    method: str = "dppsg*",
    dtype: str = "float32",
    random_state: int = 0,
    blas_threads: int = 1,
) -> Protocol:
    """DPP Table 6 (see :func:`overhead_records`) as units: one per batch size, timed in turn."""
    default_sizes = tuple(batch_sizes) == (100, 200, 250, 400, 500)
    sizes = [int(b) for b in batch_sizes]
    if not sizes or any(b < 10 for b in sizes):
        raise ValueError(f"batch_sizes must be integers >= 10, got {batch_sizes!r}.")
    if quick and default_sizes:
        sizes = [100, 200, 500]
    if n_repeats is None:
        n_repeats = 8 if quick else 30
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, int) or n_repeats < 1:
        raise ValueError(f"n_repeats must be a positive int, got {n_repeats!r}.")
    check_blas_threads(blas_threads)
    notes = [
        "Times on this machine's CPU with "
        + (f"{blas_threads} BLAS thread(s)" if blas_threads is not None else "the BLAS threads of the run")
        + "; the paper's Table 6 was timed on "
        "a GTX 1080 GPU with a CIFAR-10 hashing network, so only the DPP shares are comparable.",
        "The DPP term of a training step includes its value (on a singular batch the lifted log "
        "det, an eigendecomposition); 'DPP without value' is the direction alone.",
    ]
    network = f"{n_features}-{'-'.join(map(str, hidden))}-{n_components}"
    settings = {
        "batch_sizes": sizes,
        "n_repeats": n_repeats,
        "network": network,
        "method": method,
        "dtype": dtype,
        "random_state": random_state,
    }
    compute = functools.partial(
        _overhead_unit,
        sizes=sizes,
        n_repeats=n_repeats,
        n_features=n_features,
        hidden=tuple(hidden),
        n_components=n_components,
        method=method,
        dtype=dtype,
        random_state=random_state,
    )
    return Protocol(
        "dpp-overhead",
        {**settings, "blas_threads": blas_threads},
        [(n,) for n in sizes],
        compute,
        functools.partial(_assemble_overhead, settings=settings, notes=notes),
        parallel=False,
        unit_name="batch size",
        threads=blas_threads,
    )
