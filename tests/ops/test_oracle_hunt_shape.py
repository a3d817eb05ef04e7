"""Differences from PyTorch found by an oracle hunt over shape/view ops and the random API, each pinned here:
``flip`` (and ``rot90``, ``fliplr``, ``flipud``), cropping/zero ``pad`` and ``repeat``/``tile`` returned memory
shared with the input; no-op shape ops (``view``/``reshape`` to the same shape, identity ``permute``, ``squeeze``
with nothing to drop, ``expand`` to the same shape, ``T`` of a vector) returned the input itself; ``cat`` refused
PyTorch's empty 1-D placeholders; ``unfold`` of a 0-d tensor with size 0; ``clone(memory_format=
contiguous_format)``; ``storage_offset``; ``view(dtype)``'s message; ``rand(size=)``; ``randint_like(x, high=)``;
integer bounds of ``randint``/``random_``/``randperm``; ``normal``'s dtype with tensor parameters."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F
from lucid.autograd import gradcheck


def _np(t):
    return np.asarray(t.detach().cpu().numpy())


def _writes_through(out, base) -> bool:
    """Whether an in-place write into ``out`` changes ``base``."""
    before = _np(base).copy()
    with lucid.no_grad():
        out.add_(1)
    return not np.array_equal(_np(base), before)


# ---- results that must not share memory with the input ---------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda x: x.flip(0), lambda x: x.flip(0, 1), lambda x: x.flip([]), lambda x: x[0, 0].flip(0),
    lambda x: lucid.fliplr(x), lambda x: lucid.flipud(x), lambda x: lucid.rot90(x), lambda x: lucid.rot90(x, 2),
    lambda x: F.pad(x, (-1, -1)), lambda x: F.pad(x, (0, 0)), lambda x: x.repeat(1, 1), lambda x: x.tile(()),
    lambda x: x[:1, :1].repeat(1, 1), lambda x: x[0, 0].repeat(3),
], ids=["flip", "flip2", "flip-none", "flip-0d", "fliplr", "flipud", "rot90", "rot90-2", "pad-crop", "pad-zero",
        "repeat-1", "tile-empty", "repeat-1x1", "repeat-0d"])
def test_copying_ops_do_not_share_memory(device, make):
    x = lucid.tensor(np.arange(12.0).reshape(3, 4), device=device)
    out = make(x)
    assert not _writes_through(out, x)
    assert x.tolist() == np.arange(12.0).reshape(3, 4).tolist()


def test_flip_matches_torch_layout_and_gradient(device, rng):
    torch = pytest.importorskip("torch")
    a = np.arange(24.0).reshape(2, 3, 4)
    for dims in [(0,), (-1,), (0, 2)]:
        lo, to = lucid.tensor(a, device=device).flip(dims), torch.tensor(a).flip(dims)
        np.testing.assert_array_equal(_np(lo), to.numpy())
        if device.type == "cpu":
            assert lo.stride() == to.stride() and lo.is_contiguous()
    x = lucid.tensor(rng.standard_normal((3, 4)), dtype=lucid.float64, device=device, requires_grad=True)
    assert gradcheck(lambda t: t.flip(0, 1) * t, (x,))
    assert gradcheck(lambda t: F.pad(t, (-1, 0)), (x,))
    assert gradcheck(lambda t: t.repeat(1, 1) * 2, (x,))


# ---- no-op shape ops return a new view, not the input -----------------------------------------------------------
_NOOPS = {
    "view": lambda x: x.view(2, 3), "reshape": lambda x: x.reshape(-1, 3), "permute": lambda x: x.permute(0, 1),
    "squeeze": lambda x: x.squeeze(), "expand": lambda x: x.expand(2, 3), "expand_as": lambda x: x.expand_as(x),
    "transpose": lambda x: x.transpose(1, 1), "movedim": lambda x: x.movedim(0, 0), "unflatten": lambda x:
    x.unflatten(0, (2,)), "view_as": lambda x: x.view_as(x),
}


@pytest.mark.parametrize("name", list(_NOOPS))
def test_noop_shape_ops_make_a_new_view(device, name):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (lucid, torch):
        x = lib.ones(2, 3, dtype=lib.float64, requires_grad=True)
        h = _NOOPS[name](x)
        assert h is not x and not h.is_leaf
        h.retain_grad()
        ((h * 2).sum() + (x * 3).sum()).backward()
        results.append((h.grad.tolist(), x.grad.tolist()))
    assert results[0] == results[1]  # h's own gradient (2s), not x's (5s)
    x = lucid.ones(2, 3, device=device)
    h = _NOOPS[name](x)
    assert not x.requires_grad_(False).requires_grad and h.requires_grad_().requires_grad and not x.requires_grad
    assert _writes_through(h, x)  # still a view: one memory


def test_vector_T_is_a_view_and_flatten_keeps_torch_identity(device):
    v = lucid.tensor([1.0, 2.0], device=device)
    assert v.T is not v and v.T._base is v
    assert v.flatten() is v  # PyTorch returns the input itself when nothing is merged


# ---- cat with empty 1-D tensors ------------------------------------------------------------------------------------
def test_cat_skips_empty_1d_tensors_as_torch(device):
    torch = pytest.importorskip("torch")
    a = np.arange(6.0).reshape(2, 3)
    for dim, parts in [(0, ["a", "e"]), (1, ["e", "a"]), (-1, ["e", "a", "ei"]), (0, ["e", "e"])]:
        def build(lib, dev=None, parts=parts, dim=dim):
            kw = {"device": dev} if dev is not None else {}
            items = {"a": lib.tensor(a, **kw), "e": lib.tensor([], **kw),
                     "ei": lib.tensor([], dtype=lib.int64, **kw)}
            return lib.cat([items[p] for p in parts], dim) if parts != ["e", "e"] else lib.cat([items["e"]] * 2)
        lo, to = build(lucid, device), build(torch)
        assert lo.shape == tuple(to.shape) and str(lo.dtype).split(".")[-1] == str(to.dtype).split(".")[-1]
        np.testing.assert_array_equal(_np(lo), to.numpy())
    x = lucid.tensor(a, dtype=lucid.float64, device=device, requires_grad=True)
    e = lucid.zeros(0, dtype=lucid.float64, device=device, requires_grad=True)
    assert gradcheck(lambda p, q: lucid.cat([p, q, p], 1), (x, e))
    with pytest.raises(RuntimeError, match="cat"):
        lucid.cat([x, lucid.zeros(1, 2, dtype=lucid.float64, device=device)])


# ---- smaller view-op edges -------------------------------------------------------------------------------------------
def test_unfold_of_0d_with_size_0(device):
    s = lucid.tensor(3.0, device=device)
    assert s.unfold(0, 0, 1).shape == (0,) and s.unfold(0, 1, 1).tolist() == [3.0]


def test_clone_contiguous_format_and_storage_offset(device):
    torch = pytest.importorskip("torch")
    x, tx = lucid.arange(12.0, device=device).reshape(3, 4), torch.arange(12.0).reshape(3, 4)
    c = x.t().clone(memory_format=lucid.contiguous_format)
    assert c.is_contiguous() and c.tolist() == tx.t().tolist() and not _writes_through(c, x)
    assert x.clone(memory_format=lucid.contiguous_format).is_contiguous()
    if device.type == "strict":
        pytest.skip("array-api-strict hides memory addresses (no data_ptr, no storage_offset)")
    y, ty = lucid.arange(24.0, device=device).reshape(2, 3, 4), torch.arange(24.0).reshape(2, 3, 4)
    for f in [lambda t: t, lambda t: t[1], lambda t: t[:, 1, 2:], lambda t: t.narrow(2, 1, 2),
              lambda t: t.diagonal(1, 1, 2), lambda t: t.split(2, 2)[1], lambda t: t.unbind(1)[2],
              lambda t: t[:, 1:].mT, lambda t: t[1].clone(), lambda t: t.tensor_split(3, 2)[2]]:
        assert f(y).storage_offset() == f(ty).storage_offset()
    assert not x.t().clone().is_contiguous()  # preserve_format keeps the layout, as PyTorch


def test_view_dtype_says_what_to_do(device):
    with pytest.raises(TypeError, match=r"\.to\("):
        lucid.ones(2, device=device).view(lucid.int32)


# ---- random API ------------------------------------------------------------------------------------------------------
def test_rand_randn_size_keyword(device):
    assert lucid.rand(size=(2, 3), device=device).shape == (2, 3)
    assert lucid.randn(size=[4], dtype=lucid.float64, device=device).dtype is lucid.float64
    with pytest.raises(TypeError, match="both"):
        lucid.rand(2, size=(2,))


def test_randint_like_high_keyword(device):
    x = lucid.zeros(500, dtype=lucid.int32, device=device)
    lucid.manual_seed(0)
    for out in (lucid.randint_like(x, high=3), lucid.randint_like(x, 3), lucid.randint_like(x, low=1, high=3)):
        assert out.dtype is lucid.int32 and out.shape == (500,)
        assert 0 <= out.min().item() and out.max().item() == 2
    with pytest.raises(TypeError, match="high"):
        lucid.randint_like(x)


@pytest.mark.parametrize("dtype, low, high", [("uint8", 0, 300), ("uint8", -1, 5), ("int8", 0, 129),
                                              ("bool", 0, 3), ("bool", 2, 5)])
def test_integer_bounds_are_checked_as_torch(device, dtype, low, high):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.randint(low, high, (3,), dtype=getattr(torch, dtype))
    dt = getattr(lucid, dtype)
    with pytest.raises(RuntimeError, match="out of bounds"):
        lucid.randint(low, high, (3,), dtype=dt, device=device)
    t = lucid.zeros(3, dtype=dt, device=device)
    with pytest.raises(RuntimeError, match="out of bounds"):
        t.random_(low, high)
    assert not t.any().item()  # left as it was


def test_integer_bounds_allow_the_full_range(device):
    lucid.manual_seed(1)
    assert lucid.randint(0, 256, (2000,), dtype=lucid.uint8, device=device).max().item() == 255
    assert lucid.randint(-128, 128, (2000,), dtype=lucid.int8, device=device).min().item() == -128
    assert lucid.zeros(100, dtype=lucid.bool, device=device).random_().any().item()
    assert lucid.zeros(3, dtype=lucid.uint8, device=device).random_().dtype is lucid.uint8


def test_randperm_overflow(device):
    with pytest.raises(RuntimeError, match="int8"):
        lucid.randperm(300, dtype=lucid.int8, device=device)
    assert sorted(lucid.randperm(128, dtype=lucid.int8, device=device).tolist()) == list(range(128))


def test_normal_dtype_follows_mean_tensor(device):
    torch = pytest.importorskip("torch")
    for m, s in [("float32", "float64"), ("float64", "float32"), (None, "float64"), ("float64", None)]:
        def args(lib, dev=None, m=m, s=s):
            kw = {"device": dev} if dev is not None else {}
            return (lib.zeros(2, dtype=getattr(lib, m), **kw) if m else 0.0,
                    lib.ones(2, dtype=getattr(lib, s), **kw) if s else 1.0)
        assert lucid.normal(*args(lucid, device)).dtype.name == str(torch.normal(*args(torch)).dtype)[6:]
    mean = lucid.zeros(2, device=device, requires_grad=True)
    out = lucid.normal(mean, lucid.ones(2, dtype=lucid.float64, device=device))
    out.sum().backward()
    assert out.dtype is lucid.float32 and mean.grad.tolist() == [0.0, 0.0]
