"""The autograd engine: accumulation, broadcasting, reuse, graph freeing, grad modes, hooks,
version counters, higher-order gradients and user-defined Functions."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import lucid
from lucid.autograd import Function, gradcheck


def _t(values, device, **kw):
    return lucid.tensor(values, device=device, **kw)


def test_tensor_used_twice_gets_both_paths(device):
    # upstream Lucid crashed or doubled h*h; d(h*h)/dh = 2h
    h = _t([1.0, -2.0, 3.0], device, requires_grad=True)
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(force=True), [2.0, -4.0, 6.0])


def test_diamond_graph_sums_paths(device):
    x = _t([2.0], device, requires_grad=True)
    a = x * 3.0
    b = x.exp()
    (a * b + a).sum().backward()  # d/dx (3x e^x + 3x) = 3e^x + 3x e^x + 3
    want = 3 * np.exp(2.0) + 3 * 2.0 * np.exp(2.0) + 3
    np.testing.assert_allclose(x.grad.numpy(force=True), [want], rtol=1e-6)


def test_broadcast_gradient_is_summed_not_reshaped(device):
    w = _t(np.ones((3, 2)), device, requires_grad=True)
    bias = _t([0.5, -0.5], device, requires_grad=True)
    x = _t(np.arange(12.0).reshape(4, 3), device)
    # a Linear layer by hand: bias broadcasts over the batch of 4
    out = (x.reshape(4, 3, 1) * w).sum(dim=1) + bias
    out.sum().backward()
    np.testing.assert_allclose(bias.grad.numpy(force=True), [4.0, 4.0])
    assert w.grad.shape == (3, 2)


def test_gradients_accumulate_across_backward_calls(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    (x * 3.0).sum().backward()
    first = x.grad
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(force=True), [6.0, 6.0])
    assert x.grad is first  # accumulated into the same grad tensor


def test_sibling_leaves_do_not_share_grad_storage(device):
    a = _t([1.0, 2.0], device, requires_grad=True)
    b = _t([3.0, 4.0], device, requires_grad=True)
    (a + b).sum().backward()
    a.grad.zero_()
    np.testing.assert_allclose(b.grad.numpy(force=True), [1.0, 1.0])


def test_backward_twice_through_freed_graph_raises(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_second_backward(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(force=True), [4.0, 8.0])


def test_non_scalar_backward_needs_gradient(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match="one-element outputs"):
        y.backward()
    assert x.grad is None
    y.backward(_t([1.0, 10.0], device))
    np.testing.assert_allclose(x.grad.numpy(force=True), [2.0, 20.0])


def test_backward_gradient_shape_and_device_are_checked(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    with pytest.raises(RuntimeError, match="shape"):
        (x * 2.0).backward(_t([1.0, 2.0, 3.0], device))


def test_backward_on_tensor_without_grad_raises(device):
    with pytest.raises(RuntimeError, match="does not require grad"):
        _t([1.0], device).sum().backward()


def test_no_grad_outputs_do_not_require_grad(device):
    x = _t([1.0], device, requires_grad=True)
    with lucid.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.grad_fn is None
    with lucid.no_grad():
        with lucid.enable_grad():
            z = x * 2.0
    assert z.requires_grad


def test_grad_modes_as_decorators_and_function(device):
    x = _t([1.0], device, requires_grad=True)

    @lucid.no_grad()
    def f(t):
        return t * 2.0

    assert not f(x).requires_grad
    assert lucid.is_grad_enabled()
    lucid.set_grad_enabled(False)
    try:
        assert not (x * 1.0).requires_grad
    finally:
        lucid.set_grad_enabled(True)
    with lucid.set_grad_enabled(False):
        assert not lucid.is_grad_enabled()
    assert lucid.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = []
    with lucid.no_grad():
        t = threading.Thread(target=lambda: seen.append(lucid.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_autograd_grad_does_not_touch_dot_grad(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    y = (x**3).sum()
    (g,) = lucid.autograd.grad(y, x)
    np.testing.assert_allclose(g.numpy(force=True), [3.0, 12.0])
    assert x.grad is None


def test_autograd_grad_unused_input(device):
    x = _t([1.0], device, requires_grad=True)
    z = _t([1.0], device, requires_grad=True)
    y = (x * 2.0).sum()
    with pytest.raises(RuntimeError, match="not used"):
        lucid.autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = lucid.autograd.grad(y, [x, z], allow_unused=True)
    assert gz is None and gx.tolist() == [2.0]


def test_autograd_grad_wrt_intermediate(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    h = x * 3.0
    y = (h * h).sum()
    (gh,) = lucid.autograd.grad(y, h)
    np.testing.assert_allclose(gh.numpy(force=True), [6.0, 12.0])


def test_higher_order_gradients(device):
    x = _t([0.5, 1.5], device, dtype=lucid.float64, requires_grad=True)
    y = (x**3).sum()
    (g,) = lucid.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    (gg,) = lucid.autograd.grad(g.sum(), x, create_graph=True)
    np.testing.assert_allclose(gg.detach().numpy(force=True), 6 * np.array([0.5, 1.5]))
    (ggg,) = lucid.autograd.grad(gg.sum(), x)
    np.testing.assert_allclose(ggg.numpy(force=True), [6.0, 6.0])


def test_backward_create_graph_then_backward_of_grad(device):
    x = _t([2.0], device, dtype=lucid.float64, requires_grad=True)
    y = x.exp() * x
    y.backward(create_graph=True)
    g = x.grad  # e^x (1 + x)
    x.grad = None
    g.backward()
    np.testing.assert_allclose(x.grad.numpy(force=True), [np.exp(2.0) * 4.0])  # e^x (2 + x)


def test_hooks_on_leaf_and_intermediate(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: g * 10.0)
    h = x * 2.0
    h.register_hook(lambda g: seen.append(g.tolist()))
    h.sum().backward()
    assert seen == [[1.0, 1.0]]
    np.testing.assert_allclose(x.grad.numpy(force=True), [20.0, 20.0])
    handle.remove()
    x.grad = None
    (x * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(force=True), [2.0, 2.0])


def test_retain_grad_on_intermediate(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    assert h.retains_grad
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(force=True), [6.0, 12.0])
    y = x * 2.0
    (y * 1.0).sum().backward()
    with pytest.warns(UserWarning, match="that is not a leaf Tensor is being accessed"):  # as PyTorch
        assert y.grad is None  # not retained
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is not None and h.grad is not None and x.detach().grad is None


def test_inplace_change_of_saved_tensor_is_detected(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    y = x.exp()  # saves its output
    z = y * 1.0
    with lucid.no_grad():
        y += 1.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        (z * y).sum().backward()


def test_inplace_on_leaf_requiring_grad_raises(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        x += 1.0
    np.testing.assert_allclose(x.detach().numpy(force=True), [1.0, 2.0])
    with lucid.no_grad():
        x += 1.0
    np.testing.assert_allclose(x.detach().numpy(force=True), [2.0, 3.0])


def test_inplace_on_intermediate_is_differentiable(device):
    x = _t([1.0, 2.0], device, requires_grad=True)
    h = x * 2.0
    h += x  # h = 3x
    h.mul_(x)  # h = 3x^2
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(force=True), [6.0, 12.0])


def test_inplace_result_dtype_must_fit(device):
    i = lucid.arange(3, device=device)
    with pytest.raises(TypeError, match="can't be stored in place"):
        i += 1.5
    assert i.tolist() == [0, 1, 2]
    i += 2
    assert i.tolist() == [2, 3, 4]


def test_deep_graph_has_no_recursion_limit(device):
    x = _t([1.0], device, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]


class Cube(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3.0 * x * x


def test_user_defined_function(device, rng):
    x = lucid.tensor(rng.standard_normal(5), dtype=lucid.float64, device=device, requires_grad=True)
    y = Cube.apply(x)
    np.testing.assert_allclose(y.detach().numpy(force=True), x.detach().numpy(force=True) ** 3)
    assert gradcheck(Cube.apply, (x,))
    assert lucid.autograd.gradgradcheck(Cube.apply, (x,))
    assert y.grad_fn.name() == "CubeBackward"


def test_mixed_devices_raise_and_change_nothing(device_pair):
    here, there = device_pair
    a = lucid.ones(2, device=here, requires_grad=True)
    b = lucid.ones(2, device=there)
    with pytest.raises(lucid.DeviceMismatchError, match=f"{here}.*{there}|{there}.*{here}"):
        a + b
    assert a.grad is None and a.device == here and b.device == there


def test_to_is_differentiable_across_devices(device_pair):
    here, there = device_pair
    a = lucid.tensor([1.0, 2.0], device=here, requires_grad=True)
    b = a.to(there)
    assert b.device == there and b.requires_grad
    (b * 2.0).sum().backward()
    assert a.grad.device == here
    np.testing.assert_allclose(a.grad.numpy(force=True), [2.0, 2.0])
