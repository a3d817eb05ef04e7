"""PyTorch's global switches on lucid: the ones with an effect have it, the recorded ones read back."""

from __future__ import annotations

import os

import pytest

import lucid
import lucid._settings as settings


@pytest.fixture
def restore():
    saved = dict(settings._state)
    tf32 = lucid.backends.cuda.matmul.allow_tf32
    yield
    settings._state.update(saved)
    lucid.backends.cuda.matmul.allow_tf32 = tf32
    lucid.set_default_device(None)
    lucid.set_default_dtype(lucid.float32)


def test_thread_counts_read_back(restore):
    settings._state["threads"] = settings._state["interop_threads"] = None  # never set in this process
    assert lucid.get_num_threads() == lucid.get_num_interop_threads() == (os.cpu_count() or 1)
    lucid.init_num_threads()
    lucid.set_num_threads(3)
    lucid.set_num_interop_threads(2)
    assert lucid.get_num_threads() == 3 and lucid.get_num_interop_threads() == 2
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="positive int"):
            lucid.set_num_threads(bad)
    assert lucid.get_num_threads() == 3


def test_default_device_is_used_by_factories(restore, device):
    lucid.set_default_device(device)
    assert lucid.get_default_device() == device
    for made in (lucid.zeros(2), lucid.randn(2), lucid.tensor([1.0]), lucid.arange(3), lucid.full((1,), 2.0)):
        assert made.device == device
    assert lucid.from_numpy(lucid.ones(1, device="cpu").numpy()).device == lucid.device("cpu")
    lucid.set_default_device(None)
    assert lucid.zeros(1).device == lucid.device("cpu")
    with pytest.raises(lucid.UnknownDeviceError):
        lucid.set_default_device("tpu")
    assert lucid.get_default_device() == lucid.device("cpu")


def test_default_tensor_type(restore):
    lucid.set_default_tensor_type(lucid.DoubleTensor)
    assert lucid.get_default_dtype() is lucid.float64 and lucid.tensor([1.5]).dtype is lucid.float64
    lucid.set_default_tensor_type("torch.FloatTensor")
    assert lucid.get_default_dtype() is lucid.float32
    with pytest.raises(TypeError, match="floating legacy tensor type"):
        lucid.set_default_tensor_type(lucid.LongTensor)
    assert lucid.get_default_dtype() is lucid.float32


def test_matmul_precision_is_the_tf32_switch(restore):
    lucid.set_float32_matmul_precision("high")
    assert lucid.backends.cuda.matmul.allow_tf32 and lucid.get_float32_matmul_precision() == "high"
    lucid.set_float32_matmul_precision("highest")
    assert not lucid.backends.cuda.matmul.allow_tf32 and lucid.get_float32_matmul_precision() == "highest"
    with pytest.raises(ValueError, match="highest"):
        lucid.set_float32_matmul_precision("low")


def test_determinism_switches_read_back(restore):
    torch = pytest.importorskip("torch")
    for mode in (2, "warn", 0, "error", 1, "default"):
        lucid.set_deterministic_debug_mode(mode)
        torch.set_deterministic_debug_mode(mode)
        try:
            assert lucid.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
            assert lucid.are_deterministic_algorithms_enabled() == torch.are_deterministic_algorithms_enabled()
            assert lucid.is_deterministic_algorithms_warn_only_enabled() == \
                torch.is_deterministic_algorithms_warn_only_enabled()
        finally:
            torch.set_deterministic_debug_mode(0)
    lucid.use_deterministic_algorithms(True, warn_only=True)
    assert lucid.get_deterministic_debug_mode() == 1
    with pytest.raises(RuntimeError, match="expected 0, 1, 2"):
        lucid.set_deterministic_debug_mode("loud")


def test_small_switches(restore):
    assert lucid.set_flush_denormal(True) is False
    lucid.set_warn_always(True)
    assert lucid.is_warn_always_enabled()
    lucid.set_warn_always(False)
    assert not lucid.is_warn_always_enabled()
    lucid.manual_seed(1)
    lucid.cuda.manual_seed(1)
    lucid.cuda.manual_seed_all(1)


def test_autocast_switches_outside_a_block():
    assert not lucid.is_autocast_enabled("cpu") and lucid.is_autocast_cache_enabled()
    lucid.set_autocast_enabled("cpu", True)
    try:
        assert lucid.is_autocast_enabled("cpu") and lucid.get_autocast_dtype("cpu") is lucid.bfloat16
        a = lucid.ones(2, 2)
        assert (a @ a).dtype is lucid.bfloat16  # matmul runs in the autocast dtype (PyTorch's CPU default)
        with lucid.autocast("cpu", enabled=False):
            assert not lucid.is_autocast_enabled("cpu")
        assert lucid.is_autocast_enabled("cpu")
    finally:
        lucid.set_autocast_enabled("cpu", False)
    assert not lucid.is_autocast_enabled("cpu") and (lucid.ones(2, 2) @ lucid.ones(2, 2)).dtype is lucid.float32
    lucid.set_autocast_enabled("cpu", False)  # a second switch-off changes nothing
    lucid.set_autocast_dtype("cpu", lucid.float16)
    with pytest.raises(ValueError, match="16-bit"):
        lucid.set_autocast_dtype("cpu", lucid.float32)
    with pytest.raises(ValueError, match="device type"):
        lucid.set_autocast_enabled("cuda:0", True)
    lucid.set_autocast_cache_enabled(False)
    assert not lucid.is_autocast_cache_enabled()
    lucid.set_autocast_cache_enabled(True)
    lucid.clear_autocast_cache()


def test_accelerator_and_mps_answer_without_a_gpu():
    has_gpu = lucid.cuda.is_available()
    assert lucid.accelerator.is_available() == has_gpu
    assert lucid.accelerator.device_count() == lucid.cuda.device_count()
    assert lucid.accelerator.current_device_index() == (lucid.cuda.current_device() if has_gpu else -1)
    accel = lucid.accelerator.current_accelerator(check_available=True)
    assert (accel is None) == (not has_gpu) and (accel is None or accel.type == "cuda")
    lucid.accelerator.synchronize()
    assert lucid.backends.mps.is_available() is False and lucid.backends.mps.is_built() is False


def test_gradscaler_spellings():
    assert lucid.GradScaler is lucid.amp.GradScaler
    scaler = lucid.GradScaler("cpu", enabled=False)
    loss = lucid.ones(1, requires_grad=True)
    assert scaler.scale(loss) is loss or scaler.scale(loss).tolist() == [1.0]


def test_load_accepts_weights_only(tmp_path):
    path = tmp_path / "w.safetensors"
    lucid.save({"w": lucid.ones(2)}, path)
    assert lucid.load(path, weights_only=True)["w"].tolist() == [1.0, 1.0]
    assert lucid.load(path, map_location="cpu", weights_only=False)["w"].tolist() == [1.0, 1.0]


def test_compile_returns_the_model():
    model = lucid.nn.Linear(2, 2)
    assert lucid.compile(model) is model and lucid.compile(model, mode="max-autotune", fullgraph=True) is model

    @lucid.compile(mode="reduce-overhead")
    def double(x):
        return x * 2

    assert double(lucid.ones(1)).tolist() == [2.0] and lucid.compile(double) is double
