"""Point-to-point transfers, gather/scatter/all-to-all, subgroups and object collectives, on every rank.

``mpiexec -n N python p2p_and_groups.py OUTDIR`` runs it on lucid (backend "mpi", or "gloo" with
LUCID_TEST_BACKEND=gloo: the same MPI transport under PyTorch's CPU backend name) and also checks lucid-only
behaviour (PREMUL_SUM, views, version counters, messages, monitored_barrier's timeout);
``python p2p_and_groups.py OUTDIR torch RANK WORLD PORT`` runs the shared part on torch.distributed's gloo
backend. Each rank writes what it saw to OUTDIR/rankR.json, and the test compares lucid's with torch's.
"""

import datetime
import json
import time
import warnings

import numpy as np
from both import BACKEND, LUCID, OUTDIR, dist, lib

rank, world = dist.get_rank(), dist.get_world_size()
nxt, prv = (rank + 1) % world, (rank - 1) % world
seen = {}


def outcome(fn, *args, **kwargs):
    """What calling ``fn`` did: "ok" or the kind of error (DistributedError is a RuntimeError, as torch's)."""
    try:
        fn(*args, **kwargs)
    except (ValueError, TypeError, RuntimeError) as e:
        return next(k.__name__ for k in (ValueError, TypeError, RuntimeError) if isinstance(e, k))
    return "ok"


def vec(r, n=4, dtype="float32"):
    """Rank r's data (every rank can build every rank's)."""
    return lib.tensor((np.arange(n) + 10 * r).astype(dtype))


# ---- send / recv / isend / irecv ----------------------------------------------------------------------------
if world > 1:
    for dtype in ("float32", "float64", "float16", "int64", "uint8", "bool"):
        got = lib.tensor(np.zeros(3, dtype))
        if rank % 2 == 0:
            dist.send(vec(rank, 3, dtype), dst=nxt)
            sender = dist.recv(got, src=prv)
        else:
            sender = dist.recv(got, src=prv)
            dist.send(vec(rank, 3, dtype), dst=nxt)
        seen[f"ring {dtype}"] = [sender, got.tolist()]
    # tags: two messages to the next rank, received in the other order
    a, b = lib.zeros(2), lib.zeros(2)
    sends = [dist.isend(lib.full((2,), float(rank)), dst=nxt, tag=1),
             dist.isend(lib.full((2,), rank + 0.5), dst=nxt, tag=2)]
    recvs = [dist.irecv(b, src=prv, tag=2), dist.irecv(a, src=prv, tag=1)]
    for w in recvs + sends:
        w.wait()
    seen["tags"] = [a.tolist(), b.tolist(), all(w.is_completed() for w in recvs + sends)]
    # receive from any process: rank 0 hears from every other rank (a tag of their own: other messages to rank 0
    # may already be on their way)
    if rank == 0:
        senders = []
        for _ in range(world - 1):
            got = lib.zeros(4)
            senders.append([dist.recv(got, tag=7), got.tolist()])
        seen["any source"] = sorted(senders)
    else:
        dist.send(vec(rank), dst=0, tag=7)
seen["send to self"] = outcome(dist.send, vec(rank), dst=rank)
seen["send without dst"] = outcome(dist.send, vec(rank))

# ---- batch_isend_irecv: a ring, receives listed first ------------------------------------------------------
got = lib.zeros(4, dtype=lib.float64)
ops = [dist.P2POp(dist.irecv, got, prv), dist.P2POp(dist.isend, vec(rank, dtype="float64"), nxt)]
works = dist.batch_isend_irecv(ops)
for w in works:
    w.wait()
seen["batch ring"] = [len(works), got.tolist()]
seen["P2POp(send)"] = outcome(dist.P2POp, dist.send, got, nxt)
seen["batch of non-P2POps"] = outcome(dist.batch_isend_irecv, [1])

# ---- gather / scatter --------------------------------------------------------------------------------------
root = world - 1
for async_op in (False, True):
    bins = [lib.zeros(4) for _ in range(world)] if rank == root else None
    work = dist.gather(vec(rank), bins, dst=root, async_op=async_op)
    if async_op:
        work.wait()
    seen[f"gather async={async_op}"] = None if bins is None else [b.tolist() for b in bins]
    mine = lib.zeros(4)
    work = dist.scatter(mine, [vec(r) * 2 for r in range(world)] if rank == root else None, src=root,
                        async_op=async_op)
    if async_op:
        work.wait()
    seen[f"scatter async={async_op}"] = mine.tolist()
bins = [lib.zeros(4) for _ in range(world)] if rank == 0 else None
dist.gather(vec(rank), bins)  # dst defaults to global rank 0
seen["gather default dst"] = None if bins is None else [b.tolist() for b in bins]
if rank == root:
    seen["gather without list on dst"] = outcome(dist.gather, vec(rank), None, dst=root)
    seen["gather wrong count"] = outcome(dist.gather, vec(rank), [lib.zeros(4)] * (world + 1), dst=root)
    seen["gather wrong shape"] = outcome(dist.gather, vec(rank), [lib.zeros(3)] * world, dst=root)
    seen["gather wrong dtype"] = outcome(dist.gather, vec(rank), [lib.zeros(4, dtype=lib.float64)] * world, dst=root)
    seen["scatter without list on src"] = outcome(dist.scatter, lib.zeros(4), None, src=root)
else:
    seen["gather list on non-dst"] = outcome(dist.gather, vec(rank), [lib.zeros(4)] * world, dst=root)
    seen["scatter list on non-src"] = outcome(dist.scatter, lib.zeros(4), [lib.zeros(4)] * world, src=root)

# ---- reduce_scatter (list), all_to_all, all_to_all_single -------------------------------------------------
out = lib.zeros(3)
dist.reduce_scatter(out, [vec(rank, 3) + i for i in range(world)])
seen["reduce_scatter"] = out.tolist()
out = lib.zeros(3, dtype=lib.float64)
dist.reduce_scatter(out, [vec(rank, 3, "float64") * (i + 1) for i in range(world)], op=dist.ReduceOp.MAX,
                    async_op=True).wait()
seen["reduce_scatter max async"] = out.tolist()
outs = [lib.zeros(3) for i in range(world)]
dist.all_to_all(outs, [lib.full((3,), 100.0 * rank + i) for i in range(world)])
seen["all_to_all"] = [o.tolist() for o in outs]
out = lib.zeros(2 * world, dtype=lib.int64)
dist.all_to_all_single(out, lib.arange(2 * world) + 100 * rank)
seen["all_to_all_single"] = out.tolist()
rows_in = sum(range(1, world + 1))
out = lib.zeros((world * (rank + 1), 2))
rows = lib.tensor(np.arange(2 * rows_in, dtype="float32").reshape(rows_in, 2) + 1000 * rank)
work = dist.all_to_all_single(out, rows,
                              output_split_sizes=[rank + 1] * world, input_split_sizes=list(range(1, world + 1)),
                              async_op=True)
work.wait()
seen["all_to_all_single splits"] = out.tolist()
seen["all_to_all_single splits per process"] = outcome(dist.all_to_all_single, lib.zeros(world), lib.zeros(world),
                                                       input_split_sizes=[1] * (world + 1))

# ---- subgroups ---------------------------------------------------------------------------------------------
evens = dist.new_group(list(range(0, world, 2))[::-1])  # sorted by new_group
backwards = dist.new_group(list(range(world))[::-1], sort_ranks=False)
seen["evens"] = [dist.get_rank(evens), dist.get_world_size(evens)]
seen["backwards"] = [dist.get_rank(backwards), dist.get_process_group_ranks(backwards),
                     dist.get_global_rank(backwards, 0), dist.get_group_rank(backwards, 0)]
seen["world queries"] = [dist.get_rank(dist.group.WORLD), dist.get_process_group_ranks(dist.group.WORLD),
                         dist.get_group_rank(dist.group.WORLD, world - 1), dist.GroupMember.WORLD is dist.group.WORLD]
t = vec(rank)
dist.all_reduce(t, group=backwards)
seen["all_reduce backwards"] = t.tolist()
t = vec(rank)
dist.broadcast(t, group_src=0, group=backwards)  # group rank 0 is the last global rank
seen["broadcast group_src"] = t.tolist()
seen["src and group_src"] = outcome(dist.broadcast, t, src=0, group_src=0, group=backwards)
if rank % 2 == 0:
    last_even = dist.get_process_group_ranks(evens)[-1]
    seen["evens ranks"] = [dist.get_process_group_ranks(evens), dist.get_global_rank(evens, 0),
                           dist.get_group_rank(evens, last_even)]
    t = vec(rank)
    dist.all_reduce(t, group=evens, op=dist.ReduceOp.MAX)
    seen["all_reduce evens"] = t.tolist()
    t = vec(rank)
    dist.broadcast(t, src=last_even, group=evens)
    seen["broadcast evens"] = t.tolist()
    bins = [lib.zeros(4) for _ in range(dist.get_world_size(evens))] if rank == 0 else None
    dist.gather(vec(rank), bins, dst=0, group=evens)
    seen["gather evens"] = None if bins is None else [b.tolist() for b in bins]
    objs = [None] * dist.get_world_size(evens)
    dist.all_gather_object(objs, {"rank": rank}, group=evens)
    seen["all_gather_object evens"] = objs
    if world > 2:
        seen["src outside the group"] = outcome(dist.broadcast, t, src=1, group=evens)
        seen["global rank outside the group"] = outcome(dist.get_group_rank, evens, 1)
        if rank in (0, 2):  # group ranks 0 and 1 of evens exchange through group_dst/group_src
            got = lib.zeros(4)
            if rank == 0:
                dist.send(vec(rank), group_dst=1, group=evens)
            else:
                seen["recv in group"] = [dist.recv(got, group_src=0, group=evens), got.tolist()]
else:
    seen["non-member"] = [dist.get_rank(evens), dist.get_world_size(evens), evens == dist.GroupMember.NON_GROUP_MEMBER]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = vec(rank)
        seen["non-member all_reduce"] = [dist.all_reduce(t, group=evens), t.tolist()]
    seen["non-member warning"] = [str(w.message) for w in caught]
seen["duplicate ranks"] = outcome(dist.new_group, [0, 0])
seen["rank out of range"] = outcome(dist.new_group, [0, world])

# ---- object collectives ------------------------------------------------------------------------------------
objs = [{"from": rank}, "x" * rank] if rank == root else [None, None]
dist.broadcast_object_list(objs, src=root)
seen["broadcast_object_list"] = objs
gathered = [None] * world if rank == root else None
dist.gather_object(("r", rank, "y" * 3 * rank), gathered, dst=root)
seen["gather_object"] = gathered
mine = [None]
dist.scatter_object_list(mine, [{"to": r, "pad": "z" * r} for r in range(world)] if rank == root else None, src=root)
seen["scatter_object_list"] = mine
if world > 1:
    if rank == 0:
        dist.send_object_list([1, "two", {"three": 3.0}], dst=world - 1)
    elif rank == world - 1:
        objs = [None] * 3
        seen["recv_object_list"] = [dist.recv_object_list(objs, src=0), objs]
seen["scatter_object_list empty output"] = outcome(dist.scatter_object_list, [], None, src=root)
seen["send_object_list without dst"] = outcome(dist.send_object_list, [1])
seen["recv_object_list without src"] = outcome(dist.recv_object_list, [1])
if rank != root:
    seen["gather_object list on non-dst"] = outcome(dist.gather_object, 1, [None] * world, dst=root)

# ---- barriers ----------------------------------------------------------------------------------------------
dist.monitored_barrier(timeout=datetime.timedelta(seconds=60))
dist.monitored_barrier(group=backwards, timeout=datetime.timedelta(seconds=60), wait_all_ranks=True)
t = vec(rank)
dist.all_reduce(t, op=dist.ReduceOp.AVG)
seen["avg"] = t.tolist()

# ---- lucid only: what torch's gloo backend does not have, or does not check ------------------------------------
if LUCID:
    def expected(r, n=4):
        return (np.arange(n) + 10 * r).astype("float32")

    # isend / irecv to oneself (torch allows it, its gloo backend does not connect a process to itself)
    got = lib.zeros(4)
    works = [dist.irecv(got, src=rank), dist.isend(vec(rank), dst=rank)]
    for w in works:
        w.wait()
    assert got.tolist() == expected(rank).tolist()
    # all_to_all with pieces of different sizes (gloo wants one size)
    outs = [lib.zeros(i + rank + 1) for i in range(world)]
    dist.all_to_all(outs, [lib.full((rank + i + 1,), 100.0 * rank + i) for i in range(world)], async_op=True).wait()
    assert [o.tolist() for o in outs] == [[100.0 * i + rank] * (i + rank + 1) for i in range(world)]
    # a non-contiguous receiving view is written through to its base; version counters move
    base = lib.zeros((2, 2))
    version = base._version[0]
    works = [dist.irecv(base.T, src=rank), dist.isend(lib.tensor([[1.0, 2.0], [3.0, 4.0]]), dst=rank)]
    for w in works:
        w.wait()
    assert base.tolist() == [[1.0, 3.0], [2.0, 4.0]] and base._version[0] > version, base.tolist()
    # PREMUL_SUM with a number and with a tensor factor, in all_reduce, reduce and reduce_scatter
    for factor in (2.5, lib.tensor([2.5], dtype=lib.float64)):
        t = vec(rank)
        dist.all_reduce(t, op=dist._make_nccl_premul_sum(factor))
        np.testing.assert_allclose(t.numpy(), 2.5 * sum(expected(r) for r in range(world)), rtol=1e-6)
        assert t.dtype is lib.float32
        t = vec(rank)
        dist.reduce(t, dst=0, op=dist._make_nccl_premul_sum(factor))
        np.testing.assert_allclose(t.numpy(), 2.5 * sum(expected(r) for r in range(world)) if rank == 0
                                   else expected(rank), rtol=1e-6)
        out = lib.zeros(2)
        dist.reduce_scatter(out, [vec(rank, 2)] * world, op=dist._make_nccl_premul_sum(factor))
        np.testing.assert_allclose(out.numpy(), 2.5 * sum(expected(r, 2) for r in range(world)), rtol=1e-6)
    assert outcome(dist.all_reduce, vec(rank), op=dist.ReduceOp.PREMUL_SUM) == "TypeError"
    assert outcome(dist.all_reduce, lib.tensor([1, 2]), op=dist._make_nccl_premul_sum(2.0)) == "TypeError"
    assert outcome(dist.all_reduce, vec(rank), op=dist._make_nccl_premul_sum(lib.ones(2))) == "ValueError"
    def message(fn, *args, **kwargs):
        """The message of the error that calling ``fn`` raises."""
        try:
            fn(*args, **kwargs)
        except (ValueError, TypeError, RuntimeError) as e:
            return str(e)
        raise AssertionError(f"{fn.__name__}{args} did not raise")

    # recv of a message of the wrong size raises on the receiver
    if rank == 0 and world > 1:
        dist.send(lib.ones(3), dst=1)
    elif rank == 1:
        assert "has 12 bytes, the receiving tensor 20" in message(dist.recv, lib.zeros(5), src=0)
    # the messages name the problem
    for fn, args, kwargs, fragment in [
        (dist.send, (vec(rank),), {"dst": rank}, "should not be the same"),
        (dist.isend, (vec(rank),), {"dst": world}, f"dst={world} is not a rank of this world"),
        (dist.isend, (vec(rank),), {"dst": 0, "tag": -1}, "tag must be a non-negative int"),
        (dist.all_to_all_single, (lib.zeros(world, 2), lib.zeros(world, 3)), {}, "same sizes beyond dim 0"),
        (dist.all_to_all_single, (lib.zeros(2 * world), lib.zeros(2 * world)), {"input_split_sizes": [3] * world},
         "adding up to input's"),
        (dist.all_to_all, ([lib.zeros(1)] * world, [lib.zeros(1, dtype=lib.int64)] * world), {}, "same dtype"),
        (dist.reduce_scatter, (lib.zeros(2), [lib.zeros(3)] * world), {}, "must match"),
        (dist.batch_isend_irecv, ([],), {}, "empty"),
        (dist.new_group, ([0],), {"backend": "nccl"}, "default group's backend"),
        (dist.get_process_group_ranks, (dist.GroupMember.NON_GROUP_MEMBER,), {}, "not a member"),
        (dist.recv_object_list, ([None],), {"src": rank}, "Invalid source rank"),
    ] + ([(dist.all_to_all_single, (lib.zeros(world + 1), lib.zeros(world + 1)), {}, "cannot share equally")]
         if world > 1 else []):
        assert fragment in message(fn, *args, **kwargs), (fragment, message(fn, *args, **kwargs))
    # group.WORLD and the backend queries
    assert dist.get_backend(evens if rank % 2 == 0 else None) == BACKEND
    assert dist.is_gloo_available() and dist.is_backend_available("gloo") and dist.is_backend_available("mpi")
    assert not dist.is_backend_available("ucc")
    # monitored_barrier names the late rank(s) on rank 0; the late ones are not released
    if world > 1:
        late = dist.new_group()
        if rank != 0:
            time.sleep(0.5)
        want = f"Ranks {', '.join(map(str, range(1, world)))} failed" if rank == 0 else "did not release"
        assert want in message(dist.monitored_barrier, group=late, timeout=0.2, wait_all_ranks=True)
        dist.barrier()
        dist.destroy_process_group(late)
        assert outcome(dist.all_reduce, vec(rank), group=late) == "RuntimeError"  # destroyed
    dist.destroy_process_group()
    assert dist.group.WORLD is None and not dist.is_initialized()
else:
    dist.destroy_process_group()
(OUTDIR / f"rank{rank}.json").write_text(json.dumps(seen))
print(f"rank {rank}: p2p and groups ok")
