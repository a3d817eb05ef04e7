"""``lucid.backends.cudnn``: PyTorch's cuDNN switches, kept so that code written for
``torch.backends.cudnn`` runs unchanged.

lucid computes convolutions and pooling as im2col + one GEMM on every backend (CuPy 14
removed its cuDNN bindings, so there is no cuDNN path to switch), which is why these flags
change nothing today: ``enabled`` (True), ``benchmark`` (False), ``deterministic`` (False)
and ``allow_tf32`` (True, as PyTorch; convolutions follow
:data:`lucid.backends.cuda.matmul.allow_tf32` instead, as their GEMMs do).
"""

from __future__ import annotations

__all__ = ["enabled", "benchmark", "deterministic", "allow_tf32", "is_available"]

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """Whether CuPy's cuDNN bindings can be imported (CuPy 13 with cuDNN installed); lucid does
    not call them, see the module docstring."""
    try:
        import cupyx.cudnn  # noqa: F401
    except Exception:  # no CuPy, no cuDNN library, or a CuPy without the bindings
        return False
    return True
