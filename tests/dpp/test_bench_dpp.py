"""Smoke test of benchmarks/bench_dpp.py on tiny sizes (it must keep running)."""

import pytest

from tests._scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("benchmarks/bench_dpp.py")


def test_benchmark_runs_and_reports_every_path(bench):
    lines = []
    rows = bench.run([12], [2], repeats=1, torch_baseline=False, out=lines.append)
    methods = {r["method"] for r in rows}
    expected = {"eigh", "cholesky", "potrf", "kernel", "exact", "dppsg", "dppsg*", "dppsg*+value"}
    assert expected <= methods
    assert all(r["seconds"] > 0 for r in rows)
    eigh = next(r for r in rows if r["method"] == "eigh")
    assert eigh["x_eigh"] == 1.0
    assert any("dppsg*" in line for line in lines)


def test_benchmark_target_check(bench):
    rows = [
        {"n": 500, "d": 2, "method": "exact", "x_chol_kernel": 2.0, "x_eigh": 0.3},
        {"n": 500, "d": 2, "method": "dppsg*", "x_chol_kernel": 1.0, "x_eigh": 0.1},
        {"n": 500, "d": 2, "method": "dppsg", "x_chol_kernel": 9.0, "x_eigh": 1.6},
    ]
    lines = []
    assert bench.check_targets(rows, out=lines.append) is False
    assert sum("MISSED" in line for line in lines) == 1


def test_benchmark_gpu_aims_are_absolute(bench):
    rows = [
        {"n": 500, "d": 2, "method": "exact", "seconds": 3.5e-3, "x_chol_kernel": 2.0, "x_eigh": 0.8},
        {"n": 500, "d": 2, "method": "dppsg*", "seconds": 0.9e-3, "x_chol_kernel": 1.0, "x_eigh": 0.4},
        {"n": 500, "d": 2, "method": "dppsg", "seconds": 6e-3, "x_chol_kernel": 9.0, "x_eigh": 1.6},
    ]
    lines = []
    assert bench.check_targets(rows, out=lines.append, backend="cupy") is False
    missed = [line for line in lines if "MISSED" in line]
    assert len(missed) == 1 and "exact < 3 ms" in missed[0]
    assert not any("eigh" in line for line in lines)


def test_interleaved_timing_takes_one_sample_of_each_in_turn():
    timing = load_script("benchmarks/_timing.py")
    calls = []
    funcs = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    times = timing.median_times(funcs, 4, min_time=0.0)
    assert set(times) == {"a", "b", "c"} and all(t >= 0 for t in times.values())
    # Calibration (a warm-up and one timed call each) first, then rounds of a, b, c.
    assert calls[:6] == ["a", "a", "b", "b", "c", "c"]
    assert calls[6:] == ["a", "b", "c"] * 4
