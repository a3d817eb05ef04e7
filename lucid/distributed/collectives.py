"""Collectives on tensors: all_reduce, broadcast, all_gather, reduce_scatter, ... (``torch.distributed``'s).

Each one checks its tensors, hands their arrays to the process group's transport and writes the result
into the tensors it was given; with ``async_op=True`` it returns the :class:`Work` at once and the result
lands when ``wait()`` returns. The tensors' version counters are bumped when the call is made, so a
tensor that autograd saved and a collective then overwrote is caught at backward.
"""

from __future__ import annotations

from .._tensor import Tensor
from .common import DistributedError, ReduceOp
from .process_group import current_transport

__all__ = [
    "ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce", "barrier",
    "broadcast", "broadcast_object_list", "reduce", "reduce_scatter_tensor",
]


class Work:
    """A collective in flight: ``wait()`` finishes it (and writes its result), ``is_completed()`` polls."""

    def __init__(self, request, finish=None):
        self._request, self._finish, self._done = request, finish, False

    def wait(self, timeout=None) -> bool:
        if not self._done:
            self._request.wait()
            if self._finish is not None:
                self._finish(self._request.result())
            self._done = True
        return True

    def is_completed(self) -> bool:
        if not self._done and self._request.test():
            self.wait()
        return self._done

    def result(self):
        self.wait()
        return None


def _run(request, finish, async_op):
    work = Work(request, finish)
    if async_op:
        return work
    work.wait()
    return None


def _checked(tensor, what, transport):
    """The tensor's array, after checking that ``tensor`` is a Tensor this transport can carry."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what} takes lucid Tensors, not {type(tensor).__name__}")
    transport.check_device(tensor.device, what)
    return tensor._data


def _reduce_op(op, tensor, what):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{what}: op must be a lucid.distributed.ReduceOp, not {op!r}")
    if op is ReduceOp.AVG and tensor.dtype.kind != "f":
        raise TypeError(f"{what}: ReduceOp.AVG needs a floating tensor, not {tensor.dtype.name}; "
                        "use SUM and divide yourself")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and tensor.dtype.kind == "f":
        raise TypeError(f"{what}: {op.name} needs an integer or bool tensor, not {tensor.dtype.name}")
    return op


def _check_group(group, what):
    if group not in (None, "WORLD"):
        raise DistributedError(f"{what}: lucid has only the default group (group=None); got {group!r}")


def _written(*tensors):
    for t in tensors:
        t._version[0] += 1


def _writer(tensor, scale=None):
    """A finish step that puts the collective's result into ``tensor`` (divided by ``scale`` for AVG); nothing
    to copy when the transport wrote into the tensor's own memory."""
    def finish(result):
        value = result if scale is None else result / scale
        if value is not tensor._data:
            tensor._data[...] = tensor.xp.reshape(value, tensor.shape)
    return finish


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` across all processes with ``op``; every process ends with the result."""
    _check_group(group, "all_reduce")
    transport = current_transport()
    data = _checked(tensor, "all_reduce", transport)
    op = _reduce_op(op, tensor, "all_reduce")
    request = transport.all_reduce(data, op)
    _written(tensor)
    scale = transport.world_size if op is ReduceOp.AVG else None
    return _run(request, _writer(tensor, scale), async_op)


def reduce(tensor, dst=0, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` across processes into process ``dst``'s tensor; the others' tensors are unchanged."""
    _check_group(group, "reduce")
    transport = current_transport()
    data = _checked(tensor, "reduce", transport)
    op = _reduce_op(op, tensor, "reduce")
    _check_rank(dst, transport, "reduce", "dst")
    request = transport.reduce(data, op, dst)
    if transport.rank != dst:
        return _run(request, None, async_op)
    _written(tensor)
    scale = transport.world_size if op is ReduceOp.AVG else None
    return _run(request, _writer(tensor, scale), async_op)


def broadcast(tensor, src=0, group=None, async_op=False):
    """Give every process a copy of process ``src``'s ``tensor`` (written into theirs)."""
    _check_group(group, "broadcast")
    transport = current_transport()
    data = _checked(tensor, "broadcast", transport)
    _check_rank(src, transport, "broadcast", "src")
    request = transport.broadcast(data, src)
    if transport.rank != src:
        _written(tensor)
    return _run(request, _writer(tensor), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """``tensor_list[i]`` takes process i's ``tensor``; the list holds one tensor per process, each of
    ``tensor``'s shape and dtype."""
    _check_group(group, "all_gather")
    transport = current_transport()
    data = _checked(tensor, "all_gather", transport)
    if len(tensor_list) != transport.world_size:
        raise DistributedError(f"all_gather: tensor_list has {len(tensor_list)} tensors but the world has "
                               f"{transport.world_size} processes")
    for i, out in enumerate(tensor_list):
        _checked(out, "all_gather", transport)
        if out.shape != tensor.shape or out.dtype is not tensor.dtype:
            raise DistributedError(f"all_gather: tensor_list[{i}] is {out.dtype.name}{list(out.shape)}, the input "
                                   f"{tensor.dtype.name}{list(tensor.shape)}; they must match")
    request = transport.all_gather(data)
    _written(*tensor_list)

    def finish(gathered):
        for i, out in enumerate(tensor_list):
            out._data[...] = tensor.xp.reshape(gathered[i], tensor.shape)
    return _run(request, finish, async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Concatenate (along dim 0) or stack every process's ``input_tensor`` into ``output_tensor``."""
    _check_group(group, "all_gather_into_tensor")
    transport = current_transport()
    data = _checked(input_tensor, "all_gather_into_tensor", transport)
    _checked(output_tensor, "all_gather_into_tensor", transport)
    _check_sizes(output_tensor, input_tensor, transport.world_size, "all_gather_into_tensor", "output")
    request = transport.all_gather(data)
    _written(output_tensor)
    return _run(request, _writer(output_tensor), async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` (world size x ``output``'s elements) across processes; process i keeps block i."""
    _check_group(group, "reduce_scatter_tensor")
    transport = current_transport()
    data = _checked(input, "reduce_scatter_tensor", transport)
    _checked(output, "reduce_scatter_tensor", transport)
    op = _reduce_op(op, input, "reduce_scatter_tensor")
    _check_sizes(input, output, transport.world_size, "reduce_scatter_tensor", "input")
    request = transport.reduce_scatter(data, op)
    _written(output)
    scale = transport.world_size if op is ReduceOp.AVG else None
    return _run(request, _writer(output, scale), async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every process has reached this call."""
    _check_group(group, "barrier")
    return _run(current_transport().barrier(), None, async_op)


def broadcast_object_list(object_list, src=0, group=None, device=None):
    """Replace every process's ``object_list`` items by process ``src``'s (pickled: trusted peers only)."""
    _check_group(group, "broadcast_object_list")
    transport = current_transport()
    _check_rank(src, transport, "broadcast_object_list", "src")
    objects = transport.broadcast_object(list(object_list) if transport.rank == src else None, src)
    if len(objects) != len(object_list):
        raise DistributedError(f"broadcast_object_list: process {src} sent {len(objects)} objects, this process "
                               f"(rank {transport.rank}) has a list of {len(object_list)}")
    object_list[:] = objects


def all_gather_object(object_list, obj, group=None):
    """``object_list[i]`` takes process i's ``obj`` (pickled: trusted peers only)."""
    _check_group(group, "all_gather_object")
    transport = current_transport()
    if len(object_list) != transport.world_size:
        raise DistributedError(f"all_gather_object: object_list has {len(object_list)} slots but the world has "
                               f"{transport.world_size} processes")
    object_list[:] = transport.all_gather_object(obj)


def _check_rank(rank, transport, what, name):
    if not isinstance(rank, int) or not 0 <= rank < transport.world_size:
        raise DistributedError(f"{what}: {name}={rank!r} is not a rank of this world (0..{transport.world_size - 1})")


def _check_sizes(big, small, world, what, name):
    if big.dtype is not small.dtype:
        raise DistributedError(f"{what}: dtypes differ ({big.dtype.name} and {small.dtype.name})")
    concatenated = [world * small.shape[0], *small.shape[1:]] if small.ndim else None
    stacked = [world, *small.shape]
    if list(big.shape) not in (concatenated, stacked):
        raise DistributedError(f"{what}: the {name} tensor has shape {list(big.shape)}; with {world} processes and "
                               f"blocks of shape {list(small.shape)} it must be {stacked} (stacked)"
                               + (f" or {concatenated} (concatenated)" if concatenated else ""))
