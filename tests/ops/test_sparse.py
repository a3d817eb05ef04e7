"""Sparse COO tensors (lucid.sparse): construction, conversions, products, sums, softmax, arithmetic and moves,
against torch.sparse as the oracle (values and gradients, duplicates and empty tensors included), float64
gradchecks, a small GCN trained as in PyTorch, and the clear errors of ops that do not take sparse tensors."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import lucid
from lucid.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks", "ignore:.*beta state")

INDICES = [[0, 1, 1, 0, 2], [1, 0, 0, 2, 2]]  # (1, 0) twice: uncoalesced
VALUES = [1.0, 2.0, 3.0, 4.0, -1.5]
SIZE = (3, 3)


def host(t):
    """A lucid tensor (dense or sparse) as a NumPy array."""
    t = t.to_dense() if t.layout is not lucid.strided else t
    return t.detach().numpy(force=True)


def theirs(t):
    return (t.to_dense() if t.layout != torch.strided else t).detach().numpy()


def close(a, b, **kw):
    np.testing.assert_allclose(host(a), theirs(b), rtol=1e-6, atol=1e-6, **kw)


def pair(device, values=VALUES, indices=INDICES, size=SIZE, dtype=lucid.float64, grad=False):
    """The same sparse tensor in lucid (on ``device``) and torch, with leaf values (``grad``) that the two
    sparse tensors are built from, so gradients reach them."""
    v = lucid.tensor(values, dtype=dtype, device=device, requires_grad=grad)
    tv = torch.tensor(values, dtype=getattr(torch, dtype.name), requires_grad=grad)
    return (lucid.sparse_coo_tensor(lucid.tensor(indices, device=device), v, size), v,
            torch.sparse_coo_tensor(torch.tensor(indices), tv, size), tv)


def dense_pair(device, array, grad=True):
    return (lucid.tensor(array, dtype=lucid.float64, device=device, requires_grad=grad),
            torch.tensor(array, dtype=torch.float64, requires_grad=grad))


# ---- the tensor itself ----------------------------------------------------------------------------------------
def test_metadata_like_torch(device):
    s, _, t, _ = pair(device)
    assert isinstance(s, lucid.Tensor) and s.is_sparse and s.layout is lucid.sparse_coo
    assert not lucid.ones(2).is_sparse and lucid.ones(2).layout is lucid.strided
    assert s.shape == t.shape and s.ndim == 2 and s.dim() == 2 and len(s) == 3 and s.numel() == 9
    assert s.dtype is lucid.float64 and s.device == device
    assert (s._nnz(), s.sparse_dim(), s.dense_dim(), s.is_coalesced()) == (5, 2, 0, False)
    assert (lucid.ones(2, 3).sparse_dim(), lucid.ones(2, 3).dense_dim()) == (0, 2)
    assert s.type() == s.to_dense().type().replace("DoubleTensor", "sparse.DoubleTensor")  # lucid.sparse.Double..
    close(s, t)


def test_repr_like_torch():
    s, _, t, _ = pair("cpu", dtype=lucid.float32)
    assert repr(s) == repr(t).replace("torch.", "lucid.")
    h = lucid.sparse_coo_tensor(INDICES, np.arange(10.0).reshape(5, 2), (3, 3, 2), requires_grad=True)
    th = torch.sparse_coo_tensor(INDICES, torch.arange(10.0, dtype=torch.float64).reshape(5, 2), (3, 3, 2),
                                 requires_grad=True)
    assert repr(h) == repr(th).replace("torch.", "lucid.")
    empty = lucid.sparse_coo_tensor(lucid.zeros((2, 0), dtype=lucid.int64), lucid.zeros(0), (2, 3))
    assert repr(empty) == repr(torch.sparse_coo_tensor(torch.zeros(2, 0, dtype=torch.long), torch.zeros(0),
                                                       (2, 3))).replace("torch.", "lucid.")


def test_construction_like_torch(device):
    s = lucid.sparse_coo_tensor(INDICES, VALUES, device=device)  # size inferred
    t = torch.sparse_coo_tensor(INDICES, VALUES)
    assert s.shape == t.shape and s.dtype is lucid.float32 and s.device == device
    close(s, t)
    ints = lucid.sparse_coo_tensor([[0, 1], [1, 0]], [1, 2])
    assert ints.dtype is lucid.int64 and ints.shape == (2, 2)
    assert lucid.sparse_coo_tensor([[0, 1], [1, 0]], [1, 2], dtype=lucid.float64).dtype is lucid.float64
    assert lucid.sparse_coo_tensor(lucid.tensor(INDICES, dtype=lucid.int32), VALUES, SIZE)._indices().dtype \
        is lucid.int64
    empty = lucid.sparse_coo_tensor(lucid.zeros((2, 0), dtype=lucid.int64), lucid.zeros(0))
    assert empty.shape == (0, 0) and empty.is_coalesced()
    assert lucid.sparse_coo_tensor([[0]], [1.0], (2,)).is_coalesced()  # one entry: coalesced, as PyTorch
    assert lucid.sparse_coo_tensor(INDICES, VALUES, SIZE, is_coalesced=True).is_coalesced()
    for kind in (lucid.sparse.FloatTensor, lucid.sparse.DoubleTensor):
        legacy = kind(lucid.tensor(INDICES), lucid.tensor(VALUES), SIZE)
        assert legacy.is_sparse and legacy.shape == SIZE
    assert lucid.sparse.FloatTensor(2, 3).shape == (2, 3)


@pytest.mark.parametrize("indices, values, size, message", [
    (INDICES, VALUES[:3], SIZE, "same nnz"),
    (INDICES, VALUES, (3, 3, 4), "len\\(size\\) == sparse_dim \\+ dense_dim"),
    (INDICES, VALUES, (2, 3), "for dim 0, size is 2 but found index 2"),
    ([[0, -1], [1, 0]], [1.0, 2.0], (2, 2), "negative index -1 for dim 0"),
    ([[0, -1], [1, 0]], [1.0, 2.0], None, "negative index -1 for dim 0"),
    ([[0, 1], [1, 0]], np.ones((2, 3)), (2, 2, 4), "values has incorrect size"),
    ([0, 1], [1.0, 2.0], (2,), "2-D"),
])
def test_construction_errors_like_torch(indices, values, size, message):
    with pytest.raises(RuntimeError, match=message):
        lucid.sparse_coo_tensor(indices, values, size)
    with pytest.raises(RuntimeError):
        torch.sparse_coo_tensor(torch.tensor(indices), torch.tensor(values), *([size] if size else []),
                                check_invariants=True)


def test_unchecked_invariants_are_callers_choice():
    s = lucid.sparse_coo_tensor(INDICES, VALUES, (2, 3), check_invariants=False)  # as PyTorch's default
    assert s.shape == (2, 3)


def test_requires_grad_and_leaves_like_torch():
    with pytest.raises(RuntimeError, match="floating point"):
        lucid.sparse_coo_tensor([[0, 1], [1, 0]], [1, 2], (2, 2), requires_grad=True)
    v = lucid.tensor(VALUES)
    s = lucid.sparse_coo_tensor(INDICES, v, SIZE, requires_grad=True)
    assert s.requires_grad and s.is_leaf and s.grad_fn is None and not v.requires_grad
    v.requires_grad_()
    s = lucid.sparse_coo_tensor(INDICES, v, SIZE)
    assert s.requires_grad and not s.is_leaf
    assert s.grad_fn.name() == "SparseCooTensorWithDimsAndTensorsBackward0"
    assert not s.detach().requires_grad and s.detach().is_sparse
    assert s.data.is_sparse and not s.data.requires_grad


# ---- conversions -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sparse_dim", [None, 1, 2, 3])
def test_to_sparse_and_back_like_torch(device, rng, sparse_dim):
    a = rng.standard_normal((3, 4, 2))
    a[0, 1] = 0
    a[2] = 0
    a[1, 2, 0] = 0
    x, tx = dense_pair(device, a)
    s, t = x.to_sparse(sparse_dim), tx.to_sparse(sparse_dim) if sparse_dim else tx.to_sparse()
    assert s.is_coalesced() and (s.sparse_dim(), s.dense_dim()) == (t.sparse_dim(), t.dense_dim())
    np.testing.assert_array_equal(host(s.indices()), t.indices().numpy())
    close(s.values(), t.values())
    close(s.to_dense(), t.to_dense())
    g = rng.standard_normal(a.shape)
    (s.to_dense() * lucid.tensor(g, device=device)).sum().backward()
    (t.to_dense() * torch.tensor(g)).sum().backward()
    close(x.grad, tx.grad)


def test_to_sparse_variants():
    x = lucid.tensor([[0.0, 1.0], [2.0, 0.0]])
    assert x.to_sparse_coo().is_sparse and x.to_sparse(layout=lucid.sparse_coo).is_sparse
    assert x.to_sparse(dense_dim=1).sparse_dim() == 1
    assert x.to_dense() is x and x.to_dense(lucid.float64).dtype is lucid.float64
    s = x.to_sparse()
    assert s.to_sparse() is s and s.to_sparse_coo() is s
    with pytest.raises(RuntimeError, match="sparse_dim"):
        s.to_sparse(1)
    scalar = lucid.tensor(3.0).to_sparse()
    assert scalar.shape == () and scalar._nnz() == 1 and host(scalar) == 3.0


def test_to_dense_gradient_reaches_values_with_duplicates(device):
    s, v, t, tv = pair(device, grad=True)
    w = np.arange(9.0).reshape(3, 3)
    (s.to_dense() * lucid.tensor(w, device=device)).sum().backward()
    (t.to_dense() * torch.tensor(w)).sum().backward()
    close(v.grad, tv.grad)


def test_coalesce_indices_values_like_torch(device):
    s, v, t, tv = pair(device, grad=True)
    with pytest.raises(RuntimeError, match="uncoalesced"):
        s.indices()
    with pytest.raises(RuntimeError, match="uncoalesced"):
        s.values()
    c, tc = s.coalesce(), t.coalesce()
    assert c.is_coalesced() and c.coalesce() is c
    np.testing.assert_array_equal(host(c.indices()), tc.indices().numpy())
    close(c.values(), tc.values())
    assert host(s._indices()).shape == (2, 5) and host(s._values()).shape == (5,)
    (c.values() * lucid.arange(4.0, dtype=lucid.float64, device=device)).sum().backward()
    (tc.values() * torch.arange(4.0, dtype=torch.float64)).sum().backward()
    close(v.grad, tv.grad)


def test_dense_tensors_refuse_sparse_only_methods_like_torch():
    x = lucid.ones(2, 2)
    for name in ("coalesce", "is_coalesced", "indices", "values", "_nnz"):
        with pytest.raises(RuntimeError, match="layout but got Strided"):
            getattr(x, name)()


def test_transpose_like_torch(device):
    s, _, t, _ = pair(device)
    for ours, ref in ((s.t(), t.t()), (s.transpose(0, 1), t.transpose(0, 1)), (s.transpose(-1, 0), t.transpose(-1, 0))):
        assert ours.shape == ref.shape and not ours.is_coalesced()
        close(ours, ref)
    assert s.transpose(1, 1) is s
    h = lucid.sparse_coo_tensor(INDICES, np.ones((5, 2)), (3, 3, 2))
    with pytest.raises(RuntimeError, match="transposed dimensions must be sparse"):
        h.transpose(0, 2)


def test_to_moves_indices_and_values(device_pair):
    here, there = device_pair
    s, _, t, _ = pair(here, grad=True)
    moved = s.to(there)
    assert moved.device == there and moved._indices().device == there and moved._values().device == there
    assert moved.requires_grad and moved.is_sparse
    close(moved, t)
    assert s.to(here) is s and s.to(dtype=lucid.float64) is s
    back = moved.to(here, lucid.float32)
    assert back.device == here and back.dtype is lucid.float32
    x = lucid.ones(3, 2, dtype=lucid.float64, device=there)
    assert host(moved @ x).shape == (3, 2)
    with pytest.raises(lucid.DeviceMismatchError):
        s @ x


def test_casts_clone_copy_pickle(device):
    s, _, t, _ = pair(device, grad=True)
    for ours, ref in ((s.float(), t.float()), (s.double(), t.double()), (s.long(), t.long())):
        assert ours.dtype.name == str(ref.dtype).removeprefix("torch.") and ours.is_sparse
        close(ours, ref)
    assert s.cpu().device.type == "cpu" and s.cpu().is_sparse
    c = s.clone()
    assert c.is_sparse and c.requires_grad and not c.is_leaf
    close(c, t)
    leaf = lucid.sparse_coo_tensor(INDICES, VALUES, SIZE, device=device, requires_grad=True)
    for other in (copy.deepcopy(leaf), pickle.loads(pickle.dumps(leaf))):
        assert other.is_sparse and other.requires_grad and other.is_leaf and other.device == device
        close(other, t)


# ---- products ----------------------------------------------------------------------------------------------------
PRODUCTS = {
    "sparse.mm": (lambda s, x: lucid.sparse.mm(s, x), lambda t, x: torch.sparse.mm(t, x)),
    "spmm": (lambda s, x: lucid.spmm(s, x), lambda t, x: torch.spmm(t, x)),
    "mm": (lambda s, x: lucid.mm(s, x), lambda t, x: torch.mm(t, x)),
    "method mm": (lambda s, x: s.mm(x), lambda t, x: t.mm(x)),
    "matmul": (lambda s, x: lucid.matmul(s, x), lambda t, x: torch.matmul(t, x)),
    "@": (lambda s, x: s @ x, lambda t, x: t @ x),
    "addmm": (lambda s, x: lucid.addmm(lucid.ones(1, 2, dtype=x.dtype, device=x.device), s, x, beta=0.5, alpha=2),
              lambda t, x: torch.addmm(torch.ones(1, 2, dtype=x.dtype), t, x, beta=0.5, alpha=2)),
    "sparse.addmm": (lambda s, x: lucid.sparse.addmm(lucid.ones(3, 2, dtype=x.dtype, device=x.device), s, x),
                     lambda t, x: torch.sparse.addmm(torch.ones(3, 2, dtype=x.dtype), t, x)),
    "dense @ sparse": (lambda s, x: x.t() @ s.t(), lambda t, x: x.t() @ t.t()),
}


@pytest.mark.parametrize("name", PRODUCTS)
def test_products_values_and_gradients_like_torch(device, rng, name):
    ours, ref = PRODUCTS[name]
    s, v, t, tv = pair(device, grad=True)
    x, tx = dense_pair(device, rng.standard_normal((3, 2)))
    y, ty = ours(s, x), ref(t, tx)
    assert not y.is_sparse
    close(y, ty)
    g = rng.standard_normal(tuple(ty.shape))
    (y * lucid.tensor(g, device=device)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    close(x.grad, tx.grad)
    close(v.grad, tv.grad)


def test_matrix_vector_products_like_torch(device, rng):
    s, _, t, _ = pair(device)
    a = rng.standard_normal(3)
    x, tx = dense_pair(device, a, grad=False)
    close(lucid.matmul(s, x), torch.matmul(t, tx))
    close(x @ s, tx @ t)


def test_leaf_sparse_grad_like_torch(device, rng):
    """A leaf sparse tensor's .grad: sparse on the coalesced pattern, as PyTorch's (duplicates not counted twice)."""
    s = lucid.sparse_coo_tensor(INDICES, VALUES, SIZE, dtype=lucid.float64, device=device, requires_grad=True)
    t = torch.sparse_coo_tensor(INDICES, VALUES, SIZE, dtype=torch.float64, requires_grad=True)
    a = rng.standard_normal((3, 2))
    lucid.sparse.mm(s, lucid.tensor(a, device=device)).sum().backward()
    torch.sparse.mm(t, torch.tensor(a)).sum().backward()
    assert s.grad.is_sparse and s.grad.is_coalesced()
    np.testing.assert_array_equal(host(s.grad.indices()), t.grad.coalesce().indices().numpy())
    close(s.grad, t.grad)
    coalesced = lucid.sparse_coo_tensor(INDICES, VALUES, SIZE, device=device).coalesce().requires_grad_()
    reference = torch.sparse_coo_tensor(INDICES, VALUES, SIZE).coalesce().requires_grad_()
    (coalesced * 2).to_dense().sum().backward()
    (reference * 2).to_dense().sum().backward()
    close(coalesced.grad, reference.grad)
    s.grad = None
    assert s.grad is None


def test_empty_sparse_products(device):
    e = lucid.sparse_coo_tensor(lucid.zeros((2, 0), dtype=lucid.int64, device=device),
                                lucid.zeros(0, dtype=lucid.float64, device=device), (2, 3), requires_grad=True)
    x = lucid.ones(3, 4, dtype=lucid.float64, device=device, requires_grad=True)
    y = lucid.sparse.mm(e, x)
    np.testing.assert_array_equal(host(y), np.zeros((2, 4)))
    y.sum().backward()
    np.testing.assert_array_equal(host(x.grad), np.zeros((3, 4)))
    assert host(e.to_dense()).shape == (2, 3) and e.coalesce()._nnz() == 0


def _mm_of(indices, size):
    return lambda v, x: lucid.sparse.mm(lucid.sparse_coo_tensor(indices, v, size), x)


def test_gradcheck_products(device, rng):
    idx = lucid.tensor(INDICES, device=device)
    v = lucid.tensor(rng.standard_normal(5), device=device, requires_grad=True)
    x = lucid.tensor(rng.standard_normal((3, 2)), device=device, requires_grad=True)
    assert gradcheck(_mm_of(idx, SIZE), (v, x))
    assert gradgradcheck(_mm_of(idx, SIZE), (v, x))
    assert gradcheck(lambda v, x: x.t() @ lucid.sparse_coo_tensor(idx, v, SIZE), (v, x))


def test_gradcheck_conversions_and_reductions(device, rng):
    idx = lucid.tensor(INDICES, device=device)
    v = lucid.tensor(rng.standard_normal(5), device=device, requires_grad=True)
    h = lucid.tensor(rng.standard_normal((5, 2)), device=device, requires_grad=True)
    d = lucid.tensor(rng.standard_normal(SIZE), device=device, requires_grad=True)

    def build(values, size=SIZE):
        return lucid.sparse_coo_tensor(idx, values, size)

    assert gradcheck(lambda v: build(v).to_dense(), (v,))
    assert gradcheck(lambda v: build(v).coalesce().values(), (v,))
    assert gradcheck(lambda h: build(h, (3, 3, 2)).to_dense(), (h,))
    assert gradcheck(lambda v, d: (build(v) * d).to_dense(), (v, d))
    assert gradcheck(lambda v: lucid.sparse.sum(build(v), 1).to_dense(), (v,))
    assert gradcheck(lambda d: d.to_sparse().values(), (d,))
    for fn in (lucid.sparse.softmax, lucid.sparse.log_softmax):
        assert gradcheck(lambda v, fn=fn: fn(build(v), 1).to_dense(), (v,))
        assert gradgradcheck(lambda v, fn=fn: fn(build(v), 0).values(), (v,))


# ---- sums, softmax, arithmetic ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 1), 2, (1, 2), ()])
def test_sum_like_torch(device, dim):
    values = np.arange(10.0).reshape(5, 2)
    s, v, t, tv = pair(device, values=values, size=(3, 3, 2), grad=True)
    ours = lucid.sparse.sum(s) if dim is None else lucid.sparse.sum(s, dim)
    ref = torch.sparse.sum(t) if dim is None else torch.sparse.sum(t, dim)
    assert ours.is_sparse == ref.is_sparse and ours.shape == ref.shape
    close(ours, ref)
    (ours.to_dense() if ours.is_sparse else ours).sum().backward()
    (ref.to_dense() if ref.is_sparse else ref).sum().backward()
    close(v.grad, tv.grad)
    assert s.sum().shape == () and lucid.sparse.sum(s, dtype=lucid.float32).dtype is lucid.float32
    with pytest.raises(RuntimeError, match="multiple times"):
        lucid.sparse.sum(s, (0, 0))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim, hybrid", [(0, False), (1, False), (-1, False), (0, True), (1, True), (2, True)])
def test_softmax_like_torch(device, rng, fn, dim, hybrid):
    values = rng.standard_normal((5, 2) if hybrid else 5) * 3
    s, v, t, tv = pair(device, values=values, size=(3, 3, 2) if hybrid else SIZE, grad=True)
    # torch's backward takes dim=-1 unwrapped (its gradient then does not sum to 0 over a slice): ask for dim >= 0
    ours, ref = getattr(lucid.sparse, fn)(s, dim), getattr(torch.sparse, fn)(t, dim % t.ndim)
    assert ours.is_sparse and ours.is_coalesced()
    np.testing.assert_array_equal(host(ours.indices()), ref.indices().numpy())
    close(ours.values(), ref.values())
    g = rng.standard_normal(tuple(ref.values().shape))
    (ours.values() * lucid.tensor(g, device=device)).sum().backward()
    (ref.values() * torch.tensor(g)).sum().backward()
    close(v.grad, tv.grad)


def test_softmax_stays_finite_for_large_values_and_takes_dtype():
    s = lucid.sparse_coo_tensor([[0, 0, 1], [0, 1, 1]], [1000.0, 999.0, -1000.0], (2, 2))
    np.testing.assert_allclose(host(lucid.sparse.softmax(s, 1).values()), [0.7310586, 0.2689414, 1.0], rtol=1e-6)
    assert lucid.sparse.softmax(s, 1, dtype=lucid.float64).dtype is lucid.float64


def test_arithmetic_like_torch(device, rng):
    s, v, t, tv = pair(device, grad=True)
    s2, _, t2, _ = pair(device, values=[10.0, 20.0], indices=[[1, 0], [2, 2]])
    a = rng.standard_normal(SIZE)
    d, td = dense_pair(device, a)
    row, trow = dense_pair(device, a[:1], grad=False)
    cases = [
        (s * 2, t * 2), (2 * s, 2 * t), (s / 2, t / 2), (-s, -t), (s * d, t * td), (d * s, td * t),
        (s * row, t * trow), (s + s2, t + t2), (s - s2, t - t2), (s.add(s2, alpha=2), t.add(t2, alpha=2)),
        (d + s, td + t), (d - s, td - t),
        (s.coalesce() + s2.coalesce(), t.coalesce() + t2.coalesce()),
    ]
    for ours, ref in cases:
        assert ours.is_sparse == ref.is_sparse and ours.dtype.name == str(ref.dtype).removeprefix("torch.")
        close(ours, ref)
        if ours.is_sparse:
            assert ours.is_coalesced() == ref.is_coalesced()
    total = sum(((o.to_dense() if o.is_sparse else o) * (k + 1)).sum() for k, (o, _) in enumerate(cases))
    ref_total = sum(((r.to_dense() if r.is_sparse else r) * (k + 1)).sum() for k, (_, r) in enumerate(cases))
    total.backward()
    ref_total.backward()
    close(v.grad, tv.grad)
    close(d.grad, td.grad)
    assert (s.int() * 2.5).dtype is lucid.float32


@pytest.mark.parametrize("op, error", [
    (lambda s: s + lucid.ones(3, 3, dtype=lucid.float64), "add\\(sparse, dense\\) is not supported"),
    (lambda s: s + 1, "add\\(sparse, dense\\) is not supported"),
    (lambda s: s + lucid.sparse_coo_tensor([[0], [0]], [1.0], (4, 4)), "sizes of 'self' and 'other' to match"),
    (lambda s: s / lucid.ones(3), "scalar or zero-dim dense tensor divisor"),
    (lambda s: lucid.sparse.mm(s, lucid.ones(4, 2, dtype=lucid.float64)), "cannot be multiplied"),
    (lambda s: lucid.sparse.mm(s, lucid.ones(3, 2)), "same dtype"),
    (lambda s: lucid.sparse.mm(lucid.sparse_coo_tensor(INDICES, np.ones((5, 2)), (3, 3, 2)), lucid.ones(3, 2)),
     "2-D"),
    (lambda s: s.t().t().transpose(0, 2), "out of range"),
    (lambda s: lucid.sparse.softmax(s, 2), "out of range"),
    (lambda s: s.sum(1, keepdim=True), "keepdim"),
])
def test_errors_like_torch(op, error):
    s = pair("cpu")[0]
    with pytest.raises((RuntimeError, IndexError), match=error):
        op(s)


@pytest.mark.parametrize("op, name", [
    (lambda s: s.exp(), "exp()"), (lambda s: lucid.relu(s), "relu()"), (lambda s: s.reshape(9), "reshape()"),
    (lambda s: s.view(9), "view()"), (lambda s: s.mean(), "mean()"), (lambda s: s.numpy(), "numpy()"),
    (lambda s: lucid.cat([s, s]), "cat()"), (lambda s: s.add_(1), "add_()"), (lambda s: s[0], "getitem()"),
    (lambda s: lucid.nn.Linear(3, 2).double()(s), "Linear.forward()"),
    (lambda s: s @ s, "sparse @ sparse"),
    (lambda s: s.backward(), "backward()"),
    (lambda s: s.register_hook(print), "register_hook()"),
])
def test_unsupported_ops_raise_clearly(op, name):
    s = pair("cpu")[0]
    with pytest.raises(NotImplementedError, match="sparse") as info:
        op(s)
    assert name in str(info.value)


def test_layout_errors():
    x = lucid.ones(2, 2)
    with pytest.raises(NotImplementedError, match="sparse_coo, sparse_csr and sparse_csc layouts, not lucid.strided"):
        x.to_sparse(layout=lucid.strided)
    with pytest.raises(RuntimeError, match="sparse_dim must be between"):
        x.to_sparse(3)


# ---- a model: a 2-layer GCN on a random graph, as in PyTorch --------------------------------------------------------
def _graph(rng, n=12, edges=30):
    src, dst = rng.integers(0, n, edges), rng.integers(0, n, edges)
    idx = np.concatenate([np.stack([src, dst]), np.stack([dst, src]), np.stack([np.arange(n)] * 2)], 1)
    degree = np.bincount(idx[0], minlength=n).astype(np.float64)
    weights = 1 / np.sqrt(degree[idx[0]] * degree[idx[1]])  # duplicates kept: the tensor is uncoalesced
    return idx, weights


@pytest.mark.parametrize("values_learned", [False, True])
def test_gcn_trains_like_torch(device, rng, values_learned):
    n, features, hidden, classes = 12, 5, 8, 3
    idx, weights = _graph(rng, n)
    feats, labels = rng.standard_normal((n, features)), rng.integers(0, classes, n)
    w1, w2 = rng.standard_normal((features, hidden)) * 0.3, rng.standard_normal((hidden, classes)) * 0.3

    def run(lib, dev):
        kw = {"device": dev} if lib is lucid else {}
        edge = lib.tensor(weights, dtype=lib.float64, requires_grad=values_learned, **kw)
        params = [lib.tensor(w, dtype=lib.float64, requires_grad=True, **kw) for w in (w1, w2)]
        x, y = lib.tensor(feats, dtype=lib.float64, **kw), lib.tensor(labels, **kw)
        opt = lib.optim.SGD(params + ([edge] if values_learned else []), lr=0.5)
        for _ in range(5):
            opt.zero_grad()
            adj = lib.sparse_coo_tensor(lib.tensor(idx), edge.cpu(), (n, n)).to(dev)  # built anew: edge is learned
            h = lib.relu(lib.sparse.mm(adj, x @ params[0]))
            loss = lib.nn.functional.cross_entropy(adj @ (h @ params[1]), y)
            loss.backward()
            opt.step()
        return [p.detach() for p in params + [edge]], loss.detach()

    ours, ours_loss = run(lucid, device)
    ref, ref_loss = run(torch, "cpu")
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(host(a), b.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(host(ours_loss), ref_loss.numpy(), rtol=1e-10)


def test_torch_compat_maps_torch_sparse():
    from lucid.torch_compat import ALIASES

    assert ALIASES["torch.sparse"] == "lucid.sparse"


# ---- sparse * sparse, Parameters, Buffers, save/load, autograd.grad ------------------------------------------------
@pytest.mark.parametrize("coalesced", [False, True])
def test_sparse_times_sparse_like_torch(device, coalesced):
    """The product on the intersection of the patterns (coalesced; PyTorch keeps one operand's pattern for
    uncoalesced ones: the same dense tensor)."""
    a, av, ta, tav = pair(device, values=[1.0, 2.0, 3.0, 4.0], indices=[[0, 1, 1, 2], [1, 0, 0, 2]], grad=True)
    b, bv, tb, tbv = pair(device, values=[10.0, 20.0, 30.0, 40.0], indices=[[1, 0, 2, 2], [0, 0, 2, 2]], grad=True)
    if coalesced:
        a, b, ta, tb = a.coalesce(), b.coalesce(), ta.coalesce(), tb.coalesce()
    y, ty = a * b, ta * tb
    assert y.is_sparse and y.is_coalesced()
    close(y, ty)
    if coalesced:
        np.testing.assert_array_equal(host(y.indices()), ty.indices().numpy())
    w = np.arange(9.0).reshape(3, 3)
    (y.to_dense() * lucid.tensor(w, device=device)).sum().backward()
    (ty.to_dense() * torch.tensor(w)).sum().backward()
    close(av.grad, tav.grad)
    close(bv.grad, tbv.grad)
    with pytest.raises(RuntimeError, match="one size"):
        a * lucid.sparse_coo_tensor([[0], [0]], [1.0], (4, 4), dtype=lucid.float64, device=device)
    u, w = (lucid.tensor(rng_values, device=device, requires_grad=True) for rng_values in
            (np.linspace(-1, 1, a._nnz()), np.linspace(2, 3, b._nnz())))
    assert gradcheck(lambda u, w: (lucid.sparse_coo_tensor(a._indices(), u, SIZE) * lucid.sparse_coo_tensor(
        b._indices(), w, SIZE)).to_dense(), (u, w))


def test_sparse_parameter_like_torch(device, rng):
    s, _, t, _ = pair(device)
    p, tp = lucid.nn.Parameter(s), torch.nn.Parameter(t)
    assert isinstance(p, lucid.nn.Parameter) and p.is_sparse and p.layout is lucid.sparse_coo
    assert p.requires_grad and p.is_leaf and not s.requires_grad
    assert repr(lucid.nn.Parameter(pair("cpu")[0])) == repr(tp).replace("torch.", "lucid.")
    d = rng.standard_normal(SIZE)
    x, tx = lucid.tensor(d, device=device), torch.tensor(d)
    for ours, ref in ((p * s, tp * t), (p * x, tp * tx), (x * p, tx * tp), (s * x, t * tx), (p * 2, tp * 2)):
        assert ours.is_sparse and ours.requires_grad == ref.requires_grad
        close(ours, ref)
    y, ty = p @ x, tp @ tx
    close(y, ty)
    lucid.sparse.mm(p, x).sum().backward()
    torch.sparse.mm(tp, tx).sum().backward()
    assert p.grad.is_sparse
    close(p.grad, tp.grad)
    assert not lucid.nn.Parameter(s, requires_grad=False).requires_grad
    assert isinstance(copy.deepcopy(p), lucid.nn.Parameter) and copy.deepcopy(p).grad is None
    assert isinstance(pickle.loads(pickle.dumps(p)), lucid.nn.Parameter)


def test_sparse_parameters_and_buffers_in_modules(device_pair):
    here, there = device_pair
    m = lucid.nn.Module()
    m.adj = lucid.nn.Parameter(pair(here)[0])
    m.register_buffer("mask", pair(here, dtype=lucid.float32)[0])
    m.csr = lucid.nn.Parameter(lucid.sparse_csr_tensor([0, 1, 2], [1, 0], [1.0, 2.0], device=here))
    assert [n for n, _ in m.named_parameters()] == ["adj", "csr"] and [n for n, _ in m.named_buffers()] == ["mask"]
    assert isinstance(m.mask, lucid.nn.Buffer) and m.mask.is_sparse and not m.mask.requires_grad
    with pytest.raises(RuntimeError):
        m.mask.requires_grad_()
    opt_param = m.adj
    (m.adj @ lucid.ones(3, 1, dtype=lucid.float64, device=here)).sum().backward()
    m.to(there)
    assert m.adj is opt_param and m.adj.device == there and m.adj._indices().device == there
    assert m.adj.requires_grad and m.adj.grad.device == there and m.mask.device == there and m.csr.device == there
    state = m.state_dict()
    assert sorted(state) == ["adj", "csr", "mask"] and state["adj"].is_sparse
    other = lucid.nn.Module()
    other.adj = lucid.nn.Parameter(lucid.sparse_coo_tensor([[0], [0]], [0.0], SIZE, dtype=lucid.float64))
    other.register_buffer("mask", lucid.sparse_coo_tensor([[0], [0]], [0.0], SIZE))
    other.csr = lucid.nn.Parameter(lucid.sparse_csr_tensor([0, 0, 0], [], [], (2, 2)))
    kept = other.adj
    other.load_state_dict(state)
    assert other.adj is kept and other.adj.device == lucid.ones(1).device  # copied into, where it was
    for name in ("adj", "mask", "csr"):
        np.testing.assert_array_equal(host(getattr(other, name)), host(getattr(m, name)))
    with pytest.raises(RuntimeError, match="same layout and size"):
        other.adj.copy_(m.csr)


@pytest.mark.parametrize("what", ["coo", "uncoalesced", "csr", "csc", "parameter", "buffer", "state"])
def test_save_and_load_sparse_tensors(tmp_path, device, what):
    s, _, _, _ = pair(device, grad=True)
    obj = {"coo": s.detach().coalesce().requires_grad_(), "uncoalesced": s.detach(),
           "csr": s.detach().to_sparse_csr(), "csc": s.detach().to_sparse_csc(),
           "parameter": lucid.nn.Parameter(s), "buffer": lucid.nn.Buffer(s, persistent=False),
           "state": {"adj": s.detach(), "w": lucid.ones(2, device=device)}}[what]
    lucid.save(obj, tmp_path / "f.safetensors")
    back = lucid.load(tmp_path / "f.safetensors")
    pairs = [(back["adj"], obj["adj"]), (back["w"], obj["w"])] if what == "state" else [(back, obj)]
    for ours, saved in pairs:
        assert type(ours) is type(saved) and ours.layout is saved.layout and ours.device == device
        assert ours.requires_grad == saved.requires_grad and ours.shape == saved.shape
        if ours.is_sparse:
            assert ours.is_coalesced() == saved.is_coalesced()
        assert getattr(ours, "persistent", None) == getattr(saved, "persistent", None)
        np.testing.assert_array_equal(host(ours), host(saved))


def test_load_sparse_to_another_device_and_reject_bad_indices(tmp_path, device_pair):
    here, there = device_pair
    s = pair(here)[0]
    lucid.save(s, tmp_path / "s.safetensors")
    back = lucid.load(tmp_path / "s.safetensors", map_location=str(there))
    assert back.device == there and back._indices().device == there
    bad = lucid.sparse_coo_tensor(INDICES, VALUES, (2, 3), check_invariants=False)
    lucid.save(bad, tmp_path / "bad.safetensors")
    with pytest.raises(lucid.serialization.SerializationError, match="cannot be rebuilt"):
        lucid.load(tmp_path / "bad.safetensors")


def test_autograd_grad_with_respect_to_sparse_leaves_like_torch(device, rng):
    s = lucid.sparse_coo_tensor(INDICES, VALUES, SIZE, dtype=lucid.float64, device=device, requires_grad=True)
    t = torch.sparse_coo_tensor(INDICES, VALUES, SIZE, dtype=torch.float64, requires_grad=True)
    a = rng.standard_normal((3, 2))
    x, tx = dense_pair(device, a)
    g, gx = lucid.autograd.grad(lucid.sparse.mm(s, x).sum(), [s, x])
    tg, tgx = torch.autograd.grad(torch.sparse.mm(t, tx).sum(), [t, tx])
    assert g.is_sparse and g.is_coalesced() and s.grad is None
    np.testing.assert_array_equal(host(g.indices()), tg.coalesce().indices().numpy())
    close(g, tg)
    close(gx, tgx)
    (g2,) = lucid.autograd.grad((s.to_dense() * 2).sum(), s)
    (tg2,) = torch.autograd.grad((t.to_dense() * 2).sum(), t)
    close(g2, tg2)
    unused = lucid.sparse_coo_tensor(INDICES, VALUES, SIZE, requires_grad=True)
    assert lucid.autograd.grad(x.sum(), [x, unused], allow_unused=True)[1] is None


# ---- sparse_mask, spdiags --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mask", ["coo", "coalesced", "csr"])
def test_sparse_mask_like_torch(device, rng, mask):
    a = rng.standard_normal(SIZE)
    x, tx = dense_pair(device, a)
    m, _, tm, _ = pair(device)
    if mask != "coo":
        m, tm = m.coalesce(), tm.coalesce()
    if mask == "csr":
        m, tm = m.to_sparse_csr(), tm.to_sparse_csr()
    y, ty = x.sparse_mask(m), tx.sparse_mask(tm)
    assert y.layout is m.layout and y.dtype is lucid.float64
    close(y, ty)
    close(y._values() if y.is_sparse else y.values(), ty._values() if ty.is_sparse else ty.values())
    w = rng.standard_normal(SIZE)
    (y.to_dense() * lucid.tensor(w, device=device)).sum().backward()
    if mask == "csr":  # torch has no backward of sparse_mask with a CSR mask: w at the mask's entries
        np.testing.assert_allclose(host(x.grad), w * (theirs(tm) != 0))
    else:
        (ty.to_dense() * torch.tensor(w)).sum().backward()
        close(x.grad, tx.grad)
    with pytest.raises(RuntimeError, match="incompatible sizes"):
        lucid.ones(2, 3, device=device).sparse_mask(m)
    with pytest.raises(RuntimeError, match="must be a sparse tensor"):
        x.sparse_mask(x)


@pytest.mark.parametrize("offsets, shape, layout", [
    ([0, -1], (3, 3), None), ([0, 1], (3, 4), "sparse_csr"), ([1, -2], (4, 3), "sparse_csc"), ([-1], (3, 3), None),
])
def test_spdiags_like_torch(device, offsets, shape, layout):
    diagonals = np.arange(1.0, 1.0 + 4 * len(offsets)).reshape(len(offsets), 4)
    kw, tkw = ({"layout": getattr(lucid, layout)}, {"layout": getattr(torch, layout)}) if layout else ({}, {})
    ours = lucid.sparse.spdiags(lucid.tensor(diagonals, device=device), lucid.tensor(offsets, device=device), shape,
                                **kw)
    ref = torch.sparse.spdiags(torch.tensor(diagonals), torch.tensor(offsets), shape, **tkw)
    assert repr(ours.layout) == repr(ref.layout).replace("torch", "lucid")
    if ours.is_sparse:
        np.testing.assert_array_equal(host(ours._indices()), ref._indices().numpy())
        assert ours.is_coalesced() == ref.is_coalesced()
    close(ours, ref)
    d = lucid.tensor(diagonals, device=device, requires_grad=True)
    assert gradcheck(lambda d: lucid.sparse.spdiags(d, lucid.tensor(offsets, device=device), shape).to_dense(), (d,))


def test_spdiags_errors_like_torch():
    for diagonals, offsets, message in (([[1.0, 2.0]], [0, 0], "duplicate"), ([[1.0, 2.0]], [0, 1], "does not match")):
        with pytest.raises(RuntimeError) as ref:
            torch.sparse.spdiags(torch.tensor(diagonals * len(offsets) if message == "duplicate" else diagonals),
                                 torch.tensor(offsets), (2, 2))
        with pytest.raises(RuntimeError, match=message) as ours:
            lucid.sparse.spdiags(lucid.tensor(diagonals * len(offsets) if message == "duplicate" else diagonals),
                                 lucid.tensor(offsets), (2, 2))
        assert str(ours.value) == str(ref.value)
    empty = lucid.sparse.spdiags(lucid.tensor([[1.0, 2.0, 3.0]]), lucid.tensor([-5]), (3, 3))  # outside: no entries
    assert empty._nnz() == 0 and empty.shape == (3, 3)
