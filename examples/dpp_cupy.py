"""The same code on NumPy, CuPy or PyTorch
=======================================

Every array-level function of :mod:`spectral_ml` works in the array
namespace of its input (the
`array API standard <https://data-apis.org/array-api/>`_): NumPy arrays
in, NumPy out; CuPy arrays in, CuPy kernels on the GPU; PyTorch tensors
in, PyTorch on the tensor's device. This example writes a small training
loop with the DPP term once, against the standard's functions only, runs
it on every backend present, and checks that they learn the same
features. The estimator :class:`~spectral_ml.nn.DPPFeatureLearner`
follows its input the same way.

This page was built on a CPU, with NumPy,
`array-api-strict <https://data-apis.org/array-api-strict/>`_ (the
standard and nothing more, which catches code that would only work on
NumPy) and PyTorch tensors on the CPU. On a machine with an NVIDIA GPU,
CuPy (``pip install cupy-cuda12x``) and a CUDA build of PyTorch add two
backends on the GPU, with no change to the code.

Run it with ``python examples/dpp_cupy.py``; ``--help`` lists its
options.
"""

import argparse
import importlib.util
import time

import array_api_compat
import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

from spectral_ml.datasets import load_dataset
from spectral_ml.dpp import dpp_diversity
from spectral_ml.evaluation import mean_average_precision_at_k
from spectral_ml.nn import (
    BalancedBatchSampler,
    DPPFeatureLearner,
    contrastive_loss,
)
from spectral_ml.plotting import plot_feature_scatter

parser = argparse.ArgumentParser(
    description="The same code on NumPy, CuPy or PyTorch.",
    formatter_class=argparse.ArgumentDefaultsHelpFormatter,
)
parser.add_argument("--steps", type=int, default=300, help="loop steps")
parser.add_argument(
    "--epochs", type=int, default=10, help="learner epochs"
)
parser.add_argument("--seed", type=int, default=0, help="random seed")
args, _ = parser.parse_known_args()

# %%
# The backends present
# --------------------
# A backend here is a way to turn a NumPy array into that library's
# array on its device, a way back to NumPy (for the plots), and a way to
# wait for the device to finish (for honest timings). NumPy and
# array-api-strict are always there; PyTorch when installed, on the CPU
# and, with a CUDA build and a GPU, on the GPU; CuPy when it finds a
# GPU.


def _nothing_to_wait_for():
    pass


backends = {"NumPy": (np.asarray, np.asarray, _nothing_to_wait_for)}
if importlib.util.find_spec("array_api_strict") is not None:
    import array_api_strict

    backends["array-api-strict"] = (
        array_api_strict.asarray,
        np.from_dlpack,
        _nothing_to_wait_for,
    )
if importlib.util.find_spec("torch") is not None:
    import torch

    backends["PyTorch"] = (
        torch.as_tensor,
        np.from_dlpack,
        _nothing_to_wait_for,
    )
    if torch.cuda.is_available():
        backends["PyTorch (CUDA)"] = (
            lambda a: torch.as_tensor(a, device="cuda"),
            lambda t: t.cpu().numpy(),
            torch.cuda.synchronize,
        )
if importlib.util.find_spec("cupy") is not None:
    import cupy

    try:
        if cupy.cuda.runtime.getDeviceCount() > 0:
            backends["CuPy"] = (
                cupy.asarray,
                cupy.asnumpy,
                cupy.cuda.Device().synchronize,
            )
    except cupy.cuda.runtime.CUDARuntimeError:  # no driver
        pass

for name, (convert, _, _) in backends.items():
    a = convert(np.zeros(1, dtype=np.float32))
    device = array_api_compat.device(a)
    print(f"{name:<17s} {type(a).__name__:<8s} {device}")

# %%
# The data, once for all backends
# -------------------------------
# The 8×8 digits, as float32 (the precision GPUs prefer), 1200 for
# training and the others as queries of the retrieval test.
X_np, y_np = load_dataset("digits", return_X_y=True)
X_np = (X_np / 16.0).astype(np.float32)
perm = np.random.default_rng(args.seed).permutation(len(y_np))
train, test = perm[:1200], perm[1200:]

# %%
# The code, written once
# ----------------------
# ``array_api_compat.array_namespace`` returns the namespace of the
# input (``xp``), and the loop uses only its functions: the linear map
# ``F = X_b W``, the contrastive loss and the DPP term of
# :mod:`spectral_ml` (both return their gradient in the namespace and on
# the device of ``F``), and an RMSprop-like step. Only the batches'
# indices come from NumPy; they are moved to the device once per step.


def train_linear_map(X, y, batches, W, *, weight=3e-4, lr=1e-2):
    xp = array_api_compat.array_namespace(X)
    square_avg = xp.zeros_like(W)
    for batch in batches:
        idx = xp.asarray(batch, device=array_api_compat.device(X))
        Xb, yb = xp.take(X, idx, axis=0), xp.take(y, idx, axis=0)
        F = Xb @ W
        _, dF = contrastive_loss(F, yb)
        dpp = dpp_diversity(F, sigma=0.2, underflow="allow")
        dF = dF - weight * dpp.grad
        dW = Xb.T @ dF
        square_avg = 0.99 * square_avg + 0.01 * dW**2
        W = W - lr * dW / (xp.sqrt(square_avg) + 1e-8)
    return W


# %%
# Every backend gets the same batches and the same starting ``W``. Each
# line below gives the time per step, the test mAP@10 (the test digits
# query the training digits) and the largest difference between the
# backend's features of the test digits and NumPy's. Batches this small
# make small matrix products, which run fastest on one CPU thread.
rng = np.random.default_rng(args.seed)
sampler = BalancedBatchSampler(y_np[train], random_state=args.seed)
batches = [sampler.next_batch() for _ in range(args.steps)]
W0 = rng.standard_normal((64, 2)) * np.sqrt(2 / 64)
W0 = W0.astype(np.float32)

features, ms_per_step = {}, {}
with threadpool_limits(limits=1):
    for name, (convert, to_numpy, synchronize) in backends.items():
        X, y, W = (
            convert(X_np[train]),
            convert(y_np[train]),
            convert(W0),
        )
        train_linear_map(
            X, y, batches[:5], W
        )  # loads kernels, libraries
        synchronize()
        start = time.perf_counter()
        W = train_linear_map(X, y, batches, W)
        synchronize()
        ms_per_step[name] = (
            1e3 * (time.perf_counter() - start) / args.steps
        )
        Z_train, Z_test = X @ W, convert(X_np[test]) @ W
        y_test = convert(y_np[test])
        maps = mean_average_precision_at_k(
            Z_test, y_test, [10], Z_train, y
        )
        features[name] = to_numpy(Z_test)
        gap = np.abs(features[name] - features["NumPy"]).max()
        print(
            f"{name:<17s} {ms_per_step[name]:5.2f} ms/step  "
            f"mAP@10 {100 * maps[10]:.2f}  difference {gap:.0e}"
        )

# %%
# The backends learn the same map: the features differ by float32
# rounding, accumulated over the steps (PyTorch sums in another order),
# and the retrieval scores by a fraction of a point. Each backend's
# features of the test digits, and its time per step:
n_rows = (len(features) + 2) // 2  # and a panel for the times
fig, axes = plt.subplots(
    n_rows, 2, figsize=(6.6, 3.3 * n_rows), layout="constrained"
)
axes = axes.ravel()
for ax, (name, Z) in zip(axes, features.items(), strict=False):
    plot_feature_scatter(Z, y_np[test], ax=ax, title=name, legend=False)
ax = axes[len(features)]
ax.barh(list(ms_per_step), list(ms_per_step.values()), color="tab:gray")
ax.invert_yaxis()
ax.set_xlabel("milliseconds per step")
ax.set_title("time per step")
for ax in axes[len(features) + 1 :]:
    ax.set_visible(False)

# %%
# With batches this small NumPy is usually the quickest on a CPU:
# array-api-strict, a reference implementation, checks and wraps every
# operation, and PyTorch pays a dispatch cost per call. A GPU pays off
# with larger batches and networks, where the kernel matrix, its
# factorization and the network's products dominate.
#
# The estimator follows its input too
# -----------------------------------
# :class:`~spectral_ml.nn.DPPFeatureLearner` builds its network, its
# optimizer state and its batches in the namespace and on the device of
# ``X``, and ``transform`` returns that library's arrays.
for name, (convert, _, synchronize) in backends.items():
    model = DPPFeatureLearner(
        hidden=(200,),
        dpp="dppsg*",
        dpp_weight=3e-4,
        epochs=args.epochs,
        learning_rate=1e-3,
        random_state=args.seed,
    )
    with threadpool_limits(limits=1):
        start = time.perf_counter()
        model.fit(convert(X_np[train]), convert(y_np[train]))
        Z = model.transform(convert(X_np[test]))
        synchronize()
        seconds = time.perf_counter() - start
    kind = type(Z).__name__
    print(f"{name:<17s} fit and transform {seconds:4.2f} s  -> {kind}")
