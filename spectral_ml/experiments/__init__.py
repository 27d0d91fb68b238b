"""The papers' experiments, as functions the ``spectral-ml`` command line calls.

:mod:`spectral_ml.experiments.aml` reproduces the AML paper (Table 1, Figs. 3–5);
:mod:`spectral_ml.experiments.dpp` the DPP paper (Table 1, Fig. 1, Table 6). Their protocols
return :class:`Records` (plain data); :mod:`spectral_ml.experiments.report` turns records into
CSV + Markdown tables, PNG figures and ``report.md``. Each ``run_*`` function does both.
"""

from ._records import Records
from .report import Table, format_mean_std, save_figure

__all__ = ["Records", "Table", "format_mean_std", "save_figure"]
