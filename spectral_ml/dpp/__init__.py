r"""DPP diversity term with proper spectral sub-gradients (Yu et al.).

The diversity of a feature batch X (n × d) is det L or log det L of its Gaussian kernel
matrix :math:`L_{ij} = \exp(-\|x_i - x_j\|^2/\sigma^2)`. :func:`dpp_diversity` returns its
value and an ascent direction with respect to X: the exact gradient while L is safely
invertible, a proper sub-gradient (DPPSG or DPPSG*) where L is singular or nearly so. The
pieces are exported for use on their own:

* :func:`gaussian_kernel`, :func:`kernel_backward` — the kernel and the :math:`O(n^2d)`
  back-propagation of any :math:`\partial J/\partial L` to :math:`\partial J/\partial X`;
* :func:`logdet_gradient`, :func:`det_gradient` — exact gradients :math:`L^{-1}` and
  :math:`\det(L)\,L^{-1}` from one Cholesky factorization;
* :func:`dppsg`, :func:`dppsg_star` — the proper sub-gradients of Algorithms 1 and 2.

Its settings travel as one checked object, :class:`DPPSettings`, which the term, the losses,
the training step, the learners and the PyTorch interface all accept; :data:`PAPER_VARIANTS`
is the one table of the paper's variants (which DPP term, whether the WGAN term).
"""

from .diversity import DPPResult, dpp_diversity
from .exact import det_gradient, logdet_gradient
from .kernel import DEFAULT_SIGMA, gaussian_kernel, kernel_backward
from .settings import DEFAULT_BETA, PAPER_VARIANTS, TRAINING_METHODS, DPPSettings, PaperVariant
from .subgradient import DEFAULT_DELTA, DEFAULT_THETA, dppsg, dppsg_star

__all__ = [
    "dpp_diversity",
    "DPPResult",
    "DPPSettings",
    "PaperVariant",
    "PAPER_VARIANTS",
    "TRAINING_METHODS",
    "gaussian_kernel",
    "kernel_backward",
    "logdet_gradient",
    "det_gradient",
    "dppsg",
    "dppsg_star",
    "DEFAULT_SIGMA",
    "DEFAULT_BETA",
    "DEFAULT_DELTA",
    "DEFAULT_THETA",
]
