"""Preprocessing of the AML experiments' splits, fitted on each training part only.

Constant columns dropped, features standardized, principal components kept; and the inner
cross-validation of GMML that chooses among those options on a training part.
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

from spectral_ml.evaluation import knn_error
from spectral_ml.metric import GMMLMetric, SingularStatisticsWarning

__all__ = [
    "MNIST_SUBSET",
    "load_prepared",
    "load_prepared_cached",
    "PCA_CANDIDATES",
    "DEFAULT_PCA",
    "suppress_fit_warnings",
    "prepare_features",
    "describe_preprocessing",
    "preprocess_split",
    "split_standardized",
    "choose_preprocessing",
]

# MNIST has 784 pixels, 65 of them constant: by default its metric is learned on 50
# principal components (a common preprocessing for Mahalanobis learners; the paper does not
# say). Any preprocessing can be chosen per data set by inner cross-validation instead.
DEFAULT_PCA = {"mnist": 50}

#: PCA dimensions tried by the inner cross-validation of the preprocessing (those below the
#: number of features).
PCA_CANDIDATES = (50, 100)


@contextlib.contextmanager
def suppress_fit_warnings() -> Iterator[None]:
    """Silence the warnings of the compared learners that the protocols tolerate."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", SingularStatisticsWarning)
        yield


def prepare_features(name: str, X: Any) -> tuple[Any, Any]:
    """Drop constant columns (they make A and B singular); return the kept column mask."""
    keep = np.ptp(X, axis=0) > 0
    return X[:, keep], keep


def describe_preprocessing(standardize: bool, pca: Any) -> str:
    parts = ["standardized" if standardize else "raw scale"]
    if pca:
        parts.append(f"PCA {pca}")
    return ", ".join(parts)


def preprocess_split(
    name: str, X_train: Any, X_test: Any, *, seed: int = 0, standardize: bool = True, pca: Any = "default"
) -> tuple[Any, Any]:
    """Preprocess one split with statistics of its training part only.

    Columns constant on the training part are dropped; features are standardized with the
    training mean and deviation (``standardize``), then projected on the training part's
    leading principal components (``pca``).

    Parameters
    ----------
    name : str
        Data set name (sets the default ``pca``).
    X_train, X_test : ndarray
        The split.
    seed : int, default=0
        Seed of the PCA solver.
    standardize : bool, default=True
        Standardize the features.
    pca : int, None or "default", default="default"
        Number of principal components (capped at the number of features), None for no
        projection, ``"default"``: 50 for MNIST, none otherwise.

    Returns
    -------
    X_train, X_test : ndarray
    """
    if pca == "default":
        pca = DEFAULT_PCA.get(name)
    keep = np.ptp(X_train, axis=0) > 0
    X_train, X_test = X_train[:, keep], X_test[:, keep]
    if standardize:
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if pca:
        pca = PCA(min(int(pca), X_train.shape[1], X_train.shape[0]), random_state=seed).fit(X_train)
        X_train, X_test = pca.transform(X_train), pca.transform(X_test)
    return X_train, X_test


def split_standardized(
    name: str, X: Any, y: Any, *, seed: int, test_size: float = 0.2, standardize: bool = True, pca: Any = "default"
) -> tuple[Any, Any, Any, Any]:
    """One stratified split, preprocessed by :func:`preprocess_split` on its training part."""
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)
    X_tr, X_te = preprocess_split(name, X_tr, X_te, seed=seed, standardize=standardize, pca=pca)
    return X_tr, X_te, y_tr, y_te


def _candidates(name, n_features, standardize, pca):
    """(standardize, pca) settings to compare; "cv" in either argument tries its options."""
    scales = (True, False) if standardize == "cv" else (bool(standardize),)
    if pca == "cv":
        dims = (None, *(k for k in PCA_CANDIDATES if k < n_features))
    else:
        dims = (DEFAULT_PCA.get(name) if pca == "default" else pca,)
    return [(s, p) for s in scales for p in dims]


def choose_preprocessing(
    name: str,
    X: Any,
    y: Any,
    *,
    standardize: bool | str = "cv",
    pca: int | str | None = "cv",
    seed: int = 0,
    cv: int = 3,
) -> Any:
    """Pick the preprocessing of a training part by inner cross-validation of GMML.

    Each candidate (standardize on / off, no PCA or each of :data:`PCA_CANDIDATES` below the
    number of features) is scored by the mean 5-NN error of GMML (its closed form, t = 0.5)
    over ``cv`` stratified folds of the training part, every fold preprocessed with
    statistics of its own training folds. Ties go to the earlier candidate (standardized,
    no PCA first).

    Returns
    -------
    (standardize, pca) : (bool, int or None)
    """
    candidates = _candidates(name, X.shape[1], standardize, pca)
    if len(candidates) == 1:
        return candidates[0]
    folds = list(StratifiedKFold(cv, shuffle=True, random_state=seed).split(X, y))
    scores = []
    with suppress_fit_warnings():
        for s, p in candidates:
            errs = []
            for tr, va in folds:
                A, B = preprocess_split(name, X[tr], X[va], seed=seed, standardize=s, pca=p)
                model = GMMLMetric(random_state=seed).fit(A, y[tr])
                errs.append(knn_error(A, y[tr], B, y[va], metric=model))
            scores.append(float(np.mean(errs)))
    return candidates[int(np.argmin(scores))]


#: The AML paper evaluates on this many MNIST images (a stratified subset).
MNIST_SUBSET = 4000


def load_prepared(name: str, *, data_dir: str | os.PathLike[str] | None, seed: int) -> tuple[Any, Any, Any]:
    """A data set as float64 features without constant columns, labels, and the load's notes."""
    from spectral_ml.datasets import load_dataset

    kwargs: dict[str, Any] = {"n_samples": MNIST_SUBSET, "random_state": seed} if name == "mnist" else {}
    data = load_dataset(name, data_dir=data_dir, **kwargs)
    X, keep = prepare_features(name, np.asarray(data.X, dtype=np.float64))
    notes = list(data.notes)
    if (~keep).any():
        notes.append(f"{name}: dropped {int((~keep).sum())} constant feature(s).")
    if name == "mnist":
        notes.append(f"mnist: a stratified subset of {MNIST_SUBSET} images, as in the AML paper.")
    return X, np.asarray(data.y), notes


@functools.lru_cache(maxsize=2)
def load_prepared_cached(name: str, data_dir: str | os.PathLike[str] | None, seed: int) -> tuple[Any, Any, Any]:
    """:func:`load_prepared` once per process: the units of one data set share its arrays (read only)."""
    X, y, notes = load_prepared(name, data_dir=data_dir, seed=seed)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y, tuple(notes)
