"""Gradcheck cases of PyTorch's low-level top-level functions (``lucid._native``): the native norms and
dropout, SyncBatchNorm's kernels, ``embedding_bag``'s tuple form, ``conv_tbc``, ``segment_reduce`` and the
multi-layer recurrences on flat weight lists."""

from __future__ import annotations

from gradcheck_specs import CONST, DISTINCT, I, N, P, add, seeded

import lucid

NOT_DIFFERENTIABLE = {
    # PyTorch implements no derivative for either (its outputs say grad_fn=NotImplemented); lucid's are constants
    "lucid.native_norm", "lucid.batch_norm_update_stats",
}

# -- native norms and dropout: the differentiable outputs ------------------------------------------------------
add("lucid.native_layer_norm", lambda x, w, b: lucid.native_layer_norm(x, [4], w, b, 1e-5)[0], N(3, 4), N(4), N(4))
add("lucid.native_batch_norm", lambda x, w, b: lucid.native_batch_norm(x, w, b, None, None, True, 0.1, 1e-5)[0],
    N(4, 3, 2), N(3), N(3))
add("lucid.native_group_norm", lambda x, w, b: lucid.native_group_norm(x, w, b, 2, 4, 3, 2, 1e-5), N(2, 4, 3), N(4),
    N(4))  # mean and rstd are differentiable too, as PyTorch's
add("lucid.native_dropout", seeded(lambda x: lucid.native_dropout(x, 0.3, True)[0]), N(4, 5))
for _dim in (0, 1, -1):
    add("lucid.norm_except_dim", lambda v, d=_dim: lucid.norm_except_dim(v, 2, d), N(3, 2, 4), variant=f"dim{_dim}")
add("lucid.native_channel_shuffle", lambda x: lucid.native_channel_shuffle(x, 2), N(2, 4, 3),
    also=("F.native_channel_shuffle",))
add("lucid.feature_dropout", seeded(lambda x: lucid.feature_dropout(x, 0.4, True)), N(4, 3, 2))
add("lucid.feature_dropout_", seeded(lambda x: lucid.feature_dropout_(x.clone(), 0.4, True)), N(4, 3, 2))

# -- SyncBatchNorm's kernels -----------------------------------------------------------------------------------
add("lucid.batch_norm_stats", lambda x: lucid.batch_norm_stats(x, 1e-5), N(4, 3, 2))
add("lucid.batch_norm_elemt", lambda x, w, b, m, s: lucid.batch_norm_elemt(x, w, b, m, s, 1e-5), N(4, 3, 2), N(3),
    N(3), N(3), P(3))
add("lucid.batch_norm_gather_stats_with_counts",
    lambda x, m, s, c: lucid.batch_norm_gather_stats_with_counts(x, m, s, None, None, 0.1, 1e-5, c),
    CONST(N(2, 3)), N(2, 3), P(2, 3), CONST(P(2, lo=4.0, hi=9.0)))
add("lucid.batch_norm_gather_stats", lambda x, m, s: lucid.batch_norm_gather_stats(x, m, s, None, None, 0.1, 1e-5, 6),
    CONST(N(2, 3)), N(2, 3), P(2, 3))
add("lucid.batch_norm_backward_reduce",
    lambda g, x, m, s, w: lucid.batch_norm_backward_reduce(g, x, m, s, w, True, True, True), N(4, 3, 2), N(4, 3, 2),
    N(3), P(3), N(3))
add("lucid.batch_norm_backward_elemt",
    lambda g, x, m, s, w, a, b, c: lucid.batch_norm_backward_elemt(g, x, m, s, w, a, b, c), N(4, 3, 2), N(4, 3, 2),
    N(3), P(3), N(3), N(3), N(3), I([8, 12]))

# -- embedding_bag's tuple form, conv_tbc, segment_reduce ------------------------------------------------------------
for _mode, _weight in ((0, N(5, 3)), (1, N(5, 3)), (2, DISTINCT(5, 3))):
    add("lucid.embedding_bag", lambda w, i, o, m=_mode: lucid.embedding_bag(w, i, o, False, m)[0], _weight,
        I([0, 2, 2, 4, 1, 3]), I([0, 2, 2, 5]), variant=f"mode{_mode}")
add("lucid.conv_tbc", lambda x, w, b: lucid.conv_tbc(x, w, b, 1), N(5, 2, 3), N(3, 3, 4), N(4),
    also=("F.conv_tbc",))
for _reduce in ("sum", "mean", "max", "min", "prod"):
    add("lucid.segment_reduce", lambda x, r=_reduce: lucid.segment_reduce(
        x, r, lengths=lucid.tensor([2, 3, 1], device=x.device), initial=0.5), DISTINCT(6, 2), variant=_reduce)
add("lucid.segment_reduce", lambda x: lucid.segment_reduce(x, "max", lengths=lucid.tensor([[1, 3], [2, 2]],
                                                                                        device=x.device), axis=1),
    DISTINCT(2, 4, 3), variant="batched_axis1")


# -- recurrences on flat weight lists (one layer, both directions; two layers one way) -------------------------------
def _recurrence(name, gates, layers, bidirectional):
    directions = 2 if bidirectional else 1
    weights = []
    for layer in range(layers):
        weights += [N(gates * 3, 2 if layer == 0 else 3 * directions), N(gates * 3, 3), N(gates * 3),
                    N(gates * 3)] * directions
    fn = getattr(lucid, name)

    def run(x, h, *rest):
        hx = (h, rest[0]) if name == "lstm" else h
        params = rest[1:] if name == "lstm" else rest
        return fn(x, hx, list(params), True, layers, 0.0, False, bidirectional, False)

    states = [N(layers * directions, 2, 3)] * (2 if name == "lstm" else 1)
    add(f"lucid.{name}", run, N(3, 2, 2), *states, *weights, variant=f"l{layers}_bi{int(bidirectional)}")


for _name, _gates in (("lstm", 4), ("gru", 3), ("rnn_tanh", 1), ("rnn_relu", 1)):
    _recurrence(_name, _gates, 1, True)
    _recurrence(_name, _gates, 2, False)
