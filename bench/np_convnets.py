"""Hand-written NumPy training steps of issue 13's two convolutional workloads, LeNet with Adam and the
CIFAR ResNet-18 with SGD momentum (``lenet`` in test_workloads.py, ``resnet18`` in test_gpu.py): the
forward, the backward and the optimizer update written by hand, in place where natural, as a NumPy
programmer would (im2col from a strided window view and one GEMM per convolution face, closed-form batch
norm gradients), so the benchmarks can time lucid against plain NumPy on whole models and not only on
single layers. Activations stay in the batch-last ``(C, H, W, N)`` memory the convolution GEMM produces,
seen as ``(N, C, H, W)`` views, so no layer pays for a transpose. Every factory follows ``_training_case``'s
contract: ``factory(params, x, target)`` returns ``step()``, which runs one step and returns the loss.
"""

from __future__ import annotations

from itertools import islice

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from test_nn import np_batch_norm, np_batch_norm_backward, np_cross_entropy
from test_training import np_adam, np_adam_state, np_linear_backward, np_sgd_momentum

LENET_LR = 1e-3  # Adam, as lenet_step
RESNET18_LR, RESNET18_MOMENTUM = 0.01, 0.9  # SGD, as resnet18_step
# ResNet-18's BasicBlocks as test_gpu.resnet18 builds them: (in channels, out channels, stride)
RESNET18_BLOCKS = ((64, 64, 1), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1),
                   (256, 512, 2), (512, 512, 1))


# ---- layers ----------------------------------------------------------------------------------------
def _batch_last_padded(x, padding):
    """``x`` ``(N, C, H, W)`` copied into ``(C, H + 2p, W + 2p, N)`` with a zero border: with the batch
    innermost, every row that im2col copies and col2im adds is ``Wo * N`` contiguous numbers, not ``Wo``."""
    n, c, h, w = x.shape
    xp = np.zeros((c, h + 2 * padding, w + 2 * padding, n), dtype=x.dtype)
    xp[:, padding:padding + h, padding:padding + w] = x.transpose(1, 2, 3, 0)
    return xp


def np_conv(x, w, b=None, stride=1, padding=0):
    """2-D convolution of any stride and padding by im2col: the strided windows of the padded input copied
    once into columns ``(C*k*k, Ho*Wo*N)``, then one GEMM. Returns ``(y, cache)``; ``y`` is an
    ``(N, O, Ho, Wo)`` view of the batch-last ``(O, Ho, Wo, N)`` GEMM result."""
    n, c = x.shape[:2]
    o, k = w.shape[0], w.shape[-1]
    windows = sliding_window_view(_batch_last_padded(x, padding), (k, k), axis=(1, 2))[:, ::stride, ::stride]
    ho, wo = windows.shape[1:3]
    cols = windows.transpose(0, 4, 5, 1, 2, 3).reshape(c * k * k, ho * wo * n)
    y = w.reshape(o, -1) @ cols
    if b is not None:
        y += b[:, None]
    return y.reshape(o, ho, wo, n).transpose(3, 0, 1, 2), (x.shape, w, cols, stride, padding, b is not None)


def np_conv_backward(gy, cache, need_input=True):
    """``(gx or None, gw, gb or None)`` of :func:`np_conv`: one GEMM each for ``gw`` and the column
    gradients, which col2im adds back into the padded input, one strided slice per kernel offset."""
    (n, c, h, wd), w, cols, stride, padding, has_bias = cache
    o, k = w.shape[0], w.shape[-1]
    ho, wo = gy.shape[2:]
    g = gy.transpose(1, 2, 3, 0).reshape(o, -1)  # free when gy is batch-last, as every activation here
    gw = (g @ cols.T).reshape(w.shape)
    gb = g.sum(1) if has_bias else None
    if not need_input:
        return None, gw, gb
    gcols = (w.reshape(o, -1).T @ g).reshape(c, k, k, ho, wo, n)
    gxp = np.zeros((c, h + 2 * padding, wd + 2 * padding, n), dtype=gy.dtype)
    span_h, span_w = stride * (ho - 1) + 1, stride * (wo - 1) + 1
    for i in range(k):
        for j in range(k):
            gxp[:, i:i + span_h:stride, j:j + span_w:stride] += gcols[:, i, j]
    return gxp[:, padding:padding + h, padding:padding + wd].transpose(3, 0, 1, 2), gw, gb


def np_max_pool2_batch_last(x):
    """2x2 max pooling, stride 2, of an ``(N, C, H, W)`` view of batch-last memory: the maximum of the
    four strided corner views, each made of contiguous runs of N (``test_training.np_max_pool2``'s
    window copy and ``argmax`` over 4 numbers cost seven times more on this layout). Returns ``(y, cache)``."""
    m = x.transpose(1, 2, 3, 0)
    y = np.maximum(np.maximum(m[:, 0::2, 0::2], m[:, 0::2, 1::2]), np.maximum(m[:, 1::2, 0::2], m[:, 1::2, 1::2]))
    return y.transpose(3, 0, 1, 2), (m, y)


def np_max_pool2_batch_last_backward(gy, cache):
    """The gradient of :func:`np_max_pool2_batch_last`: ``gy`` routed to each window's first maximum in
    row-major order (PyTorch's choice among ties)."""
    m, y = cache
    g = gy.transpose(1, 2, 3, 0)
    gx = np.zeros(m.shape, dtype=gy.dtype)
    free = np.ones(y.shape, dtype=bool)  # windows whose maximum is not routed yet
    for i in (0, 1):
        for j in (0, 1):
            hit = m[:, i::2, j::2] == y
            hit &= free
            free &= ~hit
            np.multiply(g, hit, out=gx[:, i::2, j::2])
    return gx.transpose(3, 0, 1, 2)


def _conv_bn(x, w, gamma, beta, stats, stride, padding):
    """A bias-free convolution then training-mode batch norm (``stats``: its running mean and variance,
    updated in place). Returns ``(y, cache)``."""
    y, conv = np_conv(x, w, None, stride, padding)
    y, bn = np_batch_norm(y, gamma, beta, *stats)
    return y, (conv, bn)


def _conv_bn_backward(gy, cache, need_input=True):
    """``(gx or None, [gw, g_gamma, g_beta])`` of :func:`_conv_bn`, the gradients in model order."""
    conv, bn = cache
    g, g_gamma, g_beta = np_batch_norm_backward(gy, bn)
    gx, gw, _ = np_conv_backward(g, conv, need_input)
    return gx, [gw, g_gamma, g_beta]


def _basic_block(x, params, stats, stride):
    """ResNet's BasicBlock, ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``; the shortcut is a
    1x1 conv + batch norm when the block has its 9 parameters, else the identity. Returns ``(y, cache)``."""
    a, first = _conv_bn(x, *params[:3], stats[0], stride, 1)
    np.maximum(a, 0, out=a)
    y, second = _conv_bn(a, *params[3:6], stats[1], 1, 1)
    shortcut = None
    if len(params) == 9:
        s, shortcut = _conv_bn(x, *params[6:], stats[2], stride, 0)
        y += s
    else:
        y += x
    np.maximum(y, 0, out=y)
    return y, (a, y, first, second, shortcut)


def _basic_block_backward(gy, cache):
    """``(gx, the block's gradients in model order)`` of :func:`_basic_block`; ``gy`` is masked in place."""
    a, y, first, second, shortcut = cache
    gy *= y > 0
    ga, grads = _conv_bn_backward(gy, second)
    ga *= a > 0
    gx, first_grads = _conv_bn_backward(ga, first)
    if shortcut is None:
        gx += gy
        return gx, first_grads + grads
    gs, shortcut_grads = _conv_bn_backward(gy, shortcut)
    gx += gs
    return gx, first_grads + grads + shortcut_grads


def _global_avg_pool_backward(g, shape):
    """The gradient of the mean over H and W: ``g / (H*W)`` spread over every pixel, batch-last."""
    n, c, h, w = shape
    gx = np.empty((c, h, w, n), dtype=g.dtype).transpose(3, 0, 1, 2)
    gx[...] = (g / (h * w))[:, :, None, None]
    return gx


def _linear(x, w, b):
    """``x @ w.T + b``, the bias added in place."""
    y = x @ w.T
    y += b
    return y


# ---- LeNet with Adam ---------------------------------------------------------------------------------
def np_lenet_step(params, adam_state, x, target):
    """LeNet (conv-relu-pool twice, linear-relu, linear): forward, cross-entropy, backward, Adam, in place."""
    c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b = params
    a1, conv1 = np_conv(x, c1w, c1b)
    np.maximum(a1, 0, out=a1)
    p1, pool1 = np_max_pool2_batch_last(a1)
    a2, conv2 = np_conv(p1, c2w, c2b)
    np.maximum(a2, 0, out=a2)
    p2, pool2 = np_max_pool2_batch_last(a2)
    flat = p2.reshape(x.shape[0], -1)
    h = _linear(flat, f1w, f1b)
    np.maximum(h, 0, out=h)
    loss, g = np_cross_entropy(_linear(h, f2w, f2b), target)
    g, gf2w, gf2b = np_linear_backward(g, h, f2w, h)
    g, gf1w, gf1b = np_linear_backward(g, flat, f1w, flat)  # flat > 0 <=> the window's max passed its ReLU
    g, gc2w, gc2b = np_conv_backward(np_max_pool2_batch_last_backward(g.reshape(p2.shape), pool2), conv2)
    g *= p1 > 0  # conv1's ReLU, applied before routing through the pool (same mask, a quarter of the work)
    _, gc1w, gc1b = np_conv_backward(np_max_pool2_batch_last_backward(g, pool1), conv1, need_input=False)
    np_adam(params, [gc1w, gc1b, gc2w, gc2b, gf1w, gf1b, gf2w, gf2b], adam_state, LENET_LR)
    return loss


def np_lenet_step_factory(params, x, target):
    """``step()`` of LeNet with Adam(lr=1e-3) on ``params`` (in the model's order, updated in place)."""
    adam = np_adam_state(params)
    return lambda: np_lenet_step(params, adam, x, target)


# ---- ResNet-18 with SGD momentum -------------------------------------------------------------------------
def _block_sizes(cin, cout, stride):
    """``(parameters, batch norms)`` of a BasicBlock: a projection shortcut adds a conv and a batch norm."""
    return (9, 3) if stride != 1 or cin != cout else (6, 2)


def resnet18_running_stats(dtype):
    """Fresh BatchNorm running ``(mean, var)`` pairs (zeros, ones), one per BatchNorm2d in model order."""
    widths = [64] + [cout for cin, cout, stride in RESNET18_BLOCKS for _ in range(_block_sizes(cin, cout, stride)[1])]
    return [(np.zeros(c, dtype=dtype), np.ones(c, dtype=dtype)) for c in widths]


def np_resnet18_step(params, running, buffers, x, target):
    """ResNet-18 (stem conv-bn-relu, 8 BasicBlocks, global average pool, linear): forward, cross-entropy,
    backward and the SGD momentum update, in place. ``params`` and ``running`` are read in model order."""
    weights, stats = iter(params), iter(running)
    stem_out, stem = _conv_bn(x, *islice(weights, 3), next(stats), 1, 1)
    np.maximum(stem_out, 0, out=stem_out)
    h, blocks = stem_out, []
    for cin, cout, stride in RESNET18_BLOCKS:
        n_params, n_norms = _block_sizes(cin, cout, stride)
        h, cache = _basic_block(h, list(islice(weights, n_params)), list(islice(stats, n_norms)), stride)
        blocks.append(cache)
    fw, fb = weights
    features = h.mean((2, 3))
    loss, g = np_cross_entropy(_linear(features, fw, fb), target)
    g, gfw, gfb = np_linear_backward(g, features, fw, features)  # features == 0 only where every ReLU gave 0
    g = _global_avg_pool_backward(g, h.shape)
    block_grads = []
    for cache in reversed(blocks):
        g, grads = _basic_block_backward(g, cache)
        block_grads.append(grads)
    g *= stem_out > 0
    _, stem_grads = _conv_bn_backward(g, stem, need_input=False)
    grads = stem_grads + [gp for block in reversed(block_grads) for gp in block] + [gfw, gfb]
    np_sgd_momentum(params, grads, buffers, RESNET18_LR, RESNET18_MOMENTUM)
    return loss


def np_resnet18_step_factory(params, x, target, running=None):
    """``step()`` of ResNet-18 with SGD(lr=0.01, momentum=0.9) on ``params`` (in the model's order, updated
    in place); ``running``: the BatchNorm running statistics to update (fresh ones when None)."""
    running = resnet18_running_stats(params[0].dtype) if running is None else running
    buffers = [None] * len(params)
    return lambda: np_resnet18_step(params, running, buffers, x, target)
