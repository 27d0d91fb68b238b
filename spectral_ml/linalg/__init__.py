"""Spectral calculus of symmetric matrices, shared by the DPP term and by GMML/AML.

A spectral function of a symmetric matrix M = U diag(λ) Uᵀ applies a scalar function to the
eigenvalues: f(M) = U diag(f(λ)) Uᵀ. Its derivative is given by the Daleckii–Krein theorem:
for symmetric M and any A,

    ∂/∂M tr(f(M) A) = U (F ∘ (Uᵀ sym(A) U)) Uᵀ,

where F is the Loewner matrix of first divided differences, F_jk = (f(λ_j) − f(λ_k)) /
(λ_j − λ_k) for λ_j ≠ λ_k and F_jj = f'(λ_j) (Bhatia, *Matrix Analysis*, Thm. V.3.3).
Every function takes arrays of any array-API namespace and returns arrays of the same
namespace and device; float32 inputs are computed in float32.

The functions live in three private modules, all imported from here: the calculus of one
eigendecomposition (``_spectral``), the matrix geometric means (``_means``) and the
log-determinants from a Cholesky factor (``_logdet``).

References
----------
.. [1] R. Bhatia, *Matrix Analysis*, Springer GTM 169, 1997, Ch. V.
.. [2] R. Bhatia, *Positive Definite Matrices*, Princeton, 2007, Ch. 4 (matrix means).
.. [3] P. Zadeh, R. Hosseini, S. Sra, "Geometric Mean Metric Learning", ICML 2016.
"""

from ._logdet import cholesky_logdet, logdet_spd
from ._means import geometric_mean, inverse_sharp
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
    "cholesky_logdet",
    "logdet_spd",
]
