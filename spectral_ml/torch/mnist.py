"""The convolutional network of the DPP paper's MNIST experiment, trained in PyTorch.

Yu, Li & Li (ICLR 2020), Sec. 4.1 and Appendix A: three 5 × 5 convolutions with 32, 32 and 64
filters, batch normalization on each layer, max pooling after the first convolution and
average pooling after the others, fully connected layers of 200 and 2 units; the contrastive
loss, the DPP term and a WGAN critic act on the 2-D layer, whose features are then used for
retrieval (Table 1) and shown in Fig. 1.
"""

from __future__ import annotations

import inspect
import math
import time
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .._validation import check_choice, check_int, check_labels
from ..dpp import (
    DEFAULT_BETA,
    DEFAULT_DELTA,
    DEFAULT_SIGMA,
    PAPER_VARIANTS,
    TRAINING_METHODS,
    DPPSettings,
)
from ..dpp.settings import PAPER_NETWORK_THETA
from ..evaluation import mean_average_precision_at_k
from ..nn import BalancedBatchSampler, train_epochs
from ..nn.layers import check_widths
from ..nn.learner import TRAINING_PARAMETER_CONSTRAINTS
from ._device import check_device
from .diversity import dpp_diversity_loss
from .losses import contrastive_loss

__all__ = ["PaperMNISTNet", "PaperCNNLearner", "paper_cnn_variant_params", "PAPER_CNN_SETTINGS"]

#: The paper's MNIST settings (Appendix A.1), as :class:`PaperCNNLearner` parameters: α = 5,
#: λ₁ = 10³, λ₂ = 10⁶, margin 0.8, σ = 0.2, Δ = 1e-7, batch 200, 2000 reference points per
#: critic step, RMSprop at 1e-4. The paper's loss terms are its summed contrastive loss and
#: −λ₁ det L.
PAPER_CNN_SETTINGS = {
    "margin": 0.8,
    "contrastive_alpha": 5.0,
    "contrastive_reduction": "sum",
    "batch_size": 200,
    "learning_rate": 1e-4,
    "dpp_weight": 1e3,
    "dpp_objective": "det",
    "dpp_sigma": 0.2,
    "dpp_delta": 1e-7,
    "wgan_weight": 1e6,
    "wgan_n_reference": 2000,
}

# The keys of the dicts that the dpp and wgan parameters were before they became flat
# parameters (dpp_<key>, wgan_<key>; "method" is dpp itself).
_LEGACY_KEYS = {
    "dpp": ("method", "sigma", "weight", "objective", "beta", "delta", "theta"),
    "wgan": ("weight", "n_critic", "clip_value", "hidden", "n_reference", "learning_rate"),
}
# Images per forward pass in transform.
_TRANSFORM_CHUNK = 2000
# mAP cut-off of score (the paper's Table 1 reports mAP@10 first).
_SCORE_K = 10

_NON_NEGATIVE = Interval(Real, 0, np.inf, closed="left")


class PaperMNISTNet(nn.Module):
    """Conv(32)-MaxPool-Conv(32)-AvgPool-Conv(64)-AvgPool-FC(200)-FC(2) on 28 × 28 images.

    Every convolution is 5 × 5 with padding 2 (the feature maps keep their size before each
    2 × 2 pooling: 28 → 14 → 7 → 3), followed by batch normalization and ReLU; the 200-unit
    layer too. The 2-unit feature layer is linear.

    Two choices the paper leaves open or contradicts itself on:

    * **No 10-unit layer after the 2-D one.** The appendix lists ``fully_con3(10-d)`` before
      the contrastive loss, the main text (Sec. 4.1) only "200 and 2 (for 2D
      visualization)". Table 1 ranks by distance between 2-D features and Fig. 1 shows them,
      and the DPP and WGAN terms act on them; a 10-unit layer on top of a 2-D bottleneck
      holds no more information than the 2-D layer, and a contrastive loss measured there
      would shape a space that is not the one retrieved in. So the contrastive loss acts on
      the 2-D features, with the paper's margin on their squared distances.
    * **No batch normalization on the 2-D feature layer.** Normalizing it would fix the
      spread of every batch of features (up to a learned scale), the very thing the DPP term
      (width σ) and the WGAN term (reference law on ``[−1, 1]²``) act on; the paper's Fig. 1
      shows features far outside ``[−1, 1]²`` without the WGAN term, which a normalized
      layer would not produce. ``feature_batch_norm=True`` adds it.

    Parameters
    ----------
    n_components : int, default=2
        Feature dimension.
    feature_batch_norm : bool, default=False
        Batch normalization on the feature layer too.

    Examples
    --------
    >>> import torch
    >>> from spectral_ml.torch import PaperMNISTNet
    >>> net = PaperMNISTNet().eval()
    >>> net(torch.zeros(4, 784)).shape
    torch.Size([4, 2])
    """

    def __init__(self, n_components: int = 2, *, feature_batch_norm: bool = False):
        super().__init__()
        n_components = check_int(n_components, "n_components", low=1)

        def conv(c_in, c_out, pool):
            return [nn.Conv2d(c_in, c_out, 5, padding=2, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(), pool]

        self.features = nn.Sequential(
            *conv(1, 32, nn.MaxPool2d(2)),
            *conv(32, 32, nn.AvgPool2d(2)),
            *conv(32, 64, nn.AvgPool2d(2)),
            nn.Flatten(),
            nn.Linear(64 * 3 * 3, 200, bias=False),
            nn.BatchNorm1d(200),
            nn.ReLU(),
            nn.Linear(200, int(n_components)),
        )
        if feature_batch_norm:
            self.features.append(nn.BatchNorm1d(int(n_components)))

    def forward(self, images: Any) -> Any:
        """2-D features of a batch of images, shape ``(n, 784)`` or ``(n, 1, 28, 28)``."""
        return self.features(images.reshape(-1, 1, 28, 28))


def _critic(n_features: int, hidden, clip_value: float | None) -> nn.Sequential:
    sizes = [n_features, *hidden]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=False):
        layers += [nn.Linear(a, b), nn.ReLU()]
    layers.append(nn.Linear(sizes[-1], 1))
    critic = nn.Sequential(*layers)
    _clip(critic, clip_value)
    return critic


def _clip(module: nn.Module, clip_value: float | None) -> None:
    if clip_value is None:
        return
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-clip_value, clip_value)


def paper_cnn_variant_params(variant: str, *, quick: bool = False, epochs: int | None = None) -> dict:
    """Keyword arguments of :class:`PaperCNNLearner` for one row of the paper's Table 1.

    The variant's DPP term and WGAN term come from the one table of the paper's variants,
    :data:`spectral_ml.dpp.PAPER_VARIANTS`; the numbers are the paper's
    (:data:`PAPER_CNN_SETTINGS`): DPPSG and DPPSG* take the exact gradient of ``det L``
    while ``det L ≥ β`` and the sub-gradient otherwise; WGAN uses a weight-clipped critic
    2-64-64-1 with 5 critic steps per network step.

    Parameters
    ----------
    variant : {"baseline", "DPPSG", "DPPSG*", "DPPSG+WGAN", "DPPSG*+WGAN", "WGAN"}
    quick : bool, default=False
        One epoch instead of ``epochs`` (default 5), 500 reference points per critic step.
    epochs : int, optional
        Number of epochs (overrides the default).

    Returns
    -------
    dict
        Flat parameters of :class:`PaperCNNLearner`, without ``random_state`` and
        ``device``: ``dpp`` and ``wgan`` always, the ``dpp_*`` and ``wgan_*`` settings only
        with their term.

    Raises
    ------
    ValueError
        For an unknown ``variant``.

    Examples
    --------
    >>> from spectral_ml.torch import paper_cnn_variant_params
    >>> p = paper_cnn_variant_params("DPPSG*+WGAN")
    >>> p["dpp"], p["dpp_weight"], p["wgan"], p["wgan_weight"]
    ('dppsg*', 1000.0, True, 1000000.0)
    """
    dpp, wgan = PAPER_VARIANTS[check_choice(variant, "variant", tuple(PAPER_VARIANTS))]
    s = PAPER_CNN_SETTINGS
    params = {
        key: s[key] for key in ("margin", "contrastive_alpha", "contrastive_reduction", "batch_size", "learning_rate")
    }
    params["epochs"] = (1 if quick else 5) if epochs is None else epochs
    params["dpp"] = dpp
    if dpp is not None:
        params.update({key: s[key] for key in ("dpp_sigma", "dpp_weight", "dpp_objective", "dpp_delta")})
        params["dpp_theta"] = PAPER_NETWORK_THETA
    params["wgan"] = wgan
    if wgan:
        params.update(wgan_weight=s["wgan_weight"], wgan_n_reference=500 if quick else s["wgan_n_reference"])
    return params


class _PaperCNNStep:
    """One autograd training step of the paper's network, for :func:`~spectral_ml.nn.train_epochs`.

    The critic's ``n_critic`` steps against the current features come first, then the
    network's step on ``L_C − λ₁ L_D + λ₂ L_G``. The DPP term enters through its direction
    only (its value is not computed: on the DPPSG* path it would cost a factorization), so
    the recorded ``"loss"`` is ``L_C + λ₂ L_G``.
    """

    def __init__(self, net, optimizer, *, contrastive_args, dpp, critic, critic_optimizer, wgan, rng):
        self.net = net
        self.optimizer = optimizer
        self.contrastive_args = contrastive_args
        self.dpp = dpp
        self.critic = critic
        self.critic_optimizer = critic_optimizer
        self.wgan = wgan
        self.rng = rng
        self.step_times: list[float] = []

    @property
    def history_keys(self) -> tuple[str, ...]:
        return (
            ("loss", "contrastive")
            + (("path",) if self.dpp is not None else ())
            + (("critic",) if self.critic is not None else ())
        )

    def __call__(self, images, labels) -> dict:
        t0 = time.perf_counter()
        F = self.net(images)
        terms: dict[str, object] = {}
        if self.critic is not None:
            terms["critic"] = self._critic_steps(F.detach())
        l_c = contrastive_loss(F, labels, **self.contrastive_args)
        loss = l_c
        if self.critic is not None:
            loss = loss - self.wgan["weight"] * self.critic(F).mean()
        outputs, weights = [loss], [torch.ones((), dtype=F.dtype, device=F.device)]
        if self.dpp is not None:
            info: dict[str, object] = {}
            outputs.append(dpp_diversity_loss(F, info=info, compute_value=False, settings=self.dpp))
            # −λ₁ L_D is minimized; its value is NaN on the DPPSG* path, so it enters through
            # its gradient alone, weighted by −λ₁.
            weights.append(torch.full((), -self.dpp.weight, dtype=F.dtype, device=F.device))
            terms["path"] = info["method"]
        loss_value = float(loss.detach())
        terms["loss"] = loss_value
        terms["contrastive"] = float(l_c.detach())
        if not math.isfinite(loss_value):
            raise FloatingPointError(f"the training loss is not finite ({terms})")
        self.optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(outputs, grad_tensors=weights)
        self.optimizer.step()
        self.step_times.append(time.perf_counter() - t0)
        return terms

    def _critic_steps(self, F) -> float:
        """``n_critic`` steps of the critic toward max mean h(z) − mean h(F); the last estimate."""
        m = self.wgan["n_reference"]
        estimate = 0.0
        for _ in range(self.wgan["n_critic"]):
            Z = torch.from_numpy(self.rng.uniform(-1.0, 1.0, size=(m, F.shape[1]))).to(F.device, F.dtype)
            h = self.critic(torch.cat([Z, F]))
            w_est = h[:m].mean() - h[m:].mean()
            self.critic_optimizer.zero_grad(set_to_none=True)
            (-w_est).backward()
            self.critic_optimizer.step()
            _clip(self.critic, self.wgan["clip_value"])
            estimate = w_est.detach()
        return float(estimate)


class PaperCNNLearner(TransformerMixin, BaseEstimator):
    r"""Train :class:`PaperMNISTNet` with the contrastive loss, the DPP term and a WGAN critic.

    For a class-balanced batch (:class:`~spectral_ml.nn.BalancedBatchSampler`) with features
    :math:`F` and labels :math:`y` the network minimizes

    .. math::

        \mathcal L = L_C(F, y) - \lambda_1 L_D(F) + \lambda_2 L_G(F),

    with the contrastive loss :math:`L_C` (:func:`contrastive_loss`), the DPP diversity
    :math:`L_D` (:func:`dpp_diversity_loss`; exact gradient while :math:`\det L\ge\beta`,
    the proper sub-gradient of ``dpp`` otherwise) and the generator loss
    :math:`L_G = -\frac1n\sum_i h(f_i)` of a critic :math:`h` that takes ``wgan_n_critic``
    RMSprop steps toward :math:`\max\ \frac1m\sum_j h(z_j) - \frac1n\sum_i h(f_i)`
    (:math:`z` uniform on :math:`[-1, 1]^2`, weights clipped) before every network step, as
    :class:`~spectral_ml.nn.DPPFeatureLearner` does for its perceptron. The epochs run in
    :func:`~spectral_ml.nn.train_epochs`, the loop of the perceptron.

    Every setting is a plain parameter, as in :class:`~spectral_ml.nn.DPPFeatureLearner`,
    checked when ``fit`` starts, so that ``set_params``, ``clone`` and ``GridSearchCV``
    reach each of them (for instance ``param_grid={"dpp_theta": [1e-3, 1e-2]}``; ``score``
    is the retrieval mAP@10). :func:`paper_cnn_variant_params` gives the paper's settings
    of each row of its Table 1.

    Parameters
    ----------
    dpp : {None, "dppsg", "dppsg*", "exact"} or DPPSettings, default=None
        The DPP term. None: none. ``"dppsg"`` or ``"dppsg*"``: the exact gradient while
        ``det L >= dpp_beta``, that proper sub-gradient otherwise (the paper's DPPSG and
        DPPSG*). ``"exact"``: always the exact gradient (training stops with
        ``LinAlgError`` on a batch whose kernel matrix is singular). A
        :class:`~spectral_ml.dpp.DPPSettings` gives every setting of the term at once (its
        ``weight`` is λ₁); the ``dpp_*`` parameters must then keep their defaults. A dict
        of the earlier releases' keys (``"method"``, ``"sigma"``, ``"weight"``, ...) still
        works, with a ``FutureWarning``; it will be refused in the next release.
    dpp_weight : float, default=1e3
        λ₁ >= 0 (the paper's).
    dpp_sigma : float, default=0.2
        Kernel width σ > 0 (the paper's).
    dpp_objective : {"det", "logdet"}, default="det"
        The paper's ``L_D = det L``, or ``log det L``.
    dpp_beta : float, default=1e-7
        The switch threshold β > 0 on ``det L``.
    dpp_delta : float, default=1e-7
        DPPSG's eigenvalue floor Δ > 0 (the paper's).
    dpp_theta : float, default=1e-3
        DPPSG*'s step θ ∈ (0, 1] toward the identity. The paper gives none; at λ₁ = 10³,
        θ = 0.1 costs 12 to 16 points of mAP@10 and 10⁻³ nothing measurable
        (:data:`~spectral_ml.dpp.settings.PAPER_NETWORK_THETA`).
        :data:`~spectral_ml.dpp.settings.PAPER_SETTINGS` holds the paper's term with
        θ = 0.1, for ``dpp``.
    wgan : bool, default=False
        Add the WGAN term (the ``wgan_*`` parameters apply only then). None, the former
        default, is read as False; a dict of the earlier releases' keys (``"weight"``,
        ``"n_critic"``, ...) turns the term on, with a ``FutureWarning``.
    wgan_weight : float, default=1e6
        λ₂ >= 0 (the paper's).
    wgan_n_critic : int, default=5
        Critic steps per network step.
    wgan_clip_value : float or None, default=0.01
        Critic weight clipping c > 0 (None: no clipping).
    wgan_hidden : int or sequence of int, default=(64, 64)
        Hidden widths of the critic (ReLU).
    wgan_n_reference : int, default=2000
        Reference samples per critic step (the paper's).
    wgan_learning_rate : float or None, default=None
        RMSprop's learning rate for the critic (None: ``learning_rate``).
    margin : float, default=0.8
        Contrastive margin µ on squared distances.
    contrastive_alpha : float, default=5.0
        Contrastive weight α of the different-label pairs.
    contrastive_reduction : {"sum", "mean"}, default="sum"
        The paper's summed loss, or the mean over pairs.
    batch_size : int, default=200
        Images per batch (the whole set when it has fewer), at least the number of classes.
    epochs : int, default=5
        Passes over the training set.
    learning_rate : float, default=1e-4
        RMSprop's learning rate (the paper's).
    random_state : int, default=0
        Seed of the initialization, the batches and the reference samples.
    device : str or torch.device, default="cpu"
        Where the network trains: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. The DPP term's
        factorizations and its backward pass then run on that device too.
    verbose : bool or int, default=False
        One line per epoch (the loss terms, the DPP paths taken, the critic's estimate).

    Attributes
    ----------
    net_ : PaperMNISTNet
        The trained network, in evaluation mode.
    critic_ : torch.nn.Sequential or None
        The WGAN critic, with ``wgan``.
    classes_ : ndarray
        Class labels seen in ``fit``.
    history_ : dict of str to list of float
        Per epoch: ``"loss"`` (``L_C + λ₂ L_G``, without the DPP term, whose value is not
        computed during training), ``"contrastive"``, ``"time"``; with the DPP term
        ``"path_exact"``, ``"path_dppsg"``, ``"path_dppsg*"`` (fraction of batches on each
        path); with WGAN ``"critic"`` (the last critic estimate of each step, averaged).
    step_times_ : list of float
        Seconds of every network step (critic steps included).
    n_steps_ : int
        Network updates made.
    train_time_ : float
        Seconds of the training loop.

    Notes
    -----
    What the perceptron's training code could not lend: its objective and step
    (:class:`~spectral_ml.nn.FeatureObjective`, :class:`~spectral_ml.nn.TrainingStep`)
    sum the feature gradients themselves and drive a network with an explicit backward
    pass; here autograd back-propagates through the convolutions and accumulates the three
    terms' gradients in its own order, and the critic is a PyTorch module trained by
    autograd. The step is therefore written for PyTorch; the loop, the batches, the
    settings of the DPP term (:class:`~spectral_ml.dpp.DPPSettings`) and the array-level
    losses behind :func:`contrastive_loss` and :func:`dpp_diversity_loss` are shared.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.torch import PaperCNNLearner
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.random((40, 784), dtype=np.float32), np.arange(40) % 2
    >>> model = PaperCNNLearner(dpp="dppsg*", dpp_theta=0.05, batch_size=20, epochs=1).fit(X, y)
    >>> model.transform(X).shape
    (40, 2)
    >>> model.get_params()["dpp_theta"]
    0.05
    """

    _parameter_constraints: dict = {
        **TRAINING_PARAMETER_CONSTRAINTS,
        "dpp": [StrOptions(set(TRAINING_METHODS)), DPPSettings, dict, None],
        "dpp_weight": [_NON_NEGATIVE],
        "wgan": ["boolean", dict, None],
        "wgan_hidden": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "wgan_n_reference": [Interval(Integral, 1, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
        "device": [str, torch.device],
    }

    def __init__(
        self,
        *,
        dpp=None,
        dpp_weight=1e3,
        dpp_sigma=DEFAULT_SIGMA,
        dpp_objective="det",
        dpp_beta=DEFAULT_BETA,
        dpp_delta=DEFAULT_DELTA,
        dpp_theta=PAPER_NETWORK_THETA,
        wgan=False,
        wgan_weight=1e6,
        wgan_n_critic=5,
        wgan_clip_value=0.01,
        wgan_hidden=(64, 64),
        wgan_n_reference=2000,
        wgan_learning_rate=None,
        margin=0.8,
        contrastive_alpha=5.0,
        contrastive_reduction="sum",
        batch_size=200,
        epochs=5,
        learning_rate=1e-4,
        random_state=0,
        device="cpu",
        verbose=False,
    ):
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
        self.wgan_n_reference = wgan_n_reference
        self.wgan_learning_rate = wgan_learning_rate
        self.margin = margin
        self.contrastive_alpha = contrastive_alpha
        self.contrastive_reduction = contrastive_reduction
        self.batch_size = batch_size
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _flat_params(self) -> dict:
        """The parameters, with the dicts of earlier releases spelled out as flat parameters.

        A dict's keys override the flat parameters; its missing keys keep theirs, whose
        defaults are the dict's former defaults, so an old call trains as it did.
        """
        params = self.get_params()
        if params["wgan"] is None:
            params["wgan"] = False
        for name, keys in _LEGACY_KEYS.items():
            cfg = params[name]
            if not isinstance(cfg, dict):
                continue
            warnings.warn(
                f"{name} as a dict of settings is deprecated and will be refused in the next release; pass "
                f"flat parameters instead: {name}=..., {name}_weight=... (see help(PaperCNNLearner)).",
                FutureWarning,
                stacklevel=4,  # the caller of fit, past scikit-learn's validating wrapper
            )
            unknown = sorted(set(cfg) - set(keys))
            if unknown:
                raise ValueError(f"{name} has unknown keys {unknown}; allowed: {sorted(keys)}.")
            if name == "dpp":
                params["dpp"] = cfg.get("method", "dppsg*")
                params.update({f"dpp_{key}": value for key, value in cfg.items() if key != "method"})
            else:
                params["wgan"] = True
                params.update({f"wgan_{key}": value for key, value in cfg.items()})
            # The dict's values have not met the constraints yet.
            validate_parameter_constraints(self._parameter_constraints, params, caller_name=type(self).__name__)
        return params

    def _images(self, X, device, name="X"):
        X = np.asarray(X, dtype=np.float32)
        if X.ndim == 2 and X.shape[1] == 784:
            pass
        elif X.ndim in (3, 4) and X.shape[-2:] == (28, 28):
            X = X.reshape(X.shape[0], 784)
        else:
            raise ValueError(f"{name} must hold 28 x 28 images, shape (n, 784) or (n, 28, 28); got shape {X.shape}.")
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{name} contains NaN or infinity.")
        return torch.from_numpy(X).to(device)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any) -> PaperCNNLearner:
        """Train the network on labelled images.

        Parameters
        ----------
        X : array_like of shape (n_samples, 784) or (n_samples, 28, 28)
            Images, pixels scaled to [0, 1].
        y : array_like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For images of another shape or with NaN or infinity, labels of the wrong length,
            a ``batch_size`` smaller than the number of classes, an unknown device, or an
            invalid parameter (the message names it).
        FloatingPointError
            When the training loss or the network's parameters become non-finite; the
            message says at which epoch and batch.
        numpy.linalg.LinAlgError
            With ``dpp="exact"``, on a batch whose kernel matrix is singular.
        """
        params = self._flat_params()
        defaults = {name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()}
        dpp = DPPSettings.from_params(params, defaults=defaults)
        wgan: dict[str, Any] | None = None
        if params["wgan"]:
            wgan = {
                "weight": float(params["wgan_weight"]),
                "n_critic": int(params["wgan_n_critic"]),
                "n_reference": int(params["wgan_n_reference"]),
                "clip_value": None if params["wgan_clip_value"] is None else float(params["wgan_clip_value"]),
                "hidden": check_widths(params["wgan_hidden"], "wgan_hidden"),
            }
        lr = float(self.learning_rate)
        device = check_device(self.device)
        images = self._images(X, device)
        y = check_labels(y, n_samples=images.shape[0])
        self.classes_, codes = np.unique(y, return_inverse=True)
        codes = codes.reshape(-1).astype(np.int64)
        seed = int(self.random_state)
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        sampler = BalancedBatchSampler(y, min(int(self.batch_size), images.shape[0]), random_state=seed)
        net = PaperMNISTNet().to(device)
        optimizer = torch.optim.RMSprop(net.parameters(), lr=lr)
        critic = critic_optimizer = None
        if wgan is not None:
            critic = _critic(2, wgan["hidden"], wgan["clip_value"]).to(device)
            critic_lr = lr if params["wgan_learning_rate"] is None else float(params["wgan_learning_rate"])
            critic_optimizer = torch.optim.RMSprop(critic.parameters(), lr=critic_lr)
        step = _PaperCNNStep(
            net,
            optimizer,
            dpp=dpp,
            critic=critic,
            critic_optimizer=critic_optimizer,
            wgan=wgan,
            rng=rng,
            contrastive_args={
                "margin": float(self.margin),
                "alpha": float(self.contrastive_alpha),
                "reduction": self.contrastive_reduction,
            },
        )
        start = time.perf_counter()
        self.history_, self.n_steps_ = train_epochs(
            step,  # type: ignore[arg-type]  # train_epochs duck-types its step; _PaperCNNStep has the same call interface
            images,
            torch.from_numpy(codes).to(device),
            sampler,
            int(self.epochs),
            verbose=self.verbose,
            name=type(self).__name__,
        )
        self.train_time_ = time.perf_counter() - start
        self.net_ = net.eval()
        self.critic_ = critic
        self.step_times_ = step.step_times
        return self

    def transform(self, X: Any) -> Any:
        """2-D features of images ``X``.

        Parameters
        ----------
        X : array_like of shape (n_samples, 784) or (n_samples, 28, 28)
            Images, scaled as in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            float32 features.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit`` (a ``ValueError``).
        ValueError
            For images of another shape or with NaN or infinity.
        """
        check_is_fitted(self, "net_")
        images = self._images(X, next(self.net_.parameters()).device)
        out = []
        with torch.no_grad():
            for i in range(0, images.shape[0], _TRANSFORM_CHUNK):
                out.append(self.net_(images[i : i + _TRANSFORM_CHUNK]).cpu().numpy())
        return np.concatenate(out).astype(np.float32, copy=False)

    def score(self, X: Any, y: Any) -> float:
        """Retrieval score of the features: mAP@10 of each image querying the others.

        The paper's measure (Table 1, Appendix A.2: AP divided by the hits within the top
        K), leave-one-out among the images given, with K = 10 (fewer when there are not
        eleven images). It is what ``GridSearchCV`` maximizes unless told otherwise.

        Parameters
        ----------
        X : array_like of shape (n_samples, 784) or (n_samples, 28, 28)
            Images, at least two.
        y : array_like of shape (n_samples,)
            Their labels.

        Returns
        -------
        float
            mAP@K in [0, 1].

        Raises
        ------
        ValueError
            For fewer than two images, or labels of another length.
        """
        Z = self.transform(X)
        n = Z.shape[0]
        y = check_labels(y, n_samples=n)
        if n < 2:
            raise ValueError(f"score needs at least 2 images (each queries the others), got {n}.")
        return float(mean_average_precision_at_k(Z, y, min(_SCORE_K, n - 1)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
