"""Command line: the demo's content, the report writer, and the answers to a user's mistakes."""

import os
import re

import numpy as np
import pytest

from spectral_ml import cli
from spectral_ml.experiments import Table, format_mean_std

from ._fake_experiments import cli_answer, fake_experiment, fake_protocol


def test_demo_shows_paths_and_separation(capsys):
    assert cli.main(["demo", "--n", "16", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith(("well spread", "half duplicated"))]
    paths = {(ln[:22].strip(), ln[22:31].strip()): ln[31:39].strip() for ln in lines}
    assert paths[("well spread", "auto")] == "exact"
    assert paths[("half duplicated", "auto")] in {"dppsg", "dppsg*"}
    before, after = out.split("|x0 - x1|")[1].split("->")
    assert float(after.strip().split()[0]) > float(before.strip())


def test_demo_explains_a_zero_dppsg_direction(capsys):
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    rows = {
        (ln[:22].strip(), ln[22:31].strip()): ln
        for ln in out.splitlines()
        if ln.startswith(("well spread", "near duplicate pair"))
    }
    # DPPSG is exactly zero where every eigenvalue of L is above Delta, and the output says why.
    for batch in ("well spread", "near duplicate pair"):
        gnorm, lam_min = (float(v) for v in rows[(batch, "dppsg")].split()[-2:])
        assert gnorm == 0.0 and lam_min > 1e-7
    assert "below Delta" in out and "exactly 0" in out


def test_every_experiment_has_a_subcommand():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in (
        "aml-table1",
        "aml-synthetic",
        "aml-roc",
        "aml-sensitivity",
        "dpp-retrieval",
        "dpp-overhead",
        "reproduce",
    ):
        assert name in sub.choices


def test_report_links_tables_and_figures(tmp_path):
    table = Table(["a", "b"], title="T")
    table.add_row("x", 1.5)
    fig = tmp_path / "fig.png"
    fig.write_bytes(b"")
    csv_path, md_path = table.save(tmp_path, "t")
    results = {
        "aml-synthetic": {"table": table, "files": [fig, csv_path, md_path], "notes": ["a note"]},
        "aml-roc": RuntimeError("boom"),
    }
    report = cli.write_report(results, tmp_path, quick=True, seed=3, elapsed={"aml-synthetic": 1.0})
    text = report.read_text()
    machine = text.split("## Machine and versions")[1]
    assert f"{os.cpu_count()} logical CPU(s)" in machine
    assert "thread(s)" in machine and "numpy " in machine and "scikit-learn " in machine
    assert "![fig](fig.png)" in text
    assert "[t.csv](t.csv)" in text
    assert "| x | 1.50 |" in text
    assert "a note" in text
    assert "RuntimeError: boom" in text
    assert csv_path.read_text().splitlines() == ["a,b", "x,1.50"]


def test_table_and_formatting_errors():
    t = Table(["a"])
    with pytest.raises(ValueError, match="row has 2 values"):
        t.add_row(1, 2)
    with pytest.raises(ValueError, match="columns"):
        Table([])
    assert format_mean_std([0.1, 0.3]) == "0.200 ± 0.100"
    assert format_mean_std([0.25]) == "0.250"
    assert format_mean_std([]) == "n/a"


def test_tables_round_where_they_are_written(tmp_path):
    table = Table(["value"])
    table.add_row(0.09375000000000001)
    table.add_row(np.float64(1 / 3))
    table.add_row(float("nan"))
    table.add_row(1e-5)
    table.add_row(1234.5678)
    csv_path, md_path = table.save(tmp_path, "t")
    # Three significant figures of the column's smallest magnitude (1e-5), every number with its decimals.
    assert csv_path.read_text().splitlines() == [
        "value",
        "0.0937500",
        "0.3333333",
        "n/a",
        "0.0000100",
        "1234.5678000",
    ]
    assert "| 0.0937500 |" in md_path.read_text()


# --------------------------------------------------------------------------- a user's mistakes


def _answer(argv, capsys):
    return cli_answer(cli, argv, capsys)


def _assert_one_line_error(argv, capsys, *needles):
    code, err = _answer(argv, capsys)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("spectral-ml: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A data directory holding one bad file per kind of mistake."""
    monkeypatch.delenv("SPECTRAL_ML_DATA", raising=False)
    d = tmp_path / "data"
    d.mkdir()
    rng = np.random.default_rng(0)
    (d / "random_bytes.npz").write_bytes(rng.bytes(300))
    (d / "empty.npz").write_bytes(b"")
    np.save(d / "single.npy", np.zeros((20, 2)))
    (d / "single.npy").rename(d / "single.npz")
    good_X, good_y = rng.random((30, 3)), np.arange(30) % 3
    np.savez(d / "no_y.npz", X=good_X)
    np.savez(d / "no_x.npz", y=good_y)
    np.savez(d / "x_1d.npz", X=good_X[:, 0], y=good_y)
    np.savez(d / "y_short.npz", X=good_X, y=good_y[:-1])
    np.savez(d / "y_2d.npz", X=good_X, y=good_y[:, None])
    np.savez(d / "x_strings.npz", X=np.full((30, 3), "a"), y=good_y)
    np.savez(d / "pickled.npz", X=good_X, y=good_y.astype(object))
    np.savez(d / "one_class.npz", X=good_X, y=np.zeros(30, int))
    np.savez(d / "lonely_row.npz", X=good_X, y=np.r_[np.zeros(29, int), 1])
    np.savez(d / "tiny.npz", X=good_X[:6], y=good_y[:6])
    np.savez(d / "float_labels.npz", X=good_X, y=good_y + 0.5)
    no_rows = np.zeros((0, 3))
    np.savez(d / "no_rows.npz", X=no_rows, y=np.zeros(0, int))
    np.savez(d / "no_split.npz", X=good_X, y=good_y)
    return d


@pytest.mark.parametrize(
    "name, needles",
    [
        ("nosuch", ["unknown data set 'nosuch'", "--data-dir", "Available: breast_cancer"]),
        ("../escape", ["--datasets", "no path"]),
        ("random_bytes", ["random_bytes.npz", "not an .npz archive", "numpy.savez"]),
        ("empty", ["empty.npz", "is empty (0 bytes)"]),
        ("single", ["single.npz", "single array"]),
        ("no_y", ["no_y.npz", "must contain arrays 'X' and 'y'", "['X']"]),
        ("no_x", ["no_x.npz", "must contain arrays 'X' and 'y'"]),
        ("x_1d", ["x_1d.npz", "must be 2-D"]),
        ("y_short", ["y_short.npz", "30 entries", "(29,)"]),
        ("y_2d", ["y_2d.npz", "must be 1-D"]),
        ("x_strings", ["x_strings.npz", "must be numeric"]),
        ("pickled", ["pickled.npz", "pickle"]),
        ("one_class", ["'one_class'", "at least two"]),
        ("lonely_row", ["'lonely_row'", "single row"]),
        ("tiny", ["'tiny'", "at least 10"]),
        ("float_labels", ["float_labels.npz", "class labels"]),
        ("no_rows", ["no_rows.npz", "no rows"]),
    ],
)
def test_bad_data_is_one_line_before_any_work(name, needles, data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    _assert_one_line_error(
        ["aml-roc", "--datasets", name, "--data-dir", str(data_dir), "--out", str(out)], capsys, *needles
    )
    assert not out.exists()


def test_mnist_for_retrieval_needs_its_split(data_dir, tmp_path, capsys):
    (data_dir / "no_split.npz").rename(data_dir / "mnist.npz")
    _assert_one_line_error(
        ["dpp-retrieval", "--dataset", "mnist", "--data-dir", str(data_dir), "--out", str(tmp_path / "out")],
        capsys,
        "split='train'",
        "mnist.npz",
    )


@pytest.mark.parametrize(
    "argv, needles",
    [
        (["no-such-command"], ["invalid choice"]),
        ([], ["required"]),
        (["demo", "--n", "1"], ["--n", "between 2 and 2000"]),
        (["demo", "--n", "0"], ["--n"]),
        (["demo", "--n", "many"], ["--n", "integer"]),
        (["demo", "--seed", "-1"], ["--seed", "between 0 and"]),
        (["demo", "--seed", str(2**40)], ["--seed"]),
        (["demo", "--sigma", "0"], ["--sigma", "positive"]),
        (["demo", "--sigma", "-1"], ["--sigma"]),
        (["demo", "--sigma", "nan"], ["--sigma"]),
        (["demo", "--sigma", "inf"], ["--sigma"]),
        (["demo", "--threads", "0"], ["--threads", "at least 1"]),
        (["aml-table1", "--splits", "0"], ["--splits", "at least 1"]),
        (["aml-table1", "--splits", "-3"], ["--splits"]),
        (["aml-table1", "--methods", "svm"], ["--methods", "invalid choice"]),
        (["aml-table1", "--methods", "gmml", "gmml"], ["--methods", "'gmml' twice"]),
        (["aml-table1", "--pca", "0"], ["--pca"]),
        (["aml-table1", "--pca", "many"], ["--pca", "none or cv"]),
        (["aml-table1", "--standardize", "maybe"], ["--standardize", "on, off or cv"]),
        (["aml-table1", "--datasets", "wine", "wine"], ["--datasets", "'wine' twice"]),
        (["aml-synthetic", "--splits", "3"], ["aml-synthetic does not take --splits", "aml-synthetic --help"]),
        (["aml-synthetic", "--datasets", "wine"], ["does not take --datasets", "aml-synthetic --help"]),
        (["aml-synthetic", "--quick"], ["does not take --quick", "aml-synthetic --help"]),
        (["dpp-overhead", "--dataset", "wine"], ["does not take --dataset", "dpp-overhead --help"]),
        (["aml-roc", "--out", ""], ["--out", "empty"]),
        (["aml-roc", "--out", "  "], ["--out"]),
    ],
)
def test_argument_mistakes(argv, needles, capsys):
    _assert_one_line_error(argv, capsys, *needles)


def test_table1_methods_name_every_learner_and_the_help_lists_them(capsys):
    from spectral_ml.experiments.aml import TABLE1_METHODS

    assert sorted(cli._METHOD_NAMES.values()) == sorted(TABLE1_METHODS)
    text = " ".join(_help(["aml-table1"], capsys).split())
    for name in ("gmml-local", "aml-local", "aml-cv", "local pairs"):
        assert name in text, name
    args = cli.build_parser().parse_args(
        ["aml-table1", "--quick", "--datasets", "wine", "--methods", "aml-cv", "gmml-local", "aml-local"]
    )
    assert cli._table1_protocol(args).settings["methods"] == ["GMML (local)", "AML (local)", "AML-CV"]


def test_baselines_of_a_missing_package_are_refused_before_any_work(capsys, monkeypatch):
    import spectral_ml.experiments.aml as aml

    monkeypatch.setattr(aml, "metric_learn_learners", lambda: (None, "metric-learn unavailable (ImportError: gone)"))
    _assert_one_line_error(["aml-table1", "--methods", "gmml", "lmnn"], capsys, "--methods lmnn", "metric-learn")


def test_a_degenerate_sigma_is_a_usage_error(capsys):
    try:
        code = cli.main(["demo", "--sigma", "1e-300"])
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.startswith("spectral-ml: error: --sigma") and len(captured.err.strip().splitlines()) == 1


def test_out_naming_a_file(tmp_path, capsys):
    target = tmp_path / "results.txt"
    target.write_text("mine")
    _assert_one_line_error(["aml-synthetic", "--out", str(target)], capsys, "is a file", "name a directory")
    _assert_one_line_error(["aml-synthetic", "--out", str(target / "sub")], capsys, "is a file")
    assert target.read_text() == "mine"


def _no_work(monkeypatch, name="aml-synthetic"):
    """Replace an experiment's protocol by one that records that it ran; return the record."""
    ran = []

    def protocol(args):
        return fake_protocol(name, args.seed, compute=lambda key: ran.append(key) or {"key": key})

    monkeypatch.setattr(cli._EXPERIMENTS[name], "protocol", protocol)
    monkeypatch.setattr(cli._EXPERIMENTS[name], "write", lambda records, out: {})
    return ran


def test_read_only_out_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    from spectral_ml import _rundir

    ran = _no_work(monkeypatch)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_rundir.tempfile, "TemporaryFile", refuse)
    existing = tmp_path / "existing"
    existing.mkdir()
    _assert_one_line_error(["aml-synthetic", "--out", str(existing)], capsys, "cannot write", "Permission denied")
    _assert_one_line_error(["aml-synthetic", "--out", str(tmp_path / "new" / "deeper")], capsys, "cannot write")
    assert ran == [] and not (tmp_path / "new").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="permissions do not bind root")
def test_read_only_directory_on_disk(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        _assert_one_line_error(["aml-synthetic", "--out", str(locked)], capsys, "cannot write")
    finally:
        locked.chmod(0o755)


def test_non_empty_out_needs_overwrite_which_replaces_only_earlier_outputs(tmp_path, capsys, monkeypatch):
    fake_experiment(monkeypatch, cli)
    out = tmp_path / "results"
    assert cli.main(["aml-synthetic", "--out", str(out), "--seed", "1", "--jobs", "1"]) == 0
    capsys.readouterr()
    assert "seed 1" in (out / "report.md").read_text()
    (out / "aml_roc_wine.png").write_bytes(b"stale figure of an earlier run")
    (out / "notes.txt").write_text("the user's own file")
    _assert_one_line_error(["aml-synthetic", "--out", str(out), "--seed", "2"], capsys, "not empty", "--overwrite")
    assert "seed 1" in (out / "report.md").read_text()
    assert cli.main(["aml-synthetic", "--out", str(out), "--seed", "2", "--overwrite", "--jobs", "1"]) == 0
    report = (out / "report.md").read_text()
    assert "seed 2" in report and "seed 1" not in report
    assert (out / "aml_synthetic.csv").read_text().splitlines()[1] == "2,0.300"  # 0.1 + 0.2, three significant figures
    assert not (out / "aml_roc_wine.png").exists()
    assert (out / "notes.txt").read_text() == "the user's own file"
    assert sorted(p.name for p in out.iterdir()) == [
        "aml_synthetic.csv",
        "aml_synthetic.md",
        "aml_synthetic.png",
        "notes.txt",
        "report.md",
    ]
    assert not (tmp_path / "results.partial").exists()
    # A report.md this program did not write is the user's: --overwrite does not replace it.
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "report.md").write_text("# My own report\n")
    _assert_one_line_error(["aml-synthetic", "--out", str(mine), "--overwrite"], capsys, "report.md", "yours")
    assert (mine / "report.md").read_text() == "# My own report\n"


@pytest.mark.parametrize(
    "error, code, word", [(RuntimeError("boom"), 1, "error"), (KeyboardInterrupt(), 130, "interrupted")]
)
def test_a_run_that_fails_before_any_unit_leaves_nothing_behind(error, code, word, tmp_path, capsys, monkeypatch):
    fake_experiment(monkeypatch, cli, fail=error, fail_at=0)
    fresh = tmp_path / "a" / "b"
    status, err = _answer(["aml-synthetic", "--out", str(fresh), "--jobs", "1"], capsys)
    assert status == code and not (tmp_path / "a").exists()
    assert "nothing was kept" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    status, err = _answer(["aml-synthetic", "--out", str(empty), "--jobs", "1"], capsys)
    assert status == code and list(empty.iterdir()) == [] and not (tmp_path / "empty.partial").exists()
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and word in err


def test_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    fake_experiment(monkeypatch, cli, fail=RuntimeError("boom"), fail_at=1)
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["aml-synthetic", "--out", str(tmp_path / "o"), "--debug", "--jobs", "1"])
    with pytest.raises(cli.UsageError):
        cli.main(["aml-synthetic", "--out", "", "--debug"])


def test_data_errors_found_late_are_one_line_and_clean(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SPECTRAL_ML_DATA", raising=False)
    X = np.random.default_rng(0).random((30, 3))
    X[4, 1] = np.inf
    np.savez(tmp_path / "inf.npz", X=X, y=np.arange(30) % 2)
    out = tmp_path / "out"
    _assert_one_line_error(
        ["aml-roc", "--datasets", "inf", "--data-dir", str(tmp_path), "--out", str(out)], capsys, "inf.npz", "infinite"
    )
    assert not out.exists()


def test_missing_data_directory_is_a_warning_for_embedded_sets(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SPECTRAL_ML_DATA", str(tmp_path / "nowhere"))
    seen = _no_work(monkeypatch, "aml-roc")
    assert cli.main(["aml-roc", "--quick", "--datasets", "wine", "--out", str(tmp_path / "o"), "--jobs", "1"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("spectral-ml: warning: the data directory") and "does not exist" in err
    assert seen
    _assert_one_line_error(
        ["aml-roc", "--datasets", "vehicle", "--out", str(tmp_path / "p")], capsys, "does not exist", "SPECTRAL_ML_DATA"
    )
    _assert_one_line_error(
        [
            "aml-roc",
            "--datasets",
            "vehicle",
            "--data-dir",
            str(tmp_path / "o" / "report.md"),
            "--out",
            str(tmp_path / "p"),
        ],
        capsys,
        "not a directory",
    )


def test_threads_option_limits_blas(tmp_path, capsys, monkeypatch):
    from threadpoolctl import threadpool_info

    seen = []

    def count(key):
        seen.extend(p["num_threads"] for p in threadpool_info())
        return {}

    monkeypatch.setattr(
        cli._EXPERIMENTS["aml-synthetic"],
        "protocol",
        lambda args: fake_protocol("aml-synthetic", args.seed, compute=count),
    )
    monkeypatch.setattr(cli._EXPERIMENTS["aml-synthetic"], "write", lambda records, out: {})
    assert cli.main(["aml-synthetic", "--threads", "1", "--out", str(tmp_path / "o"), "--jobs", "1"]) == 0
    assert seen and set(seen) == {1}


def _help(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([*argv, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def test_each_subcommand_lists_only_the_options_it_uses(capsys):
    expected = {
        "demo": ({"--n", "--sigma", "--seed", "--threads"}, {"--out", "--splits", "--datasets", "--quick"}),
        "aml-table1": (
            {"--splits", "--datasets", "--methods", "--pca", "--standardize", "--threads", "--quick"},
            {"--dataset "},
        ),
        "aml-synthetic": (
            {"--out", "--overwrite", "--threads", "--no-progress"},
            {"--splits", "--datasets", "--quick", "--data-dir"},
        ),
        "aml-roc": ({"--datasets", "--data-dir", "--quick"}, {"--splits", "--methods"}),
        "aml-sensitivity": ({"--dataset ", "--data-dir"}, {"--splits", "--datasets"}),
        "dpp-retrieval": ({"--dataset ", "--data-dir"}, {"--splits", "--datasets"}),
        "dpp-overhead": ({"--quick", "--threads"}, {"--splits", "--datasets", "--data-dir"}),
        "reproduce": ({"--splits", "--datasets", "--threads", "--overwrite"}, set()),
    }
    for command, (present, absent) in expected.items():
        text = _help([command], capsys)
        for option in present:
            assert option in text, (command, option)
        for option in absent:
            assert option not in text, (command, option)
        if "--no-progress" in text:
            no_progress = re.search(r"--no-progress\s+(.*?)\n  --", text, re.S).group(1)
            assert "bar" not in no_progress
    assert "Run every experiment in turn" in _help(["reproduce"], capsys)


def test_version(capsys):
    from spectral_ml import __version__

    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"spectral-ml {__version__}"


def test_progress_is_drawn_only_on_a_terminal(monkeypatch):
    import io

    from spectral_ml.experiments._progress import progress_bar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert progress_bar(3, "work").disable
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert progress_bar(3, "work", enabled=False).disable
    with progress_bar(3, "work") as bar:
        bar.set_description_str("work: wine split 1/3 GMML")
        bar.update()
    assert "wine split 1/3 GMML" in terminal.getvalue() and "1/3" in terminal.getvalue()
