"""Activation modules: each one stores its settings and calls the function of the same name in
:mod:`lucid.nn.functional.activation` (PyTorch's class names, arguments and defaults); all but
``Softmax2d`` and ``PReLU`` build on ``FunctionalLayer``."""

from __future__ import annotations

from ..._tensor import Tensor
from .. import init as _init
from ..functional import activation as F
from ..module import Module
from ..parameter import Parameter
from .functional_layer import FunctionalLayer

__all__ = [
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Swish", "Mish", "Softplus", "Softsign",
    "Hardtanh", "Hardsigmoid", "Hardswish", "Sigmoid", "Tanh", "LogSigmoid", "Threshold", "Hardshrink",
    "Softshrink", "Tanhshrink", "RReLU", "PReLU", "GLU", "Softmax", "LogSoftmax", "Softmin", "Softmax2d",
]


class ReLU(FunctionalLayer):
    """``max(x, 0)`` (:func:`lucid.nn.functional.relu`)."""

    function = staticmethod(F.relu)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class ReLU6(FunctionalLayer):
    """``min(max(x, 0), 6)``."""

    function = staticmethod(F.relu6)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class LeakyReLU(FunctionalLayer):
    """``x`` where positive, else ``negative_slope * x``."""

    function = staticmethod(F.leaky_relu)

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__(negative_slope=negative_slope, inplace=inplace)


class ELU(FunctionalLayer):
    """``x`` where positive, else ``alpha * (exp(x) - 1)``."""

    function = staticmethod(F.elu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(alpha=alpha, inplace=inplace)


class SELU(FunctionalLayer):
    """Self-normalising ELU."""

    function = staticmethod(F.selu)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class CELU(FunctionalLayer):
    """Continuously differentiable ELU: ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""

    function = staticmethod(F.celu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(alpha=alpha, inplace=inplace)


class GELU(FunctionalLayer):
    """``x * Phi(x)``, exact or with ``approximate="tanh"``."""

    function = staticmethod(F.gelu)

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        super().__init__(approximate=approximate)


class SiLU(FunctionalLayer):
    """``x * sigmoid(x)``."""

    function = staticmethod(F.silu)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


Swish = SiLU


class Mish(FunctionalLayer):
    """``x * tanh(softplus(x))``."""

    function = staticmethod(F.mish)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class Softplus(FunctionalLayer):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``."""

    function = staticmethod(F.softplus)

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__(beta=beta, threshold=threshold)


class Softsign(FunctionalLayer):
    """``x / (1 + |x|)``."""

    function = staticmethod(F.softsign)


class Hardtanh(FunctionalLayer):
    """``x`` clipped to ``[min_val, max_val]`` (``min_value``/``max_value`` are PyTorch's old names)."""

    function = staticmethod(F.hardtanh)

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None):
        min_val = min_val if min_value is None else min_value
        max_val = max_val if max_value is None else max_value
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
        super().__init__(min_val=min_val, max_val=max_val, inplace=inplace)


class Hardsigmoid(FunctionalLayer):
    """``relu6(x + 3) / 6``. The repr omits ``inplace``, as PyTorch's."""

    function = staticmethod(F.hardsigmoid)
    shown = ()

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class Hardswish(FunctionalLayer):
    """``x * relu6(x + 3) / 6``. The repr omits ``inplace``, as PyTorch's."""

    function = staticmethod(F.hardswish)
    shown = ()

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class Sigmoid(FunctionalLayer):
    """``1 / (1 + exp(-x))``."""

    function = staticmethod(F.sigmoid)


class Tanh(FunctionalLayer):
    """Hyperbolic tangent."""

    function = staticmethod(F.tanh)


class LogSigmoid(FunctionalLayer):
    """``log(sigmoid(x))``, numerically stable."""

    function = staticmethod(F.logsigmoid)


class Threshold(FunctionalLayer):
    """``x`` where ``x > threshold``, else ``value``."""

    function = staticmethod(F.threshold)

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__(threshold=threshold, value=value, inplace=inplace)


class Hardshrink(FunctionalLayer):
    """``x`` where ``|x| > lambd``, else 0."""

    function = staticmethod(F.hardshrink)

    def __init__(self, lambd: float = 0.5):
        super().__init__(lambd=lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)  # PyTorch's repr: Hardshrink(0.5)


class Softshrink(FunctionalLayer):
    """Soft thresholding by ``lambd``."""

    function = staticmethod(F.softshrink)

    def __init__(self, lambd: float = 0.5):
        super().__init__(lambd=lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)  # PyTorch's repr: Softshrink(0.5)


class Tanhshrink(FunctionalLayer):
    """``x - tanh(x)``."""

    function = staticmethod(F.tanhshrink)


class RReLU(FunctionalLayer):
    """Randomized leaky ReLU: random negative slopes in ``[lower, upper]`` while training, their
    mean in evaluation."""

    function = staticmethod(F.rrelu)
    takes_training = True

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__(lower=lower, upper=upper, inplace=inplace)


class GLU(FunctionalLayer):
    """Gated linear unit along ``dim``."""

    function = staticmethod(F.glu)

    def __init__(self, dim: int = -1):
        super().__init__(dim=dim)


class Softmax(FunctionalLayer):
    """Softmax along ``dim`` (``None``: the last dimension)."""

    function = staticmethod(F.softmax)

    def __init__(self, dim: int | None = None):
        super().__init__(dim=dim)


class LogSoftmax(FunctionalLayer):
    """Log-softmax along ``dim`` (``None``: the last dimension)."""

    function = staticmethod(F.log_softmax)

    def __init__(self, dim: int | None = None):
        super().__init__(dim=dim)


class Softmin(FunctionalLayer):
    """``softmax(-x)`` along ``dim`` (``None``: the last dimension)."""

    function = staticmethod(F.softmin)

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
