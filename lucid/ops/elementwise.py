"""Unary elementwise math, one table row per op: how to compute it and its derivative.

Each row becomes a :class:`Function` subclass. ``save`` says what backward needs: the
input ``x``, the output ``y``, both, or nothing, so nothing more is kept alive. Integer and
bool inputs follow PyTorch: the math functions compute in the default float dtype, the others
keep integer dtypes and refuse bools where PyTorch does.
"""

from __future__ import annotations

import functools
import math
import numbers

from .. import dtypes as _dt
from .._backend.arrays import is_half
from .._backend.float_errors import float_errors_ignored, float_errors_quiet
from .._backend.registry import kernels_for
from .._tensor import Tensor
from ..autograd.function import FLOAT32, OUTPUT, ComputedFunction, Function, tie_to
from ._fast_path import fast_apply
from .complexes import refuse_unordered
from .special import erf_array


def _in_opmath(compute):
    """``compute`` run in float32 on float16 and bfloat16 arrays and rounded once at the end (each output), as
    PyTorch's half-precision pointwise kernels compute in float32 ("opmath"): ``silu`` of a bfloat16 tensor is its
    float32 value rounded, not the product of a rounding at each step. Other dtypes run as they are."""
    @functools.wraps(compute)
    def run(xp, x, **params):
        dtype = x.dtype
        if not is_half(dtype):
            return compute(xp, x, **params)
        out = compute(xp, xp.astype(x, xp.float32), **params)
        with float_errors_quiet():  # beyond the half dtype's range: inf, silently as PyTorch
            return tuple(xp.astype(o, dtype) for o in out) if isinstance(out, tuple) else xp.astype(out, dtype)

    return run


class Pointwise(ComputedFunction):
    """One pointwise op: ``compute(xp, x, **params)`` forward on arrays, ``derivative(x, y, g,
    **params)`` backward in lucid ops. ``save`` says what backward needs: the input ``"x"``,
    the output ``"y"``, both ``"xy"`` or nothing ``""``, so nothing more is kept alive. A derivative
    written with operators only (``on_arrays``) also runs on raw real arrays, for ``vjp``. A ``piecewise``
    derivative (constant in ``x`` but for jumps: ReLU's) stays tied to ``x`` under create_graph (see ``tie_to``).
    Shared by this table and the activations of ``lucid.nn.functional``."""

    save = "x"
    kept = (0,)  # ``save`` as ComputedFunction's positions
    on_arrays = False
    piecewise = False

    params: dict = {}  # the op's keyword parameters, when it has some (set by remember)
    opmath = False  # True: half-precision inputs computed in float32 (see _in_opmath), for ops of several steps

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for attr in ("compute", "with_slope"):
            fn = cls.__dict__.get(attr)
            if cls.opmath and isinstance(fn, staticmethod):
                setattr(cls, attr, staticmethod(_in_opmath(fn.__func__)))

    def remember(self, arrays, params) -> None:
        if params:
            self.params = params

    def backward(self, g):
        saved = self.saved_tensors
        if g._device.dtypes[g._data.dtype].kind == "c":  # a complex output (abs's is real): PyTorch's g * conj(f'),
            saved = [v.conj() for v in saved]  # as f' has real coefficients: f'(conj z) = conj f'(z)
        grad = self.derivative(*_x_and_y(self.save, saved), g, **self.params)
        return tie_to(grad, saved[0], self.piecewise) if saved else grad  # (ReLU's mask: zeros again, as PyTorch)

    def vjp(self, g):
        if not self.on_arrays or g.dtype not in self.device.real_floating:
            return Function.vjp(self, g)
        x, y = _x_and_y(self.save, self.saved_arrays)
        return self.derivative(x, y, g, **self.params) if self.params else self.derivative(x, y, g)


_KEPT = {"x": (0,), "y": (OUTPUT,), "xy": (0, OUTPUT), "": ()}


def _x_and_y(save: str, saved) -> tuple:
    """``(x, y)`` from the values a Pointwise op saved (None for the one it did not)."""
    if save == "y":
        return None, saved[0]
    if save == "x":
        return saved[0], None
    return tuple(saved) if save else (None, None)


def class_name(op: str) -> str:
    """The Function class name of the op ``op``: ``leaky_relu`` -> ``LeakyRelu``."""
    return "".join(part.capitalize() for part in op.split("_"))


def pointwise_ops(table: dict, module: str, doc: str, float32=(), on_arrays=(), piecewise=(), opmath=()) -> dict:
    """``{name: Pointwise subclass}`` from rows ``name: (compute, derivative, save)``: each class is
    ``class_name(name)`` in ``module`` with the docstring ``doc.format(name)``; the names in ``float32`` get
    ``autocast_policy = {"cuda": FLOAT32}`` (CUDA autocast runs them in float32), those in ``on_arrays``
    (derivatives that work on raw arrays as on Tensors: operators only) run their derivative on arrays too, those
    in ``piecewise`` are ``Pointwise.piecewise``, those in ``opmath`` (computed in several steps, each rounding in a
    half dtype, where PyTorch's kernel rounds once) compute half dtypes in float32 (``Pointwise.opmath``)."""
    return {
        name: type(class_name(name), (Pointwise,), {
            "compute": staticmethod(compute), "derivative": staticmethod(derivative), "save": save,
            "kept": _KEPT[save],
            "autocast_policy": {"cuda": FLOAT32} if name in float32 else None, "on_arrays": name in on_arrays,
            "piecewise": name in piecewise, "opmath": name in opmath,
            "__module__": module, "__doc__": doc.format(name),
        })
        for name, (compute, derivative, save) in table.items()
    }


def _zero_grad(x, y, g):
    return g * 0


def _sigmoid(xp, x):
    """``1 / (1 + exp(-x))``, with full relative precision for x << 0 (a large ``exp(-x)`` carries only its own
    rounding); where ``exp(-x)`` overflows (below -88.7 in float32) 0, as PyTorch's float32 sigmoid. Complex
    dtypes take the same form, ``1 / (1 + exp(-z))`` as PyTorch's (``|z|`` would drop the imaginary part). Other
    dtypes (float16's exp overflows from -11) take ``exp(-|x|)``, which never overflows, through a ``where``
    (over an irregular mask 5x slower than the three passes of the first form)."""
    if x.dtype in (xp.float32, xp.float64, xp.complex64, xp.complex128):
        with float_errors_quiet():  # (the division too: 1 / (inf + nan j) where a complex exp overflows)
            t = xp.exp(-x)
            t += 1
            return 1 / t
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, xp.ones_like(e), e) / (1 + e)


def _sigmoid_grad(x, y, g):
    """``g (1 - y) y`` in PyTorch's order; on raw arrays in place in ``1 - y`` (a product into new memory costs twice
    one in place)."""
    d = 1 - y
    if isinstance(d, Tensor):
        return d * g * y
    d *= g
    d *= y
    return d


_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# name: (forward(xp, x), derivative(x, y, g), what backward needs)
_TABLE = {
    "exp": (lambda xp, x: xp.exp(x), lambda x, y, g: g * y, "y"),
    "log": (lambda xp, x: xp.log(x), lambda x, y, g: g / x, "x"),
    "log2": (lambda xp, x: xp.log2(x), lambda x, y, g: g / (x * _LN2), "x"),
    "log10": (lambda xp, x: xp.log10(x), lambda x, y, g: g / (x * _LN10), "x"),
    "log1p": (lambda xp, x: kernels_for(xp).log1p(x), lambda x, y, g: g / (x + 1), "x"),
    "expm1": (lambda xp, x: kernels_for(xp).expm1(x), lambda x, y, g: g * (y + 1), "y"),
    "sqrt": (lambda xp, x: xp.sqrt(x), lambda x, y, g: g / (2 * y), "y"),
    "rsqrt": (lambda xp, x: 1 / xp.sqrt(x), lambda x, y, g: g * -0.5 * y * y * y, "y"),
    "sin": (lambda xp, x: xp.sin(x), lambda x, y, g: g * x.cos(), "x"),
    "cos": (lambda xp, x: xp.cos(x), lambda x, y, g: -g * x.sin(), "x"),
    "tan": (lambda xp, x: xp.tan(x), lambda x, y, g: g * (1 + y * y), "y"),
    "asin": (lambda xp, x: xp.asin(x), lambda x, y, g: g * (1 - x * x).rsqrt(), "x"),
    "acos": (lambda xp, x: xp.acos(x), lambda x, y, g: -g * (1 - x * x).rsqrt(), "x"),
    "atan": (lambda xp, x: kernels_for(xp).atan(x), lambda x, y, g: g / (1 + x * x), "x"),
    "sinh": (lambda xp, x: kernels_for(xp).sinh(x), lambda x, y, g: g * x.cosh(), "x"),
    "cosh": (lambda xp, x: kernels_for(xp).cosh(x), lambda x, y, g: g * x.sinh(), "x"),
    "tanh": (lambda xp, x: xp.tanh(x), lambda x, y, g: g * (1 - y * y), "y"),
    "sigmoid": (lambda xp, x: _sigmoid(xp, x), _sigmoid_grad, "y"),
    "abs": (lambda xp, x: xp.abs(x), lambda x, y, g: g * (x.sgn() if x.dtype.kind == "c" else x.sign()), "x"),
    "neg": (lambda xp, x: -x, lambda x, y, g: -g, ""),
    "reciprocal": (lambda xp, x: 1 / x, lambda x, y, g: -g * y * y, "y"),
    "square": (lambda xp, x: x * x, lambda x, y, g: 2 * g * x, "x"),
    "erf": (erf_array, lambda x, y, g: g * _TWO_OVER_SQRT_PI * (-x * x).exp(), "x"),
    # piecewise constant: zero gradient almost everywhere
    "sign": (lambda xp, x: kernels_for(xp).sign(x), _zero_grad, ""),  # 0 at nan
    "floor": (lambda xp, x: xp.floor(x), _zero_grad, ""),
    "ceil": (lambda xp, x: xp.ceil(x), _zero_grad, ""),
    "round": (lambda xp, x: xp.round(x), _zero_grad, ""),
    "trunc": (lambda xp, x: xp.trunc(x), _zero_grad, ""),
}

# autocast runs these in float32: in float16 they overflow or lose too much precision
_FLOAT32 = ("exp", "expm1", "log", "log2", "log10", "log1p", "rsqrt", "reciprocal", "tan", "sinh", "cosh", "asin",
            "acos")
# where NumPy warns (log(0), sqrt(-1), overflow, sin(inf), a signalling nan) and PyTorch silently gives inf or nan
_WARNS = ("exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal", "square", "sin", "cos",
          "tan", "asin", "acos", "atan", "sinh", "cosh")
_TABLE = {name: (float_errors_ignored(row[0]), *row[1:]) if name in _WARNS else row for name, row in _TABLE.items()}

# the ops that keep integer dtypes (the others compute integers and bools in the default float
# dtype), and what each does with bools: the dtype it computes them in, or PyTorch's refusal
_KEEP_INTEGERS = {
    **{name: f"{name} is not defined for bool tensors" for name in ("abs", "floor", "ceil", "round", "trunc")},
    "neg": "negation, the - operator, is not supported on bool tensors; invert a mask with ~x or logical_not(x)",
    "sign": _dt.bool_, "square": _dt.int64,
}


def _exact(cls, x: Tensor, name: str) -> Tensor:
    """Op ``name`` of an integer or bool ``x``, in the dtype PyTorch computes it in."""
    if name not in _KEEP_INTEGERS:
        return fast_apply(cls, x.to(_dt.get_default_dtype()))
    if x.dtype is _dt.bool_:
        rule = _KEEP_INTEGERS[name]
        if isinstance(rule, str):
            raise TypeError(f"{name}: {rule} (got a bool tensor of shape {x.shape}); cast it first (x.long())")
        if rule is _dt.bool_:  # the sign of a mask is the mask
            return x.to(rule, copy=True)
        x = x.to(rule)
    return fast_apply(cls, x)


def _unary(cls, name: str, real_only: bool = False):
    """The public function of the op ``name``; ``real_only`` ops (real kernels: erf, sign, rounding, the special
    functions) raise a TypeError on a complex tensor, as PyTorch, where they would compute a meaningless
    result (the imaginary part dropped, or NumPy's complex sign and rounding)."""
    def op(input: Tensor) -> Tensor:
        if input._data.dtype in input._device.floating:
            if real_only and input._data.dtype not in input._device.real_floating:
                raise TypeError(f"{name} is not implemented for complex tensors (got a {input.dtype.name} tensor of "
                                f"shape {input.shape}), as in PyTorch")
            return fast_apply(cls, input)
        return _exact(cls, input, name)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` of ``input`` (differentiable)."
    return op


# derivatives written with operators only: they also run on raw arrays (the first-order backward)
_ON_ARRAYS = ("exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "tan", "atan", "tanh", "sigmoid",
              "neg", "reciprocal", "square")
# real kernels: a complex tensor raises, as in PyTorch
_REAL_ONLY = ("erf", "sign", "floor", "ceil", "round", "trunc")
_CLASSES = pointwise_ops(_TABLE, __name__, "Elementwise {}.", float32=_FLOAT32, on_arrays=_ON_ARRAYS,
                         opmath=("sigmoid", "rsqrt"))
_CLASSES["square"].torch_name = "Pow"  # PyTorch's nodes: its square is a pow, and it spells Log1P so
_CLASSES["log1p"].torch_name = "Log1P"
FUNCTIONS = {name: _unary(cls, name, name in _REAL_ONLY) for name, cls in _CLASSES.items()}


def _round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even; with ``decimals``, PyTorch's formula ``round(input * 10^d) / 10^d`` (``round(input / 10^-d)
    * 10^-d`` for negative ``d``), in float32 for float16 and bfloat16 (as PyTorch); the gradient is 0."""
    if isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral):
        raise TypeError(f"round(): decimals must be an int, got {type(decimals).__name__}")
    if decimals == 0:
        return _unrounded(input)
    if input.dtype.kind != "f":
        raise NotImplementedError(f"round(): decimals is not implemented for {input.dtype.name} tensors")
    digits = decimals if decimals > 0 else -decimals  # (this module's abs is the Tensor op)
    scale = float(10 ** digits) if digits <= 308 else math.inf  # C's pow(10, d): inf beyond float64
    wide = input.float() if input.dtype.itemsize < 4 else input
    out = (wide * scale).round() / scale if decimals > 0 else (wide / scale).round() * scale
    return out.to(input.dtype)


_unrounded, FUNCTIONS["round"] = FUNCTIONS["round"], _round
_round.__name__ = _round.__qualname__ = "round"
globals().update(FUNCTIONS)


class Clamp(Function):
    """``clamp(x, min, max)`` with number bounds: gradient passes where ``min <= x <= max``."""
    torch_overload = 1  # PyTorch's ClampBackward1 (its ClampBackward0 takes tensor bounds)

    def forward(self, x, lo, hi):
        self.save_for_backward(x)
        self.lo, self.hi = lo, hi
        return self.backend.clip(x, lo, hi)

    def backward(self, g):
        (x,) = self.saved_tensors
        if self.lo is not None:
            g = g * (x >= self.lo).to(g.dtype)
        if self.hi is not None:
            g = g * (x <= self.hi).to(g.dtype)
        return g


class ClampTensors(Function):
    """``clamp(x, min, max)`` with a tensor bound (the other None, a number or a tensor; all of one dtype):
    ``minimum(maximum(x, min), max)``, broadcast. Gradients as PyTorch's, never split at ties (as
    ``maximum``'s are): ``x`` gets it where ``min <= x <= max``, ``min`` where ``x < min`` (and ``min < max``),
    ``max`` where ``x > max`` or ``max < min``; each summed back to its operand's shape."""
    torch_name = "Clamp"

    def forward(self, x, lo, hi):
        xp = self.xp
        out = x if lo is None else xp.maximum(x, lo)
        out = out if hi is None else xp.minimum(out, hi)
        self.shapes = tuple(getattr(v, "shape", ()) for v in (x, lo, hi))
        self.save_for_backward(x, lo, hi)
        return out

    def backward(self, g):
        from .arithmetic import unbroadcast

        x, lo, hi = self.saved_tensors
        need = self.needs_input_grad
        zero = 0.0
        passes = None if lo is None else x >= lo
        if hi is not None:
            passes = x <= hi if passes is None else passes & (x <= hi)
        gx = g.where(passes, zero) if need[0] else None
        glo = ghi = None
        if need[1]:
            glo = g.where((x < lo) & (lo < hi) if hi is not None else x < lo, zero)
        if need[2]:
            ghi = g.where((x > hi) | (hi < lo) if lo is not None else x > hi, zero)
        return tuple(None if v is None else unbroadcast(v, shape) for v, shape in zip((gx, glo, ghi), self.shapes))


def _clamp_tensors(x: Tensor, lo, hi) -> Tensor:
    """``clamp`` with a tensor bound: the operands promoted together (a number bound weak), then ClampTensors."""
    from .arithmetic import operands

    for bound in (lo, hi):
        if bound is not None:
            x, _ = operands(x, bound)
    lo, hi = (b.to(x.dtype) if isinstance(b, Tensor) else b for b in (lo, hi))
    return ClampTensors.apply(x, lo, hi)


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Limit ``input`` to ``[min, max]``; either bound may be None, a number, or a tensor. A tensor bound gets the
    gradient where it is the value (``input`` beyond it), ``input`` where it lies within the bounds (ties included), as
    in PyTorch."""
    if min is None and max is None:
        raise ValueError("clamp needs at least one of min and max")
    refuse_unordered("clamp", input, min, max)
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_tensors(input, min, max)
    # number bounds are weak, as in PyTorch: a float bound makes an integer x the default float dtype
    weak = [_dt.scalar_dtype(b) for b in (min, max) if b is not None]
    input = input.to(_dt.result_type(input.dtype, scalar=_dt.promote_types(weak[0], weak[-1])))
    return Clamp.apply(input, lo=min, hi=max)


clip = clamp


__all__ = [*FUNCTIONS, "clamp", "clip"]
METHODS = {
    **FUNCTIONS, "__neg__": FUNCTIONS["neg"], "__abs__": FUNCTIONS["abs"], "negative": FUNCTIONS["neg"],
    "arcsin": FUNCTIONS["asin"], "arccos": FUNCTIONS["acos"], "arctan": FUNCTIONS["atan"],
    "clamp": clamp, "clip": clip,
}
INPLACE = [*FUNCTIONS, "clamp", "clip"]
