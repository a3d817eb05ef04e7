"""lucid.cuda and lucid.backends: what every function does without a GPU (the no-ops and the
BackendUnavailableError of the rest), and, on a machine with CuPy and a GPU, devices,
streams, events, memory statistics, seeding, pinned non-blocking copies, TF32 and multi-GPU
dispatch (skipped with a reason elsewhere)."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.backends
from lucid import cuda
from lucid.autograd import function

HAVE_GPU = cuda.is_available()
needs_gpu = pytest.mark.skipif(not HAVE_GPU, reason="needs CuPy and a CUDA GPU")
needs_two_gpus = pytest.mark.skipif(cuda.device_count() < 2, reason="needs two CUDA GPUs")

# every lucid.cuda function that needs a GPU, called with valid arguments
NEEDS_GPU = {
    "current_device": lambda: cuda.current_device(),
    "set_device": lambda: cuda.set_device(0),
    "device": lambda: cuda.device(0).__enter__(),
    "Stream": lambda: cuda.Stream(),
    "current_stream": lambda: cuda.current_stream(),
    "Event": lambda: cuda.Event(enable_timing=True),
    "memory_allocated": lambda: cuda.memory_allocated(),
    "max_memory_allocated": lambda: cuda.max_memory_allocated(0),
    "memory_reserved": lambda: cuda.memory_reserved("cuda:0"),
    "reset_peak_memory_stats": lambda: cuda.reset_peak_memory_stats(),
    "empty_cache": lambda: cuda.empty_cache(),
    "get_device_name": lambda: cuda.get_device_name(),
    "get_device_capability": lambda: cuda.get_device_capability(0),
    "get_device_properties": lambda: cuda.get_device_properties(),
    "initial_seed": lambda: cuda.initial_seed(),
    "get_rng_state": lambda: cuda.get_rng_state(),
    "set_rng_state": lambda: cuda.set_rng_state(lucid.zeros(3, dtype=lucid.uint8)),
    "init": lambda: cuda.init(),
    "ipc_collect": lambda: cuda.ipc_collect(),
    "ExternalStream": lambda: cuda.ExternalStream(0),
    "default_stream": lambda: cuda.default_stream(),
    "mem_get_info": lambda: cuda.mem_get_info(),
    "memory_stats": lambda: cuda.memory_stats(),
    "memory_summary": lambda: cuda.memory_summary(),
    "max_memory_reserved": lambda: cuda.max_memory_reserved(),
    "reset_max_memory_allocated": lambda: cuda.reset_max_memory_allocated(),
    "reset_accumulated_memory_stats": lambda: cuda.reset_accumulated_memory_stats(),
    "memory_cached": lambda: cuda.memory_cached(),
    "max_memory_cached": lambda: cuda.max_memory_cached(),
    "set_per_process_memory_fraction": lambda: cuda.set_per_process_memory_fraction(0.5),
    "get_per_process_memory_fraction": lambda: cuda.get_per_process_memory_fraction(),
    "set_sync_debug_mode": lambda: cuda.set_sync_debug_mode("warn"),
    "get_sync_debug_mode": lambda: cuda.get_sync_debug_mode(),
}
# answered without a GPU as PyTorch's CPU build answers (tests/compat/test_cuda_cpu_jit_names.py)
ANSWERED_WITHOUT_GPU = {
    "is_initialized", "is_bf16_supported", "get_arch_list", "get_gencode_flags", "StreamContext", "set_stream",
    "device_of", "get_rng_state_all", "set_rng_state_all", "OutOfMemoryError", "CudaError", "AcceleratorError",
    "graphs", "nvtx", "CUDAGraph", "graph", "make_graphed_callables", "is_current_stream_capturing",
    "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor", "ShortTensor",
    "CharTensor", "ByteTensor", "BoolTensor",
}


# ---- without a GPU ------------------------------------------------------------------------
@pytest.mark.skipif(HAVE_GPU, reason="checks the behaviour without a usable GPU")
def test_no_gpu_queries_and_no_ops():
    assert cuda.is_available() is False and cuda.device_count() == 0
    cuda.synchronize()
    cuda.synchronize(0)
    cuda.manual_seed(1)
    cuda.manual_seed_all(2)
    with cuda.device(None), cuda.stream(None):  # None changes nothing, with or without a GPU
        pass


@pytest.mark.skipif(HAVE_GPU, reason="checks the behaviour without a usable GPU")
@pytest.mark.parametrize("name", list(NEEDS_GPU))
@pytest.mark.filterwarnings("ignore:.*(renamed|resets /all/).*:FutureWarning")
def test_no_gpu_functions_raise_with_the_reason(name):
    with pytest.raises(lucid.BackendUnavailableError) as info:
        NEEDS_GPU[name]()
    message = str(info.value)
    assert f"lucid.cuda.{name}" in message
    assert "lucid[cuda12]" in message or "no usable CUDA GPU" in message or "no CUDA GPU" in message


def test_every_exported_function_is_covered():
    no_gpu_needed = {"is_available", "device_count", "synchronize", "manual_seed", "manual_seed_all", "seed",
                     "seed_all", "stream"}
    assert set(cuda.__all__) == no_gpu_needed | set(NEEDS_GPU) | ANSWERED_WITHOUT_GPU


def test_manual_seed_without_gpu_leaves_cpu_random_alone():
    lucid.manual_seed(3)
    a = lucid.randn(4).numpy()
    lucid.manual_seed(3)
    cuda.manual_seed(99)
    cuda.manual_seed_all(99)
    np.testing.assert_array_equal(lucid.randn(4).numpy(), a)


# ---- lucid.backends -------------------------------------------------------------------------
def test_backend_flags(monkeypatch):
    matmul = lucid.backends.cuda.matmul
    before = matmul.allow_tf32
    try:
        matmul.allow_tf32 = 1
        assert matmul.allow_tf32 is True
        matmul.allow_tf32 = False
        assert matmul.allow_tf32 is False and "allow_tf32=False" in repr(matmul)
    finally:
        matmul.allow_tf32 = before
    cudnn = lucid.backends.cudnn
    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32) == (True, False, False, True)
    assert lucid.backends.cuda.is_built() is (__import__("importlib").util.find_spec("cupy") is not None)
    if not lucid.backends.cuda.is_built():
        assert cudnn.is_available() is False


@pytest.mark.parametrize("env, expected", [(None, False), ("0", False), ("1", True), ("2", True), ("yes", False)])
def test_tf32_default_follows_cupy_tf32(monkeypatch, env, expected):
    if env is None:
        monkeypatch.delenv("CUPY_TF32", raising=False)
    else:
        monkeypatch.setenv("CUPY_TF32", env)
    assert lucid.backends.cuda._Matmul().allow_tf32 is expected


# ---- with a GPU -------------------------------------------------------------------------------
@needs_gpu
def test_devices_and_properties():
    n = cuda.device_count()
    start = cuda.current_device()
    assert 0 <= start < n
    with cuda.device(n - 1):
        assert cuda.current_device() == n - 1
        assert lucid.zeros(2, device="cuda").device == lucid.device("cuda", n - 1)
    assert cuda.current_device() == start
    props = cuda.get_device_properties()
    assert props.name == cuda.get_device_name() and props.total_memory > 2**30
    assert cuda.get_device_capability() == (props.major, props.minor)
    with pytest.raises(lucid.BackendUnavailableError, match="does not exist"):
        cuda.set_device(n)
    with pytest.raises(ValueError, match="CUDA device"):
        cuda.memory_allocated("cpu")


@needs_gpu
def test_streams_and_event_timing():
    a = lucid.randn(1024, 1024, device="cuda")
    s = cuda.Stream()
    start, end = cuda.Event(enable_timing=True), cuda.Event(enable_timing=True)
    with cuda.stream(s):
        assert cuda.current_stream() == s
        start.record()
        for _ in range(10):
            b = a @ a
        end.record()
    assert cuda.current_stream() != s
    end.synchronize()
    assert end.query() and s.query()
    assert start.elapsed_time(end) > 0
    other = cuda.Stream()
    other.wait_stream(s)
    with other:
        c = b + 1
    other.synchronize()
    np.testing.assert_allclose(c.numpy(force=True), b.numpy(force=True) + 1)


@needs_gpu
def test_memory_statistics():
    cuda.synchronize()
    cuda.reset_peak_memory_stats()
    base = cuda.memory_allocated()
    assert cuda.max_memory_allocated() == base
    x = lucid.empty(2**20, device="cuda")  # 4 MiB
    assert cuda.memory_allocated() >= base + 4 * 2**20
    y = x * 2
    del x, y
    assert cuda.memory_allocated() == base
    assert cuda.max_memory_allocated() >= base + 8 * 2**20
    assert cuda.memory_reserved() >= cuda.max_memory_allocated()
    cuda.reset_peak_memory_stats()
    assert cuda.max_memory_allocated() == base
    cuda.empty_cache()
    assert cuda.memory_reserved() >= cuda.memory_allocated()


@needs_gpu
def test_manual_seed_reproduces_gpu_random_numbers():
    cuda.manual_seed(7)
    a = lucid.randn(5, device="cuda").numpy(force=True)
    cuda.manual_seed_all(7)
    b = lucid.randn(5, device="cuda").numpy(force=True)
    cuda.manual_seed(8)
    c = lucid.randn(5, device="cuda").numpy(force=True)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@needs_gpu
@pytest.mark.parametrize("non_blocking", [False, True])
def test_pinned_host_to_device_copy(non_blocking):
    backend = lucid.device("cuda").backend
    host = np.arange(12, dtype=np.float32).reshape(3, 4)
    pinned = backend.pin(host)
    assert backend.is_pinned(pinned) and backend.is_pinned(pinned[1:]) and not backend.is_pinned(host)
    out = backend.from_numpy(pinned, cuda.current_device(), non_blocking=non_blocking)
    if non_blocking:
        cuda.synchronize()  # the copy may still be running: wait before touching the source
    pinned[...] = -1
    np.testing.assert_array_equal(backend.to_numpy(out), host)


@needs_gpu
def test_tf32_switch_changes_float32_matmul_precision():
    if cuda.get_device_capability() < (8, 0):
        pytest.skip("TF32 needs compute capability 8.0+")
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((512, 512)).astype(np.float32) for _ in range(2))
    exact = a.astype(np.float64) @ b.astype(np.float64)
    ta, tb = lucid.tensor(a, device="cuda"), lucid.tensor(b, device="cuda")
    matmul = lucid.backends.cuda.matmul
    before = matmul.allow_tf32
    try:
        errors = {}
        for flag in (False, True):
            matmul.allow_tf32 = flag
            errors[flag] = np.abs((ta @ tb).numpy(force=True) - exact).max()
    finally:
        matmul.allow_tf32 = before
    assert errors[False] < 1e-3 < errors[True]


@needs_gpu
def test_single_gpu_adds_nothing_to_the_op_hot_path():
    lucid.zeros(1, device="cuda")
    expected = 0 if cuda.device_count() == 1 else 1
    assert sum(getattr(i, "__self__", None) is lucid.device("cuda").backend for i in function.interceptors) == expected


@needs_two_gpus
def test_ops_run_on_their_tensors_gpu():
    with cuda.device(0):
        x = lucid.randn(64, 64, device="cuda:1", requires_grad=True)
        y = (x @ x).exp().sum()
        y.backward()
        assert cuda.current_device() == 0
    assert y.device == lucid.device("cuda:1") and y._data.device.id == 1
    assert x.grad._data.device.id == 1
    host = x.detach().numpy(force=True)
    expected = np.exp(host @ host)
    np.testing.assert_allclose(y.item(), expected.sum(), rtol=1e-4)
