"""Non-differentiable names among PyTorch's remaining top-level functions (their differentiable ones, the
recurrent steps and constant_pad_nd, are checked in gradcheck_cases_nnx.py)."""

NOT_DIFFERENTIABLE = {
    # control flow: gradients flow through the functions they call, which have their own cases
    "lucid.cond", "lucid.while_loop",
    # settings and predicates
    "lucid.is_autocast_cpu_enabled", "lucid.set_autocast_cpu_enabled", "lucid.get_autocast_cpu_dtype",
    "lucid.set_autocast_cpu_dtype", "lucid.get_autocast_gpu_dtype", "lucid.set_autocast_gpu_dtype",
    "lucid.is_distributed", "Tensor.is_distributed",
    # removed from PyTorch: raises
    "lucid.symeig",
}
