"""PyTorch's ``torch._foreach_*`` list operations: one operation applied to each tensor of a list, as EMA helpers
(timm's ``ModelEmaV3``, ``ema-pytorch``) and hand-written multi-tensor optimizers call them.

Each other argument is either a list (or tuple) with one item per tensor (tensors or numbers) or one number or
tensor given to every tensor. Out-of-place forms (``_foreach_add``) return a tuple of new tensors and are
differentiable as the per-tensor operation is; in-place forms (``_foreach_add_``) update the tensors and return
the list they were given, as PyTorch's. lucid runs the per-tensor operation in a loop: there is no fused
multi-tensor kernel, so the results are PyTorch's and only the speed differs.
"""

from __future__ import annotations

import numbers

from ._tensor import Tensor
from .ops.arithmetic import pow as _pow
from .ops.linalg import vector_norm

_UNARY = ("abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1", "floor", "frac",
          "lgamma", "log", "log10", "log1p", "log2", "neg", "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sin",
          "sinh", "sqrt", "tan", "tanh", "trunc")
_WITH_OPERANDS = ("add", "sub", "mul", "div", "maximum", "minimum", "clamp_min", "clamp_max", "pow", "lerp",
                  "addcmul", "addcdiv")

__all__ = ["_foreach_norm", "_foreach_max", "_foreach_clone", "_foreach_copy_", "_foreach_zero_"]


def _tensors(tensors) -> list:
    if not isinstance(tensors, (list, tuple)) or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"_foreach ops take a list of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise RuntimeError("Tensor list must have at least one tensor.")
    return list(tensors)


def _per_tensor(arg, n: int) -> list:
    """``arg`` as ``n`` values: a list or tuple item by item (its length must be ``n``), else ``arg`` for each."""
    if not isinstance(arg, (list, tuple)):
        return [arg] * n
    if len(arg) != n:
        raise RuntimeError(f"Tensor list must have same number of elements as scalar list (got {n} tensors and "
                           f"{len(arg)} other items)")
    return list(arg)


# PyTorch's keyword names of the operands after ``self``, slot by slot (``_foreach_mul_(xs, scalar=0.9)``)
_OPERAND_KEYWORDS = {"lerp": (("tensors1",), ("weight", "weights")),
                     "addcmul": (("tensor1",), ("tensor2",), ("scalars",)),
                     "addcdiv": (("tensor1",), ("tensor2",), ("scalars",))}


def _positional(name: str, args, kwargs) -> tuple:
    """``args`` and ``kwargs`` with the operands PyTorch's signatures name (``scalar=``, ``other=``,
    ``weight=``, ...) moved into their positions."""
    args, kwargs = list(args), dict(kwargs)
    slots = _OPERAND_KEYWORDS.get(name.rstrip("_"), (("other", "scalar", "scalars", "exponent"),))
    for names in slots[len(args):]:
        given = [k for k in names if k in kwargs]
        if not given:
            break
        args.append(kwargs.pop(given[0]))
    return args, kwargs


def _calls(name: str, tensors, args, kwargs) -> list:
    """``getattr(t, name)(*args_i, **kwargs)`` for each tensor ``t`` and its share of ``args``."""
    tensors = _tensors(tensors)
    args, kwargs = _positional(name, args, kwargs)
    if name.startswith("addc") and len(args) == 3:  # (tensor1, tensor2, scalars): a per-tensor ``value``
        scalars = args.pop()
        kwargs["value"] = scalars.tolist() if isinstance(scalars, Tensor) else scalars
    columns = [_per_tensor(a, len(tensors)) for a in args]
    per_kwargs = {k: _per_tensor(v, len(tensors)) for k, v in kwargs.items()}
    return [getattr(t, name)(*(c[i] for c in columns), **{k: v[i] for k, v in per_kwargs.items()})
            for i, t in enumerate(tensors)]


def _out_of_place(name: str):
    def op(self, *args, **kwargs):
        if name == "pow" and isinstance(self, numbers.Number):  # _foreach_pow(2.0, exponents)
            return tuple(_pow(self, e) for e in _tensors(args[0] if args else kwargs["exponent"]))
        return tuple(_calls(name, self, args, kwargs))

    op.__name__ = op.__qualname__ = f"_foreach_{name}"
    op.__doc__ = f"``Tensor.{name}`` of each tensor of ``self``, as a tuple (PyTorch's ``torch._foreach_{name}``)."
    return op


def _in_place(name: str):
    def op(self, *args, **kwargs):
        _calls(f"{name}_", self, args, kwargs)
        return self

    op.__name__ = op.__qualname__ = f"_foreach_{name}_"
    op.__doc__ = f"``Tensor.{name}_`` on each tensor of ``self``, which it returns (``torch._foreach_{name}_``)."
    return op


for _name in _UNARY + _WITH_OPERANDS:
    globals()[f"_foreach_{_name}"] = _out_of_place(_name)
    globals()[f"_foreach_{_name}_"] = _in_place(_name)
    __all__ += [f"_foreach_{_name}", f"_foreach_{_name}_"]


def _foreach_norm(self, ord=2, dtype=None) -> tuple:
    """The vector ``ord``-norm of each tensor (``torch._foreach_norm``)."""
    return tuple(vector_norm(t, ord, dtype=dtype) for t in _tensors(self))


def _foreach_max(self) -> tuple:
    """The largest element of each tensor (``torch._foreach_max``)."""
    return tuple(t.max() for t in _tensors(self))


def _foreach_clone(self) -> tuple:
    """A copy of each tensor (``torch._foreach_clone``)."""
    return tuple(t.clone() for t in _tensors(self))


def _foreach_copy_(self, src, non_blocking: bool = False):
    """``self[i].copy_(src[i])`` for each tensor, returning ``self`` (``torch._foreach_copy_``)."""
    _calls("copy_", self, (src,), {"non_blocking": non_blocking})
    return self


def _foreach_zero_(self):
    """Zeroes each tensor, returning ``self`` (``torch._foreach_zero_``)."""
    _calls("zero_", self, (), {})
    return self
