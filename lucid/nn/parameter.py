"""``Parameter`` and ``Buffer``: the two kinds of tensor a :class:`~lucid.nn.Module` owns.

- A **Parameter** is trained: it requires grad, ``module.parameters()`` lists it (so an
  optimizer updates it) and it is saved in ``state_dict``.
- A **Buffer** is state that is not trained (running statistics, masks, look-up tables,
  counters): it never requires grad, ``module.buffers()`` lists it, it moves with
  ``module.to(...)`` and, when ``persistent`` (the default), it is saved in ``state_dict``.
- A **plain Tensor attribute** (``self.count = lucid.tensor(0)``) is neither: the module does
  not list, move, cast or save it.
"""

from __future__ import annotations

from .. import dtypes as _dt
from .._tensor import Tensor

__all__ = ["Parameter", "Buffer"]


def _shareable(data):
    """``data``; a Tensor holding a NumPy scalar (what a full reduction returns) first gets a 0-d array in its
    place, so that the Parameter or Buffer made from it shares its storage (a scalar would be copied)."""
    if isinstance(data, Tensor):
        data._writable_data()
    return data


def _share_version(new: Tensor, data) -> None:
    """When ``new`` wraps the storage of the Tensor ``data``, let both count in-place changes
    together, so autograd notices a change made through either."""
    if isinstance(data, Tensor) and new._data is data._data:
        new._version = data._version


class Parameter(Tensor):
    """A tensor that is a trainable parameter of a module (as ``torch.nn.Parameter``).

    ``Parameter(data=None, requires_grad=True)``: ``data`` (a Tensor, whose storage is then
    shared, or anything ``lucid.tensor`` accepts) keeps its dtype and device; the Parameter
    is always a leaf of the graph. ``data=None`` gives an empty float32 tensor.
    Assigning a Parameter to a module attribute registers it.

    Example:
        >>> import lucid
        >>> import lucid.nn as nn
        >>> layer = nn.Module()
        >>> layer.weight = nn.Parameter(lucid.ones(2, 3))
        >>> layer.weight.requires_grad, [name for name, _ in layer.named_parameters()]
        (True, ['weight'])
        >>> (layer.weight * 2).sum().backward()
        >>> layer.weight.grad
        tensor([[2., 2., 2.],
                [2., 2., 2.]])
    """

    def __new__(cls, data=None, *args, **kwargs):
        if getattr(data, "_sparse", False):  # a sparse Parameter: lucid.sparse's layout class and Parameter
            return cls._from_sparse(data, *args, **kwargs)
        return super().__new__(cls)

    @classmethod
    def _from_sparse(cls, data, requires_grad: bool = True):
        return data._as_kind(cls, requires_grad)

    def __init__(self, data=None, requires_grad: bool = True):
        Tensor.__init__(self, [] if data is None else _shareable(data))
        _share_version(self, data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        """PyTorch's: ``Parameter containing:`` above the tensor's repr."""
        return "Parameter containing:\n" + self._repr("tensor")

    def __deepcopy__(self, memo):
        """A Parameter with a copy of the data and the same ``requires_grad``, but no ``.grad``,
        as PyTorch's (so ``copy.deepcopy(model)`` gives a model without gradients)."""
        grad, self._grad = self._grad, None
        try:
            return Tensor.__deepcopy__(self, memo)
        finally:
            self._grad = grad


class Buffer(Tensor):
    """A tensor that is module state but never trained (as ``torch.nn.Buffer``).

    ``Buffer(data=None, dtype=None, persistent=True)``. Without ``dtype``, floating data
    (Python floats, float16/32/64 arrays or tensors) become float32, the default upstream
    Lucid documents, while integer and bool data (Python ints, ``num_batches_tracked``)
    keep their dtype, as in PyTorch. A Tensor of the final dtype shares its storage.

    A Buffer is always a graph leaf with ``requires_grad=False``: ``requires_grad_(True)`` and
    ``buffer.requires_grad = True`` raise, and an in-place update that would record a graph
    (``buffer += x`` with ``x`` requiring grad) only changes the values. Operations mixing a
    buffer with tensors that require grad give gradients to those tensors only.

    ``persistent`` says whether ``Module.state_dict`` includes it. Assigning a Buffer to a
    module attribute (or passing it to ``register_buffer``) registers it.

    Example:
        >>> import lucid
        >>> import lucid.nn as nn
        >>> buffer = nn.Buffer([1.0, 2.0, 3.0])
        >>> buffer, buffer.dtype, buffer.requires_grad
        (tensor([1., 2., 3.]), lucid.float32, False)
        >>> nn.Buffer([1, 2]).dtype
        lucid.int64
        >>> class Normalize(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.mean = nn.Buffer([0.5, 0.5])
        ...         self.cache = nn.Buffer([0.0, 0.0], persistent=False)
        ...
        ...     def forward(self, x):
        ...         return x - self.mean
        >>> norm = Normalize()
        >>> list(norm.state_dict()), [name for name, _ in norm.named_buffers()]
        (['mean'], ['mean', 'cache'])
        >>> x = lucid.tensor([1.0, 2.0], requires_grad=True)
        >>> norm(x).sum().backward()
        >>> x.grad, norm.mean.grad
        (tensor([1., 1.]), None)
    """

    def __new__(cls, data=None, *args, **kwargs):
        if getattr(data, "_sparse", False):  # a sparse Buffer: lucid.sparse's layout class and Buffer
            return cls._from_sparse(data, *args, **kwargs)
        return super().__new__(cls)

    @classmethod
    def _from_sparse(cls, data, dtype=None, persistent: bool = True):
        floating = _dt.float32 if data.dtype.kind == "f" else None  # __init__'s default, on the values
        return data._as_kind(cls, dtype=floating if dtype is None else _dt.to_dtype(dtype), persistent=persistent)

    def __init__(self, data=None, dtype=None, persistent: bool = True):
        data = [] if data is None else data
        if dtype is None:
            data = data if isinstance(data, Tensor) else Tensor(data)
            dtype = _dt.float32 if data.dtype.kind == "f" else None
        Tensor.__init__(self, _shareable(data), dtype=dtype)
        _share_version(self, data)
        self.persistent = bool(persistent)

    # A buffer is never part of a graph: these properties shadow Tensor's autograd attributes,
    # so no code path (requires_grad_, in-place ops that would record, deepcopy, unpickling,
    # Tensor internals) can switch that on; writes to them are ignored.
    def __repr__(self) -> str:
        """A plain tensor's repr (``tensor([...])``), as a PyTorch buffer prints: ``torch.nn.Buffer`` marks a
        tensor rather than making a subclass, so printing module state reads the same in both."""
        return self._repr("Tensor")

    @property
    def _requires_grad(self) -> bool:
        return False

    @_requires_grad.setter
    def _requires_grad(self, value) -> None:
        pass

    @property
    def _node(self):
        return None

    @_node.setter
    def _node(self, value) -> None:
        pass

    def requires_grad_(self, requires_grad: bool = True) -> Buffer:
        """Buffers never require grad: ``False`` is accepted, ``True`` raises."""
        if requires_grad:
            raise RuntimeError(
                "a Buffer never requires grad: it holds module state that is not trained. Make it an "
                "nn.Parameter (module.name = nn.Parameter(tensor)) if it should be learned."
            )
        return self

