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

from .._backend.registry import _BACKENDS, Backend

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
        backend = _BACKENDS.get("cuda")
        if isinstance(backend, Backend):  # a backend created later reads the flag itself
            backend.set_matmul_tf32(self._allow_tf32)

    def __repr__(self) -> str:
        return f"lucid.backends.cuda.matmul(allow_tf32={self._allow_tf32})"


matmul = _Matmul()


def is_built() -> bool:
    """Whether CuPy is installed (lucid's CUDA support; a GPU may still be missing, see
    :func:`lucid.cuda.is_available`)."""
    return importlib.util.find_spec("cupy") is not None
