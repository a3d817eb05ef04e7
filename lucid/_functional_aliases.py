"""The ``torch.*`` names of ``torch.nn.functional`` operations (``torch.relu``, ``torch.conv2d``,
``torch.batch_norm``, ...) and the Tensor methods ``relu``/``relu_``/``prelu``/``hardshrink``.

Most are the functional op itself (``ALIASES``). Where PyTorch's top-level form has another signature
the wrapper below takes PyTorch's: required ``train`` for the dropouts, ``batch_norm``/``instance_norm``
with the weight and bias before the running statistics, ``embedding(weight, indices)``, the losses'
integer ``reduction`` (0 none, 1 mean, 2 sum; PyTorch's top-level functions default
to 0, whatever their signature text says, and so do these), ``grid_sampler``'s integer modes, and
``adaptive_max_pool1d`` returning ``(values, indices)``. ``embedding_bag``, whose top-level form also
returns PyTorch's internal bag bookkeeping, is in :mod:`lucid._native` with the other low-level functions.
"""

from __future__ import annotations

from ._tensor import Tensor, register_methods
from .nn import functional as F
from .nn.layers.rnn import _MODES as _RNN_MODES  # one time step of each recurrent layer

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(reduction) -> str:
    """PyTorch's top-level losses take the reduction as an int (``at::Reduction``); names pass through."""
    if isinstance(reduction, str):
        return reduction
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be 0 (none), 1 (mean) or 2 (sum), got {reduction!r}")
    return _REDUCTIONS[reduction]


ALIASES = {name: getattr(F, name) for name in (
    "selu", "celu", "rrelu", "prelu", "threshold", "hardshrink", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "avg_pool1d", "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool1d_with_indices", "adaptive_avg_pool1d", "layer_norm", "group_norm", "rms_norm", "bilinear",
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "cosine_similarity", "pairwise_distance",
)}
ALIASES["relu"] = F.relu


def _inplace(fn):
    """``fn_``: ``fn(input, *args, inplace=True)``."""
    def inplace(input, *args, **kwargs):
        return fn(input, *args, inplace=True, **kwargs)

    inplace.__name__ = inplace.__qualname__ = fn.__name__ + "_"
    inplace.__doc__ = f"In-place ``{fn.__name__}``."
    return inplace


def _dropout(fn, name: str, inplace: bool = False):
    """PyTorch's top-level dropout: ``name(input, p, train)`` with ``train`` required."""
    def dropout(input, p: float, train: bool):
        return fn(input, p, train, inplace=inplace)

    dropout.__name__ = dropout.__qualname__ = name
    dropout.__doc__ = f"``F.{fn.__name__}(input, p, training=train{', inplace=True' if inplace else ''})``."
    return dropout


for _fn in (F.dropout, F.alpha_dropout, F.feature_alpha_dropout):
    ALIASES[_fn.__name__] = _dropout(_fn, _fn.__name__)
    ALIASES[_fn.__name__ + "_"] = _dropout(_fn, _fn.__name__ + "_", inplace=True)
for _name in ("relu", "selu", "celu", "rrelu", "threshold"):
    ALIASES[_name + "_"] = _inplace(getattr(F, _name))


def convolution(input, weight, bias, stride, padding, dilation, transposed: bool, output_padding, groups: int):
    """``conv{n}d`` or ``conv_transpose{n}d`` by ``transposed`` and the weight's dimensions."""
    nd = weight.ndim - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"convolution: expected a 3-D, 4-D or 5-D weight, got shape {weight.shape}")
    if transposed:
        conv_transpose = getattr(F, f"conv_transpose{nd}d")
        return conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation)
    return getattr(F, f"conv{nd}d")(input, weight, bias, stride, padding, dilation, groups)


def adaptive_max_pool1d(input, output_size) -> tuple:
    """``(values, indices)``: PyTorch's top-level form always returns the indices."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def batch_norm(input, weight, bias, running_mean, running_var, training: bool, momentum: float, eps: float,
               cudnn_enabled: bool = True):
    """``F.batch_norm`` with PyTorch's top-level argument order (``cudnn_enabled`` ignored)."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool = True):
    """``F.instance_norm`` with PyTorch's top-level argument order (``cudnn_enabled`` ignored)."""
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def embedding(weight, indices, padding_idx: int = -1, scale_grad_by_freq: bool = False, sparse: bool = False):
    """``F.embedding(indices, weight)``; ``padding_idx=-1`` means none, as in PyTorch's top-level form."""
    return F.embedding(indices, weight, None if padding_idx == -1 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def kl_div(input, target, reduction=0, log_target: bool = False):
    return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(reduction),
                                              pos_weight=pos_weight)


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, reduction=0):
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def hinge_embedding_loss(input, target, margin: float = 1.0, reduction=0):
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, reduction=0):
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, reduction=0):
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction))


def poisson_nll_loss(input, target, log_input: bool, full: bool, eps: float, reduction):
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction(reduction))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0, reduction=0,
             zero_infinity: bool = False):
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _reduction(reduction), zero_infinity)


_SAMPLING = {0: "bilinear", 1: "nearest", 2: "bicubic"}
_PADDING = {0: "zeros", 1: "border", 2: "reflection"}


def grid_sampler(input, grid, interpolation_mode: int, padding_mode: int, align_corners: bool):
    """``F.grid_sample`` with PyTorch's integer modes (0 bilinear, 1 nearest, 2 bicubic; 0 zeros, 1 border,
    2 reflection)."""
    if interpolation_mode not in _SAMPLING or padding_mode not in _PADDING:
        raise ValueError(f"grid_sampler: interpolation_mode must be 0, 1 or 2 and padding_mode 0, 1 or 2, got "
                         f"{interpolation_mode!r} and {padding_mode!r}")
    return F.grid_sample(input, grid, _SAMPLING[interpolation_mode], _PADDING[padding_mode], align_corners)


def affine_grid_generator(theta, size, align_corners: bool):
    return F.affine_grid(theta, size, align_corners)


def constant_pad_nd(input, pad, value=0):
    """``F.pad`` with a constant (``pad`` lists (before, after) pairs from the last dimension backwards)."""
    return F.pad(input, pad, value=value)


# ---- single recurrent steps (torch.rnn_tanh_cell, ...): the RNN layers' own steps on explicit weights --------
def _cell(mode: str, name: str, doc: str):
    step = _RNN_MODES[mode][1]

    def cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
        return step(F.linear(input, w_ih, b_ih), tuple(hx) if mode == "LSTM" else hx, w_hh, b_hh)

    cell.__name__ = cell.__qualname__ = name
    cell.__doc__ = doc
    return cell


rnn_tanh_cell = _cell("RNN_TANH", "rnn_tanh_cell", "One Elman step: ``tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``.")
rnn_relu_cell = _cell("RNN_RELU", "rnn_relu_cell",
                      "One Elman step with ReLU: ``relu(x W_ih^T + b_ih + h W_hh^T + b_hh)``.")
lstm_cell = _cell("LSTM", "lstm_cell", "One LSTM step: ``hx = (h, c)``, gates in PyTorch's order (input, forget, "
                  "cell, output); returns ``(h, c)``.")
gru_cell = _cell("GRU", "gru_cell", "One GRU step, gates in PyTorch's order (reset, update, new); the reset gate "
                 "scales ``h W_hn^T + b_hn``.")


for _fn in (kl_div, binary_cross_entropy_with_logits, cosine_embedding_loss, hinge_embedding_loss,
            margin_ranking_loss, triplet_margin_loss, poisson_nll_loss, ctc_loss, affine_grid_generator):
    _fn.__doc__ = f"``F.{_fn.__name__}`` with PyTorch's top-level signature (integer ``reduction``)."
for _fn in (convolution, adaptive_max_pool1d, batch_norm, instance_norm, embedding, kl_div,
            binary_cross_entropy_with_logits, cosine_embedding_loss, hinge_embedding_loss, margin_ranking_loss,
            triplet_margin_loss, poisson_nll_loss, ctc_loss, grid_sampler, affine_grid_generator, constant_pad_nd,
            rnn_tanh_cell, rnn_relu_cell, lstm_cell, gru_cell):
    ALIASES[_fn.__name__] = _fn
ALIASES["grid_sampler_2d"] = ALIASES["grid_sampler_3d"] = grid_sampler  # PyTorch's per-rank entry points

__all__ = sorted(ALIASES)
globals().update(ALIASES)


def _hardshrink(self, lambd: float = 0.5) -> Tensor:
    return F.hardshrink(self, lambd)


register_methods({"relu": F.relu, "relu_": ALIASES["relu_"], "prelu": F.prelu, "hardshrink": _hardshrink})
