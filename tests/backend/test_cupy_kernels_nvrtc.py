"""The CUDA kernels of lucid._backend.cupy_kernels compile with NVRTC, CUDA's runtime compiler, on a machine
without a GPU (``nox -s cuda-compile`` installs CuPy with NVRTC and CUDA's headers; other sessions skip).

This is what test_cupy_kernel_sources cannot check on the host: the row kernels as CUDA source (warp
shuffles, shared memory, ``__syncthreads``) and the elementwise and reduction bodies in device code against
CuPy's own headers, with float16 as CuPy's ``float16`` class. The elementwise frame below stands in for
CuPy's code generation (which needs a GPU to run): a ``typedef`` for each type placeholder, inputs as
``const`` values and outputs as references of element ``i``, scalars in their own C type, the kernel's
preamble before it. On a GPU, test_cupy_kernels runs the kernels themselves."""

from __future__ import annotations

import inspect
import re

import pytest

nvrtc = pytest.importorskip("cupy_backends.cuda.libs.nvrtc", reason="needs CuPy (nox -s cuda-compile)")
pathfinder = pytest.importorskip("cuda.pathfinder", reason="needs CuPy's cuda-pathfinder")

from cupy._core import core  # noqa: E402  (CuPy's header folders, as its compiler passes them)

from lucid._backend import cupy_kernels  # noqa: E402

ARCH = "--gpu-architecture=compute_75"  # the oldest GPUs CUDA 13 builds for
C_TYPES = {"float16": "float16", "float32": "float", "float64": "double", "int32": "int", "int64": "long long"}
ACC = {"float16": "float", "float32": "float", "float64": "double"}  # as cupy_kernels._ACC


def _compile(source: str, name: str) -> None:
    """Compile ``source`` with NVRTC as CuPy does (its headers, CUDA's ``cuda_fp16.h``); fail with the log."""
    options = [ARCH, "--std=c++17", f"-I{core._get_header_dir_path()}",
               f"-I{pathfinder.find_nvidia_header_directory('cudart')}"]
    program = nvrtc.createProgram(source, f"{name}.cu", [], [])
    try:
        nvrtc.compileProgram(program, options)
    except nvrtc.NVRTCError as e:
        pytest.fail(f"NVRTC could not compile {name}: {e}\n{nvrtc.getProgramLog(program)}\n--- source ---\n{source}")
    finally:
        nvrtc.destroyProgram(program)


def _params(spec: str) -> list[tuple[str, str]]:
    return [tuple(p.split()) for p in spec.split(",")]


def _elementwise_source(name: str, ins, outs, body: str, dtype: str) -> str:
    """An ``ElementwiseKernel``'s body in a kernel of CuPy's shape, every type placeholder bound to ``dtype``."""
    placeholders = sorted({kind for kind, _ in ins + outs if kind not in C_TYPES})
    typedefs = "".join(f"typedef {C_TYPES[dtype]} {kind};\n" for kind in placeholders)
    c_type = {kind: C_TYPES.get(kind, kind) for kind, _ in ins + outs}
    params = [f"const {c_type[k]}* _raw_{n}" for k, n in ins] + [f"{c_type[k]}* _raw_{n}" for k, n in outs]
    elements = [f"const {c_type[k]} {n} = _raw_{n}[i];" for k, n in ins]
    elements += [f"{c_type[k]} &{n} = _raw_{n}[i];" for k, n in outs]
    return (f"#include <cupy/carray.cuh>\n#include <cupy/float16.cuh>\n{typedefs}{cupy_kernels._preamble(ACC[dtype])}\n"
            f"extern \"C\" __global__ void lucid_{name}({', '.join(params)}, ptrdiff_t n) {{\n"
            f"  for (ptrdiff_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {{\n"
            f"    {' '.join(elements)}\n    {body}\n  }}\n}}\n")


@pytest.mark.parametrize("dtype", sorted(ACC))
@pytest.mark.parametrize("name", sorted(cupy_kernels._ELEMENTWISE))
def test_elementwise_kernel_compiles(name, dtype):
    in_params, out_params, body = cupy_kernels._ELEMENTWISE[name]
    ins = _params(in_params.format(S=cupy_kernels._SCALAR[ACC[dtype]]))
    _compile(_elementwise_source(name, ins, _params(out_params), body, dtype), name)


@pytest.mark.parametrize("dtype", sorted(ACC))
@pytest.mark.parametrize("name", sorted(cupy_kernels._REDUCTIONS))
def test_reduction_map_compiles(name, dtype):
    """A reduction's map expression, assigned to its sum's type (the ``a + b`` around it is CuPy's own)."""
    in_params, map_expr = cupy_kernels._REDUCTIONS[name]
    out = [(cupy_kernels._SCALAR[ACC[dtype]], "y")]
    _compile(_elementwise_source(name, _params(in_params), out, f"y = {map_expr};", dtype), name)


@pytest.mark.parametrize("acc", ["float", "double"])
def test_row_kernels_compile(acc):
    """The ``RawKernel`` source exactly as the backend builds it, with each row kernel the backend launches in it."""
    source = cupy_kernels._preamble(acc) + cupy_kernels._PICK_MAX + cupy_kernels._BLOCK_REDUCE + \
        cupy_kernels._ROW_KERNELS
    launched = set(re.findall(r'_launch\("(\w+)"', inspect.getsource(cupy_kernels)))
    assert launched and {f"lucid_{k}" for k in launched} <= set(re.findall(r"void (lucid_\w+)\(", source))
    _compile(source, f"row_kernels_{acc}")
