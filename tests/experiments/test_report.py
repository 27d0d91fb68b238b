"""The reporting code rounds every table by one rule: report.md, the CSV and the docs page agree."""

import csv
import math
import re

import numpy as np
import pytest

from spectral_ml.experiments import Records, Table, format_mean_std
from spectral_ml.experiments.report import (
    Estimate,
    decimals_for,
    estimate,
    format_parameter,
    write_dpp_overhead,
    write_roc,
    write_sensitivity,
    write_table1,
)

_NUMBER = re.compile(r"-?\d+(?:\.(\d+))?")


def column_decimals(path):
    """Per column of a CSV, the set of decimal counts of its plain numbers (both sides of ``±``)."""
    with open(path, newline="", encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    found = {name: set() for name in header}
    for row in rows:
        for name, cell in zip(header, row, strict=True):
            parts = cell.split(" (")[0].split(" ± ")  # a note such as "(3/5 splits)" follows
            for part in parts:
                match = _NUMBER.fullmatch(part.strip())
                if match:
                    found[name].add(len(match.group(1) or ""))
    return found


def assert_aligned(path):
    mixed = {name: d for name, d in column_decimals(path).items() if len(d) > 1}
    assert not mixed, f"{path.name}: columns with mixed decimals {mixed}"


def test_the_issue_columns_get_one_number_of_decimals(tmp_path):
    table = Table(["fit time (s)", "FPR", "mAP@10", "DPP (ms)"])
    for row in zip(
        [0.155, 2.55, 8.37, 1.8, 5.85, 16.4, 23.1],
        [0.9062, 0.73, 0.333, 0.5, 0.61, 0.7, 0.8],
        [97.0, 97.63, 84.02, 97.55, 97.7, 97.0, 96.1],
        [0.2707, 0.64, 1.033, 7.257, 12.42, 0.3, 0.4],
        strict=True,
    ):
        table.add_row(*row)
    csv_path, md_path = table.save(tmp_path, "t")
    assert_aligned(csv_path)
    rows = table.formatted_rows()
    assert [r[0] for r in rows[:3]] + [rows[5][0]] == ["0.155", "2.550", "8.370", "16.400"]
    assert [r[1] for r in rows[:3]] == ["0.906", "0.730", "0.333"]
    assert [r[2] for r in rows[:2]] == ["97.0", "97.6"]
    assert [r[3] for r in rows[:3]] == ["0.271", "0.640", "1.033"]
    # The Markdown shows what the CSV holds.
    assert "| 0.155 | 0.906 | 97.0 | 0.271 |" in md_path.read_text()


def test_mean_and_std_share_the_decimals_of_the_column(tmp_path):
    table = Table(["method", "error"])
    table.add_row("A", estimate([0.25, 0.29]))
    table.add_row("B", estimate([0.031, 0.033]))
    table.add_row("C", estimate([0.5, float("nan"), 0.7], note="(2/3 splits)"))
    table.add_row("D", estimate([float("nan")]))
    table.add_row("E", estimate([0.12]))
    assert [r[1] for r in table.formatted_rows()] == [
        "0.2700 ± 0.0200",
        "0.0320 ± 0.0010",
        "0.6000 ± 0.1000 (2/3 splits)",
        "n/a",
        "0.1200",
    ]
    assert_aligned(table.save(tmp_path, "t")[0])


def test_integers_and_text_are_written_as_given():
    table = Table(["batch size", "share", "mixed"])
    table.add_row(np.int64(100), "19%", 3)
    table.add_row(200, "25%", 2.5)
    assert table.formatted_rows() == [["100", "19%", "3.00"], ["200", "25%", "2.50"]]


def test_a_difference_takes_the_decimals_of_its_measure_and_ratios_are_scientific():
    table = Table(
        ["mAP@10", "mAP@10 − baseline", "ratio"],
        decimals_from={"mAP@10 − baseline": "mAP@10"},
        scientific=["ratio"],
    )
    table.add_row(estimate([88.5, 88.9]), estimate([0.02, -0.08]), 0.0805)
    table.add_row(estimate([64.0, 64.4]), estimate([-24.5, -24.3]), 80.44)
    assert table.formatted_rows() == [
        ["88.7 ± 0.2", "0.0 ± 0.1", "8.05e-2"],  # -0.03 to one decimal: "0.0", never "-0.0"
        ["64.2 ± 0.2", "-24.4 ± 0.1", "8.04e1"],
    ]
    with pytest.raises(ValueError, match="'nope' is not a column"):
        Table(["a"], scientific=["nope"])
    with pytest.raises(ValueError, match="significant"):
        Table(["a"], significant=0)


@pytest.mark.parametrize(
    ("value", "decimals"),
    [(0.0375, 4), (0.09996, 3), (0.0999, 4), (2.55, 2), (173.2, 0), (1234.5, 0), (0.0, 0), (math.nan, 0), (-0.5, 3)],
)
def test_decimals_for_three_significant_figures(value, decimals):
    assert decimals_for(value) == decimals


def test_format_mean_std_alone_follows_the_rule():
    assert format_mean_std([0.1, 0.3]) == "0.200 ± 0.100"
    assert format_mean_std([97.55, 97.02, 97.7]) == "97.4 ± 0.3"
    assert format_mean_std([0.25]) == "0.250"
    assert format_mean_std([]) == "n/a"
    assert estimate([1.0, 3.0]) == Estimate(2.0, 1.0, "")


def test_parameters_of_a_grid_read_back_as_floats():
    grid = [1e-4, 1e-3, 0.01, 0.1, 1.0, 10.0, 1000.0, 3e-4, 0.3]
    texts = [format_parameter(v) for v in grid]
    assert texts == ["1e-4", "1e-3", "1e-2", "1e-1", "1", "1e1", "1e3", "3e-4", "3e-1"]
    assert [float(t) for t in texts] == pytest.approx(grid)
    assert not any("." in t for t in texts)  # no decimals to mix in a column


# --------------------------------------------------------------------------- every writer


def _table1_records():
    rng = np.random.default_rng(0)
    methods = ["Euclidean", "GMML", "AML"]
    rows = []
    for name in ("wine", "vehicle"):
        for split in range(3):
            for m in methods:
                failed = name == "vehicle" and m == "AML" and split == 0
                rows.append(
                    {
                        "dataset": name,
                        "method": m,
                        "split": split,
                        "error": math.nan if failed else float(rng.uniform(0.01, 0.3)),
                        "time": math.nan if failed else float(rng.uniform(0.03, 200)),
                        "preprocessing": "standardized",
                    }
                )
    return Records(
        "aml-table1", rows=rows, settings={"datasets": ["wine", "vehicle"], "methods": methods, "n_splits": 3}
    )


def test_every_table_of_the_aml_writers_has_aligned_columns(tmp_path):
    out = write_table1(_table1_records(), tmp_path)
    for path in (tmp_path / "aml_table1.csv", tmp_path / "aml_table1_time.csv"):
        assert_aligned(path)
    vehicle = next(r for r in out["table"].formatted_rows() if r[0] == "vehicle")
    assert vehicle[3].endswith("(2/3 splits)") and vehicle[-4:] == ["0.203", "0.235", "0.301", "0.234"]
    rng = np.random.default_rng(1)
    fpr = np.linspace(0, 1, 11)
    roc = Records(
        "aml-roc",
        rows=[
            {"dataset": "wine", "method": m, "auc": a, "fpr_at_tpr": f, "eer": e, "fpr": fpr, "tpr": np.sqrt(fpr)}
            for m, a, f, e in zip(
                ["Euclidean", "GMML", "AML"],
                [0.7753, 0.95, 0.9431],
                [0.9062, 0.73, 0.333],
                rng.uniform(0.1, 0.3, 3),
                strict=True,
            )
        ],
        settings={"datasets": ["wine"]},
    )
    write_roc(roc, tmp_path)
    assert_aligned(tmp_path / "aml_roc.csv")
    sens = Records(
        "aml-sensitivity",
        rows=[
            {"parameter": p, "value": v, "train error": 0.054 + 1e-3 * i, "test error": 0.09375 + 1e-3 * i}
            for p in ("alpha", "beta")
            for i, v in enumerate([1e-3, 1.0, 1e3])
        ],
        settings={"dataset": "mnist"},
    )
    write_sensitivity(sens, tmp_path)
    assert_aligned(tmp_path / "aml_sensitivity.csv")
    with open(tmp_path / "aml_sensitivity.csv", newline="") as fh:
        assert [row[1] for row in csv.reader(fh)][1:4] == ["1e-3", "1", "1e3"]


def test_the_overhead_table_has_aligned_columns_and_no_stray_backslash(tmp_path):
    rng = np.random.default_rng(2)
    rows = []
    for size in (100, 200, 500):
        scale = size / 100
        rows.append(
            {
                "batch size": size,
                "all": list(rng.uniform(1.3e-3, 1.5e-3, 5) * scale),
                "dpp": list(rng.uniform(2.5e-4, 2.8e-4, 5) * scale**2),
                "dpp_no_value": list(rng.uniform(2.5e-4, 2.7e-4, 5) * scale),
                "paths": {"dppsg*": 5},
                "alone": {k: list(rng.uniform(1e-4, 3e-3, 5) * scale) for k in ("dppsg*", "dppsg", "exact")},
            }
        )
    records = Records(
        "dpp-overhead",
        rows=rows,
        settings={"network": "784-200-2", "method": "dppsg*", "dtype": "float32", "n_repeats": 5},
    )
    out = write_dpp_overhead(records, tmp_path)
    assert_aligned(tmp_path / "dpp_overhead.csv")
    md = (tmp_path / "dpp_overhead.md").read_text(encoding="utf-8")
    assert "contrastive + DPP (dppsg*)" in md and "\\" not in md
    assert out["table"].columns[-1] == "paper DPP share (GPU)"


def test_a_section_heading_says_which_network_and_sweep_it_ran(tmp_path):
    from spectral_ml.experiments.report import write_report

    table = Table(["method", "mAP@10"], title="T")
    table.add_row("baseline", estimate([97.55, 97.02]))
    files = list(table.save(tmp_path, "t"))
    result = {"table": table, "files": files, "description": "DPP paper Table 1 with the paper's network"}
    text = write_report(
        {"dpp-retrieval": result},
        tmp_path,
        quick=True,
        seed=0,
        elapsed={"dpp-retrieval": 1.0},
        descriptions={"dpp-retrieval": "generic description"},
        environment=["Machine: test."],
    ).read_text(encoding="utf-8")
    assert "## dpp-retrieval: DPP paper Table 1 with the paper's network" in text
    assert "generic description" not in text
    assert "| baseline | 97.3 ± 0.3 |" in text
