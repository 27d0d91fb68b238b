"""The DPP diversity term in your own NumPy training loop
======================================================

A linear map ``W`` (64 → 2) is trained by hand on scikit-learn's digits: each step takes a
class-balanced batch, computes the features ``F = X_b W``, the contrastive loss and its
gradient (:func:`spectral_ml.nn.contrastive_loss`), the DPP diversity and its ascent
direction (:func:`spectral_ml.dpp.dpp_diversity`: the exact gradient of log det L while the
kernel matrix is safely invertible, a proper sub-gradient when it is not), chains the
feature gradient to ``W`` by hand (``∂L/∂W = X_bᵀ ∂L/∂F``) and takes an RMSprop-like step.
Nothing else of the library is needed: the DPP term is a function of a feature batch that
returns a value and a direction, usable with any model whose backward pass you can write.

Usage::

    python examples/dpp_numpy_training_loop.py [--steps 300] [--weight 3e-4] [--seed 0]
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
from threadpoolctl import threadpool_limits

from spectral_ml.datasets import load_dataset
from spectral_ml.dpp import dpp_diversity
from spectral_ml.evaluation import mean_average_precision_at_k
from spectral_ml.nn import BalancedBatchSampler, contrastive_loss


def train(X, y, *, steps, weight, seed, lr=1e-2, sigma=0.2):
    """Train W with L = L_C − weight · log det L by hand; return W and the paths taken."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((X.shape[1], 2)) * np.sqrt(2.0 / X.shape[1])
    square_avg = np.zeros_like(W)
    sampler = BalancedBatchSampler(y, batch_size=200, random_state=seed)
    paths = Counter()
    for step in range(steps):
        idx = sampler.next_batch()
        Xb, yb = X[idx], y[idx]
        F = Xb @ W
        loss_c, dF = contrastive_loss(F, yb, margin=0.8, alpha=5.0)
        if weight > 0:
            dpp = dpp_diversity(F, sigma)  # value and ascent direction of log det L
            dF = dF - weight * dpp.grad  # minimizing −weight · log det L
            paths[dpp.method] += 1
        dW = Xb.T @ dF  # chain rule through F = Xb W
        square_avg = 0.99 * square_avg + 0.01 * dW**2
        W -= lr * dW / (np.sqrt(square_avg) + 1e-8)
        if step % 100 == 0 or step == steps - 1:
            msg = f"step {step:4d}  L_C {loss_c:.4f}"
            if weight > 0:
                msg += f"  log det L {dpp.logdet:9.2f} ({dpp.method})"
            print(msg)
    return W, paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps (default: 300)")
    parser.add_argument("--weight", type=float, default=3e-4, help="weight λ₁ of the DPP term (default: 3e-4)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)

    X, y = load_dataset("digits", return_X_y=True)
    X = X / 16.0
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(len(y))
    train_idx, test_idx = perm[:1200], perm[1200:]
    # Small products: BLAS threads would only add synchronization.
    with threadpool_limits(limits=1, user_api="blas"):
        for weight in (0.0, args.weight):
            label = "contrastive only" if weight == 0 else f"contrastive + DPP (λ₁ = {weight:g})"
            print(f"--- {label}")
            W, paths = train(X[train_idx], y[train_idx], steps=args.steps, weight=weight, seed=args.seed)
            Z_tr, Z_te = X[train_idx] @ W, X[test_idx] @ W
            maps = mean_average_precision_at_k(Z_te, y[test_idx], [10, 50], Z_tr, y[train_idx])
            extra = f", DPP paths {dict(paths)}" if paths else ""
            print(f"test mAP@10 {100 * maps[10]:.2f}, mAP@50 {100 * maps[50]:.2f}{extra}\n")
    return 0


if __name__ == "__main__":
    main()
