"""Evaluation of learned embeddings and metrics: retrieval, distribution gap."""

from .retrieval import map_at_r, mean_average_precision_at_k, precision_at_1, precision_at_k
from .wasserstein import gap_to_reference, uniform_box_sampler, wasserstein_distance

__all__ = [
    "mean_average_precision_at_k",
    "precision_at_k",
    "precision_at_1",
    "map_at_r",
    "wasserstein_distance",
    "gap_to_reference",
    "uniform_box_sampler",
]
