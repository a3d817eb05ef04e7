"""Shared-memory tensors and how ``multiprocessing`` sends them (PyTorch's ``torch.multiprocessing.reductions``).

``Tensor.share_memory_()`` moves a CPU tensor's data into a block of shared host memory
(:mod:`lucid._backend.shared_memory`); ``is_shared()`` says whether it is there. A shared tensor sent to another
process through a ``multiprocessing`` queue or pipe, or passed to a ``Process`` started with ``spawn`` or
``forkserver``, arrives there as a view of the same memory (its file descriptor travels, not its data), so
writes on either side are seen by the other; a forked child inherits the mapping itself. Lucid's choices where
PyTorch differs:

- A tensor that is not shared is sent as a copy; PyTorch moves it into shared memory on the way. Lucid can't
  move memory under the tensors that already alias it (views, ``detach()``, ``.data``), so it leaves the
  sender's tensor alone: call ``share_memory_()`` first (on the base tensor, before taking views).
- ``share_memory_()`` on a view moves its base tensor, as PyTorch moves the whole storage; other views taken
  from that base before keep the old memory.
- A tensor on a device (CUDA) is left as it is and ``is_shared()`` is True, as in PyTorch, but sending one to
  another process raises: PyTorch passes CUDA memory by CUDA IPC, which lucid does not do yet.

A tensor's ``.grad`` is not sent (as PyTorch); ``Module.share_memory()`` shares parameters, their gradients
and buffers.
"""

from __future__ import annotations

from multiprocessing.reduction import DupFd, ForkingPickler

from .._backend import shared_memory
from .._backend.device import device as _parse_device
from .._tensor import Tensor, _user_state, register_methods

__all__ = ["init_reductions", "reduce_tensor", "rebuild_tensor"]


def share_memory_(self: Tensor) -> Tensor:
    """Move this CPU tensor's data into shared memory (no-op when it is there already, or on a device), so that
    other processes it is sent to see and make changes in place. Returns self. A view moves its base (and stays
    its view). Tensors that aliased the old memory (other views taken before, ``detach()``) keep it: share first."""
    if self._device.type != "cpu" or shared_memory.locate(self._writable_data()) is not None:
        return self
    base = self._base
    if base is None:
        self._data = shared_memory.share(self._data)
    else:
        old = base._writable_data()
        share_memory_(base)
        data = shared_memory.moved(self._data, old, base._data)
        if data is None:
            raise RuntimeError("share_memory_: this tensor is a view of a tensor whose memory is not contiguous, "
                               "so lucid can't move it from under the view; share the base tensor, then take views")
        self._data = data
    _register(type(self))  # a Tensor subclass defined after lucid was imported
    return self


def is_shared(self: Tensor) -> bool:
    """Whether this tensor's data is in shared memory (:func:`share_memory_`); True on a device, as PyTorch
    says of CUDA tensors."""
    return self._device.type != "cpu" or shared_memory.locate(self._data) is not None


def reduce_tensor(tensor: Tensor):
    """How ``multiprocessing`` pickles a tensor: a shared CPU tensor as its block's descriptor and its place in
    it; any other CPU tensor by value."""
    if tensor._requires_grad and tensor._node is not None:
        raise RuntimeError("Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd "
                           "does not support crossing process boundaries. If you just want to transfer the data, "
                           "call detach() on the tensor before serializing (e.g., putting it on the queue).")
    if tensor._device.type != "cpu":
        raise RuntimeError(f"can't send a tensor on {tensor.device} to another process: lucid shares only CPU "
                           f"tensors between processes (PyTorch uses CUDA IPC, which lucid does not); send "
                           f"tensor.cpu().share_memory_() and move it to the device in the receiving process")
    where = shared_memory.locate(tensor._data)
    if where is None:
        return tensor.__reduce_ex__(2)
    block, offset = where
    data = tensor._data
    return rebuild_tensor, (type(tensor), DupFd(block.fd), len(block), offset, data.shape, data.dtype,
                            data.strides, tensor._requires_grad, _user_state(tensor))


def rebuild_tensor(cls, dup_fd, nbytes, offset, shape, dtype, strides, requires_grad, state) -> Tensor:
    """The receiving side of :func:`reduce_tensor`: a tensor of type ``cls`` on the sender's shared memory."""
    block = shared_memory.open_block(dup_fd.detach(), nbytes)
    t = object.__new__(cls)
    t._data = shared_memory.array_in(block, offset, shape, dtype, strides)
    t._device = _parse_device("cpu")
    t._version = [0]
    t._requires_grad = requires_grad
    for key, value in state.items():
        setattr(t, key, value)
    _register(cls)
    return t


def _register(cls) -> None:
    ForkingPickler.register(cls, reduce_tensor)


def init_reductions() -> None:
    """Make ``multiprocessing`` pickle Tensor and each of its subclasses defined so far with
    :func:`reduce_tensor` (a subclass defined later is added when one of its tensors is shared)."""
    pending = [Tensor]
    while pending:
        cls = pending.pop()
        _register(cls)
        pending += cls.__subclasses__()


register_methods({"share_memory_": share_memory_, "is_shared": is_shared})
