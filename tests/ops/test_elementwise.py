"""Unary and binary elementwise ops: values against NumPy, float64 gradchecks, dtype rules."""

from __future__ import annotations

import math
import operator
import warnings

import numpy as np
import pytest

import lucid
from lucid.autograd import gradcheck, gradgradcheck
from lucid.ops.elementwise import FUNCTIONS

# input domains where each op is smooth, and the NumPy reference
UNARY = {
    "exp": ((-2, 2), np.exp), "log": ((0.5, 3), np.log), "log2": ((0.5, 3), np.log2),
    "log10": ((0.5, 3), np.log10), "log1p": ((-0.5, 2), np.log1p), "expm1": ((-2, 2), np.expm1),
    "sqrt": ((0.5, 3), np.sqrt), "rsqrt": ((0.5, 3), lambda x: 1 / np.sqrt(x)), "sin": ((-3, 3), np.sin),
    "cos": ((-3, 3), np.cos), "tan": ((-1, 1), np.tan), "asin": ((-0.9, 0.9), np.arcsin),
    "acos": ((-0.9, 0.9), np.arccos), "atan": ((-3, 3), np.arctan), "sinh": ((-2, 2), np.sinh),
    "cosh": ((-2, 2), np.cosh), "tanh": ((-2, 2), np.tanh), "sigmoid": ((-4, 4), lambda x: 1 / (1 + np.exp(-x))),
    "abs": ((0.2, 2), np.abs), "neg": ((-2, 2), np.negative), "reciprocal": ((0.5, 2), np.reciprocal),
    "square": ((-2, 2), np.square), "erf": ((-2.5, 2.5), np.vectorize(math.erf)),
    "sign": ((-2, 2), np.sign), "floor": ((-2, 2), np.floor), "ceil": ((-2, 2), np.ceil),
    "round": ((-2, 2), np.round), "trunc": ((-2, 2), np.trunc),
}
SMOOTH = [n for n in UNARY if n not in ("sign", "floor", "ceil", "round", "trunc")]


def test_table_covers_every_unary_op():
    assert set(UNARY) == set(FUNCTIONS)


def _rand(rng, shape, lo, hi, device, requires_grad=False):
    data = rng.uniform(lo, hi, size=shape)
    return lucid.tensor(data, dtype=lucid.float64, device=device, requires_grad=requires_grad)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values(name, device, rng):
    (lo, hi), ref = UNARY[name]
    x = _rand(rng, (3, 4), lo, hi, device)
    out = getattr(lucid, name)(x)
    np.testing.assert_allclose(out.numpy(force=True), ref(x.numpy(force=True)), rtol=1e-12, atol=1e-12)
    assert getattr(x, name)().dtype == lucid.float64


@pytest.mark.parametrize("name", SMOOTH)
def test_unary_gradcheck(name, device, rng):
    (lo, hi), _ = UNARY[name]
    x = _rand(rng, (2, 3), lo, hi, device, requires_grad=True)
    assert gradcheck(getattr(lucid, name), (x,))
    assert gradgradcheck(getattr(lucid, name), (x,))


@pytest.mark.parametrize("name", ["sign", "floor", "round"])
def test_piecewise_constant_ops_have_zero_gradient(name, device, rng):
    x = _rand(rng, (5,), -2, 2, device, requires_grad=True)
    getattr(lucid, name)(x).sum().backward()
    assert not x.grad.numpy(force=True).any()


def test_sigmoid_is_finite_for_huge_inputs(device):
    x = lucid.tensor([-1e4, 0.0, 1e4], device=device, requires_grad=True)
    y = x.sigmoid()
    np.testing.assert_array_equal(y.detach().numpy(force=True), [0.0, 0.5, 1.0])
    y.sum().backward()
    assert np.isfinite(x.grad.numpy(force=True)).all()


BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum, "atan2": np.arctan2, "remainder": np.remainder,
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values_with_broadcasting(name, device, rng):
    a = _rand(rng, (3, 1, 4), 0.5, 2, device)
    b = _rand(rng, (2, 1), 0.5, 2, device)
    out = getattr(lucid, name)(a, b)
    np.testing.assert_allclose(out.numpy(force=True), BINARY[name](a.numpy(force=True), b.numpy(force=True)))
    assert out.shape == (3, 2, 4)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradcheck_with_broadcasting(name, device, rng):
    a = _rand(rng, (3, 1, 4), 0.5, 2, device, requires_grad=True)
    b = _rand(rng, (2, 1), 0.6, 2.1, device, requires_grad=True)
    fn = getattr(lucid, name)
    assert gradcheck(fn, (a, b))
    if name not in ("remainder",):
        assert gradgradcheck(fn, (a, b))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
def test_binary_with_python_scalar_on_each_side(name, device, rng):
    x = _rand(rng, (4,), 0.5, 2, device, requires_grad=True)
    fn = getattr(lucid, name)
    assert gradcheck(lambda t: fn(t, 1.7), (x,))
    assert gradcheck(lambda t: fn(1.7, t), (x,))


def test_maximum_splits_gradient_on_ties(device):
    a = lucid.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    b = lucid.tensor([1.0, 5.0, 0.0], device=device, requires_grad=True)
    lucid.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(force=True), [0.5, 0.0, 1.0])
    np.testing.assert_allclose(b.grad.numpy(force=True), [0.5, 1.0, 0.0])


def test_operators_match_functions(device, rng):
    a = _rand(rng, (3,), 0.5, 2, device)
    b = _rand(rng, (3,), 0.5, 2, device)
    na, nb = a.numpy(force=True), b.numpy(force=True)
    for got, want in [(a + b, na + nb), (a - b, na - nb), (a * b, na * nb), (a / b, na / nb), (a**b, na**nb),
                      (2.0 - a, 2.0 - na), (2.0 / a, 2.0 / na), (2.0**a, 2.0**na), (-a, -na), (abs(-a), na),
                      (a % b, na % nb), (a // b, na // nb)]:
        np.testing.assert_allclose(got.numpy(force=True), want)
    np.testing.assert_array_equal((a < b).numpy(force=True), na < nb)
    np.testing.assert_array_equal((a >= b).numpy(force=True), na >= nb)
    np.testing.assert_array_equal((a == a).numpy(force=True), np.ones(3, bool))


def test_bitwise_and_logical_ops(device):
    p = lucid.tensor([True, False, True], device=device)
    q = lucid.tensor([True, True, False], device=device)
    assert (p & q).tolist() == [True, False, False]
    assert (p | q).tolist() == [True, True, True]
    assert (p ^ q).tolist() == [False, True, True]
    i = lucid.tensor([0, 2, 3], device=device)
    assert lucid.logical_and(i, p).tolist() == [False, False, True]


# ---- dtype rules ------------------------------------------------------------------------
def test_python_scalars_are_weak(device):
    x = lucid.ones(3, device=device)
    assert (x * 2.0).dtype == lucid.float32
    assert (2 * x).dtype == lucid.float32
    assert (x + True).dtype == lucid.float32
    i = lucid.arange(3, device=device)
    assert (i * 2).dtype == lucid.int64
    assert (i * 2.5).dtype == lucid.float32  # integer tensor with a float scalar: default float
    np.testing.assert_allclose((i * 2.5).numpy(force=True), [0.0, 2.5, 5.0])


def test_tensor_promotion_follows_pytorch(device):
    f32 = lucid.ones(2, device=device)
    f64 = lucid.ones(2, dtype=lucid.float64, device=device)
    i64 = lucid.ones(2, dtype=lucid.int64, device=device)
    i32 = lucid.ones(2, dtype=lucid.int32, device=device)
    u8 = lucid.ones(2, dtype=lucid.uint8, device=device)
    i8 = lucid.ones(2, dtype=lucid.int8, device=device)
    assert (f32 + f64).dtype == lucid.float64
    assert (f32 + i64).dtype == lucid.float32  # float wins over int (NumPy would give float64)
    assert (i32 + i64).dtype == lucid.int64
    assert (u8 + i8).dtype == lucid.int16
    assert (f32 > i64).dtype == lucid.bool


def test_promotion_keeps_gradient_flowing(device):
    x = lucid.ones(2, dtype=lucid.float32, device=device, requires_grad=True)
    y = lucid.ones(2, dtype=lucid.float64, device=device)
    (x * y).sum().backward()
    assert x.grad.dtype == lucid.float32
    np.testing.assert_allclose(x.grad.numpy(force=True), [1.0, 1.0])


# ---- clamp ------------------------------------------------------------------------------
def test_clamp_values_and_gradient(device, rng):
    x = _rand(rng, (10,), -2, 2, device, requires_grad=True)
    out = x.clamp(-0.5, 0.7)
    np.testing.assert_allclose(out.detach().numpy(force=True), np.clip(x.detach().numpy(force=True), -0.5, 0.7))
    assert gradcheck(lambda t: t.clamp(-0.5, 0.7), (x,))
    assert gradcheck(lambda t: lucid.clamp(t, min=0.1), (x,))
    lo = _rand(rng, (10,), -1, 0, device, requires_grad=True)
    assert gradcheck(lambda t, m: lucid.clamp(t, min=m), (x, lo))
    with pytest.raises(ValueError, match="at least one"):
        lucid.clamp(x)


def test_torch_oracle_unary_and_binary(rng):
    torch = pytest.importorskip("torch")
    data = rng.uniform(0.5, 2, size=(3, 4))
    for name in ["exp", "log", "sqrt", "tanh", "sigmoid", "erf", "atan", "reciprocal"]:
        x = lucid.tensor(data, dtype=lucid.float64, requires_grad=True)
        tx = torch.tensor(data, requires_grad=True)
        getattr(lucid, name)(x).sum().backward()
        getattr(torch, name)(tx).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, err_msg=name)
    b = rng.uniform(0.5, 2, size=(4,))
    for name in ["pow", "atan2", "maximum", "remainder", "div"]:
        x = lucid.tensor(data, dtype=lucid.float64, requires_grad=True)
        y = lucid.tensor(b, dtype=lucid.float64, requires_grad=True)
        tx, ty = torch.tensor(data, requires_grad=True), torch.tensor(b, requires_grad=True)
        out = getattr(lucid, name)(x, y)
        tout = getattr(torch, name)(tx, ty)
        np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12, err_msg=name)
        out.sum().backward()
        tout.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, err_msg=name)
        np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-10, err_msg=name)


def test_broadcast_mismatch_is_a_clear_error(device):
    a = lucid.ones(2, 3, device=device, requires_grad=True)
    b = lucid.ones(4, device=device)
    with pytest.raises(RuntimeError, match=r"\(2, 3\) and \(4,\) cannot be broadcast"):
        a * b
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        _ = a < b
    assert a.grad is None


def test_cast_shorthands(device):
    x = lucid.tensor([1.7, -2.2], device=device)
    assert x.long().dtype == lucid.int64 and x.long().tolist() == [1, -2]
    assert x.int().dtype == lucid.int32 and x.bool().dtype == lucid.bool and x.double().dtype == lucid.float64
    assert lucid.arange(3, device=device).float().dtype == lucid.float32


def test_invert_and_logical_not(device):
    p = lucid.tensor([True, False], device=device)
    assert (~p).tolist() == [False, True]
    assert lucid.logical_not(lucid.tensor([0, 3], device=device)).tolist() == [True, False]
    assert (~lucid.tensor([0, 5], dtype=lucid.int32, device=device)).tolist() == [-1, -6]
    with pytest.raises(TypeError, match="bool or integer"):
        ~lucid.ones(2, device=device)


def test_sigmoid_keeps_relative_precision_for_negative_inputs(device):
    x = lucid.tensor([-100.0, -30.0, 30.0], dtype=lucid.float64, device=device)
    want = 1 / (1 + np.exp(-x.numpy(force=True)))
    np.testing.assert_allclose(x.sigmoid().numpy(force=True), want, rtol=1e-14)


def test_true_division_of_integers_gives_default_float(device):
    i = lucid.arange(6, device=device)
    assert (i / 2).dtype == lucid.float32 and (i / i.clamp(min=1)).dtype == lucid.float32
    np.testing.assert_allclose((i / 4).numpy(force=True), np.arange(6) / 4)
    assert lucid.atan2(i, i).dtype == lucid.float32
    assert lucid.add.__doc__ and "broadcasting" in lucid.eq.__doc__


# ---- integer and bool inputs, special values, errors (as PyTorch) ---------------------------
EXACT = ["int64", "int32", "int16", "int8", "uint8", "bool"]


def _supported(device, names):
    return [n for n in names if device.backend.supports(lucid.dtypes.to_dtype(n))]


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_on_integers_and_bools_follow_pytorch(name, device):
    torch = pytest.importorskip("torch")
    for dtype in EXACT:
        data = [True, False, True] if dtype == "bool" else [0, 1, 2]
        x = lucid.tensor(data, dtype=getattr(lucid, dtype), device=device)
        try:
            want = getattr(torch, name)(torch.tensor(data, dtype=getattr(torch, dtype)))
        except (RuntimeError, TypeError):  # PyTorch refuses bools here (abs, neg, floor, ...)
            with pytest.raises(TypeError, match=rf"{name}: .*bool tensor.*cast it first"):
                getattr(lucid, name)(x)
            continue
        got = getattr(lucid, name)(x)
        assert got.dtype.name == str(want.dtype).removeprefix("torch."), f"{name}({dtype})"
        np.testing.assert_allclose(got.numpy(force=True).astype(float), want.numpy().astype(float), rtol=1e-6,
                                   err_msg=f"{name}({dtype})")


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_keep_floating_dtypes(name, device):
    for dtype in _supported(device, ["float16", "float32", "float64"]):
        x = lucid.tensor([0.5, 1.0], dtype=getattr(lucid, dtype), device=device)
        assert getattr(lucid, name)(x).dtype.name == dtype


def test_special_values_give_inf_and_nan_without_warnings(device):
    torch = pytest.importorskip("torch")
    special = [0.0, -1.0, 1.0, math.inf, -math.inf, math.nan, 3e38, 100.0]
    tx = torch.tensor(special)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in UNARY:
            x = lucid.tensor(special, device=device, requires_grad=True)
            np.testing.assert_allclose(getattr(lucid, name)(x).detach().numpy(force=True),
                                       getattr(torch, name)(tx).numpy(), rtol=1e-6, err_msg=name)
            getattr(lucid, name)(x).sum().backward()
        x = lucid.tensor(special, device=device, requires_grad=True)
        y = lucid.tensor(special[::-1], device=device)
        ty = torch.tensor(special[::-1])
        for op in ("add", "sub", "mul", "div", "pow", "remainder", "floor_divide"):
            np.testing.assert_allclose(getattr(lucid, op)(x, y).detach().numpy(force=True),
                                       getattr(torch, op)(tx, ty).numpy(), rtol=1e-6, err_msg=op)
        i = lucid.tensor([-1, 0, 1], device=device)
        np.testing.assert_array_equal((i / 0).numpy(force=True), [-math.inf, math.nan, math.inf])
        x = lucid.tensor(special, device=device, requires_grad=True)
        (x * lucid.tensor(1e300, dtype=lucid.float64, device=device)).sum().backward()  # casts overflow to inf


@pytest.mark.parametrize("op", [operator.floordiv, operator.mod])
def test_integer_division_by_zero_raises(op, device):
    i = lucid.tensor([5, -5, 0], device=device)
    for divisor in (0, lucid.tensor([1, 0, 2], device=device), lucid.tensor(0, device=device)):
        with pytest.raises(ZeroDivisionError, match="integer division by zero"):
            op(i, divisor)
    with pytest.raises(RuntimeError, match="integer division by zero"):  # PyTorch's type too
        op(1, i)
    assert op(i.float(), 0).dtype == lucid.float32  # floats give inf and nan
    with pytest.raises(TypeError, match="bool operands"):
        op(lucid.tensor([True], device=device), lucid.tensor([True], device=device))


def test_integer_powers_follow_pytorch(device):
    torch = pytest.importorskip("torch")
    base, exponent = [0, 1, -1, 2, -2, 3], [-1, -2, -3, 0, 1, 2]
    i, e = lucid.tensor(base, device=device), lucid.tensor(exponent, device=device)
    ti, te = torch.tensor(base), torch.tensor(exponent)
    for got, want in [(i ** e, ti ** te), (2 ** e, 2 ** te), ((-1) ** e, (-1) ** te), (i ** 0.5, ti ** 0.5),
                      (i.to(lucid.int8) ** e.to(lucid.int8), ti.to(torch.int8) ** te.to(torch.int8)),
                      (i ** lucid.tensor(-1, device=device), ti ** torch.tensor(-1)), (i ** 2, ti ** 2)]:
        assert got.dtype.name == str(want.dtype).removeprefix("torch.")
        np.testing.assert_allclose(got.numpy(force=True), want.numpy())
    for x in (i, lucid.tensor(3, device=device), lucid.tensor([True], device=device)):
        with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
            x ** -1
    mask = lucid.tensor([True, False], device=device)
    assert (mask ** True).tolist() == [True, False] and (mask ** False).tolist() == [True, True]
    with pytest.raises(TypeError, match="pow is not supported for bool operands"):
        mask ** mask



def _values_and_grads(lib, fn, arrays, device):
    """``fn`` on float64 tensors requiring grad (Python numbers stay numbers): the value and each tensor's grad."""
    kw = {"device": device} if lib is lucid else {}
    args = [lib.tensor(a, dtype=lib.float64, requires_grad=True, **kw) if isinstance(a, list) else a for a in arrays]
    out = fn(*args)
    out.sum().backward()
    return [out.detach().numpy(**({"force": True} if lib is lucid else {}))] + [
        t.grad.numpy(**({"force": True} if lib is lucid else {})) for t in args if not isinstance(t, float | int)]


def _agree_with_torch(torch, fn, arrays, device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's and NumPy's nan/inf
        want = _values_and_grads(torch, fn, arrays, None)
    got = _values_and_grads(lucid, fn, arrays, device)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, equal_nan=True)


def test_pow_gradients_follow_pytorch_at_zero_and_negative_bases(device):
    """d/da is 0 where the exponent is 0 (not 0 * inf at a = 0), d/db is 0 where a == 0 and b >= 0, -inf
    where a == 0 and b < 0, nan for a negative base; negative bases with integer exponents are exact."""
    torch = pytest.importorskip("torch")
    base = [0.0, 0.0, 0.0, 0.0, 0.0, -2.0, -2.0, -2.0, -1.0, -2.0, 2.0, 1.5]
    exponent = [0.0, 1.0, 2.0, -1.0, 0.5, 0.0, 2.0, 3.0, -1.0, 0.5, 0.0, -2.0]
    _agree_with_torch(torch, lambda a, b: a**b, [base, exponent], device)
    _agree_with_torch(torch, lambda a, b: a**b, [[[0.0], [-2.0], [3.0]], [0.0, 1.0, 2.0]], device)  # broadcast
    for e in (0, 0.0, 1, 2, 3, -1, -2, 0.5, 2.0):  # Python exponents, 0 ** 0 included
        _agree_with_torch(torch, lambda a, e=e: a**e, [[0.0, -2.0, 1.5, -1.0]], device)
    for b in (0.0, 0, 2.0, -2.0, 1.0):  # Python bases: the exponent's gradient
        _agree_with_torch(torch, lambda x, b=b: b**x, [exponent], device)
    x = lucid.zeros(2, dtype=lucid.float64, requires_grad=True, device=device)
    (x**0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    for e in (1, 2):  # the second derivative at 0 through x**(e - 1), as PyTorch: 0 and 2
        x = lucid.zeros(2, dtype=lucid.float64, requires_grad=True, device=device)
        (g,) = lucid.autograd.grad((x**e).sum(), x, create_graph=True)
        assert lucid.autograd.grad(g.sum(), x)[0].tolist() == [2.0 * (e - 1)] * 2


def test_atan2_gradient_is_zero_at_the_origin_and_differentiable(device, rng):
    torch = pytest.importorskip("torch")
    a, b = [0.0, 0.0, 1.0, -1e-170, 0.0, 2.0], [0.0, 1.0, 0.0, 1e-170, -0.0, -3.0]  # 1e-170**2 underflows to 0
    _agree_with_torch(torch, lambda y, x: y.atan2(x), [a, b], device)
    _agree_with_torch(torch, lambda y: y.atan2(0.0 if isinstance(y, lucid.Tensor) else torch.tensor(0.0).double()),
                      [[0.0, 1.0]], device)  # a Python number for lucid (torch wants a 0-d tensor)
    y = _rand(rng, (3,), -2, 2, device, requires_grad=True)
    x = _rand(rng, (2, 1), -2, 2, device, requires_grad=True)
    assert gradgradcheck(lucid.atan2, (y, x))

def test_bool_operands_where_pytorch_refuses_them(device):
    mask = lucid.tensor([True, False], device=device)
    x = lucid.ones(2, device=device)
    for a, b in [(mask, mask), (x, mask), (mask, 1), (x, True), (True, x), (True, mask)]:
        with pytest.raises(TypeError, match="subtraction with a bool operand.*logical_not"):
            a - b
    with pytest.raises(TypeError, match="bitwise_and needs bool or integer operands"):
        x & x
    with pytest.raises(TypeError, match="bitwise_or needs bool or integer operands"):
        lucid.arange(2, device=device) | 1.5


def test_bool_arithmetic_on_every_backend(device):
    torch = pytest.importorskip("torch")
    a, b = [True, True, False, False], [True, False, True, False]
    la, lb = lucid.tensor(a, device=device), lucid.tensor(b, device=device)
    ta, tb = torch.tensor(a), torch.tensor(b)
    for op in (operator.add, operator.mul, operator.lt, operator.ge, "maximum", "minimum"):
        ours, theirs = (getattr(lucid, op), getattr(torch, op)) if isinstance(op, str) else (op, op)
        for x, y, tx, ty in [(la, lb, ta, tb), (la, True, ta, True)][: 1 if isinstance(op, str) else 2]:
            got, want = ours(x, y), theirs(tx, ty)
            assert got.dtype == lucid.bool and got.tolist() == want.tolist(), op


def test_python_int_outside_the_dtype_is_a_clear_error(device):
    i8 = lucid.tensor([1, 100], dtype=lucid.int8, device=device)
    with pytest.raises(OverflowError, match=r"add: the Python int 1000 does not fit the tensor's dtype int8"):
        i8 + 1000
    with pytest.raises(OverflowError, match="does not fit"):
        lucid.tensor([1, 2], dtype=lucid.uint8, device=device) // -1


def test_clamp_with_number_bounds_promotes_as_pytorch(device):
    i = lucid.tensor([1, 5, 9], device=device)
    assert i.clamp(2, 6).dtype == lucid.int64
    out = i.clamp(2.5, 6)
    assert out.dtype == lucid.float32 and out.tolist() == [2.5, 5.0, 6.0]
    assert lucid.tensor([True, False], device=device).clamp(0, 1).dtype == lucid.int64


# ---- float32 expm1, log1p, atan, atan2, hypot, sign: the NumPy backend's vectorized kernels ---------------------
_EDGES = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e-45, -1e-45, 1e-38, -1e-38, 3e-8, -3e-8, 0.5, -0.5, 1.0, -1.0,
          -0.99999994, -1.0000001, 88.37, 88.376, 88.72, 88.73, -88.0, -104.0, 3e38, -3e38]


def _float32_inputs(rng, n=40000):
    """Every scale from subnormal to huge, random float32 bit patterns (nan and inf among them) and the edge values,
    more than one run (65536 elements) of the kernels."""
    scaled = [rng.standard_normal(n) * s for s in (1e-30, 1e-6, 0.01, 0.3, 1.0, 10.0, 40.0, 1e5)]
    bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    with np.errstate(over="ignore"):
        return np.concatenate([v.astype(np.float32) for v in scaled] + [bits, np.tile(np.float32(_EDGES), 40)])


def _assert_float32_close(got, want64, maxulp):
    """``got`` (float32) within ``maxulp`` of ``want64`` (the float64 reference) where that rounds to a finite
    float32, equal to it elsewhere (infinities, nan), with its sign of zero."""
    want = want64.astype(np.float32)
    finite = np.isfinite(want)
    ulps = np.abs(got[finite].astype(np.float64) - want64[finite]) / np.spacing(np.abs(want[finite]))
    assert ulps.max() <= maxulp, (ulps.max(), got[finite][ulps.argmax()], want64[finite][ulps.argmax()])
    np.testing.assert_array_equal(got[~finite], want[~finite])
    zero = want == 0
    assert np.array_equal(np.signbit(got[zero]), np.signbit(want[zero]))


# the float64 reference of each, and the most ulps measured (expm1 1.30, log1p 0.82, atan 1.30, atan2 1.73, sinh
# 1.71, cosh 1.77, atanh 1.24; NumPy's own float32 sinh 1.83, cosh 1.71, atanh 1.66)
_FLOAT32_KERNELS = {"expm1": (np.expm1, 1.5), "log1p": (np.log1p, 1.0), "atan": (np.arctan, 1.5),
                    "sinh": (np.sinh, 2.0), "cosh": (np.cosh, 2.0), "atanh": (np.arctanh, 2.0)}


@pytest.mark.parametrize("name", sorted(_FLOAT32_KERNELS))
def test_float32_unary_kernels_are_accurate_over_the_whole_range(name, device, rng):
    ref, maxulp = _FLOAT32_KERNELS[name]
    x = _float32_inputs(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing warns, overflow and nan included
        got = getattr(lucid.tensor(x, device=device), name)()
    assert got.dtype == lucid.float32
    with np.errstate(all="ignore"):
        _assert_float32_close(got.numpy(force=True), ref(x.astype(np.float64)), maxulp)


@pytest.mark.parametrize("name", ["atan2", "hypot"])
def test_float32_binary_kernels_are_accurate_with_c99_special_values(name, device, rng):
    """Random pairs, and every pair of the edge values (signed zeros, infinities, nan: atan2(+-0, -0) = +-pi, hypot(inf,
    nan) = inf), broadcast from a column and a row."""
    ref, maxulp = {"atan2": (np.arctan2, 2.0), "hypot": (np.hypot, 0.5)}[name]
    y, x = _float32_inputs(rng), _float32_inputs(rng)[::-1]
    edges = np.float32(_EDGES)
    column, row = np.tile(edges, 200)[:, None], edges[None, :]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = getattr(lucid, name)(lucid.tensor(y, device=device), lucid.tensor(x, device=device))
        grid = getattr(lucid, name)(lucid.tensor(column, device=device), lucid.tensor(row, device=device))
    assert got.dtype == grid.dtype == lucid.float32 and grid.shape == (200 * len(_EDGES), len(_EDGES))
    with np.errstate(all="ignore"):
        _assert_float32_close(got.numpy(force=True), ref(y.astype(np.float64), x.astype(np.float64)), maxulp)
        _assert_float32_close(grid.numpy(force=True).ravel(),
                              np.broadcast_to(ref(np.float64(column), np.float64(row)), grid.shape).ravel(), maxulp)


def test_float32_kernels_agree_with_torch_values_and_gradients(device, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((300, 200)).astype(np.float32) * 3
    y = rng.standard_normal((300, 200)).astype(np.float32)
    cases = [(lambda L, a, b: a.expm1(), x), (lambda L, a, b: (a.abs() - 0.9).log1p(), x),
             (lambda L, a, b: a.atan(), x), (lambda L, a, b: L.atan2(a, b), x), (lambda L, a, b: L.hypot(a, b), x),
             (lambda L, a, b: a.abs() * a.sign(), x), (lambda L, a, b: a.sinh(), x), (lambda L, a, b: a.cosh(), x),
             (lambda L, a, b: (a.tanh() * 0.5).atanh(), x)]
    for fn, data in cases:
        results = []
        for lib, dev in ((lucid, device), (torch, None)):
            a = lib.tensor(data, requires_grad=True, **({"device": dev} if dev else {}))
            b = lib.tensor(y, requires_grad=True, **({"device": dev} if dev else {}))
            out = fn(lib, a, b)
            out.sum().backward()
            grads = [t.grad for t in (a, b) if t.grad is not None]
            results.append([v.numpy(force=True) if lib is lucid else v.detach().numpy() for v in (out, *grads)])
        for got, want in zip(*results, strict=True):
            np.testing.assert_allclose(got, want, rtol=3e-6, atol=1e-7)


def test_sign_of_nan_zeros_and_integers(device):
    x = lucid.tensor(np.tile(np.float32([math.nan, -0.0, 0.0, -2.5, 1e-45, -math.inf]), 1000), device=device)
    got = x.sign().numpy(force=True)
    assert got.dtype == np.float32 and got[:6].tolist() == [0.0, 0.0, 0.0, -1.0, 1.0, -1.0]
    assert not np.signbit(got[:3]).any()  # +0.0 at nan and -0.0, as torch.sign
    ints = lucid.tensor(np.tile(np.int64([-7, 0, 3]), 2000), device=device).sign()
    assert ints.dtype == lucid.int64 and ints[:3].tolist() == [-1, 0, 1]


def test_hypot_gradient_reads_the_saved_output(device, rng):
    a = _rand(rng, (3, 4), -2, 2, device, requires_grad=True)
    b = _rand(rng, (4,), -2, 2, device, requires_grad=True)
    assert gradcheck(lucid.hypot, (a, b))
    assert gradgradcheck(lucid.hypot, (a, b))


# ---- erf and scalar powers: accuracy and PyTorch's forms (issue 13) ------------------------------------------
def _erf_inputs():
    ramp = np.linspace(-7.0, 7.0, 4001)
    tiny = np.geomspace(1e-300, 6.0, 400)
    return np.concatenate([ramp, tiny, -tiny, [0.0, -0.0, 5e-324, 1e300, -1e300]])


def _supports(device, dtype):
    try:
        lucid.zeros(1, dtype=dtype, device=device)
    except TypeError:
        return False
    return True


def test_erf_float64_is_accurate_over_the_whole_range(device):
    x = _erf_inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy warning, tails and huge inputs included
        got = lucid.tensor(x, dtype=lucid.float64, device=device).erf().numpy(force=True)
    want = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(got, want, rtol=1.5e-15, atol=0)  # measured: 1e-15 (next to +-1), 1.1 ulp mean
    assert np.abs(got).max() <= 1.0
    assert np.array_equal(np.signbit(got), np.signbit(x))  # odd: erf(-0.0) is -0.0


def test_erf_special_values(device):
    x = lucid.tensor([math.inf, -math.inf, math.nan, 0.0, -0.0], dtype=lucid.float64, device=device)
    for dtype in (lucid.float64, lucid.float32):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = x.to(dtype).erf()
        assert got.dtype == dtype
        values = got.numpy(force=True)
        assert values[:2].tolist() == [1.0, -1.0] and math.isnan(values[2])
        assert np.signbit(values[3:]).tolist() == [False, True]


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_erf_narrow_floats_are_correctly_rounded(device, dtype):
    """float32 and float16 are computed in float64 and rounded once: at most an ulp from the rounded true value
    (in practice equal to it but for about 1 in 10^4 halfway cases), and the dtype is kept."""
    ldt, ndt = getattr(lucid, dtype), np.dtype(dtype)
    if not _supports(device, ldt):
        pytest.skip(f"{device} has no {dtype}")
    with np.errstate(over="ignore"):  # 1e300 becomes inf
        x = _erf_inputs().astype(ndt)
    got = lucid.tensor(x, dtype=ldt, device=device).erf()
    assert got.dtype == ldt
    want = np.array([math.erf(float(v)) for v in x]).astype(ndt)
    np.testing.assert_array_max_ulp(got.numpy(force=True), want, maxulp=1)
    assert (got.numpy(force=True) == want).mean() > 0.999


def test_erf_agrees_with_torch_on_a_large_float32_tensor(device, rng):
    """A tensor larger than one chunk of the kernel (16384 elements), transposed (not contiguous)."""
    torch = pytest.importorskip("torch")
    x = (rng.standard_normal((160, 300)) * 2).astype(np.float32)
    got = lucid.tensor(x, device=device).mT.erf()
    want = torch.erf(torch.from_numpy(x).T).numpy()
    assert got.shape == (300, 160)
    np.testing.assert_allclose(got.numpy(force=True), want, rtol=2e-7, atol=1e-7)


def test_erf_gradients_in_the_tails(device):
    x = lucid.tensor([-4.0, -2.7, -1.0, 0.3, 1.9, 3.5], dtype=lucid.float64, device=device, requires_grad=True)
    assert gradcheck(lucid.erf, (x,))
    assert gradgradcheck(lucid.erf, (x,))


_SPECIAL_BASES = [-0.0, 0.0, -math.inf, math.inf, math.nan, -2.0, 3.0, 1e-30, -1e-30, 1.0, -1.0, 0.5, 7.25, -3.5]
_TORCH_FORMS = (2, 3, -1, -2, 0, 1, 2.0, 3.0, -1.0, -2.0, 0.0, 1.0)  # PyTorch's own formulas: equal bit for bit


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_scalar_powers_match_torch(device, rng, dtype):
    """``x ** e`` for a Python exponent: PyTorch's products, reciprocals, sqrt and rsqrt for 2, 3, -1, -2, +-0.5 (with
    their signs of zero, infinities and nans), other small integers by products, the rest by the general pow:
    to an ulp of PyTorch's results, and without NumPy warnings."""
    torch = pytest.importorskip("torch")
    ldt = getattr(lucid, dtype)
    if not _supports(device, ldt):
        pytest.skip(f"{device} has no {dtype}")
    with np.errstate(all="ignore"):
        x = np.concatenate([rng.standard_normal(3000) * 3, _SPECIAL_BASES]).astype(dtype)
    t = torch.from_numpy(x)
    for e in (*_TORCH_FORMS, 0.5, -0.5, 4, -3, 5, 8, -8, 9, 1.5, -2.5, math.inf, math.nan):
        want = torch.pow(t, e).numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = (lucid.tensor(x, dtype=ldt, device=device) ** e).numpy(force=True)
        assert got.dtype == want.dtype, e
        nan = np.isnan(want)
        np.testing.assert_array_equal(np.isnan(got), nan, err_msg=f"nans of x ** {e}")
        np.testing.assert_array_equal(np.signbit(got[~nan]), np.signbit(want[~nan]), err_msg=f"signs of x ** {e}")
        if e in _TORCH_FORMS:
            np.testing.assert_array_equal(got, want, err_msg=f"x ** {e}")
        else:
            np.testing.assert_array_max_ulp(got[~nan], want[~nan], maxulp=1)


def test_integer_scalar_powers_are_exact(device):
    """Products of integers wrap around as PyTorch's powers do (1000 ** 8 overflows int64)."""
    torch = pytest.importorskip("torch")
    values = [-3, -1, 0, 2, 7, 1000]
    x = lucid.tensor(values, device=device)
    for e in (0, 1, 2, 3, 4, 5, 8):
        assert (x**e).dtype == lucid.int64
        assert (x**e).tolist() == (torch.tensor(values) ** e).tolist(), e


@pytest.mark.parametrize("e", [3, 3.0, 2, 0.5, -0.5, -1, -2, 4, -3, 2.5, 1, 0])
def test_scalar_power_gradients_match_torch(device, rng, e):
    torch = pytest.importorskip("torch")
    base = [0.3, 1.7, 2.5, 0.9] if e in (0.5, -0.5, 2.5) else [-1.5, -0.3, 0.7, 2.0]
    _agree_with_torch(torch, lambda a: a**e, [base], device)
    x = lucid.tensor(base, dtype=lucid.float64, device=device, requires_grad=True)
    assert gradcheck(lambda a: a**e, (x,))
    assert gradgradcheck(lambda a: a**e, (x,))


def test_backward_of_a_cube_takes_the_product_form(device, monkeypatch):
    """d(x**3)/dx = 3 * x**2 runs ``x * x``, not the general power (which NumPy makes slow for float exponents)."""
    from lucid.ops import arithmetic

    seen = []
    fast = arithmetic._scalar_power

    def spy(xp, a, b):
        out = fast(xp, a, b)
        seen.append((b, out is not None))
        return out

    monkeypatch.setattr(arithmetic, "_scalar_power", spy)
    x = lucid.tensor([1.0, -2.0, 3.0], device=device, requires_grad=True)
    (x**3.0).sum().backward()
    assert seen == [(3.0, True), (2.0, True)]
    assert x.grad.tolist() == [3.0, 12.0, 27.0]


def test_float32_floor_divide_and_remainder_are_numpys_divmod(device, rng):
    """Large float32 ``//`` and ``%`` (the NumPy backend's float64 forms, NumPy's divmod for far quotients, zero and
    infinite divisors, nan) give NumPy's divmod bit for bit, signs of zero included (except that a zero remainder
    takes the dividend's sign, as PyTorch's), with a tensor or a number as divisor; both are also PyTorch's."""
    scales = np.array([1e-30, 1e-3, 1.0, 1e3, 1e6, 1e10, 1e30])
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 3.0, -3.0, 1e-45, -1e-45, 3.4e38, -3.4e38])
    grid_a, grid_b = np.meshgrid(special, special)
    a = np.concatenate([rng.standard_normal(20000) * rng.choice(scales, 20000), grid_a.ravel(), [-4.0, 4.0, 7.0]])
    b = np.concatenate([rng.standard_normal(20000) * rng.choice(scales, 20000), grid_b.ravel(), [2.0, -2.0, 2.0]])
    a, b = a.astype(np.float32), b.astype(np.float32)
    for name in ("floor_divide", "remainder"):
        for divisor, want_divisor in ((lucid.tensor(b, device=device), b), (2.5, np.float32(2.5))):
            got = getattr(lucid, name)(lucid.tensor(a, device=device), divisor).numpy(force=True)
            with np.errstate(all="ignore"):
                want = getattr(np, name)(a, want_divisor)
            if name == "remainder":
                want = np.where(want == 0, np.copysign(want, a), want)
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, want, err_msg=name)
            np.testing.assert_array_equal(np.signbit(got), np.signbit(want), err_msg=name)
    torch = pytest.importorskip("torch")
    with np.errstate(all="ignore"):  # PyTorch's remainder is nan where a / b overflows float32
        fits = ~(np.abs(a.astype(np.float64) / b) > 1e38)
    for name in ("floor_divide", "remainder"):
        want = getattr(torch, name)(torch.from_numpy(a[fits]), torch.from_numpy(b[fits])).numpy()
        got = getattr(lucid, name)(lucid.tensor(a[fits], device=device), lucid.tensor(b[fits], device=device))
        np.testing.assert_array_equal(got.numpy(force=True), want, err_msg=name)
        number = ~np.isnan(want)  # (nan's sign bit is not specified)
        np.testing.assert_array_equal(np.signbit(got.numpy(force=True)[number]), np.signbit(want[number]), err_msg=name)
