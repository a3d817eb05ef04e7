"""Run under mpiexec, joining with backend LUCID_TEST_BACKEND ("mpi" by default, or "gloo"):
DistributedDataParallel in float64 equals single-process training on the whole batch."""

import os
import sys
from contextlib import nullcontext

import numpy as np

import lucid
import lucid.distributed as dist
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.nn.parallel import DistributedDataParallel as DDP

BACKEND = os.environ.get("LUCID_TEST_BACKEND", "mpi")
dist.init_process_group(BACKEND)
rank, world = dist.get_rank(), dist.get_world_size()
STEPS, PER_RANK = 3, 4


class Net(nn.Module):
    """Tied weights (fc1.weight is used twice) and an optional branch that may go unused."""

    def __init__(self, hidden=6, spare=True):
        super().__init__()
        self.fc1 = nn.Linear(4, hidden, dtype=lucid.float64)
        self.fc2 = nn.Linear(hidden, hidden, dtype=lucid.float64)
        self.spare = nn.Linear(hidden, 4, dtype=lucid.float64) if spare else None

    def forward(self, x, use_spare=False):
        h = lucid.tanh(self.fc1(x))
        h = lucid.tanh(self.fc2(h))
        out = F.linear(h, self.fc1.weight.T)
        return out + self.spare(h) if use_spare else out


def batch(step, micro=0):
    g = np.random.default_rng(1000 + 10 * step + micro)
    x, y = g.standard_normal((world * PER_RANK, 4)), g.standard_normal((world * PER_RANK, 4))
    return lucid.tensor(x, dtype=lucid.float64), lucid.tensor(y, dtype=lucid.float64)


def mine(t):
    return t[rank * PER_RANK:(rank + 1) * PER_RANK]


def max_diff(a, b):
    return max(float((p - q).abs().max()) for p, q in zip(a.parameters(), b.parameters()))


def train(make_opt, bucket_cap_mb, micro_batches=1):
    lucid.manual_seed(rank)  # every rank starts from different weights: DDP must broadcast rank 0's
    local = Net(spare=False)
    lucid.manual_seed(0)
    reference = Net(spare=False)  # rank 0's initial weights
    model = DDP(local, bucket_cap_mb=bucket_cap_mb, find_unused_parameters=False)
    assert max_diff(local, reference) == 0.0, "construction did not broadcast rank 0's parameters"
    opt, ref_opt = make_opt(model.parameters()), make_opt(reference.parameters())
    for step in range(STEPS):
        opt.zero_grad()
        ref_opt.zero_grad()
        for micro in range(micro_batches):
            x, y = batch(step, micro)
            last = micro == micro_batches - 1
            with (model.no_sync() if not last else nullcontext()):
                F.mse_loss(model(mine(x)), mine(y)).backward()
            F.mse_loss(reference(x), y).backward()
        opt.step()
        ref_opt.step()
    return max_diff(local, reference)


OPTIMIZERS = {"sgd-momentum": lambda ps: lucid.optim.SGD(ps, lr=0.1, momentum=0.9),
              "adam": lambda ps: lucid.optim.Adam(ps, lr=0.01)}
for name, make in OPTIMIZERS.items():
    for cap in (1e-5, 25):  # every parameter in its own bucket; all in one
        for micro in (1, 2):  # 2: the first micro-batch under no_sync
            diff = train(make, cap, micro)
            assert diff < 1e-6, (name, cap, micro, diff)

# overlap: with one bucket per parameter, the first all-reduce starts while backward still has gradients to make
lucid.manual_seed(0)
overlapped = DDP(Net(spare=False), bucket_cap_mb=1e-5)
seen, all_reduce = [], dist.all_reduce


def spy(tensor, *args, **kwargs):
    seen.append(sum(p.grad is not None for p in overlapped.parameters()))
    return all_reduce(tensor, *args, **kwargs)


dist.all_reduce = spy
x, y = batch(0)
F.mse_loss(overlapped(mine(x)), mine(y)).backward()
dist.all_reduce = all_reduce
n_params = len(list(overlapped.parameters()))
assert len(seen) == n_params and seen[0] < n_params, seen

# find_unused_parameters: the spare branch is used on rank 0 only; fc2 everywhere
lucid.manual_seed(0)
model = DDP(Net(), find_unused_parameters=True)
x, y = batch(0)
F.mse_loss(model(mine(x), use_spare=rank == 0), mine(y)).backward()
lucid.manual_seed(0)
alone = Net()
F.mse_loss(alone(x[:PER_RANK], use_spare=True), y[:PER_RANK]).backward()
np.testing.assert_allclose(model.module.spare.weight.grad.numpy(), alone.spare.weight.grad.numpy() / world,
                           rtol=1e-10)
# unused everywhere: grad stays None
model2 = DDP(Net(), find_unused_parameters=True)
F.mse_loss(model2(mine(x)), mine(y)).backward()
assert model2.module.spare.weight.grad is None

# without find_unused_parameters, a parameter that got no gradient is reported at the next forward
model3 = DDP(Net())
F.mse_loss(model3(mine(x)), mine(y)).backward()
try:
    model3(mine(x))
    raise AssertionError("expected an error about unused parameters")
except dist.DistributedError as e:
    assert "spare.weight" in str(e), str(e)


# broadcast_buffers: rank 0's buffers go to every rank before each forward
class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.register_buffer("count", lucid.zeros(()))

    def forward(self, x):
        with lucid.no_grad():
            self.count += rank + 1
        return self.lin(x)


counter = DDP(Counter())
counter(lucid.ones(1, 2))
counter(lucid.ones(1, 2))
assert float(counter.module.count) == 1 + rank + 1, float(counter.module.count)
assert list(counter.state_dict()) == ["module.count", "module.lin.weight", "module.lin.bias"]

# different models on different ranks: every rank raises, none hangs
if world > 1:
    try:
        DDP(Net(hidden=6 if rank == 0 else 7))
        raise AssertionError("expected a model mismatch error")
    except dist.DistributedError as e:
        assert "different models" in str(e) and "fc1.weight" in str(e), str(e)

dist.destroy_process_group()
sys.stdout.write(f"rank {rank}: ddp ok\n")
