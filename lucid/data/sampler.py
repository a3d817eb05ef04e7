"""Samplers: the order in which a DataLoader visits a map-style dataset.

Randomness: a sampler's ``generator`` is a ``lucid.Generator`` (on the CPU), as in PyTorch, or, as
lucid extensions, an int seed (a new Generator seeded with it) or a ``numpy.random.Generator``
(drawn from directly). Without one, ``RandomSampler`` draws a fresh seed per pass from lucid's
default CPU generator and the others draw from it directly, so ``lucid.manual_seed(s)`` makes
the whole sequence of epochs reproducible while every epoch still gets a new order, as in PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Generic, TypeVar

import numpy as np

from .. import distributed as dist
from .. import dtypes as _dt
from .._tensor import Tensor
from ..ops.sampling import multinomial, randint, randperm
from ..random import Generator

__all__ = [
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
    "BatchSampler", "DistributedSampler",
]

_SEED_BOUND = 2**63  # seeds in [0, 2**63): PyTorch draws them as random64 % 2**63 (int64 random_())
_CHUNK = 32  # RandomSampler with replacement draws this many indices at a time (as PyTorch), never all at once


def as_generator(generator) -> Generator | None:
    """``generator=`` as a lucid Generator: None stays None (the default CPU generator), an int seeds
    a new one, a ``numpy.random.Generator`` is drawn from directly."""
    if generator is None or isinstance(generator, Generator):
        return generator
    if isinstance(generator, np.random.Generator):
        return Generator._wrapping(generator)
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return Generator().manual_seed(int(generator))
    raise TypeError(f"generator must be None, a lucid.Generator, an int seed or a numpy.random.Generator, "
                    f"not {type(generator).__name__}")


def draw_seed(generator: Generator | None) -> int:
    """A 63-bit seed from ``generator``, or from lucid's default CPU generator (seeded by ``lucid.manual_seed``)."""
    return int(randint(0, _SEED_BOUND, (), generator=generator).item())


def _pass_generator(generator: Generator | None) -> Generator:
    """``generator`` itself, or a new one seeded from the default generator (one draw per pass, as PyTorch)."""
    return generator if generator is not None else Generator().manual_seed(draw_seed(None))


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value!r}")
    return int(value)


def _check_bool(value, name: str, error=ValueError) -> bool:
    if not isinstance(value, bool):
        raise error(f"{name} should be a boolean value, but got {name}={value!r}")
    return value


T_co = TypeVar("T_co", covariant=True)  # what a sampler yields (``Sampler[int]``, ``Sampler[list[int]]``)


class Sampler(Generic[T_co]):
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
        self._gen = as_generator(generator)
        _positive_int(self.num_samples, "num_samples")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, gen = len(self.data_source), _pass_generator(self._gen)
        if self.replacement:  # lazily, a chunk at a time: num_samples may be huge
            for _ in range(self.num_samples // _CHUNK):
                yield from randint(n, (_CHUNK,), generator=gen).tolist()
            yield from randint(n, (self.num_samples % _CHUNK,), generator=gen).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from randperm(n, generator=gen).tolist()
        yield from randperm(n, generator=gen).tolist()[: self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (without replacement)."""

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices = indices
        self.generator = generator
        self._gen = as_generator(generator)

    def __iter__(self) -> Iterator[int]:
        for i in randperm(len(self.indices), generator=self._gen).tolist():
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
        self.weights = Tensor(w, dtype=_dt.float64)
        self.generator = generator
        self._gen = as_generator(generator)

    def __iter__(self) -> Iterator[int]:
        yield from multinomial(self.weights, self.num_samples, self.replacement, generator=self._gen).tolist()

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


def _world(num_replicas, rank) -> tuple[int, int]:
    """``num_replicas`` and ``rank``, the missing ones from ``lucid.distributed`` (when a process group is
    initialised)."""
    if num_replicas is None or rank is None:
        if not dist.is_initialized():
            raise RuntimeError("DistributedSampler: pass num_replicas and rank, or initialise lucid.distributed "
                               "(init_process_group) so that they can be read from it")
        num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
        rank = dist.get_rank() if rank is None else rank
    num_replicas = _positive_int(num_replicas, "num_replicas")
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
        raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
    return num_replicas, int(rank)


class DistributedSampler(Sampler):
    """The share of ``dataset`` of process ``rank`` out of ``num_replicas``: every ``num_replicas``-th
    index of one order (a permutation seeded by ``seed + epoch`` with ``shuffle``), padded by
    repeating indices to a multiple of ``num_replicas`` or, with ``drop_last``, cut to one. The shares
    are disjoint (apart from the padding) and together cover the dataset. Call :meth:`set_epoch`
    before each epoch to shuffle differently."""

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False) -> None:
        self.num_replicas, self.rank = _world(num_replicas, rank)
        self.dataset, self.shuffle, self.seed, self.drop_last = dataset, shuffle, seed, drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = randperm(n, generator=Generator().manual_seed(self.seed + self.epoch)).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[: self.total_size]
        elif indices:
            padding = self.total_size - n
            indices += (indices * math.ceil(padding / n))[:padding]
        return iter(indices[self.rank: self.total_size: self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch number, which seeds this epoch's shuffle (the same on every replica)."""
        self.epoch = epoch
