"""``lucid.backends.mkldnn``: PyTorch's oneDNN switches, kept so that code written for ``torch.backends.mkldnn``
runs unchanged. lucid's CPU math goes through NumPy and calls no oneDNN kernels, so :func:`is_available` is False
and the flags (``enabled`` True, ``deterministic`` False, PyTorch's defaults) are recorded and change nothing."""

from __future__ import annotations

__all__ = ["enabled", "deterministic", "is_available"]

enabled = True
deterministic = False


def is_available() -> bool:
    """False: lucid has no oneDNN (MKL-DNN) path (PyTorch's x86 builds answer True)."""
    return False
