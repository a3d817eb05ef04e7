"""``ComputedFunction``: ``fast_apply`` records the node in one step from ``kept``; the node must be the one
``Function.apply``'s general recording (``forward`` + the search for the saved arrays) makes."""

import numpy as np
import pytest

import lucid
from lucid.autograd.function import ComputedFunction
from lucid.ops._fast_path import fast_apply
from lucid.ops.arithmetic import Add, Div, Mul, Pow


def _node_state(t):
    """What backward reads of ``t``'s node: its flags, edges, remembered attributes and saved entries (the
    kinds and the objects, Tensors by identity, arrays by value, version counters by identity)."""
    node = t._node
    saved = []
    for kind, obj, counter, version in node._saved or ():
        if kind == 1:
            obj = (lucid.Tensor._make(obj[0], t._device).tolist(), obj[1])
        saved.append((kind, id(obj) if kind == 0 else obj, counter is t._version if kind == 1 else id(counter),
                      version))
    extra = {k: v for k, v in vars(node).items() if k not in ("_saved", "_edges", "_to_save")}
    return type(node), node.needs_input_grad, node._edges, extra, saved, node._out_meta


def _both_ways(cls, a, b=None, params=None):
    """The output's node as ``fast_apply`` records it and as ``cls.apply`` does."""
    params = params or {}
    fast = fast_apply(cls, a, b, params) if b is not None or params else fast_apply(cls, a)
    general = cls.apply(a, **params) if b is None else cls.apply(a, b)
    return fast, general


@pytest.mark.parametrize("name", ["tanh", "exp", "log", "sigmoid", "neg", "square", "sqrt", "sin"])
def test_unary_node_matches_general_recording(name, device):
    x = lucid.tensor(np.random.default_rng(0).uniform(0.5, 2.0, 5), dtype=lucid.float64, device=device,
                     requires_grad=True)
    fast, general = _both_ways(_cls(name), x)
    state_fast, state_general = _node_state(fast), _node_state(general)
    assert state_fast[:4] == state_general[:4]
    assert [s[0] for s in state_fast[4]] == [s[0] for s in state_general[4]]  # same kinds (input / output)
    assert state_fast[5] == state_general[5]
    assert fast.tolist() == general.tolist()


def _cls(name):
    """The Pointwise class of the table op ``name`` (as recorded on an output's node)."""
    x = lucid.tensor([1.0], requires_grad=True)
    return type(getattr(lucid, name)(x)._node)


@pytest.mark.parametrize("cls", [Add, Mul, Div, Pow])
@pytest.mark.parametrize("other", ["tensor", "scalar", "constant"])
def test_binary_node_matches_general_recording(cls, other, device):
    rng = np.random.default_rng(1)
    a = lucid.tensor(rng.uniform(0.5, 2.0, (2, 3)), device=device, requires_grad=True)
    b = {"tensor": lucid.tensor(rng.uniform(0.5, 2.0, (3,)), device=device, requires_grad=True),
         "scalar": 1.5, "constant": lucid.tensor(rng.uniform(0.5, 2.0, (3,)), device=device)}[other]
    fast, general = _both_ways(cls, a, b)
    state_fast, state_general = _node_state(fast), _node_state(general)
    assert state_fast[0] is state_general[0] and state_fast[1:4] == state_general[1:4]
    assert [(s[0], s[1] if s[0] == 3 else None) for s in state_fast[4]] == \
        [(s[0], s[1] if s[0] == 3 else None) for s in state_general[4]]
    # the same operand Tensors kept, by identity
    assert [s[1] for s in state_fast[4] if s[0] == 0] == [s[1] for s in state_general[4] if s[0] == 0]
    ga, gb = (lucid.autograd.grad(y.sum(), [a] + ([b] if other == "tensor" else [])) for y in (fast, general))
    for u, v in zip(ga, gb):
        assert u.tolist() == v.tolist()


def test_kept_input_modified_in_place_is_detected(device):
    """The direct recording keeps the input's version, as the general one: an in-place write before backward
    raises."""
    x = lucid.tensor([0.5, 1.0], device=device, requires_grad=True)
    y = x * 1.0
    z = y.log()  # keeps its input y
    y.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.sum().backward()


def test_every_computed_class_saves_as_it_declares():
    """A ComputedFunction that overrides ``forward`` must say ``kept = None`` (its forward saves something
    else), or the one-step recording would keep the wrong values."""
    def subclasses(c):
        for s in c.__subclasses__():
            yield s
            yield from subclasses(s)

    classes = list(subclasses(ComputedFunction))
    assert len(classes) > 50  # the elementwise table, the activations and the binary ops
    for c in classes:
        if "forward" in vars(c) or any("forward" in vars(k) for k in c.__mro__[1:c.__mro__.index(ComputedFunction)]):
            assert c.kept is None, f"{c.__qualname__} overrides forward but records through kept={c.kept}"


_BY_NUMBER_FORMS = {  # (the op of x and the number n, the same op with n as a tensor t)
    "x * n": (lambda x, n: x * n, lambda x, t: x * t), "n * x": (lambda x, n: n * x, lambda x, t: t * x),
    "mul(x, n)": (lambda x, n: lucid.mul(x, n), lambda x, t: lucid.mul(x, t)),
    "x / n": (lambda x, n: x / n, lambda x, t: x / t), "div(x, n)": (lambda x, n: lucid.div(x, n), lambda x, t: x / t),
}


@pytest.mark.parametrize("number", [2.5, 3])
@pytest.mark.parametrize("form", list(_BY_NUMBER_FORMS))
def test_tensor_by_number_keeps_only_the_number(form, number, device):
    """``x * n``, ``n * x`` and ``x / n`` for a real Python number ``n`` record a node that keeps the number, not
    the tensor (as PyTorch's Scalar overloads): the same values and first and second derivatives as with the
    number as a tensor, the node named as the op's, and an in-place write to the input after the op does not
    stop backward. (An int takes the general path, a float the fast one: both record the same node.)"""
    torch = pytest.importorskip("torch")
    by_number, by_tensor = _BY_NUMBER_FORMS[form]
    rng = np.random.default_rng(2)
    a = rng.uniform(0.5, 2.0, (2, 3))
    x = lucid.tensor(a, device=device, requires_grad=True)
    y = by_number(x, number)
    name = "Div" if "/" in form or "div" in form else "Mul"
    assert y.grad_fn.name() == f"{name}Backward0" and y._node._saved is None and y._node.number == number
    as_tensor = by_tensor(x, lucid.tensor(float(number), dtype=lucid.float64, device=device))
    assert y.tolist() == as_tensor.tolist()
    (g,) = lucid.autograd.grad((y * y).sum(), x, create_graph=True)
    (g2,) = lucid.autograd.grad(g.sum(), x)
    (h,) = lucid.autograd.grad((as_tensor * as_tensor).sum(), x, create_graph=True)
    (h2,) = lucid.autograd.grad(h.sum(), x)
    assert g.tolist() == h.tolist() and g2.tolist() == h2.tolist()
    assert lucid.autograd.gradcheck(lambda t: by_number(t, number), (x,))
    # the input changed in place after the op: the node never read it, so backward runs, as in PyTorch
    base = lucid.tensor(a, device=device, requires_grad=True)
    tb = torch.tensor(a, requires_grad=True)
    for leaf, op in ((base, by_number), (tb, (lambda t, n: t / n) if name == "Div" else (lambda t, n: t * n))):
        mid = leaf * 1.0
        out = op(mid, number)
        mid.add_(1.0)
        out.sum().backward()
    np.testing.assert_allclose(base.grad.numpy(force=True), tb.grad.numpy(), rtol=1e-15)


def test_a_complex_number_keeps_the_general_node(device):
    """``x * 1j``: the gradient takes the number's conjugate, which the by-number node does not: the general one."""
    x = lucid.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 1j
    assert type(y._node) is Mul
    (g,) = lucid.autograd.grad((y * y.conj()).real.sum(), x)
    assert g.tolist() == [2.0, 4.0]
