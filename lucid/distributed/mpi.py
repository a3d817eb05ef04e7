"""The "mpi" transport: collectives on host (NumPy) arrays through mpi4py's non-blocking MPI calls.

float16 travels as float32 (MPI has no half type) and comes back rounded once; bool reductions use MPI's
logical ops (SUM and MAX are OR, PRODUCT and MIN are AND), as torch's bool all_reduce behaves.
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

from .common import DistributedError, ReduceOp

_OPS = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD, ReduceOp.MIN: MPI.MIN,
        ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND, ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}
_BOOL_OPS = {ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR, ReduceOp.BOR: MPI.LOR, ReduceOp.PRODUCT: MPI.LAND,
             ReduceOp.MIN: MPI.LAND, ReduceOp.BAND: MPI.LAND, ReduceOp.BXOR: MPI.LXOR}


class _Request:
    """An MPI request; ``result()`` (once ``wait()`` returned) is the collective's output array."""

    def __init__(self, request, wire=None):
        self._request, self._wire = request, wire

    def wait(self):
        if self._request is not None:
            self._request.Wait()
            self._request = None

    def test(self) -> bool:
        return self._request is None or self._request.Test()

    def result(self):
        return None if self._wire is None else self._wire.result()


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


class MpiTransport:
    name = "mpi"

    def __init__(self):
        self.comm = MPI.COMM_WORLD.Dup()  # our own communicator: the user's MPI calls never match ours
        self.rank, self.world_size = self.comm.Get_rank(), self.comm.Get_size()

    def close(self):
        self.comm.Free()

    def check_device(self, device, what):
        if device.type != "cpu":
            raise DistributedError(f"{what}: backend 'mpi' carries CPU tensors; this tensor is on {device}. Use "
                                   "backend='nccl' for CUDA tensors (lucid never copies to the host behind your back)")

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

    def reduce_scatter(self, array, op):
        send = _Wire(array)
        out = _Wire(array, shape=(array.size // self.world_size,))
        return _Request(self.comm.Ireduce_scatter_block(send.buffer, out.buffer, self._op(array, op)), out)

    def barrier(self):
        return _Request(self.comm.Ibarrier())

    def broadcast_object(self, obj, src):
        return self.comm.bcast(obj, root=src)

    def all_gather_object(self, obj):
        return self.comm.allgather(obj)
