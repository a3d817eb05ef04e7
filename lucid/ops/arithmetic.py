"""Binary elementwise ops with broadcasting and PyTorch's type promotion.

Python scalars and 0-d tensors are weak (``float32 * 2.0`` and ``float32 (3,) * float64 0-d`` are
float32); an integer tensor meeting a Python float becomes the default float dtype. Integer
division by zero and negative integer powers raise, and floating ops return inf and nan without
NumPy's warnings, all as PyTorch. Gradients of broadcast operands are summed back to the
operand's shape (``unbroadcast``).
"""

from __future__ import annotations

import cmath
import math
import operator

from .. import dtypes as _dt
from .._backend.arrays import is_half
from .._backend.device import on_input_device
from .._backend.float_errors import float_errors_quiet
from .._backend.numpy_backend import float_errors_ignored
from .._backend.registry import kernels_for
from .._tensor import Tensor
from ..autograd.function import FLOAT32, OUTPUT, ComputedFunction, Function
from ._fast_path import fast_apply
from ._names import with_parameter_names
from .complexes import conj_if_complex, refuse_unordered
from .inplace import inplace

_SCALARS = (bool, int, float, complex)


def unbroadcast(g: Tensor, shape) -> Tensor:
    """Sum ``g`` over the axes that broadcasting added or stretched, giving ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    if axes:
        g = g.sum(dim=axes, keepdim=True)
    return g.reshape(shape) if g.shape != tuple(shape) else g


def _scalar(s):
    """A Python scalar of exact builtin type (NumPy scalars would not be weak)."""
    if type(s) in _SCALARS:
        return s
    if isinstance(s, complex):
        return complex(s)
    return bool(s) if isinstance(s, bool) else int(s) if isinstance(s, int) else float(s)


_KEEPS_DTYPE: dict = {}  # (lucid dtype, scalar type) -> does the tensor keep its dtype?


def _weak(t: Tensor, scalar) -> Tensor:
    """``t``, cast only if a Python scalar of this type lifts it to another kind (int -> float)."""
    dtype = t._device.dtypes[t._data.dtype]
    key = (dtype, type(scalar))
    keeps = _KEEPS_DTYPE.get(key)
    if keeps is None:
        keeps = _KEEPS_DTYPE[key] = _dt.scalar_result_type(dtype, scalar) is dtype
    return t if keeps else t.to(_dt.scalar_result_type(dtype, scalar))


def _match_kind(scalar, t: Tensor):
    """A bool scalar meeting a numeric tensor as that tensor's kind of number (the standard
    has no bool-with-number arithmetic)."""
    if type(scalar) is bool and t._device.dtypes[t._data.dtype].kind != "b":
        return float(scalar) if t._device.dtypes[t._data.dtype].kind == "f" else int(scalar)
    return scalar


def _coerce(x, like: Tensor) -> Tensor:
    """A non-scalar operand as a Tensor: lists go to ``like``'s device, arrays stay where they are."""
    if isinstance(x, (list, tuple)):
        return Tensor(x, device=like._device)
    return Tensor(x)


def _tensors_result_type(a: Tensor, b: Tensor):
    """PyTorch's result type of two tensors: a 0-d one counts only when of a higher category."""
    a0, b0 = a._data.ndim == 0, b._data.ndim == 0
    if a0 == b0:
        return _dt.promote_types(a.dtype, b.dtype)
    return _dt.result_type(b.dtype, a.dtype) if a0 else _dt.result_type(a.dtype, b.dtype)


def _operands(floating: bool):
    """``operands``, or with ``floating`` its form for true division and atan2 (each its own function, so the
    hot path passes no flag)."""

    def operands(a, b):
        """``(a, b)`` ready for an elementwise op: Tensors share one dtype, scalars stay scalars."""
        if isinstance(a, Tensor):
            if isinstance(b, Tensor):
                if a._device is b._device and a._data.dtype != b._data.dtype:
                    common = _tensors_result_type(a, b)
                    if floating and common.kind not in "fc":
                        common = _dt.get_default_dtype()
                    a, b = a.to(common), b.to(common)
                return a, b
            if isinstance(b, _SCALARS):
                key = (a._data.dtype, type(b))
                plain = a._device.plain_scalars
                if key in plain:  # the common case in one lookup: nothing to convert
                    return a, b
                b = _scalar(b)
                a2 = _weak(a, b)
                b2 = _match_kind(b, a2)
                if a2 is a and b2 is b and type(b) is key[1]:
                    plain.add(key)
                return a2, b2
            return operands(a, _coerce(b, a))
        if not isinstance(b, Tensor):
            raise TypeError(f"expected a Tensor operand, got {type(a).__name__} and {type(b).__name__}")
        if isinstance(a, _SCALARS):
            a = _scalar(a)
            b = _weak(b, a)
            return _match_kind(a, b), b
        return operands(_coerce(a, b), b)

    return operands


operands = _operands(False)
# true division and atan2: two tensors whose result type is an integer one both go to the default float dtype
# from their own values, as PyTorch (``uint8 (3,) / int32 0-d -6`` divides by -6, not by the uint8 wrap-around
# 250: PyTorch's result type decides only the dtype); ``_floating`` converts the rest
_float_operands = _operands(True)


class IntegerDivisionError(ZeroDivisionError, RuntimeError):
    """Integer ``//`` or ``%`` by zero: a ZeroDivisionError, and a RuntimeError as PyTorch's."""


def _describe(x) -> str:
    """An operand in an error message: ``int64 tensor of shape (3,)`` or ``Python int -1``."""
    if isinstance(x, Tensor):
        return f"{x.dtype.name} tensor of shape {x.shape}"
    return f"Python {type(x).__name__} {x!r}"


def _is_bool(x) -> bool:
    return x.dtype is _dt.bool_ if isinstance(x, Tensor) else x.__class__ is bool


def _as_uint8(x):
    """A bool operand as uint8: how a backend without bool arithmetic (the array API standard) computes
    ``mask + mask``, ``maximum(mask, mask)``, ``mask < mask`` (PyTorch and NumPy have them)."""
    return x.to(_dt.uint8) if isinstance(x, Tensor) else int(x)


def _refuse_bool(a, b) -> None:
    """PyTorch's refusal of a bool operand (tensor or Python bool) in a subtraction."""
    if _is_bool(a) or _is_bool(b):
        raise TypeError(
            f"sub({_describe(a)}, {_describe(b)}): subtraction with a bool operand is not supported (as in "
            f"PyTorch); invert a mask with ~mask or logical_not(mask), combine two masks with ^ or logical_xor, "
            f"or cast first (x.long(), x.float())")


def _integer_division(name):
    """The check of a floor division (``//``, ``%``) on promoted operands, as PyTorch: bool
    operands raise, and so does an integer divisor with a zero (NumPy would give 0)."""

    def check(a, b):
        kind = (a if isinstance(a, Tensor) else b).dtype.kind
        if kind == "b":
            raise TypeError(f"{name} is not supported for bool operands ({_describe(a)}, {_describe(b)}); "
                            f"cast them to an integer dtype first (x.long())")
        if kind != "f" and (bool(b.xp.any(b._data == 0)) if isinstance(b, Tensor) else b == 0):
            raise IntegerDivisionError(
                f"{name}: integer division by zero (the divisor, {_describe(b)}, is or holds 0; the dividend is "
                f"{_describe(a)}); mask the zeros first, or compute in floats (x.float()) to get inf and nan")

    return check


def _exact_pow(a, b):
    """``a ** b`` on bool or integer operands where PyTorch's differs from NumPy's (None elsewhere):
    a negative Python-int exponent raises; negative exponents in a tensor give ``1 / a**n`` truncated
    (1 for base 1, +-1 for base -1, else 0); bools only as ``mask ** True`` (the mask) or ``** False``."""
    t = a if isinstance(a, Tensor) else b
    if t.dtype is _dt.bool_:
        if isinstance(a, Tensor) and isinstance(b, bool):
            return Tensor._make(a._data | (not b), a._device)
        raise TypeError(f"pow is not supported for bool operands ({_describe(a)} ** {_describe(b)}); "
                        f"cast the base to an integer or float dtype first (x.long() or x.float())")
    if not isinstance(b, Tensor):
        if b < 0:
            raise RuntimeError(f"pow: Integers to negative integer powers are not allowed ({_describe(a)} ** {b}); "
                               f"use a float exponent (x ** {float(b)}) or a float base (x.float() ** {b})")
        return None
    xp, exponent = b.xp, b._data
    negative = exponent < 0
    if (isinstance(a, Tensor) and a._device is not b._device) or not bool(xp.any(negative)):
        return None
    base = a._data if isinstance(a, Tensor) else a
    powers = base ** xp.where(negative, xp.zeros_like(exponent), exponent)  # 1 where the exponent is negative
    powers = xp.where(negative & (exponent % 2 != 0), base * powers, powers)  # (+-1) ** odd n = +-1
    beyond_one = xp.abs(base) != 1 if isinstance(a, Tensor) else abs(base) != 1
    return Tensor._make(xp.where(negative & beyond_one, xp.zeros_like(powers), powers), b._device)


def _same(x):
    return x


def _unbroadcast_array(device, g, shape):
    """``unbroadcast`` for a raw gradient array (a reduction goes through the Tensor op, its dtype rules)."""
    if g.shape == shape:
        return g
    return unbroadcast(Tensor._make(g, device), shape)._data


def _by_half_and_number(op, xp, a, number):
    """``op(a, number)`` (``x * 1.7``, ``x / 3.1``) of a float16/bfloat16 array in float32, the Python float rounded
    to float32 and not to the half dtype, rounded once, as PyTorch's mul and div kernels take such a scalar
    ("opmath"): ``bfloat16(3.0) * 1.7`` is 5.09375 there, where rounding 1.7 to bfloat16 first gives 5.125.
    (PyTorch's add and sub round the number to the half dtype first, as NumPy does.)"""
    with float_errors_quiet():
        return xp.astype(op(xp.astype(a, xp.float32), number), a.dtype)


class _Binary(ComputedFunction):
    """Base of broadcasting binary ops. ``compute(xp, a, b)`` is the raw array op (also used
    by ``fast_apply``); ``kept`` says what backward needs: both operands, or nothing ``()``.
    ``grads(g, a, b, conj)`` gives both gradients before unbroadcasting, written with operators only
    where it can be: then it runs on Tensors for ``backward`` and, for real dtypes, on raw arrays for
    ``vjp`` (``on_arrays``)."""

    kept = (0, 1)
    on_arrays = False  # grads() also runs on raw real arrays (with conj the identity)
    to_float = False  # integer operands become the default float dtype first (true division)
    refuses_bool = False  # True: a bool operand raises, as in PyTorch's subtraction
    # exact(a, b): run on bool or integer operands (after promotion) to raise where PyTorch does, or to
    # return the result itself where NumPy's would differ; None: nothing to do
    exact = None

    def remember(self, arrays, params) -> None:
        self.shapes = (getattr(arrays[0], "shape", ()), getattr(arrays[1], "shape", ()))

    def backward(self, g):
        ga, gb = self.grads(g, *self.saved_tensors)
        need = self.needs_input_grad
        sa, sb = self.shapes
        return (unbroadcast(ga, sa) if need[0] and ga is not None else None,
                unbroadcast(gb, sb) if need[1] and gb is not None else None)

    def vjp(self, g):
        if not self.on_arrays or g.dtype not in self.device.real_floating:
            return Function.vjp(self, g)
        saved = self.saved_arrays
        ga, gb = self.grads(g, *saved, conj=_same) if saved else self.grads(g)
        need = self.needs_input_grad
        sa, sb = self.shapes
        return (_unbroadcast_array(self.device, ga, sa) if need[0] and ga is not None else None,
                _unbroadcast_array(self.device, gb, sb) if need[1] and gb is not None else None)


class Add(_Binary):
    kept = ()
    on_arrays = True

    @staticmethod
    @float_errors_ignored
    def compute(xp, a, b):
        return a + b

    def grads(self, g):
        return g, g


class Sub(_Binary):
    kept = ()
    on_arrays = True
    refuses_bool = True

    @staticmethod
    @float_errors_ignored
    def compute(xp, a, b):
        return a - b

    def remember(self, arrays, params) -> None:
        super().remember(arrays, params)
        if type(arrays[0]) in _SCALARS:  # ``2 - x``: PyTorch's RsubBackward1
            self.torch_name, self.torch_overload = "Rsub", 1

    def grads(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(_Binary):
    on_arrays = True

    @staticmethod
    @float_errors_ignored
    def compute(xp, a, b):
        if type(b) is float and is_half(a.dtype):
            return _by_half_and_number(operator.mul, xp, a, b)
        return a * b

    def grads(self, g, a, b, conj=conj_if_complex):
        need = self.needs_input_grad
        return (g * conj(b) if need[0] else None), (g * conj(a) if need[1] else None)


class Div(_Binary):
    to_float = True
    on_arrays = True

    @staticmethod
    @float_errors_ignored
    def compute(xp, a, b):
        if type(a) in _SCALARS:  # ``2 / x`` is PyTorch's ``reciprocal(x) * 2``: the same two roundings
            return Mul.compute(xp, 1 / b, a)
        if type(b) is float and is_half(a.dtype):
            return _by_half_and_number(operator.truediv, xp, a, b)
        return a / b

    def remember(self, arrays, params) -> None:
        super().remember(arrays, params)
        if type(arrays[0]) in _SCALARS:  # ``2 / x``: PyTorch's is 2 times the reciprocal, a MulBackward0
            self.torch_name = "Mul"

    def grads(self, g, a, b, conj=conj_if_complex):
        b = conj(b)  # holomorphic: the gradient takes the conjugate derivative (as in PyTorch)
        ga = g / b
        return ga, (-ga * conj(a) / b if self.needs_input_grad[1] else None)


_PRODUCT_POWERS = 8  # other integer exponents up to this size: products (float32 in float64, rounded once)


def _real_floating(xp, dtype) -> bool:
    """``xp.isdtype(dtype, "real floating")``, also for the floating dtypes NumPy's isdtype refuses (ml_dtypes'
    bfloat16): NumPy knows every other dtype lucid has."""
    try:
        return xp.isdtype(dtype, "real floating")
    except TypeError:
        return True


def _scalar_power(xp, a, b):
    """``a ** b`` for an array ``a`` and a Python-number exponent by PyTorch's own formulas (its results bit
    for bit, but sqrt's, which PyTorch rounds within an ulp; much faster than a general power): ``sqrt`` for
    0.5 (``(-0.0) ** 0.5`` is -0.0, ``(-inf) ** 0.5`` nan), ``1 / sqrt`` for -0.5, ``x * x``, ``x * x * x``,
    ``1 / x`` and ``1 / (x * x)`` for 2, 3, -1 and -2, ones for 0 (nan too) and a copy for 1. Other integers
    up to ``_PRODUCT_POWERS`` are products by squaring, for integers and float32 (in float64, rounded once:
    within an ulp of PyTorch's pow), not float64 (n ulp). float16 computes in float32 (but 2: exact as it
    is; +-0.5: the general pow, as PyTorch). None: no fast form, use the general power (always for a complex
    exponent, which has no order to test against the fast forms' range)."""
    if type(b) is complex:
        return None
    if b == 2:
        return a * a
    if a.dtype == getattr(xp, "float16", None):  # PyTorch computes float16 in float32 and rounds once, and
        if b == 0.5 or b == -0.5:  # takes its general pow for +-0.5: (-inf) ** 0.5 is inf, (-0.0) ** -0.5 inf
            return xp.pow(a, b)  # not a ** b, which NumPy turns into sqrt for 0.5
        out = _scalar_power(xp, xp.astype(a, xp.float32), b)
        return None if out is None else xp.astype(out, a.dtype)
    if b == 0.5:
        return xp.sqrt(a)
    if b == 3:
        return a * a * a
    if b == -1:
        return 1.0 / a
    if b == -0.5:
        return 1.0 / xp.sqrt(a)
    if b == -2:
        return 1.0 / (a * a)
    if b == 0:
        return xp.ones_like(a)
    if b == 1:
        return xp.asarray(a, copy=True)
    if not -_PRODUCT_POWERS <= b <= _PRODUCT_POWERS or b != int(b):  # also inf and nan
        return None
    if a.dtype == xp.float64:  # products would err by up to n ulp: the general pow is within one
        return None
    n = abs(int(b))
    wide = xp.astype(a, xp.float64) if _real_floating(xp, a.dtype) else a
    out = _product_power(wide, n)
    if b < 0:
        out = 1.0 / out
    return xp.astype(out, a.dtype) if wide is not a else out


def _product_power(a, n):
    """``a ** n`` for an integer ``n >= 2`` by repeated squaring."""
    out = None
    square = a
    while True:
        if n & 1:
            out = square if out is None else out * square
        n >>= 1
        if not n:
            return out
        square = square * square


def _scalar_exponent_grad(g, a, b, power, zeros_like):
    """``g * d(a ** b)/da`` for a Python exponent ``b``, on Tensors or arrays (``power(a, e)``: ``a ** e`` with
    the forward's fast forms, ``x ** 3`` -> ``3 * (x * x)``): 0 for ``b == 0`` (not ``0 * inf`` at ``a = 0``),
    as PyTorch."""
    if b == 0:
        return zeros_like(g)
    return g * (2 * a) if b == 2 else g * (b * power(a, b - 1))


def _zeros_like(t: Tensor) -> Tensor:
    return Tensor._make(t.xp.zeros_like(t._data), t._device)


class Pow(_Binary):
    kept = (0, 1, OUTPUT)  # grads() takes the three
    autocast_policy = {"cuda": FLOAT32}  # see lucid.amp.autocast
    exact = staticmethod(_exact_pow)

    @staticmethod
    @float_errors_ignored
    def compute(xp, a, b):
        if type(b) in _SCALARS and not isinstance(a, _SCALARS):
            out = _scalar_power(xp, a, b)
            if out is not None:
                return out
        return a**b

    def remember(self, arrays, params) -> None:
        super().remember(arrays, params)
        a, b = arrays  # PyTorch's PowBackward0 / 1 / 2: a number exponent, a tensor one, a number base
        self.torch_overload = 2 if type(a) in _SCALARS else 0 if type(b) in _SCALARS else 1

    def vjp(self, g):
        a, b, out = self.saved_arrays
        if type(b) not in _SCALARS or g.dtype not in self.device.real_floating:  # tensor exponent or base: on Tensors
            return Function.vjp(self, g)
        xp = self.xp
        ga = _scalar_exponent_grad(g, a, b, lambda v, e: self.compute(xp, v, e), xp.zeros_like)
        return _unbroadcast_array(self.device, ga, self.shapes[0]), None

    def grads(self, g, a, b, out):
        """PyTorch's masking: d/da = b * a**(b - 1) is 0 where b == 0 (not 0 * inf at a = 0), and
        d/db = a**b * log(a) is 0 where a == 0 and b >= 0 (-inf for b < 0, nan for a < 0; a complex b counts as
        >= 0 only when real, and a negative or complex Python base of a complex power takes its complex log). A
        Python exponent takes ``a ** (b - 1)``'s fast forms too (``x ** 3`` -> ``3 * (x * x)``)."""
        need = self.needs_input_grad
        ga = gb = None
        complex_out = g._device.dtypes[g._data.dtype].kind == "c"
        if complex_out:  # complex: the conjugate derivative, as PyTorch
            a, b, out = (conj_if_complex(v) for v in (a, b, out))
        if need[0]:
            if isinstance(b, Tensor):
                ga = (g * b * a ** (b - 1)).where(b != 0, 0.0)
            else:
                ga = _scalar_exponent_grad(g, a, b, operator.pow, _zeros_like)
        if need[1]:
            # a complex exponent is "b >= 0" only when real (complex numbers have no order), as PyTorch
            b_at_least_0 = (b.imag == 0) & (b.real >= 0) if b.dtype.kind == "c" else b >= 0
            if isinstance(a, Tensor):
                gb = (g * out * a.log()).where(~((a == 0) & b_at_least_0), 0.0)
            elif a == 0:
                gb = (g * out * -math.inf).where(~b_at_least_0, 0.0)
            elif complex_out:  # a Python base of a complex power: its complex log (log(-2) = ln 2 + i pi), conjugated
                gb = g * out * cmath.log(conj_if_complex(a)).conjugate()
            else:
                gb = g * out * (math.log(a) if a > 0 else math.nan)
        return ga, gb


class Maximum(_Binary):
    """Elementwise max; where the operands tie, each gets half the gradient, and where either is nan (which
    the result is) both get all of it (PyTorch's rule: an operand's gradient is zero only where it loses)."""

    pick = staticmethod(operator.gt)

    @staticmethod
    def compute(xp, a, b):
        return xp.maximum(a, b)

    def grads(self, g, a, b):
        half_ties = 0.5 * (a == b).to(g.dtype)
        return g * (1 - self.pick(b, a).to(g.dtype) - half_ties), g * (1 - self.pick(a, b).to(g.dtype) - half_ties)


class Minimum(Maximum):
    pick = staticmethod(operator.lt)

    @staticmethod
    def compute(xp, a, b):
        return xp.minimum(a, b)


class Atan2(_Binary):
    to_float = True
    @staticmethod
    @float_errors_ignored  # a signalling nan operand: silent, as PyTorch
    def compute(xp, a, b):
        return kernels_for(xp).atan2(a, b)

    def grads(self, g, a, b):
        """``(b, -a) / (a**2 + b**2)``, with the reciprocal taken as 0 where it is inf (at the origin),
        as PyTorch, in lucid ops (differentiable again)."""
        need = self.needs_input_grad
        recip = (a * a + b * b).reciprocal()
        recip = recip.where(recip != math.inf, 0.0)
        return (g * b * recip if need[0] else None), (g * -a * recip if need[1] else None)


class Remainder(_Binary):
    """Python-style remainder (sign of the divisor), as ``%`` and ``torch.remainder``; a zero remainder takes the
    dividend's sign (PyTorch's ``fmod`` then ``+ b``; NumPy's and Python's take the divisor's)."""

    exact = staticmethod(_integer_division("remainder"))

    @staticmethod
    @float_errors_ignored
    def compute(xp, a, b):
        r = kernels_for(xp).remainder(a, b)
        if not _real_floating(xp, r.dtype):
            return r
        sign = a if hasattr(a, "dtype") else xp.full_like(r, math.copysign(1.0, a))
        return xp.where(r == 0, xp.copysign(r, sign), r)

    def grads(self, g, a, b):
        return g, (-g * (a / b).floor() if self.needs_input_grad[1] else None)


def _zero_grads(self, g):
    """Zeros for both operands: a rounded quotient is piecewise constant (PyTorch's gradient of ``div`` with a
    ``rounding_mode``)."""
    need = self.needs_input_grad
    zero = _zeros_like(g)
    return (zero if need[0] else None), (zero if need[1] else None)


def _integral(xp, a, b) -> bool:
    """Whether the array among ``a`` and ``b`` (the other may be a Python number) has an integer dtype
    (bfloat16, which NumPy's ``isdtype`` does not know, is floating)."""
    array = a if hasattr(a, "dtype") else b
    try:
        return xp.isdtype(array.dtype, "integral")
    except TypeError:
        return False


class DivFloor(_Binary):
    """``a / b`` rounded down, as ``div(rounding_mode="floor")`` (the same values as ``floor_divide``)."""

    kept = ()
    op_name = "div(rounding_mode='floor')"
    exact = staticmethod(_integer_division(op_name))
    grads = _zero_grads

    @staticmethod
    @float_errors_ignored
    def compute(xp, a, b):
        return kernels_for(xp).floor_divide(a, b)


class DivTrunc(_Binary):
    """``a / b`` rounded towards zero, as ``div(rounding_mode="trunc")``: integers exactly (the floor quotient,
    one up where the division is inexact and the signs differ), floats as ``trunc(a / b)``, as PyTorch."""

    kept = ()
    op_name = "div(rounding_mode='trunc')"
    exact = staticmethod(_integer_division(op_name))
    grads = _zero_grads

    @staticmethod
    @float_errors_ignored
    def compute(xp, a, b):
        if not _integral(xp, a, b):
            return xp.trunc(a / b)
        q = a // b
        return xp.where((q * b != a) & ((a < 0) != (b < 0)), q + 1, q)


def _broadcast_error(name, a, b, error):
    shape_a, shape_b = getattr(a, "shape", ()), getattr(b, "shape", ())
    return RuntimeError(
        f"{name}: shapes {shape_a} and {shape_b} cannot be broadcast together (trailing dimensions must be "
        f"equal or 1); reshape or unsqueeze one operand"
    )


def _overflow_error(name, a, b, error):
    """The backend's refusal of a Python int outside an integer tensor's dtype, reworded (PyTorch
    would wrap the value around silently)."""
    t, scalar = (a, b) if isinstance(a, Tensor) else (b, a)
    if isinstance(scalar, Tensor):
        return error
    wider = "x.double()" if t.dtype is _dt.int64 else "x.long()"
    return OverflowError(f"{name}: the Python int {scalar} does not fit the tensor's dtype {t.dtype.name} (shape "
                         f"{t.shape}); cast the tensor to a wider dtype first ({wider}) or use a value in its range")


def _floating(x):
    if isinstance(x, Tensor) and x._device.dtypes[x._data.dtype].kind not in "fc":
        return x.to(_dt.get_default_dtype())
    return float(x) if isinstance(x, (bool, int)) else x


_DOCS = {
    "Add": "``input + other`` with broadcasting.", "Sub": "``input - other`` with broadcasting.",
    "Mul": "``input * other`` with broadcasting.",
    "Div": "``input / other`` (true division: integer operands give the default float dtype, each converted from "
           "its own value, as PyTorch).",
    "Pow": "``input ** exponent``; gradients as PyTorch's: 0 for ``input`` where ``exponent == 0`` (``0 ** 0`` too) "
           "and for ``exponent`` where ``input == 0`` and ``exponent >= 0``. Integers as PyTorch: a negative "
           "Python-int exponent raises, negative ones in a tensor truncate (``tensor([2]) ** tensor([-1])`` is 0).",
    "Maximum": "Elementwise maximum; tied elements share the gradient equally.",
    "Minimum": "Elementwise minimum; tied elements share the gradient equally.",
    "Atan2": "Elementwise ``atan2(input, other)`` (the angle of the point ``(other, input)``); the gradient at the "
             "origin is 0, as PyTorch's.",
    "DivFloor": "``input / other`` rounded down (``div(input, other, rounding_mode='floor')``); integers stay "
                "integers and a zero integer divisor raises; the gradient is zero, as PyTorch's.",
    "DivTrunc": "``input / other`` rounded towards zero (``div(input, other, rounding_mode='trunc')``); integers stay "
                "integers and a zero integer divisor raises; the gradient is zero, as PyTorch's.",
    "Remainder": "Python-style ``input % other`` (the sign of the divisor), as ``torch.remainder``; an integer "
                 "divisor of 0 raises ZeroDivisionError.",
}


def _by_number(cls, gradient):
    """``cls`` for a tensor and a real Python number, the commonest case of ``*`` and ``/``: the same forward, but the
    node keeps the number instead of both operands (the tensor's gradient, ``gradient(g, number)``, reads only
    the number): no version-checked entries to save and read back. Its node has ``cls``'s name."""

    def remember(self, arrays, params):
        cls.remember(self, arrays, params)
        self.number = arrays[1]

    def grads(self, g):  # nothing saved: backward and vjp call it with the gradient alone
        return gradient(g, self.number), None

    return type(cls.__name__, (cls,), {"kept": (), "remember": remember, "grads": grads, "__module__": __name__,
                                       "__qualname__": f"{cls.__name__}ByNumber", "__doc__": cls.__doc__})


_BY_NUMBER = {Mul: _by_number(Mul, operator.mul), Div: _by_number(Div, operator.truediv)}
_REAL_NUMBERS = (float, int)  # not complex: the gradient would take the number's conjugate


def _binary(cls):
    to_float, exact, refuses_bool = cls.to_float, cls.exact, cls.refuses_bool
    prepare = _float_operands if to_float else operands
    by_number = _BY_NUMBER.get(cls, cls)
    name = getattr(cls, "op_name", cls.__name__.lower())  # the name in error messages

    def op(input, other):
        if type(other) is float and type(input) is Tensor and (input._data.dtype, float) in input._device.plain_scalars:
            return fast_apply(by_number, input, other)  # the commonest case: a tensor and a plain float
        x, y = prepare(input, other)
        if refuses_bool and (x is not input or y is not other):  # a bool operand is converted unless both are bools
            _refuse_bool(input, other)
        if to_float:
            x, y = _floating(x), _floating(y)
        try:
            if exact is not None:
                t = x if isinstance(x, Tensor) else y
                if t._data.dtype not in t._device.floating:
                    result = exact(x, y)
                    if result is not None:
                        return result
            return fast_apply(by_number if type(y) in _REAL_NUMBERS and type(x) is Tensor else cls, x, y)
        except ValueError as error:  # the backend's broadcasting error, reworded with both shapes
            raise _broadcast_error(name, x, y, error) from error
        except OverflowError as error:
            raise _overflow_error(name, x, y, error) from error
        except TypeError:  # two bools, which the backend may have no arithmetic for (exact ops decide themselves)
            if refuses_bool:
                _refuse_bool(input, other)
            if exact is None and _is_bool(x) and _is_bool(y):
                return op(_as_uint8(x), _as_uint8(y)).to(_dt.bool_)
            raise

    op.__name__ = op.__qualname__ = cls.__name__.lower()
    op.__doc__ = _DOCS[cls.__name__] + " Python scalars are weak: ``float32 * 2.0`` stays float32."
    return op


add, sub, mul, true_divide, pow, maximum, minimum, atan2, remainder, _div_floor, _div_trunc = map(
    _binary, (Add, Sub, Mul, Div, Pow, Maximum, Minimum, Atan2, Remainder, DivFloor, DivTrunc)
)
true_divide.__name__ = true_divide.__qualname__ = "true_divide"
pow = with_parameter_names(pow, other="exponent")  # torch.pow(input, exponent)


def _ordered(op):
    """``maximum``/``minimum`` refusing complex operands, as PyTorch. A Python number is taken (weak), where
    PyTorch's signature wants a tensor: an artefact of its C++ bindings (its 0-d tensor gives the same result)."""
    name = op.__name__

    def checked(input, other):
        refuse_unordered(name, input, other)
        return op(input, other)

    checked.__name__ = checked.__qualname__ = name
    checked.__doc__ = op.__doc__ + " Complex operands raise, as in PyTorch; a number is taken (PyTorch wants a tensor)."
    return checked


maximum, minimum = _ordered(maximum), _ordered(minimum)
_ROUNDED = {"floor": _div_floor, "trunc": _div_trunc}


def div(input, other, *, rounding_mode=None):
    """``input / other``: true division (integer operands give the default float dtype) with ``rounding_mode=None``;
    the quotient rounded down (``"floor"``) or towards zero (``"trunc"``) otherwise, in the operands' promoted dtype
    (integers stay integers), with a zero gradient, as PyTorch. Python scalars are weak: ``float32 / 2.0`` stays
    float32."""
    if rounding_mode is None:
        return true_divide(input, other)
    rounded = _ROUNDED.get(rounding_mode) if isinstance(rounding_mode, str) else None
    if rounded is None:
        raise ValueError(f"div(): rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    return rounded(input, other)


_plain_add, _plain_sub = add, sub  # the operators' forms (``+``, ``-``): no alpha to look at


def add(input, other, *, alpha=1):
    """``input + alpha * other`` (PyTorch's ``alpha=``); Python scalars are weak: ``float32 + 2.0`` stays float32."""
    if type(alpha) is int and alpha == 1:
        return _plain_add(input, other)
    return _with_alpha(_plain_add, "add", input, other, alpha)


def sub(input, other, *, alpha=1):
    """``input - alpha * other`` (PyTorch's ``alpha=``); a bool operand raises, as in PyTorch."""
    if type(alpha) is int and alpha == 1:
        return _plain_sub(input, other)
    _refuse_bool(input, other)
    return _with_alpha(_plain_sub, "sub", input, other, alpha)


def _with_alpha(plain, name, input, other, alpha):
    """``plain(input, alpha * other)`` in the dtype of ``plain(input, other)`` (``bool + 2 * bool`` stays bool), as
    PyTorch, which also refuses an ``alpha`` of a higher kind than that dtype."""
    x, y = operands(input, other)
    common = (x if isinstance(x, Tensor) else y).dtype
    for number, kinds, what in ((complex, "c", "non-complex"), (float, "fc", "integral"), (bool, "b", "non-bool")):
        if isinstance(alpha, number) and common.kind not in kinds:
            raise RuntimeError(f"{name}: alpha={alpha!r} (a {number.__name__}) can't scale {what} operands "
                               f"({common.name}), as in PyTorch; pass an alpha of their kind or cast them first")
    result = plain(x, mul(y, alpha) if isinstance(y, Tensor) else y * alpha)
    return result if result.dtype is common else result.to(common)


divide = div
multiply, subtract = mul, sub


def _nondiff(fn, name, check=None):
    """A binary op without gradient (comparisons, floor division, logical and bitwise ops);
    ``check(a, b)`` sees the promoted operands first and raises where PyTorch does."""

    def op(input, other):
        input, other = operands(input, other)
        t = input if isinstance(input, Tensor) else other
        if isinstance(input, Tensor) and isinstance(other, Tensor) and input._device is not other._device:
            from .._backend.device import DeviceMismatchError

            raise DeviceMismatchError(f"{name} got tensors on {input._device} and {other._device}; "
                                      "move them to one device")
        if check is not None:
            check(input, other)
        try:
            result = fn(input._data if isinstance(input, Tensor) else input,
                        other._data if isinstance(other, Tensor) else other)
        except ValueError as error:
            raise _broadcast_error(name, input, other, error) from error
        except OverflowError as error:
            raise _overflow_error(name, input, other, error) from error
        except TypeError:  # two bools, which the backend may not order
            if _is_bool(input) and _is_bool(other):
                return op(_as_uint8(input), _as_uint8(other))
            raise
        return Tensor._make(result, t._device)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` of ``input`` and ``other`` with broadcasting (no gradient)."
    return op


def _ordering(name):
    """The check of an order comparison on promoted operands: complex ones raise, as in PyTorch."""

    def check(a, b):
        refuse_unordered(name, a, b)

    return check


eq = _nondiff(operator.eq, "eq")
ne = _nondiff(operator.ne, "ne")
lt = _nondiff(operator.lt, "lt", _ordering("lt"))
le = _nondiff(operator.le, "le", _ordering("le"))
gt = _nondiff(operator.gt, "gt", _ordering("gt"))
ge = _nondiff(operator.ge, "ge", _ordering("ge"))


def _bitwise(name):
    """The check of a bitwise op on promoted operands: floats raise, as in PyTorch."""

    def check(a, b):
        if (a if isinstance(a, Tensor) else b).dtype.kind in "fc":
            raise TypeError(f"{name} needs bool or integer operands, got {_describe(a)} and {_describe(b)}; "
                            f"compare first (x > 0) or cast (x.long())")

    return check




@float_errors_ignored
def _floor_divide(a, b):
    """``a // b`` of raw arrays (or an array and a number) by the backend's extra."""
    array = a if hasattr(a, "__array_namespace__") else b
    return kernels_for(array.__array_namespace__()).floor_divide(a, b)


floor_divide = _nondiff(_floor_divide, "floor_divide", _integer_division("floor_divide"))
bitwise_and = _nondiff(operator.and_, "bitwise_and", _bitwise("bitwise_and"))
bitwise_or = _nondiff(operator.or_, "bitwise_or", _bitwise("bitwise_or"))
bitwise_xor = _nondiff(operator.xor, "bitwise_xor", _bitwise("bitwise_xor"))


@on_input_device
def bitwise_not(input: Tensor) -> Tensor:
    """``~input``: logical not of a bool tensor, bitwise not of an integer one (no gradient)."""
    kind = input.dtype.kind
    if kind in "fc":
        raise TypeError(f"~ (bitwise_not) needs a bool or integer tensor, got {input.dtype.name}")
    xp = input.xp
    return Tensor._make(xp.logical_not(input._data) if kind == "b" else xp.bitwise_invert(input._data), input._device)


@on_input_device
def logical_not(input: Tensor) -> Tensor:
    """Elementwise ``not``: True where ``input`` is zero/False (bool result, no gradient)."""
    return bitwise_not(_truth(input))


def _truth(x):
    if isinstance(x, Tensor):
        return x if x.dtype is _dt.bool_ else ne(x, 0)
    return bool(x)


def _logical(bitwise, name):
    def op(input, other):
        return bitwise(_truth(input), _truth(other))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` of the truth values of ``input`` and ``other`` (bool result, no gradient)."
    return op


logical_and = _logical(bitwise_and, "logical_and")
logical_or = _logical(bitwise_or, "logical_or")
logical_xor = _logical(bitwise_xor, "logical_xor")


__all__ = [
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "remainder", "true_divide", "divide",
    "multiply", "subtract", "eq", "ne", "lt", "le", "gt", "ge", "floor_divide", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_not", "logical_and", "logical_or", "logical_xor", "logical_not",
]


def _swap(fn):
    """``fn`` with its operands swapped: the reflected operator (``2 - x`` calls ``x.__rsub__(2)``). Except for
    ``mul``, exactly commutative: ``2.0 * x`` is ``x * 2.0``, whose node keeps only the number."""

    def reflected(self, other):
        return fn(self, other) if fn is mul else fn(other, self)

    reflected.__name__ = f"r{fn.__name__}"
    return reflected


def _eq_operator(self, other):
    """``self == other``; against None, False (as PyTorch's ``x == None``), not an error."""
    return False if other is None else eq(self, other)


def _ne_operator(self, other):
    """``self != other``; against None, True (as PyTorch's ``x != None``)."""
    return True if other is None else ne(self, other)


_OPERATORS = {"add": _plain_add, "sub": _plain_sub, "mul": mul, "truediv": true_divide, "pow": pow, "mod": remainder,
              "floordiv": floor_divide, "and": bitwise_and, "or": bitwise_or, "xor": bitwise_xor}
# Tensor methods: the operators (with reflected and in-place forms) and the named binary ops
METHODS = {
    **{f"__{name}__": fn for name, fn in _OPERATORS.items()},
    **{f"__r{name}__": _swap(fn) for name, fn in _OPERATORS.items()},
    **{f"__i{name}__": inplace(fn, f"__i{name}__") for name, fn in _OPERATORS.items()},
    "__eq__": _eq_operator, "__ne__": _ne_operator, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
    "__invert__": bitwise_not,
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div, "divide": div,
    "true_divide": true_divide, "pow": pow, "maximum": maximum, "minimum": minimum, "atan2": atan2, "arctan2": atan2,
    "remainder": remainder, "floor_divide": floor_divide, "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge,
    "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor, "logical_not": logical_not,
    "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor, "bitwise_not": bitwise_not,
}
INPLACE = ["add", "sub", "mul", "div", "pow", "remainder", "maximum", "minimum", "atan2"]
