"""What the last oracle hunt left, pinned to PyTorch: ops that order values refuse complex tensors (and a few
refuse bool ones), ops whose PyTorch signature takes only tensors refuse Python numbers, ``isclose``/``lerp``/
``polar`` refuse mixed dtypes, ``logaddexp``/``logcumsumexp``/``cov``/``corrcoef`` compute complex tensors,
gradients under ``create_graph`` require grad exactly when PyTorch's do (convolution and norm biases, prelu),
and ``hvp(..., strict=True)`` raises where PyTorch's does. lucid's dtype refusals are TypeErrors (PyTorch's are
RuntimeError or NotImplementedError): a refusal is compared, not its class."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import lucid
import lucid.nn.functional as LF
from lucid.autograd import gradcheck

torch = pytest.importorskip("torch")

_Z = [[1 + 2j, 3 - 1j, 0.5j], [2 + 0j, -1 + 1j, 0.25 - 2j]]

_ORDERING = {
    "lt": lambda L, x: L.lt(x, x), "le": lambda L, x: x <= x, "gt": lambda L, x: L.gt(x, x),
    "ge": lambda L, x: x >= 1, "maximum": lambda L, x: L.maximum(x, x), "minimum": lambda L, x: L.minimum(x, x),
    "fmax": lambda L, x: L.fmax(x, x), "fmin": lambda L, x: L.fmin(x, x), "clamp": lambda L, x: L.clamp(x, 0, 1),
    "clamp_tensor": lambda L, x: L.clamp(x, x, x), "clip": lambda L, x: L.clip(x, min=0),
    "max": lambda L, x: L.max(x), "max_dim": lambda L, x: L.max(x, 0), "max_pair": lambda L, x: L.max(x, x),
    "min": lambda L, x: x.min(), "min_dim": lambda L, x: L.min(x, 1), "amax": lambda L, x: L.amax(x),
    "amin": lambda L, x: L.amin(x, 0), "aminmax": lambda L, x: L.aminmax(x), "sort": lambda L, x: L.sort(x),
    "argsort": lambda L, x: L.argsort(x), "msort": lambda L, x: L.msort(x), "topk": lambda L, x: L.topk(x, 2),
    "kthvalue": lambda L, x: L.kthvalue(x, 1), "median": lambda L, x: L.median(x),
    "median_dim": lambda L, x: L.median(x, 0), "nanmedian": lambda L, x: L.nanmedian(x),
    "mode": lambda L, x: L.mode(x), "argmax": lambda L, x: L.argmax(x), "argmin": lambda L, x: L.argmin(x, 1),
    "cummax": lambda L, x: L.cummax(x, 0), "cummin": lambda L, x: L.cummin(x, 1),
    "searchsorted": lambda L, x: L.searchsorted(x, x), "bucketize": lambda L, x: L.bucketize(x, x[0]),
    "heaviside": lambda L, x: L.heaviside(x, x), "isin": lambda L, x: L.isin(x, x), "unique": lambda L, x: L.unique(x),
    "unique_consecutive": lambda L, x: L.unique_consecutive(x),
}


def _refused(fn) -> bool:
    try:
        fn()
    except (TypeError, RuntimeError, NotImplementedError):
        return True
    return False


@pytest.mark.parametrize("name", sorted(_ORDERING))
def test_ops_that_order_refuse_complex_as_torch(device, name):
    fn = _ORDERING[name]
    assert _refused(lambda: fn(torch, torch.tensor(_Z)))
    with pytest.raises(TypeError, match="complex"):
        fn(lucid, lucid.tensor(_Z, device=device))


def test_ordering_refusal_names_the_op_and_dtype(device):
    with pytest.raises(TypeError, match=r"topk does not support complex input, got a complex128 tensor of shape"):
        lucid.topk(lucid.tensor(_Z, dtype=lucid.complex128, device=device), 1)
    with pytest.raises(TypeError, match="lt does not support complex"):
        _ = lucid.tensor([1.0, 2.0], device=device) < 1j  # a complex number promotes the tensor, as in PyTorch


@pytest.mark.parametrize("name", ["argmax", "argmin", "topk", "kthvalue", "median", "median_dim", "nanmedian",
                                  "sort", "max", "max_dim", "cummax", "mode", "aminmax", "msort", "amax"])
def test_bool_tensors_as_torch(device, name):
    """argmax/argmin, topk, kthvalue and (nan)median refuse bool tensors, as PyTorch; the rest take them."""
    fn = _ORDERING[name]
    mask = [[True, False, True], [False, False, True]]
    theirs = _refused(lambda: fn(torch, torch.tensor(mask)))
    if theirs:
        with pytest.raises(TypeError, match="bool"):
            fn(lucid, lucid.tensor(mask, device=device))
    else:
        ours, want = fn(lucid, lucid.tensor(mask, device=device)), fn(torch, torch.tensor(mask))
        for a, b in zip(ours if isinstance(ours, tuple) else (ours,), want if isinstance(want, tuple) else (want,)):
            np.testing.assert_array_equal(a.cpu().numpy(), b.numpy())


# ---- Python numbers where PyTorch's signature takes only a tensor ------------------------------------------------

_NUMBERS = {
    "maximum": lambda L, t, n: L.maximum(t, n), "minimum_first": lambda L, t, n: L.minimum(n, t),
    "fmax": lambda L, t, n: L.fmax(t, n), "fmin": lambda L, t, n: L.fmin(t, n),
    "logical_and": lambda L, t, n: L.logical_and(t, n), "logical_xor": lambda L, t, n: L.logical_xor(n, t),
    "atan2": lambda L, t, n: L.atan2(t, n), "hypot": lambda L, t, n: L.hypot(t, n),
    "logaddexp": lambda L, t, n: L.logaddexp(t, n), "logaddexp2": lambda L, t, n: t.logaddexp2(n),
    "isclose": lambda L, t, n: L.isclose(t, n), "heaviside": lambda L, t, n: L.heaviside(t, n),
    "igamma": lambda L, t, n: L.igamma(t, n), "dist": lambda L, t, n: L.dist(t, n),
}


@pytest.mark.parametrize("number", [2, 2.5, True])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
@pytest.mark.parametrize("name", sorted(_NUMBERS))
def test_numbers_where_torch_wants_a_tensor(device, name, dtype, number):
    """PyTorch's signatures take only tensors here (its C++ bindings); lucid takes a number, weak as everywhere,
    with the result PyTorch gives for that number as a 0-d tensor of the tensor's kind (its own weak rule), or
    refuses what PyTorch refuses for that tensor."""
    fn = _NUMBERS[name]
    t = torch.tensor([1.0, 3.0]).to(getattr(torch, dtype))
    with pytest.raises(TypeError, match="must be Tensor"):
        fn(torch, t, number)
    kind = torch.bool if isinstance(number, bool) else torch.int64 if isinstance(number, int) else torch.float32
    as_tensor = torch.tensor(number, dtype=kind if name != "heaviside" else t.dtype)
    mine = lambda: fn(lucid, lucid.tensor(t.numpy(), device=device), number)  # noqa: E731
    try:  # (isclose: PyTorch wants one dtype; lucid's number is weak, so both compare as the promoted dtype)
        want = torch.isclose(t.double(), as_tensor.double()) if name == "isclose" else fn(torch, t, as_tensor)
    except (RuntimeError, NotImplementedError):
        with pytest.raises(TypeError):
            mine()
        return
    got = mine()
    assert got.dtype.name == str(want.dtype).removeprefix("torch."), (got.dtype, want.dtype)
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-6)


# ---- mixed dtypes and integers where PyTorch refuses them ---------------------------------------------------------

def _pair(L, device, a, b, values=(1.0, 2.0)):
    make = (lambda v, d: lucid.tensor(v, device=device).to(getattr(lucid, d))) if L is lucid else \
        (lambda v, d: torch.tensor(v).to(getattr(torch, d)))
    return make(list(values), a), make(list(values), b)


_MIXED = {
    "isclose": lambda L, a, b: L.isclose(a, b), "allclose": lambda L, a, b: L.allclose(a, b),
    "lerp_end": lambda L, a, b: L.lerp(a, b, 0.5), "lerp_weight": lambda L, a, b: L.lerp(a, a, b),
    "lerp_0d_weight": lambda L, a, b: L.lerp(a, a, b[0]), "polar": lambda L, a, b: L.polar(a, b),
    "hypot": lambda L, a, b: L.hypot(a, b), "logaddexp": lambda L, a, b: L.logaddexp(a, b),
    "logaddexp2": lambda L, a, b: L.logaddexp2(a, b), "logcumsumexp": lambda L, a, b: L.logcumsumexp(b, 0),
}
_DTYPE_PAIRS = [("float32", "float64"), ("int64", "float32"), ("float32", "complex64"), ("int64", "int64"),
                ("bool", "bool"), ("float64", "float64"), ("complex64", "complex64"), ("float32", "int32")]


@pytest.mark.parametrize("a, b", _DTYPE_PAIRS)
@pytest.mark.parametrize("name", sorted(_MIXED))
def test_dtype_refusals_as_torch(device, name, a, b):
    if not all(device.backend.supports(getattr(lucid, d)) for d in (a, b)):
        pytest.skip("the backend lacks the dtype")
    fn = _MIXED[name]
    if name == "lerp_0d_weight" and a == "int64":
        pytest.skip("PyTorch lerps integers only through a 0-d float weight tensor's promotion; lucid refuses them")
    try:
        want = fn(torch, *_pair(torch, None, a, b))
    except (RuntimeError, NotImplementedError, TypeError):
        with pytest.raises(TypeError):
            fn(lucid, *_pair(lucid, device, a, b))
        return
    got = fn(lucid, *_pair(lucid, device, a, b))
    if isinstance(want, bool):
        assert got is want
        return
    assert got.dtype.name == str(want.dtype).removeprefix("torch.")
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["mean", "nanmean", "std", "var"])
def test_reductions_of_integers_raise_type_error(device, name):
    """PyTorch raises a RuntimeError; lucid's dtype refusals are TypeErrors throughout (its convention), naming
    the op and the dtype."""
    with pytest.raises(RuntimeError):
        getattr(torch, name)(torch.tensor([1, 2]))
    with pytest.raises(TypeError, match=f"{name} needs a floating tensor, got int64"):
        getattr(lucid, name)(lucid.tensor([1, 2], device=device))


# ---- complex coverage -------------------------------------------------------------------------------------------

_RNG = np.random.default_rng(0)
_C = _RNG.standard_normal((3, 5)) + 1j * _RNG.standard_normal((3, 5))
_C2 = _RNG.standard_normal((3, 5)) + 1j * _RNG.standard_normal((3, 5))

_COMPLEX = {
    "logaddexp": (lambda L, a, b: L.logaddexp(a, b), [_C, _C2]),
    "logaddexp_broadcast": (lambda L, a, b: L.logaddexp(a, b[:1] * 3), [_C, _C2]),
    "logcumsumexp_rows": (lambda L, a: L.logcumsumexp(a, 1), [_C]),
    "logcumsumexp_wide": (lambda L, a: L.logcumsumexp(a * 20, 0), [_C]),  # the imaginary part adds up, no wrap
    "cov": (lambda L, a: L.cov(a), [_C]),
    "cov_one_variable": (lambda L, a: L.cov(a[0]), [_C]),
    "cov_weights": (lambda L, a: L.cov(a, fweights=L.tensor([1, 2, 1, 3, 1], device=a.device),
                                       aweights=L.tensor([0.5, 1.0, 2.0, 1.0, 0.25], dtype=L.float64,
                                                         device=a.device)), [_C]),
    "corrcoef": (lambda L, a: L.corrcoef(a), [_C]),
}


def _values_and_grads(L, fn, arrays, device):
    xs = [lucid.tensor(a, device=device, requires_grad=True) if L is lucid else torch.tensor(a, requires_grad=True)
          for a in arrays]
    out = fn(L, *xs)
    w = _RNG.standard_normal(out.shape) + 1j * _RNG.standard_normal(out.shape)
    loss = (out * (lucid.tensor(w, device=device) if L is lucid else torch.tensor(w))).real.sum()
    grads = (lucid.autograd.grad if L is lucid else torch.autograd.grad)(loss, xs)
    return [out.detach().cpu().numpy(), *(g.resolve_conj().cpu().numpy() for g in grads)]


@pytest.mark.parametrize("name", sorted(_COMPLEX))
def test_complex_values_and_gradients_as_torch(device, name):
    if not device.backend.supports(lucid.complex128):
        pytest.skip("no complex128")
    fn, arrays = _COMPLEX[name]
    state = _RNG.bit_generator.state
    ours = _values_and_grads(lucid, fn, arrays, device)
    _RNG.bit_generator.state = state  # the same weights for both
    theirs = _values_and_grads(torch, fn, arrays, None)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["logaddexp", "logcumsumexp_rows", "cov", "corrcoef"])
def test_complex_gradcheck(device, name):
    """Through real views (gradcheck is real): each input as (real, imaginary) pairs, the output back as pairs."""
    fn, arrays = _COMPLEX[name]
    xs = [lucid.tensor(np.stack([a[:2, :4].real, a[:2, :4].imag], -1), device=device, requires_grad=True)
          for a in arrays]
    assert gradcheck(lambda *t: lucid.view_as_real(fn(lucid, *map(lucid.view_as_complex, t))), tuple(xs))


def test_complex_logaddexp_of_equal_and_infinite_operands(device):
    values = [1 + 1j, complex(np.inf, 0), complex(-np.inf, 0), 2 - 1j]
    others = [1 + 1j, complex(np.inf, 0), complex(-np.inf, 0), complex(-np.inf, 0)]
    ours = lucid.logaddexp(lucid.tensor(values, device=device), lucid.tensor(others, device=device))
    theirs = torch.logaddexp(torch.tensor(values), torch.tensor(others))
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-6)


# ---- gradients under create_graph require grad as PyTorch's -------------------------------------------------------

_R = np.random.default_rng(1)
_RUNNING = ([0.1, 0.2, 0.3], [1.0, 2.0, 3.0])

_GRAPHS = {
    "conv1d": (lambda L, F, x, w, b: F.conv1d(x, w, b), [(2, 3, 6), (4, 3, 3), (4,)]),
    "conv2d": (lambda L, F, x, w, b: F.conv2d(x, w, b, padding=1), [(2, 3, 5, 4), (4, 3, 3, 2), (4,)]),
    "conv3d": (lambda L, F, x, w, b: F.conv3d(x, w, b), [(1, 2, 4, 4, 3), (3, 2, 2, 2, 2), (3,)]),
    "conv_transpose1d": (lambda L, F, x, w, b: F.conv_transpose1d(x, w, b, stride=2), [(1, 3, 4), (3, 2, 3), (2,)]),
    "conv_transpose2d": (lambda L, F, x, w, b: F.conv_transpose2d(x, w, b), [(1, 3, 4, 4), (3, 2, 3, 3), (2,)]),
    "conv_transpose3d": (lambda L, F, x, w, b: F.conv_transpose3d(x, w, b), [(1, 3, 3, 3, 2), (3, 2, 2, 2, 2), (2,)]),
    "linear": (lambda L, F, x, w, b: F.linear(x, w, b), [(4, 3), (5, 3), (5,)]),
    "layer_norm": (lambda L, F, x, w, b: F.layer_norm(x, (3,), w, b), [(4, 3), (3,), (3,)]),
    "batch_norm": (lambda L, F, x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(4, 3), (3,), (3,)]),
    "batch_norm_eval": (lambda L, F, x, w, b: F.batch_norm(x, *(L.tensor(r, dtype=L.float64, device=x.device)
                                                                for r in _RUNNING), w, b),
                        [(4, 3), (3,), (3,)]),
    "group_norm": (lambda L, F, x, w, b: F.group_norm(x, 3, w, b), [(4, 3, 2), (3,), (3,)]),
    "instance_norm": (lambda L, F, x, w, b: F.instance_norm(x, weight=w, bias=b), [(2, 3, 4), (3,), (3,)]),
    "prelu": (lambda L, F, x, w: F.prelu(x, w), [(2, 3, 4), (3,)]),
}


def _connected(L, F, fn, arrays, wanted, device, weights):
    """Which gradients of ``sum(fn(...) * weights)`` require grad under create_graph (None: not asked), and the
    gradient of the sum of their squares (where they do), as arrays."""
    make = (lambda a, r: lucid.tensor(a, dtype=lucid.float64, device=device, requires_grad=r)) if L is lucid else \
        (lambda a, r: torch.tensor(a, dtype=torch.float64, requires_grad=r))
    xs = [make(a, r) for a, r in zip(arrays, wanted)]
    out = fn(L, F, *xs)
    w = make(weights[: out.numel()].reshape(tuple(out.shape)), False)
    leaves = [x for x in xs if x.requires_grad]
    grad = lucid.autograd.grad if L is lucid else torch.autograd.grad
    gs = grad((out * w).sum(), leaves, create_graph=True)
    live = [g for g in gs if g.requires_grad]
    second = grad(sum((g * g).sum() for g in live), leaves, allow_unused=True) if live else []
    return [g.requires_grad for g in gs], [None if s is None else s.detach().cpu().numpy() for s in second]


@pytest.mark.parametrize("name", sorted(_GRAPHS))
def test_create_graph_gradients_require_grad_as_torch(device, name):
    fn, shapes = _GRAPHS[name]
    arrays = [_R.standard_normal(s) for s in shapes]
    weights = _R.standard_normal(1000)
    for wanted in itertools.product([True, False], repeat=len(arrays)):
        if any(wanted):
            ours = _connected(lucid, LF, fn, arrays, wanted, device, weights)
            theirs = _connected(torch, torch.nn.functional, fn, arrays, wanted, None, weights)
            assert ours[0] == theirs[0], wanted
            for a, b, x in zip(ours[1], theirs[1], (x for x, r in zip(arrays, wanted) if r)):
                zeros = np.zeros_like(x)  # (an input the squares depend on only through a tie: zeros, or None)
                np.testing.assert_allclose(zeros if a is None else a, zeros if b is None else b, rtol=1e-7,
                                           atol=1e-9)


# ---- hvp / vhp strict -------------------------------------------------------------------------------------------

_FUNCTIONS = {
    "relu": lambda L, t: L.relu(t).sum(), "linear": lambda L, t: (t * 2).sum(),
    "square": lambda L, t: (t**2).sum(), "cube": lambda L, t: (t**3 * t.sum()).sum(),
}


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("fn_name", sorted(_FUNCTIONS))
@pytest.mark.parametrize("op", ["hvp", "vhp"])
def test_hvp_vhp_strict_as_torch(device, op, fn_name, create_graph):
    fn = _FUNCTIONS[fn_name]
    x, v = _R.standard_normal(3), _R.standard_normal(3)
    try:
        want = getattr(torch.autograd.functional, op)(lambda t: fn(torch, t), torch.tensor(x), torch.tensor(v),
                                                       strict=True, create_graph=create_graph)[1]
    except RuntimeError as error:
        with pytest.raises(RuntimeError, match="strict mode"):
            getattr(lucid.autograd.functional, op)(lambda t: fn(lucid, t), lucid.tensor(x, device=device),
                                                   lucid.tensor(v, device=device), strict=True,
                                                   create_graph=create_graph)
        assert "strict mode" in str(error)
        return
    got = getattr(lucid.autograd.functional, op)(lambda t: fn(lucid, t), lucid.tensor(x, device=device),
                                                 lucid.tensor(v, device=device), strict=True,
                                                 create_graph=create_graph)[1]
    np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
