"""``MaskedTensor``: a data Tensor plus a boolean mask of which of its elements are valid.

A small class of its own (not a ``Tensor`` subclass): elementwise ops apply to the data and keep
the mask, binary ops need equal masks (as PyTorch); reductions (sum, mean, amax, ...) are the
masked ops of :mod:`lucid.masked._ops`, which attaches them, with the output mask "any valid element
in the slice". Gradients flow
through the data: ``mt.grad`` is a MaskedTensor over ``mt.get_data().grad`` with ``mt``'s mask.
Its values at masked-out elements are unspecified in PyTorch; lucid's are 0 there after a masked
reduction (the identity filling cuts the gradient), and whatever the data ops gave otherwise.
"""

from __future__ import annotations

import warnings

from .. import dtypes
from .._tensor import Tensor, tensor
from ..ops.indexing import where

__all__ = ["MaskedTensor", "masked_tensor", "as_masked_tensor", "is_masked_tensor"]

_PROTOTYPE_WARNING = (
    "The PyTorch API of MaskedTensors is in prototype stage and will change in the near future. Please open a "
    "Github issue for features requests and see our documentation on the torch.masked module for further "
    "information about the project.")
_SUPPORTED_DTYPES = (dtypes.float16, dtypes.float32, dtypes.float64, dtypes.bool_, dtypes.int8, dtypes.int16,
                     dtypes.int32, dtypes.int64)

# PyTorch's lists of the elementwise ops a MaskedTensor supports (torch.masked.maskedtensor.unary / binary)
UNARY_NAMES = (
    "abs", "absolute", "acos", "arccos", "acosh", "arccosh", "angle", "asin", "arcsin", "asinh", "arcsinh", "atan",
    "arctan", "atanh", "arctanh", "bitwise_not", "ceil", "clamp", "clip", "conj_physical", "cos", "cosh", "deg2rad",
    "digamma", "erf", "erfc", "erfinv", "exp", "exp2", "expm1", "fix", "floor", "frac", "lgamma", "log", "log10",
    "log1p", "log2", "logit", "i0", "isnan", "nan_to_num", "neg", "negative", "positive", "pow", "rad2deg",
    "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sgn", "signbit", "sin", "sinc", "sinh", "sqrt", "square",
    "tan", "tanh", "trunc",
)
BINARY_NAMES = (
    "add", "atan2", "arctan2", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
    "bitwise_right_shift", "div", "divide", "floor_divide", "fmod", "logaddexp", "logaddexp2", "mul", "multiply",
    "nextafter", "remainder", "sub", "subtract", "true_divide", "eq", "ne", "le", "ge", "greater", "greater_equal",
    "gt", "less_equal", "lt", "less", "maximum", "minimum", "fmax", "fmin", "not_equal",
)
# Python operators -> the op they lift; PyTorch has no reflected ``-`` or ``**`` for MaskedTensor
OPERATORS = {
    "__neg__": "neg", "__abs__": "abs", "__invert__": "bitwise_not", "__pow__": "pow",
    "__add__": "add", "__radd__": "add", "__sub__": "sub", "__mul__": "mul", "__rmul__": "mul",
    "__truediv__": "div", "__floordiv__": "floor_divide", "__mod__": "remainder",
    "__and__": "bitwise_and", "__or__": "bitwise_or", "__xor__": "bitwise_xor",
    "__eq__": "eq", "__ne__": "ne", "__lt__": "lt", "__le__": "le", "__gt__": "gt", "__ge__": "ge",
}


def is_masked_tensor(obj) -> bool:
    """Whether ``obj`` is a :class:`MaskedTensor`."""
    return isinstance(obj, MaskedTensor)


class MaskedTensor:
    """``data`` with a same-shaped boolean ``mask`` (True: valid). ``requires_grad`` makes it a leaf.

    The constructor copies ``data`` and ``mask`` and detaches the data (PyTorch's wrapper is a leaf too);
    :func:`as_masked_tensor` keeps the data's autograd graph instead.
    """

    __slots__ = ("_data", "_mask")
    __hash__ = object.__hash__  # identity, as Tensor (``__eq__`` is elementwise)

    def __init__(self, data, mask, requires_grad: bool = False):
        _validate(data, mask)
        warnings.warn(_PROTOTYPE_WARNING, UserWarning, stacklevel=2)
        if data.requires_grad:
            warnings.warn("It is not recommended to create a MaskedTensor with a tensor that requires_grad. "
                          "To avoid this, you can use data.detach().clone()", UserWarning, stacklevel=2)
        self._data = data.detach().clone().requires_grad_(requires_grad)
        self._mask = mask.clone()

    @classmethod
    def _from_values(cls, data: Tensor, mask: Tensor) -> MaskedTensor:
        """A MaskedTensor sharing ``data`` (and its autograd graph) and ``mask``, as PyTorch's differentiable one."""
        _validate(data, mask)
        warnings.warn(_PROTOTYPE_WARNING, UserWarning, stacklevel=3)
        out = object.__new__(cls)
        out._data, out._mask = data, mask
        return out

    def get_data(self) -> Tensor:
        """The data Tensor, masked-out elements included (what gradients flow through)."""
        return self._data

    def get_mask(self) -> Tensor:
        """The boolean mask (True: valid)."""
        return self._mask

    def to_tensor(self, value) -> Tensor:
        """A plain Tensor with masked-out elements set to ``value`` (differentiable in the data)."""
        fill = value if isinstance(value, Tensor) else tensor(value, dtype=self._data.dtype, device=self._data.device)
        return where(self._mask, self._data, fill)

    # Tensor-like metadata
    shape = property(lambda self: self._data.shape)
    dtype = property(lambda self: self._data.dtype)
    device = property(lambda self: self._data.device)
    ndim = property(lambda self: self._data.ndim)
    requires_grad = property(lambda self: self._data.requires_grad)
    is_leaf = property(lambda self: self._data.is_leaf)

    def dim(self) -> int:
        return self._data.ndim

    def size(self, dim=None):
        return self._data.size(dim) if dim is not None else self._data.size()

    def numel(self) -> int:
        return self._data.numel()

    @property
    def grad(self):
        """The data's gradient as a MaskedTensor with this mask (None before backward)."""
        g = self._data.grad
        return None if g is None else MaskedTensor._from_values(g, self._mask)

    def requires_grad_(self, requires_grad: bool = True) -> MaskedTensor:
        self._data.requires_grad_(requires_grad)
        return self

    def detach(self) -> MaskedTensor:
        return MaskedTensor._from_values(self._data.detach(), self._mask)

    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False) -> None:
        """Backward from the data (a MaskedTensor ``gradient`` contributes its data)."""
        if isinstance(gradient, MaskedTensor):
            gradient = gradient.get_data()
        self._data.backward(gradient, retain_graph=retain_graph, create_graph=create_graph)

    def __repr__(self) -> str:
        if self._data.ndim == 0:
            shown = _format(self._data.item()) if bool(self._mask.item()) else "--"
            return f"MaskedTensor({shown}, {bool(self._mask.item())})"
        body = _format_nested(self._data.tolist(), self._mask.tolist(), "")
        return "MaskedTensor(\n" + "\n".join("  " + line for line in body.split("\n")) + "\n)"


def _validate(data, mask) -> None:
    """PyTorch's checks: both Tensors, mask bool with data's shape, data of a supported dtype."""
    if not isinstance(data, Tensor):
        raise TypeError(f"data must be a Tensor, got {type(data).__name__}")
    if not isinstance(mask, Tensor):
        raise TypeError(f"mask must be a Tensor, got {type(mask).__name__}")
    if mask.dtype != dtypes.bool_:
        raise TypeError(f"mask must have dtype bool, got {mask.dtype}")
    if data.dtype not in _SUPPORTED_DTYPES:
        raise TypeError(f"{data.dtype} is not supported in MaskedTensor (use a float, int or bool dtype)")
    if data.ndim != mask.ndim:
        raise ValueError(f"data.dim() must equal mask.dim(): got data {tuple(data.shape)}, mask {tuple(mask.shape)}")
    if tuple(data.shape) != tuple(mask.shape):
        raise ValueError(f"data.size() must equal mask.size(): got data {tuple(data.shape)}, mask {tuple(mask.shape)}")


def _format(value) -> str:
    return f"{value:8.4f}" if isinstance(value, float) else f"{value!s:>8}"


def _format_nested(data, mask, indent: str) -> str:
    """PyTorch's MaskedTensor layout: one row per line, masked-out elements shown as ``--``."""
    if not isinstance(data[0] if data else None, list):
        return indent + "[" + ", ".join(_format(v) if m else "      --" for v, m in zip(data, mask)) + "]"
    rows = ",\n".join(_format_nested(d, m, indent + "  ") for d, m in zip(data, mask))
    return f"{indent}[\n{rows}\n{indent}]"


def masked_tensor(data, mask, requires_grad: bool = False) -> MaskedTensor:
    """A new leaf MaskedTensor holding copies of ``data`` and ``mask``."""
    return MaskedTensor(data, mask, requires_grad)


def as_masked_tensor(data, mask) -> MaskedTensor:
    """A MaskedTensor over ``data`` itself, differentiable: gradients flow back into ``data``."""
    return MaskedTensor._from_values(data, mask)


def _unary(name: str):
    def op(self, *args, **kwargs):
        return MaskedTensor._from_values(getattr(self._data, name)(*args, **kwargs), self._mask)

    op.__name__ = name
    op.__doc__ = f"``Tensor.{name}`` of the data, same mask."
    return op


def _binary(name: str):
    def op(self, other, *args, **kwargs):
        if isinstance(other, MaskedTensor):
            if tuple(other._mask.shape) != tuple(self._mask.shape) or not bool((other._mask == self._mask).all()):
                raise ValueError(
                    "Input masks must match. If you need support for this, please open an issue on Github.")
            other = other._data
        return MaskedTensor._from_values(getattr(self._data, name)(other, *args, **kwargs), self._mask)

    op.__name__ = name
    op.__doc__ = f"``Tensor.{name}`` of the data with a Tensor, a number or a MaskedTensor with the same mask."
    return op


for _name in UNARY_NAMES:
    setattr(MaskedTensor, _name, _unary(_name))
for _name in BINARY_NAMES:
    setattr(MaskedTensor, _name, _binary(_name))
for _dunder, _name in OPERATORS.items():
    setattr(MaskedTensor, _dunder, getattr(MaskedTensor, _name))
MaskedTensor.__rtruediv__ = _unary("__rtruediv__")  # ``number / mt``: the data's own reflected division
del _name, _dunder
