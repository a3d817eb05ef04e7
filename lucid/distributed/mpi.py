"""The MPI transport of backends "mpi" and "gloo" (PyTorch's CPU backend name, served here: lucid has no
transport of its own): collectives on host (NumPy) arrays through mpi4py's non-blocking MPI calls.

float16 travels as float32 (MPI has no half type) and comes back rounded once; bool reductions use MPI's
logical ops (SUM and MAX are OR, PRODUCT and MIN are AND), as torch's bool all_reduce behaves. Ranks here
are ranks in this transport's communicator (the group's ranks).
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

from .common import DistBackendError, DistributedError, ReduceOp

_OPS = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PREMUL_SUM: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
        ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND, ReduceOp.BOR: MPI.BOR,
        ReduceOp.BXOR: MPI.BXOR}
_BOOL_OPS = {ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR, ReduceOp.BOR: MPI.LOR, ReduceOp.PRODUCT: MPI.LAND,
             ReduceOp.MIN: MPI.LAND, ReduceOp.BAND: MPI.LAND, ReduceOp.BXOR: MPI.LXOR}


class _Request:
    """An MPI request; ``result()`` (once ``wait()`` returned) is the collective's output array. A receive
    also keeps its MPI status: ``source()`` is the sender, and a message of the wrong size raises."""

    def __init__(self, request, wire=None, receive=False):
        self._request, self._wire = request, wire
        self._status = MPI.Status() if receive else None

    def wait(self):
        if self._request is not None:
            self._finish(self._request.Wait, self._status)

    def test(self) -> bool:
        return self._request is None or self._finish(self._request.Test, self._status)

    def _finish(self, call, status):
        """Run MPI's Wait or Test; once the request is complete, check a receive's size. True when complete."""
        try:
            if not call(status):
                return False
        except MPI.Exception as e:
            self._request = None
            raise DistBackendError(f"MPI failed: {e.Get_error_string()} (did the sender's tensor have as many "
                                   "elements as the receiving tensor?)") from None
        self._request = None
        if status is not None:
            got, expected = status.Get_count(MPI.BYTE), self._wire.buffer.nbytes
            if got != expected:
                raise DistributedError(f"recv: the message from rank {self.source()} has {got} bytes, the receiving "
                                       f"tensor {expected} ({self._wire.array.dtype}{list(self._wire.array.shape)}); "
                                       "send and recv tensors must have the same shape and dtype")
        return True

    def result(self):
        return None if self._wire is None else self._wire.result()

    def source(self) -> int:
        return self._status.Get_source()


class _Wire:
    """The contiguous buffer MPI reads and writes for one array, and where the result ends up."""

    def __init__(self, array, shape=None):
        self.array = array
        wire_dtype = np.float32 if array.dtype == np.float16 else array.dtype
        direct = array.flags.c_contiguous and wire_dtype == array.dtype and shape is None
        self.buffer = array if direct else np.empty(shape or array.shape, wire_dtype)
        if not direct and shape is None:
            self.buffer[...] = array

    def result(self):
        """The buffer in the array's dtype (the array itself when MPI wrote into it)."""
        return self.buffer if self.buffer.dtype == self.array.dtype else self.buffer.astype(self.array.dtype)


def _counted(buffer, counts):
    """mpi4py's buffer spec for a vector collective: ``counts`` elements per rank, packed one after another."""
    return [buffer, (counts, np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist())]


class MpiTransport:
    xp = np

    def __init__(self, comm=None, name="mpi"):
        """``name`` is the backend the program asked for ("mpi" or "gloo"), what ``get_backend()`` answers."""
        # our own communicator: the user's MPI calls never match ours
        self.comm = MPI.COMM_WORLD.Dup() if comm is None else comm
        self.name = name
        self.rank, self.world_size = self.comm.Get_rank(), self.comm.Get_size()

    def close(self):
        self.comm.Free()

    def split(self, ranks):
        """A transport for the processes ``ranks`` (in that order), or None on the others; every process of this
        communicator calls it."""
        member = self.rank in ranks
        comm = self.comm.Split(0 if member else MPI.UNDEFINED, ranks.index(self.rank) if member else 0)
        return MpiTransport(comm, self.name) if member else None

    def check_device(self, device, what):
        if device.type != "cpu":
            raise DistributedError(f"{what}: backend '{self.name}' carries CPU tensors; this tensor is on {device}. "
                                   "Use backend='nccl' for CUDA tensors (lucid never copies to the host behind your "
                                   "back)")

    @staticmethod
    def to_host(array):
        return array

    @staticmethod
    def _op(array, op):
        return (_BOOL_OPS if array.dtype == np.bool_ else _OPS)[op]

    def all_reduce(self, array, op):
        wire = _Wire(array)
        return _Request(self.comm.Iallreduce(MPI.IN_PLACE, wire.buffer, self._op(array, op)), wire)

    def reduce(self, array, op, dst):
        wire = _Wire(array)
        if self.rank == dst:
            request = self.comm.Ireduce(MPI.IN_PLACE, wire.buffer, self._op(array, op), root=dst)
        else:
            request = self.comm.Ireduce(wire.buffer, None, self._op(array, op), root=dst)
        return _Request(request, wire)

    def broadcast(self, array, src):
        wire = _Wire(array)
        return _Request(self.comm.Ibcast(wire.buffer, root=src), wire)

    def all_gather(self, array):
        send = _Wire(array)
        out = _Wire(array, shape=(self.world_size, *array.shape))
        return _Request(self.comm.Iallgather(send.buffer, out.buffer), out)

    def gather(self, array, dst):
        """Process ``dst`` gets every process's ``array`` stacked (world, *shape); the others get None."""
        send = _Wire(array)
        out = _Wire(array, shape=(self.world_size, *array.shape)) if self.rank == dst else None
        return _Request(self.comm.Igather(send.buffer, None if out is None else out.buffer, root=dst), out)

    def scatter(self, stacked, out, src):
        """Process r gets ``stacked[r]`` of process ``src`` (``stacked`` is None elsewhere), in ``out``'s shape."""
        send = None if stacked is None else _Wire(stacked)
        recv = _Wire(out)
        return _Request(self.comm.Iscatter(None if send is None else send.buffer, recv.buffer, root=src), recv)

    def all_to_all(self, flat, send_counts, recv_counts):
        """``flat`` holds ``send_counts[r]`` elements for each process r, one after another; the result holds
        ``recv_counts[r]`` elements from each process r, in rank order."""
        send = _Wire(flat)
        out = _Wire(flat, shape=(sum(recv_counts),))
        return _Request(self.comm.Ialltoallv(_counted(send.buffer, send_counts), _counted(out.buffer, recv_counts)),
                        out)

    def reduce_scatter(self, array, op):
        send = _Wire(array)
        out = _Wire(array, shape=(array.size // self.world_size,))
        return _Request(self.comm.Ireduce_scatter_block(send.buffer, out.buffer, self._op(array, op)), out)

    def p2p(self, ops):
        """Start ``(is_send, array, peer, tag)`` operations (peer None: receive from any process); one request
        each, a receive's result being the received array."""
        requests = []
        for is_send, array, peer, tag in ops:
            wire = _Wire(array)
            if is_send:
                requests.append(_Request(self.comm.Isend(wire.buffer, dest=peer, tag=tag), wire))
            else:
                source = MPI.ANY_SOURCE if peer is None else peer
                requests.append(_Request(self.comm.Irecv(wire.buffer, source=source, tag=tag), wire, receive=True))
        return requests

    def barrier(self):
        return _Request(self.comm.Ibarrier())
