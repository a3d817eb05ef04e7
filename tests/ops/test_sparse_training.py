"""Training with sparse gradients, against PyTorch: ``Embedding`` / ``embedding`` / ``EmbeddingBag`` with
``sparse=True`` give a leaf weight an uncoalesced sparse COO gradient (entries, accumulation, hooks); ``SGD``
(momentum, Nesterov, dampening, maximize), ``Adagrad`` and ``SparseAdam`` step with it as PyTorch's, over
several steps; the other optimizers, and SGD / Adagrad with weight decay, refuse it with PyTorch's message and
update nothing; ``zero_grad``; SGD on a sparse Parameter."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F
from lucid.autograd import gradcheck

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks", "ignore:.*beta state")

W0 = np.random.default_rng(0).standard_normal((6, 3))
BATCHES = [[[0, 1, 2]], [[2, 2, 5]], [[4, 0, 0]], [[1, 3, 3]]]


def weights(device, dtype="float64"):
    return (lucid.nn.Parameter(lucid.tensor(W0, dtype=getattr(lucid, dtype), device=device)),
            torch.nn.Parameter(torch.tensor(W0, dtype=getattr(torch, dtype))))


def dense(g):
    return (g.to_dense() if g.layout != lucid.strided else g).detach().numpy(force=True)


def dense_t(g):
    return (g.to_dense() if g.layout != torch.strided else g).detach().numpy()


def same_sparse(g, h):
    """The same uncoalesced COO gradient: layout, entries in order, values."""
    assert g.layout is lucid.sparse_coo and h.layout == torch.sparse_coo
    assert g.is_coalesced() == h.is_coalesced()
    np.testing.assert_array_equal(g._indices().numpy(force=True), h._indices().numpy())
    np.testing.assert_allclose(g._values().detach().numpy(force=True), h._values().detach().numpy(), atol=1e-12)


def test_scale_grad_by_freq_refuses_sparse_gradients_in_backward(device):
    w, tw = weights(device)
    out = F.embedding(lucid.tensor([0, 0], device=device), w, sparse=True, scale_grad_by_freq=True)
    theirs = torch.nn.functional.embedding(torch.tensor([0, 0]), tw, sparse=True, scale_grad_by_freq=True)
    message = "scale_grad_by_freq not supported with sparse gradients"
    with pytest.raises(RuntimeError, match=message):
        theirs.sum().backward()
    with pytest.raises(RuntimeError, match=message):
        out.sum().backward()


@pytest.mark.parametrize("kw", [{}, {"padding_idx": 1}, {"padding_idx": -1}])
def test_embedding_sparse_gradient(device, kw):
    w, tw = weights(device)
    idx = [[0, 1, 2], [2, 2, 5]]
    (F.embedding(lucid.tensor(idx, device=device), w, sparse=True, **kw) ** 2).sum().backward()
    (torch.nn.functional.embedding(torch.tensor(idx), tw, sparse=True, **kw) ** 2).sum().backward()
    same_sparse(w.grad, tw.grad)


@pytest.mark.parametrize("kw", [{"mode": "sum"}, {"mode": "mean", "padding_idx": 1},
                                {"mode": "sum", "per_sample_weights": True}])
def test_embedding_bag_sparse_gradient(device, kw):
    w, tw = weights(device)
    idx, offsets = [0, 1, 2, 2, 5, 1], [0, 2]
    psw = np.linspace(0.5, 2.0, 6) if kw.pop("per_sample_weights", False) else None
    bag, tbag = lucid.nn.EmbeddingBag(6, 3, sparse=True, _weight=w, **kw), torch.nn.EmbeddingBag(
        6, 3, sparse=True, _weight=tw, **kw)
    out = bag(lucid.tensor(idx, device=device), lucid.tensor(offsets, device=device),
              None if psw is None else lucid.tensor(psw, device=device))
    theirs = tbag(torch.tensor(idx), torch.tensor(offsets), None if psw is None else torch.tensor(psw))
    np.testing.assert_allclose(out.detach().numpy(force=True), theirs.detach().numpy(), atol=1e-12)
    (out ** 2).sum().backward()
    (theirs ** 2).sum().backward()
    w, tw = bag.weight, tbag.weight
    assert w.grad.layout is lucid.sparse_coo
    np.testing.assert_allclose(dense(w.grad), dense_t(tw.grad), atol=1e-12)
    assert w.grad._nnz() == tw.grad._nnz()


def test_embedding_bag_max_refuses_sparse(device):
    w, tw = weights(device)
    with pytest.raises(ValueError, match="max mode does not support sparse weights"):
        torch.nn.functional.embedding_bag(torch.tensor([[0, 1]]), tw, mode="max", sparse=True)
    with pytest.raises(ValueError, match="max mode does not support sparse weights"):
        F.embedding_bag(lucid.tensor([[0, 1]], device=device), w, mode="max", sparse=True)


def test_sparse_gradients_accumulate(device):
    """sparse + sparse stays sparse, its entries side by side (uncoalesced); with a dense one it is dense, in
    either order, as PyTorch's."""
    w, tw = weights(device)
    for lib, p, dev in ((lucid, w, {"device": device}), (torch, tw, {})):
        fn = lucid.nn.functional if lib is lucid else torch.nn.functional
        fn.embedding(lib.tensor([1, 4], **dev), p, sparse=True).sum().backward()
        fn.embedding(lib.tensor([4], **dev), p, sparse=True).sum().backward()
    same_sparse(w.grad, tw.grad)
    for first_dense in (True, False):
        w, tw = weights(device)
        for lib, p, dev in ((lucid, w, {"device": device}), (torch, tw, {})):
            fn = lucid.nn.functional if lib is lucid else torch.nn.functional
            for dense_now in (first_dense, not first_dense):
                loss = (p * 2).sum() if dense_now else (fn.embedding(lib.tensor([1, 1, 3], **dev), p, sparse=True)
                                                        ** 2).sum()
                loss.backward()
        assert w.grad.layout is lucid.strided
        np.testing.assert_allclose(dense(w.grad), dense_t(tw.grad), atol=1e-12)
    w, tw = weights(device)  # both uses in one backward
    (F.embedding(lucid.tensor([0, 5], device=device), w, sparse=True).sum() + (w ** 2).sum()).backward()
    (torch.nn.functional.embedding(torch.tensor([0, 5]), tw, sparse=True).sum() + (tw ** 2).sum()).backward()
    assert w.grad.layout is lucid.strided
    np.testing.assert_allclose(dense(w.grad), dense_t(tw.grad), atol=1e-12)


def test_autograd_grad_and_hooks_see_the_sparse_gradient(device):
    w, tw = weights(device)
    seen = []
    w.register_hook(lambda g: seen.append(g.layout))
    out = F.embedding(lucid.tensor([3, 3], device=device), w, sparse=True).sum()
    (g,) = lucid.autograd.grad(out, w)
    (h,) = torch.autograd.grad(torch.nn.functional.embedding(torch.tensor([3, 3]), tw, sparse=True).sum(), tw)
    same_sparse(g, h)
    assert seen == [lucid.sparse_coo]


def test_a_hook_sees_the_summed_gradient_of_two_uses(device):
    """A leaf with a hook gets one gradient summed over its uses: sparse + sparse sparse, with a dense use dense."""
    seen = {}
    for lib, dev in ((lucid, {"device": device}), (torch, {})):
        p = weights(device)[lib is torch]
        fn = lucid.nn.functional if lib is lucid else torch.nn.functional
        seen[lib] = []
        p.register_hook(lambda g, out=seen[lib]: out.append((str(g.layout).rpartition(".")[2],
                                                             g._nnz() if g.is_sparse else None)))
        (fn.embedding(lib.tensor([1, 2], **dev), p, sparse=True).sum()
         + fn.embedding(lib.tensor([3], **dev), p, sparse=True).sum()).backward()
        (fn.embedding(lib.tensor([1, 2], **dev), p, sparse=True).sum() + (p * 3).sum()).backward()
        seen[lib].append(dense(p.grad) if lib is lucid else dense_t(p.grad))
    assert seen[lucid][:2] == seen[torch][:2] == [("sparse_coo", 3), ("strided", None)]
    np.testing.assert_allclose(seen[lucid][2], seen[torch][2], atol=1e-12)


def test_sparse_embedding_gradcheck():
    """The sparse gradient's values are those of the dense lookup: finite differences agree (float64)."""
    w = lucid.tensor(W0, dtype=lucid.float64, requires_grad=True)
    idx = lucid.tensor([[0, 2], [2, 5]])
    assert gradcheck(lambda w: F.embedding(idx, w, sparse=True), (w,))


OPTIMIZERS = [
    ("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "maximize": True}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}), ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1,
                                                           "maximize": True}),
    ("SparseAdam", {"lr": 0.1}), ("SparseAdam", {"lr": 0.05, "betas": (0.8, 0.9), "maximize": True}),
]


@pytest.mark.parametrize("bag", [False, True], ids=["Embedding", "EmbeddingBag"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, kw", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
def test_training_with_sparse_gradients_matches_torch(device, name, kw, dtype, bag):
    """Several steps of an embedding model (rows repeated, padded, absent in some steps)."""
    results = []
    for lib, dev in ((lucid, {"device": device}), (torch, {})):
        w = lucid.tensor(W0, **dev) if lib is lucid else torch.tensor(W0)
        w = w.to(getattr(lib, dtype))
        table = (lib.nn.EmbeddingBag(6, 3, mode="mean", sparse=True, padding_idx=1, _weight=w) if bag else
                 lib.nn.Embedding(6, 3, sparse=True, padding_idx=1, _weight=w))
        opt = getattr(lib.optim, name)(table.parameters(), **kw)
        for batch in BATCHES * 2:
            opt.zero_grad()
            (table(lib.tensor(batch, **dev)) ** 2).sum().backward()
            opt.step()
        results.append(table.weight.detach())
    tol = 1e-10 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(results[0].numpy(force=True), results[1].numpy(), rtol=tol, atol=tol)


def test_sparse_adam_keeps_moments_of_absent_rows(device):
    """Rows without a gradient this step keep their moments (Adam would decay them)."""
    w, _ = weights(device)
    opt = lucid.optim.SparseAdam([w], lr=0.1)
    F.embedding(lucid.tensor([0, 1], device=device), w, sparse=True).sum().backward()
    opt.step()
    before = opt.state[w]["exp_avg"].numpy(force=True).copy()
    opt.zero_grad()
    F.embedding(lucid.tensor([2], device=device), w, sparse=True).sum().backward()
    opt.step()
    after = opt.state[w]["exp_avg"].numpy(force=True)
    np.testing.assert_array_equal(after[:2], before[:2])
    assert opt.state[w]["step"] == 2


@pytest.mark.parametrize("name, kw, message", [
    ("Adam", {}, "Adam does not support sparse gradients, please consider SparseAdam instead"),
    ("AdamW", {}, "Adam does not support sparse gradients, please consider SparseAdam instead"),
    ("RMSprop", {}, "RMSprop does not support sparse gradients"),
    ("Adadelta", {}, "Adadelta does not support sparse gradients"),
    ("Rprop", {}, "Rprop does not support sparse gradients"),
    ("Adamax", {}, "Adamax does not support sparse gradients"),
    ("NAdam", {}, "NAdam does not support sparse gradients"),
    ("RAdam", {}, "RAdam does not support sparse gradients"),
    ("ASGD", {}, "ASGD does not support sparse gradients"),
    ("SGD", {"weight_decay": 0.1}, "add(sparse, dense) is not supported"),
    ("Adagrad", {"weight_decay": 0.1}, "weight_decay option is not compatible with sparse gradients"),
])
def test_optimizers_refuse_sparse_gradients_as_torch(device, name, kw, message):
    """Each raises PyTorch's RuntimeError, and (lucid) before any parameter is updated."""
    w, tw = weights(device)
    other = lucid.nn.Parameter(lucid.ones(2, device=device, dtype=lucid.float64))
    torch.nn.functional.embedding(torch.tensor([1]), tw, sparse=True).sum().backward()
    with pytest.raises(RuntimeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        getattr(torch.optim, name)([tw], **kw).step()
    (other.sum() + F.embedding(lucid.tensor([1], device=device), w, sparse=True).sum()).backward()
    with pytest.raises(RuntimeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        getattr(lucid.optim, name)([other, w], **kw).step()
    np.testing.assert_array_equal(other.detach().numpy(force=True), np.ones(2))
    np.testing.assert_array_equal(w.detach().numpy(force=True), W0)


def test_sparse_adam_refuses_dense_gradients_and_sparse_params(device):
    w, tw = weights(device)
    (w * 2).sum().backward()
    (tw * 2).sum().backward()
    message = "SparseAdam does not support dense gradients, please consider Adam instead"
    with pytest.raises(RuntimeError, match=message):
        torch.optim.SparseAdam([tw]).step()
    with pytest.raises(RuntimeError, match=message):
        lucid.optim.SparseAdam([w]).step()
    sp = lucid.nn.Parameter(lucid.eye(2, device=device).to_sparse())
    with pytest.raises(ValueError, match=r"Sparse params at indices \[\[0, 0\]\]: SparseAdam requires dense"):
        torch.optim.SparseAdam([torch.nn.Parameter(torch.eye(2).to_sparse())])
    with pytest.raises(ValueError, match=r"Sparse params at indices \[\[0, 0\]\]: SparseAdam requires dense"):
        lucid.optim.SparseAdam([sp])


def test_zero_grad_of_a_sparse_gradient(device):
    w, tw = weights(device)
    F.embedding(lucid.tensor([1, 2], device=device), w, sparse=True).sum().backward()
    torch.nn.functional.embedding(torch.tensor([1, 2]), tw, sparse=True).sum().backward()
    grad = w.grad
    lucid.optim.SGD([w]).zero_grad(set_to_none=False)
    torch.optim.SGD([tw]).zero_grad(set_to_none=False)
    assert w.grad is grad and grad.layout is lucid.sparse_coo
    assert (grad._nnz(), grad.is_coalesced()) == (tw.grad._nnz(), tw.grad.is_coalesced()) == (0, True)
    F.embedding(lucid.tensor([3], device=device), w, sparse=True).sum().backward()  # accumulates into it
    np.testing.assert_array_equal(dense(w.grad)[3], np.ones(3))
    lucid.optim.SGD([w]).zero_grad()
    assert w.grad is None


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_on_a_sparse_parameter(device, momentum):
    """A sparse COO Parameter with its sparse gradient: SGD's add_ puts the entries side by side, as PyTorch."""
    ind, val = [[0, 1, 1], [1, 0, 2]], [1.0, 2.0, -1.0]
    p = lucid.nn.Parameter(lucid.sparse_coo_tensor(lucid.tensor(ind, device=device),
                                                   lucid.tensor(val, dtype=lucid.float64, device=device), (2, 3)))
    tp = torch.nn.Parameter(torch.sparse_coo_tensor(torch.tensor(ind), torch.tensor(val, dtype=torch.float64),
                                                    (2, 3)))
    opt, topt = lucid.optim.SGD([p], lr=0.1, momentum=momentum), torch.optim.SGD([tp], lr=0.1, momentum=momentum)
    m = np.arange(12.0).reshape(3, 4)
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        (lucid.sparse.mm(p, lucid.tensor(m, device=device)) ** 2).sum().backward()
        (torch.sparse.mm(tp, torch.tensor(m)) ** 2).sum().backward()
        opt.step()
        topt.step()
    assert p.layout is lucid.sparse_coo and isinstance(p, lucid.nn.Parameter)
    np.testing.assert_allclose(dense(p), dense_t(tp), rtol=1e-10)


# ---- CSR: add, sum(dim), softmax -------------------------------------------------------------------------------
A = [[0.0, 1, 2], [0, 0, 0], [0, 0, 4]]
B = [[1.0, 0, 0], [0, 0, 5], [0, 0, -4]]  # (2, 2) cancels: the entry stays stored, as PyTorch's


def csr_pair(device, rows, grad=False, dtype="float64"):
    """The same CSR matrix in lucid and torch, built from leaf values when ``grad``."""
    t = torch.tensor(rows, dtype=getattr(torch, dtype)).to_sparse_csr()
    crow, col, val = (x.numpy() for x in (t.crow_indices(), t.col_indices(), t.values()))
    lv = lucid.tensor(val, device=device, requires_grad=grad)
    tv = torch.tensor(val, requires_grad=grad)
    return (lucid.sparse_csr_tensor(lucid.tensor(crow, device=device), lucid.tensor(col, device=device), lv, t.shape),
            torch.sparse_csr_tensor(torch.tensor(crow), torch.tensor(col), tv, t.shape), lv, tv)


def same_csr(r, t):
    assert r.layout is lucid.sparse_csr and t.layout == torch.sparse_csr and tuple(r.shape) == tuple(t.shape)
    for mine, theirs in ((r.crow_indices(), t.crow_indices()), (r.col_indices(), t.col_indices()),
                         (r.values(), t.values())):
        np.testing.assert_allclose(mine.detach().numpy(force=True), theirs.detach().numpy(), atol=1e-12)
    assert r.dtype.name == str(t.dtype).removeprefix("torch.")


@pytest.mark.parametrize("alpha", [1, 0.5])
def test_csr_plus_csr_is_csr(device, alpha):
    a, ta, va, tva = csr_pair(device, A, grad=True)
    b, tb, vb, tvb = csr_pair(device, B, grad=True)
    r, t = a.add(b, alpha=alpha) if alpha != 1 else a + b, ta.add(tb, alpha=alpha) if alpha != 1 else ta + tb
    same_csr(r, t)
    weights_ = np.arange(1.0, 6.0)
    (r.values() * lucid.tensor(weights_, device=device)).sum().backward()
    (t.values() * torch.tensor(weights_)).sum().backward()
    for mine, theirs in ((va, tva), (vb, tvb)):
        np.testing.assert_allclose(mine.grad.numpy(force=True), theirs.grad.numpy(), atol=1e-12)


def test_csr_and_dense_add_to_dense(device):
    for op in (lambda x, y: x + y, lambda x, y: y + x, lambda x, y: x.add(y) + y):
        a, ta, va, tva = csr_pair(device, A, grad=True)
        d = lucid.tensor(np.arange(9.0).reshape(3, 3), device=device, requires_grad=True)
        td = torch.tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
        mine, theirs = op(a, d), op(ta, td)
        assert mine.layout is lucid.strided and theirs.layout == torch.strided
        np.testing.assert_allclose(mine.detach().numpy(force=True), theirs.detach().numpy(), atol=1e-12)
        (mine ** 2).sum().backward()
        (theirs ** 2).sum().backward()
        np.testing.assert_allclose(va.grad.numpy(force=True), tva.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(d.grad.numpy(force=True), td.grad.numpy(), atol=1e-12)


def test_csr_add_dense_alpha_scales_other(device):
    """``csr.add(dense, alpha=2)`` is ``csr + 2 * dense``, as documented (PyTorch 2.13 computes ``dense + 2 * csr``
    here, unlike its COO and dense adds)."""
    a, _, _, _ = csr_pair(device, A)
    d = np.arange(9.0).reshape(3, 3)
    np.testing.assert_allclose(a.add(lucid.tensor(d, device=device), alpha=2).numpy(force=True), np.array(A) + 2 * d)


def test_csr_add_errors_as_torch(device):
    a, ta, _, _ = csr_pair(device, A)
    small, tsmall, _, _ = csr_pair(device, [[1.0, 0], [0, 1]])
    f32, tf32, _, _ = csr_pair(device, B, dtype="float32")
    cases = [(lambda x, y: x + y, (a, small), (ta, tsmall), "same shape"),
             (lambda x, y: x + y, (a, f32), (ta, tf32), None),
             (lambda x, y: x + y, (a, a.to_sparse_csc()), (ta, ta.to_sparse_csc()), None),
             (lambda x, y: x + y, (a, lucid.ones(3, device=device)), (ta, torch.ones(3)), "does not currently support "
                                                                                            "broadcasting"),
             (lambda x, y: x + y, (a, 2), (ta, 2), "same size")]
    for op, mine, theirs, match in cases:
        with pytest.raises(RuntimeError, match=match):
            op(*theirs)
        with pytest.raises(RuntimeError, match=match):
            op(*mine)


@pytest.mark.parametrize("dim", [0, 1, -1, (0, 1), (1,)])
def test_csr_sum_keepdim_is_csr(device, dim):
    for rows in (A, [[0.0, 0], [0, 0]]):
        a, ta, va, _ = csr_pair(device, rows, grad=True)
        same_csr(a.sum(dim=dim, keepdim=True), ta.sum(dim=dim, keepdim=True))
    ints = torch.tensor([[1, 0], [2, 3]]).to_sparse_csr()
    mine = lucid.tensor([[1, 0], [2, 3]], device=device).to_sparse_csr()
    same_csr(mine.sum(dim=dim, keepdim=True), ints.sum(dim=dim, keepdim=True))
    a, ta, va, _ = csr_pair(device, A, grad=True)
    same_csr(a.sum(dim=dim, keepdim=True, dtype=lucid.float32), ta.sum(dim=dim, keepdim=True, dtype=torch.float32))


def test_csr_sum_errors_as_torch(device):
    a, ta, _, _ = csr_pair(device, A)
    for mine, theirs, match in ((a, ta, "keepdim=False is unsupported"),
                                (a.to_sparse_csc(), ta.to_sparse_csc(), "only compressed sparse format supported")):
        with pytest.raises(RuntimeError, match=match):
            theirs.sum(dim=0, keepdim=match.startswith("only"))
        with pytest.raises(RuntimeError, match=match):
            mine.sum(dim=0, keepdim=match.startswith("only"))


def test_csr_softmax_is_refused_as_torch(device):
    a, ta, _, _ = csr_pair(device, A)
    for fn in ("softmax", "log_softmax"):
        with pytest.raises(NotImplementedError):
            getattr(torch.sparse, fn)(ta, 1)
        with pytest.raises(NotImplementedError, match="COO"):
            getattr(lucid.sparse, fn)(a, 1)


def test_csr_add_and_sum_gradcheck():
    """float64 finite differences through the values of CSR + CSR and CSR.sum(dim, keepdim=True) (PyTorch's
    sum has no backward; lucid's is the COO sum's)."""
    a, _, va, _ = csr_pair(None, A, grad=True)
    b, _, vb, _ = csr_pair(None, B, grad=True)

    def rebuild(m, v):
        return lucid.sparse_csr_tensor(m.crow_indices(), m.col_indices(), v, m.shape)

    assert gradcheck(lambda x, y: (rebuild(a, x).add(rebuild(b, y), alpha=0.5)).values(), (va, vb))
    for dim in (0, 1, (0, 1)):
        assert gradcheck(lambda x, d=dim: rebuild(a, x).sum(dim=d, keepdim=True).values(), (va,))


@pytest.mark.parametrize("name", ["clip_grad_norm_", "clip_grad_value_"])
def test_gradient_clipping_refuses_sparse_gradients_as_torch(device, name):
    """PyTorch 2.13's clip_grad_norm_ / clip_grad_value_ raise NotImplementedError on a sparse gradient; so do
    lucid's, naming the function."""
    w, tw = weights(device)
    F.embedding(lucid.tensor([1, 2], device=device), w, sparse=True).sum().backward()
    torch.nn.functional.embedding(torch.tensor([1, 2]), tw, sparse=True).sum().backward()
    with pytest.raises(NotImplementedError):
        getattr(torch.nn.utils, name)([tw], 0.5)
    with pytest.raises(NotImplementedError, match=name):
        getattr(lucid.nn.utils, name)([w], 0.5)


def test_sgd_sparse_momentum_buffer_round_trips_and_refuses_a_dense_gradient(device):
    """The sparse momentum buffer survives state_dict / load_state_dict; a dense gradient afterwards is refused
    with PyTorch's error (its buf.add_ of a dense tensor into a sparse one), before anything is updated."""
    w, tw = weights(device)
    opt, topt = lucid.optim.SGD([w], lr=0.1, momentum=0.9), torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    F.embedding(lucid.tensor([1, 2], device=device), w, sparse=True).sum().backward()
    torch.nn.functional.embedding(torch.tensor([1, 2]), tw, sparse=True).sum().backward()
    opt.step()
    topt.step()
    again = lucid.optim.SGD([w], lr=0.1, momentum=0.9)
    again.load_state_dict(opt.state_dict())
    buf = again.state[w]["momentum_buffer"]
    assert buf.layout is lucid.sparse_coo and buf is not opt.state[w]["momentum_buffer"]
    np.testing.assert_allclose(dense(buf), dense_t(topt.state[tw]["momentum_buffer"]))
    w.grad, tw.grad = None, None
    (w * 1).sum().backward()
    (tw * 1).sum().backward()
    before = w.detach().numpy(force=True).copy()
    with pytest.raises(RuntimeError, match=r"add\(sparse, dense\) is not supported"):
        topt.step()
    with pytest.raises(RuntimeError, match=r"add\(sparse, dense\) is not supported"):
        again.step()
    np.testing.assert_array_equal(w.detach().numpy(force=True), before)
