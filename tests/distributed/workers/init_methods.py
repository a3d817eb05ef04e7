"""Run under ``mpiexec -n N``: every way a PyTorch program joins a CPU group works on lucid's MPI transport (no
backend, "gloo" with env://, tcp:// and store=, "mpi"), answers the backend name asked for, all-reduces and leaves;
a rank that disagrees with MPI's raises."""

import lucid
import lucid.distributed as dist

dist.init_process_group()  # no backend: "gloo", PyTorch's CPU backend
assert dist.get_backend() == "gloo"
rank, world = dist.get_rank(), dist.get_world_size()
dist.destroy_process_group()
ways = [((), {}, "gloo"), (("gloo", "env://"), {}, "gloo"),
        (("gloo", "tcp://127.0.0.1:1"), {"rank": rank, "world_size": world}, "gloo"),  # accepted, not used
        (("gloo",), {"store": dist.HashStore(), "rank": rank, "world_size": world}, "gloo"), (("mpi",), {}, "mpi")]
for args, kwargs, backend in ways:
    dist.init_process_group(*args, **kwargs)
    assert dist.get_backend() == backend and (dist.get_rank(), dist.get_world_size()) == (rank, world)
    t = lucid.tensor([float(rank + 1)])
    dist.all_reduce(t)
    assert t.item() == world * (world + 1) / 2, t.item()
    dist.destroy_process_group()
if world > 1:
    try:
        dist.init_process_group("gloo", rank=(rank + 1) % world, world_size=world)
    except dist.DistributedError as e:
        assert f"started this process with rank {rank}" in str(e), e
    else:
        raise AssertionError("a rank that disagrees with MPI's was accepted")
    assert not dist.is_initialized()
print(f"rank {rank}: init methods ok")
