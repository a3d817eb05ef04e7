"""Device-generic streams and events (``torch.Stream``, ``torch.Event``) and :func:`get_device_module`.

``lucid.Stream(device)`` / ``lucid.Event(device)`` on a CUDA device return the CUDA ones (:class:`lucid.cuda.Stream`,
:class:`lucid.cuda.Event`, which have the same methods; lucid's choice: PyTorch returns its generic classes there); on
the CPU they behave as PyTorch 2.13's CPU stream and event: CPU work is done when its call returns, so a stream is
always idle (``query()`` True, ``synchronize()`` and ``wait_event()`` return at once), an event always complete
(``query()``, ``synchronize()`` and ``wait()`` too), and what needs events to exist (``record_event``,
``wait_stream``, ``Event.record``) raises RuntimeError as PyTorch's CPU backend does (``elapsed_time`` ValueError).
"""

from __future__ import annotations

import importlib

from ._backend.device import Device
from ._backend.device import device as _parse_device

__all__ = ["Stream", "Event", "get_device_module"]

_NO_EVENTS = "cpu backend doesn't support events: CPU work is done when its call returns, there is nothing to record"
_DEVICE_MODULES = {"cpu": "lucid.torch_compat.cpu", "cuda": "lucid.cuda"}  # torch.cpu, torch.cuda


def _device_or_default(device) -> Device:
    """``device`` parsed; None: the current accelerator when one is usable, else the CPU (PyTorch's default)."""
    if device is not None:
        return _parse_device(device)
    from .accelerator import current_accelerator

    return current_accelerator(check_available=True) or _parse_device("cpu")


def _cpu_only(dev: Device, what: str) -> None:
    if dev.type != "cpu":
        raise RuntimeError(f"lucid.{what} exists for 'cpu' and 'cuda' devices, not {dev}")


class Stream:
    """A queue of device work (``torch.Stream``): ``Stream("cuda:0")`` is a :class:`lucid.cuda.Stream`,
    ``Stream("cpu")`` the CPU's always-idle stream (see the module docstring)."""

    def __new__(cls, device=None, *, priority: int = 0):
        dev = _device_or_default(device)
        if dev.type == "cuda":
            from .cuda import Stream as CudaStream

            return CudaStream(dev, priority)
        _cpu_only(dev, "Stream")
        return super().__new__(cls)

    def __init__(self, device=None, *, priority: int = 0) -> None:
        self.device = _parse_device("cpu")

    device_type = property(lambda self: 0, doc="PyTorch's DeviceType number of the CPU: 0 (an int, as PyTorch's).")
    device_index = property(lambda self: -1 if self.device.index is None else self.device.index,
                            doc="The device's index (-1 for the CPU, as PyTorch).")
    stream_id = property(lambda self: 0, doc="0: the CPU has one stream.")

    def query(self) -> bool:
        """True: the CPU stream never has work pending."""
        return True

    def synchronize(self) -> None:
        """Returns at once: nothing is pending on the CPU."""

    def wait_event(self, event) -> None:
        """Returns at once: a CPU event is always complete."""

    def wait_stream(self, stream) -> None:
        """RuntimeError, as PyTorch's CPU stream (it needs an event)."""
        raise RuntimeError(_NO_EVENTS)

    def record_event(self, event=None):
        """RuntimeError, as PyTorch's CPU stream."""
        raise RuntimeError(_NO_EVENTS)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __eq__(self, other) -> bool:
        return type(other) is Stream and other.device == self.device

    def __hash__(self) -> int:
        return hash(("lucid.Stream", str(self.device)))

    def __repr__(self) -> str:
        return "lucid.Stream device_type=cpu, device_index=-1, stream_id=0"


class Event:
    """A marker in a stream (``torch.Event``): ``Event("cuda")`` is a :class:`lucid.cuda.Event`,
    ``Event("cpu")`` the CPU's always-complete event (see the module docstring)."""

    def __new__(cls, device=None, **flags):
        dev = _device_or_default(device)
        if dev.type == "cuda":
            from .cuda import Event as CudaEvent

            return CudaEvent(**flags)
        _cpu_only(dev, "Event")
        return super().__new__(cls)

    def __init__(self, device=None, *, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False) -> None:
        self.device, self.enable_timing = _parse_device("cpu"), bool(enable_timing)

    device_type = Stream.device_type
    device_index = Stream.device_index

    def query(self) -> bool:
        """True: a CPU event is always complete."""
        return True

    def synchronize(self) -> None:
        """Returns at once."""

    def record(self, stream=None) -> None:
        """RuntimeError, as PyTorch's CPU event."""
        raise RuntimeError(_NO_EVENTS)

    def wait(self, stream=None) -> None:
        """Returns at once: the event is complete."""

    def elapsed_time(self, end_event) -> float:
        """ValueError, as PyTorch's CPU event: both events need ``enable_timing=True`` and a record, which a CPU
        event cannot have (time CPU work with :mod:`lucid.utils.benchmark`)."""
        if not (self.enable_timing and getattr(end_event, "enable_timing", False)):
            raise ValueError("Both events must be created with argument 'enable_timing=True'.")
        raise ValueError("Both events must be recorded before calculating elapsed time (a CPU event cannot be "
                         "recorded).")

    def __repr__(self) -> str:
        return "lucid.Event device_type=cpu, device_index=-1, event_flag=0, event_id=0"


def get_device_module(device=None):
    """The module of ``device``'s type (``torch.get_device_module``): :mod:`lucid.cuda` for CUDA, the CPU module
    (``torch.cpu``'s counterpart) for the CPU; None: the current accelerator's, or the CPU's without one."""
    kind = _device_or_default(device).type
    if kind not in _DEVICE_MODULES:
        raise RuntimeError(f"Device '{kind}' does not have a corresponding module registered as 'lucid.{kind}'.")
    return importlib.import_module(_DEVICE_MODULES[kind])
