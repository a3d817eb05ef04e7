"""``torch.overrides``: the ``__torch_function__`` checks that functions copied from PyTorch begin with
(``if has_torch_function_variadic(input, weight): return handle_torch_function(...)``). lucid has no
``__torch_function__`` dispatch (a Tensor subclass's ``__torch_function__`` is never called), so the checks are
False and the copied function takes its plain path."""

from __future__ import annotations

__all__ = ["has_torch_function", "has_torch_function_unary", "has_torch_function_variadic", "handle_torch_function"]


def has_torch_function(relevant_args) -> bool:
    """``False``: no argument's ``__torch_function__`` is dispatched to."""
    return False


def has_torch_function_unary(obj) -> bool:
    """``False`` (see :func:`has_torch_function`)."""
    return False


def has_torch_function_variadic(*args) -> bool:
    """``False`` (see :func:`has_torch_function`)."""
    return False


def handle_torch_function(public_api, relevant_args, *args, **kwargs):
    """Not offered: lucid does not dispatch to ``__torch_function__`` (the checks above are False, so PyTorch-style
    code never reaches this); raises RuntimeError."""
    raise RuntimeError(f"lucid has no __torch_function__ dispatch: handle_torch_function({public_api.__name__}) "
                       f"can't be run (has_torch_function is always False in lucid)")
