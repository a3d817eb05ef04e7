"""The CUDA kernels of lucid._backend.cupy_kernels run on the CPU: their C sources compiled as host C++ (g++)
behind a stand-in for the few CuPy calls the backend makes (``ElementwiseKernel``, ``ReductionKernel``,
``RawKernel`` and NumPy's array functions), then ``CupyKernels``' methods compared with the generic code.

What this checks without a GPU: the kernels' arithmetic, their parameter lists and argument order, and the
Python around them (fallbacks, casts, outputs). What it cannot: CUDA itself (the warp-shuffle reduction of
the row kernels is replaced by one thread per row, CuPy's own code generation, float16 in kernels);
test_cupy_kernels does that on a GPU. Skipped without a C++ compiler."""

from __future__ import annotations

import ctypes
import hashlib
import re
import shutil
import subprocess
import types

import numpy as np
import pytest

from lucid._backend import cupy_kernels
from lucid._backend.fused import GenericKernels
from lucid._backend.numpy_backend import NumpyBackend

COMPILER = shutil.which("g++") or shutil.which("c++")
pytestmark = pytest.mark.skipif(COMPILER is None, reason="needs a C++ compiler")

HOST = r"""
#include <cmath>
#include <cstring>
#define __device__
#define __global__
struct Index { unsigned x; };
static Index blockIdx = {0}, threadIdx = {0}, blockDim = {1};
extern "C" void set_block(unsigned b) { blockIdx.x = b; }
inline float __int_as_float(unsigned v) { float f; std::memcpy(&f, &v, 4); return f; }
inline double __longlong_as_double(unsigned long long v) { double d; std::memcpy(&d, &v, 8); return d; }
"""
C_TYPES = {"float32": "float", "float64": "double", "int32": "int", "int64": "long long"}


def _compile(source: str, tmp) -> ctypes.CDLL:
    path = tmp / f"k{hashlib.sha1(source.encode()).hexdigest()[:16]}"
    if not path.with_suffix(".so").exists():
        path.with_suffix(".cpp").write_text(source)
        subprocess.run([COMPILER, "-O1", "-shared", "-fPIC", "-o", str(path.with_suffix(".so")),
                        str(path.with_suffix(".cpp"))], check=True, capture_output=True)
    return ctypes.CDLL(str(path.with_suffix(".so")))


def _params(spec: str) -> list[tuple[str, str]]:
    return [tuple(p.split()) for p in spec.split(",")]


class _Elementwise:
    """``cupy.ElementwiseKernel`` on the host: every argument broadcast to the output's shape and passed as
    a contiguous array, the body run for ``i`` over it in C order (array and scalar arguments alike)."""

    def __init__(self, tmp, in_params, out_params, body, name, preamble=""):
        self.tmp, self.ins, self.outs, self.body, self.preamble = tmp, _params(in_params), _params(out_params), body, \
            preamble

    def __call__(self, *args):
        bound = {}
        for (kind, _), a in zip(self.ins + self.outs, args):
            if kind not in C_TYPES and isinstance(a, np.ndarray):
                bound.setdefault(kind, a.dtype)
        dtype = {kind: np.dtype(kind) if kind in C_TYPES else bound[kind] for kind, _ in self.ins + self.outs}
        shape = np.broadcast_shapes(*(np.shape(a) for a in args))
        arrays = [np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=dtype[k]), shape))
                  for (k, _), a in zip(self.ins, args)]
        outs = list(args[len(self.ins):]) or [np.empty(shape, dtype=dtype[k]) for k, _ in self.outs]
        assert all(o.shape == shape and o.flags.c_contiguous for o in outs)
        typedefs = "".join(f"typedef {C_TYPES[d.name]} {k};\n" for k, d in dtype.items() if k not in C_TYPES)
        c = {k: C_TYPES[d.name] for k, d in dtype.items()}
        params = [f"const {c[k]}* {n}_" for k, n in self.ins] + [f"{c[k]}* {n}_" for k, n in self.outs]
        refs = [f"const {c[k]}& {n} = {n}_[i];" for k, n in self.ins]
        refs += [f"{c[k]}& {n} = {n}_[i];" for k, n in self.outs]
        source = (f"{HOST}{typedefs}{self.preamble}\nextern \"C\" void run(long long n, {', '.join(params)}) {{\n"
                  f"for (long long i = 0; i < n; ++i) {{ {' '.join(refs)} {self.body} }}\n}}\n")
        _compile(source, self.tmp).run(ctypes.c_longlong(int(np.prod(shape))),
                                       *(a.ctypes.data_as(ctypes.c_void_p) for a in arrays + outs))
        return outs[0] if len(outs) == 1 else tuple(outs)


class _Reduction:
    """``cupy.ReductionKernel`` on the host: the map expression by :class:`_Elementwise`, summed by NumPy in
    the reduction type (the only reduction the kernels use is ``a + b`` with ``y = a``)."""

    def __init__(self, tmp, in_params, out_params, map_expr, reduce_expr, post_map_expr, identity, name,
                 reduce_type=None, preamble=""):
        assert (reduce_expr, post_map_expr, identity) == ("a + b", "y = a", "0")
        self.out_dtype = np.dtype(_params(out_params)[0][0])
        self.map = _Elementwise(tmp, in_params, f"{self.out_dtype.name} y", f"y = {map_expr};", name, preamble)

    def __call__(self, *args, axis, keepdims):
        return np.sum(self.map(*args), axis=axis, keepdims=keepdims, dtype=self.out_dtype)


class _Raw:
    """``cupy.RawKernel`` on the host with one thread per block: ``block_reduce`` of a lone thread is its value."""

    def __init__(self, tmp, code, name):
        host = code.replace(cupy_kernels._BLOCK_REDUCE, "A block_reduce(A v, bool) { return v; }\n")
        assert host != code
        self.lib, self.name = _compile(HOST + host, tmp), name

    def __call__(self, grid, block, args):
        kernel = getattr(self.lib, self.name)
        converted = [a.ctypes.data_as(ctypes.c_void_p) if isinstance(a, np.ndarray)
                     else (ctypes.c_longlong if a.dtype == np.int64 else ctypes.c_int)(int(a)) for a in args]
        for b in range(grid[0]):
            self.lib.set_block(ctypes.c_uint(b))
            kernel(*converted)


def _fake_cupy(tmp):
    """NumPy, plus host stand-ins for the three CuPy kernel classes (a module: hashable, as the kernel caches need)."""
    fake = types.ModuleType("host_cupy")
    for name in ("ascontiguousarray", "empty_like", "empty", "zeros", "ones", "asarray", "broadcast_to", "int32",
                 "int64", "float32", "float64", "zeros_like"):
        setattr(fake, name, getattr(np, name))
    fake.ElementwiseKernel = lambda *a, **k: _Elementwise(tmp, *a, **k)
    fake.ReductionKernel = lambda *a, **k: _Reduction(tmp, *a, **k)
    fake.RawKernel = lambda code, name: _Raw(tmp, code, name)
    return fake


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    """A NumPy backend whose fused extras are CupyKernels' (on the host stand-ins)."""
    class HostKernels(cupy_kernels.CupyKernels, NumpyBackend):
        cupy = _fake_cupy(tmp_path_factory.mktemp("kernels"))

    yield HostKernels()
    for fn in (cupy_kernels._elementwise, cupy_kernels._reduction, cupy_kernels._row_kernel):
        fn.cache_clear()  # the stand-ins are this module's only


GENERIC = NumpyBackend()
TOLERANCE = {"float32": (3e-5, 3e-6), "float64": (1e-12, 1e-13)}


def same(ours, theirs, dtype, factor=1.0):
    ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
    rtol, atol = TOLERANCE[dtype]
    for a, b in zip(ours, theirs, strict=True):
        if b is None:
            assert a is None
            continue
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol * factor, atol=atol * factor)


def both(kernels, name, *args, **kwargs):
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    return getattr(kernels, name)(*args, **kwargs), getattr(GenericKernels, name)(GENERIC, *copies, **kwargs)


def data(rng, dtype, *shapes, scale=1.0):
    return [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]


@pytest.fixture
def rng():
    return np.random.default_rng(1)


DTYPES = ["float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu(kernels, rng, dtype):
    (x,) = data(rng, dtype, (300,), scale=4)
    same(*both(kernels, "gelu", x), dtype)
    same(*both(kernels, "gelu_and_slope", x), dtype, factor=4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_rows(kernels, rng, dtype, name):
    x, g = data(rng, dtype, (2, 3, 40), (2, 3, 40), scale=3)
    y_kernel, y = both(kernels, name, x, 2)
    same(y_kernel, y, dtype)
    same(*both(kernels, f"{name}_grad", y, g, 2), dtype, factor=4)
    same(*both(kernels, name, x, 1), dtype)  # an inner axis: the generic code
    special = np.array([[-np.inf, -np.inf], [np.inf, 0.0], [np.nan, 1.0], [0.0, -np.inf]], dtype=dtype)
    with np.errstate(all="ignore"):
        same(*both(kernels, name, special, 1), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing, weighted", [(False, False), (True, False), (True, True)])
def test_cross_entropy(kernels, rng, dtype, smoothing, weighted):
    x, scale, tscale = data(rng, dtype, (6, 30), (6,), (6,), scale=3)
    target = rng.integers(0, 30, 6)
    weight = rng.uniform(0.5, 2, 30).astype(dtype) if weighted else None
    ours, theirs = both(kernels, "cross_entropy_rows", x, target, weight, smoothing)
    same(ours, theirs, dtype, factor=10)
    spread = rng.uniform(0, 0.1, (6, 30)).astype(dtype) if smoothing else None
    same(*both(kernels, "cross_entropy_grad", theirs[0], theirs[1], scale, target, tscale, spread), dtype, factor=4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axes, center", [((2,), True), ((0, 2), True), ((2,), False)])
def test_normalize(kernels, rng, dtype, axes, center):
    (v,) = data(rng, dtype, (4, 3, 20), scale=2)
    v += 1
    same(*both(kernels, "normalize", v, axes, 1e-5, center), dtype, factor=10)
    xhat, _, var, rstd = GenericKernels.normalize(GENERIC, v, axes, 1e-5, center)
    given = (np.mean(v, axis=axes, keepdims=True), var)
    same(*both(kernels, "normalize", v, axes, 1e-5, center, given), dtype, factor=10)
    g, w = data(rng, dtype, v.shape, (1, 1, 20) if axes == (2,) else (1, 3, 1))
    same(*both(kernels, "normalize_grad", g, xhat, w, rstd, v.shape, axes, center), dtype, factor=20)
    same(*both(kernels, "normalize_grad", g, xhat, None, rstd, v.shape, axes, center), dtype, factor=20)
    if axes == (0, 2):
        gw, gb = (np.sum(a, axis=axes, keepdims=True) for a in (g * xhat, g))
        same(*both(kernels, "normalize_grad_from_sums", g, xhat, w * rstd, gw, gb, v.size // 3, center), dtype,
             factor=20)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum, dampening, weight_decay, nesterov", [(0.0, 0.0, 0.1, False),
                                                                         (0.9, 0.1, 0.0, False),
                                                                         (0.9, 0.0, 0.01, True)])
@pytest.mark.parametrize("maximize", [False, True])
def test_sgd(kernels, rng, dtype, momentum, dampening, weight_decay, nesterov, maximize):
    (p,) = data(rng, dtype, (40, 3))
    ours, theirs, buf_ours, buf_theirs = p.copy(), p.copy(), None, None
    options = dict(lr=0.1, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                   maximize=maximize)
    for _ in range(3):
        (g,) = data(rng, dtype, p.shape)
        buf_ours = kernels.sgd_update(ours, g, buf_ours, **options)
        buf_theirs = GenericKernels.sgd_update(GENERIC, theirs, g, buf_theirs, **options)
    same((ours, buf_ours), (theirs, buf_theirs), dtype, factor=10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("amsgrad, decoupled, maximize", [(False, False, False), (True, False, True),
                                                          (False, True, False), (True, True, True)])
def test_adam(kernels, rng, dtype, amsgrad, decoupled, maximize):
    (p,) = data(rng, dtype, (101,))
    params = {"ours": p.copy(), "theirs": p.copy()}
    states = {k: [np.zeros_like(p) for _ in range(3)] for k in params}
    for step in range(1, 4):
        (g,) = data(rng, dtype, p.shape)
        for key, update in (("ours", kernels.adam_update),
                            ("theirs", lambda *a, **k: GenericKernels.adam_update(GENERIC, *a, **k))):
            m, v, vmax = states[key]
            update(params[key], g, m, v, vmax if amsgrad else None, step=step, lr=0.01, beta1=0.9, beta2=0.999,
                   eps=1e-8, weight_decay=0.1, decoupled=decoupled, maximize=maximize)
    same((params["ours"], *states["ours"]), (params["theirs"], *states["theirs"]), dtype, factor=10)


def test_float16_computes_in_float32_and_stays_float16(kernels, rng):
    """The row kernels take float16 through float32 (the elementwise ones need CuPy's float16 type: GPU only)."""
    (x,) = data(rng, "float16", (3, 50), scale=3)
    y = kernels.softmax(x, 1)
    assert y.dtype == np.float16
    np.testing.assert_allclose(y, GenericKernels.softmax(GENERIC, x.astype(np.float32), 1), rtol=1e-3, atol=1e-4)
    assert re.search(r"typedef float A;", cupy_kernels._preamble(cupy_kernels._ACC["float16"]))
