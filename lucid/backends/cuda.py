"""``lucid.backends.cuda``: math settings of the CUDA (CuPy) backend.

``lucid.backends.cuda.matmul.allow_tf32`` (default False, as in PyTorch; True when the
environment sets ``CUPY_TF32=1``, CuPy's own switch) lets cuBLAS round the inputs of float32
matrix products to TF32 (10-bit mantissa) on GPUs of compute capability 8.0 and newer
(A100, H100, ...), several times faster at about 1e-3 relative error. It covers every GEMM
CuPy runs in float32: ``matmul``/``mm``/``bmm``/``linear``/``einsum``, and the convolutions,
which lucid computes as im2col + GEMM. Setting it takes effect at once.
"""

from __future__ import annotations

import importlib.util
import os

from .._backend import registry

__all__ = ["matmul", "is_built"]


def _env_tf32() -> bool:
    """CuPy's reading of ``CUPY_TF32``: an integer above 0 turns TF32 on."""
    try:
        return int(os.environ.get("CUPY_TF32", "0")) > 0
    except ValueError:
        return False


class _Matmul:
    """``lucid.backends.cuda.matmul``: set ``allow_tf32`` to True or False."""

    def __init__(self):
        self._allow_tf32 = _env_tf32()

    @property
    def allow_tf32(self) -> bool:
        return self._allow_tf32

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        self._allow_tf32 = bool(value)
        backend = registry.loaded_backend("cuda")
        if backend is not None:  # a backend created later gets it from _apply_flags
            backend.set_matmul_tf32(self._allow_tf32)

    def __repr__(self) -> str:
        return f"lucid.backends.cuda.matmul(allow_tf32={self._allow_tf32})"


matmul = _Matmul()


def _apply_flags(backend) -> None:
    """Give a CUDA backend, when it is created (on first use), the current flags."""
    if backend.device_type == "cuda":
        backend.set_matmul_tf32(matmul.allow_tf32)


registry.on_backend_created(_apply_flags)


def is_built() -> bool:
    """Whether CuPy is installed (lucid's CUDA support; a GPU may still be missing, see
    :func:`lucid.cuda.is_available`)."""
    return importlib.util.find_spec("cupy") is not None
