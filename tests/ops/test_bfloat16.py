"""bfloat16 (NumPy through ml_dtypes) against PyTorch: promotion, casts, math, printing, files, autocast; a
clear TypeError on backends without it (array-api-strict)."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest

import lucid
from lucid import dtypes as _dt

torch = pytest.importorskip("torch")

NAMES = ["bool", "uint8", "int8", "int64", "float16", "bfloat16", "float32", "float64", "complex64", "complex128"]


@pytest.fixture
def bf16_device(device):
    if not device.backend.supports(lucid.bfloat16):
        with pytest.raises(TypeError, match=f"the {device.backend.name} backend has no bfloat16 dtype"):
            lucid.ones(2, dtype=lucid.bfloat16, device=device)
        with pytest.raises(TypeError, match="no bfloat16"):
            lucid.ones(2, device=device).bfloat16()
        pytest.skip(f"{device} has no bfloat16 (and says so)")
    return device


def _close(lucid_t, torch_t, rtol=0.0):
    got = lucid_t.detach().float().numpy(force=True)
    want = torch_t.detach().float().numpy()
    assert lucid_t.dtype.name == str(torch_t.dtype).removeprefix("torch.")
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0)


@pytest.mark.parametrize(("a", "b"), [(a, "bfloat16") for a in NAMES] + [("bfloat16", b) for b in NAMES])
def test_promotion_matches_torch(a, b):
    got = _dt.promote_types(_dt.to_dtype(a), _dt.to_dtype(b))
    assert got.name == str(torch.promote_types(getattr(torch, a), getattr(torch, b))).removeprefix("torch.")


def test_names_resolve():
    assert _dt.to_dtype("bfloat16") is lucid.bfloat16 is _dt.to_dtype("torch.bfloat16")
    assert lucid.bfloat16.is_floating_point and lucid.bfloat16.itemsize == 2
    assert repr(lucid.bfloat16) == "lucid.bfloat16"


@pytest.mark.parametrize(("other", "zero_dim"), itertools.product(["float16", "float32", "int64", "bool"], [0, 1]))
def test_mixed_operands_match_torch(bf16_device, other, zero_dim):
    values = [1.5, -2.25, 3.0]
    lb, tb = lucid.tensor(values, device=bf16_device).bfloat16(), torch.tensor(values).bfloat16()
    shape = () if zero_dim else (3,)
    lo = lucid.full(shape, 2, dtype=other, device=bf16_device)
    to = torch.full(shape, 2, dtype=getattr(torch, other))
    _close(lb + lo, tb + to)
    _close(lb * 2.5, tb * 2.5)


def test_casts_round_as_torch(bf16_device):
    x = np.random.default_rng(0).standard_normal(1000) * 100
    _close(lucid.tensor(x, device=bf16_device).bfloat16(), torch.tensor(x).bfloat16())
    _close(lucid.tensor(x, device=bf16_device).to(lucid.bfloat16).double(), torch.tensor(x).bfloat16().double())


def test_math_matches_torch(bf16_device):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((8, 16)), rng.standard_normal((16, 4))
    la, lb = lucid.tensor(a, device=bf16_device).bfloat16(), lucid.tensor(b, device=bf16_device).bfloat16()
    ta, tb = torch.tensor(a).bfloat16(), torch.tensor(b).bfloat16()
    _close(la * la + 1, ta * ta + 1)
    _close(la.exp(), ta.exp(), rtol=1e-2)
    _close(la @ lb, ta @ tb, rtol=2e-2)  # both accumulate in float32 and round once; summation orders differ
    assert (la @ lb).dtype is lucid.bfloat16


def test_gradients_flow_through_bfloat16(bf16_device):
    x = lucid.tensor([0.5, -1.0, 2.0], device=bf16_device, requires_grad=True)
    t = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    (x.bfloat16() ** 2).sum().backward()
    (t.bfloat16() ** 2).sum().backward()
    _close(x.grad, t.grad)


def test_printing(bf16_device):
    text = repr(lucid.tensor([1.0, 2.5], device=bf16_device).bfloat16())
    assert text == "tensor([1.0000, 2.5000], dtype=lucid.bfloat16)"  # as PyTorch prints it


def test_save_and_load_as_bf16(bf16_device):
    t = lucid.tensor([1.0, -2.5, 3.25], device=bf16_device).bfloat16()
    f = io.BytesIO()
    lucid.save({"w": t}, f)
    data = f.getvalue()
    assert b'"BF16"' in data  # safetensors' own bfloat16: other readers get bfloat16 too
    back = lucid.load(io.BytesIO(data))["w"]
    assert back.dtype is lucid.bfloat16 and back.device == bf16_device
    np.testing.assert_array_equal(back.float().numpy(force=True), [1.0, -2.5, 3.25])
    safetensors_torch = pytest.importorskip("safetensors.torch")
    assert safetensors_torch.load(data)["w"].dtype == torch.bfloat16
    foreign = lucid.load(io.BytesIO(safetensors_torch.save({"x": torch.arange(3.0).bfloat16()})))["x"]
    assert foreign.dtype is lucid.bfloat16 and foreign.float().tolist() == [0.0, 1.0, 2.0]


def test_autocast_bfloat16(bf16_device):
    layer = lucid.nn.Linear(4, 3).to(bf16_device)
    x = lucid.randn(2, 4, device=bf16_device)
    with lucid.amp.autocast(bf16_device.type, dtype=lucid.bfloat16):
        y = layer(x)
        assert y.dtype is lucid.bfloat16
        z = y.float().softmax(-1)
    z[:, 0].sum().backward()
    assert layer.weight.grad.dtype is lucid.float32


_KEEPS_BFLOAT16 = {  # ops whose NumPy bfloat16 products (ml_dtypes) came out float32 in values or gradients
    "scaled_dot_product_attention": lambda T: lucid.nn.functional.scaled_dot_product_attention(
        T(2, 3, 4), T(2, 5, 4), T(2, 5, 4)),
    "einsum": lambda T: lucid.einsum("ij,jk->ik", T(3, 4), T(4, 5)),
    "tensordot": lambda T: lucid.tensordot(T(3, 4), T(4, 5), dims=1),
    "cdist": lambda T: lucid.cdist(T(3, 4), T(5, 4)),
    "pdist": lambda T: lucid.nn.functional.pdist(T(4, 3)),
    "lstm": lambda T: lucid.nn.LSTM(4, 3).to(lucid.bfloat16)(T(5, 2, 4))[0],
    "gru": lambda T: lucid.nn.GRU(4, 3).to(lucid.bfloat16)(T(5, 2, 4))[0],
    "ctc_loss": lambda T: lucid.nn.functional.ctc_loss(T(6, 2, 4).log_softmax(-1), lucid.tensor([[1, 2], [1, 1]]),
                                                       [6, 6], [2, 2]),
}


@pytest.mark.parametrize("name", sorted(_KEEPS_BFLOAT16))
def test_bfloat16_ops_keep_bfloat16_values_and_gradients(bf16_device, name):
    """No silent dtype change: the result and the inputs' gradients stay bfloat16."""
    leaves = []

    def T(*shape):
        leaves.append(lucid.randn(*shape, device=bf16_device).to(lucid.bfloat16).requires_grad_())
        return leaves[-1]

    lucid.manual_seed(0)
    out = _KEEPS_BFLOAT16[name](T)
    assert out.dtype == lucid.bfloat16
    out.float().sum().backward()
    assert all(leaf.grad.dtype == lucid.bfloat16 for leaf in leaves if leaf.grad is not None)


def test_reductions_and_softmax_accumulate_in_float32_as_torch(bf16_device):
    """bfloat16 sums, means, variances, running sums and softmaxes are computed in float32 and rounded once, as
    PyTorch's (accumulated in bfloat16 a row sum of 64 was 8 ulps off, a softmax an ulp or more). (PyTorch's
    bfloat16 log-softmax rounds steps of its own: lucid's, rounded once, is nearer to it than before, not equal.)"""
    x = np.random.default_rng(2).standard_normal((64, 64)) * 3
    lx, tx = lucid.tensor(x, device=bf16_device).bfloat16(), torch.tensor(x).bfloat16()
    for op in ("sum", "mean", "var", "cumsum", "softmax"):
        # the float32 sums' orders differ: at most a rare last-place difference after rounding to bfloat16
        _close(getattr(lx, op)(-1), getattr(tx, op)(-1), rtol=2.0**-7)


def test_linear_rounds_the_biased_product_once_as_torch(bf16_device):
    """The bfloat16 GEMM accumulates in float32 and the bias is added there, before the one rounding (PyTorch's
    addmm): PyTorch's values (rounded twice, 149 of these 512 were an ulp off)."""
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((16, 8)), rng.standard_normal((32, 8)), rng.standard_normal(32)
    got = lucid.nn.functional.linear(*(lucid.tensor(a, device=bf16_device).bfloat16() for a in (x, w, b)))
    _close(got, torch.nn.functional.linear(*(torch.tensor(a).bfloat16() for a in (x, w, b))))


_OPMATH_ACTIVATIONS = ["silu", "sigmoid", "softplus", "mish", "hardswish", "selu", "leaky_relu", "logsigmoid", "elu",
                       "softsign", "tanhshrink"]  # the last two are composites in PyTorch: rounded step by step


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_pointwise_ops_and_scalar_products_round_once_as_torch(bf16_device, dtype):
    """PyTorch computes a half-precision pointwise op in float32 and rounds once, and takes the Python float of
    ``x * s`` and ``x / s`` in float32 ("opmath"); ``s / x`` is its ``reciprocal(x) * s``: the same bits here."""
    values = np.linspace(-3, 3, 2049, dtype=np.float32)
    ours = lucid.tensor(values, device=bf16_device).to(getattr(lucid, dtype))
    theirs = torch.tensor(values).to(getattr(torch, dtype))
    for name in _OPMATH_ACTIVATIONS:  # (float16: torch's float32 exp is 1 ulp off at times, rarely showing)
        _close(getattr(lucid.nn.functional, name)(ours), getattr(torch.nn.functional, name)(theirs),
               rtol=0 if dtype == "bfloat16" else 2.0 ** -10)
    for f in (lambda m, x: x.abs().add(0.5).rsqrt(), lambda m, x: x * 1.7, lambda m, x: 1.7 * x,
              lambda m, x: x / 3.1, lambda m, x: 3.1 / (x.abs() + 1), lambda m, x: x.clone().mul_(0.3),
              lambda m, x: (x / 3.1).atanh(), lambda m, x: x.deg2rad()):
        _close(f(lucid, ours), f(torch, theirs))


def test_number_over_tensor_is_the_reciprocal_times_the_number_as_torch(device):
    """``s / x`` rounds twice in PyTorch (``reciprocal(x) * s``), in float32 and float64 alike."""
    values = np.linspace(0.1, 5, 1001)
    for dtype in ("float32", "float64"):
        got = 3.1 / lucid.tensor(values, device=device).to(getattr(lucid, dtype))
        np.testing.assert_array_equal(got.numpy(force=True), (3.1 / torch.tensor(values).to(getattr(torch, dtype)))
                                      .numpy())
