"""The table that turns lucid functions into Tensor methods and operators."""

from __future__ import annotations

from .._tensor import Tensor
from . import arithmetic as A
from . import inplace as I


def _swap(fn):
    def reflected(self, other):
        return fn(other, self)

    reflected.__name__ = f"r{fn.__name__}"
    return reflected


def _install(table: dict) -> None:
    for name, fn in table.items():
        setattr(Tensor, name, fn)


OPERATORS = {
    "__add__": A.add, "__radd__": _swap(A.add), "__sub__": A.sub, "__rsub__": _swap(A.sub),
    "__mul__": A.mul, "__rmul__": _swap(A.mul), "__truediv__": A.div, "__rtruediv__": _swap(A.div),
    "__pow__": A.pow, "__rpow__": _swap(A.pow), "__mod__": A.remainder, "__rmod__": _swap(A.remainder),
    "__floordiv__": A.floor_divide, "__rfloordiv__": _swap(A.floor_divide),
    "__eq__": A.eq, "__ne__": A.ne, "__lt__": A.lt, "__le__": A.le, "__gt__": A.gt, "__ge__": A.ge,
    "__invert__": A.bitwise_not, "__and__": A.bitwise_and, "__rand__": _swap(A.bitwise_and), "__or__": A.bitwise_or,
    "__ror__": _swap(A.bitwise_or), "__xor__": A.bitwise_xor, "__rxor__": _swap(A.bitwise_xor),
    "__iadd__": I.inplace(A.add, "__iadd__"), "__isub__": I.inplace(A.sub, "__isub__"),
    "__imul__": I.inplace(A.mul, "__imul__"), "__itruediv__": I.inplace(A.div, "__itruediv__"),
    "__ipow__": I.inplace(A.pow, "__ipow__"), "__imod__": I.inplace(A.remainder, "__imod__"),
    "__ifloordiv__": I.inplace(A.floor_divide, "__ifloordiv__"),
    "__iand__": I.inplace(A.bitwise_and, "__iand__"), "__ior__": I.inplace(A.bitwise_or, "__ior__"),
    "__ixor__": I.inplace(A.bitwise_xor, "__ixor__"),
}

BINARY_METHODS = {
    "add": A.add, "sub": A.sub, "subtract": A.sub, "mul": A.mul, "multiply": A.mul, "div": A.div,
    "divide": A.div, "true_divide": A.div, "pow": A.pow, "maximum": A.maximum, "minimum": A.minimum,
    "atan2": A.atan2, "arctan2": A.atan2, "remainder": A.remainder, "floor_divide": A.floor_divide,
    "eq": A.eq, "ne": A.ne, "lt": A.lt, "le": A.le, "gt": A.gt, "ge": A.ge,
    "logical_and": A.logical_and, "logical_or": A.logical_or, "logical_xor": A.logical_xor,
    "bitwise_and": A.bitwise_and, "bitwise_or": A.bitwise_or, "bitwise_xor": A.bitwise_xor,
    "bitwise_not": A.bitwise_not, "logical_not": A.logical_not,
}

INPLACE_METHODS = {
    f"{name}_": I.inplace(fn, f"{name}_")
    for name, fn in BINARY_METHODS.items()
    if name in ("add", "sub", "mul", "div", "pow", "remainder", "maximum", "minimum", "atan2")
}
INPLACE_METHODS.update({"zero_": I.zero_, "fill_": I.fill_, "copy_": I.copy_})


def install(functions: dict, inplace_forms=()) -> None:
    """Attach operators, binary methods, ``functions`` as methods, and ``name_`` in-place
    forms for the names in ``inplace_forms``."""
    _install(OPERATORS)
    _install(BINARY_METHODS)
    _install(INPLACE_METHODS)
    _install(functions)
    for name in inplace_forms:
        setattr(Tensor, f"{name}_", I.inplace(functions[name], f"{name}_"))
