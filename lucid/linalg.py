"""``lucid.linalg``: linear algebra with ``torch.linalg``'s names and semantics.

The functions live in :mod:`lucid.ops.linalg` (``norm`` here is ``torch.linalg.norm``;
``lucid.norm`` is ``torch.norm``). Gradients need what PyTorch's need: invertible matrices
for ``inv``/``det``/``solve``, symmetric positive-definite ones for ``cholesky``, full rank
for ``qr``, distinct singular values for ``svd``'s vectors.
"""

from __future__ import annotations

from .ops.linalg import (
    LinAlgError,
    QRResult,
    SlogdetResult,
    SVDResult,
    cholesky,
    det,
    inv,
    matmul,
    matrix_norm,
    qr,
    slogdet,
    solve,
    svd,
    svdvals,
    vecdot,
    vector_norm,
)
from .ops.linalg import linalg_norm as norm

__all__ = [
    "LinAlgError", "QRResult", "SlogdetResult", "SVDResult", "cholesky", "det", "inv", "matmul", "matrix_norm",
    "norm", "qr", "slogdet", "solve", "svd", "svdvals", "vecdot", "vector_norm",
]
