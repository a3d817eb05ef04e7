"""lucid.data against torch.utils.data, found by an oracle hunt: the IterableDataset length warning, attributes
replaced after construction (collate_fn, multiprocessing_context), in_order, pin_memory_device, and a KeyError
raised in a worker."""

from __future__ import annotations

import multiprocessing
import time
import warnings

import numpy as np
import pytest

import lucid
from lucid.data import DataLoader, IterableDataset, get_worker_info


def _stream(base, n, reported):
    """An IterableDataset class on ``base`` (lucid's or torch's) that every worker yields whole (0 .. n-1) and
    whose ``len`` says ``reported``."""
    return type("Stream", (base,), {"__iter__": lambda self: iter(range(n)), "__len__": lambda self: reported})


def _length_warnings(module, dataset, num_workers, read_len=True):
    loader = module.DataLoader(dataset, batch_size=None, num_workers=num_workers)
    if read_len:
        len(loader)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items = sorted(int(x) for x in loader)
    return items, [str(w.message) for w in caught if "Length of IterableDataset" in str(w.message)]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_iterable_dataset_yielding_more_than_its_len_warns_as_torch(num_workers):
    torch = pytest.importorskip("torch")
    ours = _length_warnings(lucid.data, _stream(IterableDataset, 4, 3)(), num_workers)
    ref = _length_warnings(torch.utils.data, _stream(torch.utils.data.IterableDataset, 4, 3)(), num_workers)
    assert ours[0] == ref[0]
    assert len(ours[1]) == len(ref[1]) > 0  # one per sample past the reported length
    assert "was reported to be 3" in ours[1][0] and f"but {len(ours[0]) - len(ours[1]) + 1} samples" in ours[1][0]
    assert ("get_worker_info" in ours[1][0]) == (num_workers > 0)
    # only once len(loader) has read the length, as PyTorch
    assert _length_warnings(lucid.data, _stream(IterableDataset, 4, 3)(), num_workers, read_len=False)[1] == []


def test_collate_fn_replaced_after_construction_is_used():
    torch = pytest.importorskip("torch")
    results = []
    for module in (lucid.data, torch.utils.data):
        loader = module.DataLoader(list(range(5)), batch_size=2)
        loader.collate_fn = sum
        results.append(list(loader))
    assert results[0] == results[1] == [1, 5, 4]
    ours = DataLoader(list(range(5)), batch_size=2, num_workers=1)
    ours.collate_fn = sum  # the workers run it too
    assert list(ours) == [1, 5, 4]
    ours.collate_fn = None  # back to the default, in lucid (PyTorch would call None)
    assert [b.tolist() for b in ours] == [[0, 1], [2, 3], [4]]


def test_multiprocessing_context_is_checked_and_settable_as_torch():
    torch = pytest.importorskip("torch")
    for module in (lucid.data, torch.utils.data):
        with pytest.raises(ValueError, match="valid start method in"):
            module.DataLoader(list(range(4)), num_workers=1, multiprocessing_context="no-such-method")
        with pytest.raises(TypeError, match="valid context object"):
            module.DataLoader(list(range(4)), num_workers=1, multiprocessing_context=3)
        with pytest.raises(ValueError, match="num_workers > 0"):
            module.DataLoader(list(range(4)), multiprocessing_context="fork")
        loader = module.DataLoader(list(range(4)), num_workers=1)
        assert loader.multiprocessing_context is None
        loader.multiprocessing_context = "fork"
        assert isinstance(loader.multiprocessing_context, multiprocessing.context.ForkContext)
    assert [b.tolist() for b in loader] == [[0], [1], [2], [3]]
    ours = DataLoader(list(range(4)), batch_size=2, num_workers=1)
    ours.multiprocessing_context = _RecordingContext()
    assert [b.tolist() for b in ours] == [[0, 1], [2, 3]] and ours.multiprocessing_context.started == 1


class _RecordingContext(multiprocessing.context.ForkContext):
    """The fork context, counting the processes started through it."""

    started = 0

    def Process(self, *args, **kwargs):  # noqa: N802 (multiprocessing's name)
        type(self).started += 1
        return super().Process(*args, **kwargs)


class _SlowFirst:
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 0:
            time.sleep(0.8)
        return i


def test_in_order_false_lets_ready_batches_overtake_a_slow_one():
    torch = pytest.importorskip("torch")
    assert torch.utils.data.DataLoader(list(range(3)), in_order=False).in_order is False
    assert [int(x) for x in DataLoader(list(range(3)), batch_size=None, in_order=False)] == [0, 1, 2]
    got = [int(x) for x in DataLoader(_SlowFirst(), batch_size=None, num_workers=2, in_order=False)]
    assert sorted(got) == list(range(6)) and got[0] != 0  # PyTorch gives [1, 3, 4, 5, 0, 2]
    assert [int(x) for x in DataLoader(_SlowFirst(), batch_size=None, num_workers=2)] == list(range(6))


class _Stream(IterableDataset):
    def __iter__(self):
        info = get_worker_info()
        return iter(range(info.id, 7, info.num_workers))


def test_in_order_false_with_an_iterable_dataset_and_persistent_workers():
    loader = DataLoader(_Stream(), batch_size=2, num_workers=2, in_order=False, persistent_workers=True)
    for _ in range(2):
        assert sorted(sum((b.tolist() for b in loader), [])) == list(range(7))


def test_pin_memory_device_is_accepted_with_torchs_deprecation_warning():
    torch = pytest.importorskip("torch")
    for module in (lucid.data, torch.utils.data):
        loader = module.DataLoader(list(range(3)), batch_size=2, pin_memory=True, pin_memory_device="cuda")
        with pytest.warns(UserWarning, match="pin_memory_device is deprecated"):
            assert [b.tolist() for b in loader] == [[0, 1], [2]]


class _Missing:
    def __len__(self):
        return 2

    def __getitem__(self, i):
        raise KeyError(f"no sample {i}")


def test_a_key_error_from_a_worker_prints_its_traceback_as_written():
    torch = pytest.importorskip("torch")
    for module in (lucid.data, torch.utils.data):
        with pytest.raises(KeyError) as caught:
            list(module.DataLoader(_Missing(), batch_size=None, num_workers=1))
        text = str(caught.value)
        assert text.startswith("Caught KeyError in DataLoader worker process 0.\nOriginal Traceback")
        assert "KeyError: 'no sample 0'\n" in text


def test_default_loader_output_unchanged_by_the_collate_property(device):
    loader = DataLoader([np.float32(i) for i in range(5)], batch_size=2, device=device)
    assert loader.collate_fn is lucid.data.default_collate
    assert [b.device for b in loader] == [device] * 3
    assert DataLoader(list(range(3)), batch_size=None).collate_fn is lucid.data.default_convert


def _eager_batches(module):
    """A batch sampler (of ``module``'s Sampler) whose ``__iter__`` shuffles at once, not lazily as a generator."""
    def __iter__(self):
        perm = module.randperm(8).tolist()
        return iter([perm[i:i + 3] for i in range(0, 8, 3)])
    return type("EagerBatches", (module.utils.data.Sampler,), {"__iter__": __iter__, "__len__": lambda self: 3})()


def _epochs(module, n, **kwargs):
    """The batches of ``n`` epochs of a loader over range(8), then one draw of the global generator."""
    module.manual_seed(0)
    loader = module.utils.data.DataLoader(list(range(8)), **kwargs)
    return [[b.tolist() for b in loader] for _ in range(n)], module.rand(()).item()


@pytest.mark.parametrize("kwargs", [
    dict(batch_size=3, shuffle=True, num_workers=2, persistent_workers=True),
    dict(batch_size=3, shuffle=True, num_workers=2, persistent_workers=True, generator="seeded"),
    dict(batch_sampler="eager"),
    dict(batch_sampler="eager", num_workers=2),
], ids=["persistent", "persistent-generator", "eager-sampler", "eager-sampler-workers"])
def test_epochs_shuffle_and_seed_as_torch(kwargs):
    """PyTorch draws a loader iterator's base seed once, after making the sampler's iterator (and makes that again
    when workers start): persistent workers keep their seed across epochs, so later epochs draw only the shuffle."""
    torch = pytest.importorskip("torch")
    runs = []
    for module in (lucid, torch):
        options = dict(kwargs)
        if options.get("generator") == "seeded":
            options["generator"] = module.Generator().manual_seed(5)
        if options.get("batch_sampler") == "eager":
            options["batch_sampler"] = _eager_batches(module)
        runs.append(_epochs(module, 3, **options))
    assert runs[0] == runs[1]


@pytest.mark.skipif(lucid.accelerator.is_available(), reason="this machine has an accelerator: batches are pinned")
def test_pin_memory_without_an_accelerator_warns_as_torch():
    torch = pytest.importorskip("torch")
    for module in (lucid.data, torch.utils.data):
        with pytest.warns(UserWarning, match="no accelerator is found"):
            assert [b.tolist() for b in module.DataLoader([1, 2], batch_size=2, pin_memory=True)] == [[1, 2]]


def test_concat_dataset_negative_index_past_the_start_raises_value_error_as_torch():
    torch = pytest.importorskip("torch")
    for module in (lucid.data, torch.utils.data):
        ds = module.ConcatDataset([[1, 2], [3]])
        assert ds[-3] == 1
        with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
            ds[-4]
        with pytest.raises(IndexError):
            ds[3]


def test_more_workers_than_cpus_warns_as_torch(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0}, raising=False)
    loader = DataLoader(list(range(4)), batch_size=2, num_workers=2)
    with pytest.warns(UserWarning, match="create 2 worker processes in total. Our suggested max number of worker in "
                                         "current system is 1"):
        assert [b.tolist() for b in loader] == [[0, 1], [2, 3]]
