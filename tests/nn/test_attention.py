"""scaled_dot_product_attention and MultiheadAttention: gradients (gradcheck on every device, second
order for SDPA), masks, fully masked rows, stability, dropout in train/eval, errors, and PyTorch as
an oracle for values and for the gradients of inputs and every parameter.

The helpers ``functional_call``, ``load_torch`` and ``compare_with_torch`` are shared with
test_transformer.py and test_rnn.py."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.nn as nn
import lucid.nn.functional as F
from lucid.autograd import gradcheck, gradgradcheck


# ---- shared helpers ----------------------------------------------------------------------------------
def make(arr, device, grad=False):
    return lucid.tensor(np.asarray(arr), dtype=lucid.float64 if np.asarray(arr).dtype.kind == "f" else None,
                        device=device, requires_grad=grad)


def host(t):
    return t.detach().numpy(force=True)


def functional_call(module, params, call):
    """Run ``call()`` with ``module``'s parameters replaced by the tensors ``params`` (in
    ``named_parameters`` order), so gradcheck can perturb parameters like inputs."""
    names = [name for name, _ in module.named_parameters()]
    saved = []
    try:
        for name, p in zip(names, params):
            owner, _, leaf = name.rpartition(".")
            table = (module.get_submodule(owner) if owner else module)._parameters
            saved.append((table, leaf, table[leaf]))
            table[leaf] = p
        return call()
    finally:
        for table, leaf, p in saved:
            table[leaf] = p


def module_gradcheck(module, inputs, call, **kw):
    """gradcheck of ``call(*inputs)`` with respect to the inputs and every parameter of ``module``."""
    params = [p.detach().requires_grad_(True) for p in module.parameters()]
    n = len(inputs)
    assert gradcheck(lambda *a: functional_call(module, a[n:], lambda: call(*a[:n])), (*inputs, *params), **kw)


def load_torch(ours, theirs, device):
    """Copy a torch module's state_dict into ours (float64): the keys must be the same, in order."""
    state = {k: lucid.tensor(v.detach().numpy(), device=device) for k, v in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict())
    ours.to(device=device, dtype=lucid.float64)
    ours.load_state_dict(state)
    theirs.double()


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flat(o)]
    return [] if out is None else [out]


def compare_with_torch(torch, ours, theirs, our_inputs, their_inputs, rng, rtol=1e-10, atol=1e-12):
    """Compare the outputs (all of them, nested tuples too) and the gradients of every input and
    parameter after back-propagating the same random weights through the outputs."""
    mine, ref = _flat(ours(*our_inputs)), _flat(theirs(*their_inputs))
    assert len(mine) == len(ref)
    weights = [rng.standard_normal(tuple(r.shape)) for r in ref]
    for m, r in zip(mine, ref):
        np.testing.assert_allclose(host(m), r.detach().numpy(), rtol=rtol, atol=atol)
    sum((m * make(w, m.device)).sum() for m, w in zip(mine, weights)).backward()
    sum((r * torch.tensor(w)).sum() for r, w in zip(ref, weights)).backward()
    for a, b in zip(our_inputs, their_inputs):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            np.testing.assert_allclose(host(a.grad), b.grad.numpy(), rtol=rtol, atol=atol)
    ours_p, theirs_p = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert list(ours_p) == list(theirs_p)
    for name, p in theirs_p.items():
        np.testing.assert_allclose(host(ours_p[name].grad), p.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


class Call:
    """A module called with fixed keyword arguments (compare_with_torch reads its parameters)."""

    def __init__(self, module, **kwargs):
        self.module, self.kwargs = module, kwargs

    def __call__(self, *args):
        return self.module(*args, **self.kwargs)

    def named_parameters(self):
        return self.module.named_parameters()


class SelfCall(Call):
    """Self-attention: the one input is query, key and value."""

    def __call__(self, x):
        return self.module(x, x, x, **self.kwargs)


# ---- scaled_dot_product_attention ----------------------------------------------------------------------
def _qkv(rng, device, batch=(2,), heads=2, length=3, source=4, e=3, ev=2):
    q = make(rng.standard_normal((*batch, heads, length, e)), device, True)
    k = make(rng.standard_normal((*batch, heads, source, e)), device, True)
    v = make(rng.standard_normal((*batch, heads, source, ev)), device, True)
    return q, k, v


def _np_sdpa(q, k, v, keep=None, bias=None, scale=None):
    s = q @ np.swapaxes(k, -1, -2) * (1 / np.sqrt(q.shape[-1]) if scale is None else scale)
    if bias is not None:
        s = s + bias
    if keep is not None:
        s = np.where(keep, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    return p / p.sum(-1, keepdims=True) @ v


def test_sdpa_values_match_numpy(device, rng):
    q, k, v = _qkv(rng, device)
    keep = rng.random((3, 4)) < 0.7
    keep[:, 0] = True
    bias = rng.standard_normal((3, 4))
    a = [host(t) for t in (q, k, v)]
    np.testing.assert_allclose(host(F.scaled_dot_product_attention(q, k, v)), _np_sdpa(*a), rtol=1e-12)
    np.testing.assert_allclose(host(F.scaled_dot_product_attention(q, k, v, make(keep, device))),
                               _np_sdpa(*a, keep=keep), rtol=1e-12)
    np.testing.assert_allclose(host(F.scaled_dot_product_attention(q, k, v, make(bias, device), scale=0.3)),
                               _np_sdpa(*a, bias=bias, scale=0.3), rtol=1e-12)
    np.testing.assert_allclose(host(F.scaled_dot_product_attention(q, k, v, is_causal=True)),
                               _np_sdpa(*a, keep=np.tril(np.ones((3, 4), bool))), rtol=1e-12)


@pytest.mark.parametrize("case", ["plain", "bool_mask", "float_mask", "causal", "broadcast"])
def test_sdpa_gradcheck(device, rng, case):
    q, k, v = _qkv(rng, device, length=2, source=3, e=2)
    kwargs = {}
    if case == "bool_mask":
        kwargs["attn_mask"] = make(np.array([[True, False, True], [False, True, True]]), device)
    elif case == "float_mask":  # the additive mask gets a gradient too
        kwargs["attn_mask"] = make(rng.standard_normal((2, 1, 2, 3)), device, True)
    elif case == "causal":
        kwargs["is_causal"] = True
    elif case == "broadcast":  # one key/value set shared by every batch entry
        k, v = (make(host(t)[0], device, True) for t in (k, v))
    inputs = (q, k, v) + tuple(kwargs.values())
    names = list(kwargs)
    assert gradcheck(lambda q, k, v, *m: F.scaled_dot_product_attention(q, k, v, **dict(zip(names, m))), inputs)


def test_sdpa_gradgradcheck(device, rng):
    q, k, v = _qkv(rng, device, batch=(), heads=1, length=2, source=3, e=2)
    mask = make(np.array([[True, False, True], [True, True, True]]), device)
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask, scale=0.7), (q, k, v))


def test_sdpa_grouped_query_attention(device, rng):
    q = make(rng.standard_normal((1, 4, 2, 3)), device, True)
    k = make(rng.standard_normal((1, 2, 3, 3)), device, True)
    v = make(rng.standard_normal((1, 2, 3, 2)), device, True)
    out = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    ref = _np_sdpa(host(q), np.repeat(host(k), 2, axis=1), np.repeat(host(v), 2, axis=1))
    np.testing.assert_allclose(host(out), ref, rtol=1e-12)
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True), (q, k, v))


def test_sdpa_fully_masked_row_gives_zeros(device, rng):
    q, k, v = _qkv(rng, device)
    keep = np.ones((3, 4), bool)
    keep[1] = False
    out = F.scaled_dot_product_attention(q, k, v, make(keep, device))
    out.sum().backward()
    got = host(out)
    assert np.all(got[..., 1, :] == 0) and np.isfinite(got).all()
    assert np.all(host(q.grad)[..., 1, :] == 0) and np.isfinite(host(k.grad)).all()
    rows = [0, 2]
    np.testing.assert_allclose(got[..., rows, :], _np_sdpa(host(q)[..., rows, :], host(k), host(v)), rtol=1e-12)


def test_sdpa_large_scores_stay_finite(device, rng):
    q, k, v = _qkv(rng, device)
    q = make(host(q) * 1e4, device, True)
    out = F.scaled_dot_product_attention(q, k, v)
    out.sum().backward()
    assert np.isfinite(host(out)).all() and np.isfinite(host(q.grad)).all() and np.isfinite(host(k.grad)).all()


def test_sdpa_dropout_only_when_asked(device, rng):
    q, k, v = _qkv(rng, device)
    plain = host(F.scaled_dot_product_attention(q, k, v))
    np.testing.assert_array_equal(host(F.scaled_dot_product_attention(q, k, v, dropout_p=0.0)), plain)
    lucid.manual_seed(0)
    dropped = host(F.scaled_dot_product_attention(q, k, v, dropout_p=0.5))
    assert not np.allclose(dropped, plain)
    assert np.all(host(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)) == 0)
    # dropout_p=0.5 weights are 0 or 2x the softmax: with v = ones the row sums are those weights' sums
    ones = make(np.ones(host(v).shape), device)
    sums = host(F.scaled_dot_product_attention(q, k, ones, dropout_p=0.5))[..., 0]
    assert np.all((sums >= 0) & (sums <= 2 + 1e-12))


def test_sdpa_errors(device, rng):
    q, k, v = _qkv(rng, device)
    with pytest.raises(RuntimeError, match="either attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, k, v, make(np.ones((3, 4), bool), device), is_causal=True)
    with pytest.raises(RuntimeError, match="feature size"):
        F.scaled_dot_product_attention(q, make(rng.standard_normal((2, 2, 4, 5)), device), v)
    with pytest.raises(RuntimeError, match="does not broadcast"):
        F.scaled_dot_product_attention(q, k, v, make(np.ones((3, 5), bool), device))
    with pytest.raises(TypeError, match="bool"):
        F.scaled_dot_product_attention(q, k, v, lucid.ones(3, 4, dtype=lucid.int64, device=device))
    with pytest.raises(TypeError, match="dtype"):
        F.scaled_dot_product_attention(q, k.to(lucid.float32), v)


def test_sdpa_matches_torch(device, rng):
    torch = pytest.importorskip("torch")
    keep = rng.random((3, 4)) < 0.7
    keep[:, 0] = True
    bias = rng.standard_normal((2, 1, 3, 4))
    cases = [({}, {}), ({"attn_mask": keep}, {}), ({"attn_mask": bias}, {}), ({"is_causal": True}, {}),
             ({"scale": 0.25}, {}), ({}, {"broadcast": True})]
    for kwargs, extra in cases:
        arrays = [rng.standard_normal(s) for s in ((2, 2, 3, 3), (2, 2, 4, 3), (2, 2, 4, 5))]
        if extra:
            arrays[1], arrays[2] = arrays[1][0], arrays[2][0]
        ours = [make(a, device, True) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        conv = {k: make(v, device) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        tconv = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        out, ref = F.scaled_dot_product_attention(*ours, **conv), torch.nn.functional.scaled_dot_product_attention(
            *theirs, **tconv)
        np.testing.assert_allclose(host(out), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
        w = rng.standard_normal(tuple(ref.shape))
        (out * make(w, device)).sum().backward()
        (ref * torch.tensor(w)).sum().backward()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(host(a.grad), b.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- MultiheadAttention ----------------------------------------------------------------------------------
def test_mha_parameters_and_init(device):
    lucid.manual_seed(0)
    m = nn.MultiheadAttention(16, 4, device=device)
    assert [n for n, _ in m.named_parameters()] == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                                     "out_proj.bias"]
    assert m.in_proj_weight.shape == (48, 16) and m.head_dim == 4
    bound = np.sqrt(6 / (48 + 16))  # xavier-uniform over the whole (3E, E) matrix, as PyTorch
    w = host(m.in_proj_weight)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.all(host(m.in_proj_bias) == 0) and np.all(host(m.out_proj.bias) == 0)
    other = nn.MultiheadAttention(6, 2, kdim=3, vdim=5, add_bias_kv=True, bias=False, device=device)
    shapes = {n: p.shape for n, p in other.named_parameters()}
    assert shapes == {"q_proj_weight": (6, 6), "k_proj_weight": (6, 3), "v_proj_weight": (6, 5), "bias_k": (1, 1, 6),
                      "bias_v": (1, 1, 6), "out_proj.weight": (6, 6)}
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(10, 3)


def test_mha_shapes(device, rng):
    m = nn.MultiheadAttention(4, 2, device=device)
    x = lucid.tensor(rng.standard_normal((5, 3, 4)), dtype=lucid.float32, device=device)
    out, w = m(x, x, x)
    assert out.shape == (5, 3, 4) and w.shape == (3, 5, 5)
    out, w = m(x, x, x, average_attn_weights=False)
    assert w.shape == (3, 2, 5, 5)
    assert m(x, x, x, need_weights=False)[1] is None
    unbatched, w = m(x[:, 0], x[:, 0], x[:, 0])  # (L, E) without a batch dimension
    assert unbatched.shape == (5, 4) and w.shape == (5, 5)
    np.testing.assert_allclose(host(unbatched), host(out)[:, 0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs", [{}, {"kdim": 3, "vdim": 2, "add_bias_kv": True, "add_zero_attn": True}])
def test_mha_gradcheck(device, rng, kwargs):
    m = nn.MultiheadAttention(4, 2, **kwargs, device=device).double()
    kdim, vdim = kwargs.get("kdim", 4), kwargs.get("vdim", 4)
    q = make(rng.standard_normal((2, 1, 4)), device, True)
    k = make(rng.standard_normal((3, 1, kdim)), device, True)
    v = make(rng.standard_normal((3, 1, vdim)), device, True)
    mask = make(np.array([[False, True, False], [False, False, False]]), device)
    module_gradcheck(m, (q, k, v), lambda q, k, v: m(q, k, v, attn_mask=mask))


def test_mha_self_attention_gradcheck(device, rng):
    """query is key is value: the one-GEMM projection path."""
    m = nn.MultiheadAttention(4, 2, batch_first=True, device=device).double()
    x = make(rng.standard_normal((1, 3, 4)), device, True)
    pad = make(np.array([[False, False, True]]), device)
    module_gradcheck(m, (x,), lambda x: m(x, x, x, key_padding_mask=pad))


def test_mha_dropout_follows_train_and_eval(device, rng):
    m = nn.MultiheadAttention(8, 2, dropout=0.5, device=device).double()
    x = make(rng.standard_normal((6, 2, 8)), device)
    m.eval()
    out1, w1 = m(x, x, x, average_attn_weights=False)
    out2, _ = m(x, x, x)
    np.testing.assert_array_equal(host(out1), host(out2))  # no dropout in eval (upstream Lucid's bug)
    m.train()
    lucid.manual_seed(1)
    out3, w3 = m(x, x, x, average_attn_weights=False)
    assert not np.allclose(host(out3), host(out1))
    # training weights are the eval weights dropped (0) or scaled by 1 / (1 - p)
    w1, w3 = host(w1), host(w3)
    assert np.all(np.isclose(w3, 0) | np.isclose(w3, 2 * w1)) and np.any(w3 == 0)


def test_mha_masks(device, rng):
    m = nn.MultiheadAttention(4, 2, device=device).double()
    x = make(rng.standard_normal((3, 2, 4)), device)
    pad = np.array([[False, False, True], [False, True, True]])
    _, w = m(x, x, x, key_padding_mask=make(pad, device))
    w = host(w)
    assert np.all(w[pad[:, None, :].repeat(3, 1)] == 0)
    np.testing.assert_allclose(w.sum(-1), 1, rtol=1e-12)
    # a float mask of -inf equals the bool mask; a (N*heads, L, S) mask is accepted
    causal = nn.Transformer.generate_square_subsequent_mask(3, device=device, dtype=lucid.float64)
    a, wa = m(x, x, x, attn_mask=causal)
    b, wb = m(x, x, x, attn_mask=make(np.triu(np.ones((3, 3), bool), 1), device))
    c, _ = m(x, x, x, attn_mask=causal.expand(4, 3, 3))
    np.testing.assert_allclose(host(a), host(b), rtol=1e-12)
    np.testing.assert_allclose(host(a), host(c), rtol=1e-12)
    np.testing.assert_allclose(host(m(x, x, x, attn_mask=causal.to(lucid.float32))[0]), host(a), rtol=1e-12)
    assert np.all(np.triu(host(wa)[0], 1) == 0)
    with pytest.raises(RuntimeError, match="attn_mask must have shape"):
        m(x, x, x, attn_mask=make(np.ones((2, 3), bool), device))
    with pytest.raises(RuntimeError, match="key_padding_mask must have shape"):
        m(x, x, x, key_padding_mask=make(np.ones((3, 2), bool), device))
    with pytest.raises(RuntimeError, match="is_causal"):
        m(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="features"):
        m(x[..., :3], x, x)


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")  # torch's, for bool + float masks
@pytest.mark.parametrize("kwargs", [
    {}, {"batch_first": True, "kdim": 3, "vdim": 5}, {"add_bias_kv": True, "add_zero_attn": True, "bias": False},
])
def test_mha_matches_torch(device, rng, kwargs):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.MultiheadAttention(8, 2, **kwargs)
    ours = nn.MultiheadAttention(8, 2, **kwargs)
    load_torch(ours, theirs, device)
    n, length, source = 3, 4, 5
    shapes = [(length, n, 8), (source, n, kwargs.get("kdim", 8)), (source, n, kwargs.get("vdim", 8))]
    arrays = [rng.standard_normal((s[1], s[0], s[2]) if kwargs.get("batch_first") else s) for s in shapes]
    pad = rng.random((n, source)) < 0.3
    pad[:, 0] = False
    mask = rng.standard_normal((length, source))
    for extra in ({"key_padding_mask": pad, "attn_mask": mask}, {"attn_mask": mask < -1, "need_weights": False},
                  {"key_padding_mask": pad, "average_attn_weights": False}):
        ours.zero_grad()
        theirs.zero_grad()
        mine = [make(a, device, True) for a in arrays]
        ref = [torch.tensor(a, requires_grad=True) for a in arrays]
        our_kw = {k: make(v, device) if isinstance(v, np.ndarray) else v for k, v in extra.items()}
        their_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in extra.items()}
        compare_with_torch(torch, Call(ours, **our_kw), Call(theirs, **their_kw), mine, ref, rng)


def test_mha_self_attention_matches_torch(device, rng):
    torch = pytest.importorskip("torch")
    theirs, ours = torch.nn.MultiheadAttention(8, 4, batch_first=True), nn.MultiheadAttention(8, 4, batch_first=True)
    load_torch(ours, theirs, device)
    a = rng.standard_normal((2, 5, 8))
    x, tx = make(a, device, True), torch.tensor(a, requires_grad=True)
    compare_with_torch(torch, SelfCall(ours), SelfCall(theirs), [x], [tx], rng)


# ---- F.multi_head_attention_forward ---------------------------------------------------------------------
_E, _HEADS, _L, _S, _N = 6, 2, 3, 4, 2
MHA_CASES = {
    # name: (tensor arguments as shapes (None: not given), keyword arguments, unbatched)
    "packed, masks, static k/v, zero attn": (
        {"in_proj_weight": (3 * _E, _E), "in_proj_bias": (3 * _E,), "static_k": (_N * _HEADS, _S, _E // _HEADS),
         "static_v": (_N * _HEADS, _S, _E // _HEADS)},
        {"add_zero_attn": True, "key_padding_mask": "pad", "attn_mask": "float"}, False),
    "separate kdim/vdim, bias_k/v, per-head weights": (
        {"q_proj_weight": (_E, _E), "k_proj_weight": (_E, 5), "v_proj_weight": (_E, 3), "in_proj_bias": (3 * _E,),
         "bias_k": (1, 1, _E), "bias_v": (1, 1, _E)},
        {"use_separate_proj_weight": True, "attn_mask": "bool", "average_attn_weights": False}, False),
    "unbatched, no weights": (
        {"in_proj_weight": (3 * _E, _E)}, {"key_padding_mask": "pad", "need_weights": False}, True),
}


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")  # torch's, for bool + float masks
@pytest.mark.parametrize("case", sorted(MHA_CASES))
def test_multi_head_attention_forward_matches_torch(device, rng, case):
    """Values and the gradients of every tensor argument (inputs and weights) against torch's function."""
    torch = pytest.importorskip("torch")
    tensors, options, unbatched = MHA_CASES[case]
    kdim, vdim = (tensors.get("k_proj_weight", (0, _E))[1], tensors.get("v_proj_weight", (0, _E))[1])
    batch = () if unbatched else (_N,)
    arrays = {"query": rng.standard_normal((_L, *batch, _E)), "key": rng.standard_normal((_S, *batch, kdim)),
              "value": rng.standard_normal((_S, *batch, vdim)), "out_proj_weight": rng.standard_normal((_E, _E)),
              "out_proj_bias": rng.standard_normal(_E)}
    arrays.update({name: rng.standard_normal(shape) for name, shape in tensors.items()})
    pad = rng.random((*batch, _S)) < 0.4
    pad[..., 0] = False
    masks = {"pad": pad, "float": rng.standard_normal((_L, _S)), "bool": rng.random((_L, _S)) < 0.3}
    fixed = {k: masks[v] if isinstance(v, str) else v for k, v in options.items()}
    names = list(arrays)

    def call(module, tensor, values):
        kw = {"bias_k": None, "bias_v": None, "add_zero_attn": False, "in_proj_weight": None, "in_proj_bias": None,
              "dropout_p": 0.0, "training": True}
        kw.update(zip(names, values))
        kw.update({k: tensor(v) if isinstance(v, np.ndarray) else v for k, v in fixed.items()})
        return module.multi_head_attention_forward(embed_dim_to_check=_E, num_heads=_HEADS, **kw)

    mine = [make(arrays[n], device, True) for n in names]
    ref = [torch.tensor(arrays[n], requires_grad=True) for n in names]
    ours, theirs = call(F, lambda a: make(a, device), mine), call(torch.nn.functional, torch.tensor, ref)
    assert (ours[1] is None) == (theirs[1] is None) == (fixed.get("need_weights") is False)
    outs = [(o, t) for o, t in zip(ours, theirs) if t is not None]
    weights = [rng.standard_normal(tuple(t.shape)) for _, t in outs]
    for (o, t) in outs:
        np.testing.assert_allclose(host(o), t.detach().numpy(), rtol=1e-10, atol=1e-12)
    sum((o * make(w, device)).sum() for (o, _), w in zip(outs, weights)).backward()
    sum((t * torch.tensor(w)).sum() for (_, t), w in zip(outs, weights)).backward()
    for name, a, b in zip(names, mine, ref):
        if b.grad is None:  # key/value under static_k/static_v: projected, then replaced
            assert a.grad is None or not host(a.grad).any(), name
            continue
        np.testing.assert_allclose(host(a.grad), b.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_multi_head_attention_forward_gradcheck(device, rng):
    """Inputs and weights together, with a static key and the zero key (second order through attention())."""
    q, k, v = (make(rng.standard_normal(s), device, True) for s in ((2, 1, 4), (3, 1, 4), (3, 1, 4)))
    w_in, w_out = make(rng.standard_normal((12, 4)), device, True), make(rng.standard_normal((4, 4)), device, True)
    static_k = make(rng.standard_normal((2, 3, 2)), device, True)

    def f(q, k, v, w_in, w_out, static_k):
        return F.multi_head_attention_forward(q, k, v, 4, 2, w_in, None, None, None, True, 0.0, w_out, None,
                                              static_k=static_k)[0]

    assert gradcheck(f, (q, k, v, w_in, w_out, static_k))
    assert gradgradcheck(f, (q, k, v, w_in, w_out, static_k))


def test_multi_head_attention_forward_errors(device, rng):
    x = make(rng.standard_normal((3, 2, 4)), device)
    w, wo = make(rng.standard_normal((12, 4)), device), make(rng.standard_normal((4, 4)), device)
    bias_k = make(rng.standard_normal((1, 1, 4)), device)

    def call(**kw):
        args = dict(query=x, key=x, value=x, embed_dim_to_check=4, num_heads=2, in_proj_weight=w, in_proj_bias=None,
                    bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0.0, out_proj_weight=wo,
                    out_proj_bias=None)
        return F.multi_head_attention_forward(**{**args, **kw})

    with pytest.raises(RuntimeError, match=r"static_k must have shape \(4, S, 2\)"):
        call(static_k=make(rng.standard_normal((2, 3, 2)), device))
    with pytest.raises(RuntimeError, match="cannot be added to static_k"):
        call(bias_k=bias_k, bias_v=bias_k, static_k=make(rng.standard_normal((4, 3, 2)), device))
    with pytest.raises(RuntimeError, match="projection weights are missing"):
        call(use_separate_proj_weight=True)
    with pytest.raises(ValueError, match="positive multiple of num_heads"):
        call(num_heads=3)
    with pytest.raises(RuntimeError, match="must have 6 features"):
        call(embed_dim_to_check=6)
