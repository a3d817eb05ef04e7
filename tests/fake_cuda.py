"""A stand-in CUDA backend for CPU-only machines: NumPy underneath, serving ``"cuda"`` for one test.

Its arrays are NumPy arrays of a class of their own (so the backends can tell device data from host data), it
reports device memory (``is_host`` False, as CuPy's), and it is registered as a *factory*, so lucid creates it
the way it creates the real CuPy backend and every ``on_backend_created`` hook (sync debug mode, ...) sees it.
Use the ``fake_cuda`` fixture: ``lucid.ones(2, device="cuda")`` then lives on the fake GPU.
"""

from __future__ import annotations

import numpy as np
import pytest

from lucid._backend import registry
from lucid._backend.device import _CACHE, Device
from lucid._backend.numpy_backend import NumpyBackend


class FakeDeviceArray(np.ndarray):
    """An array on the fake GPU."""


class FakeCudaBackend(NumpyBackend):
    name = "fake-cuda"
    device_type = "cuda"

    def __init__(self):
        super().__init__()
        self.current = 0

    def native_device(self, index):
        if not 0 <= index < self.device_count():
            raise IndexError(f"fake cuda:{index} does not exist (2 fake GPUs)")
        return "cpu"

    def device_count(self):
        return 2

    def current_index(self):
        return self.current

    def set_current(self, index):
        self.native_device(index)
        self.current = index

    def is_host(self, index):
        return False

    def owns(self, array):
        return isinstance(array, FakeDeviceArray)

    def from_numpy(self, array, index, non_blocking=False):
        return np.array(array, copy=True).view(FakeDeviceArray)

    def to_numpy(self, array):
        return np.array(array, copy=True).view(np.ndarray)

    def synchronize(self, index):
        pass


@pytest.fixture
def fake_cuda(monkeypatch):
    """The fake backend serving ``"cuda"`` for one test."""
    yield from serve_cuda(monkeypatch, FakeCudaBackend)


def serve_cuda(monkeypatch, backend_class):
    """A fixture's body: ``backend_class`` (a :class:`FakeCudaBackend`) serving ``"cuda"``, created through the
    registry (hooks included) and yielded; the cached cuda devices and the registry forget it afterwards."""
    monkeypatch.setitem(registry._BACKENDS, "cuda", backend_class)
    monkeypatch.setattr(registry, "_BY_NAMESPACE", dict(registry._BY_NAMESPACE))
    yield registry.backend_for("cuda")
    for (kind, _), dev in list(_CACHE.items()):
        if kind == "cuda":
            for name in Device._RESOLVED:
                try:  # not hasattr: reading an unresolved slot resolves it (cuda:2 of another test raises)
                    delattr(dev, name)
                except AttributeError:
                    pass
