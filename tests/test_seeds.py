"""Every example of the two documents lucid was started from (the "seeds"), run on lucid on
every backend.

Seed 000 is upstream Lucid's documentation page on ``lucid.nn.Buffer``; seed 002 is a tutorial
notebook on PyTorch's ``register_buffer`` and ``nn.Buffer``. The examples are written as in the
seeds, ``torch`` replaced by ``lucid``; tensors are made on the test's ``device`` (the seeds use
the default device) so every op runs on every backend. Values are checked against NumPy (and
PyTorch where installed).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import lucid
import lucid.nn as nn
from lucid.serialization import load, save


def host(t):
    return t.detach().numpy(force=True)


# ---- seed 002, "Суурь хэрэглээ" (basic use) -----------------------------------------------------
class MyModel(nn.Module):
    def __init__(self, input_size, hidden_size, device=None):
        super().__init__()
        self.weight = nn.Parameter(lucid.randn(hidden_size, input_size, device=device))
        self.register_buffer("running_mean", lucid.zeros(hidden_size, device=device))
        self.register_buffer("running_var", lucid.ones(hidden_size, device=device))
        self.register_buffer("temp_buffer", lucid.tensor([1.0, 2.0, 3.0], device=device), persistent=False)

    def forward(self, x):
        normalized = (x - self.running_mean) / lucid.sqrt(self.running_var + 1e-5)
        return lucid.matmul(normalized, self.weight.t())


def test_my_model(device, rng):
    model = MyModel(input_size=10, hidden_size=5, device=device)
    assert [(name, p.shape) for name, p in model.named_parameters()] == [("weight", (5, 10))]
    np.testing.assert_array_equal(host(model.running_mean), np.zeros(5))
    np.testing.assert_array_equal(host(model.running_var), np.ones(5))
    assert list(model.state_dict()) == ["weight", "running_mean", "running_var"]  # temp_buffer is not persistent
    assert "temp_buffer" in dict(model.named_buffers())


def test_my_model_forward(device, rng):
    """The seed's forward normalises the input with hidden_size statistics, so it runs when
    input_size == hidden_size (the notebook never calls it)."""
    model = MyModel(input_size=5, hidden_size=5, device=device)
    with lucid.no_grad():
        model.running_mean.fill_(0.5)
        model.running_var.fill_(4.0)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    out = model(lucid.tensor(x, device=device))
    want = ((x - 0.5) / np.sqrt(4.0 + 1e-5)) @ host(model.weight).T
    np.testing.assert_allclose(host(out), want, rtol=1e-5, atol=1e-5)
    out.sum().backward()
    assert model.weight.grad.shape == (5, 5) and model.running_mean.grad is None


# ---- seed 002, example 1: SimpleModel -------------------------------------------------------
class SimpleModel(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.register_buffer("mean", lucid.tensor([0.0], device=device))
        self.register_buffer("std", lucid.tensor([1.0], device=device))
        self.count = lucid.tensor(0, device=device)  # "this does not become a buffer!"

    def forward(self, x):
        return (x - self.mean) / self.std


def test_simple_model(device_pair):
    here, there = device_pair
    model = SimpleModel(here)
    assert [name for name, _ in model.named_buffers()] == ["mean", "std"]
    assert list(model.state_dict()) == ["mean", "std"]
    model.to(there)
    assert model.mean.device is there and model.count.device is here  # count is not module state
    x = lucid.tensor([1.0, 2.0], device=there)
    np.testing.assert_array_equal(host(model(x)), [1.0, 2.0])


# ---- seed 002, example 2: CustomBatchNorm ---------------------------------------------------
class CustomBatchNorm(nn.Module):
    def __init__(self, num_features, momentum=0.1, device=None):
        super().__init__()
        self.num_features = num_features
        self.momentum = momentum
        self.weight = nn.Parameter(lucid.ones(num_features, device=device))
        self.bias = nn.Parameter(lucid.zeros(num_features, device=device))
        self.register_buffer("running_mean", lucid.zeros(num_features, device=device))
        self.register_buffer("running_var", lucid.ones(num_features, device=device))
        self.register_buffer("num_batches_tracked", lucid.tensor(0, dtype=lucid.long, device=device))

    def forward(self, x):
        if self.training:
            mean = x.mean(dim=0)
            var = x.var(dim=0, unbiased=False)
            self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean
            self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var
            self.num_batches_tracked += 1
            x_normalized = (x - mean) / lucid.sqrt(var + 1e-5)
        else:
            x_normalized = (x - self.running_mean) / lucid.sqrt(self.running_var + 1e-5)
        return self.weight * x_normalized + self.bias


def _numpy_batchnorm(batches, eval_batch, momentum=0.1):
    mean, var = np.zeros(batches[0].shape[1]), np.ones(batches[0].shape[1])
    outs = []
    for x in batches:
        m, v = x.mean(0), x.var(0)
        mean, var = (1 - momentum) * mean + momentum * m, (1 - momentum) * var + momentum * v
        outs.append((x - m) / np.sqrt(v + 1e-5))
    return outs, mean, var, (eval_batch - mean) / np.sqrt(var + 1e-5)


def test_custom_batchnorm_train_eval(device, rng):
    bn = CustomBatchNorm(4, device=device)
    batches = [rng.standard_normal((8, 4)) * 3 + 1 for _ in range(3)]
    eval_batch = rng.standard_normal((5, 4))
    want_train, want_mean, want_var, want_eval = _numpy_batchnorm(batches, eval_batch)
    buffers = list(bn.buffers())
    for x, want in zip(batches, want_train):
        out = bn(lucid.tensor(x, dtype=lucid.float32, device=device))
        np.testing.assert_allclose(host(out), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(host(bn.running_mean), want_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(bn.running_var), want_var, rtol=1e-5, atol=1e-6)
    assert bn.num_batches_tracked.item() == 3 and bn.num_batches_tracked.dtype is lucid.int64
    assert bn.num_batches_tracked is buffers[2]  # `+=` updates the buffer in place
    assert all(isinstance(b, nn.Buffer) and not b.requires_grad for b in bn.buffers())
    bn.eval()
    out = bn(lucid.tensor(eval_batch, dtype=lucid.float32, device=device))
    np.testing.assert_allclose(host(out), want_eval, rtol=1e-4, atol=1e-5)
    assert bn.num_batches_tracked.item() == 3
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def test_custom_batchnorm_with_grad_input_and_torch_oracle(rng):
    torch = pytest.importorskip("torch")

    class TorchBN(torch.nn.Module):
        forward = CustomBatchNorm.forward

        def __init__(self, n, momentum=0.1):
            super().__init__()
            self.momentum = momentum
            self.weight = torch.nn.Parameter(torch.ones(n))
            self.bias = torch.nn.Parameter(torch.zeros(n))
            self.register_buffer("running_mean", torch.zeros(n))
            self.register_buffer("running_var", torch.ones(n))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    x, c = rng.standard_normal((2, 6, 3)).astype(np.float32)
    ours, theirs = CustomBatchNorm(3), TorchBN(3)
    xo, xt = lucid.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    global_lucid = CustomBatchNorm.forward.__globals__
    (ours(xo) * lucid.tensor(c)).sum().backward()
    global_lucid["lucid"], saved = torch, global_lucid["lucid"]  # the same forward code, run by torch
    try:
        (theirs(xt) * torch.tensor(c)).sum().backward()
    finally:
        global_lucid["lucid"] = saved
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(ours.running_var), theirs.running_var.detach().numpy(), rtol=1e-6)
    assert not ours.running_mean.requires_grad  # lucid's buffers stay out of the graph


def test_custom_batchnorm_moves_copies_and_saves(device_pair, tmp_path, rng):
    """Seed 002's notes: buffers follow to(device), save/load and copy.deepcopy."""
    here, there = device_pair
    bn = CustomBatchNorm(3, device=here)
    bn(lucid.tensor(rng.standard_normal((4, 3)), dtype=lucid.float32, device=here))
    bn.to(there)
    assert all(t.device is there for t in list(bn.parameters()) + list(bn.buffers()))
    bn(lucid.tensor(rng.standard_normal((4, 3)), dtype=lucid.float32, device=there))
    assert bn.num_batches_tracked.item() == 2 and bn.num_batches_tracked.dtype is lucid.int64
    twin = copy.deepcopy(bn)
    assert twin.running_mean is not bn.running_mean and twin.running_mean.device is there
    np.testing.assert_array_equal(host(twin.running_var), host(bn.running_var))
    save(bn, tmp_path / "bn.lcd")
    fresh = CustomBatchNorm(3, device=here)
    fresh.load_state_dict(load(tmp_path / "bn.lcd"))
    assert fresh.running_mean.device is here and fresh.num_batches_tracked.item() == 2
    np.testing.assert_array_equal(host(fresh.running_mean), host(bn.running_mean))


# ---- seed 002, example 3: positional encoding ----------------------------------------------
class TransformerModel(nn.Module):
    def __init__(self, d_model, max_len=5000, device=None):
        super().__init__()
        self.d_model = d_model
        pe = lucid.zeros(max_len, d_model, device=device)
        position = lucid.arange(0, max_len, dtype=lucid.float, device=device).unsqueeze(1)
        div_term = lucid.exp(lucid.arange(0, d_model, 2, device=device).float()
                             * (-lucid.log(lucid.tensor(10000.0, device=device)) / d_model))
        pe[:, 0::2] = lucid.sin(position * div_term)
        pe[:, 1::2] = lucid.cos(position * div_term)
        pe = pe.unsqueeze(0)
        self.register_buffer("pe", pe)

    def forward(self, x):
        seq_len = x.size(1)
        return x + self.pe[:, :seq_len]


def _numpy_pe(max_len, d_model):
    position = np.arange(max_len, dtype=np.float64)[:, None]
    div_term = np.exp(np.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
    pe = np.zeros((max_len, d_model))
    pe[:, 0::2], pe[:, 1::2] = np.sin(position * div_term), np.cos(position * div_term)
    return pe[None]


def test_positional_encoding(device, rng):
    model = TransformerModel(d_model=8, max_len=50, device=device)
    assert isinstance(model.pe, nn.Buffer) and model.pe.shape == (1, 50, 8) and model.pe.dtype is lucid.float32
    np.testing.assert_allclose(host(model.pe), _numpy_pe(50, 8), rtol=1e-5, atol=1e-5)
    x = rng.standard_normal((2, 7, 8)).astype(np.float32)
    xt = lucid.tensor(x, device=device, requires_grad=True)
    out = model(xt)
    np.testing.assert_allclose(host(out), x + _numpy_pe(50, 8)[:, :7], rtol=1e-5, atol=1e-5)
    out.sum().backward()
    np.testing.assert_array_equal(host(xt.grad), np.ones_like(x))
    assert model.pe.grad is None and list(model.state_dict()) == ["pe"] and list(model.parameters()) == []


# ---- seed 002, example 4: persistent vs non-persistent -----------------------------------------
class BufferExample(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.register_buffer("important_stats", lucid.tensor([1.0, 2.0, 3.0], device=device), persistent=True)
        self.register_buffer("temp_cache", lucid.zeros(10, 10, device=device), persistent=False)
        self.register_buffer("default_buffer", lucid.ones(5, device=device))

    def state_dict_example(self):
        state = self.state_dict()
        print("State dict keys:", list(state.keys()))


def test_buffer_example_state_dict_keys(device, capsys):
    model = BufferExample(device)
    model.state_dict_example()
    assert capsys.readouterr().out == "State dict keys: ['important_stats', 'default_buffer']\n"
    assert [n for n, _ in model.named_buffers()] == ["important_stats", "temp_cache", "default_buffer"]


# ---- seed 002, other uses 1: mask -------------------------------------------------------------
class MaskedLayer(nn.Module):
    def __init__(self, size, device=None):
        super().__init__()
        mask = lucid.tril(lucid.ones(size, size, device=device))
        self.register_buffer("mask", mask)
        self.weight = nn.Parameter(lucid.randn(size, size, device=device))

    def forward(self, x):
        masked_weight = self.weight * self.mask
        return lucid.matmul(x, masked_weight)


def test_masked_layer(device, rng):
    layer = MaskedLayer(4, device=device)
    np.testing.assert_array_equal(host(layer.mask), np.tril(np.ones((4, 4))))
    x = rng.standard_normal((3, 4)).astype(np.float32)
    out = layer(lucid.tensor(x, device=device))
    w = host(layer.weight)
    np.testing.assert_allclose(host(out), x @ (w * np.tril(np.ones((4, 4)))), rtol=1e-5, atol=1e-5)
    out.sum().backward()
    grad = host(layer.weight.grad)
    np.testing.assert_allclose(grad, np.tril(np.repeat(x.sum(0)[:, None], 4, axis=1)), rtol=1e-5, atol=1e-5)
    assert (grad[np.triu_indices(4, 1)] == 0).all() and layer.mask.grad is None


# ---- seed 002, other uses 2: look-up table -----------------------------------------------------
class LookupTable(nn.Module):
    def __init__(self, vocab_size, embedding_dim, device=None):
        super().__init__()
        self.embedding = nn.Parameter(lucid.randn(vocab_size, embedding_dim, device=device))
        freq = lucid.ones(vocab_size, device=device) / vocab_size
        self.register_buffer("frequency", freq)
        positions = lucid.arange(vocab_size, device=device)
        self.register_buffer("pos_indices", positions)

    def forward(self, token_ids):
        embeddings = self.embedding[token_ids]
        weighted = embeddings * self.frequency[token_ids].unsqueeze(-1)
        return weighted


def test_lookup_table(device):
    table = LookupTable(vocab_size=6, embedding_dim=3, device=device)
    assert table.frequency.dtype is lucid.float32 and table.pos_indices.dtype is lucid.int64
    np.testing.assert_array_equal(host(table.pos_indices), np.arange(6))
    ids = np.array([[0, 5, 5], [2, 0, 5]])
    out = table(lucid.tensor(ids, device=device))
    assert out.shape == (2, 3, 3)
    np.testing.assert_allclose(host(out), host(table.embedding)[ids] / 6, rtol=1e-6)
    out.sum().backward()
    counts = np.bincount(ids.ravel(), minlength=6)[:, None]  # repeated ids accumulate
    np.testing.assert_allclose(host(table.embedding.grad), np.repeat(counts / 6, 3, axis=1), rtol=1e-6)
    indices = table(table.pos_indices[:2])  # an integer buffer used as indices
    assert indices.shape == (2, 3)


# ---- seed 002, properties of a buffer ----------------------------------------------------------
def test_buffer_properties_printout(capsys):
    model = nn.Module()
    model.register_buffer("my_buffer", lucid.tensor([1.0, 2.0, 3.0]))
    print("Requires grad:", model.my_buffer.requires_grad)
    print("Is parameter:", isinstance(model.my_buffer, nn.Parameter))
    print("In parameters():", "my_buffer" in dict(model.named_parameters()))
    print("In buffers():", "my_buffer" in dict(model.named_buffers()))
    assert capsys.readouterr().out == (
        "Requires grad: False\nIs parameter: False\nIn parameters(): False\nIn buffers(): True\n"
    )


def test_buffer_definition_with_no_data():
    """Seed 002 In [9]: ``Buffer(data=None, persistent=True)`` is an empty tensor."""
    empty = nn.Buffer(data=None, persistent=True)
    assert empty.shape == (0,) and empty.persistent and not empty.requires_grad


# ---- seed 002, working with buffers -------------------------------------------------------------
class BufferOperations(nn.Module):
    def __init__(self, device=None):
        super().__init__()
        self.register_buffer("stats", lucid.zeros(3, device=device))

    def update_buffer(self, new_data):
        with lucid.no_grad():
            self.stats += new_data

    def reset_buffer(self):
        self.stats.zero_()

    def use_buffer_in_computation(self, x):
        return x * self.stats.unsqueeze(0)


def test_buffer_operations(device, rng):
    ops = BufferOperations(device)
    stats = ops.stats
    ops.update_buffer(lucid.tensor([1.0, 2.0, 3.0], device=device))
    ops.update_buffer(lucid.tensor([1.0, 1.0, 1.0], device=device, requires_grad=True))
    assert ops.stats is stats and not stats.requires_grad
    np.testing.assert_array_equal(host(ops.stats), [2.0, 3.0, 4.0])
    x = lucid.tensor(rng.standard_normal((2, 3)), dtype=lucid.float32, device=device, requires_grad=True)
    out = ops.use_buffer_in_computation(x)
    np.testing.assert_allclose(host(out), host(x) * [2.0, 3.0, 4.0], rtol=1e-6)
    out.sum().backward()
    np.testing.assert_array_equal(host(x.grad), np.tile([2.0, 3.0, 4.0], (2, 1)))
    assert ops.stats.grad is None
    ops.reset_buffer()
    assert ops.stats is stats
    np.testing.assert_array_equal(host(ops.stats), np.zeros(3))


# ---- seed 000: lucid.nn.Buffer ------------------------------------------------------------------
def test_seed_000_creating_a_buffer():
    buffer = nn.Buffer(lucid.Tensor([1.0, 2.0, 3.0]))
    assert not buffer.requires_grad and buffer.dtype is lucid.float32
    np.testing.assert_array_equal(buffer.numpy(), [1.0, 2.0, 3.0])
    assert str(buffer) == "tensor([1., 2., 3.])"  # a plain tensor's print, as the seed's (in PyTorch's format)


class CustomModule(nn.Module):
    def __init__(self):
        super(CustomModule, self).__init__()  # noqa: UP008  (as written in seed 000)
        self.register_buffer("running_mean", nn.Buffer(lucid.Tensor([0.0, 0.0, 0.0])))

    def forward(self, x):
        return x + self.running_mean


def test_seed_000_custom_module_backward(device):
    model = CustomModule().to(device)
    input_tensor = lucid.Tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    output = model(input_tensor)
    np.testing.assert_array_equal(host(output), [1.0, 2.0, 3.0])
    assert output.requires_grad
    output.backward(lucid.Tensor([1.0, 1.0, 1.0], device=device))
    np.testing.assert_array_equal(host(input_tensor.grad), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(host(model.running_mean), [0.0, 0.0, 0.0])
    assert not model.running_mean.requires_grad and model.running_mean.grad is None


def test_rng_state_round_trip_draws_the_same_numbers_again(device):
    state = lucid.random.get_rng_state(device)
    first = lucid.rand(5, device=device)
    lucid.random.set_rng_state(state, device)
    again = lucid.rand(5, device=device)
    np.testing.assert_array_equal(first.to("cpu").numpy(), again.to("cpu").numpy())
    with pytest.raises(ValueError, match="not a random generator state"):
        lucid.random.set_rng_state(lucid.zeros(3, dtype=lucid.uint8), device)
