"""Scale: all-pairs GMML/AML fits and exact k-NN on Dask arrays larger than memory.

Measurements, on a ``dask.distributed`` LocalCluster of two single-threaded worker
processes:

1. **Fits over all pairs.** Class-mixture data (``--classes`` classes, ``--features``
   features) generated lazily block by block (never materialized whole) for every N of
   ``--sizes``; wall time of ``GMMLMetric(n_pairs="all").fit`` and
   ``AMLMetric(n_pairs="all").fit``, and the peak memory of the whole process tree (this
   process, the workers and their nannies: resident set sizes summed, sampled every
   20 ms). Targets: time linear in N (the time at 10⁷ at most 12× the time at 10⁶), peak
   memory at most 3 GB at every N.
2. **Engine overhead.** At the largest N up to 10⁷, the throughput of the Dask fit against a
   single-process NumPy loop over the same blocks (the same generator, the same per-block
   moments and merges, with two BLAS threads). Target: at least 50 %.
3. **Exact k-NN through Dask.** The 5-NN error of 10⁴ queries against a 10⁶-row database
   (``--knn-database``) through :func:`spectral_ml.evaluation.knn_error` on lazily
   generated Dask arrays, against scikit-learn's ``KNeighborsClassifier(algorithm="brute")``
   on the same values in memory. Targets: peak memory at most 3 GB, time at most 2× the
   scikit-learn time, the same error.

The default ``--sizes 1e5,1e6,1e7`` takes about ten minutes on two cores; ``--sizes 5e7``
is the 26 GB case (``--learners gmml`` times one fit only, ``--knn-database 0`` skips the
k-NN part, ``--no-baseline`` the NumPy loop). Run ``python benchmarks/bench_scale.py --help``.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

# Workers inherit the environment: one BLAS thread each, two workers on two cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402 - after the thread settings, which NumPy reads when it loads

try:
    import spectral_ml  # noqa: F401 - only to learn whether the package is importable
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GB = 1e9


# ---------------------------------------------------------------------------------------
# Lazy class-mixture data
# ---------------------------------------------------------------------------------------
def _block_labels(block_id, n_rows, n_classes, seed, stream):
    return np.random.default_rng([seed, stream, block_id, 0]).integers(0, n_classes, size=n_rows)


def _mixture_block(block_id, n_rows, d, n_classes, seed, stream=0):
    """Rows and labels of one block: class centres plus correlated Gaussian noise.

    ``seed`` fixes the mixture (centres and noise shape); ``stream`` the draws, so that
    two streams of one seed are independent samples of the same distribution.
    """
    structure = np.random.default_rng(seed)
    centres = structure.normal(scale=0.3, size=(n_classes, d))
    mixing = structure.normal(size=(d, d)) / np.sqrt(d)
    y = _block_labels(block_id, n_rows, n_classes, seed, stream)
    noise = np.random.default_rng([seed, stream, block_id, 1]).standard_normal((n_rows, d))
    return centres[y] + noise @ mixing, y


def lazy_mixture(n, d, n_classes, chunk_rows, seed, stream=0):
    """(X, y) as Dask arrays whose blocks are generated on the workers when computed."""
    import dask.array as da

    chunks = (tuple(min(chunk_rows, n - s) for s in range(0, n, chunk_rows)),)

    def rows(block, block_id=None):
        return _mixture_block(block_id[0], block.shape[0], d, n_classes, seed, stream)[0]

    def labels(block, block_id=None):
        return _block_labels(block_id[0], block.shape[0], n_classes, seed, stream)

    index = da.zeros(n, chunks=chunks, dtype=np.int8)
    X = index.map_blocks(rows, new_axis=1, chunks=(chunks[0], (d,)), dtype=np.float64)
    y = index.map_blocks(labels, dtype=np.int64)
    return X, y


# ---------------------------------------------------------------------------------------
# Memory of the process tree
# ---------------------------------------------------------------------------------------
class PeakMemory:
    """Peak of the summed resident memory of this process and all its descendants.

    Also the CPU seconds (user + system) the tree spent in between: unlike wall time, they
    hardly change when other programs compete for the cores.
    """

    def __init__(self, interval=0.02):
        import psutil

        self.root = psutil.Process()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self):
        import psutil

        total = 0
        for proc in [self.root, *self.root.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        self.peak = max(self.peak, total)

    def _cpu(self):
        import psutil

        total = 0.0
        for proc in [self.root, *self.root.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self.peak = 0
        self._cpu_start = self._cpu()
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()
        self.cpu_seconds = self._cpu() - self._cpu_start
        self._stop.clear()


def measure(func, monitor, repeats=1):
    """(result, the shortest wall time of ``repeats`` calls, the highest peak memory in GB).

    ``monitor.cpu_seconds`` is left at the CPU time of the fastest call.
    """
    best, peak, cpu = float("inf"), 0.0, float("nan")
    for _ in range(repeats):
        with monitor:
            t0 = time.perf_counter()
            result = func()
            seconds = time.perf_counter() - t0
        if seconds < best:
            best, cpu = seconds, monitor.cpu_seconds
        peak = max(peak, monitor.peak / GB)
    monitor.cpu_seconds = cpu
    return result, best, peak


# ---------------------------------------------------------------------------------------
# Baseline: the same blocks in one process
# ---------------------------------------------------------------------------------------
def numpy_loop(n, d, n_classes, chunk_rows, seed):
    """The all-pairs statistics by a plain loop over the blocks, in this process."""
    from threadpoolctl import threadpool_limits

    from spectral_ml.metric._class_statistics import _block_moments, _merge_all, _single_plan

    counts = np.zeros(n_classes, dtype=np.int64)
    blocks = list(range(0, n, chunk_rows))
    for i, start in enumerate(blocks):  # the labels first, as the fit reads them first
        counts += np.bincount(_block_labels(i, min(chunk_rows, n - start), n_classes, seed, 0), minlength=n_classes)
    plan = _single_plan(counts)
    total = None
    with threadpool_limits(limits=2, user_api="blas"):
        for i, start in enumerate(blocks):
            X, y = _mixture_block(i, min(chunk_rows, n - start), d, n_classes, seed)
            part = _block_moments(X, y, None, plan)
            total = part if total is None else _merge_all([total, part])
    return total[0].statistics()


# ---------------------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e5,1e6,1e7", help="comma-separated N (default: %(default)s)")
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--chunk-rows", type=int, default=1 << 16, help="rows per Dask block (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--knn-database", type=float, default=1e6, help="rows of the k-NN database (0: skip)")
    parser.add_argument("--knn-queries", type=float, default=1e4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-baseline", action="store_true", help="skip the single-process NumPy loop")
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="every fit is timed this many times, the shortest kept (default: %(default)s)",
    )
    parser.add_argument("--learners", default="gmml,aml", help="fits to time: gmml, aml or both (default: %(default)s)")
    args = parser.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    learners = {s.strip().lower() for s in args.learners.split(",") if s.strip()}
    if not learners <= {"gmml", "aml"}:
        parser.error(f"--learners takes gmml and/or aml, got {args.learners!r}")
    d, c, chunk = args.features, args.classes, args.chunk_rows

    import dask
    import sklearn
    from distributed import Client, LocalCluster

    from spectral_ml.evaluation import knn_error
    from spectral_ml.metric import AMLMetric, GMMLMetric

    print(
        f"bench_scale: d={d}, {c} classes, blocks of {chunk} rows ({chunk * d * 8 / 1e6:.0f} MB), "
        f"{args.workers} worker processes x 1 thread; dask {dask.__version__}, "
        f"scikit-learn {sklearn.__version__}, {os.cpu_count()} CPUs"
    )
    monitor = PeakMemory()
    rows = []
    with (
        LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster),
    ):
        # Warm-up, not timed: the workers import the libraries when their first task arrives.
        X, y = lazy_mixture(4 * chunk, d, c, chunk, args.seed, stream=3)
        GMMLMetric(n_pairs="all").fit(X, y)
        knn_error(X[:chunk], y[:chunk], X[-1000:], y[-1000:], k=5)
        for n in sizes:
            X, y = lazy_mixture(n, d, c, chunk, args.seed)
            t_g = m_g = t_a = m_a = c_g = c_a = float("nan")
            if "gmml" in learners:
                _, t_g, m_g = measure(lambda X=X, y=y: GMMLMetric(n_pairs="all").fit(X, y), monitor, args.repeats)
                c_g = monitor.cpu_seconds
                print(
                    f"  N={n:>11,d} ({n * d * 8 / GB:6.1f} GB): GMML {t_g:8.2f} s ({c_g:.1f} CPU s), "
                    f"peak {m_g:5.2f} GB",
                    flush=True,
                )
            if "aml" in learners:
                _, t_a, m_a = measure(lambda X=X, y=y: AMLMetric(n_pairs="all").fit(X, y), monitor, args.repeats)
                c_a = monitor.cpu_seconds
                print(
                    f"  N={n:>11,d} ({n * d * 8 / GB:6.1f} GB): AML  {t_a:8.2f} s ({c_a:.1f} CPU s), "
                    f"peak {m_a:5.2f} GB",
                    flush=True,
                )
            rows.append((n, t_g, m_g, t_a, m_a, n * d * 8 / GB, c_g, c_a))

        if rows:
            print("\nAll-pairs fits (GMMLMetric / AMLMetric with n_pairs='all', Dask, lazily generated data)")
            print(
                f"{'N':>12} {'data GB':>8} {'GMML s':>9} {'CPU s':>8} {'rows/s':>10} {'peak GB':>8} "
                f"{'AML s':>9} {'CPU s':>8} {'peak GB':>8}"
            )
            for n, t_g, m_g, t_a, m_a, size, c_g, c_a in rows:
                print(
                    f"{n:>12,d} {size:8.1f} {t_g:9.2f} {c_g:8.1f} {n / t_g:10.3g} {m_g:8.2f} "
                    f"{t_a:9.2f} {c_a:8.1f} {m_a:8.2f}"
                )
            by_n = {r[0]: r for r in rows}
            if 10**6 in by_n and 10**7 in by_n:
                ratio_g = by_n[10**7][1] / by_n[10**6][1]
                ratio_a = by_n[10**7][3] / by_n[10**6][3]
                cpu_g = by_n[10**7][6] / by_n[10**6][6]
                cpu_a = by_n[10**7][7] / by_n[10**6][7]
                print(
                    f"time(1e7) / time(1e6): GMML {ratio_g:.2f}x, AML {ratio_a:.2f}x (target <= 12x); "
                    f"CPU time: GMML {cpu_g:.2f}x, AML {cpu_a:.2f}x"
                )
            peak = np.nanmax([[r[2], r[4]] for r in rows])
            print(f"largest peak memory of the process tree: {peak:.2f} GB (target <= 3 GB)")

        n_ref = max([n for n in sizes if n <= 10**7], default=None)
        if n_ref is not None and not args.no_baseline:
            _, t_np, m_np = measure(lambda: numpy_loop(n_ref, d, c, chunk, args.seed), monitor)
            c_np = monitor.cpu_seconds
            t_dask = by_n[n_ref][1] if "gmml" in learners else by_n[n_ref][3]
            print(
                f"engine overhead at N={n_ref:,d}: NumPy loop in one process {t_np:.2f} s "
                f"({n_ref / t_np:.3g} rows/s, {c_np:.1f} CPU s, peak {m_np:.2f} GB); Dask fit {t_dask:.2f} s; "
                f"Dask throughput / NumPy loop = {t_np / t_dask:.2f} (target >= 0.5)"
            )

        n_db, n_q = int(args.knn_database), int(args.knn_queries)
        if n_db > 0:
            X_db, y_db = lazy_mixture(n_db, d, c, chunk, args.seed, stream=1)
            X_q, y_q = lazy_mixture(n_q, d, c, chunk, args.seed, stream=2)
            err_dask, t_knn, m_knn = measure(lambda: knn_error(X_db, y_db, X_q, y_q, k=5), monitor)
            c_knn = monitor.cpu_seconds
            print(f"\nExact 5-NN error, {n_q:,d} queries x {n_db:,d} database rows, d={d}")
            print(
                f"  Dask (blockwise top-k + merge, lazy data): {t_knn:8.2f} s ({c_knn:.1f} CPU s), "
                f"peak {m_knn:5.2f} GB, error {err_dask:.4f}"
            )

    # scikit-learn on the same values in memory, after the cluster is closed.
    from sklearn.neighbors import KNeighborsClassifier
    from threadpoolctl import threadpool_limits

    if n_db > 0:
        arrays = dask.compute(X_db, y_db, X_q, y_q, scheduler="threads")
        Xd, yd, Xq, yq = arrays
        with threadpool_limits(limits=2):

            def sk():
                clf = KNeighborsClassifier(n_neighbors=5, algorithm="brute").fit(Xd, yd)
                return float(np.mean(clf.predict(Xq) != yq))

            err_sk, t_sk, m_sk = measure(sk, monitor)
            c_sk = monitor.cpu_seconds
        print(
            f"  scikit-learn brute force, arrays in memory: {t_sk:8.2f} s ({c_sk:.1f} CPU s), "
            f"peak {m_sk:5.2f} GB, error {err_sk:.4f}"
        )
        print(f"  Dask time / scikit-learn time = {t_knn / t_sk:.2f} (target <= 2); same error: {err_dask == err_sk}")


if __name__ == "__main__":
    main()
