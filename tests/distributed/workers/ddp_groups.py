"""DistributedDataParallel and ZeroRedundancyOptimizer on subgroups, on 3 processes, with groups {0,1}, {2}, {0,2}.

``mpiexec -n 3 python ddp_groups.py OUTDIR`` runs it on lucid (backend "mpi", or "gloo" with
LUCID_TEST_BACKEND=gloo: the same MPI transport under PyTorch's CPU backend name), plus lucid-only checks;
``python ddp_groups.py OUTDIR torch RANK 3 PORT`` runs the shared part on torch.distributed's gloo backend.
Every rank asserts that training equals a single-process run on its group's concatenated data, and writes what
it saw (parameters, buffers, ZeRO shards, errors) to OUTDIR/rankR.json for the test to compare with torch's.
"""

import json
import sys
import warnings
from contextlib import nullcontext

import numpy as np
from both import LUCID, OUTDIR, F, dist, f64, lib, module, nn

default_hooks = module("distributed.algorithms.ddp_comm_hooks").default_hooks
ZeroRedundancyOptimizer = module("distributed.optim").ZeroRedundancyOptimizer
DDP = module("nn.parallel").DistributedDataParallel
rank, world = dist.get_rank(), dist.get_world_size()
assert world == 3, "ddp_groups.py runs on 3 processes"
STEPS, PER_RANK = 3, 2
pair, alone, ends = dist.new_group([0, 1]), dist.new_group([2]), dist.new_group([0, 2])
mine = pair if rank < 2 else alone  # every rank trains one model on {0,1} or {2}
MEMBERS = {0: [0, 1], 1: [0, 1], 2: [2]}
seen = {}


class Net(nn.Module):
    """Weights from a NumPy seed (the same in lucid and torch), a spare branch (some ranks leave it unused), a buffer
    that each forward bumps by the global rank + 1 (broadcast_buffers makes the group's first rank's count win)."""

    def __init__(self, seed, spare=False):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 6, dtype=f64), nn.Linear(6, 3, dtype=f64)
        self.spare = nn.Linear(6, 3, dtype=f64) if spare else None
        self.register_buffer("count", lib.zeros((), dtype=f64))
        g = np.random.default_rng(seed)
        with lib.no_grad():
            for p in self.parameters():
                p.copy_(lib.tensor(g.standard_normal(tuple(p.shape)) * 0.5, dtype=f64))

    def forward(self, x, use_spare=False):
        with lib.no_grad():
            self.count += rank + 1
        h = lib.tanh(self.fc1(x))
        out = self.fc2(h)
        return out + self.spare(h) if use_spare else out


def data(salt, step, micro, n):
    g = np.random.default_rng(100 * salt + 10 * step + micro)
    return lib.tensor(g.standard_normal((n, 4)), dtype=f64), lib.tensor(g.standard_normal((n, 3)), dtype=f64)


def flat(model):
    return [float(v) for p in model.parameters() for v in p.detach().reshape(-1).tolist()]


def max_diff(a, b):
    return float(np.max(np.abs(np.array(flat(a)) - np.array(flat(b)))))


def train(ranks, salt, make_opt, micro_batches=1, spare_on_first=False, hook=None, **ddp_options):
    """DDP on the group of ``ranks`` (this process among them) against one process training on all their data;
    each member starts from its own weights, so DDP must broadcast the first member's. The model and the max
    parameter difference from the reference."""
    group = {(0, 1): pair, (2,): alone, (0, 2): ends}[tuple(ranks)]
    me, size = ranks.index(rank), len(ranks)
    model = DDP(Net(1000 * salt + rank, spare_on_first), process_group=group, **ddp_options)
    if hook is not None:
        model.register_comm_hook(group, hook)
    reference = Net(1000 * salt + ranks[0], spare_on_first)
    opt, ref_opt = make_opt(model.parameters()), make_opt(reference.parameters())
    for step in range(STEPS):
        opt.zero_grad()
        ref_opt.zero_grad()
        for micro in range(micro_batches):
            x, y = data(salt, step, micro, size * PER_RANK)
            part = slice(me * PER_RANK, (me + 1) * PER_RANK)
            context = model.no_sync() if micro < micro_batches - 1 else nullcontext()
            with context:
                F.mse_loss(model(x[part], use_spare=spare_on_first and me == 0), y[part]).backward()
            loss = sum(F.mse_loss(reference(x[i * PER_RANK:(i + 1) * PER_RANK], use_spare=spare_on_first and i == 0),
                                  y[i * PER_RANK:(i + 1) * PER_RANK]) for i in range(size)) / size
            loss.backward()
        opt.step()
        ref_opt.step()
    return model, max_diff(model.module, reference)


def sgd(ps):
    return lib.optim.SGD(ps, lr=0.1, momentum=0.9)


# ---- two DDP models per process on different groups, trained in turn --------------------------------------------
model, diff = train(MEMBERS[rank], 1, sgd)
assert diff < 1e-10, ("{0,1} / {2}", diff)
seen["pair/alone params"] = flat(model.module)
seen["pair/alone count"] = float(model.module.count)  # 3 forwards: first member's 2 + own 1 each time
if rank != 1:
    model, diff = train([0, 2], 2, sgd, micro_batches=2, spare_on_first=True, find_unused_parameters=True)
    assert diff < 1e-10, ("{0,2} no_sync + unused", diff)
    seen["ends params"] = flat(model.module)
    seen["ends count"] = float(model.module.count)
    model, diff = train([0, 2], 3, sgd, broadcast_buffers=False, gradient_as_bucket_view=True, static_graph=True,
                        bucket_cap_mb=1)
    assert diff < 1e-10, ("{0,2} options", diff)
    seen["ends options count"] = float(model.module.count)  # no buffer broadcast: own count only

# ---- comm hooks -------------------------------------------------------------------------------------------------
model, diff = train(MEMBERS[rank], 4, sgd, hook=default_hooks.allreduce_hook)
assert diff < 1e-10, ("allreduce_hook", diff)
seen["allreduce_hook params"] = flat(model.module)
model, diff = train(MEMBERS[rank], 5, sgd, hook=default_hooks.fp16_compress_hook)
assert diff < 1e-2 and diff > 1e-8, ("fp16_compress_hook: half-precision sums", diff)
seen["fp16_compress_hook params"] = flat(model.module)

# ---- ZeroRedundancyOptimizer on {0,2} equals plain Adam --------------------------------------------------------
if rank != 1:
    def zero_adam(ps):
        return ZeroRedundancyOptimizer(ps, lib.optim.Adam, process_group=ends, lr=0.01)

    model, diff = train([0, 2], 6, zero_adam)
    assert diff < 1e-10, ("ZeRO on {0,2}", diff)
    seen["zero params"] = flat(model.module)
    opt = zero_adam(model.parameters())
    F.mse_loss(model(lib.ones(2, 4, dtype=f64)), lib.zeros(2, 3, dtype=f64)).backward()
    opt.step()
    params = list(model.parameters())
    seen["zero rank"] = [opt.rank, opt.world_size, opt.global_rank]
    seen["zero shard"] = sorted(i for i, p in enumerate(params) if p in opt.optim.state)
    opt.consolidate_state_dict(to=1)  # group rank 1: global rank 2
    try:
        state = opt.state_dict()
        seen["zero consolidated"] = [sorted(state["state"]), sorted(state["state"][0])]
    except RuntimeError as e:
        seen["zero consolidated"] = str(e)

# ---- lucid only: what torch leaves unchecked, or does not have ---------------------------------------------------
if LUCID:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if rank == 1:  # outside {0,2}: a clear error, not a hang or an obscure one
            for make in (lambda: DDP(Net(0), process_group=ends),
                         lambda: ZeroRedundancyOptimizer(Net(0).parameters(), lib.optim.Adam, process_group=ends)):
                try:
                    make()
                    raise AssertionError("expected a ValueError outside the group")
                except ValueError as e:
                    assert "not a member of the group" in str(e), str(e)
    model = DDP(Net(0), process_group=mine)
    model.register_comm_hook(None, default_hooks.allreduce_hook)
    try:
        model.register_comm_hook(None, default_hooks.allreduce_hook)
        raise AssertionError("expected a second register_comm_hook to raise")
    except RuntimeError as e:
        assert "only be called once" in str(e), str(e)
    if rank < 2:  # a hook whose future gives the wrong thing is reported, with the bucket's shape
        bad = DDP(Net(0), process_group=pair)
        bad.register_comm_hook(pair, lambda state, bucket: default_hooks.allreduce_hook(state, bucket).then(
            lambda fut: fut.value()[:1]))
        try:
            F.mse_loss(bad(lib.ones(1, 4, dtype=f64)), lib.zeros(1, 3, dtype=f64)).backward()
            raise AssertionError("expected a bad hook result to raise")
        except RuntimeError as e:
            assert "comm hook's future gave shape [1]" in str(e), str(e)

(OUTDIR / f"rank{rank}.json").write_text(json.dumps(seen))
dist.barrier()
dist.destroy_process_group()
sys.stdout.write(f"rank {rank}: ddp groups ok\n")
