"""Copies of functions under PyTorch's parameter names, where one body serves two of PyTorch's spellings."""

from __future__ import annotations

import types


def with_parameter_names(fn, name=None, **renames):
    """A copy of ``fn`` whose parameters ``old`` are called ``renames[old]`` (same code, no extra call): for
    ``torch.pow(input, exponent)`` beside the binary ops' ``(input, other)``, and ``torch.det(input)`` beside
    ``torch.linalg.det(A)``. A parameter that a nested function captures can't be renamed this way."""
    code = fn.__code__
    clash = set(renames) & set(code.co_cellvars)
    if clash:
        raise ValueError(f"with_parameter_names: {fn.__qualname__} captures {sorted(clash)} in a closure")
    names = tuple(renames.get(v, v) for v in code.co_varnames)
    copy = types.FunctionType(code.replace(co_varnames=names, co_name=name or code.co_name), fn.__globals__,
                              name or fn.__name__, fn.__defaults__, fn.__closure__)
    copy.__kwdefaults__ = None if fn.__kwdefaults__ is None else {
        renames.get(k, k): v for k, v in fn.__kwdefaults__.items()}
    copy.__doc__, copy.__module__, copy.__dict__ = fn.__doc__, fn.__module__, dict(fn.__dict__)
    copy.__qualname__ = name or fn.__qualname__
    copy.__annotations__ = {renames.get(k, k): v for k, v in fn.__annotations__.items()}
    return copy
