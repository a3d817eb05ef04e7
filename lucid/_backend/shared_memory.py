"""Host memory that several processes map at once: what ``Tensor.share_memory_`` moves a CPU tensor into.

A block is an anonymous memory file (``memfd_create``; an unlinked temporary file where the system lacks
it) mapped with ``mmap``: it has no name, so nothing is left behind in ``/dev/shm`` and Python's
resource tracker has nothing to clean up or warn about. Another process gets the block by receiving its
file descriptor (PyTorch's ``file_descriptor`` strategy): a forked child inherits the mapping, a spawned
one receives a duplicate of the descriptor through ``multiprocessing``. The memory is freed by the system
when the last mapping and descriptor in any process are closed, so it lives exactly as long as some
array, in some process, still uses it. Each block keeps one descriptor open in each process that maps it.
"""

from __future__ import annotations

import mmap
import os
import tempfile
import weakref

import numpy as np

__all__ = ["Block", "new_block", "open_block", "share", "locate", "array_in", "moved"]

# blocks mapped in this process, by their file's identity: a block received twice is mapped once
_mapped: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


class Block(mmap.mmap):
    """A mapped block: an ``mmap`` that also holds the descriptor of its memory file (``fd``, closed when the
    mapping is collected) and the file's identity (``key``), by which processes recognise the same block."""

    fd: int
    key: tuple


def _file_key(fd: int) -> tuple:
    stat = os.fstat(fd)
    return stat.st_ino, stat.st_dev


def _anonymous_file() -> int:
    if hasattr(os, "memfd_create"):
        return os.memfd_create("lucid-shared", os.MFD_CLOEXEC)
    fd, path = tempfile.mkstemp(prefix="lucid-shared-")
    os.unlink(path)
    return fd


def open_block(fd: int, nbytes: int) -> Block:
    """The block whose memory file is ``fd`` (this function takes ownership of the descriptor): the mapping
    this process already has of that file, else a new one."""
    key = _file_key(fd)
    block = _mapped.get(key)
    if block is not None:
        os.close(fd)
        return block
    block = Block(fd, nbytes)
    block.fd, block.key = fd, key
    weakref.finalize(block, os.close, fd)
    _mapped[key] = block
    return block


def new_block(nbytes: int) -> Block:
    """A fresh zero-filled block of at least ``nbytes`` bytes (one byte for an empty array: a mapping can't
    be empty)."""
    fd = _anonymous_file()
    nbytes = max(int(nbytes), 1)
    os.ftruncate(fd, nbytes)
    return open_block(fd, nbytes)


def array_in(block: Block, offset: int, shape, dtype, strides) -> np.ndarray:
    """The array of ``shape``/``dtype``/``strides`` (bytes) whose first element lies ``offset`` bytes into
    ``block``; it keeps the block mapped while it (or a view of it) lives."""
    whole = np.frombuffer(block, dtype=np.uint8)
    return np.ndarray(tuple(shape), dtype=dtype, buffer=whole, offset=offset, strides=tuple(strides))


def share(array: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``array`` in a new block."""
    block = new_block(array.nbytes)
    out = array_in(block, 0, array.shape, array.dtype, _c_strides(array.shape, array.itemsize))
    out[...] = array
    return out


def moved(view: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray | None:
    """``view`` (an array lying in ``old``) re-made at the same place in ``new``, a C-contiguous copy of ``old``;
    None when ``old`` is not C-contiguous itself (then places in it do not carry over)."""
    if not old.flags.c_contiguous:
        return None
    offset = view.__array_interface__["data"][0] - old.__array_interface__["data"][0]
    return np.ndarray(view.shape, dtype=view.dtype, buffer=new, offset=offset, strides=view.strides)


def _c_strides(shape, itemsize: int) -> tuple:
    strides, step = [], itemsize
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def locate(array) -> tuple[Block, int] | None:
    """``(block, offset)``: the block ``array`` lies in and the byte offset of its first element; None for an
    array in ordinary (private) memory."""
    if not isinstance(array, np.ndarray):
        return None
    root = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    owner = root.base.obj if isinstance(root.base, memoryview) else root.base
    if not isinstance(owner, Block):
        return None
    start = np.frombuffer(owner, dtype=np.uint8, count=0).__array_interface__["data"][0]
    return owner, array.__array_interface__["data"][0] - start
