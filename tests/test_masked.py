"""lucid.masked against torch.masked: masked reductions/normalizations (values, dtypes, gradients,
fully masked-out slices) and MaskedTensor (construction, elementwise ops, reductions, backward)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import lucid
from lucid import masked
from lucid.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TM = torch.masked

pytestmark = [pytest.mark.filterwarnings("ignore:The PyTorch API of MaskedTensors:UserWarning"),
              # torch's own MaskedTensor ops warn this internally when their data requires grad
              pytest.mark.filterwarnings("ignore:It is not recommended to create a MaskedTensor:UserWarning")]

SHAPE = (4, 3, 5)

# op -> call on (masked module, x, mask); written once for lucid.masked and torch.masked
OPS = {
    "sum": lambda M, x, m: M.sum(x, 1, mask=m),
    "sum_dims_keepdim": lambda M, x, m: M.sum(x, (0, 2), keepdim=True, mask=m),
    "sum_all": lambda M, x, m: M.sum(x, mask=m),
    "prod": lambda M, x, m: M.prod(x, 1, mask=m),
    "prod_dims": lambda M, x, m: M.prod(x, (0, -1), mask=m),
    "cumsum": lambda M, x, m: M.cumsum(x, 2, mask=m),
    "cumprod": lambda M, x, m: M.cumprod(x, -1, mask=m),
    "amax": lambda M, x, m: M.amax(x, 1, mask=m),
    "amin": lambda M, x, m: M.amin(x, (0, 2), keepdim=True, mask=m),
    "mean": lambda M, x, m: M.mean(x, 1, mask=m),
    "mean_all": lambda M, x, m: M.mean(x, mask=m),
    "median": lambda M, x, m: M.median(x, 1, mask=m),
    "median_default_dim": lambda M, x, m: M.median(x, mask=m, keepdim=True),
    "norm2": lambda M, x, m: M.norm(x, 2.0, 1, mask=m),
    "norm1": lambda M, x, m: M.norm(x, 1, (0, 2), mask=m),
    "norm_inf": lambda M, x, m: M.norm(x, math.inf, 2, mask=m),
    "norm_ninf": lambda M, x, m: M.norm(x, -math.inf, 1, mask=m),
    "var": lambda M, x, m: M.var(x, 1, mask=m),
    "var_biased": lambda M, x, m: M.var(x, (0, 2), unbiased=False, keepdim=True, mask=m),
    "std": lambda M, x, m: M.std(x, 2, mask=m),
    "std_correction2": lambda M, x, m: M.std(x, 1, correction=2, mask=m),
    "logsumexp": lambda M, x, m: M.logsumexp(x, 1, mask=m),
    "logaddexp": lambda M, x, m: M.logaddexp(x, x * 0.5, input_mask=m, other_mask=m[:, :1]),
    "softmax": lambda M, x, m: M.softmax(x, 1, mask=m),
    "log_softmax": lambda M, x, m: M.log_softmax(x, 2, mask=m),
    "softmin": lambda M, x, m: M.softmin(x, 0, mask=m),
    "normalize": lambda M, x, m: M.normalize(x, 2.0, 1, mask=m),
    "normalize_ord1": lambda M, x, m: M.normalize(x, 1, 2, mask=m),
    "mask_broadcast": lambda M, x, m: M.sum(x, 2, mask=m[0, 0]),
    "no_mask": lambda M, x, m: M.mean(x, 1),
}


def _mask(rng, shape=SHAPE):
    """A random mask with fully masked-out slices along every dim: mask[0] and mask[:, 0] are all False."""
    m = rng.random(shape) < 0.6
    m[0] = False
    m[:, 0] = False
    return m


def _pair(rng, device, shape=SHAPE, dtype="float64"):
    x = rng.standard_normal(shape).astype(dtype)
    m = _mask(rng, shape)
    ours = (lucid.tensor(x, device=device), lucid.tensor(m, device=device))
    theirs = (torch.tensor(x), torch.tensor(m))
    return ours, theirs


def _np(t):
    if isinstance(t, (TM.MaskedTensor, masked.MaskedTensor)):
        t = t.get_data()
    return t.detach().numpy(force=True) if isinstance(t, lucid.Tensor) else t.detach().numpy()


def _same(got, want, rtol=1e-10, atol=1e-12):
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], (got.dtype, want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(_np(got), _np(want), rtol=rtol, atol=atol, equal_nan=True)


def _finite(lib, out):
    """``out`` with non-finite elements (fully masked-out slices) replaced by 0, so gradients are compared."""
    return lib.where(lib.isfinite(out), out, lib.zeros_like(out))


@pytest.mark.parametrize("name", list(OPS))
def test_values_and_gradients_match_torch(device, rng, name):
    (x, m), (tx, tm) = _pair(rng, device)
    x.requires_grad_(True)
    tx.requires_grad_(True)
    out, want = OPS[name](masked, x, m), OPS[name](TM, tx, tm)
    _same(out, want)
    w = rng.standard_normal(tuple(want.shape))
    (_finite(lucid, out) * lucid.tensor(w, device=device)).sum().backward()
    (_finite(torch, want) * torch.tensor(w)).sum().backward()
    _same(x.grad, tx.grad)


@pytest.mark.parametrize("name", [n for n in OPS if n != "no_mask"])
def test_gradcheck(device, rng, name):
    (x, m), _ = _pair(rng, device, shape=(3, 4, 5))
    if name.startswith(("var", "std")):
        # var/std's gradient is nan (in torch too) where a slice has no more valid elements than the correction
        m = lucid.tensor(np.indices((3, 4, 5)).sum(0) % 4 != 0, device=device)
    x.requires_grad_(True)
    assert gradcheck(lambda t: _finite(lucid, OPS[name](masked, t, m)), (x,))


@pytest.mark.parametrize("name", ["sum", "prod", "mean", "logsumexp", "softmax", "norm2", "var"])
def test_gradgradcheck(device, rng, name):
    (x, _), _ = _pair(rng, device, shape=(3, 4, 5))
    m = lucid.tensor(np.indices((3, 4, 5)).sum(0) % 4 != 0, device=device)
    x.requires_grad_(True)
    assert gradgradcheck(lambda t: OPS[name](masked, t, m), (x,))


def test_masked_out_elements_get_no_gradient(device, rng):
    (x, m), _ = _pair(rng, device)
    x.requires_grad_(True)
    masked.sum(x * x, 1, mask=m).sum().backward()
    assert not _np(x.grad)[~_np(m)].any()


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("dim", [1, None])
def test_argmax_argmin_match_torch_including_float_index_dtype(device, rng, name, dim):
    (x, m), (tx, tm) = _pair(rng, device)
    _same(getattr(masked, name)(x, dim, mask=m), getattr(TM, name)(tx, dim, mask=tm))
    _same(getattr(masked, name)(x, dim, keepdim=True, dtype=lucid.int64, mask=m),
          getattr(TM, name)(tx, dim, keepdim=True, dtype=torch.int64, mask=tm))


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
@pytest.mark.parametrize("name", ["sum", "prod", "amax", "amin", "argmax", "argmin", "cumsum", "median"])
def test_integer_inputs_match_torch(device, rng, dtype, name):
    if dtype == "bool" and name == "cumsum":
        pytest.skip("torch has no bool cumsum kernel (NotImplementedError); lucid's gives a bool cumulative or")
    x = rng.integers(-3, 4, SHAPE).astype(dtype)
    m = _mask(rng)
    if name == "median":
        m[:, 0] = True  # integer median needs a valid element in every slice
        m[0] = True
    args = (0,) if name == "cumsum" else (2,)
    calls = [lambda: getattr(masked, name)(lucid.tensor(x, device=device), *args, mask=lucid.tensor(m, device=device)),
             lambda: getattr(TM, name)(torch.tensor(x), *args, mask=torch.tensor(m))]
    if dtype == "bool" and name in ("amax", "amin", "argmax", "argmin"):
        for call in calls:  # no identity for bool, as in torch
            with pytest.raises(NotImplementedError, match="identity of arg|identity of am"):
                call()
        return
    _same(calls[0](), calls[1]())


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "softmax", "var"])
def test_explicit_dtype_matches_torch(device, rng, name):
    (x, m), (tx, tm) = _pair(rng, device, dtype="float32")
    want = getattr(TM, name)(tx, 1, dtype=torch.float64, mask=tm)
    _same(getattr(masked, name)(x, 1, dtype=lucid.float64, mask=m), want, rtol=1e-6, atol=1e-6)


def test_float32_stays_float32(device, rng):
    (x, m), (tx, tm) = _pair(rng, device, dtype="float32")
    for name in ("sum", "mean", "std", "norm", "logsumexp"):
        _same(getattr(masked, name)(x, mask=m), getattr(TM, name)(tx, mask=tm), rtol=1e-5, atol=1e-6)


def test_errors_match_torch(device):
    x = lucid.ones((2, 3), dtype=lucid.int64, device=device)
    m = lucid.tensor([[True, False, True], [False, False, False]], device=device)
    with pytest.raises(ValueError, match="mean\\(\\): Could not infer output dtype"):
        masked.mean(x, 1, mask=m)
    with pytest.raises(ValueError, match="fully masked out rows"):
        masked.median(x, 1, mask=m)
    with pytest.raises(IndexError, match="more dimensions"):
        masked.sum(x, mask=m[None])
    with pytest.raises(IndexError, match="Dimension out of range"):
        masked.sum(x, 2, mask=m)
    with pytest.raises(RuntimeError, match="appears multiple times"):
        masked.sum(x, (1, -1), mask=m)
    with pytest.raises(ValueError, match="Only one of unbiased and correction"):
        masked.var(x.double(), 1, unbiased=True, correction=1, mask=m)
    for lib, t, mk in ((torch, torch.ones(2, 3, dtype=torch.int64), torch.tensor(_np(m))), (lucid, x, m)):
        with pytest.raises(ValueError):
            lib.masked.mean(t, 1, mask=mk)


def test_all_names_of_torch_masked_exist():
    assert sorted(masked.__all__) == sorted(TM.__all__)


def test_torch_compat_alias():
    from lucid.torch_compat import ALIASES

    assert ALIASES["torch.masked"] == "lucid.masked"
    assert lucid.masked is masked


# ----------------------------------------------------------------------------------------- MaskedTensor


def _mts(rng, device, requires_grad=False):
    (x, m), (tx, tm) = _pair(rng, device, shape=(3, 4))
    return (masked.masked_tensor(x, m, requires_grad=requires_grad),
            TM.masked_tensor(tx, tm, requires_grad=requires_grad))


def _same_mt(got, want, **tol):
    assert isinstance(got, masked.MaskedTensor) and isinstance(want, TM.MaskedTensor)
    _same(got.get_mask(), want.get_mask())
    valid = _np(want.get_mask())
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(_np(got.get_data())[valid], _np(want.get_data())[valid],
                               rtol=tol.get("rtol", 1e-10), atol=tol.get("atol", 1e-12))


def test_construction_warns_like_torch(device):
    data = lucid.tensor([1.0, 2.0], device=device)
    mask = lucid.tensor([True, False], device=device)
    for lib, d, mk in ((masked, data, mask), (TM, torch.tensor([1.0, 2.0]), torch.tensor([True, False]))):
        with pytest.warns(UserWarning, match="prototype stage"):
            lib.masked_tensor(d, mk)
        with pytest.warns(UserWarning, match="prototype stage"):
            lib.as_masked_tensor(d, mk)


def test_data_requiring_grad_warns_like_torch(device):
    ours = (lucid.ones(2, device=device, requires_grad=True), lucid.ones(2, dtype=lucid.bool, device=device))
    theirs = (torch.ones(2, requires_grad=True), torch.ones(2, dtype=torch.bool))
    for lib, (d, mk) in ((masked, ours), (TM, theirs)):
        with pytest.warns(UserWarning, match="not recommended to create a MaskedTensor with a tensor that requires"):
            mt = lib.masked_tensor(d, mk)
        assert not mt.requires_grad


def test_construction_errors_match_torch(device):
    d = lucid.ones((2, 3), device=device)
    m = lucid.ones((2, 3), dtype=lucid.bool, device=device)
    td, tmk = torch.ones(2, 3), torch.ones(2, 3, dtype=torch.bool)
    cases = [
        (TypeError, "data must be a Tensor", lambda M, d, m: M.masked_tensor([[1.0]], m)),
        (TypeError, "mask must have dtype bool", lambda M, d, m: M.masked_tensor(d, m.float())),
        (ValueError, "data.dim\\(\\) must equal mask.dim\\(\\)", lambda M, d, m: M.masked_tensor(d, m[0])),
        (TypeError, "uint8 is not supported in MaskedTensor", lambda M, d, m: M.masked_tensor(d.to(m.dtype).byte(), m)),
    ]
    for error, words, make in cases:
        with pytest.raises(error, match=words):
            make(TM, td, tmk)
        with pytest.raises(error, match=words):
            make(masked, d, m)


def test_accessors_and_to_tensor(device, rng):
    mt, tmt = _mts(rng, device)
    assert masked.is_masked_tensor(mt) and not masked.is_masked_tensor(mt.get_data())
    assert tuple(mt.shape) == tuple(tmt.shape) and mt.dim() == tmt.dim() and mt.dtype == lucid.float64
    _same(mt.get_data(), tmt.get_data())
    _same(mt.get_mask(), tmt.get_mask())
    _same(mt.to_tensor(-1.5), tmt.to_tensor(-1.5))


def test_repr_matches_torch(device):
    d, m = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[True, False, True], [False, False, False]]
    mt = masked.masked_tensor(lucid.tensor(d, device=device), lucid.tensor(m, device=device))
    tmt = TM.masked_tensor(torch.tensor(d), torch.tensor(m))
    assert repr(mt) == repr(tmt)
    assert repr(mt.sum(1)) == repr(tmt.sum(1))
    assert repr(mt.sum()) == repr(tmt.sum())


UNARY = ["abs", "exp", "neg", "sin", "tanh", "sigmoid", "square", "log1p", "floor", "sign", "isnan"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_ops_keep_the_mask(device, rng, name):
    mt, tmt = _mts(rng, device)
    _same_mt(getattr(mt, name)(), getattr(tmt, name)())


@pytest.mark.parametrize("name", ["clamp", "pow"])
def test_unary_ops_with_arguments(device, rng, name):
    mt, tmt = _mts(rng, device)
    args = {"clamp": ((), dict(min=-0.5, max=0.5)), "pow": ((2,), {})}[name]
    _same_mt(getattr(mt, name)(*args[0], **args[1]), getattr(tmt, name)(*args[0], **args[1]))


OPERATORS = {
    "add_mt": lambda a, b, t: a + b, "mul_mt": lambda a, b, t: a * b, "div_mt": lambda a, b, t: a / b,
    "sub_tensor": lambda a, b, t: a - t, "add_scalar": lambda a, b, t: a + 2.0, "radd": lambda a, b, t: 2.0 + a,
    "rmul": lambda a, b, t: 3.0 * a, "rdiv": lambda a, b, t: 2.0 / a, "pow": lambda a, b, t: a ** 2,
    "neg": lambda a, b, t: -a, "abs": lambda a, b, t: abs(a), "gt": lambda a, b, t: a > b,
    "eq": lambda a, b, t: a == b, "maximum": lambda a, b, t: a.maximum(b), "atan2": lambda a, b, t: a.atan2(b),
}


@pytest.mark.parametrize("name", list(OPERATORS))
def test_binary_ops_and_operators_match_torch(device, rng, name):
    mt, tmt = _mts(rng, device)
    y = rng.standard_normal((3, 4))
    other = masked.masked_tensor(lucid.tensor(y, device=device), mt.get_mask())
    tother = TM.masked_tensor(torch.tensor(y), tmt.get_mask())
    _same_mt(OPERATORS[name](mt, other, lucid.tensor(y, device=device)),
             OPERATORS[name](tmt, tother, torch.tensor(y)))


def test_binary_ops_need_equal_masks(device, rng):
    mt, tmt = _mts(rng, device)
    for a in ((mt, masked), (tmt, TM)):
        other = a[1].masked_tensor(a[0].get_data(), ~a[0].get_mask())
        with pytest.raises(ValueError, match="Input masks must match"):
            a[0] + other
    with pytest.raises(TypeError):
        1.0 - mt  # as in PyTorch: no reflected subtraction


REDUCE = ["sum", "mean", "amax", "amin", "prod", "argmax", "argmin", "norm", "var", "std"]
REDUCE_CALLS = {"all": ((), {}), "dim": ((1,), {}), "keepdim": ((0,), {"keepdim": True})}


@pytest.mark.parametrize("name", REDUCE)
@pytest.mark.parametrize("call", list(REDUCE_CALLS))
def test_reductions_match_torch(device, rng, name, call):
    """MaskedTensor reductions against torch's; torch's ``MaskedTensor.norm`` fails (it passes ``p=``), so
    lucid's is compared with torch.masked.norm of the data and mask (what torch's table means to call)."""
    mt, tmt = _mts(rng, device)
    args, kwargs = REDUCE_CALLS[call]
    got = getattr(mt, name)(*args, **kwargs)
    if name != "norm":
        _same_mt(got, getattr(tmt, name)(*args, **kwargs))
        return
    dim = args[0] if args else None
    want = TM.norm(tmt.get_data(), 2.0, dim, mask=tmt.get_mask(), **kwargs)
    _same(got.get_data(), want)
    _same(got.get_mask(), tmt.get_mask().any(dim, **kwargs) if dim is not None else tmt.get_mask().any())


@pytest.mark.parametrize("path", ["sum", "mean_dim", "square_sum", "to_tensor", "amax_dim", "exp_prod"])
def test_backward_matches_torch(device, rng, path):
    """Gradients agree at valid elements; at masked-out ones PyTorch's values are unspecified."""
    calls = {
        "sum": lambda mt: mt.sum(),
        "mean_dim": lambda mt: mt.mean(1).sum(),
        "square_sum": lambda mt: (mt * mt).sum(),
        "to_tensor": lambda mt: (mt.to_tensor(0.0) ** 2).sum(),
        "amax_dim": lambda mt: mt.amax(0).sum(),
        "exp_prod": lambda mt: mt.exp().prod(1).sum(),
    }
    mt, tmt = _mts(rng, device, requires_grad=True)
    assert mt.requires_grad and mt.grad is None
    out, want = calls[path](mt), calls[path](tmt)
    if path == "to_tensor":
        _same(out, want)
    else:
        _same_mt(out, want)
    out.backward()
    want.backward()
    _same_mt(mt.grad, tmt.grad)


def test_as_masked_tensor_keeps_the_graph(device, rng):
    (x, m), (tx, tm) = _pair(rng, device, shape=(3, 4))
    x.requires_grad_(True)
    tx.requires_grad_(True)
    masked.as_masked_tensor(x * 2.0, m).sum().backward()
    TM.as_masked_tensor(tx * 2.0, tm).sum().backward()
    valid = _np(tm)
    np.testing.assert_allclose(_np(x.grad)[valid], _np(tx.grad)[valid])


@pytest.mark.parametrize("name", ["sum", "softmax", "amax", "mean", "var"])
def test_masked_ops_accept_a_masked_tensor(device, rng, name):
    """Its own mask is used. torch's mean/var of a MaskedTensor without ``mask=`` divide by the whole slice's
    size; lucid counts the valid elements, so it is compared with torch given the mask explicitly."""
    mt, tmt = _mts(rng, device)
    _same(getattr(masked, name)(mt, 1), getattr(TM, name)(tmt.get_data(), 1, mask=tmt.get_mask()))
    if name not in ("mean", "var"):
        _same(getattr(masked, name)(mt, 1), getattr(TM, name)(tmt, 1))


def test_no_warning_for_plain_masked_ops(device, rng):
    (x, m), _ = _pair(rng, device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        masked.softmax(x, 1, mask=m)
