"""Activation functions (``torch.nn.functional`` names, argument order and defaults).

The pointwise ones are each ONE fused op: a table row gives the forward on raw arrays and the
derivative written in lucid ops (so double backward works), as in :mod:`lucid.ops.elementwise`.
``elu``/``selu``/``celu`` share one row (PyTorch's ``scale``/``input_scale`` form), as do
``hardtanh``/``relu6``. Every ``inplace=True`` writes the result into the input (as PyTorch).
``softmax``/``log_softmax`` are :mod:`lucid.ops.softmaxes`'s fused ops. Infinite inputs give
PyTorch's inf/nan results without NumPy's warnings.
"""

from __future__ import annotations

import functools
import math

from ... import dtypes as _dt
from ... import ops as _ops
from ..._backend.numpy_backend import float_errors_quiet
from ..._backend.registry import kernels_for
from ..._tensor import Tensor
from ...amp.autocast import autocast_op
from ...autograd.function import FLOAT32, LOWER, Function, rename_node, tie_to
from ...nested._dispatch import nested_aware
from ...ops import _axes
from ...ops._fast_path import fast_apply
from ...ops.elementwise import Pointwise, _sigmoid, class_name, pointwise_ops
from ...ops.inplace import inplace as _make_inplace

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "swish", "mish", "softplus",
    "softsign", "hardtanh", "hardsigmoid", "hardswish", "sigmoid", "tanh", "logsigmoid", "threshold",
    "hardshrink", "softshrink", "tanhshrink", "rrelu", "prelu", "glu", "softmax", "log_softmax", "softmin",
    "gumbel_softmax", "relu_", "relu6_", "leaky_relu_", "elu_", "selu_", "celu_", "hardtanh_", "threshold_",
    "rrelu_",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_K = math.sqrt(2.0 / math.pi)  # gelu(approximate="tanh"): 0.5 x (1 + tanh(k (x + c x^3)))
_TANH_C = 0.044715


def _mask(cond, like):
    """The bool ``cond`` as 0/1 in ``like``'s dtype, for Tensors or raw arrays: derivatives written as ``g *
    _mask(...)`` run on both (the recorded backward and the first-order ``vjp``). A product, not a ``where``:
    NumPy's ``where`` over a mask as irregular as ReLU's is 10x slower than the multiplication."""
    if isinstance(cond, Tensor):
        return cond.to(like.dtype)
    return like.__array_namespace__().astype(cond, like.dtype)


def _masked(cond, g):
    """``g`` where the bool ``cond`` holds, 0 elsewhere, for Tensors (a ``where``, differentiable in ``g``) or
    raw arrays (the backend's ``masked``: NumPy multiplies by the mask unless ``g`` holds inf or nan): an inf or
    nan gradient stays where the derivative is 1 and never turns the zeros into nan, as in PyTorch."""
    if isinstance(g, Tensor):
        return _ops.where(cond, g, 0.0)
    return kernels_for(g.__array_namespace__()).masked(cond, g)


def _times(factor, g):
    """``factor * g``: on raw arrays in place in ``factor``, which the caller just made (NumPy: a product into new
    memory costs twice one in place); a new Tensor for Tensors (the recorded backward)."""
    if isinstance(factor, Tensor):
        return factor * g
    factor *= g
    return factor


# ---- the same formula on Tensors (recorded: create_graph) and on raw arrays (the first-order backward)
def _exp(v):
    return v.exp() if isinstance(v, Tensor) else v.__array_namespace__().exp(v)


def _bounded(xp, x, lo=None, hi=None):
    """``x`` clipped to ``[lo, hi]`` by the backend's ``clip`` extra (NumPy's is one pass)."""
    return kernels_for(xp).clip(x, lo, hi)


def _clip(v, lo=None, hi=None):
    return v.clamp(lo, hi) if isinstance(v, Tensor) else _bounded(v.__array_namespace__(), v, lo, hi)


def _sig(v):
    return v.sigmoid() if isinstance(v, Tensor) else _sigmoid(v.__array_namespace__(), v)


def _where(cond, a, b):
    return _ops.where(cond, a, b) if isinstance(b, Tensor) else b.__array_namespace__().where(cond, a, b)


# ---- fast forms of what NumPy computes in scalar loops
def _log1p_unit(xp, e, u):
    """``log(1 + e)`` for ``e`` in [0, 1] as ``log(u) - ((u - 1) - e) / u``, ``u = 1 + e`` rounded: the
    correction restores what rounding ``u`` lost (full relative precision down to the tiniest ``e``).
    NumPy's ``log1p`` is a scalar loop: 6x slower than ``log`` in float32, 2x in float64."""
    c = u - 1
    c -= e
    c /= u
    out = xp.log(u)
    out -= c
    return out


def _expm1_nonpositive(xp, x):
    """``exp(x) - 1`` for ``x <= 0``; float32 as ``2t / (1 - t)``, ``t = tanh(x / 2)`` (an identity, with no
    cancellation for ``x <= 0``): NumPy's float32 ``expm1`` is a scalar loop, 5x slower than ``tanh`` (its
    float64 ``tanh`` is no faster than ``expm1``)."""
    if x.dtype != xp.float32:
        return xp.expm1(x)
    t = xp.tanh(x * 0.5)
    denominator = 1 - t
    t += t
    t /= denominator
    return t


def _exp_parts(xp, x):
    """``(e, 1 + e, log(1 + e))`` for ``e = exp(-|x|)``: what softplus, logsigmoid and their derivatives share."""
    e = xp.exp(-xp.abs(x))
    u = 1 + e
    return e, u, _log1p_unit(xp, e, u)


def _sigmoid_from_parts(xp, e, u, positive):
    """``sigmoid(x)`` from ``_exp_parts(x)`` and the mask ``x >= 0`` (or of ``-x``'s for ``sigmoid(-x)``, with
    ``x < 0``): ``max(e, mask) / u``, ``1 / u`` on the mask's side and ``e / u`` on the other, at no extra exp."""
    out = xp.maximum(e, xp.astype(positive, e.dtype))
    out /= u
    return out


def _softplus(xp, x):
    """``log(1 + exp(x))`` without overflow."""
    return _bounded(xp, x, 0, None) + _exp_parts(xp, x)[2]


def _elu(xp, x, alpha, scale, input_scale):
    """``scale max(x, 0) + alpha scale expm1(input_scale min(x, 0))``: no ``where`` (5x slower over an irregular
    mask than a pass)."""
    inner = _bounded(xp, x, None, 0)
    if input_scale != 1:
        inner *= input_scale
    negative = _expm1_nonpositive(xp, inner) if input_scale > 0 else xp.expm1(inner)
    negative *= alpha * scale
    positive = _bounded(xp, x, 0, None)
    if scale != 1:
        positive *= scale
    negative += positive
    return negative


def _elu_grad(x, y, g, alpha, scale, input_scale):
    """``g`` times ``scale`` where ``x > 0``, else ``alpha scale input_scale exp(input_scale x)``: one exp of
    ``min(x, 0)``, which is the whole derivative where ``alpha scale input_scale == scale`` (ELU's and CELU's
    defaults), else two mask products put ``scale`` on the positive side (no where)."""
    inner = _clip(x, None, 0)
    negative = _exp(inner if input_scale == 1 else inner * input_scale)
    if alpha * scale * input_scale != 1:
        negative = _times(negative, alpha * scale * input_scale)
    if alpha * scale * input_scale != scale:
        positive = _mask(x > 0, g)
        negative = _times(negative, 1 - positive) + _times(positive, scale)
    return _times(negative, g)


class Gelu(Pointwise):
    """Exact GELU ``x Phi(x)``. A recorded forward keeps the derivative ``Phi(x) + x phi(x)``, computed with the
    value from the same Phi and exp(-x^2 / 2) (a constant, not the output: in-place writes to the output stay
    allowed, as in PyTorch), so the first-order backward is one product."""

    kept = None  # its forward saves the derivative, not an input or the output

    @staticmethod
    def compute(xp, x):  # the no-graph path (fast_apply): the backend's fused kernel
        return kernels_for(xp).gelu(x)

    def forward(self, x):
        if not self.needs_input_grad:
            return self.backend.gelu(x)
        y, slope = self.backend.gelu_and_slope(x)
        self.save_for_backward(x, slope)
        return y

    def backward(self, g):
        x, slope = self.saved_tensors
        return GeluBackward.apply(x, slope, g)

    def vjp(self, g):
        return g * self.saved_arrays[1]


class GeluBackward(Function):
    """GELU's backward ``g (Phi(x) + x phi(x))`` given that derivative as ``slope``; its own backward, in lucid
    ops and itself, keeps GELU differentiable to any order (``slope`` is a function of ``x`` that the formula
    for ``x``'s gradient already accounts for: it gets none)."""

    def forward(self, x, slope, g):
        self.save_for_backward(x, slope, g)
        return g * slope

    def backward(self, grad):
        x, slope, g = self.saved_tensors
        need = self.needs_input_grad
        gx = gg = None
        if need[0]:  # d/dx (Phi + x phi) = phi (2 - x^2)
            gx = grad * g * (-0.5 * x * x).exp() * _INV_SQRT_2PI * (2 - x * x)
        if need[2]:
            gg = GeluBackward.apply(x, slope, grad)
        return gx, None, gg


def _gelu_tanh(xp, x):
    return 0.5 * x * (1 + xp.tanh(_TANH_K * (x + _TANH_C * x * x * x)))


def _gelu_tanh_grad(x, y, g):
    t = (_TANH_K * (x + _TANH_C * x * x * x)).tanh()
    return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _TANH_K * (1 + 3 * _TANH_C * x * x))


def _softplus_fwd(xp, x, beta, threshold):
    bx = x * beta
    return xp.where(bx > threshold, x, _softplus(xp, bx) / beta)


def _softplus_and_slope(xp, x, beta, threshold):
    """``(softplus(x), sigmoid(beta x))``, 1 where ``beta x > threshold`` (``max`` with that mask: no where)."""
    bx = x * beta
    e, u, log1p = _exp_parts(xp, bx)
    above = bx > threshold
    slope = _sigmoid_from_parts(xp, e, u, bx >= 0)
    slope = xp.maximum(slope, xp.astype(above, slope.dtype))
    return xp.where(above, x, (_bounded(xp, bx, 0, None) + log1p) / beta), slope


def _logsigmoid(xp, x):
    return _bounded(xp, x, None, 0) - _exp_parts(xp, x)[2]


def _logsigmoid_and_slope(xp, x):
    """``(logsigmoid(x), sigmoid(-x))`` from one exp."""
    e, u, log1p = _exp_parts(xp, x)
    return _bounded(xp, x, None, 0) - log1p, _sigmoid_from_parts(xp, e, u, x < 0)


def _softplus_grad(x, y, g, beta, threshold):
    bx = x * beta
    return _where(bx > threshold, g, g * _sig(bx))


def _silu_grad(x, y, g):
    s = x.sigmoid()
    return g * s * (1 + x * (1 - s))


def _leaky_relu(xp, x, slope):
    """``max(x, slope x)`` for a slope in (0, 1] (``min`` above 1): two passes, not a ``where`` (5x slower over an
    irregular mask); a slope of 0 or below takes the ``where`` (``0 * inf`` would be nan)."""
    if 0 < slope <= 1:
        return xp.maximum(x, x * slope)
    if slope > 1:
        return xp.minimum(x, x * slope)
    return xp.where(x > 0, x, x * slope)


def _leaky_relu_slope(x, slope):
    """The derivative, exactly 1 or ``slope`` (PyTorch's at 0 and nan): ``max(x > 0, slope)`` for a slope in
    (0, 1] (the mask clipped: one pass), ``x > 0`` plus ``slope`` times the rest for the others."""
    positive = _mask(x > 0, x)
    if 0 < slope <= 1:
        return _clip(positive, slope)
    return positive + (1 - positive) * slope


def _leaky_relu_and_slope(xp, x, slope):
    """``(leaky_relu(x), its derivative)``: the value as ``x`` times the derivative, exactly ``_leaky_relu``'s."""
    d = _leaky_relu_slope(x, slope)
    return x * d, d


def _leaky_relu_grad(x, y, g, slope):
    return _times(_leaky_relu_slope(x, slope), g)


class SlopeKept(Pointwise):
    """A pointwise op whose recorded forward also makes its derivative from the same intermediate values
    (``with_slope(xp, x, **params)``: the value and the derivative) and keeps it (a constant, as GELU's), so the
    first-order backward is one product; with create_graph the derivative is built again from ``x`` in lucid ops
    (``derivative``). The no-graph forward is ``compute``."""

    kept = None  # its forward saves the input and the derivative

    def forward(self, x, **params):
        if not self.needs_input_grad:
            return self.compute(self.xp, x, **params)
        self.remember((x,), params)
        with float_errors_quiet():  # inf * 0: nan, silently (as PyTorch)
            y, slope = self.with_slope(self.xp, x, **params)
        self.save_for_backward(x, slope)
        return y

    def vjp(self, g):
        return g * self.saved_arrays[1]


def _silu_and_slope(xp, x):
    """``(x s, s (1 + x (1 - s)))`` from one ``s = sigmoid(x)``."""
    s = _sigmoid(xp, x)
    slope = 1 - s
    slope *= x
    slope += 1
    slope *= s
    return x * s, slope


def _mish_grad(x, y, g):
    tsp = _apply("softplus", x, beta=1.0, threshold=20.0).tanh()
    return g * (tsp + x * x.sigmoid() * (1 - tsp * tsp))


def _hard_sigmoid(xp, x):
    """``clip(x / 6 + 0.5, 0, 1)``, the sum in place."""
    t = x / 6
    t += 0.5
    return _bounded(xp, t, 0, 1)


def _hardswish(xp, x):
    """``x clip(x + 3, 0, 6) / 6``, PyTorch's formula and order (the same rounding), in place after the clip."""
    out = _bounded(xp, x + 3.0, 0.0, 6.0)
    out *= x
    out /= 6
    return out


def _hardswish_and_slope(xp, x):
    """``(hardswish(x), its derivative)`` from one ``c = clip(x, -3, 3)``: the value ``x (c + 3) / 6`` (``_hardswish``'s
    rounding: ``c + 3`` is ``clip(x + 3, 0, 6)``) and, with ``q = c / 3``, the slope ``q + 1/2 - trunc(q) / 2``, that
    is PyTorch's ``x / 3 + 1/2`` inside (-3, 3), exactly +0 from -3 down and 1 from 3 up (its sides of the kinks),
    nan at nan: ``trunc(q)`` is +-1 only at the clip's bounds (``c / 3`` of a ``|c| < 3`` never rounds to +-1).
    In place after three allocations."""
    q = _bounded(xp, x, -3.0, 3.0)
    y = q + 3.0
    y *= x
    y /= 6
    q /= 3
    half = xp.trunc(q)
    half *= -0.5
    q += 0.5
    q += half
    return y, q


def _hardswish_grad(x, y, g):
    """``g`` times ``_hardswish_and_slope``'s slope in lucid ops (recorded, for create_graph), with ``g`` masked
    from -3 down: an inf or nan ``g`` gives 0 there, as in PyTorch."""
    q = _clip(x, -3.0, 3.0) / 3
    return _masked(x > -3, g) * (q + 0.5 - q.trunc() * 0.5)


def _shrink_grad(x, y, g, lambd):
    return _masked(abs(x) > lambd, g)


def _softshrink(xp, x, lambd):
    """``x - clip(x, -lambd, lambd)`` (nan kept, as PyTorch; 0 inside, where PyTorch's float32 kernel gives -0 for
    negatives, its float64 one +0): two passes, no ``where`` (NumPy's is 5x slower over an irregular mask)."""
    return x - _bounded(xp, x, -lambd, lambd)


def _threshold(xp, x, th, value):
    """``value`` where ``x <= th``, else ``x`` (nan kept, as PyTorch): ``max(x, th)`` and ``value`` blended by the
    0/1 mask, for finite ``th`` and ``value`` (no ``where``, 5x slower over an irregular mask); exact but for the
    sign of a zero result."""
    if not (math.isfinite(th) and math.isfinite(value)):
        return xp.where(x <= th, xp.asarray(value, dtype=x.dtype, device=x.device), x)
    kept = _mask(~(x <= th), x)
    out = _bounded(xp, x, th, None)
    out *= kept
    kept -= 1
    kept *= -value
    out += kept
    return out


def _quiet(compute):
    """``compute`` without NumPy's floating-point warnings, for the rows where an infinite input (or a
    float16 overflow) makes inf * 0 or inf / inf: nan (or inf) silently, as PyTorch."""
    @functools.wraps(compute)
    def run(xp, x, **params):
        with float_errors_quiet():
            return compute(xp, x, **params)

    return run


class Hardswish(SlopeKept):
    """Fused ``hardswish`` activation, its derivative kept by the recorded forward (made with the value, whole-array
    passes: in cache-sized chunks it measured 15% slower, the chunks' copies into the outputs costing more than the
    cache saves): the first-order backward is one product, masked where the derivative is 0 so that an inf or nan
    ``g`` gives 0 there, as PyTorch's. At a nan input the gradient is nan: PyTorch's vectorized kernel gives nan,
    its scalar tail (tensors of fewer than 8 to 16 elements) gives ``g``; lucid takes the former at every size."""

    opmath = True
    compute = staticmethod(_quiet(_hardswish))
    with_slope = staticmethod(_hardswish_and_slope)
    derivative = staticmethod(_hardswish_grad)

    def vjp(self, g):
        slope = self.saved_arrays[1]
        return _masked(slope != 0, g * slope)


# name: (forward(xp, x, **params), derivative(x, y, g, **params), what backward needs)
_TABLE = {
    "relu": (lambda xp, x: _bounded(xp, x, 0, None), lambda x, y, g: _masked(y != 0, g), "y"),  # nan: g, as PyTorch
    "hardtanh": (lambda xp, x, lo, hi: _bounded(xp, x, lo, hi),
                 lambda x, y, g, lo, hi: _masked((x > lo) & (x < hi), g), "x"),
    "elu": (_quiet(_elu), _elu_grad, "x"),
    "gelu_tanh": (_quiet(_gelu_tanh), _gelu_tanh_grad, "x"),
    "mish": (_quiet(lambda xp, x: x * xp.tanh(_softplus(xp, x))), _mish_grad, "x"),
    "hardsigmoid": (_hard_sigmoid, lambda x, y, g: _masked((x > -3) & (x < 3), g) / 6, "x"),
    "softsign": (_quiet(lambda xp, x: x / (1 + xp.abs(x))), lambda x, y, g: g / (1 + x.abs()).square(), "x"),
    "threshold": (_threshold, lambda x, y, g, th, value: _masked(~(x <= th), g), "x"),
    "hardshrink": (lambda xp, x, lambd: _masked(~(xp.abs(x) <= lambd), x), _shrink_grad, "x"),
    "softshrink": (_softshrink, _shrink_grad, "x"),
    "tanhshrink": (lambda xp, x: x - xp.tanh(x), lambda x, y, g: g * x.tanh().square(), "x"),
}

# derivatives that are piecewise constant in x: their gradient stays tied to x (zeros) under create_graph even when
# the incoming gradient requires grad, as PyTorch's
_PIECEWISE = ("relu", "hardtanh", "threshold", "hardshrink", "softshrink", "leaky_relu")
# derivatives written with operators, _mask and the helpers above that take Tensors or arrays: they also run on
# raw arrays (the first-order backward)
_ON_ARRAYS = ("relu", "hardtanh", "elu", "hardsigmoid",
              "threshold", "hardshrink", "softshrink")
# name: (forward, forward with the derivative, derivative in lucid ops, autocast policy): SlopeKept ops
_SLOPE_KEPT = {
    "leaky_relu": (_quiet(_leaky_relu), _leaky_relu_and_slope, _leaky_relu_grad, None),
    "silu": (_quiet(lambda xp, x: x * _sigmoid(xp, x)), _silu_and_slope, _silu_grad, None),
    "softplus": (_softplus_fwd, _softplus_and_slope, _softplus_grad, {"cuda": FLOAT32}),
    "logsigmoid": (_logsigmoid, _logsigmoid_and_slope, lambda x, y, g: g * _sig(-x), None),
}
_FUNCTIONS = {
    **pointwise_ops(_TABLE, __name__, "Fused ``{}`` activation.", on_arrays=_ON_ARRAYS, piecewise=_PIECEWISE,
                    opmath=("elu", "gelu_tanh", "mish", "hardsigmoid")),  # (softsign, tanhshrink: torch composes)
    "gelu": Gelu,
    "hardswish": Hardswish,
    **{name: type(class_name(name), (SlopeKept,), {
        "compute": staticmethod(compute), "with_slope": staticmethod(with_slope),
        "derivative": staticmethod(derivative), "autocast_policy": policy, "piecewise": name in _PIECEWISE,
        "opmath": True, "__module__": __name__,
        "__doc__": f"Fused ``{name}`` activation, its derivative kept by the recorded forward."})
       for name, (compute, with_slope, derivative, policy) in _SLOPE_KEPT.items()},
}
# PyTorch's names for these nodes (its softsign and tanhshrink are composites ending in a division, a subtraction;
# its gelu takes the approximation as an argument)
for _name, _torch_name in (("logsigmoid", "LogSigmoid"), ("softsign", "Div"), ("tanhshrink", "Sub"),
                           ("gelu_tanh", "Gelu")):
    _FUNCTIONS[_name].torch_name = _torch_name


def _in_place(cls, name: str):
    """``inplace=True``: the result of ``cls`` written into ``x`` (autograd-aware, see lucid.ops.inplace), its node
    named ``node`` (rename_node's arguments) where given."""
    def op(x, params, node):
        y = fast_apply(cls, x, None, params)
        return rename_node(y, *node) if node else y
    return _make_inplace(op, f"{name}_")


_IN_PLACE = {name: _in_place(cls, name) for name, cls in _FUNCTIONS.items()}
# PyTorch's in-place forms whose backward reads the result record an overload of their own (EluBackward1)
_IN_PLACE_NODES = {"elu": ("Elu", 1), "leaky_relu": ("LeakyRelu", 1), "threshold": ("Threshold", 1)}


def _apply(name: str, x: Tensor, inplace: bool = False, node: tuple | None = None, **params) -> Tensor:
    """``name``'s op on ``x`` (in place: recorded as PyTorch's node ``node``, by default its in-place form's)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} expects a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f" and not (name == "relu" and x.dtype.kind in "iu"):
        raise TypeError(f"{name} needs a floating tensor, got {x.dtype.name}; cast it first (x.float())")
    if inplace:
        return _IN_PLACE[name](x, params, node or _IN_PLACE_NODES.get(name))
    return fast_apply(_FUNCTIONS[name], x, None, params)


class PReLU(Function):
    """``x`` where positive, else ``w x`` (``w`` broadcast against ``x``), as one op. The recorded forward makes the
    derivative ``(1 - p) w + p``, ``p = [x > 0]`` (``w`` at nan: PyTorch's ``g w``), and the value as ``x`` times
    it (no ``where``: NumPy's over a mask as irregular as the signs of ``x`` costs ~10x a product), and keeps it;
    the weight's gradient is one contraction ``sum g min(x, 0)`` over the axes ``w`` is broadcast along. Chosen
    where PyTorch's ``where`` differs: an inf or nan weight gives nan at the positive inputs of its channel too
    (``0 * inf``); finite weights give PyTorch's values, nan and infinite inputs included."""
    torch_name = "PreluKernel"

    def forward(self, x, w):
        xp = self.xp
        with float_errors_quiet():  # -inf times a zero weight: nan, as PyTorch
            if not self.needs_input_grad:  # max(x, 0) + w min(x, 0): four passes, the same values
                out = kernels_for(xp).clip(x, None, 0)
                out *= w
                out += kernels_for(xp).clip(x, 0, None)
                return out
            positive = xp.astype(x > 0, x.dtype)
            slope = 1 - positive
            slope *= w
            slope += positive  # exactly w or 1 (not 1 + (w - 1) k, which rounds)
            y = x * slope
        self.axes = tuple(range(x.ndim - w.ndim)) + tuple(
            x.ndim - w.ndim + i for i, n in enumerate(w.shape) if n == 1 and x.shape[x.ndim - w.ndim + i] != 1)
        self.save_for_backward(x, w, slope)
        return y

    def vjp(self, g):
        x, w, slope = self.saved_arrays
        need = self.needs_input_grad
        gw = None
        if need[1]:
            negative = kernels_for(self.xp).clip(x, None, 0)
            gw = self.xp.reshape(self.backend.sum_kept(g, self.axes, negative) if self.axes else g * negative,
                                 w.shape)
        return (g * slope if need[0] else None), gw

    def backward(self, g):
        x, w, _ = self.saved_tensors
        need = self.needs_input_grad
        p = (x > 0).to(x.dtype)
        gx = g * ((1 - p) * w + p) if need[0] else None
        gw = g * x.clamp(max=0) if need[1] else None
        gw = gw.sum(self.axes).reshape(w.shape) if gw is not None and self.axes else gw
        # both gradients stay in the graph of both, as PyTorch's (whose backward node takes them)
        return (tie_to(tie_to(gx, x, always=True), w) if gx is not None else None,
                tie_to(tie_to(gw, x), w) if gw is not None else None)


# ---- the public functions --------------------------------------------------------------------
@nested_aware
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)``; the gradient at 0 is 0 (as PyTorch). Integer tensors are accepted."""
    return _apply("relu", input, inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)`` (``hardtanh(x, 0, 6)``)."""
    return _apply("hardtanh", input, inplace, lo=0.0, hi=6.0)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where positive, else ``negative_slope * x``."""
    return _apply("leaky_relu", input, inplace, slope=float(negative_slope))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, else ``alpha * (exp(x) - 1)``."""
    return _apply("elu", input, inplace, alpha=float(alpha), scale=1.0, input_scale=1.0)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Self-normalising ELU: ``scale * elu(x, alpha)`` with the constants of Klambauer et al. (2017)."""
    return _apply("elu", input, inplace, alpha=_SELU_ALPHA, scale=_SELU_SCALE, input_scale=1.0)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides the input)")
    out = _apply("elu", input, inplace, ("Celu", 1), alpha=float(alpha), scale=1.0, input_scale=1.0 / alpha)
    return out if inplace else rename_node(out, "Celu")


@nested_aware
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` with the exact normal CDF (through ``erf``), or with ``approximate="tanh"``
    the tanh approximation of Hendrycks & Gimpel."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _apply("gelu" if approximate == "none" else "gelu_tanh", input)


@nested_aware
def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (also called swish)."""
    return _apply("silu", input, inplace)


swish = silu


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    return _apply("mish", input, inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold`` (as PyTorch)."""
    return _apply("softplus", input, beta=float(beta), threshold=float(threshold))


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return _apply("softsign", input)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` clipped to ``[min_val, max_val]``; no gradient at or beyond the bounds."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _apply("hardtanh", input, inplace, lo=float(min_val), hi=float(max_val))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``: a piecewise-linear sigmoid."""
    return _apply("hardsigmoid", input, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6`` (MobileNetV3)."""
    return _apply("hardswish", input, inplace)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``, overflow-free (:func:`lucid.sigmoid`)."""
    return _ops.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent (:func:`lucid.tanh`)."""
    return _ops.tanh(input)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))`` computed as ``min(x, 0) - log1p(exp(-|x|))``: finite for any finite ``x``."""
    return _apply("logsigmoid", input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``."""
    return _apply("threshold", input, inplace, th=float(threshold), value=float(value))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0."""
    return _apply("hardshrink", input, lambd=float(lambd))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    return _apply("softshrink", input, lambd=float(lambd))


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    return _apply("tanhshrink", input)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: in training each non-positive element gets its own slope drawn from
    ``U(lower, upper)`` (zeros too, so their gradient is that slope, as PyTorch's); in evaluation the
    slope is ``(lower + upper) / 2``. On a host device the slopes are PyTorch's CPU draws (float64, one per
    non-positive element in order); on others one is drawn per element, without a sync to count them."""
    if inplace:
        return _rrelu(input, lower, upper, training, inplace)
    return rename_node(_rrelu(input, lower, upper, training, inplace), "RreluWithNoise")  # PyTorch's node, both modes


def _rrelu(input, lower, upper, training, inplace):
    """``rrelu``'s result, under the names of the ops that make it."""
    if not training:
        return _apply("leaky_relu", input, inplace, ("RreluWithNoise", 1), slope=float((lower + upper) / 2))
    from ...ops.sampling import uniform

    negative = input <= 0
    if input._device.host:
        slopes = _ops.zeros(input.shape, dtype=_dt.float64, device=input.device)
        slopes[negative] = uniform(lower, upper, (int(negative.sum()),), dtype=_dt.float64, device=input.device)
    else:
        slopes = uniform(lower, upper, input.shape, dtype=_dt.float64, device=input.device)
    noise = _ops.where(negative, slopes.to(input.dtype), 1.0)
    return _noise_in_place(input, noise) if inplace else input * noise


# rrelu's noise written into its input: PyTorch's in-place node (RreluWithNoiseBackward1), not mul_'s
_noise_in_place = _make_inplace(lambda x, noise: rename_node(x * noise, "RreluWithNoise", 1), "rrelu_")


@autocast_op(LOWER)
def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` where positive, else ``weight * x``; ``weight`` has 1 element or one per channel
    (dimension 1 of the input, as PyTorch)."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"prelu expects Tensors, got {type(input).__name__} and {type(weight).__name__}; pass the "
                        f"weight as a tensor, e.g. lucid.tensor([0.25])")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: weight must be 0-D or 1-D, got shape {weight.shape}")
    if weight.dtype != input.dtype:  # as PyTorch, which does not promote here
        raise RuntimeError(f"prelu: the input ({input.dtype.name}) and the weight ({weight.dtype.name}) must have the "
                           f"same dtype; cast one, e.g. weight.to(input.dtype)")
    n = weight.numel()
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1  # a 1-D input is one channel, as in PyTorch
        if n != channels:
            raise RuntimeError(
                f"prelu: weight has {n} elements but the input (shape {input.shape}) has {channels} channels; "
                f"use 1 weight or one per channel"
            )
        if input.ndim >= 2:
            weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    else:
        weight = weight.reshape(())
    return PReLU.apply(input, weight)


def glu(input: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """Gated linear unit: the input split in two halves ``a, b`` along ``dim``, ``a * sigmoid(b)``."""
    d = dim if axis is None else axis
    if input.ndim == 0:
        raise RuntimeError("glu: the input is a 0-d tensor, which has no dimension to halve; pass at least 1-D")
    d = _axes.normalize(d, input.ndim)[0]
    if input.shape[d] % 2:
        raise RuntimeError(f"glu: dimension {d} of the input (shape {input.shape}) must have an even size")
    a, b = input.chunk(2, d)
    return rename_node(a * b.sigmoid(), "Glu")


@nested_aware
def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None, *, axis=None) -> Tensor:
    """Softmax along ``dim`` (:func:`lucid.softmax`: fused, stable; ``dim=None`` means the last
    dimension, where PyTorch's deprecated implicit choice may pick another)."""
    return _ops.softmax(input, dim, dtype, axis=axis)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None, *, axis=None) -> Tensor:
    """Log-softmax along ``dim`` (:func:`lucid.log_softmax`: fused, finite for any finite logits)."""
    return _ops.log_softmax(input, dim, dtype, axis=axis)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None, *, axis=None) -> Tensor:
    """``softmax(-x)`` along ``dim``."""
    if dtype is not None:
        input = input.to(dtype)
    return _ops.softmax(-input, dim, axis=axis)


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """A sample from the Gumbel-softmax distribution: ``softmax((logits + g) / tau)`` with Gumbel
    noise ``g``; ``hard=True`` returns one-hot samples whose gradient is the soft sample's
    (straight-through estimator). ``eps`` is accepted for compatibility and unused, as in PyTorch."""
    gumbels = -_ops.empty_like(logits).exponential_().log()  # -log(Exponential(1)), PyTorch's draws
    soft = _ops.softmax((logits + gumbels) / tau, dim)
    if not hard:
        return soft
    index = soft.argmax(dim=dim, keepdim=True)
    classes = _ops.arange(soft.shape[dim], device=soft.device).reshape(
        tuple(-1 if d == dim % soft.ndim else 1 for d in range(soft.ndim)))
    one_hot = (index == classes).to(soft.dtype)
    return one_hot - soft.detach() + soft


# the in-place forms PyTorch's functional namespace has
def _inplace_form(fn):
    def op(input: Tensor, *args, **kwargs) -> Tensor:
        return fn(input, *args, inplace=True, **kwargs)

    op.__name__ = op.__qualname__ = fn.__name__ + "_"
    op.__doc__ = f"In-place ``{fn.__name__}``: writes the result into ``input`` and returns it."
    return op


relu_, relu6_, leaky_relu_, elu_, selu_, celu_, hardtanh_, threshold_, rrelu_ = map(
    _inplace_form, (relu, relu6, leaky_relu, elu, selu, celu, hardtanh, threshold, rrelu))
