"""PyTorch-style custom Functions (``@staticmethod forward(ctx, ...)`` / ``setup_context``), checked
against torch: the same class bodies are built on both libraries and must give the same values
and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import lucid

torch = pytest.importorskip("torch")


def _classes(lib):
    """The same custom Functions, written once, on ``lib`` (torch or lucid)."""

    class ScaledExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale=1.0):
            y = x.exp() * scale
            ctx.save_for_backward(y)
            ctx.scale = scale
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y, None

    class MulAdd(lib.autograd.Function):  # setup_context style, keyword default bound into inputs
        @staticmethod
        def forward(x, y, alpha=2.0):
            return x * y + alpha * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, y, alpha = inputs
            ctx.save_for_backward(x, y)
            ctx.alpha = alpha

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * (y + ctx.alpha), g * x, None

    class SinCos(lib.autograd.Function):  # two outputs
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, gs, gc):
            (x,) = ctx.saved_tensors
            return gs * x.cos() - gc * x.sin()

    return ScaledExp, MulAdd, SinCos


def _pair(rng, device, *shape):
    a = rng.standard_normal(shape)
    return (lucid.tensor(a, dtype=lucid.float64, device=device, requires_grad=True),
            torch.tensor(a, dtype=torch.float64, requires_grad=True))


def _np(t):
    return t.detach().numpy(force=True) if isinstance(t, lucid.Tensor) else t.detach().numpy()


def _first_and_second(lib, fn, x, *args):
    """f(x), df/dx (create_graph) and d(sum df/dx)/dx."""
    out = fn(x, *args)
    out = out[0] * out[1] if isinstance(out, tuple) else out
    (g,) = lib.autograd.grad(out.sum(), x, create_graph=True)
    (gg,) = lib.autograd.grad(g.sum(), x, allow_unused=True, materialize_grads=True)
    return out, g, gg


@pytest.mark.parametrize("which,args", [(0, (3.0,)), (1, ()), (2, ())])
def test_values_and_first_and_second_derivatives_match_torch(device, rng, which, args):
    x, tx = _pair(rng, device, 3, 2)
    extra = []
    if which == 1:
        y, ty = _pair(rng, device, 3, 2)
        args, targs = (y,), (ty,)
    else:
        targs = args
    got = _first_and_second(lucid, _classes(lucid)[which].apply, x, *args, *extra)
    want = _first_and_second(torch, _classes(torch)[which].apply, tx, *targs)
    for a, b in zip(got, want):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-12)


def test_gradcheck_and_gradgradcheck_through_a_custom_function(device, rng):
    scaled_exp, mul_add, _ = _classes(lucid)
    x, _ = _pair(rng, device, 4)
    y, _ = _pair(rng, device, 4)
    assert lucid.autograd.gradcheck(lambda a: scaled_exp.apply(a, 0.5), (x,))
    assert lucid.autograd.gradgradcheck(lambda a, b: mul_add.apply(a, b, alpha=3.0), (x, y))


def test_grad_fn_name_ctx_attributes_and_needs_input_grad(device):
    seen = {}

    class Probe(lucid.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, k):
            seen["needs"] = ctx.needs_input_grad
            seen["grad_on"] = lucid.is_grad_enabled()
            ctx.k = k
            return x * y * k

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None, None

    x = lucid.ones(2, device=device, requires_grad=True)
    y = lucid.ones(2, device=device)
    out = Probe.apply(x, y, 3.0)
    assert seen == {"needs": (True, False, False), "grad_on": False}
    assert out.grad_fn.name() == "ProbeBackward" and out.requires_grad and not out.is_leaf
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(force=True), [3.0, 3.0])
    assert y.grad is None


def test_nothing_requires_grad_gives_plain_outputs(device):
    scaled_exp, _, _ = _classes(lucid)
    x = lucid.ones(2, device=device)
    assert not scaled_exp.apply(x).requires_grad
    with lucid.no_grad():
        assert not scaled_exp.apply(x.requires_grad_()).requires_grad


class _Split(lucid.autograd.Function):
    materialize = True

    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(_Split.materialize)
        return x * 2.0, x * 3.0

    @staticmethod
    def backward(ctx, ga, gb):
        _Split.received = (ga, gb)
        return (ga * 2.0 if ga is not None else 0.0) + (gb * 3.0 if gb is not None else 0.0)


@pytest.mark.parametrize("materialize", [True, False])
def test_unused_output_gets_zeros_or_none(device, materialize):
    _Split.materialize = materialize
    x = lucid.ones(2, device=device, requires_grad=True)
    a, _ = _Split.apply(x)
    a.sum().backward()
    ga, gb = _Split.received
    assert ga is not None
    if materialize:
        np.testing.assert_array_equal(gb.numpy(force=True), [0.0, 0.0])
    else:
        assert gb is None
    np.testing.assert_allclose(x.grad.numpy(force=True), [2.0, 2.0])


def test_mark_non_differentiable_output(device):
    class SortWithIndex(lucid.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            values = x * 1.0
            mask = x > 0
            ctx.mark_non_differentiable(mask)
            return values, mask, 7

        @staticmethod
        def backward(ctx, gv, gmask, g7):
            assert g7 is None  # a non-Tensor output gets no gradient
            return gv

    x = lucid.tensor([1.0, -1.0], device=device, requires_grad=True)
    values, mask, seven = SortWithIndex.apply(x)
    assert seven == 7 and not mask.requires_grad and values.requires_grad
    values.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(force=True), [1.0, 1.0])


def _mark_dirty(lib):
    class MulInPlace(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(3.0)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 3.0

    return MulInPlace


def test_mark_dirty_rebinds_the_input_history(device):
    for lib, make in ((lucid, lambda a: lucid.tensor(a, device=device, requires_grad=True)),
                      (torch, lambda a: torch.tensor(a, requires_grad=True))):
        x = make([1.0, 2.0])
        h = x * 2.0
        out = _mark_dirty(lib).apply(h)
        assert out is h and h.grad_fn.name() == "MulInPlaceBackward"
        (h * h).sum().backward()
        np.testing.assert_allclose(_np(x.grad), [72.0, 144.0])  # h = 6x, d(36x^2)/dx = 72x
        np.testing.assert_allclose(_np(h), [6.0, 12.0])


def test_mark_dirty_on_a_leaf_that_requires_grad_raises(device):
    x = lucid.ones(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        _mark_dirty(lucid).apply(x)


def test_returning_an_input_gives_a_new_tensor_with_this_history(device):
    class Identity(lucid.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5.0

    x = lucid.ones(2, device=device, requires_grad=True)
    y = Identity.apply(x)
    assert y is not x and x.is_leaf and y.grad_fn.name() == "IdentityBackward"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(force=True), [5.0, 5.0])


def test_saved_tensor_changed_in_place_raises_at_backward(device):
    _, mul_add, _ = _classes(lucid)
    x = lucid.ones(2, device=device, requires_grad=True)
    y = lucid.ones(2, device=device)
    out = mul_add.apply(x, y)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.sum().backward()


def test_second_backward_without_retain_graph_raises(device):
    scaled_exp, _, _ = _classes(lucid)
    x = lucid.ones(2, device=device, requires_grad=True)
    out = scaled_exp.apply(x).sum()
    out.backward()
    with pytest.raises(RuntimeError, match="second time"):
        out.backward()


def _returning(result):
    class Bad(lucid.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return result(g)

    return Bad


@pytest.mark.parametrize("result,match", [
    (lambda g: g, "incorrect number of gradients"),
    (lambda g: (g, g), "different than None at position 1"),
    (lambda g: (g.sum(), None), "invalid gradient at index 0"),
    (lambda g: ([1.0], None), "expected a Tensor"),
])
def test_bad_backward_results_raise(device, result, match):
    x = lucid.ones(2, 3, device=device, requires_grad=True)
    with pytest.raises((RuntimeError, TypeError), match=match):
        _returning(result).apply(x, 2.0).sum().backward()
    assert x.grad is None


def test_extra_none_and_broadcast_gradients_are_accepted(device):
    # a gradient shaped like a broadcast of the input is summed down, as torch does
    bad = _returning(lambda g: (g.unsqueeze(0).expand(4, 2, 3), None, None))
    x = lucid.ones(2, 3, device=device, requires_grad=True)
    bad.apply(x, 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(force=True), np.full((2, 3), 4.0))


def test_save_for_backward_refuses_non_tensors(device):
    class SavesNumber(lucid.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 1.0

    with pytest.raises(TypeError, match="argument 1 is of type int"):
        SavesNumber.apply(lucid.ones(2, device=device, requires_grad=True))


def _once(lib, decorator):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @decorator
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2.0 * g * x

    return Square


def test_once_differentiable_backward_works_once_and_refuses_twice(device):
    from torch.autograd.function import once_differentiable as torch_once

    from lucid.autograd.function import once_differentiable

    for lib, deco, x in ((lucid, once_differentiable, lucid.tensor([1.5, 2.0], device=device, requires_grad=True)),
                         (torch, torch_once, torch.tensor([1.5, 2.0], requires_grad=True))):
        square = _once(lib, deco)
        (g,) = lib.autograd.grad(square.apply(x).sum(), x)
        np.testing.assert_allclose(_np(g), [3.0, 4.0])
        (g,) = lib.autograd.grad((square.apply(x) ** 2).sum(), x, create_graph=True)
        assert g.requires_grad  # the incoming gradient 2*square(x) requires grad
        with pytest.raises(RuntimeError, match="once_differentiable"):
            g.sum().backward()


def test_array_level_functions_keep_their_direct_apply():
    from lucid.ops.arithmetic import Mul

    assert Mul.apply.__func__ is lucid.autograd.Function.apply.__func__
    assert _classes(lucid)[0].apply.__func__ is not lucid.autograd.Function.apply.__func__
