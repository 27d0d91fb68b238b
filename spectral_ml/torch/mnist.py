"""The convolutional network of the DPP paper's MNIST experiment, trained in PyTorch.

Yu, Li & Li (ICLR 2020), Sec. 4.1 and Appendix A: three 5 × 5 convolutions with 32, 32 and 64
filters, batch normalization on each layer, max pooling after the first convolution and
average pooling after the others, fully connected layers of 200 and 2 units; the contrastive
loss, the DPP term and a WGAN critic act on the 2-D layer, whose features are then used for
retrieval (Table 1) and shown in Fig. 1.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

from .._validation import check_choice, check_int, check_labels, check_positive, check_real
from ..dpp import DEFAULT_BETA, DEFAULT_DELTA, DEFAULT_SIGMA, DEFAULT_THETA
from ..nn import BalancedBatchSampler
from ._device import check_device
from .diversity import dpp_diversity_loss
from .losses import contrastive_loss

__all__ = ["PaperMNISTNet", "PaperCNNLearner", "paper_cnn_variant_params", "PAPER_CNN_SETTINGS"]

#: The paper's MNIST settings (Appendix A.1): α = 5, λ₁ = 10³, λ₂ = 10⁶, margin 0.8, σ = 0.2,
#: Δ = 1e-7, batch 200, 2000 reference points per critic step, RMSprop at 1e-4. The paper's
#: loss terms are its summed contrastive loss and −λ₁ det L.
PAPER_CNN_SETTINGS = {
    "margin": 0.8,
    "contrastive_alpha": 5.0,
    "contrastive_reduction": "sum",
    "batch_size": 200,
    "learning_rate": 1e-4,
    "dpp_weight": 1e3,
    "dpp_objective": "det",
    "sigma": 0.2,
    "delta": 1e-7,
    "wgan_weight": 1e6,
    "n_reference": 2000,
}

_DPP_KEYS = ("method", "sigma", "weight", "objective", "beta", "delta", "theta")
_WGAN_KEYS = ("weight", "n_critic", "clip_value", "hidden", "n_reference", "learning_rate")
# Images per forward pass in transform.
_TRANSFORM_CHUNK = 2000


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

    def forward(self, images):
        """2-D features of a batch of images, shape ``(n, 784)`` or ``(n, 1, 28, 28)``."""
        return self.features(images.reshape(-1, 1, 28, 28))


def _critic(n_features: int, hidden, clip_value: float | None) -> nn.Sequential:
    sizes = [n_features, *hidden]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
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

    The paper's settings (:data:`PAPER_CNN_SETTINGS`): DPPSG and DPPSG* take the exact
    gradient of ``det L`` while ``det L ≥ β`` and the sub-gradient otherwise; WGAN uses a
    weight-clipped critic 2-64-64-1 with 5 critic steps per network step.

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
        Settings without ``random_state``.

    Examples
    --------
    >>> from spectral_ml.torch import paper_cnn_variant_params
    >>> p = paper_cnn_variant_params("DPPSG*+WGAN")
    >>> p["dpp"]["method"], p["dpp"]["weight"], p["wgan"]["weight"]
    ('dppsg*', 1000.0, 1000000.0)
    """
    variants = ("baseline", "DPPSG", "DPPSG*", "DPPSG+WGAN", "DPPSG*+WGAN", "WGAN")
    if variant not in variants:
        raise ValueError(f"variant must be one of {variants}, got {variant!r}.")
    s = PAPER_CNN_SETTINGS
    params = {
        "margin": s["margin"],
        "contrastive_alpha": s["contrastive_alpha"],
        "contrastive_reduction": s["contrastive_reduction"],
        "batch_size": s["batch_size"],
        "learning_rate": s["learning_rate"],
        "epochs": (1 if quick else 5) if epochs is None else epochs,
        "dpp": None,
        "wgan": None,
    }
    if variant.startswith("DPPSG"):
        params["dpp"] = {
            "method": "dppsg*" if variant.startswith("DPPSG*") else "dppsg",
            "sigma": s["sigma"],
            "weight": s["dpp_weight"],
            "objective": s["dpp_objective"],
            "delta": s["delta"],
        }
    if variant.endswith("WGAN"):
        params["wgan"] = {"weight": s["wgan_weight"], "n_reference": 500 if quick else s["n_reference"]}
    return params


def _resolve(cfg, name, keys, defaults):
    if cfg is None:
        return None
    if not isinstance(cfg, dict):
        raise ValueError(f"{name} must be None or a dict of settings, got {cfg!r}.")
    unknown = sorted(set(cfg) - set(keys))
    if unknown:
        raise ValueError(f"{name} has unknown keys {unknown}; allowed: {sorted(keys)}.")
    return {**defaults, **cfg}


class PaperCNNLearner:
    """Train :class:`PaperMNISTNet` with the contrastive loss, the DPP term and a WGAN critic.

    For a class-balanced batch (:class:`~spectral_ml.nn.BalancedBatchSampler`) with features
    ``F`` and labels ``y`` the network minimizes

        L = L_C(F, y) − λ₁ L_D(F) + λ₂ L_G(F),

    with the contrastive loss ``L_C`` (:func:`contrastive_loss`), the DPP diversity ``L_D``
    (:func:`dpp_diversity_loss`; exact gradient while ``det L ≥ β``, the proper sub-gradient
    of ``dpp["method"]`` otherwise) and the generator loss ``L_G = −mean h(F)`` of a critic
    ``h`` that takes ``n_critic`` RMSprop steps toward ``max mean h(z) − mean h(F)`` (z
    uniform on ``[−1, 1]²``, weights clipped) before every network step, as
    :class:`~spectral_ml.nn.DPPFeatureLearner` does for its perceptron.

    Parameters
    ----------
    dpp : dict or None
        Keys ``"method"`` (``"dppsg"``, ``"dppsg*"`` or ``"exact"``), ``"sigma"`` (0.2),
        ``"weight"`` (λ₁, 10³), ``"objective"`` (``"det"``, the paper's, or ``"logdet"``),
        ``"beta"``, ``"delta"`` (1e-7), ``"theta"`` (0.1). None: no DPP term.
    wgan : dict or None
        Keys ``"weight"`` (λ₂, 10⁶), ``"n_critic"`` (5), ``"clip_value"`` (0.01),
        ``"hidden"`` ((64, 64)), ``"n_reference"`` (2000), ``"learning_rate"`` (the
        network's). None: no WGAN term.
    margin, contrastive_alpha : float
        Contrastive margin µ on squared distances (0.8) and weight α of the different-label
        pairs (5).
    contrastive_reduction : {"sum", "mean"}, default="sum"
        The paper's summed loss, or the mean over pairs.
    batch_size : int, default=200
    epochs : int, default=5
    learning_rate : float, default=1e-4
        RMSprop's learning rate (the paper's).
    random_state : int, default=0
        Seed of the initialization, the batches and the reference samples.
    device : str or torch.device, default="cpu"
        Where the network trains: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. The DPP term's
        factorizations and its backward pass then run on that device too.
    verbose : bool, default=False
        One line per epoch.

    Attributes
    ----------
    net_ : PaperMNISTNet
        The trained network, in evaluation mode.
    history_ : dict of str to list of float
        Per epoch: ``"loss"`` (``L_C + λ₂ L_G``, without the DPP term, whose value is not
        computed during training), ``"contrastive"``, ``"time"``; with the DPP term
        ``"path_exact"``, ``"path_dppsg"``, ``"path_dppsg*"`` (fraction of batches on each
        path); with WGAN ``"critic"`` (the last critic estimate of each step, averaged).
    step_times_ : list of float
        Seconds of every network step (critic steps included).
    train_time_ : float
        Seconds of the training loop.

    Examples
    --------
    >>> import numpy as np
    >>> from spectral_ml.torch import PaperCNNLearner
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.random((40, 784), dtype=np.float32), np.arange(40) % 2
    >>> model = PaperCNNLearner(dpp={"method": "dppsg*"}, batch_size=20, epochs=1).fit(X, y)
    >>> model.transform(X).shape
    (40, 2)
    """

    def __init__(
        self,
        *,
        dpp=None,
        wgan=None,
        margin: float = 0.8,
        contrastive_alpha: float = 5.0,
        contrastive_reduction: str = "sum",
        batch_size: int = 200,
        epochs: int = 5,
        learning_rate: float = 1e-4,
        random_state: int = 0,
        device="cpu",
        verbose: bool = False,
    ):
        self.dpp = dpp
        self.wgan = wgan
        self.margin = margin
        self.contrastive_alpha = contrastive_alpha
        self.contrastive_reduction = contrastive_reduction
        self.batch_size = batch_size
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _settings(self):
        dpp = _resolve(self.dpp, "dpp", _DPP_KEYS, {
            "method": "dppsg*", "sigma": DEFAULT_SIGMA, "weight": 1e3, "objective": "det",
            "beta": DEFAULT_BETA, "delta": DEFAULT_DELTA, "theta": DEFAULT_THETA,
        })
        if dpp is not None:
            check_choice(dpp["method"], "dpp['method']", ("dppsg", "dppsg*", "exact"))
            dpp["weight"] = check_real(dpp["weight"], "dpp['weight']", low=0.0)
        lr = check_positive(self.learning_rate, "learning_rate")
        wgan = _resolve(self.wgan, "wgan", _WGAN_KEYS, {
            "weight": 1e6, "n_critic": 5, "clip_value": 0.01, "hidden": (64, 64), "n_reference": 2000,
            "learning_rate": None,
        })
        if wgan is not None:
            wgan["weight"] = check_real(wgan["weight"], "wgan['weight']", low=0.0)
            wgan["n_critic"] = check_int(wgan["n_critic"], "wgan['n_critic']", low=1)
            wgan["n_reference"] = check_int(wgan["n_reference"], "wgan['n_reference']", low=1)
            if wgan["clip_value"] is not None:
                wgan["clip_value"] = check_positive(wgan["clip_value"], "wgan['clip_value']")
            wgan["hidden"] = tuple(check_int(h, "wgan['hidden']", low=1) for h in wgan["hidden"])
            wgan["learning_rate"] = lr if wgan["learning_rate"] is None else \
                check_positive(wgan["learning_rate"], "wgan['learning_rate']")
        check_int(self.random_state, "random_state")
        return {
            "dpp": dpp,
            "wgan": wgan,
            "lr": lr,
            "epochs": check_int(self.epochs, "epochs", low=1),
            "batch_size": check_int(self.batch_size, "batch_size", low=1),
            "margin": check_real(self.margin, "margin", low=0.0),
            "alpha": check_real(self.contrastive_alpha, "contrastive_alpha", low=0.0),
        }

    def _images(self, X, device, name="X"):
        X = np.asarray(X, dtype=np.float32)
        if X.ndim == 2 and X.shape[1] == 784:
            pass
        elif X.ndim in (3, 4) and X.shape[-2:] == (28, 28):
            X = X.reshape(X.shape[0], 784)
        else:
            raise ValueError(f"{name} must hold 28 x 28 images, shape (n, 784) or (n, 28, 28); "
                             f"got shape {X.shape}.")
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{name} contains NaN or infinity.")
        return torch.from_numpy(X).to(device)

    def fit(self, X, y):
        """Train on images ``X`` (pixels scaled to [0, 1]) with labels ``y``; returns self."""
        s = self._settings()
        device = check_device(self.device)
        images = self._images(X, device)
        y = check_labels(y, n_samples=images.shape[0])
        codes = torch.from_numpy(np.unique(y, return_inverse=True)[1].reshape(-1).astype(np.int64)).to(device)
        seed = int(self.random_state)
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        sampler = BalancedBatchSampler(y, min(s["batch_size"], images.shape[0]), random_state=seed)
        net = PaperMNISTNet().to(device)
        opt = torch.optim.RMSprop(net.parameters(), lr=s["lr"])
        dpp, wgan = s["dpp"], s["wgan"]
        critic = critic_opt = None
        if wgan is not None:
            critic = _critic(2, wgan["hidden"], wgan["clip_value"]).to(device)
            critic_opt = torch.optim.RMSprop(critic.parameters(), lr=wgan["learning_rate"])
        if dpp is not None:
            dpp_kwargs = {
                "objective": dpp["objective"],
                "method": "exact" if dpp["method"] == "exact" else "auto",
                "subgradient": "dppsg*" if dpp["method"] == "exact" else dpp["method"],
                "beta": dpp["beta"], "delta": dpp["delta"], "theta": dpp["theta"],
                # A batch spread far apart at width σ (L = I) is a legitimate training state.
                "underflow": "allow",
                # The value is not recorded: on the DPPSG* path it would cost a factorization.
                "compute_value": False,
            }
        history = {"loss": [], "contrastive": [], "time": []}
        if dpp is not None:
            history.update({"path_exact": [], "path_dppsg": [], "path_dppsg*": []})
        if wgan is not None:
            history["critic"] = []
        step_times = []
        start = time.perf_counter()
        net.train()
        for epoch in range(s["epochs"]):
            sums = {"loss": 0.0, "contrastive": 0.0, "critic": 0.0}
            paths = {"exact": 0, "dppsg": 0, "dppsg*": 0}
            n_batches = len(sampler)
            for _ in range(n_batches):
                t0 = time.perf_counter()
                idx = torch.from_numpy(sampler.next_batch()).to(device)
                F = net(images[idx])
                if critic is not None:
                    sums["critic"] += self._critic_steps(critic, critic_opt, F.detach(), wgan, rng)
                l_c = contrastive_loss(F, codes[idx], margin=s["margin"], alpha=s["alpha"],
                                       reduction=self.contrastive_reduction)
                loss = l_c
                if critic is not None:
                    loss = loss - wgan["weight"] * critic(F).mean()
                terms, weights = [loss], [torch.ones((), dtype=F.dtype, device=F.device)]
                if dpp is not None:
                    info = {}
                    terms.append(dpp_diversity_loss(F, dpp["sigma"], info=info, **dpp_kwargs))
                    # −λ₁ L_D is minimized. The value of L_D is not computed (NaN on the DPPSG*
                    # path), so the term enters through its gradient, weighted by −λ₁.
                    weights.append(torch.full((), -dpp["weight"], dtype=F.dtype, device=F.device))
                    paths[info["method"]] += 1
                opt.zero_grad(set_to_none=True)
                torch.autograd.backward(terms, grad_tensors=weights)
                opt.step()
                step_times.append(time.perf_counter() - t0)
                sums["loss"] += float(loss.detach())
                sums["contrastive"] += float(l_c.detach())
            if not math.isfinite(sums["loss"]):
                raise FloatingPointError(
                    f"Training diverged in epoch {epoch + 1}: lower learning_rate or the weights of the "
                    "DPP and WGAN terms."
                )
            history["loss"].append(sums["loss"] / n_batches)
            history["contrastive"].append(sums["contrastive"] / n_batches)
            if dpp is not None:
                for key, count in paths.items():
                    history[f"path_{key}"].append(count / n_batches)
            if critic is not None:
                history["critic"].append(sums["critic"] / n_batches)
            history["time"].append(time.perf_counter() - start)
            if self.verbose:
                print(f"epoch {epoch + 1}/{s['epochs']}: contrastive {history['contrastive'][-1]:.4g}, "
                      f"{history['time'][-1]:.1f} s")
        self.train_time_ = time.perf_counter() - start
        self.net_ = net.eval()
        self.critic_ = critic
        self.history_ = history
        self.step_times_ = step_times
        self.n_steps_ = len(step_times)
        return self

    def _critic_steps(self, critic, critic_opt, F, wgan, rng) -> float:
        """``n_critic`` steps of the critic toward max mean h(z) − mean h(F); the last estimate."""
        m = wgan["n_reference"]
        estimate = 0.0
        for _ in range(wgan["n_critic"]):
            Z = torch.from_numpy(rng.uniform(-1.0, 1.0, size=(m, F.shape[1]))).to(F.device, F.dtype)
            h = critic(torch.cat([Z, F]))
            w_est = h[:m].mean() - h[m:].mean()
            critic_opt.zero_grad(set_to_none=True)
            (-w_est).backward()
            critic_opt.step()
            _clip(critic, wgan["clip_value"])
            estimate = w_est.detach()
        return float(estimate)

    def transform(self, X):
        """2-D features of images ``X`` (float32 NumPy array of shape ``(n, 2)``)."""
        if not hasattr(self, "net_"):
            raise ValueError("This PaperCNNLearner is not fitted yet: call fit first.")
        images = self._images(X, next(self.net_.parameters()).device)
        out = []
        with torch.no_grad():
            for i in range(0, images.shape[0], _TRANSFORM_CHUNK):
                out.append(self.net_(images[i:i + _TRANSFORM_CHUNK]).cpu().numpy())
        return np.concatenate(out).astype(np.float32, copy=False)
