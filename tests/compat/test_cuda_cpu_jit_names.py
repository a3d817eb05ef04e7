"""torch.cuda, torch.cpu, torch.jit and torch.compiler names on lucid, and the small Tensor predicates: what
each answers without a GPU (checked against PyTorch's CPU build), the legacy CUDA tensor types,
``jit.isinstance``, ``fork``/``wait``, ``Tensor.as_subclass`` and ``output_nr``, and a program that uses them
through ``lucid.torch_compat``."""
# ruff: noqa: UP006, UP007, UP035, UP045  (torch.jit.isinstance is given typing's hints, as TorchScript code writes them)

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
import types
import warnings
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import pytest

import lucid
import lucid.torch_compat.compiler as compiler
import lucid.torch_compat.cpu as tcpu
import lucid.torch_compat.jit as jit
from lucid import cuda

torch = pytest.importorskip("torch")

NO_GPU = not cuda.is_available() and not torch.cuda.is_available()
without_gpu = pytest.mark.skipif(not NO_GPU, reason="compares the no-GPU behaviour with PyTorch's CPU build")


# ---- lucid.cuda without a GPU ---------------------------------------------------------------------------
ANSWERS = {  # the calls PyTorch's CPU build answers: lucid gives the same values
    "is_bf16_supported": lambda m: m.cuda.is_bf16_supported(),
    "is_bf16_supported(False)": lambda m: m.cuda.is_bf16_supported(including_emulation=False),
    "is_initialized": lambda m: m.cuda.is_initialized(),
    "get_arch_list": lambda m: m.cuda.get_arch_list(),
    "get_gencode_flags": lambda m: m.cuda.get_gencode_flags(),
    "get_rng_state_all": lambda m: m.cuda.get_rng_state_all(),
    "set_rng_state_all": lambda m: m.cuda.set_rng_state_all([]),
    "set_stream(None)": lambda m: m.cuda.set_stream(None),
    "StreamContext(None)": lambda m: m.cuda.StreamContext(None).__enter__(),
    "device_of(cpu tensor)": lambda m: m.cuda.device_of(m.ones(1)).__enter__() and None,
    "isinstance cuda.FloatTensor": lambda m: isinstance(m.ones(1), m.cuda.FloatTensor),
    "isinstance FloatTensor": lambda m: isinstance(m.ones(1), m.FloatTensor),
    "OOM is top-level": lambda m: m.OutOfMemoryError is m.cuda.OutOfMemoryError,
    "AcceleratorError is top-level": lambda m: m.AcceleratorError is m.cuda.AcceleratorError,
    "error bases": lambda m: [issubclass(c, RuntimeError) for c in (m.cuda.OutOfMemoryError, m.cuda.CudaError,
                                                                    m.cuda.AcceleratorError)],
}


@without_gpu
@pytest.mark.parametrize("case", ANSWERS, ids=list(ANSWERS))
def test_no_gpu_answers_match_torch(case):
    assert ANSWERS[case](lucid) == ANSWERS[case](torch)


RAISES = {  # torch's CPU build raises AssertionError / RuntimeError / TypeError: lucid raises a RuntimeError
    "init": lambda m: m.cuda.init(),
    "mem_get_info": lambda m: m.cuda.mem_get_info(),
    "default_stream": lambda m: m.cuda.default_stream(),
    "ipc_collect": lambda m: m.cuda.ipc_collect(),
    "set_per_process_memory_fraction": lambda m: m.cuda.set_per_process_memory_fraction(0.5),
    "get_per_process_memory_fraction": lambda m: m.cuda.get_per_process_memory_fraction(),
    "CUDAGraph": lambda m: m.cuda.CUDAGraph(),
    "graph": lambda m: m.cuda.graph(None),
}


@without_gpu
@pytest.mark.parametrize("case", RAISES, ids=list(RAISES))
def test_no_gpu_errors_where_torch_raises(case):
    with pytest.raises(Exception):  # noqa: B017  (torch's types differ: AssertionError, RuntimeError)
        RAISES[case](torch)
    with pytest.raises(RuntimeError, match="CUDA"):
        RAISES[case](lucid)


@without_gpu
@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor",
                                  "IntTensor", "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"])
def test_cuda_legacy_types_without_gpu_match_torch(name):
    ours, theirs = getattr(cuda, name), getattr(torch.cuda, name)
    for make in (lambda t: t(2, 3), lambda t: t([1, 0])):
        with pytest.raises(TypeError):
            make(theirs)
        with pytest.raises(TypeError, match=f"type lucid.cuda.{name} not available"):
            make(ours)
    dtype = ours.dtype.name
    assert isinstance(lucid.zeros(2, dtype=ours.dtype), getattr(lucid, name))
    assert not isinstance(lucid.zeros(2, dtype=ours.dtype), ours)
    assert isinstance(torch.zeros(2, dtype=getattr(torch, dtype)), theirs) is False
    assert repr(ours) == f"<class 'lucid.cuda.{name}'>" and ours is not getattr(lucid, name)


def test_legacy_types_follow_the_tensors_device(device):
    x = lucid.zeros(2, device=device)
    assert isinstance(x, lucid.FloatTensor) == (device.type == "cpu")
    assert isinstance(x, cuda.FloatTensor) == (device.type == "cuda")


@pytest.mark.parametrize("name", ["memory_cached", "max_memory_cached", "reset_max_memory_allocated"])
def test_deprecated_memory_names_warn_as_torch(name):
    with pytest.warns(FutureWarning) as theirs, contextlib.suppress(AttributeError):
        getattr(torch.cuda, name)()  # torch's CPU build lacks the allocator reset_max... resets, after warning
    no_gpu = pytest.raises(lucid.BackendUnavailableError) if not cuda.is_available() else contextlib.nullcontext()
    with pytest.warns(FutureWarning) as ours, no_gpu:
        getattr(cuda, name)()
    assert str(ours[0].message) == str(theirs[0].message)


def test_nvtx_is_a_no_op_without_cupy():
    assert cuda.nvtx.range_push("outer") == 0 and cuda.nvtx.range_push("inner") == 1
    assert cuda.nvtx.range_pop() == 1 and cuda.nvtx.range_pop() == 0
    cuda.nvtx.mark("here")
    cuda.nvtx.range_end(cuda.nvtx.range_start("across threads"))

    @cuda.nvtx.range("step {}", 3)
    def step():
        return 5

    assert step() == 5
    with cuda.nvtx.range("block"):
        assert cuda.nvtx.range_push("x") == 1  # inside the block's range
        assert cuda.nvtx.range_pop() == 1
    assert cuda.nvtx.range_push("after") == 0 and cuda.nvtx.range_pop() == 0


def test_graphs_fallback():
    fn, model = (lambda x: x * 2), lucid.nn.Linear(2, 2)
    assert cuda.make_graphed_callables(fn, (lucid.ones(2),)) is fn
    assert cuda.make_graphed_callables((fn, model), ((lucid.ones(2),), (lucid.ones(2),))) == (fn, model)
    assert cuda.is_current_stream_capturing() is False and cuda.graphs.is_current_stream_capturing() is False
    with pytest.raises(NotImplementedError, match="no CUDA graph capture"):
        cuda.CUDAGraph()
    assert cuda.graphs.CUDAGraph is cuda.CUDAGraph


def test_cupy_out_of_memory_is_caught_as_lucids():
    """What the CUDA backend's start does to CuPy's pool error, on a stand-in of ``cupy.cuda.memory``."""

    class CupyOOM(MemoryError):
        def __init__(self, size, total, limit=0):
            super().__init__(f"Out of memory allocating {size:,} bytes")

    memory = types.SimpleNamespace(OutOfMemoryError=CupyOOM)
    backend = types.SimpleNamespace(cupy=types.SimpleNamespace(cuda=types.SimpleNamespace(memory=memory)))
    cuda._adopt_cupy_out_of_memory(backend)
    cuda._adopt_cupy_out_of_memory(backend)  # a second backend start changes nothing more
    raised = memory.OutOfMemoryError
    assert issubclass(raised, CupyOOM) and issubclass(raised, cuda.OutOfMemoryError) and raised.__bases__ == (
        CupyOOM, cuda.OutOfMemoryError)
    for catch in (cuda.OutOfMemoryError, lucid.OutOfMemoryError, CupyOOM, MemoryError, RuntimeError):
        with pytest.raises(catch, match="Out of memory allocating 1,024 bytes"):
            raise raised(1024, 0)
    cuda._adopt_cupy_out_of_memory(types.SimpleNamespace())  # another backend: nothing to adopt


def test_cuda_error_names_its_code():
    err = cuda.CudaError(2)
    assert err.code == 2 and "CUDA error 2" in str(err) and isinstance(err, RuntimeError)


def test_record_stream_needs_a_cuda_tensor():
    with pytest.raises(RuntimeError):
        torch.ones(1).record_stream(None)
    with pytest.raises(RuntimeError, match="record_stream needs a CUDA tensor"):
        lucid.ones(1).record_stream(None)


# ---- torch.cpu ----------------------------------------------------------------------------------------------
def test_cpu_streams_and_events_as_torch():
    for m in (tcpu, torch.cpu):
        s = m.Stream()
        default = m.current_stream()
        with m.stream(s):
            assert m.current_stream() is s
        with m.stream(None):
            assert m.current_stream() is default
        assert m.current_stream() is default
        s.wait_stream(m.Stream()), s.wait_event(m.Event()), s.record_event()
        e = m.Event()
        assert e.query() is True and e.record() is None and e.synchronize() is None and e.wait() is None
        assert isinstance(m.StreamContext(s), m.StreamContext)
    ours, theirs = tcpu.get_capabilities(), torch.cpu.get_capabilities()
    assert ours["architecture"] == theirs["architecture"] and ours["num_logical_cores"] >= 1


# ---- torch.jit ----------------------------------------------------------------------------------------------
ISINSTANCE = [([1, 2], List[int]), ([1, "a"], List[int]), ({"a": 1}, Dict[str, int]), ({1: 1}, Dict[str, int]),
              (None, Optional[int]), ((1, "a"), Tuple[int, str]), ((1, "a"), Tuple[int, int]), (3, Union[int, str]),
              (3, int), (True, int), ([1.0], List[float]), ([1], List[float]), ((1, 2, 3), Tuple[int, ...]),
              ([[1]], List[List[int]]), ([[1]], list[list[str]]), ("a", Optional[str]), (2.0, int | None)]


@pytest.mark.parametrize("obj, hint", ISINSTANCE, ids=[f"{o}-{h}" for o, h in ISINSTANCE])
def test_jit_isinstance_matches_torch(obj, hint):
    assert jit.isinstance(obj, hint) == torch.jit.isinstance(obj, hint)


def test_jit_isinstance_tensors_and_errors():
    assert jit.isinstance({"w": lucid.ones(1)}, Dict[str, lucid.Tensor])
    assert not jit.isinstance({"w": 1}, Dict[str, lucid.Tensor])
    with pytest.warns(UserWarning, match="inner type of a container is lost"):
        assert jit.isinstance([], List[int])
    for bare in (list, List, dict, Dict, tuple):
        with pytest.raises(RuntimeError):
            torch.jit.isinstance([1], bare)
        with pytest.raises(RuntimeError, match="without a contained type"):
            jit.isinstance([1], bare)


@pytest.mark.filterwarnings("ignore:`torch.jit.fork` is deprecated:DeprecationWarning")
def test_jit_fork_wait_run_eagerly():
    calls = []
    fut = jit.fork(lambda x, y=0: calls.append(x) or x + y, 3, y=1)
    assert calls == [3] and fut.done() and fut.wait() == 4 == jit.wait(fut) == fut.value()
    assert isinstance(fut, lucid.futures.Future) and jit.Future is lucid.futures.Future
    assert fut.then(lambda f: f.wait() * 2).wait() == 8
    for m in (jit, torch.jit):  # the forked call's error is raised by fork itself, in eager mode
        with pytest.raises(ZeroDivisionError):
            m.fork(lambda: 1 / 0)
    assert torch.jit.fork(lambda x: x + 1, 3).wait() == jit.fork(lambda x: x + 1, 3).wait()


def test_jit_names():
    fn = lambda x: x  # noqa: E731
    assert jit.script_if_tracing(fn) is fn and jit.interface(fn) is fn
    attr = jit.Attribute(3, int)
    assert attr == torch.jit.Attribute(3, int) and attr.value == 3 and attr.type is int and isinstance(attr, tuple)
    assert issubclass(jit.Error, Exception) and not issubclass(jit.Error, RuntimeError)
    assert issubclass(jit.TracerWarning, Warning) and issubclass(jit.ScriptWarning, Warning)
    model = lucid.nn.Linear(2, 2)
    for name in ("ScriptModule", "RecursiveScriptModule", "TracedModule", "ScriptFunction"):
        assert not isinstance(jit.script(model), getattr(jit, name))
    with jit.optimized_execution(False), jit.fuser("fuser1"), jit.strict_fusion():
        pass
    with pytest.raises(Exception, match="unrecognized fuser option"):
        with jit.fuser("fuser9"):
            pass
    assert jit.onednn_fusion_enabled() is torch.jit.onednn_fusion_enabled() is False
    jit.enable_onednn_fusion(True)
    assert jit.onednn_fusion_enabled()
    jit.enable_onednn_fusion(False)
    default = jit.set_fusion_strategy([("STATIC", 2)])
    assert default == [("STATIC", 2), ("DYNAMIC", 10)] and jit.set_fusion_strategy(default) == [("STATIC", 2)]
    with pytest.raises(ValueError):
        jit.set_fusion_strategy([("BOGUS", 1)])
    with pytest.raises(NotImplementedError, match="lucid.save"):
        jit.save(model, "m.pt")
    with pytest.raises(NotImplementedError, match="load_state_dict"):
        jit.load("m.pt")


# ---- torch.compiler ----------------------------------------------------------------------------------------
def test_compiler_names():
    fn = lambda x: x + 1  # noqa: E731
    assert compiler.compile is lucid.compile and compiler.compile(fn) is fn
    assert compiler.list_backends() == [] and compiler.is_exporting() is torch.compiler.is_exporting() is False
    compiler.cudagraph_mark_step_begin()
    assert compiler.nested_compile_region(fn) is fn and compiler.nested_compile_region()(fn) is fn
    assert compiler.substitute_in_graph(len)(fn) is fn
    with compiler.set_stance("force_eager"):
        assert fn(1) == 2

    @compiler.set_stance("eager_on_recompile")
    def g(x):
        return x * 3

    assert g(2) == 6


def test_wrap_numpy_matches_torch():
    def f(a, b):
        return np.sum(a * b), {"t": a.T}, [a + 1]

    ours = compiler.wrap_numpy(f)(lucid.ones(2, 3), lucid.ones(2, 3) * 2)
    theirs = torch.compiler.wrap_numpy(f)(torch.ones(2, 3), torch.ones(2, 3) * 2)
    assert type(ours[0]) is type(theirs[0]) and ours[0] == theirs[0]  # a NumPy scalar stays one, as torch
    assert isinstance(ours[1]["t"], lucid.Tensor) and ours[1]["t"].tolist() == theirs[1]["t"].tolist()
    assert isinstance(ours[2][0], lucid.Tensor) and ours[2][0].tolist() == theirs[2][0].tolist()
    assert compiler.wrap_numpy(lambda a: a)(3) == 3


# ---- Tensor ---------------------------------------------------------------------------------------------------
PREDICATES = ["is_xpu", "is_mps", "is_mtia", "is_ipu", "is_xla", "is_vulkan", "is_maia", "is_mkldnn", "is_nested",
              "is_quantized"]


def test_tensor_predicates_match_torch(device):
    ours, theirs = lucid.ones(2, device=device, requires_grad=True), torch.ones(2, requires_grad=True)
    for name in PREDICATES:
        assert getattr(ours, name) is getattr(theirs, name) is False, name
        assert getattr(ours * 2, name) is getattr(theirs * 2, name)


OUTPUTS = {
    "leaf": lambda m, x: [x],
    "op": lambda m, x: [x * 2],
    "view": lambda m, x: [x[1]],
    "detach": lambda m, x: [x.detach()],
    "unbind": lambda m, x: list((x * 2).unbind(0)),
    "split": lambda m, x: list(m.split(x * 1, 1)),
    "chunk": lambda m, x: list((x + 0).chunk(2)),
}


@pytest.mark.parametrize("case", OUTPUTS, ids=list(OUTPUTS))
def test_output_nr_matches_torch(case, device):
    ours = OUTPUTS[case](lucid, lucid.ones(2, device=device, requires_grad=True))
    theirs = OUTPUTS[case](torch, torch.ones(2, requires_grad=True))
    assert [t.output_nr for t in ours] == [t.output_nr for t in theirs]


class Marked(lucid.Tensor):
    """A Tensor subclass for as_subclass."""


class TorchMarked(torch.Tensor):
    pass


def test_as_subclass_shares_data_and_history(device):
    data = np.array([1.0, -2.0, 3.0])
    x, tx = lucid.tensor(data, device=device, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, ty = (x * 2).as_subclass(Marked), (tx * 2).as_subclass(TorchMarked)
    assert type(y) is Marked and y.requires_grad == ty.requires_grad and y.grad_fn is not None
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(force=True), tx.grad.numpy())
    leaf = x.as_subclass(Marked)
    assert leaf.requires_grad and not leaf.is_leaf and leaf.tolist() == x.tolist()
    with lucid.no_grad():
        leaf.mul_(0)  # the same memory
    assert x.tolist() == [0.0, 0.0, 0.0]
    plain = lucid.zeros(2, device=device).as_subclass(Marked)
    assert type(plain) is Marked and not plain.requires_grad
    for bad in (int, "Tensor"):
        with pytest.raises(TypeError):
            torch.ones(1).as_subclass(bad)
        with pytest.raises(TypeError, match="does not inherit from Tensor"):
            lucid.ones(1).as_subclass(bad)


def test_as_subclass_gradcheck(device):
    x = lucid.tensor(np.random.default_rng(0).standard_normal((2, 3)), dtype=lucid.float64, device=device,
                     requires_grad=True)
    assert lucid.autograd.gradcheck(lambda t: t.as_subclass(Marked) * t.as_subclass(Marked).exp(), (x,))


# ---- a program through lucid.torch_compat --------------------------------------------------------------------
PROGRAM = """
import warnings
from typing import Dict, List
import torch
import torch.cuda.graphs
import torch.cuda.nvtx as nvtx
import torch.nn as nn

torch.manual_seed(0)
dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
device = "cuda" if torch.cuda.is_available() else "cpu"
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)).to(device)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
step = torch.jit.script(lambda x: model(x).pow(2).mean())
step = torch.cuda.graphs.make_graphed_callables(step, (torch.randn(5, 4, device=device),))

@torch.compiler.disable
def log(metrics: Dict[str, float]) -> None:
    assert torch.jit.isinstance(metrics, Dict[str, float])

losses: List[float] = []
for i in range(3):
    with nvtx.range("step {}", i), torch.cuda.amp.autocast(enabled=torch.cuda.is_available()):
        loss = step(torch.randn(5, 4, device=device))
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
    log({"loss": losses[-1]})
fut = torch.jit.fork(lambda: sum(losses))
print("ok", dtype, round(torch.jit.wait(fut), 6) == round(sum(losses), 6),
      torch.cuda.is_initialized() == torch.cuda.is_available(), torch.cuda.get_arch_list() == [] or device == "cuda",
      isinstance(model[0].weight, torch.cuda.FloatTensor) == (device == "cuda"), torch.compiler.list_backends())
"""


def test_program_through_torch_compat(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(PROGRAM))
    done = subprocess.run([sys.executable, "-m", "lucid.torch_compat", str(script)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    expected = "torch.float32" if not cuda.is_bf16_supported() else "torch.bfloat16"  # spelled as PyTorch's
    assert done.stdout.split() == ["ok", expected, "True", "True", "True", "True", "[]"]


def test_jit_isinstance_of_a_filled_container_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jit.isinstance([1], List[int])  # a non-empty container checks its elements: no warning
