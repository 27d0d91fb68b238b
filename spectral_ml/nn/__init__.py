"""Neural networks without autodiff: layers, losses, optimizers and the training loop.

Layers with explicit backward passes, losses with feature gradients, optimizers,
class-balanced mini-batches, the training step and the estimator.

Forward passes keep what the backward passes need; ``backward(grad_out)`` returns the
gradient wrt the input and accumulates parameter gradients, which the optimizers in
:mod:`spectral_ml.nn.optim` read. Parameters live in the array namespace (NumPy by default)
and on the device they were created on.

One module per job: :mod:`~spectral_ml.nn.module` and :mod:`~spectral_ml.nn.layers` (the
network), :mod:`~spectral_ml.nn.losses` (contrastive loss), :mod:`~spectral_ml.nn.dpp_loss`
(the DPP term), :mod:`~spectral_ml.nn.critic` (WGAN critic and generator loss),
:mod:`~spectral_ml.nn.optim` (optimizers and their registry), :mod:`~spectral_ml.nn.sampling`
(batches), :mod:`~spectral_ml.nn.training` (objective, step, loop) and
:mod:`~spectral_ml.nn.learner` (the scikit-learn estimator).
"""

from .critic import WassersteinCritic, generator_loss
from .dpp_loss import dpp_loss
from .layers import MLP, BatchNorm1d, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh
from .learner import DPPFeatureLearner
from .losses import contrastive_loss
from .module import Module, Parameter, gradients_to_vector, parameters_to_vector, vector_to_parameters
from .optim import OPTIMIZERS, SGD, Adam, Optimizer, RMSprop, StepLR, make_optimizer
from .sampling import BalancedBatchSampler
from .training import FeatureObjective, TrainingStep, evaluate_batch, train_epochs

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
    # optimizers
    "Optimizer",
    "SGD",
    "RMSprop",
    "Adam",
    "StepLR",
    "OPTIMIZERS",
    "make_optimizer",
    # sampling
    "BalancedBatchSampler",
    # DPP term and the feature learner
    "dpp_loss",
    # training
    "FeatureObjective",
    "TrainingStep",
    "train_epochs",
    "evaluate_batch",
    "DPPFeatureLearner",
]
