"""Variable-length sequences for the recurrent layers, as ``torch.nn.utils.rnn``.

A ``PackedSequence`` holds the steps of a batch of sequences sorted by length (longest first), time
step after time step: ``data`` ``(sum(batch_sizes), *)``, ``batch_sizes[t]`` the number of sequences
still running at step ``t`` (an int64 tensor on the CPU, as PyTorch), ``sorted_indices`` /
``unsorted_indices`` the permutation to and from the caller's batch order. Packing and unpacking are
one gather each (``index_select``), so gradients flow through them.
"""

from __future__ import annotations

from typing import NamedTuple

from ..._tensor import Tensor
from ...dtypes import int64
from ...ops.creation import full
from ...ops.indexing import argsort, index_select
from ...ops.shape import cat, stack

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "pack_sequence",
           "unpack_sequence", "unpad_sequence", "invert_permutation"]


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    return argsort(permutation)


class _PackedSequenceBase(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceBase):
    """A packed batch of variable-length sequences (see the module docstring); build it with
    ``pack_padded_sequence`` or ``pack_sequence``, not by hand. ``unsorted_indices`` defaults to the
    inverse of ``sorted_indices``."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:  # PyTorch also accepts PackedSequence(*packed) with a tuple
            data, batch_sizes = data
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """``data`` moved or cast as ``Tensor.to``; the indices follow its device, ``batch_sizes`` stays on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        device = data.device
        sorted_indices, unsorted_indices = (None if i is None else i.to(device)
                                            for i in (self.sorted_indices, self.unsorted_indices))
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, device=None) -> PackedSequence:
        return self.to("cuda" if device is None else device)

    def double(self) -> PackedSequence:
        return self.to(dtype=self.data.double().dtype)

    def float(self) -> PackedSequence:
        return self.to(dtype=self.data.float().dtype)

    @property
    def is_cuda(self) -> bool:
        return self.data.device.type == "cuda"


def _sizes(lengths) -> list:
    """``lengths`` (a list, tuple or 1-D tensor) as Python ints."""
    values = lengths.tolist() if isinstance(lengths, Tensor) else [int(n) for n in lengths]
    if not isinstance(values, list):
        values = [values]
    return values


def _batch_sizes(lengths: list) -> list:
    """How many of the sequences (lengths sorted descending) run at each time step."""
    return [sum(1 for n in lengths if n > t) for t in range(lengths[0])] if lengths else []


def _long(values: list) -> Tensor:
    return Tensor(values, dtype=int64)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False, enforce_sorted: bool = True
                         ) -> PackedSequence:
    """Pack ``input`` ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) holding sequences of the given
    ``lengths`` (a list or CPU tensor). With ``enforce_sorted`` the lengths must be descending; otherwise
    they are sorted here and the permutation kept in the result."""
    sizes = _sizes(lengths)
    batch_dim = 0 if batch_first else 1
    if len(sizes) != input.shape[batch_dim]:
        raise ValueError(f"pack_padded_sequence: expected {input.shape[batch_dim]} lengths (the batch size), "
                         f"got {len(sizes)}")
    if any(n <= 0 for n in sizes):
        raise RuntimeError(f"pack_padded_sequence: every length must be positive, got {sizes}")
    if max(sizes) > input.shape[1 - batch_dim]:
        raise RuntimeError(f"pack_padded_sequence: a length {max(sizes)} exceeds the {input.shape[1 - batch_dim]} "
                           "time steps of the input")
    if enforce_sorted:
        if any(a < b for a, b in zip(sizes, sizes[1:])):
            raise RuntimeError(f"pack_padded_sequence: lengths {sizes} are not sorted in decreasing order; pass "
                               "enforce_sorted=False to sort them here")
        sorted_indices, order = None, list(range(len(sizes)))
    else:
        order = sorted(range(len(sizes)), key=lambda b: -sizes[b])  # stable, as lucid.argsort
        sorted_indices = _long(order).to(input.device)
    if batch_first:
        input = input.transpose(0, 1)
    sizes = [sizes[b] for b in order]
    batch = input.shape[1]
    rows = [t * batch + order[b] for t in range(sizes[0]) for b in range(len(sizes)) if sizes[b] > t]
    data = index_select(input.reshape(input.shape[0] * batch, *input.shape[2:]), 0, rows)
    return PackedSequence(data, _long(_batch_sizes(sizes)), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple:
    """Undo ``pack_padded_sequence``: ``(padded, lengths)`` with ``padded`` ``(T, B, *)`` (``(B, T, *)``
    with ``batch_first``) in the original batch order, padded with ``padding_value`` up to the longest
    sequence or to ``total_length``; ``lengths`` an int64 CPU tensor."""
    data, batch_sizes = sequence.data, _sizes(sequence.batch_sizes)
    steps, batch = len(batch_sizes), (batch_sizes[0] if batch_sizes else 0)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"pad_packed_sequence: total_length={total_length} is less than the longest "
                             f"sequence's {steps} steps")
        steps = total_length
    pad_row = data.shape[0]  # the index of the appended padding row
    rows, offset = [], 0
    for t in range(steps):
        size = batch_sizes[t] if t < len(batch_sizes) else 0
        rows.extend(offset + b if b < size else pad_row for b in range(batch))
        offset += size
    fill = full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = index_select(cat([data, fill], dim=0), 0, rows).reshape(steps, batch, *data.shape[1:])
    lengths = [sum(1 for size in batch_sizes if size > b) for b in range(batch)]
    if sequence.unsorted_indices is not None:
        padded = index_select(padded, 1, sequence.unsorted_indices)
        lengths = [lengths[i] for i in _sizes(sequence.unsorted_indices)]
    return (padded.transpose(0, 1) if batch_first else padded), _long(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0, padding_side: str = "right"
                 ) -> Tensor:
    """Stack tensors ``(L_i, *)`` of different lengths into ``(L_max, B, *)`` (``(B, L_max, *)`` with
    ``batch_first``), filling with ``padding_value`` on the ``padding_side`` (``"right"`` or ``"left"``)."""
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            fill = full((missing, *s.shape[1:]), padding_value, dtype=s.dtype, device=s.device)
            s = cat([s, fill] if padding_side == "right" else [fill, s], dim=0)
        padded.append(s)
    return stack(padded, dim=0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The inverse of ``pad_sequence`` (right padding): the ``lengths[i]`` first steps of each sequence."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[i, :n] for i, n in enumerate(_sizes(lengths))]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of tensors ``(L_i, *)`` (``pad_sequence`` then ``pack_padded_sequence``)."""
    sequences = list(sequences)
    return pack_padded_sequence(pad_sequence(sequences), [s.shape[0] for s in sequences],
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The inverse of ``pack_sequence``: the list of tensors, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
