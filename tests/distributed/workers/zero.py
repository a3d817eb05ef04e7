"""Run under mpiexec, joining with backend LUCID_TEST_BACKEND ("mpi" by default, or "gloo"):
ZeroRedundancyOptimizer(Adam) + DDP equals Adam on the whole batch, with its state sharded."""

import os
import sys

import numpy as np

import lucid
import lucid.distributed as dist
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.distributed.optim import ZeroRedundancyOptimizer
from lucid.nn.parallel import DistributedDataParallel as DDP

BACKEND = os.environ.get("LUCID_TEST_BACKEND", "mpi")
dist.init_process_group(BACKEND)
rank, world = dist.get_rank(), dist.get_world_size()
f64, PER_RANK = lucid.float64, 3


def net():
    lucid.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8, dtype=f64), nn.Tanh(), nn.Linear(8, 8, dtype=f64), nn.Tanh(),
                         nn.Linear(8, 2, dtype=f64))


def data(step):
    g = np.random.default_rng(step)
    return (lucid.tensor(g.standard_normal((world * PER_RANK, 4)), dtype=f64),
            lucid.tensor(g.standard_normal((world * PER_RANK, 2)), dtype=f64))


def train_step(model, opt, step, whole=False):
    x, y = data(step)
    if not whole:
        x, y = x[rank * PER_RANK:(rank + 1) * PER_RANK], y[rank * PER_RANK:(rank + 1) * PER_RANK]
    opt.zero_grad()
    F.mse_loss(model(x), y).backward()
    opt.step()


local, reference = net(), net()
model = DDP(local)
zero = ZeroRedundancyOptimizer(model.parameters(), lucid.optim.Adam, lr=0.01)
adam = lucid.optim.Adam(reference.parameters(), lr=0.01)
scheduler = lucid.optim.lr_scheduler.StepLR(zero, step_size=1, gamma=0.5)
ref_scheduler = lucid.optim.lr_scheduler.StepLR(adam, step_size=1, gamma=0.5)
for step in range(3):
    train_step(model, zero, step)
    train_step(reference, adam, step, whole=True)
    scheduler.step()
    ref_scheduler.step()
for a, b in zip(local.parameters(), reference.parameters()):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-12)

# the state is sharded: each rank holds its own parameters' state, together all of them, each once
params = list(local.parameters())
held = [None] * world
dist.all_gather_object(held, sorted(i for i, p in enumerate(params) if p in zero.local_state))
flat = sorted(i for shard in held for i in shard)
assert flat == list(range(len(params))), held
assert world == 1 or all(len(shard) < len(params) for shard in held), held

# consolidate on rank 0, hand the full dict to every rank, load into a fresh ZeRO: training goes on identically
try:
    zero.state_dict()
    raise AssertionError("state_dict() before consolidate_state_dict() must raise")
except dist.DistributedError as e:
    assert "consolidate_state_dict" in str(e)
zero.consolidate_state_dict(to=0)
full = [zero.state_dict() if rank == 0 else None]
dist.broadcast_object_list(full, src=0)
assert sorted(full[0]["state"]) == list(range(len(params)))
twin_model = net()
with lucid.no_grad():
    for a, b in zip(twin_model.parameters(), local.parameters()):
        a.copy_(b)
twin_ddp = DDP(twin_model)
twin = ZeroRedundancyOptimizer(twin_ddp.parameters(), lucid.optim.Adam, lr=0.01)
twin.load_state_dict(full[0])
assert twin.param_groups[0]["lr"] == zero.param_groups[0]["lr"] == 0.01 * 0.5 ** 3
train_step(model, zero, 3)
train_step(twin_ddp, twin, 3)
for a, b in zip(local.parameters(), twin_model.parameters()):
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
dist.destroy_process_group()
sys.stdout.write(f"rank {rank}: zero ok\n")
