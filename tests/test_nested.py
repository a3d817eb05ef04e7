"""Nested tensors (lucid.nested, strided layout) against torch.nested: construction, padding, unbind, metadata,
the ops PyTorch's strided layout supports (values and gradients w.r.t. the components through an op chain),
the errors of the ops and sizes it refuses, and float64 gradchecks through as_nested_tensor -> ops -> padding."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F
from lucid.autograd import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional
pytestmark = pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")

SHAPES = [(2, 3), (4, 3), (1, 3)]


def host(t):
    return t.detach().numpy(force=True)


def close(a, b, tol=1e-6):
    np.testing.assert_allclose(host(a), b.detach().numpy(), rtol=tol, atol=tol)


def leaves(device, shapes=SHAPES, seed=0):
    """The same float64 leaves in lucid (on ``device``) and torch."""
    arrays = [np.random.default_rng(seed + i).standard_normal(s) for i, s in enumerate(shapes)]
    return ([lucid.tensor(a, device=device, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def same(device, like):
    """A lucid tensor on ``device`` with the values of the torch tensor ``like``."""
    return lucid.tensor(like.detach().numpy(), device=device)


def test_constructors_padding_unbind_and_metadata(device):
    ours, theirs = leaves(device)
    nt, tnt = lucid.nested.nested_tensor(ours), torch.nested.nested_tensor(theirs)
    assert nt.is_nested and not ours[0].is_nested and nt.layout is lucid.strided
    assert (nt.dim(), nt.ndim, nt.size(0), nt.size(2), nt.size(-1), nt.numel()) == \
        (tnt.dim(), tnt.ndim, tnt.size(0), tnt.size(2), tnt.size(-1), tnt.numel())
    assert nt.dtype == lucid.float64 and nt.device == device and nt.is_contiguous()
    assert not nt.requires_grad and nt.is_leaf  # nested_tensor copies into a new leaf
    close(nt.to_padded_tensor(-1.0), tnt.to_padded_tensor(-1.0))
    close(lucid.nested.to_padded_tensor(nt, 0.5, (4, 5, 4)), torch.nested.to_padded_tensor(tnt, 0.5, (4, 5, 4)))
    for ours_c, theirs_c in zip(nt.unbind(), tnt.unbind()):
        close(ours_c, theirs_c)
    close(nt[1], tnt[1])
    ours[0].data.add_(1.0)  # nested_tensor copied it
    assert not np.allclose(host(nt[0]), host(ours[0]))
    dense = lucid.tensor(np.arange(24.0).reshape(2, 3, 4), device=device)
    view = lucid.nested.as_nested_tensor(dense)  # slices of the tensor: views
    close(view.to_padded_tensor(0.0), torch.nested.as_nested_tensor(torch.arange(24.0).reshape(2, 3, 4))
          .to_padded_tensor(0.0))
    narrowed = lucid.nested.narrow(nt, 0, 1, 2)
    for ours_c, theirs_c in zip(narrowed.unbind(), torch.nested.narrow(tnt, 0, 1, 2).unbind()):
        close(ours_c, theirs_c)
    assert "nested_tensor([" in repr(nt)


@pytest.mark.parametrize("data, padding", [([[1, 2], [3]], 0.5), ([[1.0, 2.0], [3.0]], -2.0), ([], 0.0)])
def test_from_lists_dtypes_and_empty(device, data, padding):
    nt, tnt = lucid.nested.nested_tensor(data, device=device), torch.nested.nested_tensor(data)
    assert nt.dtype.name == str(tnt.dtype).removeprefix("torch.") and nt.dim() == tnt.dim()
    ours, theirs = nt.to_padded_tensor(padding), tnt.to_padded_tensor(padding)
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
    close(ours, theirs)


def test_dtype_device_requires_grad_to_and_detach(device):
    ours, _ = leaves(device)
    nt = lucid.nested.nested_tensor(ours, dtype=lucid.float32, requires_grad=True)
    assert nt.dtype == lucid.float32 and nt.requires_grad and nt.is_leaf
    cast = nt.to(lucid.float64)
    assert cast.dtype == lucid.float64 and cast.requires_grad and not cast.detach().requires_grad
    assert nt.double().dtype == lucid.float64
    nt.relu().to_padded_tensor(0.0).sum().backward()
    assert nt.grad.is_nested and [tuple(g.shape) for g in nt.grad.unbind()] == SHAPES


def test_sizes_and_refused_uses_raise_as_torch(device):
    ours, theirs = leaves(device)
    nt, tnt = lucid.nested.as_nested_tensor(ours), torch.nested.as_nested_tensor(theirs)
    for call in (lambda x: x.size(), lambda x: x.shape, lambda x: x.size(1), lambda x: len(x), lambda x: list(x)):
        with pytest.raises(RuntimeError):
            call(tnt)
        with pytest.raises(RuntimeError):
            call(nt)
    with pytest.raises(IndexError):
        tnt.size(3)
    with pytest.raises(IndexError, match="out of range"):
        nt.size(3)
    with pytest.raises(RuntimeError, match="irregular"):
        nt.size(1)
    with pytest.raises(NotImplementedError):
        tnt.exp()
    with pytest.raises(NotImplementedError, match="exp.. is not supported on nested"):
        nt.exp()
    assert not hasattr(nt, "no_such_thing")


REFUSED = {  # what torch's strided layout refuses, with the same exception type in lucid
    "dense operand": lambda lib, nt, dense: nt + dense,
    "dense left operand": lambda lib, nt, dense: dense * nt,
    "different structure": lambda lib, nt, dense: nt + lib.nested.narrow(nt, 0, 0, 1),
    "softmax over dim 0": lambda lib, nt, dense: nt.softmax(0),
    "transpose dim 0": lambda lib, nt, dense: nt.transpose(0, 1),
    "unsqueeze dim 0": lambda lib, nt, dense: nt.unsqueeze(0),
    "reshape infers components": lambda lib, nt, dense: nt.reshape(-1, -1, 3),
    "view bad size": lambda lib, nt, dense: nt.view(3, -1),
    "sum without keepdim": lambda lib, nt, dense: nt.sum(-1),
    "sum over dim 1": lambda lib, nt, dense: nt.sum(1, keepdim=True),
    "matmul with dense": lambda lib, nt, dense: nt.matmul(dense),
    "bmm of a 4-D nested": lambda lib, nt, dense: nt.unsqueeze(1).bmm(nt.unsqueeze(1)),
    "linear feature mismatch": lambda lib, nt, dense: (lib.nn.functional.linear(nt, lib.ones(5, 4, dtype=nt.dtype))),
    "layer_norm into ragged dims": lambda lib, nt, dense: lib.nn.functional.layer_norm(
        nt, (2, 3), lib.ones(2, 3, dtype=nt.dtype), lib.ones(2, 3, dtype=nt.dtype)),
    "layer_norm without weight": lambda lib, nt, dense: lib.nn.functional.layer_norm(nt, (3,)),
    "narrow dim 1": lambda lib, nt, dense: lib.nested.narrow(nt, 1, 0, 1),
    "padding truncates": lambda lib, nt, dense: lib.nested.to_padded_tensor(nt, 0.0, (3, 2, 3)),
    "padding size length": lambda lib, nt, dense: lib.nested.to_padded_tensor(nt, 0.0, (3, 4)),
    "nested in nested": lambda lib, nt, dense: lib.nested.nested_tensor([nt]),
    "mixed dims": lambda lib, nt, dense: lib.nested.nested_tensor([dense, dense[0]]),
    "as_nested_tensor of a 1-D tensor": lambda lib, nt, dense: lib.nested.as_nested_tensor(dense[0]),
    "as_nested_tensor of lists": lambda lib, nt, dense: lib.nested.as_nested_tensor([[1.0, 2.0]]),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_ops_raise_the_same_type(device, name):
    ours, theirs = leaves(device)
    nt, tnt = lucid.nested.as_nested_tensor(ours), torch.nested.as_nested_tensor(theirs)
    with pytest.raises(Exception) as expected:
        REFUSED[name](torch, tnt, torch.ones(2, 3, dtype=torch.float64))
    with pytest.raises(expected.type):
        REFUSED[name](lucid, nt, lucid.ones(2, 3, dtype=lucid.float64, device=device))


@pytest.mark.parametrize("layout", ["jagged", "sparse_coo"])
def test_jagged_and_other_layouts_are_refused(device, layout):
    assert torch.nested.nested_tensor([torch.ones(2)], layout=torch.strided).layout == torch.strided
    assert lucid.nested.nested_tensor([lucid.ones(2, device=device)], layout=lucid.strided).layout is lucid.strided
    for make in (lucid.nested.nested_tensor, lucid.nested.as_nested_tensor):
        with pytest.raises(RuntimeError, match="layout=lucid.strided only"):
            make([lucid.ones(2, device=device)], layout=getattr(lucid, layout))


UNARY = ["relu", "tanh", "abs", "neg", "sqrt", "sin", "cos"]
NO_TORCH_BACKWARD = {"tanh"}  # torch has no nested tanh_backward; lucid's gradient is in the gradcheck below
FUNCTIONAL = {"relu": lambda f, x: f.relu(x), "gelu": lambda f, x: f.gelu(x), "silu": lambda f, x: f.silu(x),
              "gelu tanh": lambda f, x: f.gelu(x, approximate="tanh"), "softmax": lambda f, x: f.softmax(x, dim=-1),
              "softmax 1": lambda f, x: f.softmax(x, 1)}


def check_chain(device, chain, shapes=SHAPES, tol=1e-10, grads=True):
    """``chain(lib, functional, nested)`` on as_nested_tensor of the same leaves in lucid and torch: the padded
    results and (with ``grads``: where torch's strided layout has the backward) the leaves' gradients agree."""
    ours, theirs = leaves(device, shapes)
    out = chain(lucid, F, lucid.nested.as_nested_tensor(ours)).to_padded_tensor(-1.0)
    expected = chain(torch, TF, torch.nested.as_nested_tensor(theirs)).to_padded_tensor(-1.0)
    close(out, expected, tol)
    if not grads:
        return
    weights = np.random.default_rng(7).standard_normal(tuple(expected.shape))
    (out * lucid.tensor(weights, device=device)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    for a, b in zip(ours, theirs):
        close(a.grad, b.grad, tol)


@pytest.mark.parametrize("name", UNARY)
def test_unary_methods(device, name):
    check_chain(device, lambda lib, f, nt: getattr((nt.abs() + 0.5) if name == "sqrt" else nt, name)(),
                grads=name not in NO_TORCH_BACKWARD)


@pytest.mark.parametrize("name", list(FUNCTIONAL))
def test_functional_ops(device, name):
    check_chain(device, lambda lib, f, nt: FUNCTIONAL[name](f, nt))


def test_binary_with_nested_scalar_and_0d(device):
    def chain(lib, f, nt):
        other = lib.nested.as_nested_tensor([c * 2 + 1 for c in nt.unbind()])
        zero_d = lib.tensor(1.5, dtype=lib.float64)
        zero_d = zero_d.to(device) if lib is lucid else zero_d
        return ((nt + other) * other - nt / 3.0 + 2.0 - (2.0 * nt) * zero_d + (-nt)) / (other * other + 1.0)

    check_chain(device, chain)


def test_model_chain_linear_layer_norm_softmax_matmul(device):
    rng = np.random.default_rng(3)
    params = [rng.standard_normal(s) for s in [(5, 3), (5,), (5,), (5,)]]

    def chain(lib, f, nt):
        w, b, g, beta = (same(device, torch.tensor(p)) if lib is lucid else torch.tensor(p) for p in params)
        h = f.layer_norm(f.silu(f.linear(nt, w, b)), (5,), g, beta)
        scores = h.matmul(h.transpose(1, 2)).softmax(-1)  # (n_i, n_i) attention-like scores
        return scores.bmm(h).sum(-1, keepdim=True)

    check_chain(device, chain)


def test_bmm_with_dense_and_reshape_view_unsqueeze(device):
    dense = np.random.default_rng(5).standard_normal((3, 3, 2))

    def chain(lib, f, nt):
        other = same(device, torch.tensor(dense)) if lib is lucid else torch.tensor(dense)
        out = nt.bmm(other).reshape(3, -1, 2, 1).view(3, -1, 1, 2).unsqueeze(1)
        return out.transpose(-1, -2).contiguous().reshape(3, 1, -1, 2, -1)

    check_chain(device, chain)


def test_nested_aware_keeps_dense_calls_and_names():
    x = lucid.tensor([[-1.0, 2.0]])
    assert F.relu.__name__ == "relu" and F.linear.__doc__ and host(F.relu(x)).tolist() == [[0.0, 2.0]]
    assert lucid.nn.Linear(2, 3)(x).shape == (1, 3)


def test_nested_backward_and_module_on_nested(device):
    ours, theirs = leaves(device)
    nt, tnt = lucid.nested.as_nested_tensor(ours), torch.nested.as_nested_tensor(theirs)
    layer = lucid.nn.Linear(3, 4, dtype=lucid.float64).to(device)
    out = layer(nt)
    assert out.is_nested and out.size(-1) == 4
    with pytest.raises(RuntimeError):
        tnt.relu().backward()
    with pytest.raises(RuntimeError, match="scalar outputs"):
        out.backward()
    out.backward(lucid.nested.nested_tensor([lucid.ones(c.shape, dtype=lucid.float64, device=device)
                                             for c in out.unbind()]))
    total = sum(host(c).sum(0) for c in ours)
    np.testing.assert_allclose(host(layer.weight.grad), np.tile(total, (4, 1)), rtol=1e-12)


def test_gradcheck_through_as_nested_tensor_ops_and_padding(device):
    rng = np.random.default_rng(11)
    comps = [lucid.tensor(rng.standard_normal(s), device=device, requires_grad=True) for s in SHAPES]
    w = lucid.tensor(rng.standard_normal((4, 3)), device=device, requires_grad=True)
    g, b = lucid.ones(4, dtype=lucid.float64, device=device), lucid.zeros(4, dtype=lucid.float64, device=device)

    def fn(*inputs):
        nt = lucid.nested.as_nested_tensor(list(inputs[:-1]))
        h = F.layer_norm(F.gelu(F.linear(nt, inputs[-1])), (4,), g, b)
        scores = h.matmul(h.transpose(1, 2)).softmax(2)
        out = scores.bmm(nt.tanh()) * 0.5 - (nt * nt + 1.0).sqrt() / nt.relu().sin().cos()
        return out.to_padded_tensor(0.25), out.sum(-1, keepdim=True).to_padded_tensor(0.0)

    assert gradcheck(fn, (*comps, w))


def test_dropout_layer_norm_module_and_torch_alias(device):
    ours, _ = leaves(device)
    nt = lucid.nested.as_nested_tensor(ours)
    for kept, c in zip(F.dropout(nt, 0.5, training=False).unbind(), ours):
        np.testing.assert_array_equal(host(kept), host(c))
    for dropped, c in zip(F.dropout(nt, 0.5).unbind(), ours):  # each element zeroed or scaled by 2
        d, x = host(dropped), host(c)
        assert np.all(np.isclose(d, 0.0) | np.isclose(d, 2 * x))
    norm = lucid.nn.LayerNorm(3, dtype=lucid.float64).to(device)
    for out, c in zip(norm(nt).unbind(), ours):
        np.testing.assert_allclose(host(out), host(norm(c)), rtol=1e-12)
    from lucid.torch_compat import ALIASES

    assert ALIASES["torch.nested"] == "lucid.nested"
