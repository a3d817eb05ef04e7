"""``lucid.backends.mkl``: PyTorch's MKL queries, kept so that code written for ``torch.backends.mkl`` runs
unchanged. lucid calls no MKL routine itself (its CPU math is NumPy's, whatever BLAS NumPy links), so
:func:`is_available` is False and :class:`verbose` records the level and changes nothing."""

from __future__ import annotations

__all__ = ["is_available", "verbose", "VERBOSE_OFF", "VERBOSE_ON"]

VERBOSE_OFF = 0
VERBOSE_ON = 1


def is_available() -> bool:
    """False: lucid calls no MKL routine itself (PyTorch's x86 builds answer True)."""
    return False


class verbose:
    """``with lucid.backends.mkl.verbose(level):``: PyTorch's on-demand MKL logging; nothing to log in lucid."""

    def __init__(self, enable: int):
        self.enable = enable

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
