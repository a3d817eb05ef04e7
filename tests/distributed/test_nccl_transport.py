"""The NCCL transport's gather, scatter, all-to-all, point-to-point and subgroup code, without a GPU.

A stand-in for CuPy (NumPy arrays that expose ``.data.ptr``) and for its NCCL module (a communicator whose
sends and receives copy bytes between the threads that play the ranks, run when the NCCL group ends) lets
three transports, one per thread, run the same calls as on GPUs: what is checked is lucid's part (offsets,
counts, peers, NCCL groups, results), not NCCL's.
"""

from __future__ import annotations

import ctypes
import queue
import sys
import threading
import types
from collections import defaultdict

import numpy as np
import pytest

from lucid.distributed.common import ReduceOp
from lucid.distributed.nccl import NcclTransport

WORLD = 3


class _DeviceArray(np.ndarray):
    """A NumPy array with CuPy's ``.data.ptr``."""

    @property
    def data(self):
        return types.SimpleNamespace(ptr=self.__array_interface__["data"][0])


def _dev(a):
    return np.asarray(a).view(_DeviceArray)


class _Event:
    done = True

    def record(self, stream=None):
        pass

    def synchronize(self):
        pass


class _Stream:
    ptr = 0

    def __init__(self, non_blocking=False):
        pass

    def wait_event(self, event):
        pass

    def synchronize(self):
        pass


_fabric = defaultdict(queue.Queue)  # (uid, src, dst) -> the byte strings sent from src to dst
_group = threading.local()


def _run_or_defer(op):
    if getattr(_group, "pending", None) is not None:
        _group.pending.append(op)
    else:
        op()


def _group_start():
    _group.pending = []


def _group_end():
    pending, _group.pending = _group.pending, None
    for op in sorted(pending, key=lambda op: op.is_recv):  # sends never block: post them first
        op()


class _Comm:
    """A fake NcclCommunicator: send/recv/bcast between the threads through ``_fabric``."""

    def __init__(self, size, uid, rank):
        self.size, self.uid, self.rank = size, uid, rank

    def _op(self, fn, is_recv):
        fn.is_recv = is_recv
        _run_or_defer(fn)

    def send(self, ptr, count, itemsize, peer, stream):
        def op():
            _fabric[self.uid, self.rank, peer].put(ctypes.string_at(ptr, count * itemsize))
        self._op(op, False)

    def recv(self, ptr, count, itemsize, peer, stream):
        def op():
            data = _fabric[self.uid, peer, self.rank].get(timeout=10)
            assert len(data) == count * itemsize, (len(data), count, itemsize)
            ctypes.memmove(ptr, data, len(data))
        self._op(op, True)

    def bcast(self, ptr, count, itemsize, root, stream):
        if self.rank == root:
            for r in range(self.size):
                if r != root:
                    self.send(ptr, count, itemsize, r, stream)
        else:
            self.recv(ptr, count, itemsize, root, stream)

    def destroy(self):
        pass


@pytest.fixture
def fake_cupy(monkeypatch):
    nccl = types.SimpleNamespace(
        NCCL_FLOAT32=4, NCCL_FLOAT64=8, NCCL_INT64=8, NCCL_UINT8=1, NCCL_SUM=0, NCCL_PROD=1, NCCL_MIN=2, NCCL_MAX=3,
        groupStart=_group_start, groupEnd=_group_end, NcclCommunicator=_Comm,
        get_unique_id=lambda: tuple(int(b) for b in np.random.default_rng().integers(-128, 128, 128)))
    cuda = types.SimpleNamespace(Event=lambda disable_timing=False: _Event(), Stream=_Stream,
                                 get_current_stream=lambda: _Stream(), nccl=nccl,
                                 runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
                                 Device=lambda index: types.SimpleNamespace(use=lambda: None))
    cupy = types.SimpleNamespace(
        cuda=cuda, int64=np.int64, uint8=np.uint8, float32=np.float32,
        empty=lambda shape, dtype=None: _dev(np.empty(shape, dtype)),
        zeros=lambda shape, dtype=None: _dev(np.zeros(shape, dtype)),
        asarray=lambda a, dtype=None: _dev(np.array(a, dtype)),
        ascontiguousarray=lambda a: _dev(np.ascontiguousarray(a)), reshape=np.reshape, asnumpy=np.asarray)
    for name, module in (("cupy", cupy), ("cupy.cuda", cuda), ("cupy.cuda.nccl", nccl)):
        monkeypatch.setitem(sys.modules, name, module)
    return cupy


def _on_every_rank(fn):
    """``fn(transport)`` on WORLD threads, one transport each; their results in rank order."""
    uid, results, errors = ("world",), [None] * WORLD, []

    def rank(r):
        try:
            results[r] = fn(NcclTransport(_Comm(WORLD, uid, r), r, WORLD, 0))
        except BaseException as e:  # reported by the test thread
            errors.append(e)

    threads = [threading.Thread(target=rank, args=(r,)) for r in range(WORLD)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    if errors:
        raise errors[0]
    return results


def _data(r, n=4, dtype=np.float32):
    return _dev((np.arange(n) + 10 * r).astype(dtype))


def _done(request):
    request.wait()
    return None if request.result() is None else np.asarray(request.result()).tolist()


def test_gather_and_scatter(fake_cupy):
    def run(t):
        gathered = _done(t.gather(_data(t.rank), dst=1))
        stacked = _dev(np.stack([_data(r) * 2 for r in range(WORLD)])) if t.rank == 2 else None
        return gathered, _done(t.scatter(stacked, _dev(np.zeros(4, np.float32)), src=2))

    results = _on_every_rank(run)
    assert [g for g, _ in results] == [None, [_data(r).tolist() for r in range(WORLD)], None]
    assert [s for _, s in results] == [(_data(r) * 2).tolist() for r in range(WORLD)]


def test_all_to_all_with_uneven_pieces(fake_cupy):
    def run(t):  # rank r sends r + i + 1 elements, valued 100 r + i, to rank i
        pieces = [np.full(t.rank + i + 1, 100.0 * t.rank + i) for i in range(WORLD)]
        return _done(t.all_to_all(_dev(np.concatenate(pieces)), [p.size for p in pieces],
                                  [i + t.rank + 1 for i in range(WORLD)]))

    for r, got in enumerate(_on_every_rank(run)):
        assert got == [v for i in range(WORLD) for v in [100.0 * i + r] * (i + r + 1)]


def test_point_to_point_ring_as_one_group_and_a_strided_receive(fake_cupy):
    def run(t):
        out = _dev(np.zeros((2, 3), np.float64)).T  # not contiguous: received into a copy, returned as the result
        requests = t.p2p([(False, out, (t.rank - 1) % WORLD, 0),
                          (True, _dev(np.arange(6.0).reshape(3, 2) + t.rank), (t.rank + 1) % WORLD, 0)])
        return [_done(r) for r in requests]

    for r, (received, sent) in enumerate(_on_every_rank(run)):
        assert received == (np.arange(6.0).reshape(3, 2) + (r - 1) % WORLD).tolist() and sent is None


def test_receive_from_any_process_is_refused(fake_cupy):
    from lucid.distributed import DistributedError

    t = NcclTransport(_Comm(1, ("alone",), 0), 0, 1, 0)
    with pytest.raises(DistributedError, match="cannot receive from any process"):
        t.p2p([(False, _dev(np.zeros(2, np.float32)), None, 0)])


def test_split_makes_a_communicator_for_the_members_only(fake_cupy):
    def run(t):
        sub = t.split([0, 2])
        if sub is None:
            return None
        return sub.rank, sub.world_size, _done(sub.gather(_data(t.rank), dst=0))

    results = _on_every_rank(run)
    assert results[1] is None
    assert results[0] == (0, 2, [_data(0).tolist(), _data(2).tolist()]) and results[2] == (1, 2, None)


def test_unsupported_reduction_and_dtype_raise(fake_cupy):
    from lucid.distributed import DistributedError

    t = NcclTransport(_Comm(1, ("alone",), 0), 0, 1, 0)
    with pytest.raises(DistributedError, match="no BAND reduction"):
        t._op(ReduceOp.BAND)
    with pytest.raises(DistributedError, match="cannot carry complex64"):
        t.p2p([(True, _dev(np.zeros(2, np.complex64)), 0, 0)])


def test_connect_shares_rank_zeros_nccl_id_through_the_rendezvous_store(fake_cupy, monkeypatch):
    from lucid.distributed import HashStore, PrefixStore

    monkeypatch.setenv("LOCAL_RANK", "0")
    store, made = HashStore(), [None] * WORLD

    def rank(r):
        made[r] = NcclTransport.connect(PrefixStore("default_pg/1", store), r, WORLD)

    threads = [threading.Thread(target=rank, args=(r,)) for r in reversed(range(WORLD))]  # others wait for rank 0
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [(t.rank, t.world_size) for t in made] == [(r, WORLD) for r in range(WORLD)]
    assert len({t.comm.uid for t in made}) == 1 and len(made[0].comm.uid) == 128
    assert store.check(["default_pg/1/nccl_id"])
