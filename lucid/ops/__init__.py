"""Differentiable operations, written once against the array API (``xp``).

One file per family: ``arithmetic`` (binary elementwise), ``elementwise`` (unary math),
``reduction``, ``shape``, ``indexing``, ``linalg``, ``softmax``, ``creation`` (factories and
random), ``conversion`` (device/dtype moves), ``inplace``. Each family module lists its
public functions in ``__all__``, the Tensor methods it provides in ``METHODS`` and the
names that get an in-place ``name_`` form in ``INPLACE``; this file gathers them.
"""

from __future__ import annotations

from . import arithmetic, conversion, creation, elementwise, indexing, linalg, methods, reduction, shape, softmax

FAMILIES = (arithmetic, conversion, creation, elementwise, reduction, shape, indexing, linalg, softmax)

__all__ = []
TENSOR_METHODS = {}
INPLACE_FORMS = []
for _family in FAMILIES:
    for _name in _family.__all__:
        globals()[_name] = getattr(_family, _name)
    __all__ += list(_family.__all__)
    TENSOR_METHODS.update(getattr(_family, "METHODS", {}))
    INPLACE_FORMS += list(getattr(_family, "INPLACE", ()))

methods.install(TENSOR_METHODS, INPLACE_FORMS)
