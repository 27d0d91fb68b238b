"""Deep feature learning with the DPP diversity term: a scikit-learn style estimator.

:class:`DPPFeatureLearner` trains a multi-layer perceptron ``f`` on class-balanced
mini-batches to minimize (Yu, Li & Li, ICLR 2020, Sec. 3.3 and 4.1)

    L = L_C − λ₁ L_D + λ₂ L_G,

the contrastive loss of the batch (:func:`~spectral_ml.nn.contrastive_loss`), the DPP
diversity of its features (:func:`~spectral_ml.nn.dpp_loss`; exact gradient or proper
spectral sub-gradient, chosen per batch) and the WGAN generator loss
(:func:`~spectral_ml.nn.generator_loss`) against a critic trained in alternation
(:class:`~spectral_ml.nn.WassersteinCritic`), which keeps the features in a bounded region.
``transform`` maps samples to the learned features.
"""

from __future__ import annotations

import math
import numbers
import sys
import time
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._backend import as_float_array, device_of, from_numpy, get_namespace, is_numpy_namespace, to_numpy
from ..dpp import DEFAULT_BETA, DEFAULT_DELTA, DEFAULT_SIGMA, DEFAULT_THETA
from .dpp_loss import dpp_loss
from .layers import MLP, _ACTIVATIONS
from .losses import WassersteinCritic, contrastive_loss, generator_loss
from .module import check_real, check_rng, dtype_name, gradients_to_vector
from .optim import SGD, Adam, RMSprop
from .sampling import BalancedBatchSampler

__all__ = ["DPPFeatureLearner", "DPP_METHODS", "DEFAULT_DPP", "DEFAULT_DPP_WEIGHT", "DEFAULT_WGAN"]

#: Values of ``dpp`` (or of its ``"method"`` key): the paper's DPPSG and DPPSG* switch
#: from the exact gradient to that sub-gradient when ``det L < beta``; ``"exact"`` always
#: differentiates.
DPP_METHODS = ("dppsg", "dppsg*", "exact")

#: Default λ₁ per method (``dpp["weight"] = None``), for the log det objective and the
#: contrastive loss averaged over pairs, chosen on a validation split of MNIST. DPPSG's
#: direction has entries of order Δ, hence its far larger weight.
DEFAULT_DPP_WEIGHT = {"dppsg*": 3e-4, "exact": 3e-4, "dppsg": 1e5}

#: Defaults of the ``dpp`` settings (a string ``dpp`` sets only the method).
DEFAULT_DPP = {
    "method": "dppsg*",
    "sigma": DEFAULT_SIGMA,
    "weight": None,
    "objective": "logdet",
    "beta": DEFAULT_BETA,
    "delta": DEFAULT_DELTA,
    "theta": DEFAULT_THETA,
}

#: Defaults of the ``wgan`` settings (``wgan=True`` takes them all).
DEFAULT_WGAN = {
    "weight": 1e3,
    "n_critic": 5,
    "clip_value": 0.01,
    "hidden": (64, 64),
    "activation": "relu",
    "n_reference": 2000,
    "sampler": None,
    "optimizer": "rmsprop",
    "learning_rate": None,
}

_OPTIMIZERS = {"rmsprop": RMSprop, "adam": Adam, "sgd": SGD}
_REDUCTIONS = ("mean", "sum")
# Rows per forward pass in transform: bounds the memory of the hidden activations.
_TRANSFORM_CHUNK = 8192


# ----------------------------------------------------------------------------- validation
def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def _check_hidden(hidden: Any, name: str) -> tuple:
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
        hidden = (hidden,)
    try:
        sizes = tuple(hidden)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of positive integers, got {hidden!r}.") from None
    for h in sizes:
        if isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1:
            raise ValueError(f"{name} must be a sequence of positive integers, got {hidden!r}.")
    return tuple(int(h) for h in sizes)


def _check_activation(value: Any, name: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, str):
        if value not in _ACTIVATIONS:
            raise ValueError(f"{name} must be one of {sorted(_ACTIVATIONS)}, got {value!r}.")
        return value
    if callable(value):
        return value
    raise ValueError(f"{name} must be one of {sorted(_ACTIVATIONS)} or a callable, got {value!r}.")


def _resolve_dpp(dpp: Any) -> dict | None:
    """The DPP settings as a full dict (defaults filled in), or None."""
    if dpp is None or dpp is False:
        return None
    if isinstance(dpp, str):
        dpp = {"method": dpp}
    if not isinstance(dpp, dict):
        raise ValueError(
            f"dpp must be None, one of {DPP_METHODS} or a dict of settings, got {dpp!r}."
        )
    unknown = sorted(set(dpp) - set(DEFAULT_DPP))
    if unknown:
        raise ValueError(f"dpp has unknown keys {unknown}; allowed: {sorted(DEFAULT_DPP)}.")
    cfg = {**DEFAULT_DPP, **dpp}
    if cfg["method"] not in DPP_METHODS:
        raise ValueError(f"dpp['method'] must be one of {DPP_METHODS}, got {cfg['method']!r}.")
    if cfg["objective"] not in ("logdet", "det"):
        raise ValueError(f"dpp['objective'] must be 'logdet' or 'det', got {cfg['objective']!r}.")
    cfg["sigma"] = check_real(cfg["sigma"], "dpp['sigma']", low=0.0, low_open=True)
    if cfg["weight"] is None:
        cfg["weight"] = DEFAULT_DPP_WEIGHT[cfg["method"]]
    cfg["weight"] = check_real(cfg["weight"], "dpp['weight']", low=0.0)
    cfg["beta"] = check_real(cfg["beta"], "dpp['beta']", low=0.0, low_open=True)
    cfg["delta"] = check_real(cfg["delta"], "dpp['delta']", low=0.0, low_open=True)
    cfg["theta"] = check_real(cfg["theta"], "dpp['theta']", low=0.0, high=1.0, low_open=True)
    return cfg


def _resolve_wgan(wgan: Any, learning_rate: float) -> dict | None:
    """The WGAN settings as a full dict (defaults filled in), or None."""
    if wgan is None or wgan is False:
        return None
    if wgan is True:
        wgan = {}
    if not isinstance(wgan, dict):
        raise ValueError(f"wgan must be None, True or a dict of settings, got {wgan!r}.")
    unknown = sorted(set(wgan) - set(DEFAULT_WGAN))
    if unknown:
        raise ValueError(f"wgan has unknown keys {unknown}; allowed: {sorted(DEFAULT_WGAN)}.")
    cfg = {**DEFAULT_WGAN, **wgan}
    cfg["weight"] = check_real(cfg["weight"], "wgan['weight']", low=0.0)
    cfg["n_critic"] = _check_int(cfg["n_critic"], "wgan['n_critic']", 1)
    if cfg["clip_value"] is not None:
        cfg["clip_value"] = check_real(cfg["clip_value"], "wgan['clip_value']", low=0.0, low_open=True)
    cfg["hidden"] = _check_hidden(cfg["hidden"], "wgan['hidden']")
    cfg["activation"] = _check_activation(cfg["activation"], "wgan['activation']")
    if cfg["n_reference"] is not None:
        cfg["n_reference"] = _check_int(cfg["n_reference"], "wgan['n_reference']", 1)
    if cfg["sampler"] is not None and not callable(cfg["sampler"]):
        raise ValueError(f"wgan['sampler'] must be a callable sampler(n, d, rng), got {cfg['sampler']!r}.")
    if cfg["optimizer"] not in _OPTIMIZERS:
        raise ValueError(f"wgan['optimizer'] must be one of {sorted(_OPTIMIZERS)}, got {cfg['optimizer']!r}.")
    if cfg["learning_rate"] is None:
        cfg["learning_rate"] = learning_rate
    cfg["learning_rate"] = check_real(cfg["learning_rate"], "wgan['learning_rate']", low=0.0, low_open=True)
    return cfg


def _dpp_call_args(cfg: dict) -> dict:
    """Keyword arguments of :func:`dpp_loss` for the learner's DPP settings."""
    if cfg["method"] == "exact":
        method, sub = "exact", "dppsg*"
    else:
        method, sub = "auto", cfg["method"]
    return {
        "sigma": cfg["sigma"],
        "weight": cfg["weight"],
        "objective": cfg["objective"],
        "method": method,
        "subgradient": sub,
        "beta": cfg["beta"],
        "delta": cfg["delta"],
        "theta": cfg["theta"],
    }


def _is_foreign_array(X: Any) -> bool:
    """True for arrays of an array-API library other than NumPy (CuPy, torch, strict)."""
    if isinstance(X, np.ndarray) or isinstance(X, (list, tuple)):
        return False
    try:
        get_namespace(X)
    except TypeError:
        return False
    return not is_numpy_namespace(get_namespace(X))


def _finite(A: Any, xp) -> bool:
    if is_numpy_namespace(xp):
        return bool(np.isfinite(A).all())
    return bool(xp.all(xp.isfinite(A)))


# ------------------------------------------------------------------------------ estimator
class DPPFeatureLearner(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Feature network trained with the contrastive loss, the DPP term and a WGAN term.

    A multi-layer perceptron ``f: R^p → R^k`` (``k = n_components``, 2 in the paper's MNIST
    test) is trained on class-balanced mini-batches (:class:`BalancedBatchSampler`) to
    minimize, for a batch with features ``F = f(I)`` and labels ``y``,

        L = L_C(F, y) − λ₁ L_D(F) + λ₂ L_G(F)

    (Yu, Li & Li, ICLR 2020, Sec. 3.3 and 4.1):

    * ``L_C`` — contrastive loss over the pairs of the batch, margin µ on the squared
      distance of different-label pairs and weight α on them
      (:func:`~spectral_ml.nn.contrastive_loss`);
    * ``L_D`` — DPP diversity ``log det L`` (or ``det L``) of the Gaussian kernel
      ``L_ij = exp(−‖f_i − f_j‖²/σ²)`` of the batch, maximized through the exact gradient
      while ``det L >= β`` and a proper spectral sub-gradient (DPPSG or DPPSG*) otherwise
      (:func:`~spectral_ml.nn.dpp_loss`);
    * ``L_G = −mean h(F)`` — WGAN generator loss through a weight-clipped critic ``h``
      (:class:`~spectral_ml.nn.WassersteinCritic`) that is trained before each network step
      (``n_critic`` steps) to estimate the Wasserstein-1 distance between the features and
      a reference distribution 𝒫 (uniform on ``[−1, 1]^k`` by default).

    The paper writes the objective with ``L_G`` for the task loss and the weights in
    another order; here, as in its Appendix A.1, λ₁ weights the DPP term (``dpp["weight"]``)
    and λ₂ the WGAN term (``wgan["weight"]``).

    Parameters
    ----------
    hidden : sequence of int, default=(200,)
        Widths of the hidden layers (``()``: a linear map). The paper's MNIST network ends
        with fully connected layers of 200 and 2 units.
    n_components : int, default=2
        Feature dimension k.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid"} or callable, default="relu"
        Hidden activation.
    batch_norm : bool, default=False
        Batch normalization after every hidden linear layer (the paper's convolutional
        network uses it); ``transform`` uses the running statistics.
    final_activation : {None, "tanh", "sigmoid", ...}, default=None
        Activation of the output. The paper's feature layer is linear (its Fig. 1 shows
        features far outside ``[−1, 1]²`` without the WGAN term); ``"tanh"`` bounds the
        features to ``(−1, 1)^k`` instead, the "truncation" the paper argues against.
    dpp : None, str or dict, default=None
        The DPP term. None: no DPP term (the contrastive baseline). A string sets the
        method, a dict any of these keys (missing ones take :data:`DEFAULT_DPP`):

        * ``"method"``: ``"dppsg"`` or ``"dppsg*"`` — exact gradient while
          ``det L >= beta``, that proper sub-gradient otherwise (the paper's DPPSG and
          DPPSG*); ``"exact"`` — always the exact gradient (training stops with
          ``LinAlgError`` on a batch whose kernel matrix is singular);
        * ``"sigma"``: kernel width σ (0.2, the paper's value for 2-D features);
        * ``"weight"``: λ₁; None (default) takes :data:`DEFAULT_DPP_WEIGHT`, 3e-4 for
          DPPSG* and the exact gradient, 1e5 for DPPSG, whose direction is of order Δ
          (see Notes);
        * ``"objective"``: ``"logdet"`` (default) or the paper's ``"det"``;
        * ``"beta"``: the switch threshold β on ``det L`` (1e-7);
        * ``"delta"``: DPPSG's eigenvalue floor Δ (1e-7, the paper's);
        * ``"theta"``: DPPSG*'s step θ toward the identity (0.1; the paper gives none).
    wgan : None, True or dict, default=None
        The WGAN term. None: none. True: the defaults :data:`DEFAULT_WGAN`. A dict sets any
        of ``"weight"`` (λ₂, 1e3), ``"n_critic"`` (critic steps per network step, 5),
        ``"clip_value"`` (critic weight clipping c, 0.01; None disables it), ``"hidden"``
        (critic hidden widths, (64, 64)), ``"activation"`` ("relu"), ``"n_reference"``
        (reference samples per critic step, 2000 as in the paper), ``"sampler"`` (callable
        ``sampler(n, d, rng)`` of 𝒫; default uniform on ``[−1, 1]^k``), ``"optimizer"``
        ("rmsprop") and ``"learning_rate"`` (None: the network's).
    margin : float, default=0.8
        Contrastive margin µ on the squared distance (the paper's).
    contrastive_alpha : float, default=5.0
        Contrastive weight α of the different-label pairs (the paper's MNIST value).
    contrastive_reduction : {"mean", "sum"}, default="mean"
        Divide the contrastive loss by the number of pairs of a batch, or not (the paper's
        literal sum: about 2·10⁴ times larger at batch size 200, which changes the balance
        with λ₁ and λ₂).
    batch_size : int, default=200
        Samples per batch (the paper's); at least the number of classes. Larger than the
        number of samples: the whole set is one batch (with a warning).
    epochs : int, default=10
        Passes over the training set.
    optimizer : {"rmsprop", "adam", "sgd"}, default="rmsprop"
        Optimizer of the network (the paper uses RMSprop).
    learning_rate : float, default=1e-4
        Learning rate (the paper's).
    dtype : {None, "float32", "float64"}, default=None
        Precision of the network and of the training computations; None follows ``X``
        (float64 for integer input). float32 roughly halves the time per step.
    random_state : None, int or numpy.random.Generator, default=None
        Seed of the initialization, the batches and the reference samples. With an int two
        fits on the same data give the same network.
    verbose : bool or int, default=False
        Print one line per epoch: the loss terms, the fraction of batches on each DPP path
        and the time.

    Attributes
    ----------
    net_ : MLP
        The trained network (in evaluation mode).
    critic_ : WassersteinCritic or None
        The WGAN critic, when ``wgan`` is set.
    history_ : dict of str to list of float
        One entry per epoch, averaged over its batches: ``"loss"`` (L), ``"contrastive"``
        (L_C) and ``"time"`` (seconds since the start of ``fit``); with ``dpp``:
        ``"diversity"`` (L_D, the raw ``log det L`` or ``det L``; on singular batches the
        log-determinant of DPPSG's lifted matrix, see
        :class:`~spectral_ml.dpp.DPPResult`) and ``"path_exact"``, ``"path_dppsg"``,
        ``"path_dppsg*"`` (fraction of the batches that took each path); with ``wgan``:
        ``"generator"`` (L_G) and ``"critic"`` (the critic's Wasserstein estimate
        ``mean h(z) − mean h(f)`` at its last step before each network step).
    n_features_in_ : int
        Number of input features.
    classes_ : ndarray
        Class labels seen in ``fit``.
    n_iter_ : int
        Epochs run.
    n_steps_ : int
        Network updates made.
    batch_size_ : int
        Batch size used (``min(batch_size, n_samples)``).
    train_time_ : float
        Wall-clock seconds of the training loop.

    Notes
    -----
    *Scales of the weights.* The paper's λ₁ = 10³ and λ₂ = 10⁶ (Appendix A.1) were set for
    its summed contrastive loss, its ``det`` objective and its convolutional network; with
    the default ``contrastive_reduction="mean"`` the contrastive gradient is about 2·10⁴
    times smaller, so the defaults here are smaller too. RMSprop and Adam divide the total
    gradient by its running magnitude, so only the ratios of the three terms matter. The
    defaults were picked on a validation split of MNIST's training set with a 784-200-2
    perceptron (see :func:`spectral_ml.experiments.dpp.run_dpp_retrieval`); the best λ₁
    there barely changes the retrieval scores, larger ones lower them.

    *Which DPP path.* With batches of hundreds of 2-D features and σ = 0.2, ``det L`` is
    below β for most batches until the features spread far apart: the sub-gradient is the
    rule, not the exception (``history_["path_dppsg*"]`` shows how often).

    *Cost per step.* Network forward and backward, O(n²k) for the contrastive loss,
    O(n³/3) for the Cholesky factorization of the DPP switch (plus an eigendecomposition
    for the value, or for DPPSG, on singular batches), and with WGAN ``n_critic`` critic
    steps on ``n_reference + n`` points.

    Arrays of other array-API libraries (CuPy, PyTorch, array-api-strict) are trained on in
    their own namespace and on their device; ``transform`` returns the namespace of its
    input.

    Examples
    --------
    >>> from spectral_ml.datasets import load_dataset
    >>> from spectral_ml.nn import DPPFeatureLearner
    >>> X, y = load_dataset("digits", return_X_y=True)
    >>> learner = DPPFeatureLearner(hidden=(64,), dpp="dppsg*", batch_size=200, epochs=2,
    ...                             learning_rate=1e-3, random_state=0)
    >>> Z = learner.fit_transform(X / 16.0, y)
    >>> Z.shape
    (1797, 2)
    >>> sorted(learner.history_)[:4]
    ['contrastive', 'diversity', 'loss', 'path_dppsg']
    """

    def __init__(
        self,
        hidden=(200,),
        n_components=2,
        *,
        activation="relu",
        batch_norm=False,
        final_activation=None,
        dpp=None,
        wgan=None,
        margin=0.8,
        contrastive_alpha=5.0,
        contrastive_reduction="mean",
        batch_size=200,
        epochs=10,
        optimizer="rmsprop",
        learning_rate=1e-4,
        dtype=None,
        random_state=None,
        verbose=False,
    ):
        self.hidden = hidden
        self.n_components = n_components
        self.activation = activation
        self.batch_norm = batch_norm
        self.final_activation = final_activation
        self.dpp = dpp
        self.wgan = wgan
        self.margin = margin
        self.contrastive_alpha = contrastive_alpha
        self.contrastive_reduction = contrastive_reduction
        self.batch_size = batch_size
        self.epochs = epochs
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    # ----------------------------------------------------------------------- settings
    def _settings(self) -> dict:
        """Validate every hyper-parameter; return them resolved."""
        s = {}
        s["hidden"] = _check_hidden(self.hidden, "hidden")
        s["n_components"] = _check_int(self.n_components, "n_components", 1)
        s["activation"] = _check_activation(self.activation, "activation")
        if not isinstance(self.batch_norm, (bool, np.bool_)):
            raise ValueError(f"batch_norm must be a bool, got {self.batch_norm!r}.")
        s["final_activation"] = _check_activation(self.final_activation, "final_activation", allow_none=True)
        s["margin"] = check_real(self.margin, "margin", low=0.0)
        s["alpha"] = check_real(self.contrastive_alpha, "contrastive_alpha", low=0.0)
        if self.contrastive_reduction not in _REDUCTIONS:
            raise ValueError(
                f"contrastive_reduction must be one of {_REDUCTIONS}, got {self.contrastive_reduction!r}."
            )
        s["batch_size"] = _check_int(self.batch_size, "batch_size", 2)
        s["epochs"] = _check_int(self.epochs, "epochs", 1)
        if self.optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(_OPTIMIZERS)}, got {self.optimizer!r}.")
        s["learning_rate"] = check_real(self.learning_rate, "learning_rate", low=0.0, low_open=True)
        if self.dtype is None:
            s["dtype"] = None
        else:
            try:
                s["dtype"] = dtype_name(self.dtype)
            except ValueError:
                raise ValueError(f"dtype must be None, 'float32' or 'float64', got {self.dtype!r}.") from None
        if isinstance(self.verbose, bool) or isinstance(self.verbose, numbers.Integral):
            if self.verbose < 0:
                raise ValueError(f"verbose must be a bool or a non-negative int, got {self.verbose!r}.")
        else:
            raise ValueError(f"verbose must be a bool or a non-negative int, got {self.verbose!r}.")
        s["dpp"] = _resolve_dpp(self.dpp)
        s["wgan"] = _resolve_wgan(self.wgan, s["learning_rate"])
        return s

    # ----------------------------------------------------------------------- input checks
    def _check_X(self, X: Any, *, fitting: bool, y: Any = None):
        """Validate X (and y when fitting); return ``(X, y, xp, device)``.

        NumPy-compatible input goes through scikit-learn's ``validate_data`` (its error
        messages, feature names); arrays of other array-API libraries stay in their
        namespace and on their device.
        """
        if _is_foreign_array(X):
            X = as_float_array(X, "X", ndim=2)
            if fitting:
                if y is None:
                    raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
                if int(X.shape[0]) < 2:
                    raise ValueError(f"X must have at least 2 samples, got {int(X.shape[0])}.")
                self.n_features_in_ = int(X.shape[1])
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            elif int(X.shape[1]) != self.n_features_in_:
                raise ValueError(
                    f"X has {int(X.shape[1])} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input."
                )
        elif fitting:
            X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], ensure_min_samples=2)
        else:
            X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        if int(X.shape[1]) < 1:
            raise ValueError("X must have at least one feature (column).")
        return X, y, get_namespace(X), device_of(X)

    @staticmethod
    def _check_y(y: Any, n: int):
        y_np = np.asarray(y) if isinstance(y, (list, tuple, np.ndarray)) else np.asarray(to_numpy(y))
        if y_np.ndim != 1:
            raise ValueError(f"y must be a 1-D array of labels, got shape {tuple(y_np.shape)}.")
        if y_np.shape[0] != n:
            raise ValueError(f"y has {y_np.shape[0]} labels but X has {n} samples.")
        if y_np.dtype.kind == "f" and not np.all(np.isfinite(y_np)):
            raise ValueError("y contains NaN or infinity.")
        check_classification_targets(y_np)
        classes, codes = np.unique(y_np, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(
                f"y must contain at least 2 classes for the contrastive loss, got {classes.shape[0]}."
            )
        return classes, codes.reshape(-1).astype(np.int64)

    # ----------------------------------------------------------------------- the objective
    @staticmethod
    def _loss_terms(F, yb, settings, critic):
        """Loss terms of a feature batch and the total gradient wrt the features.

        Returns ``(terms, dF)``: ``terms`` holds ``"loss"`` (L), ``"contrastive"`` and, with
        the terms configured, ``"diversity"``, ``"path"`` and ``"generator"``.
        """
        terms = {}
        c_val, dF = contrastive_loss(
            F, yb, margin=settings["margin"], alpha=settings["alpha"],
            reduction=settings["contrastive_reduction"],
        )
        terms["contrastive"] = c_val
        total = c_val
        dpp_cfg = settings["dpp"]
        if dpp_cfg is not None:
            d_val, d_dF, info = dpp_loss(F, **_dpp_call_args(dpp_cfg))
            terms["diversity"] = info["diversity"]
            terms["path"] = info["method"]
            total += d_val
            dF += d_dF
        wg = settings["wgan"]
        if wg is not None and critic is not None:
            g_val, g_dF = generator_loss(critic, F)
            terms["generator"] = g_val
            total += wg["weight"] * g_val
            if wg["weight"]:
                g_dF *= wg["weight"]
                dF += g_dF
        terms["loss"] = total
        return terms, dF

    def _forward(self, Xb, xp):
        F = self.net_.forward(Xb)
        if not _finite(F, xp):
            raise FloatingPointError("the features became non-finite (NaN or infinity)")
        return F

    def batch_loss(self, X, y, *, return_gradient=False):
        """Training objective ``L = L_C − λ₁ L_D + λ₂ L_G`` of one batch, the critic held fixed.

        Evaluates the fitted network on the batch ``(X, y)`` as one training step would
        (batch statistics for batch normalization, the configured DPP path), without
        updating the network, its running statistics or the critic.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Inputs of the batch, n_samples >= 2.
        y : array_like of shape (n_samples,)
            Their labels.
        return_gradient : bool, default=False
            Also return the gradient of ``L`` wrt the network parameters (a true gradient
            only on the exact DPP path, since the sub-gradient paths give a direction).

        Returns
        -------
        loss : float
            ``L`` on the batch.
        terms : dict
            ``"contrastive"``, and with the terms configured ``"diversity"`` (L_D),
            ``"path"`` (DPP path taken) and ``"generator"`` (L_G).
        gradient : array
            Only with ``return_gradient``: the flattened gradient, in the order of
            :func:`~spectral_ml.nn.parameters_to_vector` applied to ``net_``.

        Raises
        ------
        ValueError
            On invalid input.
        """
        check_is_fitted(self, "net_")
        settings = self._fit_settings_
        X, _, xp, _ = self._check_X(X, fitting=False)
        n = int(X.shape[0])
        if n < 2:
            raise ValueError(f"X must have at least 2 samples (pairs), got {n}.")
        yb = np.asarray(to_numpy(y)) if not isinstance(y, (list, tuple)) else np.asarray(y)
        if yb.ndim != 1 or yb.shape[0] != n:
            raise ValueError(f"y must be a 1-D array of {n} labels, got shape {tuple(yb.shape)}.")
        X = self._to_net(X, xp)
        saved = {name: b for name, b in self.net_.named_buffers()}
        self.net_.train()
        try:
            F = self._forward(X, get_namespace(X))
            terms, dF = self._loss_terms(F, yb, settings, self.critic_)
            grad = None
            if return_gradient:
                self.net_.zero_grad()
                self.net_.backward(dF, input_grad=False)
                grad = gradients_to_vector(self.net_.parameters())
                self.net_.zero_grad()
        finally:
            self.net_.eval()
            # Batch normalization moved its running statistics in the forward pass.
            for mod_name, module in self.net_.named_modules():
                for name in module._buffer_names:
                    key = f"{mod_name}.{name}" if mod_name else name
                    setattr(module, name, saved[key])
        loss = terms.pop("loss")
        return (loss, terms, grad) if return_gradient else (loss, terms)

    def _to_net(self, X, xp):
        """X in the namespace, device and dtype of the network's parameters."""
        W = self.net_.parameters()[0].data
        net_xp = get_namespace(W)
        if net_xp is not xp and not (is_numpy_namespace(xp) and is_numpy_namespace(net_xp)):
            X = from_numpy(np.asarray(to_numpy(X)), net_xp, device_of(W))
        if X.dtype != W.dtype:
            X = net_xp.astype(X, W.dtype)
        return X

    # ----------------------------------------------------------------------- fit
    def fit(self, X, y):
        """Train the feature network on labelled samples.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Training inputs (NumPy or any array-API library; the network is built in the
            namespace and on the device of ``X``). Scale them to a fixed range first (the
            paper's MNIST pixels lie in [0, 1]).
        y : array_like of shape (n_samples,)
            Class labels, at least two classes.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            On NaN or infinity in ``X``, a ``y`` of the wrong length or with fewer than two
            classes, a ``batch_size`` smaller than the number of classes, or an invalid
            hyper-parameter (the message names it).
        FloatingPointError
            When the loss or the features become non-finite during training (too large a
            learning rate or weights); the message says at which epoch and batch.
        numpy.linalg.LinAlgError
            With ``dpp={"method": "exact"}``, on a batch whose kernel matrix is singular.
        """
        settings = self._settings()
        settings["contrastive_reduction"] = self.contrastive_reduction
        X, y, xp, device = self._check_X(X, fitting=True, y=y)
        n, p = int(X.shape[0]), int(X.shape[1])
        self.classes_, codes = self._check_y(y, n)
        dtype = settings["dtype"]
        if dtype is None:
            dtype = "float32" if X.dtype == xp.float32 else "float64"
        target = xp.float32 if dtype == "float32" else xp.float64
        if X.dtype != target:
            X = xp.astype(X, target)
        batch_size = settings["batch_size"]
        if batch_size > n:
            warnings.warn(
                f"batch_size={batch_size} exceeds the number of samples ({n}); using {n}.",
                UserWarning,
                stacklevel=2,
            )
            batch_size = n
        rng = check_rng(self.random_state)
        seeds = rng.integers(0, 2**31 - 1, size=3)
        # The sampler validates batch_size against the number of classes.
        sampler = BalancedBatchSampler(codes, batch_size=batch_size, random_state=int(seeds[2]))

        self.batch_size_ = batch_size
        self._fit_settings_ = settings
        self.net_ = MLP(
            [p, *settings["hidden"], settings["n_components"]],
            activation=settings["activation"],
            batch_norm=bool(self.batch_norm),
            final_activation=settings["final_activation"],
            random_state=int(seeds[0]),
            xp=xp,
            device=device,
            dtype=dtype,
        )
        opt = _OPTIMIZERS[self.optimizer](self.net_.parameters(), lr=settings["learning_rate"])
        wg = settings["wgan"]
        self.critic_ = None
        if wg is not None:
            self.critic_ = WassersteinCritic(
                settings["n_components"],
                hidden=wg["hidden"],
                activation=wg["activation"],
                clip_value=wg["clip_value"],
                optimizer=wg["optimizer"],
                lr=wg["learning_rate"],
                n_critic=wg["n_critic"],
                sampler=wg["sampler"],
                n_reference=wg["n_reference"],
                random_state=int(seeds[1]),
                xp=xp,
                device=device,
                dtype=dtype,
            )
        dpp_cfg = settings["dpp"]
        history = {"loss": [], "contrastive": []}
        if dpp_cfg is not None:
            history.update({"diversity": [], "path_exact": [], "path_dppsg": [], "path_dppsg*": []})
        if wg is not None:
            history.update({"generator": [], "critic": []})
        history["time"] = []
        epochs = settings["epochs"]
        self.net_.train()
        start = time.perf_counter()
        # Overflow shows up as a non-finite loss or feature, which the loop reports with the
        # epoch and batch; NumPy's own warnings would only precede that error.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            steps = self._train_loop(X, xp, device, codes, sampler, opt, settings, history, start)
        if not all(_finite(p.data, get_namespace(p.data)) for p in self.net_.parameters()):
            raise FloatingPointError(
                "Training diverged in the last step: the network parameters are not finite. Lower "
                "learning_rate or the weights of the DPP and WGAN terms."
            )
        self.net_.eval()
        self.train_time_ = time.perf_counter() - start
        self.history_ = history
        self.n_iter_ = epochs
        self.n_steps_ = steps
        return self

    def _train_loop(self, X, xp, device, codes, sampler, opt, settings, history, start):
        """The epochs of :meth:`fit`; fills ``history`` and returns the number of steps."""
        dpp_cfg, wg = settings["dpp"], settings["wgan"]
        epochs = settings["epochs"]
        n_batches = len(sampler)
        numpy_data = is_numpy_namespace(xp)
        steps = 0
        for epoch in range(epochs):
            sums = {k: 0.0 for k in ("loss", "contrastive", "diversity", "generator", "critic")}
            paths = {"exact": 0, "dppsg": 0, "dppsg*": 0}
            for b in range(n_batches):
                idx = sampler.next_batch()
                Xb = X[idx] if numpy_data else xp.take(X, from_numpy(idx, xp, device), axis=0)
                yb = codes[idx]
                try:
                    F = self._forward(Xb, xp)
                    if self.critic_ is not None:
                        # The critic catches up with the current features first (WGAN's
                        # alternation), then the network steps against it.
                        sums["critic"] += self.critic_.fit_steps(F)[-1]
                    terms, dF = self._loss_terms(F, yb, settings, self.critic_)
                    if not math.isfinite(terms["loss"]):
                        raise FloatingPointError(f"the training loss is not finite ({terms})")
                except FloatingPointError as exc:
                    raise FloatingPointError(
                        f"Training diverged at epoch {epoch + 1}, batch {b + 1}: {exc}. Lower "
                        "learning_rate or the weights of the DPP and WGAN terms."
                    ) from None
                except np.linalg.LinAlgError as exc:
                    raise np.linalg.LinAlgError(
                        f"At epoch {epoch + 1}, batch {b + 1}: {exc} With dpp method 'exact' "
                        "every batch needs a positive definite kernel matrix; 'dppsg*' or "
                        "'dppsg' switch to a proper sub-gradient there."
                    ) from None
                opt.zero_grad()
                self.net_.backward(dF, input_grad=False)
                opt.step()
                steps += 1
                sums["loss"] += terms["loss"]
                sums["contrastive"] += terms["contrastive"]
                if dpp_cfg is not None:
                    sums["diversity"] += terms["diversity"]
                    paths[terms["path"]] += 1
                if wg is not None:
                    sums["generator"] += terms["generator"]
            history["loss"].append(sums["loss"] / n_batches)
            history["contrastive"].append(sums["contrastive"] / n_batches)
            if dpp_cfg is not None:
                history["diversity"].append(sums["diversity"] / n_batches)
                for key, count in paths.items():
                    history[f"path_{key}"].append(count / n_batches)
            if wg is not None:
                history["generator"].append(sums["generator"] / n_batches)
                history["critic"].append(sums["critic"] / n_batches)
            history["time"].append(time.perf_counter() - start)
            if self.verbose:
                self._print_epoch(epoch, epochs, history)
        return steps

    def _print_epoch(self, epoch, epochs, history):
        parts = [f"epoch {epoch + 1}/{epochs}", f"loss {history['loss'][-1]:.5g}",
                 f"L_C {history['contrastive'][-1]:.5g}"]
        if "diversity" in history:
            parts.append(f"L_D {history['diversity'][-1]:.5g}")
            fr = [f"{k} {history[f'path_{k}'][-1]:.0%}" for k in ("exact", "dppsg", "dppsg*")
                  if history[f"path_{k}"][-1] > 0]
            parts.append("paths: " + ", ".join(fr))
        if "generator" in history:
            parts.append(f"L_G {history['generator'][-1]:.4g}")
            parts.append(f"W est. {history['critic'][-1]:.4g}")
        parts.append(f"{history['time'][-1]:.1f}s")
        print(f"[{type(self).__name__}] " + "  ".join(parts), file=sys.stdout, flush=True)

    # ----------------------------------------------------------------------- transform
    def transform(self, X):
        """Map samples to the learned features ``f(X)``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Samples, scaled as in ``fit``; NumPy or any array-API library.

        Returns
        -------
        F : array of shape (n_samples, n_components)
            Features, in the namespace (and on the device) of ``X``, in the network's dtype.

        Raises
        ------
        ValueError
            On non-finite values or the wrong number of features.
        """
        check_is_fitted(self, "net_")
        X, _, xp, device = self._check_X(X, fitting=False)
        Xn = self._to_net(X, xp)
        net_xp = get_namespace(Xn)
        self.net_.eval()
        n = int(Xn.shape[0])
        if n <= _TRANSFORM_CHUNK:
            F = self.net_.forward(Xn)
        else:
            F = net_xp.concat(
                [self.net_.forward(Xn[i : i + _TRANSFORM_CHUNK, :]) for i in range(0, n, _TRANSFORM_CHUNK)],
                axis=0,
            )
        if net_xp is not xp and not (is_numpy_namespace(xp) and is_numpy_namespace(net_xp)):
            F = from_numpy(np.asarray(to_numpy(F)), xp, device)
        return F

    @property
    def _n_features_out(self):
        return self.net_.sizes[-1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
