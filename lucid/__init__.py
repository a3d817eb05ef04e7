"""lucid: a deep-learning tensor framework with PyTorch's API, on NumPy (CPU) and CuPy (CUDA)."""

from __future__ import annotations

import sys

from . import amp, autograd, backends, cuda, data, datasets, dtypes, func, linalg, nn, optim, random, utils  # noqa: E402  (need Tensor)
from ._backend import (
    Backend,
    BackendUnavailableError,
    Device,
    DeviceMismatchError,
    UnknownDeviceError,
    device,
    register_backend,
)
from ._tensor import Tensor, register_methods, tensor
from .amp import autocast  # noqa: E402
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .autograd import functional as _autograd_functional  # noqa: F401  (built from ops: imported here)
from .autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled, set_anomaly_enabled
from .autograd.grad_mode import inference_mode, is_inference, is_inference_mode_enabled
from .dtypes import (
                       DType,
                       bool_,
                       float16,
                       float32,
                       float64,
                       get_default_dtype,
                       int8,
                       int16,
                       int32,
                       int64,
                       set_default_dtype,
                       uint8,
)
from .func import vmap
from .ops import *  # noqa: F401,F403
from .ops.arithmetic import unbroadcast
from .random import manual_seed
from .serialization import load, save  # noqa: E402

bool = bool_  # noqa: A001  (lucid.bool, as torch.bool)
half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001

__version__ = "0.1.0"


def _array_namespace(self, api_version=None):
    """The namespace of functions on tensors, as the array API's ``x.__array_namespace__()``: lucid."""
    return sys.modules[__name__]


_array_namespace.__name__ = _array_namespace.__qualname__ = "__array_namespace__"
register_methods({"__array_namespace__": _array_namespace})
