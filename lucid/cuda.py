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
after :func:`synchronize`.

Multi-GPU: ops run on the GPU of their input tensors (``cuda:1`` tensors compute on device 1
whatever the current device is); new tensors made with ``device="cuda"`` go to the current
device, which :func:`set_device` and the :class:`device` context choose.
"""

from __future__ import annotations

import contextlib

from . import random as _random
from ._backend.device import BackendUnavailableError
from ._backend.device import device as _parse_device
from ._backend.registry import backend_for, fresh_seed

__all__ = [
    "is_available", "device_count", "current_device", "set_device", "device", "synchronize",
    "Stream", "Event", "stream", "current_stream",
    "memory_allocated", "max_memory_allocated", "memory_reserved", "reset_peak_memory_stats", "empty_cache",
    "manual_seed", "manual_seed_all", "seed", "seed_all", "initial_seed", "get_rng_state", "set_rng_state",
    "get_device_name", "get_device_capability", "get_device_properties",
]


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


def stream(stream: Stream | None):
    """Context manager: ``stream`` (and its device) is current inside the block; None changes nothing."""
    return contextlib.nullcontext() if stream is None else stream


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
