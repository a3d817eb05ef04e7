"""Pinned host memory and non-blocking copies reach the backend: ``Tensor.pin_memory``, ``is_pinned``,
``to("cuda", non_blocking=True)``, ``cuda(non_blocking=)`` and ``DataLoader(pin_memory=True)``.

The fake CUDA backend of ``tests/fake_cuda.py`` (NumPy underneath) stands in for CuPy on the CPU; here its
``pin`` makes arrays over a buffer type of its own (as CuPy's pinned pool does), and its ``from_numpy`` records,
for every copy to the device, whether the source was pinned and whether ``non_blocking`` was asked.
"""

from __future__ import annotations

import numpy as np
import pytest
from fake_cuda import FakeCudaBackend, serve_cuda  # tests/ is on sys.path (its conftest, rootdir mode)

import lucid


class _PinnedBlock(bytearray):
    """Host memory the fake backend counts as page-locked."""


class RecordingCudaBackend(FakeCudaBackend):
    name = "recording-cuda"

    def __init__(self):
        super().__init__()
        self.copies = []  # (source pinned, non_blocking) of every host-to-device copy

    def pin(self, array):
        pinned = np.frombuffer(_PinnedBlock(max(array.nbytes, 1)), array.dtype, array.size).reshape(array.shape)
        pinned[...] = array
        return pinned

    def is_pinned(self, array):
        base = array  # down the views to the buffer NumPy's memoryview holds, as CupyBackend.is_pinned
        while isinstance(base, (np.ndarray, memoryview)):
            base = base.base if isinstance(base, np.ndarray) else base.obj
        return isinstance(base, _PinnedBlock)

    def from_numpy(self, array, index, non_blocking=False):
        self.copies.append((self.is_pinned(array), non_blocking))
        return super().from_numpy(array, index, non_blocking)


@pytest.fixture
def fake_cuda(monkeypatch):
    """The recording fake backend serving ``"cuda"`` for one test."""
    yield from serve_cuda(monkeypatch, RecordingCudaBackend)


def test_pin_memory_copies_into_pinned_memory(fake_cuda):
    x = lucid.arange(6, dtype=lucid.float32).reshape(2, 3)
    y = x.pin_memory()
    assert y.is_pinned() and not x.is_pinned()
    assert y.device == "cpu" and y.dtype == x.dtype and y.shape == x.shape
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    assert y.pin_memory() is y  # already pinned: nothing to copy
    assert y[1].is_pinned()  # a view of pinned memory is pinned


def test_pin_memory_passes_the_gradient(fake_cuda):
    x = lucid.randn(3, requires_grad=True)
    y = x.pin_memory()
    assert y.is_pinned() and y.requires_grad
    (y * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 2.0, dtype=np.float32))


@pytest.mark.parametrize(("move", "expected"), [
    (lambda t: t.to("cuda", non_blocking=True), (True, True)),
    (lambda t: t.to("cuda"), (True, False)),
    (lambda t: t.to(lucid.device("cuda:0"), lucid.float32, True), (True, True)),  # positional, as in PyTorch
    (lambda t: t.to("cuda", lucid.float64, False, True), (True, False)),
    (lambda t: t.cuda(non_blocking=True), (True, True)),
    (lambda t: t.cuda(0, non_blocking=True), (True, True)),
    (lambda t: t.cuda(), (True, False)),
], ids=["to-kw", "to-blocking", "to-positional", "to-positional-copy", "cuda-kw", "cuda-index", "cuda-blocking"])
def test_copies_to_the_device_pass_pinned_source_and_flag(fake_cuda, move, expected):
    x = lucid.randn(4).pin_memory()
    y = move(x)
    assert fake_cuda.copies == [expected]
    assert y.device == "cuda:0"
    np.testing.assert_allclose(y.cpu().numpy(), x.numpy())


@pytest.mark.parametrize("move", [lambda m: m.to("cuda", non_blocking=True), lambda m: m.to("cuda", None, True)],
                         ids=["keyword", "positional"])
def test_module_to_passes_non_blocking_for_every_parameter_and_buffer(fake_cuda, move):
    model = lucid.nn.BatchNorm1d(3)  # two parameters, two float buffers and an int64 one
    assert move(model) is model
    assert fake_cuda.copies == [(False, True)] * 5
    assert all(t.device == "cuda:0" for t in (*model.parameters(), *model.buffers()))


def test_non_blocking_from_pageable_memory_reaches_the_backend_too(fake_cuda):
    lucid.ones(2).to("cuda", non_blocking=True)
    assert fake_cuda.copies == [(False, True)]


def test_non_blocking_to_another_tensors_device(fake_cuda):
    target = lucid.zeros(1, device="cuda")
    fake_cuda.copies.clear()
    lucid.ones(2).pin_memory().to(target, True)
    assert fake_cuda.copies == [(True, True)]


def test_bad_to_arguments_and_pinning_a_device_tensor(fake_cuda):
    x = lucid.ones(2)
    with pytest.raises(TypeError, match="multiple values for argument 'non_blocking'"):
        x.to("cuda", True, non_blocking=True)
    with pytest.raises(TypeError, match="non_blocking, copy"):
        x.to("cuda", True, True, True)
    with pytest.raises(RuntimeError, match="only CPU tensors can be pinned, this one is on cuda:0"):
        x.to("cuda").pin_memory()
    assert not x.to("cuda").is_pinned()


def _dataset():
    return [(np.full(3, float(i), dtype=np.float32), i) for i in range(5)]


@pytest.mark.parametrize("collate_fn", [None, lambda batch: lucid.data.default_collate(batch)],
                         ids=["default", "custom"])
def test_data_loader_pins_its_batches(fake_cuda, collate_fn):
    batches = list(lucid.data.DataLoader(_dataset(), batch_size=2, pin_memory=True, collate_fn=collate_fn))
    assert len(batches) == 3
    for i, (xb, yb) in enumerate(batches):
        assert xb.is_pinned() and yb.is_pinned() and xb.device == "cpu"
        np.testing.assert_array_equal(yb.numpy(), np.arange(2 * i, min(2 * i + 2, 5)))
    assert fake_cuda.copies == []


@pytest.mark.parametrize("pin", [True, False])
def test_data_loader_to_the_device_copies_from_pinned_memory_without_blocking(fake_cuda, pin):
    batches = list(lucid.data.DataLoader(_dataset(), batch_size=2, pin_memory=pin, device="cuda"))
    assert [xb.device for xb, _ in batches] == [lucid.device("cuda:0")] * 3
    assert fake_cuda.copies == [(pin, pin)] * 6  # features and labels of three batches
    np.testing.assert_array_equal(batches[2][0].cpu().numpy(), np.full((1, 3), 4.0, dtype=np.float32))


@pytest.mark.skipif(lucid.cuda.is_available(), reason="this machine has a GPU: CuPy pins for real")
def test_without_a_backend_that_pins_pinning_is_a_no_op():
    """NumPy has no page-locked memory lucid could use: pin_memory returns the tensor itself (PyTorch raises
    without an accelerator; lucid keeps CPU-only runs of GPU-ready code working), DataLoader batches are as
    without pinning."""
    x = lucid.ones(3)
    assert x.pin_memory() is x and not x.is_pinned()
    plain = list(lucid.data.DataLoader(_dataset(), batch_size=2))
    pinned = list(lucid.data.DataLoader(_dataset(), batch_size=2, pin_memory=True))
    for (a, b), (c, d) in zip(plain, pinned):
        assert not c.is_pinned()
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())


@pytest.mark.skipif(not lucid.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_pinned_non_blocking_copy_round_trip():
    x = lucid.randn(1000)
    pinned = x.pin_memory()
    assert pinned.is_pinned() and not x.is_pinned()
    y = pinned.to("cuda", non_blocking=True)
    lucid.cuda.synchronize()
    np.testing.assert_array_equal(y.cpu().numpy(), x.numpy())
    batches = list(lucid.data.DataLoader(_dataset(), batch_size=2, pin_memory=True))
    assert all(xb.is_pinned() for xb, _ in batches)
