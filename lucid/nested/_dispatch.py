"""``nested_aware``: lets a functional op (``F.linear``, ``F.layer_norm``, ...) take a nested tensor. Import-free
so ``lucid.nn.functional`` can use it while lucid loads; the nested side (``NestedTensor._functional``) decides
what the op may do on a nested tensor and lifts it over the components."""

from __future__ import annotations

import functools


def nested_aware(fn):
    """Wrap ``fn(input, ...)`` so that a nested ``input`` goes to ``input._functional(fn, args, kwargs)``; a
    dense one reaches ``fn`` as before at the cost of one attribute test."""

    @functools.wraps(fn)
    def dispatch(input, *args, **kwargs):
        if getattr(input, "is_nested", False):  # Tensor.is_nested is False: one class-attribute read
            return input._functional(fn, args, kwargs)
        return fn(input, *args, **kwargs)

    return dispatch
