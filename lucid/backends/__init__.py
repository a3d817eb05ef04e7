"""``lucid.backends``: switches for the libraries behind lucid's backends, named as in
``torch.backends`` (``lucid.backends.cuda.matmul.allow_tf32``, ``lucid.backends.cudnn.*``)."""

from . import cuda, cudnn, mkl, mkldnn, mps, openmp, opt_einsum

__all__ = ["cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp", "opt_einsum"]
