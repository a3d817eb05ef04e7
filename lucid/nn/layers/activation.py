"""Activation modules: each one stores its settings and calls the function of the same name in
:mod:`lucid.nn.functional.activation` (PyTorch's class names, arguments and defaults)."""

from __future__ import annotations

from ..._tensor import Tensor
from .. import init as _init
from ..functional import activation as F
from ..module import Module
from ..parameter import Parameter

__all__ = [
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Swish", "Mish", "Softplus", "Softsign",
    "Hardtanh", "Hardsigmoid", "Hardswish", "Sigmoid", "Tanh", "LogSigmoid", "Threshold", "Hardshrink",
    "Softshrink", "Tanhshrink", "RReLU", "PReLU", "GLU", "Softmax", "LogSoftmax", "Softmin", "Softmax2d",
]


class Functional(Module):
    """Base of the modules that only call a function: ``function(*inputs, **settings)``.

    Subclasses set ``function`` and pass their settings (keyword arguments) to ``__init__``; the
    settings become attributes and show in the repr (``inplace`` only when true, as PyTorch).
    ``tensors`` (a dict) are settings registered as buffers (a loss's class weights), so they
    move with ``module.to(...)`` and are saved in ``state_dict``.
    """

    function = None

    def __init__(self, tensors: dict | None = None, **settings) -> None:
        super().__init__()
        for name, value in (tensors or {}).items():
            self.register_buffer(name, value)
        for name, value in settings.items():
            setattr(self, name, value)
        self._shown = tuple(settings)
        self._settings = (*(tensors or ()), *settings)

    def forward(self, *inputs):
        return type(self).function(*inputs, **{k: getattr(self, k) for k in self._settings})

    def extra_repr(self) -> str:
        shown = [(k, getattr(self, k)) for k in self._shown]
        return ", ".join(f"{k}={v!r}" for k, v in shown if not (k == "inplace" and not v))


def _static(fn):
    return staticmethod(fn)


class ReLU(Functional):
    """``max(x, 0)`` (:func:`lucid.nn.functional.relu`)."""

    function = _static(F.relu)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class ReLU6(Functional):
    """``min(max(x, 0), 6)``."""

    function = _static(F.relu6)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class LeakyReLU(Functional):
    """``x`` where positive, else ``negative_slope * x``."""

    function = _static(F.leaky_relu)

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__(negative_slope=negative_slope, inplace=inplace)


class ELU(Functional):
    """``x`` where positive, else ``alpha * (exp(x) - 1)``."""

    function = _static(F.elu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(alpha=alpha, inplace=inplace)


class SELU(Functional):
    """Self-normalising ELU."""

    function = _static(F.selu)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class CELU(Functional):
    """Continuously differentiable ELU: ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""

    function = _static(F.celu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(alpha=alpha, inplace=inplace)


class GELU(Functional):
    """``x * Phi(x)``, exact or with ``approximate="tanh"``."""

    function = _static(F.gelu)

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        super().__init__(approximate=approximate)


class SiLU(Functional):
    """``x * sigmoid(x)``."""

    function = _static(F.silu)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


Swish = SiLU


class Mish(Functional):
    """``x * tanh(softplus(x))``."""

    function = _static(F.mish)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class Softplus(Functional):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``."""

    function = _static(F.softplus)

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__(beta=beta, threshold=threshold)


class Softsign(Functional):
    """``x / (1 + |x|)``."""

    function = _static(F.softsign)


class Hardtanh(Functional):
    """``x`` clipped to ``[min_val, max_val]`` (``min_value``/``max_value`` are PyTorch's old names)."""

    function = _static(F.hardtanh)

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None):
        min_val = min_val if min_value is None else min_value
        max_val = max_val if max_value is None else max_value
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
        super().__init__(min_val=min_val, max_val=max_val, inplace=inplace)


class Hardsigmoid(Functional):
    """``relu6(x + 3) / 6``."""

    function = _static(F.hardsigmoid)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class Hardswish(Functional):
    """``x * relu6(x + 3) / 6``."""

    function = _static(F.hardswish)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class Sigmoid(Functional):
    """``1 / (1 + exp(-x))``."""

    function = _static(F.sigmoid)


class Tanh(Functional):
    """Hyperbolic tangent."""

    function = _static(F.tanh)


class LogSigmoid(Functional):
    """``log(sigmoid(x))``, numerically stable."""

    function = _static(F.logsigmoid)


class Threshold(Functional):
    """``x`` where ``x > threshold``, else ``value``."""

    function = _static(F.threshold)

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__(threshold=threshold, value=value, inplace=inplace)


class Hardshrink(Functional):
    """``x`` where ``|x| > lambd``, else 0."""

    function = _static(F.hardshrink)

    def __init__(self, lambd: float = 0.5):
        super().__init__(lambd=lambd)


class Softshrink(Functional):
    """Soft thresholding by ``lambd``."""

    function = _static(F.softshrink)

    def __init__(self, lambd: float = 0.5):
        super().__init__(lambd=lambd)


class Tanhshrink(Functional):
    """``x - tanh(x)``."""

    function = _static(F.tanhshrink)


class RReLU(Functional):
    """Randomized leaky ReLU: random negative slopes in ``[lower, upper]`` while training, their
    mean in evaluation."""

    function = _static(F.rrelu)

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__(lower=lower, upper=upper, inplace=inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)


class GLU(Functional):
    """Gated linear unit along ``dim``."""

    function = _static(F.glu)

    def __init__(self, dim: int = -1):
        super().__init__(dim=dim)


class Softmax(Functional):
    """Softmax along ``dim`` (``None``: the last dimension)."""

    function = _static(F.softmax)

    def __init__(self, dim: int | None = None):
        super().__init__(dim=dim)


class LogSoftmax(Functional):
    """Log-softmax along ``dim`` (``None``: the last dimension)."""

    function = _static(F.log_softmax)

    def __init__(self, dim: int | None = None):
        super().__init__(dim=dim)


class Softmin(Functional):
    """``softmax(-x)`` along ``dim`` (``None``: the last dimension)."""

    function = _static(F.softmin)

    def __init__(self, dim: int | None = None):
        super().__init__(dim=dim)


class Softmax2d(Module):
    """Softmax over the channels of every spatial position: ``(N, C, H, W)`` or ``(C, H, W)``."""

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected a 3-D or 4-D input, got shape {input.shape}")
        return F.softmax(input, -3)


class PReLU(Module):
    """``x`` where positive, else ``weight * x`` with a learned ``weight``: one shared slope
    (``num_parameters=1``) or one per channel, initialised to ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        from ...ops.creation import empty

        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
