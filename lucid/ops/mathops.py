"""PyTorch's further elementwise math: inverse hyperbolics, the gamma and error function family, Bessel
``i0``, ``sinc``, ``xlogy``, ``hypot``, ``fmod``, ``logaddexp``, ``lerp``, ``addcmul``, predicates
(``isnan``, ``isclose``, ...), integer ops (``gcd``, shifts), the arc*/comparison aliases and the
in-place forms (``Tensor.X_`` and PyTorch's top-level ``lucid.X_``).

Most are composites of existing ops (their gradients come for free); the ones whose forward needs a
special-function kernel (``_specfun``) or whose composite would lose precision are ``Pointwise`` rows
or small ``Function`` classes with PyTorch's derivative formulas. Integer inputs follow PyTorch: the
math functions compute them in the default float dtype.
"""

from __future__ import annotations

import math

from .. import dtypes as _dt
from .._backend.device import DeviceMismatchError, on_input_device
from .._backend.numpy_backend import float_errors_ignored
from .._backend.registry import kernels_for
from .._tensor import Tensor
from ..autograd.function import OUTPUT, Function, rename_node
from ..return_types import return_type
from . import _specfun as K
from .arithmetic import (
    _Binary,
    _describe,
    _float_operands,
    _floating,
    _integer_division,
    _real_floating,
    atan2,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    div,
    eq,
    floor_divide,
    ge,
    gt,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    mul,
    ne,
    operands,
    sub,
)
from .complexes import conj_if_complex, refuse_unordered
from .elementwise import FUNCTIONS as _BASIC
from .elementwise import _unary, clamp, pointwise_ops
from .indexing import where
from .inplace import inplace

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_LN2 = math.log(2.0)


def _sinc(xp, x):
    px = math.pi * x
    return xp.where(x == 0, xp.ones_like(x), xp.sin(px) / xp.where(x == 0, xp.ones_like(x), px))


def _sinc_grad(x, y, g):
    """``(cos(pi x) - sinc(x)) / x``, 0 at ``x = 0`` (as PyTorch)."""
    safe = x.where(x != 0, 1.0)
    return (g * ((math.pi * safe).cos() - y) / safe).where(x != 0, 0.0)


def _i1_grad(x, y, g):
    """``I1'(x) = I0(x) - I1(x) / x``, 1/2 at 0."""
    safe = x.where(x != 0, 1.0)
    return g * (i0(x) - y / safe).where(x != 0, 0.5)


def _i1e_grad(x, y, g):
    """``(exp(-|x|) I1)' = i0e(x) - i1e(x) (sign(x) + 1/x)``, 1/2 at 0."""
    safe = x.where(x != 0, 1.0)
    return g * (_SPECIAL["i0e"](x) - y * (x.sign() + 1 / safe)).where(x != 0, 0.5)


def _acosh_grad(x, y, g):
    """``1 / sqrt(x^2 - 1)``, and for complex ``x`` ``1 / (sqrt(x - 1) sqrt(x + 1))`` (PyTorch's): acosh's
    branch, which ``sqrt(x^2 - 1)`` misses in parts of the left half-plane (its sign is wrong at ``-1.2 + 0.4j``).
    (``x`` is already conjugated for a complex gradient, as in every row of the table.)"""
    if x.dtype.kind == "c":
        return g * ((x - 1).rsqrt() * (x + 1).rsqrt())
    return g * (x * x - 1).rsqrt()


# name: (forward(xp, x), derivative(x, y, g), what backward needs), as lucid.ops.elementwise's table
_TABLE = {
    "asinh": (lambda xp, x: xp.asinh(x), lambda x, y, g: g * (x * x + 1).rsqrt(), "x"),
    "acosh": (lambda xp, x: xp.acosh(x), _acosh_grad, "x"),
    "atanh": (lambda xp, x: kernels_for(xp).atanh(x), lambda x, y, g: g / (1 - x * x), "x"),
    "erfc": (K.erfc, lambda x, y, g: -_TWO_OVER_SQRT_PI * g * (-x * x).exp(), "x"),
    "erfinv": (K.erfinv, lambda x, y, g: _SQRT_PI_OVER_2 * g * (y * y).exp(), "y"),
    "exp2": (lambda xp, x: kernels_for(xp).exp2(x), lambda x, y, g: _LN2 * g * y, "y"),
    "lgamma": (K.lgamma, lambda x, y, g: g * digamma(x), "x"),
    "digamma": (K.digamma, lambda x, y, g: g * polygamma(1, x), "x"),
    "i0": (K.i0, lambda x, y, g: g * _SPECIAL["i1"](x), "x"),
    "sinc": (_sinc, _sinc_grad, "xy"),
}
# lucid.special's own (not top-level in PyTorch); lucid.special exports them
_SPECIAL_TABLE = {
    "erfcx": (K.erfcx, lambda x, y, g: g * (2 * x * y - _TWO_OVER_SQRT_PI), "xy"),
    "i0e": (K.i0e, lambda x, y, g: g * (_SPECIAL["i1e"](x) - x.sign() * y), "xy"),
    "i1": (K.i1, _i1_grad, "xy"),
    "i1e": (K.i1e, _i1e_grad, "xy"),
    "ndtr": (K.ndtr, lambda x, y, g: _INV_SQRT_2PI * g * (-0.5 * x * x).exp(), "x"),
    "ndtri": (K.ndtri, lambda x, y, g: _SQRT_2PI * g * (0.5 * y * y).exp(), "y"),
    "log_ndtr": (K.log_ndtr, lambda x, y, g: _INV_SQRT_2PI * g * (-(y + 0.5 * x * x)).exp(), "xy"),
}
_QUIET = ("asinh", "acosh", "atanh", "exp2", "sinc")
_TABLE = {name: (float_errors_ignored(row[0]), *row[1:]) if name in _QUIET else row for name, row in _TABLE.items()}

FUNCTIONS = {name: _unary(cls, name, name not in ("asinh", "acosh", "atanh", "exp2", "sinc")) for name, cls in
             pointwise_ops(_TABLE, __name__, "Elementwise {} (PyTorch's derivative).", on_arrays=("exp2",)).items()}
_SPECIAL = {name: _unary(cls, name, True) for name, cls in  # (real kernels: a complex tensor raises, as PyTorch)
            pointwise_ops(_SPECIAL_TABLE, __name__, "Elementwise special function {}.").items()}
asinh, acosh, atanh, erfc, erfinv, exp2, lgamma, digamma, i0, sinc = (FUNCTIONS[n] for n in _TABLE)


def _float_input(x: Tensor, name: str, complex_ok: bool = False) -> Tensor:
    """``x`` as a floating tensor (integers and bools in the default float dtype). A complex ``x`` stays complex
    with ``complex_ok``, else raises a TypeError, as PyTorch (a cast to a real dtype would drop the imaginary
    part: the real-only special functions gave real results from complex inputs)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} expects a Tensor, got {type(x).__name__}")
    if x.dtype.kind == "c":
        if complex_ok:
            return x
        raise TypeError(f"{name} is not implemented for complex tensors (got {x.dtype.name}), as in PyTorch")
    return x if x.dtype.kind == "f" else x.to(_dt.get_default_dtype())


class Polygamma(Function):
    """``polygamma(n, x)``: the ``n``-th derivative of digamma; its derivative is ``polygamma(n + 1, x)``."""

    def forward(self, x, n):
        self.n = n
        if self.needs_input_grad:
            self.save_for_backward(x)
        return K.polygamma(self.xp, x, n)

    def backward(self, g):
        (x,) = self.saved_tensors
        return g * polygamma(self.n + 1, x)


def polygamma(n: int, input: Tensor) -> Tensor:
    """``d^n/dx^n digamma(x)`` for an integer ``n >= 0`` (``(-1)^(n+1) n! zeta(n + 1, x)`` for ``n >= 1``)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative integer, got {n!r}")
    return Polygamma.apply(_float_input(input, "polygamma"), n=n)


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    """``x.polygamma(n)`` is ``polygamma(n, x)``, as in PyTorch."""
    return polygamma(n, self)


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """Multivariate log-gamma of dimension ``p``: ``sum_j<p lgamma(x - j/2) + p(p-1)/4 log pi``; every
    element must exceed ``(p - 1) / 2`` (checked, as PyTorch)."""
    x = _float_input(input, "mvlgamma")
    if p < 1:
        raise ValueError(f"mvlgamma: p must be at least 1, got {p}")
    if not bool((x > (p - 1) / 2).all()):
        raise RuntimeError(f"mvlgamma: all elements must be greater than (p-1)/2 = {(p - 1) / 2}")
    out = lgamma(x)
    for j in range(1, p):
        out = out + lgamma(x - j / 2)
    return out + p * (p - 1) / 4 * math.log(math.pi)


def logit(input: Tensor, eps=None) -> Tensor:
    """``log(x / (1 - x))``; with ``eps``, ``x`` is clamped to ``[eps, 1 - eps]`` first (zero gradient
    outside, as PyTorch)."""
    x = _float_input(input, "logit")
    if eps is not None:
        x = clamp(x, eps, 1 - eps)
    return rename_node((x / (1 - x)).log(), "Logit")


def entr(input: Tensor) -> Tensor:
    """Elementwise entropy ``-x log x``: 0 at 0, -inf below (as PyTorch)."""
    x = _float_input(input, "entr")
    positive = x > 0
    rest = where(x < 0, -math.inf, x * 0)  # -inf below 0, 0 at 0, nan stays nan
    return where(positive, -x * x.where(positive, 1.0).log(), rest)


def frac(input: Tensor) -> Tensor:
    """Fractional part ``x - trunc(x)`` (floating tensors only, as PyTorch); gradient 1."""
    if input.dtype.kind != "f":
        raise TypeError(f"frac is only defined for floating tensors, got {input.dtype.name}")
    return rename_node(input - input.trunc().detach(), "Frac")


def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians (integers give the default float dtype)."""
    return _float_input(input, "deg2rad") * (math.pi / 180.0)


def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees (integers give the default float dtype)."""
    return _float_input(input, "rad2deg") * (180.0 / math.pi)


def float_power(input, exponent) -> Tensor:
    """``input ** exponent`` computed in float64 (PyTorch's result dtype), whatever the inputs' dtypes; in
    complex128 when either is complex (a tensor or a Python complex), as PyTorch (float64 would drop the
    imaginary parts)."""
    if any(v.dtype.kind == "c" if isinstance(v, Tensor) else isinstance(v, complex) for v in (input, exponent)):
        wide_dtype = _dt.complex128
    else:
        wide_dtype = _dt.float64

    def wide(v):
        return v.to(wide_dtype) if isinstance(v, Tensor) else complex(v) if isinstance(v, complex) else float(v)

    return wide(input) ** wide(exponent)


class Hypot(_Binary):
    """``sqrt(a^2 + b^2)`` without overflow; gradients ``a / hypot`` and ``b / hypot``, from the saved output."""

    kept = (0, 1, OUTPUT)
    on_arrays = True

    @staticmethod
    @float_errors_ignored
    def compute(xp, a, b):
        return kernels_for(xp).hypot(a, b)

    def grads(self, g, a, b, h, conj=None):
        need = self.needs_input_grad
        return (g * a / h if need[0] else None), (g * b / h if need[1] else None)


class Copysign(_Binary):
    """``|a|`` with the sign of ``b``; gradient ``sign(a) sign(result)`` for ``a`` (0 at ``a = 0``), 0 for ``b``."""

    @staticmethod
    def compute(xp, a, b):
        return xp.copysign(a, b)

    def grads(self, g, a, b):
        ratio = (copysign(a, b) / a.where(a != 0, 1.0)).where(a != 0, 0.0)
        return g * ratio, g * 0


class Logaddexp2(_Binary):
    """``log2(2^a + 2^b)`` without overflow; gradients ``sigmoid((a - b) ln 2)`` and its complement."""

    @staticmethod
    @float_errors_ignored
    def compute(xp, a, b):
        big = xp.maximum(a, b)
        out = big + xp.log1p(2.0 ** -xp.abs(a - b)) / _LN2
        return xp.where(a == b, a + 1.0, out)  # also +-inf meeting itself (a - b is nan there)

    def grads(self, g, a, b):
        share = ((a - b) * _LN2).sigmoid()
        return g * share, g * (1 - share)


class Logaddexp(Logaddexp2):
    """``log(e^a + e^b)`` without overflow, also of complex tensors (as PyTorch: the operand of the larger real
    part factored out, ``a + log 2`` where they are equal, infinities included); gradients ``sigmoid(a - b)`` and
    ``sigmoid(b - a)`` (conjugated for complex operands)."""

    @staticmethod
    @float_errors_ignored
    def compute(xp, a, b):
        if a.dtype not in (xp.complex64, xp.complex128):
            return kernels_for(xp).logaddexp(a, b)
        swap = xp.real(a) < xp.real(b)
        big, small = xp.where(swap, b, a), xp.where(swap, a, b)
        return xp.where(a == b, a + _LN2, big + xp.log1p(xp.exp(small - big)))

    def grads(self, g, a, b):
        share = conj_if_complex((a - b).sigmoid())
        return g * share, g * (1 - share)


def _float_binary(cls, name, doc, integers=True, complexes=False):
    """The function of a binary Function on floats: integer operands (refused unless ``integers``, as PyTorch
    refuses them there; complex ones too then, unless ``complexes``) compute in the default float dtype, a number
    takes the other operand's dtype (also where PyTorch's signature wants a 0-d tensor, which gives the same)."""
    accepted = "fc" if complexes else "f"

    def op(input, other):
        a, b = _float_operands(input, other)
        if not integers and all(not isinstance(v, Tensor) or v.dtype.kind not in accepted for v in (a, b)):
            kind = (a if isinstance(a, Tensor) else b).dtype.kind
            raise TypeError(f"{name} is not implemented for {'complex' if kind == 'c' else 'integer or bool'} "
                            f"tensors (as in PyTorch); got {_describe(a)} and {_describe(b)}: cast to a "
                            f"{'floating' if complexes else 'real floating'} dtype first (x.float())")
        a, b = _floating(a), _floating(b)
        if not isinstance(a, Tensor):  # the kernels take two arrays: a number becomes the other's dtype
            a = Tensor(a, device=b._device, dtype=b.dtype)
        elif not isinstance(b, Tensor):
            b = Tensor(b, device=a._device, dtype=a.dtype)
        return cls.apply(a, b)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


hypot = _float_binary(Hypot, "hypot", "``sqrt(a^2 + b^2)`` without overflow (differentiable in both).", False)
copysign = _float_binary(Copysign, "copysign", "``|a|`` with the sign of ``b`` (floats, as PyTorch's result).")
logaddexp = _float_binary(Logaddexp, "logaddexp", "``log(exp(a) + exp(b))`` of real or complex operands without "
                                                  "overflow.", False, True)
logaddexp2 = _float_binary(Logaddexp2, "logaddexp2", "``log2(2**a + 2**b)`` of real operands without overflow.",
                           False)


class Fmod(_Binary):
    """C's remainder, with the sign of the dividend: ``sign(a) (|a| mod |b|)``, exact; gradients ``1`` and
    ``-trunc(a / b)``, as PyTorch."""

    @staticmethod
    @float_errors_ignored
    def compute(xp, a, b):
        magnitude = abs(a) % abs(b)
        if _real_floating(xp, magnitude.dtype):
            return xp.copysign(magnitude, a)
        return xp.where(a < 0, -magnitude, magnitude)

    def grads(self, g, a, b):
        return g, (-g * (a / b).trunc() if self.needs_input_grad[1] else None)


_fmod_check = _integer_division("fmod")


def fmod(input, other) -> Tensor:
    """C's remainder ``a - trunc(a / b) b`` with the sign of ``a`` (exact); an integer divisor of 0 raises,
    as PyTorch."""
    a, b = operands(input, other)
    t = a if isinstance(a, Tensor) else b
    if t.dtype.kind != "f":
        _fmod_check(a, b)
    return Fmod.apply(a, b)


def _real_operands(name, input, other):
    """``operands`` of two real operands (a complex one raises, as in PyTorch; a number is taken, where PyTorch's
    signature wants a 0-d tensor, which gives the same)."""
    refuse_unordered(name, input, other)
    return operands(input, other)


def fmax(input, other) -> Tensor:
    """Elementwise maximum of real operands that ignores nan (nan only where both are); a tie sends the
    gradient to ``input``."""
    a, b = _real_operands("fmax", input, other)
    take_a = (a >= b) | (b != b)
    return rename_node(where(take_a, a, b), "Fmax")


def fmin(input, other) -> Tensor:
    """Elementwise minimum of real operands that ignores nan (nan only where both are); a tie sends the
    gradient to ``input``."""
    a, b = _real_operands("fmin", input, other)
    take_a = (a <= b) | (b != b)
    return rename_node(where(take_a, a, b), "Fmin")


def ldexp(input, other) -> Tensor:
    """``input * 2 ** other``, in two factors so a large ``other`` does not overflow on the way, in PyTorch's dtype:
    the operands' promoted one, the default float dtype if that is an integer one (an int ``input`` and a float16
    ``other`` give float16)."""
    x = _float_input(input, "ldexp", complex_ok=True)
    if not isinstance(other, Tensor):
        return x * 2.0 ** (other // 2) * 2.0 ** (other - other // 2)
    x, other = map(_floating, _float_operands(input, other))
    if other.dtype.kind == "c":  # (no floor to halve it with: PyTorch's one factor)
        return x * 2.0**other
    half = (other / 2).floor()
    return x * 2.0**half * 2.0 ** (other - half)  # two factors: 2**1024 alone overflows (1.7e308 = 0.95 * 2**1024)


def lerp(input: Tensor, end, weight) -> Tensor:
    """``input + weight (end - input)``, as PyTorch (``end - (end - input)(1 - weight)`` where
    ``|weight| >= 1/2``, exact at ``weight = 1``); ``weight`` a number or a tensor. ``input``, ``end`` and a
    ``weight`` tensor of more than 0 dims share one floating or complex dtype (no promotion, as in PyTorch)."""
    if input.dtype.kind not in "fc":
        raise TypeError(f"lerp is not implemented for {input.dtype.name} tensors (as in PyTorch); cast first "
                        f"(x.float())")
    for what, value in (("end", end), ("weight", weight)):
        if isinstance(value, Tensor) and value.dtype is not input.dtype and (what == "end" or value.ndim):
            raise TypeError(f"lerp: expected dtype {input.dtype.name} for `{what}` but got {value.dtype.name} "
                            f"(as in PyTorch); cast it first (x.to(input.dtype))")
    if input.dtype.kind != "c" and isinstance(weight, complex):
        raise TypeError(f"lerp: a complex weight {weight!r} can't weigh {input.dtype.name} tensors (as in PyTorch)")
    diff = end - input
    if isinstance(weight, Tensor):  # recorded as PyTorch's node of each overload (LerpBackward1 for a tensor weight)
        low = weight.abs() < 0.5
        return rename_node(where(low, input + weight * diff, end - diff * (1 - weight)), "Lerp", 1)
    return rename_node(input + weight * diff if abs(weight) < 0.5 else end - diff * (1 - weight), "Lerp")


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``input + value * tensor1 * tensor2`` (recorded as PyTorch's one node, ``AddcmulBackward0``)."""
    return rename_node(input + value * (tensor1 * tensor2) if value != 1 else input + tensor1 * tensor2, "Addcmul")


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``input + value * tensor1 / tensor2`` (integer division refused, as PyTorch; recorded as its one node,
    ``AddcdivBackward0``)."""
    if tensor1.dtype.kind not in "fc" and tensor2.dtype.kind not in "fc":
        raise TypeError("addcdiv: integer division with addcdiv is no longer supported (as in PyTorch); "
                        f"got {tensor1.dtype.name} and {tensor2.dtype.name} tensors, cast one to float first")
    return rename_node(input + value * (tensor1 / tensor2) if value != 1 else input + tensor1 / tensor2, "Addcdiv")


def rsub(input, other, *, alpha=1) -> Tensor:
    """``other - alpha * input`` (PyTorch's reversed subtraction)."""
    return sub(other, input if alpha == 1 else mul(input, alpha))


def clamp_min(input: Tensor, min) -> Tensor:
    """``clamp(input, min=min)``, recorded as PyTorch's own node (``ClampMinBackward0``; 1 for a tensor bound)."""
    return rename_node(clamp(input, min=min), "ClampMin", int(isinstance(min, Tensor)))


def clamp_max(input: Tensor, max) -> Tensor:
    """``clamp(input, max=max)``, recorded as PyTorch's own node (``ClampMaxBackward0``; 1 for a tensor bound)."""
    return rename_node(clamp(input, max=max), "ClampMax", int(isinstance(max, Tensor)))


@on_input_device
def nan_to_num(input: Tensor, nan=0.0, posinf=None, neginf=None) -> Tensor:
    """nan, +inf and -inf replaced by ``nan`` and by ``posinf``/``neginf`` (default: the dtype's largest and
    lowest finite values); integer tensors are returned as they are (copied). Gradient passes where finite."""
    if input.dtype.kind != "f":
        return input.clone()
    info = input.xp.finfo(input._data.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    out = where(input.isnan(), nan, input)
    out = where(input == math.inf, posinf, out)
    return rename_node(where(input == -math.inf, neginf, out), "NanToNum")


class Xlogy(_Binary):
    """``x log(y)``, 0 where ``x == 0`` unless ``y`` is nan; PyTorch's gradients: ``log(y)`` for ``x`` (0 where
    ``x == 0`` and ``y <= 0``), ``x / y`` for ``y``."""

    log, edge = staticmethod(lambda t: t.log()), 0.0

    @staticmethod
    @float_errors_ignored
    def compute(xp, x, y):
        return xp.where((x == 0) & ~xp.isnan(y), xp.zeros_like(x * y), x * xp.log(y))

    def grads(self, g, x, y):
        need = self.needs_input_grad
        gx = g * self.log(y).where(~((x == 0) & (y <= self.edge)), 0.0) if need[0] else None
        return gx, (g * x / (y - self.edge) if need[1] else None)


class Xlog1py(Xlogy):
    """``x log1p(y)``, as :class:`Xlogy` (``log1p``, and ``x / (1 + y)`` for ``y``)."""

    log, edge = staticmethod(lambda t: t.log1p()), -1.0

    @staticmethod
    @float_errors_ignored
    def compute(xp, x, y):
        return xp.where((x == 0) & ~xp.isnan(y), xp.zeros_like(x * y), x * xp.log1p(y))


class Gammainc(_Binary):
    """Regularized incomplete gamma ``P(a, x)`` (``Q`` in :class:`Gammaincc`); differentiable in ``x``
    (``+-x^(a-1) e^-x / Gamma(a)``) only: PyTorch has no derivative in ``a`` either, and raises."""

    upper = False

    @staticmethod
    def compute(xp, a, x):
        return K.gammainc(xp, a, x, False)

    def grads(self, g, a, x):
        if self.needs_input_grad[0]:
            raise NotImplementedError("the derivative of igamma/igammac (gammainc) in its first argument `a` is "
                                      "not implemented (as in PyTorch); detach a")
        density = ((a - 1) * x.log() - x - lgamma(a)).exp()
        return None, (-g if self.upper else g) * density


class Gammaincc(Gammainc):
    upper = True

    @staticmethod
    def compute(xp, a, x):
        return K.gammainc(xp, a, x, True)


igamma = _float_binary(Gammainc, "igamma", "Regularized lower incomplete gamma ``P(a, x)`` "
                                           "(differentiable in ``x``).", False)
igammac = _float_binary(Gammaincc, "igammac", "Regularized upper incomplete gamma ``Q(a, x) = 1 - P(a, x)`` "
                                              "(differentiable in ``x``).", False)


class Zeta(_Binary):
    """Hurwitz ``zeta(s, q)``; differentiable in ``q`` (``-s zeta(s + 1, q)``) only, as PyTorch."""

    @staticmethod
    def compute(xp, s, q):
        return K.zeta(xp, s, q)

    def grads(self, g, s, q):
        if self.needs_input_grad[0]:
            raise NotImplementedError("the derivative of zeta in its first argument is not implemented (as in "
                                      "PyTorch); detach it")
        return None, -g * s * zeta(s + 1, q)


xlogy = _float_binary(Xlogy, "xlogy", "``x * log(y)``, 0 where ``x == 0`` (unless ``y`` is nan), as PyTorch.")
xlog1py = _float_binary(Xlog1py, "xlog1py", "``x * log1p(y)``, 0 where ``x == 0`` (unless ``y`` is nan), as PyTorch.")
zeta = _float_binary(Zeta, "zeta", "Hurwitz zeta ``sum_k (q + k)^-s`` (differentiable in ``q``).")


# ---- predicates and integer ops (no gradient) --------------------------------------------------------------------

def _make(x: Tensor, array) -> Tensor:
    return Tensor._make(array, x._device)


def _one_device(name, *operands):
    """Raise DeviceMismatchError unless the tensors among ``operands`` share one device."""
    devices = {v._device for v in operands if isinstance(v, Tensor)}
    if len(devices) > 1:
        raise DeviceMismatchError(f"{name} got tensors on {' and '.join(sorted(map(str, devices)))}; move them to "
                                  f"one device")


def _predicate(name, floating, integer, doc, on_complex=True):
    """A bool test: ``floating(xp, array)`` on floating tensors, and on complex ones with ``on_complex`` (nan or
    inf in either part, as the standard's and PyTorch's isnan/isinf/isfinite), else a TypeError as PyTorch's
    (a complex has no sign); ``integer`` (a constant) for the others."""
    @on_input_device
    def op(input: Tensor) -> Tensor:
        xp, kind = input.xp, input.dtype.kind
        if kind == "f" or (kind == "c" and on_complex):
            return _make(input, floating(xp, input._data))
        if kind == "c":
            raise TypeError(f"{name} does not support complex inputs, got a {input.dtype.name} tensor of shape "
                            f"{input.shape} (as PyTorch); test its parts (x.real, x.imag)")
        return _make(input, xp.full(input._data.shape, integer, dtype=xp.bool, device=input._device.native))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


isnan = _predicate("isnan", lambda xp, a: xp.isnan(a), False, "True where ``input`` is nan (never for integers).")
isinf = _predicate("isinf", lambda xp, a: xp.isinf(a), False, "True where ``input`` is +-inf.")
isfinite = _predicate("isfinite", lambda xp, a: xp.isfinite(a), True, "True where ``input`` is neither inf nor nan.")
isposinf = _predicate("isposinf", lambda xp, a: a == math.inf, False, "True where ``input`` is +inf.", False)
isneginf = _predicate("isneginf", lambda xp, a: a == -math.inf, False, "True where ``input`` is -inf.", False)


@on_input_device
def signbit(input: Tensor) -> Tensor:
    """True where the sign bit is set (``-0.0`` included; never for unsigned and bool tensors); a complex tensor
    raises, as in PyTorch (it has no sign bit)."""
    xp, a = input.xp, input._data
    if input.dtype.kind == "c":
        raise TypeError(f"signbit is not implemented for complex tensors (got {input.dtype.name}), as in PyTorch; "
                        f"test a part (x.real.signbit())")
    if input.dtype.kind == "f":
        return _make(input, xp.signbit(a))
    return _make(input, a < 0 if input.dtype.kind == "i" else xp.zeros(a.shape, dtype=xp.bool,
                                                                          device=input._device.native))


def _integers(name, a, b):
    a, b = operands(a, b)
    _one_device(name, a, b)
    t = a if isinstance(a, Tensor) else b
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name} needs integer operands, got {t.dtype.name}; cast first (x.long())")
    xp = t.xp
    as_array = [v._data if isinstance(v, Tensor) else xp.asarray(v, dtype=t._data.dtype, device=t._device.native)
                for v in (a, b)]
    return t, xp.broadcast_arrays(*as_array)


def gcd(input, other) -> Tensor:
    """Greatest common divisor of integers (Euclid's algorithm elementwise; non-negative, gcd(0, 0) = 0)."""
    t, (a, b) = _integers("gcd", input, other)
    xp = t.xp
    a, b = xp.abs(a), xp.abs(b)
    while bool(xp.any(b != 0)):
        nonzero = b != 0
        a, b = xp.where(nonzero, b, a), xp.where(nonzero, a % xp.where(nonzero, b, 1), b)
    return _make(t, a)


def lcm(input, other) -> Tensor:
    """Least common multiple of integers (``|a b| / gcd``, 0 if either is 0)."""
    t, (a, b) = _integers("lcm", input, other)
    xp = t.xp
    divisor = gcd(_make(t, a), _make(t, b))._data
    return _make(t, xp.abs(a // xp.where(divisor == 0, 1, divisor) * b))


def _shift(name, fn):
    def op(input, other) -> Tensor:
        t, (a, b) = _integers(name, input, other)
        return _make(t, fn(t.xp, a, b))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` of integers."
    return op


bitwise_left_shift = _shift("bitwise_left_shift", lambda xp, a, b: xp.bitwise_left_shift(a, b))
bitwise_right_shift = _shift("bitwise_right_shift", lambda xp, a, b: xp.bitwise_right_shift(a, b))


@on_input_device
def nextafter(input, other) -> Tensor:
    """The next floating value after ``input`` towards ``other`` (no gradient, as PyTorch)."""
    a, b = operands(input, other)
    if not isinstance(a, Tensor) or not isinstance(b, Tensor) or a.dtype.kind != "f":
        raise TypeError(f"nextafter needs two floating tensors, got {_describe(a)} and {_describe(b)}")
    _one_device("nextafter", a, b)
    return _make(a, a.xp.nextafter(a._data, b._data))


@on_input_device
def heaviside(input: Tensor, values) -> Tensor:
    """Step function of real tensors: 0 below 0, 1 above, ``values`` at 0 (same dtype as ``input``, as PyTorch;
    no gradient)."""
    refuse_unordered("heaviside", input, values)
    values = values if isinstance(values, Tensor) else Tensor(values, device=input._device, dtype=input.dtype)
    _one_device("heaviside", input, values)
    if values.dtype is not input.dtype:
        raise TypeError(f"heaviside: input ({input.dtype.name}) and values ({values.dtype.name}) must have the "
                        f"same dtype")
    xp = input.xp
    a, v = input._data, values._data
    step = xp.astype(a > 0, a.dtype)
    return _make(input, xp.where(a == 0, v, step))


@on_input_device
def frexp(input: Tensor):
    """``(mantissa, exponent)`` with ``input = mantissa * 2**exponent``, ``0.5 <= |mantissa| < 1`` (0, inf and
    nan have exponent 0 and mantissa ``input``); the exponent is int32, as PyTorch. The mantissa is
    differentiable (its gradient is the incoming one over ``2**exponent``), the exponent is not."""
    if input.dtype.kind != "f":
        raise TypeError(f"frexp is only defined for floating tensors, got {input.dtype.name}")
    xp, x = input.xp, input._data
    with_value = xp.isfinite(x) & (x != 0)
    magnitude = xp.where(with_value, xp.abs(x), xp.ones_like(x))
    exponent = xp.floor(xp.log2(magnitude)) + 1.0
    half = xp.floor(exponent / 2)
    mantissa = x / 2.0 ** half / 2.0 ** (exponent - half)  # two steps: 2**exponent alone may overflow
    too_big = xp.abs(mantissa) >= 1
    mantissa, exponent = xp.where(too_big, mantissa / 2, mantissa), xp.where(too_big, exponent + 1, exponent)
    too_small = xp.abs(mantissa) < 0.5
    mantissa, exponent = xp.where(too_small, mantissa * 2, mantissa), xp.where(too_small, exponent - 1, exponent)
    exponent = xp.where(with_value, exponent, xp.zeros_like(exponent))
    if input.requires_grad:  # mantissa = input / 2**exponent, in two exact steps as above, recorded
        half = xp.floor(exponent / 2)
        scaled = rename_node(input * _make(input, 2.0 ** -half) * _make(input, 2.0 ** (half - exponent)), "Frexp")
    else:
        scaled = _make(input, xp.where(with_value, mantissa, x))
    return _FrexpResult(scaled, _make(input, xp.astype(exponent, xp.int32)))


_FrexpResult = return_type("frexp", ["mantissa", "exponent"])


def isclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """``|input - other| <= atol + rtol |other|`` elementwise for two tensors of one dtype (as PyTorch: no
    promotion, which would drop an imaginary part; a number is taken in ``input``'s dtype, where PyTorch wants a
    tensor); equal infinities are close; nan only with ``equal_nan``."""
    if not isinstance(other, Tensor):  # (weak: an integer input and a float number compare as floats)
        input, other = operands(input, other)
        other = Tensor(other, device=input._device, dtype=input.dtype)
    if input.dtype is not other.dtype:
        raise TypeError(f"isclose: input ({input.dtype.name}) and other ({other.dtype.name}) must have the same "
                        f"dtype (as in PyTorch); cast one first (x.to(y.dtype))")
    a, b = input.detach(), other.detach()
    exact = a == b
    if a.dtype.kind not in "fc":  # (complex ones stay complex: their distance is the modulus)
        a, b = a.to(_dt.float64), b.to(_dt.float64)
    finite = a.isfinite() & b.isfinite()  # infinities are close only when equal
    close = exact | (finite & ((a - b).abs() <= atol + rtol * b.abs()))
    if equal_nan:
        close = close | (a.isnan() & b.isnan())
    return close


def allclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether every element is :func:`isclose` (a Python bool)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


def equal(input: Tensor, other: Tensor) -> bool:
    """Whether the two tensors have the same shape and the same elements (a Python bool)."""
    return input.shape == other.shape and bool((input == other).all())


_ALIASES = {
    "absolute": _BASIC["abs"], "negative": _BASIC["neg"], "arccos": _BASIC["acos"], "arcsin": _BASIC["asin"],
    "arctan": _BASIC["atan"], "arccosh": acosh, "arcsinh": asinh, "arctanh": atanh, "fix": _BASIC["trunc"],
    "greater": gt, "greater_equal": ge, "less": lt, "less_equal": le, "not_equal": ne,
}
_OWN = {
    **FUNCTIONS, "polygamma": polygamma, "mvlgamma": mvlgamma, "logit": logit, "xlogy": xlogy, "frac": frac,
    "deg2rad": deg2rad, "rad2deg": rad2deg, "float_power": float_power, "hypot": hypot,
    "copysign": copysign, "logaddexp": logaddexp, "logaddexp2": logaddexp2, "fmod": fmod, "fmax": fmax,
    "fmin": fmin, "ldexp": ldexp, "lerp": lerp, "addcmul": addcmul, "addcdiv": addcdiv, "clamp_min": clamp_min,
    "clamp_max": clamp_max, "nan_to_num": nan_to_num, "igamma": igamma, "igammac": igammac, "isnan": isnan,
    "isinf": isinf, "isfinite": isfinite, "isposinf": isposinf, "isneginf": isneginf,
    "signbit": signbit, "gcd": gcd, "lcm": lcm, "bitwise_left_shift": bitwise_left_shift,
    "bitwise_right_shift": bitwise_right_shift, "nextafter": nextafter, "heaviside": heaviside, "frexp": frexp,
    "isclose": isclose, "allclose": allclose, "equal": equal,
}

# Tensor methods: the functions above (polygamma takes n after the tensor), the in-place-only aliases
_HAS_METHOD = ("negative", "arccos", "arcsin", "arctan")  # elementwise's methods; here their in-place forms
METHODS = {**_OWN, **{n: f for n, f in _ALIASES.items() if n not in _HAS_METHOD}, "polygamma": _polygamma_method,
           **{f"{n}_": inplace(_ALIASES[n], f"{n}_") for n in _HAS_METHOD}}
INPLACE = [*FUNCTIONS, "polygamma", "mvlgamma", "logit", "xlogy", "frac", "deg2rad", "rad2deg",
           "hypot", "copysign", "fmod", "ldexp", "lerp", "addcmul", "addcdiv", "clamp_min", "clamp_max",
           "nan_to_num", "igamma", "igammac", "gcd", "lcm", "bitwise_left_shift", "bitwise_right_shift", "nextafter",
           "heaviside", *(n for n in _ALIASES if n not in _HAS_METHOD)]
# the in-place forms of other families' methods PyTorch also has
_MORE_INPLACE = {
    "multiply": mul, "divide": div, "true_divide": div, "floor_divide": floor_divide, "lt": lt, "le": le, "gt": gt,
    "ge": ge, "ne": ne, "eq": eq, "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor,
    "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor, "bitwise_not": bitwise_not,
    "logical_not": logical_not, "subtract": sub, "arctan2": atan2,
}
METHODS.update({f"{name}_": inplace(fn, f"{name}_") for name, fn in _MORE_INPLACE.items()})


def _reflected_shift(fn):
    """``other << self`` (``fn(other, self)``): the reflected shift operator, for ``2 << x``."""

    def reflected(self, other) -> Tensor:
        return fn(other, self)

    reflected.__name__ = reflected.__qualname__ = f"r{fn.__name__}"
    reflected.__doc__ = f"``{fn.__name__}(other, self)``: the reflected operator."
    return reflected


# the shift operators (``x << 2``, ``2 << x``, ``x <<= 2``), as PyTorch's
for _op, _fn in (("lshift", bitwise_left_shift), ("rshift", bitwise_right_shift)):
    METHODS[f"__{_op}__"] = _fn
    METHODS[f"__r{_op}__"] = _reflected_shift(_fn)
    METHODS[f"__i{_op}__"] = inplace(_fn, f"__i{_op}__")


def _float_power_(self: Tensor, exponent) -> Tensor:
    """In-place :func:`float_power`: only a float64 tensor can hold its result (PyTorch refuses the rest)."""
    if self.dtype is not _dt.float64:
        raise TypeError(f"float_power_: the result is float64, which can't be stored in place in a {self.dtype.name} "
                        f"tensor; use x = x.double() first, or float_power out of place")
    return _float_power_inplace(self, exponent)


_float_power_inplace = inplace(float_power, "float_power_")
METHODS["float_power_"] = _float_power_


def _top_inplace(name):
    """PyTorch's top-level ``torch.name_(x, ...)``: ``x.name_(...)``."""
    def op(input: Tensor, *args, **kwargs) -> Tensor:
        return getattr(input, f"{name}_")(*args, **kwargs)

    op.__name__ = op.__qualname__ = f"{name}_"
    op.__doc__ = f"``input.{name}_(...)``: in place, as PyTorch's top-level ``torch.{name}_``."
    return op


# PyTorch's top-level in-place functions (each is the Tensor method of that name)
TOP_INPLACE = (
    "abs", "acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "asin", "asinh",
    "atan", "atanh", "ceil", "clamp", "clamp_max", "clamp_min", "clip", "cos", "cosh", "deg2rad", "erf", "erfc",
    "exp", "exp2", "expm1", "fix", "floor", "frac", "gcd", "i0", "lcm", "ldexp", "log", "log10", "log1p", "log2",
    "logit", "nan_to_num", "neg", "negative", "rad2deg", "reciprocal", "round", "rsqrt", "sigmoid", "sin", "sinc",
    "sinh", "sqrt", "square", "tan", "tanh", "trunc", "xlogy", "fill", "zero",
)
_TOP = {f"{name}_": _top_inplace(name) for name in TOP_INPLACE}

arctan2 = atan2
globals().update({**_OWN, **_ALIASES, **_TOP})
__all__ = [*_OWN, *_ALIASES, "rsub", "arctan2", *_TOP]
