"""Differentiable operations, written once against the array API (``xp``).

One file per family: ``arithmetic`` (binary elementwise), ``elementwise`` (unary math),
``reduction``, ``shape``, ``indexing``, ``linalg``, ``softmaxes`` (softmax, log_softmax; plural
so that the function ``lucid.ops.softmax`` does not hide the module), ``creation`` (factories),
``sampling`` (random tensors and fills), ``conversion`` (device/dtype moves), ``inplace``. Each family module lists its
public functions in ``__all__``, the Tensor methods it provides in ``METHODS`` and the
names that get an in-place ``name_`` form in ``INPLACE``; this file gathers them and
registers the methods on Tensor.
"""

from __future__ import annotations

from .._tensor import register_methods
from . import (
    arithmetic,
    calculus,
    complexes,
    conversion,
    creation,
    decompositions,
    elementwise,
    indexing,
    inplace,
    linalg,
    mathops,
    metadata,
    products,
    reduction,
    reshaping,
    sampling,
    scatters,
    searching,
    shape,
    softmaxes,
    spectral,
    statistics,
)

FAMILIES = (arithmetic, conversion, creation, sampling, elementwise, reduction, shape, indexing, linalg, softmaxes,
            inplace, complexes, spectral, mathops, metadata, products, statistics, searching, calculus, scatters,
            reshaping, decompositions)

__all__ = []
for _family in FAMILIES:
    for _name in _family.__all__:
        globals()[_name] = getattr(_family, _name)
    __all__ += list(_family.__all__)
    _methods = dict(getattr(_family, "METHODS", {}))
    for _name in getattr(_family, "INPLACE", ()):
        _methods[f"{_name}_"] = inplace.inplace(_methods[_name], f"{_name}_")
    register_methods(_methods)


def __getattr__(name):
    """``lucid.ops.<namespace>`` (``torch.ops.<ns>``): the custom ops :mod:`lucid.library` defined there; only
    names this package lacks get here, so a namespace never hides one of its modules or functions."""
    from .. import library

    return library.namespace(name)
