"""Convolution: ``conv1d/2d/3d``, ``conv_transpose1d/2d/3d``, ``unfold`` and ``fold``.

One dimension-generic implementation. A :class:`Geometry` says where the windows sit; the
im2col columns come from the backend's ``sliding_window_view`` (a strided view, no Python
loop over positions) and each convolution is ONE 2-D GEMM with the batch folded into its
columns (a batched matmul over ``(N, groups)`` for grouped convolutions). col2im, the
adjoint of im2col, adds the columns back with one strided slice per kernel offset (a loop
over the k*k offsets, not over positions: NumPy's scatter-add ``add.at`` measured 14x
slower for this).

A convolution is the bilinear form ``T(x, w, y) = <y, conv(x, w)>`` seen from three sides,
the ``Conv`` Function's three *faces*: ``"y"`` (the convolution), ``"x"`` (the transposed
convolution, i.e. the gradient wrt the input) and ``"w"`` (the gradient wrt the weight).
The backward of each face is made of the other two, so gradients of any order work and
``conv_transpose`` is just the ``"x"`` face.

A backend may take a face over by providing ``conv(face, a, b, geometry, groups)`` (for
instance cuDNN); it returns None for the cases it does not handle. No built-in backend
provides one: CuPy 14 dropped its cuDNN bindings, so CUDA runs the same im2col path.
"""

from __future__ import annotations

import itertools
import math
import operator
from dataclasses import dataclass

from ..._tensor import Tensor
from ...amp.autocast import casts_for
from ...autograd.function import LOWER, Function

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "unfold", "fold"]


# ---- arguments --------------------------------------------------------------------------
def ntuple(value, n: int, name: str, least: int = 0) -> tuple:
    """``value`` (an int or a sequence of ``n`` ints) as an ``n``-tuple of ints >= ``least``."""
    try:
        if isinstance(value, (tuple, list)):
            out = tuple(map(operator.index, value))
        else:
            out = (operator.index(value),) * n
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of {n} ints, got {value!r}") from None
    if len(out) == 1 and n > 1:
        out = out * n
    if len(out) != n:
        raise ValueError(f"{name} needs {n} values (one per spatial dimension), got {value!r}")
    if any(v < least for v in out):
        raise ValueError(f"{name} must be >= {least} in every dimension, got {value!r}")
    return out


def batched(x, nd: int, name: str):
    """``(x with a batch dimension, whether it had one)``: ops take ``(N, C, *spatial)`` or,
    as PyTorch, an unbatched ``(C, *spatial)``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim == nd + 2:
        return x, True
    if x.ndim == nd + 1:
        return x.unsqueeze(0), False
    raise ValueError(
        f"{name}: expected a {nd + 2}-D (batched) or {nd + 1}-D (unbatched) input of shape (N, C, *spatial), "
        f"got shape {x.shape}"
    )


def floating(name: str, *tensors) -> None:
    """Convolutions and pooling averages are defined for floating tensors of one dtype, as in PyTorch."""
    first = tensors[0]
    for t in tensors:
        if t is None:
            continue
        if t.dtype.kind != "f":
            raise TypeError(f"{name}: expected floating tensors, got {t.dtype.name}; cast with .float()")
        if t.dtype is not first.dtype and not casts_for(t):
            raise TypeError(
                f"{name}: input and weight/bias must have the same dtype, got {first.dtype.name} and {t.dtype.name}"
            )


# ---- windows --------------------------------------------------------------------------
@dataclass(frozen=True)
class Geometry:
    """Where the windows of a convolution or pooling sit in the spatial dimensions: the
    unpadded input ``size``, ``kernel``, ``stride``, ``dilation``, ``padding`` as (before,
    after) pairs and the number of windows ``out`` along each dimension."""

    size: tuple
    kernel: tuple
    stride: tuple
    dilation: tuple
    padding: tuple
    out: tuple

    @property
    def padded(self) -> tuple:
        return tuple(n + lo + hi for n, (lo, hi) in zip(self.size, self.padding))

    @property
    def extent(self) -> tuple:
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    def offset_slices(self, offset) -> tuple:
        """The slices of the padded input read at kernel position ``offset`` by all windows."""
        return tuple(slice(j * d, j * d + s * (n - 1) + 1, s)
                     for j, d, s, n in zip(offset, self.dilation, self.stride, self.out))


def window_count(size: int, kernel: int, stride: int, before: int, after: int, dilation: int = 1,
                ceil_mode: bool = False) -> int:
    """Number of windows along one dimension (PyTorch's rule; with ``ceil_mode`` the last window
    may hang over the end but must start inside the input or the left padding)."""
    span = size + before + after - dilation * (kernel - 1) - 1
    n = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (n - 1) * stride >= size + before:
        n -= 1
    return n


def geometry(size, kernel, stride, dilation, padding) -> Geometry:
    """The Geometry of windows over an input of spatial ``size``, with the window counts."""
    out = tuple(window_count(n, k, s, lo, hi, d)
                for n, k, s, (lo, hi), d in zip(size, kernel, stride, padding, dilation))
    return Geometry(tuple(size), tuple(kernel), stride, dilation, padding, out)


def pad_array(device, x, padding, fill=0):
    """``x`` with its last ``len(padding)`` axes padded by ``fill`` (``x`` itself when there is none)."""
    if not any(lo or hi for lo, hi in padding):
        return x
    nd = len(padding)
    shape = tuple(x.shape[:-nd]) + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[-nd:], padding))
    out = device.xp.full(shape, fill, dtype=x.dtype, device=device.native)
    out[(...,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[-nd:], padding))] = x
    return out


def windows(device, x, geo: Geometry, fill=0):
    """A view ``(..., *out, *kernel)`` of the windows over the last axes of ``x`` (``(..., *size)``)."""
    x = pad_array(device, x, geo.padding, fill)
    nd = len(geo.kernel)
    view = device.backend.sliding_window_view(x, geo.extent, tuple(range(x.ndim - nd, x.ndim)))
    lead = (slice(None),) * (x.ndim - nd)
    return view[lead + tuple(slice(0, s * (n - 1) + 1, s) for s, n in zip(geo.stride, geo.out))
                + tuple(slice(None, None, d) for d in geo.dilation)]


def add_windows(device, piece, lead: tuple, geo: Geometry, dtype):
    """The adjoint of ``windows``: an array ``(*lead, *size)`` holding the sum of ``piece(offset)``
    (an array ``(*lead, *out)``) placed at every kernel offset's window positions."""
    xp = device.xp
    out = xp.zeros(tuple(lead) + geo.padded, dtype=dtype, device=device.native)
    head = (slice(None),) * len(lead)
    for offset in itertools.product(*(range(k) for k in geo.kernel)):
        out[head + geo.offset_slices(offset)] += piece(offset)
    return out[head + tuple(slice(lo, lo + n) for (lo, _), n in zip(geo.padding, geo.size))]


def im2col(device, x, geo: Geometry):
    """Columns ``(N, C*K, L)`` of ``x`` ``(N, C, *size)``: row ``c*K + k`` holds kernel offset ``k``
    of channel ``c`` for each of the ``L`` windows (PyTorch's ``unfold`` layout)."""
    nd = len(geo.kernel)
    view = windows(device, x, geo)  # (N, C, *out, *kernel)
    view = device.xp.permute_dims(view, (0, 1) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(2, 2 + nd)))
    return device.xp.reshape(view, (x.shape[0], x.shape[1] * math.prod(geo.kernel), math.prod(geo.out)))


def col2im(device, cols, geo: Geometry):
    """The adjoint of ``im2col``: columns ``(N, C*K, L)`` summed back into ``(N, C, *size)``."""
    n, c = cols.shape[0], cols.shape[1] // math.prod(geo.kernel)
    cols = device.xp.reshape(cols, (n, c) + geo.kernel + geo.out)
    head = (slice(None), slice(None))
    return add_windows(device, lambda offset: cols[head + offset + (...,)], (n, c), geo, cols.dtype)


# ---- Functions ------------------------------------------------------------------------
class UnfoldFunction(Function):
    """im2col; its backward is ``FoldFunction`` (col2im) and vice versa."""

    def forward(self, x, geo):
        self.geo = geo
        return im2col(self.device, x, geo)

    def backward(self, g):
        return FoldFunction.apply(g, geo=self.geo)


class FoldFunction(Function):
    """col2im (overlapping windows add up); its backward is ``UnfoldFunction``."""

    def forward(self, cols, geo):
        self.geo = geo
        return col2im(self.device, cols, geo)

    def backward(self, g):
        return UnfoldFunction.apply(g, geo=self.geo)


class Conv(Function):
    """One face of the convolution ``y = conv(x, w)`` with ``x`` ``(N, C, *size)``, ``w``
    ``(O, C/groups, *kernel)``, ``y`` ``(N, O, *out)``: ``face="y"`` computes ``y`` from
    ``(x, w)``, ``"x"`` the input-shaped ``x`` from ``(y, w)`` (transposed convolution) and
    ``"w"`` the weight-shaped ``w`` from ``(x, y)`` (the weight gradient).

    With ``groups == 1`` each face is ONE 2-D GEMM with the batch folded into the columns
    (``(C*K, N*L)`` columns, ``(O, N*L)`` outputs), which BLAS threads far better than N small
    ones; grouped convolutions use one batched matmul over ``(N, groups)``. When the weight
    needs a gradient, face ``"y"`` keeps its columns (``prod(kernel)`` times the input's size,
    as PyTorch's CPU im2col convolution keeps them) for the ``"w"`` face of its backward, and
    drops them when the graph is freed; its backward hands both faces the incoming gradient
    already laid out as ``(O, N*L)`` (``flat``), made once.
    """
    autocast_policy = LOWER  # see lucid.amp.autocast

    cols = None  # face "y": the im2col columns, kept for the weight gradient

    def forward(self, a, b, face, geo, groups, cols=None, flat=None):
        self.face, self.geo, self.groups = face, geo, groups
        self.save_for_backward(a, b)
        hook = getattr(self.backend, "conv", None)
        out = hook(face, a, b, geo, groups) if hook is not None else None
        if out is not None:
            return out
        if face == "w":
            return self._w(a, b, cols, flat)
        keep = face == "y" and len(self.needs_input_grad) > 1 and self.needs_input_grad[1]
        return self._y(a, b, keep) if face == "y" else self._x(a, b, flat)

    def _release(self) -> None:
        super()._release()
        self.cols = None

    def _matrices(self, w):
        """``w`` as ``(groups, O/groups, C/groups*K)``."""
        return self.xp.reshape(w, (self.groups, w.shape[0] // self.groups, math.prod(w.shape[1:])))

    def _grouped(self, a):
        """``(N, C, ...)`` (channels or columns) as ``(N, groups, C/groups, L)``."""
        n, c = a.shape[:2]
        return self.xp.reshape(a, (n, self.groups, c // self.groups, math.prod(self.geo.out)))

    def _columns(self, x):
        """The im2col columns of ``x`` with the batch folded in: ``(C*K, N*L)``, row ``c*K + k``."""
        nd = len(self.geo.kernel)
        view = windows(self.device, x, self.geo)  # (N, C, *out, *kernel)
        view = self.xp.permute_dims(view, (1,) + tuple(range(2 + nd, 2 + 2 * nd)) + (0,) + tuple(range(2, 2 + nd)))
        return self.xp.reshape(view, (x.shape[1] * math.prod(self.geo.kernel), -1))

    def _flat(self, a):
        """``(N, O, *out)`` as ``(O, N*L)``."""
        return self.xp.reshape(self.xp.permute_dims(a, (1, 0) + tuple(range(2, a.ndim))), (a.shape[1], -1))

    def _y(self, x, w, keep):
        xp, n = self.xp, x.shape[0]
        if self.groups > 1:
            y = xp.matmul(self._matrices(w), self._grouped(im2col(self.device, x, self.geo)))  # (N, G, O/G, L)
            return xp.reshape(y, (n, w.shape[0]) + self.geo.out)
        cols = self._columns(x)
        if keep:
            self.cols = cols
        y = xp.reshape(xp.matmul(xp.reshape(w, (w.shape[0], -1)), cols), (w.shape[0], n) + self.geo.out)
        return xp.permute_dims(y, (1, 0) + tuple(range(2, y.ndim)))  # (N, O, *out), a view

    def _x(self, y, w, flat=None):
        xp = self.xp
        if self.groups > 1:
            cols = xp.matmul(xp.matrix_transpose(self._matrices(w)), self._grouped(y))  # (N, G, C/G*K, L)
            rows = self.groups * math.prod(w.shape[1:])
            return col2im(self.device, xp.reshape(cols, (y.shape[0], rows, cols.shape[-1])), self.geo)
        n, c = y.shape[0], w.shape[1]
        flat = self._flat(y) if flat is None else flat
        cols = xp.matmul(xp.matrix_transpose(xp.reshape(w, (w.shape[0], -1))), flat)  # (C*K, N*L)
        cols = xp.reshape(cols, (c,) + self.geo.kernel + (n,) + self.geo.out)
        x = add_windows(self.device, lambda offset: cols[(slice(None),) + offset + (...,)], (c, n), self.geo,
                        cols.dtype)  # (C, N, *size)
        return xp.permute_dims(x, (1, 0) + tuple(range(2, x.ndim)))

    def _w(self, x, y, cols=None, flat=None):
        xp = self.xp
        shape = (y.shape[1], x.shape[1] // self.groups) + self.geo.kernel
        if self.groups > 1:
            cols = self._grouped(im2col(self.device, x, self.geo))
            dw = xp.sum(xp.matmul(self._grouped(y), xp.matrix_transpose(cols)), axis=0)  # (G, O/G, C/G*K)
            return xp.reshape(dw, shape)
        cols = self._columns(x) if cols is None else cols
        flat = self._flat(y) if flat is None else flat
        return xp.reshape(xp.matmul(flat, xp.matrix_transpose(cols)), shape)  # (O, C*K)

    def backward(self, h):
        a, b = self.saved_tensors
        need = self.needs_input_grad
        # each face as T(x, w, y) with its output replaced by h; derivatives are the other faces
        x, w, y = {"y": (a, b, h), "x": (h, b, a), "w": (a, h, b)}[self.face]
        wanted = {"y": ("x", "w"), "x": ("y", "w"), "w": ("x", "y")}[self.face]
        args = {"y": (x, w), "x": (y, w), "w": (x, y)}
        known = {"x": {}, "w": {"cols": self.cols}, "y": {}}  # the layouts computed once, for face "y"
        if self.face == "y" and self.groups == 1 and all(need):
            known["x"]["flat"] = known["w"]["flat"] = self._flat(h._data)
        return tuple(Conv.apply(*args[f], face=f, geo=self.geo, groups=self.groups, **known[f]) if need[i] else None
                     for i, f in enumerate(wanted))


# ---- convolution -----------------------------------------------------------------------
def _conv_padding(padding, nd, kernel, stride, dilation, name) -> tuple:
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions (stride={stride})")
            # an odd total goes one more to the end, as PyTorch
            return tuple((t // 2, t - t // 2) for t in (d * (k - 1) for k, d in zip(kernel, dilation)))
        raise ValueError(f"{name}: padding must be 'valid', 'same', an int or a tuple of ints, got {padding!r}")
    return tuple((p, p) for p in ntuple(padding, nd, f"{name}: padding"))


def _check_weight(name, weight, nd, groups) -> int:
    if not isinstance(weight, Tensor) or weight.ndim != nd + 2:
        raise ValueError(f"{name}: weight must be a {nd + 2}-D tensor, got shape {getattr(weight, 'shape', weight)}")
    groups = operator.index(groups)
    if groups < 1:
        raise ValueError(f"{name}: groups must be positive, got {groups}")
    return groups


def _finish(y, bias, batched_in, name):
    if bias is not None:
        if not isinstance(bias, Tensor) or bias.shape != (y.shape[1],):
            raise ValueError(f"{name}: bias must have shape ({y.shape[1]},), got {getattr(bias, 'shape', bias)}")
        y = y + bias.reshape((1, y.shape[1]) + (1,) * (y.ndim - 2))
    return y if batched_in else y.squeeze(0)


def _conv(nd, input, weight, bias, stride, padding, dilation, groups):
    name = f"conv{nd}d"
    x, was_batched = batched(input, nd, name)
    groups = _check_weight(name, weight, nd, groups)
    floating(name, x, weight, bias)
    c, o = x.shape[1], weight.shape[0]
    if c != weight.shape[1] * groups or o % groups:
        raise ValueError(
            f"{name}: weight of shape {weight.shape} with groups={groups} expects {weight.shape[1] * groups} input "
            f"channels and out channels divisible by groups; the input has shape {input.shape} ({c} channels)"
        )
    kernel = weight.shape[2:]
    stride = ntuple(stride, nd, f"{name}: stride", 1)
    dilation = ntuple(dilation, nd, f"{name}: dilation", 1)
    pads = _conv_padding(padding, nd, kernel, stride, dilation, name)
    geo = geometry(x.shape[2:], kernel, stride, dilation, pads)
    if any(n < 1 for n in geo.out):
        raise ValueError(
            f"{name}: the kernel {kernel} (dilation {dilation}) is larger than the padded input {x.shape[2:]} "
            f"(padding {pads}); the output would be empty"
        )
    return _finish(Conv.apply(x, weight, face="y", geo=geo, groups=groups), bias, was_batched, name)


def _conv_transpose(nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    name = f"conv_transpose{nd}d"
    x, was_batched = batched(input, nd, name)
    groups = _check_weight(name, weight, nd, groups)
    floating(name, x, weight, bias)
    if x.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise ValueError(
            f"{name}: weight of shape {weight.shape} (in_channels, out_channels/groups, *kernel) with groups={groups} "
            f"does not fit an input with {x.shape[1]} channels (shape {input.shape})"
        )
    kernel = weight.shape[2:]
    stride = ntuple(stride, nd, f"{name}: stride", 1)
    dilation = ntuple(dilation, nd, f"{name}: dilation", 1)
    pad = ntuple(padding, nd, f"{name}: padding")
    extra = ntuple(output_padding, nd, f"{name}: output_padding")
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(
            f"{name}: output_padding {extra} must be smaller than either stride {stride} or dilation {dilation}"
        )
    size = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1
                 for n, s, p, d, k, e in zip(x.shape[2:], stride, pad, dilation, kernel, extra))
    if any(n < 1 for n in size):
        raise ValueError(f"{name}: the output size {size} would be empty (input {input.shape}, padding {pad})")
    geo = Geometry(size, kernel, stride, dilation, tuple((p, p) for p in pad), x.shape[2:])
    return _finish(Conv.apply(x, weight, face="x", geo=geo, groups=groups), bias, was_batched, name)


def _conv_fn(nd):
    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return _conv(nd, input, weight, bias, stride, padding, dilation, groups)

    conv.__name__ = conv.__qualname__ = f"conv{nd}d"
    conv.__doc__ = (
        f"{nd}-D convolution (cross-correlation, as PyTorch) of ``input`` ``(N, C_in, *spatial)`` (or unbatched) "
        f"with ``weight`` ``(C_out, C_in/groups, *kernel)``. ``padding`` is an int, a tuple, ``'valid'`` or "
        f"``'same'`` (stride 1 only; an odd total pads one more at the end, as PyTorch); ``groups`` splits the "
        f"channels (``groups=C_in`` is depthwise). im2col + one batched matmul."
    )
    return conv


def _conv_transpose_fn(nd):
    def conv_transpose(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        return _conv_transpose(nd, input, weight, bias, stride, padding, output_padding, groups, dilation)

    conv_transpose.__name__ = conv_transpose.__qualname__ = f"conv_transpose{nd}d"
    conv_transpose.__doc__ = (
        f"{nd}-D transposed convolution: the adjoint of ``conv{nd}d`` with the same ``weight`` "
        f"``(C_in, C_out/groups, *kernel)``. Output size per dimension is ``(L - 1)*stride - 2*padding + "
        f"dilation*(kernel - 1) + output_padding + 1``, as PyTorch (argument order as PyTorch: dilation last)."
    )
    return conv_transpose


conv1d, conv2d, conv3d = _conv_fn(1), _conv_fn(2), _conv_fn(3)
conv_transpose1d, conv_transpose2d, conv_transpose3d = (_conv_transpose_fn(d) for d in (1, 2, 3))


# ---- unfold / fold ----------------------------------------------------------------------
def _spatial_dims(kernel_size) -> int:
    """Spatial dimensions of unfold/fold: 2 as in PyTorch, or the length of a tuple ``kernel_size``."""
    return len(kernel_size) if isinstance(kernel_size, (tuple, list)) else 2


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of ``input`` ``(N, C, *spatial)`` as columns ``(N, C*prod(kernel), L)``
    (im2col, as ``torch.nn.functional.unfold``). PyTorch takes 2 spatial dimensions; here a
    ``kernel_size`` tuple of length 1 or 3 unfolds 1-D or 3-D inputs too."""
    nd = _spatial_dims(kernel_size)
    x, was_batched = batched(input, nd, "unfold")
    kernel = ntuple(kernel_size, nd, "unfold: kernel_size", 1)
    dilation = ntuple(dilation, nd, "unfold: dilation", 1)
    stride = ntuple(stride, nd, "unfold: stride", 1)
    pads = tuple((p, p) for p in ntuple(padding, nd, "unfold: padding"))
    geo = geometry(x.shape[2:], kernel, stride, dilation, pads)
    if any(n < 1 for n in geo.out):
        raise ValueError(f"unfold: kernel {kernel} (dilation {dilation}) does not fit the padded input {x.shape}")
    y = UnfoldFunction.apply(x, geo=geo)
    return y if was_batched else y.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of ``unfold`` (col2im): columns ``(N, C*prod(kernel), L)`` summed into
    ``(N, C, *output_size)``, overlapping values adding up (as ``torch.nn.functional.fold``)."""
    nd = _spatial_dims(kernel_size) if isinstance(kernel_size, (tuple, list)) else _spatial_dims(output_size)
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        got = getattr(input, "shape", input)
        raise ValueError(f"fold: expected a 3-D (batched) or 2-D input (N, C*K, L), got {got}")
    x = input if input.ndim == 3 else input.unsqueeze(0)
    size = ntuple(output_size, nd, "fold: output_size", 1)
    kernel = ntuple(kernel_size, nd, "fold: kernel_size", 1)
    dilation = ntuple(dilation, nd, "fold: dilation", 1)
    stride = ntuple(stride, nd, "fold: stride", 1)
    pads = tuple((p, p) for p in ntuple(padding, nd, "fold: padding"))
    geo = geometry(size, kernel, stride, dilation, pads)
    k, out = math.prod(kernel), geo.out
    if x.shape[1] % k or x.shape[2] != math.prod(out) or any(n < 1 for n in out):
        raise ValueError(
            f"fold: input of shape {input.shape} does not fit output_size {size} with kernel {kernel}: expected "
            f"(N, C*{k}, {math.prod(out)})"
        )
    y = FoldFunction.apply(x, geo=geo)
    return y if input.ndim == 3 else y.squeeze(0)
