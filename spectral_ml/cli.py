"""Command-line interface ``spectral-ml`` (also ``python -m spectral_ml``).

Each experiment subcommand writes CSV + Markdown tables, PNG figures and a ``report.md``
into ``--out``; ``reproduce`` runs them all into one report. Everything a user can get wrong
(arguments, data files, the output directory) is checked before any computing starts and
answered in one line ``spectral-ml: error: ...`` with exit status 2; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import math
import os
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spectral_ml._cli_data import (
    EMBEDDED_TABLE1,
    check_data,
    check_metric_learn,
    check_network,
    data_directory,
    network,
    roc_datasets,
    single_dataset,
    table1_datasets,
    unique,
)
from spectral_ml._demo import show_dpp_demo
from spectral_ml._rundir import RunDirectory, UsageError

__all__ = ["main", "build_parser", "write_report", "UsageError", "EMBEDDED_TABLE1"]

#: Largest accepted seed: experiments add split and seed offsets, and scikit-learn takes
#: seeds below 2**32.
_MAX_SEED = 2**31 - 1

#: Command-line names of the Table 1 learners.
_METHOD_NAMES = {
    "euclidean": "Euclidean",
    "gmml": "GMML",
    "aml": "AML",
    "aml-riemannian": "AML (riemannian)",
    "gmml-local": "GMML (local)",
    "aml-local": "AML (local)",
    "aml-cv": "AML-CV",
    "nca": "NCA",
    "itml": "ITML",
    "lmnn": "LMNN",
}


class _Parser(argparse.ArgumentParser):
    """argparse answering a mistake in one line (the usage is one ``--help`` away)."""

    def error(self, message):
        self.exit(2, f"spectral-ml: error: {message} (see `{self.prog} --help`)\n")


# --------------------------------------------------------------------------- argument types


def _int_in(name: str, low: int, high: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"at least {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def _positive_float(name: str, upper: float | None = None):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text!r}")
        if upper is not None and value > upper:
            raise argparse.ArgumentTypeError(f"must lie in (0, {upper:g}], got {text!r}")
        return value

    parse.__name__ = name
    return parse


def _pca(text: str):
    if text in ("cv", "none"):
        return None if text == "none" else "cv"
    try:
        return _int_in("--pca", 1)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, none or cv, got {text!r}") from None


def _standardize(text: str):
    choices = {"on": True, "off": False, "cv": "cv"}
    if text not in choices:
        raise argparse.ArgumentTypeError(f"must be on, off or cv, got {text!r}")
    return choices[text]


# --------------------------------------------------------------------------- experiments


@dataclass
class _Experiment:
    #: protocol(args) -> the experiment's units (spectral_ml.experiments._units.Protocol).
    protocol: Callable
    #: write(records, out) -> what the experiment's report section shows (tables, files, notes).
    write: Callable
    description: str
    #: Data sets (name, split) the command reads with these arguments.
    data: Callable = field(default=lambda args: [])
    #: File patterns of its outputs in --out.
    outputs: tuple = ()


def _progress(args) -> bool:
    return not args.no_progress


def _blas_threads(args, default=1):
    return args.threads if args.threads is not None else default


def _table1_protocol(args):
    from spectral_ml.experiments.aml import table1_protocol

    methods = None if not args.methods else [_METHOD_NAMES[m] for m in args.methods]
    n_splits = args.splits or (3 if args.quick else 20)
    return table1_protocol(
        table1_datasets(args),
        n_splits=n_splits,
        quick=args.quick,
        seed=args.seed,
        data_dir=data_directory(args)[0],
        methods=methods,
        standardize=args.standardize,
        pca=args.pca,
    )


def _synthetic_protocol(args):
    from spectral_ml.experiments.aml import synthetic_protocol

    return synthetic_protocol(seed=args.seed)


def _roc_protocol(args):
    from spectral_ml.experiments.aml import roc_protocol

    return roc_protocol(roc_datasets(args), seed=args.seed, quick=args.quick, data_dir=data_directory(args)[0])


def _sensitivity_protocol(args):
    from spectral_ml.experiments.aml import sensitivity_protocol

    return sensitivity_protocol(
        single_dataset(args), seed=args.seed, quick=args.quick, data_dir=data_directory(args)[0]
    )


def _retrieval_protocol(args):
    from spectral_ml.experiments.dpp import retrieval_protocol

    seeds = tuple(range(args.seed, args.seed + (1 if args.quick else 3)))
    return retrieval_protocol(
        single_dataset(args),
        seeds=seeds,
        quick=args.quick,
        data_dir=data_directory(args)[0],
        blas_threads=_blas_threads(args),
        network=network(args),
        device=getattr(args, "device", "cpu"),
        thetas=getattr(args, "theta", None),
        dpp_weights=getattr(args, "dpp_weight", None),
    )


def _overhead_protocol(args):
    from spectral_ml.experiments.dpp import overhead_protocol

    return overhead_protocol(quick=args.quick, random_state=args.seed, blas_threads=_blas_threads(args))


def _retrieval_data(args):
    name = single_dataset(args)
    return [(name, "train"), (name, "test")] if name == "mnist" else [(name, "all")]


def _writer(name):
    def write(records, out):
        from spectral_ml.experiments import report

        return getattr(report, name)(records, out)

    return write


_EXPERIMENTS = {
    "aml-table1": _Experiment(
        _table1_protocol,
        _writer("write_table1"),
        "AML paper Table 1: 5-NN error over random 80/20 splits",
        lambda args: [(n, "all") for n in table1_datasets(args)],
        ("aml_table1.*", "aml_table1_time.*"),
    ),
    "aml-synthetic": _Experiment(
        _synthetic_protocol,
        _writer("write_synthetic"),
        "AML paper Fig. 3: GMML vs AML on the synthetic set",
        outputs=("aml_synthetic.*",),
    ),
    "aml-roc": _Experiment(
        _roc_protocol,
        _writer("write_roc"),
        "ROC curves and AUC of pair verification on held-out pairs",
        lambda args: [(n, "all") for n in roc_datasets(args)],
        ("aml_roc.*", "aml_roc_*.png"),
    ),
    "aml-sensitivity": _Experiment(
        _sensitivity_protocol,
        _writer("write_sensitivity"),
        "AML paper Fig. 5: error against alpha and beta",
        lambda args: [(single_dataset(args), "all")],
        ("aml_sensitivity.*", "aml_sensitivity_*.png"),
    ),
    "dpp-retrieval": _Experiment(
        _retrieval_protocol,
        _writer("write_dpp_retrieval"),
        "DPP paper Table 1 and Fig. 1: retrieval mAP with 2-D features",
        _retrieval_data,
        ("dpp_retrieval_*.csv", "dpp_retrieval_*.md", "dpp_retrieval_*.png"),
    ),
    "dpp-overhead": _Experiment(
        _overhead_protocol,
        _writer("write_dpp_overhead"),
        "DPP paper Table 6: DPP time vs whole training step",
        outputs=("dpp_overhead.*",),
    ),
}

#: Files of any spectral-ml run in an output directory (what --overwrite replaces).
_OUTPUT_PATTERNS = ("report.md", *(p for e in _EXPERIMENTS.values() for p in e.outputs))


def write_report(
    results: Mapping[str, Any], out: str | os.PathLike[str], *, quick: bool, seed: int, elapsed: Mapping[str, float]
) -> Path:
    """Write ``report.md`` in ``out``: every table inline, every figure linked, the machine,
    threads and versions (see :func:`spectral_ml.experiments.report.write_report`)."""
    from spectral_ml.experiments.report import write_report as write

    descriptions = {name: e.description for name, e in _EXPERIMENTS.items()}
    return write(results, Path(out), quick=quick, seed=seed, elapsed=elapsed, descriptions=descriptions)


# --------------------------------------------------------------------------- jobs and threads

#: Options that do not change what a run computes: --resume may differ in them.
_NOT_SETTINGS = {"command", "func", "out", "overwrite", "resume", "jobs", "threads", "no_progress", "debug"}


def _jobs_and_threads(args):
    """(jobs, BLAS threads per job or None): jobs x threads stays within the cores."""
    from spectral_ml.experiments._units import available_cores

    cores = available_cores()
    jobs = args.jobs
    if jobs is None:
        jobs = max(1, cores // args.threads) if args.threads else cores
    elif args.threads and jobs * args.threads > cores:
        raise UsageError(
            f"--jobs {jobs} with --threads {args.threads} asks for {jobs * args.threads} threads, "
            f"more than the {cores} core(s) this process may use; lower --jobs or --threads"
        )
    return jobs, args.threads


def _settings(args) -> dict:
    options = {k: v for k, v in vars(args).items() if k not in _NOT_SETTINGS}
    options["data_dir"] = data_directory(args)[0]
    return options


# --------------------------------------------------------------------------- commands


def _print_result(res) -> None:
    for key in ("table", "timing"):
        if key in res:
            print(res[key].to_markdown())
    for note in res.get("notes", []):
        print(f"note: {note}")


def _cmd_demo(args) -> int:
    """Show the DPP term, its gradient and the path taken on batches with and without duplicates."""
    show_dpp_demo(n=args.n, sigma=args.sigma, seed=args.seed)
    return 0


def _run_experiments(names, args) -> int:
    """Run experiments in the working directory beside --out, then replace --out's outputs; the exit status."""
    from spectral_ml import __version__
    from spectral_ml.datasets import DatasetFileError, DatasetNotFoundError
    from spectral_ml.experiments._units import CheckpointMismatchError, UnitStore, run_protocols
    from spectral_ml.experiments.report import REPORT_TITLE

    jobs, threads = _jobs_and_threads(args)
    run = RunDirectory(
        args.out,
        overwrite=args.overwrite,
        resume=args.resume,
        command=args.command,
        options=_settings(args),
        patterns=_OUTPUT_PATTERNS,
        version=__version__,
        report_title=REPORT_TITLE,
    )
    for name in names:
        check_data(_EXPERIMENTS[name].data(args), args)
    protocols = {name: _EXPERIMENTS[name].protocol(args) for name in names}
    total = sum(len(p.units) for p in protocols.values())
    run.prepare()
    results, elapsed, failed = {}, {}, []

    def done(name, outcome):
        """Write an experiment's tables and figures as soon as its units are all done."""
        experiment = _EXPERIMENTS[name]
        elapsed[name] = outcome.seconds
        try:
            if outcome.error is not None:
                raise outcome.error
            run.staging.mkdir(exist_ok=True)
            results[name] = experiment.write(outcome.records, run.staging)
        except (DatasetFileError, DatasetNotFoundError, OSError):
            raise
        except Exception as exc:
            if len(names) == 1 or args.debug:
                raise
            # reproduce keeps going: the report says what failed.
            results[name] = exc
            failed.append(name)

    try:
        try:
            run_protocols(
                protocols,
                stores={name: UnitStore(run.checkpoints / name) for name in names},
                n_jobs=jobs,
                threads=threads,
                progress=_progress(args),
                on_done=done,
                stop_on_error=len(names) == 1 or args.debug,
            )
        except CheckpointMismatchError as exc:
            setting, (before, now) = next(iter(exc.differences.items()))
            raise UsageError(
                f"--resume: {exc.experiment}'s {setting} was {before!r} in the unfinished run, now "
                f"{now!r} (the data directory or its files changed?); restore them, or remove "
                f"{str(run.work)!r} to start afresh"
            ) from exc
        run.staging.mkdir(exist_ok=True)
        ordered = {name: results[name] for name in names if name in results}
        # Printed once every progress bar is done: text between the bars would tear them.
        for name, result in ordered.items():
            if len(names) > 1:
                print(f"\n== {name}: {_EXPERIMENTS[name].description}", flush=True)
            if isinstance(result, BaseException):
                print(f"{name} failed: {type(result).__name__}: {result}", file=sys.stderr, flush=True)
            else:
                _print_result(result)
        report = write_report(
            ordered, run.staging, quick=getattr(args, "quick", False), seed=args.seed, elapsed=elapsed
        )
        if failed:
            raise _Unfinished(f"{', '.join(failed)} failed (see above); the report so far is {str(report)!r}")
        run.commit()
    except BaseException as exc:
        # What was kept, for main's one-line message.
        setattr(exc, "units", (run.abandon(), total, run))  # noqa: B010 - any exception, even KeyboardInterrupt
        raise
    out = run.path
    print(f"\nReport written to {out / 'report.md'}" if len(names) > 1 else f"\nResults written to {out}")
    return 0


class _Unfinished(Exception):
    """A reproduce run in which some experiment failed: nothing replaces --out, the units are kept."""


def _kept(exc) -> str:
    """What a run that stopped early kept, and how to continue it."""
    done, total, run = getattr(exc, "units", (0, 0, None))
    if run is None:
        return ""
    where = f"--out {run.shown!r} is untouched"
    if done == 0:
        return f"; no unit of work had finished, nothing was kept, and {where}"
    return (
        f"; {done} of {total} units of work are kept in {str(run.work)!r} and {where}: run the same command "
        f"with --resume to continue"
    )


def _cmd_reproduce(args) -> int:
    return _run_experiments(list(_EXPERIMENTS), args)


def _single(name):
    def run(args):
        return _run_experiments([name], args)

    return run


# --------------------------------------------------------------------------- parser


def _options(parser, names, *, command):
    """Add the named options (only those the command uses) to a subcommand's parser."""
    if "out" in names:
        parser.add_argument(
            "--out", default="spectral_ml_results", help="output directory, new or empty (default: spectral_ml_results)"
        )
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="accept a non-empty --out: once this run has completed, its tables, figures and "
            "report.md replace those of an earlier run there (other files are kept)",
        )
        parser.add_argument(
            "--resume",
            action="store_true",
            help="continue an interrupted or failed run with the same options: only the units of "
            "work it had not finished are computed (they are kept in OUT.partial)",
        )
    if "quick" in names:
        parser.add_argument("--quick", action="store_true", help="reduced settings that finish in minutes")
    parser.add_argument(
        "--seed", type=_int_in("--seed", 0, _MAX_SEED), default=0, help="random seed, 0 to 2^31-1 (default: 0)"
    )
    if "datasets" in names:
        parser.add_argument(
            "--datasets",
            nargs="+",
            metavar="NAME",
            help="data sets: embedded (wine, breast_cancer, digits, iris) or NAME.npz in the "
            "data directory" + ("; the first one for the one-dataset experiments" if command == "reproduce" else ""),
        )
    if "dataset" in names:
        parser.add_argument(
            "--dataset",
            metavar="NAME",
            help="data set: embedded (digits, wine, breast_cancer, iris) or NAME.npz in the data "
            "directory (default: mnist when its file is there and not --quick, else digits)",
        )
    if "data-dir" in names:
        parser.add_argument("--data-dir", metavar="DIR", help="data directory (default: $SPECTRAL_ML_DATA)")
    if "network" in names:
        parser.add_argument(
            "--network",
            choices=("perceptron", "paper-cnn"),
            default="perceptron",
            help="feature network: the NumPy perceptron 784-200-2 (default), or the paper's "
            "convolutional network in PyTorch (needs the torch extra; MNIST only)",
        )
        parser.add_argument(
            "--device",
            default="cpu",
            metavar="DEVICE",
            help="PyTorch device of --network paper-cnn: cpu (default), cuda or cuda:N",
        )
        for flag, hi, what in (("--theta", 1.0, "step theta of DPPSG*"), ("--dpp-weight", None, "DPP weight")):
            sweep = f"a sweep of the {what}: DPPSG* trained with each value and the baseline, *_theta.csv and .png"
            parser.add_argument(flag, nargs="+", type=_positive_float(flag, hi), metavar="X", help=sweep)
    if "table1" in names:
        where = " of aml-table1" if command == "reproduce" else ""
        parser.add_argument(
            "--splits",
            type=_int_in("--splits", 1),
            metavar="N",
            help=f"random 80/20 splits{where} (default: 20, quick: 3)",
        )
        parser.add_argument(
            "--methods",
            nargs="+",
            choices=list(_METHOD_NAMES),
            metavar="METHOD",
            help=f"learners{where}, of {', '.join(_METHOD_NAMES)}: gmml-local and aml-local learn "
            "from local pairs (each sample's nearest same-class and other-class samples), aml-cv "
            "chooses random or local pairs by cross-validation (default: all available; not with "
            "--quick: itml and lmnn, from metric-learn, gmml-local and aml-local)",
        )
        parser.add_argument(
            "--standardize",
            type=_standardize,
            default="cv",
            metavar="{on,off,cv}",
            help=f"standardize the features{where} on each training part, or let 3-fold "
            "cross-validation of GMML choose (default: cv)",
        )
        parser.add_argument(
            "--pca",
            type=_pca,
            default="cv",
            metavar="{N,none,cv}",
            help=f"principal components kept{where}, none, or chosen by cross-validation among "
            "none, 50 and 100 (default: cv)",
        )
    parser.add_argument(
        "--threads",
        type=_int_in("--threads", 1),
        metavar="N",
        help="BLAS and OpenMP threads"
        + (
            " of each job (default: the cores divided among the jobs; the DPP experiments use 1)"
            if "out" in names
            else " (default: the libraries' own)"
        ),
    )
    if "out" in names:
        parser.add_argument(
            "--jobs",
            type=_int_in("--jobs", 1),
            metavar="N",
            help="units of work computed at the same time, each in its own process (default: the "
            "cores this process may use, divided by --threads); the results do not depend "
            "on it",
        )
    if "out" in names:
        parser.add_argument(
            "--no-progress",
            action="store_true",
            help="no progress display on standard error (it is shown only on a terminal)",
        )
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``spectral-ml``."""
    from spectral_ml import __version__

    parser = _Parser(
        prog="spectral-ml",
        description="Spectral metric learning: DPP diversity with proper sub-gradients, GMML and AML. "
        "Reproduces the papers' tables and figures.",
    )
    parser.add_argument("--version", action="version", version=f"spectral-ml {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="show the DPP term and its (sub-)gradient on a small batch",
        description="Show the DPP diversity term, its gradient and the path taken (exact gradient "
        "or proper sub-gradient) on batches with and without duplicated points.",
    )
    demo.add_argument("--n", type=_int_in("--n", 2, 2000), default=16, help="batch size, 2 to 2000 (default: 16)")
    demo.add_argument("--sigma", type=_positive_float("--sigma"), default=0.2, help="kernel width (default: 0.2)")
    _options(demo, set(), command="demo")
    demo.set_defaults(func=_cmd_demo)

    options = {
        "aml-table1": {"out", "quick", "datasets", "data-dir", "table1"},
        "aml-synthetic": {"out"},
        "aml-roc": {"out", "quick", "datasets", "data-dir"},
        "aml-sensitivity": {"out", "quick", "dataset", "data-dir"},
        "dpp-retrieval": {"out", "quick", "dataset", "data-dir", "network"},
        "dpp-overhead": {"out", "quick"},
    }
    for name, experiment in _EXPERIMENTS.items():
        p = sub.add_parser(name, help=experiment.description, description=experiment.description + ".")
        _options(p, options[name], command=name)
        p.set_defaults(func=_single(name))
    rep = sub.add_parser(
        "reproduce",
        help="run every experiment and write report.md",
        description="Run every experiment in turn (aml-table1, aml-synthetic, aml-roc, aml-sensitivity, "
        "dpp-retrieval, dpp-overhead) into --out and write report.md there: every table, with the "
        "papers' figures beside ours, every figure, and the machine, threads and package versions. "
        "An experiment that fails does not stop the others; the report says what failed and the "
        "exit status is 1.",
    )
    _options(rep, {"out", "quick", "datasets", "data-dir", "table1"}, command="reproduce")
    rep.set_defaults(func=_cmd_reproduce)
    return parser


def _threads(n):
    if n is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # Ctrl-C while the libraries load, before a run has begun: nothing to keep or report.
        if "--debug" in (sys.argv[1:] if argv is None else argv):
            raise
        print("spectral-ml: interrupted before any work had started; nothing was written", file=sys.stderr)
        return 130


def _main(argv):
    from spectral_ml.datasets import DatasetFileError, DatasetNotFoundError

    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # The root parser would report these and point at the root help; the options in
        # question are the subcommand's.
        parser.exit(
            2,
            f"spectral-ml: error: {args.command} does not take {' '.join(unknown)} "
            f"(see `spectral-ml {args.command} --help`)\n",
        )
    os.environ.setdefault("MPLBACKEND", "Agg")
    previous_sigterm = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: SIGTERM keeps its handler
        previous_sigterm = signal.getsignal(signal.SIGTERM)
    try:
        if getattr(args, "datasets", None):
            unique(args.datasets, "--datasets")
        if getattr(args, "methods", None):
            unique(args.methods, "--methods")
            check_metric_learn(args.methods)
        check_network(args)
        with _threads(args.threads):
            return args.func(args)
    except (UsageError, DatasetNotFoundError, DatasetFileError) as exc:
        if args.debug:
            raise
        print(f"spectral-ml: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of the output went away (`spectral-ml demo | head`): nothing to report.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt as exc:
        if args.debug:
            raise
        what = "terminated" if isinstance(exc, _Terminated) else "interrupted"
        print(f"spectral-ml: {what}{_kept(exc)}", file=sys.stderr)
        return 143 if isinstance(exc, _Terminated) else 130
    except _Unfinished as exc:
        print(f"spectral-ml: error: {exc}{_kept(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:
        if args.debug:
            raise
        reason = "no space left on device" if exc.errno == errno.ENOSPC else f"{type(exc).__name__}: {exc}"
        where = f" ({exc.filename})" if exc.errno == errno.ENOSPC and exc.filename else ""
        print(f"spectral-ml: error: {reason}{where}{_kept(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"spectral-ml: error: {type(exc).__name__}: {exc}{_kept(exc)} (run again with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that a terminated run keeps its finished units and says so."""


def _raise_terminated(signum, frame):
    raise _Terminated()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
