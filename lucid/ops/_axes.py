"""Argument helpers shared by reductions and shape ops: ``dim=``/``axis=`` and ``keepdim=``/``keepdims=``."""

from __future__ import annotations


def pick(dim, axis, what: str = "dim"):
    """The axis argument, given as ``dim`` (PyTorch) or ``axis`` (upstream Lucid / NumPy)."""
    if axis is None:
        return dim
    if dim is not None and dim != axis:
        raise TypeError(f"got both {what}={dim!r} and axis={axis!r}; pass one of them")
    return axis


def normalize(dim, ndim: int):
    """``dim`` (None, an int or a sequence) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dimension {d} is out of range for a tensor with {ndim} dimensions")
        out.append(d % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"dimension list {dims} repeats an axis")
    return tuple(sorted(out))


def keep(keepdim, keepdims) -> bool:
    return bool(keepdim or keepdims)


def expand_reduced(g, shape, axes):
    """Reshape a reduced gradient so it broadcasts back over ``shape`` (axes kept as size 1)."""
    kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
    return g.reshape(kept) if g.shape != kept else g
