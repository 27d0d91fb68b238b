"""The AML paper's experiments and ``spectral-ml reproduce`` on a user's ``.npz`` file (quick runs)."""

import argparse
import csv

import numpy as np
import pytest

from spectral_ml import cli
from spectral_ml.experiments.aml import (
    PAPER_TABLE1,
    preprocess_split,
    run_roc,
    run_sensitivity,
    run_synthetic,
    run_table1,
)


def _write_user_set(directory, name="lab_measurements", seed=0):
    """Three classes told apart by two features, drowned by three loud noise features.

    Standardization equalizes the scales, so the Euclidean 5-NN error stays well above zero
    while a learned Mahalanobis metric can discount the noise directions. One feature is
    constant (it must be dropped and reported).
    """
    rng = np.random.default_rng(seed)
    n_per_class = 60
    y = np.repeat(np.array([3, 7, 9]), n_per_class)
    centres = np.array([[0.0, 0.0], [1.6, 0.0], [0.8, 1.4]])
    signal = centres[np.searchsorted([3, 7, 9], y)] + 0.35 * rng.standard_normal((y.size, 2))
    noise = 2.0 * rng.standard_normal((y.size, 10))
    constant = np.full((y.size, 1), 4.0)
    X = np.hstack([signal, noise, constant])
    np.savez(directory / f"{name}.npz", X=X, y=y)
    return name


def test_preprocess_split_uses_the_training_part_only():
    rng = np.random.default_rng(1)
    X_tr = rng.normal(5.0, 3.0, size=(40, 4))
    X_tr[:, 2] = 1.0  # constant on the training part only
    X_te = rng.normal(5.0, 3.0, size=(10, 4))
    A, B = preprocess_split("anything", X_tr, X_te, seed=0)
    assert A.shape == (40, 3) and B.shape == (10, 3)
    np.testing.assert_allclose(A.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(A.std(axis=0), 1.0, rtol=1e-12)
    kept = X_tr[:, [0, 1, 3]]
    np.testing.assert_allclose(B, (X_te[:, [0, 1, 3]] - kept.mean(0)) / kept.std(0), rtol=1e-12)


def test_mnist_is_projected_on_training_principal_components():
    rng = np.random.default_rng(2)
    X_tr, X_te = rng.random((120, 70)), rng.random((30, 70))
    A, B = preprocess_split("mnist", X_tr, X_te, seed=0)
    assert A.shape == (120, 50) and B.shape == (30, 50)


def test_table1_on_a_user_file(tmp_path):
    name = _write_user_set(tmp_path)
    res = run_table1([name], tmp_path / "out", n_splits=2, quick=True, seed=0, data_dir=tmp_path, progress=False)
    errors = res["errors"][name]
    assert set(errors) >= {"Euclidean", "GMML", "AML (pgd)", "AML (riemannian)", "NCA"}
    for method, values in errors.items():
        assert len(values) == 2 and all(0.0 <= e <= 1.0 for e in values), method
    euclid = np.mean(errors["Euclidean"])
    assert euclid > 0.1
    for method in ("GMML", "AML (pgd)", "AML (riemannian)"):
        assert np.mean(errors[method]) < euclid - 0.05, method
    assert any("dropped 1 constant feature" in note for note in res["notes"])
    with open(tmp_path / "out" / "aml_table1.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:2] == ["dataset", "Euclidean"] and "paper AML" in rows[0]
    assert rows[1][0] == name and rows[1][rows[0].index("paper AML")] == "—"
    assert (tmp_path / "out" / "aml_table1_time.md").is_file()


def test_table1_puts_the_papers_figures_beside_ours(tmp_path):
    name = _write_user_set(tmp_path, name="vehicle")
    res = run_table1([name], tmp_path, n_splits=1, quick=True, data_dir=tmp_path, progress=False)
    row = res["table"].rows[0]
    columns = res["table"].columns
    assert row[columns.index("paper AML")] == f"{PAPER_TABLE1['vehicle']['AML']:.3f}"
    assert row[columns.index("paper LMNN")] == f"{PAPER_TABLE1['vehicle']['LMNN']:.3f}"


def test_table1_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="n_splits"):
        run_table1(["wine"], tmp_path, n_splits=0)


def test_synthetic_figure_and_errors(tmp_path):
    res = run_synthetic(tmp_path, seed=0)
    assert res["figure"].stat().st_size > 10_000
    methods = [row[0] for row in res["table"].rows]
    assert methods == ["GMML", "AML"]
    for _, train_err, test_err in res["table"].rows:
        assert 0.0 <= float(train_err) <= float(test_err) <= 0.5


def test_roc_learned_metrics_beat_euclidean_on_held_out_pairs(tmp_path):
    name = _write_user_set(tmp_path)
    res = run_roc([name], tmp_path, quick=True, data_dir=tmp_path)
    auc = {row[1]: float(row[2]) for row in res["table"].rows}
    assert set(auc) == {"Euclidean", "GMML", "AML"}
    assert auc["GMML"] > auc["Euclidean"] + 0.05
    assert auc["AML"] > auc["Euclidean"] + 0.05
    assert res["figures"][0].stat().st_size > 10_000


def test_sensitivity_curves(tmp_path):
    name = _write_user_set(tmp_path)
    res = run_sensitivity(name, tmp_path, quick=True, data_dir=tmp_path)
    rows = res["table"].rows
    assert [r[0] for r in rows] == ["alpha"] * 4 + ["beta"] * 4
    assert all(0.0 <= float(r[2]) <= 1.0 and 0.0 <= float(r[3]) <= 1.0 for r in rows)
    assert len(res["figures"]) == 2 and all(p.stat().st_size > 10_000 for p in res["figures"])


def _args(**kw):
    defaults = {"datasets": None, "data_dir": None, "quick": False}
    defaults.update(kw)
    return argparse.Namespace(**defaults)


def test_table1_datasets_are_the_embedded_sets_and_the_files(tmp_path, monkeypatch):
    monkeypatch.delenv("SPECTRAL_ML_DATA", raising=False)
    _write_user_set(tmp_path, name="zoo")
    _write_user_set(tmp_path, name="mnist")
    _write_user_set(tmp_path, name="vehicle")
    embedded = list(cli.EMBEDDED_TABLE1)
    assert cli._table1_datasets(_args()) == embedded
    assert cli._table1_datasets(_args(data_dir=str(tmp_path))) == [*embedded, "vehicle", "mnist", "zoo"]
    assert cli._table1_datasets(_args(data_dir=str(tmp_path), quick=True)) == [*embedded, "vehicle", "zoo"]
    assert cli._table1_datasets(_args(datasets=["zoo"], data_dir=str(tmp_path))) == ["zoo"]


def test_reproduce_quick_on_a_user_file(tmp_path, capsys):
    name = _write_user_set(tmp_path)
    out = tmp_path / "results"
    status = cli.main(["reproduce", "--quick", "--no-progress", "--splits", "1", "--datasets", name,
                       "--data-dir", str(tmp_path), "--out", str(out)])
    assert status == 0
    assert f"Report written to {(out / 'report.md').resolve()}" in capsys.readouterr().out
    report = (out / "report.md").read_text(encoding="utf-8")
    for section in cli._EXPERIMENTS:
        assert f"## {section}:" in report
    assert "**Failed:**" not in report
    assert f"| {name} |" in report
    linked = [line.split("](")[1].rstrip(")") for line in report.splitlines() if line.startswith("![")]
    assert len(linked) >= 6
    for rel in linked:
        assert (out / rel).stat().st_size > 10_000, rel
