"""``lucid.linalg``: linear algebra with ``torch.linalg``'s names and semantics.

The functions live in :mod:`lucid.ops.linalg` and :mod:`lucid.ops.decompositions` (``norm`` here is
``torch.linalg.norm``, ``lu`` / ``cross`` / ``vander`` / ``eig`` / ``lstsq`` / ``diagonal`` the
``torch.linalg`` forms; the top-level ``lucid.*`` names of the same spelling are PyTorch's legacy ones).
Gradients need what PyTorch's need: invertible matrices for ``inv``/``det``/``solve``, symmetric
positive-definite ones for ``cholesky``, full rank for ``qr``, distinct singular values for ``svd``'s
vectors, distinct eigenvalues for ``eigh``'s; ``eig``/``eigvals`` return complex results (PyTorch's gradient too).
Complex matrices (complex64/complex128) work everywhere but in the LDL routines: results that are real in
PyTorch (singular values, ``eigvalsh``, ``logabsdet``, norms, ``cond``, ranks) are real here; gradients follow
PyTorch's convention (``dL/dRe + i dL/dIm``), and a loss that depends on the free phase of complex singular or
eigen vectors raises in backward, as PyTorch's.
"""

from __future__ import annotations

from .ops._out import add_out_argument as _add_out_argument
from .ops.decompositions import (
    CholeskyExResult,
    EighResult,
    InvExResult,
    LDLFactorExResult,
    LDLFactorResult,
    LstsqResult,
    LUFactorExResult,
    LUFactorResult,
    LUResult,
    SolveExResult,
    cholesky_ex,
    cond,
    eigh,
    eigvals,
    eigvalsh,
    householder_product,
    inv_ex,
    ldl_factor,
    ldl_factor_ex,
    ldl_solve,
    lu_factor,
    lu_factor_ex,
    multi_dot,
    pinv,
    solve_ex,
    solve_triangular,
    tensorinv,
    tensorsolve,
)
from .ops.decompositions import linalg_cross as cross
from .ops.decompositions import linalg_diagonal as diagonal
from .ops.decompositions import linalg_eig as eig
from .ops.decompositions import linalg_lstsq as lstsq
from .ops.decompositions import linalg_lu as lu
from .ops.decompositions import linalg_lu_solve as lu_solve
from .ops.decompositions import linalg_matrix_exp as matrix_exp
from .ops.decompositions import linalg_matrix_power as matrix_power
from .ops.decompositions import linalg_matrix_rank as matrix_rank
from .ops.decompositions import linalg_vander as vander
from .ops.linalg import (
    LinAlgError,
    QRResult,
    SlogdetResult,
    SVDResult,
    cholesky,
    inv,
    matmul,
    matrix_norm,
    qr,
    solve,
    svd,
    svdvals,
    vecdot,
    vector_norm,
)
from .ops.linalg import linalg_det as det
from .ops.linalg import linalg_norm as norm
from .ops.linalg import linalg_slogdet as slogdet

__all__ = [
    "LinAlgError", "QRResult", "SlogdetResult", "SVDResult", "cholesky", "det", "inv", "matmul", "matrix_norm",
    "norm", "qr", "slogdet", "solve", "svd", "svdvals", "vecdot", "vector_norm",
    "CholeskyExResult", "EighResult", "InvExResult", "LstsqResult", "LUFactorExResult", "LUFactorResult", "LUResult",
    "SolveExResult", "cholesky_ex", "cond", "cross", "diagonal", "eig", "eigh", "eigvals", "eigvalsh",
    "householder_product", "inv_ex", "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matrix_exp",
    "matrix_power", "matrix_rank", "multi_dot", "pinv", "solve_ex", "solve_triangular", "tensorinv", "tensorsolve",
    "vander", "LDLFactorResult", "LDLFactorExResult", "ldl_factor", "ldl_factor_ex", "ldl_solve",
]

_add_out_argument(globals())  # torch's out= where torch takes it
