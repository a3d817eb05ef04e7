"""Gradcheck cases of the linear-algebra family added for issue 12 (lucid/ops/decompositions.py): LU, triangular
and Cholesky solves, eigh, pinv, lstsq, matrix functions and PyTorch's legacy top-level forms. Inputs are made
well-posed as PyTorch's own gradchecks make them: symmetric inputs for eigh, gauge-invariant outputs of
eigenvectors and singular vectors, well-conditioned matrices for inverses."""

from __future__ import annotations

from gradcheck_specs import SQUARE, N, add, seeded

import lucid
import lucid.linalg as LA


def _sym(x):
    return x + x.mT


def _spd(x):
    n = x.shape[-1]
    return x @ x.mT + n * lucid.eye(n, dtype=x.dtype, device=x.device)


def _tri(x, upper):
    """A well-conditioned triangular matrix (large diagonal) from ``x``: gradients stay on the triangle."""
    n = x.shape[-1]
    eye = lucid.eye(n, dtype=x.dtype, device=x.device)
    return (x.triu() if upper else x.tril()) + 3 * eye


def _eigh_invariant(a):
    w, v = LA.eigh(_sym(a))
    return w, v * v  # squares of the entries: invariant under the sign of each eigenvector


def _svd_legacy_invariant(a):
    u, s, v = lucid.svd(a)
    return s, u @ (s.unsqueeze(-1) * v.mT)


def _low_rank_product(u, s, v):
    return u @ (s.unsqueeze(-1) * v.mT)  # invariant under the singular vectors' signs


def _lu_factor_pivots_fixed(a):
    return LA.lu_factor(a).LU


def _lu_solve(a, b):
    LU, piv = LA.lu_factor(a)
    return LA.lu_solve(LU, piv, b)


for _shape, _variant in (((3, 3), "square"), ((2, 3, 5), "wide"), ((5, 3), "tall")):
    add("linalg.lu", LA.lu, N(*_shape), variant=_variant)
add("linalg.lu_factor", _lu_factor_pivots_fixed, N(2, 3, 3))
add("linalg.lu_factor", _lu_factor_pivots_fixed, N(4, 3), variant="tall")
add("linalg.lu_factor_ex", lambda a: LA.lu_factor_ex(a).LU, N(3, 4))
add("linalg.lu_solve", _lu_solve, SQUARE(3, (2,)), N(2, 3, 2))
add("linalg.lu_solve", lambda a, b: LA.lu_solve(*LA.lu_factor(a), b, left=False, adjoint=True), SQUARE(3), N(2, 3),
    variant="right_adjoint")
add("lucid.lu_unpack", lambda a: lucid.lu_unpack(*LA.lu_factor(a))[1:], N(4, 3))
add("lucid.lu", lambda a: lucid.lu(a).LU, N(3, 3), also=("Tensor.lu",))
add("lucid.lu_solve", lambda a, b: lucid.lu_solve(b, *lucid.lu(a)), SQUARE(3), N(3, 2), also=("Tensor.lu_solve",))
for _up in (True, False):
    for _left in (True, False):
        add("linalg.solve_triangular",
            lambda a, b, u=_up, lf=_left: LA.solve_triangular(_tri(a, u), b, upper=u, left=lf),
            N(2, 3, 3), N(2, 3, 3), variant=f"upper={_up},left={_left}")
add("linalg.solve_triangular", lambda a, b: LA.solve_triangular(a, b, upper=False, unitriangular=True), N(3, 3),
    N(3, 2), variant="unitriangular")
add("lucid.triangular_solve", lambda b, a: lucid.triangular_solve(b, _tri(a, False), upper=False, transpose=True)[0],
    N(3, 2), N(3, 3), also=("Tensor.triangular_solve",))
add("lucid.cholesky_solve", lambda b, x: lucid.cholesky_solve(b, LA.cholesky(_spd(x))), N(3, 2), N(3, 3),
    also=("Tensor.cholesky_solve",))
add("lucid.cholesky_inverse", lambda x: lucid.cholesky_inverse(LA.cholesky(_spd(x), upper=True), upper=True),
    N(3, 3), also=("Tensor.cholesky_inverse",))
add("lucid.cholesky", lambda x: lucid.cholesky(_spd(x)), N(3, 3), also=("Tensor.cholesky",))
add("linalg.cholesky_ex", lambda x: LA.cholesky_ex(_spd(x)).L, N(2, 3, 3))
add("linalg.inv_ex", lambda a: LA.inv_ex(a).inverse, SQUARE(3, (2,)))
add("linalg.solve_ex", lambda a, b: LA.solve_ex(a, b).result, SQUARE(3), N(3, 2))
add("linalg.eigh", _eigh_invariant, N(4, 4))
add("linalg.eigh", lambda a: LA.eigh(_sym(a), UPLO="U").eigenvalues, N(2, 3, 3), variant="upper")
add("linalg.eigvalsh", lambda a: LA.eigvalsh(_sym(a)), N(3, 3))
# eig: complex results seen through phase-free real functions (|w|, |v|); the real parts of eigvals
add("linalg.eig", lambda a: tuple(t.abs() for t in LA.eig(a)), SQUARE(3))
add("linalg.eigvals", lambda a: LA.eigvals(a).real, SQUARE(3))
for _shape, _variant in (((3, 3), "square"), ((4, 2), "tall"), ((2, 2, 4), "wide")):
    add("linalg.pinv", LA.pinv, N(*_shape), variant=_variant)
add("linalg.pinv", lambda a: LA.pinv(_spd(a), hermitian=True), N(3, 3), variant="hermitian")
add("lucid.pinverse", lucid.pinverse, N(3, 2), also=("Tensor.pinverse",))
add("linalg.lstsq", lambda a, b: LA.lstsq(a, b).solution, N(5, 3), N(5, 2))
add("linalg.lstsq", lambda a, b: LA.lstsq(a, b, driver="gelsd")[:2], N(2, 5, 3), N(2, 5, 2), variant="gelsd")
add("linalg.lstsq", lambda a, b: LA.lstsq(a, b).solution, N(2, 4), N(2), variant="wide_vector")
add("linalg.cond", LA.cond, N(3, 3))
add("linalg.cond", lambda a: LA.cond(a, "fro"), SQUARE(3), variant="fro")
add("linalg.matrix_exp", LA.matrix_exp, N(2, 3, 3), also=("Tensor.matrix_exp", "lucid.matrix_exp"))
add("linalg.matrix_exp", lambda a: LA.matrix_exp(4 * a), N(3, 3), variant="squared")
add("linalg.matrix_power", lambda a: LA.matrix_power(a, 5), N(2, 3, 3), also=("lucid.matrix_power",))
add("linalg.matrix_power", lambda a: LA.matrix_power(a, -2), SQUARE(3), variant="negative",
    also=("Tensor.matrix_power",))
add("linalg.multi_dot", lambda a, b, c, d: LA.multi_dot([a, b, c, d]), N(3), N(3, 4), N(4, 2), N(2))
add("linalg.householder_product", LA.householder_product, N(4, 3), N(2))
add("lucid.orgqr", lucid.orgqr, N(2, 4, 3), N(2, 3), also=("Tensor.orgqr",))
add("lucid.ormqr", lambda a, t, c: lucid.ormqr(a, t, c, left=False, transpose=True), N(4, 3), N(3), N(2, 4),
    also=("Tensor.ormqr",))
add("linalg.tensorinv", lambda a: LA.tensorinv(a + 3 * lucid.eye(6, dtype=a.dtype, device=a.device).reshape(2, 3, 6)),
    N(2, 3, 6))
add("linalg.tensorsolve", lambda a, b: LA.tensorsolve(a + 3 * lucid.eye(6, dtype=a.dtype, device=a.device)
                                                      .reshape(2, 3, 6), b), N(2, 3, 6), N(2, 3))
add("linalg.vander", lambda x: LA.vander(x, N=4), N(2, 3))
add("linalg.cross", lambda a, b: LA.cross(a, b, dim=0), N(3, 2), N(3, 1))
add("lucid.cross", lucid.cross, N(2, 3), N(2, 3), also=("Tensor.cross",))
add("linalg.diagonal", lambda a: LA.diagonal(a, offset=1), N(2, 3, 4))
add("lucid.logdet", lambda a: lucid.logdet(a), SQUARE(3), also=("Tensor.logdet",))
add("lucid.qr", lambda a: lucid.qr(a), N(4, 3), also=("Tensor.qr",))
add("linalg.qr", lambda a: LA.qr(a, "complete"), N(3, 4), variant="complete_wide")
add("lucid.svd", _svd_legacy_invariant, N(4, 3), also=("Tensor.svd",))
add("lucid.svd_lowrank", seeded(lambda a: _low_rank_product(*lucid.svd_lowrank(a, q=3))), N(5, 3))
add("lucid.pca_lowrank", seeded(lambda a: _low_rank_product(*lucid.pca_lowrank(a, q=2))), N(3, 4))
add("lucid.nuclear_norm", lucid.nuclear_norm, N(3, 2))
add("lucid.frobenius_norm", lucid.frobenius_norm, N(2, 3, 2))

NOT_DIFFERENTIABLE = {
    # integer results, results on a removed API (PyTorch raises too), and packed LAPACK data PyTorch does not
    # differentiate either
    "linalg.matrix_rank", "lucid.matrix_rank", "lucid.geqrf", "Tensor.geqrf", "linalg.ldl_factor",
    "linalg.ldl_factor_ex", "linalg.ldl_solve",
    "lucid.eig", "Tensor.eig", "lucid.lstsq", "Tensor.lstsq",  # removed from PyTorch: they raise, as PyTorch's
    # result types (classes, not operations)
    *(f"linalg.{n}" for n in ("CholeskyExResult", "EighResult", "InvExResult", "LstsqResult", "LUFactorExResult",
                              "LUFactorResult", "LUResult", "SolveExResult", "LDLFactorResult",
                              "LDLFactorExResult")),
}
