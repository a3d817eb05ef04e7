"""Linear algebra: products, einsum, inverses, decompositions and norms (values, gradients, errors)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
from lucid import linalg as LA
from lucid.autograd import gradcheck, gradgradcheck

INF = math.inf


def _t(arr, device, grad=True):
    return lucid.tensor(np.asarray(arr, dtype=np.float64), device=device, requires_grad=grad)


def _np(t):
    return t.detach().numpy(force=True)


def _well_conditioned(rng, *shape):
    """Random square matrices (last two dims n x n) far from singular."""
    n = shape[-1]
    return rng.standard_normal(shape) + n * np.eye(n)


def _spd(x):
    """A symmetric positive-definite matrix made differentiably from ``x``."""
    n = x.shape[-1]
    return x @ x.mT + n * lucid.eye(n, dtype=x.dtype, device=x.device)


# ---- matmul and friends -------------------------------------------------------------------
MATMUL_SHAPES = [
    ((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)),
    ((5, 1, 2, 3), (4, 3, 2)), ((3,), (5, 3, 4)), ((5, 2, 3), (3,)), ((2, 2, 3), (2, 3, 2)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_values_and_grad(device, rng, sa, sb):
    a, b = _t(rng.standard_normal(sa), device), _t(rng.standard_normal(sb), device)
    out = a @ b
    np.testing.assert_allclose(_np(out), np.matmul(_np(a), _np(b)), rtol=1e-12, atol=1e-12)
    assert gradcheck(lucid.matmul, (a, b))


@pytest.mark.parametrize("sa,sb", [((2, 3), (3, 4)), ((3,), (2, 3, 2)), ((2, 2, 3), (3,)), ((2, 1, 2, 3), (2, 3, 2))])
def test_matmul_gradgrad(device, rng, sa, sb):
    a, b = _t(rng.standard_normal(sa), device), _t(rng.standard_normal(sb), device)
    assert gradgradcheck(lucid.matmul, (a, b))


def test_matmul_float32_and_methods(device, rng):
    a = lucid.tensor(rng.standard_normal((4, 3)).astype(np.float32), device=device)
    b = lucid.tensor(rng.standard_normal((3, 2)).astype(np.float32), device=device)
    for out in (a @ b, a.matmul(b), a.mm(b), lucid.mm(a, b)):
        assert out.dtype is lucid.float32 and out.device is device
        np.testing.assert_allclose(out.numpy(force=True), _np(a) @ _np(b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np([[1.0, 2.0, 3.0, 4.0]] @ a), np.array([[1.0, 2.0, 3.0, 4.0]]) @ _np(a), rtol=1e-5)


def test_matmul_errors_name_shapes(device):
    a, b = lucid.ones(2, 3, device=device), lucid.ones(4, 5, device=device)
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\(4, 5\)"):
        a @ b
    with pytest.raises(RuntimeError, match=r"batch dimensions"):
        lucid.ones(2, 2, 3, device=device) @ lucid.ones(3, 3, 4, device=device)
    with pytest.raises(RuntimeError, match="at least 1 dimension"):
        lucid.matmul(lucid.ones(3, device=device), lucid.tensor(2.0, device=device))
    with pytest.raises(RuntimeError, match="same dtype.*float32.*float64"):
        a @ lucid.ones(3, 2, dtype=lucid.float64, device=device)
    with pytest.raises(RuntimeError, match="mm needs two matrices"):
        lucid.mm(lucid.ones(2, 2, 3, device=device), lucid.ones(3, 2, device=device))
    with pytest.raises(RuntimeError, match="same batch size"):
        lucid.bmm(lucid.ones(2, 2, 3, device=device), lucid.ones(3, 3, 2, device=device))
    with pytest.raises(RuntimeError, match="same length"):
        lucid.dot(lucid.ones(3, device=device), lucid.ones(4, device=device))
    with pytest.raises(RuntimeError, match="1-D"):
        lucid.outer(lucid.ones(3, 1, device=device), lucid.ones(4, device=device))


def test_bmm_dot_outer(device, rng):
    a, b = _t(rng.standard_normal((4, 2, 3)), device), _t(rng.standard_normal((4, 3, 5)), device)
    np.testing.assert_allclose(_np(lucid.bmm(a, b)), _np(a) @ _np(b), rtol=1e-12)
    assert gradcheck(lucid.bmm, (a, b))
    u, v = _t(rng.standard_normal(5), device), _t(rng.standard_normal(5), device)
    assert lucid.dot(u, v).shape == ()
    np.testing.assert_allclose(_np(u.dot(v)), np.dot(_np(u), _np(v)), rtol=1e-12)
    assert gradcheck(lucid.dot, (u, v))
    w = _t(rng.standard_normal(3), device)
    np.testing.assert_allclose(_np(u.outer(w)), np.outer(_np(u), _np(w)), rtol=1e-12)
    assert gradcheck(lucid.outer, (u, w))
    x, y = _t(rng.standard_normal((2, 4)), device), _t(rng.standard_normal((3, 1, 4)), device)
    np.testing.assert_allclose(_np(LA.vecdot(x, y)), (_np(x) * _np(y)).sum(-1), rtol=1e-12)
    assert gradcheck(LA.vecdot, (x, y))


def test_matmul_with_a_tensor_twice(device, rng):
    a = _t(rng.standard_normal((3, 3)), device)
    (a @ a).sum().backward()
    ones = np.ones((3, 3))
    np.testing.assert_allclose(_np(a.grad), ones @ _np(a).T + _np(a).T @ ones, rtol=1e-12)


@pytest.mark.parametrize("sa,sb,dims", [
    ((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 4), 1), ((2, 3), (4,), 0),
    ((2, 3, 4), (4, 2, 3), ([1, 2], [2, 0])), ((3, 4), (4, 3), ([0], [1])), ((3, 4), (5, 3), (0, 1)),
])
def test_tensordot(device, rng, sa, sb, dims):
    a, b = _t(rng.standard_normal(sa), device), _t(rng.standard_normal(sb), device)
    np.testing.assert_allclose(_np(lucid.tensordot(a, b, dims)), np.tensordot(_np(a), _np(b), dims), rtol=1e-12)
    assert gradcheck(lambda x, y: lucid.tensordot(x, y, dims), (a, b))


def test_tensordot_errors(device):
    a, b = lucid.ones(2, 3, device=device), lucid.ones(4, 5, device=device)
    with pytest.raises(RuntimeError, match=r"contracted dimensions differ.*\(2, 3\).*\(4, 5\)"):
        lucid.tensordot(a, b, 1)
    with pytest.raises(RuntimeError, match="out of range"):
        lucid.tensordot(a, b, 3)
    with pytest.raises(RuntimeError, match="name 2 axes"):
        lucid.tensordot(a, b, ([0, 1], [0]))


# ---- einsum -------------------------------------------------------------------------------
EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ba,ac", [(2, 3), (3, 4)]),  # implicit output sorted: 'bc'
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("...ij,...jk->...ik", [(3, 1, 2, 3), (4, 3, 2)]),
    ("...ij,jk", [(3, 2, 3), (3, 4)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->", [(3, 4)]),
    ("ij->ji", [(3, 4)]),
    ("ijk->j", [(2, 3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->ji", [(3, 3, 2)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    (" i j , j k -> i k ", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES)
def test_einsum_values_and_grad(device, rng, eq, shapes):
    ops = [_t(rng.standard_normal(s), device) for s in shapes]
    out = lucid.einsum(eq, *ops)
    np.testing.assert_allclose(_np(out), np.einsum(eq.replace(" ", ""), *map(_np, ops)), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda *xs: lucid.einsum(eq, *xs), ops)


@pytest.mark.parametrize("eq,shapes", [("ij,jk->ik", [(2, 3), (3, 2)]), ("ii->i", [(3, 3)]),
                                       ("i,i->", [(3,), (3,)])])
def test_einsum_gradgrad(device, rng, eq, shapes):
    ops = [_t(rng.standard_normal(s), device) for s in shapes]
    assert gradgradcheck(lambda *xs: lucid.einsum(eq, *xs), ops)


def test_einsum_list_operands_and_same_tensor(device, rng):
    a = _t(rng.standard_normal(4), device)
    out = lucid.einsum("i,i->", [a, a])
    out.backward()
    np.testing.assert_allclose(_np(a.grad), 2 * _np(a), rtol=1e-12)


def test_einsum_errors(device):
    a = lucid.ones(2, 3, device=device)
    with pytest.raises(ValueError, match="2 operands, but 1"):
        lucid.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="'j' has size 4"):
        lucid.einsum("ij,jk->ik", a, lucid.ones(4, 5, device=device))
    with pytest.raises(ValueError, match="do not match an operand of shape"):
        lucid.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="bad subscripts"):
        lucid.einsum("i1->i", a)
    with pytest.raises(ValueError, match="output subscripts"):
        lucid.einsum("ij->k", a)
    with pytest.raises(RuntimeError, match="one dtype"):
        lucid.einsum("ij,ij->", a, lucid.ones(2, 3, dtype=lucid.float64, device=device))


# ---- inverses, determinants, solve --------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_inv(device, rng, shape):
    a = _t(_well_conditioned(rng, *shape), device)
    np.testing.assert_allclose(_np(LA.inv(a)), np.linalg.inv(_np(a)), rtol=1e-10)
    np.testing.assert_allclose(_np(a.inverse()), np.linalg.inv(_np(a)), rtol=1e-10)
    assert gradcheck(LA.inv, (a,))
    assert gradgradcheck(LA.inv, (a,))


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)])
def test_det_and_slogdet(device, rng, shape):
    a = _t(_well_conditioned(rng, *shape) * np.where(np.arange(shape[-1]) == 0, -1.0, 1.0), device)
    np.testing.assert_allclose(_np(LA.det(a)), np.linalg.det(_np(a)), rtol=1e-10)
    assert gradcheck(LA.det, (a,))
    assert gradgradcheck(LA.det, (a,))
    sign, logabsdet = LA.slogdet(a)
    ref = np.linalg.slogdet(_np(a))
    np.testing.assert_allclose(_np(sign), ref.sign)
    np.testing.assert_allclose(_np(logabsdet), ref.logabsdet, rtol=1e-10)
    assert gradcheck(lambda x: LA.slogdet(x).logabsdet, (a,))
    np.testing.assert_allclose(_np(a.det()), np.linalg.det(_np(a)), rtol=1e-10)


def test_singular_raises(device):
    if device.type == "cuda":
        pytest.skip("CuPy returns non-finite values for singular matrices instead of raising")
    singular = lucid.tensor([[1.0, 2.0], [2.0, 4.0]], device=device)
    with pytest.raises(LA.LinAlgError, match=r"linalg.inv.*\(2, 2\)"):
        LA.inv(singular)
    with pytest.raises(LA.LinAlgError, match="linalg.cholesky"):
        LA.cholesky(lucid.tensor([[1.0, 2.0], [2.0, 1.0]], device=device))


def test_bad_input(device):
    with pytest.raises(RuntimeError, match=r"square matrices.*\(2, 3\)"):
        LA.inv(lucid.ones(2, 3, device=device))
    with pytest.raises(TypeError, match="floating"):
        LA.det(lucid.ones(2, 2, dtype=lucid.int64, device=device))
    with pytest.raises(RuntimeError, match=r"matrices \(shape \(\*, m, n\)\).*\(3,\)"):
        LA.qr(lucid.ones(3, device=device))
    with pytest.raises(RuntimeError, match="batch dimensions"):
        LA.solve(lucid.ones(2, 3, 3, device=device), lucid.ones(4, 3, 1, device=device))
    with pytest.raises(RuntimeError, match="two dimensions"):
        LA.matrix_norm(lucid.ones(2, 3, device=device), dim=1)
    with pytest.raises(RuntimeError, match="more than once"):
        LA.matrix_norm(lucid.ones(2, 3, device=device), dim=(1, -1))


SOLVE_CASES = [((3, 3), (3, 2)), ((3, 3), (3,)), ((2, 3, 3), (2, 3)), ((2, 3, 3), (3, 4)), ((3, 3), (2, 3, 1)),
               ((2, 1, 3, 3), (4, 3, 2))]


@pytest.mark.parametrize("sa,sb", SOLVE_CASES)
def test_solve(device, rng, sa, sb):
    a, b = _t(_well_conditioned(rng, *sa), device), _t(rng.standard_normal(sb), device)
    x = LA.solve(a, b)
    A, B = _np(a), _np(b)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    ref = np.linalg.solve(A, B[..., None])[..., 0] if vector else np.linalg.solve(A, B)
    np.testing.assert_allclose(_np(x), ref, rtol=1e-10, atol=1e-12)
    assert gradcheck(LA.solve, (a, b))


def test_solve_gradgrad_and_left(device, rng):
    a, b = _t(_well_conditioned(rng, 3, 3), device), _t(rng.standard_normal((3, 2)), device)
    assert gradgradcheck(LA.solve, (a, b))
    c = _t(rng.standard_normal((2, 3)), device)
    x = LA.solve(a, c, left=False)
    np.testing.assert_allclose(_np(x) @ _np(a), _np(c), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda p, q: LA.solve(p, q, left=False), (a, c))
    with pytest.raises(RuntimeError, match=r"\(3, 3\).*\(4, 2\)"):
        LA.solve(a, lucid.ones(4, 2, dtype=lucid.float64, device=device))


# ---- decompositions -----------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_cholesky(device, rng, shape):
    x = _t(rng.standard_normal(shape), device)
    spd = _spd(x)
    L = LA.cholesky(spd)
    np.testing.assert_allclose(_np(L), np.linalg.cholesky(_np(spd)), rtol=1e-10)
    np.testing.assert_allclose(_np(LA.cholesky(spd, upper=True)), np.swapaxes(_np(L), -1, -2), rtol=1e-10)
    assert gradcheck(lambda t: LA.cholesky(_spd(t)), (x,))
    assert gradcheck(lambda t: LA.cholesky(_spd(t), upper=True), (x,))


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5), (2, 4, 2)])
def test_qr(device, rng, shape):
    a = _t(rng.standard_normal(shape), device)
    q, r = LA.qr(a)
    k = min(shape[-2:])
    assert q.shape == shape[:-1] + (k,) and r.shape == shape[:-2] + (k, shape[-1])
    ref_q, ref_r = np.linalg.qr(_np(a))
    np.testing.assert_allclose(_np(q), ref_q, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(r), ref_r, rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda t: tuple(LA.qr(t)), (a,))
    with pytest.raises(ValueError, match="'reduced', 'complete' or 'r'"):
        LA.qr(a, mode="full")


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5), (2, 3, 2)])
def test_svd(device, rng, shape):
    a = _t(rng.standard_normal(shape), device)
    U, S, Vh = LA.svd(a, full_matrices=False)
    ref = np.linalg.svd(_np(a), full_matrices=False)
    np.testing.assert_allclose(_np(S), ref.S, rtol=1e-10)
    np.testing.assert_allclose((_np(U) * _np(S)[..., None, :]) @ _np(Vh), _np(a), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda t: tuple(LA.svd(t, full_matrices=False)), (a,))
    np.testing.assert_allclose(_np(LA.svdvals(a)), ref.S, rtol=1e-10)
    assert gradcheck(LA.svdvals, (a,))


@pytest.mark.parametrize("name", ["cholesky", "qr", "svd", "slogdet"])
def test_decomposition_gradgrad(device, rng, name):
    fn = {
        "cholesky": lambda t: LA.cholesky(_spd(t)),
        "qr": lambda t: tuple(LA.qr(t)),
        "svd": lambda t: tuple(LA.svd(t, full_matrices=False)),
        "slogdet": lambda t: LA.slogdet(t + 3 * lucid.eye(3, dtype=t.dtype, device=t.device)).logabsdet,
    }[name]
    assert gradgradcheck(fn, (_t(rng.standard_normal((3, 3) if name != "qr" else (3, 2)), device),))


def test_svd_full_matrices(device, rng):
    a = _t(rng.standard_normal((4, 2)), device)
    U, S, Vh = LA.svd(a)
    assert U.shape == (4, 4) and S.shape == (2,) and Vh.shape == (2, 2)
    U.sum().backward()  # the columns past min(m, n) are ignored, as PyTorch (see test_oracle_hunt_linalg.py)
    b = _t(_np(a), device)
    LA.svd(b, full_matrices=False).U.sum().backward()
    np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=1e-6, atol=1e-6)


def test_svd_of_rank_deficient_matrix_through_singular_values(device):
    a = lucid.tensor(np.diag([2.0, 2.0, 0.0]), device=device, requires_grad=True)
    LA.svd(a, full_matrices=False).S.sum().backward()  # repeated and zero singular values
    assert np.isfinite(_np(a.grad)).all()
    np.testing.assert_allclose(_np(a.grad)[:2, :2], np.eye(2), atol=1e-12)


# ---- norms --------------------------------------------------------------------------------
VECTOR_ORDS = [2, 1, INF, -INF, 3, 0.5, 0]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), ((0, 2), True), (-1, True)])
def test_vector_norm(device, rng, ord, dim, keepdim):
    x = _t(rng.standard_normal((2, 3, 4)), device)
    out = LA.vector_norm(x, ord, dim, keepdim)
    X = np.abs(_np(x))
    axes = dim if dim is not None else (0, 1, 2)
    if ord == 0:
        ref = (X != 0).sum(axis=axes, keepdims=keepdim).astype(float)
    elif ord == INF:
        ref = X.max(axis=axes, keepdims=keepdim)
    elif ord == -INF:
        ref = X.min(axis=axes, keepdims=keepdim)
    else:
        ref = (X**ord).sum(axis=axes, keepdims=keepdim) ** (1 / ord)
    np.testing.assert_allclose(_np(out), ref, rtol=1e-12)
    assert gradcheck(lambda t: LA.vector_norm(t, ord, dim, keepdim), (x,))


def test_vector_norm_gradgrad_and_zero(device, rng):
    x = _t(rng.standard_normal((3, 4)), device)
    assert gradgradcheck(lambda t: LA.vector_norm(t, 2, 1), (x,))
    assert gradgradcheck(lambda t: LA.vector_norm(t, 3, 0), (x,))
    z = lucid.zeros(3, dtype=lucid.float64, device=device, requires_grad=True)
    LA.vector_norm(z).backward()
    np.testing.assert_array_equal(_np(z.grad), np.zeros(3))  # subgradient 0, not nan (as PyTorch)


MATRIX_ORDS = ["fro", "nuc", 1, -1, 2, -2, INF, -INF]


@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_matrix_norm(device, rng, ord):
    a = _t(rng.standard_normal((3, 4)), device)
    np.testing.assert_allclose(_np(LA.matrix_norm(a, ord)), np.linalg.norm(_np(a), ord), rtol=1e-10)
    np.testing.assert_allclose(_np(LA.norm(a, ord)), np.linalg.norm(_np(a), ord), rtol=1e-10)
    assert gradcheck(lambda t: LA.matrix_norm(t, ord), (a,))
    b = _t(rng.standard_normal((3, 2, 4)), device)  # matrices along dims (2, 0), batched over dim 1
    out = LA.matrix_norm(b, ord, dim=(2, 0), keepdim=True)
    ref = np.stack([np.linalg.norm(_np(b)[:, i, :].T, ord) for i in range(2)])
    assert out.shape == (1, 2, 1)
    np.testing.assert_allclose(_np(out).reshape(-1), ref, rtol=1e-10)
    assert gradcheck(lambda t: LA.matrix_norm(t, ord, dim=(2, 0)), (b,))


def test_norm_dispatch(device, rng):
    x = _t(rng.standard_normal((3, 4)), device)
    X = _np(x)
    np.testing.assert_allclose(_np(LA.norm(x)), np.sqrt((X**2).sum()), rtol=1e-12)
    np.testing.assert_allclose(_np(LA.norm(x, 1, dim=1)), np.abs(X).sum(1), rtol=1e-12)
    np.testing.assert_allclose(_np(LA.norm(x, 1)), np.linalg.norm(X, 1), rtol=1e-12)  # matrix 1-norm
    np.testing.assert_allclose(_np(LA.norm(x.reshape(-1), INF)), np.abs(X).max(), rtol=1e-12)
    # torch.norm semantics: always a vector norm over dim (the whole tensor when None)
    np.testing.assert_allclose(_np(lucid.norm(x, 1)), np.abs(X).sum(), rtol=1e-12)
    np.testing.assert_allclose(_np(x.norm()), np.sqrt((X**2).sum()), rtol=1e-12)
    np.testing.assert_allclose(_np(x.norm(dim=1, keepdim=True)), np.sqrt((X**2).sum(1, keepdims=True)), rtol=1e-12)
    np.testing.assert_allclose(_np(x.norm(p="nuc")), np.linalg.norm(X, "nuc"), rtol=1e-10)
    f32 = lucid.tensor(X.astype(np.float32), device=device)
    assert f32.norm().dtype is lucid.float32
    assert LA.vector_norm(f32, dtype=lucid.float64).dtype is lucid.float64
    with pytest.raises(RuntimeError, match="1-D or 2-D"):
        LA.norm(lucid.ones(2, 2, 2, device=device), 2)
    with pytest.raises(ValueError, match="ord must be one of"):
        LA.matrix_norm(x, 3)
    with pytest.raises(ValueError, match="ord must be a number"):
        LA.vector_norm(x, "fro")
    with pytest.raises(TypeError, match="floating"):
        LA.vector_norm(lucid.ones(3, dtype=lucid.int64, device=device))


# ---- PyTorch oracle -----------------------------------------------------------------------
def _oracle_cases(rng):
    """(name, lucid fn, torch fn, input arrays): each fn maps tensors to one tensor or a tuple."""
    r = rng.standard_normal
    sq = _well_conditioned(rng, 2, 3, 3)
    return [
        ("matmul", lucid.matmul, "matmul", [r((2, 1, 3, 4)), r((5, 4, 2))]),
        ("matmul-1d", lucid.matmul, "matmul", [r(4), r((2, 4, 3))]),
        ("mm", lucid.mm, "mm", [r((2, 3)), r((3, 4))]),
        ("bmm", lucid.bmm, "bmm", [r((2, 2, 3)), r((2, 3, 4))]),
        ("dot", lucid.dot, "dot", [r(4), r(4)]),
        ("outer", lucid.outer, "outer", [r(3), r(4)]),
        ("tensordot", lambda a, b: lucid.tensordot(a, b, ([1, 0], [0, 2])),
         lambda t, a, b: t.tensordot(a, b, ([1, 0], [0, 2])), [r((3, 2, 4)), r((2, 5, 3))]),
        ("einsum", lambda a, b: lucid.einsum("...ij,jk->...ki", a, b),
         lambda t, a, b: t.einsum("...ij,jk->...ki", a, b), [r((2, 3, 4)), r((4, 5))]),
        ("einsum-trace", lambda a: lucid.einsum("bii->b", a), lambda t, a: t.einsum("bii->b", a), [r((2, 3, 3))]),
        ("inv", LA.inv, "linalg.inv", [sq]),
        ("det", LA.det, "linalg.det", [sq]),
        ("slogdet", lambda a: LA.slogdet(a).logabsdet, lambda t, a: t.linalg.slogdet(a).logabsdet, [sq]),
        ("solve", LA.solve, "linalg.solve", [sq, r((2, 3))]),
        ("solve-right", lambda a, b: LA.solve(a, b, left=False), lambda t, a, b: t.linalg.solve(a, b, left=False),
         [sq, r((4, 3))]),
        ("cholesky", lambda x: LA.cholesky(_spd(x)),
         lambda t, x: t.linalg.cholesky(x @ x.mT + 3 * t.eye(3, dtype=x.dtype)), [r((2, 3, 3))]),
        ("qr", lambda a: tuple(q * q for q in LA.qr(a)), lambda t, a: tuple(q * q for q in t.linalg.qr(a)),
         [r((2, 4, 3))]),
        ("qr-wide", lambda a: tuple(q * q for q in LA.qr(a)), lambda t, a: tuple(q * q for q in t.linalg.qr(a)),
         [r((3, 5))]),
        ("svd", lambda a: tuple(u * u for u in LA.svd(a, full_matrices=False)),
         lambda t, a: tuple(u * u for u in t.linalg.svd(a, full_matrices=False)), [r((2, 4, 3))]),
        ("svd-wide", lambda a: tuple(u * u for u in LA.svd(a, full_matrices=False)),
         lambda t, a: tuple(u * u for u in t.linalg.svd(a, full_matrices=False)), [r((3, 5))]),
        ("svdvals", LA.svdvals, "linalg.svdvals", [r((2, 3, 4))]),
        *[(f"vector_norm-{o}", lambda x, o=o: LA.vector_norm(x, o, (0, 2)),
           lambda t, x, o=o: t.linalg.vector_norm(x, o, (0, 2)), [r((2, 3, 4))]) for o in VECTOR_ORDS],
        *[(f"matrix_norm-{o}", lambda x, o=o: LA.matrix_norm(x, o, (2, 0)),
           lambda t, x, o=o: t.linalg.matrix_norm(x, o, (2, 0)), [r((3, 2, 4))]) for o in MATRIX_ORDS],
        ("linalg.norm", lambda x: LA.norm(x, 1), lambda t, x: t.linalg.norm(x, 1), [r((3, 4))]),
        ("norm", lambda x: lucid.norm(x, 3, 1, True), lambda t, x: t.norm(x, 3, 1, True), [r((3, 4))]),
    ]


def test_torch_oracle(device, rng):
    torch = pytest.importorskip("torch")
    for name, fn, tfn, arrays in _oracle_cases(rng):
        if isinstance(tfn, str):
            tfn = (lambda path: lambda t, *xs: __import__("operator").attrgetter(path)(t)(*xs))(tfn)
        ours = [_t(a, device) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        out, ref = fn(*ours), tfn(torch, *theirs)
        out = out if isinstance(out, tuple) else (out,)
        ref = ref if isinstance(ref, tuple) else (ref,)
        weights = [rng.standard_normal(tuple(o.shape)) for o in ref]
        for o, t_ in zip(out, ref):
            np.testing.assert_allclose(_np(o), t_.detach().numpy(), rtol=1e-9, atol=1e-10, err_msg=name)
        sum(((o * lucid.tensor(w, device=device)).sum() for o, w in zip(out, weights)), start=0.0).backward()
        sum((t_ * torch.tensor(w)).sum() for t_, w in zip(ref, weights)).backward()
        for x, tx in zip(ours, theirs):
            expected = np.zeros(x.shape) if tx.grad is None else tx.grad.numpy()  # torch: None for ord=0 norms
            np.testing.assert_allclose(_np(x.grad), expected, rtol=1e-8, atol=1e-10, err_msg=name)


# ---- empty and 0-d operands, against PyTorch (issue 11) --------------------------------------------------------
@pytest.mark.parametrize(("sa", "sb"), [((0, 3, 4), (4, 5)), ((2, 3, 0), (0, 5)), ((2, 3, 4), (4, 0)),
                                        ((0, 3, 4), (1, 4, 5)), ((4,), (0, 4, 5)), ((0, 4), (4,))])
def test_matmul_backward_with_empty_dimensions(device, rng, sa, sb):
    a, b = _t(rng.standard_normal(sa), device), _t(rng.standard_normal(sb), device)
    y = a @ b
    y.sum().backward()
    torch = pytest.importorskip("torch")
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (_np(a), _np(b)))
    ty = ta @ tb
    ty.sum().backward()
    assert y.shape == tuple(ty.shape)
    np.testing.assert_array_equal(_np(a.grad), ta.grad.numpy())
    np.testing.assert_array_equal(_np(b.grad), tb.grad.numpy())


NORMS_OF_0D = {
    "linalg.norm dim=0": lambda L, t: L.linalg.norm(t, dim=0),
    "linalg.norm dim=-1 keepdim": lambda L, t: L.linalg.norm(t, dim=-1, keepdim=True),
    "vector_norm dim=0 ord=1": lambda L, t: L.linalg.vector_norm(t, 1, dim=0),
    "Tensor.norm dim=0": lambda L, t: t.norm(dim=0),
    "norm dim=(0,) p=3": lambda L, t: L.norm(t, 3, dim=(0,)),
}


@pytest.mark.parametrize("name", NORMS_OF_0D)
def test_norm_of_a_0d_tensor_over_dim_0(device, name):
    """A 0-d tensor accepts dim 0 / -1 (its only element), as PyTorch; it used to be NumPy's AxisError."""
    fn = NORMS_OF_0D[name]
    x = _t(-3.0, device)
    y = fn(lucid, x)
    y.backward()
    torch = pytest.importorskip("torch")
    tx = torch.tensor(-3.0, dtype=torch.float64, requires_grad=True)
    ty = fn(torch, tx)
    ty.backward()
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(_np(y), ty.detach().numpy())
    np.testing.assert_allclose(_np(x.grad), tx.grad.numpy())


@pytest.mark.parametrize("ord", [math.inf, -math.inf, -1, -0.5])
def test_vector_norm_without_identity_on_empty_raises_as_torch(device, ord):
    with pytest.raises(RuntimeError, match=f"cannot compute the {ord} norm over dimension 0"):
        LA.vector_norm(_t(np.zeros((0, 3)), device), ord)
    assert _np(LA.vector_norm(_t(np.zeros((0, 3)), device), ord, dim=1)).shape == (0,)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="empty"):
        torch.linalg.vector_norm(torch.zeros(0, 3), ord)


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf])
@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (2, 0, 3)])
def test_matrix_norm_of_empty_matrices_as_torch(device, ord, shape):
    torch = pytest.importorskip("torch")
    try:
        want = torch.linalg.matrix_norm(torch.zeros(shape, dtype=torch.float64), ord).numpy()
    except IndexError:
        with pytest.raises(IndexError, match="linalg.matrix_norm"):
            LA.matrix_norm(_t(np.zeros(shape), device), ord)
        return
    np.testing.assert_array_equal(_np(LA.matrix_norm(_t(np.zeros(shape), device), ord)), want)


def test_norm_of_float16_does_not_overflow(device):
    if not device.backend.supports(lucid.float16):
        pytest.skip("no float16 on this backend")
    x = lucid.tensor([300.0, 300.0], dtype=lucid.float16, device=device)
    y = LA.vector_norm(x)
    assert y.dtype is lucid.float16 and abs(float(y) - 424.26) < 0.5  # 300² overflows float16


def test_vecdot_and_norm_errors_name_the_op(device):
    with pytest.raises(RuntimeError, match=r"linalg.vecdot: shapes \(3, 4\) and \(5,\) do not broadcast"):
        LA.vecdot(_t(np.ones((3, 4)), device), _t(np.ones(5), device))
    with pytest.raises(TypeError, match="linalg.norm expects a Tensor, got list"):
        LA.norm([1.0, 2.0])
