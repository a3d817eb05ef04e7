"""The device-dispatch layer: Device objects, the backend protocol, the built-in backends."""

from .device import BackendUnavailableError, Device, DeviceMismatchError, UnknownDeviceError, device
from .registry import Backend, backend_for, register_backend


def _numpy_backend():
    from .numpy_backend import NumpyBackend

    return NumpyBackend()


def _cupy_backend():
    from .cupy_backend import CupyBackend

    return CupyBackend()


register_backend("cpu", _numpy_backend, single_device=True)
register_backend("cuda", _cupy_backend, aliases=("gpu",))

__all__ = [
    "Backend", "BackendUnavailableError", "Device", "DeviceMismatchError", "UnknownDeviceError",
    "backend_for", "device", "register_backend",
]
