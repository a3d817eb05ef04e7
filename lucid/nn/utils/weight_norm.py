"""Weight normalisation (Salimans & Kingma, 2016) as a forward pre-hook: PyTorch's original
``torch.nn.utils.weight_norm``."""

from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.function import rename_node
from ...ops.linalg import vector_norm
from ..parameter import Parameter

__all__ = ["weight_norm", "remove_weight_norm"]


def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm of ``v`` over every dimension but ``dim`` (kept as size 1); ``dim=-1``: of all of ``v``.
    Other negative dims count from the end (``-2`` is ``v.ndim - 2``), as in PyTorch's ``norm_except_dim``."""
    if dim == -1:
        return vector_norm(v, 2)
    if not -v.ndim <= dim < v.ndim:
        raise IndexError(f"weight_norm: dim {dim} is out of range for a {v.ndim}-D weight")
    dim %= v.ndim
    return vector_norm(v, 2, dim=tuple(d for d in range(v.ndim) if d != dim), keepdim=True)


def _weight_norm(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """``v * (g / ||v||)`` (norm as :func:`_norm_except_dim`), recorded as PyTorch's ``_weight_norm``:
    WeightNormInterfaceBackward0, or for ``dim=-1`` the product its composite ends in."""
    w = v * (g / _norm_except_dim(v, dim))
    return w if dim == -1 else rename_node(w, "WeightNormInterface")


def _pre_hooks(module):
    """The forward pre-hook callables of ``module``."""
    return [entry[0] if isinstance(entry, tuple) else entry for entry in module._forward_pre_hooks.values()]


class WeightNorm:
    """The hook: recomputes ``module.<name> = g * v / ||v||`` from the parameters ``<name>_g`` and
    ``<name>_v`` before every forward."""

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim
        self.handle = None

    def compute_weight(self, module) -> Tensor:
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    def __call__(self, module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))

    def remove(self, module) -> None:
        weight = self.compute_weight(module).detach()
        self.handle.remove()
        delattr(module, self.name)
        del module._parameters[self.name + "_g"], module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight))


def weight_norm(module, name: str = "weight", dim: int | None = 0):
    """Reparameterise ``module.<name>`` as ``g * v / ||v||``: the parameter is replaced by
    ``<name>_g`` (the norms over every dimension but ``dim``; ``dim=None`` one norm of the whole
    tensor) and ``<name>_v`` (the direction), and the weight is recomputed before each forward.
    Returns the module."""
    if any(isinstance(h, WeightNorm) and h.name == name for h in _pre_hooks(module)):
        raise RuntimeError(f"cannot register two weight_norm hooks on the same parameter {name!r}")
    weight = module._parameters.get(name)
    if weight is None:
        raise AttributeError(f"{type(module).__name__} has no parameter {name!r} to normalise")
    fn = WeightNorm(name, -1 if dim is None else dim)
    del module._parameters[name]
    module.register_parameter(name + "_g", Parameter(_norm_except_dim(weight, fn.dim).detach()))
    module.register_parameter(name + "_v", Parameter(weight.detach()))
    setattr(module, name, fn.compute_weight(module))
    fn.handle = module.register_forward_pre_hook(fn)
    return module


def _remove(module, kind, name: str, label: str):
    """Take off the ``kind`` pre-hook that reparametrises ``module.<name>`` (shared by the
    ``remove_*`` functions of weight and spectral normalisation)."""
    for hook in _pre_hooks(module):
        if isinstance(hook, kind) and hook.name == name:
            hook.remove(module)
            return module
    raise ValueError(f"{label} of {name!r} not found in {type(module).__name__}")


def remove_weight_norm(module, name: str = "weight"):
    """Undo :func:`weight_norm`: ``module.<name>`` becomes a plain parameter again (its current value)."""
    return _remove(module, WeightNorm, name, "weight_norm")
