"""lucid's dtypes: backend-neutral names that each backend maps to its own array dtypes.

A :class:`DType` compares equal to the NumPy spelling of the same type (``np.float32``,
``"float32"``), so code written for upstream Lucid (which used NumPy dtypes) keeps working.
Type promotion follows PyTorch: a floating operand wins over an integer one, and 0-d tensors
and Python scalars are weak: they change the result only when they are of a higher category
(``float32 * 2.0`` and ``float32 (3,) + float64 0-d`` stay float32).
"""

from __future__ import annotations

__all__ = [
    "DType", "float16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "bool_", "get_default_dtype", "set_default_dtype", "to_dtype", "promote_types",
]


class DType:
    """One element type. ``kind`` is ``"b"`` (bool), ``"i"``/``"u"`` (integers) or ``"f"``."""

    __slots__ = ("name", "kind", "itemsize")

    def __init__(self, name: str, kind: str, itemsize: int):
        self.name, self.kind, self.itemsize = name, kind, itemsize

    @property
    def is_floating_point(self) -> bool:
        return self.kind == "f"

    def __repr__(self) -> str:
        return f"lucid.{self.name}"

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
float32 = DType("float32", "f", 4)
float64 = DType("float64", "f", 8)
int8 = DType("int8", "i", 1)
int16 = DType("int16", "i", 2)
int32 = DType("int32", "i", 4)
int64 = DType("int64", "i", 8)
uint8 = DType("uint8", "u", 1)
bool_ = DType("bool", "b", 1)

ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool_)
_BY_NAME = {d.name: d for d in ALL}
_ALIASES = {
    "half": float16, "float": float32, "double": float64, "short": int16, "int": int32,
    "long": int64, "bool_": bool_, float: float32, int: int64, bool: bool_,
}

_default_float = float32


def get_default_dtype() -> DType:
    """The dtype Python floats and float factories produce (float32 unless changed)."""
    return _default_float


def set_default_dtype(dtype) -> None:
    """Change the default floating dtype (float16, float32 or float64)."""
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


_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2}
_INT_BY_SIZE = {1: int8, 2: int16, 4: int32, 8: int64}


def promote_types(a: DType, b: DType) -> DType:
    """Result dtype of a binary op between tensors of dtypes ``a`` and ``b`` (PyTorch's rules)."""
    if a is b:
        return a
    ra, rb = _KIND_RANK[a.kind], _KIND_RANK[b.kind]
    if ra != rb:
        return a if ra > rb else b
    if a.kind == b.kind:
        return a if a.itemsize >= b.itemsize else b
    # one signed, one unsigned integer (only uint8 exists): the smallest signed type holding both
    signed, unsigned = (a, b) if a.kind == "i" else (b, a)
    if signed.itemsize > unsigned.itemsize:
        return signed
    return _INT_BY_SIZE[min(8, unsigned.itemsize * 2)]


def _combine(higher: DType | None, lower: DType | None) -> DType | None:
    """PyTorch's ``combine_categories``: the dtype of a lower-priority group of operands counts
    only when its category (bool < integer < float) is higher than the higher-priority group's."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
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
    """The dtype a Python scalar stands for in promotion: bool, int64 or the default float."""
    if isinstance(scalar, bool):
        return bool_
    if isinstance(scalar, int):
        return int64
    if isinstance(scalar, float):
        return _default_float
    raise TypeError(f"unsupported operand type {type(scalar).__name__}; use a Tensor, bool, int or float")


def scalar_result_type(dtype: DType, scalar) -> DType:
    """Result dtype when a tensor of ``dtype`` meets a Python scalar (scalars are weak)."""
    return result_type(dtype, scalar=scalar_dtype(scalar))
