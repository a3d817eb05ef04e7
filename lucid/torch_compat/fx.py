"""``torch.fx``: the names model code touches so that FX tracing may skip or detect it, not FX itself (lucid
does not trace: ``symbolic_trace``, ``GraphModule`` and kin are not offered). ``torch.fx.wrap`` (as a call at
module level or as a decorator) returns its argument, :func:`is_fx_tracing` is False, and no value is ever a
:class:`Proxy`, so ``isinstance(x, torch.fx.Proxy)`` checks take their eager path."""

from __future__ import annotations

import inspect

__all__ = ["wrap", "Proxy", "is_fx_tracing"]


def wrap(fn_or_name):
    """``fn_or_name`` itself (a function or a function's name), with PyTorch's checks: anything else raises
    RuntimeError, a call outside a module's top level NotImplementedError."""
    if not callable(fn_or_name) and not isinstance(fn_or_name, str):
        raise RuntimeError("Unsupported type for global function! Must be either a callable or string name")
    if inspect.currentframe().f_back.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    return fn_or_name


def is_fx_tracing() -> bool:
    """``False``: nothing runs under FX's tracer (``torch.fx._symbolic_trace.is_fx_tracing``)."""
    return False


class Proxy:
    """What FX's tracer passes through a traced function in PyTorch; never a value in lucid."""
