"""The ``grad_fn`` name an op leaves on its output (``MseLossBackward0``, ``AddmmBackward0``...) read as PyTorch's:
programs that print tensors requiring grad show what they show under torch. Each case runs on lucid and torch."""

from __future__ import annotations

import numpy as np
import pytest

import lucid

torch = pytest.importorskip("torch")


def _maker(lib, device):
    """``mk(*shape, grad=True, ints=None)``: a float32 tensor of fixed values (``ints``: int64 below ``ints``)."""
    rng = np.random.default_rng(0)

    def mk(*shape, grad=True, ints=None):
        if ints is not None:
            a = rng.integers(0, ints, shape)
        else:
            a = rng.uniform(0.1, 0.9, shape).astype(np.float32)
        t = lucid.tensor(a, device=device) if lib is lucid else torch.tensor(a)
        return t.requires_grad_() if grad and ints is None else t

    return mk


def _activation(name):
    return lambda L, F, mk: getattr(F, name)(mk(3, 4) - 0.5)


def _class_loss(loss, shape, reduction):
    """``loss`` of an input of ``shape`` against class indices (classes on dimension 1)."""
    return lambda L, F, mk: getattr(F, loss)(mk(*shape), mk(*shape[:1] + shape[2:], ints=5), reduction=reduction)


def _set(t, key, value):
    """``t`` after ``t[key] = value``."""
    t[key] = value
    return t


def _written_view(t):
    """``t`` after a write into its view ``t[0]``, with that view (its history rebuilt from ``t``'s)."""
    v = t[0]
    v.mul_(2)
    return t, v


def _view_of_written(t):
    """The view ``t.t()`` after a write into ``t`` (its history rebuilt from ``t``'s)."""
    v = t.t()
    t.add_(1)
    return v


def _in_place_activation(name):
    return lambda L, F, mk: getattr(F, name)(mk(3) - 0.5, inplace=True)


def _gram(mk):
    """A symmetric positive-definite 3x3 matrix (random rows, so of full rank)."""
    a = mk(3, 3)
    return a @ a.mT


def _weight_norm(dim):
    """The weight of a Linear layer under the ``weight_norm`` parametrization over ``dim``."""
    def make(L, F, mk):
        layer = L.nn.Linear(3, 2).to(mk(1).device)
        return L.nn.utils.parametrizations.weight_norm(layer, dim=dim).weight
    return make


def _cdist(p):
    return lambda L, F, mk: L.cdist(mk(3, 4), mk(2, 4), p=p)


def _sdpa(*shapes, **kwargs):
    return lambda L, F, mk: F.scaled_dot_product_attention(*(mk(*s) for s in shapes), **kwargs)


def _interp(shape, **kwargs):
    return lambda L, F, mk: F.interpolate(mk(*shape), **kwargs)


def _pad(shape, widths, mode):
    return lambda L, F, mk: F.pad(mk(*shape), widths, mode=mode)


def _einsum(equation, *shapes):
    return lambda L, F, mk: L.einsum(equation, *(mk(*s) for s in shapes))


_CASES = {
    # activations
    **{name: _activation(name) for name in (
        "relu", "relu6", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign", "tanhshrink",
        "hardtanh", "hardswish", "hardsigmoid", "hardshrink", "softshrink", "leaky_relu", "logsigmoid", "sigmoid",
        "tanh", "rrelu", "glu")},
    "prelu": lambda L, F, mk: F.prelu(mk(3, 4), mk(1)),
    "threshold": lambda L, F, mk: F.threshold(mk(3, 4), 0.5, 0.0),
    "softmax": lambda L, F, mk: F.softmax(mk(3, 4), dim=1),
    "log_softmax": lambda L, F, mk: F.log_softmax(mk(3, 4), dim=1),
    "softmin": lambda L, F, mk: F.softmin(mk(3, 4), dim=1),
    "normalize": lambda L, F, mk: F.normalize(mk(3, 4)),
    # losses
    "mse_loss": lambda L, F, mk: F.mse_loss(mk(3, 4), mk(3, 4, grad=False)),
    "mse_loss_sum": lambda L, F, mk: F.mse_loss(mk(3, 4), mk(3, 4, grad=False), reduction="sum"),
    "mse_loss_weight": lambda L, F, mk: F.mse_loss(mk(3, 4), mk(3, 4, grad=False), weight=mk(3, 4, grad=False)),
    "huber_loss_none": lambda L, F, mk: F.huber_loss(mk(3, 4), mk(3, 4, grad=False), reduction="none"),
    "smooth_l1_loss_beta0": lambda L, F, mk: F.smooth_l1_loss(mk(3, 4), mk(3, 4, grad=False), beta=0.0),
    "cross_entropy_none": lambda L, F, mk: F.cross_entropy(mk(3, 5), mk(3, ints=5), reduction="none"),
    "cross_entropy_1d": lambda L, F, mk: F.cross_entropy(mk(5), mk(ints=5)),
    "cross_entropy_spatial": lambda L, F, mk: F.cross_entropy(mk(3, 5, 2), mk(3, 2, ints=5)),
    **{f"{loss}_{shape}_{reduction}": _class_loss(loss, shape, reduction)
       for loss in ("cross_entropy", "nll_loss") for shape in ((3, 5, 2), (3, 5, 2, 2), (3, 5, 2, 2, 2))
       for reduction in ("mean", "none")},
    "nll_loss_none": lambda L, F, mk: F.nll_loss(mk(3, 5), mk(3, ints=5), reduction="none"),
    "binary_cross_entropy_sum":
        lambda L, F, mk: F.binary_cross_entropy(mk(3, 4), mk(3, 4, grad=False), reduction="sum"),
    "bce_with_logits_pos_weight": lambda L, F, mk: F.binary_cross_entropy_with_logits(
        mk(3, 4), mk(3, 4, grad=False), pos_weight=mk(4, grad=False)),
    "soft_margin_loss": lambda L, F, mk: F.soft_margin_loss(mk(3), mk(3, grad=False)),
    "multi_margin_loss": lambda L, F, mk: F.multi_margin_loss(mk(3, 4), mk(3, ints=4)),
    "mse_loss_none": lambda L, F, mk: F.mse_loss(mk(3, 4), mk(3, 4, grad=False), reduction="none"),
    "l1_loss": lambda L, F, mk: F.l1_loss(mk(3, 4), mk(3, 4, grad=False)),
    "smooth_l1_loss": lambda L, F, mk: F.smooth_l1_loss(mk(3, 4), mk(3, 4, grad=False)),
    "huber_loss": lambda L, F, mk: F.huber_loss(mk(3, 4), mk(3, 4, grad=False)),
    "cross_entropy": lambda L, F, mk: F.cross_entropy(mk(3, 5), mk(3, ints=5)),
    "cross_entropy_smoothing": lambda L, F, mk: F.cross_entropy(mk(3, 5), mk(3, ints=5), label_smoothing=0.1),
    "cross_entropy_probs": lambda L, F, mk: F.cross_entropy(mk(3, 5), mk(3, 5, grad=False)),
    "cross_entropy_probs_sum": lambda L, F, mk: F.cross_entropy(mk(3, 5), mk(3, 5, grad=False), reduction="sum"),
    "cross_entropy_probs_none": lambda L, F, mk: F.cross_entropy(mk(3, 5), mk(3, 5, grad=False), reduction="none"),
    "nll_loss": lambda L, F, mk: F.nll_loss(mk(3, 5), mk(3, ints=5)),
    "binary_cross_entropy": lambda L, F, mk: F.binary_cross_entropy(mk(3, 4), mk(3, 4, grad=False)),
    "binary_cross_entropy_with_logits":
        lambda L, F, mk: F.binary_cross_entropy_with_logits(mk(3, 4), mk(3, 4, grad=False)),
    "kl_div": lambda L, F, mk: F.kl_div(mk(3, 4), mk(3, 4, grad=False), reduction="batchmean"),
    "cosine_embedding_loss":
        lambda L, F, mk: F.cosine_embedding_loss(mk(3, 4), mk(3, 4), mk(3, grad=False).sign() * 0 + 1),
    "margin_ranking_loss": lambda L, F, mk: F.margin_ranking_loss(mk(3), mk(3), mk(3, grad=False) * 0 + 1),
    # linear, conv, pooling, norms, embedding
    "linear_2d": lambda L, F, mk: F.linear(mk(2, 4), mk(3, 4), mk(3)),
    "linear_2d_nobias": lambda L, F, mk: F.linear(mk(2, 4), mk(3, 4)),
    "linear_3d": lambda L, F, mk: F.linear(mk(2, 5, 4), mk(3, 4), mk(3)),
    "linear_1d": lambda L, F, mk: F.linear(mk(4), mk(3, 4), mk(3)),
    "bilinear": lambda L, F, mk: F.bilinear(mk(2, 3), mk(2, 4), mk(5, 3, 4), mk(5)),
    "bilinear_nobias": lambda L, F, mk: F.bilinear(mk(2, 3), mk(2, 4), mk(5, 3, 4)),
    "conv1d": lambda L, F, mk: F.conv1d(mk(1, 2, 8), mk(3, 2, 3)),
    "conv2d": lambda L, F, mk: F.conv2d(mk(1, 2, 6, 6), mk(3, 2, 3, 3), mk(3)),
    "conv3d": lambda L, F, mk: F.conv3d(mk(1, 2, 4, 4, 4), mk(3, 2, 3, 3, 3)),
    "conv_transpose2d": lambda L, F, mk: F.conv_transpose2d(mk(1, 2, 4, 4), mk(2, 3, 3, 3)),
    "conv1d_bias": lambda L, F, mk: F.conv1d(mk(1, 2, 8), mk(3, 2, 3), mk(3)),
    "conv2d_unbatched": lambda L, F, mk: F.conv2d(mk(2, 6, 6), mk(3, 2, 3, 3), mk(3)),
    "conv_transpose1d": lambda L, F, mk: F.conv_transpose1d(mk(1, 2, 4), mk(2, 3, 3), mk(3)),
    "max_pool1d": lambda L, F, mk: F.max_pool1d(mk(1, 2, 6), 2),
    "max_pool2d": lambda L, F, mk: F.max_pool2d(mk(1, 2, 6, 6), 2),
    "max_pool2d_indices": lambda L, F, mk: F.max_pool2d(mk(1, 2, 6, 6), 2, return_indices=True)[0],
    "max_pool3d": lambda L, F, mk: F.max_pool3d(mk(1, 2, 4, 4, 4), 2),
    "avg_pool1d": lambda L, F, mk: F.avg_pool1d(mk(1, 2, 6), 2),
    "avg_pool3d": lambda L, F, mk: F.avg_pool3d(mk(1, 2, 4, 4, 4), 2),
    "adaptive_avg_pool1d": lambda L, F, mk: F.adaptive_avg_pool1d(mk(1, 2, 6), 3),
    "adaptive_avg_pool2d_global": lambda L, F, mk: F.adaptive_avg_pool2d(mk(1, 2, 6, 6), 1),
    "adaptive_avg_pool3d": lambda L, F, mk: F.adaptive_avg_pool3d(mk(1, 2, 4, 4, 4), 2),
    "adaptive_max_pool3d": lambda L, F, mk: F.adaptive_max_pool3d(mk(1, 2, 4, 4, 4), 2),
    "avg_pool2d": lambda L, F, mk: F.avg_pool2d(mk(1, 2, 6, 6), 2),
    "adaptive_avg_pool2d": lambda L, F, mk: F.adaptive_avg_pool2d(mk(1, 2, 6, 6), 3),
    "adaptive_max_pool2d": lambda L, F, mk: F.adaptive_max_pool2d(mk(1, 2, 6, 6), 3),
    "batch_norm_train": lambda L, F, mk: F.batch_norm(mk(4, 3), None, None, mk(3), mk(3), training=True),
    "batch_norm_eval": lambda L, F, mk: F.batch_norm(mk(4, 3), mk(3, grad=False), mk(3, grad=False), mk(3), mk(3)),
    "layer_norm": lambda L, F, mk: F.layer_norm(mk(3, 4), (4,), mk(4), mk(4)),
    "group_norm": lambda L, F, mk: F.group_norm(mk(2, 4, 3), 2, mk(4), mk(4)),
    "embedding": lambda L, F, mk: F.embedding(mk(3, ints=5), mk(5, 4)),
    "dropout_train": lambda L, F, mk: F.dropout(mk(3, 4), 0.5, training=True),
    "dropout_eval": lambda L, F, mk: F.dropout(mk(3, 4), 0.5, training=False) * 1,
    # matmul family
    "matmul_batch_matrix": lambda L, F, mk: mk(2, 2, 3) @ mk(3, 4),
    "matmul_batch_vector": lambda L, F, mk: mk(2, 2, 3) @ mk(3),
    "matmul_matrix_batch": lambda L, F, mk: mk(2, 3) @ mk(2, 3, 4),
    "matmul_vector_batch": lambda L, F, mk: mk(3) @ mk(2, 3, 4),
    "mm": lambda L, F, mk: L.mm(mk(2, 3), mk(3, 4)),
    "matmul_2d": lambda L, F, mk: mk(2, 3) @ mk(3, 4),
    "matmul_mv": lambda L, F, mk: mk(2, 3) @ mk(3),
    "matmul_dot": lambda L, F, mk: mk(3) @ mk(3),
    "bmm": lambda L, F, mk: L.bmm(mk(2, 2, 3), mk(2, 3, 4)),
    "matmul_3d": lambda L, F, mk: mk(2, 2, 3) @ mk(2, 3, 4),
    # shapes and indexing
    "view": lambda L, F, mk: mk(3, 4).view(4, 3),
    "reshape": lambda L, F, mk: mk(3, 4).reshape(12),
    "reshape_copy": lambda L, F, mk: mk(3, 4).t().reshape(12),
    "flatten": lambda L, F, mk: mk(2, 3, 4).flatten(1),
    "squeeze": lambda L, F, mk: mk(3, 1).squeeze(1),
    "unsqueeze": lambda L, F, mk: mk(3).unsqueeze(0),
    "permute": lambda L, F, mk: mk(2, 3, 4).permute(2, 0, 1),
    "transpose": lambda L, F, mk: mk(2, 3, 4).transpose(0, 1),
    "t": lambda L, F, mk: mk(3, 4).t(),
    "expand": lambda L, F, mk: mk(3, 1).expand(3, 4),
    "cat": lambda L, F, mk: L.cat([mk(2, 3), mk(2, 3)]),
    "stack": lambda L, F, mk: L.stack([mk(2, 3), mk(2, 3)]),
    "split": lambda L, F, mk: mk(4, 3).split(2)[0],
    "chunk": lambda L, F, mk: mk(4, 3).chunk(2)[1],
    "select": lambda L, F, mk: mk(3, 4)[0],
    "slice": lambda L, F, mk: mk(3, 4)[1:],
    "select_last": lambda L, F, mk: mk(3, 4)[:, 0],
    "slice_after_select": lambda L, F, mk: mk(3, 4)[0, 1:],
    "select_then_full": lambda L, F, mk: mk(3, 4)[0, :],
    "index_none": lambda L, F, mk: mk(3, 4)[None],
    "index_alias": lambda L, F, mk: mk(3, 4)[...],
    "index_mask": lambda L, F, mk: mk(3, 4)[mk(3, 4, grad=False) > 0.5],
    "squeeze_all": lambda L, F, mk: mk(3, 1).squeeze(),
    "swapaxes": lambda L, F, mk: mk(2, 3).swapaxes(0, 1),
    "movedim": lambda L, F, mk: mk(2, 3, 4).movedim(0, 2),
    "index": lambda L, F, mk: mk(3, 4)[mk(2, ints=3)],
    # reductions
    "sum": lambda L, F, mk: mk(3, 4).sum(),
    "sum_dim": lambda L, F, mk: mk(3, 4).sum(1),
    "sum_dims": lambda L, F, mk: mk(3, 4).sum((0, 1)),
    "mean_dim": lambda L, F, mk: mk(3, 4).mean(0),
    "prod": lambda L, F, mk: mk(3, 4).prod(),
    "prod_dim": lambda L, F, mk: mk(3, 4).prod(1),
    "logsumexp": lambda L, F, mk: mk(3, 4).logsumexp(1),
    "amax": lambda L, F, mk: mk(3, 4).amax(1),
    "min_dim": lambda L, F, mk: mk(3, 4).min(1)[0],
    "var_dim": lambda L, F, mk: mk(3, 4).var(0),
    "norm_dim": lambda L, F, mk: mk(3, 4).norm(dim=1),
    "mean": lambda L, F, mk: mk(3, 4).mean(),
    "max": lambda L, F, mk: mk(3, 4).max(),
    "max_dim": lambda L, F, mk: mk(3, 4).max(1)[0],
    "min": lambda L, F, mk: mk(3, 4).min(),
    "norm": lambda L, F, mk: mk(3, 4).norm(),
    "var": lambda L, F, mk: mk(3, 4).var(),
    "std": lambda L, F, mk: mk(3, 4).std(),
    # elementwise
    "add": lambda L, F, mk: mk(3) + mk(3),
    "sub": lambda L, F, mk: mk(3) - mk(3),
    "mul": lambda L, F, mk: mk(3) * mk(3),
    "div": lambda L, F, mk: mk(3) / mk(3),
    "neg": lambda L, F, mk: -mk(3),
    "pow": lambda L, F, mk: mk(3) ** 2,
    "exp": lambda L, F, mk: mk(3).exp(),
    "log": lambda L, F, mk: mk(3).log(),
    "sqrt": lambda L, F, mk: mk(3).sqrt(),
    "rsqrt": lambda L, F, mk: mk(3).rsqrt(),
    "abs": lambda L, F, mk: mk(3).abs(),
    "clamp": lambda L, F, mk: mk(3).clamp(0.2, 0.8),
    "clamp_min": lambda L, F, mk: mk(3).clamp(min=0.2),
    "clamp_tensors": lambda L, F, mk: mk(3).clamp(mk(3, grad=False) * 0.5, mk(3, grad=False) + 1),
    "rsub": lambda L, F, mk: 2 - mk(3),
    "rdiv": lambda L, F, mk: 2 / mk(3),
    "mul_scalar": lambda L, F, mk: mk(3) * 2,
    "div_scalar": lambda L, F, mk: mk(3) / 2,
    "pow_tensor": lambda L, F, mk: mk(3) ** mk(3),
    "rpow": lambda L, F, mk: 2 ** mk(3),
    "square": lambda L, F, mk: mk(3).square(),
    "reciprocal": lambda L, F, mk: mk(3).reciprocal(),
    "maximum": lambda L, F, mk: L.maximum(mk(3), mk(3)),
    "sin": lambda L, F, mk: mk(3).sin(),
    "log1p": lambda L, F, mk: mk(3).log1p(),
    "squeeze_tuple": lambda L, F, mk: mk(3, 1).squeeze((1,)),
    "index_select": lambda L, F, mk: mk(3, 4).index_select(0, mk(2, ints=3)),
    "narrow": lambda L, F, mk: mk(3, 4).narrow(1, 1, 2),
    "unbind": lambda L, F, mk: mk(3, 4).unbind(0)[1],
    "roll": lambda L, F, mk: mk(3, 4).roll(1, 0),
    "flip": lambda L, F, mk: mk(3, 4).flip(0),
    "repeat": lambda L, F, mk: mk(3, 4).repeat(2, 1),
    "tril": lambda L, F, mk: mk(3, 4).tril(),
    "mT": lambda L, F, mk: mk(2, 3, 4).mT,
    "T": lambda L, F, mk: mk(3, 4).T,
    "instance_norm": lambda L, F, mk: F.instance_norm(mk(2, 3, 4)),
    "pad": lambda L, F, mk: F.pad(mk(2, 3), (1, 1)),
    "where": lambda L, F, mk: L.where(mk(3, grad=False) > 0.5, mk(3), mk(3)),
    "masked_fill": lambda L, F, mk: mk(3).masked_fill(mk(3, grad=False) > 0.5, 0.0),
    "gather": lambda L, F, mk: mk(3, 4).gather(1, mk(3, 2, ints=4)),
    "scatter": lambda L, F, mk: mk(3, 4).scatter(1, mk(3, 2, ints=4), mk(3, 2)),
    "cumsum": lambda L, F, mk: mk(3, 4).cumsum(1),
    "sort": lambda L, F, mk: mk(3, 4).sort(1)[0],
    "topk": lambda L, F, mk: mk(3, 4).topk(2)[0],
    "to_dtype": lambda L, F, mk: mk(3).to(L.float64),
    "clone": lambda L, F, mk: mk(3).clone(),
    "contiguous": lambda L, F, mk: mk(3, 4).t().contiguous(),
    # interpolate: one node per mode and dimension count (area is adaptive average pooling)
    "interpolate_nearest1d_2x": _interp((1, 2, 4), scale_factor=2),
    "interpolate_nearest2d_2x": _interp((1, 2, 4, 4), scale_factor=2),
    "interpolate_nearest3d_2x": _interp((1, 2, 2, 2, 2), scale_factor=2),
    "interpolate_nearest2d_size": _interp((1, 2, 4, 4), size=(5, 7)),
    "interpolate_nearest_exact1d": _interp((1, 2, 4), scale_factor=2, mode="nearest-exact"),
    "interpolate_nearest_exact3d": _interp((1, 2, 2, 2, 2), size=3, mode="nearest-exact"),
    "interpolate_linear": _interp((1, 2, 4), scale_factor=2, mode="linear"),
    "interpolate_bilinear": _interp((1, 2, 4, 4), scale_factor=2, mode="bilinear"),
    "interpolate_bilinear_corners": _interp((1, 2, 4, 4), size=(5, 6), mode="bilinear", align_corners=True),
    "interpolate_bilinear_antialias": _interp((1, 2, 8, 8), size=(3, 3), mode="bilinear", antialias=True),
    "interpolate_bicubic": _interp((1, 2, 4, 4), scale_factor=2, mode="bicubic"),
    "interpolate_bicubic_antialias": _interp((1, 2, 8, 8), size=(3, 3), mode="bicubic", antialias=True),
    "interpolate_trilinear": _interp((1, 2, 2, 2, 2), scale_factor=2, mode="trilinear"),
    "interpolate_area": _interp((1, 2, 4, 4), size=(2, 2), mode="area"),
    "interpolate_area1d": _interp((1, 2, 4), size=2, mode="area"),
    "interpolate_area_global": _interp((1, 2, 4, 4), size=1, mode="area"),
    "Upsample": lambda L, F, mk: L.nn.Upsample(scale_factor=2)(mk(1, 2, 3, 3)),
    # attention: PyTorch's CPU flash kernel where it takes the call, else its math path's last matmul
    "sdpa": _sdpa((1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4)),
    "sdpa_causal": _sdpa((1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4), is_causal=True),
    "sdpa_gqa": _sdpa((2, 4, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4), enable_gqa=True),
    "sdpa_value_features": _sdpa((1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 6)),
    "sdpa_broadcast_batch": _sdpa((2, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4)),
    "sdpa_dropout": _sdpa((1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4), dropout_p=0.5),
    "sdpa_3d": _sdpa((2, 3, 4), (2, 5, 4), (2, 5, 4)),
    "sdpa_2d": _sdpa((3, 4), (5, 4), (5, 4)),
    "sdpa_bool_mask": lambda L, F, mk: F.scaled_dot_product_attention(
        mk(1, 2, 3, 4), mk(1, 2, 3, 4), mk(1, 2, 3, 4), attn_mask=mk(3, 3, grad=False) > 0.3),
    "sdpa_mask_with_grad": lambda L, F, mk: F.scaled_dot_product_attention(
        mk(1, 2, 3, 4), mk(1, 2, 3, 4), mk(1, 2, 3, 4), attn_mask=mk(3, 3)),
    # matmul: a matrix (needing grad) times a batch is folded into one mm, its transposed result copied
    "matmul_batch_of_one": lambda L, F, mk: mk(1, 2, 3) @ mk(2, 3, 4),
    "matmul_batches_of_one": lambda L, F, mk: mk(1, 2, 3) @ mk(1, 3, 4),
    "matmul_matrix_without_grad": lambda L, F, mk: mk(2, 3, grad=False) @ mk(2, 3, 4),
    "matmul_row_batch": lambda L, F, mk: mk(1, 3) @ mk(2, 3, 4),
    "matmul_batch_column": lambda L, F, mk: mk(2, 3) @ mk(2, 3, 1),
    "matmul_vector_matrix": lambda L, F, mk: mk(3) @ mk(3, 4),
    # BLAS-style sums, lerp
    "addmm": lambda L, F, mk: L.addmm(mk(2, 4), mk(2, 3), mk(3, 4)),
    "addmm_beta0": lambda L, F, mk: L.addmm(mk(4), mk(2, 3), mk(3, 4), beta=0, alpha=2),
    "addmv": lambda L, F, mk: L.addmv(mk(2), mk(2, 3), mk(3)),
    "addbmm": lambda L, F, mk: L.addbmm(mk(2, 4), mk(3, 2, 3), mk(3, 3, 4)),
    "baddbmm": lambda L, F, mk: L.baddbmm(mk(3, 2, 4), mk(3, 2, 3), mk(3, 3, 4)),
    "addr": lambda L, F, mk: L.addr(mk(2, 3), mk(2), mk(3)),
    "addcmul": lambda L, F, mk: L.addcmul(mk(3), mk(3), mk(3), value=2),
    "addcdiv": lambda L, F, mk: L.addcdiv(mk(3), mk(3), mk(3)),
    "lerp": lambda L, F, mk: L.lerp(mk(3), mk(3), 0.7),
    "lerp_tensor_weight": lambda L, F, mk: L.lerp(mk(3), mk(3), mk(3, grad=False)),
    # einsum as PyTorch's steps end: a sum or permute of one operand, the view of a product or a product of several
    "einsum_mm": _einsum("ij,jk->ki", (2, 3), (3, 4)),
    "einsum_trace": _einsum("ii", (3, 3)),
    "einsum_row_sums": _einsum("ij->i", (3, 4)),
    "einsum_transpose": _einsum("ij->ji", (3, 4)),
    "einsum_diagonal": _einsum("ii->i", (3, 3)),
    "einsum_outer": _einsum("i,j->ij", (3,), (4,)),
    "einsum_products": _einsum("ij,ij->ij", (3, 4), (3, 4)),
    "einsum_three": _einsum("ij,jk,l->ikl", (2, 3), (3, 4), (5,)),
    "tensordot_outer": lambda L, F, mk: L.tensordot(mk(2, 3), mk(4), dims=0),
    # norms, pads, distances, im2col, ctc
    "rms_norm": lambda L, F, mk: F.rms_norm(mk(3, 4), (4,)),
    "rms_norm_weight": lambda L, F, mk: F.rms_norm(mk(3, 4), (4,), mk(4)),
    **{f"pad_{mode}{len(shape) - 2}d": _pad(shape, (1, 1) * (len(shape) - 2), mode)
       for mode in ("reflect", "replicate", "circular") for shape in ((1, 2, 5), (1, 2, 5, 5), (1, 2, 3, 3, 3))},
    "pad_reflect_unbatched": _pad((2, 5), (2, 1), "reflect"),
    "pad_reflect_nothing": _pad((1, 2, 5), (0, 0), "reflect"),
    "pad_crop": lambda L, F, mk: F.pad(mk(2, 5), (-1, -1)),
    "ReflectionPad2d": lambda L, F, mk: L.nn.ReflectionPad2d(1)(mk(1, 2, 4, 4)),
    "pairwise_distance": lambda L, F, mk: F.pairwise_distance(mk(3, 4), mk(3, 4)),
    **{f"cdist_p{p}": _cdist(p) for p in (1, 2, float("inf"))},
    "cdist_by_matmul": lambda L, F, mk: L.cdist(mk(30, 4), mk(2, 4)),
    "pdist": lambda L, F, mk: F.pdist(mk(3, 4)),
    "pdist_p1": lambda L, F, mk: F.pdist(mk(3, 4), p=1),
    "dist": lambda L, F, mk: L.dist(mk(3, 4), mk(4)),
    "unfold": lambda L, F, mk: F.unfold(mk(1, 2, 4, 4), 2),
    "unfold_unbatched": lambda L, F, mk: F.unfold(mk(2, 4, 4), 2),
    "fold": lambda L, F, mk: F.fold(mk(1, 8, 9), (4, 4), 2),
    "fold_unbatched": lambda L, F, mk: F.fold(mk(8, 9), (4, 4), 2),
    "ctc_loss_none": lambda L, F, mk: F.ctc_loss(F.log_softmax(mk(6, 2, 4), 2), mk(2, 2, ints=3) + 1, (6, 6), (2, 2),
                                                 reduction="none"),
    "ctc_loss_unbatched": lambda L, F, mk: F.ctc_loss(F.log_softmax(mk(6, 4), 1), mk(2, ints=3) + 1, (6,), (2,),
                                                      reduction="none"),
    "clamp_min_method": lambda L, F, mk: mk(3).clamp_min(0.5),
    "clamp_max_tensor": lambda L, F, mk: mk(3).clamp_max(mk(3, grad=False)),
    "margin_ranking_loss_none":
        lambda L, F, mk: F.margin_ranking_loss(mk(3), mk(3), mk(3, grad=False) * 0 + 1, reduction="none"),
    "as_strided": lambda L, F, mk: mk(3, 4).as_strided((2, 2), (1, 2)),
    # in place: the op's own node (some of PyTorch's in-place forms have an overload of their own), CopySlices
    # for a write through a view or a basic key, CopyBackwards, and a written view rebuilt by an as_strided
    "add_": lambda L, F, mk: (mk(3) * 1).add_(1),
    "mul_tensor_": lambda L, F, mk: (mk(3) * 1).mul_(mk(3)),
    "relu_": lambda L, F, mk: (mk(3) * 1).relu_(),
    **{f"{name}_inplace": _in_place_activation(name)
       for name in ("leaky_relu", "elu", "selu", "celu", "rrelu", "hardtanh", "silu")},
    "rrelu_train_inplace": lambda L, F, mk: F.rrelu(mk(3) - 0.5, training=True, inplace=True),
    "threshold_inplace": lambda L, F, mk: F.threshold(mk(3) * 1, 0.5, 0.0, inplace=True),
    "clamp_min_": lambda L, F, mk: (mk(3) * 1).clamp_min_(0.5),
    "clamp_": lambda L, F, mk: (mk(3) * 1).clamp_(0.2, 0.5),
    "masked_fill_": lambda L, F, mk: (mk(3) * 1).masked_fill_(mk(3, grad=False) > 0.5, 0.0),
    "addcmul_": lambda L, F, mk: (mk(3) * 1).addcmul_(mk(3), mk(3)),
    "lerp_": lambda L, F, mk: (mk(3) * 1).lerp_(mk(3), 0.5),
    "index_put_": lambda L, F, mk: (mk(3) * 1).index_put_((mk(2, ints=3),), mk(grad=False)),
    "setitem_int": lambda L, F, mk: _set(mk(3, 4) * 1, 0, 1.0),
    "setitem_slice_tensor": lambda L, F, mk: _set(mk(3, 4) * 1, slice(1, None), mk(4)),
    "setitem_into_tensor_without_grad": lambda L, F, mk: _set(mk(3, 4, grad=False), 0, mk(4)),
    "setitem_indices": lambda L, F, mk: _set(mk(3, 4) * 1, mk(2, ints=3), 0.0),
    "setitem_mask": lambda L, F, mk: _set(mk(3, 4) * 1, mk(3, 4, grad=False) > 0.5, 0.0),
    "zero_": lambda L, F, mk: (mk(3) * 1).zero_(),
    "fill_": lambda L, F, mk: (mk(3) * 1).fill_(2.0),
    "fill_tensor": lambda L, F, mk: (mk(3) * 1).fill_(mk(1)[0]),
    "copy_": lambda L, F, mk: (mk(3) * 1).copy_(mk(3)),
    "copy_leaf_into_tensor_without_grad": lambda L, F, mk: mk(3, grad=False).copy_(mk(3)),
    "written_view_base": lambda L, F, mk: _written_view(mk(3, 4) * 1)[0],
    "written_view": lambda L, F, mk: _written_view(mk(3, 4) * 1)[1],
    "view_of_written_base": lambda L, F, mk: _view_of_written(mk(3, 4) * 1),
    "unsqueeze_": lambda L, F, mk: (mk(3) * 1).unsqueeze_(0),
    "t_": lambda L, F, mk: (mk(3, 4) * 1).t_(),
    "transpose_": lambda L, F, mk: (mk(3, 4) * 1).transpose_(0, 1),
    "squeeze_": lambda L, F, mk: (mk(3, 1) * 1).squeeze_(),
    "squeeze_dim_": lambda L, F, mk: (mk(3, 1) * 1).squeeze_(1),
    "as_strided_": lambda L, F, mk: (mk(3, 4) * 1).as_strided_((2, 2), (1, 2)),
    # pooling an unbatched input: PyTorch's pooling node in 2-D and 3-D (a squeeze in 1-D)
    "max_pool2d_unbatched": lambda L, F, mk: F.max_pool2d(mk(2, 4, 4), 2),
    "avg_pool3d_unbatched": lambda L, F, mk: F.avg_pool3d(mk(2, 4, 4, 4), 2),
    "adaptive_max_pool2d_unbatched": lambda L, F, mk: F.adaptive_max_pool2d(mk(2, 4, 4), 2),
    "adaptive_avg_pool2d_unbatched_global": lambda L, F, mk: F.adaptive_avg_pool2d(mk(2, 4, 4), 1),
    "adaptive_avg_pool1d_global": lambda L, F, mk: F.adaptive_avg_pool1d(mk(1, 2, 4), 1),
    "max_pool1d_unbatched": lambda L, F, mk: F.max_pool1d(mk(2, 4), 2),
    # composites recorded as PyTorch's one node
    "gelu_tanh": lambda L, F, mk: F.gelu(mk(3), approximate="tanh"),
    "split_sizes": lambda L, F, mk: mk(5).split([2, 3])[1],
    "median": lambda L, F, mk: mk(3, 4).median(),
    "median_dim": lambda L, F, mk: mk(3, 4).median(1)[0],
    "nanmedian_dim": lambda L, F, mk: mk(3, 4).nanmedian(0, keepdim=True)[0],
    "kthvalue": lambda L, F, mk: mk(3, 4).kthvalue(2)[0],
    "mode": lambda L, F, mk: mk(3, 4).mode()[0],
    "cummax": lambda L, F, mk: mk(3, 4).cummax(1)[0],
    "cummin": lambda L, F, mk: mk(3, 4).cummin(0)[0],
    "logcumsumexp": lambda L, F, mk: mk(3, 4).logcumsumexp(1),
    "nansum": lambda L, F, mk: mk(3, 4).nansum(),
    "var_mean": lambda L, F, mk: L.var_mean(mk(3, 4), 1)[0],
    "std_mean": lambda L, F, mk: L.std_mean(mk(3, 4))[1],
    "aminmax": lambda L, F, mk: L.aminmax(mk(3, 4), dim=0)[1],
    "multilabel_margin_loss": lambda L, F, mk: F.multilabel_margin_loss(mk(3, 4), mk(3, 4, ints=4)),
    "multilabel_margin_loss_none":
        lambda L, F, mk: F.multilabel_margin_loss(mk(3, 4), mk(3, 4, ints=4), reduction="none"),
    **{f"weight_norm_dim{dim}": _weight_norm(dim) for dim in (0, 1, None)},
    "vdot": lambda L, F, mk: L.vdot(mk(3), mk(3)),
    "trace": lambda L, F, mk: mk(3, 4).trace(),
    "kron": lambda L, F, mk: L.kron(mk(2, 2), mk(3)),
    "renorm": lambda L, F, mk: mk(3, 4).renorm(2, 0, 0.5),
    "rot90": lambda L, F, mk: mk(3, 4).rot90(),
    "rot90_none": lambda L, F, mk: mk(3, 4).rot90(0),
    "block_diag": lambda L, F, mk: L.block_diag(mk(2, 2), mk(3)),
    "take": lambda L, F, mk: L.take(mk(3, 4), mk(2, ints=12)),
    "take_along_dim": lambda L, F, mk: L.take_along_dim(mk(3, 4), mk(3, 1, ints=4), 1),
    "masked_select": lambda L, F, mk: mk(2, 3).masked_select(mk(3, grad=False) > 0.5),
    "pixel_shuffle": lambda L, F, mk: F.pixel_shuffle(mk(1, 4, 2, 2), 2),
    "pixel_unshuffle": lambda L, F, mk: F.pixel_unshuffle(mk(1, 1, 4, 4), 2),
    "channel_shuffle": lambda L, F, mk: F.channel_shuffle(mk(1, 4, 2, 2), 2),
    "sgn": lambda L, F, mk: mk(3).sgn(),
    "sgn_complex": lambda L, F, mk: L.complex(mk(3), mk(3)).sgn(),
    "view_as_complex": lambda L, F, mk: L.view_as_complex(mk(3, 2)),
    "polar": lambda L, F, mk: L.polar(mk(3), mk(3)),
    "fmax": lambda L, F, mk: L.fmax(mk(3), mk(3)),
    "fmin": lambda L, F, mk: L.fmin(mk(3), mk(3, grad=False)),
    "frac": lambda L, F, mk: mk(3).frac(),
    "logit": lambda L, F, mk: mk(3).logit(),
    "logit_eps": lambda L, F, mk: mk(3).logit(eps=0.2),
    "nan_to_num": lambda L, F, mk: mk(3).nan_to_num(),
    "det": lambda L, F, mk: L.linalg.det(mk(3, 3)),
    "inv": lambda L, F, mk: L.linalg.inv(mk(3, 3)),
    "inverse": lambda L, F, mk: L.inverse(mk(3, 3)),
    "slogdet": lambda L, F, mk: L.linalg.slogdet(mk(3, 3))[1],
    "cholesky": lambda L, F, mk: L.linalg.cholesky(_gram(mk)),
    "cholesky_upper": lambda L, F, mk: L.linalg.cholesky(_gram(mk), upper=True),
    "cholesky_legacy": lambda L, F, mk: L.cholesky(_gram(mk), upper=True),
    "qr": lambda L, F, mk: L.linalg.qr(mk(3, 3))[0],
    "svd": lambda L, F, mk: L.linalg.svd(mk(3, 3), full_matrices=False)[1],
    "svdvals": lambda L, F, mk: L.linalg.svdvals(mk(3, 3)),
    "eigh": lambda L, F, mk: L.linalg.eigh(_gram(mk))[0],
    "eigvalsh": lambda L, F, mk: L.linalg.eigvalsh(_gram(mk)),
    "pinv": lambda L, F, mk: L.linalg.pinv(mk(3, 3)),
    "matrix_exp": lambda L, F, mk: L.linalg.matrix_exp(mk(3, 3)),
    "cross": lambda L, F, mk: L.linalg.cross(mk(3), mk(3)),
    "cross_legacy": lambda L, F, mk: L.cross(mk(2, 3), mk(2, 3), dim=1),
}


def _name(lib, case, device):
    """The node as the repr shows it (its class, ``<CopySlices>``) and its ``name()`` (``torch::autograd::...``)."""
    functional = lucid.nn.functional if lib is lucid else torch.nn.functional
    lib.manual_seed(0)
    out = _CASES[case](lib, functional, _maker(lib, device))
    return repr(out).split("grad_fn=")[1].split(">")[0] + ">", out.grad_fn.name()


@pytest.mark.parametrize("case", sorted(_CASES))
def test_grad_fn_name_matches_torch(case, device):
    if case == "contiguous" and lucid.ones(2, 3, device=device).t().is_contiguous():
        pytest.skip("this backend keeps no strides: contiguous() gives the tensor itself")
    assert _name(lucid, case, device) == _name(torch, case, "cpu")


def test_a_users_function_is_named_without_a_number(device):
    """PyTorch numbers only its own nodes: a user's Function ``Twice`` records ``TwiceBackward``, in the repr too."""
    names = []
    for lib, dev in ((lucid, device), (torch, "cpu")):
        class Twice(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        out = Twice.apply(lib.ones(2, device=dev, requires_grad=True))
        names.append((out.grad_fn.name(), repr(out).split("grad_fn=")[1]))
    assert names[0] == names[1] == ("TwiceBackward", "<TwiceBackward>)")
