"""``lucid.distributed.optim.ZeroRedundancyOptimizer``: optimizer state sharded across processes (ZeRO stage 1).

The optimizer works on ``process_group`` (the default group when None): its members share the state. Each
parameter is owned by one member, as torch partitions: in each parameter group, largest parameter first, the
member with the fewest elements so far takes it (the same on every rank). A process keeps the wrapped
optimizer's state for its own parameters only and updates only them; then every owner broadcasts its updated
parameters, so all replicas stay identical. Use it with DistributedDataParallel (the gradients are already
averaged): the result equals the plain optimizer's, with about 1/world of its state per process. It is a
:class:`~lucid.distributed.algorithms.join.Joinable`, as torch's: in ``Join([model, optimizer])`` a process that has
run out of batches goes on stepping (with the gradients it has) so that its shard's broadcasts still come.

This module sits above :mod:`lucid.optim` (it subclasses ``Optimizer``); ``lucid.distributed`` does not
import it: ``from lucid.distributed.optim import ZeroRedundancyOptimizer``.
"""

from __future__ import annotations

from ..autograd import grad_mode
from ..optim.optimizer import Optimizer
from .algorithms.join import Join, Joinable, JoinHook
from .collectives import all_gather_object, broadcast
from .common import DistributedError
from .process_group import _member_group

__all__ = ["ZeroRedundancyOptimizer"]


class ZeroRedundancyOptimizer(Optimizer, Joinable):
    """Wrap ``optimizer_class(params, **defaults)`` so that each process holds the state of a shard of the
    parameters (see the module docstring). ``param_groups`` lists every parameter (schedulers change
    options there; ``step`` hands them to the local optimizer). ``state_dict()`` needs
    ``consolidate_state_dict(to)`` first, as in PyTorch; ``load_state_dict`` takes the consolidated dict.
    ``consolidate_state_dict(to)`` takes a rank in the group, as torch's does (its ``to`` is compared with the
    group rank). ``parameters_as_bucket_view`` and ``overlap_with_ddp`` are accepted and change nothing."""

    def __init__(self, params, optimizer_class, process_group=None, parameters_as_bucket_view=False,
                 overlap_with_ddp=False, **defaults):
        Optimizer.__init__(self, params, defaults)
        Joinable.__init__(self)
        self.process_group = _member_group(process_group, "ZeroRedundancyOptimizer")  # ValueError outside it
        self.optimizer_class = optimizer_class
        self.rank, self.world_size = self.process_group.rank(), self.process_group.size()
        self.global_rank = self.process_group.ranks[self.rank]
        load = [0] * self.world_size
        self._owner = {}  # id(parameter) -> group rank of its owner
        for group in self.param_groups:
            for p in sorted(group["params"], key=lambda t: t.numel(), reverse=True):
                owner = load.index(min(load))
                self._owner[id(p)] = owner
                load[owner] += p.numel()
        self.optim = optimizer_class([self._local_group(g) for g in self.param_groups], **defaults)
        self._consolidated = None

    def _all_params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def _local_group(self, group):
        options = {k: v for k, v in group.items() if k not in ("params", "param_names")}
        return {**options, "params": [p for p in group["params"] if self._owner[id(p)] == self.rank]}

    @property
    def local_state(self):
        """The wrapped optimizer's state: this process's parameters only."""
        return self.optim.state

    def step(self, closure=None):
        count = Join.notify_join_context(self)
        if count is not None:
            count.wait()
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        for group, local in zip(self.param_groups, self.optim.param_groups):
            local.update({k: v for k, v in group.items() if k != "params"})  # options set by schedulers
        self.optim.step()
        with grad_mode.no_grad():
            works = [broadcast(p, group=self.process_group, group_src=self._owner[id(p)], async_op=True)
                     for p in self._all_params()]
            for work in works:
                work.wait()
        return loss

    def join_hook(self, **kwargs) -> JoinHook:
        """A joined process keeps stepping, so that the others receive its shard's broadcasts (torch's hook)."""
        return _ZeroJoinHook(self)

    @property
    def join_device(self):
        return self._all_params()[0].device

    @property
    def join_process_group(self):
        return self.process_group

    def consolidate_state_dict(self, to: int = 0) -> None:
        """Gather every shard's state (a collective: call it on every member of the group); the member of group
        rank ``to`` keeps the full state dict for ``state_dict()``."""
        index = {id(p): i for i, p in enumerate(self._all_params())}
        local = self.optim.state_dict()
        mine = {index[id(p)]: local["state"][i] for i, p in enumerate(
            q for g in self.optim.param_groups for q in g["params"]) if i in local["state"]}
        shards = [None] * self.world_size
        all_gather_object(shards, mine, group=self.process_group)
        self._consolidated = None  # as torch: only the latest consolidation's ``to`` has a state dict
        if self.rank == to:
            state = {k: v for shard in shards for k, v in shard.items()}
            groups, start = [], 0
            for g in self.param_groups:
                groups.append({**{k: v for k, v in g.items() if k != "params"},
                               "params": list(range(start, start + len(g["params"])))})
                start += len(g["params"])
            self._consolidated = {"state": state, "param_groups": groups}

    def state_dict(self) -> dict:
        if self._consolidated is None:
            raise DistributedError("Optimizer state has not been consolidated on this rank. Please call "
                                   f"`consolidate_state_dict(to={self.rank})` on all ranks beforehand if you "
                                   "meant to save the global state.")
        return self._consolidated

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a consolidated state dict (from ``state_dict()``): each process takes its own parameters' part."""
        params = self._all_params()
        local = [p for g in self.optim.param_groups for p in g["params"]]
        where = {id(p): i for i, p in enumerate(local)}
        state = {where[id(params[i])]: s for i, s in state_dict["state"].items() if id(params[i]) in where}
        groups = []
        for g, full in zip(self.optim.param_groups, state_dict["param_groups"]):
            groups.append({**{k: v for k, v in full.items() if k != "params"},
                           "params": [where[id(p)] for p in g["params"]]})
        self.optim.load_state_dict({"state": state, "param_groups": groups})
        for group, full in zip(self.param_groups, state_dict["param_groups"]):
            group.update({k: v for k, v in full.items() if k != "params"})


class _ZeroJoinHook(JoinHook):
    def __init__(self, zero):
        self.zero = zero

    def main_hook(self):
        """Shadow one step of the processes still training: step this shard and broadcast it."""
        self.zero.step()
