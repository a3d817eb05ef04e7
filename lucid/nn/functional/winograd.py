"""Winograd's minimal filtering F(2x2, 3x3) for the three faces of a 3x3, stride-1 2-D convolution.

Each 4x4 tile ``d`` of the padded input (tiles two apart) and the kernel ``g`` give a 2x2 tile of
the output, ``Y = A^T [(G g G^T) * (B^T d B)] A`` (Lavin and Gray, 2016). Summed over channels, the
16 elementwise products are 16 GEMMs ``(O, C) @ (C, P)`` over the batch's ``P`` tiles: 2.25x fewer
multiplications than im2col's one GEMM ``(O, 9C) @ (9C, 4P)``. The tile transforms are sums and
differences, applied separably (rows, then columns) to a *deinterleaved* copy of the padded
input, ``(C, tile rows + 1, 2, 2, tile columns + 1, N)``: each parity of (row, column) is one
block, so every transform reads and writes runs of ``tile columns * N`` contiguous numbers (the
strided column steps of the plain layout measured 1.4x slower on NumPy); tile rows go in blocks
small enough for the caches (``_row_blocks``). The weight gradient uses the same transforms,
``dU = dM V^T`` with ``dM = A dY A^T`` and ``dW = G^T dU G``; the input gradient is the
correlation of the gradient with the flipped kernel.

Inputs and outputs are batch-last: ``(C, H, W, N)`` views, as :class:`~.conv.Conv` lays them out.
The rounding differs from the direct sum's by a few ulp (float32: ~1e-6 relative to the largest
output); a backend asks for it with ``conv_winograd_from`` (see ``Conv``).
"""

from __future__ import annotations

# G (4, 3): the kernel transform; B^T (the input's) and A^T (the output's) are written out as the
# sums and differences in _input_transform and _output_transform
_G = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))
# the adjoint output transform uses A with its last row's sign dropped ([[1, 0], [1, 1], [1, -1], [0, 1]],
# no negation pass); the weight gradient's G takes that sign back
_G_SIGNED = _G[:3] + ((0.0, 0.0, -1.0),)


def _kron(g, flip: bool = False):
    """``kron(g, g)`` (16, 9) as nested tuples; ``flip``: for the kernel rotated by 180 degrees."""
    order = (2, 1, 0) if flip else (0, 1, 2)
    return tuple(tuple(g[a][i] * g[b][j] for i in order for j in order) for a in range(4) for b in range(4))


def tiles(size: tuple, padding: tuple) -> tuple:
    """``(output size, tile counts)`` of a 3x3 correlation of an input of spatial ``size`` padded by
    ``padding`` ((before, after) per dimension): 2x2 output tiles, the last may hang over."""
    out = tuple(n + lo + hi - 2 for n, (lo, hi) in zip(size, padding))
    return out, tuple((m + 1) // 2 for m in out)


def _deinterleaved(device, xl, padding, count):
    """``xl`` ``(C, H, W, N)`` zero-padded and split by parity: ``(C, t+1, 2, 2, u+1, N)`` with element
    ``[c, i, a, b, j, n]`` = padded ``[c, 2i + a, 2j + b, n]`` for ``count = (t, u)`` tiles."""
    c, n = xl.shape[0], xl.shape[-1]
    (t, u), (lo_h, _), (lo_w, _) = count, *padding
    d = device.xp.zeros((c, t + 1, 2, 2, u + 1, n), dtype=xl.dtype, device=device.native)
    for a in range(2):
        i0 = (lo_h - a + 1) // 2  # the first tile row whose parity-a row holds data
        rows = xl[:, 2 * i0 + a - lo_h::2, ...]
        for b in range(2):
            j0 = (lo_w - b + 1) // 2
            part = rows[:, :, 2 * j0 + b - lo_w::2, :]
            ni, nj = min(part.shape[1], t + 1 - i0), min(part.shape[2], u + 1 - j0)
            if ni > 0 and nj > 0:
                d[:, i0:i0 + ni, a, b, j0:j0 + nj, :] = part[:, :ni, :nj, :]
    return d


def _b_transpose(backend, d0, d1, d2, d3, out) -> None:
    """``B^T`` applied along one axis whose four entries are ``d0..d3``, into ``out[0..3]``."""
    backend.subtract_into(out[0, ...], d0, d2)
    backend.add_into(out[1, ...], d1, d2)
    backend.subtract_into(out[2, ...], d2, d1)
    backend.subtract_into(out[3, ...], d1, d3)


# tile rows per block: the fewest that give _LEAST_TILES tiles (the weight gradient's GEMMs are this deep), so
# that a block's transforms and GEMM run in the caches (64 channels at 32x32: forward 39 -> 28 ms against the
# whole batch at once; larger blocks measured slower for every ResNet-18 layer, the weight gradient's too)
_LEAST_TILES = 256


def _row_blocks(count, n: int) -> list:
    """The ``(first, last + 1)`` tile rows of each block (see ``_LEAST_TILES``), for ``n`` images."""
    t, per_row = count[0], max(1, count[1] * n)  # an empty batch: one block
    rows = -(-_LEAST_TILES // per_row)
    return [(i, min(i + rows, t)) for i in range(0, t, rows)]


def _input_transform(device, d, first, last):
    """``V`` ``(16, C, P)``: ``B^T d B`` of the input tiles of tile rows ``first:last`` of the
    deinterleaved input ``d``, ``P = rows*u*N`` tiles in (row, column, image) order."""
    xp, backend = device.xp, device.backend
    c, b, u, n = d.shape[0], last - first, d.shape[4] - 1, d.shape[5]
    top, bottom = d[:, first:last, ...], d[:, first + 1:last + 1, ...]
    rows = xp.empty((4, c, b, 2, u + 1, n), dtype=d.dtype, device=device.native)
    _b_transpose(backend, top[:, :, 0, ...], top[:, :, 1, ...], bottom[:, :, 0, ...], bottom[:, :, 1, ...], rows)
    v = xp.empty((4, 4, c, b, u, n), dtype=d.dtype, device=device.native)
    for a in range(4):
        r = rows[a, ...]
        _b_transpose(backend, r[:, :, 0, :u, ...], r[:, :, 1, :u, ...], r[:, :, 0, 1:, ...], r[:, :, 1, 1:, ...],
                     v[a, ...])
    return xp.reshape(v, (16, c, b * u * n))


def _a_transpose(backend, m0, m1, m2, m3, first, second) -> None:
    """``A^T`` applied along one axis whose four entries are ``m0..m3``: ``m0 + m1 + m2`` into ``first``,
    ``m1 - m2 - m3`` into ``second``."""
    backend.add_into(first, m0, m1)
    first += m2
    backend.subtract_into(second, m1, m2)
    second -= m3


def _output_transform(device, m, y) -> None:
    """``A^T M A`` of every tile of ``m`` ``(16, O, P)`` into ``y`` ``(O, rows, 2, u, 2, N)``."""
    xp, backend = device.xp, device.backend
    m = xp.reshape(m, (4, 4) + y.shape[:2] + y.shape[3:4] + y.shape[5:])
    rows = xp.empty((2,) + m.shape[1:], dtype=m.dtype, device=device.native)
    _a_transpose(backend, m[0, ...], m[1, ...], m[2, ...], m[3, ...], rows[0, ...], rows[1, ...])
    for a in range(2):
        r = rows[a, ...]
        _a_transpose(backend, r[0, ...], r[1, ...], r[2, ...], r[3, ...], y[:, :, a, :, 0, :], y[:, :, a, :, 1, :])


def _output_adjoint(device, d, first, last):
    """The adjoint of ``_output_transform`` (with ``A``'s sign dropped, see ``_G_SIGNED``): ``dM``
    ``(16, O, P)`` of tile rows ``first:last`` of the deinterleaved gradient ``d`` ``(O, t, 2, 2, u, N)``."""
    xp, backend = device.xp, device.backend
    o, b, u, n = d.shape[0], last - first, d.shape[4], d.shape[5]
    even, odd = d[:, first:last, 0, ...], d[:, first:last, 1, ...]
    sums = xp.empty((2, o, b, 2, u, n), dtype=d.dtype, device=device.native)
    backend.add_into(sums[0, ...], even, odd)
    backend.subtract_into(sums[1, ...], even, odd)
    dm = xp.empty((4, 4, o, b, u, n), dtype=d.dtype, device=device.native)
    for a, r in enumerate((even, sums[0, ...], sums[1, ...], odd)):
        left, right = r[:, :, 0, ...], r[:, :, 1, ...]
        dm[a, 0, ...] = left
        backend.add_into(dm[a, 1, ...], left, right)
        backend.subtract_into(dm[a, 2, ...], left, right)
        dm[a, 3, ...] = right
    return xp.reshape(dm, (16, o, b * u * n))


def _constant(device, rows, dtype):
    return device.xp.asarray(rows, dtype=dtype, device=device.native)


def correlate(device, xl, w, padding, flipped: bool = False):
    """The 3x3 correlation of ``xl`` ``(C, H, W, N)`` padded by ``padding`` with ``w`` ``(O, C, 3, 3)``,
    as an ``(O, *out, N)`` view; ``flipped``: with the kernel rotated by 180 degrees and its two
    channel axes swapped (``w`` then ``(C_out, C_in, ...)`` read as ``(C_in, C_out, ...)``), the
    transposed convolution's way."""
    xp, (out, count), o, c, n = device.xp, tiles(xl.shape[1:3], padding), w.shape[0], w.shape[1], xl.shape[-1]
    u = xp.matmul(_constant(device, _kron(_G, flipped), w.dtype),
                  xp.matrix_transpose(xp.reshape(w, (o * c, 9))))  # (16, O*C)
    u = xp.reshape(u, (16, o, c))
    if flipped:
        o, c, u = c, o, xp.matrix_transpose(u)
    d = _deinterleaved(device, xl, padding, count)
    y = xp.empty((o, count[0], 2, count[1], 2, n), dtype=xl.dtype, device=device.native)
    for first, last in _row_blocks(count, n):
        _output_transform(device, xp.matmul(u, _input_transform(device, d, first, last)), y[:, first:last, ...])
    return xp.reshape(y, (o, 2 * count[0], 2 * count[1], n))[:, :out[0], :out[1], :]


def weight_gradient(device, xl, gl, padding):
    """The gradient ``(O, C, 3, 3)`` of the correlation above wrt its kernel, from the input ``xl``
    ``(C, H, W, N)`` and the output gradient ``gl`` ``(O, *out, N)``."""
    xp, (_, count), c, o = device.xp, tiles(xl.shape[1:3], padding), xl.shape[0], gl.shape[0]
    d = _deinterleaved(device, xl, padding, count)
    dg = _deinterleaved(device, gl, ((0, 0), (0, 0)), (count[0] - 1, count[1] - 1))  # (O, t, 2, 2, u, N)
    du = None  # (16, O, C)
    for first, last in _row_blocks(count, xl.shape[-1]):
        part = xp.matmul(_output_adjoint(device, dg, first, last),
                         xp.matrix_transpose(_input_transform(device, d, first, last)))
        if du is None:
            du = part
        else:
            du += part
    # (O*C, 16) @ (16, 9): the product is (O, C, 3, 3) in C order, no permuting copy
    dw = xp.matmul(xp.matrix_transpose(xp.reshape(du, (16, o * c))), _constant(device, _kron(_G_SIGNED), du.dtype))
    return xp.reshape(dw, (o, c, 3, 3))


def worth(least, geo, groups: int, channels: tuple, single_or_double: bool) -> bool:
    """Whether a convolution of Geometry ``geo`` runs as Winograd F(2x2, 3x3): a 2-D 3x3 kernel at
    stride 1 without dilation or groups, in float32 or float64 (``single_or_double``), with
    ``channels`` (in, out) both >= ``least`` (None: never)."""
    return (least is not None and geo.kernel == (3, 3) and geo.stride == (1, 1) and geo.dilation == (1, 1)
            and groups == 1 and min(channels) >= least and single_or_double)
