"""Timing helper shared by the benchmark scripts (no NumPy import: thread settings come first)."""

from __future__ import annotations

import statistics
import time


def median_time(func, repeats: int, *, min_time: float = 0.02, sync=None, max_number: int = 1 << 16) -> float:
    """Median over ``repeats`` of the mean time of one call of ``func``, in seconds.

    One warm-up call is paid first (allocation, dispatch, kernel compilation). The number
    of calls per sample doubles until a sample lasts ``min_time``, so fast calls are not
    lost in the clock's resolution. ``sync`` (e.g. a GPU stream synchronisation) runs after
    each batch of calls so that asynchronous work is counted.
    """
    sync = sync or (lambda: None)
    func()
    sync()
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            func()
        sync()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time or number >= max_number:
            break
        number *= 2
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            func()
        sync()
        samples.append((time.perf_counter() - t0) / number)
    return statistics.median(samples)
