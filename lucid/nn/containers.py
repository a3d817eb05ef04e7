"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``, ``ParameterDict``.

Their members are registered like attributes (keys ``"0"``, ``"1"``, ... for the lists), so
they appear in ``parameters()``, ``state_dict()`` (``"layers.0.weight"``) and move with ``to()``.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Mapping

from .._tensor import Tensor
from .module import Module
from .parameter import Parameter

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _as_parameter(value) -> Parameter:
    """A Parameter as it is; a plain Tensor wrapped in one (sharing storage), as PyTorch's containers do."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"parameter containers hold Parameters or Tensors, got {type(value).__name__}")


def _describe(param: Parameter, typename: bool = False) -> str:
    """PyTorch's line for a container's member: its dtype (``ParameterList``) or type name (``ParameterDict``:
    ``lucid.FloatTensor``), its size (empty when 0-d) and a device other than the CPU."""
    size = "x".join(str(s) for s in param.shape)
    where = "" if param.device.type == "cpu" else f" ({param.device})"
    kind = param.type() if typename else repr(param.dtype)
    return f"Parameter containing: [{kind} of size {size}{where}]"


class _ListLike:
    """Shared by the list containers: members kept in one table under keys ``"0"``, ``"1"``, ...
    (Sequential may also use names), indexed by position; negative indices count from the end."""

    _members_table = "_modules"

    def _members(self) -> dict:
        return self.__dict__[self._members_table]

    def _register(self, key: str, value) -> None:
        self.add_module(key, value)

    def _key(self, idx) -> str:
        idx = operator.index(idx)
        n = len(self)
        i = idx + n if idx < 0 else idx
        if not 0 <= i < n:
            raise IndexError(f"index {idx} is out of range for a {type(self).__name__} of length {n}")
        return list(self._members())[i]

    def _renumber(self, values) -> None:
        members = self._members()
        members.clear()
        for i, value in enumerate(values):
            members[str(i)] = value

    def __len__(self) -> int:
        return len(self._members())

    def __iter__(self):
        return iter(self._members().values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self._slice(list(self._members().items())[idx])
        return self._members()[self._key(idx)]

    def __setitem__(self, idx, value) -> None:
        self._register(self._key(idx), value)

    def __delitem__(self, idx) -> None:
        keys = list(self._members())[idx] if isinstance(idx, slice) else [self._key(idx)]
        for key in keys:
            del self._members()[key]
        self._renumber(list(self))

    def append(self, value):
        """Add ``value`` at the end; returns self."""
        self._register(str(len(self)), value)
        return self

    def extend(self, values):
        """Append each of ``values``; returns self."""
        for value in values:
            self.append(value)
        return self

    def insert(self, index: int, value) -> None:
        """Insert ``value`` before position ``index`` (the members are renumbered)."""
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"insert index {index} is out of range for a {type(self).__name__} of length {n}")
        values = list(self)
        self.append(value)  # checks (and converts) the value
        values.insert(index + n if index < 0 else index, self._members().pop(str(n)))
        self._renumber(values)

    def pop(self, index: int = -1):
        """Remove and return the member at ``index``."""
        value = self[index]
        del self[index]
        return value

    def __iadd__(self, values):
        return self.extend(values)

    def __add__(self, other):
        return type(self)().extend(self).extend(other)


class Sequential(_ListLike, Module):
    """Modules called one after the other: ``Sequential(m1, m2, ...)`` or
    ``Sequential(OrderedDict(name=module, ...))``. Integer indices select a module, slices
    give a new Sequential (keeping the names)."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def _slice(self, items):
        return type(self)(OrderedDict(items))

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert ``module`` before position ``index`` (renumbering); returns self, as PyTorch's."""
        super().insert(index, module)
        return self

    def _repeat(self, times) -> list:
        if not isinstance(times, int) or isinstance(times, bool):
            raise TypeError(f"unsupported operand type(s) for *: {type(self).__name__!r} and {type(times).__name__!r}")
        if times <= 0:
            raise ValueError(f"Non-positive multiplication factor {times} for {type(self).__name__}")
        return list(self) * times

    def __mul__(self, times: int) -> Sequential:
        """``seq * n``: a new Sequential running the modules n times over (the same module
        objects, so their parameters are shared), as in PyTorch."""
        return Sequential(*self._repeat(times))

    __rmul__ = __mul__

    def __imul__(self, times: int) -> Sequential:
        """``seq *= n``: repeat the modules in place (same objects)."""
        for module in self._repeat(times)[len(self):]:
            self.append(module)
        return self

    def forward(self, input):
        for module in self:
            input = module(input)
        return input


class ModuleList(_ListLike, Module):
    """A list of submodules, registered (so their parameters are the list's). It has no
    ``forward``: iterate over it in the owner's ``forward``."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _slice(self, items):
        return ModuleList(value for _, value in items)

    def __repr__(self) -> str:
        """As PyTorch's: consecutive members with the same repr are shown once, as
        ``(0-3): 4 x Linear(...)``."""
        blocks = []  # [first index, last index, repr]
        for i, module in enumerate(self):
            text = repr(module)
            if blocks and blocks[-1][2] == text:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, text])
        if not blocks:
            return f"{self._get_name()}()"
        lines = [(f"({a}): " if a == b else f"({a}-{b}): {b - a + 1} x ") + text.replace("\n", "\n  ")
                 for a, b, text in blocks]
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"


class ParameterList(_ListLike, Module):
    """A list of Parameters (plain Tensors are wrapped as Parameters), registered on the module."""

    _members_table = "_parameters"

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def _register(self, key: str, value) -> None:
        self.register_parameter(key, _as_parameter(value))

    def _slice(self, items):
        return ParameterList(value for _, value in items)

    def extra_repr(self) -> str:
        return "\n".join(f"({key}): {_describe(p)}" for key, p in self._parameters.items())


class _DictLike:
    """Shared by the dict containers: members in one table under string keys, in insertion order."""

    _members_table = "_modules"

    def _members(self) -> dict:
        return self.__dict__[self._members_table]

    def __getitem__(self, key: str):
        return self._members()[key]

    def __setitem__(self, key: str, value) -> None:
        self._register(key, value)

    def __delitem__(self, key: str) -> None:
        del self._members()[key]

    def __len__(self) -> int:
        return len(self._members())

    def __iter__(self):
        return iter(self._members())

    def __contains__(self, key) -> bool:
        return key in self._members()

    def keys(self):
        return self._members().keys()

    def items(self):
        return self._members().items()

    def values(self):
        return self._members().values()

    def get(self, key: str, default=None):
        return self._members().get(key, default)

    def pop(self, key: str):
        """Remove and return the member ``key``."""
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        self._members().clear()

    def _pairs(self, values):
        return values.items() if isinstance(values, (Mapping, _DictLike)) else values

    def update(self, values) -> None:
        """Add or replace members from a mapping (a ModuleDict / ParameterDict too) or an
        iterable of ``(key, value)`` pairs."""
        pairs = self._pairs(values)
        for pair in pairs:
            if len(pair) != 2:
                raise ValueError(f"update needs (key, value) pairs, got an element of length {len(pair)}")
            self[pair[0]] = pair[1]


class ModuleDict(_DictLike, Module):
    """A dict of submodules with string keys, registered in insertion order."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _register(self, key: str, value) -> None:
        self.add_module(key, value)


class ParameterDict(_DictLike, Module):
    """A dict of Parameters with string keys (plain Tensors are wrapped as Parameters)."""

    _members_table = "_parameters"

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def _register(self, key: str, value) -> None:
        self.register_parameter(key, _as_parameter(value))

    def _pairs(self, values):
        """As PyTorch's ParameterDict: a plain mapping (neither an OrderedDict nor a ParameterDict)
        is added in sorted key order, which fixes the order of ``parameters()`` and ``state_dict``."""
        if isinstance(values, Mapping) and not isinstance(values, OrderedDict):
            return sorted(values.items())
        return super()._pairs(values)

    def __reversed__(self):
        return reversed(self._parameters)

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same Parameters (not copies), in the same order."""
        return ParameterDict(OrderedDict(self.items()))

    def setdefault(self, key: str, default=None):
        """The Parameter at ``key``, adding ``default`` (wrapped as a Parameter) there first if absent."""
        if key not in self:
            self[key] = default
        return self[key]

    def popitem(self):
        """Remove and return the last added ``(key, Parameter)`` pair."""
        if not self._parameters:
            raise KeyError("popitem(): ParameterDict is empty")
        key = next(reversed(self._parameters))
        return key, self.pop(key)

    def fromkeys(self, keys, default=None) -> ParameterDict:
        """A new ParameterDict with ``keys``, each holding ``default``."""
        return ParameterDict((key, default) for key in keys)

    def __or__(self, other) -> ParameterDict:
        new = self.copy()
        new.update(other)
        return new

    def __ror__(self, other) -> ParameterDict:
        new = other.copy()
        new.update(self)
        return new

    def __ior__(self, other) -> ParameterDict:
        self.update(other)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"({key}): {_describe(p, typename=True)}" for key, p in self._parameters.items())
