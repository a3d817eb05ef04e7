"""Differences from PyTorch found by an oracle hunt over creation, promotion, division, reductions, clamp and
Tensor methods, each pinned here: ``div(rounding_mode=)``, clamp's gradients with tensor bounds, ``arange``
with integer tensor or NumPy bounds, the shift operators, ``mode`` of NaN rows, ``dtype.is_signed``,
``x == None``, ``repeat_interleave(repeats)``, ``zeros(size=...)`` and ``any``/``all`` with ``dim=()``."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
from lucid.autograd import gradcheck


def _np(t):
    return np.asarray(t.detach().cpu().numpy())


def _same(lt, tt):
    """A lucid and a torch tensor hold the same values, dtype and shape."""
    assert str(lt.dtype).removeprefix("lucid.") == str(tt.dtype).removeprefix("torch."), (lt.dtype, tt.dtype)
    assert lt.shape == tuple(tt.shape)
    np.testing.assert_allclose(_np(lt), tt.detach().numpy(), rtol=1e-6, atol=1e-6, equal_nan=True)


# ---- div(rounding_mode=) -----------------------------------------------------------------------------------------

_DIVIDENDS = [7, -7, 7, -7, 0, 5, -5, 3, 9, -1]
_DIVISORS = [2, 2, -2, -2, 3, -5, -5, 3, -4, 1]


@pytest.mark.parametrize("mode", ["floor", "trunc"])
@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "float32", "float64"])
def test_div_rounding_mode_matches_torch(device, mode, dtype):
    torch = pytest.importorskip("torch")
    a, b = np.array(_DIVIDENDS, dtype=dtype), np.array(_DIVISORS, dtype=dtype)
    if dtype.startswith("float"):
        a = a + np.array([0.5, -0.5, 0.25, -0.75, 0, 0.5, 0.5, -0.5, 0, 0], dtype=dtype)
    la, lb = lucid.tensor(a, device=device), lucid.tensor(b, device=device)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    for lr, tr in [(lucid.div(la, lb, rounding_mode=mode), torch.div(ta, tb, rounding_mode=mode)),
                   (la.div(3, rounding_mode=mode), ta.div(3, rounding_mode=mode)),
                   (lucid.div(la, -2.5, rounding_mode=mode), torch.div(ta, -2.5, rounding_mode=mode)),
                   (lucid.div(11, lb, rounding_mode=mode), torch.div(11, tb, rounding_mode=mode)),
                   (lucid.divide(la, lb[:1], rounding_mode=mode), torch.divide(ta, tb[:1], rounding_mode=mode))]:
        _same(lr, tr)


def test_div_rounding_mode_float_specials(device):
    torch = pytest.importorskip("torch")
    a = np.array([1.0, -1.0, 0.0, np.inf, -np.inf, np.nan, 1e-30, -7.5], dtype=np.float32)
    b = np.array([0.0, 0.0, 0.0, 2.0, np.inf, 1.0, -np.inf, -0.0], dtype=np.float32)
    for mode in ("floor", "trunc"):
        _same(lucid.div(lucid.tensor(a, device=device), lucid.tensor(b, device=device), rounding_mode=mode),
              torch.div(torch.from_numpy(a), torch.from_numpy(b), rounding_mode=mode))


def test_div_rounding_mode_errors_and_in_place(device):
    x = lucid.tensor([7, -7], device=device)
    with pytest.raises(ZeroDivisionError):
        lucid.div(x, 0, rounding_mode="trunc")
    with pytest.raises(ZeroDivisionError):
        lucid.div(x, lucid.tensor([1, 0], device=device), rounding_mode="floor")
    with pytest.raises(TypeError, match="bool"):
        lucid.div(x > 0, x > 1, rounding_mode="floor")
    with pytest.raises(ValueError, match="rounding_mode"):
        lucid.div(x, 2, rounding_mode="round")
    assert lucid.div(x, 2, rounding_mode=None).dtype is lucid.float32
    x.div_(2, rounding_mode="trunc")  # an integer result: in place in an integer tensor, as PyTorch
    assert x.tolist() == [3, -3]
    y = lucid.tensor([7, -7], device=device)
    y.div_(2, rounding_mode="floor")
    assert y.tolist() == [3, -4]


def test_div_rounding_mode_gradient_is_zero(device):
    x = lucid.tensor([1.5, -2.5, 3.0], dtype=lucid.float64, device=device, requires_grad=True)
    d = lucid.tensor([2.0, 2.0, -0.7], dtype=lucid.float64, device=device, requires_grad=True)
    for mode in ("floor", "trunc"):
        out = lucid.div(x, d, rounding_mode=mode)
        assert out.requires_grad
        gx, gd = lucid.autograd.grad(out.sum(), (x, d))
        assert gx.tolist() == [0.0, 0.0, 0.0] and gd.tolist() == [0.0, 0.0, 0.0]
        assert gradcheck(lambda u, v, mode=mode: lucid.div(u, v, rounding_mode=mode), (x, d))


# ---- clamp with tensor bounds --------------------------------------------------------------------------------------


def _clamp_grads(lib, x, lo, hi, **kw):
    ts = [None if v is None else lib.tensor(v, dtype=lib.float64, requires_grad=True, **kw) for v in (x, lo, hi)]
    out = lib.clamp(*ts)
    w = lib.arange(out.numel(), dtype=lib.float64, **kw).reshape(out.shape) + 1
    (out * w).sum().backward()
    return out, [t.grad for t in ts if t is not None]


@pytest.mark.parametrize("case", ["ties", "equal_bounds", "swapped", "min_only", "max_only", "broadcast"])
def test_clamp_tensor_bounds_gradients_match_torch(device, case):
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, 3.0, 3.0, 2.0], [0.0, -1.0, 2.0, 5.0]])
    zeros, threes = np.zeros_like(x), np.full_like(x, 3.0)
    lo, hi = {"ties": (np.where(x > 1, 1.0, x), threes), "equal_bounds": (x.copy(), x + 1),
              "swapped": (threes, zeros), "min_only": (np.full_like(x, 1.0), None),
              "max_only": (None, np.full_like(x, 2.0)),
              "broadcast": (np.array([0.0, 1.0, 2.0, 3.0]), np.array([[3.0], [2.0]]))}[case]
    lout, lgrads = _clamp_grads(lucid, x, lo, hi, device=device)
    tout, tgrads = _clamp_grads(torch, x, lo, hi)
    _same(lout, tout)
    for lg, tg in zip(lgrads, tgrads):
        _same(lg, tg)


def test_clamp_tensor_bounds_gradcheck_and_dtypes(device, rng):
    x = lucid.tensor(rng.standard_normal((3, 4)), device=device, requires_grad=True)
    lo = lucid.tensor(rng.standard_normal((4,)) - 0.5, device=device, requires_grad=True)
    hi = lucid.tensor(rng.standard_normal((3, 1)) + 0.5, device=device, requires_grad=True)
    assert gradcheck(lambda a, b, c: lucid.clamp(a, b, c), (x, lo, hi))
    assert gradcheck(lambda a, b: lucid.clamp(a, min=b), (x, lo))
    assert gradcheck(lambda a, c: lucid.clamp(a, max=c), (x, hi))
    ints = lucid.tensor([1, 5], device=device)
    assert lucid.clamp(ints, lucid.tensor([2.5], device=device)).dtype is lucid.float32
    assert lucid.clamp(ints, lucid.tensor(2.5, dtype=lucid.float64, device=device)).dtype is lucid.float64
    assert lucid.clamp(ints, max=lucid.tensor([2], device=device)).tolist() == [1, 2]
    nan = lucid.clamp(lucid.tensor([math.nan, 0.5], device=device), lucid.tensor([0.0, math.nan], device=device))
    assert np.isnan(_np(nan)).all()


# ---- creation --------------------------------------------------------------------------------------------------------


def test_arange_with_integer_tensor_or_numpy_bounds_is_int64(device):
    n = lucid.tensor([2, 4, 3], device=device).max()  # arange(lengths.max()), as PyTorch programs write
    assert lucid.arange(n).dtype is lucid.int64 and lucid.arange(n).tolist() == [0, 1, 2, 3]
    assert lucid.arange(np.int32(3)).dtype is lucid.int64
    assert lucid.arange(1, np.int64(6), lucid.tensor(2, device=device)).tolist() == [1, 3, 5]
    assert lucid.arange(lucid.tensor(2.5, device=device)).dtype is lucid.float32
    assert lucid.arange(np.float32(2.0)).dtype is lucid.float32
    with pytest.raises(TypeError, match="0-d"):
        lucid.arange(lucid.tensor([3], device=device))


def test_factories_take_size_keyword(device):
    assert lucid.zeros(size=(2, 3), device=device).shape == (2, 3)
    assert lucid.ones(size=[4], dtype=lucid.int32, device=device).tolist() == [1, 1, 1, 1]
    assert lucid.empty(size=(0, 2), device=device).shape == (0, 2)
    with pytest.raises(TypeError, match="both"):
        lucid.zeros(2, size=(2,))


# ---- operators, dtypes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64"])
def test_shift_operators_match_torch(device, dtype):
    torch = pytest.importorskip("torch")
    a = np.array([1, 5, 12, 0, 3], dtype=dtype)
    s = np.array([0, 1, 2, 3, 1], dtype=dtype)
    la, ls, ta, ts = lucid.tensor(a, device=device), lucid.tensor(s, device=device), torch.from_numpy(a), \
        torch.from_numpy(s)
    for lr, tr in [(la << 2, ta << 2), (la >> 1, ta >> 1), (la << ls, ta << ts), (la >> ls, ta >> ts),
                   (3 << ls, 3 << ts), (64 >> ls, 64 >> ts)]:
        _same(lr, tr)
    la <<= 1
    ta <<= 1
    _same(la, ta)
    with pytest.raises(TypeError):
        lucid.tensor([1.0], device=device) << 1


def test_dtype_is_signed_matches_torch():
    torch = pytest.importorskip("torch")
    for name in ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64",
                 "complex64", "complex128"):
        assert getattr(lucid, name).is_signed == getattr(torch, name).is_signed, name


def test_tensor_compared_with_none(device):
    t = lucid.tensor([1, 2], device=device)
    assert (t == None) is False  # noqa: E711  (what PyTorch programs write)
    assert (t != None) is True  # noqa: E711
    assert (t == 1).tolist() == [True, False]


# ---- reductions, shape -----------------------------------------------------------------------------------------------


def test_mode_of_nan_rows(device):
    nan = math.nan
    values, indices = lucid.mode(lucid.tensor([[nan, nan, nan], [1.0, nan, nan], [nan, 2.0, 2.0]], device=device), 1)
    v = _np(values)
    assert np.isnan(v[0]) and np.isnan(v[1]) and v[2] == 2.0
    assert indices.tolist() == [2, 2, 2]
    values, indices = lucid.mode(lucid.tensor([nan], device=device))
    assert np.isnan(float(values)) and int(indices) == 0
    x = lucid.tensor([[nan, 1.0, 1.0], [nan, nan, 0.5]], dtype=lucid.float64, device=device, requires_grad=True)
    lucid.mode(x, 1).values.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]


@pytest.mark.parametrize("name", ["any", "all"])
def test_any_all_with_empty_dim_reduce_nothing(device, name):
    torch = pytest.importorskip("torch")
    a = np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 3.0]], dtype=np.float32)
    la, ta = lucid.tensor(a, device=device), torch.from_numpy(a)
    _same(getattr(lucid, name)(la, dim=()), getattr(torch, name)(ta, dim=()))
    _same(getattr(la, name)(dim=[]), getattr(ta, name)(dim=[]))
    _same(getattr(lucid, name)(la), getattr(torch, name)(ta))


def test_repeat_interleave_of_counts_alone(device):
    torch = pytest.importorskip("torch")
    for counts in ([1, 0, 2], [3], []):
        c = np.array(counts, dtype=np.int64)
        _same(lucid.repeat_interleave(lucid.tensor(c, device=device)), torch.repeat_interleave(torch.from_numpy(c)))
    x = lucid.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    assert lucid.repeat_interleave(x, 2, dim=0, output_size=4).shape == (4, 2)
    with pytest.raises(RuntimeError, match="output_size"):
        lucid.repeat_interleave(x, 2, dim=0, output_size=3)
    with pytest.raises(TypeError, match="integer"):
        lucid.repeat_interleave(lucid.tensor([1.0, 2.0], device=device))
    no_counts = lucid.tensor([], dtype=lucid.int64, device=device)
    assert lucid.zeros(0, 3, device=device).repeat_interleave(no_counts, dim=0).shape == (0, 3)


@pytest.mark.parametrize("data, dtype", [([300], "int8"), ([300.0], "int8"), ([float("nan")], "int64"),
                                         ([float("inf")], "int32"), ([2**63], None), ([2**64], None), (300, "int8")])
def test_python_numbers_that_do_not_fit_an_integer_dtype_raise(device, data, dtype):
    """As PyTorch: a Python number outside the integer dtype it becomes is refused (NumPy would wrap it)."""
    with pytest.raises(OverflowError, match="without overflow"):
        lucid.tensor(data, dtype=getattr(lucid, dtype) if dtype else None, device=device)


def test_numbers_that_fit_and_arrays_convert_as_pytorch(device):
    torch = pytest.importorskip("torch")
    cases = [([-1], "uint8"), ([1.7, -1.7], "int64"), ([2**63 - 1, -2**63], None), ([2**63], "float32"),
             (np.array([300]), "int8"), ([True, 2], None)]
    for data, dtype in cases:
        ours = lucid.tensor(data, dtype=getattr(lucid, dtype) if dtype else None, device=device)
        theirs = torch.tensor(data, dtype=getattr(torch, dtype) if dtype else None)
        assert ours.dtype.name == str(theirs.dtype).split(".")[-1], data
        np.testing.assert_array_equal(_np(ours), theirs.numpy())


def test_where_refuses_a_python_int_outside_the_tensor_dtype(device):
    cond = lucid.tensor([True, False], device=device)
    small = lucid.tensor([1, 2], dtype=lucid.int8, device=device)
    with pytest.raises(OverflowError, match="1000 does not fit"):
        lucid.where(cond, small, 1000)
    with pytest.raises(OverflowError, match="-129 does not fit"):
        lucid.where(cond, -129, small)
    np.testing.assert_array_equal(_np(lucid.where(cond, small, 100)), [1, 100])


def test_iterating_a_0d_tensor_raises(device):
    with pytest.raises(TypeError, match="0-d"):
        list(lucid.tensor(1.0, device=device))
    a, b = lucid.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    np.testing.assert_array_equal(_np(b), [3.0, 4.0])


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_gradients_at_nan_and_ties_match_torch(device, name):
    """An operand's gradient is zero only where it loses: ties split it, a nan on either side gives both all."""
    torch = pytest.importorskip("torch")
    a, b = [math.nan, 1.0, 2.0, 3.0, -1.0], [0.0, math.nan, 2.0, 1.0, 5.0]
    x, y = (lucid.tensor(v, dtype=lucid.float64, device=device, requires_grad=True) for v in (a, b))
    t, u = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b))
    getattr(lucid, name)(x, y).sum().backward()
    getattr(torch, name)(t, u).sum().backward()
    np.testing.assert_array_equal(_np(x.grad), t.grad.numpy())
    np.testing.assert_array_equal(_np(y.grad), u.grad.numpy())
    rng = np.random.default_rng(0)
    p, q = (lucid.tensor(rng.standard_normal(5), device=device, requires_grad=True) for _ in range(2))
    assert gradcheck(getattr(lucid, name), (p, q))


def test_full_refuses_a_fill_value_its_integer_dtype_cannot_hold(device):
    torch = pytest.importorskip("torch")
    for value, dtype in ((float("-inf"), "int64"), (300, "int8"), (math.nan, "int32")):
        with pytest.raises(OverflowError, match="without overflow"):
            lucid.full((2,), value, dtype=getattr(lucid, dtype), device=device)
        with pytest.raises(RuntimeError):
            torch.full((2,), value, dtype=getattr(torch, dtype))
    for value, dtype in ((2.5, "int64"), (2**63 - 1, "int64"), (True, "int8")):
        ours = lucid.full((2,), value, dtype=getattr(lucid, dtype), device=device)
        np.testing.assert_array_equal(_np(ours), torch.full((2,), value, dtype=getattr(torch, dtype)).numpy())
    with pytest.raises(OverflowError):
        lucid.nn.Transformer.generate_square_subsequent_mask(3, dtype=lucid.int64)


def test_einsum_sublist_form_matches_torch(device, rng):
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((2, 4, 5))
    ours, theirs = (lucid.tensor(a, device=device), lucid.tensor(b, device=device)), (torch.tensor(a), torch.tensor(b))
    for form in (([0, 1], [9, 1, 2], [9, 0, 2]), ([0, 1], [9, 1, 2]), ([Ellipsis, 1], [9, 1, 2], [Ellipsis, 9])):
        got = lucid.einsum(ours[0], form[0], ours[1], *form[1:])
        want = torch.einsum(theirs[0], form[0], theirs[1], *form[1:])
        np.testing.assert_allclose(_np(got), want.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"ints in \[0, 52\)"):
        lucid.einsum(ours[0], [0, 60])
