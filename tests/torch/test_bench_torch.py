"""Smoke test of benchmarks/bench_torch.py on tiny sizes (it must keep running)."""

import pytest

from tests._scripts import load_script

pytest.importorskip("torch", reason="the benchmark needs the optional torch extra")


@pytest.fixture(scope="module")
def bench():
    module = load_script("benchmarks/bench_torch.py")
    module._import(None)
    return module


def test_benchmark_runs_every_path_against_the_baseline(bench):
    lines = []
    rows = bench.run([12], [2], repeats=1, out=lines.append)
    methods = {r["method"] for r in rows}
    assert methods == {"autograd logdet", "autograd eigvalsh", "exact", "auto", "dppsg", "dppsg*", "dppsg*+value"}
    assert all(r["seconds"] > 0 for r in rows)
    assert next(r for r in rows if r["method"] == bench.BASELINE)["x_baseline"] == 1.0
    assert any("dppsg*" in line for line in lines)


def test_benchmark_target_check(bench):
    rows = [
        {"device": "cpu", "n": 500, "d": 2, "method": "exact", "x_baseline": 1.1},
        {"device": "cpu", "n": 500, "d": 2, "method": "dppsg*", "x_baseline": 0.25},
    ]
    lines = []
    assert bench.check_targets(rows, out=lines.append) is False
    assert sum("MISSED" in line for line in lines) == 1


def test_benchmark_gpu_aims_are_absolute(bench):
    rows = [
        {"device": "cuda", "n": 500, "d": 2, "method": "exact", "seconds": 2.5e-3, "x_baseline": 1.5},
        {"device": "cuda", "n": 500, "d": 2, "method": "dppsg*", "seconds": 1.2e-3, "x_baseline": 0.5},
    ]
    lines = []
    assert bench.check_targets(rows, out=lines.append) is False
    missed = [line for line in lines if "MISSED" in line]
    assert len(missed) == 1 and "dppsg* < 1 ms" in missed[0]


def test_training_step_share_reports_the_dpp_path(bench):
    lines = []
    # Three samples: the median of one could be a single stall of a busy machine.
    results = bench.training_step_share(batch_size=20, repeats=3, out=lines.append)
    for t_all, t_dpp, path in results.values():
        assert 0 < t_dpp < t_all
        assert path in ("exact", "dppsg", "dppsg*")
    assert any("paper Table 6" in line for line in lines)
