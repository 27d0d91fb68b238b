"""From the experiments' records to tables, figures and ``report.md``.

The experiments (:mod:`~spectral_ml.experiments.aml`, :mod:`~spectral_ml.experiments.dpp`)
measure and return :class:`~spectral_ml.experiments.Records`: plain data, nothing rounded,
nothing written. This module is the only place that formats them: it writes the tables,
rounded by one rule where they are written (CSV and Markdown alike; :class:`Table`, whose
rule is described in ``_tables``), draws the figures through
:mod:`spectral_ml.plotting`, and writes the ``report.md`` of a run with the machine, the
threads and the package versions it ran with. A new experiment adds one ``write_*`` function
here and keeps its protocol free of file formats.
"""

from __future__ import annotations

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
from ._tables import (
    Estimate,
    Table,
    decimals_for,
    estimate,
    finite,
    format_mean_std,
    format_parameter,
)

__all__ = [
    "Table",
    "Estimate",
    "estimate",
    "decimals_for",
    "format_mean_std",
    "format_parameter",
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
    timing = Table(["dataset", *methods], title="Total fit + tuning time per dataset (s)")
    errors = {}
    for name in datasets:
        errors[name] = {m: [r["error"] for r in _rows_where(records, dataset=name, method=m)] for m in methods}
        choices = [r["preprocessing"] for r in _rows_where(records, dataset=name, method=methods[0])]
        paper = AML_PAPER_TABLE1.get(name, {})
        table.add_row(
            name,
            *(_partial(errors[name][m]) for m in methods),
            _summarize_choices(choices),
            *(f"{paper[k]:.3f}" if k in paper else "—" for k in paper_keys),
        )
        times = {m: [r["time"] for r in _rows_where(records, dataset=name, method=m)] for m in methods}
        timing.add_row(name, *(_partial(times[m], total=True) for m in methods))
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


def _partial(values: Sequence[float], *, total: bool = False) -> Estimate:
    """The mean ± std (or the sum) over the repeats that did not fail, marked ``(k/n splits)`` when some did.

    A learner that failed on every split is ``n/a`` (NaN); the notes say why.
    """
    done, n = len(finite(values)), len(values)
    note = f"({done}/{n} splits)" if 0 < done < n else ""
    if total:
        return Estimate(sum(finite(values)) if done else math.nan, None, note)
    return estimate(values, note)


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
        table.add_row(r["parameter"], format_parameter(r["value"]), r["train error"], r["test error"])
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


def _dpp_setting(value: float | None) -> str:
    return "–" if value is None else format_parameter(value)


def write_dpp_retrieval(records: Records, out_dir: str | os.PathLike[str]) -> dict:
    """DPP Table 1 and Fig. 1: the summary table, the per-run table and the two figures.

    With a sweep of θ and λ₁ in the records, also its table and figure (``*_theta``).
    """
    from ..plotting import plot_feature_grid, plot_loss_curves

    s = records.settings
    dataset, seeds, variants = s["dataset"], s["seeds"], s["variants"]
    cnn = s.get("network", "perceptron") == "paper-cnn"
    stem = f"dpp_retrieval_{dataset}" + ("_paper_cnn" if cnn else "")
    label = f"{dataset}, paper CNN" if cnn else dataset
    settings_columns = ["λ₁", "θ"]
    runs = Table(
        ["method", *settings_columns, "seed"]
        + [f"mAP@{k}" for k in RETRIEVAL_KS]
        + ["gap to P", "sub-gradient batches"],
        title=f"DPP retrieval on {label}: every run",
    )
    for r in records.rows:
        sub = r["subgradient"]
        runs.add_row(
            r["variant"],
            _dpp_setting(r["weight"]),
            _dpp_setting(r["theta"]),
            r["seed"],
            *(r["map"][k] for k in RETRIEVAL_KS),
            r["gap"],
            "n/a" if math.isnan(sub) else f"{sub:.0%}",
        )
    table = Table(
        ["method", *settings_columns]
        + [f"mAP@{k}" for k in RETRIEVAL_KS]
        + ["gap to P", "sub-gradient batches", "paper mAP@10"],
        title=f"DPP retrieval on {label} (test queries, training database; {_repeats(len(seeds), 'seed')}; mAP in %)",
    )
    per_seed = seeds if len(seeds) > 1 else []
    timing = Table(
        ["method", "train time (s)", *(f"seed {seed} (s)" for seed in per_seed)], title=f"Training time on {label} (s)"
    )
    own = {v: _own_rows(records, v) for v in variants}
    for variant in variants:
        rows = own[variant]
        sub = finite(r["subgradient"] for r in rows)
        sub_cell = f"{float(np.mean(sub)):.0%}" if sub else "n/a"
        paper = f"{DPP_PAPER_TABLE1[variant][0]:.2f}" if dataset == "mnist" and variant in DPP_PAPER_TABLE1 else "–"
        table.add_row(
            variant,
            _dpp_setting(rows[0]["weight"]),
            _dpp_setting(rows[0]["theta"]),
            *(estimate([r["map"][k] for r in rows]) for k in RETRIEVAL_KS),
            estimate([r["gap"] for r in rows]),
            sub_cell,
            paper,
        )
        timing.add_row(variant, estimate([r["time"] for r in rows]), *(r["time"] for r in rows if per_seed))
    files = [*table.save(out_dir, stem), *runs.save(out_dir, f"{stem}_runs"), *timing.save(out_dir, f"{stem}_time")]
    sweep = None
    if s.get("thetas") is not None:
        sweep, sweep_files, sweep_notes = _write_sweep(records, out_dir, stem, label)
        files += sweep_files
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
    for variant in variants:
        for r in own[variant]:
            for key in results[variant]:
                results[variant][key].append(r[key])
    out = {
        "table": table,
        "timing": timing,
        "files": files,
        "figure": figure,
        "results": results,
        "settings": s["learner"],
        "notes": list(records.notes),
        "records": records,
        "description": "DPP paper Table 1 and Fig. 1"
        + (" with the paper's network" if cnn else "")
        + (": retrieval mAP with 2-D features" if s.get("thetas") is None else ", and a sweep of θ and λ₁"),
    }
    if sweep is not None:
        out["sweep"] = sweep
        out["notes"] += sweep_notes
    return out


def _own_rows(records: Records, variant: str) -> list[dict]:
    """The rows of a variant trained with its own settings (not at another point of a sweep)."""
    params = records.settings["learner"][variant]
    theta = params.get("dpp_theta") if params["dpp"] == "dppsg*" else None
    weight = params.get("dpp_weight") if params["dpp"] is not None else None
    return _rows_where(records, variant=variant, theta=theta, weight=weight)


def _write_sweep(records: Records, out_dir: str | os.PathLike[str], stem: str, label: str):
    """The sweep of θ and λ₁: its table, its figure and the notes that read them."""
    from ..plotting import plot_sweep

    s = records.settings
    thetas, weights, variant = s["thetas"], s["dpp_weights"], s.get("sweep_variant", "DPPSG*")
    base = {r["seed"]: r for r in _own_rows(records, "baseline")}
    table = Table(
        ["method", "λ₁", "θ", "λ₁θ", "mAP@10", "mAP@10 − baseline", "gap to P", "DPP / contrastive gradient"],
        title=f"{variant} on {label}: mAP@10 (%) and gap to P against θ and λ₁ ({_repeats(len(s['seeds']), 'seed')})",
        decimals_from={"mAP@10 − baseline": "mAP@10"},
        scientific=["DPP / contrastive gradient"],
    )
    base_map, base_gap = estimate([r["map"][10] for r in base.values()]), estimate([r["gap"] for r in base.values()])
    table.add_row("baseline", "–", "–", "–", base_map, "–", base_gap, "–")
    curves: dict[str, dict[str, tuple[list, list]]] = {"mAP@10 (%)": {}, "gap to P": {}}
    for weight in weights:
        maps, gaps = [], []
        for theta in thetas:
            rows = _rows_where(records, variant=variant, theta=theta, weight=weight)
            m, g = estimate([r["map"][10] for r in rows]), estimate([r["gap"] for r in rows])
            ratio = [
                weight * theta * base[r["seed"]]["gradients"]["dppsg*"] / base[r["seed"]]["gradients"]["contrastive"]
                for r in rows
            ]
            table.add_row(
                variant,
                format_parameter(weight),
                format_parameter(theta),
                format_parameter(float(f"{weight * theta:.3g}")),
                m,
                estimate([r["map"][10] - base[r["seed"]]["map"][10] for r in rows]),
                g,
                estimate(ratio),
            )
            maps.append(m)
            gaps.append(g)
        name = f"λ₁ = {format_parameter(weight)}"
        curves["mAP@10 (%)"][name] = ([e.value for e in maps], [e.std or 0.0 for e in maps])
        curves["gap to P"][name] = ([e.value for e in gaps], [e.std or 0.0 for e in gaps])
    references = {
        "mAP@10 (%)": (base_map.value, base_map.std or 0.0),
        "gap to P": (base_gap.value, base_gap.std or 0.0),
    }
    fig = plot_sweep(
        thetas,
        curves,
        references=references,
        reference_label="baseline (no DPP term)",
        xlabel="θ, the step of DPPSG*",
        title=f"{variant} on {label}: against θ",
    )
    files = [*table.save(out_dir, f"{stem}_theta"), save_figure(fig, out_dir, f"{stem}_theta")]
    notes = [
        f"Sweep: {variant} trained with every θ and λ₁ of the grid. A batch whose det L is below β takes the "
        "sub-gradient, whose push λ₁θ(I − L) depends on the product λ₁θ alone. 'mAP@10 − baseline' is the mean "
        "over the seeds of the difference to the baseline of the same seed. 'DPP / contrastive gradient': the "
        "norm of λ₁ times the DPPSG* direction over the norm of the contrastive gradient, both with respect to "
        "the baseline's trained features of a class-balanced training batch.",
    ]
    return table, files, notes


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
        if isinstance(res, Mapping) and res.get("description"):
            desc = res["description"]
        lines += [f"## {name}: {desc}" if desc else f"## {name}", "", f"_{elapsed.get(name, 0.0):.1f} s_", ""]
        if isinstance(res, BaseException):
            lines += [f"**Failed:** `{type(res).__name__}: {res}`", ""]
            continue
        for key in ("table", "sweep", "timing"):
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
