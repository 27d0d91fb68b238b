"""Experiments of the AML paper (Chen et al., IJCAI 2018), computed by this library.

* :func:`run_table1` — Table 1 protocol: random 80/20 splits, 5-NN error (mean ± std) of
  Euclidean distance, GMML, AML (default solver, and Riemannian), the same learners on local
  pairs (and AML-CV, which chooses the pairs), scikit-learn's NCA and metric-learn's ITML /
  LMNN when that package imports; every learner's main parameters tuned by inner
  cross-validation on the training part of each split, never on its test part.
* :func:`run_synthetic` — Fig. 3: GMML vs AML on the synthetic 10-D two-class set.
* :func:`run_roc` — Fig. 4's kind: ROC curves and AUC of pair verification on held-out pairs.
* :func:`run_sensitivity` — Fig. 5: train / test error against α and against β.

Each ``*_records`` function runs a protocol and returns its
:class:`~spectral_ml.experiments.Records`; each ``run_*`` function also writes the tables and
figures through :mod:`spectral_ml.experiments.report` and returns what it wrote.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.neighbors import KNeighborsClassifier, NeighborhoodComponentsAnalysis
from sklearn.pipeline import make_pipeline

from spectral_ml.evaluation import knn_error
from spectral_ml.metric import GridEdgeWarning

from . import report
from ._paper import AML_PAPER_TABLE1, PAPER_GRID
from ._preprocessing import (
    PCA_CANDIDATES,
    choose_preprocessing,
    describe_preprocessing,
    load_prepared_cached,
    prepare_features,
    preprocess_split,
    split_standardized,
    suppress_fit_warnings,
)
from ._records import Records
from ._units import Protocol, run_protocol, unit_store

# The figures have their own module; their functions are found here too, beside Table 1's.
from .aml_figures import (
    roc_protocol,
    roc_records,
    run_roc,
    run_sensitivity,
    run_synthetic,
    sensitivity_protocol,
    sensitivity_records,
    synthetic_protocol,
    synthetic_records,
)

__all__ = [
    "PAPER_TABLE1",
    "PAPER_GRID",
    "TABLE1_METHODS",
    "LOCAL_METHODS",
    "NCA_MAX_ROWS",
    "prepare_features",
    "preprocess_split",
    "split_standardized",
    "choose_preprocessing",
    "metric_learn_learners",
    "table1_protocol",
    "synthetic_protocol",
    "roc_protocol",
    "sensitivity_protocol",
    "table1_records",
    "synthetic_records",
    "roc_records",
    "sensitivity_records",
    "run_table1",
    "run_synthetic",
    "run_roc",
    "run_sensitivity",
]

#: 5-NN error reported in the AML paper's Table 1 (AML, GMML, ITML, LMNN).
PAPER_TABLE1 = AML_PAPER_TABLE1

#: Learners of Table 1, in the order of its columns (ITML and LMNN need metric-learn): the
#: papers', then those learning from local pairs (:data:`LOCAL_METHODS`).
TABLE1_METHODS = (
    "Euclidean",
    "GMML",
    "AML",
    "AML (riemannian)",
    "GMML (local)",
    "AML (local)",
    "AML-CV",
    "NCA",
    "ITML",
    "LMNN",
)

#: The columns of local pairs (each sample with its nearest same-class samples as similar
#: pairs and its nearest other-class samples as dissimilar pairs): GMML with t (and its
#: closed form) tuned over AMLMetricCV's default t grid, AML with (α, β) tuned, and :class:`~spectral_ml.metric.AMLMetricCV` choosing the pair
#: strategy, the numbers of neighbours, t and (α, β) itself.
LOCAL_METHODS = ("GMML (local)", "AML (local)", "AML-CV")

#: NCA's memory and time grow with the square of the training rows: above this many (2000
#: in quick mode) it is fitted on a stratified subsample (said in the table's notes).
NCA_MAX_ROWS = 5000
_QUICK_NCA_MAX_ROWS = 2000


def _metric_learn_broken(exc) -> str:
    """Why an installed metric-learn fails, with the versions involved and the fix."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ml = version("metric-learn")
    except PackageNotFoundError:  # pragma: no cover - imported, hence installed
        ml = "?"
    sk = version("scikit-learn")
    text = f"metric-learn {ml} is installed but fails with scikit-learn {sk} ({type(exc).__name__}: {exc})"
    if tuple(int(p) for p in re.findall(r"\d+", sk)[:2]) >= (1, 8):
        text += (
            "; metric-learn 0.7 calls scikit-learn as it was before 1.8 (check_X_y's force_all_finite "
            "argument, which scikit-learn 1.8 removed): install scikit-learn<1.8 in this environment to compare "
            "with ITML and LMNN"
        )
    return text


def metric_learn_learners() -> tuple[Any, Any]:
    """Return metric_learn's ITML / LMNN classes, or None with the reason it failed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import metric_learn  # noqa: F401 - to learn whether the installed metric-learn imports
            from metric_learn import LMNN, ITML_Supervised

        return {"ITML": ITML_Supervised, "LMNN": LMNN}, None
    except ModuleNotFoundError as exc:
        if exc.name == "metric_learn":
            return None, "metric-learn is not installed (pip install metric-learn)"
        return None, _metric_learn_broken(exc)
    except Exception as exc:  # broken on new scikit-learn releases
        return None, _metric_learn_broken(exc)


def _failure(method, exc) -> str:
    """What a failed fit says in the notes (for metric-learn's learners: the versions and the fix)."""
    if method in ("ITML", "LMNN"):
        return _metric_learn_broken(exc)
    return f"{type(exc).__name__}: {exc}"


def _learners(quick, seed, n_jobs=None):
    """Factories of the compared learners: name -> callable(X_tr, y_tr) -> fitted transformer.

    The two AML columns share one tuning per training part: both solvers minimize the same
    D(M), so (α, β) is chosen once by :class:`AMLMetricCV` (with its default solver, the
    "AML" column) and the Riemannian column refits with it. The papers' GMML and AML
    columns learn from random pairs only; the local columns (:data:`LOCAL_METHODS`) from
    local pairs, or (AML-CV) from the strategy that inner cross-validation chooses.
    """
    from spectral_ml.metric import AMLMetric, AMLMetricCV, GMMLMetric

    grid = (1e-2, 1.0, 1e2) if quick else PAPER_GRID
    inner = 3
    tuned = {}

    def gmml(X, y, *, local=False):
        params = {"gmmlmetric__t": [0.1, 0.3, 0.5, 0.7, 0.9], "gmmlmetric__reg": [1e-3, 1e-1]}
        if quick:
            params = {"gmmlmetric__t": [0.3, 0.5, 0.7], "gmmlmetric__reg": [1e-3]}
        if local:
            # The GMML points of AMLMetricCV's default grid: its t (beyond 1, past B) and
            # its closed forms.
            defaults = AMLMetricCV().get_params()
            params["gmmlmetric__t"] = list(defaults["ts"])
            if "paths" in defaults:
                params["gmmlmetric__path"] = list(defaults["paths"])
        pairs = {"pairs": "neighbors"} if local else {}
        pipe = make_pipeline(GMMLMetric(random_state=seed, **pairs), KNeighborsClassifier(5))
        cv = StratifiedKFold(inner, shuffle=True, random_state=seed)
        search = GridSearchCV(pipe, params, cv=cv, n_jobs=n_jobs).fit(X, y)
        return search.best_estimator_[0]

    def aml_cv(**kwargs):
        return AMLMetricCV(alphas=grid, betas=grid, cv=inner, random_state=seed, **kwargs)

    def aml_tuned(X, y):
        key = (id(X), X.shape)
        if key not in tuned:
            tuned.clear()
            tuned[key] = aml_cv(pairs="random", ts=()).fit(X, y)
        return tuned[key]

    def aml_riemannian(X, y):
        cv_model = aml_tuned(X, y)
        return AMLMetric(alpha=cv_model.alpha_, beta=cv_model.beta_, solver="riemannian", random_state=seed).fit(X, y)

    def nca(X, y):
        return NeighborhoodComponentsAnalysis(random_state=seed, max_iter=50 if quick else 200).fit(X, y)

    learners = {
        "Euclidean": lambda X, y: None,
        "GMML": gmml,
        "AML": aml_tuned,
        "AML (riemannian)": aml_riemannian,
        "GMML (local)": functools.partial(gmml, local=True),
        "AML (local)": lambda X, y: aml_cv(pairs="neighbors", ts=()).fit(X, y),
        "AML-CV": lambda X, y: aml_cv().fit(X, y),
        "NCA": nca,
    }
    ml, reason = metric_learn_learners()
    if ml is not None:
        learners["ITML"] = lambda X, y: ml["ITML"](random_state=seed).fit(X, y)
        learners["LMNN"] = lambda X, y: ml["LMNN"](random_state=seed).fit(X, y)
    return learners, reason


def _choice(model) -> str | None:
    """What a learner that chooses its pairs by cross-validation chose, in a few words."""
    if getattr(model, "pairs_", None) is None:
        return None
    if getattr(model, "t_", None) is not None:
        path = getattr(model, "path_", None)
        what = f"GMML{f' ({path})' if path else ''} at t={model.t_:g}"
    else:
        what = f"AML at α={model.alpha_:g}, β={model.beta_:g}"
    if model.pairs_ == "neighbors":
        return f"local pairs (k_target={model.k_target_}, k_impostor={model.k_impostor_}), {what}"
    return f"random pairs, {what}"


#: Left out of the ``quick`` default (they can still be named): metric-learn's learners, and
#: the local GMML and AML columns, which would make a quick run half as long again (AML-CV,
#: which searches local pairs too, stays).
_NOT_QUICK = ("ITML", "LMNN", "GMML (local)", "AML (local)")


def _check_methods(methods, quick, reason):
    """The learners to run, in table order; the default leaves ``_NOT_QUICK`` out of ``quick``."""
    if methods is None:
        methods = [
            m
            for m in TABLE1_METHODS
            if not (quick and m in _NOT_QUICK) and not (reason is not None and m in ("ITML", "LMNN"))
        ]
    else:
        methods = list(methods)
        unknown = [m for m in methods if m not in TABLE1_METHODS]
        if not methods or unknown:
            raise ValueError(f"methods must be a non-empty subset of {TABLE1_METHODS}, got {methods!r}.")
        if reason is not None and {"ITML", "LMNN"} & set(methods):
            raise ValueError(f"methods ITML and LMNN need metric-learn: {reason}.")
        methods = [m for m in TABLE1_METHODS if m in methods]
    return methods


def _check_preprocessing(standardize, pca):
    if standardize not in (True, False, "cv"):
        raise ValueError(f"standardize must be True, False or 'cv', got {standardize!r}.")
    if not (
        pca in (None, "default", "cv")
        or (isinstance(pca, (int, np.integer)) and not isinstance(pca, bool) and pca >= 1)
    ):
        raise ValueError(f"pca must be a positive int, None, 'default' or 'cv', got {pca!r}.")


def _nca_rows(quick):
    return min(NCA_MAX_ROWS, _QUICK_NCA_MAX_ROWS) if quick else NCA_MAX_ROWS


def _nca_subsample(X, y, seed, quick):
    """At most :data:`NCA_MAX_ROWS` rows (fewer in quick mode), class proportions kept."""
    n = _nca_rows(quick)
    if X.shape[0] <= n:
        return X, y
    X_sub, _, y_sub, _ = train_test_split(X, y, train_size=n, stratify=y, random_state=seed)
    return X_sub, y_sub


def _check_table1(n_splits, standardize, pca):
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 1:
        raise ValueError(f"n_splits must be at least 1, got {n_splits}.")
    _check_preprocessing(standardize, pca)


def _table1_unit(key, *, quick, seed, data_dir, methods, standardize, pca):
    """One data set and split of Table 1: preprocessing chosen, every learner fitted and scored."""
    name, split = key
    X, y, load_notes = load_prepared_cached(name, data_dir, seed)
    learners, _ = _learners(quick, seed)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed + split)
    preprocessing = choose_preprocessing(name, X_tr, y_tr, standardize=standardize, pca=pca, seed=seed + split)
    X_tr, X_te = preprocess_split(
        name, X_tr, X_te, seed=seed + split, standardize=preprocessing[0], pca=preprocessing[1]
    )
    if "AML (riemannian)" in methods:
        # A fresh worker process would otherwise time pymanopt's import (about a second) as
        # part of its first Riemannian fit.
        with contextlib.suppress(ImportError):
            import pymanopt  # noqa: F401 - imported outside the timed fit
    rows, failures, edges, subsampled = [], [], [], False
    for method in methods:
        start = time.perf_counter()
        with suppress_fit_warnings():
            try:
                X_fit, y_fit = X_tr, y_tr
                if method == "NCA":
                    X_fit, y_fit = _nca_subsample(X_tr, y_tr, seed + split, quick)
                    subsampled |= X_fit.shape[0] < X_tr.shape[0]
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", GridEdgeWarning)
                    model = learners[method](X_fit, y_fit)
                for w in caught:
                    if issubclass(w.category, GridEdgeWarning):
                        edges.append((method, str(w.message)))
                    else:  # the others as they would have been without recording
                        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
                err = knn_error(X_tr, y_tr, X_te, y_te, metric=model)
                elapsed = time.perf_counter() - start
                choice = _choice(model) if method == "AML-CV" else None
            except Exception as exc:  # a baseline failing must not sink the table
                failures.append((method, _failure(method, exc)))
                err = elapsed = float("nan")
                choice = None
        rows.append(
            {
                "dataset": name,
                "split": split,
                "method": method,
                "error": err,
                "time": elapsed,
                "preprocessing": describe_preprocessing(*preprocessing),
                "choice": choice,
            }
        )
    return {
        "rows": rows,
        "notes": list(load_notes),
        "failures": failures,
        "edges": edges,
        "subsampled": subsampled,
        "n_train": int(X_tr.shape[0]),
    }


def _assemble_table1(results, *, datasets, n_splits, quick, methods, standardize, pca, settings, notes):
    notes = list(notes)
    rows = []
    # One note per learner and reason, however many splits it failed on: a learner that
    # cannot run here fails the same way on every split.
    failed: dict[tuple, list[str]] = {}
    at_edge = {}  # method -> [(where, message)]
    for name in datasets:
        units = [results[(name, split)] for split in range(n_splits)]
        notes += [n for n in units[0]["notes"] if n not in notes]
        for split, unit in enumerate(units):
            rows += unit["rows"]
            for method, reason in unit["failures"]:
                failed.setdefault((method, reason), []).append(f"{name} split {split}")
            for method, message in unit.get("edges", ()):
                at_edge.setdefault(method, []).append((f"{name} split {split}", message))
        if any(unit["subsampled"] for unit in units):
            notes.append(
                f"{name}: NCA fitted on a stratified subsample of {_nca_rows(quick)} of the "
                f"{units[-1]['n_train']} training rows of each split (its memory grows with the square "
                f"of the rows); evaluated on every row."
            )
    if "AML-CV" in methods:
        for name in datasets:
            chosen = [r["choice"] for r in rows if r["dataset"] == name and r["method"] == "AML-CV" and r["choice"]]
            if chosen:
                counts = {c: chosen.count(c) for c in dict.fromkeys(chosen)}
                notes.append(
                    f"{name}: AML-CV chose "
                    + "; ".join(
                        f"{c} ({n} split{'s' if n > 1 else ''})"
                        for c, n in sorted(counts.items(), key=lambda cn: -cn[1])
                    )
                    + "."
                )
    for method, found in at_edge.items():
        notes.append(
            f"{method}: the value chosen by inner cross-validation sat at an edge of its grid, with the "
            f"validation error still falling toward it, on {len(found)} of {len(datasets) * n_splits} "
            f"splits (first, {found[0][0]}: {found[0][1]})"
        )
    for (method, reason), where in failed.items():
        shown = ", ".join(where[:4]) + (f" and {len(where) - 4} more" if len(where) > 4 else "")
        notes.append(f"{method} failed on {len(where)} of {len(datasets) * n_splits} splits ({shown}): {reason}.")
    how = {True: "standardized", False: "not standardized", "cv": "standardized or not"}[standardize]
    if standardize == "cv" or pca == "cv":
        notes.append(
            f"Preprocessing ({how}; PCA: {pca}) chosen on each split's training part by 3-fold "
            f"cross-validation of GMML's 5-NN error (candidates: {', '.join(('none', *map(str, PCA_CANDIDATES)))} "
            f"PCA dimensions below the number of features); the column 'preprocessing' says what was used."
        )
    return Records("aml-table1", rows=rows, settings=settings, notes=notes)


def table1_protocol(
    datasets: Sequence[str],
    *,
    n_splits: int = 20,
    quick: bool = False,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    methods: Sequence[str] | None = None,
    standardize: bool = True,
    pca: int | str | None = "default",
) -> Protocol:
    """The Table 1 protocol (see :func:`run_table1`) as units: one per data set and split."""
    _check_table1(n_splits, standardize, pca)
    _, reason = _learners(quick, seed)
    default = methods is None
    methods = _check_methods(methods, quick, reason)
    datasets = list(datasets)
    notes = []
    if default and quick:
        notes.append("GMML (local) and AML (local) skipped in --quick mode (AML-CV searches local pairs too).")
    if not {"ITML", "LMNN"} & set(methods) and reason:
        notes.append(f"ITML / LMNN skipped: {reason}.")
    elif not {"ITML", "LMNN"} & set(methods) and quick:
        notes.append("ITML / LMNN skipped in --quick mode.")
    data_dir = None if data_dir is None else str(data_dir)
    settings = {
        "datasets": datasets,
        "methods": methods,
        "n_splits": int(n_splits),
        "quick": quick,
        "seed": seed,
        "standardize": standardize,
        "pca": pca,
    }
    units = [(name, split) for name in datasets for split in range(int(n_splits))]
    compute = functools.partial(
        _table1_unit, quick=quick, seed=seed, data_dir=data_dir, methods=methods, standardize=standardize, pca=pca
    )
    assemble = functools.partial(
        _assemble_table1,
        datasets=datasets,
        n_splits=int(n_splits),
        quick=quick,
        methods=methods,
        standardize=standardize,
        pca=pca,
        settings=settings,
        notes=notes,
    )
    return Protocol("aml-table1", {**settings, "data_dir": data_dir}, units, compute, assemble, unit_name="split")


def table1_records(
    datasets: Sequence[str],
    *,
    n_splits: int = 20,
    quick: bool = False,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    methods: Sequence[str] | None = None,
    standardize: bool = True,
    pca: int | str | None = "default",
    progress: bool = True,
    n_jobs: int = 1,
    checkpoints: Any = None,
) -> Records:
    """Measure the Table 1 protocol (see :func:`run_table1`); return its records.

    Returns
    -------
    Records
        One row per data set, split and learner: ``dataset``, ``split``, ``method``,
        ``error`` (5-NN test error; NaN if the learner failed), ``time`` (fit and tuning,
        s; NaN if the learner failed) and ``preprocessing`` (what the split used).
    """
    protocol = table1_protocol(
        datasets,
        n_splits=n_splits,
        quick=quick,
        seed=seed,
        data_dir=data_dir,
        methods=methods,
        standardize=standardize,
        pca=pca,
    )
    return run_protocol(protocol, store=unit_store(checkpoints, "aml-table1"), n_jobs=n_jobs, progress=progress)


def run_table1(
    datasets: Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    n_splits: int = 20,
    quick: bool = False,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    methods: Sequence[str] | None = None,
    standardize: bool = True,
    pca: int | str | None = "default",
    n_jobs: int = 1,
    checkpoints: Any = None,
) -> dict:
    """AML paper Table 1 protocol: 5-NN error over random 80/20 splits.

    For each dataset and split: stratified 80/20 split, features preprocessed on the
    training part (``standardize``, ``pca``), each learner tuned by inner 3-fold
    cross-validation on the training part (AML: α, β on the paper's grid {10⁻³, …, 10³}
    through :class:`~spectral_ml.metric.AMLMetricCV`; GMML: t and its regularizer), then
    the 5-NN error on the test part.

    Parameters
    ----------
    datasets : sequence of str
        Names for :func:`spectral_ml.datasets.load_dataset`.
    out_dir : path-like
        Where ``aml_table1.csv`` / ``.md`` are written.
    n_splits : int, default=20
        Random splits (the paper's protocol uses 20).
    quick : bool, default=False
        Smaller grids, fewer NCA iterations, no metric-learn baselines and only one of the
        local columns (AML-CV) unless ``methods`` names them.
    seed : int, default=0
        Seed of splits, pairs and learners.
    data_dir : path-like, optional
        Data directory for the ``.npz`` datasets.
    progress : bool, default=True
        Show a progress bar on standard error (when it is a terminal) naming the data set,
        split and learner at work.
    methods : sequence of str, optional
        Learners to compare, a subset of :data:`TABLE1_METHODS` (default: all that are
        available; ITML, LMNN, "GMML (local)" and "AML (local)" not in ``quick`` mode; see
        :data:`LOCAL_METHODS` for the columns of local pairs). NCA is fitted on a stratified
        subsample of :data:`NCA_MAX_ROWS` rows (2000 with ``quick``) when a training part is
        larger, and said so in the notes.
    standardize : bool or "cv", default=True
        Standardize the features (on the training part), or let 3-fold cross-validation of
        GMML on each training part choose (:func:`choose_preprocessing`).
    pca : int, None, "default" or "cv", default="default"
        Principal components kept after standardizing; ``"default"``: 50 for MNIST, none
        otherwise; ``"cv"``: chosen with ``standardize`` by cross-validation.
    n_jobs : int, default=1
        Splits computed at the same time, each in its own process with its share of the
        BLAS threads; the tables are the same whatever ``n_jobs``.
    checkpoints : path-like or UnitStore, optional
        Directory where every finished split is kept (in ``aml-table1/``): a run with the
        same settings and directory computes only the splits it lacks.

    Returns
    -------
    dict
        ``{"table": Table, "timing": Table, "files": [...], "errors": {dataset: {method:
        [errors]}}, "notes": [...], "records": Records}``.
    """
    records = table1_records(
        datasets,
        n_splits=n_splits,
        quick=quick,
        seed=seed,
        data_dir=data_dir,
        methods=methods,
        standardize=standardize,
        pca=pca,
        progress=progress,
        n_jobs=n_jobs,
        checkpoints=checkpoints,
    )
    return report.write_table1(records, out_dir)
