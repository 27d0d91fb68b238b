"""PyTorch interface: the DPP diversity term in autograd and the DPP paper's MNIST network.

Needs the optional ``torch`` extra (``pip install spectral-ml[torch]``); nothing else in
spectral_ml imports PyTorch.

* :func:`dpp_diversity_loss`, :class:`DPPDiversity` — the DPP diversity term of
  :mod:`spectral_ml.dpp` as an autograd function (exact gradient or proper spectral
  sub-gradient in the backward pass) and as a module;
* :func:`contrastive_loss` — the pairwise contrastive loss of :mod:`spectral_ml.nn` in autograd;
* :class:`PaperMNISTNet`, :class:`PaperCNNLearner` — the convolutional network of the DPP
  paper's MNIST experiment and its training with the contrastive loss, the DPP term and a
  WGAN critic on the 2-D feature layer.
"""

try:
    import torch as _torch  # noqa: F401 - fails early, with the extra to install, without PyTorch
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "spectral_ml.torch needs PyTorch: install the 'torch' extra (pip install 'spectral-ml[torch]')."
    ) from exc

from .diversity import DPPDiversity, dpp_diversity_loss
from .losses import contrastive_loss
from .mnist import PaperCNNLearner, PaperMNISTNet, paper_cnn_variant_params

__all__ = [
    "dpp_diversity_loss",
    "DPPDiversity",
    "contrastive_loss",
    "PaperMNISTNet",
    "PaperCNNLearner",
    "paper_cnn_variant_params",
]
