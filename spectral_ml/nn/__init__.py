"""Autodiff-free neural networks: layers with explicit backward passes, losses with feature
gradients, optimizers and class-balanced mini-batches.

Forward passes keep what the backward passes need; ``backward(grad_out)`` returns the
gradient wrt the input and accumulates parameter gradients, which the optimizers in
:mod:`spectral_ml.nn.optim` read. Parameters live in the array namespace (NumPy by default)
and on the device they were created on.
"""

from .layers import MLP, BatchNorm1d, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh
from .losses import UniformSampler, WassersteinCritic, contrastive_loss, generator_loss, uniform_sampler
from .module import Module, Parameter, gradients_to_vector, parameters_to_vector, vector_to_parameters
from .optim import SGD, Adam, Optimizer, RMSprop, StepLR
from .sampling import BalancedBatchSampler
from .dpp_loss import dpp_loss
from .learner import DPPFeatureLearner

__all__ = [
    # modules
    "Module",
    "Parameter",
    "Linear",
    "ReLU",
    "LeakyReLU",
    "Tanh",
    "Sigmoid",
    "BatchNorm1d",
    "Sequential",
    "MLP",
    # parameter vectors
    "parameters_to_vector",
    "vector_to_parameters",
    "gradients_to_vector",
    # losses
    "contrastive_loss",
    "WassersteinCritic",
    "generator_loss",
    "uniform_sampler",
    "UniformSampler",
    # optimizers
    "Optimizer",
    "SGD",
    "RMSprop",
    "Adam",
    "StepLR",
    # sampling
    "BalancedBatchSampler",
    # DPP term and the feature learner
    "dpp_loss",
    "DPPFeatureLearner",
]
