"""The one rounding rule of the results tables, and the table that applies it.

Every number a table shows is rounded where the table is written (CSV and Markdown alike,
and so on the documentation's results page, which shows the CSV cell for cell): a column's
decimals are those that give its smallest magnitude three significant figures, and every
number of the column, a standard deviation included, has that many decimals. A mean ± std
is an :class:`Estimate`, rounded with its column; a difference of two measurements takes
the decimals of the measurement, ratios that span decades are written in scientific
notation, integers stay integers and text (names, percentages, the papers' numbers as the
papers print them) is written as given. The hyper-parameters of a grid are labels,
written by :func:`format_parameter` in the short scientific form.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "SIGNIFICANT_FIGURES",
    "Estimate",
    "Table",
    "decimals_for",
    "estimate",
    "finite",
    "format_mean_std",
    "format_parameter",
]

#: Significant figures of the measured numbers in the tables: of the smallest magnitude in
#: each column, every number of the column then having that many decimals.
SIGNIFICANT_FIGURES = 3


class Estimate(NamedTuple):
    """A measured number of a table: one value, or the mean and standard deviation of repeats.

    :class:`Table` rounds it where it is written, with the other numbers of its column;
    ``note`` follows it (``"(3/5 splits)"``).
    """

    value: float
    std: float | None = None
    note: str = ""


def finite(values: Any) -> list[float]:
    """The values that are neither None nor NaN, as floats."""
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def estimate(values: Sequence[float], note: str = "") -> Estimate:
    """The mean and population standard deviation of a sample, NaN entries (failed runs) left out.

    A single value has no standard deviation; an empty sample is NaN (written ``n/a``).
    """
    vals = finite(values)
    if not vals:
        return Estimate(math.nan, None, note)
    mean = sum(vals) / len(vals)
    if len(vals) == 1:
        return Estimate(mean, None, note)
    return Estimate(mean, math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals)), note)


def decimals_for(value: float, significant: int = SIGNIFICANT_FIGURES) -> int:
    """The decimals that show ``significant`` significant figures of ``value``.

    0 for zero, NaN, infinity and numbers of ``significant`` digits or more before the point.

    Examples
    --------
    >>> from spectral_ml.experiments.report import decimals_for
    >>> decimals_for(0.0375), decimals_for(2.55), decimals_for(173.2)
    (4, 2, 0)
    """
    value = abs(float(value))
    if value == 0 or not math.isfinite(value):
        return 0
    # The exponent after rounding: 0.09996 has three figures as 0.100, not as 0.0999(6).
    exponent = math.floor(math.log10(value))
    if float(f"{value:.{max(significant - 1, 0)}e}") >= 10.0 ** (exponent + 1):
        exponent += 1
    return max(0, significant - 1 - exponent)


def _number(value: float, decimals: int) -> str:
    if not math.isfinite(value):
        return "n/a"
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def format_mean_std(values: Sequence[float], significant: int = SIGNIFICANT_FIGURES) -> str:
    """Format a sample as ``mean ± std`` (population std of the repeats) on its own.

    The mean has ``significant`` significant figures and the std the same decimals; NaN
    entries (failed runs) are left out, a single value is shown alone and an empty sample as
    ``n/a``. In a :class:`Table`, give :func:`estimate` instead: the column then shares its
    decimals.

    Examples
    --------
    >>> from spectral_ml.experiments import format_mean_std
    >>> format_mean_std([93.26, 93.72, 94.38])
    '93.8 ± 0.5'
    """
    cell = estimate(values)
    return _format_cell(cell, decimals_for(cell.value, significant))


def _format_cell(cell: Estimate, decimals: int) -> str:
    text = _number(cell.value, decimals)
    if cell.std is not None and math.isfinite(cell.value):
        text += f" ± {_number(cell.std, decimals)}"
    return f"{text} {cell.note}" if cell.note else text


def _scientific(value: float, significant: int) -> str:
    """``8.05e-2``: ``significant`` figures, the exponent without its padding."""
    mantissa, exponent = f"{value:.{significant - 1}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_number(v) -> bool:
    return isinstance(v, (Estimate, float, np.floating)) or _is_int(v)


class Table:
    """A small table written both as CSV (for machines) and as Markdown (for the report).

    The numbers are rounded where the table is written, the same in both renderings, by one
    rule: each column's decimals are those that give its smallest magnitude
    ``significant`` significant figures, and every number of the column, a standard
    deviation included, has that many decimals (``0.155`` and ``2.550``, never ``2.55``
    beside ``16.40``). NaN is ``n/a``; a column of integers stays integers; text cells
    (names, the papers' figures as they print them, percentages) are written as given.

    Parameters
    ----------
    columns : sequence of str
        Column names.
    title : str, optional
        Heading used in the Markdown rendering.
    significant : int, default=3
        Significant figures of each column's smallest magnitude.
    decimals_from : mapping of str to str, optional
        Columns whose decimals are those of another column rather than their own: a
        difference of two measurements (``"mAP@10 − baseline"``) has the decimals of the
        measurement (``"mAP@10"``), since its smallest magnitude, near zero, has no
        significant figures to give.
    scientific : sequence of str, optional
        Columns of numbers that span decades (ratios), written as ``8.05e-2``: each with
        ``significant`` significant figures, the standard deviation left out.

    Examples
    --------
    >>> from spectral_ml.experiments import Table
    >>> from spectral_ml.experiments.report import estimate
    >>> t = Table(["method", "time (s)", "error"])
    >>> t.add_row("A", 0.155, estimate([0.25, 0.29]))
    >>> t.add_row("B", 16.4, estimate([0.031, 0.033]))
    >>> t.formatted_rows()
    [['A', '0.155', '0.2700 ± 0.0200'], ['B', '16.400', '0.0320 ± 0.0010']]
    """

    def __init__(
        self,
        columns: Sequence[str],
        title: str | None = None,
        significant: int = SIGNIFICANT_FIGURES,
        *,
        decimals_from: Mapping[str, str] | None = None,
        scientific: Sequence[str] = (),
    ):
        if not columns:
            raise ValueError("columns must not be empty.")
        if isinstance(significant, bool) or not isinstance(significant, int) or significant < 1:
            raise ValueError(f"significant must be a positive int, got {significant!r}.")
        self.columns = list(columns)
        self.decimals_from = dict(decimals_from or {})
        self.scientific = list(scientific)
        for name in [*self.decimals_from, *self.decimals_from.values(), *self.scientific]:
            if name not in self.columns:
                raise ValueError(f"{name!r} is not a column of the table.")
        self.title = title
        self.significant = significant
        self.rows: list[list] = []

    def add_row(self, *values: Any) -> None:
        """Append a row; its length must match the columns."""
        if len(values) != len(self.columns):
            raise ValueError(f"row has {len(values)} values, expected {len(self.columns)}.")
        self.rows.append(list(values))

    def _column_decimals(self, j: int) -> int | None:
        """The decimals of column ``j``'s numbers, or None for a column of integers (or none)."""
        numbers = [row[j] for row in self.rows if _is_number(row[j])]
        if all(_is_int(v) for v in numbers):
            return None
        values = [float(v.value if isinstance(v, Estimate) else v) for v in numbers]
        return max((decimals_for(v, self.significant) for v in values), default=0)

    def formatted_rows(self) -> list[list[str]]:
        """The rows as the CSV and the Markdown show them."""
        own = {name: self._column_decimals(j) for j, name in enumerate(self.columns)}
        decimals = [own[self.decimals_from.get(name, name)] for name in self.columns]
        out = []
        for row in self.rows:
            cells = []
            for name, v, d in zip(self.columns, row, decimals, strict=True):
                if name in self.scientific and _is_number(v):
                    value = float(v.value if isinstance(v, Estimate) else v)
                    cells.append("n/a" if not math.isfinite(value) else _scientific(value, self.significant))
                elif _is_int(v) and d is None:
                    cells.append(str(int(v)))
                elif _is_number(v):
                    cell = v if isinstance(v, Estimate) else Estimate(float(v))
                    cells.append(_format_cell(cell, d or 0))
                else:
                    cells.append(str(v))
            out.append(cells)
        return out

    def to_markdown(self) -> str:
        """Render as a GitHub-flavoured Markdown table."""
        lines = []
        if self.title:
            lines += [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("| " + " | ".join("---" for _ in self.columns) + " |")
        for cells in self.formatted_rows():
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def save(self, out_dir: str | os.PathLike, stem: str) -> tuple[Path, Path]:
        """Write ``stem.csv`` and ``stem.md`` into ``out_dir``; return both paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        csv_path, md_path = out / f"{stem}.csv", out / f"{stem}.md"
        with open(csv_path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(self.columns)
            writer.writerows(self.formatted_rows())
        md_path.write_text(self.to_markdown(), encoding="utf-8")
        return csv_path, md_path


def format_parameter(value: float) -> str:
    """A hyper-parameter of a grid as text that ``float`` reads back: ``1e-3``, ``3e-4``, ``1``, ``1e3``.

    The short scientific form, without a decimal point for the powers of ten and their
    multiples, so that a grid spanning decades reads as one (``1e-1`` beside ``1e-3``).

    Examples
    --------
    >>> from spectral_ml.experiments.report import format_parameter
    >>> [format_parameter(v) for v in (1e-3, 3e-4, 1.0, 1000.0, 0.8, 2.5e-5)]
    ['1e-3', '3e-4', '1', '1e3', '8e-1', '2.5e-5']
    """
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    exponent = math.floor(math.log10(abs(value)))
    mantissa = f"{value / 10.0**exponent:.6g}"
    if mantissa.lstrip("-") == "10":  # 9.9999999e-4 read as 10e-4
        mantissa, exponent = mantissa.replace("10", "1"), exponent + 1
    return mantissa if exponent == 0 else f"{mantissa}e{exponent}"
