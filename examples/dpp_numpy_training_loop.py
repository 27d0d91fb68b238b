"""The DPP diversity term in your own NumPy training loop
======================================================

The DPP term of :mod:`spectral_ml.dpp` is a function of a feature batch
that returns a value and an ascent direction. Nothing else of the
library is needed to use it: this example trains a linear map ``W``
(64 → 2) on scikit-learn's 8×8 digits with a loop written by hand, once
with the contrastive loss alone and once with the DPP term added, and
compares the features the two runs learn.

Run it from the command line with
``python examples/dpp_numpy_training_loop.py``; ``--help`` lists its
options (``--steps``, ``--weight``, ``--theta``, ``--seed``).
"""

import argparse
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

from spectral_ml.datasets import load_dataset
from spectral_ml.dpp import DPPSettings, dpp_diversity
from spectral_ml.evaluation import mean_average_precision_at_k
from spectral_ml.nn import BalancedBatchSampler, contrastive_loss
from spectral_ml.plotting import plot_feature_scatter, plot_loss_curves

parser = argparse.ArgumentParser(
    description="The DPP diversity term in a NumPy training loop.",
    formatter_class=argparse.ArgumentDefaultsHelpFormatter,
)
parser.add_argument("--steps", type=int, default=300, help="steps")
parser.add_argument("--weight", type=float, default=3e-3, help="λ₁")
parser.add_argument("--theta", type=float, default=0.1, help="θ")
parser.add_argument("--seed", type=int, default=0, help="random seed")
args, _ = parser.parse_known_args()

# %%
# The data
# --------
# 1797 digits of 64 pixels, scaled to [0, 1]; 1200 train the map, the
# others are the queries of the retrieval test at the end.
X, y = load_dataset("digits", return_X_y=True)
X = X / 16.0
perm = np.random.default_rng(args.seed).permutation(len(y))
X_train, y_train = X[perm[:1200]], y[perm[:1200]]
X_test, y_test = X[perm[1200:]], y[perm[1200:]]
print(f"{len(y_train)} training and {len(y_test)} test digits")

# %%
# The settings of the DPP term
# ----------------------------
# The term scores a batch of features ``F`` (n × d) by ``log det L`` of
# its Gaussian kernel matrix ``L_ij = exp(−‖f_i − f_j‖²/σ²)``: the more
# spread out the batch, the larger.
# :class:`~spectral_ml.dpp.DPPSettings` holds its settings: the kernel
# width σ, and θ, the step of the DPPSG* sub-gradient ``θ(I − L)`` that
# replaces the gradient when ``L`` is (nearly) singular. On that path θ
# and the weight λ₁ of the term act as their product; the example
# :ref:`sphx_glr_auto_examples_dpp_theta_sweep.py` varies both.
# ``underflow="allow"`` lets a batch spread so far apart that ``L`` is
# the identity count as diverse instead of raising, as a training loop
# wants.
settings = DPPSettings(sigma=0.2, theta=args.theta, underflow="allow")

# %%
# One loop, written by hand
# -------------------------
# Each step takes a class-balanced batch, computes the features
# ``F = X_b W``, the contrastive loss and its gradient with respect to
# ``F``, and, with a positive weight λ₁, the DPP term.
# :func:`~spectral_ml.dpp.dpp_diversity` returns the exact gradient of
# ``log det L`` while ``L`` is safely invertible and a proper
# sub-gradient (DPPSG*) when it is not, and says which it took. Since
# the loss ``L_C − λ₁ log det L`` is minimized, the direction is
# subtracted. The feature gradient is chained to ``W`` by hand
# (``∂L/∂W = X_bᵀ ∂L/∂F``) and an RMSprop-like step follows.


def train(X, y, *, steps, weight, seed, lr=1e-2):
    """W, the history of the loss terms, the DPP term's paths."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((X.shape[1], 2)) * np.sqrt(2.0 / X.shape[1])
    square_avg = np.zeros_like(W)
    sampler = BalancedBatchSampler(y, batch_size=200, random_state=seed)
    history = {"contrastive loss": [], "log det L": []}
    paths = Counter()
    for _ in range(steps):
        idx = sampler.next_batch()
        Xb, yb = X[idx], y[idx]
        F = Xb @ W
        loss, dF = contrastive_loss(F, yb, margin=0.8, alpha=5.0)
        # Computed in both runs, to compare their diversity.
        dpp = dpp_diversity(F, settings=settings)
        if weight > 0:
            dF = dF - weight * dpp.grad
            paths[dpp.method] += 1
        dW = Xb.T @ dF
        square_avg = 0.99 * square_avg + 0.01 * dW**2
        W -= lr * dW / (np.sqrt(square_avg) + 1e-8)
        history["contrastive loss"].append(loss)
        history["log det L"].append(dpp.logdet)
    return W, history, paths


# %%
# Training
# --------
# Batches of 200 make small matrix products, which BLAS threads only
# slow down: the training runs on one thread.
runs = {}
with threadpool_limits(limits=1, user_api="blas"):
    for name, weight in (("contrastive", 0), ("+ DPP", args.weight)):
        W, history, paths = train(
            X_train,
            y_train,
            steps=args.steps,
            weight=weight,
            seed=args.seed,
        )
        runs[name] = W, history
        loss = np.mean(history["contrastive loss"][-20:])
        logdet = np.mean(history["log det L"][-20:])
        print(f"{name}: λ₁ = {weight:g}")
        print(
            f"  last 20 steps: loss {loss:.4f}, log det L {logdet:.1f}"
        )
        if paths:
            print(f"  paths of the DPP term: {dict(paths)}")

# %%
# Both runs reach about the same contrastive loss, and the run with the
# DPP term keeps ``log det L`` of its batches higher. The curves show
# means over 10 steps, from step 10 on: both runs start from a collapsed
# batch (``log det L`` near −1300).


def smooth(values, width=10):
    """Means over windows of ``width`` steps, but the first."""
    values = np.asarray(values[: len(values) // width * width])
    return values.reshape(-1, width).mean(axis=1)[1:]


fig, axes = plt.subplots(
    2, 1, figsize=(6.4, 5.6), layout="constrained", sharex=True
)
for ax, key in zip(
    axes, ("contrastive loss", "log det L"), strict=True
):
    curves = {name: smooth(h[key]) for name, (_, h) in runs.items()}
    plot_loss_curves(curves, ax=ax, xlabel="", ylabel=key)
axes[1].set_xlabel("tens of steps")

# %%
# Retrieval and the features
# --------------------------
# The test digits query the training digits in the learned 2-D space;
# mAP@k is the mean average precision of the k nearest. The plots show
# the features of the test digits, one colour per digit.
fig, axes = plt.subplots(1, 2, figsize=(6.6, 3.9), layout="constrained")
for ax, (name, (W, _)) in zip(axes, runs.items(), strict=True):
    Z_train, Z_test = X_train @ W, X_test @ W
    maps = mean_average_precision_at_k(
        Z_test, y_test, [10, 50], Z_train, y_train
    )
    map10, map50 = 100 * maps[10], 100 * maps[50]
    print(f"{name}: mAP@10 {map10:.2f}, mAP@50 {map50:.2f}")
    plot_feature_scatter(
        Z_test, y_test, ax=ax, title=name, legend=False
    )
handles, labels = axes[0].get_legend_handles_labels()
key = dict(loc="outside lower center", ncols=10, fontsize="small")
fig.legend(handles, labels, markerscale=2, handletextpad=0, **key)

# %%
# The DPP term spreads the classes over more of the plane; with a linear
# map the retrieval scores barely move. To use the term with another
# model, keep the three lines that involve it: compute
# ``dpp_diversity(F, ...)``, subtract ``λ₁ · grad`` from the gradient of
# the features, and back-propagate as usual.
#
# sphinx_gallery_thumbnail_number = 2
