"""Seeding: ``lucid.manual_seed`` seeds the generator of every backend and device;
``get_rng_state``/``set_rng_state`` save and restore one device's generator (for checkpoints
that resume a run exactly)."""

from __future__ import annotations

from ._backend import registry
from ._backend.device import device as _device

__all__ = ["manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state"]


def manual_seed(seed: int) -> None:
    """Make random numbers reproducible on every backend (CPU and each GPU)."""
    registry.seed_all(int(seed))


seed = manual_seed


def initial_seed() -> int | None:
    """The seed last given to :func:`manual_seed` (None if never called)."""
    return registry.last_seed()


def get_rng_state(device="cpu") -> dict:
    """The state of ``device``'s random generator (by default the CPU's, which also drives
    DataLoader shuffling), as plain Python data that ``lucid.save`` can store; give it to
    :func:`set_rng_state` to draw the same numbers again. (PyTorch returns a byte tensor.)"""
    dev = _device(device)
    return dev.backend.rng_state(dev.index or 0)


def set_rng_state(state: dict, device="cpu") -> None:
    """Put ``device``'s random generator back in a state :func:`get_rng_state` returned."""
    if not isinstance(state, dict):
        raise TypeError(f"set_rng_state expects the dict get_rng_state returned, got {type(state).__name__}")
    dev = _device(device)
    try:
        dev.backend.set_rng_state(state, dev.index or 0)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"set_rng_state: not a random generator state of {dev} ({type(e).__name__}: {e}); "
                         f"pass a dict that get_rng_state({str(dev)!r}) returned") from None
