"""Device parsing, the backend registry, and the CUDA-unavailable path."""

from __future__ import annotations

import pytest

import lucid


def test_device_parsing_and_identity():
    assert lucid.device("cpu") is lucid.device(lucid.device("cpu"))
    assert str(lucid.device("cpu")) == "cpu" and lucid.device("cpu").index is None
    assert lucid.device("cuda:1") is lucid.device("gpu:1") is lucid.device("cuda", 1) is lucid.device(1)
    assert lucid.device("cuda:1").type == "cuda" and lucid.device("cuda:1").index == 1
    assert lucid.device("cuda:0") != lucid.device("cuda:1")
    assert lucid.device("cpu") == "cpu" and lucid.device("cuda:0") == "gpu:0"
    assert repr(lucid.device("cuda:2")) == "device(type='cuda', index=2)"
    assert len({lucid.device("cpu"), lucid.device("cpu"), lucid.device("cuda:0")}) == 2


@pytest.mark.parametrize("bad", ["tpu", "cuda:x", "cpu:1", "", "cuda:-1"])
def test_unknown_devices_list_accepted_forms(bad):
    with pytest.raises(lucid.UnknownDeviceError) as info:
        lucid.device(bad)
    assert isinstance(info.value, ValueError)
    if bad != "cpu:1":
        assert "'cpu'" in str(info.value) and "'cuda:N'" in str(info.value) and "'gpu'" in str(info.value)


@pytest.mark.parametrize(("bad", "meant"), [("CPU", "cpu"), ("Cuda:0", "cuda:0"), (" cpu", "cpu"), ("GPU:1", "gpu:1")])
def test_device_strings_are_exact_as_in_torch(bad, meant):
    """torch.device("CPU") is an error; lucid refuses it too, and names the form meant."""
    with pytest.raises(lucid.UnknownDeviceError, match=f"did you mean '{meant}'") as info:
        lucid.device(bad)
    assert "'cuda:N'" in str(info.value)
    assert lucid.device("cpu") != bad
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.device(bad)


def test_naming_cuda_needs_no_gpu_but_using_it_explains(monkeypatch):
    if lucid.cuda.is_available():
        pytest.skip("a GPU is present")
    dev = lucid.device("cuda")  # naming it is fine
    assert dev.type == "cuda"
    with pytest.raises(lucid.BackendUnavailableError, match=r"lucid\[cuda12\]|no usable CUDA GPU|no CUDA GPU"):
        lucid.zeros(2, device="cuda")
    with pytest.raises(lucid.BackendUnavailableError):
        lucid.tensor([1.0]).to("gpu")
    assert lucid.cuda.device_count() == 0
    lucid.cuda.synchronize()  # a no-op without a GPU


def test_registered_backend_devices(device):
    t = lucid.ones(2, device=device)
    assert t.device is device and t.xp is device.xp


def test_manual_seed_reproduces_on_every_backend(device):
    lucid.manual_seed(123)
    a = lucid.randn(5, device=device).tolist()
    lucid.random.manual_seed(123)
    b = lucid.randn(5, device=device).tolist()
    assert a == b
    assert lucid.random.initial_seed() == 123
    assert lucid.randn(5, device=device).tolist() != a
