"""Complex numbers: parts, conjugates, polar form and the real <-> complex views, as PyTorch has them.

Gradients follow PyTorch's convention for complex autograd: the gradient of a real loss ``L`` with
respect to ``z = x + iy`` is ``dL/dx + i dL/dy`` (the conjugate Wirtinger derivative times 2), so
a holomorphic op's backward multiplies by the *conjugate* of its derivative (``mul``: ``g * conj(b)``).
``conj`` copies (lucid has no lazy conjugate bit: ``is_conj()`` is always False and ``resolve_conj`` returns
the tensor itself). ``real``, ``imag`` and ``view_as_real`` are views sharing memory where the backend has
byte strides (NumPy, CuPy), as in PyTorch; on other backends they are copies.
"""

from __future__ import annotations

import builtins

from .. import dtypes as _dt
from .._backend.device import on_input_device
from .._tensor import Tensor
from ..autograd.function import Function, rename_node
from ..autograd.views import view_apply

__all__ = [
    "real", "imag", "conj", "conj_physical", "resolve_conj", "resolve_neg", "is_conj", "is_neg", "is_complex",
    "angle", "complex", "polar", "view_as_real", "view_as_complex", "adjoint", "sgn", "isreal", "view_as_real_copy",
    "view_as_complex_copy",
]


def conj_if_complex(t):
    """``t`` (a Tensor or a Python scalar) conjugated when complex, ``t`` itself otherwise: what backward
    formulas multiply by, so that real gradients never pay for a conjugate."""
    if isinstance(t, Tensor):
        if t._data.dtype in t._device.real_floating:  # the common case, one set lookup
            return t
        return Conj.apply(t) if t._device.dtypes[t._data.dtype].kind == "c" else t
    return t.conjugate() if type(t) is builtins.complex else t  # (this module's complex() hides the builtin)


def refuse_unordered(name: str, *values, bools: bool = False) -> None:
    """A TypeError where an op that orders values (compares, sorts, clamps, picks an extreme) meets a complex
    tensor or number, which have no order (PyTorch refuses them too, with a RuntimeError or NotImplementedError;
    lucid's dtype refusals are TypeErrors), or with ``bools`` a bool tensor (PyTorch's kernel gaps for
    argmax, topk, kthvalue, median)."""
    for v in values:
        kind = v.dtype.kind if isinstance(v, Tensor) else "c" if isinstance(v, builtins.complex) else None
        if kind == "c" or (bools and kind == "b"):
            what = f"a {v.dtype.name} tensor of shape {v.shape}" if isinstance(v, Tensor) else f"the number {v!r}"
            fix = ("complex numbers have no order; order a real part (x.real, x.abs())" if kind == "c" else
                   "cast it first (x.to(lucid.uint8))")
            raise TypeError(f"{name} does not support {'complex' if kind == 'c' else 'bool'} input, got {what} "
                            f"(as in PyTorch): {fix}")


class Conj(Function):
    """The complex conjugate (a copy); its own adjoint."""

    def forward(self, x):
        return self.xp.conj(x)

    def backward(self, g):
        return Conj.apply(g)


class ComplexPart(Function):
    """``part`` (``"real"``, ``"imag"`` or ``"pairs"``: both on a last axis of size 2) of a complex tensor,
    a view where the backend allows. Backward rebuilds a complex gradient: ``g``, ``i g`` or the pairs."""

    may_copy = True

    def forward(self, x, part):
        self.part = part
        return self.backend.complex_part(x, part)

    def backward(self, g):
        if self.part == "pairs":  # not AsComplex: g may be any layout (broadcast, strided)
            return Complex.apply(g[..., 0], g[..., 1])
        zero = g * 0
        return Complex.apply(g, zero) if self.part == "real" else Complex.apply(zero, g)


class AsComplex(Function):
    """A real tensor of (real, imaginary) pairs on its last axis as a complex tensor (a view where the
    backend allows)."""
    torch_name = "ViewAsComplex"

    may_copy = True

    def forward(self, x):
        return self.backend.as_complex(x)

    def backward(self, g):
        return ComplexPart.apply(g, part="pairs")


class Complex(Function):
    """``real + i imag`` from two real tensors of one dtype and shape; the gradients are the parts of ``g``.
    The parts are placed, not computed (``re + 1j * im`` makes ``0 * inf`` a nan real part and loses -0.0)."""

    def forward(self, re, im):
        return self.backend.as_complex(self.xp.stack([re, im], axis=-1))

    def backward(self, g):
        need = self.needs_input_grad
        return (ComplexPart.apply(g, part="real") if need[0] else None,
                ComplexPart.apply(g, part="imag") if need[1] else None)


class Angle(Function):
    """The argument of each element (for real tensors: 0 or pi, with no gradient, as PyTorch)."""

    def forward(self, x):
        xp = self.xp
        self.save_for_backward(x)
        if self.device.dtypes[x.dtype].kind == "c":  # (NumPy's isdtype refuses bfloat16)
            return xp.atan2(xp.imag(x), xp.real(x))
        return xp.where(x < 0, xp.full_like(x, 3.141592653589793), xp.where(xp.isnan(x), x, xp.zeros_like(x)))

    def backward(self, g):
        (x,) = self.saved_tensors
        if x.dtype.kind != "c":
            return g * 0
        size2 = x.abs() ** 2
        # d angle: (-y, x) / |z|^2, as one complex number: i z / |z|^2 (0 at the origin, as PyTorch)
        return (g * 1j) * x / (size2 + (size2 == 0))


def _need_complex(x: Tensor, name: str) -> None:
    if x.dtype.kind != "c":
        raise RuntimeError(f"{name} expects a complex tensor, got {x.dtype.name} of shape {x.shape}")


def real(input: Tensor) -> Tensor:
    """The real part: a view of a complex tensor (writable, as in PyTorch); a real tensor itself."""
    return view_apply(ComplexPart, input, part="real") if input.dtype.kind == "c" else input


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor, as a view; real tensors have none (an error, as PyTorch)."""
    _need_complex(input, "imag")
    return view_apply(ComplexPart, input, part="imag")


def view_as_real(input: Tensor) -> Tensor:
    """A complex tensor as a real one with a last axis of size 2 holding (real, imaginary), sharing memory."""
    _need_complex(input, "view_as_real")
    return view_apply(ComplexPart, input, part="pairs")


def view_as_complex(input: Tensor) -> Tensor:
    """A float32/float64 tensor whose last axis (of size 2, stride 1) holds (real, imaginary) as complex."""
    if input.dtype not in (_dt.float32, _dt.float64) or input.ndim == 0 or input.shape[-1] != 2:
        raise RuntimeError(
            f"view_as_complex needs a float32 or float64 tensor whose last dimension has size 2, got "
            f"{input.dtype.name} of shape {input.shape}")
    return view_apply(AsComplex, input)


def conj(input: Tensor) -> Tensor:
    """The complex conjugate (a new tensor; lucid has no lazy conjugation); a real tensor itself."""
    return Conj.apply(input) if input.dtype.kind == "c" else input


def is_complex(input: Tensor) -> bool:
    return input.dtype.kind == "c"


def is_conj(input: Tensor) -> bool:
    """Always False: lucid's ``conj`` is never lazy."""
    return False


def is_neg(input: Tensor) -> bool:
    """Always False: lucid has no lazy negation."""
    return False


def resolve_conj(input: Tensor) -> Tensor:
    """``input`` itself (nothing is ever lazily conjugated in lucid)."""
    return input


def angle(input: Tensor) -> Tensor:
    """The argument of each element, in radians (real tensors: 0 for >= 0, pi for < 0)."""
    if input.dtype.kind not in "fc":
        input = input.to(_dt.get_default_dtype())
    return Angle.apply(input)


def complex(real: Tensor, imag: Tensor) -> Tensor:  # noqa: A001  (torch.complex)
    """``real + i imag`` from two float32 (complex64) or float64 (complex128) tensors of one dtype."""
    if real.dtype != imag.dtype or real.dtype not in (_dt.float32, _dt.float64):
        raise TypeError(f"complex needs real and imag of one dtype, float32 or float64; got {real.dtype.name} "
                        f"and {imag.dtype.name}")
    if real.shape != imag.shape:  # broadcast first (broadcast_to's backward sums the gradient back)
        shape = (real + imag).shape
        real, imag = real.broadcast_to(shape), imag.broadcast_to(shape)
    return Complex.apply(real, imag)


def polar(abs: Tensor, angle: Tensor) -> Tensor:  # noqa: A002  (torch's argument names)
    """The complex tensor ``abs * (cos(angle) + i sin(angle))`` of two float32 or float64 tensors of one dtype
    (others raise, as in PyTorch: no silent promotion)."""
    dtypes = [getattr(t, "dtype", type(t).__name__) for t in (abs, angle)]
    if dtypes[0] is not dtypes[1] or dtypes[0] not in (_dt.float32, _dt.float64):
        raise TypeError(f"polar needs abs and angle tensors of one dtype, float32 or float64 (as in PyTorch); got "
                        f"{' and '.join(getattr(d, 'name', d) for d in dtypes)}: cast them first (x.float())")
    return rename_node(complex(abs * angle.cos(), abs * angle.sin()), "Polar")


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dimensions (``mH``)."""
    return conj(input.mT)


def sgn(input: Tensor) -> Tensor:
    """``input / |input|`` for complex tensors (0 where ``input`` is 0), the sign for real ones (differentiable as
    PyTorch's)."""
    if input.dtype.kind != "c":
        return rename_node(input.sign(), "Sgn")
    size = input.abs()
    zero = size == 0
    return rename_node((input / (size + zero)) * ~zero, "Sgn")


@on_input_device
def isreal(input: Tensor) -> Tensor:
    """Where the elements have no imaginary part (all True for real tensors)."""
    if input.dtype.kind != "c":
        return Tensor._make(input.xp.ones(input.shape, dtype=input.xp.bool, device=input._device.native), input._device)
    return imag(input).detach() == 0


def view_as_real_copy(input: Tensor) -> Tensor:
    """:func:`view_as_real` as a new tensor (no shared memory)."""
    return view_as_real(input).clone()


def view_as_complex_copy(input: Tensor) -> Tensor:
    """:func:`view_as_complex` as a new tensor (no shared memory)."""
    return view_as_complex(input).clone()


conj_physical = conj
resolve_neg = resolve_conj


def _as_python_complex(x: Tensor) -> builtins.complex:
    """``complex(t)`` of a one-element tensor (a sync point on GPUs)."""
    return builtins.complex(x.item())


def _real_setter(x: Tensor, value) -> None:
    real(x).copy_(value)


def _imag_setter(x: Tensor, value) -> None:
    imag(x).copy_(value)


METHODS = {
    "real": property(real, _real_setter), "imag": property(imag, _imag_setter), "conj": conj,
    "conj_physical": conj_physical, "resolve_conj": resolve_conj, "resolve_neg": resolve_neg, "is_conj": is_conj,
    "is_neg": is_neg, "is_complex": is_complex, "angle": angle, "adjoint": adjoint, "mH": property(adjoint),
    "H": property(adjoint), "sgn": sgn, "isreal": isreal, "__complex__": _as_python_complex,
}
INPLACE = ("sgn", "conj_physical")
