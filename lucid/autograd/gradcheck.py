"""Finite-difference checks of gradients (float64), for tests and for users' own Functions.

The finite differences are taken on host (NumPy) copies of the inputs: a test utility that
works the same for every backend, not a hot path (host conversion is where lucid may use NumPy
directly)."""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .backprop import grad as autograd_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Analytical and numerical gradients disagree."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


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
    rng = np.random.default_rng(seed)
    outs = [o for o in _outputs(fn, inputs) if isinstance(o, Tensor) and o.dtype.kind == "f"]
    if not outs:
        raise GradcheckError("fn returned no floating-point tensor")
    vs = [Tensor(rng.standard_normal(o.shape), dtype=o.dtype, device=o.device) for o in outs]

    def projected(*args):
        # grad stays on: fn may itself differentiate (gradgradcheck's first derivative)
        total = 0.0
        outs = [o for o in _outputs(fn, args) if isinstance(o, Tensor) and o.dtype.kind == "f"]
        for o, v in zip(outs, vs):
            total += float((o.detach().numpy(force=True) * v.numpy(force=True)).sum())
        return total

    # outputs that do not require grad are constant in the inputs: their analytic part is zero
    live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    analytic = [None] * len(wrt)
    if live:
        analytic = autograd_grad([o for o, _ in live], [inputs[i] for i in wrt], [v for _, v in live],
                                 allow_unused=True, retain_graph=True)
    for k, i in enumerate(wrt):
        x = inputs[i]
        base = x.detach().numpy(force=True).astype(np.float64)
        numeric = np.zeros(base.size)
        flat = base.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            vals = []
            for step in (eps, -eps):
                flat[j] = old + step
                moved = Tensor(base.copy(), dtype=x.dtype, device=x.device, requires_grad=True)
                vals.append(projected(*inputs[:i], moved, *inputs[i + 1:]))
            flat[j] = old
            numeric[j] = (vals[0] - vals[1]) / (2 * eps)
        got = np.zeros(base.size) if analytic[k] is None else analytic[k].detach().numpy(force=True).reshape(-1)
        if not np.allclose(got, numeric, atol=atol, rtol=rtol):
            if not raise_exception:
                return False
            worst = int(np.argmax(np.abs(got - numeric)))
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
    rng = np.random.default_rng(seed + 1)
    outs = [o for o in _outputs(fn, inputs) if o.requires_grad]
    vs = [Tensor(rng.standard_normal(o.shape), dtype=o.dtype, device=o.device) for o in outs]

    def first_grads(*args):
        outs = [o for o in _outputs(fn, args) if o.requires_grad]
        return autograd_grad(outs, [args[i] for i in wrt], vs, create_graph=True, allow_unused=True,
                             materialize_grads=True)

    return gradcheck(first_grads, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed + 2)
