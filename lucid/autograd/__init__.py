"""Automatic differentiation: the Function base, the backward engine, grad modes, grad checks."""

from __future__ import annotations

from .._tensor import Tensor as Variable  # PyTorch's legacy name for a tensor
from .._tensor import register_methods
from . import forward_ad, graph, profiler
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .backprop import METHODS, backward, grad
from .function import Function, register_interceptor
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_multithreading_enabled,
    no_grad,
    set_grad_enabled,
    set_multithreading_enabled,
)
from .gradcheck import gradcheck, gradgradcheck

__all__ = [
    "Function", "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled",
    "is_grad_enabled", "gradcheck", "gradgradcheck", "register_interceptor", "inference_mode",
    "detect_anomaly", "set_detect_anomaly", "Variable", "graph", "is_multithreading_enabled",
    "set_multithreading_enabled", "is_tensor_like", "variable", "profiler", "forward_ad",
]


def is_tensor_like(inp) -> bool:
    """Whether ``inp`` is a Tensor (or a subclass such as Parameter)."""
    return isinstance(inp, Variable)


def variable(*args, **kwargs):
    """Removed in PyTorch, kept as its error: use ``lucid.tensor(...)``."""
    raise RuntimeError("torch.autograd.variable(...) is deprecated, use lucid.tensor(...) instead")

register_methods(METHODS)  # Tensor.backward
# lucid.autograd.functional is built from lucid ops (a layer above): lucid/__init__.py imports it
