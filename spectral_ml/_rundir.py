"""The output directory of a command-line run, and the working directory beside it.

A run never writes into ``--out`` while it computes. It works in ``<out>.partial``, a new
directory beside ``--out`` (so on the same file system), which holds

* ``run.json``: the command, its options, the package version and the start time;
* ``units/<experiment>/``: every finished unit of work, kept the moment it finishes
  (``spectral_ml.experiments._units.UnitStore``);
* ``out/``: the tables, figures and ``report.md``, written once every unit is done.

Only a run that has completed moves its files into ``--out``, by renames, after moving the
earlier run's outputs out of the way (into ``replaced/``, removed last). Until then
``--out`` is untouched, whatever happens: an exception, an interrupt, a full disk. A run
that stops early keeps its working directory; ``--resume`` continues it, computing only
the units it lacks.

The module imports nothing beyond the standard library at load time: the command line
imports it before anything else, and a Ctrl-C in those first instants must meet the
command line's handler, not an import's traceback.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

__all__ = ["UsageError", "RunDirectory", "deferred_signals", "is_our_report", "write_atomically"]

#: Suffix of the working directory beside ``--out``.
PARTIAL_SUFFIX = ".partial"


class UsageError(Exception):
    """A user's mistake: reported in one line with exit status 2, never with a traceback."""


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


def is_our_report(path: Path, title: str) -> bool:
    """Whether ``path`` is a ``report.md`` that spectral-ml wrote: its first line is ``title``."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.readline().strip() == title
    except (OSError, UnicodeDecodeError):
        return False


@contextlib.contextmanager
def deferred_signals(reraise: bool = True) -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the body runs; they take effect after it (``reraise``).

    Used around the renames that replace the earlier outputs: they take microseconds, and a
    signal between two of them would leave ``--out`` half old, half new. Once they are done
    the run is complete, so :meth:`RunDirectory.commit` lets a late signal go.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    handlers = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handlers[sig] = signal.signal(sig, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        if reraise:
            for signum in received[:1]:
                signal.raise_signal(signum)


def _describe_option(name: str) -> str:
    return "--" + name.replace("_", "-")


class RunDirectory:
    """``--out`` and its working directory: checked before any work, replaced only at the end.

    Parameters
    ----------
    text : str
        The ``--out`` argument.
    overwrite : bool
        Accept a non-empty ``--out``: at the end, the outputs of an earlier run there
        (``patterns``) are replaced; every other file is kept.
    resume : bool
        Continue the unfinished run kept in the working directory.
    command : str
        The subcommand (``"aml-table1"``, ``"reproduce"``, ...).
    options : mapping
        The options that decide the results (compared on ``--resume``).
    patterns : iterable of str
        File patterns of this program's outputs in ``--out``.
    version : str
        The package version (a run is resumed only by the version that started it).
    report_title : str
        First line of the ``report.md`` files this program writes: only such a report is
        replaced; a ``report.md`` of the user's is never touched.
    """

    def __init__(
        self,
        text: str,
        *,
        overwrite: bool,
        resume: bool,
        command: str,
        options: Mapping,
        patterns: Iterable[str],
        version: str,
        report_title: str,
    ):
        if not text.strip():
            raise UsageError("--out must name a directory, got an empty string")
        self.path = Path(os.path.abspath(Path(text).expanduser()))
        self.shown = text
        self.work = self.path.with_name(self.path.name + PARTIAL_SUFFIX)
        self.overwrite = overwrite
        self.resume = resume
        self.command = command
        self.options = json.loads(json.dumps(dict(options), sort_keys=True, default=str))
        self.patterns = tuple(patterns)
        self.version = version
        self.report_title = report_title
        self.created: list[Path] = []
        self._lock = None

    # ------------------------------------------------------------------ paths
    @property
    def checkpoints(self) -> Path:
        """Where the finished units are kept (one directory per experiment)."""
        return self.work / "units"

    @property
    def staging(self) -> Path:
        """Where this run writes its tables, figures and report before they replace the earlier ones."""
        return self.work / "out"

    def units_done(self) -> int:
        """Finished units kept in the working directory."""
        if not self.checkpoints.is_dir():
            return 0
        return sum(1 for _ in self.checkpoints.glob("*/*.pkl"))

    # ------------------------------------------------------------------ before the run
    def prepare(self) -> None:
        """Check ``--out`` and set up (or reopen, with ``resume``) the working directory."""
        path = self.path
        if path.exists() and not path.is_dir():
            raise UsageError(f"--out {self.shown!r} is a file, not a directory; name a directory (new or empty)")
        if path.is_dir():
            content = sorted(p.name for p in path.iterdir())
            if content and not self.overwrite:
                shown = ", ".join(content[:3]) + (", ..." if len(content) > 3 else "")
                raise UsageError(
                    f"--out {self.shown!r} is not empty ({len(content)} entries: {shown}); name a new or "
                    f"empty directory, or add --overwrite to replace the outputs of an earlier run"
                )
            report = path / "report.md"
            if report.exists() and not is_our_report(report, self.report_title):
                raise UsageError(
                    f"--out {self.shown!r} holds a report.md that spectral-ml did not write; this run "
                    f"would replace it, and --overwrite removes only this program's outputs, not "
                    f"yours: move it away or name another --out"
                )
            self._check_writable(path)
        if self.work.exists() and not self.work.is_dir():
            raise UsageError(
                f"{str(self.work)!r} is a file; this run keeps its work in a directory of that name "
                f"beside --out: move the file away"
            )
        if self.work.is_dir():
            self._reopen()
        else:
            if self.resume:
                raise UsageError(
                    f"--resume: there is no unfinished run for --out {self.shown!r} (no "
                    f"{str(self.work)!r}); run the command without --resume"
                )
            self._create()

    def _check_writable(self, directory: Path):
        try:
            with tempfile.TemporaryFile(dir=directory):
                pass
        except OSError as exc:
            raise UsageError(
                f"--out {self.shown!r}: cannot write in {str(directory)!r} ({exc.strerror}); name a writable directory"
            ) from exc

    def _create(self):
        parent = self.work.parent
        missing = []
        while not parent.exists():
            missing.append(parent)
            if parent.parent == parent:
                break
            parent = parent.parent
        if not parent.is_dir():
            raise UsageError(f"--out {self.shown!r}: {str(parent)!r} is a file, not a directory")
        self._check_writable(parent)
        for p in [*reversed(missing), self.work]:
            try:
                p.mkdir()
            except OSError as exc:
                self._remove_created()
                raise UsageError(
                    f"--out {self.shown!r}: cannot create {str(p)!r} ({exc.strerror}); name a writable directory"
                ) from exc
            self.created.append(p)
        self._lock_work()
        record = {
            "command": self.command,
            "options": self.options,
            "version": self.version,
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
        }
        write_atomically(self.work / "run.json", json.dumps(record, indent=1, sort_keys=True).encode("utf-8"))

    def _reopen(self):
        done = self.units_done()
        try:
            record = json.loads((self.work / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = None
        if not self.resume:
            what = f"`spectral-ml {record['command']}`" if record else "a run"
            raise UsageError(
                f"an unfinished {what} is kept in {str(self.work)!r} ({done} unit(s) done): continue "
                f"it with the same command and --resume, or remove that directory to start afresh"
            )
        if record is None:
            raise UsageError(
                f"--resume: {str(self.work / 'run.json')!r} is missing or unreadable, so the settings "
                f"of the unfinished run are unknown; remove {str(self.work)!r} and start afresh"
            )
        if record["command"] != self.command:
            raise UsageError(
                f"--resume: the unfinished run in {str(self.work)!r} is `spectral-ml {record['command']}`, "
                f"not `spectral-ml {self.command}`; resume it with that command"
            )
        if record.get("version") != self.version:
            raise UsageError(
                f"--resume: the unfinished run was made by spectral-ml {record.get('version')}, this is "
                f"{self.version}; its units cannot be mixed with this version's: remove "
                f"{str(self.work)!r} and start afresh"
            )
        before = record.get("options", {})
        for name in sorted(set(before) | set(self.options)):
            if before.get(name) != self.options.get(name):
                raise UsageError(
                    f"--resume: {_describe_option(name)} was {_shown(before.get(name))} in the "
                    f"unfinished run, now {_shown(self.options.get(name))}; resume with the same "
                    f"options, or remove {str(self.work)!r} to start afresh"
                )
        self._lock_work()
        self._restore_replaced()
        if self.staging.exists():
            shutil.rmtree(self.staging)

    def _lock_work(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX: no lock
            return
        fh = open(self.work / "lock", "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise UsageError(
                f"another spectral-ml run is working in {str(self.work)!r}; wait for it to finish or name another --out"
            ) from None
        self._lock = fh

    def _restore_replaced(self):
        """Put back earlier outputs that an interrupted replacement had moved aside."""
        replaced = self.work / "replaced"
        if not replaced.is_dir():
            return
        for p in replaced.iterdir():
            if not (self.path / p.name).exists():
                os.replace(p, self.path / p.name)
        shutil.rmtree(replaced, ignore_errors=True)

    # ------------------------------------------------------------------ after the run
    def _earlier_outputs(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        found = []
        for pattern in self.patterns:
            found += [p for p in self.path.glob(pattern) if p.is_file() and p not in found]
        # "report.md" is a common name: only a report this program wrote is replaced.
        return [p for p in found if p.name != "report.md" or is_our_report(p, self.report_title)]

    def commit(self) -> None:
        """Replace the earlier outputs in ``--out`` by this run's, by renames; remove the working directory.

        Signals are held back during the renames; if a rename fails, the ones done are
        undone, so ``--out`` holds either the earlier outputs or this run's.
        """
        new = sorted(self.staging.iterdir()) if self.staging.is_dir() else []
        if not self.path.is_dir():
            self.path.mkdir()
        replaced = self.work / "replaced"
        with deferred_signals(reraise=False):
            replaced.mkdir(exist_ok=True)
            moved_old, moved_new = [], []
            try:
                for p in self._earlier_outputs():
                    os.replace(p, replaced / p.name)
                    moved_old.append(p)
                for p in new:
                    os.replace(p, self.path / p.name)
                    moved_new.append(p)
            except OSError:
                for p in reversed(moved_new):
                    with contextlib.suppress(OSError):
                        os.replace(self.path / p.name, p)
                for p in reversed(moved_old):
                    with contextlib.suppress(OSError):
                        os.replace(replaced / p.name, p)
                raise
            self._release()
            shutil.rmtree(self.work, ignore_errors=True)

    def abandon(self) -> int:
        """After a failed or interrupted run: keep the working directory if it holds finished
        units, else remove it (and the directories created for it). Returns the units kept."""
        done = self.units_done()
        self._release()
        if done == 0 and not self.staging.is_dir():
            shutil.rmtree(self.work, ignore_errors=True)
            self._remove_created()
        return done

    def _release(self):
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.close()
            self._lock = None

    def _remove_created(self):
        for p in reversed(self.created):
            if p.is_dir():
                with contextlib.suppress(OSError):
                    p.rmdir()


def _shown(value) -> str:
    if value is None:
        return "not given"
    if isinstance(value, list):
        return " ".join(map(str, value)) or "empty"
    return str(value)
