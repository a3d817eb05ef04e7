"""Gradcheck cases of the nnx family: the top-level ``lucid.*`` forms of functional ops (PyTorch's
signatures: integer reductions, reordered norm arguments), the Tensor methods relu/prelu/hardshrink,
max unpooling, the ``*_with_indices`` pools, channel shuffle and the deprecated ``F.upsample*``."""

from __future__ import annotations

import warnings

from gradcheck_specs import CONST, DISTINCT, PROB, SIMPLEX, I, N, P, U, add, seeded

import lucid
import lucid.nn.functional as F

NOT_DIFFERENTIABLE: set[str] = set()

_X = DISTINCT(2, 3, 2)  # away from the kinks of relu, hardshrink, threshold

# -- activations, top level and methods --------------------------------------------------------------------------
add("lucid.relu", lucid.relu, _X, also=("Tensor.relu",))
add("lucid.relu_", lambda x: lucid.relu_(x.clone()), _X)
add("Tensor.relu_", lambda x: x.clone().relu_(), _X)
add("lucid.selu", lucid.selu, _X)
add("lucid.selu_", lambda x: lucid.selu_(x.clone()), _X)
add("lucid.celu", lambda x: lucid.celu(x, 0.7), _X)
add("lucid.celu_", lambda x: lucid.celu_(x.clone(), 0.7), _X)
add("lucid.rrelu", seeded(lambda x: lucid.rrelu(x, 0.1, 0.3, True)), _X)
add("lucid.rrelu_", seeded(lambda x: lucid.rrelu_(x.clone(), 0.1, 0.3, True)), _X)
add("lucid.prelu", lucid.prelu, N(2, 3, 2), P(3))
add("Tensor.prelu", lambda x, w: x.prelu(w), N(2, 3, 2), P(3))
add("lucid.threshold", lambda x: lucid.threshold(x, 0.05, -2.0), _X)
add("lucid.threshold_", lambda x: lucid.threshold_(x.clone(), 0.05, -2.0), _X)
add("lucid.hardshrink", lambda x: lucid.hardshrink(x, 0.12), _X)
add("Tensor.hardshrink", lambda x: x.hardshrink(0.12), _X)

# -- dropouts: train is required at top level ----------------------------------------------------------------------
def _dropout_cases(name: str, shape: tuple) -> None:
    fn, inplace = getattr(lucid, name), getattr(lucid, name + "_")
    add(f"lucid.{name}", seeded(lambda x: fn(x, 0.3, True)), N(*shape))
    add(f"lucid.{name}_", seeded(lambda x: inplace(x.clone(), 0.3, True)), N(*shape))


for _name, _shape in (("dropout", (3, 4)), ("alpha_dropout", (3, 4)), ("feature_alpha_dropout", (2, 3, 4))):
    _dropout_cases(_name, _shape)

# -- convolutions and pooling -------------------------------------------------------------------------------------
add("lucid.conv1d", lambda x, w, b: lucid.conv1d(x, w, b, 1, 1), N(1, 2, 5), N(3, 2, 3), N(3))
add("lucid.conv2d", lambda x, w: lucid.conv2d(x, w, None, 2), N(1, 2, 5, 4), N(2, 2, 2, 2))
add("lucid.conv3d", lucid.conv3d, N(1, 1, 3, 3, 3), N(2, 1, 2, 2, 2), N(2))
add("lucid.conv_transpose1d", lambda x, w: lucid.conv_transpose1d(x, w, None, 2), N(1, 2, 3), N(2, 1, 3))
add("lucid.conv_transpose2d", lucid.conv_transpose2d, N(1, 2, 2, 3), N(2, 2, 2, 2), N(2))
add("lucid.conv_transpose3d", lucid.conv_transpose3d, N(1, 1, 2, 2, 2), N(1, 2, 2, 1, 2), N(2))
add("lucid.convolution", lambda x, w, b: lucid.convolution(x, w, b, [1, 1], [1, 0], [1, 1], False, [0, 0], 1),
    N(1, 2, 3, 3), N(2, 2, 2, 2), N(2))
add("lucid.convolution", lambda x, w: lucid.convolution(x, w, None, [2], [0], [1], True, [1], 1),
    N(1, 2, 3), N(2, 1, 2), variant="transposed")
add("lucid.avg_pool1d", lambda x: lucid.avg_pool1d(x, 2, 1, 1), N(1, 2, 5))
def _pool_cases(nd: int, shape: tuple) -> None:
    pool, with_indices = getattr(lucid, f"max_pool{nd}d"), getattr(F, f"max_pool{nd}d_with_indices")
    adaptive, unpool = getattr(F, f"adaptive_max_pool{nd}d_with_indices"), getattr(F, f"max_unpool{nd}d")
    add(f"lucid.max_pool{nd}d", lambda x: pool(x, 2), DISTINCT(*shape))
    add(f"F.max_pool{nd}d_with_indices", lambda x: with_indices(x, 2)[0], DISTINCT(*shape))
    add(f"F.adaptive_max_pool{nd}d_with_indices", lambda x: adaptive(x, 1)[0], DISTINCT(*shape))

    def indices(rng, device):
        return with_indices(lucid.randn(*shape, device=device), 2)[1]

    add(f"F.max_unpool{nd}d", lambda x, i: unpool(x, i, 2, output_size=shape[2:]),
        N(*shape[:2], *(n // 2 for n in shape[2:])), indices)


for _nd, _shape in ((1, (1, 2, 6)), (2, (1, 2, 4, 4)), (3, (1, 1, 4, 2, 4))):
    _pool_cases(_nd, _shape)
add("lucid.max_pool1d_with_indices", lambda x: lucid.max_pool1d_with_indices(x, 3, 2, 1)[0], DISTINCT(1, 2, 6))
add("lucid.adaptive_avg_pool1d", lambda x: lucid.adaptive_avg_pool1d(x, 3), N(1, 2, 5))
add("lucid.adaptive_max_pool1d", lambda x: lucid.adaptive_max_pool1d(x, 3)[0], DISTINCT(1, 2, 5))

# -- normalisation, embedding, shuffles, distances ----------------------------------------------------------------
add("lucid.batch_norm", lambda x, w, b: lucid.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
    N(3, 2, 2), N(2), N(2))
add("lucid.batch_norm", lambda x, w, b, m, v: lucid.batch_norm(x, w, b, m, v, False, 0.1, 1e-5, False),
    N(3, 2, 2), N(2), N(2), CONST(N(2)), CONST(P(2)), variant="eval")
add("lucid.instance_norm", lambda x, w, b: lucid.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
    N(2, 2, 4), N(2), N(2))
add("lucid.layer_norm", lambda x, w, b: lucid.layer_norm(x, (3,), w, b), N(2, 3), N(3), N(3))
add("lucid.group_norm", lambda x, w, b: lucid.group_norm(x, 2, w, b), N(2, 4, 3), N(4), N(4))
add("lucid.rms_norm", lambda x, w: lucid.rms_norm(x, (3,), w), N(2, 3), N(3))
add("lucid.embedding", lambda w, i: lucid.embedding(w, i), N(5, 3), I([[0, 2, 2], [4, 1, 0]]))
add("lucid.bilinear", lucid.bilinear, N(2, 3), N(2, 2), N(4, 3, 2), N(4))
add("lucid.pixel_shuffle", lambda x: lucid.pixel_shuffle(x, 2), N(1, 4, 2, 1))
add("lucid.pixel_unshuffle", lambda x: lucid.pixel_unshuffle(x, 2), N(1, 1, 4, 2))
add("lucid.channel_shuffle", lambda x: lucid.channel_shuffle(x, 2), N(2, 4, 3), also=("F.channel_shuffle",))
add("lucid.cosine_similarity", lambda a, b: lucid.cosine_similarity(a, b, 1), N(3, 4), N(3, 4))
add("lucid.pairwise_distance", lucid.pairwise_distance, N(3, 4), N(3, 4))

# -- losses with integer reductions -------------------------------------------------------------------------------
add("lucid.kl_div", lambda x, t: lucid.kl_div(x, t, 2), N(3, 4), SIMPLEX(3, 4))
add("lucid.kl_div", lambda x, t: lucid.kl_div(x, t, 0, True), N(3, 4), N(3, 4), variant="none_log_target")
add("lucid.binary_cross_entropy_with_logits",
    lambda x, t, w, pw: lucid.binary_cross_entropy_with_logits(x, t, w, pw, 1), N(3, 2), PROB(3, 2), P(3, 2), P(2))
add("lucid.cosine_embedding_loss", lambda a, b, y: lucid.cosine_embedding_loss(a, b, y, 0.1, 2), N(4, 3), N(4, 3),
    I([1, -1, 1, -1]))
add("lucid.hinge_embedding_loss", lambda x, y: lucid.hinge_embedding_loss(x, y, 1.5, 0), N(2, 3),
    I([[1, -1, 1], [-1, -1, 1]]))
add("lucid.margin_ranking_loss", lambda a, b, y: lucid.margin_ranking_loss(a, b, y, 0.1), N(4), N(4),
    I([1, -1, 1, -1]))
add("lucid.triplet_margin_loss", lambda a, p, n: lucid.triplet_margin_loss(a, p, n, 5.0, 2, 1e-6, True, 2),
    N(3, 4), N(3, 4), N(3, 4))
add("lucid.poisson_nll_loss", lambda x, t: lucid.poisson_nll_loss(x, t, True, False, 1e-8, 1), N(3, 2), P(3, 2))
add("lucid.ctc_loss", lambda x, t: lucid.ctc_loss(x.log_softmax(-1), t, [5, 4], [2, 1], 0, 2),
    N(5, 2, 3), I([[1, 2], [1, 0]]))

# -- sampling grids ---------------------------------------------------------------------------------------------
add("lucid.grid_sampler", lambda x, g: lucid.grid_sampler(x, g, 0, 1, False), N(1, 2, 3, 4),
    U(1, 3, 2, 2, lo=-0.95, hi=0.95), also={"lucid.grid_sampler_2d"})
add("lucid.grid_sampler_3d", lambda x, g: lucid.grid_sampler_3d(x, g, 0, 0, True), N(1, 1, 2, 2, 3),
    U(1, 2, 1, 2, 3, lo=-0.95, hi=0.95))
add("lucid.constant_pad_nd", lambda x: lucid.constant_pad_nd(x, [1, 2, 0, 1], 0.5), N(2, 3))

# -- single recurrent steps on explicit weights -------------------------------------------------------------------
for _cell, _gates in (("rnn_tanh_cell", 1), ("rnn_relu_cell", 1), ("gru_cell", 3)):
    add(f"lucid.{_cell}", getattr(lucid, _cell), N(2, 3), N(2, 4), N(4 * _gates, 3), N(4 * _gates, 4), N(4 * _gates),
        N(4 * _gates))
add("lucid.lstm_cell", lambda x, h, c, wi, wh, bi, bh: lucid.lstm_cell(x, (h, c), wi, wh, bi, bh), N(2, 3), N(2, 4),
    N(2, 4), N(16, 3), N(16, 4), N(16), N(16))
add("lucid.affine_grid_generator", lambda t: lucid.affine_grid_generator(t, (2, 1, 3, 2), False), N(2, 2, 3))


# -- deprecated aliases of interpolate (their warning is tested in tests/nn/test_nn_extra.py) ----------------
def _quiet(fn):
    def run(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)
            return fn(*args)
    return run


add("F.upsample", _quiet(lambda x: F.upsample(x, scale_factor=2, mode="linear")), N(1, 2, 3))
add("F.upsample_nearest", _quiet(lambda x: F.upsample_nearest(x, size=(4, 6))), N(1, 1, 2, 3))
add("F.upsample_bilinear", _quiet(lambda x: F.upsample_bilinear(x, scale_factor=2)), N(1, 1, 2, 3))

# -- fractional max pooling (fixed window positions) ------------------------------------------------------------
add("F.fractional_max_pool2d", lambda x, s: F.fractional_max_pool2d(x, 2, (3, 2), _random_samples=s),
    DISTINCT(1, 2, 5, 4), CONST(U(1, 2, 2, lo=0.0, hi=1.0)))
add("F.fractional_max_pool2d_with_indices",
    lambda x, s: F.fractional_max_pool2d_with_indices(x, 2, output_ratio=0.5, _random_samples=s)[0],
    DISTINCT(1, 2, 6, 4), CONST(U(1, 2, 2, lo=0.0, hi=1.0)))
add("F.fractional_max_pool3d", lambda x, s: F.fractional_max_pool3d(x, 2, (2, 2, 3), _random_samples=s),
    DISTINCT(1, 1, 4, 3, 4), CONST(U(1, 1, 3, lo=0.0, hi=1.0)))
add("F.fractional_max_pool3d_with_indices",
    lambda x, s: F.fractional_max_pool3d_with_indices(x, (2, 1, 2), (2, 3, 2), _random_samples=s)[0],
    DISTINCT(1, 1, 4, 3, 4), CONST(U(1, 1, 3, lo=0.0, hi=1.0)))

# -- linear cross-entropy (the logits are a Linear's) ------------------------------------------------------------
add("F.linear_cross_entropy", lambda x, w, b, t: F.linear_cross_entropy(x, w, t, linear_bias=b, label_smoothing=0.1),
    N(3, 4), N(3, 4), N(3), I([1, 0, 2]))
add("F.linear_cross_entropy", lambda x, w, t: F.linear_cross_entropy(x, w, t, reduction="sum"),
    N(2, 4), N(3, 2, 4), I([[0, 1], [2, 2]]), variant="k_dim")
