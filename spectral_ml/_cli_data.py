"""What a command-line run reads: its data sets, network and baselines, checked before any work.

Every data set an experiment will read is opened (headers and labels only) before any
computing starts, so that a missing file, a corrupt archive or too few classes is one line
naming the fix, not a failure an hour into the run.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from spectral_ml._rundir import UsageError

__all__ = [
    "EMBEDDED_TABLE1",
    "check_data",
    "check_metric_learn",
    "check_network",
    "data_directory",
    "network",
    "roc_datasets",
    "single_dataset",
    "table1_datasets",
    "unique",
    "warn",
]

#: Datasets of the AML Table 1 protocol that ship with scikit-learn (always available).
EMBEDDED_TABLE1 = ("wine", "breast_cancer", "digits")


def warn(message: str) -> None:
    print(f"spectral-ml: warning: {message}", file=sys.stderr)


def data_directory(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The data directory and where it came from (``--data-dir`` or the environment)."""
    from spectral_ml.datasets import DATA_ENV_VAR

    if getattr(args, "data_dir", None):
        return args.data_dir, "--data-dir"
    env = os.environ.get(DATA_ENV_VAR)
    return (env, f"${DATA_ENV_VAR}") if env else (None, None)


def table1_datasets(args: argparse.Namespace) -> list[str]:
    """Datasets for aml-table1: --datasets, else embedded sets plus every file in the data dir."""
    if args.datasets:
        return list(args.datasets)
    from spectral_ml.datasets import EMBEDDED_DATASETS, list_datasets
    from spectral_ml.experiments.aml import PAPER_TABLE1

    names = list(EMBEDDED_TABLE1)
    data_dir = data_directory(args)[0]
    if data_dir and os.path.isdir(data_dir):
        files = [n for n in list_datasets(data_dir) if n not in EMBEDDED_DATASETS]
        ordered = [n for n in PAPER_TABLE1 if n in files] + sorted(n for n in files if n not in PAPER_TABLE1)
        if args.quick:
            ordered = [n for n in ordered if n != "mnist"]
        names += ordered
    return names


def roc_datasets(args: argparse.Namespace) -> list[str]:
    return (
        list(args.datasets)
        if args.datasets
        else (["digits", "wine"] if args.quick else ["digits", "wine", "breast_cancer"])
    )


def single_dataset(args: argparse.Namespace) -> str:
    """Dataset of a one-dataset experiment: --dataset (or the first of --datasets), else the
    papers' MNIST when its file is there (not in --quick mode), else the embedded digits."""
    chosen = getattr(args, "dataset", None) or (args.datasets[0] if getattr(args, "datasets", None) else None)
    if chosen:
        return chosen
    if network(args) == "paper-cnn":
        return "mnist"
    data_dir = data_directory(args)[0]
    if not args.quick and data_dir and os.path.isfile(os.path.join(data_dir, "mnist.npz")):
        return "mnist"
    return "digits"


def network(args: argparse.Namespace) -> str:
    return getattr(args, "network", None) or "perceptron"


def check_network(args: argparse.Namespace) -> None:
    """--network paper-cnn needs PyTorch and MNIST's 28 x 28 images; --device names a usable device."""
    device = getattr(args, "device", "cpu")
    if network(args) != "paper-cnn":
        if device != "cpu":
            raise UsageError(
                f"--device {device} places the paper's network: use it with --network paper-cnn "
                "(the perceptron runs in NumPy on the CPU)"
            )
        return
    try:
        import torch  # noqa: F401 - only to learn whether PyTorch is installed
    except ImportError:
        raise UsageError(
            "--network paper-cnn needs PyTorch: install the torch extra "
            "(pip install 'spectral-ml[torch]') or use --network perceptron"
        ) from None
    if single_dataset(args) != "mnist":
        raise UsageError(
            f"--network paper-cnn trains on MNIST's 28 x 28 images, not {single_dataset(args)!r}: "
            "use --dataset mnist (or leave --dataset out)"
        )
    from spectral_ml.torch._device import check_device

    try:
        check_device(device, name="--device")
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def check_data(names_and_splits: Any, args: argparse.Namespace) -> None:
    """Check every data set a command will read, before any computing (headers and labels only)."""
    from spectral_ml.datasets import EMBEDDED_DATASETS, DatasetFileError, DatasetNotFoundError, check_dataset

    if not names_and_splits:
        return
    data_dir, origin = data_directory(args)
    needs_file = any(name not in EMBEDDED_DATASETS for name, _ in names_and_splits)
    if data_dir and not os.path.isdir(data_dir):
        if os.path.exists(data_dir):
            raise UsageError(
                f"the data directory {data_dir!r} ({origin}) is not a directory; name the directory "
                f"that holds the .npz files"
            )
        if needs_file:
            raise UsageError(
                f"the data directory {data_dir!r} ({origin}) does not exist; set --data-dir or "
                f"SPECTRAL_ML_DATA to the directory that holds the .npz files"
            )
        warn(
            f"the data directory {data_dir!r} ({origin}) does not exist; only the embedded data sets "
            f"({', '.join(EMBEDDED_DATASETS)}) are available"
        )
    for name, split in names_and_splits:
        try:
            info = check_dataset(name, data_dir=data_dir, split=split)
        except DatasetNotFoundError as exc:
            raise UsageError(_not_found(name, data_dir, origin)) from exc
        except DatasetFileError as exc:
            raise UsageError(str(exc)) from exc
        except ValueError as exc:  # an invalid name
            raise UsageError(f"--datasets: {exc}") from exc
        if info.n_classes < 2:
            raise UsageError(f"data set {name!r} has {info.n_classes} class; the experiments need at least two")
        if info.min_class_count < 2:
            raise UsageError(
                f"data set {name!r} has a class with a single row; every class needs at least two rows "
                f"for a stratified split"
            )
        if info.n_samples < 10:
            raise UsageError(f"data set {name!r} has {info.n_samples} rows; the experiments need at least 10")


def _not_found(name, data_dir, origin) -> str:
    from spectral_ml.datasets import list_datasets

    known = ", ".join(list_datasets(data_dir if data_dir and os.path.isdir(data_dir) else os.devnull))
    if not data_dir:
        return (
            f"unknown data set {name!r}: no data directory is set for {name}.npz; put the file in a directory "
            f"and pass --data-dir DIR (or set SPECTRAL_ML_DATA). Available: {known}"
        )
    return (
        f"unknown data set {name!r}: no file {name}.npz in the data directory {data_dir!r} ({origin}); put it "
        f"there or pass --data-dir DIR naming the directory that holds it. Available: {known}"
    )


def check_metric_learn(methods: Any) -> None:
    wanted = [m for m in methods if m in ("itml", "lmnn")]
    if wanted:
        from spectral_ml.experiments.aml import metric_learn_learners

        reason = metric_learn_learners()[1]
        if reason is not None:
            raise UsageError(
                f"--methods {' '.join(wanted)} needs the package metric-learn: {reason}; install it "
                f"or leave {' and '.join(wanted)} out"
            )


def unique(names: Sequence[str], option: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise UsageError(f"{option} names {name!r} twice")
        seen.add(name)
