"""Gradcheck case and non-differentiable names of the torch.cuda / torch.jit names family (task N):
``Tensor.as_subclass`` is an alias that keeps autograd history; the rest are predicates and stream bookkeeping."""

from __future__ import annotations

from gradcheck_specs import N, add

import lucid


class _Sub(lucid.Tensor):
    """A Tensor subclass to alias into."""


add("Tensor.as_subclass", lambda x: x.as_subclass(_Sub) * x, N(2, 3))

NOT_DIFFERENTIABLE = {
    "Tensor.is_xpu", "Tensor.is_mps", "Tensor.is_mtia", "Tensor.is_ipu", "Tensor.is_xla", "Tensor.is_vulkan",
    "Tensor.is_maia", "Tensor.is_mkldnn", "Tensor.is_nested", "Tensor.is_quantized", "Tensor.output_nr",
    "Tensor.record_stream",
}
