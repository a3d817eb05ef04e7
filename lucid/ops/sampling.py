"""Random tensors (rand, randn, randint, randperm, normal, bernoulli, multinomial, poisson, ...) and
the in-place random fills of a Tensor (``normal_``, ``uniform_``, ``random_``, ...).

Every function takes ``generator=`` (a :class:`lucid.Generator` of the output's device type);
without one it draws from the device's default generator, which ``lucid.manual_seed`` seeds.
Draws are not differentiable, except that, as in PyTorch, ``normal`` with tensor parameters,
``bernoulli`` and ``poisson`` give their parameters a zero gradient.
"""

from __future__ import annotations

import math

from .. import _typeinfo
from .. import dtypes as _dt
from .._backend import arrays
from .._backend.device import on_input_device
from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.views import check_writable
from ..random import draw
from .creation import _count, _finish, _like, _place, _shape, _size
from .indexing import where
from .inplace import assign, tracked
from .metadata import dim_order

_UNSET = object()


def _random(kind, size, dtype, device, requires_grad, generator, default=None, pin_memory=False, order=None,
            **params):
    """A new tensor of ``kind`` random numbers, drawn in the axes order ``order`` (None: row-major)."""
    dev, dt = _place(dtype, device, default)
    if kind != "integers" and dt.kind != "f" and not (kind in ("normal", "uniform") and dt.kind == "c"):
        raise TypeError(f"{kind} random numbers need a floating dtype, got {dt.name}")
    drawn = _draw_ordered(kind, size, dt, dev, generator, order, **params)
    return _finish(drawn, dev, requires_grad, pin_memory)


def _zero_gradient(out: Tensor, *params) -> Tensor:
    """``out`` joined to the graph of the parameters that require grad through a zero (PyTorch
    defines the gradient of ``normal``/``bernoulli``/``poisson`` samples w.r.t. them as zero)."""
    if not grad_mode.state.enabled:
        return out
    for p in params:
        if isinstance(p, Tensor) and p.requires_grad:
            never = Tensor._make(p._device.create("zeros", p.shape, dtype=p.xp.bool), p._device)
            out = out + where(never, p, 0).to(out.dtype)
    return out


def _check_int(name: str, what: str, value) -> None:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name}(): {what} must be an int, got {type(value).__name__} {value!r}")


def _check_range(name: str, low, high) -> None:
    if high <= low:
        raise RuntimeError(f"{name}(): low must be < high (random_ expects 'from' to be less than 'to'), "
                           f"got low={low} >= high={high}")


def _check_bounds(name: str, dt, low, high) -> None:
    """PyTorch's check that an integer or bool dtype holds ``low`` and ``high - 1`` (the draws would wrap
    around otherwise, e.g. ``randint(0, 300, dtype=uint8)``)."""
    if dt.kind in "iub":
        info = _typeinfo.iinfo(dt)
        for what, v in (("from", low), ("to - 1", high - 1)):
            if not info.min <= v <= info.max:
                raise RuntimeError(f"{name}(): {what} ({v}) is out of bounds for {dt.name} "
                                   f"([{info.min}, {info.max}])")


def _check_integer_range(name: str, low, high, dt) -> None:
    """``randint``'s checks: whole-number bounds, ``low < high``, both held by the integer dtype ``dt``."""
    for what, v in (("low", low), ("high", high)):
        _check_int(name, what, v)
    _check_range(name, low, high)
    _check_bounds(name, dt, low, high)


def _size_arg(sizes, size, name: str) -> tuple:
    """The sizes given one by one or as one tuple/list, or as PyTorch's keyword ``size=``."""
    if size is not None:
        if sizes:
            raise TypeError(f"{name}() got the size both as arguments {sizes} and as size={size!r}; pass one")
        sizes = (size,)
    return _shape(sizes, name)


# ---- new random tensors ---------------------------------------------------------------------------
def rand(*sizes, size=None, generator=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
         requires_grad: bool = False) -> Tensor:
    """Uniform random numbers in [0, 1) (the size given one by one, as a tuple, or as ``size=``); ``layout`` and
    ``pin_memory`` as in :func:`lucid.zeros`."""
    _typeinfo.check_strided(layout, "rand")
    return _random("uniform", _size_arg(sizes, size, "rand"), dtype, device, requires_grad, generator,
                   pin_memory=pin_memory)


def randn(*sizes, size=None, generator=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
          requires_grad: bool = False) -> Tensor:
    """Standard normal random numbers (the size given one by one, as a tuple, or as ``size=``); ``layout`` and
    ``pin_memory`` as in :func:`lucid.zeros`."""
    _typeinfo.check_strided(layout, "randn")
    return _random("normal", _size_arg(sizes, size, "randn"), dtype, device, requires_grad, generator,
                   pin_memory=pin_memory)


def uniform(low=0.0, high=1.0, size=(), *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Uniform random numbers in [low, high) (upstream Lucid's; PyTorch has ``Tensor.uniform_``)."""
    if not low <= high:
        raise ValueError(f"uniform needs low <= high, got low={low}, high={high}")
    return _random("uniform", _size(size, "uniform"), dtype, device, requires_grad, generator, low=low, high=high)


def normal(mean=0.0, std=1.0, size=(), *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Normal random numbers: ``normal(mean, std, size)`` with numbers, or ``normal(mean, std)`` where
    ``mean`` and/or ``std`` are tensors (the result has their broadcast shape, the dtype of ``mean`` if it is
    a tensor, else of ``std``, and a zero gradient for them, as in PyTorch)."""
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        return _random("normal", _size(size, "normal"), dtype, device, requires_grad, generator, mean=mean, std=std)
    like = mean if isinstance(mean, Tensor) else std
    if like.dtype.kind != "f":
        raise TypeError(f"normal: mean and std must be floating tensors, got {like.dtype.name}")
    if not isinstance(std, Tensor) and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if isinstance(std, Tensor) and bool((std < 0).any()):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    z = Tensor._make(draw("normal", _broadcast(mean, std), like.dtype, like._device, generator), like._device)
    sample = (z * std + mean).detach().to(like.dtype)  # mean's dtype when it is a tensor (as PyTorch), else std's
    return _zero_gradient(sample, mean, std)


def _broadcast(a, b) -> tuple:
    shapes = [t.shape for t in (a, b) if isinstance(t, Tensor)]
    return tuple(shapes[0]) if len(shapes) == 1 else tuple(a.xp.broadcast_shapes(*shapes))


def randint(low=None, high=None, size=None, *, generator=None, dtype=None, layout=None, device=None,
            pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """Random integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)`` (also
    ``randint(high=h, size=s)``), as PyTorch; int64 by default. ``layout``/``pin_memory`` as in :func:`lucid.zeros`."""
    _typeinfo.check_strided(layout, "randint")
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    elif low is None:
        low = 0
    _check_integer_range("randint", low, high, _place(dtype, device, _dt.int64)[1])
    size = () if size is None else _size(size, "randint")
    return _random("integers", size, dtype, device, requires_grad, generator, default=_dt.int64,
                   pin_memory=pin_memory, low=low, high=high)


def randperm(n: int, *, generator=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64); ``layout``/``pin_memory`` as in :func:`lucid.zeros`."""
    n = _count(n, "randperm", "argument 'n'")
    _typeinfo.check_strided(layout, "randperm")
    dev, dt = _place(dtype, device, _dt.int64)
    if n and dt.kind in "iub" and n - 1 > _typeinfo.iinfo(dt).max:
        raise RuntimeError(f"randperm(): {dt.name} can't hold {n - 1}, the largest value of a permutation of {n}")
    return _finish(draw("permutation", (n,), dt, dev, generator, n=n), dev, requires_grad, pin_memory)


def rand_like(x: Tensor, *, generator=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    """Uniform [0, 1) random numbers with the shape (and, unless given, dtype and device) of ``x``."""
    shape, kwargs = _like(x, dtype, device, "rand_like", layout, memory_format)
    return _random("uniform", shape, kwargs["dtype"], kwargs["device"], requires_grad, generator,
                   order=fill_order(x, memory_format))


def randn_like(x: Tensor, *, generator=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    """Standard normal random numbers with the shape (and dtype, device) of ``x``."""
    shape, kwargs = _like(x, dtype, device, "randn_like", layout, memory_format)
    order = fill_order(x, memory_format)  # PyTorch draws 16 at a time only into a contiguous result
    return _random("normal", shape, kwargs["dtype"], kwargs["device"], requires_grad, generator, order=order,
                   contiguous=order == tuple(range(x.ndim)))


def randint_like(x: Tensor, low=None, high=None, *, generator=None, dtype=None, layout=None, device=None,
                 requires_grad: bool = False, memory_format=None) -> Tensor:
    """Random integers in [low, high) (``randint_like(x, high)`` and ``randint_like(x, high=h)`` start at 0)
    with the shape (and, unless given, dtype and device) of ``x``."""
    shape, kwargs = _like(x, dtype, device, "randint_like", layout, memory_format)
    if low is None and high is None:
        raise TypeError("randint_like() needs high (randint_like(x, high) or randint_like(x, low, high))")
    low, high = (0, low) if high is None else (0 if low is None else low, high)
    _check_integer_range("randint_like", low, high, _dt.to_dtype(kwargs["dtype"]))
    return _random("integers", shape, kwargs["dtype"], kwargs["device"], requires_grad, generator,
                   order=fill_order(x, memory_format), low=low, high=high)


# ---- samples from tensors of parameters -------------------------------------------------------------
def _check_probabilities(p: Tensor, name: str) -> None:
    if p.dtype.kind != "f":
        raise TypeError(f"{name}: the probabilities must be a floating tensor, got {p.dtype.name}")
    if p.numel() and not bool(((p >= 0) & (p <= 1)).all()):  # one host sync, as PyTorch's CPU check
        raise RuntimeError(f"{name}: every probability must be in [0, 1] (Expected p_in >= 0 && p_in <= 1)")


def _coin(shape, p, dev, generator, dtype, unit=_dt.float64):
    """A native array of 0/1 in ``dtype``: 1 with probability ``p`` (a number or a native array), where a uniform
    number of dtype ``unit`` falls below it (PyTorch's: float64 for a number or float64 probabilities, float32
    for other probabilities)."""
    u = draw("uniform", shape, unit, dev, generator)
    return dev.xp.astype(u < p, dev.backend.native_dtype(dtype))


def _check_p(p, name: str) -> float:
    if not 0 <= p <= 1:
        raise RuntimeError(f"{name} expects p to be in [0, 1], but got p={p}")
    return float(p)


@on_input_device
def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """0/1 samples, 1 with probability ``input`` (elementwise), or with probability ``p`` (a number)
    in ``input``'s shape; ``input``'s dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli() expects a Tensor of probabilities, got {type(input).__name__}")
    if p is not None:
        return Tensor._make(_coin(input.shape, _check_p(p, "bernoulli"), input._device, generator, input.dtype),
                            input._device)
    _check_probabilities(input, "bernoulli")
    unit = _dt.float64 if input.dtype is _dt.float64 else _dt.float32
    sample = Tensor._make(_coin(input.shape, input._data, input._device, generator, input.dtype, unit), input._device)
    return _zero_gradient(sample, input)


@on_input_device
def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """``num_samples`` category indices per row of the 1-D or 2-D ``input`` (non-negative weights,
    not necessarily summing to one), with or without ``replacement``; int64. Without replacement,
    categories of weight zero come only after every other one is drawn (as PyTorch's)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial() expects a Tensor of weights, got {type(input).__name__}")
    if input.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {input.shape}")
    if input.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got {input.dtype.name}")
    _check_int("multinomial", "num_samples", num_samples)
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples (num_samples={num_samples})")
    n = input.shape[-1]
    if not replacement and num_samples > n:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                           f"(num_samples={num_samples}, {n} categories)")
    xp, dev = input.xp, input._device
    weights = input._data if input.ndim == 2 else input._data[None, :]
    rows = weights.shape[0]
    if not bool(xp.all((weights >= 0) & (weights < xp.inf))):  # host syncs, as PyTorch's CPU checks
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    if rows and not bool(xp.all(xp.any(weights > 0, axis=1))):  # non-negative weights sum to 0 only when all are 0
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    if replacement and num_samples > 1:  # PyTorch's search: per row, each float64 uniform's place in the
        # cumulative shares (summed and divided in the input's dtype): the first category whose share reaches it
        u = draw("uniform", (rows, num_samples), _dt.float64, dev, generator)
        cdf = xp.cumulative_sum(weights, axis=1)
        cdf = xp.astype(cdf / cdf[:, -1:], xp.float64)
        idx = xp.stack([xp.searchsorted(cdf[r, :], u[r, :], side="left") for r in range(rows)]) if rows else u
        idx = arrays.clip(xp, idx, 0, n - 1)
    else:  # PyTorch's exponential trick (also for one sample with replacement): the largest weight / Exp(1)
        e = xp.astype(-xp.log1p(-draw("uniform", (rows, n), _dt.float64, dev, generator)), weights.dtype)
        idx = xp.argsort(-(weights / e), axis=1, stable=True)[:, :num_samples]
    idx = xp.astype(idx, dev.backend.native_dtype(_dt.int64))
    return Tensor._make(idx if input.ndim == 2 else idx[0, ...], dev)


@on_input_device
def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson samples with rates ``input`` (non-negative), in ``input``'s dtype."""
    if not isinstance(input, Tensor) or input.dtype.kind != "f":
        raise TypeError(f"poisson() expects a floating Tensor of rates, got {getattr(input, 'dtype', type(input))}")
    if input.numel() and not bool((input >= 0).all()):
        raise RuntimeError("poisson: invalid Poisson rate, expected rate to be non-negative")
    drawn = draw("poisson", input.shape, input.dtype, input._device, generator, lam=input._data)
    return _zero_gradient(Tensor._make(drawn, input._device), input)


@on_input_device
def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Binomial samples: successes in ``count`` trials of probability ``prob`` (broadcast), in
    ``count``'s floating dtype."""
    if not isinstance(count, Tensor) or not isinstance(prob, Tensor):
        raise TypeError("binomial() expects count and prob to be Tensors")
    if count._device is not prob._device:
        raise RuntimeError(f"binomial: count is on {count._device} but prob on {prob._device}")
    _check_probabilities(prob, "binomial")
    if count.numel() and not bool((count >= 0).all()):
        raise RuntimeError("binomial: count must be non-negative")
    xp, shape = count.xp, _broadcast(count, prob)
    n = xp.broadcast_to(xp.astype(count._data, xp.int64), shape)
    q = xp.broadcast_to(xp.astype(prob._data, xp.float64), shape)
    dt = count.dtype if count.dtype.kind == "f" else _dt.get_default_dtype()
    return Tensor._make(draw("binomial", shape, dt, count._device, generator, count=n, prob=q), count._device)


# ---- in-place random fills (Tensor methods) ----------------------------------------------------------
def _draw_ordered(kind, shape, dt, dev, generator, order, **params):
    """A native array of random numbers of ``kind`` in ``shape``, drawn in the axes order ``order`` (outermost
    first; None: row-major) and laid back in ``shape``: how PyTorch's fills visit a tensor's elements by address."""
    if order is None or tuple(order) == tuple(range(len(shape))):
        return draw(kind, shape, dt, dev, generator, **params)
    drawn = draw(kind, tuple(shape[d] for d in order), dt, dev, generator, **params)
    return dev.xp.permute_dims(drawn, tuple(order.index(d) for d in range(len(shape))))


def _draw_into(t: Tensor, what: str, kind, dt, generator, **params):
    """Random numbers for the in-place fill ``what`` of ``t``, in ``t``'s memory order (its axes by stride):
    PyTorch's fills (TensorIterator) visit a non-contiguous tensor's elements by address, so a transposed tensor
    gets the numbers its base would (the logical order where the backend hides strides, as array-api-strict).
    A write PyTorch refuses is refused before anything is drawn, so the stream stays where it was."""
    check_writable(t, grad_mode.state.enabled and tracked(t), what)
    return _draw_ordered(kind, t.shape, dt, t._device, generator, dim_order(t), **params)


def fill_order(x: Tensor, memory_format=None) -> tuple:
    """The axes order (outermost first) in which PyTorch fills a tensor made "like" ``x`` (``randn_like``,
    dropout's mask): its memory order, ``memory_format``'s (channels_last: N, H, W, C) or, under
    ``preserve_format`` (the default), ``x``'s own where ``x`` is dense and non-overlapping (a transposed or
    permuted tensor), row-major otherwise. lucid's result stays row-major; only the numbers' places follow."""
    name = getattr(memory_format, "name", "preserve_format")
    if name != "preserve_format":
        return {"channels_last": (0, 2, 3, 1), "channels_last_3d": (0, 2, 3, 4, 1)}.get(name, tuple(range(x.ndim)))
    order, steps, size = dim_order(x), x.stride(), 1
    for d in reversed(order):
        if x.shape[d] != 1 and steps[d] != size:
            return tuple(range(x.ndim))
        size *= x.shape[d]
    return order


def _fill(t: Tensor, values, name: str) -> Tensor:
    """Write the native array ``values`` into ``t`` in place (its old values are not used)."""
    return assign(t, Tensor._make(values, t._device), name, cast=True, overwrites=True)


def _floating(t: Tensor, name: str, kinds: str = "f") -> None:
    if t.dtype.kind not in kinds:
        raise TypeError(f"{name}: needs a floating tensor, got {t.dtype.name}")


def _unit(t: Tensor, what: str, generator):
    """Uniform [0, 1) float64 numbers for ``t`` (PyTorch's exponential, geometric and Cauchy kernels
    transform float64 uniforms whatever the dtype)."""
    return _draw_into(t, what, "uniform", _dt.float64, generator)


def normal_(t: Tensor, mean=0.0, std=1.0, *, generator=None) -> Tensor:
    """Fill with ``N(mean, std^2)`` samples."""
    _floating(t, "normal_", "fc")  # complex: real and imaginary parts filled, as PyTorch
    if std < 0:
        raise RuntimeError(f"normal_ expects std >= 0.0, but found std {std}")
    # PyTorch fills 16 at a time only a contiguous tensor, others one number at a time
    drawn = _draw_into(t, "normal_", "normal", t.dtype, generator, mean=mean, std=std,
                       contiguous=t.is_contiguous())
    return _fill(t, drawn, "normal_")


def uniform_(t: Tensor, from_=0.0, to=1.0, *, generator=None) -> Tensor:
    """Fill with uniform samples from ``[from_, to)``."""
    _floating(t, "uniform_", "fc")  # complex: real and imaginary parts filled, as PyTorch
    if from_ > to:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={from_} > to={to}")
    return _fill(t, _draw_into(t, "uniform_", "uniform", t.dtype, generator, low=from_, high=to), "uniform_")


@on_input_device
def exponential_(t: Tensor, lambd=1.0, *, generator=None) -> Tensor:
    """Fill with exponential samples of rate ``lambd``."""
    _floating(t, "exponential_")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _fill(t, (-1.0 / lambd) * t.xp.log1p(-_unit(t, "exponential_", generator)), "exponential_")


@on_input_device
def geometric_(t: Tensor, p, *, generator=None) -> Tensor:
    """Fill with the number of Bernoulli(``p``) trials up to the first success (1, 2, ...)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    xp = t.xp
    trials = xp.ceil(xp.log(_unit(t, "geometric_", generator)) / math.log1p(-p))
    return _fill(t, arrays.clip(xp, trials, 1, None), "geometric_")


@on_input_device
def cauchy_(t: Tensor, median=0.0, sigma=1.0, *, generator=None) -> Tensor:
    """Fill with Cauchy samples of location ``median`` and scale ``sigma``."""
    _floating(t, "cauchy_")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    return _fill(t, median + sigma * t.xp.tan(math.pi * (_unit(t, "cauchy_", generator) - 0.5)), "cauchy_")


@on_input_device
def log_normal_(t: Tensor, mean=1.0, std=2.0, *, generator=None) -> Tensor:
    """Fill with ``exp(N(mean, std^2))`` samples: float64 normals drawn one at a time, as PyTorch's kernel."""
    _floating(t, "log_normal_")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    drawn = _draw_into(t, "log_normal_", "normal", _dt.float64, generator, mean=mean, std=std,
                       contiguous=False)
    return _fill(t, t.xp.exp(drawn), "log_normal_")


_RANDOM_BOUND = {"float16": 2**11 + 1, "float32": 2**24 + 1, "float64": 2**53 + 1, "bool": 2}  # floats: [0, 2^mantissa]


def _dtype_end(dt) -> int:
    """One past the largest value ``random_`` draws for dtype ``dt`` (PyTorch's ranges; uint64, which PyTorch does
    not fill, gets int64's 2^63, the range the numbers are drawn in)."""
    return _RANDOM_BOUND.get(dt.name) or min(2 ** (8 * dt.itemsize - (dt.kind != "u")), 2**63)


def random_(t: Tensor, from_=_UNSET, to=_UNSET, *, generator=None) -> Tensor:
    """Fill with random integers: ``random_()`` over the dtype's range (``[0, 2^mantissa]`` for
    floats), ``random_(to)`` from ``[0, to)``, ``random_(from_, to)`` from ``[from_, to)`` (``to=None``:
    up to the dtype's largest value)."""
    if to is _UNSET:
        from_, to = (0, None) if from_ is _UNSET else (0, from_)
    elif from_ is _UNSET:
        from_ = 0
    for what, v in (("from", from_), ("to", to)):
        if v is not None:
            _check_int("random_", what, v)
    end = _dtype_end(t.dtype) if to is None else to
    if end <= from_:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={from_} >= to={end}")
    _check_bounds("random_", t.dtype, from_, end)
    return _fill(t, _draw_into(t, "random_", "integers", _dt.int64, generator, low=from_, high=end), "random_")


@on_input_device
def bernoulli_(t: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with 0/1 samples, 1 with probability ``p`` (a number, or a tensor broadcast to ``t``)."""
    if isinstance(p, Tensor):
        if p._device is not t._device:
            raise RuntimeError(f"bernoulli_: p is on {p._device} but the tensor is on {t._device}")
        _check_probabilities(p, "bernoulli_")
        unit = _dt.float64 if p.dtype is _dt.float64 else _dt.float32
        p = t.xp.broadcast_to(p._data, t.shape)
    else:
        p, unit = _check_p(p, "bernoulli_"), _dt.float64
    return _fill(t, _draw_into(t, "bernoulli_", "uniform", unit, generator) < p, "bernoulli_")  # (as _coin)


__all__ = [
    "rand", "randn", "uniform", "normal", "randint", "randperm", "rand_like", "randn_like", "randint_like",
    "bernoulli", "multinomial", "poisson", "binomial",
]

METHODS = {
    "bernoulli": bernoulli, "multinomial": multinomial, "normal_": normal_, "uniform_": uniform_,
    "exponential_": exponential_, "geometric_": geometric_, "cauchy_": cauchy_, "log_normal_": log_normal_,
    "random_": random_, "bernoulli_": bernoulli_,
}
