"""Shared machinery of the Mahalanobis metric learners.

:class:`MahalanobisMixin` gives any estimator with a learned SPD matrix M = LᵀL the
API metric-learn users know (``components_``, ``get_mahalanobis_matrix``, ``transform``,
``pair_distance``, ``pair_score``, ``get_metric``). :class:`_BasePairMetric` turns
labelled samples or explicit pairs into the scatter matrices A and B and leaves the
choice of M to its subclasses.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import array_api_compat
import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._backend import as_float_array, device_of, from_numpy, get_namespace, is_numpy_namespace, to_numpy
from ..linalg import eigh
from ._objective import numerical_rank
from ._pairs import SingularStatisticsWarning, make_pairs, pair_statistics

__all__ = ["MahalanobisMixin"]


def _is_foreign_array(X) -> bool:
    """True for array-API arrays of another library than NumPy (CuPy, torch, strict)."""
    return array_api_compat.is_array_api_obj(X) and not isinstance(X, np.ndarray)


def _to_namespace(a, xp, device):
    """``a`` (any namespace) as an array of ``xp`` on ``device``."""
    if get_namespace(a) is xp or (is_numpy_namespace(xp) and isinstance(a, np.ndarray)):
        return a
    return from_numpy(np.asarray(to_numpy(a)), xp, device)


class _MahalanobisDistance:
    """Callable d_M(u, v) = ‖L(u − v)‖₂ for scikit-learn's ``metric=`` arguments.

    A module-level class rather than a closure so that estimators using it pickle.
    """

    def __init__(self, components):
        self.components = np.asarray(components, dtype=np.float64)

    def __call__(self, u, v):
        u = np.asarray(u, dtype=np.float64).reshape(-1)
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        d = self.components.shape[1]
        if u.shape[0] != d or v.shape[0] != d:
            raise ValueError(f"u and v must have {d} features, got {u.shape[0]} and {v.shape[0]}.")
        diff = self.components @ (u - v)
        return float(np.sqrt(diff @ diff))

    def __repr__(self):
        return f"MahalanobisDistance(d={self.components.shape[1]})"


class MahalanobisMixin:
    """Mahalanobis API for estimators that learned an SPD matrix M = LᵀL.

    Subclasses set ``components_`` (L) and ``mahalanobis_matrix_`` (M) when fitted.
    Distances follow metric-learn's convention: ``pair_distance`` returns the true
    distance sqrt((x − x')ᵀ M (x − x')); the papers' Dist_M is its square.
    """

    def get_mahalanobis_matrix(self):
        """Return the learned Mahalanobis matrix M = componentsᵀ components.

        Returns
        -------
        M : array of shape (n_features, n_features)
            Symmetric positive definite matrix (a copy), in the namespace of the fit.
        """
        check_is_fitted(self, "mahalanobis_matrix_")
        M = self.mahalanobis_matrix_
        return M.copy() if isinstance(M, np.ndarray) else get_namespace(M).asarray(M, copy=True)

    def _check_features(self, X, name):
        if X.shape[-1] != self.n_features_in_:
            raise ValueError(
                f"{name} has {X.shape[-1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )

    def transform(self, X):
        """Map samples to the space where the learned metric is Euclidean: X Lᵀ.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples; NumPy-compatible input is validated by scikit-learn, arrays of other
            array-API libraries stay in their namespace.

        Returns
        -------
        X_new : array of shape (n_samples, n_features)
            ‖X_new[i] − X_new[j]‖₂ is the learned distance between samples i and j.
        """
        check_is_fitted(self, "components_")
        if _is_foreign_array(X):
            X = as_float_array(X, "X", ndim=2)
            self._check_features(X, "X")
            xp = get_namespace(X)
            L = _to_namespace(self.components_, xp, device_of(X))
            if X.dtype != L.dtype:
                X = xp.astype(X, L.dtype)
            return X @ xp.linalg.matrix_transpose(L)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ np.asarray(to_numpy(self.components_)).T

    def _pair_differences(self, pairs):
        check_is_fitted(self, "components_")
        pairs = as_float_array(pairs, "pairs", ndim=3)
        if pairs.shape[1] != 2:
            raise ValueError(f"pairs must have shape (n_pairs, 2, n_features), got {tuple(pairs.shape)}.")
        self._check_features(pairs, "pairs")
        xp = get_namespace(pairs)
        L = _to_namespace(self.components_, xp, device_of(pairs))
        if pairs.dtype != L.dtype:
            pairs = xp.astype(pairs, L.dtype)
        return (pairs[:, 0, :] - pairs[:, 1, :]) @ xp.linalg.matrix_transpose(L), xp

    def pair_distance(self, pairs):
        """Learned distance between the two members of each pair.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Pairs of samples.

        Returns
        -------
        distances : array of shape (n_pairs,)
            sqrt((x − x')ᵀ M (x − x')), in the namespace of ``pairs``.
        """
        Z, xp = self._pair_differences(pairs)
        return xp.sqrt(xp.sum(Z**2, axis=1))

    def pair_score(self, pairs):
        """Similarity score of each pair: the opposite of :meth:`pair_distance`.

        Higher means more likely similar, as scikit-learn's ranking metrics expect.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Pairs of samples.

        Returns
        -------
        scores : array of shape (n_pairs,)
        """
        return -self.pair_distance(pairs)

    def get_metric(self):
        """Return the learned distance as a callable ``d(u, v)`` on two 1-D arrays.

        Suitable for scikit-learn's ``metric=`` arguments, e.g.
        ``KNeighborsClassifier(metric=est.get_metric())``; it can be pickled.

        Returns
        -------
        callable
            ``d(u, v) = sqrt((u − v)ᵀ M (u − v))`` as a Python float.
        """
        check_is_fitted(self, "components_")
        return _MahalanobisDistance(np.asarray(to_numpy(self.components_)))


class _BasePairMetric(ClassNamePrefixFeaturesOutMixin, MahalanobisMixin, TransformerMixin, BaseEstimator):
    """Fit logic shared by GMML and AML: samples or pairs → (A, B) → M."""

    _parameter_constraints: dict = {
        "n_pairs": [Interval(Integral, 2, None, closed="left"), None],
        "reg": [Interval(Real, 0, None, closed="left")],
        "prior": ["array-like", None],
        "random_state": ["random_state"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    # -- fitting -----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Learn the metric from labelled samples.

        Draws ``n_pairs`` random pairs (half similar, half dissimilar; default
        1000·c(c−1) for c classes), reduces them to the scatter matrices A and B, and
        computes M. Nothing is standardized: put a ``StandardScaler`` before the
        estimator in a ``Pipeline`` where features have different units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples (NumPy-compatible, or an array of another array-API
            library, which keeps the computation in that library).
        y : array-like of shape (n_samples,)
            Class labels: at least two classes, each with at least two samples.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = self._validate_labelled(X, y)
        indices, labels = make_pairs(y, self.n_pairs, random_state=self.random_state)
        A, B = pair_statistics(X, labels, indices)
        self.n_pairs_ = int(labels.shape[0])
        self._fit_statistics(A, B)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_pairs(self, pairs, y):
        """Learn the metric from explicit pairs (the weakly supervised setting).

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Pairs of samples, as metric-learn's pair learners take them. ``n_pairs`` and
            ``random_state`` are not used.
        y : array-like of shape (n_pairs,)
            +1 for similar pairs, -1 for dissimilar pairs; both kinds are needed.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        if not _is_foreign_array(pairs):
            pairs = np.asarray(pairs)
            if pairs.dtype.kind not in "biuf":
                raise ValueError(f"pairs must be numeric, got dtype {pairs.dtype}.")
        pairs = as_float_array(pairs, "pairs", ndim=3)
        if pairs.shape[1] != 2 or pairs.shape[2] < 1:
            raise ValueError(f"pairs must have shape (n_pairs, 2, n_features), got {tuple(pairs.shape)}.")
        self._reset_features(pairs.shape[2])
        A, B = pair_statistics(pairs, y)
        self.n_pairs_ = int(pairs.shape[0])
        self._fit_statistics(A, B)
        return self

    def _validate_labelled(self, X, y):
        """Validate ``(X, y)`` for ``fit``: X as float64 in its own namespace, y as NumPy labels.

        NumPy-compatible input goes through scikit-learn's validation; an array of another
        array-API library keeps its namespace and device (labels are small and go to NumPy).
        """
        if _is_foreign_array(X):
            X = as_float_array(X, "X", ndim=2)
            y = np.asarray(to_numpy(y))
            if y.ndim != 1 or y.shape[0] != X.shape[0]:
                raise ValueError(f"y must be 1-D with one label per row of X ({X.shape[0]}), got shape {y.shape}.")
            self._reset_features(X.shape[1])
            xp = get_namespace(X)
            if X.dtype != xp.float64:
                X = xp.astype(X, xp.float64)
        else:
            X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2)
        check_classification_targets(y)
        return X, y

    def _reset_features(self, d):
        self.n_features_in_ = int(d)
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _fit_statistics(self, A, B):
        xp = get_namespace(A)
        d = A.shape[0]
        prior = self._validated_prior(d, xp, device_of(A))
        lam = self._absolute_reg(A, B, prior, xp)
        self.regularization_ = lam
        for name, S in (("A", A), ("B", B)):
            self._check_singular(name, S, lam, xp)
        M = self._solve(A, B, lam, prior)
        self._set_metric(M)

    def _validated_prior(self, d, xp, device):
        if self.prior is None:
            return None
        P = np.asarray(to_numpy(self.prior), dtype=np.float64)
        if P.shape != (d, d):
            raise ValueError(f"prior must be a {d}×{d} matrix, got shape {P.shape}.")
        if not np.all(np.isfinite(P)):
            raise ValueError("prior contains NaN or infinity.")
        if not np.allclose(P, P.T, rtol=1e-10, atol=1e-12 * np.abs(P).max()):
            raise ValueError("prior must be symmetric.")
        w = np.linalg.eigvalsh((P + P.T) / 2)
        if not w[0] > 0:
            raise ValueError(f"prior must be positive definite; its smallest eigenvalue is {w[0]:.3e}.")
        return from_numpy((P + P.T) / 2, xp, device)

    def _absolute_reg(self, A, B, prior, xp):
        """λ = reg · (tr(A M₀) + tr(B M₀⁻¹)) / (2d): ``reg`` is relative to the pairs."""
        if self.reg == 0:
            return 0.0
        d = A.shape[0]
        if prior is None:
            scale = float(xp.sum(xp.linalg.diagonal(A)) + xp.sum(xp.linalg.diagonal(B)))
        else:
            Pinv = xp.linalg.inv(prior)
            scale = float(xp.sum(A * prior) + xp.sum(B * Pinv))
        scale /= 2 * d
        if not scale > 0:
            raise ValueError("All pair differences are zero: the pairs carry no information about the metric.")
        return float(self.reg) * scale

    def _check_singular(self, name, S, lam, xp):
        d = S.shape[0]
        rank = numerical_rank(S)
        if rank == d:
            return
        kind = "similar" if name == "A" else "dissimilar"
        if lam == 0:
            raise ValueError(
                f"The {kind} pairs leave {name} singular (rank {rank} of {d}), so the loss has no "
                f"minimizer without the regularizer: set reg > 0."
            )
        warnings.warn(
            f"The {kind} pairs leave {name} singular (rank {rank} of {d}): their differences span "
            f"too few directions (fewer pairs than features, or constant features). Only the "
            f"regularizer (reg={self.reg}) makes it positive definite.",
            SingularStatisticsWarning,
            stacklevel=5,
        )

    def _set_metric(self, M):
        xp = get_namespace(M)
        M = (M + xp.linalg.matrix_transpose(M)) / 2
        w, U = eigh(M, check=False)
        # L = M^{1/2} (symmetric square root): LᵀL = M and transformed features stay
        # aligned with the input features.
        w = xp.clip(w, min=0.0)
        L = (U * xp.sqrt(w)[None, :]) @ xp.linalg.matrix_transpose(U)
        self.mahalanobis_matrix_ = M
        self.components_ = L
