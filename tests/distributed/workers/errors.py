"""Run under mpiexec, joining with backend LUCID_TEST_BACKEND ("mpi" by default, or "gloo"):
wrong use of the collectives raises clear errors, on every rank, and changes nothing."""

import os

import numpy as np

import lucid
import lucid.distributed as dist


def raises(exc, fragment, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc as e:
        assert fragment in str(e), (fragment, str(e))
        return
    raise AssertionError(f"{fn.__name__} did not raise {exc.__name__}")


t = lucid.tensor([1.0, 2.0])
raises(dist.DistributedError, "not initialised", dist.all_reduce, t)
raises(dist.DistributedError, "not initialised", dist.get_rank)
raises(ValueError, "unknown distributed backend", dist.init_process_group, "ucc")
BACKEND = os.environ.get("LUCID_TEST_BACKEND", "mpi")
dist.init_process_group(BACKEND)
rank, world = dist.get_rank(), dist.get_world_size()
assert dist.get_backend() == BACKEND and dist.is_initialized()
raises(dist.DistributedError, "already initialised", dist.init_process_group, BACKEND)

raises(TypeError, "lucid Tensors", dist.all_reduce, np.ones(2))
raises(TypeError, "ReduceOp", dist.all_reduce, t, op="sum")
raises(TypeError, "AVG needs a floating tensor", dist.all_reduce, lucid.tensor([1, 2]), op=dist.ReduceOp.AVG)
raises(TypeError, "BXOR needs an integer", dist.all_reduce, t, op=dist.ReduceOp.BXOR)
raises(dist.DistributedError, "src=99", dist.broadcast, t, src=99)
raises(TypeError, "group must be a ProcessGroup", dist.all_reduce, t, group="pairs")
raises(dist.DistributedError, f"the group has {world}", dist.all_gather, [t] * (world + 1), t)
raises(dist.DistributedError, "must match", dist.all_gather, [lucid.zeros(3)] * world, t)
raises(dist.DistributedError, "must be", dist.all_gather_into_tensor, lucid.zeros(world * 2 + 1), t)
raises(dist.DistributedError, "must be", dist.reduce_scatter_tensor, lucid.zeros(3), lucid.zeros(world * 2))
assert t.tolist() == [1.0, 2.0]  # nothing was sent or written
dist.barrier()
dist.destroy_process_group()
print(f"rank {rank}: errors ok")
