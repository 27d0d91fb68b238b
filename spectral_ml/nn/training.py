r"""The training objective, one training step and the training loop of a feature network.

A feature network :math:`f` is trained on class-balanced mini-batches to minimize (Yu, Li &
Li, ICLR 2020, Sec. 3.3 and 4.1)

.. math::

    \mathcal L = L_C - \lambda_1 L_D + \lambda_2 L_G:

:class:`FeatureObjective` evaluates :math:`\mathcal L` and its gradient wrt a feature batch,
:class:`TrainingStep` makes one update of the network (and, with a critic, the critic's
``n_critic`` updates first), :func:`train_epochs` runs the epochs and records the history, and
:func:`evaluate_batch` evaluates the objective (and its gradient) without updating.
:class:`~spectral_ml.nn.DPPFeatureLearner` is these three behind the scikit-learn API; the
pieces also serve a hand-written loop (a timed step, a custom schedule).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from typing import Any

import numpy as np

from .._backend import all_finite, device_of, get_namespace, take_rows, to_namespace
from .._validation import check_real
from ..dpp import DEFAULT_BETA, DEFAULT_DELTA, DEFAULT_SIGMA, DEFAULT_THETA, TRAINING_METHODS, DPPSettings
from .critic import WassersteinCritic, generator_loss
from .dpp_loss import dpp_loss
from .losses import contrastive_loss
from .module import Module, gradients_to_vector
from .optim import Optimizer
from .sampling import BalancedBatchSampler

__all__ = ["FeatureObjective", "TrainingStep", "train_epochs", "evaluate_batch", "DPP_METHODS", "DEFAULT_DPP_WEIGHT"]

#: Values of ``dpp``: the paper's DPPSG and DPPSG* switch from the exact gradient to that
#: sub-gradient when ``det L < beta``; ``"exact"`` always differentiates
#: (:data:`spectral_ml.dpp.TRAINING_METHODS`).
DPP_METHODS = TRAINING_METHODS

#: Default λ₁ per method (``dpp_weight=None``), for the log det objective and the
#: contrastive loss averaged over pairs, chosen on a validation split of MNIST. DPPSG's
#: direction has entries of order Δ, hence its far larger weight.
DEFAULT_DPP_WEIGHT = {"dppsg*": 3e-4, "exact": 3e-4, "dppsg": 1e5}

# The DPP paths a batch can take, in the order of the history's "path_*" entries.
_PATHS = ("exact", "dppsg", "dppsg*")


class FeatureObjective:
    r"""The feature-learning objective of a feature batch and its gradient.

    .. math::

        \mathcal L = L_C - \lambda_1 L_D + \lambda_2 L_G,

    with the contrastive loss :math:`L_C` (:func:`~spectral_ml.nn.contrastive_loss`), the
    DPP diversity :math:`L_D` (:func:`~spectral_ml.nn.dpp_loss`) and the WGAN generator loss
    :math:`L_G` (:func:`~spectral_ml.nn.generator_loss`).

    Parameters
    ----------
    margin : float, default=0.8
        Contrastive margin µ (:func:`~spectral_ml.nn.contrastive_loss`).
    contrastive_alpha : float, default=5.0
        Contrastive weight α of the different-label pairs.
    contrastive_reduction : {"mean", "sum"}, default="mean"
        Average the contrastive loss over the pairs, or sum it.
    dpp : {None, "dppsg", "dppsg*", "exact"} or DPPSettings, default=None
        The DPP term: none, or its method (:data:`DPP_METHODS`): ``"dppsg"`` and
        ``"dppsg*"`` take the exact gradient while ``det L >= dpp_beta`` and that proper
        sub-gradient otherwise; ``"exact"`` always the exact gradient. Or every setting of
        the term as a :class:`~spectral_ml.dpp.DPPSettings`, used as it is (its ``weight`` is
        λ₁); the ``dpp_*`` parameters must then be left at their defaults.
    dpp_weight : float, optional
        λ₁ >= 0; None takes :data:`DEFAULT_DPP_WEIGHT` of the method.
    dpp_sigma, dpp_objective, dpp_beta, dpp_delta, dpp_theta
        Kernel width σ, ``"logdet"`` or ``"det"``, switch threshold β, DPPSG's floor Δ and
        DPPSG*'s step θ (:func:`~spectral_ml.nn.dpp_loss`).
    wgan_weight : float, optional
        λ₂ >= 0 of the generator loss; None: no generator term.

    Attributes
    ----------
    dpp_settings : DPPSettings or None
        The settings of the DPP term (None without it), built once by
        :meth:`DPPSettings.from_params <spectral_ml.dpp.DPPSettings.from_params>` from the
        ``dpp*`` parameters: a batch whose kernel underflows is allowed (a legitimate
        training state, not a mistake in σ).
    dpp_args : dict or None
        The same settings as keyword arguments of :func:`~spectral_ml.nn.dpp_loss`, for
        instance to time the term on its own.

    Raises
    ------
    ValueError
        For an invalid ``dpp`` or ``dpp_*`` parameter (the message names it) or
        ``wgan_weight``.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import FeatureObjective
    >>> objective = FeatureObjective(dpp="dppsg*")
    >>> F = np.random.default_rng(0).uniform(-1, 1, size=(20, 2))
    >>> terms, dF = objective(F, np.arange(20) % 2)
    >>> sorted(terms), dF.shape
    (['contrastive', 'diversity', 'loss', 'path'], (20, 2))
    """

    def __init__(
        self,
        *,
        margin: float = 0.8,
        contrastive_alpha: float = 5.0,
        contrastive_reduction: str = "mean",
        dpp: str | None = None,
        dpp_weight: float | None = None,
        dpp_sigma: float = DEFAULT_SIGMA,
        dpp_objective: str = "logdet",
        dpp_beta: float = DEFAULT_BETA,
        dpp_delta: float = DEFAULT_DELTA,
        dpp_theta: float = DEFAULT_THETA,
        wgan_weight: float | None = None,
    ):
        self.contrastive_args: dict[str, Any] = {
            "margin": margin,
            "alpha": contrastive_alpha,
            "reduction": contrastive_reduction,
        }
        self.dpp_settings = DPPSettings.from_params(
            {
                "dpp": dpp,
                "dpp_weight": dpp_weight,
                "dpp_sigma": dpp_sigma,
                "dpp_objective": dpp_objective,
                "dpp_beta": dpp_beta,
                "dpp_delta": dpp_delta,
                "dpp_theta": dpp_theta,
            },
            default_weight=DEFAULT_DPP_WEIGHT,
        )
        self.wgan_weight = None if wgan_weight is None else check_real(wgan_weight, "wgan_weight", low=0.0)

    @property
    def dpp_args(self) -> dict | None:
        """:attr:`dpp_settings` as keyword arguments of :func:`~spectral_ml.nn.dpp_loss` (None without the term)."""
        return None if self.dpp_settings is None else dataclasses.asdict(self.dpp_settings)

    def __call__(self, F: Any, labels: Any, critic: WassersteinCritic | None = None, *, times: dict | None = None):
        """Terms of ``L`` on the feature batch ``F`` and the gradient of ``L`` wrt ``F``.

        Parameters
        ----------
        F : array of shape (n_samples, n_components)
            Feature batch.
        labels : array_like of shape (n_samples,)
            Its labels (integer codes in the namespace of ``F`` avoid any conversion).
        critic : WassersteinCritic, optional
            The critic of the generator term (needed when ``wgan_weight`` is set).
        times : dict, optional
            When given, the seconds spent in each term are added to its ``"contrastive"``,
            ``"dpp"`` and ``"generator"`` entries.

        Returns
        -------
        terms : dict
            ``"loss"`` (L), ``"contrastive"`` (L_C) and, with the terms configured,
            ``"diversity"`` (L_D), ``"path"`` (the DPP path taken) and ``"generator"``
            (L_G).
        dF : array
            Gradient of ``L`` wrt ``F`` (a proper sub-gradient direction on the DPP's
            sub-gradient paths).
        """
        clock = time.perf_counter
        t0 = clock()
        total, dF = contrastive_loss(F, labels, **self.contrastive_args)
        terms = {"contrastive": total}
        t1 = clock()
        _add_time(times, "contrastive", t1 - t0)
        if self.dpp_settings is not None:
            d_val, d_dF, info = dpp_loss(F, settings=self.dpp_settings)
            terms["diversity"] = info["diversity"]
            terms["path"] = info["method"]
            total += d_val
            dF += d_dF
            t2 = clock()
            _add_time(times, "dpp", t2 - t1)
            t1 = t2
        if self.wgan_weight is not None:
            if critic is None:
                raise ValueError("critic is required: the objective has a generator term (wgan_weight).")
            g_val, g_dF = generator_loss(critic, F)
            terms["generator"] = g_val
            total += self.wgan_weight * g_val
            if self.wgan_weight:
                g_dF *= self.wgan_weight
                dF += g_dF
            _add_time(times, "generator", clock() - t1)
        terms["loss"] = total
        return terms, dF


def _add_time(times: dict | None, key: str, seconds: float) -> None:
    if times is not None:
        times[key] = times.get(key, 0.0) + seconds


class TrainingStep:
    """One training step of a feature network: forward, objective, backward, update.

    With a critic, the critic first takes its ``n_critic`` steps against the current
    features (WGAN's alternation), then the network steps against it.

    Parameters
    ----------
    net : Module
        The feature network.
    optimizer : Optimizer
        Optimizer of the network's parameters.
    objective : FeatureObjective
        The objective.
    critic : WassersteinCritic, optional
        The critic of the objective's generator term.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.nn import MLP, RMSprop, FeatureObjective, TrainingStep
    >>> net = MLP([4, 8, 2], random_state=0)
    >>> step = TrainingStep(net, RMSprop(net, lr=1e-3), FeatureObjective(dpp="dppsg*"))
    >>> X = np.random.default_rng(0).random((20, 4))
    >>> times = {}
    >>> terms = step(X, np.arange(20) % 2, times=times)
    >>> terms["path"], sorted(times)  # a fresh network maps the batch close together
    ('dppsg*', ['backward', 'contrastive', 'dpp', 'forward'])
    """

    def __init__(
        self, net: Module, optimizer: Optimizer, objective: FeatureObjective, critic: WassersteinCritic | None = None
    ):
        if objective.wgan_weight is not None and critic is None:
            raise ValueError("critic is required: the objective has a generator term (wgan_weight).")
        self.net = net
        self.optimizer = optimizer
        self.objective = objective
        self.critic = critic

    @property
    def history_keys(self) -> tuple[str, ...]:
        """The terms :func:`train_epochs` records per epoch, in the order of its history.

        ``"path"`` stands for the fractions of batches on each DPP path.
        """
        keys: tuple[str, ...] = ("loss", "contrastive")
        if self.objective.dpp_settings is not None:
            keys += ("diversity", "path")
        if self.critic is not None:
            keys += ("generator", "critic")
        return keys

    def __call__(self, X: Any, labels: Any, *, times: dict | None = None) -> dict:
        """Update the network (and the critic) on the batch ``(X, labels)``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Inputs, in the namespace, device and dtype of the network.
        labels : array_like of shape (n_samples,)
            Their labels.
        times : dict, optional
            When given, seconds are added to ``"forward"``, ``"critic"``, the objective's
            terms and ``"backward"`` (backward pass and update).

        Returns
        -------
        dict
            The terms of the objective before the update (see :class:`FeatureObjective`),
            and with a critic ``"critic"``: its Wasserstein estimate at its last step.

        Raises
        ------
        FloatingPointError
            When the features or the loss are not finite.
        """
        clock = time.perf_counter
        t0 = clock()
        F = _features(self.net, X)
        t1 = clock()
        _add_time(times, "forward", t1 - t0)
        critic_estimate = None
        if self.critic is not None:
            critic_estimate = self.critic.fit_steps(F)[-1]
            _add_time(times, "critic", clock() - t1)
        terms, dF = self.objective(F, labels, self.critic, times=times)
        if not math.isfinite(terms["loss"]):
            raise FloatingPointError(f"the training loss is not finite ({terms})")
        if critic_estimate is not None:
            terms["critic"] = critic_estimate
        t2 = clock()
        self.optimizer.zero_grad()
        self.net.backward(dF, input_grad=False)
        self.optimizer.step()
        _add_time(times, "backward", clock() - t2)
        return terms


def evaluate_batch(
    net: Module,
    objective: FeatureObjective,
    X: Any,
    labels: Any,
    critic: WassersteinCritic | None = None,
    *,
    return_gradient: bool = False,
) -> tuple[Any, Any]:
    """The objective on a batch as a training step would see it, without updating anything.

    The network runs in training mode (batch statistics for batch normalization); its mode
    and running statistics are restored afterwards. The critic is held fixed.

    Parameters
    ----------
    net : Module
        The feature network.
    objective : FeatureObjective
        The objective.
    X : array of shape (n_samples, n_features)
        Inputs, in the namespace, device and dtype of the network.
    labels : array_like of shape (n_samples,)
        Their labels.
    critic : WassersteinCritic, optional
        The critic of the generator term.
    return_gradient : bool, default=False
        Also compute the gradient wrt the network parameters.

    Returns
    -------
    terms : dict
        As from :class:`FeatureObjective`.
    gradient : array or None
        With ``return_gradient``, the flattened gradient of ``L`` wrt the network
        parameters (order of :func:`~spectral_ml.nn.parameters_to_vector`).
    """
    buffers = [
        (module, name, getattr(module, name)) for _, module in net.named_modules() for name in module._buffer_names
    ]
    training = net.training
    net.train()
    try:
        terms, dF = objective(_features(net, X), labels, critic)
        grad = None
        if return_gradient:
            net.zero_grad()
            net.backward(dF, input_grad=False)
            grad = gradients_to_vector(net.parameters())
            net.zero_grad()
    finally:
        net.train(training)
        # Batch normalization moved its running statistics in the forward pass.
        for module, name, value in buffers:
            setattr(module, name, value)
    return terms, grad


def _features(net: Module, X: Any):
    F = net.forward(X)
    if not all_finite(F):
        raise FloatingPointError("the features became non-finite (NaN or infinity)")
    return F


def train_epochs(
    step: TrainingStep,
    X: Any,
    labels: Any,
    sampler: BalancedBatchSampler,
    epochs: int,
    *,
    verbose: int = 0,
    name: str = "train_epochs",
) -> tuple[dict, int]:
    """Run ``epochs`` epochs of ``step`` over the batches of ``sampler``.

    Parameters
    ----------
    step : TrainingStep
        The step (network, optimizer, objective, critic). Any other callable
        ``step(X_batch, labels_batch) -> terms`` will do (the PyTorch learner's autograd
        step is one) if it has ``net`` (with ``train()`` and ``parameters()``, whose
        ``.data`` are arrays) and ``history_keys`` (see :attr:`TrainingStep.history_keys`).
    X : array of shape (n_samples, n_features)
        Training inputs in the namespace, device and dtype of the network.
    labels : array of shape (n_samples,)
        Integer class codes, in the namespace and on the device of ``X`` (encoded once, so
        that no batch converts labels).
    sampler : BalancedBatchSampler
        Batches of indices; ``len(sampler)`` batches make an epoch.
    epochs : int
        Number of epochs.
    verbose : int, default=0
        Print one line per epoch when positive.
    name : str, default="train_epochs"
        Prefix of the printed lines.

    Returns
    -------
    history : dict of str to list of float
        Per epoch, averaged over its batches, the terms of ``step.history_keys``:
        ``"loss"``, ``"contrastive"``, with the DPP term ``"diversity"`` and the fraction of
        batches on each path (``"path_exact"``, ``"path_dppsg"``, ``"path_dppsg*"``), with a
        critic ``"generator"`` and ``"critic"``; ``"time"``: seconds since the start.
    n_steps : int
        Network updates made.

    Raises
    ------
    FloatingPointError
        When the features, the loss or the parameters become non-finite; the message says
        at which epoch and batch.
    numpy.linalg.LinAlgError
        With the DPP method ``"exact"``, on a batch whose kernel matrix is singular.
    """
    with_dpp = "path" in step.history_keys
    keys = [key for key in step.history_keys if key != "path"]
    history: dict[str, list] = {}
    for key in step.history_keys:
        history.update({f"path_{p}": [] for p in _PATHS} if key == "path" else {key: []})
    history["time"] = []
    xp = get_namespace(X)
    n_batches = len(sampler)
    start = time.perf_counter()
    n_steps = 0
    step.net.train()
    # Overflow shows up as a non-finite loss or feature, which is reported with the epoch
    # and batch; NumPy's own warnings would only precede that error.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(epochs):
            # One transfer of the epoch's batch indices to the data's device.
            batches = to_namespace(np.stack([sampler.next_batch() for _ in range(n_batches)]), xp, device_of(X))
            sums = dict.fromkeys(keys, 0.0)
            paths = dict.fromkeys(_PATHS, 0)
            for b in range(n_batches):
                idx = batches[b, :]
                try:
                    terms = step(take_rows(X, idx), take_rows(labels, idx))
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
                n_steps += 1
                for key in keys:
                    sums[key] += terms[key]
                if with_dpp:
                    paths[terms["path"]] += 1
            for key in keys:
                history[key].append(sums[key] / n_batches)
            if with_dpp:
                for path, count in paths.items():
                    history[f"path_{path}"].append(count / n_batches)
            history["time"].append(time.perf_counter() - start)
            if verbose:
                _print_epoch(name, epoch, epochs, history)
    if not all(all_finite(p.data) for p in step.net.parameters()):
        raise FloatingPointError(
            "Training diverged in the last step: the network parameters are not finite. Lower "
            "learning_rate or the weights of the DPP and WGAN terms."
        )
    return history, n_steps


def _print_epoch(name: str, epoch: int, epochs: int, history: dict) -> None:
    parts = [f"epoch {epoch + 1}/{epochs}", f"loss {history['loss'][-1]:.5g}", f"L_C {history['contrastive'][-1]:.5g}"]
    if "diversity" in history:
        parts.append(f"L_D {history['diversity'][-1]:.5g}")
    if "path_exact" in history:
        shares = [f"{p} {history[f'path_{p}'][-1]:.0%}" for p in _PATHS if history[f"path_{p}"][-1] > 0]
        parts.append("paths: " + ", ".join(shares))
    if "generator" in history:
        parts.append(f"L_G {history['generator'][-1]:.4g}")
    if "critic" in history:
        parts.append(f"W est. {history['critic'][-1]:.4g}")
    parts.append(f"{history['time'][-1]:.1f}s")
    print(f"[{name}] " + "  ".join(parts), file=sys.stdout, flush=True)
