"""The AML paper's figures, computed by this library: Fig. 3 (synthetic set), Fig. 4's kind
(ROC curves of pair verification) and Fig. 5 (sensitivity to α and β).

Each is a protocol of independent units (:mod:`spectral_ml.experiments._units`); Table 1 is
in :mod:`spectral_ml.experiments.aml`, which also exports these functions.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.decomposition import PCA

from spectral_ml.evaluation import knn_error

from . import report
from ._paper import PAPER_GRID
from ._preprocessing import load_prepared_cached, split_standardized, suppress_fit_warnings
from ._records import Records
from ._units import Protocol, run_protocol, unit_store

__all__ = [
    "synthetic_protocol",
    "roc_protocol",
    "sensitivity_protocol",
    "synthetic_records",
    "roc_records",
    "sensitivity_records",
    "run_synthetic",
    "run_roc",
    "run_sensitivity",
]


def _synthetic_unit(key, *, seed, alpha, beta):
    """One learner of Fig. 3: fitted on the synthetic set, its 5-NN errors and its panels."""
    from spectral_ml.datasets import make_aml_synthetic
    from spectral_ml.metric import AMLMetric, GMMLMetric

    (name,) = key
    data = make_aml_synthetic(random_state=seed)
    model = (
        GMMLMetric(random_state=seed) if name == "GMML" else AMLMetric(alpha=alpha, beta=beta, random_state=seed)
    ).fit(data.X_train, data.y_train)
    Z_tr, Z_te = model.transform(data.X_train), model.transform(data.X_test)
    p2 = PCA(2).fit(Z_tr)
    panel = {"train": (p2.transform(Z_tr), data.y_train), "test": (p2.transform(Z_te), data.y_test)}
    row = {
        "method": name,
        "train error": knn_error(data.X_train, data.y_train, data.X_train, data.y_train, metric=model),
        "test error": knn_error(data.X_train, data.y_train, data.X_test, data.y_test, metric=model),
    }
    return {"row": row, "panel": panel}


def _assemble_synthetic(results, *, settings):
    from spectral_ml.datasets import make_aml_synthetic

    data = make_aml_synthetic(random_state=settings["seed"])
    pca = PCA(2).fit(data.X_train)
    panels = {
        "input": {
            "train": (pca.transform(data.X_train), data.y_train),
            "test": (pca.transform(data.X_test), data.y_test),
        }
    }
    rows = []
    for (name,), unit in results.items():
        panels[name] = unit["panel"]
        rows.append(unit["row"])
    return Records("aml-synthetic", rows=rows, settings=settings, figures={"panels": panels})


def synthetic_protocol(*, seed: int = 0, alpha: float = 1.0, beta: float = 1.0) -> Protocol:
    """Fig. 3 (see :func:`run_synthetic`) as units: one per learner."""
    settings = {"seed": seed, "alpha": alpha, "beta": beta}
    return Protocol(
        "aml-synthetic",
        settings,
        [("GMML",), ("AML",)],
        functools.partial(_synthetic_unit, seed=seed, alpha=alpha, beta=beta),
        functools.partial(_assemble_synthetic, settings=settings),
        unit_name="fit",
    )


def synthetic_records(
    *,
    seed: int = 0,
    alpha: float = 1.0,
    beta: float = 1.0,
    progress: bool = True,
    n_jobs: int = 1,
    checkpoints: Any = None,
) -> Records:
    """Measure Fig. 3 (see :func:`run_synthetic`); return its records."""
    return run_protocol(
        synthetic_protocol(seed=seed, alpha=alpha, beta=beta),
        store=unit_store(checkpoints, "aml-synthetic"),
        n_jobs=n_jobs,
        progress=progress,
    )


def run_synthetic(
    out_dir: str | os.PathLike[str],
    *,
    seed: int = 0,
    alpha: float = 1.0,
    beta: float = 1.0,
    progress: bool = True,
    n_jobs: int = 1,
    checkpoints: Any = None,
) -> dict:
    """AML paper Fig. 3: GMML vs AML on the synthetic set, train and test, first two PCs.

    Returns
    -------
    dict
        ``{"figure": path, "table": Table, "files": [...], "notes": [], "records": Records}``
        with the 5-NN errors.
    """
    records = synthetic_records(
        seed=seed, alpha=alpha, beta=beta, progress=progress, n_jobs=n_jobs, checkpoints=checkpoints
    )
    return report.write_synthetic(records, out_dir)


def _held_out_pairs(y, n_pairs, rng):
    from spectral_ml.metric import make_pairs

    idx, labels = make_pairs(y, n_pairs, random_state=rng)
    return np.asarray(idx), np.asarray(labels)


def _roc_unit(key, *, seed, quick, data_dir, alpha, beta):
    """Pair verification on one data set: Euclidean, GMML and AML on held-out pairs."""
    from spectral_ml.evaluation.verification import pair_verification_report
    from spectral_ml.metric import AMLMetric, GMMLMetric

    (name,) = key
    X, y, load_notes = load_prepared_cached(name, data_dir, seed)
    notes = [n for n in load_notes if not n.startswith("mnist: a stratified")]
    X_tr, X_te, y_tr, y_te = split_standardized(name, X, y, seed=seed)
    with suppress_fit_warnings():
        models = {
            "Euclidean": None,
            "GMML": GMMLMetric(random_state=seed).fit(X_tr, y_tr),
            "AML": AMLMetric(alpha=alpha, beta=beta, random_state=seed).fit(X_tr, y_tr),
        }
    idx, labels = _held_out_pairs(y_te, 2000 if quick else 10000, seed + 1)
    rows = []
    for method, model in models.items():
        Z = X_te if model is None else model.transform(X_te)
        dist = np.sqrt(np.sum((Z[idx[:, 0]] - Z[idx[:, 1]]) ** 2, axis=1))
        rep = pair_verification_report(dist, labels)
        rows.append(
            {
                "dataset": name,
                "method": method,
                "auc": float(rep.auc),
                "fpr_at_tpr": float(rep.fpr_at_tpr),
                "eer": float(rep.eer),
                "fpr": np.asarray(rep.fpr),
                "tpr": np.asarray(rep.tpr),
            }
        )
    return {"rows": rows, "notes": notes}


def _assemble_units(experiment, results, *, settings):
    """Records of units that each return ``{"rows": [...], "notes": [...]}``, in unit order."""
    rows, notes = [], []
    for unit in results.values():
        rows += unit["rows"]
        notes += unit["notes"]
    return Records(experiment, rows=rows, settings=settings, notes=notes)


def roc_protocol(
    datasets: Sequence[str],
    *,
    seed: int = 0,
    quick: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    alpha: float = 1.0,
    beta: float = 1.0,
) -> Protocol:
    """Pair verification (see :func:`run_roc`) as units: one per data set."""
    datasets = list(datasets)
    data_dir = None if data_dir is None else str(data_dir)
    settings = {"datasets": datasets, "seed": seed, "quick": quick, "alpha": alpha, "beta": beta}
    return Protocol(
        "aml-roc",
        {**settings, "data_dir": data_dir},
        [(name,) for name in datasets],
        functools.partial(_roc_unit, seed=seed, quick=quick, data_dir=data_dir, alpha=alpha, beta=beta),
        functools.partial(_assemble_units, "aml-roc", settings=settings),
        unit_name="dataset",
    )


def roc_records(
    datasets: Sequence[str],
    *,
    seed: int = 0,
    quick: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    alpha: float = 1.0,
    beta: float = 1.0,
    progress: bool = True,
    n_jobs: int = 1,
    checkpoints: Any = None,
) -> Records:
    """Measure pair verification (see :func:`run_roc`); return its records.

    One row per data set and method: ``dataset``, ``method``, ``auc``, ``fpr_at_tpr`` (at
    95 % TPR), ``eer`` and the curve ``fpr``, ``tpr``.
    """
    protocol = roc_protocol(datasets, seed=seed, quick=quick, data_dir=data_dir, alpha=alpha, beta=beta)
    return run_protocol(protocol, store=unit_store(checkpoints, "aml-roc"), n_jobs=n_jobs, progress=progress)


def run_roc(
    datasets: Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    seed: int = 0,
    quick: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    alpha: float = 1.0,
    beta: float = 1.0,
    progress: bool = True,
    n_jobs: int = 1,
    checkpoints: Any = None,
) -> dict:
    """ROC curves and AUC of pair verification on held-out pairs (AML paper Fig. 4's kind).

    The paper uses face and patch-matching pairs that are not distributed with this
    library; here each dataset is split 80/20, the metrics are learned on the training
    part, and similar / dissimilar pairs are drawn from the test part only.

    Returns
    -------
    dict
        ``{"figures": [...], "table": Table, "files": [...], "notes": [...], "records": Records}``.
    """
    records = roc_records(
        datasets,
        seed=seed,
        quick=quick,
        data_dir=data_dir,
        alpha=alpha,
        beta=beta,
        progress=progress,
        n_jobs=n_jobs,
        checkpoints=checkpoints,
    )
    return report.write_roc(records, out_dir)


def _sensitivity_unit(key, *, dataset, seed, data_dir, n_splits):
    """One value of α or β: AML's train and test errors, averaged over the splits."""
    from spectral_ml.metric import AMLMetric

    param, value = key
    X, y, notes = load_prepared_cached(dataset, data_dir, seed)
    tr_errs, te_errs = [], []
    for split in range(n_splits):
        X_tr, X_te, y_tr, y_te = split_standardized(dataset, X, y, seed=seed + split)
        params = {"alpha": 1.0, "beta": 1.0, param: value}
        with suppress_fit_warnings():
            model = AMLMetric(**params, random_state=seed).fit(X_tr, y_tr)
        tr_errs.append(knn_error(X_tr, y_tr, X_tr, y_tr, metric=model))
        te_errs.append(knn_error(X_tr, y_tr, X_te, y_te, metric=model))
    row = {
        "parameter": param,
        "value": value,
        "train error": float(np.mean(tr_errs)),
        "test error": float(np.mean(te_errs)),
    }
    return {"row": row, "notes": list(notes)}


def _assemble_sensitivity(results, *, settings):
    # Every unit read the same data set: its notes are the first unit's.
    notes = next(iter(results.values()))["notes"]
    return Records("aml-sensitivity", rows=[u["row"] for u in results.values()], settings=settings, notes=notes)


def sensitivity_protocol(
    dataset: str,
    *,
    seed: int = 0,
    quick: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    n_splits: int | None = None,
) -> Protocol:
    """Fig. 5 (see :func:`run_sensitivity`) as units: one per parameter and value."""
    data_dir = None if data_dir is None else str(data_dir)
    grid = [1e-3, 1e-1, 1e1, 1e3] if quick else list(PAPER_GRID)
    n_splits = n_splits or (1 if quick else 5)
    settings = {"dataset": dataset, "grid": grid, "n_splits": n_splits, "seed": seed}
    units = [(param, value) for param in ("alpha", "beta") for value in grid]
    return Protocol(
        "aml-sensitivity",
        {**settings, "data_dir": data_dir},
        units,
        functools.partial(_sensitivity_unit, dataset=dataset, seed=seed, data_dir=data_dir, n_splits=n_splits),
        functools.partial(_assemble_sensitivity, settings=settings),
        unit_name="value",
    )


def sensitivity_records(
    dataset: str,
    *,
    seed: int = 0,
    quick: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    n_splits: int | None = None,
    progress: bool = True,
    n_jobs: int = 1,
    checkpoints: Any = None,
) -> Records:
    """Measure Fig. 5 (see :func:`run_sensitivity`); return its records.

    One row per parameter and value: ``parameter``, ``value``, ``train error`` and ``test
    error`` (means over the splits).
    """
    protocol = sensitivity_protocol(dataset, seed=seed, quick=quick, data_dir=data_dir, n_splits=n_splits)
    return run_protocol(protocol, store=unit_store(checkpoints, "aml-sensitivity"), n_jobs=n_jobs, progress=progress)


def run_sensitivity(
    dataset: str,
    out_dir: str | os.PathLike[str],
    *,
    seed: int = 0,
    quick: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    n_splits: int | None = None,
    progress: bool = True,
    n_jobs: int = 1,
    checkpoints: Any = None,
) -> dict:
    """Train / test 5-NN error against α (β = 1) and against β (α = 1): AML paper Fig. 5.

    Returns
    -------
    dict
        ``{"figures": [...], "table": Table, "files": [...], "notes": [...], "records": Records}``.
    """
    records = sensitivity_records(
        dataset,
        seed=seed,
        quick=quick,
        data_dir=data_dir,
        n_splits=n_splits,
        progress=progress,
        n_jobs=n_jobs,
        checkpoints=checkpoints,
    )
    return report.write_sensitivity(records, out_dir)
