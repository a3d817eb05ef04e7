"""Compressed sparse tensors (CSR / CSC, lucid/sparse/_compressed.py) against torch as the oracle: construction and
invariant errors, accessors and layouts, conversions to and from dense and COO, products with gradients to the
values and the dense operand, moves, casts, printing, sampled_addmm, and float64 gradchecks."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import lucid
from lucid.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Sparse (CSR|CSC|invariant)", "ignore:.*beta state")

CROW, COL, VALUES, SIZE = [0, 2, 3, 5], [0, 2, 1, 0, 2], [1.0, 2.0, 3.0, 4.0, 5.0], (3, 3)
LAYOUTS = ["csr", "csc"]


def host(t):
    t = t.to_dense() if t.layout is not lucid.strided else t
    return t.detach().numpy(force=True)


def close(a, b):
    b = b.to_dense() if b.layout is not torch.strided else b
    np.testing.assert_allclose(host(a), b.detach().numpy(), rtol=1e-6, atol=1e-6)


def make(lib, layout, values=VALUES, device=None, grad=False, dtype="float64", **kw):
    """The same compressed tensor in lucid or torch, with leaf values (``grad``) gradients reach."""
    dev = {"device": device} if lib is lucid else {}
    v = lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=grad, **dev)
    build = getattr(lib, f"sparse_{layout}_tensor")
    return build(lib.tensor(CROW, **dev), lib.tensor(COL, **dev), v, SIZE, **kw), v


def same_indices(ours, ref):
    for a, b in zip(ours._parts(), (ref.crow_indices(), ref.col_indices()) if ref.layout is torch.sparse_csr
                    else (ref.ccol_indices(), ref.row_indices())):
        np.testing.assert_array_equal(a.numpy(force=True), b.numpy())


@pytest.mark.parametrize("layout", LAYOUTS)
def test_metadata_and_accessors_like_torch(device, layout):
    s, _ = make(lucid, layout, device=device)
    t, _ = make(torch, layout)
    assert s.layout is getattr(lucid, f"sparse_{layout}") and repr(s.layout) == repr(t.layout).replace("torch", "lucid")
    assert (s.is_sparse, s.is_sparse_csr) == (t.is_sparse, t.is_sparse_csr)
    assert s.shape == t.shape and s.dtype is lucid.float64 and s.device == device
    assert (s.sparse_dim(), s.dense_dim(), s._nnz()) == (t.sparse_dim(), t.dense_dim(), t._nnz())
    same_indices(s, t)
    close(s.values(), t.values())
    close(s, t)
    names = ("crow_indices", "col_indices") if layout == "csr" else ("ccol_indices", "row_indices")
    others = ("ccol_indices", "row_indices") if layout == "csr" else ("crow_indices", "col_indices")
    assert [getattr(s, n)().tolist() for n in names] == [CROW, COL]
    for name in (*others, "indices", "coalesce"):
        with pytest.raises(RuntimeError) as ours:
            getattr(s, name)()
        with pytest.raises(RuntimeError) as ref:
            getattr(t, name)()
        assert str(ours.value) == str(ref.value)
    for name in names:
        with pytest.raises(RuntimeError, match="layout but got Strided"):
            getattr(lucid.ones(2, 2), name)()
    assert not lucid.ones(2).is_sparse_csr


def test_size_inferred_and_dtypes_like_torch(device):
    s = lucid.sparse_csr_tensor(CROW, COL, VALUES, device=device)
    t = torch.sparse_csr_tensor(torch.tensor(CROW), torch.tensor(COL), torch.tensor(VALUES))
    assert s.shape == t.shape and s.dtype is lucid.float32
    assert lucid.sparse_csc_tensor(CROW, [0, 1], [1, 2], check_invariants=False).shape == \
        torch.sparse_csc_tensor(CROW, [0, 1], [1, 2]).shape
    ints = lucid.sparse_csr_tensor(lucid.tensor(CROW, dtype=lucid.int32), COL, [1, 2, 3, 4, 5], SIZE)
    assert ints.dtype is lucid.int64 and ints.crow_indices().dtype is lucid.int64
    assert lucid.sparse_compressed_tensor(CROW, COL, VALUES, SIZE, layout=lucid.sparse_csc).layout is lucid.sparse_csc


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("crow, col", [
    ([1, 2, 3, 5], COL), ([0, 2, 3, 4], COL), ([0, 2, 1, 5], COL), ([0, 2, 3, 5], [0, 3, 1, 0, 2]),
    ([0, 2, 3, 5], [0, -1, 1, 0, 2]), ([0, 2, 3, 5], [2, 0, 1, 0, 2]), ([0, 2, 3, 5], [0, 0, 1, 0, 2]),
    ([0, 2, 5], COL), ([0, 4, 4, 5], [0, 1, 2, 0, 2]),
])
def test_invariant_errors_like_torch(layout, crow, col):
    build = f"sparse_{layout}_tensor"
    with pytest.raises(RuntimeError) as ref:
        getattr(torch, build)(torch.tensor(crow), torch.tensor(col), torch.ones(5), SIZE, check_invariants=True)
    with pytest.raises(RuntimeError) as ours:
        getattr(lucid, build)(crow, col, lucid.ones(5), SIZE)
    assert str(ours.value) == str(ref.value)
    getattr(lucid, build)(crow, col, lucid.ones(5), SIZE, check_invariants=False)  # the caller's choice


def test_invariant_switch_like_torch():
    bad = ([0, 2, 3, 4], COL, lucid.ones(5), SIZE)
    assert lucid.sparse.check_sparse_tensor_invariants.is_enabled()  # lucid's default (torch's is off)
    with lucid.sparse.check_sparse_tensor_invariants(enable=False):
        assert not lucid.sparse.check_sparse_tensor_invariants.is_enabled()
        lucid.sparse_csr_tensor(*bad)
        with pytest.raises(RuntimeError, match="nnz"):
            lucid.sparse_csr_tensor(*bad, check_invariants=True)
        with lucid.sparse.check_sparse_tensor_invariants(), pytest.raises(RuntimeError, match="size is 3"):
            lucid.sparse_coo_tensor([[5]], [1.0], (3,))
    assert lucid.sparse.check_sparse_tensor_invariants.is_enabled()

    @lucid.sparse.check_sparse_tensor_invariants(enable=False)
    def unchecked():
        return lucid.sparse_coo_tensor([[5]], [1.0], (3,))

    assert unchecked().shape == (3,) and lucid.sparse.check_sparse_tensor_invariants.is_enabled()
    lucid.sparse.check_sparse_tensor_invariants.disable()
    try:
        lucid.sparse_coo_tensor([[5]], [1.0], (3,))
    finally:
        lucid.sparse.check_sparse_tensor_invariants.enable()
    with torch.sparse.check_sparse_tensor_invariants(), pytest.raises(RuntimeError, match="size is 3"):
        torch.sparse_coo_tensor([[5]], [1.0], (3,))


def test_construction_errors():
    with pytest.raises(NotImplementedError, match="batch dimensions"):
        lucid.sparse_csr_tensor([[0, 1], [0, 1]], [[0], [0]], [[1.0], [1.0]])
    with pytest.raises(RuntimeError, match="same number of entries"):
        lucid.sparse_csr_tensor(CROW, COL, VALUES[:3], SIZE)
    with pytest.raises(RuntimeError, match="layout must be"):
        lucid.sparse_compressed_tensor(CROW, COL, VALUES, SIZE, layout=lucid.sparse_coo)


def test_indices_on_another_device_raise(device_pair):
    here, there = device_pair
    with pytest.raises(lucid.DeviceMismatchError, match="crow_indices"):
        lucid.sparse_csr_tensor(lucid.tensor(CROW, device=here), COL, lucid.tensor(VALUES, device=there), SIZE)
    moved = lucid.sparse_csr_tensor(lucid.tensor(CROW, device=here), lucid.tensor(COL, device=here), VALUES, SIZE,
                                    device=there)
    assert moved.device == there and moved.crow_indices().device == there


# ---- conversions -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_dense_to_compressed_and_back_like_torch(device, rng, layout):
    a = rng.standard_normal((4, 5))
    a[a < 0.3] = 0
    x = lucid.tensor(a, device=device, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    s, t = getattr(x, f"to_sparse_{layout}")(), getattr(tx, f"to_sparse_{layout}")()
    assert s.layout is getattr(lucid, f"sparse_{layout}")
    same_indices(s, t)
    close(s.values(), t.values())
    assert x.to_sparse(layout=s.layout).layout is s.layout
    g = rng.standard_normal(a.shape)
    (s.to_dense() * lucid.tensor(g, device=device)).sum().backward()
    (t.to_dense() * torch.tensor(g)).sum().backward()
    close(x.grad, tx.grad)
    hybrid = lucid.tensor(np.stack([a, a], -1), device=device).to_sparse_csr(dense_dim=1) if layout == "csr" else None
    if hybrid is not None:
        ref = torch.tensor(np.stack([a, a], -1)).to_sparse_csr(dense_dim=1)
        same_indices(hybrid, ref)
        close(hybrid, ref)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_coo_compressed_round_trips_like_torch(device, layout):
    s, v = make(lucid, layout, device=device, grad=True)
    t, tv = make(torch, layout, grad=True)
    coo, tcoo = s.to_sparse(), t.to_sparse()
    assert coo.layout is lucid.sparse_coo and coo.is_coalesced() == tcoo.is_coalesced()
    np.testing.assert_array_equal(coo._indices().numpy(force=True), tcoo._indices().numpy())
    close(coo._values(), tcoo._values())
    for target in LAYOUTS:
        ours, ref = getattr(coo, f"to_sparse_{target}")(), getattr(tcoo, f"to_sparse_{target}")()
        same_indices(ours, ref)
        close(ours.values(), ref.values())
        other, tother = getattr(s, f"to_sparse_{target}")(), getattr(t, f"to_sparse_{target}")()
        same_indices(other, tother)
        close(other.values(), tother.values())
    assert s.to_sparse(layout=s.layout) is s
    w = np.arange(5.0)
    (coo.to_sparse_csc().values() * lucid.tensor(w, device=device)).sum().backward()
    (tcoo.to_sparse_csc().values() * torch.tensor(w)).sum().backward()
    close(v.grad, tv.grad)


def test_conversion_errors():
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        lucid.ones(3).to_sparse_csr()
    with pytest.raises(NotImplementedError, match="no batch"):
        lucid.ones(2, 3, 4).to_sparse_csr()
    with pytest.raises(NotImplementedError, match="blocksize"):
        lucid.ones(2, 2).to_sparse(layout=lucid.sparse_csr, blocksize=(1, 1))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_transpose_like_torch(layout):
    s, _ = make(lucid, layout)
    t, _ = make(torch, layout)
    for ours, ref in ((s.t(), t.t()), (s.transpose(0, 1), t.transpose(0, 1))):
        assert repr(ours.layout) == repr(ref.layout).replace("torch", "lucid") and ours.shape == ref.shape
        same_indices(ours, ref)
        close(ours, ref)


# ---- products ----------------------------------------------------------------------------------------------------
PRODUCTS = {
    "matmul": (lambda s, x: s @ x, lambda t, x: t @ x),
    "mm": (lambda s, x: lib_mm(lucid, s, x), lambda t, x: lib_mm(torch, t, x)),
    "method mm": (lambda s, x: s.mm(x), lambda t, x: t.mm(x)),
    "sparse.mm": (lambda s, x: lucid.sparse.mm(s, x), lambda t, x: torch.sparse.mm(t, x)),
    "addmm": (lambda s, x: lucid.addmm(lucid.ones(3, 2, dtype=x.dtype, device=x.device), s, x, beta=0.5, alpha=2),
              lambda t, x: torch.addmm(torch.ones(3, 2, dtype=x.dtype), t, x, beta=0.5, alpha=2)),
    "sparse.addmm": (lambda s, x: lucid.sparse.addmm(lucid.ones(3, 2, dtype=x.dtype, device=x.device), s, x),
                     lambda t, x: torch.sparse.addmm(torch.ones(3, 2, dtype=x.dtype), t, x)),
    "dense @ sparse": (lambda s, x: x.t() @ s, lambda t, x: x.t() @ t),
    "vector": (lambda s, x: s @ x[:, 0], lambda t, x: t @ x[:, 0]),
}


def lib_mm(lib, a, b):
    return lib.mm(a, b)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", PRODUCTS)
def test_products_values_and_gradients_like_torch(device, rng, layout, name):
    if layout == "csc" and name.startswith("sparse."):
        pytest.skip("torch has no backward of sparse.mm/addmm for CSC (lucid's is tested through matmul)")
    ours, ref = PRODUCTS[name]
    s, v = make(lucid, layout, device=device, grad=True)
    t, tv = make(torch, layout, grad=True)
    a = rng.standard_normal((3, 2))
    x, tx = lucid.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = ours(s, x), ref(t, tx)
    assert y.layout is lucid.strided
    close(y, ty)
    g = rng.standard_normal(tuple(ty.shape))
    (y * lucid.tensor(g, device=device)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    close(x.grad, tx.grad)
    close(v.grad, tv.grad)


def test_leaf_grad_and_autograd_grad_like_torch(device, rng):
    a = rng.standard_normal((3, 2))
    s = lucid.sparse_csr_tensor(CROW, COL, VALUES, SIZE, dtype=lucid.float64, device=device, requires_grad=True)
    t = torch.sparse_csr_tensor(CROW, COL, VALUES, SIZE, dtype=torch.float64, requires_grad=True)
    assert s.is_leaf and s.requires_grad and s.grad_fn is None
    (g,) = lucid.autograd.grad(lucid.sparse.mm(s, lucid.tensor(a, device=device)).sum(), s)
    (tg,) = torch.autograd.grad(torch.sparse.mm(t, torch.tensor(a)).sum(), t)
    assert g.layout is lucid.sparse_csr
    same_indices(g, tg)
    close(g, tg)
    lucid.sparse.mm(s, lucid.tensor(a, device=device)).sum().backward()
    assert s.grad.layout is lucid.sparse_csr  # PyTorch's `@` would leave a dense grad here; sparse.mm's is CSR
    close(s.grad, tg)


def test_product_errors():
    s, _ = make(lucid, "csr")
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        s @ lucid.ones(4, 2, dtype=lucid.float64)
    with pytest.raises(RuntimeError, match="same dtype"):
        s @ lucid.ones(3, 2)
    with pytest.raises(NotImplementedError, match="sparse @ sparse"):
        s @ s.to_sparse()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_scalings_sum_and_dense_mul_like_torch(device, rng, layout):
    s, v = make(lucid, layout, device=device, grad=True)
    t, tv = make(torch, layout, grad=True)
    d = rng.standard_normal(SIZE)
    cases = [(s * 2, t * 2), (2 * s, 2 * t), (-s, -t)]
    for ours, ref in cases + [(s / 2, t.to_dense().detach() / 2)]:  # torch has no CSR division with grad
        assert ours.layout is s.layout
        close(ours, ref)
    dense = s * lucid.tensor(d, device=device)
    assert dense.layout is s.layout
    np.testing.assert_allclose(host(dense), host(s) * d)
    close(s.sum(), t.sum())
    total = sum((o.to_dense() * (k + 1)).sum() for k, (o, _) in enumerate(cases)) + s.sum()
    ref_total = sum((r.to_dense() * (k + 1)).sum() for k, (_, r) in enumerate(cases)) + t.sum()
    total.backward()
    ref_total.backward()
    close(v.grad, tv.grad)
    with pytest.raises(RuntimeError, match="to_sparse"):  # PyTorch's: CSR needs keepdim=True, CSC refuses
        s.sum(0)


def test_sampled_addmm_like_torch(device, rng):
    s, v = make(lucid, "csr", device=device, grad=True)
    t, tv = make(torch, "csr", grad=True)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 3))
    m1, m2 = (lucid.tensor(m, device=device, requires_grad=True) for m in (a, b))
    t1, t2 = (torch.tensor(m, requires_grad=True) for m in (a, b))
    y, ty = lucid.sparse.sampled_addmm(s, m1, m2, beta=0.5, alpha=2.0), torch.sparse.sampled_addmm(
        t, t1, t2, beta=0.5, alpha=2.0)
    assert y.layout is lucid.sparse_csr
    same_indices(y, ty)
    close(y.values(), ty.values())
    w = rng.standard_normal(5)
    (y.values() * lucid.tensor(w, device=device)).sum().backward()
    (ty.values() * torch.tensor(w)).sum().backward()
    for ours, ref in ((v, tv), (m1, t1), (m2, t2)):
        close(ours.grad, ref.grad)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        lucid.sparse.sampled_addmm(s, m1[:, :3], m2)
    with pytest.raises(RuntimeError, match="sparse CSR"):
        lucid.sparse.sampled_addmm(s.to_sparse(), m1, m2)


# ---- moves, casts, printing, copies ---------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_to_device_and_dtype(device_pair, layout):
    here, there = device_pair
    s, v = make(lucid, layout, device=here, grad=True)
    moved = s.to(there)
    assert moved.device == there and all(p.device == there for p in moved._parts()) and moved.layout is s.layout
    assert moved.requires_grad
    np.testing.assert_array_equal(host(moved), host(s))
    assert s.to(here) is s
    f32 = moved.to(lucid.float32)
    assert f32.dtype is lucid.float32 and f32.layout is s.layout and f32.device == there
    (moved @ lucid.ones(3, 1, dtype=lucid.float64, device=there)).sum().backward()
    assert v.grad.device == here
    with pytest.raises(lucid.DeviceMismatchError):
        s @ lucid.ones(3, 1, dtype=lucid.float64, device=there)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_casts_like_torch(device, layout):
    s, _ = make(lucid, layout, device=device)
    t, _ = make(torch, layout)
    for ours, ref in ((s.to(lucid.float32), t.to(torch.float32)), (s.float(), t.float()), (s.int(), t.int())):
        assert ours.dtype.name == str(ref.dtype).removeprefix("torch.") and ours.layout is s.layout
        close(ours, ref)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_repr_like_torch(layout):
    for kw in ({}, {"grad": True}, {"dtype": "float32"}):
        s, v = make(lucid, layout, **kw)
        t, tv = make(torch, layout, **kw)
        assert repr(s) == repr(t).replace("torch.", "lucid.")
        leaf = lucid.sparse_csr_tensor(CROW, COL, VALUES, SIZE, requires_grad=True)
        assert repr(leaf) == repr(torch.sparse_csr_tensor(CROW, COL, VALUES, SIZE, requires_grad=True)).replace(
            "torch.", "lucid.")
    empty, tempty = lucid.zeros(2, 3).to_sparse_csc(), torch.zeros(2, 3).to_sparse_csc()
    assert repr(empty) == repr(tempty).replace("torch.", "lucid.")


def test_repr_names_a_non_cpu_device(device):
    s = lucid.sparse_csc_tensor(CROW, COL, VALUES, SIZE, device=device)
    assert ("device=" in repr(s)) == (device.type != "cpu")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_clone_detach_deepcopy_pickle(device, layout):
    s, _ = make(lucid, layout, device=device, grad=True)
    for other in (s.clone(), s.detach(), copy.deepcopy(s.detach().requires_grad_()),
                  pickle.loads(pickle.dumps(s.detach().requires_grad_()))):
        assert other.layout is s.layout and other.device == device
        np.testing.assert_array_equal(host(other), host(s))
    assert not s.detach().requires_grad and s.clone().requires_grad


# ---- gradchecks ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_gradchecks(device, rng, layout):
    build = getattr(lucid, f"sparse_{layout}_tensor")
    crow, col = lucid.tensor(CROW, device=device), lucid.tensor(COL, device=device)
    v = lucid.tensor(rng.standard_normal(5), device=device, requires_grad=True)
    x = lucid.tensor(rng.standard_normal((3, 2)), device=device, requires_grad=True)
    d = lucid.tensor(rng.standard_normal((4, 3)), device=device, requires_grad=True)

    def sparse(v):
        return build(crow, col, v, SIZE)

    assert gradcheck(lambda v, x: sparse(v) @ x, (v, x))
    assert gradgradcheck(lambda v, x: sparse(v) @ x, (v, x))
    assert gradcheck(lambda v, x: x.t() @ sparse(v), (v, x))
    assert gradcheck(lambda v: sparse(v).to_dense(), (v,))
    assert gradcheck(lambda v: sparse(v).to_sparse()._values(), (v,))
    assert gradcheck(lambda d: getattr(d, f"to_sparse_{layout}")().values(), (d,))
    a = lucid.tensor(rng.standard_normal((3, 4)), device=device, requires_grad=True)
    assert gradcheck(lambda v, a, d: lucid.sparse.sampled_addmm(sparse(v).to_sparse_csr(), a, d, beta=0.5).values(),
                     (v, a, d))
