"""Array helpers every backend shares: what array-api-compat does with a host sync on CuPy, and what the
standard leaves out (a row-major copy, a reshape that keeps an array of the right shape itself).

array-api-compat's CuPy ``clip`` and ``sign`` patch their results with boolean-mask writes
(``out[mask] = ...``), and CuPy must read the mask's count back to the host for each: two
device syncs per call. These are the same functions in elementwise ``where``/``maximum``/``minimum``
form, which never read data; ``tests/backend/test_host_sync_checks.py`` keeps ``xp.clip``/``xp.sign``
out of lucid.
"""

from __future__ import annotations

__all__ = ["clip", "sign", "row_major", "reshaped", "fused_multiply_add", "is_half"]

_HALF_NAMES = frozenset({"float16", "bfloat16"})
_half: dict = {}  # id(dtype) -> (dtype, whether it is a half dtype): NumPy computes a dtype's name in Python (~1 us),
# and dtypes of different libraries must not meet in a dict's equality test (array-api-strict warns)


def is_half(dtype) -> bool:
    """Whether a backend array dtype is float16 or bfloat16: told by name once per dtype (NumPy's namespace has no
    bfloat16: ml_dtypes' is a NumPy dtype named so; array-api-strict has neither, nor names)."""
    known = _half.get(id(dtype))
    if known is None or known[0] is not dtype:
        known = _half[id(dtype)] = (dtype, getattr(dtype, "name", None) in _HALF_NAMES)
    return known[1]


def clip(xp, x, lo=None, hi=None):
    """``x`` limited to ``[lo, hi]`` (numbers or arrays; None: no limit on that side). nan stays nan;
    where ``lo > hi`` every value becomes ``hi``, as ``torch.clamp``. Always a new array. (The backends'
    ``clip`` extra: NumPy's one pass is 4x faster than ``maximum`` against a number.)"""
    if lo is None and hi is None:
        return xp.asarray(x, copy=True)
    if lo is not None:
        x = xp.maximum(x, lo)
    return x if hi is None else xp.minimum(x, hi)


def sign(xp, x):
    """-1, 0 or 1 by the sign of the real ``x``, in its dtype; 0 at nan and at -0.0, as ``torch.sign``. A
    difference of two masks, not a ``where``: NumPy's ``where`` over an irregular mask is 10x slower."""
    return xp.astype(x > 0, x.dtype) - xp.astype(x < 0, x.dtype)  # unsigned: minus zero


def row_major(xp, x):
    """A row-major (C-ordered) copy of ``x``: the standard has no ``order=``, but a flat reshape of a strided
    array copies in row-major order, and reshaping it back is a view."""
    return xp.reshape(xp.reshape(x, (-1,)), x.shape)


def reshaped(xp, a, shape):
    """``a`` in ``shape``: ``a`` itself where it has that shape (NumPy's reshape would make a view, and the
    engine copies a gradient that is a view before it becomes a ``.grad``)."""
    return a if tuple(a.shape) == tuple(shape) else xp.reshape(a, shape)


def fused_multiply_add(a, b: float, c: float):
    """``a * b + c`` for a float64 array ``a``, rounded once, as a float64 FMA instruction gives it (PyTorch's
    compiled CPU kernels fuse it): the product's rounding error found exactly by Dekker's split, the sum's by
    Knuth's two-sum."""
    product = a * b
    split = 134217729.0  # 2**27 + 1: cuts a double into two halves of 26 bits
    t = split * a
    a_hi = t - (t - a)
    a_lo = a - a_hi
    t = split * b
    b_hi = t - (t - b)
    b_lo = b - b_hi
    product_error = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    total = product + c
    back = total - product
    sum_error = (product - (total - back)) + (c - back)
    return total + (product_error + sum_error)
