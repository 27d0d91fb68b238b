r"""Spectral calculus of symmetric matrices, shared by the DPP term and by GMML/AML.

A spectral function of a symmetric matrix :math:`M = U \operatorname{diag}(\lambda) U^\top`
applies a scalar function to the eigenvalues:
:math:`f(M) = U \operatorname{diag}(f(\lambda)) U^\top`. Its derivative is given by the
Daleckii–Krein theorem: for symmetric :math:`M` and any :math:`A`,

.. math::

    \frac{\partial}{\partial M} \operatorname{tr}\bigl(f(M) A\bigr)
    = U \bigl(F \circ (U^\top \operatorname{sym}(A)\, U)\bigr) U^\top,

where :math:`F` is the Loewner matrix of first divided differences,
:math:`F_{jk} = (f(\lambda_j) - f(\lambda_k)) / (\lambda_j - \lambda_k)` for
:math:`\lambda_j \ne \lambda_k` and :math:`F_{jj} = f'(\lambda_j)` (Bhatia, *Matrix
Analysis*, Thm. V.3.3).
Every function takes arrays of any array-API namespace and returns arrays of the same
namespace and device; float32 inputs are computed in float32.

The functions live in three private modules, all imported from here: the calculus of one
eigendecomposition (``_spectral``), the matrix geometric means (``_means``) and the
log-determinants from a Cholesky factor (``_logdet``).

References
----------
.. [1] Bhatia, R., *Matrix Analysis*, Springer GTM 169, 1997, Ch. V.
.. [2] Bhatia, R., *Positive Definite Matrices*, Princeton, 2007, Ch. 4 (matrix means).
.. [3] Zadeh, P., Hosseini, R. and Sra, S., "Geometric Mean Metric Learning", ICML 2016.
"""

from ._logdet import cholesky_logdet, logdet_spd
from ._means import geometric_mean, inverse_sharp, ratio_power
from ._spectral import (
    eigh,
    from_eigh,
    loewner_matrix,
    numerical_rank,
    project_spd,
    project_spd_eigh,
    psd_factor,
    psd_sqrt,
    spd_eigh,
    spd_inv,
    spd_inv_sqrt,
    spd_power,
    spd_sqrt,
    spectral_function,
    spectral_function_grad,
    sym,
)

__all__ = [
    "sym",
    "eigh",
    "spectral_function",
    "loewner_matrix",
    "spectral_function_grad",
    "from_eigh",
    "spd_eigh",
    "numerical_rank",
    "project_spd",
    "project_spd_eigh",
    "psd_sqrt",
    "psd_factor",
    "spd_power",
    "spd_inv",
    "spd_sqrt",
    "spd_inv_sqrt",
    "geometric_mean",
    "inverse_sharp",
    "ratio_power",
    "cholesky_logdet",
    "logdet_spd",
]
