"""``lucid.nn.init``: fill a tensor in place with values for a layer's initial weights.

Each function works without recording a graph (as PyTorch's, under ``no_grad``), on the
tensor's own device, and draws from ``generator=`` (a ``lucid.Generator``) or else that device's
default generator, so ``lucid.manual_seed`` makes it reproducible. Fan-in is
``size(1) * receptive field`` and fan-out ``size(0) * receptive field`` for a ``(out, in, *kernel)``
weight (upstream Lucid 2.5.8 had them swapped). Each returns the tensor.
"""

from __future__ import annotations

import math
import warnings

from .._backend import arrays
from .._backend.device import on_input_device
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops.creation import empty_like
from ..ops.indexing import where
from ..ops.sampling import randperm
from ..random import draw

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
    "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal", "kaiming_uniform",
    "kaiming_normal", "orthogonal", "sparse",
]

_LINEAR_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                "sigmoid")


# ---- helpers ---------------------------------------------------------------------------------
def _check(tensor, name: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init.{name} expects a Tensor, got {type(tensor).__name__}")


def _write(tensor: Tensor, array) -> Tensor:
    """Replace the values of ``tensor`` by the array ``array`` in place (no graph; bumps the version)."""
    with no_grad():
        tensor.copy_(Tensor._make(array, tensor._device))
    return tensor


def _random(tensor: Tensor, kind: str, generator, shape, **params):
    """Random numbers of ``shape`` from ``generator`` (a ``lucid.Generator``; None: the default generator of
    ``tensor``'s device), in ``tensor``'s (floating) dtype."""
    if tensor.dtype.kind != "f":
        raise TypeError(f"random initialisation needs a floating tensor, got {tensor.dtype.name}")
    return draw(kind, shape, tensor.dtype, tensor._device, generator, **params)


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``: ``in * prod(kernel)`` and
    ``out * prod(kernel)``."""
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape {tensor.shape})"
        )
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} not supported, please use one of 'fan_in', 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _empty(tensor: Tensor, name: str) -> bool:
    """Whether ``tensor`` has no elements (then initialising it does nothing, with PyTorch's warning)."""
    if tensor.numel() == 0:
        warnings.warn(f"nn.init.{name}: initializing a zero-element tensor is a no-op", stacklevel=3)
        return True
    return False


# ---- gains -----------------------------------------------------------------------------------
def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended scale of the weights in front of ``nonlinearity`` (PyTorch's table):
    1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for
    leaky_relu (``param`` is the slope, default 0.01), 3/4 for selu."""
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


# ---- distributions -----------------------------------------------------------------------------
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with values drawn from ``U(a, b)`` (``Tensor.uniform_``'s: PyTorch's numbers, in memory order)."""
    _check(tensor, "uniform_")
    with no_grad():
        return tensor.uniform_(float(a), float(b), generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with values drawn from ``N(mean, std^2)`` (``Tensor.normal_``'s: PyTorch's numbers, in memory order)."""
    _check(tensor, "normal_")
    with no_grad():
        return tensor.normal_(float(mean), float(std), generator=generator)


@on_input_device
def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None) -> Tensor:
    """Fill with values from ``N(mean, std^2)`` restricted to ``[a, b]`` (``a``, ``b`` are absolute bounds), by
    PyTorch's rejection sampling, so that, seeded alike, the values are PyTorch's: normal draws redrawn where they
    fall outside when ``[a, b]`` holds more than 0.3 of the mass, else uniform proposals on ``[a, b]`` accepted
    with the normal's density relative to its peak there. Like PyTorch it warns when ``mean`` is more than 2 std
    outside ``[a, b]``; an interval holding less than 1e-4 of the mass (thousands of rounds) raises. A tensor
    without elements is returned as it is."""
    _check(tensor, "trunc_normal_")
    if std <= 0 or a >= b:
        raise ValueError(f"trunc_normal_ needs std > 0 and a < b, got std={std}, a={a}, b={b}")
    if tensor.numel() == 0:
        return tensor
    cdf_a, cdf_b = (0.5 * (1.0 + math.erf((v - mean) / std / math.sqrt(2.0))) for v in (a, b))
    if cdf_b - cdf_a < 1e-4:
        raise ValueError(f"trunc_normal_: [a, b] = [{a}, {b}] holds only {cdf_b - cdf_a:.2g} of N({mean}, {std}^2); "
                         f"rejection sampling would not finish; move mean into the interval or widen it")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of values "
                      "may be incorrect.", UserWarning, stacklevel=2)
    with no_grad():
        if cdf_b - cdf_a > 0.3:
            lo, hi = (tensor.new_tensor(v, device="cpu").item() for v in (a, b))  # the bounds in the dtype
            result = tensor.normal_(mean, std, generator=generator)
            while bool(((result < lo) | (result > hi)).any()):
                redrawn = empty_like(result).normal_(mean, std, generator=generator)
                result = where((result < lo) | (result > hi), redrawn, result)
        else:
            log_peak = -0.5 * ((max(a, min(mean, b)) - mean) / std) ** 2

            def log_density(x):  # relative to the peak on [a, b], in the tensor's dtype as PyTorch's in-place steps
                return x.sub(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak)

            result = tensor.uniform_(a, b, generator=generator)
            pending = empty_like(tensor).uniform_(generator=generator).log_() > log_density(result)
            while bool(pending.any()):
                candidates = empty_like(tensor).uniform_(a, b, generator=generator)
                result = where(pending, candidates, result)
                accept = empty_like(tensor).uniform_(generator=generator).log_() > log_density(candidates)
                pending = where(pending, accept, pending)
        if result is not tensor:
            tensor.copy_(result)
    return tensor


_no_grad_trunc_normal_ = trunc_normal_  # PyTorch's name of the same fill (timm and others call it directly)


def constant_(tensor: Tensor, val) -> Tensor:
    """Fill with ``val``."""
    _check(tensor, "constant_")
    with no_grad():
        tensor.fill_(val)
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones."""
    return constant_(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros."""
    return constant_(tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix (ones on the diagonal of a non-square one)."""
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"eye_ needs a 2-D tensor, got shape {tensor.shape}")
    return _write(tensor, tensor._device.create("eye", *tensor.shape, dtype=tensor._data.dtype))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3-, 4- or 5-D convolution weight with the Dirac delta: the convolution then passes
    its input through (channel ``i`` of each of the ``groups`` to output ``i``)."""
    _check(tensor, "dirac_")
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_ needs a 3-, 4- or 5-D tensor, got shape {tensor.shape}")
    out_channels = tensor.shape[0]
    if groups < 1 or out_channels % groups:
        raise ValueError(f"dirac_: dimension 0 (size {out_channels}) must be divisible by groups ({groups})")
    per_group = out_channels // groups
    out = tensor._device.create("zeros", tensor.shape, dtype=tensor._data.dtype)
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(per_group, tensor.shape[1])):
            out[(g * per_group + d, d) + centre] = 1
    return _write(tensor, out)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot & Bengio (2010): ``U(-a, a)`` with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    _check(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot & Bengio (2010): ``N(0, std^2)`` with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    _check(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor: Tensor, a, mode: str, nonlinearity: str) -> float:
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None) -> Tensor:
    """He et al. (2015): ``U(-b, b)`` with ``b = gain * sqrt(3 / fan)``; ``fan`` is fan-in or fan-out
    (``mode``), ``gain = calculate_gain(nonlinearity, a)``."""
    _check(tensor, "kaiming_uniform_")
    if _empty(tensor, "kaiming_uniform_"):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None) -> Tensor:
    """He et al. (2015): ``N(0, std^2)`` with ``std = gain / sqrt(fan)``."""
    _check(tensor, "kaiming_normal_")
    if _empty(tensor, "kaiming_normal_"):
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def layer_default_(weight: Tensor, bias: Tensor | None = None) -> None:
    """PyTorch's default initialisation of Linear and Conv layers: ``kaiming_uniform_(weight,
    a=sqrt(5))``, i.e. ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, and the bias from the same range."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)


@on_input_device
def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Saxe et al. (2013): a (semi-)orthogonal matrix (the tensor flattened to ``(size(0), -1)``)
    from the QR decomposition of a Gaussian matrix, times ``gain``."""
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_ needs a tensor with 2 or more dimensions, got shape {tensor.shape}")
    if tensor.numel() == 0:
        return tensor
    xp = tensor.xp
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _random(tensor, "normal", generator, (rows, cols))
    if rows < cols:
        flat = xp.matrix_transpose(flat)
    q, r = xp.linalg.qr(flat)
    q = q * arrays.sign(xp, xp.linalg.diagonal(r))  # makes the decomposition unique (uniform over matrices)
    if rows < cols:
        q = xp.matrix_transpose(q)
    return _write(tensor, xp.reshape(q, tensor.shape) * gain)


@on_input_device
def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """Martens (2010): a 2-D tensor drawn from ``N(0, std^2)`` with ``ceil(sparsity * rows)`` zeros in every
    column, at the first rows of a random permutation per column (PyTorch's draws, in its order)."""
    _check(tensor, "sparse_")
    if tensor.ndim != 2:
        raise ValueError(f"sparse_ needs a 2-D tensor, got shape {tensor.shape}")
    rows, cols = tensor.shape
    zeros_per_column = math.ceil(sparsity * rows)
    with no_grad():
        tensor.normal_(0.0, float(std), generator=generator)
        for col in range(cols):
            chosen = randperm(rows, generator=generator, device=tensor.device)[:zeros_per_column]
            tensor[chosen, col] = 0
    return tensor


def _deprecated(method):
    """PyTorch's old name (no trailing underscore) of ``method``: the same, with a FutureWarning."""
    old, new = method.__name__[:-1], method.__name__

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new}`.", FutureWarning, stacklevel=2)
        return method(*args, **kwargs)

    deprecated_init.__name__ = deprecated_init.__qualname__ = old
    deprecated_init.__doc__ = f"Deprecated alias of :func:`{new}` (warns, as PyTorch)."
    return deprecated_init


(uniform, normal, constant, eye, dirac, xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal, orthogonal,
 sparse) = (_deprecated(m) for m in (uniform_, normal_, constant_, eye_, dirac_, xavier_uniform_, xavier_normal_,
                                      kaiming_uniform_, kaiming_normal_, orthogonal_, sparse_))
