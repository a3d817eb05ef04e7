"""float16 and bfloat16 through every elementwise op, reduction, activation and normalisation: the output
dtype is PyTorch's (torch is the oracle), on every backend that has the dtype, and the values agree with
PyTorch's to the dtype's precision.

A half op must not come back float32 or float64 (the backend computing in a wider type and forgetting to
cast back, as cupyx's ``erf`` does on CuPy), nor wider than PyTorch's type promotion says when a half tensor
meets a Python scalar, a 0-d tensor or a tensor of another dtype.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

HALF = ["float16", "bfloat16"]
# relative and absolute tolerance per dtype: a few units in the last place of a 10-bit (float16) or 7-bit
# (bfloat16) mantissa, since PyTorch computes in float32 and rounds once while a backend may round more often
TOL = {"float16": 1e-2, "bfloat16": 6e-2}

UNARY = ["exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "asin", "acos", "atan",
         "sinh", "cosh", "tanh", "sigmoid", "abs", "neg", "reciprocal", "square", "erf", "sign", "sgn", "floor",
         "ceil", "round", "trunc", "asinh", "acosh", "atanh", "erfc", "erfinv", "exp2", "lgamma", "digamma", "i0",
         "sinc", "logit", "frac", "deg2rad", "rad2deg", "nan_to_num", "isnan", "isinf", "isfinite", "isposinf",
         "isneginf", "signbit", "absolute", "negative", "fix", "logical_not", "arccos", "arcsin", "arctan",
         "arccosh", "arcsinh", "arctanh"]
SPECIAL = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "entr", "erf", "erfc", "erfcx", "erfinv",
           "exp2", "expit", "expm1", "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "logit",
           "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "ndtr", "ndtri",
           "psi", "digamma", "round", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "sinc",
           "spherical_bessel_j0"]
BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "remainder", "true_divide", "divide",
          "multiply", "subtract", "eq", "ne", "lt", "le", "gt", "ge", "floor_divide", "logical_and", "logical_or",
          "logical_xor", "xlogy", "hypot", "copysign", "logaddexp", "logaddexp2", "fmod", "fmax", "fmin",
          "float_power", "nextafter", "heaviside", "isclose", "rsub", "arctan2", "greater", "greater_equal", "less",
          "less_equal", "not_equal"]
# what the second operand of a binary op is: PyTorch's promotion keeps a half tensor half against Python
# numbers and 0-d tensors of the same kind, and widens it against a float32 tensor
SECOND = {
    "same": lambda lib, make: make(lib, (2, 3), 1),
    "float": lambda lib, make: 0.75,
    "int": lambda lib, make: 2,
    "0-d float32": lambda lib, make: make(lib, (), 2, "float32"),
    "float32": lambda lib, make: make(lib, (2, 3), 2, "float32"),
    "int64": lambda lib, make: make(lib, (2, 3), 3, "int64"),
}
TERNARY = {
    "lerp": lambda lib, a, b: lib.lerp(a, b, 0.3),
    "lerp(tensor weight)": lambda lib, a, b: lib.lerp(a, b, b),
    "addcmul": lambda lib, a, b: lib.addcmul(a, a, b, value=0.5),
    "addcdiv": lambda lib, a, b: lib.addcdiv(a, a, b + 2, value=0.5),
    "clamp": lambda lib, a, b: lib.clamp(a, -0.5, 0.5),
    "round(decimals)": lambda lib, a, b: lib.round(a * 10, decimals=1),  # in float32, rounded to half once
    "clamp(tensors)": lambda lib, a, b: lib.clamp(a, min=b - 1, max=b),
    "clip": lambda lib, a, b: lib.clip(a, max=0.25),
    "clamp_min": lambda lib, a, b: lib.clamp_min(a, 0.1),
    "clamp_max": lambda lib, a, b: lib.clamp_max(a, 0.1),
    "where": lambda lib, a, b: lib.where(a > 0, a, b),
    "where(scalar)": lambda lib, a, b: lib.where(a > 0, a, 0.0),
}
REDUCTIONS = {
    **{name: (lambda n: lambda lib, x: getattr(lib, n)(x))(name)
       for name in ["sum", "mean", "var", "std", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "any",
                    "all", "nansum", "nanmean", "median", "nanmedian", "count_nonzero", "norm"]},
    **{f"{name}(dim)": (lambda n: lambda lib, x: getattr(lib, n)(x, -1))(name)
       for name in ["sum", "mean", "var", "std", "prod", "max", "min", "amax", "amin", "argmax", "argmin",
                    "logsumexp", "cumsum", "cumprod", "nansum", "nanmean", "median", "nanmedian", "mode", "cummax",
                    "cummin", "logcumsumexp", "var_mean", "std_mean", "count_nonzero"]},
    "msort": lambda lib, x: lib.msort(x),
    "sum(dtype=float32)": lambda lib, x: lib.sum(x, dtype=lib.float32),
    "aminmax": lambda lib, x: lib.aminmax(x),
    "quantile": lambda lib, x: lib.quantile(x, 0.3, dim=-1),
    "kthvalue": lambda lib, x: lib.kthvalue(x, 2, -1),
    "norm(p=1, dim)": lambda lib, x: lib.norm(x, 1, -1),
    "linalg.vector_norm": lambda lib, x: lib.linalg.vector_norm(x, dim=-1),
}
ACTIVATIONS = {
    **{name: (lambda n: lambda f, x: getattr(f, n)(x))(name)
       for name in ["relu", "relu6", "elu", "selu", "celu", "gelu", "hardshrink", "hardsigmoid", "hardswish",
                    "hardtanh", "leaky_relu", "logsigmoid", "mish", "sigmoid", "silu", "softplus", "softshrink",
                    "softsign", "tanh", "tanhshrink"]},
    "gelu(tanh)": lambda f, x: f.gelu(x, approximate="tanh"),
    "glu": lambda f, x: f.glu(x, -1),
    "softmax": lambda f, x: f.softmax(x, -1),
    "log_softmax": lambda f, x: f.log_softmax(x, -1),
    "softmin": lambda f, x: f.softmin(x, -1),
    "softmax(dtype=float32)": lambda f, x: f.softmax(x, -1, dtype=x.new_zeros(()).float().dtype),
    "threshold": lambda f, x: f.threshold(x, 0.1, 20.0),
    "rrelu(eval)": lambda f, x: f.rrelu(x, training=False),
    "prelu": lambda f, x: f.prelu(x, x.new_full((1,), 0.25)),
    "elu(alpha)": lambda f, x: f.elu(x, alpha=0.5),
    "softplus(beta)": lambda f, x: f.softplus(x, beta=2.0, threshold=5.0),
}
NORMS = {
    "layer_norm": lambda f, x: f.layer_norm(x, (6,)),
    "layer_norm(affine)": lambda f, x: f.layer_norm(x, (6,), x.new_full((6,), 1.5), x.new_full((6,), 0.1)),
    "rms_norm": lambda f, x: f.rms_norm(x, (6,)),
    "rms_norm(weight)": lambda f, x: f.rms_norm(x, (6,), x.new_full((6,), 0.5)),
    "group_norm": lambda f, x: f.group_norm(x, 2),
    "group_norm(affine)": lambda f, x: f.group_norm(x, 2, x.new_full((4,), 2.0), x.new_full((4,), 0.5)),
    "instance_norm": lambda f, x: f.instance_norm(x),
    "batch_norm(train)": lambda f, x: f.batch_norm(x, None, None, training=True),
    "batch_norm(eval)": lambda f, x: f.batch_norm(x, x.new_zeros(4), x.new_ones(4), x.new_ones(4), x.new_zeros(4)),
    "local_response_norm": lambda f, x: f.local_response_norm(x, 2),
    "normalize": lambda f, x: f.normalize(x, dim=-1),
}


def _host(seed, shape, kind):
    """Values in the ops' domains, the same for lucid and torch: mostly in (-1, 1), never exactly 0."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(-0.95, 0.95, shape)
    values[np.abs(values) < 0.05] = 0.3
    return np.round(values * 3) if kind == "int64" else values


def _maker(dtype):
    """``make(lib, shape, seed, dtype=<the half dtype>)``: a tensor of ``lib`` (lucid or torch) on the test's device."""

    def make(lib, shape, seed, name=dtype, device=None):
        host = _host(seed, shape, name)
        if lib is torch:
            return torch.tensor(host, dtype=torch.float64).to(getattr(torch, name))
        return lucid.tensor(host, dtype=lucid.float64, device=device).to(getattr(lucid, name))

    return make


def _check(got, want, dtype):
    """Same structure, dtypes and (to the half dtype's precision) values."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _check(g, w, dtype)
        return
    assert got.dtype.name == str(want.dtype).removeprefix("torch."), (got.dtype, want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    a, b = got.detach().to(lucid.float64).numpy(force=True), want.detach().to(torch.float64).numpy()
    tol = TOL.get(str(want.dtype).removeprefix("torch."), 1e-2 if dtype else 0)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def _need(device, dtype):
    if not device.backend.supports(getattr(lucid, dtype)):
        pytest.skip(f"the {device.backend.name} backend has no {dtype}")


def _run(device, dtype, op_lucid, op_torch, shape=(2, 3), extra=None):
    """Both libraries on the same inputs of ``dtype``; skipped where the backend lacks the dtype, and where
    PyTorch itself refuses the op for it or for these operands (``torch.maximum(x, 0.5)``): then there is no
    dtype to compare with."""
    _need(device, dtype)
    make = _maker(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            want = op_torch(make(torch, shape, 0))
        except (RuntimeError, NotImplementedError, TypeError) as e:
            pytest.skip(f"PyTorch has no {dtype} form of this op ({str(e).splitlines()[0]})")
        got = op_lucid(make(lucid, shape, 0, device=device))
    _check(got, want, dtype)


def _lucid_fn(path):
    obj = lucid
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", UNARY)
def test_unary(device, dtype, name):
    _run(device, dtype, _lucid_fn(name), getattr(torch, name))


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", SPECIAL)
def test_special(device, dtype, name):
    _run(device, dtype, getattr(lucid.special, name), getattr(torch.special, name))


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("second", SECOND)
@pytest.mark.parametrize("name", BINARY)
def test_binary(device, dtype, second, name):
    _need(device, dtype)
    make = _maker(dtype)
    other = {lib: SECOND[second](lib, lambda lib_, shape, seed, name_=dtype: make(lib_, shape, seed, name_, device))
             for lib in (lucid, torch)}
    _run(device, dtype, lambda x: _lucid_fn(name)(x, other[lucid]), lambda x: getattr(torch, name)(x, other[torch]))


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", TERNARY)
def test_ternary(device, dtype, name):
    _need(device, dtype)
    make = _maker(dtype)
    b = {torch: make(torch, (2, 3), 1), lucid: make(lucid, (2, 3), 1, device=device)}
    _run(device, dtype, lambda x: TERNARY[name](lucid, x, b[lucid]), lambda x: TERNARY[name](torch, x, b[torch]))


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions(device, dtype, name):
    _run(device, dtype, lambda x: REDUCTIONS[name](lucid, x), lambda x: REDUCTIONS[name](torch, x), shape=(3, 5))


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations(device, dtype, name):
    _run(device, dtype, lambda x: ACTIVATIONS[name](F, x), lambda x: ACTIVATIONS[name](TF, x), shape=(2, 6))


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", NORMS)
def test_normalisations(device, dtype, name):
    _run(device, dtype, lambda x: NORMS[name](F, x), lambda x: NORMS[name](TF, x), shape=(3, 4, 6))


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_and_erf_backward_stay_half(device, dtype, approximate):
    """The exact GELU is built on erf: forward and gradient keep the half dtype (as PyTorch's)."""
    _need(device, dtype)
    make = _maker(dtype)
    x, tx = make(lucid, (2, 6), 0, device=device).requires_grad_(), make(torch, (2, 6), 0).requires_grad_()
    F.gelu(x, approximate=approximate).sum().backward()
    TF.gelu(tx, approximate=approximate).sum().backward()
    _check(x.grad, tx.grad, dtype)
    y, ty = x.detach().requires_grad_(), tx.detach().requires_grad_()
    lucid.erf(y).sum().backward()
    torch.erf(ty).sum().backward()
    _check(y.grad, ty.grad, dtype)


def test_a_native_erf_that_widens_is_cast_back(monkeypatch):
    """CuPy's ``erf`` (cupyx.scipy.special) returns float64 for float16 input; ``erf_array`` casts it back. On
    the CPU, a NumPy "native" erf that widens the same way stands in for it."""
    from lucid.ops import special

    widening = lambda x: special.erf_generic(np, x.astype(np.float64))  # noqa: E731
    monkeypatch.setitem(special._NATIVE, id(np), widening)
    assert special.erf_array(np, np.array([0.5], dtype=np.float16)).dtype == np.float16
    host = np.array([-2.0, -0.3, 0.0, 0.7, 3.0])
    x = lucid.tensor(host, dtype=lucid.float16, device="cpu").requires_grad_()
    tx = torch.tensor(host, dtype=torch.float16).requires_grad_()
    y, ty = lucid.erf(x), torch.erf(tx)
    _check(y, ty, "float16")
    y.sum().backward()
    ty.sum().backward()
    _check(x.grad, tx.grad, "float16")
