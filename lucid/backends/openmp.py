"""``lucid.backends.openmp``: PyTorch's OpenMP query; lucid runs no OpenMP loops itself (NumPy's BLAS may)."""

from __future__ import annotations

__all__ = ["is_available"]


def is_available() -> bool:
    """False: lucid's own code has no OpenMP parallel loops (PyTorch's builds answer True)."""
    return False
