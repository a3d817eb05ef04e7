"""Run under mpiexec, joining with backend LUCID_TEST_BACKEND ("mpi" by default, or "gloo"):
differentiable collectives, and SyncBatchNorm + DDP equal to BatchNorm on the whole batch."""

import os
import sys

import numpy as np

import lucid
import lucid.distributed as dist
import lucid.distributed.nn.functional as dfn
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.nn.parallel import DistributedDataParallel as DDP

BACKEND = os.environ.get("LUCID_TEST_BACKEND", "mpi")
dist.init_process_group(BACKEND)
rank, world = dist.get_rank(), dist.get_world_size()
f64 = lucid.float64

# all_reduce: every rank's loss depends on every x_r, so d(sum of losses)/dx_r = world * w * 2 x_r on rank r
x = lucid.tensor(np.arange(3.0) + rank, dtype=f64, requires_grad=True)
w = lucid.tensor([1.0, -2.0, 0.5], dtype=f64)
y = dfn.all_reduce(x * x)
np.testing.assert_allclose(y.detach().numpy(), sum((np.arange(3.0) + r) ** 2 for r in range(world)))
(y * w).sum().backward()
np.testing.assert_allclose(x.grad.numpy(), world * w.numpy() * 2 * (np.arange(3.0) + rank))
assert x.tolist() == list(np.arange(3.0) + rank)  # the input is left alone
# all_gather: d(sum_r c_r . gathered_r)/dx_r = world * c_r
x = lucid.tensor(np.full(2, float(rank)), dtype=f64, requires_grad=True)
gathered = dfn.all_gather(x)
assert [g.tolist() for g in gathered] == [[float(r)] * 2 for r in range(world)]
sum(((r + 1.0) * g).sum() for r, g in enumerate(gathered)).backward()
np.testing.assert_allclose(x.grad.numpy(), np.full(2, world * (rank + 1.0)))

# SyncBatchNorm in DDP == BatchNorm on the concatenated batch (values, gradients, running statistics)
PER_RANK, STEPS = 3, 3


def net():
    lucid.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5, dtype=f64), nn.BatchNorm1d(5, dtype=f64), nn.Tanh(),
                         nn.Linear(5, 2, dtype=f64))


reference = net()
local = net()
bn = local[1]
synced = nn.SyncBatchNorm.convert_sync_batchnorm(local)
assert type(synced[1]) is nn.SyncBatchNorm
assert synced[1].weight is bn.weight and synced[1].running_var is bn.running_var
model = DDP(synced)
opt, ref_opt = lucid.optim.SGD(model.parameters(), lr=0.2), lucid.optim.SGD(reference.parameters(), lr=0.2)
for step in range(STEPS):
    g = np.random.default_rng(step)
    xs = lucid.tensor(g.standard_normal((world * PER_RANK, 4)) * 2 + 1, dtype=f64)
    ys = lucid.tensor(g.standard_normal((world * PER_RANK, 2)), dtype=f64)
    mine = slice(rank * PER_RANK, (rank + 1) * PER_RANK)
    opt.zero_grad()
    ref_opt.zero_grad()
    F.mse_loss(model(xs[mine]), ys[mine]).backward()
    F.mse_loss(reference(xs), ys).backward()
    opt.step()
    ref_opt.step()
for (name, a), b in zip(local.state_dict().items(), reference.state_dict().values()):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
dist.destroy_process_group()
sys.stdout.write(f"rank {rank}: syncbn ok\n")
