"""Complex tensors against PyTorch, where an oracle hunt found lucid differing: sigmoid, acosh's and cumprod's
gradients, logsumexp, masked_fill, complex Python scalars (full, pow), float_power, ldexp, the nan/inf tests,
and the real-only functions that must refuse complex input. Gradients with PyTorch's convention, compared on
the same programs; the touched ops also get a float64 gradcheck through real leaves (``complex(re, im)``)."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
from lucid.autograd import gradcheck

torch = pytest.importorskip("torch")

# points in each quadrant and near (not on) the branch cuts
POINTS = np.array([0.3 + 0.5j, -1.2 + 0.4j, 2 - 1j, -0.5 - 0.7j, 1.5 + 0.01j, -1.5 + 0.01j, -1.5 - 0.01j,
                   1.5 - 0.01j, 0.01 + 1.5j, -0.01 + 1.5j, 0.01 - 1.5j, -0.01 - 1.5j, -2.2 - 1.3j, -0.3 + 0.05j])
LOSSES = {
    "abs2": lambda o: (o.abs() ** 2).sum(),
    "parts": lambda o: o.real.sum() + 0.3 * o.imag.sum(),
}


def _close(lucid_t, torch_t, atol=1e-9):
    got = lucid_t.detach().numpy(force=True)
    want = torch_t.detach().resolve_conj().resolve_neg().numpy()
    assert got.shape == want.shape and got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, atol=atol, rtol=1e-7)


def _same_program(device, fn, *values, loss="abs2"):
    """``fn`` and ``LOSSES[loss]`` of it on lucid and torch leaves: values and leaf gradients compared."""
    ls = [lucid.tensor(v, device=device, requires_grad=True) for v in values]
    ts = [torch.tensor(v, requires_grad=True) for v in values]
    lo, to = fn(lucid, *ls), fn(torch, *ts)
    _close(lo, to)
    LOSSES[loss](lo).backward()
    LOSSES[loss](to).backward()
    for lv, tv in zip(ls, ts):
        assert (lv.grad is None) == (tv.grad is None)
        if tv.grad is not None:
            _close(lv.grad, tv.grad, atol=1e-8)


def _through_parts(fn):
    """``fn`` of a complex tensor as a float64 function of its real and imaginary parts (for gradcheck)."""
    return lambda re, im: lucid.view_as_real(fn(lucid.complex(re, im)))


def _parts(device, z):
    return (lucid.tensor(z.real.copy(), device=device, requires_grad=True),
            lucid.tensor(z.imag.copy(), device=device, requires_grad=True))


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("name", ["sigmoid", "special.expit"])
def test_sigmoid_of_complex_is_complex(device, name, loss):
    def fn(m, z):
        return m.special.expit(z) if name == "special.expit" else m.sigmoid(z)

    _same_program(device, fn, POINTS, loss=loss)
    assert lucid.sigmoid(lucid.tensor(POINTS[:2], dtype=lucid.complex64, device=device)).dtype is lucid.complex64


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("name", ["acosh", "asinh", "atanh", "acos", "asin", "atan", "tan", "tanh"])
def test_inverse_and_tangent_gradients_match_torch(device, name, loss):
    _same_program(device, lambda m, z: getattr(m, name)(z), POINTS, loss=loss)


def test_acosh_gradient_sign_at_a_left_half_plane_point(device):
    z = lucid.tensor([-1.2 + 0.4j], device=device, requires_grad=True)
    t = torch.tensor([-1.2 + 0.4j], requires_grad=True)
    lucid.acosh(z).real.sum().backward()
    torch.acosh(t).real.sum().backward()
    _close(z.grad, t.grad)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("zeros", [False, True])
def test_cumprod_and_prod_gradients_match_torch(device, rng, zeros, loss):
    z = rng.standard_normal((3, 5)) + 1j * rng.standard_normal((3, 5))
    if zeros:
        z[0, 1] = z[1, 2] = z[1, 4] = 0
    _same_program(device, lambda m, a: a.cumprod(1), z, loss=loss)
    _same_program(device, lambda m, a: m.cumprod(a, 0), z, loss=loss)
    _same_program(device, lambda m, a: a.cumsum(1) * a.prod(0), z, loss=loss)


@pytest.mark.parametrize("loss", LOSSES)
def test_logsumexp_of_complex_is_complex(device, rng, loss):
    z = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    _same_program(device, lambda m, a: m.logsumexp(a, 1), z, loss=loss)
    _same_program(device, lambda m, a: m.logsumexp(a, (0, 1)), z, loss=loss)


def test_masked_fill_of_complex_tensor(device):
    z = np.array([1 + 2j, -3j, 0.5])
    mask = np.array([True, False, True])
    for value in (1j, 2.5, 3, True, 1 + 0j):
        _close(lucid.tensor(z, device=device).masked_fill(lucid.tensor(mask, device=device), value),
               torch.tensor(z).masked_fill(torch.tensor(mask), value))
    _same_program(device, lambda m, a, v: (a.masked_fill(m.tensor(mask, device=a.device), v) * (1 + 3j)),
                  z, np.array(1 - 2j))


def test_full_infers_the_default_complex_dtype(device):
    for value in (1j, np.complex128(2 - 1j), 1 + 0j):
        got = lucid.full((2,), value, device=device)
        assert got.dtype is lucid.complex64 and got.device == device
        _close(got, torch.full((2,), value))
    _close(lucid.full((2,), 1j, dtype=lucid.complex128, device=device), torch.full((2,), 1j, dtype=torch.complex128))
    _close(lucid.full((2,), 1 + 0j, dtype=lucid.float32, device=device), torch.full((2,), 1 + 0j, dtype=torch.float32))
    _close(lucid.full_like(lucid.ones(2, device=device, dtype=lucid.complex128), 2j),
           torch.full_like(torch.ones(2, dtype=torch.complex128), 2j))
    with pytest.raises(TypeError, match="complex"):  # PyTorch raises too: the imaginary part would be dropped
        lucid.full((2,), 1j, dtype=lucid.float32, device=device)
    with pytest.raises(RuntimeError):
        torch.full((2,), 1j, dtype=torch.float32)


POWERS = {
    "complex ** complex scalar": lambda m, z, x: z ** (1 + 1j),
    "real ** complex scalar": lambda m, z, x: x ** 1j,
    "real ** complex zero-imag": lambda m, z, x: x ** (2 + 0j),
    "pow(real, complex)": lambda m, z, x: m.pow(x, 0.5 - 2j),
    "complex scalar ** real": lambda m, z, x: (1 + 1j) ** x,
    "complex scalar ** complex": lambda m, z, x: (1 + 1j) ** z,
    "negative scalar ** complex": lambda m, z, x: (-2.0) ** z,
    "positive scalar ** complex": lambda m, z, x: 2.0 ** z,
    "complex ** complex": lambda m, z, x: z ** z.flip(0),
}


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("name", POWERS)
def test_powers_with_complex_python_scalars(device, name, loss):
    _same_program(device, POWERS[name], POINTS[:4], np.array([0.3, 1.2, 2.0, 0.7]), loss=loss)


def test_complex_scalar_powers_keep_the_tensor_precision(device):
    assert (lucid.ones(2, device=device) ** 1j).dtype is lucid.complex64  # float32: complex64, as PyTorch
    assert (lucid.ones(2, dtype=lucid.float64, device=device) ** 1j).dtype is lucid.complex128


def test_float_power_and_ldexp_of_complex(device):
    z, x = POINTS[:4], np.array([0.3, 1.2, 2.0, 0.7])
    _same_program(device, lambda m, a: m.float_power(a, 2), z)
    _same_program(device, lambda m, a: m.float_power(a, 1j), x)
    _close(lucid.float_power(lucid.tensor(z.astype(np.complex64), device=device), 2),
           torch.float_power(torch.tensor(z.astype(np.complex64)), 2))
    _close(lucid.ldexp(lucid.tensor(z, device=device), lucid.tensor([1, 2, 3, -1], device=device)),
           torch.ldexp(torch.tensor(z), torch.tensor([1, 2, 3, -1])))


def test_nan_and_inf_tests_read_both_parts(device):
    z = np.array([1 + 1j, 0j, complex(np.inf, 0), complex(0, np.nan), complex(np.nan, -np.inf)])
    for name in ("isnan", "isinf", "isfinite"):
        _close(getattr(lucid, name)(lucid.tensor(z, device=device)), getattr(torch, name)(torch.tensor(z)))


REFUSED = {
    "erf": lambda m, z: m.erf(z), "erfc": lambda m, z: m.erfc(z), "erfinv": lambda m, z: m.erfinv(z),
    "lgamma": lambda m, z: m.lgamma(z), "digamma": lambda m, z: m.digamma(z), "i0": lambda m, z: m.i0(z),
    "special.i0e": lambda m, z: m.special.i0e(z), "special.ndtr": lambda m, z: m.special.ndtr(z),
    "special.erfcx": lambda m, z: m.special.erfcx(z), "special.log_ndtr": lambda m, z: m.special.log_ndtr(z),
    "sign": lambda m, z: m.sign(z), "round": lambda m, z: m.round(z), "floor": lambda m, z: m.floor(z),
    "logit": lambda m, z: m.logit(z), "deg2rad": lambda m, z: m.deg2rad(z), "rad2deg": lambda m, z: m.rad2deg(z),
    "polygamma": lambda m, z: m.polygamma(1, z), "special.entr": lambda m, z: m.special.entr(z),
    "special.bessel_j0": lambda m, z: m.special.bessel_j0(z),
    "special.chebyshev_polynomial_t": lambda m, z: m.special.chebyshev_polynomial_t(z, 2),
    "isposinf": lambda m, z: m.isposinf(z), "signbit": lambda m, z: m.signbit(z),
}


@pytest.mark.parametrize("name", REFUSED)
def test_real_only_functions_refuse_complex_as_torch(device, name):
    """These gave real or meaningless results from complex input (the imaginary part dropped); PyTorch raises."""
    with pytest.raises((RuntimeError, NotImplementedError)):
        REFUSED[name](torch, torch.tensor(POINTS[:2]))
    with pytest.raises(TypeError, match="complex"):
        REFUSED[name](lucid, lucid.tensor(POINTS[:2], device=device))


GRADCHECKED = {
    "sigmoid": lambda z: z.sigmoid(),
    "acosh": lambda z: lucid.acosh(z),
    "cumprod": lambda z: z.cumprod(0),
    "logsumexp": lambda z: lucid.logsumexp(z.reshape(2, 3), 1),
    "pow complex scalar": lambda z: z ** (0.5 + 1j),
    "complex scalar ** z": lambda z: (-2.0 + 0.5j) ** z,
    "float_power": lambda z: lucid.float_power(z, 1j),
    "masked_fill": lambda z: z.masked_fill(lucid.tensor([True, False] * 3, device=z.device), 2j) * z,
}


@pytest.mark.parametrize("name", GRADCHECKED)
def test_gradcheck_through_real_and_imaginary_parts(device, name):
    z = np.array([0.3 + 0.5j, -1.2 + 0.4j, 2 - 1j, -0.5 - 0.7j, 0.8 + 0.01j, -0.4 - 1.1j])
    assert gradcheck(_through_parts(GRADCHECKED[name]), _parts(device, z))
