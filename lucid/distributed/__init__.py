"""``lucid.distributed``: data-parallel training across processes, with ``torch.distributed``'s API.

Transports are existing engines only: ``backend="gloo"`` (PyTorch's CPU backend name) and ``backend="mpi"`` run
collectives on host (NumPy) tensors through mpi4py (``pip install "lucid[distributed]"`` brings mpi4py and MPICH);
``backend="nccl"`` runs them on CUDA tensors through CuPy's NCCL communicator. Start N CPU processes with
``python -m lucid.distributed.run -n N train.py`` (mpiexec; ``mpiexec -n N python train.py`` too); NCCL processes
also start torchrun's way (``--standalone --nproc-per-node N``: they meet through ``env://``). Then::

    import lucid.distributed as dist
    dist.init_process_group("gloo")  # or "mpi"; "nccl" for CUDA tensors
    dist.all_reduce(t, op=dist.ReduceOp.SUM)

Every collective writes into the tensors it is given (as torch does: the result replaces their
contents and bumps their version counter) and takes ``async_op=True`` to return a :class:`Work`
handle whose ``wait()`` finishes it. ``send``/``recv``/``isend``/``irecv``/``batch_isend_irecv`` move
tensors between two processes. ``new_group(ranks)`` makes a subgroup that collectives take as ``group=``
(every process calls it; those outside get ``GroupMember.NON_GROUP_MEMBER``). ``TCPStore``, ``FileStore``,
``HashStore`` and ``PrefixStore`` are torch's key-value stores (NCCL's rendezvous: ``init_process_group(store=...)``).
``new_subgroups``/``new_subgroups_by_enumeration`` split the world into groups, ``init_device_mesh`` lays it out as a
:class:`DeviceMesh` with a group per mesh dimension, and ``algorithms.join.Join`` (``DistributedDataParallel.join()``)
trains on uneven inputs.
"""

from __future__ import annotations

from . import algorithms, device_mesh
from .algorithms.ddp_comm_hooks import GradBucket
from .collectives import (
    P2POp,
    Work,
    all_gather,
    all_gather_coalesced,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    all_reduce_coalesced,
    all_to_all,
    all_to_all_single,
    barrier,
    batch_isend_irecv,
    broadcast,
    broadcast_object_list,
    gather,
    gather_object,
    irecv,
    isend,
    monitored_barrier,
    recv,
    recv_object_list,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
    scatter_object_list,
    send,
    send_object_list,
)
from .common import (
    Backend,
    DebugLevel,
    DistBackendError,
    DistError,
    DistNetworkError,
    DistributedError,
    DistStoreError,
    QueueEmptyError,
    ReduceOp,
    _make_nccl_premul_sum,
    default_pg_timeout,
    get_debug_level,
    get_default_backend_for_device,
    get_node_local_rank,
    is_available,
    is_backend_available,
    is_gloo_available,
    is_mpi_available,
    is_nccl_available,
    is_torchelastic_launched,
    reduce_op,
    set_debug_level,
    set_debug_level_from_env,
)
from .device_mesh import DeviceMesh, init_device_mesh
from .process_group import (
    GroupMember,
    ProcessGroup,
    destroy_process_group,
    get_backend,
    get_global_rank,
    get_group_rank,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_initialized,
    new_group,
    new_subgroups,
    new_subgroups_by_enumeration,
)
from .store import FileStore, HashStore, PrefixStore, Store, TCPStore

__all__ = [
    "P2POp", "ReduceOp", "Work", "all_gather", "all_gather_coalesced", "all_gather_into_tensor", "all_gather_object",
    "all_reduce", "all_reduce_coalesced", "all_to_all", "all_to_all_single", "barrier", "batch_isend_irecv",
    "broadcast", "broadcast_object_list", "gather",
    "gather_object", "irecv", "isend", "monitored_barrier", "recv", "recv_object_list", "reduce", "reduce_scatter",
    "reduce_scatter_tensor", "scatter", "scatter_object_list", "send", "send_object_list",
    "DistributedError", "GroupMember", "ProcessGroup", "destroy_process_group", "get_backend", "get_global_rank",
    "get_group_rank", "get_node_local_rank", "get_process_group_ranks", "get_rank", "get_world_size", "group",
    "init_process_group", "is_available", "is_backend_available", "is_gloo_available", "is_initialized",
    "is_mpi_available", "is_nccl_available", "new_group", "new_subgroups", "new_subgroups_by_enumeration",
    "_make_nccl_premul_sum", "Backend", "DebugLevel", "DistBackendError", "DistError", "DistNetworkError",
    "QueueEmptyError", "GradBucket", "DeviceMesh", "init_device_mesh", "algorithms", "device_mesh",
    "get_debug_level", "get_default_backend_for_device", "is_torchelastic_launched", "reduce_op", "set_debug_level",
    "set_debug_level_from_env",
    "DistStoreError", "FileStore", "HashStore", "PrefixStore", "Store", "TCPStore", "default_pg_timeout",
]
