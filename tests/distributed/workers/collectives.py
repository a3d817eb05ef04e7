"""Run under mpiexec, joining with backend LUCID_TEST_BACKEND ("mpi" by default, or "gloo"):
every collective, op and dtype against a NumPy reference built from all ranks' inputs."""

import os

import numpy as np

import lucid
import lucid.distributed as dist

BACKEND = os.environ.get("LUCID_TEST_BACKEND", "mpi")
dist.init_process_group(BACKEND)
rank, world = dist.get_rank(), dist.get_world_size()

DTYPES = ["float32", "float64", "float16", "int64", "int32", "uint8", "bool"]
NUMPY_OPS = {dist.ReduceOp.SUM: np.sum, dist.ReduceOp.PRODUCT: np.prod, dist.ReduceOp.MIN: np.min,
             dist.ReduceOp.MAX: np.max, dist.ReduceOp.AVG: np.mean,
             dist.ReduceOp.BAND: np.bitwise_and.reduce, dist.ReduceOp.BOR: np.bitwise_or.reduce,
             dist.ReduceOp.BXOR: np.bitwise_xor.reduce}


def inputs(r, dtype, shape=(3, 4)):
    """Rank r's input (every rank can build every rank's)."""
    g = np.random.default_rng(100 + r)
    if dtype == "bool":
        return g.random(shape) < 0.5
    if dtype in ("int64", "int32", "uint8"):
        return g.integers(1, 4, shape).astype(dtype)
    return (g.random(shape) + 0.5).astype(dtype)


def applies(op, dtype):
    if op is dist.ReduceOp.PREMUL_SUM:
        return False  # needs a factor: tested in workers/p2p_and_groups.py
    if op is dist.ReduceOp.AVG:
        return dtype.startswith("float")
    if op in (dist.ReduceOp.BAND, dist.ReduceOp.BOR, dist.ReduceOp.BXOR):
        return not dtype.startswith("float") and dtype != "bool"
    return True


def reference(op, dtype, shape=(3, 4)):
    stacked = np.stack([inputs(r, dtype, shape) for r in range(world)])
    if dtype == "bool":
        return (stacked.all(0) if op in (dist.ReduceOp.PRODUCT, dist.ReduceOp.MIN) else stacked.any(0))
    wide = stacked.astype(np.float64) if dtype == "float16" else stacked
    return NUMPY_OPS[op](wide, axis=0).astype(dtype)


def close(got, want, dtype):
    tol = {"float16": 2e-3, "float32": 1e-6}.get(dtype, 1e-12)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if dtype.startswith("float"):
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol)
    else:
        np.testing.assert_array_equal(got, want)


checked = 0
for dtype in DTYPES:
    for op in dist.ReduceOp:
        if not applies(op, dtype):
            continue
        for async_op in (False, True):
            t = lucid.tensor(inputs(rank, dtype))
            version = t._version[0]
            work = dist.all_reduce(t, op=op, async_op=async_op)
            if async_op:
                work.wait()
                assert work.is_completed()
            close(t.numpy(), reference(op, dtype), dtype)
            assert t._version[0] == version + 1
            # a non-contiguous view reduces in place into its base
            base = lucid.tensor(np.zeros((4, 3), dtype=dtype))
            view = base.T
            view.copy_(lucid.tensor(inputs(rank, dtype)))
            dist.all_reduce(view, op=op)
            close(base.numpy().T, reference(op, dtype), dtype)
            # reduce: only dst holds the result
            t = lucid.tensor(inputs(rank, dtype))
            work = dist.reduce(t, dst=world - 1, op=op, async_op=async_op)
            if async_op:
                work.wait()
            close(t.numpy(), reference(op, dtype) if rank == world - 1 else inputs(rank, dtype), dtype)
            # reduce_scatter_tensor: block `rank` of the reduction, from concatenated and stacked inputs
            full = reference(op, dtype, (2 * world, 3))
            out = lucid.tensor(np.zeros((2, 3), dtype=dtype))
            work = dist.reduce_scatter_tensor(out, lucid.tensor(inputs(rank, dtype, (2 * world, 3))), op=op,
                                              async_op=async_op)
            if async_op:
                work.wait()
            close(out.numpy(), full[2 * rank:2 * rank + 2], dtype)
            checked += 1
    # broadcast from the last rank, all_gather, all_gather_into_tensor (concatenated and stacked)
    for src in range(world):
        t = lucid.tensor(inputs(rank, dtype))
        dist.broadcast(t, src=src)
        close(t.numpy(), inputs(src, dtype), dtype)
    outs = [lucid.tensor(np.zeros((3, 4), dtype=dtype)) for _ in range(world)]
    dist.all_gather(outs, lucid.tensor(inputs(rank, dtype)))
    for r in range(world):
        close(outs[r].numpy(), inputs(r, dtype), dtype)
    cat = lucid.tensor(np.zeros((3 * world, 4), dtype=dtype))
    dist.all_gather_into_tensor(cat, lucid.tensor(inputs(rank, dtype)), async_op=True).wait()
    close(cat.numpy(), np.concatenate([inputs(r, dtype) for r in range(world)]), dtype)
    stack = lucid.tensor(np.zeros((world, 3, 4), dtype=dtype))
    dist.all_gather_into_tensor(stack, lucid.tensor(inputs(rank, dtype)))
    close(stack.numpy(), np.stack([inputs(r, dtype) for r in range(world)]), dtype)

objects = [{"rank": rank}, f"from {rank}", None]
dist.broadcast_object_list(objects, src=world - 1)
assert objects == [{"rank": world - 1}, f"from {world - 1}", None], objects
gathered = [None] * world
dist.all_gather_object(gathered, (rank, "x" * rank))
assert gathered == [(r, "x" * r) for r in range(world)], gathered
dist.barrier()
dist.barrier(async_op=True).wait()
dist.destroy_process_group()
assert not dist.is_initialized()
print(f"rank {rank}: {checked} reductions ok")
