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
    assert ".. list-table:: 5-NN error\n" in page and "     - 0.123\u00a0±\u00a00.004" in page
    assert "Data: :download:`aml_table1.csv <results/aml_table1.csv>`" in page
    assert ".. figure:: results/aml_roc_wine.png" in page
    assert "ROC curves on held-out wine pairs" in page  # a caption, not the file name
    assert "* used ``--quick``" in page
    assert "This experiment failed in the run" in page and "no data" in page
    assert "Full run, seed 0; computing time 2.0 s." in page
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
    header = "Intro.\n\n.. the runs' sections\n\nClosing words."
    page = collect.build(runs, "Results", header, docs_dir=docs)
    assert page.index("<results/full_table.csv>") < page.index("<results/cnn_table.csv>")
    assert sorted(p.name for p in (docs / "results").iterdir()) == ["cnn_table.csv", "full_table.csv"]
    # One section of machines for both runs, after the header's closing words.
    assert page.count("Machine and versions") == 1
    assert page.index("Intro.") < page.index("full table") < page.index("Closing words.")
    assert page.index("Closing words.") < page.index("Machine and versions")
    assert "the runs' sections" not in page
    # The same thread pools, loaded in another order, are one note.
    assert collect._same_note("Threads: a: 1 thread(s); b: 2 thread(s).") == collect._same_note(
        "Threads: b: 2 thread(s); a: 1 thread(s)."
    )


def test_the_same_experiment_in_two_runs_has_two_titles_and_its_own_files(collect, tmp_path):
    runs = []
    for name, quick, value in [("full", False, 1.5), ("quick", True, 2.5)]:
        run = tmp_path / name
        run.mkdir()
        table = Table(["method", "value"], title=f"{name} table")
        table.add_row("x", value)
        files = list(table.save(run, "dpp_retrieval_digits"))
        figure = run / "dpp_retrieval_digits_loss.png"
        figure.write_bytes(name.encode())
        cli.write_report(
            {"dpp-retrieval": {"table": table, "files": [*files, figure], "notes": []}},
            run,
            quick=quick,
            seed=0,
            elapsed={"dpp-retrieval": 1.0},
        )
        runs.append(run)
    docs = tmp_path / "docs"
    docs.mkdir()
    page = collect.build(runs, "Results", "", docs_dir=docs)
    titles = [ln for ln in page.splitlines() if ln.startswith("dpp-retrieval")]
    assert len(titles) == len(set(titles)) == 2 and titles[1].endswith("(quick run)")
    # Both runs wrote the same file names: each section shows its own files.
    results = docs / "results"
    assert (results / "dpp_retrieval_digits_quick.csv").read_text().splitlines()[1] == "x,2.50"
    assert (results / "dpp_retrieval_digits_loss_quick.png").read_bytes() == b"quick"
    assert (results / "dpp_retrieval_digits_loss.png").read_bytes() == b"full"
    assert page.index("<results/dpp_retrieval_digits.csv>") < page.index("<results/dpp_retrieval_digits_quick.csv>")
    assert page.count("Training losses per epoch") == 2  # the caption of the file the run named


def test_tables_show_the_cells_as_written_with_the_papers_beside_ours(collect, tmp_path):
    header = ["dataset", "AML", "GMML", "NCA", "preprocessing", "paper AML", "paper GMML", "paper ITML"]
    rows = [
        ["vehicle", "0.276 ± 0.024", "0.214 ± 0.018", "0.236 ± 0.025", "standardized", "0.203", "0.235", "0.301"],
        ["wine", "0.014 ± 0.016", "0.021 ± 0.019", "0.032 ± 0.028", "standardized", "—", "—", "—"],
    ]
    [(part_header, part_rows)] = collect.table_parts(header, rows, max_width=200)
    assert part_header == ["dataset", "AML", "paper AML", "GMML", "paper GMML", "NCA", "preprocessing", "paper ITML"]
    assert part_rows[0][1:3] == ["0.276 ± 0.024", "0.203"]  # nothing rounded again
    # Split, a paper column stays with ours; the key column leads every part.
    parts = collect.table_parts(header, rows, max_width=50)
    assert [h for h, _ in parts] == [
        ["dataset", "AML", "paper AML"],
        ["dataset", "GMML", "paper GMML", "NCA"],
        ["dataset", "preprocessing", "paper ITML"],
    ]
    # A paper column with a note in parentheses finds ours; the settings and seed form the key.
    parts = collect.table_parts(["batch size", "DPP share", "paper DPP share (GPU)"], [["100", "19%", "6%"]])
    assert parts[0][0] == ["batch size", "DPP share", "paper DPP share (GPU)"]
    runs = [["DPPSG*", "1e3", "0.1", "0", "84.0"], ["DPPSG*", "1e3", "1e-3", "0", "97.5"]]
    [(part_header, _)] = collect.table_parts(["method", "λ₁", "θ", "seed", "mAP@10"], runs)
    assert part_header == ["method", "λ₁", "θ", "seed", "mAP@10"]
    # The settings after a unique method lead every part too.
    header = ["method", "λ₁", "θ", *(f"c{i}" for i in range(8))]
    rows = [["a", "1e3", "1e-3", *["93.8 ± 0.5"] * 8], ["b", "–", "–", *["93.1 ± 0.4"] * 8]]
    parts = collect.table_parts(header, rows)
    assert [h[:3] for h, _ in parts] == [["method", "λ₁", "θ"]] * 2
    assert [len(h) for h, _ in parts] == [3 + 5, 3 + 3]  # 13 characters a column, 88 a row


def test_a_caption_is_escaped_once(collect, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("method,mAP@10\nDPPSG*,93.8 ± 0.5\n", encoding="utf-8")
    lines = collect.results_table(path, "results/t.csv", "contrastive + DPP (dppsg*)")
    assert lines[0] == ".. list-table:: contrastive + DPP (dppsg\\*)"  # one backslash in the source
    assert "   * - DPPSG\\*" in lines and "     - mAP\\@10" in lines
    # Numbers stay whole in a narrow column: 3e-4 keeps its hyphen (a non-breaking one), ± its spaces.
    assert collect._cell("3e-4") == "3e\u20114" and collect._cell("-1.6 ± 0.2") == "-1.6\u00a0±\u00a00.2"


def test_figures_of_one_kind_stand_side_by_side(collect):
    names = [("aml_roc_wine.png", "aml_roc_wine.png"), ("aml_roc_breast_cancer.png", "aml_roc_breast_cancer.png")]
    rst = "\n".join(collect._figures(names))
    assert rst.startswith(".. list-table::\n   :class: figure-row")
    assert "   * - .. figure:: results/aml_roc_wine.png" in rst
    assert "     - .. figure:: results/aml_roc_breast_cancer.png" in rst
    assert "ROC curves on held-out breast cancer pairs" in rst
    assert collect.figure_caption("aml_sensitivity_beta") == "5-NN error against β (AML paper, Fig. 5)."
    assert collect.figure_caption("new_figure") == "new figure"
    assert collect.figure_caption("dpp_retrieval_mnist_paper_cnn_theta").startswith("mAP@10 and gap to P of DPPSG*")


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
