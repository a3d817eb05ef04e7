"""Shared-memory tensors and ``lucid.multiprocessing``: what a child process writes into a shared tensor the parent
sees, whether the tensor reaches it by fork, as a spawn argument or through a queue; Hogwild training of one
shared model by two processes; ``spawn``'s error reporting; DataLoader workers still work."""

from __future__ import annotations

import gc
import os
import sys
import weakref

import pytest

import lucid
import lucid.multiprocessing as mp
import lucid.nn as nn
from lucid._backend import shared_memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and fd passing: Linux")


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# ---- share_memory_ / is_shared -------------------------------------------------------------------------------

def test_share_memory_moves_data_into_shared_memory_in_place(device):
    t = lucid.arange(6.0, device=device).reshape(2, 3)
    assert t.share_memory_() is t
    assert t.is_shared()
    assert t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    if device.type == "cpu":  # a device's memory counts as shared and is left alone, as PyTorch's CUDA tensors
        assert not lucid.zeros(2, device=device).is_shared()
        assert shared_memory.locate(t._data) is not None
    data = t._data
    assert t.share_memory_()._data is data  # already shared: nothing moves


def test_sharing_a_view_moves_its_base_and_keeps_the_view():
    base = lucid.zeros(4, 3).share_memory_()
    view = base[1:, ::2]
    assert view.is_shared() and view.share_memory_() is view
    base = lucid.arange(12.0).reshape(4, 3).clone()
    view = base[1:, ::2]
    assert view.share_memory_() is view and view.is_shared() and base.is_shared()
    view[0, 1] = -1.0  # still a view of its base
    assert base[1, 2].item() == -1.0 and view.tolist() == [[3.0, -1.0], [6.0, 8.0], [9.0, 11.0]]


def test_module_share_memory_shares_parameters_grads_and_buffers():
    model = nn.BatchNorm1d(3)
    model.weight.grad = lucid.ones(3)
    ids = [id(p) for p in model.parameters()]
    assert model.share_memory() is model
    assert [id(p) for p in model.parameters()] == ids  # in place: an optimizer made before keeps working
    tensors = [*model.parameters(), *model.buffers(), model.weight.grad]
    assert all(t.is_shared() for t in tensors)
    assert model.running_var.tolist() == [1.0, 1.0, 1.0] and model.weight.grad.tolist() == [1.0, 1.0, 1.0]


def test_shared_memory_is_freed_with_the_last_tensor_on_it():
    before = _open_fds()
    t = lucid.zeros(1000).share_memory_()
    block = weakref.ref(shared_memory.locate(t._data)[0])
    view = t[10:]
    del t
    gc.collect()
    assert block() is not None  # the view still holds it
    del view
    gc.collect()
    assert block() is None and _open_fds() == before


# ---- sending tensors ------------------------------------------------------------------------------------------

def test_a_shared_tensor_sent_through_a_queue_is_the_same_memory():
    q = mp.Queue()
    sent = nn.Parameter(lucid.zeros(2, 3).share_memory_())
    sent.tag = "w"
    q.put(sent)
    got = q.get(timeout=10)
    assert type(got) is nn.Parameter and got.requires_grad and got.tag == "w" and got.grad is None
    got.detach()[0, 1] = 5.0
    assert sent[0, 1].item() == 5.0
    q.put(sent.detach()[:, 1:].t())  # a strided view arrives with its place in the block
    view = q.get(timeout=10)
    assert view.tolist() == [[5.0, 0.0], [0.0, 0.0]] and view.is_shared()
    view[1, 0] = 7.0
    assert sent[0, 2].item() == 7.0
    q.close()


def test_an_unshared_tensor_is_sent_as_a_copy():
    q = mp.Queue()
    t = lucid.zeros(3)
    q.put(t)
    got = q.get(timeout=10)
    got[0] = 1.0
    assert t.tolist() == [0.0, 0.0, 0.0] and not t.is_shared() and not got.is_shared()
    q.close()


def test_tensors_that_cannot_cross_processes_raise(device):
    q = mp.SimpleQueue()
    x = lucid.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor"):
        q.put(x * 2)
    if device.type != "cpu":
        with pytest.raises(RuntimeError, match="lucid shares only CPU tensors"):
            q.put(lucid.ones(2, device=device))
    q.close()


def _write_into(rank, t, q):
    if q is not None:
        t = q.get(timeout=10)
    t[rank] += 10.0


@pytest.mark.parametrize("through_queue", [False, True])
def test_a_forked_child_writes_into_the_parents_tensor(through_queue):
    ctx = mp.get_context("fork")
    t = lucid.zeros(2).share_memory_()
    q = ctx.Queue() if through_queue else None
    p = ctx.Process(target=_write_into, args=(1, t, q))
    p.start()
    if q is not None:
        q.put(t)
    p.join(20)
    assert p.exitcode == 0 and t.tolist() == [0.0, 10.0]


# ---- Hogwild (PyTorch's examples/mnist_hogwild, small) -------------------------------------------------------

def _hogwild_train(rank, model, steps):
    lucid.manual_seed(rank)
    optimizer = lucid.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    x = lucid.randn(32, 4)
    y = (x.sum(dim=1, keepdim=True) > 0).float()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        optimizer.step()


def _hogwild_model():
    lucid.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    model.share_memory()
    return model, [p.detach().clone() for p in model.parameters()]


def test_hogwild_training_with_forked_processes_updates_the_parents_model():
    model, before = _hogwild_model()
    ctx = mp.get_context("fork")
    processes = [ctx.Process(target=_hogwild_train, args=(rank, model, 5)) for rank in range(2)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(30)
    assert [p.exitcode for p in processes] == [0, 0]
    assert all(bool((p.detach() != b).any()) for p, b in zip(model.parameters(), before))


def _spawned_hogwild(rank, model, steps, flags):
    _hogwild_train(rank, model, steps)
    flags[rank] = 1.0  # a shared tensor passed as an argument: the parent sees this


def test_hogwild_training_with_spawn_updates_the_parents_model():
    model, before = _hogwild_model()
    flags = lucid.zeros(2).share_memory_()
    # spawn() always spawns; another start method is ignored with PyTorch's FutureWarning
    with pytest.warns(FutureWarning, match="only supports start_method=spawn"):
        assert mp.spawn(_spawned_hogwild, args=(model, 3, flags), nprocs=2, start_method="fork") is None
    assert flags.tolist() == [1.0, 1.0]
    assert all(bool((p.detach() != b).any()) for p, b in zip(model.parameters(), before))


# ---- spawn / start_processes ----------------------------------------------------------------------------------

def _fail(rank, how):
    if rank == 1 and how == "raise":
        raise ValueError("bad rank")
    if rank == 1:
        os._exit(3)


def test_a_failing_process_is_reported_with_its_traceback_or_exit_code():
    with pytest.raises(mp.ProcessRaisedException, match=r"(?s)Process 1 terminated.*ValueError: bad rank") as e:
        mp.start_processes(_fail, args=("raise",), nprocs=2, start_method="fork")
    assert e.value.error_index == 1
    context = mp.start_processes(_fail, args=("exit",), nprocs=2, start_method="fork", join=False)
    assert isinstance(context, mp.ProcessContext) and len(context.pids()) == 2
    with pytest.raises(mp.ProcessExitedException, match="process 1 terminated with exit code 3") as e:
        while not context.join():
            pass
    assert e.value.exit_code == 3


# ---- the torch.multiprocessing surface ------------------------------------------------------------------------

def test_surface_and_sharing_strategies_match_torch():
    torch_mp = pytest.importorskip("torch.multiprocessing")
    for name in ("Process", "Queue", "Pool", "get_context", "set_start_method", "get_start_method", "cpu_count"):
        assert getattr(mp, name) is getattr(torch_mp, name)
    assert mp.get_all_sharing_strategies() == torch_mp.get_all_sharing_strategies()
    assert mp.get_sharing_strategy() == torch_mp.get_sharing_strategy() == "file_descriptor"
    mp.set_sharing_strategy("file_system")
    try:
        assert mp.get_sharing_strategy() == "file_system"
    finally:
        mp.set_sharing_strategy("file_descriptor")
    with pytest.raises(AssertionError, match="invalid sharing strategy"):
        torch_mp.set_sharing_strategy("nope")
    with pytest.raises(AssertionError, match="invalid sharing strategy 'nope'"):
        mp.set_sharing_strategy("nope")


def test_dataloader_workers_still_work():
    data = lucid.data.TensorDataset(lucid.arange(12.0).reshape(6, 2), lucid.arange(6))
    loader = lucid.data.DataLoader(data, batch_size=2, num_workers=2, multiprocessing_context="fork")
    batches = list(loader)
    assert [b[1].tolist() for b in batches] == [[0, 1], [2, 3], [4, 5]]
    assert batches[2][0].tolist() == [[8.0, 9.0], [10.0, 11.0]]
