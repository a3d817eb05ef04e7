"""The linear algebra added for issue 12 (lucid/ops/decompositions.py): values, gradients and errors against
PyTorch (the oracle), on every backend."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
from lucid import linalg as LA

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torch's deprecation notes on its legacy forms


def _l(a, device, grad=False):
    return lucid.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=grad)


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _np(x):
    return x.detach().numpy(force=True) if isinstance(x, lucid.Tensor) else x.detach().numpy()


def _close(ours, theirs, tol=1e-9):
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype or a.dtype.kind == b.dtype.kind == "f", (a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def _grads_match(lucid_fn, torch_fn, arrays, device, tol=1e-8):
    """Values and gradients of ``sum(out * w)`` (fixed random weights per output) against torch."""
    ours = [_l(a, device, grad=True) for a in arrays]
    theirs = [_t(a, grad=True) for a in arrays]
    o, t = lucid_fn(*ours), torch_fn(*theirs)
    o, t = (o, t) if isinstance(o, tuple) else ((o,), (t,))
    rng = np.random.default_rng(5)
    weights = [rng.standard_normal(tuple(x.shape)) for x in t]
    for x, y in zip(o, t):
        _close(x, y, tol)
    sum((x * _l(w, device)).sum() for x, w in zip(o, weights)).backward()
    sum((y * _t(w)).sum() for y, w in zip(t, weights)).backward()
    for x, y in zip(ours, theirs):  # torch leaves a zero gradient undefined (the 0-norm's): None
        _close(x.grad, y.grad if y.grad is not None else torch.zeros_like(y), tol)


SHAPES = [(4, 4), (2, 5, 3), (3, 3, 5), (1, 1)]


@pytest.mark.parametrize("shape", SHAPES)
def test_lu_factor_and_lu_match_torch(device, rng, shape):
    a = rng.standard_normal(shape)
    ours, theirs = LA.lu_factor_ex(_l(a, device)), torch.linalg.lu_factor_ex(_t(a))
    _close(ours.LU, theirs.LU)
    assert ours.pivots.dtype == lucid.int32 and ours.info.dtype == lucid.int32
    assert _np(ours.pivots).tolist() == theirs.pivots.numpy().tolist()
    assert _np(ours.info).tolist() == theirs.info.numpy().tolist()
    for x, y in zip(LA.lu(_l(a, device)), torch.linalg.lu(_t(a))):
        _close(x, y)
    for x, y in zip(lucid.lu_unpack(*LA.lu_factor(_l(a, device))), torch.lu_unpack(*torch.linalg.lu_factor(_t(a)))):
        _close(x, y)


def test_lu_of_singular_matrices_reports_info(device):
    a = np.array([[[1.0, 2], [2, 4]], [[0, 0], [0, 0]], [[2, 1], [1, 1]]])
    ours, theirs = LA.lu_factor_ex(_l(a, device)), torch.linalg.lu_factor_ex(_t(a))
    _close(ours.LU, theirs.LU)
    assert _np(ours.info).tolist() == theirs.info.numpy().tolist() == [2, 1, 0]
    assert _np(ours.pivots).tolist() == theirs.pivots.numpy().tolist()
    with pytest.raises(LA.LinAlgError, match="singular"):
        LA.lu_factor_ex(_l(a, device), check_errors=True)
    legacy = lucid.lu(_l(a, device), get_infos=True)
    assert _np(legacy.infos).tolist() == [2, 1, 0]


def test_lu_without_pivoting(device, rng):
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    P, L, U = LA.lu(_l(a, device), pivot=False)
    assert P.shape == (0,)
    _close(L @ U, _t(a))
    assert np.allclose(np.diag(_np(L)), 1) and np.allclose(np.triu(_np(L), 1), 0)


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 5), (5, 3)])
def test_lu_gradient_matches_torch(device, rng, shape):
    _grads_match(lambda a: tuple(LA.lu(a))[1:], lambda a: tuple(torch.linalg.lu(a))[1:],
                 [rng.standard_normal(shape)], device)


@pytest.mark.parametrize("left,adjoint", [(True, False), (True, True), (False, False), (False, True)])
def test_lu_solve_matches_torch(device, rng, left, adjoint):
    a = rng.standard_normal((2, 4, 4))
    b = rng.standard_normal((2, 4, 3) if left else (2, 3, 4))

    def ours(a, b):
        return LA.lu_solve(*LA.lu_factor(a), b, left=left, adjoint=adjoint)

    def theirs(a, b):
        return torch.linalg.lu_solve(*torch.linalg.lu_factor(a), b, left=left, adjoint=adjoint)

    _grads_match(ours, theirs, [a, b], device, tol=1e-7)
    if left:
        legacy = lucid.lu_solve(_l(b, device), *lucid.lu(_l(a, device)))
        _close(legacy, torch.lu_solve(_t(b), *torch.linalg.lu_factor(_t(a))))


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [True, False])
def test_solve_triangular_matches_torch(device, rng, upper, left, unit):
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((2, 3, 2) if left else (2, 2, 3))
    _grads_match(lambda a, b: LA.solve_triangular(a, b, upper=upper, left=left, unitriangular=unit),
                 lambda a, b: torch.linalg.solve_triangular(a, b, upper=upper, left=left, unitriangular=unit),
                 [a, b], device)


@pytest.mark.parametrize("upper,transpose", [(True, False), (False, True), (False, False)])
def test_triangular_solve_legacy(device, rng, upper, transpose):
    a, b = rng.standard_normal((3, 3)) + 3 * np.eye(3), rng.standard_normal((3, 2))
    X, A = lucid.triangular_solve(_l(b, device), _l(a, device), upper=upper, transpose=transpose)
    tX, tA = torch.triangular_solve(_t(b), _t(a), upper=upper, transpose=transpose)
    _close(X, tX)
    _close(A, tA)


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_and_inverse(device, rng, upper):
    x, b = rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3, 2))
    spd = x @ x.transpose(0, 2, 1) + 3 * np.eye(3)
    _grads_match(lambda s, b: lucid.cholesky_solve(b, LA.cholesky(s, upper=upper), upper),
                 lambda s, b: torch.cholesky_solve(b, torch.linalg.cholesky(s, upper=upper), upper), [spd, b], device)
    _grads_match(lambda s: lucid.cholesky_inverse(lucid.cholesky(s, upper), upper),
                 lambda s: torch.cholesky_inverse(torch.cholesky(s, upper), upper), [spd], device)


def test_ex_variants_report_info(device):
    a = np.array([[[1.0, 2], [2, 1]], [[2, 0], [0, 1]]])  # the first is symmetric indefinite
    ours, theirs = LA.cholesky_ex(_l(a, device)), torch.linalg.cholesky_ex(_t(a))
    assert _np(ours.info).tolist() == theirs.info.numpy().tolist() == [2, 0]
    _close(ours.L[1], theirs.L[1])
    assert np.isnan(_np(ours.L[0])).all()
    with pytest.raises(LA.LinAlgError, match="positive-definite"):
        LA.cholesky_ex(_l(a, device), check_errors=True)
    sing = np.array([[[1.0, 2], [2, 4]], [[2, 1], [1, 1]]])
    inv, sol = LA.inv_ex(_l(sing, device)), LA.solve_ex(_l(sing, device), _l(np.ones((2, 2, 1)), device))
    t_inv, t_sol = torch.linalg.inv_ex(_t(sing)), torch.linalg.solve_ex(_t(sing), _t(np.ones((2, 2, 1))))
    assert _np(inv.info).tolist() == t_inv.info.numpy().tolist() == [2, 0]
    assert _np(sol.info).tolist() == t_sol.info.numpy().tolist()
    _close(inv.inverse[1], t_inv.inverse[1])
    _close(sol.result[1], t_sol.result[1])
    assert np.isnan(_np(inv.inverse[0])).all()
    with pytest.raises(LA.LinAlgError, match="singular"):
        LA.inv_ex(_l(sing, device), check_errors=True)


def test_ex_variants_gradients_on_regular_input(device, rng):
    a, b = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3), rng.standard_normal((2, 3, 2))
    _grads_match(lambda a: LA.inv_ex(a).inverse, lambda a: torch.linalg.inv_ex(a).inverse, [a], device)
    _grads_match(lambda a, b: LA.solve_ex(a, b).result, lambda a, b: torch.linalg.solve_ex(a, b).result, [a, b],
                 device)
    spd = a @ a.transpose(0, 2, 1)
    _grads_match(lambda s: LA.cholesky_ex(s).L, lambda s: torch.linalg.cholesky_ex(s).L, [spd], device)


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_matches_torch(device, rng, uplo):
    a = rng.standard_normal((2, 4, 4))  # not symmetric: only one triangle is read
    w, v = LA.eigh(_l(a, device), UPLO=uplo)
    tw, tv = torch.linalg.eigh(_t(a), UPLO=uplo)
    _close(w, tw)
    _close(abs(v), tv.abs())  # eigenvectors up to sign
    _close(LA.eigvalsh(_l(a, device), UPLO=uplo), torch.linalg.eigvalsh(_t(a), UPLO=uplo))
    # gauge-invariant loss: eigenvalues and squared eigenvector entries
    _grads_match(lambda x: (LA.eigh(x, uplo)[0], LA.eigh(x, uplo)[1] ** 2),
                 lambda x: (torch.linalg.eigh(x, uplo)[0], torch.linalg.eigh(x, uplo)[1] ** 2), [a], device, tol=1e-7)
    with pytest.raises(RuntimeError, match="UPLO"):
        LA.eigh(_l(a, device), UPLO="X")


@pytest.mark.parametrize("batch", [(), (2,)])
def test_eig_and_eigvals_match_torch_with_gradients(device, rng, batch):
    """Complex eigenpairs of real and complex matrices; gradients of losses that ignore each eigenvector's
    phase (|w|^2 and weighted |v|^2), as PyTorch's eig backward requires."""
    for a in (rng.standard_normal((*batch, 4, 4)),
              rng.standard_normal((*batch, 3, 3)) + 1j * rng.standard_normal((*batch, 3, 3))):
        ours = lucid.tensor(a, device=device, requires_grad=True)
        theirs = torch.tensor(a, requires_grad=True)
        w, v = LA.eig(ours)
        tw, tv = torch.linalg.eig(theirs)
        np.testing.assert_allclose(w.detach().numpy(force=True), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert w.dtype is lucid.complex128 and v.dtype is lucid.complex128
        n = a.shape[-1]
        ((w.abs() ** 2).sum() + (v.abs() ** 2 * lucid.arange(n, dtype=lucid.float64, device=device)).sum()).backward()
        ((tw.abs() ** 2).sum() + (tv.abs() ** 2 * torch.arange(n, dtype=torch.float64)).sum()).backward()
        np.testing.assert_allclose(ours.grad.numpy(force=True), theirs.grad.numpy(), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(LA.eigvals(ours).detach().numpy(force=True), tw.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
    assert LA.eig(_l(np.eye(2), device).float())[0].dtype is lucid.complex64
    with pytest.raises(RuntimeError, match="removed"):
        lucid.eig(_l(np.eye(2), device))
    with pytest.raises(RuntimeError, match="square"):
        LA.eig(_l(np.ones((2, 3)), device))


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 3, 3)])
def test_pinv_rank_cond_match_torch(device, rng, shape):
    a = rng.standard_normal(shape)
    _grads_match(LA.pinv, torch.linalg.pinv, [a], device, tol=1e-7)
    _close(LA.matrix_rank(_l(a, device)), torch.linalg.matrix_rank(_t(a)))
    _grads_match(LA.cond, torch.linalg.cond, [a], device, tol=1e-7)
    _close(lucid.pinverse(_l(a, device)), torch.pinverse(_t(a)))


def test_pinv_and_rank_tolerances(device, rng):
    u = rng.standard_normal((4, 2))
    a = u @ u.T  # rank 2, symmetric
    for kw in ({}, {"atol": 1e-3}, {"rtol": 0.5}, {"atol": 1e-3, "rtol": 0.0}, {"hermitian": True}):
        _close(LA.pinv(_l(a, device), **kw), torch.linalg.pinv(_t(a), **kw))
        _close(LA.matrix_rank(_l(a, device), **kw), torch.linalg.matrix_rank(_t(a), **kw))
    assert int(LA.matrix_rank(_l(a, device)).item()) == 2
    _grads_match(lambda x: LA.pinv(x, hermitian=True), lambda x: torch.linalg.pinv(x, hermitian=True),
                 [a + 3 * np.eye(4)], device, tol=1e-7)


@pytest.mark.parametrize("p", ["fro", "nuc", 1, -1, math.inf, -math.inf, -2])
def test_cond_orders(device, rng, p):
    a = rng.standard_normal((3, 3)) + 2 * np.eye(3)
    _close(LA.cond(_l(a, device), p), torch.linalg.cond(_t(a), p))


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("m,n", [(5, 3), (3, 5)])
def test_lstsq_matches_torch(device, rng, driver, m, n):
    a, b = rng.standard_normal((2, m, n)), rng.standard_normal((2, m, 2))
    ours = LA.lstsq(_l(a, device), _l(b, device), driver=driver)
    theirs = torch.linalg.lstsq(_t(a), _t(b), driver=driver)
    for x, y in zip(ours, theirs):
        _close(x, y)
    _grads_match(lambda a, b: LA.lstsq(a, b, driver=driver).solution,
                 lambda a, b: torch.linalg.lstsq(a, b, driver=driver).solution, [a, b], device, tol=1e-7)


def test_lstsq_rank_deficient_and_errors(device, rng):
    u = rng.standard_normal((5, 2))
    a, b = u @ rng.standard_normal((2, 3)), rng.standard_normal((5, 2))
    ours, theirs = LA.lstsq(_l(a, device), _l(b, device), driver="gelsd"), torch.linalg.lstsq(_t(a), _t(b),
                                                                                                driver="gelsd")
    _close(ours.solution, theirs.solution, 1e-7)
    assert int(ours.rank.item()) == 2 and ours.residuals.shape == (0,)
    with pytest.raises(RuntimeError, match="driver"):
        LA.lstsq(_l(a, device), _l(b, device), driver="bogus")
    with pytest.raises(RuntimeError, match="rows"):
        LA.lstsq(_l(a, device), _l(b[:4], device))


@pytest.mark.parametrize("scale", [0.01, 1.0, 10.0, 60.0])
def test_matrix_exp_matches_torch(device, rng, scale):
    a = rng.standard_normal((2, 3, 3)) * scale / 3
    _grads_match(LA.matrix_exp, torch.linalg.matrix_exp, [a], device, tol=1e-7 * max(1.0, scale ** 2))


def test_matrix_exp_float32_and_identities(device, rng):
    a = rng.standard_normal((3, 3)).astype(np.float32)
    ours = LA.matrix_exp(lucid.tensor(a, device=device))
    assert ours.dtype == lucid.float32
    np.testing.assert_allclose(_np(ours), torch.linalg.matrix_exp(torch.tensor(a)).numpy(), rtol=1e-5, atol=1e-5)
    _close(LA.matrix_exp(_l(np.zeros((2, 2)), device)), torch.eye(2, dtype=torch.float64))
    assert LA.matrix_exp(_l(np.zeros((0, 0)), device)).shape == (0, 0)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 6, -1, -3])
def test_matrix_power_matches_torch(device, rng, n):
    a = rng.standard_normal((2, 3, 3)) + 2 * np.eye(3)
    _grads_match(lambda x: LA.matrix_power(x, n) + 0 * x, lambda x: torch.linalg.matrix_power(x, n) + 0 * x, [a],
                 device, tol=1e-7)
    ints = lucid.tensor(np.array([[1, 1], [1, 0]]), device=device)
    assert _np(LA.matrix_power(ints, 10)).tolist() == [[89, 55], [55, 34]]
    with pytest.raises(TypeError, match="int"):
        LA.matrix_power(_l(a, device), 1.5)


def test_multi_dot(device, rng):
    shapes = [(3,), (3, 5), (5, 2), (2, 6), (6,)]
    arrays = [rng.standard_normal(s) for s in shapes]
    _grads_match(lambda *xs: LA.multi_dot(xs), lambda *xs: torch.linalg.multi_dot(xs), arrays, device)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        LA.multi_dot([_l(np.ones((2, 3)), device), _l(np.ones((2, 3)), device)])
    with pytest.raises(RuntimeError, match="at least 2"):
        LA.multi_dot([_l(np.ones((2, 3)), device)])


def test_householder_geqrf_orgqr_ormqr(device, rng):
    a = rng.standard_normal((2, 5, 3))
    g, tg = lucid.geqrf(_l(a, device)), torch.geqrf(_t(a))
    _close(g.a, tg.a)
    _close(g.tau, tg.tau)
    _close(lucid.orgqr(g.a, g.tau), torch.orgqr(tg.a, tg.tau))
    _close(g.a.orgqr(g.tau), torch.linalg.qr(_t(a)).Q)  # orgqr of geqrf is qr's Q
    tau = rng.standard_normal((2, 2))
    _grads_match(LA.householder_product, torch.linalg.householder_product, [a, tau], device)
    tau = rng.standard_normal((2, 3))
    for left, transpose in [(True, False), (True, True), (False, False), (False, True)]:
        c = rng.standard_normal((2, 5, 2) if left else (2, 4, 5))
        _grads_match(lambda a, t, c, lf=left, tr=transpose: lucid.ormqr(a, t, c, lf, tr),
                     lambda a, t, c, lf=left, tr=transpose: torch.ormqr(a, t, c, lf, tr), [a, tau, c], device)
    with pytest.raises(RuntimeError, match="householder_product"):
        LA.householder_product(_l(a, device), _l(np.ones((2, 4)), device))


def test_tensorinv_tensorsolve(device, rng):
    a = rng.standard_normal((4, 6, 8, 3))
    _grads_match(LA.tensorinv, torch.linalg.tensorinv, [a], device, tol=1e-7)
    a, b = rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 3))
    _grads_match(LA.tensorsolve, torch.linalg.tensorsolve, [a, b], device, tol=1e-7)
    a = rng.standard_normal((6, 2, 3))
    _close(LA.tensorsolve(_l(a, device), _l(b, device), dims=(0,)), torch.linalg.tensorsolve(_t(a), _t(b), dims=(0,)))
    with pytest.raises(RuntimeError, match="tensorinv"):
        LA.tensorinv(_l(np.ones((2, 3)), device), ind=1)


def test_vander_cross_diagonal(device, rng):
    x = rng.standard_normal((2, 4))
    x[0, 1] = 0.0  # exact gradient at zero
    _grads_match(LA.vander, torch.linalg.vander, [x], device)
    _grads_match(lambda v: LA.vander(v, N=6), lambda v: torch.linalg.vander(v, N=6), [x], device)
    a, b = rng.standard_normal((3, 3, 4)), rng.standard_normal((3, 1, 4))
    _grads_match(lambda a, b: LA.cross(a, b, dim=0), lambda a, b: torch.linalg.cross(a, b, dim=0), [a, b], device)
    _grads_match(lucid.cross, torch.cross, [a, b], device)  # dim=None: the first dimension of size 3
    _close(_l(a, device).cross(_l(b, device), dim=0), torch.cross(_t(a), _t(b), dim=0))
    with pytest.raises(RuntimeError, match="size 3"):
        LA.cross(_l(a, device), _l(b, device))
    with pytest.raises(RuntimeError, match="same number of dimensions"):  # as torch.linalg.cross
        LA.cross(_l(a[0], device), _l(b, device), dim=0)
    _close(LA.diagonal(_l(a, device), offset=1), torch.linalg.diagonal(_t(a), offset=1))


def test_legacy_top_level_forms(device, rng):
    a = rng.standard_normal((2, 4, 3))
    sq = rng.standard_normal((2, 3, 3))
    _close(lucid.logdet(_l(sq, device)), torch.logdet(_t(sq)))
    _close(_l(sq, device).logdet(), torch.logdet(_t(sq)))
    U, S, V = lucid.svd(_l(a, device))
    tU, tS, tV = torch.svd(_t(a))
    _close(S, tS)
    _close(abs(U), tU.abs())
    _close(abs(V), tV.abs())
    for x, y in zip(lucid.svd(_l(a, device), compute_uv=False), torch.svd(_t(a), compute_uv=False)):
        _close(x, y)
    assert lucid.svd(_l(a, device), some=False).U.shape == (2, 4, 4)
    for some in (True, False):
        for x, y in zip(lucid.qr(_l(a, device), some), torch.qr(_t(a), some)):
            _close(x, y)
    _close(LA.qr(_l(a, device), "r").R, torch.linalg.qr(_t(a), "r").R)
    assert LA.qr(_l(a, device), "r").Q.shape == (0,)
    _close(lucid.nuclear_norm(_l(sq, device)), torch.nuclear_norm(_t(sq), dim=(-2, -1)))
    _close(lucid.nuclear_norm(_l(sq[0], device), True), torch.nuclear_norm(_t(sq[0]), True))
    _close(lucid.frobenius_norm(_l(sq, device)), torch.frobenius_norm(_t(sq), dim=(-2, -1)))
    _close(lucid.frobenius_norm(_l(sq, device), (0,), True), torch.frobenius_norm(_t(sq), (0,), True))
    _close(_l(sq, device).matrix_exp(), torch.linalg.matrix_exp(_t(sq)))
    _close(_l(sq, device).matrix_power(2), torch.linalg.matrix_power(_t(sq), 2))
    for removed in (lucid.lstsq, lucid.eig, lucid.matrix_rank):
        with pytest.raises(RuntimeError, match="removed"):
            removed(_l(sq, device))


def test_bad_inputs_raise_clear_errors(device):
    ints = lucid.tensor(np.eye(3, dtype=np.int64), device=device)
    with pytest.raises(TypeError, match="floating"):
        LA.lu(ints)
    with pytest.raises(RuntimeError, match="square"):
        LA.matrix_exp(_l(np.ones((2, 3)), device))
    with pytest.raises(RuntimeError, match="batch of matrices"):
        LA.solve_triangular(_l(np.eye(3), device), _l(np.ones(3), device), upper=True)
    with pytest.raises(RuntimeError, match="LU_pivots"):
        lucid.lu_unpack(_l(np.eye(3), device), _l(np.ones(3), device))


@pytest.mark.parametrize("n", [1, 2, 3, 6])
@pytest.mark.parametrize("diagonal", ["random", "zero", "tiny"])
def test_ldl_factor_and_solve_match_torch(device, rng, n, diagonal):
    a = rng.standard_normal((3, n, n))
    a = a + a.transpose(0, 2, 1)
    if diagonal == "zero":  # forces 2x2 pivots and interchanges
        a[:, np.arange(n), np.arange(n)] = 0
    elif diagonal == "tiny":
        a[:, 0, 0] = 1e-3
    ours, theirs = LA.ldl_factor_ex(_l(a, device)), torch.linalg.ldl_factor_ex(_t(a))
    _close(ours.LD, theirs.LD)
    assert ours.pivots.dtype == lucid.int32
    assert _np(ours.pivots).tolist() == theirs.pivots.numpy().tolist()
    assert _np(ours.info).tolist() == theirs.info.numpy().tolist()
    b = rng.standard_normal((3, n, 2))
    LD, piv = LA.ldl_factor(_l(a, device))
    _close(LA.ldl_solve(LD, piv, _l(b, device)), torch.linalg.ldl_solve(theirs.LD, theirs.pivots, _t(b)), 1e-8)


def test_ldl_singular_and_bad_input(device):
    z = _l(np.zeros((3, 3)), device)
    assert int(LA.ldl_factor_ex(z).info.item()) == int(torch.linalg.ldl_factor_ex(torch.zeros(3, 3)).info) == 1
    with pytest.raises(LA.LinAlgError, match="singular"):
        LA.ldl_factor_ex(z, check_errors=True)
    LD, piv = LA.ldl_factor(_l(np.eye(3), device))
    with pytest.raises(RuntimeError, match="do not fit"):
        LA.ldl_solve(LD, piv, _l(np.ones((2, 1)), device))


def test_qr_complete_gradient_needs_wide_or_square(device, rng):
    a = _l(rng.standard_normal((4, 3)), device, grad=True)
    Q, R = LA.qr(a, "complete")
    assert Q.shape == (4, 4) and R.shape == (4, 3)
    with pytest.raises(RuntimeError, match="complete"):
        Q.sum().backward()


NORM_FORMS = [((), {}), ((1,), {}), ((), {"dim": 1}), (("fro",), {}), (("nuc",), {}), (("fro",), {"dim": (0, 1)}),
              (("nuc",), {"dim": (1, 2)}), ((2,), {"dim": (0, 1)}), ((math.inf,), {"dim": (1, 2)}),
              ((1,), {"dim": (1, 2)}), ((), {"dim": (1, 2), "keepdim": True}), ((0,), {}), ((3,), {}),
              ((-math.inf,), {"dim": 0}), ((2,), {"dim": 2, "keepdim": True}), ((None,), {"dim": 0}),
              (("fro",), {"dim": 1})]


@pytest.mark.parametrize("args,kwargs", NORM_FORMS)
def test_torch_norm_forms(device, rng, args, kwargs):
    x = rng.standard_normal((3, 4, 5))
    if args and args[0] == "nuc" and "dim" not in kwargs:
        x = x[0]
    _grads_match(lambda t: lucid.norm(t, *args, **kwargs), lambda t: torch.norm(t, *args, **kwargs), [x], device)


@pytest.mark.parametrize("shape", [(7, 5), (5, 7), (2, 6, 4)])
def test_svd_lowrank_and_pca_lowrank(device, rng, shape):
    rank = 3
    a = rng.standard_normal(shape[:-1] + (rank,)) @ rng.standard_normal(shape[:-2] + (rank, shape[-1]))
    A = _l(a, device)
    U, S, V = lucid.svd_lowrank(A, q=4)
    tU, tS, tV = torch.svd_lowrank(_t(a), q=4)
    assert (U.shape, S.shape, V.shape) == (tuple(tU.shape), tuple(tS.shape), tuple(tV.shape))
    _close((U * S.unsqueeze(-2)) @ V.mT, _t(a), 1e-8)  # exact for rank <= q
    _close(S[..., :rank], torch.linalg.svdvals(_t(a))[..., :rank], 1e-8)
    centered = a - a.mean(axis=-2, keepdims=True)
    U, S, V = lucid.pca_lowrank(A)
    _close((U * S.unsqueeze(-2)) @ V.mT, _t(centered), 1e-8)
    lucid.manual_seed(3)
    first = lucid.svd_lowrank(A, q=2, niter=0)[1]
    lucid.manual_seed(3)
    _close(lucid.svd_lowrank(A, q=2, niter=0)[1], _t(_np(first)), 0)  # seeded: reproducible
    with pytest.raises(ValueError, match="q"):
        lucid.pca_lowrank(A, q=10)
