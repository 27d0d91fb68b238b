"""The command line's test helpers: a stand-in experiment (three units, a table and a figure) and
the answer of one command line."""

from spectral_ml.experiments import Records, Table
from spectral_ml.experiments._units import Protocol


def fake_protocol(name, seed, *, compute=None, n_units=3):
    """A protocol of ``n_units`` units whose result is ``compute(key)`` (default: the seed and key)."""
    compute = compute or (lambda key: {"seed": seed, "key": key[0]})
    return Protocol(
        name,
        {"seed": seed},
        [(i,) for i in range(n_units)],
        compute,
        lambda results: Records(name, rows=list(results.values()), settings={"seed": seed}),
    )


def fake_experiment(monkeypatch, cli, name="aml-synthetic", fail=None, fail_at=None, calls=None):
    """Replace ``name`` in the command line by a fake: its units may fail (``fail`` at unit
    ``fail_at``); ``calls`` collects the keys of the units computed."""

    def protocol(args):
        def compute(key):
            if calls is not None:
                calls.append(key)
            if fail is not None and key[0] == fail_at:
                raise fail
            return {"seed": args.seed, "key": key[0]}

        return fake_protocol(name, args.seed, compute=compute)

    def write(records, out):
        seed = records.settings["seed"]
        table = Table(["seed", "value"], title="fake")
        table.add_row(seed, 0.1 + 0.2)
        files = list(table.save(out, "aml_synthetic"))
        (out / "aml_synthetic.png").write_bytes(b"png of seed %d" % seed)
        files.append(out / "aml_synthetic.png")
        return {"table": table, "files": files, "notes": [f"seed {seed}"]}

    monkeypatch.setattr(cli._EXPERIMENTS[name], "protocol", protocol)
    monkeypatch.setattr(cli._EXPERIMENTS[name], "write", write)


def cli_answer(cli, argv, capsys):
    """Exit status and standard error of one command line."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err
