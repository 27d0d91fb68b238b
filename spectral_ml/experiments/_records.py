"""What an experiment returns: its measurements as plain data, before any formatting."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Records"]


@dataclass
class Records:
    """The measurements of one experiment run, unrounded and unwritten.

    Parameters
    ----------
    experiment : str
        Name of the experiment (``"aml-table1"``, ``"dpp-retrieval"``, ...).
    rows : list of dict
        One dict per measurement (a data set, split and learner; a variant and seed; ...),
        with the same keys in every row.
    settings : dict
        What the protocol was run with (data sets, splits, seeds, grids, learner settings).
    notes : list of str
        What a reader of the results must know (data decisions, skipped baselines).
    figures : dict
        Data of the figures that the rows do not hold (feature panels, curves).
    """

    experiment: str
    rows: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)
