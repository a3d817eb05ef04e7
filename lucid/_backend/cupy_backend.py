"""The CUDA backend: CuPy, seen through array-api-compat's standard-conforming namespace.

Works with ``cupy-cuda12x`` and ``cupy-cuda13x`` alike: it touches nothing CUDA-version specific.
This module is imported only when a CUDA device is first used, so nothing here runs on a
machine without CuPy.

It also implements what the backend protocol declares for :mod:`lucid.cuda` (devices,
streams, events, memory statistics, seeding, pinned host memory) and the TF32 switch that
:mod:`lucid.backends.cuda` applies:

- **Multi-GPU.** CuPy computes on its *current* device. With more than one GPU the backend
  offers an ``op_interceptor`` (which :mod:`lucid.autograd` registers for ``Function.apply``)
  that runs an op whose inputs live on ``cuda:N`` with ``N`` current (``with
  cupy.cuda.Device(N)``) and restores the previous device after it. On single-GPU machines
  there is none (no per-op cost). Code outside ops creates arrays inside :meth:`CupyBackend.on_device`
  (``Device.create``), since CuPy's creation functions ignore ``device=``.
- **Memory.** ``memory_allocated`` / ``memory_reserved`` are the used / total bytes of CuPy's
  default memory pool on that device. The pool keeps no peak, so ``reset_peak_memory_stats``
  starts a CuPy ``MemoryHook`` (in the calling thread) that keeps a running count of the
  bytes handed out and its maximum; until then ``max_memory_allocated`` is the current use.
  The hook adds Python calls to every allocation and free, which is why it is not always on.
- **Pinned memory.** :meth:`CupyBackend.pin` copies a NumPy array into page-locked memory
  from CuPy's pinned pool; ``from_numpy(pinned, index, non_blocking=True)`` then copies it
  on the current stream without waiting, and keeps the host buffer alive until the copy's
  event has completed.
- **Fused kernels.** The hot composites (GELU, softmax, cross-entropy rows, normalization, SGD and
  Adam updates) run as CUDA kernels of :mod:`.cupy_kernels` instead of the generic array code.
"""

from __future__ import annotations

import collections
import functools
import os
import threading

import numpy as np

from .cupy_kernels import CupyKernels
from .device import BackendUnavailableError
from .numpy_backend import draw, strided_as_complex, strided_complex_part, strided_diagonal
from .registry import Backend, fresh_seed

INSTALL_HINT = "install CuPy for your CUDA version: pip install 'lucid[cuda12]' or 'lucid[cuda13]'"


class CupyBackend(CupyKernels, Backend):
    name = "cupy"
    device_type = "cuda"
    aliases = ("gpu",)

    def __init__(self):
        try:
            import cupy
            import cupyx
            from array_api_compat import cupy as xp
        except ImportError as e:
            raise BackendUnavailableError(
                f"CUDA tensors need CuPy, which is not importable ({e}); {INSTALL_HINT}"
            ) from e
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:  # no driver, no device, or a CUDA version mismatch
            raise BackendUnavailableError(f"CuPy is installed but no usable CUDA GPU was found ({e})") from e
        if count == 0:
            raise BackendUnavailableError("CuPy is installed but this machine has no CUDA GPU")
        self.cupy, self.cupyx, self.xp, self._count = cupy, cupyx, xp, count
        self._rngs: dict[int, object] = {}
        self._seeds: dict[int, int] = {}  # device index -> seed of its generator (when seeded)
        self._pool = cupy.get_default_memory_pool()
        self._peaks = None  # the peak-tracking MemoryHook, once reset_peak_memory_stats started it
        self._in_flight = collections.deque()  # (event, pinned host array) of non-blocking copies
        super().__init__()
        if count > 1:
            self.op_interceptor = self.run_on_inputs_device

    @staticmethod
    def dtype_key(native):
        return np.dtype(native)

    # ---- devices ------------------------------------------------------------------
    def native_device(self, index):
        if not 0 <= index < self._count:
            raise BackendUnavailableError(f"cuda:{index} does not exist; this machine has {self._count} CUDA device(s)")
        return self.cupy.cuda.Device(index)

    def device_count(self):
        return self._count

    def current_index(self):
        return self.cupy.cuda.runtime.getDevice()

    def set_current(self, index: int) -> None:
        """Make ``cuda:index`` the current device of this thread."""
        self.native_device(index).use()

    def index_of(self, array):
        return array.device.id

    def owns(self, array):
        return isinstance(array, self.cupy.ndarray)

    def is_host(self, index):
        return False

    def synchronize(self, index):
        self.cupy.cuda.Device(index).synchronize()

    def on_device(self, index: int):
        """``cupy.cuda.Device(index)``: CuPy creates arrays on the current device whatever ``device=`` says."""
        return self.cupy.cuda.Device(index)

    def properties(self, index: int) -> dict:
        """The CUDA runtime's properties of ``cuda:index`` (``name`` decoded to str)."""
        props = dict(self.cupy.cuda.runtime.getDeviceProperties(self.native_device(index).id))
        name = props.get("name", b"")
        props["name"] = name.decode() if isinstance(name, bytes) else str(name)
        return props

    # ---- streams and events -----------------------------------------------------------
    def new_stream(self, index):
        with self.native_device(index):
            return self.cupy.cuda.Stream(non_blocking=False)

    def current_stream(self, index):
        with self.native_device(index):
            return self.cupy.cuda.get_current_stream()

    def new_event(self, enable_timing, blocking, interprocess):
        return self.cupy.cuda.Event(block=blocking, disable_timing=not enable_timing, interprocess=interprocess)

    def elapsed_time(self, start, end):
        return self.cupy.cuda.get_elapsed_time(start, end)

    # ---- host transfer ------------------------------------------------------------
    def to_numpy(self, array):
        return self.cupy.asnumpy(array)

    def from_numpy(self, array, index, non_blocking: bool = False):
        """``array`` copied to ``cuda:index``. A page-locked (:meth:`pin`), C-contiguous array is
        copied on the current stream; with ``non_blocking`` this returns before the copy is
        done (later work on the stream is ordered after it), else it waits for it. Other host
        arrays go through ``cupy.asarray``, which stages them in pinned memory itself."""
        with self.cupy.cuda.Device(index):
            if not (self.is_pinned(array) and array.flags.c_contiguous):
                return self.cupy.asarray(array)
            out = self.cupy.empty(array.shape, dtype=array.dtype)
            stream = self.cupy.cuda.get_current_stream()
            out.set(array, stream=stream)
            if non_blocking:
                self._keep_until_copied(stream, array)
            else:
                stream.synchronize()
            return out

    def _keep_until_copied(self, stream, host) -> None:
        """Hold ``host`` until the copy queued on ``stream`` has read it (so its pinned block is
        not reused early); entries whose copy completed are dropped here as well."""
        while self._in_flight and self._in_flight[0][0].done:
            self._in_flight.popleft()
        self._in_flight.append((stream.record(), host))

    def pin(self, array) -> np.ndarray:
        """A copy of the NumPy ``array`` in page-locked host memory (CuPy's pinned pool), from
        which host-to-device copies can run asynchronously."""
        array = np.asarray(array)
        memory = self.cupy.cuda.alloc_pinned_memory(max(array.nbytes, 1))
        pinned = np.frombuffer(memory, array.dtype, array.size).reshape(array.shape)
        pinned[...] = array
        return pinned

    def is_pinned(self, array) -> bool:
        """Whether the NumPy ``array`` lives in memory from CuPy's pinned pool (as :meth:`pin` makes)."""
        base = array
        while isinstance(base, (np.ndarray, memoryview)):
            base = base.base if isinstance(base, np.ndarray) else base.obj
        return isinstance(base, self.cupy.cuda.PinnedMemoryPointer)

    def move(self, array, index):
        if array.device.id == index:
            return array
        with self.cupy.cuda.Device(index):
            return self.cupy.array(array, copy=True)

    def may_share_memory(self, array):
        return array.base is not None

    # ---- memory statistics ----------------------------------------------------------
    def memory_allocated(self, index: int) -> int:
        """Bytes of ``cuda:index`` held by live CuPy arrays (the default pool's used bytes)."""
        with self.native_device(index):
            return self._pool.used_bytes()

    def memory_reserved(self, index: int) -> int:
        """Bytes of ``cuda:index`` the default pool holds, used or cached for reuse."""
        with self.native_device(index):
            return self._pool.total_bytes()

    def max_memory_allocated(self, index: int) -> int:
        """The peak of :meth:`memory_allocated` since :meth:`reset_peak_memory_stats` (the
        current value if tracking was never started)."""
        current = self.memory_allocated(index)
        if self._peaks is None:
            return current
        return max(self._peaks.peak.get(index, 0), current)

    def reset_peak_memory_stats(self, index: int) -> None:
        """Restart the peak of ``cuda:index`` at its current use (starting the tracking hook, with
        every device's count at its current use)."""
        if self._peaks is None:
            peaks = _peak_hook_class(self.cupy)()
            for i in range(self._count):
                peaks.reset(i, self.memory_allocated(i))
            peaks.__enter__()  # stays registered in this thread for the process's life
            self._peaks = peaks
        self._peaks.reset(index, self.memory_allocated(index))

    def empty_cache(self) -> None:
        """Give the pool's cached, unused device blocks back to CUDA."""
        self._pool.free_all_blocks()

    # ---- math settings ----------------------------------------------------------------
    def set_matmul_tf32(self, allow: bool) -> None:
        """Let cuBLAS round float32 matmul inputs to TF32 on GPUs of compute capability 8.0+.

        This is CuPy's ``CUPY_TF32`` switch: CuPy reads that variable once, at its first float32
        GEMM, into the compute type it keeps per dtype, so the type is set directly (CuPy warns
        and keeps full float32 on older GPUs). Should a CuPy release move that setting, the
        variable is set instead, which holds from the process's first float32 matmul on."""
        try:
            from cupy._core import _routines_linalg as linalg

            kind = linalg.COMPUTE_TYPE_TF32 if allow else linalg.COMPUTE_TYPE_DEFAULT
            linalg.set_compute_type(np.float32, kind)
        except (ImportError, AttributeError):
            os.environ["CUPY_TF32"] = "1" if allow else "0"

    # ---- extras the array API lacks -----------------------------------------------
    def add_at(self, target, index, values):
        self.cupyx.scatter_add(target, index, values)

    def sliding_window_view(self, x, window_shape, axis):
        return self.cupy.lib.stride_tricks.sliding_window_view(x, window_shape, axis=axis)

    def shares_memory(self, a, b):
        return self.cupy.may_share_memory(a, b)

    def strides(self, x):
        return tuple(s // x.itemsize for s in x.strides)

    def diagonal(self, x, offset, axis1, axis2):
        return strided_diagonal(self.cupy.lib.stride_tricks.as_strided, x, offset, axis1, axis2)

    def einsum(self, subscripts, *operands):
        return self.cupy.einsum(subscripts, *operands)

    def eig(self, x):
        eig = getattr(self.cupy.linalg, "eig", None)  # CuPy has it only in recent versions
        if eig is None:
            return super().eig(x)
        return eig(x)

    def complex_part(self, x, part):
        return strided_complex_part(x, part)

    def as_complex(self, x):
        return strided_as_complex(x)

    def seed(self, seed, index: int | None = None):
        """Seed the default generator of ``cuda:index`` with ``seed``, or every device's (device N
        with ``seed + N``, so devices draw different streams from one seed) when None."""
        for i in range(self._count) if index is None else (index,):
            self._seeds[i] = seed + i if index is None else seed
            self._rngs.pop(i, None)

    def initial_seed(self, index):
        return self._seeds.setdefault(index, fresh_seed())

    def default_rng(self, index):
        rng = self._rngs.get(index)
        if rng is None:
            rng = self._rngs[index] = self.new_rng(self.initial_seed(index), index)
        return rng

    def new_rng(self, seed, index):
        with self.cupy.cuda.Device(index):
            return self.cupy.random.default_rng(seed)

    def random(self, kind, shape, dtype, index, rng=None, **params):
        rng = rng if rng is not None else self.default_rng(index)
        with self.cupy.cuda.Device(index):
            if kind == "permutation":  # CuPy's Generator has no permutation
                return self.cupy.argsort(rng.random(params["n"])).astype(self.native_dtype(dtype))
            return draw(rng, kind, shape, self.native_dtype(dtype), **params)


@functools.cache
def _peak_hook_class(cupy):
    """The peak-tracking memory hook, a ``cupy.cuda.MemoryHook`` subclass (made once)."""

    class PeakMemory(cupy.cuda.MemoryHook):
        """Running bytes handed out by the pool per device, and their maximum."""

        name = "LucidPeakMemory"

        def __init__(self):
            self.lock = threading.Lock()
            self.current: dict[int, int] = {}
            self.peak: dict[int, int] = {}

        def reset(self, device_id, current):
            with self.lock:
                self.current[device_id] = self.peak[device_id] = current

        def malloc_postprocess(self, device_id, size, mem_size, mem_ptr, pmem_id):
            if mem_ptr:
                with self.lock:
                    now = self.current[device_id] = self.current.get(device_id, 0) + mem_size
                    if now > self.peak.get(device_id, 0):
                        self.peak[device_id] = now

        def free_postprocess(self, device_id, mem_size, mem_ptr, pmem_id):
            with self.lock:
                self.current[device_id] = self.current.get(device_id, 0) - mem_size

    return PeakMemory
