"""Timing helpers shared by the benchmark scripts (no NumPy import: thread settings come first)."""

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
    return median_times({"func": func}, repeats, min_time=min_time, sync=sync, max_number=max_number)["func"]


def _calibrate(func, sync, min_time: float, max_number: int) -> int:
    """Calls per sample so that a sample lasts ``min_time`` (after one warm-up call)."""
    func()
    sync()
    number = 1
    while number < max_number:
        t0 = time.perf_counter()
        for _ in range(number):
            func()
        sync()
        if time.perf_counter() - t0 >= min_time:
            break
        number *= 2
    return number


def median_times(funcs, repeats: int, *, min_time: float = 0.02, sync=None, max_number: int = 1 << 16) -> dict:
    """Median time of one call of each function of ``funcs`` (a dict), with the samples interleaved.

    Each round takes one sample of every function in turn, so all of them are timed under
    the same conditions: on a shared or thermally throttled machine the speed drifts over a
    run, and timing one function after the other lets that drift into their ratios.
    Calibration is that of :func:`median_time`.
    """
    sync = sync or (lambda: None)
    numbers = {name: _calibrate(f, sync, min_time, max_number) for name, f in funcs.items()}
    samples = {name: [] for name in funcs}
    for _ in range(repeats):
        for name, f in funcs.items():
            number = numbers[name]
            t0 = time.perf_counter()
            for _ in range(number):
                f()
            sync()
            samples[name].append((time.perf_counter() - t0) / number)
    return {name: statistics.median(v) for name, v in samples.items()}


def device_latencies(launch, read, repeats: int, *, sync) -> str:
    """One line with the time of a small device operation and of reading its result back.

    ``launch`` queues a reduction of a few numbers on the device; ``read`` does the same and
    reads the result back to the host, which waits for the device. On a GPU the DPP term's
    fixed cost at n = 500 is the issuing of its tens of array operations and its reads back
    (one per call for DPPSG*, two for the exact path), not arithmetic; this line says what
    each costs on the machine at hand.
    """
    t = median_times({"launch": launch, "read": read}, repeats, sync=sync)
    return (
        f"device latencies here: a small reduction {1e6 * t['launch']:.0f} µs queued, "
        f"{1e6 * t['read']:.0f} µs with its result read back to the host"
    )
