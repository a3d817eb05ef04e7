"""``torch.jit``: TorchScript spellings that programs use as decorators or wrappers, made no-ops as
:func:`lucid.compile` is: lucid runs every function and module as written, so ``torch.jit.script(fn)``
and ``torch.jit.trace(model, example)`` return ``fn`` and ``model`` themselves, ``@torch.jit.ignore``
and kin leave their function unchanged, and ``torch.jit.is_scripting()`` is ``False``. Saving and
loading TorchScript archives (``torch.jit.save``/``load``) is not offered: those names fail loudly."""

from __future__ import annotations

from typing import Final  # noqa: F401  (torch.jit.Final, for annotations)

__all__ = ["script", "trace", "trace_module", "ignore", "unused", "export", "is_scripting", "is_tracing",
           "annotate", "Final", "ScriptModule", "ScriptFunction", "optimize_for_inference", "freeze"]


def script(obj=None, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """``obj`` itself (a function, an ``nn.Module`` or a class): lucid does not compile it."""
    return obj


def trace(func, example_inputs=None, *args, **kwargs):
    """``func`` itself (a function or an ``nn.Module``); ``example_inputs`` and the checking options are
    accepted and unused."""
    return func


def trace_module(mod, inputs=None, *args, **kwargs):
    """``mod`` itself."""
    return mod


def _decorator(drop=None):
    # @torch.jit.ignore, @torch.jit.ignore(drop=True), @torch.jit.unused, @torch.jit.export: fn unchanged
    if callable(drop):
        return drop
    return lambda fn: fn


ignore = _decorator
unused = _decorator
export = _decorator


def is_scripting() -> bool:
    """``False``: nothing runs under TorchScript."""
    return False


def is_tracing() -> bool:
    """``False``: nothing runs under the tracer."""
    return False


def annotate(the_type, the_value):
    """``the_value``: the type hint is for TorchScript only."""
    return the_value


def optimize_for_inference(mod, other_methods=None):
    """``mod`` itself."""
    return mod


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    """``mod`` itself."""
    return mod


class ScriptModule:
    """No module is ever a ``ScriptModule`` in lucid (``isinstance(model, torch.jit.ScriptModule)`` is False)."""


class ScriptFunction:
    """No function is ever a ``ScriptFunction`` in lucid."""
