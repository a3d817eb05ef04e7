"""Views share memory with their base, and in-place ops through them give PyTorch's gradients
(lucid.autograd.views: ViewFn, CopySlices, lazy refresh of stale views)."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
from lucid.autograd import gradcheck, gradgradcheck


def _t(a, device, requires_grad=False):
    return lucid.tensor(a, device=device, requires_grad=requires_grad)


def _host(t):
    return t.detach().to("cpu").numpy()


# ---- which ops give views -------------------------------------------------------------------
WRITABLE_VIEWS = {
    "basic index": lambda x: x[1:, ::2],
    "int index": lambda x: x[1],
    "view": lambda x: x.view(12),
    "view -1": lambda x: x.view(2, -1),
    "reshape": lambda x: x.reshape(4, 3),
    "T": lambda x: x.T,
    "mT": lambda x: x.mT,
    "transpose": lambda x: x.transpose(0, 1),
    "permute": lambda x: x.permute(1, 0),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "select": lambda x: x.select(1, 2),
    "unsqueeze": lambda x: x.unsqueeze(0),
    "squeeze": lambda x: x.unsqueeze(1).squeeze(1),
    "flatten": lambda x: x.flatten(),
    "movedim": lambda x: x.movedim(0, 1),
    "diagonal": lambda x: x.diagonal(),
    "diagonal offset": lambda x: x.diagonal(1),
    "diagonal negative": lambda x: x.diagonal(-1),
    "split": lambda x: x.split(2, 1)[1],
    "chunk": lambda x: x.chunk(2, 0)[0],
    "unbind": lambda x: x.unbind(1)[3],
    "view of a view": lambda x: x.T[1:][:, ::2].unsqueeze(0),
}
READ_ONLY_VIEWS = {
    "expand": lambda x: x[:1].expand(3, 4),
    "unfold": lambda x: x.unfold(1, 2, 1),
}


@pytest.mark.parametrize("grad", [False, True], ids=["no-grad", "grad"])
@pytest.mark.parametrize("name", [*WRITABLE_VIEWS, *READ_ONLY_VIEWS])
def test_view_ops_share_memory_and_version_with_the_base(name, grad, device, rng):
    a = rng.standard_normal((3, 4))
    leaf = _t(a, device, requires_grad=grad)
    x = leaf * 1.0 if grad else leaf
    fn = {**WRITABLE_VIEWS, **READ_ONLY_VIEWS}[name]
    v = fn(x)
    assert v._base is x and v._is_view() and v._version is x._version
    assert v.requires_grad == grad
    with lucid.no_grad():
        x.add_(1.0)  # the view sees writes to the base
    np.testing.assert_allclose(_host(v), _host(fn(_t(a + 1.0, device))))


@pytest.mark.parametrize("name", list(WRITABLE_VIEWS))
def test_in_place_through_a_view_changes_the_base_with_and_without_grad(name, device, rng):
    a = rng.standard_normal((3, 4))
    want = a.copy()
    region = WRITABLE_VIEWS[name](lucid.Tensor(want))  # Tensor(array) shares `want`: the reference
    with lucid.no_grad():
        region.mul_(3.0)
    for grad in (False, True) if name not in ("split", "chunk", "unbind") else (False,):  # see the multi-output test
        x = _t(a, device, requires_grad=grad) * 1.0
        WRITABLE_VIEWS[name](x).mul_(3.0)
        np.testing.assert_allclose(_host(x), want)


def test_reshape_copies_when_no_view_exists_and_view_raises(device, rng):
    x = _t(rng.standard_normal((3, 4)), device)
    flat = x.T.reshape(12)
    assert flat._base is None
    with lucid.no_grad():
        flat.zero_()
    assert np.all(_host(x) != 0)  # a copy: the base is untouched
    with pytest.raises(RuntimeError, match=r"use \.reshape"):
        x.T.view(12)


# ---- gradients of in-place ops through views, against PyTorch -----------------------------------
def _chain_transpose(L, a):
    x = a * 1
    x.T.mul_(2)
    return (x * x).sum()


def _chain_reshape(L, a):
    x = a * 1
    x.reshape(12).mul_(2)
    return (x * x).sum()


def _chain_row(L, a):
    x = a * 1
    x[0].mul_(2)
    return (x * x).sum()


def _chain_two_views(L, a):  # w is made before v is written: its history must be refreshed
    x = a * 1
    v, w = x[1:], x[:, 1]
    v.mul_(3)
    return (w * x.sum()).sum() + (v * v).sum()


def _chain_into_constant(L, a):  # a base that did not require grad gets history through its views
    b = L.zeros_like(a)
    b[1:].copy_(a[1:] * 2)
    v = b[0]
    v.add_(a[0])
    return (v * b).sum() + (b ** 2).sum()


def _chain_diagonal(L, a):
    x = a.sin()
    x.diagonal().mul_(a[0, :3])
    return (x ** 2).sum()


def _chain_narrow(L, a):
    x = a * 1
    x.narrow(1, 1, 2).sin_()
    return (x * x).sum()


def _chain_nested(L, a):
    x = a * 1
    x.unsqueeze(0)[0, 1].copy_(a[2] * a[0])
    return (x * x).sum()


def _chain_zero_then_whole(L, a):
    x = a * 1
    x.t()[1:, 0].zero_()
    x.add_(1)
    return (x * x).sum()


def _chain_setitem_view(L, a):
    x = a * 1
    x[1:][0, 2:] = a[0, :2] ** 2
    return (x.exp() * a).sum()


def _chain_augmented(L, a):
    x = a * 1
    row = x[2]
    row += a[0]
    row *= a[1]
    return (x ** 3).sum()


CHAINS = {f.__name__[7:]: f for f in (
    _chain_transpose, _chain_reshape, _chain_row, _chain_two_views, _chain_into_constant, _chain_diagonal,
    _chain_narrow, _chain_nested, _chain_zero_then_whole, _chain_setitem_view, _chain_augmented)}


@pytest.mark.parametrize("name", list(CHAINS))
def test_in_place_through_views_matches_torch(name, device, rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((3, 4))
    leaf = _t(a, device, requires_grad=True)
    CHAINS[name](lucid, leaf).backward()
    ta = torch.tensor(a, requires_grad=True)
    CHAINS[name](torch, ta).backward()
    np.testing.assert_allclose(_host(leaf.grad), ta.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(CHAINS))
def test_in_place_through_views_gradcheck(name, device, rng):
    a = _t(rng.standard_normal((3, 4)), device, requires_grad=True)
    assert gradcheck(lambda x: CHAINS[name](lucid, x), (a,))


@pytest.mark.parametrize("name", ["transpose", "two_views", "into_constant", "diagonal"])
def test_in_place_through_views_second_order(name, device, rng):
    a = _t(rng.standard_normal((3, 4)), device, requires_grad=True)
    assert gradgradcheck(lambda x: CHAINS[name](lucid, x), (a,))


def test_issue_example_transpose_mul_gives_8a(device, rng):
    a = _t(rng.standard_normal((3, 3)), device, requires_grad=True)
    x = a * 1
    x.T.mul_(2)
    (x * x).sum().backward()
    np.testing.assert_allclose(_host(a.grad), 8 * _host(a))


# ---- fill_, zero_, copy_ are recorded -------------------------------------------------------------
def test_fill_cuts_the_gradient_of_the_overwritten_value(device, rng):
    x = _t(rng.standard_normal(4), device, requires_grad=True)
    y = x * 2
    y.fill_(0)
    assert y.requires_grad and not y.is_leaf
    (y + x).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), np.ones(4))


def test_zero_cuts_the_gradient_of_a_region(device, rng):
    x = _t(rng.standard_normal((2, 3)), device, requires_grad=True)
    y = x * 2
    y[:, 1].zero_()
    y.sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [[2, 0, 2], [2, 0, 2]])


def test_copy_sends_the_gradient_to_its_source(device, rng):
    x = _t(rng.standard_normal(3), device, requires_grad=True)
    s = _t(rng.standard_normal(3), device, requires_grad=True)
    y = x * 1
    y.copy_(s * 3)
    (y * y).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), np.zeros(3))
    np.testing.assert_allclose(_host(s.grad), 18 * _host(s))


def test_copy_broadcasts_its_source_and_sums_the_gradient_back(device, rng):
    s = _t(rng.standard_normal(3), device, requires_grad=True)
    y = lucid.zeros(2, 3, dtype=lucid.float64, device=device)
    y.copy_(s)
    y.sum().backward()
    np.testing.assert_array_equal(_host(s.grad), np.full(3, 2.0))


def test_copy_of_a_leaf_into_a_tensor_without_grad_sends_the_leaf_the_gradient(device, rng):
    """``y.copy_(leaf)``, ``y`` not requiring grad: ``y`` gets a node of its own (PyTorch's CopyBackwards) that
    sends the leaf its gradient (``y`` once took the leaf's missing node and became a leaf itself)."""
    s = _t(rng.standard_normal(3), device, requires_grad=True)
    y = lucid.zeros(3, dtype=lucid.float64, device=device)
    y.copy_(s)
    assert not y.is_leaf and y.grad_fn.name() == "torch::autograd::CopyBackwards"
    (y * 2).sum().backward()
    np.testing.assert_array_equal(_host(s.grad), np.full(3, 2.0))


def test_fill_with_a_tensor_value_gets_the_summed_gradient(device, rng):
    x = _t(rng.standard_normal((2, 2)), device, requires_grad=True)
    value = _t(1.5, device, requires_grad=True)
    y = x * 1
    y[0].fill_(value)
    (y * 2).sum().backward()
    assert float(value.grad) == 4.0
    np.testing.assert_array_equal(_host(x.grad), [[0, 0], [2, 2]])


# ---- version counters --------------------------------------------------------------------------
def test_saved_tensor_changed_through_a_view_fails_at_backward_naming_the_op(device, rng):
    x = _t(rng.standard_normal((3, 3)), device, requires_grad=True)
    y = x.exp()  # exp saves its output
    z = y.sum()
    y.T[0].mul_(2)
    with pytest.raises(RuntimeError, match="Exp's backward was modified by an in-place operation"):
        z.backward()


def test_saved_view_changed_through_its_base_fails(device, rng):
    x = _t(rng.standard_normal((3, 3)), device, requires_grad=True)
    y = x * 1
    w = _t(rng.standard_normal(3), device, requires_grad=True)
    z = (y[0] * w).sum()  # Mul saves the view y[0]
    y.add_(1)
    with pytest.raises(RuntimeError, match="Mul's backward was modified"):
        z.backward()


# ---- what PyTorch refuses ------------------------------------------------------------------------
def test_in_place_on_a_view_of_a_leaf_that_requires_grad_raises(device, rng):
    a = _t(rng.standard_normal((2, 2)), device, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf tensor that requires grad"):
        a[0].mul_(2)
    with lucid.no_grad():
        a[0].mul_(2)  # allowed when not recorded (an optimizer step)


def test_in_place_on_an_expanded_view_raises_and_changes_nothing(device, rng):
    a = rng.standard_normal(3)
    x = _t(a, device)
    for write in (lambda v: v.add_(1), lambda v: v.fill_(0), lambda v: v.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError, match="single memory location"):
            write(x.expand(2, 3))
    np.testing.assert_array_equal(_host(x), a)


def test_view_made_under_no_grad_cannot_be_changed_in_place_while_recording(device, rng):
    x = _t(rng.standard_normal(3), device, requires_grad=True) * 1
    with lucid.no_grad():
        v = x[:2]
    assert not v.requires_grad
    with pytest.raises(RuntimeError, match="created in no_grad mode"):
        v.mul_(2)
    with lucid.no_grad():
        v.mul_(2)


def test_multi_output_view_cannot_be_changed_in_place_while_recording(device, rng):
    x = _t(rng.standard_normal((2, 4)), device, requires_grad=True) * 1
    _, second = x.split(2, 1)
    before = _host(x)
    with pytest.raises(RuntimeError, match="one of several views"):
        second.mul_(2)
    np.testing.assert_array_equal(_host(x), before)


def test_copy_with_a_shape_that_does_not_broadcast_raises(device, rng):
    x = _t(np.zeros((2, 3)), device)
    with pytest.raises(RuntimeError, match=r"shape \(4,\) can't be written into a tensor of shape \(2, 3\)"):
        x.copy_(_t(np.ones(4), device))
    assert np.all(_host(x) == 0)


# ---- diagonal and unfold as ops -------------------------------------------------------------------
@pytest.mark.parametrize("args", [(0, 0, 1), (1, 0, 1), (-1, 1, 2), (2, 2, 0)])
def test_diagonal_values_and_gradients(args, device, rng):
    a = rng.standard_normal((3, 4, 5))
    x = _t(a, device, requires_grad=True)
    np.testing.assert_array_equal(_host(x.diagonal(*args)), np.diagonal(a, *args))
    assert gradcheck(lambda t: t.diagonal(*args) ** 2, (x,))
    assert gradgradcheck(lambda t: t.diagonal(*args) ** 2, (x,))


@pytest.mark.parametrize("args", [(0, 2, 1), (1, 3, 2), (2, 1, 1), (1, 5, 5)])
def test_unfold_matches_torch_and_gradchecks(args, device, rng):
    a = rng.standard_normal((3, 5, 2))
    x = _t(a, device, requires_grad=True)
    assert gradcheck(lambda t: t.unfold(*args) ** 2, (x,))
    assert gradgradcheck(lambda t: t.unfold(*args) ** 2, (x,))
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(_host(x.unfold(*args)), torch.tensor(a).unfold(*args).numpy())


def test_views_made_before_their_base_got_history_take_it(device, rng):
    a = rng.standard_normal(3)
    b = _t(np.zeros(3), device)
    v = b[:2]
    assert not v.requires_grad
    w = _t(a, device, requires_grad=True)
    b.copy_(w * 2)
    assert v.requires_grad and v.grad_fn is not None
    (v.exp().sum() + (v * 3).sum() + (3 * v).sum()).backward()  # unary, binary and reflected fast paths
    np.testing.assert_allclose(_host(w.grad), np.r_[2 * np.exp(2 * a[:2]) + 12, 0])
