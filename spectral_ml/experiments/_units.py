"""Units of work: an experiment as independent pieces, checkpointed, run on several cores.

An experiment's protocol is a :class:`Protocol`: the list of its units (a data set and split,
a variant and seed, a batch size, ...), a function that computes one unit from its key
alone, and a function that assembles the units' results, in the order of the list, into
:class:`~spectral_ml.experiments.Records`. Because a unit depends on nothing but its key
and the protocol's settings,

* the units can run in any order and in parallel (:func:`run_protocol`, joblib processes,
  each with its share of the BLAS / OpenMP threads), with results identical to a run in
  turn;
* every finished unit can be kept (:class:`UnitStore`): an interrupted run resumes by
  computing only the units it does not have, and its tables are those of an uninterrupted
  run with the same settings.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Hashable, Mapping, Sequence

from ._progress import keep_alive, progress_bar
from ._records import Records

__all__ = [
    "Protocol",
    "UnitStore",
    "CheckpointMismatchError",
    "run_protocol",
    "unit_store",
    "write_atomically",
    "available_cores",
    "threads_per_job",
]


@dataclass
class Protocol:
    """An experiment as a list of independent units.

    Parameters
    ----------
    experiment : str
        Name of the experiment (``"aml-table1"``, ...).
    settings : dict
        Everything the units' results depend on besides their keys (plain data: str, int,
        float, bool, None, lists and dicts of them). A :class:`UnitStore` refuses to mix
        units computed with other settings.
    units : list of tuple
        The units' keys, in the order of the tables.
    compute : callable
        ``compute(key) -> result`` for one unit. It runs in another process when the
        protocol runs in parallel, so it must be picklable and must not rely on state that
        other units leave behind.
    assemble : callable
        ``assemble({key: result}) -> Records``, given every unit's result.
    parallel : bool, default=True
        Whether the units may run at the same time. Timing experiments set it to False: a
        unit running beside another would measure the other one too.
    unit_name : str, default="unit"
        What one unit is, for the progress bar ("split", "run", ...).
    threads : int, optional
        BLAS / OpenMP threads of every unit whatever the number of jobs (the DPP
        experiments' small products run fastest on one). Default: the cores divided among
        the jobs.
    """

    experiment: str
    settings: dict
    units: list
    compute: Callable[[tuple], Any]
    assemble: Callable[[Mapping[tuple, Any]], Records]
    parallel: bool = True
    unit_name: str = "unit"
    threads: int | None = None

    def __post_init__(self):
        self.units = [tuple(u) if isinstance(u, (list, tuple)) else (u,) for u in self.units]
        if len(set(self.units)) != len(self.units):
            raise ValueError(f"{self.experiment}: unit keys must be distinct.")


class CheckpointMismatchError(ValueError):
    """A checkpoint directory holds units computed with other settings."""

    def __init__(self, experiment: str, differences: Mapping[str, tuple]):
        self.experiment = experiment
        self.differences = dict(differences)
        name, (before, now) = next(iter(self.differences.items()))
        super().__init__(
            f"the checkpoints of {experiment} were computed with {name}={before!r}, not {name}={now!r}; "
            f"resume with the same settings or use another checkpoint directory."
        )


def _canonical(value):
    """Settings as JSON-comparable plain data (tuples become lists, keys strings)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _unit_file(key: tuple) -> str:
    """A file name for a unit key: readable, and unique through a digest of the key."""
    text = "-".join(str(part) for part in key)
    readable = re.sub(r"[^A-Za-z0-9_.+=-]+", "_", text)[:60].strip("_.") or "unit"
    digest = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:12]
    return f"{readable}.{digest}.pkl"


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the file is either complete or absent.

    The bytes go to a temporary file in the same directory, are flushed to the disk, and
    the file is renamed into place: a crash, an interrupt or a full disk in between leaves
    at most the temporary file, which is removed when the write fails.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class UnitStore:
    """The finished units of one experiment, kept in a directory as they finish.

    ``directory/settings.json`` holds the protocol's settings; every finished unit is one
    file ``directory/<key>.<digest>.pkl`` (pickle of its key and result, written
    atomically). Opening a store whose settings differ from the protocol's raises
    :class:`CheckpointMismatchError` naming the first setting that differs.

    The files are pickles: load only checkpoints you wrote yourself.

    Parameters
    ----------
    directory : path-like
        Where the units are kept (created if missing).
    """

    def __init__(self, directory):
        self.directory = Path(directory)

    def open(self, protocol: Protocol) -> UnitStore:
        """Bind the store to ``protocol``: write its settings, or check them against the stored ones."""
        self.directory.mkdir(parents=True, exist_ok=True)
        settings = _canonical(protocol.settings)
        path = self.directory / "settings.json"
        if path.is_file():
            stored = json.loads(path.read_text(encoding="utf-8"))
            keys = list(dict.fromkeys([*stored, *settings]))
            differences = {k: (stored.get(k), settings.get(k)) for k in keys if stored.get(k) != settings.get(k)}
            if differences:
                raise CheckpointMismatchError(protocol.experiment, differences)
        else:
            write_atomically(path, json.dumps(settings, sort_keys=True, indent=1).encode("utf-8"))
        return self

    def path(self, key: tuple) -> Path:
        return self.directory / _unit_file(key)

    def __contains__(self, key) -> bool:
        return self.path(key).is_file()

    def load(self, key: tuple):
        """The result of a finished unit (its key is checked against the file's)."""
        with open(self.path(key), "rb") as fh:
            stored_key, result = pickle.load(fh)
        if tuple(stored_key) != tuple(key):  # pragma: no cover - a digest collision
            raise ValueError(f"checkpoint {self.path(key)} holds unit {stored_key!r}, not {key!r}.")
        return result

    def save(self, key: tuple, result) -> None:
        """Keep the result of a finished unit (atomically: a unit is kept whole or not at all)."""
        write_atomically(self.path(key), pickle.dumps((tuple(key), result), protocol=pickle.HIGHEST_PROTOCOL))

    def count(self, keys: Sequence[tuple]) -> int:
        """How many of ``keys`` are finished."""
        return sum(key in self for key in keys)


def unit_store(checkpoints, experiment: str) -> UnitStore | None:
    """The store of ``experiment``: None, a :class:`UnitStore`, or ``checkpoints/experiment`` for a path."""
    if checkpoints is None or isinstance(checkpoints, UnitStore):
        return checkpoints
    return UnitStore(Path(checkpoints) / experiment)


def available_cores() -> int:
    """The cores this process may use (its CPU affinity and quota, as joblib reads them)."""
    from joblib import cpu_count

    return max(1, int(cpu_count()))


def threads_per_job(n_jobs: int, cores: int | None = None) -> int:
    """BLAS / OpenMP threads of each of ``n_jobs`` jobs, so that jobs × threads ≤ cores."""
    cores = available_cores() if cores is None else cores
    return max(1, cores // max(1, n_jobs))


def _limited(threads):
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=int(threads))


def _compute_limited(compute, key, threads):
    """One unit with the job's share of threads (PyTorch's own pool included, where loaded)."""
    import sys

    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch is not None else None
    try:
        if torch is not None:
            torch.set_num_threads(int(threads))
        with _limited(threads):
            return key, compute(key)
    finally:
        if torch is not None and previous is not None:
            torch.set_num_threads(previous)


def _check_jobs(n_jobs) -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive int, got {n_jobs!r}.")
    return n_jobs


def run_protocol(protocol: Protocol, *, store: UnitStore | None = None, n_jobs: int = 1,
                 threads: int | None = None, progress: bool = True) -> Records:
    """Compute the units of ``protocol`` that ``store`` lacks, keep each as it finishes, assemble.

    Parameters
    ----------
    protocol : Protocol
    store : UnitStore, optional
        Where finished units are kept and found again. Units already there are not
        computed again; each new one is saved the moment it finishes, so an interrupted run
        loses at most the units in progress.
    n_jobs : int, default=1
        Units computed at the same time, each in its own process (joblib); a protocol with
        ``parallel=False`` runs its units in turn whatever ``n_jobs``.
    threads : int, optional
        BLAS / OpenMP threads of each unit (default: ``protocol.threads``, else the cores
        divided among the jobs, :func:`threads_per_job`).
    progress : bool, default=True
        One progress bar for the experiment (on standard error, when it is a terminal).

    Returns
    -------
    Records
        ``protocol.assemble`` of every unit's result.
    """
    n_jobs = _check_jobs(n_jobs)
    if store is not None:
        store.open(protocol)
    results: dict[tuple, Any] = {}
    todo = []
    for key in protocol.units:
        if store is not None and key in store:
            results[key] = store.load(key)
        else:
            todo.append(key)
    jobs = min(n_jobs, len(todo)) if protocol.parallel else 1
    if threads is None:
        threads = protocol.threads if protocol.threads is not None else threads_per_job(max(jobs, 1))
    bar = progress_bar(len(protocol.units), protocol.experiment, enabled=progress, unit=protocol.unit_name)
    bar.update(len(results))

    def finished(key, result):
        if store is not None:
            store.save(key, result)
        results[key] = result
        bar.set_postfix_str(" ".join(str(part) for part in key), refresh=False)
        bar.update()

    with bar, keep_alive(bar):
        if jobs <= 1:
            for key in todo:
                finished(*_compute_limited(protocol.compute, key, threads))
        else:
            from joblib import Parallel, delayed

            # Results come back as they finish, so each is kept at once; the order of the
            # tables is the order of protocol.units, whatever the order of completion.
            parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
            for key, result in parallel(delayed(_compute_limited)(protocol.compute, key, threads) for key in todo):
                finished(key, result)
    return protocol.assemble({key: results[key] for key in protocol.units})
