"""The backend protocol and the registry that maps device types to backends.

A backend is an array namespace ``xp`` that follows the array API standard, plus the few
extras the standard lacks (scatter-add, sliding windows, random numbers, host transfer,
einsum). numpy (``"cpu"``) and cupy (``"cuda"``, alias ``"gpu"``) are built in; more can be
registered, as the tests do with array-api-strict and its fake devices.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import dtypes as _dt

__all__ = ["Backend", "register_backend", "backend_for"]


class Backend:
    """Base class of a backend. Subclasses set ``name``, ``device_type`` and ``xp`` and
    implement the methods below that raise ``NotImplementedError``."""

    name: str = ""
    device_type: str = ""
    aliases: tuple[str, ...] = ()
    single_device: bool = False  # True for "cpu": no index

    def __init__(self):
        found = {d: getattr(self.xp, d.name, None) for d in _dt.ALL}  # the standard has no float16
        self._to_native = {d: v for d, v in found.items() if v is not None}
        self._from_native = {self._dtype_key(v): d for d, v in self._to_native.items()}

    def supports(self, dtype: _dt.DType) -> bool:
        return dtype in self._to_native

    # ---- dtypes -------------------------------------------------------------------
    @staticmethod
    def _dtype_key(native):
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

    def owns(self, array) -> bool:
        """Whether ``array`` is this backend's array type."""
        raise NotImplementedError

    def may_share_memory(self, array) -> bool:
        """Whether ``array`` may be a view of another array (then the engine copies it before
        making it a ``.grad``). Backends that cannot tell answer True."""
        return True

    def synchronize(self, index: int) -> None:
        """Wait for queued work on device ``index`` (no-op on synchronous backends)."""

    # ---- host transfer ------------------------------------------------------------
    def to_numpy(self, array):
        """A NumPy array with the contents of ``array`` (a copy unless already on the host)."""
        raise NotImplementedError

    def from_numpy(self, array, index: int):
        """This backend's array on device ``index`` holding the NumPy ``array``."""
        raise NotImplementedError

    def move(self, array, index: int):
        """``array`` moved to device ``index`` of this backend."""
        return self.from_numpy(self.to_numpy(array), index)

    # ---- extras the array API lacks -----------------------------------------------
    def add_at(self, target, index, values) -> None:
        """``target[index] += values`` in place, with repeated indices accumulating."""
        raise NotImplementedError

    def sliding_window_view(self, x, window_shape, axis):
        """A read-only view of the sliding windows of ``x`` (as numpy's)."""
        raise NotImplementedError

    def einsum(self, subscripts: str, *operands):
        raise NotImplementedError

    def seed(self, seed: int) -> None:
        """Seed every device's random generator of this backend."""
        raise NotImplementedError

    def random(self, kind: str, shape, dtype, index: int, **params):
        """Random numbers: kind is ``"uniform"`` (low, high), ``"normal"`` (mean, std),
        ``"integers"`` (low, high) or ``"permutation"`` (n)."""
        raise NotImplementedError


_BACKENDS: dict[str, Backend | Callable[[], Backend]] = {}
_ALIASES: dict[str, str] = {}
_SINGLE: set[str] = set()
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
        if _SEED[0] is not None:
            entry.seed(_SEED[0])
    return entry


def current_index(device_type: str) -> int:
    try:
        return backend_for(device_type).current_index()
    except Exception:  # an unusable backend reports its error when a tensor is made
        return 0


def seed_all(seed: int) -> None:
    """Seed every backend created so far, and remember ``seed`` for those created later."""
    _SEED[0] = seed
    for entry in _BACKENDS.values():
        if isinstance(entry, Backend):
            entry.seed(seed)
