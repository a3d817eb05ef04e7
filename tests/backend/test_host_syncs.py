"""No hidden host syncs (DESIGN.md decision 11): a training step on a device that stands in for a
GPU (array-api-strict's ``strict:1``) converts nothing to the host except where documented.

Each model runs one warm-up step (optimizer state is created then), then one watched step:
forward, loss, backward, optimizer step, ``zero_grad``; also with ``lucid.amp.GradScaler``.
array-api-strict has no float16, so the AMP steps scale the loss of a float32 model (``autocast``
itself only inserts casts, which never read data).
"""

from __future__ import annotations

import contextlib

import pytest
from sync_counting import gpu_like, host_syncs  # noqa: F401 (fixtures)

import lucid
import lucid.nn.functional as F
from lucid import nn

# The syncs a training step may make, in one place: a pattern of the sync's lucid frames -> why it stays.
DOCUMENTED_SYNCS = {
    "amp/grad_scaler.py:": "GradScaler.step reads whether the unscaled gradients were finite, once per device, to "
                           "skip the step (PyTorch's GradScaler makes the same read: found_inf.item())",
    "optim/adafactor.py:": "Adafactor reads rms(p) as a number for each parameter's step size (PyTorch's Adafactor "
                           "does too: param.norm().item())",
}
# optimizers outside the zero-sync check, and why
UNCHECKED_OPTIMIZERS = {
    "SparseAdam": "refuses the dense gradients of this check's step (as PyTorch's); tests/ops/test_sparse_training.py "
                  "trains it with sparse ones",
    "LBFGS": "its line search decides on host numbers (losses, directional derivatives), as PyTorch's",
}


def _mlp(dev):
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)).to(dev)
    x, y = lucid.randn(5, 8, device=dev), lucid.randint(0, 4, (5,), device=dev)
    return model, lucid.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), lambda: F.cross_entropy(model(x), y)


def _cnn(dev):
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, padding=1), nn.AvgPool2d(2), nn.MaxPool2d(3, stride=1, padding=1),
        nn.Flatten(), nn.Linear(16, 3),
    ).to(dev)
    x, y = lucid.randn(2, 3, 8, 8, device=dev), lucid.randint(0, 3, (2,), device=dev)
    return model, lucid.optim.Adam(model.parameters(), lr=1e-3), lambda: F.cross_entropy(model(x), y)


class _Block(nn.Module):
    """A GPT block: pre-LayerNorm causal self-attention and a GELU MLP, both residual."""

    def __init__(self, width=16, heads=2):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
        self.heads = heads

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = (h.view(b, t, self.heads, c // self.heads).transpose(1, 2)
                   for h in self.qkv(self.ln1(x)).split(c, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, c)
        x = x + self.proj(y)
        return x + self.mlp(self.ln2(x))


class _Heads(nn.Module):
    """Token embedding, a body, and a linear head over the vocabulary."""

    def __init__(self, vocab, width, body):
        super().__init__()
        self.embed, self.body, self.head = nn.Embedding(vocab, width), body, nn.Linear(width, vocab)

    def forward(self, tokens):
        h = self.body(self.embed(tokens))
        return self.head(h[0] if isinstance(h, tuple) else h)


def _language_model(dev, body, optimizer, clip):
    vocab = 11
    model = _Heads(vocab, 16, body).to(dev)
    x, y = lucid.randint(0, vocab, (2, 5), device=dev), lucid.randint(0, vocab, (2, 5), device=dev)
    opt = optimizer(model.parameters())
    loss = (lambda: F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1)))
    return model, opt, loss, clip


def _gpt(dev):
    return _language_model(dev, _Block(), lambda ps: lucid.optim.AdamW(ps, lr=1e-3), clip=1.0)


def _lstm(dev):
    return _language_model(dev, nn.LSTM(16, 16, batch_first=True), lambda ps: lucid.optim.SGD(ps, lr=0.1), clip=None)


def _encoder(dev):
    """A TransformerEncoderLayer (MultiheadAttention, dropout, a causal mask), AdamW with weight decay."""
    layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.1, batch_first=True)
    mask = nn.Transformer.generate_square_subsequent_mask(5, device=dev)
    opt = lambda ps: lucid.optim.AdamW(ps, lr=1e-3, weight_decay=0.1)  # noqa: E731
    return _language_model(dev, _Masked(layer, mask), opt, clip=0.5)


class _Masked(nn.Module):
    def __init__(self, layer, mask):
        super().__init__()
        self.layer, self.mask = layer, mask

    def forward(self, x):
        return self.layer(x, src_mask=self.mask, is_causal=True)


def _gru(dev):
    """A two-layer GRU with dropout, label smoothing, Nesterov SGD with weight decay."""
    vocab = 11
    model = _Heads(vocab, 16, nn.GRU(16, 16, num_layers=2, batch_first=True, dropout=0.2)).to(dev)
    x, y = lucid.randint(0, vocab, (3, 4), device=dev), lucid.randint(0, vocab, (3, 4), device=dev)
    opt = lucid.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    return model, opt, lambda: F.cross_entropy(model(x).transpose(1, 2), y, label_smoothing=0.1)


MODELS = {"mlp": _mlp, "cnn": _cnn, "gpt": _gpt, "lstm": _lstm, "encoder": _encoder, "gru": _gru}


def _trainer(make, dev, scaled):
    model, opt, loss_fn, *clip = make(dev)
    clip = clip[0] if clip else None
    scaler = lucid.amp.GradScaler("strict", enabled=scaled)

    def step():
        scaler.scale(loss_fn()).backward()
        if clip is not None:
            scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()

    return model, step


@pytest.mark.parametrize("scaled", [False, True], ids=["plain", "grad_scaler"])
@pytest.mark.parametrize("name", list(MODELS))
def test_training_step_has_no_hidden_host_sync(name, scaled, gpu_like, host_syncs):  # noqa: F811
    model, step = _trainer(MODELS[name], gpu_like, scaled)
    step()  # warm-up: optimizer state is created here
    before = [p.detach().clone() for p in model.parameters()]
    with host_syncs.watch():
        step()
    host_syncs.assert_none(allowed=tuple(DOCUMENTED_SYNCS) if scaled else ())
    # the step did train (the watched code is the real step, not a no-op)
    assert any(not lucid.equal(a, p.detach()) for a, p in zip(before, model.parameters()))
    if scaled:  # exactly the documented read: one per device per step
        assert len(host_syncs.events) == 1, host_syncs.report()


# ---- single ops: forward and backward -------------------------------------------------------------
def _op_cases(dev):
    lucid.manual_seed(0)

    def leaf(*shape):
        return lucid.randn(*shape, device=dev, requires_grad=True)

    x, x2 = leaf(4, 6), leaf(4, 6)
    probs = lucid.rand(4, 6, device=dev, requires_grad=True)
    soft = lucid.rand(4, 6, device=dev)
    pm1 = lucid.where(lucid.rand(4, device=dev) > 0.5, 1.0, -1.0)
    pm1_grid = lucid.where(soft > 0.5, 1.0, -1.0)
    classes = lucid.randint(0, 6, (4,), device=dev)
    rows = lucid.randint(0, 4, (3,), device=dev)
    image = leaf(2, 3, 8, 8)
    table = leaf(10, 3)
    ids, offsets = lucid.randint(0, 10, (7,), device=dev), lucid.tensor([0, 3, 3, 5], device=dev)

    def setitem():
        y = x * 1
        y[rows] = 0.0
        y[:, 1] = x2[:, 2]
        y[rows, classes[:3]] = x2[0, :3]
        return y

    return {
        "clamp": lambda: x.clamp(-0.5, 0.5),
        "clamp_min": lambda: x.clamp(min=0.1),
        "clamp_tensors": lambda: x.clamp(min=x2, max=x2 + 1),
        "hardtanh": lambda: F.hardtanh(x),
        "relu6": lambda: F.relu6(x * 4),
        "hardsigmoid": lambda: F.hardsigmoid(x * 4),
        "hardswish": lambda: F.hardswish(x * 4),
        "abs": lambda: x.abs(),
        "sign": lambda: x.sign() * x,
        "binary_cross_entropy": lambda: F.binary_cross_entropy(probs, soft),
        "binary_cross_entropy_with_logits": lambda: F.binary_cross_entropy_with_logits(x, soft),
        "normalize": lambda: F.normalize(x, dim=1),
        "margin_ranking_loss": lambda: F.margin_ranking_loss(x[:, 0], x[:, 1], pm1),
        "hinge_embedding_loss": lambda: F.hinge_embedding_loss(x, pm1_grid),
        "soft_margin_loss": lambda: F.soft_margin_loss(x, pm1_grid),
        "multi_margin_loss": lambda: F.multi_margin_loss(x, classes),
        "multilabel_margin_loss": lambda: F.multilabel_margin_loss(x, lucid.randint(-1, 6, (4, 6), device=dev)),
        "multilabel_soft_margin_loss": lambda: F.multilabel_soft_margin_loss(x, (soft > 0.5).float()),
        "triplet_margin_loss": lambda: F.triplet_margin_loss(x, x2, probs),
        "cosine_embedding_loss": lambda: F.cosine_embedding_loss(x, x2, pm1),
        "cross_entropy": lambda: F.cross_entropy(x, classes),
        "nll_loss": lambda: F.nll_loss(F.log_softmax(x, dim=1), classes, ignore_index=2),
        "drop_block": lambda: F.drop_block(image, 3, 0.2),
        "max_pool_padded": lambda: F.max_pool2d(image, 2, padding=1),
        "max_pool_overlapping": lambda: F.max_pool2d(image, 3, stride=2, padding=1),
        "embedding": lambda: F.embedding(ids, table, padding_idx=0),
        **{f"embedding_bag_{mode}": (lambda mode=mode: F.embedding_bag(ids, table, offsets, mode=mode))
           for mode in ("sum", "mean", "max")},
        "embedding_bag_last_offset": lambda: F.embedding_bag(ids, table, offsets, include_last_offset=True,
                                                             padding_idx=3),
        "embedding_bag_2d": lambda: F.embedding_bag(ids[:6].reshape(2, 3), table, mode="max"),
        "setitem": setitem,
        "getitem": lambda: x[rows, classes[:3]] + x[rows][:, 1:3].sum(),
        "scatter": lambda: x.scatter(1, classes.reshape(4, 1), x2[:, :1]),
        "scatter_add": lambda: x.scatter_add(1, lucid.randint(0, 6, (4, 3), device=dev), x2[:, :3]),
        "scatter_reduce_amax": lambda: x.scatter_reduce(1, lucid.randint(0, 6, (4, 3), device=dev), x2[:, :3], "amax"),
        "gather": lambda: x.gather(1, lucid.randint(0, 6, (4, 3), device=dev)),
        "index_put": lambda: x.index_put((rows,), x2[0]),
    }


OPS = list(_op_cases(lucid.device("cpu")))


@pytest.mark.parametrize("name", OPS)
def test_op_forward_and_backward_have_no_host_sync(name, gpu_like, host_syncs):  # noqa: F811
    op = _op_cases(gpu_like)[name]
    op().sum().backward()  # warm-up (nothing is cached today; keeps the test honest if something is)
    with host_syncs.watch():
        out = op()
        out.sum().backward()
    host_syncs.assert_none()


OPTIMIZERS = sorted(name for name, cls in vars(lucid.optim).items() if isinstance(cls, type)
                    and issubclass(cls, lucid.optim.Optimizer) and cls is not lucid.optim.Optimizer
                    and name not in UNCHECKED_OPTIMIZERS)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_optimizer_step_has_no_host_sync(optimizer, gpu_like, host_syncs):  # noqa: F811
    w = nn.Parameter(lucid.randn(5, 3, device=gpu_like))
    opt = getattr(lucid.optim, optimizer)([w], lr=0.01)
    for watched in (False, True):  # the first step creates the state
        with host_syncs.watch() if watched else contextlib.nullcontext():
            (w * w).sum().backward()
            opt.step()
            opt.zero_grad()
    host_syncs.assert_none(allowed=tuple(DOCUMENTED_SYNCS))


def test_counter_sees_each_kind_of_host_read(gpu_like, host_syncs):  # noqa: F811
    """The counter itself: every way of reading a device value is recorded, with the lucid frame."""
    t = lucid.tensor([1.0, -2.0, 3.0], device=gpu_like)
    with host_syncs.watch():
        t.sum().item()
        bool(t[0] > 0)
        t.tolist()
        t[t > 0]  # a boolean mask: the result's shape is data
        t.nonzero()
    kinds = [what for what, _ in host_syncs.events]
    assert kinds.count("backend.to_numpy") == 3 and kinds.count("xp.nonzero") == 2, host_syncs.report()
    assert all(where.startswith("lucid/") for _, where in host_syncs.events), host_syncs.report()
    raw = t._data
    with host_syncs.watch():
        raw[raw > 0]
        raw[raw > 0] = 0.0
        float(raw[0])
        raw[1:] = raw[:2]  # neither a read nor a mask: not counted
    assert [what for what, _ in host_syncs.events[5:]] == ["boolean-mask indexing", "masked write", "Array.__float__"]
    with pytest.raises(AssertionError, match="hidden host sync"):
        host_syncs.assert_none()
    host_syncs.clear()
    t.sum().item()  # not watched: not counted
    assert host_syncs.events == []
