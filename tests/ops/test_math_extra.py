"""The further elementwise math (lucid.ops.mathops) against torch: values with edge inputs and dtypes,
gradients, Tensor methods and in-place forms (also PyTorch's top-level ``torch.X_``), and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
from lucid.ops.mathops import TOP_INPLACE

torch = pytest.importorskip("torch")

INF, NAN = math.inf, math.nan
EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, INF, -INF, NAN]
DTYPES = [(lucid.float32, torch.float32, 2e-6), (lucid.float64, torch.float64, 1e-13)]


def _pair(values, dtype, tdtype, device):
    array = np.asarray(values, dtype=np.float64)
    return lucid.tensor(array, dtype=dtype, device=device), torch.tensor(array, dtype=tdtype)


def _close(ours, theirs, rtol=1e-13, atol=0.0):
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], (ours.dtype, theirs.dtype)
    np.testing.assert_allclose(ours.numpy(force=True), theirs.numpy(), rtol=rtol, atol=atol, equal_nan=True)


def _grid(lo, hi, n=101):
    return list(np.linspace(lo, hi, n)) + EDGES


# name: (inputs, atol for float64; float32 scales it)
UNARY = {
    "asinh": (_grid(-50, 50), 0), "acosh": (_grid(-2, 50), 0), "atanh": (_grid(-1, 1), 0),
    "arcsinh": (_grid(-5, 5), 0), "arccosh": (_grid(1, 5), 0), "arctanh": (_grid(-1, 1), 0),
    "arcsin": (_grid(-1, 1), 0), "arccos": (_grid(-1, 1), 0), "arctan": (_grid(-5, 5), 0),
    "absolute": (_grid(-5, 5), 0), "negative": (_grid(-5, 5), 0), "sgn": (_grid(-5, 5), 0),
    "erfc": (_grid(-6, 26), 0), "erfinv": (_grid(-1, 1), 0), "exp2": (_grid(-60, 60), 0),
    "digamma": (_grid(-10.25, 30), 1e-13), "lgamma": (_grid(-10.25, 30), 1e-14), "i0": (_grid(-50, 50), 0),
    "sinc": (_grid(-6, 6), 1e-16), "logit": (_grid(0, 1), 0), "frac": (_grid(-5, 5), 1e-15),
    "fix": (_grid(-5, 5), 0), "deg2rad": (_grid(-400, 400), 0), "rad2deg": (_grid(-7, 7), 0),
    "nan_to_num": (_grid(-3, 3), 0),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize(("dtype", "tdtype", "rtol"), DTYPES, ids=["float32", "float64"])
def test_unary_matches_torch(name, dtype, tdtype, rtol, device):
    values, atol = UNARY[name]
    ours, theirs = _pair(values, dtype, tdtype, device)
    scale = 1e8 if dtype is lucid.float32 else 1.0
    _close(getattr(lucid, name)(ours), getattr(torch, name)(theirs), rtol, atol * scale)
    _close(getattr(ours, name)(), getattr(theirs, name)(), rtol, atol * scale)


INTEGER_UNARY = ["asinh", "acosh", "atanh", "erfc", "erfinv", "exp2", "digamma", "lgamma", "i0", "sinc", "logit",
                 "deg2rad", "rad2deg", "absolute", "negative", "sgn", "fix", "nan_to_num", "arcsinh", "arctan"]


@pytest.mark.parametrize("name", INTEGER_UNARY)
def test_integer_inputs_follow_torch_dtypes(name, device):
    values = [0, 1, 2, -3, 7]
    ours = getattr(lucid, name)(lucid.tensor(values, device=device))
    theirs = getattr(torch, name)(torch.tensor(values))
    _close(ours, theirs, 2e-6, 1e-6)


def test_frac_refuses_integers_and_keeps_the_gradient(device):
    with pytest.raises(TypeError, match="floating"):
        lucid.frac(lucid.tensor([1, 2], device=device))
    x = lucid.tensor([1.25, -2.75], requires_grad=True, device=device)
    lucid.frac(x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_nan_to_num_arguments(device):
    values = [NAN, INF, -INF, 1.5]
    for dtype, tdtype, _ in DTYPES:
        ours, theirs = _pair(values, dtype, tdtype, device)
        _close(lucid.nan_to_num(ours), torch.nan_to_num(theirs), 0)
        _close(ours.nan_to_num(nan=2.0, posinf=3.0, neginf=-4.0), theirs.nan_to_num(nan=2.0, posinf=3.0, neginf=-4.0))
    ints = lucid.tensor([1, 2], device=device)
    out = lucid.nan_to_num(ints)
    assert out.tolist() == [1, 2] and out.dtype == lucid.int64 and out is not ints


def test_logit_eps_and_polygamma_mvlgamma_methods(device):
    ours, theirs = _pair([0.0, 0.3, 1.0, 1e-9], lucid.float64, torch.float64, device)
    _close(lucid.logit(ours, eps=1e-6), torch.logit(theirs, eps=1e-6))
    _close(ours.logit(0.1), theirs.logit(0.1))
    x, t = _pair([0.3, 2.0, 7.5], lucid.float64, torch.float64, device)
    _close(x.polygamma(2), t.polygamma(2), 1e-9)
    _close(lucid.polygamma(1, x), torch.polygamma(1, t), 1e-9)
    y, u = _pair([1.6, 3.0], lucid.float64, torch.float64, device)
    _close(y.mvlgamma(2), u.mvlgamma(2))
    _close(lucid.mvlgamma(y, p=3), torch.mvlgamma(u, p=3))
    with pytest.raises(RuntimeError, match="greater than"):
        lucid.mvlgamma(lucid.tensor([0.2], device=device), 2)


# binary: name -> (a values, b values)
_A = [0.0, -0.0, 1.5, -2.5, 3.0, -7.25, 1e-3, 100.0, INF, -INF, NAN, 2.0, 0.0, 5.0]
_B = [1.0, 2.0, 0.0, -0.0, -4.0, 2.5, -3.0, 7.0, 2.0, 3.0, 1.0, INF, NAN, -INF]
BINARY = {
    "xlogy": (_A, [abs(b) if b == b else b for b in _B]), "hypot": (_A, _B), "copysign": (_A, _B), "fmod": (_A, _B),
    "float_power": ([abs(a) for a in _A], _B), "logaddexp": (_A, _B), "logaddexp2": (_A, _B), "fmax": (_A, _B),
    "fmin": (_A, _B), "igamma": ([abs(a) for a in _A], [abs(b) for b in _B]),
    "igammac": ([abs(a) for a in _A], [abs(b) for b in _B]), "nextafter": (_A, _B), "arctan2": (_A, _B),
    "remainder": (_A, _B), "atan2": (_A, _B),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize(("dtype", "tdtype", "rtol"), DTYPES, ids=["float32", "float64"])
def test_binary_matches_torch(name, dtype, tdtype, rtol, device):
    a_values, b_values = BINARY[name]
    a, ta = _pair(a_values, dtype, tdtype, device)
    b, tb = _pair(b_values, dtype, tdtype, device)
    rtol = 1e-4 if name.startswith("igamma") and dtype is lucid.float32 else rtol  # PyTorch's float32 igamma
    rtol = 1e-8 if name.startswith("igamma") and dtype is lucid.float64 else rtol
    _close(getattr(lucid, name)(a, b), getattr(torch, name)(ta, tb), rtol)
    _close(getattr(a, name)(b), getattr(ta, name)(tb), rtol)


NO_INTEGERS = ("hypot", "logaddexp", "logaddexp2", "igamma")  # PyTorch: "not implemented for 'Long'"


@pytest.mark.parametrize("name", ["hypot", "copysign", "fmod", "logaddexp", "logaddexp2", "fmax", "fmin", "xlogy",
                                  "float_power", "ldexp", "igamma", "remainder"])
def test_binary_dtype_promotion_and_scalars_follow_torch(name, device):
    ints = [1, 2, 3, 4]
    floats = [0.5, 1.5, 2.5, 3.5]
    for a, b in ((ints, floats), (floats, ints), (ints, ints)):
        if name in NO_INTEGERS and a is b:
            with pytest.raises(TypeError, match="integer"):
                getattr(lucid, name)(lucid.tensor(a, device=device), lucid.tensor(b, device=device))
            with pytest.raises(NotImplementedError):
                getattr(torch, name)(torch.tensor(a), torch.tensor(b))
            continue
        ours = getattr(lucid, name)(lucid.tensor(a, device=device), lucid.tensor(b, device=device))
        theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
        _close(ours, theirs, 2e-6)
    if name not in ("ldexp", "igamma", "fmax", "fmin", *NO_INTEGERS):  # PyTorch takes a tensor there (lucid: both)
        _close(getattr(lucid, name)(lucid.tensor(floats, device=device), 2.0),
               getattr(torch, name)(torch.tensor(floats), 2.0), 2e-6)


def test_fmod_on_integers_and_division_by_zero(device):
    a, b = [-7, 7, -7, 7, 0], [3, 3, -3, -3, 5]
    _close(lucid.fmod(lucid.tensor(a, device=device), lucid.tensor(b, device=device)),
           torch.fmod(torch.tensor(a), torch.tensor(b)), 0)
    _close(lucid.fmod(lucid.tensor(a, device=device), 3), torch.fmod(torch.tensor(a), 3), 0)
    with pytest.raises(ZeroDivisionError):
        lucid.fmod(lucid.tensor([1, 2], device=device), 0)
    # exact for tiny dividends (a - trunc(a/b) b would round)
    _close(lucid.fmod(lucid.tensor([-1e-20, 1e-300], dtype=lucid.float64, device=device), 1.0),
           torch.fmod(torch.tensor([-1e-20, 1e-300], dtype=torch.float64), 1.0), 0)


@pytest.mark.parametrize("name", ["gcd", "lcm", "bitwise_left_shift", "bitwise_right_shift"])
def test_integer_ops_match_torch(name, device):
    a, b = [12, -18, 0, 7, 0, 48, 5], [8, 12, 5, 0, 0, -36, 3]
    if "shift" in name:
        b = [abs(v) % 5 for v in b]
    for dtype, tdtype in ((lucid.int64, torch.int64), (lucid.int32, torch.int32), (lucid.uint8, torch.uint8)):
        aa = [abs(v) for v in a] if dtype is lucid.uint8 else a
        ours = getattr(lucid, name)(lucid.tensor(aa, dtype=dtype, device=device), lucid.tensor(b, dtype=dtype,
                                                                                                  device=device))
        _close(ours, getattr(torch, name)(torch.tensor(aa, dtype=tdtype), torch.tensor(b, dtype=tdtype)), 0)
    with pytest.raises(TypeError, match="integer"):
        getattr(lucid, name)(lucid.tensor([1.0], device=device), lucid.tensor([2.0], device=device))


def test_heaviside_frexp_ldexp(device):
    x, t = _pair([-2.0, 0.0, -0.0, 3.0, NAN, INF], lucid.float64, torch.float64, device)
    v, tv = _pair([0.5], lucid.float64, torch.float64, device)
    _close(lucid.heaviside(x, v), torch.heaviside(t, tv), 0)
    with pytest.raises(TypeError, match="same dtype"):
        lucid.heaviside(x, lucid.tensor([1], device=device))
    values = [8.0, 0.3, -0.0, 0.0, INF, -INF, NAN, 1e-310, -5e-324, 1.7e308, -3.0]
    for dtype, tdtype, _ in DTYPES:
        vals = [v for v in values if dtype is lucid.float64 or abs(v) < 1e38 and not 0 < abs(v) < 1e-38]
        ours, theirs = _pair(vals, dtype, tdtype, device)
        mantissa, exponent = lucid.frexp(ours)
        tm, te = torch.frexp(theirs)
        _close(mantissa, tm, 0)
        _close(exponent, te, 0)
        assert ours.frexp().exponent.dtype == lucid.int32
        _close(lucid.ldexp(mantissa, exponent), torch.ldexp(tm, te), 0)
    with pytest.raises(TypeError, match="floating"):
        lucid.frexp(lucid.tensor([1, 2], device=device))


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "isreal", "signbit"])
def test_predicates_match_torch(name, device):
    for dtype, tdtype, _ in DTYPES:
        ours, theirs = _pair(EDGES, dtype, tdtype, device)
        _close(getattr(lucid, name)(ours), getattr(torch, name)(theirs), 0)
        _close(getattr(ours, name)(), getattr(theirs, name)(), 0)
    for values, dtype, tdtype in (([0, -3, 5], lucid.int64, torch.int64), ([0, 200], lucid.uint8, torch.uint8),
                                  ([True, False], lucid.bool_, torch.bool)):
        _close(getattr(lucid, name)(lucid.tensor(values, dtype=dtype, device=device)),
               getattr(torch, name)(torch.tensor(values, dtype=tdtype)), 0)


def test_isclose_allclose_equal(device):
    a = [1.0, 1.0 + 1e-9, INF, -INF, NAN, 0.0, 1.0]
    b = [1.0, 1.0, INF, INF, NAN, 1e-9, 1.1]
    ours_a, ta = _pair(a, lucid.float64, torch.float64, device)
    ours_b, tb = _pair(b, lucid.float64, torch.float64, device)
    for kwargs in ({}, {"equal_nan": True}, {"rtol": 0.2, "atol": 0.0}, {"atol": 1e-8}):
        _close(lucid.isclose(ours_a, ours_b, **kwargs), torch.isclose(ta, tb, **kwargs), 0)
        _close(ours_a.isclose(ours_b, **kwargs), ta.isclose(tb, **kwargs), 0)
        assert lucid.allclose(ours_a[:2], ours_b[:2], **kwargs) == torch.allclose(ta[:2], tb[:2], **kwargs)
    assert lucid.allclose(ours_a, ours_b, equal_nan=True) is torch.allclose(ta, tb, equal_nan=True)
    ints = lucid.tensor([1, 2, 3], device=device)
    assert lucid.isclose(ints, ints + 0).all().item() and lucid.isclose(ints, 2).tolist() == [False, True, False]
    assert lucid.equal(ints, ints.clone()) is True
    assert lucid.equal(ints, lucid.tensor([1, 2, 4], device=device)) is False
    assert lucid.equal(ints, lucid.tensor([[1, 2, 3]], device=device)) is False
    assert ints.equal(ints) is True


def test_comparison_aliases_and_their_in_place_forms(device):
    a_values, b_values = [1.0, 2.0, 3.0, NAN], [2.0, 2.0, 1.0, 1.0]
    for name in ("greater", "greater_equal", "less", "less_equal", "not_equal", "lt", "le", "gt", "ge", "ne", "eq"):
        a, ta = _pair(a_values, lucid.float32, torch.float32, device)
        b, tb = _pair(b_values, lucid.float32, torch.float32, device)
        if hasattr(torch, name):
            _close(getattr(lucid, name)(a, b), getattr(torch, name)(ta, tb), 0)
        out = getattr(a, f"{name}_")(b)
        assert out is a and a.dtype == lucid.float32
        _close(a, getattr(ta, f"{name}_")(tb), 0)


def test_bitwise_and_logical_in_place_forms(device):
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "logical_and", "logical_or", "logical_xor"):
        a, ta = lucid.tensor([5, 3, 0], device=device), torch.tensor([5, 3, 0])
        getattr(a, f"{name}_")(lucid.tensor([3, 0, 1], device=device))
        getattr(ta, f"{name}_")(torch.tensor([3, 0, 1]))
        _close(a, ta, 0)
    for name in ("bitwise_not", "logical_not"):
        a, ta = lucid.tensor([5, 0, -2], device=device), torch.tensor([5, 0, -2])
        getattr(a, f"{name}_")()
        getattr(ta, f"{name}_")()
        _close(a, ta, 0)


def test_arithmetic_alias_in_place_forms(device):
    for name in ("multiply", "divide", "true_divide", "subtract", "floor_divide", "arctan2"):
        a, ta = _pair([1.5, -2.0, 3.0], lucid.float32, torch.float32, device)
        getattr(a, f"{name}_")(lucid.tensor([2.0, 4.0, -0.5], device=device))
        getattr(ta, f"{name}_")(torch.tensor([2.0, 4.0, -0.5]))
        _close(a, ta, 1e-7)


def test_alpha_forms_of_add_and_sub(device):
    a, ta = _pair([1.0, 2.0, 3.0], lucid.float32, torch.float32, device)
    b, tb = _pair([0.5, -1.0, 4.0], lucid.float32, torch.float32, device)
    _close(lucid.add(a, b, alpha=2), torch.add(ta, tb, alpha=2))
    _close(lucid.sub(a, b, alpha=0.5), torch.sub(ta, tb, alpha=0.5))
    _close(a.add(b, alpha=-3), ta.add(tb, alpha=-3))
    _close(a.subtract(b, alpha=2), ta.subtract(tb, alpha=2))
    _close(lucid.rsub(a, b), torch.rsub(ta, tb))
    _close(lucid.rsub(a, b, alpha=2), torch.rsub(ta, tb, alpha=2))
    _close(lucid.add(a, 1.5, alpha=2), torch.add(ta, 1.5, alpha=2))
    a.add_(b, alpha=2)
    ta.add_(tb, alpha=2)
    _close(a, ta)
    a.sub_(b, alpha=3)
    ta.sub_(tb, alpha=3)
    _close(a, ta)
    ints = lucid.tensor([1, 2], device=device)
    assert lucid.add(ints, ints, alpha=3).tolist() == [4, 8] and lucid.add(ints, ints, alpha=3).dtype == lucid.int64


def test_addcmul_addcdiv_lerp(device, rng):
    x, y, z = (rng.standard_normal((2, 3)) for _ in range(3))
    w = rng.uniform(0, 1, (2, 3))
    L = [lucid.tensor(v, device=device) for v in (x, y, z, w)]
    T = [torch.tensor(v) for v in (x, y, z, w)]
    _close(lucid.addcmul(L[0], L[1], L[2], value=0.5), torch.addcmul(T[0], T[1], T[2], value=0.5))
    _close(lucid.addcdiv(L[0], L[1], L[2], value=-2), torch.addcdiv(T[0], T[1], T[2], value=-2))
    _close(L[0].addcmul(L[1], L[2]), T[0].addcmul(T[1], T[2]))
    for weight, tweight in ((0.3, 0.3), (0.8, 0.8), (1.0, 1.0), (L[3], T[3])):
        _close(lucid.lerp(L[0], L[1], weight), torch.lerp(T[0], T[1], tweight))
        _close(L[0].lerp(L[1], weight), T[0].lerp(T[1], tweight))
    a, ta = L[0].clone(), T[0].clone()
    a.addcdiv_(L[1], L[2], value=3)
    ta.addcdiv_(T[1], T[2], value=3)
    a.lerp_(L[1], 0.25)
    ta.lerp_(T[1], 0.25)
    a.addcmul_(L[1], L[2])
    ta.addcmul_(T[1], T[2])
    _close(a, ta, 1e-12)
    with pytest.raises(TypeError, match="integer division"):
        lucid.addcdiv(L[0], lucid.tensor([1, 2], device=device), lucid.tensor([3, 4], device=device))


def test_clamp_min_and_max(device):
    a, ta = _pair([-2.0, 0.5, 3.0, NAN], lucid.float32, torch.float32, device)
    _close(lucid.clamp_min(a, 0.0), torch.clamp_min(ta, 0.0), 0)
    _close(a.clamp_max(1.0), ta.clamp_max(1.0), 0)
    b = lucid.tensor([0.0, 1.0, 1.0, 1.0], device=device)
    _close(lucid.clamp_max(a, b), torch.clamp_max(ta, torch.tensor([0.0, 1.0, 1.0, 1.0])), 0)
    a.clamp_min_(0.0)
    ta.clamp_min_(0.0)
    _close(a, ta, 0)


UNARY_INPLACE = ["asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "arcsin", "arccos", "arctan", "absolute",
                 "negative", "sgn", "erfc", "erfinv", "exp2", "digamma", "lgamma", "i0", "sinc", "logit", "frac", "fix",
                 "deg2rad", "rad2deg", "nan_to_num"]


@pytest.mark.parametrize("name", UNARY_INPLACE)
def test_tensor_in_place_forms(name, device):
    values = [0.1, 0.4, 0.9, 1.5, -0.7]
    ours, theirs = _pair(values, lucid.float64, torch.float64, device)
    view = ours[1:]
    out = getattr(ours, f"{name}_")()
    getattr(theirs, f"{name}_")()
    assert out is ours
    _close(ours, theirs, 1e-13)
    _close(view, theirs[1:], 1e-13)  # written into the storage a view shares


@pytest.mark.parametrize("name", ["asinh", "erfc", "lgamma", "deg2rad"])
def test_in_place_float_result_into_an_integer_tensor_raises(name, device):
    x = lucid.tensor([1, 2], device=device)
    with pytest.raises(TypeError, match="can't be stored in place"):
        getattr(x, f"{name}_")()
    assert x.tolist() == [1, 2]
    with pytest.raises(RuntimeError):
        getattr(torch.tensor([1, 2]), f"{name}_")()


_TOP_ARGS = {"clamp": (-0.5, 0.5), "clip": (-0.5, 0.5), "clamp_min": (0.1,), "clamp_max": (0.1,), "xlogy": (1.5,),
             "fill": (2.0,), "ldexp": (3,)}


@pytest.mark.parametrize("name", TOP_INPLACE)
def test_top_level_in_place_functions_match_torch(name, device):
    assert getattr(lucid, f"{name}_").__name__ == f"{name}_"
    if name in ("gcd", "lcm"):
        ours, theirs = lucid.tensor([12, 18], device=device), torch.tensor([12, 18])
        out = getattr(lucid, f"{name}_")(ours, lucid.tensor([8, 4], device=device))
        getattr(torch, f"{name}_")(theirs, torch.tensor([8, 4]))
    else:
        ours, theirs = _pair([0.2, 0.45, 0.7, 0.9], lucid.float64, torch.float64, device)
        args = _TOP_ARGS.get(name, ())
        if name in ("xlogy", "ldexp"):
            args_t = (torch.tensor(args[0], dtype=torch.float64),)
        else:
            args_t = args
        out = getattr(lucid, f"{name}_")(ours, *args)
        getattr(torch, f"{name}_")(theirs, *args_t)
    assert out is ours
    _close(ours, theirs, 1e-12)


def _grads(fn_ours, fn_theirs, *values):
    ours = [lucid.tensor(np.asarray(v), dtype=lucid.float64, requires_grad=True) for v in values]
    theirs = [torch.tensor(np.asarray(v), dtype=torch.float64, requires_grad=True) for v in values]
    fn_ours(*ours).sum().backward()
    fn_theirs(*theirs).sum().backward()
    for o, t in zip(ours, theirs):
        expected = t.grad if t.grad is not None else torch.zeros_like(t)
        np.testing.assert_allclose(o.grad.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12, equal_nan=True)


GRADIENTS = {  # name: (lucid fn, torch fn, inputs): the points include ties, zeros and edges of each formula
    "hypot": (lucid.hypot, torch.hypot, [3.0, -1.0, 0.5], [4.0, 2.0, -0.5]),
    "copysign": (lucid.copysign, torch.copysign, [3.0, -1.0, 0.0, 2.0], [-4.0, 2.0, 1.0, -0.0]),
    "fmod": (lucid.fmod, torch.fmod, [5.5, -7.25, 1.0], [2.0, 3.0, -0.3]),
    "logaddexp": (lucid.logaddexp, torch.logaddexp, [1.0, -30.0, 2.0], [2.0, 5.0, 2.0]),
    "logaddexp2": (lucid.logaddexp2, torch.logaddexp2, [1.0, -30.0, 2.0], [2.0, 5.0, 2.0]),
    "fmax": (lucid.fmax, torch.fmax, [1.0, NAN, 2.0, 3.0], [0.5, 3.0, 2.0, NAN]),
    "fmin": (lucid.fmin, torch.fmin, [1.0, NAN, 2.0, 3.0], [0.5, 3.0, 2.0, NAN]),
    "float_power": (lucid.float_power, torch.float_power, [1.5, 2.0, 0.5], [2.0, -1.0, 3.0]),
    "lerp": (lucid.lerp, torch.lerp, [1.0, -2.0, 0.5], [3.0, 1.0, 0.0], [0.2, 0.7, 1.0]),
    "addcdiv": (lambda a, b, c: lucid.addcdiv(a, b, c, value=0.5), lambda a, b, c: torch.addcdiv(a, b, c, value=0.5),
                [1.0, 2.0], [3.0, -1.0], [2.0, 0.5]),
    "asinh": (lucid.asinh, torch.asinh, [-3.0, 0.0, 2.0]),
    "acosh": (lucid.acosh, torch.acosh, [1.5, 3.0]),
    "atanh": (lucid.atanh, torch.atanh, [-0.5, 0.0, 0.9]),
    "erfinv": (lucid.erfinv, torch.erfinv, [-0.9, 0.0, 0.5]),
    "exp2": (lucid.exp2, torch.exp2, [-3.0, 0.0, 2.5]),
    "lgamma": (lucid.lgamma, torch.lgamma, [0.3, 2.0, -2.5]),
    "i0": (lucid.i0, torch.i0, [-3.0, 0.0, 20.0]),
    "sinc": (lucid.sinc, torch.sinc, [-1.5, 0.0, 0.3]),
    "logit": (lambda x: lucid.logit(x, eps=0.25), lambda x: torch.logit(x, eps=0.25), [0.1, 0.5, 0.9]),
    "frac": (lucid.frac, torch.frac, [1.25, -2.5]),
    "nan_to_num": (lucid.nan_to_num, torch.nan_to_num, [1.0, NAN, INF, -2.0]),
    "deg2rad": (lucid.deg2rad, torch.deg2rad, [30.0, -90.0]),
    "clamp_min": (lambda x: lucid.clamp_min(x, 0.5), lambda x: torch.clamp_min(x, 0.5), [0.1, 0.9]),
    "igamma": (lambda x: lucid.igamma(lucid.tensor([2.5, 0.7], dtype=lucid.float64), x),
               lambda x: torch.igamma(torch.tensor([2.5, 0.7], dtype=torch.float64), x), [1.5, 3.0]),
    "igammac": (lambda x: lucid.igammac(lucid.tensor([2.5, 0.7], dtype=lucid.float64), x),
                lambda x: torch.igammac(torch.tensor([2.5, 0.7], dtype=torch.float64), x), [1.5, 3.0]),
}


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_gradients_match_torch(name):
    fn_ours, fn_theirs, *values = GRADIENTS[name]
    _grads(fn_ours, fn_theirs, *values)


def test_digamma_gradient_is_trigamma():
    x = lucid.tensor([0.3, 2.0, 7.5], dtype=lucid.float64, requires_grad=True)
    (g,) = lucid.autograd.grad(lucid.digamma(x).sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(force=True), lucid.polygamma(1, x).detach().numpy(), rtol=1e-15)
    (gg,) = lucid.autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(gg.numpy(), lucid.polygamma(2, x).detach().numpy(), rtol=1e-15)


def test_errors_name_the_problem(device):
    with pytest.raises(ValueError, match="non-negative integer"):
        lucid.polygamma(1.5, lucid.tensor([1.0], device=device))
    with pytest.raises(TypeError, match="nextafter"):
        lucid.nextafter(lucid.tensor([1], device=device), lucid.tensor([2], device=device))
    with pytest.raises(NotImplementedError, match="first argument"):
        a = lucid.tensor([2.0], dtype=lucid.float64, device=device, requires_grad=True)
        lucid.igamma(a, lucid.tensor([1.0], dtype=lucid.float64, device=device)).backward()


def test_integer_and_mask_ops_refuse_two_devices(device):
    other = {"strict:0": "strict:1", "strict:1": "strict:0"}.get(str(device))
    if other is None:
        pytest.skip("needs array-api-strict's second device")
    a, b = lucid.tensor([4, 6], device=device), lucid.tensor([2, 3], device=other)
    for fn in (lucid.gcd, lucid.lcm, lucid.bitwise_left_shift):
        with pytest.raises(lucid.DeviceMismatchError, match="one device"):
            fn(a, b)
    for fn in (lucid.nextafter, lucid.heaviside, lucid.hypot, lucid.xlogy, lucid.fmod):
        with pytest.raises(lucid.DeviceMismatchError):
            fn(a.double(), b.double())


def test_float_power_in_place_needs_a_float64_tensor(device):
    x = lucid.tensor([1.5, 2.0], device=device)
    with pytest.raises(TypeError, match="float64"):
        x.float_power_(2)
    assert x.tolist() == [1.5, 2.0]
    with pytest.raises(RuntimeError):
        torch.tensor([1.5, 2.0]).float_power_(2)
    y, t = _pair([1.5, 2.0], lucid.float64, torch.float64, device)
    y.float_power_(3)
    _close(y, t.float_power_(3))


SECOND_ORDER = {  # the new Functions' backward is written in lucid ops: gradgradcheck each
    "hypot": (lucid.hypot, [(0.5, 2.0), (-2.0, -0.5)]), "copysign": (lucid.copysign, [(0.5, 2.0), (-2.0, 2.0)]),
    "logaddexp": (lucid.logaddexp, [(-2.0, 2.0), (-2.0, 2.0)]), "logaddexp2": (lucid.logaddexp2, [(-2.0, 2.0)] * 2),
    "fmod": (lucid.fmod, [(0.5, 3.0), (0.7, 1.3)]), "xlogy": (lucid.xlogy, [(-2.0, 2.0), (0.5, 2.0)]),
    "xlog1py": (lucid.special.xlog1py, [(-2.0, 2.0), (0.5, 2.0)]),
    "igamma": (lambda x: lucid.igamma(lucid.tensor([1.5, 3.0], dtype=lucid.float64, device=x.device), x),
               [(0.5, 3.0)]),
    "zeta": (lambda q: lucid.special.zeta(3.0, q), [(0.5, 3.0)]),
    "polygamma": (lambda x: lucid.polygamma(2, x), [(0.5, 3.0)]), "lgamma": (lucid.lgamma, [(0.5, 3.0)]),
    "erfinv": (lucid.erfinv, [(-0.8, 0.8)]), "i0": (lucid.i0, [(-3.0, 3.0)]),
    "i1e": (lucid.special.i1e, [(-3.0, 3.0)]), "ndtri": (lucid.special.ndtri, [(0.1, 0.9)]),
    "log_ndtr": (lucid.special.log_ndtr, [(-5.0, 3.0)]), "sinc": (lucid.sinc, [(-2.0, 2.0)]),
    "erfcx": (lucid.special.erfcx, [(-1.0, 3.0)]),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_derivatives(name, device, rng):
    from lucid.autograd import gradgradcheck

    fn, ranges = SECOND_ORDER[name]
    inputs = [lucid.tensor(rng.uniform(lo, hi, 2), dtype=lucid.float64, device=device, requires_grad=True)
              for lo, hi in ranges]
    assert gradgradcheck(fn, inputs)
