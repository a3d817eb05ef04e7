"""Every public differentiable op, finite-difference gradchecked in float64 on every test device.

``CASES`` holds one entry (or several variants) per public name: the ``lucid.*`` ops, ``lucid.linalg.*``,
``lucid.nn.functional.*`` and every differentiable ``Tensor`` method listed in ``lucid/_tensor.pyi``
(in-place methods run on a clone so the leaf is untouched; reflected and augmented operators too).
``test_every_differentiable_public_name_has_a_case`` walks those namespaces and fails when a name is
neither in the table nor in the commented ``NOT_DIFFERENTIABLE`` list, so a new op cannot go unchecked.

Inputs are tiny and drawn from a generator seeded by the case id, so every case is reproducible on
its own. Random ops (dropouts, rrelu, gumbel_softmax) re-seed lucid inside the checked function:
each of gradcheck's evaluations then draws the same mask.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import math
import operator
import pathlib
import types
import zlib

import numpy as np
import pytest
from gradcheck_specs import (  # noqa: E402
    AWAY,
    CASES,
    CONST,
    COVERED,
    DISTINCT,
    GRID8,
    PROB,
    SIMPLEX,
    SQUARE,
    B,
    I,
    N,
    P,
    U,
    _float,
    add,
    on_clone,
    seeded,
)

import lucid
import lucid.linalg as LA
import lucid.nn.functional as F
from lucid.autograd import gradcheck
from lucid.nn.functional.attention import attention as _attention

# -- unary elementwise: lucid.f, Tensor.f, Tensor.f_ -------------------------------------------------------
UNARY_DOMAIN = {
    "exp": N, "log": P, "log2": P, "log10": P, "log1p": P, "expm1": N, "sqrt": P, "rsqrt": P, "sin": N, "cos": N,
    "tan": U, "asin": U, "acos": U, "atan": N, "sinh": N, "cosh": N, "tanh": N, "sigmoid": N, "abs": AWAY,
    "neg": N, "reciprocal": P, "square": N, "erf": N,
    # piecewise constant: the gradient is zero away from the jumps
    "sign": AWAY, "floor": AWAY, "ceil": AWAY, "round": AWAY, "trunc": AWAY,
}
for _n, _dom in UNARY_DOMAIN.items():
    add(f"lucid.{_n}", getattr(lucid, _n), _dom(2, 3))
    add(f"Tensor.{_n}", operator.methodcaller(_n), _dom(3))
    add(f"Tensor.{_n}_", on_clone(f"{_n}_"), _dom(3))
for _alias, _n in {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "negative": "neg"}.items():
    add(f"Tensor.{_alias}", operator.methodcaller(_alias), UNARY_DOMAIN[_n](3))
add("Tensor.__neg__", operator.neg, N(2, 2))
add("Tensor.__abs__", operator.abs, AWAY(2, 2))

# clamp / clip: number bounds (Clamp) and tensor bounds (maximum/minimum)
for _n in ("clamp", "clip"):
    _f = getattr(lucid, _n)
    add(f"lucid.{_n}", lambda x, f=_f: f(x, -0.5, 0.7), DISTINCT(3, 4, gap=0.13))
    _f = getattr(lucid, _n)
    add(f"lucid.{_n}", lambda x, lo, hi, f=_f: f(x, min=lo, max=hi), N(3, 4), N(4), N(3, 1),
        variant="tensor_bounds")
    add(f"Tensor.{_n}", lambda x, f=_n: getattr(x, f)(min=0.1), DISTINCT(3, 4, gap=0.13))
    add(f"Tensor.{_n}_", on_clone(f"{_n}_", -0.5, 0.7), DISTINCT(3, 4, gap=0.13))
add("lucid.clamp", lambda x: lucid.clamp(x, max=0.2), DISTINCT(5, gap=0.13), variant="max_only")

# -- binary arithmetic with broadcasting --------------------------------------------------------------------
BINARY = {
    "add": (N, N), "sub": (N, N), "mul": (N, N), "div": (N, P), "pow": (P, N), "maximum": (N, N),
    "minimum": (N, N), "atan2": (N, N), "remainder": (N, P), "true_divide": (N, P), "divide": (N, P),
    "multiply": (N, N), "subtract": (N, N),
}
for _n, (_da, _db) in BINARY.items():
    add(f"lucid.{_n}", getattr(lucid, _n), _da(2, 3), _db(3))
    add(f"lucid.{_n}", getattr(lucid, _n), _da(3, 1), _db(2, 1, 4), variant="both_broadcast")
    add(f"Tensor.{_n}", lambda a, b, f=_n: getattr(a, f)(b), _da(2, 3), _db(2, 3))
for _n in ("add", "sub", "mul", "div", "pow", "remainder", "maximum", "minimum", "atan2"):
    _da, _db = BINARY[_n]
    add(f"Tensor.{_n}_", lambda a, b, f=_n: getattr(a.clone(), f + "_")(b), _da(2, 3), _db(3))
add("Tensor.arctan2", lambda a, b: a.arctan2(b), N(2, 3), N(2, 3))
add("lucid.add", lambda a: lucid.add(a, 1.5), N(3), variant="scalar")
add("lucid.pow", lambda a: lucid.pow(a, 3), N(3), variant="int_exponent")
add("lucid.pow", lambda b: lucid.pow(2.0, b), N(3), variant="scalar_base")
add("lucid.remainder", lambda a: lucid.remainder(a, 0.7), DISTINCT(5, gap=0.11), variant="scalar")
add("lucid.div", lambda a: lucid.div(a, 4), N(3), variant="int_scalar")
add("lucid.maximum", lambda a, b: lucid.maximum(a, b), _float(lambda r: [1.0, 2.0, -1.0]),
    _float(lambda r: [1.0, 0.5, 3.0]), variant="tie")  # a tie shares the gradient: the central difference agrees

# operators, reflected operators, augmented assignment on a clone
OPS = {"add": (operator.add, N, N), "sub": (operator.sub, N, N), "mul": (operator.mul, N, N),
       "truediv": (operator.truediv, N, P), "pow": (operator.pow, P, N), "mod": (operator.mod, N, P),
       "matmul": (operator.matmul, None, None)}
for _n, (_op, _da, _db) in OPS.items():
    if _n == "matmul":
        add("Tensor.__matmul__", operator.matmul, N(2, 3), N(3, 2))
        add("Tensor.__rmatmul__", lambda a, b: b.__rmatmul__(a), N(2, 3), N(3, 2))
        continue
    add(f"Tensor.__{_n}__", _op, _da(2, 3), _db(3))
    add(f"Tensor.__r{_n}__", lambda a, b, n=_n: getattr(b, f"__r{n}__")(a), _da(2, 3), _db(3), variant="tensor")
    add(f"Tensor.__i{_n}__", lambda a, b, n=_n: getattr(operator, f"i{n}")(a.clone(), b), _da(2, 3), _db(3))
# reflected with a Python number on the left: Python calls the tensor's __r*__
add("Tensor.__radd__", lambda x: 1.5 + x, N(3))
add("Tensor.__rsub__", lambda x: 1.5 - x, N(3))
add("Tensor.__rmul__", lambda x: 1.5 * x, N(3))
add("Tensor.__rtruediv__", lambda x: 1.5 / x, P(3))
add("Tensor.__rpow__", lambda x: 1.5**x, N(3))
add("Tensor.__rmod__", lambda x: 1.7 % x, P(3))
add("Tensor.__ipow__", lambda x: operator.ipow(x.clone(), 2.0), N(3), variant="scalar")
add("Tensor.__imul__", lambda x: operator.imul(x.clone(), 3), N(3), variant="scalar")

# -- reductions -------------------------------------------------------------------------------------------
for _n in ("sum", "mean", "prod", "logsumexp", "amax", "amin"):
    dom = DISTINCT if _n in ("amax", "amin") else N
    add(f"lucid.{_n}", getattr(lucid, _n), dom(2, 3, 2))
    _f = getattr(lucid, _n)
    add(f"lucid.{_n}", lambda x, f=_f: f(x, dim=(0, 2), keepdim=True), dom(2, 3, 2),
        variant="dims_keepdim")
    add(f"Tensor.{_n}", lambda x, f=_n: getattr(x, f)(-1), dom(2, 3))
for _n in ("var", "std"):
    add(f"lucid.{_n}", getattr(lucid, _n), N(2, 3, 2))
    _f = getattr(lucid, _n)
    add(f"lucid.{_n}", lambda x, f=_f: f(x, dim=1, correction=0, keepdim=True), N(2, 3, 2),
        variant="dim_correction0")
    add(f"Tensor.{_n}", lambda x, f=_n: getattr(x, f)((0, 1), unbiased=False), N(2, 3, 2))
for _n in ("max", "min"):
    add(f"lucid.{_n}", getattr(lucid, _n), DISTINCT(2, 3))
    _f = getattr(lucid, _n)
    add(f"lucid.{_n}", lambda x, f=_f: f(x, dim=1), DISTINCT(2, 3), variant="dim")
    _f = getattr(lucid, _n)
    add(f"lucid.{_n}", lambda x, f=_f: f(x, 0, keepdim=True).values, DISTINCT(2, 3),
        variant="dim_keepdim")
    _f = getattr(lucid, _n)
    add(f"lucid.{_n}", lambda x, y, f=_f: f(x, y), N(2, 3), N(3), variant="other")
    add(f"Tensor.{_n}", lambda x, f=_n: getattr(x, f)(dim=-1).values, DISTINCT(2, 3))
add("lucid.amax", lambda x: lucid.amax(x, 1), _float(lambda r: [[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]),
    variant="tie")  # tied maxima share the gradient (the central difference of max is 1/2 each)
for _n in ("cumsum", "cumprod"):
    _f = getattr(lucid, _n)
    add(f"lucid.{_n}", lambda x, f=_f: f(x, 1), N(2, 4))
    add(f"Tensor.{_n}", lambda x, f=_n: getattr(x, f)(dim=0), N(3, 2))
add("lucid.cumprod", lambda x: lucid.cumprod(x, 0), _float(lambda r: [0.5, 0.0, 2.0, -1.5]), variant="zero")
add("lucid.softmax", lambda x: lucid.softmax(x, 1), N(2, 3, 2))
add("lucid.log_softmax", lambda x: lucid.log_softmax(x, -1), N(2, 4))
add("Tensor.softmax", lambda x: x.softmax(0), N(3, 2))
add("Tensor.log_softmax", lambda x: x.log_softmax(dim=1), N(3, 2))
add("lucid.unbroadcast", lambda g: lucid.unbroadcast(g, (3, 1)), N(2, 3, 4))

# -- shape ops --------------------------------------------------------------------------------------------
SHAPE = [
    ("reshape", lambda x: lucid.reshape(x, (3, -1)), N(2, 3), lambda x: x.reshape(6)),
    ("view", lambda x: lucid.view(x, (6,)), N(2, 3), lambda x: x.view(3, 2)),
    ("broadcast_to", lambda x: lucid.broadcast_to(x, (2, 3, 4)), N(3, 1), lambda x: x.broadcast_to((2, 3, 4))),
    ("expand", lambda x: lucid.expand(x, (2, 3, 4)), N(3, 1), lambda x: x.expand(2, -1, 4)),
    ("flatten", lambda x: lucid.flatten(x, 1), N(2, 3, 2), lambda x: x.flatten()),
    ("unflatten", lambda x: lucid.unflatten(x, 1, (2, 3)), N(2, 6), lambda x: x.unflatten(-1, (3, -1))),
    ("squeeze", lambda x: lucid.squeeze(x), N(1, 3, 1), lambda x: x.squeeze(0)),
    ("unsqueeze", lambda x: lucid.unsqueeze(x, 1), N(2, 3), lambda x: x.unsqueeze(-1)),
    ("permute", lambda x: lucid.permute(x, (2, 0, 1)), N(2, 3, 2), lambda x: x.permute(1, 2, 0)),
    ("transpose", lambda x: lucid.transpose(x, 0, 2), N(2, 3, 2), lambda x: x.transpose(-1, 0)),
    ("swapaxes", lambda x: lucid.swapaxes(x, 0, 1), N(2, 3), lambda x: x.swapaxes(1, 0)),
    ("swapdims", lambda x: lucid.swapdims(x, 0, 1), N(2, 3), lambda x: x.swapdims(0, 1)),
    ("movedim", lambda x: lucid.movedim(x, 0, -1), N(2, 3, 2), lambda x: x.movedim((0, 1), (-1, 0))),
    ("moveaxis", lambda x: lucid.moveaxis(x, 0, -1), N(2, 3, 2), lambda x: x.moveaxis(1, 0)),
    ("t", lambda x: lucid.t(x), N(2, 3), lambda x: x.t()),
    ("narrow", lambda x: lucid.narrow(x, 1, 1, 2), N(2, 4), lambda x: x.narrow(0, -2, 1)),
    ("repeat", lambda x: lucid.repeat(x, 2, 1, 2), N(2, 3), lambda x: x.repeat((2, 1))),
    ("tile", lambda x: lucid.tile(x, (2,)), N(2, 3), lambda x: x.tile(2, 1)),
    ("repeat_interleave", lambda x: lucid.repeat_interleave(x, [1, 0, 2], dim=1), N(2, 3),
     lambda x: x.repeat_interleave(2)),
    ("flip", lambda x: lucid.flip(x, (0, 1)), N(2, 3), lambda x: x.flip(-1)),
    ("roll", lambda x: lucid.roll(x, (1, -1), (0, 1)), N(2, 3), lambda x: x.roll(2)),
    ("tril", lambda x: lucid.tril(x, -1), N(3, 3), lambda x: x.tril()),
    ("triu", lambda x: lucid.triu(x, 1), N(2, 3, 3), lambda x: x.triu(-1)),
    ("diagonal", lambda x: lucid.diagonal(x, 1, 0, 2), N(3, 2, 4), lambda x: x.diagonal()),
    ("clone", lambda x: lucid.clone(x), N(2, 3), lambda x: x.clone()),
    ("contiguous", lambda x: lucid.contiguous(x) * 1, N(2, 3), lambda x: x.contiguous() * 1),
]
for _n, _fn, _spec, _method in SHAPE:
    add(f"lucid.{_n}", _fn, _spec)
    add(f"Tensor.{_n}", _method, _spec)
for _n in ("tril", "triu"):
    add(f"Tensor.{_n}_", on_clone(f"{_n}_", 0), N(3, 3))
add("lucid.select", lambda x: lucid.select(x, 1, -1), N(2, 3, 2))
add("Tensor.select", lambda x: x.select(0, 1) * 1, N(2, 3))
add("Tensor.unfold", lambda x: x.unfold(1, 3, 2) * 1, N(2, 7))
add("Tensor.unfold", lambda x: x.unfold(0, 2, 1), N(4, 2), variant="overlapping")
add("Tensor.T", lambda x: x.T, N(2, 3, 2))
add("Tensor.mT", lambda x: x.mT, N(2, 3, 2))
add("Tensor.expand_as", lambda x, y: x.expand_as(y), N(3, 1), CONST(N(2, 3, 4)))
add("Tensor.reshape_as", lambda x, y: x.reshape_as(y), N(2, 3), CONST(N(3, 2)))
add("Tensor.view_as", lambda x, y: x.view_as(y), N(2, 3), CONST(N(6)))
for _n in ("cat", "concatenate", "concat"):
    _f = getattr(lucid, _n)
    add(f"lucid.{_n}", lambda a, b, c, f=_f: f([a, b, c], 1), N(2, 1), N(2, 3), N(2, 2))
add("lucid.stack", lambda a, b: lucid.stack([a, b], -1), N(2, 3), N(2, 3))
add("lucid.hstack", lambda a, b: lucid.hstack([a, b]), N(2, 1), N(2, 3))
add("lucid.vstack", lambda a, b: lucid.vstack([a, b]), N(3), N(2, 3))
add("lucid.split", lambda x: lucid.split(x, [1, 3], 1), N(2, 4))
add("lucid.chunk", lambda x: lucid.chunk(x, 3), N(5, 2))
add("lucid.unbind", lambda x: lucid.unbind(x, 1), N(2, 3))
add("Tensor.split", lambda x: x.split(2), N(5, 2))
add("Tensor.chunk", lambda x: x.chunk(2, -1), N(2, 4))
add("Tensor.unbind", lambda x: x.unbind(), N(2, 3))
add("Tensor.__iter__", lambda x: tuple(row * (i + 1) for i, row in enumerate(x)), N(3, 2))
add("lucid.pad", lambda x: lucid.pad(x, (1, 2, 0, 1), value=0.5), N(2, 3, 4))
for _mode in ("reflect", "replicate", "circular"):
    add("lucid.pad", lambda x, m=_mode: lucid.pad(x, (2, 1, 1, 2), mode=m), N(2, 3, 4), variant=_mode)
add("lucid.meshgrid", lambda a, b: lucid.meshgrid(a, b, indexing="xy"), N(2), N(3))

# -- indexing ---------------------------------------------------------------------------------------------
_IDX = I([[0, 2, 2], [1, 0, 1]])
add("lucid.gather", lambda x, i: lucid.gather(x, 1, i), N(2, 3), _IDX)
add("Tensor.gather", lambda x, i: x.gather(0, i), N(2, 3), I([[1, 0, 1]]))
# scatter without repeated positions (which would make the written value depend on the order)
_PERM = I([[2, 0, 1], [1, 2, 0]])
add("lucid.scatter", lambda x, i, s: lucid.scatter(x, 1, i, s), N(2, 3), _PERM, N(2, 3))
add("lucid.scatter", lambda x, i: lucid.scatter(x, 1, i, value=0.5), N(2, 3), I([[2], [0]]), variant="value")
add("Tensor.scatter", lambda x, i, s: x.scatter(1, i, s), N(2, 3), _PERM, N(2, 3))
add("Tensor.scatter_", lambda x, i, s: x.clone().scatter_(1, i, s), N(2, 3), _PERM, N(2, 3))
add("lucid.scatter_add", lambda x, i, s: lucid.scatter_add(x, 1, i, s), N(2, 3), _IDX, N(2, 3))
add("Tensor.scatter_add", lambda x, i, s: x.scatter_add(1, i, s), N(2, 3), _IDX, N(2, 3))
add("Tensor.scatter_add_", lambda x, i, s: x.clone().scatter_add_(1, i, s), N(2, 3), _IDX, N(2, 3))
add("lucid.index_select", lambda x, i: lucid.index_select(x, 1, i), N(2, 3), I([2, 0, 2]))
add("Tensor.index_select", lambda x, i: x.index_select(0, i), N(2, 3), I([1, 1]))
add("lucid.take_along_dim", lambda x, i: lucid.take_along_dim(x, i, 1), N(2, 3), _IDX)
add("lucid.take_along_dim", lambda x, i: lucid.take_along_dim(x, i), N(2, 3), I([5, 0, 5]), variant="flat")
add("Tensor.take_along_dim", lambda x, i: x.take_along_dim(i, dim=1), N(2, 3), _IDX)
_MASK = B([[True, False, True], [False, False, True]])
add("lucid.masked_fill", lambda x, m: lucid.masked_fill(x, m, 0.5), N(2, 3), _MASK)
add("lucid.masked_fill", lambda x, m, v: lucid.masked_fill(x, m, v), N(2, 3), _MASK, N(), variant="tensor_value")
add("Tensor.masked_fill", lambda x, m: x.masked_fill(m, -1.0), N(2, 3), B([True, False, True]))
add("Tensor.masked_fill_", lambda x, m, v: x.clone().masked_fill_(m, v), N(2, 3), _MASK, N())
add("lucid.where", lambda c, a, b: lucid.where(c, a, b), _MASK, N(2, 3), N(3))
add("lucid.where", lambda c, a: lucid.where(c, a, 0.5), _MASK, N(2, 3), variant="scalar")
add("Tensor.where", lambda x, c, y: x.where(c, y), N(2, 3), _MASK, N(2, 1))
add("lucid.sort", lambda x: lucid.sort(x, 1), DISTINCT(2, 4))
add("lucid.sort", lambda x: lucid.sort(x, 0, descending=True).values, DISTINCT(3, 2), variant="descending")
add("Tensor.sort", lambda x: x.sort().values, DISTINCT(2, 4))
add("lucid.topk", lambda x: lucid.topk(x, 2), DISTINCT(2, 4))
add("lucid.topk", lambda x: lucid.topk(x, 2, dim=0, largest=False).values, DISTINCT(3, 2), variant="smallest")
add("Tensor.topk", lambda x: x.topk(3).values, DISTINCT(5))


def _getitem(key):
    def run(x, *tensor_keys):
        if tensor_keys:
            return x[tensor_keys[0]] if key is None else x[key(*tensor_keys)]
        return x[key]

    return run


add("Tensor.__getitem__", _getitem((slice(None, None, 2), 1)), N(5, 3), variant="basic")
add("Tensor.__getitem__", _getitem((Ellipsis, None, slice(-2, None))), N(2, 3, 4), variant="ellipsis_none")
add("Tensor.__getitem__", _getitem(slice(None, None, -1)), N(4), variant="negative_step")
add("Tensor.__getitem__", _getitem(None), N(3, 2), I([2, 0, 2]), variant="int_array_repeated")
add("Tensor.__getitem__", _getitem(lambda i, j: (i, j)), N(3, 4), I([0, 2, 2]), I([1, 1, 3]), variant="two_arrays")
add("Tensor.__getitem__", _getitem(lambda i: (slice(None), i)), N(2, 4), I([[3, 0], [1, 1]]),
    variant="slice_then_array")
add("Tensor.__getitem__", _getitem(None), N(2, 3), _MASK, variant="bool_mask")
add("Tensor.__getitem__", _getitem([1, 0, 1]), N(2, 3), variant="list")


def _setitem(key):
    def run(x, v, *tensor_keys):
        y = x.clone()
        k = key(*tensor_keys) if callable(key) else key
        y[k] = v
        return y

    return run


add("Tensor.__setitem__", _setitem((slice(1, None), slice(None, None, 2))), N(3, 4), N(2, 2), variant="slice")
add("Tensor.__setitem__", _setitem((0,)), N(3, 4), N(4), variant="int_broadcast_value")
add("Tensor.__setitem__", _setitem(lambda i: i), N(4, 2), N(2, 2), I([3, 0]), variant="int_array")
add("Tensor.__setitem__", _setitem(lambda m: m), N(2, 3), N(3), _MASK, variant="bool_mask")
add("Tensor.__setitem__", lambda x: (lambda y: (y.__setitem__((slice(None), 1), 0.5), y)[1])(x.clone()), N(2, 3),
    variant="scalar")

# -- in-place utilities -----------------------------------------------------------------------------------
add("Tensor.copy_", lambda x, y: x.clone().copy_(y), N(2, 3), N(3))
add("Tensor.zero_", lambda x: x.clone().zero_() + x, N(2, 3))
add("Tensor.fill_", lambda x: x.clone().fill_(2.0) + x, N(2, 3))
add("Tensor.fill_", lambda x, v: x.clone().fill_(v) * x, N(3), N(), variant="tensor_value")

# -- conversions: casts are identities on the value, so they pass the gradient back in the source dtype ------
add("Tensor.to", lambda x: x.to(lucid.float32).to(lucid.float64), GRID8(3), eps=0.125)
add("Tensor.to", lambda x: x.to(x.device, lucid.float64, copy=True), N(3), variant="copy")
add("Tensor.astype", lambda x: x.astype(lucid.float32).astype(lucid.float64), GRID8(3), eps=0.125)
add("Tensor.type", lambda x: x.type(lucid.float32).type(lucid.float64), GRID8(3), eps=0.125)
add("Tensor.float", lambda x: x.float().double(), GRID8(3), eps=0.125)
add("Tensor.half", lambda x: x.half().double(), GRID8(3), eps=0.125, needs="float16")
add("Tensor.double", lambda x: x.double() * 1, N(3))
add("Tensor.cpu", lambda x: x.cpu(), N(2, 3))  # a move from strict:N to the NumPy backend on the strict devices
add("Tensor.cuda", lambda x: x.cuda(), N(2, 3), needs="cuda")

# -- linear algebra ---------------------------------------------------------------------------------------
add("lucid.matmul", lucid.matmul, N(2, 1, 3, 2), N(3, 2, 4))
add("lucid.matmul", lucid.matmul, N(3), N(2, 3, 2), variant="vector_left")
add("lucid.matmul", lucid.matmul, N(2, 3), N(3), variant="vector_right")
add("lucid.matmul", lucid.matmul, N(3), N(3), variant="dot")
add("Tensor.matmul", lambda a, b: a.matmul(b), N(2, 3), N(3, 2))
add("lucid.mm", lucid.mm, N(2, 3), N(3, 4))
add("Tensor.mm", lambda a, b: a.mm(b), N(2, 3), N(3, 4))
add("lucid.bmm", lucid.bmm, N(2, 2, 3), N(2, 3, 2))
add("Tensor.bmm", lambda a, b: a.bmm(b), N(2, 2, 3), N(2, 3, 2))
add("lucid.dot", lucid.dot, N(4), N(4))
add("Tensor.dot", lambda a, b: a.dot(b), N(4), N(4))
add("lucid.outer", lucid.outer, N(3), N(2))
add("Tensor.outer", lambda a, b: a.outer(b), N(3), N(2))
add("lucid.tensordot", lambda a, b: lucid.tensordot(a, b, 1), N(2, 3), N(3, 2))
add("lucid.tensordot", lambda a, b: lucid.tensordot(a, b, ([0, 2], [1, 0])), N(2, 3, 2), N(2, 2, 3),
    variant="dim_lists")
add("lucid.einsum", lambda a, b: lucid.einsum("bij,bjk->bik", a, b), N(2, 2, 3), N(2, 3, 2))
add("lucid.einsum", lambda a: lucid.einsum("ii->i", a), N(3, 3), variant="diagonal")
add("lucid.einsum", lambda a, b: lucid.einsum("...i,i", a, b), N(2, 3), N(3), variant="ellipsis")
add("lucid.inverse", lucid.inverse, SQUARE(3))
add("Tensor.inverse", lambda a: a.inverse(), SQUARE(2, (2,)))
add("lucid.det", lucid.det, SQUARE(3))
add("Tensor.det", lambda a: a.det(), SQUARE(2, (2,)))
add("lucid.slogdet", lucid.slogdet, SQUARE(3))
add("Tensor.slogdet", lambda a: a.slogdet().logabsdet, SQUARE(2, (2,)))
add("lucid.norm", lucid.norm, N(2, 3))
add("lucid.norm", lambda x: lucid.norm(x, 1, dim=1), AWAY(2, 3), variant="p1_dim")
add("lucid.norm", lambda x: lucid.norm(x, 3, dim=(0, 1), keepdim=True), N(2, 3), variant="p3_keepdim")
add("lucid.norm", lambda x: lucid.norm(x, math.inf), DISTINCT(2, 3), variant="inf")
add("lucid.norm", lambda x: lucid.norm(x, "nuc"), N(3, 2), variant="nuc")
add("Tensor.norm", lambda x: x.norm(dim=-1), N(2, 3))
add("linalg.matmul", LA.matmul, N(2, 3), N(3, 2))
add("linalg.det", LA.det, SQUARE(2, (2,)))
add("linalg.slogdet", LA.slogdet, SQUARE(3))
add("linalg.inv", LA.inv, SQUARE(3, (2,)))
add("linalg.solve", LA.solve, SQUARE(3), N(3, 2))
add("linalg.solve", LA.solve, SQUARE(3, (2,)), N(3), variant="vector_rhs")
add("linalg.solve", lambda a, b: LA.solve(a, b, left=False), SQUARE(3), N(2, 3), variant="right")
# cholesky/qr/svd: made well-posed as torch's own gradchecks do (symmetric input; gauge-invariant outputs)
add("linalg.cholesky", lambda b: LA.cholesky(b @ b.mT + 3 * lucid.eye(3, dtype=b.dtype, device=b.device)), N(3, 3))
add("linalg.cholesky", lambda b: LA.cholesky(b @ b.mT + 3 * lucid.eye(2, dtype=b.dtype, device=b.device),
                                             upper=True), N(2, 2, 2), variant="upper_batched")
add("linalg.qr", LA.qr, N(4, 3))
add("linalg.qr", LA.qr, N(3, 3), variant="square")


def _svd_invariants(a):
    u, s, vh = LA.svd(a, full_matrices=False)
    return s, u * u, vh * vh, u @ vh  # sign flips of singular vectors cancel in each


add("linalg.svd", _svd_invariants, N(4, 3))
add("linalg.svd", _svd_invariants, N(2, 4), variant="wide")
add("linalg.svdvals", LA.svdvals, N(3, 4))
add("linalg.vecdot", lambda a, b: LA.vecdot(a, b, dim=0), N(3, 2), N(3, 1))
for _ord in (2, 1, math.inf, -math.inf, 0, 3, 0.5):
    dom = DISTINCT(2, 3) if math.isinf(_ord) else AWAY(2, 3)
    add("linalg.vector_norm", lambda x, o=_ord: LA.vector_norm(x, o, dim=-1), dom, variant=f"ord={_ord}")
add("linalg.vector_norm", lambda x: LA.vector_norm(x), N(2, 3), variant="all")
add("linalg.vector_norm", lambda x: LA.vector_norm(x, 2, (0, 2), keepdim=True), N(2, 3, 2), variant="dims_keepdim")
for _ord in ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf):
    add("linalg.matrix_norm", lambda x, o=_ord: LA.matrix_norm(x, o), DISTINCT(2, 3, 4, gap=0.137),
        variant=f"ord={_ord}")
add("linalg.matrix_norm", lambda x: LA.matrix_norm(x, 1, dim=(0, 2), keepdim=True), DISTINCT(3, 2, 4, gap=0.137),
    variant="dim_keepdim")
add("linalg.norm", LA.norm, N(2, 3, 2))
for _ord in (None, 1, math.inf, -1, 0.5):
    add("linalg.norm", lambda x, o=_ord: LA.norm(x, o, dim=1), DISTINCT(2, 3), variant=f"vector_dim_ord={_ord}")
for _ord in (None, "fro", "nuc", 2, -2, 1, math.inf):
    add("linalg.norm", lambda x, o=_ord: LA.norm(x, o, dim=(0, 2)), DISTINCT(3, 2, 3, gap=0.137),
        variant=f"matrix_dims_ord={_ord}")
add("linalg.norm", lambda x: LA.norm(x, 3), N(4), variant="1d_ord")
add("linalg.norm", lambda x: LA.norm(x, "nuc", keepdim=True), N(3, 2), variant="2d_ord_keepdim")

# -- nn.functional: activations ------------------------------------------------------------------------------
ACT = {
    "relu": (), "relu6": (), "leaky_relu": (0.2,), "elu": (0.7,), "selu": (), "celu": (1.3,), "silu": (),
    "swish": (), "mish": (), "softsign": (), "hardtanh": (-0.5, 0.8), "hardsigmoid": (), "hardswish": (),
    "sigmoid": (), "tanh": (), "logsigmoid": (), "threshold": (0.1, 20.0), "hardshrink": (0.3,),
    "softshrink": (0.3,), "tanhshrink": (), "gelu": (), "softplus": (),
}
_ACT_X = _float(lambda r: r.uniform(-4.5, 7.5, (3, 4)))  # through every piece of relu6, hardswish, ...
for _n, _args in ACT.items():
    _f = getattr(F, _n)
    add(f"F.{_n}", lambda x, f=_f, a=_args: f(x, *a), _ACT_X)
add("F.gelu", lambda x: F.gelu(x, approximate="tanh"), N(3, 4), variant="tanh")
add("F.softplus", lambda x: F.softplus(x, beta=2.0, threshold=3.0), _ACT_X, variant="beta_threshold")
for _n in ("relu", "relu6", "leaky_relu", "elu", "selu", "celu", "hardtanh", "threshold"):
    _f = getattr(F, f"{_n}_")
    add(f"F.{_n}_", lambda x, f=_f, a=ACT[_n]: f(x.clone(), *a), _ACT_X)
    _f = getattr(F, _n)
    add(f"F.{_n}", lambda x, f=_f, a=ACT[_n]: f(x.clone(), *a, inplace=True), _ACT_X, variant="inplace")
for _n in ("silu", "mish", "hardsigmoid", "hardswish"):
    _f = getattr(F, _n)
    add(f"F.{_n}", lambda x, f=_f: f(x.clone(), inplace=True), _ACT_X, variant="inplace")
add("F.rrelu", lambda x: F.rrelu(x, 0.1, 0.3), _ACT_X)
add("F.rrelu", seeded(lambda x: F.rrelu(x, 0.1, 0.3, training=True)), _ACT_X, variant="training")
add("F.rrelu_", seeded(lambda x: F.rrelu_(x.clone(), 0.1, 0.3, training=True)), _ACT_X)
add("F.prelu", F.prelu, N(2, 3, 2), P(3))
add("F.prelu", F.prelu, N(2, 3), P(1), variant="one_weight")
add("F.glu", lambda x: F.glu(x, 0), N(4, 3))
for _n in ("softmax", "log_softmax", "softmin"):
    _f = getattr(F, _n)
    add(f"F.{_n}", lambda x, f=_f: f(x, dim=1), N(2, 3, 2))
add("F.gumbel_softmax", seeded(lambda x: F.gumbel_softmax(x, tau=0.7)), N(2, 4))

# -- linear, dropout, embedding -------------------------------------------------------------------------------
add("F.linear", F.linear, N(2, 3), N(4, 3), N(4))
add("F.linear", F.linear, N(2, 2, 3), N(2, 3), variant="no_bias_batched")
add("F.bilinear", F.bilinear, N(2, 3), N(2, 2), N(4, 3, 2), N(4))
DROPOUT_SHAPE = {"dropout": (3, 4), "dropout1d": (2, 3, 3), "dropout2d": (2, 3, 2, 2), "dropout3d": (3, 2, 2, 2),
                 "alpha_dropout": (3, 4), "feature_alpha_dropout": (2, 3, 2)}
for _n, _shape in DROPOUT_SHAPE.items():
    _f = getattr(F, _n)
    add(f"F.{_n}", seeded(lambda x, f=_f: f(x, 0.4, training=True)), N(*_shape))
    _f = getattr(F, _n)
    add(f"F.{_n}", seeded(lambda x, f=_f: f(x.clone(), 0.4, training=True, inplace=True)), N(*_shape),
        variant="inplace")
add("F.dropout", lambda x: F.dropout(x, 0.4, training=False), N(3), variant="eval")
add("F.drop_path", seeded(lambda x: F.drop_path(x, 0.5)), N(4, 2, 2))
add("F.drop_block", seeded(lambda x: F.drop_block(x, 2, 0.3)), N(1, 2, 4, 4))
add("F.embedding", lambda i, w: F.embedding(i, w), I([[0, 2, 2], [4, 1, 0]]), N(5, 3))
# the padding row gets no gradient by design (as torch): it is held constant here, so the check is fair
add("F.embedding", lambda i, w, pad: F.embedding(i, lucid.cat([w[:2], pad, w[2:]]), padding_idx=2),
    I([[0, 2, 2], [4, 1, 0]]), N(4, 3), CONST(N(1, 3)), variant="padding_idx")
for _mode in ("sum", "mean", "max"):
    add("F.embedding_bag", lambda i, o, w, m=_mode: F.embedding_bag(i, w, o, mode=m), I([0, 2, 2, 4, 1, 3]),
        I([0, 2, 2]), DISTINCT(5, 3), variant=_mode)
add("F.embedding_bag", lambda i, w, s: F.embedding_bag(i, w, mode="sum", per_sample_weights=s),
    I([[0, 2], [4, 1]]), N(5, 3), N(2, 2), variant="per_sample_weights")

# -- losses -------------------------------------------------------------------------------------------------
for _n in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
    add(f"F.{_n}", getattr(F, _n), N(3, 4), N(3, 4))
    _f = getattr(F, _n)
    add(f"F.{_n}", lambda a, b, f=_f: f(a, b, reduction="none"), N(3, 2), N(3, 2), variant="none")
add("F.mse_loss", lambda a, b, w: F.mse_loss(a, b, weight=w), N(3, 2), N(3, 2), P(3, 2), variant="weight")
add("F.l1_loss", lambda a, b, w: F.l1_loss(a, b, reduction="sum", weight=w), N(3, 2), N(3, 2), P(3, 2),
    variant="weight")
add("F.huber_loss", lambda a, b, w: F.huber_loss(a, b, weight=w), N(3, 2), N(3, 2), P(3, 2), variant="weight")
add("F.smooth_l1_loss", lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), N(3, 4), N(3, 4), variant="beta")
add("F.huber_loss", lambda a, b: F.huber_loss(a, b, delta=0.5, reduction="sum"), N(3, 4), N(3, 4), variant="delta")
_TGT = I([2, 0, 3, 1])
add("F.cross_entropy", F.cross_entropy, N(4, 5), _TGT)
add("F.cross_entropy", lambda x, t, w: F.cross_entropy(x, t, weight=w, ignore_index=3, label_smoothing=0.2), N(4, 5),
    _TGT, CONST(P(5)), variant="weight_ignore_smoothing")
add("F.cross_entropy", lambda x, t: F.cross_entropy(x, t, reduction="none"), N(2, 4, 3), I([[0, 3, 1], [2, 2, 0]]),
    variant="spatial_none")
add("F.cross_entropy", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1), N(3, 4), SIMPLEX(3, 4),
    variant="probabilities")
add("F.nll_loss", F.nll_loss, N(4, 5), _TGT)
add("F.nll_loss", lambda x, t, w: F.nll_loss(x, t, weight=w, ignore_index=0, reduction="sum"), N(4, 5), _TGT,
    CONST(P(5)), variant="weight_ignore")
add("F.binary_cross_entropy", F.binary_cross_entropy, PROB(3, 2), CONST(PROB(3, 2)))
add("F.binary_cross_entropy", lambda p, t, w: F.binary_cross_entropy(p, t, w, reduction="sum"), PROB(3, 2),
    CONST(PROB(3, 2)), CONST(P(2)), variant="weight")
add("F.binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits, N(3, 2), PROB(3, 2))
add("F.binary_cross_entropy_with_logits",
    lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, w, pos_weight=pw), N(3, 2), PROB(3, 2),
    CONST(P(3, 1)), CONST(P(2)), variant="weight_pos_weight")
add("F.kl_div", lambda x, t: F.kl_div(x, t, reduction="batchmean"), N(3, 4), SIMPLEX(3, 4))
add("F.kl_div", lambda x, t: F.kl_div(x, t, log_target=True), N(3, 4), N(3, 4), variant="log_target")
add("F.poisson_nll_loss", F.poisson_nll_loss, N(3, 2), P(3, 2))
add("F.poisson_nll_loss", lambda x, t: F.poisson_nll_loss(x, t, log_input=False, full=True), P(3, 2),
    CONST(P(3, 2, lo=2.0, hi=4.0)), variant="not_log_full")
add("F.gaussian_nll_loss", F.gaussian_nll_loss, N(3, 2), N(3, 2), P(3, 2))
add("F.gaussian_nll_loss", lambda x, t, v: F.gaussian_nll_loss(x, t, v, full=True), N(3, 2), N(3, 2), P(3, 1),
    variant="full_broadcast_var")
add("F.cosine_embedding_loss", lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=0.1), N(4, 3), N(4, 3),
    I([1, -1, 1, -1]))
add("F.margin_ranking_loss", lambda a, b, y: F.margin_ranking_loss(a, b, y, margin=0.1), N(4), N(4), I([1, -1, 1, -1]))
add("F.hinge_embedding_loss", lambda x, y: F.hinge_embedding_loss(x, y, margin=1.5), N(2, 3),
    I([[1, -1, 1], [-1, -1, 1]]))
add("F.triplet_margin_loss", lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=5.0), N(3, 4), N(3, 4), N(3, 4))
add("F.triplet_margin_loss", lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=5.0, p=1, swap=True), AWAY(3, 4),
    AWAY(3, 4), N(3, 4), variant="p1_swap")
add("F.triplet_margin_with_distance_loss",
    lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, margin=5.0), N(3, 4), N(3, 4), N(3, 4))
add("F.triplet_margin_with_distance_loss",
    lambda a, p, n: F.triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v), margin=5.0, swap=True),
    N(3, 4), N(3, 4), N(3, 4), variant="custom_distance_swap")
add("F.multi_margin_loss", lambda x, t: F.multi_margin_loss(x, t, margin=5.0), N(3, 4), I([0, 3, 1]))
add("F.multi_margin_loss", lambda x, t, w: F.multi_margin_loss(x, t, p=2, margin=5.0, weight=w), N(3, 4),
    I([0, 3, 1]), CONST(P(4)), variant="p2_weight")
add("F.multilabel_margin_loss", lambda x, t: F.multilabel_margin_loss(x, t), N(2, 4), I([[3, 0, -1, 1], [1, -1, 0, 0]]))
add("F.soft_margin_loss", F.soft_margin_loss, N(2, 3), I([[1, -1, 1], [-1, -1, 1]]))
add("F.multilabel_soft_margin_loss", F.multilabel_soft_margin_loss, N(2, 3), I([[1, 0, 1], [0, 0, 1]]))
add("F.multilabel_soft_margin_loss", lambda x, t, w: F.multilabel_soft_margin_loss(x, t, w), N(2, 3),
    I([[1, 0, 1], [0, 0, 1]]), CONST(P(3)), variant="weight")
add("F.ctc_loss", lambda x, t: F.ctc_loss(x.log_softmax(-1), t, [5, 4], [2, 1]), N(5, 2, 3), I([[1, 2], [1, 0]]))
add("F.ctc_loss", lambda x, t: F.ctc_loss(x.log_softmax(-1), t, [4], [2], blank=2, reduction="sum"), N(4, 3),
    I([0, 0]), variant="unbatched_repeat")
add("F.pairwise_distance", F.pairwise_distance, N(3, 4), N(3, 4))
add("F.pairwise_distance", lambda a, b: F.pairwise_distance(a, b, p=1, keepdim=True), AWAY(3, 4), CONST(N(4)),
    variant="p1_keepdim_broadcast")
add("F.pairwise_distance", lambda a, b: F.pairwise_distance(a, b, p=math.inf), DISTINCT(2, 3), CONST(N(2, 3)),
    variant="inf")
add("F.cosine_similarity", F.cosine_similarity, N(3, 4), N(3, 4))
add("F.cosine_similarity", lambda a, b: F.cosine_similarity(a, b, dim=-1), N(2, 1, 3), N(4, 3),
    variant="broadcast")

# -- convolution -----------------------------------------------------------------------------------------------
add("F.conv1d", F.conv1d, N(2, 2, 5), N(3, 2, 2), N(3))
add("F.conv1d", lambda x, w: F.conv1d(x, w, stride=2, padding=1, dilation=2, groups=2), N(1, 4, 6), N(2, 2, 2),
    variant="stride_pad_dil_groups")
add("F.conv1d", lambda x, w: F.conv1d(x, w, padding="same"), N(1, 2, 5), N(2, 2, 3), variant="same")
add("F.conv2d", F.conv2d, N(1, 2, 4, 3), N(2, 2, 2, 2), N(2))
add("F.conv2d", lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
    N(1, 2, 4, 5), N(2, 1, 2, 2), variant="stride_pad_dil_groups")
add("F.conv3d", F.conv3d, N(1, 1, 3, 3, 3), N(2, 1, 2, 2, 2), N(2))
add("F.conv3d", lambda x, w: F.conv3d(x, w, stride=2, padding=1), N(1, 2, 2, 3, 2), N(1, 2, 2, 1, 2),
    variant="stride_pad")
add("F.conv_transpose1d", F.conv_transpose1d, N(1, 2, 3), N(2, 3, 2), N(3))
add("F.conv_transpose1d", lambda x, w: F.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1, groups=2,
                                                          dilation=2), N(1, 4, 3), N(4, 1, 2),
    variant="stride_pad_outpad_groups_dil")
add("F.conv_transpose2d", F.conv_transpose2d, N(1, 2, 2, 3), N(2, 1, 2, 2), N(1))
add("F.conv_transpose2d", lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
    N(1, 1, 3, 2), N(1, 2, 3, 2), variant="stride_pad_outpad")
add("F.conv_transpose3d", F.conv_transpose3d, N(1, 1, 2, 2, 2), N(1, 2, 2, 1, 2), N(2))
add("F.unfold", lambda x: F.unfold(x, 2, padding=1, stride=2), N(1, 2, 3, 3))
add("F.unfold", lambda x: F.unfold(x, (2, 1), dilation=(1, 2)), N(2, 1, 3, 4), variant="dilation")
add("F.fold", lambda x: F.fold(x, (3, 3), 2), N(1, 8, 4))
add("F.fold", lambda x: F.fold(x, (4, 3), (2, 2), padding=1, stride=2), N(2, 4, 6), variant="pad_stride")

# -- pooling (distinct inputs: no ties at the maxima) ----------------------------------------------------------------
add("F.max_pool1d", lambda x: F.max_pool1d(x, 2), DISTINCT(2, 2, 5))
add("F.max_pool1d", lambda x: F.max_pool1d(x, 3, stride=2, padding=1, dilation=1, ceil_mode=True,
                                           return_indices=True), DISTINCT(1, 2, 6), variant="pad_ceil_indices")
add("F.max_pool2d", lambda x: F.max_pool2d(x, 2), DISTINCT(1, 2, 4, 4))
add("F.max_pool2d", lambda x: F.max_pool2d(x, (2, 3), stride=1, padding=1, dilation=(2, 1)), DISTINCT(1, 1, 4, 5),
    variant="pad_dilation")
add("F.max_pool3d", lambda x: F.max_pool3d(x, 2, stride=1), DISTINCT(1, 1, 3, 3, 3))
add("F.avg_pool1d", lambda x: F.avg_pool1d(x, 3, stride=2, padding=1), N(2, 2, 5))
add("F.avg_pool1d", lambda x: F.avg_pool1d(x, 2, ceil_mode=True, count_include_pad=False), N(1, 2, 5),
    variant="ceil_exclude_pad")
add("F.avg_pool2d", lambda x: F.avg_pool2d(x, 2), N(1, 2, 4, 4))
add("F.avg_pool2d", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False, divisor_override=None),
    N(1, 1, 5, 4), variant="pad_exclude")
add("F.avg_pool2d", lambda x: F.avg_pool2d(x, 2, divisor_override=3), N(1, 1, 4, 4), variant="divisor_override")
add("F.avg_pool3d", lambda x: F.avg_pool3d(x, 2, stride=1), N(1, 1, 3, 3, 2))
add("F.adaptive_avg_pool1d", lambda x: F.adaptive_avg_pool1d(x, 3), N(2, 2, 5))
add("F.adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (2, 3)), N(1, 2, 5, 4))
add("F.adaptive_avg_pool3d", lambda x: F.adaptive_avg_pool3d(x, 2), N(1, 1, 3, 3, 3))
add("F.adaptive_max_pool1d", lambda x: F.adaptive_max_pool1d(x, 3), DISTINCT(2, 2, 5))
add("F.adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (2, 3), return_indices=True), DISTINCT(1, 2, 5, 4))
add("F.adaptive_max_pool3d", lambda x: F.adaptive_max_pool3d(x, 2), DISTINCT(1, 1, 3, 3, 3))
add("F.lp_pool1d", lambda x: F.lp_pool1d(x, 2, 2), N(2, 2, 4))
add("F.lp_pool2d", lambda x: F.lp_pool2d(x, 3, (2, 2), stride=1), P(1, 2, 3, 3))
add("F.lp_pool3d", lambda x: F.lp_pool3d(x, 2, 2), N(1, 1, 2, 2, 4))

# -- normalization -----------------------------------------------------------------------------------------------
add("F.batch_norm", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), N(3, 2, 2), N(2), N(2))
add("F.batch_norm", lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b), N(3, 2, 2), CONST(N(2)), CONST(P(2)), N(2),
    N(2), variant="eval")
add("F.batch_norm", lambda x: F.batch_norm(x, None, None, training=True, eps=1e-3), N(4, 2), variant="2d_no_affine")
add("F.instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b), N(2, 2, 4), N(2), N(2))
add("F.layer_norm", lambda x, w, b: F.layer_norm(x, (2, 3), w, b), N(2, 2, 3), N(2, 3), N(2, 3))
add("F.layer_norm", lambda x: F.layer_norm(x, (3,)), N(2, 3), variant="no_affine")
add("F.group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), N(2, 4, 3), N(4), N(4))
add("F.rms_norm", lambda x, w: F.rms_norm(x, (3,), w), N(2, 3), N(3))
add("F.rms_norm", lambda x: F.rms_norm(x, (2, 3), eps=1e-3), N(2, 2, 3), variant="no_weight_eps")
add("F.local_response_norm", lambda x: F.local_response_norm(x, 3, alpha=0.1), N(2, 4, 3))
add("F.normalize", F.normalize, N(3, 4))
add("F.normalize", lambda x: F.normalize(x, p=1, dim=0), AWAY(3, 4), variant="p1_dim0")

# -- resampling --------------------------------------------------------------------------------------------------
add("F.pad", lambda x: F.pad(x, (1, 1, 2, 0), value=-1.0), N(1, 2, 3))
for _mode in ("reflect", "replicate", "circular"):
    add("F.pad", lambda x, m=_mode: F.pad(x, (2, 1, 1, 0), mode=m), N(1, 2, 3, 3), variant=_mode)
INTERP = [
    ("nearest", (1, 2, 3), dict(scale_factor=2)), ("nearest-exact", (1, 1, 4), dict(size=6)),
    ("linear", (1, 2, 4), dict(size=7)), ("linear", (1, 1, 4), dict(scale_factor=1.5, align_corners=True)),
    ("bilinear", (1, 1, 3, 3), dict(size=(4, 5))), ("bilinear", (1, 1, 3, 2), dict(scale_factor=2, align_corners=True)),
    ("bicubic", (1, 1, 4, 4), dict(size=(5, 3))), ("trilinear", (1, 1, 2, 3, 2), dict(scale_factor=2)),
    ("area", (1, 2, 5, 4), dict(size=(2, 3))), ("nearest", (1, 1, 2, 2, 3), dict(size=(3, 3, 2))),
]
for _mode, _shape, _kw in INTERP:
    add("F.interpolate", lambda x, m=_mode, kw=_kw: F.interpolate(x, mode=m, **kw), N(*_shape),
        variant=f"{_mode}_{len(_shape) - 2}d_{'_'.join(f'{k}={v}' for k, v in _kw.items())}")
add("F.pixel_shuffle", lambda x: F.pixel_shuffle(x, 2), N(1, 4, 2, 3))
add("F.pixel_unshuffle", lambda x: F.pixel_unshuffle(x, 2), N(1, 1, 4, 2))
add("F.affine_grid", lambda t: F.affine_grid(t, (2, 1, 3, 2), align_corners=False), N(2, 2, 3))
add("F.affine_grid", lambda t: F.affine_grid(t, (1, 1, 2, 2, 3), align_corners=True), N(1, 3, 4), variant="3d")
_GRID = U(1, 3, 2, 2, lo=-0.95, hi=0.95)
add("F.grid_sample", lambda x, g: F.grid_sample(x, g, align_corners=False), N(1, 2, 3, 4), _GRID)
add("F.grid_sample", lambda x, g: F.grid_sample(x, g, padding_mode="border", align_corners=True), N(1, 1, 3, 3),
    U(1, 2, 2, 2, lo=-1.3, hi=1.3), variant="border")
add("F.grid_sample", lambda x, g: F.grid_sample(x, g, padding_mode="reflection"), N(1, 1, 3, 3),
    U(1, 2, 2, 2, lo=-1.3, hi=1.3), variant="reflection")
add("F.grid_sample", lambda x, g: F.grid_sample(x, g, mode="nearest"), N(1, 1, 3, 3), CONST(_GRID), variant="nearest")
add("F.grid_sample", lambda x, g: F.grid_sample(x, g, mode="bicubic", align_corners=True), N(1, 1, 4, 4), _GRID,
    variant="bicubic")
add("F.grid_sample", lambda x, g: F.grid_sample(x, g), N(1, 1, 2, 2, 3), U(1, 2, 1, 2, 3, lo=-0.95, hi=0.95),
    variant="3d")

# -- attention -----------------------------------------------------------------------------------------------------
add("F.scaled_dot_product_attention", F.scaled_dot_product_attention, N(2, 3, 2), N(2, 4, 2), N(2, 4, 3))
add("F.scaled_dot_product_attention", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                                                      scale=0.7),
    N(1, 3, 2), N(1, 3, 2), N(1, 3, 2), variant="causal_scale")
add("F.scaled_dot_product_attention", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
    N(1, 2, 2), N(1, 3, 2), N(1, 3, 2), B([[True, False, True], [True, True, False]]), variant="bool_mask")
add("F.scaled_dot_product_attention", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
    N(1, 2, 2), N(1, 3, 2), N(1, 3, 2), N(2, 3), variant="float_mask")
add("F.scaled_dot_product_attention", seeded(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)),
    N(1, 3, 2), N(1, 3, 2), N(1, 3, 2), variant="dropout")
add("F.scaled_dot_product_attention", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
    N(4, 2, 2), N(2, 3, 2), N(2, 3, 2), variant="gqa")
# the attention weights as an output too (MultiheadAttention's need_weights): only they, or both, get a gradient
add("F.scaled_dot_product_attention", lambda q, k, v: _attention(q, k, v)[1], N(2, 3, 2), N(2, 4, 2), N(2, 4, 3),
    variant="weights_only")
add("F.scaled_dot_product_attention", lambda q, k, v: (lambda o, w: o.sum(dim=-1, keepdim=True) * w)(
    *_attention(q, k, v)), N(2, 3, 2), N(2, 4, 2), N(2, 4, 3), variant="output_and_weights")
add("F.scaled_dot_product_attention", seeded(lambda q, k, v: (lambda o, w: o.sum(dim=-1, keepdim=True) * w)(
    *_attention(q, k, v, dropout_p=0.3))), N(1, 3, 2), N(1, 3, 2), N(1, 3, 2), variant="output_and_weights_dropout")
add("F.multi_head_attention_forward", lambda q, k, v, w, b, wo: (lambda o, a: o.sum() * a)(
    *F.multi_head_attention_forward(q, k, v, 4, 2, w, b, None, None, False, 0.0, wo, None)),
    N(3, 1, 4), N(2, 1, 4), N(2, 1, 4), N(12, 4), N(12), N(4, 4))


# -- the families kept in their own files: gradcheck_cases_<family>.py next to this one ------------------------------
FAMILY_MODULES = [importlib.import_module(f.stem)
                  for f in sorted(pathlib.Path(__file__).parent.glob("gradcheck_cases_*.py"))]


@pytest.mark.parametrize(("cid", "fn", "specs", "gc", "needs"), CASES)
def test_gradcheck(cid, fn, specs, gc, needs, device):
    if needs == "cuda" and not lucid.cuda.is_available():
        pytest.skip("needs a CUDA device")
    if needs in ("float16", "bfloat16"):
        try:
            lucid.zeros(1, dtype=getattr(lucid, needs), device=device)
        except TypeError:
            pytest.skip(f"{device} has no {needs}")
    rng = np.random.default_rng(zlib.crc32(cid.encode()))
    inputs = [make(rng, device) for make in specs]
    assert gradcheck(fn, inputs, **gc)


@pytest.mark.parametrize(("cid", "fn", "specs", "gc", "needs"), CASES)
def test_first_order_backward_matches_recorded_backward(cid, fn, specs, gc, needs, device):
    """gradcheck above checks the first-order pass (each node's ``vjp``, on raw arrays); with ``create_graph``
    the engine runs each node's ``backward`` on Tensors instead: both must give the same gradients."""
    if needs is not None:
        pytest.skip(f"needs {needs}: checked by test_gradcheck")
    rng = np.random.default_rng(zlib.crc32(cid.encode()))
    inputs = [make(rng, device) for make in specs]
    wrt = [t for t in inputs if isinstance(t, lucid.Tensor) and t.requires_grad]
    outs = fn(*inputs)
    outs = [o for o in (outs if isinstance(outs, (tuple, list)) else [outs])
            if isinstance(o, lucid.Tensor) and o.requires_grad and o.dtype.kind == "f"]
    if not outs:
        pytest.skip("no differentiable output")
    cotangents = [lucid.tensor(rng.standard_normal(o.shape), dtype=o.dtype, device=o.device) for o in outs]
    first = lucid.autograd.grad(outs, wrt, cotangents, retain_graph=True, allow_unused=True)
    try:
        recorded = lucid.autograd.grad(outs, wrt, cotangents, create_graph=True, allow_unused=True)
    except RuntimeError as error:
        if "double backward" in str(error) or "differentiate twice" in str(error):
            pytest.skip(f"no recorded backward: {error}")
        raise
    for a, b in zip(first, recorded):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a.numpy(force=True), b.detach().numpy(force=True), rtol=1e-9, atol=1e-12)


# ---- completeness ------------------------------------------------------------------------------------------------

# Public names that are not differentiable, by reading the code: their outputs are integers or bools,
# constants that do not depend on a float input, or they are not operations on tensors at all.
NOT_DIFFERENTIABLE = {
    # creation and random sampling: no tensor input to differentiate (the *_like ones read only the shape)
    *(f"lucid.{n}" for n in ("full", "zeros", "ones", "empty", "eye", "arange", "linspace", "zeros_like", "ones_like",
                             "empty_like", "full_like", "rand", "randn", "uniform", "normal", "randint", "randperm",
                             "rand_like", "randn_like", "tensor")),
    # comparisons, logical and bitwise ops, floor division: bool or integer results, built by _nondiff
    *(f"{ns}.{n}" for ns in ("lucid", "Tensor") for n in (
        "eq", "ne", "lt", "le", "gt", "ge", "floor_divide", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
        "logical_and", "logical_or", "logical_xor", "logical_not")),
    *(f"Tensor.__{n}__" for n in ("eq", "ne", "lt", "le", "gt", "ge", "invert", "floordiv", "rfloordiv", "ifloordiv",
                                  "and", "rand", "iand", "or", "ror", "ior", "xor", "rxor", "ixor")),
    # integer results: indices and counts; truth tests
    *(f"{ns}.{n}" for ns in ("lucid", "Tensor") for n in ("argmax", "argmin", "argsort", "nonzero", "unique", "any",
                                                          "all")),
    "F.one_hot",  # int64 one-hot codes of an integer tensor
    # casts to integer or bool dtypes: the result has no gradient
    *(f"Tensor.{n}" for n in ("bool", "byte", "char", "short", "int", "long")),
    # linalg's exception and result types (classes, not operations)
    "linalg.LinAlgError", "linalg.QRResult", "linalg.SlogdetResult", "linalg.SVDResult",
    # not operations: top-level utilities (devices, dtypes, grad mode, seeding, files, method registration)
    *(f"lucid.{n}" for n in ("device", "get_default_dtype", "set_default_dtype", "is_grad_enabled", "load", "save",
                             "manual_seed", "register_backend", "register_methods")),
    # Tensor metadata, host conversion and Python protocols (no new tensor in the graph)
    *(f"Tensor.{n}" for n in (
        "shape", "ndim", "dim", "dtype", "device", "is_cuda", "xp", "size", "numel", "is_floating_point",
        "element_size", "nbytes", "is_leaf", "grad_fn", "grad", "data", "requires_grad", "retains_grad", "item",
        "tolist", "numpy", "__array__", "__dlpack__", "__dlpack_device__", "__float__", "__int__", "__index__",
        "__bool__", "__len__", "__hash__", "__repr__", "__reduce_ex__", "__deepcopy__", "__init__",
        "__array_namespace__", "__array_priority__")),
    # autograd controls: they manage the graph rather than compute on the tensor
    *(f"Tensor.{n}" for n in ("backward", "detach", "detach_", "requires_grad_", "register_hook", "retain_grad")),
}
for _module in FAMILY_MODULES:
    NOT_DIFFERENTIABLE |= getattr(_module, "NOT_DIFFERENTIABLE", set())


def _stub_methods() -> set[str]:
    """The public and dunder attributes of ``class Tensor`` in ``lucid/_tensor.pyi``."""
    tree = ast.parse((pathlib.Path(lucid.__file__).parent / "_tensor.pyi").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor")
    names = set()
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {n for n in names if not n.startswith("_") or (n.startswith("__") and n.endswith("__"))}


def _top_level_names() -> set[str]:
    """``lucid.__all__`` when lucid defines one, else the public functions of the ``lucid`` namespace."""
    names = getattr(lucid, "__all__", None)
    if names is None:
        names = [n for n in dir(lucid) if not n.startswith("_")]
    out = set()
    for n in names:
        obj = getattr(lucid, n)
        if isinstance(obj, (types.ModuleType, lucid.DType)) or inspect.isclass(obj) or not callable(obj):
            continue  # submodules, dtypes, classes (Tensor, Device, ...), constants
        out.add(n)
    return out


NAMESPACES = ("special", "fft")  # further namespaces whose __all__ counts, as ``special.erfc``


def public_names() -> set[str]:
    return ({f"lucid.{n}" for n in _top_level_names()} | {f"lucid.{n}" for n in lucid.ops.__all__}
            | {f"linalg.{n}" for n in LA.__all__} | {f"F.{n}" for n in F.__all__}
            | {f"Tensor.{n}" for n in _stub_methods()}
            | {f"{ns}.{n}" for ns in NAMESPACES if hasattr(lucid, ns) for n in getattr(lucid, ns).__all__})


def test_every_differentiable_public_name_has_a_case():
    names = public_names()
    missing = sorted(names - COVERED - NOT_DIFFERENTIABLE)
    assert not missing, f"differentiable public names without a gradcheck case: {missing}"


def test_table_and_exclusions_name_real_public_names():
    names = public_names()
    # a Tensor method added since the stub was last generated still counts as real
    stale = sorted(n for n in (COVERED | NOT_DIFFERENTIABLE) - names
                   if not (n.startswith("Tensor.") and hasattr(lucid.Tensor, n[len("Tensor."):])))
    assert not stale, f"names in the table or the exclusion list that are not public (any more): {stale}"
    assert not COVERED & NOT_DIFFERENTIABLE, sorted(COVERED & NOT_DIFFERENTIABLE)
