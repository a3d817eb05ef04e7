"""Loss functions (``torch.nn.functional`` names, argument order and defaults) and the two
distances they use (``pairwise_distance``, ``cosine_similarity``).

Every loss takes ``reduction="mean" | "sum" | "none"`` (and PyTorch's deprecated
``size_average``/``reduce``, mapped the same way). ``weight`` arguments get gradients when they
require grad, except in the fused class-index ``cross_entropy`` (refused there, as PyTorch
does; PyTorch also refuses them in nll, BCE and multi-margin losses). Hot paths are fused: ``cross_entropy`` with
class-index targets is one op (log-softmax, pick, weights, smoothing, reduction; backward
``softmax * S - Q``), and ``binary_cross_entropy`` is one op with PyTorch's clamped logs.
"""

from __future__ import annotations

import math
import warnings

from ..._backend.device import DeviceMismatchError
from ..._backend.fused import chunked
from ..._backend.numpy_backend import float_errors_quiet
from ..._tensor import Tensor
from ...amp.autocast import autocast_op
from ...autograd import grad_mode
from ...autograd.function import FLOAT32, Function, rename_node
from ...ops.indexing import where
from ...ops.linalg import vector_norm
from ...ops.products import pdist  # F.pdist is torch.pdist
from .activation import _bounded, _exp_parts, _sigmoid_from_parts, log_softmax, logsigmoid

__all__ = [
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss", "gaussian_nll_loss", "cosine_embedding_loss",
    "margin_ranking_loss", "hinge_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
    "multi_margin_loss", "multilabel_margin_loss", "soft_margin_loss", "multilabel_soft_margin_loss", "ctc_loss",
    "pairwise_distance", "cosine_similarity", "pdist",
]

_REDUCTIONS = ("mean", "sum", "none")


# ---- shared helpers ------------------------------------------------------------------------------
def _reduction(name: str, size_average, reduce, reduction: str, allowed=_REDUCTIONS) -> str:
    """``reduction``, or the one PyTorch derives from the deprecated ``size_average``/``reduce``."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduction = "none" if reduce is False else "mean" if size_average else "sum"
    if reduction not in allowed:
        raise ValueError(f"{name}: reduction must be one of {', '.join(map(repr, allowed))}, got {reduction!r}")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def _tensor(t, like: Tensor, name: str, what: str) -> Tensor:
    """``t`` as a Tensor on ``like``'s device (numbers and lists are placed there)."""
    if not isinstance(t, Tensor):
        return Tensor(t, dtype=like.dtype if isinstance(t, float) else None, device=like.device)
    if t.device is not like.device:
        raise DeviceMismatchError(f"{name}: {what} is on {t.device} but the input is on {like.device}")
    return t


def _weight_arg(weight, like: Tensor, name: str, what: str = "weight"):
    """A weight tensor on ``like``'s device, in its dtype (None stays None)."""
    if weight is None:
        return None
    return _tensor(weight, like, name, what).to(like.dtype)


def _same_size(input: Tensor, target: Tensor, name: str) -> None:
    """PyTorch's warning when an elementwise loss would broadcast target against input."""
    if input.shape != target.shape:
        warnings.warn(
            f"{name}: using a target size ({target.shape}) that is different to the input size ({input.shape}); "
            f"this will likely lead to incorrect results due to broadcasting", stacklevel=3)


def _broadcasts(name: str, what: str, other, shape: tuple, onto: bool = False, base: str = "input") -> None:
    """A RuntimeError naming the loss when ``other`` (the tensor ``what``, or None) does not broadcast with
    (``onto``: to) ``shape`` (the ``base``'s), instead of the error of an arithmetic op deep inside the loss."""
    if other is None:
        return
    n = max(len(shape), len(other.shape))
    a, b = (1,) * (n - len(shape)) + tuple(shape), (1,) * (n - other.ndim) + tuple(other.shape)
    if (onto and other.ndim > len(shape)) or any(x != y and y != 1 and (onto or x != 1) for x, y in zip(a, b)):
        raise RuntimeError(f"{name}: {what} of shape {other.shape} does not broadcast {'to' if onto else 'with'} "
                           f"the {base}'s shape {shape}; give it the {base}'s shape")


def _floating(input, name: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name} expects a Tensor input, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{name} needs a floating input, got {input.dtype.name}")
    return input


def _elementwise(name, input, target, reduction, weight=None, by_weight=False):
    """``(input, target)`` checked for an elementwise loss, and a function that weights and reduces it
    (``by_weight``: the weighted mean divides by ``weight.sum()``, as PyTorch's mse and l1)."""
    input = _floating(input, name)
    target = _tensor(target, input, name, "target")
    _same_size(input, target, name)
    _broadcasts(name, "target", target, input.shape)
    weight = _weight_arg(weight, input, name)
    if weight is not None and weight.shape != input.shape:
        raise ValueError(f"{name}: weight of shape {weight.shape} must have the input's shape {input.shape}")

    def finish(loss: Tensor) -> Tensor:
        if weight is None:
            return _reduce(loss, reduction)
        loss = loss * weight
        if reduction == "mean" and by_weight:
            return loss.sum() / weight.sum()
        return _reduce(loss, reduction)

    return input, target, finish


# ---- regression losses ------------------------------------------------------------------------------
@autocast_op(FLOAT32)
def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Squared error ``(input - target)^2`` (a weighted mean divides by ``weight.sum()``)."""
    reduction = _reduction("mse_loss", size_average, reduce, reduction)
    input, target, finish = _elementwise("mse_loss", input, target, reduction, weight, by_weight=True)
    loss = finish((input - target).square())
    return loss if weight is not None else rename_node(loss, "MseLoss")  # a weighted one ends in torch's Div too


@autocast_op(FLOAT32)
def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """Absolute error ``|input - target|`` (gradient 0 where they are equal, as PyTorch)."""
    reduction = _reduction("l1_loss", size_average, reduce, reduction)
    input, target, finish = _elementwise("l1_loss", input, target, reduction, weight, by_weight=True)
    return finish((input - target).abs())


class SmoothL1(Function):
    """Smooth L1 (``bound = div = beta``) or Huber (``bound = delta``, ``div = 1``) loss per element as
    ``(|d| - c/2) c / div``, ``c = min(|d|, bound)``: arithmetic passes, not a ``where`` (NumPy's is 5x a pass
    over an irregular mask). Gradient ``clip(d, -bound, bound) / div``, nan at nan (as PyTorch)."""

    def forward(self, d, bound, div):
        self.bound, self.div = bound, div
        self.save_for_backward(d)
        return chunked(self._loss, self.xp, d)  # a run of elements at a time: the temporaries stay in cache

    def _loss(self, xp, d):
        a = xp.abs(d)
        c = self.backend.clip(a, 0.0, self.bound)  # two-sided: NumPy's one-sided clip is a 4x slower scalar loop
        a -= 0.5 * c
        if self.div != 1:
            c /= self.div
        a *= c
        return a

    def backward(self, g):
        (d,) = self.saved_tensors
        slope = self.backend.clip(d._data, -self.bound, self.bound)
        if self.div != 1:
            slope /= self.div
        if grad_mode.state.enabled:  # create_graph: d / div inside the bound keeps its dependence on d
            return where(d.abs() < self.bound, d / self.div, Tensor._make(slope, self.device)) * g
        slope *= g._data
        return Tensor._make(slope, self.device)


@autocast_op(FLOAT32)
def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input - target``)."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    reduction = _reduction("smooth_l1_loss", size_average, reduce, reduction)
    input, target, finish = _elementwise("smooth_l1_loss", input, target, reduction)
    d = input - target
    if beta == 0:
        return finish(d.abs())  # torch's ends in its mean too
    return rename_node(finish(SmoothL1.apply(d, bound=float(beta), div=float(beta))), "SmoothL1Loss")


@autocast_op(FLOAT32)
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``: ``delta * smooth_l1(beta=delta)``."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    reduction = _reduction("huber_loss", None, None, reduction)
    input, target, finish = _elementwise("huber_loss", input, target, reduction, weight)
    loss = finish(SmoothL1.apply(input - target, bound=float(delta), div=1.0))
    return loss if weight is not None else rename_node(loss, "HuberLoss")  # a weighted one ends in torch's Mean


# ---- classification: cross-entropy and nll ----------------------------------------------------------
class CrossEntropy(Function):
    """Cross-entropy of ``(M, C)`` logits against ``(M,)`` class indices, fused.

    ``loss_i = -sum_c Q_ic log_softmax(x)_ic`` with ``Q_ic = valid_i ((1 - eps) w_{y_i} [c = y_i] +
    (eps / C) w_c)``; the mean divides by ``sum_i valid_i w_{y_i}`` (PyTorch's normalisation, also
    with label smoothing). Backward: ``softmax(x) * S_i - Q_ic`` with ``S_i = sum_c Q_ic``.
    """

    def forward(self, x, target, weight, ignore_index, smoothing, reduction):
        with float_errors_quiet():  # inf logits, and the mean over no counted target (0 / 0), silently
            return self._forward(x, target, weight, ignore_index, smoothing, reduction)

    def _forward(self, x, target, weight, ignore_index, smoothing, reduction):
        xp = self.xp
        m, c = x.shape
        valid = target != ignore_index
        safe = xp.where(valid, target, 0)
        e, total, log_total, picked, weighted = self.backend.cross_entropy_rows(x, safe, weight, bool(smoothing))
        validf = xp.astype(valid, x.dtype)
        w_y = validf if weight is None else xp.take(weight, safe) * validf
        loss = ((smoothing - 1) * w_y) * picked
        if smoothing:
            mass = c if weight is None else xp.sum(weight)
            loss = loss - (smoothing / c) * (weighted - mass * log_total) * validf
        loss = self.backend.masked(valid, loss)  # an ignored row's -inf logit (0 * inf) counts for nothing, as PyTorch
        denominator = xp.sum(w_y) if reduction == "mean" else None
        if self.needs_input_grad:
            self.save_for_backward(x)
            # softmax = e / total: backward divides by total in its one scaling pass
            self.exp, self.total = e, total
            self.safe, self.w_y, self.validf, self.weight = safe, w_y, validf, weight
            self.smoothing, self.reduction = smoothing, reduction
            # the mean's per-row factor 1 / denominator; 0 on ignored rows, so that a batch whose targets
            # are all ignored (nan loss) gets a zero gradient, as PyTorch
            self.per_row = None if denominator is None else xp.where(valid, 1 / denominator, 0)
        if reduction == "none":
            return loss
        return xp.sum(loss) / denominator if reduction == "mean" else xp.sum(loss)

    def backward(self, g):
        with float_errors_quiet():  # inf logits, and rows scaled by 1 / 0 (nan, as PyTorch)
            return self._backward(g)

    def _backward(self, g):
        (x,) = self.saved_tensors
        xp, dev, eps = self.xp, self.device, self.smoothing
        m, c = x.shape
        target_q = (1 - eps) * self.w_y  # Q at the target class
        s = target_q
        spread = None  # the label-smoothing part of Q, (eps / C) w_c on every valid row
        if eps:
            w = xp.ones((c,), dtype=self.w_y.dtype, device=dev.native) if self.weight is None else self.weight
            spread = (eps / c) * w[None, :] * self.validf[:, None]
            s = s + (eps / c) * xp.sum(w) * self.validf
        cols = self.safe
        if grad_mode.state.enabled:  # create_graph: keep the dependence on x for higher derivatives
            q = xp.astype(xp.arange(c, dtype=cols.dtype, device=dev.native)[None, :] == cols[:, None], s.dtype)
            q = q * target_q[:, None] + (0 if spread is None else spread)
            base = x.softmax(dim=1) * Tensor._make(s[:, None], dev) - Tensor._make(q, dev)
            if self.reduction == "none":
                return base * g.reshape(m, 1)
            return base * (g * Tensor._make(self.per_row[:, None], dev) if self.reduction == "mean" else g)
        # first-order backward on arrays: one pass over (M, C) plus a scatter at the targets
        k = g._data  # per-row scale, () or (M,)
        k_rows = k * self.per_row if self.per_row is not None else k if k.ndim else xp.broadcast_to(k, (m,))
        # the first backward scales forward's exponentials into the gradient in place (no new
        # (M, C) array); a later one through a retained graph recomputes them from x
        grad, self.exp = self.exp, None
        if grad is None:
            grad = xp.exp(x._data - xp.max(x._data, axis=1, keepdims=True))
        spread = None if spread is None else spread * k_rows[:, None]
        return Tensor._make(self.backend.cross_entropy_grad(grad, self.total, s * k_rows, cols, target_q * k_rows,
                                                            spread), dev)


def _class_target(input: Tensor, target, name: str) -> Tensor:
    """An integer class-index target of shape ``input.shape`` without dimension 1 (the classes)."""
    target = _tensor(target, input, name, "target")
    if target.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: class-index targets must be integers, got {target.dtype.name}")
    expected = input.shape[:1] + input.shape[2:] if input.ndim >= 2 else ()
    if target.shape != expected:
        raise ValueError(f"{name}: expected a target of shape {expected} for an input of shape {input.shape}, "
                         f"got {target.shape}")
    return target


def _check_classes(target: Tensor, classes: int, ignore_index: int | None, name: str) -> None:
    """IndexError naming the first target outside ``[0, classes)`` that is not ``ignore_index``. It reads
    the targets, so it runs on host devices only (see ``Backend.is_host``): on a GPU it would sync every
    step; PyTorch checks there with an asynchronous device assert, lucid leaves bad targets unchecked."""
    if not target._device.host:
        return
    xp, t = target.xp, target._data
    bad = (t < 0) | (t >= classes)
    if ignore_index is not None:
        bad = bad & (t != ignore_index)
    if bool(xp.any(bad)):
        raise IndexError(f"{name}: target {int(t[bad][0])} is out of bounds for {classes} classes")


def _class_weight(weight, input: Tensor, classes: int, name: str):
    weight = _weight_arg(weight, input, name)
    if weight is not None and weight.shape != (classes,):
        raise RuntimeError(f"{name}: weight must have shape ({classes},) (one per class), got {weight.shape}")
    return weight


@autocast_op(FLOAT32)
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits ``input`` ``(N, C, d1, ...)`` (or ``(C,)``) and ``target``: class
    indices ``(N, d1, ...)`` (fused op; ``ignore_index`` entries count for nothing) or class
    probabilities of the input's shape. ``weight`` (per class) and ``label_smoothing`` as PyTorch;
    finite and exact for logits of any size. Class targets out of range raise on host devices only (the
    check is a sync elsewhere; PyTorch asserts on CUDA asynchronously)."""
    reduction = _reduction("cross_entropy", size_average, reduce, reduction)
    input = _floating(input, "cross_entropy")
    if input.ndim == 0:
        raise ValueError("cross_entropy needs an input with a class dimension, got a 0-d tensor")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    classes = input.shape[1] if input.ndim >= 2 else input.shape[0]
    weight = _class_weight(weight, input, classes, "cross_entropy")
    target = _tensor(target, input, "cross_entropy", "target")
    if target.dtype.kind == "f":
        return _soft_cross_entropy(input, target, weight, reduction, label_smoothing, classes)
    target = _class_target(input, target, "cross_entropy")
    _check_classes(target, classes, ignore_index, "cross_entropy")
    if weight is not None and weight.requires_grad and grad_mode.state.enabled:
        raise RuntimeError("cross_entropy: weight is not differentiable with class-index targets (as in PyTorch); "
                           "pass weight.detach()")
    x = input.reshape(1, classes) if input.ndim == 1 else input
    if x.ndim > 2:  # classes first, (C, N * d1 * ...) (a copy of contiguous runs), as rows of its transposed view:
        x = x.movedim(1, 0).reshape(classes, -1).T  # class maxima and sums along memory's outer axis, 20x short rows
    loss = CrossEntropy.apply(x, target=target.xp.reshape(target._data, (-1,)),
                              weight=None if weight is None else weight._data, ignore_index=int(ignore_index),
                              smoothing=float(label_smoothing), reduction=reduction)
    loss = loss.reshape(target.shape) if reduction == "none" else loss
    return rename_node(loss, "Add" if label_smoothing else _nll_node(input.ndim, reduction))  # (smoothing: its sum)


def _soft_cross_entropy(input, target, weight, reduction, smoothing, classes) -> Tensor:
    """Cross-entropy against class probabilities: ``-sum_c w_c t_c log_softmax(x)_c`` per element; the
    mean is over elements (not weights), as PyTorch."""
    if target.shape != input.shape:
        raise RuntimeError(f"cross_entropy: probability targets must have the input's shape {input.shape}, "
                         f"got {target.shape}")
    dim = 1 if input.ndim >= 2 else 0
    if smoothing:
        target = target * (1 - smoothing) + smoothing / classes
    product = log_softmax(input, dim) * target
    if weight is not None:
        product = product * weight.reshape((classes,) + (1,) * (input.ndim - dim - 1))
    loss = _reduce(-product.sum(dim=dim), reduction)
    # PyTorch's last node: its division of the sum by the count for the mean, else its negation
    return rename_node(loss, "Div", 1) if reduction == "mean" else rename_node(loss, "Neg")


def _flat_targets(xp, target, classes: int):
    """The positions of ``x[n, target[n, ...], ...]`` in the flattened ``x`` (class axis 1), one per target."""
    n = target.shape[0]
    rest = math.prod(target.shape[1:])
    batch = xp.reshape(xp.arange(n, dtype=xp.int64, device=target.device), (n, 1))
    spatial = xp.reshape(xp.arange(rest, dtype=xp.int64, device=target.device), (1, rest))
    return xp.reshape((batch * classes + xp.reshape(xp.astype(target, xp.int64), (n, rest))) * rest + spatial, (-1,))


class NLLLoss(Function):
    """``-w[t] x[t]`` per position of log-probabilities ``x`` (class axis 1), fused with the reduction (``weight``
    constant, or None). Backward writes into zeros at the targets: no recorded gather and scatter, and no view
    of the gradient (which the engine would copy)."""
    autocast_policy = FLOAT32  # see lucid.amp.autocast

    def forward(self, x, target, weight, ignore_index, reduction):
        xp = self.xp
        valid = target != ignore_index
        safe = xp.where(valid, target, 0)
        flat = _flat_targets(xp, safe, x.shape[1])
        picked = xp.reshape(xp.take(xp.reshape(x, (-1,)), flat), safe.shape)
        w = xp.astype(valid, x.dtype)
        if weight is not None:
            w = w * xp.reshape(xp.take(weight, xp.reshape(safe, (-1,))), safe.shape)
        # quietly: an ignored target's -inf (0 * inf) counts for nothing, and the mean over no counted target is
        # 0 / 0, nan (with a zero gradient), as PyTorch
        with float_errors_quiet():
            loss = self.backend.masked(valid, -w * picked)
            denominator = xp.sum(w) if reduction == "mean" else None
            if self.needs_input_grad:
                self.shape, self.flat, self.reduction = x.shape, flat, reduction
                self.scale = -w if denominator is None else -w * xp.where(valid, 1 / denominator, 0)
            if reduction == "none":
                return loss
            return xp.sum(loss) / denominator if reduction == "mean" else xp.sum(loss)

    def backward(self, g):
        if grad_mode.state.enabled:  # create_graph: the gradient is linear in g and constant in x
            base = Tensor._make(self._scatter(self.scale), self.device)
            return base * (g.unsqueeze(1) if self.reduction == "none" else g)
        with float_errors_quiet():
            return Tensor._make(self._scatter(self.scale * g._data), self.device)

    def _scatter(self, values):
        """Zeros of the input's shape with ``values`` at the targets, written through a flat view."""
        xp = self.xp
        out = xp.zeros(self.shape, dtype=values.dtype, device=self.device.native)
        if self.flat.shape[0]:  # (array-api-strict takes no view of an empty array)
            self.backend.add_at(xp.reshape(out, (math.prod(self.shape),), copy=False), self.flat,
                                xp.reshape(values, (-1,)))
        return out


def _nll_node(ndim: int, reduction: str) -> str:
    """PyTorch's node for a class-index loss of an ``ndim``-D input: its nll_loss, its nll_loss2d from 3-D on (which
    views other inputs than 4-D ones as 4-D, and an unreduced loss back)."""
    if ndim <= 2:
        return "NllLoss"
    return "View" if reduction == "none" and ndim != 4 else "NllLoss2D"


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: ``-w[t] * input[i, t]`` per sample for log-probabilities ``input``
    ``(N, C, d1, ...)`` (or ``(C,)``) and class indices ``target`` ``(N, d1, ...)``; the mean divides
    by the sum of the targets' weights. One value per sample (upstream Lucid 2.5.8 gave an N x N matrix).
    One fused op (``NLLLoss``), or recorded ops when ``weight`` requires grad.
    Targets out of range raise on host devices only (the check is a sync elsewhere)."""
    reduction = _reduction("nll_loss", size_average, reduce, reduction)
    input = _floating(input, "nll_loss")
    if input.ndim == 0:
        raise ValueError("nll_loss needs an input with a class dimension, got a 0-d tensor")
    classes = input.shape[1] if input.ndim >= 2 else input.shape[0]
    weight = _class_weight(weight, input, classes, "nll_loss")
    target = _class_target(input, target, "nll_loss")
    _check_classes(target, classes, ignore_index, "nll_loss")
    x, t = (input.reshape(1, classes), target.reshape(1)) if input.ndim == 1 else (input, target)
    if weight is None or not (weight.requires_grad and grad_mode.state.enabled):
        loss = NLLLoss.apply(x, target=t._data, weight=None if weight is None else weight._data,
                             ignore_index=int(ignore_index), reduction=reduction)
        loss = loss.reshape(target.shape) if reduction == "none" else loss
        return rename_node(loss, _nll_node(input.ndim, reduction))
    valid = t != ignore_index
    safe = where(valid, t, 0)
    picked = x.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = weight[safe] * valid.to(x.dtype)
    loss = -picked * w
    if reduction == "mean":  # over no counted target: nan with a zero gradient, as PyTorch
        total = w.sum()
        nothing = total == 0
        return where(nothing, math.nan, loss.sum() / where(nothing, 1.0, total))
    return loss.sum() if reduction == "sum" else loss.reshape(target.shape)


# ---- binary classification -------------------------------------------------------------------------
def _clamped_log_array(xp, v):
    """``max(log(v), -100)`` (PyTorch's BCE clamp), without evaluating ``log(0)``."""
    positive = v > 0
    return xp.where(positive, xp.maximum(xp.log(xp.where(positive, v, 1)), -100.0), -100.0)


def _clamped_log(v: Tensor) -> Tensor:
    positive = v > 0
    return where(positive, where(positive, v, 1.0).log().clamp(min=-100.0), -100.0)


class BinaryCrossEntropy(Function):
    """``-(t log(x) + (1 - t) log(1 - x))`` with both logs clamped at -100 (as PyTorch, so a
    probability of exactly 0 or 1 gives a finite loss); grad ``(x - t) / max(x (1 - x), 1e-12)``."""
    autocast_policy = FLOAT32  # see lucid.amp.autocast

    def forward(self, x, t):
        xp = self.xp
        self.save_for_backward(x, t)
        return -(t * _clamped_log_array(xp, x) + (1 - t) * _clamped_log_array(xp, 1 - x))

    def backward(self, g):
        x, t = self.saved_tensors
        need = self.needs_input_grad
        gx = g * (x - t) / (x * (1 - x)).clamp(min=1e-12) if need[0] else None
        gt = g * (_clamped_log(1 - x) - _clamped_log(x)) if need[1] else None
        return gx, gt


class BinaryCrossEntropyWithLogits(Function):
    """``(1 - t) x - logsigmoid(x)`` as PyTorch's ``(1 - t) x + max(-x, 0) + log(1 + exp(-|x|))``, in one op from
    one exp (``_exp_parts``); a recorded forward keeps x's derivative ``sigmoid(x) - t`` (from the same exp), so the
    first-order backward is a product: (1024, 1024) fwd+bwd 20.9 -> 18.2 ms (PyTorch 11.9), where five ops ran."""
    autocast_policy = FLOAT32  # see lucid.amp.autocast

    def forward(self, x, t):
        xp = self.xp
        with float_errors_quiet():  # inf - inf: nan, as PyTorch
            e, u, log1p = _exp_parts(xp, x)
            loss = (1 - t) * x
            loss -= _bounded(xp, x, None, 0)
            loss += log1p
            if self.needs_input_grad:
                slope = _sigmoid_from_parts(xp, e, u, x >= 0) if self.needs_input_grad[0] else None
                if slope is not None:
                    slope -= t
                self.save_for_backward(x, t, slope)
        return loss

    def backward(self, g):
        x, t, _ = self.saved_tensors
        need = self.needs_input_grad
        return g * (x.sigmoid() - t) if need[0] else None, -g * x if need[1] else None

    def vjp(self, g):
        x, _, slope = self.saved_arrays
        need = self.needs_input_grad
        return g * slope if need[0] else None, -g * x if need[1] else None


def _check_probabilities(input: Tensor, target: Tensor) -> None:
    """PyTorch's RuntimeError when an input or target element of binary_cross_entropy is outside [0, 1]
    or nan. It reads the data, so it runs on host devices only (see ``Backend.is_host``): on a GPU it
    would sync every step (PyTorch checks there with an asynchronous device assert); bad values then
    give a nan or meaningless loss instead of an error."""
    if not input._device.host:
        return
    xp = input.xp
    outside = [xp.any(~((t._data >= 0) & (t._data <= 1))) for t in (input, target)]
    if bool(outside[0] | outside[1]):
        what = "input" if bool(outside[0]) else "target"
        hint = ("pass probabilities (e.g. sigmoid(logits)), or logits to binary_cross_entropy_with_logits"
                if what == "input" else "targets are probabilities: clamp or rescale them")
        raise RuntimeError(f"binary_cross_entropy: all elements of {what} should be between 0 and 1 (found a value "
                           f"outside [0, 1] or nan in the {what} of shape {input.shape}); {hint}")


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities ``input`` (in [0, 1]) against ``target`` of the same
    shape; logs clamped at -100 as PyTorch. Prefer ``binary_cross_entropy_with_logits`` (stable).
    Values outside [0, 1] raise on host devices only (the check is a sync elsewhere)."""
    reduction = _reduction("binary_cross_entropy", size_average, reduce, reduction)
    input = _floating(input, "binary_cross_entropy")
    target = _tensor(target, input, "binary_cross_entropy", "target").to(input.dtype)
    if target.shape != input.shape:
        raise ValueError(f"binary_cross_entropy: target size {target.shape} must match the input size {input.shape}")
    _check_probabilities(input, target)
    weight = _weight_arg(weight, input, "binary_cross_entropy")
    _broadcasts("binary_cross_entropy", "weight", weight, input.shape, onto=True)
    loss = BinaryCrossEntropy.apply(input, target)
    return rename_node(_reduce(loss if weight is None else loss * weight, reduction), "BinaryCrossEntropy")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """``sigmoid`` + binary cross-entropy in one stable formula, ``(1 - t) x - (1 + (p - 1) t)
    logsigmoid(x)`` (``p``: ``pos_weight``, broadcast along the last dimension): finite values and
    gradients for logits of any size."""
    reduction = _reduction("binary_cross_entropy_with_logits", size_average, reduce, reduction)
    input = _floating(input, "binary_cross_entropy_with_logits")
    target = _tensor(target, input, "binary_cross_entropy_with_logits", "target").to(input.dtype)
    if target.shape != input.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: target size {target.shape} must match the input "
                         f"size {input.shape}")
    weight = _weight_arg(weight, input, "binary_cross_entropy_with_logits")
    pos_weight = _weight_arg(pos_weight, input, "binary_cross_entropy_with_logits", "pos_weight")
    _broadcasts("binary_cross_entropy_with_logits", "weight", weight, input.shape, onto=True)
    _broadcasts("binary_cross_entropy_with_logits", "pos_weight", pos_weight, input.shape, onto=True)
    if pos_weight is None:
        loss = BinaryCrossEntropyWithLogits.apply(input, target)
    else:
        loss = (1 - target) * input - (1 + (pos_weight - 1) * target) * logsigmoid(input)
    return rename_node(_reduce(loss if weight is None else loss * weight, reduction), "BinaryCrossEntropyWithLogits")


@autocast_op(FLOAT32)
def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """``log(1 + exp(-target * input))`` for targets ±1, computed stably."""
    reduction = _reduction("soft_margin_loss", size_average, reduce, reduction)
    input, target, finish = _elementwise("soft_margin_loss", input, target, reduction)
    return rename_node(finish(-logsigmoid(target.to(input.dtype) * input)), "SoftMarginLoss")


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                                reduce=None, reduction: str = "mean") -> Tensor:
    """One-vs-all logistic loss over the classes (last dimension), averaged over them."""
    reduction = _reduction("multilabel_soft_margin_loss", size_average, reduce, reduction)
    input = _floating(input, "multilabel_soft_margin_loss")
    target = _tensor(target, input, "multilabel_soft_margin_loss", "target").to(input.dtype)
    weight = _weight_arg(weight, input, "multilabel_soft_margin_loss")
    _broadcasts("multilabel_soft_margin_loss", "target", target, input.shape)
    _broadcasts("multilabel_soft_margin_loss", "weight", weight, input.shape)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.sum(dim=-1) / input.shape[-1], reduction)


# ---- distributions ----------------------------------------------------------------------------------
@autocast_op(FLOAT32)
def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """``target * (log(target) - input)`` for log-probabilities ``input`` (0 where ``target`` is 0);
    with ``log_target`` the target is given as log-probabilities. ``reduction="batchmean"`` divides
    the sum by the batch size (the true KL divergence); ``"mean"`` averages over all elements."""
    reduction = _reduction("kl_div", size_average, reduce, reduction, _REDUCTIONS + ("batchmean",))
    input = _floating(input, "kl_div")
    target = _tensor(target, input, "kl_div", "target")
    _broadcasts("kl_div", "target", target, input.shape)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        positive = target > 0
        loss = target * where(positive, target, 1.0).log() - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


@autocast_op(FLOAT32)
def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood: ``exp(input) - target * input`` (``log_input``), else
    ``input - target * log(input + eps)``; ``full`` adds Stirling's term where ``target > 1``."""
    reduction = _reduction("poisson_nll_loss", size_average, reduce, reduction)
    input, target, finish = _elementwise("poisson_nll_loss", input, target, reduction)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        big = target > 1
        t = where(big, target, 1.0)
        stirling = t * t.log() - t + 0.5 * (2 * math.pi * t).log()
        loss = loss + where(big, stirling, 0.0)
    return finish(loss)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Gaussian negative log-likelihood ``0.5 (log(var) + (input - target)^2 / var)`` (+ ``0.5 log(2 pi)``
    with ``full``). ``var`` has the input's shape, or one dimension of size 1 / one dimension fewer
    (shared variance); it is clamped to ``eps`` with the gradient passing through, as PyTorch."""
    reduction = _reduction("gaussian_nll_loss", None, None, reduction)
    input = _floating(input, "gaussian_nll_loss")
    target = _tensor(target, input, "gaussian_nll_loss", "target")
    if not isinstance(var, Tensor):
        if var < 0:
            raise ValueError("gaussian_nll_loss: var has negative entry/entries")
        var = Tensor(float(var), dtype=input.dtype, device=input.device).expand(input.shape)
    var = _tensor(var, input, "gaussian_nll_loss", "var")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (input.ndim == var.ndim and sum(b for a, b in zip(input.shape, var.shape) if a != b) == 1):
            raise ValueError(
                f"gaussian_nll_loss: var of shape {var.shape} does not fit the input's shape {input.shape}")
    if bool((var < 0).any()):
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    var = var + (var.clamp(min=eps) - var).detach()
    loss = 0.5 * (var.log() + (input - target).square() / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---- distances and embedding losses -----------------------------------------------------------------
def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` along the last dimension (``eps`` keeps the gradient finite at 0, as PyTorch)."""
    x1, x2 = _floating(x1, "pairwise_distance"), _floating(x2, "pairwise_distance")
    _broadcasts("pairwise_distance", "x2", x2, x1.shape, base="x1")
    return rename_node(vector_norm(x1 - x2 + eps, p, dim=-1, keepdim=keepdim), "Norm", 1)  # PyTorch's norm(p, dim)


@autocast_op({"cuda": FLOAT32})
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps))`` along ``dim`` (each norm clamped
    without blocking its gradient, as PyTorch)."""
    x1, x2 = _floating(x1, "cosine_similarity"), _floating(x2, "cosine_similarity")
    _broadcasts("cosine_similarity", "x2", x2, x1.shape, base="x1")

    def unit(x):
        norm = vector_norm(x, 2, dim=dim, keepdim=True)
        return x / (norm + (norm.clamp(min=eps) - norm).detach())

    return (unit(x1) * unit(x2)).sum(dim=dim)


@autocast_op(FLOAT32)
def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where ``target == -1``
    (cosine along the last dimension, squared norms offset by 1e-12 as PyTorch)."""
    reduction = _reduction("cosine_embedding_loss", size_average, reduce, reduction)
    input1 = _floating(input1, "cosine_embedding_loss")
    target = _tensor(target, input1, "cosine_embedding_loss", "target")
    input2 = _floating(input2, "cosine_embedding_loss")
    _broadcasts("cosine_embedding_loss", "input2", input2, input1.shape, base="input1")
    if target.shape != input1.shape[:-1]:
        raise RuntimeError(f"cosine_embedding_loss: the target must hold one label (1 or -1) per pair of vectors, "
                           f"shape {input1.shape[:-1]} for inputs of shape {input1.shape}; got {target.shape}")
    dot = (input1 * input2).sum(dim=-1)
    norms = ((input1 * input1).sum(dim=-1) + 1e-12) * ((input2 * input2).sum(dim=-1) + 1e-12)
    cos = dot / norms.sqrt()
    pos, neg = (target == 1).to(cos.dtype), (target == -1).to(cos.dtype)
    return _reduce(pos * (1 - cos) + neg * (cos - margin).clamp(min=0), reduction)


@autocast_op(FLOAT32)
def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``: ``target = 1`` means input1 should rank higher."""
    reduction = _reduction("margin_ranking_loss", size_average, reduce, reduction)
    input1 = _floating(input1, "margin_ranking_loss")
    target = _tensor(target, input1, "margin_ranking_loss", "target")
    if not input1.shape == input2.shape == target.shape:
        raise RuntimeError(f"margin_ranking_loss: input1 {input1.shape}, input2 {input2.shape} and target "
                           f"{target.shape} must have the same shape")
    return _reduce((-target.to(input1.dtype) * (input1 - input2) + margin).clamp_min(0), reduction)


@autocast_op(FLOAT32)
def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target == -1``."""
    reduction = _reduction("hinge_embedding_loss", size_average, reduce, reduction)
    input = _floating(input, "hinge_embedding_loss")
    target = _tensor(target, input, "hinge_embedding_loss", "target")
    _broadcasts("hinge_embedding_loss", "target", target, input.shape)
    not_neg, not_pos = (target != -1).to(input.dtype), (target != 1).to(input.dtype)
    return _reduce(not_neg * input + not_pos * (margin - input).clamp(min=0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    """``max(d(anchor, positive) - d(anchor, negative) + margin, 0)`` with any distance function
    (default ``pairwise_distance``); ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance."""
    reduction = _reduction("triplet_margin_with_distance_loss", None, None, reduction)
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: margin must be > 0, got {margin}")
    distance = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = distance(anchor, positive), distance(anchor, negative)
    if swap:
        from ...ops.arithmetic import minimum

        d_neg = minimum(d_neg, distance(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


@autocast_op(FLOAT32)
def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """Triplet loss with the ``p``-norm distance ``pairwise_distance(., ., p, eps)``."""
    reduction = _reduction("triplet_margin_loss", size_average, reduce, reduction)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"triplet_margin_loss: anchor {anchor.shape}, positive {positive.shape} and negative "
                           f"{negative.shape} must have the same number of dimensions")
    return triplet_margin_with_distance_loss(
        anchor, positive, negative, distance_function=lambda a, b: pairwise_distance(a, b, p, eps), margin=margin,
        swap=swap, reduction=reduction)


@autocast_op(FLOAT32)
def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: ``sum_{j != y} max(0, margin - x[y] + x[j])^p / C`` (``p`` 1 or 2),
    each term weighted by ``weight[y]``. Targets out of range raise on host devices only (a sync elsewhere)."""
    reduction = _reduction("multi_margin_loss", size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 are supported, got {p}")
    input = _floating(input, "multi_margin_loss")
    x = input.reshape(1, -1) if input.ndim == 1 else input
    classes = x.shape[1]
    target = _tensor(target, input, "multi_margin_loss", "target")
    if target.shape != x.shape[:1] and not (input.ndim == 1 and target.numel() == 1):
        raise RuntimeError(f"multi_margin_loss: the target must be 1-D with one class index per sample, shape "
                           f"{x.shape[:1]} for an input of shape {input.shape}, got {target.shape}")
    target = target.reshape(-1)
    _check_classes(target, classes, None, "multi_margin_loss")
    weight = _class_weight(weight, input, classes, "multi_margin_loss")
    picked = x.gather(1, target.unsqueeze(1))
    z = (margin - picked + x).clamp(min=0)
    if p == 2:
        z = z * z
    others = (target.unsqueeze(1) != _classes(x)).to(x.dtype)
    loss = (z * others).sum(dim=1) / classes
    if weight is not None:
        loss = loss * weight[target]
    return rename_node(_reduce(loss.reshape(()) if input.ndim == 1 else loss, reduction), "MultiMarginLoss")


def _classes(x: Tensor) -> Tensor:
    """``[0, 1, ..., C - 1]`` as a row, for comparisons against class indices."""
    from ...ops.creation import arange

    return arange(x.shape[-1], device=x.device).reshape(1, -1)


@autocast_op(FLOAT32)
def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: ``target`` lists each sample's classes, ended by the first -1;
    ``sum_{j in targets, k not in targets} max(0, 1 - (x[j] - x[k])) / C``, a class listed twice counting twice
    (as PyTorch)."""
    reduction = _reduction("multilabel_margin_loss", size_average, reduce, reduction)
    input = _floating(input, "multilabel_margin_loss")
    target = _tensor(target, input, "multilabel_margin_loss", "target")
    if target.shape != input.shape or target.dtype.kind not in "iu":
        raise ValueError(f"multilabel_margin_loss: target must be an integer tensor of the input's shape "
                         f"{input.shape}, got {target.dtype.name} {target.shape}")
    x, t = (input.reshape(1, -1), target.reshape(1, -1)) if input.ndim == 1 else (input, target)
    listed = (t != -1).to(x.dtype).cumprod(dim=1) > 0  # the entries before the first -1
    hits = (t.unsqueeze(2) == _classes(x).unsqueeze(0)) & listed.unsqueeze(2)
    listings = hits.to(x.dtype).sum(dim=1)  # (N, C): how often each class is listed (a repeat counts again, as
    is_target = (listings > 0).to(x.dtype)  # PyTorch's loop over the list)
    pairs = listings.unsqueeze(2) * (1 - is_target).unsqueeze(1)  # j a target, k not
    z = (1 - (x.unsqueeze(2) - x.unsqueeze(1))).clamp(min=0)
    loss = (z * pairs).sum(dim=(1, 2)) / x.shape[1]
    loss = _reduce(loss.reshape(()) if input.ndim == 1 else loss, reduction)
    return rename_node(loss, "MultilabelMarginLoss")  # PyTorch's one node, whatever the reduction


# ---- CTC ------------------------------------------------------------------------------------------
def _shift(xp, a, k: int, right: bool):
    """``a`` moved ``k`` places along the last axis, filled with ``-inf`` (all of it when ``k`` is at least its
    length: the one-state lattice of a batch whose targets are all empty)."""
    if k >= a.shape[-1]:  # (no slicing: the array API leaves a start past the end unspecified)
        return xp.full(a.shape, -math.inf, dtype=a.dtype, device=a.device)
    fill = xp.full(a.shape[:-1] + (k,), -math.inf, dtype=a.dtype, device=a.device)
    return xp.concat([fill, a[..., :-k]], axis=-1) if right else xp.concat([a[..., k:], fill], axis=-1)


def _step(xp, here, one, two, lp):
    """One step of the CTC recursions: ``log(exp(here) + exp(one) + exp(two)) + lp``, by ``logaddexp`` (exact at
    ``-inf``; four array ops a step where a max-shifted log-sum-exp took twenty)."""
    return xp.logaddexp(xp.logaddexp(here, one), two) + lp


class CTCLossFunction(Function):
    """Per-sample CTC negative log-likelihood by the log-space forward (alpha) recursion, batched over
    samples, one step per time frame; backward runs the beta recursion and returns the exact
    gradient with respect to the log-probabilities (``-occupancy``). Both recursions write into one array with
    two ``-inf`` states on the side they read from, so the neighbouring states of a step are views."""
    autocast_policy = FLOAT32  # see lucid.amp.autocast
    torch_name = "CtcLoss"

    def forward(self, lp, ext, skip, input_lengths, label_lengths, zero_infinity):
        xp = self.xp
        frames, n, _ = lp.shape
        width = ext.shape[1]
        lpe = xp.take_along_axis(lp, xp.broadcast_to(ext[None, ...], (frames,) + ext.shape), axis=2)  # (T, N, L)
        first = 1 + xp.astype(label_lengths > 0, xp.int64)  # the blank, and the first label if any
        blocked = xp.full(skip.shape, -math.inf, dtype=lp.dtype, device=lp.device)
        skip_from = xp.where(skip, 0.0, blocked)  # 0 where s - 2 -> s is allowed
        alphas = xp.full((frames, n, width + 2), -math.inf, dtype=lp.dtype, device=lp.device)
        alphas[0, :, 2:] = xp.where(xp.arange(width, device=lp.device)[None, :] < first[:, None], lpe[0, ...],
                                    -math.inf)
        for t in range(1, frames):
            prev = alphas[t - 1, ...]
            alphas[t, :, 2:] = _step(xp, prev[:, 2:], prev[:, 1:-1], prev[:, :-2] + skip_from, lpe[t, ...])
        alphas = alphas[:, :, 2:]
        last = xp.take_along_axis(alphas, xp.broadcast_to((input_lengths - 1)[None, :, None],
                                                          (1, n, width)), axis=0)[0, ...]  # (N, L)
        end = 2 * label_lengths
        ll = xp.logaddexp(xp.take_along_axis(last, end[:, None], axis=1)[:, 0],
                          xp.where(label_lengths > 0,
                                   xp.take_along_axis(last, xp.maximum(end - 1, 0)[:, None], axis=1)[:, 0], -math.inf))
        nll = -ll
        if zero_infinity:
            nll = xp.where(xp.isinf(nll), 0.0, nll)
        if self.needs_input_grad:
            self.lpe, self.alphas, self.nll, self.skip_ahead = lpe, alphas, -ll, _shift(xp, skip_from, 2, False)
            self.ext, self.lengths, self.label_lengths, self.classes = ext, input_lengths, label_lengths, lp.shape[2]
        return nll

    def backward(self, g):
        xp, dev = self.xp, self.device
        lpe, ext, lengths = self.lpe, self.ext, self.lengths
        frames, n, width = lpe.shape
        positions = xp.arange(width, device=dev.native)[None, :]
        end = 2 * self.label_lengths
        start = (positions == end[:, None]) | ((positions == end[:, None] - 1) & (self.label_lengths > 0)[:, None])
        initial = xp.where(start[None, ...], lpe, -math.inf)
        times = xp.arange(frames, device=dev.native)[:, None, None]
        final, active = times == (lengths - 1)[None, :, None], times < (lengths - 1)[None, :, None]  # (T, N, 1)
        betas = xp.full((frames, n, width + 2), -math.inf, dtype=lpe.dtype, device=dev.native)
        betas[frames - 1, :, :width] = xp.where(final[frames - 1, ...], initial[frames - 1, ...], -math.inf)
        for t in range(frames - 2, -1, -1):
            after = betas[t + 1, ...]
            step = _step(xp, after[:, :width], after[:, 1:-1], after[:, 2:] + self.skip_ahead, lpe[t, ...])
            betas[t, :, :width] = xp.where(final[t, ...], initial[t, ...], xp.where(active[t, ...], step, -math.inf))
        # alpha + beta counts lp twice; impossible alignments (nll = inf) and -inf log-probs get no gradient
        possible = xp.isfinite(self.nll)
        log_occupancy = (self.alphas + betas[:, :, :width] - xp.where(xp.isfinite(lpe), lpe, 0.0)
                         + xp.where(possible, self.nll, 0.0)[None, :, None])
        finite = xp.isfinite(log_occupancy) & possible[None, :, None]
        occupancy = xp.where(finite, xp.exp(xp.where(finite, log_occupancy, 0.0)), 0.0)  # (T, N, L)
        one_hot = xp.astype(ext[:, :, None] == xp.arange(self.classes, device=dev.native)[None, None, :], lpe.dtype)
        grad = -xp.permute_dims(xp.matmul(xp.permute_dims(occupancy, (1, 0, 2)), one_hot), (1, 0, 2))  # (T, N, C)
        if grad.dtype != lpe.dtype:  # NumPy's bfloat16 (ml_dtypes) products are float32
            grad = xp.astype(grad, lpe.dtype)
        return Tensor._make(grad, dev) * g.reshape(1, n, 1)


def _lengths(values, n: int, name: str) -> list[int]:
    """Lengths (a tensor, a sequence or one int) as a list of ``n`` Python ints."""
    if isinstance(values, Tensor):
        values = values.tolist()
    out = [int(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    if len(out) != n:
        raise RuntimeError(f"ctc_loss: {name} must have one entry per batch element ({n}), got {len(out)}")
    return out


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """Connectionist temporal classification loss of ``log_probs`` ``(T, N, C)`` (or ``(T, C)``)
    against ``targets``: padded ``(N, S)`` or concatenated 1-D. ``"mean"`` divides each loss by its
    target length, then averages (as PyTorch); ``zero_infinity`` zeroes impossible alignments.
    A reference-speed log-space forward-backward, written once for every backend.
    Deliberately unlike PyTorch, the gradient is the exact one with respect to ``log_probs`` (PyTorch adds
    ``exp(log_probs)``, right only through a ``log_softmax``, where both agree: pytorch/pytorch#52241), and an
    impossible alignment's infinite loss sends no gradient (PyTorch's is NaN)."""
    reduction = _reduction("ctc_loss", None, None, reduction)
    log_probs = _floating(log_probs, "ctc_loss")
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.ndim != 3:
        raise ValueError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got shape {log_probs.shape}")
    frames, n, classes = lp.shape
    targets = _tensor(targets, lp, "ctc_loss", "targets")
    if unbatched:
        targets = targets.reshape(1, -1)
    in_len = _lengths(input_lengths, n, "input_lengths")
    tgt_len = _lengths(target_lengths, n, "target_lengths")
    if any(not 1 <= t <= frames for t in in_len):
        raise ValueError(f"ctc_loss: input lengths must be in [1, {frames}], got {in_len}")
    xp, dev = lp.xp, lp.device
    flat = xp.astype(targets._data, xp.int64)
    if targets.ndim == 1:  # concatenated: cut into rows, padded with the blank
        if sum(tgt_len) != targets.shape[0]:
            raise ValueError(f"ctc_loss: concatenated targets hold {targets.shape[0]} labels but target_lengths "
                             f"sum to {sum(tgt_len)}")
        width, starts = max(tgt_len, default=0), [sum(tgt_len[:i]) for i in range(n)]
        rows = [xp.concat([flat[s:s + k], xp.full((width - k,), blank, dtype=xp.int64, device=dev.native)])
                for s, k in zip(starts, tgt_len)]
        flat = xp.stack(rows) if rows else xp.zeros((0, width), dtype=xp.int64, device=dev.native)
    elif any(k > targets.shape[1] for k in tgt_len):
        raise ValueError(f"ctc_loss: target lengths {tgt_len} exceed the padded target width {targets.shape[1]}")
    width = flat.shape[1]
    in_range = xp.arange(width, device=dev.native)[None, :] < xp.asarray(tgt_len, dtype=xp.int64,
                                                                          device=dev.native)[:, None]
    labels = xp.where(in_range, flat, blank)
    if bool(xp.any((labels < 0) | (labels >= classes))):
        raise IndexError(f"ctc_loss: target labels must be in [0, {classes})")
    ext = xp.full((n, 2 * width + 1), blank, dtype=xp.int64, device=dev.native)
    skip = xp.zeros(ext.shape, dtype=xp.bool, device=dev.native)
    if width:  # else every target is empty: the lattice is the blank alone
        ext[:, 1::2] = labels
        skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    nll = CTCLossFunction.apply(lp, ext=ext, skip=skip,
                                input_lengths=xp.asarray(in_len, dtype=xp.int64, device=dev.native),
                                label_lengths=xp.asarray(tgt_len, dtype=xp.int64, device=dev.native),
                                zero_infinity=zero_infinity)
    if reduction == "mean":
        divisor = Tensor([max(k, 1) for k in tgt_len], dtype=nll.dtype, device=dev)
        return (nll / divisor).mean()
    if reduction == "sum":
        return nll.sum()
    return nll.squeeze(0) if unbatched else nll
