"""``DataLoader``: batches from a dataset, in the main process or in worker processes.

Batches are made on the host as NumPy (by workers when ``num_workers > 0``) and become lucid
Tensors in the main process, once per batch, on the loader's ``device``. A loader yields the
same batches with or without workers: the sampler runs in the main process and results are
put back in order. Randomness (shuffling, the workers' seeds) comes from ``generator`` (a
``lucid.Generator``, an int seed or a ``numpy.random.Generator``) or else from lucid's default CPU
generator, so ``lucid.manual_seed`` makes a run reproducible.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import pickle
import queue
import random
import sys
import time
import traceback
import warnings
import weakref
from dataclasses import dataclass
from typing import Generic

import numpy as np

from .. import accelerator
from .._backend.device import device as _parse_device
from .._tensor import Tensor
from ..random import manual_seed
from .collate import default_collate, default_convert, host_collate
from .dataset import IterableDataset, T_co
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, as_generator, draw_seed

__all__ = ["DataLoader", "WorkerInfo", "get_worker_info"]

_POLL_S = 1.0  # how often a waiting process checks that its peers are alive
_JOIN_S = 5.0  # how long shutdown waits for a worker before terminating it
_RESET = "reset"  # message: an iterable-dataset worker restarts its stream (persistent workers)
_FIXED = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker process knows about itself: its ``id`` (0-based), ``num_workers``, the
    ``seed`` it was given, and its own copy of the ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker: its :class:`WorkerInfo` (use it to shard an IterableDataset or
    seed per worker); in the main process: None."""
    return _worker_info


class _InfiniteConstantSampler(Sampler):
    """The "indices" of an IterableDataset: None, forever (the dataset decides when to stop)."""

    def __iter__(self):
        while True:
            yield None


class _Exhausted:
    """Sent by a worker whose IterableDataset stream has ended."""


class _KeyErrorMessage(str):
    """A KeyError's message that prints as written: ``str(KeyError(m))`` is ``repr(m)``, which would show the
    worker's traceback as one line of ``\\n`` escapes (PyTorch wraps it the same way)."""

    def __repr__(self) -> str:
        return self


class _WorkerError:
    """An exception raised in a worker, carried to the main process and raised there."""

    def __init__(self, where: str) -> None:
        exc_type, exc, tb = sys.exc_info()
        try:
            pickle.dumps(exc_type)
            self.exc_type = exc_type
        except Exception:  # a class that can't cross processes is re-raised as RuntimeError
            self.exc_type = RuntimeError
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        self.message = f"Caught {exc_type.__name__} {where}.\nOriginal {text}"

    def reraise(self):
        message = _KeyErrorMessage(self.message) if self.exc_type is KeyError else self.message
        try:
            error = self.exc_type(message)
        except Exception:
            error = RuntimeError(self.message)
        raise error


class _Fetcher:
    """Turns the sampler's output (a batch of indices, one index, or None for streams) into a
    collated batch; raises StopIteration when an IterableDataset runs out."""

    def __init__(self, dataset, iterable: bool, auto_collation: bool, collate, drop_last: bool) -> None:
        self.dataset, self.iterable, self.auto_collation = dataset, iterable, auto_collation
        self.collate, self.drop_last = collate, drop_last
        self.reset()

    def reset(self) -> None:
        self._stream = iter(self.dataset) if self.iterable else None

    def fetch(self, indices):
        if self.iterable:
            if not self.auto_collation:
                return self.collate(next(self._stream))
            batch = list(itertools.islice(self._stream, len(indices)))
            if not batch or (self.drop_last and len(batch) < len(indices)):
                raise StopIteration
            return self.collate(batch)
        if not self.auto_collation:
            return self.collate(self.dataset[indices])
        getitems = getattr(self.dataset, "__getitems__", None)
        return self.collate(getitems(indices) if callable(getitems) else [self.dataset[i] for i in indices])


def _seed_process(base_seed: int, worker_id: int) -> None:
    """A worker's seeds, as PyTorch's: ``base_seed + worker_id`` for Python's ``random`` and lucid's generators,
    and for NumPy's global generator four words that SeedSequence mixes from the worker id and the base seed's
    halves (what PyTorch's ``_generate_state`` computes), so NumPy draws in a Dataset are PyTorch's too."""
    random.seed(base_seed + worker_id)
    words = [worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]
    np.random.seed(np.random.SeedSequence(words).generate_state(4))
    manual_seed(base_seed + worker_id)


def _worker_loop(fetch_args, index_queue, result_queue, done_event, seed, worker_id, num_workers,
                 worker_init_fn, parent_pid) -> None:
    """A worker process: fetch the batches named on ``index_queue`` and put them, pickled, on
    ``result_queue`` as ``(epoch, batch index, worker id, batch or error)``. Stops on None."""
    global _worker_info
    _seed_process(seed - worker_id, worker_id)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, fetch_args[0])
    broken = fetcher = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
        fetcher = _Fetcher(*fetch_args)
    except Exception:
        broken = _WorkerError(f"in DataLoader worker process {worker_id} while starting")
    ended = False
    while True:
        try:
            task = index_queue.get(timeout=_POLL_S)
        except queue.Empty:
            if os.getppid() != parent_pid:  # the main process is gone
                break
            continue
        if task is None:
            break
        if task == _RESET:
            ended = False
            if fetcher is not None:
                fetcher.reset()
            continue
        if done_event.is_set() or ended:
            continue
        epoch, idx, indices = task
        try:
            result = broken or fetcher.fetch(indices)
        except Exception as error:
            if isinstance(error, StopIteration) and fetcher.iterable:
                result, ended = _Exhausted(), True
            else:
                result = _WorkerError(f"in DataLoader worker process {worker_id}")
        try:
            payload = pickle.dumps((epoch, idx, worker_id, result), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            payload = pickle.dumps((epoch, idx, worker_id, _WorkerError(
                f"in DataLoader worker process {worker_id} while sending a batch (it could not be pickled)")))
        result_queue.put(payload)
    result_queue.cancel_join_thread()
    result_queue.close()


def _warn_if_many_workers(num_workers: int) -> None:
    """PyTorch's warning when a loader starts more workers than the CPUs this process may run on."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if cpus is not None and num_workers > cpus:
        warnings.warn(f"This DataLoader will create {num_workers} worker processes in total. Our suggested max number "
                      f"of worker in current system is {cpus}, which is smaller than what this DataLoader is going to "
                      f"create. Please be aware that excessive worker creation might get DataLoader running slow or "
                      f"even freeze, lower the worker number to avoid potential slowness/freeze if necessary.",
                      stacklevel=4)


class _BaseIter:
    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        self._new_epoch()
        # PyTorch's order: the sampler's iterator is made first (a sampler whose ``__iter__`` is a generator
        # function draws nothing yet), then the base seed is drawn, once per iterator: persistent workers keep
        # theirs, and later epochs draw only their shuffles.
        self._base_seed = draw_seed(self._loader._rng)

    def _new_epoch(self) -> None:
        self._sampler_iter = iter(self._loader._index_sampler)
        self._num_yielded = 0
        self._reported_len = self._loader._IterableDataset_len_called

    def _yield(self, batch):
        """``batch``, counted: an IterableDataset whose ``len`` was read through ``len(loader)`` warns once it has
        given more batches than that length says (PyTorch's check, comparing with ``len(dataset)`` as PyTorch does:
        typically a stream that every worker yields whole instead of sharding it with ``get_worker_info``)."""
        self._num_yielded += 1
        if self._reported_len is not None and self._num_yielded > self._reported_len:
            message = (f"Length of IterableDataset {self._loader.dataset} was reported to be {self._reported_len} "
                       f"(when accessing len(dataloader)), but {self._num_yielded} samples have been fetched. ")
            if self._loader.num_workers > 0:
                message += ("For multiprocessing data-loading, this could be caused by not properly configuring the "
                            "IterableDataset replica at each worker (see lucid.data.get_worker_info).")
            warnings.warn(message, stacklevel=3)
        return batch

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._loader)


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._fetcher = _Fetcher(*loader._fetch_args())

    def __next__(self):
        indices = next(self._sampler_iter)
        return self._yield(self._loader._finish(self._fetcher.fetch(indices)))


class _MultiProcessIter(_BaseIter):
    """Keeps ``prefetch_factor`` batches per worker in flight, hands tasks out round-robin and
    returns results in task order, skipping workers whose stream has ended. With the loader's
    ``in_order=False`` a result is returned as soon as it arrives and the next task goes to the
    worker with the fewest in flight, so that one slow batch holds up no other."""

    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        ctx = loader._mp_context
        n = loader.num_workers
        _warn_if_many_workers(n)
        self._result_queue = ctx.Queue()
        self._done_event = ctx.Event()
        self._index_queues = [ctx.Queue() for _ in range(n)]
        self._workers = []
        # Not __del__: the loader and a persistent iterator form a cycle, and the cyclic GC would
        # run the queues' and processes' own finalizers first. This one holds them alive until it ran.
        self._stop = weakref.finalize(self, _stop_workers, self._workers, self._index_queues, self._result_queue,
                                      self._done_event)
        for wid, index_queue in enumerate(self._index_queues):
            w = ctx.Process(
                target=_worker_loop,
                args=(loader._fetch_args(), index_queue, self._result_queue, self._done_event,
                      self._base_seed + wid, wid, n, loader.worker_init_fn, os.getpid()),
                daemon=True,
            )
            w.start()
            self._workers.append(w)
        self._epoch = 0
        self._new_epoch()  # as PyTorch, which makes the sampler's iterator again here: an eager sampler draws twice
        self._start()

    def _reset(self) -> None:
        """Start another epoch on the same (persistent) workers."""
        self._new_epoch()
        self._epoch += 1
        if self._loader._iterable:
            for index_queue in self._index_queues:
                index_queue.put(_RESET)
        self._start()

    def _start(self) -> None:
        n = self._loader.num_workers
        self._send_idx = self._rcvd_idx = 0
        self._tasks: dict[int, list] = {}  # batch index -> [worker id] or [worker id, result]
        self._active = [True] * n
        self._cycle = itertools.cycle(range(n))
        for _ in range(self._loader.prefetch_factor * n):
            self._put_task()

    def _put_task(self) -> None:
        if not any(self._active):
            return
        try:
            indices = next(self._sampler_iter)
        except StopIteration:
            return
        if self._loader.in_order:
            wid = next(w for w in self._cycle if self._active[w])
        else:
            busy = [0] * len(self._active)
            for task in self._tasks.values():
                busy[task[0]] += len(task) == 1
            wid = min((w for w, on in enumerate(self._active) if on), key=busy.__getitem__)
        self._index_queues[wid].put((self._epoch, self._send_idx, indices))
        self._tasks[self._send_idx] = [wid]
        self._send_idx += 1

    def __next__(self):
        while True:
            while self._rcvd_idx < self._send_idx:
                task = self._tasks.get(self._rcvd_idx)
                if task is not None and (len(task) == 2 or self._active[task[0]]):
                    break
                # returned out of order already, or its worker's stream ended: no result will come
                self._tasks.pop(self._rcvd_idx, None)
                self._rcvd_idx += 1
            else:
                if not self._loader.persistent_workers:
                    self._shutdown()
                raise StopIteration
            task = self._tasks[self._rcvd_idx]
            if len(task) == 2:
                del self._tasks[self._rcvd_idx]
                self._rcvd_idx += 1
                self._put_task()
                return self._deliver(task[1])
            epoch, idx, wid, result = self._receive()
            if epoch != self._epoch or idx not in self._tasks:
                continue
            if isinstance(result, _Exhausted):
                self._active[wid] = False
                self._put_task()
            elif idx == self._rcvd_idx or self._loader.in_order:
                self._tasks[idx].append(result)
            else:
                del self._tasks[idx]
                self._put_task()
                return self._deliver(result)

    def _deliver(self, result):
        if isinstance(result, _WorkerError):
            result.reraise()
        return self._yield(self._loader._finish(result))

    def _receive(self):
        timeout = self._loader.timeout
        deadline = time.monotonic() + timeout if timeout > 0 else None
        while True:
            wait = _POLL_S if deadline is None else max(0.0, min(_POLL_S, deadline - time.monotonic()))
            try:
                return pickle.loads(self._result_queue.get(timeout=wait))
            except queue.Empty:
                pass
            dead = [f"{i} (exit code {w.exitcode})" for i, w in enumerate(self._workers) if not w.is_alive()]
            if dead:
                self._shutdown()
                raise RuntimeError(f"DataLoader worker process(es) {', '.join(dead)} exited unexpectedly")
            if deadline is not None and time.monotonic() >= deadline:
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds waiting for a batch from its workers")

    def _shutdown(self) -> None:
        self._stop()


def _stop_workers(workers, index_queues, result_queue, done_event) -> None:
    """Ask every worker to stop, wait for it a little, terminate it if need be, close the queues."""
    done_event.set()
    for index_queue in index_queues:
        index_queue.put(None)
    for w in workers:
        w.join(timeout=_JOIN_S)
        if w.is_alive():
            w.terminate()
            w.join()
    for q in (*index_queues, result_queue):
        q.cancel_join_thread()
        q.close()


def _worker_options(num_workers, timeout, prefetch_factor, persistent_workers):
    """Check the multi-process options, and that those needing workers come with workers; returns
    ``prefetch_factor``, 2 by default with workers."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(
            f"num_workers option should be a non-negative integer, got {num_workers!r}; "
            "use num_workers=0 to disable multiprocessing"
        )
    if timeout < 0:
        raise ValueError(f"timeout option should be non-negative, got {timeout}")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError(
            "prefetch_factor option could only be specified in multiprocessing. Let num_workers > 0 to "
            "enable multiprocessing, otherwise set prefetch_factor to None."
        )
    if num_workers > 0 and prefetch_factor is None:
        prefetch_factor = 2
    if prefetch_factor is not None and (not isinstance(prefetch_factor, int) or prefetch_factor < 1):
        raise ValueError(f"prefetch_factor option should be a positive integer, got {prefetch_factor!r}")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    return prefetch_factor


def _batching_options(iterable, batch_size, shuffle, sampler, batch_sampler, drop_last):
    """Check the sampling and batching options against each other and the kind of dataset; returns
    ``(shuffle, batch_size, drop_last)``, the last two overridden by a given ``batch_sampler``."""
    if iterable:
        for name, value, unset in (("shuffle", shuffle, (None, False)), ("sampler", sampler, (None,)),
                                   ("batch_sampler", batch_sampler, (None,))):
            if not any(value is u for u in unset):
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified {name} option, "
                    f"but got {name}={value!r}"
                )
    shuffle = bool(shuffle)
    if sampler is not None and shuffle:
        raise ValueError("sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None:
        if batch_size != 1 or shuffle or sampler is not None or drop_last:
            raise ValueError(
                "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
            )
        batch_size, drop_last = None, False
    elif batch_size is None and drop_last:
        raise ValueError(
            "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
        )
    return shuffle, batch_size, drop_last


def _samplers(dataset, iterable, shuffle, sampler, batch_size, batch_sampler, drop_last, rng):
    """The sampler (the given one, or the default for the dataset and ``shuffle``) and the batch sampler
    (the given one, or the sampler grouped by ``batch_size``; None without automatic batching)."""
    if sampler is None:
        if iterable:
            sampler = _InfiniteConstantSampler()
        elif shuffle:
            sampler = RandomSampler(dataset, generator=rng)
        else:
            sampler = SequentialSampler(dataset)
    if batch_size is not None and batch_sampler is None:
        batch_sampler = BatchSampler(sampler, batch_size, drop_last)
    return sampler, batch_sampler


class DataLoader(Generic[T_co]):
    """Iterate over ``dataset`` in batches, as ``torch.utils.data.DataLoader``.

    Map-style datasets are visited in the order of ``sampler`` (``SequentialSampler``, or
    ``RandomSampler`` with ``shuffle=True``) and grouped by ``batch_size`` (the last, short
    batch dropped with ``drop_last``), or in the batches of ``batch_sampler``; ``batch_size=None``
    yields single samples. ``collate_fn`` merges a batch (default: :func:`default_collate`).

    ``num_workers > 0`` fetches and collates in that many processes (``multiprocessing_context``,
    default: the platform's), each seeded as PyTorch seeds them (``base_seed + worker_id`` for Python's
    ``random`` and ``lucid.manual_seed``, a mix of both for NumPy's global generator), then
    ``worker_init_fn(worker_id)`` is called; ``prefetch_factor`` batches per worker are kept in flight,
    ``timeout`` seconds bound the wait for one, and ``persistent_workers`` keeps the processes between epochs.
    ``in_order=False`` lets a batch that is ready overtake an earlier one still being made (the
    order then depends on timing). Workers should produce host data (NumPy, numbers, CPU tensors);
    ``device`` moves the batches.

    ``generator`` is a ``lucid.Generator`` (or an int seed, or a ``numpy.random.Generator``); without
    it shuffling and worker seeds follow ``lucid.manual_seed``. ``pin_memory`` copies every CPU tensor of a
    batch into page-locked memory (``Tensor.pin_memory``; a no-op where no backend pins: no CuPy or no GPU);
    ``pin_memory_device``, deprecated in PyTorch, is accepted and ignored with PyTorch's warning.
    ``device`` (a lucid extension) puts every batch there, one transfer per array, which with ``pin_memory``
    is non-blocking (the copy from pinned memory overlaps the host's next work, as in PyTorch).
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn=None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True, device=None) -> None:
        prefetch_factor = _worker_options(num_workers, timeout, prefetch_factor, persistent_workers)
        iterable = isinstance(dataset, IterableDataset)
        shuffle, batch_size, drop_last = _batching_options(iterable, batch_size, shuffle, sampler, batch_sampler,
                                                           drop_last)
        rng = as_generator(generator)
        sampler, batch_sampler = _samplers(dataset, iterable, shuffle, sampler, batch_size, batch_sampler, drop_last,
                                           rng)

        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.num_workers, self.prefetch_factor, self.timeout = num_workers, prefetch_factor, timeout
        self.worker_init_fn, self.persistent_workers = worker_init_fn, persistent_workers
        self.multiprocessing_context = multiprocessing_context
        self.pin_memory, self.generator = bool(pin_memory), generator
        self.pin_memory_device, self.in_order = pin_memory_device, in_order
        self.device = None if device is None else _parse_device(device)
        self._rng, self._iterable = rng, iterable
        self.collate_fn = collate_fn
        self._iterator = None
        self._IterableDataset_len_called = None  # len(dataset) once len(loader) read it (see _BaseIter._yield)
        self._initialized = True

    @property
    def collate_fn(self):
        """The collation function (:func:`default_collate`, or :func:`default_convert` without automatic batching,
        when None was given). It may be replaced after construction, as in PyTorch: the next epoch uses it."""
        return self._collate_fn

    @collate_fn.setter
    def collate_fn(self, collate_fn) -> None:
        # ``_host_fn`` is what fetching runs (in the workers): with the default collation, batches are collated
        # on the host and become Tensors in the main process.
        auto = self.batch_sampler is not None
        self._default_collate = collate_fn in (None, default_collate, default_convert)
        if self._default_collate:
            self._collate_fn = default_collate if auto else default_convert
            self._host_fn = host_collate if auto else _identity
        else:
            self._collate_fn = self._host_fn = collate_fn

    @property
    def multiprocessing_context(self):
        """The ``multiprocessing`` context workers start in (None: the platform's default). A start method's name
        becomes its context; it may be replaced after construction, as in PyTorch."""
        return self._multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context) -> None:
        if context is not None:
            if not self.num_workers:
                raise ValueError(
                    "multiprocessing_context can only be used with multi-process loading (num_workers > 0), "
                    f"but got num_workers={self.num_workers}"
                )
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ValueError(f"multiprocessing_context option should specify a valid start method in "
                                     f"{methods!r}, but got multiprocessing_context={context!r}")
                context = multiprocessing.get_context(context)
            if not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError("multiprocessing_context option should be a valid context object or a string "
                                f"specifying the start method, but got multiprocessing_context={context!r}")
        self._multiprocessing_context = context

    @property
    def _mp_context(self):
        return self._multiprocessing_context or multiprocessing.get_context()

    def __setattr__(self, name, value) -> None:
        if name in _FIXED and getattr(self, "_initialized", False):
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def _fetch_args(self) -> tuple:
        return (self.dataset, self._iterable, self.batch_sampler is not None, self._host_fn, self.drop_last)

    def _finish(self, batch):
        """The main process's one step per batch: arrays become Tensors on ``device`` (through pinned memory
        with ``pin_memory``)."""
        if self._default_collate:
            batch = default_convert(batch, None if self.pin_memory else self.device)
            if not self.pin_memory:
                return batch
        elif not self.pin_memory and self.device is None:
            return batch
        return _map_tensors(batch, self._place)

    def _place(self, t: Tensor) -> Tensor:
        if self.pin_memory and t.device.type == "cpu":
            t = t.pin_memory()
        return t if self.device is None else t.to(self.device, non_blocking=self.pin_memory)

    def __iter__(self):
        if self.pin_memory and self.pin_memory_device:
            warnings.warn("pin_memory_device is deprecated (as in PyTorch): batches are pinned for the current "
                          f"accelerator; ignoring pin_memory_device={self.pin_memory_device!r}", stacklevel=2)
        if self.pin_memory and not accelerator.is_available():  # pinning is then a no-op (see _place)
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned "
                          "memory won't be used.", stacklevel=2)
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if not self.persistent_workers:
            return _MultiProcessIter(self)
        if self._iterator is None:
            self._iterator = _MultiProcessIter(self)
        else:
            self._iterator._reset()
        return self._iterator

    def __len__(self) -> int:
        """Batches per epoch; for an IterableDataset, derived from ``len(dataset)`` (which it must have)."""
        if not self._iterable:
            return len(self._index_sampler)
        n = self._IterableDataset_len_called = len(self.dataset)
        if self.batch_size is not None:
            n = n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        return n


def _identity(sample):
    return sample


def _map_tensors(data, fn):
    """``fn`` applied to the Tensors anywhere in ``data`` (dicts, lists, tuples, namedtuples keep their type)."""
    if isinstance(data, Tensor):
        return fn(data)
    if isinstance(data, dict):
        return type(data)({k: _map_tensors(v, fn) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(_map_tensors(v, fn) for v in data))
    if isinstance(data, (list, tuple)):
        return type(data)(_map_tensors(v, fn) for v in data)
    return data
