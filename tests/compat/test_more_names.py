"""PyTorch names real programs use, checked against PyTorch: ``amp.custom_fwd``/``custom_bwd`` and
``is_autocast_available``, ``nn.attention`` (``SDPBackend``, ``sdpa_kernel``), ``testing.make_tensor`` and
``assert_allclose``, ``positive``, ``Tensor.new``, ``apply_``/``map_``/``map2_``, ``detach_``,
``utils.swap_tensors``."""

from __future__ import annotations

import importlib
import weakref

import numpy as np
import pytest

import lucid
import lucid.nn as nn
from lucid.autograd import gradcheck
from lucid.nn.attention import SDPBackend, sdpa_kernel
from lucid.testing import assert_allclose, make_tensor
from lucid.torch_compat import ALIASES

torch = pytest.importorskip("torch")


# ---- amp.custom_fwd / custom_bwd ------------------------------------------------------------------------------

def _autocast_trace(lib, cast_inputs):
    """What forward and backward of a custom Function see under ``autocast("cpu")``: autocast on?, input dtype."""
    seen = []

    class Scale(lib.autograd.Function):
        @staticmethod
        @lib.amp.custom_fwd(device_type="cpu", cast_inputs=cast_inputs)
        def forward(ctx, x, pair):
            seen.append(("fwd", lib.is_autocast_enabled("cpu"), str(x.dtype).split(".")[-1],
                         str(pair[0].dtype).split(".")[-1]))
            return x * 2

        @staticmethod
        @lib.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            seen.append(("bwd", lib.is_autocast_enabled("cpu"), lib.get_autocast_dtype("cpu") == lib.float16))
            return g * 2, None

    x = lib.ones(3, dtype=lib.float16, requires_grad=True)
    with lib.autocast("cpu", dtype=lib.float16):
        y = Scale.apply(x, [lib.ones(1, dtype=lib.float16)])
    y.float().sum().backward()
    return seen, str(y.dtype).split(".")[-1], x.grad.tolist()


@pytest.mark.parametrize("cast_inputs", [None, "float32"])
def test_custom_fwd_and_bwd_follow_autocast_as_pytorch(cast_inputs):
    got = _autocast_trace(lucid, cast_inputs and getattr(lucid, cast_inputs))
    assert got == _autocast_trace(torch, cast_inputs and getattr(torch, cast_inputs))
    # outside autocast custom_fwd changes nothing
    assert lucid.amp.custom_fwd(lambda ctx, x: x.dtype, device_type="cpu", cast_inputs=lucid.float32)(
        type("Ctx", (), {})(), lucid.ones(1, dtype=lucid.float16)) is lucid.float16


def test_custom_fwd_argument_errors_and_the_deprecated_cuda_forms():
    for lib in (torch, lucid):
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            lib.amp.custom_fwd(lambda ctx: None, device_type=0)
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            lib.amp.custom_bwd(lambda ctx: None, device_type=None)
    cuda_amp = importlib.import_module(ALIASES["torch.cuda.amp"])
    with pytest.warns(FutureWarning, match=r"torch.cuda.amp.custom_fwd\(args...\)` is deprecated"):
        fwd = cuda_amp.custom_fwd(cast_inputs=lucid.float32)
    assert callable(fwd(lambda ctx, x: x))
    with pytest.warns(FutureWarning, match=r"torch.cuda.amp.custom_bwd\(args...\)` is deprecated"):
        assert callable(cuda_amp.custom_bwd(lambda ctx, g: g))


def test_is_autocast_available_as_pytorch():
    for device_type in ("cpu", "cuda", "cuda:0"):
        assert lucid.amp.is_autocast_available(device_type) is torch.amp.is_autocast_available(device_type) is True
    for lib in (torch, lucid):
        with pytest.raises(RuntimeError):
            lib.amp.is_autocast_available("nonsense")


# ---- nn.attention -----------------------------------------------------------------------------------------------

def test_sdp_backend_names_and_values_match_pytorch():
    from torch.nn.attention import SDPBackend as TorchSDPBackend

    assert {n: int(b) for n, b in TorchSDPBackend.__members__.items()} == {b.name: int(b) for b in SDPBackend}
    assert str(SDPBackend.MATH) == str(TorchSDPBackend.MATH) and repr(SDPBackend.MATH) == repr(TorchSDPBackend.MATH)


def _runs(lib, backends, q) -> bool:
    backend_enum = lib.nn.attention.SDPBackend
    chosen = [getattr(backend_enum, b) for b in backends] if isinstance(backends, list) else \
        getattr(backend_enum, backends)
    with lib.nn.attention.sdpa_kernel(chosen):
        try:
            lib.nn.functional.scaled_dot_product_attention(q, q, q)
        except RuntimeError as e:
            assert "No viable backend for scaled_dot_product_attention was found" in str(e)
            return False
    return True


@pytest.mark.parametrize("backends", [*(b.name for b in SDPBackend), [], ["EFFICIENT_ATTENTION", "MATH"],
                                      ["CUDNN_ATTENTION", "OVERRIDEABLE"]])
def test_sdpa_kernel_on_the_cpu_runs_where_pytorch_runs(backends):
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 8)).astype(np.float32)
    assert _runs(lucid, backends, lucid.tensor(x)) is _runs(torch, backends, torch.tensor(x))


def test_sdpa_kernel_checks_its_argument_and_restores_the_allowed_kernels(device):
    q = lucid.randn(1, 4, 8, device=device)
    for bad in ("MATH", 3, (SDPBackend.MATH,)):
        with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend or a list"):
            with sdpa_kernel(bad):
                pass
    with sdpa_kernel(SDPBackend.ERROR):
        with pytest.raises(RuntimeError, match="sdpa_kernel allows: none"):
            nn.functional.scaled_dot_product_attention(q, q, q)
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH], set_priority=True):
            nn.functional.scaled_dot_product_attention(q, q, q)
        with pytest.raises(RuntimeError):
            nn.functional.scaled_dot_product_attention(q, q, q)
    with sdpa_kernel(SDPBackend.EFFICIENT_ATTENTION):  # a GPU kernel: lucid stands in for it off the CPU
        if device.type == "cpu":
            with pytest.raises(RuntimeError, match="EFFICIENT_ATTENTION"):
                nn.functional.scaled_dot_product_attention(q, q, q)
        else:
            nn.functional.scaled_dot_product_attention(q, q, q)
    nn.functional.scaled_dot_product_attention(q, q, q)


# ---- testing.make_tensor / assert_allclose ----------------------------------------------------------------------

_DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64", "complex64"]


@pytest.mark.parametrize("dtype", _DTYPES)
def test_make_tensor_draws_from_pytorchs_ranges(dtype, device):
    try:
        lucid.zeros(1, dtype=getattr(lucid, dtype), device=device)
    except TypeError as e:  # array-api-strict has no float16
        pytest.skip(str(e))
    lucid.manual_seed(0)
    t = make_tensor(50, 4, dtype=getattr(lucid, dtype), device=device)
    assert t.shape == (50, 4) and t.dtype is getattr(lucid, dtype) and t.device == device
    values = np.asarray(t.cpu().numpy())
    parts = [values.real, values.imag] if values.dtype.kind == "c" else [values.astype(np.float64)]
    low, high = {"bool": (0, 1), "uint8": (0, 9)}.get(dtype, (-9, 9))
    assert all(p.min() >= low and p.max() <= high for p in parts)
    assert len(np.unique(parts[0])) > 1
    small = make_tensor((3,), dtype=getattr(lucid, dtype), device=device, low=0, high=2 if dtype != "bool" else None,
                        exclude_zero=True, noncontiguous=True)
    assert small.shape == (3,) and bool((small != 0).all())
    assert small.is_contiguous() is (device.type != "cpu")  # array-api-strict hides strides: contiguous there


def test_make_tensor_options_and_errors_as_pytorch():
    t = make_tensor([2, 3], dtype=lucid.float32, device="cpu", low=1, high=2, requires_grad=True)
    assert t.requires_grad and t.is_leaf and bool(((t >= 1) & (t < 2)).all())
    assert make_tensor(1, dtype=lucid.float32, device="cpu", noncontiguous=True).is_contiguous()  # one element
    assert make_tensor((), dtype=lucid.float64, device="cpu", low=-1e308, high=1e308).shape == ()
    assert make_tensor(2, 2, dtype=lucid.float32, device="cpu", memory_format=lucid.contiguous_format).shape == (2, 2)
    bad = [dict(dtype="int64", requires_grad=True), dict(dtype="float32", low=3, high=1),
           dict(dtype="float32", low=float("nan")), dict(dtype="uint8", low=-5, high=-1),
           dict(dtype="float32", noncontiguous=True, memory_format="contiguous_format")]
    for kwargs in bad:
        for lib in (torch, lucid):
            args = dict(kwargs, dtype=getattr(lib, kwargs["dtype"]))
            if "memory_format" in args:
                args["memory_format"] = getattr(lib, args["memory_format"])
            with pytest.raises(ValueError):
                lib.testing.make_tensor(2, device="cpu", **args)


def test_assert_allclose_is_deprecated_and_compares_as_pytorch():
    cases = [([1.0, 2.0], [1.0, 2.00001], {}), ([1.0, 2.0], [1.0, 2.01], {}), ([1.0, float("nan")],
             [1.0, float("nan")], {}), ([1, 2], [1.0, 2.0], {}), ([1.0, 2.0], [1.0, 2.1], dict(rtol=0.1, atol=0))]
    for actual, expected, kw in cases:
        outcomes = []
        for lib in (torch, lucid):
            with pytest.warns(FutureWarning, match=r"assert_allclose\(\)` is deprecated"):
                try:
                    lib.testing.assert_allclose(lib.tensor(actual), expected, **kw)
                    outcomes.append(True)
                except AssertionError:
                    outcomes.append(False)
        assert outcomes[0] is outcomes[1], (actual, expected)
    with pytest.warns(FutureWarning), pytest.raises(AssertionError, match="custom"):
        assert_allclose(lucid.tensor([1.0]), [2.0], msg="custom")


# ---- positive, new, detach_ ---------------------------------------------------------------------------------

def test_positive_is_the_tensor_itself_and_refuses_bool(device):
    x = lucid.tensor([1.0, -2.0], device=device, requires_grad=True)
    assert lucid.positive(x) is x and x.positive() is x and (+x) is x
    assert lucid.positive(lucid.tensor([1, 2], device=device)).tolist() == [1, 2]
    for lib in (torch, lucid):
        with pytest.raises(RuntimeError, match="The `\\+` operator, on a bool tensor is not supported"):
            lib.positive(lib.tensor([True]))
        with pytest.raises(RuntimeError, match="on a bool tensor"):
            +lib.tensor([True])  # noqa: B018
    x64 = lucid.tensor(np.random.default_rng(0).standard_normal(3), dtype=lucid.float64, requires_grad=True)
    assert gradcheck(lambda t: lucid.positive(t) * t, (x64,))


def test_new_is_pytorchs_legacy_constructor(device):
    for lib, dev in ((torch, "cpu"), (lucid, device)):
        y = lib.ones(2, 3, dtype=lib.float64, device=dev)
        assert tuple(y.new(2, 3).shape) == (2, 3) and y.new(2, 3).dtype == y.dtype
        assert tuple(y.new(lib.Size([4, 1])).shape) == (4, 1) and tuple(y.new().shape) == (0,)
        assert y.new([1, 2]).tolist() == [1.0, 2.0] and y.new((2,)).tolist() == [2.0]
        assert y.new([1, 2]).dtype == lib.float64
        assert lib.ones(2, dtype=lib.int32, device=dev).new([1.7, 2]).tolist() == [1, 2]
        same = lib.tensor([3.0, 4.0], dtype=lib.float64, device=dev)
        alias = y.new(same)
        alias[0] = 9.0
        assert same[0].item() == 9.0
        for args, kwargs in [((2.5,), {}), (([1, 2], 3), {}), ((lib.tensor([1, 2], device=dev),), {}),
                             ((2, 3), {"dtype": lib.float32}), ((2, 3), {"requires_grad": True})]:
            with pytest.raises(TypeError):
                y.new(*args, **kwargs)
    assert lucid.ones(2, device=device).new(2).device == device


def test_detach_function_form(device):
    x = lucid.ones(2, device=device, requires_grad=True)
    y = x * 2
    assert lucid.detach_(y) is y and not y.requires_grad and y.grad_fn is None
    with pytest.raises(RuntimeError, match="Can't detach views in-place"):
        lucid.detach_((x * 2)[1:])


# ---- apply_ / map_ / map2_ ----------------------------------------------------------------------------------

def test_apply_map_and_map2_as_pytorch(device):
    results = []
    for lib, dev in ((torch, "cpu"), (lucid, device)):
        a = lib.tensor([1.0, 2.0], device=dev)
        out = [a.apply_(lambda v: v * 2) is a, a.tolist()]
        b = lib.tensor([1.0, 2.0], device=dev)
        b.map_(lib.tensor([10.0, 20.0], device=dev), lambda p, q: p + q)
        c = lib.tensor([[1.0, 2.0]], device=dev)
        c.map_(lib.tensor(10.0, device=dev), lambda p, q: p * q)  # other broadcast to self's shape
        d = lib.tensor([1.0, 2.0], device=dev)
        d.map2_(lib.tensor([10.0, 20.0], device=dev), lib.tensor([3.0, 4.0], device=dev), lambda p, q, r: p + q * r)
        e = lib.tensor([1, 2], device=dev).apply_(lambda v: v * 1.7)  # cast back to int64 (truncated)
        out += [b.tolist(), c.tolist(), d.tolist(), e.tolist(), str(e.dtype).split(".")[-1]]
        with pytest.raises(RuntimeError, match=r"Can't call apply_\(\) on Variable that requires grad"):
            lib.tensor([1.0], device=dev, requires_grad=True).apply_(lambda v: v)
        with pytest.raises(TypeError):
            lib.tensor([1.0], device=dev).map_(lib.tensor([1], device=dev), lambda p, q: p)
        with pytest.raises(TypeError):
            lib.tensor([1.0], device=dev).apply_(lambda v: "x")
        with pytest.raises(RuntimeError):
            lib.tensor([1.0, 2.0], device=dev).map_(lib.tensor([1.0, 2.0, 3.0], device=dev), lambda p, q: p)
        results.append(out)
    assert results[0] == results[1]


# ---- utils.swap_tensors -------------------------------------------------------------------------------------

def test_swap_tensors_swaps_everything_as_pytorch(device):
    for lib, dev in ((torch, "cpu"), (lucid, device)):
        a = lib.ones(2, device=dev, requires_grad=True)
        (a * 2).sum().backward()
        b = lib.zeros(3, device=dev)
        b.tag = "b"
        lib.utils.swap_tensors(a, b)
        assert a.tolist() == [0.0, 0.0, 0.0] and not a.requires_grad and a.grad is None and a.tag == "b"
        assert b.tolist() == [1.0, 1.0] and b.requires_grad and b.grad.tolist() == [2.0, 2.0]
        assert not hasattr(b, "tag")
        p, q = lib.nn.Parameter(lib.ones(2, device=dev)), lib.zeros(2, dtype=lib.float64, device=dev)
        lib.utils.swap_tensors(p, q)
        assert type(p) is lib.Tensor and type(q) is lib.nn.Parameter and p.dtype == lib.float64
        held = lib.ones(1, device=dev)
        ref = weakref.ref(held)
        with pytest.raises(RuntimeError, match="Cannot swap t1 because it has weakref associated with it"):
            lib.utils.swap_tensors(held, lib.zeros(1, device=dev))
        assert ref() is held


def test_torch_compat_maps_the_new_modules():
    for name in ("torch.nn.attention", "torch.multiprocessing", "torch.multiprocessing.spawn",
                 "torch.multiprocessing.reductions"):
        importlib.import_module(ALIASES[name])
    assert importlib.import_module(ALIASES["torch.nn.attention"]).sdpa_kernel is sdpa_kernel
