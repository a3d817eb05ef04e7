"""``DataParallel`` and the old ``Container``, for PyTorch programs that use them.

lucid runs one process on one device, so ``DataParallel`` wraps its module without replicating it: the
forward is the module's own, on the module's device, and ``state_dict`` keys gain PyTorch's ``module.``
prefix. (Several GPUs in one process are not split here; ``lucid.distributed`` is the way to scale.)
"""

from __future__ import annotations

import warnings

from ..module import Module

__all__ = ["DataParallel", "Container"]


class DataParallel(Module):
    """Single-device stand-in for ``torch.nn.DataParallel``: ``forward`` calls ``module`` unchanged.
    ``device_ids``, ``output_device`` and ``dim`` are kept for compatibility."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.device_ids = [] if device_ids is None else list(device_ids)
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


class Container(Module):
    """Deprecated (as in PyTorch): a Module holding the keyword modules given; subclass ``Module`` instead."""

    def __init__(self, **kwargs) -> None:
        super().__init__()
        warnings.warn("nn.Container is deprecated. All of it's functionality is now implemented in nn.Module. "
                      "Subclass that instead.", stacklevel=2)
        for key, value in kwargs.items():
            self.add_module(key, value)
