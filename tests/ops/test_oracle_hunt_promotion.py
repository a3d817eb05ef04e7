"""Result dtypes against PyTorch, found by an oracle hunt over the dtype grid: in-place results of another integer
type (``uint8 += int64``), ``add``/``sub`` with ``alpha=``, ``ldexp``, ``bfloat16 ** -3`` and ``angle``,
``addcdiv`` with complex tensors, ``any``/``all`` of uint8, and the ops that dropped a complex input's imaginary
part (``cov``, ``logcumsumexp``), which now keep it."""

from __future__ import annotations

import numpy as np
import pytest

import lucid

_GRID = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64",
         "complex64", "complex128"]
_INTEGERS = ["uint8", "int8", "int16", "int32", "int64"]


def _pair(torch, dtype, device, values=(1, 2, 3), zero_dim=False):
    """The same values as a lucid and a torch tensor of ``dtype`` (0-d: the first value); skipped where the
    backend lacks the dtype (array-api-strict has no float16 or bfloat16)."""
    if not device.backend.supports(getattr(lucid, dtype)):
        pytest.skip(f"the {device.backend.name} backend has no {dtype}")
    t = torch.tensor(values[0] if zero_dim else list(values)).to(getattr(torch, dtype))
    data = t.double().numpy() if dtype == "bfloat16" else t.numpy()
    return lucid.tensor(data, dtype=getattr(lucid, dtype), device=device), t


def _outcome(fn):
    """The result's dtype name, or the exception type's name."""
    try:
        return str(fn().dtype).split(".")[-1]
    except Exception as error:  # noqa: BLE001 (any refusal counts; which one is compared)
        return type(error).__name__


def _same(lt, tt):
    """A lucid and a torch tensor hold the same values in the same dtype (compared as complex128)."""
    torch = pytest.importorskip("torch")
    assert str(lt.dtype).split(".")[-1] == str(tt.dtype).split(".")[-1], (lt.dtype, tt.dtype)
    np.testing.assert_allclose(lt.detach().cpu().numpy().astype(np.complex128),
                               tt.detach().to(torch.complex128).numpy(), rtol=1e-2, atol=1e-3)


@pytest.mark.parametrize("method", ["add_", "sub_", "mul_", "remainder_", "bitwise_and_", "clamp_min_"])
@pytest.mark.parametrize("target", _INTEGERS)
@pytest.mark.parametrize("source", _INTEGERS + ["bool", "float32"])
def test_in_place_result_of_another_integer_type_is_stored(device, method, target, source):
    """PyTorch stores any integer (or bool) result in any integer tensor (wrapping), but no float result."""
    torch = pytest.importorskip("torch")
    (la, ta), (lb, tb) = _pair(torch, target, device, (5, 7, 9)), _pair(torch, source, device, (1, 2, 3))
    ours = _outcome(lambda: getattr(la, method)(lb))
    theirs = _outcome(lambda: getattr(ta, method)(tb))
    assert (ours in _GRID) == (theirs in _GRID), (ours, theirs)
    if theirs in _GRID:
        assert ours == theirs
        np.testing.assert_array_equal(la.cpu().numpy(), ta.numpy())


@pytest.mark.parametrize("op", ["add", "sub"])
@pytest.mark.parametrize("a", ["bool", "uint8", "int32", "float16", "float32"])
@pytest.mark.parametrize("b", ["bool", "int8", "int64", "float64", "0d-bool", "0d-float64", 3, 2.5, True])
@pytest.mark.parametrize("alpha", [2, 0.5, True])
def test_alpha_keeps_the_dtype_of_the_plain_op(device, op, a, b, alpha):
    torch = pytest.importorskip("torch")
    la, ta = _pair(torch, a, device)
    if isinstance(b, str):
        lb, tb = _pair(torch, b.removeprefix("0d-"), device, zero_dim=b.startswith("0d-"))
    else:
        lb = tb = b
    ours = _outcome(lambda: getattr(lucid, op)(la, lb, alpha=alpha))
    theirs = _outcome(lambda: getattr(torch, op)(ta, tb, alpha=alpha))
    assert (ours in _GRID) == (theirs in _GRID), (ours, theirs)
    if theirs in _GRID:
        _same(getattr(lucid, op)(la, lb, alpha=alpha), getattr(torch, op)(ta, tb, alpha=alpha))


@pytest.mark.parametrize("a", _GRID)
@pytest.mark.parametrize("b", ["bool", "int32", "int64", "float16", "bfloat16", "float32", "float64", "complex64",
                               "0d-float64", "0d-float16"])
def test_ldexp_result_dtype(device, a, b):
    torch = pytest.importorskip("torch")
    la, ta = _pair(torch, a, device)
    lb, tb = _pair(torch, b.removeprefix("0d-"), device, zero_dim=b.startswith("0d-"))
    theirs = _outcome(lambda: torch.ldexp(ta, tb))
    if theirs not in _GRID:  # complex32 (float16 with complex), or an op torch does not implement for the pair
        return
    _same(lucid.ldexp(la, lb), torch.ldexp(ta, tb))


def test_ldexp_values_do_not_overflow_on_the_way(device):
    torch = pytest.importorskip("torch")
    la, ta = _pair(torch, "float64", device, (1.5, 3.0, 0.25))
    lb, tb = _pair(torch, "int64", device, (1030, -3, 1025))
    _same(lucid.ldexp(la, lb), torch.ldexp(ta, tb))


@pytest.mark.parametrize("exponent", [-3, -1, 5, 0.5, 2])
def test_bfloat16_scalar_power_and_angle(device, exponent):
    torch = pytest.importorskip("torch")
    la, ta = _pair(torch, "bfloat16", device, (1.5, -2.0, 0.75))
    _same(la**exponent, ta**exponent)
    _same(lucid.angle(la), torch.angle(ta))


@pytest.mark.parametrize("a", ["bool", "uint8", "int64", "float32"])
@pytest.mark.parametrize("b", ["complex64", "complex128"])
def test_addcdiv_with_complex_tensors(device, a, b):
    torch = pytest.importorskip("torch")
    (la, ta), (lb, tb) = _pair(torch, a, device), _pair(torch, b, device)
    _same(lucid.addcdiv(la, lb, lb * 2, value=3), torch.addcdiv(ta, tb, tb * 2, value=3))


@pytest.mark.parametrize("name", ["any", "all"])
@pytest.mark.parametrize("kwargs", [{}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"dim": ()}, {"dim": (0, 1)}])
@pytest.mark.parametrize("dtype", ["uint8", "int32", "bool", "float32"])
def test_any_all_of_uint8_stay_uint8(device, name, kwargs, dtype):
    torch = pytest.importorskip("torch")
    ta = torch.tensor([[1, 0, 2], [3, 4, 5]]).to(getattr(torch, dtype))
    la = lucid.tensor(ta.numpy(), device=device)
    _same(getattr(lucid, name)(la, **kwargs), getattr(torch, name)(ta, **kwargs))


@pytest.mark.parametrize("fn", [lambda x: lucid.cov(x), lambda x: lucid.corrcoef(x),
                                lambda x: lucid.logcumsumexp(x, 1)])
def test_complex_input_stays_complex_not_cast_to_real(device, fn):
    """(Computed in complex since, as PyTorch: test_oracle_hunt_leftovers.py compares the values.)"""
    x = lucid.tensor([[1 + 2j, 3 - 1j, 0.5j]], device=device)
    assert fn(x).dtype is lucid.complex64
