"""Every way lucid creates an array puts it on the tensor's own device, with several devices.

Two fake multi-device backends stand in for several GPUs: array-api-strict (``strict:2``), whose
creation functions honour ``device=``, and ``cupylike`` below, which behaves as CuPy does: creation
functions *ignore* ``device=``, and every namespace function that computes into new memory puts its result
on the backend's *current* device (CuPy launches kernels there, reading other GPUs' inputs by peer access),
unless called inside the backend's ``on_device`` context. Arrays on different fake devices refuse to meet in
one operation, so a misplaced array also fails the step that uses it.
"""

from __future__ import annotations

import contextlib
import warnings

import array_api_strict
import numpy as np
import pytest
from strict_backend import StrictBackend

import lucid
from lucid import nn
from lucid.autograd.function import register_interceptor

_CREATION = frozenset({"zeros", "ones", "full", "empty", "arange", "eye", "linspace", "zeros_like", "ones_like",
                       "full_like", "empty_like"})


# functions that return views of their input (or it, unchanged) rather than compute into new memory
_VIEWS = frozenset({"reshape", "permute_dims", "matrix_transpose", "expand_dims", "squeeze", "broadcast_to",
                    "broadcast_arrays", "moveaxis", "flip", "real", "imag", "unstack"})


class _CurrentDeviceNamespace:
    """array_api_strict whose creation functions put arrays on the backend's current device whatever
    ``device=`` says, whose computing functions put their results there, and whose ``asarray`` copies there
    too (views, and an array passed through unchanged, stay where their input is)."""

    def __init__(self, backend):
        self._backend = backend

    def __getattr__(self, name):
        fn = getattr(array_api_strict, name)
        if name == "asarray":
            return self._asarray
        if name in _CREATION:
            return lambda *args, device=None, **kwargs: fn(*args, device=self._backend.current_native(), **kwargs)
        if not callable(fn) or isinstance(fn, type) or name in _VIEWS:
            return fn

        def computed_on_current(*args, **kwargs):
            out = fn(*args, **kwargs)
            return out if any(out is a for a in args) else self._to_current(out)

        return computed_on_current

    def _to_current(self, out):
        if isinstance(out, array_api_strict._array_object.Array):
            return out.to_device(self._backend.current_native())
        if isinstance(out, tuple):
            moved = [self._to_current(o) for o in out]
            return type(out)(*moved) if hasattr(out, "_fields") else tuple(moved)
        return out

    def _asarray(self, obj, /, *, dtype=None, device=None, copy=None):
        if isinstance(obj, array_api_strict._array_object.Array) and not copy:
            return obj if dtype in (None, obj.dtype) else array_api_strict.astype(obj, dtype)
        if isinstance(obj, array_api_strict._array_object.Array):
            obj = obj.to_device(self._backend.current_native())
        return array_api_strict.asarray(obj, dtype=dtype, device=self._backend.current_native(), copy=copy)


class CurrentDeviceBackend(StrictBackend):
    """A CuPy-like test backend: strict's three devices, a current device (0 unless changed), and a namespace
    that creates and computes on the current device only."""

    name = "cupy-like"
    device_type = "cupylike"

    def __init__(self):
        super().__init__()
        self.xp = _CurrentDeviceNamespace(self)
        self._current = 0

    def current_index(self):
        return self._current

    def current_native(self):
        return self._devices[self._current]

    @contextlib.contextmanager
    def on_device(self, index):
        previous, self._current = self._current, index
        try:
            yield
        finally:
            self._current = previous


lucid.register_backend(CurrentDeviceBackend.device_type, CurrentDeviceBackend)


# with two GPUs the same tests run on the second one, with CuPy itself
FAR = ["strict:2", "cupylike:2", *(["cuda:1"] if lucid.cuda.device_count() > 1 else [])]


@pytest.fixture(params=FAR)
def far(request):
    """Device 2 of a three-device backend (or a second GPU); on ``cupylike`` the backend's op interceptor runs
    ops on their inputs' device (as the CUDA backend registers its own with several GPUs), removed again after
    the test."""
    dev = lucid.device(request.param)
    handle = None
    if dev.type == "cupylike":
        handle = register_interceptor(dev.backend.run_on_inputs_device)
    yield dev
    if handle is not None:
        handle.remove()


def where(t):
    """The index of the device the tensor's array really lives on (not what the Tensor says)."""
    return t._device.backend.index_of(t._data)


def assert_on(t, dev):
    assert t.device == dev and where(t) == dev.index, f"{t.device} says {dev}, array on {where(t)}"


FACTORIES = {
    "zeros": lambda d: lucid.zeros(2, 3, device=d),
    "ones": lambda d: lucid.ones((2, 3), device=d),
    "full": lambda d: lucid.full((2,), 1.5, device=d),
    "empty": lambda d: lucid.empty(4, device=d),
    "arange": lambda d: lucid.arange(5, device=d),
    "eye": lambda d: lucid.eye(3, device=d),
    "linspace": lambda d: lucid.linspace(0, 1, 5, device=d),
    "rand": lambda d: lucid.rand(3, device=d),
    "randn": lambda d: lucid.randn(3, device=d),
    "randint": lambda d: lucid.randint(0, 5, (3,), device=d),
    "randperm": lambda d: lucid.randperm(4, device=d),
    "tensor": lambda d: lucid.tensor([1.0, 2.0], device=d),
    "tensor(copy of a tensor)": lambda d: lucid.tensor(lucid.ones(2, device=d)),
    "clone": lambda d: lucid.ones(2, device=d).clone(),
}

LIKE = {
    "zeros_like": lambda x: lucid.zeros_like(x),
    "ones_like": lambda x: lucid.ones_like(x),
    "full_like": lambda x: lucid.full_like(x, 2.0),
    "empty_like": lambda x: lucid.empty_like(x),
    "rand_like": lambda x: lucid.rand_like(x),
    "randn_like": lambda x: lucid.randn_like(x),
    "randint_like": lambda x: lucid.randint_like(x, 0, 4),
    "new_zeros": lambda x: x.new_zeros(2),
    "new_ones": lambda x: x.new_ones((2, 2)),
    "new_full": lambda x: x.new_full((2,), 3.0),
    "new_empty": lambda x: x.new_empty(3),
    "new_tensor": lambda x: x.new_tensor([1.0, 2.0]),
    "new_tensor(tensor)": lambda x: x.new_tensor(x),
    "normal(mean=x)": lambda x: lucid.normal(x.detach().requires_grad_(), 1.0),
    "bernoulli": lambda x: lucid.bernoulli(x * 0.5),
    "poisson": lambda x: lucid.poisson(x),
    "multinomial": lambda x: lucid.multinomial(x, 2, replacement=True),
    "multinomial(no replacement)": lambda x: lucid.multinomial(x, 2),
    "binomial": lambda x: lucid.binomial(x * 3, x * 0.5),
    "exponential_": lambda x: x.clone().exponential_(),
    "geometric_": lambda x: x.clone().geometric_(0.3),
    "cauchy_": lambda x: x.clone().cauchy_(),
    "log_normal_": lambda x: x.clone().log_normal_(),
    "bernoulli_(tensor p)": lambda x: x.clone().bernoulli_(x * 0.5),
    "random_": lambda x: x.clone().random_(5),
    "normal_": lambda x: x.clone().normal_(),
    "uniform_": lambda x: x.clone().uniform_(),
    "fill_": lambda x: x.clone().fill_(2.0),
    "zero_": lambda x: x.clone().zero_(),
}


@pytest.mark.parametrize("name", FACTORIES)
def test_factories_land_on_the_device_asked(far, name):
    t = FACTORIES[name](far)
    assert_on(t, far)
    assert_on(t + 1, far)  # and it computes there


@pytest.mark.parametrize("name", LIKE)
def test_like_and_new_forms_land_on_their_tensors_device(far, name):
    x = lucid.ones(3, device=far)
    assert_on(LIKE[name](x), far)


F = nn.functional
OPS = {  # ops that compute partly outside Function.apply (planning, non-differentiable results): on_input_device
    "sort": lambda x, i: x.sort(-1)[0],
    "argsort": lambda x, i: x.argsort(),
    "topk": lambda x, i: x.topk(2)[0],
    "unique": lambda x, i: lucid.unique(i),
    "nonzero": lambda x, i: lucid.nonzero(x > 0),
    "argmax": lambda x, i: x.argmax(),
    "histc": lambda x, i: lucid.histc(x),
    "bucketize": lambda x, i: lucid.bucketize(x, x.new_tensor([0.0, 1.0])),
    "bincount": lambda x, i: lucid.bincount(i),
    "isnan": lambda x, i: x.isnan(),
    "any": lambda x, i: (x > 0).any(),
    "x[mask]": lambda x, i: x[x > 0],
    "x[index]": lambda x, i: x[i[:2]],
    "x[index] = value": lambda x, i: x.clone().index_put_((i[:2],), x.new_tensor(1.0)),
    "nan_to_num": lambda x, i: x.nan_to_num(),
    "median": lambda x, i: x.median(),
    "quantile": lambda x, i: x.quantile(0.5),
    "embedding": lambda x, i: F.embedding(i, x.T.contiguous()),
    "max_pool2d": lambda x, i: F.max_pool2d(x[None, None], 2),
    "causal attention": lambda x, i: F.scaled_dot_product_attention(x[None], x[None], x[None], is_causal=True),
    "cross_entropy": lambda x, i: F.cross_entropy(x, i[:3]),
    "conv2d": lambda x, i: F.conv2d(x[None, None], x[None, None, :2, :2]),
    "dropout": lambda x, i: F.dropout(x, 0.5),
    "cumsum": lambda x, i: x.cumsum(0),
    "tril": lambda x, i: x.tril(),
    "one_hot": lambda x, i: F.one_hot(i, 3),
}
@pytest.mark.parametrize("name", OPS)
def test_ops_compute_on_their_inputs_device(far, name):
    lucid.manual_seed(0)
    x, i = lucid.randn(3, 4, device=far), lucid.tensor([0, 2, 2, 1], device=far)
    out = OPS[name](x, i)
    for t in out if isinstance(out, tuple) else (out,):
        assert_on(t, far)


def test_the_current_device_is_not_where_factories_go_on_cupylike():
    """The fake backend does ignore device= outside its context: what the tests above rely on to fail."""
    backend = lucid.device("cupylike:2").backend
    raw = backend.xp.zeros((2,), device=backend.native_device(2))
    assert backend.index_of(raw) == 0
    with backend.on_device(2):
        assert backend.index_of(backend.xp.zeros((2,), device=None)) == 2


def test_set_default_device_factories(far):
    lucid.set_default_device(far)
    try:
        for t in (lucid.zeros(2), lucid.arange(3), lucid.tensor([1.0]), lucid.randn(2)):
            assert_on(t, far)
    finally:
        lucid.set_default_device(None)


def test_backward_and_grad_materialize_on_the_device(far):
    x = lucid.randn(3, device=far, requires_grad=True)
    unused = lucid.randn(2, device=far, requires_grad=True)
    (x * x).sum().backward()
    assert_on(x.grad, far)
    gx, gu = lucid.autograd.grad((x * 2).sum(), (x, unused), allow_unused=True, materialize_grads=True)
    assert_on(gx, far)
    assert_on(gu, far)


def _model():
    lucid.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.LayerNorm(8), nn.Linear(8, 2))


@pytest.mark.parametrize("make_optimizer", [
    lambda ps: lucid.optim.SGD(ps, lr=0.1, momentum=0.9, foreach=False),
    lambda ps: lucid.optim.SGD(ps, lr=0.1, momentum=0.9, foreach=True),
    lambda ps: lucid.optim.Adam(ps, lr=0.01, foreach=False),
    lambda ps: lucid.optim.AdamW(ps, lr=0.01, amsgrad=True, foreach=True),
    lambda ps: lucid.optim.RMSprop(ps, lr=0.01, momentum=0.5),
    lambda ps: lucid.optim.Adagrad(ps, lr=0.01),
    lambda ps: lucid.optim.Rprop(ps, lr=0.01),
], ids=["sgd", "sgd-foreach", "adam", "adamw-amsgrad-foreach", "rmsprop", "adagrad", "rprop"])
def test_module_to_then_train_steps_stay_on_the_device(far, make_optimizer):
    model = _model().to(far)
    for p in model.parameters():
        assert_on(p, far)
    opt = make_optimizer(model.parameters())
    x, y = lucid.randn(5, 4, device=far), lucid.randn(5, 2, device=far)
    for _ in range(2):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    for p in model.parameters():
        assert_on(p, far)
        assert_on(p.grad, far)
        for key, value in opt.state[p].items():
            if key in opt.scalar_state:  # scalar state (step, ...) stays on the CPU, as PyTorch's
                assert value.device.type == "cpu"
            elif isinstance(value, lucid.Tensor):
                assert_on(value, far)
    for b in model.buffers():  # BatchNorm's running statistics, updated in place by the steps
        assert_on(b, far)
    assert int(model[1].num_batches_tracked) == 2
    assert_on(model.eval()(x), far)


def test_grad_scaler_step_on_the_device(far):
    model = _model().to(far)
    opt = lucid.optim.Adam(model.parameters(), lr=0.01)
    scaler = lucid.amp.GradScaler("cuda", init_scale=4.0)
    x, y = lucid.randn(5, 4, device=far), lucid.randn(5, 2, device=far)
    for _ in range(2):
        opt.zero_grad()
        scaler.scale(nn.functional.mse_loss(model(x), y)).backward()
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
    for p in model.parameters():
        assert_on(p, far)
        assert_on(p.grad, far)
        assert all(where(v) == far.index for k, v in opt.state[p].items()
                   if isinstance(v, lucid.Tensor) and k not in opt.scalar_state)


@pytest.mark.parametrize("init", ["eye_", "dirac_", "zeros_", "ones_", "constant_", "normal_", "uniform_",
                                  "xavier_uniform_", "kaiming_normal_", "orthogonal_", "sparse_", "trunc_normal_"])
def test_nn_init_writes_on_the_device(far, init):
    shape = (4, 2, 3) if init == "dirac_" else (4, 3)
    w = lucid.empty(shape, device=far)
    args = {"constant_": (0.5,), "sparse_": (0.5,)}.get(init, ())
    getattr(nn.init, init)(w, *args)
    assert_on(w, far)
    assert_on(w * 2, far)


@pytest.mark.parametrize("collate_fn", [None, lambda batch: lucid.data.default_collate(batch)],
                         ids=["default", "custom"])
def test_data_loader_puts_batches_on_the_device(far, collate_fn):
    data = [(np.full(2, float(i), dtype=np.float32), i) for i in range(4)]
    for xb, yb in lucid.data.DataLoader(data, batch_size=2, device=far, collate_fn=collate_fn):
        assert_on(xb, far)
        assert_on(yb, far)
        assert_on(xb * yb[:, None], far)


def test_lbfgs_steps_on_the_device(far):
    model = _model().to(far)
    opt = lucid.optim.LBFGS(model.parameters(), lr=0.5, max_iter=4, history_size=3, line_search_fn="strong_wolfe")
    x, y = lucid.randn(5, 4, device=far), lucid.randn(5, 2, device=far)

    def closure():
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    first = float(opt.step(closure))
    assert float(opt.step(closure)) < first
    for p in model.parameters():
        assert_on(p, far)
    assert all(where(v) == far.index for v in opt.state[opt._params[0]].values() if isinstance(v, lucid.Tensor))


# ---- a sweep of the public functions: those callable with one or two small tensors compute on their device ----
_MODULES = {"lucid": lucid, "F": nn.functional, "linalg": lucid.linalg, "special": lucid.special, "fft": lucid.fft}
_ARGS = {  # tried in this order; the first the function accepts is used
    "x": lambda d: (lucid.rand(3, 4, device=d) + 0.1,),
    "x, x": lambda d: (lucid.rand(3, 4, device=d) + 0.1,) * 2,
    "x, -1": lambda d: (lucid.rand(3, 4, device=d) + 0.1, -1),
    "index": lambda d: (lucid.tensor([0, 2, 2, 1], device=d),),
    "square": lambda d: (lucid.rand(4, 4, device=d) + 4 * lucid.eye(4, device=d),),
}
_NOT_ON_INPUT = {"lucid.tensor", "lucid.scalar_tensor"}  # make a new tensor on the default device, as PyTorch's
# Known gap (see the issue-16 report): on a backend that computes on its current device (CuPy with several
# GPUs) these still compute outside Function.apply, so on the current device. strict: a fix shows.
# array-api-strict's messages for arrays of two devices meeting in one function
_MISPLACED = ("different devices", "must all use the same device", "must all be on the same device",
              "mismatched devices")
# process-wide settings and files, not computations (called with a tensor, some might even change a setting)
_SKIP_PREFIXES = ("set_", "use_", "register_", "manual_seed", "seed", "save", "load", "compile", "enable_grad",
                  "autocast", "init_num_threads")


def _public():
    for prefix, module in _MODULES.items():
        names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
        for name in sorted(n for n in set(names) if not n.startswith(_SKIP_PREFIXES)):
            fn = getattr(module, name, None)
            if callable(fn) and not isinstance(fn, type) and f"{prefix}.{name}" not in _NOT_ON_INPUT:
                yield f"{prefix}.{name}"


@pytest.mark.parametrize("path", list(_public()))
def test_public_functions_compute_on_their_inputs_device(far, path):
    prefix, name = path.split(".")
    fn = getattr(_MODULES[prefix], name)
    lucid.manual_seed(0)
    for make in _ARGS.values():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = fn(*make(far))
            except Exception as e:  # arguments it does not take; a misplaced array is reported, not skipped
                if isinstance(e, lucid.DeviceMismatchError) or any(m in str(e) for m in _MISPLACED):
                    raise
                continue
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, lucid.Tensor):
                assert_on(t, far)
        return
    pytest.skip("takes none of the argument lists tried")
