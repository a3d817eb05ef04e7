"""lucid: a deep-learning tensor framework with PyTorch's API, on NumPy (CPU) and CuPy (CUDA)."""

from __future__ import annotations

import math
import sys

from . import _blas_kernels

_blas_kernels.pick_blas_kernels()  # before anything loads NumPy

from . import (  # noqa: E402  (need Tensor)
    accelerator,
    amp,
    autograd,
    backends,
    cuda,
    data,
    datasets,
    distributed,
    distributions,
    dtypes,
    fft,
    func,
    futures,
    hub,
    library,
    linalg,
    masked,
    multiprocessing,
    nested,
    nn,
    optim,
    profiler,
    quasirandom,
    random,
    return_types,
    signal,
    sparse,
    special,
    utils,
    version,
)
from ._backend import (
    Backend,
    BackendUnavailableError,
    Device,
    DeviceMismatchError,
    UnknownDeviceError,
    device,
    register_backend,
)
from ._backend.device import get_default_device, set_default_device
from ._control_flow import _assert, cond, while_loop
from ._foreach import *  # noqa: F401,F403  (torch._foreach_add_, _foreach_lerp_, ...: list operations)
from ._functional_aliases import *  # noqa: F401,F403  (torch.relu, torch.conv2d, ...)
from ._interop import as_tensor, asarray, from_dlpack, from_numpy, frombuffer, to_dlpack
from ._native import *  # noqa: F401,F403  (torch.native_layer_norm, torch.lstm, torch.segment_reduce, ...)
from ._printing import get_printoptions, set_printoptions
from ._settings import *  # noqa: F401,F403  (PyTorch's global switches)
from ._tensor import Size, Tensor, register_methods, tensor
from ._typeinfo import *  # noqa: F401,F403  (finfo, iinfo, promotion, legacy tensor types, memory formats)
from .amp import (  # noqa: E402
    GradScaler,
    autocast,
    clear_autocast_cache,
    get_autocast_dtype,
    is_autocast_cache_enabled,
    is_autocast_enabled,
    set_autocast_cache_enabled,
    set_autocast_dtype,
    set_autocast_enabled,
)
from .amp.autocast import (  # PyTorch's deprecated per-device switches
    get_autocast_cpu_dtype,
    get_autocast_gpu_dtype,
    is_autocast_cpu_enabled,
    set_autocast_cpu_dtype,
    set_autocast_cpu_enabled,
    set_autocast_gpu_dtype,
)
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .autograd import functional as _autograd_functional  # noqa: F401  (built from ops: imported here)
from .autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled, set_anomaly_enabled
from .autograd.grad_mode import inference_mode, is_inference, is_inference_mode_enabled
from .cuda import AcceleratorError, OutOfMemoryError  # torch.OutOfMemoryError is torch.cuda's
from .dtypes import (
    DType,
    bfloat16,
    bool_,
    complex64,
    complex128,
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
    uint16,
    uint32,
    uint64,
)
from .func import vmap
from .ops import *  # noqa: F401,F403
from .ops.arithmetic import unbroadcast
from .random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .serialization import load, save  # noqa: E402
from .sparse import (  # noqa: E402
    sparse_compressed_tensor,
    sparse_coo,
    sparse_coo_tensor,
    sparse_csc,
    sparse_csc_tensor,
    sparse_csr,
    sparse_csr_tensor,
    spmm,
)
from .storage import TypedStorage, UntypedStorage, is_storage
from .streams import Event, Stream, get_device_module  # torch.Stream, torch.Event (device-generic)

dtype = DType  # lucid.dtype in type hints and isinstance checks, as torch.dtype
pi, e, inf, nan, newaxis = math.pi, math.e, math.inf, math.nan, None
bool = bool_  # noqa: A001  (lucid.bool, as torch.bool)
half, float, double = float16, float32, float64  # noqa: A001
cfloat, cdouble = complex64, complex128
short, int, long = int16, int32, int64  # noqa: A001

__version__ = version.__version__


def _array_namespace(self, api_version=None):
    """The namespace of functions on tensors, as the array API's ``x.__array_namespace__()``: lucid."""
    return sys.modules[__name__]


_array_namespace.__name__ = _array_namespace.__qualname__ = "__array_namespace__"
register_methods({"__array_namespace__": _array_namespace})

from .ops._out import add_out_argument as _add_out_argument  # noqa: E402

_add_out_argument(globals())  # torch's out= on the functions whose torch counterpart takes it
