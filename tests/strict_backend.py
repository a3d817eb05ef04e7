"""array-api-strict as a lucid backend, for tests only.

It accepts nothing outside the array API standard, so a test that passes on it proves the
op is backend-generic. Its fake devices stand in for GPUs on a CPU-only machine:
``strict:0`` is its CPU device, ``strict:1`` and ``strict:2`` are "device1" and "device2".
The extras the standard lacks are done on the wrapped NumPy arrays.
"""

from __future__ import annotations

import numpy as np

import lucid
from lucid._backend.numpy_backend import NumpyRandom, draw, strided_as_complex, strided_complex_part, strided_diagonal
from lucid._backend.registry import Backend

DEVICE_TYPE = "strict"


def _np(x):
    return x._array if hasattr(x, "_array") else x


class StrictBackend(NumpyRandom, Backend):
    name = "array-api-strict"
    device_type = DEVICE_TYPE

    def __init__(self):
        import array_api_strict as xp
        from array_api_strict._array_object import Array

        self.xp, self._Array = xp, Array
        self._devices = [xp.Device("CPU_DEVICE"), xp.Device("device1"), xp.Device("device2")]
        super().__init__()
        self._init_random()

    def native_device(self, index):
        if not 0 <= index < len(self._devices):
            raise lucid.BackendUnavailableError(f"strict:{index} does not exist (strict has 3 devices)")
        return self._devices[index]

    def device_count(self):
        return len(self._devices)

    def index_of(self, array):
        return self._devices.index(array.device)

    def is_host(self, index):
        return index == 0  # "device1" and "device2" stand in for GPUs

    def owns(self, array):
        return isinstance(array, self._Array)

    def may_share_memory(self, array):
        return array._array.base is not None

    def _wrap(self, host, like_or_index):
        index = like_or_index if isinstance(like_or_index, int) else self.index_of(like_or_index)
        return self._Array._new(np.asarray(host), device=self._devices[index])

    def to_numpy(self, array):
        return np.array(array._array, copy=True)

    def from_numpy(self, array, index, non_blocking=False):
        return self._wrap(np.array(array, copy=True), index)

    def move(self, array, index):
        return array.to_device(self._devices[index])

    def add_at(self, target, index, values):
        index = tuple(_np(i) for i in index) if isinstance(index, tuple) else _np(index)
        np.add.at(target._array, index, _np(values))

    def sliding_window_view(self, x, window_shape, axis):
        return self._wrap(np.lib.stride_tricks.sliding_window_view(x._array, window_shape, axis=axis), x)

    def shares_memory(self, a, b):
        return np.may_share_memory(a._array, b._array)

    def strides(self, x):
        return tuple(s // x._array.itemsize for s in x._array.strides)

    def diagonal(self, x, offset, axis1, axis2):
        return self._wrap(strided_diagonal(np.lib.stride_tricks.as_strided, x._array, offset, axis1, axis2), x)

    def einsum(self, subscripts, *operands):
        return self._wrap(np.einsum(subscripts, *(o._array for o in operands)), operands[0])

    def eig(self, x):
        w, v = np.linalg.eig(x._array)
        return self._wrap(w, x), self._wrap(v, x)

    def random(self, kind, shape, dtype, index, rng=None, **params):
        params = {k: _np(v) for k, v in params.items()}
        return self._wrap(draw(self._rng if rng is None else rng, kind, shape, np.dtype(dtype.name), **params), index)

    def complex_part(self, x, part):
        return self._wrap(strided_complex_part(x._array, part), x)

    def as_complex(self, x):
        return self._wrap(strided_as_complex(x._array), x)


def register() -> None:
    """Make ``lucid.device("strict:N")`` available (idempotent)."""
    lucid.register_backend(DEVICE_TYPE, StrictBackend)
