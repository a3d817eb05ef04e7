"""``lucid.backends.mps``: Apple's Metal backend, which lucid does not have (upstream Lucid is the
Metal one); kept so that ``torch.backends.mps.is_available()`` checks run and answer False."""

from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """False: lucid has no Metal (MPS) backend."""
    return False


def is_built() -> bool:
    """False: lucid has no Metal (MPS) backend."""
    return False
