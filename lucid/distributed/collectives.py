"""Collectives and point-to-point transfers on tensors (``torch.distributed``'s), on a process group.

Each one checks its tensors, hands their arrays to the group's transport and writes the result into the
tensors it was given; with ``async_op=True`` (or ``isend``/``irecv``/``batch_isend_irecv``) it returns the
:class:`Work` at once and the result lands when ``wait()`` returns (or its ``get_future()`` is waited on). The
tensors' version counters are bumped when the call is made, so a tensor that autograd saved and a collective then
overwrote is caught at backward.
``src``/``dst``/``peer`` are global ranks (``group_src``/``group_dst``/``group_peer`` the rank in ``group``);
on a process outside ``group`` (``GroupMember.NON_GROUP_MEMBER``) a collective warns and returns None.
Object collectives pickle: use them with trusted peers only.
"""

from __future__ import annotations

import datetime
import math
import time
import warnings

from .._tensor import Tensor
from ..autograd import no_grad
from ..futures import Future
from .common import DistributedError, ReduceOp, _PremulSum, default_pg_timeout, pickled, unpickled
from .process_group import GroupMember, resolve_group

__all__ = [
    "P2POp", "ReduceOp", "Work", "all_gather", "all_gather_coalesced", "all_gather_into_tensor", "all_gather_object",
    "all_reduce", "all_reduce_coalesced", "all_to_all", "all_to_all_single", "barrier", "batch_isend_irecv",
    "broadcast", "broadcast_object_list", "gather",
    "gather_object", "irecv", "isend", "monitored_barrier", "recv", "recv_object_list", "reduce", "reduce_scatter",
    "reduce_scatter_tensor", "scatter", "scatter_object_list", "send", "send_object_list",
]

_MONITOR_TAG = 32767  # monitored_barrier's messages (the largest tag every MPI allows)


class Work:
    """A collective in flight: ``wait()`` finishes it (and writes its result), ``is_completed()`` polls,
    ``get_future()`` gives a :class:`lucid.futures.Future` of its output tensors."""

    def __init__(self, request, finish=None, outputs=()):
        self._request, self._finish, self._outputs = request, finish, list(outputs)
        self._done, self._exception, self._future = False, None, None

    def wait(self, timeout=None) -> bool:
        if not self._done:
            self._done = True  # set first: the future's callbacks may wait on this Work again
            try:
                self._request.wait()
                if self._finish is not None:
                    self._finish(self._request.result())
            except Exception as e:
                self._exception = e
            if self._future is not None:
                self._settle(self._future)
        if self._exception is not None:
            raise self._exception
        return True

    def is_completed(self) -> bool:
        if not self._done and self._request.test():
            self.wait()
        return self._done

    def result(self) -> list:
        """The output tensors of a completed Work (as ``get_future()``'s value); RuntimeError before, as torch."""
        if not self.is_completed():
            raise RuntimeError("Work.result(): the collective has not completed; call wait() before result()")
        if self._exception is not None:
            raise self._exception
        return list(self._outputs)

    def exception(self):
        """The exception the collective failed with, None while it has not failed."""
        return self._exception

    def get_future(self) -> _WorkFuture:
        """A future of the output tensors, completed when the collective finishes (at once if it has): ``[tensor]``
        for ``all_reduce``, ``broadcast``, ``reduce``, ``scatter``, ``all_to_all_single``; the list given for
        ``all_gather``/``all_to_all`` (``gather``: ``gather_list`` on ``dst``, ``[]`` elsewhere); ``[]`` for
        ``barrier``, as torch's gloo. Where gloo has no future, lucid chooses NCCL's one-output value: ``[output]``
        for ``reduce_scatter``/``reduce_scatter_tensor``/``all_gather_into_tensor``, ``[tensor]`` for
        ``isend``/``irecv``. Getting it does not block; its ``wait()``/``value()`` finish the collective."""
        if self._future is None:
            self._future = _WorkFuture(self)
            if self._done:
                self._settle(self._future)
        return self._future

    def _settle(self, future):
        if self._exception is not None:
            future.set_exception(self._exception)
        else:
            future.set_result(list(self._outputs))


class _WorkFuture(Future):
    """The future of a :class:`Work` and the futures chained on it with ``then()``. No thread finishes an MPI
    request in the background, so ``wait()``, ``value()`` and ``done()`` drive the Work first (``value()`` thus
    waits where torch's would raise); ``then()`` callbacks run when the Work is finished."""

    def __init__(self, work):
        super().__init__()
        self._work = work

    def value(self):
        self._drive()
        return super().value()

    def done(self) -> bool:
        return self._work.is_completed() and super().done()

    def _drive(self):
        try:
            self._work.wait()
        except Exception:  # this future (or the one it is chained on) carries the error
            pass

    def _successor(self) -> _WorkFuture:
        return _WorkFuture(self._work)


def _run(request, finish, async_op, outputs=()):
    work = Work(request, finish, outputs)
    if async_op:
        return work
    work.wait()
    return None


# ---- argument checks -----------------------------------------------------------------------------------------
def _checked(tensor, what, transport, name="tensor"):
    """The tensor's array, after checking that ``tensor`` is a Tensor this transport can carry."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what} takes lucid Tensors; {name} is a {type(tensor).__name__}")
    transport.check_device(tensor.device, what)
    return tensor._data


def _like(tensor, model, what, name, model_name):
    """``tensor`` must have ``model``'s dtype (ValueError, as torch) and shape (DistributedError)."""
    if tensor.dtype is not model.dtype:
        raise ValueError(f"{what}: {name} is {tensor.dtype.name} but {model_name} is {model.dtype.name}; all the "
                         "tensors of one call must have the same dtype")
    if tensor.shape != model.shape:
        raise DistributedError(f"{what}: {name} has shape {list(tensor.shape)} but {model_name} has shape "
                               f"{list(model.shape)}; they must match")


def _blocks(tensors, pg, what, name, model=None, model_name="tensor"):
    """The arrays of ``tensors``, one per process of ``pg`` (each like ``model`` when given; else of one dtype)."""
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{what}: {name} must be a list of lucid Tensors, not {type(tensors).__name__}")
    if len(tensors) != pg.size():
        raise DistributedError(f"{what}: {name} has {len(tensors)} tensors but the group has {pg.size()} processes; "
                               "give one per process")
    arrays = [_checked(t, what, pg.transport, f"{name}[{i}]") for i, t in enumerate(tensors)]
    for i, t in enumerate(tensors):
        if model is not None:
            _like(t, model, what, f"{name}[{i}]", model_name)
        elif t.dtype is not tensors[0].dtype:
            raise ValueError(f"{what}: {name}[{i}] is {t.dtype.name} but {name}[0] is {tensors[0].dtype.name}; all "
                             "the tensors of one call must have the same dtype")
    return arrays


def _reduction(op, tensor, what):
    """``(ReduceOp, premultiplying factor or None)`` for ``op``, checked against ``tensor``'s dtype."""
    factor = None
    if isinstance(op, _PremulSum):
        op, factor = op.op, op.factor
    elif op is ReduceOp.PREMUL_SUM:
        raise TypeError(f"{what}: ReduceOp.PREMUL_SUM needs its factor: pass "
                        "op=lucid.distributed._make_nccl_premul_sum(factor)")
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{what}: op must be a lucid.distributed.ReduceOp, not {op!r}")
    if op in (ReduceOp.AVG, ReduceOp.PREMUL_SUM) and tensor.dtype.kind != "f":
        raise TypeError(f"{what}: ReduceOp.{op.name} needs a floating tensor, not {tensor.dtype.name}; "
                        "use SUM and scale yourself")
    if tensor.dtype.kind == "c" and op not in (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PREMUL_SUM):
        raise ValueError(f"{what} does not support ReduceOp.{op.name} on complex tensors (complex numbers have no "
                         "order; SUM, AVG and PREMUL_SUM work)")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and tensor.dtype.kind == "f":
        raise TypeError(f"{what}: {op.name} needs an integer or bool tensor, not {tensor.dtype.name}")
    if isinstance(factor, Tensor) and factor.numel() != 1:
        raise ValueError(f"{what}: the PREMUL_SUM factor must be a number or a one-element tensor, not a tensor of "
                         f"shape {list(factor.shape)}")
    return op, factor


def _premultiplied(data, factor, model):
    """``data`` times the PREMUL_SUM ``factor`` in ``model``'s dtype, as a new array (``data`` when no factor)."""
    if factor is None:
        return data
    if isinstance(factor, Tensor):
        with no_grad():
            factor = factor.reshape(()).to(model.dtype)._data  # a device mismatch raises here
    return data * factor


def _scale(op, pg):
    return pg.size() if op is ReduceOp.AVG else None


def _group_rank(pg, rank, group_rank, what, name, default=None):
    """The rank in ``pg`` of the process named by the global ``rank`` or by ``group_rank`` (``default``, a
    global rank, when neither is given; ValueError when there is no default)."""
    if rank is not None and group_rank is not None:
        raise ValueError(f"{what}: give {name} (a global rank) or group_{name} (a rank in the group), not both")
    if group_rank is not None:
        if isinstance(group_rank, bool) or not isinstance(group_rank, int) or not 0 <= group_rank < pg.size():
            raise DistributedError(f"{what}: group_{name}={group_rank!r} is not a rank of the group "
                                   f"(0..{pg.size() - 1})")
        return group_rank
    if rank is None:
        if default is None:
            raise ValueError(f"{what}: Must specify {name} (a global rank) or group_{name}")
        rank = default
    if pg is GroupMember.WORLD:
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < pg.size():
            raise DistributedError(f"{what}: {name}={rank!r} is not a rank of this world (0..{pg.size() - 1})")
        return rank
    if rank not in pg.ranks:
        raise ValueError(f"{what}: {name}={rank!r} (a global rank) is not part of the group {pg.ranks}; pass a "
                         f"member's global rank or group_{name}")
    return pg.ranks.index(rank)


def _not_self(pg, peer, what, kind):
    if peer == pg.rank():
        raise ValueError(f"{what}: Invalid {kind} rank: {kind} rank should not be the same as the rank of the "
                         "current process.")


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


def _list_writer(tensors, counts=None):
    """A finish step that puts row i of the result (or, with ``counts``, the i-th run of ``counts[i]`` elements
    of a flat result) into ``tensors[i]``."""
    def finish(result):
        start = 0
        for i, out in enumerate(tensors):
            piece = result[i] if counts is None else result[start:start + counts[i]]
            start += 0 if counts is None else counts[i]
            out._data[...] = out.xp.reshape(piece, out.shape)
    return finish


def _flat(arrays, xp):
    return xp.concat([xp.reshape(a, (-1,)) for a in arrays])


# ---- reducing collectives ------------------------------------------------------------------------------------
def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` across the group's processes with ``op``; every process ends with the result."""
    if (pg := resolve_group(group, "all_reduce")) is None:
        return None
    data = _checked(tensor, "all_reduce", pg.transport)
    op, factor = _reduction(op, tensor, "all_reduce")
    request = pg.transport.all_reduce(_premultiplied(data, factor, tensor), op)
    _written(tensor)
    return _run(request, _writer(tensor, _scale(op, pg)), async_op, [tensor])


def _same_dtype(tensors, what, name, transport):
    """The arrays of the non-empty list ``tensors`` (of any shapes, one dtype)."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError(f"{what}: {name} must be a non-empty list of lucid Tensors, not {tensors!r}")
    arrays = [_checked(t, what, transport, f"{name}[{i}]") for i, t in enumerate(tensors)]
    for i, t in enumerate(tensors):
        if t.dtype is not tensors[0].dtype:
            raise ValueError(f"{what}: {name}[{i}] is {t.dtype.name} but {name}[0] is {tensors[0].dtype.name}; all "
                             "the tensors of one call must have the same dtype")
    return list(tensors), arrays


def _deprecated(what):
    warnings.warn(f"`lucid.distributed.{what}` will be deprecated, as torch's: call the plain collective on each "
                  "tensor (or on one flat tensor) instead", FutureWarning, stacklevel=3)


def _future_or_none(work):
    """torch's coalesced collectives answer ``async_op=True`` with the Work's future, not the Work."""
    return None if work is None else work.get_future()


def all_reduce_coalesced(tensors, op=ReduceOp.SUM, group=None, async_op=False):
    """:func:`all_reduce` of every tensor of ``tensors`` (one dtype, any shapes) in one flat message; with
    ``async_op`` a future of ``tensors`` (as torch). Every process must pass the same shapes: as with torch,
    nothing checks that across processes."""
    _deprecated("all_reduce_coalesced")
    if (pg := resolve_group(group, "all_reduce_coalesced")) is None:
        return None
    tensors, arrays = _same_dtype(tensors, "all_reduce_coalesced", "tensors", pg.transport)
    op, factor = _reduction(op, tensors[0], "all_reduce_coalesced")
    flat = _premultiplied(_flat(arrays, tensors[0].xp), factor, tensors[0])
    request = pg.transport.all_reduce(flat, op)
    _written(*tensors)
    scale, write = _scale(op, pg), _list_writer(tensors, [t.numel() for t in tensors])
    finish = (lambda result: write(result if scale is None else result / scale))
    return _future_or_none(_run(request, finish, async_op, tensors))


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Combine ``tensor`` across processes into process ``dst``'s tensor (global rank 0 by default); the
    others' tensors are unchanged."""
    if (pg := resolve_group(group, "reduce")) is None:
        return None
    data = _checked(tensor, "reduce", pg.transport)
    op, factor = _reduction(op, tensor, "reduce")
    dst = _group_rank(pg, dst, group_dst, "reduce", "dst", default=0)
    request = pg.transport.reduce(_premultiplied(data, factor, tensor), op, dst)
    if pg.rank() != dst:
        return _run(request, None, async_op, [tensor])
    _written(tensor)
    return _run(request, _writer(tensor, _scale(op, pg)), async_op, [tensor])


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` (group size x ``output``'s elements) across processes; process i keeps block i."""
    if (pg := resolve_group(group, "reduce_scatter_tensor")) is None:
        return None
    data = _checked(input, "reduce_scatter_tensor", pg.transport, "input")
    _checked(output, "reduce_scatter_tensor", pg.transport, "output")
    op, factor = _reduction(op, input, "reduce_scatter_tensor")
    _check_sizes(input, output, pg.size(), "reduce_scatter_tensor", "input")
    request = pg.transport.reduce_scatter(_premultiplied(data, factor, input), op)
    _written(output)
    return _run(request, _writer(output, _scale(op, pg)), async_op, [output])


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input_list`` (one tensor of ``output``'s shape per process) across processes; process i gets
    the reduction of every process's ``input_list[i]``."""
    if (pg := resolve_group(group, "reduce_scatter")) is None:
        return None
    _checked(output, "reduce_scatter", pg.transport, "output")
    arrays = _blocks(input_list, pg, "reduce_scatter", "input_list", output, "output")
    op, factor = _reduction(op, output, "reduce_scatter")
    request = pg.transport.reduce_scatter(_premultiplied(_flat(arrays, output.xp), factor, output), op)
    _written(output)
    return _run(request, _writer(output, _scale(op, pg)), async_op, [output])


# ---- collectives that move data --------------------------------------------------------------------------------
def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Give every process a copy of process ``src``'s ``tensor`` (global rank 0 by default), written into theirs."""
    if (pg := resolve_group(group, "broadcast")) is None:
        return None
    data = _checked(tensor, "broadcast", pg.transport)
    src = _group_rank(pg, src, group_src, "broadcast", "src", default=0)
    request = pg.transport.broadcast(data, src)
    if pg.rank() != src:
        _written(tensor)
    return _run(request, _writer(tensor), async_op, [tensor])


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """``tensor_list[i]`` takes process i's ``tensor``; the list holds one tensor per process, each of
    ``tensor``'s shape and dtype."""
    if (pg := resolve_group(group, "all_gather")) is None:
        return None
    data = _checked(tensor, "all_gather", pg.transport)
    _blocks(tensor_list, pg, "all_gather", "tensor_list", tensor)
    request = pg.transport.all_gather(data)
    _written(*tensor_list)
    return _run(request, _list_writer(tensor_list), async_op, tensor_list)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Concatenate (along dim 0) or stack every process's ``input_tensor`` into ``output_tensor``."""
    if (pg := resolve_group(group, "all_gather_into_tensor")) is None:
        return None
    data = _checked(input_tensor, "all_gather_into_tensor", pg.transport, "input_tensor")
    _checked(output_tensor, "all_gather_into_tensor", pg.transport, "output_tensor")
    _check_sizes(output_tensor, input_tensor, pg.size(), "all_gather_into_tensor", "output")
    request = pg.transport.all_gather(data)
    _written(output_tensor)
    return _run(request, _writer(output_tensor), async_op, [output_tensor])


def all_gather_coalesced(output_tensor_lists, input_tensor_list, group=None, async_op=False):
    """:func:`all_gather` of every tensor of ``input_tensor_list`` (one dtype) in one message:
    ``output_tensor_lists[r][i]`` takes process r's ``input_tensor_list[i]``; with ``async_op`` a future of
    ``output_tensor_lists`` (as torch)."""
    _deprecated("all_gather_coalesced")
    if (pg := resolve_group(group, "all_gather_coalesced")) is None:
        return None
    inputs, arrays = _same_dtype(input_tensor_list, "all_gather_coalesced", "input_tensor_list", pg.transport)
    if not isinstance(output_tensor_lists, list):
        raise TypeError("Invalid function argument: output_tensor_lists should be a list")
    if len(output_tensor_lists) != pg.size():
        raise DistributedError(f"all_gather_coalesced: output_tensor_lists has {len(output_tensor_lists)} lists but "
                               f"the group has {pg.size()} processes; give one list per process")
    for r, outputs in enumerate(output_tensor_lists):
        if not isinstance(outputs, (list, tuple)) or len(outputs) != len(inputs):
            raise DistributedError(f"all_gather_coalesced: output_tensor_lists[{r}] must be a list of "
                                   f"{len(inputs)} tensors, one per input tensor")
        for i, (out, model) in enumerate(zip(outputs, inputs)):
            _checked(out, "all_gather_coalesced", pg.transport, f"output_tensor_lists[{r}][{i}]")
            _like(out, model, "all_gather_coalesced", f"output_tensor_lists[{r}][{i}]", f"input_tensor_list[{i}]")
    request = pg.transport.all_gather(_flat(arrays, inputs[0].xp))
    targets = [out for outputs in output_tensor_lists for out in outputs]
    _written(*targets)
    write = _list_writer(targets, [t.numel() for t in targets])
    finish = (lambda result: write(inputs[0].xp.reshape(result, (-1,))))
    return _future_or_none(_run(request, finish, async_op, output_tensor_lists))


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """Process ``dst`` (global rank 0 by default) gets every process's ``tensor`` in ``gather_list`` (one
    tensor per process, each like ``tensor``); the other processes pass no list."""
    if (pg := resolve_group(group, "gather")) is None:
        return None
    data = _checked(tensor, "gather", pg.transport)
    dst = _group_rank(pg, dst, group_dst, "gather", "dst", default=0)
    if pg.rank() == dst:
        if not gather_list:
            raise ValueError("gather: Argument ``gather_list`` must be specified on destination rank.")
        _blocks(gather_list, pg, "gather", "gather_list", tensor)
    elif gather_list:
        raise ValueError("gather: Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    request = pg.transport.gather(data, dst)
    if pg.rank() != dst:
        return _run(request, None, async_op)
    _written(*gather_list)
    return _run(request, _list_writer(gather_list), async_op, gather_list)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """Process i's ``tensor`` takes ``scatter_list[i]`` of process ``src`` (global rank 0 by default), whose list
    holds one tensor like ``tensor`` per process; the other processes pass no list."""
    if (pg := resolve_group(group, "scatter")) is None:
        return None
    data = _checked(tensor, "scatter", pg.transport)
    src = _group_rank(pg, src, group_src, "scatter", "src", default=0)
    stacked = None
    if pg.rank() == src:
        if not scatter_list:
            raise ValueError("scatter: Argument ``scatter_list`` must be specified on source rank.")
        stacked = tensor.xp.stack(_blocks(scatter_list, pg, "scatter", "scatter_list", tensor))
    elif scatter_list:
        raise ValueError("scatter: Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    request = pg.transport.scatter(stacked, data, src)
    _written(tensor)
    return _run(request, _writer(tensor), async_op, [tensor])


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """Process r's ``output_tensor_list[i]`` takes process i's ``input_tensor_list[r]`` (one tensor per process in
    each list, all of one dtype; the pieces exchanged between two processes must have the same size)."""
    if (pg := resolve_group(group, "all_to_all")) is None:
        return None
    inputs = _blocks(input_tensor_list, pg, "all_to_all", "input_tensor_list")
    _blocks(output_tensor_list, pg, "all_to_all", "output_tensor_list")
    if output_tensor_list[0].dtype is not input_tensor_list[0].dtype:
        raise ValueError(f"all_to_all: the outputs are {output_tensor_list[0].dtype.name}, the inputs "
                         f"{input_tensor_list[0].dtype.name}; all the tensors must have the same dtype")
    recv_counts = [t.numel() for t in output_tensor_list]
    request = pg.transport.all_to_all(_flat(inputs, input_tensor_list[0].xp), [t.numel() for t in input_tensor_list],
                                      recv_counts)
    _written(*output_tensor_list)
    return _run(request, _list_writer(output_tensor_list, recv_counts), async_op, output_tensor_list)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None, async_op=False):
    """Split ``input`` along dim 0 (``input_split_sizes`` rows for each process, equal parts by default), send
    part r to process r, and concatenate the parts received, in rank order, into ``output`` (split by
    ``output_split_sizes``). Both tensors have the same dtype and the same sizes beyond dim 0."""
    if (pg := resolve_group(group, "all_to_all_single")) is None:
        return None
    data = _checked(input, "all_to_all_single", pg.transport, "input")
    _checked(output, "all_to_all_single", pg.transport, "output")
    if output.dtype is not input.dtype:
        raise ValueError(f"all_to_all_single: output is {output.dtype.name}, input {input.dtype.name}; they must "
                         "have the same dtype")
    if input.ndim == 0 or output.ndim == 0 or output.shape[1:] != input.shape[1:]:
        raise DistributedError(f"all_to_all_single: input {list(input.shape)} and output {list(output.shape)} must "
                               "have at least one dimension and the same sizes beyond dim 0")
    row = math.prod(input.shape[1:])
    send = _splits(input_split_sizes, input, pg.size(), "input")
    recv = _splits(output_split_sizes, output, pg.size(), "output")
    request = pg.transport.all_to_all(input.xp.reshape(data, (-1,)), [n * row for n in send], [n * row for n in recv])
    _written(output)
    return _run(request, _writer(output), async_op, [output])


def _splits(sizes, tensor, world, name):
    """Rows of ``tensor`` (along dim 0) for each process: ``sizes``, or equal parts when None or empty."""
    rows = tensor.shape[0]
    if not sizes:
        if rows % world:
            raise DistributedError(f"all_to_all_single: {name} has {rows} rows along dim 0, which the group's {world} "
                                   f"processes cannot share equally; pass {name}_split_sizes")
        return [rows // world] * world
    sizes = [int(n) for n in sizes]
    if len(sizes) != world or min(sizes) < 0 or sum(sizes) != rows:
        raise DistributedError(f"all_to_all_single: {name}_split_sizes {sizes} must give one non-negative row count "
                               f"per process ({world}) adding up to {name}'s {rows} rows along dim 0")
    return sizes


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every process of the group has reached this call."""
    if (pg := resolve_group(group, "barrier")) is None:
        return None
    return _run(pg.transport.barrier(), None, async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """A barrier that fails instead of hanging: rank 0 of the group waits up to ``timeout`` (a timedelta or
    seconds; 30 minutes by default) for every other process and raises naming the first late one (all of them
    with ``wait_all_ranks``, by global rank); the others raise when rank 0 does not release them in time.
    torch has it on Gloo only; lucid runs it on every backend. After a failure the group should not be used
    again (the late processes' messages are still pending), as with torch."""
    if (pg := resolve_group(group, "monitored_barrier")) is None:
        return None
    timeout = default_pg_timeout if timeout is None else timeout
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else float(timeout)
    transport, xp = pg.transport, pg.transport.xp
    deadline = time.monotonic() + seconds
    if pg.rank() != 0:
        transport.p2p([(True, xp.zeros(1, dtype=xp.uint8), 0, _MONITOR_TAG)])[0].wait()
        if not _settled(transport.p2p([(False, xp.zeros(1, dtype=xp.uint8), 0, _MONITOR_TAG)]), deadline):
            raise DistributedError(f"monitored_barrier: rank {pg.ranks[0]} did not release rank {pg.ranks[pg.rank()]} "
                                   f"within {seconds * 1000:.0f} ms (another process failed to reach the barrier)")
        return None
    arrived = transport.p2p([(False, xp.zeros(1, dtype=xp.uint8), r, _MONITOR_TAG) for r in range(1, pg.size())])
    _settled(arrived, deadline)
    late = [pg.ranks[r] for r, request in enumerate(arrived, 1) if not request.test()]
    if late:
        who = f"Ranks {', '.join(map(str, late))}" if wait_all_ranks else f"Rank {late[0]}"
        raise DistributedError(f"[Rank {pg.ranks[0]}]: {who} failed to pass monitoredBarrier in "
                               f"{seconds * 1000:.0f} ms")
    for request in transport.p2p([(True, xp.zeros(1, dtype=xp.uint8), r, _MONITOR_TAG) for r in range(1, pg.size())]):
        request.wait()
    return None


def _settled(requests, deadline) -> bool:
    """Poll ``requests`` until all are complete (True) or ``deadline`` passes (False)."""
    while not all(request.test() for request in requests):
        if time.monotonic() > deadline:
            return False
        time.sleep(1e-3)
    return True


# ---- point to point --------------------------------------------------------------------------------------------
def _p2p(pg, ops, what):
    """Start ``(is_send, tensor, group_peer, tag)`` operations on ``pg``; one :class:`Work` each."""
    arrays = []
    for _, tensor, _, tag in ops:
        arrays.append(_checked(tensor, what, pg.transport))
        if isinstance(tag, bool) or not isinstance(tag, int) or tag < 0:
            raise ValueError(f"{what}: tag must be a non-negative int, not {tag!r}")
    requests = pg.transport.p2p([(is_send, a, peer, tag) for (is_send, _, peer, tag), a in zip(ops, arrays)])
    works = []
    for (is_send, tensor, _, _), request in zip(ops, requests):
        if not is_send:
            _written(tensor)
        works.append(Work(request, None if is_send else _writer(tensor), [tensor]))
    return works


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Start sending ``tensor`` to process ``dst``; the :class:`Work` says when ``tensor`` may be changed again.
    Sending to oneself is allowed (with a matching ``irecv``)."""
    if (pg := resolve_group(group, "isend")) is None:
        return None
    return _p2p(pg, [(True, tensor, _group_rank(pg, dst, group_dst, "isend", "dst"), tag)], "isend")[0]


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Start receiving into ``tensor`` from process ``src`` (any process when ``src`` and ``group_src`` are None;
    the CPU backends gloo and mpi, not NCCL); the data lands when the :class:`Work` is waited on."""
    if (pg := resolve_group(group, "irecv")) is None:
        return None
    peer = None if src is None and group_src is None else _group_rank(pg, src, group_src, "irecv", "src")
    return _p2p(pg, [(False, tensor, peer, tag)], "irecv")[0]


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send ``tensor`` to process ``dst`` (not this process) and return once it is sent."""
    if (pg := resolve_group(group, "send")) is None:
        return None
    peer = _group_rank(pg, dst, group_dst, "send", "dst")
    _not_self(pg, peer, "send", "destination")
    _p2p(pg, [(True, tensor, peer, tag)], "send")[0].wait()
    return None


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into ``tensor`` from process ``src`` (any process when None); returns the sender's global rank
    (-1 on a process outside ``group``)."""
    if (pg := resolve_group(group, "recv")) is None:
        return -1
    peer = None if src is None and group_src is None else _group_rank(pg, src, group_src, "recv", "src")
    work = _p2p(pg, [(False, tensor, peer, tag)], "recv")[0]
    work.wait()
    return pg.ranks[work._request.source() if peer is None else peer]


class P2POp:
    """One ``isend`` or ``irecv`` for :func:`batch_isend_irecv`: ``op`` is ``isend`` or ``irecv``, ``peer`` a
    global rank (or ``group_peer`` a rank in ``group``)."""

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op is not isend and op is not irecv:
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``lucid.distributed.isend`` or "
                             f"``lucid.distributed.irecv``, not {op!r}.")
        if not isinstance(tensor, Tensor):
            raise TypeError(f"P2POp takes a lucid Tensor, not {type(tensor).__name__}")
        pg = resolve_group(group, "P2POp")
        if pg is None:
            raise ValueError("P2POp: this process is not a member of the group (new_group returned "
                             "GroupMember.NON_GROUP_MEMBER here)")
        self.op, self.tensor, self.group, self.tag = op, tensor, pg, tag
        self.group_peer = _group_rank(pg, peer, group_peer, "P2POp", "peer")
        self.peer = pg.ranks[self.group_peer]

    def __repr__(self):
        return f"P2POp({self.op.__name__}, peer={self.peer}, tag={self.tag}, tensor={list(self.tensor.shape)})"


def batch_isend_irecv(p2p_op_list):
    """Start every :class:`P2POp` of the list together (their order between sends and receives cannot deadlock;
    on NCCL they are one NCCL group) and return one :class:`Work` per op."""
    if not isinstance(p2p_op_list, list) or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``lucid.distributed.P2POp``.")
    if not p2p_op_list:
        raise ValueError("batch_isend_irecv: p2p_op_list is empty; give at least one P2POp")
    pg = p2p_op_list[0].group
    if any(p.group is not pg for p in p2p_op_list):
        raise ValueError("batch_isend_irecv: All ops need to use the same group.")
    return _p2p(pg, [(p.op is isend, p.tensor, p.group_peer, p.tag) for p in p2p_op_list], "batch_isend_irecv")


# ---- object collectives (pickled; the sizes travel first, then the bytes padded to the largest) ----------------
def _wait(request):
    request.wait()
    return request.result()


def _ints(transport, array) -> list[int]:
    return [int(n) for n in transport.to_host(array).reshape(-1)]


def _padded(transport, payload, size):
    out = transport.xp.zeros(size, dtype=transport.xp.uint8)
    out[:payload.size] = transport.xp.asarray(payload)
    return out


def _loaded(transport, array, size):
    return unpickled(transport.to_host(array[:size]))


def _gathered_sizes(transport, payload):
    xp = transport.xp
    return _ints(transport, _wait(transport.all_gather(xp.asarray([payload.size], dtype=xp.int64))))


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Replace every process's ``object_list`` items by process ``src``'s (global rank 0 by default)."""
    if (pg := resolve_group(group, "broadcast_object_list")) is None:
        return None
    src = _group_rank(pg, src, group_src, "broadcast_object_list", "src", default=0)
    transport, xp = pg.transport, pg.transport.xp
    mine = pg.rank() == src
    payload = xp.asarray(pickled(list(object_list))) if mine else None
    size = _ints(transport, _wait(transport.broadcast(xp.asarray([payload.size if mine else 0], dtype=xp.int64),
                                                      src)))[0]
    received = _wait(transport.broadcast(payload if mine else xp.empty(size, dtype=xp.uint8), src))
    if mine:
        return None
    objects = _loaded(transport, received, size)
    if len(objects) != len(object_list):
        raise DistributedError(f"broadcast_object_list: process {pg.ranks[src]} sent {len(objects)} objects, this "
                               f"process (rank {pg.ranks[pg.rank()]}) has a list of {len(object_list)}")
    object_list[:] = objects
    return None


def all_gather_object(object_list, obj, group=None):
    """``object_list[i]`` takes process i's ``obj``."""
    if (pg := resolve_group(group, "all_gather_object")) is None:
        return None
    if len(object_list) != pg.size():
        raise DistributedError(f"all_gather_object: object_list has {len(object_list)} slots but the group has "
                               f"{pg.size()} processes")
    transport, payload = pg.transport, pickled(obj)
    sizes = _gathered_sizes(transport, payload)
    gathered = _wait(transport.all_gather(_padded(transport, payload, max(sizes))))
    object_list[:] = [_loaded(transport, gathered[r], n) for r, n in enumerate(sizes)]
    return None


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """Process ``dst`` (global rank 0 by default) gets every process's ``obj`` in ``object_gather_list`` (one
    slot per process); the other processes pass no list."""
    if (pg := resolve_group(group, "gather_object")) is None:
        return None
    dst = _group_rank(pg, dst, group_dst, "gather_object", "dst", default=0)
    if pg.rank() == dst:
        if object_gather_list is None:
            raise ValueError("gather_object: Argument ``object_gather_list`` must be specified on destination rank.")
        if len(object_gather_list) != pg.size():
            raise DistributedError(f"gather_object: object_gather_list has {len(object_gather_list)} slots but the "
                                   f"group has {pg.size()} processes")
    elif object_gather_list:
        raise ValueError("gather_object: Argument ``object_gather_list`` must NOT be specified on non-destination "
                         "ranks.")
    transport, payload = pg.transport, pickled(obj)
    sizes = _gathered_sizes(transport, payload)
    gathered = _wait(transport.gather(_padded(transport, payload, max(sizes)), dst))
    if pg.rank() == dst:
        for r, n in enumerate(sizes):
            object_gather_list[r] = _loaded(transport, gathered[r], n)
    return None


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None, group=None,
                        group_src=None):
    """``scatter_object_output_list[0]`` of process i takes ``scatter_object_input_list[i]`` of process ``src``
    (global rank 0 by default)."""
    if (pg := resolve_group(group, "scatter_object_list")) is None:
        return None
    src = _group_rank(pg, src, group_src, "scatter_object_list", "src", default=0)
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("scatter_object_list: Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    transport, xp = pg.transport, pg.transport.xp
    payloads = None
    if pg.rank() == src:
        if scatter_object_input_list is None:
            raise ValueError("scatter_object_list: source rank must provide non-None scatter_object_input_list")
        if len(scatter_object_input_list) != pg.size():
            raise DistributedError(f"scatter_object_list: scatter_object_input_list has "
                                   f"{len(scatter_object_input_list)} objects but the group has {pg.size()} processes")
        payloads = [pickled(o) for o in scatter_object_input_list]
    sizes = xp.asarray([p.size for p in payloads] if payloads else [0] * pg.size(), dtype=xp.int64)
    sizes = _ints(transport, _wait(transport.broadcast(sizes, src)))
    stacked = None if payloads is None else xp.stack([_padded(transport, p, max(sizes)) for p in payloads])
    mine = _wait(transport.scatter(stacked, xp.empty(max(sizes), dtype=xp.uint8), src))
    scatter_object_output_list[0] = _loaded(transport, mine, sizes[pg.rank()])
    return None


def send_object_list(object_list, dst=None, group=None, device=None, group_dst=None, use_batch=False):
    """Send the objects of ``object_list`` to process ``dst`` (which calls :func:`recv_object_list`)."""
    if (pg := resolve_group(group, "send_object_list")) is None:
        return None
    dst = _group_rank(pg, dst, group_dst, "send_object_list", "dst")
    _not_self(pg, dst, "send_object_list", "destination")
    transport, xp = pg.transport, pg.transport.xp
    payload = xp.asarray(pickled(list(object_list)))
    for array in (xp.asarray([payload.size], dtype=xp.int64), payload):
        transport.p2p([(True, array, dst, 0)])[0].wait()
    return None


def recv_object_list(object_list, src=None, group=None, device=None, group_src=None, use_batch=False):
    """Fill ``object_list`` (as long as the sender's) with the objects process ``src`` sent; returns ``src``'s
    global rank (-1 on a process outside ``group``)."""
    if (pg := resolve_group(group, "recv_object_list")) is None:
        return -1
    src = _group_rank(pg, src, group_src, "recv_object_list", "src")
    _not_self(pg, src, "recv_object_list", "source")
    transport, xp = pg.transport, pg.transport.xp
    size = _ints(transport, _wait(transport.p2p([(False, xp.zeros(1, dtype=xp.int64), src, 0)])[0]))[0]
    objects = _loaded(transport, _wait(transport.p2p([(False, xp.empty(size, dtype=xp.uint8), src, 0)])[0]), size)
    if len(objects) != len(object_list):
        raise DistributedError(f"recv_object_list: process {pg.ranks[src]} sent {len(objects)} objects, this "
                               f"process's list has {len(object_list)} slots; they must be as long")
    object_list[:] = objects
    return pg.ranks[src]


def _check_sizes(big, small, world, what, name):
    if big.dtype is not small.dtype:
        raise DistributedError(f"{what}: dtypes differ ({big.dtype.name} and {small.dtype.name})")
    concatenated = [world * small.shape[0], *small.shape[1:]] if small.ndim else None
    stacked = [world, *small.shape]
    if list(big.shape) not in (concatenated, stacked):
        raise DistributedError(f"{what}: the {name} tensor has shape {list(big.shape)}; with {world} processes and "
                               f"blocks of shape {list(small.shape)} it must be {stacked} (stacked)"
                               + (f" or {concatenated} (concatenated)" if concatenated else ""))

