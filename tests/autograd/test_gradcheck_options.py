"""``gradcheck``/``gradgradcheck`` with PyTorch's signature and checks, each run the same way on lucid and on
PyTorch (the oracle, when installed): a faulty backward, a non-reentrant one, a wrong forward-mode jvp, given
grad_outputs; and what lucid does not offer raises instead of passing silently."""

from __future__ import annotations

import inspect

import pytest

import lucid

LIBS = ["lucid", "torch"]


@pytest.fixture(params=LIBS)
def lib(request):
    return lucid if request.param == "lucid" else pytest.importorskip("torch")


def _x(lib, device=None):
    kwargs = {} if lib is not lucid else {"device": device}
    return lib.tensor([0.3, -1.2, 2.0], dtype=lib.float64, requires_grad=True, **kwargs)


def _doubling(lib, backward, jvp=lambda u: u * 2):
    """``t -> 2t`` as a PyTorch-style Function whose backward is ``backward(g)`` and jvp ``jvp(u)`` (correct
    unless given)."""

    class Doubling(lib.autograd.Function):
        @staticmethod
        def forward(t):
            return t * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, g):
            return backward(g)

        @staticmethod
        def jvp(ctx, u):
            return jvp(u)

    return Doubling.apply


def test_signatures_take_torchs_keywords():
    torch = pytest.importorskip("torch")
    for name in ("gradcheck", "gradgradcheck"):
        ours = inspect.signature(getattr(lucid.autograd, name)).parameters
        theirs = inspect.signature(getattr(torch.autograd, name)).parameters
        assert [p for p in theirs if p not in ours] == [], name
        assert [p for p in ours if p not in theirs] == ["seed"], name  # lucid's projection vectors' seed


def test_a_correct_function_passes_every_offered_check(lib, device):
    fn = _doubling(lib, lambda g: g * 2)
    x = _x(lib, device)
    assert lib.autograd.gradcheck(fn, (x,), check_forward_ad=True, check_grad_dtypes=True, nondet_tol=0.0)
    assert lib.autograd.gradcheck(lambda t: (t.sin() * t).sum(0, keepdim=True) * t, x, check_forward_ad=True)


def test_a_wrong_backward_fails_or_raises_a_runtime_error(lib, device):
    fn = _doubling(lib, lambda g: g * 3)
    x = _x(lib, device)
    assert lib.autograd.gradcheck(fn, (x,), raise_exception=False) is False
    with pytest.raises(RuntimeError):  # torch's GradcheckError is a RuntimeError; lucid's too
        lib.autograd.gradcheck(fn, (x,))
    assert lib.autograd.gradcheck(fn, (x,), check_backward_ad=False, check_forward_ad=True)  # its jvp is right
    with pytest.raises(AssertionError, match="at least one of check_forward_ad or check_backward_ad"):
        lib.autograd.gradcheck(fn, (x,), check_backward_ad=False)  # nothing to check


def test_a_backward_not_multiplied_by_grad_output_fails(lib, device):
    fn = _doubling(lib, lambda g: g * 2 + (1.0 if bool((g == 0).all()) else 0.0))
    with pytest.raises(RuntimeError, match="backward not multiplied by grad_output"):
        lib.autograd.gradcheck(fn, (_x(lib, device),))


def test_nondet_tol_bounds_how_much_two_backward_runs_may_differ(lib, device):
    calls = [0]

    def drifting(g):
        calls[0] += 1
        return g * 2 * (1 + calls[0] * 1e-10)

    fn = _doubling(lib, drifting)
    with pytest.raises(RuntimeError, match="Backward is not reentrant"):
        lib.autograd.gradcheck(fn, (_x(lib, device),))
    assert lib.autograd.gradcheck(fn, (_x(lib, device),), nondet_tol=1e-6)


def test_check_forward_ad_compares_the_jvp(lib, device):
    wrong_jvp = _doubling(lib, lambda g: g * 2, jvp=lambda u: u * 3)
    x = _x(lib, device)
    assert lib.autograd.gradcheck(wrong_jvp, (x,))  # the backward is right
    assert lib.autograd.gradcheck(wrong_jvp, (x,), check_forward_ad=True, raise_exception=False) is False
    assert lib.autograd.gradcheck(wrong_jvp, (x,), check_forward_ad=True, check_backward_ad=False,
                                  raise_exception=False) is False


def test_gradgradcheck_takes_grad_outputs(lib, device):
    x = _x(lib, device)
    v = lib.ones_like(x).detach()
    assert lib.autograd.gradgradcheck(lambda t: t.sin() * t, (x,), v)
    assert lib.autograd.gradgradcheck(lambda t: t.sin() * t, (x,), [v * 2], check_rev_over_rev=True)


def test_a_float32_gradient_of_a_float64_input_arrives_as_float64(lib, device):
    """PyTorch's engine casts what a custom backward returns to its input's dtype; gradcheck's
    check_grad_dtypes then passes."""
    fn = _doubling(lib, lambda g: (g * 2).float())
    x = _x(lib, device)
    fn(x).sum().backward()
    assert x.grad.dtype == lib.float64
    assert lib.autograd.gradcheck(fn, (x,), check_grad_dtypes=True)


@pytest.mark.parametrize("flag", ["check_batched_grad", "check_batched_forward_grad", "masked"])
def test_checks_lucid_does_not_offer_raise(flag, device):
    x = _x(lucid, device)
    with pytest.raises(NotImplementedError, match=flag):
        lucid.autograd.gradcheck(lambda t: t * 2, (x,), **{flag: True})


@pytest.mark.parametrize("flag", ["check_batched_grad", "check_fwd_over_rev", "masked"])
def test_second_order_checks_lucid_does_not_offer_raise(flag, device):
    x = _x(lucid, device)
    with pytest.raises(NotImplementedError, match=flag):
        lucid.autograd.gradgradcheck(lambda t: t * t, (x,), **{flag: True})
