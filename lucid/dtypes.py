"""lucid's dtypes: backend-neutral names that each backend maps to its own array dtypes.

A :class:`DType` compares equal to the NumPy spelling of the same type (``np.float32``,
``"float32"``), so code written for upstream Lucid (which used NumPy dtypes) keeps working.
Type promotion follows PyTorch: a floating operand wins over an integer one, a complex one over
a floating one (``float64 + complex64`` is complex128), and 0-d tensors and Python scalars are weak:
they change the result only when they are of a higher category (``float32 * 2.0`` and
``float32 (3,) + float64 0-d`` stay float32, ``float32 * 1j`` is complex64). ``bfloat16`` comes to
NumPy from the ``ml_dtypes`` package; ``bfloat16`` with ``float16`` gives float32, as in PyTorch.

``uint16``, ``uint32`` and ``uint64`` (PyTorch's "limited support" unsigned dtypes, for 16-bit images and other
NumPy data) promote as PyTorch's: with a floating dtype to it, with their own dtype to themselves, and with any
other tensor dtype (another integer, bool, complex) not at all: :func:`promote_types` raises RuntimeError, so
``uint16 + int32`` is refused as in PyTorch (cast one side first); a Python number or an integer or bool 0-d tensor
is weak and keeps the unsigned dtype. Where PyTorch stops short on the CPU (``+``, ``<``, ``max``, ``neg``, ...
raise NotImplementedError there), lucid computes what NumPy computes, wrapping around as PyTorch's uint8 does.
As for every integer dtype, a Python int outside the dtype in arithmetic (``x_uint16 * 70000``, ``x - 1`` is fine)
raises OverflowError where PyTorch wraps it; factories and ``fill_`` store negatives wrapped, as PyTorch does.
"""

from __future__ import annotations

__all__ = [
    "DType", "float16", "bfloat16", "float32", "float64", "complex64", "complex128", "int8", "int16", "int32",
    "int64", "uint8", "uint16", "uint32", "uint64", "bool_", "get_default_dtype", "set_default_dtype", "to_dtype",
    "promote_types",
]


_spelling = "lucid"


def spelled_as() -> str:
    """The module name reprs spell lucid's names with (``lucid.float32``, ``x.type()``): ``"lucid"``, or
    ``"torch"`` while :mod:`lucid.torch_compat` is installed, so that an unmodified PyTorch program prints,
    and compares against, ``torch.float32`` and ``'torch.FloatTensor'`` as under PyTorch."""
    return _spelling


def spell_as(module: str) -> None:
    """Set what :func:`spelled_as` returns (``"lucid"`` or ``"torch"``)."""
    global _spelling
    if module not in ("lucid", "torch"):
        raise ValueError(f"spell_as: expected 'lucid' or 'torch', got {module!r}")
    _spelling = module


class DType:
    """One element type. ``kind`` is ``"b"`` (bool), ``"i"``/``"u"`` (integers), ``"f"`` or ``"c"`` (complex)."""

    __slots__ = ("name", "kind", "itemsize")

    def __init__(self, name: str, kind: str, itemsize: int):
        self.name, self.kind, self.itemsize = name, kind, itemsize

    @property
    def is_floating_point(self) -> bool:
        return self.kind == "f"

    @property
    def is_complex(self) -> bool:
        return self.kind == "c"

    @property
    def is_signed(self) -> bool:
        """Whether the dtype holds negative numbers: all but bool and the unsigned dtypes (as
        ``torch.dtype.is_signed``)."""
        return self.kind not in "bu"

    def to_real(self) -> DType:
        """The real dtype of a complex one's parts (complex64 -> float32); other dtypes are their own (as
        ``torch.dtype.to_real()``)."""
        return _REAL_OF.get(self, self)

    def to_complex(self) -> DType:
        """The complex dtype whose parts are this floating dtype (float64 -> complex128; float16 and
        bfloat16 -> complex64, lucid having no complex32)."""
        return self if self.kind == "c" else _COMPLEX_OF[self]

    def __repr__(self) -> str:
        return f"{spelled_as()}.{self.name}"

    def __eq__(self, other) -> bool:
        if isinstance(other, DType):
            return self is other
        try:
            return to_dtype(other) is self
        except TypeError:
            return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __reduce__(self):
        return (to_dtype, (self.name,))


float16 = DType("float16", "f", 2)
bfloat16 = DType("bfloat16", "f", 2)
float32 = DType("float32", "f", 4)
float64 = DType("float64", "f", 8)
complex64 = DType("complex64", "c", 8)
complex128 = DType("complex128", "c", 16)
int8 = DType("int8", "i", 1)
int16 = DType("int16", "i", 2)
int32 = DType("int32", "i", 4)
int64 = DType("int64", "i", 8)
uint8 = DType("uint8", "u", 1)
uint16 = DType("uint16", "u", 2)
uint32 = DType("uint32", "u", 4)
uint64 = DType("uint64", "u", 8)
bool_ = DType("bool", "b", 1)

ALL = (float16, bfloat16, float32, float64, complex64, complex128, int8, int16, int32, int64, uint8, uint16, uint32,
       uint64, bool_)
_LIMITED = frozenset((uint16, uint32, uint64))  # PyTorch's unsigned dtypes of limited support: promote only with floats
_REAL_OF = {complex64: float32, complex128: float64}
_COMPLEX_OF = {float16: complex64, bfloat16: complex64, float32: complex64, float64: complex128}
_BY_NAME = {d.name: d for d in ALL}
_ALIASES = {
    "half": float16, "float": float32, "double": float64, "short": int16, "int": int32,
    "long": int64, "bool_": bool_, float: float32, int: int64, bool: bool_,
    "cfloat": complex64, "cdouble": complex128, complex: complex128,
}

_default_float = float32


def get_default_dtype() -> DType:
    """The dtype Python floats and float factories produce (float32 unless changed)."""
    return _default_float


def set_default_dtype(dtype) -> None:
    """Change the default floating dtype (float16, bfloat16, float32 or float64)."""
    global _default_float
    d = to_dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype needs a floating dtype, got {d.name}")
    _default_float = d


def to_dtype(spec) -> DType:
    """Resolve ``spec`` (a DType, a name, a Python type, a NumPy or backend dtype) to a DType."""
    if isinstance(spec, DType):
        return spec
    if spec is float:
        return _default_float
    found = _ALIASES.get(spec) if isinstance(spec, (str, type)) else None
    if found is not None:
        return found
    name = spec if isinstance(spec, str) else getattr(spec, "name", None) or getattr(spec, "__name__", None)
    if isinstance(name, str):
        name = name.removeprefix("torch.").removeprefix("lucid.")
        found = _BY_NAME.get(name) or _ALIASES.get(name)
        if found is not None:
            return found
    raise TypeError(
        f"unknown dtype {spec!r}; use one of {', '.join('lucid.' + d.name for d in ALL)}"
    )


_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_INT_BY_SIZE = {1: int8, 2: int16, 4: int32, 8: int64}


def promote_types(a: DType, b: DType) -> DType:
    """Result dtype of a binary op between tensors of dtypes ``a`` and ``b`` (PyTorch's rules). uint16, uint32 and
    uint64 promote only with themselves and floating dtypes; with any other dtype this raises RuntimeError, as
    PyTorch's ``promote_types``."""
    if a is b:
        return a
    if (a in _LIMITED and b.kind != "f") or (b in _LIMITED and a.kind != "f"):
        raise RuntimeError(f"Promotion for uint16, uint32, uint64 types is not supported (as in PyTorch): attempted "
                           f"to promote lucid.{a.name} and lucid.{b.name}; cast one operand to the other's dtype first")
    ra, rb = _KIND_RANK[a.kind], _KIND_RANK[b.kind]
    if ra != rb:
        high, low = (a, b) if ra > rb else (b, a)
        if high.kind == "c" and low.kind == "f" and low.itemsize > high.to_real().itemsize:
            return low.to_complex()  # float64 + complex64: complex128, as PyTorch
        return high
    if a.itemsize == b.itemsize and a.kind == "f":  # float16 with bfloat16: float32, as PyTorch
        return float32
    if a.kind == b.kind:
        return a if a.itemsize >= b.itemsize else b
    # one signed integer, one uint8 (the wider unsigned ones were refused above): the smallest signed type holding both
    signed, unsigned = (a, b) if a.kind == "i" else (b, a)
    if signed.itemsize > unsigned.itemsize:
        return signed
    return _INT_BY_SIZE[min(8, unsigned.itemsize * 2)]


def _combine(higher: DType | None, lower: DType | None) -> DType | None:
    """PyTorch's ``combine_categories``: the dtype of a lower-priority group of operands counts
    only when its category (bool < integer < float) is higher than the higher-priority group's."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "c":
        return higher
    if lower.kind == "c":  # a weak complex operand keeps the higher group's precision: float64 * 1j is complex128
        return higher.to_complex() if higher.kind == "f" else lower
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def result_type(dim: DType | None, zero_dim: DType | None = None, scalar: DType | None = None) -> DType:
    """Result dtype of an elementwise op (PyTorch's ``result_type``) from the promoted dtypes of its
    operands in three priority groups, each None when empty: tensors with dimensions, 0-d tensors,
    Python scalars (see :func:`scalar_dtype`)."""
    return _combine(dim, _combine(zero_dim, scalar))


def scalar_dtype(scalar) -> DType:
    """The dtype a Python scalar stands for in promotion: bool, int64, the default float or its complex."""
    if isinstance(scalar, bool):
        return bool_
    if isinstance(scalar, int):
        return int64
    if isinstance(scalar, float):
        return _default_float
    if isinstance(scalar, complex):
        return _default_float.to_complex()
    raise TypeError(f"unsupported operand type {type(scalar).__name__}; use a Tensor, bool, int, float or complex")


def scalar_result_type(dtype: DType, scalar) -> DType:
    """Result dtype when a tensor of ``dtype`` meets a Python scalar (scalars are weak)."""
    return result_type(dtype, scalar=scalar_dtype(scalar))
