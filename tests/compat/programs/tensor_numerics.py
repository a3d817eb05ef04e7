"""Tensor numerics from data-processing and evaluation code: group-by statistics with scatter_reduce and
index_reduce, binning with bucketize/histc/histogram/bincount, ranking with sort/argsort(stable)/unique/
searchsorted, quantiles in every interpolation mode, median/mode/kthvalue, integer division and remainder signs,
rounding, dtype promotion, clamping, windows and FFTs of real signals, and printing with set_printoptions."""

import numpy as np
import torch

rng = np.random.default_rng(11)
values = torch.from_numpy(rng.normal(size=60).astype(np.float32))
groups = torch.from_numpy(rng.integers(0, 5, size=60))

# group-by statistics
for reduce in ["sum", "prod", "mean", "amax", "amin"]:
    for include_self in [True, False]:
        out = torch.full((5,), 0.5).scatter_reduce(0, groups, values, reduce=reduce, include_self=include_self)
        print(reduce, include_self, out)
print(torch.zeros(5).index_add(0, groups, values), torch.bincount(groups), torch.bincount(groups, weights=values))
print(torch.ones(5, 2).index_reduce_(0, groups[:8], values[:16].reshape(8, 2), "amax", include_self=False))
print(
    torch.zeros(5).scatter_add(0, groups, torch.ones(60)),
    torch.zeros(3, 4).scatter_(1, torch.tensor([[0, 2], [1, 3], [3, 3]]), 1.0),
)

# binning
edges = torch.tensor([-1.0, -0.25, 0.0, 0.5, 1.5])
print(torch.bucketize(values[:10], edges), torch.bucketize(values[:10], edges, right=True))
print(torch.searchsorted(edges, values[:10]), torch.searchsorted(edges, torch.tensor([0.0, 0.5]), side="right"))
unsorted = torch.tensor([3.0, -1.0, 2.0, 0.0])
print(torch.searchsorted(unsorted, torch.tensor([0.5, 2.5]), sorter=torch.argsort(unsorted)))
print(torch.histc(values, bins=6, min=-2, max=2), torch.histc(values, bins=4))
print(torch.histogram(values, bins=5))
print(torch.histogram(values, bins=torch.tensor([-3.0, -1.0, 0.0, 1.0, 3.0]), density=True))

# ranking and de-duplication
ranks = torch.tensor([3, 1, 2, 1, 3, 3, 0, 2, 1])
print(torch.sort(ranks, stable=True), torch.argsort(ranks, descending=True, stable=True))
print(torch.unique(ranks, return_inverse=True, return_counts=True), torch.unique(ranks, sorted=False))
print(torch.unique_consecutive(ranks, return_counts=True), torch.unique(ranks.reshape(3, 3), dim=1))
print(torch.topk(values, 4), torch.topk(values, 3, largest=False).indices)
print(torch.median(ranks), torch.mode(ranks), torch.nanmedian(torch.tensor([1.0, float("nan"), 3.0, 2.0])))
print(torch.kthvalue(values, 7), torch.median(values.reshape(6, 10), 1))
print(
    torch.cummax(values[:8], 0), torch.cumsum(ranks, 0), torch.cumprod(ranks[:5], 0), torch.logcumsumexp(values[:6], 0)
)

# quantiles
q = torch.tensor([0.1, 0.25, 0.5, 0.9])
for mode in ["linear", "lower", "higher", "midpoint", "nearest"]:
    print(
        mode,
        torch.quantile(values, q, interpolation=mode),
        torch.nanquantile(values.reshape(6, 10), 0.3, dim=1, interpolation=mode),
    )

# integer arithmetic and rounding
a = torch.tensor([7, -7, 7, -7, 0, 9])
b = torch.tensor([2, 2, -2, -2, 3, -4])
print(
    a // b,
    a % b,
    torch.fmod(a, b),
    torch.div(a, b, rounding_mode="trunc"),
    torch.div(a, b, rounding_mode="floor"),
    a / b,
)
af = a.float()
print(af % b, torch.remainder(af, -1.5), torch.fmod(af, 2.5), af // 0.75)
print(
    torch.round(torch.tensor([0.5, 1.5, 2.5, -0.5, -2.5, 1.2345, 2.675])),
    torch.round(torch.tensor([1.2345, -7.865, 1234.5]), decimals=2),
    torch.round(torch.tensor([1250.0, 1350.0]), decimals=-2),
)
i = torch.tensor([5, -3, 12], dtype=torch.int32)
print(i & 6, i | 1, i ^ 3, ~i, i << 2, i >> 1, torch.tensor([200], dtype=torch.uint8) + 100)
print(
    (a + 1.5).dtype,
    (a * True).dtype,
    (torch.tensor([True]) + 1).dtype,
    (torch.tensor([1], dtype=torch.int8) + torch.tensor(1000)).dtype,
    (torch.ones(2, dtype=torch.float16) + torch.tensor(1.0, dtype=torch.float64)).dtype,
    (a / 2).dtype,
    torch.result_type(a, 2.0),
)
x = torch.tensor([-2.0, 0.5, 3.0, float("nan"), float("inf")])
print(
    x.clamp(-1, 1),
    x.clamp(min=torch.zeros(5), max=torch.full((5,), 2.0)),
    torch.nan_to_num(x),
    torch.nan_to_num(x, nan=0.0, posinf=9.0),
)
print(torch.isclose(x, x + 1e-6), torch.isclose(x, x, equal_nan=True), torch.allclose(x[:3], x[:3] + 1e-9))
print(
    torch.finfo(torch.float32).eps,
    torch.finfo(torch.float16).max,
    torch.iinfo(torch.int16).min,
    torch.finfo(torch.complex64).tiny,
)

# windows and spectra of real signals
for name in ["hann_window", "hamming_window", "blackman_window", "bartlett_window"]:
    print(name, getattr(torch, name)(8), getattr(torch, name)(7, periodic=False).sum().item())
signal = torch.from_numpy(rng.normal(size=(4, 6)).astype(np.float32))
print(torch.fft.fft2(signal), torch.fft.fft(signal[0]), torch.fft.ifft(signal[0]))
print(torch.fft.rfft(signal, n=8, norm="ortho").abs(), torch.fft.irfft(torch.fft.rfft(signal), n=6))
print(torch.fft.fftshift(torch.fft.fftfreq(6)), torch.fft.rfftfreq(8, d=0.1))

# printing
print(torch.arange(2000.0).reshape(40, 50) / 7)
print(
    torch.tensor([1e-5, 1.0, 123456.0]),
    torch.tensor([1.0, 2.0]),
    torch.tensor([[True, False]]),
    torch.tensor([1 + 2j, -0.5j]),
)
torch.set_printoptions(precision=2, linewidth=60)
print(values[:12].reshape(3, 4), torch.tensor([1e-8, 1.0]))
torch.set_printoptions(sci_mode=True)
print(values[:3])
torch.set_printoptions(profile="default")
print(values[:3].requires_grad_(), values[:3].requires_grad_() * 2, torch.tensor(2.5, dtype=torch.float64))
