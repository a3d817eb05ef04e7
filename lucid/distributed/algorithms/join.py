"""torch's generic join context manager for uneven inputs: ``with Join([model, optimizer]): for batch in mine: ...``.

Each :class:`Joinable` (DistributedDataParallel, ...) calls :meth:`Join.notify_join_context` once per iteration
(DDP does in its forward), which all-reduces a one: the processes still iterating count themselves. A process
that runs out of inputs leaves the loop and, in ``__exit__``, all-reduces zeros to learn how many are still
iterating; while some are, it runs every joinable's :class:`JoinHook` ``main_hook`` (which shadows the collectives
one iteration of the others makes); once none are, every process runs the ``post_hook``s (``is_last_joiner``:
this process joined in the last round).
"""

from __future__ import annotations

import abc
from typing import Any, NamedTuple

from ...ops import ones, zeros
from .. import collectives
from ..process_group import get_rank

__all__ = ["Join", "JoinHook", "Joinable"]


class JoinHook:
    """What a joined process does for one joinable: ``main_hook()`` once per iteration the others still run,
    ``post_hook(is_last_joiner)`` once everybody has joined. Both do nothing by default."""

    def main_hook(self) -> None:
        """Shadow the collectives of one training iteration of the processes that have not joined."""

    def post_hook(self, is_last_joiner: bool) -> None:
        """Run after every process has joined (to make the replicas agree, for instance)."""


class _JoinConfig(NamedTuple):
    enable: bool
    throw_on_early_termination: bool
    is_first_joinable: bool

    @staticmethod
    def construct_disabled_join_config() -> _JoinConfig:
        return _JoinConfig(enable=False, throw_on_early_termination=False, is_first_joinable=False)


class Joinable(abc.ABC):
    """A class that :class:`Join` can manage: it gives a :class:`JoinHook`, the device and the process group of its
    collectives, and calls ``Join.notify_join_context(self)`` once per iteration. A subclass's ``__init__`` must call
    ``Joinable.__init__`` (which sets a disabled join config)."""

    @abc.abstractmethod
    def __init__(self):
        super().__init__()
        self._join_config = _JoinConfig.construct_disabled_join_config()

    @abc.abstractmethod
    def join_hook(self, **kwargs) -> JoinHook:
        """The hook a joined process runs for this joinable; ``kwargs`` are the ones given to :class:`Join`."""

    @property
    @abc.abstractmethod
    def join_device(self):
        """The device of the join context's count tensors."""

    @property
    @abc.abstractmethod
    def join_process_group(self) -> Any:
        """The process group the joinable's collectives run on."""


class Join:
    """Train on uneven inputs: inside ``with Join(joinables):`` each process iterates over its own inputs, and
    the ones that finish early shadow the others' collectives until every process has finished (see the module
    docstring). ``enable=False`` makes it do nothing; ``throw_on_early_termination=True`` makes every process raise
    a RuntimeError as soon as one has run out of inputs, instead. ``kwargs`` go to each ``join_hook``. Leaving the
    context disables the joinables' join config again (lucid's choice: torch leaves it set, so a model used after
    the context would go on sending join messages that no process answers)."""

    def __init__(self, joinables: list[Joinable], enable: bool = True, throw_on_early_termination: bool = False,
                 **kwargs):
        if len(joinables) == 0:
            raise ValueError("The join context manager requires at least one joinable")
        for j in joinables:
            if not isinstance(getattr(j, "_join_config", None), _JoinConfig):
                raise TypeError(f"Join takes Joinables whose __init__ called Joinable.__init__; {type(j).__name__} "
                                "is not one")
        self._joinables = list(joinables)
        self._join_hooks = [j.join_hook(**kwargs) for j in self._joinables]
        self._enable, self._throw_on_early_termination = enable, throw_on_early_termination
        for i, j in enumerate(self._joinables):
            j._join_config = _JoinConfig(enable=enable, throw_on_early_termination=throw_on_early_termination,
                                         is_first_joinable=i == 0)
        self._process_group = self._joinables[0].join_process_group
        if any(j.join_process_group is not self._process_group for j in self._joinables):
            raise ValueError("Using join context manager with multiple process groups")
        self._device = self._joinables[0].join_device
        self._rank = get_rank(self._process_group)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        """Shadow the others' iterations until every process has joined, then run the post-hooks. An exception
        from the body propagates at once (the other processes are then left waiting, as with torch)."""
        try:
            if not self._enable or exc_type is not None:
                return
            is_last_joiner = True
            while self._count(0.0) > 0:
                if self._throw_on_early_termination:
                    self._count(1.0)  # the answer the others' notify_join_context waits for
                    raise RuntimeError(f"Rank {self._rank} exhausted all inputs.")
                for hook in self._join_hooks:
                    hook.main_hook()
                is_last_joiner = False
            for hook in self._join_hooks:
                hook.post_hook(is_last_joiner)
        finally:
            for j in self._joinables:
                j._join_config = _JoinConfig.construct_disabled_join_config()

    def _count(self, mine: float) -> float:
        """The sum over the group of ``mine`` (1: still iterating, 0: joined)."""
        t = (ones if mine else zeros)(1, device=self._device)
        collectives.all_reduce(t, group=self._process_group)
        return t.item()

    @staticmethod
    def notify_join_context(joinable: Joinable):
        """Tell the processes that have joined that this one still iterates: the first joinable of an enabled join
        context all-reduces a one (asynchronously: the :class:`~lucid.distributed.Work` is returned, its tensor then
        holds the number of processes still iterating); None for the others and outside a join context. With
        ``throw_on_early_termination`` it raises RuntimeError once some process has run out of inputs."""
        config = getattr(joinable, "_join_config", None)
        if not isinstance(config, _JoinConfig):
            raise TypeError(f"Check that the {type(joinable).__name__} constructor calls the ``Joinable`` constructor")
        if not config.is_first_joinable or not config.enable:
            return None
        device, group = joinable.join_device, joinable.join_process_group
        work = collectives.all_reduce(ones(1, device=device), group=group, async_op=True)
        if config.throw_on_early_termination:
            flag = zeros(1, device=device)
            collectives.all_reduce(flag, group=group)
            if flag.item():
                work.wait()
                raise RuntimeError("Detected at least one rank that exhausted inputs. Throwing across all ranks.")
        return work
