"""Gradcheck cases of the complex and spectral ops (lucid.ops.complexes, lucid.ops.spectral, lucid.fft).

gradcheck is real-valued, so complex paths are checked through real wrappers: a complex input is a float64
tensor of (real, imaginary) pairs on a last axis of size 2 (``C(*shape)``) turned complex with
``view_as_complex``, and a complex output goes back with ``view_as_real``. So every case also checks
PyTorch's convention for complex gradients end to end."""

from __future__ import annotations

from gradcheck_specs import GRID8, N, P, add

import lucid


def C(*shape):
    """A complex128 input as (real, imaginary) float64 pairs: shape ``(*shape, 2)``."""
    return N(*shape, 2)


def _z(x):
    return lucid.view_as_complex(x)


def _out(y):
    return lucid.view_as_real(y) if y.dtype.kind == "c" else y


def cx(fn):
    """``fn`` on complex inputs made from pairs, with a complex result turned back into pairs."""
    def run(*xs):
        return _out(fn(*(_z(x) for x in xs)))

    return run


# ---- complex parts, conjugates, views ----------------------------------------------------------------
add("lucid.real", cx(lucid.real), C(3, 2), also={"Tensor.real"})
add("lucid.real", lambda x: lucid.real(x) * 2, N(3), variant="real input")
add("lucid.imag", cx(lucid.imag), C(3, 2), also={"Tensor.imag"})
add("lucid.conj", cx(lucid.conj), C(4), also={"Tensor.conj"})
add("lucid.conj_physical", cx(lambda z: z.conj_physical() * (1 + 2j)), C(4), also={"Tensor.conj_physical"})
add("lucid.resolve_conj", cx(lambda z: lucid.resolve_conj(z.conj())), C(3), also={"Tensor.resolve_conj"})
add("lucid.resolve_neg", cx(lambda z: lucid.resolve_neg(-z)), C(3), also={"Tensor.resolve_neg"})
add("lucid.angle", cx(lucid.angle), C(5), also={"Tensor.angle"})
add("lucid.angle", lucid.angle, N(4), variant="real input")
add("lucid.complex", lambda a, b: _out(lucid.complex(a, b) ** 2), N(3), N(3))
add("lucid.complex", lambda a, b: _out(lucid.complex(a, b)), N(2, 3), N(3), variant="broadcast")
add("lucid.polar", lambda r, t: _out(lucid.polar(r, t)), P(4), N(4))
add("lucid.view_as_real", cx(lambda z: z * z), C(3))
add("lucid.view_as_complex", lambda x: lucid.view_as_complex(x).abs(), N(3, 2))
add("lucid.sgn", cx(lucid.sgn), C(4), also={"Tensor.sgn"})
add("lucid.sgn", lambda x: lucid.sgn(x) * x, N(4), variant="real")
add("Tensor.sgn_", cx(lambda z: z.clone().sgn_()), C(3))
add("Tensor.conj_physical_", cx(lambda z: (z * 1).conj_physical_()), C(3))
add("lucid.view_as_real_copy", cx(lambda z: lucid.view_as_real_copy(z) ** 2), C(3))
add("lucid.view_as_complex_copy", lambda x: lucid.view_as_complex_copy(x).abs(), N(3, 2))
add("lucid.adjoint", cx(lucid.adjoint), C(2, 3), also={"Tensor.adjoint", "Tensor.mH"})
add("Tensor.H", cx(lambda z: z.H @ z), C(3, 2))
add("Tensor.cdouble", lambda x: _out(x.cdouble() * (1 - 1j)), N(3))
add("Tensor.cfloat", lambda x: _out(x.cfloat() * 1j).double(), GRID8(3), eps=0.125)
add("Tensor.bfloat16", lambda x: x.bfloat16().double(), GRID8(3), eps=0.125, rtol=1e-2,
    needs="bfloat16")  # rtol: an 8-bit mantissa

# ---- PyTorch's convention for complex gradients through the core ops ------------------------------------
add("lucid.mul", cx(lambda a, b: a * b), C(3), C(3), variant="complex")
add("lucid.mul", lambda a, b: _out(_z(a) * b), C(3), N(3), variant="complex times real")
add("lucid.div", cx(lambda a, b: a / b), C(3), C(3), variant="complex")
add("lucid.add", cx(lambda a, b: a + b * 2j), C(3), C(1), variant="complex")
add("lucid.sub", cx(lambda a, b: a - b), C(2, 3), C(3), variant="complex")
add("lucid.matmul", cx(lambda a, b: a @ b), C(2, 3), C(3, 2), variant="complex")
add("lucid.sum", cx(lambda z: z.sum(dim=0)), C(3, 2), variant="complex")
add("lucid.mean", cx(lambda z: z.mean()), C(3, 2), variant="complex")
add("lucid.exp", cx(lucid.exp), C(4), variant="complex")
add("lucid.abs", cx(lucid.abs), C(4), variant="complex")
add("lucid.sin", cx(lambda z: z.sin() * z.log()), C(4), variant="complex")

# ---- lucid.fft ---------------------------------------------------------------------------------------
for _norm in ("backward", "ortho", "forward"):
    add("fft.fft", cx(lambda z, n=_norm: lucid.fft.fft(z, norm=n)), C(2, 5), variant=_norm)
    add("fft.ifft", cx(lambda z, n=_norm: lucid.fft.ifft(z, n=7, dim=0, norm=n)), C(4, 2), variant=_norm)
    add("fft.rfft", lambda x, n=_norm: _out(lucid.fft.rfft(x, norm=n)), N(2, 6), variant=_norm)
    add("fft.irfft", cx(lambda z, n=_norm: lucid.fft.irfft(z, n=7, norm=n)), C(2, 4), variant=_norm)
add("fft.fft", lambda x: _out(lucid.fft.fft(x, n=4)), N(5), variant="real input, trimmed")
add("fft.rfft", lambda x: _out(lucid.fft.rfft(x, n=8)), N(5), variant="padded")
add("fft.irfft", cx(lucid.fft.irfft), C(5), variant="even default n")
add("fft.fft2", cx(lambda z: lucid.fft.fft2(z, s=(3, 4))), C(2, 3, 3))
add("fft.ifft2", cx(lucid.fft.ifft2), C(3, 4))
add("fft.fftn", cx(lambda z: lucid.fft.fftn(z, dim=(2, 0))), C(2, 3, 3))
add("fft.ifftn", cx(lambda z: lucid.fft.ifftn(z, norm="ortho")), C(2, 3))
add("fft.rfft2", lambda x: _out(lucid.fft.rfft2(x)), N(3, 4))
add("fft.irfft2", cx(lambda z: lucid.fft.irfft2(z, s=(3, 5))), C(3, 3))
add("fft.rfftn", lambda x: _out(lucid.fft.rfftn(x, dim=(0, 1))), N(3, 5, 2))
add("fft.irfftn", cx(lucid.fft.irfftn), C(2, 3))
add("fft.hfft", cx(lambda z: lucid.fft.hfft(z, n=6)), C(4))
add("fft.ihfft", lambda x: _out(lucid.fft.ihfft(x)), N(5))
add("fft.hfft2", cx(lucid.fft.hfft2), C(3, 3))
add("fft.ihfft2", lambda x: _out(lucid.fft.ihfft2(x, norm="ortho")), N(3, 4))
add("fft.hfftn", cx(lambda z: lucid.fft.hfftn(z, s=(2, 4))), C(2, 3))
add("fft.ihfftn", lambda x: _out(lucid.fft.ihfftn(x)), N(2, 4))
add("fft.fftshift", lucid.fft.fftshift, N(3, 4))
add("fft.ifftshift", lambda x: lucid.fft.ifftshift(x, dim=1), N(3, 5))
add("fft.fft", lambda x: lucid.fft.fft(x).abs() ** 2, N(6), variant="power spectrum")

# ---- stft / istft --------------------------------------------------------------------------------------
add("lucid.stft", lambda x: _out(lucid.stft(x, 8, hop_length=3, window=lucid.hann_window(
    8, dtype=lucid.float64, device=x.device), return_complex=True)), N(20), also={"Tensor.stft"})
add("lucid.stft", lambda x: lucid.stft(x, 6, center=False, normalized=True, onesided=False, return_complex=False),
    N(2, 14), variant="two-sided")
add("lucid.istft", cx(lambda z: lucid.istft(z, 8, hop_length=2, window=lucid.hamming_window(
    8, dtype=lucid.float64, device=z.device))), C(5, 6), also={"Tensor.istft"})
add("lucid.istft", cx(lambda z: lucid.istft(z, 6, center=False, length=10)), C(2, 4, 4), variant="length")

NOT_DIFFERENTIABLE = {
    *(f"lucid.{n}" for n in ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window",
                             "is_complex", "is_conj", "is_neg", "isreal")),
    *(f"Tensor.{n}" for n in ("is_complex", "is_conj", "is_neg", "isreal", "__complex__")),  # __complex__: a number
    "fft.fftfreq", "fft.rfftfreq",
}
