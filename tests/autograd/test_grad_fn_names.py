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
}


def _name(lib, case, device):
    functional = lucid.nn.functional if lib is lucid else torch.nn.functional
    lib.manual_seed(0)
    out = _CASES[case](lib, functional, _maker(lib, device))
    return repr(out).split("grad_fn=")[1].split(">")[0] + ">"


@pytest.mark.parametrize("case", sorted(_CASES))
def test_grad_fn_name_matches_torch(case, device):
    if case == "contiguous" and lucid.ones(2, 3, device=device).t().is_contiguous():
        pytest.skip("this backend keeps no strides: contiguous() gives the tensor itself")
    assert _name(lucid, case, device) == _name(torch, case, "cpu")
