"""``Work.get_future()``: a ``lucid.futures.Future`` of the collective's output tensors that the Work completes, and
DDP comm hooks written for torch on it. One 3-process mpiexec launch (workers/futures.py) checks the values of
all_reduce/broadcast/all_gather/barrier futures, ``then`` chains and a torch-style hook in DDP, compared with torch's
gloo where torch is installed; the Work/future mechanics (nothing blocks before ``wait()``, errors) are checked here
on a scripted request, without MPI."""

from __future__ import annotations

import pytest
from test_distributed import (  # tests/distributed is on sys.path (rootdir import mode)
    assert_same_records,
    launch,
    needs_mpi,
    rank_results,
    run_on_torch,
)

import lucid
from lucid.distributed import Work
from lucid.futures import Future


class Request:
    """A transport request that completes when the test says so; counts the waits."""

    def __init__(self, error=None):
        self.ready, self.waits, self.error = False, 0, error

    def test(self):
        return self.ready

    def wait(self):
        self.waits += 1
        if self.error is not None:
            raise self.error

    def result(self):
        return None


def test_get_future_and_then_do_not_wait_and_value_finishes_the_work():
    request, t = Request(), lucid.zeros(2)
    work = Work(request, lambda _: t.fill_(3.0), [t])
    future = work.get_future()
    chained = future.then(lambda f: f.value()[0] * 2)
    assert isinstance(future, Future) and isinstance(chained, Future)
    assert request.waits == 0 and not future.done() and not chained.done()
    with pytest.raises(RuntimeError, match="wait\\(\\) before result"):
        work.result()
    assert chained.value().tolist() == [6.0, 6.0] and request.waits == 1  # value() drives the Work
    assert future.value()[0] is t and work.result()[0] is t and work.get_future() is future
    assert work.wait() and request.waits == 1


def test_done_polls_the_request():
    request = Request()
    work = Work(request, None, [])
    future = work.get_future()
    assert not future.done()
    request.ready = True
    assert future.done() and future.value() == [] and work.is_completed()


def test_future_of_a_finished_work_is_complete():
    work = Work(Request(), None, [lucid.ones(1)])
    work.wait()
    assert work.get_future().done() and work.get_future().value()[0].tolist() == [1.0]


def test_a_failed_collective_fails_its_futures_and_work():
    error = OSError("transport broke")
    work = Work(Request(error), None, [])
    future = work.get_future()
    chained = future.then(lambda f: f.value())
    with pytest.raises(OSError, match="transport broke"):
        future.wait()
    assert work.exception() is error
    with pytest.raises(RuntimeError, match="transport broke"):  # torch wraps a callback's error
        chained.wait()
    with pytest.raises(OSError):
        work.wait()
    with pytest.raises(OSError):
        work.result()


@pytest.fixture(scope="module")
def lucid_on_3(tmp_path_factory):
    folder = tmp_path_factory.mktemp("futures")
    out = launch("futures.py", 3, str(folder))
    return out, rank_results(folder, 3)


@needs_mpi
def test_collective_futures_and_a_torch_style_comm_hook(lucid_on_3):
    out, seen = lucid_on_3
    for r in range(3):
        assert f"rank {r}: futures ok" in out, out
    for s in seen:
        assert s["all_reduce"] == [6.0, 6.0] and s["broadcast"] == [2.0, 2.0] and s["barrier"] == []
        assert s["all_gather"] == [[0.0, 0.0], [10.0, 10.0], [20.0, 20.0]]
        assert s["then"] == [13.0, 13.0] and s["then error"] == "RuntimeError"
    assert seen[0]["torch-style hook params"] == seen[1]["torch-style hook params"] == seen[2][
        "torch-style hook params"]


@needs_mpi
def test_same_values_as_torch_gloo(lucid_on_3, tmp_path_factory):
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("torch_futures")
    run_on_torch("futures.py", folder, 3, "futures ok")
    assert_same_records(lucid_on_3[1], rank_results(folder, 3), rtol=1e-12, atol=1e-14)


def test_wait_all_and_collect_all_drive_collective_futures():
    """collect_all/wait_all over futures that only a wait() completes: waiting on the collection drives each Work."""
    from lucid.futures import collect_all, wait_all

    outs = [lucid.zeros(1), lucid.zeros(1)]
    works = [Work(Request(), lambda _, t=t, v=v: t.fill_(v), [t]) for t, v in zip(outs, (1.0, 2.0))]
    values = wait_all([w.get_future() for w in works])
    assert [v[0].item() for v in values] == [1.0, 2.0]
    failing = Work(Request(OSError("down")), None, [])
    collected = collect_all([Work(Request(), None, []).get_future(), failing.get_future()])
    with pytest.raises(OSError, match="down"):
        collected.wait()
