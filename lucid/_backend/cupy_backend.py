"""The CUDA backend: CuPy, seen through array-api-compat's standard-conforming namespace.

Works with ``cupy-cuda12x`` and ``cupy-cuda13x`` alike: it touches nothing CUDA-version specific.
"""

from __future__ import annotations

from .device import BackendUnavailableError
from .numpy_backend import draw
from .registry import Backend

INSTALL_HINT = "install CuPy for your CUDA version: pip install 'lucid[cuda12]' or 'lucid[cuda13]'"


class CupyBackend(Backend):
    name = "cupy"
    device_type = "cuda"
    aliases = ("gpu",)

    def __init__(self):
        try:
            import cupy
            import cupyx
            from array_api_compat import cupy as xp
        except ImportError as e:
            raise BackendUnavailableError(f"CUDA tensors need CuPy, which is not importable ({e}); {INSTALL_HINT}") from e
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:  # no driver, no device, or a CUDA version mismatch
            raise BackendUnavailableError(f"CuPy is installed but no usable CUDA GPU was found ({e})") from e
        if count == 0:
            raise BackendUnavailableError("CuPy is installed but this machine has no CUDA GPU")
        self.cupy, self.cupyx, self.xp, self._count = cupy, cupyx, xp, count
        self._rngs: dict[int, object] = {}
        self._seed = None
        super().__init__()

    @staticmethod
    def _dtype_key(native):
        import numpy as np

        return np.dtype(native)

    def native_device(self, index):
        if not 0 <= index < self._count:
            raise BackendUnavailableError(f"cuda:{index} does not exist; this machine has {self._count} CUDA device(s)")
        return self.cupy.cuda.Device(index)

    def device_count(self):
        return self._count

    def current_index(self):
        return self.cupy.cuda.runtime.getDevice()

    def index_of(self, array):
        return array.device.id

    def owns(self, array):
        return isinstance(array, self.cupy.ndarray)

    def synchronize(self, index):
        with self.cupy.cuda.Device(index):
            self.cupy.cuda.Device(index).synchronize()

    def to_numpy(self, array):
        return self.cupy.asnumpy(array)

    def from_numpy(self, array, index):
        with self.cupy.cuda.Device(index):
            return self.cupy.asarray(array)

    def move(self, array, index):
        if array.device.id == index:
            return array
        with self.cupy.cuda.Device(index):
            return self.cupy.array(array, copy=True)

    def may_share_memory(self, array):
        return array.base is not None

    def add_at(self, target, index, values):
        self.cupyx.scatter_add(target, index, values)

    def sliding_window_view(self, x, window_shape, axis):
        return self.cupy.lib.stride_tricks.sliding_window_view(x, window_shape, axis=axis)

    def einsum(self, subscripts, *operands):
        return self.cupy.einsum(subscripts, *operands)

    def seed(self, seed):
        self._seed = seed
        self._rngs.clear()

    def random(self, kind, shape, dtype, index, **params):
        rng = self._rngs.get(index)
        with self.cupy.cuda.Device(index):
            if rng is None:
                seed = None if self._seed is None else self._seed + index
                rng = self._rngs[index] = self.cupy.random.default_rng(seed)
            if kind == "permutation":  # CuPy's Generator has no permutation
                return self.cupy.argsort(rng.random(params["n"])).astype(self.native_dtype(dtype))
            return draw(rng, kind, shape, self.native_dtype(dtype), **params)
