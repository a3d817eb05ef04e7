"""Finite-difference checks of gradients (float64), for tests and for users' own Functions.

Written with lucid's own ops, so the finite differences are taken on the inputs' device with its backend
(array-api-generic, as ops are); each projected output is read back as one Python number. The random
projection vectors are drawn on the CPU from ``seed`` (NumPy's ``default_rng(seed)`` stream, whatever the
device), so a check sees the same vectors on every backend."""

from __future__ import annotations

from .. import dtypes as _dt
from .._backend.device import device as _device
from .._tensor import Tensor
from .backprop import grad as autograd_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Analytical and numerical gradients disagree."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _random_like(outs, seed: int) -> list:
    """A standard-normal tensor like each of ``outs`` (its shape, dtype and device), drawn in float64 on the CPU
    from a generator seeded with ``seed``, in order."""
    cpu = _device("cpu")
    rng = cpu.backend.new_rng(seed, 0)
    return [Tensor(Tensor._make(cpu.backend.random("normal", o.shape, _dt.float64, 0, rng=rng), cpu),
                   dtype=o.dtype, device=o.device) for o in outs]


def _check_inputs(inputs):
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype.name != "float64":
            raise ValueError(f"gradcheck needs float64 inputs; input {i} is {t.dtype.name}")


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
              raise_exception: bool = True) -> bool:
    """Compare ``v·J`` from backward with central differences of ``v·fn(x)`` for random ``v``.

    ``inputs`` is a tuple; the Tensors among them with ``requires_grad`` are checked. Every
    output of ``fn`` that is a floating Tensor is projected on its own random vector.
    """

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    _check_inputs(inputs)
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    outs = [o for o in _outputs(fn, inputs) if isinstance(o, Tensor) and o.dtype.kind == "f"]
    if not outs:
        raise GradcheckError("fn returned no floating-point tensor")
    vs = _random_like(outs, seed)

    def projected(*args):
        # grad stays on: fn may itself differentiate (gradgradcheck's first derivative)
        total = 0.0
        outs = [o for o in _outputs(fn, args) if isinstance(o, Tensor) and o.dtype.kind == "f"]
        for o, v in zip(outs, vs):
            total += float(o.xp.sum(o._data * v._data))
        return total

    # outputs that do not require grad are constant in the inputs: their analytic part is zero
    live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    analytic = [None] * len(wrt)
    if live:
        analytic = autograd_grad([o for o, _ in live], [inputs[i] for i in wrt], [v for _, v in live],
                                 allow_unused=True, retain_graph=True)
    for k, i in enumerate(wrt):
        x = inputs[i]
        xp, flat = x.xp, x.xp.reshape(x._data, (-1,))  # float64 (checked above)
        numeric = []
        for j in range(x.numel()):
            vals = []
            for step in (eps, -eps):
                with x._device.context():  # the copy on x's GPU (CuPy computes on the current device)
                    moved = xp.asarray(flat, copy=True)
                moved[j] += step
                moved = Tensor._make(xp.reshape(moved, x.shape), x._device).requires_grad_()
                vals.append(projected(*inputs[:i], moved, *inputs[i + 1:]))
            numeric.append((vals[0] - vals[1]) / (2 * eps))
        numeric = Tensor(numeric, dtype=_dt.float64, device=x.device)
        g = analytic[k]
        g = g.to_dense() if g is not None and g._sparse else g  # a sparse gradient (Embedding(sparse=True))
        got = numeric * 0 if g is None else g.detach().reshape(-1).to(_dt.float64)
        if not got.allclose(numeric, atol=atol, rtol=rtol):
            if not raise_exception:
                return False
            worst = int((got - numeric).abs().argmax())
            got, numeric = got.tolist(), numeric.tolist()
            raise GradcheckError(
                f"gradient of input {i} (shape {x.shape}) disagrees with finite differences: "
                f"element {worst} analytic {got[worst]:.6g} vs numeric {numeric[worst]:.6g}\n"
                f"analytic: {got}\nnumeric:  {numeric}"
            )
    return True


def gradgradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Check second derivatives: gradcheck of ``x -> grad(fn(x)·v, x, create_graph=True)``."""

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    _check_inputs(inputs)
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    outs = [o for o in _outputs(fn, inputs) if o.requires_grad]
    vs = _random_like(outs, seed + 1)

    def first_grads(*args):
        outs = [o for o in _outputs(fn, args) if o.requires_grad]
        return autograd_grad(outs, [args[i] for i in wrt], vs, create_graph=True, allow_unused=True,
                             materialize_grads=True)

    return gradcheck(first_grads, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed + 2)
