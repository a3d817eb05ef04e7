"""``skip_init`` and the memory-format converters of ``torch.nn.utils``, for source compatibility."""

from __future__ import annotations

import inspect

__all__ = ["skip_init", "convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` whose parameter values are unspecified, as PyTorch's. lucid has no
    meta device, so the module is simply built (initialised) on ``device``; the class must accept
    ``device`` as PyTorch requires."""
    if "device" not in inspect.signature(module_cls).parameters:
        raise ValueError(f"skip_init: {module_cls.__name__} does not accept a device argument")
    return module_cls(*args, **kwargs)


def convert_conv2d_weight_memory_format(module, memory_format):
    """Returns ``module`` unchanged: lucid arrays have one (row-major) layout, so there is no
    ``channels_last`` to convert to."""
    return module


def convert_conv3d_weight_memory_format(module, memory_format):
    """Returns ``module`` unchanged (see ``convert_conv2d_weight_memory_format``)."""
    return module
