"""OpenBLAS's AVX2 kernels on AMD Zen 4, where NumPy's OpenBLAS would pick its AVX-512 ones.

NumPy's wheels carry an OpenBLAS built for every x86 core, which picks its kernels when NumPy loads. On
a Zen 4 core it takes its AVX-512 (SkylakeX) kernels, which Zen 4 runs as two 256-bit halves: measured
on one core, float32 GEMMs run 3-25% slower than with OpenBLAS's AVX2 (Haswell) kernels at large square
shapes and up to 45% slower at a convolution's or a recurrent step's shapes (float64: within 10% either
way). OpenBLAS reads the choice from ``OPENBLAS_CORETYPE``; lucid sets it to ``Haswell`` when it is
imported before NumPy on a Zen 4 CPU and the variable is unset. The setting is process-wide and child
processes inherit it, as with any BLAS setting. Import lucid first, or set ``OPENBLAS_CORETYPE=Haswell``
yourself, to get it; ``LUCID_PICK_BLAS_KERNELS=0`` leaves the choice to OpenBLAS.
"""

from __future__ import annotations

import os
import sys

CORETYPE = "Haswell"


def is_zen4(cpuinfo: str) -> bool:
    """Whether ``/proc/cpuinfo``'s text (its first processor) describes an AMD Zen 4 core: family 25
    with AVX-512 (Zen 3 is family 25 without it)."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return (fields.get("vendor_id") == "AuthenticAMD" and fields.get("cpu family") == "25"
            and "avx512f" in fields.get("flags", "").split())


def _cpuinfo() -> str:
    """The first processor's block of ``/proc/cpuinfo`` (not the whole file: one block per core)."""
    lines = []
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break
                lines.append(line)
    except OSError:
        pass
    return "".join(lines)


def pick_blas_kernels(environ=os.environ, modules=sys.modules, cpuinfo=_cpuinfo) -> bool:
    """Set ``OPENBLAS_CORETYPE`` in ``environ`` (see the module docstring); True when it did. Nothing
    changes once NumPy is loaded, when the variable is set already, with ``LUCID_PICK_BLAS_KERNELS=0``
    or off Zen 4."""
    if ("numpy" in modules or "OPENBLAS_CORETYPE" in environ
            or environ.get("LUCID_PICK_BLAS_KERNELS", "1") == "0" or not is_zen4(cpuinfo())):
        return False
    environ["OPENBLAS_CORETYPE"] = CORETYPE
    return True
