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
    assert ".. csv-table:: 5-NN error\n   :file: results/aml_table1.csv" in page
    assert ".. figure:: results/aml_roc_wine.png" in page
    assert "* used ``--quick``" in page
    assert "This experiment failed in the run" in page and "no data" in page
    assert "Run time: 2.0 s." in page
    assert (docs / "results" / "aml_table1.csv").read_text() == (run / "aml_table1.csv").read_text()
    assert (docs / "results" / "aml_roc_wine.png").read_bytes() == figure.read_bytes()
