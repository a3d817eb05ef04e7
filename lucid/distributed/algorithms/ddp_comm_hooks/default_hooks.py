"""torch's default DDP communication hooks: ``allreduce_hook`` (what DDP does without a hook: the bucket divided
by the group size, summed over the group) and ``fp16_compress_hook``/``bf16_compress_hook`` (the same on a
half-precision copy, written back in the gradients' dtype: half the bytes on the wire, half precision sums).

``state`` is the process group to reduce over (None: the one DDP uses is not known to a hook, so the default
group, as torch). A hook returns a :class:`lucid.futures.Future` whose value is the bucket's reduced tensor; a custom
hook builds one as with torch: ``dist.all_reduce(t, async_op=True).get_future().then(lambda f: f.value()[0] / n)``.
"""

from __future__ import annotations

from ....dtypes import bfloat16, float16
from ....futures import Future
from ... import collectives
from ...common import ReduceOp
from ...process_group import resolve_group

__all__ = ["GradBucket", "allreduce_hook", "bf16_compress_hook", "fp16_compress_hook"]


class GradBucket:
    """One bucket of gradients, flattened into ``buffer()`` (the parameters' gradients one after another, in
    ``parameters()`` order); ``index()`` 0 is the first bucket launched, ``is_last()`` the last one."""

    def __init__(self, index, buffer, params, is_last):
        self._index, self._buffer, self._params, self._is_last = index, buffer, list(params), is_last

    def index(self) -> int:
        return self._index

    def buffer(self):
        return self._buffer

    def set_buffer(self, buffer) -> None:
        self._buffer = buffer

    def parameters(self) -> list:
        return list(self._params)

    def gradients(self) -> list:
        """Views of ``buffer()``, one per parameter, shaped like it."""
        out, offset = [], 0
        for p in self._params:
            out.append(self._buffer[offset:offset + p.numel()].reshape(p.shape))
            offset += p.numel()
        return out

    def is_last(self) -> bool:
        return self._is_last


def _reduced(process_group, tensor, dtype):
    """Average ``tensor`` (cast to ``dtype``) over ``process_group`` asynchronously; the future's value is the
    average written into ``tensor``, in its own dtype."""
    group = resolve_group(process_group, "DDP communication hook")
    wire = tensor.to(dtype) if dtype is not tensor.dtype else tensor
    wire.div_(group.size())
    work = collectives.all_reduce(wire, op=ReduceOp.SUM, group=group, async_op=True)

    def written(future):
        if wire is not tensor:
            tensor.copy_(future.value()[0])
        return tensor

    return work.get_future().then(written)


def allreduce_hook(process_group, bucket: GradBucket) -> Future:
    """Divide the bucket by the group size and sum it over the group (DDP's own averaging)."""
    return _reduced(process_group, bucket.buffer(), bucket.buffer().dtype)


def fp16_compress_hook(process_group, bucket: GradBucket) -> Future:
    """``allreduce_hook`` on a float16 copy of the bucket; the result is cast back to the gradients' dtype."""
    return _reduced(process_group, bucket.buffer(), float16)


def bf16_compress_hook(process_group, bucket: GradBucket) -> Future:
    """``allreduce_hook`` on a bfloat16 copy of the bucket; the result is cast back to the gradients' dtype."""
    return _reduced(process_group, bucket.buffer(), bfloat16)
