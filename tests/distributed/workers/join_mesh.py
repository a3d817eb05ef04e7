"""Join (uneven inputs under DDP), DeviceMesh, new_subgroups and the coalesced collectives, on 2 processes.

``mpiexec -n 2 python join_mesh.py OUTDIR`` runs it on lucid (backend "mpi", or "gloo" with LUCID_TEST_BACKEND=gloo),
plus lucid-only checks; ``python join_mesh.py OUTDIR torch RANK 2 PORT`` runs the shared part on torch.distributed's
gloo backend. Rank 1 has fewer batches than rank 0; every rank asserts that the joined training equals one process
computing the same averages (the joined rank contributes zeros), and writes what it saw to OUTDIR/rankR.json for the
test to compare with torch's.
"""

import json
import sys
import warnings

import numpy as np
from both import BACKEND, LUCID, OUTDIR, F, dist, f64, lib, module, nn

default_hooks = module("distributed.algorithms.ddp_comm_hooks").default_hooks
Join = module("distributed.algorithms.join").Join
init_device_mesh = module("distributed.device_mesh").init_device_mesh
ZeroRedundancyOptimizer = module("distributed.optim").ZeroRedundancyOptimizer
DDP = module("nn.parallel").DistributedDataParallel
rank, world = dist.get_rank(), dist.get_world_size()
assert world == 2, "join_mesh.py runs on 2 processes"
BATCHES = [4, 2]  # rank 1 runs out first
seen = {}
warnings.filterwarnings("ignore", "`.*_coalesced` will be deprecated", FutureWarning)  # both libraries warn


class Net(nn.Module):
    """Weights from a NumPy seed (the same in lucid and torch), a spare branch that only rank 0 uses, a buffer that
    each forward bumps by the rank + 1 (whose value shows which rank's buffers were broadcast)."""

    def __init__(self, seed):
        super().__init__()
        self.fc1, self.fc2, self.spare = nn.Linear(3, 5, dtype=f64), nn.Linear(5, 2, dtype=f64), nn.Linear(5, 2,
                                                                                                          dtype=f64)
        self.register_buffer("count", lib.zeros((), dtype=f64))
        g = np.random.default_rng(seed)
        with lib.no_grad():
            for p in self.parameters():
                p.copy_(lib.tensor(g.standard_normal(tuple(p.shape)) * 0.5, dtype=f64))

    def forward(self, x, who):
        with lib.no_grad():
            self.count += who + 1
        h = lib.tanh(self.fc1(x))
        return self.fc2(h) + self.spare(h) if who == 0 else self.fc2(h)


def data(salt, step, who):
    g = np.random.default_rng(100 * salt + 10 * step + who)
    return lib.tensor(g.standard_normal((3, 3)), dtype=f64), lib.tensor(g.standard_normal((3, 2)), dtype=f64)


def flat(model):
    return [float(v) for p in model.parameters() for v in p.detach().reshape(-1).tolist()]


def sgd(ps):
    return lib.optim.SGD(ps, lr=0.1, momentum=0.9)


def reference(salt, divide_by_initial_world_size, batches):
    """One process: each step's gradient is the sum over the ranks still training, divided by the world size (or by
    how many still train)."""
    model = Net(1000 * salt)
    opt = sgd(model.parameters())
    for step in range(max(batches)):
        active = [r for r in range(world) if step < batches[r]]
        opt.zero_grad()
        loss = sum(F.mse_loss(model(*data(salt, step, r)[:1], r), data(salt, step, r)[1]) for r in active)
        (loss / (world if divide_by_initial_world_size else len(active))).backward()
        opt.step()
    return flat(model)


def join_train(salt, divide_by_initial_world_size=True, hook=None, enable=True, batches=BATCHES, **ddp_options):
    """DDP with ``model.join()`` on batches[rank] batches (each rank starts from its own weights: DDP broadcasts
    rank 0's); the parameters (the same on every rank after the join) and the buffer."""
    model = DDP(Net(1000 * salt + rank), **ddp_options)
    if hook is not None:
        model.register_comm_hook(None, hook)
    opt = sgd(model.parameters())
    with model.join(divide_by_initial_world_size=divide_by_initial_world_size, enable=enable):
        for step in range(batches[rank]):
            x, y = data(salt, step, rank)
            opt.zero_grad()
            F.mse_loss(model(x, rank), y).backward()
            opt.step()
    params = flat(model.module)
    expected = reference(salt, divide_by_initial_world_size, batches)
    assert np.max(np.abs(np.array(params) - np.array(expected))) < 1e-10, ("join", salt, params, expected)
    return params, float(model.module.count)


# ---- Join: uneven inputs -----------------------------------------------------------------------------------------
for salt, (name, options) in enumerate([
        ("join", {"find_unused_parameters": True}),
        ("join static world size off", {"find_unused_parameters": True, "divide_by_initial_world_size": False}),
        ("join allreduce_hook", {"find_unused_parameters": True, "hook": default_hooks.allreduce_hook,
                                 "broadcast_buffers": False}),
        ("join disabled, even inputs", {"find_unused_parameters": True, "enable": False, "batches": [2, 2]})],
        start=1):
    seen[f"{name} params"], seen[f"{name} count"] = join_train(salt, **options)

# DDP and ZeRO together: the joined rank shadows DDP's reductions and keeps stepping its ZeRO shard
model = DDP(Net(6), find_unused_parameters=True)
zero = ZeroRedundancyOptimizer(model.parameters(), lib.optim.SGD, lr=0.1, momentum=0.9)
with Join([model, zero]):
    for step in range(BATCHES[rank]):
        x, y = data(6, step, rank)
        zero.zero_grad()
        F.mse_loss(model(x, rank), y).backward()
        zero.step()
seen["join zero params"] = flat(model.module)
model = DDP(Net(7), find_unused_parameters=True)
try:
    with Join([model], throw_on_early_termination=True):
        for step in range(BATCHES[rank]):
            model(*data(7, step, rank)[:1], rank).sum().backward()
    seen["throw"] = "nothing raised"
except RuntimeError as e:
    seen["throw"] = str(e)
try:
    Join([model, DDP(Net(8), process_group=dist.new_group([0, 1]))])
    seen["two groups"] = "nothing raised"
except ValueError as e:
    seen["two groups"] = str(e)
try:
    Join([])
except ValueError as e:
    seen["no joinables"] = str(e)

# ---- new_subgroups ------------------------------------------------------------------------------------------------
mine, groups = dist.new_subgroups(group_size=1)
seen["new_subgroups"] = [dist.get_process_group_ranks(mine), len(groups), dist.get_world_size(mine)]
mine, groups = dist.new_subgroups_by_enumeration([[1]])
seen["by enumeration"] = [mine is None, dist.get_process_group_ranks(mine) if mine is not None else None]
for args in ((), (3,), (0,)):
    try:
        dist.new_subgroups(*args) if args else dist.new_subgroups_by_enumeration([])
    except ValueError as e:
        seen[f"new_subgroups{args} error"] = str(e)

# ---- coalesced collectives ----------------------------------------------------------------------------------------
a, b = lib.arange(3, dtype=f64) + rank, lib.full((2, 2), 10.0 * (rank + 1), dtype=f64)
dist.all_reduce_coalesced([a, b])
seen["all_reduce_coalesced"] = [a.tolist(), b.tolist()]
fut = dist.all_reduce_coalesced([a, b], op=dist.ReduceOp.MAX, async_op=True)
fut.wait()
seen["all_reduce_coalesced async"] = [t.tolist() for t in fut.value()]
outs = [[lib.zeros(3, dtype=f64), lib.zeros(2, 2, dtype=f64)] for _ in range(world)]
dist.all_gather_coalesced(outs, [lib.arange(3, dtype=f64) * (rank + 1), lib.eye(2, dtype=f64) + rank])
seen["all_gather_coalesced"] = [[t.tolist() for t in row] for row in outs]
outs = [[lib.zeros(1, dtype=f64)] for _ in range(world)]
fut = dist.all_gather_coalesced(outs, [lib.ones(1, dtype=f64) * rank], async_op=True)
seen["all_gather_coalesced async"] = [[t.tolist() for t in row] for row in fut.wait()]

# ---- DeviceMesh -------------------------------------------------------------------------------------------------
for shape in ((2, 1), (1, 2)):
    mesh = init_device_mesh("cpu", shape, mesh_dim_names=("dp", "tp"))
    key = f"mesh {shape}"
    seen[key] = [mesh.mesh.tolist(), mesh.size(), mesh.size(0), mesh.size(1), mesh.ndim, list(mesh.shape),
                 mesh.get_rank(), mesh.get_local_rank("dp"), mesh.get_local_rank(1), mesh.get_coordinate(),
                 [dist.get_process_group_ranks(g) for g in mesh.get_all_groups()],
                 mesh["dp"].mesh.tolist(), mesh["tp"].mesh.tolist(), mesh["dp"].get_local_rank(),
                 mesh["dp"].mesh_dim_names, mesh[("dp", "tp")] == mesh, mesh[("tp", "dp")].mesh.tolist(),
                 dist.get_process_group_ranks(mesh[("tp", "dp")].get_group("dp"))]
    t = lib.tensor([float(rank + 1)], dtype=f64)
    dist.all_reduce(t, group=mesh.get_group("dp"))
    u = lib.tensor([float(rank + 1)], dtype=f64)
    dist.all_reduce(u, group=mesh["tp"].get_group())
    seen[key + " sums"] = [t.item(), u.item()]
    for what, call in (("get_group()", mesh.get_group), ("mesh['x']", lambda m=mesh: m["x"])):
        try:
            call()
            seen[f"{key} {what}"] = "nothing raised"
        except (RuntimeError, KeyError, ValueError) as e:
            seen[f"{key} {what}"] = type(e).__name__
for bad in (lambda: init_device_mesh("cpu", (3,)), lambda: init_device_mesh("cpu", (2,), mesh_dim_names=("a", "b")),
            lambda: init_device_mesh("cpu:0", (2,))):
    try:
        bad()
        seen.setdefault("mesh errors", []).append("nothing raised")
    except (RuntimeError, ValueError) as e:
        seen.setdefault("mesh errors", []).append(type(e).__name__)

# ---- lucid only -------------------------------------------------------------------------------------------------
if LUCID:
    assert dist.get_backend() == dist.Backend(BACKEND.upper()) == getattr(dist.Backend, BACKEND.upper())
    assert dist.get_backend(mesh.get_group("tp")) == BACKEND
    # torch 2.13 prints strides; lucid the ranks, as torch's earlier DeviceMesh repr
    assert repr(mesh) == "DeviceMesh('cpu', [[0, 1]], mesh_dim_names=('dp', 'tp'))", repr(mesh)
    assert repr(mesh["tp"]) == "DeviceMesh('cpu', [0, 1], mesh_dim_names=('tp',))", repr(mesh["tp"])
    for bad, error in ((lambda: mesh[("dp", "dp")], RuntimeError),  # torch raises for some shapes only
                       (lambda: dist.all_reduce_coalesced([a, lib.zeros(2, dtype=lib.float32)]), ValueError),
                       (lambda: dist.all_reduce_coalesced([]), TypeError),
                       (lambda: dist.all_gather_coalesced([[a]], [a]), dist.DistributedError),
                       (lambda: dist.all_gather_coalesced([[a], [lib.zeros(2, dtype=f64)]], [a]),
                        dist.DistributedError),
                       (lambda: dist.new_subgroups_by_enumeration([[0, 1], [1]]), ValueError),
                       (lambda: mesh.get_local_rank(), RuntimeError),
                       (lambda: mesh.size(5), IndexError)):
        try:
            bad()
            raise AssertionError(f"expected {error.__name__}")
        except error as e:
            assert str(e), error
    # a transport failure (a message longer than the receiving tensor) is torch's DistBackendError
    if rank == 0:
        dist.send(lib.ones(5), dst=1)
    else:
        try:
            dist.recv(lib.zeros(3), src=0)
            raise AssertionError("expected DistBackendError")
        except dist.DistBackendError as e:
            assert "MPI failed" in str(e), str(e)
    # a plain DDP (no join context) still averages over the whole group and sends no join messages
    model = DDP(Net(9), find_unused_parameters=True)
    F.mse_loss(model(*data(9, 0, rank)[:1], rank), data(9, 0, rank)[1]).backward()
    assert model._divisor is None and model._join_config.enable is False

(OUTDIR / f"rank{rank}.json").write_text(json.dumps(seen))
dist.barrier()
dist.destroy_process_group()
sys.stdout.write(f"rank {rank}: join mesh ok\n")
