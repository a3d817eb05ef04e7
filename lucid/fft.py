"""``lucid.fft``: discrete Fourier transforms with ``torch.fft``'s names, arguments and gradients.

The functions live in :mod:`lucid.ops.spectral` (with ``stft``, ``istft`` and the windows, which are top-level
``lucid.*`` names as in PyTorch).
"""

from __future__ import annotations

from .ops._out import add_out_argument as _add_out_argument
from .ops.spectral import (
    fft,
    fft2,
    fftfreq,
    fftn,
    fftshift,
    hfft,
    hfft2,
    hfftn,
    ifft,
    ifft2,
    ifftn,
    ifftshift,
    ihfft,
    ihfft2,
    ihfftn,
    irfft,
    irfft2,
    irfftn,
    rfft,
    rfft2,
    rfftfreq,
    rfftn,
)

__all__ = [
    "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
    "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift",
]

_add_out_argument(globals())  # torch's out= where torch takes it
