"""Spectral ops: the discrete Fourier transforms of ``lucid.fft``, ``stft``/``istft`` and the window functions.

The transforms run on the array API's ``fft`` extension (``xp.fft``) and follow ``torch.fft``: ``n``/``s`` pad
with zeros or trim the input first, ``dim`` picks the axes, ``norm`` is ``"backward"`` (default: the inverse
divides by n), ``"ortho"`` or ``"forward"``. Real input to a complex transform becomes complex; integer input
the default float dtype; float16 and bfloat16 compute in float32 (PyTorch's CPU refuses them: a choice).
Gradients are PyTorch's: the adjoint transform with the dual normalisation; ``rfft``'s pads the gradient with
zeros to the full length and takes the real part, ``irfft``'s is an ``rfft`` with the mirrored bins doubled.
The ``hfft`` family is ``irfft``/``rfft`` of the conjugate with the normalisation swapped, as in NumPy.
"""

from __future__ import annotations

import math
import operator

from .. import dtypes as _dt
from .._backend import arrays
from .._backend.device import device as _device
from .._tensor import Tensor
from ..autograd.function import FLOAT32, Function
from .complexes import conj, view_as_real
from .indexing import scatter_add
from .shape import cat, pad

__all__ = [
    "stft", "istft", "hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window",
]

_NORMS = ("backward", "ortho", "forward")
_DUAL = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


# ---- the three differentiable transforms (on already sized inputs) ----------------------------------
class FFTn(Function):
    """Complex-to-complex transform over ``axes`` (``inverse``: the inverse one); the gradient is the
    adjoint: the opposite transform with the dual normalisation."""
    autocast_policy = {"cpu": FLOAT32}  # see lucid.amp.autocast (CPU only, as PyTorch)

    def forward(self, x, axes, norm, inverse):
        self.axes, self.norm, self.inverse = axes, norm, inverse
        fn = self.xp.fft.ifftn if inverse else self.xp.fft.fftn
        return fn(x, axes=axes, norm=norm)

    def backward(self, g):
        return FFTn.apply(g, axes=self.axes, norm=_DUAL[self.norm], inverse=not self.inverse)


class RFFTn(Function):
    """Real-to-complex transform over ``axes`` (the last one halved to n // 2 + 1 bins)."""
    autocast_policy = {"cpu": FLOAT32}  # see lucid.amp.autocast (CPU only, as PyTorch)

    def forward(self, x, axes, norm):
        self.axes, self.norm, self.n = axes, norm, x.shape[axes[-1]]
        return self.xp.fft.rfftn(x, axes=axes, norm=norm)

    def backward(self, g):
        last = self.axes[-1]
        widths = [0, 0] * (g.ndim - 1 - last) + [0, self.n - g.shape[last]]
        full = pad(g, widths)  # the bins the transform dropped get no gradient
        return FFTn.apply(full, axes=self.axes, norm=_DUAL[self.norm], inverse=True).real


class IRFFTn(Function):
    """Complex-to-real inverse of :class:`RFFTn` giving ``n`` samples on the last axis (the input has n // 2 + 1)."""
    autocast_policy = {"cpu": FLOAT32}  # see lucid.amp.autocast (CPU only, as PyTorch)

    def forward(self, x, axes, norm, n):
        self.axes, self.norm, self.n = axes, norm, n
        s = tuple(x.shape[a] for a in axes[:-1]) + (n,)
        return self.xp.fft.irfftn(x, s=s, axes=axes, norm=norm)

    def backward(self, g):
        grad = RFFTn.apply(g, axes=self.axes, norm=_DUAL[self.norm])
        last, m = self.axes[-1], grad.shape[self.axes[-1]]
        mirrored = self.n - m  # the bins that stand for two (k and n - k), as in PyTorch's backward
        if mirrored > 0:
            weight = [1.0] + [2.0] * mirrored + [1.0] * (m - 1 - mirrored)
            shape = [1] * grad.ndim
            shape[last] = m
            grad = grad * Tensor(weight, dtype=grad.dtype.to_real(), device=grad.device).reshape(shape)
        return grad


# ---- argument handling -----------------------------------------------------------------------------
def _check_norm(norm, name):
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise ValueError(f"{name}: invalid norm {norm!r}; expected one of None, 'backward', 'ortho', 'forward'")
    return norm


def _dims(x: Tensor, dim, s, name, default=None):
    """``(axes, sizes)``: the transform's axes in the given order and the size of each (None: keep)."""
    if dim is None and s is not None:
        dim = tuple(range(-len(s), 0))
    elif dim is None:
        dim = default if default is not None else tuple(range(x.ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = []
    for d in dims:
        d = operator.index(d)
        if not -x.ndim <= d < x.ndim:
            raise IndexError(f"{name}: dimension {d} is out of range for a tensor of shape {x.shape}")
        axes.append(d % x.ndim)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"{name}: dims {dims} repeat a dimension")
    if s is None:
        return tuple(axes), (None,) * len(axes)
    s = tuple(s)
    if len(s) != len(axes):
        raise RuntimeError(f"{name}: s has {len(s)} sizes for {len(axes)} dimensions")
    sizes = tuple(None if n == -1 else operator.index(n) for n in s)
    for n in sizes:
        if n is not None and n < 1:
            raise RuntimeError(f"{name}: invalid number of data points ({n}); it must be at least 1")
    return tuple(axes), sizes


def _resize(x: Tensor, axes, sizes) -> Tensor:
    """``x`` zero-padded or trimmed at the end of each axis to its size (None: as it is)."""
    widths = [0] * (2 * x.ndim)
    for a, n in zip(axes, sizes):
        if n is not None and n != x.shape[a]:
            widths[2 * (x.ndim - 1 - a) + 1] = n - x.shape[a]
    return pad(x, widths) if any(widths) else x


def _as_complex(x: Tensor) -> Tensor:
    kind = x.dtype.kind
    if kind == "c":
        return x
    if kind != "f" or x.dtype.itemsize < 4:
        x = x.to(_dt.get_default_dtype() if kind != "f" else _dt.float32)
    return x.to(x.dtype.to_complex())


def _as_real(x: Tensor, name: str) -> Tensor:
    kind = x.dtype.kind
    if kind == "c":
        raise RuntimeError(f"{name} expects a real input tensor, got {x.dtype.name}")
    if kind != "f":
        return x.to(_dt.get_default_dtype())
    return x.to(_dt.float32) if x.dtype.itemsize < 4 else x


def _c2c(x, s, dim, norm, inverse, name, default=None):
    axes, sizes = _dims(x, dim, s, name, default)
    norm = _check_norm(norm, name)
    if x.dtype.kind == "c":
        return FFTn.apply(_resize(x, axes, sizes), axes=axes, norm=norm, inverse=inverse)
    # real input, as PyTorch: the one-sided transform, the rest by Hermitian symmetry (so the bins that are real,
    # as the zero frequency's, come out exactly real); the inverse is the conjugate of the dually scaled forward
    half = RFFTn.apply(_resize(_as_real(x, name), axes, sizes), axes=axes, norm=_DUAL[norm] if inverse else norm)
    full = _hermitian_completion(half, axes, x.shape[axes[-1]] if sizes[-1] is None else sizes[-1])
    return conj(full) if inverse else full


def _hermitian_completion(half, axes, n):
    """The full spectrum of a real signal from its ``n // 2 + 1`` non-negative frequencies on the last of ``axes``:
    bin ``k`` of the rest is the conjugate of bin ``-k`` (mod each axis' size)."""
    last = axes[-1]
    mirror = half.narrow(last, 1, n - n // 2 - 1).flip(last)
    for a in axes[:-1]:
        mirror = mirror.flip(a).roll(1, a)
    return cat([half, conj(mirror)], last)


def _r2c(x, s, dim, norm, name, default=None):
    axes, sizes = _dims(x, dim, s, name, default)
    return RFFTn.apply(_resize(_as_real(x, name), axes, sizes), axes=axes, norm=_check_norm(norm, name))


def _c2r(x, s, dim, norm, name, default=None):
    axes, sizes = _dims(x, dim, s, name, default)
    n = sizes[-1] if sizes[-1] is not None else 2 * (x.shape[axes[-1]] - 1)
    if n < 1:
        raise RuntimeError(f"{name}: invalid number of data points ({n}) for an input of shape {x.shape}")
    x = _resize(_as_complex(x), axes, sizes[:-1] + (n // 2 + 1,))
    return IRFFTn.apply(x, axes=axes, norm=_check_norm(norm, name), n=n)


def _one(n):
    return None if n is None else (n,)


# ---- torch.fft -----------------------------------------------------------------------------------
def fft(input, n=None, dim=-1, norm=None):  # noqa: A002  (torch's argument names)
    """The one-dimensional discrete Fourier transform along ``dim`` (length ``n``: padded or trimmed)."""
    return _c2c(input, _one(n), dim, norm, False, "fft")


def ifft(input, n=None, dim=-1, norm=None):  # noqa: A002
    """The inverse of :func:`fft`."""
    return _c2c(input, _one(n), dim, norm, True, "ifft")


def fft2(input, s=None, dim=(-2, -1), norm=None):  # noqa: A002
    """The two-dimensional transform over ``dim`` (the last two by default)."""
    return _c2c(input, s, dim, norm, False, "fft2")


def ifft2(input, s=None, dim=(-2, -1), norm=None):  # noqa: A002
    """The inverse of :func:`fft2`."""
    return _c2c(input, s, dim, norm, True, "ifft2")


def fftn(input, s=None, dim=None, norm=None):  # noqa: A002
    """The N-dimensional transform over ``dim`` (all dimensions, or the last ``len(s)``, by default)."""
    return _c2c(input, s, dim, norm, False, "fftn")


def ifftn(input, s=None, dim=None, norm=None):  # noqa: A002
    """The inverse of :func:`fftn`."""
    return _c2c(input, s, dim, norm, True, "ifftn")


def rfft(input, n=None, dim=-1, norm=None):  # noqa: A002
    """The transform of real input: only the n // 2 + 1 non-negative frequencies."""
    return _r2c(input, _one(n), dim, norm, "rfft")


def irfft(input, n=None, dim=-1, norm=None):  # noqa: A002
    """The inverse of :func:`rfft`: ``n`` real samples (default ``2 * (m - 1)`` from m bins)."""
    return _c2r(input, _one(n), dim, norm, "irfft")


def rfft2(input, s=None, dim=(-2, -1), norm=None):  # noqa: A002
    """:func:`rfft` over two dimensions (the last one halved)."""
    return _r2c(input, s, dim, norm, "rfft2")


def irfft2(input, s=None, dim=(-2, -1), norm=None):  # noqa: A002
    """The inverse of :func:`rfft2`."""
    return _c2r(input, s, dim, norm, "irfft2")


def rfftn(input, s=None, dim=None, norm=None):  # noqa: A002
    """:func:`rfft` over ``dim`` (the last one halved)."""
    return _r2c(input, s, dim, norm, "rfftn")


def irfftn(input, s=None, dim=None, norm=None):  # noqa: A002
    """The inverse of :func:`rfftn`."""
    return _c2r(input, s, dim, norm, "irfftn")


def _hermitian(suffix, default=None):
    """``hfft<suffix>`` (a real signal from the half spectrum of a Hermitian one) and ``ihfft<suffix>`` (its
    inverse): the real transforms of the conjugate with the normalisation swapped (NumPy's definition)."""

    def hfft_(input, s=None, dim=default, norm=None):  # noqa: A002
        norm = _DUAL[_check_norm(norm, "hfft" + suffix)]
        return _c2r(conj(_as_complex(input)), s, dim, norm, "hfft" + suffix, default)

    def ihfft_(input, s=None, dim=default, norm=None):  # noqa: A002
        norm = _DUAL[_check_norm(norm, "ihfft" + suffix)]
        return conj(_r2c(input, s, dim, norm, "ihfft" + suffix, default))

    for fn, name, doc in ((hfft_, "hfft" + suffix, "The transform of a Hermitian-symmetric signal given by its "
                           "first half (over ``dim``): real values."), (ihfft_, "ihfft" + suffix, "The inverse of "
                           "hfft" + suffix + ": the half spectrum of a real signal, conjugated.")):
        fn.__name__ = fn.__qualname__ = name
        fn.__doc__ = doc
    return hfft_, ihfft_


_hfft1, _ihfft1 = _hermitian("", -1)
hfft2, ihfft2 = _hermitian("2", (-2, -1))
hfftn, ihfftn = _hermitian("n")


def hfft(input, n=None, dim=-1, norm=None):  # noqa: A002
    """The transform of a Hermitian-symmetric signal given by its first half: ``n`` real values."""
    return _hfft1(input, _one(n), dim, norm)


def ihfft(input, n=None, dim=-1, norm=None):  # noqa: A002
    """The inverse of :func:`hfft`: the n // 2 + 1 bins of the transform of a real signal, conjugated and scaled."""
    return _ihfft1(input, _one(n), dim, norm)



def _frequencies(xp_fn, n, d, dtype, device, requires_grad, name):
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"{name}: n must be non-negative, got {n}")
    dev = _device(device)
    dt = _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    if dt.kind != "f":  # integer frequencies would all truncate to 0; PyTorch refuses them (and complex)
        raise TypeError(f"{name} needs a floating dtype, got {dt.name}")
    if n == 0:  # PyTorch's results: no frequencies, and rfftfreq's one entry 0 / 0 (the array API's divides by n)
        count = 1 if name == "rfftfreq" else 0
        out = Tensor._make(dev.xp.full((count,), math.nan, device=dev.native), dev).to(dt)
    else:
        out = Tensor._make(xp_fn(n, d=d, device=dev.native), dev).to(dt)
    return out.requires_grad_(True) if requires_grad else out


def fftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The sample frequencies of an ``n``-point transform with sample spacing ``d``: 0, 1, ..., -1 over n d."""
    return _frequencies(_device(device).xp.fft.fftfreq, n, d, dtype, device, requires_grad, "fftfreq")


def rfftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The n // 2 + 1 non-negative sample frequencies of an ``n``-point :func:`rfft`."""
    return _frequencies(_device(device).xp.fft.rfftfreq, n, d, dtype, device, requires_grad, "rfftfreq")


def _shift(x: Tensor, dim, sign):
    dims = tuple(range(x.ndim)) if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    if not dims:
        return x
    return x.roll(tuple(sign * (x.shape[d] // 2) for d in dims), tuple(dims))


def fftshift(input, dim=None):  # noqa: A002
    """The zero frequency moved to the centre of ``dim`` (all dimensions by default)."""
    return _shift(input, dim, 1)


def ifftshift(input, dim=None):  # noqa: A002
    """The inverse of :func:`fftshift`."""
    return _shift(input, dim, -1)


# ---- windows ----------------------------------------------------------------------------------
def _window_args(name, length, dtype, device):
    """The checked ``(length, device, dtype)`` of a window (the default dtype when ``dtype`` is None)."""
    length = operator.index(length)
    if length < 0:
        raise ValueError(f"{name}: window_length must be non-negative, got {length}")
    dt = _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    if dt.kind != "f":
        raise TypeError(f"{name} expects a floating dtype, got {dt.name}")
    return length, _device(device), dt


def _window(name, length, periodic, dtype, device, requires_grad, formula):
    """``formula(xp, k, m)`` for k < length, with ``M = length + 1`` when ``periodic`` (one period of a longer
    symmetric window, for spectral analysis), computed in float64."""
    length, dev, dt = _window_args(name, length, dtype, device)
    xp = dev.xp
    if length <= 1:
        arr = xp.ones((length,), dtype=xp.float64, device=dev.native)
    else:
        m = length + 1 if periodic else length
        k = xp.arange(length, dtype=xp.float64, device=dev.native)
        arr = formula(xp, k, m)
    out = Tensor._make(arr, dev).to(dt)
    return out.requires_grad_(True) if requires_grad else out


def _cosines(*coefficients):
    def formula(xp, k, m):
        t = 2 * math.pi * k / (m - 1)
        return sum(c * xp.cos(i * t) for i, c in enumerate(coefficients))

    return formula


def _stepwise_window(name, length, periodic, dtype, device, requires_grad, formula):
    """``formula(xp, k, m, cos)`` on ``k = 0 .. M-1`` in the window's dtype,
    ``M = length + 1`` when ``periodic``, cut to ``length``. PyTorch's window factories compute step by step in
    the window's dtype, so the formulas follow their order of operations, with ``cos`` rounded from float64: a
    float32 window then equals PyTorch's in ~97% of the elements and is within an ulp elsewhere (one float64
    evaluation rounded at the end differs in 2 of 3, and shows float64's ``-1.4e-17`` for PyTorch's ``-3.0e-08``
    at the ends of a Blackman window)."""
    length, dev, dt = _window_args(name, length, dtype, device)
    xp = dev.xp
    native = dev.backend.native_dtype(dt)
    if length <= 1:
        arr = xp.ones((length,), dtype=native, device=dev.native)
    else:
        m = length + 1 if periodic else length

        def cos(t):
            return xp.astype(xp.cos(xp.astype(t, xp.float64)), native)

        arr = formula(xp, xp.arange(m, dtype=native, device=dev.native), m, cos)[:length]
    out = Tensor._make(arr, dev).to(dt)
    return out.requires_grad_(True) if requires_grad else out


def hann_window(window_length, periodic=True, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The Hann window ``0.5 - 0.5 cos(2 pi k / (M - 1))``: :func:`hamming_window` with ``alpha = beta = 0.5``."""
    return hamming_window(window_length, periodic, 0.5, 0.5, dtype=dtype, device=device, requires_grad=requires_grad)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, device=None,
                   requires_grad=False) -> Tensor:
    """The Hamming window ``alpha - beta cos(2 pi k / (M - 1))``."""
    def formula(xp, k, m, cos):
        return cos(k * (math.pi * 2.0 / (m - 1))) * -beta + alpha

    return _stepwise_window("hamming_window", window_length, periodic, dtype, device, requires_grad, formula)


def blackman_window(window_length, periodic=True, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The Blackman window ``0.42 - 0.5 cos(2 pi k / (M - 1)) + 0.08 cos(4 pi k / (M - 1))``."""
    def formula(xp, k, m, cos):
        t = k * (math.pi / (m - 1))
        return cos(t * 4) * 0.08 - cos(t * 2) * 0.5 + 0.42

    return _stepwise_window("blackman_window", window_length, periodic, dtype, device, requires_grad, formula)


def _bartlett(xp, k, m):
    return 1 - xp.abs(2 * k / (m - 1) - 1)


def bartlett_window(window_length, periodic=True, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The triangular Bartlett window ``1 - |2 k / (M - 1) - 1|``."""
    def formula(xp, k, m, cos):
        t = k * (2.0 / (m - 1))
        return xp.where(k >= (m - 1) // 2 + 1, 2 - t, t)

    return _stepwise_window("bartlett_window", window_length, periodic, dtype, device, requires_grad, formula)


def _i0(xp, x):
    """The modified Bessel function I0 by its power series (converges for every x; 60 terms reach float64
    precision up to x of about 50)."""
    term, total, q = xp.ones_like(x), xp.ones_like(x), (x / 2) ** 2
    for k in range(1, 60 + int(max(0.0, float(xp.max(x)) if x.shape[0] else 0.0))):
        term = term * q / (k * k)
        total = total + term
    return total


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, device=None,
                  requires_grad=False) -> Tensor:
    """The Kaiser window ``I0(beta sqrt(1 - (2 k / (M - 1) - 1)^2)) / I0(beta)``."""
    def formula(xp, k, m):
        r = 2 * k / (m - 1) - 1
        beta_array = xp.full_like(k[:1], float(beta))
        return _i0(xp, beta * xp.sqrt(arrays.clip(xp, 1 - r * r, 0.0, None))) / _i0(xp, beta_array)

    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad, formula)


# ---- short-time Fourier transform ---------------------------------------------------------------
def _stft_window(window, n_fft, win_length, x, name):
    """The window as ``n_fft`` samples: ones of ``win_length`` by default, centred with zeros when shorter."""
    win_length = n_fft if win_length is None else operator.index(win_length)
    if not 0 < win_length <= n_fft:
        raise RuntimeError(f"{name}: expected 0 < win_length <= n_fft, got win_length={win_length}, n_fft={n_fft}")
    if window is None:
        window = Tensor._make(x.xp.ones((win_length,), dtype=x._data.dtype if x.dtype.kind == "f" else
                                        x.xp.float32, device=x._device.native), x._device)
    if window.ndim != 1 or window.shape[0] != win_length:
        raise RuntimeError(f"{name}: expected a 1-D window of win_length={win_length} samples, got shape "
                           f"{window.shape}")
    left = (n_fft - win_length) // 2
    return pad(window, (left, n_fft - win_length - left)) if win_length < n_fft else window


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",  # noqa: A002
         normalized=False, onesided=None, return_complex=None) -> Tensor:
    """The short-time Fourier transform of a 1-D signal or a batch ``(B, L)``, as ``torch.stft``: frames of
    ``n_fft`` samples every ``hop_length`` (default n_fft // 4), windowed, transformed; the result is
    ``(B?, freq, frames)``. ``return_complex`` must be given for real input, as PyTorch requires."""
    x = input
    if return_complex is None:
        if x.dtype.kind != "c" and (window is None or window.dtype.kind != "c"):
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will "
                               "further require that return_complex=True in a future PyTorch release.")
        return_complex = True
    if x.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1-D or 2-D (batch, length) input, got shape {x.shape}")
    n_fft = operator.index(n_fft)
    hop = n_fft // 4 if hop_length is None else operator.index(hop_length)
    if hop <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, got {hop}")
    w = _stft_window(window, n_fft, win_length, x, "stft")
    batched = x.ndim == 2
    x = x if batched else x.reshape(1, x.shape[0])
    if center:
        x = pad(x, (n_fft // 2, n_fft // 2), mode=pad_mode)
    if not 0 < n_fft <= x.shape[-1]:
        raise RuntimeError(f"stft: expected 0 < n_fft <= {x.shape[-1]} (the padded signal length), got {n_fft}")
    frames = x.unfold(-1, n_fft, hop) * w  # (B, frames, n_fft)
    onesided = (x.dtype.kind != "c" and w.dtype.kind != "c") if onesided is None else onesided
    norm = "ortho" if normalized else "backward"
    spec = rfft(frames, dim=-1, norm=norm) if onesided else fft(frames, dim=-1, norm=norm)
    spec = spec.transpose(-1, -2)
    spec = spec if batched else spec.reshape(spec.shape[1:])
    return spec if return_complex else view_as_real(spec)


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,  # noqa: A002
          onesided=None, length=None, return_complex=False) -> Tensor:
    """The inverse of :func:`stft` by windowed overlap-add, divided by the summed squared window (as
    ``torch.istft``; raises where that envelope is zero, as PyTorch)."""
    spec = input
    if spec.dtype.kind != "c":
        raise RuntimeError(f"istft requires a complex-valued input tensor, got {spec.dtype.name}")
    if spec.ndim not in (2, 3):
        raise RuntimeError(f"istft: expected a 2-D (freq, frames) or 3-D (batch, freq, frames) input, got "
                           f"shape {spec.shape}")
    n_fft = operator.index(n_fft)
    hop = n_fft // 4 if hop_length is None else operator.index(hop_length)
    batched = spec.ndim == 3
    spec = spec if batched else spec.reshape(1, *spec.shape)
    onesided = spec.shape[-2] != n_fft if onesided is None else onesided
    if onesided and spec.shape[-2] != n_fft // 2 + 1:
        raise RuntimeError(f"istft: a one-sided input needs n_fft // 2 + 1 = {n_fft // 2 + 1} frequencies, got "
                           f"{spec.shape[-2]}")
    if return_complex and onesided:
        raise RuntimeError("istft: return_complex=True needs a two-sided input (onesided=False)")
    real = spec.real
    w = _stft_window(window, n_fft, win_length, real, "istft")
    norm = "ortho" if normalized else "backward"
    frames = spec.transpose(-1, -2)  # (B, frames, freq)
    frames = irfft(frames, n=n_fft, dim=-1, norm=norm) if onesided else ifft(frames, dim=-1, norm=norm)
    if not return_complex and frames.dtype.kind == "c":
        frames = frames.real
    frames = frames * w
    count = frames.shape[1]
    total = n_fft + hop * (count - 1)
    starts = Tensor._make(real.xp.arange(count, device=real._device.native), real._device) * hop
    positions = (starts.reshape(count, 1) + Tensor._make(real.xp.arange(n_fft, device=real._device.native),
                                                         real._device)).reshape(1, count * n_fft)
    batch = frames.shape[0]
    signal = scatter_add(_zeros(frames, (batch, total)), 1, positions.expand(batch, count * n_fft),
                         frames.reshape(batch, count * n_fft))
    with_window = (w * w).reshape(1, n_fft).expand(count, n_fft).reshape(1, count * n_fft)
    envelope = scatter_add(_zeros(with_window, (1, total)), 1, positions, with_window)
    start = n_fft // 2 if center else 0
    end = total - n_fft // 2 if center else total
    if length is not None:
        end = start + operator.index(length)
    signal, envelope = signal[:, start:min(end, total)], envelope[:, start:min(end, total)]
    if bool((envelope.abs() < 1e-11).any()):
        raise RuntimeError("istft: window overlap-add envelope has zeros (the window and hop_length do not satisfy "
                           "the NOLA condition); choose a window and hop_length whose squared windows overlap")
    signal = signal / envelope
    if length is not None and end > total:
        signal = pad(signal, (0, end - total))
    return signal if batched else signal.reshape(signal.shape[1:])


def _zeros(like: Tensor, shape) -> Tensor:
    return Tensor._make(like.xp.zeros(shape, dtype=like._data.dtype, device=like._device.native), like._device)


METHODS = {"stft": stft, "istft": istft}
INPLACE = ()
