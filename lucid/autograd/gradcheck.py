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


class GradcheckError(RuntimeError, AssertionError):
    """Analytical and numerical gradients disagree (a RuntimeError, as PyTorch's, and an AssertionError, as a
    failed check in a test)."""


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


_NOT_OFFERED = {
    "check_batched_grad": "a batched (vmap) check of the backward",
    "check_batched_forward_grad": "a batched (vmap) check of forward mode",
    "masked": "comparing sparse gradients at their stored entries only (lucid compares them densified)",
    "check_fwd_over_rev": "forward-mode tangents through a backward pass, which lucid's forward AD does not carry "
                          "(reverse over forward, the gradient of a tangent, works)",
}


def _refuse(**flags):
    for name, value in flags.items():
        if value:
            raise NotImplementedError(f"gradcheck/gradgradcheck({name}=True) is not offered by lucid: it needs "
                                      f"{_NOT_OFFERED[name]}; pass {name}=False, PyTorch's default")


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked: bool | None = None,
              seed: int = 0) -> bool:
    """Check ``func``'s gradients against central differences, with PyTorch's signature; True when they agree,
    else GradcheckError (or False with ``raise_exception=False``).

    ``inputs`` is a Tensor or a tuple; the float64 Tensors among them with ``requires_grad`` are checked. The
    backward check compares ``v·J`` from one backward with the central differences of ``v·func(x)``, every
    floating output projected on its own random vector (drawn from ``seed``): the idea of PyTorch's
    ``fast_mode``, which lucid uses whatever ``fast_mode`` says. As PyTorch's, zero output gradients must give
    zero (or no) input gradients ("backward not multiplied by grad_output"), and ``nondet_tol`` bounds how much
    two backward runs may differ; ``check_grad_dtypes`` checks that each gradient has its input's dtype and
    device; ``check_forward_ad`` compares forward-mode tangents (:mod:`lucid.autograd.forward_ad`) with central
    differences along random directions; ``check_backward_ad=False`` skips the backward check.
    ``check_undefined_grad`` changes nothing: lucid hands a backward zeros where PyTorch hands undefined
    gradients, the case the zero-gradient check above covers. The batched checks (``check_batched_grad``,
    ``check_batched_forward_grad``) and ``masked=True`` raise NotImplementedError.
    """
    _refuse(check_batched_grad=check_batched_grad, check_batched_forward_grad=check_batched_forward_grad,
            masked=masked)
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad to be True: "
                             "gradcheck has nothing to check")
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    _check_inputs(inputs)
    try:
        if check_backward_ad:
            _check_backward(func, inputs, eps, atol, rtol, seed, nondet_tol, check_grad_dtypes)
        if check_forward_ad:
            _check_forward(func, inputs, eps, atol, rtol, seed)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def _moved(x: Tensor, flat, j: int, step: float) -> Tensor:
    """A copy of ``x`` (``flat`` its data, flattened) with element ``j`` moved by ``step``, requiring grad."""
    xp = x.xp
    with x._device.context():  # the copy on x's GPU (CuPy computes on the current device)
        moved = xp.asarray(flat, copy=True)
    moved[j] += step
    return Tensor._make(xp.reshape(moved, x.shape), x._device).requires_grad_()


def _check_backward(func, inputs, eps, atol, rtol, seed, nondet_tol, check_grad_dtypes):
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    outs = [o for o in _outputs(func, inputs) if isinstance(o, Tensor) and o.dtype.kind == "f"]
    if not outs:
        raise GradcheckError("func returned no floating-point tensor")
    vs = _random_like(outs, seed)

    def projected(*args):
        # grad stays on: func may itself differentiate (gradgradcheck's first derivative)
        total = 0.0
        outs = [o for o in _outputs(func, args) if isinstance(o, Tensor) and o.dtype.kind == "f"]
        for o, v in zip(outs, vs):
            total += float(o.xp.sum(o._data * v._data))
        return total

    # outputs that do not require grad are constant in the inputs: their analytic part is zero
    live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    sources = [inputs[i] for i in wrt]

    def backward(grads):
        if not live:
            return [None] * len(wrt)
        found = autograd_grad([o for o, _ in live], sources, grads, allow_unused=True, retain_graph=True)
        return [g.to_dense() if g is not None and g._sparse else g for g in found]  # Embedding(sparse=True)

    analytic = backward([v for _, v in live])
    for k, i in enumerate(wrt):
        x, g = inputs[i], analytic[k]
        if check_grad_dtypes and g is not None and (g.dtype != x.dtype or g.device != x.device):
            raise GradcheckError(f"gradient of input {i} is {g.dtype.name} on {g.device}, but the input is "
                                 f"{x.dtype.name} on {x.device} (check_grad_dtypes)")
        flat = x.xp.reshape(x._data, (-1,))  # float64 (checked above)
        numeric = [(projected(*inputs[:i], _moved(x, flat, j, eps), *inputs[i + 1:])
                    - projected(*inputs[:i], _moved(x, flat, j, -eps), *inputs[i + 1:])) / (2 * eps)
                   for j in range(x.numel())]
        numeric = Tensor(numeric, dtype=_dt.float64, device=x.device)
        got = numeric * 0 if g is None else g.detach().reshape(-1).to(_dt.float64)
        if not got.allclose(numeric, atol=atol, rtol=rtol):
            worst = int((got - numeric).abs().argmax())
            got, numeric = got.tolist(), numeric.tolist()
            raise GradcheckError(
                f"gradient of input {i} (shape {x.shape}) disagrees with finite differences: "
                f"element {worst} analytic {got[worst]:.6g} vs numeric {numeric[worst]:.6g}\n"
                f"analytic: {got}\nnumeric:  {numeric}"
            )
    for k, again in enumerate(backward([v for _, v in live])):
        first = analytic[k]
        if first is None or again is None or not first.numel():
            continue
        if float((first - again).abs().max()) > nondet_tol:
            raise GradcheckError(
                f"Backward is not reentrant: running backward twice with the same input and grad_output gave "
                f"gradients of input {wrt[k]} that differ by more than nondet_tol={nondet_tol}")
    for k, g in enumerate(backward([v * 0 for _, v in live])):
        if g is not None and bool((g != 0).any()):
            raise GradcheckError(f"backward not multiplied by grad_output: zero output gradients gave input "
                                 f"{wrt[k]} a nonzero gradient")


def _check_forward(func, inputs, eps, atol, rtol, seed):
    """Forward-mode tangents along a random direction of each checked input against central differences."""
    from . import forward_ad  # forward_ad builds on the engine this module's callers use: imported when asked

    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    for n, i in enumerate(wrt):
        x = inputs[i]
        (u,) = _random_like([x], seed + 100 + n)
        with forward_ad.dual_level():
            dual = forward_ad.make_dual(x.detach(), u)
            outs = _outputs(func, (*inputs[:i], dual, *inputs[i + 1:]))
            tangents = [forward_ad.unpack_dual(o).tangent if isinstance(o, Tensor) else None for o in outs]
        ahead, behind = (_outputs(func, (*inputs[:i], (x + step * u).detach(), *inputs[i + 1:]))
                         for step in (eps, -eps))
        for m, (o, t, a, b) in enumerate(zip(outs, tangents, ahead, behind)):
            if not isinstance(o, Tensor) or o.dtype.kind != "f":
                continue
            numeric = (a.detach() - b.detach()) / (2 * eps)
            got = numeric * 0 if t is None else t.detach()
            if not got.allclose(numeric, atol=atol, rtol=rtol):
                raise GradcheckError(f"forward-mode tangent of output {m} along input {i} disagrees with finite "
                                     f"differences:\nanalytic: {got.tolist()}\nnumeric:  {numeric.tolist()}")


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False, masked: bool = False,
                  seed: int = 0) -> bool:
    """Check second derivatives, with PyTorch's signature: :func:`gradcheck` of
    ``x -> grad(func(x), x, grad_outputs, create_graph=True)``, ``grad_outputs`` random (from ``seed``) unless
    given; ``check_rev_over_rev=False`` skips it. ``gen_non_contig_grad_outputs`` changes nothing (lucid's ops do
    not depend on memory layout); ``check_fwd_over_rev``, ``check_batched_grad`` and ``masked`` raise
    NotImplementedError."""
    _refuse(check_batched_grad=check_batched_grad, masked=masked, check_fwd_over_rev=check_fwd_over_rev)
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    _check_inputs(inputs)
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    outs = [o for o in _outputs(func, inputs) if o.requires_grad]
    if grad_outputs is None:
        vs = _random_like(outs, seed + 1)
    else:
        vs = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)

    def first_grads(*args):
        outs = [o for o in _outputs(func, args) if o.requires_grad]
        return autograd_grad(outs, [args[i] for i in wrt], vs, create_graph=True, allow_unused=True,
                             materialize_grads=True)

    return gradcheck(first_grads, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception,
                     nondet_tol=nondet_tol, check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, check_backward_ad=check_rev_over_rev, seed=seed + 2)
