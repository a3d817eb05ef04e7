"""Transformer layers: structure and parameter names (torch state_dicts load 1:1), masks, train/eval,
gradients (gradcheck of a tiny layer), and PyTorch as an oracle for values and gradients."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from test_attention import Call, compare_with_torch, host, load_torch, make, module_gradcheck

import lucid
import lucid.nn as nn
from lucid.autograd import gradcheck


def test_square_subsequent_mask(device):
    m = host(nn.Transformer.generate_square_subsequent_mask(4, device=device))
    assert m.dtype == np.float32
    np.testing.assert_array_equal(m, np.where(np.triu(np.ones((4, 4), bool), 1), -np.inf, 0.0))


def test_encoder_layer_structure_and_shapes(device, rng):
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, device=device)
    names = [n for n, _ in layer.named_parameters()]
    assert names == ["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                     "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
                     "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]
    x = lucid.tensor(rng.standard_normal((5, 3, 8)), dtype=lucid.float32, device=device)
    assert layer(x).shape == (5, 3, 8)
    assert layer(x[:, 0]).shape == (5, 8)  # unbatched
    encoder = nn.TransformerEncoder(layer, 3, norm=nn.LayerNorm(8, device=device))
    assert len(encoder.layers) == 3 and encoder.layers[0] is not layer
    assert encoder.layers[0].linear1.weight is not encoder.layers[1].linear1.weight  # deep copies
    assert isinstance(encoder.layers[1].linear1.weight, nn.Parameter)
    assert encoder(x.to(lucid.float32)).shape == (5, 3, 8)


def test_decoder_layer_structure(device):
    layer = nn.TransformerDecoderLayer(8, 2, 16, bias=False, device=device)
    assert [n for n, _ in layer.named_parameters()] == [
        "self_attn.in_proj_weight", "self_attn.out_proj.weight", "multihead_attn.in_proj_weight",
        "multihead_attn.out_proj.weight", "linear1.weight", "linear2.weight", "norm1.weight", "norm2.weight",
        "norm3.weight"]


def test_transformer_defaults_and_init(device):
    lucid.manual_seed(0)
    model = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=8,
                           device=device)
    assert len(model.encoder.layers) == 2 and len(model.decoder.layers) == 1
    assert model.encoder.norm is not None and model.decoder.norm is not None
    # every matrix is re-drawn xavier-uniform, as PyTorch
    w = host(model.encoder.layers[0].linear1.weight)
    bound = np.sqrt(6 / (16 + 8))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.7 * bound
    src = lucid.randn(5, 2, 16, device=device)
    tgt = lucid.randn(4, 2, 16, device=device)
    out = model(src, tgt, tgt_mask=nn.Transformer.generate_square_subsequent_mask(4, device=device))
    assert out.shape == (4, 2, 16)
    with pytest.raises(RuntimeError, match="batch size"):
        model(src, lucid.randn(4, 3, 16, device=device))
    with pytest.raises(RuntimeError, match="d_model"):
        model(src, lucid.randn(4, 2, 8, device=device))


def test_activation_choices(device, rng):
    x = lucid.tensor(rng.standard_normal((3, 2, 4)), dtype=lucid.float32, device=device)
    for activation in ("relu", "gelu", nn.GELU(), lucid.tanh):
        layer = nn.TransformerEncoderLayer(4, 2, 8, activation=activation, device=device)
        assert layer(x).shape == (3, 2, 4)
    assert "activation" in dict(nn.TransformerEncoderLayer(4, 2, 8, activation=nn.GELU()).named_children())
    with pytest.raises(RuntimeError, match="activation"):
        nn.TransformerEncoderLayer(4, 2, 8, activation="swish")


def test_dropout_follows_train_and_eval(device, rng):
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5, device=device)
    x = lucid.tensor(rng.standard_normal((4, 2, 8)), dtype=lucid.float32, device=device)
    layer.eval()
    np.testing.assert_array_equal(host(layer(x)), host(layer(x)))
    evaluated = host(layer(x))
    layer.train()
    assert not np.allclose(host(layer(x)), evaluated)


def test_causal_mask_blocks_the_future(device, rng):
    layer = nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0, device=device).double()
    tgt = make(rng.standard_normal((4, 1, 4)), device)
    memory = make(rng.standard_normal((3, 1, 4)), device)
    mask = nn.Transformer.generate_square_subsequent_mask(4, device=device, dtype=lucid.float64)
    full = host(layer(tgt, memory, tgt_mask=mask, tgt_is_causal=True))
    changed = host(tgt).copy()
    changed[3] += 1.0  # the last position may only affect itself
    partial = host(layer(make(changed, device), memory, tgt_mask=mask))
    np.testing.assert_allclose(partial[:3], full[:3], rtol=1e-12)
    assert not np.allclose(partial[3], full[3])


@pytest.mark.parametrize("norm_first", [False, True])
def test_layers_gradcheck(device, rng, norm_first):
    """With respect to the inputs (every parameter's gradient is compared with PyTorch's below)."""
    encoder = nn.TransformerEncoderLayer(4, 2, 3, dropout=0.0, norm_first=norm_first, device=device).double()
    decoder = nn.TransformerDecoderLayer(4, 2, 3, dropout=0.0, norm_first=norm_first, device=device).double()
    x = make(rng.standard_normal((2, 1, 4)), device, True)
    memory = make(rng.standard_normal((3, 1, 4)), device, True)
    pad = make(np.array([[False, True]]), device)
    assert gradcheck(lambda x: encoder(x, src_key_padding_mask=pad), (x,))
    assert gradcheck(lambda x, m: decoder(x, m, tgt_key_padding_mask=pad), (x, memory))


def test_encoder_layer_parameters_gradcheck(rng):
    layer = nn.TransformerEncoderLayer(4, 2, 3, dropout=0.0).double()
    x = make(rng.standard_normal((2, 1, 4)), "cpu", True)
    module_gradcheck(layer, (x,), layer)


@pytest.mark.filterwarnings("ignore:Support for mismatched src_key_padding_mask")  # torch's, bool + float masks
@pytest.mark.parametrize("kwargs", [
    {}, {"norm_first": True}, {"activation": "gelu", "batch_first": True}, {"norm_first": True, "bias": False},
])
def test_encoder_layer_matches_torch(device, rng, kwargs):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.TransformerEncoderLayer(8, 2, 16, **kwargs).eval()
    ours = nn.TransformerEncoderLayer(8, 2, 16, **kwargs).eval()
    load_torch(ours, theirs, device)
    batch_first = kwargs.get("batch_first", False)
    a = rng.standard_normal((3, 5, 8) if batch_first else (5, 3, 8))
    pad = rng.random((3, 5)) < 0.3
    pad[:, 0] = False
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5).double()
    our_mask = nn.Transformer.generate_square_subsequent_mask(5, device=device, dtype=lucid.float64)
    compare_with_torch(torch, Call(ours, src_mask=our_mask, src_key_padding_mask=make(pad, device)),
                       Call(theirs, src_mask=mask, src_key_padding_mask=torch.tensor(pad)),
                       [make(a, device, True)], [torch.tensor(a, requires_grad=True)], rng)


@pytest.mark.parametrize("kwargs", [{}, {"norm_first": True, "activation": "gelu"}, {"batch_first": True}])
def test_decoder_layer_matches_torch(device, rng, kwargs):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.TransformerDecoderLayer(8, 2, 16, **kwargs).eval()
    ours = nn.TransformerDecoderLayer(8, 2, 16, **kwargs).eval()
    load_torch(ours, theirs, device)
    batch_first = kwargs.get("batch_first", False)
    tgt = rng.standard_normal((2, 4, 8) if batch_first else (4, 2, 8))
    memory = rng.standard_normal((2, 6, 8) if batch_first else (6, 2, 8))
    pad = np.array([[False] * 5 + [True], [False] * 6])
    mask = torch.nn.Transformer.generate_square_subsequent_mask(4).double()
    our_mask = nn.Transformer.generate_square_subsequent_mask(4, device=device, dtype=lucid.float64)
    compare_with_torch(torch, Call(ours, tgt_mask=our_mask, memory_key_padding_mask=make(pad, device)),
                       Call(theirs, tgt_mask=mask, memory_key_padding_mask=torch.tensor(pad)),
                       [make(tgt, device, True), make(memory, device, True)],
                       [torch.tensor(tgt, requires_grad=True), torch.tensor(memory, requires_grad=True)], rng)


def test_transformer_matches_torch(rng):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Transformer(8, 2, 2, 2, 16, batch_first=True).eval()
    ours = nn.Transformer(8, 2, 2, 2, 16, batch_first=True).eval()
    load_torch(ours, theirs, "cpu")
    src, tgt = rng.standard_normal((2, 5, 8)), rng.standard_normal((2, 3, 8))
    src_pad = np.array([[False] * 4 + [True], [False] * 5])
    mask = torch.nn.Transformer.generate_square_subsequent_mask(3).double()
    compare_with_torch(
        torch,
        Call(ours, tgt_mask=nn.Transformer.generate_square_subsequent_mask(3, dtype=lucid.float64),
            src_key_padding_mask=make(src_pad, "cpu"), memory_key_padding_mask=make(src_pad, "cpu")),
        Call(theirs, tgt_mask=mask, src_key_padding_mask=torch.tensor(src_pad),
            memory_key_padding_mask=torch.tensor(src_pad)),
        [make(src, "cpu", True), make(tgt, "cpu", True)],
        [torch.tensor(src, requires_grad=True), torch.tensor(tgt, requires_grad=True)], rng)


def test_encoder_deepcopy_and_state_dict_round_trip(device):
    model = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8, device=device), 2)
    clone = copy.deepcopy(model)
    state = model.state_dict()
    assert "layers.1.self_attn.in_proj_weight" in state and "layers.0.norm2.bias" in state
    clone.load_state_dict(state)
    for (n, a), (_, b) in zip(model.named_parameters(), clone.named_parameters()):
        np.testing.assert_array_equal(host(a), host(b), err_msg=n)
