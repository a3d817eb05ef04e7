"""``lucid.linalg`` on complex matrices against PyTorch: values, dtypes (complex in, complex out; singular
values, eigenvalues of Hermitian matrices, ``logabsdet``, norms, ``cond`` and ranks real) and gradients with
PyTorch's convention (``grad = dL/dRe + i dL/dIm``), compared on the same programs over random well-conditioned
batched matrices. Every differentiable op also gets a float64 finite-difference gradcheck through real leaves
(``complex(re, im)``), and the losses that depend on the free phase of singular or eigen vectors raise, as
PyTorch's."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
import lucid.linalg as LA
from lucid.autograd import gradcheck

torch = pytest.importorskip("torch")

SEED = 20


def _complex(rng, *shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _square(rng, *shape):
    """Well-conditioned square matrices: random plus 3 * identity."""
    return _complex(rng, *shape) + 3 * np.eye(shape[-1])


def _hpd(rng, *shape):
    """Hermitian positive-definite matrices with well-separated eigenvalues."""
    a = _complex(rng, *shape)
    return a @ np.conj(np.swapaxes(a, -1, -2)) + shape[-1] * np.eye(shape[-1])


# name -> (fn(m, *tensors) on lucid or torch, input makers); outputs that depend on the phase of singular or
# eigen vectors are given through phase-free functions of them (U @ Vh, |V|)
CASES = {
    "det": (lambda m, a: m.linalg.det(a), [_square]),
    "slogdet": (lambda m, a: tuple(m.linalg.slogdet(a)), [_square]),
    "logdet": (lambda m, a: m.logdet(a), [_square]),
    "inv": (lambda m, a: m.linalg.inv(a), [_square]),
    "matrix_power(-2)": (lambda m, a: m.linalg.matrix_power(a, -2), [_square]),
    "solve": (lambda m, a, b: m.linalg.solve(a, b), [_square, lambda r, *s: _complex(r, *s[:-1], 2)]),
    "solve(left=False)": (lambda m, a, b: m.linalg.solve(a, b, left=False), [_square, _complex]),
    "solve(vector)": (lambda m, a, b: m.linalg.solve(a, b), [_square, lambda r, *s: _complex(r, *s[:-1])]),
    "cholesky": (lambda m, a: m.linalg.cholesky(a), [_hpd]),
    "cholesky(upper)": (lambda m, a: m.linalg.cholesky(a, upper=True), [_hpd]),
    "cholesky_solve": (lambda m, a, b: m.cholesky_solve(b, m.linalg.cholesky(a)), [_hpd, _complex]),
    "cholesky_solve(upper)": (lambda m, a, b: m.cholesky_solve(b, m.linalg.cholesky(a, upper=True), upper=True),
                              [_hpd, _complex]),
    "cholesky_inverse": (lambda m, a: m.cholesky_inverse(m.linalg.cholesky(a)), [_hpd]),
    "qr": (lambda m, a: tuple(m.linalg.qr(a)), [_square]),
    "qr(tall)": (lambda m, a: tuple(m.linalg.qr(a)), [lambda r, *s: _complex(r, *s[:-2], 5, 3)]),
    "qr(wide)": (lambda m, a: tuple(m.linalg.qr(a)), [lambda r, *s: _complex(r, *s[:-2], 3, 5)]),
    "svdvals": (lambda m, a: m.linalg.svdvals(a), [lambda r, *s: _complex(r, *s[:-2], 4, 3)]),
    "svd(tall)": (lambda m, a: (lambda u, s, vh: (u @ vh, s, u.abs(), vh.abs()))(*m.linalg.svd(a, full_matrices=False)),
                  [lambda r, *s: _complex(r, *s[:-2], 5, 3)]),
    "svd(wide, full)": (lambda m, a: (lambda u, s, vh: (u[..., :3] @ vh[..., :3, :], s, u.abs()))(*m.linalg.svd(a)),
                        [lambda r, *s: _complex(r, *s[:-2], 3, 5)]),
    "svd(legacy)": (lambda m, a: (lambda u, s, v: (u @ v.mH, s))(*m.svd(a)), [_square]),
    "eigh": (lambda m, a: (lambda w, v: (w, v.abs()))(*m.linalg.eigh(a)), [_hpd]),
    "eigh(U)": (lambda m, a: (lambda w, v: (w, v.abs()))(*m.linalg.eigh(a, UPLO="U")), [_hpd]),
    "eigvalsh": (lambda m, a: m.linalg.eigvalsh(a), [_hpd]),
    "eig": (lambda m, a: (lambda w, v: (w, v.abs()))(*m.linalg.eig(a)), [_square]),
    "pinv": (lambda m, a: m.linalg.pinv(a), [lambda r, *s: _complex(r, *s[:-2], 4, 3)]),
    "pinv(wide)": (lambda m, a: m.linalg.pinv(a), [lambda r, *s: _complex(r, *s[:-2], 3, 4)]),
    "pinv(hermitian)": (lambda m, a: m.linalg.pinv(a, hermitian=True), [_hpd]),
    "lstsq": (lambda m, a, b: m.linalg.lstsq(a, b).solution,
              [lambda r, *s: _complex(r, *s[:-2], 5, 3), lambda r, *s: _complex(r, *s[:-2], 5, 2)]),
    "matrix_exp": (lambda m, a: m.linalg.matrix_exp(a), [lambda r, *s: 0.4 * _complex(r, *s)]),
    "matrix_exp(scaled)": (lambda m, a: m.linalg.matrix_exp(a), [lambda r, *s: 3 * _complex(r, *s)]),
    "solve_triangular(upper)": (lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True), [_square, _complex]),
    "solve_triangular(lower, right, unit)": (
        lambda m, a, b: m.linalg.solve_triangular(a, b, upper=False, left=False, unitriangular=True),
        [_square, _complex]),
    "lu": (lambda m, a: tuple(m.linalg.lu(a)), [_square]),
    "lu(tall)": (lambda m, a: tuple(m.linalg.lu(a)), [lambda r, *s: _complex(r, *s[:-2], 5, 3)]),
    "lu(wide)": (lambda m, a: tuple(m.linalg.lu(a)), [lambda r, *s: _complex(r, *s[:-2], 3, 5)]),
    "lu_factor": (lambda m, a: tuple(m.linalg.lu_factor(a)), [_complex]),
    "lu_unpack": (lambda m, a: tuple(m.lu_unpack(*m.linalg.lu_factor(a))), [_complex]),
    "lu_solve": (lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(a), b), [_square, _complex]),
    "lu_solve(adjoint)": (lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(a), b, adjoint=True),
                          [_square, _complex]),
    "lu_solve(right, adjoint)": (lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(a), b, left=False,
                                                                    adjoint=True), [_square, _complex]),
    "lu_solve(right)": (lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(a), b, left=False),
                        [_square, _complex]),
    "inv_ex": (lambda m, a: tuple(m.linalg.inv_ex(a)), [_square]),
    "solve_ex": (lambda m, a, b: tuple(m.linalg.solve_ex(a, b)), [_square, _complex]),
    "cholesky_ex": (lambda m, a: tuple(m.linalg.cholesky_ex(a)), [_hpd]),
    "householder_product": (lambda m, a, t: m.linalg.householder_product(a, t),
                            [lambda r, *s: _complex(r, *s[:-2], 5, 3), lambda r, *s: 0.5 * _complex(r, *s[:-2], 2)]),
    "ormqr(transpose)": (lambda m, a, t, c: m.ormqr(a, t, c, transpose=True),
                         [lambda r, *s: _complex(r, *s[:-2], 4, 3), lambda r, *s: 0.5 * _complex(r, *s[:-2], 3),
                          lambda r, *s: _complex(r, *s[:-2], 4, 2)]),
    "multi_dot": (lambda m, a, b: m.linalg.multi_dot([a[0], a[1], b[0]]),
                  [lambda r, *s: _complex(r, 2, 3, 3), lambda r, *s: _complex(r, 2, 3, 2)]),
    "matrix_norm(nuc)": (lambda m, a: m.linalg.matrix_norm(a, "nuc"), [_complex]),
    "matrix_norm(2)": (lambda m, a: m.linalg.matrix_norm(a, 2), [_complex]),
    "matrix_norm(-2)": (lambda m, a: m.linalg.matrix_norm(a, -2), [_complex]),
    "matrix_norm(fro)": (lambda m, a: m.linalg.matrix_norm(a), [_complex]),
    "matrix_norm(1)": (lambda m, a: m.linalg.matrix_norm(a, 1), [_complex]),
    "matrix_norm(-inf)": (lambda m, a: m.linalg.matrix_norm(a, -math.inf), [_complex]),
    "norm(nuc)": (lambda m, a: m.linalg.norm(a, "nuc", dim=(-2, -1)), [_complex]),
    "cond": (lambda m, a: m.linalg.cond(a), [lambda r, *s: _complex(r, *s[:-2], 4, 3)]),
    "cond(-2)": (lambda m, a: m.linalg.cond(a, -2), [_square]),
    "tensorinv": (lambda m, a: m.linalg.tensorinv(a.reshape(2, 2, 4), ind=2), [lambda r, *s: _square(r, 4, 4)]),
    "tensorsolve": (lambda m, a, b: m.linalg.tensorsolve(a.reshape(2, 2, 4), b.reshape(2, 2)),
                    [lambda r, *s: _square(r, 4, 4), lambda r, *s: _complex(r, 4)]),
}
# PyTorch 2.13 cannot differentiate these complex programs itself (its backward raises); lucid's gradients are
# checked by finite differences below
VALUES_ONLY = {"matrix_norm(1)", "matrix_norm(-inf)"}


def _leaves(device, values):
    return ([lucid.tensor(v, device=device, requires_grad=True) for v in values],
            [torch.tensor(v, requires_grad=True) for v in values])


def _loss(m, outs, weights):
    """A real loss of every floating output: ``(out * w).real.sum()`` (``w`` complex where ``out`` is)."""
    total = 0
    for o, w in zip(outs, weights):
        if not (o.dtype.is_floating_point or o.dtype.is_complex) if m is torch else o.dtype.kind not in "fc":
            continue
        complex_out = o.dtype.is_complex if m is torch else o.dtype.kind == "c"
        wt = m.tensor(w if complex_out else w.real)
        if m is lucid:
            wt = wt.to(o.device)
        total = total + ((o * wt).real if complex_out else o * wt).sum()
    return total


def _close(got, want, atol):
    got = got.detach().numpy(force=True)
    want = want.detach().resolve_conj().numpy()
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, want.dtype, got.shape, want.shape)
    np.testing.assert_allclose(got, want, atol=atol, rtol=1e-6)


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


@pytest.mark.parametrize("batch", [(), (2,)], ids=["single", "batched"])
@pytest.mark.parametrize("name", CASES)
def test_values_and_gradients_match_torch(device, name, batch):
    fn, makers = CASES[name]
    rng = np.random.default_rng(SEED)
    values = [make(rng, *batch, 3, 3) for make in makers]
    ours, theirs = _leaves(device, values)
    got, want = _as_tuple(fn(lucid, *ours)), _as_tuple(fn(torch, *theirs))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        _close(g, w, atol=1e-9)
    if name in VALUES_ONLY:
        return
    weights = [_complex(rng, *w.shape) for w in want]
    _loss(lucid, got, weights).backward()
    _loss(torch, want, weights).backward()
    for o, t in zip(ours, theirs):
        _close(o.grad, t.grad, atol=1e-8)


# ---- dtypes ------------------------------------------------------------------------------------------------
REAL_VALUED = {
    "svdvals": lambda m, a: m.linalg.svdvals(a),
    "svd.S": lambda m, a: m.linalg.svd(a)[1],
    "eigvalsh": lambda m, a: m.linalg.eigvalsh(a @ a.mH),
    "eigh.eigenvalues": lambda m, a: m.linalg.eigh(a @ a.mH)[0],
    "slogdet.logabsdet": lambda m, a: m.linalg.slogdet(a)[1],
    "matrix_norm": lambda m, a: m.linalg.matrix_norm(a),
    "matrix_norm(nuc)": lambda m, a: m.linalg.matrix_norm(a, "nuc"),
    "matrix_norm(inf)": lambda m, a: m.linalg.matrix_norm(a, math.inf),
    "cond": lambda m, a: m.linalg.cond(a),
    "cond(fro)": lambda m, a: m.linalg.cond(a, "fro"),
    "cond(empty)": lambda m, a: m.linalg.cond(a[..., :0, :0]),
    "matrix_rank": lambda m, a: m.linalg.matrix_rank(a),
    "matrix_rank(hermitian)": lambda m, a: m.linalg.matrix_rank(a @ a.mH, hermitian=True),
    "lstsq.singular_values": lambda m, a: m.linalg.lstsq(a, a, driver="gelsd").singular_values,
    "lstsq.residuals": lambda m, a: m.linalg.lstsq(a[..., :2], a, driver="gelsd").residuals,
}
COMPLEX_VALUED = {
    "det": lambda m, a: m.linalg.det(a),
    "slogdet.sign": lambda m, a: m.linalg.slogdet(a)[0],
    "logdet": lambda m, a: m.logdet(a),
    "inv": lambda m, a: m.linalg.inv(a),
    "cholesky": lambda m, a: m.linalg.cholesky(a @ a.mH),
    "qr.Q": lambda m, a: m.linalg.qr(a)[0],
    "svd.U": lambda m, a: m.linalg.svd(a)[0],
    "eigh.eigenvectors": lambda m, a: m.linalg.eigh(a @ a.mH)[1],
    "pinv": lambda m, a: m.linalg.pinv(a),
    "matrix_exp": lambda m, a: m.linalg.matrix_exp(a),
    "lu.L": lambda m, a: m.linalg.lu(a)[1],
    "lu_factor.LU": lambda m, a: m.linalg.lu_factor(a)[0],
    "geqrf.tau": lambda m, a: m.geqrf(a)[1],
}


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("name", list(REAL_VALUED) + list(COMPLEX_VALUED))
def test_result_dtypes_follow_torch(device, name, dtype):
    fn = REAL_VALUED.get(name) or COMPLEX_VALUED[name]
    a = _square(np.random.default_rng(SEED), 3, 3)
    got = fn(lucid, lucid.tensor(a, dtype=getattr(lucid, dtype), device=device))
    want = fn(torch, torch.tensor(a, dtype=getattr(torch, dtype)))
    assert got.dtype.name == str(want.dtype).removeprefix("torch."), (got.dtype, want.dtype)
    assert got.shape == tuple(want.shape)


# ---- finite differences through real leaves ---------------------------------------------------------------
def _hermitian_of(z):
    """A Hermitian positive-definite matrix of a free one: ops that read one triangle are differentiated along
    Hermitian perturbations only, as PyTorch's own gradchecks do."""
    return z @ z.mH + z.shape[-1] * lucid.eye(z.shape[-1], dtype=z.dtype, device=z.device)


def _through_parts(fn, makers):
    """``fn`` of complex tensors as a float64 function of their real and imaginary parts (for gradcheck)."""
    def run(*parts):
        zs = [lucid.complex(parts[2 * i], parts[2 * i + 1]) for i in range(len(makers))]
        zs = [_hermitian_of(z) if make is _hpd else z for z, make in zip(zs, makers)]
        outs = _as_tuple(fn(lucid, *zs))
        return tuple(lucid.view_as_real(o) if o.dtype.kind == "c" else o for o in outs if o.dtype.kind in "fc")

    return run


GRADCHECK = sorted(set(CASES) - {"lu_factor", "lu_unpack", "multi_dot", "inv_ex", "solve_ex", "cholesky_ex"}) + [
    "cond(p)", "matrix_norm(inf)"]
EXTRA = {
    "cond(p)": (lambda m, a: tuple(m.linalg.cond(a, p) for p in ("fro", "nuc", 1, -math.inf)), [_square]),
    "matrix_norm(inf)": (lambda m, a: m.linalg.matrix_norm(a, math.inf), [_complex]),
}


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck_through_real_and_imaginary_parts(device, name):
    fn, makers = CASES.get(name) or EXTRA[name]
    rng = np.random.default_rng(SEED + 1)
    values = [_complex(rng, 3, 3) if make is _hpd else make(rng, 3, 3) for make in makers]
    parts = [lucid.tensor(p.copy(), dtype=lucid.float64, device=device, requires_grad=True)
             for v in values for p in (v.real, v.imag)]
    assert gradcheck(_through_parts(fn, makers), parts, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_double_backward_of_complex_inverse_and_determinant(device):
    rng = np.random.default_rng(SEED)
    a = _square(rng, 3, 3)
    ours = lucid.tensor(a, device=device, requires_grad=True)
    theirs = torch.tensor(a, requires_grad=True)
    outs = []
    for m, x in ((lucid, ours), (torch, theirs)):
        y = (m.linalg.inv(x).abs() ** 2).sum() + m.linalg.det(x).abs()
        (g,) = (lucid.autograd.grad if m is lucid else torch.autograd.grad)(y, x, create_graph=True)
        (g.abs() ** 2).sum().backward()
        outs.append((g, x.grad))
    _close(outs[0][0], outs[1][0], atol=1e-8)
    _close(outs[0][1], outs[1][1], atol=1e-7)


# ---- phases of singular and eigen vectors -----------------------------------------------------------------
PHASE_DEPENDENT = {
    "svd": lambda m, a: m.linalg.svd(a)[0].real.sum(),
    "svd(Vh only)": lambda m, a: m.linalg.svd(a, full_matrices=False)[2].imag.sum(),
    "eigh": lambda m, a: m.linalg.eigh(a @ a.mH)[1].real.sum(),
    "eig": lambda m, a: m.linalg.eig(a)[1].real.sum(),
}


@pytest.mark.parametrize("name", PHASE_DEPENDENT)
def test_a_loss_of_a_vector_phase_raises_like_torch(device, name):
    a = _square(np.random.default_rng(SEED), 3, 3)
    ours, theirs = _leaves(device, [a])
    with pytest.raises(RuntimeError):
        PHASE_DEPENDENT[name](torch, theirs[0]).backward()
    with pytest.raises(RuntimeError, match="phase"):
        PHASE_DEPENDENT[name](lucid, ours[0]).backward()


def test_phase_free_products_of_singular_vectors_have_gradients(device):
    """``U diag(S) Vh`` reconstructs ``A``: its gradient is the loss's own, whatever the phases."""
    a = _complex(np.random.default_rng(SEED), 4, 3)
    x = lucid.tensor(a, device=device, requires_grad=True)
    U, S, Vh = LA.svd(x, full_matrices=False)
    w = lucid.tensor(_complex(np.random.default_rng(1), 4, 3), device=device)
    ((U * S.unsqueeze(-2)) @ Vh * w).real.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(force=True), np.conj(w.numpy(force=True)), atol=1e-10)


# ---- forward-only routines --------------------------------------------------------------------------------
def test_eigh_reads_one_triangle_and_ignores_the_imaginary_diagonal(device):
    """As LAPACK (and PyTorch), ``eigh`` reads one triangle and takes the diagonal's real part."""
    a = _complex(np.random.default_rng(SEED), 2, 4, 4)
    for uplo in ("L", "U"):
        w, v = LA.eigh(lucid.tensor(a, device=device), UPLO=uplo)
        tw, tv = torch.linalg.eigh(torch.tensor(a), UPLO=uplo)
        _close(w, tw, atol=1e-10)
        _close(v.abs(), tv.abs(), atol=1e-10)
        _close(LA.eigvalsh(lucid.tensor(a, device=device), UPLO=uplo), tw, atol=1e-10)


@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (2, 4, 4)])
def test_geqrf_of_complex_matrices_matches_lapack(device, shape):
    a = _complex(np.random.default_rng(SEED), *shape)
    got, want = lucid.geqrf(lucid.tensor(a, device=device)), torch.geqrf(torch.tensor(a))
    _close(got.a, want.a, atol=1e-10)
    _close(got.tau, want.tau, atol=1e-10)
    if shape[-2] >= shape[-1]:  # the reflectors rebuild Q
        q = LA.householder_product(got.a, got.tau)
        _close(q, torch.linalg.householder_product(want.a, want.tau), atol=1e-10)


def test_lu_pivots_follow_lapack_on_complex_entries(device):
    """LAPACK pivots on ``|Re| + |Im|`` for complex entries: 2 + 2i (size 4) wins over 3.5 (|z| 3.5 > 2.83)."""
    a = np.array([[1.0, 1.0], [3.5, 2.0], [2 + 2j, 0.5]])
    LU, piv = LA.lu_factor(lucid.tensor(a, device=device))
    tLU, tpiv = torch.linalg.lu_factor(torch.tensor(a))
    _close(piv, tpiv, atol=0)
    _close(LU, tLU, atol=1e-12)


def test_complex_ldl_is_refused_clearly(device):
    a = _hpd(np.random.default_rng(SEED), 3, 3)
    with pytest.raises(TypeError, match="complex matrices"):
        LA.ldl_factor(lucid.tensor(a, device=device))


def test_norm_dtype_must_keep_the_kind(device):
    a = lucid.tensor(_complex(np.random.default_rng(SEED), 3, 3), dtype=lucid.complex64, device=device)
    with pytest.raises(RuntimeError, match="complex"):
        torch.linalg.matrix_norm(torch.ones(2, 2, dtype=torch.complex64), dtype=torch.float64)
    with pytest.raises(RuntimeError, match="dtype must be complex"):
        LA.matrix_norm(a, dtype=lucid.float64)
    got = LA.matrix_norm(a, "nuc", dtype=lucid.complex128)
    assert got.dtype is lucid.float64


@pytest.mark.parametrize("p", [1, "fro", math.inf])
def test_cond_of_a_singular_complex_matrix_is_a_real_inf(device, p):
    a = np.array([[1 + 1j, 2 - 1j], [2 + 2j, 4 - 2j]])
    got, want = LA.cond(lucid.tensor(a, device=device), p), torch.linalg.cond(torch.tensor(a), p)
    _close(got, want, atol=0)


def test_determinant_gradient_of_a_singular_complex_matrix(device):
    """The conjugate cofactor matrix (through the SVD), exact where ``A^-1`` does not exist: rank n - 1."""
    rng = np.random.default_rng(SEED)
    a = _complex(rng, 3, 2) @ _complex(rng, 2, 3)
    parts = [lucid.tensor(p.copy(), device=device, requires_grad=True) for p in (a.real, a.imag)]
    assert gradcheck(_through_parts(lambda m, z: m.linalg.det(z), [_complex]), parts)
