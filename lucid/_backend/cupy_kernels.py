"""CUDA kernels of the fused extras (:class:`~lucid._backend.fused.GenericKernels`) for the CuPy backend.

:class:`CupyKernels` overrides the generic methods with ``cupy.ElementwiseKernel`` /
``cupy.ReductionKernel`` / ``cupy.RawKernel`` kernels, built on first use and cached per accumulation
type (CuPy compiles and caches each kernel per dtype and device itself). float16 arrays compute in
float32 and come back float16; float32 in float32, float64 in float64. A case a kernel does not cover (a
softmax along an inner axis, a group-norm view, another dtype) falls back to the generic code through
``super()``. Nothing here imports CuPy: the backend hands its ``cupy`` module in (``self.cupy``).

GELU is the exact one, ``x Phi(x)`` with ``Phi(x) = erfc(-x / sqrt 2) / 2`` (no cancellation for x << 0,
no float64 detour: cupyx's ``erf`` promotes float16). The optimizer updates write the parameter and
its state in place, one launch per parameter, or per group when the optimizer flattens it (``foreach``,
the default on CUDA). Conv and pooling need no kernel of their own: they are im2col (strided views) +
one GEMM per group, which CuPy runs through cuBLAS; nothing depends on cuDNN (which CuPy 14 dropped).
"""

from __future__ import annotations

import functools
import math

from .fused import GenericKernels

_ACC = {"float16": "float", "float32": "float", "float64": "double"}  # dtype -> the type it computes in
_SCALAR = {"float": "float32", "double": "float64"}  # the accumulation type as CuPy names a scalar parameter
_MATH = ("exp", "log", "sqrt", "erfc")

# name: (in_params, out_params, body). ``A`` is the accumulation type, ``{S}`` its CuPy dtype (of scalars and of
# the sums of _REDUCTIONS), ``l_exp``/``l_log``/``l_sqrt``/``l_erfc`` its math functions (see _preamble)
_ELEMENTWISE = {
    "gelu": ("T x", "T y", "A v = (A)x; y = (T)(v * (A)0.5 * l_erfc(-v * (A)0.7071067811865476));"),
    "gelu_and_slope": ("T x", "T y, T slope",
                       "A v = (A)x; A c = (A)0.5 * l_erfc(-v * (A)0.7071067811865476); y = (T)(v * c); "
                       "slope = (T)(c + v * l_exp((A)-0.5 * v * v) * (A)0.3989422804014327);"),
    "cross_entropy_grad": (
        "T total, T row_scale, U spread, int64 t, T tscale, int64 cols", "T grad",
        "A v = (A)grad * ((A)row_scale / (A)total) - (A)spread; if ((long long)(i % cols) == t) v -= (A)tscale; "
        "grad = (T)v;"),
    "norm_stats": ("{S} sq, {S} count, {S} eps", "T var, T rstd",
                   "A w = (A)sq / (A)count; var = (T)w; rstd = (T)((A)1 / l_sqrt((A)(T)w + (A)eps));"),
    "rstd": ("T var, {S} eps", "T rstd", "rstd = (T)((A)1 / l_sqrt((A)var + (A)eps));"),
    "norm_apply": ("T x, U m, R r", "T xhat", "xhat = (T)(((A)x - (A)m) * (A)r);"),
    "norm_grad_from_sums": (
        "T g, T xhat, P scale, Q gw, R gb, {S} inv_count, int32 center", "T gx",
        "A v = (A)g - (center ? (A)gb * inv_count : (A)0) - (A)xhat * ((A)gw * inv_count); gx = (T)(v * (A)scale);"),
    "norm_grad": (
        "T g, W w, T xh, {S} s1, {S} s2, R rstd, {S} inv_count, int32 center", "T gx",
        "A gh = (A)g * (A)w; A v = gh - (A)xh * ((A)s1 * inv_count) - (center ? (A)s2 * inv_count : (A)0); "
        "gx = (T)(v * (A)rstd);"),
    "sgd": (
        "T g, {S} lr, {S} wd, int32 maximize", "T p",
        "A pp = (A)p; A d = maximize ? -(A)g : (A)g; if (wd != 0) d += wd * pp; p = (T)(pp - lr * d);"),
    "sgd_momentum": (
        "T g, {S} lr, {S} momentum, {S} dampening, {S} wd, int32 nesterov, int32 maximize, int32 first", "T p, T buf",
        "A pp = (A)p; A d = maximize ? -(A)g : (A)g; if (wd != 0) d += wd * pp; "
        "A b = first ? d : momentum * (A)buf + ((A)1 - dampening) * d; buf = (T)b; "
        "d = nesterov ? d + momentum * b : b; p = (T)(pp - lr * d);"),
}
_ADAM = (
    "A pp = (A)p; if (decoupled && wd != 0) pp *= (A)1 - lr * wd; A d = maximize ? -(A)g : (A)g; "
    "if (!decoupled && wd != 0) d += wd * pp; A mm = (A)m + ((A)1 - beta1) * (d - (A)m); "
    "A vv = beta2 * (A)v + ((A)1 - beta2) * d * d; m = (T)mm; v = (T)vv; A den = vv; {max} "
    "p = (T)(pp - step_size * mm / (l_sqrt(den) / root + eps));"
)
_ADAM_IN = ("T g, {S} lr, {S} beta1, {S} beta2, {S} eps, {S} wd, {S} step_size, {S} root, int32 decoupled, "
            "int32 maximize")
_ELEMENTWISE["adam"] = (_ADAM_IN, "T p, T m, T v", _ADAM.format(max=""))
_ELEMENTWISE["adam_amsgrad"] = (_ADAM_IN, "T p, T m, T v, T vmax", _ADAM.format(
    max="A vm = (A)vmax; if (vv > vm || vv != vv) vm = vv; vmax = (T)vm; den = vm;"))

# name: map expression of a sum over axes, into the accumulation type (S: float32 or float64)
_REDUCTIONS = {
    "sum": ("T x", "(A)x"),
    "centred_square_sum": ("T x, U m", "((A)x - (A)m) * ((A)x - (A)m)"),
    "product_sum": ("T g, W w, T xh", "(A)g * (A)w * (A)xh"),
    "scaled_sum": ("T g, W w", "(A)g * (A)w"),
}

# Row kernels: one block per row of a C-contiguous (rows, cols) array, in float or double (float16 is
# converted around them). block_reduce: a warp-shuffle reduction over the block (a sum, or a max that keeps nan).
_PICK_MAX = "__device__ inline A pick_max(A a, A b) { return (b > a || b != b) ? b : a; }\n"
_BLOCK_REDUCE = r"""
__device__ A block_reduce(A v, bool is_max) {
    __shared__ A partial[32];
    for (int o = 16; o > 0; o >>= 1) {
        A w = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? pick_max(v, w) : v + w;
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();  // the previous call's readers of partial[0] are done
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < (int)(blockDim.x >> 5) ? partial[lane] : (is_max ? NEG_INF : (A)0);
        for (int o = 16; o > 0; o >>= 1) {
            A w = __shfl_xor_sync(0xffffffffu, v, o);
            v = is_max ? pick_max(v, w) : v + w;
        }
        if (lane == 0) partial[0] = v;
    }
    __syncthreads();
    return partial[0];
}
"""
_ROW_KERNELS = r"""
extern "C" __global__ void lucid_softmax_rows(const A* x, A* y, long long cols, int log_out) {
    const A* xr = x + (long long)blockIdx.x * cols;
    A* yr = y + (long long)blockIdx.x * cols;
    A m = NEG_INF;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) m = pick_max(m, xr[c]);
    m = block_reduce(m, true);
    A s = 0;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) s += l_exp(xr[c] - m);
    s = block_reduce(s, false);
    if (log_out) {
        A ls = l_log(s);
        for (long long c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = xr[c] - m - ls;
    } else {
        for (long long c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = l_exp(xr[c] - m) / s;
    }
}

extern "C" __global__ void lucid_softmax_grad_rows(const A* y, const A* g, A* out, long long cols, int log_out) {
    long long base = (long long)blockIdx.x * cols;
    A s = 0;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) s += log_out ? g[base + c] : g[base + c] * y[base + c];
    s = block_reduce(s, false);
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
        long long k = base + c;
        out[k] = log_out ? g[k] - l_exp(y[k]) * s : y[k] * (g[k] - s);
    }
}

extern "C" __global__ void lucid_cross_entropy_rows(
        const A* x, const long long* target, const A* weight, int has_weight, int smoothing,
        A* e, A* total, A* log_total, A* picked, A* weighted, long long cols) {
    long long r = blockIdx.x;
    const A* xr = x + r * cols;
    A* er = e + r * cols;
    A m = NEG_INF;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) m = pick_max(m, xr[c]);
    m = block_reduce(m, true);
    A s = 0;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
        A v = l_exp(xr[c] - m);
        er[c] = v;
        s += v;
    }
    s = block_reduce(s, false);
    A ws = 0;
    if (smoothing) {
        for (long long c = threadIdx.x; c < cols; c += blockDim.x) ws += (xr[c] - m) * (has_weight ? weight[c] : (A)1);
        ws = block_reduce(ws, false);
    }
    if (threadIdx.x == 0) {
        A lt = l_log(s);
        total[r] = s;
        log_total[r] = lt;
        picked[r] = xr[target[r]] - m - lt;
        if (smoothing) weighted[r] = ws;
    }
}
"""


def _preamble(acc: str) -> str:
    """``typedef acc A`` and its math functions (float: ``expf``, ...; double: ``exp``, ...)."""
    suffix = "f" if acc == "float" else ""
    lines = [f"typedef {acc} A;"]
    lines += [f"__device__ inline A l_{f}(A v) {{ return {f}{suffix}(v); }}" for f in _MATH]
    neg_inf = "__int_as_float(0xff800000)" if acc == "float" else "__longlong_as_double(0xfff0000000000000ULL)"
    lines.append(f"#define NEG_INF ({neg_inf})")
    return "\n".join(lines) + "\n"


@functools.cache
def _elementwise(cupy, name: str, acc: str):
    in_params, out_params, body = _ELEMENTWISE[name]
    return cupy.ElementwiseKernel(in_params.format(S=_SCALAR[acc]), out_params, body, f"lucid_{name}",
                                  preamble=_preamble(acc))


@functools.cache
def _reduction(cupy, name: str, acc: str):
    in_params, map_expr = _REDUCTIONS[name]
    return cupy.ReductionKernel(in_params, f"{_SCALAR[acc]} y", map_expr, "a + b", "y = a", "0", f"lucid_{name}",
                                reduce_type=acc, preamble=_preamble(acc))


@functools.cache
def _row_kernel(cupy, name: str, acc: str):
    """Row kernel ``name`` for ``acc`` (a ``RawKernel`` compiles and loads itself on each device it runs on)."""
    return cupy.RawKernel(_preamble(acc) + _PICK_MAX + _BLOCK_REDUCE + _ROW_KERNELS, f"lucid_{name}")


def _block(cols: int) -> int:
    """Threads per row: a power of two from 32 to 256, enough for ``cols``."""
    return min(256, max(32, 1 << (max(cols, 1) - 1).bit_length()))


class CupyKernels(GenericKernels):
    """The fused extras as CUDA kernels (a base of :class:`~lucid._backend.cupy_backend.CupyBackend`)."""

    cupy = None  # the CuPy module (set by the backend)

    def _acc(self, *arrays) -> str | None:
        """The accumulation type of ``arrays`` (all of one supported floating dtype), else None."""
        acc = _ACC.get(arrays[0].dtype.name)
        return acc if all(a.dtype == arrays[0].dtype for a in arrays) else None

    def _run(self, name, acc, *args):
        return _elementwise(self.cupy, name, acc)(*args)

    # ---- GELU ----------------------------------------------------------------------------------------
    def gelu(self, x):
        acc = self._acc(x)
        return super().gelu(x) if acc is None else self._run("gelu", acc, x)

    def gelu_and_slope(self, x):
        acc = self._acc(x)
        return super().gelu_and_slope(x) if acc is None else self._run("gelu_and_slope", acc, x)

    # ---- rows (last axis) --------------------------------------------------------------------------
    def _rows(self, x, axis):
        """``(x as a contiguous (rows, cols) array in float32/float64, the accumulation type)`` when ``axis``
        is the last and non-empty, else None."""
        acc = self._acc(x)
        if acc is None or axis is None or axis != x.ndim - 1 or 0 in x.shape:
            return None
        work = self.cupy.float64 if acc == "double" else self.cupy.float32
        return self.cupy.ascontiguousarray(x.reshape(-1, x.shape[-1]), dtype=work), acc

    def _launch(self, name, acc, rows, cols, *args):
        _row_kernel(self.cupy, name, acc)((rows,), (_block(cols),), args)

    def _softmax(self, x, axis, log: bool, fallback):
        rows = self._rows(x, axis)
        if rows is None:
            return fallback(x, axis)
        (x2, acc), cp = rows, self.cupy
        y = cp.empty_like(x2)
        self._launch("softmax_rows", acc, x2.shape[0], x2.shape[1], x2, y, cp.int64(x2.shape[1]), cp.int32(log))
        return y.reshape(x.shape).astype(x.dtype, copy=False)

    def softmax(self, x, axis):
        return self._softmax(x, axis, False, super().softmax)

    def log_softmax(self, x, axis):
        return self._softmax(x, axis, True, super().log_softmax)

    def _softmax_grad(self, y, g, axis, log: bool, fallback):
        rows = self._rows(y, axis)
        if rows is None or g.dtype != y.dtype:
            return fallback(y, g, axis)
        (y2, acc), cp = rows, self.cupy
        g2 = cp.ascontiguousarray(cp.broadcast_to(g, y.shape).reshape(y2.shape), dtype=y2.dtype)
        out = cp.empty_like(y2)
        self._launch("softmax_grad_rows", acc, y2.shape[0], y2.shape[1], y2, g2, out, cp.int64(y2.shape[1]),
                     cp.int32(log))
        return out.reshape(y.shape).astype(y.dtype, copy=False)

    def softmax_grad(self, y, g, axis):
        return self._softmax_grad(y, g, axis, False, super().softmax_grad)

    def log_softmax_grad(self, y, g, axis):
        return self._softmax_grad(y, g, axis, True, super().log_softmax_grad)

    # ---- cross-entropy -------------------------------------------------------------------------------
    def cross_entropy_rows(self, x, target, weight, smoothing):
        rows = self._rows(x, 1)
        if rows is None or (weight is not None and weight.dtype != x.dtype):
            return super().cross_entropy_rows(x, target, weight, smoothing)
        (x2, acc), cp = rows, self.cupy
        m, c = x2.shape
        e = cp.empty_like(x2)
        total, log_total, picked, weighted = (cp.empty((m,), dtype=x2.dtype) for _ in range(4))
        w = cp.ascontiguousarray(weight if weight is not None else x2[:1, :1], dtype=x2.dtype)
        self._launch("cross_entropy_rows", acc, m, c, x2, cp.ascontiguousarray(target, dtype=cp.int64), w,
                     cp.int32(weight is not None), cp.int32(bool(smoothing)), e, total, log_total, picked, weighted,
                     cp.int64(c))
        back = functools.partial(cp.asarray, dtype=x.dtype)
        return (back(e), back(total)[:, None], back(log_total), back(picked), back(weighted) if smoothing else None)

    def cross_entropy_grad(self, e, total, row_scale, target, target_scale, spread):
        acc = self._acc(e, total, row_scale, target_scale)
        if acc is None or e.ndim != 2 or not e.flags.c_contiguous:
            return super().cross_entropy_grad(e, total, row_scale, target, target_scale, spread)
        cp = self.cupy
        spread = cp.zeros((), dtype=e.dtype) if spread is None else spread
        self._run("cross_entropy_grad", acc, total, row_scale[:, None], spread, target.astype(cp.int64)[:, None],
                  target_scale[:, None], e.shape[1], e)
        return e

    # ---- normalization -------------------------------------------------------------------------------
    def normalize(self, v, axes, eps, center=True, given=None):
        acc = self._acc(v)
        if acc is None:
            return super().normalize(v, axes, eps, center, given)
        cp = self.cupy
        if given is not None:
            mean, var = given
            rstd = self._run("rstd", acc, var, eps)
            return self._run("norm_apply", acc, v, mean, rstd), mean, var, rstd
        count = math.prod(v.shape[a] for a in axes)
        sums = functools.partial(_reduction_call, self.cupy, acc, axis=axes)
        centre = sums("sum", v) / count if center else cp.zeros((), dtype=_SCALAR[acc])
        square_sum = sums("centred_square_sum", v, centre)
        var, rstd = (cp.empty(square_sum.shape, dtype=v.dtype) for _ in range(2))  # (T is only in the outputs)
        self._run("norm_stats", acc, square_sum, count, eps, var, rstd)
        mean = centre.astype(v.dtype) if center else None
        return self._run("norm_apply", acc, v, centre, rstd), mean, var, rstd

    def normalize_grad_from_sums(self, g, xhat, scale, gw, gb, count, center):
        acc = self._acc(g, xhat)
        if acc is None:
            return super().normalize_grad_from_sums(g, xhat, scale, gw, gb, count, center)
        gb = gb if gb is not None else self.cupy.zeros((), dtype=g.dtype)
        return self._run("norm_grad_from_sums", acc, g, xhat, scale, gw, gb, 1.0 / count, int(center))

    def normalize_grad(self, g, xhat, w, rstd, view, axes, center):
        acc = self._acc(g, xhat)
        if acc is None or tuple(view) != xhat.shape:
            return super().normalize_grad(g, xhat, w, rstd, view, axes, center)
        w = w if w is not None else self.cupy.ones((), dtype=g.dtype)
        sums = functools.partial(_reduction_call, self.cupy, acc, axis=axes)
        s1, s2 = sums("product_sum", g, w, xhat), sums("scaled_sum", g, w)
        count = math.prod(xhat.shape[a] for a in axes)
        return self._run("norm_grad", acc, g, w, xhat, s1, s2, rstd, 1.0 / count, int(center))

    # ---- optimizers ----------------------------------------------------------------------------------
    def sgd_update(self, p, g, buf, *, lr, momentum, dampening, weight_decay, nesterov, maximize):
        acc = self._acc(p, g)
        if acc is None or not p.flags.c_contiguous:
            return super().sgd_update(p, g, buf, lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        if momentum == 0:
            self._run("sgd", acc, g, lr, weight_decay, int(maximize), p)
            return None
        first = buf is None
        buf = self.cupy.empty_like(p) if first else buf
        self._run("sgd_momentum", acc, g, lr, momentum, dampening, weight_decay, int(nesterov), int(maximize),
                  int(first), p, buf)
        return buf

    def adam_update(self, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, beta1, beta2, eps, weight_decay,
                    decoupled, maximize):
        states = (exp_avg, exp_avg_sq) + (() if max_exp_avg_sq is None else (max_exp_avg_sq,))
        acc = self._acc(p, g, *states)
        if acc is None or not all(a.flags.c_contiguous for a in (p, *states)):
            return super().adam_update(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, step=step, lr=lr, beta1=beta1,
                                       beta2=beta2, eps=eps, weight_decay=weight_decay, decoupled=decoupled,
                                       maximize=maximize)
        name = "adam" if max_exp_avg_sq is None else "adam_amsgrad"
        self._run(name, acc, g, lr, beta1, beta2, eps, weight_decay, lr / (1 - beta1 ** step),
                  (1 - beta2 ** step) ** 0.5, int(decoupled), int(maximize), p, *states)
        return None


def _reduction_call(cupy, acc, name, *arrays, axis):
    """The sum ``name`` of ``_REDUCTIONS`` over ``axis`` (kept), in the accumulation type."""
    return _reduction(cupy, name, acc)(*arrays, axis=axis, keepdims=True)
