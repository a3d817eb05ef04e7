"""More shape ops, built from the ones in ``shape``: rotations and flips (``rot90``, ``fliplr``, ``flipud``),
splits (``tensor_split``, ``hsplit``/``vsplit``/``dsplit``, ``split_with_sizes``, the ``unsafe_*`` names),
``atleast_*d``, stacking (``column_stack``, ``row_stack``, ``dstack``), ``ravel``, broadcasting helpers,
``block_diag``, ``sum_to_size``; the ``*_copy`` forms of view ops (one table: the view, then a copy); the
in-place shape changes (``t_``, ``transpose_``, ``squeeze_``, ``unsqueeze_``, ``resize_``, ...), and a few
factories PyTorch keeps nearby (``range``, ``logspace``, ``empty_strided``, ``empty_permuted``, ``fill``).
"""

from __future__ import annotations

import builtins
import math
import numbers
import operator
import warnings

from .. import dtypes as _dt
from .._tensor import Tensor
from ..autograd import function as _function
from ..autograd import grad_mode
from .arithmetic import unbroadcast
from .creation import _place, arange, empty, linspace
from .inplace import fill_
from .shape import (
    _dim,
    _shape_arg,
    _tensor_list,
    broadcast_to,
    cat,
    chunk,
    clone,
    diagonal,
    expand,
    flip,
    hstack,
    narrow,
    pad,
    permute,
    reshape,
    select,
    split,
    squeeze,
    t,
    transpose,
    unbind,
    unfold,
    unsqueeze,
    view,
    vstack,
)

__all__ = [
    "rot90", "fliplr", "flipud", "tensor_split", "hsplit", "vsplit", "dsplit", "split_with_sizes", "unsafe_chunk",
    "unsafe_split", "unsafe_split_with_sizes", "atleast_1d", "atleast_2d", "atleast_3d", "column_stack",
    "row_stack", "dstack", "ravel", "broadcast_tensors", "broadcast_shapes", "block_diag", "range", "logspace",
    "empty_strided", "empty_permuted", "fill", "as_strided", "as_strided_copy",
    "as_strided_scatter", "resize_as_",
]


def _need(x, op: str, least: int) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): expects a Tensor, got {type(x).__name__}")
    if x.ndim < least:
        raise RuntimeError(f"{op}(): needs a tensor with at least {least} dimension(s), got shape {x.shape}")
    return x


# ---- rotations and flips --------------------------------------------------------------------
def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """``input`` rotated by 90 degrees ``k`` times in the plane of ``dims``, from the first towards the
    second (negative ``k`` the other way), as PyTorch."""
    _need(input, "rot90", 2)
    if len(dims) != 2:
        raise RuntimeError(f"rot90(): expected exactly two dims, got {tuple(dims)}")
    d0, d1 = (_dim(d, input.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90(): the two dims must differ, got {tuple(dims)}")
    k = operator.index(k) % 4
    if k == 1:
        out = transpose(flip(input, d1), d0, d1)
    elif k == 2:
        out = flip(input, (d0, d1))
    else:
        out = transpose(flip(input, d0), d0, d1) if k == 3 else input.clone()
    return _function.rename_node(out, "Rot90")


def fliplr(input: Tensor) -> Tensor:
    """``input`` with its columns (dimension 1) reversed; needs at least 2 dimensions."""
    return flip(_need(input, "fliplr", 2), 1)


def flipud(input: Tensor) -> Tensor:
    """``input`` with its rows (dimension 0) reversed; needs at least 1 dimension."""
    return flip(_need(input, "flipud", 1), 0)


# ---- splits ---------------------------------------------------------------------------------
def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Views of ``input`` along ``dim``: ``n`` nearly equal parts for an int (the first ``size % n`` one
    longer), or the parts between the given indices (clamped to the dimension), as PyTorch and NumPy."""
    _need(input, "tensor_split", 1)
    d = _dim(dim, input.ndim, "tensor_split")
    size, spec = input.shape[d], indices_or_sections
    if isinstance(spec, Tensor):
        if spec.dtype.kind not in "iu" or spec.ndim > 1:
            raise RuntimeError(f"tensor_split(): a tensor argument must be a 0-D or 1-D integer tensor, got "
                               f"{spec.dtype.name} of shape {spec.shape}")
        spec = spec.item() if spec.ndim == 0 else spec.tolist()
    if isinstance(spec, numbers.Integral):
        n = int(spec)
        if n <= 0:
            raise RuntimeError(f"tensor_split(): number of sections must be larger than 0, got {n}")
        bounds = [i * (size // n) + builtins.min(i, size % n) for i in builtins.range(n + 1)]
    else:
        bounds = [0, *(int(i) for i in spec), size]
    pieces = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        lo, hi = (builtins.min(builtins.max(v + size if v < 0 else v, 0), size) for v in (lo, hi))
        pieces.append(narrow(input, d, lo, builtins.max(hi - lo, 0)))
    return tuple(pieces)


def _directional_split(name: str, dim: int, least: int):
    def op(input: Tensor, indices_or_sections) -> tuple:
        _need(input, name, least)
        d = 0 if name == "hsplit" and input.ndim == 1 else dim
        if isinstance(indices_or_sections, numbers.Integral):
            n = int(indices_or_sections)
            if n <= 0 or input.shape[d] % n:
                raise RuntimeError(f"{name}(): dimension {d} of size {input.shape[d]} can't be split into {n} "
                                   f"equal sections")
        return tensor_split(input, indices_or_sections, d)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"``tensor_split`` along dimension {dim}{' (0 for 1-D input)' if name == 'hsplit' else ''}; "
                  f"an int must divide that dimension evenly, as NumPy's {name}.")
    return op


hsplit = _directional_split("hsplit", 1, 1)
vsplit = _directional_split("vsplit", 0, 2)
dsplit = _directional_split("dsplit", 2, 3)


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """``split`` with a list of sizes that add up to the dimension."""
    if isinstance(split_sizes, numbers.Integral):
        raise TypeError("split_with_sizes(): split_sizes must be a sequence of sizes")
    return split(input, list(split_sizes), dim)


unsafe_split, unsafe_chunk, unsafe_split_with_sizes = split, chunk, split_with_sizes  # lucid checks: nothing unsafe


# ---- at least n dimensions, stacking --------------------------------------------------------
def _atleast(n: int):
    name = f"atleast_{n}d"

    def one(x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}(): expects tensors, got {type(x).__name__}")
        if x.ndim >= n:
            return x
        if n == 3 and x.ndim == 2:
            return x.unsqueeze(-1)
        if n == 3 and x.ndim == 1:
            return x.reshape(1, -1, 1)
        return x.reshape((1,) * (n - builtins.max(x.ndim, 1)) + (x.shape or (1,)))

    def op(*tensors):
        if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
            return tuple(one(x) for x in tensors[0])
        return one(tensors[0]) if len(tensors) == 1 else tuple(one(x) for x in tensors)

    op.__name__ = op.__qualname__ = name
    extra = "a 1-D (n) becomes (1, n, 1) and a 2-D gets a trailing 1; " if n == 3 else ""
    op.__doc__ = (f"Each tensor with at least {n} dimensions (views; {extra}new dimensions in front otherwise); "
                  f"one tensor in, one out.")
    return op


atleast_1d, atleast_2d, atleast_3d = _atleast(1), _atleast(2), _atleast(3)


def column_stack(tensors) -> Tensor:
    """Tensors joined as columns: 0-d and 1-d ones become (n, 1) columns, then ``hstack``."""
    ts = _tensor_list(tensors, "column_stack")
    return hstack([x.reshape(x.numel(), 1) if x.ndim < 2 else x for x in ts])


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Tensors joined along the third dimension, after ``atleast_3d``."""
    return cat(atleast_3d(_tensor_list(tensors, "dstack")), 2)


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-D tensor (a view where the layout allows)."""
    return reshape(_need(input, "ravel", 0), -1)


def broadcast_shapes(*shapes) -> tuple:
    """The shape that all ``shapes`` (ints or sequences) broadcast to; a RuntimeError when they don't."""
    out = []
    for shape in shapes:
        shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
        if any(s < 0 for s in shape):
            raise RuntimeError(f"broadcast_shapes(): negative size in shape {shape}")
        out = [1] * (len(shape) - len(out)) + out
        for i, s in enumerate(shape, len(out) - len(shape)):
            if out[i] == 1:
                out[i] = s
            elif s not in (1, out[i]):
                raise RuntimeError(f"broadcast_shapes(): shape {shape} does not broadcast with {tuple(out)}")
    return tuple(out)


def broadcast_tensors(*tensors) -> tuple:
    """The tensors expanded to their common broadcast shape (read-only views)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"broadcast_tensors(): argument {i} is a {type(x).__name__}, not a Tensor")
    shape = broadcast_shapes(*(x.shape for x in tensors))
    return tuple(broadcast_to(x, shape) for x in tensors)


def block_diag(*tensors) -> Tensor:
    """The tensors (0-, 1- or 2-D; a 1-D one is a row) as blocks on the diagonal of a matrix, zeros
    elsewhere; dtypes promoted, as PyTorch."""
    if not tensors:
        raise RuntimeError("block_diag(): expects at least one tensor")
    blocks = []
    for i, x in enumerate(_tensor_list(tensors, "block_diag")):
        if x.ndim > 2:
            raise RuntimeError(f"block_diag(): input {i} must have 2 or fewer dimensions, got shape {x.shape}")
        blocks.append(x.reshape(1, -1) if x.ndim < 2 else x)
    cols = builtins.sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        rows.append(pad(b, (left, cols - left - b.shape[1])))
        left += b.shape[1]
    return _function.rename_node(cat(rows, 0), "BlockDiag")


def sum_to_size(input: Tensor, *sizes, size=None) -> Tensor:
    """``input`` summed down to ``size`` (which must expand to ``input``'s shape), the inverse of ``expand``."""
    size = _shape_arg(sizes, size, "size")
    lead = input.ndim - len(size)
    if lead < 0 or any(s not in (1, n) for s, n in zip(size, input.shape[lead:])):
        raise RuntimeError(f"sum_to_size(): size {size} is not expandable to the tensor's shape {input.shape}")
    return unbroadcast(input, size)


# ---- as_strided: elements picked by sizes and strides ----------------------------------------------
def _strided_positions(input: Tensor, size, stride, storage_offset, name: str) -> Tensor:
    """The flat positions (an int64 tensor of ``size``) that ``size``/``stride``/``storage_offset`` pick from
    ``input``'s elements in row-major order, checked to lie inside them."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or any(s < 0 for s in size + stride) or storage_offset < 0:
        raise RuntimeError(f"{name}(): size {size} and stride {stride} need one non-negative entry per dimension "
                           f"and storage_offset {storage_offset} must be non-negative")
    last = storage_offset + builtins.sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else -1
    if last >= input.numel():
        raise RuntimeError(f"{name}(): size {size}, stride {stride} and storage_offset {storage_offset} reach "
                           f"element {last}, out of bounds for a tensor of {input.numel()} elements")
    pos = arange(storage_offset, storage_offset + 1, dtype=_dt.int64, device=input.device).reshape(())
    for axis, (n, s) in enumerate(zip(size, stride)):
        step = (arange(n, dtype=_dt.int64, device=input.device) * s).reshape(
            tuple(n if i == axis else 1 for i in builtins.range(len(size))))
        pos = pos + step
    return pos.expand(size) if size else pos


def as_strided(input: Tensor, size, stride, storage_offset: int = 0) -> Tensor:
    """The elements at ``storage_offset + sum(i_k * stride[k])`` of ``input``'s elements in row-major order,
    shaped ``size`` (overlaps allowed; their gradients add up). lucid does not expose storage: the positions
    count in ``input``'s logical row-major order, which is PyTorch's storage order for a contiguous tensor
    (PyTorch also reads the storage outside a view), and the result is a copy, not a view (``as_strided_``
    gives the tensor these elements in new memory)."""
    pos = _strided_positions(input, size, stride, storage_offset, "as_strided")
    return _function.rename_node(reshape(input, -1)[pos], "AsStrided")


as_strided_copy = as_strided


def as_strided_scatter(input: Tensor, src: Tensor, size, stride, storage_offset: int = 0) -> Tensor:
    """``input`` with the elements ``as_strided`` would pick replaced by ``src`` (of shape ``size``; where they
    overlap the last write wins), as a new tensor."""
    pos = _strided_positions(input, size, stride, storage_offset, "as_strided_scatter")
    if not isinstance(src, Tensor) or src.shape != pos.shape:
        got = src.shape if isinstance(src, Tensor) else type(src).__name__
        raise RuntimeError(f"as_strided_scatter(): src must be a tensor of shape {pos.shape}, got {got}")
    flat = reshape(input, -1).clone()
    flat[pos] = src
    return _function.rename_node(reshape(flat, input.shape), "AsStridedScatter")


# ---- *_copy: the view ops followed by a copy (PyTorch's functionalization names) --------------
def _slice_view(x: Tensor, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    return x[(slice(None),) * _dim(dim, x.ndim, "slice_copy") + (slice(start, end, step),)]


def _alias(x: Tensor) -> Tensor:
    return x


_COPIES = {
    "view_copy": view, "permute_copy": permute, "expand_copy": expand, "diagonal_copy": diagonal, "t_copy": t,
    "transpose_copy": transpose, "unsqueeze_copy": unsqueeze, "squeeze_copy": squeeze, "select_copy": select,
    "slice_copy": _slice_view, "split_copy": split, "split_with_sizes_copy": split_with_sizes,
    "unbind_copy": unbind, "unfold_copy": unfold, "narrow_copy": narrow, "alias_copy": _alias,
    "detach_copy": Tensor.detach,
}


def _copying(name: str, view_op):
    def op(input: Tensor, *args, **kwargs):
        out = view_op(input, *args, **kwargs)
        return tuple(clone(o) for o in out) if isinstance(out, tuple) else clone(out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``{name[:-5]}`` as a new tensor with its own memory (a copy, not a view)."
    return op


for _name, _op in _COPIES.items():
    globals()[_name] = _copying(_name, _op)
__all__ += list(_COPIES)


# ---- in-place shape changes -----------------------------------------------------------------
def _reshaping_in_place(name: str, view_op):
    """``t.name(...)``: ``t`` itself takes the shape (and, when recording, the history) of ``view_op(t)``.
    Views of ``t`` taken before keep their old shape but must not be used to write afterwards."""

    def method(self: Tensor, *args, **kwargs) -> Tensor:
        recording = grad_mode.state.enabled and self.requires_grad
        if recording and self._node is None and self._base is None:
            raise RuntimeError(f"{name}(): a leaf Variable that requires grad is being used in an in-place "
                               f"operation; use the out-of-place {name[:-1]}() instead")
        out = view_op(self, *args, **kwargs)
        self._data = out._data
        if _function.dual_mode is not None:  # forward AD: the tangent takes the new shape too
            _function.dual_mode.reshaped(self, out)
        if recording:
            if out._node is not None and out._node is not self._node:  # PyTorch numbers an in-place form after
                out._node.torch_overload += 3 if name == "squeeze_" else 1  # the others (squeeze_(): 3, unsqueeze_: 1)
            self._node, self._out_idx = out._node, out._out_idx
        if self._base is not None:
            self._view_fn, self._view_stamp = out._view_fn, out._view_stamp
        return self

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{name[:-1]}`` in place: this tensor takes the new shape."
    return method


def _resize(self: Tensor, *sizes, size=None, memory_format=None) -> Tensor:
    """``resize_``: a new shape; the same elements when the count is unchanged, else new memory holding the
    old elements first (the rest uninitialised). Only for tensors without history: PyTorch refuses
    ``resize_`` of a tensor that requires grad."""
    shape = _shape_arg(sizes, size, "size", operator.index)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"resize_(): sizes must be non-negative, got {shape}")
    if self.requires_grad:
        raise RuntimeError("resize_(): cannot resize a tensor that requires grad (or has history); detach it")
    xp, n = self.xp, math.prod(shape)
    if n == self.numel():
        self._data = xp.reshape(self._data, shape)
        return self
    if self._base is not None:
        raise RuntimeError(f"resize_(): a view can't change its number of elements ({self.numel()} to {n})")
    flat = xp.reshape(self._data, (-1,))
    keep = builtins.min(n, flat.shape[0])
    grown = xp.concat([flat[:keep], xp.zeros((n - keep,), dtype=flat.dtype, device=self._device.native)])
    self._data = xp.reshape(grown, shape)
    self._version[0] += 1
    return self


def resize_as_(input: Tensor, other: Tensor, memory_format=None) -> Tensor:
    """``input.resize_as_(other)`` (PyTorch also has it as a function)."""
    return _resize(input, other.shape)


def _swap(self: Tensor, dim0, dim1) -> Tensor:
    return transpose(self, dim0, dim1)


_IN_PLACE_SHAPES = {"t_": t, "transpose_": _swap, "swapaxes_": _swap, "swapdims_": _swap, "squeeze_": squeeze,
                    "unsqueeze_": unsqueeze, "as_strided_": as_strided}


# ---- factories ------------------------------------------------------------------------------
def range(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The deprecated inclusive ``arange``: ``start, start + step, ...`` up to and including ``end``, in the
    default float dtype unless ``dtype`` is given (PyTorch warns; so does lucid)."""
    warnings.warn("lucid.range is deprecated, as torch.range: use lucid.arange, which excludes the end",
                  UserWarning, stacklevel=2)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("range(): step must be nonzero")
    count = builtins.max(int(math.floor((end - start) / step)) + 1, 0)
    out = arange(count, dtype=_dt.float64, device=device) * step + start
    return out.to(dtype or _dt.get_default_dtype()).requires_grad_(requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` values ``base ** linspace(start, end, steps)`` (computed in float64, then cast: integer
    dtypes get the exact powers)."""
    exps = linspace(start, end, steps, dtype=_dt.float64, device=device)
    out = (Tensor(float(base), dtype=_dt.float64, device=exps.device) ** exps)
    dt = dtype or _dt.get_default_dtype()
    if _dt.to_dtype(dt).kind in "iu":
        out = out.round()
    return out.to(dt).requires_grad_(requires_grad)


def empty_strided(size, stride, *, dtype=None, device=None, requires_grad: bool = False, **_) -> Tensor:
    """An uninitialised tensor of ``size``. ``stride`` is accepted for PyTorch code: lucid's backends choose
    the memory layout, so the strides are not honoured."""
    if len(tuple(size)) != len(tuple(stride)):
        raise RuntimeError(f"empty_strided(): size {tuple(size)} and stride {tuple(stride)} must have one entry "
                           f"per dimension")
    return empty(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)


def empty_permuted(size, physical_layout, *, dtype=None, device=None, requires_grad: bool = False, **_) -> Tensor:
    """An uninitialised tensor of ``size``; ``physical_layout`` (a permutation) is checked but the layout is
    the backend's, as for ``empty_strided``."""
    size = tuple(size)
    if sorted(physical_layout) != list(builtins.range(len(size))):
        raise RuntimeError(f"empty_permuted(): physical_layout {tuple(physical_layout)} is not a permutation of the "
                           f"{len(size)} dimensions")
    dev, _ = _place(dtype, device)
    return empty(size, dtype=dtype, device=dev, requires_grad=requires_grad)


def fill(input: Tensor, value) -> Tensor:
    """A tensor like ``input`` filled with ``value`` (a number or a one-element tensor, which then gets
    the summed gradient); out of place."""
    return fill_(input.clone(), value)


METHODS = {
    **{name: globals()[name] for name in (
        "rot90", "fliplr", "flipud", "tensor_split", "hsplit", "vsplit", "dsplit", "split_with_sizes",
        "unsafe_chunk", "unsafe_split", "unsafe_split_with_sizes", "ravel", "narrow_copy")},
    "sum_to_size": sum_to_size, "resize_": _resize, "resize_as_": resize_as_, "as_strided": as_strided,
    "as_strided_scatter": as_strided_scatter,
    **{name: _reshaping_in_place(name, op) for name, op in _IN_PLACE_SHAPES.items()},
}
