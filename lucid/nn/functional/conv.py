"""Convolution: ``conv1d/2d/3d``, ``conv_transpose1d/2d/3d``, ``unfold`` and ``fold``.

One dimension-generic implementation. A :class:`Geometry` says where the windows sit; the
im2col columns come from the backend's ``sliding_window_view`` (a strided view, no Python
loop over positions) copied once, with the batch as the innermost axis, and each
convolution is ONE GEMM per group with the batch folded into its columns (see ``Conv``).
col2im, the adjoint of im2col, adds back with one strided slice per kernel offset (a loop
over the k*k offsets, not over positions: NumPy's scatter-add ``add.at`` measured 14x
slower for this). A CPU backend runs large images one at a time instead, and 3x3 stride-1
convolutions as Winograd F(2x2, 3x3) (``winograd.py``); depthwise convolutions (one channel per
group) are multiply-adds per kernel offset (see ``Conv``).

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

from ..._backend import arrays
from ..._tensor import Tensor
from ...amp.autocast import autocast_op, casts_for
from ...autograd.function import LOWER, Function, rename_node, tie_to, tied
from . import winograd

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "unfold", "fold",
           "conv_tbc"]


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
        raise RuntimeError(f"{name} needs {n} values (one per spatial dimension), got {value!r}")
    if any(v < least for v in out):
        raise RuntimeError(f"{name} must be >= {least} in every dimension, got {value!r}")
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
    raise RuntimeError(
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


def column_view(device, x, geo: Geometry):
    """The im2col columns of ``x`` ``(N, C, *size)`` as a view ``(N, C, *kernel, *out)`` (no copy yet)."""
    nd = len(geo.kernel)
    view = windows(device, x, geo)  # (N, C, *out, *kernel)
    return device.xp.permute_dims(view, (0, 1) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(2, 2 + nd)))


def im2col(device, x, geo: Geometry):
    """Columns ``(N, C*K, L)`` of ``x`` ``(N, C, *size)``: row ``c*K + k`` holds kernel offset ``k``
    of channel ``c`` for each of the ``L`` windows (PyTorch's ``unfold`` layout)."""
    shape = (x.shape[0], x.shape[1] * math.prod(geo.kernel), math.prod(geo.out))
    return device.xp.reshape(column_view(device, x, geo), shape)


def col2im(device, cols, geo: Geometry):
    """The adjoint of ``im2col``: columns ``(N, C*K, L)`` summed back into ``(N, C, *size)``."""
    n, c = cols.shape[0], cols.shape[1] // math.prod(geo.kernel)
    cols = device.xp.reshape(cols, (n, c) + geo.kernel + geo.out)
    head = (slice(None), slice(None))
    return add_windows(device, lambda offset: cols[head + offset + (...,)], (n, c), geo, cols.dtype)


# ---- Functions ------------------------------------------------------------------------
class UnfoldFunction(Function):
    """im2col; its backward is ``FoldFunction`` (col2im) and vice versa."""
    torch_name = "Im2Col"

    def forward(self, x, geo):
        self.geo = geo
        return im2col(self.device, x, geo)

    def backward(self, g):
        return FoldFunction.apply(g, geo=self.geo)


class FoldFunction(Function):
    """col2im (overlapping windows add up); its backward is ``UnfoldFunction``."""
    torch_name = "Col2Im"

    def forward(self, cols, geo):
        self.geo = geo
        return col2im(self.device, cols, geo)

    def backward(self, g):
        return UnfoldFunction.apply(g, geo=self.geo)


_DEPTHWISE_BLOCK = 1 << 16  # elements per channel block of the depthwise faces (see Conv._channel_blocks)
_IMAGE_COLUMNS = 1 << 21  # bytes of one image's columns above which a strided "x" face goes over the batch


class Conv(Function):
    """One face of the convolution ``y = conv(x, w)`` with ``x`` ``(N, C, *size)``, ``w``
    ``(O, C/groups, *kernel)``, ``y`` ``(N, O, *out)``: ``face="y"`` computes ``y`` from
    ``(x, w)``, ``"x"`` the input-shaped ``x`` from ``(y, w)`` (transposed convolution) and
    ``"w"`` the weight-shaped ``w`` from ``(x, y)`` (the weight gradient).

    Layout: the batch goes LAST. The input is laid out ``(C, *padded, N)`` (a copy that pads it;
    free of transposes when ``x`` already has that memory order, as the outputs here do), its
    columns are ``(groups, C/groups*K, L*N)`` with row ``c*K + k`` and column ``l*N + n``, and
    each face is one GEMM per group: ``(O/g, C/g*K) @ (C/g*K, L*N)``, whose ``(O, *out, N)``
    result is returned as an ``(N, O, *out)`` view. With the batch innermost every copy (im2col)
    and every strided add of col2im runs over rows of ``out[-1]*N`` contiguous numbers rather
    than ``out[-1]``: measured 1.3x to 10x faster than the ``(C, K, N, L)`` order for 32x32 down
    to 4x4 images. A 1x1 convolution with no padding is a plain GEMM on the (strided) input.

    A backend may ask (``conv_by_image_from``, NumPy: 256) that convolutions with that many output
    positions per image run one image at a time instead, in C order: each image's columns
    ``(C*K, L)`` and GEMMs stay in the caches, and the ``"x"`` face at stride 1 is the correlation
    with the flipped kernel (ResNet-18's 32x32 layers 154 -> 107 ms fwd+bwd at batch 32, one core).
    Before either, a backend may ask (``conv_winograd_from``, NumPy: 64 channels) that 3x3 stride-1
    convolutions run as Winograd F(2x2, 3x3) (``winograd.py``): 2.25x fewer multiplications.

    Face ``"y"`` keeps only its inputs for backward (``x`` and ``w``, as oneDNN), not its columns
    (``prod(kernel)`` times the input's memory per layer until backward); the ``"w"`` face makes
    them again, one layer at a time (transient). With >= 64 channels, stride 1 and >= 256
    positions the ``"x"`` face is the correlation of the padded gradient with the flipped kernel
    (one deep GEMM, no strided adds); otherwise it is one GEMM into columns summed back by
    col2im (measured as fast as, or up to 20% faster than, one GEMM per kernel offset). Backward
    hands both faces the incoming gradient already laid out as ``(O, L*N)`` (``flat``), made once.
    """

    def forward(self, a, b, face, geo, groups, flat=None):
        self.face, self.geo, self.groups = face, geo, groups
        self.save_for_backward(a, b)
        self.winograd = self._winograd(a, b)
        hook = getattr(self.backend, "conv", None)
        out = hook(face, a, b, geo, groups) if hook is not None else None
        if out is not None:
            return out
        if self.winograd:
            return {"y": self._y_winograd, "x": self._x_winograd, "w": self._w_winograd}[face](a, b)
        if self._depthwise(a, b):
            return {"y": self._y_depthwise, "x": self._x_depthwise, "w": self._w_depthwise}[face](a, b)
        if self._by_image(face, a, b):
            return {"y": self._y_by_image, "x": self._x_by_image, "w": self._w_by_image}[face](a, b)
        if face == "w":
            return self._w(a, b, flat)
        return self._y(a, b) if face == "y" else self._x(a, b, flat)

    # ---- layouts
    def _pointwise(self, geo=None) -> bool:
        """A 1x1 kernel with no padding: the columns are the (strided) input itself."""
        geo = geo or self.geo
        return all(k == 1 for k in geo.kernel) and not any(lo or hi for lo, hi in geo.padding)

    def _last(self, a):
        """``(N, C, *spatial)`` as a view ``(C, *spatial, N)``. When the batch is not already the
        innermost axis of ``a``'s memory this goes through a ``(C, N, *spatial)`` copy first (made
        of contiguous runs, its last axis one longer), so that the copy the caller makes next
        gathers over a stride of about ``prod(spatial)`` that is not a power of two: a direct copy
        strides over the whole batch (``C*prod(spatial)``), and at power-of-two sizes all its reads
        fall in one cache set (measured 5x to 40x slower)."""
        xp, backend = self.xp, self.device.backend
        perm = tuple(range(1, a.ndim)) + (0,)
        strides = backend.strides(a)
        if a.shape[0] > 1 and (strides is None or any(
                m > 1 and abs(s) < abs(strides[0]) for m, s in zip(a.shape[1:], strides[1:]))):
            swap, last = (1, 0) + tuple(range(2, a.ndim)), a.shape[-1]
            t = xp.empty(tuple(a.shape[1::-1]) + tuple(a.shape[2:-1]) + (last + 1,), dtype=a.dtype,
                         device=self.device.native)
            t[..., :last] = xp.permute_dims(a, swap)
            a = xp.permute_dims(t[..., :last], swap)
        return xp.permute_dims(a, perm)

    def _padded(self, xl, geo=None):
        """``xl`` ``(C, *size, N)`` padded to ``(C, *padded, N)`` (itself when there is no padding)."""
        geo = geo or self.geo
        if not any(lo or hi for lo, hi in geo.padding):
            return xl
        padded = self.xp.zeros((xl.shape[0],) + geo.padded + (xl.shape[-1],), dtype=xl.dtype,
                               device=self.device.native)
        padded[(slice(None),) + tuple(slice(lo, lo + m) for m, (lo, _) in zip(geo.size, geo.padding)) + (...,)] = xl
        return padded

    def _columns(self, x, geo=None, groups=None):
        """The columns of ``x`` (``(N, C, *size)``, or ``(C, *size, N)`` when ``geo`` is given) as
        ``(groups, C/groups*K, L*N)``: row ``c*K + k``, column ``l*N + n``."""
        given = geo is not None
        xp, geo, groups = self.xp, geo or self.geo, groups or self.groups
        nd = len(geo.kernel)
        if self._pointwise(geo):  # strided first, so that a relayout copies only what is read
            steps = tuple(slice(0, s * (m - 1) + 1, s) for s, m in zip(geo.stride, geo.out))
            view = x[(slice(None),) + steps + (...,)] if given else self._last(x[(slice(None), slice(None)) + steps])
            c, n = view.shape[0], view.shape[-1]
        elif self._strided(geo, x.shape[-1] if given else x.shape[0]):
            xl = x if given else self._last(x)
            c, n = xl.shape[0], xl.shape[-1]
            phased = self._phased(xl, geo)
            view = xp.empty((c,) + geo.kernel + geo.out + (n,), dtype=x.dtype, device=self.device.native)
            for offset in itertools.product(*(range(k) for k in geo.kernel)):
                view[(slice(None),) + offset + (...,)] = phased[(slice(None),) + self._phase_slices(geo, offset)
                                                                + (...,)]
        else:
            xl = x if given else self._c_order(self._last(x))
            c, n = xl.shape[0], xl.shape[-1]
            view = self.device.backend.sliding_window_view(self._padded(xl, geo), geo.extent, tuple(range(1, 1 + nd)))
            view = view[(slice(None),) + tuple(slice(0, s * (m - 1) + 1, s) for s, m in zip(geo.stride, geo.out))
                        + (slice(None),) + tuple(slice(None, None, d) for d in geo.dilation)]  # (C, *out, N, *kernel)
            view = xp.permute_dims(view, (0,) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(1, 2 + nd)))
        return xp.reshape(view, (groups, c // groups * math.prod(geo.kernel), math.prod(geo.out) * n))

    # ---- strided windows, read and written by phase
    def _strided(self, geo, n: int) -> bool:
        """Whether strided windows over a batch of ``n`` (batch innermost) go by phase (``_phased``), on a backend
        that asks for it below a batch of ``conv_by_phase_below`` (NumPy: 16; a GPU reads strided views directly):
        they step by more than 1 along an axis, so that their reads and adds at one kernel offset are runs of only
        ``n`` numbers (longer runs read well already: 8 groups of 16 channels, 3x3 stride 2, batch 32, fwd + bwd
        50 ms directly, 54 by phase), and the kernel has more than one offset (a 1x1 kernel reads or adds its one
        offset once anyway: ResNet's 1x1 stride-2 shortcut 11.1 ms directly, 13.6 by phase)."""
        below = getattr(self.backend, "conv_by_phase_below", None)
        return below is not None and n < below and any(s > 1 for s in geo.stride) and math.prod(geo.kernel) > 1

    @staticmethod
    def _blocks(geo) -> tuple:
        """Per axis the number of ``stride``-long blocks that cover the padded input."""
        return tuple(-(-m // s) for m, s in zip(geo.padded, geo.stride))

    @staticmethod
    def _phase_slices(geo, offset) -> tuple:
        """Where kernel ``offset`` reads in the phased array (``_phased``): its phase along each axis, then a
        unit-stride slice of ``out`` blocks per axis."""
        starts = [j * d for j, d in zip(offset, geo.dilation)]
        return (tuple(p % s for p, s in zip(starts, geo.stride))
                + tuple(slice(p // s, p // s + m) for p, s, m in zip(starts, geo.stride, geo.out)))

    @staticmethod
    def _phase_parts(geo) -> list:
        """Per phase of the strides that holds input elements: ``(its index in the phased array, the strided index
        of those elements in the unpadded (C, *size, N) array)``; the rest of the phased array is padding (zeros)."""
        parts = []
        for phase in itertools.product(*(range(s) for s in geo.stride)):
            into, source = list(phase), []
            for r, s, (lo, _), m in zip(phase, geo.stride, geo.padding, geo.size):
                first = max(0, -(-(lo - r) // s))  # the first block whose element r is not padding
                start = first * s + r - lo
                count = (m - 1 - start) // s + 1 if start < m else 0
                into.append(slice(first, first + count))
                source.append(slice(start, start + s * (count - 1) + 1 if count else start, s))
            if all(piece.stop > piece.start for piece in into[len(phase):]):
                parts.append((tuple(into), tuple(source)))
        return parts

    def _phased(self, xl, geo):
        """``xl`` ``(C, *size, N)`` padded and split by the strides' phases, ``(C, *stride, *blocks, N)``: element
        ``(c, r, q, n)`` is the padded input's ``(c, q * stride + r, n)``. A strided window then reads each kernel
        offset as unit-stride runs of ``out[-1] * N`` numbers (``_phase_slices``): conv_transpose3d stride 2, batch 4,
        fwd + bwd 74 -> ~40 ms on one core. One input-sized copy, ``prod(stride)`` strided reads."""
        phased = self.xp.zeros((xl.shape[0],) + geo.stride + self._blocks(geo) + (xl.shape[-1],), dtype=xl.dtype,
                               device=self.device.native)
        for into, source in self._phase_parts(geo):
            phased[(slice(None),) + into + (...,)] = xl[(slice(None),) + source + (...,)]
        return phased

    def _flat(self, a):
        """``(N, O, *out)`` as ``(groups, O/groups, L*N)``."""
        shape = (self.groups, a.shape[1] // self.groups, math.prod(a.shape[2:]) * a.shape[0])
        return self.xp.reshape(self._last(a), shape)

    def _matrices(self, w):
        """``w`` as ``(groups, O/groups, C/groups*K)``."""
        return self.xp.reshape(w, (self.groups, w.shape[0] // self.groups, math.prod(w.shape[1:])))

    def _mm(self, a, b):
        """``a @ b`` over the groups (one 2-D GEMM when there is one group), in ``a``'s dtype (ml_dtypes'
        bfloat16 GEMM gives float32)."""
        xp = self.xp
        if a.shape[0] == 1:
            out = xp.reshape(xp.matmul(a[0, ...], b[0, ...]), (1, a.shape[1], b.shape[2]))
        else:
            out = xp.matmul(a, b)
        return out if out.dtype == a.dtype else xp.astype(out, a.dtype)

    def _batch_first(self, a, n, spatial=None):
        """``(groups, rows, L*N)`` as the ``(N, groups*rows, *spatial)`` view (``spatial``: ``geo.out``)."""
        return self._from_last(self.xp.reshape(a, (a.shape[0] * a.shape[1],) + (spatial or self.geo.out) + (n,)))

    def _from_last(self, a):
        """``(C, *spatial, N)`` as the ``(N, C, *spatial)`` view (the inverse of ``_last``)."""
        return self.xp.permute_dims(a, (a.ndim - 1,) + tuple(range(a.ndim - 1)))

    def _unpadded(self, a):
        """``(C, *padded, N)`` without its padding, as the ``(N, C, *size)`` view."""
        geo = self.geo
        return self._from_last(a[(slice(None),) + tuple(slice(lo, lo + m) for (lo, _), m in zip(geo.padding, geo.size))
                                 + (...,)])

    def _adjoint(self, w):
        """At stride 1, the ``"x"`` face is the correlation of the (fully padded) gradient with the flipped
        kernel, in the same groups: ``(its Geometry, the flipped weight (C, O/groups, *kernel))``; None
        otherwise (or where the padding reaches beyond the kernel)."""
        geo = self.geo
        full = tuple(d * (k - 1) for k, d in zip(geo.kernel, geo.dilation))
        if any(s != 1 for s in geo.stride) or any(lo > f or hi > f for f, (lo, hi) in zip(full, geo.padding)):
            return None
        pads = tuple((f - lo, f - hi) for f, (lo, hi) in zip(full, geo.padding))
        xp, g, k = self.xp, self.groups, w.shape[2:]
        by_group = xp.reshape(xp.flip(w, axis=tuple(range(2, w.ndim))), (g, w.shape[0] // g, w.shape[1]) + k)
        flipped = xp.permute_dims(by_group, (0, 2, 1) + tuple(range(3, w.ndim + 1)))
        return (Geometry(geo.out, geo.kernel, geo.stride, geo.dilation, pads, geo.size),
                xp.reshape(flipped, (g * w.shape[1], w.shape[0] // g) + k))

    # ---- faces as Winograd F(2x2, 3x3)
    def _channels(self, a, b) -> tuple:
        """``(input channels, output channels)`` of the convolution whose face takes ``a`` and ``b``."""
        return (a.shape[1], b.shape[1]) if self.face == "w" else (self.groups * b.shape[1], b.shape[0])

    def _winograd(self, a, b) -> bool:
        """Whether the faces run as Winograd F(2x2, 3x3) (``winograd.py``): a 2-D 3x3 kernel at stride 1 with
        in and out channels from the backend's ``conv_winograd_from`` (NumPy: 64; a GPU keeps im2col); the
        ``"x"`` face also needs padding <= 2 (it correlates the gradient padded by ``2 - padding``)."""
        return (winograd.worth(getattr(self.backend, "conv_winograd_from", None), self.geo, self.groups,
                               self._channels(a, b),
                               a.dtype in (self.xp.float32, self.xp.float64))
                and (self.face != "x" or all(lo <= 2 and hi <= 2 for lo, hi in self.geo.padding)))

    def _y_winograd(self, x, w):
        return self._from_last(winograd.correlate(self.device, self._last(x), w, self.geo.padding))

    def _x_winograd(self, y, w):
        pads = tuple((2 - lo, 2 - hi) for lo, hi in self.geo.padding)
        return self._from_last(winograd.correlate(self.device, self._last(y), w, pads, flipped=True))

    def _w_winograd(self, x, y):
        return winograd.weight_gradient(self.device, self._last(x), self._last(y), self.geo.padding)

    # ---- depthwise faces: one multiply-add per kernel offset
    def _depthwise(self, a, b) -> bool:
        """A depthwise convolution (one input and one output channel per group, as MobileNet's and ConvNeXt's):
        its faces are sums over the kernel offsets of shifted windows times per-channel weights. As im2col, one
        GEMM per channel has a single row: it only read back the ``prod(kernel)`` times larger columns it had
        just written (3x3 over 64 channels at 56x56, batch 32, batch-last arrays: 281 -> 108 ms fwd+bwd)."""
        return self.groups > 1 and self._channels(a, b) == (self.groups, self.groups)

    def _offsets(self):
        return itertools.product(*(range(k) for k in self.geo.kernel))

    def _channel_weights(self, w, offset):
        """``w[:, 0, *offset]`` shaped to broadcast over ``(C, *spatial, N)``."""
        return self.xp.reshape(w[(slice(None), 0) + offset], (w.shape[0],) + (1,) * (len(offset) + 1))

    def _channel_blocks(self, a) -> list:
        """Slices of ``a``'s first (channel) axis holding about ``_DEPTHWISE_BLOCK`` elements each: a block's
        multiply-adds stay in the caches (the whole batch at once measured 1.7x slower); one block on a GPU."""
        if hasattr(a, "__cuda_array_interface__"):
            return [slice(None)]
        step = max(1, _DEPTHWISE_BLOCK // max(1, math.prod(a.shape[1:])))
        return [slice(c, min(c + step, a.shape[0])) for c in range(0, a.shape[0], step)]

    def _y_depthwise(self, x, w):
        xp, geo = self.xp, self.geo
        xl = self._padded(self._last(x))  # (C, *padded, N), batch innermost: long contiguous runs
        y = xp.zeros((x.shape[1],) + geo.out + (x.shape[0],), dtype=x.dtype, device=self.device.native)
        for block in self._channel_blocks(y):
            part, source = y[block, ...], xl[block, ...]
            for offset in self._offsets():
                part += source[(slice(None),) + geo.offset_slices(offset) + (...,)] * self._channel_weights(
                    w[block, ...], offset)
        return self._from_last(y)

    def _x_depthwise(self, y, w):
        xp, geo = self.xp, self.geo
        yl = self._c_order(self._last(y))  # (C, *out, N)
        x = xp.zeros((w.shape[0],) + geo.padded + (y.shape[0],), dtype=y.dtype, device=self.device.native)
        for block in self._channel_blocks(x):
            part, source = x[block, ...], yl[block, ...]
            for offset in self._offsets():
                part[(slice(None),) + geo.offset_slices(offset) + (...,)] += source * self._channel_weights(
                    w[block, ...], offset)
        return self._unpadded(x)

    def _w_depthwise(self, x, y):
        xp, geo = self.xp, self.geo
        xl, yl = self._padded(self._last(x)), self._c_order(self._last(y))
        axes = tuple(range(1, yl.ndim))
        sums = [xp.reshape(self.backend.sum_kept(xl[(slice(None),) + geo.offset_slices(offset) + (...,)], axes, yl),
                           (yl.shape[0],)) for offset in self._offsets()]
        return xp.reshape(xp.stack(sums, axis=1), (yl.shape[0], 1) + geo.kernel)

    # ---- faces, one image at a time
    def _by_image(self, face, a, b) -> bool:
        """Whether ``face`` (of arrays ``a``, ``b``) runs one image at a time (one GEMM per group), on a backend
        that asks for it from ``conv_by_image_from`` output positions per image (NumPy: 256; a GPU keeps
        the large GEMMs; 8 groups of 16 channels at 28x28, batch 32: 180 -> 86 ms fwd+bwd, with the grouped
        adjoint), unless ``a`` has the batch innermost in memory (as this Function's outputs do): one GEMM over
        the batch reads it in place, one image at a time would copy it to C order first (ResNet-18's 64 -> 128
        channel 3x3 stride-2 layer fwd+bwd 77 -> 58 ms from batch-last). An ``"x"`` face with less than 2048
        numbers per image (e.g. one 28x28 channel) goes over the batch: per image its strided adds are too small
        (5 ms against 13 for LeNet's first layer at batch 64); so does a strided one whose columns per image exceed
        ``_IMAGE_COLUMNS`` (they leave the caches anyway, and over the batch its adds by phase run over ``N`` times
        longer rows: conv_transpose3d stride 2, 16 channels 8x16x16 -> 16x32x32, 4x4x4 kernel, batch 4, forward 22 ->
        15-18 ms; 256 channels 16x16 -> 32x32, 4x4 kernel, batch 8: 33 -> 30 ms; with 1.8 MB per image, 128 -> 64
        channels 28x28 -> 56x56, batch 32, one image at a time stays faster: 66 against 74 ms)."""
        least = getattr(self.backend, "conv_by_image_from", None)
        if least is None or math.prod(self.geo.out) < least:
            return False
        if face == "x" and self._channels(a, b)[0] * math.prod(self.geo.size) < 2048:
            return False
        if face == "x" and self._strided(self.geo, a.shape[0]) and (
                self._channels(a, b)[0] * math.prod(self.geo.kernel) * math.prod(self.geo.out) * a.itemsize
                > _IMAGE_COLUMNS):
            return False
        strides = self.device.backend.strides(a)
        return a.shape[0] == 1 or strides is None or abs(strides[0]) > min(map(abs, strides[1:]))

    def _c_order(self, a):
        """``a`` in C order (a copy when it is not): each image one contiguous block, or, for the columns, the
        ``(C, *size, N)`` layout read with runs of ``N`` contiguous numbers (not ``_last``'s strided view:
        gathering the columns from it measured 6x slower than copying it first)."""
        strides = self.device.backend.strides(a)
        if strides is not None and all(abs(s) >= abs(t) for s, t in zip(strides, strides[1:])):
            return a
        return arrays.row_major(self.xp, a)

    def _image_columns(self, x, geo):
        """A function of ``i``: the columns ``(groups, C/groups*K, L)`` of image ``i`` of ``x`` ``(N, C, *size)``,
        copied from one window view of the whole (padded) batch."""
        view, positions = column_view(self.device, self._c_order(x), geo), math.prod(geo.out)
        return lambda i: self._grouped(view[i, ...], positions)

    def _grouped(self, a, positions=None):
        """One image's ``(C, ..., *spatial)`` as ``(groups, C/groups * ..., positions)`` (default: the output's)."""
        return self.xp.reshape(a, (self.groups, -1, positions or math.prod(self.geo.out)))

    def _y_by_image(self, x, w, geo=None):
        xp, geo = self.xp, geo or self.geo
        columns, wm = self._image_columns(x, geo), self._matrices(w)
        y = xp.empty((x.shape[0], w.shape[0], math.prod(geo.out)), dtype=x.dtype, device=self.device.native)
        for i in range(x.shape[0]):
            y[i, ...] = xp.reshape(self._mm(wm, columns(i)), y.shape[1:])
        return xp.reshape(y, y.shape[:2] + geo.out)

    def _x_by_image(self, y, w):
        xp, geo = self.xp, self.geo
        # one im2col copy instead of prod(kernel) strided adds: 48 -> 35 ms at 64x32x32; below 32 channels
        # (out of this face) its columns are too many for the GEMM (3 channels at 64x64, 5x5: 102 -> 15 ms)
        adjoint = self._adjoint(w) if self.groups * w.shape[1] >= 32 else None
        if adjoint is not None:
            geo, flipped = adjoint
            return self._y_by_image(y, flipped, geo)
        x = xp.empty((y.shape[0], self.groups * w.shape[1]) + geo.size, dtype=y.dtype, device=self.device.native)
        if self._strided(geo, 1):  # the batch's adds by phase on each image (runs of out[-1], not single numbers)
            for i in range(y.shape[0]):
                x[i, ...] = self._x(y[i:i + 1, ...], w)[0, ...]
            return x
        y, wt = self._c_order(y), xp.matrix_transpose(self._matrices(w))
        for i in range(y.shape[0]):
            cols = self._mm(wt, self._grouped(y[i, ...]))  # (G, C/G*K, L)
            x[i, ...] = col2im(self.device, xp.reshape(cols, (1, -1, cols.shape[-1])), geo)[0, ...]
        return x

    def _w_by_image(self, x, y):
        xp, geo = self.xp, self.geo
        columns, y = self._image_columns(x, geo), self._c_order(y)
        # (G, C/G*K, O/G): the columns on the left of the GEMM measured 1.3-1.5x faster than on the right
        rows = x.shape[1] // self.groups * math.prod(geo.kernel)
        dwt = xp.zeros((self.groups, rows, y.shape[1] // self.groups), dtype=x.dtype, device=self.device.native)
        for i in range(x.shape[0]):
            dwt += self._mm(columns(i), xp.matrix_transpose(self._grouped(y[i, ...])))
        return arrays.row_major(xp, xp.reshape(xp.matrix_transpose(dwt), (y.shape[1], x.shape[1] // self.groups)
                                               + geo.kernel))

    # ---- faces
    def _y(self, x, w):
        return self._batch_first(self._mm(self._matrices(w), self._columns(x)), x.shape[0])

    def _x(self, y, w, flat=None):
        xp, geo, n = self.xp, self.geo, y.shape[0]
        flat = self._flat(y) if flat is None else flat
        c = self.groups * w.shape[1]
        adjoint = self._adjoint(w) if c >= 64 and math.prod(geo.out) >= 256 else None
        if adjoint is not None:
            # large images: one GEMM with O*K deep rows and no strided adds (measured up to 20% faster
            # than per-offset GEMMs from 64 channels and 16x16 up; its columns are prod(kernel) times
            # the gradient's size)
            geo, flipped = adjoint
            cols = self._columns(xp.reshape(flat, (w.shape[0],) + geo.size + (n,)), geo)
            return self._batch_first(self._mm(self._matrices(flipped), cols), n, geo.out)
        cols = self._mm(xp.matrix_transpose(self._matrices(w)), flat)  # (G, C/G*K, L*N)
        if self._pointwise() and all(s == 1 for s in geo.stride):
            return self._batch_first(cols, n)
        cols = xp.reshape(cols, (c,) + geo.kernel + geo.out + (n,))
        strided = self._strided(geo, n)
        x = xp.zeros((c,) + (geo.stride + self._blocks(geo) if strided else geo.padded) + (n,), dtype=cols.dtype,
                     device=self.device.native)
        for offset in self._offsets():
            at = self._phase_slices(geo, offset) if strided else geo.offset_slices(offset)
            x[(slice(None),) + at + (...,)] += cols[(slice(None),) + offset + (...,)]
        del cols
        if not strided:
            return self._unpadded(x)
        out = xp.empty((c,) + geo.size + (n,), dtype=x.dtype, device=self.device.native)
        for phase, source in self._phase_parts(geo):
            out[(slice(None),) + source + (...,)] = x[(slice(None),) + phase + (...,)]
        return self._from_last(out)

    def _w(self, x, y, flat=None):
        xp, geo = self.xp, self.geo
        flat = self._flat(y) if flat is None else flat
        # (G, C/G*K, O/G): the columns on the left of the GEMM measured 1.1-1.5x faster than on the right
        dwt = self._mm(self._columns(x), xp.matrix_transpose(flat))
        return arrays.row_major(xp, xp.reshape(xp.matrix_transpose(dwt), (y.shape[1], x.shape[1] // self.groups)
                                               + geo.kernel))

    def backward(self, h):
        a, b = self.saved_tensors
        need = self.needs_input_grad
        # each face as T(x, w, y) with its output replaced by h; derivatives are the other faces
        x, w, y = {"y": (a, b, h), "x": (h, b, a), "w": (a, h, b)}[self.face]
        wanted = {"y": ("x", "w"), "x": ("y", "w"), "w": ("x", "y")}[self.face]
        args = {"y": (x, w), "x": (y, w), "w": (x, y)}
        known = {"x": {}, "w": {}, "y": {}}
        if self.face == "y" and all(need) and not (self.winograd or self._depthwise(a._data, b._data)
                                                    or self._by_image("x", h._data, b._data)
                                                    or self._by_image("w", a._data, h._data)):
            known["x"]["flat"] = known["w"]["flat"] = self._flat(h._data)  # one layout for both faces
        # each gradient stays in the graph of both inputs (zero derivative where it does not depend on one), as
        # PyTorch's, whose convolution_backward takes them all
        return tuple(tie_to(tie_to(Conv.apply(*args[f], face=f, geo=self.geo, groups=self.groups, **known[f]), a), b)
                     if need[i] else None for i, f in enumerate(wanted))


# ---- convolution -----------------------------------------------------------------------
def _conv_padding(padding, nd, kernel, stride, dilation, name) -> tuple:
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError(f"{name}: padding='same' is not supported for strided convolutions "
                                   f"(stride={stride})")
            # an odd total goes one more to the end, as PyTorch
            return tuple((t // 2, t - t // 2) for t in (d * (k - 1) for k, d in zip(kernel, dilation)))
        raise RuntimeError(f"{name}: padding must be 'valid', 'same', an int or a tuple of ints, got {padding!r}")
    return tuple((p, p) for p in ntuple(padding, nd, f"{name}: padding"))


def _check_weight(name, weight, nd, groups) -> int:
    if not isinstance(weight, Tensor) or weight.ndim != nd + 2:
        raise RuntimeError(f"{name}: weight must be a {nd + 2}-D tensor, got shape {getattr(weight, 'shape', weight)}")
    groups = operator.index(groups)
    if groups < 1:
        raise ValueError(f"{name}: groups must be positive, got {groups}")
    return groups


def _finish(y, bias, batched_in, name, x, weight):
    """``y`` plus the bias, whose gradient is tied to ``x`` and ``weight`` (as PyTorch's, from one backward
    node), unbatched as the input was."""
    if bias is not None:
        if not isinstance(bias, Tensor) or bias.shape != (y.shape[1],):
            raise RuntimeError(f"{name}: bias must have shape ({y.shape[1]},), got {getattr(bias, 'shape', bias)}")
        y = y + tied(bias, x, weight).reshape((1, y.shape[1]) + (1,) * (y.ndim - 2))
    y = rename_node(y, "Convolution")  # PyTorch's one node, the bias in it
    return y if batched_in else y.squeeze(0)


@autocast_op(LOWER)
def _conv(nd, input, weight, bias, stride, padding, dilation, groups):
    name = f"conv{nd}d"
    x, was_batched = batched(input, nd, name)
    groups = _check_weight(name, weight, nd, groups)
    floating(name, x, weight, bias)
    c, o = x.shape[1], weight.shape[0]
    if c != weight.shape[1] * groups or o % groups:
        raise RuntimeError(
            f"{name}: weight of shape {weight.shape} with groups={groups} expects {weight.shape[1] * groups} input "
            f"channels and out channels divisible by groups; the input has shape {input.shape} ({c} channels)"
        )
    kernel = weight.shape[2:]
    stride = ntuple(stride, nd, f"{name}: stride", 1)
    dilation = ntuple(dilation, nd, f"{name}: dilation", 1)
    pads = _conv_padding(padding, nd, kernel, stride, dilation, name)
    geo = geometry(x.shape[2:], kernel, stride, dilation, pads)
    if any(n < 1 for n in geo.out):
        raise RuntimeError(
            f"{name}: the kernel {kernel} (dilation {dilation}) is larger than the padded input {x.shape[2:]} "
            f"(padding {pads}); the output would be empty"
        )
    return _finish(Conv.apply(x, weight, face="y", geo=geo, groups=groups), bias, was_batched, name, x, weight)


@autocast_op(LOWER)
def _conv_transpose(nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    name = f"conv_transpose{nd}d"
    x, was_batched = batched(input, nd, name)
    groups = _check_weight(name, weight, nd, groups)
    floating(name, x, weight, bias)
    if x.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise RuntimeError(
            f"{name}: weight of shape {weight.shape} (in_channels, out_channels/groups, *kernel) with groups={groups} "
            f"does not fit an input with {x.shape[1]} channels (shape {input.shape})"
        )
    kernel = weight.shape[2:]
    stride = ntuple(stride, nd, f"{name}: stride", 1)
    dilation = ntuple(dilation, nd, f"{name}: dilation", 1)
    pad = ntuple(padding, nd, f"{name}: padding")
    extra = ntuple(output_padding, nd, f"{name}: output_padding")
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise RuntimeError(
            f"{name}: output_padding {extra} must be smaller than either stride {stride} or dilation {dilation}"
        )
    size = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1
                 for n, s, p, d, k, e in zip(x.shape[2:], stride, pad, dilation, kernel, extra))
    if any(n < 1 for n in size):
        raise RuntimeError(f"{name}: the output size {size} would be empty (input {input.shape}, padding {pad})")
    geo = Geometry(size, kernel, stride, dilation, tuple((p, p) for p in pad), x.shape[2:])
    return _finish(Conv.apply(x, weight, face="x", geo=geo, groups=groups), bias, was_batched, name, x, weight)


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


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """``conv1d`` in the time-batch-channel layout (fairseq's): ``input`` ``(T, B, C_in)``, ``weight``
    ``(K, C_in, C_out)``, ``bias`` ``(C_out,)``, ``pad`` zeros on both ends of time; returns
    ``(T + 2 pad - K + 1, B, C_out)``."""
    if not isinstance(input, Tensor) or input.ndim != 3 or not isinstance(weight, Tensor) or weight.ndim != 3:
        raise ValueError(f"conv_tbc: expected a 3-D input (T, B, C_in) and a 3-D weight (K, C_in, C_out), got "
                         f"{getattr(input, 'shape', input)} and {getattr(weight, 'shape', weight)}")
    return conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad).permute(2, 0, 1)
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
        raise RuntimeError(f"unfold: kernel {kernel} (dilation {dilation}) does not fit the padded input {x.shape}")
    y = UnfoldFunction.apply(x, geo=geo)
    return y if was_batched else rename_node(y.squeeze(0), "Im2Col")  # PyTorch's im2col takes it unbatched


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of ``unfold`` (col2im): columns ``(N, C*prod(kernel), L)`` summed into
    ``(N, C, *output_size)``, overlapping values adding up (as ``torch.nn.functional.fold``)."""
    nd = _spatial_dims(kernel_size) if isinstance(kernel_size, (tuple, list)) else _spatial_dims(output_size)
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        got = getattr(input, "shape", input)
        raise RuntimeError(f"fold: expected a 3-D (batched) or 2-D input (N, C*K, L), got {got}")
    x = input if input.ndim == 3 else input.unsqueeze(0)
    size = ntuple(output_size, nd, "fold: output_size", 1)
    kernel = ntuple(kernel_size, nd, "fold: kernel_size", 1)
    dilation = ntuple(dilation, nd, "fold: dilation", 1)
    stride = ntuple(stride, nd, "fold: stride", 1)
    pads = tuple((p, p) for p in ntuple(padding, nd, "fold: padding"))
    geo = geometry(size, kernel, stride, dilation, pads)
    k, out = math.prod(kernel), geo.out
    if x.shape[1] % k or x.shape[2] != math.prod(out) or any(n < 1 for n in out):
        raise RuntimeError(
            f"fold: input of shape {input.shape} does not fit output_size {size} with kernel {kernel}: expected "
            f"(N, C*{k}, {math.prod(out)})"
        )
    y = FoldFunction.apply(x, geo=geo)
    return y if input.ndim == 3 else rename_node(y.squeeze(0), "Col2Im")  # PyTorch's col2im takes it unbatched
