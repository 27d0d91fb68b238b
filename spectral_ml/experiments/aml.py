"""Experiments of the AML paper (Chen et al., IJCAI 2018), computed by this library.

* :func:`run_table1` — Table 1 protocol: random 80/20 splits, 5-NN error (mean ± std) of
  Euclidean distance, GMML, AML (both solvers), scikit-learn's NCA and metric-learn's
  ITML / LMNN when that package imports; every learner's main parameters tuned by inner
  cross-validation on the training part of each split, never on its test part.
* :func:`run_synthetic` — Fig. 3: GMML vs AML on the synthetic 10-D two-class set.
* :func:`run_roc` — Fig. 4's kind: ROC curves and AUC of pair verification on held-out pairs.
* :func:`run_sensitivity` — Fig. 5: train / test error against α and against β.

Each function writes CSV + Markdown tables and PNG figures into ``out_dir`` and returns a
dict describing what it wrote (used by the report of ``spectral-ml reproduce``).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.neighbors import KNeighborsClassifier, NeighborhoodComponentsAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from spectral_ml.metric import SingularStatisticsWarning

from ._io import Progress, Table, format_mean_std, save_figure

__all__ = [
    "PAPER_TABLE1",
    "prepare_features",
    "preprocess_split",
    "split_standardized",
    "run_table1",
    "run_synthetic",
    "run_roc",
    "run_sensitivity",
]

#: 5-NN error reported in the AML paper's Table 1 (AML, GMML, ITML, LMNN).
PAPER_TABLE1 = {
    "breast_cancer_wisconsin": {"AML": 0.044, "GMML": 0.040, "ITML": 0.073, "LMNN": 0.052},
    "vehicle": {"AML": 0.203, "GMML": 0.235, "ITML": 0.301, "LMNN": 0.234},
    "german_credit_numeric": {"AML": 0.251, "GMML": 0.273, "ITML": 0.292, "LMNN": 0.274},
    "image_segment": {"AML": 0.024, "GMML": 0.031, "ITML": 0.051, "LMNN": 0.027},
    "mnist": {"AML": 0.105, "GMML": 0.120, "ITML": 0.143, "LMNN": 0.174},
}

#: The paper's tuning grid for α and β (Sec. 3.2).
PAPER_GRID = tuple(10.0**k for k in range(-3, 4))

# MNIST has 784 pixels, 65 of them constant: the metric is learned on 50 principal
# components (a common preprocessing for Mahalanobis learners; the paper does not say).
_PCA_COMPONENTS = {"mnist": 50}


def prepare_features(name, X):
    """Drop constant columns (they make A and B singular); return the kept column mask."""
    keep = np.ptp(X, axis=0) > 0
    return X[:, keep], keep


def preprocess_split(name, X_train, X_test, *, seed=0):
    """Preprocess one split with statistics of its training part only.

    Columns constant on the training part are dropped, features are standardized with the
    training mean and deviation, and for MNIST projected on the training part's leading
    principal components (``_PCA_COMPONENTS``).
    """
    keep = np.ptp(X_train, axis=0) > 0
    X_train, X_test = X_train[:, keep], X_test[:, keep]
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if name in _PCA_COMPONENTS:
        pca = PCA(_PCA_COMPONENTS[name], random_state=seed).fit(X_train)
        X_train, X_test = pca.transform(X_train), pca.transform(X_test)
    return X_train, X_test


def split_standardized(name, X, y, *, seed, test_size=0.2):
    """One stratified split, preprocessed by :func:`preprocess_split` on its training part."""
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)
    X_tr, X_te = preprocess_split(name, X_tr, X_te, seed=seed)
    return X_tr, X_te, y_tr, y_te


def _metric_learn():
    """Return metric_learn's ITML / LMNN classes, or None with the reason it failed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import metric_learn  # noqa: F401
            from metric_learn import ITML_Supervised, LMNN

        return {"ITML": ITML_Supervised, "LMNN": LMNN}, None
    except Exception as exc:  # broken on new scikit-learn releases
        return None, f"metric-learn unavailable ({type(exc).__name__}: {exc})"


def _knn_error(transformer, X_tr, y_tr, X_te, y_te, k=5):
    Z_tr = X_tr if transformer is None else transformer.transform(X_tr)
    Z_te = X_te if transformer is None else transformer.transform(X_te)
    clf = KNeighborsClassifier(n_neighbors=k).fit(Z_tr, y_tr)
    return float(np.mean(clf.predict(Z_te) != y_te))


def _learners(quick, seed, n_jobs=None):
    """Factories of the compared learners: name -> callable(X_tr, y_tr) -> fitted transformer."""
    from spectral_ml.metric import AMLMetric, AMLMetricCV, GMMLMetric

    grid = (1e-2, 1.0, 1e2) if quick else PAPER_GRID
    inner = 3

    def gmml(X, y):
        params = {"gmmlmetric__t": [0.1, 0.3, 0.5, 0.7, 0.9], "gmmlmetric__reg": [1e-3, 1e-1]}
        if quick:
            params = {"gmmlmetric__t": [0.3, 0.5, 0.7], "gmmlmetric__reg": [1e-3]}
        pipe = make_pipeline(GMMLMetric(random_state=seed), KNeighborsClassifier(5))
        cv = StratifiedKFold(inner, shuffle=True, random_state=seed)
        search = GridSearchCV(pipe, params, cv=cv, n_jobs=n_jobs).fit(X, y)
        return search.best_estimator_[0]

    def aml_cv(solver):
        def fit(X, y):
            cv_model = AMLMetricCV(
                alphas=grid, betas=grid, cv=inner, solver="pgd", random_state=seed
            ).fit(X, y)
            if solver == "pgd":
                return cv_model
            # Both solvers minimize the same D(M): tune once, refit with the other solver.
            return AMLMetric(
                alpha=cv_model.alpha_, beta=cv_model.beta_, solver=solver, random_state=seed
            ).fit(X, y)

        return fit

    def nca(X, y):
        return NeighborhoodComponentsAnalysis(random_state=seed, max_iter=50 if quick else 200).fit(X, y)

    learners = {
        "Euclidean": lambda X, y: None,
        "GMML": gmml,
        "AML (pgd)": aml_cv("pgd"),
        "AML (riemannian)": aml_cv("riemannian"),
        "NCA": nca,
    }
    ml, reason = _metric_learn()
    if ml is not None and not quick:
        learners["ITML"] = lambda X, y: ml["ITML"](random_state=seed).fit(X, y)
        learners["LMNN"] = lambda X, y: ml["LMNN"](random_state=seed).fit(X, y)
    return learners, reason


def run_table1(
    datasets,
    out_dir,
    *,
    n_splits=20,
    quick=False,
    seed=0,
    data_dir=None,
    progress=True,
):
    """AML paper Table 1 protocol: 5-NN error over random 80/20 splits.

    For each dataset and split: stratified 80/20 split, features standardized on the
    training part, each learner tuned by inner 3-fold cross-validation on the training part
    (AML: α, β on the paper's grid {10⁻³, …, 10³} through :class:`~spectral_ml.metric.AMLMetricCV`;
    GMML: t and its regularizer), then the 5-NN error on the test part.

    Parameters
    ----------
    datasets : sequence of str
        Names for :func:`spectral_ml.datasets.load_dataset`.
    out_dir : path-like
        Where ``aml_table1.csv`` / ``.md`` are written.
    n_splits : int, default=20
        Random splits (the paper's protocol uses 20).
    quick : bool, default=False
        Smaller grids, no metric-learn baselines.
    seed : int, default=0
        Seed of splits, pairs and learners.
    data_dir : path-like, optional
        Data directory for the ``.npz`` datasets.
    progress : bool, default=True
        Show a progress bar on standard error.

    Returns
    -------
    dict
        ``{"table": Table, "files": [...], "errors": {dataset: {method: [errors]}}, "notes": [...]}``.
    """
    from spectral_ml.datasets import load_dataset

    if n_splits < 1:
        raise ValueError(f"n_splits must be at least 1, got {n_splits}.")
    learners, reason = _learners(quick, seed)
    notes = []
    if reason:
        notes.append(f"ITML / LMNN skipped: {reason}.")
    elif quick:
        notes.append("ITML / LMNN skipped in --quick mode.")
    methods = list(learners)
    errors = {}
    times = {}
    bar = Progress(len(datasets) * n_splits, "aml-table1", enabled=progress)
    for name in datasets:
        kwargs = {"n_samples": 4000, "random_state": seed} if name == "mnist" else {}
        data = load_dataset(name, data_dir=data_dir, **kwargs)
        X, keep = prepare_features(name, np.asarray(data.X, dtype=np.float64))
        y = np.asarray(data.y)
        if (~keep).any():
            notes.append(f"{name}: dropped {int((~keep).sum())} constant feature(s).")
        errors[name] = {m: [] for m in methods}
        times[name] = {m: 0.0 for m in methods}
        for split in range(n_splits):
            X_tr, X_te, y_tr, y_te = split_standardized(name, X, y, seed=seed + split)
            for method, fit in learners.items():
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    warnings.simplefilter("ignore", SingularStatisticsWarning)
                    try:
                        model = fit(X_tr, y_tr)
                        err = _knn_error(model, X_tr, y_tr, X_te, y_te)
                    except Exception as exc:  # a baseline failing must not sink the table
                        notes.append(f"{name} split {split}: {method} failed ({type(exc).__name__}: {exc}).")
                        err = float("nan")
                times[name][method] += time.perf_counter() - start
                errors[name][method].append(err)
            bar.update(info=name)
    paper_cols = ["paper AML", "paper GMML", "paper ITML", "paper LMNN"]
    table = Table(["dataset", *methods, *paper_cols], title=f"5-NN error, {n_splits} random 80/20 splits (mean ± std)")
    for name in datasets:
        paper = PAPER_TABLE1.get(name, {})
        table.add_row(
            name,
            *(format_mean_std(errors[name][m]) for m in methods),
            *(f"{paper[k]:.3f}" if k in paper else "—" for k in ("AML", "GMML", "ITML", "LMNN")),
        )
    timing = Table(["dataset", *methods], title="Total fit + tuning time per dataset (s)")
    for name in datasets:
        timing.add_row(name, *(f"{times[name][m]:.1f}" for m in methods))
    files = list(table.save(out_dir, "aml_table1")) + list(timing.save(out_dir, "aml_table1_time"))
    return {"table": table, "timing": timing, "files": files, "errors": errors, "notes": notes}


def run_synthetic(out_dir, *, seed=0, alpha=1.0, beta=1.0):
    """AML paper Fig. 3: GMML vs AML on the synthetic set, train and test, first two PCs.

    Returns
    -------
    dict
        ``{"figure": path, "table": Table, "files": [...]}`` with the 5-NN errors.
    """
    from spectral_ml.datasets import make_aml_synthetic
    from spectral_ml.metric import AMLMetric, GMMLMetric
    from spectral_ml.plotting import plot_feature_grid

    data = make_aml_synthetic(random_state=seed)
    models = {
        "GMML": GMMLMetric(random_state=seed).fit(data.X_train, data.y_train),
        "AML": AMLMetric(alpha=alpha, beta=beta, random_state=seed).fit(data.X_train, data.y_train),
    }
    pca = PCA(2).fit(data.X_train)
    panels = {}
    table = Table(["method", "train 5-NN error", "test 5-NN error"], title="Synthetic set (Fig. 3)")
    for name, model in models.items():
        Z_tr = model.transform(data.X_train)
        Z_te = model.transform(data.X_test)
        p2 = PCA(2).fit(Z_tr)
        panels[name] = {
            "train": (p2.transform(Z_tr), data.y_train),
            "test": (p2.transform(Z_te), data.y_test),
        }
        table.add_row(
            name,
            _knn_error(model, data.X_train, data.y_train, data.X_train, data.y_train),
            _knn_error(model, data.X_train, data.y_train, data.X_test, data.y_test),
        )
    panels = {"input": {"train": (pca.transform(data.X_train), data.y_train),
                        "test": (pca.transform(data.X_test), data.y_test)}, **panels}
    fig = plot_feature_grid(panels, title="Synthetic data, first two principal components")
    fig_path = save_figure(fig, out_dir, "aml_synthetic")
    files = [fig_path, *table.save(out_dir, "aml_synthetic")]
    return {"figure": fig_path, "table": table, "files": files}


def _held_out_pairs(y, n_pairs, rng):
    from spectral_ml.metric import make_pairs

    idx, labels = make_pairs(y, n_pairs, random_state=rng)
    return np.asarray(idx), np.asarray(labels)


def run_roc(datasets, out_dir, *, seed=0, quick=False, data_dir=None, alpha=1.0, beta=1.0):
    """ROC curves and AUC of pair verification on held-out pairs (AML paper Fig. 4's kind).

    The paper uses face and patch-matching pairs that are not distributed with this
    library; here each dataset is split 80/20, the metrics are learned on the training
    part, and similar / dissimilar pairs are drawn from the test part only.

    Returns
    -------
    dict
        ``{"figures": [...], "table": Table, "files": [...]}``.
    """
    from spectral_ml.datasets import load_dataset
    from spectral_ml.evaluation.verification import pair_verification_report
    from spectral_ml.metric import AMLMetric, GMMLMetric
    from spectral_ml.plotting import plot_roc

    table = Table(["dataset", "method", "AUC", "FPR at 95% TPR", "EER"], title="Pair verification on held-out pairs")
    files, figures = [], []
    for name in datasets:
        data = load_dataset(name, data_dir=data_dir)
        X, _ = prepare_features(name, np.asarray(data.X, dtype=np.float64))
        y = np.asarray(data.y)
        X_tr, X_te, y_tr, y_te = split_standardized(name, X, y, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SingularStatisticsWarning)
            models = {
                "Euclidean": None,
                "GMML": GMMLMetric(random_state=seed).fit(X_tr, y_tr),
                "AML": AMLMetric(alpha=alpha, beta=beta, random_state=seed).fit(X_tr, y_tr),
            }
        idx, labels = _held_out_pairs(y_te, 2000 if quick else 10000, seed + 1)
        curves = {}
        for method, model in models.items():
            Z = X_te if model is None else model.transform(X_te)
            dist = np.sqrt(np.sum((Z[idx[:, 0]] - Z[idx[:, 1]]) ** 2, axis=1))
            rep = pair_verification_report(dist, labels)
            curves[method] = (rep.fpr, rep.tpr, rep.auc)
            table.add_row(name, method, f"{rep.auc:.4f}", f"{rep.fpr_at_tpr:.4f}", f"{rep.eer:.4f}")
        fig = plot_roc(curves, title=f"Pair verification: {name}")
        path = save_figure(fig, out_dir, f"aml_roc_{name}")
        figures.append(path)
        files.append(path)
    files += list(table.save(out_dir, "aml_roc"))
    return {"figures": figures, "table": table, "files": files}


def run_sensitivity(dataset, out_dir, *, seed=0, quick=False, data_dir=None, n_splits=None):
    """Train / test 5-NN error against α (β = 1) and against β (α = 1): AML paper Fig. 5.

    Returns
    -------
    dict
        ``{"figures": [...], "table": Table, "files": [...]}``.
    """
    from spectral_ml.datasets import load_dataset
    from spectral_ml.metric import AMLMetric
    from spectral_ml.plotting import plot_sensitivity

    kwargs = {"n_samples": 4000, "random_state": seed} if dataset == "mnist" else {}
    data = load_dataset(dataset, data_dir=data_dir, **kwargs)
    X, _ = prepare_features(dataset, np.asarray(data.X, dtype=np.float64))
    y = np.asarray(data.y)
    grid = [1e-3, 1e-1, 1e1, 1e3] if quick else list(PAPER_GRID)
    n_splits = n_splits or (1 if quick else 5)
    results = {"alpha": ([], []), "beta": ([], [])}
    table = Table(["parameter", "value", "train error", "test error"], title=f"Sensitivity on {dataset}")
    for param in ("alpha", "beta"):
        for value in grid:
            tr_errs, te_errs = [], []
            for split in range(n_splits):
                X_tr, X_te, y_tr, y_te = split_standardized(dataset, X, y, seed=seed + split)
                params = {"alpha": 1.0, "beta": 1.0, param: value}
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    warnings.simplefilter("ignore", SingularStatisticsWarning)
                    model = AMLMetric(**params, random_state=seed).fit(X_tr, y_tr)
                tr_errs.append(_knn_error(model, X_tr, y_tr, X_tr, y_tr))
                te_errs.append(_knn_error(model, X_tr, y_tr, X_te, y_te))
            results[param][0].append(float(np.mean(tr_errs)))
            results[param][1].append(float(np.mean(te_errs)))
            table.add_row(param, value, results[param][0][-1], results[param][1][-1])
    figures = []
    for param, symbol in (("alpha", "α (β = 1)"), ("beta", "β (α = 1)")):
        fig = plot_sensitivity(grid, *results[param], param_name=symbol, title=f"{dataset}: error against {symbol}")
        figures.append(save_figure(fig, out_dir, f"aml_sensitivity_{param}"))
    files = figures + list(table.save(out_dir, "aml_sensitivity"))
    return {"figures": figures, "table": table, "files": files}
