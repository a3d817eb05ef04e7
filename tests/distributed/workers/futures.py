"""Work.get_future() and a torch-style DDP comm hook, on 3 processes.

``mpiexec -n 3 python futures.py OUTDIR`` runs it on lucid (backend "mpi") plus lucid-only checks (reduce_scatter,
all_gather_into_tensor, gather, point-to-point futures, which torch's gloo has no future for; that neither
get_future() nor then() blocks); ``python futures.py OUTDIR torch RANK 3 PORT`` runs the shared part on
torch.distributed's gloo backend. Every rank asserts the futures' values and writes them, with the parameters DDP
trained, to OUTDIR/rankR.json for the test to compare with torch's.
"""

import json

import numpy as np
from both import LUCID, OUTDIR, F, dist, f64, lib, module, nn

default_hooks = module("distributed.algorithms.ddp_comm_hooks").default_hooks
DDP = module("nn.parallel").DistributedDataParallel
rank, world = dist.get_rank(), dist.get_world_size()
assert world == 3, "futures.py runs on 3 processes"
seen = {}


def filled(value, n=2):
    return lib.full((n,), float(value), dtype=f64)


def same_tensors(values, tensors):
    """The future's value is the list of the collective's own output tensors (not copies)."""
    return len(values) == len(tensors) and all(v is t for v, t in zip(values, tensors))


# ---- values: the output tensors, as torch's gloo gives them --------------------------------------------------------
t = filled(rank + 1)
work = dist.all_reduce(t, async_op=True)
future = work.get_future()
assert same_tensors(future.wait(), [t]) and same_tensors(future.value(), [t])
assert work.wait() and same_tensors(work.result(), [t]) and work.exception() is None  # torch: wait() first
seen["all_reduce"] = future.value()[0].tolist()  # 1 + 2 + 3

t = filled(rank + 1)
future = dist.broadcast(t, src=1, async_op=True).get_future()
assert same_tensors(future.wait(), [t])
seen["broadcast"] = t.tolist()

outputs = [filled(0) for _ in range(world)]
future = dist.all_gather(outputs, filled(10 * rank), async_op=True).get_future()
assert same_tensors(future.wait(), outputs)
seen["all_gather"] = [o.tolist() for o in outputs]

seen["barrier"] = dist.barrier(async_op=True).get_future().wait()

# ---- then(): chained callbacks see their completed parent; a failing one fails its future -------------------------
future = dist.all_reduce(filled(rank + 1), async_op=True).get_future()
chained = future.then(lambda f: f.value()[0] * 2).then(lambda f: f.value() + 1)
seen["then"] = chained.wait().tolist()  # 6 * 2 + 1
failing = dist.all_reduce(filled(1), async_op=True).get_future().then(lambda f: f.value()[5])
try:
    failing.wait()
    raise AssertionError("expected a failing then() callback to fail its future")
except RuntimeError as e:
    seen["then error"] = type(e).__name__


# ---- DDP with a comm hook written for torch, against the default hook and DDP's own averaging --------------------
def torch_style_hook(state, bucket):
    n = dist.get_world_size(state)
    return dist.all_reduce(bucket.buffer(), group=state, async_op=True).get_future().then(lambda f: f.value()[0] / n)


def train(hook):
    """Three SGD steps of DDP (buckets of a few parameters) from the same seed on each rank's data; the parameters."""
    lib.manual_seed(0)
    g = np.random.default_rng(7)
    net = nn.Sequential(nn.Linear(4, 6, dtype=f64), nn.Tanh(), nn.Linear(6, 3, dtype=f64))
    with lib.no_grad():
        for p in net.parameters():
            p.copy_(lib.tensor(g.standard_normal(tuple(p.shape)) * 0.5, dtype=f64))
    model = DDP(net, bucket_cap_mb=1e-4)
    if hook is not None:
        model.register_comm_hook(None, hook)
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(3):
        d = np.random.default_rng(100 * step + rank)
        x, y = lib.tensor(d.standard_normal((2, 4)), dtype=f64), lib.tensor(d.standard_normal((2, 3)), dtype=f64)
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()
    return np.concatenate([p.detach().reshape(-1).numpy() for p in net.parameters()])


custom, default, plain = train(torch_style_hook), train(default_hooks.allreduce_hook), train(None)
np.testing.assert_allclose(custom, default, rtol=1e-12, atol=1e-14)
np.testing.assert_allclose(custom, plain, rtol=1e-12, atol=1e-14)
seen["torch-style hook params"] = custom.tolist()

# ---- lucid only ----------------------------------------------------------------------------------------------------
if LUCID:
    # torch's gloo has no future for these; lucid gives NCCL's one-output value
    out = filled(0)
    future = dist.reduce_scatter(out, [filled(rank + i) for i in range(world)], async_op=True).get_future()
    assert same_tensors(future.wait(), [out]) and out.tolist() == [3.0 + 3 * rank] * 2, out
    big = filled(0, 2 * world)
    future = dist.all_gather_into_tensor(big, filled(rank), async_op=True).get_future()
    assert same_tensors(future.wait(), [big]) and big.tolist() == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0], big
    gathered = [filled(0) for _ in range(world)] if rank == 0 else None
    future = dist.gather(filled(rank), gathered, dst=0, async_op=True).get_future()
    assert same_tensors(future.wait(), gathered or [])
    # neither get_future() nor then() waits: rank 1 sends only after rank 0 has chained on its irecv and sent
    box, token = filled(0, 1), filled(5, 1)
    if rank == 0:
        work = dist.irecv(box, src=1)
        chained = work.get_future().then(lambda f: f.value()[0] + 1)
        assert not chained.done()
        try:
            work.result()
            raise AssertionError("expected result() of an unfinished Work to raise")
        except RuntimeError as e:
            assert "call wait() before result()" in str(e), e
        dist.send(token, dst=1)
        assert chained.wait().tolist() == [6.0] and same_tensors(work.result(), [box])
    elif rank == 1:
        dist.recv(box, src=0)
        dist.send(box, dst=0)
    # a Work waited on before get_future() gives a completed future
    work = dist.all_reduce(filled(1), async_op=True)
    work.wait()
    assert work.get_future().done() and work.get_future().value()[0].tolist() == [3.0, 3.0]

(OUTDIR / f"rank{rank}.json").write_text(json.dumps(seen))
print(f"rank {rank}: futures ok", flush=True)
dist.destroy_process_group()
