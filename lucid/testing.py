"""``lucid.testing`` (``torch.testing``): :func:`assert_close` compares tensors, NumPy arrays, numbers and
nested sequences/mappings of them elementwise, with PyTorch's default tolerances per dtype and its
mismatch report (how many elements differ, the greatest absolute and relative difference and where);
:func:`make_tensor` makes random test inputs; :func:`assert_allclose` is the deprecated older comparison."""

from __future__ import annotations

import collections.abc
import math
import warnings

import numpy as np

from . import dtypes as _dt
from ._tensor import Tensor, tensor
from ._typeinfo import finfo, iinfo
from .ops.creation import empty
from .ops.sampling import randint

__all__ = ["assert_close", "assert_allclose", "make_tensor"]

# (rtol, atol) by dtype name, as torch.testing; integers and bool compare exactly
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7)}
_SCALAR_DTYPES = {bool: _dt.bool_, int: _dt.int64, float: _dt.float64}


def _tolerance(*dtypes) -> tuple[float, float]:
    pairs = [_TOLERANCES.get(d.name, (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _fail(message: str, msg, path: str):
    if msg is not None:
        message = msg(message) if callable(msg) else msg
    elif path:
        message += f"\n\nThe failure occurred for item {path}"
    raise AssertionError(message)


def _host(t: Tensor) -> np.ndarray:
    return np.asarray(t._device.backend.to_numpy(t._data))


def _compare_arrays(a, b, dtype, rtol, atol, equal_nan, msg, path, what):
    if a.dtype.kind in "iub" and b.dtype.kind in "iub":
        mismatch = a != b
    else:
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        mismatch = ~np.isclose(a64, b64, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if not mismatch.any():
        return
    exact = rtol == 0 and atol == 0
    work = np.dtype(dtype.name) if dtype.kind == "f" else np.float32  # the dtype PyTorch reports the differences in
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        abs_diff = np.abs(a.astype(np.int64) - b.astype(np.int64))
    else:
        abs_diff = np.abs(a.astype(work) - b.astype(work))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_diff = (abs_diff / np.abs(b.astype(work))).astype(work)

    def worst(diff):
        """The greatest difference (NaN first, as torch.max) and its index."""
        i = int(np.argmax(diff.astype(np.float64).reshape(-1))) if diff.size else 0
        return diff.reshape(-1)[i].item(), np.unravel_index(i, a.shape) if a.ndim else ()

    (abs_value, abs_at), (rel_value, rel_at) = worst(abs_diff), worst(rel_diff)
    count, total = int(mismatch.sum()), mismatch.size
    allowed_abs = "" if exact else f" (up to {atol} allowed)"
    allowed_rel = "" if exact else f" (up to {rtol} allowed)"
    _fail(f"{what} are not {'equal' if exact else 'close'}!\n\n"
          f"Mismatched elements: {count} / {total} ({100 * count / total:.1f}%)\n"
          f"Greatest absolute difference: {abs_value} at index {tuple(int(k) for k in abs_at)}{allowed_abs}\n"
          f"Greatest relative difference: {rel_value} at index {tuple(int(k) for k in rel_at)}{allowed_rel}",
          msg, path)


def _compare(actual, expected, rtol, atol, equal_nan, check_device, check_dtype, msg, path):
    if isinstance(actual, (Tensor, np.ndarray)) or isinstance(expected, (Tensor, np.ndarray)):
        if type(actual) is not type(expected) and not (isinstance(actual, Tensor) and isinstance(expected, Tensor)):
            raise TypeError(f"assert_close: can't compare a {type(actual).__name__} with a "
                            f"{type(expected).__name__}; make both tensors (or both arrays)")
        a_t = actual if isinstance(actual, Tensor) else Tensor(actual)
        b_t = expected if isinstance(expected, Tensor) else Tensor(expected)
        if a_t.shape != b_t.shape:
            _fail(f"The values for attribute 'shape' do not match: {a_t.shape} != {b_t.shape}.", msg, path)
        if check_device and a_t.device != b_t.device:
            _fail(f"The values for attribute 'device' do not match: {a_t.device} != {b_t.device}.", msg, path)
        if check_dtype and a_t.dtype is not b_t.dtype:
            _fail(f"The values for attribute 'dtype' do not match: {a_t.dtype!r} != {b_t.dtype!r}.", msg, path)
        r, a = (rtol, atol) if rtol is not None else _tolerance(a_t.dtype, b_t.dtype)
        _compare_arrays(_host(a_t), _host(b_t), _dt.promote_types(a_t.dtype, b_t.dtype), r, a, equal_nan, msg,
                        path, "Tensor-likes")
        return
    if isinstance(actual, (bool, int, float)) and isinstance(expected, (bool, int, float)):
        dtypes = (_SCALAR_DTYPES[type(actual)], _SCALAR_DTYPES[type(expected)])
        r, a = (rtol, atol) if rtol is not None else _tolerance(*dtypes)
        close = actual == expected or (equal_nan and actual != actual and expected != expected) or (
            not isinstance(actual, bool) and abs(actual - expected) <= a + r * abs(expected))
        if not close:
            diff = abs(actual - expected)
            _fail(f"Scalars are not {'close' if r or a else 'equal'}!\n\nExpected {expected} but got {actual}.\n"
                  f"Absolute difference: {diff}" + (f" (up to {a} allowed)" if r or a else "") + "\n"
                  f"Relative difference: {diff / abs(expected) if expected else float('inf')}"
                  + (f" (up to {r} allowed)" if r or a else ""), msg, path)
        return
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        if set(actual) != set(expected):
            _fail(f"The keys of the mappings do not match: {sorted(map(repr, actual))} != "
                  f"{sorted(map(repr, expected))}", msg, path)
        for key in actual:
            _compare(actual[key], expected[key], rtol, atol, equal_nan, check_device, check_dtype, msg,
                     f"{path}[{key!r}]")
        return
    if isinstance(actual, collections.abc.Sequence) and isinstance(expected, collections.abc.Sequence) and \
            not isinstance(actual, str) and not isinstance(expected, str):
        if len(actual) != len(expected):
            _fail(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", msg, path)
        for i, (x, y) in enumerate(zip(actual, expected)):
            _compare(x, y, rtol, atol, equal_nan, check_device, check_dtype, msg, f"{path}[{i}]")
        return
    raise TypeError(f"assert_close: no comparison for inputs of type {type(actual).__name__} and "
                    f"{type(expected).__name__}; pass tensors, NumPy arrays, numbers or sequences/mappings of them")


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False, msg=None) -> None:
    """Raise an AssertionError unless ``|actual - expected| <= atol + rtol * |expected|`` everywhere, shapes
    (and, unless turned off, devices and dtypes) being equal. Without ``rtol``/``atol`` (give both or neither)
    the tolerances are PyTorch's for the dtypes (float32: 1.3e-6, 1e-5; integers: exact). ``msg`` replaces the
    report (a string, or a function of it). Layout and stride checks are accepted; lucid's tensors are dense."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'atol' if atol is None else 'rtol'}.")
    _compare(actual, expected, rtol, atol, equal_nan, check_device, check_dtype, msg, "")


# assert_allclose's own defaults (looser than assert_close's), by dtype name
_ALLCLOSE_TOLERANCES = {"float16": (1e-3, 1e-3), "float32": (1e-4, 1e-5), "float64": (1e-5, 1e-8)}


def assert_allclose(actual, expected, rtol: float | None = None, atol: float | None = None, equal_nan: bool = True,
                    msg: str = "") -> None:
    """Deprecated (FutureWarning, as PyTorch): :func:`assert_close` with ``expected`` made a tensor of
    ``actual``'s dtype, dtypes not checked, NaNs equal by default and looser default tolerances."""
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a future "
                  "release. Please use `torch.testing.assert_close()` instead. You can find detailed upgrade "
                  "instructions in https://github.com/pytorch/pytorch/issues/61844.", FutureWarning, stacklevel=2)
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        pairs = [_ALLCLOSE_TOLERANCES.get(t.dtype.name, (0.0, 0.0)) for t in (actual, expected)]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True,
                 check_dtype=False, msg=msg or None)


def _low_high(low, high, dtype, lowest: float, highest: float, default_low: float, default_high: float):
    """PyTorch's checks and clamping of ``make_tensor``'s ``[low, high)`` for ``dtype``'s range."""
    low = default_low if low is None else low
    high = default_high if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low == high and dtype.kind in "fc":
        warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or complex types is "
                      "deprecated since 2.1 and will be removed in 2.3. Use `torch.full(...)` instead.",
                      FutureWarning, stacklevel=3)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lowest or low >= highest:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), but "
                         f"lucid.{dtype.name} only supports [{lowest}, {highest})")
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
    return (math.ceil(low), math.ceil(high)) if dtype.kind in "biu" else (low, high)


def _uniform(shape, dtype, device, low: float, high: float) -> Tensor:
    """Uniform floats in ``[low, high)`` (halved and doubled where the span overflows the dtype, as PyTorch)."""
    out = empty(shape, dtype=dtype, device=device)
    if high - low >= finfo(dtype).max:
        return out.uniform_(low / 2, high / 2).mul_(2)
    return out.uniform_(low, high)


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad: bool = False,
                noncontiguous: bool = False, exclude_zero: bool = False, memory_format=None) -> Tensor:
    """A random tensor of ``shape`` (ints, or one sequence), as ``torch.testing.make_tensor``: integers uniform
    in ``[low, high)`` (default ``[-9, 10)``, clamped to the dtype), floats uniform in ``[low, high)`` (default
    ``[-9, 9)``), complex numbers with both parts so, bools either. ``noncontiguous`` gives a strided view
    (when there are two elements or more); ``exclude_zero`` replaces zeros by 1 (integers) or the dtype's
    smallest normal number; ``requires_grad`` only for floating and complex dtypes. ``memory_format`` is
    accepted (lucid lays tensors out row-major)."""
    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    dtype = _dt.to_dtype(dtype)
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually exclusive, but got "
                         f"noncontiguous={noncontiguous} and memory_format={memory_format}")
    integral = dtype.kind in "biu"
    real = dtype.to_real() if dtype.kind == "c" else dtype
    if requires_grad and integral:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got "
                         f"dtype=lucid.{dtype.name}")
    noncontiguous = noncontiguous and math.prod(shape) > 1
    full = (*shape[:-1], 2 * shape[-1]) if noncontiguous else shape
    if dtype.kind == "b":
        low, high = _low_high(low, high, dtype, 0, 2, 0, 2)
        result = randint(low, high, full, dtype=dtype, device=device)
    elif integral:
        info = iinfo(dtype)
        low, high = _low_high(low, high, dtype, info.min, info.max + (dtype is not _dt.int64), -9, 10)
        result = randint(low, high, full, dtype=dtype, device=device)
    else:
        low, high = _low_high(low, high, dtype, finfo(real).min, finfo(real).max, -9, 9)
        result = _uniform(full, real, device, low, high)
        if dtype.kind == "c":
            result = result.to(dtype) + 1j * _uniform(full, real, device, low, high).to(dtype)
    if noncontiguous:
        result = result[..., 1::2]
    if exclude_zero:
        result[result == 0] = 1 if integral else finfo(real).tiny
    if dtype.kind in "fc":
        result.requires_grad_(requires_grad)
    return result
