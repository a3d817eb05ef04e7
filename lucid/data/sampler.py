"""Samplers: the order in which a DataLoader visits a map-style dataset.

Randomness: a sampler's ``generator`` may be an int seed or a ``numpy.random.Generator``
(lucid has no ``Generator`` object of its own). Without one, each pass draws a fresh seed
from lucid's global CPU generator, so ``lucid.manual_seed(s)`` makes the whole sequence of
epochs reproducible while every epoch still gets a new order, as in PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

__all__ = [
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
    "BatchSampler",
]

_SEED_BOUND = 2**63 - 1


def as_generator(generator) -> np.random.Generator | None:
    """``generator=`` as a NumPy Generator: None stays None (use the global one), an int seeds a new one."""
    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(
        f"generator must be None, an int seed or a numpy.random.Generator, not {type(generator).__name__}"
    )


def draw_seed(rng: np.random.Generator | None) -> int:
    """A 63-bit seed from ``rng``, or from lucid's global CPU generator (seeded by ``lucid.manual_seed``)."""
    if rng is not None:
        return int(rng.integers(0, _SEED_BOUND))
    from ..ops.creation import randint

    return int(randint(0, _SEED_BOUND, (), device="cpu").item())


def rng_for(rng: np.random.Generator | None) -> np.random.Generator:
    """``rng`` itself, or a new generator seeded from the global one (one draw per pass, as PyTorch)."""
    return rng if rng is not None else np.random.default_rng(draw_seed(None))


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value!r}")
    return int(value)


def _check_bool(value, name: str, error=ValueError) -> bool:
    if not isinstance(value, bool):
        raise error(f"{name} should be a boolean value, but got {name}={value!r}")
    return value


class Sampler:
    """Base class: an iterable over dataset indices (or over batches of them)."""

    def __init__(self, data_source=None) -> None:
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1`` in order."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random order: a permutation (repeated if ``num_samples`` is larger than the dataset) or,
    with ``replacement=True``, ``num_samples`` independent uniform draws."""

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        self.data_source = data_source
        self.replacement = _check_bool(replacement, "replacement", TypeError)
        self._num_samples = num_samples
        self.generator = generator
        self._rng = as_generator(generator)
        _positive_int(self.num_samples, "num_samples")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, rng = len(self.data_source), rng_for(self._rng)
        if self.replacement:
            yield from rng.integers(0, n, size=self.num_samples).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n)[: self.num_samples % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (without replacement)."""

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices = indices
        self.generator = generator
        self._rng = as_generator(generator)

    def __iter__(self) -> Iterator[int]:
        for i in rng_for(self._rng).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in ``[0, len(weights))`` drawn with probability proportional to
    ``weights`` (which need not sum to one), with or without replacement."""

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None) -> None:
        self.num_samples = _positive_int(num_samples, "num_samples")
        self.replacement = _check_bool(replacement, "replacement")
        host = weights.numpy(force=True) if hasattr(weights, "numpy") else weights
        w = np.asarray(host, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1-d sequence, but got weights of shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(
                f"cannot draw num_samples={num_samples} without replacement from only "
                f"{np.count_nonzero(w)} indices with non-zero weight"
            )
        self.weights = w
        self.generator = generator
        self._rng = as_generator(generator)

    def __iter__(self) -> Iterator[int]:
        p = self.weights / self.weights.sum()
        draws = rng_for(self._rng).choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        yield from draws.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; the last, shorter batch is
    kept unless ``drop_last``."""

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        self.sampler = sampler
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.drop_last = _check_bool(drop_last, "drop_last")

    def __iter__(self) -> Iterator[list]:
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
