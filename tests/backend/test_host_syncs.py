"""No hidden host syncs (DESIGN.md decision 11): a training step on a device that stands in for a
GPU (array-api-strict's ``strict:1``) converts nothing to the host except where documented.

Each model runs one warm-up step (optimizer state is created then), then one watched step:
forward, loss, backward, optimizer step, ``zero_grad``; also with ``lucid.amp.GradScaler``.
array-api-strict has no float16, so the AMP steps scale the loss of a float32 model (``autocast``
itself only inserts casts, which never read data).
"""

from __future__ import annotations

import pytest
from sync_counting import gpu_like, host_syncs  # noqa: F401 (fixtures)

import lucid
import lucid.nn.functional as F
from lucid import nn

# The syncs a training step may make, in one place: ("file.py:function" found in the sync's frames, why).
DOCUMENTED_SYNCS = {
    "grad_scaler.py:": "GradScaler.step reads whether the unscaled gradients were finite, once per device, to skip "
                       "the step (PyTorch's GradScaler makes the same read: found_inf.item())",
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


MODELS = {"mlp": _mlp, "cnn": _cnn, "gpt": _gpt, "lstm": _lstm}


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
