"""Differentiable collectives: they return new tensors (the inputs are left alone) and carry gradients back
to every process, so a loss built from statistics of all processes (SyncBatchNorm) trains correctly.

``all_reduce`` with SUM: each process's output is the sum of all inputs, so the gradient of an input is the
sum over processes of their output gradients (another all-reduce). ``all_gather``: the gradient of a
process's input is the sum over processes of the gradient slices that belong to it.
"""

from __future__ import annotations

from ...autograd.function import Function
from ..common import ReduceOp
from ..process_group import current_transport

__all__ = ["all_reduce", "all_gather"]


def _reduced(array, op=ReduceOp.SUM):
    request = current_transport().all_reduce(array, op)
    request.wait()
    return request.result()


class AllReduceSum(Function):
    def forward(self, x):
        return self.xp.reshape(_reduced(self.xp.asarray(x, copy=True)), x.shape)

    def backward(self, g):
        return AllReduceSum.apply(g)


class AllGather(Function):
    def forward(self, x):
        request = current_transport().all_gather(x)
        request.wait()
        return self.xp.reshape(request.result(), (-1, *x.shape))

    def backward(self, g):
        return AllReduceSum.apply(g)[current_transport().rank]


def all_reduce(tensor, op=ReduceOp.SUM, group=None):
    """The SUM of ``tensor`` over all processes, as a new tensor whose gradient flows back to every process."""
    if op is not ReduceOp.SUM:
        raise NotImplementedError(f"lucid.distributed.nn.functional.all_reduce differentiates SUM only, not {op}")
    current_transport().check_device(tensor.device, "all_reduce")
    return AllReduceSum.apply(tensor)


def all_gather(tensor, group=None):
    """Every process's ``tensor``, as a tuple of new tensors (one per rank) that autograd differentiates."""
    current_transport().check_device(tensor.device, "all_gather")
    return tuple(AllGather.apply(tensor).unbind(0))
