"""Command line: the demo's content, argument errors, and the report writer."""

import io

import pytest

from spectral_ml import cli
from spectral_ml.experiments import Progress, Table, format_mean_std


def test_demo_shows_paths_and_separation(capsys):
    assert cli.main(["demo", "--n", "16", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith(("well spread", "half duplicated"))]
    paths = {(ln[:22].strip(), ln[22:31].strip()): ln[31:39].strip() for ln in lines}
    assert paths[("well spread", "auto")] == "exact"
    assert paths[("half duplicated", "auto")] in {"dppsg", "dppsg*"}
    before, after = out.split("|x0 - x1|")[1].split("->")
    assert float(after.strip().split()[0]) > float(before.strip())


def test_parser_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        cli.main(["no-such-command"])
    with pytest.raises(SystemExit):
        cli.main(["aml-table1", "--splits", "0"])
    assert "--splits" in capsys.readouterr().err


def test_every_experiment_has_a_subcommand():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in ("aml-table1", "aml-synthetic", "aml-roc", "aml-sensitivity", "dpp-retrieval", "dpp-overhead", "reproduce"):
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
    assert "![fig](fig.png)" in text
    assert "[t.csv](t.csv)" in text
    assert "| x | 1.5 |" in text
    assert "a note" in text
    assert "RuntimeError: boom" in text
    assert csv_path.read_text().splitlines() == ["a,b", "x,1.5"]


def test_table_and_formatting_errors():
    t = Table(["a"])
    with pytest.raises(ValueError, match="row has 2 values"):
        t.add_row(1, 2)
    with pytest.raises(ValueError, match="columns"):
        Table([])
    assert format_mean_std([0.1, 0.3]) == "0.200 ± 0.100"
    assert format_mean_std([]) == "n/a"


def test_progress_plain_stream():
    buf = io.StringIO()
    bar = Progress(4, "work", stream=buf)
    for _ in range(4):
        bar.update(info="x")
    lines = buf.getvalue().splitlines()
    assert lines[-1].startswith("work: 4/4")
    assert 1 <= len(lines) <= 5
