"""Device objects: where a tensor lives and which backend computes on it.

``lucid.device("cpu" | "cuda" | "cuda:N" | "gpu")`` returns one cached :class:`Device` per
(type, index), so devices compare by identity in the hot path. The backend behind a device
is resolved on first use (not when the device is named): ``lucid.device("cuda")`` works on a
machine without CUDA, making a tensor there raises :class:`BackendUnavailableError`.
"""

from __future__ import annotations

import functools
import re

from . import registry

__all__ = ["Device", "device", "device_of", "set_default_device", "get_default_device", "UnknownDeviceError",
           "DeviceMismatchError", "BackendUnavailableError", "on_input_device"]


class UnknownDeviceError(ValueError):
    """A device string or object lucid does not understand."""


class DeviceMismatchError(RuntimeError):
    """Tensors on different devices met in one operation."""


class BackendUnavailableError(RuntimeError):
    """The backend for a device cannot run on this machine (missing library or hardware)."""


class Device:
    """A place arrays live: ``type`` (``"cpu"``, ``"cuda"``, or a registered backend's
    type) and ``index`` (``None`` for single-device types such as ``"cpu"``)."""

    # what the backend provides, filled in the first time one of them is read (see __getattr__)
    _RESOLVED = ("backend", "xp", "native", "dtypes", "floating", "real_floating", "host")
    __slots__ = ("type", "index", "plain_scalars", *_RESOLVED)

    def __init__(self, type: str, index: int | None):
        self.type, self.index = type, index
        # (native dtype, Python scalar type) pairs an elementwise op uses as they are (see
        # lucid.ops.arithmetic.operands): a hot-path cache, kept per device
        self.plain_scalars = set()

    def __getattr__(self, name):
        """Resolve the backend the first time one of its attributes is read: ``backend`` (the
        :class:`~lucid.Backend`), ``xp`` (its array namespace), ``native``
        (what ``xp.asarray(..., device=)`` takes), and the hot-path dtype lookups ``dtypes``
        (native -> lucid DType), ``floating`` (native floating and complex dtypes: those autograd
        differentiates and the math functions take as they are), ``real_floating`` (without complex) and
        ``host`` (its arrays are in host memory: reading one costs no sync, see ``Backend.is_host``)."""
        if name not in Device._RESOLVED:
            raise AttributeError(name)
        backend = registry.backend_for(self.type)
        self.native = backend.native_device(self.index or 0)  # raises when unusable
        self.backend, self.xp, self.dtypes = backend, backend.xp, backend._from_native
        self.floating = frozenset(k for k, d in backend._from_native.items() if d.kind in "fc")
        self.real_floating = frozenset(k for k, d in backend._from_native.items() if d.kind == "f")
        self.host = backend.is_host(self.index or 0)
        return getattr(self, name)

    def context(self):
        """A context in which the backend's namespace creates arrays on this device (``Backend.on_device``):
        what CuPy needs with several GPUs, a no-op elsewhere."""
        return self.backend.on_device(self.index or 0)

    def create(self, name: str, *args, **kwargs):
        """``xp.<name>(*args, **kwargs, device=<this device>)`` run inside :meth:`context`: how lucid makes a new
        array (``"zeros"``, ``"full_like"``, ``"asarray"`` with ``copy=True`` ...) outside an op's forward
        (which ``Function.apply`` already runs on its inputs' device)."""
        with self.backend.on_device(self.index or 0):
            return getattr(self.xp, name)(*args, device=self.native, **kwargs)

    def __repr__(self) -> str:
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not None else ")")

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except UnknownDeviceError:
                return False
        return self is other

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))


_CACHE: dict[tuple[str, int | None], Device] = {}
_default_spec = None  # what set_default_device chose (None: the CPU)
_PATTERN = re.compile(r"^([a-z_][a-z0-9_]*)(?::(\d+))?$")


def _parse(text: str):
    """The regex match of a device string and its canonical type (None when not a known one)."""
    m = _PATTERN.match(text)
    return m, m and registry.canonical_type(m.group(1))


def device(spec=None, index: int | None = None) -> Device:
    """Parse ``spec`` into a :class:`Device`.

    Accepted: a Device, ``"cpu"``, ``"cuda"`` (the current CUDA device), ``"cuda:N"``, an
    integer N (``cuda:N``), ``"gpu"``/``"gpu:N"`` (upstream Lucid's alias of ``cuda``), and
    the types of any backend registered with :func:`lucid.register_backend`. Strings are exact,
    as ``torch.device``: ``"CPU"``, ``"Cuda:0"`` or ``" cpu"`` are refused (the error names the
    form meant), so code written for lucid runs unchanged on PyTorch.
    """
    if isinstance(spec, Device):
        return spec
    if spec is None:
        spec = "cpu" if _default_spec is None else _default_spec
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec, index = "cuda", spec
    if not isinstance(spec, str):
        spec = str(spec)  # backend device objects such as torch.device print as "cuda:0"
    m, kind = _parse(spec)
    if kind is None:
        meant = spec.strip().lower()
        hint = ""
        if meant != spec and _parse(meant)[1] is not None:
            hint = f" (device strings are lowercase without spaces, as in PyTorch: did you mean {meant!r}?)"
        raise UnknownDeviceError(
            f"unknown device {spec!r}{hint}; accepted forms: "
            + ", ".join(registry.accepted_forms())
        )
    if m.group(2) is not None:
        if index is not None and index != int(m.group(2)):
            raise UnknownDeviceError(f"device {spec!r} given together with a different index={index}")
        index = int(m.group(2))
    if registry.is_single_device(kind):
        if index not in (None, 0):
            raise UnknownDeviceError(f"device type {kind!r} has a single device; got index {index}")
        index = None
    elif index is None:
        index = registry.current_index(kind)
    key = (kind, index)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = Device(kind, index)
    return found


def set_default_device(spec) -> None:
    """Where factories (``zeros``, ``randn``, ``tensor`` ...) put new tensors when no ``device=`` is given;
    ``None`` means the CPU again. ``"cuda"`` (no index) follows the current CUDA device, as in PyTorch."""
    global _default_spec
    if spec is not None:
        device(spec)  # refuse an unknown device now, not at the next factory call
        spec = str(spec) if not isinstance(spec, Device) else spec
    _default_spec = spec


def get_default_device() -> Device:
    """The device factories use without ``device=`` (the CPU unless :func:`set_default_device` chose another)."""
    return device(None)


def device_of(array) -> Device | None:
    """The device holding the backend-native ``array``, or None if no backend created so far
    owns it (a backend not yet used can hold no array)."""
    for backend in registry.loaded_backends():
        if backend.owns(array):
            return device(backend.device_type, None if backend.single_device else backend.index_of(array))
    return None


def on_input_device(fn):
    """``fn(tensor, ...)`` run in the device context (:meth:`Device.context`) of its first argument, for code
    that computes on raw arrays outside ``Function.apply`` (random sampling, ``nn.init``): what it allocates
    lands beside the tensor, where CuPy with several GPUs would use the current device."""

    @functools.wraps(fn)
    def run(first, *args, **kwargs):
        dev = getattr(first, "_device", None)
        context = registry.NO_CONTEXT if dev is None else dev.backend.on_device(dev.index or 0)
        if context is registry.NO_CONTEXT:  # not a tensor (fn reports it), or a backend that needs none
            return fn(first, *args, **kwargs)
        with context:
            return fn(first, *args, **kwargs)

    return run
