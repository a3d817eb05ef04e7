"""``lucid.distributed``: data-parallel training across processes, with ``torch.distributed``'s API.

Transports are existing engines only: ``backend="mpi"`` runs collectives on host (NumPy) tensors
through mpi4py (``pip install "lucid[distributed]"`` brings mpi4py and MPICH); ``backend="nccl"``
runs them on CUDA tensors through CuPy's NCCL communicator. Start N processes with
``mpiexec -n N python train.py`` or ``python -m lucid.distributed.run -n N train.py``, then::

    import lucid.distributed as dist
    dist.init_process_group("mpi")
    dist.all_reduce(t, op=dist.ReduceOp.SUM)

Every collective writes into the tensors it is given (as torch does: the result replaces their
contents and bumps their version counter) and takes ``async_op=True`` to return a :class:`Work`
handle whose ``wait()`` finishes it. Only the default group (all processes) exists: ``group=``
accepts ``None`` or :data:`group.WORLD`.
"""

from __future__ import annotations

from .collectives import (
    Work,
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object_list,
    reduce,
    reduce_scatter_tensor,
)
from .common import (
    DistributedError,
    ReduceOp,
    get_node_local_rank,
    group,
    is_available,
    is_mpi_available,
    is_nccl_available,
)
from .process_group import (
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_initialized,
)

__all__ = [
    "ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce", "barrier",
    "broadcast", "broadcast_object_list", "reduce", "reduce_scatter_tensor",
    "DistributedError", "destroy_process_group", "get_backend", "get_node_local_rank", "get_rank", "get_world_size",
    "group", "init_process_group", "is_available", "is_initialized", "is_mpi_available", "is_nccl_available",
]
