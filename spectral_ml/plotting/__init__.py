"""Figures of the papers' experiments, built on :class:`matplotlib.figure.Figure`.

Every function returns the ``Figure`` it drew on and never calls ``pyplot``: no global
figure state, no ``plt.show``, no backend selection, so the functions work headless (save
with ``fig.savefig(path)``) and in notebooks (a returned ``Figure`` displays itself). Pass
``ax=`` to draw into an existing axes instead; the figure that holds it is returned.

Array arguments may come from any array library (they are copied to NumPy for drawing).

The scatter plots of features and embeddings live in ``_features``, the line plots (ROC,
sensitivity, sweeps, overhead, losses, eigenvalue spectra) in ``_curves``, and what both start
from in ``_common``; all are imported from here.
"""

from ._curves import (
    plot_eigenvalue_spectrum,
    plot_loss_curves,
    plot_overhead,
    plot_roc,
    plot_sensitivity,
    plot_sweep,
)
from ._features import REFERENCE_BOX_LABEL as REFERENCE_BOX_LABEL
from ._features import plot_embedding_2d, plot_feature_grid, plot_feature_scatter

__all__ = [
    "plot_feature_scatter",
    "plot_feature_grid",
    "plot_roc",
    "plot_sensitivity",
    "plot_sweep",
    "plot_overhead",
    "plot_loss_curves",
    "plot_embedding_2d",
    "plot_eigenvalue_spectrum",
]
