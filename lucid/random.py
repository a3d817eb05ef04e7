"""Random generators (``torch.random``'s API): :class:`Generator` objects, the default generator of
each device, seeding and saving/restoring generator states.

A :class:`Generator` is a native generator of its device's backend. On the CPU it is PyTorch's own
generator (``lucid._backend.torch_random``: MT19937 seeded as PyTorch seeds it, and its kernels' ways of
making uniform, normal, integer, permutation and Bernoulli numbers), so a program seeded with
``manual_seed`` draws what PyTorch draws: initial weights, dropout masks, shuffles (float32 normals to a few
ulps; see that module for what differs). On a GPU it is CuPy's, whose streams differ from PyTorch's.
Seeds, independence and state round trips behave as PyTorch's. A generator's state is a 1-D uint8 CPU
tensor, as in PyTorch, but in lucid's own layout (JSON: the Mersenne Twister's 624 words, its position and
the kept normal, where PyTorch packs 5056 bytes); CuPy's generators cannot save theirs.
Without :func:`manual_seed`, every device's default generator starts from a seed drawn from the
operating system (as PyTorch's CPU generator does), which :func:`initial_seed` reports.
"""

from __future__ import annotations

import contextlib
import operator

from . import dtypes as _dt
from ._backend import registry
from ._backend.device import device as _device
from ._tensor import Tensor

__all__ = [
    "Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
    "fork_rng",
]

DEFAULT_SEED = 67280421310721  # the seed of a new Generator, as PyTorch's (so two new ones draw alike)
_SEED_MOD = 2**64


def _seed_value(seed) -> int:
    """``seed`` as a seed: any int (negative ones wrap modulo 2**64, as PyTorch's)."""
    try:
        if isinstance(seed, bool):
            raise TypeError
        return operator.index(seed) % _SEED_MOD
    except TypeError:
        raise TypeError(f"manual_seed expected an int seed, got {type(seed).__name__} {seed!r}") from None


class Generator:
    """An independent stream of random numbers on ``device`` (``torch.Generator``): pass it as
    ``generator=`` to a random function. A new one starts from the same fixed seed as PyTorch's
    (:meth:`manual_seed` or :meth:`seed` change it)."""

    def __init__(self, device="cpu") -> None:
        self._spec, self._default = str(_device(device)), False
        self.manual_seed(DEFAULT_SEED)

    @classmethod
    def _of_device(cls, dev) -> Generator:
        """The default generator of ``dev``: a view of the backend's own, which ``lucid.manual_seed`` seeds."""
        gen = cls.__new__(cls)
        gen._spec, gen._default = str(dev), True
        return gen

    @classmethod
    def _wrapping(cls, rng, device="cpu") -> Generator:
        """A Generator that draws from the backend-native generator ``rng`` itself (for code that
        already holds a ``numpy.random.Generator``)."""
        gen = cls.__new__(cls)
        gen._spec, gen._default, gen._rng, gen._seed = str(_device(device)), False, rng, None
        return gen

    @property
    def device(self):
        return self._device

    @property
    def _device(self):
        """The Device, looked up by name on each use (no Device object is made at import; lucid's
        tests swap backends and device caches)."""
        return _device(self._spec)

    @property
    def _index(self) -> int:
        return self._device.index or 0

    @property
    def native(self):
        """The backend's generator this one draws from."""
        return self._device.backend.default_rng(self._index) if self._default else self._rng

    def manual_seed(self, seed) -> Generator:
        """Restart the stream from ``seed``; returns this generator."""
        seed = _seed_value(seed)
        backend = self._device.backend
        if self._default:
            backend.seed(seed, self._index)
        else:
            self._rng, self._seed = backend.new_rng(seed, self._index), seed
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the seed."""
        seed = registry.fresh_seed()
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int | None:
        """The seed this generator was last seeded with (None for one made from a NumPy generator)."""
        return self._device.backend.initial_seed(self._index) if self._default else self._seed

    def get_state(self) -> Tensor:
        """The generator's state as a 1-D uint8 CPU tensor (:meth:`set_state` takes it back)."""
        return Tensor(list(self._device.backend.rng_state(self.native)), dtype=_dt.uint8)

    def set_state(self, new_state: Tensor) -> Generator:
        """Put the generator back in a state :meth:`get_state` returned; a tensor that is not one
        raises, leaving the generator as it was."""
        if not isinstance(new_state, Tensor) or new_state.dtype is not _dt.uint8 or new_state.ndim != 1:
            what = (f"a {new_state.dtype.name} tensor of shape {new_state.shape}" if isinstance(new_state, Tensor)
                    else type(new_state).__name__)
            raise TypeError(f"set_state: the RNG state must be a 1-D uint8 tensor (what get_state returned), "
                            f"got {what}")
        try:
            self._device.backend.set_rng_state(self.native, bytes(new_state.tolist()))
        except ValueError as e:
            raise ValueError(f"set_rng_state: not a random generator state of {self._device} ({e}); pass a tensor "
                             f"that get_rng_state({str(self._device)!r}) or Generator.get_state() returned") from None
        return self

    def __repr__(self) -> str:
        return f"<lucid.Generator device={self._device}>"


_DEFAULTS: dict = {}


def default_generator_of(device) -> Generator:
    """The default generator of ``device`` (what random functions use without ``generator=``)."""
    dev = _device(device)
    gen = _DEFAULTS.get(str(dev))
    if gen is None:
        gen = _DEFAULTS[str(dev)] = Generator._of_device(dev)
    return gen


def rng_for(generator, dev):
    """The native generator to draw from on device ``dev``: ``generator``'s, or the device's
    default; a generator of another device type is a RuntimeError, as in PyTorch."""
    if generator is None:
        return None  # the backend's default: no look-up on the hot path
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a lucid.Generator, got {type(generator).__name__}")
    if generator.device.type != dev.type:
        raise RuntimeError(f"Expected a '{dev.type}' device type for generator but found '{generator.device.type}' "
                           f"(make it with lucid.Generator(device={str(dev)!r}))")
    return generator.native


# While a ``lucid.func.vmap`` call runs: called as ``vmap_draws(native_draw, kind, shape, dtype, dev, generator,
# params)`` for each draw, to refuse it, repeat it or batch it (its ``randomness=``); None otherwise. Change it only
# through set_vmap_draws.
vmap_draws = None


def set_vmap_draws(hook):
    """Make ``hook`` (or None) what every random draw goes through; returns the one it replaces."""
    global vmap_draws
    prev, vmap_draws = vmap_draws, hook
    return prev


def _native_draw(kind, shape, dtype, dev, generator, params):
    return dev.backend.random(kind, shape, dtype, dev.index or 0, rng_for(generator, dev), **params)


def draw(kind, shape, dtype, dev, generator=None, **params):
    """A native array of random numbers of ``kind`` in ``shape`` on ``dev`` from ``generator`` (None: the device's
    default): where every random function of lucid draws."""
    if vmap_draws is not None:
        return vmap_draws(_native_draw, kind, shape, dtype, dev, generator, params)
    return _native_draw(kind, shape, dtype, dev, generator, params)


default_generator = Generator._of_device("cpu")
_DEFAULTS["cpu"] = default_generator


def manual_seed(seed) -> Generator:
    """Seed the default generator of every backend and device (CPU and each GPU; GPU N gets
    ``seed + N``), also those first used later; returns the CPU's default generator."""
    registry.seed_all(_seed_value(seed))
    return default_generator


def seed() -> int:
    """Seed every default generator from the operating system's entropy; returns the seed."""
    value = registry.fresh_seed()
    manual_seed(value)
    return value


def initial_seed() -> int:
    """The seed of the CPU's default generator."""
    return default_generator.initial_seed()


def get_rng_state(device="cpu") -> Tensor:
    """The state of ``device``'s default generator (by default the CPU's, which also drives
    DataLoader shuffling) as a uint8 tensor; give it to :func:`set_rng_state` to draw the same
    numbers again. (``device`` is lucid's addition; PyTorch's takes the CPU's.)"""
    return default_generator_of(device).get_state()


def set_rng_state(new_state: Tensor, device="cpu") -> None:
    """Put ``device``'s default generator back in a state :func:`get_rng_state` returned."""
    default_generator_of(device).set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=(), enabled: bool = True, device_type: str = "cuda"):
    """Restore the CPU's default generator, and those of ``devices`` (indices of ``device_type``),
    on leaving the block: random draws inside it leave the streams outside as they were. Unlike
    PyTorch, no GPU is forked unless named (CuPy's generators cannot save their state)."""
    if not enabled:
        yield
        return
    gens = [default_generator] + [default_generator_of(f"{device_type}:{operator.index(i)}") for i in devices or ()]
    states = [g.get_state() for g in gens]
    try:
        yield
    finally:
        for g, state in zip(gens, states):
            g.set_state(state)
