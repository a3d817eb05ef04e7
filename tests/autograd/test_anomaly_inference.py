"""inference_mode, anomaly detection, post-accumulate-grad hooks, queue_callback and
register_multi_grad_hook (behaviour as in PyTorch, checked against torch where it runs)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import lucid
from lucid.autograd.graph import queue_callback, register_multi_grad_hook

torch = pytest.importorskip("torch")


# ---- inference mode ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lib", ["lucid", "torch"])
def test_inference_tensors_are_marked_and_refused_by_autograd_later(lib):
    m = lucid if lib == "lucid" else torch
    w = m.ones(3, requires_grad=True)
    with m.inference_mode():
        assert m.is_inference_mode_enabled() and not m.is_grad_enabled()
        x = m.ones(3) * 2
        y = w * 2
    assert not m.is_inference_mode_enabled() and m.is_grad_enabled()
    assert x.is_inference() and y.is_inference() and not y.requires_grad
    assert not w.is_inference()
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        w * x
    with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside InferenceMode"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="requires_grad=True on inference tensor outside InferenceMode"):
        x.requires_grad_()
    if lib == "lucid":  # refused before anything changed (torch has already written by then)
        np.testing.assert_array_equal(np.asarray(x.tolist()), [2.0, 2.0, 2.0])
    z = (w * x.clone()).sum()  # a clone is a normal tensor
    z.backward()
    assert not x.clone().is_inference()


@pytest.mark.parametrize("lib", ["lucid", "torch"])
def test_inference_mode_as_decorator_and_disabled(lib):
    m = lucid if lib == "lucid" else torch

    @m.inference_mode()
    def called():
        return m.ones(2)

    @m.inference_mode
    def bare():
        return m.ones(2)

    assert called().is_inference() and bare().is_inference()
    with m.inference_mode():
        with m.inference_mode(False):
            assert not m.is_inference_mode_enabled() and m.is_grad_enabled()
            assert not m.ones(1).is_inference()
        assert m.is_inference_mode_enabled()
    x = m.ones(2)
    with m.inference_mode():
        x.add_(1)  # in-place on a normal tensor inside inference mode is allowed
    assert x.tolist() == [2.0, 2.0]


def test_inference_mode_is_per_thread():
    seen = []
    with lucid.inference_mode():
        t = threading.Thread(
            target=lambda: seen.append((lucid.is_inference_mode_enabled(), lucid.ones(1).is_inference())))
        t.start()
        t.join()
    assert seen == [(False, False)]


# ---- anomaly mode -----------------------------------------------------------------------------------------------
def _nan_backward(x):
    return (x.sqrt() * 0.0).sum()  # d sqrt at 0 is inf, times 0: NaN in SqrtBackward's output


def test_detect_anomaly_names_the_node_and_shows_the_forward_call(device):
    x = lucid.tensor([0.0, 1.0], device=device, requires_grad=True)
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):  # as PyTorch
        anomaly = lucid.autograd.detect_anomaly()
    with anomaly:
        assert lucid.is_anomaly_enabled() and lucid.is_anomaly_check_nan_enabled()
        loss = _nan_backward(x)
        with pytest.raises(RuntimeError) as info:
            loss.backward()
        assert str(info.value) == "Function 'SqrtBackward0' returned nan values in its 0th output."  # PyTorch's
        assert any("Error detected in SqrtBackward0" in n and "_nan_backward" in n for n in info.value.__notes__)
    assert not lucid.is_anomaly_enabled()
    loss = _nan_backward(x)
    loss.backward()  # off: NaN gradients pass silently, as in PyTorch
    assert np.isnan(x.grad.numpy(force=True)[0])


def test_torch_reports_the_same_node():
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    with torch.autograd.detect_anomaly(), pytest.warns(UserWarning):
        with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan values in its 0th output"):
            _nan_backward(x).backward()


def test_check_nan_false_and_errors_get_a_note(device):
    x = lucid.tensor([0.0, 1.0], device=device, requires_grad=True)
    with lucid.autograd.detect_anomaly(check_nan=False):
        assert not lucid.is_anomaly_check_nan_enabled()
        _nan_backward(x).backward()

    class Fails(lucid.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1.0

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom")

    @lucid.autograd.detect_anomaly()
    def run():
        Fails.apply(x).sum().backward()

    with pytest.raises(ValueError, match="boom") as info:
        run()
    assert any("Error detected in FailsBackward" in n and "run" in n for n in info.value.__notes__)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_detect_anomaly_checks_narrow_float_gradients(device, dtype):
    """The nan check reads every floating gradient, bfloat16 (ml_dtypes, which NumPy's isdtype refuses) too."""
    try:
        x = lucid.ones(3, dtype=getattr(lucid, dtype), device=device, requires_grad=True)
    except TypeError:
        pytest.skip(f"{device} has no {dtype}")
    with lucid.autograd.detect_anomaly():
        (x * 2).sum().backward()
        assert x.grad.dtype == x.dtype and x.grad.tolist() == [2.0, 2.0, 2.0]
        with pytest.raises(RuntimeError, match="returned nan values"):
            (x * lucid.tensor(float("nan"), dtype=x.dtype, device=device)).sum().backward()


def test_set_detect_anomaly_and_set_anomaly_enabled():
    lucid.autograd.set_detect_anomaly(True)
    try:
        assert lucid.is_anomaly_enabled()
    finally:
        lucid.set_anomaly_enabled(False)
    assert not lucid.is_anomaly_enabled()
    with lucid.autograd.set_detect_anomaly(True, check_nan=False):
        assert lucid.is_anomaly_enabled() and not lucid.is_anomaly_check_nan_enabled()
    assert not lucid.is_anomaly_enabled() and lucid.is_anomaly_check_nan_enabled()


# ---- post-accumulate-grad hooks and callbacks ---------------------------------------------------------------------
@pytest.mark.parametrize("lib", ["lucid", "torch"])
def test_post_accumulate_grad_hook_fires_once_after_accumulation(lib):
    m = lucid if lib == "lucid" else torch
    w = m.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    (w * 3 + w * w).sum().backward()  # three edges into w: one call, with the full gradient
    assert seen == [[5.0, 7.0]]
    (w * 2).sum().backward()
    assert seen == [[5.0, 7.0], [7.0, 9.0]]
    m.autograd.grad((w * 2).sum(), w)  # no .grad accumulation: no call
    assert len(seen) == 2
    handle.remove()
    (w * 2).sum().backward()
    assert len(seen) == 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(print)


def test_post_hook_fires_for_a_root_leaf_and_backward_inputs(device):
    w = lucid.tensor([1.0, 2.0], device=device, requires_grad=True)
    v = lucid.tensor([1.0, 1.0], device=device, requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda p: calls.append("w"))
    v.register_post_accumulate_grad_hook(lambda p: calls.append("v"))
    w.backward(lucid.ones(2, device=device))
    assert calls == ["w"]
    (w * v).sum().backward(inputs=[v])
    assert calls == ["w", "v"]


@pytest.mark.parametrize("lib", ["lucid", "torch"])
def test_queue_callback_runs_after_the_pass(lib):
    m = lucid if lib == "lucid" else torch
    queue = queue_callback if lib == "lucid" else torch.autograd.Variable._execution_engine.queue_callback
    w = m.tensor([1.0, 2.0], requires_grad=True)
    events = []

    def hook(g):
        events.append("hook")
        queue(lambda: events.append(("callback", w.grad.tolist())))

    y = w * 2
    y.register_hook(hook)
    y.sum().backward()
    assert events == ["hook", ("callback", [2.0, 2.0])]


def test_queue_callback_outside_backward_raises():
    with pytest.raises(RuntimeError, match="during the backward pass"):
        queue_callback(lambda: None)


def test_register_multi_grad_hook(device):
    a = lucid.tensor([1.0], device=device, requires_grad=True)
    b = lucid.tensor([2.0], device=device, requires_grad=True)
    c = lucid.tensor([3.0], device=device, requires_grad=True)
    got = []
    handle = register_multi_grad_hook((a, b, c), lambda gs: got.append([None if g is None else g.tolist() for g in gs]))
    (a * b * 2).sum().backward()
    assert got == [[[4.0], [2.0], None]]
    handle.remove()
    (a * b).sum().backward()
    assert len(got) == 1
    with pytest.raises(ValueError, match="mode"):
        register_multi_grad_hook((a,), print, mode="some")


def test_legacy_and_compatibility_names():
    x = lucid.ones(1)
    assert lucid.autograd.Variable is lucid.Tensor and isinstance(x, lucid.autograd.Variable)
    assert lucid.autograd.is_tensor_like(x) and not lucid.autograd.is_tensor_like([1.0])
    with pytest.raises(RuntimeError, match="deprecated"):
        lucid.autograd.variable(1.0)
    assert not lucid.autograd.is_multithreading_enabled()
    with lucid.autograd.set_multithreading_enabled(True):
        assert not lucid.autograd.is_multithreading_enabled()  # single-threaded engine either way


# ---- saved tensors hooks ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lib", ["lucid", "torch"])
def test_saved_tensors_hooks_pack_and_unpack(lib):
    m = lucid if lib == "lucid" else torch
    graph = lucid.autograd.graph if lib == "lucid" else torch.autograd.graph
    x = m.tensor([1.0, 2.0], requires_grad=True)
    packed, unpacked = [], []

    def pack(t):
        packed.append(t.tolist())
        return ("box", t * 10)  # ops inside a pack hook do not go through it again

    def unpack(box):
        unpacked.append(box[0])
        return box[1]  # backward sees 10x the saved values

    with graph.saved_tensors_hooks(pack, unpack):
        y = x.sin().sum()
    assert packed == [[1.0, 2.0]]  # sin saved its input
    y.backward()
    assert unpacked == ["box"]
    np.testing.assert_allclose(np.asarray(x.grad.tolist()), np.cos([10.0, 20.0]), rtol=1e-6)


def test_saved_tensors_hooks_reach_custom_functions_and_save_on_cpu(device):
    class Square(lucid.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            out = a * a
            ctx.save_for_backward(a, out)
            return out

        @staticmethod
        def backward(ctx, g):
            a, out = ctx.saved_tensors
            return 2 * g * a

    x = lucid.tensor([1.0, 3.0], device=device, requires_grad=True)
    seen = []
    with lucid.autograd.graph.saved_tensors_hooks(lambda t: seen.append(t) or t, lambda t: t):
        Square.apply(x).sum().backward()
    assert len(seen) == 2 and seen[0] is x and seen[1].grad_fn.name() == "SquareBackward"
    np.testing.assert_allclose(x.grad.numpy(force=True), [2.0, 6.0])
    x.grad = None
    with lucid.autograd.graph.save_on_cpu():
        loss = (x.exp() * x).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(force=True), np.exp([1.0, 3.0]) * np.array([2.0, 4.0]), rtol=1e-6)
    with pytest.raises(TypeError, match="two callables"):
        with lucid.autograd.graph.saved_tensors_hooks(print, None):
            pass


def test_top_level_is_inference_and_vmap():
    with lucid.inference_mode():
        x = lucid.ones(2)
    assert lucid.is_inference(x) and not lucid.is_inference(lucid.ones(2))
    assert lucid.vmap is lucid.func.vmap


@pytest.mark.parametrize("lib", ["lucid", "torch"])
def test_leaf_hook_sees_the_summed_gradient_once(lib):
    m = lucid if lib == "lucid" else torch
    w = m.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    w.register_hook(lambda g: calls.append(g.tolist()) or g.clamp(max=6.0))  # clamps the total, not the parts
    (w * 3 + w * w).sum().backward()
    assert calls == [[5.0, 7.0]] and w.grad.tolist() == [5.0, 6.0]
    (g,) = m.autograd.grad((w * 3 + w * w).sum(), w)
    assert calls == [[5.0, 7.0], [5.0, 7.0]] and g.tolist() == [5.0, 6.0]
