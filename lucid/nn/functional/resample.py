"""Resampling: ``interpolate``, ``pixel_shuffle``/``pixel_unshuffle``, ``affine_grid``,
``grid_sample``, and ``pad`` (``lucid.pad``, re-exported as ``torch.nn.functional.pad`` is).

``interpolate`` is separable in every mode: along each spatial dimension it multiplies by a
constant ``(out, in)`` matrix holding the taps of the mode (1 for nearest, 2 for linear,
4 for cubic, the window for area), so gradients of any order come from ``matmul``.
``grid_sample`` is written in lucid ops: per dimension, the taps (coordinates and weights,
differentiable in the grid) are combined and the input is gathered at them.
"""

from __future__ import annotations

import math
import operator
import warnings

from ... import dtypes as _dt
from ..._tensor import Tensor
from ...amp.autocast import autocast_op
from ...autograd.function import FLOAT32, PROMOTE, Function, rename_node
from ...ops.creation import arange, linspace, ones
from ...ops.indexing import Index, _Positions, where
from ...ops.linalg import matmul
from ...ops.shape import pad, stack
from .pooling import _adaptive_avg_pool, along_axis, row_major_steps

__all__ = ["pad", "interpolate", "pixel_shuffle", "pixel_unshuffle", "affine_grid", "grid_sample", "channel_shuffle",
           "native_channel_shuffle",
           "upsample", "upsample_nearest", "upsample_bilinear"]

_CUBIC_A = -0.75  # PyTorch's (and OpenCV's) bicubic coefficient
# the longest dimension resampled by a dense matrix, by taps per output (1 nearest, 2 linear, 4 cubic): the
# measured crossovers of fwd+bwd at 2x (3x nearest), float32, one core (linear 128 -> 256: dense 316 ms, taps
# 349; 160: 355, 345; cubic 256: 398, 433; 384: 297, 224 (fewer images); nearest 32: 303, 304; 64: 355, 300)
_DENSE = {1: 48, 2: 150, 4: 320}
_LINEAR = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
# PyTorch's node of each mode ({}: the count of spatial dims), which interpolate's result is recorded as
_NODES = {"nearest": "UpsampleNearest{}D", "nearest-exact": "UpsampleNearestExact{}D", "linear": "UpsampleLinear1D",
          "bilinear": "UpsampleBilinear2D", "bicubic": "UpsampleBicubic2D", "trilinear": "UpsampleTrilinear3D"}


def _cubic_weights(t: Tensor) -> list:
    """Weights of the 4 taps at offsets -1, 0, 1, 2 for fractional position ``t`` (Keys' cubic
    convolution with A = -0.75, as PyTorch)."""
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


# ---- interpolate ----------------------------------------------------------------------------
def _shortcut(size, out, scale) -> bool:
    """Whether nearest interpolation along a dimension keeps or doubles it exactly: PyTorch's shortcuts, taken
    without a scale factor; with one (1 or 2 exactly) its float32 rule gives the same indices. (A scale factor
    such as 2.04 that rounds to 2x takes the rule in PyTorch's forward, and here; PyTorch's backward takes the
    shortcut there, not its forward's adjoint: lucid's gradient is the adjoint.)"""
    return out in (size, 2 * size) and (scale is None or scale == out // size)


def _interp_taps(mode, size, out, scale, align_corners, like):
    """``[(index, weight), ...]`` of one dimension: int64 source indices and weights, each of
    length ``out``, following PyTorch's kernels (nearest in float32, as PyTorch computes it)."""
    dev, dtype = like._device, like.dtype
    if mode in ("nearest", "nearest-exact"):
        if mode == "nearest" and _shortcut(size, out, scale):
            return [(arange(out, device=dev) // (out // size), None)]
        f32 = _dt.float32
        ratio = Tensor(1.0 / scale, dtype=f32, device=dev) if scale else Tensor(size, dtype=f32, device=dev) / out
        o = arange(out, dtype=f32, device=dev) + (0.5 if mode == "nearest-exact" else 0.0)
        return [((o * ratio).floor().to(_dt.int64).clamp(max=size - 1), None)]
    o = arange(out, dtype=dtype, device=dev)
    if align_corners:
        src = o * ((size - 1) / (out - 1) if out > 1 else 0.0)
    else:
        ratio = Tensor(1.0 / scale, dtype=dtype, device=dev) if scale else Tensor(size, dtype=dtype, device=dev) / out
        src = (o + 0.5) * ratio - 0.5
    if mode == "bicubic":
        base = src.floor()
        index = base.to(_dt.int64)
        return [((index + (k - 1)).clamp(0, size - 1), w) for k, w in enumerate(_cubic_weights(src - base))]
    src = src.clamp(min=0)
    index = src.floor().to(_dt.int64).clamp(max=size - 1)
    frac = (src - index.to(dtype)).clamp(0, 1)
    upper = where(frac > 0, index + 1, index).clamp(max=size - 1)  # weightless at the edges: keeps Tapped's band 4
    return [(index, 1 - frac), (upper, frac)]


def _antialiased_taps(mode, size, out, scale, align_corners, like):
    """PyTorch's ``antialias=True`` taps (after Pillow): the filter, the triangle or Keys' cubic with A = -0.5,
    is widened by the ratio ``size / out`` when shrinking, so that every input under it contributes, and its
    weights are normalized to sum 1; ``ceil(support) * 2 + 1`` taps per output, weightless beyond the input's ends.
    Computed in the input's dtype, as PyTorch's kernel."""
    dev, dtype = like._device, like.dtype
    if align_corners:
        ratio = (size - 1) / (out - 1) if out > 1 else 0.0
    else:
        ratio = 1.0 / scale if scale else Tensor(size, dtype=dtype, device=dev) / out
    ratio = Tensor(ratio, dtype=dtype, device=dev)
    reach = 1.0 if mode == "bilinear" else 2.0  # the filter's half-width at scale 1
    shrinking = ratio.item() >= 1.0
    support = reach * ratio if shrinking else Tensor(reach, dtype=dtype, device=dev)
    stretch = 1.0 / ratio if shrinking else 1.0
    center = ratio * (arange(out, dtype=dtype, device=dev) + 0.5)
    first = (center - support + 0.5).to(_dt.int64).clamp(min=0)  # truncated, as PyTorch's int64_t cast
    count = (center + support + 0.5).to(_dt.int64).clamp(max=size) - first
    taps = []
    for k in range(math.ceil(support.item()) * 2 + 1):
        x = ((first + k).to(dtype) - center + 0.5).abs() * stretch
        if mode == "bilinear":
            w = (1 - x).clamp(min=0)
        else:  # Keys' cubic, A = -0.5 (Pillow's)
            w = where(x < 1, (1.5 * x - 2.5) * x * x + 1, where(x < 2, ((-0.5 * x + 2.5) * x - 4) * x + 2, 0.0))
        taps.append(((first + k).clamp(max=size - 1), where(count > k, w, 0.0)))
    total = sum(w for _, w in taps)
    total = where(total != 0, total, 1.0)
    return [(index, w / total) for index, w in taps]


def _matrix(taps, size, like) -> Tensor:
    """The ``(out, size)`` matrix summing the taps (repeated indices add up)."""
    cols = arange(size, device=like._device).unsqueeze(0)
    m = None
    for index, weight in taps:
        hit = (index.unsqueeze(1) == cols).to(like.dtype)
        term = hit if weight is None else hit * weight.unsqueeze(1)
        m = term if m is None else m + term
    return m


class Tapped(Function):
    """``x`` resampled along ``axis`` by its taps, ``sum_k x.take(index[k], axis) * weight[k]`` (``index``,
    ``weight``: ``(taps, out)``); the adjoint is the same with the transposed taps ``adjoint``. For long
    dimensions, where a dense ``(out, size)`` matrix costs ``size / taps`` times the work: linear 1024 -> 2048
    over (64, 64, 1024) fwd+bwd 400 -> 89 ms (PyTorch 75)."""

    def forward(self, x, axis, taps, adjoint):
        self.axis, self.taps, self.adjoint = axis, taps, adjoint
        xp = self.xp
        index, weight = taps
        per_output = (-1,) + (1,) * (x.ndim - 1 - axis)
        y = None
        for k in range(index.shape[0]):  # in place: fresh arrays of the output's size cost as much as the sums
            term = xp.take(x, index[k, ...], axis=axis)
            term *= xp.reshape(weight[k, ...], per_output)
            if y is None:
                y = term
            else:
                y += term
        return y

    def backward(self, g):
        return Tapped.apply(g, axis=self.axis, taps=self.adjoint, adjoint=self.taps)


def _tap_arrays(taps, like) -> tuple:
    """The taps of one dimension as two ``(taps, out)`` arrays, index and weight (1 for nearest)."""
    weights = [ones(i.shape, dtype=like.dtype, device=like._device) if w is None else w for i, w in taps]
    return stack([i for i, _ in taps])._data, stack(weights)._data


def _transposed(xp, taps, size: int) -> tuple:
    """The adjoint's taps ``(band, size)``: input ``i`` gathers the outputs between the first whose last tap
    reaches ``i`` and the last whose first tap does (indices grow with the output), each weighted by the sum of
    its taps on ``i`` (0 beyond that range)."""
    index, weight = taps
    out, dev = index.shape[1], index.device
    inputs = xp.arange(size, dtype=index.dtype, device=dev)
    first = xp.searchsorted(index[-1, ...], inputs, side="left")
    last = xp.searchsorted(index[0, ...], inputs, side="right") - 1
    band = max(1, int(xp.max(last - first)) + 1)
    outputs = first[None, :] + xp.arange(band, dtype=first.dtype, device=dev)[:, None]  # (band, size)
    reach = outputs <= last[None, :]
    outputs = xp.minimum(outputs, out - 1)
    hits = (xp.take(index, xp.reshape(outputs, (-1,)), axis=1) == xp.tile(inputs, (band,))[None, :])
    picked = xp.where(hits, xp.take(weight, xp.reshape(outputs, (-1,)), axis=1), 0)
    return outputs, xp.where(reach, xp.reshape(xp.sum(picked, axis=0), (band, size)), 0)


def _resampled(x: Tensor, axis: int, taps, size: int) -> Tensor:
    """``x`` interpolated along ``axis`` by ``taps``: a product by their dense matrix up to ``_DENSE`` inputs,
    by ``Tapped`` beyond (its work does not grow with the input size)."""
    if size <= _DENSE.get(len(taps), _DENSE[4]):  # (antialiased taps: as many as the widened filter covers)
        return along_axis(x, axis, _matrix(taps, size, x))
    arrays = _tap_arrays(taps, x)
    return Tapped.apply(x, axis=axis, taps=arrays, adjoint=_transposed(x.xp, arrays, size))


class Doubled(Function):
    """Each element of ``x`` ``(N, C, *spatial)`` repeated twice along the spatial dims in ``dims``: PyTorch's
    nearest interpolation at 2x (one of its own shortcuts, whatever the scale factor). Its gradient sums the
    pairs (``Paired``) and the other way round: 2x over (16, 64, 56, 56) fwd+bwd 109 -> 36 ms, where two
    products by 0/1 matrices ran before (and a sum over the broadcast pairs of an expand measured 116 ms)."""

    def forward(self, x, dims):
        self.dims = dims
        if not dims:  # every size kept: a copy, as PyTorch's
            return self.xp.asarray(x, copy=True)
        for d in dims:
            x = self.xp.repeat(x, 2, axis=d)
        return x

    def backward(self, g):
        return Paired.apply(g, dims=self.dims)


class Paired(Function):
    """The sums of neighbouring pairs along the spatial dims in ``dims`` (halving them): ``Doubled``'s adjoint."""

    def forward(self, g, dims):
        self.dims = dims
        for d in dims:
            lead = (slice(None),) * d
            g = g[lead + (slice(0, None, 2), ...)] + g[lead + (slice(1, None, 2), ...)]
        return g

    def backward(self, h):
        return Doubled.apply(h, dims=self.dims)


def _out_sizes(x, nd, size, scale_factor, name):
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{name}: give exactly one of size and scale_factor")
    if size is not None:
        sizes = (size,) * nd if not isinstance(size, (tuple, list)) else tuple(size)
        if len(sizes) != nd:
            raise ValueError(f"{name}: size needs {nd} values for input of shape {x.shape}, got {size!r}")
        return tuple(operator.index(s) for s in sizes), (None,) * nd
    scales = (scale_factor,) * nd if not isinstance(scale_factor, (tuple, list)) else tuple(scale_factor)
    if len(scales) != nd:
        raise ValueError(f"{name}: scale_factor needs {nd} values for input of shape {x.shape}, got {scale_factor!r}")
    scales = tuple(float(s) for s in scales)
    return tuple(math.floor(n * s) for n, s in zip(x.shape[2:], scales)), scales


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    """Resize the spatial dimensions of ``input`` ``(N, C, *spatial)`` to ``size`` or by
    ``scale_factor`` (output ``floor(n * scale)``), as ``torch.nn.functional.interpolate``. Modes:
    ``nearest`` (PyTorch's legacy floor rule), ``nearest-exact``, ``linear`` (3-D input),
    ``bilinear``/``bicubic`` (4-D), ``trilinear`` (5-D), ``area`` (adaptive average pooling).
    ``align_corners`` (default False) only for the linear and cubic modes. A given scale factor
    is used for the coordinates unless ``recompute_scale_factor``, as PyTorch. ``antialias=True``
    (bilinear and bicubic) widens the filter when shrinking, as PyTorch's (and Pillow's) resize."""
    name = "interpolate"
    if not isinstance(input, Tensor) or input.ndim < 3:
        got = getattr(input, "shape", input)
        raise ValueError(f"{name}: expected an input (N, C, *spatial) with 1 to 3 spatial dims, got {got}")
    nd = input.ndim - 2
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating input, got {input.dtype.name}")
    modes = ("nearest", "nearest-exact", "area", *_LINEAR)
    if mode not in modes:
        raise NotImplementedError(f"{name}: unknown mode {mode!r}; expected one of {', '.join(modes)}")
    if mode in _LINEAR and _LINEAR[mode] != nd:
        raise NotImplementedError(f"{name}: mode {mode!r} needs a {_LINEAR[mode] + 2}-D input, got shape {input.shape}")
    if mode not in _LINEAR and align_corners is not None:
        raise ValueError(f"{name}: align_corners can only be set with the modes linear, bilinear, bicubic, trilinear")
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError(f"{name}: antialias=True is restricted to the bilinear and bicubic modes and 4-D input, got "
                         f"mode {mode!r} and shape {input.shape}")
    sizes, scales = _out_sizes(input, nd, size, scale_factor, name)
    if any(s < 1 for s in sizes):
        raise ValueError(f"{name}: the output size {sizes} must be positive (input {input.shape})")
    if recompute_scale_factor:
        scales = (None,) * nd
    if mode == "area":  # PyTorch's area mode is its adaptive average pooling (and records that op's node)
        return _adaptive_avg_pool(nd, input, sizes)
    node = _NODES[mode].format(nd) + ("Aa" if antialias else "")
    if mode == "nearest" and all(map(_shortcut, input.shape[2:], sizes, scales)):
        return rename_node(Doubled.apply(input, dims=tuple(2 + d for d, (n, o) in enumerate(zip(input.shape[2:], sizes))
                                                           if o == 2 * n)), node)
    x = input
    taps = _antialiased_taps if antialias else _interp_taps
    for axis, (n, o, s) in enumerate(zip(input.shape[2:], sizes, scales), start=2):
        x = _resampled(x, axis, taps(mode, n, o, s, bool(align_corners), input), n)
    return x if x is input else rename_node(x, node)


# ---- pixel shuffle ------------------------------------------------------------------------
def _shuffle_args(x, factor, name):
    factor = operator.index(factor)
    if factor < 1:
        raise ValueError(f"{name}: the factor must be positive, got {factor}")
    if not isinstance(x, Tensor) or x.ndim < 3:
        raise RuntimeError(f"{name}: expected an input (*, C, H, W), got {getattr(x, 'shape', x)}")
    return factor, x.shape[:-3], x.shape[-3:]


def pixel_shuffle(input, upscale_factor):
    """``(*, C*r*r, H, W)`` rearranged to ``(*, C, H*r, W*r)`` (sub-pixel convolution's output step)."""
    r, lead, (c, h, w) = _shuffle_args(input, upscale_factor, "pixel_shuffle")
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle: {c} channels are not divisible by upscale_factor**2 = {r * r}")
    n = len(lead)
    y = input.reshape(lead + (c // (r * r), r, r, h, w))
    y = y.permute(tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2))
    return rename_node(y.reshape(lead + (c // (r * r), h * r, w * r)), "PixelShuffle")


def pixel_unshuffle(input, downscale_factor):
    """The inverse of ``pixel_shuffle``: ``(*, C, H*r, W*r)`` to ``(*, C*r*r, H, W)``."""
    r, lead, (c, h, w) = _shuffle_args(input, downscale_factor, "pixel_unshuffle")
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle: height {h} and width {w} must be divisible by downscale_factor {r}")
    n = len(lead)
    y = input.reshape(lead + (c, h // r, r, w // r, r))
    y = y.permute(tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3))
    return rename_node(y.reshape(lead + (c * r * r, h // r, w // r)), "PixelUnshuffle")


def channel_shuffle(input, groups):
    """``(N, C, *)`` with its channels split into ``groups`` groups and interleaved: channel ``g * (C/groups) + i``
    moves to ``i * groups + g`` (ShuffleNet)."""
    groups = operator.index(groups)
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ValueError(f"channel_shuffle: expected an input (N, C, *) of 3 or more dims, got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    n, c, rest = input.shape[0], input.shape[1], tuple(input.shape[2:])
    if groups <= 0 or c % groups:
        raise ValueError(f"channel_shuffle: {c} channels are not divisible into {groups} groups")
    shuffled = input.reshape((n, groups, c // groups) + rest).transpose(1, 2).reshape((n, c) + rest)
    return rename_node(shuffled, "ChannelShuffle")


native_channel_shuffle = channel_shuffle  # PyTorch's aten name of the same shuffle


def _deprecated(name: str) -> None:
    warnings.warn(f"nn.functional.{name} is deprecated. Use nn.functional.interpolate instead.", stacklevel=3)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of ``interpolate`` (warns, as PyTorch)."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode="nearest")`` (warns, as PyTorch)."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode="bilinear", align_corners=True)`` (warns, as PyTorch)."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- affine grids and grid sampling -------------------------------------------------------------
def affine_grid(theta, size, align_corners=None):
    """The sampling grid ``(N, *spatial, d)`` of the affine maps ``theta`` (``(N, 2, 3)`` for a 4-D
    ``size`` ``(N, C, H, W)``, ``(N, 3, 4)`` for 5-D): normalized coordinates in [-1, 1] (the pixel
    centres when ``align_corners`` is False, the default), for ``grid_sample``."""
    size = tuple(operator.index(s) for s in size)
    nd = len(size) - 2
    if nd not in (2, 3) or not isinstance(theta, Tensor) or theta.shape != (size[0], nd, nd + 1):
        raise ValueError(
            f"affine_grid: expected theta of shape (N, {nd}, {nd + 1}) for size {size} (4-D or 5-D), got "
            f"{getattr(theta, 'shape', theta)}"
        )
    if theta.dtype.kind != "f":
        raise TypeError(f"affine_grid: theta must be floating, got {theta.dtype.name}")
    axes = []
    for n in reversed(size[2:]):  # x (width) first
        t = linspace(-1, 1, n, dtype=theta.dtype, device=theta.device) if n > 1 else \
            ones(1, dtype=theta.dtype, device=theta.device) * 0
        axes.append(t if align_corners or n <= 1 else t * ((n - 1) / n))
    spatial = size[2:]
    coords = [a.reshape(tuple(n if k == nd - 1 - i else 1 for k, n in enumerate(spatial))).expand(spatial)
              for i, a in enumerate(axes)]
    base = stack(coords + [ones(spatial, dtype=theta.dtype, device=theta.device)], -1).reshape(1, -1, nd + 1)
    return matmul(base, theta.mT).reshape((size[0],) + spatial + (nd,))


def _reflect(c: Tensor, low2: int, high2: int) -> Tensor:
    """``c`` reflected into ``[low2/2, high2/2]`` (PyTorch's reflect_coordinates)."""
    if low2 == high2:
        return c * 0
    low, span = low2 / 2, (high2 - low2) / 2
    c = (c - low).abs()
    extra = c % span
    even = ((c / span).floor() % 2) == 0
    return where(even, extra + low, span - extra + low)


def _padded(c: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """Source coordinates after ``border`` or ``reflection`` padding (unchanged for ``zeros``)."""
    if padding_mode == "zeros":
        return c
    if padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (size - 1)) if align_corners else _reflect(c, -1, 2 * size - 1)
    return c.clamp(0, size - 1)


def _unnormalize(g: Tensor, size: int, align_corners: bool) -> Tensor:
    """Normalized coordinates ``g`` as source pixel coordinates along a dimension of ``size``: -1 and 1 are
    the centres of the corner pixels with ``align_corners``, their outer edges without."""
    return ((g + 1) / 2) * (size - 1) if align_corners else ((g + 1) * size - 1) / 2


def _sample_taps(g: Tensor, size: int, mode: str, padding_mode: str, align_corners: bool) -> list:
    """``[(source coordinate, weight or None), ...]`` along one dimension for normalized ``g``."""
    c = _unnormalize(g, size, align_corners)
    if mode == "bicubic":  # PyTorch pads each tap, not the point
        base = c.floor()
        return [(_padded(base + (k - 1), size, padding_mode, align_corners), w)
                for k, w in enumerate(_cubic_weights(c - base))]
    c = _padded(c, size, padding_mode, align_corners)
    if mode == "nearest":
        return [(c.round(), None)]
    base = c.floor()
    return [(base, 1 - (c - base)), (base + 1, c - base)]


def _combine_taps(per_dim: list, sizes: tuple, n: int, points: int, dtype) -> tuple:
    """The taps of all dimensions combined, each dimension's stacked on an axis of its own and multiplied
    out by broadcasting: ``(flat row-major indices, clamped; weights, 0 for taps outside the input)``."""
    flat, valid, weight, nd = 0, None, None, len(sizes)
    for a, (taps, size, step) in enumerate(zip(per_dim, sizes, row_major_steps(sizes))):
        shape = (n,) + tuple(len(taps) if b == a else 1 for b in range(nd)) + (points,)
        index = stack([coord for coord, _ in taps], 1).detach().floor().to(_dt.int64).reshape(shape)
        inside = (index >= 0) & (index < size)
        valid = inside if valid is None else valid & inside
        flat = flat + index.clamp(0, size - 1) * step
        if taps[0][1] is not None:
            w = stack([w for _, w in taps], 1).reshape(shape)
            weight = w if weight is None else weight * w
    mask = valid.to(dtype)
    return flat, mask if weight is None else weight * mask


def _gather_taps(input: Tensor, flat: Tensor, weight: Tensor) -> Tensor:
    """``(N, C, points)``: per point, the sum of ``input``'s values at the flat spatial indices ``flat``
    ``(N, *taps, points)``, times their ``weight``. The flat positions in ``input`` come from one broadcast
    sum (``gather`` builds them dimension by dimension and checks their range: 3x slower)."""
    n, c = input.shape[:2]
    size, taps, points = math.prod(input.shape[2:]), math.prod(flat.shape[1:-1]), flat.shape[-1]
    planes = arange(n * c, device=flat.device).reshape(n, c, 1) * size  # each (sample, channel)'s first element
    pos = flat.reshape(n, 1, taps * points) + planes
    values = Index.apply(input, plan=_Positions(input._device, pos._data, input.shape)).reshape(n, c, taps, points)
    return (values * weight.reshape(n, 1, taps, points)).sum(2)


def _check_grid_sample(name: str, input, grid, mode, padding_mode) -> int:
    """Check ``grid_sample``'s arguments; returns the number of spatial dimensions."""
    if not isinstance(input, Tensor) or input.ndim not in (4, 5):
        raise ValueError(f"{name}: expected a 4-D or 5-D input, got {getattr(input, 'shape', input)}")
    nd = input.ndim - 2
    if not isinstance(grid, Tensor) or grid.ndim != nd + 2 or grid.shape[0] != input.shape[0] or grid.shape[-1] != nd:
        raise RuntimeError(f"{name}: expected a grid of shape (N, *out, {nd}) for input {input.shape}, got "
                         f"{getattr(grid, 'shape', grid)}")
    if mode not in ("bilinear", "nearest", "bicubic") or (mode == "bicubic" and nd != 2):
        raise ValueError(f"{name}: mode must be 'bilinear', 'nearest' or 'bicubic' (4-D input only), got {mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"{name}: padding_mode must be 'zeros', 'border' or 'reflection', got {padding_mode!r}")
    if input.dtype.kind != "f" or grid.dtype is not input.dtype:
        raise TypeError(f"{name}: input and grid must be floating tensors of one dtype, got "
                        f"{input.dtype.name} and {grid.dtype.name}")
    return nd


@autocast_op({"cpu": FLOAT32, "cuda": PROMOTE})
def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample ``input`` ``(N, C, *spatial)`` at the normalized locations ``grid`` ``(N, *out, d)``
    (``grid[..., 0]`` is x, the last dimension); modes ``bilinear`` (trilinear on 5-D input),
    ``nearest`` (round half to even) and ``bicubic`` (4-D only); ``padding_mode`` ``zeros``,
    ``border`` or ``reflection``; ``align_corners`` default False. Differentiable in input and grid."""
    nd = _check_grid_sample("grid_sample", input, grid, mode, padding_mode)
    sizes, out = input.shape[2:], grid.shape[1:-1]
    per_dim = [_sample_taps(grid[..., nd - 1 - a], sizes[a], mode, padding_mode, bool(align_corners))
               for a in range(nd)]
    flat, weight = _combine_taps(per_dim, sizes, input.shape[0], math.prod(out), input.dtype)
    return _gather_taps(input, flat, weight).reshape(input.shape[:2] + tuple(out))
