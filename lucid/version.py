"""``lucid.version``: what ``torch.version`` tells a program about the build it runs on.

``__version__`` is lucid's version; ``cuda`` is the CUDA runtime version of CuPy (``"12.4"``), or None when
CuPy or a CUDA runtime is missing, so ``if torch.version.cuda:`` picks the CPU path as on a CPU build of PyTorch
(PyTorch reports the version it was compiled against; lucid has no compiled part, so it reports the runtime's);
``hip`` is None (no ROCm backend); ``debug`` is False; ``git_version`` is the commit of the checkout lucid is
imported from, or ``"Unknown"`` for an installed package. ``cuda`` and ``git_version`` are found on first use.
"""

from __future__ import annotations

import functools
import os
import subprocess

__all__ = ["__version__", "cuda", "debug", "git_version", "hip"]  # noqa: F822  (cuda, git_version: __getattr__)

__version__ = "0.1.0"
hip = None
debug = False


@functools.cache
def _cuda_runtime():
    """CuPy's CUDA runtime version as ``"major.minor"``; None without CuPy or a usable runtime."""
    try:
        import cupy

        number = cupy.cuda.runtime.runtimeGetVersion()  # 12040 for CUDA 12.4
    except Exception:  # no CuPy, no libcudart, no driver: all mean "no CUDA" here
        return None
    return f"{number // 1000}.{number % 1000 // 10}"


@functools.cache
def _git_commit():
    """The commit of the git checkout this source file lies in, or ``"Unknown"``."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(os.path.join(root, ".git")):  # installed: not the commit of a project around it
        return "Unknown"
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10,
                              check=True)
    except (OSError, subprocess.SubprocessError):
        return "Unknown"
    return done.stdout.strip() or "Unknown"


_LAZY = {"cuda": _cuda_runtime, "git_version": _git_commit}


def __getattr__(name):
    if name in _LAZY:
        return _LAZY[name]()
    raise AttributeError(f"module 'lucid.version' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
