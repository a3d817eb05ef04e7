"""Removable hook handles, as ``torch.utils.hooks.RemovableHandle``."""

from __future__ import annotations

import itertools
from collections import OrderedDict

__all__ = ["RemovableHandle", "add_hook"]

_ids = itertools.count()


class RemovableHandle:
    """Returned by every ``register_*_hook``: ``remove()`` (or leaving a ``with`` block)
    takes the hook out of the table it was put in."""

    def __init__(self, table: OrderedDict):
        self.id = next(_ids)
        self._table = table

    def remove(self) -> None:
        self._table.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def add_hook(table: OrderedDict, hook, prepend: bool = False, entry=None) -> RemovableHandle:
    """Put ``hook`` (or ``entry``, what the table stores for it) into the hook ``table``, last or,
    with ``prepend``, first; return its handle."""
    if not callable(hook):
        raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
    handle = RemovableHandle(table)
    table[handle.id] = hook if entry is None else entry
    if prepend:
        table.move_to_end(handle.id, last=False)
    return handle
