"""Runs that lose nothing: atomic replacement of --out, kept units, --resume, --jobs."""

import errno
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spectral_ml import _rundir, cli
from spectral_ml.experiments import _units
from spectral_ml.experiments._units import CheckpointMismatchError, UnitStore, run_protocol

from ._fake_experiments import cli_answer, fake_experiment, fake_protocol

# A Table 1 run on embedded data whose units take about a second each on one core.
TABLE1 = [
    "aml-table1",
    "--quick",
    "--datasets",
    "wine",
    "digits",
    "--splits",
    "3",
    "--methods",
    "euclidean",
    "gmml",
    "aml",
    "--no-progress",
]


def _hashes(directory: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()}


def _tables(directory: Path) -> dict:
    """The CSV and Markdown tables of a run, timing tables left out (their numbers are times)."""
    return {
        name: digest
        for name, digest in _hashes(directory).items()
        if name.endswith((".csv", ".md"))
        and name != "report.md"
        and "_time." not in name
        and not name.startswith("dpp_overhead")
    }


def _answer(argv, capsys):
    return cli_answer(cli, argv, capsys)


# --------------------------------------------------------------------------- the unit layer


def test_units_are_kept_as_they_finish_and_not_computed_again(tmp_path):
    calls = []

    def compute(key):
        calls.append(key)
        if key == (2,) and len(calls) == 3:
            raise KeyboardInterrupt
        return {"key": key[0], "square": key[0] ** 2}

    store = UnitStore(tmp_path / "units")
    protocol = fake_protocol("fake", 0, compute=compute, n_units=4)
    with pytest.raises(KeyboardInterrupt):
        run_protocol(protocol, store=store, progress=False)
    assert store.count(protocol.units) == 2 and (0,) in store and (1,) in store and (2,) not in store
    # Nothing half written: only the two units and the settings.
    assert sorted(p.suffix for p in store.directory.iterdir()) == [".json", ".pkl", ".pkl"]
    records = run_protocol(protocol, store=store, progress=False)
    assert calls == [(0,), (1,), (2,), (2,), (3,)]
    assert [r["square"] for r in records.rows] == [0, 1, 4, 9]


def test_a_store_refuses_units_of_other_settings(tmp_path):
    store = UnitStore(tmp_path)
    run_protocol(fake_protocol("fake", 0), store=store, progress=False)
    with pytest.raises(CheckpointMismatchError, match="seed=0, not seed=1"):
        run_protocol(fake_protocol("fake", 1), store=store, progress=False)


def test_a_unit_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    store = UnitStore(tmp_path).open(fake_protocol("fake", 0))

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_rundir.os, "fsync", lambda fd: full(fd, None))
    with pytest.raises(OSError, match="No space"):
        store.save((0,), {"value": 1})
    assert (0,) not in store and [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_threads_are_divided_among_the_jobs():
    assert _units.threads_per_job(2, cores=2) == 1
    assert _units.threads_per_job(1, cores=2) == 2
    assert _units.threads_per_job(3, cores=2) == 1
    assert _units.threads_per_job(2, cores=8) == 4


# --------------------------------------------------------------------------- the command line


def test_an_interrupted_overwrite_leaves_the_earlier_results_untouched(tmp_path, capsys, monkeypatch):
    out = tmp_path / "results"
    fake_experiment(monkeypatch, cli)
    assert cli.main(["aml-synthetic", "--out", str(out), "--seed", "1", "--jobs", "1"]) == 0
    (out / "mine.txt").write_text("the user's")
    before = _hashes(out)
    calls = []
    fake_experiment(monkeypatch, cli, fail=KeyboardInterrupt(), fail_at=2, calls=calls)
    code, err = _answer(["aml-synthetic", "--out", str(out), "--seed", "2", "--overwrite", "--jobs", "1"], capsys)
    assert code == 130 and _hashes(out) == before
    assert err.count("\n") == 1 and "2 of 3 units" in err and "--resume" in err and "untouched" in err
    work = tmp_path / "results.partial"
    assert work.is_dir()
    # The same command without --resume does not discard the kept units.
    code, err = _answer(["aml-synthetic", "--out", str(out), "--seed", "2", "--overwrite"], capsys)
    assert code == 2 and "--resume" in err and "2 unit(s) done" in err and _hashes(out) == before
    # Resumed, only the missing unit is computed; then the outputs are replaced, mine.txt kept.
    calls.clear()
    fake_experiment(monkeypatch, cli, calls=calls)
    assert cli.main(["aml-synthetic", "--out", str(out), "--seed", "2", "--overwrite", "--resume", "--jobs", "1"]) == 0
    assert calls == [(2,)]
    assert "seed 2" in (out / "report.md").read_text() and (out / "mine.txt").read_text() == "the user's"
    assert not work.exists()


@pytest.mark.parametrize("error", [RuntimeError("boom"), OSError(errno.ENOSPC, "No space left on device")])
def test_a_failed_overwrite_keeps_the_units_and_says_how_to_continue(error, tmp_path, capsys, monkeypatch):
    out = tmp_path / "results"
    fake_experiment(monkeypatch, cli)
    assert cli.main(["aml-synthetic", "--out", str(out), "--jobs", "1"]) == 0
    before = _hashes(out)
    fake_experiment(monkeypatch, cli, fail=error, fail_at=1)
    code, err = _answer(["aml-synthetic", "--out", str(out), "--overwrite", "--jobs", "1", "--seed", "3"], capsys)
    assert code == 1 and _hashes(out) == before
    assert err.count("\n") == 1 and "1 of 3 units" in err and "--resume" in err
    if isinstance(error, OSError):
        assert "no space left on device" in err


def test_a_full_disk_while_the_outputs_are_written_keeps_the_earlier_ones(tmp_path, capsys, monkeypatch):
    out = tmp_path / "results"
    fake_experiment(monkeypatch, cli)
    assert cli.main(["aml-synthetic", "--out", str(out), "--jobs", "1"]) == 0
    before = _hashes(out)
    write = cli._EXPERIMENTS["aml-synthetic"].write

    def full(records, staging):
        write(records, staging)
        raise OSError(errno.ENOSPC, "No space left on device", str(staging / "aml_synthetic.png"))

    monkeypatch.setattr(cli._EXPERIMENTS["aml-synthetic"], "write", full)
    code, err = _answer(["aml-synthetic", "--out", str(out), "--overwrite", "--jobs", "1", "--seed", "4"], capsys)
    assert code == 1 and _hashes(out) == before and "no space left" in err and "3 of 3 units" in err


def test_resume_with_other_options_is_refused(tmp_path, capsys, monkeypatch):
    out = tmp_path / "results"
    fake_experiment(monkeypatch, cli, fail=KeyboardInterrupt(), fail_at=1)
    assert _answer(["aml-synthetic", "--out", str(out), "--seed", "5", "--jobs", "1"], capsys)[0] == 130
    code, err = _answer(["aml-synthetic", "--out", str(out), "--seed", "6", "--resume"], capsys)
    assert code == 2 and err.count("\n") == 1 and "--seed was 5" in err and "now 6" in err
    code, err = _answer(["aml-roc", "--out", str(out), "--resume"], capsys)
    assert code == 2 and "spectral-ml aml-synthetic" in err
    code, err = _answer(["aml-synthetic", "--out", str(tmp_path / "other"), "--resume"], capsys)
    assert code == 2 and "no unfinished run" in err
    # --jobs, --threads and --no-progress do not change the results: they may differ.
    fake_experiment(monkeypatch, cli)
    assert (
        cli.main(
            [
                "aml-synthetic",
                "--out",
                str(out),
                "--seed",
                "5",
                "--resume",
                "--jobs",
                "2",
                "--threads",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )


def test_jobs_and_threads_beyond_the_cores_are_refused(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(_units, "available_cores", lambda: 2)
    code, err = _answer(["aml-synthetic", "--out", str(tmp_path / "o"), "--jobs", "2", "--threads", "2"], capsys)
    assert code == 2 and "--jobs 2 with --threads 2" in err and "2 core(s)" in err


def test_reproduce_with_a_failed_experiment_keeps_its_report_and_units(tmp_path, capsys, monkeypatch):
    out = tmp_path / "results"
    for name in cli._EXPERIMENTS:
        fake_experiment(
            monkeypatch, cli, name=name, fail=RuntimeError("boom") if name == "aml-roc" else None, fail_at=0
        )
    code, err = _answer(["reproduce", "--out", str(out), "--jobs", "1"], capsys)
    assert code == 1 and not out.exists()
    assert "aml-roc failed" in err and "--resume" in err and "17 of 18 units" in err
    report = (tmp_path / "results.partial" / "out" / "report.md").read_text()
    assert "RuntimeError: boom" in report
    for name in cli._EXPERIMENTS:
        fake_experiment(monkeypatch, cli, name=name)
    assert cli.main(["reproduce", "--out", str(out), "--resume", "--jobs", "1"]) == 0
    assert "boom" not in (out / "report.md").read_text()


# --------------------------------------------------------------------------- real runs, real signals


def _run(argv, tmp_path, **kwargs):
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.Popen(
        [sys.executable, "-m", "spectral_ml", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        **kwargs,
    )


def _wait_for_units(work: Path, n: int, proc, timeout=120):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if len(list(work.glob("units/*/*.pkl"))) >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before {n} units were kept: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError("no unit was kept in time")


@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_signal_keeps_the_earlier_results_and_resume_gives_the_same_tables(sig, code, word, tmp_path):
    straight, out = tmp_path / "straight", tmp_path / "results"
    proc = _run([*TABLE1, "--out", str(straight), "--jobs", "2"], tmp_path)
    assert proc.wait(timeout=300) == 0, proc.communicate()
    proc = _run([*TABLE1[:3], "wine", "--splits", "1", "--no-progress", "--out", str(out)], tmp_path)
    assert proc.wait(timeout=300) == 0, proc.communicate()
    before = _hashes(out)
    # The whole process group gets the signal, as from Ctrl-C in a terminal.
    proc = _run([*TABLE1, "--out", str(out), "--overwrite", "--jobs", "1"], tmp_path, start_new_session=True)
    _wait_for_units(tmp_path / "results.partial", 1, proc)
    os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"spectral-ml: {word}") and "--resume" in lines[0], err
    assert _hashes(out) == before
    proc = _run([*TABLE1, "--out", str(out), "--overwrite", "--resume", "--jobs", "2"], tmp_path)
    assert proc.wait(timeout=300) == 0, proc.communicate()
    assert _tables(out) == _tables(straight) and len(_tables(out)) == 2
    assert not (tmp_path / "results.partial").exists()


def test_jobs_do_not_change_the_tables(tmp_path):
    argv = ["reproduce", "--quick", "--datasets", "wine", "--splits", "2", "--no-progress"]
    for jobs in ("1", "2"):
        proc = _run([*argv, "--out", str(tmp_path / jobs), "--jobs", jobs], tmp_path)
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    assert _tables(tmp_path / "1") == _tables(tmp_path / "2")
    assert len(_tables(tmp_path / "1")) >= 10


@pytest.mark.parametrize(
    "command", ["aml-table1", "aml-synthetic", "aml-roc", "aml-sensitivity", "dpp-retrieval", "dpp-overhead"]
)
def test_each_experiment_resumes_to_the_tables_of_an_uninterrupted_run(command, tmp_path, capsys, monkeypatch):
    options = {
        "aml-table1": ["--quick", "--datasets", "wine", "--splits", "2", "--methods", "euclidean", "gmml", "aml"],
        "aml-roc": ["--quick", "--datasets", "wine", "digits"],
        "aml-sensitivity": ["--quick", "--dataset", "wine"],
        "dpp-retrieval": ["--quick", "--dataset", "wine"],
        "dpp-overhead": ["--quick"],
    }.get(command, [])
    argv = [command, *options, "--jobs", "1", "--no-progress"]
    assert cli.main([*argv, "--out", str(tmp_path / "straight")]) == 0
    compute = _units._compute_limited
    calls = []

    def interrupted_at_the_second_unit(*args):
        calls.append(args[2])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return compute(*args)

    monkeypatch.setattr(_units, "_compute_limited", interrupted_at_the_second_unit)
    out = tmp_path / "results"
    assert _answer([*argv, "--out", str(out)], capsys)[0] == 130
    assert not out.exists() and (tmp_path / "results.partial").is_dir()
    monkeypatch.setattr(_units, "_compute_limited", compute)
    capsys.readouterr()
    assert cli.main([*argv, "--out", str(out), "--resume"]) == 0
    assert _tables(out) == _tables(tmp_path / "straight")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in (tmp_path / "straight").iterdir())
