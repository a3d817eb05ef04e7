"""A sweep for pathological kernels: about 215 ops, forward + backward, lucid against PyTorch on one core.

Each case builds float32 inputs (one seed), runs ``op(...).sum().backward()`` (forward only for ops without
a gradient) in lucid and in torch, and prints the median CPU times and their ratio, flagging ratios above
``--flag``. Ratios of 1.5-2.5 on transcendental ops are NumPy's loops against PyTorch's SLEEF ones; a flag is
a kernel worth a look. Run::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/sweep.py [group ...] [--flag 2.5]

with groups ``unary``, ``reduce``, ``index``, ``shape``, ``nn``, ``loss``, ``linalg``, ``random`` (default: all).
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

import lucid
import lucid.nn.functional as LF

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from compare import median_cpu_time  # noqa: E402

BIG, CUBE, IMAGES = (1024, 1024), (64, 256, 256), (32, 64, 56, 56)
UNARY = ["exp", "log", "sin", "cos", "tanh", "sigmoid", "sqrt", "rsqrt", "abs", "reciprocal", "expm1", "log1p",
         "erf", "atan", "asinh", "tan", "sinh", "cosh", "exp2", "i0", "lgamma", "digamma"]
POSITIVE = {"log", "sqrt", "rsqrt", "reciprocal", "log1p", "lgamma", "digamma"}
ACTIVATIONS = ["relu", "silu", "softplus", "elu", "leaky_relu", "mish", "hardswish", "hardsigmoid", "selu", "celu",
               "gelu", "logsigmoid", "softsign", "tanhshrink", "hardtanh", "relu6", "softshrink", "hardshrink"]
REDUCTIONS = ["sum", "mean", "amax", "amin", "logsumexp", "var", "std", "prod", "cumsum", "cumprod"]


def _ints(rng, high, shape):
    return rng.integers(0, high, shape)


def cases(rng):
    """``{group: [(name, input shapes, fn(F, lib, *tensors, *ints), {grad, positive, ints})]}``."""
    table = {"unary": [], "reduce": [], "index": [], "shape": [], "nn": [], "loss": [], "linalg": [], "random": []}
    for op in UNARY:
        table["unary"].append((op, [BIG], lambda F, L, x, op=op: getattr(x, op)(), dict(positive=op in POSITIVE)))
    table["unary"] += [
        ("erfinv", [BIG], lambda F, L, x: (x.tanh() * 0.9).erfinv(), {}),
        ("sign", [BIG], lambda F, L, x: x.sign(), dict(grad=False)),
        ("pow 2.5", [BIG], lambda F, L, x: x ** 2.5, dict(positive=True)),
        ("pow tensor", [BIG, BIG], lambda F, L, x, y: x ** y, dict(positive=True)),
        ("clamp", [BIG], lambda F, L, x: x.clamp(-0.5, 0.5), {}),
        ("where", [BIG, BIG], lambda F, L, x, y: L.where(x > 0, x, y), {}),
        ("atan2", [BIG, BIG], lambda F, L, x, y: L.atan2(x, y), {}),
        ("hypot", [BIG, BIG], lambda F, L, x, y: L.hypot(x, y), {}),
        ("maximum", [BIG, BIG], lambda F, L, x, y: L.maximum(x, y), {}),
        ("gelu tanh", [BIG], lambda F, L, x: F.gelu(x, approximate="tanh"), {}),
        ("atanh", [BIG], lambda F, L, x: (x.tanh() * 0.9).atanh(), {}),
        ("logaddexp", [BIG, BIG], lambda F, L, x, y: L.logaddexp(x, y), {}),
        ("floor_divide", [BIG, BIG], lambda F, L, x, y: L.floor_divide(x, y.abs() + 1), dict(grad=False)),
        ("remainder", [BIG, BIG], lambda F, L, x, y: L.remainder(x, y.abs() + 1), {}),
        ("fmod", [BIG, BIG], lambda F, L, x, y: L.fmod(x, y.abs() + 1), {}),
        ("nan_to_num", [BIG], lambda F, L, x: L.nan_to_num(x / (x > 0).float()), {}),
        ("round decimals", [BIG], lambda F, L, x: L.round(x, decimals=2), dict(grad=False)),
    ] + [("F." + op, [BIG], lambda F, L, x, op=op: getattr(F, op)(x), {}) for op in ACTIVATIONS]
    table["reduce"] += [(f"{op} dim {dim}", [BIG], lambda F, L, x, op=op, dim=dim: getattr(x, op)(dim=dim), {})
                        for op in REDUCTIONS for dim in (0, -1)]
    table["reduce"] += [(f"{op} dim {dim}", [BIG], lambda F, L, x, op=op, dim=dim: getattr(F, op)(x, dim=dim), {})
                        for op in ("softmax", "log_softmax") for dim in (0, -1)] + [
        ("norm dim -1", [BIG], lambda F, L, x: x.norm(dim=-1), {}),
        ("max dim", [BIG], lambda F, L, x: x.max(dim=1)[0], {}),
        ("sort", [BIG], lambda F, L, x: x.sort(dim=-1)[0], {}),
        ("topk 10", [BIG], lambda F, L, x: x.topk(10, dim=-1)[0], {}),
        ("median dim", [BIG], lambda F, L, x: x.median(dim=-1)[0], {}),
        ("kthvalue", [BIG], lambda F, L, x: x.kthvalue(5, dim=-1)[0], {}),
        ("cummax", [BIG], lambda F, L, x: x.cummax(dim=-1)[0], {}),
        ("argmax", [BIG], lambda F, L, x: x.argmax(dim=-1), dict(grad=False)),
        ("cdist", [(512, 64), (512, 64)], lambda F, L, x, y: L.cdist(x, y), {}),
        ("pdist", [(512, 64)], lambda F, L, x: F.pdist(x), {}),
        ("unique", [(1 << 20,)], lambda F, L, x: L.unique((x * 100).round()), dict(grad=False)),
        ("sort 1-d", [(1 << 20,)], lambda F, L, x: L.sort(x)[0], {}),
        ("argsort", [BIG], lambda F, L, x: L.argsort(x, dim=-1), dict(grad=False)),
        ("searchsorted", [(4096,), (1 << 20,)], lambda F, L, a, v: L.searchsorted(L.sort(a)[0], v), dict(grad=False)),
        ("bincount", [], lambda F, L, i: L.bincount(i), dict(grad=False, ints=[_ints(rng, 1000, 1 << 20)])),
        ("histc", [(1 << 20,)], lambda F, L, x: L.histc(x, bins=100, min=-3, max=3), dict(grad=False)),
        ("logcumsumexp", [BIG], lambda F, L, x: L.logcumsumexp(x, dim=-1), {}),
        ("cumsum dim 0", [BIG], lambda F, L, x: L.cumsum(x, dim=0), {}),
        ("diff", [BIG], lambda F, L, x: L.diff(x, dim=-1), {}),
        ("vector_norm p3", [BIG], lambda F, L, x: L.linalg.vector_norm(x, ord=3, dim=-1), {}),
        ("cosine_similarity", [BIG, BIG], lambda F, L, a, b: F.cosine_similarity(a, b), {}),
        ("normalize", [BIG], lambda F, L, x: F.normalize(x, dim=-1), {}),
        ("softmax 3-d dim 1", [(64, 128, 128)], lambda F, L, x: F.softmax(x, dim=1), {}),
        ("tril_indices", [], lambda F, L: L.tril_indices(2048, 2048), dict(grad=False)),
        ("triu_indices", [], lambda F, L: L.triu_indices(2048, 2048, 1), dict(grad=False)),
    ]
    many, grid = _ints(rng, 1024, 100000), _ints(rng, 1024, (1024, 512))
    table["index"] += [
        ("index_select", [BIG], lambda F, L, x, i: x.index_select(0, i), dict(ints=[many])),
        ("getitem int array", [BIG], lambda F, L, x, i: x[i], dict(ints=[many])),
        ("gather", [BIG], lambda F, L, x, i: x.gather(1, i), dict(ints=[grid])),
        ("scatter_add", [BIG, (1024, 512)], lambda F, L, x, s, i: x.scatter_add(1, i, s), dict(ints=[grid])),
        ("index_add", [BIG, (5000, 1024)], lambda F, L, x, s, i: x.index_add(0, i, s),
         dict(ints=[_ints(rng, 1024, 5000)])),
        ("masked_fill", [BIG], lambda F, L, x: x.masked_fill(x > 0.5, 0.0), {}),
        ("bool mask getitem", [BIG], lambda F, L, x: x[x > 0], {}),
        ("embedding", [(50000, 256)], lambda F, L, w, i: F.embedding(i, w), dict(ints=[_ints(rng, 50000, (64, 256))])),
        ("embedding_bag mean", [(10000, 64)], lambda F, L, w, i, o: F.embedding_bag(i, w, o, mode="mean"),
         dict(ints=[_ints(rng, 10000, 50000), np.arange(0, 50000, 50)])),
        ("take_along_dim", [BIG], lambda F, L, x, i: L.take_along_dim(x, i, dim=1),
         dict(ints=[_ints(rng, 1024, (1024, 64))])),
        ("scatter_reduce amax", [BIG, (1024, 512)], lambda F, L, x, s, i: x.scatter_reduce(1, i, s, "amax"),
         dict(ints=[grid])),
        ("index_put accumulate", [BIG, (5000, 1024)], lambda F, L, x, s, i: x.index_put((i,), s, accumulate=True),
         dict(ints=[_ints(rng, 1024, 5000)])),
        ("index_put (repeats)", [BIG, (5000, 1024)], lambda F, L, x, s, i: x.index_put((i,), s),
         dict(ints=[_ints(rng, 1024, 5000)])),
        ("masked_scatter", [BIG, BIG], lambda F, L, x, s: x.masked_scatter(x > 0, s), {}),
        ("nonzero", [BIG], lambda F, L, x: L.nonzero(x > 0), dict(grad=False)),
        ("repeat_interleave", [(4096, 256)], lambda F, L, x: L.repeat_interleave(x, 3, dim=0), {}),
        ("masked_select", [BIG], lambda F, L, x: x.masked_select(x > 0), {}),
    ]
    table["shape"] += [
        ("cat", [BIG, BIG], lambda F, L, x, y: L.cat([x, y], dim=1), {}),
        ("stack", [BIG, BIG], lambda F, L, x, y: L.stack([x, y], dim=1), {}),
        ("transpose contiguous", [CUBE], lambda F, L, x: x.transpose(0, 2).contiguous(), {}),
        ("repeat", [(256, 256)], lambda F, L, x: x.repeat(4, 4), {}),
        ("flip", [BIG], lambda F, L, x: x.flip(0), {}),
        ("roll", [BIG], lambda F, L, x: x.roll(3, 1), {}),
        ("tril", [BIG], lambda F, L, x: x.tril(), {}),
        ("pixel_shuffle", [(32, 64, 28, 28)], lambda F, L, x: F.pixel_shuffle(x, 2), {}),
        ("unfold", [(16, 32, 32, 32)], lambda F, L, x: F.unfold(x, 3, padding=1), {}),
        ("fold", [(16, 288, 1024)], lambda F, L, x: F.fold(x, (32, 32), 3, padding=1), {}),
    ] + [(f"pad {mode}", [(32, 64, 64, 64)], lambda F, L, x, mode=mode: F.pad(x, (2, 2, 2, 2), mode=mode), {})
         for mode in ("constant", "reflect", "replicate", "circular")]
    table["nn"] += [
        ("max_pool2d 3x3 s2", [IMAGES], lambda F, L, x: F.max_pool2d(x, 3, 2, 1), {}),
        ("max_pool2d 2x2", [IMAGES], lambda F, L, x: F.max_pool2d(x, 2), {}),
        ("avg_pool2d 3x3 s1", [IMAGES], lambda F, L, x: F.avg_pool2d(x, 3, 1, 1), {}),
        ("adaptive_avg_pool2d 7", [IMAGES], lambda F, L, x: F.adaptive_avg_pool2d(x, 7), {}),
        ("batch_norm", [IMAGES, (64,), (64,)], lambda F, L, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
         {}),
        ("layer_norm", [(64, 256, 512), (512,), (512,)], lambda F, L, x, w, b: F.layer_norm(x, (512,), w, b), {}),
        ("group_norm", [IMAGES, (64,), (64,)], lambda F, L, x, w, b: F.group_norm(x, 8, w, b), {}),
        ("interpolate bilinear", [(16, 64, 56, 56)],
         lambda F, L, x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False), {}),
        ("interpolate nearest", [(16, 64, 56, 56)], lambda F, L, x: F.interpolate(x, scale_factor=2), {}),
        ("conv1d k3", [(32, 128, 1024), (128, 128, 3)], lambda F, L, x, w: F.conv1d(x, w, padding=1), {}),
        ("depthwise conv2d", [IMAGES, (64, 1, 3, 3)], lambda F, L, x, w: F.conv2d(x, w, padding=1, groups=64), {}),
        ("grouped conv2d g8", [(32, 128, 28, 28), (128, 16, 3, 3)],
         lambda F, L, x, w: F.conv2d(x, w, padding=1, groups=8), {}),
        ("conv_transpose2d s2", [(16, 64, 32, 32), (64, 32, 4, 4)],
         lambda F, L, x, w: F.conv_transpose2d(x, w, stride=2, padding=1), {}),
        ("conv2d 1x1", [(32, 256, 28, 28), (64, 256, 1, 1)], lambda F, L, x, w: F.conv2d(x, w), {}),
        ("sdpa causal", [(8, 8, 256, 64)] * 3,
         lambda F, L, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), {}),
        ("linear", [(4096, 512), (512, 512), (512,)], lambda F, L, x, w, b: F.linear(x, w, b), {}),
        ("grid_sample", [(8, 16, 64, 64), (8, 64, 64, 2)],
         lambda F, L, x, g: F.grid_sample(x, g.tanh(), align_corners=False), {}),
        ("interpolate linear", [(64, 64, 1024)], lambda F, L, x: F.interpolate(x, scale_factor=2, mode="linear"), {}),
        ("interpolate bicubic", [(16, 32, 32, 32)], lambda F, L, x: F.interpolate(x, scale_factor=2, mode="bicubic"),
         {}),
        ("interpolate trilinear", [(4, 16, 16, 32, 32)],
         lambda F, L, x: F.interpolate(x, scale_factor=2, mode="trilinear"), {}),
        ("affine_grid", [(64, 2, 3)], lambda F, L, t: F.affine_grid(t, (64, 3, 128, 128), align_corners=False), {}),
        ("instance_norm", [IMAGES], lambda F, L, x: F.instance_norm(x), {}),
        ("rms_norm", [(64, 256, 512), (512,)], lambda F, L, x, w: F.rms_norm(x, (512,), w), {}),
        ("local_response_norm", [(16, 64, 28, 28)], lambda F, L, x: F.local_response_norm(x, 5), {}),
        ("adaptive_max_pool2d 7", [IMAGES], lambda F, L, x: F.adaptive_max_pool2d(x, 7), {}),
        ("max_pool1d 2", [(64, 128, 1024)], lambda F, L, x: F.max_pool1d(x, 2), {}),
        ("max_pool3d 2", [(8, 32, 16, 32, 32)], lambda F, L, x: F.max_pool3d(x, 2), {}),
        ("avg_pool3d 2", [(8, 32, 16, 32, 32)], lambda F, L, x: F.avg_pool3d(x, 2), {}),
        ("lp_pool2d", [IMAGES], lambda F, L, x: F.lp_pool2d(x, 2, 2), {}),
        ("conv3d 3x3x3", [(4, 32, 16, 32, 32), (32, 32, 3, 3, 3)], lambda F, L, x, w: F.conv3d(x, w, padding=1), {}),
        ("conv2d 7x7 s2 stem", [(32, 3, 112, 112), (64, 3, 7, 7)],
         lambda F, L, x, w: F.conv2d(x, w, stride=2, padding=3), {}),
        ("conv2d 3x3 s2", [(32, 64, 56, 56), (128, 64, 3, 3)], lambda F, L, x, w: F.conv2d(x, w, stride=2, padding=1),
         {}),
        ("grouped conv2d g8 s2", [(32, 128, 28, 28), (128, 16, 3, 3)],
         lambda F, L, x, w: F.conv2d(x, w, stride=2, padding=1, groups=8), {}),
        ("conv2d dilated", [(16, 64, 32, 32), (64, 64, 3, 3)], lambda F, L, x, w: F.conv2d(x, w, padding=2, dilation=2),
         {}),
        ("conv_transpose1d s2", [(32, 64, 512), (64, 64, 4)],
         lambda F, L, x, w: F.conv_transpose1d(x, w, stride=2, padding=1), {}),
        ("dropout", [BIG], lambda F, L, x: F.dropout(x, 0.5), {}),
        ("threshold", [BIG], lambda F, L, x: F.threshold(x, 0.1, 2.0), {}),
        ("prelu", [IMAGES, (64,)], lambda F, L, x, w: F.prelu(x, w), {}),
        ("max_unpool2d", [(32, 64, 28, 28)],
         lambda F, L, x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2), {}),
        ("conv_transpose3d s2", [(4, 16, 8, 16, 16), (16, 16, 4, 4, 4)],
         lambda F, L, x, w: F.conv_transpose3d(x, w, stride=2, padding=1), {}),
    ]
    rows = _ints(rng, 1000, 4096)
    table["loss"] += [
        ("cross_entropy", [(4096, 1000)], lambda F, L, x, t: F.cross_entropy(x, t), dict(ints=[rows])),
        ("cross_entropy 2d", [(16, 21, 64, 64)], lambda F, L, x, t: F.cross_entropy(x, t),
         dict(ints=[_ints(rng, 21, (16, 64, 64))])),
        ("nll_loss", [(4096, 1000)], lambda F, L, x, t: F.nll_loss(x, t), dict(ints=[rows])),
        ("mse", [BIG, BIG], lambda F, L, x, y: F.mse_loss(x, y), {}),
        ("smooth_l1", [BIG, BIG], lambda F, L, x, y: F.smooth_l1_loss(x, y), {}),
        ("huber", [BIG, BIG], lambda F, L, x, y: F.huber_loss(x, y), {}),
        ("bce_with_logits", [BIG, BIG], lambda F, L, x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid()), {}),
        ("kl_div", [BIG, BIG], lambda F, L, x, y: F.kl_div(F.log_softmax(x, -1), F.softmax(y, -1),
                                                           reduction="batchmean"), {}),
        ("ctc_loss", [(64, 16, 32)], lambda F, L, x, t, i, n: F.ctc_loss(x.log_softmax(-1), t, i, n),
         dict(ints=[_ints(rng, 31, (16, 20)) + 1, np.full(16, 64), np.full(16, 20)])),
        ("multi_margin", [(4096, 100)], lambda F, L, x, t: F.multi_margin_loss(x, t), dict(ints=[rows % 100])),
        ("triplet_margin", [BIG, BIG, BIG], lambda F, L, a, p, n: F.triplet_margin_loss(a, p, n), {}),
        ("margin_ranking", [(1 << 20,)] * 3, lambda F, L, a, b, y: F.margin_ranking_loss(a, b, y.sign()), {}),
        ("poisson_nll", [BIG, BIG], lambda F, L, a, b: F.poisson_nll_loss(a, b.abs()), {}),
        ("gaussian_nll", [BIG, BIG, BIG], lambda F, L, a, b, v: F.gaussian_nll_loss(a, b, v.abs() + 0.1), {}),
        ("bce", [BIG, BIG], lambda F, L, a, b: F.binary_cross_entropy(a.sigmoid(), b.sigmoid()), {}),
        ("multilabel_soft_margin", [(4096, 100), (4096, 100)],
         lambda F, L, a, b: F.multilabel_soft_margin_loss(a, (b > 0).float()), {}),
        ("cosine_embedding", [BIG, BIG, (1024,)], lambda F, L, a, b, y: F.cosine_embedding_loss(a, b, y.sign()), {}),
        ("l1", [BIG, BIG], lambda F, L, a, b: F.l1_loss(a, b), {}),
    ]
    table["linalg"] += [
        ("inv", [(64, 64, 64)], lambda F, L, x: L.linalg.inv(x + 8 * L.eye(64)), {}),
        ("solve", [(64, 64, 64), (64, 64, 8)], lambda F, L, a, b: L.linalg.solve(a + 8 * L.eye(64), b), {}),
        ("svd", [(16, 64, 64)], lambda F, L, x: L.linalg.svd(x)[1], {}),
        ("qr", [(16, 128, 64)], lambda F, L, x: L.linalg.qr(x)[0], {}),
        ("rfft", [(64, 4096)], lambda F, L, x: L.fft.rfft(x).abs(), {}),
        ("irfft", [(64, 4096)], lambda F, L, x: L.fft.irfft(L.fft.rfft(x)), {}),
        ("fft2", [(64, 128, 128)], lambda F, L, x: L.fft.fft2(x).abs(), {}),
        ("det", [(256, 32, 32)], lambda F, L, x: L.linalg.det(x), {}),
        ("slogdet", [(256, 32, 32)], lambda F, L, x: L.linalg.slogdet(x)[1], {}),
        ("cholesky", [(256, 32, 32)], lambda F, L, x: L.linalg.cholesky(x @ x.mT + 32 * L.eye(32)), {}),
        ("eigh", [(64, 32, 32)], lambda F, L, x: L.linalg.eigh(x + x.mT)[0], {}),
        ("pinv", [(64, 48, 32)], lambda F, L, x: L.linalg.pinv(x), {}),
        ("lstsq", [(64, 48, 32), (64, 48, 4)], lambda F, L, a, b: L.linalg.lstsq(a, b).solution, {}),
        ("matrix_exp", [(64, 16, 16)], lambda F, L, x: L.linalg.matrix_exp(x * 0.1), {}),
        ("einsum bij,bjk", [(64, 128, 128)] * 2, lambda F, L, a, b: L.einsum("bij,bjk->bik", a, b), {}),
        ("baddbmm", [(64, 128, 128)] * 3, lambda F, L, c, a, b: L.baddbmm(c, a, b), {}),
        ("kron", [(64, 64), (32, 32)], lambda F, L, a, b: L.kron(a, b), {}),
    ]
    table["random"] += [
        ("randn", [], lambda F, L: L.randn(1024, 1024), dict(grad=False)),
        ("rand", [], lambda F, L: L.rand(1024, 1024), dict(grad=False)),
        ("randperm", [], lambda F, L: L.randperm(1 << 20), dict(grad=False)),
        ("multinomial", [(256, 1000)], lambda F, L, p: L.multinomial(p.abs() + 0.01, 100, replacement=True),
         dict(grad=False)),
        ("bernoulli", [BIG], lambda F, L, p: L.bernoulli(p.sigmoid()), dict(grad=False)),
    ]
    return table


def run(lib, fn, arrays, ints, grad):
    """A step of ``fn`` in ``lib`` (lucid or torch) on fresh leaves of ``arrays``."""
    functional = LF if lib is lucid else lib.nn.functional
    leaves = [lib.tensor(a, requires_grad=grad) for a in arrays]
    extra = [lib.tensor(i) for i in ints]

    def step():
        for t in leaves:
            t.grad = None
        out = fn(functional, lib, *leaves, *extra)
        if grad:
            out.sum().backward()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*")
    parser.add_argument("--flag", type=float, default=2.5, help="mark ratios above this")
    parser.add_argument("--calls", type=int, default=5, help="timed calls per case (median)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    table = cases(rng)
    for group in args.groups or list(table):
        for name, shapes, fn, options in table[group]:
            arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
            if options.get("positive"):
                arrays = [np.abs(a) + np.float32(0.1) for a in arrays]
            grad, ints = options.get("grad", True), options.get("ints", [])
            a = median_cpu_time(run(lucid, fn, arrays, ints, grad), args.calls)
            b = median_cpu_time(run(torch, fn, arrays, ints, grad), args.calls)
            flag = "  <<<" if a / b > args.flag else ""
            print(f"{group:6s} {name:24s} lucid {a * 1e3:9.2f} ms  torch {b * 1e3:9.2f} ms  ratio {a / b:6.2f}{flag}",
                  flush=True)


if __name__ == "__main__":
    main()
