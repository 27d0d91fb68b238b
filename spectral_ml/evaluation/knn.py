"""k-nearest-neighbour classification under a learned Mahalanobis metric.

The AML paper (Sec. 3.2) scores metrics by the error of a 5-NN classifier. Under
M = LᵀL, the Mahalanobis distance is the Euclidean distance after x ↦ Lx, so the
classifier runs on transformed samples: through scikit-learn for NumPy arrays, and by
brute force with array-API operations for other libraries (CuPy, PyTorch), which keeps
the work on their device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._backend import (
    any_dask_array,
    device_of,
    get_namespace,
    is_foreign_array,
    match_namespace,
    to_numpy,
)
from .._dask import as_dask_rows, transform_for_blocks
from .._dask import knn_error as dask_knn_error
from .._dask import knn_predict as dask_knn_predict
from .._validation import as_float_array, check_choice, check_int
from ..linalg import psd_factor

__all__ = ["knn_predict", "knn_error", "metric_transform"]

# Pairwise-distance block size (test rows × training rows) of the brute-force search.
_BLOCK_ELEMENTS = 1 << 22


def metric_transform(metric: Any, X: Any) -> Any:
    r"""Map samples so that Euclidean distances become the distances of ``metric``.

    Parameters
    ----------
    metric : None, array of shape (d, d), or fitted estimator
        ``None``: Euclidean (identity map). An array: a Mahalanobis matrix M (symmetric
        positive semi-definite); samples map to :math:`x\mapsto Lx` with
        :math:`L^\top L = M`. An estimator: its
        ``transform`` method (any fitted metric learner, e.g. :class:`AMLMetric`,
        scikit-learn's ``NeighborhoodComponentsAnalysis`` or metric-learn's learners), or
        its ``get_mahalanobis_matrix()`` when it has no ``transform``.
    X : array of shape (n_samples, d)
        Samples, any array-API namespace.

    Returns
    -------
    array of shape (n_samples, d')
        Transformed samples, in the namespace of ``X`` where possible.

    Raises
    ------
    ValueError
        If ``metric`` is not square, does not match the dimension of ``X``, or is
        indefinite.
    """
    if metric is None:
        return X
    xp = get_namespace(X)
    if hasattr(metric, "transform") and callable(metric.transform):
        Z = match_namespace(metric.transform(X), X)
        return as_float_array(Z, "transformed X", ndim=2)
    if hasattr(metric, "get_mahalanobis_matrix"):
        metric = metric.get_mahalanobis_matrix()
    M = as_float_array(match_namespace(metric, X), "metric", xp=xp, ndim=2)
    d = X.shape[1]
    if tuple(M.shape) != (d, d):
        raise ValueError(f"metric must be a {d}×{d} matrix for {d} features, got shape {tuple(M.shape)}.")
    return X @ psd_factor(xp.astype(M, X.dtype), name="metric")


def _transform_for_dask(metric, X_train):
    """The metric as the blockwise search ships it to every task: identity, an estimator, or L."""
    if metric is None or callable(getattr(metric, "transform", None)):
        return transform_for_blocks(metric)
    # Wrapping an in-memory X_train here only to count its columns would hash it a second
    # time (Dask names the array by its content); the search validates it anyway.
    d = X_train.shape[1] if getattr(X_train, "ndim", None) == 2 else as_dask_rows(X_train, "X_train").shape[1]
    # L with LᵀL = M, once: metric_transform of the identity is I Lᵀ = Lᵀ.
    return transform_for_blocks(None, np.asarray(to_numpy(metric_transform(metric, np.eye(d)))).T)


def _check_inputs(X_train, y_train, X_test, k):
    X_train = as_float_array(X_train, "X_train", ndim=2)
    X_test = as_float_array(match_namespace(X_test, X_train), "X_test", ndim=2)
    if X_test.shape[1] != X_train.shape[1]:
        raise ValueError(f"X_test has {X_test.shape[1]} features, X_train has {X_train.shape[1]}.")
    if tuple(y_train.shape) != (X_train.shape[0],):
        raise ValueError(
            f"y_train must be 1-D with one label per row of X_train ({X_train.shape[0]}), "
            f"got shape {tuple(y_train.shape)}."
        )
    k = check_int(k, "k", low=1)
    if k > X_train.shape[0]:
        raise ValueError(f"k={k} exceeds the number of training samples ({X_train.shape[0]}).")
    return X_train, X_test, k


def _brute_force_predict(Z_train, y_train, Z_test, k, xp):
    """Majority vote of the k nearest training rows (ties → the smallest class)."""
    classes, codes = xp.unique_inverse(y_train)
    n_classes = classes.shape[0]
    sq_train = xp.sum(Z_train**2, axis=1)
    rows = max(1, _BLOCK_ELEMENTS // max(Z_train.shape[0], 1))
    class_ids = xp.arange(n_classes, device=device_of(Z_train))
    preds = []
    for start in range(0, Z_test.shape[0], rows):
        Q = Z_test[start : min(start + rows, Z_test.shape[0]), :]
        # ‖q − t‖² up to the per-row constant ‖q‖², which does not change the ranking.
        dist = sq_train[None, :] - 2.0 * (Q @ xp.linalg.matrix_transpose(Z_train))
        nn = xp.argsort(dist, axis=1, stable=True)[:, :k]
        nn_codes = xp.take(codes, xp.reshape(nn, (-1,)), axis=0)
        nn_codes = xp.reshape(nn_codes, (Q.shape[0], k))
        votes = xp.sum(xp.astype(nn_codes[:, :, None] == class_ids[None, None, :], xp.int64), axis=1)
        preds.append(xp.argmax(votes, axis=1))
    pred_codes = xp.concat(preds, axis=0) if preds else xp.zeros((0,), dtype=xp.int64)
    return xp.take(classes, pred_codes, axis=0)


def knn_predict(
    X_train: Any,
    y_train: Any,
    X_test: Any,
    *,
    metric: Any = None,
    k: int = 5,
    method: str = "auto",
    algorithm: str = "auto",
) -> Any:
    """Predict labels with a k-NN classifier under a (learned) metric.

    Parameters
    ----------
    X_train : array of shape (n_train, d)
        Training samples, any array-API namespace. When this, ``y_train`` or ``X_test`` is
        a Dask array, the search is exact and blockwise whatever ``method``: each task
        holds one test block, one training block and a distance tile, and the k nearest
        of every block are merged (ties in training order, as with ``"brute"``).
    y_train : array of shape (n_train,)
        Training labels, same namespace as ``X_train``.
    X_test : array of shape (n_test, d)
        Samples to classify.
    metric : None, array of shape (d, d), or fitted estimator, default=None
        The metric (see :func:`metric_transform`); ``None`` is Euclidean.
    k : int, default=5
        Number of neighbours (uniform vote).
    method : {"auto", "sklearn", "brute"}, default="auto"
        ``"sklearn"``: :class:`~sklearn.neighbors.KNeighborsClassifier` (NumPy only).
        ``"brute"``: exact search with array-API operations in the namespace of the
        inputs (ties of the vote go to the smallest label, as in scikit-learn).
        ``"auto"``: scikit-learn for NumPy inputs, brute force otherwise.
    algorithm : {"auto", "ball_tree", "kd_tree", "brute"}, default="auto"
        Neighbour search of :class:`~sklearn.neighbors.KNeighborsClassifier` on the
        scikit-learn path (all are exact; they may break ties between equidistant
        neighbours differently).

    Returns
    -------
    y_pred : array of shape (n_test,)
        Predicted labels, in the namespace of the inputs (a lazy Dask array for Dask
        inputs, one block per test block). Computed whole, the lazy array leaves it to
        Dask's scheduler how many training blocks are held at once; when the training set
        does not fit in memory, compute its blocks in turn (``y_pred.blocks[i]``), as
        :func:`knn_error` does.

    Raises
    ------
    ValueError
        On shape mismatches, NaN or infinity, an invalid ``k`` or ``method``.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.evaluation.knn import knn_predict
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    >>> knn_predict(X, np.array([0, 0, 1, 1]), np.array([[1.0, 0.5]]), k=1)
    array([0])
    """
    check_choice(method, "method", ("auto", "sklearn", "brute"))
    check_choice(algorithm, "algorithm", ("auto", "ball_tree", "kd_tree", "brute"))
    if any_dask_array(X_train, y_train, X_test):
        return dask_knn_predict(
            X_train, y_train, X_test, _transform_for_dask(metric, X_train), check_int(k, "k", low=1)
        )
    if isinstance(y_train, (list, tuple)):
        y_train = np.asarray(y_train)
    X_train, X_test, k = _check_inputs(X_train, y_train, X_test, k)
    xp = get_namespace(X_train)
    if method == "auto":
        method = "brute" if is_foreign_array(X_train) else "sklearn"
    Z_train = metric_transform(metric, X_train)
    Z_test = metric_transform(metric, X_test)
    if method == "sklearn":
        from sklearn.neighbors import KNeighborsClassifier

        clf = KNeighborsClassifier(n_neighbors=k, algorithm=algorithm).fit(to_numpy(Z_train), to_numpy(y_train))
        return match_namespace(clf.predict(to_numpy(Z_test)), X_train)
    return _brute_force_predict(Z_train, match_namespace(y_train, X_train), Z_test, k, xp)


def knn_error(
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    metric: Any = None,
    k: int = 5,
    method: str = "auto",
    algorithm: str = "auto",
    normalize: bool = True,
) -> Any:
    """Error rate of a k-NN classifier under a (learned) Mahalanobis metric.

    The evaluation of the AML paper (Sec. 3.2, k = 5): fit the metric on the training
    split, classify the test split by majority vote of the k nearest training samples,
    report the fraction misclassified.

    Parameters
    ----------
    X_train : array of shape (n_train, d)
        Training samples, any array-API namespace; Dask arrays here or in the other
        arguments are searched blockwise (see :func:`knn_predict`).
    y_train : array of shape (n_train,)
        Training labels.
    X_test : array of shape (n_test, d)
        Test samples.
    y_test : array of shape (n_test,)
        Test labels.
    metric : None, array of shape (d, d), or fitted estimator, default=None
        ``None`` (Euclidean), a Mahalanobis matrix M, or a fitted metric learner (its
        ``transform`` is used); see :func:`metric_transform`.
    k : int, default=5
        Number of neighbours.
    method : {"auto", "sklearn", "brute"}, default="auto"
        Search backend, see :func:`knn_predict`.
    algorithm : {"auto", "ball_tree", "kd_tree", "brute"}, default="auto"
        scikit-learn's neighbour search, see :func:`knn_predict`.
    normalize : bool, default=True
        Return the fraction misclassified; with ``False``, their number (as
        :func:`sklearn.metrics.zero_one_loss` does).

    Returns
    -------
    float or int
        Misclassification rate in [0, 1], or the number of misclassified test samples
        with ``normalize=False``.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.preprocessing import StandardScaler
    >>> from spectral_ml.evaluation.knn import knn_error
    >>> from spectral_ml.metric import AMLMetric
    >>> X, y = load_wine(return_X_y=True)
    >>> Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
    >>> scaler = StandardScaler().fit(Xtr)
    >>> Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
    >>> aml = AMLMetric(random_state=0).fit(Xtr, ytr)
    >>> knn_error(Xtr, ytr, Xte, yte, metric=aml) <= knn_error(Xtr, ytr, Xte, yte)
    True
    """
    if not isinstance(normalize, (bool, np.bool_)):
        raise ValueError(f"normalize must be True or False, got {normalize!r}.")
    if any_dask_array(X_train, y_train, X_test, y_test):
        check_choice(method, "method", ("auto", "sklearn", "brute"))
        return dask_knn_error(
            X_train, y_train, X_test, y_test, _transform_for_dask(metric, X_train), check_int(k, "k", low=1), normalize
        )
    if isinstance(y_test, (list, tuple)):
        y_test = np.asarray(y_test)
    pred = knn_predict(X_train, y_train, X_test, metric=metric, k=k, method=method, algorithm=algorithm)
    if tuple(y_test.shape) != (pred.shape[0],):
        raise ValueError(
            f"y_test must be 1-D with one label per row of X_test ({pred.shape[0]}), got shape {tuple(y_test.shape)}."
        )
    xp = get_namespace(pred)
    if pred.shape[0] == 0:
        raise ValueError("X_test is empty.")
    wrong = xp.astype(pred != match_namespace(y_test, pred), xp.float64)
    return float(xp.mean(wrong)) if normalize else int(xp.sum(wrong))
