"""PyTorch's global switches, kept so that PyTorch programs run; what each does on lucid:

- ``set_num_threads``/``set_num_interop_threads`` record a number that the getters return; they do
  not change how many threads NumPy's BLAS (or CuPy) uses, which the ``OMP_NUM_THREADS`` /
  ``OPENBLAS_NUM_THREADS`` environment variables set before Python starts. ``get_num_threads``
  without a prior set answers ``os.cpu_count()``.
- ``set_default_device``/``get_default_device`` are real: factories without ``device=`` use it.
- ``set_default_tensor_type(lucid.DoubleTensor | "torch.cuda.FloatTensor" ...)`` sets the default
  dtype (and, for a ``cuda`` type, the default device).
- ``set_float32_matmul_precision("highest" | "high" | "medium")`` is
  ``lucid.backends.cuda.matmul.allow_tf32 = (precision != "highest")``, and the getter reads it back.
- ``use_deterministic_algorithms``, ``set_deterministic_debug_mode`` record the mode: lucid's kernels
  are deterministic already (scatter-adds accumulate in a fixed order on the CPU; on CUDA CuPy's
  atomic adds may reorder float sums, which the switch does not change).
- ``set_flush_denormal`` returns False: NumPy cannot flush denormals, and PyTorch answers False
  where it cannot either.
- ``set_warn_always`` records the flag; lucid warns through :mod:`warnings`, whose filters decide.
- ``compile(model)`` returns ``model`` unchanged (also as ``@compile`` / ``@compile(mode=...)``): lucid has
  no graph compiler, and running uncompiled gives the same results, as ``torch.compile(disable=True)``.
"""

from __future__ import annotations

import os

from . import dtypes as _dt
from ._backend.device import set_default_device
from ._typeinfo import legacy_dtype
from .backends import cuda as _cuda_switches

__all__ = [
    "set_num_threads", "get_num_threads", "init_num_threads", "set_num_interop_threads", "get_num_interop_threads",
    "set_default_tensor_type", "set_float32_matmul_precision", "get_float32_matmul_precision",
    "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled", "set_deterministic_debug_mode", "get_deterministic_debug_mode",
    "set_flush_denormal", "set_warn_always", "is_warn_always_enabled", "compile",
]

_state = {"threads": None, "interop_threads": None, "deterministic": False, "warn_only": False, "warn_always": False}


def _positive(n, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name}: expected a positive int, got {n!r}")
    return n


def set_num_threads(n: int) -> None:
    """Record ``n`` as the intra-op thread count (no effect on NumPy's threads: see the module docstring)."""
    _state["threads"] = _positive(n, "set_num_threads")


def get_num_threads() -> int:
    """The count :func:`set_num_threads` recorded, else ``os.cpu_count()``."""
    return _state["threads"] or os.cpu_count() or 1


def init_num_threads() -> None:
    """Nothing to do: lucid starts no thread pools of its own."""


def set_num_interop_threads(n: int) -> None:
    """Record ``n`` as the inter-op thread count (lucid runs ops one after another)."""
    _state["interop_threads"] = _positive(n, "set_num_interop_threads")


def get_num_interop_threads() -> int:
    """The count :func:`set_num_interop_threads` recorded, else ``os.cpu_count()``."""
    return _state["interop_threads"] or os.cpu_count() or 1


def set_default_tensor_type(t) -> None:
    """Set the default dtype (and the default device, for a ``cuda`` type) from a legacy type or its name."""
    dtype = legacy_dtype(t)
    if dtype is None or dtype.kind != "f":
        raise TypeError(f"set_default_tensor_type: expected a floating legacy tensor type such as lucid.FloatTensor "
                        f"or 'torch.cuda.DoubleTensor', got {t!r}")
    _dt.set_default_dtype(dtype)
    set_default_device("cuda" if isinstance(t, str) and ".cuda." in t else None)


_PRECISIONS = ("highest", "high", "medium")


def set_float32_matmul_precision(precision: str) -> None:
    """``"highest"``: exact float32 matrix products; ``"high"``/``"medium"``: TF32 on GPUs that have it."""
    if precision not in _PRECISIONS:
        raise ValueError(f"set_float32_matmul_precision: expected one of {_PRECISIONS}, got {precision!r}")
    _cuda_switches.matmul.allow_tf32 = precision != "highest"


def get_float32_matmul_precision() -> str:
    """``"high"`` while TF32 matrix products are allowed, else ``"highest"``."""
    return "high" if _cuda_switches.matmul.allow_tf32 else "highest"


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record the determinism switch (lucid's kernels do not change with it: see the module docstring)."""
    _state["deterministic"], _state["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    """Whether :func:`use_deterministic_algorithms` turned the switch on."""
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """Whether the switch was turned on with ``warn_only=True``."""
    return _state["deterministic"] and _state["warn_only"]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode) -> None:
    """``0``/``"default"`` off, ``1``/``"warn"`` on with warnings, ``2``/``"error"`` on (as PyTorch)."""
    mode = _DEBUG_MODES.get(debug_mode, debug_mode) if isinstance(debug_mode, str) else debug_mode
    if mode not in (0, 1, 2) or isinstance(mode, bool):
        raise RuntimeError(f"set_deterministic_debug_mode: expected 0, 1, 2 or one of {sorted(_DEBUG_MODES)}, "
                           f"got {debug_mode!r}")
    use_deterministic_algorithms(mode > 0, warn_only=mode == 1)


def get_deterministic_debug_mode() -> int:
    """0 (off), 1 (warn only) or 2 (on)."""
    return 0 if not _state["deterministic"] else 1 if _state["warn_only"] else 2


def set_flush_denormal(mode: bool) -> bool:
    """False: flushing denormals is not supported on lucid's backends (PyTorch's answer where it is not)."""
    return False


def set_warn_always(b: bool) -> None:
    """Record the flag :func:`is_warn_always_enabled` returns."""
    _state["warn_always"] = bool(b)


def is_warn_always_enabled() -> bool:
    """The flag :func:`set_warn_always` recorded."""
    return _state["warn_always"]


def compile(model=None, **options):  # noqa: A001  (torch.compile)
    """``model`` itself (lucid runs every model as written); without ``model``, a decorator that returns its
    function unchanged. The options of ``torch.compile`` (``mode``, ``fullgraph``, ``backend`` ...) are accepted."""
    if model is None:
        return lambda fn: fn
    return model
