"""A test-only host-sync counter on array-api-strict's non-CPU device (``strict:1``, "device1").

On a GPU every conversion of a device array to a host value waits for the queued kernels (a
"host sync"). The ``host_syncs`` fixture patches array-api-strict's ``Array`` (with pytest's
``monkeypatch``: nothing outside the test changes) so that, while a test watches, each such
conversion is recorded with the lucid frames that asked for it:

- Python scalars and host arrays: ``__bool__``, ``__float__``, ``__int__``, ``__index__``,
  ``__complex__``, ``__array__``, ``__buffer__``, ``__dlpack__``, ``item``/``tolist`` where the class
  has them, ``to_device`` to the CPU device, printing (``__repr__``/``__str__``/``__format__``)
  and the backend's ``to_numpy``;
- results whose *shape* depends on the values (CuPy must read the count back before it can
  allocate them): boolean-mask indexing and masked writes (``x[mask]``, ``x[mask] = v``, what
  array-api-compat's ``clip``/``sign`` do on CuPy), ``nonzero`` and the ``unique_*`` functions.

``with host_syncs.watch(): step()`` then ``host_syncs.assert_none()`` fails with a list such as
``Array.__bool__ at lucid/nn/functional/loss.py:88 in _check_classes <- ...``, naming the op.
"""

from __future__ import annotations

import contextlib
import os
import traceback

import pytest

import lucid

_LUCID_DIR = os.path.dirname(os.path.abspath(lucid.__file__))
_ROOT = os.path.dirname(_LUCID_DIR)
SCALAR_METHODS = ("__bool__", "__float__", "__int__", "__index__", "__complex__", "__array__", "__buffer__",
                  "__dlpack__", "item", "tolist", "__repr__", "__str__", "__format__")
DATA_DEPENDENT = ("nonzero", "unique_all", "unique_counts", "unique_inverse", "unique_values")


def _where(depth: int = 3) -> str:
    """The innermost ``depth`` lucid frames of the current stack, innermost first."""
    frames = [f for f in reversed(traceback.extract_stack()) if f.filename.startswith(_LUCID_DIR + os.sep)]
    if not frames:
        return "outside lucid"
    return " <- ".join(f"{os.path.relpath(f.filename, _ROOT)}:{f.lineno} in {f.name}" for f in frames[:depth])


class SyncCounter:
    """The host syncs recorded while :meth:`watch` is active, as ``(what, where)`` pairs."""

    def __init__(self):
        self.events: list[tuple[str, str]] = []
        self._watching = False
        self._busy = False  # a patched method calling another is one sync, not two

    @contextlib.contextmanager
    def watch(self):
        self._watching = True
        try:
            yield self
        finally:
            self._watching = False

    def record(self, what: str) -> None:
        self.events.append((what, _where()))

    def counting(self, what: str, fn, when=None):
        """``fn`` wrapped to record ``what`` on each call made while watching (and ``when(*args)`` holds)."""
        counter = self

        def counted(*args, **kwargs):
            if not counter._watching or counter._busy or (when is not None and not when(*args, **kwargs)):
                return fn(*args, **kwargs)
            counter.record(what)
            counter._busy = True
            try:
                return fn(*args, **kwargs)
            finally:
                counter._busy = False

        return counted

    def clear(self) -> None:
        self.events.clear()

    def report(self) -> str:
        return "\n".join(f"  {what} at {where}" for what, where in self.events) or "  (none)"

    def assert_none(self, allowed: tuple[str, ...] = ()) -> None:
        """Fail unless every recorded sync happened in a frame named in ``allowed`` (``"file.py:function"``
        patterns, see :data:`test_host_syncs.DOCUMENTED_SYNCS`), listing the others."""
        unexpected = [(w, where) for w, where in self.events if not any(a in where for a in allowed)]
        assert not unexpected, f"{len(unexpected)} hidden host sync(s):\n" + "\n".join(
            f"  {what} at {where}" for what, where in unexpected)


def _is_mask(key) -> bool:
    import array_api_strict as xp

    keys = key if isinstance(key, tuple) else (key,)
    return any(getattr(k, "ndim", 0) > 0 and getattr(k, "dtype", None) == xp.bool for k in keys)


def install(monkeypatch) -> SyncCounter:
    """Patch array-api-strict and lucid's strict backend to count host syncs; returns the counter."""
    xp = pytest.importorskip("array_api_strict")
    import strict_backend
    from array_api_strict._array_object import Array

    counter = SyncCounter()
    for name in SCALAR_METHODS:
        if hasattr(Array, name):
            monkeypatch.setattr(Array, name, counter.counting(f"Array.{name}", getattr(Array, name)))
    cpu = xp.Device("CPU_DEVICE")
    monkeypatch.setattr(Array, "to_device", counter.counting(
        "Array.to_device(CPU)", Array.to_device, when=lambda self, device, **kw: device == cpu != self.device))
    monkeypatch.setattr(Array, "__getitem__", counter.counting(
        "boolean-mask indexing", Array.__getitem__, when=lambda self, key: _is_mask(key)))
    monkeypatch.setattr(Array, "__setitem__", counter.counting(
        "masked write", Array.__setitem__, when=lambda self, key, value: _is_mask(key)))
    for name in DATA_DEPENDENT:
        monkeypatch.setattr(xp, name, counter.counting(f"xp.{name}", getattr(xp, name)))
    backend = strict_backend.StrictBackend
    monkeypatch.setattr(backend, "to_numpy", counter.counting("backend.to_numpy", backend.to_numpy))
    return counter


@pytest.fixture
def host_syncs(monkeypatch):
    """A :class:`SyncCounter` recording host syncs of array-api-strict arrays while it watches."""
    return install(monkeypatch)


@pytest.fixture
def gpu_like():
    """``strict:1``: array-api-strict's "device1", the stand-in for a GPU."""
    pytest.importorskip("array_api_strict")
    return lucid.device("strict:1")
