"""The backend protocol and the registry that maps device types to backends.

A backend is an array namespace ``xp`` that follows the array API standard, plus the few
extras the standard lacks (scatter-add, sliding windows, random numbers, host transfer,
einsum) and the fused kernels of the hot composites (:mod:`.fused`: generic by default). numpy
(``"cpu"``) and cupy (``"cuda"``, alias ``"gpu"``) are built in; more can be registered, as the
tests do with array-api-strict and its fake devices.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from .. import dtypes as _dt
from .fused import GenericKernels

__all__ = [
    "Backend", "register_backend", "backend_for", "loaded_backend", "loaded_backends", "fresh_seed", "kernels_for",
]


class Backend(GenericKernels):
    """Base class of a backend (register one with :func:`lucid.register_backend`).

    Subclasses set ``name``, ``device_type`` and ``xp`` and implement the methods below that
    raise ``NotImplementedError``; the others default to one synchronous device. The services
    of :mod:`lucid.cuda` (current device, properties, streams, events, memory statistics,
    pinned memory) are declared here too, and raise a clear error on backends without them. The
    fused kernels (``gelu``, ``softmax``, ``cross_entropy_rows``, ``normalize``, ``adam_update``, ...)
    come from :class:`~lucid._backend.fused.GenericKernels`, generic; a backend may override them."""

    name: str = ""
    device_type: str = ""
    aliases: tuple[str, ...] = ()
    single_device: bool = False  # True for "cpu": no index
    # run before every op on this backend's tensors, as a ``Function.apply`` interceptor (the CUDA backend
    # with several GPUs switches to the inputs' device); None: nothing to do
    op_interceptor = None

    def __init__(self):
        found = {d: getattr(self.xp, d.name, None) for d in _dt.ALL}  # the standard has no float16
        self._to_native = {d: v for d, v in found.items() if v is not None}
        self._from_native = {self.dtype_key(v): d for d, v in self._to_native.items()}

    def supports(self, dtype: _dt.DType) -> bool:
        return dtype in self._to_native

    # ---- dtypes -------------------------------------------------------------------
    @staticmethod
    def dtype_key(native):
        """The form of the native dtype ``native`` (as ``xp`` names it) that equals *and hashes
        like* the ``dtype`` of this backend's arrays. NumPy and CuPy override it: ``xp.float32``
        is a scalar type there, while arrays carry ``np.dtype("float32")``."""
        return native

    def native_dtype(self, dtype: _dt.DType):
        try:
            return self._to_native[dtype]
        except KeyError:
            raise TypeError(f"the {self.name} backend has no {dtype.name} dtype") from None

    def lucid_dtype(self, native) -> _dt.DType:
        return self._from_native[native]

    # ---- devices ------------------------------------------------------------------
    def native_device(self, index: int):
        """The backend's device object for ``index``; raises BackendUnavailableError if unusable."""
        raise NotImplementedError

    def device_count(self) -> int:
        return 1

    def current_index(self) -> int:
        return 0

    def index_of(self, array) -> int:
        """Index of the device that holds ``array``."""
        return 0

    def on_device(self, index: int):
        """A context in which ``xp``'s creation functions (``zeros``, ``ones``, ``full``, ``empty``, ``arange``,
        ``eye``, ``linspace``, ``asarray(copy=True)``, the ``*_like`` forms) make arrays on device ``index``.
        CuPy's ignore ``device=`` and allocate on the current device, so its backend makes ``index`` current;
        backends whose functions honour ``device=`` need nothing (this shared no-op context)."""
        return NO_CONTEXT

    def run_on_inputs_device(self, cls, inputs, params):
        """An ``op_interceptor`` for backends with a current device (CuPy with several GPUs): an op whose first
        tensor input lives on another device of this backend than the current one runs inside
        :meth:`on_device` of that device, so what it allocates lands beside its inputs (None: nothing to do)."""
        for t in inputs:
            device = getattr(t, "_device", None)
            if device is not None:
                break
        else:
            return None
        if device.type != self.device_type or device.index == self.current_index():
            return None
        with self.on_device(device.index):
            return cls.apply(*inputs, **params)

    def owns(self, array) -> bool:
        """Whether ``array`` is this backend's array type."""
        raise NotImplementedError

    def may_share_memory(self, array) -> bool:
        """Whether ``array`` may be a view of another array (then the engine copies it before
        making it a ``.grad``). Backends that cannot tell answer True."""
        return True

    def is_host(self, index: int) -> bool:
        """Whether arrays on device ``index`` live in host memory, so that reading a value back costs
        no device sync. Checks that must read data (index ranges, class targets, NaN shortcuts) run
        only there; on other devices they are skipped, as CUDA checks them asynchronously."""
        return True

    def synchronize(self, index: int) -> None:
        """Wait for queued work on device ``index`` (no-op on synchronous backends)."""

    def set_current(self, index: int) -> None:
        """Make device ``index`` the current one of this thread (where new tensors go). Backends
        without a current device accept only the index :meth:`current_index` reports."""
        if index != self.current_index():
            raise NotImplementedError(f"the {self.name} backend cannot change its current device")

    def properties(self, index: int) -> dict:
        """The runtime's properties of device ``index``, as CUDA names them (``name``, ``major``,
        ``minor``, ``totalGlobalMem``, ``multiProcessorCount``, ...)."""
        raise NotImplementedError(f"the {self.name} backend has no device properties")

    # ---- streams and events -----------------------------------------------------------
    # Native objects with CuPy's interface: a stream has ``ptr``, ``done``, ``synchronize()``,
    # ``wait_event(event)`` and is a context manager; an event has ``done``, ``record(stream)``
    # and ``synchronize()``.
    def new_stream(self, index: int):
        """A new stream of device ``index``."""
        raise NotImplementedError(f"the {self.name} backend has no streams")

    def current_stream(self, index: int):
        """The stream that work on device ``index`` goes to now."""
        raise NotImplementedError(f"the {self.name} backend has no streams")

    def new_event(self, enable_timing: bool, blocking: bool, interprocess: bool):
        """A new event; ``enable_timing`` lets :meth:`elapsed_time` read it, ``blocking`` makes
        waiting for it yield the CPU, ``interprocess`` lets other processes share it."""
        raise NotImplementedError(f"the {self.name} backend has no events")

    def elapsed_time(self, start, end) -> float:
        """Milliseconds between two recorded, completed timing events."""
        raise NotImplementedError(f"the {self.name} backend has no events")

    # ---- memory statistics ----------------------------------------------------------------
    def memory_allocated(self, index: int) -> int:
        """Bytes of device ``index`` held by live arrays."""
        raise NotImplementedError(f"the {self.name} backend has no memory statistics")

    def memory_reserved(self, index: int) -> int:
        """Bytes of device ``index`` the backend's allocator holds, in use or cached for reuse."""
        raise NotImplementedError(f"the {self.name} backend has no memory statistics")

    def max_memory_allocated(self, index: int) -> int:
        """The peak of :meth:`memory_allocated` since :meth:`reset_peak_memory_stats`."""
        raise NotImplementedError(f"the {self.name} backend has no memory statistics")

    def reset_peak_memory_stats(self, index: int) -> None:
        """Restart :meth:`max_memory_allocated` of device ``index`` at its current use."""
        raise NotImplementedError(f"the {self.name} backend has no memory statistics")

    def empty_cache(self) -> None:
        """Give cached, unused device memory back to the system (no-op without a cache)."""

    # ---- math settings ------------------------------------------------------------------
    def set_matmul_tf32(self, allow: bool) -> None:
        """Let float32 matrix products round their inputs to TF32 (``lucid.backends.cuda.matmul.allow_tf32``
        sets it); backends without TF32 ignore it."""

    # ---- host transfer ------------------------------------------------------------
    def to_numpy(self, array):
        """A NumPy array with the contents of ``array`` (a copy unless already on the host)."""
        raise NotImplementedError

    def from_numpy(self, array, index: int, non_blocking: bool = False):
        """This backend's array on device ``index`` holding the NumPy ``array``; ``non_blocking`` lets a
        backend with asynchronous copies return before a copy from pinned memory (:meth:`pin`) is done
        (synchronous backends ignore it)."""
        raise NotImplementedError

    def move(self, array, index: int):
        """``array`` moved to device ``index`` of this backend."""
        return self.from_numpy(self.to_numpy(array), index)

    def pin(self, array):
        """A copy of the NumPy ``array`` in page-locked host memory, from which copies to the
        device can run without waiting."""
        raise NotImplementedError(f"the {self.name} backend has no pinned host memory")

    def is_pinned(self, array) -> bool:
        """Whether the NumPy ``array`` lives in page-locked memory made by :meth:`pin`."""
        return False

    # ---- extras the array API lacks -----------------------------------------------
    def add_at(self, target, index, values) -> None:
        """``target[index] += values`` in place, with repeated indices accumulating."""
        raise NotImplementedError

    def add_into(self, out, a, b) -> None:
        """``out[...] = a + b`` (``out`` may be a view: it is written through); this default copies
        ``a`` then adds ``b`` in place, a backend with ``out=`` ufuncs makes it one pass."""
        out[...] = a
        out += b

    def subtract_into(self, out, a, b) -> None:
        """``out[...] = a - b``, as ``add_into``."""
        out[...] = a
        out -= b

    def sliding_window_view(self, x, window_shape, axis):
        """A read-only view of the sliding windows of ``x`` (as numpy's)."""
        raise NotImplementedError

    def shares_memory(self, a, b) -> bool:
        """Whether arrays ``a`` and ``b`` may share memory (``reshape`` asks, to know if it made a view)."""
        raise NotImplementedError

    def strides(self, x) -> tuple | None:
        """The strides of ``x`` in elements, or None when the backend cannot tell (layout-aware
        kernels such as the convolutions then assume a C-contiguous array)."""
        return None

    def diagonal(self, x, offset: int, axis1: int, axis2: int):
        """A writable view of the ``offset``-th diagonal of ``x`` over ``axis1``/``axis2``, as the last
        dimension (NumPy's own ``diagonal`` is read-only)."""
        raise NotImplementedError

    def einsum(self, subscripts: str, *operands):
        raise NotImplementedError

    def eig(self, x):
        """``(eigenvalues, eigenvectors)`` of square matrices (complex; the array API has only ``eigh``)."""
        raise NotImplementedError(f"the {self.name} backend has no general eigendecomposition (linalg.eig); "
                                  "for symmetric matrices use lucid.linalg.eigh")

    def complex_part(self, x, part: str):
        """``part`` of a complex array: ``"real"``, ``"imag"`` or ``"pairs"`` (both, as a last axis of
        size 2). Backends with byte strides return views that share ``x``'s memory; this default copies."""
        xp = self.xp
        if part == "pairs":
            return xp.stack([xp.real(x), xp.imag(x)], axis=-1)
        return xp.real(x) if part == "real" else xp.imag(x)

    def as_complex(self, x):
        """A real array whose last axis holds (real, imaginary) pairs as a complex array (a view
        where the backend has byte strides and the pairs are adjacent; this default copies)."""
        xp = self.xp
        unit = xp.asarray(1j, dtype=xp.complex128 if x.dtype == xp.float64 else xp.complex64, device=x.device)
        return x[..., 0] + unit * x[..., 1]

    def seed(self, seed: int, index: int | None = None) -> None:
        """Seed the default random generator of device ``index`` with ``seed``, or of every device
        when None (device N then gets ``seed + N``, so devices draw different streams)."""
        raise NotImplementedError

    def initial_seed(self, index: int) -> int:
        """The seed of device ``index``'s default generator (a random one until it is seeded)."""
        raise NotImplementedError

    def default_rng(self, index: int):
        """The native generator that device ``index`` draws from when no ``generator=`` is given."""
        raise NotImplementedError

    def new_rng(self, seed: int, index: int):
        """A new native generator on device ``index``, seeded with ``seed`` (a ``lucid.Generator``)."""
        raise NotImplementedError

    def random(self, kind: str, shape, dtype, index: int, rng=None, **params):
        """Random numbers from the native generator ``rng`` (device ``index``'s default when None):
        kind is ``"uniform"`` (low, high), ``"normal"`` (mean, std; ``contiguous=False``: for a non-contiguous
        target, whose PyTorch CPU normals are drawn one at a time), ``"integers"`` (low, high),
        ``"permutation"`` (n), ``"poisson"`` (lam: an array), ``"binomial"`` (count, prob: arrays) or ``"gamma"``
        (alpha: an array; unit scale)."""
        raise NotImplementedError

    def rng_state(self, rng) -> bytes:
        """The state of the native generator ``rng``, as bytes (for checkpoints)."""
        raise NotImplementedError(f"the {self.name} backend cannot save a random generator's state")

    def set_rng_state(self, rng, state: bytes) -> None:
        """Put ``rng`` back, in place, in a state :meth:`rng_state` returned; a malformed ``state``
        raises ValueError and leaves ``rng`` as it was."""
        raise NotImplementedError(f"the {self.name} backend cannot restore a random generator's state")


def fresh_seed() -> int:
    """A seed from the operating system's entropy (63 bits: it fits an int64 tensor)."""
    return int.from_bytes(os.urandom(8), "little") >> 1


# what Backend.on_device returns where nothing needs doing (callers may skip entering it); reusable, nestable
NO_CONTEXT = contextlib.nullcontext()
_BACKENDS: dict[str, Backend | Callable[[], Backend]] = {}
_ALIASES: dict[str, str] = {}
_SINGLE: set[str] = set()
_ON_CREATED: list[Callable[[Backend], None]] = []
_BY_NAMESPACE: dict[int, Backend] = {}  # id(xp) -> the backend created last with that namespace
_SEED: list[int | None] = [None]  # the last lucid.manual_seed, applied to backends created later


def register_backend(device_type: str, factory: Callable[[], Backend], aliases=(), single_device=False) -> None:
    """Register ``factory`` (called once, on first use) as the backend of ``device_type``."""
    _BACKENDS[device_type] = factory
    _ALIASES[device_type] = device_type
    for alias in aliases:
        _ALIASES[alias] = device_type
    if single_device:
        _SINGLE.add(device_type)



def canonical_type(name: str) -> str | None:
    return _ALIASES.get(name)


def is_single_device(kind: str) -> bool:
    return kind in _SINGLE


def accepted_forms() -> list[str]:
    forms = []
    for alias, kind in _ALIASES.items():
        forms.append(f"'{alias}'" if kind in _SINGLE else f"'{alias}', '{alias}:N'")
    return forms


def backend_for(device_type: str) -> Backend:
    """The backend instance serving ``device_type``, created on first call."""
    entry = _BACKENDS[device_type]
    if not isinstance(entry, Backend):
        entry = _BACKENDS[device_type] = entry()
        _BY_NAMESPACE[id(entry.xp)] = entry
        if _SEED[0] is not None:
            entry.seed(_SEED[0])
        for callback in _ON_CREATED:
            callback(entry)
    return entry


def kernels_for(xp) -> GenericKernels:
    """The fused kernels for arrays of the namespace ``xp``: those of the backend created with it (the latest,
    should two share it: both work on the same arrays), for array code that is handed only ``xp`` (an op's
    no-graph ``compute``, an optimizer's ``_update``); the generic ones for a namespace no backend has."""
    found = _BY_NAMESPACE.get(id(xp))
    if found is None:
        found = GenericKernels()
        found.xp = xp
    return found


def loaded_backend(device_type: str) -> Backend | None:
    """The backend of ``device_type`` if its first use has created it, else None (never creates
    it: :func:`backend_for` does, and may raise BackendUnavailableError)."""
    entry = _BACKENDS.get(device_type)
    return entry if isinstance(entry, Backend) else None


def loaded_backends() -> list[Backend]:
    """The backends created so far."""
    return [entry for entry in _BACKENDS.values() if isinstance(entry, Backend)]


def on_backend_created(callback: Callable[[Backend], None]) -> None:
    """Call ``callback(backend)`` for every backend, those created already and those created later
    (backends are created on first use): how the layers above the registry (autograd's op
    interceptors) learn of them without the registry importing them."""
    _ON_CREATED.append(callback)
    for backend in loaded_backends():
        callback(backend)


def current_index(device_type: str) -> int:
    try:
        return backend_for(device_type).current_index()
    except Exception:  # an unusable backend reports its error when a tensor is made
        return 0


def seed_all(seed: int) -> None:
    """Seed every backend created so far, and remember ``seed`` for those created later."""
    _SEED[0] = seed
    for backend in loaded_backends():
        backend.seed(seed)


def last_seed() -> int | None:
    """The seed last given to :func:`seed_all` (None if never called)."""
    return _SEED[0]
