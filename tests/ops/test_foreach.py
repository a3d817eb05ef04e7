"""PyTorch's ``torch._foreach_*`` list operations (``lucid._foreach``) with PyTorch as the oracle: values of the
out-of-place forms for each way the other arguments are given (a list, one number, one tensor, per-tensor
scalars), the in-place forms updating their tensors and returning the list, gradients, and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import lucid

torch = pytest.importorskip("torch")

SHAPES = [(3,), (2, 2)]


def lists(rng, device, count=1, positive=False):
    """``count`` lists of float64 tensors of SHAPES, each as a (lucid list, torch list) pair."""
    out = []
    for _ in range(count):
        arrays = [rng.uniform(0.5, 2.0, s) if positive else rng.standard_normal(s) for s in SHAPES]
        out.append(([lucid.tensor(a, device=device) for a in arrays], [torch.tensor(a) for a in arrays]))
    return out


def same(ours, theirs):
    assert len(ours) == len(theirs)
    for a, t in zip(ours, theirs):
        assert a.shape == tuple(t.shape) and a.dtype.name == str(t.dtype).removeprefix("torch.")
        np.testing.assert_allclose(a.numpy(force=True), t.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["abs", "exp", "log", "sqrt", "rsqrt", "neg", "reciprocal", "sigmoid", "sign",
                                  "frac", "lgamma", "trunc"])
def test_unary(device, rng, name):
    [(a, ta)] = lists(rng, device, positive=True)
    out = getattr(lucid, f"_foreach_{name}")(a)
    assert isinstance(out, tuple)
    same(out, getattr(torch, f"_foreach_{name}")(ta))


@pytest.mark.parametrize("name, args, kwargs", [
    ("add", "list", {"alpha": 2}), ("add", 1.5, {}), ("add", "scalars", {}), ("add", "0d", {}),
    ("sub", "list", {"alpha": 0.5}), ("mul", "list", {}), ("mul", 3, {}), ("div", "list", {}),
    ("maximum", "list", {}), ("minimum", 1.0, {}), ("clamp_min", 1.0, {}), ("clamp_max", "scalars", {}),
    ("pow", 2, {}), ("pow", "list", {}), ("lerp", "list", {}),
])
def test_with_one_operand(device, rng, name, args, kwargs):
    """The operand as a list of tensors, one number, per-tensor numbers, or one 0-d tensor for all."""
    (a, ta), (b, tb) = lists(rng, device, 2, positive=True)
    ours, theirs = {"list": (b, tb), "scalars": ([0.5, 2.0], [0.5, 2.0]),
                    "0d": (lucid.tensor(3.0, dtype=lucid.float64, device=device), torch.tensor(3.0))}.get(args,
                                                                                                   (args, args))
    extra = (0.3,) if name == "lerp" else ()
    same(getattr(lucid, f"_foreach_{name}")(a, ours, *extra, **kwargs),
         getattr(torch, f"_foreach_{name}")(ta, theirs, *extra, **kwargs))


def test_pow_of_a_number(device, rng):
    [(a, ta)] = lists(rng, device)
    same(lucid._foreach_pow(2.0, a), torch._foreach_pow(2.0, ta))
    same(lucid._foreach_pow(2.0, exponent=a), torch._foreach_pow(2.0, exponent=ta))


@pytest.mark.parametrize("name, kwargs", [
    ("mul", {"scalar": 0.9}), ("add", {"scalars": [1.0, 2.0]}), ("sub", {"other": "b", "alpha": 2}),
    ("pow", {"exponent": 3}), ("lerp", {"tensors1": "b", "weight": 0.3}), ("lerp", {"tensors1": "b", "weights": "b"}),
    ("addcmul", {"tensor1": "b", "tensor2": "b", "value": 0.5}), ("addcdiv", {"tensor1": "b", "tensor2": "b",
                                                                             "scalars": [2.0, 3.0]}),
])
def test_operands_by_pytorch_keywords(device, rng, name, kwargs):
    """timm's ``_foreach_mul_(ema, scalar=decay)`` and the other keyword names of PyTorch's signatures."""
    (a, ta), (b, tb) = lists(rng, device, 2, positive=True)
    ours = {k: b if v == "b" else v for k, v in kwargs.items()}
    theirs = {k: tb if v == "b" else v for k, v in kwargs.items()}
    same(getattr(lucid, f"_foreach_{name}")(a, **ours), getattr(torch, f"_foreach_{name}")(ta, **theirs))
    assert getattr(lucid, f"_foreach_{name}_")(a, **ours) is a
    getattr(torch, f"_foreach_{name}_")(ta, **theirs)
    same(a, ta)


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("value", [{}, {"value": 2.0}, [0.5, 3.0], "tensor"])
def test_addcmul_addcdiv(device, rng, name, value):
    """``value`` as the keyword, or per-tensor scalars positionally (a list or a 1-D tensor)."""
    (a, ta), (b, tb), (c, tc) = lists(rng, device, 3, positive=True)
    kwargs = value if isinstance(value, dict) else {}
    ours = theirs = () if isinstance(value, dict) else (value,)
    if value == "tensor":
        ours, theirs = (lucid.tensor([0.5, 3.0], device=device),), (torch.tensor([0.5, 3.0]),)
    same(getattr(lucid, f"_foreach_{name}")(a, b, c, *ours, **kwargs),
         getattr(torch, f"_foreach_{name}")(ta, tb, tc, *theirs, **kwargs))


@pytest.mark.parametrize("ord", [2, 1, float("inf")])
def test_norm_and_max(device, rng, ord):
    [(a, ta)] = lists(rng, device)
    same(lucid._foreach_norm(a, ord), torch._foreach_norm(ta, ord))
    same(lucid._foreach_max(a), torch._foreach_max(ta))


def test_norm_dtype(device, rng):
    a = [lucid.tensor(rng.standard_normal(3), dtype=lucid.float32, device=device)]
    (out,) = lucid._foreach_norm(a, dtype=lucid.float64)
    assert out.dtype == lucid.float64


def test_in_place_forms_update_and_return_the_list(device, rng):
    """The EMA updates of timm's ModelEmaV3: ``mul_`` + ``add_(alpha=)``, ``lerp_``, then ``copy_``/``zero_``."""
    (a, ta), (b, tb) = lists(rng, device, 2)
    steps = [("mul_", (0.9,), {}), ("add_", "b", {"alpha": 0.1}), ("lerp_", "b", {"weight": 0.25}),
             ("abs_", (), {}), ("sqrt_", (), {}), ("copy_", "b", {}), ("zero_", (), {})]
    for name, args, kwargs in steps:
        ours, theirs = ((b,), (tb,)) if args == "b" else (args, args)
        assert getattr(lucid, f"_foreach_{name}")(a, *ours, **kwargs) is a
        getattr(torch, f"_foreach_{name}")(ta, *theirs, **kwargs)
        same(a, ta)


def test_out_of_place_forms_are_differentiable(device, rng):
    (a, ta), (b, tb) = lists(rng, device, 2)
    for t in a + ta:
        t.requires_grad_(True)
    outs = lucid._foreach_lerp(lucid._foreach_mul(a, b), b, 0.3)
    touts = torch._foreach_lerp(torch._foreach_mul(ta, tb), tb, 0.3)
    sum(o.sum() for o in outs).backward()
    sum(o.sum() for o in touts).backward()
    same([t.grad for t in a], [t.grad for t in ta])


def test_errors(device, rng):
    [(a, ta)] = lists(rng, device)
    with pytest.raises(RuntimeError, match="at least one tensor"):
        lucid._foreach_add([], 1)
    with pytest.raises(RuntimeError, match="same number of elements"):
        lucid._foreach_add(a, [1.0])
    with pytest.raises(TypeError, match="list of tensors"):
        lucid._foreach_add(a[0], 1.0)
    with pytest.raises(TypeError, match="in place"):  # lucid's in-place dtype error (PyTorch: a RuntimeError)
        lucid._foreach_mul_([lucid.tensor([1, 2], device=device)], 1.5)
