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
import pickle
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._rundir import write_atomically
from ._progress import keep_alive, progress_bar
from ._records import Records

__all__ = [
    "Protocol",
    "UnitStore",
    "CheckpointMismatchError",
    "run_protocol",
    "run_protocols",
    "ProtocolRun",
    "unit_store",
    "available_cores",
    "threads_per_job",
    "check_blas_threads",
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

    def load(self, key: tuple) -> tuple[Any, Any]:
        """The result of a finished unit and the seconds it took (its key is checked against the file's)."""
        with open(self.path(key), "rb") as fh:
            stored_key, result, seconds = pickle.load(fh)
        if tuple(stored_key) != tuple(key):  # pragma: no cover - a digest collision
            raise ValueError(f"checkpoint {self.path(key)} holds unit {stored_key!r}, not {key!r}.")
        return result, seconds

    def save(self, key: tuple, result: Any, seconds: float = float("nan")) -> None:
        """Keep the result of a finished unit (atomically: a unit is kept whole or not at all)."""
        data = pickle.dumps((tuple(key), result, float(seconds)), protocol=pickle.HIGHEST_PROTOCOL)
        write_atomically(self.path(key), data)

    def count(self, keys: Sequence[tuple]) -> int:
        """How many of ``keys`` are finished."""
        return sum(key in self for key in keys)


def unit_store(checkpoints: Any, experiment: str) -> UnitStore | None:
    """The store of ``experiment``: None, a :class:`UnitStore`, or ``checkpoints/experiment`` for a path."""
    if checkpoints is None or isinstance(checkpoints, UnitStore):
        return checkpoints
    return UnitStore(Path(checkpoints) / experiment)


def check_blas_threads(blas_threads: Any) -> Any:
    """``blas_threads`` checked: a positive int or None (leave the threads as they are)."""
    if blas_threads is not None and (
        isinstance(blas_threads, bool) or not isinstance(blas_threads, int) or blas_threads < 1
    ):
        raise ValueError(f"blas_threads must be a positive int or None, got {blas_threads!r}.")
    return blas_threads


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


class _UnitFailure:
    """A unit that raised: its exception travels back as a value, so the other units go on."""

    def __init__(self, exc):
        self.exc = exc


def _compute_limited(name, compute, key, threads):
    """One unit with the job's share of threads (PyTorch's own pool included, where loaded).

    Returns ``(name, key, result, seconds)``; an exception of the unit is returned as a
    :class:`_UnitFailure`. Interrupts are not caught.
    """
    import sys

    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch is not None else None
    start = time.perf_counter()
    try:
        if torch is not None:
            torch.set_num_threads(int(threads))
        with _limited(threads):
            result = compute(key)
    except Exception as exc:
        result = _UnitFailure(exc)
    finally:
        if torch is not None and previous is not None:
            torch.set_num_threads(previous)
    return name, key, result, time.perf_counter() - start


def _check_jobs(n_jobs) -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive int, got {n_jobs!r}.")
    return n_jobs


@dataclass
class ProtocolRun:
    """What :func:`run_protocols` gives for one protocol.

    Attributes
    ----------
    records : Records or None
        The assembled records (None if a unit failed).
    error : Exception or None
        The first exception of a failed unit.
    seconds : float
        Computing time of the protocol's units, added up (the units kept from an earlier
        run count with the time they took then).
    """

    records: Records | None = None
    error: BaseException | None = None
    seconds: float = 0.0


def run_protocols(
    protocols: Mapping[str, Protocol],
    *,
    stores: Mapping[str, UnitStore] | None = None,
    n_jobs: int = 1,
    threads: int | None = None,
    progress: bool = True,
    on_done: Callable[[str, ProtocolRun], None] | None = None,
    stop_on_error: bool = False,
) -> dict[str, ProtocolRun]:
    """Run several protocols' units in one pool of jobs, so that they overlap.

    The units of every parallel protocol go to the same ``n_jobs`` processes (the longest
    protocols first), so that no core waits for the last units of one experiment while the
    next one could start. Protocols with ``parallel=False`` (timings) run afterwards, one
    unit at a time, with no other unit beside them. Each protocol has its progress bar.

    Parameters
    ----------
    protocols : mapping of str to Protocol
    stores : mapping of str to UnitStore, optional
        Where each protocol's finished units are kept and found again.
    n_jobs, threads, progress
        As for :func:`run_protocol`.
    on_done : callable, optional
        ``on_done(name, run)`` as soon as a protocol's units are all done (or one failed).
    stop_on_error : bool, default=False
        Stop at the first failed unit and raise its exception (the units finished until
        then are kept); otherwise a failed protocol is reported in its :class:`ProtocolRun`
        and the others go on.

    Returns
    -------
    dict of str to ProtocolRun
        In the order of ``protocols``.
    """
    n_jobs = _check_jobs(n_jobs)
    stores = dict(stores or {})
    runs = {name: ProtocolRun() for name in protocols}
    results: dict[str, dict] = {name: {} for name in protocols}
    todo: dict[str, list] = {}
    for name, protocol in protocols.items():
        store = stores.get(name)
        if store is not None:
            store.open(protocol)
        todo[name] = []
        for key in protocol.units:
            if store is not None and key in store:
                results[name][key], seconds = store.load(key)
                runs[name].seconds += seconds
            else:
                todo[name].append(key)
    bars = {
        name: progress_bar(len(p.units), name, enabled=progress, unit=p.unit_name, position=i)
        for i, (name, p) in enumerate(protocols.items())
    }
    for name, bar in bars.items():
        bar.update(len(results[name]))

    def finish(name):
        protocol = protocols[name]
        if runs[name].error is None:
            runs[name].records = protocol.assemble({key: results[name][key] for key in protocol.units})
        if on_done is not None:
            on_done(name, runs[name])

    def finished(name, key, result, seconds):
        run = runs[name]
        if isinstance(result, _UnitFailure):
            if stop_on_error:
                raise result.exc
            if run.error is None:
                run.error = result.exc
        else:
            if name in stores:
                stores[name].save(key, result, seconds)
            results[name][key] = result
            run.seconds += seconds
            bars[name].set_postfix_str(" ".join(str(part) for part in key), refresh=False)
        bars[name].update()
        pending[name] -= 1
        if pending[name] == 0:
            finish(name)

    pending = {name: len(keys) for name, keys in todo.items()}
    parallel = [n for n, p in protocols.items() if p.parallel]
    serial = [n for n in protocols if n not in parallel]
    tasks = []
    # The protocols with the most units first: their tail is the one worth overlapping.
    for name in sorted(parallel, key=lambda n: -len(todo[n])):
        tasks += [(name, key) for key in todo[name]]
    jobs = min(n_jobs, len(tasks))
    with contextlib.ExitStack() as stack:
        # Closed in their order on the screen (an ExitStack would close the last one first).
        stack.callback(lambda: [bar.close() for bar in bars.values()])
        for bar in bars.values():
            stack.enter_context(keep_alive(bar))
        for name in protocols:
            if pending[name] == 0:
                finish(name)

        def threads_of(name):
            if threads is not None:
                return threads
            protocol = protocols[name]
            return protocol.threads if protocol.threads is not None else threads_per_job(max(jobs, 1))

        if jobs <= 1:
            for name, key in tasks:
                finished(*_compute_limited(name, protocols[name].compute, key, threads_of(name)))
        else:
            from joblib import Parallel, delayed

            # Results come back as they finish, so each is kept at once; the order of the
            # tables is the order of protocol.units, whatever the order of completion.
            pool = Parallel(n_jobs=jobs, return_as="generator_unordered")
            for outcome in pool(
                delayed(_compute_limited)(name, protocols[name].compute, key, threads_of(name)) for name, key in tasks
            ):
                finished(*outcome)
        for name in serial:
            protocol = protocols[name]
            for key in todo[name]:
                finished(
                    *_compute_limited(
                        name,
                        protocol.compute,
                        key,
                        threads if threads is not None else protocol.threads or available_cores(),
                    )
                )
    return runs


def run_protocol(
    protocol: Protocol,
    *,
    store: UnitStore | None = None,
    n_jobs: int = 1,
    threads: int | None = None,
    progress: bool = True,
) -> Records:
    """Compute the units of ``protocol`` that ``store`` lacks, keep each as it finishes, assemble.

    Parameters
    ----------
    protocol : Protocol
    store : UnitStore, optional
        Where finished units are kept and found again. Units already there are not
        computed again; each new one is saved the moment it finishes, so an interrupted or
        failed run loses at most the units in progress.
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

    Raises
    ------
    Exception
        The first exception raised by a unit (the units finished before it are kept).
    """
    name = protocol.experiment
    runs = run_protocols(
        {name: protocol},
        stores=None if store is None else {name: store},
        n_jobs=n_jobs,
        threads=threads,
        progress=progress,
        stop_on_error=True,
    )
    records = runs[name].records
    assert records is not None  # stop_on_error raised the unit's exception otherwise
    return records
