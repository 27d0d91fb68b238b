"""The AML paper's experiments and ``spectral-ml reproduce`` on a user's ``.npz`` file (quick runs)."""

import argparse
import csv

import numpy as np
import pytest

from spectral_ml import cli
from spectral_ml.experiments import Records
from spectral_ml.experiments.aml import (
    PAPER_TABLE1,
    choose_preprocessing,
    preprocess_split,
    run_roc,
    run_sensitivity,
    run_synthetic,
    run_table1,
    table1_records,
)

from ._fake_experiments import cli_answer


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
    A, B = preprocess_split("mnist", X_tr, X_te, seed=0, pca=None, standardize=False)
    np.testing.assert_array_equal(A, X_tr)


def test_table1_on_a_user_file(tmp_path):
    name = _write_user_set(tmp_path)
    res = run_table1([name], tmp_path / "out", n_splits=2, quick=True, seed=0, data_dir=tmp_path, progress=False)
    errors = res["errors"][name]
    assert set(errors) >= {"Euclidean", "GMML", "AML", "AML (riemannian)", "NCA"}
    for method, values in errors.items():
        assert len(values) == 2 and all(0.0 <= e <= 1.0 for e in values), method
    euclid = np.mean(errors["Euclidean"])
    assert euclid > 0.1
    for method in ("GMML", "AML", "AML (riemannian)"):
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


def test_synthetic_figure_and_errors(tmp_path, monkeypatch):
    import spectral_ml.plotting

    figures, plot_grid = [], spectral_ml.plotting.plot_feature_grid
    monkeypatch.setattr(
        spectral_ml.plotting,
        "plot_feature_grid",
        lambda *args, **kwargs: figures.append(plot_grid(*args, **kwargs)) or figures[-1],
    )
    res = run_synthetic(tmp_path, seed=0)
    assert res["figure"].stat().st_size > 10_000
    # The panels show the first two principal components, and say so.
    panels = [ax for ax in figures[0].axes if ax.get_title()]
    assert panels and all((ax.get_xlabel(), ax.get_ylabel()) == ("PC 1", "PC 2") for ax in panels)
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
    assert cli.table1_datasets(_args()) == embedded
    assert cli.table1_datasets(_args(data_dir=str(tmp_path))) == [*embedded, "vehicle", "mnist", "zoo"]
    assert cli.table1_datasets(_args(data_dir=str(tmp_path), quick=True)) == [*embedded, "vehicle", "zoo"]
    assert cli.table1_datasets(_args(datasets=["zoo"], data_dir=str(tmp_path))) == ["zoo"]


def test_reproduce_quick_on_a_user_file(tmp_path, capsys):
    name = _write_user_set(tmp_path)
    out = tmp_path / "results"
    status = cli.main(
        [
            "reproduce",
            "--quick",
            "--no-progress",
            "--splits",
            "1",
            "--datasets",
            name,
            "--data-dir",
            str(tmp_path),
            "--out",
            str(out),
            "--threads",
            "1",
        ]
    )
    assert status == 0
    assert f"Report written to {(out / 'report.md').resolve()}" in capsys.readouterr().out
    report = (out / "report.md").read_text(encoding="utf-8")
    for section in cli._EXPERIMENTS:
        assert f"## {section}:" in report
    assert "**Failed:**" not in report
    assert "## Machine and versions" in report and "thread(s)" in report
    assert f"| {name} |" in report
    linked = [line.split("](")[1].rstrip(")") for line in report.splitlines() if line.startswith("![")]
    assert len(linked) >= 6
    for rel in linked:
        assert (out / rel).stat().st_size > 10_000, rel


def test_table1_methods_and_records(tmp_path):
    name = _write_user_set(tmp_path)
    records = table1_records(
        [name], n_splits=2, quick=True, data_dir=tmp_path, methods=["GMML", "Euclidean"], progress=False
    )
    assert isinstance(records, Records)
    assert records.settings["methods"] == ["Euclidean", "GMML"]  # table order
    assert [(r["split"], r["method"]) for r in records.rows] == [
        (0, "Euclidean"),
        (0, "GMML"),
        (1, "Euclidean"),
        (1, "GMML"),
    ]
    assert all(r["preprocessing"] == "standardized" for r in records.rows)
    with pytest.raises(ValueError, match="methods"):
        table1_records([name], data_dir=tmp_path, methods=["SVM"], progress=False)
    with pytest.raises(ValueError, match="pca"):
        table1_records([name], data_dir=tmp_path, pca=0, progress=False)


def test_table1_local_columns_are_in_both_tables_and_say_what_aml_cv_chose(tmp_path):
    name = _write_user_set(tmp_path)
    methods = ["AML-CV", "GMML", "AML (local)", "GMML (local)"]
    res = run_table1(
        [name], tmp_path / "out", n_splits=2, quick=True, data_dir=tmp_path, methods=methods, progress=False
    )
    table = list(csv.reader(open(tmp_path / "out" / "aml_table1.csv")))
    timing = list(csv.reader(open(tmp_path / "out" / "aml_table1_time.csv")))
    in_order = ["GMML", "GMML (local)", "AML (local)", "AML-CV"]
    assert table[0][1:5] == in_order and timing[0][1:5] == in_order
    for column in range(1, 5):
        assert "±" in table[1][column] and float(timing[1][column]) > 0
    for method in in_order:
        assert all(0.0 <= e <= 1.0 for e in res["errors"][name][method]), method
    rows = res["records"].rows
    choices = [r["choice"] for r in rows if r["method"] == "AML-CV"]
    assert len(choices) == 2 and all(c.startswith(("local pairs (k_target=", "random pairs, ")) for c in choices)
    assert all(r["choice"] is None for r in rows if r["method"] != "AML-CV")
    said = [n for n in res["notes"] if n.startswith(f"{name}: AML-CV chose ")]
    assert len(said) == 1 and sum(f"({k} split" in said[0] for k in (1, 2)) >= 1


def test_quick_table1_leaves_the_local_gmml_and_aml_columns_to_methods():
    from spectral_ml.experiments.aml import LOCAL_METHODS, table1_protocol

    quick = table1_protocol(["wine"], quick=True).settings["methods"]
    assert "AML-CV" in quick and not {"GMML (local)", "AML (local)"} & set(quick)
    assert set(LOCAL_METHODS) <= set(table1_protocol(["wine"]).settings["methods"])
    named = table1_protocol(["wine"], quick=True, methods=["AML (local)", "GMML (local)"])
    assert named.settings["methods"] == ["GMML (local)", "AML (local)"]


@pytest.mark.filterwarnings("ignore::spectral_ml.metric.GridEdgeWarning")
def test_local_columns_learn_from_local_pairs_and_the_papers_columns_from_random_pairs():
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    import spectral_ml.experiments.aml as aml
    from spectral_ml.metric import AMLMetricCV

    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    learners, _ = aml._learners(True, 0)
    gmml_local = learners["GMML (local)"](X, y)
    assert gmml_local.pairs == "neighbors" and gmml_local.t in AMLMetricCV().ts
    aml_local = learners["AML (local)"](X, y)
    assert aml_local.pairs_ == "neighbors" and aml_local.t_ is None and aml_local.alpha_ > 0
    paper_aml = learners["AML"](X, y)
    assert paper_aml.pairs_ == "random" and paper_aml.t_ is None and paper_aml.alpha_ > 0
    assert learners["GMML"](X, y).pairs == "random"
    chosen = learners["AML-CV"](X, y)
    assert chosen.pairs_ in ("random", "neighbors")


def test_local_columns_resume_to_the_tables_of_an_uninterrupted_run(tmp_path, capsys, monkeypatch):
    from spectral_ml.experiments import _units

    argv = ["aml-table1", "--quick", "--datasets", "wine", "--splits", "2", "--jobs", "1", "--no-progress"]
    argv += ["--methods", "gmml-local", "aml-local", "aml-cv"]
    assert cli.main([*argv, "--out", str(tmp_path / "straight")]) == 0
    compute = _units._compute_limited
    calls = []

    def interrupted_at_the_second_unit(*args):
        calls.append(args[2])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return compute(*args)

    monkeypatch.setattr(_units, "_compute_limited", interrupted_at_the_second_unit)
    out = tmp_path / "resumed"
    assert cli_answer(cli, [*argv, "--out", str(out)], capsys)[0] == 130
    assert not out.exists()
    monkeypatch.setattr(_units, "_compute_limited", compute)
    assert cli.main([*argv, "--out", str(out), "--resume"]) == 0
    for name in ("aml_table1.csv", "aml_table1.md"):
        assert (out / name).read_text() == (tmp_path / "straight" / name).read_text(), name
    header = (out / "aml_table1.csv").read_text().splitlines()[0]
    assert header.startswith("dataset,GMML (local),AML (local),AML-CV,")


def test_nca_is_fitted_on_a_capped_subsample(tmp_path, monkeypatch):
    import spectral_ml.experiments.aml as aml

    monkeypatch.setattr(aml, "NCA_MAX_ROWS", 60)
    name = _write_user_set(tmp_path)
    fitted = []
    original = aml.NeighborhoodComponentsAnalysis.fit

    def spy(self, X, y):
        fitted.append((X.shape[0], np.bincount(y).tolist()))
        return original(self, X, y)

    monkeypatch.setattr(aml.NeighborhoodComponentsAnalysis, "fit", spy)
    res = run_table1(
        [name], tmp_path / "out", n_splits=1, quick=True, data_dir=tmp_path, methods=["NCA"], progress=False
    )
    assert fitted == [(60, [20, 20, 20])]  # stratified: 144 training rows of three equal classes
    assert any("NCA fitted on a stratified subsample of 60 of the 144 training rows" in n for n in res["notes"])
    assert 0.0 <= res["errors"][name]["NCA"][0] <= 1.0


def test_preprocessing_chosen_by_cross_validation_is_reported(tmp_path):
    rng = np.random.default_rng(3)
    # Signal in two low-variance columns, 120 loud noise columns: PCA without standardizing
    # keeps the noise; standardizing lets GMML weigh the columns.
    y = np.repeat([0, 1, 2], 60)
    X = np.hstack(
        [np.eye(3)[y][:, :2] * 0.5 + 0.1 * rng.standard_normal((180, 2)), 3.0 * rng.standard_normal((180, 120))]
    )
    choice = choose_preprocessing("any", X, y, seed=0)
    assert choice in [(s, p) for s in (True, False) for p in (None, 50, 100)]
    assert choose_preprocessing("any", X, y, standardize=False, pca=None) == (False, None)
    assert choose_preprocessing("any", X, y, standardize="cv", pca=7)[1] == 7
    np.savez(tmp_path / "wide.npz", X=X, y=y)
    res = run_table1(
        ["wide"],
        tmp_path / "out",
        n_splits=1,
        quick=True,
        data_dir=tmp_path,
        methods=["Euclidean", "GMML"],
        standardize="cv",
        pca="cv",
        progress=False,
    )
    column = res["table"].columns.index("preprocessing")
    used = res["table"].rows[0][column]
    assert used.startswith(("standardized", "raw scale"))
    assert any("chosen on each split's training part by 3-fold cross-validation" in n for n in res["notes"])
    fixed = run_table1(
        ["wide"],
        tmp_path / "out2",
        n_splits=1,
        quick=True,
        data_dir=tmp_path,
        methods=["Euclidean"],
        standardize=False,
        pca=20,
        progress=False,
    )
    assert fixed["table"].rows[0][fixed["table"].columns.index("preprocessing")] == "raw scale, PCA 20"


def test_imputed_values_are_said_in_the_notes(tmp_path):
    name = _write_user_set(tmp_path, name="holes")
    data = dict(np.load(tmp_path / "holes.npz"))
    data["X"][[3, 40], 5] = np.nan
    np.savez(tmp_path / "holes.npz", **data)
    res = run_roc([name], tmp_path / "out", quick=True, data_dir=tmp_path, progress=False)
    assert any("2 missing value(s)" in n and "median" in n for n in res["notes"])


def test_sensitivity_csv_holds_rounded_numbers(tmp_path):
    name = _write_user_set(tmp_path)
    run_sensitivity(name, tmp_path, quick=True, data_dir=tmp_path, progress=False)
    with open(tmp_path / "aml_sensitivity.csv", newline="") as fh:
        cells = [c for row in list(csv.reader(fh))[1:] for c in row[1:]]
    assert all(len(c.replace("0.", "").lstrip("0").replace(".", "")) <= 4 for c in cells if "e" not in c), cells


def test_cli_says_what_it_imputed_in_the_output_and_the_report(tmp_path, capsys):
    name = _write_user_set(tmp_path, name="gaps")
    data = dict(np.load(tmp_path / "gaps.npz"))
    data["X"][7, 0] = np.nan
    np.savez(tmp_path / "gaps.npz", **data)
    out = tmp_path / "results"
    assert (
        cli.main(
            ["aml-roc", "--quick", "--datasets", name, "--data-dir", str(tmp_path), "--out", str(out), "--no-progress"]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "note: file" in printed and "1 missing value(s) (NaN) in 1 row(s) replaced by the median" in printed
    assert "replaced by the median" in (out / "report.md").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["aml_roc.csv", "aml_roc.md", f"aml_roc_{name}.png", "report.md"]


# --------------------------------------------------------------------------- failed learners


def _fake_metric_learn(directory, body):
    """An installed metric-learn 0.7.0 (package and its metadata) whose module runs ``body``."""
    pkg = directory / "metric_learn"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(body)
    info = directory / "metric_learn-0.7.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: metric-learn\nVersion: 0.7.0\n")
    return directory


def test_a_broken_metric_learn_says_its_version_the_error_and_the_fix(tmp_path, monkeypatch):
    from importlib.metadata import version

    import spectral_ml.experiments.aml as aml

    site = _fake_metric_learn(tmp_path, "from sklearn.utils.extmath import no_such_function\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(__import__("sys").modules, "metric_learn", raising=False)
    classes, reason = aml.metric_learn_learners()
    assert classes is None
    assert "metric-learn 0.7.0 is installed but fails with scikit-learn" in reason
    assert "ImportError" in reason and "no_such_function" in reason
    if tuple(int(p) for p in version("scikit-learn").split(".")[:2]) >= (1, 8):
        assert "scikit-learn<1.8" in reason


def test_a_learner_failing_on_every_split_is_na_in_every_table(tmp_path, monkeypatch):
    import spectral_ml.experiments.aml as aml

    (tmp_path / "site").mkdir()
    site = _fake_metric_learn(tmp_path / "site", "")
    (site / "metric_learn" / "__init__.py").write_text(
        "class _Failing:\n"
        "    def __init__(self, **kwargs):\n"
        "        pass\n"
        "    def fit(self, X, y):\n"
        "        raise TypeError(\"check_X_y() got an unexpected keyword argument 'force_all_finite'\")\n"
        "ITML_Supervised = LMNN = _Failing\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(__import__("sys").modules, "metric_learn", raising=False)
    name = _write_user_set(tmp_path)
    res = run_table1(
        [name],
        tmp_path / "out",
        n_splits=2,
        quick=True,
        data_dir=tmp_path,
        methods=["Euclidean", "ITML"],
        progress=False,
    )
    table = list(csv.reader(open(tmp_path / "out" / "aml_table1.csv")))
    timing = list(csv.reader(open(tmp_path / "out" / "aml_table1_time.csv")))
    assert table[0][1:3] == ["Euclidean", "ITML"] and table[1][2] == "n/a" and table[1][1] != "n/a"
    assert timing[0][1:3] == ["Euclidean", "ITML"] and timing[1][2] == "n/a" and timing[1][1] != "n/a"
    failures = [n for n in res["notes"] if "ITML failed" in n]
    assert len(failures) == 1 and "failed on 2 of 2 splits" in failures[0]
    assert "metric-learn 0.7.0" in failures[0] and "force_all_finite" in failures[0]
    assert aml.metric_learn_learners()[1] is None


def test_a_learner_failing_on_some_splits_is_marked(tmp_path, monkeypatch):
    import spectral_ml.experiments.aml as aml

    real = aml._learners
    calls = []

    def flaky(quick, seed, n_jobs=None):
        learners, reason = real(quick, seed, n_jobs)
        gmml = learners["GMML"]

        def fails_the_first_time(X, y):
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("no luck")
            return gmml(X, y)

        learners["GMML"] = fails_the_first_time
        return learners, reason

    monkeypatch.setattr(aml, "_learners", flaky)
    name = _write_user_set(tmp_path)
    res = run_table1(
        [name], tmp_path / "out", n_splits=2, quick=True, data_dir=tmp_path, methods=["GMML"], progress=False
    )
    rows = res["records"].rows
    assert np.isnan(rows[0]["error"]) and np.isnan(rows[0]["time"]) and not np.isnan(rows[1]["time"])
    table = list(csv.reader(open(tmp_path / "out" / "aml_table1.csv")))
    timing = list(csv.reader(open(tmp_path / "out" / "aml_table1_time.csv")))
    assert table[1][1].endswith("(1/2 splits)") and "±" not in table[1][1]
    assert timing[1][1].endswith("(1/2 splits)")
    assert any(
        n.startswith("GMML failed on 1 of 2 splits") and "split 0): RuntimeError: no luck" in n for n in res["notes"]
    )


def test_single_split_and_single_seed_tables_do_not_promise_a_spread(tmp_path):
    name = _write_user_set(tmp_path)
    res = run_table1(
        [name], tmp_path / "out", n_splits=1, quick=True, data_dir=tmp_path, methods=["Euclidean"], progress=False
    )
    assert res["table"].title == "5-NN error, 1 random 80/20 split"
    res = run_table1(
        [name], tmp_path / "out2", n_splits=2, quick=True, data_dir=tmp_path, methods=["Euclidean"], progress=False
    )
    assert res["table"].title == "5-NN error, 2 random 80/20 splits (mean ± std)"
