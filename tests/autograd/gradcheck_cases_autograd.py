"""Gradcheck table additions of the autograd family: only controls, nothing to differentiate."""

from __future__ import annotations

NOT_DIFFERENTIABLE = {
    # autograd controls: grad-mode and anomaly-mode switches and queries, engine hooks, inference tensors
    *(f"lucid.{n}" for n in ("is_inference_mode_enabled", "is_anomaly_enabled", "is_inference",
                             "is_anomaly_check_nan_enabled", "set_anomaly_enabled")),
    "lucid.vmap",  # a function transform (lucid.func.vmap): what it maps is checked, not it
    "Tensor.is_inference", "Tensor.register_post_accumulate_grad_hook",
}
