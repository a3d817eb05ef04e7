"""Process groups: the default group (all processes, made by :func:`init_process_group`) and the subgroups
that :func:`new_group` makes, each with its own transport (an MPI or NCCL communicator of its members).

Ranks given to the API are global ranks (ranks in the default group); a group also numbers its members
0..size-1 by their order in ``ranks`` (sorted, as torch does). A process outside a subgroup gets
``GroupMember.NON_GROUP_MEMBER`` from :func:`new_group`; collectives given that group warn and return at once.
"""

from __future__ import annotations

import os
import warnings

from .common import DistributedError, default_pg_timeout, is_mpi_available, started_by_mpiexec
from .store import PrefixStore, _seconds, check_store_arguments, rendezvous

__all__ = ["GroupMember", "ProcessGroup", "destroy_process_group", "get_backend", "get_global_rank",
           "get_group_rank", "get_process_group_ranks", "get_rank", "get_world_size", "group", "init_process_group",
           "is_initialized", "new_group", "new_subgroups", "new_subgroups_by_enumeration", "current_transport",
           "resolve_group"]


class ProcessGroup:
    """A set of processes that run collectives together. ``ranks`` lists their global ranks in group-rank
    order; ``transport`` is this process's communicator for them (None once the group is destroyed)."""

    def __init__(self, transport, ranks):
        self.transport, self.ranks, self.backend = transport, list(ranks), transport.name

    def rank(self) -> int:
        return self.transport.rank

    def size(self) -> int:
        return len(self.ranks)

    def name(self) -> str:
        return self.backend

    def __repr__(self):
        return f"ProcessGroup(ranks={self.ranks})"


class _WorldMeta(type):
    """Gives ``group`` and ``GroupMember`` the class property ``WORLD``: the default group, None before
    :func:`init_process_group` (as in torch)."""

    @property
    def WORLD(cls) -> ProcessGroup | None:  # noqa: N802  (torch's name)
        return _world


class group(metaclass=_WorldMeta):  # noqa: N801  (torch.distributed.group)
    """``group.WORLD`` is the default group (all processes)."""


class GroupMember(metaclass=_WorldMeta):
    """``GroupMember.WORLD`` is the default group; ``NON_GROUP_MEMBER`` is what :func:`new_group` returns to
    the processes outside the new group."""

    NON_GROUP_MEMBER = -100


class _DefaultGroup(ProcessGroup):
    """The default group: every process, group ranks equal to global ranks."""

    def __init__(self, transport):
        super().__init__(transport, range(transport.world_size))
        self.subgroups: list[ProcessGroup] = []


_world: _DefaultGroup | None = None
_generation = 0  # default groups made so far (each uses its own prefix in the rendezvous store)


def is_initialized() -> bool:
    return _world is not None


def init_process_group(backend: str | None = None, init_method: str | None = None, timeout=None,
                       world_size: int = -1, rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Join the default process group through ``backend``: "gloo" or "mpi" (CPU tensors) or "nccl" (CUDA tensors).

    "gloo" and "mpi" are one transport, MPI through mpi4py: "gloo" is PyTorch's CPU backend name, served so that
    unmodified PyTorch programs run under ``python -m lucid.distributed.run -n N`` (mpiexec), and ``get_backend()``
    answers the name asked for. Their world comes from mpiexec (a process started without it is a world of one);
    ``init_method`` and ``store`` are accepted for torch's signature but not used (MPI has already connected the
    processes), and ``rank``/``world_size``, when given, must agree with MPI's. Without ``backend`` lucid picks
    "gloo", PyTorch's backend for CPU tensors. NCCL takes its world and shares its id through MPI under mpiexec,
    else through a store: ``store`` (with ``rank`` and ``world_size``) or one made from ``init_method``: "env://"
    (the default: ``MASTER_ADDR``, ``MASTER_PORT``, ``RANK``, ``WORLD_SIZE``, as the launcher's spawn mode and
    torchrun set them), "tcp://host:port" or "file:///path". ``timeout`` (default 30 minutes, as torch) bounds
    that rendezvous; MPI has no per-call timeout.
    """
    global _world, _generation
    if _world is not None:
        raise DistributedError("the default process group is already initialised; call destroy_process_group() "
                               "first to make a new one")
    backend = "gloo" if backend is None else str(backend).lower()
    if backend not in ("gloo", "mpi", "nccl"):
        raise ValueError(f"unknown distributed backend {backend!r}: lucid has 'gloo' and 'mpi' (CPU tensors, both "
                         "over MPI through mpi4py) and 'nccl' (CUDA tensors, CuPy)")
    if backend in ("gloo", "mpi"):
        check_store_arguments(init_method, store, world_size, rank)
        _check_mpi_world(backend, world_size)
        from .mpi import MpiTransport

        transport = MpiTransport(name=backend)
    elif is_mpi_available() and started_by_mpiexec():
        from .nccl import NcclTransport

        transport = NcclTransport.connect(None, None, None)  # the world and the NCCL id come through MPI
    else:
        seconds = _seconds(default_pg_timeout if timeout is None else timeout)
        found, rank, world_size = rendezvous(init_method, world_size, rank, seconds, store)
        _generation += 1  # a fresh key space for each default group made from one store
        from .nccl import NcclTransport

        transport = NcclTransport.connect(PrefixStore(f"default_pg/{_generation}", found), rank, world_size)
    for name, asked, actual in (("world_size", world_size, transport.world_size), ("rank", rank, transport.rank)):
        if asked not in (-1, None) and asked != actual:
            transport.close()
            raise DistributedError(f"init_process_group({name}={asked}) but the launcher started this process "
                                   f"with {name} {actual}")
    _world = _DefaultGroup(transport)


def _check_mpi_world(backend, world_size) -> None:
    """Refuse clearly, before MPI starts, a CPU group that MPI cannot make: no mpi4py, or several processes that
    mpiexec did not start (torchrun, the launcher's spawn mode: they would each become a world of one)."""
    asked, source = world_size, f"world_size={world_size}"
    if asked in (-1, None):
        asked, source = int(os.environ.get("WORLD_SIZE", 1)), f"WORLD_SIZE={os.environ.get('WORLD_SIZE')}"
    if asked > 1 and not started_by_mpiexec():
        raise DistributedError(f"backend {backend!r} runs its CPU collectives over MPI, but this process was not "
                               f"started by mpiexec and asks for {asked} processes ({source}); start them with "
                               f"`python -m lucid.distributed.run -n {asked} script.py` (mpiexec). torchrun and the "
                               "launcher's spawn mode serve backend 'nccl' only")
    if not is_mpi_available():
        raise DistributedError(f"backend {backend!r} runs its CPU collectives over MPI, and mpi4py is not installed: "
                               "pip install 'lucid[distributed]' (mpi4py and MPICH)")


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None, sort_ranks=True):
    """A group of the processes ``ranks`` (global ranks; all processes when None), with a communicator of its
    own. Every process of the default group must call it (it is collective there), in the same order as the
    other new_group calls. Members get the :class:`ProcessGroup`; the others ``GroupMember.NON_GROUP_MEMBER``.
    ``backend`` may only name the default group's backend (lucid does not mix transports in one world)."""
    world = _default_group()
    if backend is not None and str(backend).lower() != world.backend:
        raise ValueError(f"new_group(backend={backend!r}): lucid's subgroups use the default group's backend "
                         f"({world.backend!r}); leave backend=None")
    if use_local_synchronization:
        raise ValueError("new_group(use_local_synchronization=True) is not supported: lucid makes a subgroup's "
                         "communicator with every process of the default group, so all of them must call new_group")
    if ranks is None:
        ranks = list(world.ranks)
    ranks = [int(r) for r in ranks]
    if sort_ranks:
        ranks = sorted(ranks)
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"ranks list must not contain duplicate entries, got {ranks}")
    if not ranks:
        raise ValueError("new_group needs at least one rank")
    for r in ranks:
        if not 0 <= r < world.size():
            raise ValueError(f"Rank {r} is out of range. Valid ranks are 0 to {world.size() - 1} "
                             f"(world_size={world.size()})")
    transport = world.transport.split(ranks)
    if transport is None:
        return GroupMember.NON_GROUP_MEMBER
    made = ProcessGroup(transport, ranks)
    world.subgroups.append(made)
    return made


def new_subgroups(group_size=None, group=None, timeout=None, backend=None, pg_options=None, group_desc=None):
    """Split ``group``'s members (the default group when None), in rank order, into consecutive subgroups of
    ``group_size``; ``(this process's subgroup, all of them)``. Without ``group_size`` torch uses the number of CUDA
    devices; lucid asks for it on the CPU, as torch does."""
    if group_size is None:
        from ..cuda import device_count, is_available

        if not is_available():
            raise ValueError("Default group size only takes effect when CUDA is available. If your subgroup uses a "
                             "backend that does not depend on CUDA, please pass in 'group_size' correctly.")
        group_size = device_count()
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size <= 0:
        raise ValueError(f"The arg 'group_size' ({group_size}) must be positive")
    ranks = get_process_group_ranks(group if group is not None else _default_group())
    if len(ranks) < group_size:
        raise ValueError(f"The arg 'group_size' ({group_size}) must not exceed the world size ({len(ranks)})")
    if len(ranks) % group_size:
        raise ValueError(f"The world size ({len(ranks)}) must be divisible by 'group_size={group_size}'")
    return new_subgroups_by_enumeration([ranks[i:i + group_size] for i in range(0, len(ranks), group_size)],
                                        timeout=timeout, backend=backend, pg_options=pg_options, group_desc=group_desc)


def new_subgroups_by_enumeration(ranks_per_subgroup_list, timeout=None, backend=None, pg_options=None,
                                 group_desc=None):
    """One :func:`new_group` per list of global ranks (the lists must not overlap; a rank may be in none);
    ``(this process's subgroup or None, all of them)``. Every process of the default group calls it."""
    if ranks_per_subgroup_list is None or len(ranks_per_subgroup_list) == 0:
        raise ValueError("The arg 'ranks_per_subgroup_list' cannot be empty")
    owner: dict[int, list] = {}
    for ranks in ranks_per_subgroup_list:  # checked before any group is made: every process refuses alike
        for r in ranks:
            if r in owner:
                raise ValueError(f"Rank {r} has appeared in both subgroup {owner[r]} and {list(ranks)}")
            owner[r] = list(ranks)
    subgroups = [new_group(ranks, timeout=timeout, backend=backend, pg_options=pg_options, group_desc=group_desc)
                 for ranks in ranks_per_subgroup_list]
    mine = [g for g in subgroups if isinstance(g, ProcessGroup)]
    return (mine[0] if mine else None), subgroups


def destroy_process_group(group=None) -> None:
    """Close ``group``'s communicator; with None, the default group and every subgroup (a later
    :func:`init_process_group` may join again). Destroying ``NON_GROUP_MEMBER`` does nothing."""
    global _world
    if group is None or group is _world:
        if _world is not None:
            for sub in _world.subgroups:
                _close(sub)
            _close(_world)
            _world = None
    elif isinstance(group, ProcessGroup):
        _close(group)
        if _world is not None and group in _world.subgroups:
            _world.subgroups.remove(group)


def _close(pg):
    if pg.transport is not None:
        pg.transport.close()
        pg.transport = None


def _default_group() -> _DefaultGroup:
    if _world is None:
        raise DistributedError("the default process group is not initialised: call "
                               "lucid.distributed.init_process_group(backend) first")
    return _world


def current_transport():
    """The default group's transport; DistributedError when :func:`init_process_group` has not run."""
    return _default_group().transport


def resolve_group(group, what) -> ProcessGroup | None:
    """The :class:`ProcessGroup` that ``group`` names (None: the default group), or None, after a warning
    (as torch), when ``group`` is ``NON_GROUP_MEMBER``: this process is not in it, so ``what`` does nothing."""
    if group is None:
        return _default_group()
    if isinstance(group, ProcessGroup):
        _default_group()
        if group.transport is None:
            raise DistributedError(f"{what}: {group} was destroyed (destroy_process_group); make a new group")
        return group
    if group == GroupMember.NON_GROUP_MEMBER:
        warnings.warn(f"Running {what} on global rank {_default_group().rank()} which does not belong to the "
                      "given group.", stacklevel=3)
        return None
    raise TypeError(f"{what}: group must be a ProcessGroup (group.WORLD or one from new_group) or None, "
                    f"not {group!r}")


def _member_group(group, what) -> ProcessGroup:
    """Like :func:`resolve_group` for the rank queries, which cannot answer for a group this process is not in."""
    if group is not None and not isinstance(group, ProcessGroup) and group == GroupMember.NON_GROUP_MEMBER:
        raise ValueError(f"{what}: this process is not a member of the group (new_group returned "
                         "GroupMember.NON_GROUP_MEMBER here), so it does not know the group's ranks")
    return resolve_group(group, what)


def get_rank(group=None) -> int:
    """This process's rank in ``group`` (the default group when None); -1 outside the group, as torch."""
    if group is not None and not isinstance(group, ProcessGroup) and group == GroupMember.NON_GROUP_MEMBER:
        return -1
    return resolve_group(group, "get_rank").rank()


def get_world_size(group=None) -> int:
    """The number of processes in ``group`` (the default group when None); -1 outside the group, as torch."""
    if group is not None and not isinstance(group, ProcessGroup) and group == GroupMember.NON_GROUP_MEMBER:
        return -1
    return resolve_group(group, "get_world_size").size()


def get_backend(group=None) -> str:
    return _member_group(group, "get_backend").backend


def get_process_group_ranks(group) -> list[int]:
    """The global ranks of ``group``'s members, in group-rank order."""
    return list(_member_group(group, "get_process_group_ranks").ranks)


def get_global_rank(group, group_rank: int) -> int:
    """The global rank of ``group``'s member number ``group_rank``."""
    pg = _member_group(group, "get_global_rank")
    if pg is _world:
        return group_rank
    if not isinstance(group_rank, int) or not 0 <= group_rank < pg.size():
        raise ValueError(f"Group rank {group_rank} is not part of group {pg} (group ranks are 0..{pg.size() - 1})")
    return pg.ranks[group_rank]


def get_group_rank(group, global_rank: int) -> int:
    """``global_rank``'s rank in ``group``; ValueError when that process is not a member."""
    pg = _member_group(group, "get_group_rank")
    if pg is _world:
        return global_rank
    if global_rank not in pg.ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {pg}")
    return pg.ranks.index(global_rank)
