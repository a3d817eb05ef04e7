"""Non-differentiable names about where tensors live: ``lucid.get_device_module`` returns a module,
``lucid.is_storage`` a bool, ``Tensor.untyped_storage``/``storage`` storage objects (bytes, not tensors)."""

from __future__ import annotations

NOT_DIFFERENTIABLE = {"lucid.get_device_module", "lucid.is_storage", "Tensor.untyped_storage", "Tensor.storage"}
