"""2-D features of digits with the contrastive loss and the DPP term
=================================================================

Trains :class:`spectral_ml.nn.DPPFeatureLearner` on scikit-learn's 8×8 digits three times —
contrastive loss alone, with the DPP term (DPPSG*), and with the DPP and WGAN terms — prints
the retrieval scores of the test images against the training images, and saves a figure of
the 2-D features (train and test) in the spirit of Fig. 1 of Yu, Li & Li (ICLR 2020).

Usage::

    python examples/dpp_feature_learning.py [--out FIGURE.png] [--epochs 20] [--seed 0]

Without ``--out`` the figure goes to a temporary directory; its path is printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from spectral_ml.datasets import load_dataset
from spectral_ml.evaluation import gap_to_reference, mean_average_precision_at_k
from spectral_ml.nn import DPPFeatureLearner
from spectral_ml.plotting import plot_feature_grid


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--out", help="path of the PNG figure (default: a temporary directory)")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default: 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)
    # Batches of 200 make small matrix products, which BLAS threads only slow down.
    with threadpool_limits(limits=1, user_api="blas"):
        return run(args)


def run(args) -> int:
    data = load_dataset("digits")
    X = data.X.astype(np.float32) / 16.0  # pixels 0..16 -> [0, 1]
    X_tr, X_te, y_tr, y_te = train_test_split(X, data.y, test_size=1 / 3, stratify=data.y, random_state=args.seed)
    common = dict(
        hidden=(200,), n_components=2, batch_size=200, epochs=args.epochs, learning_rate=1e-3, random_state=args.seed
    )
    variants = {
        "contrastive": DPPFeatureLearner(**common),
        "+DPPSG*": DPPFeatureLearner(**common, dpp="dppsg*", dpp_weight=3e-4),
        "+DPPSG*+WGAN": DPPFeatureLearner(
            **common, dpp="dppsg*", dpp_weight=3e-4, wgan=True, wgan_weight=1e3, wgan_n_reference=400
        ),
    }
    panels = {}
    print(f"{'variant':<14s} {'mAP@10':>7s} {'mAP@50':>7s} {'gap to P':>9s} {'sub-gradient':>13s} {'time':>6s}")
    for name, model in variants.items():
        t0 = time.perf_counter()
        Z_tr = model.fit_transform(X_tr, y_tr)
        elapsed = time.perf_counter() - t0
        Z_te = model.transform(X_te)
        # Test images query the training images (the database).
        maps = mean_average_precision_at_k(Z_te, y_te, [10, 50], Z_tr, y_tr)
        gap = gap_to_reference(Z_te, n_samples=500, n_repeats=2, random_state=args.seed)
        h = model.history_
        sub = f"{np.mean(h['path_dppsg*']):.0%}" if "path_dppsg*" in h else "-"
        print(f"{name:<14s} {100 * maps[10]:7.2f} {100 * maps[50]:7.2f} {gap:9.3f} {sub:>13s} {elapsed:5.1f}s")
        panels[name] = {"train": (Z_tr, y_tr), "test": (Z_te, y_te)}

    fig = plot_feature_grid(panels, reference_box=True, title="2-D features of the digits")
    out = args.out or os.path.join(tempfile.mkdtemp(prefix="spectral_ml_"), "dpp_feature_learning.png")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    print(f"figure written to {out}")
    return 0


if __name__ == "__main__":
    main()
