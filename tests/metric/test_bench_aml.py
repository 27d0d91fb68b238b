"""Smoke test of benchmarks/bench_aml.py on tiny sizes (it must keep running and stay right)."""

import numpy as np
import pytest

from spectral_ml.metric import aml_gradient, pair_statistics
from tests._scripts import load_script


@pytest.fixture(scope="module")
def bench():
    module = load_script("benchmarks/bench_aml.py")
    module._import_numpy()
    return module


def _pairs(rng, d=6, N=40):
    X = rng.standard_normal((N, 2, d))
    y = np.where(np.arange(N) % 2 == 0, 1, -1)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    M = (Q * np.geomspace(0.3, 3.0, d)) @ Q.T
    return X, y, (M + M.T) / 2


def test_per_pair_transcription_is_the_gradient_up_to_symmetrization(bench, rng):
    pairs, y, M = _pairs(rng)
    A, B = pair_statistics(pairs, y)
    X_hat = pairs[:, 0] - pairs[:, 1]
    G = aml_gradient(M, A, B, alpha=bench.ALPHA, beta=bench.BETA)
    G_pp = bench.eq14_gradient(M, X_hat, y, A, B, batch=7)
    np.testing.assert_allclose((G_pp + G_pp.T) / 2, G, rtol=1e-10, atol=1e-10 * np.abs(G).max())
    # As printed, Eq. 14 is not symmetric.
    assert np.linalg.norm(G_pp - G_pp.T) > 1e-3 * np.linalg.norm(G)
    G_rot = bench.rotated_pairs_gradient(M, X_hat[y > 0], X_hat[y < 0])
    np.testing.assert_allclose(G_rot, G, rtol=1e-10, atol=1e-10 * np.abs(G).max())


def test_gradient_part_runs_and_checks_targets(bench):
    lines = []
    res = bench.gradient_scaling((200, 400), d=8, repeats=1, per_pair_budget=0.5, out=lines.append, progress=False)
    assert [r["N"] for r in res["rows"]] == [200, 400]
    assert all(r["ours_s"] > 0 and r["eq14_s"] > 0 and r["stats_s"] > 0 for r in res["rows"])
    assert res["check"]["sym_rel_diff"] < 1e-10
    bench.print_gradient(res, out=lines.append)
    assert any("Eq.14" in line for line in lines)
    fit = {"seconds": 2.0, "n_pairs": 90000, "n_iter": 10, "d": 64}
    assert bench.check_targets(res, fit, out=lines.append) is False
    assert any(line.startswith("FAIL") and "digits" in line for line in lines)


def test_classification_part_runs_on_a_small_set(bench, monkeypatch):
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    monkeypatch.setattr(bench, "PAPER_GRID", (0.1, 10.0))
    lines = []
    rows = bench.classification([("wine", X, y)], n_splits=1, out=lines.append, progress=False)
    methods = [r["method"] for r in rows]
    assert methods[0] == "Euclidean" and "NCA" in methods and "AMLMetricCV 7x7" in methods
    assert all(0 <= r["error_mean"] <= 1 for r in rows)
    nca = next(r for r in rows if r["method"] == "NCA")
    assert nca["x_nca"] == 1.0
    bench.print_classification(rows, 1, out=lines.append)
    assert any("wine" in line for line in lines)


def test_missing_files_are_skipped_with_a_message(bench, tmp_path):
    lines = []
    sets = bench.load_sets(["wine", "vehicle"], str(tmp_path), out=lines.append)
    assert [s[0] for s in sets] == ["wine"]
    assert any("skipped vehicle" in line for line in lines)


def test_large_d_part_runs_and_checks_targets(bench):
    lines = []
    rows = bench.large_d((6, 10), n_samples=120, n_classes=4, repeats=1, pgd_max_d=6, out=lines.append, progress=False)
    assert [r["d"] for r in rows] == [6, 10]
    for r in rows:
        assert r["gmml_s"] > 0 and r["aml_s"] > 0 and r["ratio"] == r["aml_s"] / r["gmml_s"]
        assert r["grad_norm"] <= r["tol"] and r["rel_D"] < 1e-8
    assert rows[0]["pgd_s"] > 0 and rows[1]["pgd_s"] is None
    bench.print_large_d(rows, out=lines.append)
    assert any("AML/GMML" in line for line in lines)
    X, y = bench.class_mixture(90, 5, 3, seed=1)
    assert X.shape == (90, 5) and np.allclose(X.mean(axis=0), 0) and np.allclose(X.std(axis=0), 1)
    # Targets are checked at the largest d of the part: a slow fit there fails.
    slow = dict(rows[0], d=max(bench.LARGE_DS), ratio=9.0, pgd_s=None)
    assert bench.check_targets(None, None, out=lines.append, large=[slow]) is False
    assert any(line.startswith("FAIL") and "GMML" in line for line in lines)


def test_frontier_part_runs_and_checks_targets(bench):
    X, y = bench.multimodal_set(300)
    result = bench.frontier([("multimodal", X, y)], n_splits=2, cap=100, progress=False)
    rows = {r["method"]: r for r in result["rows"]}
    assert {"Euclidean", "CV random", "CV local", "AMLMetricCV", "NCA", "AMLMetricCV [cap]"} <= set(rows)
    assert rows["NCA"]["n_fit"] == 100 and rows["NCA"]["n_train"] == 240 and rows["CV local"]["n_fit"] == 240
    assert all(0 <= r["error_mean"] <= 1 and r["splits"] == 2 for r in rows.values())
    assert rows["CV local"]["choice"].startswith("neighbors 3/10") and rows["Euclidean"]["fit_s"] is None
    lines = []
    bench.print_frontier(result, out=lines.append)
    assert any("stratified 100 of 240" in line for line in lines)
    bench.check_frontier(result, out=lines.append)
    assert any(line.startswith(("PASS", "FAIL")) and "local pairs beat random pairs" in line for line in lines)
