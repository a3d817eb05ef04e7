"""Bad calls raise the exception class PyTorch 2.13 raises, so that user code written for PyTorch
(``except RuntimeError:`` around a shape probe, ``except ValueError:`` around an option check) catches
lucid's errors too. Table-driven: each row is run under torch (the oracle) and under lucid; lucid's
exception must be an instance of the builtin class torch's exception is (what ``except TorchType`` catches).
The messages stay lucid's own."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import lucid

torch = pytest.importorskip("torch")


def _ns(mod, device=None):
    """The names a row uses, for ``mod`` torch or lucid; lucid tensors and modules go to ``device``."""
    kw = {} if device is None else {"device": device}

    def z(*shape, dtype=None):
        return mod.zeros(*shape, dtype=dtype or mod.float32, **kw)

    def i(*shape, hi=1):
        return mod.zeros(*shape, dtype=mod.int64, **kw) + hi - 1

    def to(module):
        return module if device is None else module.to(device)

    return SimpleNamespace(m=mod, nn=mod.nn, F=mod.nn.functional, z=z, i=i, to=to)


# (id, call): every call is bad; torch's exception class is the expected one.
CASES = [
    # ---- convolution ----
    ("conv2d_channels", lambda s: s.F.conv2d(s.z(1, 3, 5, 5), s.z(4, 2, 3, 3))),
    ("Conv2d_channels", lambda s: s.to(s.nn.Conv2d(3, 4, 3))(s.z(1, 2, 5, 5))),
    ("conv1d_4d_weight", lambda s: s.F.conv1d(s.z(1, 3, 5), s.z(4, 3, 3, 3))),
    ("conv2d_input_smaller_than_kernel", lambda s: s.F.conv2d(s.z(1, 1, 2, 2), s.z(1, 1, 3, 3))),
    ("conv2d_3d_input", lambda s: s.F.conv2d(s.z(1, 3, 5), s.z(4, 3, 3, 3))),
    ("conv2d_groups_not_dividing", lambda s: s.F.conv2d(s.z(1, 4, 5, 5), s.z(4, 2, 3, 3), groups=3)),
    ("conv2d_bias_size", lambda s: s.F.conv2d(s.z(1, 3, 5, 5), s.z(4, 3, 3, 3), s.z(5))),
    ("conv2d_negative_padding", lambda s: s.F.conv2d(s.z(1, 3, 5, 5), s.z(4, 3, 3, 3), padding=-1)),
    ("conv2d_zero_stride", lambda s: s.F.conv2d(s.z(1, 3, 5, 5), s.z(4, 3, 3, 3), stride=0)),
    ("conv2d_bad_padding_string", lambda s: s.F.conv2d(s.z(1, 3, 5, 5), s.z(4, 3, 3, 3), padding="full")),
    ("conv2d_same_with_stride", lambda s: s.F.conv2d(s.z(1, 3, 5, 5), s.z(4, 3, 3, 3), padding="same", stride=2)),
    ("conv3d_channels", lambda s: s.F.conv3d(s.z(1, 3, 4, 4, 4), s.z(2, 2, 2, 2, 2))),
    ("Conv1d_channels", lambda s: s.to(s.nn.Conv1d(3, 4, 3))(s.z(1, 2, 8))),
    ("Conv2d_groups_ctor", lambda s: s.nn.Conv2d(3, 4, 3, groups=2)),
    ("Conv2d_bad_padding_mode", lambda s: s.nn.Conv2d(3, 4, 3, padding_mode="bogus")),
    ("conv_transpose2d_channels", lambda s: s.F.conv_transpose2d(s.z(1, 3, 5, 5), s.z(2, 4, 3, 3))),
    ("ConvTranspose2d_channels", lambda s: s.to(s.nn.ConvTranspose2d(3, 4, 3))(s.z(1, 2, 5, 5))),
    ("conv_transpose1d_3d_weight_4d", lambda s: s.F.conv_transpose1d(s.z(1, 3, 5), s.z(3, 2, 3, 3))),
    ("conv_transpose2d_output_padding",
     lambda s: s.F.conv_transpose2d(s.z(1, 3, 5, 5), s.z(3, 2, 3, 3), stride=2, output_padding=2)),
    ("unfold_kernel_too_big", lambda s: s.F.unfold(s.z(1, 3, 2, 2), 3)),
    ("fold_bad_blocks", lambda s: s.F.fold(s.z(1, 12, 5), (4, 4), 2)),
    ("fold_channels_not_divisible", lambda s: s.F.fold(s.z(1, 7, 9), (4, 4), 2)),
    # ---- pooling ----
    ("max_pool2d_kernel_too_big", lambda s: s.F.max_pool2d(s.z(1, 1, 2, 2), 3)),
    ("max_pool2d_pad_too_big", lambda s: s.F.max_pool2d(s.z(1, 1, 4, 4), 2, padding=2)),
    ("max_pool2d_2d_input", lambda s: s.F.max_pool2d(s.z(4), 2)),
    ("max_pool1d_zero_stride", lambda s: s.F.max_pool1d(s.z(1, 1, 4), 2, stride=0)),
    ("avg_pool2d_kernel_too_big", lambda s: s.F.avg_pool2d(s.z(1, 1, 2, 2), 3)),
    ("avg_pool2d_pad_too_big", lambda s: s.F.avg_pool2d(s.z(1, 1, 4, 4), 2, padding=2)),
    ("avg_pool1d_2d_input", lambda s: s.F.avg_pool1d(s.z(4), 2)),
    ("MaxPool2d_kernel_too_big", lambda s: s.nn.MaxPool2d(5)(s.z(1, 1, 3, 3))),
    ("adaptive_avg_pool2d_1d_input", lambda s: s.F.adaptive_avg_pool2d(s.z(4), 2)),
    ("adaptive_max_pool2d_1d_input", lambda s: s.F.adaptive_max_pool2d(s.z(4), 2)),
    ("adaptive_avg_pool1d_bad_size", lambda s: s.F.adaptive_avg_pool1d(s.z(1, 1, 4), (2, 2))),
    ("lp_pool2d_kernel_too_big", lambda s: s.F.lp_pool2d(s.z(1, 1, 2, 2), 2, 3)),
    ("fractional_max_pool2d_output_too_big",
     lambda s: s.F.fractional_max_pool2d(s.z(1, 1, 4, 4), 2, output_size=5)),
    ("fractional_max_pool2d_no_size", lambda s: s.F.fractional_max_pool2d(s.z(1, 1, 4, 4), 2)),
    ("max_unpool2d_bad_output_size",
     lambda s: s.F.max_unpool2d(s.z(1, 1, 2, 2), s.i(1, 1, 2, 2), 2, output_size=(9, 9))),
    # ---- normalization ----
    ("BatchNorm1d_features", lambda s: s.to(s.nn.BatchNorm1d(3))(s.z(2, 4))),
    ("BatchNorm2d_3d_input", lambda s: s.to(s.nn.BatchNorm2d(3))(s.z(2, 3, 4))),
    ("BatchNorm1d_one_value_per_channel", lambda s: s.to(s.nn.BatchNorm1d(3))(s.z(1, 3))),
    ("batch_norm_running_mean_size",
     lambda s: s.F.batch_norm(s.z(2, 3), s.z(4), s.z(4) + 1, training=False)),
    ("batch_norm_eval_without_stats", lambda s: s.F.batch_norm(s.z(2, 3), None, None, training=False)),
    ("InstanceNorm1d_channels",
     lambda s: s.to(s.nn.InstanceNorm1d(3, affine=True))(s.z(2, 4, 5))),
    ("instance_norm_one_value", lambda s: s.F.instance_norm(s.z(2, 3, 1))),
    ("LayerNorm_shape", lambda s: s.to(s.nn.LayerNorm(3))(s.z(2, 4))),
    ("layer_norm_weight_shape", lambda s: s.F.layer_norm(s.z(2, 3), (3,), s.z(4))),
    ("GroupNorm_groups_ctor", lambda s: s.nn.GroupNorm(2, 3)),
    ("GroupNorm_channels", lambda s: s.to(s.nn.GroupNorm(2, 4))(s.z(2, 6, 3))),
    ("group_norm_not_divisible", lambda s: s.F.group_norm(s.z(2, 6, 3), 4)),
    ("local_response_norm_2d_input", lambda s: s.F.local_response_norm(s.z(2, 3), 2)),
    ("RMSNorm_shape", lambda s: s.to(s.nn.RMSNorm(3))(s.z(2, 4))),
    # ---- linear / bilinear / embedding ----
    ("linear_in_features", lambda s: s.F.linear(s.z(2, 3), s.z(4, 5))),
    ("Linear_in_features", lambda s: s.to(s.nn.Linear(3, 4))(s.z(2, 5))),
    ("linear_bias_size", lambda s: s.F.linear(s.z(2, 3), s.z(4, 3), s.z(5))),
    ("Bilinear_in1", lambda s: s.to(s.nn.Bilinear(3, 4, 5))(s.z(2, 2), s.z(2, 4))),
    ("bilinear_batch_mismatch", lambda s: s.F.bilinear(s.z(2, 3), s.z(3, 4), s.z(5, 3, 4))),
    ("embedding_index_out_of_range", lambda s: s.F.embedding(s.i(3, hi=10), s.z(5, 2))),
    ("Embedding_float_index", lambda s: s.to(s.nn.Embedding(5, 2))(s.z(3))),
    ("embedding_bag_offsets_2d_input", lambda s: s.F.embedding_bag(s.i(2, 3), s.z(5, 2), s.i(2))),
    ("embedding_bag_bad_mode", lambda s: s.F.embedding_bag(s.i(2, 3), s.z(5, 2), mode="median")),
    ("one_hot_too_few_classes", lambda s: s.F.one_hot(s.i(3, hi=5), 3)),
    ("one_hot_negative", lambda s: s.F.one_hot(s.i(3, hi=0) - 1, 3)),
    ("one_hot_float", lambda s: s.F.one_hot(s.z(3), 3)),
    # ---- losses ----
    ("mse_loss_shape", lambda s: s.F.mse_loss(s.z(2, 3), s.z(3, 2))),
    ("l1_loss_shape", lambda s: s.F.l1_loss(s.z(2, 3), s.z(3, 2))),
    ("mse_loss_bad_reduction", lambda s: s.F.mse_loss(s.z(2), s.z(2), reduction="avg")),
    ("MSELoss_bad_reduction", lambda s: s.nn.MSELoss(reduction="avg")(s.z(2), s.z(2))),
    ("bce_shape", lambda s: s.F.binary_cross_entropy(s.z(2, 3), s.z(3, 2))),
    ("bce_with_logits_shape", lambda s: s.F.binary_cross_entropy_with_logits(s.z(2, 3), s.z(3, 2))),
    ("bce_weight_shape", lambda s: s.F.binary_cross_entropy(s.z(2, 3), s.z(2, 3), weight=s.z(4))),
    ("cross_entropy_target_out_of_range", lambda s: s.F.cross_entropy(s.z(2, 3), s.i(2, hi=5))),
    ("cross_entropy_batch_mismatch", lambda s: s.F.cross_entropy(s.z(2, 3), s.i(3))),
    ("cross_entropy_weight_size", lambda s: s.F.cross_entropy(s.z(2, 3), s.i(2), weight=s.z(4))),
    ("cross_entropy_bad_reduction", lambda s: s.F.cross_entropy(s.z(2, 3), s.i(2), reduction="x")),
    ("cross_entropy_float_target_shape", lambda s: s.F.cross_entropy(s.z(2, 3), s.z(2, 4))),
    ("nll_loss_target_out_of_range", lambda s: s.F.nll_loss(s.z(2, 3), s.i(2, hi=4))),
    ("nll_loss_batch_mismatch", lambda s: s.F.nll_loss(s.z(2, 3), s.i(3))),
    ("nll_loss_float_target", lambda s: s.F.nll_loss(s.z(2, 3), s.z(2))),
    ("kl_div_bad_reduction", lambda s: s.F.kl_div(s.z(2), s.z(2), reduction="x")),
    ("huber_loss_shape", lambda s: s.F.huber_loss(s.z(2, 3), s.z(3, 2))),
    ("smooth_l1_loss_shape", lambda s: s.F.smooth_l1_loss(s.z(2, 3), s.z(3, 2))),
    ("margin_ranking_loss_shape", lambda s: s.F.margin_ranking_loss(s.z(2), s.z(3), s.z(4))),
    ("cosine_embedding_loss_shape", lambda s: s.F.cosine_embedding_loss(s.z(2, 3), s.z(2, 4), s.z(2))),
    ("triplet_margin_loss_shape", lambda s: s.F.triplet_margin_loss(s.z(2, 3), s.z(2, 4), s.z(2, 3))),
    ("multi_margin_loss_batch", lambda s: s.F.multi_margin_loss(s.z(2, 3), s.i(3))),
    ("multi_margin_loss_p", lambda s: s.F.multi_margin_loss(s.z(2, 3), s.i(2), p=3)),
    ("gaussian_nll_loss_var_shape", lambda s: s.F.gaussian_nll_loss(s.z(2, 3), s.z(2, 3), s.z(3, 2))),
    ("poisson_nll_loss_shape", lambda s: s.F.poisson_nll_loss(s.z(2, 3), s.z(3, 2))),
    ("ctc_loss_bad_lengths",
     lambda s: s.F.ctc_loss(s.z(4, 2, 3), s.i(2, 2, hi=2), [4, 4, 4], [2, 2])),
    # ---- dropout ----
    ("dropout_p_out_of_range", lambda s: s.F.dropout(s.z(2), p=1.5)),
    ("Dropout_p_negative", lambda s: s.nn.Dropout(p=-0.1)),
    ("dropout2d_p", lambda s: s.F.dropout2d(s.z(1, 2, 3, 3), p=2.0)),
    ("alpha_dropout_p", lambda s: s.F.alpha_dropout(s.z(2), p=1.5)),
    ("feature_alpha_dropout_p", lambda s: s.F.feature_alpha_dropout(s.z(1, 2, 3), p=1.5)),
    ("dropout1d_4d_input", lambda s: s.F.dropout1d(s.z(1, 2, 3, 3), p=0.5)),
    # ---- padding / resampling / pixel shuffle ----
    ("pad_odd_length", lambda s: s.F.pad(s.z(1, 1, 3), (1,))),
    ("pad_reflect_too_big", lambda s: s.F.pad(s.z(1, 1, 3), (3, 3), mode="reflect")),
    ("pad_bad_mode", lambda s: s.F.pad(s.z(1, 1, 3), (1, 1), mode="bogus")),
    ("pad_too_many_dims", lambda s: s.F.pad(s.z(3), (1, 1, 1, 1))),
    ("interpolate_bad_mode", lambda s: s.F.interpolate(s.z(1, 1, 4), size=8, mode="cubic")),
    ("interpolate_both_size_and_scale", lambda s: s.F.interpolate(s.z(1, 1, 4), size=8, scale_factor=2)),
    ("interpolate_neither", lambda s: s.F.interpolate(s.z(1, 1, 4))),
    ("interpolate_bilinear_3d", lambda s: s.F.interpolate(s.z(1, 1, 4), size=8, mode="bilinear")),
    ("interpolate_size_len", lambda s: s.F.interpolate(s.z(1, 1, 4, 4), size=(2, 2, 2))),
    ("grid_sample_grid_shape", lambda s: s.F.grid_sample(s.z(1, 1, 4, 4), s.z(1, 3, 3, 3))),
    ("grid_sample_bad_mode", lambda s: s.F.grid_sample(s.z(1, 1, 4, 4), s.z(1, 3, 3, 2), mode="cubic")),
    ("grid_sample_batch", lambda s: s.F.grid_sample(s.z(2, 1, 4, 4), s.z(1, 3, 3, 2))),
    ("affine_grid_theta_shape", lambda s: s.F.affine_grid(s.z(1, 3, 3), [1, 1, 4, 4])),
    ("pixel_shuffle_not_divisible", lambda s: s.F.pixel_shuffle(s.z(1, 3, 2, 2), 2)),
    ("pixel_unshuffle_not_divisible", lambda s: s.F.pixel_unshuffle(s.z(1, 1, 3, 3), 2)),
    ("pixel_shuffle_2d", lambda s: s.F.pixel_shuffle(s.z(4, 4), 2)),
    # ---- attention / transformer / recurrent ----
    ("sdpa_inner_dim", lambda s: s.F.scaled_dot_product_attention(s.z(1, 2, 4), s.z(1, 3, 5), s.z(1, 3, 4))),
    ("sdpa_kv_len", lambda s: s.F.scaled_dot_product_attention(s.z(1, 2, 4), s.z(1, 3, 4), s.z(1, 5, 4))),
    ("Transformer_batch_mismatch",
     lambda s: s.to(s.nn.Transformer(4, 2, 1, 1, 8, dropout=0.0))(s.z(3, 2, 4), s.z(3, 1, 4))),
    ("Transformer_d_model_mismatch",
     lambda s: s.to(s.nn.Transformer(4, 2, 1, 1, 8, dropout=0.0))(s.z(3, 1, 5), s.z(3, 1, 4))),
    ("RNN_input_size", lambda s: s.to(s.nn.RNN(3, 4))(s.z(5, 2, 6))),
    ("LSTM_input_size", lambda s: s.to(s.nn.LSTM(3, 4))(s.z(5, 2, 6))),
    ("GRU_input_size", lambda s: s.to(s.nn.GRU(3, 4))(s.z(5, 2, 6))),
    ("LSTM_4d_input", lambda s: s.to(s.nn.LSTM(3, 4))(s.z(5, 2, 3, 1))),
    ("GRU_hidden_shape", lambda s: s.to(s.nn.GRU(3, 4))(s.z(5, 2, 3), s.z(1, 2, 5))),
    ("LSTMCell_input_size", lambda s: s.to(s.nn.LSTMCell(3, 4))(s.z(2, 6))),
    ("RNNCell_hidden_shape", lambda s: s.to(s.nn.RNNCell(3, 4))(s.z(2, 3), s.z(2, 5))),
    ("RNN_bad_nonlinearity", lambda s: s.nn.RNN(3, 4, nonlinearity="gelu")),
    # ---- softmax dims ----
    ("softmax_dim_out_of_range", lambda s: s.F.softmax(s.z(2, 3), dim=2)),
    ("log_softmax_dim_out_of_range", lambda s: s.F.log_softmax(s.z(2, 3), dim=-3)),
    ("Softmax_dim_out_of_range", lambda s: s.nn.Softmax(dim=5)(s.z(2, 3))),
    ("glu_odd_dim", lambda s: s.F.glu(s.z(2, 3))),
    ("cosine_similarity_shape", lambda s: s.F.cosine_similarity(s.z(2, 3), s.z(2, 4))),
    # ---- core ops ----
    ("cat_shape", lambda s: s.m.cat([s.z(2, 3), s.z(2, 4)])),
    ("cat_dim_out_of_range", lambda s: s.m.cat([s.z(2, 3), s.z(2, 3)], dim=2)),
    ("cat_rank_mismatch", lambda s: s.m.cat([s.z(2, 3), s.z(3)])),
    ("cat_empty_list", lambda s: s.m.cat([])),
    ("stack_shape", lambda s: s.m.stack([s.z(2, 3), s.z(3, 2)])),
    ("stack_dim_out_of_range", lambda s: s.m.stack([s.z(2), s.z(2)], dim=3)),
    ("matmul_inner", lambda s: s.m.matmul(s.z(2, 3), s.z(4, 5))),
    ("matmul_batch_broadcast", lambda s: s.m.matmul(s.z(2, 2, 3), s.z(3, 3, 4))),
    ("matmul_0d", lambda s: s.m.matmul(s.z(()), s.z(3))),
    ("mm_3d", lambda s: s.m.mm(s.z(2, 2, 3), s.z(3, 4))),
    ("view_bad_size", lambda s: s.z(2, 3).view(4, 2)),
    ("view_two_minus_one", lambda s: s.z(2, 3).view(-1, -1)),
    ("reshape_bad_size", lambda s: s.z(2, 3).reshape(5)),
    ("expand_bad", lambda s: s.z(2, 3).expand(4, 3)),
    ("expand_fewer_dims", lambda s: s.z(2, 3).expand(3)),
    ("gather_dim_out_of_range", lambda s: s.m.gather(s.z(2, 3), 2, s.i(2, 3))),
    ("gather_index_out_of_range", lambda s: s.m.gather(s.z(2, 3), 1, s.i(2, 3, hi=5))),
    ("gather_rank_mismatch", lambda s: s.m.gather(s.z(2, 3), 1, s.i(2))),
    ("gather_float_index", lambda s: s.m.gather(s.z(2, 3), 1, s.z(2, 3))),
    ("index_select_out_of_range", lambda s: s.m.index_select(s.z(2, 3), 0, s.i(2, hi=5))),
    ("index_select_2d_index", lambda s: s.m.index_select(s.z(2, 3), 0, s.i(2, 2))),
    ("index_select_dim_out_of_range", lambda s: s.m.index_select(s.z(2, 3), 3, s.i(2))),
    ("scatter_index_out_of_range", lambda s: s.z(2, 3).scatter(1, s.i(2, 3, hi=5), s.z(2, 3))),
    ("scatter_rank_mismatch", lambda s: s.z(2, 3).scatter(1, s.i(2), s.z(2))),
    ("scatter_dim_out_of_range", lambda s: s.z(2, 3).scatter(4, s.i(2, 3), s.z(2, 3))),
    ("getitem_out_of_range", lambda s: s.z(2, 3)[5]),
    ("getitem_too_many_indices", lambda s: s.z(2, 3)[0, 0, 0]),
    ("transpose_dim_out_of_range", lambda s: s.z(2, 3).transpose(0, 2)),
    ("permute_wrong_count", lambda s: s.z(2, 3).permute(0)),
    ("permute_repeated", lambda s: s.z(2, 3).permute(0, 0)),
    ("squeeze_dim_out_of_range", lambda s: s.z(2, 3).squeeze(3)),
    ("unsqueeze_dim_out_of_range", lambda s: s.z(2, 3).unsqueeze(4)),
    ("sum_dim_out_of_range", lambda s: s.z(2, 3).sum(2)),
    ("add_broadcast", lambda s: s.z(2, 3) + s.z(4)),
    ("where_broadcast", lambda s: s.m.where(s.z(2, 3) > 0, s.z(2, 3), s.z(4))),
    ("split_sizes_sum", lambda s: s.z(6).split([2, 3])),
    ("chunk_zero", lambda s: s.z(6).chunk(0)),
    ("narrow_too_long", lambda s: s.z(6).narrow(0, 4, 4)),
    ("flatten_bad_dims", lambda s: s.z(2, 3).flatten(1, 0)),
]

# PyTorch checks these with ``assert`` (an AssertionError, and no check at all under ``python -O``); lucid raises
# the class its other checks of the kind use: ValueError for a bad constructor argument, RuntimeError for
# a bad shape at call time. (id, call, lucid's class)
DELIBERATE = [
    ("Embedding_padding_idx_ctor", lambda s: s.nn.Embedding(5, 2, padding_idx=7), ValueError),
    ("MultiheadAttention_heads_ctor", lambda s: s.nn.MultiheadAttention(5, 2), ValueError),
    ("MultiheadAttention_embed_dim",
     lambda s: s.to(s.nn.MultiheadAttention(4, 2))(s.z(3, 1, 5), s.z(3, 1, 5), s.z(3, 1, 5)), RuntimeError),
    ("MultiheadAttention_key_value_len",
     lambda s: s.to(s.nn.MultiheadAttention(4, 2))(s.z(3, 1, 4), s.z(2, 1, 4), s.z(3, 1, 4)), RuntimeError),
    ("TransformerEncoderLayer_heads", lambda s: s.nn.TransformerEncoderLayer(5, 2), ValueError),
    ("TransformerEncoderLayer_d_model",
     lambda s: s.to(s.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0))(s.z(3, 1, 5)), RuntimeError),
]


def _raised(call, s):
    """The exception ``call(s)`` raises, or None."""
    try:
        call(s)
    except Exception as exc:  # noqa: BLE001 - the class is what is compared
        return exc
    return None


def _builtin(cls):
    """The first builtin class in ``cls``'s MRO: torch's own errors (``torch.AcceleratorError``...) subclass one."""
    return next(c for c in cls.__mro__ if c.__module__ == "builtins")


# out-of-range indices are checked on host devices only (elsewhere the check would sync, as PyTorch's CUDA one is
# an asynchronous device assert)
HOST_ONLY = {"gather_index_out_of_range", "scatter_index_out_of_range"}


@pytest.mark.parametrize("name, call", CASES, ids=[n for n, _ in CASES])
def test_error_type_as_torch(device, name, call):
    if name in HOST_ONLY and not device.host:
        pytest.skip("indices are not checked on this device")
    expected = _raised(call, _ns(torch))
    assert expected is not None, "the oracle accepts this call: the row is not a bad call"
    got = _raised(call, _ns(lucid, device))
    assert got is not None, f"torch raises {type(expected).__name__}: {expected}; lucid accepts the call"
    # ``except TorchType`` must catch lucid's exception: same class, or a subclass of it.
    assert isinstance(got, _builtin(type(expected))), (
        f"torch raises {type(expected).__name__} ({expected}); lucid raises {type(got).__name__}: {got}")


@pytest.mark.parametrize("call, cls", [(c, k) for _, c, k in DELIBERATE], ids=[n for n, _, _ in DELIBERATE])
def test_error_type_where_torch_asserts(device, call, cls):
    assert type(_raised(call, _ns(torch))) is AssertionError
    assert type(_raised(call, _ns(lucid, device))) is cls
