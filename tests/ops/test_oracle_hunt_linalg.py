"""Differences from PyTorch found by an oracle hunt over ``lucid.linalg``, ``lucid.fft``, ``lucid.special`` and
complex tensors, each pinned here: ``vector_norm`` with ``dim=()``, a kind-changing ``dtype=`` and a negative
``ord`` over a zero entry; ``vecdot``/``vdot`` of complex vectors (the first conjugated); ``cond`` of singular
and empty matrices; ``svd``'s gradient with ``full_matrices=True``; ``det`` of a matrix with a NaN entry and its
gradient at a singular matrix; lower-case ``UPLO``; ``matrix_power`` with ``n`` 0 and 1; ``fftfreq(0)``,
``rfftfreq(0)`` and integer ``fftfreq`` dtypes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
from lucid.autograd import gradcheck


def _np(t):
    return np.asarray(t.detach().cpu().numpy())


def _t(a, device, requires_grad=False):
    return lucid.tensor(np.asarray(a), device=device, requires_grad=requires_grad)


# ---- vector_norm ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ord", [2, 1, math.inf, 0.5])
def test_vector_norm_empty_dim_reduces_everything(device, rng, ord):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((2, 3, 4))
    for keepdim in (False, True):
        got = lucid.linalg.vector_norm(_t(a, device), ord, dim=(), keepdim=keepdim)
        want = torch.linalg.vector_norm(torch.from_numpy(a), ord, dim=(), keepdim=keepdim)
        assert got.shape == tuple(want.shape)
        np.testing.assert_allclose(_np(got), want.numpy(), rtol=1e-12)
    np.testing.assert_allclose(_np(lucid.norm(_t(a, device), dim=())), torch.norm(torch.from_numpy(a), dim=()).numpy())


def test_vector_norm_dtype_must_keep_the_kind(device, rng):
    z = lucid.tensor(rng.standard_normal(3) + 1j, device=device)
    with pytest.raises(RuntimeError, match="complex"):  # PyTorch refuses; casting would drop the imaginary part
        lucid.linalg.vector_norm(z, dtype=lucid.float64)
    with pytest.raises(RuntimeError, match="real"):
        lucid.linalg.vector_norm(_t(rng.standard_normal(3), device), dtype=lucid.complex64)
    assert lucid.linalg.vector_norm(_t(rng.standard_normal(3).astype("float32"), device),
                                    dtype=lucid.float64).dtype is lucid.float64


def test_vector_norm_negative_ord_gradient_over_a_zero_entry(device):
    torch = pytest.importorskip("torch")
    a = np.array([0.0, 1.0, -2.0, 0.5])
    for ord in (-1, -2, -0.5):
        x = _t(a, device, requires_grad=True)
        lucid.linalg.vector_norm(x, ord).backward()
        tx = torch.tensor(a, requires_grad=True)
        torch.linalg.vector_norm(tx, ord).backward()
        np.testing.assert_array_equal(_np(x.grad), tx.grad.numpy())  # the norm is 0 whatever the others are
    x = _t([0.3, -1.2, 2.0], device, requires_grad=True)
    assert gradcheck(lambda v: lucid.linalg.vector_norm(v, -1.5), (x,))


# ---- complex dot products ------------------------------------------------------------------------------------


def test_vecdot_and_vdot_conjugate_the_first_vector(device, rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    b = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    x, y = _t(a, device, True), _t(b, device, True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    for lr, tr in [(lucid.linalg.vecdot(x, y), torch.linalg.vecdot(tx, ty)),
                   (lucid.vdot(x[0], y[1]), torch.vdot(tx[0], ty[1]))]:
        np.testing.assert_allclose(_np(lr), tr.detach().numpy(), rtol=1e-12)
        w = rng.standard_normal(tr.shape)
        (lucid.real(lr) * _t(w, device) + lucid.imag(lr) * _t(2 * w, device)).sum().backward()
        (tr.real * torch.tensor(w) + tr.imag * torch.tensor(2 * w)).sum().backward()
        np.testing.assert_allclose(_np(x.grad), tx.grad.resolve_conj().numpy(), rtol=1e-12)
        np.testing.assert_allclose(_np(y.grad), ty.grad.resolve_conj().numpy(), rtol=1e-12)
        x.grad = y.grad = tx.grad = ty.grad = None
    norm2 = lucid.linalg.vecdot(x, x)
    np.testing.assert_allclose(_np(norm2), (np.abs(a) ** 2).sum(-1), rtol=1e-12)  # real: the squared norms
    r = _t(rng.standard_normal(3), device)
    assert lucid.vdot(r, r).item() == pytest.approx(lucid.dot(r, r).item())


# ---- cond ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", ["fro", 1, -1, math.inf, -math.inf])
def test_cond_of_a_singular_matrix_is_inf(device, p):
    torch = pytest.importorskip("torch")
    a = np.array([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 0.5], [0.0, 2.0]]])
    got = lucid.linalg.cond(_t(a, device), p)
    np.testing.assert_allclose(_np(got), torch.linalg.cond(torch.from_numpy(a), p).numpy(), rtol=1e-12)
    assert math.isinf(_np(lucid.linalg.cond(_t(a[0], device), "nuc")))


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, math.inf])
def test_cond_of_empty_matrices_is_zero(device, p):
    torch = pytest.importorskip("torch")
    a = np.zeros((2, 0, 0))
    got = lucid.linalg.cond(_t(a, device), p)
    want = torch.linalg.cond(torch.from_numpy(a), p)
    assert got.shape == tuple(want.shape) and got.dtype is lucid.float64
    np.testing.assert_array_equal(_np(got), want.numpy())


def test_cond_stays_differentiable(device, rng):
    a = _t(rng.standard_normal((3, 3)) + 3 * np.eye(3), device, requires_grad=True)
    assert gradcheck(lambda m: lucid.linalg.cond(m, "fro"), (a,))


# ---- svd with full_matrices=True -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 3, 5)])
def test_svd_full_matrices_gradient(device, rng, shape):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal(shape)
    k = min(shape[-2:])

    def loss(lib, U, S, Vh):  # sign-invariant: products of a column of U (row of Vh) with itself
        return (S * S).sum() + (U[..., :k] * U[..., :k] * w_u).sum() + (Vh[..., :k, :] * Vh[..., :k, :] * w_v).sum()

    w_u, w_v = rng.standard_normal(shape[:-1] + (k,)), rng.standard_normal(shape[:-2] + (k, shape[-1]))
    x = _t(a, device, True)
    w_u, w_v = _t(w_u, device), _t(w_v, device)
    loss(lucid, *lucid.linalg.svd(x, full_matrices=True)).backward()
    tx = torch.tensor(a, requires_grad=True)
    w_u, w_v = torch.from_numpy(_np(w_u)), torch.from_numpy(_np(w_v))
    loss(torch, *torch.linalg.svd(tx, full_matrices=True)).backward()
    np.testing.assert_allclose(_np(x.grad), tx.grad.numpy(), rtol=1e-9, atol=1e-10)
    y = _t(a[0], device, True)
    assert gradcheck(lambda m: lucid.linalg.svd(m, full_matrices=True).S, (y,))


# ---- det -----------------------------------------------------------------------------------------------------


def test_det_of_a_matrix_with_nan_is_nan(device):
    torch = pytest.importorskip("torch")
    a = np.array([[[np.nan, 1.0], [1.0, 1.0]], [[1.0, 2.0], [3.0, 4.0]]])
    np.testing.assert_allclose(_np(lucid.linalg.det(_t(a, device))), torch.linalg.det(torch.from_numpy(a)).numpy())


@pytest.mark.parametrize("a", [[[1.0, 2.0], [2.0, 4.0]], [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 5.0]],
                               [[0.0, 0.0], [0.0, 0.0]], [[2.0]], [[0.0]]])
def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix(device, a):
    """LinAlgError before; PyTorch 2.13 returns zeros for an exactly singular matrix, the derivative of the
    polynomial det is the cofactor matrix (what PyTorch's SVD formula of earlier releases gave)."""
    a = np.array(a)
    n = a.shape[0]
    cof = np.array([[(-1) ** (i + j) * (np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) if n > 1 else 1.0)
                     for j in range(n)] for i in range(n)])
    x = _t(a, device, True)
    (lucid.linalg.det(x) * 3.0).backward()
    np.testing.assert_allclose(_np(x.grad), 3.0 * cof, atol=1e-12)
    batch = _t(np.stack([a, a + np.eye(n)]), device, True)  # a singular and a regular one in one batch
    assert gradcheck(lucid.linalg.det, (batch,))


# ---- small API points ----------------------------------------------------------------------------------------


def test_eigh_accepts_lower_case_uplo(device, rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((3, 3))
    for uplo in "lu":
        np.testing.assert_allclose(_np(lucid.linalg.eigvalsh(_t(a, device), uplo)),
                                   torch.linalg.eigvalsh(torch.from_numpy(a), uplo).numpy(), rtol=1e-10)
        np.testing.assert_allclose(_np(lucid.linalg.eigh(_t(a, device), UPLO=uplo).eigenvalues),
                                   torch.linalg.eigh(torch.from_numpy(a), UPLO=uplo).eigenvalues.numpy(), rtol=1e-10)
    with pytest.raises(RuntimeError, match="UPLO"):
        lucid.linalg.eigh(_t(a, device), "X")


def test_matrix_power_zero_and_one(device, rng):
    x = _t(rng.standard_normal((2, 3, 3)), device, True)
    eye = lucid.linalg.matrix_power(x, 0)
    assert eye.requires_grad  # as PyTorch: a result of x, with a zero gradient
    np.testing.assert_array_equal(_np(eye), np.broadcast_to(np.eye(3), (2, 3, 3)))
    eye.sum().backward()
    np.testing.assert_array_equal(_np(x.grad), np.zeros((2, 3, 3)))
    y = _t(rng.standard_normal((3, 3)), device)
    one = lucid.linalg.matrix_power(y, 1)
    assert one is not y
    before = _np(y).copy()
    one.add_(1.0)
    np.testing.assert_array_equal(_np(y), before)
    assert not lucid.linalg.matrix_power(y, 0).requires_grad


def test_fftfreq_of_no_samples_and_integer_dtypes(device):
    torch = pytest.importorskip("torch")
    for name in ("fftfreq", "rfftfreq"):
        got = getattr(lucid.fft, name)(0, device=device)  # ZeroDivisionError before
        want = getattr(torch.fft, name)(0)  # fftfreq: empty; rfftfreq: one entry, 0 / 0
        assert got.shape == tuple(want.shape) and got.dtype is lucid.float32
        np.testing.assert_array_equal(_np(got), want.numpy())
        with pytest.raises(TypeError, match="floating"):  # would be all zeros; PyTorch refuses
            getattr(lucid.fft, name)(4, dtype=lucid.int64, device=device)
        with pytest.raises(ValueError):
            getattr(lucid.fft, name)(-1, device=device)
    np.testing.assert_allclose(_np(lucid.fft.fftfreq(5, 0.5, device=device, dtype=lucid.float64)),
                               torch.fft.fftfreq(5, 0.5, dtype=torch.float64).numpy())
