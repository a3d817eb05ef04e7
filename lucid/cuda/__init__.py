"""``lucid.cuda``: CUDA devices, streams, events, memory statistics and seeding (``torch.cuda``'s API).

Without CuPy or a GPU, :func:`is_available` is False, :func:`device_count` 0,
:func:`synchronize`, :func:`manual_seed` and :func:`manual_seed_all` do nothing, and every
other function raises :class:`~lucid.BackendUnavailableError` saying what is missing.

lucid queues GPU work without waiting for it. The host waits for the GPU (a *sync point*)
only where it needs a result: ``Tensor.item()`` (and ``float()``, ``int()``, ``bool()`` of a
tensor), printing a tensor, ``.numpy(force=True)`` / ``.cpu()`` / ``.tolist()``, boolean-mask
indexing and ``nonzero`` (the result's size depends on the data), the range checks of integer
indices (tensor indexing, ``gather``/``scatter``, ``embedding``, class targets of
``cross_entropy``/``nll_loss``: one sync each, to raise an IndexError naming the bad index),
``GradScaler.step`` (it reads whether the gradients are finite), :func:`synchronize`,
``Stream.synchronize()`` and ``Event.synchronize()``. Time GPU work with :class:`Event` or
after :func:`synchronize`. :func:`set_sync_debug_mode` makes the copies to the host among them warn or raise.

Multi-GPU: ops run on the GPU of their input tensors (``cuda:1`` tensors compute on device 1
whatever the current device is); new tensors made with ``device="cuda"`` go to the current
device, which :func:`set_device` and the :class:`device` context choose.

Without a GPU, the functions PyTorch's CPU build answers answer as it does (:func:`is_bf16_supported`
and :func:`is_initialized` are False, :func:`get_rng_state_all` and :func:`get_arch_list` empty,
``device_of`` a CPU tensor and ``stream(None)`` change nothing); :mod:`lucid.cuda.nvtx` markers are
no-ops (PyTorch's CPU build raises there: profiling markers should not stop a CPU run). lucid has no
CUDA graph capture: see :mod:`lucid.cuda.graphs`.
"""

from __future__ import annotations

import contextlib
import warnings

from .. import _typeinfo
from .. import random as _random
from .._backend import registry as _registry
from .._backend.device import BackendUnavailableError
from .._backend.device import device as _parse_device
from .._backend.registry import backend_for, fresh_seed
from .._tensor import Tensor, register_methods
from ..dtypes import bfloat16
from . import graphs, nvtx
from .graphs import CUDAGraph, graph, is_current_stream_capturing, make_graphed_callables

_LEGACY_TYPES = _typeinfo.legacy_types("cuda")  # FloatTensor ...: CUDA tensors' legacy constructors and isinstance
globals().update(_LEGACY_TYPES)

__all__ = [
    "is_available", "device_count", "current_device", "set_device", "device", "synchronize",
    "Stream", "Event", "stream", "current_stream",
    "memory_allocated", "max_memory_allocated", "memory_reserved", "reset_peak_memory_stats", "empty_cache",
    "manual_seed", "manual_seed_all", "seed", "seed_all", "initial_seed", "get_rng_state", "set_rng_state",
    "get_device_name", "get_device_capability", "get_device_properties",
    "is_initialized", "init", "is_bf16_supported", "get_arch_list", "get_gencode_flags", "ipc_collect",
    "StreamContext", "ExternalStream", "default_stream", "set_stream", "device_of",
    "mem_get_info", "memory_stats", "memory_summary", "max_memory_reserved", "reset_max_memory_allocated",
    "reset_accumulated_memory_stats", "memory_cached", "max_memory_cached",
    "set_per_process_memory_fraction", "get_per_process_memory_fraction",
    "get_rng_state_all", "set_rng_state_all",
    "OutOfMemoryError", "CudaError", "AcceleratorError",
    "graphs", "nvtx", "CUDAGraph", "graph", "make_graphed_callables", "is_current_stream_capturing",
    "set_sync_debug_mode", "get_sync_debug_mode",
    *_LEGACY_TYPES,
]


class OutOfMemoryError(RuntimeError):
    """A GPU allocation failed (``torch.OutOfMemoryError``; also ``lucid.OutOfMemoryError``).

    CuPy raises its own ``cupy.cuda.memory.OutOfMemoryError`` (a MemoryError) from its pool; when the CUDA
    backend starts, lucid has the pool raise a subclass of both that class and this one instead, so
    ``except lucid.cuda.OutOfMemoryError`` (and ``except torch.cuda.OutOfMemoryError`` under the drop-in
    runner) catches CuPy's out-of-memory errors while every ``except`` written for CuPy's still does."""


class AcceleratorError(RuntimeError):
    """An error reported by the accelerator's runtime (``torch.AcceleratorError``; also ``lucid.AcceleratorError``)."""


class CudaError(RuntimeError):
    """A CUDA runtime error with its ``cudaError_t`` ``code`` (``torch.cuda.CudaError``)."""

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(f"CUDA error {code} (a cudaError_t code; see the CUDA runtime's cudaGetErrorString)")


def _adopt_cupy_out_of_memory(backend) -> None:
    """Make CuPy's pool raise an error that is both CuPy's OutOfMemoryError and lucid's (see
    :class:`OutOfMemoryError`); the pool looks the class up in its module when it raises."""
    cupy_memory = getattr(getattr(backend, "cupy", None), "cuda", None)
    cupy_memory = getattr(cupy_memory, "memory", None)
    cupy_error = getattr(cupy_memory, "OutOfMemoryError", None)
    if cupy_error is None or issubclass(cupy_error, OutOfMemoryError):
        return
    cupy_memory.OutOfMemoryError = type("OutOfMemoryError", (cupy_error, OutOfMemoryError), {
        "__module__": "lucid.cuda", "__doc__": "CuPy's out-of-memory error, also a lucid.cuda.OutOfMemoryError."})


_registry.on_backend_created(_adopt_cupy_out_of_memory)


def _backend(what: str | None = None):
    """The CUDA backend; without one, BackendUnavailableError naming the function asked for."""
    try:
        return backend_for("cuda")
    except BackendUnavailableError as e:
        if what is None:
            raise
        raise BackendUnavailableError(f"lucid.cuda.{what} needs a usable CUDA GPU: {e}") from e


def _index(spec, backend) -> int:
    """The CUDA device index of ``spec``: None (the current device), an int, ``"cuda:N"`` or a Device."""
    if spec is None:
        return backend.current_index()
    if isinstance(spec, int) and not isinstance(spec, bool):
        backend.native_device(spec)  # raises for an index this machine lacks
        return spec
    dev = _parse_device(spec)
    if dev.type != "cuda":
        raise ValueError(f"expected a CUDA device, got {dev}")
    backend.native_device(dev.index)
    return dev.index


# ---- devices ----------------------------------------------------------------------------
def is_available() -> bool:
    """True when CuPy imports and sees at least one CUDA GPU (never raises)."""
    return device_count() > 0


def device_count() -> int:
    """Number of usable CUDA GPUs (0 without CuPy or a GPU)."""
    try:
        return _backend().device_count()
    except BackendUnavailableError:
        return 0


def current_device() -> int:
    """Index of the current CUDA device (where ``device="cuda"`` puts new tensors)."""
    return _backend("current_device").current_index()


def set_device(device) -> None:
    """Make ``device`` (an index, ``"cuda:N"`` or a Device) the current CUDA device of this thread."""
    backend = _backend("set_device")
    backend.set_current(_index(device, backend))


class device:
    """Context manager: ``device`` (an index, ``"cuda:N"`` or a Device) is the current CUDA
    device inside the block, and the previous one again after it. ``None`` changes nothing."""

    def __init__(self, device):
        self.idx = device
        self._prev: list[int] = []

    def __enter__(self):
        if self.idx is not None:
            backend = _backend("device")
            index = _index(self.idx, backend)
            self._prev.append(backend.current_index())
            backend.set_current(index)
        return self

    def __exit__(self, *exc):
        if self.idx is not None:
            _backend().set_current(self._prev.pop())
        return False


def synchronize(device=None) -> None:
    """Wait until all queued work on ``device`` (default: the current one) has finished; a no-op
    without a GPU."""
    if not is_available():
        return
    backend = _backend()
    backend.synchronize(_index(device, backend))


# ---- sync debug mode -----------------------------------------------------------------------
_SYNC_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}
_sync_debug_mode = [0]  # process-wide, as PyTorch's


def set_sync_debug_mode(debug_mode: int | str) -> None:
    """Warn (``"warn"``/1) or raise RuntimeError (``"error"``/2) at every copy of CUDA data to the host, or
    neither (``"default"``/0), as ``torch.cuda.set_sync_debug_mode``: ``item()``, ``bool()``/``float()``/``int()``,
    ``tolist()``, ``.cpu()``/``.to("cpu")``, ``numpy(force=True)``, printing, and lucid's own reads through the
    backend (``GradScaler.step``, saving). Not flagged (lucid's choice): the explicit waits the user asks for
    (:func:`synchronize`, ``Stream``/``Event.synchronize``), and the value checks ops make on raw arrays (index
    range checks, boolean masks, ``nonzero``), which PyTorch's experimental mode also leaves partly uncovered."""
    _backend("set_sync_debug_mode")
    mode = _SYNC_DEBUG_MODES.get(debug_mode) if isinstance(debug_mode, str) else debug_mode
    if type(mode) is not int or mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode {debug_mode!r}, expected one of `default`, `warn`, "
                           f"`error` (or 0, 1, 2)")
    _sync_debug_mode[0] = mode


def get_sync_debug_mode() -> int:
    """The mode :func:`set_sync_debug_mode` set: 0 (default), 1 (warn) or 2 (error)."""
    _backend("get_sync_debug_mode")
    return _sync_debug_mode[0]


def _on_host_read() -> None:
    """What the sync debug mode does at a copy of CUDA data to the host."""
    message = ("called a synchronizing CUDA operation: a copy of CUDA data to the host (item, bool, tolist, cpu, "
               "printing); lucid.cuda.set_sync_debug_mode(0) turns this check off")
    if _sync_debug_mode[0] == 2:
        raise RuntimeError(message)
    warnings.warn(message, UserWarning, stacklevel=4)


def _watch_host_reads(backend) -> None:
    """Route the CUDA backend's copies to the host (every host sync lucid makes goes through ``to_numpy``)
    through the sync debug mode; one list look-up per copy while the mode is 0."""
    if backend.device_type != "cuda":
        return
    to_numpy = backend.to_numpy

    def checked_to_numpy(array):
        if _sync_debug_mode[0]:
            _on_host_read()
        return to_numpy(array)

    backend.to_numpy = checked_to_numpy


_registry.on_backend_created(_watch_host_reads)


def is_initialized() -> bool:
    """Whether lucid has started its CUDA backend (on the first CUDA tensor, or :func:`init`); never raises."""
    return any(b.device_type == "cuda" for b in _registry.loaded_backends())


def init() -> None:
    """Start the CUDA backend now rather than at the first CUDA tensor; without a usable GPU,
    BackendUnavailableError (PyTorch's CPU build raises AssertionError)."""
    _backend("init")


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """Whether lucid computes in bfloat16 on the current GPU: its CUDA backend must have the dtype, and the
    GPU must do it natively (compute capability 8.0+) unless ``including_emulation``; False without a
    usable GPU (as PyTorch's CPU build)."""
    if not is_available():
        return False
    return _backend().supports(bfloat16) and (including_emulation or get_device_capability()[0] >= 8)


def get_arch_list() -> list[str]:
    """The GPU architectures lucid's kernels are built for, ``["sm_90"]`` on an H100: CuPy compiles them
    at run time for the GPUs present, so these are the visible GPUs' ones; ``[]`` without a GPU."""
    if not is_available():
        return []
    return sorted({"sm_{}{}".format(*get_device_capability(i)) for i in range(device_count())})


def get_gencode_flags() -> str:
    """The ``-gencode`` flags of :func:`get_arch_list` (``""`` without a GPU), as PyTorch writes them."""
    return " ".join(f"-gencode compute=compute_{arch},code={kind}_{arch}"
                    for kind, arch in (a.split("_") for a in get_arch_list()))


def ipc_collect() -> None:
    """Does nothing on a GPU: lucid shares no CUDA memory between processes (no CUDA IPC), so there is
    none to free; without a GPU, BackendUnavailableError."""
    _backend("ipc_collect")


class device_of(device):
    """Context manager: the GPU of tensor ``obj`` is the current device inside the block; for a tensor
    that is not on a GPU it changes nothing (as PyTorch's)."""

    def __init__(self, obj: Tensor):
        super().__init__(obj.device if obj.is_cuda else None)


def _properties(device, what: str) -> dict:
    backend = _backend(what)
    return backend.properties(_index(device, backend))


def get_device_name(device=None) -> str:
    """The GPU's name, e.g. ``"NVIDIA H100 80GB HBM3"``."""
    return _properties(device, "get_device_name")["name"]


def get_device_capability(device=None) -> tuple[int, int]:
    """The GPU's compute capability ``(major, minor)`` (9.0 for H100)."""
    props = _properties(device, "get_device_capability")
    return props["major"], props["minor"]


class _DeviceProperties:
    """What :func:`get_device_properties` returns (the fields ``torch.cuda`` users read most)."""

    def __init__(self, props: dict):
        self.name = props["name"]
        self.major, self.minor = props["major"], props["minor"]
        self.total_memory = props["totalGlobalMem"]
        self.multi_processor_count = props["multiProcessorCount"]

    def __repr__(self) -> str:
        return (f"_DeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // 2**20}MB, multi_processor_count={self.multi_processor_count})")


def get_device_properties(device=None) -> _DeviceProperties:
    """Name, compute capability, total memory (bytes) and multiprocessor count of the GPU."""
    return _DeviceProperties(_properties(device, "get_device_properties"))


# ---- streams and events -------------------------------------------------------------------
class Stream:
    """A CUDA stream: a queue of GPU work that runs in order, on ``device`` (default: the
    current one). Work goes to the current stream; make this one current with
    ``with lucid.cuda.stream(s):`` (or ``with s:``). Only the default ``priority=0`` exists."""

    def __init__(self, device=None, priority: int = 0):
        backend = _backend("Stream")
        if priority != 0:
            raise NotImplementedError(f"lucid.cuda.Stream supports only priority=0 (CuPy has none), not {priority}")
        index = _index(device, backend)
        self._setup(backend.new_stream(index), index)

    @classmethod
    def _wrap(cls, native, index: int) -> Stream:
        s = object.__new__(cls)
        s._setup(native, index)
        return s

    def _setup(self, native, index: int) -> None:
        self._native, self.device = native, _parse_device("cuda", index)
        self._contexts: list = []

    @property
    def cuda_stream(self) -> int:
        """The raw ``cudaStream_t`` handle, as an int."""
        return self._native.ptr

    def synchronize(self) -> None:
        """Wait until all work queued on this stream has finished (a sync point)."""
        self._native.synchronize()

    def query(self) -> bool:
        """Whether all work queued on this stream has finished (never waits)."""
        return self._native.done

    def record_event(self, event: Event | None = None) -> Event:
        """Record ``event`` (a new one if None) at this point of the stream; returns it."""
        event = Event() if event is None else event
        event.record(self)
        return event

    def wait_event(self, event: Event) -> None:
        """Make work queued on this stream from now on wait for ``event`` (the host does not wait)."""
        self._native.wait_event(event._native)

    def wait_stream(self, stream: Stream) -> None:
        """Make work queued on this stream from now on wait for all work queued on ``stream`` so far."""
        self.wait_event(stream.record_event())

    def __enter__(self) -> Stream:
        ctx = contextlib.ExitStack()
        ctx.enter_context(_backend().native_device(self.device.index))
        ctx.enter_context(self._native)
        self._contexts.append(ctx)
        return self

    def __exit__(self, *exc):
        self._contexts.pop().close()
        return False

    def __eq__(self, other) -> bool:
        return isinstance(other, Stream) and self._native.ptr == other._native.ptr

    def __hash__(self) -> int:
        return hash(self._native.ptr)

    def __repr__(self) -> str:
        return f"<lucid.cuda.Stream device={self.device} cuda_stream={self._native.ptr:#x}>"


class ExternalStream(Stream):
    """A CUDA stream made elsewhere (another library), from its raw ``cudaStream_t`` handle ``stream_ptr``
    on ``device`` (default: the current one): CuPy's ``ExternalStream``. The caller keeps it alive."""

    def __init__(self, stream_ptr: int, device=None):
        backend = _backend("ExternalStream")
        index = _index(device, backend)
        self._setup(backend.cupy.cuda.ExternalStream(stream_ptr, index), index)


class StreamContext:
    """Context manager: ``stream`` (and its device) is current inside the block, the previous stream
    again after it; ``None`` changes nothing (``torch.cuda.StreamContext``)."""

    def __init__(self, stream: Stream | None):
        self.stream = stream

    def __enter__(self) -> None:
        if self.stream is not None:
            self.stream.__enter__()

    def __exit__(self, *exc):
        if self.stream is not None:
            self.stream.__exit__(*exc)
        return False


def stream(stream: Stream | None) -> StreamContext:
    """``StreamContext(stream)``: ``stream`` (and its device) is current inside the block; None changes nothing."""
    return StreamContext(stream)


def default_stream(device=None) -> Stream:
    """The default (legacy, null) stream of ``device`` (default: the current one)."""
    backend = _backend("default_stream")
    return Stream._wrap(backend.cupy.cuda.Stream.null, _index(device, backend))


def set_stream(stream: Stream | None) -> None:
    """Make ``stream`` the current stream of its device (prefer ``with lucid.cuda.stream(s):``); None does
    nothing, as PyTorch's."""
    if stream is None:
        return
    with _backend("set_stream").native_device(stream.device.index):
        stream._native.use()


def _record_stream(self: Tensor, stream: Stream) -> None:
    """``Tensor.record_stream(stream)``: keep this CUDA tensor's memory from being reused until the work
    queued on ``stream`` so far has finished (use it when another stream reads the tensor)."""
    if not isinstance(stream, Stream) or not self.is_cuda:
        raise RuntimeError(f"record_stream needs a CUDA tensor and a lucid.cuda.Stream, got a tensor on "
                           f"{self.device} and {type(stream).__name__}")
    self.device.backend._keep_until_copied(stream._native, self._data)


register_methods({"record_stream": _record_stream})


def current_stream(device=None) -> Stream:
    """The stream that work on ``device`` (default: the current one) goes to now."""
    backend = _backend("current_stream")
    index = _index(device, backend)
    return Stream._wrap(backend.current_stream(index), index)


class Event:
    """A CUDA event: a marker in a stream, to wait for or (``enable_timing=True``) to time GPU
    work with :meth:`elapsed_time`. ``blocking=True`` makes :meth:`synchronize` yield the CPU
    instead of spinning; ``interprocess`` events can be shared with other processes."""

    def __init__(self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False):
        self._backend = _backend("Event")
        self._native = self._backend.new_event(enable_timing, blocking, interprocess)

    def record(self, stream: Stream | None = None) -> None:
        """Mark the current point of ``stream`` (default: the current stream)."""
        self._native.record(None if stream is None else stream._native)

    def wait(self, stream: Stream | None = None) -> None:
        """Make ``stream`` (default: the current one) wait for this event (the host does not wait)."""
        (current_stream() if stream is None else stream).wait_event(self)

    def query(self) -> bool:
        """Whether the work before the recorded point has finished (never waits)."""
        return self._native.done

    def synchronize(self) -> None:
        """Wait until the work before the recorded point has finished (a sync point)."""
        self._native.synchronize()

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds between this event and ``end_event`` (both recorded, both with timing;
        synchronize ``end_event`` first)."""
        return self._backend.elapsed_time(self._native, end_event._native)


# ---- memory -----------------------------------------------------------------------------
def memory_allocated(device=None) -> int:
    """Bytes of GPU memory held by live tensors (and other CuPy arrays) on ``device``: the used
    bytes of CuPy's default memory pool there."""
    backend = _backend("memory_allocated")
    return backend.memory_allocated(_index(device, backend))


def max_memory_allocated(device=None) -> int:
    """The peak of :func:`memory_allocated` since :func:`reset_peak_memory_stats`.

    CuPy's pool keeps no peak, so lucid counts it with a CuPy memory hook that the first
    :func:`reset_peak_memory_stats` starts (in the calling thread; it adds Python calls to every
    allocation and free, so it is off until asked for). Before that, this is the current value.
    """
    backend = _backend("max_memory_allocated")
    return backend.max_memory_allocated(_index(device, backend))


def memory_reserved(device=None) -> int:
    """Bytes of GPU memory CuPy's pool holds on ``device``: in use plus cached for reuse."""
    backend = _backend("memory_reserved")
    return backend.memory_reserved(_index(device, backend))


def reset_peak_memory_stats(device=None) -> None:
    """Restart :func:`max_memory_allocated` of ``device`` from its current value (and start
    tracking peaks, see there)."""
    backend = _backend("reset_peak_memory_stats")
    backend.reset_peak_memory_stats(_index(device, backend))


def empty_cache() -> None:
    """Return the pool's cached, unused GPU memory to CUDA (other processes can then use it);
    memory held by tensors stays."""
    _backend("empty_cache").empty_cache()


def max_memory_reserved(device=None) -> int:
    """The peak of :func:`memory_reserved`. CuPy's pool keeps no peak, but gives memory back to CUDA only
    in :func:`empty_cache`, so this is :func:`memory_reserved`: the peak since the last ``empty_cache``."""
    backend = _backend("max_memory_reserved")
    return backend.memory_reserved(_index(device, backend))


def reset_max_memory_allocated(device=None) -> None:
    """:func:`reset_peak_memory_stats`, with PyTorch's FutureWarning that it resets every peak."""
    warnings.warn("torch.cuda.reset_max_memory_allocated now calls torch.cuda.reset_peak_memory_stats, which "
                  "resets /all/ peak memory stats.", FutureWarning, stacklevel=2)
    backend = _backend("reset_max_memory_allocated")
    backend.reset_peak_memory_stats(_index(device, backend))


def reset_accumulated_memory_stats(device=None) -> None:
    """Does nothing on a GPU: lucid keeps no accumulated (allocation-count) statistics, only the current
    and peak bytes of :func:`memory_stats`."""
    backend = _backend("reset_accumulated_memory_stats")
    _index(device, backend)


def memory_cached(device=None) -> int:
    """Deprecated name of :func:`memory_reserved` (warns FutureWarning, as PyTorch's)."""
    warnings.warn("`torch.cuda.memory_cached` has been renamed to `torch.cuda.memory_reserved`", FutureWarning,
                  stacklevel=2)
    backend = _backend("memory_cached")
    return backend.memory_reserved(_index(device, backend))


def max_memory_cached(device=None) -> int:
    """Deprecated name of :func:`max_memory_reserved` (warns FutureWarning, as PyTorch's)."""
    warnings.warn("`torch.cuda.max_memory_cached` has been renamed to `torch.cuda.max_memory_reserved`",
                  FutureWarning, stacklevel=2)
    backend = _backend("max_memory_cached")
    return backend.memory_reserved(_index(device, backend))


def mem_get_info(device=None) -> tuple[int, int]:
    """``(free, total)`` bytes of the GPU's memory as CUDA reports them (``cudaMemGetInfo``); memory that
    CuPy's pool holds for reuse counts as used."""
    backend = _backend("mem_get_info")
    with backend.native_device(_index(device, backend)):
        return tuple(backend.cupy.cuda.runtime.memGetInfo())


def memory_stats(device=None) -> dict[str, int]:
    """The memory statistics lucid keeps, under PyTorch's keys: ``allocated_bytes.all.current`` / ``.peak``
    and ``reserved_bytes.all.current`` / ``.peak`` (see :func:`max_memory_allocated`,
    :func:`max_memory_reserved`). PyTorch's allocator counts more (allocations, segments): lucid does not."""
    backend = _backend("memory_stats")
    index = _index(device, backend)
    return {"allocated_bytes.all.current": memory_allocated(index), "allocated_bytes.all.peak":
            max_memory_allocated(index), "reserved_bytes.all.current": memory_reserved(index),
            "reserved_bytes.all.peak": max_memory_reserved(index)}


def memory_summary(device=None, abbreviated: bool = False) -> str:
    """A printable table of :func:`memory_stats` (``abbreviated`` is accepted: the table is short already)."""
    _backend("memory_summary")
    stats = memory_stats(device)
    rows = [(name, stats[f"{key}.all.current"], stats[f"{key}.all.peak"])
            for name, key in (("Allocated memory", "allocated_bytes"), ("Reserved memory", "reserved_bytes"))]
    lines = [f"{'Metric':<20}{'Cur Usage':>16}{'Peak Usage':>16}"]
    lines += [f"{name:<20}{cur / 2**20:>13.1f} MiB{peak / 2**20:>12.1f} MiB" for name, cur, peak in rows]
    return "\n".join(lines) + "\n"


def set_per_process_memory_fraction(fraction: float, device=None) -> None:
    """Let CuPy's pool on ``device`` hold at most ``fraction`` (0 to 1) of the GPU's memory; an allocation
    past it raises :class:`OutOfMemoryError`."""
    backend = _backend("set_per_process_memory_fraction")
    if not isinstance(fraction, float):
        raise TypeError(f"Invalid type for fraction argument, must be `float`, got {type(fraction).__name__}")
    if not 0 <= fraction <= 1:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~1")
    with backend.native_device(_index(device, backend)):
        backend.cupy.get_default_memory_pool().set_limit(fraction=fraction)


def get_per_process_memory_fraction(device=None) -> float:
    """The fraction of the GPU's memory CuPy's pool on ``device`` may hold (1.0 when unlimited)."""
    backend = _backend("get_per_process_memory_fraction")
    index = _index(device, backend)
    with backend.native_device(index):
        limit = backend.cupy.get_default_memory_pool().get_limit()
    return limit / get_device_properties(index).total_memory if limit else 1.0


# ---- random numbers ---------------------------------------------------------------------
def _generators(all_devices: bool):
    """The default generators of the current GPU (or of every GPU); none without a GPU."""
    if not is_available():
        return []
    backend = _backend()
    indices = range(backend.device_count()) if all_devices else (backend.current_index(),)
    return [_random.default_generator_of(f"cuda:{i}") for i in indices]


def manual_seed(seed: int) -> None:
    """Seed the current GPU's default generator with ``seed``; a no-op without a GPU."""
    for gen in _generators(False):
        gen.manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed the default generator of every GPU (device N from ``seed + N``, as with
    :func:`lucid.manual_seed`); a no-op without a GPU."""
    if is_available():
        _backend().seed(_random._seed_value(seed))


def seed() -> None:
    """Seed the current GPU's default generator from the operating system's entropy; a no-op without a GPU."""
    for gen in _generators(False):
        gen.seed()


def seed_all() -> None:
    """Seed every GPU's default generator from the operating system's entropy; a no-op without a GPU."""
    if is_available():
        manual_seed_all(fresh_seed())


def initial_seed() -> int:
    """The seed of the current GPU's default generator."""
    _backend("initial_seed")
    return _generators(False)[0].initial_seed()


def get_rng_state(device="cuda"):
    """The state of ``device``'s default generator (CuPy's generators cannot save it: NotImplementedError)."""
    backend = _backend("get_rng_state")
    return _random.get_rng_state(f"cuda:{_index(device, backend)}")


def set_rng_state(new_state, device="cuda") -> None:
    """Put ``device``'s default generator back in a state :func:`get_rng_state` returned."""
    backend = _backend("set_rng_state")
    _random.set_rng_state(new_state, f"cuda:{_index(device, backend)}")


def get_rng_state_all() -> list:
    """The state of every GPU's default generator (``[]`` without a GPU, as PyTorch's)."""
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state_all(new_states) -> None:
    """Put each GPU's default generator back in its state from :func:`get_rng_state_all`."""
    for index, state in enumerate(new_states):
        set_rng_state(state, index)
