"""The named tuples that lucid's functions with several results return (``max(dim)``, ``sort``, ``linalg.eigh``,
...), named and printed as PyTorch's ``torch.return_types``: ``type(lucid.max(x, 0))`` is ``return_types.max``,
and it prints one field a line, ``lucid.return_types.max(\\nvalues=tensor(...),\\nindices=tensor(...))``."""

from __future__ import annotations

import collections

from . import dtypes as _dt

__all__ = ["return_type"]


def _repr(self) -> str:
    fields = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
    return f"{_dt.spelled_as()}.return_types.{type(self).__name__}(\n{fields})"


def return_type(name: str, fields: list[str]) -> type:
    """The named tuple class ``return_types.<name>`` with ``fields``, printed as PyTorch prints its own; it is also
    this module's attribute ``name`` (so it pickles, and ``isinstance(r, lucid.return_types.max)`` holds)."""
    cls = collections.namedtuple(name, fields, module=__name__)
    cls.__repr__ = _repr
    globals()[name] = cls
    return cls
