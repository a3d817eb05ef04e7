"""``lucid.nn``: modules, parameters, buffers, containers, layers, losses, ``functional``,
``init`` and ``utils`` (PyTorch's ``torch.nn`` API).

Parameter vs Buffer vs plain attribute: see :mod:`lucid.nn.parameter`.
"""

from __future__ import annotations

from . import functional, init, parallel, utils
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .hooks import RemovableHandle
from .layers import *  # noqa: F401,F403
from .layers import __all__ as _layers
from .module import Module  # noqa: I001  (Module and Parameter first: the layers build on them)
from .parameter import Buffer, Parameter

__all__ = [
    "Module", "Parameter", "Buffer", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
    "RemovableHandle", "functional", "init", "parallel", "utils", *_layers,
]
