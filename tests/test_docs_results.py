"""docs/collect_results.py turns a reproduction run into the docs page of results."""

import pytest

from spectral_ml import cli
from spectral_ml.experiments import Table
from tests._scripts import load_script


@pytest.fixture(scope="module")
def collect():
    return load_script("docs/collect_results.py")


def test_page_shows_every_table_and_figure_of_the_report(collect, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    table = Table(["method", "error"], title="5-NN error")
    table.add_row("AML", "0.123 ± 0.004")
    files = list(table.save(run, "aml_table1"))
    figure = run / "aml_roc_wine.png"
    figure.write_bytes(b"\x89PNG fake")
    results = {
        "aml-table1": {"table": table, "files": [*files, figure], "notes": ["used `--quick`"]},
        "aml-roc": RuntimeError("no data"),
    }
    cli.write_report(results, run, quick=False, seed=0, elapsed={"aml-table1": 2.0})
    docs = tmp_path / "docs"
    docs.mkdir()
    page = collect.build(run, "Results", "Header text.", docs_dir=docs)
    assert page.startswith(".. _results:\n\nResults\n=======\n\nHeader text.")
    assert ".. results-table:: 5-NN error\n   :file: results/aml_table1.csv" in page
    assert ".. figure:: results/aml_roc_wine.png" in page
    assert "ROC curves on held-out wine pairs" in page  # a caption, not the file name
    assert "* used ``--quick``" in page
    assert "This experiment failed in the run" in page and "no data" in page
    assert "Run time: 2.0 s." in page
    assert (docs / "results" / "aml_table1.csv").read_text() == (run / "aml_table1.csv").read_text()
    assert (docs / "results" / "aml_roc_wine.png").read_bytes() == figure.read_bytes()


def test_runs_made_apart_follow_the_full_run_on_one_page(collect, tmp_path):
    runs = []
    for name, experiment in [("full", "aml-table1"), ("cnn", "dpp-retrieval")]:
        run = tmp_path / name
        run.mkdir()
        table = Table(["method", "value"], title=f"{name} table")
        table.add_row("x", "1")
        files = list(table.save(run, f"{name}_table"))
        cli.write_report(
            {experiment: {"table": table, "files": files, "notes": []}},
            run,
            quick=False,
            seed=0,
            elapsed={experiment: 1.0},
        )
        runs.append(run)
    docs = tmp_path / "docs"
    docs.mkdir()
    page = collect.build(runs, "Results", "", docs_dir=docs)
    assert page.index(":file: results/full_table.csv") < page.index(":file: results/cnn_table.csv")
    assert sorted(p.name for p in (docs / "results").iterdir()) == ["cnn_table.csv", "full_table.csv"]


def test_figures_of_one_kind_stand_side_by_side(collect):
    rst = "\n".join(collect._figures(["aml_roc_wine.png", "aml_roc_breast_cancer.png"]))
    assert rst.startswith(".. list-table::\n   :class: figure-row")
    assert "   * - .. figure:: results/aml_roc_wine.png" in rst
    assert "     - .. figure:: results/aml_roc_breast_cancer.png" in rst
    assert "ROC curves on held-out breast cancer pairs" in rst
    assert collect.figure_caption("aml_sensitivity_beta") == "5-NN error against β (AML paper, Fig. 5)."
    assert collect.figure_caption("new_figure") == "new figure"


@pytest.fixture(scope="module")
def tables():
    pytest.importorskip("sphinx", reason="the docs extension needs Sphinx (docs extra)")
    # An environment can hold a partial Sphinx without docutils; the extension imports both.
    pytest.importorskip("docutils", reason="the docs extension needs docutils (docs extra)")
    return load_script("docs/sphinxext/spectral_docs.py")


def test_results_tables_round_noise_and_move_the_papers_columns(tables):
    assert tables.round_cell("0.09375000000000001") == "0.094"
    assert tables.round_cell("0.000123456") == "0.000123"
    assert tables.round_cell("93.71 ± 0.41") == "93.71 ± 0.41"
    assert tables.round_cell("1.735") == "1.735"
    header = ["dataset", "AML", "GMML", "paper AML", "paper ITML"]
    rows = [["wine", "0.014 ± 0.016", "0.05425", "—", "—"], ["vehicle", "0.276", "0.214", "0.203", "0.235"]]
    (ours_h, ours, ours_paper), (paper_h, paper, is_paper) = tables.split_table(header, rows)
    assert ours_h == ["dataset", "AML", "GMML"] and not ours_paper
    assert ours[0] == ["wine", "0.014 ± 0.016", "0.054"]
    assert is_paper and paper_h == ["dataset", "paper AML", "paper ITML"]
    assert paper == [["vehicle", "0.203", "0.235"]]  # rows without the paper's numbers left out


def test_wide_results_tables_are_split_repeating_the_key(tables):
    header = ["method", "seed", *[f"c{i}" for i in range(7)]]
    rows = [["A", "0", *"1234567"], ["A", "1", *"7654321"]]
    parts = tables.split_table(header, rows, max_columns=4)
    assert [p[0] for p in parts] == [["method", "seed", "c0", "c1", "c2", "c3"], ["method", "seed", "c4", "c5", "c6"]]
    assert parts[1][1][1] == ["A", "1", "3", "2", "1"]


def test_a_paper_column_with_our_counterpart_shares_its_cell(tables):
    header = ["method", "mAP@10", "mAP@20", "paper mAP@10"]
    rows = [["baseline", "93.71 ± 0.41", "93.4", "63.90"], ["DPPSG", "93.77 ± 0.48", "93.46", "—"]]
    [(part_header, part_rows, is_paper)] = tables.split_table(header, rows)
    assert part_header == ["method", "mAP@10 (paper)", "mAP@20"] and not is_paper
    assert part_rows == [["baseline", "93.71 ± 0.41 (63.90)", "93.40"], ["DPPSG", "93.77 ± 0.48", "93.46"]]


def test_a_parameter_grid_keeps_its_decimals(tables):
    header = ["parameter", "value", "error"]
    rows = [["alpha", "0.001", "0.05"], ["beta", "1000.0", "0.0955"]]
    [(_, part_rows, _)] = tables.split_table(header, rows)
    assert [r[1] for r in part_rows] == ["0.001", "1000.0"]  # 3 and 1 decimals: a grid
    assert [r[2] for r in part_rows] == ["0.05", "0.0955"]  # 2 and 4 decimals: left alone
