"""Freed host memory kept for reuse, where the C library is glibc.

A training step frees and allocates the same large arrays every time. glibc's malloc, left to its
defaults, serves arrays of a few MiB with ``mmap`` or hands a large free heap top back to the system,
and then faults the pages in again at the next step: measured 5,000-8,000 page faults and 11-35 ms of
system time per step of the GPT, LSTM and ResNet-18 benchmarks on one core (8% of a GPT step). Lucid
sets glibc's two thresholds once, when its NumPy backend loads: arrays up to 32 MiB come from the heap
and up to 64 MiB of free heap is kept (the peak memory of a step does not change; up to 64 MiB more
may stay with the process after it). The setting is process-wide, as an allocator choice is (PyTorch
users get the same from preloading jemalloc or tcmalloc): set ``LUCID_KEEP_FREED_MEMORY=0`` before
importing lucid to leave malloc as it is.
"""

from __future__ import annotations

import ctypes
import os
import sys

MMAP_THRESHOLD = 32 * 2**20  # glibc's largest: blocks up to this size come from the heap
TRIM_THRESHOLD = 64 * 2**20  # free heap kept at the top before it goes back to the system
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)


def keep_freed_memory() -> bool:
    """Set glibc's thresholds (see the module docstring). False, with nothing changed, without glibc
    or with ``LUCID_KEEP_FREED_MEMORY=0``."""
    if os.environ.get("LUCID_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 (glibc only: musl's mallopt does nothing)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))

