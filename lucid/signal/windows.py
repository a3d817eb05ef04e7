"""``lucid.signal.windows``: the window functions of ``torch.signal.windows`` (SciPy's names and parameters).

Each takes the window length ``M`` and, keyword-only, its own parameters and ``sym``: ``sym=True`` gives the
symmetric window (for filter design), ``sym=False`` one period of the window of length ``M + 1`` (for spectral
analysis, as the ``periodic=True`` of :func:`lucid.hann_window` and kin, which these share their formulas with).
Values are computed in float64 and rounded once to ``dtype`` (PyTorch computes in ``dtype``, so float32 windows
can differ from PyTorch's in the last bit). ``requires_grad=True`` gives a leaf tensor that requires grad
(PyTorch's ``general_cosine`` family returns a non-leaf then; lucid chose the leaf, which is what a caller who
asks for it can train).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .. import dtypes as _dt
from .._typeinfo import strided
from ..autograd.grad_mode import no_grad
from ..ops.spectral import _bartlett, _cosines, _window, kaiser_window

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]


def _checked(name, M, dtype, layout):
    """``dtype`` resolved, after PyTorch's checks of every window: ``M >= 0``, a strided layout, float32/64."""
    dtype = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if layout is not strided:
        raise ValueError(f"{name} is implemented for strided tensors only, got: {layout}")
    if dtype not in (_dt.float32, _dt.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dtype}")
    return dtype


def _make(name, M, sym, dtype, layout, device, requires_grad, formula):
    """The checked window ``formula(xp, k, m)`` at ``k = 0 .. M-1``, ``m = M`` (symmetric) or ``M + 1``."""
    dtype = _checked(name, M, dtype, layout)
    return _window(name, M, not sym, dtype, device, requires_grad, formula)


def general_cosine(M, *, a: Iterable, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The generalised cosine window ``sum_i (-1)^i a_i cos(2 pi i k / (M - 1))``."""
    if M > 1:  # PyTorch checks the coefficients only where it uses them
        if not isinstance(a, Iterable):
            raise TypeError("Coefficients must be a list/tuple")
        a = list(a)
        if not a:
            raise ValueError("Coefficients cannot be empty")
    else:
        a = []
    formula = _cosines(*[(-1) ** i * w for i, w in enumerate(a)])
    return _make("general_cosine", M, sym, dtype, layout, device, requires_grad, formula)


def general_hamming(M, *, alpha=0.54, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The generalised Hamming window ``alpha - (1 - alpha) cos(2 pi k / (M - 1))``."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def hamming(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The Hamming window: :func:`general_hamming` with ``alpha = 0.54``."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)


def hann(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The Hann window: :func:`general_hamming` with ``alpha = 0.5``."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def blackman(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The Blackman window: :func:`general_cosine` with ``a = [0.42, 0.5, 0.08]``."""
    _checked("blackman", M, dtype, layout)
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def nuttall(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The minimum 4-term Blackman-Harris window of Nuttall: :func:`general_cosine` with Nuttall's coefficients."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def bartlett(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The triangular Bartlett window ``1 - |2 k / (M - 1) - 1|``."""
    return _make("bartlett", M, sym, dtype, layout, device, requires_grad, _bartlett)


def kaiser(M, *, beta=12.0, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The Kaiser window ``I0(beta sqrt(1 - (2 k / (M - 1) - 1)^2)) / I0(beta)``."""
    dtype = _checked("kaiser", M, dtype, layout)
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    return kaiser_window(M, not sym, beta, dtype=dtype, device=device, requires_grad=requires_grad)


def cosine(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The cosine (sine) window ``sin(pi (k + 1/2) / M)``."""
    def formula(xp, k, m):
        return xp.sin(math.pi * (k + 0.5) / m)

    return _make("cosine", M, sym, dtype, layout, device, requires_grad, formula)


def gaussian(M, *, std=1.0, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The Gaussian window ``exp(-(k - (M - 1) / 2)^2 / (2 std^2))``."""
    _checked("gaussian", M, dtype, layout)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")

    def formula(xp, k, m):
        return xp.exp(-((k - (m - 1) / 2) ** 2) / (2 * std * std))

    return _make("gaussian", M, sym, dtype, layout, device, requires_grad, formula)


def exponential(M, *, center=None, tau=1.0, sym=True, dtype=None, layout=strided, device=None,
                requires_grad=False):
    """The exponential (Poisson) window ``exp(-|k - center| / tau)``, centred at ``(M - 1) / 2`` unless
    ``center`` is given (only for ``sym=False``)."""
    _checked("exponential", M, dtype, layout)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")

    def formula(xp, k, m):
        return xp.exp(-xp.abs(k - ((m - 1) / 2 if center is None else center)) / tau)

    out = _make("exponential", M, sym, dtype, layout, device, requires_grad, formula)
    if M == 1 and center is not None:  # _window's one sample is 1; an off-centre one is smaller, as PyTorch's
        with no_grad():
            out.mul_(math.exp(-abs(center) / tau))
    return out
