"""Dropout family: element, channel (1d/2d/3d), alpha, per-sample (``drop_path``) and block dropout.

Each multiplies the input by a constant random mask drawn on the input's device as PyTorch draws it
(``bernoulli_(1 - p)``: seeded alike, the CPU masks are PyTorch's), and returns the input itself when
``training`` is false or nothing is dropped. ``inplace=True`` writes the result into the input.
"""

from __future__ import annotations

from ..._tensor import Tensor
from ...nested._dispatch import nested_aware
from ...ops.creation import empty, zeros
from ...ops.sampling import fill_order, rand

__all__ = [
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "drop_path",
    "drop_block",
]

_SELU_SATURATION = 1.7580993408473766  # SELU's scale * alpha: SELU saturates at minus this value


def _check_p(p: float, name: str) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _keep(x: Tensor, shape, p: float) -> Tensor:
    """A constant 0/1 tensor of ``shape`` in ``x``'s dtype, each entry 1 with probability ``1 - p`` (no draws
    for ``p == 1``, as PyTorch). A mask of ``x``'s own shape is drawn in ``x``'s memory order, as PyTorch's
    ``empty_like(x).bernoulli_()`` (a transposed input gets the mask its base would)."""
    if p == 1.0:
        return zeros(shape, dtype=x.dtype, device=x.device)
    order = fill_order(x) if tuple(shape) == tuple(x.shape) else tuple(range(len(shape)))
    drawn = empty(tuple(shape[d] for d in order), dtype=x.dtype, device=x.device).bernoulli_(1.0 - p)
    if order == tuple(range(len(shape))):  # row-major (the usual case): the mask as drawn
        return drawn
    return drawn.permute(tuple(order.index(d) for d in range(len(shape))))


def _scale(x: Tensor, mask: Tensor, inplace: bool) -> Tensor:
    return x.mul_(mask) if inplace else x * mask


def _feature_shape(x: Tensor, spatial: int, name: str) -> tuple:
    """The mask shape of channel dropout: ``(N, C, 1, ...)`` for a batched input with ``spatial``
    spatial dimensions, ``(C, 1, ...)`` for an unbatched one."""
    if x.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"{name}: expected a {spatial + 1}-D (unbatched) or {spatial + 2}-D (batched) input with "
            f"{spatial} spatial dimension(s), got shape {x.shape}"
        )
    channels = x.ndim - spatial
    return x.shape[:channels] + (1,) * spatial


def _dropout(x: Tensor, p: float, training: bool, inplace: bool, shape, name: str) -> Tensor:
    p = _check_p(p, name)
    if not training or p == 0.0:
        return x
    mask = _keep(x, shape, p)  # all zeros when p == 1
    return _scale(x, mask * (1.0 / (1.0 - p)) if p < 1.0 else mask, inplace)


@nested_aware
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (training only)."""
    return _dropout(input, p, training, inplace, input.shape, "dropout")


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of an ``(N, C, L)`` or ``(C, L)`` input with probability ``p``."""
    return _dropout(input, p, training, inplace, _feature_shape(input, 1, "dropout1d"), "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of an ``(N, C, H, W)`` or ``(C, H, W)`` input with probability ``p``.
    A 3-D input is unbatched ``(C, H, W)``: the interpretation PyTorch announces, where it still
    treats it as ``(N, C, L)`` with a warning (use ``dropout1d`` for that)."""
    return _dropout(input, p, training, inplace, _feature_shape(input, 2, "dropout2d"), "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of an ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input with probability ``p``."""
    return _dropout(input, p, training, inplace, _feature_shape(input, 3, "dropout3d"), "dropout3d")


def _alpha_dropout(x: Tensor, p: float, training: bool, inplace: bool, shape, name: str) -> Tensor:
    """Dropped entries become SELU's negative saturation value ``-alpha``, then ``a * . + b`` restores
    mean 0 and variance 1 (Klambauer et al., 2017): PyTorch's ``x * keep * a + (keep - 1) * alpha * a
    + alpha * a * p``."""
    p = _check_p(p, name)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return _scale(x, _keep(x, (), 1.0), inplace)
    alpha = _SELU_SATURATION
    a = ((alpha**2 * p + 1) * (1 - p)) ** -0.5
    keep = _keep(x, shape, p)
    out = _scale(x, keep * a, inplace)
    shift = (keep - 1) * (alpha * a) + alpha * a * p
    return out.add_(shift) if inplace else out + shift


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks that keeps the mean and variance of the activations. Note
    ``training`` defaults to False here, as in PyTorch."""
    return _alpha_dropout(input, p, training, inplace, input.shape, "alpha_dropout")


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (dimension 1) of an input with at least 2 dimensions."""
    if input.ndim < 2:
        raise RuntimeError(f"feature_alpha_dropout: expected an input of at least 2 dimensions, got {input.shape}")
    shape = input.shape[:2] + (1,) * (input.ndim - 2)
    return _alpha_dropout(input, p, training, inplace, shape, "feature_alpha_dropout")


def drop_path(input: Tensor, drop_prob: float = 0.1, training: bool = True, scale_by_keep: bool = True) -> Tensor:
    """Stochastic depth (Huang et al., 2016): drop the whole residual branch of each sample (dimension
    0) with probability ``drop_prob``, scaling the kept ones by ``1 / (1 - drop_prob)`` unless
    ``scale_by_keep`` is false. Argument order as timm's ``drop_path``."""
    p = _check_p(drop_prob, "drop_path")
    if not training or p == 0.0:
        return input
    mask = _keep(input, input.shape[:1] + (1,) * (input.ndim - 1), p)
    if scale_by_keep and p < 1.0:
        mask = mask * (1.0 / (1.0 - p))
    return input * mask


def drop_block(input: Tensor, block_size: int, p: float = 0.1, eps: float = 1e-7, training: bool = True) -> Tensor:
    """DropBlock (Ghiasi et al., 2018) on an ``(N, C, H, W)`` input: zero square blocks of side
    ``block_size`` whose top-left corners are drawn where a whole block fits, at the rate that drops
    about a fraction ``p`` of the map, then rescale by ``numel / kept`` (as timm)."""
    p = _check_p(p, "drop_block")
    if input.ndim != 4:
        raise RuntimeError(f"drop_block: expected an (N, C, H, W) input, got shape {input.shape}")
    if not training or p == 0.0:
        return input
    n, c, h, w = input.shape
    size = max(1, min(int(block_size), h, w))
    gamma = p * h * w / size**2 / ((h - size + 1) * (w - size + 1) + eps)
    xp, backend = input.xp, input.device.backend
    seeds = xp.astype(rand((n, c, h - size + 1, w - size + 1), dtype=input.dtype, device=input.device)._data < gamma,
                      input._data.dtype)
    # every seed covers the block [i, i + size) x [j, j + size): a max over size x size windows of the
    # seeds padded by size - 1 zeros on each side
    pad_h = xp.zeros((n, c, size - 1, w - size + 1), dtype=seeds.dtype, device=input.device.native)
    seeds = xp.concat([pad_h, seeds, pad_h], axis=2)
    pad_w = xp.zeros((n, c, h + size - 1, size - 1), dtype=seeds.dtype, device=input.device.native)
    seeds = xp.concat([pad_w, seeds, pad_w], axis=3)
    blocks = xp.max(backend.sliding_window_view(seeds, (size, size), axis=(2, 3)), axis=(-2, -1))
    keep = Tensor._make(1 - blocks, input.device)
    # the scale stays on the device (no sync); when nothing is kept, keep is all zeros whatever it is
    return input * (keep * (keep.numel() / keep.sum().clamp(min=1)))
