"""The papers' experiments, as functions the ``spectral-ml`` command line calls.

:mod:`spectral_ml.experiments.aml` reproduces the AML paper (Table 1, Figs. 3–5);
:mod:`spectral_ml.experiments.dpp` the DPP paper (Table 1, Fig. 1, Table 6). Each function
writes CSV + Markdown tables and PNG figures into an output directory.
"""

from ._io import Progress, Table, format_mean_std, save_figure

__all__ = ["Progress", "Table", "format_mean_std", "save_figure"]
