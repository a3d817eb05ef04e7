"""lucid.library: custom ops (custom_op, register_autograd/kernel/fake, infer_schema, lucid.ops.<ns>),
compared with torch.library where PyTorch is installed."""

import itertools
import subprocess
import sys

import numpy as np
import pytest

import lucid
from lucid import library
from lucid.autograd import gradcheck, gradgradcheck

_count = itertools.count()


def _name(stem: str) -> str:
    """A fresh op name: ops are global (in lucid and torch), and each test run defines its own."""
    return f"lucid_test::{stem}_{next(_count)}"


@pytest.fixture(params=["lucid", "torch"])
def mod(request):
    """lucid, then torch as the oracle: tests taking it run the same code against both."""
    return lucid if request.param == "lucid" else pytest.importorskip("torch")


def _numpy_sin(mod, name, autograd=True):
    """The torch.library.custom_op docs' example, written against ``mod`` (lucid or torch)."""

    @mod.library.custom_op(name, mutates_args=())
    def numpy_sin(x: mod.Tensor) -> mod.Tensor:
        return mod.from_numpy(np.sin(x.detach().cpu().numpy())).to(x.device)

    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos()

    if autograd:
        numpy_sin.register_autograd(backward, setup_context=setup_context)
    return numpy_sin


def _scaled_sin(name):
    """An op written in lucid ops (so it runs on every backend) with a differentiable backward."""

    @library.custom_op(name, mutates_args=())
    def scaled_sin(x: lucid.Tensor, y: lucid.Tensor, k: float = 2.0) -> lucid.Tensor:
        return x.sin() * y * k

    def setup_context(ctx, inputs, output):
        x, y, k = inputs
        ctx.save_for_backward(x, y)
        ctx.k = k

    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * x.cos() * y * ctx.k, grad * x.sin() * ctx.k, None

    library.register_autograd(name, backward, setup_context=setup_context)
    return scaled_sin


def test_numpy_sin_example_matches_torch():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).standard_normal(5)
    results = []
    for mod in (lucid, torch):
        op = _numpy_sin(mod, _name("numpy_sin"))
        x = mod.tensor(data, requires_grad=True)
        y = op(x)
        (gx,) = mod.autograd.grad(y, x, mod.ones_like(y))
        assert type(y.grad_fn).__name__ == f"GeneratedBackwardFor_{op._namespace}_{op._name}_defaultBackward"
        results.append((y.detach().numpy(), gx.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1])
    np.testing.assert_allclose(results[0][1], np.cos(data))


def test_gradcheck_through_registered_autograd(device):
    op = _scaled_sin(_name("scaled_sin"))
    rng = np.random.default_rng(1)
    x = lucid.tensor(rng.standard_normal((3, 2)), dtype=lucid.float64, device=device, requires_grad=True)
    y = lucid.tensor(rng.standard_normal((3, 2)), dtype=lucid.float64, device=device, requires_grad=True)
    assert gradcheck(op, (x, y))
    assert gradgradcheck(op, (x, y))  # the backward is written in lucid ops: create_graph works
    np.testing.assert_allclose(op(x, y, 0.5).detach().cpu().numpy(),
                               np.sin(x.detach().cpu().numpy()) * y.detach().cpu().numpy() * 0.5)


def test_op_is_opaque_and_needs_autograd(device):
    """Inside, autograd is off; a backward through an op without register_autograd raises, as torch's."""
    seen = []

    @library.custom_op(_name("probe"), mutates_args=())
    def probe(x: lucid.Tensor) -> lucid.Tensor:
        seen.append((lucid.is_grad_enabled(), x.requires_grad))
        return x * 2

    x = lucid.ones(2, device=device, requires_grad=True)
    y = probe(x)
    assert seen == [(False, True)] and y.requires_grad
    with pytest.raises(RuntimeError, match="no autograd formula was registered"):
        y.sum().backward()
    assert not probe(lucid.ones(2, device=device)).requires_grad


def test_no_autograd_error_matches_torch(mod):
    y = _numpy_sin(mod, _name("numpy_sin"), autograd=False)(mod.ones(2, requires_grad=True))
    with pytest.raises(RuntimeError, match="Please use register_autograd to add one"):
        y.sum().backward()


def test_setup_context_runs_only_when_recording(mod):
    calls = []

    @mod.library.custom_op(_name("twice"), mutates_args=())
    def op(x: mod.Tensor) -> mod.Tensor:
        return x * 2

    op.register_autograd(lambda ctx, g: g * 2, setup_context=lambda ctx, inputs, output: calls.append(1))
    op(mod.ones(2))
    assert calls == []
    x = mod.ones(2, requires_grad=True)
    op(x).sum().backward()
    assert calls == [1] and x.grad.tolist() == [2.0, 2.0]


def _failures(mod):
    """Bad definitions, each run against ``mod.library``: lucid and torch raise the same types."""
    T, L = mod.Tensor, mod.library

    def no_param_annotation(x) -> T:
        return x

    def no_return_annotation(x: T):
        return x

    def bad_type(x: T, d: dict) -> T:
        return x

    def ok(x: T) -> T:
        return x

    return {
        "no_param_annotation": lambda: L.custom_op(_name("a"), no_param_annotation, mutates_args=()),
        "no_return_annotation": lambda: L.custom_op(_name("b"), no_return_annotation, mutates_args=()),
        "bad_type": lambda: L.custom_op(_name("c"), bad_type, mutates_args=()),
        "no_namespace": lambda: L.custom_op("justname", ok, mutates_args=()),
        "missing_mutates_args": lambda: L.custom_op(_name("d"), ok),
        "unknown_mutated_arg": lambda: L.custom_op(_name("e"), ok, mutates_args={"z"}),
        "fake_of_unknown_op": lambda: L.register_fake("lucid_test::nope", ok),
        "autograd_of_unknown_op": lambda: L.register_autograd("lucid_test::nope", ok),
    }


def test_definition_errors_match_torch(mod):
    expected = {"no_param_annotation": ValueError, "no_return_annotation": ValueError, "bad_type": ValueError,
                "no_namespace": ValueError, "missing_mutates_args": TypeError, "unknown_mutated_arg": ValueError,
                "fake_of_unknown_op": RuntimeError, "autograd_of_unknown_op": AttributeError}
    for case, make in _failures(mod).items():
        with pytest.raises(expected[case]):
            make()


def test_infer_schema_matches_torch():
    torch = pytest.importorskip("torch")

    def prototype(mod):
        T = mod.Tensor

        def f(x: T, y: T | None, n: int, s: float, b: bool, sizes: list[int], ts: list[T], st: str,
              d: mod.dtype, dev: mod.device, m: int = 3, o: int | None = None, name: str = "a", *,
              k: float = 1.0) -> tuple[T, T]:
            raise AssertionError

        return f

    for kwargs in ({"mutates_args": {"x"}}, {"mutates_args": (), "op_name": "foo"}, {"mutates_args": "unknown"}):
        assert library.infer_schema(prototype(lucid), **kwargs) == torch.library.infer_schema(prototype(torch),
                                                                                              **kwargs)

    def returns_none(x: lucid.Tensor) -> None:
        raise AssertionError

    assert library.infer_schema(returns_none, mutates_args=()) == "(Tensor x) -> ()"


def test_call_errors_match_torch(mod):
    @mod.library.custom_op(_name("scale"), mutates_args=())
    def scale(x: mod.Tensor, n: int) -> mod.Tensor:
        return x * n

    @mod.library.custom_op(_name("alias"), mutates_args=())
    def alias(x: mod.Tensor) -> mod.Tensor:
        return x

    @mod.library.custom_op(_name("view"), mutates_args=())
    def view(x: mod.Tensor) -> mod.Tensor:
        return x[:1]

    assert scale(mod.ones(2), 3).tolist() == [3.0, 3.0]
    for call in (lambda: scale(mod.ones(2), 3.5), lambda: scale(mod.ones(2)), lambda: scale([1.0], 2),
                 lambda: alias(mod.ones(2)), lambda: view(mod.ones(2))):
        with pytest.raises(RuntimeError):
            call()


def test_backward_gradient_count_errors_match_torch(mod):
    @mod.library.custom_op(_name("times"), mutates_args=())
    def times(x: mod.Tensor, n: int) -> mod.Tensor:
        return x * n

    for backward, ok in ((lambda ctx, g: g, False), (lambda ctx, g: (g, g), False),
                         (lambda ctx, g: (g, None, None), True)):
        times.register_autograd(backward)
        x = mod.ones(2, requires_grad=True)
        if ok:
            times(x, 3).sum().backward()
            assert x.grad.tolist() == [1.0, 1.0]
        else:
            with pytest.raises(RuntimeError):
                times(x, 3).sum().backward()


def test_keyword_only_inputs_match_torch(mod):
    @mod.library.custom_op(_name("mul"), mutates_args=())
    def mul(x: mod.Tensor, *, val: float) -> mod.Tensor:
        return x * val

    def setup_context(ctx, inputs, keyword_only_inputs, output):
        assert len(inputs) == 1
        ctx.val = keyword_only_inputs["val"]

    mod.library.register_autograd(mul, lambda ctx, g: g * ctx.val, setup_context=setup_context)
    x = mod.ones(3, requires_grad=True)
    (gx,) = mod.autograd.grad(mul(x, val=3.5), x, mod.ones(3))
    assert gx.tolist() == [3.5] * 3
    mul.register_autograd(lambda ctx, g: g, setup_context=lambda ctx, inputs, output: None)
    with pytest.raises(TypeError):
        mul(x, val=2.0)


def test_mutates_args_bumps_version_as_torch(mod):
    @mod.library.custom_op(_name("add_"), mutates_args={"x"})
    def add_(x: mod.Tensor, y: float) -> None:
        x.add_(y)

    t = mod.zeros(2)
    before = t._version if mod is not lucid else t._version[0]
    assert add_(t, 1.0) is None and t.tolist() == [1.0, 1.0]
    assert (t._version if mod is not lucid else t._version[0]) - before == 2  # the in-place add, then the op
    x = mod.ones(2, requires_grad=True)
    w = mod.ones(2)
    y = (x * w).sum()  # saves w for backward
    add_(w, 1.0)
    with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
        y.backward()
    with pytest.raises(RuntimeError, match="non-functional operator"):
        add_.register_autograd(lambda ctx, g: g)


def test_register_kernel_dispatches_by_device_type(device):
    @library.custom_op(_name("which"), mutates_args=())
    def which(x: lucid.Tensor) -> lucid.Tensor:
        return x + 1

    x = lucid.zeros(2, device=device)
    assert which(x).tolist() == [1.0, 1.0]
    kernel = which.register_kernel(device.type)(lambda x: x + 10)
    assert which(x).tolist() == [10.0, 10.0] and kernel(x).tolist() == [10.0, 10.0]
    other = "cuda" if device.type != "cuda" else "cpu"
    library.register_kernel(which, other, lambda x: x + 100)
    assert which(x).tolist() == [10.0, 10.0]

    @library.custom_op(_name("elsewhere"), mutates_args=(), device_types=other)
    def elsewhere(x: lucid.Tensor) -> lucid.Tensor:
        return x + 1

    with pytest.raises(NotImplementedError, match=f"no kernel for device type '{device.type}'"):
        elsewhere(x)
    elsewhere.register_kernel(None, lambda x: x + 2)  # None: every device type without its own kernel
    assert elsewhere(x).tolist() == [2.0, 2.0]


def test_register_kernel_rejects_unknown_device_type(mod):
    @mod.library.custom_op(_name("k"), mutates_args=())
    def k(x: mod.Tensor) -> mod.Tensor:
        return x.clone()

    with pytest.raises(RuntimeError):
        k.register_kernel("tpu")(lambda x: x)


def test_register_fake_is_stored_and_returned(mod):
    name = _name("f")

    @mod.library.custom_op(name, mutates_args=())
    def f(x: mod.Tensor) -> mod.Tensor:
        return x.clone()

    def fake(x):
        return mod.empty_like(x)

    assert f.register_fake(fake) is fake
    assert mod.library.register_fake(name, fake) is fake
    assert mod.library.register_fake(name)(fake) is fake
    assert f(mod.ones(2)).tolist() == [1.0, 1.0]  # the real kernel still runs


def test_multiple_outputs_and_ops_namespace(device):
    name = _name("sincos")
    ns, opname = name.split("::")

    @library.custom_op(name, mutates_args=())
    def sincos(x: lucid.Tensor) -> tuple[lucid.Tensor, lucid.Tensor]:
        return x.sin(), x.cos()

    sincos.register_autograd(lambda ctx, gs, gc: gs * ctx.x.cos() - gc * ctx.x.sin(),
                             setup_context=lambda ctx, inputs, output: setattr(ctx, "x", inputs[0]))
    x = lucid.tensor([0.3, -1.2], dtype=lucid.float64, device=device, requires_grad=True)
    assert gradcheck(sincos, (x,))
    assert getattr(lucid.ops, ns).__getattr__(opname) is sincos
    assert getattr(getattr(library.ops, ns), opname).default is sincos
    assert not hasattr(getattr(lucid.ops, ns), "no_such_op")
    assert not hasattr(lucid.ops, "no_such_namespace")
    assert lucid.ops.shape.__name__ == "lucid.ops.shape"  # the package's own modules are untouched


def test_torch_program_defines_and_calls_an_op(tmp_path):
    """Under the drop-in runner, ``torch.library`` is lucid.library and ``torch.ops.<ns>.<name>`` finds the op."""
    script = tmp_path / "prog.py"
    script.write_text(
        "import torch\n"
        "@torch.library.custom_op('tc::twice', mutates_args=())\n"
        "def twice(x: torch.Tensor) -> torch.Tensor:\n"
        "    return x * 2\n"
        "torch.library.register_autograd('tc::twice', lambda ctx, g: g * 2)\n"
        "x = torch.ones(2, requires_grad=True)\n"
        "torch.ops.tc.twice.default(x).sum().backward()\n"
        "print(torch.ops.tc.twice(x).tolist(), x.grad.tolist())\n")
    done = subprocess.run([sys.executable, "-m", "lucid.torch_compat", str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[2.0, 2.0] [2.0, 2.0]"


def _namespace() -> str:
    return f"lucid_legacy_{next(_count)}"


def test_library_define_and_impl_match_torch(mod):
    """A kernel registered with Library.impl is not opaque: autograd runs through it, as in PyTorch."""
    ns = _namespace()
    lib = mod.library.Library(ns, "DEF")
    assert lib.define("foo(Tensor x, int n=2) -> Tensor") == "foo"
    lib.impl("foo", lambda x, n=2: x * n, "CPU")
    lib.define("bar(Tensor x) -> Tensor")
    lib.impl("bar", lambda x: x.sin() * 2, "CompositeImplicitAutograd")
    x = mod.tensor([0.5, -1.0], requires_grad=True)
    space = getattr(mod.ops, ns)
    plain = x.detach()
    assert space.foo(plain, 3).tolist() == [1.5, -3.0] and space.foo.default(plain).tolist() == [1.0, -2.0]
    with pytest.warns(UserWarning, match="autograd kernel was not registered"):  # foo's CPU kernel
        (space.foo(x, 3).sum() + space.bar(x).sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 + 2 * np.cos([0.5, -1.0]))
    lib.define("mut(Tensor(a!) x) -> ()")
    lib.impl("mut", lambda x: x.add_(1) and None, "CPU")
    t = mod.zeros(1)
    before = t._version if mod is not lucid else t._version[0]
    space.mut(t)
    assert (t._version if mod is not lucid else t._version[0]) - before == 1  # only the kernel's own add_


def test_library_errors_match_torch(mod):
    ns = _namespace()
    lib = mod.library.Library(ns, "DEF")
    lib.define("foo(Tensor x, int n) -> Tensor")
    lib.impl("foo", lambda x, n: x * n, "CPU")
    lib.define("nokernel(Tensor x) -> Tensor")
    space = getattr(mod.ops, ns)
    cases = [
        (ValueError, lambda: mod.library.Library(ns, "XYZ")),
        (RuntimeError, lambda: mod.library.Library(ns, "DEF")),
        (RuntimeError, lambda: lib.define("foo(Tensor x) -> Tensor")),
        (RuntimeError, lambda: lib.define("bad(Tensor x -> Tensor")),
        (RuntimeError, lambda: mod.library.Library(ns, "IMPL").define("other(Tensor x) -> Tensor")),
        (RuntimeError, lambda: lib.impl("foo", lambda x, n: x, "Bogus")),
        (RuntimeError, lambda: space.foo(mod.ones(1), 1.5)),
        (RuntimeError, lambda: space.foo(mod.ones(1))),
        (NotImplementedError, lambda: space.nokernel(mod.ones(1))),
    ]
    for error, call in cases:
        with pytest.raises(error):
            call()


def test_define_and_impl_functions(mod):
    ns = _namespace()
    mod.library.define(f"{ns}::twice", "(Tensor x, float s=1.0) -> Tensor")

    @mod.library.impl(f"{ns}::twice", "cpu")
    def twice(x, s=1.0):
        return x * 2 * s

    assert getattr(mod.ops, ns).twice(mod.ones(2), s=0.5).tolist() == [1.0, 1.0]

    @mod.library.custom_op(f"{ns}::plus", mutates_args=())
    def plus(x: mod.Tensor) -> mod.Tensor:
        return x + 1

    mod.library.impl(f"{ns}::plus", "cpu", lambda x: x + 5)  # on a custom op: its cpu kernel
    assert plus(mod.zeros(1)).tolist() == [5.0]


def test_library_kernels_per_device_and_destroy(device):
    ns = _namespace()
    lib = library.Library(ns, "DEF")
    lib.define("shift(Tensor x, *, float by=1.0) -> Tensor")
    lib.impl("shift", lambda x, *, by=1.0: x + by, "CompositeExplicitAutograd")
    op = getattr(lucid.ops, ns).shift
    x = lucid.zeros(2, device=device, requires_grad=True)
    assert op(x.detach(), by=2.0).tolist() == [2.0, 2.0]
    lib.impl("shift", lambda x, *, by=1.0: x - by, device.type)
    with pytest.warns(UserWarning, match="autograd kernel was not registered"):
        y = op(x, by=3.0)
    assert y.tolist() == [-3.0, -3.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    assert library.register_fake(op, lambda x, *, by=1.0: x) is not None
    with pytest.raises(NotImplementedError, match="Library.define"):
        library.register_autograd(op, lambda ctx, g: g)
    lib._destroy()
    assert not hasattr(lucid.ops, ns)
    library.Library(ns, "DEF")  # the namespace is free again


def test_custom_op_with_given_schema(device):
    @library.custom_op(_name("given"), mutates_args=(), schema="(Tensor x, int n) -> Tensor")
    def given(x, n):  # no annotations needed: the schema says the types
        return x * n

    assert given(lucid.ones(2, device=device), 3).tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="Expected a value of type 'int'"):
        given(lucid.ones(2, device=device), 1.5)


def test_opcheck(mod):
    """opcheck's results per test, as torch.library.opcheck reports them."""
    x = mod.tensor([0.5, -1.0], requires_grad=True)
    op = _numpy_sin(mod, _name("numpy_sin"), autograd=False)
    results = mod.library.opcheck(op, (x,), raise_exception=False)
    assert results["test_schema"] == "SUCCESS" and results["test_autograd_registration"] == "SUCCESS"
    assert isinstance(results["test_faketensor"], RuntimeError)  # no fake kernel
    assert "no autograd formula" in str(results["test_aot_dispatch_dynamic"])
    with pytest.raises(Exception, match="test_faketensor failed"):
        mod.library.opcheck(op, (x,))

    op = _numpy_sin(mod, _name("numpy_sin"))
    op.register_fake(lambda x: mod.empty_like(x))
    assert set(mod.library.opcheck(op, (x,)).values()) == {"SUCCESS"}

    @mod.library.custom_op(_name("sneaky"), mutates_args=())
    def sneaky(x: mod.Tensor) -> mod.Tensor:
        x.add_(1)
        return x.clone()

    result = mod.library.opcheck(sneaky, (mod.zeros(2),), test_utils="test_schema", raise_exception=False)
    assert "x is not defined as mutable but was mutated" in str(result["test_schema"])


def test_opcheck_checks_fake_metadata_and_legacy_autograd():
    op = _scaled_sin(_name("scaled_sin"))
    op.register_fake(lambda x, y, k=2.0: lucid.empty((1,)))
    x, y = lucid.ones(2), lucid.ones(2)
    assert "the fake kernel gives" in str(library.opcheck(op, (x, y), raise_exception=False)["test_faketensor"])
    ns = _namespace()
    lib = library.Library(ns, "DEF")
    lib.define("twice(Tensor x) -> Tensor")
    lib.impl("twice", lambda x: x * 2, "cpu")
    with pytest.raises(library.OpCheckError, match="test_autograd_registration failed"):
        library.opcheck(f"{ns}::twice", (lucid.ones(1, requires_grad=True),), test_utils=["test_autograd_registration"])
    with pytest.raises(ValueError, match="unknown test_utils"):
        library.opcheck(op, (x, y), test_utils="test_nothing")
