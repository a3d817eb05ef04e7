"""The CPU backend: NumPy 2, whose main namespace follows the array API standard."""

from __future__ import annotations

import numpy as np

from .registry import Backend


def draw(rng, kind: str, shape, np_dtype, **params):
    """Random numbers from a ``numpy.random.Generator``-like ``rng`` (CuPy's has the same methods)."""
    if kind == "permutation":
        return rng.permutation(params["n"]).astype(np_dtype, copy=False)
    if kind == "integers":
        return rng.integers(params["low"], params["high"], size=shape).astype(np_dtype, copy=False)
    work = np_dtype if np_dtype in (np.float32, np.float64) else np.float32
    if kind == "normal":
        out = rng.standard_normal(size=shape, dtype=work)
        out = out * params.get("std", 1.0) + params.get("mean", 0.0) if params else out
    elif kind == "uniform":
        low, high = params.get("low", 0.0), params.get("high", 1.0)
        out = rng.random(size=shape, dtype=work)
        out = out * (high - low) + low if (low, high) != (0.0, 1.0) else out
    else:
        raise ValueError(f"unknown random kind {kind!r}")
    return out.astype(np_dtype, copy=False)


class NumpyBackend(Backend):
    name = "numpy"
    device_type = "cpu"
    xp = np

    def __init__(self):
        super().__init__()
        self._rng = np.random.default_rng()

    @staticmethod
    def dtype_key(native):
        return np.dtype(native)

    def native_device(self, index):
        return "cpu"

    def owns(self, array):
        return isinstance(array, (np.ndarray, np.generic))

    def to_numpy(self, array):
        return array

    def from_numpy(self, array, index):
        return np.asarray(array)

    def move(self, array, index):
        return array

    def may_share_memory(self, array):
        return array.base is not None

    def add_at(self, target, index, values):
        np.add.at(target, index, values)

    def sliding_window_view(self, x, window_shape, axis):
        return np.lib.stride_tricks.sliding_window_view(x, window_shape, axis=axis)

    def einsum(self, subscripts, *operands):
        return np.einsum(subscripts, *operands, optimize=True)

    def seed(self, seed, index=None):
        self._rng = np.random.default_rng(seed)

    def random(self, kind, shape, dtype, index, **params):
        return draw(self._rng, kind, shape, self.native_dtype(dtype), **params)
