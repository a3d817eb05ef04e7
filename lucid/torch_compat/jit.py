"""``torch.jit``: TorchScript spellings that programs use as decorators or wrappers, made no-ops as
:func:`lucid.compile` is: lucid runs every function and module as written, so ``torch.jit.script(fn)``
and ``torch.jit.trace(model, example)`` return ``fn`` and ``model`` themselves, ``@torch.jit.ignore``
and kin leave their function unchanged, and ``torch.jit.is_scripting()`` is ``False``. Saving and
loading TorchScript archives (``torch.jit.save``/``load``) is not offered: they raise NotImplementedError
naming lucid's own format. :func:`fork` runs its function at once and returns a completed :class:`lucid.futures.Future`;
the fusion switches are recorded and change nothing.
"""

from __future__ import annotations

import builtins
import contextlib
import types
import typing
import warnings
from typing import Final  # noqa: F401  (torch.jit.Final, for annotations)

from ..futures import Future  # torch.jit.Future is torch.futures.Future

__all__ = ["script", "trace", "trace_module", "ignore", "unused", "export", "is_scripting", "is_tracing",
           "annotate", "Final", "ScriptModule", "ScriptFunction", "RecursiveScriptModule", "TracedModule",
           "optimize_for_inference", "freeze", "interface", "isinstance", "fork", "wait", "Future",
           "script_if_tracing", "Attribute", "Error", "TracerWarning", "ScriptWarning", "optimized_execution",
           "fuser", "strict_fusion", "enable_onednn_fusion", "onednn_fusion_enabled", "set_fusion_strategy",
           "save", "load"]


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
    """No module is ever a ``ScriptModule`` in lucid (``isinstance(model, torch.jit.ScriptModule)`` is False):
    :func:`script` returns the module itself, so code that checks for a scripted module takes its eager path."""


class RecursiveScriptModule(ScriptModule):
    """What ``torch.jit.script(module)`` makes in PyTorch; never an instance in lucid (see :class:`ScriptModule`)."""


class TracedModule(ScriptModule):
    """What ``torch.jit.trace(module)`` makes in PyTorch; never an instance in lucid (see :class:`ScriptModule`)."""


class ScriptFunction:
    """No function is ever a ``ScriptFunction`` in lucid."""


class Error(Exception):
    """``torch.jit.Error``: the error TorchScript code raises (lucid never raises it itself)."""


class TracerWarning(Warning):
    """``torch.jit.TracerWarning`` (the tracer's warnings; lucid does not trace, so never warns it)."""


class ScriptWarning(Warning):
    """``torch.jit.ScriptWarning`` (TorchScript's warnings; never warned in lucid)."""


class Attribute(typing.NamedTuple):
    """``torch.jit.Attribute(value, type)``: a type hint for a module attribute; ``value`` is what a module
    keeps (PyTorch's eager mode keeps the Attribute itself, as lucid does)."""

    value: typing.Any
    type: typing.Any


def interface(obj):
    """``obj`` itself: a TorchScript interface is an ordinary class (or Module) in eager code."""
    return obj


def script_if_tracing(fn):
    """``fn`` itself: nothing is ever traced."""
    return fn


_CONTAINERS = {list: "list", dict: "dict", tuple: "tuple"}


def isinstance(obj, target_type) -> bool:  # noqa: A001  (torch.jit.isinstance)
    """Whether ``obj`` is a ``target_type`` given as a typing hint: ``List[int]``, ``Dict[str, Tensor]``,
    ``Tuple[int, str]``, ``Optional[...]``/``Union[...]``, or a plain class; elements are checked too (an
    empty container matches with PyTorch's warning that its element type cannot be told). A container type
    without its element types raises RuntimeError, as PyTorch's."""
    origin, args = typing.get_origin(target_type), typing.get_args(target_type)
    if target_type in _CONTAINERS or (origin in _CONTAINERS and not args):
        name = getattr(target_type, "_name", None) or _CONTAINERS[origin or target_type]
        raise RuntimeError(f"Attempted to use {name} without a contained type. Please add a contained type, "
                           f"e.g. {name}[int]")
    if origin in (typing.Union, types.UnionType):
        return any(isinstance(obj, arg) for arg in args)
    if origin is None:
        return builtins.isinstance(obj, target_type)
    if not builtins.isinstance(obj, origin):
        return False
    if origin is tuple:
        return len(obj) == len(args) and all(isinstance(o, a) for o, a in zip(obj, args))
    if not obj:
        warnings.warn("The inner type of a container is lost when calling torch.jit.isinstance in eager mode. "
                      "For example, List[int] would become list and therefore falsely return True for "
                      "List[float] or List[str].", stacklevel=2)
        return True
    if origin is dict:
        return all(isinstance(k, args[0]) and isinstance(v, args[1]) for k, v in obj.items())
    return all(isinstance(o, args[0]) for o in obj)


def fork(func, *args, **kwargs) -> Future:
    """Run ``func(*args, **kwargs)`` now, eagerly, as PyTorch's eager mode does (its error is raised here), and
    return a completed :class:`lucid.futures.Future` of the result."""
    future = Future()
    future.set_result(func(*args, **kwargs))
    return future


def wait(future: Future):
    """``future.wait()``."""
    return future.wait()


_fusion = {"onednn": False, "strategy": [("STATIC", 2), ("DYNAMIC", 10)]}


@contextlib.contextmanager
def optimized_execution(should_optimize: bool):
    """A block in which TorchScript would (not) optimize: nothing changes in lucid."""
    yield


@contextlib.contextmanager
def fuser(name: str):
    """A block using TorchScript fuser ``name`` (``"fuser0"``, ``"fuser1"``, ``"fuser2"``, ``"none"``):
    nothing changes in lucid, which has no TorchScript fusers."""
    if name not in ("fuser0", "fuser1", "fuser2", "fuser3", "none"):
        raise Exception(f"unrecognized fuser option (name: {name})")  # PyTorch's type and words
    yield


class strict_fusion:
    """A block TorchScript must fuse whole; a no-op in lucid (nothing is scripted)."""

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        pass


def enable_onednn_fusion(enabled: bool) -> None:
    """Record the oneDNN fusion switch (lucid has no oneDNN graph: it changes nothing)."""
    _fusion["onednn"] = builtins.bool(enabled)


def onednn_fusion_enabled() -> bool:
    """The switch :func:`enable_onednn_fusion` recorded (False at first, as PyTorch's)."""
    return _fusion["onednn"]


def set_fusion_strategy(strategy: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Record TorchScript's fusion strategy (``[("STATIC", 2), ("DYNAMIC", 10)]``); returns the previous one."""
    for kind, depth in strategy:
        if kind not in ("STATIC", "DYNAMIC") or not builtins.isinstance(depth, int):
            raise ValueError(f"a fusion strategy is a list of ('STATIC' | 'DYNAMIC', int) pairs, got {strategy!r}")
    previous, _fusion["strategy"] = _fusion["strategy"], list(strategy)
    return previous


_NO_ARCHIVES = ("lucid has no TorchScript archives: save the model's weights with lucid.save(model.state_dict(), "
                "path) and load them with model.load_state_dict(lucid.load(path))")


def save(m, f, _extra_files=None) -> None:
    """Not offered: raises NotImplementedError naming :func:`lucid.save` of a ``state_dict`` instead."""
    raise NotImplementedError(f"torch.jit.save: {_NO_ARCHIVES}")


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    """Not offered: raises NotImplementedError naming :func:`lucid.load` and ``load_state_dict`` instead."""
    raise NotImplementedError(f"torch.jit.load: {_NO_ARCHIVES}")
