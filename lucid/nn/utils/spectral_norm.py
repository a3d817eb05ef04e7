"""Spectral normalisation (Miyato et al., 2018) as a forward pre-hook: PyTorch's original
``torch.nn.utils.spectral_norm``."""

from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...ops.linalg import vector_norm
from ...ops.sampling import randn
from ..parameter import Parameter
from .weight_norm import _pre_hooks, _remove

__all__ = ["spectral_norm", "remove_spectral_norm"]


def _normalize(x: Tensor, eps: float) -> Tensor:
    return x / vector_norm(x, 2).clamp(min=eps)


class SpectralNorm:
    """The hook: ``module.<name> = <name>_orig / sigma`` with ``sigma`` the largest singular value
    of the weight (as a ``(size(dim), -1)`` matrix), estimated by power iteration on the buffers
    ``<name>_u`` and ``<name>_v``, which are advanced in training mode only."""

    def __init__(self, name: str, n_power_iterations: int, dim: int, eps: float) -> None:
        if n_power_iterations <= 0:  # 0 would divide by a sigma from the random initial u, v (PyTorch refuses it)
            raise ValueError(f"spectral_norm: n_power_iterations must be positive, got {n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps
        self.handle = None

    def matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        w = self.matrix(weight)
        if do_power_iteration and self.n_power_iterations:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(_normalize(w.mT @ u, self.eps))
                    u.copy_(_normalize(w @ v, self.eps))
            u, v = u.clone(), v.clone()  # the buffers change again next forward; the graph keeps these
        sigma = (u * (w @ v)).sum()
        return weight / sigma

    def __call__(self, module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module, module.training))

    def remove(self, module) -> None:
        with no_grad():
            weight = self.compute_weight(module, False)
        self.handle.remove()
        delattr(module, self.name)
        for suffix in ("_orig", "_u", "_v"):
            delattr(module, self.name + suffix)
        setattr(module, self.name, Parameter(weight.detach()))


def spectral_norm(module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None):
    """Divide ``module.<name>`` by its spectral norm before each forward: the parameter becomes
    ``<name>_orig``, with buffers ``<name>_u``/``<name>_v`` (random unit vectors at first) for the
    power iteration. ``dim`` is the output dimension (default 0, 1 for ConvTranspose). Returns the module."""
    if any(isinstance(h, SpectralNorm) and h.name == name for h in _pre_hooks(module)):
        raise RuntimeError(f"cannot register two spectral_norm hooks on the same parameter {name!r}")
    weight = module._parameters.get(name)
    if weight is None:
        raise AttributeError(f"{type(module).__name__} has no parameter {name!r} to normalise")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    fn = SpectralNorm(name, n_power_iterations, dim, eps)
    with no_grad():
        h, w = fn.matrix(weight).shape
        u = _normalize(randn(h, dtype=weight.dtype, device=weight.device), eps)
        v = _normalize(randn(w, dtype=weight.dtype, device=weight.device), eps)
    del module._parameters[name]
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, weight.detach())
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    fn.handle = module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module, name: str = "weight"):
    """Undo :func:`spectral_norm`: ``module.<name>`` becomes a plain parameter holding the normalised weight."""
    return _remove(module, SpectralNorm, name, "spectral_norm")
