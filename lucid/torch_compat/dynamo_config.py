"""``torch._dynamo.config``: the settings programs write before ``torch.compile``, with PyTorch's defaults. A
write is kept (``torch._dynamo.config.suppress_errors = True`` reads back True) and changes nothing: lucid
compiles nothing (see :func:`lucid.compile`)."""

suppress_errors = False
cache_size_limit = 8
accumulated_cache_size_limit = 256
verbose = False
optimize_ddp = True
capture_scalar_outputs = False
capture_dynamic_output_shape_ops = False
automatic_dynamic_shapes = True
assume_static_by_default = True
