"""What a learned metric does to the data
======================================

Learns GMML and AML metrics on the AML paper's synthetic set (10-D, two classes, a clean
training set and an overlapping test set) and draws the training and test samples on the
first two principal components of the input and of each learned embedding X·Lᵀ, as in Fig. 3
of Chen et al. (IJCAI 2018). Also draws the eigenvalue spectrum of each learned M.

Usage::

    python examples/plot_learned_metric.py [--out FIGURE.png] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np
from matplotlib.figure import Figure

from spectral_ml.datasets import make_aml_synthetic
from spectral_ml.metric import AMLMetric, GMMLMetric
from spectral_ml.plotting import plot_eigenvalue_spectrum, plot_embedding_2d


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--out", help="PNG path (default: a temporary directory)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    data = make_aml_synthetic(random_state=args.seed)
    models = {
        "GMML": GMMLMetric(random_state=args.seed).fit(data.X_train, data.y_train),
        "AML": AMLMetric(alpha=1.0, beta=1.0, random_state=args.seed).fit(data.X_train, data.y_train),
    }
    fig = Figure(figsize=(16, 7), layout="constrained")
    grid = fig.add_gridspec(2, 4)
    axes = np.array([[fig.add_subplot(grid[row, col]) for col in range(3)] for row in range(2)])
    for row, (split, X, y) in enumerate((("train", data.X_train, data.y_train), ("test", data.X_test, data.y_test))):
        plot_embedding_2d(X, y, basis_from=data.X_train, ax=axes[row, 0], title=f"input, {split}")
        for col, (name, model) in enumerate(models.items(), start=1):
            plot_embedding_2d(
                model.transform(X),
                y,
                basis_from=model.transform(data.X_train),
                ax=axes[row, col],
                title=f"{name}, {split}",
            )
    # The spectrum of M: how strongly the metric stretches each direction it learned.
    plot_eigenvalue_spectrum(
        {name: model.get_mahalanobis_matrix() for name, model in models.items()},
        ax=fig.add_subplot(grid[:, 3]),
        title="eigenvalues of the learned M",
    )
    out = args.out or os.path.join(tempfile.mkdtemp(prefix="spectral_ml_"), "learned_metric.png")
    fig.savefig(out, dpi=100)
    for name, model in models.items():
        w = np.linalg.eigvalsh(model.get_mahalanobis_matrix())
        print(f"{name}: eigenvalues of M from {w.min():.3g} to {w.max():.3g}")
    print(f"figure written to {out}")
    return 0


if __name__ == "__main__":
    main()
