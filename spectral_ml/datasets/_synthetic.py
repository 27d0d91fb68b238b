"""The two-class synthetic data set of the Adversarial Metric Learning paper (Sec. 3.1)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import Bunch

__all__ = ["make_aml_synthetic"]


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def _check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value}.")
    return value


def _class_sizes(n: int) -> tuple[int, int]:
    return n // 2, n - n // 2


def make_aml_synthetic(
    n_train: int = 200,
    n_test: int = 200,
    *,
    n_features: int = 10,
    separation: float = 4.0,
    train_std: float = 0.5,
    test_std: float = 1.25,
    margin: float = 0.5,
    shuffle: bool = True,
    random_state: Any = None,
) -> Any:
    """Two Gaussian classes: a clean, separable training set and an overlapping test set.

    Chen et al. (IJCAI 2018, Sec. 3.1) describe their synthetic set only as 200 training and
    200 test examples of two classes drawn from a 10-dimensional normal distribution, the
    training set clean and the test classes overlapping in the region between them. This
    generator follows that description; the choices the paper leaves open are:

    * class means ``-separation/2 * e_1`` (label 0) and ``+separation/2 * e_1`` (label 1), so
      the classes differ along the first coordinate only;
    * isotropic noise, standard deviation ``train_std`` in training and the larger
      ``test_std`` in test (same means), which makes the test classes overlap near the
      bisecting hyperplane ``x_1 = 0``;
    * the training set is made clean by rejection: a training point is redrawn until its
      first coordinate lies on its own class's side by at least ``margin``, so the two
      training classes are linearly separable with a gap of at least ``2 * margin``;
    * balanced classes (``n // 2`` of label 0, the rest label 1), rows shuffled.

    Parameters
    ----------
    n_train : int, default=200
        Number of training examples (>= 2).
    n_test : int, default=200
        Number of test examples (>= 2).
    n_features : int, default=10
        Dimension of the data.
    separation : float, default=4.0
        Distance between the two class means.
    train_std : float, default=0.5
        Noise standard deviation of the training set.
    test_std : float, default=1.25
        Noise standard deviation of the test set.
    margin : float, default=0.5
        Smallest distance of a training point's first coordinate from 0, on its class's side;
        must be below ``separation / 2``. ``0`` only enforces the right side.
    shuffle : bool, default=True
        Shuffle the rows (otherwise class 0 comes first).
    random_state : int, numpy.random.Generator or None, optional
        Seed (``numpy.random.default_rng`` semantics).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train`` (n_train, n_features) float64, ``y_train`` (n_train,) int64 in {0, 1},
        ``X_test``, ``y_test``, ``means`` (2, n_features) and ``description``.

    Raises
    ------
    ValueError
        On invalid sizes or scales.

    Examples
    --------
    >>> from spectral_ml.datasets import make_aml_synthetic
    >>> data = make_aml_synthetic(random_state=0)
    >>> data.X_train.shape, data.X_test.shape
    ((200, 10), (200, 10))
    >>> bool(((data.X_train[:, 0] > 0) == (data.y_train == 1)).all())
    True
    """
    n_train = _check_int(n_train, "n_train", 2)
    n_test = _check_int(n_test, "n_test", 2)
    n_features = _check_int(n_features, "n_features", 1)
    separation = _check_positive(separation, "separation")
    train_std = _check_positive(train_std, "train_std")
    test_std = _check_positive(test_std, "test_std")
    margin = _check_positive(margin, "margin", allow_zero=True)
    if margin >= separation / 2:
        raise ValueError(f"margin must be smaller than separation / 2 = {separation / 2}, got {margin}.")
    rng = np.random.default_rng(random_state)

    means = np.zeros((2, n_features))
    means[0, 0], means[1, 0] = -separation / 2, separation / 2
    signs = np.array([-1.0, 1.0])

    def draw(n: int, std: float, clean: bool):
        y = np.repeat(np.arange(2, dtype=np.int64), _class_sizes(n))
        X = means[y] + std * rng.standard_normal((n, n_features))
        if clean:
            # Redraw the first coordinate of offending points; with margin < separation / 2
            # each redraw succeeds with probability > 1/2, so this ends quickly.
            bad = signs[y] * X[:, 0] < margin
            while bad.any():
                X[bad, 0] = means[y[bad], 0] + std * rng.standard_normal(int(bad.sum()))
                bad = signs[y] * X[:, 0] < margin
        if shuffle:
            order = rng.permutation(n)
            X, y = X[order], y[order]
        return X, y

    X_train, y_train = draw(n_train, train_std, clean=True)
    X_test, y_test = draw(n_test, test_std, clean=False)
    description = (
        f"Synthetic two-class data after Chen et al. (IJCAI 2018), Sec. 3.1: {n_features}-D "
        f"normal classes with means +-{separation / 2:g} e_1; training noise std {train_std:g} "
        f"with a separating gap of at least {2 * margin:g} along e_1; test noise std "
        f"{test_std:g}, classes overlapping."
    )
    return Bunch(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        means=means,
        description=description,
    )
