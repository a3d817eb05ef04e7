"""Collation: a list of samples becomes one batch.

The work happens on the host in two steps, so that worker processes only ever handle NumPy:
:func:`host_collate` stacks a batch into NumPy arrays (in a worker or in the main process),
then :func:`default_convert` turns the arrays into lucid Tensors once per batch in the main
process (on the DataLoader's ``device``). :func:`default_collate` is the two in a row.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, MutableMapping, Sequence

import numpy as np

from .. import dtypes as _dt
from .._backend.device import device as _device
from .._tensor import Tensor
from ..ops.shape import stack

__all__ = ["default_collate", "default_convert", "host_collate", "np_str_obj_array_pattern",
           "default_collate_err_msg_format"]

# PyTorch's names for the dtype check and the error message (collate functions copied from PyTorch import them)
np_str_obj_array_pattern = re.compile(r"[SaUO]")
default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}")


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _rebuild(like, items):
    """A container of ``like``'s type holding ``items`` (a plain list/dict if the type can't be rebuilt). A
    mutable mapping is a shallow copy of ``like`` updated with ``items``, as PyTorch does, so a ``defaultdict``
    keeps its factory and an ``OrderedDict`` its type."""
    if _is_namedtuple(like):
        return type(like)(*items)
    if isinstance(like, MutableMapping):
        clone = copy.copy(like)
        clone.update(items)
        return clone
    try:
        return type(like)(items)
    except TypeError:
        return list(items) if not isinstance(items, dict) else items


def _check_array_dtype(dtype: np.dtype) -> None:
    if np_str_obj_array_pattern.search(dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(f"a numpy array of dtype {dtype}"))


def _stack_host(arrays: list) -> np.ndarray:
    first = np.shape(arrays[0])
    for i, a in enumerate(arrays):
        if np.shape(a) != first:
            raise RuntimeError(
                f"default_collate: stack expects each element to have the same shape, but got shape "
                f"{first} at entry 0 and shape {np.shape(a)} at entry {i}"
            )
    return np.stack(arrays)


def host_collate(batch: Sequence):
    """Stack a list of samples into a batch of NumPy arrays, keeping the samples' structure
    (PyTorch's ``default_collate`` rules, with NumPy instead of tensors).

    CPU tensors and arrays are stacked on a new leading axis; Python floats become float64,
    ints int64 and bools bool, and a batch that starts with an int but holds floats the default
    float dtype (PyTorch: ``torch.tensor(batch)`` unless the first is a float); strings are
    returned as given (a column of tuple samples stays a tuple); dicts, namedtuples and sequences
    are collated field by field (tuples come back as lists, as in PyTorch).
    Tensors on an accelerator are stacked where they are, without a host round trip.
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        if elem.device.type != "cpu":
            return stack([t.detach() for t in batch])
        return _stack_host([t.detach().numpy() for t in batch])
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, (np.ndarray, np.generic)):
        _check_array_dtype(elem.dtype)
        return _stack_host(batch)
    if isinstance(elem, float):
        return np.array(batch, dtype=np.float64)
    if isinstance(elem, int):  # bool too
        numbers = np.array(batch)
        if numbers.dtype.kind != "f":
            return numbers
        return numbers.astype(_device("cpu").backend.native_dtype(_dt.get_default_dtype()))
    if isinstance(elem, Mapping):
        return _rebuild(elem, {key: host_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError(
                "default_collate: each element in list of batch should be of equal size, got sizes "
                f"{[len(sample) for sample in batch]}"
            )
        columns = [host_collate(samples) for samples in zip(*batch)]
        if isinstance(elem, tuple) and not _is_namedtuple(elem):
            return columns
        return _rebuild(elem, columns)
    raise TypeError(default_collate_err_msg_format.format(type(elem).__name__))


def default_convert(data, device=None):
    """NumPy arrays and scalars anywhere in ``data`` (dicts, lists, tuples, namedtuples) become
    lucid Tensors on ``device`` (default: the CPU, sharing memory); tensors are moved there;
    strings, numbers and object arrays are left as they are. Containers keep their type
    (PyTorch turns tuples into lists here)."""
    if isinstance(data, (np.ndarray, np.generic)):
        return data if data.dtype.kind in "USO" else Tensor(np.asarray(data), device=device)
    if isinstance(data, Tensor):
        return data if device is None else data.to(device)
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, Mapping):
        return _rebuild(data, {key: default_convert(value, device) for key, value in data.items()})
    if isinstance(data, Sequence):
        return _rebuild(data, [default_convert(d, device) for d in data])
    return data


def default_collate(batch: Sequence):
    """Merge a list of samples into a batch of lucid Tensors (PyTorch's ``default_collate``):
    tensors, arrays and numbers are stacked (floats -> float64, ints -> int64), strings kept as
    a list, dicts/namedtuples/sequences collated per field. The batch carries no autograd history."""
    return default_convert(host_collate(batch))
