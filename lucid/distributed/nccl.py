"""The "nccl" transport: collectives on CUDA arrays through CuPy's NCCL communicator.

Each process binds its GPU from the local rank before any CUDA work. Collectives run on a stream of
their own: it first waits (an event, on the GPU) for the work already queued on the current stream,
and the current stream waits for the collective when ``Work.wait()`` is called, so the host never
blocks except where the user asks (``barrier``, object collectives). The NCCL id goes from rank 0 to
the others through MPI when the processes were started by ``mpiexec`` with mpi4py installed, else
through a one-shot TCP store at ``init_method`` (``tcp://host:port``) or ``MASTER_ADDR``/``MASTER_PORT``.
"""

from __future__ import annotations

import os
import pickle
import socket
import time

import numpy  # the pickled bytes of object collectives, on the host

from .common import DistributedError, ReduceOp, get_node_local_rank, is_mpi_available

_STORE_TIMEOUT_S = 300.0
_NCCL_TYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64", "int32": "NCCL_INT32",
               "int64": "NCCL_INT64", "uint8": "NCCL_UINT8", "int8": "NCCL_INT8", "bool": "NCCL_UINT8",
               "bfloat16": "NCCL_BFLOAT16"}  # array dtype -> the name of cupy.cuda.nccl's constant
_MPI_WORLD_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")  # set by MPICH/Hydra and Open MPI launchers


def exchange_unique_id(uid: bytes | None, rank: int, world_size: int, address: str, port: int,
                       timeout: float = _STORE_TIMEOUT_S) -> bytes:
    """Rank 0 serves ``uid`` on ``address:port`` to the ``world_size - 1`` other ranks, which return it."""
    deadline = time.monotonic() + timeout
    if rank == 0:
        with socket.create_server((address, port), reuse_port=False) as server:
            server.settimeout(timeout)
            for _ in range(world_size - 1):
                conn, _ = server.accept()
                with conn:
                    conn.sendall(len(uid).to_bytes(4, "big") + uid)
        return uid
    while True:
        try:
            with socket.create_connection((address, port), timeout=timeout) as conn:
                return _receive(conn)
        except (ConnectionRefusedError, OSError):
            if time.monotonic() > deadline:
                raise DistributedError(f"rank {rank}: no NCCL id from rank 0 at {address}:{port} within "
                                       f"{timeout:.0f} s (is rank 0 running, and the address right?)") from None
            time.sleep(0.05)


def _receive(conn) -> bytes:
    data = b""
    while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "big"):
        chunk = conn.recv(4096)
        if not chunk:
            raise DistributedError("the NCCL id store closed the connection early")
        data += chunk
    return data[4:4 + int.from_bytes(data[:4], "big")]


def _store_address(init_method):
    if init_method is not None:
        if not init_method.startswith("tcp://"):
            raise ValueError(f"init_method {init_method!r}: lucid's nccl backend takes tcp://host:port")
        host, _, port = init_method[len("tcp://"):].rpartition(":")
        return host, int(port)
    try:
        return os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
    except KeyError:
        raise DistributedError("backend 'nccl' outside mpiexec needs init_method='tcp://host:port' or "
                               "MASTER_ADDR and MASTER_PORT in the environment") from None


class _Request:
    """A collective queued on the communication stream; keeps its arrays alive until it is done."""

    def __init__(self, done, arrays, result=None):
        self._done, self._arrays, self._result = done, arrays, result

    def wait(self):
        import cupy

        cupy.cuda.get_current_stream().wait_event(self._done)  # ordered on the GPU: no host wait

    def test(self) -> bool:
        return self._done.done

    def result(self):
        return self._result


class NcclTransport:
    name = "nccl"

    def __init__(self, init_method, world_size, rank):
        import cupy
        from cupy.cuda import nccl

        self._cupy, self._nccl = cupy, nccl
        mpi = None
        if is_mpi_available() and any(v in os.environ for v in _MPI_WORLD_VARIABLES):
            from mpi4py import MPI

            mpi = MPI.COMM_WORLD
            world_size, rank = mpi.Get_size(), mpi.Get_rank()
        else:
            world_size = int(os.environ.get("WORLD_SIZE", world_size)) if world_size in (-1, None) else world_size
            rank = int(os.environ.get("RANK", rank)) if rank in (-1, None) else rank
            if world_size < 1 or rank < 0:
                raise DistributedError("backend 'nccl' outside mpiexec needs world_size and rank (arguments or "
                                       "WORLD_SIZE/RANK variables)")
        self.rank, self.world_size = rank, world_size
        self.device_index = get_node_local_rank(fallback_rank=rank) % max(cupy.cuda.runtime.getDeviceCount(), 1)
        cupy.cuda.Device(self.device_index).use()  # bind the GPU before any other CUDA work
        uid = nccl.get_unique_id() if rank == 0 else None
        if mpi is not None:
            uid = mpi.bcast(uid, root=0)
        elif world_size > 1:
            raw = None if uid is None else bytes(b & 0xFF for b in uid)
            raw = exchange_unique_id(raw, rank, world_size, *_store_address(init_method))
            uid = tuple(b - 256 if b > 127 else b for b in raw)
        self.comm = nccl.NcclCommunicator(world_size, uid, rank)
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self._ops = {ReduceOp.SUM: nccl.NCCL_SUM, ReduceOp.PRODUCT: nccl.NCCL_PROD, ReduceOp.MIN: nccl.NCCL_MIN,
                     ReduceOp.MAX: nccl.NCCL_MAX, ReduceOp.AVG: nccl.NCCL_SUM}

    def close(self):
        self.stream.synchronize()
        self.comm.destroy()

    def check_device(self, device, what):
        if device.type != "cuda" or (device.index or 0) != self.device_index:
            raise DistributedError(f"{what}: backend 'nccl' carries tensors on this process's GPU "
                                   f"(cuda:{self.device_index}); this one is on {device}")

    def _dtype(self, array):
        try:
            return getattr(self._nccl, _NCCL_TYPES[str(array.dtype)])
        except (KeyError, AttributeError):
            raise DistributedError(f"backend 'nccl' cannot carry {array.dtype} tensors") from None

    def _op(self, op):
        if op not in self._ops:
            raise DistributedError(f"backend 'nccl' has no {op.name} reduction")
        return self._ops[op]

    def _launch(self, call, arrays, result=None):
        """Run ``call(stream_ptr)`` on the communication stream after the current stream's queued work."""
        cupy = self._cupy
        ready = cupy.cuda.Event(disable_timing=True)
        ready.record(cupy.cuda.get_current_stream())
        self.stream.wait_event(ready)
        call(self.stream.ptr)
        done = cupy.cuda.Event(disable_timing=True)
        done.record(self.stream)
        return _Request(done, arrays, result)

    def _contiguous(self, array):
        return array if array.flags.c_contiguous else self._cupy.ascontiguousarray(array)

    def all_reduce(self, array, op):
        buf = self._contiguous(array)
        return self._launch(lambda s: self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, self._dtype(buf),
                                                          self._op(op), s), (buf,), buf)

    def reduce(self, array, op, dst):
        buf = self._contiguous(array)
        return self._launch(lambda s: self.comm.reduce(buf.data.ptr, buf.data.ptr, buf.size, self._dtype(buf),
                                                       self._op(op), dst, s), (buf,), buf)

    def broadcast(self, array, src):
        buf = self._contiguous(array)
        return self._launch(lambda s: self.comm.bcast(buf.data.ptr, buf.size, self._dtype(buf), src, s), (buf,), buf)

    def all_gather(self, array):
        buf = self._contiguous(array)
        out = self._cupy.empty((self.world_size, *array.shape), array.dtype)
        return self._launch(lambda s: self.comm.allGather(buf.data.ptr, out.data.ptr, buf.size, self._dtype(buf), s),
                            (buf, out), out)

    def reduce_scatter(self, array, op):
        buf = self._contiguous(array)
        out = self._cupy.empty(array.size // self.world_size, array.dtype)
        return self._launch(lambda s: self.comm.reduceScatter(buf.data.ptr, out.data.ptr, out.size, self._dtype(buf),
                                                              self._op(op), s), (buf, out), out)

    def barrier(self):
        """A one-element all-reduce, then the host waits for it: a barrier is a sync the user asked for."""
        token = self._cupy.zeros(1, self._cupy.float32)
        request = self.all_reduce(token, ReduceOp.SUM)
        request._done.synchronize()
        return request

    def broadcast_object(self, obj, src):
        payload = pickle.dumps(obj) if self.rank == src else b""
        size = self._cupy.asarray([len(payload)], self._cupy.int64)
        self.broadcast(size, src)._done.synchronize()
        data = (self._cupy.asarray(numpy.frombuffer(payload, numpy.uint8)) if self.rank == src
                else self._cupy.empty(int(size.get()[0]), self._cupy.uint8))
        self.broadcast(data, src)._done.synchronize()
        return pickle.loads(data.get().tobytes()) if self.rank != src else obj

    def all_gather_object(self, obj):
        return [self.broadcast_object(obj if r == self.rank else None, r) for r in range(self.world_size)]
