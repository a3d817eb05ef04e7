"""The "nccl" transport: collectives on CUDA arrays through CuPy's NCCL communicator.

Each process binds its GPU from the local rank before any CUDA work. Collectives run on a stream of
their own: it first waits (an event, on the GPU) for the work already queued on the current stream,
and the current stream waits for the collective when ``Work.wait()`` is called, so the host never
blocks except where the user asks (``barrier``, object collectives). The NCCL id goes from rank 0 to
the others through MPI when the processes were started by ``mpiexec`` with mpi4py installed, else
through the rendezvous store of ``init_process_group`` (:mod:`lucid.distributed.store`); a subgroup's
id is broadcast over the default group's communicator. Gather, scatter, all-to-all and point-to-point
transfers are NCCL sends and receives issued as one NCCL group, as torch does.
"""

from __future__ import annotations

from .common import DistributedError, ReduceOp, get_node_local_rank

_UNIQUE_ID_BYTES = 128  # NCCL_UNIQUE_ID_BYTES
_NCCL_TYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64", "int32": "NCCL_INT32",
               "int64": "NCCL_INT64", "uint8": "NCCL_UINT8", "int8": "NCCL_INT8", "bool": "NCCL_UINT8",
               "bfloat16": "NCCL_BFLOAT16"}  # array dtype -> the name of cupy.cuda.nccl's constant


class _Request:
    """Work queued on the communication stream; keeps its arrays alive until it is done."""

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

    def __init__(self, comm, rank, world_size, device_index):
        import cupy
        from cupy.cuda import nccl

        self.xp, self._nccl = cupy, nccl
        self.comm, self.rank, self.world_size, self.device_index = comm, rank, world_size, device_index
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self._ops = {ReduceOp.SUM: nccl.NCCL_SUM, ReduceOp.PRODUCT: nccl.NCCL_PROD, ReduceOp.MIN: nccl.NCCL_MIN,
                     ReduceOp.MAX: nccl.NCCL_MAX, ReduceOp.AVG: nccl.NCCL_SUM, ReduceOp.PREMUL_SUM: nccl.NCCL_SUM}

    @classmethod
    def connect(cls, store, rank, world_size):
        """The default group's transport: bind this process's GPU, share rank 0's NCCL id (through ``store``, or
        through MPI when ``store`` is None and ``mpiexec`` started the processes), make the communicator."""
        import cupy
        from cupy.cuda import nccl

        mpi = None
        if store is None:
            from mpi4py import MPI

            mpi = MPI.COMM_WORLD
            world_size, rank = mpi.Get_size(), mpi.Get_rank()
        device_index = get_node_local_rank(fallback_rank=rank) % max(cupy.cuda.runtime.getDeviceCount(), 1)
        cupy.cuda.Device(device_index).use()  # bind the GPU before any other CUDA work
        uid = nccl.get_unique_id() if rank == 0 else None
        if mpi is not None:
            uid = mpi.bcast(uid, root=0)
        elif world_size > 1:
            if rank == 0:
                store.set("nccl_id", bytes(b & 0xFF for b in uid))
            uid = tuple(b - 256 if b > 127 else b for b in store.get("nccl_id"))
        return cls(nccl.NcclCommunicator(world_size, uid, rank), rank, world_size, device_index)

    def split(self, ranks):
        """A transport for the processes ``ranks`` (in that order), or None on the others: the first of them
        broadcasts a new NCCL id over this communicator, which every process of it calls."""
        root = ranks[0]
        uid = self.xp.asarray(self._nccl.get_unique_id() if self.rank == root else [0] * _UNIQUE_ID_BYTES,
                              self.xp.int64)
        self.broadcast(uid, root)._done.synchronize()
        if self.rank not in ranks:
            return None
        rank = ranks.index(self.rank)
        comm = self._nccl.NcclCommunicator(len(ranks), tuple(int(b) for b in self.to_host(uid)), rank)
        return NcclTransport(comm, rank, len(ranks), self.device_index)

    def close(self):
        self.stream.synchronize()
        self.comm.destroy()

    def check_device(self, device, what):
        if device.type != "cuda" or (device.index or 0) != self.device_index:
            raise DistributedError(f"{what}: backend 'nccl' carries tensors on this process's GPU "
                                   f"(cuda:{self.device_index}); this one is on {device}")

    def to_host(self, array):
        return self.xp.asnumpy(array)

    def _dtype(self, array):
        try:
            return getattr(self._nccl, _NCCL_TYPES[str(array.dtype)])
        except (KeyError, AttributeError):
            raise DistributedError(f"backend 'nccl' cannot carry {array.dtype} tensors") from None

    def _op(self, op):
        if op not in self._ops:
            raise DistributedError(f"backend 'nccl' has no {op.name} reduction")
        return self._ops[op]

    def _launch(self, *calls):
        """Run each ``call(stream_ptr)`` on the communication stream after the current stream's queued work (as
        one NCCL group unless there is exactly one); the event that marks their end."""
        cupy = self.xp
        ready = cupy.cuda.Event(disable_timing=True)
        ready.record(cupy.cuda.get_current_stream())
        self.stream.wait_event(ready)
        if len(calls) == 1:
            calls[0](self.stream.ptr)
        else:
            self._nccl.groupStart()
            try:
                for call in calls:
                    call(self.stream.ptr)
            finally:
                self._nccl.groupEnd()
        done = cupy.cuda.Event(disable_timing=True)
        done.record(self.stream)
        return done

    def _contiguous(self, array):
        return array if array.flags.c_contiguous else self.xp.ascontiguousarray(array)

    def _send(self, buf, peer, offset=0, count=None):
        """A call that sends ``count`` elements of ``buf`` from ``offset`` (all of it by default) to ``peer``."""
        count, dtype = buf.size if count is None else count, self._dtype(buf)
        return lambda s: self.comm.send(buf.data.ptr + offset * buf.itemsize, count, dtype, peer, s)

    def _recv(self, buf, peer, offset=0, count=None):
        count, dtype = buf.size if count is None else count, self._dtype(buf)
        return lambda s: self.comm.recv(buf.data.ptr + offset * buf.itemsize, count, dtype, peer, s)

    def all_reduce(self, array, op):
        buf = self._contiguous(array)
        done = self._launch(lambda s: self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, self._dtype(buf),
                                                          self._op(op), s))
        return _Request(done, (buf,), buf)

    def reduce(self, array, op, dst):
        buf = self._contiguous(array)
        done = self._launch(lambda s: self.comm.reduce(buf.data.ptr, buf.data.ptr, buf.size, self._dtype(buf),
                                                       self._op(op), dst, s))
        return _Request(done, (buf,), buf)

    def broadcast(self, array, src):
        buf = self._contiguous(array)
        done = self._launch(lambda s: self.comm.bcast(buf.data.ptr, buf.size, self._dtype(buf), src, s))
        return _Request(done, (buf,), buf)

    def all_gather(self, array):
        buf = self._contiguous(array)
        out = self.xp.empty((self.world_size, *array.shape), array.dtype)
        done = self._launch(lambda s: self.comm.allGather(buf.data.ptr, out.data.ptr, buf.size, self._dtype(buf), s))
        return _Request(done, (buf, out), out)

    def gather(self, array, dst):
        """Process ``dst`` gets every process's ``array`` stacked (world, *shape); the others get None."""
        buf = self._contiguous(array)
        if self.rank != dst:
            return _Request(self._launch(self._send(buf, dst)), (buf,))
        out = self.xp.empty((self.world_size, *array.shape), array.dtype)
        calls = [self._recv(out, r, r * buf.size, buf.size) for r in range(self.world_size) if r != dst]
        out[dst] = buf
        return _Request(self._launch(*calls), (buf, out), out)

    def scatter(self, stacked, out, src):
        """Process r gets ``stacked[r]`` of process ``src`` (``stacked`` is None elsewhere), in ``out``'s shape."""
        buf = self.xp.empty(out.shape, out.dtype)
        if self.rank != src:
            return _Request(self._launch(self._recv(buf, src)), (buf,), buf)
        send = self._contiguous(stacked)
        buf[...] = self.xp.reshape(send[src], out.shape)
        calls = [self._send(send, r, r * buf.size, buf.size) for r in range(self.world_size) if r != src]
        return _Request(self._launch(*calls), (send, buf), buf)

    def all_to_all(self, flat, send_counts, recv_counts):
        """``flat`` holds ``send_counts[r]`` elements for each process r, one after another; the result holds
        ``recv_counts[r]`` elements from each process r, in rank order."""
        send = self._contiguous(flat)
        out = self.xp.empty(sum(recv_counts), flat.dtype)
        calls = []
        for r in range(self.world_size):
            if send_counts[r]:
                calls.append(self._send(send, r, sum(send_counts[:r]), send_counts[r]))
            if recv_counts[r]:
                calls.append(self._recv(out, r, sum(recv_counts[:r]), recv_counts[r]))
        return _Request(self._launch(*calls), (send, out), out)

    def reduce_scatter(self, array, op):
        buf = self._contiguous(array)
        out = self.xp.empty(array.size // self.world_size, array.dtype)
        done = self._launch(lambda s: self.comm.reduceScatter(buf.data.ptr, out.data.ptr, out.size, self._dtype(buf),
                                                              self._op(op), s))
        return _Request(done, (buf, out), out)

    def p2p(self, ops):
        """Start ``(is_send, array, peer, tag)`` operations as one NCCL group (NCCL has no tags and no receive
        from any process); one request each, a receive's result being the received array."""
        calls, kept = [], []
        for is_send, array, peer, _tag in ops:
            if peer is None:
                raise DistributedError("backend 'nccl' cannot receive from any process: pass src (torch's "
                                       "ProcessGroupNCCL has no recvAnysource either)")
            buf = self._contiguous(array)
            calls.append(self._send(buf, peer) if is_send else self._recv(buf, peer))
            kept.append(buf)
        done = self._launch(*calls)
        return [_Request(done, (buf,), None if is_send else buf) for (is_send, *_), buf in zip(ops, kept)]

    def barrier(self):
        """A one-element all-reduce, then the host waits for it: a barrier is a sync the user asked for."""
        token = self.xp.zeros(1, self.xp.float32)
        request = self.all_reduce(token, ReduceOp.SUM)
        request._done.synchronize()
        return request
