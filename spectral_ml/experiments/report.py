"""From the experiments' records to tables, figures and ``report.md``.

The experiments (:mod:`~spectral_ml.experiments.aml`, :mod:`~spectral_ml.experiments.dpp`)
measure and return :class:`~spectral_ml.experiments.Records`: plain data, nothing rounded,
nothing written. This module is the only place that formats them: it rounds the numbers
where they are written (CSV and Markdown alike), draws the figures through
:mod:`spectral_ml.plotting`, and writes the ``report.md`` of a run with the machine, the
threads and the package versions it ran with. A new experiment adds one ``write_*`` function
here and keeps its protocol free of file formats.
"""

from __future__ import annotations

import csv
import math
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ._paper import AML_PAPER_TABLE1, DPP_PAPER_TABLE1, DPP_PAPER_TABLE6, RETRIEVAL_KS
from ._records import Records

__all__ = [
    "Table",
    "format_mean_std",
    "save_figure",
    "write_report",
    "environment_notes",
    "write_table1",
    "write_synthetic",
    "write_roc",
    "write_sensitivity",
    "write_dpp_retrieval",
    "write_dpp_overhead",
]

#: First line of every ``report.md`` this module writes.
REPORT_TITLE = "# spectral_ml reproduction report"

#: Significant digits of the numbers written in tables (errors, AUC, mAP in %, times).
DIGITS = 4


def _finite(values) -> list[float]:
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def format_mean_std(values: Sequence[float], digits: int = 3) -> str:
    """Format a sample as ``mean ± std`` (population std of the repeats).

    NaN entries (failed runs) are left out; a single value is shown alone and an empty
    sample as ``n/a``.
    """
    vals = _finite(values)
    if not vals:
        return "n/a"
    mean = sum(vals) / len(vals)
    if len(vals) == 1:
        return f"{mean:.{digits}f}"
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals))
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


class Table:
    """A small table written both as CSV (for machines) and as Markdown (for the report).

    Floats are rounded to ``digits`` significant digits in both renderings, so the CSV holds
    what the report shows (``0.09375``, never ``0.09375000000000001``).

    Parameters
    ----------
    columns : sequence of str
        Column names.
    title : str, optional
        Heading used in the Markdown rendering.
    digits : int, default=4
        Significant digits of float cells.
    """

    def __init__(self, columns: Sequence[str], title: str | None = None, digits: int = DIGITS):
        if not columns:
            raise ValueError("columns must not be empty.")
        self.columns = list(columns)
        self.title = title
        self.digits = int(digits)
        self.rows: list[list] = []

    def add_row(self, *values: Any) -> None:
        """Append a row; its length must match the columns."""
        if len(values) != len(self.columns):
            raise ValueError(f"row has {len(values)} values, expected {len(self.columns)}.")
        self.rows.append(list(values))

    def _cell(self, v) -> str:
        if isinstance(v, (float, np.floating)):
            v = float(v)
            if math.isnan(v):
                return "n/a"
            return f"{v:.{self.digits}g}"
        if isinstance(v, np.integer):
            return str(int(v))
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
            writer.writerows([self._cell(v) for v in row] for row in self.rows)
        md_path.write_text(self.to_markdown(), encoding="utf-8")
        return csv_path, md_path


def save_figure(fig: Any, out_dir: str | os.PathLike, stem: str, dpi: int = 120) -> Path:
    """Save a matplotlib Figure as ``stem.png`` in ``out_dir`` and return the path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def _rows_where(records: Records, **match) -> list[dict]:
    return [r for r in records.rows if all(r.get(k) == v for k, v in match.items())]


# --------------------------------------------------------------------------- AML paper


def write_table1(records: Records, out_dir: str | os.PathLike[str]) -> dict:
    """Table 1: mean ± std of the 5-NN error per data set and learner, beside the paper's.

    Writes ``aml_table1.csv`` / ``.md`` (errors, the preprocessing used, the paper's figures)
    and ``aml_table1_time.csv`` / ``.md`` (fit and tuning time).
    """
    s = records.settings
    datasets, methods, n_splits = s["datasets"], s["methods"], s["n_splits"]
    paper_keys = ("AML", "GMML", "ITML", "LMNN")
    table = Table(
        ["dataset", *methods, "preprocessing", *(f"paper {k}" for k in paper_keys)],
        title=f"5-NN error, {_repeats(n_splits, 'random 80/20 split')}",
    )
    timing = Table(["dataset", *methods], title="Total fit + tuning time per dataset (s)", digits=3)
    errors = {}
    for name in datasets:
        errors[name] = {m: [r["error"] for r in _rows_where(records, dataset=name, method=m)] for m in methods}
        choices = [r["preprocessing"] for r in _rows_where(records, dataset=name, method=methods[0])]
        paper = AML_PAPER_TABLE1.get(name, {})
        table.add_row(
            name,
            *(_partial(format_mean_std(errors[name][m]), errors[name][m]) for m in methods),
            _summarize_choices(choices),
            *(f"{paper[k]:.3f}" if k in paper else "—" for k in paper_keys),
        )
        times = {m: [r["time"] for r in _rows_where(records, dataset=name, method=m)] for m in methods}
        timing.add_row(
            name, *(_partial(sum(_finite(times[m])) if _finite(times[m]) else float("nan"), times[m]) for m in methods)
        )
    files = [*table.save(out_dir, "aml_table1"), *timing.save(out_dir, "aml_table1_time")]
    return {
        "table": table,
        "timing": timing,
        "files": files,
        "errors": errors,
        "notes": list(records.notes),
        "records": records,
    }


def _repeats(n: int, what: str) -> str:
    """``3 random splits (mean ± std)``, or ``1 random split`` where there is no spread to show."""
    return f"{n} {what}s (mean ± std)" if n > 1 else f"1 {what}"


def _partial(cell, values):
    """A cell over the repeats that did not fail, marked ``(k/n splits)`` when some did.

    A learner that failed on every split is ``n/a`` (NaN); the notes say why.
    """
    done, total = len(_finite(values)), len(values)
    if done == total or done == 0:
        return cell
    text = cell if isinstance(cell, str) else Table(["x"], digits=3)._cell(cell)
    return f"{text} ({done}/{total} splits)"


def _summarize_choices(choices: Sequence[str]) -> str:
    """``choice`` when every split used it, else ``a (2/3), b (1/3)``."""
    if not choices:
        return "—"
    counts = {c: choices.count(c) for c in dict.fromkeys(choices)}
    if len(counts) == 1:
        return choices[0]
    return ", ".join(f"{c} ({n}/{len(choices)})" for c, n in counts.items())


def write_synthetic(records: Records, out_dir: str | os.PathLike[str]) -> dict:
    """Fig. 3: the feature grid (input, GMML, AML; train and test) and the 5-NN errors."""
    from ..plotting import plot_feature_grid

    table = Table(["method", "train 5-NN error", "test 5-NN error"], title="Synthetic set (Fig. 3)")
    for r in records.rows:
        table.add_row(r["method"], r["train error"], r["test error"])
    fig = plot_feature_grid(
        records.figures["panels"], title="Synthetic data, first two principal components", axis_labels=("PC 1", "PC 2")
    )
    fig_path = save_figure(fig, out_dir, "aml_synthetic")
    files = [fig_path, *table.save(out_dir, "aml_synthetic")]
    return {"figure": fig_path, "table": table, "files": files, "notes": list(records.notes), "records": records}


def write_roc(records: Records, out_dir: str | os.PathLike[str]) -> dict:
    """ROC curves (one figure per data set) and AUC, FPR at 95 % TPR and EER per method."""
    from ..plotting import plot_roc

    table = Table(["dataset", "method", "AUC", "FPR at 95% TPR", "EER"], title="Pair verification on held-out pairs")
    figures = []
    for r in records.rows:
        table.add_row(r["dataset"], r["method"], r["auc"], r["fpr_at_tpr"], r["eer"])
    for name in records.settings["datasets"]:
        curves = {r["method"]: (r["fpr"], r["tpr"], r["auc"]) for r in _rows_where(records, dataset=name)}
        fig = plot_roc(curves, title=f"Pair verification: {name}")
        figures.append(save_figure(fig, out_dir, f"aml_roc_{name}"))
    files = [*figures, *table.save(out_dir, "aml_roc")]
    return {"figures": figures, "table": table, "files": files, "notes": list(records.notes), "records": records}


def write_sensitivity(records: Records, out_dir: str | os.PathLike[str]) -> dict:
    """Fig. 5: train and test error against α (β = 1) and against β (α = 1)."""
    from ..plotting import plot_sensitivity

    dataset = records.settings["dataset"]
    table = Table(["parameter", "value", "train error", "test error"], title=f"Sensitivity on {dataset}")
    for r in records.rows:
        table.add_row(r["parameter"], r["value"], r["train error"], r["test error"])
    figures = []
    for param, symbol in (("alpha", "α (β = 1)"), ("beta", "β (α = 1)")):
        rows = _rows_where(records, parameter=param)
        fig = plot_sensitivity(
            [r["value"] for r in rows],
            [r["train error"] for r in rows],
            [r["test error"] for r in rows],
            param_name=symbol,
            title=f"{dataset}: error against {symbol}",
        )
        figures.append(save_figure(fig, out_dir, f"aml_sensitivity_{param}"))
    files = [*figures, *table.save(out_dir, "aml_sensitivity")]
    return {"figures": figures, "table": table, "files": files, "notes": list(records.notes), "records": records}


# --------------------------------------------------------------------------- DPP paper


def write_dpp_retrieval(records: Records, out_dir: str | os.PathLike[str]) -> dict:
    """DPP Table 1 and Fig. 1: the summary table, the per-run table and the two figures."""
    from ..plotting import plot_feature_grid, plot_loss_curves

    s = records.settings
    dataset, seeds, variants = s["dataset"], s["seeds"], s["variants"]
    cnn = s.get("network", "perceptron") == "paper-cnn"
    stem = f"dpp_retrieval_{dataset}" + ("_paper_cnn" if cnn else "")
    label = f"{dataset}, paper CNN" if cnn else dataset
    runs = Table(
        ["method", "seed"] + [f"mAP@{k}" for k in RETRIEVAL_KS] + ["gap to P", "sub-gradient batches"],
        title=f"DPP retrieval on {label}: every run",
    )
    for r in records.rows:
        sub = r["subgradient"]
        runs.add_row(
            r["variant"],
            r["seed"],
            *(round(r["map"][k], 2) for k in RETRIEVAL_KS),
            r["gap"],
            "n/a" if math.isnan(sub) else f"{sub:.0%}",
        )
    table = Table(
        ["method"] + [f"mAP@{k}" for k in RETRIEVAL_KS] + ["gap to P", "sub-gradient batches", "paper mAP@10"],
        title=f"DPP retrieval on {label} (test queries, training database; {_repeats(len(seeds), 'seed')}; mAP in %)",
    )
    per_seed = seeds if len(seeds) > 1 else []
    timing = Table(
        ["method", "train time (s)", *(f"seed {seed} (s)" for seed in per_seed)], title=f"Training time on {label} (s)"
    )
    for variant in variants:
        rows = _rows_where(records, variant=variant)
        cells = [format_mean_std([r["map"][k] for r in rows], 2) for k in RETRIEVAL_KS]
        sub = _finite(r["subgradient"] for r in rows)
        sub_cell = f"{float(np.mean(sub)):.0%}" if sub else "n/a"
        paper = f"{DPP_PAPER_TABLE1[variant][0]:.2f}" if dataset == "mnist" and variant in DPP_PAPER_TABLE1 else "–"
        table.add_row(variant, *cells, format_mean_std([r["gap"] for r in rows], 3), sub_cell, paper)
        timing.add_row(
            variant, format_mean_std([r["time"] for r in rows], 1), *(round(r["time"], 2) for r in rows if per_seed)
        )
    files = [*table.save(out_dir, stem), *runs.save(out_dir, f"{stem}_runs"), *timing.save(out_dir, f"{stem}_time")]
    fig = plot_feature_grid(
        records.figures["panels"],
        reference_box=True,
        class_names=records.figures["class_names"],
        title=f"2-D features on {label} (seed {seeds[0]})",
        panel_size=2.6,
    )
    figure = save_figure(fig, out_dir, f"{stem}_features")
    files.append(figure)
    fig = plot_loss_curves(
        records.figures["curves"],
        xlabel="epoch",
        ylabel="contrastive loss $L_C$",
        title=f"Training on {label} (seed {seeds[0]})",
    )
    files.append(save_figure(fig, out_dir, f"{stem}_loss"))
    results: dict[str, dict[str, list]] = {
        v: {"map": [], "gap": [], "time": [], "subgradient": [], "history": []} for v in variants
    }
    for r in records.rows:
        for key in results[r["variant"]]:
            results[r["variant"]][key].append(r[key])
    return {
        "table": table,
        "timing": timing,
        "files": files,
        "figure": figure,
        "results": results,
        "settings": s["learner"],
        "notes": list(records.notes),
        "records": records,
    }


def _median_ms(values) -> float:
    return 1e3 * float(np.median(values))


def write_dpp_overhead(records: Records, out_dir: str | os.PathLike[str]) -> dict:
    """DPP Table 6: per batch size, the step and DPP times (medians, ms) and the bar figure."""
    from ..plotting import plot_overhead

    s = records.settings
    table = Table(
        [
            "batch size",
            "overhead-all (ms)",
            "overhead-DPP (ms)",
            "DPP share",
            "DPP path",
            "DPP without value (ms)",
            "DPPSG* alone (ms)",
            "DPPSG alone (ms)",
            "exact alone (ms)",
            "paper DPP share (GPU)",
        ],
        title=f"Time per training step, {s['network']} perceptron, contrastive + DPP ({s['method']}), "
        f"{s['dtype']}, median of {s['n_repeats']}",
    )
    for r in records.rows:
        a, d = _median_ms(r["all"]), _median_ms(r["dpp"])
        path = ", ".join(f"{k} {v / sum(r['paths'].values()):.0%}" for k, v in sorted(r["paths"].items()))
        paper = DPP_PAPER_TABLE6.get(r["batch size"])
        table.add_row(
            r["batch size"],
            a,
            d,
            f"{d / a:.0%}",
            path,
            _median_ms(r["dpp_no_value"]),
            _median_ms(r["alone"]["dppsg*"]),
            _median_ms(r["alone"]["dppsg"]),
            _median_ms(r["alone"]["exact"]),
            "–" if paper is None else f"{paper[1] / paper[0]:.0%}",
        )
    files = list(table.save(out_dir, "dpp_overhead"))
    sizes = [r["batch size"] for r in records.rows]
    fig = plot_overhead(
        sizes,
        [_median_ms(r["dpp"]) for r in records.rows],
        [_median_ms(r["all"]) for r in records.rows],
        unit="ms",
        title="Time per training step: all vs DPP term",
    )
    figure = save_figure(fig, out_dir, "dpp_overhead")
    files.append(figure)
    results = {
        r["batch size"]: {k: r[k] for k in ("all", "dpp", "dpp_no_value", "paths", "alone")} for r in records.rows
    }
    return {
        "table": table,
        "files": files,
        "figure": figure,
        "results": results,
        "notes": list(records.notes),
        "records": records,
    }


# --------------------------------------------------------------------------- report.md


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


#: Packages whose versions a report states (those installed).
_REPORTED_PACKAGES = (
    "spectral_ml",
    "numpy",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "threadpoolctl",
    "tqdm",
    "pymanopt",
    "metric-learn",
    "torch",
)


def environment_notes() -> list[str]:
    """Sentences on the machine, the BLAS / OpenMP threads and the package versions in use."""
    from threadpoolctl import threadpool_info

    pools = threadpool_info()
    threads = (
        "; ".join(
            f"{p.get('internal_api')} {p.get('version') or ''} ({p.get('user_api')})".replace("  ", " ")
            + f": {p.get('num_threads')} thread(s)"
            for p in pools
        )
        or "no BLAS or OpenMP library found by threadpoolctl"
    )
    versions = ", ".join(f"{name} {v}" for name in _REPORTED_PACKAGES if (v := _version(name)))
    return [
        f"Machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} logical CPU(s).",
        f"Threads: {threads}.",
        f"Python {platform.python_version()} ({sys.implementation.name}); {versions}.",
    ]


def _relative(path, out: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(out.resolve()))
    except ValueError:
        return str(path)


def write_report(
    results: Mapping,
    out: Path,
    *,
    quick: bool,
    seed: int,
    elapsed: Mapping,
    descriptions: Mapping | None = None,
    environment: Sequence[str] | None = None,
) -> Path:
    """Write ``report.md`` in ``out`` with every table inline and every figure linked.

    Parameters
    ----------
    results : mapping
        Experiment name → what its ``run_*`` function returned (``"table"``, optionally
        ``"timing"``, ``"notes"`` and ``"files"``), or the exception that stopped it.
    out : path-like
        The run's output directory (links are relative to it).
    quick, seed : bool, int
        The run's mode and seed, stated at the top.
    elapsed : mapping
        Experiment name → seconds of computing: its units' times added up (units of several
        experiments run side by side with several jobs, so these are not wall-clock spans).
    descriptions : mapping, optional
        Experiment name → one-line description used in its heading.
    environment : sequence of str, optional
        The "Machine and versions" section (default: :func:`environment_notes`).
    """
    out = Path(out)
    descriptions = descriptions or {}
    lines = [
        REPORT_TITLE,
        "",
        f"Mode: {'quick (reduced grids, splits, epochs and seeds)' if quick else 'full'}; seed {seed}.",
        "Every number below was computed by this run; the papers' figures stand beside ours where",
        "the protocols match. The time under each heading is its computing time (its units' times",
        "added up, whether they ran in turn or side by side).",
        "",
    ]
    for name, res in results.items():
        desc = descriptions.get(name)
        lines += [f"## {name}: {desc}" if desc else f"## {name}", "", f"_{elapsed.get(name, 0.0):.1f} s_", ""]
        if isinstance(res, BaseException):
            lines += [f"**Failed:** `{type(res).__name__}: {res}`", ""]
            continue
        for key in ("table", "timing"):
            if key in res:
                lines += [res[key].to_markdown(), ""]
        for note in res.get("notes", []):
            lines.append(f"- {note}")
        if res.get("notes"):
            lines.append("")
        figures = [p for p in res.get("files", []) if str(p).endswith(".png")]
        for fig in figures:
            rel = _relative(fig, out)
            lines += [f"![{Path(rel).stem}]({rel})", ""]
        data_files = [p for p in res.get("files", []) if str(p).endswith(".csv")]
        if data_files:
            lines.append("Data: " + ", ".join(f"[{Path(p).name}]({_relative(p, out)})" for p in data_files))
            lines.append("")
    lines += ["## Machine and versions", ""]
    lines += [f"- {note}" for note in (environment_notes() if environment is None else environment)]
    lines.append("")
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
