"""Output helpers of the experiments: tables as CSV and Markdown, figures as PNG, progress."""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from pathlib import Path
from typing import Iterable, Sequence

__all__ = ["Table", "Progress", "save_figure", "format_mean_std"]


def format_mean_std(values: Sequence[float], digits: int = 3) -> str:
    """Format a sample as ``mean ± std`` (population std of the repeats)."""
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not vals:
        return "n/a"
    mean = sum(vals) / len(vals)
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals))
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


class Table:
    """A small table written both as CSV (for machines) and as Markdown (for the report).

    Parameters
    ----------
    columns : sequence of str
        Column names.
    title : str, optional
        Heading used in the Markdown rendering.
    """

    def __init__(self, columns: Sequence[str], title: str | None = None):
        if not columns:
            raise ValueError("columns must not be empty.")
        self.columns = list(columns)
        self.title = title
        self.rows: list[list] = []

    def add_row(self, *values) -> None:
        """Append a row; its length must match the columns."""
        if len(values) != len(self.columns):
            raise ValueError(f"row has {len(values)} values, expected {len(self.columns)}.")
        self.rows.append(list(values))

    @staticmethod
    def _cell(v) -> str:
        if isinstance(v, float):
            return "n/a" if math.isnan(v) else f"{v:.4g}"
        return str(v)

    def to_markdown(self) -> str:
        """Render as a GitHub-flavoured Markdown table."""
        lines = []
        if self.title:
            lines += [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("| " + " | ".join("---" for _ in self.columns) + " |")
        for row in self.rows:
            lines.append("| " + " | ".join(self._cell(v) for v in row) + " |")
        return "\n".join(lines) + "\n"

    def save(self, out_dir: str | os.PathLike, stem: str) -> tuple[Path, Path]:
        """Write ``stem.csv`` and ``stem.md`` into ``out_dir``; return both paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        csv_path, md_path = out / f"{stem}.csv", out / f"{stem}.md"
        with open(csv_path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(self.columns)
            writer.writerows(self.rows)
        md_path.write_text(self.to_markdown(), encoding="utf-8")
        return csv_path, md_path


def save_figure(fig, out_dir: str | os.PathLike, stem: str, dpi: int = 120) -> Path:
    """Save a matplotlib Figure as ``stem.png`` in ``out_dir`` and return the path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


class Progress:
    """A dependency-free progress bar on standard error.

    Draws in place on a terminal and prints sparse plain lines otherwise (logs, CI), so long
    runs show they are alive without flooding the output.

    Parameters
    ----------
    total : int
        Number of steps.
    desc : str
        Label shown before the bar.
    enabled : bool, default=True
        Draw nothing when False.
    stream : file, optional
        Where to draw; standard error by default.
    """

    def __init__(self, total: int, desc: str = "", enabled: bool = True, stream=None):
        self.total = max(int(total), 1)
        self.desc = desc
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.count = 0
        self.start = time.perf_counter()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_pct = -1

    def update(self, n: int = 1, info: str = "") -> None:
        """Advance by ``n`` steps, showing ``info`` beside the bar."""
        self.count = min(self.count + n, self.total)
        if not self.enabled:
            return
        frac = self.count / self.total
        elapsed = time.perf_counter() - self.start
        eta = elapsed / frac - elapsed if frac > 0 else float("nan")
        if self._tty:
            width = 24
            bar = "#" * int(round(frac * width))
            self.stream.write(
                f"\r{self.desc} [{bar:<{width}s}] {self.count}/{self.total} "
                f"{elapsed:5.0f}s eta {eta:4.0f}s {info[:40]:<40s}"
            )
            if self.count == self.total:
                self.stream.write("\n")
            self.stream.flush()
        else:
            pct = int(frac * 10) * 10
            if pct != self._last_pct or self.count == self.total:
                self._last_pct = pct
                self.stream.write(f"{self.desc}: {self.count}/{self.total} ({elapsed:.0f}s) {info}\n")
                self.stream.flush()

    def __iter__(self):  # pragma: no cover - convenience
        return self

    def wrap(self, iterable: Iterable):
        """Yield from ``iterable``, advancing once per item."""
        for item in iterable:
            yield item
            self.update()
