"""Complex tensors against PyTorch: dtypes and promotion, creation, printing, parts and views, and gradients
with PyTorch's convention (the gradient of a real loss w.r.t. ``z`` is ``dL/dRe z + i dL/dIm z``)."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest

import lucid
from lucid import dtypes as _dt

torch = pytest.importorskip("torch")

NAMES = ["bool", "uint8", "int64", "float16", "float32", "float64", "complex64", "complex128"]


def _c(rng, *shape, dtype=np.complex128):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


def _close(lucid_t, torch_t, atol=1e-6):
    got = lucid_t.detach().numpy(force=True)
    want = torch_t.detach().resolve_conj().numpy()
    assert got.shape == want.shape and got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, atol=atol, rtol=1e-5)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(NAMES, NAMES)))
def test_promote_types_matches_torch(a, b):
    got = _dt.promote_types(_dt.to_dtype(a), _dt.to_dtype(b))
    assert got.name == str(torch.promote_types(getattr(torch, a), getattr(torch, b))).removeprefix("torch.")


@pytest.mark.parametrize("name", ["float32", "float64", "int64", "bool", "complex64", "complex128"])
@pytest.mark.parametrize("scalar", [1j, 2.5, 3])
def test_python_scalars_are_weak(device, name, scalar):
    if name == "bool" and isinstance(scalar, complex):
        pytest.skip("PyTorch's bool * complex is complex64 too; covered by int64")
    t = lucid.ones(3, dtype=name, device=device)
    want = (torch.ones(3, dtype=getattr(torch, name)) * scalar).dtype
    assert (t * scalar).dtype.name == str(want).removeprefix("torch.")
    assert (t * scalar).device == device


def test_dtype_helpers_match_torch():
    for name in NAMES[3:]:
        d, t = getattr(lucid, name), getattr(torch, name)
        assert d.is_complex == t.is_complex and d.is_floating_point == t.is_floating_point
        assert d.to_real().name == str(t.to_real()).removeprefix("torch.")
        if name != "float16":  # torch has complex32 (chalf); lucid gives complex64
            assert d.to_complex().name == str(t.to_complex()).removeprefix("torch.")
    assert complex(lucid.tensor([1 - 2j])) == 1 - 2j


def test_zero_dim_complex_is_weak_but_lifts_the_category(device):
    x = lucid.ones(3, dtype=lucid.float64, device=device)
    z = lucid.tensor(1j, dtype=lucid.complex64, device=device)
    assert (x * z).dtype is lucid.complex128  # the category rises, the precision stays float64's
    assert (lucid.ones(3, device=device) * lucid.tensor(1j, dtype=lucid.complex128, device=device)).dtype \
        is lucid.complex64


def test_creation_and_aliases(device):
    assert lucid.tensor([1 + 2j], device=device).dtype is lucid.complex64  # Python complex: default complex
    assert lucid.cfloat is lucid.complex64 and lucid.cdouble is lucid.complex128
    assert lucid.zeros(2, dtype=lucid.cdouble, device=device).dtype is lucid.complex128
    assert lucid.ones(2, device=device).cfloat().dtype is lucid.complex64
    assert lucid.ones(2, device=device).cdouble().dtype is lucid.complex128
    assert lucid.tensor([1.0], device=device).is_complex() is False
    assert lucid.tensor([1j], device=device).is_complex() and lucid.is_complex(lucid.tensor([1j], device=device))
    r = lucid.randn(4000, dtype=lucid.complex64, device=device)
    assert r.dtype is lucid.complex64
    assert abs(float((r.abs() ** 2).mean()) - 1.0) < 0.15  # variance 1 in total, as torch.randn
    u = lucid.rand(4000, dtype=lucid.complex64, device=device)  # each part uniform in [0, 1), as torch.rand
    assert u.dtype is lucid.complex64 and 0 <= float(u.real.min()) and float(u.imag.max()) < 1
    assert abs(float(u.real.mean()) - 0.5) < 0.05 and abs(float(u.imag.mean()) - 0.5) < 0.05
    z = lucid.zeros(4000, dtype=lucid.complex128, device=device).normal_(3.0, 2.0)  # the mean on both parts
    assert abs(float(z.real.mean()) - 3.0) < 0.15 and abs(float(z.imag.mean()) - 3.0) < 0.15
    assert abs(float(((z - (3 + 3j)).abs() ** 2).mean()) - 4.0) < 0.4


def test_printing_shows_values_and_non_default_dtypes():
    z = [1 + 2j, -0.5j]
    assert repr(lucid.tensor(z)) == "tensor([1.+2.0000j, -0.-0.5000j])"  # as PyTorch; complex64 is the default
    assert repr(lucid.tensor(z, dtype=lucid.complex128)).endswith("dtype=lucid.complex128)")


def test_parts_and_functions_match_torch(device):
    rng = np.random.default_rng(0)
    a = _c(rng, 2, 3, dtype=np.complex64)
    lt, tt = lucid.tensor(a, device=device), torch.tensor(a)
    for fn in (lambda m, x: x.real, lambda m, x: x.imag, lambda m, x: x.conj(), lambda m, x: x.abs(),
               lambda m, x: x.angle(), lambda m, x: m.view_as_real(x), lambda m, x: x.mH, lambda m, x: x.adjoint(),
               lambda m, x: x.exp(), lambda m, x: x.sum(1), lambda m, x: x.mean(), lambda m, x: x @ x.mT,
               lambda m, x: x.conj_physical(), lambda m, x: x / (x + 1), lambda m, x: x ** 2):
        _close(fn(lucid, lt), fn(torch, tt), atol=1e-5)
    assert not lt.is_conj() and not lt.is_neg()
    assert lt.resolve_conj() is lt and lt.resolve_neg() is lt


def test_sgn_isreal_and_copies_match_torch(device):
    z = np.array([1 + 2j, 0, -3j, 4 + 0j])
    lz, tz = lucid.tensor(z, device=device), torch.tensor(z)
    _close(lucid.sgn(lz), torch.sgn(tz))
    _close(lz.sgn(), tz.sgn())
    _close(lucid.tensor([-2.0, 0.0, 3.0], device=device).sgn(), torch.tensor([-2.0, 0.0, 3.0]).sgn())
    _close(lucid.isreal(lz), torch.isreal(tz))
    _close(lucid.isreal(lucid.ones(2, device=device)), torch.isreal(torch.ones(2)))
    copy = lucid.view_as_real_copy(lz)
    copy[0, 0] = 100.0
    assert lz[0].item() == 1 + 2j  # a copy, not a view
    _close(lucid.view_as_complex_copy(copy), torch.view_as_complex_copy(torch.tensor(copy.numpy(force=True))))
    y = lz.clone()
    y.conj_physical_()
    _close(y, tz.conj_physical())


def test_real_angle_and_complex_constructors(device):
    x = np.array([-2.0, 0.0, 3.0])
    _close(lucid.tensor(x, device=device).angle(), torch.tensor(x).angle())
    real = lucid.tensor(x, device=device)
    assert lucid.real(real) is real  # a real tensor is its own real part, as in PyTorch
    re, im = np.array([1.0, -2.0], np.float32), np.array([0.5, 3.0], np.float32)
    _close(lucid.complex(lucid.tensor(re, device=device), lucid.tensor(im, device=device)),
           torch.complex(torch.tensor(re), torch.tensor(im)))
    _close(lucid.polar(lucid.tensor(re, device=device).abs(), lucid.tensor(im, device=device)),
           torch.polar(torch.tensor(re).abs(), torch.tensor(im)))
    pairs = np.arange(6, dtype=np.float64).reshape(3, 2)
    _close(lucid.view_as_complex(lucid.tensor(pairs, device=device)), torch.view_as_complex(torch.tensor(pairs)))


def test_bad_inputs_raise_clearly(device):
    x = lucid.ones(3, device=device)
    with pytest.raises(RuntimeError, match="imag expects a complex tensor"):
        lucid.imag(x)
    with pytest.raises(RuntimeError, match="view_as_real expects a complex tensor"):
        lucid.view_as_real(x)
    with pytest.raises(RuntimeError, match="last dimension has size 2"):
        lucid.view_as_complex(lucid.ones(3, 3, device=device))
    with pytest.raises(TypeError, match="one dtype, float32 or float64"):
        lucid.complex(x, x.double())
    with pytest.raises(RuntimeError, match="only floating point and complex"):
        lucid.ones(2, dtype=lucid.int64).requires_grad_()
    with pytest.raises(TypeError, match="bitwise_and needs bool or integer operands"):
        lucid.tensor([1j], device=device) & lucid.tensor([1j], device=device)
    with pytest.raises(TypeError, match="bitwise_not"):
        ~lucid.tensor([1j], device=device)
    z = lucid.tensor([1j, 2j], requires_grad=True)
    with pytest.raises(RuntimeError, match="real scalar outputs"):
        z.sum().backward()


def test_complex_places_infinite_and_negative_zero_parts_on_numpy():
    """``complex``/``polar`` set the parts rather than computing ``re + 1j * im`` (whose ``0 * inf`` is a nan real
    part and whose sum drops -0.0), as PyTorch; the array API alone has no exact constructor, so NumPy only."""
    re, im = [1.0, 0.0, -2.0, float("nan")], [float("inf"), -0.0, float("-inf"), 1.0]
    got = lucid.complex(lucid.tensor(re), lucid.tensor(im)).numpy()
    want = torch.complex(torch.tensor(re), torch.tensor(im)).numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got.imag), np.signbit(want.imag))
    assert repr(lucid.polar(lucid.tensor([float("inf")]), lucid.tensor([0.0]))) == "tensor([inf+nanj])"


def test_views_share_memory_on_numpy():
    z = lucid.tensor([1 + 2j, 3 + 4j])
    z.real[0] = 10.0
    z.imag.mul_(2)
    lucid.view_as_real(z)[1, 0] = -1.0
    np.testing.assert_array_equal(z.numpy(), [10 + 4j, -1 + 8j])
    with pytest.raises(RuntimeError, match="stride 1"):
        lucid.view_as_complex(lucid.ones(2, 4)[:, ::2])


def test_writes_through_part_views_give_torchs_gradients(device):
    """A write into ``z.real`` keeps the gradient of the imaginary part (and the other way round)."""
    grads = []
    for m, dev in ((lucid, device), (torch, "cpu")):
        a = m.tensor(np.array([1 + 2j, 3 - 1j]), device=dev, requires_grad=True)
        w = m.tensor([2.0, 5.0], dtype=m.float64, device=dev, requires_grad=True)
        b = a * 1
        b.real[0:1] = w[0:1] * 3
        b[1:] = b[1:] + 2j
        b.imag.add_(w * w)
        weights = m.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=m.float64, device=dev)
        (m.view_as_real(b) * weights).sum().backward()
        grads.append((a.grad, w.grad))
    _close(grads[0][0], grads[1][0])
    _close(grads[0][1], grads[1][1])


def test_real_and_imag_setters():
    z, t = lucid.tensor([1 + 2j, 3 + 4j]), torch.tensor([1 + 2j, 3 + 4j])
    z.real, t.real = lucid.tensor([5.0, 6.0]), torch.tensor([5.0, 6.0])
    z.imag, t.imag = lucid.tensor([0.0, -1.0]), torch.tensor([0.0, -1.0])
    _close(z, t)


GRADS = {
    "mul": lambda m, a, b: (a * b).abs().sum(),
    "div": lambda m, a, b: (a / b).abs().sum(),
    "matmul": lambda m, a, b: (a.reshape(2, 3) @ b.reshape(3, 2)).abs().pow(2).sum(),
    "exp sin": lambda m, a, b: (a.exp() * b.sin()).real.sum(),
    "conj angle": lambda m, a, b: (a.conj() * b).angle().sum(),
    "pow": lambda m, a, b: (a ** 3 + b ** 0.5).imag.sum(),
    "mean view_as_real": lambda m, a, b: m.view_as_real(a * b.mean()).pow(3).sum(),
    "rotary": lambda m, a, b: m.view_as_real(m.view_as_complex(m.view_as_real(a)) * m.polar(b.abs(), b.real))
    .sum(-1).pow(2).sum(),
    "scalar": lambda m, a, b: (a * (1 - 2j) + 3j / b).abs().sum(),
    "einsum": lambda m, a, b: m.einsum("ij,jk->ik", a.reshape(2, 3), b.reshape(3, 2)).abs().sum(),
    "prod": lambda m, a, b: (a.prod() * b).real.sum(),
    "var std": lambda m, a, b: a.var() + b.reshape(2, 3).std(dim=1).sum(),
    "norm": lambda m, a, b: m.linalg.vector_norm(a) + m.linalg.vector_norm(b, 1),
    "linear": lambda m, a, b: m.nn.functional.linear(a.reshape(2, 3), b.reshape(2, 3), b[:2]).abs().sum(),
}


@pytest.mark.parametrize("name", GRADS)
def test_gradients_on_complex_leaves_match_torch(device, name):
    rng = np.random.default_rng(1)
    a, b = _c(rng, 6), _c(rng, 6)
    la, lb = (lucid.tensor(v, device=device, requires_grad=True) for v in (a, b))
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
    GRADS[name](lucid, la, lb).backward()
    GRADS[name](torch, ta, tb).backward()
    _close(la.grad, ta.grad, atol=1e-8)
    _close(lb.grad, tb.grad, atol=1e-8)


def test_gradients_on_real_leaves_feeding_complex_ops(device):
    rng = np.random.default_rng(2)
    x, f = rng.standard_normal((4, 6)), rng.standard_normal(3)

    def rotary(m, x, f):  # LLaMA-style rotary embedding: pairs as complex, rotated, back to pairs
        angles = m.outer(m.arange(4, dtype=m.float64, device=x.device), f)
        rot = m.polar(m.ones_like(angles), angles)
        z = m.view_as_complex(x.reshape(4, 3, 2)) * rot
        return (m.view_as_real(z).reshape(4, 6) * m.arange(24, dtype=m.float64, device=x.device).reshape(4, 6)).sum()

    lx, lf = lucid.tensor(x, device=device, requires_grad=True), lucid.tensor(f, device=device, requires_grad=True)
    tx, tf = torch.tensor(x, requires_grad=True), torch.tensor(f, requires_grad=True)
    rotary(lucid, lx, lf).backward()
    rotary(torch, tx, tf).backward()
    _close(lx.grad, tx.grad, atol=1e-8)
    _close(lf.grad, tf.grad, atol=1e-8)
    lr, tr = lucid.tensor(x, device=device, requires_grad=True), torch.tensor(x, requires_grad=True)
    (lr.to(lucid.complex128) * (2 + 1j)).imag.sum().backward()
    (tr.to(torch.complex128) * (2 + 1j)).imag.sum().backward()
    _close(lr.grad, tr.grad)  # a real leaf gets the real part


def test_save_and_load_complex(device):
    z = lucid.tensor(_c(np.random.default_rng(3), 2, 3), device=device, requires_grad=True)
    f = io.BytesIO()
    lucid.save({"z": z, "c64": z.detach().cfloat()}, f)
    f.seek(0)
    back = lucid.load(f)
    assert back["z"].dtype is lucid.complex128 and back["z"].requires_grad and back["z"].device == device
    assert back["c64"].dtype is lucid.complex64
    np.testing.assert_array_equal(back["z"].detach().numpy(force=True), z.detach().numpy(force=True))
