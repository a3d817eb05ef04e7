"""``DistributedDataParallel``: every process trains a replica; gradients are averaged while backward runs.

DDP works on ``process_group`` (the default group when None): the replicas are the group's members, gradients
are averaged over them only, and the group's first rank (group rank 0) is the source of the parameters and
buffers. At construction the replicas are made identical (that rank's parameters and buffers are broadcast) after
checking that every member built the same model (names, shapes, dtypes: a mismatch raises on every rank
instead of hanging). Parameters are grouped into buckets of about ``bucket_cap_mb``, in reverse order
(roughly the order backward produces their gradients). A post-accumulate-grad hook on each parameter
marks it ready; a bucket whose parameters are all ready is all-reduced asynchronously while backward goes
on, buckets always start in the same order on every process, and the last bucket's hook waits for all of
them and writes the averages into ``.grad``. ``no_sync()`` skips the reduction (gradients accumulate
locally; the next synchronised backward averages the sums). With ``broadcast_buffers`` the group's first rank's
buffers are broadcast before a forward, as torch does: before the first one and after a synchronised forward
with grad enabled only (not after one under ``no_sync()`` or ``no_grad``). A parameter shared by two layers is reduced
once. With ``find_unused_parameters=True`` the parameters that the forward's graph does not reach count as
ready with a zero gradient; a parameter unused on every process keeps ``grad`` None.

DDP is a :class:`~lucid.distributed.algorithms.join.Joinable`: inside ``with model.join():`` (or
``Join([model, ...])``) processes may have different numbers of batches. A process that has run out shadows the
others' iterations: it all-reduces zero gradients, so the average is the sum over the processes still training
divided by the initial group size (``divide_by_initial_world_size=True``, torch's default) or by the number still
training; the buffers come from the highest rank still training, and at the end the model of the highest rank among
the last to finish is broadcast to all. Lucid waits for the join context's per-forward counts in the forward (torch
leaves them in flight; MPI requests must be finished).
"""

from __future__ import annotations

import contextlib

from ... import distributed as dist
from ..._tensor import Tensor, tensor
from ...autograd import is_grad_enabled, no_grad
from ...distributed.algorithms.ddp_comm_hooks import GradBucket
from ...distributed.algorithms.join import Join, Joinable, JoinHook
from ...distributed.process_group import _member_group
from ...ops import cat, zeros
from ..module import Module

__all__ = ["DistributedDataParallel"]


class _Bucket:
    """Parameters of one dtype whose gradients travel together in one flat all-reduce."""

    def __init__(self, params):
        self.params = params
        self.ready: set[int] = set()
        self.flat = None
        self.work = None


class DistributedDataParallel(Module, Joinable):
    """Wrap ``module`` for data-parallel training on ``process_group`` (see the module docstring).

    ``device_ids``/``output_device``/``dim`` are accepted for torch compatibility (one device per process);
    ``gradient_as_bucket_view`` and ``static_graph`` are accepted and change nothing (gradients are written
    into ``.grad`` after each synchronised backward either way).
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=25, find_unused_parameters=False, gradient_as_bucket_view=False,
                 static_graph=False):
        Module.__init__(self)
        Joinable.__init__(self)
        if not dist.is_initialized():
            raise dist.DistributedError("DistributedDataParallel needs the default process group: call "
                                        "lucid.distributed.init_process_group(backend) first")
        if bucket_cap_mb is None or bucket_cap_mb <= 0:
            raise ValueError(f"bucket_cap_mb must be positive, not {bucket_cap_mb!r}")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.process_group = _member_group(process_group, "DistributedDataParallel")  # ValueError outside it
        self.world_size = self.process_group.size()
        self._check_same_model()
        self._broadcast(list(module.parameters()) + list(module.buffers()))
        params = [p for p in module.parameters() if p.requires_grad]  # parameters() lists a shared one once
        self._buckets = _buckets(params[::-1], int(bucket_cap_mb * 1024 * 1024))
        self._bucket_of = {id(p): b for b in self._buckets for p in b.params}
        self._hooks = [p.register_post_accumulate_grad_hook(self._mark_ready) for p in params]
        self._require_sync = True
        self._sync_buffers = True  # torch's require_forward_param_sync: the last forward was a synchronised one
        self._expecting = False  # a forward ran with grad enabled and its backward has not finished
        self._used: set[int] = set()
        self._comm_hook = None
        self._divide_by_initial_world_size = True
        self._divisor = None  # in a join context: what this iteration's gradient sums are divided by

    # ---- construction -------------------------------------------------------------------------------------
    def _check_same_model(self):
        mine = [(kind, name, list(t.shape), t.dtype.name) for kind, items in
                (("parameter", self.module.named_parameters()), ("buffer", self.module.named_buffers()))
                for name, t in items]
        everyone = [None] * self.world_size
        dist.all_gather_object(everyone, mine, group=self.process_group)
        first = self.process_group.ranks[0]
        for rank, theirs in zip(self.process_group.ranks, everyone):
            if theirs != everyone[0]:
                diff = next(((a, b) for a, b in zip(everyone[0], theirs) if a != b), None)
                detail = (f"rank {first} has {diff[0][0]} {diff[0][1]} {diff[0][2]} {diff[0][3]}, rank {rank} has "
                          f"{diff[1][0]} {diff[1][1]} {diff[1][2]} {diff[1][3]}" if diff else
                          f"rank {first} has {len(everyone[0])} parameters and buffers, rank {rank} {len(theirs)}")
                raise dist.DistributedError(f"DistributedDataParallel: the processes built different models: "
                                            f"{detail}")

    def _broadcast(self, tensors, src=0):
        """Broadcast ``tensors`` from the group's member ``src`` (a group rank)."""
        if self.world_size > 1:
            with no_grad():
                for t in tensors:
                    dist.broadcast(t, group=self.process_group, group_src=src)

    # ---- forward and backward -------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        if self._require_sync and self._expecting and any(b.ready for b in self._buckets):
            missing = [name for name, p in self.module.named_parameters()
                       if p.requires_grad and id(p) not in self._bucket_of[id(p)].ready]
            self._expecting = False
            raise dist.DistributedError(
                "DistributedDataParallel: the previous backward gave no gradient to parameters "
                f"{missing}, so their gradients were never averaged. Pass find_unused_parameters=True when "
                "some parameters do not take part in every forward")
        joining = self._join_config.enable
        count = Join.notify_join_context(self)
        if self._will_sync_buffers():
            self._broadcast(list(self.module.buffers()), self._common_rank(True) if joining else 0)
        if joining:
            self._global_sync_flag(self._require_sync and is_grad_enabled())
        self._divisor = None  # None: ReduceOp.AVG, over the whole group
        if count is not None:
            count.wait()
            self._divisor = (self.world_size if self._divide_by_initial_world_size
                             else int(count.result()[0].item()))
        out = self.module(*args, **kwargs)
        self._sync_buffers = self._require_sync and is_grad_enabled()
        if self._require_sync and is_grad_enabled() and self._buckets:
            self._start_backward_pass(out)
        return out

    def _start_backward_pass(self, out):
        for bucket in self._buckets:
            bucket.ready.clear()
            bucket.flat = bucket.work = None
        self._next = 0
        self._expecting = True
        if self.find_unused_parameters:
            reached = _reachable_leaves(out)
            self._used = {id(p) for b in self._buckets for p in b.params if id(p) in reached}
            for bucket in self._buckets:
                for p in bucket.params:
                    if id(p) not in reached:
                        self._mark_ready(p)

    def _mark_ready(self, param):
        if not (self._require_sync and self._expecting):
            return
        bucket = self._bucket_of[id(param)]
        bucket.ready.add(id(param))
        while self._next < len(self._buckets) and len(self._buckets[self._next].ready) == \
                len(self._buckets[self._next].params):  # start buckets in order: the same order on every rank
            self._launch(self._next)
            self._next += 1
        if self._next == len(self._buckets):
            self._finish()

    def _launch(self, index):
        bucket = self._buckets[index]
        with no_grad():
            pieces = [(p.grad if p.grad is not None else zeros(p.shape, dtype=p.dtype, device=p.device)).reshape(-1)
                      for p in bucket.params]
            bucket.flat = cat(pieces) if len(pieces) > 1 else pieces[0].clone()
            if self._comm_hook is None:
                op = dist.ReduceOp.AVG if self._divisor is None else dist._make_nccl_premul_sum(1.0 / self._divisor)
                bucket.work = dist.all_reduce(bucket.flat, op=op, group=self.process_group, async_op=True)
            else:
                state, hook = self._comm_hook
                bucket.work = hook(state, GradBucket(index, bucket.flat, bucket.params,
                                                     index == len(self._buckets) - 1))

    def _reduced(self, bucket):
        """Wait for ``bucket``'s reduction; its averaged flat gradient."""
        result = bucket.work.wait()
        if self._comm_hook is None:
            return bucket.flat
        value = result[0] if isinstance(result, (list, tuple)) and len(result) == 1 else result
        if not isinstance(value, Tensor) or value.shape != bucket.flat.shape:
            got = f"shape {list(value.shape)}" if isinstance(value, Tensor) else type(value).__name__
            raise RuntimeError(f"DistributedDataParallel: the comm hook's future gave {got} for a bucket of shape "
                               f"{list(bucket.flat.shape)}; it must give the bucket's reduced flat tensor")
        return value

    def _finish(self):
        self._expecting = False
        used = None
        if self.find_unused_parameters:  # which parameters some process used: the others keep grad None
            params = [p for b in self._buckets for p in b.params]
            mask = Tensor([id(p) in self._used for p in params], device=params[0].device)
            dist.all_reduce(mask, op=dist.ReduceOp.MAX, group=self.process_group)
            used = {id(p) for p, flag in zip(params, mask.tolist()) if flag}
        with no_grad():
            for bucket in self._buckets:
                flat = self._reduced(bucket)
                offset = 0
                for p in bucket.params:
                    n = p.numel()
                    if used is None or id(p) in used:
                        value = flat[offset:offset + n].reshape(p.shape).to(p.dtype)
                        if p.grad is None:
                            p.grad = value.clone()
                        else:
                            p.grad.copy_(value)
                    offset += n
                bucket.flat = bucket.work = None

    def register_comm_hook(self, state, hook):
        """Reduce each gradient bucket with ``hook(state, bucket)`` instead of DDP's own averaging: ``bucket`` is a
        :class:`~lucid.distributed.algorithms.ddp_comm_hooks.GradBucket`; the hook returns a future whose
        ``wait()`` gives the reduced flat tensor (torch's hooks in
        ``lucid.distributed.algorithms.ddp_comm_hooks.default_hooks``). Register once, before training."""
        if not callable(hook):
            raise TypeError(f"register_comm_hook: hook must be callable as hook(state, bucket), not {hook!r}")
        if self._comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be called once.")
        self._comm_hook = (state, hook)

    # ---- uneven inputs: the join context (see the module docstring) ------------------------------------------
    def join(self, divide_by_initial_world_size=True, enable=True, throw_on_early_termination=False):
        """A :class:`~lucid.distributed.algorithms.join.Join` context of this model alone: ``with model.join():``
        lets the processes train on different numbers of batches."""
        return Join([self], enable, throw_on_early_termination,
                    divide_by_initial_world_size=divide_by_initial_world_size)

    def join_hook(self, **kwargs) -> JoinHook:
        """What a process that has run out of batches does: ``divide_by_initial_world_size`` (default True) picks
        whether the gradient sums are divided by the group size or by the number of processes still training."""
        return _DDPJoinHook(self, kwargs.get("divide_by_initial_world_size", True))

    @property
    def join_device(self):
        return next(iter(self.module.parameters())).device

    @property
    def join_process_group(self):
        return self.process_group

    def _will_sync_buffers(self) -> bool:
        return self.broadcast_buffers and self._sync_buffers and len(list(self.module.buffers())) > 0

    def _common_rank(self, candidate: bool) -> int:
        """The highest group rank among the members for which ``candidate`` holds (collective)."""
        rank = tensor([self.process_group.rank() if candidate else -1], device=self.join_device)
        dist.all_reduce(rank, op=dist.ReduceOp.MAX, group=self.process_group)
        return int(rank.item())

    def _global_sync_flag(self, mine: bool) -> bool:
        """Whether some member runs a synchronised backward this iteration (collective; a joined process says no)."""
        flag = tensor([1 if mine else 0], device=self.join_device)
        dist.all_reduce(flag, group=self.process_group)
        return bool(flag.item())

    def _shadow_backward(self):
        """A joined process's part of one synchronised backward: every bucket's reduction on zeros (through the comm
        hook when there is one), then the used-parameter mask, in the order the training processes run them."""
        with no_grad():
            works = []
            for index, bucket in enumerate(self._buckets):
                flat = zeros(sum(p.numel() for p in bucket.params), dtype=bucket.params[0].dtype,
                             device=bucket.params[0].device)
                if self._comm_hook is None:
                    works.append(dist.all_reduce(flat, group=self.process_group, async_op=True))
                else:
                    state, hook = self._comm_hook
                    works.append(hook(state, GradBucket(index, flat, bucket.params, index == len(self._buckets) - 1)))
            for work in works:
                work.wait()
            if self.find_unused_parameters:
                mask = tensor([False] * sum(len(b.params) for b in self._buckets), device=self.join_device)
                dist.all_reduce(mask, op=dist.ReduceOp.MAX, group=self.process_group)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward only accumulates local gradients; the first synchronised backward after it averages
        the accumulated sums."""
        previous, self._require_sync = self._require_sync, False
        try:
            yield
        finally:
            self._require_sync = previous


class _DDPJoinHook(JoinHook):
    """DDP's part in a join context: shadow the others' forward and backward collectives while they train, then
    give every process the model of the highest rank among the last to finish."""

    def __init__(self, ddp, divide_by_initial_world_size):
        self.ddp = ddp
        ddp._divide_by_initial_world_size = divide_by_initial_world_size

    def main_hook(self):
        ddp = self.ddp
        if ddp._will_sync_buffers():
            ddp._broadcast(list(ddp.module.buffers()), ddp._common_rank(False))
        ddp._sync_buffers = ddp._global_sync_flag(False)
        if ddp._sync_buffers and ddp._buckets:
            ddp._shadow_backward()

    def post_hook(self, is_last_joiner: bool):
        ddp = self.ddp
        src = ddp._common_rank(is_last_joiner)
        ddp._broadcast(list(ddp.module.parameters()) + (list(ddp.module.buffers()) if ddp.broadcast_buffers else []),
                       src)


def _buckets(params, cap_bytes):
    """Consecutive runs of ``params`` of one dtype and device, each up to ``cap_bytes`` (a parameter larger than
    the cap gets a bucket of its own)."""
    buckets, current, size = [], [], 0
    for p in params:
        nbytes = p.numel() * p.dtype.itemsize
        if current and (size + nbytes > cap_bytes or p.dtype is not current[0].dtype
                        or p.device != current[0].device):
            buckets.append(_Bucket(current))
            current, size = [], 0
        current.append(p)
        size += nbytes
    if current:
        buckets.append(_Bucket(current))
    return buckets


def _reachable_leaves(out):
    """``id``s of the leaf tensors the autograd graph behind ``out`` (a tensor or nested tuple/list/dict) reaches."""
    stack, seen, leaves = [], set(), set()

    def visit(obj):
        if isinstance(obj, Tensor):
            if obj._node is not None:
                stack.append(obj._node)
            elif obj.requires_grad:
                leaves.add(id(obj))
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                visit(item)
        elif isinstance(obj, dict):
            for item in obj.values():
                visit(item)

    visit(out)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for edge in node._edges:
            if type(edge) is tuple:
                stack.append(edge[0])
            elif edge is not None:
                leaves.add(id(edge))
    return leaves
