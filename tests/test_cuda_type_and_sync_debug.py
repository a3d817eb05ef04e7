"""``Tensor.type`` with a legacy type of another device moves the tensor (as PyTorch's), and
``lucid.cuda.set_sync_debug_mode`` warns or raises at copies of CUDA data to the host. Without a GPU the
CUDA side runs on the fake CUDA backend of ``fake_cuda.py`` (NumPy underneath, device memory semantics)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from fake_cuda import fake_cuda  # noqa: F401  (the fixture)

import lucid
from lucid import cuda

HAVE_GPU = cuda.is_available()


# ---- Tensor.type --------------------------------------------------------------------------------------
@pytest.mark.skipif(HAVE_GPU, reason="checks the behaviour without a usable GPU")
@pytest.mark.parametrize("spec", [cuda.FloatTensor, "torch.cuda.FloatTensor", "lucid.cuda.LongTensor"])
def test_type_to_a_cuda_type_without_gpu_raises_as_to_cuda(spec):
    x = lucid.ones(2)
    with pytest.raises(lucid.BackendUnavailableError) as to_error:
        x.to("cuda")
    with pytest.raises(lucid.BackendUnavailableError) as type_error:
        x.type(spec)
    assert str(type_error.value) == str(to_error.value)


@pytest.mark.parametrize("spec, name", [(cuda.FloatTensor, "FloatTensor"), ("torch.cuda.DoubleTensor", "DoubleTensor"),
                                        (cuda.LongTensor, "LongTensor")])
def test_type_to_a_cuda_type_moves_to_the_current_gpu(fake_cuda, spec, name):  # noqa: F811
    x = lucid.arange(3, dtype=lucid.float64)
    cuda.set_device(1)
    try:
        y = x.type(spec)
    finally:
        cuda.set_device(0)
    assert y.device == lucid.device("cuda:1") and x.device.type == "cpu"
    assert y.type() == f"lucid.cuda.{name}" and isinstance(y, getattr(cuda, name))
    np.testing.assert_array_equal(y.cpu().numpy(), np.arange(3))


def test_type_keeps_a_gpu_tensor_on_its_gpu_and_cpu_types_move_it_back(fake_cuda):  # noqa: F811
    x = lucid.arange(3, dtype=lucid.float32, device="cuda:1")
    assert x.type(cuda.DoubleTensor).device == lucid.device("cuda:1")
    assert x.type(lucid.float64).device == lucid.device("cuda:1")  # a dtype never moves
    for spec in (lucid.LongTensor, "torch.LongTensor"):
        y = x.type(spec)
        assert y.device.type == "cpu" and y.dtype is lucid.int64 and y.type() == "lucid.LongTensor"


def test_type_of_a_cpu_tensor_matches_torch():
    torch = pytest.importorskip("torch")
    for spec in ("FloatTensor", "LongTensor", "DoubleTensor"):
        ours, theirs = lucid.ones(2).type(getattr(lucid, spec)), torch.ones(2).type(getattr(torch, spec))
        assert ours.type().split(".")[-1] == theirs.type().split(".")[-1] and ours.device.type == "cpu"


def test_module_type_casts_floating_tensors_and_moves_with_a_device_type(fake_cuda):  # noqa: F811
    """Module.type as Tensor.type on every floating parameter and buffer (legacy types and their names too);
    a legacy type of another device type moves integer buffers as well, keeping their dtype."""
    m = lucid.nn.BatchNorm1d(3)
    assert m.type(lucid.DoubleTensor) is m and m.weight.dtype is lucid.float64
    assert m.type("torch.FloatTensor").running_mean.dtype is lucid.float32
    weight = m.weight
    m.type(cuda.DoubleTensor)
    assert m.weight is weight and weight.device.type == "cuda" and weight.dtype is lucid.float64
    assert m.num_batches_tracked.device.type == "cuda" and m.num_batches_tracked.dtype is lucid.int64
    m.type(lucid.FloatTensor)
    assert {t.device.type for t in (*m.parameters(), *m.buffers())} == {"cpu"} and weight.dtype is lucid.float32
    with pytest.raises(TypeError, match="floating point"):
        m.type(lucid.LongTensor)
    assert weight.dtype is lucid.float32  # refused before anything changed


@pytest.mark.skipif(HAVE_GPU, reason="checks the behaviour without a usable GPU")
def test_module_type_to_a_cuda_type_without_gpu_raises_and_leaves_the_module():
    m = lucid.nn.Linear(2, 2)
    with pytest.raises(lucid.BackendUnavailableError):
        m.type(cuda.FloatTensor)
    assert m.weight.device.type == "cpu" and m.weight.dtype is lucid.float32


# ---- sync debug mode ----------------------------------------------------------------------------------
@pytest.mark.skipif(HAVE_GPU, reason="checks the behaviour without a usable GPU")
@pytest.mark.parametrize("call", [lambda: cuda.set_sync_debug_mode("warn"), cuda.get_sync_debug_mode])
def test_sync_debug_mode_without_gpu_raises(call):
    with pytest.raises(lucid.BackendUnavailableError, match="lucid.cuda.(set|get)_sync_debug_mode"):
        call()


@pytest.fixture
def sync_debug(fake_cuda):  # noqa: F811
    """Sets the mode on the fake GPU; back to 0 afterwards."""
    yield cuda.set_sync_debug_mode
    cuda.set_sync_debug_mode(0)


@pytest.mark.parametrize("mode, number", [("default", 0), ("warn", 1), ("error", 2), (0, 0), (1, 1), (2, 2)])
def test_sync_debug_mode_bookkeeping(sync_debug, mode, number):
    sync_debug(mode)
    assert cuda.get_sync_debug_mode() == number


@pytest.mark.parametrize("bad", ["loud", 3, -1, True, 1.0])
def test_sync_debug_mode_rejects_other_values(sync_debug, bad):
    sync_debug(1)
    with pytest.raises(RuntimeError, match="expected one of `default`, `warn`, `error`"):
        sync_debug(bad)
    assert cuda.get_sync_debug_mode() == 1  # unchanged


HOST_READS = {
    "item": lambda x: x[0].item(), "bool": lambda x: bool(x[0]), "float": lambda x: float(x[0]),
    "int": lambda x: int(x[0]), "tolist": lambda x: x.tolist(), "cpu": lambda x: x.cpu(),
    "to-cpu": lambda x: x.to("cpu"), "numpy": lambda x: x.numpy(force=True), "repr": repr, "str": str,
    "format": lambda x: f"{x[0]:.2f}", "type-cpu": lambda x: x.type(lucid.FloatTensor),
}


@pytest.mark.parametrize("name", list(HOST_READS))
def test_sync_debug_mode_flags_each_host_read(sync_debug, name):
    x = lucid.arange(3, dtype=lucid.float32, device="cuda")
    read = HOST_READS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read(x)  # mode 0: silent
    sync_debug("warn")
    with pytest.warns(UserWarning, match="called a synchronizing CUDA operation"):
        read(x)
    sync_debug("error")
    with pytest.raises(RuntimeError, match="called a synchronizing CUDA operation"):
        read(x)


def test_sync_debug_mode_leaves_device_work_and_cpu_tensors_alone(sync_debug):
    sync_debug("error")
    x = lucid.arange(4, dtype=lucid.float32, device="cuda", requires_grad=True)
    loss = (x * 2).sum()
    loss.backward()  # no host read in a forward and backward on the device
    cuda.synchronize()  # an explicit wait is asked for, not flagged
    assert lucid.ones(2).tolist() == [1.0, 1.0] and bool(lucid.ones(1))  # CPU tensors are never flagged
    sync_debug(0)
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [2, 2, 2, 2])


# ---- autocast on CUDA: batch norm keeps the input's dtype, layer norm runs in float32 -------------------
def test_cuda_autocast_norm_and_pad_dtypes(fake_cuda):  # noqa: F811
    import lucid.nn.functional as F

    x = lucid.randn(3, 4, 5, device="cuda").half()
    w = lucid.ones(4, device="cuda")
    with lucid.amp.autocast("cuda"):
        got = {"batch_norm": F.batch_norm(x, None, None, w, None, training=True).dtype,
               "instance_norm": F.instance_norm(x, weight=w).dtype, "layer_norm": F.layer_norm(x, (5,)).dtype,
               "group_norm": F.group_norm(x, 2, w).dtype, "rms_norm": F.rms_norm(x, (5,)).dtype,
               "reflect_pad": F.pad(x, (1, 1), mode="reflect").dtype,
               "replicate_pad": F.pad(x, (1, 1), mode="replicate").dtype}
    assert got == {"batch_norm": lucid.float16, "instance_norm": lucid.float16, "layer_norm": lucid.float32,
                   "group_norm": lucid.float32, "rms_norm": lucid.float32, "reflect_pad": lucid.float16,
                   "replicate_pad": lucid.float16}
