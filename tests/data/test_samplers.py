"""Samplers and splits with ``lucid.Generator``: reproducible and lazy; DistributedSampler and
StackDataset against ``torch.utils.data``."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

import lucid
from lucid.data import (
    DataLoader,
    DistributedSampler,
    RandomSampler,
    StackDataset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)


def gen(seed):
    return lucid.Generator().manual_seed(seed)


# ---- generators ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda g: RandomSampler(range(40), generator=g),
    lambda g: RandomSampler(range(40), replacement=True, num_samples=100, generator=g),
    lambda g: RandomSampler(range(7), num_samples=30, generator=g),
    lambda g: SubsetRandomSampler(list(range(10, 50)), generator=g),
    lambda g: WeightedRandomSampler([1.0, 2.0, 3.0, 4.0], 50, generator=g),
    lambda g: WeightedRandomSampler([float(w) for w in range(1, 21)], 10, replacement=False, generator=g),
])
def test_samplers_with_a_generator_are_reproducible(make):
    first = list(make(gen(5)))
    assert list(make(gen(5))) == first
    assert list(make(gen(6))) != first
    sampler = make(gen(5))
    assert list(sampler) == first
    g = sampler.generator
    state = g.get_state()
    second = list(sampler)  # the stream goes on: another epoch, another order
    g.set_state(state)
    assert list(sampler) == second


def test_random_sampler_with_replacement_draws_lazily():
    sampler = RandomSampler(range(10), replacement=True, num_samples=10**13, generator=gen(0))
    start = time.perf_counter()
    head = list(itertools.islice(iter(sampler), 100))
    assert time.perf_counter() - start < 5  # drawing all 10**13 at once would exhaust memory
    assert len(sampler) == 10**13 and len(head) == 100 and set(head) <= set(range(10)) and len(set(head)) > 5


def test_random_sampler_with_replacement_counts_and_chunks():
    for n in (1, 31, 32, 33, 100):  # whole chunks of 32 and the rest
        draws = list(RandomSampler(range(3), replacement=True, num_samples=n, generator=gen(1)))
        assert len(draws) == n and set(draws) <= {0, 1, 2}


def test_samplers_without_generator_follow_manual_seed():
    lucid.manual_seed(9)
    a = [list(RandomSampler(range(20))), list(SubsetRandomSampler(list(range(20)))),
         list(WeightedRandomSampler([1.0, 1.0, 2.0], 10))]
    lucid.manual_seed(9)
    assert [list(RandomSampler(range(20))), list(SubsetRandomSampler(list(range(20)))),
            list(WeightedRandomSampler([1.0, 1.0, 2.0], 10))] == a


def test_random_split_with_a_generator():
    parts = [p.indices for p in random_split(range(20), [0.25, 0.75], generator=gen(3))]
    assert [p.indices for p in random_split(range(20), [0.25, 0.75], generator=gen(3))] == parts
    assert sorted(parts[0] + parts[1]) == list(range(20)) and [len(p) for p in parts] == [5, 15]


def test_dataloader_shuffles_reproducibly_with_a_generator():
    data = TensorDataset(lucid.arange(30))

    def order(loader):
        return [int(v) for (batch,) in loader for v in batch.tolist()]

    a = order(DataLoader(data, batch_size=4, shuffle=True, generator=gen(12)))
    b = order(DataLoader(data, batch_size=4, shuffle=True, generator=gen(12)))
    assert a == b and sorted(a) == list(range(30)) and a != list(range(30))
    assert order(DataLoader(data, batch_size=4, shuffle=True, generator=gen(13))) != a
    loader = DataLoader(data, batch_size=4, shuffle=True, generator=gen(12))
    assert order(loader) == a and order(loader) != a  # the next epoch continues the generator's stream


def test_a_generator_of_another_kind_is_refused():
    with pytest.raises(TypeError, match="lucid.Generator"):
        RandomSampler(range(3), generator="seed")


# ---- DistributedSampler -------------------------------------------------------------------------------------
CASES = [(10, 3, False), (10, 3, True), (9, 3, True), (2, 4, False), (12, 4, False), (5, 1, False), (7, 2, True)]


@pytest.mark.parametrize("n, replicas, drop_last", CASES)
def test_distributed_sampler_without_shuffle_matches_torch(n, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch_data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size)


@pytest.mark.parametrize("n, replicas, drop_last", CASES)
def test_distributed_sampler_shards_are_disjoint_and_cover(n, replicas, drop_last):
    shards = [list(DistributedSampler(range(n), replicas, r, seed=4, drop_last=drop_last)) for r in range(replicas)]
    assert len({len(s) for s in shards}) == 1
    flat = [i for s in shards for i in s]
    if drop_last:
        assert len(set(flat)) == len(flat) == n - n % replicas  # disjoint, one equal share each
    else:
        assert set(flat) == set(range(n)) and len(flat) == -(-n // replicas) * replicas  # covering, padded


def test_distributed_sampler_epochs_and_seed():
    sampler = DistributedSampler(range(50), num_replicas=2, rank=1, seed=7)
    first = list(sampler)
    assert list(sampler) == first  # the same epoch: the same order
    sampler.set_epoch(1)
    second = list(sampler)
    assert second != first and sampler.epoch == 1
    other = DistributedSampler(range(50), num_replicas=2, rank=1, seed=7)
    other.set_epoch(1)
    assert list(other) == second
    assert list(DistributedSampler(range(50), num_replicas=2, rank=1, seed=8)) != first


def test_distributed_sampler_errors():
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(5), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="Invalid rank -1"):
        DistributedSampler(range(5), num_replicas=2, rank=-1)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(range(5), num_replicas=0, rank=0)
    if not getattr(getattr(lucid, "distributed", None), "is_initialized", lambda: False)():
        with pytest.raises(RuntimeError, match="num_replicas and rank"):
            DistributedSampler(range(5))


# ---- StackDataset --------------------------------------------------------------------------------------------
class Items:
    def __init__(self, n, scale):
        self.n, self.scale = n, scale

    def __getitem__(self, i):
        return i * self.scale

    def __len__(self):
        return self.n


class BatchedItems(Items):
    def __getitems__(self, indices):
        return [i * self.scale for i in indices]


def test_stack_dataset_matches_torch():
    torch_data = pytest.importorskip("torch.utils.data")
    for args, kwargs in [((Items(4, 1), BatchedItems(4, 10)), {}), ((), {"x": Items(4, 1), "y": BatchedItems(4, 10)})]:
        ours, theirs = StackDataset(*args, **kwargs), torch_data.StackDataset(*args, **kwargs)
        assert len(ours) == len(theirs) == 4
        assert [ours[i] for i in range(4)] == [theirs[i] for i in range(4)]
        assert ours.__getitems__([3, 1]) == theirs.__getitems__([3, 1])


@pytest.mark.parametrize("args, kwargs, message", [
    ((Items(2, 1),), {"y": Items(2, 1)}, "both types"),
    ((), {}, "At least one dataset"),
    ((Items(2, 1), Items(3, 1)), {}, "Size mismatch"),
])
def test_stack_dataset_errors_as_torch(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        StackDataset(*args, **kwargs)
    torch_data = pytest.importorskip("torch.utils.data")
    with pytest.raises(ValueError):
        torch_data.StackDataset(*args, **kwargs)


def test_stack_dataset_in_a_dataloader():
    data = StackDataset(x=TensorDataset(lucid.arange(6)), y=BatchedItems(6, 2))
    batches = list(DataLoader(data, batch_size=4))
    assert [b["y"].tolist() for b in batches] == [[0, 2, 4, 6], [8, 10]]
    assert np.array_equal(batches[0]["x"][0].numpy(), [0, 1, 2, 3])
