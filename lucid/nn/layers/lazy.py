"""Lazy layers, as PyTorch's: ``LazyLinear``, ``LazyConv1/2/3d``, ``LazyConvTranspose1/2/3d``,
``LazyBatchNorm1/2/3d``, ``LazyInstanceNorm1/2/3d``, and the ``UninitializedParameter`` /
``UninitializedBuffer`` they hold until then.

The input size (``in_features``, ``in_channels``, ``num_features``) is read from the first input: a
forward pre-hook materialises the parameters and buffers with that shape (the same objects, now
ordinary Parameters/Buffers), initialises them as the eager layer does, and the module becomes that
layer (``LazyLinear`` -> ``Linear``). Build optimizers after that first (dry) run. ``load_state_dict``
before it materialises them with the checkpoint's shapes and values instead.
"""

from __future__ import annotations

from ... import dtypes as _dt
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...ops.creation import empty, zeros
from ..parameter import Buffer, Parameter
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d

__all__ = [
    "UninitializedParameter", "UninitializedBuffer", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d",
    "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d",
    "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d",
]


class _Uninitialized:
    """A tensor with no shape yet (empty storage); ``materialize`` gives it one, in place."""

    cls_to_become: type = Tensor

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Allocate ``shape`` (uninitialised values) on ``device``/``dtype`` (default: its own) and become
        a plain ``cls_to_become`` (the same object, so references to it stay valid)."""
        fresh = empty(tuple(shape), device=self.device if device is None else device,
                      dtype=self.dtype if dtype is None else dtype)
        self._data, self._device = fresh._data, fresh._device
        self.__class__ = self.cls_to_become

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class UninitializedParameter(_Uninitialized, Parameter):
    """A Parameter whose shape a lazy layer fills in on its first forward."""

    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        Parameter.__init__(self, empty(0, device=device, dtype=dtype), requires_grad)


class UninitializedBuffer(_Uninitialized, Buffer):
    """A Buffer whose shape a lazy layer fills in on its first forward."""

    cls_to_become = Buffer

    def __init__(self, requires_grad: bool = False, device=None, dtype=None, persistent: bool = True) -> None:
        data = empty(0, device=device, dtype=dtype)
        Buffer.__init__(self, data, dtype=data.dtype, persistent=persistent)


class LazyModuleMixin:
    """Base of the lazy layers: ``initialize_parameters(*inputs)`` runs before the first forward, then the
    module turns into ``cls_to_become``."""

    cls_to_become: type | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters)
        self._load_hook = self.register_load_state_dict_pre_hook(_materialize_from_state_dict)

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer of this module is still uninitialised."""
        tensors = (*self._parameters.values(), *self._buffers.values())
        return any(isinstance(t, _Uninitialized) for t in tensors)

    def reset_parameters(self) -> None:
        """The layer's own initialisation, once the tensors have shapes (not while still being built)."""
        if "_initialize_hook" in self.__dict__ and not self.has_uninitialized_params():
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor) -> None:
        """Set the input size from ``input``, materialise every uninitialised tensor, initialise."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a Tensor, got {type(input).__name__}")
        self._infer(input)
        if not self.has_uninitialized_params():  # loaded from a state dict: keep those values
            return
        with no_grad():
            for table, shapes in (("_parameters", self._param_shapes()), ("_buffers", self._buffer_shapes())):
                for name, t in getattr(self, table).items():
                    if isinstance(t, _Uninitialized):
                        t.materialize(shapes[name])
            self.reset_parameters()


def _infer_parameters(module, args) -> None:
    module.initialize_parameters(*args)
    module._initialize_hook.remove()
    module._load_hook.remove()
    del module._initialize_hook, module._load_hook
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become


def _materialize_from_state_dict(module, state_dict, prefix, *args) -> None:
    """Give each uninitialised tensor the shape of its entry in ``state_dict`` (as PyTorch), so the load
    copies into it; the module becomes its eager layer on the first forward."""
    with no_grad():
        for table in ("_parameters", "_buffers"):
            for name, t in getattr(module, table).items():
                value = state_dict.get(prefix + name)
                if isinstance(t, _Uninitialized) and isinstance(value, Tensor):
                    t.materialize(value.shape)


def _channels(module, input: Tensor) -> int:
    """Dim 1 of a batched ``(N, C, *spatial)`` input, dim 0 of an unbatched one."""
    return input.shape[0 if input.ndim == module.dims + 1 else 1]


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is the last dimension of its first input."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(0, 0, False, device, dtype)
        self.out_features = out_features
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def _infer(self, input: Tensor) -> None:
        self.in_features = input.shape[-1]

    def _param_shapes(self) -> dict:
        return {"weight": (self.out_features, self.in_features), "bias": (self.out_features,)}

    def _buffer_shapes(self) -> dict:
        return {}


class _LazyConv(LazyModuleMixin):
    """``Conv*``/``ConvTranspose*`` whose ``in_channels`` comes from the first input."""

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, *args, bias: bool = True, device=None,
                 dtype=None, **kwargs) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, *args, bias=False, device=device, dtype=dtype, **kwargs)
        self.out_channels = out_channels
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def _infer(self, input: Tensor) -> None:
        self.in_channels = _channels(self, input)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{type(self).__name__}: in_channels ({self.in_channels}) and out_channels "
                             f"({self.out_channels}) must be divisible by groups ({self.groups})")

    def _param_shapes(self) -> dict:
        if self.transposed:
            shape = (self.in_channels, self.out_channels // self.groups)
        else:
            shape = (self.out_channels, self.in_channels // self.groups)
        return {"weight": shape + self.kernel_size, "bias": (self.out_channels,)}

    def _buffer_shapes(self) -> dict:
        return {}


class _LazyNorm(LazyModuleMixin):
    """``BatchNorm*``/``InstanceNorm*`` whose ``num_features`` comes from the first input (for an unbatched
    instance-norm input, its dim 0: PyTorch reads dim 1 there and then rejects the input)."""

    def __init__(self, eps: float = 1e-5, momentum=0.1, affine: bool = True, track_running_stats: bool = True,
                 device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(0, eps, momentum, False, False, device, dtype)
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = Buffer(zeros((), dtype=_dt.int64, device=device))

    def _infer(self, input: Tensor) -> None:
        instance = isinstance(self, (InstanceNorm1d, InstanceNorm2d, InstanceNorm3d))  # these take unbatched input
        self.num_features = _channels(self, input) if instance else input.shape[1]

    def _param_shapes(self) -> dict:
        return {"weight": (self.num_features,), "bias": (self.num_features,)}

    def _buffer_shapes(self) -> dict:
        return {"running_mean": (self.num_features,), "running_var": (self.num_features,)}


def _lazy(name: str, base: type, mixin: type, defaults: dict | None = None) -> type:
    """The lazy form of the layer ``base``."""
    doc = f"``{base.__name__}`` that reads its input size from the first input (see :mod:`lucid.nn.layers.lazy`)."
    return type(name, (mixin, base), {"cls_to_become": base, "__doc__": doc, "__module__": __name__,
                                      **(defaults or {})})


def _conv_init(transposed: bool):
    if transposed:
        def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                     dilation=1, padding_mode="zeros", device=None, dtype=None):
            _LazyConv.__init__(self, out_channels, kernel_size, stride, padding, output_padding, groups, bias=bias,
                               dilation=dilation, padding_mode=padding_mode, device=device, dtype=dtype)
    else:
        def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                     padding_mode="zeros", device=None, dtype=None):
            _LazyConv.__init__(self, out_channels, kernel_size, stride, padding, dilation, groups, bias=bias,
                               padding_mode=padding_mode, device=device, dtype=dtype)
    return __init__


LazyConv1d, LazyConv2d, LazyConv3d = (_lazy(f"Lazy{b.__name__}", b, _LazyConv, {"__init__": _conv_init(False)})
                                      for b in (Conv1d, Conv2d, Conv3d))
LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d = (
    _lazy(f"Lazy{b.__name__}", b, _LazyConv, {"__init__": _conv_init(True)})
    for b in (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d))
LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d = (_lazy(f"Lazy{b.__name__}", b, _LazyNorm)
                                                     for b in (BatchNorm1d, BatchNorm2d, BatchNorm3d))


def _instance_norm_init(self, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                        dtype=None, *, bias=True):
    _LazyNorm.__init__(self, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)


LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d = (
    _lazy(f"Lazy{b.__name__}", b, _LazyNorm, {"__init__": _instance_norm_init})
    for b in (InstanceNorm1d, InstanceNorm2d, InstanceNorm3d))
