"""Progress bars of the experiments (tqdm, on standard error)."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["progress_bar", "keep_alive"]


def progress_bar(
    total: int, desc: str, *, enabled: bool = True, unit: str = "step", position: int | None = None
) -> Any:
    """A tqdm bar on standard error, drawn only when ``enabled`` and standard error is a terminal.

    Logs and CI get no bar: carriage-return animations only make them unreadable. Bars of
    experiments that run at the same time take one line each (``position``).
    """
    from tqdm.auto import tqdm

    stream = sys.stderr
    show = enabled and bool(getattr(stream, "isatty", lambda: False)())
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=stream,
        disable=not show,
        dynamic_ncols=True,
        leave=True,
        position=position,
    )


@contextlib.contextmanager
def keep_alive(bar: Any, interval: float = 5.0) -> Iterator[None]:
    """Redraw ``bar`` every ``interval`` seconds while the body runs.

    A single fit can take minutes; the redraw keeps the elapsed time moving beside the name
    of what is running, so the run visibly is alive.
    """
    if getattr(bar, "disable", True):
        yield
        return
    stop = threading.Event()

    def redraw():
        while not stop.wait(interval):
            bar.refresh()

    thread = threading.Thread(target=redraw, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
