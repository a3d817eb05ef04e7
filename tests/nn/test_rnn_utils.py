"""lucid.nn.utils.rnn (PackedSequence, pack/pad helpers) and RNN/LSTM/GRU on packed input, with PyTorch
as the oracle for values, final states at each sequence's own last step, and every gradient."""

from __future__ import annotations

import numpy as np
import pytest
from test_attention import compare_with_torch, host, load_torch, make

import lucid
import lucid.nn as nn
from lucid.nn.utils import rnn as R

LAYERS = {"RNN": {}, "LSTM": {}, "LSTM_proj": {"proj_size": 2}, "GRU": {}}


def _layer(module, name, *args, **kwargs):
    return getattr(module, name.split("_")[0])(*args, **LAYERS[name], **kwargs)


def test_pack_pad_roundtrip_matches_torch(device, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((5, 4, 2))
    lengths = [3, 5, 1, 3]
    for batch_first in (False, True):
        data = x.transpose(1, 0, 2) if batch_first else x
        ours = R.pack_padded_sequence(make(data, device), lengths, batch_first=batch_first, enforce_sorted=False)
        theirs = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(data), lengths, batch_first=batch_first,
                                                         enforce_sorted=False)
        np.testing.assert_array_equal(host(ours.data), theirs.data.numpy())
        assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist() and ours.batch_sizes.device.type == "cpu"
        assert ours.sorted_indices.tolist() == theirs.sorted_indices.tolist()
        assert ours.unsorted_indices.tolist() == theirs.unsorted_indices.tolist()
        padded, lens = R.pad_packed_sequence(ours, batch_first=batch_first, padding_value=-7.0, total_length=6)
        ref, ref_lens = torch.nn.utils.rnn.pad_packed_sequence(theirs, batch_first=batch_first, padding_value=-7.0,
                                                               total_length=6)
        np.testing.assert_array_equal(host(padded), ref.numpy())
        assert lens.tolist() == ref_lens.tolist() == lengths and lens.dtype == lucid.int64


def test_sorted_pack_has_no_permutation_and_rejects_unsorted(device):
    x = lucid.randn(4, 3, 2, device=device)
    packed = R.pack_padded_sequence(x, lucid.tensor([4, 2, 1]))
    assert packed.sorted_indices is None and packed.unsorted_indices is None
    assert packed.batch_sizes.tolist() == [3, 2, 1, 1] and packed.data.shape == (7, 2)
    with pytest.raises(RuntimeError, match="not sorted"):
        R.pack_padded_sequence(x, [1, 2, 4])
    with pytest.raises(ValueError, match="3 lengths"):
        R.pack_padded_sequence(x, [2, 1])
    with pytest.raises(RuntimeError, match="exceeds"):
        R.pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(RuntimeError, match="positive"):
        R.pack_padded_sequence(x, [2, 1, 0])
    with pytest.raises(ValueError, match="total_length"):
        R.pad_packed_sequence(packed, total_length=2)


def test_pad_sequence_pack_sequence_and_inverses(device, rng):
    torch = pytest.importorskip("torch")
    seqs = [rng.standard_normal((n, 3)) for n in (2, 4, 1)]
    ours = [make(s, device) for s in seqs]
    theirs = [torch.tensor(s) for s in seqs]
    for batch_first in (False, True):
        for side in ("right", "left"):
            got = R.pad_sequence(ours, batch_first=batch_first, padding_value=1.5, padding_side=side)
            ref = torch.nn.utils.rnn.pad_sequence(theirs, batch_first=batch_first, padding_value=1.5,
                                                  padding_side=side)
            np.testing.assert_array_equal(host(got), ref.numpy())
    padded = R.pad_sequence(ours, batch_first=True)
    for a, b in zip(R.unpad_sequence(padded, lucid.tensor([2, 4, 1]), batch_first=True), seqs):
        np.testing.assert_array_equal(host(a), b)
    packed = R.pack_sequence(ours, enforce_sorted=False)
    ref = torch.nn.utils.rnn.pack_sequence(theirs, enforce_sorted=False)
    np.testing.assert_array_equal(host(packed.data), ref.data.numpy())
    for a, b in zip(R.unpack_sequence(packed), seqs):
        np.testing.assert_array_equal(host(a), b)
    with pytest.raises(ValueError, match="padding_side"):
        R.pad_sequence(ours, padding_side="middle")


def test_packing_passes_gradients(device, rng):
    x = make(rng.standard_normal((4, 3, 2)), device, grad=True)
    packed = R.pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False)
    padded, _ = R.pad_packed_sequence(packed, padding_value=9.0)
    padded.sum().backward()
    mask = (np.arange(4)[:, None] < np.array([2, 4, 3])[None, :]).astype(float)
    np.testing.assert_array_equal(host(x.grad), np.broadcast_to(mask[:, :, None], (4, 3, 2)))


def test_packed_sequence_to_and_tuple_behaviour(device):
    packed = R.pack_sequence([lucid.randn(3, 2), lucid.randn(1, 2)], enforce_sorted=False)
    data, batch_sizes, sorted_indices, unsorted_indices = packed  # a namedtuple, as torch's
    assert batch_sizes.tolist() == [2, 1, 1] and sorted_indices.tolist() == [0, 1]
    moved = packed.to(device).double()
    assert moved.data.device == lucid.device(device) and moved.data.dtype == lucid.float64
    assert moved.sorted_indices.device == moved.data.device and moved.batch_sizes.device.type == "cpu"
    assert packed.to(packed.data.device) is packed and not packed.is_cuda


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_rnn_on_packed_input_matches_torch(device, rng, name, bidirectional):
    torch = pytest.importorskip("torch")
    ours, theirs = (_layer(m, name, 3, 4, num_layers=2, bidirectional=bidirectional, batch_first=True)
                    for m in (nn, torch.nn))
    load_torch(ours, theirs, device)
    lengths = [2, 5, 3, 2, 5]  # ties and unsorted
    x = rng.standard_normal((5, 5, 3))
    layers = 2 * (2 if bidirectional else 1)
    h_size = 2 if name == "LSTM_proj" else 4
    h0 = rng.standard_normal((layers, 5, h_size))
    c0 = rng.standard_normal((layers, 5, 4))

    def run(lib, utils, module):
        class Packed(lib.nn.Module):  # pack, run, pad: a module, so its parameters' gradients are compared
            def __init__(self):
                super().__init__()
                self.rnn = module

            def forward(self, x, h, *c):
                packed = utils.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
                out, state = self.rnn(packed, (h, *c) if c else h)
                assert isinstance(out, utils.PackedSequence)
                return utils.pad_packed_sequence(out, batch_first=True)[0], state
        return Packed()

    inputs = (x, h0, c0) if name.startswith("LSTM") else (x, h0)
    compare_with_torch(torch, run(lucid, R, ours), run(torch, torch.nn.utils.rnn, theirs),
                       [make(a, device, grad=True) for a in inputs],
                       [torch.tensor(a, requires_grad=True) for a in inputs], rng)


def test_packed_final_state_is_each_sequences_last_step(device, rng):
    """Without torch: h_n equals the output at each sequence's last step (forward direction) and the
    same as running that sequence alone."""
    gru = nn.GRU(2, 3, device=device, dtype=lucid.float64)
    seqs = [make(rng.standard_normal((n, 2)), device) for n in (3, 1, 4)]
    out, h = gru(R.pack_sequence(seqs, enforce_sorted=False))
    for i, s in enumerate(seqs):
        alone, h_alone = gru(s)
        np.testing.assert_allclose(host(R.unpack_sequence(out)[i]), host(alone), rtol=1e-12)
        np.testing.assert_allclose(host(h[:, i]), host(h_alone), rtol=1e-12)


def test_packed_input_errors_and_flatten_parameters(device):
    lstm = nn.LSTM(3, 4, device=device)
    assert lstm.flatten_parameters() is None
    with pytest.raises(RuntimeError, match="3 features"):
        lstm(R.pack_sequence([lucid.randn(2, 5, device=device)]))
    with pytest.raises(RuntimeError, match="h_0"):
        lstm(R.pack_sequence([lucid.randn(2, 3, device=device)]), (lucid.zeros(1, 2, 4), lucid.zeros(1, 2, 4)))
