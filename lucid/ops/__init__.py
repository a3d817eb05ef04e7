"""Differentiable operations, written once against the array API (``xp``).

Each family has its own file: ``arithmetic`` (binary elementwise), ``elementwise`` (unary
math), ``reduction``, ``shape``, ``indexing``, ``linalg``, ``softmax``, ``creation``
(factories and random), ``conversion`` (device/dtype moves), ``inplace``.
"""

from __future__ import annotations

from . import arithmetic, creation, elementwise, methods, reduction, shape
from .arithmetic import *  # noqa: F401,F403
from .creation import *  # noqa: F401,F403
from .elementwise import FUNCTIONS as _UNARY
from .elementwise import clamp, clip  # noqa: F401
from .reduction import mean, sum  # noqa: F401
from .shape import broadcast_to, expand, reshape, view  # noqa: F401

globals().update(_UNARY)

# Tensor methods: name -> function taking the tensor first
TENSOR_METHODS = dict(_UNARY)
TENSOR_METHODS.update({
    "__neg__": _UNARY["neg"], "__abs__": _UNARY["abs"], "negative": _UNARY["neg"],
    "arcsin": _UNARY["asin"], "arccos": _UNARY["acos"], "arctan": _UNARY["atan"],
    "clamp": clamp, "clip": clip, "sum": reduction.sum, "mean": reduction.mean,
    "reshape": shape.reshape, "view": shape.view, "expand": shape.expand, "broadcast_to": shape.broadcast_to,
})
INPLACE_FORMS = [*_UNARY, "clamp", "clip"]

methods.install(TENSOR_METHODS, INPLACE_FORMS)
