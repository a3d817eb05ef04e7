"""Pooling: ``max_pool1/2/3d``, ``avg_pool1/2/3d``, ``adaptive_avg_pool1/2/3d``,
``adaptive_max_pool1/2/3d``, ``lp_pool1/2/3d``.

All dimension-generic, on the strided windows of :mod:`.conv`:

- average pooling sums each window of the (zero-padded) input, kernel offset by offset
  (``WindowSum``, whose adjoint ``WindowSpread`` adds each gradient back over its window) and
  divides by the window counts PyTorch uses (``count_include_pad``, ``divisor_override``,
  ``ceil_mode``);
- max pooling takes the maximum over the strided slices of each kernel offset and keeps each
  window's first maximum (ties: the first index; nan: the last nan, as PyTorch) as a small
  per-window offset (``BlockGather``/``BlockScatter``; int64 positions only for
  ``return_indices``). Where padding could win a window, and off the host with padding, it finds
  the argmax on the window view and gathers those elements instead, so the gradient is scattered
  to the argmax positions (and the second derivative gathers again);
- adaptive average pooling multiplies each spatial dimension by an averaging matrix (the
  windows of a product region are a product of 1-D windows); adaptive max pooling gathers
  each (variable) window through an index table.
"""

from __future__ import annotations

import itertools
import math

from ..._backend.device import on_input_device
from ..._tensor import Tensor
from ...amp.autocast import autocast_op
from ...autograd.function import FLOAT32, Function, rename_node, tied
from ...ops.linalg import matmul
from .conv import Geometry, add_windows, batched, floating, ntuple, pad_array, window_count, windows

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d",
]


# ---- Functions ------------------------------------------------------------------------
class WindowSum(Function):
    """The sum of each window (zero padding) over the last axes, added offset by offset in the window's row-major
    order (PyTorch's order: the same rounding); the adjoint of ``WindowSpread``. NumPy's sum over the small
    window axes of a strided view measured 7x slower (a 3x3 avg_pool2d over (32, 64, 56, 56): forward 360 -> 43 ms)."""

    def forward(self, x, geo):
        self.geo = geo
        views = _block_views(self.device, x, geo, 0)
        if len(views) == 1:
            return self.xp.asarray(views[0], copy=True)
        total = views[0] + views[1]
        for v in views[2:]:
            total += v
        return total

    def backward(self, g):
        return WindowSpread.apply(g, geo=self.geo)


class WindowSpread(Function):
    """Each value added to every position of its window; the adjoint of ``WindowSum``."""

    def forward(self, g, geo):
        self.geo = geo
        return add_windows(self.device, lambda offset: g, g.shape[:g.ndim - len(geo.kernel)], geo, g.dtype)

    def backward(self, h):
        return WindowSum.apply(h, geo=self.geo)


class BlockGather(Function):
    """Max pooling's values: the element of each window at its compact offset ``idx`` (row-major within
    the window, a small unsigned int). ``values``, when given, are those elements already (the forward
    computed them). The adjoint of ``BlockScatter``."""

    def forward(self, x, idx, geo, values=None):
        self.idx, self.geo = idx, geo
        if values is not None:
            return values
        views = _block_views(self.device, x, geo, 0)
        out = views[-1]
        for j in range(len(views) - 2, -1, -1):
            out = self.xp.where(idx == j, views[j], out)
        return out

    def backward(self, g):
        return BlockScatter.apply(g, idx=self.idx, geo=self.geo)


class BlockScatter(Function):
    """Each value of ``g`` (one per window) put at its window's offset ``idx``, zero elsewhere: the
    gradient of ``BlockGather``, written window offset by window offset through strided slices (added
    up where windows overlap)."""

    def forward(self, g, idx, geo):
        self.idx, self.geo = idx, geo
        dev = self.device
        lead = g.shape[:g.ndim - len(geo.kernel)]
        overlap = any(s < d * (k - 1) + 1 for s, k, d in zip(geo.stride, geo.kernel, geo.dilation))
        tiled = geo.stride == geo.kernel and all(d == 1 for d in geo.dilation) and all(
            o * k == n for o, k, n in zip(geo.out, geo.kernel, geo.padded))
        # laid out as the pooled input (whose layout idx, made from its views, has); tiled: the offsets cover it all
        out = _laid_out_as(dev, idx, tuple(lead) + geo.padded, g.dtype, zeros=not tiled)
        head = (slice(None),) * len(lead)
        offsets = list(enumerate(itertools.product(*(range(k) for k in geo.kernel))))
        # overlapping: the last offset first, so that each input sums its windows' gradients in their row-major
        # order, as PyTorch (the same rounding)
        for j, offset in reversed(offsets) if overlap else offsets:
            if overlap:
                out[head + geo.offset_slices(offset)] += self.backend.masked(idx == j, g)
            else:
                out[head + geo.offset_slices(offset)] = self.backend.masked(idx == j, g)
        if any(lo or hi for lo, hi in geo.padding):
            out = out[head + tuple(slice(lo, lo + n) for (lo, _), n in zip(geo.padding, geo.size))]
        return out

    def backward(self, h):
        return BlockGather.apply(h, idx=self.idx, geo=self.geo)


def _laid_out_as(device, like, shape, dtype, zeros: bool):
    """A new array of ``shape`` and ``dtype`` (as many axes as ``like``) whose axes lie in memory in ``like``'s
    order: the gradient of a pooling laid out as the tensor it flows back into (a convolution's output keeps
    the batch innermost), so that the elementwise ops meeting both read memory in one order (crossing orders
    made ReLU's backward 11x slower). C order where the backend does not tell strides."""
    strides = device.backend.strides(like)
    xp, make = device.xp, (device.xp.zeros if zeros else device.xp.empty)
    if strides is None:
        return make(shape, dtype=dtype, device=device.native)
    order = sorted(range(len(shape)), key=lambda i: -abs(strides[i]))  # outermost axis first
    out = make(tuple(shape[i] for i in order), dtype=dtype, device=device.native)
    return xp.permute_dims(out, tuple(order.index(i) for i in range(len(shape))))


def _block_views(device, x, geo, fill):
    """The (padded) input read at each kernel offset by every window, in row-major offset order."""
    x = pad_array(device, x, geo.padding, fill)
    head = (slice(None),) * (x.ndim - len(geo.kernel))
    return [x[head + geo.offset_slices(offset)] for offset in itertools.product(*(range(k) for k in geo.kernel))]


# ---- arguments ------------------------------------------------------------------------
def _window_args(nd, x, kernel_size, stride, padding, dilation, ceil_mode, name):
    """The Geometry of a pooling: stride defaults to the kernel, and with ``ceil_mode`` the padding
    after the input grows to hold the last, overhanging window."""
    kernel = ntuple(kernel_size, nd, f"{name}: kernel_size", 1)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
        ntuple(stride, nd, f"{name}: stride", 1)
    pad = ntuple(padding, nd, f"{name}: padding")
    dilation = ntuple(dilation, nd, f"{name}: dilation", 1)
    if any(p > k // 2 for p, k in zip(pad, kernel)):
        raise RuntimeError(f"{name}: padding {pad} must be at most half of kernel_size {kernel}, as in PyTorch")
    size = x.shape[2:]
    out = tuple(window_count(n, k, s, p, p, d, ceil_mode) for n, k, s, p, d in zip(size, kernel, stride, pad, dilation))
    if any(n < 1 for n in out):
        raise RuntimeError(f"{name}: the output would be empty for input shape {x.shape} and kernel {kernel}")
    after = tuple(max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)
                  for n, k, s, p, d, o in zip(size, kernel, stride, pad, dilation, out))
    return Geometry(size, kernel, stride, dilation, tuple(zip(pad, after)), out)


def _lowest(x: Tensor):
    """The value below every element of ``x``'s dtype (padding that never wins a max)."""
    xp, native = x.xp, x._data.dtype
    return -math.inf if x.dtype.kind == "f" else int(xp.iinfo(native).min)


def row_major_steps(shape) -> list:
    """Row-major strides (in elements) of ``shape``: the flat-position weights of each axis."""
    out, step = [], 1
    for n in reversed(shape):
        out.append(step)
        step *= n
    return out[::-1]


def _pick(x: Tensor, flat, out_shape, return_indices):
    """The elements of ``x`` (N, C, *size) at the flat spatial positions ``flat`` (an int64 array
    (N, C, *out)), differentiably (the gradient is scattered back to them); with the indices."""
    n, c = x.shape[:2]
    index = Tensor._make(flat, x._device)
    flat_input = x.reshape(n, c, math.prod(x.shape[2:]))
    y = flat_input.gather(2, index.reshape(n, c, math.prod(out_shape))).reshape((n, c) + tuple(out_shape))
    return (y, index) if return_indices else y


def tied_to_input(result, x):
    """The pooled ``result`` (values, or values and indices) whose gradient stays in the graph of the pooled input
    ``x`` under create_graph (see :func:`lucid.autograd.function.tied`), as PyTorch's pooling backward, which
    takes its input: differentiating the input gradient gives zeros for ``x`` (and what made it), not None."""
    if isinstance(result, tuple):
        return (tied(result[0], x, always=True), *result[1:])
    return tied(result, x, always=True)


def _unbatch(result, was_batched, nd, torch_name):
    """``result`` (values, or values and indices) recorded as PyTorch's node ``torch_name`` (``{}``: the dimension
    count; None: as it is, a global pooling's mean; PyTorch pools in 1-D as in 2-D, squeezed), unbatched as the
    input was (PyTorch pools an unbatched input in 2-D and 3-D as it is: its node, not a squeeze)."""
    values = result[0] if isinstance(result, tuple) else result
    if nd == 1:
        rename_node(values, "Squeeze", 1)
    elif torch_name is not None:
        rename_node(values, torch_name.format(nd))
    if was_batched:
        return result
    result = tuple(r.squeeze(0) for r in result) if isinstance(result, tuple) else result.squeeze(0)
    if nd > 1:
        values = result[0] if isinstance(result, tuple) else result
        rename_node(values, *((torch_name.format(nd), 0) if torch_name is not None else ("Mean", 1)))
    return result


# ---- max pooling --------------------------------------------------------------------------
def _max_pool(nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    name = f"max_pool{nd}d"
    x, was_batched = batched(input, nd, name)
    geo = _window_args(nd, x, kernel_size, stride, padding, dilation, ceil_mode, name)
    result = _max_pool_blocks(x, geo, return_indices)
    if result is not None:
        return _unbatch(tied_to_input(result, x), was_batched, nd, "MaxPool{}DWithIndices")
    dev, xp = x._device, x.xp
    n, c = x.shape[:2]
    view = xp.reshape(windows(dev, x._data, geo, _lowest(x)), (n, c) + geo.out + (math.prod(geo.kernel),))
    # the first maximum of each window; PyTorch takes the last nan of a window that has any (off the
    # host that rule is applied without asking whether there is a nan: asking is a sync)
    local = xp.argmax(view, axis=-1)
    if x.dtype.kind == "f" and (not dev.host or xp.any(xp.isnan(x._data))):
        isnan = xp.isnan(view)
        last = view.shape[-1] - 1 - xp.argmax(xp.astype(xp.flip(isnan, axis=-1), xp.uint8), axis=-1)
        local = xp.where(xp.any(isnan, axis=-1), last, local)
    coords, outside = [], None
    per_dim = zip(geo.kernel, geo.stride, geo.dilation, geo.padding, geo.size, geo.out)
    for i, (k, s, d, (lo, _), size, o) in enumerate(per_dim):
        step = math.prod(geo.kernel[i + 1:])
        j = xp.astype((local // step) % k, xp.int64)
        o_pos = xp.reshape(xp.arange(o, dtype=xp.int64, device=dev.native), (o,) + (1,) * (nd - 1 - i))
        start = o_pos * s - lo
        coord = start + j * d
        bad = (coord < 0) | (coord >= size)
        outside = bad if outside is None else outside | bad
        first = start + ((-start + d - 1) // d) * d * xp.astype(start < 0, xp.int64)  # first position inside
        coords.append((coord, first))
    # a window whose real elements are all -inf may pick padding: PyTorch reports its first real element
    flat = sum(xp.where(outside, first, coord) * stride_
               for (coord, first), stride_ in zip(coords, row_major_steps(geo.size)))
    return _unbatch(tied_to_input(_pick(x, flat, geo.out, return_indices), x), was_batched, nd, "MaxPool{}DWithIndices")


@on_input_device
def _max_pool_blocks(x: Tensor, geo: Geometry, return_indices):
    """Max pooling as the maximum over the strided slices of each kernel offset, the first maximum's offset
    in the window kept as a small unsigned int (no int64 index arithmetic); the gradient is scattered
    through those offsets (added up where windows overlap: a 3x3 stride-2 pooling over 64 channels at
    56x56, batch 32, fwd+bwd 162 -> 104 ms, where the general path's argmax over copied windows took a
    third; max_pool1d(3, 2) over (64, 128, 1024) 199 -> 60 ms). None (the general path then runs) when
    padding could win a window (its real elements all the
    lowest value), and off the host whenever there is padding (telling would read the data: a sync)."""
    xp, dev = x.xp, x._device
    padded = any(lo or hi for lo, hi in geo.padding)
    if padded and not dev.host:  # whether padding wins a window is a read of the data: a sync off the host
        return None
    lowest = _lowest(x)
    views = _block_views(dev, x._data, geo, lowest)
    y = xp.asarray(views[0], copy=True) if len(views) == 1 else views[0]
    for v in views[1:]:
        y = xp.maximum(v, y)  # NumPy returns its second argument on ties: the first of -0.0 and 0.0, as PyTorch
    if padded and xp.any(y == lowest):
        return None
    kind = next(t for t, top in ((xp.uint8, 255), (xp.uint16, 65535), (xp.int64, None))
                if top is None or len(views) <= top)
    # the offset of the first maximum: how many offsets before it hold something else
    missed = views[0] != y
    idx = xp.astype(missed, kind)
    for v in views[1:-1]:
        missed &= v != y
        idx += xp.astype(missed, kind)
    if x.dtype.kind == "f":
        nan = xp.isnan(y)
        if not dev.host or xp.any(nan):  # PyTorch takes the last nan of the window (not asked off the host: a sync)
            for j, v in enumerate(views):
                idx = xp.where(nan & xp.isnan(v), xp.asarray(j, dtype=kind, device=dev.native), idx)
    out = BlockGather.apply(x, idx=idx, geo=geo, values=y)
    if not return_indices:
        return out
    nd = len(geo.kernel)
    flat = 0
    per_dim = zip(geo.kernel, geo.stride, geo.dilation, geo.padding, geo.out, row_major_steps(geo.size))
    for i, (k, s, d, (lo, _), o, stride_) in enumerate(per_dim):
        j = xp.astype((idx // math.prod(geo.kernel[i + 1:])) % k, xp.int64)
        o_pos = xp.reshape(xp.arange(o, dtype=xp.int64, device=dev.native), (o,) + (1,) * (nd - 1 - i))
        flat = flat + (o_pos * s - lo + j * d) * stride_
    return out, Tensor._make(flat, dev)


def _pool_policy(nd):
    """PyTorch's autocast runs the 3-d poolings in float32 on the CPU, and casts no other pooling."""
    return {"cpu": FLOAT32} if nd == 3 else None


def _max_pool_fn(nd):
    def max_pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        return _max_pool(nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)

    max_pool.__name__ = max_pool.__qualname__ = f"max_pool{nd}d"
    max_pool.__doc__ = (
        f"{nd}-D max pooling over ``input`` ``(N, C, *spatial)`` (or unbatched). ``stride`` defaults to "
        f"``kernel_size``; padding counts as -inf. With ``return_indices`` also returns the int64 positions of "
        f"the maxima in each flattened input plane (ties: the first, as PyTorch). The gradient goes to those positions."
    )
    return autocast_op(_pool_policy(nd))(max_pool)


# ---- average pooling --------------------------------------------------------------------
def _window_sizes(geo: Geometry, count_include_pad: bool, like: Tensor) -> Tensor:
    """How many elements PyTorch divides each window's sum by: the window clipped to the
    padded input, or to the input itself when padding is not counted."""
    total = None
    for i, (k, s, (lo, _), size, o) in enumerate(zip(geo.kernel, geo.stride, geo.padding, geo.size, geo.out)):
        counts = []
        for start in range(-lo, o * s - lo, s):
            end = min(start + k, size + lo)
            counts.append(end - start if count_include_pad else min(end, size) - max(start, 0))
        t = Tensor(counts, dtype=like.dtype, device=like._device).reshape((o,) + (1,) * (len(geo.kernel) - 1 - i))
        total = t if total is None else total * t
    return total


def _avg_pool(nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    name = f"avg_pool{nd}d"
    x, was_batched = batched(input, nd, name)
    floating(name, x)
    geo = _window_args(nd, x, kernel_size, stride, padding, 1, ceil_mode, name)
    sums = tied_to_input(WindowSum.apply(x, geo=geo), x)
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError(f"{name}: divisor_override must not be zero")
        return _unbatch(sums / divisor_override, was_batched, nd, "AvgPool{}D")
    return _unbatch(sums / _window_sizes(geo, count_include_pad, x), was_batched, nd, "AvgPool{}D")


def _avg_pool_fn(nd):
    def avg_pool(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        return _avg_pool(nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)

    avg_pool.__name__ = avg_pool.__qualname__ = f"avg_pool{nd}d"
    avg_pool.__doc__ = (
        f"{nd}-D average pooling. ``stride`` defaults to ``kernel_size``; ``count_include_pad`` counts the zero "
        f"padding in the divisor (not the part of a ``ceil_mode`` window past the padding, as PyTorch); "
        f"``divisor_override`` replaces the divisor (PyTorch's avg_pool1d lacks it; lucid accepts it)."
    )
    return autocast_op(_pool_policy(nd))(avg_pool)


# ---- adaptive pooling -------------------------------------------------------------------
def _adaptive_sizes(nd, x, output_size, name) -> tuple:
    """``output_size`` per spatial dimension; None keeps the input size, as PyTorch."""
    sizes = (output_size,) * nd if not isinstance(output_size, (tuple, list)) else tuple(output_size)
    if len(sizes) == 1 and nd > 1:
        sizes = sizes * nd
    if len(sizes) != nd:
        raise RuntimeError(f"{name}: output_size needs {nd} values, got {output_size!r}")
    sizes = tuple(n if o is None else int(o) for o, n in zip(sizes, x.shape[2:]))
    if any(o < 1 for o in sizes) or any(n < 1 for n in x.shape[2:]):
        raise ValueError(f"{name}: output_size {sizes} and input spatial size {x.shape[2:]} must be positive")
    return sizes


def _bounds(size: int, out: int):
    """Adaptive windows along one dimension: ``[floor(o*size/out), ceil((o+1)*size/out))``."""
    return [((o * size) // out, -(-(o + 1) * size // out)) for o in range(out)]


def along_axis(x: Tensor, axis: int, m: Tensor) -> Tensor:
    """``x`` with its dimension ``axis`` multiplied by the ``(out, size)`` matrix ``m``: ``x @ m.T`` for the last,
    ``m @ x`` over the axes after it merged for the others, with no transposed copy of ``x`` (adaptive average
    pooling 56 -> 7 over (32, 64, 56, 56) fwd+bwd: 24 -> 12 ms, torch's time)."""
    if axis == x.ndim - 1:
        return matmul(x, m.mT)
    rest = x.shape[axis + 1:]
    y = matmul(m, x.reshape(x.shape[:axis + 1] + (math.prod(rest),)))
    return y.reshape(x.shape[:axis] + (m.shape[0],) + rest)


def along(x: Tensor, matrices) -> Tensor:
    """``x`` with each spatial dimension ``i`` (the last ``len(matrices)``) multiplied by the
    ``(out_i, size_i)`` matrix ``matrices[i]``; separable resampling as a few GEMMs."""
    for axis, m in enumerate(matrices, start=x.ndim - len(matrices)):
        x = along_axis(x, axis, m)
    return x


def averaging_matrix(size: int, out: int, like: Tensor) -> Tensor:
    """The ``(out, size)`` matrix averaging each adaptive window."""
    rows = [[1.0 / (hi - lo) if lo <= i < hi else 0.0 for i in range(size)] for lo, hi in _bounds(size, out)]
    return Tensor(rows, dtype=like.dtype, device=like._device)


def _adaptive_avg_pool(nd, input, output_size):
    name = f"adaptive_avg_pool{nd}d"
    x, was_batched = batched(input, nd, name)
    floating(name, x)
    sizes = _adaptive_sizes(nd, x, output_size, name)
    if all(o == 1 for o in sizes):  # global average pooling: one mean (2x faster than the products)
        return _unbatch(x.mean(dim=tuple(range(2, x.ndim)), keepdim=True), was_batched, nd, None)
    pooled = along(x, [averaging_matrix(n, o, x) for n, o in zip(x.shape[2:], sizes)])
    return _unbatch(tied_to_input(pooled, x), was_batched, nd, "AdaptiveAvgPool{}D")


def _adaptive_max_pool(nd, input, output_size, return_indices):
    name = f"adaptive_max_pool{nd}d"
    x, was_batched = batched(input, nd, name)
    sizes = _adaptive_sizes(nd, x, output_size, name)
    xp, dev = x.xp, x._device
    n, c = x.shape[:2]
    # table (*out, *longest window) of flat input positions; short windows repeat their last element
    table, longest_all = 0, 1
    for i, (size, o, stride_) in enumerate(zip(x.shape[2:], sizes, row_major_steps(x.shape[2:]))):
        bounds = _bounds(size, o)
        longest = max(hi - lo for lo, hi in bounds)
        longest_all *= longest
        rows = [[min(lo + j, hi - 1) * stride_ for j in range(longest)] for lo, hi in bounds]
        shape = tuple(o if a == i else 1 for a in range(nd)) + tuple(longest if a == i else 1 for a in range(nd))
        table = table + xp.reshape(xp.asarray(rows, dtype=xp.int64, device=dev.native), shape)
    table = xp.reshape(table, (math.prod(sizes), longest_all))
    values = xp.take(xp.reshape(x._data, (n, c, math.prod(x.shape[2:]))), xp.reshape(table, (-1,)), axis=2)
    local = xp.astype(xp.argmax(xp.reshape(values, (n, c) + table.shape), axis=-1), xp.int64)
    rows = xp.reshape(xp.arange(table.shape[0], dtype=xp.int64, device=dev.native), (1, 1, -1))
    flat = xp.take(xp.reshape(table, (-1,)), xp.reshape(rows * table.shape[1] + local, (-1,)))
    flat = xp.reshape(flat, (n, c) + sizes)
    return _unbatch(tied_to_input(_pick(x, flat, sizes, return_indices), x), was_batched, nd, "AdaptiveMaxPool{}D")


def _adaptive_fn(nd, kind):
    if kind == "avg":
        def pool(input, output_size):
            return _adaptive_avg_pool(nd, input, output_size)
        what = "the mean"
    else:
        def pool(input, output_size, return_indices=False):
            return _adaptive_max_pool(nd, input, output_size, return_indices)
        what = "the max (with its flat input positions when ``return_indices``)"
    pool.__name__ = pool.__qualname__ = f"adaptive_{kind}_pool{nd}d"
    pool.__doc__ = (
        f"{nd}-D adaptive pooling to ``output_size`` (an int, or a tuple whose None entries keep the input "
        f"size): output ``o`` takes {what} of input ``[floor(o*n/out), ceil((o+1)*n/out))``, as PyTorch."
    )
    return autocast_op(_pool_policy(nd))(pool)


# ---- power-average pooling --------------------------------------------------------------
def _lp_pool(nd, input, norm_type, kernel_size, stride, ceil_mode):
    kernel = ntuple(kernel_size, nd, f"lp_pool{nd}d: kernel_size", 1)
    out = _avg_pool(nd, input.pow(norm_type), kernel, stride, 0, ceil_mode, True, None)
    return (out.sign() * out.abs().clamp(min=0)).mul(math.prod(kernel)).pow(1.0 / norm_type)


def _lp_pool_fn(nd):
    def lp_pool(input, norm_type, kernel_size, stride=None, ceil_mode=False):
        return _lp_pool(nd, input, float(norm_type), kernel_size, stride, ceil_mode)

    lp_pool.__name__ = lp_pool.__qualname__ = f"lp_pool{nd}d"
    lp_pool.__doc__ = (
        f"{nd}-D power-average pooling: ``(sum over the window of x**p) ** (1/p)``, computed as PyTorch does "
        f"(average pooling times the kernel size, so ``ceil_mode`` windows are rescaled the same way)."
    )
    return lp_pool


max_pool1d, max_pool2d, max_pool3d = (_max_pool_fn(d) for d in (1, 2, 3))
avg_pool1d, avg_pool2d, avg_pool3d = (_avg_pool_fn(d) for d in (1, 2, 3))
adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d = (_adaptive_fn(d, "avg") for d in (1, 2, 3))
adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d = (_adaptive_fn(d, "max") for d in (1, 2, 3))
lp_pool1d, lp_pool2d, lp_pool3d = (_lp_pool_fn(d) for d in (1, 2, 3))
