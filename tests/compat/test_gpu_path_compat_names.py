"""Names on PyTorch's GPU path that lucid lacked: ``torch.cuda.memory``/``random``/``streams``,
``torch.utils.model_zoo``, ``torch.backends.mkldnn``/``mkl``/``openmp``/``opt_einsum``, the device-generic
``torch.Stream``/``torch.Event`` (their CPU semantics compared with PyTorch's), ``torch.get_device_module`` and
``torch.utils.benchmark``'s Timer and Measurement (statistics compared with PyTorch's Measurement on the same raw
times; no timed assertions)."""

from __future__ import annotations

import pytest

import lucid
import lucid.torch_compat as tc
from lucid.utils import benchmark

torch = pytest.importorskip("torch")  # the real modules, taken before the drop-in aliases replace them
torch_benchmark = pytest.importorskip("torch.utils.benchmark")
REAL_CUDA_RANDOM_ALL = list(pytest.importorskip("torch.cuda.random").__all__)
REAL_STREAMS = {"Stream", "Event", "ExternalStream"}


@pytest.fixture
def aliased():
    tc.install()
    yield
    tc.uninstall()


# ---- the drop-in paths ------------------------------------------------------------------------------------
def test_new_module_paths_resolve_under_the_drop_in_runner(aliased):
    import torch as t
    import torch.backends.mkl
    import torch.backends.mkldnn
    import torch.backends.openmp
    import torch.backends.opt_einsum
    import torch.cuda.memory
    import torch.cuda.random
    import torch.cuda.streams
    import torch.utils.benchmark
    import torch.utils.model_zoo

    assert t.cuda.memory.memory_allocated is lucid.cuda.memory_allocated
    assert t.cuda.random.manual_seed_all is lucid.cuda.manual_seed_all
    assert t.cuda.streams.Stream is lucid.cuda.Stream and t.cuda.streams.Event is lucid.cuda.Event
    assert t.utils.model_zoo.load_url is lucid.hub.load_state_dict_from_url
    assert t.utils.benchmark.Timer is benchmark.Timer and t.utils.benchmark.Measurement is benchmark.Measurement
    assert t.backends.mkldnn.is_available() is False and t.backends.mkl.is_available() is False
    assert t.backends.openmp.is_available() is False
    assert t.Stream is lucid.Stream and t.Event is lucid.Event and t.get_device_module is lucid.get_device_module
    assert t.get_device_module("cpu").synchronize is t.cpu.synchronize


def test_cuda_submodules_names_are_lucid_cudas():
    assert all(hasattr(lucid.cuda, name) for name in REAL_CUDA_RANDOM_ALL + sorted(REAL_STREAMS))
    for name in ("memory_allocated", "max_memory_allocated", "memory_reserved", "empty_cache", "mem_get_info",
                 "memory_stats", "memory_summary", "reset_peak_memory_stats", "set_per_process_memory_fraction"):
        assert hasattr(torch.cuda.memory, name) and hasattr(lucid.cuda, name)


def test_backend_flags_are_recorded(monkeypatch, aliased):
    import torch as t

    monkeypatch.setattr(lucid.backends.mkldnn, "enabled", True)
    t.backends.mkldnn.enabled = False
    assert lucid.backends.mkldnn.enabled is False and lucid.backends.mkldnn.deterministic is False
    with t.backends.mkl.verbose(t.backends.mkl.VERBOSE_ON):
        pass


def test_opt_einsum_answers_as_torch():
    ours, theirs = lucid.backends.opt_einsum, torch.backends.opt_einsum
    assert ours.is_available() == theirs.is_available()
    assert ours.enabled == theirs.enabled and ours.strategy == theirs.strategy
    assert (ours.get_opt_einsum() is None) == (theirs.get_opt_einsum() is None)


# ---- torch.Stream / torch.Event on the CPU, as PyTorch's ------------------------------------------------
def _outcome(call):
    try:
        result = call()
    except (RuntimeError, ValueError) as e:
        return type(e).__name__
    return "None" if result is None else result


STREAM_CALLS = {
    "query": lambda m, s: s.query(), "synchronize": lambda m, s: s.synchronize(),
    "wait_event": lambda m, s: s.wait_event(m.Event("cpu")), "wait_stream": lambda m, s: s.wait_stream(s),
    "record_event": lambda m, s: s.record_event(), "device_type": lambda m, s: s.device_type,
    "device_index": lambda m, s: s.device_index, "stream_id": lambda m, s: s.stream_id,
    "device": lambda m, s: str(s.device), "equal": lambda m, s: s == m.Stream("cpu"),
    "default": lambda m, s: str(m.Stream().device),
}
EVENT_CALLS = {
    "query": lambda m, e: e.query(), "synchronize": lambda m, e: e.synchronize(), "wait": lambda m, e: e.wait(),
    "record": lambda m, e: e.record(), "elapsed_time": lambda m, e: e.elapsed_time(m.Event("cpu")),
    "elapsed_time_timing": lambda m, e: m.Event("cpu", enable_timing=True).elapsed_time(
        m.Event("cpu", enable_timing=True)),
    "device": lambda m, e: str(e.device), "default": lambda m, e: str(m.Event().device),
}


@pytest.mark.parametrize("name", list(STREAM_CALLS))
def test_cpu_stream_as_torch(name):
    call = STREAM_CALLS[name]
    assert _outcome(lambda: call(lucid, lucid.Stream("cpu"))) == _outcome(lambda: call(torch, torch.Stream("cpu")))


@pytest.mark.parametrize("name", list(EVENT_CALLS))
def test_cpu_event_as_torch(name):
    call = EVENT_CALLS[name]
    assert _outcome(lambda: call(lucid, lucid.Event("cpu"))) == _outcome(lambda: call(torch, torch.Event("cpu")))


def test_stream_and_event_on_cuda_are_lucid_cudas():
    if lucid.cuda.is_available():
        assert isinstance(lucid.Stream("cuda"), lucid.cuda.Stream) and isinstance(lucid.Event("cuda"), lucid.cuda.Event)
    else:
        for make in (lambda: lucid.Stream("cuda"), lambda: lucid.Event("cuda", enable_timing=True)):
            with pytest.raises(lucid.BackendUnavailableError, match=r"lucid\.cuda\.(Stream|Event)"):
                make()


# ---- get_device_module ------------------------------------------------------------------------------------
def test_get_device_module():
    from lucid.torch_compat import cpu

    assert lucid.get_device_module("cpu") is cpu and lucid.get_device_module(lucid.device("cpu")) is cpu
    assert lucid.get_device_module("cuda") is lucid.cuda and lucid.get_device_module("cuda:1") is lucid.cuda
    assert lucid.get_device_module() is (lucid.cuda if lucid.cuda.is_available() else cpu)
    assert torch.get_device_module("cpu").__name__.rsplit(".", 1)[-1] == cpu.__name__.rsplit(".", 1)[-1]


def test_get_device_module_of_a_type_without_module(device):
    if device.type in ("cpu", "cuda"):
        pytest.skip("cpu and cuda have modules")
    with pytest.raises(RuntimeError, match=f"Device '{device.type}' does not have a corresponding module"):
        lucid.get_device_module(device)


# ---- utils.benchmark ------------------------------------------------------------------------------------------
RAW_TIMES = [[0.5], [0.3, 0.1], [0.4, 0.1, 0.9, 0.2, 0.6], [1.0, 3.0, 2.0, 8.0, 5.0, 4.0, 7.0, 6.0]]


@pytest.mark.parametrize("raw", RAW_TIMES)
def test_measurement_statistics_match_torch(raw):
    from torch.utils.benchmark.utils.common import TaskSpec

    ours = benchmark.Measurement(10, raw, stmt="x")
    theirs = torch_benchmark.Measurement(10, raw, TaskSpec(stmt="x", setup="pass"))
    assert ours.times == pytest.approx(theirs.times)
    for stat in ("mean", "median", "iqr"):
        assert getattr(ours, stat) == pytest.approx(getattr(theirs, stat), rel=1e-12), stat
    assert ours.meets_confidence() == theirs.meets_confidence() and ours.has_warnings == theirs.has_warnings
    assert f"{len(raw)} measurement" in repr(ours) and "10 runs per measurement" in repr(ours)


def test_timer_timeit_runs_the_statement_as_torch():
    calls = []
    m = benchmark.Timer(lambda: calls.append(1)).timeit(number=300)
    assert len(calls) == 300 + 3  # a warm-up of number // 100 runs, then the measured block
    assert m.number_per_run == 300 and len(m.raw_times) == 1 and m.raw_times[0] > 0 and m.median == m.times[0]


def test_timer_blocked_autorange_measures_at_least_min_run_time():
    seen = []
    x = lucid.randn(8, 8)
    m = benchmark.Timer("y = x @ x", globals={"x": x}, label="mm").blocked_autorange(
        callback=lambda number, took: seen.append((number, took)), min_run_time=0.02)
    assert sum(m.raw_times) >= 0.02 and seen == [(m.number_per_run, t) for t in m.raw_times]
    assert m.title == "mm" and m.mean > 0


def test_timer_namespace_setup_and_language():
    m = benchmark.Timer("z = lucid.ones(2) + w", setup="w = lucid.zeros(2)").timeit(number=2)
    assert m.number_per_run == 2
    with pytest.raises(ValueError, match="Python statements only"):
        benchmark.Timer("x", language="c++")
