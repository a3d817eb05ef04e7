"""lucid.profiler and lucid.autograd.profiler: PyTorch's profiler API as no-ops, so programs that wrap their
loops in it run; the schedule and on_trace_ready follow PyTorch's, traces are valid empty Chrome traces."""

from __future__ import annotations

import gzip
import json
import warnings

import pytest

import lucid
import lucid.autograd.profiler as aprof
import lucid.torch_compat as tc
from lucid import profiler


def _train_steps(prof, steps, device):
    x = lucid.ones(3, requires_grad=True, device=device)
    for _ in range(steps):
        with profiler.record_function("forward"):
            (x * 2).sum().backward()
        prof.step()
    return x


def test_profile_context_manager_step_table_and_trace(device, tmp_path):
    with profiler.profile(activities=[profiler.ProfilerActivity.CPU, profiler.ProfilerActivity.CUDA],
                          record_shapes=True, profile_memory=True, with_stack=True) as prof:
        x = _train_steps(prof, 3, device)
    assert x.grad.tolist() == [6.0, 6.0, 6.0]  # the wrapped loop ran
    assert prof.step_num == 3
    table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=10)
    assert isinstance(table, str) and "lucid records no" in table and "cProfile" in table
    assert len(prof.key_averages()) == 0 and list(prof.events()) == []
    assert "lucid records no" in prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total")
    prof.add_metadata("run", "1")
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    assert trace["traceEvents"] == [] and trace["otherData"]["run"] == "1"
    prof.export_chrome_trace(str(tmp_path / "trace.json.gz"))
    with gzip.open(tmp_path / "trace.json.gz", "rt") as f:
        assert json.load(f)["traceEvents"] == []


def test_start_stop_and_on_trace_ready_without_schedule():
    seen = []
    prof = profiler.profile(on_trace_ready=lambda p: seen.append(p.step_num))
    prof.start()
    prof.step()
    prof.step()
    assert seen == []
    prof.stop()
    assert seen == [2]  # as PyTorch: once, at stop


@pytest.mark.parametrize(("kwargs", "ready_at"), [
    (dict(wait=1, warmup=1, active=2, repeat=2), [4, 8]),
    (dict(wait=2, warmup=0, active=1, skip_first=3), [6, 9, 11]),
    (dict(wait=1, warmup=1, active=1, skip_first_wait=1), [2, 5, 8, 11]),
])
def test_schedule_and_on_trace_ready_follow_pytorch(kwargs, ready_at):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warmup=0 warns, as PyTorch
        sched = profiler.schedule(**kwargs)
    seen = []
    with profiler.profile(schedule=sched, on_trace_ready=lambda p: seen.append(p.step_num)) as prof:
        for _ in range(11):
            prof.step()
    assert seen == ready_at  # the step numbers at which PyTorch 2.x calls on_trace_ready
    actions = [sched(i) for i in range(12)]
    assert all(isinstance(a, profiler.ProfilerAction) for a in actions)
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.profiler.schedule(**kwargs)
    assert [a.name for a in actions] == [theirs(i).name for i in range(12)]


def test_schedule_rejects_bad_arguments():
    with pytest.raises(AssertionError, match="Invalid profiler schedule arguments"):
        profiler.schedule(wait=0, warmup=0, active=0)
    with pytest.warns(UserWarning, match="won't be using warmup"):
        profiler.schedule(wait=1, warmup=0, active=1)


def test_tensorboard_trace_handler_writes_empty_traces(tmp_path):
    logdir = tmp_path / "log"
    with profiler.profile(schedule=profiler.schedule(wait=0, warmup=1, active=1),
                          on_trace_ready=profiler.tensorboard_trace_handler(str(logdir), worker_name="w0")) as prof:
        for _ in range(4):
            prof.step()
    files = sorted(logdir.iterdir())
    assert len(files) == 2 and all(f.name.startswith("w0.") and f.name.endswith(".pt.trace.json") for f in files)
    assert all(json.loads(f.read_text())["traceEvents"] == [] for f in files)


def test_record_function_is_a_context_manager_and_a_decorator():
    with profiler.record_function("block") as rf:
        assert rf.name == "block"

    @profiler.record_function("fn")
    def double(x):
        return 2 * x

    assert double(3) == 6
    assert profiler.record_function is aprof.record_function
    with pytest.raises(KeyError):  # exceptions are not swallowed
        with profiler.record_function("raises"):
            raise KeyError("inside")


def test_activities_and_supported_activities():
    assert {profiler.ProfilerActivity.CPU, profiler.ProfilerActivity.CUDA} <= set(profiler.ProfilerActivity)
    assert profiler.ProfilerActivity.CPU in profiler.supported_activities()
    assert (profiler.ProfilerActivity.CUDA in profiler.supported_activities()) == lucid.cuda.is_available()


def test_autograd_profiler_no_ops(tmp_path):
    with aprof.profile(use_cuda=True, record_shapes=True) as prof:
        with aprof.record_function("step"), aprof.emit_nvtx(), aprof.emit_itt():
            y = lucid.ones(2) * 3
    assert y.tolist() == [3.0, 3.0]
    assert "lucid records no" in prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=5)
    assert "lucid records no" in prof.table() and "lucid records no" in str(prof)
    assert list(prof.function_events) == [] and prof.self_cpu_time_total == 0.0 and prof.total_average() is None
    prof.export_chrome_trace(str(tmp_path / "t.json"))
    assert json.loads((tmp_path / "t.json").read_text())["traceEvents"] == []
    with pytest.raises(RuntimeError, match="not reentrant"):
        with prof:
            with prof:
                pass

    @aprof.emit_nvtx()
    def f():
        return 1

    assert f() == 1
    assert lucid.autograd.profiler is aprof and lucid.profiler is profiler


def test_torch_compat_maps_the_profilers():
    tc.install()
    try:
        import torch
        import torch.autograd.profiler as tap
        from torch.profiler import ProfilerActivity, profile, record_function

        assert profile is profiler.profile and record_function is profiler.record_function
        assert ProfilerActivity is profiler.ProfilerActivity and tap.emit_nvtx is aprof.emit_nvtx
        assert torch.profiler.schedule is profiler.schedule
        with profile(activities=[ProfilerActivity.CPU]) as prof, record_function("model_inference"):
            torch.ones(2).sum()
        assert "lucid records no" in prof.key_averages().table(sort_by="cpu_time_total", row_limit=10)
    finally:
        tc.uninstall()
