"""Deep feature learning with the DPP diversity term: a scikit-learn style estimator.

:class:`DPPFeatureLearner` trains a multi-layer perceptron ``f`` on class-balanced
mini-batches to minimize (Yu, Li & Li, ICLR 2020, Sec. 3.3 and 4.1)

    L = L_C − λ₁ L_D + λ₂ L_G,

the contrastive loss of the batch (:func:`~spectral_ml.nn.contrastive_loss`), the DPP
diversity of its features (:func:`~spectral_ml.nn.dpp_loss`; exact gradient or proper
spectral sub-gradient, chosen per batch) and the WGAN generator loss
(:func:`~spectral_ml.nn.generator_loss`) against a critic trained in alternation
(:class:`~spectral_ml.nn.WassersteinCritic`), which keeps the features in a bounded region.
The estimator validates its hyper-parameters and data, builds the network, the critic and
their optimizers, and hands the loop to :mod:`spectral_ml.nn.training`; ``transform`` maps
samples to the learned features.
"""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._backend import (
    cast,
    device_of,
    get_namespace,
    is_foreign_array,
    match_namespace,
    to_namespace,
)
from .._validation import check_generator, check_labels, check_samples, encode_labels
from ..dpp import DEFAULT_BETA, DEFAULT_DELTA, DEFAULT_SIGMA, DEFAULT_THETA, DPPSettings
from .critic import WassersteinCritic
from .layers import ACTIVATIONS, MLP, check_widths
from .optim import OPTIMIZERS, make_optimizer
from .sampling import BalancedBatchSampler
from .training import DPP_METHODS, FeatureObjective, TrainingStep, evaluate_batch, train_epochs

__all__ = ["DPPFeatureLearner"]

# Rows per forward pass in transform: bounds the memory of the hidden activations.
_TRANSFORM_CHUNK = 8192

_POSITIVE = Interval(Real, 0, np.inf, closed="neither")
_NON_NEGATIVE = Interval(Real, 0, np.inf, closed="left")


#: Constraints of the parameters both feature learners share (the DPP term's settings, the
#: WGAN term's, the contrastive loss's and the training loop's), for their
#: ``_parameter_constraints``.
TRAINING_PARAMETER_CONSTRAINTS: dict = {
    "dpp_sigma": [_POSITIVE],
    "dpp_objective": [StrOptions({"logdet", "det"})],
    "dpp_beta": [_POSITIVE],
    "dpp_delta": [_POSITIVE],
    "dpp_theta": [Interval(Real, 0, 1, closed="right")],
    "wgan_weight": [_NON_NEGATIVE],
    "wgan_n_critic": [Interval(Integral, 1, None, closed="left")],
    "wgan_clip_value": [_POSITIVE, None],
    "wgan_learning_rate": [_POSITIVE, None],
    "margin": [_NON_NEGATIVE],
    "contrastive_alpha": [_NON_NEGATIVE],
    "contrastive_reduction": [StrOptions({"mean", "sum"})],
    "batch_size": [Interval(Integral, 2, None, closed="left")],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "learning_rate": [_POSITIVE],
    "verbose": ["verbose"],
}
_ACTIVATION = [StrOptions(set(ACTIVATIONS)), callable]
_WIDTHS = [Interval(Integral, 1, None, closed="left"), "array-like"]


class DPPFeatureLearner(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    r"""Feature network trained with the contrastive loss, the DPP term and a WGAN term.

    A multi-layer perceptron :math:`f:\mathbb R^p\to\mathbb R^k` (:math:`k` =
    ``n_components``, 2 in the paper's MNIST test) is trained on class-balanced mini-batches
    (:class:`BalancedBatchSampler`) to minimize, for a batch with features :math:`F = f(I)`
    and labels :math:`y`,

    .. math::

        \mathcal L = L_C(F, y) - \lambda_1 L_D(F) + \lambda_2 L_G(F)

    (Yu, Li & Li, ICLR 2020, Sec. 3.3 and 4.1):

    * :math:`L_C` — contrastive loss over the pairs of the batch, margin µ on the squared
      distance of different-label pairs and weight α on them
      (:func:`~spectral_ml.nn.contrastive_loss`);
    * :math:`L_D` — DPP diversity :math:`\log\det L` (or :math:`\det L`) of the Gaussian
      kernel :math:`L_{ij} = \exp(-\|f_i - f_j\|^2/\sigma^2)` of the batch, maximized
      through the exact gradient while :math:`\det L\ge\beta` and a proper spectral
      sub-gradient (DPPSG or DPPSG*) otherwise (:func:`~spectral_ml.nn.dpp_loss`);
    * :math:`L_G = -\frac1n\sum_i h(f_i)` — WGAN generator loss through a weight-clipped
      critic :math:`h` (:class:`~spectral_ml.nn.WassersteinCritic`) that is trained before
      each network step (``wgan_n_critic`` steps) to estimate the Wasserstein-1 distance
      between the features and a reference distribution :math:`\mathcal P` (uniform on
      :math:`[-1, 1]^k` by default).

    The paper writes the objective with ``L_G`` for the task loss and the weights in
    another order; here, as in its Appendix A.1, λ₁ weights the DPP term (``dpp_weight``)
    and λ₂ the WGAN term (``wgan_weight``). Every setting is a plain parameter, so
    ``set_params`` and ``GridSearchCV`` reach each of them (for instance
    ``param_grid={"dpp_sigma": [0.1, 0.2]}``).

    Parameters
    ----------
    hidden : int or sequence of int, default=(200,)
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
    dpp : {None, "dppsg", "dppsg*", "exact"} or DPPSettings, default=None
        The DPP term. None: none (the contrastive baseline). ``"dppsg"`` or ``"dppsg*"``:
        the exact gradient while ``det L >= dpp_beta``, that proper sub-gradient otherwise
        (the paper's DPPSG and DPPSG*). ``"exact"``: always the exact gradient (training
        stops with ``LinAlgError`` on a batch whose kernel matrix is singular). A
        :class:`~spectral_ml.dpp.DPPSettings` gives every setting of the term at once (its
        ``weight`` is λ₁); the ``dpp_*`` parameters must then keep their defaults. The
        separate parameters are the ones ``GridSearchCV`` can vary.
    dpp_weight : float, default=None
        λ₁ >= 0. None takes :data:`~spectral_ml.nn.training.DEFAULT_DPP_WEIGHT` of the
        method: 3e-4 for DPPSG* and the exact gradient, 1e5 for DPPSG, whose direction is
        of order Δ (see Notes).
    dpp_sigma : float, default=0.2
        Kernel width σ > 0 (the paper's value for 2-D features).
    dpp_objective : {"logdet", "det"}, default="logdet"
        ``L_D = log det L``, or the paper's ``det L`` (which underflows to 0 for batches of
        a few hundred points).
    dpp_beta : float, default=1e-7
        The switch threshold β > 0 on ``det L``.
    dpp_delta : float, default=1e-7
        DPPSG's eigenvalue floor Δ > 0 (the paper's).
    dpp_theta : float, default=0.1
        DPPSG*'s step θ ∈ (0, 1] toward the identity (the paper gives none).
    wgan : bool, default=False
        Add the WGAN term (the ``wgan_*`` parameters apply only then).
    wgan_weight : float, default=1e3
        λ₂ >= 0.
    wgan_n_critic : int, default=5
        Critic steps per network step.
    wgan_clip_value : float or None, default=0.01
        Critic weight clipping c > 0 (None: no clipping).
    wgan_hidden : int or sequence of int, default=(64, 64)
        Hidden widths of the critic.
    wgan_activation : {"relu", "leaky_relu", "tanh", "sigmoid"} or callable, default="relu"
        Hidden activation of the critic.
    wgan_n_reference : int or None, default=2000
        Reference samples per critic step (the paper's 2000; None: as many as the batch).
    wgan_sampler : callable or None, default=None
        ``sampler(n, d, rng)`` of 𝒫; None: uniform on ``[−1, 1]^k``
        (:func:`~spectral_ml.evaluation.uniform_box_sampler`).
    wgan_optimizer : {"rmsprop", "adam", "sgd"}, default="rmsprop"
        Optimizer of the critic.
    wgan_learning_rate : float or None, default=None
        Learning rate of the critic (None: ``learning_rate``).
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
        The WGAN critic, with ``wgan=True``.
    history_ : dict of str to list of float
        One entry per epoch, averaged over its batches: ``"loss"`` (L), ``"contrastive"``
        (L_C) and ``"time"`` (seconds since the start of training); with ``dpp``:
        ``"diversity"`` (L_D, the raw ``log det L`` or ``det L``; on singular batches the
        log-determinant of DPPSG's lifted matrix, see
        :class:`~spectral_ml.dpp.DPPResult`) and ``"path_exact"``, ``"path_dppsg"``,
        ``"path_dppsg*"`` (fraction of the batches that took each path); with ``wgan``:
        ``"generator"`` (L_G) and ``"critic"`` (the critic's Wasserstein estimate
        ``mean h(z) − mean h(f)`` at its last step before each network step).
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of str
        Names of the input features, when ``X`` has string column names.
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

    See Also
    --------
    spectral_ml.nn.training : the objective, the step and the loop, for hand-written
        training.

    Notes
    -----
    *Scales of the weights.* The paper's :math:`\lambda_1 = 10^3` and
    :math:`\lambda_2 = 10^6` (Appendix A.1) were set for
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

    *Cost per step.* Network forward and backward, :math:`O(n^2k)` for the contrastive
    loss, :math:`O(n^3/3)` for the Cholesky factorization of the DPP switch (plus an eigendecomposition
    for the value, or for DPPSG, on singular batches), and with WGAN ``wgan_n_critic``
    critic steps on ``wgan_n_reference + n`` points.

    Arrays of other array-API libraries (CuPy, PyTorch, array-api-strict) are trained on in
    their own namespace and on their device (labels are encoded once per fit, on that
    device); ``transform`` returns the namespace of its input.

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

    _parameter_constraints: dict = {
        **TRAINING_PARAMETER_CONSTRAINTS,
        "hidden": _WIDTHS,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "activation": _ACTIVATION,
        "batch_norm": ["boolean"],
        "final_activation": [*_ACTIVATION, None],
        "dpp": [StrOptions(set(DPP_METHODS)), DPPSettings, None],
        "dpp_weight": [_NON_NEGATIVE, None],
        "wgan": ["boolean"],
        "wgan_hidden": _WIDTHS,
        "wgan_activation": _ACTIVATION,
        "wgan_n_reference": [Interval(Integral, 1, None, closed="left"), None],
        "wgan_sampler": [callable, None],
        "wgan_optimizer": [StrOptions(set(OPTIMIZERS))],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "dtype": [StrOptions({"float32", "float64"}), None],
        "random_state": ["random_state", np.random.Generator],
    }

    def __init__(
        self,
        hidden=(200,),
        n_components=2,
        *,
        activation="relu",
        batch_norm=False,
        final_activation=None,
        dpp=None,
        dpp_weight=None,
        dpp_sigma=DEFAULT_SIGMA,
        dpp_objective="logdet",
        dpp_beta=DEFAULT_BETA,
        dpp_delta=DEFAULT_DELTA,
        dpp_theta=DEFAULT_THETA,
        wgan=False,
        wgan_weight=1e3,
        wgan_n_critic=5,
        wgan_clip_value=0.01,
        wgan_hidden=(64, 64),
        wgan_activation="relu",
        wgan_n_reference=2000,
        wgan_sampler=None,
        wgan_optimizer="rmsprop",
        wgan_learning_rate=None,
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
        self.dpp_weight = dpp_weight
        self.dpp_sigma = dpp_sigma
        self.dpp_objective = dpp_objective
        self.dpp_beta = dpp_beta
        self.dpp_delta = dpp_delta
        self.dpp_theta = dpp_theta
        self.wgan = wgan
        self.wgan_weight = wgan_weight
        self.wgan_n_critic = wgan_n_critic
        self.wgan_clip_value = wgan_clip_value
        self.wgan_hidden = wgan_hidden
        self.wgan_activation = wgan_activation
        self.wgan_n_reference = wgan_n_reference
        self.wgan_sampler = wgan_sampler
        self.wgan_optimizer = wgan_optimizer
        self.wgan_learning_rate = wgan_learning_rate
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

    # ----------------------------------------------------------------------- pieces
    def _objective(self) -> FeatureObjective:
        """The training objective of the current parameters."""
        return FeatureObjective(
            margin=self.margin,
            contrastive_alpha=self.contrastive_alpha,
            contrastive_reduction=self.contrastive_reduction,
            dpp=self.dpp,
            dpp_weight=self.dpp_weight,
            dpp_sigma=self.dpp_sigma,
            dpp_objective=self.dpp_objective,
            dpp_beta=self.dpp_beta,
            dpp_delta=self.dpp_delta,
            dpp_theta=self.dpp_theta,
            wgan_weight=self.wgan_weight if self.wgan else None,
        )

    def _critic(self, hidden: tuple, seed: int, xp, device, dtype) -> WassersteinCritic | None:
        if not self.wgan:
            return None
        return WassersteinCritic(
            self.n_components,
            hidden=hidden,
            activation=self.wgan_activation,
            clip_value=self.wgan_clip_value,
            optimizer=self.wgan_optimizer,
            lr=self.learning_rate if self.wgan_learning_rate is None else self.wgan_learning_rate,
            n_critic=self.wgan_n_critic,
            sampler=self.wgan_sampler,
            n_reference=self.wgan_n_reference,
            random_state=seed,
            xp=xp,
            device=device,
            dtype=dtype,
        )

    # ----------------------------------------------------------------------- input checks
    def _check_X(self, X: Any, *, fitting: bool, y: Any = None):
        """Validate X (and y when fitting); return ``(X, y, xp, device)``.

        NumPy-compatible input goes through scikit-learn's ``validate_data`` (its error
        messages, feature names); arrays of other array-API libraries stay in their
        namespace and on their device.
        """
        if is_foreign_array(X):
            X = check_samples(X, "X", min_samples=2 if fitting else 1)
            if fitting:
                if y is None:
                    raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
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
        return X, y, get_namespace(X), device_of(X)

    @staticmethod
    def _encode_y(y: Any, n: int):
        """Validate the labels; return the classes and their integer codes (NumPy)."""
        y_np = check_labels(y, n_samples=n)
        check_classification_targets(y_np)
        classes, codes = encode_labels(y_np)
        if classes.shape[0] < 2:
            raise ValueError(f"y must contain at least 2 classes for the contrastive loss, got {classes.shape[0]}.")
        return classes, codes

    def _to_net(self, X):
        """X in the namespace, device and dtype of the network's parameters."""
        W = self.net_.parameters()[0].data
        return cast(match_namespace(X, W), W.dtype)

    # ----------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any) -> DPPFeatureLearner:
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
            With ``dpp="exact"``, on a batch whose kernel matrix is singular.
        """
        hidden = check_widths(self.hidden, "hidden")
        critic_hidden = check_widths(self.wgan_hidden, "wgan_hidden")
        objective = self._objective()
        X, y, xp, device = self._check_X(X, fitting=True, y=y)
        n, p = int(X.shape[0]), int(X.shape[1])
        self.classes_, codes = self._encode_y(y, n)
        dtype = self.dtype
        if dtype is None:
            dtype = "float32" if X.dtype == xp.float32 else "float64"
        target = xp.float32 if dtype == "float32" else xp.float64
        X = cast(X, target, xp=xp)
        batch_size = self.batch_size
        if batch_size > n:
            warnings.warn(
                f"batch_size={batch_size} exceeds the number of samples ({n}); using {n}.",
                UserWarning,
                stacklevel=2,
            )
            batch_size = n
        seeds = check_generator(self.random_state).integers(0, 2**31 - 1, size=3)
        # The sampler validates batch_size against the number of classes.
        sampler = BalancedBatchSampler(codes, batch_size=batch_size, random_state=int(seeds[2]))
        self.batch_size_ = batch_size
        self.net_ = MLP(
            [p, *hidden, self.n_components],
            activation=self.activation,
            batch_norm=self.batch_norm,
            final_activation=self.final_activation,
            random_state=int(seeds[0]),
            xp=xp,
            device=device,
            dtype=dtype,
        )
        self.critic_ = self._critic(critic_hidden, int(seeds[1]), xp, device, dtype)
        self._objective_ = objective
        step = TrainingStep(
            self.net_, make_optimizer(self.optimizer, self.net_, self.learning_rate), objective, self.critic_
        )
        start = time.perf_counter()
        # The labels go to the data's device once; every batch takes its rows there.
        labels = to_namespace(codes, xp, device)
        self.history_, self.n_steps_ = train_epochs(
            step, X, labels, sampler, self.epochs, verbose=self.verbose, name=type(self).__name__
        )
        self.net_.eval()
        self.train_time_ = time.perf_counter() - start
        self.n_iter_ = self.epochs
        return self

    def batch_loss(self, X: Any, y: Any, *, return_gradient: bool = False) -> tuple[Any, ...]:
        r"""Training objective :math:`L_C - \lambda_1 L_D + \lambda_2 L_G` of one batch, the critic held fixed.

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
        X, _, _, _ = self._check_X(X, fitting=False)
        n = int(X.shape[0])
        if n < 2:
            raise ValueError(f"X must have at least 2 samples (pairs), got {n}.")
        labels = check_labels(y, n_samples=n)
        terms, grad = evaluate_batch(
            self.net_, self._objective_, self._to_net(X), labels, self.critic_, return_gradient=return_gradient
        )
        loss = terms.pop("loss")
        return (loss, terms, grad) if return_gradient else (loss, terms)

    # ----------------------------------------------------------------------- transform
    def transform(self, X: Any) -> Any:
        """Map samples to the learned features ``f(X)``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Samples, scaled as in ``fit``; NumPy or any array-API library.

        Returns
        -------
        F : array of shape (n_samples, n_components)
            Features, in the namespace (and on the device) of ``X``, in the network's dtype
            (a DataFrame under ``set_output(transform="pandas")``).

        Raises
        ------
        ValueError
            On non-finite values or the wrong number of features.
        """
        check_is_fitted(self, "net_")
        X, _, xp, device = self._check_X(X, fitting=False)
        Xn = self._to_net(X)
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
        return to_namespace(F, xp, device)

    @property
    def _n_features_out(self):
        return self.net_.sizes[-1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
