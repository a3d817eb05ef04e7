"""``lucid.multiprocessing`` (``torch.multiprocessing``): Python's :mod:`multiprocessing` (``Process``, ``Queue``,
``Pool``, ``get_context``, ``set_start_method`` ...), with tensors in shared memory passed between processes
as views of the same memory (see :mod:`lucid.multiprocessing.reductions`), plus :func:`spawn`.

The canonical use, Hogwild training (PyTorch's ``examples/mnist_hogwild``)::

    model.share_memory()
    procs = [mp.Process(target=train, args=(rank, model)) for rank in range(4)]

each process then trains the one shared model with an optimizer of its own.

Sharing strategies: ``"file_descriptor"`` (the default on Linux, as PyTorch) and ``"file_system"`` are
accepted; lucid always passes a block's file descriptor, whose memory has no name to leak, so the choice
changes nothing. The strategy is recorded for programs that read it back.
"""

from __future__ import annotations

import multiprocessing
import sys
from multiprocessing import *  # noqa: F403  (the standard module's API, as torch.multiprocessing)

from .reductions import init_reductions
from .spawn import (
    ProcessContext,
    ProcessException,
    ProcessExitedException,
    ProcessRaisedException,
    spawn,
    start_processes,
)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies", "spawn",
           "start_processes", "ProcessContext", "ProcessException", "ProcessExitedException",
           "ProcessRaisedException", *multiprocessing.__all__]

if sys.platform in ("darwin", "win32"):
    _all_sharing_strategies = {"file_system"}
else:
    _all_sharing_strategies = {"file_descriptor", "file_system"}
_sharing_strategy = "file_system" if sys.platform in ("darwin", "win32") else "file_descriptor"


def set_sharing_strategy(new_strategy: str) -> None:
    """Record the strategy for sharing CPU tensors: one of :func:`get_all_sharing_strategies` (anything else
    raises AssertionError, as PyTorch). Lucid shares by file descriptor whichever is chosen."""
    global _sharing_strategy
    if new_strategy not in _all_sharing_strategies:
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}, expected one of "
                             f"{sorted(_all_sharing_strategies)}")
    _sharing_strategy = new_strategy


def get_sharing_strategy() -> str:
    """The strategy recorded by :func:`set_sharing_strategy` (``"file_descriptor"`` on Linux by default)."""
    return _sharing_strategy


def get_all_sharing_strategies() -> set[str]:
    """The strategies this system supports."""
    return set(_all_sharing_strategies)


init_reductions()
