"""RNN, LSTM, GRU and their cells: parameter names/shapes/init (torch state_dicts load 1:1), shapes
(batch_first, bidirectional, unbatched, proj_size), gradcheck, dropout between layers in training
only, errors, the fused per-layer recurrence (gradcheck of its Function, double backward refused),
and PyTorch as an oracle for outputs, final states and every gradient."""

from __future__ import annotations

import numpy as np
import pytest
from test_attention import compare_with_torch, host, load_torch, make, module_gradcheck

import lucid
import lucid.nn as nn
from lucid.autograd import gradcheck
from lucid.nn.functional.recurrent import RecurrentFunction

LAYERS = {"RNN": {}, "RNN_relu": {"nonlinearity": "relu"}, "LSTM": {}, "LSTM_proj": {"proj_size": 2}, "GRU": {}}


def _layer(module, name, *args, **kwargs):
    return getattr(module, name.split("_")[0])(*args, **LAYERS[name], **kwargs)


def test_parameter_names_shapes_and_init(device):
    lucid.manual_seed(0)
    lstm = nn.LSTM(3, 8, num_layers=2, bidirectional=True, proj_size=4, device=device)
    shapes = {n: p.shape for n, p in lstm.named_parameters()}
    assert list(shapes)[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0"]
    assert shapes["weight_ih_l0"] == (32, 3) and shapes["weight_hh_l0"] == (32, 4)
    assert shapes["weight_ih_l1_reverse"] == (32, 8) and shapes["weight_hr_l1_reverse"] == (4, 8)
    assert len(shapes) == 20 and len(lstm.all_weights) == 4
    gru = nn.GRU(3, 5, bias=False, device=device)
    assert {n: p.shape for n, p in gru.named_parameters()} == {"weight_ih_l0": (15, 3), "weight_hh_l0": (15, 5)}
    values = np.concatenate([host(p).ravel() for p in nn.RNN(4, 100, device=device).parameters()])
    assert np.abs(values).max() <= 0.1 and np.abs(values).max() > 0.09  # U(-1/sqrt(100), 1/sqrt(100))
    cell = nn.LSTMCell(3, 4, device=device)
    assert {n: p.shape for n, p in cell.named_parameters()} == {
        "weight_ih": (16, 3), "weight_hh": (16, 4), "bias_ih": (16,), "bias_hh": (16,)}


@pytest.mark.parametrize("name", LAYERS)
def test_output_shapes(device, name):
    layer = _layer(nn, name, 3, 4, num_layers=2, bidirectional=True, batch_first=True, device=device)
    out_size = 2 if name == "LSTM_proj" else 4
    x = lucid.randn(2, 5, 3, device=device)
    out, state = layer(x)
    assert out.shape == (2, 5, 2 * out_size)
    h = state[0] if name.startswith("LSTM") else state
    assert h.shape == (4, 2, out_size)
    if name.startswith("LSTM"):
        assert state[1].shape == (4, 2, 4)
    unbatched, state1 = layer(x[0])  # (L, H_in): batch_first does not apply
    assert unbatched.shape == (5, 2 * out_size)
    np.testing.assert_allclose(host(unbatched), host(out)[0], rtol=1e-5, atol=1e-6)
    h1 = state1[0] if name.startswith("LSTM") else state1
    np.testing.assert_allclose(host(h1), host(h)[:, 0], rtol=1e-5, atol=1e-6)


def test_explicit_initial_state_and_final_state(device, rng):
    """The final state is the last output step (forward direction), and hx is where it starts."""
    gru = nn.GRU(2, 3, device=device).double()
    x = make(rng.standard_normal((4, 1, 2)), device)
    h0 = make(rng.standard_normal((1, 1, 3)), device)
    out, h = gru(x, h0)
    np.testing.assert_allclose(host(h)[0], host(out)[-1], rtol=1e-12)
    # running step by step with the returned state gives the same
    state = h0
    for t in range(4):
        _, state = gru(x[t:t + 1], state)
    np.testing.assert_allclose(host(state), host(h), rtol=1e-12)


def test_cells_match_one_layer_step(device, rng):
    for layer_cls, cell_cls in ((nn.RNN, nn.RNNCell), (nn.LSTM, nn.LSTMCell), (nn.GRU, nn.GRUCell)):
        layer = layer_cls(3, 4, device=device).double()
        cell = cell_cls(3, 4, device=device).double()
        cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
        x = make(rng.standard_normal((1, 2, 3)), device)
        out, state = layer(x)
        got = cell(x[0])
        np.testing.assert_allclose(host(got[0] if isinstance(got, tuple) else got), host(out)[0], rtol=1e-12)
        unbatched = cell(x[0, 0])
        assert (unbatched[0] if isinstance(unbatched, tuple) else unbatched).shape == (4,)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_layer_gradcheck(device, rng, name):
    """Bidirectional for the RNN only, to keep it fast: the wiring is shared and the torch oracle
    checks bidirectional LSTM/GRU gradients."""
    layer = _layer(nn, name, 2, 2, bidirectional=name == "RNN", device=device).double()
    x = make(rng.standard_normal((2, 1, 2)), device, True)
    module_gradcheck(layer, (x,), layer)


def test_two_layer_lstm_with_projection_gradcheck(rng):
    layer = nn.LSTM(2, 2, num_layers=2, proj_size=1).double()
    x = make(rng.standard_normal((2, 1, 2)), "cpu", True)
    h0, c0 = make(rng.standard_normal((2, 1, 1)), "cpu", True), make(rng.standard_normal((2, 1, 2)), "cpu", True)
    module_gradcheck(layer, (x, h0, c0), lambda x, h, c: layer(x, (h, c)))


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_gradcheck(device, rng, name):
    cell = getattr(nn, name)(2, 3, device=device).double()
    x = make(rng.standard_normal((2, 2)), device, True)
    h = make(rng.standard_normal((2, 3)), device, True)
    state = (h, make(rng.standard_normal((2, 3)), device, True)) if name == "LSTMCell" else (h,)
    module_gradcheck(cell, (x, *state), lambda x, *s: cell(x, s if len(s) == 2 else s[0]))


def test_dropout_between_layers_in_training_only(device, rng):
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5, device=device).double()
    x = make(rng.standard_normal((5, 2, 3)), device)
    lstm.eval()
    first = host(lstm(x)[0])
    np.testing.assert_array_equal(host(lstm(x)[0]), first)
    lstm.train()
    lucid.manual_seed(0)
    assert not np.allclose(host(lstm(x)[0]), first)
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.GRU(3, 4, dropout=0.2)


def test_errors(device):
    lstm = nn.LSTM(3, 4, device=device)
    with pytest.raises(RuntimeError, match="3 features"):
        lstm(lucid.randn(5, 2, 2, device=device))
    with pytest.raises(TypeError, match="tuple"):
        lstm(lucid.randn(5, 2, 3, device=device), lucid.zeros(1, 2, 4, device=device))
    with pytest.raises(RuntimeError, match="h_0 of shape"):
        lstm(lucid.randn(5, 2, 3, device=device), (lucid.zeros(1, 3, 4, device=device),) * 2)
    with pytest.raises(RuntimeError, match="h_0 of shape"):
        nn.GRUCell(3, 4, device=device)(lucid.randn(2, 3, device=device), lucid.zeros(2, 5, device=device))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=4)


@pytest.mark.parametrize("name", LAYERS)
def test_layers_match_torch(device, rng, name):
    torch = pytest.importorskip("torch")
    for kwargs in ({"num_layers": 2, "bidirectional": True}, {"num_layers": 2, "batch_first": True, "bias": False}):
        theirs = _layer(torch.nn, name, 3, 4, **kwargs)
        ours = _layer(nn, name, 3, 4, **kwargs)
        load_torch(ours, theirs, device)
        a = rng.standard_normal((2, 5, 3))
        inputs, their_inputs = [make(a, device, True)], [torch.tensor(a, requires_grad=True)]
        if name == "GRU":  # an explicit initial state gets its gradient too
            directions, batch = 2 if kwargs.get("bidirectional") else 1, 2 if kwargs.get("batch_first") else 5
            h0 = rng.standard_normal((2 * directions, batch, 4))
            inputs.append(make(h0, device, True))
            their_inputs.append(torch.tensor(h0, requires_grad=True))
        compare_with_torch(torch, ours, theirs, inputs, their_inputs, rng)


@pytest.mark.parametrize("name", LAYERS)
def test_long_sequences_match_torch(device, rng, name):
    """A sequence of 17 steps (the in-place step loops, rounding over many steps): the same values and
    gradients as PyTorch's, both directions."""
    torch = pytest.importorskip("torch")
    theirs, ours = _layer(torch.nn, name, 3, 4, bidirectional=True), _layer(nn, name, 3, 4, bidirectional=True)
    load_torch(ours, theirs, device)
    a = rng.standard_normal((17, 2, 3))
    compare_with_torch(torch, ours, theirs, [make(a, device, True)], [torch.tensor(a, requires_grad=True)], rng)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(device, rng, name):
    torch = pytest.importorskip("torch")
    theirs, ours = getattr(torch.nn, name)(3, 4), getattr(nn, name)(3, 4)
    load_torch(ours, theirs, device)
    a = rng.standard_normal((2, 3))
    compare_with_torch(torch, ours, theirs, [make(a, device, True)], [torch.tensor(a, requires_grad=True)], rng)


# mode: (gates, proj_size)
FUSED = {"RNN_TANH": (1, 0), "RNN_RELU": (1, 0), "LSTM": (4, 0), "LSTM_proj": (4, 2), "GRU": (3, 0)}


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("name", FUSED)
def test_fused_function_gradcheck(device, rng, name, reverse):
    """The fused Function of one layer and direction, every input (biases only forwards, to cover
    bias=False too), float64 finite differences."""
    (gates, proj), mode = FUSED[name], name.removesuffix("_proj")
    steps, batch, size, inp = 3, 2, 3, 2
    out = proj or size

    def arg(*shape):
        return make(rng.standard_normal(shape), device, True)

    bias = not reverse
    inputs = (arg(steps, batch, inp), arg(batch, out), arg(batch, size) if mode == "LSTM" else None,
              arg(gates * size, inp), arg(gates * size, out), arg(gates * size) if bias else None,
              arg(gates * size) if bias else None, arg(proj, size) if proj else None)
    assert gradcheck(lambda *a: RecurrentFunction.apply(*a, mode=mode, reverse=reverse), inputs)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_fused_double_backward_is_refused(device, name):
    layer = getattr(nn, name)(2, 3, device=device)
    x = lucid.randn(4, 1, 2, device=device, requires_grad=True)
    out, _ = layer(x)
    with pytest.raises(RuntimeError, match="double backward"):
        lucid.autograd.grad(out.sum(), x, create_graph=True)
    (gx,) = lucid.autograd.grad(layer(x)[0].sum(), x)  # first order is fine
    assert gx.shape == x.shape


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_bias_gradients_are_separate_arrays(device, rng, name):
    """RNN and LSTM sum the shared gate gradient once for both biases; each bias still gets its own
    gradient array (in .grad and from autograd.grad): an in-place change of one leaves the other alone."""
    lucid.manual_seed(0)
    layer = getattr(nn, name)(2, 3, device=device)
    layer(make(rng.standard_normal((4, 2, 2)), device, False))[0].sum().backward()
    expected = host(layer.bias_hh_l0.grad)
    if name != "GRU":
        np.testing.assert_array_equal(host(layer.bias_ih_l0.grad), expected)
    layer.bias_ih_l0.grad.zero_()
    np.testing.assert_array_equal(host(layer.bias_hh_l0.grad), expected)
    x = make(rng.standard_normal((4, 2, 2)), device, False)
    g_ih, g_hh = lucid.autograd.grad(layer(x)[0].sum(), [layer.bias_ih_l0, layer.bias_hh_l0])
    g_ih.zero_()
    assert np.abs(host(g_hh)).sum() > 0
