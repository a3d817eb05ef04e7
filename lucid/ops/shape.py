"""Shape ops: views and rearrangements of the same elements.

A few Functions do the work, and each one's backward is another of them, so gradients of
any order come for free: permute <-> inverse permute, cat <-> split, stack <-> unbind,
constant pad <-> crop (``Pad`` with negated widths), take along an axis <-> scatter-add
(``Take``/``TakeAdd``, which also give reflect/replicate/circular padding, diagonals and
``repeat_interleave``), flip, roll, tril/triu. Everything else (flatten, squeeze, repeat,
meshgrid, ...) is built from those and ``reshape``/``expand``.
"""

from __future__ import annotations

import math
import operator

from .. import _typeinfo
from .. import dtypes as _dt
from .._backend.arrays import row_major
from .._backend.device import DeviceMismatchError
from .._tensor import Tensor
from ..amp.autocast import autocast_op
from ..autograd.function import FLOAT32, Function, rename_node
from ..autograd.views import CopySlices, view_apply
from . import _axes

__all__ = [
    "reshape", "view", "broadcast_to", "expand", "flatten", "unflatten", "squeeze", "unsqueeze",
    "permute", "transpose", "swapaxes", "swapdims", "movedim", "moveaxis", "t", "cat", "concatenate",
    "concat", "stack", "hstack", "vstack", "split", "chunk", "unbind", "narrow", "select", "repeat", "tile",
    "repeat_interleave", "flip", "roll", "pad", "tril", "triu", "diagonal", "meshgrid", "clone", "contiguous",
]


# ---- argument helpers -------------------------------------------------------------------
def _shape_arg(shape, keyword=None, name="shape", convert=int):
    """A shape given as ints or as one tuple/list, or (``keyword``, not None) by PyTorch's keyword ``name``;
    each entry through ``convert`` (``operator.index`` refuses floats)."""
    if keyword is not None:
        if shape:
            raise TypeError(f"got the {name} both as positional arguments and as {name}={keyword!r}; pass one")
        shape = (keyword,)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(convert(s) for s in shape)


def _dim(d, ndim: int, op: str, extra: int = 0) -> int:
    """``d`` as a non-negative axis of an ``ndim``-dimensional tensor (``extra=1`` for unsqueeze/stack,
    which may name the new position one past the end). 0-d tensors accept -1 and 0, as PyTorch."""
    try:
        d = operator.index(d)
    except TypeError:
        raise TypeError(f"{op}: a dimension must be an int, got {type(d).__name__}") from None
    n = max(ndim + extra, 1)
    if not -n <= d < n:
        raise IndexError(
            f"{op}: dimension {d} is out of range for a tensor with {ndim} dimensions "
            f"(expected a dimension in [{-n}, {n - 1}])"
        )
    return d % n


def _dims(dims, ndim: int, op: str) -> tuple:
    """A sequence of dimensions, each made non-negative, in the given order, without repeats."""
    out = tuple(_dim(d, ndim, op) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: the dimensions {tuple(dims)} name the same axis more than once")
    return out


def _axis(dim, axis, default=0):
    """The ``dim=``/``axis=`` argument, or ``default`` when neither is given."""
    d = _axes.pick(dim, axis)
    return default if d is None else d


def _need_dims(x: Tensor, op: str, least: int = 1) -> None:
    if x.ndim < least:
        raise RuntimeError(f"{op}: needs a tensor with at least {least} dimension(s), got shape {x.shape}")


# ---- Functions ----------------------------------------------------------------------
class Reshape(Function):
    may_copy = True  # a view when the strides allow one, else a copy (as PyTorch's reshape)
    torch_name = "View"

    def forward(self, x, shape):
        self.in_shape = x.shape
        return self.xp.reshape(x, shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


class BroadcastTo(Function):
    overlapping = True  # expanded dimensions repeat one memory location
    torch_name = "Expand"

    def forward(self, x, shape):
        self.in_shape = x.shape
        return self.xp.broadcast_to(x, shape)

    def backward(self, g):
        from .arithmetic import unbroadcast

        return unbroadcast(g, self.in_shape)


class Permute(Function):
    def forward(self, x, axes):
        self.axes = axes
        return self.xp.permute_dims(x, axes)

    def backward(self, g):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return Permute.apply(g, axes=tuple(inverse))


class Cat(Function):
    def forward(self, *arrays, axis):
        self.axis, self.sizes = axis, tuple(a.shape[axis] for a in arrays)
        return self.xp.concat(arrays, axis=axis)

    def backward(self, g):
        pieces = Split.apply(g, sizes=self.sizes, axis=self.axis)
        return tuple(p if need else None for p, need in zip(pieces, self.needs_input_grad))


class Split(Function):
    """Consecutive pieces of ``sizes`` along ``axis`` (views where the backend has them)."""

    def forward(self, x, sizes, axis):
        self.axis = axis
        lead = (slice(None),) * axis
        pieces, start = [], 0
        for n in sizes:
            pieces.append(x[lead + (slice(start, start + n), ...)])
            start += n
        return tuple(pieces)

    def backward(self, *grads):
        return Cat.apply(*grads, axis=self.axis)


class Stack(Function):
    def forward(self, *arrays, axis):
        self.axis = axis
        return self.xp.stack(arrays, axis=axis)

    def backward(self, g):
        grads = Unbind.apply(g, axis=self.axis)
        return tuple(gi if need else None for gi, need in zip(grads, self.needs_input_grad))


class Unbind(Function):
    def forward(self, x, axis):
        self.axis = axis
        lead = (slice(None),) * axis
        return tuple(x[lead + (i, ...)] for i in range(x.shape[axis]))

    def backward(self, *grads):
        return Stack.apply(*grads, axis=self.axis)


class Pad(Function):
    """Constant padding by ``widths`` = ((before, after), ...) for every axis; a negative width
    crops instead. The backward is the opposite pad: it crops where this one padded."""
    torch_name = "ConstantPadNd"

    def forward(self, x, widths, value):
        self.widths = widths
        x = x[tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(widths, x.shape)) + (...,)]
        if all(lo <= 0 and hi <= 0 for lo, hi in widths):
            return x
        kind = self.backend.lucid_dtype(x.dtype).kind
        value = {"f": float, "b": bool}.get(kind, int)(value)
        shape = tuple(n + max(lo, 0) + max(hi, 0) for (lo, hi), n in zip(widths, x.shape))
        out = self.xp.full(shape, value, dtype=x.dtype, device=self.device.native)
        out[tuple(slice(max(lo, 0), max(lo, 0) + n) for (lo, _), n in zip(widths, x.shape)) + (...,)] = x
        return out

    def backward(self, g):
        return Pad.apply(g, widths=tuple((-lo, -hi) for lo, hi in self.widths), value=0)


_SLICED_RUNS = 8  # Take/TakeAdd work run by run up to this many runs, beyond it by one take/add_at of the index


def _run_key(axis: int, first: int, step: int, count: int) -> tuple:
    """The key of the ``count`` positions ``first, first + step, ...`` along ``axis`` (just ``first`` for step 0)."""
    if step == 0:
        return (slice(None),) * axis + (slice(first, first + 1), ...)
    stop = first + step * count
    return (slice(None),) * axis + (slice(first, stop if stop >= 0 else None, step), ...)


def _run_index(xp, device, runs):
    """The index ``runs`` stand for, as an int64 array."""
    flat = [first + step * t for first, step, count in runs for t in range(count)]
    return xp.asarray(flat, dtype=xp.int64, device=device.native)


class Take(Function):
    """The slices along ``axis`` at the positions ``runs`` lists: ``(first, step, count)`` stands for ``count``
    positions ``first, first + step, ...`` (``step`` may be 0 or negative). A few runs (padding has 1-3 per
    axis, one more per extra circular wrap) are copied as slices and their adjoint adds slices: ``take``'s
    adjoint, ``add_at`` with repeated positions, is many times slower."""

    def forward(self, x, runs, axis):
        self.runs, self.axis, self.size = runs, axis, x.shape[axis]
        xp = self.xp
        if len(runs) > _SLICED_RUNS or not runs:  # no runs: an empty take (there is nothing to concatenate)
            return xp.take(x, _run_index(xp, self.device, runs), axis=axis)
        pieces = []
        for first, step, count in runs:
            piece = x[_run_key(axis, first, step, count)]  # of step 0: one slice, repeated by the broadcast
            pieces.append(xp.broadcast_to(piece, piece.shape[:axis] + (count,) + piece.shape[axis + 1:]))
        return xp.concat(pieces, axis=axis)

    def backward(self, g):
        return TakeAdd.apply(g, runs=self.runs, axis=self.axis, size=self.size)


class TakeAdd(Function):
    """The adjoint of ``Take``: zeros of length ``size`` along ``axis``, with slice ``i`` of the
    input added at the ``i``-th position of ``runs`` (repeated positions accumulate)."""

    def forward(self, x, runs, axis, size):
        self.runs, self.axis = runs, axis
        xp = self.xp
        out = xp.zeros(x.shape[:axis] + (size,) + x.shape[axis + 1:], dtype=x.dtype, device=self.device.native)
        if len(runs) > _SLICED_RUNS:
            self.backend.add_at(out, (slice(None),) * axis + (_run_index(xp, self.device, runs),), x)
            return out
        start = 0
        for first, step, count in runs:
            piece = x[(slice(None),) * axis + (slice(start, start + count), ...)]
            out[_run_key(axis, first, step, count)] += xp.sum(piece, axis=axis, keepdims=True) if step == 0 else piece
            start += count
        return out

    def backward(self, g):
        return Take.apply(g, runs=self.runs, axis=self.axis)


class Diagonal(Function):
    """The ``offset``-th diagonal over ``axes`` as a (writable) view, moved to the last dimension."""

    def forward(self, x, offset, axes):
        self.offset, self.axes, self.in_shape = offset, axes, x.shape
        return self.backend.diagonal(x, offset, *axes)

    def backward(self, g):
        return DiagonalScatter.apply(g, shape=self.in_shape, offset=self.offset, axes=self.axes)


class DiagonalScatter(Function):
    """The adjoint of ``Diagonal``: zeros of ``shape`` with ``x`` on the diagonal."""

    def forward(self, x, shape, offset, axes):
        self.offset, self.axes = offset, axes
        out = self.xp.zeros(shape, dtype=x.dtype, device=self.device.native)
        self.backend.diagonal(out, offset, *axes)[...] = x
        return out

    def backward(self, g):
        return Diagonal.apply(g, offset=self.offset, axes=self.axes)


class Unfold(Function):
    """Windows of ``size`` every ``step`` along ``axis`` (a read-only view; a new last dimension)."""

    overlapping = True

    def forward(self, x, axis, size, step):
        self.axis, self.size, self.step, self.in_shape = axis, size, step, x.shape
        windows = self.backend.sliding_window_view(x, size, axis)
        return windows[(slice(None),) * axis + (slice(None, None, step), ...)]

    def backward(self, g):
        return UnfoldAdd.apply(g, shape=self.in_shape, axis=self.axis, step=self.step)


class UnfoldAdd(Function):
    """The adjoint of ``Unfold``: each window added back where it came from, into zeros of ``shape``."""

    def forward(self, x, shape, axis, step):
        self.axis, self.step, self.size = axis, step, x.shape[-1]
        out = self.xp.zeros(shape, dtype=x.dtype, device=self.device.native)
        count, lead = x.shape[axis], (slice(None),) * axis
        for k in range(self.size):  # element k of every window: the distinct positions k, k + step, ...
            where = lead + (slice(k, k + step * (count - 1) + 1, step), ...)
            out[where] = out[where] + x[..., k]
        return out

    def backward(self, g):
        return Unfold.apply(g, axis=self.axis, size=self.size, step=self.step)


class Flip(Function):
    def forward(self, x, axes):
        self.axes = axes  # NumPy's and CuPy's flip is a view with negative strides: copy, as PyTorch's flip
        return self.xp.asarray(self.xp.flip(x, axis=axes), copy=True)

    def backward(self, g):
        return Flip.apply(g, axes=self.axes)


class Roll(Function):
    def forward(self, x, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return self.xp.roll(x, shift=shifts, axis=axes)

    def backward(self, g):
        return Roll.apply(g, shifts=tuple(-s for s in self.shifts), axes=self.axes)


class Tril(Function):
    upper = False

    def forward(self, x, k):
        self.k = k
        return (self.xp.triu if self.upper else self.xp.tril)(x, k=k)

    def backward(self, g):
        return type(self).apply(g, k=self.k)


class Triu(Tril):
    upper = True


class Clone(Function):
    def forward(self, x):
        return self.xp.asarray(x, copy=True)

    def backward(self, g):
        return g


# ---- reshaping ----------------------------------------------------------------------
def reshape(input: Tensor, *sizes, shape=None) -> Tensor:
    """The same elements in a new shape (ints, one tuple, or ``shape=``; one entry may be -1). Also for the shape
    ``input`` has, the result is a new tensor (a view), not ``input`` itself, as in PyTorch: its
    ``requires_grad_``, hooks and ``retain_grad`` are its own."""
    shape = _shape_arg(sizes, shape)
    n, known, unknown = input.numel(), 1, [i for i, s in enumerate(shape) if s == -1]
    for s in shape:
        if s != -1:
            known *= s
    if len(unknown) > 1 or (unknown and (known == 0 or n % known)) or (not unknown and known != n):
        raise RuntimeError(f"shape {shape} is invalid for a tensor of shape {input.shape} ({n} elements)")
    if unknown:
        shape = tuple(n // known if s == -1 else s for s in shape)
    out = view_apply(Reshape, input, shape=shape)
    return out if out._base is not None else rename_node(out, "UnsafeView")  # a copy: PyTorch's unsafe view


def view(x: Tensor, *sizes, size=None) -> Tensor:
    """The same elements in a new shape, sharing memory with ``x`` (one entry may be -1). Raises where
    the memory layout does not allow it (e.g. after ``transpose``), as PyTorch; ``reshape`` copies then.
    PyTorch's ``view(dtype)`` (the same bytes read as another dtype) is not available: a TypeError says so.
    The shape may also come as ``size=`` (PyTorch's keyword here)."""
    if len(sizes) == 1 and isinstance(sizes[0], _dt.DType):
        raise TypeError(f"view({sizes[0]}): lucid does not reinterpret a tensor's bytes as another dtype; use "
                        f".to({sizes[0]}) to convert the values")
    out = reshape(x, *sizes, shape=size)  # PyTorch's view spells the keyword size=
    if out._base is None:
        raise RuntimeError(
            f"view: a tensor of shape {x.shape} laid out as this one is (e.g. transposed) can't be viewed as "
            f"shape {out.shape} without copying; use .reshape(...) instead (it copies when it must)"
        )
    return out


def broadcast_to(input: Tensor, *sizes, size=None) -> Tensor:
    """``input`` broadcast to ``size`` (ints, one tuple, or ``size=``; a read-only view; -1 keeps a dimension,
    as ``expand``)."""
    size = _shape_arg(sizes, size, "size")
    lead = len(size) - input.ndim
    if lead < 0:
        raise RuntimeError(f"cannot broadcast a tensor of shape {input.shape} to fewer dimensions {size}")
    size = tuple(input.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(size))
    if size == input.shape:
        return view_apply(Reshape, input, shape=size)  # a new view (as PyTorch), one that may be written through
    for i, n in enumerate(input.shape):
        if n != 1 and n != size[lead + i]:
            raise RuntimeError(f"cannot broadcast a tensor of shape {input.shape} to {size}")
    return view_apply(BroadcastTo, input, shape=size)


expand = broadcast_to


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    """``x`` expanded to ``other``'s shape."""
    return broadcast_to(x, other.shape)


def reshape_as(x: Tensor, other: Tensor) -> Tensor:
    """``x`` reshaped to ``other``'s shape."""
    return reshape(x, other.shape)


def view_as(x: Tensor, other: Tensor) -> Tensor:
    """``x`` viewed with ``other``'s shape (raises where that needs a copy, as ``view``)."""
    return view(x, other.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Dimensions ``start_dim..end_dim`` merged into one (a 0-d tensor becomes shape ``(1,)``, as PyTorch)."""
    if input.ndim == 0:
        for d in (start_dim, end_dim):
            _dim(d, 0, "flatten")
        return reshape(input, 1)
    s, e = _dim(start_dim, input.ndim, "flatten"), _dim(end_dim, input.ndim, "flatten")
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape {input.shape})")
    if s == e:
        return input  # nothing to merge: PyTorch returns the input itself too
    return reshape(input, input.shape[:s] + (math.prod(input.shape[s:e + 1]),) + input.shape[e + 1:])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Dimension ``dim`` split into ``sizes`` (one of them may be -1); the inverse of ``flatten``."""
    _need_dims(input, "unflatten")
    d = _dim(dim, input.ndim, "unflatten")
    sizes = tuple(int(s) for s in sizes)
    n, rest = input.shape[d], math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) > 1 or (rest != n if -1 not in sizes else rest == 0 or n % rest):
        raise RuntimeError(f"unflatten: sizes {sizes} don't fit dimension {d} of size {input.shape[d]} "
                           f"(shape {input.shape})")
    return reshape(input, input.shape[:d] + sizes + input.shape[d + 1:])


def squeeze(input: Tensor, dim=None, *, axis=None) -> Tensor:
    """``input`` without its size-1 dimensions (only those in ``dim``, an int or tuple, when given).
    As PyTorch, naming a dimension whose size is not 1 leaves it alone rather than raising."""
    d = _axes.pick(dim, axis)
    if d is None:
        drop = {i for i, n in enumerate(input.shape) if n == 1}
    else:
        drop = {a for a in _dims((d,) if not isinstance(d, (tuple, list)) else d, input.ndim, "squeeze")
                if input.ndim and input.shape[a] == 1}
    out = reshape(input, tuple(n for i, n in enumerate(input.shape) if i not in drop))
    return rename_node(out, "Squeeze", 0 if d is None else 2 if isinstance(d, (tuple, list)) else 1)  # as PyTorch's


def unsqueeze(input: Tensor, dim=None, *, axis=None) -> Tensor:
    """``input`` with a new size-1 dimension at position ``dim`` (``-1`` appends one)."""
    d = _axes.pick(dim, axis)
    if d is None:
        raise TypeError("unsqueeze() needs the position of the new dimension (dim=)")
    d = _dim(d, input.ndim, "unsqueeze", extra=1)
    return rename_node(reshape(input, input.shape[:d] + (1,) + input.shape[d:]), "Unsqueeze")


# ---- permuting ----------------------------------------------------------------------
def permute(input: Tensor, *args, dims=None, axes=None) -> Tensor:
    """The dimensions of ``input`` reordered: ``permute(x, 2, 0, 1)`` or ``permute(x, (2, 0, 1))``."""
    if args:
        order = _shape_arg(args)
    elif dims is not None or axes is not None:
        order = tuple(dims if dims is not None else axes)
    else:
        raise TypeError("permute() needs the new order of the dimensions")
    if len(order) != input.ndim:
        raise RuntimeError(
            f"permute: the order {order} names {len(order)} dimensions but the tensor has shape {input.shape}"
        )
    return view_apply(Permute, input, axes=_dims(order, input.ndim, "permute"))  # a new view even for the identity


def transpose(input: Tensor, dim0=None, dim1=None, *, axes=None) -> Tensor:
    """``input`` with dimensions ``dim0`` and ``dim1`` swapped (PyTorch). As NumPy and upstream Lucid,
    ``transpose(x)`` reverses all dimensions and ``axes=`` (or a sequence as ``dim0``) permutes."""
    if isinstance(dim0, (tuple, list)):
        dim0, axes = None, dim0
    if axes is not None:
        if dim0 is not None or dim1 is not None:
            raise TypeError("transpose: pass either dim0 and dim1, or axes, not both")
        return permute(input, tuple(axes))
    if dim0 is None and dim1 is None:
        return _reverse(input)
    if dim0 is None or dim1 is None:
        raise TypeError("transpose: pass both dim0 and dim1")
    order = list(range(input.ndim))
    d0, d1 = _dim(dim0, input.ndim, "transpose"), _dim(dim1, input.ndim, "transpose")
    if input.ndim == 0:
        return permute(input, ())
    order[d0], order[d1] = d1, d0
    return rename_node(permute(input, tuple(order)), "Transpose")


swapaxes = swapdims = transpose


def movedim(input: Tensor, source, destination) -> Tensor:
    """Dimensions ``source`` moved to positions ``destination`` (ints or equal-length sequences);
    the other dimensions keep their order."""
    src = (source,) if not isinstance(source, (tuple, list)) else tuple(source)
    dst = (destination,) if not isinstance(destination, (tuple, list)) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: source {src} and destination {dst} must have the same length")
    src, dst = _dims(src, input.ndim, "movedim"), _dims(dst, input.ndim, "movedim")
    if input.ndim == 0:
        return permute(input, ())
    order = [None] * input.ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(input.ndim) if i not in src)
    return permute(input, tuple(o if o is not None else next(rest) for o in order))


moveaxis = movedim


def _reverse(x: Tensor) -> Tensor:
    """``x.T``: all dimensions reversed."""
    return permute(x, tuple(range(x.ndim - 1, -1, -1)))


def _matrix_transpose(x: Tensor) -> Tensor:
    """``x.mT``: the last two dimensions swapped (a batch of matrices transposed)."""
    _need_dims(x, "mT", 2)
    n = x.ndim
    out = view_apply(Permute, x, axes=(*range(n - 2), n - 1, n - 2))  # hot in matmul backward: skip arg parsing
    return rename_node(out, "Transpose")


def t(input: Tensor) -> Tensor:
    """The transpose of a matrix; 0-d and 1-d tensors come back as they are (as ``torch.t``)."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with at most 2 dimensions, got shape {input.shape}; "
                           "use transpose or mT")
    return rename_node(_reverse(input), "T")


# ---- joining and splitting ------------------------------------------------------------
def _tensor_list(tensors, op: str) -> list:
    """The tensors of a sequence argument, promoted to one dtype (as PyTorch's cat/stack)."""
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op} expects a sequence of tensors, got a single Tensor; wrap it in a list")
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op} expects a non-empty sequence of tensors")
    for i, t_ in enumerate(tensors):
        if not isinstance(t_, Tensor):
            raise TypeError(f"{op} expects a sequence of tensors, but element {i} is a {type(t_).__name__}")
    common = tensors[0].dtype
    for t_ in tensors[1:]:
        common = _dt.promote_types(common, t_.dtype)
    return [t_.to(common) for t_ in tensors]


def cat(tensors, dim=None, *, axis=None) -> Tensor:
    """The tensors joined along an existing dimension ``dim`` (dtypes promoted, as PyTorch). As PyTorch, an
    empty 1-D tensor (shape ``(0,)``, a common "nothing yet" start) joins tensors of any shape: it adds nothing
    but still counts for the result's dtype."""
    ts = _tensor_list(tensors, "cat")
    shaped = [t_ for t_ in ts if t_.shape != (0,)]
    ref = shaped[0] if shaped else ts[0]
    _need_dims(ref, "cat")
    d = _dim(_axis(dim, axis), ref.ndim, "cat")
    if len(shaped) < len(ts):
        empty = ref.shape[:d] + (0,) + ref.shape[d + 1:]
        ts = [t_.reshape(empty) if t_.shape == (0,) else t_ for t_ in ts]
    for i, t_ in enumerate(ts):
        if t_.ndim != ref.ndim or any(a != b for k, (a, b) in enumerate(zip(t_.shape, ref.shape)) if k != d):
            raise RuntimeError(
                f"cat: tensor {i} has shape {t_.shape} but tensor 0 has shape {ref.shape}; they must match "
                f"in every dimension except {d}"
            )
    return Cat.apply(*ts, axis=d)


concatenate = concat = cat


def stack(tensors, dim=None, *, axis=None) -> Tensor:
    """The tensors (all of one shape) joined along a new dimension ``dim``."""
    ts = _tensor_list(tensors, "stack")
    d = _dim(_axis(dim, axis), ts[0].ndim, "stack", extra=1)
    for i, t_ in enumerate(ts):
        if t_.shape != ts[0].shape:
            raise RuntimeError(
                f"stack expects tensors of one shape, got {ts[0].shape} at entry 0 and {t_.shape} at entry {i}"
            )
    return Stack.apply(*ts, axis=d)


def hstack(tensors) -> Tensor:
    """Tensors joined column-wise: along dim 1, or dim 0 when they are 1-d (0-d count as 1-d)."""
    ts = [t_.reshape(1) if t_.ndim == 0 else t_ for t_ in _tensor_list(tensors, "hstack")]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Tensors joined row-wise along dim 0, 0-d and 1-d ones taken as rows ``(1, n)``."""
    ts = [t_.reshape(1, t_.numel()) if t_.ndim < 2 else t_ for t_ in _tensor_list(tensors, "vstack")]
    return cat(ts, 0)


def split(tensor: Tensor, split_size_or_sections, dim=None, *, axis=None) -> tuple:
    """A tuple of pieces along ``dim``: of size ``split_size_or_sections`` each (the last may be
    smaller) when it is an int, or of the listed sizes (which must add up to the dimension)."""
    _need_dims(tensor, "split")
    d = _dim(_axis(dim, axis), tensor.ndim, "split")
    n, spec = tensor.shape[d], split_size_or_sections
    if isinstance(spec, Tensor):
        spec = spec.tolist()
    if isinstance(spec, (tuple, list)):
        sizes = tuple(int(s) for s in spec)
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise RuntimeError(
                f"split: the sizes {sizes} must be non-negative and add up to {n}, the size of dimension {d} "
                f"of the tensor of shape {tensor.shape}"
            )
    else:
        size = operator.index(spec)
        if size < 0 or (size == 0 and n):
            raise ValueError(f"split: split_size must be positive (0 only for an empty dimension), got {size}")
        sizes = (size,) * (n // size) + ((n % size,) if n % size else ()) if n else (0,)
    pieces = view_apply(Split, tensor, sizes=sizes, axis=d)
    if pieces and isinstance(spec, (tuple, list)):  # PyTorch's split_with_sizes: a node of its own (one for all)
        rename_node(pieces[0], "SplitWithSizes")
    return pieces


def chunk(input: Tensor, chunks: int, dim=None, *, axis=None) -> tuple:
    """``input`` split into at most ``chunks`` pieces of equal size ``ceil(n / chunks)`` along ``dim``
    (the last may be smaller, and fewer pieces may come back, as in PyTorch)."""
    chunks = operator.index(chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be positive, got {chunks}")
    _need_dims(input, "chunk")
    d = _dim(_axis(dim, axis), input.ndim, "chunk")
    n = input.shape[d]
    if n == 0:
        return view_apply(Split, input, sizes=(0,) * chunks, axis=d)
    return split(input, -(-n // chunks), d)


def unbind(input: Tensor, dim=None, *, axis=None) -> tuple:
    """The slices of ``input`` along ``dim``, as a tuple of tensors without that dimension."""
    _need_dims(input, "unbind")
    return view_apply(Unbind, input, axis=_dim(_axis(dim, axis), input.ndim, "unbind"))


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The ``length`` elements from ``start`` (may be negative) along ``dim``."""
    _need_dims(input, "narrow")
    d = _dim(dim, input.ndim, "narrow")
    n, start, length = input.shape[d], operator.index(start), operator.index(length)
    first = start + n if start < 0 else start
    if not 0 <= first <= n or length < 0 or first + length > n:
        raise RuntimeError(
            f"narrow: start {start} and length {length} don't fit dimension {d} of size {n} (shape {input.shape})"
        )
    return input[(slice(None),) * d + (slice(first, first + length),)]


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim`` (that dimension removed): a view, as ``input[:, index]``."""
    _need_dims(input, "select")
    d = _dim(dim, input.ndim, "select")
    n, i = input.shape[d], operator.index(index)
    if not -n <= i < n:
        raise IndexError(f"select: index {index} is out of range for dimension {d} of size {n} (shape {input.shape})")
    return input[(slice(None),) * d + (i,)]


def unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """The windows of ``size`` elements, ``step`` apart, along ``dimension`` (``Tensor.unfold``): that
    dimension becomes the window count and a new last dimension of ``size`` holds each window. A
    read-only view (windows overlap when ``step < size``)."""
    d = _dim(dimension, max(x.ndim, 1), "unfold")
    n = x.shape[d] if x.ndim else 1
    size, step = operator.index(size), operator.index(step)
    if step <= 0 or size < 0 or size > n:
        raise RuntimeError(
            f"unfold: size {size} must be between 0 and {n} (dimension {d} of shape {x.shape}) and step "
            f"{step} positive"
        )
    if x.ndim == 0:
        return reshape(x, (1,))[:size]  # one window of the one element, or none for size 0 (as PyTorch)
    return view_apply(Unfold, x, axis=d, size=size, step=step)


# ---- repeating --------------------------------------------------------------------------
def repeat(x: Tensor, *sizes) -> Tensor:
    """``x`` tiled ``sizes[i]`` times along each dimension (``Tensor.repeat``; extra leading sizes
    add dimensions). Not NumPy's ``repeat``: that one is ``repeat_interleave``."""
    reps = _shape_arg(sizes)
    if len(reps) < x.ndim:
        raise RuntimeError(
            f"repeat: {len(reps)} sizes {reps} given for a tensor of shape {x.shape}; give at least {x.ndim}"
        )
    if any(r < 0 for r in reps):
        raise ValueError(f"repeat: sizes must be non-negative, got {reps}")
    shape = (1,) * (len(reps) - x.ndim) + x.shape
    spread = sum(((1, n) for n in shape), ())
    tiled = sum(((r, n) for r, n in zip(reps, shape)), ())
    out = x.reshape(spread).expand(tiled).reshape(tuple(r * n for r, n in zip(reps, shape)))
    out = clone(out) if out._base is not None else out  # new memory, as PyTorch (the reshape made a view)
    return rename_node(out, "Repeat")


def tile(input: Tensor, *reps, dims=None) -> Tensor:
    """``input`` repeated ``dims[i]`` times along each dimension (ints, one tuple, or ``dims=``); a short
    ``dims`` is padded with leading 1s (unlike ``repeat``), as ``torch.tile`` / ``numpy.tile``."""
    reps = _shape_arg(reps, dims, "dims")
    return repeat(input, (1,) * (input.ndim - len(reps)) + reps)


def repeat_interleave(input: Tensor, repeats=None, dim=None, *, axis=None, output_size=None) -> Tensor:
    """Each element repeated ``repeats`` times (an int, or one count per element) along ``dim``;
    over the flattened tensor when ``dim`` is None (NumPy's ``repeat``). With ``input`` alone, a 1-D tensor
    of counts: each index ``i`` repeated ``input[i]`` times (PyTorch's ``repeat_interleave(repeats)``, e.g. a
    segment id per element from segment lengths). ``output_size`` (PyTorch's hint of the result's length)
    is accepted and checked."""
    if repeats is None:
        if not isinstance(input, Tensor) or input.ndim != 1 or input.dtype.kind not in "iu":
            got = (f"a {input.dtype.name} tensor of shape {input.shape}" if isinstance(input, Tensor)
                   else type(input).__name__)
            raise TypeError(f"repeat_interleave(repeats): repeats must be a 1-D integer tensor, got {got}")
        from .creation import arange

        input, repeats = arange(input.shape[0], device=input.device), input
    out = _repeat_interleave(input, repeats, dim, axis)
    d = _axes.pick(dim, axis)
    if output_size is not None and out.shape[0 if d is None else d] != output_size:
        raise RuntimeError(f"repeat_interleave: output_size={output_size} is not the length of the result "
                           f"(shape {out.shape})")
    return out


def _repeat_interleave(x: Tensor, repeats, dim, axis) -> Tensor:
    d = _axes.pick(dim, axis)
    if d is None:
        x, d = flatten(x), 0
    _need_dims(x, "repeat_interleave")
    d = _dim(d, x.ndim, "repeat_interleave")
    if isinstance(repeats, Tensor):
        repeats = repeats.tolist()
    if isinstance(repeats, (tuple, list)) and len(repeats) == 1:
        repeats = repeats[0]
    if not isinstance(repeats, (tuple, list)):
        r = operator.index(repeats)
        if r < 0:
            raise ValueError(f"repeat_interleave: repeats must be non-negative, got {r}")
        y = unsqueeze(x, d + 1)
        return flatten(y.expand(y.shape[:d + 1] + (r,) + y.shape[d + 2:]), d, d + 1)
    repeats = tuple(int(r) for r in repeats)
    if len(repeats) != x.shape[d] or any(r < 0 for r in repeats):
        raise RuntimeError(
            f"repeat_interleave: needs one non-negative count per element of dimension {d} "
            f"(size {x.shape[d]}), got {len(repeats)} counts {repeats}"
        )
    return Take.apply(x, runs=tuple((i, 0, r) for i, r in enumerate(repeats)), axis=d)


# ---- reordering -----------------------------------------------------------------------
def flip(input: Tensor, *args, dims=None, axis=None) -> Tensor:
    """``input`` with the order of elements reversed along ``dims`` (all dimensions when none are
    given, as NumPy; PyTorch requires them). ``input.flip(0, 1)`` and ``flip(x, [0, 1])`` both work."""
    if args:
        dims = _shape_arg(args)
    elif dims is None:
        dims = axis
    if dims is None:
        dims = tuple(range(input.ndim))
    axes = _dims((dims,) if not isinstance(dims, (tuple, list)) else dims, input.ndim, "flip")
    if input.ndim == 0 or not axes:
        return clone(input)  # a copy even with nothing to reverse, as PyTorch
    return Flip.apply(input, axes=axes)


def roll(input: Tensor, shifts, dims=None, *, axis=None) -> Tensor:
    """Elements shifted by ``shifts`` along ``dims``, wrapping around; with no ``dims`` the
    flattened tensor is rolled and the shape restored (as PyTorch)."""
    d = _axes.pick(dims, axis, "dims")
    shifts = (shifts,) if not isinstance(shifts, (tuple, list)) else tuple(shifts)
    if d is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: without dims, shifts must be a single int, got {shifts}")
        return roll(flatten(input), shifts, 0).reshape(input.shape)
    d = (d,) if not isinstance(d, (tuple, list)) else tuple(d)
    if len(shifts) != len(d):
        raise RuntimeError(f"roll: shifts {shifts} and dims {d} must have the same length")
    _need_dims(input, "roll")
    axes = tuple(_dim(a, input.ndim, "roll") for a in d)
    return Roll.apply(input, shifts=tuple(operator.index(s) for s in shifts), axes=axes)


# ---- padding ---------------------------------------------------------------------------
_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_runs(mode: str, n: int, lo: int, hi: int, axis: int, shape) -> tuple:
    """For a non-constant pad of one axis of size ``n``: the runs (see ``Take``) of the input positions the
    output reads."""
    where = f"padding ({lo}, {hi}) of dimension {axis} of a tensor of shape {shape}"
    if mode == "circular":  # crop first, then wrap (as PyTorch), one run per wrap
        start, m = max(-lo, 0), n - max(-lo, 0) - max(-hi, 0)
        if m == 0 and (lo > 0 or hi > 0):
            raise ValueError(f"pad: circular padding needs a non-empty dimension after cropping, got {where}")
        runs, j, end = [], -max(lo, 0), m + max(hi, 0)
        while j < end or not runs:
            k = j % m if m else 0
            runs.append((start + k, 1, min(m - k, end - j)))
            j += runs[-1][2]
        return tuple(runs)
    if mode == "reflect" and (lo >= n or hi >= n):
        raise RuntimeError(f"pad: reflect padding must be smaller than the dimension, got {where}")
    if mode == "replicate" and n == 0:
        raise ValueError(f"pad: replicate padding needs a non-empty dimension, got {where}")
    start, stop = -lo, n + hi  # output position j reads input position j, folded back into [0, n) outside it
    before, after = max(min(stop, 0) - start, 0), max(stop - max(start, n), 0)
    runs = [((lo, -1, before) if mode == "reflect" else (0, 0, before))] if before else []
    runs.append((min(max(start, 0), n), 1, max(min(stop, n) - max(start, 0), 0)))
    if after:
        runs.append((2 * (n - 1) - max(start, n), -1, after) if mode == "reflect" else (n - 1, 0, after))
    return tuple(runs)


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """``input`` padded as ``torch.nn.functional.pad``: ``pad`` lists (before, after) widths starting
    from the last dimension; negative widths crop. Modes: ``constant`` (with ``value``, default 0),
    ``reflect``, ``replicate``, ``circular``. Unlike PyTorch, the non-constant modes work on any
    number of dimensions and circular padding may wrap around more than once."""
    widths_in = tuple(operator.index(p) for p in pad)
    if len(widths_in) % 2 or len(widths_in) // 2 > input.ndim:
        raise RuntimeError(
            f"pad: needs an even number of widths, two per padded dimension, at most {2 * input.ndim} for a "
            f"tensor of shape {input.shape}; got {widths_in}"
        )
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: unknown mode {mode!r}; expected one of {', '.join(_PAD_MODES)}")
    widths = [(0, 0)] * input.ndim
    for k in range(len(widths_in) // 2):
        widths[input.ndim - 1 - k] = (widths_in[2 * k], widths_in[2 * k + 1])
    for i, ((lo, hi), n) in enumerate(zip(widths, input.shape)):
        if (n + lo + hi if mode == "replicate" else n - max(-lo, 0) - max(-hi, 0)) < 0:  # replicate clamps
            raise ValueError(
                f"pad: padding ({lo}, {hi}) crops more than dimension {i} of the tensor of shape {input.shape} holds"
            )
    node = _pad_node(mode, len(widths_in) // 2)
    if all(w == (0, 0) for w in widths):
        return rename_node(clone(input), *node)  # new memory, as PyTorch's pad (writes into it never reach ``x``)
    if mode == "constant":
        out = Pad.apply(input, widths=tuple(widths), value=0 if value is None else value)
        if all(lo <= 0 and hi <= 0 for lo, hi in widths):  # a crop is a view: copy
            return rename_node(clone(out), *node)
        return out
    if value not in (None, 0):
        raise ValueError(f"pad: mode {mode!r} takes no value, got value={value}")
    take = _take_pad_float32 if (mode, len(widths_in) // 2) in _FLOAT32_PADS else _take_pad
    return rename_node(take(input, tuple(widths), mode), *node)


def _pad_node(mode: str, dims: int) -> tuple:
    """PyTorch's node (name, overload) of ``pad`` in ``mode`` over the last ``dims`` dimensions (its circular pad
    writes slices of the result: CopySlices)."""
    if mode == "circular":
        return CopySlices.torch_name, None
    return {"constant": "ConstantPadNd", "reflect": f"ReflectionPad{dims}D",
            "replicate": f"ReplicationPad{dims}D"}[mode], 0


def _take_pad(x: Tensor, widths: tuple, mode: str) -> Tensor:
    """``x`` padded by ``widths`` (one (before, after) pair per dimension) in a non-constant ``mode``."""
    shape = x.shape
    for i, ((lo, hi), n) in enumerate(zip(widths, shape)):
        if lo or hi:
            x = Take.apply(x, runs=_pad_runs(mode, n, lo, hi, i, shape), axis=i)
    return x


# (mode, padded dimensions) that PyTorch's CPU autocast runs in float32: its reflection_pad1d/2d and
# replication_pad1d/2d/3d (reflection_pad3d, circular and constant pads keep their input's dtype; CUDA casts none)
_FLOAT32_PADS = {("reflect", 1), ("reflect", 2), ("replicate", 1), ("replicate", 2), ("replicate", 3)}
_take_pad_float32 = autocast_op({"cpu": FLOAT32})(_take_pad)


# ---- triangles and diagonals ------------------------------------------------------------
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions (below and on the ``diagonal``-th), zeros elsewhere."""
    _need_dims(input, "tril", 2)
    return Tril.apply(input, k=operator.index(diagonal))


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dimensions (above and on the ``diagonal``-th), zeros elsewhere."""
    _need_dims(input, "triu", 2)
    return Triu.apply(input, k=operator.index(diagonal))


def diagonal(input: Tensor, offset: int = 0, dim1=None, dim2=None, *, axis1=None, axis2=None) -> Tensor:
    """The ``offset``-th diagonal of the matrices spanned by ``dim1`` and ``dim2``; both dimensions
    are removed and the diagonal becomes the last one (as PyTorch and NumPy)."""
    _need_dims(input, "diagonal", 2)
    d1 = _dim(_axis(dim1, axis1, 0), input.ndim, "diagonal")
    d2 = _dim(_axis(dim2, axis2, 1), input.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 must differ, both are {d1}")
    return view_apply(Diagonal, input, offset=operator.index(offset), axes=(d1, d2))


# ---- grids and copies ---------------------------------------------------------------------
def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids from 0-d/1-d tensors: output ``i`` varies along dimension ``i``
    (``indexing="ij"``, PyTorch's default) or, for ``"xy"``, with the first two swapped (NumPy's default)."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ValueError("meshgrid expects at least one tensor")
    for i, t_ in enumerate(tensors):
        if not isinstance(t_, Tensor):
            raise TypeError(f"meshgrid expects tensors, but argument {i} is a {type(t_).__name__}")
        if t_.ndim > 1:
            raise RuntimeError(f"meshgrid expects 0-d or 1-d tensors, but argument {i} has shape {t_.shape}")
        if t_._device is not tensors[0]._device:
            raise DeviceMismatchError(
                f"meshgrid got tensors on {tensors[0]._device} and {t_._device}; move them to one device"
            )
        if t_.dtype is not tensors[0].dtype:
            raise TypeError(f"meshgrid expects tensors of one dtype, got {tensors[0].dtype.name} and {t_.dtype.name}")
    where = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        where[0], where[1] = 1, 0
    shape = [0] * len(tensors)
    for t_, p in zip(tensors, where):
        shape[p] = t_.numel()
    return tuple(
        t_.reshape(tuple(n if k == p else 1 for k, n in enumerate(shape))).expand(tuple(shape))
        for t_, p in zip(tensors, where)
    )


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of ``input`` with its own storage, still connected to the graph (gradients pass through). It keeps
    ``input``'s layout (PyTorch's default ``preserve_format``); ``memory_format=lucid.contiguous_format`` makes it
    row-major, as in PyTorch."""
    if memory_format is _typeinfo.contiguous_format and not input.is_contiguous():
        return Contiguous.apply(input)  # a row-major copy (of a row-major x, Clone's copy is one already)
    return Clone.apply(input)


class Contiguous(Clone):
    torch_name = "Clone"
    def forward(self, x):
        return row_major(self.xp, x)


def contiguous(x: Tensor, memory_format=None) -> Tensor:
    """``x`` itself when its elements lie in row-major order, else a row-major copy (differentiable), so that
    ``view`` works on the result, as in PyTorch. ``memory_format`` is accepted; lucid keeps row-major layouts."""
    return x if x.is_contiguous() else Contiguous.apply(x)


METHODS = {
    "reshape": reshape, "view": view, "expand": expand, "broadcast_to": broadcast_to, "expand_as": expand_as,
    "reshape_as": reshape_as, "view_as": view_as, "flatten": flatten, "unflatten": unflatten,
    "squeeze": squeeze, "unsqueeze": unsqueeze, "permute": permute, "transpose": transpose,
    "swapaxes": swapaxes, "swapdims": swapdims, "movedim": movedim, "moveaxis": moveaxis, "t": t,
    "T": property(_reverse), "mT": property(_matrix_transpose), "split": split, "chunk": chunk,
    "unbind": unbind, "narrow": narrow, "select": select, "unfold": unfold,
    "repeat": repeat, "tile": tile, "repeat_interleave": repeat_interleave,
    "flip": flip, "roll": roll, "tril": tril, "triu": triu, "diagonal": diagonal, "clone": clone,
    "contiguous": contiguous,
}
INPLACE = ["tril", "triu"]
