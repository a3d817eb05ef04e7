"""Automatic differentiation: the Function base, the backward engine, grad modes, grad checks."""

from __future__ import annotations

from .._tensor import register_methods
from .backprop import METHODS, backward, grad
from .function import Function, register_interceptor
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck, gradgradcheck

__all__ = [
    "Function", "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled",
    "is_grad_enabled", "gradcheck", "gradgradcheck", "register_interceptor",
]

register_methods(METHODS)  # Tensor.backward
