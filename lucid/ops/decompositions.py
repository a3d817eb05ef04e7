"""More linear algebra: LU, triangular and Cholesky solves, eigh, pinv, lstsq, matrix functions, the
``*_ex`` variants, and PyTorch's legacy top-level forms (``torch.lu``, ``torch.svd``, ``torch.qr``, ...).

What the array API lacks is written once against ``xp``: partial-pivoting LU (LAPACK's ``getrf``
order, so pivots match PyTorch's), Householder QR (``geqrf``), the scaling-and-squaring Pade
matrix exponential. Triangular solves run through ``xp.linalg.solve`` on the masked triangle.
Backwards are PyTorch's formulas in lucid ops (so double backward works) or composites.
``lucid.linalg`` re-exports the ``torch.linalg`` names; this module's ``__all__`` holds the
top-level ``torch.*`` ones.
"""

from __future__ import annotations

import math
from collections import namedtuple

from .. import dtypes as _dt
from .._backend.device import on_input_device
from .._backend.numpy_backend import float_errors_quiet
from .._tensor import Tensor
from ..amp.autocast import autocast_op
from ..autograd import function as _function
from ..autograd import grad_mode
from ..autograd.function import FLOAT32, Function, rename_node
from ..return_types import return_type
from . import linalg as _la
from ._names import with_parameter_names
from .indexing import where
from .linalg import (
    LinAlgError,
    _as_tensors,
    _broadcast_batch,
    _check_float,
    _check_matrix,
    _check_phase_free,
    _check_tensor,
    _constant,
    _diag_embed,
    _eye,
    _lapack,
    _skew,
    _xp_mH,
    inv,
    matmul,
    matrix_norm,
    slogdet,
    solve,
    svdvals,
)
from .sampling import randn
from .shape import _dim, cat, movedim, stack

__all__ = [
    "cholesky", "cholesky_inverse", "cholesky_solve", "logdet", "pinverse", "lu", "lu_unpack", "lu_solve",
    "matrix_exp", "matrix_power", "qr", "svd", "triangular_solve", "geqrf", "orgqr", "ormqr", "nuclear_norm",
    "frobenius_norm", "cross", "eig", "lstsq", "matrix_rank", "symeig", "svd_lowrank", "pca_lowrank",
]

LUResult = return_type("linalg_lu", ["P", "L", "U"])
LUFactorResult = return_type("linalg_lu_factor", ["LU", "pivots"])
LUFactorExResult = return_type("linalg_lu_factor_ex", ["LU", "pivots", "info"])
LULegacyResult = namedtuple("LULegacyResult", ["LU", "pivots"])
LULegacyInfoResult = namedtuple("LULegacyInfoResult", ["LU", "pivots", "infos"])
LUUnpackResult = return_type("lu_unpack", ["P", "L", "U"])
LDLFactorResult = return_type("linalg_ldl_factor", ["LD", "pivots"])
LDLFactorExResult = return_type("linalg_ldl_factor_ex", ["LD", "pivots", "info"])
EighResult = return_type("linalg_eigh", ["eigenvalues", "eigenvectors"])
EigResult = return_type("linalg_eig", ["eigenvalues", "eigenvectors"])
CholeskyExResult = return_type("linalg_cholesky_ex", ["L", "info"])
InvExResult = return_type("linalg_inv_ex", ["inverse", "info"])
SolveExResult = return_type("linalg_solve_ex", ["result", "info"])
LstsqResult = return_type("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
SVDLegacyResult = return_type("svd", ["U", "S", "V"])
QRLegacyResult = return_type("qr", ["Q", "R"])
TriangularSolveResult = return_type("triangular_solve", ["solution", "cloned_coefficient"])
GeqrfResult = return_type("geqrf", ["a", "tau"])


def _int_tensor(like: Tensor, array, dtype) -> Tensor:
    xp = like.xp
    return _constant(like, xp.astype(array, like._device.backend.native_dtype(dtype)))


def _empty(like: Tensor, dtype=None) -> Tensor:
    """A shape ``(0,)`` tensor: what PyTorch returns for a result it did not compute."""
    dev = like._device
    native = dev.backend.native_dtype(dtype or like.dtype)
    return _constant(like, like.xp.zeros((0,), dtype=native, device=dev.native))


def _eps(x: Tensor) -> float:
    return float(x.xp.finfo(x._data.dtype).eps)


# ---- LU --------------------------------------------------------------------------------------------
def _swap_rows(xp, a, j: int, p):
    """``a (..., m, n)`` with row ``j`` and row ``p`` (an index array of the batch shape) exchanged, per batch
    element, by masks (the array API has no scatter)."""
    hit = (xp.arange(a.shape[-2], device=a.device) == p[..., None])[..., None]
    row_p = xp.sum(xp.where(hit, a, xp.zeros_like(a)), axis=-2)
    a = xp.where(hit, a[..., j, None, :], a)
    a[..., j, :] = row_p
    return a


def _permutation_matrix(xp, perm, dtype):
    """``P`` with ``P[perm[i], i] = 1`` (so ``A = P (A[perm])``) from a ``(..., m, 1)`` permutation."""
    m = perm.shape[-2]
    return xp.astype(xp.matrix_transpose(perm) == xp.arange(m, device=perm.device)[:, None], dtype)


def _cabs1(xp, a):
    """BLAS's pivot size (``i?amax``): ``|a|`` for real entries, ``|Re a| + |Im a|`` for complex ones."""
    if xp.isdtype(a.dtype, "complex floating"):
        return xp.abs(xp.real(a)) + xp.abs(xp.imag(a))
    return xp.abs(a)


def _getrf(xp, a, pivot: bool, device):
    """LU with partial pivoting of the ``(..., m, n)`` array ``a``, step by step as LAPACK's ``getrf``
    (largest ``_cabs1`` pivot, first on ties; a zero pivot column is skipped): the packed factors, the
    0-based sequential row swaps ``(..., k)``, the row permutation ``perm (..., m, 1)`` (``A[perm] = L U``)
    and ``info`` (1-based index of the first zero pivot, 0 if none)."""
    m, n = a.shape[-2:]
    k, batch = min(m, n), a.shape[:-2]
    a = xp.asarray(a, copy=True)
    perm = xp.asarray(xp.broadcast_to(xp.arange(m, device=device)[:, None], batch + (m, 1)), copy=True)
    swaps = xp.asarray(xp.broadcast_to(xp.arange(k, device=device), batch + (k,)), copy=True)
    info = xp.zeros(batch, dtype=xp.int32, device=device)
    zero = xp.zeros((), dtype=a.dtype, device=device)
    for j in range(k):
        if pivot and m - j > 1:
            p = xp.argmax(_cabs1(xp, a[..., j:, j]), axis=-1) + j
            swaps[..., j] = p
            a, perm = _swap_rows(xp, a, j, p), _swap_rows(xp, perm, j, p)
        d = a[..., j, j]
        singular = d == zero
        info = xp.where(singular & (info == 0), xp.full_like(info, j + 1), info)
        if j + 1 < m:
            col = a[..., j + 1:, j] / xp.where(singular, xp.ones_like(d), d)[..., None]
            a[..., j + 1:, j] = col
            a[..., j + 1:, j + 1:] = a[..., j + 1:, j + 1:] - col[..., None] * a[..., j, None, j + 1:]
    return a, swaps, perm, info


class _LUFactors(Function):
    """``A = P L U`` from precomputed factors; the backward is PyTorch's (``linalg_lu_backward``)."""

    def forward(self, a, factors):
        self.save_for_backward(*factors)
        return factors

    def backward(self, gP, gL, gU):
        P, L, U = self.saved_tensors
        m, n = L.shape[-2], U.shape[-1]
        k = min(m, n)
        if m == n:
            phi = matmul(L.mH, gL).tril(-1) + matmul(gU, U.mH).triu()
            gA = solve_triangular(U.mH, phi, upper=False, left=False)
            gA = solve_triangular(L.mH, gA, upper=True, unitriangular=True)
        elif m < n:
            U1, gU1, gU2 = U.narrow(-1, 0, k), gU.narrow(-1, 0, k), gU.narrow(-1, k, n - k)
            phi = (matmul(L.mH, gL) - matmul(gU.triu(), U.mH)).tril(-1)
            gA = cat([solve_triangular(U1.mH, phi, upper=False, left=False) + gU1.triu(), gU2], dim=-1)
            gA = solve_triangular(L.mH, gA, upper=True, unitriangular=True)
        else:
            L1, gL1, gL2 = L.narrow(-2, 0, k), gL.narrow(-2, 0, k), gL.narrow(-2, k, m - k)
            phi = (matmul(gU, U.mH) - matmul(L.mH, gL.tril(-1))).triu()
            gA = cat([solve_triangular(L1.mH, phi, upper=True, unitriangular=True) + gL1.tril(-1), gL2], dim=-2)
            gA = solve_triangular(U.mH, gA, upper=False, left=False)
        return matmul(P, gA)


def _lu_parts(A: Tensor, pivot: bool, name: str):
    """``(P, L, U)`` as Tensors (differentiable in ``A``) plus the 1-based int32 pivots and info arrays."""
    _check_matrix(name, A, square=False)
    xp, dev = A.xp, A._device.native
    packed, swaps, perm, info = _getrf(xp, A._data, pivot, dev)
    m, n = A.shape[-2:]
    k = min(m, n)
    L = xp.tril(packed[..., :, :k], k=-1) + xp.eye(m, k, dtype=packed.dtype, device=dev)
    U = xp.triu(packed[..., :k, :])
    P = _permutation_matrix(xp, perm, packed.dtype)
    P, L, U = _LUFactors.apply(A, factors=(P, L, U))
    return P, L, U, xp.astype(swaps + 1, xp.int32), info


@on_input_device
def linalg_lu(A: Tensor, *, pivot: bool = True) -> LUResult:
    """``torch.linalg.lu``: ``A = P L U`` with ``L`` unit lower ``(m, k)`` and ``U`` upper ``(k, n)``
    (``k = min(m, n)``); differentiable. ``pivot=False`` factors without row swaps (PyTorch allows it
    on CUDA only; here on every backend) and returns an empty ``P``, as PyTorch."""
    P, L, U, _, _ = _lu_parts(A, pivot, "linalg.lu")
    return LUResult(P if pivot else _empty(A), L, U)


@on_input_device
def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> LUFactorExResult:
    """``torch.linalg.lu_factor_ex``: packed ``LU`` (``L``'s unit diagonal implied), LAPACK's 1-based int32
    row-swap ``pivots`` and int32 ``info`` (first zero pivot, 1-based; 0 when none)."""
    _, L, U, pivots, info = _lu_parts(A, pivot, "linalg.lu_factor_ex")
    _check_info(A.xp, "linalg.lu_factor_ex", info, check_errors, "is singular: U has a zero diagonal entry at")
    m, n = A.shape[-2:]
    LU = _zero_pad(L.tril(-1), m, n) + _zero_pad(U, m, n)
    return LUFactorExResult(LU, _constant(A, pivots), _constant(A, info))


def _zero_pad(x: Tensor, rows: int, cols: int) -> Tensor:
    """``x (*, r, c)`` with zeros appended below and to the right up to ``(*, rows, cols)``."""
    xp, dev, dt = x.xp, x._device.native, x._data.dtype
    if cols > x.shape[-1]:
        x = cat([x, _constant(x, xp.zeros(x.shape[:-1] + (cols - x.shape[-1],), dtype=dt, device=dev))], dim=-1)
    if rows > x.shape[-2]:
        x = cat([x, _constant(x, xp.zeros(x.shape[:-2] + (rows - x.shape[-2], cols), dtype=dt, device=dev))], dim=-2)
    return x


@on_input_device
def lu_factor(A: Tensor, *, pivot: bool = True) -> LUFactorResult:
    """``torch.linalg.lu_factor``: ``(LU, pivots)``; a singular matrix is factored anyway (as LAPACK),
    its ``U`` has a zero on the diagonal."""
    LU, pivots, _ = lu_factor_ex(A, pivot=pivot)
    return LUFactorResult(LU, pivots)


def _check_info(xp, name: str, info, check_errors: bool, what: str) -> None:
    """Raise LinAlgError, naming the first failing matrix's info, when ``check_errors`` and any info is non-zero."""
    if check_errors and info.size and int(xp.max(info)) > 0:
        bad = int(xp.max(info))
        raise LinAlgError(f"{name}: the input {what} position {bad} (info = {bad})")


def _perm_from_pivots(LU: Tensor, pivots: Tensor):
    """The row permutation ``(..., m, 1)`` (``A[perm] = L U``) that LAPACK's 1-based sequential swaps describe."""
    xp = LU.xp
    m = LU.shape[-2]
    piv = xp.astype(pivots._data, xp.int64) - 1
    perm = xp.arange(m, device=LU._device.native)[:, None]
    perm = xp.asarray(xp.broadcast_to(perm, piv.shape[:-1] + (m, 1)), copy=True)
    for j in range(piv.shape[-1]):
        perm = _swap_rows(xp, perm, j, piv[..., j])
    return perm


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True):
    """``torch.lu_unpack``: ``(P, L, U)`` from ``lu_factor``'s packed form (differentiable in ``LU_data``);
    a part not asked for comes back empty, as PyTorch."""
    _check_float("lu_unpack", LU_data, "fc")
    _check_tensor("lu_unpack", LU_pivots)
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    if LU_pivots.dtype.kind not in "iu" or LU_pivots.shape[-1:] != (k,):
        raise RuntimeError(f"lu_unpack: LU_pivots must be an integer tensor of shape (*, {k}), got "
                           f"{LU_pivots.dtype.name} of shape {LU_pivots.shape}")
    L = U = P = _empty(LU_data)
    if unpack_data:
        L = LU_data.narrow(-1, 0, k).tril(-1) + _eye(LU_data, max(m, k)).narrow(-1, 0, k).narrow(-2, 0, m)
        U = LU_data.narrow(-2, 0, k).triu()
    if unpack_pivots:
        P = _constant(LU_data, _permutation_matrix(LU_data.xp, _perm_from_pivots(LU_data, LU_pivots),
                                                   LU_data._data.dtype))
    return LUUnpackResult(P, L, U)


def linalg_lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False) -> Tensor:
    """``torch.linalg.lu_solve``: ``X`` with ``A X = B`` (``X A = B`` with ``left=False``, ``A^H`` for
    ``adjoint=True``) from ``lu_factor``'s output; differentiable in ``LU`` and ``B``."""
    LU, B = _as_tensors("linalg.lu_solve", LU, B)
    _check_matrix("linalg.lu_solve", LU)
    if B.ndim < 2:
        raise RuntimeError(f"linalg.lu_solve: B must be a batch of matrices (*, n, k), got shape {B.shape}")
    P, L, U = lu_unpack(LU, pivots)
    if not left:  # X A = B  <=>  A^H X^H = B^H
        return linalg_lu_solve(LU, pivots, B.mH, adjoint=not adjoint).mH
    if adjoint:  # U^H L^H P^T X = B
        Y = solve_triangular(U.mH, B, upper=False)
        return matmul(P, solve_triangular(L.mH, Y, upper=True, unitriangular=True))
    Y = solve_triangular(L, matmul(P.mT, B), upper=False, unitriangular=True)
    return solve_triangular(U, Y, upper=True)


@on_input_device
def lu(A: Tensor, pivot: bool = True, get_infos: bool = False):
    """``torch.lu`` (legacy): ``(LU, pivots)`` or, with ``get_infos``, ``(LU, pivots, infos)``."""
    LU, pivots, info = lu_factor_ex(A, pivot=pivot)
    return LULegacyInfoResult(LU, pivots, info) if get_infos else LULegacyResult(LU, pivots)


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """``torch.lu_solve`` (legacy argument order): ``X`` with ``A X = b`` from ``torch.lu``'s output."""
    return linalg_lu_solve(LU_data, LU_pivots, b)


# ---- triangular and Cholesky solves ---------------------------------------------------------------
def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False) -> Tensor:
    """``torch.linalg.solve_triangular``: reads only the ``upper``/lower triangle of ``A`` (and takes its
    diagonal as ones when ``unitriangular``). Solved by ``solve`` on the masked matrix, so the gradient
    lives on that triangle, as PyTorch's; a zero on the diagonal raises LinAlgError (PyTorch returns inf)."""
    A, B = _as_tensors("linalg.solve_triangular", A, B)
    _check_matrix("linalg.solve_triangular", A)
    if B.ndim < 2:
        raise RuntimeError(f"linalg.solve_triangular: B must be a batch of matrices (*, n, k), got shape {B.shape}")
    T = A.triu(1 if unitriangular else 0) if upper else A.tril(-1 if unitriangular else 0)
    if unitriangular:
        T = T + _eye(A, A.shape[-1])
    return solve(T, B, left=left)


def triangular_solve(input: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False) -> TriangularSolveResult:
    """``torch.triangular_solve`` (legacy): ``(X, A.clone())`` with ``op(A) X = input``, ``op`` the transpose when
    ``transpose``."""
    A_used = A.mT if transpose else A
    X = solve_triangular(A_used, input, upper=upper != transpose, unitriangular=unitriangular)
    return TriangularSolveResult(X, A.clone())


def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False) -> Tensor:
    """``torch.cholesky_solve``: ``X`` with ``A X = input`` for ``A = L L^H`` (``U^H U`` when ``upper``) given
    the factor; differentiable in both."""
    input2, input = _as_tensors("cholesky_solve", input2, input)
    _check_matrix("cholesky_solve", input2)
    low = input2.mH if upper else input2
    return solve_triangular(low.mH, solve_triangular(low, input, upper=False), upper=True)


@on_input_device
def cholesky_inverse(input: Tensor, upper: bool = False) -> Tensor:
    """``torch.cholesky_inverse``: ``(L L^H)^{-1}`` (``(U^H U)^{-1}`` when ``upper``) from the factor."""
    _check_matrix("cholesky_inverse", input)
    return cholesky_solve(_eye(input, input.shape[-1]).expand(input.shape), input, upper)


def cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """``torch.cholesky`` (deprecated in PyTorch for ``torch.linalg.cholesky``, same factor; its own node)."""
    return rename_node(_la.cholesky(input, upper=upper), "Cholesky")


def _leading_failure(xp, a) -> int:
    """The order (1-based) of the first leading minor of the matrix ``a`` that is not positive-definite."""
    for k in range(1, a.shape[-1] + 1):
        try:
            out = xp.linalg.cholesky(a[:k, :k])
        except ValueError:
            return k
        if not bool(xp.all(xp.isfinite(out))):  # CuPy returns NaN instead of raising
            return k
    return 0


@on_input_device
def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> CholeskyExResult:
    """``torch.linalg.cholesky_ex``: ``(L, info)``, ``info`` the order of the first leading minor that is not
    positive-definite (0 on success), per matrix. Where it fails, ``L`` is NaN (PyTorch leaves partial
    results there), the others are exact and differentiable. Reads the result once on the host."""
    _check_matrix("linalg.cholesky_ex", A)
    xp = A.xp
    try:
        L = cholesky(A, upper)
        failed = not bool(xp.all(xp.isfinite(L._data)))  # CuPy returns NaN instead of raising
    except LinAlgError:
        failed = True
    flat = xp.reshape(A._data, (math.prod(A.shape[:-2]),) + A.shape[-2:])  # (-1 fails for empty matrices)
    codes = [_leading_failure(xp, flat[i, ...]) for i in range(flat.shape[0])] if failed else [0] * flat.shape[0]
    info = xp.reshape(xp.asarray(codes, dtype=xp.int32, device=A._device.native), A.shape[:-2])
    _check_info(xp, "linalg.cholesky_ex", info, check_errors, "is not positive-definite: the leading minor of order")
    if not failed:
        return CholeskyExResult(L, _constant(A, info))
    bad = _constant(A, xp.reshape(info != 0, A.shape[:-2] + (1, 1)))
    L = cholesky(where(bad, _eye(A, A.shape[-1]), A), upper)
    return CholeskyExResult(_mask_nan(L, bad), _constant(A, info))


def _nonsingular(A: Tensor, what: str, check_errors: bool):
    """The LU info per matrix of ``A`` (checked when ``check_errors``) and a ``(*, 1, 1)`` mask of the singular
    matrices (to swap for the identity, then mask the result with NaN), or None when none is singular."""
    info = _getrf(A.xp, A._data, True, A._device.native)[3]
    _check_info(A.xp, what, info, check_errors, "is singular: U has a zero diagonal entry at")
    bad = A.xp.reshape(info != 0, A.shape[:-2] + (1, 1))
    if not bool(A.xp.any(bad)):
        return info, None
    return info, _constant(A, bad)


def _mask_nan(x: Tensor, bad: Tensor) -> Tensor:
    return where(bad, _constant(x, x.xp.full((), math.nan, dtype=x._data.dtype, device=x._device.native)), x)


@on_input_device
def inv_ex(A: Tensor, *, check_errors: bool = False) -> InvExResult:
    """``torch.linalg.inv_ex``: ``(inverse, info)`` with LAPACK's info (first zero pivot of the LU); a
    singular matrix's inverse is NaN (PyTorch leaves LAPACK's partial result), the others are exact."""
    _check_matrix("linalg.inv_ex", A)
    info, bad = _nonsingular(A, "linalg.inv_ex", check_errors)
    if bad is None:
        return InvExResult(inv(A), _constant(A, info))
    return InvExResult(_mask_nan(inv(where(bad, _eye(A, A.shape[-1]), A)), bad), _constant(A, info))


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False) -> SolveExResult:
    """``torch.linalg.solve_ex``: ``(result, info)``; results of singular matrices are NaN, as ``inv_ex``."""
    A, B = _as_tensors("linalg.solve_ex", A, B)
    _check_matrix("linalg.solve_ex", A)
    info, bad = _nonsingular(A, "linalg.solve_ex", check_errors)
    if bad is None:
        return SolveExResult(solve(A, B, left=left), _constant(A, info))
    X = solve(where(bad, _eye(A, A.shape[-1]), A), B, left=left)
    vector = X.ndim < A.ndim
    mask = bad.reshape(bad.shape[:-1]) if vector else bad
    return SolveExResult(_mask_nan(X, mask), _constant(A, info))


# ---- LDL (Bunch-Kaufman) -------------------------------------------------------------------------------
_BK_ALPHA = (1 + math.sqrt(17)) / 8


def _sytf2(xp, a):
    """Bunch-Kaufman ``L D L^T`` of the symmetric 2-D array ``a`` (lower triangle read) step by step as LAPACK's
    ``sytf2``: the factors packed in the lower triangle, LAPACK's 1-based pivots (negative pairs for 2x2
    blocks) and info. Pivot choices read scalars on the host."""
    n = a.shape[-1]
    a = xp.tril(a)
    ipiv, info, k = [0] * n, 0, 0

    def val(i, j):
        return float(a[i, j])

    def swap_rows_cols(kk, kp):
        if kp + 1 < n:
            tail_kk, tail_kp = xp.asarray(a[kp + 1:, kk], copy=True), xp.asarray(a[kp + 1:, kp], copy=True)
            a[kp + 1:, kk], a[kp + 1:, kp] = tail_kp, tail_kk
        mid_col, mid_row = xp.asarray(a[kk + 1:kp, kk], copy=True), xp.asarray(a[kp, kk + 1:kp], copy=True)
        a[kk + 1:kp, kk], a[kp, kk + 1:kp] = mid_row, mid_col
        d_kk, d_kp = val(kk, kk), val(kp, kp)
        a[kk, kk], a[kp, kp] = d_kp, d_kk

    while k < n:
        kstep, absakk = 1, abs(val(k, k))
        imax, colmax = k, 0.0
        if k + 1 < n:
            imax = k + 1 + int(xp.argmax(xp.abs(a[k + 1:, k])))
            colmax = abs(val(imax, k))
        if max(absakk, colmax) == 0 or math.isnan(absakk):
            info = info or k + 1
            kp = k
        else:
            if absakk >= _BK_ALPHA * colmax:
                kp = k
            else:
                rowmax = float(xp.max(xp.abs(a[imax, k:imax])))
                if imax + 1 < n:
                    rowmax = max(rowmax, float(xp.max(xp.abs(a[imax + 1:, imax]))))
                if absakk >= _BK_ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif abs(val(imax, imax)) >= _BK_ALPHA * rowmax:
                    kp = imax
                else:
                    kp, kstep = imax, 2
            kk = k + kstep - 1
            if kp != kk:
                swap_rows_cols(kk, kp)
                if kstep == 2:
                    t = val(k + 1, k)
                    a[k + 1, k] = val(kp, k)
                    a[kp, k] = t
            if kstep == 1:
                if k + 1 < n:
                    x = a[k + 1:, k] / val(k, k)
                    a[k + 1:, k + 1:] = xp.tril(a[k + 1:, k + 1:] - x[:, None] * a[k + 1:, k][None, :])
                    a[k + 1:, k] = x
            elif k + 2 < n:
                d21 = val(k + 1, k)
                d11, d22 = val(k + 1, k + 1) / d21, val(k, k) / d21
                d21 = (1 / (d11 * d22 - 1)) / d21
                c0, c1 = a[k + 2:, k], a[k + 2:, k + 1]
                wk = d21 * (d11 * c0 - c1)
                wkp1 = d21 * (d22 * c1 - c0)
                a[k + 2:, k + 2:] = xp.tril(a[k + 2:, k + 2:] - c0[:, None] * wk[None, :] - c1[:, None] * wkp1[None, :])
                a[k + 2:, k], a[k + 2:, k + 1] = wk, wkp1
        if kstep == 1:
            ipiv[k] = kp + 1
        else:
            ipiv[k] = ipiv[k + 1] = -(kp + 1)
        k += kstep
    return a, ipiv, info


def _check_real_ldl(name: str, A: Tensor) -> None:
    """The LDL routines are written for real matrices only: a complex one gets a clear TypeError."""
    if isinstance(A, Tensor) and A.dtype.kind == "c":
        raise TypeError(f"{name}: complex matrices ({A.dtype.name}) are not supported by lucid's LDL "
                        f"factorization yet; use linalg.solve, or linalg.cholesky for a positive-definite one")
    _check_matrix(name, A, kinds="f")


@on_input_device
def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False):
    """``torch.linalg.ldl_factor_ex``: Bunch-Kaufman ``A = P L D L^T P^T`` of a symmetric matrix (lower triangle
    read): ``(LD, pivots, info)`` in LAPACK's ``sytrf`` form (``L`` below the diagonal, ``D``'s 1x1 and 2x2
    blocks on and next to it, int32 pivots negative for 2x2 blocks). Not differentiable, as in PyTorch;
    ``hermitian`` is the same for real matrices. Complex matrices are not supported yet (PyTorch's are)."""
    _check_real_ldl("linalg.ldl_factor_ex", A)
    xp, dev = A.xp, A._device.native
    flat = xp.reshape(A._data, (math.prod(A.shape[:-2]),) + A.shape[-2:])  # (-1 fails for empty matrices)
    n, batch = A.shape[-1], A.shape[:-2]
    results = [_sytf2(xp, flat[i, ...]) for i in range(flat.shape[0])]
    if not results:  # an empty batch
        results = [(xp.zeros((n, n), dtype=A._data.dtype, device=dev), [0] * n, 0)]
    count = flat.shape[0]
    LD = xp.reshape(xp.stack([r[0] for r in results])[:count, ...], A.shape)
    pivots = xp.reshape(xp.asarray([r[1] for r in results], dtype=xp.int32, device=dev)[:count, ...], batch + (n,))
    info = xp.reshape(xp.asarray([r[2] for r in results], dtype=xp.int32, device=dev)[:count, ...], batch)
    _check_info(xp, "linalg.ldl_factor_ex", info, check_errors, "is singular: D has a zero diagonal entry at")
    return LDLFactorExResult(_constant(A, LD), _constant(A, pivots), _constant(A, info))


@on_input_device
def ldl_factor(A: Tensor, *, hermitian: bool = False):
    """``torch.linalg.ldl_factor``: ``(LD, pivots)`` of ``ldl_factor_ex`` (a singular ``D`` is returned, not raised)."""
    LD, pivots, _ = ldl_factor_ex(A, hermitian=hermitian)
    return LDLFactorResult(LD, pivots)


def _sytrs(xp, a, ipiv, b):
    """``X`` with ``A X = B`` from ``_sytf2``'s factors, as LAPACK's ``sytrs`` (lower)."""
    n = a.shape[-1]
    b = xp.asarray(b, copy=True)

    def swap(i, j):
        if i != j:
            bi, bj = xp.asarray(b[i, :], copy=True), xp.asarray(b[j, :], copy=True)
            b[i, :], b[j, :] = bj, bi

    k = 0
    while k < n:  # L D Y = B
        if ipiv[k] > 0:
            swap(k, ipiv[k] - 1)
            b[k + 1:, :] = b[k + 1:, :] - a[k + 1:, k][:, None] * b[k, :][None, :]
            b[k, :] = b[k, :] / a[k, k]
            k += 1
        else:
            swap(k + 1, -ipiv[k] - 1)
            b[k + 2:, :] = (b[k + 2:, :] - a[k + 2:, k][:, None] * b[k, :][None, :]
                            - a[k + 2:, k + 1][:, None] * b[k + 1, :][None, :])
            akm1k = a[k + 1, k]
            akm1, ak = a[k, k] / akm1k, a[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1
            bkm1, bk = b[k, :] / akm1k, b[k + 1, :] / akm1k
            b[k, :], b[k + 1, :] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:  # L^T X = Y
        if ipiv[k] > 0:
            b[k, :] = b[k, :] - xp.sum(a[k + 1:, k][:, None] * b[k + 1:, :], axis=0)
            swap(k, ipiv[k] - 1)
            k -= 1
        else:
            b[k, :] = b[k, :] - xp.sum(a[k + 1:, k][:, None] * b[k + 1:, :], axis=0)
            b[k - 1, :] = b[k - 1, :] - xp.sum(a[k + 1:, k - 1][:, None] * b[k + 1:, :], axis=0)
            swap(k, -ipiv[k] - 1)
            k -= 2
    return b


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False) -> Tensor:
    """``torch.linalg.ldl_solve``: ``X`` with ``A X = B`` from ``ldl_factor``'s output (batch dimensions
    broadcast); not differentiable, as in PyTorch."""
    LD, B = _as_tensors("linalg.ldl_solve", LD, B)
    _check_real_ldl("linalg.ldl_solve", LD)
    n = LD.shape[-1]
    if B.ndim < 2 or B.shape[-2] != n or pivots.shape != LD.shape[:-1] or pivots.dtype.kind not in "iu":
        raise RuntimeError(f"linalg.ldl_solve: LD {LD.shape}, pivots {pivots.shape} ({pivots.dtype.name}) and B "
                           f"{B.shape} do not fit: needs B (*, {n}, k) and integer pivots (*, {n})")
    xp = LD.xp
    batch = _broadcast_batch(LD.shape[:-2], B.shape[:-2], "linalg.ldl_solve")
    count = math.prod(batch)
    a = xp.reshape(xp.broadcast_to(LD._data, batch + LD.shape[-2:]), (count, n, n))
    p = xp.reshape(xp.broadcast_to(pivots._data, batch + (n,)), (count, n))
    b = xp.reshape(xp.broadcast_to(B._data, batch + B.shape[-2:]), (count,) + B.shape[-2:])
    with float_errors_quiet():  # a singular D gives inf/nan, silently as PyTorch
        out = [_sytrs(xp, a[i, ...], [int(v) for v in p[i, ...]], b[i, ...]) for i in range(a.shape[0])]
    X = xp.stack(out) if out else xp.zeros(b.shape, dtype=b.dtype, device=LD._device.native)
    return _constant(LD, xp.reshape(X, batch + B.shape[-2:]))


# ---- symmetric eigendecomposition --------------------------------------------------------------
def _symmetrized(xp, a, UPLO: str):
    """The symmetric (Hermitian) matrix that the ``UPLO`` triangle of ``a`` describes (the array API's ``eigh``
    has no ``UPLO``); as LAPACK, the imaginary part of a complex diagonal is ignored."""
    t = xp.tril(a) if UPLO == "L" else xp.triu(a)
    if xp.isdtype(a.dtype, "complex floating"):  # t + t^H holds the diagonal's real part twice
        return (t + _xp_mH(xp, t)) * (1 - 0.5 * xp.eye(a.shape[-1], dtype=a.dtype, device=a.device))
    return t + xp.matrix_transpose(xp.tril(a, k=-1) if UPLO == "L" else xp.triu(a, k=1))


class _Eigh(Function):
    """Eigen-decomposition of the symmetric (Hermitian) matrix one triangle of the input describes. The
    backward is PyTorch's: a Hermitian gradient over the whole input (it assumes Hermitian perturbations), not
    one confined to the triangle that was read; for complex eigenvectors the loss must not depend on their
    phases (checked, as PyTorch)."""
    torch_name = "LinalgEigh"
    autocast_policy = {"cpu": FLOAT32}  # see lucid.amp.autocast (CPU only, as PyTorch)

    def forward(self, a, UPLO):
        xp = self.xp
        w, v = _lapack("linalg.eigh", xp.linalg.eigh, _symmetrized(xp, a, UPLO))
        self.save_for_backward(w, v)
        return w, v

    def backward(self, gL, gV):
        L, V = self.saved_tensors
        E = L.reshape(L.shape[:-1] + (1, -1)) - L.reshape(L.shape + (1,))  # E[i, j] = L_j - L_i
        n = L.shape[-1]
        off = 1 - _eye(L, n)
        VhgV = matmul(V.mH, gV)
        if V.dtype.kind == "c":
            _check_phase_free(VhgV.diagonal(0, -2, -1).imag, None, "linalg.eigh", "eigenvectors")
        skew = 0.5 * _skew(VhgV)  # the tangent space of the unitary group: a Hermitian gradient
        inner = skew * off / (E + _eye(L, n)) + _diag_embed(gL)
        return matmul(V, matmul(inner, V.mH))


def _check_uplo(A: Tensor, UPLO: str, name: str) -> str:
    """``UPLO`` upper-cased (``'l'`` and ``'u'`` are accepted, as PyTorch), or a RuntimeError."""
    upper = UPLO.upper() if isinstance(UPLO, str) else UPLO
    if upper not in ("L", "U"):
        raise RuntimeError(f"{name}: UPLO must be 'L' or 'U', got {UPLO!r}")
    _check_matrix(name, A)
    return upper


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:
    """``torch.linalg.eigh``: ascending (real) eigenvalues and orthonormal eigenvectors of a symmetric or
    Hermitian matrix, read from its lower (``UPLO='L'``) or upper triangle. The gradient is PyTorch's: it needs
    distinct eigenvalues and a loss that does not depend on the eigenvectors' signs (phases)."""
    UPLO = _check_uplo(A, UPLO, "linalg.eigh")
    return EighResult(*_Eigh.apply(A, UPLO=UPLO))


@on_input_device
@autocast_op({"cpu": FLOAT32})
def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """``torch.linalg.eigvalsh``: the ascending real eigenvalues of a symmetric or Hermitian matrix (from one
    triangle)."""
    UPLO = _check_uplo(A, UPLO, "linalg.eigvalsh")
    if A.requires_grad and grad_mode.state.enabled or _function.dual_mode is not None:  # (forward AD too)
        return _Eigh.apply(A, UPLO=UPLO)[0]
    xp = A.xp
    return _constant(A, _lapack("linalg.eigvalsh", xp.linalg.eigvalsh, _symmetrized(xp, A._data, UPLO)))


class _Eig(Function):
    """Eigen-decomposition of a general square matrix through the backend's ``eig`` (complex results). The
    backward is PyTorch's (``linalg_eig_backward``): it needs distinct eigenvalues and a loss that does not
    depend on each eigenvector's phase (checked, as PyTorch); a real input gets the real part of the complex
    gradient."""
    autocast_policy = {"cpu": FLOAT32}  # see lucid.amp.autocast (CPU only, as PyTorch)

    def forward(self, a):
        xp = self.xp
        w, v = _lapack("linalg.eig", self.backend.eig, a)
        if not xp.isdtype(w.dtype, "complex floating"):  # NumPy drops a zero imaginary part; PyTorch does not
            kind = xp.complex128 if w.dtype == xp.float64 else xp.complex64
            w, v = xp.astype(w, kind), xp.astype(v, kind)
        self.complex_input = xp.isdtype(a.dtype, "complex floating")
        self.save_for_backward(w, v)
        return w, v

    def backward(self, gL, gV):
        L, V = self.saved_tensors
        n = L.shape[-1]
        Vh = V.mH
        if gV is None:
            inner = _diag_embed(gL)
        else:
            VhgV = matmul(Vh, gV)
            _check_phase_free(VhgV.diagonal(0, -2, -1).imag, None, "linalg.eig", "eigenvectors")
            VhgV = VhgV - matmul(Vh, V * VhgV.diagonal(0, -2, -1).real.unsqueeze(-2))  # the phase-free part
            Lc = L.conj()
            inner = VhgV / (Lc.unsqueeze(-2) - Lc.unsqueeze(-1) + _eye(L, n))
            if gL is not None:
                inner = inner + _diag_embed(gL - inner.diagonal(0, -2, -1))
        gA = solve(Vh, matmul(inner, Vh))
        return gA if self.complex_input else gA.real


def _eig(A: Tensor, name: str):
    _check_matrix(name, A, kinds="fc")
    return _Eig.apply(A)


def linalg_eig(A: Tensor) -> EigResult:
    """``torch.linalg.eig``: eigenvalues and eigenvectors of a square matrix, complex (``complex64`` for
    float32 input, ``complex128`` for float64), eigenvectors of norm 1, in the backend's (LAPACK's) order."""
    return EigResult(*_eig(A, "linalg.eig"))


def eigvals(A: Tensor) -> Tensor:
    """``torch.linalg.eigvals``: the complex eigenvalues of a square matrix (LAPACK's order)."""
    return _eig(A, "linalg.eigvals")[0]


def _removed(name: str, use: str):
    """A top-level function PyTorch removed (1.9) but still defines to raise, pointing to its replacement."""
    def removed(*args, **kwargs):
        raise RuntimeError(f"torch.{name} was removed from PyTorch; use {use}")

    removed.__name__ = removed.__qualname__ = name
    removed.__doc__ = f"``torch.{name}``: removed from PyTorch, it raises as PyTorch's does; use {use}."
    return removed


eig = _removed("eig", "lucid.linalg.eig (complex results) or lucid.linalg.eigh for symmetric matrices")
lstsq = _removed("lstsq", "lucid.linalg.lstsq(A, B) (note the reversed arguments)")
matrix_rank = _removed("matrix_rank", "lucid.linalg.matrix_rank")
symeig = _removed("symeig", "lucid.linalg.eigh (or lucid.linalg.eigvalsh for the eigenvalues only)")


# ---- pseudo-inverse, rank, lstsq, cond --------------------------------------------------------------
def _largest(xp, values):
    """The largest of the non-negative ``values`` (singular values, absolute eigenvalues) along the last axis; 0
    for an empty matrix's none (the standard's ``max`` of nothing is undefined)."""
    if values.shape[-1]:
        return xp.max(values, axis=-1)
    return xp.zeros(values.shape[:-1], dtype=values.dtype, device=values.device)


def _tolerance(S_max, atol, rtol, eps_dims: float, xp):
    """``max(atol, rtol * S_max)`` with PyTorch's defaults: ``rtol = eps * max(m, n)`` unless only a positive
    ``atol`` is given (then ``rtol = 0``). ``atol``/``rtol`` may be numbers or arrays of the batch shape."""
    if rtol is None:
        rtol = eps_dims if atol is None or (not hasattr(atol, "shape") and atol <= 0) else 0.0
    atol = 0.0 if atol is None else atol
    if not hasattr(atol, "shape"):
        atol = xp.asarray(atol, dtype=S_max.dtype, device=S_max.device)
    return xp.maximum(atol, rtol * S_max)


def _tol_arg(x, name):
    if isinstance(x, Tensor):
        return x._data
    if x is not None and not isinstance(x, (int, float)):
        raise TypeError(f"{name} must be a number, a Tensor or None, got {type(x).__name__}")
    return x


class _Pinv(Function):
    autocast_policy = {"cpu": FLOAT32}  # see lucid.amp.autocast (CPU only, as PyTorch)
    torch_name = "LinalgPinv"

    def forward(self, a, atol, rtol, hermitian):
        xp = self.xp
        m, n = a.shape[-2:]
        eps_dims = float(xp.finfo(a.dtype).eps) * max(m, n)
        if hermitian:
            w, v = _lapack("linalg.pinv", xp.linalg.eigh, a)
            tol = _tolerance(_largest(xp, xp.abs(w)), atol, rtol, eps_dims, xp)
            keep = xp.abs(w) > tol[..., None]
            winv = xp.where(keep, 1 / xp.where(keep, w, xp.ones_like(w)), xp.zeros_like(w))
            out = xp.matmul(v * winv[..., None, :], _xp_mH(xp, v))
        else:
            u, s, vh = _lapack("linalg.pinv", xp.linalg.svd, a, full_matrices=False)
            tol = _tolerance(_largest(xp, s), atol, rtol, eps_dims, xp)
            keep = s > tol[..., None]
            sinv = xp.where(keep, 1 / xp.where(keep, s, xp.ones_like(s)), xp.zeros_like(s))
            out = xp.matmul(_xp_mH(xp, vh) * sinv[..., None, :], _xp_mH(xp, u))
        self.save_for_backward(a, out)
        return out

    def backward(self, g):  # PyTorch's pinv_backward (exact where the rank is locally constant)
        A, X = self.saved_tensors
        m, n = A.shape[-2:]
        Xh, gh = X.mH, g.mH
        if m <= n:
            K = matmul(gh, X)
            KXh = matmul(K, Xh)
            return (-matmul(X, K).mH + KXh - matmul(matmul(A, X), KXh)
                    + matmul(matmul(Xh, X), gh - matmul(K, A)))
        K = matmul(X, gh)
        XhK = matmul(Xh, K)
        return (-matmul(K, X).mH + matmul(matmul(gh - matmul(A, K), X), Xh) + XhK
                - matmul(matmul(XhK, X), A))


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """``torch.linalg.pinv``: the Moore-Penrose pseudo-inverse, singular values at or below
    ``max(atol, rtol * largest)`` treated as zero (PyTorch's defaults); ``hermitian`` uses ``eigh``. The
    gradient is PyTorch's, exact where the rank does not change nearby."""
    _check_matrix("linalg.pinv", A, square=hermitian)
    return _Pinv.apply(A, atol=_tol_arg(atol, "atol"), rtol=_tol_arg(rtol, "rtol"), hermitian=hermitian)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse``: ``pinv`` with relative tolerance ``rcond``."""
    return pinv(input, rtol=rcond)


@on_input_device
def linalg_matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False, tol=None) -> Tensor:
    """``torch.linalg.matrix_rank``: the number of singular values (eigenvalue magnitudes when
    ``hermitian``) above ``max(atol, rtol * largest)``, as int64; ``tol`` is the old name of ``atol``."""
    _check_matrix("linalg.matrix_rank", A, square=hermitian)
    if tol is not None:
        atol = tol
    xp = A.xp
    m, n = A.shape[-2:]
    if hermitian:
        s = xp.abs(_lapack("linalg.matrix_rank", xp.linalg.eigvalsh, A._data))
    else:
        s = _lapack("linalg.matrix_rank", xp.linalg.svdvals, A._data)
    tol_ = _tolerance(_largest(xp, s), _tol_arg(atol, "atol"), _tol_arg(rtol, "rtol"), _eps(A) * max(m, n), xp)
    return _int_tensor(A, xp.sum(xp.astype(s > tol_[..., None], xp.int64), axis=-1), _dt.int64)


_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


@on_input_device
@autocast_op({"cpu": FLOAT32})
def linalg_lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None) -> LstsqResult:
    """``torch.linalg.lstsq``: the minimum-norm least-squares solution of ``A X = B`` (through the
    pseudo-inverse with relative tolerance ``rcond``, default ``eps * max(m, n)``; for full-rank ``A``
    every LAPACK driver gives this solution). As PyTorch's CPU default the driver is ``'gelsy'``; the
    extra outputs follow the driver: ``residuals`` (squared, per column) when ``m > n``, ``A`` has full
    rank and the driver is not ``'gelsy'``; ``rank`` unless ``'gels'``; ``singular_values`` for
    ``'gelsd'``/``'gelss'``. Missing ones are empty, as PyTorch's; residuals and singular values are real."""
    A, B = _as_tensors("linalg.lstsq", A, B)
    _check_matrix("linalg.lstsq", A, square=False)
    driver = "gelsy" if driver is None else driver
    if driver not in _LSTSQ_DRIVERS:
        raise RuntimeError(f"linalg.lstsq: driver must be one of {_LSTSQ_DRIVERS}, got {driver!r}")
    vector = B.ndim == A.ndim - 1
    Bm = B.reshape(B.shape + (1,)) if vector else B
    if Bm.ndim < 2 or Bm.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"linalg.lstsq: A of shape {A.shape} and B of shape {B.shape} need the same number of "
                           f"rows ({A.shape[-2]})")
    m, n = A.shape[-2:]
    rtol = _eps(A) * max(m, n) if rcond is None or rcond < 0 else rcond
    X = matmul(pinv(A, rtol=rtol, atol=0.0), Bm)
    xp = A.xp
    S = _lapack("linalg.lstsq", xp.linalg.svdvals, A._data)
    ranks = xp.sum(xp.astype(S > rtol * _largest(xp, S)[..., None], xp.int64), axis=-1)
    residuals = _empty(A)
    if driver != "gelsy" and m > n and bool(xp.all(ranks == n)):
        r = matmul(A, X) - Bm
        residuals = (r * r.conj()).real.sum(dim=-2)  # |r|^2, real for a complex A
        residuals = residuals.reshape(residuals.shape[:-1]) if vector else residuals
    rank = _empty(A, _dt.int64) if driver == "gels" else _int_tensor(A, ranks, _dt.int64)
    sv = _constant(A, S) if driver in ("gelsd", "gelss") else _empty(A)
    return LstsqResult(X.reshape(X.shape[:-1]) if vector else X, residuals, rank, sv)


def cond(A: Tensor, p=None) -> Tensor:
    """``torch.linalg.cond``: ``norm(A, p) * norm(inv(A), p)`` (``inf`` for a singular matrix, as PyTorch);
    for ``p`` None/2/-2 the ratio of extreme singular values (any shape of matrix); 0 for an empty matrix
    (as PyTorch); differentiable; real for a complex ``A``."""
    _check_matrix("linalg.cond", A, square=p not in (None, 2, -2))
    if 0 in A.shape[-2:]:
        real = A._device.backend.native_dtype(A.dtype.to_real())
        return _constant(A, A.xp.zeros(A.shape[:-2], dtype=real, device=A._device.native))
    if p in (None, 2, -2):
        S = svdvals(A)
        big, small = S.narrow(-1, 0, 1), S.narrow(-1, S.shape[-1] - 1, 1)
        out = big / small if p != -2 else small / big
        return out.reshape(out.shape[:-1])
    if p not in ("fro", "nuc", 1, -1, math.inf, -math.inf):
        raise ValueError(f"linalg.cond: p must be None, 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, got {p!r}")
    _, bad = _nonsingular(A, "linalg.cond", False)
    if bad is None:
        return matrix_norm(A, p) * matrix_norm(inv(A), p)
    out = matrix_norm(A, p) * matrix_norm(inv(where(bad, _eye(A, A.shape[-1]), A)), p)  # singular: inf
    return where(bad.reshape(out.shape), _constant(A, A.xp.full((), math.inf, dtype=out._data.dtype,
                                                                  device=A._device.native)), out)


# ---- matrix functions ----------------------------------------------------------------------------
_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
           10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0,
           1.0)
_THETA13 = 5.371920351148152


class _MatrixExp(Function):
    """Scaling and squaring with the degree-13 Pade approximant (Higham 2005); one scaling for the whole
    batch (the largest 1-norm decides it: one host read)."""
    torch_name = "LinalgMatrixExp"

    def forward(self, a):
        xp, b = self.xp, _PADE13
        n = a.shape[-1]
        self.save_for_backward(a)
        if a.size == 0:
            return xp.asarray(a, copy=True)
        norm = float(xp.max(xp.sum(xp.abs(a), axis=-2)))
        s = max(0, math.ceil(math.log2(norm / _THETA13))) if math.isfinite(norm) and norm > _THETA13 else 0
        a = a / (2.0 ** s)
        eye = xp.eye(n, dtype=a.dtype, device=self.device.native)
        a2 = xp.matmul(a, a)
        a4 = xp.matmul(a2, a2)
        a6 = xp.matmul(a4, a2)
        u = xp.matmul(a, xp.matmul(a6, b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2
                      + b[1] * eye)
        v = xp.matmul(a6, b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
        r = xp.linalg.solve(v - u, v + u)
        for _ in range(s):
            r = xp.matmul(r, r)
        return r

    def backward(self, g):
        (A,) = self.saved_tensors
        n = A.shape[-1]
        At = A.mH
        zeros = _constant(A, A.xp.zeros(At.shape, dtype=A._data.dtype, device=A._device.native))
        big = cat([cat([At, g], dim=-1), cat([zeros, At], dim=-1)], dim=-2)
        return matrix_exp(big).narrow(-2, 0, n).narrow(-1, n, n)


def matrix_exp(A: Tensor) -> Tensor:
    """``torch.linalg.matrix_exp``: the matrix exponential; its gradient is the upper-right block of
    ``exp([[A^H, G], [0, A^H]])``, so it has gradients of every order."""
    _check_matrix("linalg.matrix_exp", A)
    return _MatrixExp.apply(A)


def matrix_power(A: Tensor, n: int) -> Tensor:
    """``torch.linalg.matrix_power``: ``A`` multiplied by itself ``n`` times by repeated squaring; ``n = 0``
    gives the identity, a negative ``n`` powers the inverse."""
    _check_tensor("linalg.matrix_power", A)
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"linalg.matrix_power: n must be an int, got {type(n).__name__}")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power needs a batch of square matrices, got shape {A.shape}")
    if n == 0:  # the identity, still attached to A's graph (zero gradient), as PyTorch's result
        eye = _eye(A, A.shape[-1]).expand(A.shape)
        return where(_constant(A, A.xp.ones(A.shape, dtype=A.xp.bool, device=A._device.native)), eye, A)
    if n < 0:
        A, n = inv(A), -n
    elif n == 1:
        return A.clone()  # a new tensor, never A itself (as PyTorch): writing into it leaves A as it was
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


# torch.linalg's spelling (A) for lucid.linalg; the top-level torch.matrix_exp/matrix_power take input
linalg_matrix_exp, linalg_matrix_power = matrix_exp, matrix_power
matrix_exp, matrix_power = (with_parameter_names(f, A="input") for f in (linalg_matrix_exp, linalg_matrix_power))


def multi_dot(tensors) -> Tensor:
    """``torch.linalg.multi_dot``: the chained product in the cheapest order (dynamic programming over the
    sizes); the first operand may be 1-D (a row), the last 1-D (a column)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"linalg.multi_dot needs at least 2 tensors, got {len(tensors)}")
    for i, t in enumerate(tensors):
        _check_tensor("linalg.multi_dot", t)
        ok = t.ndim == 2 or (t.ndim == 1 and i in (0, len(tensors) - 1))
        if not ok:
            raise RuntimeError(f"linalg.multi_dot: tensor {i} must be 2-D (1-D allowed first or last), got shape "
                               f"{t.shape}")
    first_vec, last_vec = tensors[0].ndim == 1, tensors[-1].ndim == 1
    mats = list(tensors)
    if first_vec:
        mats[0] = mats[0].reshape(1, -1)
    if last_vec:
        mats[-1] = mats[-1].reshape(-1, 1)
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise RuntimeError(f"linalg.multi_dot: tensor {i} (shape {tensors[i].shape}) and tensor {i + 1} (shape "
                               f"{tensors[i + 1].shape}) cannot be multiplied")
    dims = [mats[0].shape[0]] + [t.shape[1] for t in mats]
    k = len(mats)
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            cost[i][j] = math.inf
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, s

    def product(i, j):
        return mats[i] if i == j else matmul(product(i, split[i][j]), product(split[i][j] + 1, j))

    out = product(0, k - 1)
    if first_vec:
        out = out.reshape(out.shape[1:])
    if last_vec:
        out = out.reshape(out.shape[:-1])
    return out


def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """``torch.linalg.householder_product`` (``orgqr``): the first ``n`` columns of
    ``H_1 ... H_k``, ``H_i = I - tau_i v_i v_i^H`` with ``v_i`` column ``i`` of ``A`` below the diagonal
    and a 1 on it (LAPACK's convention); differentiable in both."""
    A, tau = _as_tensors("linalg.householder_product", A, tau)
    _check_matrix("linalg.householder_product", A, square=False)
    m, n = A.shape[-2:]
    k = tau.shape[-1] if tau.ndim else -1
    if n > m or tau.ndim != A.ndim - 1 or k > n or tau.shape[:-1] != A.shape[:-2]:
        raise RuntimeError(f"linalg.householder_product needs A of shape (*, m, n) with m >= n and tau of shape "
                           f"(*, k) with k <= n, got {A.shape} and {tau.shape}")
    xp, dev = A.xp, A._device.native
    rows = xp.arange(m, device=dev)
    Q = _eye(A, m).narrow(-1, 0, n).expand(A.shape[:-2] + (m, n))
    for i in reversed(range(k)):
        below = _constant(A, xp.astype(rows > i, A._data.dtype))
        unit = _constant(A, xp.astype(rows == i, A._data.dtype))
        v = (A.select(-1, i) * below + unit).unsqueeze(-1)  # (*, m, 1)
        Q = Q - tau.narrow(-1, i, 1).unsqueeze(-1) * matmul(v, matmul(v.mH, Q))
    return Q


def orgqr(input: Tensor, tau: Tensor) -> Tensor:
    """``torch.orgqr``: the same as ``linalg.householder_product``."""
    return householder_product(input, tau)


def ormqr(input: Tensor, input2: Tensor, input3: Tensor, left: bool = True, transpose: bool = False) -> Tensor:
    """``torch.ormqr``: ``input3`` multiplied by the full ``m x m`` ``Q`` of ``geqrf``'s reflectors (``Q`` on the
    left or right, conjugate-transposed when ``transpose``); differentiable."""
    input, input3 = _as_tensors("ormqr", input, input3)
    _check_matrix("ormqr", input, square=False)
    m, n = input.shape[-2:]
    if n < m:
        pad = _constant(input, input.xp.zeros(input.shape[:-1] + (m - n,), dtype=input._data.dtype,
                                              device=input._device.native))
        input = cat([input, pad], dim=-1)
    Q = householder_product(input, input2)
    Q = Q.mH if transpose else Q
    return matmul(Q, input3) if left else matmul(input3, Q)


def _geqrf_arrays(xp, a):
    """Householder QR as LAPACK's ``geqrf``: ``R`` (real diagonal) on and above the diagonal, the reflectors
    below it, and ``tau``; ``beta = -sign(Re alpha) * norm``, ``tau = 0`` where the column below is already zero
    (and ``alpha`` real); each ``H^H = I - conj(tau) v v^H`` is applied to the columns on the right."""
    m, n = a.shape[-2:]
    a = xp.asarray(a, copy=True)
    taus = []
    complex_ = xp.isdtype(a.dtype, "complex floating")
    conj = xp.conj if complex_ else (lambda x: x)
    zero = xp.zeros((), dtype=a.dtype, device=a.device)
    for j in range(min(m, n)):
        alpha = a[..., j, j]
        below = a[..., j + 1:, j]
        size = xp.abs(below) if complex_ else below
        xnorm = xp.sqrt(xp.sum(size * size, axis=-1))
        trivial = (xnorm == 0) & (xp.imag(alpha) == 0) if complex_ else xnorm == zero
        alpha_re, alpha_abs = xp.real(alpha) if complex_ else alpha, xp.abs(alpha)
        beta = -xp.where(alpha_re >= 0, xp.ones_like(alpha_abs), -xp.ones_like(alpha_abs)) * xp.sqrt(
            alpha_abs * alpha_abs + xnorm * xnorm)
        beta = xp.astype(beta, a.dtype) if complex_ else beta
        safe_beta = xp.where(trivial, xp.ones_like(beta), beta)
        tau = xp.where(trivial, xp.zeros_like(beta), (beta - alpha) / safe_beta)
        scale = xp.where(trivial, xp.ones_like(alpha), alpha - beta)
        v = below / scale[..., None]
        a[..., j + 1:, j] = v
        if j + 1 < n:
            rest = a[..., j:, j + 1:]
            w = rest[..., 0, :] + xp.sum(conj(v)[..., None] * rest[..., 1:, :], axis=-2)  # v_full^H rest
            t = conj(tau)
            rest_new = xp.concat([(rest[..., 0, :] - t[..., None] * w)[..., None, :],
                                  rest[..., 1:, :] - t[..., None, None] * v[..., None] * w[..., None, :]], axis=-2)
            a[..., j:, j + 1:] = rest_new
        a[..., j, j] = xp.where(trivial, alpha, beta)
        taus.append(tau)
    tau = xp.stack(taus, axis=-1) if taus else xp.zeros(a.shape[:-2] + (0,), dtype=a.dtype, device=a.device)
    return a, tau


@on_input_device
def geqrf(input: Tensor) -> GeqrfResult:
    """``torch.geqrf``: LAPACK's packed Householder QR ``(a, tau)`` (not differentiable, as in PyTorch); feed
    it to ``orgqr``/``ormqr`` or ``linalg.householder_product``."""
    _check_matrix("geqrf", input, square=False)
    a, tau = _geqrf_arrays(input.xp, input._data)
    return GeqrfResult(_constant(input, a), _constant(input, tau))


# ---- randomized low-rank SVD ----------------------------------------------------------------------
def _approximate_basis(A: Tensor, q: int, niter: int) -> Tensor:
    """Orthonormal columns ``Q (*, m, q)`` spanning about the top-``q`` range of ``A`` (Halko et al.: subspace
    iteration with QR) from a standard normal sketch."""
    Q = _la.qr(matmul(A, randn(A.shape[-1], q, dtype=A.dtype, device=A.device))).Q
    for _ in range(niter):
        Q = _la.qr(matmul(A.mH, Q)).Q
        Q = _la.qr(matmul(A, Q)).Q
    return Q


def svd_lowrank(A: Tensor, q: int = 6, niter: int = 2, M=None):
    """``torch.svd_lowrank``: an approximate rank-``q`` SVD ``(U, S, V)`` of ``A - M`` by randomized subspace
    iteration (``niter`` rounds), exact when the rank is at most ``q``; differentiable, random as PyTorch's
    (seed with ``lucid.manual_seed``)."""
    _check_matrix("svd_lowrank", A, square=False)
    D = A if M is None else A - M.expand(A.shape)
    wide = A.shape[-2] < A.shape[-1]
    D = D.mH if wide else D
    Q = _approximate_basis(D, 6 if q is None else q, 2 if niter is None else niter)
    U, S, Vh = _la.svd(matmul(Q.mH, D), full_matrices=False)
    U, V = matmul(Q, U), Vh.mH
    return (V, S, U) if wide else (U, S, V)


def pca_lowrank(A: Tensor, q=None, center: bool = True, niter: int = 2):
    """``torch.pca_lowrank``: ``svd_lowrank`` of ``A`` with its column means removed (``center``); ``q``
    defaults to ``min(6, m, n)``."""
    _check_matrix("pca_lowrank", A, square=False)
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not 0 <= q <= min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    return svd_lowrank(A - A.mean(dim=-2, keepdim=True) if center else A, q, niter=niter)


# ---- tensor forms ------------------------------------------------------------------------------
def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """``torch.linalg.tensorinv``: the inverse for ``tensordot(.., ind)``: ``A`` reshaped to a square matrix
    by its first ``ind`` and remaining dimensions, inverted, and shaped ``A.shape[ind:] + A.shape[:ind]``."""
    _check_float("linalg.tensorinv", A, "fc")
    if ind <= 0:
        raise ValueError(f"linalg.tensorinv: ind must be a positive integer, got {ind}")
    rows, cols = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(f"linalg.tensorinv: the product of the first {ind} dimensions of shape {A.shape} "
                           f"({rows}) must equal the product of the rest ({cols})")
    return inv(A.reshape(rows, cols)).reshape(A.shape[ind:] + A.shape[:ind])


def tensorsolve(A: Tensor, B: Tensor, dims=None) -> Tensor:
    """``torch.linalg.tensorsolve``: ``X`` with ``tensordot(A, X, X.ndim) = B``; ``dims`` (of ``A``) are moved
    to the end first."""
    A, B = _as_tensors("linalg.tensorsolve", A, B)
    _check_float("linalg.tensorsolve", A, "fc")
    if dims is not None:
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        A = movedim(A, dims, tuple(range(A.ndim - len(dims), A.ndim)))
    rest = A.shape[B.ndim:]
    rows, cols = math.prod(B.shape), math.prod(rest)
    if math.prod(A.shape[:B.ndim]) != rows or rows != cols:  # sizes, not shapes, must agree: as PyTorch's
        raise RuntimeError(f"linalg.tensorsolve: A of shape {A.shape} must start with {B.ndim} dimensions holding "
                           f"B's {rows} elements (B has shape {B.shape}), and the product of its remaining "
                           f"dimensions must equal that number too")
    return solve(A.reshape(rows, cols), B.reshape(rows)).reshape(rest)


def _powers(x: Tensor, N: int) -> list:
    out = [_constant(x, x.xp.ones(x.shape, dtype=x._data.dtype, device=x._device.native))]
    for _ in range(N - 1):
        out.append(x if len(out) == 1 else out[-1] * x)
    return out


@on_input_device
def linalg_vander(x: Tensor, *, N=None) -> Tensor:
    """``torch.linalg.vander``: columns ``x^0, x^1, ..., x^(N-1)`` (``N`` defaults to ``x.shape[-1]``) over
    the batch ``x (*, n)``; built by repeated products, so the gradient is exact at 0."""
    _check_tensor("linalg.vander", x)
    if x.ndim < 1:
        raise RuntimeError("linalg.vander needs a tensor of at least one dimension, got a 0-d tensor")
    N = x.shape[-1] if N is None else N
    if N < 1:
        raise RuntimeError(f"linalg.vander: N must be at least 1, got {N}")
    return stack(_powers(x, N), dim=-1)


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """``torch.linalg.cross``: cross products of 3-vectors along ``dim`` (other dimensions broadcast; the inputs
    must have as many dimensions, as PyTorch requires, so that ``dim`` names the same one in both)."""
    input, other = _as_tensors("linalg.cross", input, other)
    if input.ndim != other.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions, got shapes "
                           f"{input.shape} and {other.shape}")
    shape = _broadcast_batch(input.shape, other.shape, "linalg.cross")
    input, other = input.expand(shape), other.expand(shape)
    d = _dim(dim, len(shape), "linalg.cross")
    if shape[d] != 3:
        raise RuntimeError(f"linalg.cross: dimension {dim} must have size 3, got shapes {input.shape} and "
                           f"{other.shape}")
    a, b = [input.select(d, i) for i in range(3)], [other.select(d, i) for i in range(3)]
    out = stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]], dim=d)
    return rename_node(out, "LinalgCross")


def cross(input: Tensor, other: Tensor, dim=None) -> Tensor:
    """``torch.cross``: as ``linalg.cross``, but with ``dim=None`` it uses the first dimension of size 3 (the
    behaviour PyTorch keeps for compatibility)."""
    if dim is None:
        _check_tensor("cross", input)
        _check_tensor("cross", other)
        shape = _broadcast_batch(input.shape, other.shape, "cross")
        sizes3 = [i for i, s in enumerate(shape) if s == 3]
        if not sizes3:
            raise RuntimeError(f"cross: no dimension of size 3 in shapes {input.shape} and {other.shape}")
        dim = sizes3[0]
    return linalg_cross(input, other, dim=dim)


def linalg_diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """``torch.linalg.diagonal``: ``torch.diagonal`` with defaults over the last two dimensions."""
    return A.diagonal(offset, dim1, dim2)


# ---- legacy and norm aliases -------------------------------------------------------------------
def logdet(input: Tensor) -> Tensor:
    """``torch.logdet``: ``log(det(A))``: NaN for a negative determinant, ``-inf`` for a singular matrix;
    complex (``log|det| + i angle(det)``) for a complex ``A``."""
    sign, logabsdet = slogdet(input)
    return logabsdet + (sign if input.dtype.kind == "c" else sign.detach()).log()  # a real sign is constant


def qr(input: Tensor, some: bool = True) -> QRLegacyResult:
    """``torch.qr`` (legacy): reduced QR, or complete with ``some=False``."""
    return QRLegacyResult(*_la.qr(input, "reduced" if some else "complete"))


def svd(input: Tensor, some: bool = True, compute_uv: bool = True) -> SVDLegacyResult:
    """``torch.svd`` (legacy): ``(U, S, V)`` with ``V = Vh^H`` (not ``Vh``); ``some=False`` gives full ``U`` and
    ``V``; without ``compute_uv``, ``U`` and ``V`` are zero matrices ``(m, m)``, ``(n, n)`` as PyTorch."""
    _check_matrix("svd", input, square=False)
    if not compute_uv:
        m, n = input.shape[-2:]
        xp, dev, dt = input.xp, input._device.native, input._data.dtype
        batch = input.shape[:-2]
        return SVDLegacyResult(_constant(input, xp.zeros(batch + (m, m), dtype=dt, device=dev)), svdvals(input),
                               _constant(input, xp.zeros(batch + (n, n), dtype=dt, device=dev)))
    U, S, Vh = _la.svd(input, full_matrices=not some)
    return SVDLegacyResult(U, S, Vh.mH)


def nuclear_norm(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """``torch.nuclear_norm``: the sum of singular values over ``dim`` (the two dimensions of a 2-D tensor)."""
    if isinstance(dim, bool):  # nuclear_norm(input, keepdim) positionally, as PyTorch's first overload
        dim, keepdim = None, dim
    return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim)


def frobenius_norm(input: Tensor, dim=(-2, -1), keepdim: bool = False) -> Tensor:
    """``torch.frobenius_norm``: the 2-norm of the entries over ``dim``."""
    return _la.vector_norm(input, 2, dim, keepdim)


METHODS = {
    "cholesky": cholesky, "cholesky_inverse": cholesky_inverse, "cholesky_solve": cholesky_solve, "logdet": logdet,
    "pinverse": pinverse, "lu": lu, "lu_solve": lu_solve, "matrix_exp": matrix_exp, "matrix_power": matrix_power,
    "qr": qr, "svd": svd, "triangular_solve": triangular_solve, "geqrf": geqrf, "orgqr": orgqr, "ormqr": ormqr,
    "cross": cross, "eig": eig, "lstsq": lstsq,
}
