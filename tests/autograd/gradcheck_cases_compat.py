"""Gradcheck cases and non-differentiable names of the PyTorch-compatibility family (issue 12: tensor
metadata, interop, printing, global switches)."""

from __future__ import annotations

from gradcheck_specs import CONST, GRID8, N, add

import lucid

# through float32 and back: GRID8 values are exact in float32, so eps=1/8 differences are too
add("Tensor.type_as", lambda x, y: x.type_as(y.float()).type_as(y), GRID8(3), CONST(N(2)), eps=0.125)

NOT_DIFFERENTIABLE = {
    "Tensor.__format__", "Tensor.get_device", "Tensor.is_contiguous", "Tensor.is_cpu", "Tensor.is_nonzero",
    "Tensor.is_same_size", "Tensor.is_signed", "Tensor.itemsize", "Tensor.layout", "Tensor.ndimension",
    "Tensor.nelement", "Tensor.new_empty", "Tensor.new_empty_strided", "Tensor.new_full", "Tensor.new_ones",
    "Tensor.new_tensor", "Tensor.new_zeros", "Tensor.stride", "Tensor.dim_order", "Tensor.data_ptr",
    "Tensor.storage_offset", "Tensor.const_data_ptr", "Tensor.is_set_to",
    "Tensor.pin_memory", "Tensor.is_pinned", "Tensor.is_meta", "lucid.get_device", "lucid.init_num_threads",
    "lucid.compile", "lucid.empty_strided",
    "lucid.as_tensor", "lucid.asarray", "lucid.from_dlpack", "lucid.from_numpy", "lucid.frombuffer", "lucid.to_dlpack",
    "lucid.detach", "lucid.is_floating_point", "lucid.is_nonzero", "lucid.is_same_size", "lucid.is_signed",
    "lucid.is_tensor", "lucid.numel", "lucid.scalar_tensor", "lucid.typename", "lucid.promote_types",
    "lucid.result_type", "lucid.can_cast", "lucid.get_printoptions", "lucid.set_printoptions",
    "lucid.get_default_device", "lucid.set_default_device", "lucid.set_default_tensor_type",
    "lucid.get_num_threads", "lucid.set_num_threads", "lucid.get_num_interop_threads", "lucid.set_num_interop_threads",
    "lucid.get_float32_matmul_precision", "lucid.set_float32_matmul_precision",
    "lucid.use_deterministic_algorithms", "lucid.are_deterministic_algorithms_enabled",
    "lucid.is_deterministic_algorithms_warn_only_enabled", "lucid.set_deterministic_debug_mode",
    "lucid.get_deterministic_debug_mode", "lucid.set_flush_denormal", "lucid.set_warn_always",
    "lucid.is_warn_always_enabled", "lucid.is_autocast_enabled", "lucid.get_autocast_dtype",
    "lucid.set_autocast_enabled", "lucid.set_autocast_dtype", "lucid.is_autocast_cache_enabled",
    "lucid.set_autocast_cache_enabled", "lucid.clear_autocast_cache",
    # host-side element callbacks (no graph), legacy uninitialised constructor, shared-memory storage, detach_
    "Tensor.apply_", "Tensor.map_", "Tensor.map2_", "Tensor.new", "Tensor.share_memory_", "Tensor.is_shared",
    "lucid.detach_",
}

# unary plus returns its input: the identity's gradient
add("lucid.positive", lambda x: lucid.positive(x) * 1.0, N(3))
add("Tensor.positive", lambda x: x.positive() * 1.0, N(3))
add("Tensor.__pos__", lambda x: (+x) * 1.0, N(3))

# a transposed tensor is not row-major: contiguous() copies it
add("Tensor.contiguous", lambda x: x.transpose(0, 1).contiguous() * 1.0, N(2, 3), variant="copies")
