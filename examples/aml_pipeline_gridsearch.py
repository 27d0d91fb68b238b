"""AML in a scikit-learn pipeline, tuned by grid search
====================================================

Standardize the features, learn an Adversarial Metric Learning (AML) Mahalanobis metric,
classify with 5-nearest neighbours in the learned metric, and tune AML's α and β (and GMML's
t as a baseline) by cross-validation on the training part only. The test part is touched
once, at the end.

Usage::

    python examples/aml_pipeline_gridsearch.py [--dataset wine] [--seed 0]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from spectral_ml.datasets import load_dataset
from spectral_ml.metric import AMLMetric, GMMLMetric


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--dataset", default="wine", help="embedded or NAME.npz dataset (default: wine)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    data = load_dataset(args.dataset)
    X_tr, X_te, y_tr, y_te = train_test_split(data.X, data.y, test_size=0.2, stratify=data.y, random_state=args.seed)
    cv = StratifiedKFold(3, shuffle=True, random_state=args.seed)
    searches = {
        "Euclidean": (make_pipeline(StandardScaler(), KNeighborsClassifier(5)), {}),
        "GMML": (
            make_pipeline(StandardScaler(), GMMLMetric(random_state=args.seed), KNeighborsClassifier(5)),
            {"gmmlmetric__t": [0.3, 0.5, 0.7]},
        ),
        "AML": (
            make_pipeline(StandardScaler(), AMLMetric(random_state=args.seed), KNeighborsClassifier(5)),
            {"amlmetric__alpha": [0.1, 1.0, 10.0], "amlmetric__beta": [0.1, 1.0, 10.0]},
        ),
    }
    print(f"{args.dataset}: {X_tr.shape[0]} training / {X_te.shape[0]} test samples, {X_tr.shape[1]} features")
    for name, (pipe, grid) in searches.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search = GridSearchCV(pipe, grid, cv=cv).fit(X_tr, y_tr)
        error = 1.0 - search.score(X_te, y_te)
        chosen = ", ".join(f"{k.split('__')[1]}={v:g}" for k, v in search.best_params_.items()) or "-"
        print(f"{name:<10s} 5-NN test error {error:.3f}   (chosen: {chosen})")
    aml = search.best_estimator_.named_steps["amlmetric"]
    M = aml.get_mahalanobis_matrix()
    print(
        f"learned M: {M.shape[0]}x{M.shape[1]}, eigenvalues in [{np.linalg.eigvalsh(M).min():.3g}, "
        f"{np.linalg.eigvalsh(M).max():.3g}], {aml.n_iter_} solver iterations"
    )
    return 0


if __name__ == "__main__":
    main()
