"""``lucid.nn``: modules, parameters, buffers, containers, layers, losses, ``functional``,
``init``, ``utils`` and ``grad`` (PyTorch's ``torch.nn`` API).

Parameter vs Buffer vs plain attribute: see :mod:`lucid.nn.parameter`.
"""

from __future__ import annotations

from . import functional, grad, init, parallel, utils
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .hooks import RemovableHandle
from .layers import *  # noqa: F401,F403
from .layers import __all__ as _layers
from .module import Module  # noqa: I001  (Module and Parameter first: the layers build on them)
from .parameter import Buffer, Parameter

__all__ = [
    "Module", "Parameter", "Buffer", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
    "RemovableHandle", "functional", "grad", "init", "parallel", "utils", "factory_kwargs", *_layers,
]


def factory_kwargs(kwargs: dict | None) -> dict:
    """The ``device``/``dtype``/``memory_format`` entries of ``kwargs`` (merged with its ``factory_kwargs``
    dict) to pass to tensor factories, as ``torch.nn.factory_kwargs``; other keys, or one given twice, raise."""
    if kwargs is None:
        return {}
    simple = {"device", "dtype", "memory_format"}
    if not kwargs.keys() <= simple | {"factory_kwargs"}:
        raise TypeError(f"unexpected kwargs {kwargs.keys() - simple - {'factory_kwargs'}}")
    out = dict(kwargs.get("factory_kwargs", {}))
    for key in simple & kwargs.keys():
        if key in out:
            raise TypeError(f"{key} specified twice, in **kwargs and in factory_kwargs")
        out[key] = kwargs[key]
    return out
