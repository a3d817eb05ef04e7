"""Normalization: ``batch_norm``, ``instance_norm``, ``layer_norm``, ``group_norm``, ``rms_norm``,
``local_response_norm``.

Batch, instance, layer, group and RMS normalization are one Function, ``Normalize``, on the
backend's fused ``normalize*`` kernels (:mod:`lucid._backend.fused`): the statistics are taken
over some axes of the input seen in some shape (``(N, G, -1)`` for group norm), or given
(running statistics in eval mode); the affine weight and bias broadcast in another shape. Its
forward computes the mean, the centred values (reused for the output) and the variance in one
sweep of array ops, updating the arrays it just made in place; its first-order backward is the
closed form ``rstd * (g - mean(g) - x̂ * mean(g * x̂))`` on arrays (for batch norm from the
weight and bias gradients' sums). With ``create_graph`` the backward rebuilds ``x̂`` from ``x``
with lucid ops, so second derivatives are exact.
"""

from __future__ import annotations

import functools
import math
import operator

from ..._backend.arrays import reshaped
from ..._backend.float_errors import float_errors_quiet
from ..._backend.fused import fresh_op
from ..._tensor import Tensor
from ...amp.autocast import autocast_op
from ...autograd import grad_mode
from ...autograd.function import FLOAT32, Function, rename_node, tie_to
from ...nested._dispatch import nested_aware
from ...ops.arithmetic import unbroadcast
from ...ops.shape import pad
from .pooling import avg_pool2d

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm", "local_response_norm", "normalize"]


class Normalize(Function):
    """``(x - mean) * rsqrt(var + eps) * weight + bias``.

    ``x`` is seen as ``view`` and its statistics are taken over ``axes`` of that view
    (``center=False``: no mean, RMS normalization), unless ``given`` holds constant ``(mean,
    var)`` arrays broadcasting against the view. ``weight`` and ``bias`` (either may be None)
    are reshaped to ``param_shape``, which broadcasts against the view. When ``stats`` is a list,
    the batch ``(mean, var)`` arrays (biased variance, kept axes) are appended to it, for
    running statistics. Under create_graph the gradients of ``x``, ``weight`` and ``bias`` are tied to the inputs
    that ``tied`` names for each (by position; see :func:`lucid.autograd.function.tie_to`), so that they require
    grad exactly when PyTorch's do (its layer norm's backward node takes the bias too, batch norm's does not).
    """
    autocast_policy = {"cuda": FLOAT32}  # see lucid.amp.autocast

    def forward(self, x, weight, bias, view, axes, param_shape, eps, center=True, given=None, stats=None,
                tied=((), (), ())):
        xp = self.xp
        self.view, self.axes, self.param_shape, self.eps, self.center = view, axes, param_shape, eps, center
        self.tied = tied
        v = xp.reshape(x, view)
        w = None if weight is None else xp.reshape(weight, param_shape)
        b = None if bias is None else xp.reshape(bias, param_shape)
        self.fold = self._fold_shape(x, weight, bias, given)
        if self.fold:
            v = xp.reshape(x, self.fold)
            with float_errors_quiet():  # inf and nan silently, as PyTorch
                mean, var = self.backend.row_moments(v)
                rstd = 1 / xp.sqrt(var + eps)
                y = self.backend.centred_affine(v, mean, rstd if w is None else rstd * self._per_scale(w),
                                                None if b is None else self._per_scale(b), shape=x.shape)
            kept = mean  # the backward recentres x
        else:
            y, mean, var, rstd = self.backend.normalize(v, axes, eps, center, given)
            kept = y  # x̂
            if w is not None:
                y = y * w
            if b is not None:
                y = fresh_op(xp, operator.iadd, y, b) if y is not kept else y + b
        if given is None and stats is not None:
            stats.append((mean, var))
        self.given = None if given is None else mean
        self.bias_shape = None if bias is None else bias.shape
        self.save_for_backward(x, weight, kept, rstd, bias if 2 in tied[0] else None)
        # PyTorch's mixed-type norms (a float16/bfloat16 input, float32 parameters): the output and each
        # gradient in the dtype of what it belongs to, not the parameters' promoted one
        self.dtypes = tuple(None if t is None else t.dtype for t in (x, weight, bias))
        y = reshaped(xp, y, x.shape)
        return y if y.dtype == x.dtype or self.device.dtypes[x.dtype].itemsize >= 4 else xp.astype(y, x.dtype)

    def _fold_shape(self, x, weight, bias, given):
        """``(B, K, F)`` where the statistics and the parameters fold into one scale and shift per row of ``K``
        of ``F`` elements, the view's last ``F`` elements being ones the parameters broadcast over (group norm:
        ``(N * groups, C / groups, H * W)``, instance norm ``(N * C, 1, H * W)``); else None. Folded, the output
        is one pass of ``(x - mean) * scale + shift`` and the backward two, with no ``x̂`` kept. The statistics
        must be over the last axes of the view, not the first (the passes go slice by slice along it), and
        the parameters of ``x``'s dtype."""
        view, axes, first = self.view, self.axes, self.axes[0]
        param_axes = self._param_axes(len(view))
        split = min([a for a in axes if a in param_axes] or [len(view)])
        if (given is not None or not self.center or first == 0 or axes != tuple(range(first, len(view)))
                or any(a not in param_axes for a in axes if a > split) or math.prod(view[split:]) <= 1
                or any(t is not None and t.dtype != x.dtype for t in (weight, bias))):
            return None
        self.scale_shape = view[:split] + (1,) * (len(view) - split)
        return math.prod(view[:first]), math.prod(view[first:split]), math.prod(view[split:])

    def _per_scale(self, p):
        """A parameter (in ``param_shape``) as one value per row of the folded shape ``(B, K, 1)``."""
        xp = self.xp
        return xp.reshape(xp.broadcast_to(p, self.scale_shape), self.fold[:2] + (1,))

    def _rebuild(self, x, rstd):
        """``(x̂, rstd)`` recomputed from ``x`` with lucid ops, ``x̂`` in the view, so that they carry its graph
        (the given statistics, and so ``rstd``, are constants)."""
        v = x.reshape(self.view)
        if self.given is not None:
            return (v - Tensor._make(self.given, self.device)) * rstd, rstd
        d = v - v.mean(dim=self.axes, keepdim=True) if self.center else v
        rstd = ((d * d).mean(dim=self.axes, keepdim=True) + self.eps).rsqrt()
        return d * rstd, rstd

    def backward(self, g):
        x, weight, kept, rstd, bias = self.saved_tensors
        need = self.needs_input_grad
        if not grad_mode.is_grad_enabled():
            arrays = self._backward_folded if self.fold else self._backward_arrays
            return arrays(reshaped(self.xp, g._data, self.view), x._data, weight, kept._data, rstd._data, need)
        xhat, rstd = self._rebuild(x, rstd)  # create_graph: x̂ and rstd must depend on x
        g = g.reshape(self.view)
        gw = unbroadcast(g * xhat, self.param_shape).reshape(weight.shape) if need[1] else None
        gb = unbroadcast(g, self.param_shape).reshape(self.bias_shape) if need[2] else None
        gx = None
        if need[0]:
            gh = g * weight.reshape(self.param_shape) if weight is not None else g
            if self.given is None:
                gh = gh - xhat * (gh * xhat).mean(dim=self.axes, keepdim=True)
                if self.center:
                    gh = gh - gh.mean(dim=self.axes, keepdim=True)
            gx = (gh * rstd).reshape(x.shape)
        inputs = (x, weight, bias)
        grads = (None if gr is None else functools.reduce(tie_to, (inputs[i] for i in tied), gr)
                 for gr, tied in zip((gx, gw, gb), self.tied))
        return tuple(gr if gr is None or gr.dtype == self.device.dtypes[d] else gr.to(self.device.dtypes[d])
                     for gr, d in zip(grads, self.dtypes))

    def _param_axes(self, ndim: int) -> tuple:
        """The axes of the view (of ``ndim`` dims) that ``weight`` and ``bias`` broadcast over: their
        gradients are sums over these."""
        lead = ndim - len(self.param_shape)
        return tuple(i for i in range(ndim) if i < lead or self.param_shape[i - lead] == 1)

    def _backward_arrays(self, g, x, weight, xhat, rstd, need):
        """First-order backward on arrays (``g`` in the view), updating its own temporaries in place; the
        input's gradient from the parameter gradients' sums where the statistics are taken per parameter."""
        xp = self.xp
        param_axes = self._param_axes(len(self.view))
        fused = self.given is None and param_axes == tuple(sorted(self.axes))
        w = None if weight is None else xp.reshape(weight._data, self.param_shape)
        kernels = self.backend
        gw = kernels.sum_kept(g, param_axes, xhat) if need[1] or (need[0] and fused) else None
        gb = kernels.sum_kept(g, param_axes) if need[2] or (need[0] and fused and self.center) else None
        gx = None
        if need[0] and self.given is not None:  # constant statistics
            gx = g * (rstd if w is None else w * rstd)
        elif need[0] and fused:  # mean(g w) = w gb/m and mean(g w x̂) = w gw/m: the parameter sums are reused
            count = math.prod(self.view[a] for a in self.axes)
            gx = self.backend.normalize_grad_from_sums(g, xhat, rstd if w is None else w * rstd, gw, gb, count,
                                                       self.center)
        elif need[0]:
            gx = self.backend.normalize_grad(g, xhat, w, rstd, self.view, self.axes, self.center)
        return self._gradients(x, weight, gx, gw, gb, need)

    def _backward_folded(self, g, x, weight, mean, rstd, need):
        """First-order backward of the folded forward: from the sums of ``g`` and of ``g (x - mean)`` per scale,
        ``gx = (x - mean) (-rstd² q) - rstd p + g rstd w`` with ``p = mean(g w)``, ``q = mean(g w x̂)`` over each
        statistic's elements, in one more pass."""
        xp = self.xp
        v, g = xp.reshape(x, self.fold), xp.reshape(g, self.fold)
        with float_errors_quiet():
            s1, s2 = self.backend.row_sums(g, v, mean)
        s2 *= rstd  # sum(g x̂) per scale
        param_axes = self._param_axes(len(self.view))
        gw, gb = (xp.sum(xp.reshape(s, self.scale_shape), axis=param_axes, keepdims=True) if n else None
                  for s, n in ((s2, need[1]), (s1, need[2])))
        gx = None
        if need[0]:
            w = None if weight is None else self._per_scale(xp.reshape(weight._data, self.param_shape))
            if w is not None:
                s1, s2 = s1 * w, s2 * w
            p, q = (xp.sum(s, axis=(1, 2), keepdims=True) / (self.fold[1] * self.fold[2]) for s in (s1, s2))
            with float_errors_quiet():
                gx = self.backend.centred_affine(v, mean, -(rstd * rstd * q), -(rstd * p), g,
                                                 rstd if w is None else rstd * w, shape=x.shape)
        return self._gradients(x, weight, gx, gw, gb, need)

    def _gradients(self, x, weight, gx, gw, gb, need) -> tuple:
        """The arrays ``gx`` (in the view), ``gw`` and ``gb`` as the gradients of ``x``, ``weight`` and ``bias``."""
        xp, device = self.xp, self.device
        gx = None if gx is None else reshaped(xp, gx, x.shape)
        gw = xp.reshape(gw, weight.shape) if need[1] else None
        gb = xp.reshape(gb, self.bias_shape) if need[2] else None
        return tuple(None if g is None else Tensor._make(g if g.dtype == d else xp.astype(g, d), device)
                     for g, d in zip((gx, gw, gb), self.dtypes))


def _check_param(name, what, t, numel, x):
    if t is None:
        return
    if not isinstance(t, Tensor) or t.numel() != numel:
        raise RuntimeError(f"{name}: {what} must be a tensor of {numel} elements, got {getattr(t, 'shape', t)}")
    if t._device is not x._device:
        from ..._backend.device import DeviceMismatchError

        raise DeviceMismatchError(f"{name}: {what} is on {t._device} but the input is on {x._device}")


def _channels(name, x, least=2):
    if not isinstance(x, Tensor) or x.ndim < least:
        got = getattr(x, "shape", x)
        raise ValueError(f"{name}: expected an input (N, C, ...) with at least {least} dims, got {got}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating input, got {x.dtype.name}")
    return x.shape[1]


_BATCH_TIED = ((0, 1),) * 3  # the inputs PyTorch's native_batch_norm_backward takes (not the bias)


def _update(pairs, momentum) -> None:
    """``running = (1 - momentum) * running + momentum * batch`` in place, untracked, for each
    ``(running, batch)`` pair whose running tensor is not None. Every new value is computed
    before the first is written, so an error leaves all the running statistics as they were."""
    with grad_mode.no_grad():
        new = [(running, running * (1 - momentum) + batch.to(running.dtype) * momentum)
               for running, batch in pairs if running is not None]
        for running, value in new:
            running.copy_(value)


def _per_channel(array, x, c) -> Tensor:
    return Tensor._make(x.xp.reshape(array, (-1, c)), x._device)


def _with_running_stats(name, when, input, running_mean, running_var, weight, bias, axes, shape, eps):
    """Normalize ``input`` with the given running statistics instead of its own (eval mode)."""
    if running_mean is None or running_var is None:
        raise RuntimeError(f"{name}: running_mean and running_var are needed when {when}")
    xp = input.xp
    with input._device.context():  # the casts' copies beside the input (CuPy computes on the current device)
        given = tuple(xp.reshape(xp.astype(t._data, input._data.dtype), shape) for t in (running_mean, running_var))
    y = Normalize.apply(input, weight, bias, view=input.shape, axes=axes, param_shape=shape, eps=eps, given=given,
                        tied=_BATCH_TIED)
    return rename_node(y, "NativeBatchNorm") if name == "batch_norm" else y


@autocast_op(None)  # PyTorch's autocast casts neither batch nor instance norm: they keep the input's dtype
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalization over ``(N, C, *)`` per channel. ``training``: batch statistics, and the
    running ones (when given) are updated in place: ``running = (1 - momentum) * running +
    momentum * batch``, with the *unbiased* batch variance, as PyTorch: after the output is
    computed, so an error leaves them unchanged. Otherwise the running statistics normalize."""
    name = "batch_norm"
    c = _channels(name, input)
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        _check_param(name, what, t, c, input)
    shape = (1, c) + (1,) * (input.ndim - 2)
    axes = (0,) + tuple(range(2, input.ndim))
    if not training:
        return _with_running_stats(name, "training=False", input, running_mean, running_var, weight, bias, axes,
                                   shape, eps)
    count = input.numel() // c
    if count == 1:
        raise ValueError(f"{name}: expected more than 1 value per channel when training, got input {input.shape}")
    if count == 0:  # an empty batch: an empty output, the running statistics as they were (as PyTorch)
        xp, kw = input.xp, {"dtype": input._data.dtype, "device": input._device.native}
        given = (xp.zeros(shape, **kw), xp.ones(shape, **kw))
        return rename_node(Normalize.apply(input, weight, bias, view=input.shape, axes=axes, param_shape=shape,
                                           eps=eps, given=given, tied=_BATCH_TIED), "NativeBatchNorm")
    stats = [] if running_mean is not None or running_var is not None else None
    y = rename_node(Normalize.apply(input, weight, bias, view=input.shape, axes=axes, param_shape=shape, eps=eps,
                                    stats=stats, tied=_BATCH_TIED), "NativeBatchNorm")
    if stats:
        mean, var = stats[0]
        _update([(running_mean, _per_channel(mean, input, c).reshape(c)),
                 (running_var, _per_channel(var, input, c).reshape(c) * (count / (count - 1)))], momentum)
    return y


@autocast_op(None)  # PyTorch's autocast casts neither batch nor instance norm: they keep the input's dtype
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Instance normalization: each (sample, channel) plane normalized by its own statistics.
    With running statistics and ``use_input_stats``, they move towards the batch average of the
    per-instance mean and unbiased variance (PyTorch's rule); without ``use_input_stats`` the
    running statistics normalize."""
    name = "instance_norm"
    c = _channels(name, input, 3)
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        _check_param(name, what, t, c, input)
    shape = (1, c) + (1,) * (input.ndim - 2)
    axes = tuple(range(2, input.ndim))
    if not use_input_stats:
        return _with_running_stats(name, "use_input_stats=False", input, running_mean, running_var, weight, bias,
                                   axes, shape, eps)
    count = math.prod(input.shape[2:])
    if count <= 1:
        raise ValueError(f"{name}: expected more than 1 spatial element per channel, got input of shape {input.shape}")
    stats = [] if running_mean is not None or running_var is not None else None
    y = rename_node(Normalize.apply(input, weight, bias, view=input.shape, axes=axes, param_shape=shape, eps=eps,
                                    stats=stats, tied=_BATCH_TIED), "View")  # PyTorch's batch norm, viewed back
    if stats:
        mean, var = stats[0]
        _update([(running_mean, _per_channel(mean, input, c).mean(0)),
                 (running_var, _per_channel(var, input, c).mean(0) * (count / (count - 1)))], momentum)
    return y


def _normalized_shape(name, x, normalized_shape) -> tuple:
    shape = (normalized_shape,) if not isinstance(normalized_shape, (tuple, list)) else tuple(normalized_shape)
    shape = tuple(operator.index(n) for n in shape)
    if not isinstance(x, Tensor) or not shape or x.shape[x.ndim - len(shape):] != shape or x.ndim < len(shape):
        raise RuntimeError(
            f"{name}: normalized_shape {shape} must match the last dimensions of the input, got shape "
            f"{getattr(x, 'shape', x)}"
        )
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating input, got {x.dtype.name}")
    return shape


@nested_aware
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the last ``len(normalized_shape)`` dimensions, then scale by ``weight`` and
    shift by ``bias`` (both of ``normalized_shape``, optional)."""
    shape = _normalized_shape("layer_norm", input, normalized_shape)
    for what, t in (("weight", weight), ("bias", bias)):
        _check_param("layer_norm", what, t, math.prod(shape), input)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    y = Normalize.apply(input, weight, bias, view=input.shape, axes=axes, param_shape=shape, eps=eps,
                        tied=((0, 1, 2),) * 3)  # PyTorch's native_layer_norm_backward takes the bias too
    return rename_node(y, "NativeLayerNorm")


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last ``len(normalized_shape)`` dimensions;
    ``eps=None`` means the machine epsilon of the input's dtype, as PyTorch (whose CPU composite ends in the
    product it records, ``MulBackward0``)."""
    shape = _normalized_shape("rms_norm", input, normalized_shape)
    _check_param("rms_norm", "weight", weight, math.prod(shape), input)
    if eps is None:
        eps = float(input.xp.finfo(input._data.dtype).eps)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    y = Normalize.apply(input, weight, None, view=input.shape, axes=axes, param_shape=shape, eps=eps, center=False)
    return rename_node(y, "Mul")


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization: the channels of each sample split into ``num_groups`` groups, each
    normalized by its own statistics; ``weight``/``bias`` are per channel."""
    name = "group_norm"
    c = _channels(name, input)
    num_groups = operator.index(num_groups)
    if num_groups < 1 or c % num_groups:
        raise RuntimeError(f"{name}: {c} channels can't be split into num_groups={num_groups} groups")
    for what, t in (("weight", weight), ("bias", bias)):
        _check_param(name, what, t, c, input)
    view = (input.shape[0], num_groups, c // num_groups, math.prod(input.shape[2:]))
    y = Normalize.apply(input, weight, bias, view=view, axes=(2, 3), param_shape=(1,) + view[1:3] + (1,), eps=eps,
                        tied=((), (1,), ()))  # (PyTorch's composite backward: the weight's gradient uses it)
    return rename_node(y, "NativeGroupNorm")


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """``x / (k + alpha * mean of x**2 over `size` neighbouring channels) ** beta`` (zero-padded
    at the ends; the mean always divides by ``size``, as PyTorch)."""
    c = _channels("local_response_norm", input, 3)
    size = operator.index(size)
    squares = (input * input).reshape(input.shape[0], 1, c, math.prod(input.shape[2:]))
    div = avg_pool2d(pad(squares, (0, 0, size // 2, (size - 1) // 2)), (size, 1), stride=1)
    return input / (div.reshape(input.shape) * alpha + k).pow(beta)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, *, axis=None) -> Tensor:
    """``input`` divided by its ``p``-norm along ``dim`` (at least ``eps``), as
    ``torch.nn.functional.normalize``; differentiable through ``lucid.linalg.vector_norm``."""
    from ...ops import _axes
    from ...ops.linalg import vector_norm

    dim = _axes.pick(dim, axis)
    return input / vector_norm(input, p, dim, keepdim=True).clamp(min=eps)
