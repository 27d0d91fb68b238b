"""Shared machinery of the Mahalanobis metric learners.

:class:`MahalanobisMixin` gives any estimator with a learned SPD matrix M = LᵀL the
API metric-learn users know (``components_``, ``get_mahalanobis_matrix``, ``transform``,
``pair_distance``, ``pair_score``, ``get_metric``). :class:`BasePairMetric` turns
labelled samples or explicit pairs into the scatter matrices A and B and leaves the
choice of M to its subclasses.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._backend import (
    device_of,
    get_namespace,
    is_dask_array,
    is_foreign_array,
    match_namespace,
    to_namespace,
    to_numpy,
)
from .._dask import check_dask_rows
from .._validation import as_float_array, check_labels, check_matrix
from ..linalg import numerical_rank, psd_sqrt, spd_eigh, sym
from ._class_statistics import (
    all_pairs_fit_statistics,
    dask_pair_statistics,
    dask_transform,
    resolve_n_pairs,
)
from ._neighbors import local_fit_statistics
from ._pairs import SingularStatisticsWarning, make_pairs, pair_statistics

#: The pair strategies of :meth:`BasePairMetric.fit`: the papers' random pairs, or each
#: sample with its target neighbours and impostors.
PAIR_STRATEGIES = ("random", "neighbors")

#: The documentation of the pair strategy's parameters, shared by the estimators' docstrings
#: (which hold the placeholder ``{pair_parameters}``, filled by :func:`with_pair_parameters`).
PAIR_PARAMETERS_DOC = """pairs : {"random", "neighbors"}, default="random"
        Which pairs :meth:`fit` learns from. ``"random"``: pairs drawn uniformly over each
        class and over pairs of classes, the papers' protocol (``n_pairs`` of them).
        ``"neighbors"``: every sample with its ``k_target`` nearest samples of its class
        (similar pairs) and its ``k_impostor`` nearest samples of other classes
        (dissimilar pairs, the impostors), found by an exact blockwise search; A and B
        become the local within- and between-class scatters, which helps where classes
        are large and made of several clusters (see the user guide). ``n_pairs`` must then
        be left at None.
    k_target : int, default=3
        Target neighbours per sample, with ``pairs="neighbors"``.
    k_impostor : int, default=10
        Impostors per sample, with ``pairs="neighbors"``.
    n_refine : int, default=0
        With ``pairs="neighbors"``: how many times the neighbours are searched again in
        the learned metric and the metric learned anew from them."""


def with_pair_parameters(cls: type) -> type:
    """Class decorator: put :data:`PAIR_PARAMETERS_DOC` in place of ``{pair_parameters}`` in the docstring."""
    cls.__doc__ = (cls.__doc__ or "").replace("{pair_parameters}", PAIR_PARAMETERS_DOC)
    return cls


#: GMML's closed forms: A⁻¹ #ₜ B (the papers') and the ratio power of A and B.
CLOSED_FORM_PATHS = ("gmml", "ratio")

__all__ = [
    "MahalanobisMixin",
    "BasePairMetric",
    "PAIR_STRATEGIES",
    "CLOSED_FORM_PATHS",
    "PAIR_PARAMETERS_DOC",
    "with_pair_parameters",
]


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

    components_: Any
    mahalanobis_matrix_: Any

    def get_mahalanobis_matrix(self) -> Any:
        """Return the learned Mahalanobis matrix M = componentsᵀ components.

        Returns
        -------
        M : array of shape (n_features, n_features)
            Symmetric positive definite matrix (a copy), in the namespace of the fit.
        """
        check_is_fitted(self, "mahalanobis_matrix_")
        M = self.mahalanobis_matrix_
        return get_namespace(M).asarray(M, copy=True)

    def _check_features(self, X, name):
        if X.shape[-1] != self.n_features_in_:
            raise ValueError(
                f"{name} has {X.shape[-1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )

    def transform(self, X: Any) -> Any:
        """Map samples to the space where the learned metric is Euclidean: X Lᵀ.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples; NumPy-compatible input is validated by scikit-learn, arrays of other
            array-API libraries stay in their namespace. A Dask array gives a lazy Dask
            array with the same row chunks, transformed block by block.

        Returns
        -------
        X_new : array of shape (n_samples, n_features)
            ‖X_new[i] − X_new[j]‖₂ is the learned distance between samples i and j.
        """
        check_is_fitted(self, "components_")
        if is_dask_array(X):
            X = check_dask_rows(X)
            self._check_features(X, "X")
            return dask_transform(X, to_numpy(self.components_))
        if is_foreign_array(X):
            X = as_float_array(X, "X", ndim=2)
            self._check_features(X, "X")
            xp = get_namespace(X)
            L = match_namespace(self.components_, X)
            if X.dtype != L.dtype:
                X = xp.astype(X, L.dtype)
            return X @ xp.linalg.matrix_transpose(L)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ to_numpy(self.components_).T

    def _pair_differences(self, pairs):
        check_is_fitted(self, "components_")
        pairs = as_float_array(pairs, "pairs", ndim=3)
        if pairs.shape[1] != 2:
            raise ValueError(f"pairs must have shape (n_pairs, 2, n_features), got {tuple(pairs.shape)}.")
        self._check_features(pairs, "pairs")
        xp = get_namespace(pairs)
        L = match_namespace(self.components_, pairs)
        if pairs.dtype != L.dtype:
            pairs = xp.astype(pairs, L.dtype)
        return (pairs[:, 0, :] - pairs[:, 1, :]) @ xp.linalg.matrix_transpose(L), xp

    def pair_distance(self, pairs: Any) -> Any:
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

    def pair_score(self, pairs: Any) -> Any:
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

    def get_metric(self) -> Callable[..., float]:
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


class BasePairMetric(ClassNamePrefixFeaturesOutMixin, MahalanobisMixin, TransformerMixin, BaseEstimator):
    """Fit logic shared by GMML and AML: samples or pairs → (A, B) → M."""

    _parameter_constraints: dict = {
        "n_pairs": [Interval(Integral, 2, None, closed="left"), StrOptions({"all"}), None],
        "reg": [Interval(Real, 0, None, closed="left")],
        "prior": ["array-like", None],
        "random_state": ["random_state"],
        "pairs": [StrOptions(set(PAIR_STRATEGIES))],
        "k_target": [Interval(Integral, 1, None, closed="left")],
        "k_impostor": [Interval(Integral, 1, None, closed="left")],
        "n_refine": [Interval(Integral, 0, None, closed="left")],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    # scikit-learn's set_output wraps only the transform a TransformerMixin subclass
    # defines itself: naming the mixin's method here puts transform (and not only the
    # inherited fit_transform) under set_output(transform="pandas").
    transform = MahalanobisMixin.transform

    # -- fitting -----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any) -> BasePairMetric:
        """Learn the metric from labelled samples.

        With ``pairs="random"``, draws ``n_pairs`` random pairs (half similar, half
        dissimilar; default 1000·c(c−1) for c classes), or takes every pair with
        ``n_pairs="all"``; with ``pairs="neighbors"``, pairs every sample with its
        ``k_target`` target neighbours and ``k_impostor`` impostors. The pairs are reduced
        to the scatter matrices A and B, from which M is computed; with ``n_refine``, the
        neighbours are then searched again in the learned metric and M recomputed, that
        many times. Nothing is standardized: put a ``StandardScaler`` before the estimator
        in a ``Pipeline`` where features have different units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples (NumPy-compatible, or an array of another array-API
            library, which keeps the computation in that library), or a ``dask.array``
            chunked by rows. With random pairs its statistics are one Dask reduction over
            the row blocks (on the active ``dask.distributed`` Client, if any), always over
            all pairs (the default ``n_pairs`` switches to ``"all"`` with a warning; an
            explicit number of pairs raises ``ValueError``); with local pairs the
            neighbours are searched block against block. NaN or infinity in a block raise
            ``ValueError`` when the block is computed, and nothing is fitted.
        y : array-like of shape (n_samples,)
            Class labels: at least two classes, each with at least two samples. With a
            Dask ``X``, a Dask or NumPy array.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        if self.pairs == "neighbors":
            return self._fit_neighbors(X, y)
        n_pairs = resolve_n_pairs(self.n_pairs, X)
        if is_dask_array(X):
            # Everything is computed before any attribute is set: a failed pass (NaN in a
            # block, say) leaves the estimator as it was.
            A, B, n_pairs_ = all_pairs_fit_statistics(X, y)
            self._reset_features(X.shape[1])
        else:
            X, y = self._validate_labelled(X, y)
            if n_pairs == "all":
                A, B, n_pairs_ = all_pairs_fit_statistics(X, y)
            else:
                indices, labels = make_pairs(y, n_pairs, random_state=self.random_state)
                A, B = pair_statistics(X, labels, indices)
                n_pairs_ = int(labels.shape[0])
        self.n_pairs_ = n_pairs_
        self._fit_statistics(A, B)
        return self

    def _fit_neighbors(self, X, y):
        """:meth:`fit` with local pairs, refined ``n_refine`` times in the learned metric."""
        if self.n_pairs is not None:
            raise ValueError(
                f"n_pairs={self.n_pairs!r} sets the number of random pairs; with pairs='neighbors' the pairs "
                f"are set by k_target and k_impostor: leave n_pairs at None."
            )
        if is_dask_array(X):
            X = check_dask_rows(X)
            d = X.shape[1]
        else:
            X, y = self._validate_labelled(X, y)
            d = X.shape[1]
        components = None
        rounds = int(self.n_refine) + 1
        for r in range(rounds):
            A, B, n_pairs_ = local_fit_statistics(X, y, self.k_target, self.k_impostor, components=components)
            if components is None and is_dask_array(X):
                self._reset_features(d)
            self.n_pairs_ = n_pairs_
            with warnings.catch_warnings():
                if r < rounds - 1:
                    # Only the metric returned is reported on: an earlier round's metric serves
                    # to find neighbours, and its warnings would be repeated by the next round.
                    warnings.simplefilter("ignore", SingularStatisticsWarning)
                    warnings.simplefilter("ignore", ConvergenceWarning)
                self._fit_statistics(A, B)
            components = self.components_
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_pairs(self, pairs: Any, y: Any) -> BasePairMetric:
        """Learn the metric from explicit pairs (the weakly supervised setting).

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Pairs of samples, as metric-learn's pair learners take them. ``n_pairs`` and
            ``random_state`` are not used. A ``dask.array`` chunked along the pairs is
            reduced block by block in one Dask reduction (its labels are brought to
            memory: one number per pair).
        y : array-like of shape (n_pairs,)
            +1 for similar pairs, -1 for dissimilar pairs; both kinds are needed.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        if is_dask_array(pairs):
            A, B = dask_pair_statistics(pairs, y)
            self._reset_features(pairs.shape[2])
            self.n_pairs_ = int(pairs.shape[0])
            self._fit_statistics(A, B)
            return self
        if not is_foreign_array(pairs):
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
        if is_foreign_array(X):
            X = as_float_array(X, "X", ndim=2)
            y = check_labels(y, n_samples=X.shape[0])
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
        self._check_singular(A, B, lam, xp)
        M = self._solve(A, B, lam, prior)
        self._set_metric(M)

    def _validated_prior(self, d, xp, device):
        if self.prior is None:
            return None
        P = check_matrix(to_numpy(self.prior), "prior")
        if P.shape != (d, d):
            raise ValueError(f"prior must be a {d}×{d} matrix, got shape {P.shape}.")
        P = np.asarray(P, dtype=np.float64)
        if not np.allclose(P, P.T, rtol=1e-10, atol=1e-12 * np.abs(P).max()):
            raise ValueError("prior must be symmetric.")
        P = sym(P)
        spd_eigh(P, name="prior")
        return to_namespace(P, xp, device)

    def _absolute_reg(self, A, B, prior, xp):
        """λ = reg · (tr(A M₀) + tr(B M₀⁻¹)) / (2d): ``reg`` is relative to the pairs."""
        # Checked whatever reg is: with reg=0 the singular-statistics error would advise reg > 0,
        # which cannot help when there is nothing to learn from.
        if not float(xp.sum(xp.linalg.diagonal(A)) + xp.sum(xp.linalg.diagonal(B))) > 0:
            raise ValueError(
                "All pair differences are zero (the paired rows of X, or the two members of every "
                "pair in pairs, are identical): the pairs carry no information about the metric."
            )
        if self.reg == 0:
            self._check_conditioning_without_reg(A, B, xp)
            return 0.0
        d = A.shape[0]
        if prior is None:
            scale = float(xp.sum(xp.linalg.diagonal(A)) + xp.sum(xp.linalg.diagonal(B)))
        else:
            Pinv = xp.linalg.inv(prior)
            scale = float(xp.sum(A * prior) + xp.sum(B * Pinv))
        return float(self.reg) * scale / (2 * d)

    def _check_conditioning_without_reg(self, A, B, xp):
        """With reg=0, refuse A and B too ill-conditioned together for A⁻¹ #ₜ B in floating point.

        The closed form (and the solvers' start) is a congruence whose inner matrix has a
        condition number up to cond(A)·cond(B); beyond 1/eps its small eigenvalues are
        round-off, and the result can be off by many orders of magnitude or indefinite.
        Numerically singular A or B are left to :meth:`_check_singular`, which says more.
        """
        d = A.shape[0]
        eps = float(xp.finfo(A.dtype).eps)
        conds = []
        for S in (A, B):
            w = xp.linalg.eigvalsh(sym(S))
            if not float(w[0]) > d * eps * float(w[-1]):
                return
            conds.append(float(w[-1]) / float(w[0]))
        if conds[0] * conds[1] * eps >= 1.0:
            raise ValueError(
                f"With reg=0 the pair statistics are too ill-conditioned to solve in floating point: "
                f"the condition numbers of A and B ({conds[0]:.1e} and {conds[1]:.1e}) multiply to more "
                f"than 1/eps ({1 / eps:.1e}), typically from features on very different scales. Set "
                f"reg > 0 or standardize the features (e.g. StandardScaler)."
            )

    def _check_singular(self, A, B, lam, xp, *, stacklevel=5):
        """Report numerically singular A or B: one warning for both, or ``ValueError`` when reg=0.

        The report names what leaves them singular: features that are constant over the
        pairs (a zero diagonal entry) and the features with large weight in the other null
        directions. The d×d matrices go to NumPy for that only when one is singular, so a
        well-posed fit on another backend copies nothing to the host.

        Parameters
        ----------
        A, B : array of shape (d, d)
            Scatter matrices of the similar and dissimilar pairs, any namespace.
        lam : float
            Absolute regularization weight λ; 0 makes singular statistics an error.
        xp : module
            Namespace of ``A`` and ``B``.
        stacklevel : int, default=5
            ``stacklevel`` of the warning, counted from this method: 5 reaches the
            caller of ``fit`` through ``_fit_statistics`` and scikit-learn's fit context.

        Raises
        ------
        ValueError
            If ``lam`` is 0 and A or B is singular.

        Warns
        -----
        SingularStatisticsWarning
            If ``lam`` > 0 and A or B is singular, once for both.
        """
        d = A.shape[0]
        ranks = {"A": numerical_rank(A), "B": numerical_rank(B)}
        singular = [(name, S) for name, S in (("A", A), ("B", B)) if ranks[name] < d]
        if not singular:
            return
        eps = float(xp.finfo(A.dtype).eps)
        found = {name: _null_directions(to_numpy(S), ranks[name], eps) for name, S in singular}
        names = getattr(self, "feature_names_in_", None)
        which = " and ".join(name for name, _ in singular)
        kinds = " and ".join(_PAIR_KIND[name] for name, _ in singular)
        rank_text = " and ".join(str(ranks[name]) for name, _ in singular)
        cause = _describe_null_directions(found, names)
        head = f"The {kinds} pairs leave {which} singular (rank {rank_text} of {d})"
        if cause:
            head = f"{head}: {cause}"
        if lam == 0:
            raise ValueError(
                f"{head}. Without the regularizer the loss has no minimizer: set reg > 0, or drop such "
                f"features (e.g. sklearn.feature_selection.VarianceThreshold)."
            )
        it = "them" if len(singular) == 2 else "it"
        warnings.warn(
            f"{head}. Only the regularizer (reg={self.reg}) makes {it} positive definite; drop such "
            f"features (e.g. sklearn.feature_selection.VarianceThreshold) or set a larger reg.",
            SingularStatisticsWarning,
            stacklevel=stacklevel,
        )

    def _set_metric(self, M):
        M = sym(M)
        self.mahalanobis_matrix_ = M
        # L = M^{1/2} (symmetric square root): LᵀL = M and transformed features stay
        # aligned with the input features.
        self.components_ = psd_sqrt(M)


# -- singular statistics -------------------------------------------------------------------

_PAIR_KIND = {"A": "similar", "B": "dissimilar"}

#: Features a singular-statistics report lists before "and N more".
_MAX_LISTED = 10

#: A feature belongs to a null direction when its weight there is at least this fraction of
#: the largest feature's: an exact relation leaves the others at round-off level.
_NULL_WEIGHT = 0.1


def _null_directions(S, rank, eps):
    """Constant features and the other null directions of a singular scatter matrix.

    Parameters
    ----------
    S : ndarray of shape (d, d)
        Symmetric positive semi-definite NumPy matrix.
    rank : int
        Its numerical rank, as :func:`~spectral_ml.linalg.numerical_rank` found it.
    eps : float
        Machine epsilon of the dtype the rank was computed in.

    Returns
    -------
    constant : ndarray of int
        Features whose diagonal entry is numerically zero, that is constant over the pairs.
    n_other : int
        Number of null directions besides those of the constant features.
    involved : ndarray of int
        Features with large weight in these other directions, in increasing order.
    """
    S = np.asarray(S, dtype=np.float64)
    S = (S + S.T) / 2
    d = S.shape[0]
    w, U = np.linalg.eigh(S)
    # numerical_rank's tolerance: the d − rank smallest eigenvectors span the null space it
    # counted, and a diagonal entry below it is a zero one.
    tol = d * eps * max(float(w[-1]), 0.0)
    diag = np.diagonal(S)
    constant = np.flatnonzero(diag <= tol)
    n_other = max(d - rank - constant.size, 0)
    if n_other == 0:
        return constant, 0, np.empty(0, dtype=np.intp)
    free = np.flatnonzero(diag > tol)
    # Scaling row i of a null vector v by the spread √S_ii of feature i over the pairs gives
    # the coefficients of the same relation between standardized features, so that a
    # feature's weight does not depend on its units. The constant features' rows are left
    # out: what remains spans exactly the other null directions.
    W = np.sqrt(diag[free])[:, None] * U[free, : d - rank]
    Q = np.linalg.svd(W, full_matrices=False)[0][:, :n_other]
    # Row norms of an orthonormal basis do not depend on which basis the SVD picked.
    weight = np.linalg.norm(Q, axis=1)
    return constant, n_other, free[weight >= _NULL_WEIGHT * weight.max()]


def _feature_list(indices, names):
    """``"feature 3"``, ``"features 0, 32 and 39"``, or the first few and ``"and N more"``."""
    indices = [int(i) for i in indices]
    shown = [repr(str(names[i])) if names is not None else str(i) for i in indices[:_MAX_LISTED]]
    rest = len(indices) - len(shown)
    if rest:
        text = f"{', '.join(shown)} and {rest} more"
    elif len(shown) == 1:
        text = shown[0]
    else:
        text = f"{', '.join(shown[:-1])} and {shown[-1]}"
    return ("feature " if len(indices) == 1 else "features ") + text


def _combinations(n, involved, names):
    return f"{n} combination{'s' if n > 1 else ''} of {_feature_list(involved, names)}"


def _describe_null_directions(found, names):
    """What leaves the singular scatter matrices singular, in words.

    Parameters
    ----------
    found : dict
        ``{"A" or "B": _null_directions(...)}`` for each singular matrix.
    names : ndarray or None
        ``feature_names_in_``, to name features instead of numbering them.

    Returns
    -------
    str
        Clauses joined by "; ": the constant features (over the pairs of both kinds, or of
        one kind only), then the other null directions.
    """
    constant = {name: {int(i) for i in c} for name, (c, _, _) in found.items()}
    if len(found) == 2:
        common = constant["A"] & constant["B"]
        groups = [
            (common, "the pairs"),
            (constant["A"] - common, "the similar pairs"),
            (constant["B"] - common, "the dissimilar pairs"),
        ]
    else:
        (name,) = found
        groups = [(constant[name], f"the {_PAIR_KIND[name]} pairs")]
    clauses = [
        f"{_feature_list(sorted(f), names)} {'is' if len(f) == 1 else 'are'} constant over {over}"
        for f, over in groups
        if f
    ]
    others = [(name, n, involved) for name, (_, n, involved) in found.items() if n]
    if others:
        label = "other null directions" if clauses else "null directions"
        (_, n, involved), *rest = others
        # One description serves A and B when they agree; otherwise each says whose it is.
        if len(found) == 1 or (rest and all(m == n and np.array_equal(i, involved) for _, m, i in rest)):
            clauses.append(f"{label}: {_combinations(n, involved, names)}")
        else:
            clauses.append(
                "; ".join(
                    f"{label if k == 0 else ''} in {name}: {_combinations(n, involved, names)}".lstrip()
                    for k, (name, n, involved) in enumerate(others)
                )
            )
    return "; ".join(clauses)
