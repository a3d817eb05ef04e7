"""lucid.data: collation, samplers, datasets, random_split and the DataLoader (with workers)."""

from __future__ import annotations

import gc
import os
import time
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np
import pytest

import lucid
from lucid.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)

Point = namedtuple("Point", ["x", "y"])


def host(t):
    return t.numpy(force=True)


def flatten(batch):
    """A batch as nested plain Python/NumPy values, for comparing two loaders' output."""
    if isinstance(batch, lucid.Tensor):
        return (batch.dtype.name, batch.shape, host(batch).tolist())
    if isinstance(batch, dict):
        return {k: flatten(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [flatten(v) for v in batch]
    return batch


# ---- datasets used by the loader tests (module level so that workers can use them) ------------
class Squares(Dataset):
    """Sample i: (float32 array [i, i*i], int i, {"name": str, "half": float})."""

    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.array([i, i * i], dtype=np.float32), i, {"name": f"s{i}", "half": i / 2}


class WhoAmI(Dataset):
    """Sample i: (i, the worker id, the worker's seed, the value worker_init_fn stored, a lucid random draw)."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        wid, seed = (-1, -1) if info is None else (info.id, info.seed)
        return i, wid, seed, _INIT_MARK[0], float(lucid.rand(1).item())


_INIT_MARK = [None]


def _mark_init(worker_id):
    _INIT_MARK[0] = 100 + worker_id


class Stream(IterableDataset):
    """0 .. n-1, split between workers by ``i % num_workers == worker id``."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        step, first = (1, 0) if info is None else (info.num_workers, info.id)
        return iter(range(first, self.n, step))

    def __len__(self):
        return self.n


class Failing(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            raise KeyError(f"no sample {i}")
        return i


class Slow(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(0.6)
        return i


class Dying(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if get_worker_info() is not None:
            os._exit(3)
        return i


def _sum_collate(batch):
    return sum(batch)


# ---- collate -----------------------------------------------------------------------------------
def test_collate_tensors_stack_on_their_device(device, rng):
    items = [lucid.tensor(rng.standard_normal((2, 3)).astype(np.float32), device=device) for _ in range(4)]
    batch = default_collate(items)
    assert batch.device == device and batch.shape == (4, 2, 3) and batch.dtype == lucid.float32
    np.testing.assert_array_equal(host(batch), np.stack([host(t) for t in items]))


def test_collate_drops_autograd_history():
    items = [lucid.ones(3, requires_grad=True) for _ in range(2)]
    assert not default_collate(items).requires_grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8, np.bool_])
def test_collate_numpy_arrays_keep_dtype(dtype, rng):
    arrays = [(rng.standard_normal((3, 2)) * 5).astype(dtype) for _ in range(5)]
    batch = default_collate(arrays)
    assert isinstance(batch, lucid.Tensor) and batch.dtype == np.dtype(dtype).name and batch.shape == (5, 3, 2)
    np.testing.assert_array_equal(host(batch), np.stack(arrays))


@pytest.mark.parametrize("values, dtype", [([1.5, -2.0, 3.25], "float64"), ([1, 2, -3], "int64"),
                                           ([True, False, True], "bool"),
                                           ([np.float32(1.5), np.float32(2)], "float32"),
                                           ([np.int16(4), np.int16(-5)], "int16")])
def test_collate_numbers_follow_pytorch_dtypes(values, dtype):
    batch = default_collate(values)
    assert batch.dtype.name == dtype and batch.shape == (len(values),)
    np.testing.assert_array_equal(host(batch), np.array(values))


def test_collate_strings_dicts_tuples_namedtuples():
    samples = [{"img": np.full(2, i, np.float32), "label": i, "name": f"n{i}", "pt": Point(i, float(i)),
                "pair": (i, [i, -i])} for i in range(3)]
    batch = default_collate(samples)
    assert list(batch) == ["img", "label", "name", "pt", "pair"]
    assert batch["name"] == ["n0", "n1", "n2"]
    assert batch["label"].dtype == lucid.int64 and host(batch["label"]).tolist() == [0, 1, 2]
    assert isinstance(batch["pt"], Point) and batch["pt"].y.dtype == lucid.float64
    assert isinstance(batch["pair"], list)  # tuples come back as lists, as in PyTorch
    assert host(batch["pair"][1][1]).tolist() == [0, -1, -2]
    ordered = default_collate([OrderedDict(b=1, a=2), OrderedDict(b=3, a=4)])
    assert type(ordered) is OrderedDict and list(ordered) == ["b", "a"]


def test_collate_bad_input_errors():
    with pytest.raises(RuntimeError, match=r"same shape.*\(2,\) at entry 0.*\(3,\) at entry 1"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([(1, 2), (1, 2, 3)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="dtype <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_collate_check_names_are_pytorchs():
    """Collate functions copied from PyTorch import its dtype pattern and message (torch.utils.data._utils.collate
    is lucid.data.collate under torch_compat): they are PyTorch's, and lucid's own check uses them."""
    pytest.importorskip("torch")
    from torch.utils.data._utils import collate as theirs

    from lucid.data import collate as ours

    assert ours.np_str_obj_array_pattern.pattern == theirs.np_str_obj_array_pattern.pattern
    assert ours.default_collate_err_msg_format == theirs.default_collate_err_msg_format
    for bad in (["a"], [b"a"], [None]):
        with pytest.raises(TypeError, match="batch must contain tensors.*found a numpy array of dtype"):
            default_collate([np.array(bad, dtype=object if bad == [None] else None)] * 2)


def test_default_convert():
    out = default_convert({"a": np.arange(3), "b": 2.5, "c": (np.float32(1.0), "s")})
    assert isinstance(out["a"], lucid.Tensor) and out["a"].dtype == lucid.int64
    assert out["b"] == 2.5 and isinstance(out["c"], tuple) and out["c"][1] == "s"
    assert out["c"][0].dtype == lucid.float32 and out["c"][0].shape == ()


def test_collate_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    samples = [(np.arange(4, dtype=np.float32) * i, i, i / 3, {"k": np.int32(i), "s": str(i)}, Point(i, [i, i]))
               for i in range(3)]
    ours, theirs = default_collate(samples), torch_collate(samples)

    def compare(a, b):
        if isinstance(b, torch.Tensor):
            assert a.dtype.name == str(b.dtype).removeprefix("torch.")
            np.testing.assert_array_equal(host(a), b.numpy())
        elif isinstance(b, dict):
            assert list(a) == list(b)
            for k in b:
                compare(a[k], b[k])
        elif isinstance(b, (list, tuple)) and not isinstance(b, str):
            assert type(a) is type(b) and len(a) == len(b)
            for x, y in zip(a, b):
                compare(x, y)
        else:
            assert a == b

    compare(ours, theirs)


# ---- samplers ------------------------------------------------------------------------------------
def test_sequential_sampler():
    assert list(SequentialSampler(range(5))) == [0, 1, 2, 3, 4] and len(SequentialSampler(range(5))) == 5


def test_random_sampler_is_a_permutation_seeded_by_manual_seed():
    data = range(50)
    sampler = RandomSampler(data)
    lucid.manual_seed(3)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == list(data) and first != second  # a new order each epoch
    lucid.manual_seed(3)
    assert [list(sampler), list(sampler)] == [first, second]


def test_random_sampler_generator():
    a, b = RandomSampler(range(30), generator=7), RandomSampler(range(30), generator=7)
    assert list(a) == list(b) and list(a) == list(b)
    c = RandomSampler(range(30), generator=np.random.default_rng(7))
    assert sorted(list(c)) == list(range(30))
    with pytest.raises(TypeError, match="generator"):
        RandomSampler(range(3), generator="seed")


def test_random_sampler_num_samples_and_replacement():
    without = list(RandomSampler(range(4), num_samples=10, generator=0))
    assert len(without) == 10 and np.bincount(without).tolist() in ([3, 3, 2, 2], [3, 2, 3, 2], [3, 2, 2, 3],
                                                                     [2, 3, 3, 2], [2, 3, 2, 3], [2, 2, 3, 3])
    assert sorted(without[:4]) == sorted(without[4:8]) == [0, 1, 2, 3]
    draws = list(RandomSampler(range(10), replacement=True, num_samples=20000, generator=1))
    counts = np.bincount(draws, minlength=10)
    assert len(draws) == 20000 and counts.sum() == 20000
    assert np.all(np.abs(counts - 2000) < 5 * np.sqrt(20000 * 0.1 * 0.9))  # within 5 sigma of uniform
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler([])


def test_weighted_random_sampler_statistics():
    weights = [1.0, 2.0, 3.0, 0.0, 4.0]
    draws = list(WeightedRandomSampler(weights, 30000, generator=2))
    freq = np.bincount(draws, minlength=5) / 30000
    np.testing.assert_allclose(freq, np.array(weights) / 10, atol=0.015)
    unique = list(WeightedRandomSampler(lucid.tensor(weights), 4, replacement=False, generator=2))
    assert sorted(unique) == [0, 1, 2, 4]
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler(weights, 5, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1.0, -1.0], 2)
    with pytest.raises(ValueError, match="1-d"):
        WeightedRandomSampler([[1.0, 2.0]], 2)
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler(weights, 0)


def test_subset_random_sampler():
    indices = [10, 20, 30, 40, 50]
    order = list(SubsetRandomSampler(indices, generator=5))
    assert sorted(order) == indices and len(SubsetRandomSampler(indices)) == 5
    assert order == list(SubsetRandomSampler(indices, generator=5))


@pytest.mark.parametrize("n, size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)])
def test_batch_sampler(n, size, drop_last):
    batches = list(BatchSampler(SequentialSampler(range(n)), size, drop_last))
    flat = [i for b in batches for i in b]
    expected_len = n // size if drop_last else -(-n // size)
    assert len(batches) == len(BatchSampler(range(n), size, drop_last)) == expected_len
    assert flat == list(range(len(flat))) and all(len(b) == size for b in batches[:-1])
    assert len(flat) == (n - n % size if drop_last else n)


def test_batch_sampler_matches_torch():
    TorchBatchSampler = pytest.importorskip("torch.utils.data").BatchSampler

    for drop_last in (False, True):
        ours, theirs = BatchSampler(range(11), 4, drop_last), TorchBatchSampler(range(11), 4, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_batch_sampler_errors():
    for bad in (0, -1, True, 2.5):
        with pytest.raises(ValueError, match="batch_size"):
            BatchSampler(range(3), bad, False)
    with pytest.raises(ValueError, match="drop_last"):
        BatchSampler(range(3), 2, 1)


# ---- datasets ------------------------------------------------------------------------------------
def test_tensor_dataset(device, rng):
    x = lucid.tensor(rng.standard_normal((5, 3)).astype(np.float32), device=device)
    y = lucid.arange(5, device=device)
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    xi, yi = ds[2]
    np.testing.assert_array_equal(host(xi), host(x)[2])
    assert int(yi.item()) == 2
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.device == device and xb.shape == (4, 3) and host(yb).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(x, lucid.arange(4))


def test_concat_subset_chain():
    a, b = Squares(3), Squares(4)
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 7 and cat.cumulative_sizes == [3, 7]
    assert [cat[i][1] for i in range(7)] == [0, 1, 2, 0, 1, 2, 3] and cat[-1][1] == 3 and cat[-7][1] == 0
    for bad, error in ((7, IndexError), (-8, ValueError)):  # PyTorch's errors
        with pytest.raises(error):
            cat[bad]
    with pytest.raises(ValueError, match="at least one"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="IterableDataset"):
        ConcatDataset([a, Stream(3)])
    sub = Subset(Squares(10), [7, 2, 5])
    assert len(sub) == 3 and sub[0][1] == 7 and [s[1] for s in sub.__getitems__([2, 1])] == [5, 2]
    chain = Stream(2) + Stream(3)
    assert isinstance(chain, ChainDataset) and list(chain) == [0, 1, 0, 1, 2] and len(chain) == 5
    with pytest.raises(TypeError, match="IterableDataset"):
        ChainDataset([a])


def test_random_split_sizes_and_determinism():
    data = range(11)
    parts = random_split(data, [0.5, 0.5], generator=4)
    assert [len(p) for p in parts] == [6, 5]  # floor each, remainder dealt from the first (as PyTorch)
    assert sorted(parts[0].indices + parts[1].indices) == list(range(11))
    again = random_split(data, [0.5, 0.5], generator=4)
    assert [p.indices for p in again] == [p.indices for p in parts]
    sized = random_split(range(10), [2, 3, 5], generator=np.random.default_rng(0))
    assert [len(p) for p in sized] == [2, 3, 5] and sorted(sum((p.indices for p in sized), [])) == list(range(10))
    lucid.manual_seed(1)
    first = [p.indices for p in random_split(data, [3, 8])]
    lucid.manual_seed(1)
    assert [p.indices for p in random_split(data, [3, 8])] == first
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(data, [3, 3])
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(data, [12, -1])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(1), [0.5, 0.5])


def test_random_split_sizes_match_torch():
    torch = pytest.importorskip("torch")
    for n, fractions in [(11, [0.5, 0.5]), (10, [0.1, 0.2, 0.7]), (7, [0.25, 0.25, 0.25, 0.25])]:
        ours = [len(p) for p in random_split(range(n), fractions, generator=0)]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), fractions)]
        assert ours == theirs


# ---- DataLoader ----------------------------------------------------------------------------------
def test_loader_batches_len_and_drop_last():
    loader = DataLoader(Squares(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    x, i, meta = batches[0]
    assert x.shape == (4, 2) and x.dtype == lucid.float32 and i.dtype == lucid.int64
    assert meta["name"] == ["s0", "s1", "s2", "s3"] and meta["half"].dtype == lucid.float64
    assert host(batches[-1][1]).tolist() == [8, 9]
    dropped = DataLoader(Squares(10), batch_size=4, drop_last=True)
    assert len(dropped) == len(list(dropped)) == 2
    single = list(DataLoader(Squares(3), batch_size=None))
    assert len(single) == 3 and single[1][0].shape == (2,) and single[1][1] == 1


def test_loader_shuffle_follows_manual_seed_and_generator():
    def order(loader):
        return [i for batch in loader for i in host(batch[1]).tolist()]

    loader = DataLoader(Squares(20), batch_size=6, shuffle=True)
    lucid.manual_seed(0)
    epoch1, epoch2 = order(loader), order(loader)
    assert sorted(epoch1) == list(range(20)) and epoch1 != epoch2
    lucid.manual_seed(0)
    assert order(loader) == epoch1 and order(loader) == epoch2
    seeded = [order(DataLoader(Squares(20), batch_size=6, shuffle=True, generator=9)) for _ in range(2)]
    assert seeded[0] == seeded[1]


def test_workers_give_the_same_batches_as_the_main_process():
    runs = []
    for workers in (0, 2):
        lucid.manual_seed(5)
        loader = DataLoader(Squares(23), batch_size=4, shuffle=True, num_workers=workers)
        runs.append([flatten(b) for epoch in range(2) for b in loader])
    assert runs[0] == runs[1] and len(runs[0]) == 12


def test_workers_custom_collate_and_no_batching():
    plain = [int(b) for b in DataLoader(range(10), batch_size=3, collate_fn=_sum_collate)]
    workers = [int(b) for b in DataLoader(range(10), batch_size=3, collate_fn=_sum_collate, num_workers=2)]
    assert plain == workers == [3, 12, 21, 9]
    single = list(DataLoader(Squares(5), batch_size=None, num_workers=2))
    assert [s[1] for s in single] == list(range(5)) and isinstance(single[0][0], lucid.Tensor)


def test_worker_seeds_info_and_init_fn():
    def run():
        loader = DataLoader(WhoAmI(), batch_size=2, num_workers=2, worker_init_fn=_mark_init, generator=11)
        return [tuple(host(t).tolist() if isinstance(t, lucid.Tensor) else t for t in b) for b in loader]

    batches = run()
    rows = [tuple(col[k] for col in b) for b in batches for k in range(2)]
    assert [r[0] for r in rows] == list(range(8))
    assert {r[1] for r in rows} == {0, 1}
    assert all(r[3] == 100 + r[1] for r in rows)  # worker_init_fn ran with the worker's id
    seeds = {r[1]: r[2] for r in rows}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id
    assert run() == batches  # the generator fixes the workers' seeds, hence their random draws
    draws = [r[4] for r in rows]
    assert len(set(draws)) == len(draws)  # workers are seeded differently


def test_iterable_dataset_sharded_between_workers():
    plain = [host(b).tolist() for b in DataLoader(Stream(9), batch_size=2)]
    assert plain == [[0, 1], [2, 3], [4, 5], [6, 7], [8]]
    sharded = [host(b).tolist() for b in DataLoader(Stream(9), batch_size=2, num_workers=2)]
    # worker 0 streams 0,2,4,6,8 and worker 1 streams 1,3,5,7; batches alternate between them
    assert sharded == [[0, 2], [1, 3], [4, 6], [5, 7], [8]]
    dropped = [host(b).tolist() for b in DataLoader(Stream(9), batch_size=2, num_workers=2, drop_last=True)]
    assert dropped == [[0, 2], [1, 3], [4, 6], [5, 7]]
    assert len(DataLoader(Stream(9), batch_size=2)) == 5 and len(DataLoader(Stream(9), batch_size=2,
                                                                           drop_last=True)) == 4
    assert [int(s) for s in DataLoader(Stream(4), batch_size=None)] == [0, 1, 2, 3]


def test_persistent_workers_run_several_epochs():
    loader = DataLoader(Squares(7), batch_size=3, num_workers=2, persistent_workers=True)
    expected = [flatten(b) for b in DataLoader(Squares(7), batch_size=3)]
    first = iter(loader)
    workers = list(first._workers)
    assert [flatten(b) for b in first] == expected
    assert [flatten(b) for b in loader] == expected and loader._iterator._workers == workers
    del first, loader  # the loader and its iterator form a cycle: the cyclic GC must stop the workers
    gc.collect()
    assert [w.exitcode for w in workers] == [0, 0]  # stopped cleanly, not terminated
    stream = DataLoader(Stream(5), batch_size=2, num_workers=2, persistent_workers=True)
    assert [sorted(sum((host(b).tolist() for b in stream), [])) for _ in range(2)] == [list(range(5))] * 2


def test_worker_error_is_reraised_with_its_type():
    loader = DataLoader(Failing(), batch_size=2, num_workers=2)
    with pytest.raises(KeyError, match="(?s)Caught KeyError in DataLoader worker process 1.*no sample 3"):
        list(loader)
    with pytest.raises(KeyError, match="no sample 3"):
        list(DataLoader(Failing(), batch_size=2))


def test_worker_timeout_and_death_are_reported():
    with pytest.raises(RuntimeError, match="timed out after 0.1 seconds"):
        next(iter(DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.1)))
    with pytest.raises(RuntimeError, match=r"worker process\(es\) .*exited unexpectedly"):
        list(DataLoader(Dying(), batch_size=2, num_workers=2))


def test_workers_stop_when_the_iterator_is_dropped():
    it = iter(DataLoader(Squares(40), batch_size=2, num_workers=2))
    next(it)
    workers = list(it._workers)
    del it
    gc.collect()
    assert [w.exitcode for w in workers] == [0, 0]  # stopped cleanly, not terminated


def test_loader_device_and_pin_memory(device):
    batches = list(DataLoader(Squares(5), batch_size=2, device=device, pin_memory=True))
    x, i, meta = batches[0]
    assert x.device == device and i.device == device and meta["half"].device == device
    np.testing.assert_array_equal(host(x), [[0, 0], [1, 1]])
    custom = next(iter(DataLoader(Squares(5), batch_size=2, collate_fn=default_collate, device=device)))
    assert custom[0].device == device


def test_loader_argument_errors():
    ds = Squares(4)
    cases = [
        (dict(shuffle=True, sampler=SequentialSampler(ds)), "mutually exclusive with shuffle"),
        (dict(batch_sampler=BatchSampler(range(4), 2, False), batch_size=2), "batch_sampler option"),
        (dict(batch_sampler=BatchSampler(range(4), 2, False), drop_last=True), "batch_sampler option"),
        (dict(batch_size=None, drop_last=True), "batch_size=None"),
        (dict(num_workers=-1), "num_workers"),
        (dict(prefetch_factor=2), "prefetch_factor"),
        (dict(num_workers=1, prefetch_factor=0), "prefetch_factor"),
        (dict(persistent_workers=True), "persistent_workers"),
        (dict(timeout=-1), "timeout"),
        (dict(multiprocessing_context="fork"), "multiprocessing_context"),
        (dict(batch_size=0), "batch_size"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            DataLoader(ds, **kwargs)
    for kwargs in (dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])):
        with pytest.raises(ValueError, match="IterableDataset: expected unspecified"):
            DataLoader(Stream(3), **kwargs)
    loader = DataLoader(ds)
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 3
    with pytest.raises(TypeError):
        len(DataLoader(type("NoLen", (IterableDataset,), {})()))


def test_batch_sampler_loader():
    loader = DataLoader(Squares(6), batch_sampler=[[5, 0], [3], [1, 2, 4]])
    assert [host(b[1]).tolist() for b in loader] == [[5, 0], [3], [1, 2, 4]] and len(loader) == 3
    assert loader.batch_size is None


def test_lucid_utils_data_is_lucid_data():
    """``from lucid.utils.data import ...``, as PyTorch programs write it, gives lucid.data's names."""
    import lucid.data
    import lucid.utils.data as utils_data

    assert lucid.utils.data is utils_data
    assert sorted(utils_data.__all__) == sorted(lucid.data.__all__)
    for name in lucid.data.__all__:
        assert getattr(utils_data, name) is getattr(lucid.data, name), name


def test_default_collate_matches_torch_on_numbers_strings_and_mappings():
    """Strings come back as given (a column of tuple samples is a tuple), a batch that starts with an int but
    holds a float takes the default float dtype, and mutable mappings keep their type (defaultdict too)."""
    torch = pytest.importorskip("torch")
    from collections import defaultdict

    from torch.utils.data import default_collate as torch_collate

    from lucid.data import default_collate

    cases = [[(1, "a"), (2, "b")], [1, 2.5], [2.5, 1], [True, 2], [True, False], ["x", "y"],
             [defaultdict(int, a=1.5), defaultdict(int, a=2.5)], [OrderedDict(b=1, a=2)]]

    def plain(batch):
        if isinstance(batch, (lucid.Tensor, torch.Tensor)):
            return "tensor", str(batch.dtype).split(".")[-1], batch.numpy().tolist()
        if isinstance(batch, Mapping):
            return type(batch).__name__, {k: plain(v) for k, v in batch.items()}
        if isinstance(batch, (list, tuple)):
            return type(batch).__name__, [plain(v) for v in batch]
        return batch

    for batch in cases:
        assert plain(default_collate(batch)) == plain(torch_collate(batch)), batch
    lucid.set_default_dtype(lucid.float64)
    try:
        assert default_collate([1, 2.5]).dtype == lucid.float64
    finally:
        lucid.set_default_dtype(lucid.float32)
