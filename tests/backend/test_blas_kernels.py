"""OpenBLAS's AVX2 kernels on Zen 4 (lucid/_blas_kernels.py): which CPUs count as Zen 4, when lucid sets
``OPENBLAS_CORETYPE`` (imported before NumPy, the variable unset, no opt-out) and that ``import lucid`` does so
on this machine exactly when its CPU is a Zen 4."""

import os
import subprocess
import sys

import pytest

from lucid._blas_kernels import CORETYPE, _cpuinfo, is_zen4, pick_blas_kernels

_ZEN4 = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n"
         "flags\t\t: fpu sse avx2 avx512f avx512bw\n")


@pytest.mark.parametrize("text, zen4", [
    (_ZEN4, True),
    (_ZEN4 + "\nprocessor\t: 1\nvendor_id\t: GenuineIntel\n", True),  # the first processor decides
    (_ZEN4.replace(" avx512f avx512bw", ""), False),  # Zen 3: family 25 without AVX-512
    (_ZEN4.replace("25", "26"), False),  # Zen 5: full-width AVX-512
    (_ZEN4.replace("AuthenticAMD", "GenuineIntel"), False),
    ("", False),
])
def test_is_zen4(text, zen4):
    assert is_zen4(text) is zen4


@pytest.mark.parametrize("environ, modules, text, picks", [
    ({}, {}, _ZEN4, True),
    ({}, {"numpy": object()}, _ZEN4, False),  # too late: OpenBLAS chose when NumPy loaded
    ({"OPENBLAS_CORETYPE": "Zen"}, {}, _ZEN4, False),  # the user's choice stays
    ({"LUCID_PICK_BLAS_KERNELS": "0"}, {}, _ZEN4, False),
    ({}, {}, _ZEN4.replace("25", "23"), False),
])
def test_pick_blas_kernels(environ, modules, text, picks):
    before = dict(environ)
    assert pick_blas_kernels(environ, modules, lambda: text) is picks
    assert environ == ({**before, "OPENBLAS_CORETYPE": CORETYPE} if picks else before)


def test_import_lucid_first_picks_on_zen4_only():
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "LUCID_PICK_BLAS_KERNELS")}
    probe = "import os, lucid, numpy; print(os.environ.get('OPENBLAS_CORETYPE'))"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == (CORETYPE if is_zen4(_cpuinfo()) else "None")
