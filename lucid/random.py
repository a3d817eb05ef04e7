"""Seeding: ``lucid.manual_seed`` seeds the generator of every backend and device."""

from __future__ import annotations

from ._backend import registry

__all__ = ["manual_seed", "seed", "initial_seed"]


def manual_seed(seed: int) -> None:
    """Make random numbers reproducible on every backend (CPU and each GPU)."""
    registry.seed_all(int(seed))


seed = manual_seed


def initial_seed() -> int | None:
    """The seed last given to :func:`manual_seed` (None if never called)."""
    return registry.last_seed()
